/*
 * nats_pub.c: a JetStream publisher on its own thread (nats_pub.h). Three
 * parties share one mutex: the loop (submits, takes acks and states), the
 * publisher thread (the only caller of the client's publishing and
 * stream calls) and the client's threads (ack handler, connection
 * callbacks: they lock, queue and signal, nothing more). The mutex is
 * never held across a client call, since the client may wait for its own
 * handlers (a stalled publish waits for acks).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "nats_pub.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "clock.h"

/* State changes waiting for the loop; when full, the newest replaces the
 * last (the loop needs the latest state, not every step). */
#define STATES_MAX 16

/* Messages the thread takes off the queue under one lock, builds, moves
 * in flight under one more and publishes: the hand-off costs two lock
 * rounds per batch, not three per message. */
#define PUBLISH_BATCH 64

/* Reconnect delays of the thread: connection problems, and problems
 * retrying cannot fix (slower). */
#define RETRY_INITIAL_MS 100
#define RETRY_MAX_MS 5000
#define FAILED_INITIAL_MS 1000
#define FAILED_MAX_MS 30000

/* A message copied by nats_pub_submit: on the queue to the thread, then
 * in flight (handed to the client, waiting for its ack). */
struct pub_item {
	struct pub_item *next, *prev;
	uint64_t tag;
	bool resolved;
	uint64_t seq;
	crdb_hlc updated;
	natsMsg *msg;         /* in flight: the client's message */
	int64_t deadline_ms;  /* in flight: ACK_ERROR after this */
	char *subject, *msg_id, *table; /* table may be NULL */
	char *payload;
	size_t payload_len;
};

struct pub_list {
	struct pub_item *head, *tail;
	size_t n;
};

struct pub_state_event {
	enum nats_pub_state state;
	bool has_why, has_hw;
	char why[256];
	struct nats_high_water hw;
	uint64_t ack_mark; /* acks queued before this state */
};

struct nats_pub {
	/* Fixed at open. */
	struct nats_pub_config cfg;
	struct nats_pub_callbacks cb;
	struct event_base *base;
	struct event *wake;
	int efd;
	uint64_t link_id; /* the client's callbacks find us by it */
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	/* Under mu. */
	bool stop, disconnected, ready;
	bool loop_woken;           /* the eventfd was written and on_wake has
				      not yet begun: no need to write again */
	struct pub_list queue, inflight;
	struct pub_item *spent;    /* acked items, freed by the loop that
				      allocated them: a free on the client's
				      thread contends for the loop's arena */
	struct nats_pub_ack *acks; /* ring of max_pending */
	size_t acks_head, acks_n;
	uint64_t acks_pushed, acks_taken;
	uint64_t ack_limit;        /* take_acks stops here (state order) */
	struct pub_state_event states[STATES_MAX];
	size_t states_head, states_n;
	struct nats_pub_stats stats;

	/* Loop thread only. */
	enum nats_pub_state loop_state;
	size_t outstanding;        /* submitted, not taken back as acks */
	bool dispatching;

	/* Publisher thread only. */
	natsConnection *nc;
	jsCtx *js;
	int64_t max_payload;
};

/*
 * The client may run a handler after its connection was closed and
 * destroyed (its delivery threads are not joined): handlers get an id,
 * not the publisher, and find it here; nats_pub_close unregisters before
 * freeing, under this mutex, which handlers hold while they use it.
 */
struct pub_link {
	struct pub_link *next;
	uint64_t id;
	struct nats_pub *p;
};
static pthread_mutex_t links_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pub_link *links;
static uint64_t links_next_id = 1;

/* Lock links_mu and return the publisher of id with its mu locked, or
 * NULL (links_mu stays locked either way: call link_release). */
static struct nats_pub *link_acquire(void *closure)
{
	uint64_t id = (uint64_t)(uintptr_t)closure;
	struct pub_link *l;

