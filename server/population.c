/*
 * population.c — a task's population from the versions the draw reads
 * (issue 5): each record's latest version as of the draw date, without
 * the excluded, bucketed by stratum in id order.
 *
 * The read returns millions of rows, most of them in id order already (a
 * directory is imported in id order, so a sequential scan yields one run,
 * or two when PostgreSQL's synchronized scan starts in the middle of the
 * table), and a smaller number in no order: versions written later, one
 * row per time an object was drawn this year, plan rules.  The long runs
 * are merged; the other rows are sorted apart and joined to them in one
 * pass, without copying the millions.  Ids are compared by their first 16
 * bytes as two big-endian integers, then the rest: a unified social credit
 * code is 18 bytes, and codes of one district share their first eight.
 */
#include "population.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_error.h"

/* A row of the population read: a version of a record, and its stratum
 * (-1: not eligible in that version).  k1, k2: the id's bytes 0-7 and 8-15
 * as big-endian integers, zero-padded (ids have no NUL byte, so this keeps
 * byte order). */
struct ss_vrow {
	uint64_t k1, k2;
	const char *id;
	int32_t version;
	int32_t stratum;
};

static uint64_t ss_be64(const char *s, size_t len)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		k = k << 8 | (i < len ? (uint8_t)s[i] : 0);
	return k;
}

/* Ids in byte order (COLLATE "C"). */
static inline int ss_vrow_idcmp(const struct ss_vrow *x, const struct ss_vrow *y)
{
	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	if (x->k2 != y->k2)
		return x->k2 < y->k2 ? -1 : 1;
	/* Equal first 16 bytes: both ids are longer than 15 bytes, or equal. */
	return (x->k2 & 0xff) != 0 ? strcmp(x->id + 16, y->id + 16) : 0;
}

/* Ids in byte order, and each id's versions latest first. */
static int ss_vrow_cmp(const void *a, const void *b)
{
	const struct ss_vrow *x = a, *y = b;
	int c = ss_vrow_idcmp(x, y);

	if (c != 0)
		return c;
	return x->version > y->version ? -1 : x->version < y->version;
}

/* An int4 column of a binary result (big-endian); -2 if it is not one. */
static int32_t ss_int_value(PGresult *res, int row, int col)
{
	const uint8_t *b = (const uint8_t *)PQgetvalue(res, row, col);

	if (PQfformat(res, col) != 1 || PQgetlength(res, row, col) != 4)
		return -2;
	return (int32_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
}

/*
 * Splits v (n rows) into its long ascending runs, merged into one sorted
 * run at the front (*main rows), and the rest after them, sorted (*rest
 * rows): a run is long if it holds at least n / 64 rows (and 1024).
 * -1 when memory runs out.
 */
static int ss_vrow_split(struct ss_vrow *v, size_t n, size_t *main, size_t *rest)
{
	struct ss_vrow *tmp, *src, *dst;
	size_t *bounds, runs = 0, i, start, r, w, keep = 0, other = 0;
	size_t min_run = n / 64 > 1024 ? n / 64 : 1024;

	for (i = 1; i < n && ss_vrow_cmp(&v[i - 1], &v[i]) <= 0; i++)
		;
	if (i >= n || i >= min_run) {
		/* One long run first (the usual case): the rest is sorted in
		 * place unless it holds another long run. */
		size_t first = i;

		for (start = first; start < n; start = i) {
			for (i = start + 1; i < n && ss_vrow_cmp(&v[i - 1], &v[i]) <= 0; i++)
				;
			if (i - start >= min_run)
				break;
		}
		if (start >= n) {
			qsort(v + first, n - first, sizeof(*v), ss_vrow_cmp);
			*main = first;
			*rest = n - first;
			return 0;
		}
	}
	tmp = malloc(n * sizeof(*tmp));
	bounds = malloc(66 * sizeof(*bounds));
	if (tmp == NULL || bounds == NULL) {
		free(tmp);
		free(bounds);
		return -1;
	}
	/* Long runs go to the front of tmp in their order (64 at most, since
	 * each is at least n / 64 rows); the rest after them. */
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
			memcpy(tmp + keep + other, v + start, (i - start) * sizeof(*v));
			other += i - start;
		}
	}
	qsort(tmp + keep, other, sizeof(*tmp), ss_vrow_cmp);
	memcpy(v + keep, tmp + keep, other * sizeof(*v));
	bounds[runs] = keep;
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
		bounds[w] = keep;
		runs = w;
		src = dst;
		dst = src == v ? tmp : v;
	}
	if (src != v)
		memcpy(v, src, keep * sizeof(*v));
	free(tmp);
	free(bounds);
	*main = keep;
	*rest = other;
	return 0;
}

