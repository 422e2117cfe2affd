/*
 * draw_micro.c (ss-bench-draw) — micro-benchmarks of the draw, run by
 * bench/draw-bench.sh (about 1 GB of memory; not a test: speed is measured
 * in benchmarks).
 *
 *  1. 200,000 drawn of one stratum of 4,000,000 credit codes, pool of 20:
 *     the draw computed, then the receipt verified by shuangsui-verify
 *     (the acceptance: under 2 s), and by the library.
 *  2. 10,000 drawn of 1,000,000 with 2,000 inspectors, 2 per object.
 *
 * Prints the timings and whether the 2 s target of the receipt is met; the
 * results themselves (a receipt that verifies, 10,000 groups) are asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit.h"
#include "draw.h"
#include "merkle.h"
#include "note.h"
#include "receipt.h"
#include "record.h"
#include "uscc.h"

#define ORIGIN "shuangsui.example/log"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* n distinct, sorted credit codes with valid check characters (one block; free()). */
static const char **codes(size_t n)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	char **ids = malloc(n * (sizeof(char *) + 19)), *text = (char *)(ids + n);
	size_t i;
	uint64_t v;
	int p;

	assert_non_null(ids);
	for (i = 0; i < n; i++) {
		ids[i] = text + 19 * i;
		memcpy(ids[i], "91110101", 8);
		v = (uint64_t)i * 2654435761u % 26439622160671ULL;
		for (p = 16; p >= 8; p--) {
			ids[i][p] = alphabet[v % 31];
			v /= 31;
		}
		ids[i][17] = ss_uscc_check_char(ids[i]);
		ids[i][18] = '\0';
	}
	qsort(ids, n, sizeof(*ids), cmp_str);
	return (const char **)ids;
}

static void sign(struct ss_key *k, const struct ss_record *r, struct ss_blob *rec,
		 uint8_t sig[SS_SIG_LEN])
{
	uint8_t *enc;
	size_t len;

	assert_int_equal(ss_record_encode(r, &enc, &len), 0);
	assert_int_equal(ss_record_sign(k, enc, len, sig), 0);
	rec->data = enc;
	rec->len = len;
}

