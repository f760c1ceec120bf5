/*
 * listen_pg.c: the PostgreSQL-protocol LISTEN endpoint's sockets and
 * sessions on the event loop (listen_pg.h); the protocol itself is
 * pgserver.c's.
 */
#include <config.h> /* autoconf's, from the build directory */
#include "listen_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "acceptor.h"
#include "errbuf.h"
#include "log.h"
#include "pgserver.h"
#include "tls.h"
#include "unixsock.h"

#define WHO "listen_pg"
/* Refused connections waiting for their start-up packet, beyond the sessions. */
#define REFUSED_SLACK 16

struct pg_conn {
	struct listen_pg *ep;
	struct bufferevent *bev;
	struct pgs_session *session;
	struct event *deadline; /* start-up timeout, then the closing linger */
	struct pg_conn *prev, *next;
	bool closing;
	bool refused; /* not counted as a session */
	bool tls;     /* bev is a TLS filter over the socket's bufferevent */
};

struct listen_pg {
	struct event_base *base;
	struct listen_pg_config cfg;
	char unix_path[108];
	int unix_fd, tcp_fd, tcp_port;
	struct acceptor *unix_acc, *tcp_acc;
	struct scram_users *users;
	SSL_CTX *tls; /* NULL: SSLRequest answered 'N' */
	struct pg_conn *conns;
	size_t nsessions, nrefused;
	int32_t next_pid;
	struct listen_pg_stats stats;
	uint64_t accept_errors;
	struct textbuf message; /* one NotificationResponse, sent to many */
};

static void conn_free(struct pg_conn *c)
{
	struct listen_pg *ep = c->ep;
	if (c->prev)
		c->prev->next = c->next;
	else
		ep->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->refused)
		ep->nrefused--;
	else
		ep->nsessions--;
	if (c->deadline)
		event_free(c->deadline);
	bufferevent_free(c->bev);
	pgs_free(c->session);
	free(c);
}

/* Output not yet on the socket: over TLS, also what the filter passed on. */
static size_t conn_unsent(struct pg_conn *c)
{
	size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (c->tls)
		n += evbuffer_get_length(bufferevent_get_output(bufferevent_get_underlying(c->bev)));
	return n;
}

/* Stop reading; close once the output is written or the linger ends. */
static void conn_close_soon(struct pg_conn *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (conn_unsent(c) == 0) {
		conn_free(c);
		return;
	}
	struct timeval tv = {LISTEN_PG_LINGER_MS / 1000, (LISTEN_PG_LINGER_MS % 1000) * 1000};
	evtimer_add(c->deadline, &tv);
}

static void flush_session(struct pg_conn *c)
{
	struct textbuf *out = pgs_out(c->session);
	if (out->len)
		bufferevent_write(c->bev, out->data, out->len);
	pgs_out_clear(c->session);
}

static void handle_cancel(struct pg_conn *c)
{
	int32_t pid;
	uint32_t key;
	pgs_cancel_key(c->session, &pid, &key);
	c->ep->stats.cancel_requests++;
	bool found = false;
	for (struct pg_conn *o = c->ep->conns; o; o = o->next)
		if (o != c && pgs_cancel_matches(o->session, pid, key))
			found = true;
	log_debug(WHO, "cancel request for pid %d: %s (a listener runs nothing to cancel)",
		  (int)pid, found ? "matched" : "no such session");
}

static void note_close(struct pg_conn *c)
{
	const char *why = pgs_close_reason(c->session);
	if (pgs_terminated(c->session) || c->refused)
		return;
	if (strstr(why, "(28P01)"))
		c->ep->stats.auth_failed++;
	else if (strstr(why, "(08P01)"))
		c->ep->stats.protocol_errors++;
	log_info(WHO, "session %s closed: %s", pgs_user(c->session), why);
}

static void conn_read(struct bufferevent *bev, void *arg);
static void conn_write(struct bufferevent *bev, void *arg);
static void conn_event(struct bufferevent *bev, short what, void *arg);

