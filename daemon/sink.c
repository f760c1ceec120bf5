/*
 * sink.c: listeners, subscribers, their queues and filters, and the
 * slow-consumer policies.
 *
 * A subscriber's queue is a ring of references to shared lines (never
 * copies), bounded in bytes by the sink's `buffer`. Lines are written in
 * batches with writev(2) when the socket is writable. When a line does not
 * fit, the sink's policy decides:
 *   block       queue it anyway and make the feed stop reading until the
 *               queue is below the low watermark (nothing is lost; the bound
 *               is exceeded by at most one line);
 *   disconnect  send a final error line if the socket takes it, and close;
 *   drop        skip the line, count it, and once the queue is empty send
 *               one {"type":"missed"} line.
 * A subscriber may send one JSON request line to narrow what it gets
 * (crdbfeedd(8), "SUBSCRIBING").
 *
 * A sink with allow_users/allow_groups checks each peer's SO_PEERCRED on
 * accept: a peer in neither list gets one error line and is closed.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "sink.h"

#include "defer.h"
#include "log.h"
#include "names.h"
#include "unixsock.h"
#include "request.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define REQUEST_BUF (REQUEST_MAX + 1) /* the line and its newline */
#define AFTER_REQUEST_MAX (64 * 1024) /* bytes a subscriber may send after
					   its request line (or without one,
					   after shutting down its side) */
#define WRITE_BATCH 256   /* lines per writev (IOV_MAX is 1024) */
#define ACCEPT_RETRY_MS 1000

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
	struct event *listen_ev;
	struct event *accept_retry;
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

static void (*stdout_closed_hook)(void *);
static void *stdout_closed_arg;

void sink_set_stdout_closed_hook(void (*hook)(void *arg), void *arg)
{
	stdout_closed_hook = hook;
	stdout_closed_arg = arg;
}

const char *sink_name(const struct sink *sink)
{
	return sink->name;
}

const struct sink_config *sink_config(const struct sink *sink)
{
	return sink->cfg;
}

/* The owner's name for the sink's own lines; NULL when it has none. */
static const char *owner_name(const struct sink *sink)
{
	return sink->owner.name ? sink->owner.name(sink->owner.arg) : NULL;
}

static void sink_owner_progress(struct sink *sink)
{
	if (sink->owner.progress)
		sink->owner.progress(sink->owner.arg);
}

static size_t high_watermark(const struct sink *sink)
{
	return sink->cfg->buffer_bytes ? sink->cfg->buffer_bytes : 1024 * 1024;
}

static void sink_cache_bounds(struct sink *sink)
{
	sink->high = high_watermark(sink);
	sink->flush_at = sink->high / 2;
}

void sink_set_config(struct sink *sink, const struct sink_config *cfg)
{
	sink->cfg = cfg;
	sink_cache_bounds(sink);
}

static size_t low_watermark(const struct sink *sink)
{
	size_t high = high_watermark(sink);
	size_t low = sink->cfg->low_watermark;

	return low && low < high ? low : high / 2;
}

/* ---- subscribers ------------------------------------------------------- */

static void subscriber_free(void *ptr)
{
	struct subscriber *sub = ptr;

	request_filter_clear(&sub->filter);
	free(sub->request);
	free(sub->ring);
	free(sub);
}

static void queue_clear(struct subscriber *sub)
{
	while (sub->count) {
		line_unref(sub->ring[sub->head]);
		sub->head = (sub->head + 1) & (sub->ring_cap - 1);
		sub->count--;
	}
	sub->head_off = 0;
	sub->queued_bytes = 0;
}

/*
 * The one function that ends a subscriber. reason is logged at `level`;
 * the sink's owner hears about it (a blocked subscriber may have been the
 * one holding the feed or its checkpoint back).
 */
static void subscriber_close(struct subscriber *sub, enum sub_close_cause cause,
			     enum log_level level, const char *reason)
{
	struct sink *sink = sub->sink;

