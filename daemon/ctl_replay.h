/*
 * ctl_replay.h: what `crdbfeedctl replay` prints, one code path whether
 * the daemon serves it through the control socket or crdbfeedctl reads
 * the journal itself: an ordered feed's journal (journal.h) read in
 * bounded chunks from a position (after a seq, or since a time) up to the
 * newest row committed when the replay started, filtered by time and
 * table, each row line exactly as stored and each resolved mark as the
 * resolved line subscribers get.
 *
 * A chunk is one short read transaction: between chunks nothing is held,
 * so a slow reader never pins the journal's pages and memory stays at
 * about one chunk whatever the journal's size.
 *
 * The library-style contract: no logging, no exit; errors in errbuf.
 */
#ifndef CRDBFEEDD_CTL_REPLAY_H
#define CRDBFEEDD_CTL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdb.h"
#include "journal.h"
#include "textbuf.h"

#define CTL_REPLAY_TABLES_MAX 16     /* --table given at most this often */
#define CTL_REPLAY_CHUNK_BYTES 65536 /* a chunk stops once it holds this */
#define CTL_REPLAY_CHUNK_ITEMS 1024  /* journal items read per chunk */

/* What to print. */
struct ctl_replay_query {
	bool have_after;      /* rows with seq > after */
	uint64_t after;
	bool have_since;      /* rows with updated >= since */
	crdb_hlc since;
	bool have_until;      /* stop before the first row or resolved mark
				 with a timestamp > until */
	crdb_hlc until;
	char *tables[CTL_REPLAY_TABLES_MAX];  /* rows of these tables only
						 (none: every table) */
	size_t ntables;
};

void ctl_replay_query_free(struct ctl_replay_query *q);

/* An HLC ("wall.logical") or an RFC 3339 time. 0, or -1 with errbuf. */
int ctl_replay_parse_time(const char *text, crdb_hlc *out, char *errbuf,
			  size_t errlen);

/*
 * The query as the control command's argument, a JSON object
 * {"after":N,"since":HLC,"until":HLC,"tables":[...]} with only what is
 * set (malloc'd; NULL on ENOMEM), and back (0, or -1 with errbuf: not an
 * object, an unknown key, a bad value, after with since).
 */
char *ctl_replay_query_format(const struct ctl_replay_query *q);
int ctl_replay_query_parse(const char *json, struct ctl_replay_query *q,
			   char *errbuf, size_t errlen);

/* A replay in progress. */
struct ctl_replay {
	const struct ctl_replay_query *query;  /* borrowed */
	const char *feed;         /* borrowed: the name in resolved lines */
	uint32_t epoch;           /* the journal's when the replay started */
	uint64_t end_seq;         /* the newest committed row then */
	uint64_t first_kept;      /* the oldest row kept then (0: none) */
	uint64_t start_pos;       /* rows after this one were asked for */
	uint64_t pos;             /* rows up to pos were read */
	bool mark_at_pos;         /* the mark after row pos is still due */
	bool started_rows;        /* a chunk has been read */
	bool done;
	uint64_t lines;           /* lines given so far */
};

/* Rows the query asked for that retention has removed already: a
 * position (after or since) older than the oldest row kept. */
bool ctl_replay_gap(const struct ctl_replay *r, uint64_t *first_missing,
		    uint64_t *last_missing);

/*
 * Start replaying journal j for query q (both outlive the replay). 0, or
 * -1 with errbuf: the journal cannot be read, or after is beyond its
 * newest row (a position in the future).
 */
int ctl_replay_start(struct ctl_replay *r, struct journal *j,
		     const struct ctl_replay_query *q, const char *feed,
		     char *errbuf, size_t errlen);

/*
 * Append the next lines to out until it holds about max_bytes. 1: more
 * to come; 0: done (out may still have received lines); -1 with errbuf:
 * the journal failed, was reset (the feed switched delivery) or lost
 * rows not yet read to retention while reading.
 */
int ctl_replay_chunk(struct ctl_replay *r, struct journal *j,
		     struct textbuf *out, size_t max_bytes,
		     char *errbuf, size_t errlen);

/*
 * The resolved line of an ordered feed (journal mark: resolved after row
 * seq): crdbfeedd(8)'s resolved line with "seq" added last,
 *   {"v":1,"type":"resolved","feed":F,"resolved":R,"seq":N}
 * appended to out. 0, or -1 on ENOMEM.
 */
int ctl_replay_resolved_line(const char *feed, crdb_hlc resolved,
			     uint64_t seq, struct textbuf *out);

#endif /* CRDBFEEDD_CTL_REPLAY_H */
