/*
 * audit_log.c — replay of an exported log (docs/receipt.md §5): every
 * leaf from the first, under the key in force at that leaf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"
#include "draw_int.h"
#include "merkle.h"
#include "ss_error.h"
#include "ticket.h"

struct replay_draw {
	uint8_t hash[32];
	struct ss_record *rec;
	int voided;
	int has_pool;
	struct audit_pool pool;
	struct ss_record **recusals;
	size_t n_recusals;
};

struct replay {
	uint8_t pk[SS_SIG_PUBLIC_KEY_LEN];
	/* draw-open, witness and witness-waiver records, with their leaf hashes */
	struct ss_record **recs;
	uint8_t (*rec_hash)[32];
	size_t n_recs;
	struct replay_draw *draws;
	size_t n_draws;
	struct ss_check_result *res;
};

static void replay_free(struct replay *r)
{
	size_t i, j;

	for (i = 0; i < r->n_recs; i++)
		ss_record_free(r->recs[i]);
	free(r->recs);
	free(r->rec_hash);
	for (i = 0; i < r->n_draws; i++) {
		ss_record_free(r->draws[i].rec);
		audit_pool_free(&r->draws[i].pool);
		for (j = 0; j < r->draws[i].n_recusals; j++)
			ss_record_free(r->draws[i].recusals[j]);
		free(r->draws[i].recusals);
	}
	free(r->draws);
}

static const struct ss_record *find_open(const struct replay *r, const uint8_t hash[32])
{
	size_t i;

	for (i = 0; i < r->n_recs; i++)
		if (r->recs[i]->type == SS_REC_DRAW_OPEN && memcmp(r->rec_hash[i], hash, 32) == 0)
			return r->recs[i];
	return NULL;
}

static struct replay_draw *find_draw(struct replay *r, const uint8_t hash[32])
{
	size_t i;

	for (i = 0; i < r->n_draws; i++)
		if (memcmp(r->draws[i].hash, hash, 32) == 0)
			return &r->draws[i];
	return NULL;
}

static int task_has_live_draw(const struct replay *r, const char *task)
{
	size_t i;

	for (i = 0; i < r->n_draws; i++)
		if (!r->draws[i].voided && strcmp(r->draws[i].rec->task, task) == 0)
			return 1;
	return 0;
}

static int keep_rec(struct replay *r, struct ss_record *rec, const uint8_t hash[32])
{
	struct ss_record **nr = realloc(r->recs, (r->n_recs + 1) * sizeof(*nr));
	uint8_t(*nh)[32];

	if (nr == NULL)
		return -1;
	r->recs = nr;
	nh = realloc(r->rec_hash, (r->n_recs + 1) * 32);
	if (nh == NULL)
		return -1;
	r->rec_hash = nh;
	r->recs[r->n_recs] = rec;
	memcpy(r->rec_hash[r->n_recs], hash, 32);
	r->n_recs++;
	return 0;
}

/* A witness contribution or waiver must have been logged, for the same draw-open, earlier. */
static enum ss_check draw_contributions(struct replay *r, const struct ss_record *d)
{
	size_t i, j;
	int found;

	for (i = 0; i < d->n_witnesses; i++) {
		found = 0;
		for (j = 0; j < r->n_recs && !found; j++) {
			const struct ss_record *w = r->recs[j];

			found = w->type == SS_REC_WITNESS &&
				memcmp(w->open_hash, d->open_hash, 32) == 0 &&
				strcmp(w->principal, d->witnesses[i].principal) == 0 &&
				strcmp(w->entropy, d->witnesses[i].entropy) == 0;
		}
		if (!found)
			return audit_fail(r->res, SS_CHECK_LINK,
					  "witness contribution %zu of the draw was never logged",
					  i + 1);
	}
	if (!d->waived)
		return SS_CHECK_OK;
	for (j = 0; j < r->n_recs; j++) {
		const struct ss_record *w = r->recs[j];

		if (w->type == SS_REC_WITNESS_WAIVER &&
		    memcmp(w->open_hash, d->open_hash, 32) == 0 &&
		    strcmp(w->principal, d->principal) == 0 && strcmp(w->reason, d->reason) == 0)
			return SS_CHECK_OK;
	}
	return audit_fail(r->res, SS_CHECK_LINK, "the draw's witness waiver was never logged");
}

/* Without snapshots: every ticket, and the workload cap over the recorded groups. */
static enum ss_check draw_crosscheck(struct replay *r, const struct ss_record *d)
{
	char t[SS_TICKET_MAX];
	const char **all;
	size_t s, p, i, n = 0, run;

