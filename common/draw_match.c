/*
 * draw_match.c — the fast ticket order behind the selection, the matching
 * of inspectors (检查人员匹配) and recusals (回避), docs/draw-spec.md §4-§6.
 *
 * The order is ticket.h's, exactly; only the arithmetic is cheaper:
 *
 *  - A ticket hashes sha256_hex(seed) || id.  The 64 hex digits are one
 *    SHA-256 block, absorbed once per seed; an id of up to 55 bytes then
 *    needs one more compression, done here with SHA256_Transform on a
 *    prepared padded block (no EVP context copy per id).
 *  - The first 9 digits of a ticket are the decimal digits of N mod 10^9,
 *    least significant first (ticket.h).  Comparing those, reversed, as an
 *    integer decides the order unless they are equal; only then (about once
 *    per 10^9 comparisons) are the full tickets and then the ids compared,
 *    as ticket.h says.
 *  - Keys are uniform, so the k first of n (k at most n / 8) are found by
 *    keeping the ids whose key is below a threshold that a few more than k
 *    are expected to pass, and sorting those; if fewer pass, a heap of k
 *    over all n decides, as it does for larger k.
 *
 * test_draw checks this order against ss_ticket_select and against
 * tests/ticket_crosscheck.py.  SHA256_Transform is deprecated in OpenSSL 3
 * but remains the only way to reach its SHA-NI block function without the
 * EVP context copy, which costs more than the compression it wraps.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "draw_int.h"
#include "rectext.h"
#include "ss_error.h"

#define CHUNK 1000000000u /* 10^9 */

struct fast_ticket {
	SHA256_CTX base; /* has absorbed sha256_hex(seed) */
};

static void ft_init(struct fast_ticket *f, const char *seed, size_t seed_len)
{
	static const char hexdigits[] = "0123456789abcdef";
	unsigned char d[SHA256_DIGEST_LENGTH];
	char hex[64];
	int i;

	/* sha256_hex(seed), once per object: OpenSSL's SHA-NI code rather than libsodium's. */
	SHA256_Init(&f->base);
	SHA256_Update(&f->base, seed, seed_len);
	SHA256_Final(d, &f->base);
	for (i = 0; i < 32; i++) {
		hex[2 * i] = hexdigits[d[i] >> 4];
		hex[2 * i + 1] = hexdigits[d[i] & 15];
	}
	SHA256_Init(&f->base);
	SHA256_Update(&f->base, hex, 64);
}

/*
 * The last block of sha256_hex(seed) || id for an id of at most 55 bytes:
 * the id, 0x80, zeros, and the message length in bits.  It does not depend
 * on the seed, so the matching prepares it once per inspector.
 */
static void ft_block(const char *id, size_t len, unsigned char block[64])
{
	uint64_t bits = ((uint64_t)len + 64) * 8;
	int i;

	memcpy(block, id, len);
	block[len] = 0x80;
	memset(block + len + 1, 0, 55 - len);
	for (i = 0; i < 8; i++)
		block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
}

/* The SHA-256 of sha256_hex(seed) || id as eight big-endian words; block as ft_block's, or NULL. */
static void ft_words(const struct fast_ticket *f, const char *id, size_t len,
		     const unsigned char *block, uint32_t h[8])
{
	SHA256_CTX c = f->base;
	unsigned char b[64], d[32];
	int i;

	if (len <= 55) {
		if (block == NULL) {
			ft_block(id, len, b);
			block = b;
		}
		SHA256_Transform(&c, block);
		memcpy(h, c.h, 32);
		return;
	}
	SHA256_Update(&c, id, len);
	SHA256_Final(d, &c);
	for (i = 0; i < 8; i++)
		h[i] = (uint32_t)d[4 * i] << 24 | (uint32_t)d[4 * i + 1] << 16 |
		       (uint32_t)d[4 * i + 2] << 8 | d[4 * i + 3];
}

/* Entry v is v's two decimal digits swapped, as a number: 7 -> 70, 12 -> 21. */
static const uint8_t pair_reversed[100] = {
    0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 11, 21, 31, 41, 51, 61, 71, 81, 91,
    2, 12, 22, 32, 42, 52, 62, 72, 82, 92, 3, 13, 23, 33, 43, 53, 63, 73, 83, 93,
    4, 14, 24, 34, 44, 54, 64, 74, 84, 94, 5, 15, 25, 35, 45, 55, 65, 75, 85, 95,
    6, 16, 26, 36, 46, 56, 66, 76, 86, 96, 7, 17, 27, 37, 47, 57, 67, 77, 87, 97,
    8, 18, 28, 38, 48, 58, 68, 78, 88, 98, 9, 19, 29, 39, 49, 59, 69, 79, 89, 99,
};

