/*
 * test_record.c — the canonical record format (docs/draw-spec.md §5): every
 * type round-trips byte for byte, every non-canonical variant is refused,
 * signatures use per-type contexts, key rotation needs both keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "draw.h"
#include "record.h"
#include "rectext.h"
#include "ss_error.h"

static const uint8_t h1[32] = {0xab, 1, 2, 3}, kid[8] = {9, 8, 7, 6, 5, 4, 3, 2};

/* A small computed draw (its ids live in static storage). */
static struct ss_record *small_draw(int waived, uint64_t experts)
{
	static const char *a[] = {"91110101MA01234567", "91110101MA01234568", "91110101MA0123456X"};
	static const char *b[] = {"P-1", "P-2"};
	static struct ss_draw_stratum st[2] = {{"entities", 2, a, 3}, {"projects", 5, b, 2}};
	static struct ss_inspector pool[] = {{"E-1", 1}, {"I-1", 0}, {"I-2", 0}, {"I-3", 0}};
	static struct ss_witness w[] = {{"WIT-1", "12345612345612345612"}};
	static const uint8_t r[32] = {5};
	struct ss_draw_input in;
	struct ss_record *d = NULL;

	memset(&in, 0, sizeof(in));
	in.task = "T-1";
	in.params = " leading space, \\backslash\\, tab\tand 中文 trailing ";
	in.open_hash = h1;
	in.strata = st;
	in.n_strata = 2;
	in.pool = pool;
	in.n_pool = 4;
	in.group_size = 2;
	in.experts_per_object = experts;
	in.workload_cap = 2;
	in.r = r;
	in.witnesses = w;
	in.n_witnesses = 1;
	if (waived) {
		in.waiver_principal = "LEGAL-1";
		in.waiver_reason = "witness WIT-2 ill";
	}
	in.timestamp = 1780000000;
	in.key_id = kid;
	assert_int_equal(ss_draw_compute(&in, &d), 0);
	return d;
}

static void round_trip(const struct ss_record *r, uint8_t **out, size_t *len)
{
	struct ss_record *p = NULL;
	uint8_t *again;
	size_t again_len;

	assert_int_equal(ss_record_encode(r, out, len), 0);
	assert_int_equal(ss_record_parse(*out, *len, &p), 0);
	assert_int_equal(p->type, r->type);
	assert_int_equal(ss_record_encode(p, &again, &again_len), 0);
	assert_int_equal(again_len, *len);
	assert_memory_equal(again, *out, *len);
	free(again);
	ss_record_free(p);
}

static void draw_record_round_trips(void **state)
{
	struct ss_record *d = small_draw(1, 1), *p;
	uint8_t *enc;
	size_t len;

	round_trip(d, &enc, &len);
	assert_memory_equal(enc,
			    "shuangsui/v1 draw\ntask T-1\nparams \\x20leading space, "
			    "\\\\backslash\\\\, tab\\x09and ",
			    72);
	assert_non_null(strstr((char *)enc, "trailing\\x20\ngroup-size 2\n"));
	assert_non_null(strstr((char *)enc, "\nwaiver LEGAL-1 witness WIT-2 ill\n"));
	assert_non_null(strstr((char *)enc, "\nkey-id 0908070605040302\n"));
	assert_int_equal(ss_record_parse(enc, len, &p), 0);
	assert_string_equal(p->params, d->params);
	assert_string_equal(p->seed, d->seed);
	assert_int_equal(p->n_matches, 4);
	assert_int_equal(p->strata[1].n_picks, 2); /* k 5 of 2 */
	assert_string_equal(p->matches[3].object, d->matches[3].object);
	ss_record_free(p);
	free(enc);
	ss_record_free(d);
}