	pthread_mutex_lock(&links_mu);
	for (l = links; l; l = l->next)
		if (l->id == id) {
			pthread_mutex_lock(&l->p->mu);
			return l->p;
		}
	return NULL;
}

static void link_release(struct nats_pub *p)
{
	if (p)
		pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&links_mu);
}

static void list_push(struct pub_list *l, struct pub_item *it)
{
	it->next = NULL;
	it->prev = l->tail;
	if (l->tail)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	l->n++;
}

static void list_remove(struct pub_list *l, struct pub_item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		l->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		l->tail = it->prev;
	l->n--;
}

/* Wake the loop (mu held). One write until on_wake begins: the acks and
 * states queued meanwhile are all taken by that one wake, so a burst of
 * acks costs one system call and one loop pass, not one each. */
static void wake_loop(struct nats_pub *p)
{
	uint64_t one = 1;

	if (p->loop_woken)
		return;
	p->loop_woken = true;
	/* EAGAIN: the counter is already non-zero, the loop will run. */
	if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		(void)0;
}

/* Queue an ack for the loop and the item for freeing (mu held). */
static void push_ack(struct nats_pub *p, struct pub_item *it,
		     enum nats_pub_result result, uint64_t stream_seq,
		     const char *why)
{
	struct nats_pub_ack *a;

	a = &p->acks[(p->acks_head + p->acks_n) % p->cfg.max_pending];
	p->acks_n++;
	p->acks_pushed++;
	a->tag = it->tag;
	a->result = result;
	a->stream_seq = stream_seq;
	a->error[0] = '\0';
	if (why)
		snprintf(a->error, sizeof(a->error), "%s", why);
	switch (result) {
	case NATS_PUB_ACK_STORED:
		p->stats.stored++;
		break;
	case NATS_PUB_ACK_DUPLICATE:
		p->stats.duplicates++;
		break;
	case NATS_PUB_ACK_TOO_LARGE:
		p->stats.too_large++;
		break;
	case NATS_PUB_ACK_ERROR:
		p->stats.errors++;
		break;
	}
	if (result == NATS_PUB_ACK_STORED || result == NATS_PUB_ACK_DUPLICATE)
		if (stream_seq > p->stats.last_stream_seq)
			p->stats.last_stream_seq = stream_seq;
	it->next = p->spent;
	p->spent = it;
	wake_loop(p);
}

/* Fail everything queued or in flight with why (mu held). The client
 * keeps the messages in flight and may still ack them: their handler
 * finds nothing and drops the ack. */
static void fail_all(struct nats_pub *p, const char *why)
{
	struct pub_item *it;

	while ((it = p->inflight.head) != NULL) {
		list_remove(&p->inflight, it);
		push_ack(p, it, NATS_PUB_ACK_ERROR, 0, why);
	}
	while ((it = p->queue.head) != NULL) {
		list_remove(&p->queue, it);
		push_ack(p, it, NATS_PUB_ACK_ERROR, 0, why);
	}
}

/* Queue a state change for the loop (mu held). */
static void push_state(struct nats_pub *p, enum nats_pub_state state,
		       const char *why, const struct nats_high_water *hw)
{
	struct pub_state_event *e;

	if (p->states_n < STATES_MAX)
		p->states_n++;
	e = &p->states[(p->states_head + p->states_n - 1) % STATES_MAX];
	e->state = state;
	e->has_why = why != NULL;
	if (why)
		snprintf(e->why, sizeof(e->why), "%s", why);
	e->has_hw = hw != NULL;
	if (hw)
		e->hw = *hw;
	e->ack_mark = p->acks_pushed;
	p->stats.state = state;
	p->ready = state == NATS_PUB_READY;
	wake_loop(p);
}

