/*
 * record_parse.c — strict parsing, signing and verification of log records.
 *
 * The parser copies the record into the record's arena once and cuts it in
 * place (separators become NULs), so a 20 MB draw record costs one copy,
 * one pass, and the re-encoding that proves it canonical.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "record.h"
#include "record_int.h"
#include "rectext.h"
#include "ss_error.h"

#define RP_FIELDS 6

struct rp {
	char *p, *end;
	struct ss_arena *a;
	int bad;
	char *f[RP_FIELDS];
	size_t fl[RP_FIELDS];
};

/* 1 if the next line has the key key. */
static int rp_is(const struct rp *r, const char *key)
{
	size_t n = strlen(key);

	return (size_t)(r->end - r->p) > n && memcmp(r->p, key, n) == 0 &&
	       (r->p[n] == ' ' || r->p[n] == '\n');
}

/*
 * Takes the next line, which must be key followed by exactly nf
 * space-separated fields; with rest, the last field runs to the end of the
 * line (texts may contain spaces).
 */
static void rp_take(struct rp *r, const char *key, size_t nf, int rest)
{
	char *nl, *q, *sp;
	size_t i, klen = strlen(key);

	if (r->bad || !rp_is(r, key)) {
		r->bad = 1;
		return;
	}
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	if (nl == NULL) {
		r->bad = 1;
		return;
	}
	*nl = '\0';
	q = r->p + klen;
	r->p = nl + 1;
	for (i = 0; i < nf; i++) {
		if (*q != ' ') {
			r->bad = 1;
			return;
		}
		*q++ = '\0';
		r->f[i] = q;
		sp = (i + 1 == nf && rest) ? NULL : strchr(q, ' ');
		if (i + 1 == nf && sp != NULL) {
			r->bad = 1;
			return;
		}
		r->fl[i] = sp != NULL ? (size_t)(sp - q) : strlen(q);
		q += r->fl[i];
	}
	if (*q != '\0')
		r->bad = 1;
}

/* Takes a line key object id...; *ids (in the arena) gets the ids after the object. */
static void rp_take_list(struct rp *r, const char *key, const char **object, const char ***ids,
			 size_t *n)
{
	char *nl, *q;
	size_t count = 0, i;

	*object = NULL;
	*ids = NULL;
	*n = 0;
	if (r->bad || !rp_is(r, key)) {
		r->bad = 1;
		return;
	}
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	if (nl == NULL) {
		r->bad = 1;
		return;
	}
	*nl = '\0';
	q = r->p + strlen(key);
	r->p = nl + 1;
	for (i = 0; q[i] != '\0'; i++)
		count += q[i] == ' ';
	if (count == 0 || count - 1 > SS_GROUP_MAX) {
		r->bad = 1;
		return;
	}
	*ids = ss_arena_calloc(r->a, count, sizeof(char *));
	if (*ids == NULL) {
		r->bad = 1;
		return;
	}
	for (i = 0; i < count; i++) {
		*q++ = '\0';
		if (i == 0)
			*object = q;
		else
			(*ids)[i - 1] = q;
		while (*q != ' ' && *q != '\0')
			q++;
	}
	*n = count - 1;
}

static uint64_t rp_u64(struct rp *r, size_t i)
{
	uint64_t v = 0;

	if (!r->bad && ss_parse_u64(r->f[i], r->fl[i], &v) != 0)
		r->bad = 1;
	return v;
}

static void rp_hex(struct rp *r, size_t i, uint8_t *out, size_t n)
{
	if (!r->bad && ss_parse_hex(r->f[i], r->fl[i], out, n) != 0)
		r->bad = 1;
}

static const char *rp_text(struct rp *r, size_t i)
{
	size_t n;

	if (r->bad || ss_text_decode(r->f[i], r->fl[i], r->f[i], &n) != 0) {
		r->bad = 1;
		return NULL;
	}
	r->f[i][n] = '\0';
	return r->f[i];
}

static const char *rp_line_token(struct rp *r, const char *key)
{
	rp_take(r, key, 1, 0);
	return r->bad ? NULL : r->f[0];
}

