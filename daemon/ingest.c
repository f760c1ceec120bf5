/*
 * ingest.c: a job feed's HTTPS endpoint (ingest.h): evhttp over
 * bufferevent_openssl, the connection bound, the request checks in the
 * order that keeps an unauthorized peer from spending the job's rate, and
 * the parsed body handed to the owner, whose status is the answer.
 *
 * libevent 2.1's evhttp neither caps connections nor tells when one ends
 * (its close callback needs a request first). Each connection's SSL object
 * carries our record of it (SSL ex_data); OpenSSL frees that record when
 * libevent frees the SSL with the connection, which is where it is
 * counted out. A connection over the bound is shut down on the loop's
 * next pass: the bufferevent has its descriptor only after evhttp's
 * bevcb returns.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "ingest.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "acceptor.h"
#include "clock.h"
#include "errbuf.h"
#include "log.h"
#include "tls.h"

#define DEFAULT_MAX_BODY ((size_t)8 << 20)
#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_IDLE_TIMEOUT_S 60
/* Request line and headers: CockroachDB sends a handful. */
#define MAX_HEADERS_SIZE (64 * 1024)
#define PEER_LEN (INET6_ADDRSTRLEN + 16)

struct ingest_conn {
	struct ingest *ig;      /* NULL once the endpoint is freed */
	SSL *ssl;
	struct ingest_conn *prev, *next;
	bool refused;           /* over max_connections: shut down */
	bool shut;
	bool handshake_done;
	char peer[PEER_LEN];    /* known once the handshake starts */
};

struct ingest {
	struct event_base *base;
	char *who;
	char *path;
	struct ingest_owner owner;
	size_t max_body;
	unsigned max_connections;
	unsigned max_rate;
	unsigned char auth_digest[32];
	SSL_CTX *ssl_ctx;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	int port;
	struct event *refuse_ev;     /* shuts refused connections down */
	struct event *resume_accept; /* accepting again after EMFILE */
	struct ingest_conn *conns;
	size_t open;                 /* connections counted (not refused) */
	int64_t rate_tokens;         /* thousandths of a request */
	int64_t rate_at_ms;
	struct ingest_stats stats;
};

static int conn_index = -1;

static void format_peer(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		snprintf(out, len, "a client");
	}
}

static void conn_peer(struct ingest_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = SSL_get_fd(c->ssl);

	if (c->peer[0] || fd < 0)
		return;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		format_peer((struct sockaddr *)&ss, c->peer, sizeof c->peer);
}

/* OpenSSL frees our record with the connection's SSL. */
static void conn_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
		      long argl, void *argp)
{
	struct ingest_conn *c = ptr;
	struct ingest *ig = c ? c->ig : NULL;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (!c)
		return;
	if (ig) {
		if (c->prev)
			c->prev->next = c->next;
		else
			ig->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		if (!c->refused) {
			ig->open--;
			if (!c->handshake_done) {
				ig->stats.connections_refused++;
				log_notice(ig->who, "ingest: no TLS session with %s: the "
					   "handshake failed or the client left first",
					   c->peer[0] ? c->peer : "a client");
			}
		}
	}
	free(c);
}

static void tls_info(const SSL *ssl, int where, int ret)
{
	struct ingest_conn *c = SSL_get_ex_data(ssl, conn_index);

	(void)ret;
	if (!c)
		return;
	if ((where & SSL_CB_HANDSHAKE_START) && !c->peer[0]) {
		/* An answer is written as several TLS records: without
		 * TCP_NODELAY the last waits for the client's delayed ACK. */
		int one = 1;
		setsockopt(SSL_get_fd(ssl), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		conn_peer(c);
	}
	if (where & SSL_CB_HANDSHAKE_DONE)
		c->handshake_done = true;
}

/* evhttp's bevcb: every accepted connection is a TLS server session. */
static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
	struct ingest *ig = arg;
	SSL *ssl = SSL_new(ig->ssl_ctx);
	struct ingest_conn *c = ssl ? calloc(1, sizeof *c) : NULL;

	if (!c || SSL_set_ex_data(ssl, conn_index, c) != 1) {
		/* evhttp then makes a plain bufferevent: on_request refuses
		 * every request on a connection without TLS. */
		free(c);
		SSL_free(ssl);
		log_warning(ig->who, "ingest: out of memory for a TLS session");
		return NULL;
	}
	c->ig = ig;
	c->ssl = ssl;
	c->next = ig->conns;
	if (ig->conns)
		ig->conns->prev = c;
	ig->conns = c;
	if (ig->open >= ig->max_connections) {
		c->refused = true;
		ig->stats.connections_refused++;
		event_active(ig->refuse_ev, EV_TIMEOUT, 0);
	} else {
		ig->open++;
	}
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl); /* conn_gone counts it out */
		log_warning(ig->who, "ingest: out of memory for a TLS session");
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* The refused connections, now with their descriptors: shut down, so that
 * evhttp sees the end and frees them. */
