/*
 * check_log.c: where crdbfeedd's log lines go (daemon/log.c) and what they
 * carry: timestamped stderr lines by default, "<N>" priority lines under
 * systemd, the journal's native protocol with FEED/SINK/TABLE/SQLSTATE
 * fields only when JOURNAL_STREAM names the very file stderr is, and the
 * stderr fallback when the journal refuses a message.
 *
 * Whether a journald runs here or not, each journal test gets a private
 * /run (a tmpfs in a mount namespace of its own: needs root, as CI and
 * `make check` run), so that the fallback always finds no socket and the
 * native test always receives on its own socket at the one path
 * sd_journal_send() knows (libsystemd 252 has it fixed at
 * /run/systemd/journal/socket, with no variable to move it). Each test
 * runs in its own process (Check's fork mode) with stderr sent to a temp
 * file.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "daemon/log.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define JOURNAL_DIR "/run/systemd/journal"
#define JOURNAL_SOCKET JOURNAL_DIR "/socket"

static char stderr_path[64];

/* stderr -> a fresh temp file (read back with read_stderr). */
static void capture_stderr(void)
{
	int fd;

	snprintf(stderr_path, sizeof(stderr_path), "/tmp/check_log.XXXXXX");
	fd = mkstemp(stderr_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static void read_stderr(char *buf, size_t len)
{
	FILE *f = fopen(stderr_path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(stderr_path);
}

static void clear_env(void)
{
	unsetenv("JOURNAL_STREAM");
	unsetenv("INVOCATION_ID");
}

/* JOURNAL_STREAM as systemd would set it for our current stderr. */
static void set_journal_stream_to_stderr(void)
{
	struct stat st;
	char value[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	ck_assert_int_eq(setenv("JOURNAL_STREAM", value, 1), 0);
}

/* A private /run with an empty /run/systemd/journal: a mount namespace of
 * this test's process only, gone with it. Fails with one line when not
 * root. */
static void private_run(void)
{
	ck_assert_msg(geteuid() == 0,
		      "check_log: the journal tests need root (a private /run in a mount namespace); run make check as root");
	ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS): %s", strerror(errno));
	/* A propagation change ignores source and type; "none" rather than
	 * NULL, as mount(8) passes, keeps memcheck from flagging NULL. */
	ck_assert_msg(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0,
		      "making / private: %s", strerror(errno));
	ck_assert_msg(mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") == 0,
		      "a tmpfs on /run: %s", strerror(errno));
	ck_assert_int_eq(mkdir("/run/systemd", 0755), 0);
	ck_assert_int_eq(mkdir(JOURNAL_DIR, 0755), 0);
}

static const struct log_ctx ctx = {
	.feed = "orders", .table = "shop.public.orders", .sqlstate = "40001",
};

START_TEST(test_plain_stderr)
{
	char out[4096];

	clear_env();
	capture_stderr();
	log_init(LOG_LEVEL_INFO);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_STDERR);
	log_ctx_msg(LOG_LEVEL_WARNING, &ctx, "retrying: %s", "restart transaction");
	log_debug(NULL, "not at info level");
	read_stderr(out, sizeof(out));
	/* 2026-11-25T05:15:08.123Z crdbfeedd[42]: warning: feed orders: ... */
	ck_assert_msg(out[4] == '-' && out[10] == 'T' && strstr(out, "Z crdbfeedd["),
		      "no timestamp: %s", out);
	ck_assert_msg(strstr(out, "]: warning: feed orders: retrying: restart transaction"
			     " [table shop.public.orders] [SQLSTATE 40001]\n"),
		      "line: %s", out);
	ck_assert_ptr_null(strstr(out, "not at info level"));
}
END_TEST

START_TEST(test_invocation_id_priorities)
{
	char out[4096];

	clear_env();
	setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
	capture_stderr();
	log_init(LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_STDERR_PRIORITY);
	log_error("sink s", "accept: %s", "too many open files");
	log_debug(NULL, "two\nlines");
	read_stderr(out, sizeof(out));
	ck_assert_str_eq(out, "<3>error: sink s: accept: too many open files\n"
			      "<7>debug: two lines\n");
}
END_TEST

/* JOURNAL_STREAM inherited from somewhere else (stderr redirected since):
 * not the journal, but still under systemd. */
START_TEST(test_journal_stream_elsewhere)
{
	char out[4096];
	struct stat st;
	char value[64];

	clear_env();
	capture_stderr();
	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", value, 1);
	ck_assert(!log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "garbage", 1);
	ck_assert(!log_stderr_is_journal());
	setenv("JOURNAL_STREAM", value, 1);
	log_init(LOG_LEVEL_INFO);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_STDERR_PRIORITY);
	log_notice(NULL, "started");
	read_stderr(out, sizeof(out));
	ck_assert_str_eq(out, "<5>notice: started\n");
}
END_TEST

START_TEST(test_journal_stream_matches)
{
	clear_env();
	capture_stderr();
	set_journal_stream_to_stderr();
	ck_assert(log_stderr_is_journal());
	log_init(LOG_LEVEL_INFO);
#ifdef HAVE_SYSTEMD
	ck_assert_int_eq(log_get_target(), LOG_TARGET_JOURNAL);
#else
	/* Without libsystemd: priority lines on the journal stream. */
	ck_assert_int_eq(log_get_target(), LOG_TARGET_STDERR_PRIORITY);
#endif
	unlink(stderr_path);
}
END_TEST

/* The journal refuses (no journald): the same line goes to stderr. */
START_TEST(test_journal_fallback)
{
	char out[4096];

	private_run();
	clear_env();
	capture_stderr();
	set_journal_stream_to_stderr();
	log_init(LOG_LEVEL_INFO);
	log_ctx_msg(LOG_LEVEL_ERROR, &ctx, "changefeed failed");
	log_info("feed x", "still here");
	read_stderr(out, sizeof(out));
	ck_assert_str_eq(out,
		"<3>error: feed orders: changefeed failed [table shop.public.orders] [SQLSTATE 40001]\n"
		"<6>info: feed x: still here\n");
}
END_TEST

#ifdef HAVE_SYSTEMD
/* Find "NAME=value\n" in a native-protocol datagram (text fields only). */
static int field_is(const char *msg, const char *name, const char *value)
{
	char want[512];

	snprintf(want, sizeof(want), "%s=%s\n", name, value);
	return strstr(msg, want) == msg ||
	       (strstr(msg, want) && strstr(msg, want)[-1] == '\n');
}

static int field_absent(const char *msg, const char *name)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "%s=", name);
	for (p = strstr(msg, want); p; p = strstr(p + 1, want))
		if (p == msg || p[-1] == '\n')
			return 0;
	return 1;
}

