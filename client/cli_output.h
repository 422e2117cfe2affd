/*
 * cli_output.h — text and JSON output of the shuangsui client.
 *
 * Text for people: aligned tables and "label: value" lines, padded by
 * display width so that Chinese columns line up.  Every string that came
 * from the server is printed with control characters replaced, so a hostile
 * name cannot drive the user's terminal.
 */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Formats a Unix time in milliseconds as local ISO 8601 with the UTC
 * offset, e.g. "2025-03-01T09:30:00+08:00" (with_ms adds ".123").
 * Returns buf.
 */
const char *cli_time_local(int64_t unix_ms, int with_ms, char *buf, size_t len);

/* Number of terminal columns s takes (its byte length if not valid in the locale). */
size_t cli_display_width(const char *s);

/* Writes s to f with control characters shown as '?' and pads to width columns. */
void cli_print_padded(FILE *f, const char *s, size_t width);

/* Prints "label:  value" with labels padded to label_width columns. */
void cli_print_field(const char *label, size_t label_width, const char *value);

/* Prints o on stdout followed by a newline, and drops the caller's reference. */
void cli_json_emit(struct json_object *o);

/* json_object_new_string(s), with NULL as "". */
struct json_object *cli_json_str(const char *s);

/* A table of text cells printed with aligned columns. */
struct cli_table;

/* Creates a table with the given (translated) column headings; NULL if out of memory. */
struct cli_table *cli_table_new(size_t ncols, const char *const *headings);
/* Appends a row of ncols cells (copied).  Returns 0 or SS_ERR_NOMEM. */
int cli_table_add(struct cli_table *t, const char *const *cells);
/* Prints the headings and rows on stdout; the last column is not padded. */
void cli_table_print(const struct cli_table *t);
/* Frees t; NULL is accepted. */
void cli_table_free(struct cli_table *t);

#endif
