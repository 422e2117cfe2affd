/*
 * test_verify.c — receipts, log exports and consistency, verified through
 * common/audit.c and through the real shuangsui-verify binary: a good
 * receipt passes, every flipped bit fails with the check its section
 * implies, a changed log record is found on replay, key rotation needs
 * both keys, and stock `openssl pkeyutl` checks a record signature.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit.h"
#include "draw.h"
#include "merkle.h"
#include "note.h"
#include "receipt.h"
#include "record.h"
#include "rectext.h"
#include "ss_error.h"

#define ORIGIN "shuangsui.example/log"

static const char *const pop_ids[] = {"91110101MA0000001X", "91110101MA00000028",
				      "91310115MA000003XA", "91440305MA00000445",
				      "P-2026-0001",	    "P-2026-0002"};
static struct ss_inspector pool[] = {{"E-01", 1}, {"E-02", 1}, {"I-01", 0}, {"I-02", 0},
				     {"I-03", 0}, {"I-04", 0}, {"I-05", 0}};
static struct ss_conflict conflicts[] = {{"I-02", "91110101MA0000001X"}};
static struct ss_witness witnesses[] = {{"SUP-01", "16253443526161524334"}};

/* Everything a receipt and a log export are made of, signed by one key. */
struct scenario {
	struct ss_key *key;
	char pub[SS_SIG_PUBLIC_KEY_STR_LEN + 1];
	struct ss_draw_stratum st;
	uint8_t r[32];
	struct ss_blob rec[6], sig[6]; /* leaves: open, witness, draw, open2, witness2, recusal */
	uint8_t sigs[6][SS_SIG_LEN];
	size_t n_leaves;
	uint8_t leaves[6][32];
	uint8_t *pop, *insp, *conf;
	size_t pop_len, insp_len, conf_len;
	struct ss_record *draw;
	char *checkpoint;
	size_t checkpoint_len;
};

static void sign_leaf(struct scenario *s, size_t i, const struct ss_record *r)
{
	uint8_t *enc;
	size_t len;

	assert_int_equal(ss_record_encode(r, &enc, &len), 0);
	s->rec[i].data = enc;
	s->rec[i].len = len;
	assert_int_equal(ss_record_sign(s->key, enc, len, s->sigs[i]), 0);
	s->sig[i].data = s->sigs[i];
	s->sig[i].len = SS_SIG_LEN;
	ss_record_leaf_hash(enc, len, s->leaves[i]);
}

static void open_record(struct scenario *s, struct ss_record *o, struct ss_rec_stratum *st,
			struct ss_rec_witness *w, const char *task)
{
	memset(o, 0, sizeof(*o));
	o->type = SS_REC_DRAW_OPEN;
	o->task = task;
	o->params = "items=A01 district=110101";
	o->group_size = 2;
	o->experts_per_object = 1;
	o->workload_cap = 2;
	o->pool_size = 7;
	o->conflicts_size = 1;
	assert_int_equal(ss_snapshot_pool_digest(pool, 7, o->pool_digest), 0);
	assert_int_equal(ss_snapshot_conflicts_digest(conflicts, 1, o->conflicts_digest), 0);
	memset(st, 0, sizeof(*st));
	st->name = "all";
	st->k = 3;
	st->size = 6;
	assert_int_equal(ss_snapshot_population_digest(pop_ids, 6, st->digest), 0);
	o->n_strata = 1;
	o->strata = st;
	ss_draw_commitment(s->r, o->commitment);
	w->principal = "SUP-01";
	w->entropy = NULL;
	o->n_witnesses = 1;
	o->witnesses = w;
	o->timestamp = 1780000000;
	memcpy(o->key_id, ss_key_id(s->key), 8);
}

static void witness_record(struct scenario *s, struct ss_record *w, const char *task,
			   const uint8_t open_hash[32])
{
	memset(w, 0, sizeof(*w));
	w->type = SS_REC_WITNESS;
	w->task = task;
	memcpy(w->open_hash, open_hash, 32);
	w->principal = witnesses[0].principal;
	w->entropy = witnesses[0].entropy;
	w->timestamp = 1780000100;
	memcpy(w->key_id, ss_key_id(s->key), 8);
}

/* Signs the checkpoint of the first n leaves. */
static void make_checkpoint(struct scenario *s, size_t n, char **out, size_t *out_len)
{
	uint8_t root[32];
	char *text;
	size_t len;

	ss_merkle_root((const uint8_t(*)[32])s->leaves, n, root);
	assert_int_equal(ss_checkpoint_format(ORIGIN, n, root, &text, &len), 0);
	assert_int_equal(ss_note_sign(text, len, ORIGIN, s->key, out, out_len), 0);
	free(text);
}

