/*
 * check_nats_fetch.c: the relay source's pull-consumer thread
 * (daemon/nats_fetch.c) against Debian's nats-server, which the test
 * starts itself through tests/nats/nats-env (nats_testenv.h). Messages
 * are published with plain libnats; each test uses a stream of its own.
 * It checks: stream order with metadata and headers, the bound on
 * messages waiting for the loop; what was taken and not acknowledged is
 * delivered again at once (not after AckWait) and in order; what was
 * acknowledged is not; acks never cover what the loop did not take; lag
 * falls to 0; a server killed and restarted gives DOWN then READY and
 * loses nothing.
 */
#include <config.h> /* autoconf's */

#include "daemon/nats_fetch.h"
#include "tests/nats/nats_testenv.h"

#include <check.h>
#include <event2/event.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_MSGS 256
#define LONG_ACK_WAIT_MS 60000 /* longer than any test: a redelivery seen
				  in a test is never AckWait's */

static struct nats_testenv env;

/* One consumer under test, driven by its own event loop. */
struct harness {
	struct event_base *base;
	struct nats_fetch *f;
	struct nats_settings conn;
	struct nats_fetch_config cfg;
	char subjects[64];
	bool auto_take;             /* take in the ready callback */
	size_t most_queued;         /* the largest take seen at once */
	struct nats_fetch_msg *msgs[MAX_MSGS];
	size_t n;
	enum nats_fetch_state states[64];
	size_t nstates;
	char why[256];
	uint64_t lags[MAX_MSGS];    /* stats.lag after each take */
	size_t nlags;
};

static void on_state(void *arg, enum nats_fetch_state state, const char *why)
{
	struct harness *h = arg;

	if (h->nstates < 64)
		h->states[h->nstates++] = state;
	snprintf(h->why, sizeof(h->why), "%s", why ? why : "");
}

static void take_all(struct harness *h)
{
	struct nats_fetch_msg *batch[MAX_MSGS];
	size_t got = nats_fetch_take(h->f, batch, MAX_MSGS);
	struct nats_fetch_stats st;

	if (got > h->most_queued)
		h->most_queued = got;
	for (size_t i = 0; i < got; i++) {
		if (h->n < MAX_MSGS)
			h->msgs[h->n++] = batch[i];
		else
			nats_fetch_msg_free(batch[i]);
	}
	if (got) {
		nats_fetch_get_stats(h->f, &st);
		if (h->nlags < MAX_MSGS)
			h->lags[h->nlags++] = st.lag;
	}
}

static void on_ready(void *arg)
{
	struct harness *h = arg;

	if (h->auto_take)
		take_all(h);
}

static void h_open(struct harness *h, const char *stream, const char *durable,
		   size_t batch, size_t max_queued, int64_t max_ack_pending)
{
	struct nats_fetch_callbacks cb = { on_state, on_ready, h };
	char err[256] = "";

	h->conn.url = env.url;
	h->conn.connect_timeout_ms = 2000;
	snprintf(h->subjects, sizeof(h->subjects), "%s.feed.>", stream);
	h->cfg.conn = &h->conn;
	h->cfg.stream = stream;
	h->cfg.subjects = h->subjects;
	h->cfg.durable = durable;
	h->cfg.batch = batch;
	h->cfg.max_queued = max_queued;
	h->cfg.ack_wait_ms = LONG_ACK_WAIT_MS;
	h->cfg.max_ack_pending = max_ack_pending;
	if (!h->base)
		h->base = event_base_new();
	h->nstates = 0;
	h->f = nats_fetch_open(h->base, &h->cfg, &cb, err, sizeof(err));
	ck_assert_msg(h->f != NULL, "nats_fetch_open: %s", err);
}

static void h_close(struct harness *h)
{
	nats_fetch_close(h->f);
	h->f = NULL;
}

static void h_clear(struct harness *h)
{
	for (size_t i = 0; i < h->n; i++)
		nats_fetch_msg_free(h->msgs[i]);
	h->n = 0;
	h->nlags = 0;
	h->most_queued = 0;
}