	if (sub->state == SUB_CLOSED)
		return;
	log_msg(level, sink->who, "subscriber %s closed: %s", sub->ident, reason);
	if (cause == CLOSE_SLOW)
		sink->disconnected_slow++;
	else if (cause == CLOSE_OTHER)
		sink->disconnected_other++;
	if (sub->state == SUB_BLOCKED)
		sink->nblocked--;
	sub->state = SUB_CLOSED;
	if (sub->read_ev)
		event_free(sub->read_ev);
	if (sub->write_ev)
		event_free(sub->write_ev);
	sub->read_ev = sub->write_ev = NULL;
	sub->write_armed = false;
	queue_clear(sub);
	if (sub->is_stdout) {
		/* Gone by itself (EPIPE), not closed with its sink. */
		if (!sink->closed && stdout_closed_hook)
			stdout_closed_hook(stdout_closed_arg);
	} else {
		close(sub->fd);
	}
	sub->fd = -1;
	TAILQ_REMOVE(&sink->subs, sub, link);
	sink->nsubs--;
	defer_free(subscriber_free, sub);
	sink_owner_progress(sink);
}

/* Double the ring (rare: it keeps its size for the subscriber's life). */
static __attribute__((noinline)) int queue_grow(struct subscriber *sub)
{
	size_t ncap = sub->ring_cap ? sub->ring_cap * 2 : 64;
	struct line **ring = malloc(ncap * sizeof(*ring));

	if (!ring)
		return -1;
	for (size_t i = 0; i < sub->count; i++)
		ring[i] = sub->ring[(sub->head + i) & (sub->ring_cap - 1)];
	free(sub->ring);
	sub->ring = ring;
	sub->ring_cap = ncap;
	sub->head = 0;
	return 0;
}

/* The per-line, per-subscriber path: keep it short. */
static inline int queue_push(struct subscriber *sub, struct line *line)
{
	if (sub->count == sub->ring_cap && queue_grow(sub))
		return -1;
	sub->ring[(sub->head + sub->count) & (sub->ring_cap - 1)] = line_ref(line);
	sub->count++;
	sub->queued_bytes += line->len;
	return 0;
}

static void subscriber_flush(struct subscriber *sub);

/* Queue a line (already past the filter and the policy) and arrange for it
 * to be written. */
static inline void subscriber_queue(struct subscriber *sub, struct line *line)
{
	if (queue_push(sub, line)) {
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_ERROR, "out of memory queueing a line");
		return;
	}
	/* Normally the write waits for the loop (one writev per batch); a
	 * queue past half its bound is written at once, so that a burst
	 * decoded in one callback does not overflow a subscriber that reads
	 * fast. */
	if (sub->sync_write || sub->queued_bytes >= sub->sink->flush_at)
		subscriber_flush(sub);
	else if (!sub->write_armed && sub->write_ev && event_add(sub->write_ev, NULL) == 0)
		sub->write_armed = true;
}

/* After the queue shrank: unblock, finish a drop episode. */
static void subscriber_drained(struct subscriber *sub)
{
	struct sink *sink = sub->sink;

	if (sub->state == SUB_BLOCKED && sub->queued_bytes <= low_watermark(sink)) {
		sub->state = SUB_ACTIVE;
		sink->nblocked--;
		log_debug(sink->who, "subscriber %s drained; resuming", sub->ident);
	}
	if (sub->dropping && sub->count == 0) {
		struct line *line = line_new_missed(owner_name(sink), sub->missed);

		log_info(sink->who, "subscriber %s caught up after missing %llu lines",
			 sub->ident, (unsigned long long)sub->missed);
		sub->dropping = false;
		sub->missed = 0;
		if (line) {
			subscriber_queue(sub, line);
			line_unref(line);
		}
	}
}

