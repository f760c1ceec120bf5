/*
 * journal.c: an ordered feed's released rows in an LMDB environment
 * (journal.h), with the checkpoint committed in the same transaction.
 *
 * Appended rows wait in this process (an arena of encoded records, with a
 * hash index for journal_seen) until journal_commit writes them in one
 * write transaction; no write transaction is ever open between calls, so
 * reads (subscribers replaying on the event loop) never meet one, and the
 * write lock is held for one commit only.
 *
 * Named databases and their records (all integers big-endian, so that
 * LMDB's byte-wise key order is numeric order):
 *
 *   rows     key   seq (8)
 *            value header (32):
 *                   0  layout version (1)     1  flags (bit 0: late)
 *                   2  op (crdb_op)           3  zero
 *                   4  table_len (4)          8  key_len (4)
 *                  12  updated wall (8)      20  updated logical (4)
 *                  24  written_ms (8)
 *                  then table, key and the line (the rest of the value)
 *   idents   key   updated wall (8), updated logical (4), hash (8) of
 *                  (table, key bytes): 20 bytes, under LMDB's 511
 *            data  seq (8): MDB_DUPSORT | MDB_DUPFIXED, one per row with
 *                  that key; a hit is confirmed by comparing the table and
 *                  key bytes of the row record (the hash may collide)
 *   marks    key   seq (8): the last row a resolved timestamp covers
 *                  (first_seq - 1 before any row)
 *            value resolved wall (8), logical (4)
 *   meta     key   "state"
 *            value layout version (4), epoch (4), first_seq (8),
 *                  last_seq (8), resolved wall (8), resolved logical (4),
 *                  zero (4), bytes (8): the rows' record bytes
 *
 * Durability: LMDB's default sync (the data pages fdatasync'ed, then the
 * meta page written with O_DSYNC) at every commit. MDB_NOMETASYNC would
 * save one of the two flushes, and lmdb.h says it keeps the database
 * consistent (ACI) but that an OS crash may undo the last commit: rows of
 * that commit may already have reached subscribers, and after the reboot
 * their seqs would be handed out again to other rows. The feed commits
 * once per group (a resolved window, or a few milliseconds), so the
 * second flush is paid per group, not per row.
 *
 * Map size and a full map: the map is 2 x max_bytes (at least 64 MiB;
 * 8 GiB without a max_bytes);
 * max_bytes is a soft bound kept by journal_trim, so the other half is
 * headroom. A commit that does not fit (MDB_MAP_FULL, or the disk:
 * ENOSPC/EDQUOT) is aborted whole: JOURNAL_FULL. Deleting needs free
 * pages too (LMDB copies the pages it changes), so a trim or reset that
 * meets a full map grows the map by a margin for that transaction and
 * puts it back after; the pages it freed then take the next commits.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "journal.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LAYOUT_VERSION 1u
#define ROW_HEADER 32u
#define IDENT_KEY 20u
#define STATE_LEN 48u
#define MARK_LEN 12u
#define ROW_FLAG_LATE 1u
#define MAP_MIN ((uint64_t)64 << 20)
/* No size limit: the map only reserves address space, but valgrind's is
 * small (a 64 GiB map fails there with EINVAL). */
#define MAP_UNBOUNDED ((uint64_t)8 << 30)
#define TRIM_BATCH 10000u
/* What a trim or reset may add to a full map for its own transaction. */
#define TRIM_MARGIN_MIN ((size_t)16 << 20)

/* The meta database's one record. */
struct jstate {
	uint32_t epoch;
	uint64_t first_seq, last_seq;
	crdb_hlc resolved;
	uint64_t bytes;
};

/* One appended row, not yet committed: its record in the arena. */
struct pending {
	size_t off, len;
	uint64_t hash;
	crdb_hlc updated;
};

/* A pending row's idents record, sorted before the commit writes it. */
struct ident_put {
	unsigned char key[IDENT_KEY];
	unsigned char seq[8];
};

struct journal {
	char dir[4096];
	MDB_env *env;
	MDB_dbi rows, idents, marks, meta;
	bool readonly;
	struct journal_limits lim;
	size_t map_size;
	struct jstate st;       /* writer: the committed state */
	unsigned char *arena;   /* appended records, back to back */
	size_t arena_len, arena_cap;
	struct pending *pend;
	struct ident_put *iputs; /* pend_cap of them, filled by a commit */
	size_t npend, pend_cap;
	uint32_t *slots;        /* open addressing over pend: index + 1 */
	size_t nslots;
	MDB_txn *rtxn;          /* a reset read transaction, renewed per use */
	bool rtxn_busy;
	uint64_t commits, commit_errors, trimmed;
};

/* ---- byte order ---- */

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_hlc(unsigned char *p, crdb_hlc h)
{
	put_u64(p, (uint64_t)h.wall);
	put_u32(p + 8, (uint32_t)h.logical);
}

static crdb_hlc get_hlc(const unsigned char *p)
{
	crdb_hlc h = { (int64_t)get_u64(p), (int32_t)get_u32(p + 8) };
	return h;
}

/* ---- errors ---- */

static void jerr(const struct journal *j, char *errbuf, size_t errlen,
		 const char *what, int rc)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "journal %s: %s: %s", j->dir, what,
			 mdb_strerror(rc));
}

static bool is_full(int rc)
{
	return rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT;
}

/* ---- idents ---- */

static uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static uint64_t ident_hash_default(const char *table, size_t table_len,
				   const char *key, size_t key_len)
{
	unsigned char len[4];
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	put_u32(len, (uint32_t)table_len);
	h = hash_fnv1a(h, len, sizeof(len));
	h = hash_fnv1a(h, table, table_len);
	h = hash_fnv1a(h, key, key_len);
	/* splitmix64's finaliser: FNV's low bits are weak for the index. */
	h = (h ^ (h >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	h = (h ^ (h >> 27)) * UINT64_C(0x94d049bb133111eb);
	return h ^ (h >> 31);
}

static journal_ident_hash_fn *ident_hash = ident_hash_default;

void journal_set_ident_hash(journal_ident_hash_fn *fn)
{
	ident_hash = fn ? fn : ident_hash_default;
}

static int commit_fault = JOURNAL_OK;

void journal_set_commit_fault(int fault)
{
	commit_fault = fault;
}

static void ident_key(unsigned char out[IDENT_KEY], crdb_hlc updated,
		      uint64_t hash)
{
	put_hlc(out, updated);
	put_u64(out + 12, hash);
}

/* ---- row records ---- */

static size_t record_len(const struct journal_row *row)
{
	return ROW_HEADER + row->table_len + row->key_len + row->line_len;
}

static void record_encode(unsigned char *p, const struct journal_row *row,
			  int64_t written_ms)
{
	p[0] = LAYOUT_VERSION;
	p[1] = row->late ? ROW_FLAG_LATE : 0;
	p[2] = (unsigned char)row->op;
	p[3] = 0;
	put_u32(p + 4, (uint32_t)row->table_len);
	put_u32(p + 8, (uint32_t)row->key_len);
	put_hlc(p + 12, row->updated);
	put_u64(p + 24, (uint64_t)written_ms);
	p += ROW_HEADER;
	if (row->table_len)
		memcpy(p, row->table, row->table_len);
	p += row->table_len;
	if (row->key_len)
		memcpy(p, row->key, row->key_len);
	p += row->key_len;
	if (row->line_len)
		memcpy(p, row->line, row->line_len);
}

/* Decode a record (pointers into it); false when it is malformed. */
static bool record_decode(const unsigned char *p, size_t len, uint64_t seq,
			  struct journal_row *row)
{
	uint32_t table_len, key_len;

	if (len < ROW_HEADER || p[0] != LAYOUT_VERSION)
		return false;
	table_len = get_u32(p + 4);
	key_len = get_u32(p + 8);
	if ((uint64_t)table_len + key_len > len - ROW_HEADER)
		return false;
	row->seq = seq;
	row->late = (p[1] & ROW_FLAG_LATE) != 0;
	row->op = (crdb_op)p[2];
	row->updated = get_hlc(p + 12);
	row->written_ms = (int64_t)get_u64(p + 24);
	row->table = (const char *)p + ROW_HEADER;
	row->table_len = table_len;
	row->key = row->table + table_len;
	row->key_len = key_len;
	row->line = row->key + key_len;
	row->line_len = len - ROW_HEADER - table_len - key_len;
	return true;
}

static bool same_ident(const struct journal_row *row, const char *table,
		       size_t table_len, const char *key, size_t key_len)
{
	return row->table_len == table_len && row->key_len == key_len &&
	       (!table_len || memcmp(row->table, table, table_len) == 0) &&
	       (!key_len || memcmp(row->key, key, key_len) == 0);
}

/* ---- the state record ---- */

static char state_key[] = "state";

static void state_encode(unsigned char out[STATE_LEN], const struct jstate *s)
{
	memset(out, 0, STATE_LEN);
	put_u32(out, LAYOUT_VERSION);
	put_u32(out + 4, s->epoch);
	put_u64(out + 8, s->first_seq);
	put_u64(out + 16, s->last_seq);
	put_hlc(out + 24, s->resolved);
	put_u64(out + 40, s->bytes);
}

/* 0, MDB_NOTFOUND, or an error; a bad record: errbuf set, -1. */
static int state_read(struct journal *j, MDB_txn *txn, struct jstate *s,
		      char *errbuf, size_t errlen)
{
	MDB_val k = { 5, state_key }, v;
	int rc = mdb_get(txn, j->meta, &k, &v);

	if (rc)
		return rc;
	if (v.mv_size != STATE_LEN || get_u32(v.mv_data) != LAYOUT_VERSION) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "journal %s: its state record is not of layout version %u",
				 j->dir, LAYOUT_VERSION);
		return -1;
	}
	s->epoch = get_u32((const unsigned char *)v.mv_data + 4);
	s->first_seq = get_u64((const unsigned char *)v.mv_data + 8);
	s->last_seq = get_u64((const unsigned char *)v.mv_data + 16);
	s->resolved = get_hlc((const unsigned char *)v.mv_data + 24);
	s->bytes = get_u64((const unsigned char *)v.mv_data + 40);
	return 0;
}

static int state_write(struct journal *j, MDB_txn *txn, const struct jstate *s)
{
	unsigned char buf[STATE_LEN];
	MDB_val k = { 5, state_key }, v = { STATE_LEN, buf };

	state_encode(buf, s);
	return mdb_put(txn, j->meta, &k, &v, 0);
}

/* ---- read transactions ---- */

/* A read transaction: the cached one when free, or a new one. */
static int rtxn_begin(struct journal *j, MDB_txn **out, char *errbuf,
		      size_t errlen)
{
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!j->rtxn_busy && j->rtxn) {
			rc = mdb_txn_renew(j->rtxn);
			if (!rc) {
				j->rtxn_busy = true;
				*out = j->rtxn;
				return 0;
			}
			mdb_txn_abort(j->rtxn);
			j->rtxn = NULL;
		} else {
			rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, out);
			if (!rc) {
				if (!j->rtxn_busy && !j->rtxn) {
					j->rtxn = *out;
					j->rtxn_busy = true;
				}
				return 0;
			}
		}
		/* The writer (another process) grew the map: adopt its size. */
		if (rc != MDB_MAP_RESIZED || mdb_env_set_mapsize(j->env, 0))
			break;
	}
	jerr(j, errbuf, errlen, "mdb_txn_begin (read)", rc);
	return -1;
}

