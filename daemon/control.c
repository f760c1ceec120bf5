/*
 * control.c: the control socket (status, metrics, pause, resume, reload;
 * the protocol is in control.h) and the Prometheus endpoint (HTTP/1.0
 * "GET /metrics" on a Unix socket and/or a loopback TCP port).
 *
 * Everything runs on the daemon's one event loop and never blocks: a
 * connection reads one bounded request (a line of at most 1 KiB on the
 * control socket, an HTTP head of at most 8 KiB on the metrics endpoint),
 * builds the whole answer in a bounded buffer, writes it as the socket
 * takes it, and closes. A connection idle for CONN_IDLE_MS is closed, and
 * at most CONN_MAX connections per listener are served at once (more are
 * closed at accept) so that a stuck or hostile client costs little, and
 * clients of the control socket never starve the metrics scrapers (nor
 * the other way round).
 *
 * Who may use the control socket: the socket file's mode and group
 * (control_mode, control_group), and when an allow-list is configured
 * (control_allow_uids/gids) the peer's SO_PEERCRED credentials, checked at
 * accept like a sink's subscribers: a refused peer gets
 * {"ok":false,"error":...,"code":"permission_denied"} and a warning is
 * logged. The metrics socket file gets the same mode and group; metrics
 * are read-only and need no allow-list.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "control.h"

#include "clock.h"
#include "defer.h"
#include "log.h"
#include "unixsock.h"
#include "metrics.h"
#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_LINE_MAX 1024        /* a control request line, bytes */
#define HTTP_HEAD_MAX 8192           /* an HTTP request head, bytes */
#define RESPONSE_MAX (16u << 20)     /* any answer, bytes */
#define CONN_IDLE_MS 10000
#define CONN_LINGER_MS 2000          /* waiting for the client's EOF */
#define CONN_LINGER_BYTES 65536      /* read and dropped while lingering */
#define CONN_MAX 32                  /* per listener, served at once */
#define ACCEPT_RETRY_MS 1000
#define CONTROL_WHO "control"

enum listener_kind {
	LISTEN_CONTROL,       /* the control socket */
	LISTEN_METRICS,       /* HTTP on a Unix socket */
	LISTEN_METRICS_TCP    /* HTTP on a loopback TCP port */
};

struct listener {
	struct control *ctl;
	enum listener_kind kind;
	int fd;
	struct event *ev;
	struct event *retry;  /* accepts paused after EMFILE */
	char *where;          /* the configured path or host:port */
	char *path;           /* a socket file we made (unlinked at close) */
	bool activated;       /* handed over by systemd: never unlinked */
};

enum conn_state {
	CONN_READING,     /* waiting for the request */
	CONN_WRITING,     /* the answer is being written */
	CONN_LINGERING,   /* answer sent, our side shut down: dropping what
			     the client still sends until its EOF, so that
			     closing never resets the connection under a
			     client that has not read the answer yet */
	CONN_CLOSED       /* waiting for the deferred free */
};

struct conn {
	TAILQ_ENTRY(conn) link;
	struct control *ctl;
	enum listener_kind kind;
	enum conn_state state;
	int fd;
	struct event *read_ev;
	struct event *write_ev;
	struct event *idle;
	char who[96];            /* "control client pid=1 uid=0" */
	bool have_cred;
	struct ucred cred;
	char in[HTTP_HEAD_MAX + 1];
	size_t in_len;
	size_t lingered;         /* bytes dropped while lingering */
	struct textbuf out;
	size_t out_off;
};

TAILQ_HEAD(conn_list, conn);

struct control {
	struct event_base *base;
	const struct config *cfg;
	const struct control_ops *ops;
	void *arg;
	int (*activated_fd)(const char *name);
	struct listener *listeners[3];   /* indexed by enum listener_kind */
	struct conn_list conns;
	size_t nconns[3];                /* open, per enum listener_kind */
	bool over_limit[3];              /* warned about CONN_MAX */
};

static const char *const listener_names[] = {
	[LISTEN_CONTROL] = "control socket",
	[LISTEN_METRICS] = "metrics socket",
	[LISTEN_METRICS_TCP] = "metrics port",
};

/* ---- connections -------------------------------------------------------- */

static void conn_free(void *ptr)
{
	struct conn *conn = ptr;

	textbuf_free(&conn->out);
	free(conn);
}

static void conn_close(struct conn *conn)
{
	struct control *ctl = conn->ctl;

	if (conn->state == CONN_CLOSED)
		return;
	conn->state = CONN_CLOSED;
	if (conn->read_ev)
		event_free(conn->read_ev);
	if (conn->write_ev)
		event_free(conn->write_ev);
	if (conn->idle)
		event_free(conn->idle);
	conn->read_ev = conn->write_ev = conn->idle = NULL;
	close(conn->fd);
	conn->fd = -1;
	TAILQ_REMOVE(&ctl->conns, conn, link);
	ctl->nconns[conn->kind]--;
	defer_free(conn_free, conn);
}