/*
 * The first nine ticket digits as an integer: N mod 10^9 (32-bit limbs, a
 * remainder below 2^30, so 64-bit arithmetic suffices) with its nine digits
 * reversed.  Equal keys (about 10^-9 per comparison) fall back to the full
 * tickets in cand_cmp.
 */
static uint64_t ft_key(const struct fast_ticket *f, const char *id, size_t len,
		       const unsigned char *block)
{
	/* 2^(32 * (7 - i)) mod 10^9: each product is below 2^62, four of them below 2^64. */
	static const uint64_t pw[8] = {610249216, 34512896,  932542976, 768211456,
				       543950336, 709551616, 294967296, 1};
	uint32_t h[8], rem;
	uint64_t a, b;

	ft_words(f, id, len, block, h);
	a = h[0] * pw[0] + h[1] * pw[1] + h[2] * pw[2] + h[3] * pw[3];
	b = h[4] * pw[4] + h[5] * pw[5] + h[6] * pw[6] + h[7];
	rem = (uint32_t)((a % CHUNK + b % CHUNK) % CHUNK);
	/* Digits d0..d8 (least significant first) become d0 d1 … d8 read as a number. */
	return (uint64_t)pair_reversed[rem % 100] * 10000000 +
	       (uint64_t)pair_reversed[rem / 100 % 100] * 100000 +
	       (uint64_t)pair_reversed[rem / 10000 % 100] * 1000 +
	       (uint64_t)pair_reversed[rem / 1000000 % 100] * 10 + rem / 100000000;
}

static void ft_ticket(const struct fast_ticket *f, const char *id, char out[SS_TICKET_MAX])
{
	uint32_t h[8];
	unsigned char d[32];
	int i;

	ft_words(f, id, strlen(id), NULL, h);
	for (i = 0; i < 8; i++) {
		d[4 * i] = (unsigned char)(h[i] >> 24);
		d[4 * i + 1] = (unsigned char)(h[i] >> 16);
		d[4 * i + 2] = (unsigned char)(h[i] >> 8);
		d[4 * i + 3] = (unsigned char)h[i];
	}
	ss_uniform_from_digest(d, out);
}

struct cand {
	uint64_t key;
	size_t idx;
};

struct order {
	const struct fast_ticket *ft;
	const char *const *ids;
};

/* Equal keys: the full tickets, then the ids (ticket.h).  Rare, so kept out of line. */
static __attribute__((noinline)) int cand_cmp_slow(const struct order *o, const struct cand *a,
						   const struct cand *b)
{
	char ta[SS_TICKET_MAX], tb[SS_TICKET_MAX];
	int c;

	ft_ticket(o->ft, o->ids[a->idx], ta);
	ft_ticket(o->ft, o->ids[b->idx], tb);
	c = strcmp(ta, tb);
	return c != 0 ? c : strcmp(o->ids[a->idx], o->ids[b->idx]);
}

static inline int cand_cmp(const struct order *o, const struct cand *a, const struct cand *b)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return cand_cmp_slow(o, a, b);
}

/* sign 1: a max-heap; sign -1: a min-heap. */
static inline void heap_down(const struct order *o, struct cand *h, size_t n, size_t i, int sign)
{
	struct cand hole = h[i];
	size_t child;

	while ((child = 2 * i + 1) < n) {
		if (child + 1 < n && sign * cand_cmp(o, &h[child + 1], &h[child]) > 0)
			child++;
		if (sign * cand_cmp(o, &h[child], &hole) <= 0)
			break;
		h[i] = h[child];
		i = child;
	}
	h[i] = hole;
}

