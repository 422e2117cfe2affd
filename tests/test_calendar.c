/*
 * test_calendar.c — working days from the shipped holiday-cn notices.
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

#include "calendar.h"
#include "ss_error.h"

#define HOLIDAYS SS_TEST_SOURCE_DIR "/data/holiday-cn"

static int calendar_setup(void **state)
{
	*state = ss_calendar_load(HOLIDAYS);
	return *state != NULL ? 0 : -1;
}

static int calendar_teardown(void **state)
{
	ss_calendar_free(*state);
	return 0;
}

static int32_t day_of(const char *iso)
{
	int32_t day;

	assert_int_equal(ss_date_parse(iso, &day), 0);
	return day;
}

/* start + n working days, formatted; asserts the provisional flag. */
static const char *add(const struct ss_calendar *cal, const char *start, int n, int provisional)
{
	static char out[11];
	int32_t result;
	int prov = -1;

	assert_int_equal(ss_calendar_add_workdays(cal, day_of(start), n, &result, &prov), 0);
	assert_int_equal(prov, provisional);
	ss_date_format(result, out);
	return out;
}

static void dates_parse_strictly(void **state)
{
	int32_t day = 99;
	char out[11];

	assert_int_equal(ss_date_parse("1970-01-01", &day), 0);
	assert_int_equal(day, 0);
	assert_int_equal(ss_date_parse("1990-01-01", &day), 0);
	assert_int_equal(day, 7305);
	assert_int_equal(ss_date_parse("2024-02-29", &day), 0);
	ss_date_format(day, out);
	assert_string_equal(out, "2024-02-29");
	assert_int_equal(ss_date_weekday(day_of("2026-09-18")), 5); /* a Friday */

	assert_int_equal(ss_date_parse("2026-02-30", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(day, 0);
	assert_int_equal(ss_date_parse("2025-02-29", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_date_parse("1900-02-29", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_date_parse("2026-13-01", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_date_parse("2026-00-10", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_date_parse("2026-1-01", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_date_parse("2026-01-01 ", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_date_parse("2026/01/01", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_date_parse("+026-01-01", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_date_parse("", &day), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_date_parse(NULL, &day), SS_ERR_BAD_REQUEST);
}

static void dates_round_trip_over_the_whole_range(void **state)
{
	int32_t day, back;
	char out[11];

	for (day = day_of("1990-01-01"); day <= day_of("2100-12-31"); day++) {
		ss_date_format(day, out);
		assert_int_equal(ss_date_parse(out, &back), 0);
		assert_int_equal(back, day);
	}
}

static void adjusted_sunday_counts_as_a_working_day(void **state)
{
	/* Friday 2026-09-18; Sunday 09-20 is 调休上班 (国庆节). */
	assert_string_equal(add(*state, "2026-09-18", 3, 0), "2026-09-22");
}

static void spring_festival_is_skipped(void **state)
{
	/* Friday 2026-02-13; Saturday 02-14 works, 02-15..02-23 off. */
	assert_string_equal(add(*state, "2026-02-13", 3, 0), "2026-02-25");
	assert_string_equal(add(*state, "2026-02-13", 1, 0), "2026-02-14");
}

static void zero_days_gives_the_next_working_day(void **state)
{
	assert_string_equal(add(*state, "2026-09-18", 0, 0), "2026-09-18");
	assert_string_equal(add(*state, "2026-10-01", 0, 0), "2026-10-08");
}

static void holidays_and_adjusted_days_are_known(void **state)
{
	const struct ss_calendar *cal = *state;
	int prov = -1;

	assert_int_equal(ss_calendar_is_workday(cal, day_of("2026-10-01"), &prov), 0);
	assert_int_equal(prov, 0);
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2026-10-10"), &prov),
			 1); /* Saturday */
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2026-03-10"), &prov), 1);
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2026-03-14"), &prov), 0);
	/* 2007-12-29 is listed in 2008.json, not 2007.json. */
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2007-12-29"), &prov), 1);
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2007-12-31"), &prov), 0);
	assert_int_equal(ss_calendar_year_covered(cal, 2026), 1);
	assert_int_equal(ss_calendar_year_covered(cal, 2027), 0);
}

static void uncovered_years_are_provisional(void **state)
{
	const struct ss_calendar *cal = *state;
	int prov = -1;
	int count;

	/* 2027.json is empty: weekdays only, flagged. */
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2027-03-10"), &prov), 1);
	assert_int_equal(prov, 1);
	assert_string_equal(add(cal, "2027-03-05", 3, 1), "2027-03-10");
	assert_int_equal(ss_calendar_workdays_between(cal, day_of("2026-12-01"),
						      day_of("2027-01-10"), &count, &prov),
			 0);
	assert_int_equal(prov, 1);
	/* Before 2007 nothing is shipped. */
	assert_int_equal(ss_calendar_is_workday(cal, day_of("1995-06-01"), &prov), 1);
	assert_int_equal(prov, 1);
	/* Late December waits for next year's New Year arrangement. */
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2026-12-28"), &prov), 1);
	assert_int_equal(prov, 1);
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2026-12-24"), &prov), 1);
	assert_int_equal(prov, 0);
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2025-12-29"), &prov), 1);
	assert_int_equal(prov, 0);
}

static void an_override_shifts_the_deadline(void **state)
{
	struct ss_calendar *cal = *state;
	int prov = -1;

	assert_int_equal(ss_calendar_set_override(cal, day_of("2026-09-21"), 1), 0);
	assert_string_equal(add(cal, "2026-09-18", 3, 0), "2026-09-23");
	/* An override also wins over the notice and the weekday, and settles 2027. */
	assert_int_equal(ss_calendar_set_override(cal, day_of("2026-10-02"), 0), 0);
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2026-10-02"), &prov), 1);
	assert_int_equal(ss_calendar_set_override(cal, day_of("2027-03-10"), 1), 0);
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2027-03-10"), &prov), 0);
	assert_int_equal(prov, 0);
	assert_int_equal(ss_calendar_clear_override(cal, day_of("2026-09-21")), 0);
	assert_int_equal(ss_calendar_clear_override(cal, day_of("2026-10-02")), 0);
	assert_int_equal(ss_calendar_clear_override(cal, day_of("2027-03-10")), 0);
	assert_string_equal(add(cal, "2026-09-18", 3, 0), "2026-09-22");
	assert_int_equal(ss_calendar_set_override(cal, day_of("1989-12-31"), 1),
			 SS_ERR_BAD_REQUEST);
}

static void a_normal_week_has_five_working_days(void **state)
{
	const struct ss_calendar *cal = *state;
	int count = -1, prov = -1;

	/* Sunday 2026-03-08 to Sunday 2026-03-15: Monday to Friday. */
	assert_int_equal(ss_calendar_workdays_between(cal, day_of("2026-03-08"),
						      day_of("2026-03-15"), &count, &prov),
			 0);
	assert_int_equal(count, 5);
	assert_int_equal(prov, 0);
	assert_int_equal(ss_calendar_workdays_between(cal, day_of("2026-03-08"),
						      day_of("2026-03-08"), &count, &prov),
			 0);
	assert_int_equal(count, 0);
	/* The National Day week of 2026 has no working day from 10-01 to 10-07. */
	assert_int_equal(ss_calendar_workdays_between(cal, day_of("2026-09-30"),
						      day_of("2026-10-07"), &count, &prov),
			 0);
	assert_int_equal(count, 0);
}

static void between_inverts_add(void **state)
{
	const struct ss_calendar *cal = *state;
	int32_t start = day_of("2025-12-01"), result;
	int n, count;

	for (n = 1; n <= 40; n++) {
		assert_int_equal(ss_calendar_add_workdays(cal, start, n, &result, NULL), 0);
		assert_int_equal(ss_calendar_workdays_between(cal, start, result, &count, NULL), 0);
		assert_int_equal(count, n);
		assert_int_equal(ss_calendar_is_workday(cal, result, NULL), 1);
	}
}

static void out_of_range_requests_are_refused(void **state)
{
	const struct ss_calendar *cal = *state;
	int32_t result = 7;
	int count = 7;

	assert_int_equal(ss_calendar_add_workdays(cal, day_of("2026-01-05"), -1, &result, NULL),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(result, 0);
	assert_int_equal(ss_calendar_add_workdays(cal, day_of("2026-01-05"), 3651, &result, NULL),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_calendar_add_workdays(cal, day_of("2026-01-05"), 3650, &result, NULL),
			 0);
	assert_int_equal(ss_calendar_add_workdays(cal, day_of("1989-12-29"), 1, &result, NULL),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_calendar_add_workdays(cal, day_of("2100-12-30"), 5, &result, NULL),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_calendar_is_workday(cal, day_of("2101-01-03"), NULL),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_calendar_workdays_between(cal, day_of("2026-03-15"),
						      day_of("2026-03-08"), &count, NULL),
			 SS_ERR_BAD_REQUEST);
	assert_int_equal(count, 0);
}

/* A directory of one year file with the given text; returns its path. */
static const char *year_dir(const char *name, const char *text)
{
	static char dir[64];
	char path[128];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/test_calendar_XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return dir;
}

static void remove_year_dir(const char *dir, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	rmdir(dir);
}

static void malformed_files_are_refused(void **state)
{
	static const char *const bad[] = {
	    "{\"year\":2026,\"papers\":[],\"days\":[",
	    "{\"year\":2025,\"papers\":[],\"days\":[]}",
	    "{\"year\":2026,\"days\":[]}",
	    "{\"year\":2026,\"papers\":[],\"days\":[{\"name\":\"x\",\"date\":\"2026-02-30\","
	    "\"isOffDay\":true}]}",
	    "{\"year\":2026,\"papers\":[],\"days\":[{\"name\":\"x\",\"date\":\"2026-02-03\","
	    "\"isOffDay\":\"yes\"}]}",
	    "{\"year\":2026,\"papers\":[],\"days\":[{\"name\":\"x\",\"date\":\"2026-02-03\","
	    "\"isOffDay\":true},{\"name\":\"x\",\"date\":\"2026-02-03\",\"isOffDay\":false}]}",
	    "{\"year\":2026,\"papers\":[],\"days\":[]} x",
	    "[]",
	};
	const char *dir;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dir = year_dir("2026.json", bad[i]);
		assert_null(ss_calendar_load(dir));
		remove_year_dir(dir, "2026.json");
	}
	dir = year_dir("notes.txt", "no year files here");
	assert_null(ss_calendar_load(dir));
	remove_year_dir(dir, "notes.txt");
	assert_null(ss_calendar_load("/nonexistent/holiday-cn"));
	ss_calendar_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dates_parse_strictly),
	    cmocka_unit_test(dates_round_trip_over_the_whole_range),
	    cmocka_unit_test(adjusted_sunday_counts_as_a_working_day),
	    cmocka_unit_test(spring_festival_is_skipped),
	    cmocka_unit_test(zero_days_gives_the_next_working_day),
	    cmocka_unit_test(holidays_and_adjusted_days_are_known),
	    cmocka_unit_test(uncovered_years_are_provisional),
	    cmocka_unit_test(an_override_shifts_the_deadline),
	    cmocka_unit_test(a_normal_week_has_five_working_days),
	    cmocka_unit_test(between_inverts_add),
	    cmocka_unit_test(out_of_range_requests_are_refused),
	    cmocka_unit_test(malformed_files_are_refused),
	};

	return cmocka_run_group_tests(tests, calendar_setup, calendar_teardown);
}