static void conn_touch(struct conn *conn)
{
	int ms = conn->state == CONN_LINGERING ? CONN_LINGER_MS : CONN_IDLE_MS;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(conn->idle, &tv);
}

/* The answer is out: shut our side and wait (briefly) for the client's. */
static void conn_linger(struct conn *conn)
{
	if (shutdown(conn->fd, SHUT_WR) || event_add(conn->read_ev, NULL)) {
		conn_close(conn);
		return;
	}
	conn->state = CONN_LINGERING;
	conn_touch(conn);
}

/* Write what the socket takes; linger once everything is out. */
static void conn_flush(struct conn *conn)
{
	while (conn->out_off < conn->out.len) {
		/* MSG_NOSIGNAL: a client gone early is an error here, never
		 * a SIGPIPE for the whole daemon. */
		ssize_t n = send(conn->fd, conn->out.data + conn->out_off,
				 conn->out.len - conn->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(conn->write_ev, NULL);
				conn_touch(conn);
				return;
			}
			log_debug(CONTROL_WHO, "%s: write: %s", conn->who, strerror(errno));
			conn_close(conn);
			return;
		}
		conn->out_off += (size_t)n;
	}
	conn_linger(conn);
}

static void on_conn_writable(evutil_socket_t fd, short what, void *arg)
{
	conn_flush(arg);
}

static void on_conn_idle(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn = arg;

	if (conn->state != CONN_LINGERING)
		log_debug(CONTROL_WHO, "%s: idle for %d ms, closed", conn->who, CONN_IDLE_MS);
	conn_close(conn);
}

/* Start writing conn->out (already filled); reading stops. */
static void conn_respond(struct conn *conn)
{
	if (conn->read_ev)
		event_del(conn->read_ev);
	conn->state = CONN_WRITING;
	conn_flush(conn);
}

/* ---- control answers ----------------------------------------------------- */

/* One JSON value as the whole answer, with a newline. */
static void answer_json(struct conn *conn, json_t *value)
{
	char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;

	textbuf_free(&conn->out);
	textbuf_init(&conn->out, RESPONSE_MAX);
	if (text) {
		textbuf_puts(&conn->out, text);
		textbuf_puts(&conn->out, "\n");
		free(text);
	}
	if (!text || conn->out.failed) {
		textbuf_free(&conn->out);
		textbuf_init(&conn->out, RESPONSE_MAX);
		textbuf_puts(&conn->out,
			     "{\"ok\":false,\"error\":\"out of memory or answer too large\",\"code\":\"failed\"}\n");
	}
	json_decref(value);
}

/*
 * {"ok":false,"error":message,"code":code}. code is for programs
 * (crdbfeedctl picks its exit status by it): permission_denied,
 * unknown_feed, unknown_command, bad_request, failed.
 */
static void answer_error(struct conn *conn, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void answer_error(struct conn *conn, const char *code, const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	answer_json(conn, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", message,
				    "code", code));
}

static void answer_ok(struct conn *conn)
{
	answer_json(conn, json_pack("{s:b}", "ok", 1));
}

/* A string, or JSON null when s is empty. */
static json_t *string_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *hlc_or_null(crdb_hlc hlc)
{
	char text[CRDB_HLC_BUFSIZE];

	if (crdb_hlc_is_zero(hlc))
		return json_null();
	crdb_hlc_format(hlc, text);
	return json_string(text);
}

static double seconds_since(int64_t now, int64_t then_ms)
{
	return now > then_ms ? (double)(now - then_ms) / 1e3 : 0.0;
}

static json_t *feed_status(const struct daemon_view *view,
			   const struct feed_view *feed, int64_t now)
{
	const struct feed_config *fcfg = feed->cfg;
	const struct feed_stats *st = &feed->stats;
	json_t *obj, *counters, *reconnects, *tables;
	uint64_t subscribers = 0;
	char *dsn;

	for (size_t i = 0; i < view->nsinks; i++)
		if (view->sinks[i].live && strcmp(view->sinks[i].cfg->feed, feed->name) == 0)
			subscribers += view->sinks[i].stats.subscribers;
	reconnects = json_object();
	for (int r = 0; reconnects && r < RECONNECT_NREASONS; r++)
		json_object_set_new(reconnects,
				    reconnect_reason_name((enum reconnect_reason)r),
				    json_integer((json_int_t)st->reconnects[r]));
	counters = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*}",
			     "rows", (json_int_t)st->rows,
			     "resolved", (json_int_t)st->resolved,
			     "bytes_in", (json_int_t)st->bytes_in,
			     "lines_out", (json_int_t)st->lines_out,
			     "bytes_out", (json_int_t)st->bytes_out,
			     "bad_rows", (json_int_t)st->bad_rows,
			     "checkpoint_writes", (json_int_t)st->checkpoint_writes,
			     "checkpoint_errors", (json_int_t)st->checkpoint_errors,
			     "reconnects", reconnects);
	tables = json_array();
	for (size_t i = 0; tables && fcfg && i < fcfg->ntables; i++)
		json_array_append_new(tables, json_string(fcfg->tables[i]));
	dsn = fcfg && fcfg->dsn ? config_dsn_mask(fcfg->dsn) : NULL;
	obj = json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o*, s:o*, s:o}",
			"name", feed->name,
			"state", feed->state,
			"paused", st->paused,
			"cursor", hlc_or_null(st->checkpoint),
			"resolved", hlc_or_null(st->last_resolved),
			"lag", crdb_hlc_is_zero(st->last_resolved) ? json_null() :
				json_real(seconds_since(now, st->last_resolved.wall / 1000000)),
			"checkpoint_age", crdb_hlc_is_zero(st->checkpoint) ? json_null() :
				json_real(seconds_since(now, st->checkpoint.wall / 1000000)),
			"state_seconds", st->state_since ?
				json_real(seconds_since(now, st->state_since)) : json_null(),
			"last_error", string_or_null(st->last_error),
			"subscribers", (json_int_t)subscribers,
			"counters", counters,
			"tables", tables,
			"dsn", string_or_null(dsn));
	free(dsn);
	return obj;
}