static void rp_line_hex(struct rp *r, const char *key, uint8_t *out, size_t n)
{
	rp_take(r, key, 1, 0);
	rp_hex(r, 0, out, n);
}

static const char *rp_line_text(struct rp *r, const char *key)
{
	rp_take(r, key, 1, 1);
	return rp_text(r, 0);
}

static void rp_time_key(struct rp *r, struct ss_record *rec, int with_key_id)
{
	rp_take(r, "timestamp", 1, 0);
	if (!r->bad && ss_parse_time(r->f[0], r->fl[0], &rec->timestamp) != 0)
		r->bad = 1;
	if (with_key_id)
		rp_line_hex(r, "key-id", rec->key_id, SS_SIG_KEY_ID_LEN);
}

static void rp_params(struct rp *r, struct ss_record *rec)
{
	size_t n = 0, i;
	char *scan;

	rec->task = rp_line_token(r, "task");
	rec->params = rp_line_text(r, "params");
	rp_take(r, "group-size", 1, 0);
	rec->group_size = rp_u64(r, 0);
	rp_take(r, "experts-per-object", 1, 0);
	rec->experts_per_object = rp_u64(r, 0);
	rp_take(r, "workload-cap", 1, 0);
	rec->workload_cap = rp_u64(r, 0);
	rp_take(r, "inspectors", 2, 0);
	rec->pool_size = rp_u64(r, 0);
	rp_hex(r, 1, rec->pool_digest, 32);
	rp_take(r, "conflicts", 2, 0);
	rec->conflicts_size = rp_u64(r, 0);
	rp_hex(r, 1, rec->conflicts_digest, 32);
	/* Count the stratum lines first, to allocate once. */
	for (scan = r->p; !r->bad && scan < r->end && n <= SS_STRATA_MAX; n++) {
		struct rp peek = *r;

		peek.p = scan;
		if (!rp_is(&peek, "stratum"))
			break;
		scan = memchr(scan, '\n', (size_t)(r->end - scan));
		if (scan == NULL)
			break;
		scan++;
	}
	if (r->bad || n == 0 || n > SS_STRATA_MAX) {
		r->bad = 1;
		return;
	}
	rec->strata = ss_arena_calloc(r->a, n, sizeof(*rec->strata));
	if (rec->strata == NULL) {
		r->bad = 1;
		return;
	}
	rec->n_strata = n;
	for (i = 0; i < n; i++) {
		rp_take(r, "stratum", 4, 0);
		if (r->bad)
			return;
		rec->strata[i].name = r->f[0];
		rec->strata[i].k = rp_u64(r, 1);
		rec->strata[i].size = rp_u64(r, 2);
		rp_hex(r, 3, rec->strata[i].digest, 32);
	}
	rp_line_hex(r, "commitment", rec->commitment, 32);
}

/* Counts the lines with key key from the cursor on, at most max + 1. */
static size_t rp_count(const struct rp *r, const char *key, size_t max)
{
	struct rp peek = *r;
	size_t n = 0;
	char *nl;

	while (n <= max && rp_is(&peek, key)) {
		nl = memchr(peek.p, '\n', (size_t)(peek.end - peek.p));
		if (nl == NULL)
			break;
		peek.p = nl + 1;
		n++;
	}
	return n;
}

static void rp_witnesses(struct rp *r, struct ss_record *rec, int with_entropy)
{
	size_t n = rp_count(r, "witness", SS_WITNESSES_MAX), i;

	if (r->bad || n > SS_WITNESSES_MAX) {
		r->bad = 1;
		return;
	}
	rec->n_witnesses = n;
	if (n == 0)
		return;
	rec->witnesses = ss_arena_calloc(r->a, n, sizeof(*rec->witnesses));
	if (rec->witnesses == NULL) {
		r->bad = 1;
		return;
	}
	for (i = 0; i < n && !r->bad; i++) {
		rp_take(r, "witness", with_entropy ? 2 : 1, 0);
		rec->witnesses[i].principal = r->f[0];
		if (with_entropy)
			rec->witnesses[i].entropy = r->f[1];
	}
}

/* Shortest possible pick line: "pick 0." + 64 digits + " x\n". */
#define PICK_LINE_MIN 73