static void receipt_of_200000_of_4000000_verifies_in_under_2s(void **state)
{
	const size_t n = 4000000, k = 200000;
	const char **ids = codes(n);
	struct ss_inspector pool[20];
	char names[20][8];
	struct ss_witness w = {"SUP-01", "12345654321234565432"};
	struct ss_draw_stratum st = {"entities", k, ids, n};
	struct ss_rec_stratum ost;
	struct ss_rec_witness ow = {"SUP-01", NULL};
	struct ss_record o, *d;
	struct ss_draw_input in;
	struct ss_key *key;
	struct ss_blob rec[2], pop, insp, conf;
	uint8_t sig[2][SS_SIG_LEN], r[32] = {7}, leaves[2][32], root[32];
	uint8_t proof[SS_MERKLE_MAX_PROOF][32], *rc;
	struct ss_receipt receipt;
	struct ss_check_result res;
	char *text, *note, pub[SS_SIG_PUBLIC_KEY_STR_LEN + 1], path[] = "/tmp/perf_draw_XXXXXX";
	char cmd[512];
	size_t i, len, plen;
	double t0, t_compute, t_lib, t_bin;
	int fd, status;

	for (i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "I-%02zu", i);
		pool[i].id = names[i];
		pool[i].expert = 0;
	}
	assert_int_equal(ss_key_new(&key), 0);
	ss_key_public_string(key, pub);
	memset(&o, 0, sizeof(o));
	o.type = SS_REC_DRAW_OPEN;
	o.task = "T-PERF";
	o.params = "city-wide annual plan";
	o.group_size = 2;
	o.pool_size = 20;
	assert_int_equal(ss_snapshot_pool_digest(pool, 20, o.pool_digest), 0);
	assert_int_equal(ss_snapshot_conflicts_digest(NULL, 0, o.conflicts_digest), 0);
	memset(&ost, 0, sizeof(ost));
	ost.name = "entities";
	ost.k = k;
	ost.size = n;
	assert_int_equal(ss_snapshot_population_digest(ids, n, ost.digest), 0);
	o.n_strata = 1;
	o.strata = &ost;
	ss_draw_commitment(r, o.commitment);
	o.n_witnesses = 1;
	o.witnesses = &ow;
	o.timestamp = 1780000000;
	memcpy(o.key_id, ss_key_id(key), 8);
	sign(key, &o, &rec[0], sig[0]);
	ss_record_leaf_hash(rec[0].data, rec[0].len, leaves[0]);

	memset(&in, 0, sizeof(in));
	in.task = "T-PERF";
	in.params = o.params;
	in.open_hash = leaves[0];
	in.strata = &st;
	in.n_strata = 1;
	in.pool = pool;
	in.n_pool = 20;
	in.group_size = 2;
	in.r = r;
	in.witnesses = &w;
	in.n_witnesses = 1;
	in.waiver_principal = "LEGAL-01";
	in.waiver_reason = "witness record omitted from this benchmark receipt";
	in.timestamp = 1780000100;
	in.key_id = ss_key_id(key);
	t0 = now();
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	t_compute = now() - t0;
	sign(key, d, &rec[1], sig[1]);
	ss_record_leaf_hash(rec[1].data, rec[1].len, leaves[1]);
	ss_merkle_root((const uint8_t(*)[32])leaves, 2, root);
	assert_int_equal(ss_checkpoint_format(ORIGIN, 2, root, &text, &len), 0);
	assert_int_equal(ss_note_sign(text, len, ORIGIN, key, &note, &len), 0);
	assert_int_equal(
	    ss_merkle_inclusion_proof((const uint8_t(*)[32])leaves, 2, 1, proof, &plen), 0);
	assert_int_equal(ss_snapshot_population_encode(ids, n, (uint8_t **)&pop.data, &pop.len), 0);
	assert_int_equal(ss_snapshot_pool_encode(pool, 20, (uint8_t **)&insp.data, &insp.len), 0);
	assert_int_equal(ss_snapshot_conflicts_encode(NULL, 0, (uint8_t **)&conf.data, &conf.len),
			 0);
	memset(&receipt, 0, sizeof(receipt));
	receipt.open = (struct ss_signed){rec[0], {sig[0], SS_SIG_LEN}};
	receipt.draw = (struct ss_signed){rec[1], {sig[1], SS_SIG_LEN}};
	/* The waiver record, signed, so that the receipt is complete. */
	{
		struct ss_record wv;
		static uint8_t wvsig[SS_SIG_LEN];

		memset(&wv, 0, sizeof(wv));
		wv.type = SS_REC_WITNESS_WAIVER;
		wv.task = "T-PERF";
		memcpy(wv.open_hash, leaves[0], 32);
		wv.principal = in.waiver_principal;
		wv.reason = in.waiver_reason;
		wv.timestamp = 1780000050;
		memcpy(wv.key_id, ss_key_id(key), 8);
		sign(key, &wv, &receipt.waiver.record, wvsig);
		receipt.waiver.sig = (struct ss_blob){wvsig, SS_SIG_LEN};
		receipt.has_waiver = 1;
	}
	/* The draw has one contribution but no witness record here: add it. */
	{
		struct ss_record wr;
		static struct ss_signed ws;
		static uint8_t wsig[SS_SIG_LEN];

		memset(&wr, 0, sizeof(wr));
		wr.type = SS_REC_WITNESS;
		wr.task = "T-PERF";
		memcpy(wr.open_hash, leaves[0], 32);
		wr.principal = w.principal;
		wr.entropy = w.entropy;
		wr.timestamp = 1780000060;
		memcpy(wr.key_id, ss_key_id(key), 8);
		sign(key, &wr, &ws.record, wsig);
		ws.sig = (struct ss_blob){wsig, SS_SIG_LEN};
		receipt.n_witnesses = 1;
		receipt.witnesses = &ws;
	}
	receipt.checkpoint = (struct ss_blob){(const uint8_t *)note, len};
	receipt.leaf_index = 1;
	receipt.tree_size = 2;
	receipt.proof = (const uint8_t(*)[32])proof;
	receipt.proof_len = plen;
	receipt.n_populations = 1;
	receipt.populations = &pop;
	receipt.inspectors = insp;
	receipt.conflicts = conf;
	assert_int_equal(ss_receipt_encode(&receipt, &rc, &len), 0);

	t0 = now();
	assert_int_equal(ss_audit_receipt(rc, len, ss_key_public(key), ORIGIN, &res), SS_CHECK_OK);
	t_lib = now() - t0;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rc, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "'%s' receipt '%s' --key %s >/dev/null", SS_TEST_VERIFY_PATH,
		 path, pub);
	t0 = now();
	status = system(cmd);
	t_bin = now() - t0;
	assert_int_equal(WEXITSTATUS(status), 0);
	if (getenv("PERF_DRAW_KEEP") != NULL) /* for profiling: keep the receipt */
		printf("receipt kept: %s --key %s\n", path, pub);
	else
		unlink(path);
	printf("200,000 of 4,000,000 (pool 20, group 2): draw computed in %.2f s; draw record "
	       "%zu bytes; receipt %zu bytes verified in %.2f s (library), %.2f s "
	       "(shuangsui-verify, reading the file included)\n",
	       t_compute, rec[1].len, len, t_lib, t_bin);
	printf("offline verification of (b): %.2f s, target < 2 s: %s\n", t_bin,
	       t_bin < 2.0 ? "met" : "NOT met");
	free(rc);
	free(text);
	free(note);
	free((void *)pop.data);
	free((void *)insp.data);
	free((void *)conf.data);
	free((void *)rec[0].data);
	free((void *)rec[1].data);
	free((void *)receipt.waiver.record.data);
	free((void *)receipt.witnesses[0].record.data);
	ss_record_free(d);
	ss_key_free(key);
	free(ids);
}

static void matching_10000_objects_with_2000_inspectors(void **state)
{
	const char **ids = codes(1000000);
	struct ss_inspector *pool = calloc(2000, sizeof(*pool));
	char(*names)[12] = calloc(2000, 12);
	struct ss_draw_stratum st = {"entities", 10000, ids, 1000000};
	struct ss_draw_input in;
	struct ss_record *d;
	uint8_t r[32] = {9}, h[32] = {0}, kid[8] = {0};
	size_t i;
	double t0, t;

	for (i = 0; i < 2000; i++) {
		snprintf(names[i], 12, "I-%04zu", i);
		pool[i].id = names[i];
	}
	memset(&in, 0, sizeof(in));
	in.task = "T-PERF-2";
	in.params = "p";
	in.open_hash = h;
	in.strata = &st;
	in.n_strata = 1;
	in.pool = pool;
	in.n_pool = 2000;
	in.group_size = 2;
	in.workload_cap = 12;
	in.r = r;
	in.timestamp = 1780000000;
	in.key_id = kid;
	t0 = now();
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	t = now() - t0;
	printf("10,000 of 1,000,000 with 2,000 inspectors, 2 per object, cap 12 (20,000,000 "
	       "tickets): %.2f s\n",
	       t);
	assert_int_equal(d->n_matches, 10000);
	ss_record_free(d);
	free(names);
	free(pool);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(receipt_of_200000_of_4000000_verifies_in_under_2s),
	    cmocka_unit_test(matching_10000_objects_with_2000_inspectors),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