/* The rows of one id in a sorted run from *at: advances *at past them. */
static size_t ss_vrow_group(const struct ss_vrow *v, size_t n, size_t *at, const struct ss_vrow *id)
{
	size_t from = *at;

	while (*at < n && ss_vrow_idcmp(&v[*at], id) == 0)
		(*at)++;
	return *at - from;
}

/*
 * Keeps each record's latest version among the rows of the population read
 * (ss_population_build with versions: record_id, version, stratum), drops
 * the records drawn cap times this year (rows of version 0) or excluded by
 * a plan rule (a row of version -1), and buckets the eligible ones by
 * stratum, each bucket in id (byte) order: stratum i is
 * ids[first[i] .. first[i + 1]).  0, SS_ERR_NOMEM, or SS_ERR_INTERNAL for
 * a row the query cannot give (a stratum out of range, a version twice, a
 * version below -1).
 */
int ss_population_latest(PGresult *pop, size_t ns, long cap, const char **ids, size_t *first)
{
	size_t n = (size_t)PQntuples(pop), i, m, r, nm, nr, out = 0, gm, gr;
	struct ss_vrow *v = malloc((n + 1) * sizeof(*v)), *rest;
	int8_t *strata = malloc(n + 1);
	const char **tmp = NULL;
	size_t *fill = calloc(ns + 1, sizeof(*fill));
	int rc = 0;

	if (v == NULL || strata == NULL || fill == NULL || ns > INT8_MAX) {
		rc = v == NULL || strata == NULL || fill == NULL ? SS_ERR_NOMEM : SS_ERR_INTERNAL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *id = PQgetvalue(pop, (int)i, 0);
		size_t len = (size_t)PQgetlength(pop, (int)i, 0);

		v[i].id = id;
		v[i].k1 = ss_be64(id, len);
		v[i].k2 = len > 8 ? ss_be64(id + 8, len - 8) : 0;
		v[i].version = ss_int_value(pop, (int)i, 1);
		v[i].stratum = PQgetisnull(pop, (int)i, 2) ? -1 : ss_int_value(pop, (int)i, 2);
		if (v[i].stratum < -1 || v[i].stratum >= (int32_t)ns || v[i].version < -1) {
			rc = SS_ERR_INTERNAL;
			goto out;
		}
	}
	if (ss_vrow_split(v, n, &nm, &nr) != 0) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	/* Both sorted: each id's rows are a group in the long runs and one in
	 * the rest; they are joined as they come, in id order. */
	rest = v + nm;
	for (m = 0, r = 0; m < nm || r < nr;) {
		const struct ss_vrow *id = r >= nr || (m < nm && ss_vrow_idcmp(&v[m], &rest[r]) <= 0)
						   ? &v[m]
						   : &rest[r];
		const struct ss_vrow *a, *b, *latest = NULL;
		size_t m0 = m, r0 = r, drawn = 0;
		int32_t prev = 0;
		int rule = 0;

		gm = ss_vrow_group(v, nm, &m, id);
		gr = ss_vrow_group(rest, nr, &r, id);
		/* Both groups run latest version first: walked as one, the
		 * versions come in decreasing order, the first the latest. */
		for (a = v + m0, b = rest + r0; a < v + m0 + gm || b < rest + r0 + gr;) {
			const struct ss_vrow *x =
				b >= rest + r0 + gr || (a < v + m0 + gm && a->version >= b->version) ? a++
												      : b++;

			if (x->version > 0) {
				if (x->version == prev) {
					rc = SS_ERR_INTERNAL; /* a version twice */
					goto out;
				}
				if (latest == NULL)
					latest = x;
				prev = x->version;
			}
			drawn += x->version == 0;
			rule |= x->version < 0;
		}
		if (latest == NULL || latest->stratum < 0 || rule || (cap > 0 && drawn >= (size_t)cap))
			continue; /* no record at all, not eligible, or excluded */
		ids[out] = latest->id;
		strata[out++] = (int8_t)latest->stratum;
	}
	/* Bucket by stratum, keeping id order within each. */
	memset(first, 0, (ns + 1) * sizeof(*first));
	for (i = 0; i < out; i++)
		first[strata[i] + 1]++;
	for (i = 0; i < ns; i++)
		first[i + 1] += first[i];
	if (ns > 1 && out > 0) {
		tmp = malloc(out * sizeof(*tmp));
		if (tmp == NULL) {
			rc = SS_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < out; i++)
			tmp[first[strata[i]] + fill[strata[i]]++] = ids[i];
		memcpy(ids, tmp, out * sizeof(*ids));
	}
out:
	free(v);
	free(strata);
	free(tmp);
	free(fill);
	return rc;
}