static void rtxn_end(struct journal *j, MDB_txn *txn)
{
	if (txn == j->rtxn) {
		mdb_txn_reset(txn);
		j->rtxn_busy = false;
	} else {
		mdb_txn_abort(txn);
	}
}

/* ---- open, close ---- */

int journal_path(const char *state_dir, const char *feed, char *buf,
		 size_t buflen)
{
	int n = snprintf(buf, buflen, "%s/%s.journal", state_dir, feed);
	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}

static size_t map_size_for(const struct journal_limits *lim)
{
	uint64_t size = MAP_UNBOUNDED;

	if (lim && lim->max_bytes) {
		size = lim->max_bytes > UINT64_MAX / 2 ? UINT64_MAX : lim->max_bytes * 2;
		if (size < MAP_MIN)
			size = MAP_MIN;
	}
	if (size > SIZE_MAX / 2)
		size = SIZE_MAX / 2;
	return (size_t)size;
}

/* Open the four databases and read (or, writing, create) the state. */
static int open_dbs(struct journal *j, char *errbuf, size_t errlen)
{
	unsigned create = j->readonly ? 0 : MDB_CREATE;
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(j->env, NULL, j->readonly ? MDB_RDONLY : 0, &txn);
	if (rc) {
		jerr(j, errbuf, errlen, "mdb_txn_begin", rc);
		return -1;
	}
	if ((rc = mdb_dbi_open(txn, "rows", create, &j->rows)) ||
	    (rc = mdb_dbi_open(txn, "idents", create | MDB_DUPSORT | MDB_DUPFIXED,
			       &j->idents)) ||
	    (rc = mdb_dbi_open(txn, "marks", create, &j->marks)) ||
	    (rc = mdb_dbi_open(txn, "meta", create, &j->meta))) {
		jerr(j, errbuf, errlen, rc == MDB_NOTFOUND ?
		     "mdb_dbi_open (not a journal, or never written)" : "mdb_dbi_open", rc);
		mdb_txn_abort(txn);
		return -1;
	}
	rc = state_read(j, txn, &j->st, errbuf, errlen);
	if (rc == MDB_NOTFOUND && !j->readonly) {
		j->st = (struct jstate){ .epoch = 1, .first_seq = 1, .last_seq = 0 };
		rc = state_write(j, txn, &j->st);
		if (rc) {
			jerr(j, errbuf, errlen, "mdb_put (state)", rc);
			mdb_txn_abort(txn);
			return -1;
		}
	} else if (rc) {
		if (rc > 0 || rc == MDB_NOTFOUND || rc < -1)
			jerr(j, errbuf, errlen, "mdb_get (state)", rc);
		mdb_txn_abort(txn);
		return -1;
	}
	/* Committing (a read transaction too) keeps the database handles. */
	rc = mdb_txn_commit(txn);
	if (rc) {
		jerr(j, errbuf, errlen, "mdb_txn_commit (open)", rc);
		return -1;
	}
	return 0;
}

struct journal *journal_open(const char *dir, const struct journal_limits *lim,
			     unsigned flags, char *errbuf, size_t errlen)
{
	struct journal *j;
	struct stat sb;
	int rc;

	if (strlen(dir) >= sizeof(j->dir)) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "journal %.64s...: the path is too long", dir);
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "journal %s: out of memory", dir);
		return NULL;
	}
	strcpy(j->dir, dir);
	j->readonly = (flags & JOURNAL_READONLY) != 0;
	if (lim)
		j->lim = *lim;
	j->map_size = map_size_for(lim);
	if (j->readonly) {
		if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
		    access(dir, R_OK | X_OK) != 0) {
			jerr(j, errbuf, errlen, "cannot read the directory",
			     errno ? errno : ENOTDIR);
			goto fail;
		}
	} else if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		jerr(j, errbuf, errlen, "mkdir", errno);
		goto fail;
	}
	rc = mdb_env_create(&j->env);
	if (rc) {
		jerr(j, errbuf, errlen, "mdb_env_create", rc);
		goto fail;
	}
	rc = mdb_env_set_maxdbs(j->env, 4);
	/* A reader takes the map size the writer recorded. */
	if (!rc && !j->readonly)
		rc = mdb_env_set_mapsize(j->env, j->map_size);
	if (rc) {
		jerr(j, errbuf, errlen, "mdb_env_set_mapsize", rc);
		goto fail;
	}
	rc = mdb_env_open(j->env, dir, MDB_NOTLS | (j->readonly ? MDB_RDONLY : 0) |
			  (flags & JOURNAL_NOMETASYNC ? MDB_NOMETASYNC : 0), 0640);
	if (rc) {
		jerr(j, errbuf, errlen, rc == EACCES && j->readonly ?
		     "mdb_env_open (a reader needs write access to lock.mdb)" :
		     "mdb_env_open", rc);
		goto fail;
	}
	if (open_dbs(j, errbuf, errlen))
		goto fail;
	return j;
fail:
	journal_close(j);
	return NULL;
}

static void pending_clear(struct journal *j)
{
	j->arena_len = 0;
	j->npend = 0;
	if (j->slots)
		memset(j->slots, 0, j->nslots * sizeof(*j->slots));
}

void journal_abort(struct journal *j)
{
	pending_clear(j);
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->rtxn)
		mdb_txn_abort(j->rtxn);
	if (j->env)
		mdb_env_close(j->env);
	free(j->arena);
	free(j->pend);
	free(j->iputs);
	free(j->slots);
	free(j);
}

int journal_get_checkpoint(struct journal *j, struct journal_checkpoint *out,
			   char *errbuf, size_t errlen)
{
	struct jstate s;
	MDB_txn *txn;
	int rc;

	if (rtxn_begin(j, &txn, errbuf, errlen))
		return -1;
	rc = state_read(j, txn, &s, errbuf, errlen);
	rtxn_end(j, txn);
	if (rc) {
		if (rc != -1)
			jerr(j, errbuf, errlen, "mdb_get (state)", rc);
		return -1;
	}
	out->resolved = s.resolved;
	out->last_seq = s.last_seq;
	out->first_seq = s.first_seq;
	out->epoch = s.epoch;
	return 0;
}