static void conn_watch(struct pg_conn *c)
{
	size_t max_in = (c->ep->cfg.max_message ? c->ep->cfg.max_message
						: PGS_DEFAULT_MAX_MESSAGE) + 4096;
	bufferevent_setwatermark(c->bev, EV_READ, 0, max_in);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/*
 * 'S' is queued on the socket's bufferevent; the TLS filter goes over it
 * and the handshake follows the 'S'. pgs_input refused any byte after the
 * SSLRequest, so none is left behind in the plain input.
 */
static bool conn_start_tls(struct pg_conn *c)
{
	SSL *ssl = SSL_new(c->ep->tls);
	struct bufferevent *plain = c->bev;
	struct bufferevent *filter = NULL;
	if (ssl) {
		bufferevent_setwatermark(plain, EV_READ, 0, 0);
		filter = bufferevent_openssl_filter_new(c->ep->base, plain, ssl,
							BUFFEREVENT_SSL_ACCEPTING,
							BEV_OPT_CLOSE_ON_FREE);
	}
	if (!filter) {
		SSL_free(ssl);
		log_warning(WHO, "out of memory for a TLS session");
		return false;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
	c->bev = filter;
	c->tls = true;
	pgs_tls_started(c->session);
	conn_watch(c);
	return true;
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct pg_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	if (c->closing) {
		evbuffer_drain(in, len);
		return;
	}
	bool was_ready = pgs_state(c->session) == PGS_READY;
	unsigned char *data = evbuffer_pullup(in, -1);
	size_t used = pgs_input(c->session, data, len);
	evbuffer_drain(in, used);
	flush_session(c);
	switch (pgs_state(c->session)) {
	case PGS_CANCEL:
		handle_cancel(c);
		conn_free(c);
		return;
	case PGS_CLOSED:
		note_close(c);
		conn_close_soon(c);
		return;
	case PGS_TLS_ACCEPT:
		if (!conn_start_tls(c))
			conn_close_soon(c);
		return;
	case PGS_READY:
		if (!was_ready)
			evtimer_del(c->deadline);
		return;
	default:
		return;
	}
}

static void conn_write(struct bufferevent *bev, void *arg)
{
	struct pg_conn *c = arg;
	(void)bev;
	/* Over TLS the socket may still hold output: the linger ends it. */
	if (c->closing && conn_unsent(c) == 0)
		conn_free(c);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	/* A TLS handshake done is no end; EOF and errors are. */
	if (what & BEV_EVENT_CONNECTED)
		return;
	conn_free(arg);
}

static void conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct pg_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->closing) {
		conn_free(c);
		return;
	}
	struct textbuf *out = pgs_out(c->session);
	pgs_build_error(out, "FATAL", "08P01",
			"crdbfeedd LISTEN endpoint: start-up and authentication took too long");
	flush_session(c);
	c->ep->stats.protocol_errors++;
	conn_close_soon(c);
}

static int accept_conn(struct listen_pg *ep, int fd, bool is_unix)
{
	if (ep->nsessions + ep->nrefused >= ep->cfg.max_listeners + REFUSED_SLACK) {
		ep->stats.refused_full++;
		close(fd);
		return 0;
	}
	struct pgs_config pc = {
		.auth = is_unix ? PGS_AUTH_TRUST : PGS_AUTH_SCRAM,
		.tls_offered = !is_unix && ep->tls,
		.tls_required = !is_unix && ep->cfg.tls_required,
		.users = ep->users,
		.max_message = ep->cfg.max_message,
		.max_channels = ep->cfg.max_channels,
		.pid = ep->next_pid,
	};
	bool refused = false;
	if (ep->nsessions >= ep->cfg.max_listeners) {
		pc.auth = PGS_AUTH_REFUSE;
		pc.refuse_sqlstate = "53300";
		pc.refuse_reason = "sorry, too many clients already";
		ep->stats.refused_full++;
		refused = true;
	} else if (is_unix) {
		struct ucred cred;
		socklen_t clen = sizeof cred;
		bool have = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0;
		if (!unixsock_peer_allowed(have ? &cred : NULL, ep->cfg.uids, ep->cfg.nuids,
					   ep->cfg.gids, ep->cfg.ngids)) {
			pc.auth = PGS_AUTH_REFUSE;
			pc.refuse_reason = "crdbfeedd LISTEN endpoint: this peer's uid and gid are not allowed";
			ep->stats.refused_peer++;
			refused = true;
		}
	}
	if (RAND_bytes((unsigned char *)&pc.secret, sizeof pc.secret) != 1) {
		close(fd);
		return 0;
	}
	ep->next_pid = ep->next_pid >= INT32_MAX ? 1 : ep->next_pid + 1;
	struct pg_conn *c = calloc(1, sizeof *c);
	if (c)
		c->session = pgs_new(&pc);
	if (c && c->session)
		c->bev = bufferevent_socket_new(ep->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c && c->bev)
		c->deadline = evtimer_new(ep->base, conn_deadline, c);
	if (!c || !c->session || !c->bev || !c->deadline) {
		if (c && c->bev)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c)
			pgs_free(c->session);
		free(c);
		log_warning(WHO, "out of memory for a connection");
		return 0;
	}
	c->ep = ep;
	c->refused = refused;
	if (refused)
		ep->nrefused++;
	else
		ep->nsessions++;
	c->next = ep->conns;
	if (ep->conns)
		ep->conns->prev = c;
	ep->conns = c;
	ep->stats.accepted++;
	conn_watch(c);
	int ms = ep->cfg.startup_timeout_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(c->deadline, &tv);
	return 0;
}