/* The client's ack handler (a client thread). */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
		   void *closure)
{
	struct nats_pub *p = link_acquire(closure);
	struct pub_item *it = NULL;

	(void)js;
	if (p)
		for (it = p->inflight.head; it; it = it->next)
			if (it->msg == msg)
				break;
	if (it) {
		list_remove(&p->inflight, it);
		if (pa) {
			push_ack(p, it,
				 pa->Duplicate ? NATS_PUB_ACK_DUPLICATE
					       : NATS_PUB_ACK_STORED,
				 pa->Sequence, NULL);
		} else {
			char why[160];

			snprintf(why, sizeof(why), "%s (%d)",
				 pae && pae->ErrText ? pae->ErrText
						     : "no acknowledgement",
				 pae ? (int)pae->ErrCode : 0);
			push_ack(p, it, NATS_PUB_ACK_ERROR, 0, why);
		}
		pthread_cond_signal(&p->cond);
	}
	link_release(p);
	natsMsg_Destroy(msg);
}

/* The connection callback (a client thread): set the flag, wake the
 * thread. */
static void on_disconnected(natsConnection *nc, void *closure)
{
	struct nats_pub *p = link_acquire(closure);

	(void)nc;
	if (p) {
		p->disconnected = true;
		pthread_cond_signal(&p->cond);
	}
	link_release(p);
}

/* Wait on p->cond at most wait_ms (mu held). */
static void cond_wait_ms(struct nats_pub *p, int64_t wait_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&p->cond, &p->mu, &ts);
}

/* Wait until deadline_ms (monotonic) or stop; queued messages are failed
 * meanwhile (not READY). mu held. */
static void wait_not_ready(struct nats_pub *p, int64_t deadline_ms,
			   const char *why)
{
	for (;;) {
		int64_t now = clock_mono_ms();

		if (p->queue.n || p->inflight.n)
			fail_all(p, why);
		if (p->stop || now >= deadline_ms)
			return;
		cond_wait_ms(p, deadline_ms - now);
	}
}

/* A problem retrying at once will not fix: the stream does not fit,
 * credentials, TLS, files. Connection trouble is everything that names
 * a timeout or an unreachable server. */
static bool is_lasting(const char *why)
{
	return !strstr(why, "no server available") && !strstr(why, "timed out") &&
	       !strstr(why, "imeout") && !strstr(why, "o responders") &&
	       !strstr(why, "onnection");
}

static int connect_once(struct nats_pub *p, char *why, size_t whylen)
{
	natsOptions *opts = NULL;
	jsOptions jo;
	void *closure = (void *)(uintptr_t)p->link_id;
	int rc = -1;

	if (natsOptions_Create(&opts) != NATS_OK) {
		snprintf(why, whylen, "nats: out of memory");
		return -1;
	}
	if (natsOptions_SetDisconnectedCB(opts, on_disconnected, closure) !=
	    NATS_OK) {
		snprintf(why, whylen, "nats: out of memory");
		goto out;
	}
	if (nats_conn_open(p->cfg.conn, opts, false, 0, &p->nc, NULL, why,
			   whylen))
		goto out;
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = (int64_t)p->cfg.max_pending;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = closure;
	if (natsConnection_JetStream(&p->js, p->nc, &jo) != NATS_OK) {
		snprintf(why, whylen, "nats: jetstream: %s",
			 nats_GetLastError(NULL));
		nats_conn_close(p->nc, NULL);
		p->nc = NULL;
		p->js = NULL;
		goto out;
	}
	p->max_payload = natsConnection_GetMaxPayload(p->nc);
	rc = 0;
out:
	natsOptions_Destroy(opts);
	return rc;
}

/* The stream fits, and its high-water mark. 0 or -1 (why). */
static int prepare_stream(struct nats_pub *p, struct nats_high_water *hw,
			  char *why, size_t whylen)
{
	if (nats_stream_ensure(p->js, &p->cfg.stream, why, whylen))
		return -1;
	return nats_stream_high_water(p->js, p->cfg.stream.stream,
				      p->cfg.stream.subjects, hw, why, whylen);
}

