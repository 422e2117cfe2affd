/*
 * test_uscc.c — 统一社会信用代码 checks (GB 32100-2015).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ss_error.h"
#include "uscc.h"

static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/*
 * Codes of public companies whose 18th character was confirmed by an
 * independent Python implementation of GB 32100 and whose positions 9-17
 * also pass the GB 11714 organisation-code check.
 */
static const char *const valid_codes[] = {
    "91110000802100433B", "91440300708461136T", "91110000100005220B", "91440300192185379H",
    "9144030071526726XG", "91110108551385082Q", "91110000710925462X", "91330100799655058B",
};

static void expect_problem(const char *code, enum ss_uscc_problem problem, int position)
{
	struct ss_uscc_error e;

	assert_int_equal(ss_uscc_check(code, &e), SS_ERR_BAD_REQUEST);
	assert_int_equal(e.problem, problem);
	assert_int_equal(e.position, position);
}

static void valid_codes_are_accepted(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(valid_codes) / sizeof(valid_codes[0]); i++) {
		assert_int_equal(ss_uscc_check(valid_codes[i], NULL), 0);
		assert_int_equal(ss_uscc_check_char(valid_codes[i]), valid_codes[i][17]);
	}
}

static void check_value_31_is_written_as_zero(void **state)
{
	/* Weighted sum = 0 mod 31: 31 - 0 = 31, written '0'. */
	assert_int_equal(ss_uscc_check_char("00000000000000000"), '0');
	assert_int_equal(ss_uscc_check("000000000000000000", NULL), 0);
	/* This code's positions 9-17 fail GB 11714, which is deliberately not enforced. */
	assert_int_equal(ss_uscc_check("911100001000048960", NULL), 0);
}

static void check_char_refuses_characters_outside_the_alphabet(void **state)
{
	assert_int_equal(ss_uscc_check_char("9111000080210043I"), '\0');
	assert_int_equal(ss_uscc_check_char("9111000080210043"), '\0'); /* 16 characters */
	assert_int_equal(ss_uscc_check_char(NULL), '\0');
}

static void every_single_substitution_is_caught(void **state)
{
	char code[SS_USCC_LEN + 1];
	struct ss_uscc_error e;
	size_t v, a;
	int pos;

	for (v = 0; v < sizeof(valid_codes) / sizeof(valid_codes[0]); v++) {
		for (pos = 0; pos < SS_USCC_LEN; pos++) {
			for (a = 0; a < sizeof(alphabet) - 1; a++) {
				memcpy(code, valid_codes[v], sizeof(code));
				if (code[pos] == alphabet[a])
					continue;
				code[pos] = alphabet[a];
				assert_int_equal(ss_uscc_check(code, &e), SS_ERR_BAD_REQUEST);
				assert_int_equal(e.problem, SS_USCC_CHECK);
				assert_int_equal(e.position, 18);
				assert_int_equal(e.expected, ss_uscc_check_char(code));
			}
		}
	}
}

static void wrong_lengths_are_refused(void **state)
{
	expect_problem("", SS_USCC_LENGTH, 0);
	expect_problem("9144030071526726X", SS_USCC_LENGTH, 0);
	/* 17 digits are taken for a spreadsheet number (see spreadsheet test). */
	expect_problem("91110000802100433BB", SS_USCC_LENGTH, 0);
	expect_problem(" 91110000802100433B", SS_USCC_LENGTH, 0);
	expect_problem(NULL, SS_USCC_LENGTH, 0);
}

static void lower_case_is_refused_with_the_capital_suggested(void **state)
{
	struct ss_uscc_error e;

	assert_int_equal(ss_uscc_check("91110000802100433b", &e), SS_ERR_BAD_REQUEST);
	assert_int_equal(e.problem, SS_USCC_CHARACTER);
	assert_int_equal(e.position, 18);
	assert_int_equal(e.expected, 'B');
	/* The first offending position is reported. */
	expect_problem("9144030071526726xg", SS_USCC_CHARACTER, 17);
}

static void excluded_letters_are_refused_where_they_stand(void **state)
{
	const char excluded[] = "IOZSV";
	char code[SS_USCC_LEN + 1];
	struct ss_uscc_error e;
	int i, pos;

	for (i = 0; excluded[i] != '\0'; i++) {
		for (pos = 0; pos < SS_USCC_LEN; pos++) {
			memcpy(code, valid_codes[0], sizeof(code));
			code[pos] = excluded[i];
			assert_int_equal(ss_uscc_check(code, &e), SS_ERR_BAD_REQUEST);
			assert_int_equal(e.problem, SS_USCC_CHARACTER);
			assert_int_equal(e.position, pos + 1);
			assert_int_equal(e.expected, '\0');
		}
	}
	expect_problem("9111000080210043-B", SS_USCC_CHARACTER, 17);
}

static void full_width_characters_are_reported_at_their_position(void **state)
{
	/* "Ｂ" (U+FF22) typed with a Chinese input method in position 18. */
	expect_problem("91110000802100433\xef\xbc\xa2", SS_USCC_CHARACTER, 18);
	/* Text that is not UTF-8 is counted in bytes. */
	expect_problem("91110000802100433\xff", SS_USCC_CHARACTER, 18);
	expect_problem("9111000080210043\xff", SS_USCC_LENGTH, 0);
}

