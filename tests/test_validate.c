/*
 * test_validate.c — field checks shared by server and client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ss_error.h"
#include "validate.h"

static void utf8_length_counts_code_points(void **state)
{
	assert_int_equal(ss_utf8_length(""), 0);
	assert_int_equal(ss_utf8_length("abc"), 3);
	assert_int_equal(ss_utf8_length("住建局"), 3);
	assert_int_equal(ss_utf8_length("\xf0\xa0\x80\x80"), 1); /* outside the BMP */
}

static void invalid_utf8_is_refused(void **state)
{
	assert_int_equal(ss_utf8_length("\xc0\xaf"), -1);	  /* overlong '/' */
	assert_int_equal(ss_utf8_length("\xed\xa0\x80"), -1);	  /* surrogate */
	assert_int_equal(ss_utf8_length("\xe4\xbd"), -1);	  /* truncated */
	assert_int_equal(ss_utf8_length("\xf4\x90\x80\x80"), -1); /* above U+10FFFF */
	assert_int_equal(ss_utf8_length("\xff"), -1);
}

static void text_bounds_are_inclusive(void **state)
{
	assert_int_equal(ss_validate_text("理由", 2, 500), 0);
	assert_int_equal(ss_validate_text("理", 2, 500), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_validate_text(NULL, 0, 5), SS_ERR_BAD_REQUEST);
}

static void idempotency_keys_are_printable_ascii(void **state)
{
	char long_key[130];
	int i;

	assert_int_equal(ss_validate_idempotency_key("a1-B2_c3"), 0);
	assert_int_equal(ss_validate_idempotency_key(""), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_validate_idempotency_key("has space"), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_validate_idempotency_key("键"), SS_ERR_BAD_REQUEST);
	for (i = 0; i < 129; i++)
		long_key[i] = 'k';
	long_key[129] = '\0';
	assert_int_equal(ss_validate_idempotency_key(long_key), SS_ERR_BAD_REQUEST);
	long_key[128] = '\0';
	assert_int_equal(ss_validate_idempotency_key(long_key), 0);
}

static void principal_ids_follow_the_pattern(void **state)
{
	assert_int_equal(ss_validate_principal_id("district-a-operator"), 0);
	assert_int_equal(ss_validate_principal_id("a"), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_validate_principal_id("-abc"), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_validate_principal_id("Upper"), SS_ERR_BAD_REQUEST);
}

static void division_codes_are_six_digits(void **state)
{
	assert_int_equal(ss_validate_division_code("110101"), 0);
	assert_int_equal(ss_validate_division_code("11010"), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_validate_division_code("11010a"), SS_ERR_BAD_REQUEST);
}

static void clipped_echoes_are_valid_utf8(void **state)
{
	char out[16];

	ss_utf8_clip("住建局住建局", 7, out, sizeof(out)); /* 3 bytes each: 2 whole characters */
	assert_string_equal(out, "住建");
	ss_utf8_clip("a\xff" "b\xc0\xaf" "c", 10, out, sizeof(out)); /* stray and overlong bytes */
	assert_string_equal(out, "a?b??c");
	assert_int_equal(ss_utf8_length(out), 6);
	ss_utf8_clip("abcdef", 100, out, 4); /* bounded by the output too */
	assert_string_equal(out, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_length_counts_code_points),
		cmocka_unit_test(invalid_utf8_is_refused),
		cmocka_unit_test(text_bounds_are_inclusive),
		cmocka_unit_test(idempotency_keys_are_printable_ascii),
		cmocka_unit_test(principal_ids_follow_the_pattern),
		cmocka_unit_test(division_codes_are_six_digits),
		cmocka_unit_test(clipped_echoes_are_valid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
