/*
 * recent.c: the bounded set of rows stream delivery delivered since the
 * checkpoint (recent.h).
 *
 * Entries (fingerprint, updated) sit in a ring in the order they were
 * recorded, so the oldest is evicted first; an open-addressing table of
 * ring positions (linear probing, at most half full, deletion by backward
 * shift so no tombstones accumulate) finds a fingerprint. The ring grows
 * by doubling up to max_entries; it starts to wrap only once it is full.
 * Forgetting up to a checkpoint keeps the survivors in order and rebuilds
 * the table: O(entries), once per checkpoint.
 */
#include <config.h> /* autoconf's */

#include "recent.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	uint64_t a, b;
	int64_t wall;
	int32_t logical;
};

#define NO_POS UINT32_MAX

/*
 * The fingerprint: two 64-bit lanes with their own seeds and multipliers,
 * fed the same words in one pass over (updated, lengths, table, key).
 * Each word is folded in by a full 64x64->128 multiply whose halves are
 * XORed (every input bit reaches every output bit), the previous state
 * added back so a word equal to the state does not erase it; each lane
 * ends with the splitmix64 finaliser. The lengths go in first, so the
 * table/key boundary is part of the identity. Taking the lanes as
 * independent random functions, as recent.h's n / 2^128 bound does.
 */
#define LANE_SEED_A UINT64_C(0x243f6a8885a308d3)
#define LANE_SEED_B UINT64_C(0x13198a2e03707344)
#define LANE_MUL_A UINT64_C(0x9e3779b97f4a7c15)
#define LANE_MUL_B UINT64_C(0xc2b2ae3d27d4eb4f)

static inline uint64_t fold_mul(uint64_t x, uint64_t k)
{
#ifdef __SIZEOF_INT128__
	unsigned __int128 p = (unsigned __int128)x * k;

	return (uint64_t)p ^ (uint64_t)(p >> 64);
#else
	/* The same product from 32-bit halves. */
	uint64_t xl = (uint32_t)x, xh = x >> 32, kl = (uint32_t)k, kh = k >> 32;
	uint64_t ll = xl * kl, lh = xl * kh, hl = xh * kl, hh = xh * kh;
	uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
	uint64_t lo = (mid << 32) | (uint32_t)ll;
	uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);

	return lo ^ hi;
#endif
}

static inline uint64_t finalise(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

struct fingerprint {
	uint64_t a, b;
};

static inline void fp_word(struct fingerprint *f, uint64_t w)
{
	f->a += fold_mul(f->a ^ w, LANE_MUL_A);
	f->b += fold_mul(f->b ^ w, LANE_MUL_B);
}

static inline void fp_bytes(struct fingerprint *f, const char *p, size_t len)
{
	uint64_t w = 0;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		fp_word(f, w);
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		fp_word(f, w);
	}
}

static struct fingerprint fingerprint(const char *table, size_t table_len,
				      const char *key, size_t key_len,
				      crdb_hlc updated)
{
	struct fingerprint f = { LANE_SEED_A, LANE_SEED_B };

	fp_word(&f, (uint64_t)updated.wall);
	fp_word(&f, (uint64_t)(uint32_t)updated.logical);
	fp_word(&f, (uint64_t)table_len);
	fp_word(&f, (uint64_t)key_len);
	fp_bytes(&f, table, table_len);
	fp_bytes(&f, key, key_len);
	f.a = finalise(f.a);
	f.b = finalise(f.b);
	return f;
}

struct recent {
	size_t max;
	struct entry *ring;
	size_t ring_cap, head, count;
	uint32_t *table;        /* ring positions, NO_POS when empty */
	size_t table_cap;       /* a power of 2, >= 2 * ring_cap */
	uint64_t evicted;
};

struct recent *recent_new(size_t max_entries)
{
	if (max_entries < 1 || max_entries >= NO_POS)
		return NULL;
	struct recent *r = calloc(1, sizeof(*r));
	if (r)
		r->max = max_entries;
	return r;
}

void recent_free(struct recent *r)
{
	if (!r)
		return;
	free(r->ring);
	free(r->table);
	free(r);
}

static size_t table_home(const struct recent *r, uint64_t a)
{
	return (size_t)(a & (r->table_cap - 1));
}

static void table_put(struct recent *r, size_t pos)
{
	size_t mask = r->table_cap - 1;
	size_t i = table_home(r, r->ring[pos].a);
	while (r->table[i] != NO_POS)
		i = (i + 1) & mask;
	r->table[i] = (uint32_t)pos;
}

