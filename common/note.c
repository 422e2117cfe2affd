/*
 * note.c — C2SP signed-note and tlog-checkpoint parsing, signing, verifying.
 *
 * Strictness follows the C2SP texts: the whole note must be UTF-8 without
 * control characters other than newline, the signatures follow the last blank
 * line, names contain no space or "+", base64 is the standard padded alphabet
 * (libsodium also rejects non-zero trailing bits, so each signature has one
 * encoding).  Verification follows golang.org/x/mod/sumdb/note: lines from
 * unknown keys are ignored, a bad line from the known key rejects the note.
 */
#include "note.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ss_error.h"

static const char em_dash_space[] = "\xe2\x80\x94 "; /* U+2014 and a space */
#define EM_DASH_SPACE_LEN 4

/*
 * Returns 1 if s[0..len-1] is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF) with no ASCII control character (C0 or
 * DEL) but "\n", as the spec requires of note texts.
 */
static int valid_text_bytes(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n') || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0; /* overlong, out of range or a surrogate */
		i += n + 1;
	}
	return 1;
}

/* A note text: non-empty, valid, ending in a newline. */
static int valid_text(const char *s, size_t len)
{
	return len > 0 && s[len - 1] == '\n' && valid_text_bytes(s, len);
}

/* A key name: 1..SS_NOTE_MAX_NAME bytes of valid text without space, "+" or newline. */
static int valid_name(const char *s, size_t len)
{
	if (len == 0 || len > SS_NOTE_MAX_NAME || !valid_text_bytes(s, len))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ' || s[i] == '+' || s[i] == '\n')
			return 0;
	return 1;
}

void ss_note_key_hash(const char *name, const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN],
		      uint8_t out[SS_NOTE_KEY_HASH_LEN])
{
	static const uint8_t tail[2] = {'\n', SS_NOTE_ALG_ED25519};
	uint8_t digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
	crypto_hash_sha256_update(&st, tail, sizeof(tail));
	crypto_hash_sha256_update(&st, pk, SS_SIG_PUBLIC_KEY_LEN);
	crypto_hash_sha256_final(&st, digest);
	memcpy(out, digest, SS_NOTE_KEY_HASH_LEN);
}

void ss_note_free(struct ss_note *note)
{
	if (note == NULL)
		return;
	free(note->sigs);
	free(note->storage);
	free(note);
}

