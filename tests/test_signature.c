/*
 * test_signature.c — Ed25519 against Wycheproof, domain-separated signing,
 * and key files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <sodium.h>

#include "signature.h"
#include "ss_error.h"

#define WYCHEPROOF SS_TEST_SOURCE_DIR "/tests/vectors/wycheproof/ed25519_test.json"

/* Decodes a hex string into a malloc'd buffer (never NULL, even for ""). */
static uint8_t *from_hex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *out = malloc(n + 1);

	assert_non_null(out);
	assert_int_equal(strlen(hex) % 2, 0);
	assert_int_equal(sodium_hex2bin(out, n + 1, hex, strlen(hex), NULL, len, NULL), 0);
	assert_int_equal(*len, n);
	return out;
}

static const char *str_field(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static void every_wycheproof_vector_gives_its_result(void **state)
{
	json_object *root = json_object_from_file(WYCHEPROOF), *groups, *v;
	size_t valid = 0, invalid = 0, acceptable = 0, total = 0;
	size_t valid_ok = 0, invalid_rejected = 0, acceptable_ok = 0;

	(void)state;
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "testGroups", &groups));
	for (size_t g = 0; g < json_object_array_length(groups); g++) {
		json_object *group = json_object_array_get_idx(groups, g), *pkobj, *tests;
		uint8_t *pk;
		size_t pk_len;

		assert_string_equal(str_field(group, "type"), "EddsaVerify");
		assert_true(json_object_object_get_ex(group, "publicKey", &pkobj));
		assert_string_equal(str_field(pkobj, "curve"), "edwards25519");
		pk = from_hex(str_field(pkobj, "pk"), &pk_len);
		assert_int_equal(pk_len, SS_SIG_PUBLIC_KEY_LEN);
		assert_true(json_object_object_get_ex(group, "tests", &tests));
		for (size_t t = 0; t < json_object_array_length(tests); t++) {
			json_object *tc = json_object_array_get_idx(tests, t);
			const char *result = str_field(tc, "result");
			size_t msg_len, sig_len;
			uint8_t *msg = from_hex(str_field(tc, "msg"), &msg_len);
			uint8_t *sig = from_hex(str_field(tc, "sig"), &sig_len);
			int rc = ss_sig_verify_raw(pk, msg, msg_len, sig, sig_len);

			assert_true(json_object_object_get_ex(tc, "tcId", &v));
			assert_true(rc == 0 || rc == SS_ERR_BAD_REQUEST);
			total++;
			if (strcmp(result, "valid") == 0) {
				valid++;
				if (rc != 0)
					fail_msg("tcId %d: valid signature rejected",
						 json_object_get_int(v));
				valid_ok++;
			} else if (strcmp(result, "invalid") == 0) {
				invalid++;
				if (rc == 0)
					fail_msg("tcId %d: invalid signature accepted",
						 json_object_get_int(v));
				invalid_rejected++;
			} else {
				/* "acceptable": either verdict is allowed by
				 * Wycheproof; we take whatever strict libsodium
				 * says and only count it. */
				assert_string_equal(result, "acceptable");
				acceptable++;
				if (rc == 0)
					acceptable_ok++;
			}
			free(msg);
			free(sig);
		}
		free(pk);
	}
	assert_true(json_object_object_get_ex(root, "numberOfTests", &v));
	assert_int_equal(total, json_object_get_int(v));
	printf("wycheproof ed25519: %zu vectors: %zu valid (%zu verify), %zu invalid (%zu "
	       "rejected), %zu acceptable (%zu verify)\n",
	       total, valid, valid_ok, invalid, invalid_rejected, acceptable, acceptable_ok);
	json_object_put(root);
}

