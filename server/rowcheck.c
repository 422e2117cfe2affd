/*
 * rowcheck.c — cell validation and normalization.
 */
#include "rowcheck.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "division.h"
#include "ss_error.h"
#include "uscc.h"
#include "validate.h"

static int ss_cell_fail(struct ss_cell_error *e, const struct ss_column *c, const char *en,
			const char *zh)
{
	snprintf(e->en, sizeof(e->en), "%s: %s", c->name, en);
	snprintf(e->zh, sizeof(e->zh), "%s：%s", c->zh, zh);
	return SS_ERR_BAD_REQUEST;
}

/*
 * Trims ASCII spaces and full-width spaces (U+3000) at both ends of the
 * len bytes at in; *b and *e delimit what is left.
 */
static void ss_cell_trim(const char *in, size_t len, const char **b_out, const char **e_out)
{
	const char *b = in, *e = in + len;

	for (;;) {
		if (b < e && (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n'))
			b++;
		else if (e - b >= 3 && memcmp(b, "\xe3\x80\x80", 3) == 0)
			b += 3;
		else
			break;
	}
	for (;;) {
		if (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
			e--;
		else if (e - b >= 3 && memcmp(e - 3, "\xe3\x80\x80", 3) == 0)
			e -= 3;
		else
			break;
	}
	*b_out = b;
	*e_out = e;
}

static int ss_cell_bool(const char *v, const char **out)
{
	static const char *const yes[] = {"t", "true", "1", "y", "yes", "是", "Y", "TRUE", NULL};
	static const char *const no[] = {"f", "false", "0", "n", "no", "否", "N", "FALSE", "", NULL};
	size_t i;

	for (i = 0; yes[i]; i++)
		if (v[0] == yes[i][0] && strcmp(v, yes[i]) == 0) {
			*out = "t";
			return 0;
		}
	for (i = 0; no[i]; i++)
		if (v[0] == no[i][0] && strcmp(v, no[i]) == 0) {
			*out = "f";
			return 0;
		}
	return SS_ERR_BAD_REQUEST;
}

/* The code for v (a code or its Chinese name): v itself, or the descriptor's constant. */
static int ss_cell_enum(const struct ss_column *c, const char *v, const char **out)
{
	const struct ss_enum_value *ev;

	/* The first bytes compared inline: most candidates differ there. */
	for (ev = c->values; ev->code != NULL; ev++) {
		if (v[0] == ev->code[0] && strcmp(v, ev->code) == 0) {
			*out = v;
			return 0;
		}
		if (v[0] == ev->zh[0] && strcmp(v, ev->zh) == 0) {
			*out = ev->code;
			return 0;
		}
	}
	return SS_ERR_BAD_REQUEST;
}

static void ss_cell_enum_choices(const struct ss_column *c, char *en, size_t en_len, char *zh,
				 size_t zh_len)
{
	const struct ss_enum_value *ev;
	size_t ne = 0, nz = 0;

	en[0] = zh[0] = '\0';
	for (ev = c->values; ev->code != NULL; ev++) {
		ne += (size_t)snprintf(en + ne, ne < en_len ? en_len - ne : 0, "%s%s (%s)",
				       ev == c->values ? "" : ", ", ev->code, ev->zh);
		nz += (size_t)snprintf(zh + nz, nz < zh_len ? zh_len - nz : 0, "%s%s",
				       ev == c->values ? "" : "、", ev->zh);
		if (ne >= en_len || nz >= zh_len)
			break;
	}
}

/*
 * Joins list items separated by ';' '；' '、' ',' '，' into "a;b;c" (items
 * trimmed, empty ones dropped), in place: the output never runs ahead of
 * the input.  Returns the new length.
 */
static size_t ss_cell_list(char *v)
{
	static const char *const seps[] = {";", "\xef\xbc\x9b", "\xe3\x80\x81", ",", "\xef\xbc\x8c",
					   NULL};
	static const size_t seplens[] = {1, 3, 3, 1, 3};
	size_t n = 0;
	const char *p = v;

	while (*p) {
		size_t i, seplen = 0;

		for (i = 0; seps[i]; i++)
			if (strncmp(p, seps[i], seplens[i]) == 0)
				seplen = seplens[i];
		if (seplen > 0) {
			if (n > 0 && v[n - 1] != ';')
				v[n++] = ';';
			p += seplen;
			continue;
		}
		if ((*p == ' ' || *p == '\t') && (n == 0 || v[n - 1] == ';')) {
			p++;
			continue;
		}
		v[n++] = *p++;
	}
	while (n > 0 && (v[n - 1] == ';' || v[n - 1] == ' '))
		n--;
	v[n] = '\0';
	return n;
}

static int ss_cell_date(char *v, size_t len)
{
	char iso[11];
	int32_t day;
	size_t i;

	if (len != 10)
		return SS_ERR_BAD_REQUEST;
	memcpy(iso, v, 11);
	/* 2026/09/18 and 2026.09.18 are common in spreadsheets. */
	if ((iso[4] == '/' && iso[7] == '/') || (iso[4] == '.' && iso[7] == '.'))
		iso[4] = iso[7] = '-';
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)iso[i]))
			return SS_ERR_BAD_REQUEST;
	if (ss_date_parse(iso, &day) != 0)
		return SS_ERR_BAD_REQUEST;
	/* YYYY-MM-DD over the 10 bytes of v. */
	ss_date_format(day, v);
	return 0;
}

