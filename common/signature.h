/*
 * signature.h — Ed25519 signatures for draw records and log records, and the
 * key files of the randomness service (minisign/signify style).
 *
 * Formats (also in docs/receipt.md):
 *
 *   key id      8 bytes: the first 8 bytes of
 *                 SHA-256("shuangsui/v1/key-id" || 0x00 || public key).
 *               Derived, not random, so anyone holding the public key
 *               recomputes it, and a key id can never name two keys by
 *               accident (minisign draws it at random instead).
 *
 *   signed msg  "shuangsui/v1/" || context || 0x00 || message
 *               signed with plain Ed25519 (RFC 8032, not Ed25519ph), so
 *               `openssl pkeyutl -verify -rawin` checks it given those bytes.
 *               context is 1..SS_SIG_CONTEXT_MAX characters of [a-z0-9-],
 *               e.g. SS_SIG_CTX_DRAW_RECORD.  The 0x00 ends the context, so no
 *               context is a prefix of another, and no signed message is a
 *               valid C2SP note text (which has no control bytes): the same key
 *               may sign checkpoints as signed notes (note.h) without either
 *               signature standing in for the other.
 *
 *   signature   SS_SIG_LEN = 74 bytes: "Ed" || key id || Ed25519 signature.
 *               Every signed object carries this, so the verifier checks the
 *               algorithm and the key id before it touches the signature.
 *
 *   public key  base64("Ed" || key id || public key), 56 characters, one line;
 *               what `shuangsui-verify --key` reads.
 *
 *   key file    one line: base64("Ed" || key id || secret key) then "\n",
 *               where secret key is libsodium's 64 bytes (32-byte seed ||
 *               32-byte public key); 100 base64 characters.  Created with
 *               O_CREAT|O_EXCL, mode 0600.  On load the key pair is re-derived
 *               from the seed and must equal the stored public key and key id.
 *
 * Secret keys live only in sodium_malloc memory and are wiped by ss_key_free.
 * Call sodium_init() once before anything here.
 *
 * Errors: SS_ERR_BAD_REQUEST a signature that does not verify, or a bad
 * argument (context); SS_ERR_MALFORMED_MESSAGE a signature or public key of
 * the wrong length or algorithm; SS_ERR_NOT_FOUND a signature by another key
 * id; SS_ERR_IO a key file that cannot be created, opened or read (including
 * one that already exists); SS_ERR_CONFIG a key file whose contents are wrong;
 * SS_ERR_NOMEM.
 */
#ifndef SS_SIGNATURE_H
#define SS_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#define SS_SIG_ALG_TAG "Ed"
#define SS_SIG_ALG_TAG_LEN 2
#define SS_SIG_KEY_ID_LEN 8
#define SS_SIG_PUBLIC_KEY_LEN 32
#define SS_SIG_SECRET_KEY_LEN 64
#define SS_SIG_RAW_LEN 64
#define SS_SIG_LEN (SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN + SS_SIG_RAW_LEN)
#define SS_SIG_DOMAIN "shuangsui/v1/"
#define SS_SIG_CONTEXT_MAX 64
/* base64 of "Ed" || key id || public key, without the NUL. */
#define SS_SIG_PUBLIC_KEY_STR_LEN 56

/* Signing contexts. */
#define SS_SIG_CTX_DRAW_RECORD "draw-record"
#define SS_SIG_CTX_LOG_RECORD "log-record"
#define SS_SIG_CTX_KEY_ROTATION "key-rotation"

struct ss_key; /* opaque: an Ed25519 key pair in sodium_malloc memory */

/* id = the key id of the public key pk (see above). */
void ss_sig_key_id(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], uint8_t id[SS_SIG_KEY_ID_LEN]);

/*
 * Plain Ed25519 verification of sig over msg under pk, strict as libsodium's
 * crypto_sign_verify_detached: canonical S, no small-order R or public key,
 * canonical public key encoding.  sig_len must be 64.  No domain prefix: this
 * is the primitive the functions below and note.c use.  Returns 0 if valid,
 * SS_ERR_BAD_REQUEST otherwise.
 */
int ss_sig_verify_raw(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const uint8_t *msg, size_t len,
		      const uint8_t *sig, size_t sig_len);

/* Plain Ed25519 signature of msg.  Returns 0 or SS_ERR_BAD_REQUEST. */
int ss_sig_sign_raw(const struct ss_key *key, const uint8_t *msg, size_t len,
		    uint8_t sig[SS_SIG_RAW_LEN]);

/*
 * Signs "shuangsui/v1/" || context || 0x00 || msg and writes the 74-byte
 * signature "Ed" || key id || Ed25519 signature to sig.  Returns 0,
 * SS_ERR_BAD_REQUEST for an invalid context, or SS_ERR_NOMEM.
 */
int ss_sig_sign(const struct ss_key *key, const char *context, const uint8_t *msg, size_t len,
		uint8_t sig[SS_SIG_LEN]);

/*
 * Verifies a signature made by ss_sig_sign: first its length and algorithm
 * tag (SS_ERR_MALFORMED_MESSAGE), then that its key id is pk's
 * (SS_ERR_NOT_FOUND), then the Ed25519 signature over the prefixed message
 * (SS_ERR_BAD_REQUEST, also for an invalid context).  Returns 0 if valid.
 */
int ss_sig_verify(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const char *context, const uint8_t *msg,
		  size_t len, const uint8_t *sig, size_t sig_len);

/* A fresh random key pair.  Returns 0 or SS_ERR_NOMEM; the caller frees *out with ss_key_free. */
int ss_key_new(struct ss_key **out);

/* The key pair of a 32-byte seed (tests, interop).  Same contract as ss_key_new. */
int ss_key_from_seed(const uint8_t seed[32], struct ss_key **out);

/*
 * Creates the key file path with a fresh key, exclusively (never replaces an
 * existing file: SS_ERR_IO) and with mode 0600, and syncs it.  If out is not
 * NULL the key is also returned there; the caller frees it with ss_key_free.
 * Returns 0, SS_ERR_IO or SS_ERR_NOMEM; on failure no file is left behind.
 */
int ss_key_generate(const char *path, struct ss_key **out);

/*
 * Loads a key file written by ss_key_generate, re-derives the key pair from
 * its seed and refuses (SS_ERR_CONFIG) a file whose stored public key or key id
 * differs, or which is not exactly the format above.  Returns 0, SS_ERR_IO,
 * SS_ERR_CONFIG or SS_ERR_NOMEM; the caller frees *out with ss_key_free.
 */
int ss_key_load(const char *path, struct ss_key **out);

/* Wipes and frees a key.  Accepts NULL. */
void ss_key_free(struct ss_key *key);

/* The 32-byte public key and 8-byte key id of key; valid while key lives. */
const uint8_t *ss_key_public(const struct ss_key *key);
const uint8_t *ss_key_id(const struct ss_key *key);

/* Writes the public key string of key (see above) and a NUL to out. */
void ss_key_public_string(const struct ss_key *key, char out[SS_SIG_PUBLIC_KEY_STR_LEN + 1]);

/*
 * Parses a public key string, checking its algorithm tag and that its key id
 * is the one derived from its public key.  Surrounding whitespace is not
 * allowed.  Returns 0 or SS_ERR_MALFORMED_MESSAGE.
 */
int ss_sig_public_key_parse(const char *s, uint8_t pk[SS_SIG_PUBLIC_KEY_LEN],
			    uint8_t id[SS_SIG_KEY_ID_LEN]);

#endif