static void every_type_round_trips(void **state)
{
	struct ss_rec_stratum st[1] = {{"entities", 10, 1000, {1}, 0, NULL}};
	struct ss_rec_witness w[2] = {{"WIT-1", NULL}, {"WIT-2", NULL}};
	struct ss_record r;
	struct ss_key *k1, *k2;
	uint8_t *enc;
	size_t len;

	memset(&r, 0, sizeof(r));
	r.type = SS_REC_DRAW_OPEN;
	r.task = "T-1";
	r.params = "p";
	r.group_size = 2;
	r.n_strata = 1;
	r.strata = st;
	r.n_witnesses = 2;
	r.witnesses = w;
	r.timestamp = 1780000000;
	memcpy(r.key_id, kid, 8);
	round_trip(&r, &enc, &len);
	free(enc);
	/* The same witness expected twice: refused. */
	w[1].principal = "WIT-1";
	assert_int_equal(ss_record_encode(&r, &enc, &len), SS_ERR_BAD_REQUEST);

	memset(&r, 0, sizeof(r));
	r.type = SS_REC_WITNESS;
	r.task = "T-1";
	r.principal = "WIT-1";
	r.entropy = "66666666666666666666";
	r.timestamp = 1780000000;
	round_trip(&r, &enc, &len);
	assert_string_equal((char *)enc,
			    "shuangsui/v1 witness\ntask T-1\nopen "
			    "0000000000000000000000000000000000000000000000000000000000"
			    "000000\nprincipal WIT-1\nentropy 66666666666666666666\n"
			    "timestamp 2026-05-28T20:26:40Z\nkey-id 0000000000000000\n");
	free(enc);
	r.type = SS_REC_WITNESS_WAIVER;
	r.reason = "none came";
	round_trip(&r, &enc, &len);
	free(enc);
	r.type = SS_REC_VOID;
	round_trip(&r, &enc, &len);
	free(enc);
	r.type = SS_REC_RECUSAL;
	r.object = "O-1";
	r.inspector = "I-1";
	r.replacement = "I-2";
	round_trip(&r, &enc, &len);
	assert_non_null(strstr((char *)enc, "\nrole inspector\nreason none came\noutcome replaced "
					    "I-2\n"));
	free(enc);
	r.replacement = NULL;
	r.expert_role = 1;
	round_trip(&r, &enc, &len);
	assert_non_null(strstr((char *)enc, "\nrole expert\n"));
	assert_non_null(strstr((char *)enc, "\noutcome shortfall\n"));
	free(enc);

	assert_int_equal(ss_key_new(&k1), 0);
	assert_int_equal(ss_key_new(&k2), 0);
	memset(&r, 0, sizeof(r));
	r.type = SS_REC_KEY_ROTATION;
	memcpy(r.old_key, ss_key_public(k1), 32);
	memcpy(r.new_key, ss_key_public(k2), 32);
	r.timestamp = 1780000000;
	round_trip(&r, &enc, &len);
	free(enc);
	ss_key_free(k1);
	ss_key_free(k2);
}

static void invalid_fields_are_not_encoded(void **state)
{
	struct ss_record r;
	uint8_t *enc;
	size_t len;

	memset(&r, 0, sizeof(r));
	r.type = SS_REC_WITNESS;
	r.task = "T 1"; /* a space in a token */
	r.principal = "WIT-1";
	r.entropy = "66666666666666666666";
	r.timestamp = 1780000000;
	assert_int_equal(ss_record_encode(&r, &enc, &len), SS_ERR_BAD_REQUEST);
	r.task = "T-1";
	r.entropy = "6666666666666666666"; /* 19 digits */
	assert_int_equal(ss_record_encode(&r, &enc, &len), SS_ERR_BAD_REQUEST);
	r.entropy = "6666666666666666666a";
	assert_int_equal(ss_record_encode(&r, &enc, &len), SS_ERR_BAD_REQUEST);
	r.entropy = "66666666666666666666";
	r.timestamp = 100; /* 1970 */
	assert_int_equal(ss_record_encode(&r, &enc, &len), SS_ERR_BAD_REQUEST);
	r.timestamp = 1780000000;
	r.principal = "\xc0\xaf"; /* overlong UTF-8 */
	assert_int_equal(ss_record_encode(&r, &enc, &len), SS_ERR_BAD_REQUEST);
}

/* Replaces the first occurrence of from by to in src; returns a new buffer. */
static uint8_t *edit(const uint8_t *src, size_t len, const char *from, const char *to,
		     size_t *out_len)
{
	const char *at = strstr((const char *)src, from);
	size_t pre, fl = strlen(from), tl = strlen(to);
	uint8_t *out;

	assert_non_null(at);
	pre = (size_t)(at - (const char *)src);
	out = malloc(len - fl + tl + 1);
	assert_non_null(out);
	memcpy(out, src, pre);
	memcpy(out + pre, to, tl);
	memcpy(out + pre + tl, src + pre + fl, len - pre - fl);
	*out_len = len - fl + tl;
	out[*out_len] = 0;
	return out;
}

