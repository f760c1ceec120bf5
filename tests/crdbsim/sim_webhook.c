/*
 * sim_webhook.c: the webhook sink's emulated nodes and coordinator
 * (doc/crdb-wire.md §16). A message goes to the node its key hashes to,
 * into that node's bounded queue; a node has one request in flight, a
 * batch cut by the Flush config, so two requests in flight never share a
 * key. A resolved timestamp waits in the coordinator's queue until every
 * message queued before it, on every node, was acknowledged, and is then
 * posted on its own. The HTTPS requests themselves are sim_webhook_http.c's.
 *
 * The owner's callbacks are made last in the sink's own event handlers, so
 * an owner may free the sink from any of them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "sim_webhook_int.h"

/* A node's queue is full at either bound (sim_webhook_can_send), and
 * refuses messages at twice either. */
#define WH_NODE_MAX_MESSAGES 1024
#define WH_NODE_MAX_BYTES (8u << 20)
#define WH_MAX_NODES 64
/* Resolved timestamps waiting; past this the newest replaces the last. */
#define WH_MAX_RESOLVED 1024
#define WH_MAX_HLC 64

struct wh_message {
	struct wh_message *next;
	uint64_t seq;           /* order queued, over every node */
	size_t len;
	char json[];
};

struct wh_node {
	struct wh_sender sender;        /* first: done(sender) finds the node */
	struct sim_webhook *wh;
	struct wh_message *head, **tail;
	size_t queued, queued_bytes;
	/* The batch in flight: its first message's seq and its size. */
	uint64_t batch_first_seq;
	size_t batch_messages;
	bool flush_due;                 /* the Frequency timer fired */
	struct event *flush_timer, *kick;
};

struct wh_resolved {
	char hlc[WH_MAX_HLC];
	uint64_t after_seq;             /* the last message queued before it */
};

struct sim_webhook {
	struct event_base *base;
	struct sim_webhook_owner owner;
	struct wh_endpoint ep;
	int64_t flush_messages, flush_bytes, flush_frequency_ms;
	int nodes;
	struct wh_node *node;
	struct wh_sender coordinator;
	struct event *coordinator_kick;
	struct wh_resolved *resolved;   /* a FIFO of resolved_count */
	size_t resolved_count;
	uint64_t next_seq;
	bool duplicate_posts;
	bool failed;
	bool blocked;                   /* can_send said false: owe writable */
	struct sim_webhook_stats stats;
};

struct event_base *sim_webhook_base(const struct sim_webhook *wh)
{
	return wh->base;
}

const struct wh_endpoint *sim_webhook_endpoint(const struct sim_webhook *wh)
{
	return &wh->ep;
}

bool sim_webhook_duplicating(const struct sim_webhook *wh)
{
	return wh->duplicate_posts;
}

struct sim_webhook_stats *sim_webhook_stats_of(struct sim_webhook *wh)
{
	return &wh->stats;
}

void sim_webhook_set_duplicate_posts(struct sim_webhook *wh, bool on)
{
	wh->duplicate_posts = on;
}

void sim_webhook_get_stats(const struct sim_webhook *wh,
			   struct sim_webhook_stats *out)
{
	*out = wh->stats;
}