/* Write as much of the queue as the socket takes, in batches. */
static void subscriber_flush(struct subscriber *sub)
{
	struct sink *sink = sub->sink;
	bool progressed = false;

	while (sub->count && sub->state != SUB_CLOSED) {
		struct iovec iov[WRITE_BATCH];
		size_t mask = sub->ring_cap - 1, total = 0;
		int niov = 0;
		ssize_t n;

		for (size_t i = 0; i < sub->count && niov < WRITE_BATCH; i++) {
			struct line *line = sub->ring[(sub->head + i) & mask];
			size_t off = i == 0 ? sub->head_off : 0;

			iov[niov].iov_base = line->data + off;
			iov[niov].iov_len = line->len - off;
			total += line->len - off;
			niov++;
		}
		n = writev(sub->fd, iov, niov);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (sub->sync_write)
					continue; /* a file cannot say EAGAIN; be safe */
				break;
			}
			char msg[128];

			snprintf(msg, sizeof(msg), "write: %s", strerror(errno));
			subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, msg);
			return;
		}
		progressed = true;
		sink->bytes_out += (uint64_t)n;
		if ((size_t)n == total) {
			/* The usual case: every line of the batch went out. */
			for (int i = 0; i < niov; i++)
				line_unref(sub->ring[(sub->head + (size_t)i) & mask]);
			sub->head = (sub->head + (size_t)niov) & mask;
			sub->count -= (size_t)niov;
			sub->queued_bytes -= total;
			sub->head_off = 0;
			sink->lines_out += (uint64_t)niov;
			continue;
		}
		size_t left = (size_t)n;

		while (left && sub->count) {
			struct line *line = sub->ring[sub->head];
			size_t rest = line->len - sub->head_off;

			if (left < rest) {
				sub->head_off += left;
				sub->queued_bytes -= left;
				left = 0;
				break;
			}
			left -= rest;
			sub->queued_bytes -= rest;
			sink->lines_out++;
			sub->head_off = 0;
			sub->head = (sub->head + 1) & (sub->ring_cap - 1);
			sub->count--;
			line_unref(line);
		}
	}
	if (sub->state == SUB_CLOSED)
		return;
	if (sub->write_ev) {
		if (sub->count && !sub->write_armed)
			sub->write_armed = event_add(sub->write_ev, NULL) == 0;
		else if (!sub->count && sub->write_armed) {
			event_del(sub->write_ev);
			sub->write_armed = false;
		}
	}
	if (progressed) {
		subscriber_drained(sub);
		sink_owner_progress(sink);
	}
}

static void on_subscriber_writable(evutil_socket_t fd, short what, void *arg)
{
	struct subscriber *sub = arg;

	sub->write_armed = false; /* a one-shot event: it fired */
	subscriber_flush(sub);
}

/* Best effort: finish the line being written, then the error line, and
 * never wait for the socket. */
static void subscriber_say_goodbye(struct subscriber *sub, const char *message)
{
	struct line *line = line_new_error(owner_name(sub->sink), message);
	struct iovec iov[2];
	int niov = 0;

	if (!line)
		return;
	if (sub->count && sub->head_off) {
		struct line *head = sub->ring[sub->head];

		iov[niov].iov_base = head->data + sub->head_off;
		iov[niov].iov_len = head->len - sub->head_off;
		niov++;
	}
	iov[niov].iov_base = line->data;
	iov[niov].iov_len = line->len;
	niov++;
	if (writev(sub->fd, iov, niov) < 0) {
		/* The subscriber is too slow to hear it; closing says enough. */
	}
	line_unref(line);
}

static bool subscriber_wants(const struct subscriber *sub,
			     const struct line *line)
{
	switch (line->kind) {
	case LINE_RESOLVED:
		return sub->resolved;
	case LINE_ROW:
		if (!(sub->filter.ops & REQUEST_OP_BIT(line->op)))
			return false;
		if (!sub->filter.tables)
			return true;
		for (size_t i = 0; i < sub->filter.ntables; i++)
			if (strcmp(sub->filter.tables[i], line->table) == 0)
				return true;
		return false;
	default:
		return true;
	}
}