/* Bytes of an HPUB header block: "NATS/1.0\r\n", "Key: Value\r\n" each,
 * "\r\n". */
static size_t header_bytes(const char *const *kv, size_t n)
{
	size_t total = 10 + 2, i;

	for (i = 0; i < n; i++)
		total += strlen(kv[2 * i]) + 2 + strlen(kv[2 * i + 1]) + 2;
	return total;
}

/* Build the client's message of one item (mu not held). NULL when it
 * cannot be published: its ack is queued then (mu taken for that). */
static natsMsg *build_msg(struct nats_pub *p, struct pub_item *it)
{
	char seq[24], updated[CRDB_HLC_BUFSIZE], why[160];
	const char *kv[10];
	size_t n = 0, i, bytes;
	natsMsg *msg = NULL;
	natsStatus st;

	snprintf(seq, sizeof(seq), "%" PRIu64, it->seq);
	crdb_hlc_format(it->updated, updated);
	kv[2 * n] = "Nats-Msg-Id", kv[2 * n + 1] = it->msg_id, n++;
	kv[2 * n] = NATS_HDR_TYPE,
	kv[2 * n + 1] = it->resolved ? "resolved" : "row", n++;
	kv[2 * n] = NATS_HDR_SEQ, kv[2 * n + 1] = seq, n++;
	kv[2 * n] = NATS_HDR_UPDATED, kv[2 * n + 1] = updated, n++;
	if (it->table)
		kv[2 * n] = NATS_HDR_TABLE, kv[2 * n + 1] = it->table, n++;

	bytes = header_bytes(kv, n) + it->payload_len;
	if ((int64_t)bytes > p->max_payload) {
		snprintf(why, sizeof(why),
			 "%zu bytes of headers and payload exceed the server's max_payload %" PRId64,
			 bytes, p->max_payload);
		pthread_mutex_lock(&p->mu);
		push_ack(p, it, NATS_PUB_ACK_TOO_LARGE, 0, why);
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	st = natsMsg_Create(&msg, it->subject, NULL, it->payload,
			    (int)it->payload_len);
	for (i = 0; st == NATS_OK && i < n; i++)
		st = natsMsgHeader_Set(msg, kv[2 * i], kv[2 * i + 1]);
	if (st != NATS_OK) {
		snprintf(why, sizeof(why), "message: %s", natsStatus_GetText(st));
		natsMsg_Destroy(msg);
		pthread_mutex_lock(&p->mu);
		push_ack(p, it, NATS_PUB_ACK_ERROR, 0, why);
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	return msg;
}

/*
 * Publish up to PUBLISH_BATCH items taken from the queue (mu held on entry
 * and exit, released around the client calls). Items go in flight before
 * their publish, since an ack may come before the call returns; from then
 * on a disconnect may fail and free them, so the publishing below knows
 * them only by their message.
 */
static void publish_batch(struct nats_pub *p)
{
	struct pub_item *items[PUBLISH_BATCH];
	natsMsg *msgs[PUBLISH_BATCH];
	size_t n = 0, built = 0, i;
	int64_t deadline;
	char why[160];

	while (n < PUBLISH_BATCH && p->queue.head) {
		items[n] = p->queue.head;
		list_remove(&p->queue, items[n]);
		n++;
	}
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < n; i++) {
		natsMsg *msg = build_msg(p, items[i]);

		if (msg) {
			items[built] = items[i];
			msgs[built++] = msg;
		}
	}
	deadline = clock_mono_ms() + p->cfg.ack_timeout_ms;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < built; i++) {
		items[i]->msg = msgs[i];
		items[i]->deadline_ms = deadline;
		list_push(&p->inflight, items[i]);
	}
	p->stats.published += built;
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < built; i++) {
		natsMsg *msg = msgs[i];
		struct pub_item *f;

		if (js_PublishMsgAsync(p->js, &msg, NULL) == NATS_OK)
			continue;
		snprintf(why, sizeof(why), "publish: %s", nats_GetLastError(NULL));
		pthread_mutex_lock(&p->mu);
		/* Still ours unless a disconnect failed it meanwhile. */
		for (f = p->inflight.head; f; f = f->next)
			if (f->msg == msgs[i]) {
				list_remove(&p->inflight, f);
				push_ack(p, f, NATS_PUB_ACK_ERROR, 0, why);
				break;
			}
		pthread_mutex_unlock(&p->mu);
		natsMsg_Destroy(msg);
	}
	pthread_mutex_lock(&p->mu);
}

