/*
 * import_idset.h — the record ids seen so far in an import, to find
 * repeated ones as rows arrive.
 *
 * A keyed 64-bit SipHash (crypto_shorthash) of each id and the line it was
 * first seen on, in one open-addressing table at most 70 % full.  Two
 * different ids colliding in 64 bits (about 1 in 10^6 for ten million rows)
 * would be reported as a repeat naming both lines, never silently accepted.
 * Not thread-safe: one thread at a time.
 */
#ifndef SS_IMPORT_IDSET_H
#define SS_IMPORT_IDSET_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

struct ss_idset_slot {
	uint64_t hash; /* 0 = empty */
	uint64_t line;
};

struct ss_idset {
	struct ss_idset_slot *slot;
	size_t cap, n;
	unsigned char key[crypto_shorthash_KEYBYTES];
};

/* Empties s and draws a fresh key; allocates nothing yet. */
void ss_idset_init(struct ss_idset *s);

/* Frees the table (s itself belongs to the caller); s may be all zero. */
void ss_idset_clear(struct ss_idset *s);

/* The keyed hash of the id of len bytes, as ss_idset_add_hash takes it (never 0). */
uint64_t ss_idset_hash(const struct ss_idset *s, const char *id, size_t len);

/*
 * Asks the processor to fetch the slot where h would be probed, so that the
 * caller's work until ss_idset_add_hash overlaps the cache miss.  A hint
 * only: harmless if the table grows meanwhile.
 */
void ss_idset_prefetch(const struct ss_idset *s, uint64_t h);

/* ss_idset_add for an id whose hash (ss_idset_hash) is h. */
int ss_idset_add_hash(struct ss_idset *s, uint64_t h, uint64_t line, uint64_t *first_line);

/*
 * Adds the id of len bytes, seen on line.  Returns 0 if it is new, 1 if it
 * was seen before (*first_line: where), or SS_ERR_NOMEM.
 */
int ss_idset_add(struct ss_idset *s, const char *id, size_t len, uint64_t line,
		 uint64_t *first_line);

#endif