static void non_canonical_variants_are_refused(void **state)
{
	static const char *const edits[][2] = {
	    {"\ntask T-1\n", "\ntask T-1 \n"},		     /* trailing space */
	    {"\ntask T-1\n", "\ntask  T-1\n"},		     /* double space */
	    {"\ntask T-1\n", "\r\ntask T-1\n"},		     /* CR */
	    {"group-size 2\n", "group-size 02\n"},	     /* leading zero */
	    {"workload-cap 2\n", "workload-cap +2\n"},	     /* sign */
	    {"\\x09", "\\x09\\x41"},			     /* needless escape */
	    {"\\x09", "\\X09"},				     /* upper-case escape */
	    {"\\x09", "\t"},				     /* raw control */
	    {"\\x20leading", " leading"},		     /* raw leading space */
	    {"shuangsui/v1 draw\n", "shuangsui/v1 draw \n"}, /* header */
	    {"\nopen ab", "\nopen AB"},			     /* upper-case hex */
	    {"timestamp 2026-05-28T20:26:40Z", "timestamp 2026-02-30T20:26:40Z"}, /* no such day */
	    {"timestamp 2026-05-28T20:26:40Z", "timestamp 2026-05-28 20:26:40Z"},
	    {"\nseed ", "\nseed 0"}, /* 65 hex digits */
	    {"\ngroup-size 2\nexperts-per-object 1\n", "\nexperts-per-object 1\ngroup-size 2\n"},
	    {"\ndrawn projects 2\n", "\ndrawn projects 3\n"},		      /* count */
	    {"\nkey-id 0908070605040302\n", "\nkey-id 0908070605040302\n\n"}, /* empty line */
	    {"\nkey-id 0908070605040302\n", "\nkey-id 0908070605040302"},     /* no final LF */
	    {"\nwitness WIT-1 ", "\nwitness WIT-1  "},
	};
	struct ss_record *d = small_draw(1, 1), *p = NULL;
	uint8_t *enc, *bad;
	size_t len, bad_len, i;

	assert_int_equal(ss_record_encode(d, &enc, &len), 0);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		bad = edit(enc, len, edits[i][0], edits[i][1], &bad_len);
		assert_int_not_equal(ss_record_parse(bad, bad_len, &p), 0);
		assert_null(p);
		free(bad);
	}
	/* A changed ticket digit still parses (the verifier recomputes it), but order is checked.
	 */
	assert_int_equal(ss_record_parse(enc, len, &p), 0);
	ss_record_free(p);
	/* Truncated anywhere: refused. */
	for (i = 0; i < len; i += 97)
		assert_int_not_equal(ss_record_parse(enc, i, &p), 0);
	free(enc);
	ss_record_free(d);
}

static void matches_must_fill_groups_or_record_shortfalls(void **state)
{
	struct ss_record *d = small_draw(0, 0);
	uint8_t *enc;
	size_t len;

	d->matches[0].inspector_shortfall += 1; /* claims a shortfall beside a full group */
	assert_int_equal(ss_record_encode(d, &enc, &len), SS_ERR_BAD_REQUEST);
	d->matches[0].inspector_shortfall -= 1;
	d->matches[0].inspectors[1] = d->matches[0].inspectors[0]; /* the same one twice */
	assert_int_equal(ss_record_encode(d, &enc, &len), SS_ERR_BAD_REQUEST);
	ss_record_free(d);
}

static void signatures_are_bound_to_the_record_type(void **state)
{
	struct ss_record *d = small_draw(0, 0);
	struct ss_key *k;
	uint8_t *enc, sig[SS_SIG_LEN];
	size_t len;

	assert_int_equal(ss_key_new(&k), 0);
	assert_int_equal(ss_record_encode(d, &enc, &len), 0);
	assert_int_equal(ss_record_sign(k, enc, len, sig), 0);
	assert_int_equal(ss_record_verify(ss_key_public(k), enc, len, sig, SS_SIG_LEN), 0);
	/* The draw context is "draw-record": a plain ss_sig_verify under it agrees. */
	assert_int_equal(ss_sig_verify(ss_key_public(k), "draw-record", enc, len, sig, SS_SIG_LEN),
			 0);
	assert_int_equal(ss_sig_verify(ss_key_public(k), "void-record", enc, len, sig, SS_SIG_LEN),
			 SS_ERR_BAD_REQUEST);
	enc[len - 2] ^= 1;
	assert_int_equal(ss_record_verify(ss_key_public(k), enc, len, sig, SS_SIG_LEN),
			 SS_ERR_BAD_REQUEST);
	free(enc);
	ss_key_free(k);
	ss_record_free(d);
}

