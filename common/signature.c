/*
 * signature.c — Ed25519 signing with domain separation, and key files.
 *
 * Modelled on minisign and signify: an algorithm tag and a key id travel with
 * every signature and are checked before the signature is, secret keys live
 * in sodium_malloc memory (guard pages, mlock, wiped on free), and key files
 * are created exclusively with mode 0600.
 */
#include "signature.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "ss_error.h"
#include "ss_log.h"

#define KEY_ID_DOMAIN SS_SIG_DOMAIN "key-id"
/* "Ed" || key id || libsodium secret key, and its base64 form. */
#define KEY_BLOB_LEN (SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN + SS_SIG_SECRET_KEY_LEN)
#define KEY_B64_LEN 100
/* Larger than any valid key file, so an oversized file is seen as such. */
#define KEY_FILE_MAX 256
#define PUB_BLOB_LEN (SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN + SS_SIG_PUBLIC_KEY_LEN)

struct ss_key {
	uint8_t sk[SS_SIG_SECRET_KEY_LEN]; /* seed || public key, as libsodium keeps it */
	uint8_t pk[SS_SIG_PUBLIC_KEY_LEN];
	uint8_t id[SS_SIG_KEY_ID_LEN];
};

void ss_sig_key_id(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], uint8_t id[SS_SIG_KEY_ID_LEN])
{
	static const uint8_t sep = 0x00;
	uint8_t digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)KEY_ID_DOMAIN, strlen(KEY_ID_DOMAIN));
	crypto_hash_sha256_update(&st, &sep, 1);
	crypto_hash_sha256_update(&st, pk, SS_SIG_PUBLIC_KEY_LEN);
	crypto_hash_sha256_final(&st, digest);
	memcpy(id, digest, SS_SIG_KEY_ID_LEN);
}

int ss_sig_verify_raw(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const uint8_t *msg, size_t len,
		      const uint8_t *sig, size_t sig_len)
{
	/* libsodium (without ED25519_COMPAT) rejects non-canonical S, small-order
	 * R and public keys, and non-canonical public keys; together with the
	 * fixed length that makes signatures non-malleable. */
	if (sig == NULL || sig_len != SS_SIG_RAW_LEN)
		return SS_ERR_BAD_REQUEST;
	if (msg == NULL && len != 0)
		return SS_ERR_BAD_REQUEST;
	if (crypto_sign_verify_detached(sig, msg != NULL ? msg : (const uint8_t *)"", len, pk) != 0)
		return SS_ERR_BAD_REQUEST;
	return 0;
}

int ss_sig_sign_raw(const struct ss_key *key, const uint8_t *msg, size_t len,
		    uint8_t sig[SS_SIG_RAW_LEN])
{
	if (msg == NULL && len != 0)
		return SS_ERR_BAD_REQUEST;
	if (crypto_sign_detached(sig, NULL, msg != NULL ? msg : (const uint8_t *)"", len,
				 key->sk) != 0)
		return SS_ERR_BAD_REQUEST;
	return 0;
}