static int accept_unix(int fd, void *arg)
{
	return accept_conn(arg, fd, true);
}

static int accept_tcp(int fd, void *arg)
{
	return accept_conn(arg, fd, false);
}

static int tcp_listen(struct listen_pg *ep, char *errbuf, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	char port[16];
	snprintf(port, sizeof port, "%d", ep->cfg.tcp_port);
	int rc = getaddrinfo(ep->cfg.tcp_host, port, &hints, &ai);
	if (rc != 0) {
		errbuf_add(errbuf, errlen, WHO ": TCP address %s: %s", ep->cfg.tcp_host, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
		errbuf_add(errbuf, errlen, WHO ": TCP %s port %d: %s", ep->cfg.tcp_host,
			   ep->cfg.tcp_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		char host[64], serv[16];
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
				NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			ep->tcp_port = atoi(serv);
	}
	return fd;
}

struct listen_pg *listen_pg_new(struct event_base *base,
				const struct listen_pg_config *cfg,
				char *errbuf, size_t errlen)
{
	struct listen_pg *ep = calloc(1, sizeof *ep);
	if (!ep) {
		errbuf_add(errbuf, errlen, WHO ": out of memory");
		return NULL;
	}
	ep->base = base;
	ep->cfg = *cfg;
	ep->unix_fd = ep->tcp_fd = -1;
	if (!ep->cfg.port)
		ep->cfg.port = LISTEN_PG_DEFAULT_PORT;
	if (!ep->cfg.unix_mode)
		ep->cfg.unix_mode = 0660;
	if (!ep->cfg.max_listeners)
		ep->cfg.max_listeners = LISTEN_PG_DEFAULT_MAX_LISTENERS;
	if (!ep->cfg.max_queued_bytes)
		ep->cfg.max_queued_bytes = LISTEN_PG_DEFAULT_MAX_QUEUED;
	if (!ep->cfg.startup_timeout_ms)
		ep->cfg.startup_timeout_ms = LISTEN_PG_DEFAULT_STARTUP_MS;
	textbuf_init(&ep->message, PGS_MAX_PAYLOAD + PGS_MAX_IDENT + 64);
	uint32_t r = 0;
	(void)RAND_bytes((unsigned char *)&r, sizeof r);
	ep->next_pid = (int32_t)(r % 1000000u) + 1000;
	if (!cfg->unix_dir && !cfg->tcp_host) {
		errbuf_add(errbuf, errlen, WHO ": neither a Unix socket directory nor a TCP address");
		goto fail;
	}
	if (cfg->tcp_host) {
		if (!cfg->auth_file) {
			errbuf_add(errbuf, errlen, WHO ": TCP needs a SCRAM verifier file");
			goto fail;
		}
		ep->users = scram_users_load(cfg->auth_file, 100000, errbuf, errlen);
		if (!ep->users)
			goto fail;
		if (cfg->tls_cert) {
			ep->tls = tls_server_ctx_new(WHO, cfg->tls_cert, cfg->tls_key, NULL,
						     errbuf, errlen);
			if (!ep->tls)
				goto fail;
		}
	}
	if (cfg->unix_dir) {
		int n = snprintf(ep->unix_path, sizeof ep->unix_path, "%s/.s.PGSQL.%d",
				 cfg->unix_dir, ep->cfg.port);
		if (n < 0 || (size_t)n >= sizeof ep->unix_path) {
			errbuf_add(errbuf, errlen, WHO ": socket path %s/.s.PGSQL.%d too long",
				   cfg->unix_dir, ep->cfg.port);
			goto fail;
		}
		ep->unix_fd = unixsock_listen(WHO, ep->unix_path, ep->cfg.unix_mode,
					      cfg->unix_group, 64, errbuf, errlen);
		if (ep->unix_fd < 0) {
			ep->unix_path[0] = '\0';
			goto fail;
		}
		ep->unix_acc = acceptor_new(base, ep->unix_fd, WHO, 16, accept_unix, ep,
					    &ep->accept_errors);
		if (!ep->unix_acc) {
			errbuf_add(errbuf, errlen, WHO ": cannot watch the Unix socket");
			goto fail;
		}
	}
	if (cfg->tcp_host) {
		ep->tcp_fd = tcp_listen(ep, errbuf, errlen);
		if (ep->tcp_fd < 0)
			goto fail;
		ep->tcp_acc = acceptor_new(base, ep->tcp_fd, WHO, 16, accept_tcp, ep,
					   &ep->accept_errors);
		if (!ep->tcp_acc) {
			errbuf_add(errbuf, errlen, WHO ": cannot watch the TCP socket");
			goto fail;
		}
	}
	return ep;
fail:
	listen_pg_close(ep);
	return NULL;
}

static void drop_slow(struct pg_conn *c)
{
	struct textbuf *out = pgs_out(c->session);
	pgs_build_notice(out, "53400", "crdbfeedd: listener too slow, closing");
	flush_session(c);
	c->ep->stats.dropped_slow++;
	log_notice(WHO, "session %s: listener too slow (over %zu bytes queued), closing",
		   pgs_user(c->session), c->ep->cfg.max_queued_bytes);
	conn_close_soon(c);
}

int listen_pg_notify(struct listen_pg *ep, const char *channel,
		     const char *payload, int32_t sender_pid)
{
	ep->message.len = 0;
	ep->message.failed = false;
	if (pgs_build_notification(&ep->message, sender_pid, channel, payload,
				   strlen(payload)) != 0)
		return -1;
	int sent = 0;
	struct pg_conn *next;
	for (struct pg_conn *c = ep->conns; c; c = next) {
		next = c->next;
		if (c->closing || !pgs_listening(c->session, channel))
			continue;
		bufferevent_write(c->bev, ep->message.data, ep->message.len);
		ep->stats.notifications++;
		sent++;
		if (conn_unsent(c) > ep->cfg.max_queued_bytes)
			drop_slow(c);
	}
	return sent;
}

void listen_pg_stats(const struct listen_pg *ep, struct listen_pg_stats *out)
{
	*out = ep->stats;
	out->sessions = ep->nsessions;
	out->channels = 0;
	for (const struct pg_conn *c = ep->conns; c; c = c->next)
		out->channels += pgs_channel_count(c->session);
}

int listen_pg_tcp_port(const struct listen_pg *ep)
{
	return ep->tcp_port;
}

void listen_pg_close(struct listen_pg *ep)
{
	if (!ep)
		return;
	while (ep->conns)
		conn_free(ep->conns);
	if (ep->unix_acc)
		acceptor_free(ep->unix_acc);
	if (ep->tcp_acc)
		acceptor_free(ep->tcp_acc);
	if (ep->unix_fd >= 0) {
		close(ep->unix_fd);
		unlink(ep->unix_path);
	}
	if (ep->tcp_fd >= 0)
		close(ep->tcp_fd);
	scram_users_free(ep->users);
	SSL_CTX_free(ep->tls);
	textbuf_free(&ep->message);
	free(ep);
}