static json_t *sink_status(const struct sink_view *sink)
{
	const struct sink_config *scfg = sink->cfg;
	const struct sink_stats *st = &sink->stats;

	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "name", sink->name,
			 "feed", scfg->feed,
			 "type", sink_type_name(scfg->type),
			 "path", string_or_null(scfg->path),
			 "policy", slow_policy_name(scfg->policy),
			 "activated", st->activated,
			 "subscribers", (json_int_t)st->subscribers,
			 "queued", (json_int_t)st->queued_bytes,
			 "max_queued", (json_int_t)st->max_queued_bytes,
			 "buffer", (json_int_t)st->buffer_bytes,
			 "accepted", (json_int_t)st->accepted,
			 "refused", (json_int_t)st->refused,
			 "dropped", (json_int_t)st->dropped,
			 "disconnected_slow", (json_int_t)st->disconnected_slow,
			 "disconnected_other", (json_int_t)st->disconnected_other);
}

static void cmd_status(struct conn *conn, const struct daemon_view *view)
{
	int64_t now = clock_wall_ms();
	json_t *feeds = json_array(), *sinks = json_array(), *status;

	for (size_t i = 0; feeds && i < view->nfeeds; i++) {
		if (view->feeds[i].live)
			json_array_append_new(feeds, feed_status(view, &view->feeds[i], now));
		else
			json_array_append_new(feeds, json_pack("{s:s, s:s, s:s}",
				"name", view->feeds[i].name, "state", "failed",
				"last_error", "the feed could not be created"));
	}
	for (size_t i = 0; sinks && i < view->nsinks; i++) {
		if (view->sinks[i].live)
			json_array_append_new(sinks, sink_status(&view->sinks[i]));
		else
			json_array_append_new(sinks, json_pack("{s:s, s:s, s:s}",
				"name", view->sinks[i].name,
				"feed", view->sinks[i].cfg->feed,
				"error", "the sink could not be opened"));
	}
	status = json_pack("{s:b, s:s, s:I, s:I, s:f, s:b, s:b, s:o*, s:o*, s:o*}",
			   "ok", 1,
			   "version", view->version ? view->version : "",
			   "pid", (json_int_t)getpid(),
			   "started_at", (json_int_t)view->started_at,
			   "uptime", seconds_since(now, view->started_at),
			   "ready", view->ready,
			   "shutting_down", view->shutting_down,
			   "config", string_or_null(view->cfg->path),
			   "feeds", feeds,
			   "sinks", sinks);
	answer_json(conn, status);
}

static void cmd_metrics(struct conn *conn, const struct daemon_view *view)
{
	textbuf_free(&conn->out);
	textbuf_init(&conn->out, RESPONSE_MAX);
	if (metrics_render(&conn->out, view, clock_wall_ms(), NULL)) {
		log_warning(CONTROL_WHO, "%s: the metrics did not fit in %u bytes",
			    conn->who, RESPONSE_MAX);
		answer_error(conn, "failed", "out of memory or metrics too large");
	}
}

/* A client's word, safe to quote in an answer or a log line: printable
 * ASCII only (other bytes become '?'), at most outlen - 1 bytes. */
static void printable(char *out, size_t outlen, const char *in)
{
	size_t n = 0;

	for (const char *p = in; *p && n + 1 < outlen; p++)
		out[n++] = (*p >= 0x20 && *p < 0x7f && *p != '"') ? *p : '?';
	out[n] = '\0';
}

/* The feed named name in view; NULL when none is configured. */
static const struct feed_view *find_feed(const struct daemon_view *view,
					 const char *name)
{
	for (size_t i = 0; i < view->nfeeds; i++)
		if (strcmp(view->feeds[i].name, name) == 0)
			return &view->feeds[i];
	return NULL;
}

