/*
 * feed_int.h: what feed.c (state machine, statement, connection, life
 * cycle), feed_rows.c (the stream: rows, resolved timestamps, publishing
 * to sinks, the checkpoint), feed_job.c (a job feed's endpoint and job)
 * and feed_nats.c (a relay's JetStream consumer) share: the feed struct and the calls between them. The rest of
 * the daemon uses feed.h.
 */
#ifndef CRDBFEEDD_FEED_INT_H
#define CRDBFEEDD_FEED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "encode.h"
#include "feed.h"
#include "job.h"
#include "notify_feed.h"
#include "ordered.h"
#include "recent.h"

#define MIN_STALL_MS 30000
#define MIN_RESOLVED_STALL_MS 60000
#define RECENT_ROWS 65536   /* stream: delivered rows remembered */
#define DRAIN_BATCH 256     /* results per callback before yielding */
/* Lines published in one drain before the sinks write: each write is a
 * system call and a wake-up per subscriber, so a long drain writes in
 * 64 KiB batches, as the fan-out limit (tests/bench/bench_fanout.c) does;
 * a shorter one is written once, when the drain ends. */
#define DRAIN_FLUSH_BYTES 65536

struct pending_resolved {
	uint64_t seq;  /* the resolved line's position */
	crdb_hlc hlc;
};

enum start_step {
	STEP_SET,      /* SET statement_timeout = 0 sent */
	STEP_FEED      /* the changefeed statement sent */
};

struct feed {
	const struct feed_config *cfg;
	char *name;
	char who[160];          /* "feed NAME" */
	char *state_dir;        /* NULL: the checkpoint lives in memory only */
	struct event_base *base;
	feed_state_hook hook;
	void *hook_arg;

	enum feed_state state;
	char reason[256];       /* why the last transition happened */

	crdb_conn *conn;
	struct event *sock_ev;
	enum start_step step;
	crdb_decode_opts dopts;
	enum row_desc row_desc; /* the changefeed statement's, for the direct path */
	struct event *backoff_timer;
	struct event *watchdog;
	struct event *progress; /* sink progress, handled outside the sink */
	struct event *checkpoint_timer; /* the paced checkpoint file write */
	int64_t backoff_ms;
	int64_t last_activity_ms; /* when the last result arrived (watchdog) */
	int64_t drain_now;      /* the clock, read once per feed_drain */
	bool started;           /* feed_start ran (state lines say "connecting" before) */
	bool attempted;         /* left CONNECTING/STARTING once since the start */
	bool blocked;           /* a block sink is full: socket not read */
	bool checkpoint_error;  /* the last write failed (log once) */
	bool checkpoint_unsaved; /* the file lags the checkpoint (stream) */

	crdb_hlc checkpoint;    /* resume cursor: every earlier event written */
	crdb_hlc last_resolved; /* newest resolved timestamp received */
	uint64_t seq;           /* last line published */
	struct pending_resolved *pending;
	size_t npending, pending_cap;

	struct sink **sinks;
	size_t nsinks;

	/* delivery = ordered: the hold and the journal; NULL for stream */
	struct ordered *ordered;
	/* kind = notify: what of the released rows gets a seq; else NULL */
	struct notify_feed *notify;
	/* source = job: the endpoint and the job; NULL for sinkless feeds */
	struct feed_job *job;
	/* source = nats: the JetStream consumer; NULL for the others */
	struct feed_nats *nats;
	/* delivery = stream: rows delivered since the checkpoint in this
	 * run, so that a reconnect's re-sent rows are dropped */
	struct recent *recent;

	/* The resolved-stall watchdog: when resolved last advanced (or the
	 * connection started), and whether rows since then carried more than
	 * one updated timestamp (a scan or backfill carries one). */
	int64_t resolved_advanced_mono;
	crdb_hlc rows_updated_first;
	bool rows_updated_varied;

	/* Counters are plain adds where things happen; times are
	 * CLOCK_MONOTONIC ms (cheap, and a wall clock step cannot make an
	 * age negative), turned into wall clock times by feed_get_stats. */
	struct feed_stats stats;
	int64_t last_resolved_mono, checkpoint_mono, state_since_mono;
	int64_t last_row_mono;
	int64_t checkpoint_saved_mono; /* the last file write (0: none yet) */
	int64_t checkpoint_file_wall; /* the read file's mtime, until it advances */
};

/* ---- feed.c ---- */

/* The failure subscribers and status see last. */
void feed_note_error(struct feed *feed, const char *message);
/* Drop the connection and its socket event. */
void feed_close_conn(struct feed *feed);
/* The only state change: logged, told to subscribers and the hook. The
 * _ctx forms add a table and SQLSTATE to the log line. */
void feed_set_state(struct feed *feed, enum feed_state state,
		    const char *reason);
void feed_set_state_ctx(struct feed *feed, enum feed_state state,
			const char *reason, const char *table,
			const char *sqlstate);
