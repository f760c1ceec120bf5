/*
 * sink_int.h: what sink.c (listener, life), subscriber.c (subscribers,
 * queues, policies) and sink_replay.c (journaled sinks: positions, the
 * grace period, reading from the journal) share: the sink and subscriber
 * structs and the calls between them. The rest of the daemon uses sink.h.
 */
#ifndef CRDBFEEDD_SINK_INT_H
#define CRDBFEEDD_SINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "sink.h"
#include "log.h"
#include "request.h"

struct acceptor;
struct sink_pg;
struct sink_nats;

#define REQUEST_BUF (REQUEST_MAX + 1) /* the line and its newline */
#define AFTER_REQUEST_MAX (64 * 1024) /* bytes a subscriber may send after
					   its request line (or without one,
					   after shutting down its side) */
#define WRITE_BATCH 256   /* lines per writev (IOV_MAX is 1024) */
#define REPLAY_GRACE_DEFAULT_MS 250 /* replay_grace_ms when the config
					 leaves it at 0 */
#define REPLAY_CHUNK_MAX 256  /* journal lines read at once, at most */
#define REPLAY_CHUNK_MIN 4    /* ... and at least: a chunk re-reads the row
				 at the position (so that a resolved line
				 covering it is not missed) */
#define REPLAY_CHUNK_FIRST 16 /* the first chunk, before the lines' size
				 is known */
#define REPLAY_RETRY_MS 10    /* journal behind last_released: try again */

/* Why a subscriber ends, for the counters. */
enum sub_close_cause {
	CLOSE_OTHER, /* error, EOF or a bad request */
	CLOSE_SLOW,  /* the disconnect policy */
	CLOSE_SINK   /* its sink closed (reload, shutdown) */
};

enum sub_state {
	SUB_ACTIVE,  /* receiving lines */
	SUB_BLOCKED, /* block policy: over the bound, its feed is paused */
	SUB_CLOSED   /* closed, waiting for the deferred free */
};

/* Where a subscriber's rows come from. Only journaled sinks have
 * subscribers in the other two. */
enum sub_source {
	SOURCE_LIVE,     /* the lines the feed offers */
	SOURCE_WAITING,  /* none yet: waiting for a request line, at most the
			    grace period */
	SOURCE_JOURNAL   /* the journal, chunk by chunk, until caught up */
};

struct subscriber {
	TAILQ_ENTRY(subscriber) link;
	struct sink *sink;
	enum sub_state state;
	int fd;
	bool is_stdout;
	bool sync_write;       /* fd cannot be polled (regular file): write now */
	struct event *read_ev;
	struct event *write_ev;
	bool write_armed;      /* write_ev is pending (cheaper than asking) */
	char ident[96];        /* "sink S subscriber pid=1 uid=0" */

	/* the queue: a ring of line references (ring_cap a power of two) */
	struct line **ring;
	size_t ring_cap, head, count;
	size_t head_off;       /* bytes of ring[head] already written */
	size_t queued_bytes;

	/* drop policy */
	bool dropping;
	uint64_t missed;

	/* the request line and the filter it set */
	char *request;         /* REQUEST_BUF bytes from the first byte read
				  until the line is parsed (most subscribers
				  never send one: 1,000 idle ones cost no
				  4 KiB each) */
	size_t request_len;
	bool request_done;
	size_t after_request;  /* bytes read and ignored since */
	struct request_filter filter;
	bool resolved;         /* the filter's, or the sink's default */
	bool takes_every_row;  /* the filter passes every row (no tables,
				  channels or since; every op): sink_offer's
				  fast path skips subscriber_wants */

	/* journaled sinks (sink_replay.c) */
	enum sub_source source;
	uint64_t pos;          /* seq of the last row taken (queued, or passed
				  over by the filter or the drop policy); a
				  resolved line at pos is the one after it */
	crdb_hlc pos_resolved; /* the newest resolved timestamp taken */
	bool missed_state;     /* a state line went by while not live: greet
				  again on going live */
	struct event *source_ev; /* the grace timer, then the next chunk */
	bool source_scheduled; /* source_ev is active or a pending timer */
	size_t replay_line_bytes; /* mean line size of the last chunk */
};