static void cmd_pause_resume(struct conn *conn, const struct daemon_view *view,
			     const char *name, bool pause)
{
	struct control *ctl = conn->ctl;
	const char *verb = pause ? "pause" : "resume";
	const struct feed_view *feed;
	char why[160];

	if (!*name) {
		answer_error(conn, "bad_request", "usage: %s FEED", verb);
		return;
	}
	feed = find_feed(view, name);
	if (!feed || !feed->live || !ctl->ops->pause) {
		char shown[128];

		printable(shown, sizeof(shown), name);
		answer_error(conn, "unknown_feed", feed ?
			     "feed \"%s\" could not be created" :
			     "unknown feed \"%s\"", shown);
		return;
	}
	if (conn->have_cred)
		snprintf(why, sizeof(why), "paused by an operator (uid %ld, pid %ld)",
			 (long)conn->cred.uid, (long)conn->cred.pid);
	else
		snprintf(why, sizeof(why), "paused by an operator");
	if (ctl->ops->pause(ctl->arg, name, pause, why)) {
		answer_error(conn, "failed", pause ?
			     "feed \"%.200s\" is stopping and cannot be paused" :
			     "feed \"%.200s\" is not paused", name);
		return;
	}
	log_notice(CONTROL_WHO, "%s: %s feed %s", conn->who, verb, name);
	answer_ok(conn);
}

static void cmd_reload(struct conn *conn)
{
	struct control *ctl = conn->ctl;
	char errbuf[2048] = "";

	log_notice(CONTROL_WHO, "%s: reload", conn->who);
	if (!ctl->ops->reload) {
		answer_error(conn, "failed", "reload is not available");
		return;
	}
	if (ctl->ops->reload(ctl->arg, errbuf, sizeof(errbuf))) {
		answer_error(conn, "failed", "reload failed: %s",
			     *errbuf ? errbuf : "see the daemon's log");
		return;
	}
	answer_ok(conn);
}

/* Run one control request line (without its newline). */
static void control_command(struct conn *conn, char *line)
{
	struct control *ctl = conn->ctl;
	struct daemon_view view;
	size_t len = strlen(line);
	char *arg;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
		       line[len - 1] == '\t'))
		line[--len] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	arg = line + strcspn(line, " \t");
	if (*arg) {
		*arg++ = '\0';
		arg += strspn(arg, " \t");
	}
	memset(&view, 0, sizeof(view));
	ctl->ops->view(ctl->arg, &view);
	if (!view.cfg) {
		answer_error(conn, "failed", "the daemon has no configuration yet");
	} else if (strcmp(line, "status") == 0 && !*arg) {
		cmd_status(conn, &view);
	} else if (strcmp(line, "metrics") == 0 && !*arg) {
		cmd_metrics(conn, &view);
	} else if (strcmp(line, "pause") == 0) {
		cmd_pause_resume(conn, &view, arg, true);
	} else if (strcmp(line, "resume") == 0) {
		cmd_pause_resume(conn, &view, arg, false);
	} else if (strcmp(line, "reload") == 0 && !*arg) {
		cmd_reload(conn);
	} else if (!*line) {
		answer_error(conn, "unknown_command",
			     "empty request (expected status, metrics, pause FEED, resume FEED, reload)");
	} else {
		char shown[64];

		printable(shown, sizeof(shown), line);
		answer_error(conn, "unknown_command",
			     "unknown command \"%s\"%s (expected status, metrics, pause FEED, resume FEED, reload)",
			     shown, *arg ? " or unexpected argument" : "");
	}
	daemon_view_release(&view);
	conn_respond(conn);
}

/* ---- HTTP (metrics) ------------------------------------------------------- */

