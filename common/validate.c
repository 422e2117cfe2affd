/*
 * validate.c — field checks.
 */
#include "validate.h"

#include <string.h>

#include "ss_error.h"

long ss_utf8_length(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	if (s == NULL)
		return -1;
	while (*p) {
		unsigned c = *p;
		unsigned cp, need, i;

		if (c < 0x80) {
			p++;
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return -1;
		}
		for (i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return -1;
		p += need + 1;
		n++;
	}
	return n;
}

int ss_validate_text(const char *s, long min, long max)
{
	long n = ss_utf8_length(s);

	return (n >= min && n <= max) ? 0 : SS_ERR_BAD_REQUEST;
}

int ss_validate_idempotency_key(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	size_t i;

	if (n < 1 || n > 128)
		return SS_ERR_BAD_REQUEST;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return SS_ERR_BAD_REQUEST;
	return 0;
}

int ss_validate_principal_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	size_t i;

	if (n < 2 || n > 64)
		return SS_ERR_BAD_REQUEST;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return SS_ERR_BAD_REQUEST;
	}
	return 0;
}

int ss_validate_division_code(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 6)
		return SS_ERR_BAD_REQUEST;
	for (i = 0; i < 6; i++)
		if (s[i] < '0' || s[i] > '9')
			return SS_ERR_BAD_REQUEST;
	return 0;
}

void ss_utf8_clip(const char *in, size_t max_bytes, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)(in ? in : "");
	size_t n = 0;

	if (outlen == 0)
		return;
	if (max_bytes > outlen - 1)
		max_bytes = outlen - 1;
	while (*p) {
		char seq[5] = {0};
		size_t len;

		/* One character: checked on its own, so an invalid byte costs only itself. */
		len = (*p < 0x80) ? 1 : (*p >= 0xc2 && *p <= 0xdf) ? 2 : (*p >= 0xe0 && *p <= 0xef) ? 3
		      : (*p >= 0xf0 && *p <= 0xf4) ? 4 : 0;
		if (len > 0 && strnlen((const char *)p, len) == len) {
			memcpy(seq, p, len);
			if (ss_utf8_length(seq) != 1)
				len = 0;
		} else {
			len = 0;
		}
		if (n + (len ? len : 1) > max_bytes)
			break;
		if (len == 0) {
			out[n++] = '?';
			p++;
		} else {
			memcpy(out + n, p, len);
			n += len;
			p += len;
		}
	}
	out[n] = '\0';
}
