/*
 * draw_int.h — internals shared by draw.c and draw_match.c (and the tests
 * that compare the fast paths with ticket.c); not part of the public API.
 */
#ifndef SS_DRAW_INT_H
#define SS_DRAW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "draw.h"
#include "ticket.h"

/* strcmp on two const char * held in an array (qsort). */
int ss_strptr_cmp(const void *a, const void *b);
/* Order of conflicts: inspector, then object (strcmp). */
int ss_conflict_cmp(const struct ss_conflict *a, const struct ss_conflict *b);

/*
 * ss_ticket_select's result, computed faster (see draw_match.c): the first
 * min(k, n) ids of the draw order under seed, with tickets, into selected.
 * Returns the number selected or a negative ss_err.
 */
long ss_draw_select(const char *seed, const char *const *ids, size_t n, size_t k,
		    struct ss_ticketed *selected);

/* Fills d->matches from d's picks (draw.c has set everything else). */
int ss_draw_match(struct ss_record *d, const struct ss_inspector *pool, size_t n_pool,
		  const struct ss_conflict *conflicts, size_t n_conflicts);

#endif
