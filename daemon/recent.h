/*
 * recent.h: stream delivery's bounded set of the rows delivered in this
 * process run since the checkpoint, so that rows a changefeed re-sends
 * after a reconnect are not delivered twice.
 *
 * A row is (table, key bytes, updated), kept as a 128-bit fingerprint
 * (two independent 64-bit hashes) and its updated. A new row is taken for
 * one already delivered only when its fingerprint equals one of the n
 * entries: probability at most n / 2^128 per row (for a million entries,
 * about 3e-33), so no row is lost in practice.
 *
 * Bounded: at max_entries the oldest entry (the first recorded) is evicted
 * and counted; a re-sent copy of an evicted row is delivered again. Rows
 * at or below a checkpoint are forgotten: a resume starts after the
 * checkpoint, so they cannot come again.
 *
 * Pure data structure: no logging, no event loop.
 */
#ifndef CRDBFEEDD_RECENT_H
#define CRDBFEEDD_RECENT_H

#include <stddef.h>
#include <stdint.h>

#include "crdb.h"

struct recent;

/* A set of at most max_entries rows (at least 1); NULL when out of
 * memory. Memory grows with use, to at most 48 bytes per entry. */
struct recent *recent_new(size_t max_entries);
void recent_free(struct recent *r);

/* 1: the row was delivered before (drop it); 0: it is new, now recorded;
 * -1: out of memory growing the set (the row is not recorded: deliver
 * it). */
int recent_check_add(struct recent *r, const char *table, size_t table_len,
		     const char *key, size_t key_len, crdb_hlc updated);

/* Forget the rows with updated <= checkpoint. */
void recent_forget_upto(struct recent *r, crdb_hlc checkpoint);

struct recent_stats {
	uint64_t entries;    /* now */
	uint64_t evicted;    /* ever, the set being full */
};
void recent_get_stats(const struct recent *r, struct recent_stats *out);

#endif /* CRDBFEEDD_RECENT_H */
