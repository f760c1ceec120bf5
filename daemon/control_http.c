/*
 * control_http.c: the Prometheus endpoint's side of the control server:
 * HTTP/1.0 "GET /metrics" (and HEAD) answered from a daemon view, anything
 * else with a short plain-text error.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "control_int.h"

#include "clock.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>

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

void ctl_http_error(struct conn *conn, const char *status, const char *text)
{
	http_answer(conn, status, "text/plain; charset=utf-8", text, strlen(text),
		    false);
}

/* Parse the request line of the head in conn->in and answer it. */
void ctl_http_request(struct conn *conn)
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
		ctl_http_error(conn, "400 Bad Request", "bad request line\n");
		goto out;
	}
	*target++ = '\0';
	*version++ = '\0';
	head_only = strcmp(method, "HEAD") == 0;
	if (strcmp(method, "GET") != 0 && !head_only) {
		ctl_http_error(conn, "405 Method Not Allowed", "only GET and HEAD\n");
		goto out;
	}
	target[strcspn(target, "?")] = '\0';
	if (strcmp(target, "/metrics") != 0) {
		ctl_http_error(conn, "404 Not Found", "not found: the metrics are at /metrics\n");
		goto out;
	}
	memset(&view, 0, sizeof(view));
	ctl->ops->view(ctl->arg, &view);
	if (!view.cfg) {
		daemon_view_release(&view);
		ctl_http_error(conn, "503 Service Unavailable", "no configuration yet\n");
		goto out;
	}
	textbuf_init(&body, RESPONSE_MAX);
	if (metrics_render(&body, &view, clock_wall_ms(), NULL)) {
		log_warning(CONTROL_WHO, "%s: the metrics did not fit in %u bytes",
			    conn->who, RESPONSE_MAX);
		ctl_http_error(conn, "500 Internal Server Error",
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
		ctl_conn_close(conn);
		return;
	}
	ctl_conn_respond(conn);
}