static void spreadsheet_numbers_are_recognised(void **state)
{
	expect_problem("9.1E+17", SS_USCC_EXCEL_NUMBER, 0);
	expect_problem("9.11101E+17", SS_USCC_EXCEL_NUMBER, 0);
	expect_problem("9.1e17", SS_USCC_EXCEL_NUMBER, 0);
	expect_problem("911100001000048", SS_USCC_EXCEL_NUMBER, 0);    /* 15 digits */
	expect_problem("91110000100004896", SS_USCC_EXCEL_NUMBER, 0);  /* 17 digits */
	expect_problem("911100001000048000", SS_USCC_EXCEL_NUMBER, 0); /* tail zeroed */
	/* Not numbers: ordinary length errors. */
	expect_problem("91110000100004", SS_USCC_LENGTH, 0);
	expect_problem("9.1E+", SS_USCC_LENGTH, 0);
	expect_problem("E+17", SS_USCC_LENGTH, 0);
}

static void describe_names_position_and_expected_character(void **state)
{
	struct ss_uscc_error e;
	char en[SS_USCC_DESCRIBE_MAX], zh[SS_USCC_DESCRIBE_MAX];

	assert_int_equal(ss_uscc_check("91110000802100433A", &e), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_uscc_describe(&e, "91110000802100433A", en, sizeof(en), zh, sizeof(zh)),
			 0);
	assert_string_equal(en, "character 18 is 'A' but the check character for the first 17 "
				"is 'B': a character was probably mistyped");
	assert_non_null(strstr(zh, "第 18 位为“A”，但按前 17 位计算的校验码应为“B”"));

	assert_int_equal(ss_uscc_check("91110I00802100433B", &e), SS_ERR_BAD_REQUEST);
	ss_uscc_describe(&e, "91110I00802100433B", en, sizeof(en), zh, sizeof(zh));
	assert_non_null(strstr(en, "character 6 is 'I'"));
	assert_non_null(strstr(zh, "第 6 位为“I”"));

	assert_int_equal(ss_uscc_check("91110000802100433b", &e), SS_ERR_BAD_REQUEST);
	ss_uscc_describe(&e, "91110000802100433b", en, sizeof(en), zh, sizeof(zh));
	assert_non_null(strstr(en, "character 18 is 'b'"));
	assert_non_null(strstr(en, "capitals ('B')"));

	assert_int_equal(ss_uscc_check("91110000802100433\xef\xbc\xa2", &e), SS_ERR_BAD_REQUEST);
	ss_uscc_describe(&e, "91110000802100433\xef\xbc\xa2", en, sizeof(en), zh, sizeof(zh));
	assert_non_null(strstr(zh, "第 18 位为“\xef\xbc\xa2”"));
}

static void describe_explains_excel_and_length(void **state)
{
	struct ss_uscc_error e;
	char en[SS_USCC_DESCRIBE_MAX], zh[SS_USCC_DESCRIBE_MAX];

	assert_int_equal(ss_uscc_check("9.1E+17", &e), SS_ERR_BAD_REQUEST);
	ss_uscc_describe(&e, "9.1E+17", en, sizeof(en), zh, sizeof(zh));
	assert_string_equal(en, "the code looks like a number mangled by Excel (9.1E+17): format "
				"the column as text and export again");
	assert_string_equal(
	    zh, "该代码似被 Excel 转成了数字（9.1E+17）：请将该列设为文本格式后重新导出");

	assert_int_equal(ss_uscc_check("911100008021", &e), SS_ERR_BAD_REQUEST);
	ss_uscc_describe(&e, "911100008021", en, sizeof(en), zh, sizeof(zh));
	assert_non_null(strstr(en, "has 12 characters"));
	assert_non_null(strstr(zh, "为 12 位"));
}

static void describe_cuts_at_a_character_boundary(void **state)
{
	struct ss_uscc_error e = {.position = 18, .problem = SS_USCC_CHECK, .expected = 'B'};
	char zh[12];
	size_t n;

	/* "第 18 位" is 10 bytes; an 11th would be the first byte of "为". */
	assert_int_equal(ss_uscc_describe(&e, "91110000802100433A", NULL, 0, zh, sizeof(zh)), 0);
	n = strlen(zh);
	assert_true(n < sizeof(zh));
	assert_string_equal(zh, "第 18 位");
	assert_int_equal(ss_uscc_describe(NULL, "x", NULL, 0, NULL, 0), SS_ERR_BAD_REQUEST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_codes_are_accepted),
	    cmocka_unit_test(check_value_31_is_written_as_zero),
	    cmocka_unit_test(check_char_refuses_characters_outside_the_alphabet),
	    cmocka_unit_test(every_single_substitution_is_caught),
	    cmocka_unit_test(wrong_lengths_are_refused),
	    cmocka_unit_test(lower_case_is_refused_with_the_capital_suggested),
	    cmocka_unit_test(excluded_letters_are_refused_where_they_stand),
	    cmocka_unit_test(full_width_characters_are_reported_at_their_position),
	    cmocka_unit_test(spreadsheet_numbers_are_recognised),
	    cmocka_unit_test(describe_names_position_and_expected_character),
	    cmocka_unit_test(describe_explains_excel_and_length),
	    cmocka_unit_test(describe_cuts_at_a_character_boundary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
