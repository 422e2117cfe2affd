/*
 * snapstore.h — how a draw's snapshots are stored (issue 5, sql/006):
 * each canonical snapshot file (docs/draw-spec.md §3) as one zstd frame,
 * with its content size in the frame header.  A population of 4,000,000
 * ids is a 76 MB file; PostgreSQL received, checked and compressed it in
 * about 1.7 s, which was a third of the whole draw.  Packed here on the
 * draw's worker thread, it is a third to a fifteenth of the bytes to send
 * and write.  Unpacking checks the frame and the snapshot's digest, so a
 * stored snapshot that was changed is refused rather than drawn from.
 */
#ifndef SS_SNAPSTORE_H
#define SS_SNAPSTORE_H

#include <stddef.h>
#include <stdint.h>

/* The largest snapshot unpacked: the draw sends each snapshot's length as an int4. */
#define SS_SNAPSHOT_MAX ((size_t)0x7fffffff)

/*
 * Packs len bytes of data into one zstd frame in a new buffer (*out,
 * *out_len; the caller frees it).  0, SS_ERR_NOMEM, or SS_ERR_INTERNAL.
 */
int ss_snapshot_pack(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len);

/*
 * Unpacks a stored snapshot: exactly one zstd frame that states its content
 * size (at most SS_SNAPSHOT_MAX), whose content has SHA-256 digest.
 * *out is NUL-terminated (not counted in *out_len); the caller frees it.
 * 0, SS_ERR_NOMEM, or SS_ERR_INTERNAL when the frame or the digest is not
 * as stored (logged).
 */
int ss_snapshot_unpack(const uint8_t *packed, size_t len, const uint8_t digest[32], uint8_t **out,
		       size_t *out_len);

/* SHA-256 of a snapshot through OpenSSL (the CPU's SHA extensions); 0 or SS_ERR_INTERNAL. */
int ss_snapshot_digest(const uint8_t *data, size_t len, uint8_t digest[32]);

#endif
