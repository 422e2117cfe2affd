/*
 * audit.c — receipt and consistency verification, and the checks shared
 * with the log replay (audit_log.c).  docs/receipt.md §4 lists the checks
 * in the order they run here.
 */
#include "audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "audit_int.h"
#include "draw.h"
#include "draw_int.h"
#include "merkle.h"
#include "note.h"
#include "record.h"
#include "ss_error.h"

static const char *const check_names[] = {
    [SS_CHECK_OK] = "ok",
    [SS_CHECK_FORMAT] = "format",
    [SS_CHECK_KEY] = "key",
    [SS_CHECK_RECORD_SIGNATURE] = "record-signature",
    [SS_CHECK_CHECKPOINT_FORMAT] = "checkpoint-format",
    [SS_CHECK_CHECKPOINT_SIGNATURE] = "checkpoint-signature",
    [SS_CHECK_INCLUSION] = "inclusion",
    [SS_CHECK_TREE_ROOT] = "tree-root",
    [SS_CHECK_CONSISTENCY] = "consistency",
    [SS_CHECK_KEY_ROTATION] = "key-rotation",
    [SS_CHECK_LINK] = "link",
    [SS_CHECK_COMMITMENT] = "commitment",
    [SS_CHECK_POPULATION_DIGEST] = "population-digest",
    [SS_CHECK_INSPECTORS_DIGEST] = "inspectors-digest",
    [SS_CHECK_CONFLICTS_DIGEST] = "conflicts-digest",
    [SS_CHECK_SEED] = "seed",
    [SS_CHECK_SELECTION] = "selection",
    [SS_CHECK_MATCHING] = "matching",
    [SS_CHECK_SEQUENCE] = "sequence",
    [SS_CHECK_RECUSAL] = "recusal",
    [SS_CHECK_RESOURCES] = "resources",
};

const char *ss_check_name(enum ss_check check)
{
	if ((unsigned)check >= sizeof(check_names) / sizeof(check_names[0]))
		return "unknown";
	return check_names[check];
}

int ss_check_class(enum ss_check check)
{
	switch (check) {
	case SS_CHECK_OK:
		return SS_VERIFY_EXIT_OK;
	case SS_CHECK_FORMAT:
	case SS_CHECK_CHECKPOINT_FORMAT:
		return SS_VERIFY_EXIT_FORMAT;
	case SS_CHECK_KEY:
	case SS_CHECK_RECORD_SIGNATURE:
	case SS_CHECK_CHECKPOINT_SIGNATURE:
	case SS_CHECK_KEY_ROTATION:
		return SS_VERIFY_EXIT_SIGNATURE;
	case SS_CHECK_INCLUSION:
	case SS_CHECK_TREE_ROOT:
	case SS_CHECK_CONSISTENCY:
		return SS_VERIFY_EXIT_LOG;
	case SS_CHECK_RESOURCES:
		return SS_VERIFY_EXIT_RESOURCES;
	default:
		return SS_VERIFY_EXIT_RECOMPUTE;
	}
}

enum ss_check audit_fail(struct ss_check_result *res, enum ss_check c, const char *fmt, ...)
{
	va_list ap;

	res->check = c;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	return c;
}

void audit_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	/* EVP for its SHA-NI code: population snapshots run to 76 MB. */
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1)
		crypto_hash_sha256(out, data, len);
}

/* ---- checkpoints ---- */

/*
 * The note must be exactly what ss_note_sign writes: rebuilding it from the
 * parsed parts catches base64 with non-zero padding bits, which a decoder may
 * ignore, so that no bit of a receipt can change without detection.
 */
