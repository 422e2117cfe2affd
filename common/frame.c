/*
 * frame.c — length-prefixed frame decoder.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

#include "ss_error.h"

void ss_frame_reader_init(struct ss_frame_reader *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	if (max == 0 || max > SS_FRAME_HARD_MAX)
		max = SS_FRAME_DEFAULT_MAX;
	r->max = max;
}

void ss_frame_reader_reset(struct ss_frame_reader *r)
{
	uint32_t max = r->max;

	free(r->payload);
	ss_frame_reader_init(r, max);
}

int ss_frame_reader_partial(const struct ss_frame_reader *r)
{
	return r->hdr_have > 0 || r->payload != NULL;
}

void ss_frame_header_put(uint8_t hdr[SS_FRAME_HEADER], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

int ss_frame_reader_feed(struct ss_frame_reader *r, const uint8_t *data, size_t len,
			 size_t *used, uint8_t **frame, size_t *frame_len)
{
	size_t off = 0;

	*used = 0;
	*frame = NULL;
	*frame_len = 0;
	if (r->failed)
		return r->failed;

	while (off < len) {
		if (r->payload == NULL) {
			size_t take = SS_FRAME_HEADER - r->hdr_have;
			uint32_t n;

			if (take > len - off)
				take = len - off;
			memcpy(r->hdr + r->hdr_have, data + off, take);
			r->hdr_have += take;
			off += take;
			if (r->hdr_have < SS_FRAME_HEADER)
				break;
			n = ((uint32_t)r->hdr[0] << 24) | ((uint32_t)r->hdr[1] << 16) |
			    ((uint32_t)r->hdr[2] << 8) | (uint32_t)r->hdr[3];
			/* The length is judged before anything is allocated. */
			if (n == 0) {
				r->failed = SS_ERR_MALFORMED_MESSAGE;
				*used = off;
				return r->failed;
			}
			if (n > r->max) {
				r->failed = SS_ERR_FRAME_TOO_LARGE;
				*used = off;
				return r->failed;
			}
			r->payload = malloc(n);
			if (r->payload == NULL) {
				r->failed = SS_ERR_NOMEM;
				*used = off;
				return r->failed;
			}
			r->need = n;
			r->have = 0;
		}
		{
			size_t take = r->need - r->have;

			if (take > len - off)
				take = len - off;
			memcpy(r->payload + r->have, data + off, take);
			r->have += (uint32_t)take;
			off += take;
		}
		if (r->have == r->need) {
			*frame = r->payload;
			*frame_len = r->need;
			r->payload = NULL;
			r->hdr_have = 0;
			r->need = r->have = 0;
			*used = off;
			return 0;
		}
	}
	*used = off;
	return SS_ERR_NEED_MORE;
}
