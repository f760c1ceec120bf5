/*
 * journal.h: an ordered feed's released rows, durable, in an LMDB
 * environment (the directory STATE_DIR/FEED.journal: data.mdb, lock.mdb).
 *
 * What it keeps (all in one environment, so one commit covers them):
 *   rows      seq -> the released row: its line bytes (with "seq" in them),
 *             updated, op, late flag, table, the wall time it was written;
 *   idents    (table, key bytes, updated) -> seq: a row already released
 *             is recognised when CockroachDB sends it again;
 *   marks     seq -> resolved HLC: a resolved timestamp that came after
 *             row seq (the newest one per seq);
 *   meta      the checkpoint (resolved HLC + last seq), the first seq the
 *             journal ever held (a reset moves it), and its delivery epoch.
 *
 * One writer (the daemon's event loop), any number of readers, in this
 * process (subscribers replaying) or another (crdbfeedctl replay, which
 * needs write access to lock.mdb as every LMDB reader does: root or the
 * daemon's user). One struct journal per directory per process: LMDB's
 * locks are per process, and a second handle's close would drop them.
 * Appended rows stay in this process until journal_commit, which is the
 * only write transaction: reads never wait for or meet one.
 *
 * Guarantees the feed relies on:
 * - journal_commit() makes every row appended since the last commit and
 *   the checkpoint durable together (fsync by LMDB's default sync), or
 *   none of them: a crash at any instant leaves the previous commit.
 * - A failed commit (the map or the disk full: JOURNAL_FULL; anything
 *   else: JOURNAL_ERROR) changes nothing a reader sees; the caller keeps
 *   its rows and tries again later.
 * - Sequence numbers are the caller's; the journal checks that each
 *   appended row has last_seq + 1.
 *
 * The library-style contract: no logging, no exit; errors in errbuf.
 */
#ifndef CRDBFEEDD_JOURNAL_H
#define CRDBFEEDD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdb.h"

struct journal;

enum journal_result {
	JOURNAL_OK = 0,
	JOURNAL_ERROR = -1,  /* errbuf says what */
	JOURNAL_FULL = -2    /* MDB_MAP_FULL or ENOSPC/EDQUOT: retry later */
};

struct journal_limits {
	int64_t max_age_ms;     /* journal_retention: 0 = no age limit */
	uint64_t max_bytes;     /* journal_max_size: rows' bytes kept at
				   most by journal_trim (a soft bound);
				   also sizes the map (2 x, at least 64 MiB;
				   0 = no size limit, an 8 GiB map) */
};

#define JOURNAL_READONLY 1u  /* open for reading only (crdbfeedctl) */
/* Benchmarks only: LMDB's MDB_NOMETASYNC, one fsync per commit instead of
 * two, but an OS crash may undo the last commit (journal.c says why the
 * journal does not use it). */
#define JOURNAL_NOMETASYNC 2u

/* Open (create unless JOURNAL_READONLY) the journal in dir (created, mode
 * 0750, when missing). NULL with errbuf set on failure. JOURNAL_READONLY
 * takes the map size the writer recorded (lim may be NULL) and fails with
 * one line naming dir when it is missing, unreadable, or not a journal.
 * A new journal starts with first_seq 1, epoch 1. */
struct journal *journal_open(const char *dir, const struct journal_limits *lim,
			     unsigned flags, char *errbuf, size_t errlen);
void journal_close(struct journal *j);

/* "STATE_DIR/FEED.journal" into buf; -1 when it does not fit. */
int journal_path(const char *state_dir, const char *feed, char *buf,
		 size_t buflen);

struct journal_checkpoint {
	crdb_hlc resolved;   /* newest resolved committed ({0,0}: none) */
	uint64_t last_seq;   /* newest row seq committed (first_seq - 1 when
				empty) */
	uint64_t first_seq;  /* the first seq this journal was started with */
	uint32_t epoch;      /* delivery epoch (journal_reset bumps it) */
};

/* The committed checkpoint (what a restart resumes from). */
int journal_get_checkpoint(struct journal *j, struct journal_checkpoint *out,
			   char *errbuf, size_t errlen);

/*
 * Was (table, key, updated) released before? 1 (and *seq), 0, or -1. Reads
 * the committed state plus what was appended in the open write (if any).
 */
int journal_seen(struct journal *j, const char *table, size_t table_len,
		 const char *key, size_t key_len, crdb_hlc updated,
		 uint64_t *seq, char *errbuf, size_t errlen);

/* One released row, as appended and as read back. */
struct journal_row {
	uint64_t seq;
	crdb_hlc updated;
	crdb_op op;
	bool late;              /* arrived below a resolved already released */
	const char *table;
	size_t table_len;
	const char *key;        /* the key's raw JSON bytes */
	size_t key_len;
	const char *line;       /* the line as subscribers get it, '\n' last */
	size_t line_len;
	int64_t written_ms;     /* CLOCK_REALTIME when appended (read back) */
};

/* Append a row to the open write (kept in this process until the commit;
 * written_ms is taken now, row->written_ms is ignored). row->seq must be
 * the last appended or committed seq + 1, or nothing changes and
 * JOURNAL_ERROR. JOURNAL_FULL when the rows appended would pass half the
 * map: commit first. */