/* Publish until stop or a lost connection (mu held on entry and exit). */
static void publish_loop(struct nats_pub *p)
{
	char why[160];

	while (!p->stop && !p->disconnected) {
		struct pub_item *it;
		int64_t now = clock_mono_ms();

		while ((it = p->inflight.head) != NULL && it->deadline_ms <= now) {
			list_remove(&p->inflight, it);
			snprintf(why, sizeof(why),
				 "no acknowledgement within %" PRId64 " ms",
				 p->cfg.ack_timeout_ms);
			push_ack(p, it, NATS_PUB_ACK_ERROR, 0, why);
		}
		if (p->queue.head) {
			publish_batch(p);
			continue;
		}
		if (p->inflight.head)
			cond_wait_ms(p, p->inflight.head->deadline_ms - now);
		else
			pthread_cond_wait(&p->cond, &p->mu);
	}
}

/* Close a connection the server side lost (mu held, released around the
 * client call): the client does not reconnect it, the thread makes a new
 * one. */
static void drop_connection(struct nats_pub *p)
{
	natsConnection *nc = p->nc;
	jsCtx *js = p->js;

	p->nc = NULL;
	p->js = NULL;
	pthread_mutex_unlock(&p->mu);
	nats_conn_close(nc, js);
	pthread_mutex_lock(&p->mu);
}

static void *pub_thread(void *arg)
{
	struct nats_pub *p = arg;
	int64_t step = 0, failed_step = 0;
	uint64_t readies = 0;
	char why[512];

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct nats_high_water hw;
		bool lasting;
		int64_t delay;

		if (p->nc && p->disconnected)
			drop_connection(p); /* lost while the stream was checked */
		if (!p->nc) {
			push_state(p, NATS_PUB_CONNECTING, NULL, NULL);
			pthread_mutex_unlock(&p->mu);
			if (connect_once(p, why, sizeof(why)) == 0)
				why[0] = '\0';
			pthread_mutex_lock(&p->mu);
		} else {
			why[0] = '\0';
		}
		if (!why[0] && p->nc) {
			p->disconnected = false;
			pthread_mutex_unlock(&p->mu);
			if (prepare_stream(p, &hw, why, sizeof(why)) == 0)
				why[0] = '\0';
			pthread_mutex_lock(&p->mu);
		}
		if (p->stop)
			break;
		if (why[0]) {
			lasting = is_lasting(why);
			push_state(p, lasting ? NATS_PUB_FAILED : NATS_PUB_DOWN, why,
				   NULL);
			delay = lasting ? backoff_next(&failed_step, FAILED_INITIAL_MS,
						       FAILED_MAX_MS, (uint64_t)random())
					: backoff_next(&step, RETRY_INITIAL_MS,
						       RETRY_MAX_MS, (uint64_t)random());
			wait_not_ready(p, clock_mono_ms() + delay,
				       "not connected to NATS");
			continue;
		}
		step = failed_step = 0;
		if (readies++)
			p->stats.reconnects++;
		p->stats.max_payload = p->max_payload;
		push_state(p, NATS_PUB_READY, NULL, &hw);
		publish_loop(p);
		if (p->stop)
			break;
		/* Lost: DOWN first, then the failures, so the loop does not
		 * submit them again at once. The connection is closed and a
		 * new one made (no client reconnect): nothing published
		 * before the loss reaches the server after it, ahead of what
		 * the sink publishes again from its acked position. */
		push_state(p, NATS_PUB_DOWN, "connection to NATS lost", NULL);
		fail_all(p, "connection to NATS lost");
		drop_connection(p);
		wait_not_ready(p, clock_mono_ms() + backoff_next(&step,
				RETRY_INITIAL_MS, RETRY_MAX_MS, (uint64_t)random()),
			       "connection to NATS lost");
	}
	fail_all(p, "publisher closing");
	pthread_mutex_unlock(&p->mu);
	nats_conn_close(p->nc, p->js);
	p->nc = NULL;
	p->js = NULL;
	return NULL;
}