static inline void heap_up(const struct order *o, struct cand *h, size_t i, int sign)
{
	struct cand hole = h[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (sign * cand_cmp(o, &h[parent], &hole) >= 0)
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = hole;
}

/*
 * One half of a selection: the k (or fewer) best of ids[from..to), sorted
 * ascending into heap[0..*got).  Thread-safe: the shared state is read-only.
 */
struct select_part {
	const struct fast_ticket *ft;
	const char *const *ids;
	size_t from, to, k, got;
	struct cand *heap;
};

static int cand_key_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * The k best of ids[from..to) by a threshold (most draws): keys are
 * uniform over [0, 10^9) (nine digits of a SHA-256, reversed), so about
 * k + 4 sqrt(k) + 16 ids have a key below the threshold chosen for that
 * many, and every id above it comes after all of those.  They are
 * collected, sorted by key, equal keys by cand_cmp, and the first k kept.
 * 0, or -1 if fewer than k passed (then the heap decides; never seen in
 * practice, but the result does not depend on the threshold).
 */
static int select_by_threshold(struct select_part *p, size_t k)
{
	struct order o = {p->ft, p->ids};
	size_t m = p->to - p->from, root = 1, want, cap, got = 0, i, j, e;
	uint64_t limit;
	struct cand *c;

	while (root * root < k)
		root++;
	want = k + 4 * root + 16;
	cap = want + want / 4 + 64;
	limit = (uint64_t)((double)want / (double)m * 1e9) + 1;
	c = malloc(cap * sizeof(*c));
	if (c == NULL)
		return -1;
	for (i = p->from; i < p->to; i++) {
		uint64_t key = ft_key(p->ft, p->ids[i], strlen(p->ids[i]), NULL);

		if (key >= limit)
			continue;
		if (got == cap) {
			struct cand *more = realloc(c, 2 * cap * sizeof(*c));

			if (more == NULL) {
				free(c);
				return -1;
			}
			c = more;
			cap *= 2;
		}
		c[got].key = key;
		c[got++].idx = i;
	}
	if (got < k) {
		free(c);
		return -1;
	}
	qsort(c, got, sizeof(*c), cand_key_cmp);
	/* Equal keys (about one pair in 10^9 / got) go by the full order. */
	for (i = 0; i < got; i = e) {
		for (e = i + 1; e < got && c[e].key == c[i].key; e++)
			;
		for (j = i + 1; j < e; j++) {
			struct cand t = c[j];
			size_t h = j;

			while (h > i && cand_cmp(&o, &t, &c[h - 1]) < 0) {
				c[h] = c[h - 1];
				h--;
			}
			c[h] = t;
		}
	}
	memcpy(p->heap, c, k * sizeof(*c));
	free(c);
	p->got = k;
	return 0;
}

static void *select_part_run(void *arg)
{
	struct select_part *p = arg;
	struct order o = {p->ft, p->ids};
	struct cand *heap = p->heap, c, t;
	size_t i, used = 0, k = p->k < p->to - p->from ? p->k : p->to - p->from;

	if (k > 0 && k <= (p->to - p->from) / 8 && select_by_threshold(p, k) == 0)
		return NULL;
	for (i = p->from; i < p->to; i++) {
		c.key = ft_key(p->ft, p->ids[i], strlen(p->ids[i]), NULL);
		c.idx = i;
		if (used < k) {
			heap[used] = c;
			heap_up(&o, heap, used++, 1);
		} else if (c.key <= heap[0].key && cand_cmp(&o, &c, &heap[0]) < 0) {
			heap[0] = c;
			heap_down(&o, heap, k, 0, 1);
		}
	}
	/* Heapsort's second half leaves the heap ascending. */
	for (i = used; i > 1; i--) {
		t = heap[0];
		heap[0] = heap[i - 1];
		heap[i - 1] = t;
		heap_down(&o, heap, i - 1, 0, 1);
	}
	p->got = used;
	return NULL;
}

/* The tickets of selected[from..to). */
struct ticket_part {
	const struct fast_ticket *ft;
	struct ss_ticketed *selected;
	size_t from, to;
};

static void *ticket_part_run(void *arg)
{
	struct ticket_part *p = arg;
	size_t i;

	for (i = p->from; i < p->to; i++)
		ft_ticket(p->ft, p->selected[i].id, p->selected[i].ticket);
	return NULL;
}

#define TICKETS_SPLIT_MIN 20000

/* Large populations are split between two threads: the build machine has two cores. */
#define SELECT_SPLIT_MIN 1000000

long ss_draw_select(const char *seed, const char *const *ids, size_t n, size_t k,
		    struct ss_ticketed *selected)
{
	struct fast_ticket ft;
	struct order o = {&ft, ids};
	struct select_part part[2];
	struct cand *buf;
	pthread_t th;
	size_t i, a = 0, b = 0, parts;
	int threaded = 0;

	if (k > n)
		k = n;
	if (seed == NULL || (ids == NULL && n > 0) || (selected == NULL && k > 0) ||
	    k > (size_t)LONG_MAX)
		return SS_ERR_BAD_REQUEST;
	for (i = 0; i < n; i++)
		if (ids[i] == NULL)
			return SS_ERR_BAD_REQUEST;
	if (k == 0)
		return 0;
	parts = n >= SELECT_SPLIT_MIN && k <= n / 4 ? 2 : 1;
	buf = malloc(parts * k * sizeof(*buf));
	if (buf == NULL)
		return SS_ERR_NOMEM;
	ft_init(&ft, seed, strlen(seed));
	for (i = 0; i < parts; i++) {
		part[i].ft = &ft;
		part[i].ids = ids;
		part[i].from = i * (n / parts);
		part[i].to = i + 1 == parts ? n : (i + 1) * (n / parts);
		part[i].k = k;
		part[i].heap = buf + i * k;
	}
	if (parts == 2)
		threaded = pthread_create(&th, NULL, select_part_run, &part[1]) == 0;
	select_part_run(&part[0]);
	if (parts == 2) {
		if (threaded)
			pthread_join(th, NULL);
		else
			select_part_run(&part[1]);
	} else {
		part[1].got = 0;
		part[1].heap = buf;
	}
	/* Merge the two ascending lists: the first k are the draw. */
	for (i = 0; i < k; i++) {
		const struct cand *next;

		if (b >= part[1].got ||
		    (a < part[0].got && cand_cmp(&o, &part[0].heap[a], &part[1].heap[b]) < 0))
			next = &part[0].heap[a++];
		else
			next = &part[1].heap[b++];
		selected[i].id = ids[next->idx];
	}
	free(buf);
	/* Their tickets (a 256-bit number in decimal each), in two threads
	 * for large draws. */
	{
		struct ticket_part tp[2] = {{&ft, selected, 0, k / 2}, {&ft, selected, k / 2, k}};

		threaded = k >= TICKETS_SPLIT_MIN &&
			   pthread_create(&th, NULL, ticket_part_run, &tp[1]) == 0;
		if (!threaded)
			tp[0].to = k;
		ticket_part_run(&tp[0]);
		if (threaded)
			pthread_join(th, NULL);
	}
	return (long)k;
}

/* ---- matching ---- */

struct matcher {
	const struct ss_inspector *pool;
	size_t n_pool;
	const char **ids;	    /* pool ids, for struct order */
	struct ss_conflict *by_obj; /* conflicts sorted by object */
	size_t n_conf;
	unsigned char *excluded;
	uint32_t *load;
	struct cand *heap;
	unsigned char (*blocks)[64]; /* ft_block of each pool id (unused past 55 bytes) */
	size_t *lens;
	uint64_t cap;
	const char *seed;
};

static int conflict_obj_cmp(const void *pa, const void *pb)
{
	const struct ss_conflict *a = pa, *b = pb;
	int c = strcmp(a->object, b->object);

	return c != 0 ? c : strcmp(a->inspector, b->inspector);
}

/* The index of id in the pool (sorted by id), or -1. */
static long pool_find(const struct matcher *m, const char *id)
{
	size_t lo = 0, hi = m->n_pool, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(m->pool[mid].id, id);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void matcher_free(struct matcher *m)
{
	free(m->ids);
	free(m->by_obj);
	free(m->excluded);
	free(m->load);
	free(m->heap);
	free(m->blocks);
	free(m->lens);
}

static int matcher_init(struct matcher *m, const char *seed, uint64_t cap,
			const struct ss_inspector *pool, size_t n_pool,
			const struct ss_conflict *conflicts, size_t n_conf)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->pool = pool;
	m->n_pool = n_pool;
	m->n_conf = n_conf;
	m->cap = cap;
	m->seed = seed;
	m->ids = malloc((n_pool ? n_pool : 1) * sizeof(*m->ids));
	m->by_obj = malloc((n_conf ? n_conf : 1) * sizeof(*m->by_obj));
	m->excluded = calloc(n_pool ? n_pool : 1, 1);
	m->load = calloc(n_pool ? n_pool : 1, sizeof(*m->load));
	m->heap = malloc((n_pool ? n_pool : 1) * sizeof(*m->heap));
	m->blocks = malloc((n_pool ? n_pool : 1) * sizeof(*m->blocks));
	m->lens = malloc((n_pool ? n_pool : 1) * sizeof(*m->lens));
	if (!m->ids || !m->by_obj || !m->excluded || !m->load || !m->heap || !m->blocks ||
	    !m->lens) {
		matcher_free(m);
		return SS_ERR_NOMEM;
	}
	for (i = 0; i < n_pool; i++) {
		m->ids[i] = pool[i].id;
		m->lens[i] = strlen(pool[i].id);
		if (m->lens[i] <= 55)
			ft_block(pool[i].id, m->lens[i], m->blocks[i]);
	}
	if (n_conf > 0)
		memcpy(m->by_obj, conflicts, n_conf * sizeof(*conflicts));
	qsort(m->by_obj, n_conf, sizeof(*m->by_obj), conflict_obj_cmp);
	return 0;
}

/* Sets excluded[] to on for the inspectors declaring a conflict with object. */
static void mark_conflicts(const struct matcher *m, unsigned char *excluded, const char *object,
			   unsigned char on)
{
	size_t lo = 0, hi = m->n_conf, mid;
	long idx;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(m->by_obj[mid].object, object) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < m->n_conf && strcmp(m->by_obj[lo].object, object) == 0; lo++) {
		idx = pool_find(m, m->by_obj[lo].inspector);
		if (idx >= 0)
			excluded[idx] = on;
	}
}

