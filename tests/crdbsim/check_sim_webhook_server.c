/*
 * check_sim_webhook_server.c: the HTTPS endpoint the webhook sink test
 * posts to (check_sim_webhook.h): throwaway self-signed certificates made
 * with OpenSSL's API, and an evhttp server over bufferevent_openssl that
 * records each request (headers, body, the payload's keys), notes requests
 * in flight at once that share a key, and answers from a status script,
 * after a delay, or when the test releases a held answer.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include "check_sim_webhook.h"

double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *pem_of(int (*write)(BIO *, void *), void *obj)
{
	BIO *bio = BIO_new(BIO_s_mem());
	ck_assert(bio && write(bio, obj) == 1);
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	char *out = strndup(data, (size_t)len);
	BIO_free(bio);
	ck_assert(out);
	return out;
}

static int write_cert(BIO *bio, void *x)
{
	return PEM_write_bio_X509(bio, x);
}

static int write_key(BIO *bio, void *k)
{
	return PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
}

static void add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ck_assert(ext && X509_add_ext(x, ext, -1) == 1);
	X509_EXTENSION_free(ext);
}

void test_cert_make(struct test_cert *c, const char *cn, const char *san)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	ck_assert(key && x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(now_ms()) & 0x7fffffff);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign");
	add_ext(x, NID_subject_alt_name, san);
	ck_assert(X509_sign(x, key, EVP_sha256()) > 0);
	c->cert_pem = pem_of(write_cert, x);
	c->key_pem = pem_of(write_key, key);
	X509_free(x);
	EVP_PKEY_free(key);
}

void test_cert_free(struct test_cert *c)
{
	free(c->cert_pem);
	free(c->key_pem);
}

struct pending {
	struct test_server *ts;
	struct evhttp_request *req;
	size_t idx;
	struct event *timer;
	struct pending *next;
};

struct server_priv {
	SSL_CTX *ctx;
	struct evhttp *http;
	struct pending *pending;
	struct pending *held;
	double started;
};

static void use_pem(SSL_CTX *ctx, const struct test_cert *cert)
{
	BIO *b = BIO_new_mem_buf(cert->cert_pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	b = BIO_new_mem_buf(cert->key_pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert(x && k && SSL_CTX_use_certificate(ctx, x) == 1 &&
		  SSL_CTX_use_PrivateKey(ctx, k) == 1);
	X509_free(x);
	EVP_PKEY_free(k);
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
	struct test_server *ts = arg;
	struct server_priv *priv = ts->priv;
	ts->connections++;
	return bufferevent_openssl_socket_new(base, -1, SSL_new(priv->ctx),
					      BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static char *header(struct evhttp_request *req, const char *name)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req),
					   name);
	return v ? strdup(v) : NULL;
}

static void parse_body(struct ts_request *r)
{
	json_t *doc = json_loads(r->body, 0, NULL);
	ck_assert_msg(doc, "request body is not JSON: %s", r->body);
	r->resolved = json_object_get(doc, "resolved") != NULL;
	json_t *payload = json_object_get(doc, "payload");
	json_t *length = json_object_get(doc, "length");
	if (payload) {
		ck_assert(json_is_array(payload) && json_is_integer(length));
		ck_assert_uint_eq(json_object_size(doc), 2);
		r->payload_len = json_array_size(payload);
		r->length_field = (long)json_integer_value(length);
		for (size_t i = 0; i < r->payload_len && r->nkeys < TS_MAX_KEYS; i++) {
			json_t *key = json_object_get(json_array_get(payload, i), "key");
			r->keys[r->nkeys++] = (int)json_integer_value(json_array_get(key, 0));
		}
	}
	json_decref(doc);
}

static bool share_key(const struct ts_request *a, const struct ts_request *b)
{
	for (size_t i = 0; i < a->nkeys; i++)
		for (size_t j = 0; j < b->nkeys; j++)
			if (a->keys[i] == b->keys[j])
				return true;
	return false;
}

static void answer(struct pending *p, int status)
{
	struct test_server *ts = p->ts;
	struct server_priv *priv = ts->priv;
	for (struct pending **pp = &priv->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	ts->in_flight--;
	evhttp_send_reply(p->req, status, status == 200 ? "OK" : "Scripted", NULL);
	if (p->timer)
		event_free(p->timer);
	free(p);
}

static int status_for(const struct test_server *ts, size_t idx)
{
	return idx < ts->nstatuses ? ts->statuses[idx] : 200;
}

static void answer_due(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	(void)fd;
	(void)what;
	answer(p, status_for(p->ts, p->idx));
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct test_server *ts = arg;
	struct server_priv *priv = ts->priv;
	ck_assert(ts->nreq < TS_MAX_REQUESTS);
	struct ts_request *r = &ts->req[ts->nreq];
	memset(r, 0, sizeof *r);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	r->body = calloc(1, len + 1);
	ck_assert(r->body);
	evbuffer_copyout(in, r->body, len);
	r->path = strdup(evhttp_request_get_uri(req));
	r->auth = header(req, "Authorization");
	r->content_type = header(req, "Content-Type");
	r->host = header(req, "Host");
	r->at_ms = now_ms() - priv->started;
	parse_body(r);
	for (struct pending *p = priv->pending; p; p = p->next)
		if (share_key(r, &ts->req[p->idx]))
			ts->key_overlaps++;
	struct pending *p = calloc(1, sizeof *p);
	ck_assert(p);
	p->ts = ts;
	p->req = req;
	p->idx = ts->nreq++;
	p->next = priv->pending;
	priv->pending = p;
	if (++ts->in_flight > ts->max_in_flight)
		ts->max_in_flight = ts->in_flight;
	if (ts->hold_next_payload && !r->resolved) {
		ts->hold_next_payload = false;
		ts->holding = true;
		priv->held = p;
	} else if (ts->delay_ms > 0) {
		/* 1 to 3 times delay_ms, so that nodes fall out of step */
		struct timeval tv = { 0, ts->delay_ms * 1000 * (1 + (int)(p->idx % 3)) };
		p->timer = evtimer_new(ts->base, answer_due, p);
		evtimer_add(p->timer, &tv);
	} else {
		answer(p, status_for(ts, p->idx));
	}
}