static void http_answer(struct conn *conn, const char *status,
			const char *content_type, const char *body, size_t len,
			bool head_only)
{
	struct textbuf out;

	textbuf_init(&out, RESPONSE_MAX + 1024);
	textbuf_printf(&out, "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		       status, content_type, len);
	if (!head_only)
		textbuf_append(&out, body, len);
	textbuf_free(&conn->out);
	conn->out = out;
}

static void http_error(struct conn *conn, const char *status, const char *text)
{
	http_answer(conn, status, "text/plain; charset=utf-8", text, strlen(text),
		    false);
}

/* Parse the request line of the head in conn->in and answer it. */
static void http_request(struct conn *conn)
{
	struct control *ctl = conn->ctl;
	char *line = conn->in, *method, *target, *version, *end;
	struct daemon_view view;
	struct textbuf body;
	bool head_only;

	conn->in[conn->in_len] = '\0';
	end = line + strcspn(line, "\r\n");
	*end = '\0';
	method = line;
	target = strchr(method, ' ');
	version = target ? strchr(target + 1, ' ') : NULL;
	if (!target || !version || strncmp(version + 1, "HTTP/1.", 7) != 0) {
		http_error(conn, "400 Bad Request", "bad request line\n");
		goto out;
	}
	*target++ = '\0';
	*version++ = '\0';
	head_only = strcmp(method, "HEAD") == 0;
	if (strcmp(method, "GET") != 0 && !head_only) {
		http_error(conn, "405 Method Not Allowed", "only GET and HEAD\n");
		goto out;
	}
	target[strcspn(target, "?")] = '\0';
	if (strcmp(target, "/metrics") != 0) {
		http_error(conn, "404 Not Found", "not found: the metrics are at /metrics\n");
		goto out;
	}
	memset(&view, 0, sizeof(view));
	ctl->ops->view(ctl->arg, &view);
	if (!view.cfg) {
		daemon_view_release(&view);
		http_error(conn, "503 Service Unavailable", "no configuration yet\n");
		goto out;
	}
	textbuf_init(&body, RESPONSE_MAX);
	if (metrics_render(&body, &view, clock_wall_ms(), NULL)) {
		log_warning(CONTROL_WHO, "%s: the metrics did not fit in %u bytes",
			    conn->who, RESPONSE_MAX);
		http_error(conn, "500 Internal Server Error",
			   "out of memory or metrics too large\n");
	} else {
		http_answer(conn, "200 OK", METRICS_CONTENT_TYPE, body.data,
			    body.len, head_only);
	}
	textbuf_free(&body);
	daemon_view_release(&view);
out:
	if (conn->out.failed) {
		textbuf_free(&conn->out);
		conn_close(conn);
		return;
	}
	conn_respond(conn);
}

/* ---- reading requests ----------------------------------------------------- */

/* Is the request complete? A control line ends with '\n', an HTTP head
 * with an empty line. */
static bool request_complete(struct conn *conn, size_t *line_len)
{
	if (conn->kind == LISTEN_CONTROL) {
		char *nl = memchr(conn->in, '\n', conn->in_len);

		if (!nl)
			return false;
		*line_len = (size_t)(nl - conn->in);
		return true;
	}
	conn->in[conn->in_len] = '\0';
	return strstr(conn->in, "\r\n\r\n") || strstr(conn->in, "\n\n");
}

static void request_ready(struct conn *conn, size_t line_len)
{
	if (conn->kind == LISTEN_CONTROL) {
		conn->in[line_len] = '\0';
		if (strlen(conn->in) != line_len) {
			answer_error(conn, "bad_request", "request line holds a NUL byte");
			conn_respond(conn);
			return;
		}
		control_command(conn, conn->in);
	} else {
		http_request(conn);
	}
}

static void on_conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn = arg;
	size_t limit = conn->kind == LISTEN_CONTROL ? CONTROL_LINE_MAX : HTTP_HEAD_MAX;
	size_t line_len = 0;
	ssize_t n;

	if (conn->state == CONN_LINGERING) {
		char drop[4096];

		n = read(fd, drop, sizeof(drop));
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0 || (conn->lingered += (size_t)n) > CONN_LINGER_BYTES)
			conn_close(conn);
		return;
	}
	if (conn->state != CONN_READING)
		return;
	n = read(fd, conn->in + conn->in_len, limit - conn->in_len);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		log_debug(CONTROL_WHO, "%s: read: %s", conn->who, strerror(errno));
		conn_close(conn);
		return;
	}
	conn_touch(conn);
	if (n == 0) {
		/* End of input: a control line without its newline still
		 * counts (printf status | socat); an empty one is nothing. */
		if (!conn->in_len) {
			conn_close(conn);
			return;
		}
		if (conn->kind == LISTEN_CONTROL) {
			request_ready(conn, conn->in_len);
		} else {
			http_request(conn);
		}
		return;
	}
	conn->in_len += (size_t)n;
	if (request_complete(conn, &line_len)) {
		request_ready(conn, line_len);
		return;
	}
	if (conn->in_len == limit) {
		if (conn->kind == LISTEN_CONTROL) {
			answer_error(conn, "bad_request", "request line longer than %d bytes",
				     CONTROL_LINE_MAX);
			conn_respond(conn);
		} else {
			http_error(conn, "431 Request Header Fields Too Large",
				   "request head too large\n");
			conn_respond(conn);
		}
	}
}

/* ---- accepting ---------------------------------------------------------- */

/* The control allow-list: both lists empty = everyone who can open the
 * socket file; otherwise the uid or the primary gid must be listed. */
static bool peer_allowed(const struct config *cfg, const struct conn *conn)
{
	return unixsock_peer_allowed(conn->have_cred ? &conn->cred : NULL,
				     cfg->control_allow_uids, cfg->ncontrol_allow_uids,
				     cfg->control_allow_gids, cfg->ncontrol_allow_gids);
}

static struct conn *conn_new(struct control *ctl, enum listener_kind kind, int fd)
{
	struct conn *conn = calloc(1, sizeof(*conn));
	socklen_t len = sizeof(conn->cred);