/* The policy, for one subscriber and one line. */
static void subscriber_offer(struct subscriber *sub, struct line *line)
{
	struct sink *sink = sub->sink;
	size_t high = sink->high;

	if (!subscriber_wants(sub, line))
		return;
	if (sub->dropping) {
		sub->missed++;
		sink->dropped++;
		return;
	}
	if (sub->queued_bytes + line->len <= high || sub->count == 0) {
		subscriber_queue(sub, line);
		return;
	}
	switch (sink->cfg->policy) {
	case SLOW_POLICY_BLOCK:
		subscriber_queue(sub, line);
		if (sub->state == SUB_ACTIVE) {
			sub->state = SUB_BLOCKED;
			sink->nblocked++;
			sink->blocked++;
			log_debug(sink->who, "subscriber %s is %zu bytes behind; pausing the feed",
				  sub->ident, sub->queued_bytes);
		}
		break;
	case SLOW_POLICY_DISCONNECT: {
		char msg[160];

		snprintf(msg, sizeof(msg),
			 "too slow: %zu bytes queued, the sink's buffer is %zu bytes",
			 sub->queued_bytes, high);
		subscriber_say_goodbye(sub, msg);
		subscriber_close(sub, CLOSE_SLOW, LOG_LEVEL_WARNING, msg);
		break;
	}
	case SLOW_POLICY_DROP:
		sink->drops++;
		sink->dropped++;
		sub->dropping = true;
		sub->missed = 1;
		log_warning(sink->who, "subscriber %s too slow (%zu bytes queued): dropping lines until it catches up (drop #%llu)",
			    sub->ident, sub->queued_bytes,
			    (unsigned long long)sink->drops);
		break;
	}
}

void sink_offer(struct sink *sink, struct line *line)
{
	struct subscriber *sub, *next;

	for (sub = TAILQ_FIRST(&sink->subs); sub; sub = next) {
		next = TAILQ_NEXT(sub, link);
		subscriber_offer(sub, line);
	}
}

bool sink_is_blocking(const struct sink *sink)
{
	return sink->cfg->policy == SLOW_POLICY_BLOCK && sink->nblocked > 0;
}

uint64_t sink_done_seq(const struct sink *sink, uint64_t feed_seq)
{
	const struct subscriber *sub;
	uint64_t done = feed_seq;

	if (sink->cfg->policy != SLOW_POLICY_BLOCK)
		return UINT64_MAX;
	TAILQ_FOREACH(sub, &sink->subs, link) {
		/* The first queued line with a position bounds what is done;
		 * lines without one (acks, missed) do not count. */
		for (size_t i = 0; i < sub->count; i++) {
			const struct line *line = sub->ring[(sub->head + i) & (sub->ring_cap - 1)];

			if (line->seq) {
				if (line->seq - 1 < done)
					done = line->seq - 1;
				break;
			}
		}
	}
	return done;
}

size_t sink_queued_bytes(const struct sink *sink)
{
	const struct subscriber *sub;
	size_t total = 0;

	TAILQ_FOREACH(sub, &sink->subs, link)
		total += sub->queued_bytes;
	return total;
}

/* ---- the request line --------------------------------------------------- */

/* The acknowledgement: {"v":1,"type":"subscribed","feed":F,"tables":..,
 * "ops":..,"resolved":..} with the filter now in force. */
static struct line *request_ack(const struct subscriber *sub)
{
	json_t *obj = json_object(), *tables, *ops;
	struct line *line;

	if (!obj)
		return NULL;
	tables = sub->filter.tables ? json_array() : json_null();
	ops = json_array();
	for (size_t i = 0; tables && i < sub->filter.ntables; i++)
		json_array_append_new(tables, json_string(sub->filter.tables[i]));
	for (unsigned op = 0; ops && request_op_name((crdb_op)op); op++)
		if (sub->filter.ops & REQUEST_OP_BIT(op))
			json_array_append_new(ops, json_string(request_op_name((crdb_op)op)));
	json_object_set_new(obj, "v", json_integer(LINE_FORMAT_VERSION));
	json_object_set_new(obj, "type", json_string("subscribed"));
	if (owner_name(sub->sink))
		json_object_set_new(obj, "feed", json_string(owner_name(sub->sink)));
	json_object_set_new(obj, "tables", tables);
	json_object_set_new(obj, "ops", ops);
	json_object_set_new(obj, "resolved", json_boolean(sub->resolved));
	line = line_new_json(LINE_SUBSCRIBED, obj);
	json_decref(obj);
	return line;
}