	for (s = 0; s < d->n_strata; s++)
		for (p = 0; p < d->strata[s].n_picks; p++) {
			ss_ticket(d->seed, d->strata[s].picks[p].id, t);
			if (strcmp(t, d->strata[s].picks[p].ticket) != 0)
				return audit_fail(r->res, SS_CHECK_SELECTION,
						  "stratum %s: the ticket of %s is wrong",
						  d->strata[s].name, d->strata[s].picks[p].id);
		}
	if (d->workload_cap == 0)
		return SS_CHECK_OK;
	all = malloc((d->n_matches * (d->group_size + d->experts_per_object) + 1) * sizeof(*all));
	if (all == NULL)
		return audit_fail(r->res, SS_CHECK_RESOURCES, "out of memory");
	for (i = 0; i < d->n_matches; i++) {
		for (p = 0; p < d->matches[i].n_inspectors; p++)
			all[n++] = d->matches[i].inspectors[p];
		for (p = 0; p < d->matches[i].n_experts; p++)
			all[n++] = d->matches[i].experts[p];
	}
	qsort(all, n, sizeof(*all), ss_strptr_cmp);
	for (i = 0, run = 0; i < n; i++) {
		run = i > 0 && strcmp(all[i - 1], all[i]) == 0 ? run + 1 : 1;
		if (run > d->workload_cap) {
			audit_fail(r->res, SS_CHECK_MATCHING,
				   "inspector %s is assigned more than the workload cap", all[i]);
			free(all);
			return SS_CHECK_MATCHING;
		}
	}
	free(all);
	return SS_CHECK_OK;
}

static enum ss_check replay_draw(struct replay *r, const struct ss_log_entry *e,
				 struct ss_record *d, const uint8_t hash[32])
{
	const struct ss_record *o = find_open(r, d->open_hash);
	struct replay_draw *rd, *nd;
	enum ss_check c;

	if (o == NULL || strcmp(o->task, d->task) != 0)
		return audit_fail(r->res, SS_CHECK_SEQUENCE,
				  "the draw of task %s names no earlier draw-open record of it",
				  d->task);
	if (task_has_live_draw(r, d->task))
		return audit_fail(r->res, SS_CHECK_SEQUENCE,
				  "task %s already has a draw that was not voided", d->task);
	c = audit_draw_vs_open(d, o, d->open_hash, r->res);
	if (c == SS_CHECK_OK)
		c = audit_witness_set(d, o, r->res);
	if (c == SS_CHECK_OK)
		c = draw_contributions(r, d);
	if (c != SS_CHECK_OK)
		return c;
	nd = realloc(r->draws, (r->n_draws + 1) * sizeof(*nd));
	if (nd == NULL)
		return audit_fail(r->res, SS_CHECK_RESOURCES, "out of memory");
	r->draws = nd;
	rd = &r->draws[r->n_draws];
	memset(rd, 0, sizeof(*rd));
	if (e->n_populations > 0) {
		c = audit_recompute(d, e->n_populations, e->populations, &e->inspectors,
				    &e->conflicts, 0, &rd->pool, r->res);
		rd->has_pool = c == SS_CHECK_OK;
	} else {
		c = audit_seed(d, r->res);
		if (c == SS_CHECK_OK)
			c = draw_crosscheck(r, d);
	}
	if (c != SS_CHECK_OK) {
		audit_pool_free(&rd->pool);
		return c;
	}
	memcpy(rd->hash, hash, 32);
	rd->rec = d;
	r->n_draws++;
	return SS_CHECK_OK;
}

static enum ss_check replay_recusal(struct replay *r, struct ss_record *x)
{
	struct replay_draw *rd = find_draw(r, x->draw_hash);
	struct ss_record **nr;
	const char *rep = NULL;
	size_t i;
	int rc, expert = -1;

	if (rd == NULL || rd->voided || strcmp(rd->rec->task, x->task) != 0)
		return audit_fail(r->res, SS_CHECK_SEQUENCE,
				  "the recusal names no live draw of task %s", x->task);
	if (rd->has_pool) {
		rc = ss_draw_recusal(rd->rec, rd->pool.pool, rd->pool.n_pool, rd->pool.conf,
				     rd->pool.n_conf, (const struct ss_record *const *)rd->recusals,
				     rd->n_recusals, x->object, x->inspector, &rep);
		for (i = 0; i < rd->pool.n_pool; i++)
			if (strcmp(rd->pool.pool[i].id, x->inspector) == 0)
				expert = rd->pool.pool[i].expert;
		if (rc != 0 || expert != x->expert_role ||
		    (rep == NULL) != (x->replacement == NULL) ||
		    (rep != NULL && strcmp(rep, x->replacement) != 0))
			return audit_fail(r->res, SS_CHECK_RECUSAL,
					  "the recusal of %s from %s: the replacement should be %s",
					  x->inspector, x->object,
					  rep != NULL ? rep : "none (shortfall)");
	} else {
		for (i = 0; i < rd->rec->n_matches; i++)
			if (strcmp(rd->rec->matches[i].object, x->object) == 0)
				break;
		if (i == rd->rec->n_matches)
			return audit_fail(r->res, SS_CHECK_RECUSAL, "%s was not drawn", x->object);
	}
	nr = realloc(rd->recusals, (rd->n_recusals + 1) * sizeof(*nr));
	if (nr == NULL)
		return audit_fail(r->res, SS_CHECK_RESOURCES, "out of memory");
	rd->recusals = nr;
	rd->recusals[rd->n_recusals++] = x;
	return SS_CHECK_OK;
}