static int note_canonical(const struct ss_note *note, const struct ss_blob *raw)
{
	char b64[sodium_base64_ENCODED_LEN(SS_NOTE_KEY_HASH_LEN + SS_NOTE_MAX_SIG_BYTES,
					   sodium_base64_VARIANT_ORIGINAL)];
	uint8_t blob[SS_NOTE_KEY_HASH_LEN + SS_NOTE_MAX_SIG_BYTES];
	const uint8_t *p = raw->data, *end = raw->data + raw->len;
	size_t i, n;

	if (note->text_len + 1 > raw->len || memcmp(p, note->text, note->text_len) != 0 ||
	    p[note->text_len] != '\n')
		return 0;
	p += note->text_len + 1;
	for (i = 0; i < note->n_sigs; i++) {
		const struct ss_note_signature *s = &note->sigs[i];

		memcpy(blob, s->key_hash, SS_NOTE_KEY_HASH_LEN);
		memcpy(blob + SS_NOTE_KEY_HASH_LEN, s->sig, s->sig_len);
		sodium_bin2base64(b64, sizeof(b64), blob, SS_NOTE_KEY_HASH_LEN + s->sig_len,
				  sodium_base64_VARIANT_ORIGINAL);
		n = strlen(s->name);
		if ((size_t)(end - p) < 4 + n + 1 + strlen(b64) + 1 ||
		    memcmp(p, "\xe2\x80\x94 ", 4) != 0 || memcmp(p + 4, s->name, n) != 0 ||
		    p[4 + n] != ' ' || memcmp(p + 5 + n, b64, strlen(b64)) != 0 ||
		    p[5 + n + strlen(b64)] != '\n')
			return 0;
		p += 6 + n + strlen(b64);
	}
	return p == end;
}

enum ss_check audit_checkpoint(const struct ss_blob *raw, const uint8_t pk[32], const char *origin,
			       struct ss_note **note_out, struct ss_checkpoint *cp,
			       struct ss_check_result *res)
{
	struct ss_note_verifier v;
	struct ss_note *note = NULL;
	int rc;

	*note_out = NULL;
	if (ss_note_parse((const char *)raw->data, raw->len, &note) != 0 ||
	    !note_canonical(note, raw) ||
	    ss_checkpoint_parse(note->text, note->text_len, cp) != 0) {
		ss_note_free(note);
		return audit_fail(res, SS_CHECK_CHECKPOINT_FORMAT,
				  "the checkpoint is not a canonical signed tlog checkpoint");
	}
	if (cp->origin_len > SS_NOTE_MAX_NAME ||
	    (origin != NULL && (strlen(origin) != cp->origin_len ||
				memcmp(origin, cp->origin, cp->origin_len) != 0))) {
		ss_note_free(note);
		return audit_fail(res, SS_CHECK_CHECKPOINT_SIGNATURE,
				  "the checkpoint is for another log (origin %.*s)",
				  (int)(cp->origin_len > 100 ? 100 : cp->origin_len), cp->origin);
	}
	/* The note key's name is the log's origin, as C2SP tlog-checkpoint recommends. */
	memset(&v, 0, sizeof(v));
	memcpy(v.name, cp->origin, cp->origin_len);
	ss_note_key_hash(v.name, pk, v.key_hash);
	memcpy(v.public_key, pk, 32);
	rc = ss_note_verify(note, &v);
	if (rc != 0) {
		ss_note_free(note);
		return audit_fail(res, SS_CHECK_CHECKPOINT_SIGNATURE,
				  rc == SS_ERR_NOT_FOUND
				      ? "the checkpoint is not signed by the given key"
				      : "the checkpoint signature does not verify");
	}
	*note_out = note;
	return SS_CHECK_OK;
}

/* ---- records ---- */

enum ss_check audit_signed(const struct ss_signed *s, enum ss_record_type want,
			   const uint8_t pk[32], const char *what, struct ss_record **out,
			   struct ss_check_result *res)
{
	uint8_t id[SS_SIG_KEY_ID_LEN];
	int rc;