/* Parses one signature line line[0..len-1] (without its newline) into sig. */
static int parse_sig_line(char *line, size_t len, struct ss_note_signature *sig)
{
	uint8_t blob[SS_NOTE_KEY_HASH_LEN + SS_NOTE_MAX_SIG_BYTES];
	char *name, *space;
	size_t name_len, b64_len, blob_len = 0;

	if (len < EM_DASH_SPACE_LEN || memcmp(line, em_dash_space, EM_DASH_SPACE_LEN) != 0)
		return SS_ERR_MALFORMED_MESSAGE;
	name = line + EM_DASH_SPACE_LEN;
	space = memchr(name, ' ', len - EM_DASH_SPACE_LEN);
	if (space == NULL)
		return SS_ERR_MALFORMED_MESSAGE;
	name_len = (size_t)(space - name);
	b64_len = len - EM_DASH_SPACE_LEN - name_len - 1;
	if (!valid_name(name, name_len) || b64_len == 0)
		return SS_ERR_MALFORMED_MESSAGE;
	/* base64 of the largest blob we keep; longer lines are refused. */
	if (b64_len > sodium_base64_ENCODED_LEN(sizeof(blob), sodium_base64_VARIANT_ORIGINAL))
		return SS_ERR_MALFORMED_MESSAGE;
	if (sodium_base642bin(blob, sizeof(blob), space + 1, b64_len, NULL, &blob_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blob_len <= SS_NOTE_KEY_HASH_LEN)
		return SS_ERR_MALFORMED_MESSAGE;
	*space = '\0'; /* the storage is our copy: terminate the name in place */
	sig->name = name;
	memcpy(sig->key_hash, blob, SS_NOTE_KEY_HASH_LEN);
	sig->sig_len = blob_len - SS_NOTE_KEY_HASH_LEN;
	memcpy(sig->sig, blob + SS_NOTE_KEY_HASH_LEN, sig->sig_len);
	return 0;
}

int ss_note_parse(const char *msg, size_t len, struct ss_note **out)
{
	struct ss_note *note = NULL;
	size_t split, n_lines = 0, pos;
	int rc = SS_ERR_MALFORMED_MESSAGE;

	*out = NULL;
	if (msg == NULL || len == 0 || len > SS_NOTE_MAX_LEN || msg[len - 1] != '\n' ||
	    !valid_text_bytes(msg, len))
		return SS_ERR_MALFORMED_MESSAGE;
	/* The signatures follow the last blank line: no signature line is blank,
	 * while the text may contain blank lines. */
	for (split = len - 1; split > 0; split--)
		if (msg[split - 1] == '\n' && msg[split] == '\n')
			break;
	if (split == 0)
		return SS_ERR_MALFORMED_MESSAGE;
	/* text = msg[0..split), the block = msg[split + 1..len). */
	if (split + 1 >= len)
		return SS_ERR_MALFORMED_MESSAGE; /* no signature lines */
	for (pos = split + 1; pos < len; pos++)
		if (msg[pos] == '\n')
			n_lines++;
	if (n_lines > SS_NOTE_MAX_SIGS)
		return SS_ERR_MALFORMED_MESSAGE;

	note = calloc(1, sizeof(*note));
	if (note == NULL)
		return SS_ERR_NOMEM;
	note->storage = malloc(len + 1);
	note->sigs = calloc(n_lines, sizeof(*note->sigs));
	if (note->storage == NULL || note->sigs == NULL) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	memcpy(note->storage, msg, len);
	note->storage[len] = '\0';
	note->text = note->storage;
	note->text_len = split;
	for (pos = split + 1; pos < len;) {
		char *line = note->storage + pos;
		char *nl = memchr(line, '\n', len - pos);
		size_t line_len = (size_t)(nl - line);

		rc = parse_sig_line(line, line_len, &note->sigs[note->n_sigs]);
		if (rc != 0)
			goto out;
		note->n_sigs++;
		pos += line_len + 1;
	}
	*out = note;
	note = NULL;
	rc = 0;
out:
	ss_note_free(note);
	return rc;
}

int ss_note_verifier_parse(const char *vkey, struct ss_note_verifier *out)
{
	const char *plus1, *plus2, *b64;
	uint8_t blob[1 + SS_SIG_PUBLIC_KEY_LEN + 3], want[SS_NOTE_KEY_HASH_LEN];
	size_t name_len, blob_len = 0, hash_len = 0;

	memset(out, 0, sizeof(*out));
	if (vkey == NULL)
		return SS_ERR_MALFORMED_MESSAGE;
	plus1 = strchr(vkey, '+');
	if (plus1 == NULL)
		return SS_ERR_MALFORMED_MESSAGE;
	plus2 = strchr(plus1 + 1, '+');
	if (plus2 == NULL || plus2 - plus1 != 9)
		return SS_ERR_MALFORMED_MESSAGE;
	name_len = (size_t)(plus1 - vkey);
	if (!valid_name(vkey, name_len))
		return SS_ERR_MALFORMED_MESSAGE;
	/* The key hash is printed as 8 lowercase hex digits. */
	for (const char *h = plus1 + 1; h < plus2; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return SS_ERR_MALFORMED_MESSAGE;
	if (sodium_hex2bin(out->key_hash, sizeof(out->key_hash), plus1 + 1, 8, NULL, &hash_len,
			   NULL) != 0 ||
	    hash_len != SS_NOTE_KEY_HASH_LEN)
		goto bad;
	b64 = plus2 + 1;
	if (sodium_base642bin(blob, sizeof(blob), b64, strlen(b64), NULL, &blob_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blob_len != 1 + SS_SIG_PUBLIC_KEY_LEN || blob[0] != SS_NOTE_ALG_ED25519)
		goto bad;
	memcpy(out->name, vkey, name_len);
	out->name[name_len] = '\0';
	memcpy(out->public_key, blob + 1, SS_SIG_PUBLIC_KEY_LEN);
	ss_note_key_hash(out->name, out->public_key, want);
	if (memcmp(want, out->key_hash, SS_NOTE_KEY_HASH_LEN) != 0)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return SS_ERR_MALFORMED_MESSAGE;
}

int ss_note_verifier_format(const char *name, const struct ss_key *key, char **out)
{
	uint8_t blob[1 + SS_SIG_PUBLIC_KEY_LEN], hash[SS_NOTE_KEY_HASH_LEN];
	char b64[sodium_base64_ENCODED_LEN(sizeof(blob), sodium_base64_VARIANT_ORIGINAL)];
	size_t cap;

	*out = NULL;
	if (name == NULL || !valid_name(name, strlen(name)))
		return SS_ERR_BAD_REQUEST;
	blob[0] = SS_NOTE_ALG_ED25519;
	memcpy(blob + 1, ss_key_public(key), SS_SIG_PUBLIC_KEY_LEN);
	ss_note_key_hash(name, ss_key_public(key), hash);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
	cap = strlen(name) + 1 + 8 + 1 + strlen(b64) + 1;
	*out = malloc(cap);
	if (*out == NULL)
		return SS_ERR_NOMEM;
	snprintf(*out, cap, "%s+%02x%02x%02x%02x+%s", name, hash[0], hash[1], hash[2], hash[3],
		 b64);
	return 0;
}

int ss_note_verify(const struct ss_note *note, const struct ss_note_verifier *v)
{
	size_t verified = 0;

	for (size_t i = 0; i < note->n_sigs; i++) {
		const struct ss_note_signature *s = &note->sigs[i];

		/* Only the known key counts; an unknown key that shares the name
		 * or the hash is ignored, as the spec requires. */
		if (strcmp(s->name, v->name) != 0 ||
		    memcmp(s->key_hash, v->key_hash, SS_NOTE_KEY_HASH_LEN) != 0)
			continue;
		if (ss_sig_verify_raw(v->public_key, (const uint8_t *)note->text, note->text_len,
				      s->sig, s->sig_len) != 0)
			return SS_ERR_BAD_REQUEST;
		verified++;
	}
	return verified > 0 ? 0 : SS_ERR_NOT_FOUND;
}

int ss_note_sign(const char *text, size_t text_len, const char *name, const struct ss_key *key,
		 char **out, size_t *out_len)
{
	uint8_t blob[SS_NOTE_KEY_HASH_LEN + SS_SIG_RAW_LEN];
	char b64[sodium_base64_ENCODED_LEN(sizeof(blob), sodium_base64_VARIANT_ORIGINAL)];
	size_t name_len, b64_len, total;
	char *buf, *p;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (text == NULL || name == NULL)
		return SS_ERR_BAD_REQUEST;
	name_len = strlen(name);
	if (text_len > SS_NOTE_MAX_LEN || !valid_text(text, text_len) ||
	    !valid_name(name, name_len))
		return SS_ERR_BAD_REQUEST;
	ss_note_key_hash(name, ss_key_public(key), blob);
	rc = ss_sig_sign_raw(key, (const uint8_t *)text, text_len, blob + SS_NOTE_KEY_HASH_LEN);
	if (rc != 0)
		return rc;
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
	b64_len = strlen(b64);
	total = text_len + 1 + EM_DASH_SPACE_LEN + name_len + 1 + b64_len + 1;
	buf = malloc(total + 1);
	if (buf == NULL)
		return SS_ERR_NOMEM;
	p = buf;
	memcpy(p, text, text_len);
	p += text_len;
	*p++ = '\n';
	memcpy(p, em_dash_space, EM_DASH_SPACE_LEN);
	p += EM_DASH_SPACE_LEN;
	memcpy(p, name, name_len);
	p += name_len;
	*p++ = ' ';
	memcpy(p, b64, b64_len);
	p += b64_len;
	*p++ = '\n';
	*p = '\0';
	*out = buf;
	*out_len = total;
	return 0;
}

/* Finds the line starting at *pos; returns its length (without "\n") or -1. */
static long next_line(const char *text, size_t len, size_t *pos, const char **line)
{
	const char *nl;
	size_t n;

	if (*pos >= len)
		return -1;
	nl = memchr(text + *pos, '\n', len - *pos);
	if (nl == NULL)
		return -1;
	*line = text + *pos;
	n = (size_t)(nl - *line);
	*pos += n + 1;
	return (long)n;
}

static int parse_tree_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	/* Decimal, no sign, no leading zeros (so one size has one spelling). */
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return SS_ERR_MALFORMED_MESSAGE;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return SS_ERR_MALFORMED_MESSAGE;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return SS_ERR_MALFORMED_MESSAGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int ss_checkpoint_parse(const char *text, size_t len, struct ss_checkpoint *out)
{
	const char *line;
	size_t pos = 0, root_len = 0;
	uint8_t root[32 + 3];
	long n;

	memset(out, 0, sizeof(*out));
	if (text == NULL || !valid_text(text, len))
		return SS_ERR_MALFORMED_MESSAGE;
	n = next_line(text, len, &pos, &line);
	if (n <= 0)
		return SS_ERR_MALFORMED_MESSAGE;
	out->origin = line;
	out->origin_len = (size_t)n;
	n = next_line(text, len, &pos, &line);
	if (n < 0 || parse_tree_size(line, (size_t)n, &out->size) != 0)
		goto bad;
	n = next_line(text, len, &pos, &line);
	/* 44 characters: the padded base64 of 32 bytes, nothing else. */
	if (n != 44 ||
	    sodium_base642bin(root, sizeof(root), line, (size_t)n, NULL, &root_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    root_len != 32)
		goto bad;
	memcpy(out->root, root, 32);
	out->extensions = text + pos;
	out->extensions_len = len - pos;
	while (pos < len) {
		n = next_line(text, len, &pos, &line);
		if (n <= 0)
			goto bad; /* extension lines are non-empty */
	}
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return SS_ERR_MALFORMED_MESSAGE;
}

int ss_checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32], char **out,
			 size_t *out_len)
{
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	size_t cap;
	int n;

	*out = NULL;
	*out_len = 0;
	if (origin == NULL || origin[0] == '\0' || strchr(origin, '\n') != NULL ||
	    !valid_text_bytes(origin, strlen(origin)))
		return SS_ERR_BAD_REQUEST;
	sodium_bin2base64(b64, sizeof(b64), root, 32, sodium_base64_VARIANT_ORIGINAL);
	cap = strlen(origin) + 1 + 20 + 1 + strlen(b64) + 2;
	*out = malloc(cap);
	if (*out == NULL)
		return SS_ERR_NOMEM;
	n = snprintf(*out, cap, "%s\n%" PRIu64 "\n%s\n", origin, size, b64);
	if (n < 0 || (size_t)n >= cap) {
		free(*out);
		*out = NULL;
		return SS_ERR_NOMEM;
	}
	*out_len = (size_t)n;
	return 0;
}