static void rp_draw(struct rp *r, struct ss_record *rec)
{
	size_t s, p, total = 0, m = 0;

	rp_params(r, rec);
	rp_line_hex(r, "open", rec->open_hash, 32);
	rp_line_hex(r, "r", rec->r, SS_DRAW_R_LEN);
	rp_witnesses(r, rec, 1);
	if (!r->bad && rp_is(r, "waiver")) {
		rp_take(r, "waiver", 2, 1);
		rec->waived = 1;
		rec->principal = r->f[0];
		rec->reason = rp_text(r, 1);
	}
	rp_take(r, "seed", 1, 0);
	if (r->bad || r->fl[0] != 64) {
		r->bad = 1;
		return;
	}
	memcpy(rec->seed, r->f[0], 65);
	for (s = 0; s < rec->n_strata && !r->bad; s++) {
		struct ss_rec_stratum *st = &rec->strata[s];
		uint64_t count;

		rp_take(r, "drawn", 2, 0);
		count = rp_u64(r, 1);
		if (r->bad || strcmp(r->f[0], st->name) != 0 ||
		    count > (uint64_t)(r->end - r->p) / PICK_LINE_MIN) {
			r->bad = 1;
			return;
		}
		st->n_picks = (size_t)count;
		st->picks =
		    ss_arena_calloc(r->a, st->n_picks ? st->n_picks : 1, sizeof(*st->picks));
		if (st->picks == NULL) {
			r->bad = 1;
			return;
		}
		for (p = 0; p < st->n_picks && !r->bad; p++) {
			rp_take(r, "pick", 2, 0);
			if (r->bad || r->fl[0] >= SS_TICKET_MAX) {
				r->bad = 1;
				return;
			}
			memcpy(st->picks[p].ticket, r->f[0], r->fl[0] + 1);
			st->picks[p].id = r->f[1];
		}
		total += st->n_picks;
	}
	if (r->bad)
		return;
	rec->n_matches = total;
	rec->matches = ss_arena_calloc(r->a, total ? total : 1, sizeof(*rec->matches));
	if (rec->matches == NULL) {
		r->bad = 1;
		return;
	}
	for (m = 0; m < total && !r->bad; m++) {
		struct ss_rec_match *x = &rec->matches[m];
		const char *obj;

		rp_take_list(r, "match", &x->object, &x->inspectors, &x->n_inspectors);
		if (!r->bad && rec->experts_per_object > 0)
			rp_take_list(r, "experts", &obj, &x->experts, &x->n_experts);
		if (!r->bad && rp_is(r, "shortfall")) {
			rp_take(r, "shortfall", 3, 0);
			if (!r->bad && strcmp(r->f[1], "inspectors") == 0) {
				x->inspector_shortfall = rp_u64(r, 2);
				if (!r->bad && rp_is(r, "shortfall")) {
					rp_take(r, "shortfall", 3, 0);
					if (!r->bad && strcmp(r->f[1], "experts") != 0)
						r->bad = 1;
					x->expert_shortfall = rp_u64(r, 2);
				}
			} else if (!r->bad && strcmp(r->f[1], "experts") == 0) {
				x->expert_shortfall = rp_u64(r, 2);
			} else {
				r->bad = 1;
			}
		}
	}
	rp_time_key(r, rec, 1);
}