	*out = NULL;
	if (ss_record_peek_type(s->record.data, s->record.len) != want)
		return audit_fail(res, SS_CHECK_FORMAT, "%s: not a %s record", what,
				  ss_record_type_name(want));
	rc = ss_record_verify(pk, s->record.data, s->record.len, s->sig.data, s->sig.len);
	if (rc == SS_ERR_NOT_FOUND)
		return audit_fail(res, SS_CHECK_KEY, "%s: signed by another key", what);
	if (rc != 0)
		return audit_fail(res, SS_CHECK_RECORD_SIGNATURE,
				  "%s: the signature does not verify", what);
	rc = ss_record_parse(s->record.data, s->record.len, out);
	if (rc == SS_ERR_NOMEM)
		return audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
	if (rc != 0)
		return audit_fail(res, SS_CHECK_FORMAT, "%s: not a canonical record", what);
	ss_sig_key_id(pk, id);
	if (memcmp(id, (*out)->key_id, sizeof(id)) != 0) {
		ss_record_free(*out);
		*out = NULL;
		return audit_fail(res, SS_CHECK_KEY, "%s: the record names another key id", what);
	}
	return SS_CHECK_OK;
}

static int str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

enum ss_check audit_draw_vs_open(const struct ss_record *d, const struct ss_record *o,
				 const uint8_t open_hash[32], struct ss_check_result *res)
{
	size_t i;

	if (memcmp(d->open_hash, open_hash, 32) != 0)
		return audit_fail(res, SS_CHECK_LINK,
				  "the draw does not name this draw-open record");
	if (!str_eq(d->task, o->task) || !str_eq(d->params, o->params) ||
	    d->group_size != o->group_size || d->experts_per_object != o->experts_per_object ||
	    d->workload_cap != o->workload_cap || d->pool_size != o->pool_size ||
	    d->conflicts_size != o->conflicts_size ||
	    memcmp(d->pool_digest, o->pool_digest, 32) != 0 ||
	    memcmp(d->conflicts_digest, o->conflicts_digest, 32) != 0 ||
	    memcmp(d->commitment, o->commitment, 32) != 0 || d->n_strata != o->n_strata)
		return audit_fail(res, SS_CHECK_LINK,
				  "the draw's task, parameters, snapshots or commitment differ "
				  "from the draw-open record");
	for (i = 0; i < d->n_strata; i++)
		if (!str_eq(d->strata[i].name, o->strata[i].name) ||
		    d->strata[i].k != o->strata[i].k || d->strata[i].size != o->strata[i].size ||
		    memcmp(d->strata[i].digest, o->strata[i].digest, 32) != 0)
			return audit_fail(res, SS_CHECK_LINK,
					  "stratum %zu differs from the draw-open record", i + 1);
	return SS_CHECK_OK;
}

/* Without a waiver the contributions come from exactly the expected witnesses, in order. */
enum ss_check audit_witness_set(const struct ss_record *d, const struct ss_record *o,
				struct ss_check_result *res)
{
	size_t i, j;

	if (!d->waived) {
		if (d->n_witnesses != o->n_witnesses)
			return audit_fail(res, SS_CHECK_LINK,
					  "%zu witnesses expected, %zu contributed, no waiver",
					  o->n_witnesses, d->n_witnesses);
		for (i = 0; i < d->n_witnesses; i++)
			if (!str_eq(d->witnesses[i].principal, o->witnesses[i].principal))
				return audit_fail(res, SS_CHECK_LINK,
						  "witness %zu is not the expected one", i + 1);
		return SS_CHECK_OK;
	}
	for (i = 0; i < d->n_witnesses; i++) {
		for (j = 0; j < o->n_witnesses; j++)
			if (str_eq(d->witnesses[i].principal, o->witnesses[j].principal))
				break;
		if (j == o->n_witnesses)
			return audit_fail(res, SS_CHECK_LINK, "witness %zu was not expected",
					  i + 1);
	}
	return SS_CHECK_OK;
}

/* ---- recomputation ---- */

struct snapshots {
	char **bufs; /* mutable copies, one per population, then pool, then conflicts */
	size_t n_bufs;
	const char ***ids;
	size_t *n_ids;
	struct ss_inspector *pool;
	size_t n_pool;
	struct ss_conflict *conf;
	size_t n_conf;
};