typedef int (*walk_accept)(const struct matcher *m, size_t idx, void *arg);

/*
 * Walks object's candidates of one role (experts or not, no conflict with
 * object) in the order of their tickets under seed "|" object ["|expert"]
 * and takes, into out[], the first want that accept() accepts.  Returns the
 * number taken.
 */
static size_t walk(struct matcher *m, const char *object, int expert, size_t want,
		   walk_accept accept, void *arg, size_t *out)
{
	char s[64 + 1 + SS_TOKEN_MAX + sizeof("|expert")];
	struct fast_ticket ft;
	struct order o = {&ft, m->ids};
	size_t n = 0, taken = 0, i, olen = strlen(object);
	struct cand top;

	if (want == 0)
		return 0;
	memcpy(s, m->seed, 64);
	s[64] = '|';
	memcpy(s + 65, object, olen);
	if (expert)
		memcpy(s + 65 + olen, "|expert", 7);
	ft_init(&ft, s, 65 + olen + (expert ? 7 : 0));
	mark_conflicts(m, m->excluded, object, 1);
	for (i = 0; i < m->n_pool; i++) {
		if ((m->pool[i].expert != 0) != (expert != 0) || m->excluded[i])
			continue;
		m->heap[n].key = ft_key(&ft, m->ids[i], m->lens[i], m->blocks[i]);
		m->heap[n].idx = i;
		n++;
	}
	mark_conflicts(m, m->excluded, object, 0);
	for (i = n / 2; i-- > 0;)
		heap_down(&o, m->heap, n, i, -1);
	while (taken < want && n > 0) {
		top = m->heap[0];
		m->heap[0] = m->heap[--n];
		if (n > 0)
			heap_down(&o, m->heap, n, 0, -1);
		if (accept(m, top.idx, arg))
			out[taken++] = top.idx;
	}
	return taken;
}

