/*
 * record.h — the signed log records of the randomness service (随机抽取服务),
 * issue 5: canonical encoding, strict parsing, signing and verification.
 *
 * Every leaf of the transparency log is the exact bytes of one record.  A
 * record is UTF-8 text, LF-terminated lines, no CR, no trailing space, no
 * empty line: a header line "shuangsui/v1 TYPE", then "key value" lines in
 * the fixed order of docs/draw-spec.md §5 (repeated lines where that says
 * so).  Values are tokens, texts, decimals, lowercase hex or times as in
 * rectext.h.  There is exactly one encoding of each record: the parser
 * refuses anything else, and checks that re-encoding what it parsed gives
 * back the input byte for byte.
 *
 * One struct, struct ss_record, holds every type; the fields each type uses
 * are listed with it.  To write a record, fill a struct ss_record on the
 * stack with borrowed pointers and call ss_record_encode.  A record from
 * ss_record_parse or ss_draw_compute owns its memory (an arena): free it
 * with ss_record_free, which must not be called on a caller-filled struct.
 *
 * Signing: ss_sig_sign over the record bytes with the context of its type
 * (ss_record_context).  A key-rotation record carries two signatures, by the
 * old key then by the new key: 148 bytes.
 */
#ifndef SS_RECORD_H
#define SS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "signature.h"
#include "ticket.h"

#define SS_RECORD_MAX ((size_t)512 * 1024 * 1024)
#define SS_RECORD_HASH_LEN 32
#define SS_DRAW_R_LEN 32
#define SS_ENTROPY_MIN 20 /* decimal digits from physical dice, as typed */
#define SS_ENTROPY_MAX 256
#define SS_ROTATION_SIG_LEN (2 * SS_SIG_LEN)
#define SS_GROUP_MAX 1000 /* group_size and experts_per_object at most this */
#define SS_STRATA_MAX 1000
#define SS_WITNESSES_MAX 100

enum ss_record_type {
	SS_REC_NONE = 0,
	SS_REC_DRAW_OPEN,      /* "draw-open": 抽取开启 */
	SS_REC_WITNESS,	       /* "witness": 见证人熵值 */
	SS_REC_WITNESS_WAIVER, /* "witness-waiver": 法制机构记录的无见证说明 */
	SS_REC_DRAW,	       /* "draw": 抽取结果 */
	SS_REC_VOID,	       /* "void": 作废 */
	SS_REC_RECUSAL,	       /* "recusal": 回避 */
	SS_REC_KEY_ROTATION,   /* "key-rotation": 密钥轮换 */
};

/* A stratum (层): draw-open and draw. */
struct ss_rec_stratum {
	const char *name;	   /* token */
	uint64_t k;		   /* how many to draw */
	uint64_t size;		   /* population size */
	uint8_t digest[32];	   /* population snapshot digest (draw.h) */
	size_t n_picks;		   /* draw: min(k, size) */
	struct ss_ticketed *picks; /* draw: the drawn ids in draw order, with tickets */
};

/* A witness: draw-open lists the expected principals (entropy NULL); draw the contributions. */
struct ss_rec_witness {
	const char *principal;
	const char *entropy; /* SS_ENTROPY_MIN..SS_ENTROPY_MAX ASCII digits */
};

/* The inspection group of one drawn object (draw). */
struct ss_rec_match {
	const char *object;
	size_t n_inspectors;
	const char **inspectors; /* leader (组长) first */
	uint64_t inspector_shortfall;
	size_t n_experts;
	const char **experts;
	uint64_t expert_shortfall;
};

struct ss_record {
	enum ss_record_type type;
	/* All but key-rotation. */
	const char *task; /* token */
	int64_t timestamp;
	uint8_t key_id[SS_SIG_KEY_ID_LEN];
	/* draw-open and draw: the task parameters. */
	const char *params; /* text, opaque to us, canonical by the server's rules */
	uint64_t group_size, experts_per_object, workload_cap;
	uint64_t pool_size, conflicts_size;
	uint8_t pool_digest[32], conflicts_digest[32];
	size_t n_strata;
	struct ss_rec_stratum *strata;
	uint8_t commitment[32]; /* SHA-256(r) */
	/* draw-open (expected principals) and draw (contributions, in order). */
	size_t n_witnesses;
	struct ss_rec_witness *witnesses;
	/* witness, witness-waiver, draw: the leaf hash of the draw-open record. */
	uint8_t open_hash[32];
	/* draw. */
	uint8_t r[SS_DRAW_R_LEN];
	int waived;	  /* 1: a "waiver" line, principal and reason set */
	char seed[65];	  /* lowercase hex */
	size_t n_matches; /* = the number of drawn objects */
	struct ss_rec_match *matches;
	/* witness (principal, entropy); witness-waiver, void (principal, reason); draw waiver. */
	const char *principal;
	const char *entropy;
	const char *reason; /* text; also recusal */
	/* void, recusal: the leaf hash of the draw record. */
	uint8_t draw_hash[32];
	/* recusal. */
	const char *object;
	const char *inspector;	 /* the recused inspector */
	int expert_role;	 /* 1 if the recused one is an expert */
	const char *replacement; /* NULL: shortfall */
	/* key-rotation. */
	uint8_t old_key[SS_SIG_PUBLIC_KEY_LEN], new_key[SS_SIG_PUBLIC_KEY_LEN];

