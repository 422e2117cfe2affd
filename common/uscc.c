/*
 * uscc.c — 统一社会信用代码 checks (GB 32100-2015).
 */
#include "uscc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ss_error.h"
#include "validate.h"

/* GB 32100-2015 表 1: the 31 code characters; a character's value is its index. */
static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* GB 32100-2015 4.2: the weight of position i (1..17) is 3^(i-1) mod 31. */
static const int uscc_weights[17] = {1,	 3,  9,	 27, 19, 26, 16, 17, 20,
				     29, 25, 13, 8,  24, 10, 30, 28};

/* The longest spreadsheet number worth recognising, e.g. "9.11101080000000E+17". */
#define USCC_EXCEL_MAX 32

static int uscc_value(unsigned char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(uscc_alphabet, c);
	return p != NULL ? (int)(p - uscc_alphabet) : -1;
}

char ss_uscc_check_char(const char *first17)
{
	int sum = 0;
	int i, v, c;

	if (first17 == NULL)
		return '\0';
	for (i = 0; i < 17; i++) {
		v = uscc_value((unsigned char)first17[i]);
		if (v < 0)
			return '\0';
		sum += v * uscc_weights[i];
	}
	/* C18 = 31 - MOD(sum, 31); the value 31 is written as '0'. */
	c = 31 - sum % 31;
	return uscc_alphabet[c == 31 ? 0 : c];
}

static int uscc_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t uscc_digit_run(const char *s)
{
	size_t n = 0;

	while (uscc_is_digit(s[n]))
		n++;
	return n;
}

/*
 * Excel keeps 15 significant digits and shows long numbers in scientific
 * notation, so an 18-character all-digit code pasted into a General column
 * comes back as "9.11101E+17" or as its digits with the tail lost.
 */
static int uscc_is_excel_number(const char *code)
{
	size_t len = strlen(code);
	size_t n, i = 0;

	if (len > USCC_EXCEL_MAX)
		return 0;
	n = uscc_digit_run(code);
	if (n == len)
		return len >= 15 && len <= 17;
	/* Scientific notation: digits [ "." digits ] ("E" | "e") [ "+" ] digits. */
	if (n == 0)
		return 0;
	i = n;
	if (code[i] == '.')
		i += 1 + uscc_digit_run(code + i + 1);
	if (code[i] != 'E' && code[i] != 'e')
		return 0;
	i++;
	if (code[i] == '+')
		i++;
	n = uscc_digit_run(code + i);
	return n > 0 && i + n == len;
}

static int uscc_fail(struct ss_uscc_error *err, enum ss_uscc_problem problem, int position,
		     char expected)
{
	if (err != NULL) {
		err->problem = problem;
		err->position = position;
		err->expected = expected;
	}
	return SS_ERR_BAD_REQUEST;
}

/* Length in bytes of the UTF-8 sequence led by c (1 for anything unexpected). */
static size_t uscc_seq_len(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 1;
}

int ss_uscc_check(const char *code, struct ss_uscc_error *err)
{
	size_t len, off;
	long chars;
	int pos, utf8;
	char check;
	unsigned char c;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (code == NULL)
		return uscc_fail(err, SS_USCC_LENGTH, 0, '\0');
	if (uscc_is_excel_number(code))
		return uscc_fail(err, SS_USCC_EXCEL_NUMBER, 0, '\0');
	/* Count characters, not bytes, so that a full-width letter typed with a
	 * Chinese input method is reported where it stands.  Text that is not
	 * UTF-8 is counted in bytes. */
	len = strlen(code);
	chars = ss_utf8_length(code);
	utf8 = chars >= 0;
	if ((utf8 ? (size_t)chars : len) != SS_USCC_LEN)
		return uscc_fail(err, SS_USCC_LENGTH, 0, '\0');
	for (off = 0, pos = 1; code[off] != '\0'; pos++) {
		c = (unsigned char)code[off];
		if (uscc_value(c) < 0) {
			char upper = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : '\0';

			return uscc_fail(err, SS_USCC_CHARACTER, pos,
					 uscc_value((unsigned char)upper) >= 0 ? upper : '\0');
		}
		off += utf8 ? uscc_seq_len(c) : 1;
	}
	check = ss_uscc_check_char(code);
	if (code[17] != check) {
		/* Excel's other mangling: 15 significant digits, then zeros. */
		if (uscc_digit_run(code) == SS_USCC_LEN && strcmp(code + 15, "000") == 0)
			return uscc_fail(err, SS_USCC_EXCEL_NUMBER, 0, '\0');
		return uscc_fail(err, SS_USCC_CHECK, SS_USCC_LEN, check);
	}
	return 0;
}

/*
 * snprintf into buf, and if the text was cut, cut it further back to the
 * start of the last whole UTF-8 character so the result stays valid.
 */
