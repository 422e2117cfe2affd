/*
 * merkle.c — RFC 9162 Merkle tree hashing, proof generation and verification.
 *
 * Generation follows the recursive definitions of RFC 9162 §2.1.3.1 (PATH)
 * and §2.1.4.1 (PROOF/SUBPROOF) literally: the trees we build proofs for are
 * in memory and the recursion depth is at most 64.  Verification follows the
 * iterative algorithms of §2.1.3.2 and §2.1.4.2 step by step, because those
 * are what a third party re-implements from the RFC.
 */
#include "merkle.h"

#include <assert.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "ss_error.h"

/* Leaves of this size or more (a large draw's record is tens of megabytes)
 * are hashed through OpenSSL, which uses the CPU's SHA extensions: the same
 * digest several times faster than libsodium's portable code. */
#define SS_MERKLE_BULK 65536

void ss_merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[SS_MERKLE_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	crypto_hash_sha256_state st;

	if (len >= SS_MERKLE_BULK) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
			 EVP_DigestUpdate(c, &prefix, 1) == 1 && EVP_DigestUpdate(c, data, len) == 1 &&
			 EVP_DigestFinal_ex(c, out, NULL) == 1;

		EVP_MD_CTX_free(c);
		if (ok)
			return;
	}
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	if (len > 0)
		crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void ss_merkle_node_hash(const uint8_t left[SS_MERKLE_HASH_LEN],
			 const uint8_t right[SS_MERKLE_HASH_LEN], uint8_t out[SS_MERKLE_HASH_LEN])
{
	uint8_t buf[1 + 2 * SS_MERKLE_HASH_LEN];

	/* Copy first: out may be one of the inputs. */
	buf[0] = 0x01;
	memcpy(buf + 1, left, SS_MERKLE_HASH_LEN);
	memcpy(buf + 1 + SS_MERKLE_HASH_LEN, right, SS_MERKLE_HASH_LEN);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

/* The largest power of two strictly smaller than n (n >= 2). */
static size_t split_point(size_t n)
{
	size_t k = 1;

	assert(n >= 2);
	while (k < n - k)
		k <<= 1;
	return k;
}

void ss_merkle_root(const uint8_t (*leaves)[SS_MERKLE_HASH_LEN], size_t n,
		    uint8_t out[SS_MERKLE_HASH_LEN])
{
	uint8_t left[SS_MERKLE_HASH_LEN], right[SS_MERKLE_HASH_LEN];
	size_t k;

	if (n == 0) {
		crypto_hash_sha256(out, (const uint8_t *)"", 0);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], SS_MERKLE_HASH_LEN);
		return;
	}
	k = split_point(n);
	ss_merkle_root(leaves, k, left);
	ss_merkle_root(leaves + k, n - k, right);
	ss_merkle_node_hash(left, right, out);
}

/* Appends MTH(leaves[0..n-1]) to the proof. */
static void proof_append_root(const uint8_t (*leaves)[SS_MERKLE_HASH_LEN], size_t n,
			      uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t *len)
{
	assert(*len < SS_MERKLE_MAX_PROOF);
	ss_merkle_root(leaves, n, proof[*len]);
	(*len)++;
}

/* PATH(m, D[n]) of RFC 9162 §2.1.3.1, for 0 <= m < n. */
static void inclusion_path(const uint8_t (*leaves)[SS_MERKLE_HASH_LEN], size_t n, size_t m,
			   uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t *len)
{
	size_t k;

	if (n <= 1)
		return;
	k = split_point(n);
	if (m < k) {
		inclusion_path(leaves, k, m, proof, len);
		proof_append_root(leaves + k, n - k, proof, len);
	} else {
		inclusion_path(leaves + k, n - k, m - k, proof, len);
		proof_append_root(leaves, k, proof, len);
	}
}

int ss_merkle_inclusion_proof(const uint8_t (*leaves)[SS_MERKLE_HASH_LEN], size_t n, size_t index,
			      uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t *proof_len)
{
	*proof_len = 0;
	if (index >= n)
		return SS_ERR_BAD_REQUEST;
	inclusion_path(leaves, n, index, proof, proof_len);
	return 0;
}

/* SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1, for 0 < m <= n. */
static void consistency_subproof(const uint8_t (*leaves)[SS_MERKLE_HASH_LEN], size_t n, size_t m,
				 int whole, uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t *len)
{
	size_t k;

	if (m == n) {
		/* The old tree is this subtree: the verifier knows its hash
		 * already when it is the whole old tree (b = true). */
		if (!whole)
			proof_append_root(leaves, m, proof, len);
		return;
	}
	k = split_point(n);
	if (m <= k) {
		consistency_subproof(leaves, k, m, whole, proof, len);
		proof_append_root(leaves + k, n - k, proof, len);
	} else {
		consistency_subproof(leaves + k, n - k, m - k, 0, proof, len);
		proof_append_root(leaves, k, proof, len);
	}
}