static void refuse_pending(evutil_socket_t fd_unused, short what, void *arg)
{
	struct ingest *ig = arg;

	(void)fd_unused, (void)what;
	for (struct ingest_conn *c = ig->conns; c; c = c->next) {
		int fd = SSL_get_fd(c->ssl);

		if (!c->refused || c->shut || fd < 0)
			continue;
		c->shut = true;
		conn_peer(c);
		log_warning(ig->who, "ingest: connection from %s closed: %zu open, "
			    "the most allowed (ingest_max_connections)",
			    c->peer[0] ? c->peer : "a client", ig->open);
		shutdown(fd, SHUT_RDWR);
	}
}

static void resume_accepting(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *ig = arg;

	(void)fd, (void)what;
	evconnlistener_enable(evhttp_bound_socket_get_listener(ig->bound));
}

/* Out of descriptors or memory: pause accepting instead of spinning on a
 * socket that stays readable. */
static void accept_failed(struct evconnlistener *lev, void *arg)
{
	struct ingest *ig = arg;
	int err = EVUTIL_SOCKET_ERROR();

	log_warning(ig->who, "ingest: accept: %s", strerror(err));
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		struct timeval tv = {ACCEPTOR_RETRY_MS / 1000,
				     (ACCEPTOR_RETRY_MS % 1000) * 1000};
		evconnlistener_disable(lev);
		evtimer_add(ig->resume_accept, &tv);
	}
}

static void request_peer(struct evhttp_request *req, char *out, size_t len)
{
	char *addr = NULL;
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
	if (!addr)
		snprintf(out, len, "a client");
	else if (strchr(addr, ':'))
		snprintf(out, len, "[%s]:%u", addr, (unsigned)port);
	else
		snprintf(out, len, "%s:%u", addr, (unsigned)port);
}

/* Answer status with reason as the body (one line), count it, and log it
 * when it is a refusal. */
static void answer(struct ingest *ig, struct evhttp_request *req, int status,
		   const char *reason)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);

	if (status >= 200 && status < 300) {
		evhttp_send_reply(req, status, NULL, NULL);
		evbuffer_free(out);
		return;
	}
	char peer[PEER_LEN];
	request_peer(req, peer, sizeof peer);
	if (status >= 500) {
		ig->stats.answered_5xx++;
		log_notice(ig->who, "ingest: answered %d to %s: %s", status, peer, reason);
	} else {
		ig->stats.answered_4xx++;
		log_warning(ig->who, "ingest: answered %d to %s: %s", status, peer, reason);
	}
	evhttp_add_header(headers, "Content-Type", "text/plain; charset=utf-8");
	if (out)
		evbuffer_add_printf(out, "%s\n", reason);
	evhttp_send_reply(req, status, NULL, out);
	if (out)
		evbuffer_free(out);
}

/* application/json, with or without parameters (charset). */
static bool is_json(const char *type)
{
	static const char want[] = "application/json";
	size_t n = sizeof want - 1;

	if (!type || strncasecmp(type, want, n) != 0)
		return false;
	return type[n] == '\0' || type[n] == ';' || type[n] == ' ';
}

/* Compared as SHA-256 digests in constant time: neither a byte nor the
 * length of the expected value shows in the time taken. */
static bool authorized(const struct ingest *ig, const char *value)
{
	unsigned char digest[32];
	unsigned int n = 0;

	if (EVP_Digest(value, strlen(value), digest, &n, EVP_sha256(), NULL) != 1 ||
	    n != sizeof digest)
		return false;
	return CRYPTO_memcmp(digest, ig->auth_digest, sizeof digest) == 0;
}

/* The token bucket: max_rate requests a second, a second's worth of
 * burst. 0, or the whole seconds to wait. */
