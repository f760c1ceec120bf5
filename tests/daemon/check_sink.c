/*
 * check_sink.c: a unix sink and its subscribers (daemon/sink.c,
 * daemon/subscriber.c) on a real event loop and a real socket, with no
 * feed: the owner is a set of callbacks here. A subscriber that does not
 * read fills the kernel's buffer, then its queue, and each policy must do
 * what crdbfeedd(8) says: block holds the owner back (and its checkpoint)
 * without losing a line and exceeds its bound by at most one line; drop
 * skips lines and then says how many in one "missed" line; disconnect sends
 * "too slow" and closes. A request line over its bound is refused. Out of
 * descriptors, the sink stops accepting for a while instead of spinning.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "daemon/conf.h"
#include "daemon/defer.h"
#include "daemon/encode.h"
#include "daemon/log.h"
#include "daemon/request.h"
#include "daemon/sink.h"
#include "tests/daemon/sink_place.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define LINE_PAYLOAD 1000     /* bytes of each test line's message */
#define BUFFER_BYTES 65536    /* the sink's per-subscriber bound */
#define MAX_OFFERS 20000      /* 20 MB: far past any socket buffer */

/* ---- the owner: what a feed would be ---------------------------------- */

struct owner {
	unsigned progress;    /* progress callbacks heard */
	unsigned greetings;
};

static const char *owner_name(void *arg)
{
	return "f";
}

static struct line *owner_greeting(void *arg)
{
	struct owner *o = arg;

	o->greetings++;
	return line_new_state("f", "streaming", NULL, NULL);
}

static void owner_progress(void *arg)
{
	struct owner *o = arg;

	o->progress++;
}

/* ---- fixture ----------------------------------------------------------- */

struct fx {
	struct sink_place place;
	struct event_base *base;
	struct sink_config cfg;
	struct owner owner;
	struct sink *sink;
	int client;
	/* what the client has read, whole */
	char *in;
	size_t in_len, in_cap;
};

static void pump(struct fx *fx)
{
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	defer_run();
}

static void fx_open(struct fx *fx, enum slow_policy policy)
{
	struct sink_owner owner = { .name = owner_name, .greeting = owner_greeting,
				    .progress = owner_progress, .arg = &fx->owner };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char err[256] = "";
	struct sink_stats st;

	memset(fx, 0, sizeof(*fx));
	sink_place_make(&fx->place, "check_sink", &fx->cfg, policy, BUFFER_BYTES);
	fx->base = event_base_new();
	ck_assert_ptr_nonnull(fx->base);
	fx->sink = sink_open(fx->base, &fx->cfg, &owner, err, sizeof(err));
	ck_assert_msg(fx->sink != NULL, "sink_open: %s", err);

	fx->client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fx->client, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx->place.path);
	ck_assert_int_eq(connect(fx->client, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (int i = 0; i < 2000; i++) {
		pump(fx);
		sink_get_stats(fx->sink, &st);
		if (st.subscribers == 1)
			break;
		usleep(1000);
	}
	sink_get_stats(fx->sink, &st);
	ck_assert_uint_eq(st.subscribers, 1);
	ck_assert_uint_eq(fx->owner.greetings, 1);
	ck_assert_int_eq(fcntl(fx->client, F_SETFL, O_NONBLOCK), 0);
}

static void fx_close(struct fx *fx)
{
	if (fx->sink)
		sink_close(fx->sink, NULL);
	defer_run();
	if (fx->client >= 0)
		close(fx->client);
	event_base_free(fx->base);
	sink_place_remove(&fx->place);
	free(fx->in);
}

/* A line of about LINE_PAYLOAD bytes at position seq. */
static struct line *test_line(uint64_t seq)
{
	char msg[LINE_PAYLOAD + 1];
	struct line *line;

	memset(msg, 'x', LINE_PAYLOAD);
	snprintf(msg, 16, "%llu", (unsigned long long)seq);
	msg[strlen(msg)] = ':';
	msg[LINE_PAYLOAD] = '\0';
	line = line_new_error("f", msg);
	ck_assert_ptr_nonnull(line);
	line->seq = seq;
	return line;
}

static void offer(struct fx *fx, uint64_t seq)
{
	struct line *line = test_line(seq);

	sink_offer(fx->sink, line);
	line_unref(line);
}

/* Read what the client can, running the loop, until EOF (eof true) or
 * until nothing arrived for 300 ms. Returns true at EOF. */
static bool client_read_all(struct fx *fx)
{
	struct timespec last, now;

	clock_gettime(CLOCK_MONOTONIC, &last);
	for (;;) {
		char buf[65536];
		ssize_t n;

		pump(fx);
		n = read(fx->client, buf, sizeof(buf));
		if (n == 0)
			return true;
		if (n > 0) {
			if (fx->in_len + (size_t)n + 1 > fx->in_cap) {
				fx->in_cap = (fx->in_len + (size_t)n + 1) * 2;
				fx->in = realloc(fx->in, fx->in_cap);
				ck_assert_ptr_nonnull(fx->in);
			}
			memcpy(fx->in + fx->in_len, buf, (size_t)n);
			fx->in_len += (size_t)n;
			fx->in[fx->in_len] = '\0';
			clock_gettime(CLOCK_MONOTONIC, &last);
			continue;
		}
		ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR,
			      "read: %s", strerror(errno));
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - last.tv_sec) * 1000 +
		    (now.tv_nsec - last.tv_nsec) / 1000000 > 300)
			return false;
		usleep(1000);
	}
}

