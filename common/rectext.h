/*
 * rectext.h — the building blocks of the canonical text formats of issue 5
 * (log records, snapshots, receipts): a growable byte buffer, a string
 * arena, and strict parsers for the value kinds those formats use.
 *
 * Value kinds (docs/draw-spec.md §2 restates them):
 *
 *   token   1..SS_TOKEN_MAX bytes of valid UTF-8 (shortest form, no
 *           surrogates, at most U+10FFFF) containing no code point below
 *           U+0021 and none in U+007F..U+009F: no space, no control.  Ids,
 *           principal ids and stratum names are tokens; never escaped.
 *   text    1..SS_TEXT_MAX bytes of valid UTF-8 (free text: reasons, task
 *           parameters), written escaped: "\" as "\\", every byte below 0x20
 *           and 0x7F as "\x" and two lowercase hex digits, and a space that
 *           is the first or last byte as "\x20".  Nothing else is escaped,
 *           so each text has exactly one encoding.
 *   uint    decimal, no sign, no leading zero (0 is "0"), at most 2^64-1.
 *   hex     lowercase hex of a fixed number of bytes.
 *   time    "YYYY-MM-DDTHH:MM:SSZ", UTC, years 2000..9999, a real date;
 *           held as seconds since 1970-01-01 (no leap seconds).
 *
 * Sans-I/O.  Nothing here logs.
 */
#ifndef SS_RECTEXT_H
#define SS_RECTEXT_H

#include <stddef.h>
#include <stdint.h>

#define SS_TOKEN_MAX 256
#define SS_TEXT_MAX 65536
#define SS_TIME_LEN 20 /* "2024-05-01T08:00:00Z" */

/*
 * A growable byte buffer.  Appending never fails visibly: an allocation
 * failure (or growth past max) sets failed, later appends do nothing, and
 * ss_buf_take reports SS_ERR_NOMEM.  Zero-initialise, or use ss_buf_init.
 */
struct ss_buf {
	uint8_t *data;
	size_t len, cap;
	size_t max; /* 0: no limit but SIZE_MAX */
	int failed;
};

void ss_buf_init(struct ss_buf *b, size_t max);
/* Frees the contents.  Accepts NULL. */
void ss_buf_free(struct ss_buf *b);
void ss_buf_put(struct ss_buf *b, const void *data, size_t len);
void ss_buf_puts(struct ss_buf *b, const char *s);
void ss_buf_putc(struct ss_buf *b, char c);
void ss_buf_put_u64(struct ss_buf *b, uint64_t v);
void ss_buf_put_hex(struct ss_buf *b, const uint8_t *bytes, size_t n);
/* Appends the escaped form of the text s[0..len) (see above). */
void ss_buf_put_text(struct ss_buf *b, const char *s, size_t len);
void ss_buf_put_time(struct ss_buf *b, int64_t t);
/* Appends u32 big-endian len, then the bytes. */
void ss_buf_put_lp(struct ss_buf *b, const void *data, size_t len);
/*
 * Hands the contents to the caller: *out (malloc'd, with a NUL after the
 * *out_len bytes; the caller frees) and resets b.  Returns 0 or SS_ERR_NOMEM
 * (then b is freed and *out is NULL).
 */
int ss_buf_take(struct ss_buf *b, uint8_t **out, size_t *out_len);

/*
 * A string arena: many small allocations freed together.  Blocks larger
 * than a quarter of the chunk size get a chunk of their own.
 */
struct ss_arena;

struct ss_arena *ss_arena_new(void);
/* Frees the arena and everything allocated in it.  Accepts NULL. */
void ss_arena_free(struct ss_arena *a);
/* size bytes, aligned for any type, zeroed; NULL on overflow or no memory. */
void *ss_arena_alloc(struct ss_arena *a, size_t size);
/* n * size bytes, zeroed; NULL on overflow or no memory. */
void *ss_arena_calloc(struct ss_arena *a, size_t n, size_t size);
/* A NUL-terminated copy of s[0..len). */
char *ss_arena_strndup(struct ss_arena *a, const char *s, size_t len);

/* 1 if s[0..len) is a token (see above), else 0. */
int ss_token_valid(const char *s, size_t len);
/* 1 if s[0..len) is valid UTF-8 (shortest form, no surrogates), else 0. */
int ss_utf8_valid(const char *s, size_t len);
/*
 * Decodes the escaped text s[0..len) into out (at least len bytes), writing
 * the decoded length to *out_len.  Refuses (SS_ERR_MALFORMED_MESSAGE) any
 * escape the encoder would not have written, a raw byte it would have
 * escaped, invalid UTF-8, an empty or oversized result.  out may equal s.
 */
int ss_text_decode(const char *s, size_t len, char *out, size_t *out_len);
/* 1 if s[0..len) (decoded) is acceptable text: 1..SS_TEXT_MAX bytes of UTF-8. */
int ss_text_valid(const char *s, size_t len);

/* Strict parsers: 0 or SS_ERR_MALFORMED_MESSAGE. */
int ss_parse_u64(const char *s, size_t len, uint64_t *out);
int ss_parse_hex(const char *s, size_t len, uint8_t *out, size_t n);
int ss_parse_time(const char *s, size_t len, int64_t *out);
/* Writes the time string (SS_TIME_LEN characters and a NUL) of t; 0, or SS_ERR_BAD_REQUEST out of
 * range. */
int ss_format_time(int64_t t, char out[SS_TIME_LEN + 1]);

#endif
