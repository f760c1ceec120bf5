/*
 * order.c: an ordered feed's held rows (order.h): in memory up to the
 * budget, beyond it (and always when durable) in an LMDB environment in
 * spill_dir, released in (updated, table, key) order.
 *
 * Why LMDB for the spill store: it keeps the rows sorted as they are
 * written (release is a cursor walk, a group far larger than memory streams
 * out in order with no merge of run files), finds a held row by its key in
 * O(log n) (duplicates among spilled rows), deletes released rows in place,
 * and gives durability (each commit fsyncs) and reloading for free. The
 * non-durable store is opened with MDB_NOSYNC | MDB_NOMETASYNC (a crash may
 * corrupt it; it is recreated empty by order_new, so no matter); the
 * durable one with LMDB's default sync, so a commit is durable and a crash
 * leaves the previous commit.
 *
 * The order of rows: updated, then the identity "table NUL key" bytewise
 * (shorter first when one is a prefix of the other), which is table then
 * key bytewise since a table name holds no NUL (order_add refuses one that
 * does). On disk the key is updated as 12 big-endian bytes (wall and
 * logical with their sign bit flipped) then that identity, so LMDB's
 * memcmp order is the same order. LMDB keys are at most 511 bytes: an
 * identity longer than 499 bytes is represented, in memory and on disk
 * alike, by its first 483 bytes and a 128-bit fingerprint (two independent
 * 64-bit hashes) of all of it. Such rows are ordered by that 499-byte
 * form, which every subscriber shares; two different long identities with
 * the same updated, the same first 483 bytes and the same fingerprint
 * (probability 2^-128 per pair) would count as one row on disk.
 *
 * In memory: each row is one allocation (its record, identity and line,
 * rounded up to a 32-byte class; a released row's allocation waits for
 * the next row of its class, up to 4,096 rows or 2 MiB),
 * an array of entries (updated, table id, the key's first 8 bytes, row)
 * in arrival order, so that most comparisons touch no row, an array of
 * the same size as scratch for the sort, and an open-addressing hash table
 * of the rows for duplicates. All of it counts against the budget, at
 * what malloc takes; a row that does not fit goes to disk. Release partitions the entries at resolved
 * (stable), sorts those below with a merge sort that skips merging halves
 * already in order (rows mostly arrive in updated order: near linear), and
 * merges them with a cursor over the disk store.
 */
#include <config.h> /* autoconf's */

#include "order.h"

#include "idhash.h"

#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ASan is told of recycled rows (row_release). */
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define KEY_MAX 511                  /* LMDB's default key size limit */
#define HLC_KEY_LEN 12
#define BODY_MAX (KEY_MAX - HLC_KEY_LEN)
#define FP_LEN 16
#define BODY_PREFIX (BODY_MAX - FP_LEN)
#define STORE_FILE "held.mdb"        /* and held.mdb-lock */
#define PUTS_PER_TXN 65536           /* bounds a write transaction's pages */
#define BATCH_ROWS 512               /* disk rows copied per read */
#define ROW_CLASS 32                 /* memory rows' sizes, rounded up */
#define ROW_CLASSES 64               /* rows up to 2 KiB are recycled */
#define ROW_CACHE_MAX 4096           /* released rows kept for reuse, */
#define ROW_CACHE_BYTES (2 << 20)    /* and their bytes, at most */
#define BATCH_BYTES (256 * 1024)

/* A held row in memory: one allocation. */
struct hrow {
	crdb_hlc updated;
	uint64_t hash;
	size_t slot;                 /* its index in the hash table */
	uint32_t table_len, key_len, line_len;
	uint8_t op;
	bool long_ident;
	/* table, NUL, key, line, then the fingerprint when long_ident */
	char data[];
};

/* An entry of the index: most comparisons end here, without touching
 * the row: updated, then the table (an index into the order's names,
 * NO_TABLE_ID when not named there), then the key's first 8 bytes. */
struct hent {
	int64_t wall;
	int32_t logical;
	uint32_t table_id;
	uint64_t key_prefix;         /* big-endian, zero-padded */
	struct hrow *row;
};

#define NO_TABLE_ID UINT32_MAX
#define TABLE_IDS_MAX 256            /* names kept for comparisons */
#define TABLE_ID_NAME_MAX 400        /* longer names: no id */

struct tname {
	char *name;
	size_t len;
};

struct hslot {
	uint64_t hash;
	struct hrow *row;            /* NULL: empty; &tombstone: removed */
};

static struct hrow tombstone;

struct order {
	order_seen_fn seen;
	void *seen_arg;
	bool durable;
	size_t budget;
	char *store_path;

	crdb_hlc released;
	/* Durable: the newest updated of the rows found in the store at
	 * open. A crash between the caller's commit of released rows and
	 * order_sync() leaves them here, possibly above released (a release
	 * in chunks): rows up to it are asked of seen() too. */
	crdb_hlc reloaded_max;
	/* Rows above released up to it may have gone out before a restart
	 * (a window committed in chunks, the last not reached): each such
	 * row is asked of seen() as it comes (order_set_seen_upto). */
	crdb_hlc seen_upto;
	/* A release stopped at max_rows (or its callback failing) after the
	 * row whose disk key is mark: rows up to it are out. */
	bool partial;
	crdb_hlc releasing;
	unsigned char mark[KEY_MAX];
	size_t mark_len;

	/* held[ready_pos, ready_n): sorted, <= the resolved of the last
	 * partition; held[ready_n, held_n): arrival order, tail_min the
	 * oldest of them. held[0, ready_pos): released. */
	struct hent *held, *scratch;
	size_t held_n, held_cap, ready_pos, ready_n;
	crdb_hlc tail_min;
	struct hslot *slots;
	size_t slot_cap, slot_used, slot_live;
	struct tname *tables;        /* the table ids' names */
	size_t ntables, tables_cap;
	uint32_t last_table_id;
	uint64_t mem_rows, mem_data, mem_alloc;
	/* Released rows' memory by size class, for the next rows: a window
	 * freed at once and allocated again row by row fragments malloc's
	 * heap (about 500 instructions a row in malloc and free). Counted in
	 * the budget; dropped when a row would not fit otherwise. */
	void *row_cache[ROW_CLASSES];
	size_t cached_rows;
	uint64_t cached_bytes;

	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	size_t txn_puts;
	uint64_t disk_rows, disk_data;
	crdb_hlc disk_min;

