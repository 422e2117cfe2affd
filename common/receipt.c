/*
 * receipt.c — the container files of docs/receipt.md: receipts, log
 * exports, consistency proof files.  Sans-I/O except ss_file_* and the
 * log export directory functions at the end.
 */
#include "receipt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rectext.h"
#include "ss_error.h"
#include "ss_log.h"

#define KIND_RECEIPT "receipt"
#define KIND_LOG "log"
#define MAGIC "shuangsui/v1 "
#define SECTION_NAME_MAX 32

/* ---- writing ---- */

static void put_section(struct ss_buf *b, const char *name, const void *data, size_t len)
{
	ss_buf_puts(b, name);
	ss_buf_putc(b, ' ');
	ss_buf_put_u64(b, len);
	ss_buf_putc(b, '\n');
	ss_buf_put(b, data, len);
	ss_buf_putc(b, '\n');
}

static void put_blob(struct ss_buf *b, const char *name, const struct ss_blob *x)
{
	put_section(b, name, x->data, x->len);
}

static void put_signed(struct ss_buf *b, const char *name, const char *sig_name,
		       const struct ss_signed *s)
{
	put_blob(b, name, &s->record);
	put_blob(b, sig_name, &s->sig);
}

static int blob_ok(const struct ss_blob *x)
{
	return x->data != NULL || x->len == 0;
}

static int signed_ok(const struct ss_signed *s)
{
	return s->record.data != NULL && s->record.len > 0 && s->sig.data != NULL;
}

static void put_snapshots(struct ss_buf *b, size_t n, const struct ss_blob *pops,
			  const struct ss_blob *insp, const struct ss_blob *conf)
{
	size_t i;

	for (i = 0; i < n; i++)
		put_blob(b, "population", &pops[i]);
	put_blob(b, "inspectors", insp);
	put_blob(b, "conflicts", conf);
}

int ss_receipt_encode(const struct ss_receipt *r, uint8_t **out, size_t *out_len)
{
	struct ss_buf b, proof;
	size_t i;
	int ok;

	*out = NULL;
	*out_len = 0;
	ok = r != NULL && signed_ok(&r->open) && signed_ok(&r->draw) &&
	     (!r->has_waiver || signed_ok(&r->waiver)) && r->checkpoint.data != NULL &&
	     r->proof_len <= SS_MERKLE_MAX_PROOF && (r->proof != NULL || r->proof_len == 0) &&
	     r->n_populations > 0 && r->populations != NULL && blob_ok(&r->inspectors) &&
	     blob_ok(&r->conflicts) && (r->witnesses != NULL || r->n_witnesses == 0);
	for (i = 0; ok && i < r->n_witnesses; i++)
		ok = signed_ok(&r->witnesses[i]);
	for (i = 0; ok && i < r->n_populations; i++)
		ok = blob_ok(&r->populations[i]);
	if (!ok)
		return SS_ERR_BAD_REQUEST;
	ss_buf_init(&proof, 0);
	ss_buf_puts(&proof, "leaf-index ");
	ss_buf_put_u64(&proof, r->leaf_index);
	ss_buf_puts(&proof, "\ntree-size ");
	ss_buf_put_u64(&proof, r->tree_size);
	ss_buf_putc(&proof, '\n');
	for (i = 0; i < r->proof_len; i++) {
		ss_buf_puts(&proof, "hash ");
		ss_buf_put_hex(&proof, r->proof[i], SS_MERKLE_HASH_LEN);
		ss_buf_putc(&proof, '\n');
	}
	ss_buf_init(&b, SS_RECEIPT_MAX);
	ss_buf_puts(&b, MAGIC KIND_RECEIPT "\n");
	put_signed(&b, "draw-open", "draw-open-signature", &r->open);
	for (i = 0; i < r->n_witnesses; i++)
		put_signed(&b, "witness", "witness-signature", &r->witnesses[i]);
	if (r->has_waiver)
		put_signed(&b, "witness-waiver", "witness-waiver-signature", &r->waiver);
	put_signed(&b, "draw", "draw-signature", &r->draw);
	put_blob(&b, "checkpoint", &r->checkpoint);
	put_section(&b, "inclusion", proof.data, proof.len);
	put_snapshots(&b, r->n_populations, r->populations, &r->inspectors, &r->conflicts);
	ss_buf_puts(&b, "end\n");
	if (proof.failed)
		b.failed = 1;
	ss_buf_free(&proof);
	return ss_buf_take(&b, out, out_len);
}