TAILQ_HEAD(subscriber_list, subscriber);

struct sink {
	const struct sink_config *cfg;
	char *name;
	char who[160];         /* "sink NAME" */
	struct event_base *base;
	struct sink_owner owner; /* cleared when the sink closes */
	int listen_fd;
	struct acceptor *acceptor;
	char *path;            /* the socket we created, to unlink */
	struct subscriber_list subs;
	size_t nsubs;
	size_t nblocked;
	uint64_t drops;        /* drop episodes */
	size_t high;           /* high_watermark(), cached for the hot path */
	size_t flush_at;       /* high / 2: write a queue this full at once */
	/* Subscribers with queued lines are written once per loop pass
	 * (or when the feed asks, sink_flush): an active event, no poll. */
	struct event *flush_ev;
	bool flush_scheduled;  /* flush_ev is active */
	/* counters (plain adds where things happen; see stats.h) */
	uint64_t accepted, refused, accept_errors;
	uint64_t lines_out, bytes_out, dropped;
	uint64_t disconnected_slow, disconnected_other, blocked;
	uint64_t replayed_lines;
	size_t nreplaying;     /* subscribers in SOURCE_JOURNAL */
	bool activated;        /* the listener came from systemd */
	bool closed;
	struct sink_pg *pg;    /* type = pg: the LISTEN endpoint (sink_pg.c) */
	struct sink_nats *nats; /* type = nats: the publisher (sink_nats.c) */
};

/* ---- sink.c ---- */

/* flush_ev fired: sink_flush (subscriber.c). */
void sink_on_flush(evutil_socket_t fd, short what, void *arg);

/* The owner's name for the sink's own lines; NULL when it has none. */
const char *sink_owner_name(const struct sink *sink);
/* The per-subscriber bound in bytes (the config's buffer, or 1 MiB). */
size_t sink_high_watermark(const struct sink *sink);
/* Below this a blocked subscriber resumes and a replaying one reads its
 * next chunk (the config's low_watermark, or half the bound). */
size_t sink_low_watermark(const struct sink *sink);

/* Does the sink's feed keep a journal (ordered delivery)? False once the
 * sink closes. */
static inline bool sink_journaled(const struct sink *sink)
{
	return sink->owner.replay_read != NULL;
}

/* ---- sink_pg.c (type = pg: no subscribers, listen_pg's sessions) ---- */

/* Open the endpoint the config describes. 0, or -1 with errbuf set. */
int sink_pg_open(struct sink *sink, char *errbuf, size_t errlen);
/* A row line becomes a notification (other lines are not for LISTEN). */
void sink_pg_offer(struct sink *sink, const struct line *line);
/* The endpoint's counters into out (after the common ones). */
void sink_pg_stats(const struct sink *sink, struct sink_stats *out);
/* Close every session and the sockets; nothing when not open. */
void sink_pg_close(struct sink *sink);

/* ---- sink_nats.c (type = nats: no subscribers, a JetStream publisher) ---- */

/* Start publishing from the position kept in the state directory. 0, or
 * -1 with errbuf set. */
int sink_nats_open(struct sink *sink, char *errbuf, size_t errlen);
/* The feed released more: read it from the journal (on the next pass). */
void sink_nats_offer(struct sink *sink);
/* The acked position (UINT64_MAX when not open): what retention keeps. */
uint64_t sink_nats_keep_after(const struct sink *sink);
/* The publisher's counters into out (after the common ones). */
void sink_nats_stats(const struct sink *sink, struct sink_stats *out);
/* Stop the publisher and save the position; nothing when not open. */
void sink_nats_close(struct sink *sink);

/* ---- subscriber.c ---- */

/* A new subscriber on fd, which it owns from now on (except stdout).
 * cred: its peer's credentials, NULL when unknown. NULL on ENOMEM. */
struct subscriber *subscriber_new(struct sink *sink, int fd,
				  bool is_stdout, const struct ucred *cred);
/* End a subscriber: reason is logged at level; the owner hears of it. */
void subscriber_close(struct subscriber *sub, enum sub_close_cause cause,
		      enum log_level level, const char *reason);
