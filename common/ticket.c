/*
 * ticket.c — consistent-sampling tickets (抽签号) for the draw, issue 5.
 *
 * The definitions are those of the `consistent_sampler` package (see
 * ticket.h); tests/ticket_crosscheck.py restates them in Python and the
 * unit test compares the two on every run.
 */
#include "ticket.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "ss_error.h"
#include "ss_log.h"

/* The decimal conversion takes nine digits at a time: 10^9 < 2^32. */
#define TICKET_CHUNK 1000000000u
#define TICKET_CHUNK_DIGITS 9
#define TICKET_LIMBS 8

/* Below this ratio of k to n, a bounded heap beats sorting the whole population. */
#define TICKET_HEAP_RATIO 8

static const char ticket_hex_digits[] = "0123456789abcdef";

/* Entry v (two bytes) is v in two decimal digits, least significant first. */
static const char ticket_pairs_reversed[201] =
    "00102030405060708090011121314151617181910212223242526272829203132333435363738393"
    "04142434445464748494051525354555657585950616263646566676869607172737475767778797"
    "0818283848586878889809192939495969798999";

/* Writes the nine decimal digits of chunk (< 10^9), least significant first, to p. */
static void ticket_chunk_reversed(uint32_t chunk, char *p)
{
	uint32_t lo = chunk % 10000, mid = chunk / 10000 % 10000;

	memcpy(p, &ticket_pairs_reversed[2 * (lo % 100)], 2);
	memcpy(p + 2, &ticket_pairs_reversed[2 * (lo / 100)], 2);
	memcpy(p + 4, &ticket_pairs_reversed[2 * (mid % 100)], 2);
	memcpy(p + 6, &ticket_pairs_reversed[2 * (mid / 100)], 2);
	p[8] = (char)('0' + chunk / 100000000);
}

static void ticket_hex(const unsigned char digest[32], char hex[65])
{
	size_t i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = ticket_hex_digits[digest[i] >> 4];
		hex[2 * i + 1] = ticket_hex_digits[digest[i] & 0x0f];
	}
	hex[64] = '\0';
}

void ss_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, data, len);
	ticket_hex(digest, hex);
}

/*
 * The package computes "{:064d}".format(N) and reverses it.  Dividing N by
 * 10^9 repeatedly yields its decimal digits least significant first — the
 * reversed string directly.  The most significant chunk may contribute
 * zeros above N's top digit, which are not digits of N and are dropped;
 * the "{:064d}" padding then reappears as zeros appended up to 64 digits.
 *
 * If above is not NULL, the conversion stops after the first nine digits
 * when they already sort after those of the ticket above, and returns 1
 * (out is then incomplete): a bounded draw discards most ids that way.
 * Those nine digits are final, since every ticket has at least 64.
 */
static int ticket_uniform(const unsigned char digest[32], char out[SS_TICKET_MAX],
			  const char *above)
{
	uint32_t limb[TICKET_LIMBS]; /* limb[0] is the most significant */
	char *digits = out + 2;
	size_t top = 0, nd = 0, i;
	uint64_t cur, rem;

	for (i = 0; i < TICKET_LIMBS; i++)
		limb[i] = (uint32_t)digest[4 * i] << 24 | (uint32_t)digest[4 * i + 1] << 16 |
			  (uint32_t)digest[4 * i + 2] << 8 | (uint32_t)digest[4 * i + 3];
	while (top < TICKET_LIMBS && limb[top] == 0)
		top++;
	while (top < TICKET_LIMBS) {
		/* rem < 10^9, so each partial quotient fits in 32 bits. */
		rem = 0;
		for (i = top; i < TICKET_LIMBS; i++) {
			cur = rem << 32 | limb[i];
			limb[i] = (uint32_t)(cur / TICKET_CHUNK);
			rem = cur % TICKET_CHUNK;
		}
		while (top < TICKET_LIMBS && limb[top] == 0)
			top++;
		ticket_chunk_reversed((uint32_t)rem, digits + nd);
		if (nd == 0 && above != NULL && memcmp(digits, above + 2, TICKET_CHUNK_DIGITS) > 0)
			return 1;
		nd += TICKET_CHUNK_DIGITS;
	}
	while (nd > 0 && digits[nd - 1] == '0')
		nd--;
	while (nd < SS_TICKET_DIGITS_MIN)
		digits[nd++] = '0';
	digits[nd] = '\0';
	out[0] = '0';
	out[1] = '.';
	return 0;
}

