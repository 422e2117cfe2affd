/*
 * draw.c — snapshots, seed and selection of the draw (docs/draw-spec.md).
 * The matching of inspectors and recusals are in draw_match.c.
 */
#include "draw.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "draw_int.h"
#include "record_int.h"
#include "rectext.h"
#include "ss_error.h"
#include "ss_log.h"

#define SNAP_POPULATION "shuangsui/v1 population\n"
#define SNAP_POOL "shuangsui/v1 inspectors\n"
#define SNAP_CONFLICTS "shuangsui/v1 conflicts\n"
#define SEED_DOMAIN "shuangsui/v1/seed"

/*
 * A snapshot is written either into a buffer (encode) or straight into a
 * SHA-256 (digest): a 4,000,000-id population is 76 MB, which the digest
 * need not hold.  OpenSSL's EVP SHA-256 is used for its SHA-NI code path.
 */
struct snap_sink {
	struct ss_buf buf; /* staging; flushed to md when md is set */
	EVP_MD_CTX *md;
	int bad;
};

static void sink_flush(struct snap_sink *s, int force)
{
	if (s->md == NULL || (!force && s->buf.len < 65536))
		return;
	if (s->buf.len > 0 && EVP_DigestUpdate(s->md, s->buf.data, s->buf.len) != 1)
		s->bad = 1;
	s->buf.len = 0;
}

static int sink_open(struct snap_sink *s, int digest, const char *header)
{
	memset(s, 0, sizeof(*s));
	ss_buf_init(&s->buf, 0);
	if (digest) {
		s->md = EVP_MD_CTX_new();
		if (s->md == NULL || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(s->md);
			return SS_ERR_INTERNAL;
		}
	}
	ss_buf_puts(&s->buf, header);
	return 0;
}

/* Finishes: the digest into digest (digest sink) or the bytes into *out (encode sink). */
static int sink_close(struct snap_sink *s, uint8_t digest[32], uint8_t **out, size_t *out_len)
{
	int rc = 0;

	if (s->md != NULL) {
		sink_flush(s, 1);
		if (!s->bad && EVP_DigestFinal_ex(s->md, digest, NULL) != 1)
			s->bad = 1;
		EVP_MD_CTX_free(s->md);
		rc = s->bad ? SS_ERR_BAD_REQUEST : s->buf.failed ? SS_ERR_NOMEM : 0;
		ss_buf_free(&s->buf);
		return rc;
	}
	if (s->bad) {
		ss_buf_free(&s->buf);
		return SS_ERR_BAD_REQUEST;
	}
	return ss_buf_take(&s->buf, out, out_len);
}

static int token_ok(const char *s)
{
	return s != NULL && ss_token_valid(s, strnlen(s, SS_TOKEN_MAX + 1));
}

static void population_write(struct snap_sink *s, const char *const *ids, size_t n)
{
	size_t i;

	for (i = 0; i < n && !s->bad; i++) {
		if (!token_ok(ids[i]) || (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)) {
			s->bad = 1;
			break;
		}
		ss_buf_puts(&s->buf, ids[i]);
		ss_buf_putc(&s->buf, '\n');
		sink_flush(s, 0);
	}
}

static void pool_write(struct snap_sink *s, const struct ss_inspector *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !s->bad; i++) {
		if (!token_ok(p[i].id) || (p[i].expert != 0 && p[i].expert != 1) ||
		    (i > 0 && strcmp(p[i - 1].id, p[i].id) >= 0)) {
			s->bad = 1;
			break;
		}
		ss_buf_puts(&s->buf, p[i].id);
		ss_buf_puts(&s->buf, p[i].expert ? " expert\n" : " regular\n");
		sink_flush(s, 0);
	}
}

int ss_conflict_cmp(const struct ss_conflict *a, const struct ss_conflict *b)
{
	int c = strcmp(a->inspector, b->inspector);

	return c != 0 ? c : strcmp(a->object, b->object);
}

