/*
 * calendar.c — working days from the State Council holiday notices.
 *
 * Every day of 1990-2100 has one byte for the notice and one for the
 * override, so a question is an array look-up and the calendar is about
 * 80 KB.
 */
#include "calendar.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ss_error.h"
#include "ss_log.h"

#define CAL_FIRST_DAY 7305 /* 1990-01-01 */
#define CAL_END_DAY 47847  /* 2101-01-01, the first day after the range */
#define CAL_NDAYS (CAL_END_DAY - CAL_FIRST_DAY)
#define CAL_NYEARS (SS_CALENDAR_LAST_YEAR - SS_CALENDAR_FIRST_YEAR + 1)

/* Values of listed[] and override[]. */
enum { CAL_UNSET = 0, CAL_OFF = 1, CAL_WORK = 2 };

struct ss_calendar {
	unsigned char listed[CAL_NDAYS];
	unsigned char override[CAL_NDAYS];
	unsigned char covered[CAL_NYEARS];
};

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar. */
static int64_t cal_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void ss_date_to_ymd(int32_t day, int *y, int *m, int *d)
{
	int64_t z = (int64_t)day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int mm = (int)(mp < 10 ? mp + 3 : mp - 9);

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = mm;
	*y = (int)(yoe + era * 400 + (mm <= 2));
}

static int cal_days_in_month(int y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

int ss_date_from_ymd(int y, int m, int d, int32_t *day)
{
	*day = 0;
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > cal_days_in_month(y, m))
		return SS_ERR_BAD_REQUEST;
	*day = (int32_t)cal_days_from_civil(y, m, d);
	return 0;
}

static int cal_digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int ss_date_parse(const char *iso, int32_t *day)
{
	int y, m, d;

	*day = 0;
	if (iso == NULL || strnlen(iso, 11) != 10 || iso[4] != '-' || iso[7] != '-')
		return SS_ERR_BAD_REQUEST;
	y = cal_digits(iso, 4);
	m = cal_digits(iso + 5, 2);
	d = cal_digits(iso + 8, 2);
	if (y < 0 || m < 0 || d < 0)
		return SS_ERR_BAD_REQUEST;
	return ss_date_from_ymd(y, m, d, day);
}