static void rp_body(struct rp *r, struct ss_record *rec)
{
	const char *role, *outcome;

	switch (rec->type) {
	case SS_REC_DRAW_OPEN:
		rp_params(r, rec);
		rp_witnesses(r, rec, 0);
		rp_time_key(r, rec, 1);
		break;
	case SS_REC_WITNESS:
		rec->task = rp_line_token(r, "task");
		rp_line_hex(r, "open", rec->open_hash, 32);
		rec->principal = rp_line_token(r, "principal");
		rec->entropy = rp_line_token(r, "entropy");
		rp_time_key(r, rec, 1);
		break;
	case SS_REC_WITNESS_WAIVER:
		rec->task = rp_line_token(r, "task");
		rp_line_hex(r, "open", rec->open_hash, 32);
		rec->principal = rp_line_token(r, "principal");
		rec->reason = rp_line_text(r, "reason");
		rp_time_key(r, rec, 1);
		break;
	case SS_REC_DRAW:
		rp_draw(r, rec);
		break;
	case SS_REC_VOID:
		rec->task = rp_line_token(r, "task");
		rp_line_hex(r, "draw", rec->draw_hash, 32);
		rec->principal = rp_line_token(r, "principal");
		rec->reason = rp_line_text(r, "reason");
		rp_time_key(r, rec, 1);
		break;
	case SS_REC_RECUSAL:
		rec->task = rp_line_token(r, "task");
		rp_line_hex(r, "draw", rec->draw_hash, 32);
		rec->object = rp_line_token(r, "object");
		rec->inspector = rp_line_token(r, "inspector");
		role = rp_line_token(r, "role");
		rec->expert_role = role != NULL && strcmp(role, "expert") == 0;
		rec->reason = rp_line_text(r, "reason");
		if (!r->bad && rp_is(r, "outcome") && strncmp(r->p, "outcome replaced ", 17) == 0) {
			rp_take(r, "outcome", 2, 0);
			rec->replacement = r->f[1];
		} else {
			outcome = rp_line_token(r, "outcome");
			if (outcome == NULL || strcmp(outcome, "shortfall") != 0)
				r->bad = 1;
		}
		rp_time_key(r, rec, 1);
		break;
	case SS_REC_KEY_ROTATION: {
		uint8_t id[SS_SIG_KEY_ID_LEN];
		const char *k;

		k = rp_line_token(r, "old-key");
		if (k == NULL || ss_sig_public_key_parse(k, rec->old_key, id) != 0)
			r->bad = 1;
		k = rp_line_token(r, "new-key");
		if (k == NULL || ss_sig_public_key_parse(k, rec->new_key, id) != 0)
			r->bad = 1;
		rp_time_key(r, rec, 0);
		break;
	}
	default:
		r->bad = 1;
	}
}

int ss_record_parse(const uint8_t *data, size_t len, struct ss_record **out)
{
	struct ss_arena *a = NULL;
	struct ss_record *rec;
	struct rp r;
	uint8_t *again = NULL;
	size_t again_len = 0;
	char *copy;
	const uint8_t *nl;
	int rc;

	*out = NULL;
	if (data == NULL || len == 0 || len > SS_RECORD_MAX)
		return SS_ERR_MALFORMED_MESSAGE;
	if (ss_record_peek_type(data, len) == SS_REC_NONE)
		return SS_ERR_MALFORMED_MESSAGE;
	a = ss_arena_new();
	rec = a != NULL ? ss_arena_alloc(a, sizeof(*rec)) : NULL;
	copy = rec != NULL ? ss_arena_alloc(a, len + 1) : NULL;
	if (copy == NULL) {
		ss_arena_free(a);
		return SS_ERR_NOMEM;
	}
	rec->arena = a;
	rec->type = ss_record_peek_type(data, len);
	memcpy(copy, data, len);
	copy[len] = '\0';
	memset(&r, 0, sizeof(r));
	nl = memchr(data, '\n', len);
	r.p = copy + (nl - data) + 1;
	r.end = copy + len;
	r.a = a;
	rp_body(&r, rec);
	if (r.bad || r.p != r.end) {
		ss_record_free(rec);
		return SS_ERR_MALFORMED_MESSAGE;
	}
	/* The only encoding: anything the writer would not produce is refused. */
	rc = ss_record_encode(rec, &again, &again_len);
	if (rc == SS_ERR_NOMEM) {
		ss_record_free(rec);
		return rc;
	}
	if (rc != 0 || again_len != len || memcmp(again, data, len) != 0) {
		free(again);
		ss_record_free(rec);
		return SS_ERR_MALFORMED_MESSAGE;
	}
	free(again);
	*out = rec;
	return 0;
}

void ss_record_public_key_format(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN],
				 char out[SS_SIG_PUBLIC_KEY_STR_LEN + 1])
{
	uint8_t blob[SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN + SS_SIG_PUBLIC_KEY_LEN];

	memcpy(blob, SS_SIG_ALG_TAG, SS_SIG_ALG_TAG_LEN);
	ss_sig_key_id(pk, blob + SS_SIG_ALG_TAG_LEN);
	memcpy(blob + SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN, pk, SS_SIG_PUBLIC_KEY_LEN);
	sodium_bin2base64(out, SS_SIG_PUBLIC_KEY_STR_LEN + 1, blob, sizeof(blob),
			  sodium_base64_VARIANT_ORIGINAL);
}