/* Leave the connection and reconnect after the backoff, counted as why. */
void feed_backoff(struct feed *feed, enum reconnect_reason why,
		  const char *reason);
void feed_backoff_ctx(struct feed *feed, enum reconnect_reason why,
		      const char *reason, const char *table,
		      const char *sqlstate);
/* A permanent error: FAILED until a reload. */
void feed_fail(struct feed *feed, const char *reason);
void feed_fail_ctx(struct feed *feed, const char *reason,
		   const char *sqlstate);
/* An error result (res NULL: the connection's own error): backoff or
 * fail, by its class. */
void feed_result_error(struct feed *feed, const PGresult *res);
/* Watch the connection's socket for what with cb: 0 or -1. */
int feed_watch(struct feed *feed, short what, event_callback_fn cb);
/* Send the changefeed statement (after the session's SET). */
void feed_send_changefeed(struct feed *feed);
/* The longest an ordered or stream feed waits for resolved to advance
 * while rows with varied timestamps arrive. */
int64_t feed_resolved_stall_ms(const struct feed *feed);

/* ---- feed_rows.c ---- */

/* Give a line the next position and offer it to every sink. Steals line. */
void feed_publish(struct feed *feed, struct line *line);
/* A block sink has a subscriber over its bound: do not read. */
bool feed_blocked(const struct feed *feed);
/* Move the checkpoint as far as every block sink has written. */
void feed_advance_checkpoint(struct feed *feed);
/* Write the checkpoint file now, or when checkpoint_interval has passed
 * since the last write (stream feeds; ordered ones commit their journal). */
void feed_pace_checkpoint(struct feed *feed);
/* Write the checkpoint file now if it lags (shutdown, reload, pause). */
void feed_save_checkpoint(struct feed *feed);
/* The pacing timer fired. */
void feed_on_checkpoint_timer(evutil_socket_t fd, short what, void *arg);
/* Take what libpq holds, as long as no block sink is full. */
void feed_drain(struct feed *feed);
/* The connection's socket is readable or writable (streaming). */
void feed_on_session_io(evutil_socket_t fd, short what, void *arg);
/* The deferred work of feed_sink_progress. */
void feed_on_progress(evutil_socket_t fd, short what, void *arg);
/* Open (or reopen) the ordered delivery of an ordered feed; start_over
 * starts a new journal. 0, or -1 (the feed failed). */
int feed_open_ordered(struct feed *feed, bool start_over);
/* Watch a row's updated timestamp for the resolved-stall watchdog. */
void feed_note_row_updated(struct feed *feed, crdb_hlc updated);

/* ---- feed_job.c (source = job) ---- */

struct feed_job;
struct ingest;
struct webhook_body;

/* Open the endpoint and start the job manager (the hold must be open).
 * 0, or -1 with the feed FAILED (a file, the address, the token). */
int feed_job_open(struct feed *feed);
/* Close the endpoint (requests in flight are retried by the job) and stop
 * managing the job, which keeps running in the cluster. NULL is fine. */
void feed_job_close(struct feed_job *fj);
/* Operator requests on the job: 0, or -1 with errbuf set. */
int feed_job_request(struct feed *feed, enum job_action action,
		     char *errbuf, size_t errlen);
/* Reload with a changed statement: the endpoint reopened with the new
 * settings, the job altered where it can be; without a job manager (a
 * failed feed), both opened anew. 0, or -1 (the feed failed). */
int feed_job_reconfigure(struct feed *feed);
/* The endpoint's counters and the job's status into the feed's stats. */
void feed_job_get_stats(const struct feed_job *fj, struct feed_stats *out);
/* A parsed body from the endpoint (ingest.h's owner call, without the
 * endpoint so that tests can drive it): the HTTP status, reason set when
 * not 200. ingest counts batches that were wholly a retry; NULL: none. */
int feed_job_take_body(struct feed *feed, struct ingest *ingest,
		       const struct webhook_body *body, char *reason,
		       size_t rlen);

/* ---- feed_nats.c (source = nats) ---- */

struct feed_nats;

/* Start (or restart, with the feed's current config) the JetStream
 * consumer; the hold must be open. 0, or -1 with the feed FAILED. */
int feed_nats_open(struct feed *feed);
/* Close the consumer (pause, stop): what it had not acknowledged is
 * delivered again to the next one. The counters stay. NULL is fine. */
void feed_nats_stop(struct feed_nats *fn);
/* The feed is no longer blocked: take what waits. NULL is fine. */
void feed_nats_resume(struct feed_nats *fn);
void feed_nats_close(struct feed_nats *fn);
/* The consumer's counters and state into the feed's stats. */
void feed_nats_get_stats(const struct feed_nats *fn, struct feed_stats *out);

#endif /* CRDBFEEDD_FEED_INT_H */