static void cal_put_digits(char *out, int v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void ss_date_format(int32_t day, char out[11])
{
	int y, m, d;

	ss_date_to_ymd(day, &y, &m, &d);
	if (y < 1 || y > 9999) {
		memcpy(out, "0000-00-00", 11);
		return;
	}
	cal_put_digits(out, y, 4);
	out[4] = '-';
	cal_put_digits(out + 5, m, 2);
	out[7] = '-';
	cal_put_digits(out + 8, d, 2);
	out[10] = '\0';
}

int ss_date_weekday(int32_t day)
{
	/* 1970-01-01 was a Thursday. */
	return (int)((((int64_t)day % 7) + 7 + 3) % 7) + 1;
}

static int cal_in_range(int32_t day)
{
	return day >= CAL_FIRST_DAY && day < CAL_END_DAY;
}

static char *cal_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;

	if (f == NULL) {
		ss_error("calendar %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > SS_CALENDAR_MAX_FILE_BYTES) {
		ss_error("calendar %s: not a regular file of at most %d bytes", path,
			 SS_CALENDAR_MAX_FILE_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		ss_error("calendar %s: out of memory", path);
		goto out;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || *len != (size_t)st.st_size) {
		ss_error("calendar %s: read error", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[*len] = '\0';
out:
	fclose(f);
	return buf;
}

/* Parses the whole of text as one JSON value; NULL after logging if it is not. */
static json_object *cal_parse_json(const char *path, const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *root = NULL;
	size_t end;

	if (tok == NULL) {
		ss_error("calendar %s: out of memory", path);
		return NULL;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		ss_error("calendar %s: not JSON: %s", path,
			 jerr == json_tokener_continue ? "the text ends inside a value"
						       : json_tokener_error_desc(jerr));
		json_object_put(root);
		root = NULL;
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (strchr(" \t\r\n", text[end]) == NULL) {
			ss_error("calendar %s: text after the JSON value", path);
			json_object_put(root);
			root = NULL;
			goto out;
		}
out:
	json_tokener_free(tok);
	return root;
}

static json_object *cal_member(json_object *obj, const char *key, json_type type)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* Records one listed day; a date listed twice must say the same thing. */
static int cal_list_day(struct ss_calendar *cal, const char *path, json_object *item)
{
	json_object *date = cal_member(item, "date", json_type_string);
	json_object *off = cal_member(item, "isOffDay", json_type_boolean);
	int32_t day;
	unsigned char v;

	if (!json_object_is_type(item, json_type_object) || date == NULL || off == NULL ||
	    cal_member(item, "name", json_type_string) == NULL ||
	    ss_date_parse(json_object_get_string(date), &day) != 0) {
		ss_error(
		    "calendar %s: a day needs \"name\", a \"date\" YYYY-MM-DD and \"isOffDay\"",
		    path);
		return SS_ERR_BAD_REQUEST;
	}
	if (!cal_in_range(day))
		return 0; /* cannot be asked about */
	v = json_object_get_boolean(off) ? CAL_OFF : CAL_WORK;
	if (cal->listed[day - CAL_FIRST_DAY] != CAL_UNSET &&
	    cal->listed[day - CAL_FIRST_DAY] != v) {
		ss_error("calendar %s: %s is listed both as a holiday and as a working day", path,
			 json_object_get_string(date));
		return SS_ERR_BAD_REQUEST;
	}
	cal->listed[day - CAL_FIRST_DAY] = v;
	return 0;
}

static int cal_load_year(struct ss_calendar *cal, const char *path, int year)
{
	json_object *root, *days, *y;
	char *text;
	size_t len = 0, i, n;
	int rc = SS_ERR_BAD_REQUEST;

	text = cal_read_file(path, &len);
	if (text == NULL)
		return SS_ERR_IO;
	root = cal_parse_json(path, text, len);
	free(text);
	if (root == NULL)
		return SS_ERR_BAD_REQUEST;
	y = cal_member(root, "year", json_type_int);
	days = cal_member(root, "days", json_type_array);
	if (!json_object_is_type(root, json_type_object) || y == NULL || days == NULL ||
	    cal_member(root, "papers", json_type_array) == NULL) {
		ss_error("calendar %s: needs \"year\", \"papers\" and \"days\"", path);
		goto out;
	}
	if (json_object_get_int64(y) != year) {
		ss_error("calendar %s: \"year\" is %lld", path,
			 (long long)json_object_get_int64(y));
		goto out;
	}
	n = json_object_array_length(days);
	for (i = 0; i < n; i++)
		if (cal_list_day(cal, path, json_object_array_get_idx(days, i)) != 0)
			goto out;
	cal->covered[year - SS_CALENDAR_FIRST_YEAR] = n > 0;
	rc = 0;
out:
	json_object_put(root);
	return rc;
}

/* The year of a file name of the form NNNN.json, or -1. */
static int cal_file_year(const char *name)
{
	int y = cal_digits(name, 4);

	return y >= 0 && strcmp(name + 4, ".json") == 0 ? y : -1;
}

struct ss_calendar *ss_calendar_load(const char *dir)
{
	struct ss_calendar *cal;
	DIR *d;
	struct dirent *e;
	char path[4096];
	int year, files = 0;

	d = opendir(dir);
	if (d == NULL) {
		ss_error("calendar %s: %s", dir, strerror(errno));
		return NULL;
	}
	cal = calloc(1, sizeof(*cal));
	if (cal == NULL) {
		ss_error("calendar %s: out of memory", dir);
		goto fail;
	}
	while ((e = readdir(d)) != NULL) {
		year = cal_file_year(e->d_name);
		if (year < 0)
			continue;
		if (year < SS_CALENDAR_FIRST_YEAR || year > SS_CALENDAR_LAST_YEAR) {
			ss_warn("calendar %s: skipping %s, outside %d-%d", dir, e->d_name,
				SS_CALENDAR_FIRST_YEAR, SS_CALENDAR_LAST_YEAR);
			continue;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path)) {
			ss_error("calendar %s: path too long", dir);
			goto fail;
		}
		if (cal_load_year(cal, path, year) != 0)
			goto fail;
		files++;
	}
	if (files == 0) {
		ss_error("calendar %s: no NNNN.json year files", dir);
		goto fail;
	}
	closedir(d);
	return cal;
fail:
	closedir(d);
	ss_calendar_free(cal);
	return NULL;
}

void ss_calendar_free(struct ss_calendar *cal)
{
	free(cal);
}

int ss_calendar_year_covered(const struct ss_calendar *cal, int year)
{
	if (cal == NULL || year < SS_CALENDAR_FIRST_YEAR || year > SS_CALENDAR_LAST_YEAR)
		return 0;
	return cal->covered[year - SS_CALENDAR_FIRST_YEAR];
}

int ss_calendar_set_override(struct ss_calendar *cal, int32_t day, int is_off)
{
	if (cal == NULL || !cal_in_range(day))
		return SS_ERR_BAD_REQUEST;
	cal->override[day - CAL_FIRST_DAY] = is_off ? CAL_OFF : CAL_WORK;
	return 0;
}

int ss_calendar_clear_override(struct ss_calendar *cal, int32_t day)
{
	if (cal == NULL || !cal_in_range(day))
		return SS_ERR_BAD_REQUEST;
	cal->override[day - CAL_FIRST_DAY] = CAL_UNSET;
	return 0;
}

/* Rules 1-3 of calendar.h for a day known to be in range; ORs into *provisional. */
static int cal_workday(const struct ss_calendar *cal, int32_t day, int *provisional)
{
	unsigned char v = cal->override[day - CAL_FIRST_DAY];
	int y, m, d;

	if (v == CAL_UNSET)
		v = cal->listed[day - CAL_FIRST_DAY];
	if (v != CAL_UNSET)
		return v == CAL_WORK;
	ss_date_to_ymd(day, &y, &m, &d);
	if (!ss_calendar_year_covered(cal, y) ||
	    (m == 12 && d >= 25 && !ss_calendar_year_covered(cal, y + 1)))
		*provisional = 1;
	return ss_date_weekday(day) <= 5;
}

int ss_calendar_is_workday(const struct ss_calendar *cal, int32_t day, int *provisional)
{
	int prov = 0, rc;

	if (provisional != NULL)
		*provisional = 0;
	if (cal == NULL || !cal_in_range(day))
		return SS_ERR_BAD_REQUEST;
	rc = cal_workday(cal, day, &prov);
	if (provisional != NULL)
		*provisional = prov;
	return rc;
}

int ss_calendar_add_workdays(const struct ss_calendar *cal, int32_t start, int n, int32_t *result,
			     int *provisional)
{
	int32_t day = start;
	int prov = 0, counted = 0;

	*result = 0;
	if (provisional != NULL)
		*provisional = 0;
	if (cal == NULL || !cal_in_range(start) || n < 0 || n > SS_CALENDAR_MAX_WORKDAYS)
		return SS_ERR_BAD_REQUEST;
	if (n == 0) {
		while (!cal_workday(cal, day, &prov))
			if (!cal_in_range(++day))
				return SS_ERR_BAD_REQUEST;
	} else {
		while (counted < n) {
			if (!cal_in_range(++day))
				return SS_ERR_BAD_REQUEST;
			counted += cal_workday(cal, day, &prov);
		}
	}
	*result = day;
	if (provisional != NULL)
		*provisional = prov;
	return 0;
}

int ss_calendar_workdays_between(const struct ss_calendar *cal, int32_t from, int32_t to,
				 int *count, int *provisional)
{
	int32_t day;
	int prov = 0, n = 0;

	*count = 0;
	if (provisional != NULL)
		*provisional = 0;
	if (cal == NULL || !cal_in_range(from) || !cal_in_range(to) || to < from)
		return SS_ERR_BAD_REQUEST;
	for (day = from + 1; day <= to; day++)
		n += cal_workday(cal, day, &prov);
	*count = n;
	if (provisional != NULL)
		*provisional = prov;
	return 0;
}
