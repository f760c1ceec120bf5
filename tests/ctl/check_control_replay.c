/*
 * check_control_replay.c: the control socket's replay command
 * (daemon/control_replay.c) on a real socket and a real journal, with the
 * daemon's feeds stood in for by control_ops: the whole answer (first
 * line, the journal's lines, last line) for a slow client, the memory a
 * connection holds while it streams, the refusals, and a feed whose
 * journal goes away during the replay.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/control_int.h"
#include "daemon/ctl_replay.h"
#include "daemon/journal.h"

#define NROWS 3000
#define MARK_EVERY 100
#define BASE_WALL 1700000000000000000LL

struct fixture {
	char dir[64];
	char sock[128];
	struct event_base *base;
	struct journal *journal;
	bool journal_gone;          /* ops.journal answers NULL */
	size_t gone_after_bytes;    /* ... once a connection sent this much */
	char feed_names[2][2];
	struct feed_config feeds[2];
	struct config cfg;
	struct control *ctl;
	char *lines[NROWS + 1];     /* the journaled row lines, by seq */
	size_t max_out_cap;         /* the largest answer buffer seen */
	size_t sent;                /* bytes sent by the replay connection */
	pid_t client;
};

static struct fixture fx;

static void view_of(void *arg, struct daemon_view *out)
{
	struct fixture *f = arg;

	out->cfg = &f->cfg;
	out->feeds = calloc(2, sizeof(*out->feeds));
	ck_assert_ptr_nonnull(out->feeds);
	out->nfeeds = 2;
	for (size_t i = 0; i < 2; i++) {
		out->feeds[i].name = f->feeds[i].name;
		out->feeds[i].cfg = &f->feeds[i];
		out->feeds[i].live = true;
		out->feeds[i].state = "streaming";
		out->feeds[i].stats.ordered = f->feeds[i].delivery == FEED_DELIVERY_ORDERED;
	}
}

static struct journal *journal_of(void *arg, const char *feed)
{
	struct fixture *f = arg;

	if (strcmp(feed, "f") != 0 || f->journal_gone)
		return NULL;
	return f->journal;
}

static const struct control_ops ops = { .view = view_of, .journal = journal_of };

static char *resolved_line(uint64_t seq)
{
	char *line;

	ck_assert_int_ge(asprintf(&line, "{\"v\":1,\"type\":\"resolved\",\"feed\":\"f\",\"resolved\":\"%lld.0000000000\",\"seq\":%llu}\n",
				  BASE_WALL + (long long)seq * 1000, (unsigned long long)seq), 0);
	return line;
}