static void scenario_init(struct scenario *s)
{
	struct ss_record o, w;
	struct ss_rec_stratum st;
	struct ss_rec_witness ow;
	struct ss_draw_input in;
	uint8_t *enc;
	size_t len;

	memset(s, 0, sizeof(*s));
	assert_int_equal(ss_key_new(&s->key), 0);
	ss_key_public_string(s->key, s->pub);
	memset(s->r, 0x5a, 32);
	open_record(s, &o, &st, &ow, "T-1");
	sign_leaf(s, 0, &o);
	witness_record(s, &w, "T-1", s->leaves[0]);
	sign_leaf(s, 1, &w);
	s->st = (struct ss_draw_stratum){"all", 3, pop_ids, 6};
	memset(&in, 0, sizeof(in));
	in.task = "T-1";
	in.params = o.params;
	in.open_hash = s->leaves[0];
	in.strata = &s->st;
	in.n_strata = 1;
	in.pool = pool;
	in.n_pool = 7;
	in.conflicts = conflicts;
	in.n_conflicts = 1;
	in.group_size = 2;
	in.experts_per_object = 1;
	in.workload_cap = 2;
	in.r = s->r;
	in.witnesses = witnesses;
	in.n_witnesses = 1;
	in.timestamp = 1780000200;
	in.key_id = ss_key_id(s->key);
	assert_int_equal(ss_draw_compute(&in, &s->draw), 0);
	sign_leaf(s, 2, s->draw);
	/* Another task's leaves after it, so the proof is not trivial. */
	open_record(s, &o, &st, &ow, "T-2");
	sign_leaf(s, 3, &o);
	witness_record(s, &w, "T-2", s->leaves[3]);
	sign_leaf(s, 4, &w);
	s->n_leaves = 5;
	make_checkpoint(s, 5, &s->checkpoint, &s->checkpoint_len);
	assert_int_equal(ss_snapshot_population_encode(pop_ids, 6, &s->pop, &s->pop_len), 0);
	assert_int_equal(ss_snapshot_pool_encode(pool, 7, &s->insp, &s->insp_len), 0);
	assert_int_equal(ss_snapshot_conflicts_encode(conflicts, 1, &s->conf, &s->conf_len), 0);
	(void)enc;
	(void)len;
}

static void scenario_free(struct scenario *s)
{
	size_t i;

	for (i = 0; i < 6; i++)
		free((void *)s->rec[i].data);
	free(s->pop);
	free(s->insp);
	free(s->conf);
	free(s->checkpoint);
	ss_record_free(s->draw);
	ss_key_free(s->key);
}

static void make_receipt(struct scenario *s, uint8_t **out, size_t *len)
{
	struct ss_receipt r;
	struct ss_signed w;
	struct ss_blob pop = {s->pop, s->pop_len};
	uint8_t proof[SS_MERKLE_MAX_PROOF][32];
	size_t plen;

	assert_int_equal(ss_merkle_inclusion_proof((const uint8_t(*)[32])s->leaves, s->n_leaves, 2,
						   proof, &plen),
			 0);
	memset(&r, 0, sizeof(r));
	r.open = (struct ss_signed){s->rec[0], s->sig[0]};
	w = (struct ss_signed){s->rec[1], s->sig[1]};
	r.n_witnesses = 1;
	r.witnesses = &w;
	r.draw = (struct ss_signed){s->rec[2], s->sig[2]};
	r.checkpoint = (struct ss_blob){(const uint8_t *)s->checkpoint, s->checkpoint_len};
	r.leaf_index = 2;
	r.tree_size = s->n_leaves;
	r.proof = (const uint8_t(*)[32])proof;
	r.proof_len = plen;
	r.n_populations = 1;
	r.populations = &pop;
	r.inspectors = (struct ss_blob){s->insp, s->insp_len};
	r.conflicts = (struct ss_blob){s->conf, s->conf_len};
	assert_int_equal(ss_receipt_encode(&r, out, len), 0);
}