int ss_record_sign(const struct ss_key *key, const uint8_t *data, size_t len,
		   uint8_t sig[SS_SIG_LEN])
{
	enum ss_record_type t = ss_record_peek_type(data, len);

	if (key == NULL || t == SS_REC_NONE || t == SS_REC_KEY_ROTATION)
		return SS_ERR_BAD_REQUEST;
	return ss_sig_sign(key, ss_record_context(t), data, len, sig);
}

int ss_record_verify(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const uint8_t *data, size_t len,
		     const uint8_t *sig, size_t sig_len)
{
	enum ss_record_type t = ss_record_peek_type(data, len);

	if (t == SS_REC_NONE || t == SS_REC_KEY_ROTATION)
		return SS_ERR_MALFORMED_MESSAGE;
	return ss_sig_verify(pk, ss_record_context(t), data, len, sig, sig_len);
}

int ss_record_sign_rotation(const struct ss_key *old_key, const struct ss_key *new_key,
			    const uint8_t *data, size_t len, uint8_t sig[SS_ROTATION_SIG_LEN])
{
	struct ss_record *rec = NULL;
	int rc;

	if (old_key == NULL || new_key == NULL)
		return SS_ERR_BAD_REQUEST;
	rc = ss_record_parse(data, len, &rec);
	if (rc != 0)
		return rc == SS_ERR_NOMEM ? rc : SS_ERR_BAD_REQUEST;
	if (rec->type != SS_REC_KEY_ROTATION ||
	    memcmp(rec->old_key, ss_key_public(old_key), SS_SIG_PUBLIC_KEY_LEN) != 0 ||
	    memcmp(rec->new_key, ss_key_public(new_key), SS_SIG_PUBLIC_KEY_LEN) != 0) {
		ss_record_free(rec);
		return SS_ERR_BAD_REQUEST;
	}
	ss_record_free(rec);
	rc = ss_sig_sign(old_key, SS_SIG_CTX_KEY_ROTATION, data, len, sig);
	if (rc == 0)
		rc = ss_sig_sign(new_key, SS_SIG_CTX_KEY_ROTATION, data, len, sig + SS_SIG_LEN);
	return rc;
}

int ss_record_verify_rotation(const uint8_t current_pk[SS_SIG_PUBLIC_KEY_LEN], const uint8_t *data,
			      size_t len, const uint8_t *sig, size_t sig_len,
			      uint8_t new_pk[SS_SIG_PUBLIC_KEY_LEN])
{
	struct ss_record *rec = NULL;
	uint8_t nk[SS_SIG_PUBLIC_KEY_LEN];
	int rc;

	rc = ss_record_parse(data, len, &rec);
	if (rc != 0)
		return rc;
	if (rec->type != SS_REC_KEY_ROTATION) {
		ss_record_free(rec);
		return SS_ERR_MALFORMED_MESSAGE;
	}
	memcpy(nk, rec->new_key, sizeof(nk));
	rc = memcmp(rec->old_key, current_pk, SS_SIG_PUBLIC_KEY_LEN) == 0 ? 0 : SS_ERR_NOT_FOUND;
	ss_record_free(rec);
	if (rc != 0)
		return rc;
	if (sig == NULL || sig_len != SS_ROTATION_SIG_LEN)
		return SS_ERR_MALFORMED_MESSAGE;
	rc = ss_sig_verify(current_pk, SS_SIG_CTX_KEY_ROTATION, data, len, sig, SS_SIG_LEN);
	if (rc == 0)
		rc = ss_sig_verify(nk, SS_SIG_CTX_KEY_ROTATION, data, len, sig + SS_SIG_LEN,
				   SS_SIG_LEN);
	if (rc == 0 && new_pk != NULL)
		memcpy(new_pk, nk, SS_SIG_PUBLIC_KEY_LEN);
	return rc;
}
