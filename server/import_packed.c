/*
 * import_packed.c — decoding the framing of ImportChunk.packed_rows.
 *
 * One bytes field instead of a message per row and a string per cell: the
 * chunk is unpacked, hashed and freed as one block on the loop thread, and
 * its cells are read in place by the validating thread.
 */
#include "import_packed.h"

#include "ss_error.h"

/* Reads a protobuf base-128 varint (at most 10 bytes) at *p, before end; advances *p. */
static int ss_packed_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift;

	for (shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80) {
			*v = x;
			return 0;
		}
	}
	return SS_ERR_BAD_REQUEST;
}

int ss_packed_row_head(const uint8_t **p, const uint8_t *end, uint64_t *line, size_t *ncells)
{
	uint64_t n;

	if (ss_packed_uvarint(p, end, line) != 0 || ss_packed_uvarint(p, end, &n) != 0 ||
	    n > (uint64_t)(end - *p))
		return SS_ERR_BAD_REQUEST;
	*ncells = (size_t)n;
	return 0;
}

int ss_packed_cell(const uint8_t **p, const uint8_t *end, const uint8_t **cell, size_t *len)
{
	uint64_t n;

	if (ss_packed_uvarint(p, end, &n) != 0 || n > (uint64_t)(end - *p))
		return SS_ERR_BAD_REQUEST;
	*cell = *p;
	*len = (size_t)n;
	*p += n;
	return 0;
}

int ss_packed_count(const uint8_t *data, size_t len, size_t *rows, size_t *cells)
{
	const uint8_t *p = data, *end = data + len, *cell;
	size_t n, i, clen;
	uint64_t line;

	*rows = *cells = 0;
	while (p < end) {
		if (ss_packed_row_head(&p, end, &line, &n) != 0)
			return SS_ERR_BAD_REQUEST;
		for (i = 0; i < n; i++)
			if (ss_packed_cell(&p, end, &cell, &clen) != 0)
				return SS_ERR_BAD_REQUEST;
		(*rows)++;
		*cells += n;
	}
	return 0;
}