/* The loop's side of the eventfd: states and acks in the order the thread
 * queued them. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct nats_pub *p = arg;
	uint64_t count;

	(void)what;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	/* What is queued from here on writes the eventfd again; what was
	 * queued before is taken below. */
	pthread_mutex_lock(&p->mu);
	p->loop_woken = false;
	pthread_mutex_unlock(&p->mu);
	for (;;) {
		struct pub_state_event e;
		bool have_state, have_acks;

		pthread_mutex_lock(&p->mu);
		have_state = p->states_n > 0;
		if (have_state) {
			e = p->states[p->states_head];
			p->states_head = (p->states_head + 1) % STATES_MAX;
			p->states_n--;
			p->ack_limit = e.ack_mark;
		} else {
			p->ack_limit = UINT64_MAX;
		}
		have_acks = p->acks_n > 0 && p->acks_taken < p->ack_limit;
		pthread_mutex_unlock(&p->mu);
		if (have_acks && p->cb.acks)
			p->cb.acks(p->cb.arg);
		if (!have_state)
			break;
		p->loop_state = e.state;
		if (p->cb.state)
			p->cb.state(p->cb.arg, e.state, e.has_why ? e.why : NULL,
				    e.has_hw ? &e.hw : NULL);
	}
}

struct nats_pub *nats_pub_open(struct event_base *base,
			       const struct nats_pub_config *cfg,
			       const struct nats_pub_callbacks *cb,
			       char *errbuf, size_t errlen)
{
	struct nats_pub *p;
	struct pub_link *link;
	int err;

	if (!cfg->max_pending || cfg->ack_timeout_ms <= 0) {
		snprintf(errbuf, errlen,
			 "nats publisher: max_pending and ack_timeout must be positive");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	link = calloc(1, sizeof(*link));
	if (!p || !link ||
	    !(p->acks = calloc(cfg->max_pending, sizeof(*p->acks)))) {
		snprintf(errbuf, errlen, "nats publisher: out of memory");
		goto fail_mem;
	}
	p->cfg = *cfg;
	p->cb = *cb;
	p->base = base;
	p->loop_state = NATS_PUB_CONNECTING;
	p->stats.state = NATS_PUB_CONNECTING;
	p->ack_limit = UINT64_MAX;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		snprintf(errbuf, errlen, "nats publisher: eventfd: %s",
			 strerror(errno));
		goto fail_mem;
	}
	p->wake = event_new(base, p->efd, EV_READ | EV_PERSIST, on_wake, p);
	if (!p->wake || event_add(p->wake, NULL)) {
		snprintf(errbuf, errlen, "nats publisher: event_new failed");
		goto fail_fd;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_mutex_lock(&links_mu);
	link->id = p->link_id = links_next_id++;
	link->p = p;
	link->next = links;
	links = link;
	pthread_mutex_unlock(&links_mu);
	err = pthread_create(&p->thread, NULL, pub_thread, p);
	if (err) {
		snprintf(errbuf, errlen, "nats publisher: thread: %s",
			 strerror(err));
		nats_pub_close(p);
		return NULL;
	}
	p->thread_started = true;
	return p;

fail_fd:
	if (p->wake)
		event_free(p->wake);
	close(p->efd);
fail_mem:
	if (p)
		free(p->acks);
	free(p);
	free(link);
	return NULL;
}

static void free_items(struct pub_item *it)
{
	while (it) {
		struct pub_item *next = it->next;

		free(it);
		it = next;
	}
}

void nats_pub_close(struct nats_pub *p)
{
	struct pub_link **lp, *gone = NULL;
	struct pub_item *it;

	if (!p)
		return;
	event_del(p->wake);
	if (p->thread_started) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	pthread_mutex_lock(&links_mu);
	for (lp = &links; *lp; lp = &(*lp)->next)
		if ((*lp)->id == p->link_id) {
			gone = *lp;
			*lp = gone->next;
			break;
		}
	pthread_mutex_unlock(&links_mu);
	free(gone);
	while ((it = p->queue.head) != NULL) {
		list_remove(&p->queue, it);
		free(it);
	}
	while ((it = p->inflight.head) != NULL) {
		list_remove(&p->inflight, it);
		free(it);
	}
	free_items(p->spent);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mu);
	event_free(p->wake);
	close(p->efd);
	free(p->acks);
	free(p);
}