int ss_log_encode(const struct ss_log_export *log, uint8_t **out, size_t *out_len)
{
	struct ss_buf b;
	size_t i;

	*out = NULL;
	*out_len = 0;
	if (log == NULL || (log->entries == NULL && log->n_entries > 0))
		return SS_ERR_BAD_REQUEST;
	for (i = 0; i < log->n_entries; i++)
		if (!signed_ok(&log->entries[i].rec) ||
		    (log->entries[i].n_populations > 0 && log->entries[i].populations == NULL))
			return SS_ERR_BAD_REQUEST;
	ss_buf_init(&b, 0);
	ss_buf_puts(&b, MAGIC KIND_LOG "\n");
	for (i = 0; i < log->n_entries; i++) {
		const struct ss_log_entry *e = &log->entries[i];

		put_signed(&b, "record", "signature", &e->rec);
		if (e->n_populations > 0)
			put_snapshots(&b, e->n_populations, e->populations, &e->inspectors,
				      &e->conflicts);
	}
	ss_buf_puts(&b, "end\n");
	return ss_buf_take(&b, out, out_len);
}

/* ---- reading ---- */

struct cont {
	const uint8_t *p, *end;
	int bad;
	/* the current section */
	char name[SECTION_NAME_MAX + 1];
	struct ss_blob body;
};

/* Reads the next section header and body into c->name / c->body; "end" has no body. */
static int cont_next(struct cont *c)
{
	const uint8_t *nl, *sp;
	size_t nlen;
	uint64_t len;

	if (c->bad)
		return -1;
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	if (nl == NULL)
		goto bad;
	if ((size_t)(nl - c->p) == 3 && memcmp(c->p, "end", 3) == 0) {
		strcpy(c->name, "end");
		c->p = nl + 1;
		if (c->p != c->end)
			goto bad;
		return 0;
	}
	sp = memchr(c->p, ' ', (size_t)(nl - c->p));
	if (sp == NULL)
		goto bad;
	nlen = (size_t)(sp - c->p);
	if (nlen == 0 || nlen > SECTION_NAME_MAX)
		goto bad;
	for (size_t i = 0; i < nlen; i++)
		if (!((c->p[i] >= 'a' && c->p[i] <= 'z') || c->p[i] == '-'))
			goto bad;
	if (ss_parse_u64((const char *)sp + 1, (size_t)(nl - sp - 1), &len) != 0)
		goto bad;
	if (len >= (uint64_t)(c->end - nl - 1) || nl[1 + len] != '\n')
		goto bad;
	memcpy(c->name, c->p, nlen);
	c->name[nlen] = '\0';
	c->body.data = nl + 1;
	c->body.len = (size_t)len;
	c->p = nl + 1 + len + 1;
	return 0;
bad:
	c->bad = 1;
	return -1;
}

/* Reads the next section, which must be called name. */
static int cont_expect(struct cont *c, const char *name, struct ss_blob *out)
{
	if (cont_next(c) != 0 || strcmp(c->name, name) != 0) {
		c->bad = 1;
		return -1;
	}
	*out = c->body;
	return 0;
}

/* Copies data and positions c after the header line "shuangsui/v1 kind\n". */
static uint8_t *cont_open(struct cont *c, const uint8_t *data, size_t len, const char *kind)
{
	size_t hl = strlen(MAGIC) + strlen(kind) + 1;
	uint8_t *copy;

	memset(c, 0, sizeof(*c));
	if (data == NULL || len < hl || memcmp(data, MAGIC, strlen(MAGIC)) != 0 ||
	    memcmp(data + strlen(MAGIC), kind, strlen(kind)) != 0 || data[hl - 1] != '\n') {
		c->bad = 1;
		return NULL;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, data, len);
	copy[len] = 0;
	c->p = copy + hl;
	c->end = copy + len;
	return copy;
}

/* Counts the upcoming consecutive sections called name, without consuming them. */
/*
 * How many sections named name follow, each optionally followed by one
 * section named pair (a record's signature), without consuming them.
 */
static size_t cont_count(const struct cont *c, const char *name, const char *pair)
{
	struct cont peek = *c;
	const uint8_t *before;
	size_t n = 0;

	for (;;) {
		before = peek.p;
		if (cont_next(&peek) != 0 || strcmp(peek.name, name) != 0)
			break;
		n++;
		if (before == peek.p)
			break;
		if (pair != NULL) {
			struct cont sig = peek;

			before = sig.p;
			if (cont_next(&sig) != 0 || strcmp(sig.name, pair) != 0 || before == sig.p)
				break;
			peek = sig;
		}
	}
	return n;
}