static void setup(void)
{
	struct journal_limits lim = { 0, 0 };
	char errbuf[256] = "", *line;

	memset(&fx, 0, sizeof(fx));
	memcpy(fx.feed_names, "f\0s", 4);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/check_control_replay.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.sock, sizeof(fx.sock), "%s/control.sock", fx.dir);
	ck_assert_int_ge(asprintf(&line, "%s/f.journal", fx.dir), 0);
	fx.journal = journal_open(line, &lim, 0, errbuf, sizeof(errbuf));
	free(line);
	ck_assert_msg(fx.journal != NULL, "%s", errbuf);
	for (uint64_t seq = 1; seq <= NROWS; seq++) {
		char key[32];
		struct journal_row row = {
			.seq = seq, .op = CRDB_OP_INSERT, .table = "t", .table_len = 1,
			.updated = { BASE_WALL + (int64_t)seq * 1000, 0 },
		};

		snprintf(key, sizeof(key), "[%llu]", (unsigned long long)seq);
		row.key = key;
		row.key_len = strlen(key);
		/* About 200 bytes a row: the whole is many chunks. */
		ck_assert_int_ge(asprintf(&fx.lines[seq], "{\"v\":1,\"type\":\"row\",\"feed\":\"f\",\"table\":\"t\",\"key\":%s,\"op\":\"insert\",\"after\":{\"pad\":\"%0120d\"},\"updated\":\"%lld.0000000000\",\"seq\":%llu}\n",
					 key, 0, (long long)row.updated.wall,
					 (unsigned long long)seq), 0);
		row.line = fx.lines[seq];
		row.line_len = strlen(fx.lines[seq]);
		ck_assert_int_eq(journal_append(fx.journal, &row, errbuf, sizeof(errbuf)), 0);
		if (seq % MARK_EVERY == 0)
			ck_assert_msg(journal_commit(fx.journal, row.updated, errbuf,
						     sizeof(errbuf)) == 0, "%s", errbuf);
	}
	fx.feeds[0].name = fx.feed_names[0];
	fx.feeds[0].delivery = FEED_DELIVERY_ORDERED;
	fx.feeds[1].name = fx.feed_names[1];
	fx.feeds[1].delivery = FEED_DELIVERY_STREAM;
	fx.cfg.control_socket = fx.sock;
	fx.cfg.control_mode = 0600;
	fx.cfg.feeds = fx.feeds;
	fx.cfg.nfeeds = 2;
	fx.base = event_base_new();
	ck_assert_ptr_nonnull(fx.base);
	fx.ctl = control_open(fx.base, &fx.cfg, &ops, &fx, NULL, errbuf, sizeof(errbuf));
	ck_assert_msg(fx.ctl != NULL, "%s", errbuf);
}

static void teardown(void)
{
	char cmd[128];

	control_close(fx.ctl);
	event_base_free(fx.base);
	journal_close(fx.journal);
	for (size_t i = 0; i <= NROWS; i++)
		free(fx.lines[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The client, in a child: send request, read slowly (small reads with
 * pauses, a small receive buffer) into out_path until EOF. */
static void client(const char *request, const char *out_path, bool slow)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), rcvbuf = 4096;
	FILE *out = fopen(out_path, "w");
	char buf[4096];
	ssize_t n;

	if (strlen(fx.sock) >= sizeof(addr.sun_path))
		_exit(2);
	memcpy(addr.sun_path, fx.sock, strlen(fx.sock) + 1);
	if (fd < 0 || !out || (slow && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf))) ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request))
		_exit(2);
	while ((n = read(fd, buf, slow ? 2048 : sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			_exit(3);
		if (slow)
			usleep(100);
	}
	_exit(n == 0 && fclose(out) == 0 ? 0 : 4);
}

/* Every 2 ms: the answer buffers' size, the journal going away, the
 * client's end. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn;
	int status;

	TAILQ_FOREACH(conn, &fx.ctl->conns, link) {
		if (conn->out.cap > fx.max_out_cap)
			fx.max_out_cap = conn->out.cap;
		if (conn->stream)
			fx.sent += conn->out_off;
	}
	if (fx.gone_after_bytes && fx.sent > fx.gone_after_bytes)
		fx.journal_gone = true;
	if (waitpid(fx.client, &status, WNOHANG) == fx.client) {
		char err_path[256], err[512] = "";
		FILE *in;

		snprintf(err_path, sizeof(err_path), "%s/answer.err", fx.dir);
		in = fopen(err_path, "r");
		if (in) {
			err[fread(err, 1, sizeof(err) - 1, in)] = '\0';
			fclose(in);
		}
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "client exit %d: %s", WEXITSTATUS(status), err);
		event_base_loopbreak(fx.base);
	}
}

/* crdbfeedctl as the client, in a child: its stdout into out_path, its
 * stderr into out_path.err; argv after "-s SOCKET replay". */
static const char *const *ctl_args;

static void crdbfeedctl_client(const char *out_path)
{
	const char *builddir = getenv("top_builddir");
	char prog[4096], err_path[256];
	const char *argv[16] = { prog, "-s", fx.sock, "replay" };
	size_t n = 4;

	snprintf(prog, sizeof(prog), "%s/daemon/crdbfeedctl", builddir ? builddir : ".");
	snprintf(err_path, sizeof(err_path), "%s.err", out_path);
	for (size_t i = 0; ctl_args[i] && n < 15; i++)
		argv[n++] = ctl_args[i];
	argv[n] = NULL;
	if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
		_exit(2);
	execv(prog, (char *const *)argv);
	_exit(127);
}

/* Run request against the control socket; the answer, NUL-terminated.
 * A NULL request runs crdbfeedctl with ctl_args instead. */
static char *exchange(const char *request, bool slow, size_t *len)
{
	struct timeval tick = { 0, 2000 };
	struct event *ev = event_new(fx.base, -1, EV_PERSIST, on_tick, NULL);
	char path[128], *data = NULL;
	FILE *in;
	long size;

	snprintf(path, sizeof(path), "%s/answer", fx.dir);
	fx.client = fork();
	ck_assert_int_ge(fx.client, 0);
	if (fx.client == 0 && !request)
		crdbfeedctl_client(path);
	if (fx.client == 0)
		client(request, path, slow);
	ck_assert_ptr_nonnull(ev);
	event_add(ev, &tick);
	event_base_dispatch(fx.base);
	event_free(ev);
	in = fopen(path, "r");
	ck_assert_ptr_nonnull(in);
	fseek(in, 0, SEEK_END);
	size = ftell(in);
	rewind(in);
	data = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)size, in), (size_t)size);
	data[size] = '\0';
	fclose(in);
	*len = (size_t)size;
	return data;
}

