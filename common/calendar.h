/*
 * calendar.h — the official working-day calendar (工作日历) used for
 * deadlines counted in working days (工作日).
 *
 * Dates are days since 1970-01-01 (int32_t), proleptic Gregorian.
 *
 * A day is a working day by these rules, the first that applies:
 *   1. an administrator's override (ss_calendar_set_override);
 *   2. the State Council notice, as shipped in data/holiday-cn/NNNN.json:
 *      a day listed with isOffDay true is a holiday (放假), a day listed
 *      with isOffDay false is an adjusted working day (调休上班);
 *   3. Monday to Friday work, Saturday and Sunday rest.
 *
 * A year is covered when its file exists and lists at least one day.  An
 * answer that relied on rule 3 for a day of an uncovered year is
 * provisional: the notice may still change it.  So is one that relied on
 * rule 3 for 25-31 December when the next year is uncovered, because the
 * New Year (元旦) arrangement for those days is published with the next
 * year's notice (the shipped files move days as early as 29 December).
 * Days decided by rule 1 or 2 are never provisional.
 *
 * Only 1990-01-01 .. 2100-12-31 can be asked about.
 */
#ifndef SS_CALENDAR_H
#define SS_CALENDAR_H

#include <stdint.h>

#define SS_CALENDAR_FIRST_YEAR 1990
#define SS_CALENDAR_LAST_YEAR 2100
/* The largest n accepted by ss_calendar_add_workdays(). */
#define SS_CALENDAR_MAX_WORKDAYS 3650
/* The largest NNNN.json file read. */
#define SS_CALENDAR_MAX_FILE_BYTES (1024 * 1024)

struct ss_calendar;

/*
 * Parses "YYYY-MM-DD" (exactly ten characters, years 0001-9999, a real
 * Gregorian date) into *day.  Returns 0, or SS_ERR_BAD_REQUEST leaving
 * *day 0.
 */
int ss_date_parse(const char *iso, int32_t *day);

/* Writes day as "YYYY-MM-DD" and a NUL; "0000-00-00" (not a date) outside years 0001-9999. */
void ss_date_format(int32_t day, char out[11]);

/* The day for a year, month and day; SS_ERR_BAD_REQUEST if not a real date in 0001-9999. */
int ss_date_from_ymd(int y, int m, int d, int32_t *day);

/* Splits day into year, month (1-12) and day of month (1-31). */
void ss_date_to_ymd(int32_t day, int *y, int *m, int *d);

/* ISO weekday of day: 1 Monday .. 7 Sunday. */
int ss_date_weekday(int32_t day);

/*
 * Loads every file named NNNN.json in dir (holiday-cn format: an object
 * with "year", "papers" and "days", each day an object with "name",
 * "date" and "isOffDay").  Files for years outside 1990-2100 are skipped
 * with a warning.  Returns the calendar, to be released with
 * ss_calendar_free(), or NULL after logging the reason: an unreadable
 * directory, no year file, a malformed or oversized file, a "year" that
 * differs from the file name, or one date listed twice with different
 * values.
 */
struct ss_calendar *ss_calendar_load(const char *dir);

/* Releases the calendar.  Accepts NULL. */
void ss_calendar_free(struct ss_calendar *cal);

/* 1 if year has a non-empty file in the calendar, else 0. */
int ss_calendar_year_covered(const struct ss_calendar *cal, int year);

/*
 * Overrides day: is_off non-zero makes it a rest day, zero a working day,
 * whatever the notice and the weekday say.  Returns 0, or
 * SS_ERR_BAD_REQUEST if day is outside 1990-2100.
 */
int ss_calendar_set_override(struct ss_calendar *cal, int32_t day, int is_off);

/* Removes an override of day (none is fine).  Returns 0 or SS_ERR_BAD_REQUEST as above. */
int ss_calendar_clear_override(struct ss_calendar *cal, int32_t day);

/*
 * Returns 1 if day is a working day, 0 if it is a rest day, or
 * SS_ERR_BAD_REQUEST if day is outside 1990-2100.  *provisional (if not
 * NULL) is set to 1 if the answer is provisional, else 0.
 */
int ss_calendar_is_workday(const struct ss_calendar *cal, int32_t day, int *provisional);

/*
 * Sets *result to the day on which n working days after start have
 * passed: start itself is never counted, so with n >= 1 the result is the
 * n-th working day after start (a notice dated Friday 2026-09-18 with a
 * three-working-day limit is due 2026-09-22, since Sunday 09-20 is 调休上班).
 * n = 0 gives start if it is a working day, else the next working day.
 * *provisional (if not NULL) is 1 if any day examined gave a provisional
 * answer.  Returns 0, or SS_ERR_BAD_REQUEST if n is outside
 * 0..SS_CALENDAR_MAX_WORKDAYS or start or the result is outside 1990-2100
 * (then *result is 0).
 */
int ss_calendar_add_workdays(const struct ss_calendar *cal, int32_t start, int n, int32_t *result,
			     int *provisional);

/*
 * Sets *count to the number of working days d with from < d <= to, so
 * ss_calendar_workdays_between(cal, s, r) == n when r came from
 * ss_calendar_add_workdays(cal, s, n) with n >= 1; from == to gives 0.
 * *provisional as above.  Returns 0, or SS_ERR_BAD_REQUEST if to < from
 * or either is outside 1990-2100 (then *count is 0).
 */
int ss_calendar_workdays_between(const struct ss_calendar *cal, int32_t from, int32_t to,
				 int *count, int *provisional);

#endif
