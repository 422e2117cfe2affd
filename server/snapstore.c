/*
 * snapstore.c — a draw's snapshots packed for storage (snapstore.h).
 */
#include "snapstore.h"

#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "ss_error.h"
#include "ss_log.h"

/* Level 1: the fastest of zstd's ordinary levels; sorted ids leave it little to gain above. */
#define SS_SNAPSHOT_LEVEL 1

int ss_snapshot_digest(const uint8_t *data, size_t len, uint8_t digest[32])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		ss_log_openssl(SS_LOG_ERROR, "draw: SHA-256 of a snapshot");
		return SS_ERR_INTERNAL;
	}
	return 0;
}

int ss_snapshot_pack(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
	size_t cap = ZSTD_compressBound(len), n;
	ZSTD_CCtx *cc;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (ZSTD_isError(cap) || len > SS_SNAPSHOT_MAX)
		return SS_ERR_INTERNAL;
	buf = malloc(cap);
	cc = ZSTD_createCCtx();
	if (buf == NULL || cc == NULL) {
		free(buf);
		ZSTD_freeCCtx(cc);
		return SS_ERR_NOMEM;
	}
	/* The whole input in one call: the frame header states its size.  Two
	 * threads where the library has them (the build machine has two
	 * cores, and PostgreSQL waits meanwhile): still one frame. */
	(void)ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, 2);
	n = ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, SS_SNAPSHOT_LEVEL)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1))
		? (size_t)-1
		: ZSTD_compress2(cc, buf, cap, data, len);
	ZSTD_freeCCtx(cc);
	if (ZSTD_isError(n)) {
		ss_error("draw: packing a snapshot of %zu bytes: %s", len, ZSTD_getErrorName(n));
		free(buf);
		return SS_ERR_INTERNAL;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

int ss_snapshot_unpack(const uint8_t *packed, size_t len, const uint8_t digest[32], uint8_t **out,
		       size_t *out_len)
{
	unsigned long long size = ZSTD_getFrameContentSize(packed, len);
	uint8_t got[32], *buf;
	size_t n;

	*out = NULL;
	*out_len = 0;
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
	    size > SS_SNAPSHOT_MAX || ZSTD_findFrameCompressedSize(packed, len) != len) {
		ss_error("draw: a stored snapshot is not one zstd frame of a stated size up to %zu "
			 "bytes",
			 SS_SNAPSHOT_MAX);
		return SS_ERR_INTERNAL;
	}
	buf = malloc((size_t)size + 1);
	if (buf == NULL)
		return SS_ERR_NOMEM;
	n = ZSTD_decompress(buf, (size_t)size, packed, len);
	if (ZSTD_isError(n) || n != size) {
		ss_error("draw: a stored snapshot does not unpack: %s",
			 ZSTD_isError(n) ? ZSTD_getErrorName(n) : "not the size its frame states");
		free(buf);
		return SS_ERR_INTERNAL;
	}
	if (ss_snapshot_digest(buf, n, got) != 0 || CRYPTO_memcmp(got, digest, 32) != 0) {
		ss_error("draw: a stored snapshot does not have the digest stored with it");
		free(buf);
		return SS_ERR_INTERNAL;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}