static int accept_under_cap(const struct matcher *m, size_t idx, void *arg)
{
	return m->cap == 0 || m->load[idx] < m->cap;
}

/*
 * The matching itself is sequential (the workload counts), but each
 * object's candidate order depends only on the seed: two threads compute,
 * ahead of the walk, the first want + PREFIX_SLACK candidates of every
 * object and role.  The walk uses that prefix and falls back to the full
 * order (walk()) only when the cap skips so many that the prefix runs out.
 */
#define PREFIX_SLACK 8
#define PREFIX_THREADS_MIN 64 /* objects; fewer are not worth a thread */

struct prefix {
	struct cand *c; /* the first n candidates, in order */
	size_t n;
	int complete; /* n is all of them */
};

struct prefix_job {
	const struct matcher *m;
	const char *const *objects;
	size_t n_objects, first, step;
	size_t len[2];		 /* prefix lengths: want + PREFIX_SLACK, or 0 */
	struct prefix *pre;	 /* [2 * object + role] */
	unsigned char *excluded; /* this job's own */
	struct cand *heap;
};

static void prefix_compute(const struct prefix_job *j, const char *object, int expert,
			   struct prefix *out)
{
	const struct matcher *m = j->m;
	char s[64 + 1 + SS_TOKEN_MAX + sizeof("|expert")];
	struct fast_ticket ft;
	struct order o = {&ft, m->ids};
	size_t len = j->len[expert], used = 0, total = 0, i, olen = strlen(object);
	struct cand c, t, *heap = j->heap;

