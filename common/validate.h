/*
 * validate.h — checks on request fields shared by server and client.
 * Each returns 0 if the value is acceptable, SS_ERR_BAD_REQUEST if not.
 */
#ifndef SS_VALIDATE_H
#define SS_VALIDATE_H

#include <stddef.h>

/* Number of code points in s if it is valid UTF-8 (no NUL, no overlongs, no surrogates), else -1. */
long ss_utf8_length(const char *s);

/*
 * Copies at most max_bytes of in to out (outlen bytes, always terminated)
 * without splitting a character, each invalid byte shown as '?': for
 * echoing untrusted values in messages.
 */
void ss_utf8_clip(const char *in, size_t max_bytes, char *out, size_t outlen);

/* Valid UTF-8 text of min..max code points. */
int ss_validate_text(const char *s, long min, long max);

/* 1..128 printable ASCII characters. */
int ss_validate_idempotency_key(const char *s);

/* 2..64 of a-z 0-9 . _ -, starting with a letter or digit. */
int ss_validate_principal_id(const char *s);

/* Six ASCII digits (a GB/T 2260 code). */
int ss_validate_division_code(const char *s);

#endif