static void request_finish(struct subscriber *sub)
{
	char msg[256];
	struct line *line;
	struct request_filter filter;
	int rc;

	sub->request_done = true;
	rc = request_parse(sub->request, sub->request_len, &filter, msg, sizeof(msg));
	free(sub->request);
	sub->request = NULL;
	if (rc) {
		log_info(sub->sink->who, "subscriber %s sent a bad request: %s",
			 sub->ident, msg);
		subscriber_say_goodbye(sub, msg);
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, "bad request");
		return;
	}
	request_filter_clear(&sub->filter);
	sub->filter = filter;
	if (filter.has_resolved)
		sub->resolved = filter.resolved;
	log_info(sub->sink->who, "subscriber %s narrowed its subscription",
		 sub->ident);
	line = request_ack(sub);
	if (line) {
		subscriber_queue(sub, line);
		line_unref(line);
	}
}

static void on_subscriber_readable(evutil_socket_t fd, short what, void *arg)
{
	struct subscriber *sub = arg;
	char discard[4096];
	ssize_t n;

	if (sub->request_done) {
		n = read(fd, discard, sizeof(discard));
	} else {
		if (!sub->request && !(sub->request = malloc(REQUEST_BUF))) {
			subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_ERROR,
					 "out of memory reading its request");
			return;
		}
		n = read(fd, sub->request + sub->request_len,
			 REQUEST_BUF - sub->request_len);
	}
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		char msg[128];

		snprintf(msg, sizeof(msg), "read: %s", strerror(errno));
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, msg);
		return;
	}
	if (n == 0) {
		/* The client shut down its side (socat does at end of its
		 * input): keep sending; a write error will tell us it left. */
		event_del(sub->read_ev);
		if (!sub->request_done && sub->request_len)
			request_finish(sub);
		return;
	}
	if (sub->request_done) {
		/* One request line is all a subscriber says: a peer that keeps
		 * talking costs reads and is closed, never buffered. */
		sub->after_request += (size_t)n;
		if (sub->after_request > AFTER_REQUEST_MAX) {
			char msg[96];

			snprintf(msg, sizeof(msg), "sent more than %d bytes after its request line",
				 AFTER_REQUEST_MAX);
			subscriber_say_goodbye(sub, msg);
			subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, msg);
		}
		return;
	}
	char *nl = memchr(sub->request + sub->request_len, '\n', (size_t)n);

	sub->request_len += (size_t)n;
	if (nl) {
		sub->request_len = (size_t)(nl - sub->request);
		request_finish(sub);
	} else if (sub->request_len == REQUEST_BUF) {
		char msg[64];

		snprintf(msg, sizeof(msg), "request line longer than %d bytes", REQUEST_MAX);
		subscriber_say_goodbye(sub, msg);
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, msg);
	}
}

/* A new subscriber on fd, which it owns from now on (except stdout).
 * cred: its peer's credentials, NULL when unknown. */
static struct subscriber *subscriber_new(struct sink *sink, int fd,
					 bool is_stdout, const struct ucred *cred)
{
	struct subscriber *sub = calloc(1, sizeof(*sub));

	if (!sub)
		return NULL;
	sub->sink = sink;
	sub->fd = fd;
	sub->is_stdout = is_stdout;
	sub->filter.ops = REQUEST_OPS_ALL;
	sub->resolved = sink->cfg->resolved;
	sub->state = SUB_ACTIVE;
	if (is_stdout) {
		snprintf(sub->ident, sizeof(sub->ident), "stdout");
		sub->request_done = true;
	} else {
		if (cred)
			snprintf(sub->ident, sizeof(sub->ident), "pid=%ld uid=%ld fd=%d",
				 (long)cred->pid, (long)cred->uid, fd);
		else
			snprintf(sub->ident, sizeof(sub->ident), "fd=%d", fd);
		sub->read_ev = event_new(sink->base, fd, EV_READ | EV_PERSIST,
					 on_subscriber_readable, sub);
		if (!sub->read_ev || event_add(sub->read_ev, NULL)) {
			if (sub->read_ev)
				event_free(sub->read_ev);
			free(sub);
			return NULL;
		}
	}
	sub->write_ev = event_new(sink->base, fd, EV_WRITE, on_subscriber_writable, sub);
	if (!sub->write_ev) {
		if (sub->read_ev)
			event_free(sub->read_ev);
		free(sub);
		return NULL;
	}
	if (is_stdout) {
		/* Files and /dev/null cannot be polled: write them at once. */
		if (event_add(sub->write_ev, NULL)) {
			event_free(sub->write_ev);
			sub->write_ev = NULL;
			sub->sync_write = true;
		} else {
			event_del(sub->write_ev);
		}
	}
	TAILQ_INSERT_TAIL(&sink->subs, sub, link);
	sink->nsubs++;
	/* Say where the feed stands, so that "quiet" is not "broken". */
	if (sink->owner.greeting) {
		struct line *line = sink->owner.greeting(sink->owner.arg);

		if (line) {
			subscriber_queue(sub, line);
			line_unref(line);
		}
	}
	return sub;
}