static char *write_temp(const uint8_t *data, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_verify_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Runs shuangsui-verify with args; returns its exit code and its first stdout line in out. */
static int run_verify(const char *args, char *out, size_t out_size)
{
	char cmd[2048];
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "LANG=C '%s' %s 2>/dev/null", SS_TEST_VERIFY_PATH, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	out[0] = '\0';
	if (fgets(out, (int)out_size, p) == NULL)
		out[0] = '\0';
	while (fgetc(p) != EOF)
		;
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void good_receipt_verifies_with_the_binary(void **state)
{
	struct scenario s;
	struct ss_check_result res;
	uint8_t *rc;
	size_t len;
	char args[512], out[512], *path;

	scenario_init(&s);
	make_receipt(&s, &rc, &len);
	assert_int_equal(ss_audit_receipt(rc, len, ss_key_public(s.key), ORIGIN, &res),
			 SS_CHECK_OK);
	path = write_temp(rc, len);
	snprintf(args, sizeof(args), "receipt '%s' --key %s --origin %s", path, s.pub, ORIGIN);
	assert_int_equal(run_verify(args, out, sizeof(out)), 0);
	assert_string_equal(out, "OK\n");
	/* Another key: refused as a signature/key failure (exit 4). */
	{
		struct ss_key *other;
		char opub[SS_SIG_PUBLIC_KEY_STR_LEN + 1];

		assert_int_equal(ss_key_new(&other), 0);
		ss_key_public_string(other, opub);
		snprintf(args, sizeof(args), "receipt '%s' --key %s", path, opub);
		assert_int_equal(run_verify(args, out, sizeof(out)), 4);
		assert_memory_equal(out, "FAILED key:", 11);
		ss_key_free(other);
	}
	/* Another expected origin: refused. */
	snprintf(args, sizeof(args), "receipt '%s' --key %s --origin other.example/log", path,
		 s.pub);
	assert_int_equal(run_verify(args, out, sizeof(out)), 4);
	assert_memory_equal(out, "FAILED checkpoint-signature:", 28);
	/* Usage errors exit 2. */
	snprintf(args, sizeof(args), "receipt '%s'", path);
	assert_int_equal(run_verify(args, out, sizeof(out)), 2);
	unlink(path);
	free(rc);
	scenario_free(&s);
}

/* The checks a flipped bit in each section may legitimately be blamed on. */
static int allowed(const char *section, enum ss_check c)
{
	if (strcmp(section, "population") == 0)
		return c == SS_CHECK_POPULATION_DIGEST;
	if (strcmp(section, "inspectors") == 0)
		return c == SS_CHECK_INSPECTORS_DIGEST;
	if (strcmp(section, "conflicts") == 0)
		return c == SS_CHECK_CONFLICTS_DIGEST;
	if (strcmp(section, "checkpoint") == 0)
		return c == SS_CHECK_CHECKPOINT_FORMAT || c == SS_CHECK_CHECKPOINT_SIGNATURE;
	if (strcmp(section, "inclusion") == 0)
		return c == SS_CHECK_FORMAT || c == SS_CHECK_INCLUSION;
	if (strstr(section, "signature") != NULL)
		return c == SS_CHECK_RECORD_SIGNATURE || c == SS_CHECK_KEY;
	if (strcmp(section, "draw-open") == 0 || strcmp(section, "witness") == 0 ||
	    strcmp(section, "draw") == 0)
		return c == SS_CHECK_FORMAT || c == SS_CHECK_RECORD_SIGNATURE;
	return c == SS_CHECK_FORMAT; /* the container's own lines */
}

/* Names the section each byte of a receipt belongs to ("" for container lines). */
static void section_map(const uint8_t *rc, size_t len, const char **names)
{
	static char store[32][32];
	size_t p, n = 0, i, body, nl;

	for (i = 0; i < len; i++)
		names[i] = "";
	p = (size_t)((const uint8_t *)memchr(rc, '\n', len) - rc) + 1;
	while (p < len && memcmp(rc + p, "end\n", 4) != 0) {
		nl = (size_t)((const uint8_t *)memchr(rc + p, '\n', len - p) - rc);
		sscanf((const char *)rc + p, "%31s %zu", store[n], &body);
		for (i = nl + 1; i < nl + 1 + body; i++)
			names[i] = store[n];
		p = nl + 1 + body + 1;
		n++;
	}
}

static void every_flipped_bit_fails_the_check_of_its_section(void **state)
{
	struct scenario s;
	struct ss_check_result res;
	const char **names;
	uint8_t *rc, *bad;
	size_t len, i, flips = 0;
	int bit;
	enum ss_check c;

	scenario_init(&s);
	make_receipt(&s, &rc, &len);
	names = calloc(len, sizeof(*names));
	bad = malloc(len);
	assert_non_null(names);
	assert_non_null(bad);
	section_map(rc, len, names);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, rc, len);
			bad[i] ^= (uint8_t)(1u << bit);
			c = ss_audit_receipt(bad, len, ss_key_public(s.key), NULL, &res);
			if (c == SS_CHECK_OK || !allowed(names[i], c))
				fail_msg("byte %zu bit %d (section \"%s\"): %s: %s", i, bit,
					 names[i], ss_check_name(c), res.detail);
			flips++;
		}
	}
	assert_int_equal(flips, 8 * len);
	free(bad);
	free(names);
	free(rc);
	scenario_free(&s);
}