/* ---- appending ---- */

static size_t slot_of(uint64_t hash, crdb_hlc updated, size_t nslots)
{
	uint64_t h = hash ^ ((uint64_t)updated.wall * UINT64_C(0x9e3779b97f4a7c15)) ^
		     (uint64_t)(uint32_t)updated.logical;
	return (size_t)(h & (nslots - 1));
}

static void slots_insert(struct journal *j, size_t idx)
{
	size_t s = slot_of(j->pend[idx].hash, j->pend[idx].updated, j->nslots);
	while (j->slots[s])
		s = (s + 1) & (j->nslots - 1);
	j->slots[s] = (uint32_t)(idx + 1);
}

/* Room for one more pending row: its entry and its index slot. */
static int pending_reserve(struct journal *j, size_t reclen)
{
	if (j->npend == j->pend_cap) {
		size_t cap = j->pend_cap ? j->pend_cap * 2 : 256;
		/* The index holds entry numbers + 1 in 32 bits. */
		if (cap >= UINT32_MAX / 2)
			return -1;
		struct pending *p = realloc(j->pend, cap * sizeof(*p));
		if (!p)
			return -1;
		j->pend = p;
		struct ident_put *ip = realloc(j->iputs, cap * sizeof(*ip));
		if (!ip)
			return -1;
		j->iputs = ip;
		j->pend_cap = cap;
	}
	if ((j->npend + 1) * 2 > j->nslots) {
		size_t n = j->nslots ? j->nslots * 2 : 512;
		uint32_t *slots = calloc(n, sizeof(*slots));
		if (!slots)
			return -1;
		free(j->slots);
		j->slots = slots;
		j->nslots = n;
		for (size_t i = 0; i < j->npend; i++)
			slots_insert(j, i);
	}
	if (j->arena_len + reclen > j->arena_cap) {
		size_t cap = j->arena_cap ? j->arena_cap : 65536;
		while (cap < j->arena_len + reclen)
			cap *= 2;
		unsigned char *a = realloc(j->arena, cap);
		if (!a)
			return -1;
		j->arena = a;
		j->arena_cap = cap;
	}
	return 0;
}

static int64_t now_realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int journal_append(struct journal *j, const struct journal_row *row,
		   char *errbuf, size_t errlen)
{
	uint64_t expected = j->st.last_seq + j->npend + 1;
	size_t reclen;

	if (j->readonly) {
		jerr(j, errbuf, errlen, "journal_append", EACCES);
		return JOURNAL_ERROR;
	}
	if (row->seq != expected) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "journal %s: row seq %llu appended where %llu comes next",
				 j->dir, (unsigned long long)row->seq,
				 (unsigned long long)expected);
		return JOURNAL_ERROR;
	}
	if (row->table_len > UINT32_MAX || row->key_len > UINT32_MAX ||
	    row->line_len > SIZE_MAX / 4) {
		jerr(j, errbuf, errlen, "journal_append (a row too large)", EINVAL);
		return JOURNAL_ERROR;
	}
	reclen = record_len(row);
	/* What can never fit the map is refused before it is buffered. */
	if (j->arena_len + reclen > j->map_size / 2) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "journal %s: appended rows would exceed half the map (%zu bytes): commit first",
				 j->dir, j->map_size / 2);
		return JOURNAL_FULL;
	}
	if (pending_reserve(j, reclen)) {
		jerr(j, errbuf, errlen, "journal_append", ENOMEM);
		return JOURNAL_ERROR;
	}
	record_encode(j->arena + j->arena_len, row, now_realtime_ms());
	j->pend[j->npend] = (struct pending){
		.off = j->arena_len, .len = reclen, .updated = row->updated,
		.hash = ident_hash(row->table, row->table_len, row->key, row->key_len),
	};
	j->arena_len += reclen;
	slots_insert(j, j->npend);
	j->npend++;
	return JOURNAL_OK;
}

/* ---- journal_seen ---- */

static int seen_pending(struct journal *j, uint64_t hash, crdb_hlc updated,
			const char *table, size_t table_len, const char *key,
			size_t key_len, uint64_t *seq)
{
	struct journal_row row;

	if (!j->npend)
		return 0;
	for (size_t s = slot_of(hash, updated, j->nslots); j->slots[s];
	     s = (s + 1) & (j->nslots - 1)) {
		const struct pending *p = &j->pend[j->slots[s] - 1];
		if (p->hash != hash || crdb_hlc_compare(p->updated, updated) != 0)
			continue;
		record_decode(j->arena + p->off, p->len, 0, &row);
		if (same_ident(&row, table, table_len, key, key_len)) {
			*seq = j->st.last_seq + j->slots[s];
			return 1;
		}
	}
	return 0;
}

