/*
 * check_fleet.c: a feed's state machine as far as it goes without a server
 * (daemon/feed.c: connect refused, backoff, operator pause and resume,
 * stop and finish), and the reload reconciler (daemon/fleet.c): which
 * feeds and sinks a new configuration keeps, restarts, reopens, closes or
 * creates, and what their subscribers see. Feeds point at a port nobody
 * listens on (127.0.0.1:1), so every connection attempt is refused at once.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "config_text.h"
#include "daemon/conf.h"
#include "daemon/defer.h"
#include "daemon/feed.h"
#include "daemon/fleet.h"
#include "daemon/log.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define REFUSED_DSN "postgresql://root@127.0.0.1:1/defaultdb?sslmode=disable&connect_timeout=2"

static char dir[64];
static struct event_base *base;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_fleet.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void teardown(void)
{
	char cmd[128];

	defer_run();
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Run the loop until pred(arg) holds or ms pass. */
static bool run_until(bool (*pred)(void *), void *arg, int ms)
{
	for (int i = 0; i < ms / 5; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		defer_run();
		if (pred(arg))
			return true;
		usleep(5000);
	}
	return pred(arg);
}

/* ---- a feed alone ------------------------------------------------------- */

static bool in_backoff(void *arg)
{
	return feed_get_state(arg) == FEED_BACKOFF;
}

/* Started: connecting, or already refused (libpq may say so at once). */
static bool started(const struct feed *feed)
{
	return feed_get_state(feed) == FEED_CONNECTING ||
	       feed_get_state(feed) == FEED_BACKOFF;
}

START_TEST(feed_states_without_a_server)
{
	struct config *cfg = config_text(dir,
		"[crdbfeedd]\ndsn = " REFUSED_DSN "\nstate_dir = @\n"
		"[feed a]\ntables = t\nbackoff_initial = 10s\n"
		"[sink s]\nfeed = a\ntype = unix\npath = @/s.sock\n");
	struct feed *feed = feed_new(base, &cfg->feeds[0], NULL, NULL, NULL);
	struct feed_stats st;

	ck_assert_ptr_nonnull(feed);
	ck_assert_int_eq(feed_get_state(feed), FEED_STOPPED);
	ck_assert(feed_attempted(feed));  /* not started: nothing to wait for */
	ck_assert_int_eq(feed_start(feed), 0);
	ck_assert(started(feed));

	/* Refused: backoff, counted as a failed connection attempt. */
	ck_assert_msg(run_until(in_backoff, feed, 5000), "still %s",
		      feed_state_name(feed_get_state(feed)));
	ck_assert_str_eq(feed_public_state(feed), "reconnecting");
	ck_assert(feed_attempted(feed));
	feed_get_stats(feed, &st);
	ck_assert_uint_eq(st.reconnects[RECONNECT_CONNECT], 1);
	ck_assert_str_ne(st.last_error, "");

	/* Operator pause and resume. */
	ck_assert_int_eq(feed_resume(feed), -1);
	ck_assert_int_eq(feed_pause(feed, "test"), 0);
	ck_assert_int_eq(feed_get_state(feed), FEED_PAUSED);
	feed_get_stats(feed, &st);
	ck_assert(st.paused);
	ck_assert_int_eq(feed_resume(feed), 0);
	ck_assert(started(feed));
	feed_get_stats(feed, &st);
	ck_assert_uint_eq(st.reconnects[RECONNECT_RESUME], 1);
	ck_assert(!st.paused);

	/* Stop and finish; a stopping feed cannot be paused. */
	feed_stop(feed, "test over");
	ck_assert_int_eq(feed_get_state(feed), FEED_STOPPING);
	ck_assert_int_eq(feed_pause(feed, "late"), -1);
	feed_finish(feed);
	ck_assert_int_eq(feed_get_state(feed), FEED_STOPPED);
	feed_free(feed);
	defer_run();
	config_free(cfg);
}
END_TEST