	memcpy(s, m->seed, 64);
	s[64] = '|';
	memcpy(s + 65, object, olen);
	if (expert)
		memcpy(s + 65 + olen, "|expert", 7);
	ft_init(&ft, s, 65 + olen + (expert ? 7 : 0));
	mark_conflicts(m, j->excluded, object, 1);
	for (i = 0; i < m->n_pool; i++) {
		if ((m->pool[i].expert != 0) != (expert != 0) || j->excluded[i])
			continue;
		total++;
		c.key = ft_key(&ft, m->ids[i], m->lens[i], m->blocks[i]);
		c.idx = i;
		if (used < len) {
			heap[used] = c;
			heap_up(&o, heap, used++, 1);
		} else if (c.key <= heap[0].key && cand_cmp(&o, &c, &heap[0]) < 0) {
			heap[0] = c;
			heap_down(&o, heap, len, 0, 1);
		}
	}
	mark_conflicts(m, j->excluded, object, 0);
	for (i = used; i > 1; i--) {
		t = heap[0];
		heap[0] = heap[i - 1];
		heap[i - 1] = t;
		heap_down(&o, heap, i - 1, 0, 1);
	}
	memcpy(out->c, heap, used * sizeof(*heap));
	out->n = used;
	out->complete = used == total;
}

static void *prefix_run(void *arg)
{
	struct prefix_job *j = arg;
	size_t x;
	int role;

	for (x = j->first; x < j->n_objects; x += j->step)
		for (role = 0; role <= 1; role++)
			if (j->len[role] > 0)
				prefix_compute(j, j->objects[x], role, &j->pre[2 * x + role]);
	return NULL;
}

/* Takes object's group of one role: from its prefix, or from the full order if that runs out. */
static int match_role(struct matcher *m, struct ss_arena *a, const char *object, int expert,
		      uint64_t want, const struct prefix *pre, const char ***list, size_t *n,
		      uint64_t *shortfall)
{
	size_t *taken, got = 0, i;

	*list = NULL;
	*n = 0;
	*shortfall = 0;
	if (want == 0)
		return 0;
	taken = malloc(want * sizeof(*taken));
	*list = ss_arena_calloc(a, want, sizeof(**list));
	if (taken == NULL || *list == NULL) {
		free(taken);
		return SS_ERR_NOMEM;
	}
	for (i = 0; i < pre->n && got < want; i++)
		if (accept_under_cap(m, pre->c[i].idx, NULL))
			taken[got++] = pre->c[i].idx;
	if (got < want && !pre->complete)
		got = walk(m, object, expert, want, accept_under_cap, NULL, taken);
	for (i = 0; i < got; i++) {
		(*list)[i] = m->pool[taken[i]].id;
		m->load[taken[i]]++;
	}
	*n = got;
	*shortfall = want - got;
	free(taken);
	return 0;
}

/* Computes every object's prefixes, in two threads when there are enough objects. */
static int prefixes_compute(const struct matcher *m, const struct ss_record *d,
			    const char *const *objects, struct prefix *pre, struct cand *store)
{
	struct prefix_job job[2];
	size_t x, per = 0, i;
	pthread_t th;
	int jobs = d->n_matches >= PREFIX_THREADS_MIN ? 2 : 1, started = 0, rc = 0;

	memset(job, 0, sizeof(job));
	for (i = 0; i < 2; i++) {
		job[0].len[i] =
		    (i ? d->experts_per_object : d->group_size) > 0
			? (size_t)(i ? d->experts_per_object : d->group_size) + PREFIX_SLACK
			: 0;
		per += job[0].len[i];
	}
	for (x = 0; x < d->n_matches; x++) {
		pre[2 * x].c = store + x * per;
		pre[2 * x + 1].c = store + x * per + job[0].len[0];
	}
	for (i = 0; i < (size_t)jobs; i++) {
		job[i].m = m;
		job[i].objects = objects;
		job[i].n_objects = d->n_matches;
		job[i].first = i;
		job[i].step = (size_t)jobs;
		job[i].len[0] = job[0].len[0];
		job[i].len[1] = job[0].len[1];
		job[i].pre = pre;
		job[i].excluded = calloc(m->n_pool ? m->n_pool : 1, 1);
		job[i].heap = malloc((per ? per : 1) * sizeof(struct cand));
		if (job[i].excluded == NULL || job[i].heap == NULL)
			rc = SS_ERR_NOMEM;
	}
	if (rc == 0) {
		if (jobs == 2)
			started = pthread_create(&th, NULL, prefix_run, &job[1]) == 0;
		prefix_run(&job[0]);
		if (started)
			pthread_join(th, NULL);
		else if (jobs == 2)
			prefix_run(&job[1]);
	}
	for (i = 0; i < (size_t)jobs; i++) {
		free(job[i].excluded);
		free(job[i].heap);
	}
	return rc;
}