	if (!conn)
		return NULL;
	conn->ctl = ctl;
	conn->kind = kind;
	conn->fd = fd;
	conn->state = CONN_READING;
	textbuf_init(&conn->out, RESPONSE_MAX);
	if (kind != LISTEN_METRICS_TCP &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &conn->cred, &len) == 0) {
		conn->have_cred = true;
		snprintf(conn->who, sizeof(conn->who), "%s client pid=%ld uid=%ld gid=%ld",
			 kind == LISTEN_CONTROL ? "control" : "metrics",
			 (long)conn->cred.pid, (long)conn->cred.uid, (long)conn->cred.gid);
	} else {
		snprintf(conn->who, sizeof(conn->who), "%s client fd=%d",
			 kind == LISTEN_CONTROL ? "control" : "metrics", fd);
	}
	conn->read_ev = event_new(ctl->base, fd, EV_READ | EV_PERSIST,
				  on_conn_readable, conn);
	conn->write_ev = event_new(ctl->base, fd, EV_WRITE, on_conn_writable, conn);
	conn->idle = evtimer_new(ctl->base, on_conn_idle, conn);
	if (!conn->read_ev || !conn->write_ev || !conn->idle ||
	    event_add(conn->read_ev, NULL)) {
		if (conn->read_ev)
			event_free(conn->read_ev);
		if (conn->write_ev)
			event_free(conn->write_ev);
		if (conn->idle)
			event_free(conn->idle);
		free(conn);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&ctl->conns, conn, link);
	ctl->nconns[kind]++;
	conn_touch(conn);
	return conn;
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct listener *lst = arg;

	event_add(lst->ev, NULL);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct listener *lst = arg;
	struct control *ctl = lst->ctl;

	for (int i = 0; i < 16; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *conn;

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				struct timeval tv = { ACCEPT_RETRY_MS / 1000,
						      (ACCEPT_RETRY_MS % 1000) * 1000 };

				log_warning(CONTROL_WHO, "%s: accept: %s; pausing accepts for %d ms",
					    listener_names[lst->kind], strerror(errno),
					    ACCEPT_RETRY_MS);
				event_del(lst->ev);
				evtimer_add(lst->retry, &tv);
			}
			return;
		}
		if (ctl->nconns[lst->kind] >= CONN_MAX) {
			/* Closing at once keeps the backlog moving; the
			 * client sees EOF and may retry. */
			if (!ctl->over_limit[lst->kind])
				log_warning(CONTROL_WHO, "%s: %d connections already open: closing new ones until some finish",
					    listener_names[lst->kind], CONN_MAX);
			ctl->over_limit[lst->kind] = true;
			close(cfd);
			continue;
		}
		ctl->over_limit[lst->kind] = false;
		conn = conn_new(ctl, lst->kind, cfd);
		if (!conn) {
			log_error(CONTROL_WHO, "out of memory accepting a connection");
			close(cfd);
			return;
		}
		if (lst->kind == LISTEN_CONTROL && !peer_allowed(ctl->cfg, conn)) {
			log_warning(CONTROL_WHO, "%s refused: not in the control allow-list",
				    conn->who);
			if (conn->have_cred)
				answer_error(conn, "permission_denied",
					     "permission denied: uid %ld gid %ld is not allowed to use the control socket",
					     (long)conn->cred.uid, (long)conn->cred.gid);
			else
				answer_error(conn, "permission_denied",
					     "permission denied: the peer's credentials are unknown");
			conn_respond(conn);
			continue;
		}
		log_debug(CONTROL_WHO, "%s connected", conn->who);
	}
}

/* ---- listeners ------------------------------------------------------------ */

/* Give path the configured group and mode. */
static int socket_file_access(const char *path, const struct config *cfg,
			      char *errbuf, size_t errlen)
{
	return unixsock_set_access(path, cfg->control_mode ? cfg->control_mode : 0660,
				   cfg->control_group, errbuf, errlen);
}

/* Bind and listen on a Unix socket file (unixsock.c: a stale file is
 * replaced, anything else is left alone). */
