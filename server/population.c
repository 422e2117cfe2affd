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
 * stay where they are; the other rows are sorted apart; all are joined in
 * one pass, without copying the millions.  Ids are compared by their first 24
 * bytes as three big-endian integers, then the rest: a unified social
 * credit code is 18 bytes, neighbours in a sorted run often differ only in
 * the last two, and following a pointer to each id costs more than the
 * comparison.
 */
#include "population.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_error.h"

/* A row of the population read: a version of a record, and its stratum
 * (-1: not eligible in that version).  k[]: the id's bytes 0-7, 8-15 and
 * 16-23 as big-endian integers, zero-padded (ids have no NUL byte, so this
 * keeps byte order). */
struct ss_vrow {
	uint64_t k[3];
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
	int i;

	for (i = 0; i < 3; i++)
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	/* Equal first 24 bytes: both ids are longer than 23 bytes, or equal. */
	return (x->k[2] & 0xff) != 0 ? strcmp(x->id + 24, y->id + 24) : 0;
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

/* A sorted run of rows: the next row and the end. */
struct ss_run {
	const struct ss_vrow *at, *end;
};

/* A run long enough to be joined where it lies: n / 64 rows, and 1024. */
static size_t ss_min_run(size_t n)
{
	return n / 64 > 1024 ? n / 64 : 1024;
}

/* The end of the ascending run of v that starts at start. */
static size_t ss_vrow_run_end(const struct ss_vrow *v, size_t n, size_t start)
{
	size_t i;

	for (i = start + 1; i < n && ss_vrow_cmp(&v[i - 1], &v[i]) <= 0; i++)
		;
	return i;
}

/* The rows of v in ascending runs of at least min_run rows. */
static size_t ss_vrow_long(const struct ss_vrow *v, size_t n, size_t min_run)
{
	size_t start, i, covered = 0;

	for (start = 0; start < n; start = i) {
		i = ss_vrow_run_end(v, n, start);
		if (i - start >= min_run)
			covered += i - start;
	}
	return covered;
}

#define SS_LANES 8

/*
 * Rows that came from a parallel scan: PostgreSQL's workers each return
 * their rows in table order, and its Gather interleaves them row by row,
 * so v holds a few ascending sequences shuffled together and no long run.
 * Each row is dealt to the lane whose last row is the greatest not above
 * it (up to SS_LANES lanes; a row that fits none goes last), and the lanes
 * are laid out one after another in a new array (*out, the caller frees
 * it): each is then an ascending run.  -1 when memory runs out.
 */
static int ss_vrow_unshuffle(const struct ss_vrow *v, size_t n, struct ss_vrow **out)
{
	const struct ss_vrow *tail[SS_LANES];
	size_t count[SS_LANES + 1] = {0}, at[SS_LANES + 1], i, lanes = 0, l;
	uint8_t *lane = malloc(n + 1);
	struct ss_vrow *w = malloc((n + 1) * sizeof(*w));

	if (lane == NULL || w == NULL) {
		free(lane);
		free(w);
		return -1;
	}
	for (i = 0; i < n; i++) {
		size_t best = SS_LANES;

		for (l = 0; l < lanes; l++)
			if (ss_vrow_cmp(tail[l], &v[i]) <= 0 &&
			    (best == SS_LANES || ss_vrow_cmp(tail[l], tail[best]) > 0))
				best = l;
		if (best == SS_LANES && lanes < SS_LANES)
			best = lanes++;
		if (best < SS_LANES)
			tail[best] = &v[i];
		lane[i] = (uint8_t)best;
		count[best]++;
	}
	for (l = 0, at[0] = 0; l < SS_LANES; l++)
		at[l + 1] = at[l] + count[l];
	for (i = 0; i < n; i++)
		w[at[lane[i]]++] = v[i];
	free(lane);
	*out = w;
	return 0;
}

struct ss_sort_part {
	struct ss_vrow *v;
	size_t n;
};

static void *ss_sort_part_run(void *arg)
{
	struct ss_sort_part *p = arg;

	qsort(p->v, p->n, sizeof(*p->v), ss_vrow_cmp);
	return NULL;
}

/*
 * The runs to join: each ascending run of v of at least n / 64 rows (and
 * 1024) where it lies, then the other rows copied to *rest and sorted
 * there as two runs (the caller frees *rest).  At most 66 runs.  -1 when
 * memory runs out.
 */
static int ss_vrow_runs(const struct ss_vrow *v, size_t n, struct ss_run *runs, size_t *nruns,
			struct ss_vrow **rest)
{
	size_t min_run = ss_min_run(n), start, i, k, other = 0, r = 0;
	struct ss_vrow *o;