static void snapshots_free(struct snapshots *s)
{
	size_t i;

	for (i = 0; i < s->n_bufs; i++)
		free(s->bufs[i]);
	free(s->bufs);
	if (s->ids != NULL)
		for (i = 0; i < s->n_bufs; i++)
			free(s->ids[i]);
	free(s->ids);
	free(s->n_ids);
	free(s->pool);
	free(s->conf);
}

static char *blob_copy(const struct ss_blob *b)
{
	char *p = malloc(b->len + 1);

	if (p != NULL) {
		memcpy(p, b->data, b->len);
		p[b->len] = '\0';
	}
	return p;
}

/* Digests first (the snapshot as published), then the parse (the snapshot as used). */
static enum ss_check snapshots_load(const struct ss_record *d, size_t n_pops,
				    const struct ss_blob *pops, const struct ss_blob *insp,
				    const struct ss_blob *conf, int in_place, struct snapshots *s,
				    struct ss_check_result *res)
{
	uint8_t dg[32];
	size_t i;
	int rc;

	memset(s, 0, sizeof(*s));
	if (n_pops != d->n_strata)
		return audit_fail(res, SS_CHECK_POPULATION_DIGEST,
				  "%zu population snapshots for %zu strata", n_pops, d->n_strata);
	for (i = 0; i < n_pops; i++) {
		audit_sha256(pops[i].data, pops[i].len, dg);
		if (memcmp(dg, d->strata[i].digest, 32) != 0)
			return audit_fail(
			    res, SS_CHECK_POPULATION_DIGEST,
			    "the population snapshot of stratum %s does not match its "
			    "digest",
			    d->strata[i].name);
	}
	audit_sha256(insp->data, insp->len, dg);
	if (memcmp(dg, d->pool_digest, 32) != 0)
		return audit_fail(res, SS_CHECK_INSPECTORS_DIGEST,
				  "the inspector pool snapshot does not match its digest");
	audit_sha256(conf->data, conf->len, dg);
	if (memcmp(dg, d->conflicts_digest, 32) != 0)
		return audit_fail(res, SS_CHECK_CONFLICTS_DIGEST,
				  "the conflict snapshot does not match its digest");
	s->bufs = calloc(n_pops + 2, sizeof(*s->bufs));
	s->ids = calloc(n_pops + 2, sizeof(*s->ids));
	s->n_ids = calloc(n_pops + 2, sizeof(*s->n_ids));
	if (s->bufs == NULL || s->ids == NULL || s->n_ids == NULL)
		return audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
	s->n_bufs = in_place ? 0 : n_pops + 2;
	for (i = 0; i < n_pops + 2; i++) {
		const struct ss_blob *b = i < n_pops ? &pops[i] : i == n_pops ? insp : conf;

		/* In place: the bytes are the parsed receipt's private copy (audit_int.h). */
		s->bufs[i] = in_place ? (char *)(uintptr_t)b->data : blob_copy(b);
		if (s->bufs[i] == NULL)
			return audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
	}
	for (i = 0; i < n_pops; i++) {
		rc =
		    ss_snapshot_population_parse(s->bufs[i], pops[i].len, &s->ids[i], &s->n_ids[i]);
		if (rc != 0 || s->n_ids[i] != d->strata[i].size)
			return audit_fail(res,
					  rc == SS_ERR_NOMEM ? SS_CHECK_RESOURCES : SS_CHECK_FORMAT,
					  "the population snapshot of stratum %s is malformed",
					  d->strata[i].name);
	}
	rc = ss_snapshot_pool_parse(s->bufs[n_pops], insp->len, &s->pool, &s->n_pool);
	if (rc != 0 || s->n_pool != d->pool_size)
		return audit_fail(res, rc == SS_ERR_NOMEM ? SS_CHECK_RESOURCES : SS_CHECK_FORMAT,
				  "the inspector pool snapshot is malformed");
	rc = ss_snapshot_conflicts_parse(s->bufs[n_pops + 1], conf->len, &s->conf, &s->n_conf);
	if (rc != 0 || s->n_conf != d->conflicts_size)
		return audit_fail(res, rc == SS_ERR_NOMEM ? SS_CHECK_RESOURCES : SS_CHECK_FORMAT,
				  "the conflict snapshot is malformed");
	return SS_CHECK_OK;
}

