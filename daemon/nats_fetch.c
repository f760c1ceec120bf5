/*
 * nats_fetch.c: the pull-consumer thread of a feed with source = nats
 * (nats_fetch.h). Every libnats call runs on this thread; the event loop
 * and the thread share only the ring of fetched messages, the acked
 * position, pending state reports and counters, under one mutex, and the
 * thread wakes the loop through an eventfd.
 *
 * The ring holds every fetched message until it is acknowledged, in stream
 * order: from its head, the messages the loop took (waiting for
 * nats_fetch_ack_upto), then those it has not taken yet. Its capacity is
 * the consumer's MaxAckPending, so the server never refuses a fetch for
 * too many unacknowledged messages, and at most max_queued wait untaken.
 * An entry keeps the message's reply subject, not the libnats message:
 * an ack is "+ACK" published there, as nats.c's own auto-ack does
 * (doc/nats.md), so a taken message is held once, by the loop.
 *
 * Order across faults: JetStream redelivers an unacknowledged message
 * only after AckWait, and meanwhile delivers newer ones (doc/nats.md,
 * probe). So whenever the thread binds (start, after a lost connection,
 * after a fetch error) and the durable consumer has messages delivered
 * but not acknowledged, it deletes the consumer and creates it again
 * starting just after its ack floor: the loop then gets every message
 * after its acknowledged position again, in stream order, with no gap.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "nats_fetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"

#define FETCH_WAIT_MS 500          /* one Fetch waits at most this long */
#define DOWN_BACKOFF_MIN_MS 200    /* connection refused, lost */
#define DOWN_BACKOFF_MAX_MS 5000
#define FAILED_BACKOFF_MIN_MS 1000 /* bad credentials, no such stream */
#define FAILED_BACKOFF_MAX_MS 30000
#define DEFAULT_MAX_ACK_PENDING 1000
#define DEFAULT_ACK_WAIT_MS 30000
#define API_TIMEOUT_MS 5000        /* JetStream API requests */
#define CLOSE_FLUSH_MS 1000        /* last acks on the way out */
#define CLOSED_CB_WAIT_MS 5000     /* libnats' closed callback at close */
#define STATE_EVENTS 8             /* state reports waiting for the loop */
#define WHY_MAX 256
#define CONN_LOST "nats: connection lost, reconnecting"

struct ring_entry {
	uint64_t stream_seq;
	char *reply;                 /* where the ack goes */
	struct nats_fetch_msg *msg;  /* NULL once the loop took it */
};

struct state_event {
	enum nats_fetch_state state;
	char why[WHY_MAX];
};

struct nats_fetch {
	/* The loop's. */
	struct event_base *base;
	struct event *wake;
	int efd;
	struct nats_fetch_callbacks cb;
	int dispatching;             /* callbacks running now */
	bool free_after_dispatch;    /* nats_fetch_close ran inside one */
	uint64_t delivered, redelivered, lag, last_stream_seq;

	/* Read by both, set at open. */
	const struct nats_settings *conn;
	char *stream, *subjects, *durable;
	size_t batch, max_queued, capacity;
	int64_t ack_wait_ms;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;         /* the thread waits here (CLOCK_MONOTONIC) */

	/* Under mu. */
	bool stopping;
	struct ring_entry *ring;
	size_t head, count, taken;   /* taken: entries from head the loop has */
	uint64_t ack_upto;
	bool conn_down, conn_back, conn_closed;
	struct state_event events[STATE_EVENTS];
	size_t ev_head, ev_count;
	enum nats_fetch_state reported;
	char reported_why[WHY_MAX];

	/* Written by the thread, read by nats_fetch_get_stats. */
	_Atomic int state;
	_Atomic uint64_t acked, reconnects;

	/* The thread's. */
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	uint64_t delivered_before;   /* stream seqs up to here had been
					delivered by the consumer we replaced */
	bool was_ready;
};