/* ---- the reconciler ----------------------------------------------------- */

static const char *const v1 =
	"[crdbfeedd]\ndsn = " REFUSED_DSN "\nstate_dir = @\n"
	"[feed a]\ntables = t1\nbackoff_initial = 10s\n"
	"[feed b]\ntables = t2\nbackoff_initial = 10s\n"
	"[sink sa]\nfeed = a\ntype = unix\npath = @/sa.sock\n"
	"[sink sb]\nfeed = b\ntype = unix\npath = @/sb.sock\n";

/* a and sa unchanged, b's statement changed (sb's section did not), c and
 * sc new */
static const char *const v2 =
	"[crdbfeedd]\ndsn = " REFUSED_DSN "\nstate_dir = @\n"
	"[feed a]\ntables = t1\nbackoff_initial = 10s\n"
	"[feed b]\ntables = t2, t3\nbackoff_initial = 10s\n"
	"[feed c]\ntables = t4\nbackoff_initial = 10s\n"
	"[sink sa]\nfeed = a\ntype = unix\npath = @/sa.sock\n"
	"[sink sb]\nfeed = b\ntype = unix\npath = @/sb.sock\n"
	"[sink sc]\nfeed = c\ntype = unix\npath = @/sc.sock\n";

/* b and sb removed, sa changed (its path), the order of a and c swapped */
static const char *const v3 =
	"[crdbfeedd]\ndsn = " REFUSED_DSN "\nstate_dir = @\n"
	"[feed c]\ntables = t4\nbackoff_initial = 10s\n"
	"[feed a]\ntables = t1\nbackoff_initial = 10s\n"
	"[sink sc]\nfeed = c\ntype = unix\npath = @/sc.sock\n"
	"[sink sa]\nfeed = a\ntype = unix\npath = @/sa2.sock\n";