static int listen_unix(const char *path, const struct config *cfg,
		       char *errbuf, size_t errlen)
{
	return unixsock_listen(CONTROL_WHO, path,
			       cfg->control_mode ? cfg->control_mode : 0660,
			       cfg->control_group, 64, errbuf, errlen);
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

/* "127.0.0.1:9187" or "[::1]:9187": loopback only, like the config check. */
static int listen_tcp(const char *where, char *errbuf, size_t errlen)
{
	char host[128];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int fd = -1, one = 1, rc;

	if (where[0] == '[') {
		const char *close_bracket = strchr(where, ']');

		if (!close_bracket || close_bracket[1] != ':' ||
		    (size_t)(close_bracket - where - 1) >= sizeof(host))
			goto bad;
		memcpy(host, where + 1, (size_t)(close_bracket - where - 1));
		host[close_bracket - where - 1] = '\0';
		port = close_bracket + 2;
	} else {
		const char *colon = strrchr(where, ':');

		if (!colon || (size_t)(colon - where) >= sizeof(host))
			goto bad;
		memcpy(host, where, (size_t)(colon - where));
		host[colon - where] = '\0';
		port = colon + 1;
	}
	if (!*host || !*port)
		goto bad;
	/* The config check lets "localhost" through; never ask a resolver. */
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(errbuf, errlen, "metrics_listen %s: %s", where, gai_strerror(rc));
		return -1;
	}
	if (!is_loopback(res->ai_addr)) {
		snprintf(errbuf, errlen, "metrics_listen %s is not a loopback address", where);
		freeaddrinfo(res);
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64)) {
		snprintf(errbuf, errlen, "listen on %s: %s", where, strerror(errno));
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
bad:
	snprintf(errbuf, errlen, "metrics_listen %s is not HOST:PORT or [HOST]:PORT", where);
	return -1;
}

/* A socket handed over by systemd: our own non-blocking duplicate of a
 * listening stream socket (AF_UNIX for the control socket). */
static int adopt_fd(int fd, enum listener_kind kind, char *errbuf, size_t errlen)
{
	int type = 0, listening = 0, domain = 0, own, flags;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len)) ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))) {
		snprintf(errbuf, errlen, "the activated socket: %s", strerror(errno));
		return -1;
	}
	if (type != SOCK_STREAM || !listening ||
	    (kind == LISTEN_CONTROL && domain != AF_UNIX) ||
	    (domain != AF_UNIX && domain != AF_INET && domain != AF_INET6)) {
		snprintf(errbuf, errlen, "the activated %s socket is not a listening %s stream socket",
			 kind == LISTEN_CONTROL ? "control" : "metrics",
			 kind == LISTEN_CONTROL ? "AF_UNIX" : "Unix or TCP");
		return -1;
	}
	own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (own < 0) {
		snprintf(errbuf, errlen, "dup: %s", strerror(errno));
		return -1;
	}
	flags = fcntl(own, F_GETFL);
	if (flags < 0 || fcntl(own, F_SETFL, flags | O_NONBLOCK)) {
		snprintf(errbuf, errlen, "fcntl: %s", strerror(errno));
		close(own);
		return -1;
	}
	return own;
}

static int socket_domain(int fd)
{
	int domain = 0;
	socklen_t len = sizeof(domain);

	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) ? -1 : domain;
}

static void listener_free(struct listener *lst)
{
	if (!lst)
		return;
	if (lst->ev)
		event_free(lst->ev);
	if (lst->retry)
		event_free(lst->retry);
	if (lst->fd >= 0)
		close(lst->fd);
	if (lst->path)
		unlink(lst->path);
	free(lst->path);
	free(lst->where);
	free(lst);
}

/* A listener on fd (owned from now on). */
static struct listener *listener_new(struct control *ctl, enum listener_kind kind,
				     int fd, const char *where, bool made_file,
				     bool activated, char *errbuf, size_t errlen)
{
	struct listener *lst = calloc(1, sizeof(*lst));

	if (!lst || !(lst->where = strdup(where)) ||
	    (made_file && !(lst->path = strdup(where)))) {
		snprintf(errbuf, errlen, "out of memory");
		if (made_file)
			unlink(where);
		close(fd);
		if (lst)
			free(lst->where);
		free(lst);
		return NULL;
	}
	lst->ctl = ctl;
	lst->kind = kind;
	lst->fd = fd;
	lst->activated = activated;
	lst->ev = event_new(ctl->base, fd, EV_READ | EV_PERSIST, on_accept, lst);
	lst->retry = evtimer_new(ctl->base, on_accept_retry, lst);
	if (!lst->ev || !lst->retry || event_add(lst->ev, NULL)) {
		snprintf(errbuf, errlen, "cannot watch the %s", listener_names[kind]);
		listener_free(lst);
		return NULL;
	}
	if (!activated)
		log_info(CONTROL_WHO, "%s listening on %s", listener_names[kind], where);
	else
		log_info(CONTROL_WHO, "%s: using the socket passed by systemd as \"%s\"%s%s",
			 listener_names[kind],
			 kind == LISTEN_CONTROL ? "control" : "metrics",
			 *where ? " instead of " : "", where);
	return lst;
}

/* Open the listener of one kind at where (a path or host:port). */
static struct listener *listener_open(struct control *ctl, enum listener_kind kind,
				      const char *where, int activated,
				      char *errbuf, size_t errlen)
{
	int fd;

	if (activated >= 0) {
		fd = adopt_fd(activated, kind, errbuf, errlen);
		if (fd < 0)
			return NULL;
		return listener_new(ctl, kind, fd, where, false, true, errbuf, errlen);
	}
	if (kind == LISTEN_METRICS_TCP)
		fd = listen_tcp(where, errbuf, errlen);
	else
		fd = listen_unix(where, ctl->cfg, errbuf, errlen);
	if (fd < 0)
		return NULL;
	return listener_new(ctl, kind, fd, where, kind != LISTEN_METRICS_TCP,
			    false, errbuf, errlen);
}

