/*
 * record.c — canonical encoding of the log records (docs/draw-spec.md §5).
 *
 * The encoder is the single definition of the format: it validates every
 * field and writes the only encoding.  The parser (record_parse.c) splits
 * lines and fields and then re-encodes, refusing any input that does not
 * come back byte for byte — so a lenient split can never accept a second
 * spelling of a record.
 */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "record_int.h"
#include "rectext.h"
#include "ss_error.h"

static const char *const record_names[] = {
    [SS_REC_DRAW_OPEN] = "draw-open",
    [SS_REC_WITNESS] = "witness",
    [SS_REC_WITNESS_WAIVER] = "witness-waiver",
    [SS_REC_DRAW] = "draw",
    [SS_REC_VOID] = "void",
    [SS_REC_RECUSAL] = "recusal",
    [SS_REC_KEY_ROTATION] = "key-rotation",
};

static const char *const record_contexts[] = {
    [SS_REC_DRAW_OPEN] = "draw-open-record",
    [SS_REC_WITNESS] = "witness-record",
    [SS_REC_WITNESS_WAIVER] = "witness-waiver-record",
    [SS_REC_DRAW] = SS_SIG_CTX_DRAW_RECORD,
    [SS_REC_VOID] = "void-record",
    [SS_REC_RECUSAL] = "recusal-record",
    [SS_REC_KEY_ROTATION] = SS_SIG_CTX_KEY_ROTATION,
};

const char *ss_record_type_name(enum ss_record_type type)
{
	if (type <= SS_REC_NONE || type > SS_REC_KEY_ROTATION)
		return NULL;
	return record_names[type];
}

const char *ss_record_context(enum ss_record_type type)
{
	if (type <= SS_REC_NONE || type > SS_REC_KEY_ROTATION)
		return NULL;
	return record_contexts[type];
}

enum ss_record_type ss_record_peek_type(const uint8_t *data, size_t len)
{
	static const char prefix[] = RECORD_MAGIC " ";
	const uint8_t *nl;
	size_t plen = sizeof(prefix) - 1, n;
	int t;

	if (data == NULL || len <= plen || memcmp(data, prefix, plen) != 0)
		return SS_REC_NONE;
	nl = memchr(data + plen, '\n', len - plen);
	if (nl == NULL)
		return SS_REC_NONE;
	n = (size_t)(nl - data) - plen;
	for (t = SS_REC_DRAW_OPEN; t <= SS_REC_KEY_ROTATION; t++)
		if (strlen(record_names[t]) == n && memcmp(data + plen, record_names[t], n) == 0)
			return (enum ss_record_type)t;
	return SS_REC_NONE;
}

void ss_record_leaf_hash(const uint8_t *data, size_t len, uint8_t out[32])
{
	ss_merkle_leaf_hash(data, len, out);
}

/* ---- field writers: each validates, and on a bad value marks the encoder failed ---- */

struct enc {
	struct ss_buf b;
	int bad; /* an invalid field: SS_ERR_BAD_REQUEST */
};

static void put_key(struct enc *e, const char *key)
{
	ss_buf_puts(&e->b, key);
}

static void put_token(struct enc *e, const char *v)
{
	size_t n = v != NULL ? strlen(v) : 0;

	if (!ss_token_valid(v, n)) {
		e->bad = 1;
		return;
	}
	ss_buf_putc(&e->b, ' ');
	ss_buf_put(&e->b, v, n);
}

static void put_text(struct enc *e, const char *v)
{
	size_t n = v != NULL ? strlen(v) : 0;

	if (!ss_text_valid(v, n)) {
		e->bad = 1;
		return;
	}
	ss_buf_putc(&e->b, ' ');
	ss_buf_put_text(&e->b, v, n);
}

static void put_u64(struct enc *e, uint64_t v)
{
	ss_buf_putc(&e->b, ' ');
	ss_buf_put_u64(&e->b, v);
}

static void put_hex(struct enc *e, const uint8_t *v, size_t n)
{
	ss_buf_putc(&e->b, ' ');
	ss_buf_put_hex(&e->b, v, n);
}

