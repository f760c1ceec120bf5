/*
 * sim_webhook_http.c: the webhook sink's HTTPS client (doc/crdb-wire.md
 * §16): the endpoint's URL and TLS context (CA, client certificate and key
 * from PEM in memory, SNI and hostname verification unless
 * insecure_tls_skip_verify), and a sender that posts one body at a time
 * over a kept-alive evhttp connection until a 2xx answer, retrying a
 * non-2xx answer, a timeout or a connection error after a backoff doubling
 * from the Retry config's up to 30 s, and failing the sink past Retry.Max.
 * The control socket's injected faults are applied here, process-wide.
 *
 * evhttp's callbacks only store an attempt's outcome; it is handled from
 * the sender's own event, where a connection may be freed and the owner
 * may free the sink.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "sim_webhook_int.h"

#define WH_MAX_BACKOFF_MS 30000

/* The injected faults: process-wide, see sim_webhook.h. */
static struct {
	enum sim_webhook_fault kind;
	int code;
	int count;
} injected;

void sim_webhook_fault(struct sim_webhook *wh, enum sim_webhook_fault kind,
		       int code, int count)
{
	(void)wh;
	injected.kind = count > 0 ? kind : SIM_WEBHOOK_FAULT_CLEAR;
	injected.code = code;
	injected.count = kind == SIM_WEBHOOK_FAULT_CLEAR ? 0 : count;
}

/* The fault for the attempt about to start (CLEAR: none). */
static enum sim_webhook_fault take_fault(int *code)
{
	if (injected.count <= 0)
		return SIM_WEBHOOK_FAULT_CLEAR;
	injected.count--;
	*code = injected.code;
	return injected.kind;
}

static void set_err(char *errbuf, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char ssl[160] = "";
	if (e)
		ERR_error_string_n(e, ssl, sizeof ssl);
	ERR_clear_error();
	snprintf(errbuf, errlen, "sim_webhook: %s%s%s", what, e ? ": " : "",
		 ssl);
}

/* Every certificate of pem into the context's trust store. */
static int load_ca(SSL_CTX *ctx, const char *pem, char *errbuf, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	int added = 0;
	X509 *cert;
	if (!bio) {
		set_err(errbuf, errlen, "ca_cert: out of memory");
		return -1;
	}
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		int ok = X509_STORE_add_cert(store, cert);
		X509_free(cert);
		if (ok != 1) {
			BIO_free(bio);
			set_err(errbuf, errlen, "ca_cert: cannot add certificate");
			return -1;
		}
		added++;
	}
	BIO_free(bio);
	ERR_clear_error();      /* the end of the PEM stream */
	if (added == 0) {
		snprintf(errbuf, errlen, "sim_webhook: ca_cert: no certificate in PEM");
		return -1;
	}
	return 0;
}

/* The client certificate (and any chain after it) and its key. */
static int load_client_cert(SSL_CTX *ctx, const char *cert_pem,
			    const char *key_pem, char *errbuf, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (!cert || SSL_CTX_use_certificate(ctx, cert) != 1) {
		X509_free(cert);
		BIO_free(bio);
		set_err(errbuf, errlen, "client_cert: no usable certificate in PEM");
		return -1;
	}
	X509_free(cert);
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add_extra_chain_cert(ctx, cert) != 1) {
			X509_free(cert);
			BIO_free(bio);
			set_err(errbuf, errlen, "client_cert: cannot add chain");
			return -1;
		}
	}
	BIO_free(bio);
	ERR_clear_error();
	bio = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	int ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
		 SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(key);
	if (!ok) {
		set_err(errbuf, errlen,
			"client_key: no usable key in PEM, or not client_cert's");
		return -1;
	}
	return 0;
}

