/*
 * ticket.h — consistent-sampling tickets (抽签号) for the draw (抽取), issue 5.
 *
 * The draw orders a population by Rivest's consistent sampling: the
 * algorithm of the public `consistent_sampler` Python package, first
 * generation, without replacement.  An auditor with that package (or with
 * tests/ticket_crosscheck.py) reproduces every ticket and every selection.
 *
 * Definitions, as in the package (all strings are UTF-8 bytes):
 *
 *   sha256_hex(s)     the 64 lowercase hex digits of SHA-256(s).
 *   sha256_uniform(s) let N = int(sha256_hex(s), 16), 0 <= N < 2^256;
 *                     let D = the decimal digits of N, zero-padded ON THE
 *                     LEFT to at least 64 digits (Python "{:064d}"), so D
 *                     has between 64 and 78 digits;
 *                     the result is "0." followed by D reversed.
 *                     Reversal happens after padding, so the padding zeros
 *                     (only present when N < 10^63) end up as TRAILING
 *                     zeros, and a ticket never has fewer than 64 digits
 *                     after the point.  Equivalently: the digits of N from
 *                     the least significant up to the most significant
 *                     non-zero one, followed by zeros up to 64 digits.
 *   ticket(seed, id)  sha256_uniform(sha256_hex(seed) + id), the package's
 *                     first_ticket(id, seed).ticket_number.
 *
 * Order: by ticket compared as byte strings (strcmp), then by id (strcmp,
 * which on UTF-8 is Unicode code-point order, as Python compares str).
 * A draw of k takes the first k ids of that order.  Ids must be distinct,
 * as the package requires; duplicates are not detected here.
 *
 * Known values: sha256_uniform("abc") =
 * 0.56998071861792858926477341561059638840106636224182943832566300809078486324348
 * and ticket("01382438112797316654", "AB-130") =
 * 0.26299714122838008416507544297546663599715395525154425586041245287750224561854.
 *
 * Pure functions: no I/O (an OpenSSL failure is logged).  ss_ticket_order()
 * and ss_ticket_select() allocate temporary memory and free it before they
 * return; nothing returned needs freeing.
 */
#ifndef SS_TICKET_H
#define SS_TICKET_H

#include <stddef.h>

/* "0." + up to 78 digits + NUL, with room. */
#define SS_TICKET_MAX 96
/* The number of digits after "0." is at least this and at most SS_TICKET_DIGITS_MAX. */
#define SS_TICKET_DIGITS_MIN 64
#define SS_TICKET_DIGITS_MAX 78

/* Writes the 64 lowercase hex digits of SHA-256 of the len bytes at data, and a NUL, into hex. */
void ss_sha256_hex(const void *data, size_t len, char hex[65]);

/*
 * Writes sha256_uniform(digest) — "0." and the reversed, left-padded decimal
 * digits of the 256-bit big-endian number digest (see the top of this
 * file) — NUL-terminated into out.  This is the conversion step on its own,
 * so that the padding rule can be checked on numbers no hash will ever
 * produce.  Returns 0, or SS_ERR_BAD_REQUEST if digest or out is NULL.
 */
int ss_uniform_from_digest(const unsigned char digest[32], char out[SS_TICKET_MAX]);

/*
 * Writes sha256_uniform() of the len bytes at s (see the top of this file),
 * NUL-terminated, into out.  s may be NULL only when len is 0.  Returns 0,
 * or SS_ERR_BAD_REQUEST if out is NULL or s is NULL with len > 0.
 */
int ss_sha256_uniform(const char *s, size_t len, char out[SS_TICKET_MAX]);

/*
 * Writes the ticket of id under seed, sha256_uniform(sha256_hex(seed) + id),
 * NUL-terminated, into out.  seed and id are NUL-terminated UTF-8.  Returns
 * 0, or SS_ERR_BAD_REQUEST if an argument is NULL.
 */
int ss_ticket(const char *seed, const char *id, char out[SS_TICKET_MAX]);

/* One id with its ticket.  id is borrowed: it belongs to the caller and must outlive this. */
struct ss_ticketed {
	const char *id;
	char ticket[SS_TICKET_MAX];
};

/*
 * The draw order: negative, zero or positive as a comes before, equals or
 * comes after b — by ticket (strcmp), then by id (strcmp).
 */
int ss_ticketed_cmp(const struct ss_ticketed *a, const struct ss_ticketed *b);

/*
 * Computes the ticket of items[i].id under seed for each of the n items and
 * sorts items into the draw order.  items belongs to the caller, as do the
 * ids it points to (borrowed, not copied).  A temporary index of 16 bytes
 * per item is allocated and freed.  Returns 0, SS_ERR_BAD_REQUEST if seed is
 * NULL, items is NULL with n > 0, or an id is NULL, SS_ERR_NOMEM, or
 * SS_ERR_INTERNAL if OpenSSL's SHA-256 fails (logged); on error the order
 * of items is unspecified.
 */
int ss_ticket_order(const char *seed, struct ss_ticketed *items, size_t n);

/*
 * Draws k of the n ids (a caller-owned array of NUL-terminated UTF-8 ids,
 * assumed distinct) under seed: writes the first min(k, n) of them in the
 * draw order, with their tickets, into selected, a caller-provided array of
 * at least min(k, n) entries (may be NULL when that is 0).  The entries
 * borrow their ids from ids.  For k < n/8 a bounded max-heap of k 16-byte
 * records is used; otherwise all n tickets are computed into a temporary
 * array (about 120 bytes per id) and sorted.  Both give the same result, and
 * free what they allocate.  Returns the number selected, min(k, n), or
 * SS_ERR_BAD_REQUEST (seed NULL, ids or selected NULL when needed, an id
 * NULL), SS_ERR_NOMEM or SS_ERR_INTERNAL.
 */
long ss_ticket_select(const char *seed, const char *const *ids, size_t n, size_t k,
		      struct ss_ticketed *selected);

#endif