/* Cut anywhere, or with a hostile length: a format error, never a crash or an OK. */
static void truncated_or_hostile_receipts_are_format_errors(void **state)
{
	static const char *const lengths[] = {
	    "4294967295", "4294967296", "18446744073709551615", "99999999999999999999", "0", "-1"};
	struct scenario s;
	struct ss_check_result res;
	uint8_t *rc, *bad;
	size_t len, i, bad_len;
	char *at;

	scenario_init(&s);
	make_receipt(&s, &rc, &len);
	for (i = 0; i < len; i++)
		assert_int_equal(ss_audit_receipt(rc, i, ss_key_public(s.key), NULL, &res),
				 SS_CHECK_FORMAT);
	/* The draw-open section's length replaced by hostile values. */
	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		at = strstr((char *)rc, "\ndraw-open ") + 11;
		bad_len = (size_t)(at - (char *)rc) + strlen(lengths[i]) +
			  (len - (size_t)(strchr(at, '\n') - (char *)rc));
		bad = malloc(bad_len);
		assert_non_null(bad);
		memcpy(bad, rc, (size_t)(at - (char *)rc));
		memcpy(bad + (at - (char *)rc), lengths[i], strlen(lengths[i]));
		memcpy(bad + (at - (char *)rc) + strlen(lengths[i]), strchr(at, '\n'),
		       len - (size_t)(strchr(at, '\n') - (char *)rc));
		assert_int_equal(ss_audit_receipt(bad, bad_len, ss_key_public(s.key), NULL, &res),
				 SS_CHECK_FORMAT);
		free(bad);
	}
	free(rc);
	scenario_free(&s);
}

/* The binary on one flipped bit in the middle of each section: the check and its exit code. */
static void binary_names_the_failed_check_for_each_section(void **state)
{
	struct scenario s;
	const char **names;
	uint8_t *rc, *bad;
	size_t len, i, start;
	char args[512], out[512], *path, check[64];
	int code, tested = 0;
	enum ss_check c;

	scenario_init(&s);
	make_receipt(&s, &rc, &len);
	names = calloc(len, sizeof(*names));
	bad = malloc(len);
	section_map(rc, len, names);
	for (start = 0; start < len;) {
		for (i = start; i < len && names[i] == names[start]; i++)
			;
		memcpy(bad, rc, len);
		bad[(start + i) / 2] ^= 0x04;
		path = write_temp(bad, len);
		snprintf(args, sizeof(args), "receipt '%s' --key %s", path, s.pub);
		code = run_verify(args, out, sizeof(out));
		assert_int_equal(sscanf(out, "FAILED %63[^:]:", check), 1);
		for (c = SS_CHECK_FORMAT; c <= SS_CHECK_RESOURCES; c++)
			if (strcmp(ss_check_name(c), check) == 0)
				break;
		if (!allowed(names[start], c))
			fail_msg("section \"%s\": %s", names[start], out);
		assert_int_equal(code, ss_check_class(c));
		unlink(path);
		tested++;
		start = i;
	}
	assert_true(tested >= 20); /* every section and the lines between them */
	free(bad);
	free(names);
	free(rc);
	scenario_free(&s);
}

