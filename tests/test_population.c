/*
 * test_population.c — the draw's population from the versions it reads
 * (server/population.c): each record's latest version, the objects drawn
 * annual-cap times this year (rows of version 0) and those a plan rule
 * excludes (version -1) dropped, strata in id order — whatever order the
 * rows come in: one sorted run, two (a synchronized scan starting in the
 * middle of the table), versions appended later, rows of a parallel scan
 * interleaved, or no order at all.
 * Each case is checked against a brute-force computation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "population.h"
#include "ss_error.h"

#define NS 3

struct row {
	char id[32];
	int version;
	int stratum; /* -1: NULL */
};

/* The rows as the draw's read returns them: binary results, version and
 * stratum int4 (big-endian). */
static PGresult *result_of(const struct row *rows, size_t n)
{
	PGresAttDesc att[3];
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	static char *names[3] = {"record_id", "version", "stratum"};
	size_t i;
	int k;

	assert_non_null(res);
	memset(att, 0, sizeof(att));
	for (k = 0; k < 3; k++) {
		att[k].name = names[k];
		att[k].format = 1;
		att[k].typlen = k == 0 ? -1 : 4;
		att[k].atttypmod = -1;
	}
	assert_int_equal(PQsetResultAttrs(res, 3, att), 1);
	for (i = 0; i < n; i++) {
		char v[4], s[4];

		for (k = 0; k < 4; k++) {
			v[k] = (char)((uint32_t)rows[i].version >> (24 - 8 * k));
			s[k] = (char)((uint32_t)rows[i].stratum >> (24 - 8 * k));
		}
		assert_int_equal(PQsetvalue(res, (int)i, 0, (char *)rows[i].id, (int)strlen(rows[i].id)), 1);
		assert_int_equal(PQsetvalue(res, (int)i, 1, v, 4), 1);
		if (rows[i].stratum < 0)
			assert_int_equal(PQsetvalue(res, (int)i, 2, NULL, -1), 1);
		else
			assert_int_equal(PQsetvalue(res, (int)i, 2, s, 4), 1);
	}
	return res;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The population by brute force: for each id, its largest version; kept
 * if fewer than cap rows of version 0 (cap 0: any number) and no row of
 * version -1 name it, and that version has a stratum. */
static void expected(const struct row *rows, size_t n, long cap, const char **ids, size_t *first)
{
	const char **b[NS];
	size_t nb[NS] = {0}, i, j, s, o = 0;

	for (s = 0; s < NS; s++)
		b[s] = calloc(n + 1, sizeof(*b[s]));
	for (i = 0; i < n; i++) {
		int latest = 1, excluded = 0;
		long drawn = 0;

		if (rows[i].version <= 0)
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(rows[j].id, rows[i].id) == 0) {
				if (rows[j].version > rows[i].version)
					latest = 0;
				drawn += rows[j].version == 0;
				if (rows[j].version == -1)
					excluded = 1;
			}
		if (cap > 0 && drawn >= cap)
			excluded = 1;
		if (latest && !excluded && rows[i].stratum >= 0)
			b[rows[i].stratum][nb[rows[i].stratum]++] = rows[i].id;
	}
	for (s = 0; s < NS; s++) {
		qsort(b[s], nb[s], sizeof(*b[s]), id_cmp);
		first[s] = o;
		for (i = 0; i < nb[s]; i++)
			ids[o++] = b[s][i];
		free(b[s]);
	}
	first[NS] = o;
}

static void check_cap(const struct row *rows, size_t n, long cap)
{
	PGresult *res = result_of(rows, n);
	const char **got = calloc(n + 1, sizeof(*got)), **want = calloc(n + 1, sizeof(*want));
	size_t gf[NS + 1], wf[NS + 1], i;

	assert_int_equal(ss_population_latest(res, NS, cap, got, gf), 0);
	expected(rows, n, cap, want, wf);
	for (i = 0; i <= NS; i++)
		assert_int_equal(gf[i], wf[i]);
	for (i = 0; i < wf[NS]; i++)
		assert_string_equal(got[i], want[i]);
	free(got);
	free(want);
	PQclear(res);
}

/* Under an annual cap of 2, of 1, and none. */
static void check(const struct row *rows, size_t n)
{
	check_cap(rows, n, 2);
	check_cap(rows, n, 1);
	check_cap(rows, n, 0);
}

/* n records "E000001"..., in id order, strata by id, every 7th inactive;
 * then versions appended for some (moved out, changed stratum), rows of
 * version 0 (drawn this year) once for some and twice for others, and of
 * version -1 (a plan rule) for others. */
static const char *id_prefix = "E";

static struct row *fixture(size_t n, size_t *total)
{
	struct row *r = calloc(n + n / 2 + 16, sizeof(*r));
	size_t i, m = 0;

