/*
 * control_int.h: what the parts of the control side share: its limits,
 * the listener, connection and control structs, and the calls between the
 * bounded request server (control.c), the commands (control_cmd.c) and
 * HTTP (control_http.c). Not for the rest of the daemon: control.h is.
 */
#ifndef CRDBFEEDD_CONTROL_INT_H
#define CRDBFEEDD_CONTROL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <jansson.h>

#include "control.h"
#include "textbuf.h"

#define CONTROL_LINE_MAX 1024        /* a control request line, bytes */
#define HTTP_HEAD_MAX 8192           /* an HTTP request head, bytes */
#define RESPONSE_MAX (16u << 20)     /* any answer, bytes */
#define CONN_IDLE_MS 10000
#define CONN_LINGER_MS 2000          /* waiting for the client's EOF */
#define CONN_LINGER_BYTES 65536      /* read and dropped while lingering */
#define CONN_MAX 32                  /* per listener, served at once */
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
	struct acceptor *acceptor;
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

struct ctl_stream;

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
	struct ctl_stream *stream;  /* an answer still being produced
				       (replay), or NULL */
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

/* ---- control.c: the bounded request server ---- */

/* End a connection (its memory is freed after this loop pass). */
void ctl_conn_close(struct conn *conn);
/* The answer in conn->out is complete: write it, then linger and close. */
void ctl_conn_respond(struct conn *conn);

/* ---- control_cmd.c: the control socket's commands ---- */

/* One JSON value as the whole answer, with a newline (takes value). */
void ctl_answer_json(struct conn *conn, json_t *value);
/*
 * {"ok":false,"error":message,"code":code}. code is for programs
 * (crdbfeedctl picks its exit status by it): permission_denied,
 * unknown_feed, unknown_command, bad_request, failed.
 */
void ctl_answer_error(struct conn *conn, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Run one control request line (without its newline) and respond. */
void ctl_command(struct conn *conn, char *line);
/* A client's word, safe to quote in an answer or a log line: printable
 * ASCII only (other bytes become '?'), at most outlen - 1 bytes. */
void ctl_printable(char *out, size_t outlen, const char *in);
/* The feed named name in view; NULL when none is configured. */
const struct feed_view *ctl_find_feed(const struct daemon_view *view,
				      const char *name);

/* ---- control_replay.c: the replay command, a streamed answer ---- */

/* "replay FEED [OPTIONS]": the first line into conn->out, and the stream
 * set up when the replay can start. */
void ctl_replay_command(struct conn *conn, const struct daemon_view *view,
			char *arg);
/*
 * conn->out was sent: put the stream's next chunk in it (conn->out is
 * emptied first). When the stream ends (its last line appended) it is
 * freed and conn->stream set to NULL.
 */
void ctl_stream_refill(struct conn *conn);
void ctl_stream_free(struct ctl_stream *stream);

/* ---- control_http.c: the metrics endpoint ---- */

/* Answer the HTTP request head in conn->in, and respond. */
void ctl_http_request(struct conn *conn);
/* A plain-text error answer with status ("404 Not Found"). */
void ctl_http_error(struct conn *conn, const char *status, const char *text);

#endif /* CRDBFEEDD_CONTROL_INT_H */
