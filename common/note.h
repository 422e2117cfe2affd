/*
 * note.h — C2SP signed notes (https://c2sp.org/signed-note) with Ed25519
 * signatures, and C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint).
 * Sans-I/O: bytes in, results out.
 *
 * A signed note is
 *
 *     text                       UTF-8, no control characters but "\n",
 *                                non-empty, ending in "\n"
 *     "\n"                       one blank line
 *     "— " name " " base64(key hash || signature) "\n"   one or more times
 *
 * (the dash is U+2014).  The signed message is the text, final newline
 * included.  For Ed25519 (signature type 0x01) the key hash is the first four
 * bytes of SHA-256(name || "\n" || 0x01 || public key) and the signature is
 * plain Ed25519 over the text.  A verifier key is the string
 * name "+" hex8(key hash) "+" base64(0x01 || public key).
 *
 * Because a note text has no control characters and our other signed messages
 * contain a 0x00 after their domain prefix (signature.h), one key can sign both
 * without one kind of signature being replayable as the other.
 *
 * A checkpoint is the text of a note: the origin line, the tree size in
 * decimal, the base64 root hash, then optional non-empty extension lines.
 *
 * Errors: SS_ERR_MALFORMED_MESSAGE input that is not a note, key or
 * checkpoint; SS_ERR_NOT_FOUND no signature by the given verifier;
 * SS_ERR_BAD_REQUEST a signature by the given verifier that does not verify,
 * or an argument we refuse to sign (bad text or name); SS_ERR_NOMEM.
 */
#ifndef SS_NOTE_H
#define SS_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "signature.h"

#define SS_NOTE_MAX_LEN 65536 /* a checkpoint is a few hundred bytes */
#define SS_NOTE_MAX_SIGS 100
#define SS_NOTE_MAX_SIG_BYTES 256 /* decoded signature, other algorithms included */
#define SS_NOTE_MAX_NAME 255
#define SS_NOTE_KEY_HASH_LEN 4
#define SS_NOTE_ALG_ED25519 0x01

struct ss_note_signature {
	const char *name; /* NUL-terminated, inside the note's storage */
	uint8_t key_hash[SS_NOTE_KEY_HASH_LEN];
	uint8_t sig[SS_NOTE_MAX_SIG_BYTES]; /* the bytes after the key hash */
	size_t sig_len;
};

struct ss_note {
	const char *text; /* the signed text, text_len bytes, ends in "\n" */
	size_t text_len;
	size_t n_sigs;
	struct ss_note_signature *sigs;
	char *storage; /* private: the copy the pointers above point into */
};

struct ss_note_verifier {
	char name[SS_NOTE_MAX_NAME + 1];
	uint8_t key_hash[SS_NOTE_KEY_HASH_LEN];
	uint8_t public_key[SS_SIG_PUBLIC_KEY_LEN];
};

struct ss_checkpoint {
	const char *origin; /* points into the parsed text; not NUL-terminated */
	size_t origin_len;
	uint64_t size;
	uint8_t root[32];
	const char *extensions; /* the extension lines, each ending in "\n"; may be empty */
	size_t extensions_len;
};

/*
 * Parses the signed note msg[0..len-1] (at most SS_NOTE_MAX_LEN bytes, at most
 * SS_NOTE_MAX_SIGS signatures).  Signatures are only split and decoded here,
 * not checked.  Returns 0 or SS_ERR_MALFORMED_MESSAGE / SS_ERR_NOMEM; the
 * caller frees *out with ss_note_free.
 */
int ss_note_parse(const char *msg, size_t len, struct ss_note **out);

/* Frees a parsed note.  Accepts NULL. */
void ss_note_free(struct ss_note *note);

/* The Ed25519 key hash of name and pk (see above). */
void ss_note_key_hash(const char *name, const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN],
		      uint8_t out[SS_NOTE_KEY_HASH_LEN]);

/*
 * Parses a verifier key "name+hash+base64(0x01 || public key)" and checks
 * that hash is the key hash of name and key.  Returns 0 or
 * SS_ERR_MALFORMED_MESSAGE (*out is then zeroed).
 */
int ss_note_verifier_parse(const char *vkey, struct ss_note_verifier *out);

/*
 * Writes the verifier key string of key under name to *out (malloc'd,
 * NUL-terminated; the caller frees).  Returns 0, SS_ERR_BAD_REQUEST for an
 * invalid name, or SS_ERR_NOMEM.
 */
int ss_note_verifier_format(const char *name, const struct ss_key *key, char **out);

/*
 * Checks note against verifier v, as golang.org/x/mod/sumdb/note does: every
 * signature line whose name and key hash are v's must verify over the text
 * (else SS_ERR_BAD_REQUEST), and there must be at least one
 * (else SS_ERR_NOT_FOUND).  Lines of other keys are ignored.  Returns 0 if
 * the note is signed by v.
 */
int ss_note_verify(const struct ss_note *note, const struct ss_note_verifier *v);

/*
 * Signs text[0..text_len-1] (a valid note text: see above) as name with key
 * and writes the signed note to *out (malloc'd, *out_len bytes plus a NUL;
 * the caller frees).  Returns 0, SS_ERR_BAD_REQUEST or SS_ERR_NOMEM.
 */
int ss_note_sign(const char *text, size_t text_len, const char *name, const struct ss_key *key,
		 char **out, size_t *out_len);

/*
 * Parses a checkpoint body (a note's text).  The tree size is decimal without
 * leading zeros; the root hash is canonical padded base64 of 32 bytes.
 * out points into text.  Returns 0 or SS_ERR_MALFORMED_MESSAGE.
 */
int ss_checkpoint_parse(const char *text, size_t len, struct ss_checkpoint *out);

/*
 * Writes the checkpoint body origin "\n" size "\n" base64(root) "\n" to *out
 * (malloc'd, *out_len bytes plus a NUL; the caller frees).  Returns 0,
 * SS_ERR_BAD_REQUEST for an empty origin or one with a control character, or
 * SS_ERR_NOMEM.
 */
int ss_checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32], char **out,
			 size_t *out_len);

#endif
