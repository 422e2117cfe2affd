/*
 * table_writer.h — writes a table as CSV or XLSX for people to open in Excel.
 *
 * CSV: UTF-8 with a byte order mark (so that Excel on a Chinese Windows does
 * not read it as GBK), CRLF line ends, RFC 4180 quoting.  Excel turns long
 * digit strings into numbers (a credit code becomes 9.1101E+17, a leading
 * zero disappears); a column flagged in text_columns is therefore written
 * as the formula ="..." — Excel's convention for "this is text" — which Excel
 * displays as the plain value and ss_table_reader unwraps back.  The same
 * wrapping is applied to any cell starting with = + - @ tab or CR, so that a
 * hostile name cannot run as a formula when the file is opened (CSV
 * injection); a cell that cannot be wrapped (over 255 bytes, or containing a
 * line break) is prefixed with ' instead, which Excel hides.
 *
 * XLSX: one worksheet, the header row bold, every cell a string cell (codes
 * stay text); written with libxlsxwriter in constant-memory mode, so memory
 * does not grow with the number of rows (at most 1,048,576 rows, Excel's
 * limit).
 *
 * Both are written to a temporary file beside path and renamed over path
 * only by a successful ss_table_writer_close(): a failed export never leaves
 * a half-written file.
 */
#ifndef TABLE_WRITER_H
#define TABLE_WRITER_H

#include <stddef.h>

#include "table_reader.h"

struct ss_table_writer;

/*
 * Starts a table at path with ncols columns and writes the header row.
 * text_columns is NULL or an array of ncols flags: nonzero marks a column of
 * codes (统一社会信用代码, ID numbers, certificate numbers) to keep as text in
 * CSV.  Returns the writer, or NULL with a message in err.
 */
struct ss_table_writer *ss_table_writer_open(const char *path, enum ss_table_format fmt,
					     const char *const *header, size_t ncols,
					     const int *text_columns, char *err, size_t errlen);

/*
 * Writes one row of ncols cells (NULL is an empty cell).  Returns 0,
 * SS_ERR_IO, or SS_ERR_BAD_REQUEST (XLSX: a cell over 32,767 characters or
 * too many rows).  After an error the writer only accepts close.
 */
int ss_table_writer_row(struct ss_table_writer *w, const char *const *cells);

/*
 * Finishes the file, renames it into place, and frees w (accepts NULL).
 * Returns 0, or SS_ERR_IO (also when an earlier row failed), in which case
 * path is left untouched.
 */
int ss_table_writer_close(struct ss_table_writer *w);

/* Gives up on the table: the temporary file is removed, path is left untouched, w is freed. */
void ss_table_writer_abort(struct ss_table_writer *w);

#endif