	for (i = 0; i < n; i++, m++) {
		snprintf(r[m].id, sizeof(r[m].id), "%s%06zu", id_prefix, i + 1);
		r[m].version = 1;
		r[m].stratum = i % 7 == 0 ? -1 : (int)(i % NS);
	}
	for (i = 3; i < n; i += 11, m++) { /* a second version */
		snprintf(r[m].id, sizeof(r[m].id), "%s%06zu", id_prefix, i + 1);
		r[m].version = 2;
		r[m].stratum = i % 2 ? -1 : (int)((i + 1) % NS);
	}
	for (i = 5; i < n; i += 13, m++) { /* drawn once this year */
		snprintf(r[m].id, sizeof(r[m].id), "%s%06zu", id_prefix, i + 1);
		r[m].version = 0;
		r[m].stratum = -1;
	}
	for (i = 5; i < n; i += 26, m++) { /* of those, every other one twice */
		snprintf(r[m].id, sizeof(r[m].id), "%s%06zu", id_prefix, i + 1);
		r[m].version = 0;
		r[m].stratum = -1;
	}
	for (i = 8; i < n; i += 17, m++) { /* excluded by a plan rule */
		snprintf(r[m].id, sizeof(r[m].id), "%s%06zu", id_prefix, i + 1);
		r[m].version = -1;
		r[m].stratum = -1;
	}
	snprintf(r[m].id, sizeof(r[m].id), "X-drawn-no-record");
	r[m].version = 0;
	r[m++].stratum = -1;
	snprintf(r[m].id, sizeof(r[m].id), "X-rule-no-record");
	r[m].version = -1;
	r[m++].stratum = -1;
	*total = m;
	return r;
}

static void one_sorted_run(void **state)
{
	struct row r[] = {{"A", 1, 0}, {"B", 2, 1}, {"B", 1, 0}, {"C", 1, 2}, {"D", 1, -1}};
	size_t n = 0;
	struct row *big;

	(void)state;
	check(r, 5);
	big = fixture(5000, &n);
	check(big, 5000); /* only first versions, in order */
	free(big);
}

static void versions_and_exclusions_appended(void **state)
{
	size_t n;
	struct row *r = fixture(5000, &n);

	(void)state;
	check(r, n);
	free(r);
}

static void two_runs_from_a_synchronized_scan(void **state)
{
	size_t n, cut = 1700;
	struct row *r = fixture(5000, &n), *rot = calloc(n, sizeof(*rot));

	(void)state;
	/* The scan starts at row cut, wraps around, then the appended rows. */
	memcpy(rot, r + cut, (5000 - cut) * sizeof(*r));
	memcpy(rot + 5000 - cut, r, cut * sizeof(*r));
	memcpy(rot + 5000, r + 5000, (n - 5000) * sizeof(*r));
	check(rot, n);
	free(r);
	free(rot);
}

static void no_order_at_all(void **state)
{
	size_t n, i;
	struct row *r = fixture(5000, &n), t;
	unsigned x = 12345;

	(void)state;
	for (i = n - 1; i > 0; i--) {
		size_t j;

		x = x * 1103515245u + 12345u;
		j = (x >> 8) % (i + 1);
		t = r[i];
		r[i] = r[j];
		r[j] = t;
	}
	check(r, n);
	free(r);
}

/* A parallel scan: three workers each return their blocks in table order
 * (chunks of rows dealt round-robin), interleaved row by row at random,
 * then the versions and exclusions appended.  No long run is left. */
static void interleaved_by_a_parallel_scan(void **state)
{
	size_t n, i, k, take[3] = {0}, len[3] = {0}, w;
	struct row *r = fixture(5000, &n), *out = calloc(n, sizeof(*out)), *seq[3];
	unsigned x = 777;

	(void)state;
	for (k = 0; k < 3; k++)
		seq[k] = calloc(5000, sizeof(*seq[k]));
	for (i = 0; i < 5000; i++) {
		k = i / 37 % 3;
		seq[k][len[k]++] = r[i];
	}
	for (i = 0; i < 5000; i++) {
		do {
			x = x * 1103515245u + 12345u;
			w = (x >> 8) % 3;
		} while (take[w] == len[w]);
		out[i] = seq[w][take[w]++];
	}
	memcpy(out + 5000, r + 5000, (n - 5000) * sizeof(*r));
	check(out, n);
	for (k = 0; k < 3; k++)
		free(seq[k]);
	free(out);
	free(r);
}

/* From a million rows on they are read, the other rows sorted and the runs
 * joined in two threads: the same result under a cap of 1 and of 2, and a
 * row the query cannot give in the second half is refused.  1,100,000
 * records in order; then, in descending order, 150,000 rows of version 0
 * (drawn once) and 100,000 second versions that leave every stratum. */