enum ss_check audit_seed(const struct ss_record *d, struct ss_check_result *res)
{
	uint8_t commitment[32];
	const char **names;
	uint8_t(*digests)[32];
	struct ss_witness *w;
	char seed[65];
	size_t i;
	int rc;

	ss_draw_commitment(d->r, commitment);
	if (memcmp(commitment, d->commitment, 32) != 0)
		return audit_fail(res, SS_CHECK_COMMITMENT, "SHA-256(r) is not the commitment");
	names = calloc(d->n_strata, sizeof(*names));
	digests = calloc(d->n_strata, 32);
	w = calloc(d->n_witnesses + 1, sizeof(*w));
	if (names == NULL || digests == NULL || w == NULL) {
		free(names);
		free(digests);
		free(w);
		return audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
	}
	for (i = 0; i < d->n_strata; i++) {
		names[i] = d->strata[i].name;
		memcpy(digests[i], d->strata[i].digest, 32);
	}
	for (i = 0; i < d->n_witnesses; i++) {
		w[i].principal = d->witnesses[i].principal;
		w[i].entropy = d->witnesses[i].entropy;
	}
	rc = ss_draw_seed(d->task, d->r, w, d->n_witnesses, names, (const uint8_t(*)[32])digests,
			  d->n_strata, d->pool_digest, d->conflicts_digest, seed);
	free(names);
	free(digests);
	free(w);
	if (rc != 0 || strcmp(seed, d->seed) != 0)
		return audit_fail(res, SS_CHECK_SEED,
				  "the seed is not the hash of r, the witness entropy, the digests "
				  "and the task");
	return SS_CHECK_OK;
}

