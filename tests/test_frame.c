/*
 * test_frame.c — the frame decoder: split streams, hostile lengths, truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "ss_error.h"
#include "wire.h"

/* Three frames of different sizes, back to back. */
static size_t make_stream(uint8_t *out, size_t cap)
{
	static const size_t sizes[] = {1, 300, 5};
	size_t off = 0, i, j;

	for (i = 0; i < 3; i++) {
		assert_true(off + 4 + sizes[i] <= cap);
		ss_frame_header_put(out + off, (uint32_t)sizes[i]);
		off += 4;
		for (j = 0; j < sizes[i]; j++)
			out[off++] = (uint8_t)(i * 31 + j);
	}
	return off;
}

/* Feeds data in two pieces split at `split`; returns the frames seen. */
static int feed_split(const uint8_t *data, size_t len, size_t split, size_t *sizes)
{
	struct ss_frame_reader r;
	const uint8_t *pieces[2] = {data, data + split};
	size_t lens[2] = {split, len - split};
	int nframes = 0, p;

	ss_frame_reader_init(&r, 1024);
	for (p = 0; p < 2; p++) {
		size_t off = 0;

		while (off < lens[p]) {
			uint8_t *frame;
			size_t used, flen;
			int rc = ss_frame_reader_feed(&r, pieces[p] + off, lens[p] - off, &used,
						      &frame, &flen);

			off += used;
			if (rc == SS_ERR_NEED_MORE)
				break;
			assert_int_equal(rc, 0);
			assert_non_null(frame);
			/* The payload bytes are exactly what was framed. */
			assert_int_equal(frame[0], (uint8_t)(nframes * 31));
			assert_int_equal(frame[flen - 1], (uint8_t)(nframes * 31 + flen - 1));
			sizes[nframes++] = flen;
			free(frame);
		}
	}
	assert_false(ss_frame_reader_partial(&r));
	ss_frame_reader_reset(&r);
	return nframes;
}

static void valid_stream_split_at_every_offset_yields_the_same_frames(void **state)
{
	uint8_t stream[512];
	size_t len = make_stream(stream, sizeof(stream));
	size_t split;

	for (split = 0; split <= len; split++) {
		size_t sizes[3] = {0};

		assert_int_equal(feed_split(stream, len, split, sizes), 3);
		assert_int_equal(sizes[0], 1);
		assert_int_equal(sizes[1], 300);
		assert_int_equal(sizes[2], 5);
	}
}

static void byte_at_a_time_yields_the_same_frames(void **state)
{
	uint8_t stream[512];
	size_t len = make_stream(stream, sizeof(stream));
	struct ss_frame_reader r;
	size_t i, got = 0;

	ss_frame_reader_init(&r, 1024);
	for (i = 0; i < len; i++) {
		uint8_t *frame;
		size_t used, flen;
		int rc = ss_frame_reader_feed(&r, stream + i, 1, &used, &frame, &flen);

		assert_int_equal(used, 1);
		if (rc == 0) {
			got++;
			free(frame);
		} else {
			assert_int_equal(rc, SS_ERR_NEED_MORE);
		}
	}
	assert_int_equal(got, 3);
	ss_frame_reader_reset(&r);
}

/* A hostile header is refused before any payload memory is allocated. */
static void expect_refused(uint32_t len, int want)
{
	struct ss_frame_reader r;
	uint8_t hdr[4];
	uint8_t *frame = (uint8_t *)1;
	size_t used, flen = 99;
	int rc;

	ss_frame_reader_init(&r, 1024 * 1024);
	ss_frame_header_put(hdr, len);
	rc = ss_frame_reader_feed(&r, hdr, 4, &used, &frame, &flen);
	assert_int_equal(rc, want);
	assert_null(frame);
	assert_int_equal(flen, 0);
	assert_null(r.payload);
	/* The error is sticky: the stream cannot resynchronise. */
	assert_int_equal(ss_frame_reader_feed(&r, hdr, 4, &used, &frame, &flen), want);
	ss_frame_reader_reset(&r);
}

static void zero_length_is_refused(void **state)
{
	expect_refused(0, SS_ERR_MALFORMED_MESSAGE);
}

