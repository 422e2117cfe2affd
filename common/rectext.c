/*
 * rectext.c — buffer, arena and strict value parsers for the canonical text
 * formats of issue 5.  Every parser here accepts exactly what the matching
 * writer produces, so that parse → encode gives back the same bytes.
 */
#include "rectext.h"

#include <stdlib.h>
#include <string.h>

#include "ss_error.h"

static const char rectext_hex[] = "0123456789abcdef";

void ss_buf_init(struct ss_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void ss_buf_free(struct ss_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int buf_reserve(struct ss_buf *b, size_t extra)
{
	size_t want, cap;
	uint8_t *p;

	if (b->failed)
		return -1;
	if (extra > SIZE_MAX - b->len - 1 || (b->max != 0 && b->len + extra > b->max)) {
		b->failed = 1;
		return -1;
	}
	want = b->len + extra + 1; /* room for the NUL of ss_buf_take */
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void ss_buf_put(struct ss_buf *b, const void *data, size_t len)
{
	if (len == 0 || buf_reserve(b, len) != 0)
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void ss_buf_puts(struct ss_buf *b, const char *s)
{
	ss_buf_put(b, s, strlen(s));
}

void ss_buf_putc(struct ss_buf *b, char c)
{
	if (buf_reserve(b, 1) != 0)
		return;
	b->data[b->len++] = (uint8_t)c;
}

void ss_buf_put_u64(struct ss_buf *b, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	ss_buf_put(b, tmp + sizeof(tmp) - n, n);
}

void ss_buf_put_hex(struct ss_buf *b, const uint8_t *bytes, size_t n)
{
	size_t i;

	if (n > SIZE_MAX / 2 || buf_reserve(b, 2 * n) != 0)
		return;
	for (i = 0; i < n; i++) {
		b->data[b->len++] = (uint8_t)rectext_hex[bytes[i] >> 4];
		b->data[b->len++] = (uint8_t)rectext_hex[bytes[i] & 15];
	}
}

static int text_must_escape(const char *s, size_t len, size_t i)
{
	unsigned char c = (unsigned char)s[i];

	return c < 0x20 || c == 0x7f || (c == ' ' && (i == 0 || i == len - 1));
}

void ss_buf_put_text(struct ss_buf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			ss_buf_put(b, "\\\\", 2);
		} else if (text_must_escape(s, len, i)) {
			char e[4] = {'\\', 'x', rectext_hex[c >> 4], rectext_hex[c & 15]};

			ss_buf_put(b, e, 4);
		} else {
			ss_buf_putc(b, (char)c);
		}
	}
}

void ss_buf_put_time(struct ss_buf *b, int64_t t)
{
	char s[SS_TIME_LEN + 1];

	if (ss_format_time(t, s) != 0) {
		b->failed = 1;
		return;
	}
	ss_buf_put(b, s, SS_TIME_LEN);
}

void ss_buf_put_lp(struct ss_buf *b, const void *data, size_t len)
{
	uint8_t n[4];

	if (len > UINT32_MAX) {
		b->failed = 1;
		return;
	}
	n[0] = (uint8_t)(len >> 24);
	n[1] = (uint8_t)(len >> 16);
	n[2] = (uint8_t)(len >> 8);
	n[3] = (uint8_t)len;
	ss_buf_put(b, n, 4);
	ss_buf_put(b, data, len);
}

int ss_buf_take(struct ss_buf *b, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (!b->failed && buf_reserve(b, 0) == 0) {
		b->data[b->len] = 0;
		*out = b->data;
		*out_len = b->len;
		b->data = NULL;
		b->len = b->cap = 0;
		return 0;
	}
	ss_buf_free(b);
	return SS_ERR_NOMEM;
}

/* ---- arena ---- */

#define ARENA_CHUNK (64 * 1024)
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct ss_arena {
	struct arena_block *head;
};

struct ss_arena *ss_arena_new(void)
{
	return calloc(1, sizeof(struct ss_arena));
}

void ss_arena_free(struct ss_arena *a)
{
	struct arena_block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void *ss_arena_alloc(struct ss_arena *a, size_t size)
{
	struct arena_block *b = a->head, *nb;
	size_t rounded, bsize;

	if (size > SIZE_MAX - ARENA_ALIGN - sizeof(*b))
		return NULL;
	rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (b != NULL && b->size - b->used >= rounded) {
		void *p = b->data + b->used;

		b->used += rounded;
		return p;
	}
	bsize = rounded > ARENA_CHUNK / 4 ? rounded : ARENA_CHUNK;
	nb = calloc(1, sizeof(*nb) + bsize);
	if (nb == NULL)
		return NULL;
	nb->size = bsize;
	nb->used = rounded;
	if (bsize == rounded && b != NULL) {
		/* A dedicated block goes behind the current one, which keeps its free room. */
		nb->next = b->next;
		b->next = nb;
	} else {
		nb->next = b;
		a->head = nb;
	}
	return nb->data;
}

void *ss_arena_calloc(struct ss_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return ss_arena_alloc(a, n * size);
}

char *ss_arena_strndup(struct ss_arena *a, const char *s, size_t len)
{
	char *p = len < SIZE_MAX ? ss_arena_alloc(a, len + 1) : NULL;

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* ---- values ---- */

/*
 * Decodes one UTF-8 sequence at s[i..len); returns its length and the code
 * point in *cp, or 0 if it is not a valid shortest-form sequence.
 */
static size_t utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
	unsigned char c = s[i];
	size_t n, k;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len - i < n)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i + k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

int ss_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_next(u, len, i, &cp);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

int ss_token_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	if (s == NULL || len == 0 || len > SS_TOKEN_MAX)
		return 0;
	while (i < len) {
		if (u[i] < 0x80) {
			if (u[i] <= 0x20 || u[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		n = utf8_next(u, len, i, &cp);
		if (n == 0 || cp <= 0x9f)
			return 0;
		i += n;
	}
	return 1;
}

int ss_text_valid(const char *s, size_t len)
{
	return s != NULL && len > 0 && len <= SS_TEXT_MAX && ss_utf8_valid(s, len);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ss_text_decode(const char *s, size_t len, char *out, size_t *out_len)
{
	size_t i = 0, o = 0;
	int hi, lo;
	unsigned char c;

	*out_len = 0;
	while (i < len) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return SS_ERR_MALFORMED_MESSAGE;
		if (c == ' ' && (i == 0 || i == len - 1))
			return SS_ERR_MALFORMED_MESSAGE;
		if (c != '\\') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (i + 1 < len && s[i + 1] == '\\') {
			out[o++] = '\\';
			i += 2;
			continue;
		}
		if (len - i < 4)
			return SS_ERR_MALFORMED_MESSAGE;
		if (s[i + 1] != 'x' || (hi = hex_value(s[i + 2])) < 0 ||
		    (lo = hex_value(s[i + 3])) < 0)
			return SS_ERR_MALFORMED_MESSAGE;
		c = (unsigned char)(hi << 4 | lo);
		/* Only what the encoder escapes: controls, DEL, and a space at either end. */
		if (!(c < 0x20 || c == 0x7f || (c == ' ' && (i == 0 || i + 4 == len))))
			return SS_ERR_MALFORMED_MESSAGE;
		out[o++] = (char)c;
		i += 4;
	}
	if (!ss_text_valid(out, o))
		return SS_ERR_MALFORMED_MESSAGE;
	*out_len = o;
	return 0;
}

int ss_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	*out = 0;
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return SS_ERR_MALFORMED_MESSAGE;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return SS_ERR_MALFORMED_MESSAGE;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return SS_ERR_MALFORMED_MESSAGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int ss_parse_hex(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (len != 2 * n)
		return SS_ERR_MALFORMED_MESSAGE;
	for (i = 0; i < n; i++) {
		hi = hex_value(s[2 * i]);
		lo = hex_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return SS_ERR_MALFORMED_MESSAGE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's days_from_civil. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

#define TIME_MIN 946684800LL	/* 2000-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

int ss_format_time(int64_t t, char out[SS_TIME_LEN + 1])
{
	int64_t y, days, secs;
	unsigned m, d;

	if (t < TIME_MIN || t > TIME_MAX)
		return SS_ERR_BAD_REQUEST;
	days = t / 86400;
	secs = t % 86400;
	civil_from_days(days, &y, &m, &d);
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = 'T';
	out[11] = (char)('0' + secs / 36000);
	out[12] = (char)('0' + secs / 3600 % 10);
	out[13] = ':';
	out[14] = (char)('0' + secs % 3600 / 600);
	out[15] = (char)('0' + secs % 3600 / 60 % 10);
	out[16] = ':';
	out[17] = (char)('0' + secs % 60 / 10);
	out[18] = (char)('0' + secs % 10);
	out[19] = 'Z';
	out[20] = '\0';
	return 0;
}

static int digits(const char *s, size_t n, unsigned *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*out = *out * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

int ss_parse_time(const char *s, size_t len, int64_t *out)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, m, d, hh, mm, ss;
	int leap;

	*out = 0;
	if (len != SS_TIME_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z')
		return SS_ERR_MALFORMED_MESSAGE;
	if (digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &hh) || digits(s + 14, 2, &mm) || digits(s + 17, 2, &ss))
		return SS_ERR_MALFORMED_MESSAGE;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 2000 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 && !leap) || hh > 23 || mm > 59 || ss > 59)
		return SS_ERR_MALFORMED_MESSAGE;
	*out = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}
