/*
 * table_reader.h — streaming reader of the tables bureaus keep in Excel:
 * CSV (UTF-8, UTF-8 with BOM, or GB18030) and XLSX (first worksheet).
 *
 * Rows are handed out one at a time and memory does not grow with the file:
 * the reader holds one input block (64 KiB), one row, and for XLSX the
 * shared-string table, which spills to an unlinked temporary file once it
 * passes SS_TABLE_SST_MEMORY bytes.  Hard limits protect memory against a
 * hostile or broken file: a cell longer than SS_TABLE_MAX_CELL bytes or a
 * row of more than SS_TABLE_MAX_CELLS cells is an error naming the line.
 *
 * Cell values are returned as they are in the file, spaces included
 * (validation is the server's job), with three conveniences:
 *   - the UTF-8 byte order mark is not part of the first cell;
 *   - a CSV cell of the exact form ="..." (the Excel convention for "keep
 *     this as text", which ss_table_writer uses for code columns) is
 *     unwrapped to its inner text, with "" read as ";
 *   - rows in which every cell is empty (blank lines, ",,," lines, XLSX rows
 *     that hold only formatting) are skipped.
 *
 * XLSX cells: shared and inline strings are returned as text (rich-text runs
 * concatenated, phonetic guides dropped, _xHHHH_ escapes decoded); a formula
 * returns its cached result; booleans are "TRUE" / "FALSE"; numbers are the
 * raw text of <v> exactly as stored ("9.1101E+17" stays so: the server is the
 * one to recognise a credit code mangled by Excel), and dates, which Excel
 * stores as serial day numbers, come back as that raw number ("45292").
 * Missing cells are empty strings; a row has as many cells as its last
 * non-empty cell's column.
 */
#ifndef TABLE_READER_H
#define TABLE_READER_H

#include <stddef.h>
#include <stdint.h>

#define SS_TABLE_MAX_CELL (64 * 1024) /* bytes of UTF-8 in one cell */
#define SS_TABLE_MAX_CELLS 1000	      /* cells in one row */
#define SS_TABLE_SST_MEMORY (16u * 1024 * 1024)

enum ss_table_format { SS_TABLE_CSV, SS_TABLE_XLSX };
enum ss_table_encoding { SS_ENC_UTF8, SS_ENC_UTF8_BOM, SS_ENC_GB18030 };

struct ss_table_reader;

/*
 * Opens path for reading.  The format comes from the extension (.csv or
 * .xlsx, any case), else from the content (PK\x03\x04 is XLSX, anything else
 * CSV).  For CSV the encoding is detected once, from the first 1 MiB: a BOM
 * means UTF8_BOM; valid UTF-8 means UTF8; otherwise GB18030, converted to
 * UTF-8 with iconv.  A file that is pure ASCII over that window stays
 * undecided until its first non-ASCII byte, where the same test is made on
 * the next 1 MiB.  Bytes that later turn out invalid in the detected encoding
 * are an error naming the line.
 *
 * Returns the reader (free with ss_table_reader_free), or NULL with a message
 * in err_en and err_zh (either may be NULL).
 */
struct ss_table_reader *ss_table_reader_open(const char *path, char *err_en, size_t en_len,
					     char *err_zh, size_t zh_len);

/*
 * Reads the next row.  *cells is an array of *ncells NUL-terminated UTF-8
 * strings owned by the reader, valid until the next call or the free; *line
 * is the 1-based line of the row (CSV: the physical line where the record
 * starts; XLSX: the row's r attribute).  Returns 1 for a row, 0 at the end,
 * or a negative ss_err: SS_ERR_BAD_REQUEST for a malformed file, SS_ERR_IO,
 * SS_ERR_NOMEM; the message, naming the line, is ss_table_reader_error().
 * After an error every further call returns the same error.
 */
int ss_table_reader_next(struct ss_table_reader *r, char ***cells, size_t *ncells, long *line);

/* The detected encoding (always SS_ENC_UTF8 for XLSX). */
enum ss_table_encoding ss_table_reader_encoding(const struct ss_table_reader *r);

enum ss_table_format ss_table_reader_format(const struct ss_table_reader *r);

/*
 * Input consumed so far and its total, in bytes, for a progress bar: for CSV
 * the file; for XLSX the worksheet's uncompressed XML.
 */
void ss_table_reader_progress(const struct ss_table_reader *r, uint64_t *done, uint64_t *total);

/* The last error message, English (zh == 0) or Chinese; "" if none.  Owned by r. */
const char *ss_table_reader_error(const struct ss_table_reader *r, int zh);

/* Closes the file and frees r.  Accepts NULL. */
void ss_table_reader_free(struct ss_table_reader *r);

/*
 * Internal to table_reader.c and xlsx_reader.c; not for other callers.
 *
 * ss_table_row collects one row: cells are appended as byte strings into one
 * buffer and ss_table_row_finish() builds the pointer array handed out.
 */
struct ss_table_row {
	char *buf; /* cell bytes, each NUL-terminated */
	size_t len, cap;
	size_t *offs; /* start of each cell in buf */
	char **ptrs;  /* built by ss_table_row_finish */
	size_t n, ncap;
};

void ss_table_row_clear(struct ss_table_row *row);
/* Appends a cell; pads with empty cells when col is past the end.  0 or SS_ERR_NOMEM. */
int ss_table_row_put(struct ss_table_row *row, size_t col, const char *s, size_t len);
int ss_table_row_finish(struct ss_table_row *row);
/* 1 if every cell is empty. */
int ss_table_row_blank(const struct ss_table_row *row);
void ss_table_row_release(struct ss_table_row *row);

struct ss_xlsx;
struct ss_xlsx *ss_xlsx_open(const char *path, char *en, size_t en_len, char *zh, size_t zh_len);
/* Like ss_table_reader_next; fills row; messages go to en/zh. */
int ss_xlsx_next(struct ss_xlsx *x, struct ss_table_row *row, long *line, char *en, size_t en_len,
		 char *zh, size_t zh_len);
void ss_xlsx_progress(const struct ss_xlsx *x, uint64_t *done, uint64_t *total);
void ss_xlsx_free(struct ss_xlsx *x);
/* Test hook: the shared-string bytes kept in memory before spilling to a file. */
void ss_xlsx_set_sst_memory(size_t bytes);

#endif