static int table_rebuild(struct recent *r, size_t cap)
{
	uint32_t *t = malloc(cap * sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < cap; i++)
		t[i] = NO_POS;
	free(r->table);
	r->table = t;
	r->table_cap = cap;
	for (size_t n = 0; n < r->count; n++)
		table_put(r, (r->head + n) % r->ring_cap);
	return 0;
}

/* Remove ring position pos from the table, shifting back the entries
 * after it in its probe run. */
static void table_remove(struct recent *r, size_t pos)
{
	size_t mask = r->table_cap - 1;
	size_t i = table_home(r, r->ring[pos].a);
	while (r->table[i] != pos)
		i = (i + 1) & mask;
	size_t hole = i;
	for (size_t j = (hole + 1) & mask; r->table[j] != NO_POS;
	     j = (j + 1) & mask) {
		size_t home = table_home(r, r->ring[r->table[j]].a);
		/* j's entry may move to the hole unless its home lies
		 * cyclically in (hole, j]. */
		bool stays = hole <= j ? (home > hole && home <= j)
				       : (home > hole || home <= j);
		if (!stays) {
			r->table[hole] = r->table[j];
			hole = j;
		}
	}
	r->table[hole] = NO_POS;
}

static int grow(struct recent *r)
{
	size_t cap = r->ring_cap ? r->ring_cap * 2 : 1024;
	if (cap > r->max)
		cap = r->max;
	struct entry *ring = realloc(r->ring, cap * sizeof(*ring));
	if (!ring)
		return -1;
	r->ring = ring;
	r->ring_cap = cap;
	size_t tcap = 16;
	while (tcap < 2 * cap)
		tcap *= 2;
	return table_rebuild(r, tcap);
}

int recent_check_add(struct recent *r, const char *table, size_t table_len,
		     const char *key, size_t key_len, crdb_hlc updated)
{
	struct fingerprint f = fingerprint(table, table_len, key, key_len, updated);
	uint64_t a = f.a, b = f.b;
	if (r->count) {
		size_t mask = r->table_cap - 1;
		for (size_t i = (size_t)(a & mask); r->table[i] != NO_POS;
		     i = (i + 1) & mask) {
			const struct entry *e = &r->ring[r->table[i]];
			if (e->a == a && e->b == b)
				return 1;
		}
	}
	if (r->count == r->ring_cap) {
		if (r->ring_cap < r->max) {
			if (grow(r))
				return -1;
		} else {
			table_remove(r, r->head);
			if (++r->head == r->ring_cap)
				r->head = 0;
			r->count--;
			r->evicted++;
		}
	}
	/* head and count are below ring_cap: one wrap at most, no divide. */
	size_t pos = r->head + r->count;
	if (pos >= r->ring_cap)
		pos -= r->ring_cap;
	r->ring[pos] = (struct entry){ a, b, updated.wall, updated.logical };
	r->count++;
	table_put(r, pos);
	return 0;
}

void recent_forget_upto(struct recent *r, crdb_hlc checkpoint)
{
	size_t kept = 0;
	bool moved = false;
	/* The survivors, in order, to the front of the ring: in place when
	 * it has not wrapped (writes never pass reads), else through a
	 * copy. */
	struct entry *keep = r->head ? malloc(r->count * sizeof(*keep)) : NULL;
	if (r->head && !keep && r->count)
		return; /* out of memory: forgetting later is harmless */
	for (size_t n = 0; n < r->count; n++) {
		const struct entry *e = &r->ring[(r->head + n) % r->ring_cap];
		bool old = e->wall < checkpoint.wall ||
			   (e->wall == checkpoint.wall &&
			    e->logical <= checkpoint.logical);
		if (old) {
			moved = true;
			continue;
		}
		if (keep)
			keep[kept++] = *e;
		else
			r->ring[kept++] = *e;
	}
	if (keep) {
		for (size_t n = 0; n < kept; n++)
			r->ring[n] = keep[n];
		free(keep);
		moved = true;
	}
	if (!moved)
		return;
	r->head = 0;
	r->count = kept;
	for (size_t i = 0; i < r->table_cap; i++)
		r->table[i] = NO_POS;
	for (size_t n = 0; n < r->count; n++)
		table_put(r, n);
}

void recent_get_stats(const struct recent *r, struct recent_stats *out)
{
	out->entries = r->count;
	out->evicted = r->evicted;
}