static void conflicts_write(struct snap_sink *s, const struct ss_conflict *c, size_t n)
{
	size_t i;

	for (i = 0; i < n && !s->bad; i++) {
		if (!token_ok(c[i].inspector) || !token_ok(c[i].object) ||
		    (i > 0 && ss_conflict_cmp(&c[i - 1], &c[i]) >= 0)) {
			s->bad = 1;
			break;
		}
		ss_buf_puts(&s->buf, c[i].inspector);
		ss_buf_putc(&s->buf, ' ');
		ss_buf_puts(&s->buf, c[i].object);
		ss_buf_putc(&s->buf, '\n');
		sink_flush(s, 0);
	}
}

#define SNAP_FN(name, type, header, writer)                                                        \
	int ss_snapshot_##name##_encode(type v, size_t n, uint8_t **out, size_t *out_len)          \
	{                                                                                          \
		struct snap_sink s;                                                                \
		*out = NULL;                                                                       \
		*out_len = 0;                                                                      \
		if (v == NULL && n > 0)                                                            \
			return SS_ERR_BAD_REQUEST;                                                 \
		sink_open(&s, 0, header);                                                          \
		writer(&s, v, n);                                                                  \
		return sink_close(&s, NULL, out, out_len);                                         \
	}                                                                                          \
	int ss_snapshot_##name##_digest(type v, size_t n, uint8_t digest[32])                      \
	{                                                                                          \
		struct snap_sink s;                                                                \
		int rc;                                                                            \
		if (v == NULL && n > 0)                                                            \
			return SS_ERR_BAD_REQUEST;                                                 \
		rc = sink_open(&s, 1, header);                                                     \
		if (rc != 0)                                                                       \
			return rc;                                                                 \
		writer(&s, v, n);                                                                  \
		return sink_close(&s, digest, NULL, NULL);                                         \
	}

SNAP_FN(population, const char *const *, SNAP_POPULATION, population_write)
SNAP_FN(pool, const struct ss_inspector *, SNAP_POOL, pool_write)
SNAP_FN(conflicts, const struct ss_conflict *, SNAP_CONFLICTS, conflicts_write)

/*
 * Splits data after header into NUL-terminated lines; *lines (malloc'd)
 * points at each.  Every line must end in LF.
 */
static int snap_lines(char *data, size_t len, const char *header, char ***lines, size_t *n)
{
	size_t hl = strlen(header), count = 0, i = 0;
	char *p, *end = data + len, *nl;

	*lines = NULL;
	*n = 0;
	if (data == NULL || len < hl || memcmp(data, header, hl) != 0 ||
	    (len > hl && data[len - 1] != '\n'))
		return SS_ERR_MALFORMED_MESSAGE;
	for (p = data + hl; p < end; p++)
		count += *p == '\n';
	*lines = malloc((count ? count : 1) * sizeof(char *));
	if (*lines == NULL)
		return SS_ERR_NOMEM;
	for (p = data + hl; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		*nl = '\0';
		(*lines)[i++] = p;
	}
	*n = count;
	return 0;
}

int ss_snapshot_population_parse(char *data, size_t len_all, const char ***ids, size_t *n)
{
	char **lines;
	size_t i, prev = 0;
	int rc = snap_lines(data, len_all, SNAP_POPULATION, &lines, n);

	*ids = NULL;
	if (rc != 0)
		return rc;
	/* Each line ends where the next begins (its LF now a NUL): lengths
	 * without strlen, order by memcmp over the shorter and its NUL. */
	for (i = 0; i < *n; i++) {
		size_t len = (size_t)((i + 1 < *n ? lines[i + 1] : data + len_all) - lines[i]) - 1;

		if (!ss_token_valid(lines[i], len) ||
		    (i > 0 && memcmp(lines[i - 1], lines[i], (len < prev ? len : prev) + 1) >= 0)) {
			free(lines);
			*n = 0;
			return SS_ERR_MALFORMED_MESSAGE;
		}
		prev = len;
	}
	*ids = (const char **)lines;
	return 0;
}