int ss_uniform_from_digest(const unsigned char digest[32], char out[SS_TICKET_MAX])
{
	if (digest == NULL || out == NULL)
		return SS_ERR_BAD_REQUEST;
	ticket_uniform(digest, out, NULL);
	return 0;
}

int ss_sha256_uniform(const char *s, size_t len, char out[SS_TICKET_MAX])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	if (out == NULL || (s == NULL && len > 0))
		return SS_ERR_BAD_REQUEST;
	crypto_hash_sha256(digest, (const unsigned char *)s, len);
	ticket_uniform(digest, out, NULL);
	return 0;
}

/*
 * The bulk paths (order, select) hash with OpenSSL's EVP interface rather
 * than libsodium: libsodium's SHA-256 is portable C, while OpenSSL uses the
 * CPU's SHA extensions where present — about five times faster per block
 * when measured, which is most of a 4,000,000-id draw.  The one-shot
 * functions keep libsodium, which cannot fail.  Both compute the same
 * SHA-256, and test_ticket checks that their tickets agree.
 */
struct ticket_hasher {
	EVP_MD *sha256;
	EVP_MD_CTX *seeded; /* has absorbed sha256_hex(seed) */
	EVP_MD_CTX *work;
};

static void ticket_hasher_free(struct ticket_hasher *h)
{
	EVP_MD_CTX_free(h->work);
	EVP_MD_CTX_free(h->seeded);
	EVP_MD_free(h->sha256);
}

/*
 * sha256_hex(seed) is exactly one 64-byte SHA-256 block, so the state after
 * absorbing it is computed once per draw and copied for every id: a ticket
 * then costs one block compression for ids under 56 bytes.
 */
static int ticket_hasher_init(struct ticket_hasher *h, const char *seed)
{
	char seed_hex[65];

	h->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->seeded = EVP_MD_CTX_new();
	h->work = EVP_MD_CTX_new();
	if (h->sha256 == NULL || h->seeded == NULL || h->work == NULL) {
		ss_log_openssl(SS_LOG_ERROR, "ticket: SHA-256 context");
		ticket_hasher_free(h);
		return SS_ERR_NOMEM;
	}
	ss_sha256_hex(seed, strlen(seed), seed_hex);
	if (EVP_DigestInit_ex(h->seeded, h->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(h->seeded, seed_hex, 64) != 1) {
		ss_log_openssl(SS_LOG_ERROR, "ticket: SHA-256 of the seed");
		ticket_hasher_free(h);
		return SS_ERR_INTERNAL;
	}
	return 0;
}

/*
 * Computes id's ticket into out.  Returns 0, 1 if it sorts after above (see
 * ticket_uniform; out is then incomplete), or SS_ERR_INTERNAL.
 */
static int ticket_hasher_ticket(struct ticket_hasher *h, const char *id, char out[SS_TICKET_MAX],
				const char *above)
{
	unsigned char digest[EVP_MAX_MD_SIZE];

	if (EVP_MD_CTX_copy_ex(h->work, h->seeded) != 1 ||
	    EVP_DigestUpdate(h->work, id, strlen(id)) != 1 ||
	    EVP_DigestFinal_ex(h->work, digest, NULL) != 1) {
		ss_log_openssl(SS_LOG_ERROR, "ticket: SHA-256");
		return SS_ERR_INTERNAL;
	}
	return ticket_uniform(digest, out, above);
}

int ss_ticket(const char *seed, const char *id, char out[SS_TICKET_MAX])
{
	crypto_hash_sha256_state st;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[65];

	if (seed == NULL || id == NULL || out == NULL)
		return SS_ERR_BAD_REQUEST;
	ss_sha256_hex(seed, strlen(seed), hex);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)hex, 64);
	crypto_hash_sha256_update(&st, (const unsigned char *)id, strlen(id));
	crypto_hash_sha256_final(&st, digest);
	ticket_uniform(digest, out, NULL);
	return 0;
}

