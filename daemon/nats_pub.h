/*
 * nats_pub.h: a JetStream publisher on its own thread. The event loop
 * hands it messages through a bounded queue and takes acknowledgements
 * back through another; it never calls the NATS client itself, so nothing
 * NATS does (connecting, a stalled publish, a stream API request, a
 * server that stops answering) can block the loop. The thread connects
 * (nats_conn.h), provisions or validates the stream, reads the feed's
 * high-water mark, then publishes asynchronously with at most max_pending
 * messages unacknowledged; the client's own threads run the
 * acknowledgement handlers, which queue results and wake the loop through
 * an eventfd. After a lost connection it reports NATS_PUB_DOWN, fails the
 * messages in flight (the loop publishes them again: the stream's
 * duplicate window absorbs the copies the server had stored), and reports
 * NATS_PUB_READY again with a fresh high-water mark once it is back.
 *
 * Used by the loop thread only (every function here); callbacks run on the
 * loop, states and acks in the order the thread queued them, and must not
 * call nats_pub_close. No logging: the owner logs what the callbacks tell
 * it.
 */
#ifndef CRDBFEEDD_NATS_PUB_H
#define CRDBFEEDD_NATS_PUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "crdb.h"
#include "nats_conn.h"

struct nats_pub;

enum nats_pub_state {
	NATS_PUB_CONNECTING, /* (re)connecting, checking the stream */
	NATS_PUB_READY,      /* publishing; high_water read at this start */
	NATS_PUB_DOWN,       /* connection lost or the stream unusable;
				retried with backoff by the thread */
	NATS_PUB_FAILED      /* a problem retrying cannot fix (the stream
				does not fit, bad credentials): why says
				what; retried after backoff anyway, slower */
};

struct nats_pub_callbacks {
	/* The state changed (why: one line, or NULL). On NATS_PUB_READY,
	 * hw is the feed's high-water mark read from the stream. */
	void (*state)(void *arg, enum nats_pub_state state, const char *why,
		      const struct nats_high_water *hw);
	/* Acknowledgements are waiting: call nats_pub_take_acks. */
	void (*acks)(void *arg);
	void *arg;
};

struct nats_pub_config {
	const struct nats_settings *conn;   /* borrowed until close */
	struct nats_stream_spec stream;     /* strings borrowed until close */
	size_t max_pending;                 /* unacknowledged at most */
	int64_t ack_timeout_ms;             /* then NATS_PUB_ACK_ERROR */
};

/* One message to publish. Everything is copied by nats_pub_submit. */
struct nats_pub_msg {
	uint64_t tag;            /* the caller's, returned in the ack */
	const char *subject;     /* nats_subject.h */
	const char *msg_id;      /* Nats-Msg-Id */
	bool resolved;           /* Crdb-Type: resolved, else row */
	uint64_t seq;            /* Crdb-Seq */
	crdb_hlc updated;        /* Crdb-Updated */
	const char *table;       /* Crdb-Table (rows), NUL-terminated */
	const char *payload;
	size_t payload_len;
};

enum nats_pub_result {
	NATS_PUB_ACK_STORED,     /* stored at stream_seq */
	NATS_PUB_ACK_DUPLICATE,  /* JetStream had it already (stream_seq: the
				    first copy's) */
	NATS_PUB_ACK_TOO_LARGE,  /* headers and payload over the server's
				    max_payload: never stored, never retried */
	NATS_PUB_ACK_ERROR       /* not known to be stored (timeout, lost
				    connection, an error reply): publish
				    it again */
};

struct nats_pub_ack {
	uint64_t tag;
	enum nats_pub_result result;
	uint64_t stream_seq;
	char error[160];         /* ACK_ERROR, ACK_TOO_LARGE: why */
};

/* Start the thread. NULL with errbuf set only for local failures (memory,
 * threads, the eventfd); NATS problems arrive through cb->state. */
struct nats_pub *nats_pub_open(struct event_base *base,
			       const struct nats_pub_config *cfg,
			       const struct nats_pub_callbacks *cb,
			       char *errbuf, size_t errlen);
/* Stop the thread (messages in flight are abandoned: their publisher
 * republishes them from its position) and free everything. No callback
 * runs once close has begun. Waits for the thread, which may be inside a
 * connect (nats_connect_timeout) or a stream request (5 s at most). */
void nats_pub_close(struct nats_pub *p);

/* Queue one message. 0; 1 when max_pending are queued or in flight (wait
 * for acks); -1 with errbuf set (memory, not READY). */
int nats_pub_submit(struct nats_pub *p, const struct nats_pub_msg *m,
		    char *errbuf, size_t errlen);
/* Take up to max acknowledgements, in the order the thread got them. */
size_t nats_pub_take_acks(struct nats_pub *p, struct nats_pub_ack *out,
			  size_t max);
/* Messages queued or in flight (submitted, not yet taken back as acks). */
size_t nats_pub_outstanding(const struct nats_pub *p);

struct nats_pub_stats {
	enum nats_pub_state state;
	uint64_t published;      /* handed to the client */
	uint64_t stored, duplicates, errors, too_large;  /* acks by result */
	uint64_t reconnects;     /* NATS_PUB_READY after the first */
	uint64_t last_stream_seq; /* the newest stream_seq acknowledged */
	int64_t max_payload;     /* the server's, 0 before the first READY */
};
void nats_pub_get_stats(const struct nats_pub *p, struct nats_pub_stats *out);

#endif /* CRDBFEEDD_NATS_PUB_H */