int journal_seen(struct journal *j, const char *table, size_t table_len,
		 const char *key, size_t key_len, crdb_hlc updated,
		 uint64_t *seq, char *errbuf, size_t errlen)
{
	uint64_t hash = ident_hash(table, table_len, key, key_len);
	unsigned char kb[IDENT_KEY], sb[8];
	MDB_val k = { IDENT_KEY, kb }, v, rk = { 8, sb }, rv;
	struct journal_row row;
	MDB_cursor *cur;
	MDB_txn *txn;
	int rc, found = 0;

	if (seen_pending(j, hash, updated, table, table_len, key, key_len, seq))
		return 1;
	if (rtxn_begin(j, &txn, errbuf, errlen))
		return -1;
	rc = mdb_cursor_open(txn, j->idents, &cur);
	if (rc) {
		jerr(j, errbuf, errlen, "mdb_cursor_open (idents)", rc);
		rtxn_end(j, txn);
		return -1;
	}
	ident_key(kb, updated, hash);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
		if (v.mv_size != 8)
			continue;
		memcpy(sb, v.mv_data, 8);
		if (mdb_get(txn, j->rows, &rk, &rv) ||
		    !record_decode(rv.mv_data, rv.mv_size, 0, &row))
			continue;
		if (same_ident(&row, table, table_len, key, key_len)) {
			*seq = get_u64(sb);
			found = 1;
			break;
		}
	}
	mdb_cursor_close(cur);
	rtxn_end(j, txn);
	if (!found && rc != MDB_NOTFOUND) {
		jerr(j, errbuf, errlen, "mdb_cursor_get (idents)", rc);
		return -1;
	}
	return found;
}

/* ---- commit ---- */

static int put_mark(struct journal *j, MDB_txn *txn, uint64_t seq,
		    crdb_hlc resolved)
{
	unsigned char kb[8], vb[MARK_LEN];
	MDB_val k = { 8, kb }, v = { MARK_LEN, vb };

	put_u64(kb, seq);
	put_hlc(vb, resolved);
	return mdb_put(txn, j->marks, &k, &v, 0);
}

/* The pending rows under seqs first_seq...: seqs only grow, so each is
 * appended, through one cursor that stays at the end of the tree. */
static int put_rows(struct journal *j, MDB_txn *txn, uint64_t first_seq,
		    const char **what)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, j->rows, &cur);

	if (rc) {
		*what = "mdb_cursor_open (rows)";
		return rc;
	}
	for (size_t i = 0; i < j->npend && !rc; i++) {
		const struct pending *p = &j->pend[i];
		unsigned char sb[8];
		MDB_val k = { 8, sb }, v = { p->len, j->arena + p->off };

		put_u64(sb, first_seq + i);
		rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
		if (rc)
			*what = "mdb_put (row)";
	}
	mdb_cursor_close(cur);
	return rc;
}

static int ident_put_compare(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ident_put));
}

/*
 * The pending rows' idents, in key order. A row's updated time is above
 * the resolved time of every earlier commit unless it came late, so in
 * key order nearly all of them sort after the database's last key and
 * are appended; the rest (late rows, a second row with the same key)
 * take LMDB's search.
 */
static int put_idents(struct journal *j, MDB_txn *txn, uint64_t first_seq,
		      const char **what)
{
	unsigned char last[IDENT_KEY];
	bool have_last = false;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (!j->npend)
		return 0;
	for (size_t i = 0; i < j->npend; i++) {
		ident_key(j->iputs[i].key, j->pend[i].updated, j->pend[i].hash);
		put_u64(j->iputs[i].seq, first_seq + i);
	}
	qsort(j->iputs, j->npend, sizeof(*j->iputs), ident_put_compare);
	rc = mdb_cursor_open(txn, j->idents, &cur);
	if (rc) {
		*what = "mdb_cursor_open (idents)";
		return rc;
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (!rc && k.mv_size == IDENT_KEY) {
		memcpy(last, k.mv_data, IDENT_KEY);
		have_last = true;
	}
	if (rc && rc != MDB_NOTFOUND) {
		*what = "mdb_cursor_get (idents)";
		mdb_cursor_close(cur);
		return rc;
	}
	rc = 0;
	for (size_t i = 0; i < j->npend && !rc; i++) {
		const struct ident_put *ip = &j->iputs[i];
		bool above = !have_last || memcmp(ip->key, last, IDENT_KEY) > 0;

		k = (MDB_val){ IDENT_KEY, (void *)ip->key };
		v = (MDB_val){ 8, (void *)ip->seq };
		rc = mdb_cursor_put(cur, &k, &v, above ? MDB_APPEND : 0);
		if (above) {
			memcpy(last, ip->key, IDENT_KEY);
			have_last = true;
		}
	}
	if (rc)
		*what = "mdb_put (ident)";
	mdb_cursor_close(cur);
	return rc;
}

/* The write transaction's body; rc and *what say where it failed. */
static int commit_body(struct journal *j, MDB_txn *txn, crdb_hlc resolved,
		       struct jstate *next, const char **what, char *errbuf,
		       size_t errlen)
{
	struct jstate now;
	int rc;

	rc = state_read(j, txn, &now, errbuf, errlen);
	if (rc == -1)
		return -1;
	if (rc) {
		*what = "mdb_get (state)";
		return rc;
	}
	if (now.last_seq != j->st.last_seq || now.epoch != j->st.epoch) {
		*what = "another writer changed the journal";
		return EBUSY;
	}
	*next = now;
	rc = put_rows(j, txn, now.last_seq + 1, what);
	if (rc)
		return rc;
	rc = put_idents(j, txn, now.last_seq + 1, what);
	if (rc)
		return rc;
	next->last_seq = now.last_seq + j->npend;
	next->bytes = now.bytes + j->arena_len;
	if (!crdb_hlc_is_zero(resolved)) {
		next->resolved = resolved;
		rc = put_mark(j, txn, next->last_seq, resolved);
		if (rc) {
			*what = "mdb_put (mark)";
			return rc;
		}
	}
	rc = state_write(j, txn, next);
	if (rc)
		*what = "mdb_put (state)";
	return rc;
}

int journal_commit(struct journal *j, crdb_hlc resolved, char *errbuf,
		   size_t errlen)
{
	const char *what = "mdb_txn_begin";
	struct jstate next;
	MDB_txn *txn;
	int rc;

	if (j->readonly) {
		jerr(j, errbuf, errlen, "journal_commit", EACCES);
		return JOURNAL_ERROR;
	}
	if (!crdb_hlc_is_zero(resolved) && crdb_hlc_compare(resolved, j->st.resolved) < 0) {
		char a[CRDB_HLC_BUFSIZE], b[CRDB_HLC_BUFSIZE];
		crdb_hlc_format(resolved, a);
		crdb_hlc_format(j->st.resolved, b);
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "journal %s: resolved %s is older than the committed %s",
				 j->dir, a, b);
		pending_clear(j);
		j->commit_errors++;
		return JOURNAL_ERROR;
	}
	if (commit_fault != JOURNAL_OK) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "journal %s: commit refused (test fault)",
				 j->dir);
		pending_clear(j);
		j->commit_errors++;
		return commit_fault;
	}
	/* Nothing new: no transaction, no fsync. */
	if (!j->npend && (crdb_hlc_is_zero(resolved) ||
			  crdb_hlc_compare(resolved, j->st.resolved) == 0))
		return JOURNAL_OK;
	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (!rc) {
		rc = commit_body(j, txn, resolved, &next, &what, errbuf, errlen);
		if (rc) {
			mdb_txn_abort(txn);
		} else {
			what = "mdb_txn_commit";
			rc = mdb_txn_commit(txn);
		}
	}
	pending_clear(j);
	if (rc) {
		j->commit_errors++;
		if (rc != -1)
			jerr(j, errbuf, errlen, what, rc);
		return is_full(rc) ? JOURNAL_FULL : JOURNAL_ERROR;
	}
	j->st = next;
	j->commits++;
	return JOURNAL_OK;
}