static void a_million_rows(void **state)
{
	size_t n = 1100000, m = n, i, s, first[NS + 1];
	struct row *r = calloc(n + 250000, sizeof(*r));
	const char **ids = calloc(n + 250000, sizeof(*ids));
	long cap;
	PGresult *res;

	(void)state;
	for (i = 0; i < n; i++) {
		snprintf(r[i].id, sizeof(r[i].id), "E%07zu", i);
		r[i].version = 1;
		r[i].stratum = i % 7 == 0 ? -1 : (int)(i % NS);
	}
	for (i = 150000; i-- > 0; m++) {
		snprintf(r[m].id, sizeof(r[m].id), "E%07zu", 7 * i + 3);
		r[m].version = 0;
		r[m].stratum = -1;
	}
	for (i = 100000; i-- > 0; m++) {
		snprintf(r[m].id, sizeof(r[m].id), "E%07zu", 11 * i + 5);
		r[m].version = 2;
		r[m].stratum = -1;
	}
	res = result_of(r, m);
	for (cap = 1; cap <= 2; cap++) {
		assert_int_equal(ss_population_latest(res, NS, cap, ids, first), 0);
		for (s = 0; s < NS; s++) {
			size_t k, want = 0;

			for (k = s; k < n; k += NS)
				want += k % 7 != 0 && !(k % 11 == 5 && k < 1100000) &&
					!(cap == 1 && k % 7 == 3 && k < 7 * 150000);
			assert_int_equal(first[s + 1] - first[s], want);
		}
		for (s = 0; s < NS; s++)
			for (i = first[s] + 1; i < first[s + 1]; i++)
				assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	}
	PQclear(res);
	r[n - 1].stratum = NS;
	res = result_of(r, m);
	assert_int_equal(ss_population_latest(res, NS, 2, ids, first), SS_ERR_INTERNAL);
	PQclear(res);
	free(r);
	free(ids);
}

/* An object drawn twice this year is out under a cap of 2, in under 3. */
static void the_cap_counts_draws(void **state)
{
	struct row r[] = {{"A", 0, -1}, {"A", 1, 0}, {"B", 1, 0}, {"A", 0, -1}, {"B", 0, -1}};
	PGresult *res = result_of(r, 5);
	const char *ids[5];
	size_t first[NS + 1];

	(void)state;
	assert_int_equal(ss_population_latest(res, NS, 2, ids, first), 0);
	assert_int_equal(first[1], 1);
	assert_string_equal(ids[0], "B");
	assert_int_equal(ss_population_latest(res, NS, 3, ids, first), 0);
	assert_int_equal(first[1], 2);
	assert_string_equal(ids[0], "A");
	assert_string_equal(ids[1], "B");
	PQclear(res);
}

/* Ids compared past their first 24 bytes (all alike here), and ids of
 * every length up to and beyond 24, some the prefix of another. */
static void long_and_short_ids(void **state)
{
	static const char *const ids[] = {"A", "AB", "ABCDEFG", "ABCDEFGH", "ABCDEFGHI",
					  "ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOPQ",
					  "ABCDEFGHIJKLMNOPA", "ABCDEFGHIJKLMNOPQR", "ABCDEFGHIJKLMNOPQ0",
					  "ABCDEFGHIJKLMNOQ", "B", "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
					  "ABCDEFGHIJKLMNOPQRSTUVW", "ABCDEFGHIJKLMNOPQRSTUVWX",
					  "ABCDEFGHIJKLMNOPQRSTUVWXY", "ABCDEFGHIJKLMNOPQRSTUVWXZ",
					  "ABCDEFGHIJKLMNOPQRSTUVWXA"};
	struct row r[64], *big;
	size_t n = 0, i, total;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(r[n].id, sizeof(r[n].id), "%s", ids[i]);
		r[n].version = 1;
		r[n++].stratum = (int)(i % NS);
		if (i % 3 == 0) { /* drawn once */
			snprintf(r[n].id, sizeof(r[n].id), "%s", ids[i]);
			r[n].version = 0;
			r[n++].stratum = -1;
		}
	}
	check(r, n);
	id_prefix = "911101051234567890ABCD-";
	big = fixture(5000, &total);
	check(big, total);
	free(big);
	id_prefix = "E";
}

static void impossible_rows_are_refused(void **state)
{
	struct row twice[] = {{"A", 1, 0}, {"A", 1, 1}};
	struct row range[] = {{"A", 1, NS}};
	struct row below[] = {{"A", 1, 0}, {"A", -2, -1}};
	const char *ids[4];
	size_t first[NS + 1];
	PGresult *res;

	(void)state;
	res = result_of(twice, 2);
	assert_int_equal(ss_population_latest(res, NS, 2, ids, first), SS_ERR_INTERNAL);
	PQclear(res);
	res = result_of(range, 1);
	assert_int_equal(ss_population_latest(res, NS, 2, ids, first), SS_ERR_INTERNAL);
	PQclear(res);
	res = result_of(below, 2);
	assert_int_equal(ss_population_latest(res, NS, 2, ids, first), SS_ERR_INTERNAL);
	PQclear(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_sorted_run),
		cmocka_unit_test(versions_and_exclusions_appended),
		cmocka_unit_test(two_runs_from_a_synchronized_scan),
		cmocka_unit_test(no_order_at_all),
		cmocka_unit_test(interleaved_by_a_parallel_scan),
		cmocka_unit_test(a_million_rows),
		cmocka_unit_test(the_cap_counts_draws),
		cmocka_unit_test(long_and_short_ids),
		cmocka_unit_test(impossible_rows_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