static size_t count_lines(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; p && *p; ) {
		const char *nl = strchr(p, '\n');

		if (!nl)
			break;
		if (!needle || memmem(p, (size_t)(nl - p), needle, strlen(needle)))
			n++;
		p = nl + 1;
	}
	return n;
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(block_holds_the_owner_and_loses_nothing)
{
	struct fx fx;
	struct sink_stats st;
	struct line *probe = test_line(1);
	size_t line_len = probe->len;
	uint64_t n = 0;

	line_unref(probe);
	fx_open(&fx, SLOW_POLICY_BLOCK);
	ck_assert(!sink_is_blocking(fx.sink));
	ck_assert_uint_eq(sink_done_seq(fx.sink, 0), 0);
	/* Offer as a feed does: stop as soon as the sink blocks. */
	while (!sink_is_blocking(fx.sink) && n < MAX_OFFERS)
		offer(&fx, ++n);
	ck_assert_msg(sink_is_blocking(fx.sink), "never blocked after %llu lines",
		      (unsigned long long)n);
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.blocked, 1);
	ck_assert_uint_eq(st.disconnected_slow, 0);
	/* The bound is passed by at most one line. */
	ck_assert_uint_gt(st.max_queued_bytes, BUFFER_BYTES - line_len);
	ck_assert_uint_le(st.max_queued_bytes, BUFFER_BYTES + line_len);
	/* The checkpoint may not pass a line still queued. */
	ck_assert_uint_lt(sink_done_seq(fx.sink, n), n);

	client_read_all(&fx);
	ck_assert(!sink_is_blocking(fx.sink));
	ck_assert_uint_gt(fx.owner.progress, 0);
	ck_assert_uint_eq(sink_done_seq(fx.sink, n), n);
	/* Every line, in order, after the greeting. */
	ck_assert_uint_eq(count_lines(fx.in, NULL), n + 1);
	ck_assert_uint_eq(count_lines(fx.in, "\"type\":\"state\""), 1);
	{
		const char *p = fx.in;

		for (uint64_t i = 1; i <= n; i++) {
			char want[32];

			p = strchr(p, '\n') + 1;
			snprintf(want, sizeof(want), "\"error\":\"%llu:",
				 (unsigned long long)i);
			ck_assert_msg(strncmp(strstr(p, "\"error\":"), want, strlen(want)) == 0,
				      "line %llu out of order", (unsigned long long)i);
		}
	}
	fx_close(&fx);
}
END_TEST

START_TEST(drop_skips_then_says_missed)
{
	struct fx fx;
	struct sink_stats st;
	char want[64];
	uint64_t n;

	fx_open(&fx, SLOW_POLICY_DROP);
	ck_assert_uint_eq(sink_done_seq(fx.sink, 7), UINT64_MAX);
	for (n = 1; n <= 2000; n++)
		offer(&fx, n);
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_gt(st.dropped, 0);
	ck_assert_uint_eq(st.subscribers, 1);
	ck_assert_uint_eq(st.disconnected_slow, 0);
	ck_assert(!sink_is_blocking(fx.sink));
	ck_assert_uint_le(st.max_queued_bytes, BUFFER_BYTES + 2 * LINE_PAYLOAD);

	client_read_all(&fx);
	snprintf(want, sizeof(want), "\"missed\":%llu}",
		 (unsigned long long)st.dropped);
	ck_assert_uint_eq(count_lines(fx.in, "\"type\":\"missed\""), 1);
	ck_assert_msg(strstr(fx.in, want) != NULL, "no %s in the stream", want);
	/* greeting + what was not dropped + the missed line */
	ck_assert_uint_eq(count_lines(fx.in, NULL), 1 + (2000 - st.dropped) + 1);
	fx_close(&fx);
}
END_TEST