/* A server that signs a dishonest draw is caught by recomputation. */
static void dishonest_but_signed_draws_are_recomputed_and_refused(void **state)
{
	struct scenario s;
	struct ss_check_result res;
	uint8_t *rc, *enc;
	size_t len, elen;
	const char *saved;
	uint8_t r0;

	scenario_init(&s);
	/* A different inspector in the first group. */
	saved = s.draw->matches[0].inspectors[1];
	s.draw->matches[0].inspectors[1] = strcmp(saved, "I-05") == 0 ? "I-04" : "I-05";
	if (strcmp(s.draw->matches[0].inspectors[0], s.draw->matches[0].inspectors[1]) == 0)
		s.draw->matches[0].inspectors[1] = "I-03";
	free((void *)s.rec[2].data);
	sign_leaf(&s, 2, s.draw);
	free(s.checkpoint);
	make_checkpoint(&s, 5, &s.checkpoint, &s.checkpoint_len);
	make_receipt(&s, &rc, &len);
	assert_int_equal(ss_audit_receipt(rc, len, ss_key_public(s.key), NULL, &res),
			 SS_CHECK_MATCHING);
	free(rc);
	s.draw->matches[0].inspectors[1] = saved;
	/* A different r: the commitment no longer holds. */
	r0 = s.draw->r[0];
	s.draw->r[0] ^= 1;
	free((void *)s.rec[2].data);
	sign_leaf(&s, 2, s.draw);
	free(s.checkpoint);
	make_checkpoint(&s, 5, &s.checkpoint, &s.checkpoint_len);
	make_receipt(&s, &rc, &len);
	assert_int_equal(ss_audit_receipt(rc, len, ss_key_public(s.key), NULL, &res),
			 SS_CHECK_COMMITMENT);
	free(rc);
	s.draw->r[0] = r0;
	/* A seed that is not the hash of its inputs. */
	s.draw->seed[0] = s.draw->seed[0] == '0' ? '1' : '0';
	free((void *)s.rec[2].data);
	sign_leaf(&s, 2, s.draw);
	free(s.checkpoint);
	make_checkpoint(&s, 5, &s.checkpoint, &s.checkpoint_len);
	make_receipt(&s, &rc, &len);
	assert_int_equal(ss_audit_receipt(rc, len, ss_key_public(s.key), NULL, &res),
			 SS_CHECK_SEED);
	free(rc);
	(void)enc;
	(void)elen;
	scenario_free(&s);
}

/* ---- log exports ---- */

static char *make_dir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/test_verify_log_XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_dir(const char *dir)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/log", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/checkpoint", dir);
	unlink(p);
	rmdir(dir);
}

/* Exports leaves[0..n) of s (with the draw's snapshots if with_snapshots). */
static void export_log(struct scenario *s, size_t n, int with_snapshots, const char *dir)
{
	struct ss_log_entry e[6];
	struct ss_log_export log;
	struct ss_blob pop = {s->pop, s->pop_len};
	size_t i;

	memset(e, 0, sizeof(e));
	for (i = 0; i < n; i++) {
		e[i].rec.record = s->rec[i];
		e[i].rec.sig = s->sig[i];
	}
	if (with_snapshots) {
		e[2].n_populations = 1;
		e[2].populations = &pop;
		e[2].inspectors = (struct ss_blob){s->insp, s->insp_len};
		e[2].conflicts = (struct ss_blob){s->conf, s->conf_len};
	}
	memset(&log, 0, sizeof(log));
	log.n_entries = n;
	log.entries = e;
	log.checkpoint = (struct ss_blob){(const uint8_t *)s->checkpoint, s->checkpoint_len};
	assert_int_equal(ss_log_export_write(dir, &log), 0);
}

/* Adds a recusal of the draw's first leader as leaf 5, with the computed outcome. */
static void add_recusal(struct scenario *s, const char *force_replacement)
{
	struct ss_record x;
	const char *rep;

	assert_int_equal(ss_draw_recusal(s->draw, pool, 7, conflicts, 1, NULL, 0,
					 s->draw->matches[0].object,
					 s->draw->matches[0].inspectors[0], &rep),
			 0);
	memset(&x, 0, sizeof(x));
	x.type = SS_REC_RECUSAL;
	x.task = "T-1";
	memcpy(x.draw_hash, s->leaves[2], 32);
	x.object = s->draw->matches[0].object;
	x.inspector = s->draw->matches[0].inspectors[0];
	x.reason = "former employee of the enterprise";
	x.replacement = force_replacement != NULL ? force_replacement : rep;
	x.timestamp = 1780000300;
	memcpy(x.key_id, ss_key_id(s->key), 8);
	free((void *)s->rec[5].data);
	sign_leaf(s, 5, &x);
	s->n_leaves = 6;
	free(s->checkpoint);
	make_checkpoint(s, 6, &s->checkpoint, &s->checkpoint_len);
}