static void uscc_put(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void uscc_put(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;
	size_t end, lead;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[0] = '\0';
		return;
	}
	if ((size_t)n < len)
		return;
	end = len - 1;
	lead = end;
	while (lead > 0 && ((unsigned char)buf[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead > 0 && ((unsigned char)buf[lead - 1] & 0x80) &&
	    lead - 1 + uscc_seq_len((unsigned char)buf[lead - 1]) > end)
		buf[lead - 1] = '\0';
}

/* Writes the character at 1-based position pos of code, printable, into out. */
static void uscc_char_at(const char *code, int pos, char out[16])
{
	size_t off = 0, n;
	int utf8 = ss_utf8_length(code) >= 0;
	int i;
	unsigned char c;

	out[0] = '\0';
	for (i = 1; code[off] != '\0'; i++) {
		c = (unsigned char)code[off];
		n = utf8 ? uscc_seq_len(c) : 1;
		if (i == pos) {
			if (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80))
				snprintf(out, 16, "0x%02X", c);
			else
				snprintf(out, 16, "%.*s", (int)n, code + off);
			return;
		}
		off += n;
	}
}

static int uscc_is_excluded_letter(const char *ch)
{
	return ch[0] != '\0' && ch[1] == '\0' && strchr("IOZSVioszv", ch[0]) != NULL;
}

int ss_uscc_describe(const struct ss_uscc_error *e, const char *code, char *en, size_t en_len,
		     char *zh, size_t zh_len)
{
	char ch[16] = "";
	long chars;

	if (e == NULL)
		return SS_ERR_BAD_REQUEST;
	if (code != NULL && e->position > 0)
		uscc_char_at(code, e->position, ch);
	switch (e->problem) {
	case SS_USCC_LENGTH:
		chars = code == NULL ? 0 : ss_utf8_length(code);
		if (chars < 0)
			chars = (long)strlen(code);
		if (chars == 0) {
			uscc_put(
			    en, en_len,
			    "no code was given: a unified social credit code has 18 characters");
			uscc_put(zh, zh_len, "未填写代码：统一社会信用代码应为 18 位");
		} else {
			uscc_put(
			    en, en_len,
			    "the code has %ld characters but a unified social credit code has 18",
			    chars);
			uscc_put(zh, zh_len, "该代码为 %ld 位，统一社会信用代码应为 18 位", chars);
		}
		return 0;
	case SS_USCC_CHARACTER:
		if (e->expected != '\0') {
			uscc_put(
			    en, en_len,
			    "character %d is '%s': letters in the code must be capitals ('%c')",
			    e->position, ch, e->expected);
			uscc_put(zh, zh_len, "第 %d 位为“%s”：代码中的字母须为大写（“%c”）",
				 e->position, ch, e->expected);
		} else if (uscc_is_excluded_letter(ch)) {
			uscc_put(en, en_len,
				 "character %d is '%s', but the letters I, O, Z, S and V are never "
				 "used in a unified social credit code",
				 e->position, ch);
			uscc_put(zh, zh_len,
				 "第 %d 位为“%s”，但统一社会信用代码不使用字母 I、O、Z、S、V",
				 e->position, ch);
		} else if ((unsigned char)ch[0] >= 0x80) {
			uscc_put(
			    en, en_len,
			    "character %d is '%s', which is not a digit or capital letter: use "
			    "half-width (ASCII) characters",
			    e->position, ch);
			uscc_put(zh, zh_len, "第 %d 位为“%s”，不是数字或大写字母：请使用半角字符",
				 e->position, ch);
		} else {
			uscc_put(
			    en, en_len,
			    "character %d is '%s', which is not a digit or capital letter allowed "
			    "in the code",
			    e->position, ch);
			uscc_put(zh, zh_len, "第 %d 位为“%s”，不是代码允许的数字或大写字母",
				 e->position, ch);
		}
		return 0;
	case SS_USCC_CHECK:
		uscc_put(en, en_len,
			 "character %d is '%s' but the check character for the first 17 is '%c': "
			 "a character was probably mistyped",
			 e->position, ch, e->expected);
		uscc_put(zh, zh_len,
			 "第 %d 位为“%s”，但按前 17 位计算的校验码应为“%c”：可能有字符录入错误",
			 e->position, ch, e->expected);
		return 0;
	case SS_USCC_EXCEL_NUMBER:
		uscc_put(en, en_len,
			 "the code looks like a number mangled by Excel (%.*s): format the column "
			 "as text and export again",
			 USCC_EXCEL_MAX, code != NULL ? code : "");
		uscc_put(zh, zh_len,
			 "该代码似被 Excel 转成了数字（%.*s）：请将该列设为文本格式后重新导出",
			 USCC_EXCEL_MAX, code != NULL ? code : "");
		return 0;
	}
	return SS_ERR_BAD_REQUEST;
}