static uint64_t key_hash(const char *key, size_t len)
{
	uint64_t h = 14695981039346656037ull;           /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* The seq of the node's oldest message not yet acknowledged. */
static uint64_t oldest_unacked(const struct wh_node *n)
{
	if (n->batch_messages)
		return n->batch_first_seq;
	return n->head ? n->head->seq : UINT64_MAX;
}

static bool node_full(const struct wh_node *n)
{
	return n->queued >= WH_NODE_MAX_MESSAGES ||
	       n->queued_bytes >= WH_NODE_MAX_BYTES;
}

bool sim_webhook_can_send(const struct sim_webhook *wh)
{
	if (wh->failed)
		return false;
	for (int i = 0; i < wh->nodes; i++)
		if (node_full(&wh->node[i]))
			return false;
	return true;
}

static void kick(struct event *ev)
{
	event_active(ev, EV_TIMEOUT, 1);
}

/* Whether the node's queue holds a batch to send now. */
static bool batch_ready(const struct sim_webhook *wh, const struct wh_node *n)
{
	if (!n->head)
		return false;
	if (!wh->flush_messages && !wh->flush_bytes && !wh->flush_frequency_ms)
		return true;
	if (wh->flush_messages && n->queued >= (size_t)wh->flush_messages)
		return true;
	if (wh->flush_bytes && n->queued_bytes >= (size_t)wh->flush_bytes)
		return true;
	/* A resolved timestamp flushes what was queued before it, as a
	 * changefeed flushes its sink before it checkpoints. */
	if (wh->resolved_count &&
	    n->head->seq <= wh->resolved[wh->resolved_count - 1].after_seq)
		return true;
	return n->flush_due;
}

/* {"payload":[m1,...],"length":N} of the node's next batch, taken off its
 * queue; NULL when out of memory. */
static char *take_batch(struct sim_webhook *wh, struct wh_node *n, size_t *len)
{
	bool single = !wh->flush_messages && !wh->flush_bytes &&
		      !wh->flush_frequency_ms;
	struct sbuf sb = { 0 };
	size_t count = 0, bytes = 0;
	char num[32];
	sb_puts(&sb, "{\"payload\":[");
	n->batch_first_seq = n->head->seq;
	while (n->head) {
		struct wh_message *m = n->head;
		if (count > 0 &&
		    (single ||
		     (wh->flush_messages && count >= (size_t)wh->flush_messages) ||
		     (wh->flush_bytes && bytes + m->len > (size_t)wh->flush_bytes)))
			break;
		if (count > 0)
			sb_putc(&sb, ',');
		sb_putn(&sb, m->json, m->len);
		count++;
		bytes += m->len;
		n->head = m->next;
		n->queued--;
		n->queued_bytes -= m->len;
		free(m);
	}
	if (!n->head)
		n->tail = &n->head;
	snprintf(num, sizeof num, "%zu", count);
	sb_puts(&sb, "],\"length\":");
	sb_puts(&sb, num);
	sb_putc(&sb, '}');
	n->batch_messages = count;
	*len = sb.len;
	return sb_take(&sb);
}

static void arm_flush_timer(struct sim_webhook *wh, struct wh_node *n)
{
	if (!wh->flush_frequency_ms || !n->head || n->flush_due ||
	    evtimer_pending(n->flush_timer, NULL))
		return;
	struct timeval tv = { wh->flush_frequency_ms / 1000,
			      (wh->flush_frequency_ms % 1000) * 1000 };
	evtimer_add(n->flush_timer, &tv);
}

static void node_kicked(evutil_socket_t fd, short what, void *arg)
{
	struct wh_node *n = arg;
	struct sim_webhook *wh = n->wh;
	(void)fd;
	(void)what;
	if (wh->failed)
		return;
	if (!wh_sender_busy(&n->sender) && batch_ready(wh, n)) {
		size_t len;
		char *body = take_batch(wh, n, &len);
		if (!body) {
			sim_webhook_fail(wh, "out of memory");  /* last */
			return;
		}
		n->flush_due = false;
		evtimer_del(n->flush_timer);
		wh_sender_post(&n->sender, body, len);
	}
	arm_flush_timer(wh, n);
	if (wh->blocked && sim_webhook_can_send(wh)) {
		wh->blocked = false;
		if (wh->owner.writable)
			wh->owner.writable(wh->owner.arg);      /* last */
	}
}

static void flush_timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct wh_node *n = arg;
	(void)fd;
	(void)what;
	n->flush_due = true;
	node_kicked(-1, 0, n);
}

/* A node's batch was acknowledged. */
static void node_done(struct wh_sender *s)
{
	struct wh_node *n = (struct wh_node *)s;
	struct sim_webhook *wh = n->wh;
	wh->stats.batches++;
	wh->stats.messages += n->batch_messages;
	n->batch_messages = 0;
	kick(n->kick);
	if (wh->resolved_count)
		kick(wh->coordinator_kick);
}

static void coordinator_kicked(evutil_socket_t fd, short what, void *arg)
{
	struct sim_webhook *wh = arg;
	(void)fd;
	(void)what;
	if (wh->failed || wh_sender_busy(&wh->coordinator) ||
	    !wh->resolved_count)
		return;
	const struct wh_resolved *r = &wh->resolved[0];
	for (int i = 0; i < wh->nodes; i++)
		if (oldest_unacked(&wh->node[i]) <= r->after_seq)
			return;         /* node_done kicks again */
	struct sbuf sb = { 0 };
	sb_puts(&sb, "{\"resolved\":\"");
	sb_puts(&sb, r->hlc);
	sb_puts(&sb, "\"}");
	size_t len = sb.len;
	char *body = sb_take(&sb);
	if (!body) {
		sim_webhook_fail(wh, "out of memory");          /* last */
		return;
	}
	wh_sender_post(&wh->coordinator, body, len);
}

/* The first resolved timestamp was acknowledged. */
static void coordinator_done(struct wh_sender *s)
{
	struct sim_webhook *wh = (struct sim_webhook *)((char *)s -
		offsetof(struct sim_webhook, coordinator));
	char hlc[WH_MAX_HLC];
	memcpy(hlc, wh->resolved[0].hlc, sizeof hlc);
	wh->resolved_count--;
	memmove(&wh->resolved[0], &wh->resolved[1],
		wh->resolved_count * sizeof wh->resolved[0]);
	wh->stats.resolved++;
	kick(wh->coordinator_kick);
	if (wh->owner.resolved_acked)
		wh->owner.resolved_acked(wh->owner.arg, hlc);   /* last */
}

void sim_webhook_fail(struct sim_webhook *wh, const char *reason)
{
	char why[200];
	snprintf(why, sizeof why, "%s", reason);
	wh->failed = true;
	for (int i = 0; i < wh->nodes; i++) {
		wh_sender_stop(&wh->node[i].sender);
		evtimer_del(wh->node[i].flush_timer);
	}
	wh_sender_stop(&wh->coordinator);
	if (wh->owner.failed)
		wh->owner.failed(wh->owner.arg, why);           /* last */
}