static void key_rotation_needs_old_and_new_key(void **state)
{
	struct ss_key *k1, *k2, *k3;
	struct ss_record r;
	uint8_t *enc, sig[SS_ROTATION_SIG_LEN], next[32];
	size_t len;

	assert_int_equal(ss_key_new(&k1), 0);
	assert_int_equal(ss_key_new(&k2), 0);
	assert_int_equal(ss_key_new(&k3), 0);
	memset(&r, 0, sizeof(r));
	r.type = SS_REC_KEY_ROTATION;
	memcpy(r.old_key, ss_key_public(k1), 32);
	memcpy(r.new_key, ss_key_public(k2), 32);
	r.timestamp = 1780000000;
	assert_int_equal(ss_record_encode(&r, &enc, &len), 0);
	assert_int_equal(ss_record_sign_rotation(k1, k2, enc, len, sig), 0);
	assert_int_equal(
	    ss_record_verify_rotation(ss_key_public(k1), enc, len, sig, sizeof(sig), next), 0);
	assert_memory_equal(next, ss_key_public(k2), 32);
	/* Not the current key: refused. */
	assert_int_equal(
	    ss_record_verify_rotation(ss_key_public(k3), enc, len, sig, sizeof(sig), next),
	    SS_ERR_NOT_FOUND);
	/* Signed by the wrong pair: ss_record_sign_rotation refuses, and a forged second half
	 * fails. */
	assert_int_equal(ss_record_sign_rotation(k1, k3, enc, len, sig), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_record_sign_rotation(k1, k2, enc, len, sig), 0);
	assert_int_equal(ss_sig_sign(k3, "key-rotation", enc, len, sig + SS_SIG_LEN), 0);
	assert_int_not_equal(
	    ss_record_verify_rotation(ss_key_public(k1), enc, len, sig, sizeof(sig), next), 0);
	/* Only the old key's half: refused. */
	assert_int_equal(
	    ss_record_verify_rotation(ss_key_public(k1), enc, len, sig, SS_SIG_LEN, next),
	    SS_ERR_MALFORMED_MESSAGE);
	/* A rotation cannot be signed as an ordinary record. */
	assert_int_equal(ss_record_sign(k1, enc, len, sig), SS_ERR_BAD_REQUEST);
	free(enc);
	ss_key_free(k1);
	ss_key_free(k2);
	ss_key_free(k3);
}

static void text_and_time_primitives_are_strict(void **state)
{
	char out[64];
	size_t n;
	int64_t t;

	assert_int_equal(ss_text_decode("a\\\\b", 4, out, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "a\\b", 3);
	assert_int_not_equal(ss_text_decode("a\\b", 3, out, &n), 0);
	assert_int_not_equal(ss_text_decode("a\\x4", 4, out, &n), 0);
	assert_int_not_equal(ss_text_decode("\\x20", 4, out, &n) == 0 && n == 1, 0);
	assert_int_not_equal(ss_text_decode("a\\x20b", 6, out, &n), 0); /* inner space escaped */
	assert_int_equal(ss_parse_time("2024-02-29T23:59:59Z", 20, &t), 0);
	assert_int_equal(ss_format_time(t, out), 0);
	assert_string_equal(out, "2024-02-29T23:59:59Z");
	assert_int_not_equal(ss_parse_time("2023-02-29T00:00:00Z", 20, &t), 0);
	assert_int_not_equal(ss_parse_time("2023-12-31T24:00:00Z", 20, &t), 0);
	assert_int_equal(ss_token_valid("\xe6\xa3\x80\xe6\x9f\xa5", 6), 1);
	assert_int_equal(ss_token_valid("a\xc2\x85", 3), 0);	/* NEL, a C1 control */
	assert_int_equal(ss_token_valid("\xed\xa0\x80", 3), 0); /* a surrogate */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(draw_record_round_trips),
	    cmocka_unit_test(every_type_round_trips),
	    cmocka_unit_test(invalid_fields_are_not_encoded),
	    cmocka_unit_test(non_canonical_variants_are_refused),
	    cmocka_unit_test(matches_must_fill_groups_or_record_shortfalls),
	    cmocka_unit_test(signatures_are_bound_to_the_record_type),
	    cmocka_unit_test(key_rotation_needs_old_and_new_key),
	    cmocka_unit_test(text_and_time_primitives_are_strict),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
