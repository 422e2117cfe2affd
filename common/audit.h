/*
 * audit.h — offline verification (离线核验) of receipts, log exports and
 * consistency between checkpoints: what shuangsui-verify runs, as a
 * library so that it is tested without a process in between.
 *
 * Every function reports the first check that failed, by a stable name
 * (ss_check_name, used in shuangsui-verify's output and in
 * docs/receipt.md) and a class (ss_check_class: the exit code).  The
 * checks run in the order of docs/receipt.md §4, so a damaged file is
 * blamed on the earliest thing that is wrong with it.
 */
#ifndef SS_AUDIT_H
#define SS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "receipt.h"
#include "signature.h"

enum ss_check {
	SS_CHECK_OK = 0,
	SS_CHECK_FORMAT,	       /* "format": not the documented container or record */
	SS_CHECK_KEY,		       /* "key": signed by, or naming, another key */
	SS_CHECK_RECORD_SIGNATURE,     /* "record-signature" */
	SS_CHECK_CHECKPOINT_FORMAT,    /* "checkpoint-format" */
	SS_CHECK_CHECKPOINT_SIGNATURE, /* "checkpoint-signature" (origin included) */
	SS_CHECK_INCLUSION,	       /* "inclusion": proof vs checkpoint */
	SS_CHECK_TREE_ROOT,	       /* "tree-root": log leaves vs checkpoint */
	SS_CHECK_CONSISTENCY,	       /* "consistency" */
	SS_CHECK_KEY_ROTATION,	       /* "key-rotation" */
	SS_CHECK_LINK,		       /* "link": draw vs its draw-open / witness records */
	SS_CHECK_COMMITMENT,	       /* "commitment": SHA-256(r) */
	SS_CHECK_POPULATION_DIGEST,    /* "population-digest" */
	SS_CHECK_INSPECTORS_DIGEST,    /* "inspectors-digest" */
	SS_CHECK_CONFLICTS_DIGEST,     /* "conflicts-digest" */
	SS_CHECK_SEED,		       /* "seed" */
	SS_CHECK_SELECTION,	       /* "selection": drawn ids and tickets */
	SS_CHECK_MATCHING,	       /* "matching": groups, experts, shortfalls */
	SS_CHECK_SEQUENCE,	       /* "sequence": log order rules (one draw per task, …) */
	SS_CHECK_RECUSAL,	       /* "recusal": replacement or shortfall */
	SS_CHECK_RESOURCES,	       /* "resources": out of memory */
};

/* Exit codes of shuangsui-verify, by class of check. */
enum {
	SS_VERIFY_EXIT_OK = 0,
	SS_VERIFY_EXIT_IO = 1, /* a file could not be read */
	SS_VERIFY_EXIT_USAGE = 2,
	SS_VERIFY_EXIT_FORMAT = 3, /* format, checkpoint-format */
	SS_VERIFY_EXIT_SIGNATURE =
	    4,			/* key, record-signature, checkpoint-signature, key-rotation */
	SS_VERIFY_EXIT_LOG = 5, /* inclusion, tree-root, consistency */
	SS_VERIFY_EXIT_RECOMPUTE = 6, /* link, commitment, *-digest, seed, selection, matching,
					 sequence, recusal */
	SS_VERIFY_EXIT_RESOURCES = 7,
};

struct ss_check_result {
	enum ss_check check;
	size_t entry;	  /* log: the leaf index concerned (when meaningful) */
	char detail[256]; /* English, one line */
};

/* "format", …; "ok" for SS_CHECK_OK.  Never NULL. */
const char *ss_check_name(enum ss_check check);
/* The exit code of a check (SS_VERIFY_EXIT_*). */
int ss_check_class(enum ss_check check);

/*
 * Verifies a receipt file's bytes against the log key pk.  origin, if not
 * NULL, is the checkpoint origin the auditor expects.  Fills *res; returns
 * res->check (SS_CHECK_OK = 0 when every check passed).
 */
enum ss_check ss_audit_receipt(const uint8_t *data, size_t len,
			       const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const char *origin,
			       struct ss_check_result *res);

/*
 * Replays a log export from its first leaf with pk as the first key:
 * signatures (key rotations switch the key), record formats, the order
 * rules, every draw recomputed (fully when its snapshots are in the export,
 * else cross-checked: docs/receipt.md §5), and the tree root against the
 * export's checkpoint, signed by the key current at the end.
 */
enum ss_check ss_audit_log(const struct ss_log_export *log, const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN],
			   const char *origin, struct ss_check_result *res);

/*
 * Checks that checkpoint new_cp extends checkpoint old_cp (signed notes),
 * both signed by pk (new_pk for the new one if not NULL), with either a
 * consistency proof file (proof, proof_len) or a log export (log) holding
 * at least the new tree.  Exactly one of proof and log is non-NULL.
 */
enum ss_check ss_audit_consistency(const struct ss_blob *old_cp, const struct ss_blob *new_cp,
				   const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const uint8_t *new_pk,
				   const char *origin, const struct ss_blob *proof,
				   const struct ss_log_export *log, struct ss_check_result *res);

#endif