/* why = one line, cut at whylen (messages name streams and subjects of
 * any length). */
static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void nats_fetch_msg_free(struct nats_fetch_msg *m)
{
	if (!m)
		return;
	free(m->subject);
	free(m->msg_id);
	free(m->type);
	free(m->seq);
	free(m->updated);
	free(m->table);
	free(m->payload);
	free(m);
}

static void wake_loop(struct nats_fetch *f)
{
	uint64_t one = 1;

	/* A full counter (never, in practice) still leaves it readable. */
	if (write(f->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

/* Queue a state report for the loop, unless it repeats the last one. */
static void report_state(struct nats_fetch *f, enum nats_fetch_state state,
			 const char *why)
{
	struct state_event *ev;
	bool wake = false;

	atomic_store(&f->state, (int)state);
	pthread_mutex_lock(&f->mu);
	if (f->reported != state ||
	    strcmp(f->reported_why, why ? why : "") != 0) {
		f->reported = state;
		snprintf(f->reported_why, sizeof(f->reported_why), "%s",
			 why ? why : "");
		if (f->ev_count == STATE_EVENTS) {
			/* The loop is behind: the newest report replaces the
			 * last one queued, the order of the others stays. */
			ev = &f->events[(f->ev_head + f->ev_count - 1) %
					STATE_EVENTS];
		} else {
			ev = &f->events[(f->ev_head + f->ev_count) %
					STATE_EVENTS];
			f->ev_count++;
		}
		ev->state = state;
		snprintf(ev->why, sizeof(ev->why), "%s", why ? why : "");
		wake = true;
	}
	pthread_mutex_unlock(&f->mu);
	if (wake)
		wake_loop(f);
}

/* Wait on the condition for at most ms (CLOCK_MONOTONIC). Under mu. */
static void cond_wait_ms(struct nats_fetch *f, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&f->cond, &f->mu, &ts);
}

static bool stopping(struct nats_fetch *f)
{
	bool stop;

	pthread_mutex_lock(&f->mu);
	stop = f->stopping;
	pthread_mutex_unlock(&f->mu);
	return stop;
}

/* Sleep ms unless close begins. */
static void pause_ms(struct nats_fetch *f, int64_t ms)
{
	pthread_mutex_lock(&f->mu);
	if (!f->stopping)
		cond_wait_ms(f, ms);
	pthread_mutex_unlock(&f->mu);
}

/* Forget every message held (taken or not): none will be acknowledged,
 * JetStream delivers them again. */
static void drop_ring(struct nats_fetch *f)
{
	pthread_mutex_lock(&f->mu);
	while (f->count) {
		struct ring_entry *e = &f->ring[f->head];

		free(e->reply);
		nats_fetch_msg_free(e->msg);
		e->reply = NULL;
		e->msg = NULL;
		f->head = (f->head + 1) % f->capacity;
		f->count--;
	}
	f->head = 0;
	f->taken = 0;
	pthread_mutex_unlock(&f->mu);
}

/* Acknowledge the taken messages at or below ack_upto, in stream order. */
static void send_acks(struct nats_fetch *f)
{
	for (;;) {
		char *reply = NULL;

		pthread_mutex_lock(&f->mu);
		if (f->taken && f->ring[f->head].stream_seq <= f->ack_upto) {
			reply = f->ring[f->head].reply;
			f->ring[f->head].reply = NULL;
			f->head = (f->head + 1) % f->capacity;
			f->count--;
			f->taken--;
			/* Room in the ring: a waiting fetch may go on. */
		}
		pthread_mutex_unlock(&f->mu);
		if (!reply)
			return;
		/* A failed publish (connection gone) leaves the message
		 * unacknowledged: it comes back, the loop knows it. */
		if (natsConnection_PublishString(f->nc, reply, "+ACK") ==
		    NATS_OK)
			atomic_fetch_add(&f->acked, 1);
		free(reply);
	}
}

static void on_disconnected(natsConnection *nc, void *arg)
{
	struct nats_fetch *f = arg;

	(void)nc;
	pthread_mutex_lock(&f->mu);
	f->conn_down = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

static void on_reconnected(natsConnection *nc, void *arg)
{
	struct nats_fetch *f = arg;

	(void)nc;
	pthread_mutex_lock(&f->mu);
	f->conn_down = false;
	f->conn_back = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

static void on_closed(natsConnection *nc, void *arg)
{
	struct nats_fetch *f = arg;

	(void)nc;
	pthread_mutex_lock(&f->mu);
	f->conn_closed = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

/* Close the connection and wait for its closed callback, the last one
 * libnats runs with f, before f may go. */
static void disconnect(struct nats_fetch *f)
{
	if (f->sub) {
		/* Destroy, never Unsubscribe: that deletes a consumer the
		 * subscribe created (ours is bound, but stay safe). */
		natsSubscription_Destroy(f->sub);
		f->sub = NULL;
	}
	if (!f->nc)
		return;
	natsConnection_Close(f->nc);
	pthread_mutex_lock(&f->mu);
	for (int i = 0; !f->conn_closed && i < CLOSED_CB_WAIT_MS / 100; i++)
		cond_wait_ms(f, 100);
	pthread_mutex_unlock(&f->mu);
	nats_conn_close(f->nc, f->js);
	f->nc = NULL;
	f->js = NULL;
}

/* Connect. 0, or the state to report (DOWN: try again soon; FAILED: a
 * setting is wrong) with why set. */
static int connect_nats(struct nats_fetch *f, char *why, size_t whylen)
{
	natsOptions *opts = NULL;
	natsStatus st;
	int rc;

	if (natsOptions_Create(&opts) != NATS_OK) {
		say(why, whylen, "nats: out of memory");
		return NATS_FETCH_DOWN;
	}
	natsOptions_SetDisconnectedCB(opts, on_disconnected, f);
	natsOptions_SetReconnectedCB(opts, on_reconnected, f);
	natsOptions_SetClosedCB(opts, on_closed, f);
	pthread_mutex_lock(&f->mu);
	f->conn_down = f->conn_back = f->conn_closed = false;
	pthread_mutex_unlock(&f->mu);
	rc = nats_conn_open(f->conn, opts, true, API_TIMEOUT_MS, &f->nc, &f->js,
			    why, whylen);
	natsOptions_Destroy(opts);
	if (rc == 0)
		return 0;
	f->nc = NULL;
	f->js = NULL;
	/* What libnats said last on this thread tells a refused or lost
	 * connection (try again soon) from a refusal of who we are. */
	nats_GetLastError(&st);
	if (st == NATS_NOT_PERMITTED || st == NATS_SSL_ERROR ||
	    st == NATS_INVALID_ARG)
		return NATS_FETCH_FAILED;
	return NATS_FETCH_DOWN;
}

static int api_error(const char *what, natsStatus st, jsErrCode jerr,
		     char *why, size_t whylen)
{
	const char *detail = nats_GetLastError(NULL);

	int n = snprintf(why, whylen, "nats: %s: %s%s%s", what,
			 natsStatus_GetText(st), detail && *detail ? ": " : "",
			 detail ? detail : "");

	if (jerr && n >= 0 && (size_t)n < whylen)
		snprintf(why + n, whylen - (size_t)n, " (JetStream error %d)",
			 (int)jerr);
	return NATS_FETCH_DOWN;
}

static int create_consumer(struct nats_fetch *f, uint64_t start_seq,
			   char *why, size_t whylen)
{
	jsConsumerConfig cc;
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;
	natsStatus st;
	char what[300];

	jsConsumerConfig_Init(&cc);
	cc.Durable = f->durable;
	cc.FilterSubject = f->subjects;
	cc.AckPolicy = js_AckExplicit;
	cc.AckWait = f->ack_wait_ms * 1000000LL;
	cc.MaxAckPending = (int64_t)f->capacity;
	if (start_seq > 1) {
		cc.DeliverPolicy = js_DeliverByStartSequence;
		cc.OptStartSeq = start_seq;
	} else {
		cc.DeliverPolicy = js_DeliverAll;
	}
	st = js_AddConsumer(&ci, f->js, f->stream, &cc, NULL, &jerr);
	jsConsumerInfo_Destroy(ci);
	if (st == NATS_OK)
		return 0;
	say(what, sizeof(what), "stream %s: creating consumer %s",
		 f->stream, f->durable);
	if (jerr == JSStreamNotFoundErr) {
		say(why, whylen, "nats: stream %s not found", f->stream);
		return NATS_FETCH_FAILED;
	}
	return api_error(what, st, jerr, why, whylen);
}

/*
 * Make the durable consumer ready to deliver, in stream order, everything
 * after its acknowledged position, and subscribe to it. 0, or the state
 * to report with why set.
 */
static int bind_consumer(struct nats_fetch *f, char *why, size_t whylen)
{
	jsConsumerInfo *ci = NULL;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus st;
	int rc = 0;
	char what[300];

	say(what, sizeof(what), "stream %s: consumer %s", f->stream,
		 f->durable);
	st = js_GetConsumerInfo(&ci, f->js, f->stream, f->durable, NULL,
				&jerr);
	if (st == NATS_OK) {
		const jsConsumerConfig *c = ci->Config;
		const char *filter = c->FilterSubject ? c->FilterSubject : "";
		bool outstanding = ci->NumAckPending > 0 ||
				   ci->Delivered.Stream > ci->AckFloor.Stream;
		bool differs = c->AckPolicy != js_AckExplicit ||
			       c->AckWait != f->ack_wait_ms * 1000000LL ||
			       c->MaxAckPending != (int64_t)f->capacity;

		if (c->DeliverSubject && *c->DeliverSubject) {
			say(why, whylen,
				 "nats: %s is a push consumer, not a pull consumer: delete it or choose another nats_durable",
				 what);
			rc = NATS_FETCH_FAILED;
		} else if (strcmp(filter, f->subjects) != 0) {
			say(why, whylen,
				 "nats: %s filters \"%s\", not \"%s\": delete it or choose another nats_durable",
				 what, filter, f->subjects);
			rc = NATS_FETCH_FAILED;
		} else if (outstanding || differs) {
			uint64_t start = ci->AckFloor.Stream + 1;

			if (ci->Delivered.Stream > f->delivered_before)
				f->delivered_before = ci->Delivered.Stream;
			st = js_DeleteConsumer(f->js, f->stream, f->durable,
					       NULL, &jerr);
			if (st != NATS_OK && jerr != JSConsumerNotFoundErr)
				rc = api_error(what, st, jerr, why, whylen);
			else
				rc = create_consumer(f, start, why, whylen);
		}
		jsConsumerInfo_Destroy(ci);
	} else if (jerr == JSConsumerNotFoundErr) {
		rc = create_consumer(f, 1, why, whylen);
	} else if (jerr == JSStreamNotFoundErr) {
		say(why, whylen, "nats: stream %s not found", f->stream);
		rc = NATS_FETCH_FAILED;
	} else {
		rc = api_error(what, st, jerr, why, whylen);
	}
	if (rc)
		return rc;

	jsSubOptions_Init(&so);
	so.Stream = f->stream;
	so.Consumer = f->durable;  /* bind only: never created or deleted */
	st = js_PullSubscribe(&f->sub, f->js, f->subjects, f->durable, NULL,
			      &so, &jerr);
	if (st != NATS_OK) {
		f->sub = NULL;
		return api_error(what, st, jerr, why, whylen);
	}
	return 0;
}

static char *header_copy(natsMsg *m, const char *name)
{
	const char *v = NULL;

	if (natsMsgHeader_Get(m, name, &v) != NATS_OK || !v)
		return NULL;
	return strdup(v);
}

/* The message as the loop gets it, or NULL (memory, not JetStream's). */
static struct nats_fetch_msg *copy_msg(struct nats_fetch *f, natsMsg *m,
				       uint64_t *stream_seq, char **reply)
{
	jsMsgMetaData *meta = NULL;
	struct nats_fetch_msg *out;
	const char *r = natsMsg_GetReply(m);
	int len = natsMsg_GetDataLength(m);

	if (!r || natsMsg_GetMetaData(&meta, m) != NATS_OK)
		return NULL;
	out = calloc(1, sizeof(*out));
	if (!out) {
		jsMsgMetaData_Destroy(meta);
		return NULL;
	}
	out->stream_seq = meta->Sequence.Stream;
	out->pending = meta->NumPending;
	out->delivered = meta->NumDelivered;
	/* Delivered by the consumer we replaced: count that delivery. */
	if (out->stream_seq <= f->delivered_before && out->delivered < 2)
		out->delivered = 2;
	jsMsgMetaData_Destroy(meta);
	out->subject = strdup(natsMsg_GetSubject(m));
	out->msg_id = header_copy(m, "Nats-Msg-Id");
	out->type = header_copy(m, NATS_HDR_TYPE);
	out->seq = header_copy(m, NATS_HDR_SEQ);
	out->updated = header_copy(m, NATS_HDR_UPDATED);
	out->table = header_copy(m, NATS_HDR_TABLE);
	out->payload_len = len > 0 ? (size_t)len : 0;
	out->payload = malloc(out->payload_len + 1);
	*reply = strdup(r);
	if (!out->subject || !out->payload || !*reply) {
		free(*reply);
		*reply = NULL;
		nats_fetch_msg_free(out);
		return NULL;
	}
	if (out->payload_len)
		memcpy(out->payload, natsMsg_GetData(m), out->payload_len);
	out->payload[out->payload_len] = '\0';
	*stream_seq = out->stream_seq;
	return out;
}

/* Queue a fetched batch for the loop. */
static void queue_batch(struct nats_fetch *f, natsMsgList *list)
{
	bool wake = false;

	for (int i = 0; i < list->Count; i++) {
		uint64_t seq = 0;
		char *reply = NULL;
		struct nats_fetch_msg *m = copy_msg(f, list->Msgs[i], &seq,
						    &reply);

		/* Not queued: never acknowledged, so delivered again after
		 * AckWait, out of order; the next bind puts order back. */
		if (!m)
			continue;
		pthread_mutex_lock(&f->mu);
		{
			struct ring_entry *e =
				&f->ring[(f->head + f->count) % f->capacity];

			e->stream_seq = seq;
			e->reply = reply;
			e->msg = m;
			f->count++;
		}
		pthread_mutex_unlock(&f->mu);
		wake = true;
	}
	if (wake)
		wake_loop(f);
}

/* How many messages the next fetch may ask for (0: wait): no more than a
 * batch, than the ring has room for, than max_queued leaves. */
static size_t fetch_room(struct nats_fetch *f)
{
	size_t room, queued;

	pthread_mutex_lock(&f->mu);
	queued = f->count - f->taken;
	room = f->capacity - f->count;
	pthread_mutex_unlock(&f->mu);
	if (queued >= f->max_queued)
		return 0;
	if (f->max_queued - queued < room)
		room = f->max_queued - queued;
	return room < f->batch ? room : f->batch;
}

/* What happened to the connection since the last look. */
enum conn_news { CONN_SAME, CONN_DOWN, CONN_BACK, CONN_CLOSED };

static enum conn_news conn_news(struct nats_fetch *f)
{
	enum conn_news news = CONN_SAME;

	pthread_mutex_lock(&f->mu);
	if (f->conn_closed)
		news = CONN_CLOSED;
	else if (f->conn_back)
		news = CONN_BACK;
	else if (f->conn_down)
		news = CONN_DOWN;
	f->conn_back = false;
	pthread_mutex_unlock(&f->mu);
	return news;
}

/* One fetch; false when the subscription must be bound again. */
static bool fetch_once(struct nats_fetch *f, char *why, size_t whylen)
{
	natsMsgList list = {0};
	jsErrCode jerr = 0;
	size_t room = fetch_room(f);
	natsStatus st;

	if (room == 0) {
		/* The loop has max_queued waiting, or the ring is full of
		 * messages it has not confirmed: wait for take or ack. */
		pthread_mutex_lock(&f->mu);
		if (!f->stopping && !f->conn_down && !f->conn_back)
			cond_wait_ms(f, FETCH_WAIT_MS);
		pthread_mutex_unlock(&f->mu);
		return true;
	}
	st = natsSubscription_Fetch(&list, f->sub, (int)room, FETCH_WAIT_MS,
				    &jerr);
	if (st == NATS_OK) {
		queue_batch(f, &list);
		natsMsgList_Destroy(&list);
		return true;
	}
	natsMsgList_Destroy(&list);
	if (st == NATS_TIMEOUT ||
	    natsConnection_Status(f->nc) != NATS_CONN_STATUS_CONNECTED)
		return true; /* idle, or the callbacks tell the rest */
	api_error("fetch", st, jerr, why, whylen);
	return false;
}

/* A failed connect or bind: say why, then wait the next backoff step of
 * its kind (a FAILED one retries slower than a DOWN one). */
static void report_and_wait(struct nats_fetch *f, int rc, const char *why,
			    int64_t *down_step, int64_t *failed_step)
{
	report_state(f, rc, why);
	pause_ms(f, rc == NATS_FETCH_FAILED ?
		 backoff_next(failed_step, FAILED_BACKOFF_MIN_MS,
			      FAILED_BACKOFF_MAX_MS, (uint64_t)random()) :
		 backoff_next(down_step, DOWN_BACKOFF_MIN_MS,
			      DOWN_BACKOFF_MAX_MS, (uint64_t)random()));
}

static void *fetch_thread(void *arg)
{
	struct nats_fetch *f = arg;
	int64_t down_step = 0, failed_step = 0;
	char why[WHY_MAX];
	int rc;

	while (!stopping(f)) {
		if (!f->nc) {
			report_state(f, NATS_FETCH_CONNECTING, NULL);
			rc = connect_nats(f, why, sizeof(why));
			if (rc) {
				report_and_wait(f, rc, why, &down_step,
						&failed_step);
				continue;
			}
		}
		switch (conn_news(f)) {
		case CONN_CLOSED:
			/* libnats gave up (it should not: reconnects are
			 * unlimited): start over with a new connection. */
			drop_ring(f);
			disconnect(f);
			report_state(f, NATS_FETCH_DOWN,
				     "nats: connection closed");
			continue;
		case CONN_DOWN:
			report_state(f, NATS_FETCH_DOWN, CONN_LOST);
			pause_ms(f, FETCH_WAIT_MS);
			continue;
		case CONN_BACK:
			/* Said even when the thread missed the outage (it
			 * was inside a fetch): the loop sees every one. */
			report_state(f, NATS_FETCH_DOWN, CONN_LOST);
			/* Acks still count on the new connection: send those
			 * the loop allowed, drop the rest, bind again. */
			send_acks(f);
			drop_ring(f);
			if (f->sub) {
				natsSubscription_Destroy(f->sub);
				f->sub = NULL;
			}
			if (f->was_ready)
				atomic_fetch_add(&f->reconnects, 1);
			f->was_ready = false;
			break;
		case CONN_SAME:
			break;
		}
		if (!f->sub) {
			report_state(f, NATS_FETCH_CONNECTING, NULL);
			rc = bind_consumer(f, why, sizeof(why));
			if (rc) {
				report_and_wait(f, rc, why, &down_step,
						&failed_step);
				continue;
			}
			down_step = failed_step = 0;
			f->was_ready = true;
			report_state(f, NATS_FETCH_READY, NULL);
		}
		send_acks(f);
		if (!fetch_once(f, why, sizeof(why))) {
			/* The consumer went away or refused us: what was
			 * fetched and not acknowledged comes again after the
			 * next bind, in order. */
			report_state(f, NATS_FETCH_DOWN, why);
			drop_ring(f);
			natsSubscription_Destroy(f->sub);
			f->sub = NULL;
			pause_ms(f, backoff_next(&down_step, DOWN_BACKOFF_MIN_MS,
						 DOWN_BACKOFF_MAX_MS,
						 (uint64_t)random()));
		}
	}
	if (f->nc) {
		send_acks(f);
		natsConnection_FlushTimeout(f->nc, CLOSE_FLUSH_MS);
	}
	disconnect(f);
	return NULL;
}

/* The loop's side of the eventfd: state reports, then messages. ready is
 * called once per wake while messages wait; a loop that leaves some
 * behind takes them later by itself (the thread adds no more, and so
 * wakes it no more, once max_queued wait). */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct nats_fetch *f = arg;
	struct state_event evs[STATE_EVENTS];
	size_t n = 0;
	uint64_t counter;
	bool waiting;

	(void)what;
	if (read(fd, &counter, sizeof(counter)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&f->mu);
	while (f->ev_count) {
		evs[n++] = f->events[f->ev_head];
		f->ev_head = (f->ev_head + 1) % STATE_EVENTS;
		f->ev_count--;
	}
	waiting = f->count > f->taken;
	pthread_mutex_unlock(&f->mu);

	f->dispatching++;
	for (size_t i = 0; i < n && !f->free_after_dispatch; i++)
		if (f->cb.state)
			f->cb.state(f->cb.arg, evs[i].state,
				    evs[i].why[0] ? evs[i].why : NULL);
	if (waiting && !f->free_after_dispatch && f->cb.ready)
		f->cb.ready(f->cb.arg);
	f->dispatching--;
	if (f->free_after_dispatch && f->dispatching == 0)
		free(f);
}

static void free_parts(struct nats_fetch *f)
{
	if (f->wake)
		event_free(f->wake);
	f->wake = NULL;
	if (f->efd >= 0)
		close(f->efd);
	f->efd = -1;
	if (f->ring) {
		for (size_t i = 0; i < f->capacity; i++) {
			free(f->ring[i].reply);
			nats_fetch_msg_free(f->ring[i].msg);
		}
		free(f->ring);
		f->ring = NULL;
	}
	free(f->stream);
	free(f->subjects);
	free(f->durable);
	f->stream = f->subjects = f->durable = NULL;
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->mu);
}

struct nats_fetch *nats_fetch_open(struct event_base *base,
				   const struct nats_fetch_config *cfg,
				   const struct nats_fetch_callbacks *cb,
				   char *errbuf, size_t errlen)
{
	struct nats_fetch *f;
	pthread_condattr_t ca;
	int err;

	if (!cfg->conn || !cfg->stream || !cfg->subjects || !cfg->durable ||
	    cfg->batch == 0 || cfg->max_queued == 0) {
		snprintf(errbuf, errlen,
			 "nats_fetch: the connection, stream, subjects, durable name, a batch and max_queued are required");
		return NULL;
	}
	if (strchr(cfg->durable, '.') || strchr(cfg->durable, '*') ||
	    strchr(cfg->durable, '>') || strchr(cfg->durable, ' ')) {
		snprintf(errbuf, errlen,
			 "nats_fetch: consumer name \"%s\": no '.', '*', '>' or space allowed",
			 cfg->durable);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(errbuf, errlen, "nats_fetch: out of memory");
		return NULL;
	}
	f->efd = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	f->base = base;
	f->cb = *cb;
	f->conn = cfg->conn;
	f->stream = strdup(cfg->stream);
	f->subjects = strdup(cfg->subjects);
	f->durable = dup_or_null(cfg->durable);
	f->batch = cfg->batch;
	f->capacity = cfg->max_ack_pending > 0 ?
			      (size_t)cfg->max_ack_pending :
			      DEFAULT_MAX_ACK_PENDING;
	f->max_queued = cfg->max_queued < f->capacity ? cfg->max_queued :
							 f->capacity;
	f->ack_wait_ms = cfg->ack_wait_ms > 0 ? cfg->ack_wait_ms :
						DEFAULT_ACK_WAIT_MS;
	f->ring = calloc(f->capacity, sizeof(*f->ring));
	f->reported = NATS_FETCH_CONNECTING;
	atomic_init(&f->state, NATS_FETCH_CONNECTING);
	atomic_init(&f->acked, 0);
	atomic_init(&f->reconnects, 0);
	if (!f->stream || !f->subjects || !f->durable || !f->ring) {
		snprintf(errbuf, errlen, "nats_fetch: out of memory");
		goto fail;
	}
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0) {
		snprintf(errbuf, errlen, "nats_fetch: eventfd: %s",
			 strerror(errno));
		goto fail;
	}
	f->wake = event_new(base, f->efd, EV_READ | EV_PERSIST, on_wake, f);
	if (!f->wake || event_add(f->wake, NULL) != 0) {
		snprintf(errbuf, errlen, "nats_fetch: cannot watch the eventfd");
		goto fail;
	}
	err = pthread_create(&f->thread, NULL, fetch_thread, f);
	if (err) {
		snprintf(errbuf, errlen, "nats_fetch: pthread_create: %s",
			 strerror(err));
		goto fail;
	}
	f->thread_started = true;
	return f;
fail:
	free_parts(f);
	free(f);
	return NULL;
}

void nats_fetch_close(struct nats_fetch *f)
{
	if (!f)
		return;
	/* No callback from here on: the event goes first. */
	if (f->wake) {
		event_free(f->wake);
		f->wake = NULL;
	}
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
	if (f->thread_started)
		pthread_join(f->thread, NULL);
	free_parts(f);
	if (f->dispatching)
		f->free_after_dispatch = true;
	else
		free(f);
}

size_t nats_fetch_take(struct nats_fetch *f, struct nats_fetch_msg **out,
		       size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&f->mu);
	while (n < max && f->taken < f->count) {
		struct ring_entry *e =
			&f->ring[(f->head + f->taken) % f->capacity];

		out[n++] = e->msg;
		e->msg = NULL;
		f->taken++;
	}
	if (n)
		pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
	for (size_t i = 0; i < n; i++) {
		f->delivered++;
		if (out[i]->delivered > 1)
			f->redelivered++;
		f->lag = out[i]->pending;
		f->last_stream_seq = out[i]->stream_seq;
	}
	return n;
}

void nats_fetch_ack_upto(struct nats_fetch *f, uint64_t upto)
{
	pthread_mutex_lock(&f->mu);
	if (upto > f->ack_upto) {
		f->ack_upto = upto;
		pthread_cond_signal(&f->cond);
	}
	pthread_mutex_unlock(&f->mu);
}

void nats_fetch_get_stats(const struct nats_fetch *f,
			  struct nats_fetch_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->state = (enum nats_fetch_state)atomic_load(&f->state);
	out->delivered = f->delivered;
	out->redelivered = f->redelivered;
	out->acked = atomic_load(&f->acked);
	out->lag = f->lag;
	out->last_stream_seq = f->last_stream_seq;
	out->reconnects = atomic_load(&f->reconnects);
}
