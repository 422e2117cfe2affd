/*
 * test_snapstore.c — a draw's snapshots as stored (server/snapstore.c):
 * a packed snapshot unpacks to the same file; a frame that was changed,
 * cut, doubled, or that does not state its size, and a file that does not
 * have the stored digest, are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "snapstore.h"
#include "ss_error.h"

/* A population file of n ids, in the shape of draw-spec.md §3. */
static char *population(size_t n, size_t *len)
{
	char *f = malloc(32 + n * 19), *p = f;
	size_t i;

	p += sprintf(p, "shuangsui/v1 population\n");
	for (i = 0; i < n; i++)
		p += sprintf(p, "91110102X%08zuK\n", i * 7919 % 100000000);
	*len = (size_t)(p - f);
	return f;
}

static void packs_and_unpacks_to_the_same_file(void **state)
{
	size_t len, plen, ulen;
	char *file = population(1000000, &len);
	uint8_t digest[32], *packed, *back;

	(void)state;
	assert_int_equal(ss_snapshot_digest((uint8_t *)file, len, digest), 0);
	assert_int_equal(ss_snapshot_pack((uint8_t *)file, len, &packed, &plen), 0);
	assert_true(plen < len / 2);
	assert_int_equal(ZSTD_getFrameContentSize(packed, plen), len);
	assert_int_equal(ss_snapshot_unpack(packed, plen, digest, &back, &ulen), 0);
	assert_int_equal(ulen, len);
	assert_memory_equal(back, file, len);
	assert_int_equal(back[ulen], '\0');
	free(back);
	free(packed);
	/* An empty stratum is a header alone. */
	assert_int_equal(ss_snapshot_digest((uint8_t *)file, 24, digest), 0);
	assert_int_equal(ss_snapshot_pack((uint8_t *)file, 24, &packed, &plen), 0);
	assert_int_equal(ss_snapshot_unpack(packed, plen, digest, &back, &ulen), 0);
	assert_int_equal(ulen, 24);
	assert_memory_equal(back, "shuangsui/v1 population\n", 24);
	free(back);
	free(packed);
	free(file);
}

static void changed_frames_are_refused(void **state)
{
	size_t len, plen, ulen, i;
	char *file = population(20000, &len);
	uint8_t digest[32], other[32], *packed, *two, *back = (uint8_t *)"untouched";
	ZSTD_CCtx *cc = ZSTD_createCCtx();

	(void)state;
	assert_int_equal(ss_snapshot_digest((uint8_t *)file, len, digest), 0);
	assert_int_equal(ss_snapshot_pack((uint8_t *)file, len, &packed, &plen), 0);
	/* Another file's digest. */
	memcpy(other, digest, 32);
	other[31] ^= 1;
	assert_int_equal(ss_snapshot_unpack(packed, plen, other, &back, &ulen), SS_ERR_INTERNAL);
	assert_null(back);
	/* Cut short, or with bytes after the frame. */
	assert_int_equal(ss_snapshot_unpack(packed, plen - 1, digest, &back, &ulen), SS_ERR_INTERNAL);
	two = malloc(2 * plen);
	memcpy(two, packed, plen);
	memcpy(two + plen, packed, plen);
	assert_int_equal(ss_snapshot_unpack(two, 2 * plen, digest, &back, &ulen), SS_ERR_INTERNAL);
	/* A flipped bit anywhere: refused by the frame or by the digest. */
	for (i = 0; i < plen; i += plen / 97 + 1) {
		packed[i] ^= 0x10;
		assert_int_equal(ss_snapshot_unpack(packed, plen, digest, &back, &ulen), SS_ERR_INTERNAL);
		assert_null(back);
		packed[i] ^= 0x10;
	}
	/* A frame that does not state its size. */
	{
		ZSTD_outBuffer out = {two, 2 * plen, 0};
		ZSTD_inBuffer in = {file, len, 0};

		assert_int_equal(ZSTD_CCtx_setPledgedSrcSize(cc, ZSTD_CONTENTSIZE_UNKNOWN), 0);
		assert_int_equal(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0), 0);
		assert_int_equal(ZSTD_compressStream2(cc, &out, &in, ZSTD_e_end), 0);
		assert_int_equal(ZSTD_getFrameContentSize(two, out.pos), ZSTD_CONTENTSIZE_UNKNOWN);
		assert_int_equal(ss_snapshot_unpack(two, out.pos, digest, &back, &ulen), SS_ERR_INTERNAL);
	}
	/* Not zstd at all (a snapshot stored as text). */
	assert_int_equal(ss_snapshot_unpack((uint8_t *)file, len, digest, &back, &ulen), SS_ERR_INTERNAL);
	assert_int_equal(ss_snapshot_unpack(packed, plen, digest, &back, &ulen), 0);
	free(back);
	ZSTD_freeCCtx(cc);
	free(two);
	free(packed);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(packs_and_unpacks_to_the_same_file),
		cmocka_unit_test(changed_frames_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
