/*
 * draw.h — the draw (抽取) of the randomness service, issue 5: snapshots and
 * their digests, the seed, the selection of objects (抽取检查对象) and the
 * matching of inspectors (匹配检查人员), and recusals (回避).  Pure and
 * sans-I/O: the server calls these to build a draw record, and
 * shuangsui-verify calls the same functions to recompute one.  The
 * algorithm is specified in docs/draw-spec.md; this header gives the C view.
 *
 * Ids, principal ids and stratum names are tokens (rectext.h): printable
 * UTF-8 without spaces, at most SS_TOKEN_MAX bytes.
 *
 * Snapshots (冻结快照) have one canonical encoding each, a text file whose
 * SHA-256 is the snapshot digest (so `sha256sum` checks it):
 *
 *   population   "shuangsui/v1 population\n" then "<id>\n" per id
 *   inspectors   "shuangsui/v1 inspectors\n" then "<id> regular\n" or
 *                "<id> expert\n" per inspector
 *   conflicts    "shuangsui/v1 conflicts\n" then "<inspector> <object>\n"
 *                per declared conflict (利益冲突)
 *
 * with the lines in strictly increasing byte order of the id (of the
 * (inspector, object) pair for conflicts): sorted and distinct.
 */
#ifndef SS_DRAW_H
#define SS_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct ss_inspector {
	const char *id;
	int expert; /* 1: in the expert pool (专家库) */
};

struct ss_conflict {
	const char *inspector;
	const char *object;
};

/* One stratum (层) of the draw: its frozen population and how many to draw. */
struct ss_draw_stratum {
	const char *name;
	uint64_t k;
	const char *const *ids; /* sorted, distinct tokens */
	size_t n;
};

/* A witness contribution (见证人输入). */
struct ss_witness {
	const char *principal;
	const char *entropy; /* SS_ENTROPY_MIN..SS_ENTROPY_MAX decimal digits, as typed */
};

/* Everything a draw depends on; all pointers are borrowed. */
struct ss_draw_input {
	const char *task;
	const char *params;	  /* text: the task parameters, canonical by the server's rules */
	const uint8_t *open_hash; /* 32 bytes: the leaf hash of the draw-open record */
	const struct ss_draw_stratum *strata;
	size_t n_strata;
	const struct ss_inspector *pool; /* sorted by id, distinct */
	size_t n_pool;
	const struct ss_conflict *conflicts; /* sorted by (inspector, object), distinct */
	size_t n_conflicts;
	uint64_t group_size;	     /* >= 2 */
	uint64_t experts_per_object; /* 0: no experts */
	uint64_t workload_cap;	     /* 0: unlimited */
	const uint8_t *r;	     /* SS_DRAW_R_LEN secret bytes, revealed in the record */
	const struct ss_witness *witnesses;
	size_t n_witnesses;
	const char *waiver_principal; /* non-NULL: the legal office waived (some) witnesses */
	const char *waiver_reason;
	int64_t timestamp;
	const uint8_t *key_id; /* SS_SIG_KEY_ID_LEN bytes */
};

/*
 * Writes the canonical encoding of a snapshot to *out (malloc'd; the caller
 * frees), checking order and tokens.  Returns 0, SS_ERR_BAD_REQUEST (not
 * sorted and distinct, or a bad id) or SS_ERR_NOMEM.
 */
int ss_snapshot_population_encode(const char *const *ids, size_t n, uint8_t **out, size_t *out_len);
int ss_snapshot_pool_encode(const struct ss_inspector *pool, size_t n, uint8_t **out,
			    size_t *out_len);
int ss_snapshot_conflicts_encode(const struct ss_conflict *c, size_t n, uint8_t **out,
				 size_t *out_len);

/*
 * The digests: SHA-256 of the encodings above, computed without building
 * them.  Same checks and return values as the encoders (no SS_ERR_NOMEM).
 */
