/*
 * population.c — a task's population from the versions the draw reads
 * (issue 5): each record's latest version as of the draw date, without
 * the excluded, bucketed by stratum in id order.
 */
#include "population.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_error.h"

/* A row of the population read: a version of a record, and its stratum
 * (-1: not eligible in that version). */
struct ss_vrow {
	const char *id;
	int32_t version;
	int32_t stratum;
};

/* Ids in byte order (COLLATE "C"), and each id's versions latest first. */
static int ss_vrow_cmp(const void *a, const void *b)
{
	const struct ss_vrow *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->version > y->version ? -1 : x->version < y->version;
}

/*
 * Sorts v by ss_vrow_cmp, merging the ascending runs it already holds: a
 * table filled in id order comes as one run, or two when PostgreSQL's
 * synchronized scan starts in its middle.  Rows in short runs (versions
 * appended later, the exclusion rows, a table in no useful order) are
 * sorted together and merged in as one more run: O(n log long runs +
 * m log m) for m rows in short runs.
 */
static int ss_vrow_sort(struct ss_vrow *v, size_t n)
{
	struct ss_vrow *tmp, *src, *dst;
	size_t *bounds, runs = 0, i, start, r, w, rest = 0, keep = 0;
	size_t min_run = n / 64 > 1024 ? n / 64 : 1024;

	for (i = 1; i < n && ss_vrow_cmp(&v[i - 1], &v[i]) <= 0; i++)
		;
	if (i >= n)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	bounds = malloc(66 * sizeof(*bounds));
	if (tmp == NULL || bounds == NULL) {
		free(tmp);
		free(bounds);
		return -1;
	}
	/* Long runs go to the front of tmp in their order (64 at most, since
	 * each is at least n / 64 rows); the rest after them, to be sorted. */
	for (start = 0; start < n; start = i) {
		for (i = start + 1; i < n && ss_vrow_cmp(&v[i - 1], &v[i]) <= 0; i++)
			;
		if (i - start >= min_run && runs < 64) {
			bounds[runs++] = keep;
			keep += i - start;
		}
	}
	for (start = 0, r = 0; start < n; start = i) {
		for (i = start + 1; i < n && ss_vrow_cmp(&v[i - 1], &v[i]) <= 0; i++)
			;
		if (r < runs && i - start >= min_run) {
			memcpy(tmp + bounds[r], v + start, (i - start) * sizeof(*v));
			r++;
		} else {
			memcpy(tmp + keep + rest, v + start, (i - start) * sizeof(*v));
			rest += i - start;
		}
	}
	if (rest > 0) {
		qsort(tmp + keep, rest, sizeof(*tmp), ss_vrow_cmp);
		bounds[runs++] = keep;
	}
	bounds[runs] = n;
	src = tmp;
	dst = v;
	while (runs > 1) {
		/* Merge runs pairwise from src into dst (an odd last run merges
		 * with an empty one); run w of the result starts at bounds[w]. */
		for (r = 0, w = 0; r < runs; r += 2, w++) {
			size_t a = bounds[r], am = bounds[r + 1], b = am;
			size_t bm = r + 2 <= runs ? bounds[r + 2] : am, o = a;

			while (a < am && b < bm)
				dst[o++] = ss_vrow_cmp(&src[b], &src[a]) < 0 ? src[b++] : src[a++];
			while (a < am)
				dst[o++] = src[a++];
			while (b < bm)
				dst[o++] = src[b++];
			bounds[w] = bounds[r];
		}
		bounds[w] = n;
		runs = w;
		src = dst;
		dst = src == v ? tmp : v;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	free(bounds);
	return 0;
}

/*
 * Keeps each record's latest version among the rows of the population read
 * (ss_population_build with versions: record_id, version, stratum), drops
 * the records drawn cap times this year (rows of version 0) or excluded by
 * a plan rule (a row of version -1), and buckets the eligible ones by
 * stratum, each bucket in id (byte) order: stratum i is
 * ids[first[i] .. first[i + 1]).  The rows are sorted here (ss_vrow_sort):
 * sorting millions of rows in PostgreSQL, or grouping the year's lists
 * there, costs more than the scan.  0, SS_ERR_NOMEM, or SS_ERR_INTERNAL
 * for a row the query cannot give (a stratum out of range, a version
 * twice, a version below -1).
 */
int ss_population_latest(PGresult *pop, size_t ns, long cap, const char **ids, size_t *first)
{
	size_t n = (size_t)PQntuples(pop), i, k, end, drawn, *fill;
	struct ss_vrow *v = malloc((n + 1) * sizeof(*v));
	int rc = 0;

	fill = calloc(ns + 1, sizeof(*fill));
	if (v == NULL || fill == NULL) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		v[i].id = PQgetvalue(pop, (int)i, 0);
		v[i].version = (int32_t)strtol(PQgetvalue(pop, (int)i, 1), NULL, 10);
		v[i].stratum = PQgetisnull(pop, (int)i, 2)
				       ? -1
				       : (int32_t)strtol(PQgetvalue(pop, (int)i, 2), NULL, 10);
		if (v[i].stratum < -1 || v[i].stratum >= (int32_t)ns || v[i].version < -1) {
			rc = SS_ERR_INTERNAL;
			goto out;
		}
	}
	if (ss_vrow_sort(v, n) != 0) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	memset(first, 0, (ns + 1) * sizeof(*first));
	for (i = 0; i < n; i = end) {
		/* The rows of one id: its latest version first, then one row per
		 * time it was drawn this year (0), then plan rules (-1). */
		drawn = v[i].version == 0;
		for (end = i + 1; end < n && strcmp(v[i].id, v[end].id) == 0; end++) {
			if (v[end - 1].version == v[end].version && v[end].version > 0) {
				rc = SS_ERR_INTERNAL;
				goto out;
			}
			drawn += v[end].version == 0;
		}
		for (k = i + 1; k < end; k++)
			v[k].stratum = -1; /* an earlier version, or an exclusion */
		if (v[i].version <= 0 || v[end - 1].version < 0 || (cap > 0 && drawn >= (size_t)cap))
			v[i].stratum = -1; /* no record at all, or excluded */
		if (v[i].stratum >= 0)
			first[v[i].stratum + 1]++;
	}
	for (i = 0; i < ns; i++)
		first[i + 1] += first[i];
	for (i = 0; i < n; i++)
		if (v[i].stratum >= 0)
			ids[first[v[i].stratum] + fill[v[i].stratum]++] = v[i].id;
out:
	free(v);
	free(fill);
	return rc;
}