START_TEST(disconnect_says_too_slow_and_closes)
{
	struct fx fx;
	struct sink_stats st;
	uint64_t n = 0;

	fx_open(&fx, SLOW_POLICY_DISCONNECT);
	do {
		offer(&fx, ++n);
		sink_get_stats(fx.sink, &st);
	} while (st.subscribers && n < MAX_OFFERS);
	ck_assert_uint_eq(st.subscribers, 0);
	ck_assert_uint_eq(st.disconnected_slow, 1);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_gt(fx.owner.progress, 0);
	/* Closed, having lost nothing in the middle: the lines it got are
	 * 1..k in order (the "too slow" line is best effort: the socket is
	 * full when the policy acts, so it is not asserted). */
	ck_assert(client_read_all(&fx));
	{
		const char *p = strchr(fx.in, '\n') + 1;
		uint64_t i = 0;

		while (p && *p && strstr(p, "\"error\":\"") &&
		       !strstr(p, "too slow")) {
			char want[32];

			snprintf(want, sizeof(want), "\"error\":\"%llu:",
				 (unsigned long long)++i);
			if (strncmp(strstr(p, "\"error\":"), want, strlen(want)) != 0)
				ck_abort_msg("line %llu out of order", (unsigned long long)i);
			p = strchr(p, '\n');
			p = p ? p + 1 : NULL;
		}
		ck_assert_uint_gt(i, 0);
		ck_assert_uint_lt(i, n);
	}
	fx_close(&fx);
}
END_TEST

START_TEST(request_line_over_its_bound_is_refused)
{
	struct fx fx;
	struct sink_stats st;
	char *big = malloc(REQUEST_MAX + 1);

	/* One byte over, no newline: the daemon reads it all (no reset). */
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', REQUEST_MAX + 1);
	fx_open(&fx, SLOW_POLICY_BLOCK);
	ck_assert_int_eq(write(fx.client, big, REQUEST_MAX + 1), REQUEST_MAX + 1);
	ck_assert(client_read_all(&fx));
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.subscribers, 0);
	ck_assert_uint_eq(st.disconnected_other, 1);
	ck_assert_msg(strstr(fx.in, "request line longer than 4096 bytes") != NULL,
		      "got: %s", fx.in ? fx.in : "(nothing)");
	free(big);
	fx_close(&fx);
}
END_TEST

START_TEST(closing_tells_no_owner)
{
	struct fx fx;
	unsigned before;

	fx_open(&fx, SLOW_POLICY_BLOCK);
	before = fx.owner.progress;
	sink_close(fx.sink, "going away");
	fx.sink = NULL;
	ck_assert_uint_eq(fx.owner.progress, before);
	ck_assert(client_read_all(&fx));
	ck_assert_ptr_nonnull(strstr(fx.in, "going away"));
	ck_assert_int_ne(access(fx.place.path, F_OK), 0);
	fx_close(&fx);
}
END_TEST

/* Lowest free descriptor number: how many are open below it. */
static int fds_in_use(void)
{
	int fd = dup(0);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return fd;
}

START_TEST(out_of_descriptors_pauses_accepting)
{
	struct fx fx;
	struct sink_stats st;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct rlimit rl;
	int clients[4];
	uint64_t accepted;

	fx_open(&fx, SLOW_POLICY_DISCONNECT);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.place.path);
	/* Room for the four clients and one accepted connection only. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = (rlim_t)fds_in_use() + 5;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	for (int i = 0; i < 4; i++) {
		clients[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(clients[i], 0);
		ck_assert_int_eq(connect(clients[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	for (int i = 0; i < 100; i++) {
		pump(&fx);
		usleep(2000);
	}
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.subscribers, 2);   /* the fixture's and one more */
	ck_assert_uint_ge(st.accept_errors, 1);
	/* Paused: however long the socket stays readable, no accept(2) is
	 * tried (a spinning loop would count an error each time). */
	ck_assert_uint_eq(st.accept_errors, 1);
	accepted = st.accepted;
	/* Room again: after the pause the waiting ones are taken. */
	for (int i = 0; i < 4; i++)
		close(clients[i]);
	for (int i = 0; i < 2500; i++) {
		pump(&fx);
		sink_get_stats(fx.sink, &st);
		if (st.accepted > accepted)
			break;
		usleep(2000);
	}
	ck_assert_uint_gt(st.accepted, accepted);
	fx_close(&fx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sink");
	TCase *tc = tcase_create("policies");
	SRunner *sr;
	int failed;

	log_init(LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);  /* as crdbfeedd's main does */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, block_holds_the_owner_and_loses_nothing);
	tcase_add_test(tc, drop_skips_then_says_missed);
	tcase_add_test(tc, disconnect_says_too_slow_and_closes);
	tcase_add_test(tc, request_line_over_its_bound_is_refused);
	tcase_add_test(tc, closing_tells_no_owner);
	tcase_add_test(tc, out_of_descriptors_pauses_accepting);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