/* Read what the subscriber has sent already (its request line), as its
 * read event would. */
void subscriber_read_now(struct subscriber *sub);
/* Best effort: finish the line being written, then an error line saying
 * message; never waits for the socket. */
void subscriber_say_goodbye(struct subscriber *sub, const char *message);
/* Queue a line (past the filter and the policy) and arrange for it to be
 * written; this may close the subscriber (ENOMEM, a write error). */
void subscriber_push(struct subscriber *sub, struct line *line);
/*
 * A notify feed's row as the notify line a channel subscriber gets (a new
 * reference), or NULL when the row is not a notification (a channel
 * subscriber passes over it) or on ENOMEM.
 */
struct line *sink_notify_line(const struct sink *sink, const struct line *row);
/* Does the subscriber's filter take the line? A channel subscriber takes
 * notify lines of its channels, no rows; others no notify lines. */
bool subscriber_wants(const struct subscriber *sub, const struct line *line);
/* Queue the owner's greeting (where the feed stands), if it has one. */
void subscriber_greet(struct subscriber *sub);

/* ---- sink_replay.c ---- */

/* Where a positioned line stands for a subscriber at sub->pos. */
enum sub_position {
	POS_NONE,  /* no position (state lines; rows without seq) */
	POS_NEXT,  /* the next one: take it */
	POS_OLD,   /* taken already */
	POS_AHEAD  /* positions between were never taken */
};

/*
 * Rows carry seq (position pos + 1 is the next); a resolved line carries
 * the last row it covers, so one at seq == pos is the next unless it is
 * no newer than the last resolved taken.
 */
static inline enum sub_position subscriber_position(const struct subscriber *sub,
						    const struct line *line)
{
	if (line->kind == LINE_ROW || line->kind == LINE_NOTIFY) {
		if (!line->seq)
			return POS_NONE;
		if (line->seq <= sub->pos)
			return POS_OLD;
		return line->seq == sub->pos + 1 ? POS_NEXT : POS_AHEAD;
	}
	if (line->kind != LINE_RESOLVED)
		return POS_NONE;
	if (line->seq != sub->pos)
		return line->seq < sub->pos ? POS_OLD : POS_AHEAD;
	if (!crdb_hlc_is_zero(line->updated) &&
	    crdb_hlc_compare(line->updated, sub->pos_resolved) <= 0)
		return POS_OLD;
	return POS_NEXT;
}

/* The line is taken (queued or passed over): move the position. */
static inline void subscriber_advance(struct subscriber *sub,
				      const struct line *line)
{
	if ((line->kind == LINE_ROW || line->kind == LINE_NOTIFY) && line->seq)
		sub->pos = line->seq;
	else if (line->kind == LINE_RESOLVED && !crdb_hlc_is_zero(line->updated))
		sub->pos_resolved = line->updated;
}

/* A new subscriber of a journaled sink: make its source_ev. 0, or -1 on
 * ENOMEM. */
int subscriber_replay_init(struct subscriber *sub);
/* After its greeting: wait for a request line (the grace period), or for
 * standard output start live at once. */
void subscriber_await_request(struct subscriber *sub);
/* The seq to replay after for a request with "after" or "since"; -1 with
 * msg (the error line to send) when the sink cannot replay it now. */
int subscriber_replay_position(const struct subscriber *sub,
			       const struct request_filter *filter,
			       uint64_t *after, char *msg, size_t msglen);
/* A waiting subscriber's request came: replay after `after`... */
void subscriber_replay_from(struct subscriber *sub, uint64_t after);
/* ... or, with no "after"/"since", live from the feed's last position. */
void subscriber_go_live_now(struct subscriber *sub);
/* A live subscriber falls behind (the journal policy) or misses a
 * position: it reads the journal from its position until caught up. */
void subscriber_to_journal(struct subscriber *sub, const char *why);
/* The queue shrank: a replaying subscriber below the low watermark reads
 * its next chunk (on the next loop pass). */
void subscriber_replay_next(struct subscriber *sub);
/* The replay gauges of sink_stats. */
void sink_replay_stats(const struct sink *sink, struct sink_stats *out);

#endif /* CRDBFEEDD_SINK_INT_H */
