/*
 * audit_int.h — the checks audit.c shares with audit_log.c; not public.
 * Each returns SS_CHECK_OK or the failed check, with res filled.
 */
#ifndef SS_AUDIT_INT_H
#define SS_AUDIT_INT_H

#include "audit.h"
#include "draw.h"
#include "note.h"
#include "record.h"

/* A draw's parsed pool and conflict snapshots, kept for recusal checks. */
struct audit_pool {
	char **bufs;
	size_t n_bufs;
	struct ss_inspector *pool;
	size_t n_pool;
	struct ss_conflict *conf;
	size_t n_conf;
};

enum ss_check audit_fail(struct ss_check_result *res, enum ss_check c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void audit_sha256(const uint8_t *data, size_t len, uint8_t out[32]);
/* Parses, checks canonical form, origin and signature; *note_out keeps cp's strings alive. */
enum ss_check audit_checkpoint(const struct ss_blob *raw, const uint8_t pk[32], const char *origin,
			       struct ss_note **note_out, struct ss_checkpoint *cp,
			       struct ss_check_result *res);
/* Type, signature (key id first), canonical parse and key-id line of a signed record. */
enum ss_check audit_signed(const struct ss_signed *s, enum ss_record_type want,
			   const uint8_t pk[32], const char *what, struct ss_record **out,
			   struct ss_check_result *res);
enum ss_check audit_draw_vs_open(const struct ss_record *d, const struct ss_record *o,
				 const uint8_t open_hash[32], struct ss_check_result *res);
enum ss_check audit_witness_set(const struct ss_record *d, const struct ss_record *o,
				struct ss_check_result *res);
/* Commitment, then seed, from the record's own fields. */
enum ss_check audit_seed(const struct ss_record *d, struct ss_check_result *res);
/*
 * Commitment, seed, snapshot digests, then the whole draw recomputed and
 * compared.  With in_place the snapshot bytes are cut with NULs where they
 * lie: only for blobs in a private copy nobody reads afterwards (the
 * receipt that ss_audit_receipt parsed itself); pool_out must then be NULL.
 */
enum ss_check audit_recompute(const struct ss_record *d, size_t n_pops, const struct ss_blob *pops,
			      const struct ss_blob *insp, const struct ss_blob *conf, int in_place,
			      struct audit_pool *pool_out, struct ss_check_result *res);
void audit_pool_free(struct audit_pool *p);

#endif
