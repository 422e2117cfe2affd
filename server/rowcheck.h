/*
 * rowcheck.h — validation and normalization of directory values, one cell
 * at a time, from the column descriptors of common/dirschema.h.
 */
#ifndef SS_ROWCHECK_H
#define SS_ROWCHECK_H

#include <stddef.h>

#include "dirschema.h"

struct ss_divisions;

struct ss_cell_error {
	char en[320];
	char zh[320];
};

/*
 * Validates in against column c and writes the normalized value to *out
 * (malloc'd, the caller frees; NULL for an empty optional value stored as
 * SQL NULL).  *abolished is set when a division code is abolished (still
 * accepted, flagged).  Returns 0, or SS_ERR_BAD_REQUEST with e saying what
 * is wrong in both languages, or SS_ERR_NOMEM.
 */
int ss_cell_normalize(const struct ss_column *c, const struct ss_divisions *divs, const char *in,
		      char **out, int *abolished, struct ss_cell_error *e);

/*
 * The same for a caller that owns the memory: in is in_len bytes (no NUL
 * among them, none needed after), trimmed into buf (at least in_len + 1
 * bytes) and normalized there.  *out is then NULL (SQL NULL), buf, or a
 * constant of the descriptor (a flag, an enumeration's code); never to be
 * freed.  *out_len is its length.  in is left as it was, for error reports.
 * Returns 0 or SS_ERR_BAD_REQUEST with e filled; allocates nothing.
 */
int ss_cell_normalize_into(const struct ss_column *c, const struct ss_divisions *divs,
			   const char *in, size_t in_len, char *buf, const char **out,
			   size_t *out_len, int *abolished, struct ss_cell_error *e);

/*
 * The record id of normalized values: the key column, or "key|key2".
 * Returns a malloc'd string or NULL.
 */
char *ss_record_id(const struct ss_dirschema *s, char *const *values);

/* SHA-256 over the normalized values (each as a 4-byte length, or 0xffffffff for NULL, then bytes). */
void ss_record_digest(const struct ss_dirschema *s, char *const *values, unsigned char md[32]);

/* The same with each value's length given (lens[i]; lens NULL: measured). */
void ss_record_digest_len(const struct ss_dirschema *s, const char *const *values,
			  const size_t *lens, unsigned char md[32]);

/*
 * Appends one COPY text-format line (tab-separated, NULL as \N, backslash
 * escapes) for the given fields to *buf (grown with realloc).  Returns 0 or
 * SS_ERR_NOMEM.
 */
int ss_copy_append(char **buf, size_t *len, size_t *cap, const char *const *fields, size_t n);

/* The same with each field's length given (lens[i] for a non-NULL field; lens NULL: measured). */
int ss_copy_append_len(char **buf, size_t *len, size_t *cap, const char *const *fields,
		       const size_t *lens, size_t n);

#endif