static int ss_cell_id(const char *v, size_t n, int max)
{
	size_t i;

	if (n < 2 || n > (size_t)max)
		return SS_ERR_BAD_REQUEST;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '_' && v[i] != '.')
			return SS_ERR_BAD_REQUEST;
	return 0;
}

/* Writes n in decimal ("%ld") to out (at least 21 bytes); returns its length. */
static int ss_cell_int_format(long n, char *out)
{
	char rev[24];
	unsigned long u = n < 0 ? 0ul - (unsigned long)n : (unsigned long)n;
	int k = 0, len = 0;

	do {
		rev[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (n < 0)
		out[len++] = '-';
	while (k > 0)
		out[len++] = rev[--k];
	out[len] = '\0';
	return len;
}

/* Checks v (len bytes, not empty, writable) and normalizes it in place or to a constant. */
static int ss_cell_typed(const struct ss_column *c, const struct ss_divisions *divs, char *v,
			 size_t len, const char **out, size_t *out_len, int *abolished,
			 struct ss_cell_error *e)
{
	char en[256], zh[256], shown[64];
	int rc;

	*out = v;
	*out_len = len;
	/* Values echoed in messages are clipped, and valid UTF-8 whatever was
	 * sent: SS_CELL_SHOWN() makes that copy, on the error paths only. */
#define SS_CELL_SHOWN() ss_utf8_clip(v, 60, shown, sizeof(shown))
	switch (c->type) {
	case SS_COL_TEXT:
		if (ss_validate_text(v, 0, c->max_len) != 0) {
			snprintf(en, sizeof(en), "must be valid text of at most %d characters",
				 c->max_len);
			snprintf(zh, sizeof(zh), "须为不超过 %d 个字符的有效文本", c->max_len);
			return ss_cell_fail(e, c, en, zh);
		}
		return 0;
	case SS_COL_LIST:
		*out_len = ss_cell_list(v);
		if (ss_validate_text(v, c->required ? 1 : 0, c->max_len) != 0)
			return ss_cell_fail(e, c, "must be a list of at most the allowed length",
					    "列表过长或无效");
		return 0;
	case SS_COL_ID:
		if (ss_cell_id(v, len, c->max_len) != 0) {
			SS_CELL_SHOWN();
			snprintf(en, sizeof(en),
				 "\"%s\" must be 2 to %d letters, digits, '-', '_' or '.'", shown,
				 c->max_len);
			snprintf(zh, sizeof(zh), "“%s”须为 2 至 %d 位字母、数字或“-”“_”“.”", shown,
				 c->max_len);
			return ss_cell_fail(e, c, en, zh);
		}
		return 0;
	case SS_COL_USCC: {
		struct ss_uscc_error ue;

		if (ss_uscc_check(v, &ue) != 0) {
			ss_uscc_describe(&ue, v, en, sizeof(en), zh, sizeof(zh));
			return ss_cell_fail(e, c, en, zh);
		}
		return 0;
	}
	case SS_COL_DIVISION:
		if (ss_division_check(divs, v, abolished) != 0) {
			SS_CELL_SHOWN();
			snprintf(en, sizeof(en), "\"%s\" is not a GB/T 2260 division code", shown);
			snprintf(zh, sizeof(zh), "“%s”不是有效的行政区划代码（GB/T 2260）", shown);
			return ss_cell_fail(e, c, en, zh);
		}
		return 0;
	case SS_COL_ENUM:
		rc = ss_cell_enum(c, v, out);
		if (rc == SS_ERR_BAD_REQUEST) {
			char choices_en[200], choices_zh[200];

			SS_CELL_SHOWN();
			ss_cell_enum_choices(c, choices_en, sizeof(choices_en), choices_zh,
					     sizeof(choices_zh));
			snprintf(en, sizeof(en), "\"%s\" is not one of %s", shown, choices_en);
			snprintf(zh, sizeof(zh), "“%s”不在可选值（%s）之中", shown, choices_zh);
			return ss_cell_fail(e, c, en, zh);
		}
		if (*out != v)
			*out_len = strlen(*out);
		return 0;
	case SS_COL_BOOL:
		rc = ss_cell_bool(v, out);
		if (rc == SS_ERR_BAD_REQUEST) {
			SS_CELL_SHOWN();
			snprintf(en, sizeof(en), "\"%s\" is not yes/no (是/否, true/false, 1/0)", shown);
			snprintf(zh, sizeof(zh), "“%s”应为“是”或“否”", shown);
			return ss_cell_fail(e, c, en, zh);
		}
		*out_len = 1;
		return 0;
	case SS_COL_INT: {
		char *end, canon[24];
		long n = strtol(v, &end, 10);
		int clen;

		if (end == v || *end != '\0' || n < c->min || n > c->max_len) {
			SS_CELL_SHOWN();
			snprintf(en, sizeof(en), "\"%s\" must be a whole number from %d to %d", shown,
				 c->min, c->max_len);
			snprintf(zh, sizeof(zh), "“%s”须为 %d 至 %d 之间的整数", shown, c->min,
				 c->max_len);
			return ss_cell_fail(e, c, en, zh);
		}
		/* "05" and "+5" are 5: the stored and digested form is canonical,
		 * never longer than the digits it was parsed from (written over v).
		 * Formatted by hand: printf's machinery costs more than the check. */
		clen = ss_cell_int_format(n, canon);
		if ((size_t)clen > len)
			return SS_ERR_INTERNAL;
		memcpy(v, canon, (size_t)clen + 1);
		*out_len = (size_t)clen;
		return 0;
	}
	case SS_COL_DATE:
		if (ss_cell_date(v, len) != 0) {
			SS_CELL_SHOWN();
			snprintf(en, sizeof(en), "\"%s\" is not a date (YYYY-MM-DD)", shown);
			snprintf(zh, sizeof(zh), "“%s”不是有效日期（格式 YYYY-MM-DD）", shown);
			return ss_cell_fail(e, c, en, zh);
		}
		return 0;
	}
#undef SS_CELL_SHOWN
	return SS_ERR_INTERNAL;
}

int ss_cell_normalize_into(const struct ss_column *c, const struct ss_divisions *divs,
			   const char *in, size_t in_len, char *buf, const char **out,
			   size_t *out_len, int *abolished, struct ss_cell_error *e)
{
	const char *b, *end;
	size_t n;

	*out = NULL;
	*out_len = 0;
	ss_cell_trim(in, in_len, &b, &end);
	n = (size_t)(end - b);
	memcpy(buf, b, n);
	buf[n] = '\0';
	if (n == 0) {
		if (c->required)
			return ss_cell_fail(e, c, "is required", "为必填项");
		/* Empty optional values: text is "", flags are false, the rest NULL. */
		if (c->type == SS_COL_TEXT || c->type == SS_COL_LIST)
			*out = buf;
		else if (c->type == SS_COL_BOOL)
			*out = "f", *out_len = 1;
		return 0;
	}
	return ss_cell_typed(c, divs, buf, n, out, out_len, abolished, e);
}

int ss_cell_normalize(const struct ss_column *c, const struct ss_divisions *divs, const char *in,
		      char **out, int *abolished, struct ss_cell_error *e)
{
	size_t n = in != NULL ? strlen(in) : 0, vlen;
	char *buf = malloc(n + 1);
	const char *v;
	int rc;

	*out = NULL;
	if (buf == NULL)
		return SS_ERR_NOMEM;
	rc = ss_cell_normalize_into(c, divs, in != NULL ? in : "", n, buf, &v, &vlen, abolished, e);
	if (rc != 0 || v == NULL) {
		free(buf);
		return rc;
	}
	if (v != buf) {
		/* A constant (a flag, an enumeration's code): the caller frees a copy. */
		free(buf);
		return (*out = strdup(v)) != NULL ? 0 : SS_ERR_NOMEM;
	}
	*out = buf;
	return 0;
}

char *ss_record_id(const struct ss_dirschema *s, char *const *values)
{
	const char *a = values[s->key_col];
	const char *b = s->key_col2 != SS_NO_COL ? values[s->key_col2] : NULL;
	char *id;

	if (a == NULL)
		return NULL;
	if (b == NULL)
		return strdup(a);
	id = malloc(strlen(a) + strlen(b) + 2);
	if (id != NULL)
		sprintf(id, "%s|%s", a, b);
	return id;
}

static EVP_MD *ss_sha256_md;
static pthread_once_t ss_sha256_once = PTHREAD_ONCE_INIT;

static void ss_sha256_fetch(void)
{
	ss_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/*
 * SHA-256 of buf: OpenSSL's (the processor's SHA extensions where present,
 * several times faster than the portable code over a million rows), with
 * its method fetched once; libsodium's if OpenSSL fails.  Same digest.
 */
static void ss_sha256(const unsigned char *buf, size_t len, unsigned char md[32])
{
	EVP_MD_CTX *ctx;
	unsigned int n = 0;

	pthread_once(&ss_sha256_once, ss_sha256_fetch);
	ctx = ss_sha256_md != NULL ? EVP_MD_CTX_new() : NULL;
	if (ctx == NULL || EVP_DigestInit_ex2(ctx, ss_sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, buf, len) != 1 || EVP_DigestFinal_ex(ctx, md, &n) != 1 ||
	    n != 32)
		crypto_hash_sha256(md, buf, len);
	EVP_MD_CTX_free(ctx);
}

void ss_record_digest_len(const struct ss_dirschema *s, const char *const *values,
			  const size_t *lens, unsigned char md[32])
{
	unsigned char stack[4096], *buf = stack;
	size_t i, total = 0, at = 0;

	/* The values serialized once (4-byte big-endian length or 0xffffffff,
	 * then the bytes), then hashed in one call. */
	for (i = 0; i < s->ncols; i++)
		total += 4 + (values[i] ? (lens ? lens[i] : strlen(values[i])) : 0);
	if (total > sizeof(stack) && (buf = malloc(total)) == NULL) {
		crypto_hash_sha256_state st;

		for (i = 0; i < s->ncols; i++) {
			uint32_t n = values[i] ? (uint32_t)(lens ? lens[i] : strlen(values[i]))
					       : 0xffffffffu;
			unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
						(unsigned char)(n >> 8), (unsigned char)n};

			if (i == 0)
				crypto_hash_sha256_init(&st);
			crypto_hash_sha256_update(&st, len, 4);
			if (values[i] != NULL)
				crypto_hash_sha256_update(&st, (const unsigned char *)values[i], n);
		}
		crypto_hash_sha256_final(&st, md);
		return;
	}
	for (i = 0; i < s->ncols; i++) {
		size_t vlen = values[i] ? (lens ? lens[i] : strlen(values[i])) : 0;
		uint32_t n = values[i] ? (uint32_t)vlen : 0xffffffffu;

		buf[at] = (unsigned char)(n >> 24);
		buf[at + 1] = (unsigned char)(n >> 16);
		buf[at + 2] = (unsigned char)(n >> 8);
		buf[at + 3] = (unsigned char)n;
		if (vlen > 0)
			memcpy(buf + at + 4, values[i], vlen);
		at += 4 + vlen;
	}
	ss_sha256(buf, at, md);
	if (buf != stack)
		free(buf);
}

void ss_record_digest(const struct ss_dirschema *s, char *const *values, unsigned char md[32])
{
	ss_record_digest_len(s, (const char *const *)values, NULL, md);
}

int ss_copy_append_len(char **buf, size_t *len, size_t *cap, const char *const *fields,
		       const size_t *lens, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *p = fields[i];
		size_t flen = p != NULL ? (lens ? lens[i] : strlen(p)) : 0;
		/* Worst case: every byte escaped, plus the separator (or newline). */
		size_t need = 2 * flen + 3;
		char *out;

		if (*len + need > *cap) {
			size_t ncap = (*cap ? *cap * 2 : 65536);
			char *nb;

			while (ncap < *len + need)
				ncap *= 2;
			nb = realloc(*buf, ncap);
			if (nb == NULL)
				return SS_ERR_NOMEM;
			*buf = nb;
			*cap = ncap;
		}
		out = *buf + *len;
		if (i > 0)
			*out++ = '\t';
		if (p == NULL) {
			memcpy(out, "\\N", 2);
			out += 2;
		} else {
			const char *end = p + flen;

			/* Runs of ordinary bytes are copied whole; the four bytes
			 * COPY's text format reserves are escaped. */
			while (p < end) {
				size_t run = strcspn(p, "\\\t\n\r");

				memcpy(out, p, run);
				out += run;
				p += run;
				if (p < end) {
					*out++ = '\\';
					*out++ = *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r';
					p++;
				}
			}
		}
		*len = (size_t)(out - *buf);
	}
	if (*len + 1 > *cap) {
		char *nb = realloc(*buf, *cap ? *cap * 2 : 65536);

		if (nb == NULL)
			return SS_ERR_NOMEM;
		*buf = nb;
		*cap = *cap ? *cap * 2 : 65536;
	}
	(*buf)[(*len)++] = '\n';
	return 0;
}

int ss_copy_append(char **buf, size_t *len, size_t *cap, const char *const *fields, size_t n)
{
	return ss_copy_append_len(buf, len, cap, fields, NULL, n);
}