static void exported_log_replays_and_a_changed_record_is_found(void **state)
{
	struct scenario s;
	char args[512], out[512], *dir, path[256];
	uint8_t *bytes;
	size_t len;
	char *at;

	scenario_init(&s);
	add_recusal(&s, NULL);
	dir = make_dir();
	export_log(&s, 6, 1, dir);
	snprintf(args, sizeof(args), "log '%s' --key %s --origin %s", dir, s.pub, ORIGIN);
	assert_int_equal(run_verify(args, out, sizeof(out)), 0);
	assert_string_equal(out, "OK\n");
	/* Change the stored draw row: one inspector id in the export. */
	snprintf(path, sizeof(path), "%s/log", dir);
	assert_int_equal(ss_file_read(path, 1 << 24, &bytes, &len), 0);
	at = memmem(bytes, len, "\nmatch ", 7); /* the file holds binary signatures: not strstr */
	assert_non_null(at);
	at = strchr(at + 7, ' ');
	at[3] = at[3] == '1' ? '2' : '1'; /* " I-0x" or " E-0x" */
	unlink(path);
	assert_int_equal(ss_file_write_new(path, bytes, len), 0);
	free(bytes);
	snprintf(args, sizeof(args), "log '%s' --key %s", dir, s.pub);
	assert_int_equal(run_verify(args, out, sizeof(out)), 4);
	assert_memory_equal(out, "FAILED record-signature: leaf 2 (draw)", 38);
	remove_dir(dir);
	scenario_free(&s);
}

static void replay_without_snapshots_still_checks_the_tree(void **state)
{
	struct scenario s;
	struct ss_log_export *log;
	struct ss_check_result res;
	char *dir;

	scenario_init(&s);
	add_recusal(&s, NULL);
	dir = make_dir();
	export_log(&s, 6, 0, dir);
	assert_int_equal(ss_log_export_read(dir, &log), 0);
	assert_int_equal(ss_audit_log(log, ss_key_public(s.key), ORIGIN, &res), SS_CHECK_OK);
	/* A leaf dropped from the export: the tree no longer matches the checkpoint. */
	log->n_entries = 5;
	assert_int_equal(ss_audit_log(log, ss_key_public(s.key), ORIGIN, &res), SS_CHECK_TREE_ROOT);
	ss_log_export_free(log);
	remove_dir(dir);
	scenario_free(&s);
}

static void wrong_recusal_replacement_is_refused_on_replay(void **state)
{
	struct scenario s;
	struct ss_log_export *log;
	struct ss_check_result res;
	const char *rep, *other = NULL;
	char *dir;
	size_t i;

	scenario_init(&s);
	assert_int_equal(ss_draw_recusal(s.draw, pool, 7, conflicts, 1, NULL, 0,
					 s.draw->matches[0].object,
					 s.draw->matches[0].inspectors[0], &rep),
			 0);
	for (i = 2; i < 7; i++) /* a regular inspector that is not the right one */
		if ((rep == NULL || strcmp(pool[i].id, rep) != 0) &&
		    strcmp(pool[i].id, s.draw->matches[0].inspectors[0]) != 0)
			other = pool[i].id;
	add_recusal(&s, other);
	dir = make_dir();
	export_log(&s, 6, 1, dir);
	assert_int_equal(ss_log_export_read(dir, &log), 0);
	assert_int_equal(ss_audit_log(log, ss_key_public(s.key), NULL, &res), SS_CHECK_RECUSAL);
	assert_int_equal(res.entry, 5);
	ss_log_export_free(log);
	remove_dir(dir);
	scenario_free(&s);
}