START_TEST(test_replay_whole_and_bounded)
{
	size_t len, lines = 0;
	char *answer = exchange("replay f {\"after\":150}\n", true, &len);
	struct textbuf want;
	const char *first_end = strchr(answer, '\n');
	char *last;

	ck_assert_ptr_nonnull(first_end);
	ck_assert_int_eq(strncmp(answer, "{\"ok\":true,\"after\":150,\"first\":1,\"last\":3000}\n",
				 (size_t)(first_end - answer) + 1), 0);
	textbuf_init(&want, 64u << 20);
	for (uint64_t seq = 151; seq <= NROWS; seq++) {
		textbuf_puts(&want, fx.lines[seq]);
		lines++;
		if (seq % MARK_EVERY == 0) {
			char *mark = resolved_line(seq);

			textbuf_puts(&want, mark);
			free(mark);
			lines++;
		}
	}
	ck_assert_int_ge(asprintf(&last, "{\"ok\":true,\"lines\":%zu}\n", lines), 0);
	textbuf_puts(&want, last);
	ck_assert(!want.failed);
	ck_assert_msg(len == (size_t)(first_end + 1 - answer) + want.len &&
		      memcmp(first_end + 1, want.data, want.len) == 0,
		      "the replay's lines differ from the journal's (%zu bytes, want %zu)",
		      len, (size_t)(first_end + 1 - answer) + want.len);
	/* About 600 KB went through a buffer of about one chunk. */
	ck_assert_uint_gt(want.len, 8 * CTL_REPLAY_CHUNK_BYTES);
	ck_assert_uint_le(fx.max_out_cap, 2 * CTL_REPLAY_CHUNK_BYTES);
	textbuf_free(&want);
	free(last);
	free(answer);
}
END_TEST

START_TEST(test_replay_filters)
{
	size_t len;
	char *answer = exchange("replay f {\"since\":\"1700000000000500000\",\"until\":\"1700000000000600000\",\"tables\":[\"t\"]}\n",
				false, &len);
	char *mark = resolved_line(600);
	struct textbuf want;

	/* Rows 500 to 600 and the marks at 500 and 600. */
	textbuf_init(&want, 1u << 20);
	textbuf_puts(&want, "{\"ok\":true,\"after\":400,\"first\":1,\"last\":3000}\n");
	for (uint64_t seq = 500; seq <= 600; seq++) {
		textbuf_puts(&want, fx.lines[seq]);
		if (seq == 500) {
			char *m = resolved_line(500);

			textbuf_puts(&want, m);
			free(m);
		}
	}
	textbuf_puts(&want, mark);
	textbuf_puts(&want, "{\"ok\":true,\"lines\":103}\n");
	ck_assert_str_eq(answer, want.data);
	textbuf_free(&want);
	free(mark);
	free(answer);
}
END_TEST