int nats_pub_submit(struct nats_pub *p, const struct nats_pub_msg *m,
		    char *errbuf, size_t errlen)
{
	size_t subject_len = strlen(m->subject) + 1;
	size_t id_len = strlen(m->msg_id) + 1;
	size_t table_len = m->table ? strlen(m->table) + 1 : 0;
	struct pub_item *it;
	char *at;

	if (p->loop_state != NATS_PUB_READY) {
		snprintf(errbuf, errlen, "nats publisher: not ready");
		return -1;
	}
	if (p->outstanding >= p->cfg.max_pending)
		return 1;
	it = malloc(sizeof(*it) + subject_len + id_len + table_len +
		    m->payload_len + 1);
	if (!it) {
		snprintf(errbuf, errlen, "nats publisher: out of memory");
		return -1;
	}
	memset(it, 0, sizeof(*it));
	it->tag = m->tag;
	it->resolved = m->resolved;
	it->seq = m->seq;
	it->updated = m->updated;
	at = (char *)(it + 1);
	it->subject = memcpy(at, m->subject, subject_len);
	at += subject_len;
	it->msg_id = memcpy(at, m->msg_id, id_len);
	at += id_len;
	if (m->table) {
		it->table = memcpy(at, m->table, table_len);
		at += table_len;
	}
	it->payload = at;
	if (m->payload_len)
		memcpy(at, m->payload, m->payload_len);
	at[m->payload_len] = '\0';
	it->payload_len = m->payload_len;
	p->outstanding++;
	pthread_mutex_lock(&p->mu);
	/* The thread waits only with the queue empty: one signal wakes it for
	 * everything queued until it takes the queue. */
	if (!p->queue.head)
		pthread_cond_signal(&p->cond);
	list_push(&p->queue, it);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

size_t nats_pub_take_acks(struct nats_pub *p, struct nats_pub_ack *out,
			  size_t max)
{
	struct pub_item *spent;
	size_t n = 0;

	pthread_mutex_lock(&p->mu);
	spent = p->spent;
	p->spent = NULL;
	while (n < max && p->acks_n && p->acks_taken < p->ack_limit) {
		out[n++] = p->acks[p->acks_head];
		p->acks_head = (p->acks_head + 1) % p->cfg.max_pending;
		p->acks_n--;
		p->acks_taken++;
		p->outstanding--;
	}
	pthread_mutex_unlock(&p->mu);
	free_items(spent);
	return n;
}

size_t nats_pub_outstanding(const struct nats_pub *p)
{
	return p->outstanding;
}

void nats_pub_get_stats(const struct nats_pub *p, struct nats_pub_stats *out)
{
	struct nats_pub *mp = (struct nats_pub *)p;

	pthread_mutex_lock(&mp->mu);
	*out = mp->stats;
	pthread_mutex_unlock(&mp->mu);
}