/* Leaves: open (k1), rotation k1 -> k2, witness (k2); the checkpoint by k2. */
static void key_rotation_is_accepted_only_with_both_keys(void **state)
{
	struct scenario s;
	struct ss_key *k1, *k2;
	struct ss_record rot, w;
	struct ss_log_entry e[3];
	struct ss_log_export log;
	struct ss_check_result res;
	uint8_t *renc, rsig[SS_ROTATION_SIG_LEN], wsig[SS_SIG_LEN], *wenc, leaves[3][32], root[32];
	size_t rlen, wlen, cplen;
	char *text, *cp;

	scenario_init(&s);
	k1 = s.key;
	assert_int_equal(ss_key_new(&k2), 0);
	memset(&rot, 0, sizeof(rot));
	rot.type = SS_REC_KEY_ROTATION;
	memcpy(rot.old_key, ss_key_public(k1), 32);
	memcpy(rot.new_key, ss_key_public(k2), 32);
	rot.timestamp = 1780000050;
	assert_int_equal(ss_record_encode(&rot, &renc, &rlen), 0);
	assert_int_equal(ss_record_sign_rotation(k1, k2, renc, rlen, rsig), 0);
	/* The witness record after the rotation, signed by the new key. */
	s.key = k2;
	witness_record(&s, &w, "T-1", s.leaves[0]);
	assert_int_equal(ss_record_encode(&w, &wenc, &wlen), 0);
	assert_int_equal(ss_record_sign(k2, wenc, wlen, wsig), 0);
	memcpy(leaves[0], s.leaves[0], 32);
	ss_record_leaf_hash(renc, rlen, leaves[1]);
	ss_record_leaf_hash(wenc, wlen, leaves[2]);
	ss_merkle_root((const uint8_t(*)[32])leaves, 3, root);
	assert_int_equal(ss_checkpoint_format(ORIGIN, 3, root, &text, &cplen), 0);
	assert_int_equal(ss_note_sign(text, cplen, ORIGIN, k2, &cp, &cplen), 0);
	free(text);
	memset(e, 0, sizeof(e));
	e[0].rec = (struct ss_signed){s.rec[0], s.sig[0]};
	e[1].rec = (struct ss_signed){{renc, rlen}, {rsig, sizeof(rsig)}};
	e[2].rec = (struct ss_signed){{wenc, wlen}, {wsig, sizeof(wsig)}};
	log = (struct ss_log_export){3, e, {(const uint8_t *)cp, cplen}, NULL};
	assert_int_equal(ss_audit_log(&log, ss_key_public(k1), ORIGIN, &res), SS_CHECK_OK);
	/* The new key's half replaced by a signature of a third key: refused. */
	{
		struct ss_key *k3;

		assert_int_equal(ss_key_new(&k3), 0);
		assert_int_equal(ss_sig_sign(k3, "key-rotation", renc, rlen, rsig + SS_SIG_LEN), 0);
		assert_int_equal(ss_audit_log(&log, ss_key_public(k1), ORIGIN, &res),
				 SS_CHECK_KEY_ROTATION);
		assert_int_equal(res.entry, 1);
		ss_key_free(k3);
	}
	assert_int_equal(ss_record_sign_rotation(k1, k2, renc, rlen, rsig), 0);
	/* After the rotation the old key no longer signs. */
	assert_int_equal(ss_record_sign(k1, wenc, wlen, wsig), 0);
	assert_int_equal(ss_audit_log(&log, ss_key_public(k1), ORIGIN, &res), SS_CHECK_KEY);
	assert_int_equal(res.entry, 2);
	/* Starting from the wrong key: the first record already fails. */
	assert_int_equal(ss_record_sign(k2, wenc, wlen, wsig), 0);
	assert_int_equal(ss_audit_log(&log, ss_key_public(k2), ORIGIN, &res), SS_CHECK_KEY);
	assert_int_equal(res.entry, 0);
	free(renc);
	free(wenc);
	free(cp);
	s.key = k1;
	ss_key_free(k2);
	scenario_free(&s);
}

static void consistency_between_checkpoints(void **state)
{
	struct scenario s;
	uint8_t proof[SS_MERKLE_MAX_PROOF][32], *pf;
	size_t plen, pflen, old_len;
	char *old_cp, args[768], out[512], oldp[64], newp[64], pp[64], *dir;

	scenario_init(&s);
	make_checkpoint(&s, 3, &old_cp, &old_len);
	assert_int_equal(
	    ss_merkle_consistency_proof((const uint8_t(*)[32])s.leaves, 5, 3, proof, &plen), 0);
	assert_int_equal(
	    ss_consistency_encode(3, 5, (const uint8_t(*)[32])proof, plen, &pf, &pflen), 0);
	snprintf(oldp, sizeof(oldp), "%s", write_temp((uint8_t *)old_cp, old_len));
	snprintf(newp, sizeof(newp), "%s", write_temp((uint8_t *)s.checkpoint, s.checkpoint_len));
	snprintf(pp, sizeof(pp), "%s", write_temp(pf, pflen));
	snprintf(args, sizeof(args), "consistency '%s' '%s' --key %s --proof '%s'", oldp, newp,
		 s.pub, pp);
	assert_int_equal(run_verify(args, out, sizeof(out)), 0);
	assert_string_equal(out, "OK\n");
	/* Against a log export directory. */
	dir = make_dir();
	export_log(&s, 5, 0, dir);
	snprintf(args, sizeof(args), "consistency '%s' '%s' --key %s", oldp, dir, s.pub);
	assert_int_equal(run_verify(args, out, sizeof(out)), 0);
	/* A wrong proof hash. */
	proof[0][0] ^= 1;
	free(pf);
	assert_int_equal(
	    ss_consistency_encode(3, 5, (const uint8_t(*)[32])proof, plen, &pf, &pflen), 0);
	unlink(pp);
	assert_int_equal(ss_file_write_new(pp, pf, pflen), 0);
	snprintf(args, sizeof(args), "consistency '%s' '%s' --key %s --proof '%s'", oldp, newp,
		 s.pub, pp);
	assert_int_equal(run_verify(args, out, sizeof(out)), 5);
	assert_memory_equal(out, "FAILED consistency:", 19);
	/* An old checkpoint of another history: refused against the export too. */
	free(old_cp);
	s.leaves[1][0] ^= 1;
	make_checkpoint(&s, 3, &old_cp, &old_len);
	unlink(oldp);
	assert_int_equal(ss_file_write_new(oldp, (uint8_t *)old_cp, old_len), 0);
	snprintf(args, sizeof(args), "consistency '%s' '%s' --key %s", oldp, dir, s.pub);
	assert_int_equal(run_verify(args, out, sizeof(out)), 5);
	unlink(oldp);
	unlink(newp);
	unlink(pp);
	remove_dir(dir);
	free(pf);
	free(old_cp);
	scenario_free(&s);
}

