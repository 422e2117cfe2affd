/*
 * frame.h — the length-prefixed framing of the shuangsui protocol, sans I/O.
 *
 * A frame is a 4-byte big-endian payload length followed by that many bytes
 * of a protobuf Envelope.  The length must be 1..max; it is checked before
 * any memory is allocated for the payload, so a hostile length costs nothing.
 */
#ifndef SS_FRAME_H
#define SS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define SS_FRAME_HEADER 4
#define SS_FRAME_DEFAULT_MAX (1024u * 1024u)
#define SS_FRAME_HARD_MAX (64u * 1024u * 1024u)

struct ss_frame_reader {
	uint32_t max;                   /* largest payload accepted */
	uint8_t hdr[SS_FRAME_HEADER];   /* header bytes collected so far */
	size_t hdr_have;
	uint8_t *payload;               /* allocated once the header is valid */
	uint32_t need;                  /* payload length from the header */
	uint32_t have;                  /* payload bytes collected */
	int failed;                     /* sticky error: the stream is unusable */
};

/* Prepares r to read frames of at most max payload bytes (1..SS_FRAME_HARD_MAX). */
void ss_frame_reader_init(struct ss_frame_reader *r, uint32_t max);

/*
 * Feeds up to len bytes of data.  *used receives how many bytes were
 * consumed (always set).  Returns:
 *   0                       a whole frame is ready: *frame (malloc'd, the
 *                           caller frees) and *frame_len are set; call again
 *                           with the rest of data;
 *   SS_ERR_NEED_MORE        all of data was consumed, no frame completed;
 *   SS_ERR_FRAME_TOO_LARGE  the length exceeds max (nothing was allocated);
 *   SS_ERR_MALFORMED_MESSAGE the length is zero;
 *   SS_ERR_NOMEM            allocation failed.
 * After an error the reader stays failed and returns the same error.
 * *frame is NULL and *frame_len 0 unless 0 is returned.
 */
int ss_frame_reader_feed(struct ss_frame_reader *r, const uint8_t *data, size_t len,
			 size_t *used, uint8_t **frame, size_t *frame_len);

/* Nonzero if a frame was started but not finished (truncated at end of stream). */
int ss_frame_reader_partial(const struct ss_frame_reader *r);

/* Releases the partial payload, if any; r may be reused after _init. */
void ss_frame_reader_reset(struct ss_frame_reader *r);

/* Writes the 4-byte big-endian header for a payload of len bytes. */
void ss_frame_header_put(uint8_t hdr[SS_FRAME_HEADER], uint32_t len);

#endif