int ss_snapshot_pool_parse(char *data, size_t len, struct ss_inspector **pool, size_t *n)
{
	char **lines, *sp;
	size_t i;
	int rc = snap_lines(data, len, SNAP_POOL, &lines, n);

	*pool = NULL;
	if (rc != 0)
		return rc;
	*pool = malloc((*n ? *n : 1) * sizeof(**pool));
	for (i = 0; *pool != NULL && i < *n; i++) {
		sp = strchr(lines[i], ' ');
		if (sp == NULL)
			break;
		*sp = '\0';
		(*pool)[i].id = lines[i];
		if (strcmp(sp + 1, "expert") == 0)
			(*pool)[i].expert = 1;
		else if (strcmp(sp + 1, "regular") == 0)
			(*pool)[i].expert = 0;
		else
			break;
		if (!ss_token_valid(lines[i], (size_t)(sp - lines[i])) ||
		    (i > 0 && strcmp((*pool)[i - 1].id, lines[i]) >= 0))
			break;
	}
	rc = *pool == NULL ? SS_ERR_NOMEM : i < *n ? SS_ERR_MALFORMED_MESSAGE : 0;
	free(lines);
	if (rc != 0) {
		free(*pool);
		*pool = NULL;
		*n = 0;
	}
	return rc;
}

int ss_snapshot_conflicts_parse(char *data, size_t len, struct ss_conflict **c, size_t *n)
{
	char **lines, *sp;
	size_t i;
	int rc = snap_lines(data, len, SNAP_CONFLICTS, &lines, n);

	*c = NULL;
	if (rc != 0)
		return rc;
	*c = malloc((*n ? *n : 1) * sizeof(**c));
	for (i = 0; *c != NULL && i < *n; i++) {
		sp = strchr(lines[i], ' ');
		if (sp == NULL)
			break;
		*sp = '\0';
		(*c)[i].inspector = lines[i];
		(*c)[i].object = sp + 1;
		if (!ss_token_valid(lines[i], (size_t)(sp - lines[i])) ||
		    !ss_token_valid(sp + 1, strlen(sp + 1)) ||
		    (i > 0 && ss_conflict_cmp(&(*c)[i - 1], &(*c)[i]) >= 0))
			break;
	}
	rc = *c == NULL ? SS_ERR_NOMEM : i < *n ? SS_ERR_MALFORMED_MESSAGE : 0;
	free(lines);
	if (rc != 0) {
		free(*c);
		*c = NULL;
		*n = 0;
	}
	return rc;
}

void ss_draw_commitment(const uint8_t r[SS_DRAW_R_LEN], uint8_t commitment[32])
{
	crypto_hash_sha256(commitment, r, SS_DRAW_R_LEN);
}