void test_server_release(struct test_server *ts)
{
	struct server_priv *priv = ts->priv;
	ck_assert(priv->held);
	answer(priv->held, 200);
	priv->held = NULL;
	ts->holding = false;
}

void test_server_start(struct test_server *ts, struct event_base *base,
		       const struct test_cert *cert, const char *client_ca_pem)
{
	struct server_priv *priv = calloc(1, sizeof *priv);
	ck_assert(priv);
	memset(ts, 0, sizeof *ts);
	ts->base = base;
	ts->priv = priv;
	priv->started = now_ms();
	priv->ctx = SSL_CTX_new(TLS_server_method());
	ck_assert(priv->ctx);
	use_pem(priv->ctx, cert);
	if (client_ca_pem) {
		BIO *b = BIO_new_mem_buf(client_ca_pem, -1);
		X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
		ck_assert(ca && X509_STORE_add_cert(SSL_CTX_get_cert_store(priv->ctx),
						    ca) == 1);
		X509_free(ca);
		SSL_CTX_set_verify(priv->ctx, SSL_VERIFY_PEER |
				   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	priv->http = evhttp_new(base);
	ck_assert(priv->http);
	evhttp_set_bevcb(priv->http, tls_bev, ts);
	evhttp_set_gencb(priv->http, on_request, ts);
	struct evhttp_bound_socket *bound =
		evhttp_bind_socket_with_handle(priv->http, "127.0.0.1", 0);
	ck_assert(bound);
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;
	ck_assert(getsockname(evhttp_bound_socket_get_fd(bound),
			      (struct sockaddr *)&sin, &slen) == 0);
	ts->port = ntohs(sin.sin_port);
}

void test_server_stop(struct test_server *ts)
{
	struct server_priv *priv = ts->priv;
	evhttp_free(priv->http);        /* frees the requests in flight */
	while (priv->pending) {
		struct pending *p = priv->pending;
		priv->pending = p->next;
		if (p->timer)
			event_free(p->timer);
		free(p);
	}
	SSL_CTX_free(priv->ctx);
	free(priv);
	for (size_t i = 0; i < ts->nreq; i++) {
		free(ts->req[i].path);
		free(ts->req[i].body);
		free(ts->req[i].auth);
		free(ts->req[i].content_type);
		free(ts->req[i].host);
	}
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

bool run_until(struct event_base *base, bool (*cond)(void *), void *arg,
	       int ms)
{
	double end = now_ms() + ms;
	struct event *ticker = event_new(base, -1, EV_PERSIST, tick, NULL);
	struct timeval tv = { 0, 5000 };
	ck_assert(ticker && event_add(ticker, &tv) == 0);
	while (!(cond && cond(arg)) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ticker);
	return cond && cond(arg);
}