static void h_free(struct harness *h)
{
	if (h->f)
		h_close(h);
	h_clear(h);
	event_base_free(h->base);
	h->base = NULL;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Run the loop until done(h) or timeout_ms; whether done. */
static bool run_until(struct harness *h, bool (*done)(struct harness *, void *),
		      void *arg, int timeout_ms)
{
	struct event *t = evtimer_new(h->base, tick, h->base);
	struct timeval tv = { 0, 20 * 1000 };

	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (done(h, arg))
			break;
		evtimer_add(t, &tv);
		event_base_dispatch(h->base);
	}
	event_free(t);
	return done(h, arg);
}

static bool have_n(struct harness *h, void *arg)
{
	return h->n >= *(size_t *)arg;
}

static bool in_state(struct harness *h, void *arg)
{
	return h->nstates &&
	       h->states[h->nstates - 1] == *(enum nats_fetch_state *)arg;
}

static bool acked_n(struct harness *h, void *arg)
{
	struct nats_fetch_stats st;

	nats_fetch_get_stats(h->f, &st);
	return st.acked >= *(uint64_t *)arg;
}

static bool last_seq_is(struct harness *h, void *arg)
{
	return h->n && h->msgs[h->n - 1]->stream_seq == *(uint64_t *)arg;
}

static bool never(struct harness *h, void *arg)
{
	(void)h;
	(void)arg;
	return false;
}

/* Publishing with plain libnats. */
static natsConnection *pub_nc;
static jsCtx *pub_js;

static void pub_connect(void)
{
	char url[1024];
	natsStatus s;

	nats_testenv_first_url(&env, url, sizeof(url));
	/* The server may be restarting: try for a while. */
	for (int i = 0; i < 100; i++) {
		s = natsConnection_ConnectTo(&pub_nc, url);
		if (s == NATS_OK)
			break;
		usleep(100 * 1000);
	}
	ck_assert_msg(s == NATS_OK, "connect %s: %s", url,
		      natsStatus_GetText(s));
	ck_assert_int_eq(natsConnection_JetStream(&pub_js, pub_nc, NULL),
			 NATS_OK);
}

static void pub_disconnect(void)
{
	jsCtx_Destroy(pub_js);
	natsConnection_Destroy(pub_nc);
	pub_js = NULL;
	pub_nc = NULL;
}

static void make_stream(const char *name)
{
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	char subject[64];
	const char *subjects[1] = { subject };
	natsStatus s;

	snprintf(subject, sizeof(subject), "%s.>", name);
	jsStreamConfig_Init(&sc);
	sc.Name = name;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	s = js_AddStream(&si, pub_js, &sc, NULL, &jerr);
	ck_assert_msg(s == NATS_OK, "add stream %s: %s (%d)", name,
		      natsStatus_GetText(s), (int)jerr);
	jsStreamInfo_Destroy(si);
}

/* Message i of a stream: a row (or a resolved timestamp every 5th) on
 * STREAM.feed.t, with the sink's headers; payloads carry a NUL byte. */
static void publish(const char *stream, int from, int to)
{
	for (int i = from; i < to; i++) {
		char subject[64], payload[64], id[32], seq[32], upd[32];
		bool resolved = i % 5 == 4;
		natsMsg *m = NULL;
		jsPubAck *pa = NULL;
		jsErrCode jerr = 0;
		natsStatus s;
		int len;

		snprintf(subject, sizeof(subject), "%s.feed.%s", stream,
			 resolved ? "_resolved" : "t");
		len = snprintf(payload, sizeof(payload), "{\"i\":%d}", i);
		payload[len] = '\0';
		len++; /* the NUL goes too */
		snprintf(id, sizeof(id), "id-%d", i);
		snprintf(seq, sizeof(seq), "%d", i + 1);
		snprintf(upd, sizeof(upd), "%d.0000000000", 1000 + i);
		ck_assert_int_eq(natsMsg_Create(&m, subject, NULL, payload, len),
				 NATS_OK);
		natsMsgHeader_Set(m, "Nats-Msg-Id", id);
		natsMsgHeader_Set(m, NATS_HDR_TYPE, resolved ? "resolved" : "row");
		natsMsgHeader_Set(m, NATS_HDR_SEQ, seq);
		natsMsgHeader_Set(m, NATS_HDR_UPDATED, upd);
		if (!resolved)
			natsMsgHeader_Set(m, NATS_HDR_TABLE, "public.t");
		s = js_PublishMsg(&pa, pub_js, m, NULL, &jerr);
		ck_assert_msg(s == NATS_OK, "publish %d: %s", i,
			      natsStatus_GetText(s));
		jsPubAck_Destroy(pa);
		natsMsg_Destroy(m);
	}
}