/* A context is 1..SS_SIG_CONTEXT_MAX characters of [a-z0-9-]; returns its length or 0. */
static size_t context_len(const char *context)
{
	size_t n;

	if (context == NULL)
		return 0;
	for (n = 0; context[n] != '\0'; n++) {
		char c = context[n];

		if (n >= SS_SIG_CONTEXT_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return n;
}

/* *out = "shuangsui/v1/" || context || 0x00 || msg, malloc'd; the caller frees. */
static int domain_message(const char *context, const uint8_t *msg, size_t len, uint8_t **out,
			  size_t *out_len)
{
	size_t dlen = strlen(SS_SIG_DOMAIN), clen = context_len(context), head;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (clen == 0 || (msg == NULL && len != 0))
		return SS_ERR_BAD_REQUEST;
	head = dlen + clen + 1;
	if (len > SIZE_MAX - head)
		return SS_ERR_NOMEM;
	buf = malloc(head + len);
	if (buf == NULL)
		return SS_ERR_NOMEM;
	memcpy(buf, SS_SIG_DOMAIN, dlen);
	memcpy(buf + dlen, context, clen);
	buf[dlen + clen] = 0x00;
	if (len > 0)
		memcpy(buf + head, msg, len);
	*out = buf;
	*out_len = head + len;
	return 0;
}

int ss_sig_sign(const struct ss_key *key, const char *context, const uint8_t *msg, size_t len,
		uint8_t sig[SS_SIG_LEN])
{
	uint8_t *m;
	size_t mlen;
	int rc;

	rc = domain_message(context, msg, len, &m, &mlen);
	if (rc != 0)
		return rc;
	memcpy(sig, SS_SIG_ALG_TAG, SS_SIG_ALG_TAG_LEN);
	memcpy(sig + SS_SIG_ALG_TAG_LEN, key->id, SS_SIG_KEY_ID_LEN);
	rc = ss_sig_sign_raw(key, m, mlen, sig + SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN);
	free(m);
	return rc;
}

int ss_sig_verify(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], const char *context, const uint8_t *msg,
		  size_t len, const uint8_t *sig, size_t sig_len)
{
	uint8_t id[SS_SIG_KEY_ID_LEN], *m;
	size_t mlen;
	int rc;

	if (sig == NULL || sig_len != SS_SIG_LEN ||
	    memcmp(sig, SS_SIG_ALG_TAG, SS_SIG_ALG_TAG_LEN) != 0)
		return SS_ERR_MALFORMED_MESSAGE;
	/* The key id first: a signature by another key is reported as such,
	 * not as a forgery. */
	ss_sig_key_id(pk, id);
	if (memcmp(sig + SS_SIG_ALG_TAG_LEN, id, SS_SIG_KEY_ID_LEN) != 0)
		return SS_ERR_NOT_FOUND;
	rc = domain_message(context, msg, len, &m, &mlen);
	if (rc != 0)
		return rc;
	rc = ss_sig_verify_raw(pk, m, mlen, sig + SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN,
			       SS_SIG_RAW_LEN);
	free(m);
	return rc;
}

static struct ss_key *key_alloc(void)
{
	struct ss_key *key = sodium_malloc(sizeof(*key));

	if (key != NULL)
		sodium_memzero(key, sizeof(*key));
	return key;
}

int ss_key_from_seed(const uint8_t seed[32], struct ss_key **out)
{
	struct ss_key *key = key_alloc();

	*out = NULL;
	if (key == NULL)
		return SS_ERR_NOMEM;
	crypto_sign_seed_keypair(key->pk, key->sk, seed);
	ss_sig_key_id(key->pk, key->id);
	*out = key;
	return 0;
}

int ss_key_new(struct ss_key **out)
{
	struct ss_key *key = key_alloc();

	*out = NULL;
	if (key == NULL)
		return SS_ERR_NOMEM;
	crypto_sign_keypair(key->pk, key->sk);
	ss_sig_key_id(key->pk, key->id);
	*out = key;
	return 0;
}

void ss_key_free(struct ss_key *key)
{
	if (key != NULL)
		sodium_free(key); /* sodium_free wipes before unmapping */
}

const uint8_t *ss_key_public(const struct ss_key *key)
{
	return key->pk;
}

const uint8_t *ss_key_id(const struct ss_key *key)
{
	return key->id;
}

void ss_key_public_string(const struct ss_key *key, char out[SS_SIG_PUBLIC_KEY_STR_LEN + 1])
{
	uint8_t blob[PUB_BLOB_LEN];

	memcpy(blob, SS_SIG_ALG_TAG, SS_SIG_ALG_TAG_LEN);
	memcpy(blob + SS_SIG_ALG_TAG_LEN, key->id, SS_SIG_KEY_ID_LEN);
	memcpy(blob + SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN, key->pk, SS_SIG_PUBLIC_KEY_LEN);
	sodium_bin2base64(out, SS_SIG_PUBLIC_KEY_STR_LEN + 1, blob, sizeof(blob),
			  sodium_base64_VARIANT_ORIGINAL);
}

int ss_sig_public_key_parse(const char *s, uint8_t pk[SS_SIG_PUBLIC_KEY_LEN],
			    uint8_t id[SS_SIG_KEY_ID_LEN])
{
	uint8_t blob[PUB_BLOB_LEN + 3], want[SS_SIG_KEY_ID_LEN];
	size_t len = 0;

	if (s == NULL || strlen(s) != SS_SIG_PUBLIC_KEY_STR_LEN)
		return SS_ERR_MALFORMED_MESSAGE;
	if (sodium_base642bin(blob, sizeof(blob), s, SS_SIG_PUBLIC_KEY_STR_LEN, NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != PUB_BLOB_LEN || memcmp(blob, SS_SIG_ALG_TAG, SS_SIG_ALG_TAG_LEN) != 0)
		return SS_ERR_MALFORMED_MESSAGE;
	ss_sig_key_id(blob + SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN, want);
	if (memcmp(blob + SS_SIG_ALG_TAG_LEN, want, SS_SIG_KEY_ID_LEN) != 0)
		return SS_ERR_MALFORMED_MESSAGE;
	memcpy(pk, blob + SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN, SS_SIG_PUBLIC_KEY_LEN);
	memcpy(id, want, SS_SIG_KEY_ID_LEN);
	return 0;
}

/* Writes all of buf to fd, retrying on EINTR and short writes. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int ss_key_generate(const char *path, struct ss_key **out)
{
	struct ss_key *key = NULL;
	uint8_t *blob = NULL;
	char *line = NULL;
	int fd = -1, rc;

	if (out != NULL)
		*out = NULL;
	rc = ss_key_new(&key);
	if (rc != 0)
		return rc;
	blob = sodium_malloc(KEY_BLOB_LEN);
	line = sodium_malloc(KEY_B64_LEN + 2);
	if (blob == NULL || line == NULL) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	memcpy(blob, SS_SIG_ALG_TAG, SS_SIG_ALG_TAG_LEN);
	memcpy(blob + SS_SIG_ALG_TAG_LEN, key->id, SS_SIG_KEY_ID_LEN);
	memcpy(blob + SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN, key->sk, SS_SIG_SECRET_KEY_LEN);
	sodium_bin2base64(line, KEY_B64_LEN + 1, blob, KEY_BLOB_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	line[KEY_B64_LEN] = '\n';

	/* O_EXCL: never replace a key (a lost signing key would orphan the
	 * log); 0600 because the file holds the secret.  umask can only take
	 * bits away, and fchmod pins the mode whatever it is. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ss_error("key file %s: %s", path, strerror(errno));
		rc = SS_ERR_IO;
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, line, KEY_B64_LEN + 1) != 0 || fsync(fd) != 0) {
		ss_error("key file %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		rc = SS_ERR_IO;
		goto out;
	}
	if (close(fd) != 0) {
		ss_error("key file %s: %s", path, strerror(errno));
		unlink(path);
		rc = SS_ERR_IO;
		goto out;
	}
	rc = 0;
	if (out != NULL) {
		*out = key;
		key = NULL;
	}
out:
	sodium_free(line); /* accepts NULL */
	sodium_free(blob);
	ss_key_free(key);
	return rc;
}

/* Reads at most cap - 1 bytes of path into buf (sodium_malloc'd by the caller). */
static int read_key_file(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t have = 0;

	*len = 0;
	if (fd < 0) {
		ss_error("key file %s: %s", path, strerror(errno));
		return SS_ERR_IO;
	}
	while (have < cap - 1) {
		ssize_t n = read(fd, buf + have, cap - 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ss_error("key file %s: %s", path, strerror(errno));
			close(fd);
			return SS_ERR_IO;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	*len = have;
	return 0;
}

int ss_key_load(const char *path, struct ss_key **out)
{
	struct ss_key *key = NULL, *derived = NULL;
	uint8_t *blob = NULL;
	char *text = NULL;
	size_t len, blob_len = 0;
	int rc;

	*out = NULL;
	text = sodium_malloc(KEY_FILE_MAX);
	blob = sodium_malloc(KEY_BLOB_LEN + 3);
	key = key_alloc();
	if (text == NULL || blob == NULL || key == NULL) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	rc = read_key_file(path, text, KEY_FILE_MAX, &len);
	if (rc != 0)
		goto out;
	/* Exactly one line of base64: anything else is not our file. */
	rc = SS_ERR_CONFIG;
	if (len != KEY_B64_LEN + 1 || text[KEY_B64_LEN] != '\n') {
		ss_error("key file %s: not a shuangsui key file", path);
		goto out;
	}
	if (sodium_base642bin(blob, KEY_BLOB_LEN + 3, text, KEY_B64_LEN, NULL, &blob_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blob_len != KEY_BLOB_LEN || memcmp(blob, SS_SIG_ALG_TAG, SS_SIG_ALG_TAG_LEN) != 0) {
		ss_error("key file %s: not an Ed25519 shuangsui key", path);
		goto out;
	}
	memcpy(key->id, blob + SS_SIG_ALG_TAG_LEN, SS_SIG_KEY_ID_LEN);
	memcpy(key->sk, blob + SS_SIG_ALG_TAG_LEN + SS_SIG_KEY_ID_LEN, SS_SIG_SECRET_KEY_LEN);
	memcpy(key->pk, key->sk + 32, SS_SIG_PUBLIC_KEY_LEN);
	/* Re-derive the pair from the seed: a file whose public half or key id
	 * was altered would otherwise sign under one key and advertise another. */
	rc = ss_key_from_seed(key->sk, &derived);
	if (rc != 0)
		goto out;
	if (sodium_memcmp(derived->sk, key->sk, SS_SIG_SECRET_KEY_LEN) != 0 ||
	    sodium_memcmp(derived->id, key->id, SS_SIG_KEY_ID_LEN) != 0) {
		ss_error("key file %s: stored public key or key id does not match the secret key",
			 path);
		rc = SS_ERR_CONFIG;
		goto out;
	}
	*out = key;
	key = NULL;
	rc = 0;
out:
	ss_key_free(derived);
	ss_key_free(key);
	sodium_free(blob);
	sodium_free(text);
	return rc;
}