int journal_append(struct journal *j, const struct journal_row *row,
		   char *errbuf, size_t errlen);

/*
 * Commit what was appended, with the checkpoint: resolved (zero = keep the
 * committed one; otherwise it must not go backwards) and the last seq.
 * A non-zero resolved also becomes the mark after the last row committed.
 * Also called with nothing appended, to commit a resolved timestamp alone
 * (nothing appended and resolved zero or unchanged: no transaction).
 * On JOURNAL_FULL/JOURNAL_ERROR the appended rows are discarded (the
 * caller still holds them and appends them again).
 */
int journal_commit(struct journal *j, crdb_hlc resolved, char *errbuf,
		   size_t errlen);
/* Discard what was appended since the last commit. */
void journal_abort(struct journal *j);

/*
 * Start over (the feed switched delivery, or was reset): delete every row,
 * ident and mark, keep counting: the next row gets next_seq (first_seq =
 * next_seq, which must be above the last seq committed: none is handed out
 * twice); the epoch is bumped and the resolved checkpoint cleared. What
 * was appended is discarded. Committed at once.
 */
int journal_reset(struct journal *j, uint64_t next_seq, char *errbuf,
		  size_t errlen);

/*
 * Retention: delete the oldest rows (with their idents and marks) while
 * older than max_age_ms (by written_ms, against now_ms) or while the
 * rows' bytes exceed max_bytes, and never a row with seq > keep_after
 * (what a sink has not had acknowledged: UINT64_MAX = no such bound).
 * The newest mark at or before the last row deleted stays (it tells where
 * the kept rows start). Sets *deleted. Committed at once, in batches of
 * 10,000 rows (a large trim does not hold one huge transaction). It works
 * on a full map too (the map grows by a margin for it).
 */
int journal_trim(struct journal *j, int64_t now_ms, uint64_t keep_after,
		 uint64_t *deleted, char *errbuf, size_t errlen);

/* What a reader gets, in seq order: a row, or a resolved mark after row
 * mark_seq. Pointers are valid during the callback only. Return 0 to go
 * on, 1 to stop after this item. The callback may append, commit and
 * read, but not trim, reset or close the journal. */
struct journal_item {
	bool is_mark;
	const struct journal_row *row;  /* !is_mark */
	crdb_hlc resolved;              /* is_mark */
	uint64_t mark_seq;              /* is_mark: the last row it covers */
};
typedef int (*journal_read_fn)(const struct journal_item *item, void *arg);

/*
 * Read committed items after seq `after` (rows with seq > after; marks with
 * mark_seq >= after + 1, and the mark at `after` itself only when
 * include_mark_at_after), at most max_items, in one read transaction.
 * Returns the number of items given (0: nothing more now), or -1.
 */
int journal_read(struct journal *j, uint64_t after, bool include_mark_at_after,
		 size_t max_items, journal_read_fn fn, void *arg,
		 char *errbuf, size_t errlen);

/*
 * The position to read from for "every row with updated >= since": *after
 * is the seq of the last mark whose resolved is < since (every row up to
 * it has updated <= that resolved), or first_seq - 1 when there is none.
 * journal_read(after) then gives every such row, but not only those: rows
 * are in updated order only within a group and from group to group, and a
 * late row has an updated below the marks before it, so the reader keeps
 * its own filter (updated >= since) on every row. When after + 1 is below
 * the oldest seq kept (journal_get_stats), rows it wanted were trimmed: a
 * gap. 0 or -1.
 */
int journal_seek_time(struct journal *j, crdb_hlc since, uint64_t *after,
		      char *errbuf, size_t errlen);

struct journal_stats {
	uint64_t records;        /* rows kept */
	uint64_t bytes;          /* their record bytes (line, table, key and
				    a 32-byte header): what max_bytes bounds */
	uint64_t file_bytes;     /* data.mdb's size on disk */
	uint64_t map_bytes;      /* the map size */
	uint64_t oldest_seq, newest_seq;   /* 0 when empty */
	crdb_hlc oldest_updated, newest_updated;
	int64_t oldest_written_ms;
	uint64_t commits, commit_errors, trimmed;   /* this process */
};
int journal_get_stats(struct journal *j, struct journal_stats *out,
		      char *errbuf, size_t errlen);

/* Tests only: the hash of (table, key bytes) the idents are keyed by
 * (NULL: the built-in one), so that a test can force collisions. Set it
 * before opening a journal; it applies to the whole process. */
typedef uint64_t journal_ident_hash_fn(const char *table, size_t table_len,
				       const char *key, size_t key_len);
void journal_set_ident_hash(journal_ident_hash_fn *fn);

/* Tests only: while fault is not JOURNAL_OK, every journal_commit drops
 * what was appended and returns fault, as a full disk (JOURNAL_FULL) or
 * an I/O error (JOURNAL_ERROR) would. It applies to the whole process. */
void journal_set_commit_fault(int fault);

#endif /* CRDBFEEDD_JOURNAL_H */