/* Message i as published (stream seq i + 1 when nothing else is in the
 * stream). */
static void check_msg(const struct nats_fetch_msg *m, const char *stream,
		      int i)
{
	char subject[64], payload[64], id[32], seq[32], upd[32];
	bool resolved = i % 5 == 4;
	int len;

	snprintf(subject, sizeof(subject), "%s.feed.%s", stream,
		 resolved ? "_resolved" : "t");
	len = snprintf(payload, sizeof(payload), "{\"i\":%d}", i);
	snprintf(id, sizeof(id), "id-%d", i);
	snprintf(seq, sizeof(seq), "%d", i + 1);
	snprintf(upd, sizeof(upd), "%d.0000000000", 1000 + i);
	ck_assert_uint_eq(m->stream_seq, (uint64_t)i + 1);
	ck_assert_str_eq(m->subject, subject);
	ck_assert_uint_eq(m->payload_len, (size_t)len + 1);
	ck_assert(memcmp(m->payload, payload, (size_t)len + 1) == 0);
	ck_assert_int_eq(m->payload[m->payload_len], '\0');
	ck_assert_str_eq(m->msg_id, id);
	ck_assert_str_eq(m->type, resolved ? "resolved" : "row");
	ck_assert_str_eq(m->seq, seq);
	ck_assert_str_eq(m->updated, upd);
	if (resolved)
		ck_assert_ptr_null(m->table);
	else
		ck_assert_str_eq(m->table, "public.t");
}

/* Everything in order with its metadata and headers, never more than
 * max_queued waiting for the loop, messages outside the filter left out,
 * and the stats. */
START_TEST(test_fetch_in_order)
{
	struct harness h = { .auto_take = true };
	struct nats_fetch_stats st;
	enum nats_fetch_state ready = NATS_FETCH_READY;
	size_t want = 40;

	pub_connect();
	make_stream("ORDER");
	publish("ORDER", 0, 40);
	/* Another feed's subject in the same stream: not ours. */
	js_Publish(NULL, pub_js, "ORDER.other.t", "x", 1, NULL, NULL);
	h.auto_take = false;
	h_open(&h, "ORDER", "relay", 7, 5, 100);
	/* The loop takes nothing for a while: the thread stops at 5. */
	run_until(&h, never, NULL, 800);
	take_all(&h);
	ck_assert_uint_eq(h.n, 5);
	h.auto_take = true;
	ck_assert_msg(run_until(&h, have_n, &want, 5000),
		      "got %zu of 40 messages (state why: %s)", h.n, h.why);
	ck_assert(run_until(&h, in_state, &ready, 100));
	for (size_t i = 0; i < 40; i++) {
		check_msg(h.msgs[i], "ORDER", (int)i);
		ck_assert_uint_eq(h.msgs[i]->delivered, 1);
		ck_assert_uint_eq(h.msgs[i]->pending, 39 - i);
	}
	ck_assert_uint_le(h.most_queued, 5);
	/* Nothing more: the other feed's message never comes. */
	run_until(&h, never, NULL, 600);
	ck_assert_uint_eq(h.n, 40);
	nats_fetch_get_stats(h.f, &st);
	ck_assert_int_eq(st.state, NATS_FETCH_READY);
	ck_assert_uint_eq(st.delivered, 40);
	ck_assert_uint_eq(st.redelivered, 0);
	ck_assert_uint_eq(st.last_stream_seq, 40);
	ck_assert_uint_eq(st.lag, 0);
	ck_assert_uint_eq(st.acked, 0);
	h_free(&h);
	pub_disconnect();
}
END_TEST

/* Taken, not acknowledged, closed: the next consumer gets them again at
 * once (AckWait is a minute) and in order, counted as redelivered; once
 * acknowledged up to a point, only what follows comes again. */