/* ---- deleting: reset and trim ---- */

/*
 * Run one deleting transaction; on a full map, grow the map by a margin
 * and run it once more, then give the map its configured size back (LMDB
 * keeps it at least as large as the data). body returns an LMDB code and
 * sets *what.
 */
typedef int delete_body_fn(struct journal *j, MDB_txn *txn, void *arg,
			   struct jstate *next, const char **what);

static int run_deleting(struct journal *j, delete_body_fn *body, void *arg,
			char *errbuf, size_t errlen)
{
	const char *what = "mdb_txn_begin";
	bool grown = false;
	struct jstate next;
	MDB_txn *txn;
	int rc;

	for (;;) {
		rc = mdb_txn_begin(j->env, NULL, 0, &txn);
		if (!rc) {
			rc = body(j, txn, arg, &next, &what);
			if (rc) {
				mdb_txn_abort(txn);
			} else {
				what = "mdb_txn_commit";
				rc = mdb_txn_commit(txn);
			}
		}
		if (rc != MDB_MAP_FULL || grown)
			break;
		size_t margin = j->map_size / 8;
		if (margin < TRIM_MARGIN_MIN)
			margin = TRIM_MARGIN_MIN;
		rc = mdb_env_set_mapsize(j->env, j->map_size + margin);
		if (rc) {
			what = "mdb_env_set_mapsize (growing a full map)";
			break;
		}
		grown = true;
	}
	if (grown)
		mdb_env_set_mapsize(j->env, j->map_size);
	if (rc) {
		if (rc != -1)
			jerr(j, errbuf, errlen, what, rc);
		return is_full(rc) ? JOURNAL_FULL : JOURNAL_ERROR;
	}
	j->st = next;
	return JOURNAL_OK;
}

static int touch_body(struct journal *j, MDB_txn *txn, void *arg,
		      struct jstate *next, const char **what)
{
	int rc;

	*next = j->st;
	rc = state_write(j, txn, next);
	if (rc)
		*what = "mdb_put (state)";
	return rc;
}

static int reset_body(struct journal *j, MDB_txn *txn, void *arg,
		      struct jstate *next, const char **what)
{
	uint64_t next_seq = *(const uint64_t *)arg;
	int rc;

	if ((rc = mdb_drop(txn, j->rows, 0)) || (rc = mdb_drop(txn, j->idents, 0)) ||
	    (rc = mdb_drop(txn, j->marks, 0))) {
		*what = "mdb_drop";
		return rc;
	}
	*next = j->st;
	next->first_seq = next_seq;
	next->last_seq = next_seq - 1;
	next->epoch = j->st.epoch + 1;
	next->resolved = (crdb_hlc){ 0, 0 };
	next->bytes = 0;
	rc = state_write(j, txn, next);
	if (rc)
		*what = "mdb_put (state)";
	return rc;
}

int journal_reset(struct journal *j, uint64_t next_seq, char *errbuf,
		  size_t errlen)
{
	if (j->readonly) {
		jerr(j, errbuf, errlen, "journal_reset", EACCES);
		return JOURNAL_ERROR;
	}
	pending_clear(j);
	if (next_seq <= j->st.last_seq) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "journal %s: reset to next seq %llu would hand out seq %llu again",
				 j->dir, (unsigned long long)next_seq,
				 (unsigned long long)j->st.last_seq);
		return JOURNAL_ERROR;
	}
	int rc = run_deleting(j, reset_body, &next_seq, errbuf, errlen);
	/* As after a trim (journal_trim): free the dropped pages for use. */
	return rc ? rc : run_deleting(j, touch_body, NULL, errbuf, errlen);
}

struct trim_arg {
	int64_t now_ms;
	uint64_t keep_after;
	int64_t max_age_ms;
	uint64_t max_bytes;
	uint64_t deleted;   /* by this batch */
};

/* Delete marks below the newest one at or before last_deleted: that one
 * stays, the resolved timestamp the kept rows start after. */
static int trim_marks(struct journal *j, MDB_txn *txn, uint64_t last_deleted)
{
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v;
	MDB_cursor *cur;
	uint64_t keep = 0;
	int rc;

	rc = mdb_cursor_open(txn, j->marks, &cur);
	if (rc)
		return rc;
	put_u64(kb, last_deleted == UINT64_MAX ? UINT64_MAX : last_deleted + 1);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	else if (!rc)
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	if (!rc && get_u64(k.mv_data) <= last_deleted)
		keep = get_u64(k.mv_data);
	else if (rc && rc != MDB_NOTFOUND)
		goto out;
	rc = 0;
	if (keep) {
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		     !rc && get_u64(k.mv_data) < keep;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			rc = mdb_cursor_del(cur, 0);
			if (rc)
				goto out;
		}
		if (rc == MDB_NOTFOUND || !rc)
			rc = 0;
	}
