/*
 * order.h: an ordered feed's rows held until a resolved timestamp covers
 * them, then released once each, sorted by (updated, table, key) and
 * grouped by updated (the rows of one transaction, or of several that
 * committed at the same HLC, are one group).
 *
 * Rows are kept in memory up to a budget and spilled to disk beyond it, so
 * an initial scan of millions of rows fits the memory bound. With
 * durable, every held row is on disk and order_sync() makes them durable
 * (an HTTPS ingest acknowledges a batch only after that), and a new order
 * on the same spill directory finds them again.
 *
 * Duplicates: a row (table, key bytes, updated) already held is dropped;
 * one at or below the released resolved timestamp is asked of the owner
 * (the journal: was it released before?) and dropped when it was, or
 * returned as ORDER_LATE when it never was (a broken resolved guarantee:
 * the caller delivers it at once, flagged).
 *
 * Pure data structure: no logging, no event loop; errors in errbuf.
 */
#ifndef CRDBFEEDD_ORDER_H
#define CRDBFEEDD_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdb.h"

struct order;

/* Was (table, key, updated) released before? 1 yes, 0 no, -1 error. */
typedef int (*order_seen_fn)(void *arg, const char *table, size_t table_len,
			     const char *key, size_t key_len, crdb_hlc updated);

struct order_limits {
	size_t memory_budget;  /* bytes of memory for held rows: their
				  allocations (as malloc takes them) and
				  the arrays that index them; unused when
				  durable */
	const char *spill_dir; /* where spilled rows go (created; the order
				  owns what it puts there) */
	bool durable;          /* every row on disk, order_sync() fsyncs */
};

/* The store is spill_dir/held.mdb (and held.mdb-lock). Non-durable, it
 * starts empty and order_free removes it; durable, order_new holds its
 * rows again (one instance per spill_dir). NULL with errbuf set. */
struct order *order_new(const struct order_limits *lim, order_seen_fn seen,
			void *seen_arg, char *errbuf, size_t errlen);
void order_free(struct order *o);

/* The newest resolved timestamp already released (the checkpoint, at
 * start): rows at or below it are duplicates or late. */
void order_set_released(struct order *o, crdb_hlc resolved);
/* Rows above the released timestamp up to upto may have been released
 * already (a window committed in part before a restart): each is asked of
 * the seen function when added, and dropped as a duplicate if it was. */
void order_set_seen_upto(struct order *o, crdb_hlc upto);
crdb_hlc order_released(const struct order *o);

enum order_add_result {
	ORDER_HELD = 0,
	ORDER_DUPLICATE = 1,  /* dropped: held already, or released before */
	ORDER_LATE = 2,       /* below the released resolved, never released:
				 not held; the caller delivers it now */
	ORDER_ERROR = -1      /* errbuf says what (ENOMEM, the spill store) */
};

/* One row. line is its encoded line without "seq" (len with the '\n'). */
struct order_row {
	crdb_hlc updated;
	crdb_op op;
	const char *table;
	size_t table_len;
	const char *key;      /* raw JSON bytes of the key: its identity */
	size_t key_len;
	const char *line;
	size_t line_len;
};

/* Hold a row (copied). */
enum order_add_result order_add(struct order *o, const struct order_row *row,
				char *errbuf, size_t errlen);

/*
 * Release held rows with updated <= resolved, in (updated, table, key)
 * order, at most max_rows of them (0 = no limit), calling fn for each.
 * group_end is true on the last row of its updated group and on no other:
 * a group larger than max_rows (an initial scan gives millions of rows
 * one updated) is split across calls, and group_end comes only with its
 * real last row, in whichever call that is. Pointers are valid during the
 * call only; fn must not call back into the order. A row fn accepted is
 * gone from the order; the row fn refused (-1) stays held.
 *
 * Returns the number released, or -1 with errbuf set: resolved older than
 * order_released() or than a partial release's ("went backwards"), fn
 * returning -1, or the spill store failing. When every row <= resolved is
 * out, the released resolved becomes resolved (order_released); a partial
 * release (max_rows hit, or fn refusing) leaves it, and sets *more (more
 * may be NULL). While a release is partial, a row added that sorts at or
 * before the last row out is treated as below the released resolved
 * (duplicate or late), one after it is held and comes out in its place.
 *
 * Rows found at or below the released resolved in a durable store
 * reloaded after a restart, and rows on disk no newer than the newest the
 * store held at open, are asked of seen() as they come: dropped (counted
 * as duplicates) when released before, else released.
 *
 * Durable: the removals are not committed here but by the next
 * order_sync(), which the caller calls once the released rows are durable
 * where they went (the journal); order_free() drops removals and rows not
 * synced, so a crash in between finds the rows held again.
 */
typedef int (*order_release_fn)(void *arg, const struct order_row *row,
				bool group_end);
long order_release(struct order *o, crdb_hlc resolved, size_t max_rows,
		   order_release_fn fn, void *arg, bool *more,
		   char *errbuf, size_t errlen);

/* Tests only: while fail is true, every order_release fails at once,
 * releasing nothing, as a failing spill store would. It applies to the
 * whole process. */
void order_set_release_fault(bool fail);

/* durable: commit and fsync the held rows and the removals of released
 * ones. 0 or -1. Non-durable: 0. */
int order_sync(struct order *o, char *errbuf, size_t errlen);

struct order_stats {
	uint64_t held_rows, held_bytes;       /* now, memory and disk; bytes:
						 table, key and line */
	uint64_t memory_bytes;                /* allocated, <= the budget
						 (a release reads the disk
						 through a transient 2 x 256
						 KiB more) */
	uint64_t spilled_rows;                /* now, on disk */
	uint64_t duplicates;                  /* dropped, ever */
	uint64_t late;                        /* ORDER_LATE returned, ever */
	crdb_hlc oldest_held;                 /* {0,0} when none */
};
void order_get_stats(const struct order *o, struct order_stats *out);

#endif /* CRDBFEEDD_ORDER_H */
