/*
 * ordered.h: a feed's ordered delivery. Rows wait in the hold (order.h)
 * until a resolved timestamp covers them, are released once each in
 * (updated, table, key) order with the next sequence numbers, written to
 * the journal (journal.h) and committed with the checkpoint, and only then
 * published: a crash at any instant resumes with no gap and no duplicate.
 * The feed calls in; this module reaches the feed only through the
 * callbacks it was opened with.
 */
#ifndef CRDBFEEDD_ORDERED_H
#define CRDBFEEDD_ORDERED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "encode.h"
#include "journal.h"
#include "stats.h"

struct ordered;
struct order_row;

struct ordered_owner {
	/* A committed line for the sinks (one reference, given). */
	void (*publish)(void *arg, struct line *line);
	/* The journal could (not) take a commit: stop (resume) reading. */
	void (*stalled)(void *arg, bool stalled, const char *why);
	void *arg;
	/* Whether a released row goes on to get a seq (NULL: every row);
	 * one refused is gone, as if released (a notify feed's filter). */
	bool (*admit)(void *arg, const struct order_row *row);
	/* The seq after which retention must keep every row (what the
	 * feed's nats sinks have not had acknowledged); NULL: no bound. */
	uint64_t (*keep_after)(void *arg);
	/* The journal committed a newer resolved timestamp (the checkpoint):
	 * from ordered_resolved, or from the event loop when a large window's
	 * last chunk or a stalled commit goes in later. NULL: not told. */
	void (*committed)(void *arg, crdb_hlc checkpoint);
	/* A release from the event loop (a large window's later chunk, the
	 * window after a stall) failed, for what ordered_resolved returns -1
	 * for. The window is tried again at the next resolved timestamp,
	 * repeated or not. NULL: only logged. */
	void (*failed)(void *arg, const char *why);
};

/*
 * Open the feed's journal and hold under state_dir. A stream checkpoint
 * newer than the journal's (the feed ran with delivery = stream since) or
 * start_over starts a new journal: the sequence goes on. NULL with errbuf
 * set.
 */
struct ordered *ordered_open(struct event_base *base, const char *state_dir,
			     const char *feed, const char *who,
			     const struct feed_config *cfg,
			     crdb_hlc stream_checkpoint, bool start_over,
			     const struct ordered_owner *owner,
			     char *errbuf, size_t errlen);
void ordered_close(struct ordered *o);

/* The committed resolved timestamp: where the changefeed resumes. */
crdb_hlc ordered_checkpoint(const struct ordered *o);
/* The last sequence number released. */
uint64_t ordered_last_seq(const struct ordered *o);
/* A job feed's held rows made durable (fsync) before its endpoint answers
 * 200; nothing to do for a sinkless feed, whose hold is not durable. 0 or
 * -1 with errbuf set. */
int ordered_sync(struct ordered *o, char *errbuf, size_t errlen);
/* A commit failed for lack of space: rows wait, reading stops. */
bool ordered_stalled(const struct ordered *o);

enum ordered_row_result {
	ORDERED_HELD,       /* waits for its resolved timestamp */
	ORDERED_DUPLICATE,  /* released before or held already: dropped */
	ORDERED_LATE,       /* below a released resolved, never released:
			       released at once, flagged late */
	ORDERED_ERROR       /* errbuf says what: the feed reconnects */
};

/* A row line (line->updated set) with its key's raw JSON bytes. */
enum ordered_row_result ordered_row(struct ordered *o, const struct line *line,
				    const char *key, size_t key_len,
				    char *errbuf, size_t errlen);

/*
 * A resolved timestamp: release what it covers, commit, publish, then a
 * resolved line. 0, or -1 with errbuf set (a resolved timestamp that went
 * backwards, the hold failing: the feed reconnects). A full journal is not
 * an error: the module stalls and retries by itself. A repeat of the newest
 * one does nothing, unless the last release failed: then it tries again.
 */
int ordered_resolved(struct ordered *o, crdb_hlc resolved, const char *feed,
		     char *errbuf, size_t errlen);
/*
 * A resolved timestamp read while the feed's connection may hold more
 * rows already: unless the hold has a chunk of rows (ordered.c's
 * RELEASE_CHUNK) its release is deferred, so that a busy feed's resolved
 * timestamps share one commit (two syncs) instead of one each. The release
 * up to the newest such timestamp goes out as ordered_resolved's would, at
 * the first of: ordered_input_read with nothing more waiting, the hold
 * reaching a chunk of rows, GROUP_COMMIT_MS (ordered.c) after the first
 * deferred one; a failure then goes to the owner's failed. 0, or -1 as
 * ordered_resolved.
 */
int ordered_resolved_deferred(struct ordered *o, crdb_hlc resolved,
			      char *errbuf, size_t errlen);
/* Whether a deferred release waits. */
bool ordered_release_deferred(const struct ordered *o);
/* The feed read what its connection had (more_waiting false) or stopped
 * with more to read: a deferred release may go out now. 0, or -1 with
 * errbuf set, as ordered_resolved. */
int ordered_input_read(struct ordered *o, bool more_waiting, char *errbuf,
		       size_t errlen);

/* Counters and gauges into the feed's stats. */
void ordered_get_stats(struct ordered *o, struct feed_stats *out);

/* Replay for the sinks (sink_owner's replay_*). */
int ordered_replay_read(struct ordered *o, const char *feed, uint64_t after,
			size_t max, void (*fn)(struct line *line, void *fnarg),
			void *fnarg, char *errbuf, size_t errlen);
int ordered_replay_seek(struct ordered *o, crdb_hlc since, uint64_t *after,
			char *errbuf, size_t errlen);
void ordered_replay_bounds(struct ordered *o, uint64_t *first_kept,
			   uint64_t *last_released);

/* The journal's delivery epoch (journal.h), 0 when it is not open. */
uint32_t ordered_epoch(struct ordered *o);

/* The journal itself, for readers such as crdbfeedctl replay. */
struct journal *ordered_journal(struct ordered *o);

#endif /* CRDBFEEDD_ORDERED_H */