static int rate_wait_s(struct ingest *ig)
{
	int64_t now = clock_mono_ms();
	int64_t cap = (int64_t)ig->max_rate * 1000;

	if (!ig->max_rate)
		return 0;
	ig->rate_tokens += (now - ig->rate_at_ms) * (int64_t)ig->max_rate;
	if (ig->rate_tokens > cap)
		ig->rate_tokens = cap;
	ig->rate_at_ms = now;
	if (ig->rate_tokens >= 1000) {
		ig->rate_tokens -= 1000;
		return 0;
	}
	int64_t wait_ms = (1000 - ig->rate_tokens + ig->max_rate - 1) / ig->max_rate;
	return (int)((wait_ms + 999) / 1000);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct ingest *ig = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct bufferevent *bev =
		evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	char reason[256];

	ig->stats.requests++;
	if (!bufferevent_openssl_get_ssl(bev)) {
		evhttp_add_header(out, "Connection", "close");
		answer(ig, req, 503, "no TLS session on this connection (out of memory)");
		return;
	}
	if (!path || strcmp(path, ig->path) != 0) {
		snprintf(reason, sizeof reason, "no such path: %.100s (this endpoint is %s)",
			 path ? path : "", ig->path);
		answer(ig, req, 404, reason);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(out, "Allow", "POST");
		answer(ig, req, 405, "only POST is accepted");
		return;
	}
	const char *auth = evhttp_find_header(in, "Authorization");
	if (!auth || !authorized(ig, auth)) {
		ig->stats.unauthorized++;
		evhttp_add_header(out, "WWW-Authenticate", "Bearer");
		answer(ig, req, 401, auth ? "wrong Authorization" : "no Authorization");
		return;
	}
	int wait_s = rate_wait_s(ig);
	if (wait_s) {
		char secs[16];
		snprintf(secs, sizeof secs, "%d", wait_s);
		ig->stats.rate_limited++;
		evhttp_add_header(out, "Retry-After", secs);
		snprintf(reason, sizeof reason, "over %u requests a second (ingest_max_rate)",
			 ig->max_rate);
		answer(ig, req, 429, reason);
		return;
	}
	const char *type = evhttp_find_header(in, "Content-Type");
	if (!is_json(type)) {
		snprintf(reason, sizeof reason, "Content-Type %.100s is not application/json",
			 type ? type : "(none)");
		answer(ig, req, 415, reason);
		return;
	}
	const char *encoding = evhttp_find_header(in, "Content-Encoding");
	if (encoding && strcasecmp(encoding, "identity") != 0) {
		snprintf(reason, sizeof reason, "Content-Encoding %.100s is not accepted: "
			 "the changefeed must be created without compression", encoding);
		answer(ig, req, 415, reason);
		return;
	}
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	const char *bytes = len ? (const char *)evbuffer_pullup(body, -1) : "";
	struct webhook_body parsed;
	if (len && !bytes) {
		answer(ig, req, 503, "out of memory for the body");
		return;
	}
	if (webhook_body_parse(bytes, len, NULL, &parsed, reason, sizeof reason) != 0) {
		answer(ig, req, strcmp(reason, "out of memory") == 0 ? 503 : 400, reason);
		return;
	}
	reason[0] = '\0';
	int status = ig->owner.body(ig->owner.arg, &parsed, reason, sizeof reason);
	if (status >= 200 && status < 300) {
		if (parsed.kind == WEBHOOK_BODY_RESOLVED) {
			ig->stats.resolved++;
		} else {
			ig->stats.batches++;
			ig->stats.rows += parsed.nmsgs;
		}
		ig->stats.bytes += len;
	} else if (status < 100 || status > 599) {
		snprintf(reason, sizeof reason, "the feed answered an invalid status %d",
			 status);
		status = 500;
	}
	webhook_body_clear(&parsed);
	answer(ig, req, status, reason[0] ? reason : "refused by the feed");
}

static bool ex_index_ready(char *errbuf, size_t errlen)
{
	if (conn_index < 0)
		conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_gone);
	if (conn_index < 0) {
		errbuf_add(errbuf, errlen, "ingest: no OpenSSL ex_data index");
		return false;
	}
	return true;
}

static bool listen_on(struct ingest *ig, const struct ingest_config *cfg,
		      char *errbuf, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	errno = 0;
	ig->bound = evhttp_bind_socket_with_handle(ig->http, cfg->listen_host,
						   (ev_uint16_t)cfg->listen_port);
	if (!ig->bound) {
		errbuf_add(errbuf, errlen, "%s: ingest: cannot listen on %s port %d: %s",
			   ig->who, cfg->listen_host, cfg->listen_port,
			   errno ? strerror(errno) : "not a usable address");
		return false;
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(ig->bound),
				    accept_failed);
	if (getsockname(evhttp_bound_socket_get_fd(ig->bound), (struct sockaddr *)&ss,
			&sl) == 0)
		ig->port = ntohs(ss.ss_family == AF_INET6
				 ? ((struct sockaddr_in6 *)&ss)->sin6_port
				 : ((struct sockaddr_in *)&ss)->sin_port);
	return true;
}