static int parse_inclusion(struct ss_receipt *r, const struct ss_blob *b, uint8_t (*proof)[32])
{
	const char *p = (const char *)b->data, *end = p + b->len, *nl;
	size_t n = 0;

	if (b->len < 24 || memcmp(p, "leaf-index ", 11) != 0)
		return -1;
	p += 11;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL || ss_parse_u64(p, (size_t)(nl - p), &r->leaf_index) != 0)
		return -1;
	p = nl + 1;
	if ((size_t)(end - p) < 11 || memcmp(p, "tree-size ", 10) != 0)
		return -1;
	p += 10;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL || ss_parse_u64(p, (size_t)(nl - p), &r->tree_size) != 0)
		return -1;
	p = nl + 1;
	while (p < end) {
		if (n == SS_MERKLE_MAX_PROOF || (size_t)(end - p) < 70 ||
		    memcmp(p, "hash ", 5) != 0 || p[69] != '\n' ||
		    ss_parse_hex(p + 5, 64, proof[n], 32) != 0)
			return -1;
		n++;
		p += 70;
	}
	r->proof_len = n;
	r->proof = (const uint8_t(*)[32])proof;
	return 0;
}

struct receipt_storage {
	uint8_t *copy;
	struct ss_signed *witnesses;
	struct ss_blob *populations;
	uint8_t proof[SS_MERKLE_MAX_PROOF][32];
};

void ss_receipt_free(struct ss_receipt *r)
{
	struct receipt_storage *s;

	if (r == NULL)
		return;
	s = r->storage;
	if (s != NULL) {
		free(s->copy);
		free(s->witnesses);
		free(s->populations);
		free(s);
	}
	free(r);
}

static void cont_signed(struct cont *c, const char *name, const char *sig_name, struct ss_signed *s)
{
	cont_expect(c, name, &s->record);
	cont_expect(c, sig_name, &s->sig);
}

static int cont_snapshots(struct cont *c, size_t *n, struct ss_blob **pops, struct ss_blob *insp,
			  struct ss_blob *conf)
{
	size_t i;

	*n = cont_count(c, "population", NULL);
	if (*n == 0)
		return -1;
	*pops = calloc(*n, sizeof(**pops));
	if (*pops == NULL)
		return SS_ERR_NOMEM;
	for (i = 0; i < *n; i++)
		cont_expect(c, "population", &(*pops)[i]);
	cont_expect(c, "inspectors", insp);
	cont_expect(c, "conflicts", conf);
	return c->bad ? -1 : 0;
}

int ss_receipt_parse(const uint8_t *data, size_t len, struct ss_receipt **out)
{
	struct ss_receipt *r;
	struct receipt_storage *s;
	struct ss_blob incl;
	struct cont c;
	size_t i;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	s = calloc(1, sizeof(*s));
	if (r == NULL || s == NULL) {
		free(r);
		free(s);
		return SS_ERR_NOMEM;
	}
	r->storage = s;
	s->copy = cont_open(&c, data, len, KIND_RECEIPT);
	if (s->copy == NULL) {
		ss_receipt_free(r);
		return c.bad ? SS_ERR_MALFORMED_MESSAGE : SS_ERR_NOMEM;
	}
	cont_signed(&c, "draw-open", "draw-open-signature", &r->open);
	r->n_witnesses = c.bad ? 0 : cont_count(&c, "witness", "witness-signature");
	if (r->n_witnesses > 0) {
		s->witnesses = calloc(r->n_witnesses, sizeof(*s->witnesses));
		if (s->witnesses == NULL) {
			ss_receipt_free(r);
			return SS_ERR_NOMEM;
		}
		r->witnesses = s->witnesses;
	}
	for (i = 0; i < r->n_witnesses; i++)
		cont_signed(&c, "witness", "witness-signature", &r->witnesses[i]);
	if (!c.bad && cont_count(&c, "witness-waiver", "witness-waiver-signature") == 1) {
		r->has_waiver = 1;
		cont_signed(&c, "witness-waiver", "witness-waiver-signature", &r->waiver);
	}
	cont_signed(&c, "draw", "draw-signature", &r->draw);
	cont_expect(&c, "checkpoint", &r->checkpoint);
	if (cont_expect(&c, "inclusion", &incl) == 0 && parse_inclusion(r, &incl, s->proof) != 0)
		c.bad = 1;
	rc = c.bad ? -1
		   : cont_snapshots(&c, &r->n_populations, &s->populations, &r->inspectors,
				    &r->conflicts);
	r->populations = s->populations;
	if (rc == SS_ERR_NOMEM) {
		ss_receipt_free(r);
		return rc;
	}
	if (rc != 0 || cont_next(&c) != 0 || strcmp(c.name, "end") != 0) {
		ss_receipt_free(r);
		return SS_ERR_MALFORMED_MESSAGE;
	}
	*out = r;
	return 0;
}