	for (start = 0; start < n; start = i) {
		i = ss_vrow_run_end(v, n, start);
		if (i - start >= min_run && r < 64) {
			runs[r].at = v + start;
			runs[r++].end = v + i;
		} else {
			other += i - start;
		}
	}
	o = malloc((other + 1) * sizeof(*o));
	if (o == NULL)
		return -1;
	for (start = 0, other = 0, i = 0, k = 0; start < n; start = i) {
		if (k < r && runs[k].at == v + start) {
			i = (size_t)(runs[k++].end - v);
			continue;
		}
		i = ss_vrow_run_end(v, n, start);
		memcpy(o + other, v + start, (i - start) * sizeof(*v));
		other += i - start;
	}
	/* Sorted in two halves, two threads for many rows: two more runs. */
	{
		struct ss_sort_part half[2] = {{o, other / 2}, {o + other / 2, other - other / 2}};
		pthread_t th;
		int threaded = other >= 100000 && pthread_create(&th, NULL, ss_sort_part_run,
								   &half[1]) == 0;

		if (!threaded) {
			half[0].n = other;
			half[1].n = 0;
		}
		ss_sort_part_run(&half[0]);
		if (threaded)
			pthread_join(th, NULL);
		runs[r].at = o;
		runs[r++].end = o + half[0].n;
		runs[r].at = o + half[0].n;
		runs[r++].end = o + other;
	}
	*nruns = r;
	*rest = o;
	return 0;
}

/* Rows [from, to) of the read into v; bad is set for a row the query cannot give. */
struct ss_vrow_part {
	PGresult *pop;
	struct ss_vrow *v;
	size_t from, to, ns;
	int bad;
};

static void *ss_vrow_parse_part(void *arg)
{
	struct ss_vrow_part *p = arg;
	size_t i;

	for (i = p->from; i < p->to; i++) {
		struct ss_vrow *r = &p->v[i];
		const char *id = PQgetvalue(p->pop, (int)i, 0);
		size_t len = (size_t)PQgetlength(p->pop, (int)i, 0);

		r->id = id;
		r->k[0] = ss_be64(id, len);
		r->k[1] = len > 8 ? ss_be64(id + 8, len - 8) : 0;
		r->k[2] = len > 16 ? ss_be64(id + 16, len - 16) : 0;
		r->version = ss_int_value(p->pop, (int)i, 1);
		r->stratum = PQgetisnull(p->pop, (int)i, 2) ? -1 : ss_int_value(p->pop, (int)i, 2);
		if (r->stratum < -1 || r->stratum >= (int32_t)p->ns || r->version < -1)
			p->bad = 1;
	}
	return NULL;
}

/* The rows of the read into v, in two threads from a million rows on (the
 * build machine has two cores; PostgreSQL has finished meanwhile).
 * -1 for a row the query cannot give. */
static int ss_vrow_parse(PGresult *pop, struct ss_vrow *v, size_t n, size_t ns)
{
	struct ss_vrow_part part[2] = {{pop, v, 0, n / 2, ns, 0}, {pop, v, n / 2, n, ns, 0}};
	pthread_t th;

	if (n < 1000000 || pthread_create(&th, NULL, ss_vrow_parse_part, &part[1]) != 0) {
		part[0].to = n;
		ss_vrow_parse_part(&part[0]);
		return part[0].bad ? -1 : 0;
	}
	ss_vrow_parse_part(&part[0]);
	pthread_join(th, NULL);
	return part[0].bad || part[1].bad ? -1 : 0;
}

/* A join of runs over a range of ids: its output goes to ids and strata
 * from `out` on; rc as ss_population_latest's. */
struct ss_join {
	struct ss_run runs[66];
	size_t nruns;
	long cap;
	const char **ids;
	int8_t *strata;
	size_t out;
	int rc;
};

static void *ss_join_run(void *arg)
{
	struct ss_join *jn = arg;
	struct ss_run *runs = jn->runs;
	size_t gcap = 16, ng, i;
	const struct ss_vrow **group = malloc(gcap * sizeof(*group));

	if (group == NULL) {
		jn->rc = SS_ERR_NOMEM;
		return NULL;
	}
	for (;;) {
		const struct ss_vrow *id = NULL, *latest = NULL;
		size_t r, drawn = 0;
		int rule = 0;

		for (r = 0; r < jn->nruns; r++)
			if (runs[r].at < runs[r].end && (id == NULL || ss_vrow_idcmp(runs[r].at, id) < 0))
				id = runs[r].at;
		if (id == NULL)
			break;
		/* The id's rows from every run, latest version first. */
		for (r = 0, ng = 0; r < jn->nruns; r++)
			while (runs[r].at < runs[r].end && ss_vrow_idcmp(runs[r].at, id) == 0) {
				const struct ss_vrow *x = runs[r].at++;
				size_t h = ng;

				if (ng == gcap) {
					const struct ss_vrow **more = realloc(group, 2 * gcap * sizeof(*group));

					if (more == NULL) {
						jn->rc = SS_ERR_NOMEM;
						goto out;
					}
					group = more;
					gcap *= 2;
				}
				while (h > 0 && group[h - 1]->version < x->version) {
					group[h] = group[h - 1];
					h--;
				}
				group[h] = x;
				ng++;
			}
		for (i = 0; i < ng; i++) {
			if (group[i]->version > 0 && i > 0 && group[i - 1]->version == group[i]->version) {
				jn->rc = SS_ERR_INTERNAL; /* a version twice */
				goto out;
			}
			drawn += group[i]->version == 0;
			rule |= group[i]->version < 0;
		}
		latest = group[0]->version > 0 ? group[0] : NULL;
		if (latest == NULL || latest->stratum < 0 || rule ||
		    (jn->cap > 0 && drawn >= (size_t)jn->cap))
			continue; /* no record at all, not eligible, or excluded */
		jn->ids[jn->out] = latest->id;
		jn->strata[jn->out++] = (int8_t)latest->stratum;
	}
out:
	free(group);
	return NULL;
}

/* The first row of a run whose id is not below that of split. */
static const struct ss_vrow *ss_run_lower(const struct ss_run *r, const struct ss_vrow *split)
{
	const struct ss_vrow *lo = r->at, *hi = r->end;

	while (lo < hi) {
		const struct ss_vrow *mid = lo + (hi - lo) / 2;

		if (ss_vrow_idcmp(mid, split) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Joins the runs (n rows in all) into ids and strata, *out of them.  From
 * a million rows on, in two threads: the ids below the middle row of the
 * longest run in one, the others in the other (an id's rows are all on
 * one side); the second's output is then moved up behind the first's.
 */
static int ss_join_all(const struct ss_run *runs, size_t nruns, size_t n, long cap,
		       const char **ids, int8_t *strata, size_t *out)
{
	struct ss_join *jn = calloc(2, sizeof(*jn));
	const struct ss_vrow *split;
	size_t r, longest = 0, below = 0;
	pthread_t th;
	int threaded = 0, rc;

	if (jn == NULL)
		return SS_ERR_NOMEM;
	for (r = 0; r < nruns; r++)
		if (runs[r].end - runs[r].at > runs[longest].end - runs[longest].at)
			longest = r;
	split = nruns > 0 ? runs[longest].at + (runs[longest].end - runs[longest].at) / 2 : NULL;
	for (r = 0; r < nruns; r++) {
		const struct ss_vrow *cut = n >= 1000000 && split != NULL ? ss_run_lower(&runs[r], split)
									 : runs[r].end;

		jn[0].runs[r].at = runs[r].at;
		jn[0].runs[r].end = cut;
		jn[1].runs[r].at = cut;
		jn[1].runs[r].end = runs[r].end;
		below += (size_t)(cut - runs[r].at);
	}
	jn[0].nruns = jn[1].nruns = nruns;
	jn[0].cap = jn[1].cap = cap;
	jn[0].ids = ids;
	jn[0].strata = strata;
	jn[1].ids = ids + below;
	jn[1].strata = strata + below;
	if (below < n)
		threaded = pthread_create(&th, NULL, ss_join_run, &jn[1]) == 0;
	ss_join_run(&jn[0]);
	if (threaded)
		pthread_join(th, NULL);
	else if (below < n)
		ss_join_run(&jn[1]);
	rc = jn[0].rc != 0 ? jn[0].rc : jn[1].rc;
	memmove(ids + jn[0].out, ids + below, jn[1].out * sizeof(*ids));
	memmove(strata + jn[0].out, strata + below, jn[1].out);
	*out = jn[0].out + jn[1].out;
	free(jn);
	return rc;
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
	size_t n = (size_t)PQntuples(pop), i, nruns = 0, out = 0;
	struct ss_vrow *v = malloc((n + 1) * sizeof(*v)), *rest = NULL;
	struct ss_run runs[66];
	int8_t *strata = malloc(n + 1);
	const char **tmp = NULL;
	size_t *fill = calloc(ns + 1, sizeof(*fill));
	int rc = 0;

	if (v == NULL || strata == NULL || fill == NULL) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	if (ns > INT8_MAX) {
		rc = SS_ERR_INTERNAL;
		goto out;
	}
	if (ss_vrow_parse(pop, v, n, ns) != 0) {
		rc = SS_ERR_INTERNAL;
		goto out;
	}
	/* Rows mostly outside long runs came from a parallel scan (before
	 * PostgreSQL has statistics on a freshly imported directory, it may
	 * plan one): unshuffled into lanes, they are long runs again. */
	if (n >= 2048 && ss_vrow_long(v, n, ss_min_run(n)) < n / 2) {
		struct ss_vrow *w;

		if (ss_vrow_unshuffle(v, n, &w) != 0) {
			rc = SS_ERR_NOMEM;
			goto out;
		}
		free(v);
		v = w;
	}
	if (ss_vrow_runs(v, n, runs, &nruns, &rest) != 0) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	/* The runs joined in id order, one id at a time, without moving them;
	 * from a million rows on, the ids below and above the middle of the
	 * longest run in two threads. */
	rc = ss_join_all(runs, nruns, n, cap, ids, strata, &out);
	if (rc != 0)
		goto out;
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
	free(rest);
	free(strata);
	free(tmp);
	free(fill);
	return rc;
}
