/*
 * import_idset.c — the set of record ids seen in an import.
 */
#include "import_idset.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ss_error.h"

/* Tables from this size on ask for transparent huge pages. */
#define SS_IDSET_HUGE (2u << 20)

void ss_idset_init(struct ss_idset *s)
{
	memset(s, 0, sizeof(*s));
	crypto_shorthash_keygen(s->key);
}

void ss_idset_clear(struct ss_idset *s)
{
	free(s->slot);
	s->slot = NULL;
	s->cap = s->n = 0;
}

/*
 * A zeroed table of cap slots.  Each probe of a million-row import lands
 * on a random page: with 2 MiB pages (where the kernel grants them on
 * request) the table needs a few TLB entries instead of thousands.
 */
static struct ss_idset_slot *ss_idset_table(size_t cap)
{
	size_t bytes = cap * sizeof(struct ss_idset_slot);
	void *t = NULL;

	if (bytes < SS_IDSET_HUGE)
		return calloc(cap, sizeof(struct ss_idset_slot));
	if (posix_memalign(&t, SS_IDSET_HUGE, bytes) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(t, bytes, MADV_HUGEPAGE);
#endif
	memset(t, 0, bytes);
	return t;
}

static int ss_idset_grow(struct ss_idset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 65536, i;
	struct ss_idset_slot *t = ss_idset_table(ncap);

	if (t == NULL)
		return SS_ERR_NOMEM;
	for (i = 0; i < s->cap; i++) {
		size_t j;

		if (s->slot[i].hash == 0)
			continue;
		for (j = s->slot[i].hash & (ncap - 1); t[j].hash != 0; j = (j + 1) & (ncap - 1))
			;
		t[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = t;
	s->cap = ncap;
	return 0;
}

uint64_t ss_idset_hash(const struct ss_idset *s, const char *id, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)id, len, s->key);
	memcpy(&h, out, sizeof(h));
	return h != 0 ? h : 1; /* 0 marks an empty slot */
}

void ss_idset_prefetch(const struct ss_idset *s, uint64_t h)
{
	if (s->cap > 0)
		__builtin_prefetch(&s->slot[h & (s->cap - 1)], 1);
}

int ss_idset_add_hash(struct ss_idset *s, uint64_t h, uint64_t line, uint64_t *first_line)
{
	size_t j;

	if ((s->n + 1) * 10 > s->cap * 7 && ss_idset_grow(s) != 0)
		return SS_ERR_NOMEM;
	/* The hash and its line share a slot: one cache miss a probe. */
	for (j = h & (s->cap - 1); s->slot[j].hash != 0; j = (j + 1) & (s->cap - 1))
		if (s->slot[j].hash == h) {
			*first_line = s->slot[j].line;
			return 1;
		}
	s->slot[j].hash = h;
	s->slot[j].line = line;
	s->n++;
	return 0;
}

int ss_idset_add(struct ss_idset *s, const char *id, size_t len, uint64_t line,
		 uint64_t *first_line)
{
	return ss_idset_add_hash(s, ss_idset_hash(s, id, len), line, first_line);
}