int ss_draw_match(struct ss_record *d, const struct ss_inspector *pool, size_t n_pool,
		  const struct ss_conflict *conflicts, size_t n_conflicts)
{
	struct matcher m;
	struct prefix *pre = NULL;
	struct cand *store = NULL;
	const char **objects = NULL;
	size_t s, p, x = 0, per;
	int rc;

	d->matches =
	    ss_arena_calloc(d->arena, d->n_matches ? d->n_matches : 1, sizeof(*d->matches));
	if (d->matches == NULL)
		return SS_ERR_NOMEM;
	rc = matcher_init(&m, d->seed, d->workload_cap, pool, n_pool, conflicts, n_conflicts);
	if (rc != 0)
		return rc;
	per = (size_t)d->group_size + PREFIX_SLACK +
	      (d->experts_per_object > 0 ? (size_t)d->experts_per_object + PREFIX_SLACK : 0);
	objects = malloc((d->n_matches ? d->n_matches : 1) * sizeof(*objects));
	pre = calloc(2 * (d->n_matches ? d->n_matches : 1), sizeof(*pre));
	store = malloc((d->n_matches ? d->n_matches : 1) * per * sizeof(*store));
	if (objects == NULL || pre == NULL || store == NULL)
		rc = SS_ERR_NOMEM;
	for (s = 0; s < d->n_strata && rc == 0; s++)
		for (p = 0; p < d->strata[s].n_picks; p++)
			objects[x++] = d->strata[s].picks[p].id;
	if (rc == 0)
		rc = prefixes_compute(&m, d, objects, pre, store);
	/* Objects in draw order; per object the group, then the experts (spec §6.2). */
	for (x = 0; x < d->n_matches && rc == 0; x++) {
		struct ss_rec_match *mt = &d->matches[x];

		mt->object = objects[x];
		rc = match_role(&m, d->arena, mt->object, 0, d->group_size, &pre[2 * x],
				&mt->inspectors, &mt->n_inspectors, &mt->inspector_shortfall);
		if (rc == 0)
			rc = match_role(&m, d->arena, mt->object, 1, d->experts_per_object,
					&pre[2 * x + 1], &mt->experts, &mt->n_experts,
					&mt->expert_shortfall);
	}
	free(objects);
	free(pre);
	free(store);
	matcher_free(&m);
	return rc;
}

/* ---- recusal ---- */

static long match_find(const struct ss_record *d, const char *object)
{
	size_t i;

	for (i = 0; i < d->n_matches; i++)
		if (strcmp(d->matches[i].object, object) == 0)
			return (long)i;
	return -1;
}

/*
 * The current group of one role of match x: the drawn group with the first
 * upto prior recusals of that object and role applied (the recused one
 * removed, the replacement appended).  out has room for the group plus
 * upto.  Returns the size, or -1 if a prior names someone not in the group.
 */
static long group_current(const struct ss_record *d, size_t x, int expert,
			  const struct ss_record *const *prior, size_t upto, const char **out)
{
	const struct ss_rec_match *mt = &d->matches[x];
	size_t n = expert ? mt->n_experts : mt->n_inspectors, i, j;

	if (n > 0)
		memcpy(out, expert ? mt->experts : mt->inspectors, n * sizeof(*out));
	for (i = 0; i < upto; i++) {
		const struct ss_record *p = prior[i];

		if (strcmp(p->object, mt->object) != 0 || (p->expert_role != 0) != (expert != 0))
			continue;
		for (j = 0; j < n && strcmp(out[j], p->inspector) != 0; j++)
			;
		if (j == n)
			return -1;
		memmove(&out[j], &out[j + 1], (n - j - 1) * sizeof(*out));
		n--;
		if (p->replacement != NULL)
			out[n++] = p->replacement;
	}
	return (long)n;
}

struct recusal_arg {
	const char *object;
	const char **group;
	size_t n_group;
	const struct ss_record *const *prior;
	size_t n_prior;
};