START_TEST(test_redelivery_and_ack)
{
	struct harness h = { .auto_take = true };
	struct nats_fetch_stats st;
	size_t want = 10;
	uint64_t acks = 6;

	pub_connect();
	make_stream("REDO");
	publish("REDO", 0, 10);
	h_open(&h, "REDO", "relay", 100, 100, 100);
	ck_assert(run_until(&h, have_n, &want, 5000));
	h_close(&h);
	h_clear(&h);

	h_open(&h, "REDO", "relay", 100, 100, 100);
	ck_assert_msg(run_until(&h, have_n, &want, 5000),
		      "redelivered %zu of 10 (%s)", h.n, h.why);
	for (size_t i = 0; i < 10; i++) {
		check_msg(h.msgs[i], "REDO", (int)i);
		ck_assert_uint_ge(h.msgs[i]->delivered, 2);
	}
	nats_fetch_get_stats(h.f, &st);
	ck_assert_uint_eq(st.redelivered, 10);
	/* The loop made 1..6 durable. */
	nats_fetch_ack_upto(h.f, 6);
	ck_assert(run_until(&h, acked_n, &acks, 3000));
	h_close(&h);
	h_clear(&h);

	/* 7..10 again, then a new one; 1..6 never. */
	publish("REDO", 10, 11);
	want = 5;
	h_open(&h, "REDO", "relay", 100, 100, 100);
	ck_assert(run_until(&h, have_n, &want, 5000));
	run_until(&h, never, NULL, 500);
	ck_assert_uint_eq(h.n, 5);
	for (size_t i = 0; i < 5; i++)
		check_msg(h.msgs[i], "REDO", (int)i + 6);
	ck_assert_uint_ge(h.msgs[3]->delivered, 2);
	ck_assert_uint_eq(h.msgs[4]->delivered, 1);
	nats_fetch_ack_upto(h.f, 11);
	acks = 5;
	ck_assert(run_until(&h, acked_n, &acks, 3000));
	h_close(&h);
	h_clear(&h);

	/* All acknowledged: nothing comes. */
	h_open(&h, "REDO", "relay", 100, 100, 100);
	run_until(&h, never, NULL, 1000);
	ck_assert_uint_eq(h.n, 0);
	h_free(&h);
	pub_disconnect();
}
END_TEST

/* An ack_upto beyond what the loop took acknowledges only what it took:
 * the rest is still delivered. */
START_TEST(test_ack_only_taken)
{
	struct harness h = { .auto_take = false };
	struct nats_fetch_stats st;
	size_t want = 10;

	pub_connect();
	make_stream("TAKEN");
	publish("TAKEN", 0, 10);
	h_open(&h, "TAKEN", "relay", 3, 3, 100);
	/* Let the thread fill the queue, take 2, acknowledge "everything". */
	run_until(&h, never, NULL, 700);
	{
		struct nats_fetch_msg *two[2];

		ck_assert_uint_eq(nats_fetch_take(h.f, two, 2), 2);
		ck_assert_uint_eq(two[1]->stream_seq, 2);
		nats_fetch_msg_free(two[0]);
		nats_fetch_msg_free(two[1]);
	}
	nats_fetch_ack_upto(h.f, 1000);
	run_until(&h, never, NULL, 700);
	nats_fetch_get_stats(h.f, &st);
	ck_assert_uint_eq(st.acked, 2);
	h_close(&h);

	h.auto_take = true;
	want = 8;
	h_open(&h, "TAKEN", "relay", 3, 3, 100);
	ck_assert(run_until(&h, have_n, &want, 5000));
	for (size_t i = 0; i < 8; i++)
		check_msg(h.msgs[i], "TAKEN", (int)i + 2);
	h_free(&h);
	pub_disconnect();
}
END_TEST

/* The lag reported with each take falls to 0 as the loop catches up. */
START_TEST(test_lag)
{
	struct harness h = { .auto_take = true };
	struct nats_fetch_stats st;
	size_t want = 30;

	pub_connect();
	make_stream("LAG");
	publish("LAG", 0, 30);
	h_open(&h, "LAG", "relay", 4, 4, 100);
	ck_assert(run_until(&h, have_n, &want, 5000));
	ck_assert_uint_ge(h.nlags, 2);
	ck_assert_uint_gt(h.lags[0], 0);
	for (size_t i = 1; i < h.nlags; i++)
		ck_assert_uint_le(h.lags[i], h.lags[i - 1]);
	ck_assert_uint_eq(h.lags[h.nlags - 1], 0);
	nats_fetch_get_stats(h.f, &st);
	ck_assert_uint_eq(st.lag, 0);
	h_free(&h);
	pub_disconnect();
}
END_TEST