int ss_draw_seed(const char *task, const uint8_t r[SS_DRAW_R_LEN],
		 const struct ss_witness *witnesses, size_t n_witnesses,
		 const char *const *stratum_names, const uint8_t (*population_digests)[32],
		 size_t n_strata, const uint8_t pool_digest[32], const uint8_t conflicts_digest[32],
		 char seed[65])
{
	struct ss_buf b;
	uint8_t *msg;
	size_t len, i;
	uint8_t n4[4];
	int rc;

	seed[0] = '\0';
	if (!token_ok(task) || r == NULL || (witnesses == NULL && n_witnesses > 0) ||
	    n_witnesses > SS_WITNESSES_MAX || n_strata == 0 || n_strata > SS_STRATA_MAX)
		return SS_ERR_BAD_REQUEST;
	ss_buf_init(&b, 0);
	/* Domain, then length-prefixed fields: no two inputs share an encoding. */
	ss_buf_put(&b, SEED_DOMAIN, sizeof(SEED_DOMAIN)); /* with its NUL */
	ss_buf_put_lp(&b, task, strlen(task));
	ss_buf_put_lp(&b, r, SS_DRAW_R_LEN);
	n4[0] = 0, n4[1] = 0, n4[2] = 0, n4[3] = (uint8_t)n_witnesses;
	ss_buf_put(&b, n4, 4);
	for (i = 0; i < n_witnesses; i++) {
		if (!token_ok(witnesses[i].principal) || !ss_entropy_valid(witnesses[i].entropy)) {
			ss_buf_free(&b);
			return SS_ERR_BAD_REQUEST;
		}
		ss_buf_put_lp(&b, witnesses[i].principal, strlen(witnesses[i].principal));
		ss_buf_put_lp(&b, witnesses[i].entropy, strlen(witnesses[i].entropy));
	}
	n4[2] = (uint8_t)(n_strata >> 8), n4[3] = (uint8_t)n_strata;
	ss_buf_put(&b, n4, 4);
	for (i = 0; i < n_strata; i++) {
		if (!token_ok(stratum_names[i])) {
			ss_buf_free(&b);
			return SS_ERR_BAD_REQUEST;
		}
		ss_buf_put_lp(&b, stratum_names[i], strlen(stratum_names[i]));
		ss_buf_put(&b, population_digests[i], 32);
	}
	ss_buf_put(&b, pool_digest, 32);
	ss_buf_put(&b, conflicts_digest, 32);
	rc = ss_buf_take(&b, &msg, &len);
	if (rc != 0)
		return rc;
	ss_sha256_hex(msg, len, seed);
	free(msg);
	return 0;
}

/* Checks that no id is drawn in two strata (the server makes strata disjoint). */
static int draw_check_disjoint(const struct ss_record *d)
{
	const char **all;
	size_t n = 0, i, p;
	int rc = 0;

	if (d->n_strata < 2)
		return 0;
	all = malloc((d->n_matches ? d->n_matches : 1) * sizeof(*all));
	if (all == NULL)
		return SS_ERR_NOMEM;
	for (i = 0; i < d->n_strata; i++)
		for (p = 0; p < d->strata[i].n_picks; p++)
			all[n++] = d->strata[i].picks[p].id;
	qsort(all, n, sizeof(*all), ss_strptr_cmp);
	for (i = 1; i < n && rc == 0; i++)
		if (strcmp(all[i - 1], all[i]) == 0)
			rc = SS_ERR_BAD_REQUEST;
	free(all);
	return rc;
}

int ss_strptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int draw_select(const struct ss_draw_input *in, const struct ss_draw_digests *known,
		       struct ss_record *d)
{
	const char **names;
	uint8_t(*digests)[32];
	size_t i, total = 0;
	long got;
	int rc = 0;

	names = ss_arena_calloc(d->arena, in->n_strata, sizeof(*names));
	digests = ss_arena_calloc(d->arena, in->n_strata, 32);
	d->strata = ss_arena_calloc(d->arena, in->n_strata, sizeof(*d->strata));
	if (names == NULL || digests == NULL || d->strata == NULL)
		return SS_ERR_NOMEM;
	d->n_strata = in->n_strata;
	for (i = 0; i < in->n_strata && rc == 0; i++) {
		struct ss_rec_stratum *s = &d->strata[i];

		s->name = names[i] = in->strata[i].name;
		s->k = in->strata[i].k;
		s->size = in->strata[i].n;
		if (known != NULL)
			memcpy(s->digest, known->population[i], 32);
		else
			rc = ss_snapshot_population_digest(in->strata[i].ids, in->strata[i].n,
							   s->digest);
		memcpy(digests[i], s->digest, 32);
	}
	if (rc == 0 && known != NULL) {
		memcpy(d->pool_digest, known->pool, 32);
		memcpy(d->conflicts_digest, known->conflicts, 32);
	} else if (rc == 0) {
		rc = ss_snapshot_pool_digest(in->pool, in->n_pool, d->pool_digest);
		if (rc == 0)
			rc = ss_snapshot_conflicts_digest(in->conflicts, in->n_conflicts,
							  d->conflicts_digest);
	}
	if (rc == 0)
		rc = ss_draw_seed(in->task, in->r, in->witnesses, in->n_witnesses, names,
				  (const uint8_t(*)[32])digests, in->n_strata, d->pool_digest,
				  d->conflicts_digest, d->seed);
	for (i = 0; i < in->n_strata && rc == 0; i++) {
		struct ss_rec_stratum *s = &d->strata[i];

		s->n_picks = s->k < s->size ? (size_t)s->k : (size_t)s->size;
		s->picks =
		    ss_arena_calloc(d->arena, s->n_picks ? s->n_picks : 1, sizeof(*s->picks));
		if (s->picks == NULL)
			return SS_ERR_NOMEM;
		got = ss_draw_select(d->seed, in->strata[i].ids, in->strata[i].n, s->n_picks,
				     s->picks);
		if (got < 0)
			rc = (int)got;
		total += s->n_picks;
	}
	d->n_matches = total;
	return rc;
}

