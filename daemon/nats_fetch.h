/*
 * nats_fetch.h: a JetStream durable pull consumer on its own thread, the
 * reading half of a feed with source = nats. The thread connects
 * (nats_conn.h), creates or binds the durable consumer (explicit acks,
 * filter PREFIX.FEED.>), fetches batches and queues them for the event
 * loop (bounded: it fetches no more while max_queued messages wait), and
 * wakes the loop through an eventfd. The loop takes messages, makes them
 * durable, then calls nats_fetch_ack_upto: only then does the thread
 * acknowledge them to JetStream. What was not acknowledged when the
 * daemon stops or the connection drops is delivered again, so the loop
 * must recognise what it has already (the ordered hold and journal do).
 *
 * Used by the loop thread only (every function here); callbacks run on the
 * loop. No logging.
 */
#ifndef CRDBFEEDD_NATS_FETCH_H
#define CRDBFEEDD_NATS_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "crdb.h"
#include "nats_conn.h"

struct nats_fetch;

enum nats_fetch_state {
	NATS_FETCH_CONNECTING, /* (re)connecting, binding the consumer */
	NATS_FETCH_READY,      /* fetching */
	NATS_FETCH_DOWN,       /* connection lost; retried with backoff */
	NATS_FETCH_FAILED      /* the stream or consumer is unusable, bad
				  credentials: why says what; retried slower */
};

struct nats_fetch_callbacks {
	void (*state)(void *arg, enum nats_fetch_state state, const char *why);
	/* Messages are waiting: call nats_fetch_take. */
	void (*ready)(void *arg);
	void *arg;
};

struct nats_fetch_config {
	const struct nats_settings *conn;  /* borrowed until close */
	const char *stream;                /* borrowed until close */
	const char *subjects;              /* filter: "PREFIX.FEED.>" */
	const char *durable;               /* the consumer's name */
	size_t batch;                      /* messages per fetch */
	size_t max_queued;                 /* taken by the loop, at most */
	int64_t ack_wait_ms;
	int64_t max_ack_pending;
};

/* One message, owned by the loop once taken (nats_fetch_msg_free). */
struct nats_fetch_msg {
	uint64_t stream_seq;
	uint64_t pending;        /* messages after this one in the stream for
				    the consumer when it was delivered (lag) */
	uint64_t delivered;      /* delivery count: 1, or more when redelivered */
	char *subject;
	/* headers, NULL when absent (nats_conn.h's names) */
	char *msg_id, *type, *seq, *updated, *table;
	char *payload;           /* NUL-terminated too */
	size_t payload_len;
};
void nats_fetch_msg_free(struct nats_fetch_msg *m);

/* Start the thread. NULL with errbuf set only for local failures. */
struct nats_fetch *nats_fetch_open(struct event_base *base,
				   const struct nats_fetch_config *cfg,
				   const struct nats_fetch_callbacks *cb,
				   char *errbuf, size_t errlen);
/* Stop the thread; messages not acknowledged are delivered again to the
 * next consumer. No callback runs once close has begun. */
void nats_fetch_close(struct nats_fetch *f);

/* Take up to max messages in stream order (each one now the caller's). */
size_t nats_fetch_take(struct nats_fetch *f, struct nats_fetch_msg **out,
		       size_t max);
/* Everything taken with stream_seq <= upto is durable: acknowledge it. */
void nats_fetch_ack_upto(struct nats_fetch *f, uint64_t upto);

struct nats_fetch_stats {
	enum nats_fetch_state state;
	uint64_t delivered;      /* messages taken by the loop */
	uint64_t redelivered;    /* ... of which delivery count > 1 */
	uint64_t acked;          /* acknowledged to JetStream */
	uint64_t lag;            /* pending of the newest message taken */
	uint64_t last_stream_seq;
	uint64_t reconnects;
};
void nats_fetch_get_stats(const struct nats_fetch *f,
			  struct nats_fetch_stats *out);

#endif /* CRDBFEEDD_NATS_FETCH_H */
