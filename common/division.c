/*
 * division.c — GB/T 2260 division table loaded from CSV.
 *
 * The file is read whole into one buffer and split in place; every string
 * in the table points into that buffer, so freeing is two calls.
 */
#include "division.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ss_error.h"
#include "ss_log.h"

#define DIV_MAX_FIELDS 32

struct div_record {
	struct ss_division pub; /* first, so a record converts to what callers see */
	int start;		/* 启用时间, a year */
	int end;		/* 变更/弃用时间, a year; INT_MAX while in use */
	unsigned line;		/* tie-breaker: a later line wins */
};

struct ss_divisions {
	char *text; /* the whole file, split in place */
	struct div_record *records;
	unsigned count;
};

/* Column positions found in the header row. */
struct div_columns {
	int code, name, status, start, end, successor, nfields;
};

static int div_is_code(const char *s)
{
	int i;

	if (s == NULL)
		return 0;
	for (i = 0; i < 6; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[6] == '\0';
}

/*
 * Splits the next CSV record (RFC 4180: fields may be quoted, "" inside
 * quotes is one quote, LF or CRLF ends a record) in place.  Returns the
 * number of fields, 0 at the end of the text, or -1 if a quote is not
 * closed or the record has more than max fields.  *lines counts newlines.
 */
static int div_csv_record(char **cursor, char **fields, int max, unsigned *lines)
{
	char *r = *cursor, *w;
	int n = 0;

	if (*r == '\0')
		return 0;
	for (;;) {
		if (n == max)
			return -1;
		fields[n++] = w = r;
		if (*r == '"') {
			r++;
			for (;;) {
				if (*r == '\0')
					return -1;
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					if (*r == '\n')
						(*lines)++;
					*w++ = *r++;
				}
			}
			if (*r != ',' && *r != '\n' && *r != '\r' && *r != '\0')
				return -1;
		} else {
			while (*r != ',' && *r != '\n' && *r != '\r' && *r != '\0')
				*w++ = *r++;
		}
		if (*r == ',') {
			*w = '\0';
			r++;
			continue;
		}
		if (*r == '\r' && r[1] == '\n')
			r++;
		if (*r == '\r' || *r == '\n') {
			(*lines)++;
			r++;
		}
		*w = '\0';
		*cursor = r;
		return n;
	}
}

static int div_find_columns(char **fields, int n, struct div_columns *col)
{
	int i;

	col->code = col->name = col->status = col->start = col->end = col->successor = -1;
	col->nfields = n;
	for (i = 0; i < n; i++) {
		if (strcmp(fields[i], "代码") == 0)
			col->code = i;
		else if (strcmp(fields[i], "名称") == 0)
			col->name = i;
		else if (strcmp(fields[i], "状态") == 0)
			col->status = i;
		else if (strcmp(fields[i], "启用时间") == 0)
			col->start = i;
		else if (strcmp(fields[i], "变更/弃用时间") == 0)
			col->end = i;
		else if (strcmp(fields[i], "新代码") == 0)
			col->successor = i;
	}
	if (col->code < 0 || col->name < 0 || col->status < 0 || col->start < 0 ||
	    col->successor < 0)
		return SS_ERR_BAD_REQUEST;
	return 0;
}

/* A year of four digits; "" gives empty_value. */
static int div_year(const char *s, int empty_value, int *year)
{
	int i;

	if (s[0] == '\0') {
		*year = empty_value;
		return 0;
	}
	*year = 0;
	for (i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return SS_ERR_BAD_REQUEST;
		*year = *year * 10 + (s[i] - '0');
	}
	return s[4] == '\0' ? 0 : SS_ERR_BAD_REQUEST;
}

static int div_parse_row(char **fields, const struct div_columns *col, unsigned line,
			 struct div_record *rec)
{
	const char *status = fields[col->status];

	if (!div_is_code(fields[col->code]) || fields[col->name][0] == '\0')
		return SS_ERR_BAD_REQUEST;
	memcpy(rec->pub.code, fields[col->code], 7);
	rec->pub.name = fields[col->name];
	rec->pub.successor = fields[col->successor];
	if (strcmp(status, "弃用") == 0)
		rec->pub.abolished = 1;
	else if (strcmp(status, "在用") == 0 || strcmp(status, "变更") == 0)
		rec->pub.abolished = 0;
	else
		return SS_ERR_BAD_REQUEST;
	if (div_year(fields[col->start], 0, &rec->start) != 0)
		return SS_ERR_BAD_REQUEST;
	rec->end = INT_MAX;
	if (col->end >= 0 && div_year(fields[col->end], INT_MAX, &rec->end) != 0)
		return SS_ERR_BAD_REQUEST;
	rec->line = line;
	return 0;
}