/* ---- the listener --------------------------------------------------------- */

static void on_accept(evutil_socket_t fd, short what, void *arg);

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct sink *sink = arg;

	event_add(sink->listen_ev, NULL);
}

/* Is the peer on the sink's allow-list? Empty lists let everyone in (the
 * socket file's mode and group are then the only gate). */
static bool peer_allowed(const struct sink_config *cfg, const struct ucred *cred)
{
	return unixsock_peer_allowed(cred, cfg->allow_uids, cfg->nallow_uids,
				     cfg->allow_gids, cfg->nallow_gids);
}

/* Tell a refused peer why (one error line, best effort: never wait on
 * it), log it, count it, close it. */
static void sink_refuse(struct sink *sink, int cfd, const struct ucred *cred)
{
	const char *feed = owner_name(sink);
	char msg[256];
	struct line *line;

	sink->refused++;
	if (cred) {
		log_warning(sink->who, "refused subscriber pid %ld uid %ld gid %ld: not in allow_users/allow_groups",
			    (long)cred->pid, (long)cred->uid, (long)cred->gid);
		snprintf(msg, sizeof(msg), "uid %ld is not allowed to subscribe to sink %s (allow_users/allow_groups)",
			 (long)cred->uid, sink->name);
	} else {
		log_warning(sink->who, "refused a subscriber whose credentials are unknown (SO_PEERCRED: %s)",
			    strerror(errno));
		snprintf(msg, sizeof(msg), "unknown peers are not allowed to subscribe to sink %s (allow_users/allow_groups)",
			 sink->name);
	}
	line = line_new_error(feed, msg);
	if (line) {
		if (send(cfd, line->data, line->len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* Gone already, or not reading: closing says enough. */
		}
		line_unref(line);
	}
	close(cfd);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct sink *sink = arg;

	for (int i = 0; i < 32; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct subscriber *sub;
		struct ucred cred;
		socklen_t credlen = sizeof(cred);
		bool have_cred;

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			sink->accept_errors++;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: stop accepting for a
				 * while instead of spinning on the event. */
				struct timeval tv = { ACCEPT_RETRY_MS / 1000,
						      (ACCEPT_RETRY_MS % 1000) * 1000 };

				log_warning(sink->who, "accept: %s; pausing accepts for %d ms",
					    strerror(errno), ACCEPT_RETRY_MS);
				event_del(sink->listen_ev);
				evtimer_add(sink->accept_retry, &tv);
			} else {
				log_warning(sink->who, "accept: %s", strerror(errno));
			}
			return;
		}
		have_cred = getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0;
		if (!peer_allowed(sink->cfg, have_cred ? &cred : NULL)) {
			sink_refuse(sink, cfd, have_cred ? &cred : NULL);
			continue;
		}
		sub = subscriber_new(sink, cfd, false, have_cred ? &cred : NULL);
		if (!sub) {
			log_error(sink->who, "out of memory accepting a subscriber");
			close(cfd);
			return;
		}
		sink->accepted++;
		log_info(sink->who, "subscriber %s connected (%zu now)", sub->ident,
			 sink->nsubs);
	}
}