	struct ss_arena *arena; /* private: set when the record owns its memory */
};

/* "draw-open", … for a type, or NULL. */
const char *ss_record_type_name(enum ss_record_type type);
/* The signing context of a type (e.g. "draw-record"), or NULL. */
const char *ss_record_context(enum ss_record_type type);
/* The type named by the header line of data, or SS_REC_NONE. */
enum ss_record_type ss_record_peek_type(const uint8_t *data, size_t len);

/*
 * Encodes rec into *out (malloc'd, *out_len bytes and a NUL; the caller
 * frees).  Checks every field (tokens, texts, counts, a draw's internal
 * consistency: picks per stratum = min(k, size), one match per drawn object
 * with inspectors + shortfall = group_size, …).  Returns 0,
 * SS_ERR_BAD_REQUEST for an invalid field, or SS_ERR_NOMEM.
 */
int ss_record_encode(const struct ss_record *rec, uint8_t **out, size_t *out_len);

/*
 * Parses data[0..len) strictly.  On success *out is a new record owning its
 * memory (free with ss_record_free).  Returns 0, SS_ERR_MALFORMED_MESSAGE
 * (anything not exactly canonical) or SS_ERR_NOMEM.  Linear in len.
 */
int ss_record_parse(const uint8_t *data, size_t len, struct ss_record **out);

/* Frees a record from ss_record_parse / ss_draw_compute.  Accepts NULL. */
void ss_record_free(struct ss_record *rec);

/* The RFC 9162 leaf hash of record bytes (merkle.h): SHA-256(0x00 || data). */
void ss_record_leaf_hash(const uint8_t *data, size_t len, uint8_t out[32]);

/*
 * Signs record bytes (any type but key-rotation) with the context of the
 * type in their header line; sig receives SS_SIG_LEN bytes.  Returns 0,
 * SS_ERR_BAD_REQUEST (unknown type, or key-rotation) or SS_ERR_NOMEM.
 */
int ss_record_sign(const struct ss_key *key, const uint8_t *data, size_t len,
		   uint8_t sig[SS_SIG_LEN]);

/*
 * Verifies a signature made by ss_record_sign under pk.  Returns 0,
 * SS_ERR_MALFORMED_MESSAGE (bad signature object or unknown type),
 * SS_ERR_NOT_FOUND (another key id) or SS_ERR_BAD_REQUEST (invalid).
 */
int ss_record_verify(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const uint8_t *data, size_t len,
		     const uint8_t *sig, size_t sig_len);

/*
 * Signs key-rotation record bytes with both keys: sig = signature by old_key
 * || signature by new_key, context "key-rotation".  The record's old-key and
 * new-key must be those keys.  Returns 0, SS_ERR_BAD_REQUEST or SS_ERR_NOMEM.
 */
int ss_record_sign_rotation(const struct ss_key *old_key, const struct ss_key *new_key,
			    const uint8_t *data, size_t len, uint8_t sig[SS_ROTATION_SIG_LEN]);

/*
 * Verifies a key-rotation record: it must parse, its old-key must be
 * current_pk, and both signatures must verify (old key first).  On success
 * new_pk receives the new key.  Returns 0, SS_ERR_MALFORMED_MESSAGE,
 * SS_ERR_NOT_FOUND (old-key is not current_pk, or a signature's key id is
 * wrong) or SS_ERR_BAD_REQUEST (a signature does not verify).
 */
int ss_record_verify_rotation(const uint8_t current_pk[SS_SIG_PUBLIC_KEY_LEN], const uint8_t *data,
			      size_t len, const uint8_t *sig, size_t sig_len,
			      uint8_t new_pk[SS_SIG_PUBLIC_KEY_LEN]);

#endif