struct ingest *ingest_new(struct event_base *base,
			  const struct ingest_config *cfg,
			  const struct ingest_owner *owner,
			  char *errbuf, size_t errlen)
{
	const char *who = cfg->who ? cfg->who : "ingest";
	struct ingest *ig;
	unsigned int n = 0;

	if (!cfg->authorization || !cfg->authorization[0] || !cfg->path ||
	    cfg->path[0] != '/' || !cfg->tls_cert || !cfg->listen_host ||
	    !owner || !owner->body) {
		errbuf_add(errbuf, errlen, "%s: ingest: an address, a path, a TLS "
			   "certificate and an Authorization value are required", who);
		return NULL;
	}
	if (!ex_index_ready(errbuf, errlen))
		return NULL;
	ig = calloc(1, sizeof *ig);
	if (!ig || !(ig->who = strdup(who)) || !(ig->path = strdup(cfg->path))) {
		errbuf_add(errbuf, errlen, "%s: ingest: out of memory", who);
		goto fail;
	}
	ig->base = base;
	ig->owner = *owner;
	ig->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
	ig->max_connections = cfg->max_connections ? cfg->max_connections
						   : DEFAULT_MAX_CONNECTIONS;
	ig->max_rate = cfg->max_rate;
	ig->rate_tokens = (int64_t)ig->max_rate * 1000;
	ig->rate_at_ms = clock_mono_ms();
	if (EVP_Digest(cfg->authorization, strlen(cfg->authorization), ig->auth_digest,
		       &n, EVP_sha256(), NULL) != 1) {
		errbuf_add(errbuf, errlen, "%s: ingest: SHA-256 unavailable", who);
		goto fail;
	}
	ig->ssl_ctx = tls_server_ctx_new(who, cfg->tls_cert, cfg->tls_key,
					 cfg->client_ca, errbuf, errlen);
	if (!ig->ssl_ctx)
		goto fail;
	SSL_CTX_set_info_callback(ig->ssl_ctx, tls_info);
	ig->http = evhttp_new(base);
	ig->refuse_ev = event_new(base, -1, 0, refuse_pending, ig);
	ig->resume_accept = evtimer_new(base, resume_accepting, ig);
	if (!ig->http || !ig->refuse_ev || !ig->resume_accept) {
		errbuf_add(errbuf, errlen, "%s: ingest: out of memory", who);
		goto fail;
	}
	evhttp_set_bevcb(ig->http, conn_new, ig);
	evhttp_set_gencb(ig->http, on_request, ig);
	/* More than POST reaches on_request, which answers 405 and logs it
	 * (evhttp itself would answer 501 unseen). */
	evhttp_set_allowed_methods(ig->http, EVHTTP_REQ_POST | EVHTTP_REQ_GET |
				   EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
				   EVHTTP_REQ_PATCH);
	/* Over it, evhttp answers 413 itself, before on_request. */
	evhttp_set_max_body_size(ig->http, (ev_ssize_t)ig->max_body);
	evhttp_set_max_headers_size(ig->http, MAX_HEADERS_SIZE);
	evhttp_set_timeout(ig->http, cfg->idle_timeout_s > 0 ? cfg->idle_timeout_s
							    : DEFAULT_IDLE_TIMEOUT_S);
	if (!listen_on(ig, cfg, errbuf, errlen))
		goto fail;
	return ig;
fail:
	ingest_free(ig);
	return NULL;
}

void ingest_free(struct ingest *ig)
{
	if (!ig)
		return;
	/* The connections' records outlive us until libevent frees them. */
	for (struct ingest_conn *c = ig->conns; c; c = c->next)
		c->ig = NULL;
	if (ig->http)
		evhttp_free(ig->http);
	if (ig->refuse_ev)
		event_free(ig->refuse_ev);
	if (ig->resume_accept)
		event_free(ig->resume_accept);
	SSL_CTX_free(ig->ssl_ctx);
	free(ig->who);
	free(ig->path);
	free(ig);
}

int ingest_port(const struct ingest *ig)
{
	return ig->port;
}

void ingest_get_stats(const struct ingest *ig, struct ingest_stats *out)
{
	*out = ig->stats;
	out->connections = ig->open;
}

void ingest_note_retry(struct ingest *ig)
{
	ig->stats.retried++;
}