static void expect_refusal(const char *request, const char *code, const char *text)
{
	size_t len;
	char *answer = exchange(request, false, &len);
	json_t *obj = json_loads(answer, JSON_DISABLE_EOF_CHECK, NULL);

	ck_assert_msg(json_is_object(obj), "%s: not a JSON answer: %s", request, answer);
	ck_assert_msg(json_is_false(json_object_get(obj, "ok")), "%s: %s", request, answer);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "code")), code);
	ck_assert_msg(strstr(json_string_value(json_object_get(obj, "error")), text),
		      "%s: %s", request, answer);
	ck_assert_msg(strchr(answer, '\n') == answer + len - 1, "%s: more than one line: %s",
		      request, answer);
	json_decref(obj);
	free(answer);
}

START_TEST(test_replay_refused)
{
	expect_refusal("replay s\n", "failed", "its delivery is stream, not ordered");
	expect_refusal("replay nope\n", "unknown_feed", "unknown feed \"nope\"");
	expect_refusal("replay\n", "bad_request", "usage: replay FEED");
	expect_refusal("replay f {\"since\":\"yesterday\"}\n", "bad_request", "bad time \"yesterday\"");
	expect_refusal("replay f {\"after\":1,\"since\":\"1\"}\n", "bad_request", "exclude each other");
	expect_refusal("replay f {\"from\":1}\n", "bad_request", "unknown replay option \"from\"");
	expect_refusal("replay f {\"after\":3001}\n", "failed", "beyond the journal's newest row (seq 3000)");
	fx.journal_gone = true;
	expect_refusal("replay f\n", "failed", "is not open");
}
END_TEST

/* The feed's journal goes away (a reload removed the feed) mid-way: the
 * last line says so, and nothing after it. */
START_TEST(test_replay_journal_gone)
{
	size_t len;
	char *answer, *last;
	json_t *obj;

	fx.gone_after_bytes = 3 * CTL_REPLAY_CHUNK_BYTES;
	answer = exchange("replay f\n", true, &len);
	ck_assert_uint_gt(len, 2);
	answer[len - 1] = '\0';
	last = strrchr(answer, '\n');
	ck_assert_ptr_nonnull(last);
	obj = json_loads(last + 1, 0, NULL);
	ck_assert_msg(json_is_false(json_object_get(obj, "ok")), "last line: %s", last + 1);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(obj, "error")),
				     "was removed or its journal closed during the replay"));
	ck_assert_uint_lt(len, 3000 * 200);
	json_decref(obj);
	free(answer);
}
END_TEST

/* crdbfeedctl replay through the socket: the journal's lines only (not the
 * first and last lines), and the exit status and line of a failure. */
START_TEST(test_crdbfeedctl_through_socket)
{
	static const char *const after[] = { "f", "--after", "2950", "--table", "t", NULL };
	size_t len;
	char *answer, *mark = resolved_line(3000);
	struct textbuf want;

	ctl_args = after;
	answer = exchange(NULL, false, &len);
	textbuf_init(&want, 1u << 20);
	for (uint64_t seq = 2951; seq <= NROWS; seq++)
		textbuf_puts(&want, fx.lines[seq]);
	textbuf_puts(&want, mark);
	ck_assert_str_eq(answer, want.data);
	textbuf_free(&want);
	free(mark);
	free(answer);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control_replay");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_replay_whole_and_bounded);
	tcase_add_test(tc, test_replay_filters);
	tcase_add_test(tc, test_replay_refused);
	tcase_add_test(tc, test_replay_journal_gone);
	tcase_add_test(tc, test_crdbfeedctl_through_socket);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
