/*
 * table_writer.c — CSV and XLSX export (see table_writer.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "ss_error.h"
#include "table_writer.h"

#define XLSX_MAX_ROWS 1048576u
/* Excel refuses a string literal longer than this inside a formula. */
#define FORMULA_STR_MAX 255

struct ss_table_writer {
	enum ss_table_format fmt;
	size_t ncols;
	int *text; /* ncols flags */
	char *path, *tmp;
	int err;
	/* CSV */
	FILE *f;
	/* XLSX */
	lxw_workbook *wb;
	lxw_worksheet *ws;
	lxw_format *bold;
	lxw_row_t row;
};

/* CSV. */

static int needs_quotes(const char *s)
{
	size_t n = strlen(s);

	return strpbrk(s, ",\"\r\n") != NULL ||
	       (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'));
}

/* Writes s as one RFC 4180 field. */
static void csv_field(FILE *f, const char *s)
{
	if (!needs_quotes(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Would Excel take this cell for a formula? (OWASP's CSV injection list.) */
static int formula_trigger(const char *s)
{
	return s[0] && strchr("=+-@\t\r", s[0]) != NULL;
}

static int csv_cell(FILE *f, const char *s, int text)
{
	size_t n = strlen(s), i, o = 0;
	char *formula;

	if (n == 0 || !(text || formula_trigger(s))) {
		csv_field(f, s);
		return 0;
	}
	if (n > FORMULA_STR_MAX || strpbrk(s, "\r\n")) {
		if (!formula_trigger(s)) {
			csv_field(f, s);
			return 0;
		}
		/* Excel hides a leading ' and shows the rest as text. */
		formula = malloc(n + 2);
		if (formula == NULL)
			return SS_ERR_NOMEM;
		formula[0] = '\'';
		memcpy(formula + 1, s, n + 1);
		csv_field(f, formula);
		free(formula);
		return 0;
	}
	/* ="..." with " doubled inside, as in any Excel string literal. */
	formula = malloc(2 * n + 4);
	if (formula == NULL)
		return SS_ERR_NOMEM;
	formula[o++] = '=';
	formula[o++] = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			formula[o++] = '"';
		formula[o++] = s[i];
	}
	formula[o++] = '"';
	formula[o] = '\0';
	csv_field(f, formula);
	free(formula);
	return 0;
}

static int csv_row(struct ss_table_writer *w, const char *const *cells, int header)
{
	size_t i;
	int rc;

	for (i = 0; i < w->ncols; i++) {
		const char *s = cells[i] ? cells[i] : "";

		if (i)
			fputc(',', w->f);
		if (header)
			csv_field(w->f, s);
		else if ((rc = csv_cell(w->f, s, w->text[i])) < 0)
			return rc;
	}
	fputs("\r\n", w->f);
	return ferror(w->f) ? SS_ERR_IO : 0;
}

/* XLSX. */

static int xlsx_row(struct ss_table_writer *w, const char *const *cells, lxw_format *fmt)
{
	size_t i;

	if (w->row >= XLSX_MAX_ROWS)
		return SS_ERR_BAD_REQUEST;
	for (i = 0; i < w->ncols; i++) {
		const char *s = cells[i] ? cells[i] : "";
		lxw_error e;

		if (s[0] == '\0')
			continue;
		e = worksheet_write_string(w->ws, w->row, (lxw_col_t)i, s, fmt);
		if (e == LXW_ERROR_MAX_STRING_LENGTH_EXCEEDED)
			return SS_ERR_BAD_REQUEST;
		if (e != LXW_NO_ERROR)
			return SS_ERR_IO;
	}
	w->row++;
	return 0;
}

/* Opening and closing. */

static void writer_free(struct ss_table_writer *w)
{
	if (w->f)
		fclose(w->f);
	if (w->tmp)
		unlink(w->tmp);
	free(w->text);
	free(w->path);
	free(w->tmp);
	free(w);
}

/* Creates the temporary file beside path, with the permissions a new file would get. */
static int make_tmp(struct ss_table_writer *w)
{
	size_t n = strlen(w->path);
	mode_t mask;
	int fd;

	w->tmp = malloc(n + 16);
	if (w->tmp == NULL)
		return -1;
	snprintf(w->tmp, n + 16, "%s.part-XXXXXX", w->path);
	fd = mkstemp(w->tmp);
	if (fd < 0) {
		free(w->tmp);
		w->tmp = NULL;
		return -1;
	}
	mask = umask(022);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0 || (w->f = fdopen(fd, "wb")) == NULL) {
		close(fd);
		return -1;
	}
	return 0;
}

struct ss_table_writer *ss_table_writer_open(const char *path, enum ss_table_format fmt,
					     const char *const *header, size_t ncols,
					     const int *text_columns, char *err, size_t errlen)
{
	struct ss_table_writer *w;
	size_t i;

	if (err && errlen)
		err[0] = '\0';
	if (ncols == 0 || ncols > SS_TABLE_MAX_CELLS || header == NULL) {
		snprintf(err, errlen, "a table needs 1 to %d columns", SS_TABLE_MAX_CELLS);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->text = calloc(ncols, sizeof(int))) == NULL ||
	    (w->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		if (w)
			writer_free(w);
		return NULL;
	}
	w->fmt = fmt;
	w->ncols = ncols;
	for (i = 0; text_columns && i < ncols; i++)
		w->text[i] = text_columns[i] != 0;
	if (make_tmp(w) != 0) {
		snprintf(err, errlen, "cannot create a file beside %s: %s", path, strerror(errno));
		writer_free(w);
		return NULL;
	}
	if (fmt == SS_TABLE_CSV) {
		fputs("\xef\xbb\xbf", w->f);
		if (csv_row(w, header, 1) != 0) {
			snprintf(err, errlen, "cannot write %s", w->tmp);
			writer_free(w);
			return NULL;
		}
		return w;
	}
	/* libxlsxwriter writes the file itself, at workbook_close(). */
	fclose(w->f);
	w->f = NULL;
	{
		lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .use_zip64 = LXW_TRUE};

		w->wb = workbook_new_opt(w->tmp, &opt);
	}
	if (w->wb == NULL || (w->ws = workbook_add_worksheet(w->wb, NULL)) == NULL ||
	    (w->bold = workbook_add_format(w->wb)) == NULL) {
		snprintf(err, errlen, "cannot start the workbook");
		if (w->wb)
			workbook_close(w->wb);
		writer_free(w);
		return NULL;
	}
	format_set_bold(w->bold);
	worksheet_set_column(w->ws, 0, (lxw_col_t)(ncols - 1), 20, NULL);
	if (xlsx_row(w, header, w->bold) != 0) {
		snprintf(err, errlen, "cannot write the header row");
		workbook_close(w->wb);
		writer_free(w);
		return NULL;
	}
	return w;
}

int ss_table_writer_row(struct ss_table_writer *w, const char *const *cells)
{
	if (w->err)
		return w->err;
	w->err = w->fmt == SS_TABLE_CSV ? csv_row(w, cells, 0) : xlsx_row(w, cells, NULL);
	return w->err;
}

int ss_table_writer_close(struct ss_table_writer *w)
{
	int rc = 0;

	if (w == NULL)
		return 0;
	if (w->fmt == SS_TABLE_CSV) {
		if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
			rc = SS_ERR_IO;
		if (fclose(w->f) != 0)
			rc = SS_ERR_IO;
		w->f = NULL;
	} else if (workbook_close(w->wb) != LXW_NO_ERROR) {
		rc = SS_ERR_IO;
	}
	if (w->err)
		rc = SS_ERR_IO;
	if (rc == 0 && rename(w->tmp, w->path) != 0)
		rc = SS_ERR_IO;
	if (rc == 0) {
		free(w->tmp);
		w->tmp = NULL; /* renamed: nothing to unlink */
	}
	writer_free(w);
	return rc;
}

void ss_table_writer_abort(struct ss_table_writer *w)
{
	if (w == NULL)
		return;
	/* Marked failed: close finishes the temporary file and removes it. */
	if (w->err == 0)
		w->err = SS_ERR_IO;
	(void)ss_table_writer_close(w);
}