static void raw_verify_needs_exactly_64_bytes(void **state)
{
	struct ss_key *key;
	uint8_t sig[SS_SIG_RAW_LEN + 1];

	(void)state;
	assert_int_equal(ss_key_new(&key), 0);
	assert_int_equal(ss_sig_sign_raw(key, (const uint8_t *)"abc", 3, sig), 0);
	sig[SS_SIG_RAW_LEN] = 0;
	assert_int_equal(ss_sig_verify_raw(ss_key_public(key), (const uint8_t *)"abc", 3, sig, 64),
			 0);
	assert_int_equal(ss_sig_verify_raw(ss_key_public(key), (const uint8_t *)"abc", 3, sig, 65),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_sig_verify_raw(ss_key_public(key), (const uint8_t *)"abc", 3, sig, 63),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(
	    ss_sig_verify_raw(ss_key_public(key), (const uint8_t *)"abc", 3, sig, 0x80000000u),
	    SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_sig_verify_raw(ss_key_public(key), (const uint8_t *)"abc", 3, NULL, 64),
			 SS_ERR_BAD_REQUEST);
	ss_key_free(key);
}

static const uint8_t record[] = "task=T-2026-001;seed=...;drawn=AB-130";

static void signature_round_trips_with_the_domain_prefix(void **state)
{
	struct ss_key *key;
	uint8_t sig[SS_SIG_LEN], id[SS_SIG_KEY_ID_LEN];
	const char prefixed[] = "shuangsui/v1/draw-record";
	uint8_t *msg;
	size_t plen = sizeof(prefixed); /* includes the NUL separator */

	(void)state;
	assert_int_equal(ss_key_new(&key), 0);
	assert_int_equal(ss_sig_sign(key, SS_SIG_CTX_DRAW_RECORD, record, sizeof(record), sig), 0);
	assert_memory_equal(sig, "Ed", 2);
	ss_sig_key_id(ss_key_public(key), id);
	assert_memory_equal(sig + 2, id, SS_SIG_KEY_ID_LEN);
	assert_memory_equal(ss_key_id(key), id, SS_SIG_KEY_ID_LEN);
	assert_int_equal(ss_sig_verify(ss_key_public(key), SS_SIG_CTX_DRAW_RECORD, record,
				       sizeof(record), sig, sizeof(sig)),
			 0);

	/* The Ed25519 part is a plain signature over the prefixed bytes, as
	 * docs/receipt.md tells third parties (openssl pkeyutl -rawin). */
	msg = malloc(plen + sizeof(record));
	assert_non_null(msg);
	memcpy(msg, prefixed, plen);
	memcpy(msg + plen, record, sizeof(record));
	assert_int_equal(ss_sig_verify_raw(ss_key_public(key), msg, plen + sizeof(record), sig + 10,
					   SS_SIG_RAW_LEN),
			 0);
	/* ...and not over the bare record. */
	assert_int_equal(
	    ss_sig_verify_raw(ss_key_public(key), record, sizeof(record), sig + 10, SS_SIG_RAW_LEN),
	    SS_ERR_BAD_REQUEST);
	free(msg);

	/* An empty message is signable too. */
	assert_int_equal(ss_sig_sign(key, SS_SIG_CTX_LOG_RECORD, NULL, 0, sig), 0);
	assert_int_equal(
	    ss_sig_verify(ss_key_public(key), SS_SIG_CTX_LOG_RECORD, NULL, 0, sig, sizeof(sig)), 0);
	ss_key_free(key);
}

static void a_wrong_context_fails(void **state)
{
	struct ss_key *key;
	uint8_t sig[SS_SIG_LEN];

	(void)state;
	assert_int_equal(ss_key_new(&key), 0);
	assert_int_equal(ss_sig_sign(key, SS_SIG_CTX_DRAW_RECORD, record, sizeof(record), sig), 0);
	assert_int_equal(ss_sig_verify(ss_key_public(key), SS_SIG_CTX_KEY_ROTATION, record,
				       sizeof(record), sig, sizeof(sig)),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_sig_verify(ss_key_public(key), "draw-recor", record, sizeof(record),
				       sig, sizeof(sig)),
			 SS_ERR_BAD_REQUEST);
	/* Malformed contexts are refused on both sides. */
	assert_int_equal(
	    ss_sig_verify(ss_key_public(key), "", record, sizeof(record), sig, sizeof(sig)),
	    SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_sig_sign(key, "Draw record", record, sizeof(record), sig),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_sig_sign(key, NULL, record, sizeof(record), sig), SS_ERR_BAD_REQUEST);
	ss_key_free(key);
}

static void tampering_is_reported_by_the_check_that_fails(void **state)
{
	struct ss_key *key, *other;
	uint8_t sig[SS_SIG_LEN], msg[sizeof(record)];

	(void)state;
	assert_int_equal(ss_key_new(&key), 0);
	assert_int_equal(ss_key_new(&other), 0);
	assert_int_equal(ss_sig_sign(key, SS_SIG_CTX_DRAW_RECORD, record, sizeof(record), sig), 0);
	/* Another key: caught by the key id before any curve arithmetic. */
	assert_int_equal(ss_sig_verify(ss_key_public(other), SS_SIG_CTX_DRAW_RECORD, record,
				       sizeof(record), sig, sizeof(sig)),
			 SS_ERR_NOT_FOUND);
	/* Every bit of the signature matters. */
	for (size_t bit = 0; bit < SS_SIG_LEN * 8; bit++) {
		int rc;

		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = ss_sig_verify(ss_key_public(key), SS_SIG_CTX_DRAW_RECORD, record,
				   sizeof(record), sig, sizeof(sig));
		if (bit < 16)
			assert_int_equal(rc, SS_ERR_MALFORMED_MESSAGE);
		else if (bit < 80)
			assert_int_equal(rc, SS_ERR_NOT_FOUND);
		else
			assert_int_equal(rc, SS_ERR_BAD_REQUEST);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Every bit of the message too. */
	memcpy(msg, record, sizeof(record));
	for (size_t bit = 0; bit < sizeof(msg) * 8; bit++) {
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(ss_sig_verify(ss_key_public(key), SS_SIG_CTX_DRAW_RECORD, msg,
					       sizeof(msg), sig, sizeof(sig)),
				 SS_ERR_BAD_REQUEST);
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(ss_sig_verify(ss_key_public(key), SS_SIG_CTX_DRAW_RECORD, record,
				       sizeof(record), sig, sizeof(sig) - 1),
			 SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(ss_sig_verify(ss_key_public(key), SS_SIG_CTX_DRAW_RECORD, record,
				       sizeof(record), sig, 0xffffffffu),
			 SS_ERR_MALFORMED_MESSAGE);
	ss_key_free(other);
	ss_key_free(key);
}

static void public_key_strings_round_trip(void **state)
{
	struct ss_key *key;
	char s[SS_SIG_PUBLIC_KEY_STR_LEN + 1], bad[SS_SIG_PUBLIC_KEY_STR_LEN + 2];
	uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], id[SS_SIG_KEY_ID_LEN];

	(void)state;
	assert_int_equal(ss_key_new(&key), 0);
	ss_key_public_string(key, s);
	assert_int_equal(strlen(s), SS_SIG_PUBLIC_KEY_STR_LEN);
	assert_int_equal(strncmp(s, "RW", 2), 0); /* base64 of "Ed" starts "RW" */
	assert_int_equal(ss_sig_public_key_parse(s, pk, id), 0);
	assert_memory_equal(pk, ss_key_public(key), sizeof(pk));
	assert_memory_equal(id, ss_key_id(key), sizeof(id));
	/* A changed character anywhere (key id or key) is refused. */
	for (size_t i = 0; i < SS_SIG_PUBLIC_KEY_STR_LEN; i++) {
		memcpy(bad, s, sizeof(s));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_int_equal(ss_sig_public_key_parse(bad, pk, id), SS_ERR_MALFORMED_MESSAGE);
	}
	memcpy(bad, s, sizeof(s));
	strcat(bad, "\n");
	assert_int_equal(ss_sig_public_key_parse(bad, pk, id), SS_ERR_MALFORMED_MESSAGE);
	assert_int_equal(ss_sig_public_key_parse("", pk, id), SS_ERR_MALFORMED_MESSAGE);
	ss_key_free(key);
}

static void seeded_keys_match_rfc8032(void **state)
{
	/* RFC 8032 §7.1 TEST 1: the empty message. */
	uint8_t seed[32], pk[32], want[64], sig[64];
	size_t len;
	struct ss_key *key;

	(void)state;
	assert_int_equal(
	    sodium_hex2bin(seed, 32,
			   "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", 64,
			   NULL, &len, NULL),
	    0);
	assert_int_equal(
	    sodium_hex2bin(pk, 32,
			   "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", 64,
			   NULL, &len, NULL),
	    0);
	assert_int_equal(sodium_hex2bin(want, 64,
					"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522"
					"490155"
					"5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e"
					"7a100b",
					128, NULL, &len, NULL),
			 0);
	assert_int_equal(ss_key_from_seed(seed, &key), 0);
	assert_memory_equal(ss_key_public(key), pk, 32);
	assert_int_equal(ss_sig_sign_raw(key, NULL, 0, sig), 0);
	assert_memory_equal(sig, want, 64);
	ss_key_free(key);
}

/* ---- key files ----------------------------------------------------------- */

static char key_dir[64];

static int make_dir(void **state)
{
	(void)state;
	strcpy(key_dir, "/tmp/ss-test-sig-XXXXXX");
	return mkdtemp(key_dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/signing.key", key_dir);
	unlink(path);
	return rmdir(key_dir);
}

static void key_path(char *out, size_t cap)
{
	snprintf(out, cap, "%s/signing.key", key_dir);
	unlink(out);
}

static void key_file_is_created_0600_and_reloads(void **state)
{
	char path[128];
	struct ss_key *made, *loaded;
	struct stat st;
	uint8_t sig[SS_SIG_LEN];
	mode_t old = umask(0);

	(void)state;
	key_path(path, sizeof(path));
	assert_int_equal(ss_key_generate(path, &made), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 101);
	assert_int_equal(ss_key_load(path, &loaded), 0);
	assert_memory_equal(ss_key_public(loaded), ss_key_public(made), SS_SIG_PUBLIC_KEY_LEN);
	assert_memory_equal(ss_key_id(loaded), ss_key_id(made), SS_SIG_KEY_ID_LEN);
	assert_int_equal(ss_sig_sign(loaded, SS_SIG_CTX_DRAW_RECORD, record, sizeof(record), sig),
			 0);
	assert_int_equal(ss_sig_verify(ss_key_public(made), SS_SIG_CTX_DRAW_RECORD, record,
				       sizeof(record), sig, sizeof(sig)),
			 0);
	ss_key_free(loaded);
	ss_key_free(made);
	ss_key_free(NULL);
}

static void existing_key_file_is_never_replaced(void **state)
{
	char path[128], before[128] = {0}, after[128] = {0};
	struct ss_key *key = (struct ss_key *)1;
	FILE *f;

	(void)state;
	key_path(path, sizeof(path));
	assert_int_equal(ss_key_generate(path, NULL), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(before, sizeof(before), f));
	fclose(f);
	assert_int_equal(ss_key_generate(path, &key), SS_ERR_IO);
	assert_null(key);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(after, sizeof(after), f));
	fclose(f);
	assert_string_equal(before, after);
	/* A missing file is an I/O error, not a crash. */
	assert_int_equal(ss_key_load("/nonexistent/ss-test.key", &key), SS_ERR_IO);
	assert_null(key);
}

/* Rewrites the key file with line (no newline added). */
static void write_key_file(const char *path, const char *line)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(line, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void tampered_key_file_is_refused(void **state)
{
	char path[128], line[128], bad[128];
	uint8_t blob[80];
	size_t blob_len, refused = 0;
	struct ss_key *key;
	FILE *f;

	(void)state;
	key_path(path, sizeof(path));
	assert_int_equal(ss_key_generate(path, NULL), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(strlen(line), 101);
	assert_int_equal(sodium_base642bin(blob, sizeof(blob), line, 100, NULL, &blob_len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(blob_len, 74);

	/* Any flipped bit in the tag, the key id or the stored public key is
	 * refused; a flipped seed bit changes the derived public key and is
	 * refused too. */
	for (size_t bit = 0; bit < blob_len * 8; bit++) {
		blob[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		sodium_bin2base64(bad, sizeof(bad), blob, blob_len, sodium_base64_VARIANT_ORIGINAL);
		strcat(bad, "\n");
		write_key_file(path, bad);
		key = (struct ss_key *)1;
		assert_int_equal(ss_key_load(path, &key), SS_ERR_CONFIG);
		assert_null(key);
		refused++;
		blob[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Not exactly one base64 line. */
	memcpy(bad, line, 100);
	bad[100] = '\0';
	write_key_file(path, bad);
	assert_int_equal(ss_key_load(path, &key), SS_ERR_CONFIG);
	snprintf(bad, sizeof(bad), "%.100s\n\n", line);
	write_key_file(path, bad);
	assert_int_equal(ss_key_load(path, &key), SS_ERR_CONFIG);
	write_key_file(path, "");
	assert_int_equal(ss_key_load(path, &key), SS_ERR_CONFIG);
	/* The untouched line still loads. */
	write_key_file(path, line);
	assert_int_equal(ss_key_load(path, &key), 0);
	ss_key_free(key);
	printf("key file: %zu single-bit tamperings refused\n", refused);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_wycheproof_vector_gives_its_result),
	    cmocka_unit_test(raw_verify_needs_exactly_64_bytes),
	    cmocka_unit_test(seeded_keys_match_rfc8032),
	    cmocka_unit_test(signature_round_trips_with_the_domain_prefix),
	    cmocka_unit_test(a_wrong_context_fails),
	    cmocka_unit_test(tampering_is_reported_by_the_check_that_fails),
	    cmocka_unit_test(public_key_strings_round_trip),
	    cmocka_unit_test(key_file_is_created_0600_and_reloads),
	    cmocka_unit_test(existing_key_file_is_never_replaced),
	    cmocka_unit_test(tampered_key_file_is_refused),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
