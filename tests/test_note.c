/*
 * test_note.c — C2SP signed notes and checkpoints: the public examples, every
 * single-byte change, and notes we sign ourselves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <sodium.h>

#include "note.h"
#include "signature.h"
#include "ss_error.h"

#define VECTORS SS_TEST_SOURCE_DIR "/tests/vectors/c2sp/signed-note-vectors.json"

static json_object *vectors(void)
{
	json_object *root = json_object_from_file(VECTORS), *arr;

	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "vectors", &arr));
	assert_true(json_object_get_array(arr) != NULL);
	assert_int_equal(json_object_array_length(arr), 2);
	return root;
}

static json_object *vector(json_object *root, size_t i)
{
	json_object *arr;

	assert_true(json_object_object_get_ex(root, "vectors", &arr));
	return json_object_array_get_idx(arr, i);
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

/* 0 if msg parses and verifies under v, else the first error. */
static int open_note(const char *msg, size_t len, const struct ss_note_verifier *v)
{
	struct ss_note *note;
	int rc = ss_note_parse(msg, len, &note);

	if (rc != 0) {
		assert_null(note);
		return rc;
	}
	rc = ss_note_verify(note, v);
	ss_note_free(note);
	return rc;
}

static void public_examples_verify(void **state)
{
	json_object *root = vectors();

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		json_object *vec = vector(root, i);
		const char *msg = str(vec, "note"), *text = str(vec, "text");
		struct ss_note_verifier v;
		struct ss_note *note;

		assert_int_equal(ss_note_verifier_parse(str(vec, "verifier_key"), &v), 0);
		assert_int_equal(ss_note_parse(msg, strlen(msg), &note), 0);
		assert_int_equal(note->text_len, strlen(text));
		assert_memory_equal(note->text, text, note->text_len);
		assert_int_equal(note->n_sigs, 1);
		assert_string_equal(note->sigs[0].name, v.name);
		assert_int_equal(note->sigs[0].sig_len, 64);
		assert_int_equal(ss_note_verify(note, &v), 0);
		ss_note_free(note);
	}
	json_object_put(root);
}

