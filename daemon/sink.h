/*
 * sink.h: where a feed's lines go: a Unix-socket listener with its
 * subscribers, or standard output. Each subscriber holds a bounded queue of
 * references to shared lines; a sink's policy says what a full queue does.
 */
#ifndef CRDBFEEDD_SINK_H
#define CRDBFEEDD_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "encode.h"
#include "stats.h"

struct sink;

/*
 * What a sink asks of the one that feeds it (a feed), given at open and
 * copied; any callback may be NULL (a sink with no owner, as in tests):
 *   name      the feed's name, put in the sink's own lines (missed,
 *             error, subscribed);
 *   greeting  a new line (one reference, given to the sink) each new
 *             subscriber gets first: where the feed stands;
 *   progress  a subscriber wrote, dropped or went away: a feed paused for
 *             a blocking subscriber may read again and its checkpoint may
 *             advance (it asks sink_is_blocking and sink_done_seq).
 * The sink never calls back once sink_close has begun.
 */
struct sink_owner {
	const char *(*name)(void *arg);
	struct line *(*greeting)(void *arg);
	void (*progress)(void *arg);
	/*
	 * Journaled feeds only (NULL otherwise; then "after"/"since" are
	 * refused and the journal policy acts as disconnect):
	 *   replay_read   give fn the committed lines after seq `after`, at
	 *                 most max of them: rows (LINE_ROW, line->seq set)
	 *                 and resolved lines (LINE_RESOLVED, seq = the last
	 *                 row they cover), each a new reference fn takes;
	 *                 returns how many (0: caught up), or -1 with errbuf;
	 *   replay_seek   the seq to read after for "updated >= since";
	 *   replay_bounds the first seq still kept and the last released
	 *                 (every released line is committed first, so a
	 *                 reader at last_released is live).
	 */
	int (*replay_read)(void *arg, uint64_t after, size_t max,
			   void (*fn)(struct line *line, void *fnarg),
			   void *fnarg, char *errbuf, size_t errlen);
	int (*replay_seek)(void *arg, crdb_hlc since, uint64_t *after,
			   char *errbuf, size_t errlen);
	void (*replay_bounds)(void *arg, uint64_t *first_kept,
			      uint64_t *last_released);
	/*   replay_epoch  the journal's delivery epoch (journal.h), 0 while
	 *                 the journal is not open: a nats sink keeps it with
	 *                 its position;
	 *   state_dir     where a sink keeps its own position (NULL: none). */
	uint32_t (*replay_epoch)(void *arg);
	const char *(*state_dir)(void *arg);
	void *arg;
	/* A notify feed (kind = notify): its rows are notifications, and
	 * subscribers may ask for channels (notify lines) instead. */
	bool notify;
};

/*
 * Open a sink for owner (NULL: none): listen on the socket (replacing a
 * stale socket file only when nobody answers on it), or attach standard
 * output. cfg is borrowed like a feed's. NULL with errbuf set on failure.
 */
struct sink *sink_open(struct event_base *base, const struct sink_config *cfg,
		       const struct sink_owner *owner, char *errbuf, size_t errlen);

/*
 * The same with a listening socket handed over by systemd (socket
 * activation): the sink dup()s fd and never binds, chmods or unlinks; the
 * caller keeps fd for later reloads. The socket must be a listening
 * AF_UNIX stream socket (checked: NULL with errbuf set otherwise).
 */
struct sink *sink_open_fd(struct event_base *base, const struct sink_config *cfg,
			  const struct sink_owner *owner, int fd,
			  char *errbuf, size_t errlen);

/* Copy the sink's counters and gauges out (see stats.h). */
void sink_get_stats(const struct sink *sink, struct sink_stats *out);

/* Disconnect every subscriber (each first gets an error line saying why,
 * when why is not NULL), stop listening, unlink the socket, and free the
 * sink after this loop pass. */
void sink_close(struct sink *sink, const char *why);

/* Reload with an equal section: just repoint the config. */
void sink_set_config(struct sink *sink, const struct sink_config *cfg);

const char *sink_name(const struct sink *sink);
const struct sink_config *sink_config(const struct sink *sink);

/* Offer a line to every subscriber whose filter takes it. */
void sink_offer(struct sink *sink, struct line *line);

/* Write what the subscribers have queued now, as far as their sockets
 * take it (the rest waits for the socket); otherwise it is written once
 * the event loop runs again. */
void sink_flush(struct sink *sink);

/* A block sink with a subscriber over its bound: the feed must pause. */
bool sink_is_blocking(const struct sink *sink);

/*
 * For a block sink: the newest feed sequence number every subscriber has
 * written or skipped (feed_seq when all queues are empty). UINT64_MAX for
 * the other policies, which never hold the checkpoint back.
 */
uint64_t sink_done_seq(const struct sink *sink, uint64_t feed_seq);

/* The journal seq after which the sink still needs rows (a nats sink's
 * acknowledged position); UINT64_MAX when it needs none kept. */
uint64_t sink_keep_after(const struct sink *sink);

/* Bytes still queued over all subscribers (shutdown waits for 0). */
size_t sink_queued_bytes(const struct sink *sink);

/* Called when standard output is gone (EPIPE): quick mode ends then. */
void sink_set_stdout_closed_hook(void (*hook)(void *arg), void *arg);

#endif /* CRDBFEEDD_SINK_H */
