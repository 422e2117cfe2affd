/*
 * merkle.h — RFC 9162 (RFC 6962) Merkle tree hashing and proofs, sans-I/O.
 *
 * The log of signed records is a Merkle tree in the sense of RFC 9162 §2.1
 * with SHA-256: a leaf is hashed as SHA-256(0x00 || bytes), an interior node
 * as SHA-256(0x01 || left || right), and the tree hash MTH of n leaves splits
 * at k, the largest power of two smaller than n.  The tree of zero leaves has
 * the hash SHA-256("").
 *
 * Everything here works on 32-byte hashes in memory: no files, no database.
 * Proof generators take the complete list of leaf hashes (as the server holds
 * them) and write into a caller-supplied array of SS_MERKLE_MAX_PROOF hashes.
 * Verifiers take sizes as uint64_t because they come from checkpoints and
 * receipts written by someone else; they never assert on their inputs.
 *
 * Return values: 0, or SS_ERR_BAD_REQUEST when a proof does not verify or its
 * arguments are out of range (index past the tree, size1 > size2).  Nothing
 * here allocates, so there is no SS_ERR_NOMEM.
 */
#ifndef SS_MERKLE_H
#define SS_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define SS_MERKLE_HASH_LEN 32
/*
 * Longest proof any tree of up to 2^64 - 1 leaves needs: an inclusion path has
 * at most 64 hashes; a consistency path at most 64 plus the subtree hash that
 * RFC 9162 §2.1.4.1 adds when size1 is not a power of two.
 */
#define SS_MERKLE_MAX_PROOF 65

/* out = SHA-256(0x00 || data): the hash of one log entry. */
void ss_merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[SS_MERKLE_HASH_LEN]);

/* out = SHA-256(0x01 || left || right).  out may alias left or right. */
void ss_merkle_node_hash(const uint8_t left[SS_MERKLE_HASH_LEN],
			 const uint8_t right[SS_MERKLE_HASH_LEN], uint8_t out[SS_MERKLE_HASH_LEN]);

/*
 * The tree hash MTH of the n leaf hashes leaves[0..n-1] (n = 0 gives
 * SHA-256 of the empty string).  leaves may be NULL when n is 0.
 */
void ss_merkle_root(const uint8_t (*leaves)[SS_MERKLE_HASH_LEN], size_t n,
		    uint8_t out[SS_MERKLE_HASH_LEN]);

/*
 * The inclusion path PATH(index, D[n]) of RFC 9162 §2.1.3.1 for the leaf at
 * index in the tree of the n leaf hashes leaves[0..n-1], written to
 * proof[0..*proof_len-1], nearest the leaf first.  proof must have room for
 * SS_MERKLE_MAX_PROOF hashes.  Returns 0, or SS_ERR_BAD_REQUEST if
 * index >= n (then *proof_len is 0).
 */
int ss_merkle_inclusion_proof(const uint8_t (*leaves)[SS_MERKLE_HASH_LEN], size_t n, size_t index,
			      uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t *proof_len);

/*
 * Checks that leaf_hash is the leaf at index of the tree of size leaves whose
 * hash is root, with the algorithm of RFC 9162 §2.1.3.2.  Returns 0 if so,
 * SS_ERR_BAD_REQUEST otherwise (including index >= size).
 */
int ss_merkle_verify_inclusion(uint64_t index, uint64_t size,
			       const uint8_t leaf_hash[SS_MERKLE_HASH_LEN],
			       const uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t proof_len,
			       const uint8_t root[SS_MERKLE_HASH_LEN]);

/*
 * The consistency proof PROOF(size1, D[n]) of RFC 9162 §2.1.4.1 between the
 * first size1 leaves and all n leaves, written to proof[0..*proof_len-1];
 * proof must have room for SS_MERKLE_MAX_PROOF hashes.  The proof between
 * equal sizes is empty.  Returns 0, or SS_ERR_BAD_REQUEST unless
 * 0 < size1 <= n (then *proof_len is 0).
 */
int ss_merkle_consistency_proof(const uint8_t (*leaves)[SS_MERKLE_HASH_LEN], size_t n, size_t size1,
				uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t *proof_len);

/*
 * Checks that the tree of size2 leaves with hash root2 extends the tree of
 * size1 leaves with hash root1 (RFC 9162 §2.1.4.2).  Besides the RFC's
 * 0 < size1 < size2 case: size1 == size2 verifies iff the proof is empty and
 * the roots are equal; size1 == 0 never verifies (every tree extends the
 * empty tree, so such a "proof" proves nothing and is refused as a misuse);
 * size1 > size2 never verifies.  Returns 0 or SS_ERR_BAD_REQUEST.
 */
int ss_merkle_verify_consistency(uint64_t size1, uint64_t size2,
				 const uint8_t root1[SS_MERKLE_HASH_LEN],
				 const uint8_t root2[SS_MERKLE_HASH_LEN],
				 const uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t proof_len);

/*
 * The same check with roots given as byte strings of any length, as the Go
 * reference verifier (and its test data) treat them: equal sizes need an
 * empty proof and byte-equal roots, whatever their length; otherwise both
 * roots must be SHA-256 roots (32 bytes) and ss_merkle_verify_consistency
 * decides.  Returns 0 or SS_ERR_BAD_REQUEST.
 */
int ss_merkle_verify_consistency_bytes(uint64_t size1, uint64_t size2, const uint8_t *root1,
				       size_t len1, const uint8_t *root2, size_t len2,
				       const uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t proof_len);

#endif