static void end_line(struct enc *e)
{
	ss_buf_putc(&e->b, '\n');
}

static void line_token(struct enc *e, const char *key, const char *v)
{
	put_key(e, key);
	put_token(e, v);
	end_line(e);
}

static void line_text(struct enc *e, const char *key, const char *v)
{
	put_key(e, key);
	put_text(e, v);
	end_line(e);
}

static void line_u64(struct enc *e, const char *key, uint64_t v)
{
	put_key(e, key);
	put_u64(e, v);
	end_line(e);
}

static void line_hex(struct enc *e, const char *key, const uint8_t *v, size_t n)
{
	put_key(e, key);
	put_hex(e, v, n);
	end_line(e);
}

static void line_time_key(struct enc *e, const struct ss_record *r, int with_key_id)
{
	put_key(e, "timestamp ");
	ss_buf_put_time(&e->b, r->timestamp);
	if (ss_format_time(r->timestamp, (char[SS_TIME_LEN + 1]){0}) != 0)
		e->bad = 1;
	end_line(e);
	if (with_key_id)
		line_hex(e, "key-id", r->key_id, SS_SIG_KEY_ID_LEN);
}

int ss_entropy_valid(const char *s)
{
	size_t n, i;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n < SS_ENTROPY_MIN || n > SS_ENTROPY_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int ss_ticket_string_valid(const char *t)
{
	size_t n, i;

	if (t[0] != '0' || t[1] != '.')
		return 0;
	n = strnlen(t + 2, SS_TICKET_DIGITS_MAX + 1);
	if (n < SS_TICKET_DIGITS_MIN || n > SS_TICKET_DIGITS_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (t[2 + i] < '0' || t[2 + i] > '9')
			return 0;
	/* Past 64 digits the last one is N's leading digit, never 0 (ticket.h). */
	return n == SS_TICKET_DIGITS_MIN || t[2 + n - 1] != '0';
}

/* Each witness is expected, and contributes, at most once. */
static int witnesses_distinct(const struct ss_record *r)
{
	size_t i, j;

	for (i = 0; i < r->n_witnesses; i++)
		for (j = 0; j < i; j++)
			if (r->witnesses[i].principal != NULL && r->witnesses[j].principal != NULL &&
			    strcmp(r->witnesses[i].principal, r->witnesses[j].principal) == 0)
				return 0;
	return 1;
}

/* The parameter block shared by draw-open and draw. */
static void encode_params(struct enc *e, const struct ss_record *r)
{
	size_t i, j;

	line_token(e, "task", r->task);
	line_text(e, "params", r->params);
	if (r->group_size < 2 || r->group_size > SS_GROUP_MAX ||
	    r->experts_per_object > SS_GROUP_MAX || r->workload_cap > UINT32_MAX)
		e->bad = 1;
	line_u64(e, "group-size", r->group_size);
	line_u64(e, "experts-per-object", r->experts_per_object);
	line_u64(e, "workload-cap", r->workload_cap);
	put_key(e, "inspectors");
	put_u64(e, r->pool_size);
	put_hex(e, r->pool_digest, 32);
	end_line(e);
	put_key(e, "conflicts");
	put_u64(e, r->conflicts_size);
	put_hex(e, r->conflicts_digest, 32);
	end_line(e);
	if (r->n_strata == 0 || r->n_strata > SS_STRATA_MAX || r->strata == NULL) {
		e->bad = 1;
		return;
	}
	for (i = 0; i < r->n_strata; i++) {
		const struct ss_rec_stratum *s = &r->strata[i];

		for (j = 0; j < i; j++)
			if (s->name != NULL && r->strata[j].name != NULL &&
			    strcmp(s->name, r->strata[j].name) == 0)
				e->bad = 1;
		put_key(e, "stratum");
		put_token(e, s->name);
		put_u64(e, s->k);
		put_u64(e, s->size);
		put_hex(e, s->digest, 32);
		end_line(e);
	}
	line_hex(e, "commitment", r->commitment, 32);
}

static void encode_draw_open(struct enc *e, const struct ss_record *r)
{
	size_t i;

	encode_params(e, r);
	if (r->n_witnesses > SS_WITNESSES_MAX || (r->n_witnesses > 0 && r->witnesses == NULL)) {
		e->bad = 1;
		return;
	}
	if (!witnesses_distinct(r))
		e->bad = 1;
	for (i = 0; i < r->n_witnesses; i++)
		line_token(e, "witness", r->witnesses[i].principal);
	line_time_key(e, r, 1);
}

static void encode_id_list(struct enc *e, const char *key, const char *object,
			   const char *const *ids, size_t n)
{
	size_t i, j;

	put_key(e, key);
	put_token(e, object);
	for (i = 0; i < n; i++) {
		put_token(e, ids[i]);
		for (j = 0; j < i; j++)
			if (ids[i] != NULL && ids[j] != NULL && strcmp(ids[i], ids[j]) == 0)
				e->bad = 1;
	}
	end_line(e);
}

static void encode_matches(struct enc *e, const struct ss_record *r, size_t total)
{
	size_t s, p, m = 0;

	if (r->n_matches != total || (total > 0 && r->matches == NULL)) {
		e->bad = 1;
		return;
	}
	for (s = 0; s < r->n_strata; s++) {
		for (p = 0; p < r->strata[s].n_picks; p++, m++) {
			const struct ss_rec_match *x = &r->matches[m];

			if (x->object == NULL || strcmp(x->object, r->strata[s].picks[p].id) != 0 ||
			    x->n_inspectors > r->group_size ||
			    x->n_inspectors + x->inspector_shortfall != r->group_size ||
			    x->n_experts > r->experts_per_object ||
			    x->n_experts + x->expert_shortfall != r->experts_per_object ||
			    (x->n_inspectors > 0 && x->inspectors == NULL) ||
			    (x->n_experts > 0 && x->experts == NULL)) {
				e->bad = 1;
				return;
			}
			encode_id_list(e, "match", x->object, x->inspectors, x->n_inspectors);
			if (r->experts_per_object > 0)
				encode_id_list(e, "experts", x->object, x->experts, x->n_experts);
			if (x->inspector_shortfall > 0) {
				put_key(e, "shortfall");
				put_token(e, x->object);
				ss_buf_puts(&e->b, " inspectors");
				put_u64(e, x->inspector_shortfall);
				end_line(e);
			}
			if (x->expert_shortfall > 0) {
				put_key(e, "shortfall");
				put_token(e, x->object);
				ss_buf_puts(&e->b, " experts");
				put_u64(e, x->expert_shortfall);
				end_line(e);
			}
		}
	}
}

static void encode_draw(struct enc *e, const struct ss_record *r)
{
	size_t i, p, total = 0;

	encode_params(e, r);
	if (e->bad)
		return;
	line_hex(e, "open", r->open_hash, 32);
	line_hex(e, "r", r->r, SS_DRAW_R_LEN);
	if (r->n_witnesses > SS_WITNESSES_MAX || (r->n_witnesses > 0 && r->witnesses == NULL)) {
		e->bad = 1;
		return;
	}
	if (!witnesses_distinct(r))
		e->bad = 1;
	for (i = 0; i < r->n_witnesses; i++) {
		put_key(e, "witness");
		put_token(e, r->witnesses[i].principal);
		if (!ss_entropy_valid(r->witnesses[i].entropy))
			e->bad = 1;
		else
			put_token(e, r->witnesses[i].entropy);
		end_line(e);
	}
	if (r->waived) {
		put_key(e, "waiver");
		put_token(e, r->principal);
		put_text(e, r->reason);
		end_line(e);
	}
	if (strlen(r->seed) != 64 || ss_parse_hex(r->seed, 64, (uint8_t[32]){0}, 32) != 0)
		e->bad = 1;
	else
		line_token(e, "seed", r->seed);
	for (i = 0; i < r->n_strata; i++) {
		const struct ss_rec_stratum *s = &r->strata[i];

		if (s->n_picks != (s->k < s->size ? s->k : s->size) ||
		    (s->n_picks > 0 && s->picks == NULL)) {
			e->bad = 1;
			return;
		}
		put_key(e, "drawn");
		put_token(e, s->name);
		put_u64(e, s->n_picks);
		end_line(e);
		for (p = 0; p < s->n_picks; p++) {
			const struct ss_ticketed *t = &s->picks[p];

			if (!ss_ticket_string_valid(t->ticket) ||
			    (p > 0 && ss_ticketed_cmp(&s->picks[p - 1], t) >= 0)) {
				e->bad = 1;
				return;
			}
			put_key(e, "pick ");
			ss_buf_puts(&e->b, t->ticket);
			put_token(e, t->id);
			end_line(e);
		}
		total += s->n_picks;
	}
	encode_matches(e, r, total);
	line_time_key(e, r, 1);
}

int ss_record_encode(const struct ss_record *r, uint8_t **out, size_t *out_len)
{
	struct enc e;
	const char *name;
	char pub[SS_SIG_PUBLIC_KEY_STR_LEN + 1];
	int rc;

	*out = NULL;
	*out_len = 0;
	name = r != NULL ? ss_record_type_name(r->type) : NULL;
	if (name == NULL)
		return SS_ERR_BAD_REQUEST;
	memset(&e, 0, sizeof(e));
	ss_buf_init(&e.b, SS_RECORD_MAX);
	ss_buf_puts(&e.b, RECORD_MAGIC " ");
	ss_buf_puts(&e.b, name);
	end_line(&e);
	switch (r->type) {
	case SS_REC_DRAW_OPEN:
		encode_draw_open(&e, r);
		break;
	case SS_REC_WITNESS:
		line_token(&e, "task", r->task);
		line_hex(&e, "open", r->open_hash, 32);
		line_token(&e, "principal", r->principal);
		if (!ss_entropy_valid(r->entropy))
			e.bad = 1;
		else
			line_token(&e, "entropy", r->entropy);
		line_time_key(&e, r, 1);
		break;
	case SS_REC_WITNESS_WAIVER:
		line_token(&e, "task", r->task);
		line_hex(&e, "open", r->open_hash, 32);
		line_token(&e, "principal", r->principal);
		line_text(&e, "reason", r->reason);
		line_time_key(&e, r, 1);
		break;
	case SS_REC_DRAW:
		encode_draw(&e, r);
		break;
	case SS_REC_VOID:
		line_token(&e, "task", r->task);
		line_hex(&e, "draw", r->draw_hash, 32);
		line_token(&e, "principal", r->principal);
		line_text(&e, "reason", r->reason);
		line_time_key(&e, r, 1);
		break;
	case SS_REC_RECUSAL:
		line_token(&e, "task", r->task);
		line_hex(&e, "draw", r->draw_hash, 32);
		line_token(&e, "object", r->object);
		line_token(&e, "inspector", r->inspector);
		line_token(&e, "role", r->expert_role ? "expert" : "inspector");
		line_text(&e, "reason", r->reason);
		put_key(&e, "outcome");
		if (r->replacement != NULL) {
			put_token(&e, "replaced");
			put_token(&e, r->replacement);
			if (strcmp(r->replacement, r->inspector != NULL ? r->inspector : "") == 0)
				e.bad = 1;
		} else {
			put_token(&e, "shortfall");
		}
		end_line(&e);
		line_time_key(&e, r, 1);
		break;
	case SS_REC_KEY_ROTATION:
		if (memcmp(r->old_key, r->new_key, SS_SIG_PUBLIC_KEY_LEN) == 0)
			e.bad = 1;
		ss_record_public_key_format(r->old_key, pub);
		line_token(&e, "old-key", pub);
		ss_record_public_key_format(r->new_key, pub);
		line_token(&e, "new-key", pub);
		line_time_key(&e, r, 0);
		break;
	default:
		e.bad = 1;
	}
	if (e.bad) {
		ss_buf_free(&e.b);
		return SS_ERR_BAD_REQUEST;
	}
	rc = ss_buf_take(&e.b, out, out_len);
	return rc;
}

void ss_record_free(struct ss_record *rec)
{
	struct ss_arena *a;

	if (rec == NULL)
		return;
	a = rec->arena;
	/* The record itself lives in its arena. */
	ss_arena_free(a);
}