out:
	mdb_cursor_close(cur);
	return rc;
}

static int trim_body(struct journal *j, MDB_txn *txn, void *argp,
		     struct jstate *next, const char **what)
{
	struct trim_arg *arg = argp;
	MDB_val k, v;
	MDB_cursor *cur;
	uint64_t last = 0;
	int rc;

	*next = j->st;
	arg->deleted = 0;
	rc = mdb_cursor_open(txn, j->rows, &cur);
	if (rc) {
		*what = "mdb_cursor_open (rows)";
		return rc;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     !rc && arg->deleted < TRIM_BATCH;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) {
		struct journal_row row;
		uint64_t seq = get_u64(k.mv_data);
		size_t len = v.mv_size;
		bool old, over;

		if (seq > arg->keep_after || !record_decode(v.mv_data, len, seq, &row))
			break;
		old = arg->max_age_ms > 0 && arg->now_ms - row.written_ms > arg->max_age_ms;
		over = arg->max_bytes > 0 && next->bytes > arg->max_bytes;
		if (!old && !over)
			break;
		unsigned char kb[IDENT_KEY], sb[8];
		MDB_val ik = { IDENT_KEY, kb }, iv = { 8, sb };
		ident_key(kb, row.updated, ident_hash(row.table, row.table_len,
							row.key, row.key_len));
		put_u64(sb, seq);
		rc = mdb_del(txn, j->idents, &ik, &iv);
		if (rc && rc != MDB_NOTFOUND) {
			*what = "mdb_del (ident)";
			goto out;
		}
		rc = mdb_cursor_del(cur, 0);
		if (rc) {
			*what = "mdb_cursor_del (row)";
			goto out;
		}
		next->bytes -= len < next->bytes ? len : next->bytes;
		last = seq;
		arg->deleted++;
	}
	if (rc && rc != MDB_NOTFOUND) {
		*what = "mdb_cursor_get (rows)";
		goto out;
	}
	rc = 0;
	if (arg->deleted) {
		rc = trim_marks(j, txn, last);
		if (rc) {
			*what = "trimming marks";
			goto out;
		}
		rc = state_write(j, txn, next);
		if (rc)
			*what = "mdb_put (state)";
	}
out:
	mdb_cursor_close(cur);
	return rc;
}

int journal_trim(struct journal *j, int64_t now_ms, uint64_t keep_after,
		 uint64_t *deleted, char *errbuf, size_t errlen)
{
	struct trim_arg arg = {
		.now_ms = now_ms, .keep_after = keep_after,
	};
	int rc;

	*deleted = 0;
	if (j->readonly) {
		jerr(j, errbuf, errlen, "journal_trim", EACCES);
		return JOURNAL_ERROR;
	}
	arg.max_age_ms = j->lim.max_age_ms;
	arg.max_bytes = j->lim.max_bytes;
	do {
		rc = run_deleting(j, trim_body, &arg, errbuf, errlen);
		if (rc)
			return rc;
		*deleted += arg.deleted;
		j->trimmed += arg.deleted;
	} while (arg.deleted == TRIM_BATCH);
	/* LMDB reuses the pages a transaction freed only from the second
	 * transaction after it (the previous meta page's tree stays intact
	 * for a crash): one more, small, so that the next commit has them. */
	if (*deleted)
		return run_deleting(j, touch_body, NULL, errbuf, errlen);
	return JOURNAL_OK;
}

/* ---- reading ---- */

/* The item at the cursors: a mark when its seq is before the row's (a mark
 * at S follows row S). */
int journal_read(struct journal *j, uint64_t after, bool include_mark_at_after,
		 size_t max_items, journal_read_fn fn, void *arg,
		 char *errbuf, size_t errlen)
{
	unsigned char rb[8], mb[8];
	MDB_val rk = { 8, rb }, rv, mk = { 8, mb }, mv;
	MDB_cursor *rows = NULL, *marks = NULL;
	const char *what = "mdb_cursor_open";
	MDB_txn *txn;
	size_t n = 0;
	int rrc, mrc, rc;

	if (rtxn_begin(j, &txn, errbuf, errlen))
		return -1;
	rc = mdb_cursor_open(txn, j->rows, &rows);
	if (!rc)
		rc = mdb_cursor_open(txn, j->marks, &marks);
	if (rc)
		goto fail;
	put_u64(rb, after == UINT64_MAX ? UINT64_MAX : after + 1);
	rrc = after == UINT64_MAX ? MDB_NOTFOUND :
	      mdb_cursor_get(rows, &rk, &rv, MDB_SET_RANGE);
	put_u64(mb, include_mark_at_after || after == UINT64_MAX ? after : after + 1);
	mrc = include_mark_at_after || after != UINT64_MAX ?
	      mdb_cursor_get(marks, &mk, &mv, MDB_SET_RANGE) : MDB_NOTFOUND;
	what = "mdb_cursor_get";
	while (n < max_items) {
		struct journal_item item = { 0 };
		struct journal_row row;
		int stop;

		if ((rrc && rrc != MDB_NOTFOUND) || (mrc && mrc != MDB_NOTFOUND)) {
			rc = rrc && rrc != MDB_NOTFOUND ? rrc : mrc;
			goto fail;
		}
		if (rrc && mrc)
			break;
		if (!mrc && (rrc || get_u64(mk.mv_data) < get_u64(rk.mv_data))) {
			if (mv.mv_size != MARK_LEN) {
				what = "a mark of the wrong size";
				rc = MDB_CORRUPTED;
				goto fail;
			}
			item.is_mark = true;
			item.mark_seq = get_u64(mk.mv_data);
			item.resolved = get_hlc(mv.mv_data);
			mrc = mdb_cursor_get(marks, &mk, &mv, MDB_NEXT);
		} else {
			if (!record_decode(rv.mv_data, rv.mv_size, get_u64(rk.mv_data), &row)) {
				what = "a malformed row record";
				rc = MDB_CORRUPTED;
				goto fail;
			}
			item.row = &row;
		}
		n++;
		stop = fn(&item, arg);
		if (!item.is_mark)
			rrc = mdb_cursor_get(rows, &rk, &rv, MDB_NEXT);
		if (stop)
			break;
	}
	mdb_cursor_close(rows);
	mdb_cursor_close(marks);
	rtxn_end(j, txn);
	return n > INT32_MAX ? INT32_MAX : (int)n;
fail:
	jerr(j, errbuf, errlen, what, rc);
	if (rows)
		mdb_cursor_close(rows);
	if (marks)
		mdb_cursor_close(marks);
	rtxn_end(j, txn);
	return -1;
}