static int listen_unix(struct sink *sink, char *errbuf, size_t errlen)
{
	const struct sink_config *cfg = sink->cfg;
	int fd = unixsock_listen(sink->who, cfg->path, cfg->mode ? cfg->mode : 0660,
				 cfg->group, 128, errbuf, errlen);

	if (fd < 0)
		return -1;
	sink->path = strdup(cfg->path);
	if (!sink->path) {
		snprintf(errbuf, errlen, "out of memory");
		unlink(cfg->path);
		close(fd);
		return -1;
	}
	sink->listen_fd = fd;
	return 0;
}

static void sink_free(void *ptr)
{
	struct sink *sink = ptr;

	free(sink->name);
	free(sink->path);
	free(sink);
}

static struct sink *sink_alloc(struct event_base *base, const struct sink_config *cfg,
			       const struct sink_owner *owner, char *errbuf, size_t errlen)
{
	struct sink *sink = calloc(1, sizeof(*sink));

	if (!sink || !(sink->name = strdup(cfg->name))) {
		snprintf(errbuf, errlen, "out of memory");
		free(sink);
		return NULL;
	}
	sink->cfg = cfg;
	sink->base = base;
	if (owner)
		sink->owner = *owner;
	sink->listen_fd = -1;
	TAILQ_INIT(&sink->subs);
	snprintf(sink->who, sizeof(sink->who), "sink %s", cfg->name);
	sink_cache_bounds(sink);
	return sink;
}

/* Start accepting on sink->listen_fd. On failure the sink is closed. */
static int sink_watch_listener(struct sink *sink, char *errbuf, size_t errlen)
{
	sink->listen_ev = event_new(sink->base, sink->listen_fd, EV_READ | EV_PERSIST,
				    on_accept, sink);
	sink->accept_retry = evtimer_new(sink->base, on_accept_retry, sink);
	if (!sink->listen_ev || !sink->accept_retry ||
	    event_add(sink->listen_ev, NULL)) {
		snprintf(errbuf, errlen, "cannot watch the listening socket");
		memset(&sink->owner, 0, sizeof(sink->owner));
		sink_close(sink, NULL);
		return -1;
	}
	return 0;
}

struct sink *sink_open(struct event_base *base, const struct sink_config *cfg,
		       const struct sink_owner *owner, char *errbuf, size_t errlen)
{
	struct sink *sink = sink_alloc(base, cfg, owner, errbuf, errlen);

	if (!sink)
		return NULL;
	if (cfg->type == SINK_STDOUT) {
		int flags = fcntl(STDOUT_FILENO, F_GETFL);

		/* Never let a slow reader of stdout stall the loop. */
		if (flags < 0 || fcntl(STDOUT_FILENO, F_SETFL, flags | O_NONBLOCK)) {
			snprintf(errbuf, errlen, "standard output: %s", strerror(errno));
			sink_free(sink);
			return NULL;
		}
		if (!subscriber_new(sink, STDOUT_FILENO, true, NULL)) {
			snprintf(errbuf, errlen, "out of memory");
			sink_free(sink);
			return NULL;
		}
		return sink;
	}
	if (listen_unix(sink, errbuf, errlen)) {
		sink_free(sink);
		return NULL;
	}
	if (sink_watch_listener(sink, errbuf, errlen))
		return NULL;
	log_info(sink->who, "listening on %s (policy %s, buffer %zu bytes)",
		 cfg->path, slow_policy_name(cfg->policy), high_watermark(sink));
	return sink;
}

/* Is fd a listening AF_UNIX stream socket? 0, or -1 with errbuf set. */
static int check_activated_socket(int fd, char *errbuf, size_t errlen)
{
	int domain = 0, type = 0, listening = 0;
	socklen_t len;

	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len)) {
		snprintf(errbuf, errlen, "passed fd %d is not a socket: %s", fd,
			 strerror(errno));
		return -1;
	}
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		type = -1;
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len))
		listening = 0;
	if (domain != AF_UNIX || type != SOCK_STREAM || !listening) {
		snprintf(errbuf, errlen, "passed fd %d is not a listening Unix stream socket (ListenStream= with a path)",
			 fd);
		return -1;
	}
	return 0;
}