int ss_merkle_consistency_proof(const uint8_t (*leaves)[SS_MERKLE_HASH_LEN], size_t n, size_t size1,
				uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t *proof_len)
{
	*proof_len = 0;
	if (size1 == 0 || size1 > n)
		return SS_ERR_BAD_REQUEST;
	consistency_subproof(leaves, n, size1, 1, proof, proof_len);
	return 0;
}

/*
 * Roots and proofs are public, so an ordinary comparison is fine here; the
 * verdict does not depend on timing.
 */
static int hash_equal(const uint8_t a[SS_MERKLE_HASH_LEN], const uint8_t b[SS_MERKLE_HASH_LEN])
{
	return memcmp(a, b, SS_MERKLE_HASH_LEN) == 0;
}

int ss_merkle_verify_inclusion(uint64_t index, uint64_t size,
			       const uint8_t leaf_hash[SS_MERKLE_HASH_LEN],
			       const uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t proof_len,
			       const uint8_t root[SS_MERKLE_HASH_LEN])
{
	uint8_t r[SS_MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i;

	/* Step 1: the leaf must lie inside the tree. */
	if (index >= size)
		return SS_ERR_BAD_REQUEST;
	/* Steps 2-3. */
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, SS_MERKLE_HASH_LEN);
	/* Step 4. */
	for (i = 0; i < proof_len; i++) {
		if (sn == 0)
			return SS_ERR_BAD_REQUEST; /* the path is too long */
		if ((fn & 1) || fn == sn) {
			ss_merkle_node_hash(proof[i], r, r);
			if (!(fn & 1)) {
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			ss_merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* Step 5: the path must reach the root exactly. */
	if (sn != 0 || !hash_equal(r, root))
		return SS_ERR_BAD_REQUEST;
	return 0;
}

int ss_merkle_verify_consistency(uint64_t size1, uint64_t size2,
				 const uint8_t root1[SS_MERKLE_HASH_LEN],
				 const uint8_t root2[SS_MERKLE_HASH_LEN],
				 const uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t proof_len)
{
	uint8_t fr[SS_MERKLE_HASH_LEN], sr[SS_MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	/* RFC 9162 §2.1.4.2 covers 0 < size1 < size2; the edges first. */
	if (size1 > size2 || size1 == 0)
		return SS_ERR_BAD_REQUEST;
	if (size1 == size2) {
		if (proof_len != 0 || !hash_equal(root1, root2))
			return SS_ERR_BAD_REQUEST;
		return 0;
	}
	/* Step 1. */
	if (proof_len == 0)
		return SS_ERR_BAD_REQUEST;
	/* Steps 2 and 5: when size1 is a power of two the old root is itself
	 * the first node of the path, so it is used in place of a prepended
	 * copy; otherwise the path starts with that node. */
	if ((size1 & (size1 - 1)) == 0) {
		memcpy(fr, root1, SS_MERKLE_HASH_LEN);
	} else {
		memcpy(fr, proof[0], SS_MERKLE_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, SS_MERKLE_HASH_LEN);
	/* Steps 3-4. */
	fn = size1 - 1;
	sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	/* Step 6. */
	for (; i < proof_len; i++) {
		if (sn == 0)
			return SS_ERR_BAD_REQUEST;
		if ((fn & 1) || fn == sn) {
			ss_merkle_node_hash(proof[i], fr, fr);
			ss_merkle_node_hash(proof[i], sr, sr);
			if (!(fn & 1)) {
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			ss_merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* Step 7. */
	if (sn != 0 || !hash_equal(fr, root1) || !hash_equal(sr, root2))
		return SS_ERR_BAD_REQUEST;
	return 0;
}

int ss_merkle_verify_consistency_bytes(uint64_t size1, uint64_t size2, const uint8_t *root1,
				       size_t len1, const uint8_t *root2, size_t len2,
				       const uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t proof_len)
{
	if (len1 == SS_MERKLE_HASH_LEN && len2 == SS_MERKLE_HASH_LEN)
		return ss_merkle_verify_consistency(size1, size2, root1, root2, proof, proof_len);
	if (size1 != 0 && size1 == size2 && proof_len == 0 && len1 == len2 &&
	    memcmp(root1, root2, len1) == 0)
		return 0;
	return SS_ERR_BAD_REQUEST;
}
