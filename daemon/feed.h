/*
 * feed.h: one changefeed on its own connection, as a state machine driven
 * by the event loop, and the link to the sinks it feeds.
 */
#ifndef CRDBFEEDD_FEED_H
#define CRDBFEEDD_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "encode.h"
#include "sink.h"
#include "stats.h"

struct feed;
struct journal;

enum feed_state {
	FEED_CONNECTING, /* non-blocking connect in progress */
	FEED_STARTING,   /* SET + CHANGEFEED sent, no row yet */
	FEED_STREAMING,  /* rows or resolved timestamps arrive */
	FEED_BACKOFF,    /* waiting for the reconnect timer */
	FEED_FAILED,     /* permanent error: waits for a reload */
	FEED_PAUSED,     /* paused by an operator: no connection */
	FEED_STOPPING,   /* connection closed, sinks flushing */
	FEED_STOPPED     /* done; may be freed */
};

const char *feed_state_name(enum feed_state state);

/*
 * Called on every state change (after it was logged); main uses it to end
 * quick mode on a permanent error.
 */
typedef void (*feed_state_hook)(struct feed *feed, enum feed_state state,
				const char *reason, void *arg);

/*
 * A feed for cfg (borrowed: must outlive the feed or be replaced with
 * feed_set_config). state_dir NULL = keep the checkpoint in memory only
 * (quick mode). Does not connect yet.
 */
struct feed *feed_new(struct event_base *base, const struct feed_config *cfg,
		      const char *state_dir, feed_state_hook hook, void *arg);

/* Read the checkpoint and start connecting. -1 (logged) when the
 * checkpoint file is unreadable: the feed is then FAILED. */
int feed_start(struct feed *feed);

/* Reload: same statement (config_feed_equal), new struct: keep streaming. */
void feed_set_config(struct feed *feed, const struct feed_config *cfg);
/* Reload: changed statement: reconnect from the checkpoint with cfg. */
void feed_restart(struct feed *feed, const struct feed_config *cfg);

/* Close the connection; STOPPING. The sinks keep flushing what they hold. */
void feed_stop(struct feed *feed, const char *why);
/* Write the checkpoint as far as the sinks allow; STOPPED. */
void feed_finish(struct feed *feed);
/* Free (deferred). Its sinks must have been closed. */
void feed_free(struct feed *feed);

const char *feed_name(const struct feed *feed);
const char *feed_who(const struct feed *feed); /* "feed NAME" for logs */
enum feed_state feed_get_state(const struct feed *feed);
const struct feed_config *feed_config(const struct feed *feed);
uint64_t feed_seq(const struct feed *feed);
crdb_hlc feed_checkpoint(const struct feed *feed);

/* Sinks served by this feed (the feed does not own them). */
int feed_add_sink(struct feed *feed, struct sink *sink);
void feed_remove_sink(struct feed *feed, struct sink *sink);

/* A sink wrote or dropped lines: maybe resume reading, advance the
 * checkpoint. Safe to call from anywhere (the work runs later). */
void feed_sink_progress(struct feed *feed);

/* The callbacks a sink of this feed is opened with (sink.h): the feed's
 * name, its state line as a greeting, and feed_sink_progress. */
void feed_sink_owner(struct feed *feed, struct sink_owner *out);

/*
 * Operator pause (control socket, crdbfeedctl pause): close the connection
 * and keep the checkpoint; sinks and subscribers stay (they get a state line
 * "paused"). Nothing is lost: feed_resume reconnects from the checkpoint
 * (counted as RECONNECT_RESUME). A reload keeps a paused feed paused unless
 * its statement changed. The pause does not survive a daemon restart.
 * Return 0, or -1 when the feed is stopping/stopped (pause) or not paused
 * (resume).
 */
int feed_pause(struct feed *feed, const char *why);
int feed_resume(struct feed *feed);

/*
 * Operator cancel (crdbfeedctl cancel) of a job feed: CANCEL JOB, and the
 * feed FAILED until a reload or restart, which creates a new job from the
 * checkpoint. -1 with errbuf set for a sinkless feed or when there is no
 * job yet.
 */
int feed_cancel_job(struct feed *feed, const char *why, char *errbuf,
		    size_t errlen);

/* The feed's first connection attempt is over: since feed_start it has
 * left CONNECTING and STARTING once (streaming, backoff, failed, paused),
 * or it is in none of them now. */
bool feed_attempted(const struct feed *feed);

/* Copy the feed's counters out (see stats.h). */
void feed_get_stats(const struct feed *feed, struct feed_stats *out);

/* The public state name subscribers and status see: "connecting",
 * "streaming", "reconnecting", "failed", "paused", "stopped". */
const char *feed_public_state(const struct feed *feed);

/* A line with the feed's current state, for a new subscriber. New ref. */
struct line *feed_state_line(const struct feed *feed);

/* An ordered feed's open journal (readers such as crdbfeedctl replay);
 * NULL for stream delivery or while it is not open. */
struct journal *feed_journal(const struct feed *feed);

#endif /* CRDBFEEDD_FEED_H */