struct sink *sink_open_fd(struct event_base *base, const struct sink_config *cfg,
			  const struct sink_owner *owner, int fd,
			  char *errbuf, size_t errlen)
{
	struct sink *sink;
	int dupfd, flags;

	if (cfg->type != SINK_UNIX) {
		snprintf(errbuf, errlen, "only a unix sink can take a socket from systemd");
		return NULL;
	}
	if (check_activated_socket(fd, errbuf, errlen))
		return NULL;
	sink = sink_alloc(base, cfg, owner, errbuf, errlen);
	if (!sink)
		return NULL;
	/* Our own descriptor: the caller keeps fd for later reloads. The
	 * file's path, mode and group are systemd's (the .socket unit):
	 * sink->path stays NULL, so nothing here unlinks it. */
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0) {
		snprintf(errbuf, errlen, "dup of passed fd %d: %s", fd, strerror(errno));
		sink_free(sink);
		return NULL;
	}
	flags = fcntl(dupfd, F_GETFL);
	if (flags < 0 || fcntl(dupfd, F_SETFL, flags | O_NONBLOCK)) {
		snprintf(errbuf, errlen, "passed fd %d: %s", fd, strerror(errno));
		close(dupfd);
		sink_free(sink);
		return NULL;
	}
	sink->listen_fd = dupfd;
	sink->activated = true;
	if (sink_watch_listener(sink, errbuf, errlen))
		return NULL;
	log_info(sink->who, "listening on a socket from systemd%s%s (policy %s, buffer %zu bytes)",
		 cfg->path ? " for " : "", cfg->path ? cfg->path : "",
		 slow_policy_name(cfg->policy), high_watermark(sink));
	return sink;
}

void sink_get_stats(const struct sink *sink, struct sink_stats *out)
{
	const struct subscriber *sub;

	memset(out, 0, sizeof(*out));
	out->accepted = sink->accepted;
	out->refused = sink->refused;
	out->accept_errors = sink->accept_errors;
	out->lines_out = sink->lines_out;
	out->bytes_out = sink->bytes_out;
	out->dropped = sink->dropped;
	out->disconnected_slow = sink->disconnected_slow;
	out->disconnected_other = sink->disconnected_other;
	out->blocked = sink->blocked;
	out->subscribers = sink->nsubs;
	TAILQ_FOREACH(sub, &sink->subs, link) {
		out->queued_bytes += sub->queued_bytes;
		if (sub->queued_bytes > out->max_queued_bytes)
			out->max_queued_bytes = sub->queued_bytes;
	}
	out->buffer_bytes = high_watermark(sink);
	out->activated = sink->activated;
}

void sink_close(struct sink *sink, const char *why)
{
	struct subscriber *sub;

	if (sink->closed)
		return;
	if (why)
		TAILQ_FOREACH(sub, &sink->subs, link)
			subscriber_say_goodbye(sub, why);
	sink->closed = true;
	/* The owner is told by subscriber_close; detach first so that a
	 * closing sink never wakes a feed that is going away. */
	memset(&sink->owner, 0, sizeof(sink->owner));
	while ((sub = TAILQ_FIRST(&sink->subs)) != NULL)
		subscriber_close(sub, CLOSE_SINK, LOG_LEVEL_INFO, "sink closed");
	if (sink->listen_ev)
		event_free(sink->listen_ev);
	if (sink->accept_retry)
		event_free(sink->accept_retry);
	sink->listen_ev = sink->accept_retry = NULL;
	if (sink->listen_fd >= 0)
		close(sink->listen_fd);
	sink->listen_fd = -1;
	if (sink->path)
		unlink(sink->path);
	if (sink->cfg->type == SINK_STDOUT) {
		int flags = fcntl(STDOUT_FILENO, F_GETFL);

		if (flags >= 0)
			fcntl(STDOUT_FILENO, F_SETFL, flags & ~O_NONBLOCK);
	}
	if (sink->disconnected_slow || sink->drops)
		log_info(sink->who, "closed after %llu slow-subscriber disconnects and %llu drop episodes",
			 (unsigned long long)sink->disconnected_slow,
			 (unsigned long long)sink->drops);
	defer_free(sink_free, sink);
}
