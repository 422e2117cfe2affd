/*
 * cli_output.c — tables, times and JSON for the command-line client.
 */
#define _XOPEN_SOURCE 700
#include "cli_output.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "ss_error.h"

struct cli_table {
	size_t ncols;
	size_t nrows; /* rows including the headings */
	size_t cap;
	char **cells;	/* nrows * ncols, row-major */
	size_t *widths; /* per column, in display columns */
};

const char *cli_time_local(int64_t unix_ms, int with_ms, char *buf, size_t len)
{
	time_t t = (time_t)(unix_ms / 1000);
	int ms = (int)(unix_ms % 1000);
	char date[32];
	char zone[8];
	struct tm tm;

	if (ms < 0) {
		ms += 1000;
		t -= 1;
	}
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
	    strftime(zone, sizeof(zone), "%z", &tm) != 5) {
		snprintf(buf, len, "%lld", (long long)unix_ms);
		return buf;
	}
	/* ISO 8601 extended form wants "+08:00", strftime gives "+0800". */
	if (with_ms)
		snprintf(buf, len, "%s.%03d%.3s:%s", date, ms, zone, zone + 3);
	else
		snprintf(buf, len, "%s%.3s:%s", date, zone, zone + 3);
	return buf;
}

size_t cli_display_width(const char *s)
{
	mbstate_t st;
	size_t total = 0;
	size_t n;
	wchar_t wc;
	int w;

	memset(&st, 0, sizeof(st));
	while (*s != '\0') {
		n = mbrtowc(&wc, s, strlen(s), &st);
		if (n == (size_t)-1 || n == (size_t)-2) {
			/* Not valid in this locale: count the byte, start afresh. */
			memset(&st, 0, sizeof(st));
			total++;
			s++;
			continue;
		}
		w = wcwidth(wc);
		if (w > 0)
			total += (size_t)w;
		else if (w < 0)
			total++; /* shown as '?' */
		s += n;
	}
	return total;
}

void cli_print_padded(FILE *f, const char *s, size_t width)
{
	size_t used = cli_display_width(s);
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		/* C0 controls, DEL, and the C1 controls U+0080..U+009F in UTF-8,
		 * which some terminals obey as escape sequences. */
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fputc('?', f);
			p++;
		} else {
			fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
		}
	}
	while (used++ < width)
		fputc(' ', f);
}

void cli_print_field(const char *label, size_t label_width, const char *value)
{
	size_t w = cli_display_width(label) + 1;

	fputs(label, stdout);
	fputc(':', stdout);
	while (w++ < label_width + 3)
		fputc(' ', stdout);
	cli_print_padded(stdout, value ? value : "", 0);
	fputc('\n', stdout);
}

void cli_json_emit(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

struct json_object *cli_json_str(const char *s)
{
	return json_object_new_string(s ? s : "");
}

struct cli_table *cli_table_new(size_t ncols, const char *const *headings)
{
	struct cli_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	t->widths = calloc(ncols, sizeof(*t->widths));
	if (t->widths == NULL || cli_table_add(t, headings) != 0) {
		cli_table_free(t);
		return NULL;
	}
	return t;
}

int cli_table_add(struct cli_table *t, const char *const *cells)
{
	size_t i;
	size_t w;
	char **row;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));

		if (grown == NULL)
			return SS_ERR_NOMEM;
		t->cells = grown;
		t->cap = cap;
	}
	row = t->cells + t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "");
		if (row[i] == NULL) {
			while (i-- > 0)
				free(row[i]);
			return SS_ERR_NOMEM;
		}
		w = cli_display_width(row[i]);
		if (w > t->widths[i])
			t->widths[i] = w;
	}
	t->nrows++;
	return 0;
}

void cli_table_print(const struct cli_table *t)
{
	size_t r;
	size_t c;

	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const int last = c + 1 == t->ncols;

			cli_print_padded(stdout, t->cells[r * t->ncols + c],
					 last ? 0 : t->widths[c]);
			if (!last)
				fputs("  ", stdout);
		}
		fputc('\n', stdout);
	}
}

void cli_table_free(struct cli_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->widths);
	free(t);
}
