/*
 * sim_control.c: crdbsim's fault-injection control socket (--control PATH).
 * A Unix stream socket; each line is one command and gets one reply line,
 * "ok ..." or "error ...". The commands are listed in README.md.
 */
#include "config.h"

#include "sim.h"
#include "malform.h"
#include "sim_job.h"
#include "sim_webhook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_MAX_LINE 4096

static struct evconnlistener *control_listener;
static char *control_path;

static bool parse_int64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return false;
	*out = v;
	return true;
}

/* Every session with a running changefeed gets fn. */
static int each_feed_session(struct sim_server *srv,
			     void (*fn)(struct sim_session *))
{
	int n = 0;
	struct sim_session *s = srv->sessions;
	while (s) {
		/* fn may unlink s: take the next one first. */
		struct sim_session *next = sim_session_next(s);
		if (sim_session_has_feed(s)) {
			fn(s);
			n++;
		}
		s = next;
	}
	return n;
}

/* A query id as sim_new_id makes them: 32 lower-case hex characters. */
static bool is_query_id(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* malform [all|QUERYID] KIND [COUNT]: the next COUNT rows (default 1) of
 * any feed, or of the feed running as QUERYID, go out spoiled; COUNT 0
 * disarms. Replies how many are armed. */
static void run_malform(char *arg, char **save, char *reply, size_t len)
{
	const char *query_id = NULL;
	char *count = NULL;
	int64_t v = 1;

	if (arg && (!strcmp(arg, "all") || is_query_id(arg))) {
		query_id = strcmp(arg, "all") ? arg : NULL;
		arg = strtok_r(NULL, " \t", save);
	}
	if (arg)
		count = strtok_r(NULL, " \t", save);
	if (!arg || (count && (!parse_int64(count, &v) || v > 1000000)) ||
	    strtok_r(NULL, " \t", save)) {
		snprintf(reply, len,
			 "error usage: malform [all|QUERYID] KIND [COUNT]");
		return;
	}
	if (sim_malform_arm(query_id, arg, (unsigned)v) != 0) {
		snprintf(reply, len, "error unknown kind %.64s; kinds: %s", arg,
			 sim_malform_kinds());
		return;
	}
	snprintf(reply, len, "ok %u", sim_malform_pending());
}

/* webhook-fault status CODE N | timeout N | refuse N | clear: the next N
 * requests of every job's webhook sink (sim_webhook.h). */
static void run_webhook_fault(char *arg, char **save, char *reply, size_t len)
{
	char *a = strtok_r(NULL, " \t", save);
	char *b = a ? strtok_r(NULL, " \t", save) : NULL;
	int64_t code = 0, n = 0;
	bool extra = strtok_r(NULL, " \t", save) != NULL;

	if (arg && !strcmp(arg, "clear") && !a) {
		sim_webhook_fault(NULL, SIM_WEBHOOK_FAULT_CLEAR, 0, 0);
		snprintf(reply, len, "ok clear");
	} else if (arg && !strcmp(arg, "status") && a && b && !extra &&
		   parse_int64(a, &code) && code >= 100 && code <= 599 &&
		   parse_int64(b, &n) && n <= 1000000) {
		sim_webhook_fault(NULL, SIM_WEBHOOK_FAULT_STATUS, (int)code, (int)n);
		snprintf(reply, len, "ok status %d %d", (int)code, (int)n);
	} else if (arg && (!strcmp(arg, "timeout") || !strcmp(arg, "refuse")) &&
		   a && !b && parse_int64(a, &n) && n <= 1000000) {
		sim_webhook_fault(NULL, !strcmp(arg, "timeout") ?
				  SIM_WEBHOOK_FAULT_TIMEOUT :
				  SIM_WEBHOOK_FAULT_REFUSE, 0, (int)n);
		snprintf(reply, len, "ok %s %d", arg, (int)n);
	} else {
		snprintf(reply, len, "error usage: webhook-fault status CODE N | "
			 "timeout N | refuse N | clear");
	}
}

static void run_command(struct sim_server *srv, char *line, char *reply,
			size_t len)
{
	char *save = NULL;
	char *cmd = strtok_r(line, " \t", &save);
	char *arg = strtok_r(NULL, " \t", &save);
	int64_t v;

	if (!cmd) {
		snprintf(reply, len, "error empty command");
	} else if (!strcmp(cmd, "close-all")) {
		snprintf(reply, len, "ok %d",
			 each_feed_session(srv, sim_session_kill));
	} else if (!strcmp(cmd, "shutdown-feeds")) {
		snprintf(reply, len, "ok %d",
			 each_feed_session(srv, sim_session_shutdown));
	} else if (!strcmp(cmd, "fail")) {
		/* fail SQLSTATE MESSAGE...: the message is the rest. */
		const char *message = save ? save + strspn(save, " \t") : NULL;
		if (!arg || strlen(arg) != 5 || !message || !*message)
			snprintf(reply, len, "error usage: fail SQLSTATE MESSAGE");
		else
			snprintf(reply, len, "ok %d",
				 simfeed_fail_all(srv->engine, arg, message));
	} else if (!strcmp(cmd, "dup")) {
		if (!arg || !parse_int64(arg, &v) || v > 1000000)
			snprintf(reply, len, "error usage: dup N");
		else
			snprintf(reply, len, "ok %d",
				 simfeed_duplicate(srv->engine, (int)v));
	} else if (!strcmp(cmd, "malform")) {
		run_malform(arg, &save, reply, len);
	} else if (!strcmp(cmd, "stall")) {
		if (!arg || !parse_int64(arg, &v))
			snprintf(reply, len, "error usage: stall MS");
		else
			snprintf(reply, len, "ok %d",
				 simfeed_stall(srv->engine, v));
	} else if (!strcmp(cmd, "gc")) {
		if (!arg || !parse_int64(arg, &v))
			snprintf(reply, len, "error usage: gc AGE_MS");
		else
			snprintf(reply, len, "ok %d", simfeed_gc(srv->engine, v));
	} else if (!strcmp(cmd, "rangefeed")) {
		if (arg && !strcmp(arg, "on")) {
			sim_settings_set_rangefeed(srv, true);
			snprintf(reply, len, "ok on");
		} else if (arg && !strcmp(arg, "off")) {
			sim_settings_set_rangefeed(srv, false);
			snprintf(reply, len, "ok off");
		} else {
			snprintf(reply, len, "error usage: rangefeed on|off");
		}
	} else if (!strcmp(cmd, "drain")) {
		if (arg && !strcmp(arg, "on")) {
			srv->draining = true;
			snprintf(reply, len, "ok on");
		} else if (arg && !strcmp(arg, "off")) {
			srv->draining = false;
			snprintf(reply, len, "ok off");
		} else {
			snprintf(reply, len, "error usage: drain on|off");
		}
	} else if (!strcmp(cmd, "version")) {
		int ver = arg ? sim_parse_version_arg(arg) : -1;
		if (ver < 0) {
			snprintf(reply, len, "error usage: version X.Y.Z");
		} else {
			srv->default_version = ver;
			snprintf(reply, len, "ok %d", ver);
		}
	} else if (!strcmp(cmd, "jobs")) {
		char list[480];
		int n = sim_jobs_list(srv->jobs, list, sizeof list);
		snprintf(reply, len, "ok %d%s%s", n, n ? " " : "", list);
	} else if (!strcmp(cmd, "license")) {
		if (arg && (!strcmp(arg, "on") || !strcmp(arg, "off"))) {
			sim_jobs_set_licensed(srv->jobs, !strcmp(arg, "on"));
			snprintf(reply, len, "ok %s", arg);
		} else {
			snprintf(reply, len, "error usage: license on|off");
		}
	} else if (!strcmp(cmd, "webhook-dup")) {
		if (arg && (!strcmp(arg, "on") || !strcmp(arg, "off"))) {
			sim_jobs_set_duplicate_posts(srv->jobs, !strcmp(arg, "on"));
			snprintf(reply, len, "ok %s", arg);
		} else {
			snprintf(reply, len, "error usage: webhook-dup on|off");
		}
	} else if (!strcmp(cmd, "webhook-fault")) {
		run_webhook_fault(arg, &save, reply, len);
	} else if (!strcmp(cmd, "stats")) {
		unsigned feeds;
		unsigned sessions = sim_count_sessions(srv, &feeds);
		snprintf(reply, len,
			 "ok sessions=%u feeds=%u rows=%" PRIu64
			 " sessions_total=%" PRIu64 " rangefeed=%s version=%d"
			 " malform=%u",
			 sessions, feeds, srv->rows_sent, srv->sessions_total,
			 simfeed_engine_rangefeed(srv->engine) ? "on" : "off",
			 srv->default_version, sim_malform_pending());
	} else {
		snprintf(reply, len, "error unknown command: %.64s", cmd);
	}
}

static void control_read_cb(struct bufferevent *bev, void *arg)
{
	struct sim_server *srv = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF))) {
		char reply[512];
		char *logged = strdup(line);    /* run_command cuts line up */
		run_command(srv, line, reply, sizeof reply);
		sim_log("control: %s -> %s", logged ? logged : line, reply);
		free(logged);
		free(line);
		evbuffer_add_printf(bufferevent_get_output(bev), "%s\n", reply);
	}
	if (evbuffer_get_length(in) > CONTROL_MAX_LINE) {
		evbuffer_add_printf(bufferevent_get_output(bev),
				    "error line too long\n");
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

static void control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void control_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
			      struct sockaddr *sa, int socklen, void *arg)
{
	(void)sa;
	(void)socklen;
	struct bufferevent *bev = bufferevent_socket_new(
		evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, control_read_cb, NULL, control_event_cb, arg);
	bufferevent_enable(bev, EV_READ);
}

int sim_control_listen(struct sim_server *srv, const char *path)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		sim_log("control socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	unlink(path);   /* left by a killed crdbsim */
	control_listener = evconnlistener_new_bind(
		srv->base, control_accept_cb, srv,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
		(struct sockaddr *)&sun, sizeof sun);
	if (!control_listener) {
		sim_log("cannot listen on %s: %s", path, strerror(errno));
		return -1;
	}
	control_path = strdup(path);
	return 0;
}

void sim_control_close(void)
{
	if (control_listener)
		evconnlistener_free(control_listener);
	control_listener = NULL;
	if (control_path) {
		unlink(control_path);
		free(control_path);
		control_path = NULL;
	}
}
