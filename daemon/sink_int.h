/*
 * sink_int.h: what sink.c (listener, life) and subscriber.c (subscribers,
 * queues, policies) share: the sink and subscriber structs and the calls
 * between the two. The rest of the daemon uses sink.h.
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

#define REQUEST_BUF (REQUEST_MAX + 1) /* the line and its newline */
#define AFTER_REQUEST_MAX (64 * 1024) /* bytes a subscriber may send after
					   its request line (or without one,
					   after shutting down its side) */
#define WRITE_BATCH 256   /* lines per writev (IOV_MAX is 1024) */

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
	/* counters (plain adds where things happen; see stats.h) */
	uint64_t accepted, refused, accept_errors;
	uint64_t lines_out, bytes_out, dropped;
	uint64_t disconnected_slow, disconnected_other, blocked;
	bool activated;        /* the listener came from systemd */
	bool closed;
};

/* ---- sink.c ---- */

/* The owner's name for the sink's own lines; NULL when it has none. */
const char *sink_owner_name(const struct sink *sink);
/* The per-subscriber bound in bytes (the config's buffer, or 1 MiB). */
size_t sink_high_watermark(const struct sink *sink);

/* ---- subscriber.c ---- */

/* A new subscriber on fd, which it owns from now on (except stdout).
 * cred: its peer's credentials, NULL when unknown. NULL on ENOMEM. */
struct subscriber *subscriber_new(struct sink *sink, int fd,
				  bool is_stdout, const struct ucred *cred);
/* End a subscriber: reason is logged at level; the owner hears of it. */
void subscriber_close(struct subscriber *sub, enum sub_close_cause cause,
		      enum log_level level, const char *reason);
/* Best effort: finish the line being written, then an error line saying
 * message; never waits for the socket. */
void subscriber_say_goodbye(struct subscriber *sub, const char *message);

#endif /* CRDBFEEDD_SINK_INT_H */