/*
 * Marks' resolved timestamps never decrease with their seq, so the last
 * mark with resolved < since is found by bisecting the seq range, each
 * probe one MDB_SET_RANGE: [a, b) is the range not yet known to hold no
 * mark, lo the best mark so far.
 */
int journal_seek_time(struct journal *j, crdb_hlc since, uint64_t *after,
		      char *errbuf, size_t errlen)
{
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v;
	const char *what = "mdb_cursor_get (marks)";
	struct jstate s;
	MDB_cursor *cur;
	MDB_txn *txn;
	uint64_t lo = 0, hi, a, b;
	bool found = false;
	int rc;

	if (rtxn_begin(j, &txn, errbuf, errlen))
		return -1;
	rc = state_read(j, txn, &s, errbuf, errlen);
	if (rc) {
		rtxn_end(j, txn);
		if (rc != -1)
			jerr(j, errbuf, errlen, "mdb_get (state)", rc);
		return -1;
	}
	rc = mdb_cursor_open(txn, j->marks, &cur);
	if (rc) {
		rtxn_end(j, txn);
		jerr(j, errbuf, errlen, "mdb_cursor_open (marks)", rc);
		return -1;
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	if (rc || v.mv_size != MARK_LEN)
		goto done;
	lo = get_u64(k.mv_data);
	if (crdb_hlc_compare(get_hlc(v.mv_data), since) >= 0)
		goto done;
	found = true;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc || v.mv_size != MARK_LEN)
		goto done;
	hi = get_u64(k.mv_data);
	if (crdb_hlc_compare(get_hlc(v.mv_data), since) < 0) {
		lo = hi;
		goto done;
	}
	a = lo + 1;
	b = hi;
	while (a < b) {
		uint64_t mid = a + (b - a) / 2, m;
		put_u64(kb, mid);
		k.mv_size = 8;
		k.mv_data = kb;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc || v.mv_size != MARK_LEN)
			goto done;
		m = get_u64(k.mv_data);
		if (m >= b)
			b = mid;
		else if (crdb_hlc_compare(get_hlc(v.mv_data), since) < 0)
			lo = m, a = m + 1;
		else
			b = m;
	}
done:
	mdb_cursor_close(cur);
	rtxn_end(j, txn);
	if (rc && rc != MDB_NOTFOUND) {
		jerr(j, errbuf, errlen, what, rc);
		return -1;
	}
	if (!rc && v.mv_size != MARK_LEN) {
		jerr(j, errbuf, errlen, "a mark of the wrong size", MDB_CORRUPTED);
		return -1;
	}
	*after = found ? lo : s.first_seq - 1;
	return 0;
}

/* ---- stats ---- */

int journal_get_stats(struct journal *j, struct journal_stats *out,
		      char *errbuf, size_t errlen)
{
	MDB_val k, v;
	MDB_envinfo info;
	MDB_stat st;
	MDB_cursor *cur;
	struct jstate s;
	struct journal_row row;
	struct stat sb;
	MDB_txn *txn;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	out->commits = j->commits;
	out->commit_errors = j->commit_errors;
	out->trimmed = j->trimmed;
	if (mdb_env_info(j->env, &info) == 0)
		out->map_bytes = info.me_mapsize;
	if (mdb_env_get_fd(j->env, &fd) == 0 && fstat(fd, &sb) == 0)
		out->file_bytes = (uint64_t)sb.st_size;
	if (rtxn_begin(j, &txn, errbuf, errlen))
		return -1;
	rc = state_read(j, txn, &s, errbuf, errlen);
	if (rc) {
		rtxn_end(j, txn);
		if (rc != -1)
			jerr(j, errbuf, errlen, "mdb_get (state)", rc);
		return -1;
	}
	out->bytes = s.bytes;
	rc = mdb_stat(txn, j->rows, &st);
	if (!rc) {
		out->records = st.ms_entries;
		rc = mdb_cursor_open(txn, j->rows, &cur);
	}
	if (rc) {
		rtxn_end(j, txn);
		jerr(j, errbuf, errlen, "mdb_stat (rows)", rc);
		return -1;
	}
	if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 &&
	    record_decode(v.mv_data, v.mv_size, get_u64(k.mv_data), &row)) {
		out->oldest_seq = row.seq;
		out->oldest_updated = row.updated;
		out->oldest_written_ms = row.written_ms;
	}
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 &&
	    record_decode(v.mv_data, v.mv_size, get_u64(k.mv_data), &row)) {
		out->newest_seq = row.seq;
		out->newest_updated = row.updated;
	}
	mdb_cursor_close(cur);
	rtxn_end(j, txn);
	return 0;
}