/* The vector's PRIVATE+KEY string holds the seed: re-signing gives the same bytes. */
static void signing_with_the_example_key_reproduces_the_example(void **state)
{
	json_object *root = vectors(), *vec = vector(root, 1);
	const char *skey = str(vec, "signer_key"), *text = str(vec, "text"), *b64;
	uint8_t blob[40];
	size_t blob_len = 0, out_len;
	struct ss_key *key;
	char *out, *vkey;

	(void)state;
	assert_non_null(skey);
	assert_int_equal(strncmp(skey, "PRIVATE+KEY+PeterNeumann+c74f20a3+", 34), 0);
	b64 = skey + 34;
	assert_int_equal(sodium_base642bin(blob, sizeof(blob), b64, strlen(b64), NULL, &blob_len,
					   NULL, sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(blob_len, 33);
	assert_int_equal(blob[0], SS_NOTE_ALG_ED25519);
	assert_int_equal(ss_key_from_seed(blob + 1, &key), 0);
	assert_int_equal(ss_note_verifier_format("PeterNeumann", key, &vkey), 0);
	assert_string_equal(vkey, str(vec, "verifier_key"));
	assert_int_equal(ss_note_sign(text, strlen(text), "PeterNeumann", key, &out, &out_len), 0);
	assert_int_equal(out_len, strlen(str(vec, "note")));
	assert_string_equal(out, str(vec, "note"));
	free(out);
	free(vkey);
	ss_key_free(key);
	json_object_put(root);
}

static void every_changed_byte_is_refused(void **state)
{
	json_object *root = vectors();
	size_t tried = 0, parse_refused = 0, verify_refused = 0;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		json_object *vec = vector(root, i);
		const char *note = str(vec, "note");
		size_t len = strlen(note);
		char *copy = malloc(len);
		struct ss_note_verifier v;

		assert_non_null(copy);
		assert_int_equal(ss_note_verifier_parse(str(vec, "verifier_key"), &v), 0);
		memcpy(copy, note, len);
		assert_int_equal(open_note(copy, len, &v), 0);
		for (size_t pos = 0; pos < len; pos++) {
			for (unsigned b = 0; b < 256; b++) {
				int rc;

				if ((char)b == note[pos])
					continue;
				copy[pos] = (char)b;
				rc = open_note(copy, len, &v);
				if (rc == 0)
					fail_msg(
					    "vector %zu: byte %zu set to 0x%02x still verifies", i,
					    pos, b);
				if (rc == SS_ERR_MALFORMED_MESSAGE)
					parse_refused++;
				else
					verify_refused++;
				tried++;
			}
			copy[pos] = note[pos];
		}
		/* Every truncation too. */
		for (size_t cut = 0; cut < len; cut++)
			assert_int_not_equal(open_note(note, cut, &v), 0);
		free(copy);
	}
	printf("signed-note: %zu single-byte changes refused (%zu by parsing, %zu by "
	       "verification)\n",
	       tried, parse_refused, verify_refused);
	json_object_put(root);
}

static void our_checkpoint_note_round_trips(void **state)
{
	struct ss_key *key, *other;
	struct ss_note_verifier v, w;
	struct ss_note *note;
	struct ss_checkpoint cp;
	uint8_t root[32];
	char *vkey, *vkey_other, *body, *signed_note, *again;
	size_t body_len, signed_len, again_len;
	const char *origin = "shuangsui.example.cn/draw-log";

	(void)state;
	for (size_t i = 0; i < 32; i++)
		root[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(ss_key_new(&key), 0);
	assert_int_equal(ss_key_new(&other), 0);
	assert_int_equal(ss_note_verifier_format(origin, key, &vkey), 0);
	assert_int_equal(ss_note_verifier_parse(vkey, &v), 0);
	assert_string_equal(v.name, origin);
	assert_memory_equal(v.public_key, ss_key_public(key), 32);

	assert_int_equal(ss_checkpoint_format(origin, 1234567, root, &body, &body_len), 0);
	assert_int_equal(ss_note_sign(body, body_len, origin, key, &signed_note, &signed_len), 0);
	assert_int_equal(ss_note_parse(signed_note, signed_len, &note), 0);
	assert_int_equal(ss_note_verify(note, &v), 0);
	assert_int_equal(note->text_len, body_len);
	assert_memory_equal(note->text, body, body_len);
	assert_int_equal(ss_checkpoint_parse(note->text, note->text_len, &cp), 0);
	assert_int_equal(cp.origin_len, strlen(origin));
	assert_memory_equal(cp.origin, origin, cp.origin_len);
	assert_int_equal(cp.size, 1234567);
	assert_memory_equal(cp.root, root, 32);
	assert_int_equal(cp.extensions_len, 0);
	/* Signing the parsed text again gives the same note byte for byte. */
	assert_int_equal(ss_note_sign(note->text, note->text_len, origin, key, &again, &again_len),
			 0);
	assert_int_equal(again_len, signed_len);
	assert_memory_equal(again, signed_note, signed_len);
	ss_note_free(note);

	/* Another key under the same name is not our verifier. */
	assert_int_equal(ss_note_verifier_format(origin, other, &vkey_other), 0);
	assert_int_equal(ss_note_verifier_parse(vkey_other, &w), 0);
	assert_int_equal(open_note(signed_note, signed_len, &w), SS_ERR_NOT_FOUND);

	free(again);
	free(vkey_other);
	free(signed_note);
	free(body);
	free(vkey);
	ss_key_free(other);
	ss_key_free(key);
}

static void a_bad_line_from_the_known_key_rejects_the_note(void **state)
{
	struct ss_key *key, *other;
	struct ss_note_verifier v;
	char *vkey, *a, *b, *both;
	size_t a_len, b_len, text_len = 7;
	const char *text = "origin\n";

	(void)state;
	assert_int_equal(ss_key_new(&key), 0);
	assert_int_equal(ss_key_new(&other), 0);
	assert_int_equal(ss_note_verifier_format("log", key, &vkey), 0);
	assert_int_equal(ss_note_verifier_parse(vkey, &v), 0);
	assert_int_equal(ss_note_sign(text, text_len, "log", key, &a, &a_len), 0);
	assert_int_equal(ss_note_sign(text, text_len, "witness", other, &b, &b_len), 0);
	/* A note cosigned by an unknown witness: its line is ignored. */
	both = malloc(a_len + b_len);
	assert_non_null(both);
	memcpy(both, a, a_len);
	memcpy(both + a_len, b + text_len + 1, b_len - text_len - 1);
	assert_int_equal(open_note(both, a_len + b_len - text_len - 1, &v), 0);
	/* The known key's line twice, once damaged: rejected. */
	memcpy(both + a_len, a + text_len + 1, a_len - text_len - 1);
	{
		/* A base64 digit near the end of the copy: part of the signature. */
		char *c = &both[2 * a_len - text_len - 1 - 30];

		*c = *c == 'A' ? 'B' : 'A';
	}
	assert_int_equal(open_note(both, 2 * a_len - text_len - 1, &v), SS_ERR_BAD_REQUEST);
	free(both);
	free(a);
	free(b);
	free(vkey);
	ss_key_free(other);
	ss_key_free(key);
}

#define PARSE(lit) ss_note_parse(lit, sizeof(lit) - 1, &note)

static void malformed_notes_are_refused(void **state)
{
	struct ss_note *note = (struct ss_note *)1;
	char *big;
	size_t pos = 0;
	const char *line = "\xe2\x80\x94 k AAAAAAA=\n";

	(void)state;
	assert_int_equal(PARSE(""), SS_ERR_MALFORMED_MESSAGE);
	assert_null(note);
	assert_int_equal(PARSE("text\n"), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(PARSE("text\n\n"), SS_ERR_MALFORMED_MESSAGE);
	/* A signature line needs the em dash, a name, a space and base64 of > 4 bytes. */
	assert_int_equal(PARSE("t\n\n- k AAAAAAA=\n"), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(PARSE("t\n\n\xe2\x80\x94 k AAAA\n"), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(PARSE("t\n\n\xe2\x80\x94  AAAAAAA=\n"), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(PARSE("t\n\n\xe2\x80\x94 k+ AAAAAAA=\n"), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(PARSE("t\n\n\xe2\x80\x94 k AAAAAAA="), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(PARSE("t\n\n\xe2\x80\x94 k AAAAAAA=\n"), 0);
	ss_note_free(note);
	/* Control characters and broken UTF-8 in the text. */
	assert_int_equal(PARSE("t\0\n\n\xe2\x80\x94 k AAAAAAA=\n"), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(PARSE("t\r\n\n\xe2\x80\x94 k AAAAAAA=\n"), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(PARSE("\xc0\xaf\n\n\xe2\x80\x94 k AAAAAAA=\n"), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(PARSE("\xed\xa0\x80\n\n\xe2\x80\x94 k AAAAAAA=\n"),
			 SS_ERR_MALFORMED_MESSAGE);
	/* Hostile sizes: past the maximum, and 101 signature lines. */
	big = malloc(SS_NOTE_MAX_LEN + 64);
	assert_non_null(big);
	memcpy(big, "t\n\n", 3);
	pos = 3;
	for (int i = 0; i < 101; i++) {
		memcpy(big + pos, line, strlen(line));
		pos += strlen(line);
	}
	assert_int_equal(ss_note_parse(big, pos, &note), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(ss_note_parse(big, pos - strlen(line), &note), 0);
	assert_int_equal(note->n_sigs, 100);
	ss_note_free(note);
	memset(big, 'a', SS_NOTE_MAX_LEN + 64);
	memcpy(big + SS_NOTE_MAX_LEN + 64 - 17, "\n\n\xe2\x80\x94 k AAAAAAA=\n", 17);
	assert_int_equal(ss_note_parse(big, SS_NOTE_MAX_LEN + 64, &note), SS_ERR_MALFORMED_MESSAGE);
	free(big);
	ss_note_free(NULL);
}

static void verifier_keys_are_parsed_strictly(void **state)
{
	struct ss_note_verifier v;
	const char *good = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

	(void)state;
	assert_int_equal(ss_note_verifier_parse(good, &v), 0);
	assert_string_equal(v.name, "example.com/foo");
	assert_int_equal(
	    ss_note_verifier_parse(
		"example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &v),
	    SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(
	    ss_note_verifier_parse(
		"example.com/fo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &v),
	    SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(
	    ss_note_verifier_parse(
		"example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &v),
	    SS_ERR_MALFORMED_MESSAGE);
	/* Algorithm byte 0x02 instead of 0x01. */
	assert_int_equal(
	    ss_note_verifier_parse(
		"example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &v),
	    SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(
	    ss_note_verifier_parse(
		"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2", &v),
	    SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(ss_note_verifier_parse("example.com/foo+530d903a", &v),
			 SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(
	    ss_note_verifier_parse("+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &v),
	    SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(ss_note_verifier_parse(NULL, &v), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(v.name[0], '\0');
}

static void checkpoints_are_parsed_strictly(void **state)
{
	struct ss_checkpoint cp;
	const char *r = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	char buf[256];

	(void)state;
	snprintf(buf, sizeof(buf), "o\n18446744073709551615\n%s\nx-ext 1\nx-ext 2\n", r);
	assert_int_equal(ss_checkpoint_parse(buf, strlen(buf), &cp), 0);
	assert_int_equal(cp.size, UINT64_MAX);
	assert_int_equal(cp.root[31], 31);
	assert_int_equal(cp.extensions_len, 16);
	assert_memory_equal(cp.extensions, "x-ext 1\nx-ext 2\n", 16);
	snprintf(buf, sizeof(buf), "o\n0\n%s\n", r);
	assert_int_equal(ss_checkpoint_parse(buf, strlen(buf), &cp), 0);
	assert_int_equal(cp.size, 0);

	/* Each case is prefix || a valid root || suffix. */
	static const char *const bad[][2] = {
	    {"o\n18446744073709551616\n", "\n"}, /* overflow */
	    {"o\n007\n", "\n"},			 /* leading zeros */
	    {"o\n+7\n", "\n"},
	    {"o\n-1\n", "\n"},
	    {"o\n7 \n", "\n"},
	    {"o\n\n", "\n"},
	    {"\n7\n", "\n"},	  /* empty origin */
	    {"o\n7\n", ""},	  /* no final newline */
	    {"o\n7\n", "\n\n"},	  /* empty extension line */
	    {"o\n7\n", "=\n"},	  /* not canonical base64 */
	    {"o\n7\n", "AAAA\n"}, /* longer than 32 bytes */
	    {"o\n7\r\n", "\n"},	  /* control character */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s%s", bad[i][0], r, bad[i][1]);
		if (ss_checkpoint_parse(buf, strlen(buf), &cp) != SS_ERR_MALFORMED_MESSAGE)
			fail_msg("accepted checkpoint %zu: %s", i, buf);
	}
	assert_int_equal(ss_checkpoint_parse("o\n7\n", 5, &cp), SS_ERR_MALFORMED_MESSAGE);
	/* A 31-byte root hash. */
	snprintf(buf, sizeof(buf), "o\n7\n%s\n", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==");
	assert_int_equal(ss_checkpoint_parse(buf, strlen(buf), &cp), SS_ERR_MALFORMED_MESSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(public_examples_verify),
	    cmocka_unit_test(signing_with_the_example_key_reproduces_the_example),
	    cmocka_unit_test(every_changed_byte_is_refused),
	    cmocka_unit_test(our_checkpoint_note_round_trips),
	    cmocka_unit_test(a_bad_line_from_the_known_key_rejects_the_note),
	    cmocka_unit_test(malformed_notes_are_refused),
	    cmocka_unit_test(verifier_keys_are_parsed_strictly),
	    cmocka_unit_test(checkpoints_are_parsed_strictly),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