int ss_draw_compute_known(const struct ss_draw_input *in, const struct ss_draw_digests *known,
			  struct ss_record **out)
{
	struct ss_arena *a;
	struct ss_record *d;
	size_t i;
	int rc;

	*out = NULL;
	if (in == NULL || in->open_hash == NULL || in->r == NULL || in->key_id == NULL ||
	    in->strata == NULL || in->n_strata == 0 || in->n_strata > SS_STRATA_MAX ||
	    in->group_size < 2 || in->group_size > SS_GROUP_MAX ||
	    in->experts_per_object > SS_GROUP_MAX || in->workload_cap > UINT32_MAX ||
	    (in->pool == NULL && in->n_pool > 0) || !token_ok(in->task) ||
	    (in->waiver_principal != NULL && in->waiver_reason == NULL))
		return SS_ERR_BAD_REQUEST;
	for (i = 0; i < in->n_strata; i++)
		if (in->strata[i].ids == NULL && in->strata[i].n > 0)
			return SS_ERR_BAD_REQUEST;
	a = ss_arena_new();
	d = a != NULL ? ss_arena_alloc(a, sizeof(*d)) : NULL;
	if (d == NULL) {
		ss_arena_free(a);
		return SS_ERR_NOMEM;
	}
	d->arena = a;
	d->type = SS_REC_DRAW;
	d->task = in->task;
	d->params = in->params;
	d->group_size = in->group_size;
	d->experts_per_object = in->experts_per_object;
	d->workload_cap = in->workload_cap;
	d->pool_size = in->n_pool;
	d->conflicts_size = in->n_conflicts;
	memcpy(d->open_hash, in->open_hash, 32);
	memcpy(d->r, in->r, SS_DRAW_R_LEN);
	ss_draw_commitment(in->r, d->commitment);
	d->n_witnesses = in->n_witnesses;
	d->witnesses =
	    ss_arena_calloc(a, in->n_witnesses ? in->n_witnesses : 1, sizeof(*d->witnesses));
	if (d->witnesses == NULL) {
		ss_record_free(d);
		return SS_ERR_NOMEM;
	}
	for (i = 0; i < in->n_witnesses; i++) {
		d->witnesses[i].principal = in->witnesses[i].principal;
		d->witnesses[i].entropy = in->witnesses[i].entropy;
	}
	if (in->waiver_principal != NULL) {
		d->waived = 1;
		d->principal = in->waiver_principal;
		d->reason = in->waiver_reason;
	}
	d->timestamp = in->timestamp;
	memcpy(d->key_id, in->key_id, SS_SIG_KEY_ID_LEN);
	rc = draw_select(in, known, d);
	if (rc == 0)
		rc = draw_check_disjoint(d);
	if (rc == 0)
		rc = ss_draw_match(d, in->pool, in->n_pool, in->conflicts, in->n_conflicts);
	if (rc != 0) {
		ss_record_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int ss_draw_compute(const struct ss_draw_input *in, struct ss_record **out)
{
	return ss_draw_compute_known(in, NULL, out);
}