static enum ss_check replay_entry(struct replay *r, const struct ss_log_entry *e, size_t i)
{
	enum ss_record_type t = ss_record_peek_type(e->rec.record.data, e->rec.record.len);
	struct ss_record *rec = NULL;
	struct replay_draw *rd;
	uint8_t hash[32], next[SS_SIG_PUBLIC_KEY_LEN];
	enum ss_check c;
	char what[64];

	ss_record_leaf_hash(e->rec.record.data, e->rec.record.len, hash);
	if (t == SS_REC_NONE)
		return audit_fail(r->res, SS_CHECK_FORMAT, "leaf %zu is not a record", i);
	if (e->n_populations > 0 && t != SS_REC_DRAW)
		return audit_fail(r->res, SS_CHECK_FORMAT, "leaf %zu: snapshots after a non-draw",
				  i);
	if (t == SS_REC_KEY_ROTATION) {
		if (ss_record_verify_rotation(r->pk, e->rec.record.data, e->rec.record.len,
					      e->rec.sig.data, e->rec.sig.len, next) != 0)
			return audit_fail(r->res, SS_CHECK_KEY_ROTATION,
					  "leaf %zu: the key rotation is not signed by the current "
					  "and the new key",
					  i);
		memcpy(r->pk, next, sizeof(next));
		return SS_CHECK_OK;
	}
	snprintf(what, sizeof(what), "leaf %zu (%s)", i, ss_record_type_name(t));
	c = audit_signed(&e->rec, t, r->pk, what, &rec, r->res);
	if (c != SS_CHECK_OK)
		return c;
	switch (t) {
	case SS_REC_DRAW_OPEN:
		if (task_has_live_draw(r, rec->task)) {
			c = audit_fail(r->res, SS_CHECK_SEQUENCE,
				       "task %s is opened again while its draw stands", rec->task);
			break;
		}
		if (keep_rec(r, rec, hash) != 0)
			c = audit_fail(r->res, SS_CHECK_RESOURCES, "out of memory");
		else
			rec = NULL;
		break;
	case SS_REC_WITNESS:
	case SS_REC_WITNESS_WAIVER: {
		const struct ss_record *o = find_open(r, rec->open_hash);

		if (o == NULL || strcmp(o->task, rec->task) != 0)
			c = audit_fail(r->res, SS_CHECK_SEQUENCE,
				       "%s names no earlier draw-open record of task %s", what,
				       rec->task);
		else if (keep_rec(r, rec, hash) != 0)
			c = audit_fail(r->res, SS_CHECK_RESOURCES, "out of memory");
		else
			rec = NULL;
		break;
	}
	case SS_REC_DRAW:
		c = replay_draw(r, e, rec, hash);
		if (c == SS_CHECK_OK)
			rec = NULL;
		break;
	case SS_REC_VOID:
		rd = find_draw(r, rec->draw_hash);
		if (rd == NULL || rd->voided || strcmp(rd->rec->task, rec->task) != 0)
			c = audit_fail(r->res, SS_CHECK_SEQUENCE,
				       "the void names no live draw of task %s", rec->task);
		else
			rd->voided = 1;
		break;
	case SS_REC_RECUSAL:
		c = replay_recusal(r, rec);
		if (c == SS_CHECK_OK)
			rec = NULL;
		break;
	default:
		c = audit_fail(r->res, SS_CHECK_FORMAT, "leaf %zu: unexpected record type", i);
	}
	ss_record_free(rec);
	return c;
}

enum ss_check ss_audit_log(const struct ss_log_export *log, const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN],
			   const char *origin, struct ss_check_result *res)
{
	struct replay r;
	struct ss_note *note = NULL;
	struct ss_checkpoint cp;
	uint8_t(*leaves)[32] = NULL, root[32];
	enum ss_check c = SS_CHECK_OK;
	size_t i;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	memcpy(r.pk, pk, sizeof(r.pk));
	r.res = res;
	for (i = 0; i < log->n_entries && c == SS_CHECK_OK; i++) {
		c = replay_entry(&r, &log->entries[i], i);
		if (c != SS_CHECK_OK)
			res->entry = i;
	}
	/* The checkpoint is signed with the key in force at the end of the log. */
	if (c == SS_CHECK_OK)
		c = audit_checkpoint(&log->checkpoint, r.pk, origin, &note, &cp, res);
	if (c == SS_CHECK_OK) {
		leaves = malloc((log->n_entries ? log->n_entries : 1) * 32);
		if (leaves == NULL)
			c = audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
	}
	if (c == SS_CHECK_OK) {
		for (i = 0; i < log->n_entries; i++)
			ss_record_leaf_hash(log->entries[i].rec.record.data,
					    log->entries[i].rec.record.len, leaves[i]);
		ss_merkle_root((const uint8_t(*)[32])leaves, log->n_entries, root);
		if (cp.size != log->n_entries || memcmp(root, cp.root, 32) != 0)
			c = audit_fail(res, SS_CHECK_TREE_ROOT,
				       "the %zu exported leaves do not give the checkpoint's tree "
				       "(size %llu)",
				       log->n_entries, (unsigned long long)cp.size);
	}
	free(leaves);
	ss_note_free(note);
	replay_free(&r);
	return c;
}