static int ids_equal(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

enum ss_check audit_recompute(const struct ss_record *d, size_t n_pops, const struct ss_blob *pops,
			      const struct ss_blob *insp, const struct ss_blob *conf, int in_place,
			      struct audit_pool *pool_out, struct ss_check_result *res)
{
	struct snapshots s;
	struct ss_draw_input in;
	struct ss_draw_stratum *strata = NULL;
	struct ss_witness *w = NULL;
	struct ss_record *again = NULL;
	size_t i, p;
	enum ss_check c;
	int rc;

	c = audit_seed(d, res);
	if (c != SS_CHECK_OK)
		return c;
	c = snapshots_load(d, n_pops, pops, insp, conf, in_place, &s, res);
	if (c != SS_CHECK_OK)
		goto out;
	strata = calloc(d->n_strata, sizeof(*strata));
	w = calloc(d->n_witnesses + 1, sizeof(*w));
	if (strata == NULL || w == NULL) {
		c = audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
		goto out;
	}
	for (i = 0; i < d->n_strata; i++) {
		strata[i].name = d->strata[i].name;
		strata[i].k = d->strata[i].k;
		strata[i].ids = s.ids[i];
		strata[i].n = s.n_ids[i];
	}
	for (i = 0; i < d->n_witnesses; i++) {
		w[i].principal = d->witnesses[i].principal;
		w[i].entropy = d->witnesses[i].entropy;
	}
	memset(&in, 0, sizeof(in));
	in.task = d->task;
	in.params = d->params;
	in.open_hash = d->open_hash;
	in.strata = strata;
	in.n_strata = d->n_strata;
	in.pool = s.pool;
	in.n_pool = s.n_pool;
	in.conflicts = s.conf;
	in.n_conflicts = s.n_conf;
	in.group_size = d->group_size;
	in.experts_per_object = d->experts_per_object;
	in.workload_cap = d->workload_cap;
	in.r = d->r;
	in.witnesses = w;
	in.n_witnesses = d->n_witnesses;
	in.waiver_principal = d->waived ? d->principal : NULL;
	in.waiver_reason = d->waived ? d->reason : NULL;
	in.timestamp = d->timestamp;
	in.key_id = d->key_id;
	{
		/* The digests were checked above, over the snapshots just parsed strictly. */
		uint8_t(*pd)[32] = calloc(d->n_strata, 32);
		struct ss_draw_digests known;

		if (pd == NULL) {
			c = audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
			goto out;
		}
		for (i = 0; i < d->n_strata; i++)
			memcpy(pd[i], d->strata[i].digest, 32);
		known.population = (const uint8_t(*)[32])pd;
		known.pool = d->pool_digest;
		known.conflicts = d->conflicts_digest;
		rc = ss_draw_compute_known(&in, &known, &again);
		free(pd);
	}
	if (rc != 0) {
		c = audit_fail(res, rc == SS_ERR_NOMEM ? SS_CHECK_RESOURCES : SS_CHECK_SELECTION,
			       "the draw cannot be recomputed from these snapshots");
		goto out;
	}
	for (i = 0; i < d->n_strata; i++) {
		const struct ss_rec_stratum *x = &d->strata[i], *y = &again->strata[i];

		if (x->n_picks != y->n_picks) {
			c = audit_fail(res, SS_CHECK_SELECTION, "stratum %s: wrong number drawn",
				       x->name);
			goto out;
		}
		for (p = 0; p < x->n_picks; p++)
			if (strcmp(x->picks[p].id, y->picks[p].id) != 0 ||
			    strcmp(x->picks[p].ticket, y->picks[p].ticket) != 0) {
				c = audit_fail(res, SS_CHECK_SELECTION,
					       "stratum %s: drawn object %zu should be %s", x->name,
					       p + 1, y->picks[p].id);
				goto out;
			}
	}
	for (i = 0; i < d->n_matches; i++) {
		const struct ss_rec_match *x = &d->matches[i], *y = &again->matches[i];

		if (!ids_equal(x->inspectors, x->n_inspectors, y->inspectors, y->n_inspectors) ||
		    !ids_equal(x->experts, x->n_experts, y->experts, y->n_experts) ||
		    x->inspector_shortfall != y->inspector_shortfall ||
		    x->expert_shortfall != y->expert_shortfall) {
			c = audit_fail(res, SS_CHECK_MATCHING,
				       "the inspectors matched to %s are not the recomputed ones",
				       x->object);
			goto out;
		}
	}
	/*
	 * Every other field of the recomputed record was copied from the record
	 * (task, parameters, witnesses, time), or checked above (sizes, digests,
	 * commitment, seed): re-encoding 28 MB to compare it again would prove
	 * nothing more.
	 */
	c = SS_CHECK_OK;
	if (pool_out != NULL) {
		/* Hand the pool and conflicts over for recusal checks. */
		pool_out->bufs = s.bufs;
		pool_out->n_bufs = s.n_bufs;
		pool_out->pool = s.pool;
		pool_out->n_pool = s.n_pool;
		pool_out->conf = s.conf;
		pool_out->n_conf = s.n_conf;
		s.bufs = NULL;
		s.n_bufs = 0;
		s.pool = NULL;
		s.conf = NULL;
	}
out:
	ss_record_free(again);
	free(strata);
	free(w);
	if (s.ids != NULL)
		for (i = 0; i < n_pops + 2; i++) {
			free(s.ids[i]);
			s.ids[i] = NULL;
		}
	snapshots_free(&s);
	return c;
}

void audit_pool_free(struct audit_pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_bufs; i++)
		free(p->bufs[i]);
	free(p->bufs);
	free(p->pool);
	free(p->conf);
	memset(p, 0, sizeof(*p));
}

/* ---- receipt ---- */

static enum ss_check receipt_records(const struct ss_receipt *rc, const uint8_t pk[32],
				     struct ss_record **open, struct ss_record **draw,
				     struct ss_check_result *res)
{
	struct ss_record *w;
	enum ss_check c;
	size_t i;