struct log_storage {
	uint8_t *copy;
	uint8_t *checkpoint;
};

void ss_log_export_free(struct ss_log_export *log)
{
	struct log_storage *s;
	size_t i;

	if (log == NULL)
		return;
	for (i = 0; i < log->n_entries; i++)
		free(log->entries[i].populations);
	free(log->entries);
	s = log->storage;
	if (s != NULL) {
		free(s->copy);
		free(s->checkpoint);
		free(s);
	}
	free(log);
}

int ss_log_parse(const uint8_t *data, size_t len, struct ss_log_export **out)
{
	struct ss_log_export *log;
	struct log_storage *s;
	struct cont c;
	size_t n, cap = 0;
	int rc = 0;

	*out = NULL;
	log = calloc(1, sizeof(*log));
	s = calloc(1, sizeof(*s));
	if (log == NULL || s == NULL) {
		free(log);
		free(s);
		return SS_ERR_NOMEM;
	}
	log->storage = s;
	s->copy = cont_open(&c, data, len, KIND_LOG);
	if (s->copy == NULL) {
		ss_log_export_free(log);
		return c.bad ? SS_ERR_MALFORMED_MESSAGE : SS_ERR_NOMEM;
	}
	while (rc == 0 && !c.bad && cont_count(&c, "record", NULL) > 0) {
		struct ss_log_entry *e;

		if (log->n_entries == cap) {
			cap = cap ? 2 * cap : 64;
			e = realloc(log->entries, cap * sizeof(*e));
			if (e == NULL) {
				rc = SS_ERR_NOMEM;
				break;
			}
			log->entries = e;
		}
		e = &log->entries[log->n_entries++];
		memset(e, 0, sizeof(*e));
		cont_signed(&c, "record", "signature", &e->rec);
		n = c.bad ? 0 : cont_count(&c, "population", NULL);
		if (n > 0)
			rc = cont_snapshots(&c, &e->n_populations, &e->populations, &e->inspectors,
					    &e->conflicts);
	}
	if (rc == SS_ERR_NOMEM) {
		ss_log_export_free(log);
		return rc;
	}
	if (rc != 0 || c.bad || cont_next(&c) != 0 || strcmp(c.name, "end") != 0) {
		ss_log_export_free(log);
		return SS_ERR_MALFORMED_MESSAGE;
	}
	*out = log;
	return 0;
}

/* ---- consistency proof files ---- */

#define CONSISTENCY_HEADER "shuangsui/v1 consistency\n"

int ss_consistency_encode(uint64_t old_size, uint64_t new_size,
			  const uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t proof_len,
			  uint8_t **out, size_t *out_len)
{
	struct ss_buf b;
	size_t i;

	*out = NULL;
	*out_len = 0;
	if (proof_len > SS_MERKLE_MAX_PROOF || (proof == NULL && proof_len > 0))
		return SS_ERR_BAD_REQUEST;
	ss_buf_init(&b, 0);
	ss_buf_puts(&b, CONSISTENCY_HEADER "old-size ");
	ss_buf_put_u64(&b, old_size);
	ss_buf_puts(&b, "\nnew-size ");
	ss_buf_put_u64(&b, new_size);
	ss_buf_putc(&b, '\n');
	for (i = 0; i < proof_len; i++) {
		ss_buf_puts(&b, "hash ");
		ss_buf_put_hex(&b, proof[i], SS_MERKLE_HASH_LEN);
		ss_buf_putc(&b, '\n');
	}
	return ss_buf_take(&b, out, out_len);
}