/* kill -9 the server with messages taken but not acknowledged: DOWN, then
 * READY once it is back; the unacknowledged ones come again before the
 * messages published after the restart, and none is lost. */
START_TEST(test_server_restart)
{
	struct harness h = { .auto_take = true };
	struct nats_fetch_stats st;
	enum nats_fetch_state down = NATS_FETCH_DOWN, ready = NATS_FETCH_READY;
	size_t want = 10;
	uint64_t acks = 5, next = 1, last = 20;
	bool seen[21] = { false };

	pub_connect();
	make_stream("CRASH");
	publish("CRASH", 0, 10);
	h_open(&h, "CRASH", "relay", 100, 100, 100);
	ck_assert(run_until(&h, have_n, &want, 5000));
	nats_fetch_ack_upto(h.f, 5);
	ck_assert(run_until(&h, acked_n, &acks, 3000));
	/* Let the server store the acks before it dies. */
	run_until(&h, never, NULL, 300);
	pub_disconnect();

	ck_assert_int_eq(nats_testenv_kill_node(&env, 1), 0);
	ck_assert_msg(run_until(&h, in_state, &down, 5000),
		      "no DOWN after the kill");
	ck_assert_int_eq(nats_testenv_start_node(&env, 1), 0);
	ck_assert_msg(run_until(&h, in_state, &ready, 15000),
		      "not READY after the restart: %s", h.why);
	pub_connect();
	publish("CRASH", 10, 20);
	ck_assert_msg(run_until(&h, last_seq_is, &last, 5000),
		      "stream seq 20 never came");
	run_until(&h, never, NULL, 300);
	/* In stream order after the restart: from some seq <= 6 up to 20
	 * without a gap. */
	for (size_t i = 0; i < h.n; i++) {
		uint64_t s = h.msgs[i]->stream_seq;

		ck_assert_uint_le(s, 20);
		seen[s] = true;
		if (i >= 10) {
			if (i == 10)
				ck_assert_uint_le(s, 6);
			else
				ck_assert_uint_eq(s, next);
		}
		next = s + 1;
	}
	for (int s = 1; s <= 20; s++)
		ck_assert_msg(seen[s], "stream seq %d lost", s);
	ck_assert_uint_eq(h.msgs[h.n - 1]->stream_seq, 20);
	nats_fetch_get_stats(h.f, &st);
	ck_assert_uint_ge(st.reconnects, 1);
	ck_assert_uint_ge(st.redelivered, 5);
	h_free(&h);
	pub_disconnect();
}
END_TEST

/* A stream that does not exist: FAILED, saying which. */
START_TEST(test_missing_stream)
{
	struct harness h = { .auto_take = true };
	enum nats_fetch_state failed = NATS_FETCH_FAILED;

	h_open(&h, "NOSUCH", "relay", 10, 10, 100);
	ck_assert(run_until(&h, in_state, &failed, 5000));
	ck_assert_msg(strstr(h.why, "stream NOSUCH not found"), "why: %s",
		      h.why);
	h_free(&h);
}
END_TEST

int main(void)
{
	char err[256];
	Suite *s = suite_create("nats_fetch");
	TCase *tc = tcase_create("fetch");
	SRunner *sr;
	int failed;

	if (nats_testenv_start(&env, 1, err, sizeof(err))) {
		fprintf(stderr, "check_nats_fetch: %s\n", err);
		return 1;
	}
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fetch_in_order);
	tcase_add_test(tc, test_redelivery_and_ack);
	tcase_add_test(tc, test_ack_only_taken);
	tcase_add_test(tc, test_lag);
	tcase_add_test(tc, test_missing_stream);
	/* Last: it restarts the server. */
	tcase_add_test(tc, test_server_restart);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nats_testenv_stop(&env);
	/* Waits for the library's threads, so that valgrind sees their memory freed. */
	nats_CloseAndWait(5000);
	return failed ? 1 : 0;
}
