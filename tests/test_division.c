/*
 * test_division.c — GB/T 2260 division table, read from the repository copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "division.h"
#include "ss_error.h"

#define TABLE SS_TEST_SOURCE_DIR "/data/areacodes/result.csv"

static int table_setup(void **state)
{
	*state = ss_divisions_load(TABLE);
	return *state != NULL ? 0 : -1;
}

static int table_teardown(void **state)
{
	ss_divisions_free(*state);
	return 0;
}

static void codes_in_use_are_found_by_name(void **state)
{
	const struct ss_divisions *t = *state;
	const struct ss_division *d = ss_division_find(t, "110101");
	int abolished = -1;

	assert_non_null(d);
	assert_string_equal(d->code, "110101");
	assert_string_equal(d->name, "东城区");
	assert_int_equal(d->abolished, 0);
	assert_int_equal(ss_division_check(t, "110101", &abolished), 0);
	assert_int_equal(abolished, 0);
	assert_string_equal(ss_division_find(t, "440300")->name, "深圳市");
}

static void abolished_codes_are_flagged_with_their_successor(void **state)
{
	const struct ss_divisions *t = *state;
	const struct ss_division *d = ss_division_find(t, "110103");
	int abolished = 0;

	/* 崇文区 was merged into 东城区 in 2010. */
	assert_non_null(d);
	assert_string_equal(d->name, "崇文区");
	assert_int_equal(d->abolished, 1);
	assert_string_equal(d->successor, "110101");
	assert_int_equal(ss_division_check(t, "110103", &abolished), 0);
	assert_int_equal(abolished, 1);
}

static void a_reused_code_keeps_its_most_recent_record(void **state)
{
	const struct ss_divisions *t = *state;
	const struct ss_division *d = ss_division_find(t, "120110");

	/* 东郊区 (1981-1992, 变更) became 东丽区 (1992, 在用). */
	assert_non_null(d);
	assert_string_equal(d->name, "东丽区");
	assert_int_equal(d->abolished, 0);
}

static void the_table_has_one_record_per_code(void **state)
{
	const struct ss_divisions *t = *state;

	/* 6823 rows, 359 codes listed more than once, 3 rows for 14 of them. */
	assert_int_equal(ss_divisions_count(t), 6823 - 359 - 14);
}

static void unknown_and_malformed_codes_are_refused(void **state)
{
	const struct ss_divisions *t = *state;
	int abolished = 1;

	assert_null(ss_division_find(t, "999999"));
	assert_int_equal(ss_division_check(t, "999999", &abolished), SS_ERR_BAD_REQUEST);
	assert_int_equal(abolished, 0);
	assert_int_equal(ss_division_check(t, "11010a", NULL), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_division_check(t, "11010", NULL), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_division_check(t, "1101010", NULL), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_division_check(t, NULL, NULL), SS_ERR_BAD_REQUEST);
}

static void first_and_last_codes_are_found(void **state)
{
	const struct ss_divisions *t = *state;

	/* The binary search reaches both ends of the table. */
	assert_non_null(ss_division_find(t, "110000"));
	assert_null(ss_division_find(t, "000000"));
	assert_non_null(ss_division_find(t, "820000")); /* 澳门特别行政区 */
}

/* Writes text to a temporary file and returns its path (static storage). */
static const char *write_temp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_division_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void quoted_fields_and_crlf_are_read(void **state)
{
	const char *path =
	    write_temp("代码,名称,状态,启用时间,变更/弃用时间,新代码\r\n"
		       "110101,\"东城区\",在用,1981,,\r\n"
		       "110103,\"崇文\"\"区\"\"\",弃用,1981,2010,\"110101;110102\"\r\n");
	struct ss_divisions *t = ss_divisions_load(path);

	unlink(path);
	assert_non_null(t);
	assert_string_equal(ss_division_find(t, "110103")->name, "崇文\"区\"");
	assert_string_equal(ss_division_find(t, "110103")->successor, "110101;110102");
	assert_string_equal(ss_division_find(t, "110101")->name, "东城区");
	ss_divisions_free(t);
}

static void malformed_tables_are_refused(void **state)
{
	static const char *const bad[] = {
	    "代码,名称,状态\n110101,东城区,在用\n",			    /* columns missing */
	    "代码,名称,状态,启用时间,新代码\n11010,东城区,在用,1981,\n",    /* 5 digits */
	    "代码,名称,状态,启用时间,新代码\n110101,东城区,未知,1981,\n",   /* status */
	    "代码,名称,状态,启用时间,新代码\n110101,东城区,在用,1981\n",    /* short row */
	    "代码,名称,状态,启用时间,新代码\n110101,\"东城区,在用,1981,\n", /* open quote */
	    "代码,名称,状态,启用时间,新代码\n",				    /* no rows */
	};
	size_t i;
	const char *path;
	struct ss_divisions *t;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_temp(bad[i]);
		t = ss_divisions_load(path);
		unlink(path);
		assert_null(t);
	}
	assert_null(ss_divisions_load(SS_TEST_SOURCE_DIR "/data/areacodes/missing.csv"));
	ss_divisions_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(codes_in_use_are_found_by_name),
	    cmocka_unit_test(abolished_codes_are_flagged_with_their_successor),
	    cmocka_unit_test(a_reused_code_keeps_its_most_recent_record),
	    cmocka_unit_test(the_table_has_one_record_per_code),
	    cmocka_unit_test(unknown_and_malformed_codes_are_refused),
	    cmocka_unit_test(first_and_last_codes_are_found),
	    cmocka_unit_test(quoted_fields_and_crlf_are_read),
	    cmocka_unit_test(malformed_tables_are_refused),
	};

	return cmocka_run_group_tests(tests, table_setup, table_teardown);
}
