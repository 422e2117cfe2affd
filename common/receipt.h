/*
 * receipt.h — draw receipts (抽取结果回执), log exports and consistency
 * proof files: the files an auditor (审计人员) verifies offline with
 * shuangsui-verify (docs/receipt.md).
 *
 * All three use one container: a header line, then sections
 *
 *     "shuangsui/v1 " KIND "\n"
 *     NAME " " LENGTH "\n" BYTES "\n"      (repeated, in a fixed order)
 *     "end\n"
 *
 * NAME is [a-z-]+, LENGTH decimal without leading zeros, BYTES exactly
 * LENGTH arbitrary bytes (records, binary signatures, signed notes,
 * snapshots).  Nothing may follow "end\n".  The order of sections for each
 * kind is in docs/receipt.md; parsers refuse any other.
 *
 * Parsed structures point into a private copy of the input they own:
 * free them with their _free function (which accepts NULL).  Structures
 * the caller fills for encoding hold borrowed pointers.
 */
#ifndef SS_RECEIPT_H
#define SS_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

#define SS_RECEIPT_MAX ((size_t)2 * 1024 * 1024 * 1024 - 1)

struct ss_blob {
	const uint8_t *data;
	size_t len;
};

/* A record and its signature (74 bytes; 148 for key-rotation). */
struct ss_signed {
	struct ss_blob record, sig;
};

struct ss_receipt {
	struct ss_signed open; /* the draw-open record */
	size_t n_witnesses;    /* witness records, in the draw's order */
	struct ss_signed *witnesses;
	int has_waiver; /* a witness-waiver record follows the witnesses */
	struct ss_signed waiver;
	struct ss_signed draw;	   /* the draw record: the leaf proven below */
	struct ss_blob checkpoint; /* C2SP signed note, tlog-checkpoint body */
	uint64_t leaf_index, tree_size;
	size_t proof_len;
	const uint8_t (*proof)[SS_MERKLE_HASH_LEN];
	size_t n_populations; /* one population snapshot per stratum, in order */
	struct ss_blob *populations;
	struct ss_blob inspectors, conflicts; /* the pool and conflict snapshots */
	void *storage;			      /* private */
};

/*
 * Writes a receipt to *out (malloc'd; the caller frees).  Returns 0,
 * SS_ERR_BAD_REQUEST (a missing part, or a proof longer than
 * SS_MERKLE_MAX_PROOF) or SS_ERR_NOMEM.  Nothing is verified here.
 */
int ss_receipt_encode(const struct ss_receipt *r, uint8_t **out, size_t *out_len);

/*
 * Parses a receipt strictly (container, section order, the inclusion
 * section's exact text).  Records, signatures and snapshots are only cut
 * out, not checked.  Returns 0, SS_ERR_MALFORMED_MESSAGE or SS_ERR_NOMEM;
 * free *out with ss_receipt_free.
 */
int ss_receipt_parse(const uint8_t *data, size_t len, struct ss_receipt **out);
void ss_receipt_free(struct ss_receipt *r);

/* One leaf of an exported log, in leaf order. */
struct ss_log_entry {
	struct ss_signed rec;
	/* Optional, draw records only: the snapshots, so the draw is recomputed. */
	size_t n_populations;
	struct ss_blob *populations;
	struct ss_blob inspectors, conflicts; /* set iff n_populations > 0 */
};

struct ss_log_export {
	size_t n_entries;
	struct ss_log_entry *entries;
	struct ss_blob checkpoint; /* the latest checkpoint, for all n_entries leaves */
	void *storage;		   /* private */
};

/*
 * Encodes / parses the container file of a log export ("shuangsui/v1 log":
 * per entry "record", "signature", and for a draw optionally "population"
 * per stratum, "inspectors", "conflicts").  The checkpoint is not part of
 * this file.  Same contract as the receipt functions.
 */
int ss_log_encode(const struct ss_log_export *log, uint8_t **out, size_t *out_len);
int ss_log_parse(const uint8_t *data, size_t len, struct ss_log_export **out);
void ss_log_export_free(struct ss_log_export *log);

/*
 * Writes a log export directory dir: dir/log (ss_log_encode) and
 * dir/checkpoint (log->checkpoint, a signed note).  dir is created with
 * mode 0755 if missing; the two files must not exist (O_EXCL) so that an
 * export never overwrites another.  Returns 0, SS_ERR_IO or SS_ERR_NOMEM.
 */
int ss_log_export_write(const char *dir, const struct ss_log_export *log);

/* Reads a log export directory.  Returns 0, SS_ERR_IO, SS_ERR_MALFORMED_MESSAGE or SS_ERR_NOMEM. */
int ss_log_export_read(const char *dir, struct ss_log_export **out);

/*
 * A consistency proof file (text, not a container):
 *     "shuangsui/v1 consistency\n" "old-size N\n" "new-size N\n" then
 *     "hash <64 lowercase hex>\n" per proof hash, RFC 9162 §2.1.4 order.
 * encode writes *out (malloc'd); parse fills proof (room for
 * SS_MERKLE_MAX_PROOF) and the sizes.  0, SS_ERR_BAD_REQUEST /
 * SS_ERR_MALFORMED_MESSAGE, or SS_ERR_NOMEM.
 */
int ss_consistency_encode(uint64_t old_size, uint64_t new_size,
			  const uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t proof_len,
			  uint8_t **out, size_t *out_len);
int ss_consistency_parse(const uint8_t *data, size_t len, uint64_t *old_size, uint64_t *new_size,
			 uint8_t (*proof)[SS_MERKLE_HASH_LEN], size_t *proof_len);

/*
 * Reads the whole file path into *out (malloc'd, NUL after *len bytes; the
 * caller frees), refusing files over max bytes.  0, SS_ERR_IO or SS_ERR_NOMEM.
 */
int ss_file_read(const char *path, size_t max, uint8_t **out, size_t *len);
/* Creates path exclusively (mode 0644) with the bytes.  0 or SS_ERR_IO (nothing left behind). */
int ss_file_write_new(const char *path, const uint8_t *data, size_t len);

#endif
