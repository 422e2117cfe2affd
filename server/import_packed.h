/*
 * import_packed.h — the framing of ImportChunk.packed_rows
 * (docs/protocol.md §7.12): for each row, in order, a uvarint line, a
 * uvarint cell count, then each cell as a uvarint byte length followed by
 * that many bytes.  Sans-I/O: bytes in, positions out; nothing allocated.
 */
#ifndef SS_IMPORT_PACKED_H
#define SS_IMPORT_PACKED_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads a row's line and cell count at *p (before end) and advances *p; a
 * count beyond the bytes left cannot be whole.  Returns 0 or
 * SS_ERR_BAD_REQUEST.
 */
int ss_packed_row_head(const uint8_t **p, const uint8_t *end, uint64_t *line, size_t *ncells);

/*
 * Reads one cell at *p (before end) and advances *p past it: *cell points
 * at its bytes in the field (not NUL-terminated), *len counts them.
 * Returns 0 or SS_ERR_BAD_REQUEST.
 */
int ss_packed_cell(const uint8_t **p, const uint8_t *end, const uint8_t **cell, size_t *len);

/*
 * Counts the rows and cells of the len bytes at data, checking only their
 * framing (they must end with a whole row).  Returns 0 or
 * SS_ERR_BAD_REQUEST.
 */
int ss_packed_count(const uint8_t *data, size_t len, size_t *rows, size_t *cells);

#endif
