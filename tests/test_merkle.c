/*
 * test_merkle.c — RFC 9162 Merkle proofs against the transparency-dev test
 * data (tests/vectors/merkle/testdata) and generated round trips.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <json-c/json.h>
#include <sodium.h>

#include "merkle.h"
#include "ss_error.h"

#define TESTDATA SS_TEST_SOURCE_DIR "/tests/vectors/merkle/testdata"
#define H SS_MERKLE_HASH_LEN

/* ---- the vector files ---------------------------------------------------- */

static char *case_files[1024];
static size_t n_case_files;

static int collect_json(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	size_t len = strlen(path);

	(void)sb;
	(void)ftw;
	if (type == FTW_F && len > 5 && strcmp(path + len - 5, ".json") == 0) {
		assert_true(n_case_files < sizeof(case_files) / sizeof(case_files[0]));
		case_files[n_case_files] = strdup(path);
		assert_non_null(case_files[n_case_files]);
		n_case_files++;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect(const char *dir)
{
	n_case_files = 0;
	assert_int_equal(nftw(dir, collect_json, 16, FTW_PHYS), 0);
	qsort(case_files, n_case_files, sizeof(case_files[0]), cmp_str);
}

static void release(void)
{
	for (size_t i = 0; i < n_case_files; i++)
		free(case_files[i]);
	n_case_files = 0;
}

/*
 * Decodes one base64 hash.  Returns 1 if it is exactly 32 bytes; 0 if it is
 * any other length, which our receipt and checkpoint parsers refuse before a
 * proof is ever checked, so the case is rejected at that layer.
 */
static int decode_hash(json_object *s, uint8_t out[H])
{
	uint8_t buf[128];
	size_t len = 0;
	const char *b64;

	assert_true(json_object_is_type(s, json_type_string));
	b64 = json_object_get_string(s);
	if (sodium_base642bin(buf, sizeof(buf), b64, strlen(b64), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return 0;
	if (len != H)
		return 0;
	memcpy(out, buf, H);
	return 1;
}

static uint64_t get_u64(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_uint64(v);
}

/* Decodes the "proof" array (null means empty); returns 0 if an element is not a hash. */
static int decode_proof(json_object *o, uint8_t (*proof)[H], size_t cap, size_t *len)
{
	json_object *arr;
	size_t n;

	*len = 0;
	assert_true(json_object_object_get_ex(o, "proof", &arr));
	if (arr == NULL)
		return 1;
	assert_true(json_object_is_type(arr, json_type_array));
	n = json_object_array_length(arr);
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++)
		if (!decode_hash(json_object_array_get_idx(arr, i), proof[i]))
			return 0;
	*len = n;
	return 1;
}

static int want_err(json_object *o)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, "wantErr", &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

/* A base64 root of any length (the Go test data has a few that are not
 * SHA-256 roots); returns its length, or -1. */
static int decode_bytes(json_object *s, uint8_t out[128])
{
	size_t len = 0;
	const char *b64;

	assert_true(json_object_is_type(s, json_type_string));
	b64 = json_object_get_string(s);
	if (sodium_base642bin(out, 128, b64, strlen(b64), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return (int)len;
}

static void every_inclusion_case_gives_its_verdict(void **state)
{
	size_t ok = 0, rejected = 0, by_length = 0;

	(void)state;
	collect(TESTDATA "/inclusion");
	assert_true(n_case_files > 0);
	for (size_t i = 0; i < n_case_files; i++) {
		json_object *o = json_object_from_file(case_files[i]);
		uint8_t root[H], leaf[H], proof[80][H];
		size_t proof_len;
		int verdict_err, decoded;

		assert_non_null(o);
		decoded = decode_hash(field(o, "root"), root) &
			  decode_hash(field(o, "leafHash"), leaf) &
			  decode_proof(o, proof, 80, &proof_len);
		if (!decoded) {
			verdict_err = 1;
			by_length++;
		} else {
			int rc = ss_merkle_verify_inclusion(get_u64(o, "leafIdx"),
							    get_u64(o, "treeSize"), leaf, proof,
							    proof_len, root);
			assert_true(rc == 0 || rc == SS_ERR_BAD_REQUEST);
			verdict_err = rc != 0;
		}
		if (verdict_err != want_err(o))
			fail_msg("%s: wantErr %d, got %d", case_files[i], want_err(o), verdict_err);
		if (verdict_err)
			rejected++;
		else
			ok++;
		json_object_put(o);
	}
	printf("merkle inclusion: %zu cases, %zu verify, %zu rejected (%zu of them for a hash "
	       "that is not 32 bytes)\n",
	       n_case_files, ok, rejected, by_length);
	release();
}

static void every_consistency_case_gives_its_verdict(void **state)
{
	size_t ok = 0, rejected = 0, by_length = 0;

	(void)state;
	collect(TESTDATA "/consistency");
	assert_true(n_case_files > 0);
	for (size_t i = 0; i < n_case_files; i++) {
		json_object *o = json_object_from_file(case_files[i]);
		uint8_t root1[128], root2[128], proof[80][H];
		size_t proof_len;
		int verdict_err, decoded, len1, len2;

		assert_non_null(o);
		len1 = decode_bytes(field(o, "root1"), root1);
		len2 = decode_bytes(field(o, "root2"), root2);
		decoded = len1 >= 0 && len2 >= 0 && decode_proof(o, proof, 80, &proof_len);
		if (!decoded) {
			verdict_err = 1;
			by_length++;
		} else {
			/* Roots as byte strings, as the reference verifier takes them. */
			int rc = ss_merkle_verify_consistency_bytes(
			    get_u64(o, "size1"), get_u64(o, "size2"), root1, (size_t)len1, root2,
			    (size_t)len2, proof, proof_len);
			assert_true(rc == 0 || rc == SS_ERR_BAD_REQUEST);
			verdict_err = rc != 0;
		}
		if (verdict_err != want_err(o))
			fail_msg("%s: wantErr %d, got %d", case_files[i], want_err(o), verdict_err);
		if (verdict_err)
			rejected++;
		else
			ok++;
		json_object_put(o);
	}
	printf("merkle consistency: %zu cases, %zu verify, %zu rejected (%zu of them for a proof "
	       "hash that is not 32 bytes)\n",
	       n_case_files, ok, rejected, by_length);
	release();
}

/* ---- known answers and generated proofs ---------------------------------- */

/* The eight leaves of the RFC 6962 reference tree used by the test data. */
static const struct {
	const char *bytes;
	size_t len;
} reference_leaves[8] = {
    {"", 0},
    {"\x00", 1},
    {"\x10", 1},
    {"\x20\x21", 2},
    {"\x30\x31", 2},
    {"\x40\x41\x42\x43", 4},
    {"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
    {"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16},
};

static void hex_hash(const char *hex, uint8_t out[H])
{
	size_t len = 0;

	assert_int_equal(sodium_hex2bin(out, H, hex, strlen(hex), NULL, &len, NULL), 0);
	assert_int_equal(len, H);
}

static void roots_match_the_reference_tree(void **state)
{
	uint8_t leaves[8][H], root[H], want[H];

	(void)state;
	for (size_t i = 0; i < 8; i++)
		ss_merkle_leaf_hash((const uint8_t *)reference_leaves[i].bytes,
				    reference_leaves[i].len, leaves[i]);
	ss_merkle_root(leaves, 0, root);
	hex_hash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
	assert_memory_equal(root, want, H);
	ss_merkle_root(leaves, 1, root);
	hex_hash("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want);
	assert_memory_equal(root, want, H);
	ss_merkle_root(leaves, 3, root);
	hex_hash("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77", want);
	assert_memory_equal(root, want, H);
	ss_merkle_root(leaves, 8, root);
	hex_hash("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", want);
	assert_memory_equal(root, want, H);
}

/* Our generator reproduces the proofs of every happy-path vector built on the reference tree. */
static void generated_proofs_equal_the_happy_path_vectors(void **state)
{
	uint8_t leaves[8][H], root[H], want[H], proof[SS_MERKLE_MAX_PROOF][H], vec[80][H];
	size_t compared = 0, len, vec_len;

	(void)state;
	for (size_t i = 0; i < 8; i++)
		ss_merkle_leaf_hash((const uint8_t *)reference_leaves[i].bytes,
				    reference_leaves[i].len, leaves[i]);
	collect(TESTDATA);
	for (size_t i = 0; i < n_case_files; i++) {
		json_object *o;
		int inclusion = strstr(case_files[i], "/inclusion/") != NULL;

		if (strstr(case_files[i], "/happy-path.json") == NULL)
			continue;
		o = json_object_from_file(case_files[i]);
		assert_non_null(o);
		assert_true(decode_proof(o, vec, 80, &vec_len));
		if (inclusion) {
			uint64_t size = get_u64(o, "treeSize"), idx = get_u64(o, "leafIdx");

			assert_true(decode_hash(field(o, "root"), want));
			if (size > 8)
				goto next;
			ss_merkle_root(leaves, size, root);
			if (memcmp(root, want, H) != 0)
				goto next;
			assert_int_equal(ss_merkle_inclusion_proof(leaves, size, idx, proof, &len),
					 0);
		} else {
			uint64_t size1 = get_u64(o, "size1"), size2 = get_u64(o, "size2");

			assert_true(decode_hash(field(o, "root2"), want));
			if (size2 > 8)
				goto next;
			ss_merkle_root(leaves, size2, root);
			if (memcmp(root, want, H) != 0)
				goto next;
			assert_int_equal(
			    ss_merkle_consistency_proof(leaves, size2, size1, proof, &len), 0);
		}
		assert_int_equal(len, vec_len);
		assert_memory_equal(proof, vec, len * H);
		compared++;
	next:
		json_object_put(o);
	}
	printf("merkle: %zu happy-path proofs regenerated byte for byte\n", compared);
	assert_true(compared >= 8);
	release();
}

#define MAX_GEN 64

static uint8_t gen_leaves[MAX_GEN][H];
static uint8_t gen_roots[MAX_GEN + 1][H];

static void make_tree(void)
{
	for (size_t i = 0; i < MAX_GEN; i++) {
		char entry[32];
		int n = snprintf(entry, sizeof(entry), "record %zu", i);

		ss_merkle_leaf_hash((const uint8_t *)entry, (size_t)n, gen_leaves[i]);
	}
	for (size_t n = 0; n <= MAX_GEN; n++)
		ss_merkle_root(gen_leaves, n, gen_roots[n]);
}

static void inclusion_proofs_round_trip_and_detect_flips(void **state)
{
	uint8_t proof[SS_MERKLE_MAX_PROOF][H], leaf[H], root[H];
	size_t len, checked = 0;

	(void)state;
	make_tree();
	for (size_t n = 1; n <= MAX_GEN; n++) {
		for (size_t m = 0; m < n; m++) {
			assert_int_equal(ss_merkle_inclusion_proof(gen_leaves, n, m, proof, &len),
					 0);
			assert_int_equal(ss_merkle_verify_inclusion(m, n, gen_leaves[m], proof, len,
								    gen_roots[n]),
					 0);
			/* One flipped bit anywhere in the proof, the leaf or the root fails. */
			for (size_t p = 0; p < len; p++) {
				size_t bit = (p * 37 + m) % (H * 8);

				proof[p][bit / 8] ^= (uint8_t)(1u << (bit % 8));
				assert_int_equal(ss_merkle_verify_inclusion(
						     m, n, gen_leaves[m], proof, len, gen_roots[n]),
						 SS_ERR_BAD_REQUEST);
				proof[p][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			memcpy(leaf, gen_leaves[m], H);
			leaf[m % H] ^= 0x80;
			assert_int_equal(
			    ss_merkle_verify_inclusion(m, n, leaf, proof, len, gen_roots[n]),
			    SS_ERR_BAD_REQUEST);
			memcpy(root, gen_roots[n], H);
			root[(m + n) % H] ^= 0x01;
			assert_int_equal(
			    ss_merkle_verify_inclusion(m, n, gen_leaves[m], proof, len, root),
			    SS_ERR_BAD_REQUEST);
			/* The proof does not fit another leaf position.  (It may fit
			 * another tree size: the size is bound to the root by the
			 * signed checkpoint, not by the proof.) */
			if (n > 1)
				assert_int_equal(ss_merkle_verify_inclusion((m + 1) % n, n,
									    gen_leaves[m], proof,
									    len, gen_roots[n]),
						 SS_ERR_BAD_REQUEST);
			if (len > 0)
				assert_int_equal(ss_merkle_verify_inclusion(m, n, gen_leaves[m],
									    proof, len - 1,
									    gen_roots[n]),
						 SS_ERR_BAD_REQUEST);
			checked++;
		}
		assert_int_equal(ss_merkle_inclusion_proof(gen_leaves, n, n, proof, &len),
				 SS_ERR_BAD_REQUEST);
		assert_int_equal(len, 0);
	}
	printf("merkle: %zu generated inclusion proofs verified\n", checked);
}

static void consistency_proofs_round_trip_and_detect_flips(void **state)
{
	uint8_t proof[SS_MERKLE_MAX_PROOF][H], root[H];
	size_t len, checked = 0;

	(void)state;
	make_tree();
	for (size_t n = 1; n <= MAX_GEN; n++) {
		for (size_t m = 1; m <= n; m++) {
			assert_int_equal(ss_merkle_consistency_proof(gen_leaves, n, m, proof, &len),
					 0);
			assert_int_equal(ss_merkle_verify_consistency(m, n, gen_roots[m],
								      gen_roots[n], proof, len),
					 0);
			for (size_t p = 0; p < len; p++) {
				size_t bit = (p * 41 + m + n) % (H * 8);

				proof[p][bit / 8] ^= (uint8_t)(1u << (bit % 8));
				assert_int_equal(ss_merkle_verify_consistency(
						     m, n, gen_roots[m], gen_roots[n], proof, len),
						 SS_ERR_BAD_REQUEST);
				proof[p][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			memcpy(root, gen_roots[m], H);
			root[n % H] ^= 0x04;
			assert_int_equal(
			    ss_merkle_verify_consistency(m, n, root, gen_roots[n], proof, len),
			    SS_ERR_BAD_REQUEST);
			memcpy(root, gen_roots[n], H);
			root[m % H] ^= 0x10;
			assert_int_equal(
			    ss_merkle_verify_consistency(m, n, gen_roots[m], root, proof, len),
			    SS_ERR_BAD_REQUEST);
			if (m < n) {
				/* Swapped sizes and a shorter old tree are refused. */
				assert_int_equal(ss_merkle_verify_consistency(
						     n, m, gen_roots[n], gen_roots[m], proof, len),
						 SS_ERR_BAD_REQUEST);
				assert_int_equal(ss_merkle_verify_consistency(m, n, gen_roots[m],
									      gen_roots[n], proof,
									      len - 1),
						 SS_ERR_BAD_REQUEST);
			}
			checked++;
		}
		assert_int_equal(ss_merkle_consistency_proof(gen_leaves, n, 0, proof, &len),
				 SS_ERR_BAD_REQUEST);
		assert_int_equal(ss_merkle_consistency_proof(gen_leaves, n, n + 1, proof, &len),
				 SS_ERR_BAD_REQUEST);
	}
	printf("merkle: %zu generated consistency proofs verified\n", checked);
}

/* Large leaves take another hashing path (OpenSSL): the same digest as
 * SHA-256(0x00 || data) computed in one piece, on both sides of the switch. */
static void large_leaves_hash_alike(void **state)
{
	static const size_t sizes[] = {65535, 65536, 65537, 1 << 20};
	uint8_t *buf = malloc((1 << 20) + 1), got[H], want[H];
	size_t i, k;

	(void)state;
	assert_non_null(buf);
	buf[0] = 0x00;
	for (k = 1; k <= (1 << 20); k++)
		buf[k] = (uint8_t)(k * 131 + 7);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ss_merkle_leaf_hash(buf + 1, sizes[i], got);
		crypto_hash_sha256(want, buf, sizes[i] + 1);
		assert_memory_equal(got, want, H);
	}
	free(buf);
}

static void hostile_sizes_are_refused(void **state)
{
	uint8_t proof[SS_MERKLE_MAX_PROOF][H];

	(void)state;
	make_tree();
	memset(proof, 0, sizeof(proof));
	assert_int_equal(ss_merkle_verify_inclusion(UINT64_MAX, UINT64_MAX, gen_leaves[0], proof,
						    SS_MERKLE_MAX_PROOF, gen_roots[1]),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_merkle_verify_inclusion(0, 0, gen_leaves[0], proof, 0, gen_roots[0]),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_merkle_verify_inclusion(0x80000000u, 0xffffffffu, gen_leaves[0], proof,
						    SS_MERKLE_MAX_PROOF, gen_roots[1]),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_merkle_verify_consistency(1, UINT64_MAX, gen_roots[1], gen_roots[2],
						      proof, SS_MERKLE_MAX_PROOF),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_merkle_verify_consistency(0, 0, gen_roots[0], gen_roots[0], proof, 0),
			 SS_ERR_BAD_REQUEST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_inclusion_case_gives_its_verdict),
	    cmocka_unit_test(every_consistency_case_gives_its_verdict),
	    cmocka_unit_test(roots_match_the_reference_tree),
	    cmocka_unit_test(generated_proofs_equal_the_happy_path_vectors),
	    cmocka_unit_test(inclusion_proofs_round_trip_and_detect_flips),
	    cmocka_unit_test(consistency_proofs_round_trip_and_detect_flips),
	    cmocka_unit_test(hostile_sizes_are_refused),
	    cmocka_unit_test(large_leaves_hash_alike),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