int ss_consistency_parse(const uint8_t *data, size_t len, uint64_t *old_size, uint64_t *new_size,
			 uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t *proof_len)
{
	const char *p = (const char *)data, *end = p + len, *nl;
	size_t hl = strlen(CONSISTENCY_HEADER), n = 0;

	*proof_len = 0;
	if (data == NULL || len < hl || memcmp(p, CONSISTENCY_HEADER, hl) != 0)
		return SS_ERR_MALFORMED_MESSAGE;
	p += hl;
	if ((size_t)(end - p) < 10 || memcmp(p, "old-size ", 9) != 0)
		return SS_ERR_MALFORMED_MESSAGE;
	p += 9;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL || ss_parse_u64(p, (size_t)(nl - p), old_size) != 0)
		return SS_ERR_MALFORMED_MESSAGE;
	p = nl + 1;
	if ((size_t)(end - p) < 10 || memcmp(p, "new-size ", 9) != 0)
		return SS_ERR_MALFORMED_MESSAGE;
	p += 9;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL || ss_parse_u64(p, (size_t)(nl - p), new_size) != 0)
		return SS_ERR_MALFORMED_MESSAGE;
	p = nl + 1;
	while (p < end) {
		if (n == SS_MERKLE_MAX_PROOF || (size_t)(end - p) < 70 ||
		    memcmp(p, "hash ", 5) != 0 || p[69] != '\n' ||
		    ss_parse_hex(p + 5, 64, proof[n], 32) != 0)
			return SS_ERR_MALFORMED_MESSAGE;
		n++;
		p += 70;
	}
	*proof_len = n;
	return 0;
}

/* ---- files ---- */

int ss_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct ss_buf b;
	struct stat st;
	uint8_t chunk[65536];
	size_t got;
	FILE *f;
	int rc;

	*out = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return SS_ERR_IO;
	ss_buf_init(&b, max);
	/* A regular file's size is known: read it in one piece, without re-copying. */
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size < (uint64_t)max) {
		b.data = malloc((size_t)st.st_size + 1);
		if (b.data != NULL) {
			b.cap = (size_t)st.st_size + 1;
			b.len = fread(b.data, 1, (size_t)st.st_size, f);
		}
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ss_buf_put(&b, chunk, got);
	rc = ferror(f) ? SS_ERR_IO : 0;
	fclose(f);
	if (rc == 0 && b.failed && b.max != 0 && b.len + sizeof(chunk) > b.max)
		rc = SS_ERR_IO; /* too large */
	if (rc != 0) {
		ss_buf_free(&b);
		return rc;
	}
	return ss_buf_take(&b, out, len);
}

int ss_file_write_new(const char *path, const uint8_t *data, size_t len)
{
	size_t done = 0;
	ssize_t w;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		ss_log(SS_LOG_ERROR, "%s: %s", path, strerror(errno));
		return SS_ERR_IO;
	}
	while (done < len) {
		w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (done < len || fsync(fd) != 0 || close(fd) != 0) {
		ss_log(SS_LOG_ERROR, "%s: %s", path, strerror(errno));
		if (done < len)
			close(fd);
		unlink(path);
		return SS_ERR_IO;
	}
	return 0;
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int ss_log_export_write(const char *dir, const struct ss_log_export *log)
{
	char *lp = NULL, *cp = NULL;
	uint8_t *bytes = NULL;
	size_t len;
	int rc;

	if (dir == NULL || log == NULL || log->checkpoint.data == NULL)
		return SS_ERR_BAD_REQUEST;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		ss_log(SS_LOG_ERROR, "%s: %s", dir, strerror(errno));
		return SS_ERR_IO;
	}
	rc = ss_log_encode(log, &bytes, &len);
	lp = path_join(dir, "log");
	cp = path_join(dir, "checkpoint");
	if (rc == 0 && (lp == NULL || cp == NULL))
		rc = SS_ERR_NOMEM;
	if (rc == 0)
		rc = ss_file_write_new(lp, bytes, len);
	if (rc == 0) {
		rc = ss_file_write_new(cp, log->checkpoint.data, log->checkpoint.len);
		if (rc != 0)
			unlink(lp);
	}
	free(bytes);
	free(lp);
	free(cp);
	return rc;
}

int ss_log_export_read(const char *dir, struct ss_log_export **out)
{
	char *lp = path_join(dir, "log"), *cp = path_join(dir, "checkpoint");
	uint8_t *bytes = NULL, *note = NULL;
	size_t len, nlen;
	int rc;

	*out = NULL;
	if (lp == NULL || cp == NULL) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	rc = ss_file_read(lp, SS_RECEIPT_MAX, &bytes, &len);
	if (rc == 0)
		rc = ss_file_read(cp, 65536, &note, &nlen);
	if (rc == 0)
		rc = ss_log_parse(bytes, len, out);
	if (rc == 0) {
		((struct log_storage *)(*out)->storage)->checkpoint = note;
		(*out)->checkpoint.data = note;
		(*out)->checkpoint.len = nlen;
		note = NULL;
	}
out:
	free(bytes);
	free(note);
	free(lp);
	free(cp);
	return rc;
}