/* docs/receipt.md §6: a record signature checked with stock openssl. */
static void openssl_pkeyutl_verifies_a_record_signature(void **state)
{
	static const uint8_t spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
						0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
	struct scenario s;
	struct ss_buf msg, der;
	uint8_t *m, *d;
	size_t mlen, dlen;
	char mp[64], sp[64], kp[64], cmd[512];
	int rc;

	/* deploy/install-deps.sh installs openssl (the PKI script needs it too). */
	if (system("openssl version >/dev/null 2>&1") != 0)
		fail_msg("the openssl tool is missing");
	scenario_init(&s);
	ss_buf_init(&msg, 0);
	ss_buf_puts(&msg, "shuangsui/v1/draw-record");
	ss_buf_putc(&msg, '\0');
	ss_buf_put(&msg, s.rec[2].data, s.rec[2].len);
	assert_int_equal(ss_buf_take(&msg, &m, &mlen), 0);
	ss_buf_init(&der, 0);
	ss_buf_put(&der, spki_prefix, sizeof(spki_prefix));
	ss_buf_put(&der, ss_key_public(s.key), 32);
	assert_int_equal(ss_buf_take(&der, &d, &dlen), 0);
	snprintf(mp, sizeof(mp), "%s", write_temp(m, mlen));
	snprintf(sp, sizeof(sp), "%s", write_temp(s.sigs[2] + 10, 64)); /* after "Ed" + key id */
	snprintf(kp, sizeof(kp), "%s", write_temp(d, dlen));
	snprintf(cmd, sizeof(cmd),
		 "openssl pkeyutl -verify -pubin -inkey '%s' -keyform DER -rawin -in '%s' "
		 "-sigfile '%s' >/dev/null 2>&1",
		 kp, mp, sp);
	rc = system(cmd);
	assert_int_equal(WEXITSTATUS(rc), 0);
	/* One byte of the record changed: openssl refuses too. */
	m[mlen - 3] ^= 1;
	unlink(mp);
	assert_int_equal(ss_file_write_new(mp, m, mlen), 0);
	rc = system(cmd);
	assert_int_not_equal(WEXITSTATUS(rc), 0);
	unlink(mp);
	unlink(sp);
	unlink(kp);
	free(m);
	free(d);
	scenario_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(good_receipt_verifies_with_the_binary),
	    cmocka_unit_test(every_flipped_bit_fails_the_check_of_its_section),
	    cmocka_unit_test(truncated_or_hostile_receipts_are_format_errors),
	    cmocka_unit_test(binary_names_the_failed_check_for_each_section),
	    cmocka_unit_test(dishonest_but_signed_draws_are_recomputed_and_refused),
	    cmocka_unit_test(exported_log_replays_and_a_changed_record_is_found),
	    cmocka_unit_test(replay_without_snapshots_still_checks_the_tree),
	    cmocka_unit_test(wrong_recusal_replacement_is_refused_on_replay),
	    cmocka_unit_test(key_rotation_is_accepted_only_with_both_keys),
	    cmocka_unit_test(consistency_between_checkpoints),
	    cmocka_unit_test(openssl_pkeyutl_verifies_a_record_signature),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