static bool file_exists(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static int subscribe(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.60s/%s", dir, name);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static bool one_subscriber(void *arg)
{
	struct fleet *fleet = arg;
	struct daemon_view view;
	size_t n = 0;

	fleet_view(fleet, &view);
	for (size_t i = 0; i < view.nsinks; i++)
		n += view.sinks[i].stats.subscribers;
	daemon_view_release(&view);
	return n == 1;
}

/* Read what fd has now (and what the loop writes for 200 ms): true at EOF. */
static bool drain_fd(int fd, char *buf, size_t len)
{
	size_t got = 0;

	for (int i = 0; i < 40; i++) {
		ssize_t n;

		event_base_loop(base, EVLOOP_NONBLOCK);
		defer_run();
		n = read(fd, buf + got, len - 1 - got);
		if (n == 0) {
			buf[got] = '\0';
			return true;
		}
		if (n > 0)
			got += (size_t)n;
		usleep(5000);
	}
	buf[got] = '\0';
	return false;
}

START_TEST(reconciler_keeps_restarts_reopens_and_closes)
{
	struct fleet fleet = { .base = base };
	struct feed *a, *b;
	struct sink *sa, *sb;
	struct feed_stats st;
	struct daemon_view view;
	char text[4096];
	int sub;

	ck_assert_int_eq(fleet_apply(&fleet, config_text(dir, v1), NULL, 0), 0);
	a = fleet.feeds[0];
	b = fleet.feeds[1];
	sa = fleet.sinks[0];
	sb = fleet.sinks[1];
	ck_assert(a && b && sa && sb);
	ck_assert(file_exists("sa.sock") && file_exists("sb.sock"));
	ck_assert(started(a) && started(b));
	sub = subscribe("sa.sock");
	ck_assert(run_until(one_subscriber, &fleet, 3000));

	/* v2: the same objects where nothing changed; b restarted in place. */
	ck_assert_int_eq(fleet_apply(&fleet, config_text(dir, v2), NULL, 0), 0);
	ck_assert_uint_eq(fleet.cfg->nfeeds, 3);
	ck_assert_ptr_eq(fleet.feeds[0], a);
	ck_assert_ptr_eq(fleet.feeds[1], b);
	ck_assert_ptr_nonnull(fleet.feeds[2]);
	ck_assert_ptr_eq(fleet.sinks[0], sa);
	ck_assert_ptr_eq(fleet.sinks[1], sb);
	ck_assert_ptr_nonnull(fleet.sinks[2]);
	ck_assert(file_exists("sc.sock"));
	feed_get_stats(a, &st);
	ck_assert_uint_eq(st.reconnects[RECONNECT_RELOAD], 0);
	feed_get_stats(b, &st);
	ck_assert_uint_eq(st.reconnects[RECONNECT_RELOAD], 1);
	ck_assert(started(fleet.feeds[2]));
	/* sa's subscriber is still there and heard nothing but its greeting. */
	ck_assert(one_subscriber(&fleet));
	ck_assert(!drain_fd(sub, text, sizeof(text)));
	ck_assert_ptr_null(strstr(text, "reload"));

	/* v3: b and sb go, sa is reopened on its new path (its subscriber is
	 * told and closed), c and a keep their objects in their new places. */
	ck_assert_int_eq(fleet_apply(&fleet, config_text(dir, v3), NULL, 0), 0);
	ck_assert_uint_eq(fleet.cfg->nfeeds, 2);
	ck_assert_ptr_eq(fleet.feeds[1], a);
	ck_assert_ptr_nonnull(fleet.sinks[1]);
	ck_assert_ptr_ne(fleet.sinks[1], sa);
	ck_assert(!file_exists("sb.sock"));
	ck_assert(!file_exists("sa.sock"));
	ck_assert(file_exists("sa2.sock"));
	ck_assert(drain_fd(sub, text, sizeof(text)));
	ck_assert_ptr_nonnull(strstr(text, "the sink changed in a reload"));
	close(sub);

	fleet_view(&fleet, &view);
	ck_assert_uint_eq(view.nfeeds, 2);
	ck_assert_str_eq(view.feeds[0].name, "c");
	ck_assert_str_eq(view.feeds[1].name, "a");
	ck_assert(view.feeds[0].live && view.sinks[0].live && view.sinks[1].live);
	ck_assert_str_eq(view.sinks[1].cfg->path + strlen(dir), "/sa2.sock");
	daemon_view_release(&view);

	ck_assert_int_eq(fleet_pause(&fleet, "a", true, "test"), 0);
	ck_assert_int_eq(feed_get_state(a), FEED_PAUSED);
	ck_assert_int_eq(fleet_pause(&fleet, "b", true, "test"), -1);

	fleet_stop(&fleet, "test over");
	fleet_finish(&fleet);
	fleet_free(&fleet);
	ck_assert(!file_exists("sa2.sock") && !file_exists("sc.sock"));
}
END_TEST

START_TEST(reconciler_reports_a_sink_it_cannot_open)
{
	struct fleet fleet = { .base = base };
	char err[512] = "";

	/* A regular file where the socket should be: left alone, an error. */
	ck_assert_int_eq(fleet_apply(&fleet, config_text(dir, v1), NULL, 0), 0);
	{
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path), "%s/sc.sock", dir);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fclose(f);
	}
	ck_assert_int_eq(fleet_apply(&fleet, config_text(dir, v2), err, sizeof(err)), -1);
	ck_assert_ptr_null(fleet.sinks[2]);
	ck_assert_ptr_nonnull(fleet.feeds[2]);
	ck_assert_msg(strstr(err, "sink sc: ") == err, "errbuf: %s", err);
	fleet_stop(&fleet, "test over");
	fleet_finish(&fleet);
	fleet_free(&fleet);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("feeds and reloads");
	SRunner *sr;
	int failed;

	log_init(LOG_LEVEL_ERROR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, feed_states_without_a_server);
	tcase_add_test(tc, reconciler_keeps_restarts_reopens_and_closes);
	tcase_add_test(tc, reconciler_reports_a_sink_it_cannot_open);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