/* The native protocol, received on our own socket in a private /run. */
START_TEST(test_journal_native_fields)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };
	char msg[8192], out[4096];
	ssize_t n;
	int fd;

	private_run();
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", JOURNAL_SOCKET);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);

	clear_env();
	capture_stderr();
	set_journal_stream_to_stderr();
	log_init(LOG_LEVEL_INFO);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_JOURNAL);
	log_ctx_msg(LOG_LEVEL_ERROR, &ctx, "changefeed failed: %s", "restart");
	n = recv(fd, msg, sizeof(msg) - 1, 0);
	ck_assert_int_gt(n, 0);
	msg[n] = '\0';
	ck_assert_msg(field_is(msg, "MESSAGE", "feed orders: changefeed failed: restart"),
		      "datagram: %s", msg);
	ck_assert(field_is(msg, "PRIORITY", "3"));
	ck_assert(field_is(msg, "SYSLOG_IDENTIFIER", "crdbfeedd"));
	ck_assert(field_is(msg, "FEED", "orders"));
	ck_assert(field_is(msg, "TABLE", "shop.public.orders"));
	ck_assert(field_is(msg, "SQLSTATE", "40001"));
	ck_assert(field_absent(msg, "SINK"));

	/* A plain line naming a sink still gets its SINK= field. */
	log_warning("sink orders-socket", "subscriber too slow");
	n = recv(fd, msg, sizeof(msg) - 1, 0);
	ck_assert_int_gt(n, 0);
	msg[n] = '\0';
	ck_assert_msg(field_is(msg, "MESSAGE", "sink orders-socket: subscriber too slow"),
		      "datagram: %s", msg);
	ck_assert(field_is(msg, "PRIORITY", "4"));
	ck_assert(field_is(msg, "SINK", "orders-socket"));
	ck_assert(field_absent(msg, "FEED"));
	ck_assert(field_absent(msg, "TABLE"));

	/* Nothing went to stderr. */
	read_stderr(out, sizeof(out));
	ck_assert_str_eq(out, "");
	close(fd);
}
END_TEST
#endif

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("targets");

	tcase_add_test(tc, test_plain_stderr);
	tcase_add_test(tc, test_invocation_id_priorities);
	tcase_add_test(tc, test_journal_stream_elsewhere);
	tcase_add_test(tc, test_journal_stream_matches);
	tcase_add_test(tc, test_journal_fallback);
#ifdef HAVE_SYSTEMD
	tcase_add_test(tc, test_journal_native_fields);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