int sim_webhook_message(struct sim_webhook *wh, const char *key,
			size_t key_len, const char *msg, size_t msg_len)
{
	if (wh->failed)
		return -1;
	struct wh_node *n = &wh->node[key_hash(key, key_len) % (uint64_t)wh->nodes];
	if (n->queued >= 2 * WH_NODE_MAX_MESSAGES ||
	    n->queued_bytes + msg_len > 2 * (size_t)WH_NODE_MAX_BYTES)
		return -1;
	struct wh_message *m = malloc(sizeof *m + msg_len);
	if (!m)
		return -1;
	m->next = NULL;
	m->seq = ++wh->next_seq;
	m->len = msg_len;
	memcpy(m->json, msg, msg_len);
	*n->tail = m;
	n->tail = &m->next;
	n->queued++;
	n->queued_bytes += msg_len;
	if (node_full(n))
		wh->blocked = true;
	kick(n->kick);
	return 0;
}

int sim_webhook_resolved(struct sim_webhook *wh, const char *hlc)
{
	if (wh->failed || strlen(hlc) >= WH_MAX_HLC)
		return -1;
	size_t at = wh->resolved_count < WH_MAX_RESOLVED ? wh->resolved_count++
							 : wh->resolved_count - 1;
	/* Replacing the last one only moves that checkpoint later; the one
	 * in flight (the first) is never replaced while there are two. */
	snprintf(wh->resolved[at].hlc, WH_MAX_HLC, "%s", hlc);
	wh->resolved[at].after_seq = wh->next_seq;
	for (int i = 0; i < wh->nodes; i++)
		kick(wh->node[i].kick);
	kick(wh->coordinator_kick);
	return 0;
}

struct sim_webhook *sim_webhook_new(struct event_base *base,
				    const struct sim_webhook_config *cfg,
				    const struct sim_webhook_owner *owner,
				    char *errbuf, size_t errlen)
{
	if (cfg->nodes < 1 || cfg->nodes > WH_MAX_NODES) {
		snprintf(errbuf, errlen, "sim_webhook: nodes must be 1 to %d, not %d",
			 WH_MAX_NODES, cfg->nodes);
		return NULL;
	}
	if (!cfg->client_cert_pem != !cfg->client_key_pem) {
		snprintf(errbuf, errlen,
			 "sim_webhook: client_cert and client_key go together");
		return NULL;
	}
	if (cfg->flush_messages < 0 || cfg->flush_bytes < 0 ||
	    cfg->flush_frequency_ms < 0) {
		snprintf(errbuf, errlen, "sim_webhook: negative Flush setting");
		return NULL;
	}
	struct sim_webhook *wh = calloc(1, sizeof *wh);
	if (!wh) {
		snprintf(errbuf, errlen, "sim_webhook: out of memory");
		return NULL;
	}
	wh->base = base;
	wh->owner = *owner;
	wh->nodes = cfg->nodes;
	wh->flush_messages = cfg->flush_messages;
	wh->flush_bytes = cfg->flush_bytes;
	wh->flush_frequency_ms = cfg->flush_frequency_ms;
	if (wh_endpoint_init(&wh->ep, cfg, errbuf, errlen) != 0) {
		free(wh);
		return NULL;
	}
	wh->node = calloc((size_t)wh->nodes, sizeof *wh->node);
	wh->resolved = calloc(WH_MAX_RESOLVED, sizeof *wh->resolved);
	bool ok = wh->node && wh->resolved &&
		  wh_sender_init(&wh->coordinator, wh, coordinator_done) == 0 &&
		  (wh->coordinator_kick = event_new(base, -1, 0, coordinator_kicked,
						    wh)) != NULL;
	for (int i = 0; ok && i < wh->nodes; i++) {
		struct wh_node *n = &wh->node[i];
		n->wh = wh;
		n->tail = &n->head;
		ok = wh_sender_init(&n->sender, wh, node_done) == 0 &&
		     (n->flush_timer = evtimer_new(base, flush_timer_fired, n)) &&
		     (n->kick = event_new(base, -1, 0, node_kicked, n));
	}
	if (!ok) {
		snprintf(errbuf, errlen, "sim_webhook: out of memory");
		sim_webhook_free(wh);
		return NULL;
	}
	return wh;
}

void sim_webhook_free(struct sim_webhook *wh)
{
	if (!wh)
		return;
	for (int i = 0; wh->node && i < wh->nodes; i++) {
		struct wh_node *n = &wh->node[i];
		if (n->wh)
			wh_sender_release(&n->sender);
		if (n->flush_timer)
			event_free(n->flush_timer);
		if (n->kick)
			event_free(n->kick);
		while (n->head) {
			struct wh_message *m = n->head;
			n->head = m->next;
			free(m);
		}
	}
	if (wh->coordinator.wh)
		wh_sender_release(&wh->coordinator);
	if (wh->coordinator_kick)
		event_free(wh->coordinator_kick);
	wh_endpoint_release(&wh->ep);
	free(wh->node);
	free(wh->resolved);
	free(wh);
}