static SSL_CTX *tls_context(const struct sim_webhook_config *cfg,
			    char *errbuf, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		set_err(errbuf, errlen, "cannot create a TLS context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (cfg->insecure_skip_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (cfg->ca_pem ? load_ca(ctx, cfg->ca_pem, errbuf, errlen) != 0
				: SSL_CTX_set_default_verify_paths(ctx) != 1) {
			if (!cfg->ca_pem)
				set_err(errbuf, errlen, "no system CA paths");
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	if (cfg->client_cert_pem &&
	    load_client_cert(ctx, cfg->client_cert_pem, cfg->client_key_pem,
			     errbuf, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static bool is_ip_literal(const char *host)
{
	unsigned char addr[16];
	return inet_pton(AF_INET, host, addr) == 1 ||
	       inet_pton(AF_INET6, host, addr) == 1;
}

int wh_endpoint_init(struct wh_endpoint *ep, const struct sim_webhook_config *cfg,
		     char *errbuf, size_t errlen)
{
	memset(ep, 0, sizeof *ep);
	struct evhttp_uri *uri = cfg->url ? evhttp_uri_parse(cfg->url) : NULL;
	const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
	const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
	if (!scheme || strcmp(scheme, "https") != 0 || !host || !*host) {
		snprintf(errbuf, errlen, "sim_webhook: not an https://HOST URL: %s",
			 cfg->url ? cfg->url : "(none)");
		if (uri)
			evhttp_uri_free(uri);
		return -1;
	}
	size_t hlen = strlen(host);
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']')
		ep->host = strndup(host + 1, hlen - 2);
	else
		ep->host = strdup(host);
	ep->port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 443;
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	size_t plen = (path && *path ? strlen(path) : 1) +
		      (query ? strlen(query) + 1 : 0) + 1;
	ep->path_query = malloc(plen);
	ep->host_header = malloc(hlen + 8);
	if (ep->path_query)
		snprintf(ep->path_query, plen, "%s%s%s", path && *path ? path : "/",
			 query ? "?" : "", query ? query : "");
	if (ep->host_header) {
		if (ep->port == 443)
			snprintf(ep->host_header, hlen + 8, "%s", host);
		else
			snprintf(ep->host_header, hlen + 8, "%s:%d", host, ep->port);
	}
	evhttp_uri_free(uri);
	ep->auth_header = cfg->auth_header ? strdup(cfg->auth_header) : NULL;
	if (!ep->host || !ep->path_query || !ep->host_header ||
	    (cfg->auth_header && !ep->auth_header)) {
		snprintf(errbuf, errlen, "sim_webhook: out of memory");
		wh_endpoint_release(ep);
		return -1;
	}
	ep->host_is_ip = is_ip_literal(ep->host);
	ep->verify = !cfg->insecure_skip_verify;
	ep->client_timeout_ms = cfg->client_timeout_ms > 0 ? cfg->client_timeout_ms
							    : 3000;
	ep->retry_max = cfg->retry_max > 0 ? cfg->retry_max : 0;
	ep->retry_backoff_ms = cfg->retry_backoff_ms > 0 ? cfg->retry_backoff_ms
							  : 500;
	ep->tls = tls_context(cfg, errbuf, errlen);
	if (!ep->tls) {
		wh_endpoint_release(ep);
		return -1;
	}
	return 0;
}

void wh_endpoint_release(struct wh_endpoint *ep)
{
	free(ep->host);
	free(ep->path_query);
	free(ep->host_header);
	free(ep->auth_header);
	SSL_CTX_free(ep->tls);
	memset(ep, 0, sizeof *ep);
}

static void drop_connection(struct wh_sender *s)
{
	if (s->conn)
		evhttp_connection_free(s->conn);
	s->conn = NULL;
	s->ssl = NULL;
	s->conn_closed = false;
}

static void connection_closed(struct evhttp_connection *conn, void *arg)
{
	struct wh_sender *s = arg;
	(void)conn;
	s->conn_closed = true;
}

/* A new TLS connection to the endpoint (connected by the first request). */
static int connect_endpoint(struct wh_sender *s)
{
	const struct wh_endpoint *ep = sim_webhook_endpoint(s->wh);
	struct event_base *base = sim_webhook_base(s->wh);
	SSL *ssl = SSL_new(ep->tls);
	if (!ssl)
		return -1;
	if (!ep->host_is_ip)
		SSL_set_tlsext_host_name(ssl, ep->host);
	if (ep->verify) {
		int ok = ep->host_is_ip
			? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ep->host)
			: SSL_set1_host(ssl, ep->host);
		if (ok != 1) {
			SSL_free(ssl);
			return -1;
		}
	}
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(ssl);
		return -1;
	}
	/* An endpoint closing a kept-alive connection without close_notify
	 * is an ordinary end, not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->conn = evhttp_connection_base_bufferevent_new(base, NULL, bev,
							 ep->host,
							 (unsigned short)ep->port);
	if (!s->conn) {
		bufferevent_free(bev);
		return -1;
	}
	s->ssl = ssl;
	evhttp_connection_set_closecb(s->conn, connection_closed, s);
	return 0;
}

/* Why a connection failed: the TLS verification, OpenSSL, or errno. */
static void connection_reason(struct wh_sender *s, int err, char *out,
			      size_t outlen)
{
	const struct wh_endpoint *ep = sim_webhook_endpoint(s->wh);
	struct bufferevent *bev = s->conn ? evhttp_connection_get_bufferevent(s->conn)
					  : NULL;
	unsigned long ssl_err = bev ? bufferevent_get_openssl_error(bev) : 0;
	long verify = s->ssl ? SSL_get_verify_result(s->ssl) : X509_V_OK;
	if (ep->verify && verify != X509_V_OK) {
		snprintf(out, outlen, "TLS certificate verification failed: %s",
			 X509_verify_cert_error_string(verify));
	} else if (ssl_err) {
		char buf[128];
		ERR_error_string_n(ssl_err, buf, sizeof buf);
		snprintf(out, outlen, "TLS handshake failed: %s", buf);
	} else if (err) {
		snprintf(out, outlen, "%s", strerror(err));
	} else {
		snprintf(out, outlen, "connection failed");
	}
}

static void request_done(struct evhttp_request *req, void *arg)
{
	struct wh_sender *s = arg;
	int err = errno;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	evtimer_del(s->timeout_timer);
	if (code == 0) {
		s->outcome = WH_CONNECT_ERROR;
		connection_reason(s, err, s->reason, sizeof s->reason);
		s->conn_closed = true;  /* its TLS state is spent */
	} else if (s->fault == SIM_WEBHOOK_FAULT_STATUS) {
		s->outcome = s->fault_code / 100 == 2 ? WH_ACKED : WH_STATUS;
		snprintf(s->reason, sizeof s->reason, "%d (injected)",
			 s->fault_code);
	} else if (s->fault == SIM_WEBHOOK_FAULT_TIMEOUT) {
		s->outcome = WH_TIMEOUT;
		snprintf(s->reason, sizeof s->reason, "timed out (injected)");
		s->conn_closed = true;  /* a timed-out client hangs up */
	} else {
		const char *line = evhttp_request_get_response_code_line(req);
		s->outcome = code / 100 == 2 ? WH_ACKED : WH_STATUS;
		snprintf(s->reason, sizeof s->reason, "%d %s", code,
			 line ? line : "");
	}
	event_active(s->outcome_event, EV_TIMEOUT, 1);
}

static void handle_outcome(struct wh_sender *s);

static void request_timed_out(evutil_socket_t fd, short what, void *arg)
{
	struct wh_sender *s = arg;
	(void)fd;
	(void)what;
	/* Freeing the connection abandons the request without a callback. */
	drop_connection(s);
	s->outcome = WH_TIMEOUT;
	snprintf(s->reason, sizeof s->reason, "no answer within %lld ms",
		 (long long)sim_webhook_endpoint(s->wh)->client_timeout_ms);
	handle_outcome(s);
}

static void outcome_ready(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	handle_outcome(arg);
}

static int add_headers(struct wh_sender *s, struct evhttp_request *req)
{
	const struct wh_endpoint *ep = sim_webhook_endpoint(s->wh);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(h, "Host", ep->host_header) != 0 ||
	    evhttp_add_header(h, "Content-Type", "application/json") != 0 ||
	    evhttp_add_header(h, "User-Agent", "crdbsim-webhook") != 0)
		return -1;
	if (ep->auth_header &&
	    evhttp_add_header(h, "Authorization", ep->auth_header) != 0)
		return -1;
	return evbuffer_add(evhttp_request_get_output_buffer(req), s->body,
			    s->body_len);
}

/* Post s->body once; the outcome comes back through handle_outcome. */
static void attempt(struct wh_sender *s)
{
	const struct wh_endpoint *ep = sim_webhook_endpoint(s->wh);
	struct sim_webhook_stats *st = sim_webhook_stats_of(s->wh);
	s->fault_code = 0;
	s->fault = s->duplicate ? SIM_WEBHOOK_FAULT_CLEAR : take_fault(&s->fault_code);
	s->in_flight = true;
	st->in_flight++;
	if (s->fault == SIM_WEBHOOK_FAULT_REFUSE) {
		s->outcome = WH_CONNECT_ERROR;
		snprintf(s->reason, sizeof s->reason,
			 "connection refused (injected)");
		event_active(s->outcome_event, EV_TIMEOUT, 1);
		return;
	}
	if (s->conn && s->conn_closed)
		drop_connection(s);
	struct evhttp_request *req = NULL;
	if (!s->conn && connect_endpoint(s) != 0)
		goto cannot_start;
	if (!(req = evhttp_request_new(request_done, s)))
		goto cannot_start;
	if (add_headers(s, req) != 0) {
		evhttp_request_free(req);
		goto cannot_start;
	}
	if (evhttp_make_request(s->conn, req, EVHTTP_REQ_POST,
				ep->path_query) != 0)
		goto cannot_start;      /* it freed req */
	st->requests++;
	struct timeval tv = { ep->client_timeout_ms / 1000,
			      (ep->client_timeout_ms % 1000) * 1000 };
	evtimer_add(s->timeout_timer, &tv);
	return;
cannot_start:
	drop_connection(s);
	s->outcome = WH_CONNECT_ERROR;
	snprintf(s->reason, sizeof s->reason, "cannot start a request");
	event_active(s->outcome_event, EV_TIMEOUT, 1);
}

static void retry_due(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	attempt(arg);
}

static void finish(struct wh_sender *s)
{
	free(s->body);
	s->body = NULL;
	s->duplicate = false;
	s->retries = 0;
	s->done(s);             /* last: the owner may free the sink */
}

static void handle_outcome(struct wh_sender *s)
{
	const struct wh_endpoint *ep = sim_webhook_endpoint(s->wh);
	struct sim_webhook_stats *st = sim_webhook_stats_of(s->wh);
	s->in_flight = false;
	st->in_flight--;
	if (s->duplicate) {     /* its answer changes nothing */
		finish(s);
		return;
	}
	if (s->outcome == WH_ACKED) {
		if (sim_webhook_duplicating(s->wh)) {
			s->duplicate = true;
			attempt(s);
			return;
		}
		finish(s);
		return;
	}
	if (s->outcome == WH_STATUS)
		st->non_2xx++;
	else if (s->outcome == WH_TIMEOUT)
		st->timeouts++;
	else
		st->connect_errors++;
	if (s->outcome != WH_STATUS)
		drop_connection(s);
	if (s->retries >= ep->retry_max) {
		st->failures++;
		sim_webhook_fail(s->wh, s->reason);     /* last */
		return;
	}
	int64_t wait = ep->retry_backoff_ms;
	for (int64_t i = 0; i < s->retries && wait < WH_MAX_BACKOFF_MS; i++)
		wait *= 2;
	if (wait > WH_MAX_BACKOFF_MS)
		wait = WH_MAX_BACKOFF_MS;
	s->retries++;
	st->retries++;
	struct timeval tv = { wait / 1000, (wait % 1000) * 1000 };
	evtimer_add(s->retry_timer, &tv);
}

int wh_sender_init(struct wh_sender *s, struct sim_webhook *wh,
		   wh_done_fn done)
{
	struct event_base *base = sim_webhook_base(wh);
	memset(s, 0, sizeof *s);
	s->wh = wh;
	s->done = done;
	s->retry_timer = evtimer_new(base, retry_due, s);
	s->timeout_timer = evtimer_new(base, request_timed_out, s);
	s->outcome_event = event_new(base, -1, 0, outcome_ready, s);
	if (!s->retry_timer || !s->timeout_timer || !s->outcome_event) {
		wh_sender_release(s);
		return -1;
	}
	return 0;
}

void wh_sender_post(struct wh_sender *s, char *body, size_t len)
{
	s->body = body;
	s->body_len = len;
	s->retries = 0;
	s->duplicate = false;
	attempt(s);
}

bool wh_sender_busy(const struct wh_sender *s)
{
	return s->body != NULL;
}

void wh_sender_stop(struct wh_sender *s)
{
	drop_connection(s);
	if (s->retry_timer)
		evtimer_del(s->retry_timer);
	if (s->timeout_timer)
		evtimer_del(s->timeout_timer);
	if (s->outcome_event)
		event_del(s->outcome_event);
	if (s->in_flight)
		sim_webhook_stats_of(s->wh)->in_flight--;
	s->in_flight = false;
	free(s->body);
	s->body = NULL;
}

void wh_sender_release(struct wh_sender *s)
{
	wh_sender_stop(s);
	if (s->retry_timer)
		event_free(s->retry_timer);
	if (s->timeout_timer)
		event_free(s->timeout_timer);
	if (s->outcome_event)
		event_free(s->outcome_event);
	s->retry_timer = s->timeout_timer = s->outcome_event = NULL;
}