	c = audit_signed(&rc->draw, SS_REC_DRAW, pk, "draw record", draw, res);
	if (c != SS_CHECK_OK)
		return c;
	c = audit_signed(&rc->open, SS_REC_DRAW_OPEN, pk, "draw-open record", open, res);
	if (c != SS_CHECK_OK)
		return c;
	for (i = 0; i < rc->n_witnesses; i++) {
		c = audit_signed(&rc->witnesses[i], SS_REC_WITNESS, pk, "witness record", &w, res);
		if (c != SS_CHECK_OK)
			return c;
		ss_record_free(w);
	}
	if (rc->has_waiver) {
		c = audit_signed(&rc->waiver, SS_REC_WITNESS_WAIVER, pk, "witness-waiver record",
				 &w, res);
		if (c != SS_CHECK_OK)
			return c;
		ss_record_free(w);
	}
	return SS_CHECK_OK;
}

/* The witness and waiver records of the receipt are the draw's contributions. */
static enum ss_check receipt_links(const struct ss_receipt *rc, const struct ss_record *d,
				   const struct ss_record *o, struct ss_check_result *res)
{
	uint8_t open_hash[32];
	struct ss_record *w = NULL;
	enum ss_check c;
	size_t i;
	int ok;

	ss_record_leaf_hash(rc->open.record.data, rc->open.record.len, open_hash);
	c = audit_draw_vs_open(d, o, open_hash, res);
	if (c == SS_CHECK_OK)
		c = audit_witness_set(d, o, res);
	if (c != SS_CHECK_OK)
		return c;
	if (rc->n_witnesses != d->n_witnesses || rc->has_waiver != d->waived)
		return audit_fail(res, SS_CHECK_LINK,
				  "the receipt's witness records are not the draw's");
	for (i = 0; i < rc->n_witnesses; i++) {
		if (ss_record_parse(rc->witnesses[i].record.data, rc->witnesses[i].record.len,
				    &w) != 0)
			return audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
		ok = str_eq(w->task, d->task) && memcmp(w->open_hash, open_hash, 32) == 0 &&
		     str_eq(w->principal, d->witnesses[i].principal) &&
		     str_eq(w->entropy, d->witnesses[i].entropy);
		ss_record_free(w);
		if (!ok)
			return audit_fail(res, SS_CHECK_LINK,
					  "witness record %zu is not the draw's contribution %zu",
					  i + 1, i + 1);
	}
	if (rc->has_waiver) {
		if (ss_record_parse(rc->waiver.record.data, rc->waiver.record.len, &w) != 0)
			return audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
		ok = str_eq(w->task, d->task) && memcmp(w->open_hash, open_hash, 32) == 0 &&
		     str_eq(w->principal, d->principal) && str_eq(w->reason, d->reason);
		ss_record_free(w);
		if (!ok)
			return audit_fail(res, SS_CHECK_LINK,
					  "the witness-waiver record is not the draw's waiver");
	}
	return SS_CHECK_OK;
}

enum ss_check ss_audit_receipt(const uint8_t *data, size_t len,
			       const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const char *origin,
			       struct ss_check_result *res)
{
	struct ss_receipt *rc = NULL;
	struct ss_record *open = NULL, *draw = NULL;
	struct ss_note *note = NULL;
	struct ss_checkpoint cp;
	uint8_t leaf[32];
	enum ss_check c;
	int prc;

	memset(res, 0, sizeof(*res));
	prc = ss_receipt_parse(data, len, &rc);
	if (prc != 0)
		return audit_fail(res, prc == SS_ERR_NOMEM ? SS_CHECK_RESOURCES : SS_CHECK_FORMAT,
				  "not a receipt in the documented container format");
	c = receipt_records(rc, pk, &open, &draw, res);
	if (c == SS_CHECK_OK)
		c = audit_checkpoint(&rc->checkpoint, pk, origin, &note, &cp, res);
	if (c == SS_CHECK_OK) {
		ss_record_leaf_hash(rc->draw.record.data, rc->draw.record.len, leaf);
		if (rc->tree_size != cp.size ||
		    ss_merkle_verify_inclusion(rc->leaf_index, rc->tree_size, leaf, rc->proof,
					       rc->proof_len, cp.root) != 0)
			c = audit_fail(res, SS_CHECK_INCLUSION,
				       "the draw record is not leaf %llu of the checkpoint's tree",
				       (unsigned long long)rc->leaf_index);
	}
	if (c == SS_CHECK_OK)
		c = receipt_links(rc, draw, open, res);
	if (c == SS_CHECK_OK)
		c = audit_recompute(draw, rc->n_populations, rc->populations, &rc->inspectors,
				    &rc->conflicts, 1, NULL, res);
	ss_note_free(note);
	ss_record_free(open);
	ss_record_free(draw);
	ss_receipt_free(rc);
	return c;
}