int ss_snapshot_population_digest(const char *const *ids, size_t n, uint8_t digest[32]);
int ss_snapshot_pool_digest(const struct ss_inspector *pool, size_t n, uint8_t digest[32]);
int ss_snapshot_conflicts_digest(const struct ss_conflict *c, size_t n, uint8_t digest[32]);

/*
 * Parse snapshot encodings in place: data (len bytes, writable) is cut with
 * NULs, and *ids / *pool / *conflicts (malloc'd arrays pointing into data;
 * the caller frees the array, and keeps data alive) receive the entries.
 * Strict: the exact encoding, sorted, distinct, tokens.  Returns 0,
 * SS_ERR_MALFORMED_MESSAGE or SS_ERR_NOMEM.
 */
int ss_snapshot_population_parse(char *data, size_t len, const char ***ids, size_t *n);
int ss_snapshot_pool_parse(char *data, size_t len, struct ss_inspector **pool, size_t *n);
int ss_snapshot_conflicts_parse(char *data, size_t len, struct ss_conflict **c, size_t *n);

/*
 * The seed (种子): lowercase hex SHA-256 of the encoding of
 * docs/draw-spec.md §3 over the task id, r, the witness contributions in
 * order, and each stratum's name and population digest, then the pool and
 * conflicts digests.  Returns 0 or SS_ERR_BAD_REQUEST (a bad token or
 * entropy).
 */
int ss_draw_seed(const char *task, const uint8_t r[SS_DRAW_R_LEN],
		 const struct ss_witness *witnesses, size_t n_witnesses,
		 const char *const *stratum_names, const uint8_t (*population_digests)[32],
		 size_t n_strata, const uint8_t pool_digest[32], const uint8_t conflicts_digest[32],
		 char seed[65]);

/* commitment = SHA-256(r). */
void ss_draw_commitment(const uint8_t r[SS_DRAW_R_LEN], uint8_t commitment[32]);

/*
 * Computes the draw: snapshot digests, commitment, seed, the selection of
 * each stratum, the matching of every drawn object, shortfalls.  On success
 * *out is a new draw record (free with ss_record_free), ready for
 * ss_record_encode; its ids point into the caller's input arrays, so keep
 * them alive as long as *out.  Returns 0, SS_ERR_BAD_REQUEST (invalid
 * input: unsorted snapshot, bad token or entropy, group_size < 2, a drawn
 * object in two strata, …), SS_ERR_NOMEM or SS_ERR_INTERNAL.
 */
int ss_draw_compute(const struct ss_draw_input *in, struct ss_record **out);

/*
 * Snapshot digests already known for snapshots parsed strictly
 * (ss_snapshot_*_parse): computed by a verifier over the files it read, or
 * by the server over the files it stored.  ss_draw_compute_known then
 * trusts them instead of re-encoding and re-hashing 76 MB.  population has
 * one digest per stratum.
 */
struct ss_draw_digests {
	const uint8_t (*population)[32];
	const uint8_t *pool, *conflicts;
};

/* ss_draw_compute, with the digests given (known may be NULL: computed). */
int ss_draw_compute_known(const struct ss_draw_input *in, const struct ss_draw_digests *known,
			  struct ss_record **out);

/*
 * Computes the outcome of a recusal: object's group in draw (a parsed or
 * computed draw record) with the prior recusal records (in log order, all
 * of this draw) applied, then inspector recused from it.  pool and
 * conflicts are the draw's snapshots.  *replacement receives the
 * replacement's id (pointing into pool), or NULL for a shortfall.  Returns
 * 0, SS_ERR_NOT_FOUND (object not drawn, or inspector not currently in its
 * group), SS_ERR_BAD_REQUEST (a prior recusal that does not apply) or
 * SS_ERR_NOMEM.
 */
int ss_draw_recusal(const struct ss_record *draw, const struct ss_inspector *pool, size_t n_pool,
		    const struct ss_conflict *conflicts, size_t n_conflicts,
		    const struct ss_record *const *prior, size_t n_prior, const char *object,
		    const char *inspector, const char **replacement);

#endif
