/*
 * uscc.h — 统一社会信用代码 (unified social credit code), GB 32100-2015.
 *
 * A code is 18 characters from the alphabet 0-9 and the capital letters
 * other than I, O, Z, S and V (31 characters, each worth its index):
 *
 *   position 1      登记管理部门码, registration authority
 *   position 2      机构类别码, organisation category
 *   positions 3-8   GB/T 2260 division code of the registering authority
 *   positions 9-17  主体标识码, the GB 11714 organisation code
 *   position 18     check character over positions 1-17
 *
 * Only the length, the alphabet and the 18th-character check are enforced.
 * The sets allowed at positions 1 and 2 have grown since 2015 and the
 * GB 11714 check inside positions 9-17 was not applied to every code ever
 * issued, so refusing on either would refuse real enterprises.  Callers
 * that want the division checked pass code + 2 to ss_division_check().
 *
 * Pure functions: no allocation, no I/O.
 */
#ifndef SS_USCC_H
#define SS_USCC_H

#include <stddef.h>

#define SS_USCC_LEN 18

enum ss_uscc_problem {
	SS_USCC_LENGTH,	      /* not 18 characters (position 0) */
	SS_USCC_CHARACTER,    /* a character outside the alphabet at position */
	SS_USCC_CHECK,	      /* position 18 is not the check character */
	SS_USCC_EXCEL_NUMBER, /* a spreadsheet turned the code into a number (position 0) */
};

struct ss_uscc_error {
	int position; /* 1-based; 0 when the problem concerns the whole value */
	enum ss_uscc_problem problem;
	/* SS_USCC_CHECK: the correct check character.  SS_USCC_CHARACTER: the
	 * capital letter meant when the character is a lower-case letter whose
	 * capital is in the alphabet.  Otherwise '\0'. */
	char expected;
};

/* Longest sentence ss_uscc_describe() writes, NUL included, per language. */
#define SS_USCC_DESCRIBE_MAX 256

/*
 * Checks code (NUL-terminated).  Returns 0 if it is a well-formed code with
 * the right check character, else SS_ERR_BAD_REQUEST with *err (if err is
 * not NULL) describing the first problem found, in this order: NULL or a
 * spreadsheet-mangled number (e.g. "9.1E+17", "911101080000000", or 18
 * digits ending in "000" that fail the check), length (counted in
 * characters when code is UTF-8), the first character outside the alphabet
 * (lower case included), the check character.
 */
int ss_uscc_check(const char *code, struct ss_uscc_error *err);

/*
 * The check character for the first 17 characters of first17 (which needs
 * at least 17 characters; any after the 17th are ignored), or '\0' if one
 * of them is outside the alphabet or the string is shorter.
 */
char ss_uscc_check_char(const char *first17);

/*
 * Writes a full sentence about *e into en (English) and zh (Chinese),
 * naming the position and, for SS_USCC_CHECK, the expected character.
 * code is the value that was checked (may be NULL; it is quoted in the
 * sentence where useful).  Either buffer may be NULL with length 0.  Text
 * that does not fit is cut at a character boundary and NUL-terminated;
 * SS_USCC_DESCRIBE_MAX bytes always suffice.  Returns 0, or
 * SS_ERR_BAD_REQUEST if e is NULL or names an unknown problem.
 */
int ss_uscc_describe(const struct ss_uscc_error *e, const char *code, char *en, size_t en_len,
		     char *zh, size_t zh_len);

#endif