int ss_ticketed_cmp(const struct ss_ticketed *a, const struct ss_ticketed *b)
{
	/* The package sorts Ticket(ticket_number, id, generation) tuples: ticket, then id. */
	int c = strcmp(a->ticket, b->ticket);

	return c != 0 ? c : strcmp(a->id, b->id);
}

/*
 * Sorting the 104-byte items themselves spends most of its time moving and
 * strcmp-ing them, so the order is found on 16-byte records holding the
 * first 19 digits of the ticket as an integer: for digit strings of equal
 * length, integer order is string order, and every ticket has at least 64
 * digits.  Equal prefixes fall back to the full comparison.
 */
struct ticket_rec {
	uint64_t prefix;
	struct ss_ticketed *item;
};

#define TICKET_PREFIX_DIGITS 19

static uint64_t ticket_prefix(const char *ticket)
{
	uint64_t v = 0;
	size_t i;

	for (i = 2; i < 2 + TICKET_PREFIX_DIGITS; i++)
		v = v * 10 + (uint64_t)(ticket[i] - '0');
	return v;
}

static void ticket_rec_set(struct ticket_rec *r, struct ss_ticketed *item)
{
	r->prefix = ticket_prefix(item->ticket);
	r->item = item;
}

static int ticket_rec_cmp(const struct ticket_rec *a, const struct ticket_rec *b)
{
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return ss_ticketed_cmp(a->item, b->item);
}

static int ticket_rec_qsort_cmp(const void *a, const void *b)
{
	return ticket_rec_cmp(a, b);
}

/*
 * Rearranges items[0..n) so that position i holds what rec[i] pointed at,
 * following each cycle of the permutation once and marking placed records
 * with item NULL.  Each item moves once.
 */
static void ticket_permute(struct ss_ticketed *items, struct ticket_rec *rec, size_t n)
{
	struct ss_ticketed tmp;
	size_t i, j, from;

	for (i = 0; i < n; i++) {
		if (rec[i].item == NULL || rec[i].item == &items[i])
			continue;
		tmp = items[i];
		j = i;
		for (;;) {
			from = (size_t)(rec[j].item - items);
			rec[j].item = NULL;
			if (from == i) {
				items[j] = tmp;
				break;
			}
			items[j] = items[from];
			j = from;
		}
	}
}

/* Sorts items[0..n) (tickets filled in) into the draw order. */
static int ticket_sort(struct ss_ticketed *items, size_t n)
{
	struct ticket_rec *rec;
	size_t i;

	if (n > SIZE_MAX / sizeof(*rec))
		return SS_ERR_NOMEM;
	rec = malloc(n * sizeof(*rec));
	if (rec == NULL)
		return SS_ERR_NOMEM;
	for (i = 0; i < n; i++)
		ticket_rec_set(&rec[i], &items[i]);
	qsort(rec, n, sizeof(*rec), ticket_rec_qsort_cmp);
	ticket_permute(items, rec, n);
	free(rec);
	return 0;
}

