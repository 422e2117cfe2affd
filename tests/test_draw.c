/*
 * test_draw.c — the draw (issue 5): snapshots, seed, selection, matching,
 * recusal, checked against hand-computed cases, against ticket.c, and
 * against tests/ticket_crosscheck.py --draw, an independent Python
 * statement of docs/draw-spec.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "draw.h"
#include "draw_int.h"
#include "record.h"
#include "ss_error.h"
#include "ticket.h"
#include "uscc.h"

static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const uint8_t zero32[32];
static const uint8_t key_id[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* The i-th well-formed credit code (GB 32100 check character), distinct for distinct i. */
static void credit_code(size_t i, char out[SS_USCC_LEN + 1])
{
	static const char *const divisions[] = {"110101", "310115", "440305", "330106", "510107"};
	uint64_t v = ((uint64_t)i * 7919 + 104729) % 26439622160671ULL;
	int p;

	memcpy(out, "91", 2);
	memcpy(out + 2, divisions[i % 5], 6);
	for (p = 16; p >= 8; p--) {
		out[p] = uscc_alphabet[v % 31];
		v /= 31;
	}
	out[17] = ss_uscc_check_char(out);
	out[18] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* n sorted distinct credit codes that ss_uscc_check accepts, in one allocation; free(). */
static const char **sorted_codes(size_t n, size_t offset)
{
	char **ids = malloc(n * (sizeof(char *) + SS_USCC_LEN + 1));
	char *text = (char *)(ids + n);
	size_t i, j = offset;

	assert_non_null(ids);
	for (i = 0; i < n; i++) {
		ids[i] = text + i * (SS_USCC_LEN + 1);
		/* Skip the few that look like a spreadsheet's "1.2E5" to ss_uscc_check. */
		do
			credit_code(j++, ids[i]);
		while (ss_uscc_check(ids[i], NULL) != 0);
	}
	qsort(ids, n, sizeof(*ids), cmp_str);
	return (const char **)ids;
}

static void base_input(struct ss_draw_input *in, const struct ss_draw_stratum *strata,
		       size_t n_strata, const struct ss_inspector *pool, size_t n_pool,
		       const struct ss_conflict *conf, size_t n_conf)
{
	static const uint8_t r[32] = {42};

	memset(in, 0, sizeof(*in));
	in->task = "T-2026-001";
	in->params = "items=A01,A02 scope=district";
	in->open_hash = zero32;
	in->strata = strata;
	in->n_strata = n_strata;
	in->pool = pool;
	in->n_pool = n_pool;
	in->conflicts = conf;
	in->n_conflicts = n_conf;
	in->group_size = 2;
	in->r = r;
	in->timestamp = 1780000000;
	in->key_id = key_id;
}

/* The candidate order for object under seed, computed with ss_ticket one by one. */
static void order_by_ticket(const char *seed, const char *object, int expert, const char **ids,
			    size_t n, struct ss_ticketed *out)
{
	char s[512];
	size_t i, j;
	struct ss_ticketed t;

	snprintf(s, sizeof(s), "%s|%s%s", seed, object, expert ? "|expert" : "");
	for (i = 0; i < n; i++) {
		out[i].id = ids[i];
		assert_int_equal(ss_ticket(s, ids[i], out[i].ticket), 0);
	}
	for (i = 1; i < n; i++) /* insertion sort: a few items */
		for (j = i; j > 0 && ss_ticketed_cmp(&out[j - 1], &out[j]) > 0; j--) {
			t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
}

static void known_ticket_values_hold(void **state)
{
	char out[SS_TICKET_MAX];
	static const char *const one[] = {"AB-130"};
	struct ss_ticketed sel[1];

	assert_int_equal(ss_sha256_uniform("abc", 3, out), 0);
	assert_string_equal(out, "0.56998071861792858926477341561059638840106636224182943832566300"
				 "809078486324348");
	assert_int_equal(ss_draw_select("01382438112797316654", one, 1, 1, sel), 1);
	assert_string_equal(sel[0].ticket, "0.2629971412283800841650754429754666359971539552515442"
					   "5586041245287750224561854");
}

/* The fast order of draw_match.c is ticket.c's order, for small and large k. */
static void fast_selection_equals_ticket_select(void **state)
{
	static const size_t ks[] = {1, 2, 50, 1249, 1250, 5000, 9999, 10000, 20000};
	const char **ids = sorted_codes(10000, 0);
	struct ss_ticketed *a = calloc(10000, sizeof(*a)), *b = calloc(10000, sizeof(*b));
	size_t j, i;

	assert_non_null(a);
	assert_non_null(b);
	for (j = 0; j < sizeof(ks) / sizeof(ks[0]); j++) {
		long n = ss_draw_select("fast-vs-ticket", ids, 10000, ks[j], a);

		assert_int_equal(n, ss_ticket_select("fast-vs-ticket", ids, 10000, ks[j], b));
		for (i = 0; i < (size_t)n; i++) {
			assert_string_equal(a[i].id, b[i].id);
			assert_string_equal(a[i].ticket, b[i].ticket);
		}
	}
	free(a);
	free(b);
	free(ids);
}

/* From 1,000,000 ids on, the selection runs in two threads and merges: same result. */
static void two_thread_selection_equals_ticket_select(void **state)
{
	static const size_t ks[] = {1, 3, 1000, 250000};
	const char **ids = sorted_codes(1000000, 0);
	struct ss_ticketed *a = calloc(250000, sizeof(*a)), *b = calloc(250000, sizeof(*b));
	size_t j, i;

	assert_non_null(a);
	assert_non_null(b);
	for (j = 0; j < sizeof(ks) / sizeof(ks[0]); j++) {
		long n = ss_draw_select("two-threads", ids, 1000000, ks[j], a);

		assert_int_equal(n, (long)ks[j]);
		assert_int_equal(ss_ticket_select("two-threads", ids, 1000000, ks[j], b), n);
		for (i = 0; i < (size_t)n; i++) {
			assert_string_equal(a[i].id, b[i].id);
			assert_string_equal(a[i].ticket, b[i].ticket);
		}
	}
	free(a);
	free(b);
	free(ids);
}

static void snapshot_digest_is_sha256_of_its_encoding(void **state)
{
	const char *ids[] = {"A", "B", "\xe9\xa1\xb9\xe7\x9b\xae-1"};
	struct ss_inspector pool[] = {{"I-1", 0}, {"I-2", 1}};
	struct ss_conflict conf[] = {{"I-1", "A"}, {"I-1", "B"}, {"I-2", "A"}};
	uint8_t *enc, d1[32], d2[32];
	size_t len;

	assert_int_equal(ss_snapshot_population_encode(ids, 3, &enc, &len), 0);
	assert_int_equal(len,
			 strlen("shuangsui/v1 population\nA\nB\n\xe9\xa1\xb9\xe7\x9b\xae-1\n"));
	assert_memory_equal(enc, "shuangsui/v1 population\nA\nB\n", 27);
	crypto_hash_sha256(d1, enc, len);
	free(enc);
	assert_int_equal(ss_snapshot_population_digest(ids, 3, d2), 0);
	assert_memory_equal(d1, d2, 32);
	assert_int_equal(ss_snapshot_pool_encode(pool, 2, &enc, &len), 0);
	assert_string_equal((char *)enc, "shuangsui/v1 inspectors\nI-1 regular\nI-2 expert\n");
	free(enc);
	assert_int_equal(ss_snapshot_conflicts_encode(conf, 3, &enc, &len), 0);
	assert_string_equal((char *)enc, "shuangsui/v1 conflicts\nI-1 A\nI-1 B\nI-2 A\n");
	free(enc);
}

static void unsorted_or_repeated_or_spaced_snapshots_are_refused(void **state)
{
	const char *unsorted[] = {"B", "A"}, *repeated[] = {"A", "A"}, *spaced[] = {"A B"};
	struct ss_conflict conf[] = {{"I-2", "A"}, {"I-1", "B"}};
	uint8_t d[32];
	char text[] = "shuangsui/v1 population\nA\nC\nB\n";
	const char **ids;
	size_t n;

	assert_int_equal(ss_snapshot_population_digest(unsorted, 2, d), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_snapshot_population_digest(repeated, 2, d), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_snapshot_population_digest(spaced, 1, d), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_snapshot_conflicts_digest(conf, 2, d), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_snapshot_population_parse(text, strlen(text), &ids, &n),
			 SS_ERR_MALFORMED_MESSAGE);
}

static void seed_changes_with_every_input(void **state)
{
	const uint8_t r[32] = {1}, r2[32] = {2};
	const char *names[] = {"S"};
	uint8_t dg[1][32] = {{7}};
	struct ss_witness w[] = {{"W-1", "12345678901234567890"}};
	struct ss_witness w2[] = {{"W-1", "12345678901234567891"}};
	char a[65], b[65];

	assert_int_equal(
	    ss_draw_seed("T", r, w, 1, names, (const uint8_t(*)[32])dg, 1, zero32, zero32, a), 0);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(
	    ss_draw_seed("T", r2, w, 1, names, (const uint8_t(*)[32])dg, 1, zero32, zero32, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(
	    ss_draw_seed("T", r, w2, 1, names, (const uint8_t(*)[32])dg, 1, zero32, zero32, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(
	    ss_draw_seed("U", r, w, 1, names, (const uint8_t(*)[32])dg, 1, zero32, zero32, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(
	    ss_draw_seed("T", r, w, 0, names, (const uint8_t(*)[32])dg, 1, zero32, zero32, b), 0);
	assert_string_not_equal(a, b);
	/* Fewer than 20 digits of dice is refused. */
	w2[0].entropy = "1234567890123456789";
	assert_int_equal(
	    ss_draw_seed("T", r, w2, 1, names, (const uint8_t(*)[32])dg, 1, zero32, zero32, b),
	    SS_ERR_BAD_REQUEST);
}

/*
 * Three regular inspectors, cap 1, group 2, two objects: the first object
 * takes the two best of its order, the second only the one left — a
 * shortfall of one, recorded, not filled.
 */
static void workload_cap_leaves_a_recorded_shortfall(void **state)
{
	const char *objs[] = {"OBJ-1", "OBJ-2"};
	struct ss_draw_stratum st = {"S", 2, objs, 2};
	struct ss_inspector pool[] = {{"I-1", 0}, {"I-2", 0}, {"I-3", 0}};
	const char *pids[] = {"I-1", "I-2", "I-3"};
	struct ss_ticketed order[3];
	struct ss_draw_input in;
	struct ss_record *d;
	const struct ss_rec_match *first, *second;
	size_t i;

	base_input(&in, &st, 1, pool, 3, NULL, 0);
	in.workload_cap = 1;
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	assert_int_equal(d->n_matches, 2);
	first = &d->matches[0];
	second = &d->matches[1];
	assert_int_equal(first->n_inspectors, 2);
	assert_int_equal(first->inspector_shortfall, 0);
	order_by_ticket(d->seed, first->object, 0, pids, 3, order);
	/* Leader first: the smallest ticket under seed "|" object. */
	assert_string_equal(first->inspectors[0], order[0].id);
	assert_string_equal(first->inspectors[1], order[1].id);
	assert_int_equal(second->n_inspectors, 1);
	assert_int_equal(second->inspector_shortfall, 1);
	assert_string_equal(second->inspectors[0], order[2].id);
	for (i = 0; i < 2; i++)
		assert_string_not_equal(second->inspectors[0], first->inspectors[i]);
	ss_record_free(d);
}

/* An inspector with a declared conflict is never matched to that object. */
static void conflicted_inspector_is_never_matched(void **state)
{
	const char *objs[] = {"OBJ-1"};
	struct ss_draw_stratum st = {"S", 1, objs, 1};
	struct ss_inspector pool[] = {{"I-1", 0}, {"I-2", 0}, {"I-3", 0}};
	const char *pids[] = {"I-1", "I-2", "I-3"};
	struct ss_ticketed order[3];
	struct ss_conflict conf[1];
	struct ss_draw_input in;
	struct ss_record *d;
	size_t i;

	/* First find who would lead without conflicts, then declare that one conflicted. */
	base_input(&in, &st, 1, pool, 3, NULL, 0);
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	order_by_ticket(d->seed, "OBJ-1", 0, pids, 3, order);
	assert_string_equal(d->matches[0].inspectors[0], order[0].id);
	conf[0].inspector = order[0].id;
	conf[0].object = "OBJ-1";
	ss_record_free(d);
	base_input(&in, &st, 1, pool, 3, conf, 1);
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	assert_int_equal(d->matches[0].n_inspectors, 2);
	for (i = 0; i < 2; i++)
		assert_string_not_equal(d->matches[0].inspectors[i], order[0].id);
	assert_string_equal(d->matches[0].inspectors[0], order[1].id);
	assert_string_equal(d->matches[0].inspectors[1], order[2].id);
	ss_record_free(d);
}

/* Experts come from the expert pool, in the order of seed "|" object "|expert". */
static void experts_use_their_own_pool_and_seed(void **state)
{
	const char *objs[] = {"OBJ-1"};
	struct ss_draw_stratum st = {"S", 1, objs, 1};
	struct ss_inspector pool[] = {{"E-1", 1}, {"E-2", 1}, {"E-3", 1}, {"I-1", 0}, {"I-2", 0}};
	const char *eids[] = {"E-1", "E-2", "E-3"};
	struct ss_ticketed order[3];
	struct ss_draw_input in;
	struct ss_record *d;

	base_input(&in, &st, 1, pool, 5, NULL, 0);
	in.experts_per_object = 2;
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	order_by_ticket(d->seed, "OBJ-1", 1, eids, 3, order);
	assert_int_equal(d->matches[0].n_experts, 2);
	assert_string_equal(d->matches[0].experts[0], order[0].id);
	assert_string_equal(d->matches[0].experts[1], order[1].id);
	assert_int_equal(d->matches[0].n_inspectors, 2); /* I-1 and I-2, the only regulars */
	ss_record_free(d);
	/* Asking for more experts than exist: a shortfall. */
	in.experts_per_object = 5;
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	assert_int_equal(d->matches[0].n_experts, 3);
	assert_int_equal(d->matches[0].expert_shortfall, 2);
	ss_record_free(d);
}

/*
 * Many objects (enough for the two-thread candidate prefixes) and a cap that
 * makes the walk run past the prefix: the result must be the single-object
 * walk's, checked here object by object with ss_ticket.
 */
static void cap_skips_beyond_the_prefix_follow_the_full_order(void **state)
{
	const char **objs = sorted_codes(300, 5000);
	struct ss_draw_stratum st = {"S", 300, objs, 300};
	struct ss_inspector pool[40];
	const char *pids[40];
	char names[40][8];
	struct ss_ticketed order[40];
	struct ss_draw_input in;
	struct ss_record *d;
	unsigned load[40] = {0};
	size_t x, i, j, got;

	for (i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "I-%02zu", i);
		pool[i].id = pids[i] = names[i];
		pool[i].expert = 0;
	}
	base_input(&in, &st, 1, pool, 40, NULL, 0);
	in.group_size = 3;
	in.workload_cap =
	    20; /* 900 places, 800 available: later objects skip many, then fall short */
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	for (x = 0; x < d->n_matches; x++) {
		const struct ss_rec_match *mt = &d->matches[x];

		order_by_ticket(d->seed, mt->object, 0, pids, 40, order);
		for (i = 0, got = 0; i < 40 && got < 3; i++) {
			for (j = 0; strcmp(pids[j], order[i].id) != 0; j++)
				;
			if (load[j] >= 20)
				continue;
			assert_true(got < mt->n_inspectors);
			assert_string_equal(mt->inspectors[got], order[i].id);
			load[j]++;
			got++;
		}
		assert_int_equal(mt->n_inspectors, got);
		assert_int_equal(mt->inspector_shortfall, 3 - got);
	}
	assert_int_not_equal(d->matches[299].inspector_shortfall, 0);
	ss_record_free(d);
	free(objs);
}

static struct ss_record recusal_record(const char *object, const char *inspector,
				       const char *replacement)
{
	struct ss_record r;

	memset(&r, 0, sizeof(r));
	r.type = SS_REC_RECUSAL;
	r.task = "T-2026-001";
	r.object = object;
	r.inspector = inspector;
	r.replacement = replacement;
	r.reason = "relative of the legal representative";
	r.timestamp = 1780000100;
	return r;
}

/* A recusal takes the next in the same order; later ones continue; then a shortfall. */
static void recusal_takes_the_next_in_order(void **state)
{
	const char *objs[] = {"OBJ-1"};
	struct ss_draw_stratum st = {"S", 1, objs, 1};
	struct ss_inspector pool[] = {{"I-1", 0}, {"I-2", 0}, {"I-3", 0}, {"I-4", 0}};
	const char *pids[] = {"I-1", "I-2", "I-3", "I-4"};
	struct ss_ticketed order[4];
	struct ss_draw_input in;
	struct ss_record *d, prior[3];
	const struct ss_record *pp[3] = {&prior[0], &prior[1], &prior[2]};
	const char *rep;

	base_input(&in, &st, 1, pool, 4, NULL, 0);
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	order_by_ticket(d->seed, "OBJ-1", 0, pids, 4, order);
	assert_string_equal(d->matches[0].inspectors[0], order[0].id);
	assert_string_equal(d->matches[0].inspectors[1], order[1].id);
	/* The leader recuses: the third in order replaces. */
	assert_int_equal(ss_draw_recusal(d, pool, 4, NULL, 0, NULL, 0, "OBJ-1", order[0].id, &rep),
			 0);
	assert_non_null(rep);
	assert_string_equal(rep, order[2].id);
	prior[0] = recusal_record("OBJ-1", order[0].id, rep);
	/* The replacement recuses too: the fourth; the first, recused before, is not taken back. */
	assert_int_equal(ss_draw_recusal(d, pool, 4, NULL, 0, pp, 1, "OBJ-1", order[2].id, &rep),
			 0);
	assert_non_null(rep);
	assert_string_equal(rep, order[3].id);
	prior[1] = recusal_record("OBJ-1", order[2].id, rep);
	/* Nobody is left: a shortfall. */
	assert_int_equal(ss_draw_recusal(d, pool, 4, NULL, 0, pp, 2, "OBJ-1", order[1].id, &rep),
			 0);
	assert_null(rep);
	/* Someone not in the group cannot be recused; nor can an object not drawn. */
	assert_int_equal(ss_draw_recusal(d, pool, 4, NULL, 0, pp, 2, "OBJ-1", order[0].id, &rep),
			 SS_ERR_NOT_FOUND);
	assert_int_equal(ss_draw_recusal(d, pool, 4, NULL, 0, pp, 2, "OBJ-9", order[1].id, &rep),
			 SS_ERR_NOT_FOUND);
	/* A prior recusal naming someone not in the group is refused. */
	prior[2] = recusal_record("OBJ-1", "I-9", NULL);
	assert_int_equal(
	    ss_draw_recusal(d, pool, 4, NULL, 0, &pp[2], 1, "OBJ-1", order[1].id, &rep),
	    SS_ERR_BAD_REQUEST);
	ss_record_free(d);
}

/* The replacement must be under the cap counting current assignments. */
static void recusal_respects_the_workload_cap(void **state)
{
	const char *objs[] = {"OBJ-1", "OBJ-2"};
	struct ss_draw_stratum st = {"S", 2, objs, 2};
	struct ss_inspector pool[] = {{"I-1", 0}, {"I-2", 0}, {"I-3", 0}, {"I-4", 0}};
	struct ss_draw_input in;
	struct ss_record *d;
	const char *rep, *recused;
	size_t i, j;
	int busy;

	base_input(&in, &st, 1, pool, 4, NULL, 0);
	in.workload_cap = 1;
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	/* Cap 1, four inspectors, two groups of two: everyone is busy; no replacement. */
	assert_int_equal(d->matches[0].n_inspectors + d->matches[1].n_inspectors, 4);
	recused = d->matches[0].inspectors[1];
	assert_int_equal(
	    ss_draw_recusal(d, pool, 4, NULL, 0, NULL, 0, d->matches[0].object, recused, &rep), 0);
	assert_null(rep);
	ss_record_free(d);
	/* Cap 2: someone from the other group may step in, if under the cap. */
	in.workload_cap = 2;
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	recused = d->matches[0].inspectors[0];
	assert_int_equal(
	    ss_draw_recusal(d, pool, 4, NULL, 0, NULL, 0, d->matches[0].object, recused, &rep), 0);
	assert_non_null(rep);
	for (j = 0, busy = 0; j < 2; j++)
		for (i = 0; i < d->matches[j].n_inspectors; i++)
			busy += strcmp(d->matches[j].inspectors[i], rep) == 0;
	assert_true(busy <= 1);
	assert_string_not_equal(rep, recused);
	assert_string_not_equal(rep, d->matches[0].inspectors[1]);
	ss_record_free(d);
}

static void drawn_object_in_two_strata_is_refused(void **state)
{
	const char *a[] = {"X"}, *b[] = {"X"};
	struct ss_draw_stratum st[] = {{"S1", 1, a, 1}, {"S2", 1, b, 1}};
	struct ss_inspector pool[] = {{"I-1", 0}, {"I-2", 0}};
	struct ss_draw_input in;
	struct ss_record *d;

	base_input(&in, st, 2, pool, 2, NULL, 0);
	assert_int_equal(ss_draw_compute(&in, &d), SS_ERR_BAD_REQUEST);
	in.n_strata = 1;
	in.group_size = 1;
	assert_int_equal(ss_draw_compute(&in, &d), SS_ERR_BAD_REQUEST);
}

/* ---- the independent Python statement of the spec ---- */

static void json_ids(FILE *f, const char *const *ids, size_t n)
{
	size_t i;

	fputc('[', f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", ids[i]);
	fputc(']', f);
}

struct py_case {
	struct ss_draw_input in;
	const char *const (*recusals)[2];
	size_t n_recusals;
};

static void write_case(FILE *f, const struct py_case *c)
{
	const struct ss_draw_input *in = &c->in;
	size_t i;

	fprintf(f, "{\"task\":\"%s\",\"r\":\"", in->task);
	for (i = 0; i < 32; i++)
		fprintf(f, "%02x", in->r[i]);
	fputs("\",\"witnesses\":[", f);
	for (i = 0; i < in->n_witnesses; i++)
		fprintf(f, "%s[\"%s\",\"%s\"]", i ? "," : "", in->witnesses[i].principal,
			in->witnesses[i].entropy);
	fputs("],\"strata\":[", f);
	for (i = 0; i < in->n_strata; i++) {
		fprintf(f, "%s[\"%s\",%llu,", i ? "," : "", in->strata[i].name,
			(unsigned long long)in->strata[i].k);
		json_ids(f, in->strata[i].ids, in->strata[i].n);
		fputc(']', f);
	}
	fputs("],\"pool\":[", f);
	for (i = 0; i < in->n_pool; i++)
		fprintf(f, "%s[\"%s\",%d]", i ? "," : "", in->pool[i].id, in->pool[i].expert);
	fputs("],\"conflicts\":[", f);
	for (i = 0; i < in->n_conflicts; i++)
		fprintf(f, "%s[\"%s\",\"%s\"]", i ? "," : "", in->conflicts[i].inspector,
			in->conflicts[i].object);
	fprintf(f, "],\"group_size\":%llu,\"experts\":%llu,\"cap\":%llu,\"recusals\":[",
		(unsigned long long)in->group_size, (unsigned long long)in->experts_per_object,
		(unsigned long long)in->workload_cap);
	for (i = 0; i < c->n_recusals; i++)
		fprintf(f, "%s[\"%s\",\"%s\"]", i ? "," : "", c->recusals[i][0], c->recusals[i][1]);
	fputs("]}", f);
}

/* The next line of the Python output must be expect. */
static void expect_line(FILE *py, char **line, size_t *cap, const char *expect)
{
	assert_true(getline(line, cap, py) > 0);
	assert_string_equal(*line, expect);
}

/* Formats "key object id id …\n" into out. */
static void id_line(char *out, size_t size, const char *key, const char *object,
		    const char *const *ids, size_t n)
{
	size_t i;
	int k = snprintf(out, size, "%s %s", key, object);

	for (i = 0; i < n; i++)
		k += snprintf(out + k, size - (size_t)k, " %s", ids[i]);
	snprintf(out + k, size - (size_t)k, "\n");
}

/*
 * Compares the C draw of c, line by line, with ticket_crosscheck.py --draw
 * run on c, or, when vector is not NULL, with the stored vector: vector.json
 * must then be exactly c's JSON, and vector.expected holds the lines.
 */
static void compare_draw(const struct py_case *c, const char *vector)
{
	char path[] = "/tmp/test_draw_XXXXXX", cmd[1024], *line = NULL, expect[1024], hex[65];
	struct ss_record *d;
	struct ss_record *recs = calloc(c->n_recusals + 1, sizeof(*recs));
	const struct ss_record **pp = calloc(c->n_recusals + 1, sizeof(*pp));
	const struct ss_draw_input *in = &c->in;
	size_t cap = 0, i, j, p, m;
	const char *rep;
	FILE *f, *py;
	int fd, status;

	assert_non_null(recs);
	assert_non_null(pp);
	assert_int_equal(ss_draw_compute(in, &d), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	write_case(f, c);
	assert_int_equal(fclose(f), 0);
	if (vector != NULL) {
		char *mine = NULL, *stored = NULL;
		size_t mine_len = 0, stored_cap = 0;
		FILE *mf = open_memstream(&mine, &mine_len);
		ssize_t got;

		assert_non_null(mf);
		write_case(mf, c);
		fputc('\n', mf);
		assert_int_equal(fclose(mf), 0);
		snprintf(cmd, sizeof(cmd), "%s/tests/vectors/draw/%s.json", SS_TEST_SOURCE_DIR,
			 vector);
		f = fopen(cmd, "r");
		assert_non_null(f);
		got = getline(&stored, &stored_cap, f);
		fclose(f);
		assert_true(got > 0);
		assert_string_equal(stored, mine); /* the vector's input is this case */
		free(stored);
		free(mine);
		snprintf(cmd, sizeof(cmd), "%s/tests/vectors/draw/%s.expected", SS_TEST_SOURCE_DIR,
			 vector);
		py = fopen(cmd, "r");
	} else {
		snprintf(cmd, sizeof(cmd), "python3 '%s/tests/ticket_crosscheck.py' --draw < '%s'",
			 SS_TEST_SOURCE_DIR, path);
		py = popen(cmd, "r");
	}
	assert_non_null(py);
	for (i = 0; i < d->n_strata; i++) {
		sodium_bin2hex(hex, sizeof(hex), d->strata[i].digest, 32);
		snprintf(expect, sizeof(expect), "digest %s\n", hex);
		expect_line(py, &line, &cap, expect);
	}
	sodium_bin2hex(hex, sizeof(hex), d->pool_digest, 32);
	snprintf(expect, sizeof(expect), "pool %s\n", hex);
	expect_line(py, &line, &cap, expect);
	sodium_bin2hex(hex, sizeof(hex), d->conflicts_digest, 32);
	snprintf(expect, sizeof(expect), "conflicts %s\n", hex);
	expect_line(py, &line, &cap, expect);
	snprintf(expect, sizeof(expect), "seed %s\n", d->seed);
	expect_line(py, &line, &cap, expect);
	for (i = 0; i < d->n_strata; i++)
		for (p = 0; p < d->strata[i].n_picks; p++) {
			snprintf(expect, sizeof(expect), "pick %s %s %s\n", d->strata[i].name,
				 d->strata[i].picks[p].ticket, d->strata[i].picks[p].id);
			expect_line(py, &line, &cap, expect);
		}
	for (m = 0; m < d->n_matches; m++) {
		const struct ss_rec_match *x = &d->matches[m];

		id_line(expect, sizeof(expect), "match", x->object, x->inspectors, x->n_inspectors);
		expect_line(py, &line, &cap, expect);
		if (in->experts_per_object > 0) {
			id_line(expect, sizeof(expect), "experts", x->object, x->experts,
				x->n_experts);
			expect_line(py, &line, &cap, expect);
		}
		if (x->inspector_shortfall > 0) {
			snprintf(expect, sizeof(expect), "shortfall %s inspectors %llu\n",
				 x->object, (unsigned long long)x->inspector_shortfall);
			expect_line(py, &line, &cap, expect);
		}
		if (x->expert_shortfall > 0) {
			snprintf(expect, sizeof(expect), "shortfall %s experts %llu\n", x->object,
				 (unsigned long long)x->expert_shortfall);
			expect_line(py, &line, &cap, expect);
		}
	}
	for (i = 0; i < c->n_recusals; i++) {
		assert_int_equal(ss_draw_recusal(d, in->pool, in->n_pool, in->conflicts,
						 in->n_conflicts,
						 (const struct ss_record *const *)pp, i,
						 c->recusals[i][0], c->recusals[i][1], &rep),
				 0);
		for (j = 0; j < in->n_pool; j++)
			if (strcmp(in->pool[j].id, c->recusals[i][1]) == 0)
				break;
		assert_true(j < in->n_pool);
		recs[i] = recusal_record(c->recusals[i][0], c->recusals[i][1], rep);
		recs[i].expert_role = in->pool[j].expert;
		pp[i] = &recs[i];
		snprintf(expect, sizeof(expect), "recusal %s %s %s\n", c->recusals[i][0],
			 c->recusals[i][1], rep != NULL ? rep : "shortfall");
		expect_line(py, &line, &cap, expect);
	}
	assert_int_equal(getline(&line, &cap, py), -1);
	if (vector != NULL) {
		fclose(py);
	} else {
		status = pclose(py);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	unlink(path);
	free(line);
	free(recs);
	free(pp);
	ss_record_free(d);
}

/* 10,000 credit codes, 2 strata, 40 inspectors with experts, conflicts, a cap, recusals. */
static void draw_matches_independent_python_statement_of_the_spec(void **state)
{
	const char **ids = sorted_codes(10000, 0), **ids2 = sorted_codes(3000, 20000);
	struct ss_draw_stratum st[2];
	struct ss_inspector pool[40];
	char names[40][16];
	struct ss_conflict conf[3];
	struct ss_witness w[] = {{"WIT-1", "31415926535897932384"},
				 {"WIT-2", "27182818284590452353602874"}};
	const char *(*rec)[2] = calloc(3, sizeof(*rec));
	struct py_case c;
	struct ss_record *d;
	size_t i;

	assert_non_null(rec);
	for (i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "INS-%03zu", i);
		pool[i].id = names[i];
		pool[i].expert = i % 5 == 0;
	}
	st[0] = (struct ss_draw_stratum){"enterprises", 25, ids, 10000};
	st[1] = (struct ss_draw_stratum){"projects", 10, ids2, 3000};
	base_input(&c.in, st, 2, pool, 40, conf, 0);
	c.in.witnesses = w;
	c.in.n_witnesses = 2;
	c.in.group_size = 3;
	c.in.experts_per_object = 1;
	c.in.workload_cap = 3;
	/* Conflicts and recusals on objects that are drawn: compute once to learn them. */
	assert_int_equal(ss_draw_compute(&c.in, &d), 0);
	conf[0] = (struct ss_conflict){d->matches[0].inspectors[0], d->matches[0].object};
	conf[1] = (struct ss_conflict){d->matches[3].inspectors[1], d->matches[3].object};
	conf[2] = (struct ss_conflict){d->matches[3].inspectors[1], d->matches[5].object};
	qsort(conf, 3, sizeof(conf[0]), (int (*)(const void *, const void *))ss_conflict_cmp);
	c.in.n_conflicts = 3;
	ss_record_free(d);
	assert_int_equal(ss_draw_compute(&c.in, &d), 0);
	rec[0][0] = d->matches[1].object;
	rec[0][1] = d->matches[1].inspectors[0];
	rec[1][0] = d->matches[2].object;
	rec[1][1] = d->matches[2].experts[0];
	rec[2][0] = d->matches[1].object;
	rec[2][1] = d->matches[1].inspectors[1];
	c.recusals = (const char *const(*)[2])rec;
	c.n_recusals = 3;
	compare_draw(&c, NULL);
	ss_record_free(d);
	/* A waiver, no witnesses, no experts, a cap of 1, a small pool: shortfalls everywhere. */
	base_input(&c.in, st, 2, pool, 6, NULL, 0);
	c.in.group_size = 2;
	c.in.workload_cap = 1;
	c.in.waiver_principal = "LEGAL-1";
	c.in.waiver_reason = "no supervisor present";
	c.n_recusals = 0;
	compare_draw(&c, NULL);
	free(rec);
	free(ids);
	free(ids2);
}

/* tests/vectors/draw/small: the worked example of docs/draw-spec.md §10. */
static void draw_equals_the_stored_vector(void **state)
{
	static const char *const entities[] = {
	    "91110101MA0000001X", "91110101MA00000028", "91110105MA00000451", "91310115MA000003XA",
	    "91330106MA0000061T", "91440305MA00000445", "91510107MA0000071L", "92110101MA0000081M"};
	static const char *const projects[] = {"P-2026-0001", "P-2026-0002", "P-2026-0003",
					       "P-2026-0004"};
	static const char *const recusals[][2] = {{"91440305MA00000445", "I-03"},
						  {"P-2026-0004", "I-01"}};
	struct ss_draw_stratum st[2] = {{"entities", 3, entities, 8}, {"projects", 2, projects, 4}};
	struct ss_inspector pool[] = {{"E-01", 1}, {"E-02", 1}, {"I-01", 0},
				      {"I-02", 0}, {"I-03", 0}, {"I-04", 0}};
	struct ss_conflict conf[] = {{"I-02", "91110101MA0000001X"}};
	struct ss_witness w[] = {{"SUP-01", "35142265316654123362"}};
	uint8_t r[32];
	struct py_case c;
	size_t i;

	for (i = 0; i < 32; i++)
		r[i] = (uint8_t)(i + 1);
	base_input(&c.in, st, 2, pool, 6, conf, 1);
	c.in.task = "T-2026-0042";
	c.in.r = r;
	c.in.witnesses = w;
	c.in.n_witnesses = 1;
	c.in.group_size = 2;
	c.in.experts_per_object = 1;
	c.in.workload_cap = 2;
	c.recusals = recusals;
	c.n_recusals = 2;
	compare_draw(&c, "small");
	/* And the independent Python statement agrees with the stored lines too. */
	compare_draw(&c, NULL);
}

/* 10,000 credit codes: the selection equals the Python order's first k (ticket mode). */
static void selection_matches_python_ticket_order_on_10000_codes(void **state)
{
	const char **ids = sorted_codes(10000, 0);
	struct ss_ticketed *sel = calloc(700, sizeof(*sel));
	char path[] = "/tmp/test_draw_sel_XXXXXX", cmd[1024], expect[256], *line = NULL;
	size_t cap = 0, i;
	FILE *f, *py;
	int fd;

	assert_non_null(sel);
	assert_int_equal(ss_draw_select("2f1c0a9d", ids, 10000, 700, sel), 700);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "2f1c0a9d\n");
	for (i = 0; i < 10000; i++)
		fprintf(f, "%s\n", ids[i]);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "python3 '%s/tests/ticket_crosscheck.py' < '%s'",
		 SS_TEST_SOURCE_DIR, path);
	py = popen(cmd, "r");
	assert_non_null(py);
	for (i = 0; i < 700; i++) {
		assert_true(getline(&line, &cap, py) > 0);
		snprintf(expect, sizeof(expect), "%s\t%s\n", sel[i].id, sel[i].ticket);
		assert_string_equal(line, expect);
	}
	while (getline(&line, &cap, py) > 0)
		;
	assert_int_equal(pclose(py), 0);
	unlink(path);
	free(line);
	free(sel);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(known_ticket_values_hold),
	    cmocka_unit_test(fast_selection_equals_ticket_select),
	    cmocka_unit_test(two_thread_selection_equals_ticket_select),
	    cmocka_unit_test(snapshot_digest_is_sha256_of_its_encoding),
	    cmocka_unit_test(unsorted_or_repeated_or_spaced_snapshots_are_refused),
	    cmocka_unit_test(seed_changes_with_every_input),
	    cmocka_unit_test(workload_cap_leaves_a_recorded_shortfall),
	    cmocka_unit_test(conflicted_inspector_is_never_matched),
	    cmocka_unit_test(experts_use_their_own_pool_and_seed),
	    cmocka_unit_test(cap_skips_beyond_the_prefix_follow_the_full_order),
	    cmocka_unit_test(recusal_takes_the_next_in_order),
	    cmocka_unit_test(recusal_respects_the_workload_cap),
	    cmocka_unit_test(drawn_object_in_two_strata_is_refused),
	    cmocka_unit_test(draw_matches_independent_python_statement_of_the_spec),
	    cmocka_unit_test(draw_equals_the_stored_vector),
	    cmocka_unit_test(selection_matches_python_ticket_order_on_10000_codes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