static void max_plus_one_is_refused_without_allocation(void **state)
{
	expect_refused(1024 * 1024 + 1, SS_ERR_FRAME_TOO_LARGE);
}

static void length_0x7fffffff_is_refused_without_allocation(void **state)
{
	expect_refused(0x7fffffffu, SS_ERR_FRAME_TOO_LARGE);
}

static void length_0xffffffff_is_refused_without_allocation(void **state)
{
	expect_refused(0xffffffffu, SS_ERR_FRAME_TOO_LARGE);
}

static void length_0x80000000_is_refused_without_allocation(void **state)
{
	expect_refused(0x80000000u, SS_ERR_FRAME_TOO_LARGE);
}

static void exactly_max_is_accepted(void **state)
{
	struct ss_frame_reader r;
	uint8_t *buf = calloc(1, 4 + 1024);
	uint8_t *frame;
	size_t used, flen;

	assert_non_null(buf);
	ss_frame_reader_init(&r, 1024);
	ss_frame_header_put(buf, 1024);
	assert_int_equal(ss_frame_reader_feed(&r, buf, 4 + 1024, &used, &frame, &flen), 0);
	assert_int_equal(flen, 1024);
	assert_int_equal(used, 4 + 1024);
	free(frame);
	free(buf);
	ss_frame_reader_reset(&r);
}

static void truncated_frame_is_reported_partial(void **state)
{
	struct ss_frame_reader r;
	uint8_t stream[512];
	size_t len = make_stream(stream, sizeof(stream));
	size_t cut, off;

	/* Every cut inside a frame leaves the reader partial; cuts at frame
	 * boundaries do not. Boundaries: 0, 5, 309, 318. */
	for (cut = 0; cut < len; cut++) {
		uint8_t *frame;
		size_t used, flen;
		int partial;

		ss_frame_reader_init(&r, 1024);
		off = 0;
		while (off < cut) {
			int rc = ss_frame_reader_feed(&r, stream + off, cut - off, &used, &frame,
						      &flen);

			off += used;
			if (rc == 0)
				free(frame);
			else
				break;
		}
		partial = ss_frame_reader_partial(&r);
		assert_int_equal(partial, !(cut == 0 || cut == 5 || cut == 309));
		ss_frame_reader_reset(&r);
	}
}

static void error_envelope_round_trips_with_both_languages(void **state)
{
	uint8_t *frame;
	size_t len;
	SsEnvelope *env;

	assert_int_equal(ss_wire_error(7, SS_ERR_PERMISSION_DENIED, "x.y", "detail", "细节", &frame,
				       &len),
			 0);
	env = ss_wire_unpack(frame + 4, len - 4);
	assert_non_null(env);
	assert_int_equal(env->request_id, 7);
	assert_int_equal(env->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(env->error->code, SHUANGSUI__V1__ERROR_CODE__PERMISSION_DENIED);
	assert_string_equal(env->error->message_en, "permission denied: detail");
	assert_string_equal(env->error->message_zh, "无权执行此操作: 细节");
	assert_string_equal(env->error->field, "x.y");
	shuangsui__v1__envelope__free_unpacked(env, NULL);
	free(frame);
}

static void garbage_is_not_an_envelope(void **state)
{
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};

	assert_null(ss_wire_unpack(junk, sizeof(junk)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_stream_split_at_every_offset_yields_the_same_frames),
		cmocka_unit_test(byte_at_a_time_yields_the_same_frames),
		cmocka_unit_test(zero_length_is_refused),
		cmocka_unit_test(max_plus_one_is_refused_without_allocation),
		cmocka_unit_test(length_0x7fffffff_is_refused_without_allocation),
		cmocka_unit_test(length_0xffffffff_is_refused_without_allocation),
		cmocka_unit_test(length_0x80000000_is_refused_without_allocation),
		cmocka_unit_test(exactly_max_is_accepted),
		cmocka_unit_test(truncated_frame_is_reported_partial),
		cmocka_unit_test(error_envelope_round_trips_with_both_languages),
		cmocka_unit_test(garbage_is_not_an_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
