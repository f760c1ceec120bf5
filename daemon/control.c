/*
 * control.c: the bounded request server behind the control socket and the
 * Prometheus endpoint: listeners, connections, reading one request,
 * writing its answer. The commands are in control_cmd.c, HTTP in
 * control_http.c (the protocol is in control.h).
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

#include "control_int.h"

#include "acceptor.h"
#include "defer.h"
#include "log.h"
#include "unixsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *const listener_names[] = {
	[LISTEN_CONTROL] = "control socket",
	[LISTEN_METRICS] = "metrics socket",
	[LISTEN_METRICS_TCP] = "metrics port",
};

/* ---- connections -------------------------------------------------------- */

static void conn_free_events(struct conn *conn)
{
	if (conn->read_ev)
		event_free(conn->read_ev);
	if (conn->write_ev)
		event_free(conn->write_ev);
	if (conn->idle)
		event_free(conn->idle);
	conn->read_ev = conn->write_ev = conn->idle = NULL;
}

static void conn_free(void *ptr)
{
	struct conn *conn = ptr;

	textbuf_free(&conn->out);
	ctl_stream_free(conn->stream);
	free(conn);
}

void ctl_conn_close(struct conn *conn)
{
	struct control *ctl = conn->ctl;

	if (conn->state == CONN_CLOSED)
		return;
	conn->state = CONN_CLOSED;
	conn_free_events(conn);
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
		ctl_conn_close(conn);
		return;
	}
	conn->state = CONN_LINGERING;
	conn_touch(conn);
}

/* Write what the socket takes; linger once everything is out. A
 * streamed answer gets its next chunk once the last one is sent, at most
 * one chunk per loop pass so that a fast client never holds the loop. */
static void conn_flush(struct conn *conn)
{
	bool refilled = false;

	for (;;) {
		while (conn->out_off < conn->out.len) {
			/* MSG_NOSIGNAL: a client gone early is an error
			 * here, never a SIGPIPE for the whole daemon. */
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
				ctl_conn_close(conn);
				return;
			}
			conn->out_off += (size_t)n;
		}
		if (!conn->stream)
			break;
		if (refilled) {
			event_add(conn->write_ev, NULL);
			conn_touch(conn);
			return;
		}
		ctl_stream_refill(conn);
		refilled = true;
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
	ctl_conn_close(conn);
}

/* Start writing conn->out (already filled); reading stops. */
void ctl_conn_respond(struct conn *conn)
{
	if (conn->read_ev)
		event_del(conn->read_ev);
	conn->state = CONN_WRITING;
	conn_flush(conn);
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
			ctl_answer_error(conn, "bad_request", "request line holds a NUL byte");
			ctl_conn_respond(conn);
			return;
		}
		ctl_command(conn, conn->in);
	} else {
		ctl_http_request(conn);
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
			ctl_conn_close(conn);
		return;
	}
	if (conn->state != CONN_READING)
		return;
	n = read(fd, conn->in + conn->in_len, limit - conn->in_len);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		log_debug(CONTROL_WHO, "%s: read: %s", conn->who, strerror(errno));
		ctl_conn_close(conn);
		return;
	}
	conn_touch(conn);
	if (n == 0) {
		/* End of input: a control line without its newline still
		 * counts (printf status | socat); an empty one is nothing. */
		if (!conn->in_len) {
			ctl_conn_close(conn);
			return;
		}
		if (conn->kind == LISTEN_CONTROL) {
			request_ready(conn, conn->in_len);
		} else {
			ctl_http_request(conn);
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
			ctl_answer_error(conn, "bad_request", "request line longer than %d bytes",
				     CONTROL_LINE_MAX);
			ctl_conn_respond(conn);
		} else {
			ctl_http_error(conn, "431 Request Header Fields Too Large",
				   "request head too large\n");
			ctl_conn_respond(conn);
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
		conn_free_events(conn);
		free(conn);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&ctl->conns, conn, link);
	ctl->nconns[kind]++;
	conn_touch(conn);
	return conn;
}

/* One accepted connection: served, or closed at once over CONN_MAX. */
static int on_accept(int cfd, void *arg)
{
	struct listener *lst = arg;
	struct control *ctl = lst->ctl;
	struct conn *conn;

	if (ctl->nconns[lst->kind] >= CONN_MAX) {
		/* Closing at once keeps the backlog moving; the
		 * client sees EOF and may retry. */
		if (!ctl->over_limit[lst->kind])
			log_warning(CONTROL_WHO, "%s: %d connections already open: closing new ones until some finish",
				    listener_names[lst->kind], CONN_MAX);
		ctl->over_limit[lst->kind] = true;
		close(cfd);
		return 0;
	}
	ctl->over_limit[lst->kind] = false;
	conn = conn_new(ctl, lst->kind, cfd);
	if (!conn) {
		log_error(CONTROL_WHO, "out of memory accepting a connection");
		close(cfd);
		return -1;
	}
	if (lst->kind == LISTEN_CONTROL && !peer_allowed(ctl->cfg, conn)) {
		log_warning(CONTROL_WHO, "%s refused: not in the control allow-list",
			    conn->who);
		if (conn->have_cred)
			ctl_answer_error(conn, "permission_denied",
				     "permission denied: uid %ld gid %ld is not allowed to use the control socket",
				     (long)conn->cred.uid, (long)conn->cred.gid);
		else
			ctl_answer_error(conn, "permission_denied",
				     "permission denied: the peer's credentials are unknown");
		ctl_conn_respond(conn);
		return 0;
	}
	log_debug(CONTROL_WHO, "%s connected", conn->who);
	return 0;
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

/* The address is copied out rather than cast: struct sockaddr may be less
 * aligned than sockaddr_in/_in6 (clang's -Wcast-align). */
static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in in;

		memcpy(&in, sa, sizeof(in));
		return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 in6;

		memcpy(&in6, sa, sizeof(in6));
		return IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr);
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
	acceptor_free(lst->acceptor);
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
	lst->acceptor = acceptor_new(ctl->base, fd, listener_names[kind], 16,
				     on_accept, lst, NULL);
	if (!lst->acceptor) {
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
		ctl_conn_close(conn);
	for (int kind = LISTEN_CONTROL; kind <= LISTEN_METRICS_TCP; kind++)
		listener_free(ctl->listeners[kind]);
	free(ctl);
}