/* What cfg asks for each kind (NULL = off). */
static const char *configured_where(const struct config *cfg, enum listener_kind kind)
{
	switch (kind) {
	case LISTEN_CONTROL:
		return cfg->control_socket;
	case LISTEN_METRICS:
		return cfg->metrics_socket;
	default:
		return cfg->metrics_listen;
	}
}

/*
 * The socket systemd passed for kind, or -1. One "metrics" socket may be
 * passed: a Unix one stands in for metrics_socket, a TCP one for
 * metrics_listen.
 */
static int activated_for(struct control *ctl, enum listener_kind kind)
{
	int fd, domain;

	if (!ctl->activated_fd)
		return -1;
	fd = ctl->activated_fd(kind == LISTEN_CONTROL ? "control" : "metrics");
	if (fd < 0 || kind == LISTEN_CONTROL)
		return fd;
	domain = socket_domain(fd);
	if (kind == LISTEN_METRICS)
		return domain == AF_UNIX ? fd : -1;
	return domain == AF_INET || domain == AF_INET6 ? fd : -1;
}

static bool same_where(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

struct control *control_open(struct event_base *base, const struct config *cfg,
			     const struct control_ops *ops, void *arg,
			     int (*activated_fd)(const char *name),
			     char *errbuf, size_t errlen)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	if (!ctl) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	ctl->base = base;
	ctl->cfg = cfg;
	ctl->ops = ops;
	ctl->arg = arg;
	ctl->activated_fd = activated_fd;
	TAILQ_INIT(&ctl->conns);
	for (int kind = LISTEN_CONTROL; kind <= LISTEN_METRICS_TCP; kind++) {
		const char *where = configured_where(cfg, (enum listener_kind)kind);
		int activated = activated_for(ctl, (enum listener_kind)kind);

		/* A socket systemd passed by name is used even when the
		 * file does not name it: the unit asked for it. */
		if (!where)
			where = "";
		if (!*where && activated < 0)
			continue;
		ctl->listeners[kind] = listener_open(ctl, (enum listener_kind)kind, where,
						     activated, errbuf, errlen);
		if (!ctl->listeners[kind]) {
			control_close(ctl);
			return NULL;
		}
	}
	return ctl;
}

int control_reconfigure(struct control *ctl, const struct config *cfg,
			char *errbuf, size_t errlen)
{
	const struct config *old_cfg = ctl->cfg;
	struct listener *fresh[3] = { NULL, NULL, NULL };
	bool replace[3] = { false, false, false };

	/* Open every changed listener first: on any failure the old ones
	 * all stay and the new config is not taken. */
	ctl->cfg = cfg;
	for (int kind = LISTEN_CONTROL; kind <= LISTEN_METRICS_TCP; kind++) {
		struct listener *old = ctl->listeners[kind];
		const char *where = configured_where(cfg, (enum listener_kind)kind);

		if (where && !*where)
			where = NULL;
		if (old && (old->activated || same_where(old->where, where)))
			continue;
		if (!old && !where)
			continue;
		replace[kind] = true;
		if (!where)
			continue;
		fresh[kind] = listener_open(ctl, (enum listener_kind)kind, where,
					    activated_for(ctl, (enum listener_kind)kind),
					    errbuf, errlen);
		if (!fresh[kind]) {
			for (int k = LISTEN_CONTROL; k < kind; k++)
				listener_free(fresh[k]);
			ctl->cfg = old_cfg;
			return -1;
		}
	}
	for (int kind = LISTEN_CONTROL; kind <= LISTEN_METRICS_TCP; kind++) {
		struct listener *lst;

		if (replace[kind]) {
			if (ctl->listeners[kind])
				log_info(CONTROL_WHO, "%s on %s closed",
					 listener_names[kind], ctl->listeners[kind]->where);
			listener_free(ctl->listeners[kind]);
			ctl->listeners[kind] = fresh[kind];
			continue;
		}
		/* Kept: a file we made takes the new mode and group. */
		lst = ctl->listeners[kind];
		if (lst && lst->path &&
		    (old_cfg->control_mode != cfg->control_mode ||
		     !same_where(old_cfg->control_group, cfg->control_group)) &&
		    socket_file_access(lst->path, cfg, errbuf, errlen))
			log_warning(CONTROL_WHO, "%s: %s", listener_names[kind], errbuf);
	}
	return 0;
}

void control_close(struct control *ctl)
{
	struct conn *conn;

	if (!ctl)
		return;
	while ((conn = TAILQ_FIRST(&ctl->conns)) != NULL)
		conn_close(conn);
	for (int kind = LISTEN_CONTROL; kind <= LISTEN_METRICS_TCP; kind++)
		listener_free(ctl->listeners[kind]);
	free(ctl);
}