int ss_ticket_order(const char *seed, struct ss_ticketed *items, size_t n)
{
	struct ticket_hasher h;
	size_t i;
	int rc = 0;

	if (seed == NULL || (items == NULL && n > 0))
		return SS_ERR_BAD_REQUEST;
	for (i = 0; i < n; i++)
		if (items[i].id == NULL)
			return SS_ERR_BAD_REQUEST;
	if (n == 0)
		return 0;
	rc = ticket_hasher_init(&h, seed);
	if (rc < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = ticket_hasher_ticket(&h, items[i].id, items[i].ticket, NULL);
	ticket_hasher_free(&h);
	if (rc == 0 && n > 1)
		rc = ticket_sort(items, n);
	return rc;
}

/* Restores the max-heap property of heap[0..n) below position i. */
static void ticket_heap_sift_down(struct ticket_rec *heap, size_t n, size_t i)
{
	struct ticket_rec hole = heap[i];
	size_t child;

	while ((child = 2 * i + 1) < n) {
		if (child + 1 < n && ticket_rec_cmp(&heap[child + 1], &heap[child]) > 0)
			child++;
		if (ticket_rec_cmp(&heap[child], &hole) <= 0)
			break;
		heap[i] = heap[child];
		i = child;
	}
	heap[i] = hole;
}

/* Moves heap[i] up until its parent is not smaller. */
static void ticket_heap_sift_up(struct ticket_rec *heap, size_t i)
{
	struct ticket_rec hole = heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (ticket_rec_cmp(&heap[parent], &hole) >= 0)
			break;
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = hole;
}

/*
 * Keeps the k (>= 1) smallest in selected, ordered by a max-heap of 16-byte
 * records that point into it: the heap then stays in cache, and an
 * evicted entry's slot is simply overwritten.  Finally the records are
 * heapsorted and selected is permuted into their order.
 */
static int ticket_select_heap(const char *seed, const char *const *ids, size_t n, size_t k,
			      struct ss_ticketed *selected)
{
	struct ticket_hasher h;
	struct ticket_rec *heap, r;
	struct ss_ticketed cand;
	size_t i, used = 0;
	int rc;

	if (k > SIZE_MAX / sizeof(*heap))
		return SS_ERR_NOMEM;
	heap = malloc(k * sizeof(*heap));
	if (heap == NULL)
		return SS_ERR_NOMEM;
	rc = ticket_hasher_init(&h, seed);
	if (rc < 0) {
		free(heap);
		return rc;
	}
	for (i = 0; i < n; i++) {
		rc = ticket_hasher_ticket(&h, ids[i], cand.ticket,
					  used < k ? NULL : heap[0].item->ticket);
		if (rc < 0)
			break;
		if (rc == 1) { /* sorts after the k-th best so far */
			rc = 0;
			continue;
		}
		cand.id = ids[i];
		if (used < k) {
			selected[used] = cand;
			ticket_rec_set(&heap[used], &selected[used]);
			ticket_heap_sift_up(heap, used++);
			continue;
		}
		ticket_rec_set(&r, &cand);
		if (ticket_rec_cmp(&r, &heap[0]) < 0) {
			*heap[0].item = cand;
			ticket_rec_set(&heap[0], heap[0].item);
			ticket_heap_sift_down(heap, k, 0);
		}
	}
	ticket_hasher_free(&h);
	if (rc == 0) {
		/* Heapsort's second half: move the largest record to the end, k - 1 times. */
		for (i = k - 1; i > 0; i--) {
			r = heap[0];
			heap[0] = heap[i];
			heap[i] = r;
			ticket_heap_sift_down(heap, i, 0);
		}
		ticket_permute(selected, heap, k);
	}
	free(heap);
	return rc;
}

static int ticket_select_sort(const char *seed, const char *const *ids, size_t n, size_t k,
			      struct ss_ticketed *selected)
{
	struct ss_ticketed *all;
	size_t i;
	int rc;

	if (n > SIZE_MAX / sizeof(*all))
		return SS_ERR_NOMEM;
	all = malloc(n * sizeof(*all));
	if (all == NULL)
		return SS_ERR_NOMEM;
	for (i = 0; i < n; i++)
		all[i].id = ids[i];
	rc = ss_ticket_order(seed, all, n);
	if (rc == 0)
		memcpy(selected, all, k * sizeof(*all));
	free(all);
	return rc;
}

long ss_ticket_select(const char *seed, const char *const *ids, size_t n, size_t k,
		      struct ss_ticketed *selected)
{
	size_t i;
	int rc;

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
	if (k < n / TICKET_HEAP_RATIO)
		rc = ticket_select_heap(seed, ids, n, k, selected);
	else
		rc = ticket_select_sort(seed, ids, n, k, selected);
	return rc < 0 ? rc : (long)k;
}