/* By code, then oldest first, so the last of each run of a code is its most recent record. */
static int div_record_cmp(const void *a, const void *b)
{
	const struct div_record *x = a, *y = b;
	int c = strcmp(x->pub.code, y->pub.code);

	if (c != 0)
		return c;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->line < y->line ? -1 : (x->line > y->line);
}

static char *div_read_file(const char *path, size_t *len)
{
	FILE *f;
	struct stat st;
	char *buf = NULL;

	f = fopen(path, "rb");
	if (f == NULL) {
		ss_error("division table %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		ss_error("division table %s: not a regular file", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > SS_DIVISIONS_MAX_BYTES) {
		ss_error("division table %s: larger than %u bytes", path, SS_DIVISIONS_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		ss_error("division table %s: out of memory", path);
		goto out;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || *len != (size_t)st.st_size) {
		ss_error("division table %s: read error", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[*len] = '\0';
	if (memchr(buf, '\0', *len) != NULL) {
		ss_error("division table %s: contains a NUL byte", path);
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

struct ss_divisions *ss_divisions_load(const char *csv_path)
{
	struct ss_divisions *t = NULL;
	char *fields[DIV_MAX_FIELDS];
	struct div_columns col;
	char *cursor;
	size_t len = 0, cap = 1, i;
	unsigned line = 1, row_line, kept;
	int n;

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		ss_error("division table %s: out of memory", csv_path);
		return NULL;
	}
	t->text = div_read_file(csv_path, &len);
	if (t->text == NULL)
		goto fail;
	for (i = 0; i < len; i++)
		cap += t->text[i] == '\n';
	t->records = calloc(cap, sizeof(*t->records));
	if (t->records == NULL) {
		ss_error("division table %s: out of memory", csv_path);
		goto fail;
	}
	cursor = t->text;
	if (strncmp(cursor, "\xef\xbb\xbf", 3) == 0)
		cursor += 3;
	n = div_csv_record(&cursor, fields, DIV_MAX_FIELDS, &line);
	if (n <= 0 || div_find_columns(fields, n, &col) != 0) {
		ss_error(
		    "division table %s: the header must name 代码, 名称, 状态, 启用时间 and 新代码",
		    csv_path);
		goto fail;
	}
	for (;;) {
		row_line = line;
		n = div_csv_record(&cursor, fields, DIV_MAX_FIELDS, &line);
		if (n == 0)
			break;
		if (n == 1 && fields[0][0] == '\0')
			continue; /* a blank line */
		if (n != col.nfields || t->count >= cap ||
		    div_parse_row(fields, &col, row_line, &t->records[t->count]) != 0) {
			ss_error("division table %s: line %u is malformed", csv_path, row_line);
			goto fail;
		}
		t->count++;
	}
	if (t->count == 0) {
		ss_error("division table %s: no rows", csv_path);
		goto fail;
	}
	qsort(t->records, t->count, sizeof(*t->records), div_record_cmp);
	kept = 0;
	for (i = 0; i < t->count; i++) {
		if (i + 1 < t->count &&
		    strcmp(t->records[i].pub.code, t->records[i + 1].pub.code) == 0)
			continue;
		t->records[kept++] = t->records[i];
	}
	t->count = kept;
	return t;
fail:
	ss_divisions_free(t);
	return NULL;
}

void ss_divisions_free(struct ss_divisions *divisions)
{
	if (divisions == NULL)
		return;
	free(divisions->records);
	free(divisions->text);
	free(divisions);
}

unsigned ss_divisions_count(const struct ss_divisions *divisions)
{
	return divisions != NULL ? divisions->count : 0;
}

const struct ss_division *ss_division_find(const struct ss_divisions *divisions, const char *code)
{
	size_t lo = 0, hi, mid;
	int c;

	if (divisions == NULL || !div_is_code(code))
		return NULL;
	hi = divisions->count;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(code, divisions->records[mid].pub.code);
		if (c == 0)
			return &divisions->records[mid].pub;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int ss_division_check(const struct ss_divisions *divisions, const char *code, int *abolished)
{
	const struct ss_division *d = ss_division_find(divisions, code);

	if (abolished != NULL)
		*abolished = 0;
	if (d == NULL)
		return SS_ERR_BAD_REQUEST;
	if (abolished != NULL)
		*abolished = d->abolished;
	return 0;
}