static int accept_replacement(const struct matcher *m, size_t idx, void *varg)
{
	const struct recusal_arg *a = varg;
	const char *id = m->pool[idx].id;
	size_t i;

	if (m->cap != 0 && m->load[idx] >= m->cap)
		return 0;
	for (i = 0; i < a->n_group; i++)
		if (strcmp(a->group[i], id) == 0)
			return 0;
	for (i = 0; i < a->n_prior; i++)
		if (strcmp(a->prior[i]->object, a->object) == 0 &&
		    strcmp(a->prior[i]->inspector, id) == 0)
			return 0;
	return 1;
}

/* Counts the draw's assignments, then applies the prior recusals to the counts. */
static int recusal_loads(struct matcher *m, const struct ss_record *d,
			 const struct ss_record *const *prior, size_t n_prior, const char **scratch)
{
	size_t i, j;
	long idx, x, n;

	for (i = 0; i < d->n_matches; i++) {
		const struct ss_rec_match *mt = &d->matches[i];

		for (j = 0; j < mt->n_inspectors + mt->n_experts; j++) {
			idx =
			    pool_find(m, j < mt->n_inspectors ? mt->inspectors[j]
							      : mt->experts[j - mt->n_inspectors]);
			if (idx < 0)
				return SS_ERR_BAD_REQUEST;
			m->load[idx]++;
		}
	}
	for (i = 0; i < n_prior; i++) {
		const struct ss_record *p = prior[i];

		if (p == NULL || p->type != SS_REC_RECUSAL)
			return SS_ERR_BAD_REQUEST;
		x = match_find(d, p->object);
		n = x < 0 ? -1 : group_current(d, (size_t)x, p->expert_role, prior, i, scratch);
		if (n < 0)
			return SS_ERR_BAD_REQUEST;
		/* scratch is the group just before p: p's inspector must be in it. */
		for (j = 0; j < (size_t)n && strcmp(scratch[j], p->inspector) != 0; j++)
			;
		if (j == (size_t)n)
			return SS_ERR_BAD_REQUEST;
		idx = pool_find(m, p->inspector);
		if (idx < 0 || m->load[idx] == 0)
			return SS_ERR_BAD_REQUEST;
		m->load[idx]--;
		if (p->replacement != NULL) {
			idx = pool_find(m, p->replacement);
			if (idx < 0)
				return SS_ERR_BAD_REQUEST;
			m->load[idx]++;
		}
	}
	return 0;
}

int ss_draw_recusal(const struct ss_record *draw, const struct ss_inspector *pool, size_t n_pool,
		    const struct ss_conflict *conflicts, size_t n_conflicts,
		    const struct ss_record *const *prior, size_t n_prior, const char *object,
		    const char *inspector, const char **replacement)
{
	struct matcher m;
	struct recusal_arg arg;
	const char **group;
	size_t cap, i, taken;
	long x, n;
	int expert, rc;

	*replacement = NULL;
	if (draw == NULL || draw->type != SS_REC_DRAW || object == NULL || inspector == NULL ||
	    (prior == NULL && n_prior > 0))
		return SS_ERR_BAD_REQUEST;
	x = match_find(draw, object);
	if (x < 0)
		return SS_ERR_NOT_FOUND;
	cap = draw->group_size + draw->experts_per_object + n_prior;
	group = malloc(cap * sizeof(*group));
	if (group == NULL)
		return SS_ERR_NOMEM;
	rc = matcher_init(&m, draw->seed, draw->workload_cap, pool, n_pool, conflicts, n_conflicts);
	if (rc != 0) {
		free(group);
		return rc;
	}
	rc = recusal_loads(&m, draw, prior, n_prior, group);
	for (expert = 0; rc == 0 && expert <= 1; expert++) {
		n = group_current(draw, (size_t)x, expert, prior, n_prior, group);
		if (n < 0) {
			rc = SS_ERR_BAD_REQUEST;
			break;
		}
		for (i = 0; i < (size_t)n && strcmp(group[i], inspector) != 0; i++)
			;
		if (i < (size_t)n)
			break;
	}
	if (rc == 0 && expert > 1)
		rc = SS_ERR_NOT_FOUND;
	if (rc == 0) {
		arg.object = object;
		arg.group = group;
		arg.n_group = (size_t)n;
		arg.prior = prior;
		arg.n_prior = n_prior;
		if (walk(&m, object, expert, 1, accept_replacement, &arg, &taken) == 1)
			*replacement = pool[taken].id;
	}
	matcher_free(&m);
	free(group);
	return rc;
}