/* ---- consistency ---- */

enum ss_check ss_audit_consistency(const struct ss_blob *old_cp, const struct ss_blob *new_cp,
				   const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const uint8_t *new_pk,
				   const char *origin, const struct ss_blob *proof,
				   const struct ss_log_export *log, struct ss_check_result *res)
{
	struct ss_note *n1 = NULL, *n2 = NULL;
	struct ss_checkpoint c1, c2;
	uint8_t hashes[SS_MERKLE_MAX_PROOF][32], root[32];
	uint8_t(*leaves)[32] = NULL;
	uint64_t s1, s2;
	size_t plen, i;
	enum ss_check c;

	memset(res, 0, sizeof(*res));
	c = audit_checkpoint(old_cp, pk, origin, &n1, &c1, res);
	if (c == SS_CHECK_OK)
		c = audit_checkpoint(new_cp, new_pk != NULL ? new_pk : pk, origin, &n2, &c2, res);
	if (c == SS_CHECK_OK &&
	    (c1.origin_len != c2.origin_len || memcmp(c1.origin, c2.origin, c1.origin_len) != 0))
		c = audit_fail(res, SS_CHECK_CONSISTENCY, "the checkpoints are of different logs");
	if (c == SS_CHECK_OK && proof != NULL) {
		if (ss_consistency_parse(proof->data, proof->len, &s1, &s2, hashes, &plen) != 0)
			c = audit_fail(res, SS_CHECK_FORMAT, "not a consistency proof file");
		else if (s1 != c1.size || s2 != c2.size ||
			 ss_merkle_verify_consistency(c1.size, c2.size, c1.root, c2.root,
						      (const uint8_t(*)[32])hashes, plen) != 0)
			c = audit_fail(res, SS_CHECK_CONSISTENCY,
				       "the new checkpoint does not extend the old one");
	} else if (c == SS_CHECK_OK && log != NULL) {
		leaves = malloc((log->n_entries ? log->n_entries : 1) * 32);
		if (leaves == NULL)
			c = audit_fail(res, SS_CHECK_RESOURCES, "out of memory");
		for (i = 0; c == SS_CHECK_OK && i < log->n_entries; i++)
			ss_record_leaf_hash(log->entries[i].rec.record.data,
					    log->entries[i].rec.record.len, leaves[i]);
		if (c == SS_CHECK_OK && (c2.size > log->n_entries || c1.size > c2.size))
			c = audit_fail(res, SS_CHECK_CONSISTENCY,
				       "the export has %zu leaves, fewer than the checkpoints",
				       log->n_entries);
		if (c == SS_CHECK_OK) {
			ss_merkle_root((const uint8_t(*)[32])leaves, (size_t)c2.size, root);
			if (memcmp(root, c2.root, 32) != 0)
				c = audit_fail(
				    res, SS_CHECK_TREE_ROOT,
				    "the export's leaves do not give the new checkpoint's "
				    "root");
		}
		if (c == SS_CHECK_OK) {
			ss_merkle_root((const uint8_t(*)[32])leaves, (size_t)c1.size, root);
			if (memcmp(root, c1.root, 32) != 0)
				c = audit_fail(
				    res, SS_CHECK_CONSISTENCY,
				    "the old checkpoint's tree is not a prefix of the new "
				    "one");
		}
	}
	free(leaves);
	ss_note_free(n1);
	ss_note_free(n2);
	return c;
}