	uint64_t duplicates, late;
};

static void fail(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (!errbuf || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static inline bool hlc_le(crdb_hlc a, crdb_hlc b)
{
	return a.wall < b.wall || (a.wall == b.wall && a.logical <= b.logical);
}

static inline bool hlc_eq(crdb_hlc a, crdb_hlc b)
{
	return a.wall == b.wall && a.logical == b.logical;
}

static const crdb_hlc hlc_max = { INT64_MAX, INT32_MAX };

static void hlc_encode(unsigned char *p, crdb_hlc h)
{
	uint64_t w = (uint64_t)h.wall ^ (UINT64_C(1) << 63);
	uint32_t l = (uint32_t)h.logical ^ (UINT32_C(1) << 31);
	for (int i = 7; i >= 0; i--, w >>= 8)
		p[i] = (unsigned char)w;
	for (int i = 11; i >= 8; i--, l >>= 8)
		p[i] = (unsigned char)l;
}

static crdb_hlc hlc_decode(const unsigned char *p)
{
	uint64_t w = 0;
	uint32_t l = 0;
	for (int i = 0; i < 8; i++)
		w = w << 8 | p[i];
	for (int i = 8; i < 12; i++)
		l = l << 8 | p[i];
	return (crdb_hlc){ (int64_t)(w ^ (UINT64_C(1) << 63)),
			   (int32_t)(l ^ (UINT32_C(1) << 31)) };
}

static inline int bytes_cmp(const void *a, size_t alen, const void *b,
			    size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* The fingerprint of a long identity, as 16 bytes (big-endian halves). */
static void ident_fingerprint(const char *table, size_t tlen, const char *key,
			      size_t klen, unsigned char fp[FP_LEN])
{
	static const char nul = 0;
	uint64_t h[2] = { IDHASH_SEED_A, IDHASH_SEED_B };
	for (int i = 0; i < 2; i++) {
		h[i] = idhash_bytes(h[i], table, tlen);
		h[i] = idhash_bytes(h[i], &nul, 1);
		h[i] = idhash_fmix(idhash_bytes(h[i], key, klen));
		for (int b = 0; b < 8; b++)
			fp[i * 8 + b] = (unsigned char)(h[i] >> (56 - 8 * b));
	}
}

/* The disk key of (updated, table, key) into out: its length. */
static size_t make_key(crdb_hlc updated, const char *table, size_t tlen,
		       const char *key, size_t klen, unsigned char out[KEY_MAX])
{
	hlc_encode(out, updated);
	unsigned char *b = out + HLC_KEY_LEN;
	size_t ilen = tlen + 1 + klen;
	if (ilen <= BODY_MAX) {
		if (tlen)
			memcpy(b, table, tlen);
		b[tlen] = 0;
		if (klen)
			memcpy(b + tlen + 1, key, klen);
		return HLC_KEY_LEN + ilen;
	}
	size_t t = tlen < BODY_PREFIX ? tlen : BODY_PREFIX;
	if (t)
		memcpy(b, table, t);
	if (t < BODY_PREFIX) {
		b[t] = 0;
		size_t k = BODY_PREFIX - t - 1;
		memcpy(b + t + 1, key, k);
	}
	ident_fingerprint(table, tlen, key, klen, b + BODY_PREFIX);
	return KEY_MAX;
}

static inline size_t hrow_ident_len(const struct hrow *r)
{
	return (size_t)r->table_len + 1 + r->key_len;
}

/* The body (the key after its 12 bytes) of a memory row. */
static const unsigned char *hrow_body(const struct hrow *r,
				      unsigned char buf[BODY_MAX],
				      size_t *len)
{
	if (!r->long_ident) {
		*len = hrow_ident_len(r);
		return (const unsigned char *)r->data;
	}
	memcpy(buf, r->data, BODY_PREFIX);
	memcpy(buf + BODY_PREFIX,
	       r->data + hrow_ident_len(r) + r->line_len, FP_LEN);
	*len = BODY_MAX;
	return buf;
}

static size_t hrow_key(const struct hrow *r, unsigned char out[KEY_MAX])
{
	size_t len;
	hlc_encode(out, r->updated);
	const unsigned char *b = hrow_body(r, out + HLC_KEY_LEN, &len);
	if (b != out + HLC_KEY_LEN)
		memcpy(out + HLC_KEY_LEN, b, len);
	return HLC_KEY_LEN + len;
}

static int hrow_body_cmp(const struct hrow *a, const struct hrow *b)
{
	if (!a->long_ident && !b->long_ident)
		return bytes_cmp(a->data, hrow_ident_len(a), b->data,
				 hrow_ident_len(b));
	unsigned char ab[BODY_MAX], bb[BODY_MAX];
	size_t al, bl;
	const unsigned char *ap = hrow_body(a, ab, &al);
	const unsigned char *bp = hrow_body(b, bb, &bl);
	return bytes_cmp(ap, al, bp, bl);
}

/* A key's first 8 bytes as a number that orders as the bytes do (a key
 * shorter than 8 bytes, padded with zeros, is never taken for greater
 * than a longer one it is a prefix of: equal prefixes compare the rows). */
static uint64_t key_prefix(const char *key, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (i < len ? (unsigned char)key[i] : 0);
	return v;
}

static inline int hent_cmp(const struct order *o, const struct hent *a,
			   const struct hent *b)
{
	if (a->wall != b->wall)
		return a->wall < b->wall ? -1 : 1;
	if (a->logical != b->logical)
		return a->logical < b->logical ? -1 : 1;
	if (a->table_id != NO_TABLE_ID && b->table_id != NO_TABLE_ID) {
		if (a->table_id != b->table_id) {
			const struct tname *x = &o->tables[a->table_id];
			const struct tname *y = &o->tables[b->table_id];
			return bytes_cmp(x->name, x->len, y->name, y->len);
		}
		if (a->key_prefix != b->key_prefix)
			return a->key_prefix < b->key_prefix ? -1 : 1;
	}
	return hrow_body_cmp(a->row, b->row);
}

/* Merge sort of a[0, n) with tmp (n entries) as scratch; halves already
 * in order are not merged, so sorted input costs n comparisons. */
static void hent_sort(const struct order *o, struct hent *a, struct hent *tmp,
		      size_t n)
{
	if (n <= 16) {
		for (size_t i = 1; i < n; i++) {
			struct hent e = a[i];
			size_t j = i;
			while (j > 0 && hent_cmp(o, &a[j - 1], &e) > 0) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = e;
		}
		return;
	}
	size_t h = n / 2;
	hent_sort(o, a, tmp, h);
	hent_sort(o, a + h, tmp, n - h);
	if (hent_cmp(o, &a[h - 1], &a[h]) <= 0)
		return;
	memcpy(tmp, a, h * sizeof(*a));
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n) {
		if (hent_cmp(o, &a[j], &tmp[i]) < 0)
			a[k++] = a[j++];
		else
			a[k++] = tmp[i++];
	}
	while (i < h)
		a[k++] = tmp[i++];
}

/* What malloc really takes for n bytes (glibc: n + 8 rounded up to 16,
 * at least 32). */
static size_t alloc_cost(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;
	return c < 32 ? 32 : c;
}

static uint64_t memory_bytes(const struct order *o)
{
	return o->mem_alloc + o->cached_bytes +
	       o->held_cap * 2 * sizeof(struct hent) +
	       o->slot_cap * sizeof(struct hslot);
}

/* ---- memory rows' allocations ---- */

/* The bytes allocated for a row of n: its size class's, when recycled. */
static size_t row_alloc_size(size_t n)
{
	return n <= ROW_CLASS * ROW_CLASSES ?
	       (n + ROW_CLASS - 1) / ROW_CLASS * ROW_CLASS : n;
}

static struct hrow *row_alloc(struct order *o, size_t n)
{
	size_t size = row_alloc_size(n);

	if (size <= ROW_CLASS * ROW_CLASSES && o->row_cache[size / ROW_CLASS - 1]) {
		void **slot = &o->row_cache[size / ROW_CLASS - 1];
		void *r = *slot;

		UNPOISON(r, size);
		memcpy(slot, r, sizeof(void *));
		o->cached_rows--;
		o->cached_bytes -= alloc_cost(size);
		return r;
	}
	return malloc(size);
}

static void row_release(struct order *o, struct hrow *r, size_t n)
{
	size_t size = row_alloc_size(n);

	if (size > ROW_CLASS * ROW_CLASSES || o->cached_rows >= ROW_CACHE_MAX ||
	    o->cached_bytes + alloc_cost(size) > ROW_CACHE_BYTES) {
		free(r);
		return;
	}
	memcpy(r, &o->row_cache[size / ROW_CLASS - 1], sizeof(void *));
	/* ASan still sees a released row used: only the link is open. */
	POISON((char *)r + sizeof(void *), size - sizeof(void *));
	o->row_cache[size / ROW_CLASS - 1] = r;
	o->cached_rows++;
	o->cached_bytes += alloc_cost(size);
}

static void row_cache_drop(struct order *o)
{
	for (size_t c = 0; c < ROW_CLASSES; c++) {
		while (o->row_cache[c]) {
			void *r = o->row_cache[c];

			memcpy(&o->row_cache[c], r, sizeof(void *));
			UNPOISON(r, (c + 1) * ROW_CLASS);
			free(r);
		}
	}
	o->cached_rows = 0;
	o->cached_bytes = 0;
}

/* ---- hash table of memory rows ---- */

static bool hrow_is(const struct hrow *r, const char *table, size_t tlen,
		    const char *key, size_t klen, crdb_hlc updated)
{
	return hlc_eq(r->updated, updated) && r->table_len == tlen &&
	       r->key_len == klen && memcmp(r->data, table, tlen) == 0 &&
	       memcmp(r->data + tlen + 1, key, klen) == 0;
}

static struct hrow *slots_find(const struct order *o, uint64_t hash,
			       const char *table, size_t tlen,
			       const char *key, size_t klen, crdb_hlc updated)
{
	if (!o->slot_cap)
		return NULL;
	size_t mask = o->slot_cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct hrow *r = o->slots[i].row;
		if (!r)
			return NULL;
		if (r != &tombstone && o->slots[i].hash == hash &&
		    hrow_is(r, table, tlen, key, klen, updated))
			return r;
	}
}

static void slots_put(struct hslot *slots, size_t cap, struct hrow *r)
{
	size_t mask = cap - 1;
	size_t i = r->hash & mask;
	while (slots[i].row && slots[i].row != &tombstone)
		i = (i + 1) & mask;
	slots[i].hash = r->hash;
	slots[i].row = r;
	r->slot = i;
}

/* Room for one more row at a load of at most 1/2: the capacity the table
 * needs (its present one when it has room). */
static size_t slots_needed(const struct order *o)
{
	if ((o->slot_used + 1) * 2 <= o->slot_cap)
		return o->slot_cap;
	size_t cap = o->slot_cap ? o->slot_cap : 64;
	while ((o->slot_live + 1) * 4 > cap)
		cap *= 2;
	return cap;
}

static int slots_rebuild(struct order *o, size_t cap)
{
	struct hslot *s = calloc(cap, sizeof(*s));
	if (!s)
		return -1;
	for (size_t i = 0; i < o->slot_cap; i++) {
		struct hrow *r = o->slots[i].row;
		if (r && r != &tombstone)
			slots_put(s, cap, r);
	}
	free(o->slots);
	o->slots = s;
	o->slot_cap = cap;
	o->slot_used = o->slot_live;
	return 0;
}

static void slots_remove(struct order *o, struct hrow *r)
{
	o->slots[r->slot].row = &tombstone;
	o->slot_live--;
}

/* ---- the disk store ---- */

static const char *store_error(int rc)
{
	return rc == ENOMEM ? "out of memory" : mdb_strerror(rc);
}

static int store_txn(struct order *o, char *errbuf, size_t errlen)
{
	if (o->txn)
		return 0;
	int rc = mdb_txn_begin(o->env, NULL, 0, &o->txn);
	if (rc) {
		o->txn = NULL;
		fail(errbuf, errlen, "order: spill store %s: %s",
		     o->store_path, store_error(rc));
		return -1;
	}
	o->txn_puts = 0;
	return 0;
}

static int store_commit(struct order *o, char *errbuf, size_t errlen)
{
	if (!o->txn)
		return 0;
	int rc = mdb_txn_commit(o->txn);
	o->txn = NULL;
	if (rc) {
		fail(errbuf, errlen, "order: spill store %s: commit: %s",
		     o->store_path, store_error(rc));
		return -1;
	}
	return 0;
}

/* A disk row's value: this header, the identity when long, the line. */
struct dhead {
	uint32_t table_len, key_len, line_len;
	uint8_t op, long_ident;
};

/* A disk row as read: its bytes copied into a batch. */
struct drow {
	crdb_hlc updated;
	uint8_t op;
	size_t key_off, key_len, table_off, table_len, ident_key_off,
		ident_key_len, line_off, line_len;
};

struct batch {
	unsigned char *buf;
	size_t used, cap;
	struct drow *rows;
	size_t n, idx;
};

static int batch_add(struct batch *b, const MDB_val *k, const MDB_val *v)
{
	struct dhead h;
	if (v->mv_size < sizeof(h) || k->mv_size < HLC_KEY_LEN + 1)
		return -1;
	memcpy(&h, v->mv_data, sizeof(h));
	size_t need = k->mv_size + v->mv_size;
	if (b->used + need > b->cap) {
		size_t cap = b->cap ? b->cap : BATCH_BYTES;
		while (cap < b->used + need)
			cap *= 2;
		unsigned char *nb = realloc(b->buf, cap);
		if (!nb)
			return -1;
		b->buf = nb;
		b->cap = cap;
	}
	if (!b->rows) {
		b->rows = malloc(BATCH_ROWS * sizeof(*b->rows));
		if (!b->rows)
			return -1;
	}
	struct drow *d = &b->rows[b->n];
	d->key_off = b->used;
	d->key_len = k->mv_size;
	memcpy(b->buf + b->used, k->mv_data, k->mv_size);
	size_t voff = b->used + k->mv_size;
	memcpy(b->buf + voff, v->mv_data, v->mv_size);
	b->used += need;
	d->updated = hlc_decode(k->mv_data);
	d->op = h.op;
	d->table_len = h.table_len;
	d->ident_key_len = h.key_len;
	d->line_len = h.line_len;
	size_t ident_off = h.long_ident ? voff + sizeof(h)
					: d->key_off + HLC_KEY_LEN;
	d->table_off = ident_off;
	d->ident_key_off = ident_off + h.table_len + 1;
	d->line_off = voff + sizeof(h) +
		      (h.long_ident ? (size_t)h.table_len + 1 + h.key_len : 0);
	if (d->line_off + d->line_len > b->used)
		return -1;
	b->n++;
	return 0;
}

/* The disk side of a release: a cursor and two batches (the row being
 * delivered stays in one while the next is read into the other). */
struct dreader {
	MDB_cursor *cur;
	bool active, eof;
	unsigned char last[KEY_MAX];
	size_t last_len;
	struct batch b[2];
	int cb;
};

static int dreader_refill(struct order *o, struct dreader *r, crdb_hlc resolved,
			  char *errbuf, size_t errlen)
{
	struct batch *b = &r->b[r->cb ^ 1];
	b->used = b->n = b->idx = 0;
	MDB_val k, v;
	int rc;
	if (r->last_len) {
		k.mv_size = r->last_len;
		k.mv_data = r->last;
		rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && bytes_cmp(k.mv_data, k.mv_size, r->last,
					 r->last_len) == 0)
			rc = mdb_cursor_get(r->cur, &k, &v, MDB_NEXT);
	} else {
		rc = mdb_cursor_get(r->cur, &k, &v, MDB_FIRST);
	}
	while (rc == 0) {
		if (!hlc_le(hlc_decode(k.mv_data), resolved)) {
			r->eof = true;
			break;
		}
		if (batch_add(b, &k, &v)) {
			fail(errbuf, errlen, "order: spill store %s: a row "
			     "is malformed or memory ran out", o->store_path);
			return -1;
		}
		memcpy(r->last, k.mv_data, k.mv_size);
		r->last_len = k.mv_size;
		if (b->n == BATCH_ROWS || b->used >= BATCH_BYTES)
			break;
		rc = mdb_cursor_get(r->cur, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND) {
		r->eof = true;
	} else if (rc) {
		fail(errbuf, errlen, "order: spill store %s: read: %s",
		     o->store_path, store_error(rc));
		return -1;
	}
	r->cb ^= 1;
	return 0;
}

/* The next disk row <= resolved (not taken), NULL when none; -1 error. */
static int dreader_peek(struct order *o, struct dreader *r, crdb_hlc resolved,
			struct drow **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	if (!r->active)
		return 0;
	struct batch *b = &r->b[r->cb];
	if (b->idx == b->n) {
		if (r->eof)
			return 0;
		if (dreader_refill(o, r, resolved, errbuf, errlen))
			return -1;
		b = &r->b[r->cb];
		if (b->idx == b->n)
			return 0;
	}
	*out = &b->rows[b->idx];
	return 0;
}

static void dreader_done(struct dreader *r)
{
	if (r->cur)
		mdb_cursor_close(r->cur);
	for (int i = 0; i < 2; i++) {
		free(r->b[i].buf);
		free(r->b[i].rows);
	}
}

static void store_remove_files(const char *path)
{
	char lock[4096];
	unlink(path);
	if ((size_t)snprintf(lock, sizeof(lock), "%s-lock", path) <
	    sizeof(lock))
		unlink(lock);
}

/* Open the store; a durable one keeps its rows (counted here). */
static int store_open(struct order *o, char *errbuf, size_t errlen)
{
	if (!o->durable)
		store_remove_files(o->store_path);
	int rc = mdb_env_create(&o->env);
	/* Address space only (the file grows as rows spill): 8 GiB holds an
	 * initial scan of tens of millions of rows, and stays within what
	 * valgrind lets a process map next to a journal's map. */
	if (rc == 0)
		rc = mdb_env_set_mapsize(o->env, sizeof(size_t) >= 8
					 ? (size_t)8 << 30 : (size_t)1 << 30);
	unsigned flags = MDB_NOSUBDIR | MDB_NORDAHEAD;
	if (!o->durable)
		flags |= MDB_NOSYNC | MDB_NOMETASYNC;
	if (rc == 0)
		rc = mdb_env_open(o->env, o->store_path, flags, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(o->env, NULL, 0, &o->txn);
	if (rc == 0)
		rc = mdb_dbi_open(o->txn, NULL, 0, &o->dbi);
	MDB_cursor *c = NULL;
	if (rc == 0)
		rc = mdb_cursor_open(o->txn, o->dbi, &c);
	MDB_val k, v;
	bool first = true;
	int get = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (get == 0) {
		struct dhead h;
		if (v.mv_size < sizeof(h) || k.mv_size < HLC_KEY_LEN) {
			get = MDB_CORRUPTED;
			break;
		}
		memcpy(&h, v.mv_data, sizeof(h));
		if (first)
			o->disk_min = hlc_decode(k.mv_data);
		first = false;
		o->reloaded_max = hlc_decode(k.mv_data);
		o->disk_rows++;
		o->disk_data += (uint64_t)h.table_len + h.key_len + h.line_len;
		get = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (c)
		mdb_cursor_close(c);
	if (rc == 0 && get != MDB_NOTFOUND)
		rc = get;
	if (rc == 0)
		return store_commit(o, errbuf, errlen);
	fail(errbuf, errlen, "order: spill store %s: %s", o->store_path,
	     store_error(rc));
	return -1;
}

/* ---- the order ---- */

struct order *order_new(const struct order_limits *lim, order_seen_fn seen,
			void *seen_arg, char *errbuf, size_t errlen)
{
	if (!lim || !lim->spill_dir || !*lim->spill_dir || !seen) {
		fail(errbuf, errlen, "order: no spill directory or no seen "
		     "function");
		return NULL;
	}
	if (mkdir(lim->spill_dir, 0700) && errno != EEXIST) {
		fail(errbuf, errlen, "order: spill directory %s: %s",
		     lim->spill_dir, strerror(errno));
		return NULL;
	}
	struct order *o = calloc(1, sizeof(*o));
	size_t plen = strlen(lim->spill_dir) + sizeof("/" STORE_FILE);
	if (o)
		o->store_path = malloc(plen);
	if (!o || !o->store_path) {
		free(o);
		fail(errbuf, errlen, "order: out of memory");
		return NULL;
	}
	snprintf(o->store_path, plen, "%s/" STORE_FILE, lim->spill_dir);
	o->seen = seen;
	o->seen_arg = seen_arg;
	o->durable = lim->durable;
	o->budget = lim->durable ? 0 : lim->memory_budget;
	o->tail_min = hlc_max;
	if (store_open(o, errbuf, errlen)) {
		order_free(o);
		return NULL;
	}
	return o;
}

void order_free(struct order *o)
{
	if (!o)
		return;
	for (size_t i = o->ready_pos; i < o->held_n; i++)
		free(o->held[i].row);
	row_cache_drop(o);
	free(o->held);
	free(o->scratch);
	free(o->slots);
	for (size_t i = 0; i < o->ntables; i++)
		free(o->tables[i].name);
	free(o->tables);
	if (o->env) {
		/* Durable: what was not synced was never acknowledged, and
		 * removals not synced were not made durable by the caller. */
		if (o->txn && o->durable)
			mdb_txn_abort(o->txn);
		else if (o->txn)
			mdb_txn_commit(o->txn);
		mdb_env_close(o->env);
		if (!o->durable)
			store_remove_files(o->store_path);
	}
	free(o->store_path);
	free(o);
}

void order_set_released(struct order *o, crdb_hlc resolved)
{
	o->released = resolved;
	o->partial = false;
}

void order_set_seen_upto(struct order *o, crdb_hlc upto)
{
	o->seen_upto = upto;
}

crdb_hlc order_released(const struct order *o)
{
	return o->released;
}

/* The id of a table name (added when new, its memory counted), or
 * NO_TABLE_ID: a name too long, too many names, or no memory. */
static uint32_t table_id(struct order *o, const char *name, size_t len)
{
	if (o->last_table_id < o->ntables) {
		const struct tname *t = &o->tables[o->last_table_id];
		if (t->len == len && memcmp(t->name, name, len) == 0)
			return o->last_table_id;
	}
	for (size_t i = 0; i < o->ntables; i++)
		if (o->tables[i].len == len &&
		    memcmp(o->tables[i].name, name, len) == 0)
			return o->last_table_id = (uint32_t)i;
	if (len > TABLE_ID_NAME_MAX || o->ntables == TABLE_IDS_MAX)
		return NO_TABLE_ID;
	size_t cap = o->ntables < o->tables_cap ? o->tables_cap
		     : o->tables_cap ? 2 * o->tables_cap : 4;
	uint64_t grow = cap == o->tables_cap ? 0
			: alloc_cost(cap * sizeof(*o->tables)) -
			  (o->tables_cap ? alloc_cost(o->tables_cap *
						      sizeof(*o->tables)) : 0);
	if (memory_bytes(o) + grow + alloc_cost(len + 1) > o->budget)
		return NO_TABLE_ID;
	if (cap != o->tables_cap) {
		struct tname *t = realloc(o->tables, cap * sizeof(*t));
		if (!t)
			return NO_TABLE_ID;
		o->tables = t;
		o->tables_cap = cap;
		o->mem_alloc += grow;
	}
	char *c = malloc(len + 1);
	if (!c)
		return NO_TABLE_ID;
	if (len)
		memcpy(c, name, len);
	c[len] = 0;
	o->tables[o->ntables] = (struct tname){ c, len };
	o->mem_alloc += alloc_cost(len + 1);
	return o->last_table_id = (uint32_t)o->ntables++;
}

/* Room in memory for a row of alloc bytes, growing the arrays: true when
 * it fits the budget (and memory was found), false to spill it. */
static bool memory_admit(struct order *o, size_t alloc)
{
	uint64_t need = alloc_cost(row_alloc_size(alloc));
	size_t held_cap = o->held_cap;
	if (o->held_n == held_cap)
		held_cap = held_cap ? held_cap * 2 : 64;
	need += (uint64_t)(held_cap - o->held_cap) * 2 * sizeof(struct hent);
	size_t slot_cap = slots_needed(o);
	if (slot_cap > o->slot_cap)
		need += (uint64_t)(slot_cap - o->slot_cap) *
			sizeof(struct hslot);
	if (memory_bytes(o) + need > o->budget && o->cached_rows)
		row_cache_drop(o);
	if (memory_bytes(o) + need > o->budget)
		return false;
	if (held_cap != o->held_cap) {
		struct hent *h = realloc(o->held, held_cap * sizeof(*h));
		if (!h)
			return false;
		o->held = h;
		struct hent *s = realloc(o->scratch, held_cap * sizeof(*s));
		if (!s)
			return false;
		o->scratch = s;
		o->held_cap = held_cap;
	}
	if (slot_cap != o->slot_cap || (o->slot_used + 1) * 2 > o->slot_cap)
		if (slots_rebuild(o, slot_cap))
			return false;
	return true;
}

static enum order_add_result add_to_memory(struct order *o,
					   const struct order_row *row,
					   uint64_t hash, size_t alloc,
					   bool long_ident)
{
	struct hrow *r = row_alloc(o, alloc);
	if (!r)
		return ORDER_ERROR;
	r->updated = row->updated;
	r->hash = hash;
	r->table_len = (uint32_t)row->table_len;
	r->key_len = (uint32_t)row->key_len;
	r->line_len = (uint32_t)row->line_len;
	r->op = (uint8_t)row->op;
	r->long_ident = long_ident;
	char *p = r->data;
	if (row->table_len)
		memcpy(p, row->table, row->table_len);
	p += row->table_len;
	*p++ = 0;
	if (row->key_len)
		memcpy(p, row->key, row->key_len);
	p += row->key_len;
	if (row->line_len)
		memcpy(p, row->line, row->line_len);
	p += row->line_len;
	if (long_ident)
		ident_fingerprint(row->table, row->table_len, row->key,
				  row->key_len, (unsigned char *)p);
	slots_put(o->slots, o->slot_cap, r);
	o->slot_used++;
	o->slot_live++;
	o->mem_alloc += alloc_cost(row_alloc_size(alloc));
	o->held[o->held_n++] = (struct hent){
		row->updated.wall, row->updated.logical,
		table_id(o, row->table, row->table_len),
		key_prefix(row->key, row->key_len), r };
	if (!hlc_le(o->tail_min, row->updated))
		o->tail_min = row->updated;
	o->mem_rows++;
	o->mem_data += row->table_len + row->key_len + row->line_len;
	return ORDER_HELD;
}

static enum order_add_result add_to_disk(struct order *o,
					 const struct order_row *row,
					 const unsigned char *key, size_t klen,
					 bool long_ident, char *errbuf,
					 size_t errlen)
{
	if (store_txn(o, errbuf, errlen))
		return ORDER_ERROR;
	struct dhead h = { (uint32_t)row->table_len, (uint32_t)row->key_len,
			   (uint32_t)row->line_len, (uint8_t)row->op,
			   long_ident };
	size_t ident = long_ident ? row->table_len + 1 + row->key_len : 0;
	MDB_val k = { klen, (void *)key };
	MDB_val v = { sizeof(h) + ident + row->line_len, NULL };
	int rc = mdb_put(o->txn, o->dbi, &k, &v,
			 MDB_NOOVERWRITE | MDB_RESERVE);
	if (rc == MDB_KEYEXIST) {
		o->duplicates++;
		return ORDER_DUPLICATE;
	}
	if (rc) {
		fail(errbuf, errlen, "order: spill store %s: write: %s",
		     o->store_path, store_error(rc));
		return ORDER_ERROR;
	}
	unsigned char *p = v.mv_data;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	if (long_ident) {
		memcpy(p, row->table, row->table_len);
		p[row->table_len] = 0;
		memcpy(p + row->table_len + 1, row->key, row->key_len);
		p += ident;
	}
	if (row->line_len)
		memcpy(p, row->line, row->line_len);
	if (!o->disk_rows || !hlc_le(o->disk_min, row->updated))
		o->disk_min = row->updated;
	o->disk_rows++;
	o->disk_data += row->table_len + row->key_len + row->line_len;
	if (++o->txn_puts >= PUTS_PER_TXN && store_commit(o, errbuf, errlen))
		return ORDER_ERROR;
	return ORDER_HELD;
}

static int disk_has(struct order *o, const unsigned char *key, size_t klen,
		    char *errbuf, size_t errlen)
{
	if (!o->disk_rows)
		return 0;
	if (store_txn(o, errbuf, errlen))
		return -1;
	MDB_val k = { klen, (void *)key }, v;
	int rc = mdb_get(o->txn, o->dbi, &k, &v);
	if (rc == 0)
		return 1;
	if (rc == MDB_NOTFOUND)
		return 0;
	fail(errbuf, errlen, "order: spill store %s: read: %s", o->store_path,
	     store_error(rc));
	return -1;
}

/* The owner's answer whether row went out before: 1 yes, 0 no, -1 with
 * errbuf set. */
static int ask_seen(struct order *o, const struct order_row *row,
		    char *errbuf, size_t errlen)
{
	int seen = o->seen(o->seen_arg, row->table, row->table_len, row->key,
			   row->key_len, row->updated);

	if (seen < 0)
		fail(errbuf, errlen, "order: asking whether a row was released before failed");
	return seen;
}

enum order_add_result order_add(struct order *o, const struct order_row *row,
				char *errbuf, size_t errlen)
{
	if (row->table_len > UINT32_MAX / 4 || row->key_len > UINT32_MAX / 4 ||
	    row->line_len > UINT32_MAX / 4) {
		fail(errbuf, errlen, "order: a row of more than 1 GiB");
		return ORDER_ERROR;
	}
	if (row->table_len && memchr(row->table, 0, row->table_len)) {
		fail(errbuf, errlen, "order: a table name holds a NUL byte");
		return ORDER_ERROR;
	}
	uint64_t hash = idhash_row(IDHASH_SEED_A, row->table, row->table_len,
				   row->key, row->key_len, row->updated);
	if (o->mem_rows && slots_find(o, hash, row->table, row->table_len,
				      row->key, row->key_len, row->updated)) {
		o->duplicates++;
		return ORDER_DUPLICATE;
	}
	size_t ilen = row->table_len + 1 + row->key_len;
	bool long_ident = ilen > BODY_MAX;
	unsigned char key[KEY_MAX];
	size_t klen = 0;
	bool below = hlc_le(row->updated, o->released);
	if (!below && hlc_le(row->updated, o->seen_upto)) {
		int seen = ask_seen(o, row, errbuf, errlen);

		if (seen < 0)
			return ORDER_ERROR;
		if (seen) {
			o->duplicates++;
			return ORDER_DUPLICATE;
		}
	}
	if (!below && o->partial) {
		klen = make_key(row->updated, row->table, row->table_len,
				row->key, row->key_len, key);
		below = bytes_cmp(key, klen, o->mark, o->mark_len) <= 0;
	}
	if (below) {
		if (!klen)
			klen = make_key(row->updated, row->table,
					row->table_len, row->key, row->key_len,
					key);
		int held = disk_has(o, key, klen, errbuf, errlen);
		if (held < 0)
			return ORDER_ERROR;
		int seen = held ? 1 : ask_seen(o, row, errbuf, errlen);
		if (seen < 0)
			return ORDER_ERROR;
		if (seen) {
			o->duplicates++;
			return ORDER_DUPLICATE;
		}
		o->late++;
		return ORDER_LATE;
	}
	size_t alloc = sizeof(struct hrow) + ilen + row->line_len +
		       (long_ident ? FP_LEN : 0);
	if (o->budget && memory_admit(o, alloc)) {
		if (o->disk_rows) {
			klen = make_key(row->updated, row->table,
					row->table_len, row->key, row->key_len,
					key);
			int held = disk_has(o, key, klen, errbuf, errlen);
			if (held < 0)
				return ORDER_ERROR;
			if (held) {
				o->duplicates++;
				return ORDER_DUPLICATE;
			}
		}
		enum order_add_result res = add_to_memory(o, row, hash, alloc,
							  long_ident);
		if (res == ORDER_ERROR)
			fail(errbuf, errlen, "order: out of memory");
		return res;
	}
	if (!klen)
		klen = make_key(row->updated, row->table, row->table_len,
				row->key, row->key_len, key);
	return add_to_disk(o, row, key, klen, long_ident, errbuf, errlen);
}

/* Sort the memory rows <= resolved into held[0, ready_n), the others
 * after them in arrival order. */
static void memory_partition(struct order *o, crdb_hlc resolved)
{
	size_t n = o->held_n - o->ready_pos;
	struct hent *h = o->held + o->ready_pos;
	size_t le = 0, gt = 0;
	crdb_hlc tail_min = hlc_max;
	for (size_t i = 0; i < n; i++) {
		crdb_hlc u = { h[i].wall, h[i].logical };
		if (hlc_le(u, resolved)) {
			o->held[le++] = h[i];
		} else {
			o->scratch[gt++] = h[i];
			if (!hlc_le(tail_min, u))
				tail_min = u;
		}
	}
	memcpy(o->held + le, o->scratch, gt * sizeof(*h));
	o->held_n = n;
	o->ready_pos = 0;
	o->ready_n = le;
	o->tail_min = tail_min;
	hent_sort(o, o->held, o->scratch, le);
}

/* Drop the released entries from the front of held. */
static void memory_compact(struct order *o)
{
	if (!o->ready_pos)
		return;
	size_t n = o->held_n - o->ready_pos;
	memmove(o->held, o->held + o->ready_pos, n * sizeof(*o->held));
	o->held_n = n;
	o->ready_n -= o->ready_pos;
	o->ready_pos = 0;
}

static void memory_drop(struct order *o, struct hrow *r)
{
	slots_remove(o, r);
	o->mem_rows--;
	o->mem_data -= (uint64_t)r->table_len + r->key_len + r->line_len;
	size_t n = sizeof(*r) + hrow_ident_len(r) + r->line_len +
		   (r->long_ident ? FP_LEN : 0);

	o->mem_alloc -= alloc_cost(row_alloc_size(n));
	row_release(o, r, n);
}

/* The next row of a release: from memory or from disk, whichever sorts
 * first. */
struct pick {
	struct hent ent;             /* mem's entry */
	struct hrow *mem;
	struct drow *disk;
	struct batch *batch;
	struct order_row row;
};

static int pick_next(struct order *o, struct dreader *dr, crdb_hlc resolved,
		     struct pick *p, char *errbuf, size_t errlen)
{
	struct hrow *m = o->ready_pos < o->ready_n
			 ? o->held[o->ready_pos].row : NULL;
	struct drow *d;
	if (dreader_peek(o, dr, resolved, &d, errbuf, errlen))
		return -1;
	if (m && d) {
		int c;
		if (!hlc_eq(m->updated, d->updated)) {
			c = hlc_le(m->updated, d->updated) ? -1 : 1;
		} else {
			unsigned char buf[BODY_MAX];
			size_t len;
			const unsigned char *b = hrow_body(m, buf, &len);
			struct batch *bt = &dr->b[dr->cb];
			c = bytes_cmp(b, len,
				      bt->buf + d->key_off + HLC_KEY_LEN,
				      d->key_len - HLC_KEY_LEN);
		}
		if (c < 0)
			d = NULL;
		else
			m = NULL;
	}
	p->mem = m;
	p->disk = d;
	if (m) {
		p->ent = o->held[o->ready_pos];
		p->row = (struct order_row){
			.updated = m->updated, .op = (crdb_op)m->op,
			.table = m->data, .table_len = m->table_len,
			.key = m->data + m->table_len + 1,
			.key_len = m->key_len,
			.line = m->data + hrow_ident_len(m),
			.line_len = m->line_len };
	} else if (d) {
		p->batch = &dr->b[dr->cb];
		const char *buf = (const char *)p->batch->buf;
		p->row = (struct order_row){
			.updated = d->updated, .op = (crdb_op)d->op,
			.table = buf + d->table_off,
			.table_len = d->table_len,
			.key = buf + d->ident_key_off,
			.key_len = d->ident_key_len,
			.line = buf + d->line_off, .line_len = d->line_len };
	}
	return 0;
}

/* Take the picked row out of its source's queue (not yet removed). */
static void pick_take(struct order *o, struct pick *p)
{
	if (p->mem)
		o->ready_pos++;
	else
		p->batch->idx++;
}

/* Remove a taken row from the order (delivered, or dropped). */
static int pick_remove(struct order *o, struct pick *p, char *errbuf,
		       size_t errlen)
{
	if (p->mem) {
		memory_drop(o, p->mem);
		return 0;
	}
	MDB_val k = { p->disk->key_len, p->batch->buf + p->disk->key_off };
	int rc = mdb_del(o->txn, o->dbi, &k, NULL);
	if (rc) {
		fail(errbuf, errlen, "order: spill store %s: delete: %s",
		     o->store_path, store_error(rc));
		return -1;
	}
	o->disk_rows--;
	o->disk_data -= p->disk->table_len + p->disk->ident_key_len +
			p->disk->line_len;
	return 0;
}

static size_t pick_key(const struct pick *p, unsigned char out[KEY_MAX])
{
	if (p->mem)
		return hrow_key(p->mem, out);
	memcpy(out, p->batch->buf + p->disk->key_off, p->disk->key_len);
	return p->disk->key_len;
}

/* The next row to deliver, dropping those of a store reloaded after a
 * restart that the owner says were released (at or below released). */
static int next_row(struct order *o, struct dreader *dr, crdb_hlc resolved,
		    struct pick *p, char *errbuf, size_t errlen)
{
	for (;;) {
		if (pick_next(o, dr, resolved, p, errbuf, errlen))
			return -1;
		if ((!p->mem && !p->disk) ||
		    (!hlc_le(p->row.updated, o->released) &&
		     !(p->disk && hlc_le(p->row.updated, o->reloaded_max))))
			return 0;
		int seen = o->seen(o->seen_arg, p->row.table,
				   p->row.table_len, p->row.key,
				   p->row.key_len, p->row.updated);
		if (seen < 0) {
			fail(errbuf, errlen, "order: asking whether a row was "
			     "released before failed");
			return -1;
		}
		if (!seen)
			return 0;
		pick_take(o, p);
		if (pick_remove(o, p, errbuf, errlen))
			return -1;
		o->duplicates++;
	}
}

static void disk_min_update(struct order *o)
{
	MDB_cursor *c;
	MDB_val k, v;
	if (!o->disk_rows || mdb_cursor_open(o->txn, o->dbi, &c))
		return;
	if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0)
		o->disk_min = hlc_decode(k.mv_data);
	mdb_cursor_close(c);
}

static bool release_fault;

void order_set_release_fault(bool fail)
{
	release_fault = fail;
}

long order_release(struct order *o, crdb_hlc resolved, size_t max_rows,
		   order_release_fn fn, void *arg, bool *more,
		   char *errbuf, size_t errlen)
{
	if (more)
		*more = false;
	if (release_fault) {
		fail(errbuf, errlen, "order: release refused (test fault)");
		return -1;
	}
	if (!hlc_le(o->released, resolved) ||
	    (o->partial && !hlc_le(o->releasing, resolved))) {
		char a[CRDB_HLC_BUFSIZE], b[CRDB_HLC_BUFSIZE];
		crdb_hlc_format(resolved, a);
		crdb_hlc_format(o->partial ? o->releasing : o->released, b);
		fail(errbuf, errlen, "order: resolved timestamp went "
		     "backwards (%s after %s)", a, b);
		return -1;
	}
	if (hlc_le(o->tail_min, resolved)) {
		memory_compact(o);
		memory_partition(o, resolved);
	}
	struct dreader dr = { 0 };
	long out = 0;
	int err = 0;
	if (o->disk_rows && hlc_le(o->disk_min, resolved)) {
		dr.active = true;
		int rc = store_txn(o, errbuf, errlen) ? -1
			 : mdb_cursor_open(o->txn, o->dbi, &dr.cur);
		if (rc) {
			if (rc > 0)
				fail(errbuf, errlen, "order: spill store %s: "
				     "%s", o->store_path, store_error(rc));
			return -1;
		}
	}
	struct pick cur, nxt;
	bool stopped = false;
	if (next_row(o, &dr, resolved, &cur, errbuf, errlen))
		err = -1;
	while (!err && (cur.mem || cur.disk)) {
		if (max_rows && (size_t)out == max_rows) {
			stopped = true;
			break;
		}
		pick_take(o, &cur);
		if (next_row(o, &dr, resolved, &nxt, errbuf, errlen)) {
			err = -1;
			break;
		}
		bool group_end = (!nxt.mem && !nxt.disk) ||
				 !hlc_eq(nxt.row.updated, cur.row.updated);
		if (fn(arg, &cur.row, group_end) < 0) {
			fail(errbuf, errlen, "order: the release callback "
			     "failed");
			if (cur.mem)
				o->held[--o->ready_pos] = cur.ent;
			err = -1;
			stopped = true;
			break;
		}
		out++;
		o->mark_len = pick_key(&cur, o->mark);
		if (pick_remove(o, &cur, errbuf, errlen)) {
			err = -1;
			break;
		}
		cur = nxt;
	}
	if (!err && !stopped) {
		o->released = resolved;
		o->partial = false;
	} else if (out > 0) {
		o->partial = true;
		o->releasing = resolved;
	}
	if (stopped && more)
		*more = true;
	dreader_done(&dr);
	if (o->txn) {
		disk_min_update(o);
		/* Durable: the removals wait for order_sync(), which the
		 * caller calls once the released rows are durable where they
		 * went; a crash before that finds them held again. */
		if (!o->durable && store_commit(o, err ? NULL : errbuf, errlen))
			err = -1;
	}
	if (o->ready_pos == o->ready_n)
		memory_compact(o);
	return err ? -1 : out;
}

int order_sync(struct order *o, char *errbuf, size_t errlen)
{
	if (!o->durable)
		return 0;
	/* The durable store has LMDB's default sync: the commit has
	 * fdatasync'ed the pages and written the meta page through its
	 * O_DSYNC descriptor before it returns; another sync would only
	 * add a flush. */
	return store_commit(o, errbuf, errlen);
}

void order_get_stats(const struct order *o, struct order_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->held_rows = o->mem_rows + o->disk_rows;
	out->held_bytes = o->mem_data + o->disk_data;
	out->memory_bytes = memory_bytes(o);
	out->spilled_rows = o->disk_rows;
	out->duplicates = o->duplicates;
	out->late = o->late;
	crdb_hlc oldest = hlc_max;
	if (o->ready_pos < o->ready_n) {
		crdb_hlc h = { o->held[o->ready_pos].wall,
			       o->held[o->ready_pos].logical };
		oldest = h;
	}
	if (o->ready_n < o->held_n && hlc_le(o->tail_min, oldest))
		oldest = o->tail_min;
	if (o->disk_rows && hlc_le(o->disk_min, oldest))
		oldest = o->disk_min;
	if (out->held_rows)
		out->oldest_held = oldest;
}
