/*
 * check_ingest.c: the job feed's HTTPS endpoint (daemon/ingest.c) on its
 * own event loop in a thread, driven by a blocking OpenSSL client with
 * certificates made for the test by the openssl command: a batch reaches
 * the owner and the owner's status is the answer; wrong or missing
 * Authorization, oversize and malformed bodies, a wrong path, a GET, a
 * compressed body, too many requests and too many connections are refused
 * with their status, the owner not called; client certificates, when
 * asked for, must be signed by the configured CA; two requests share one
 * connection.
 */
#include <config.h> /* autoconf's, from the build directory */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "daemon/ingest.h"
#include "daemon/log.h"

#define PATH "/crdbfeed/t"
#define AUTH "Bearer s3cret-token"

static char pki[256]; /* the certificates' directory */

static const char batch[] =
	"{\"payload\":[{\"after\":{\"a\":1},\"key\":[1],\"topic\":\"t\","
	"\"updated\":\"1.0000000001\"},{\"after\":null,\"key\":[2],\"topic\":\"u\","
	"\"updated\":\"1.0000000001\"}],\"length\":2}";

/* ------------------------------------------------------------------ */
/* The endpoint on its loop                                            */

struct server {
	struct event_base *base;
	struct ingest *ig;
	struct event *tick;
	pthread_t thread;
	atomic_int stop;
	pthread_mutex_t mu;
	int status;             /* what the owner answers */
	int calls;              /* owner calls */
	char got[1024];         /* "table key value\n" per message */
	crdb_hlc resolved;
	struct ingest_stats stats; /* at the end */
};

static int owner_body(void *arg, const struct webhook_body *body,
		      char *reason, size_t reason_len)
{
	struct server *s = arg;
	int status;

	pthread_mutex_lock(&s->mu);
	s->calls++;
	if (body->kind == WEBHOOK_BODY_RESOLVED)
		s->resolved = body->resolved;
	for (size_t i = 0; i < body->nmsgs; i++) {
		size_t used = strlen(s->got);
		snprintf(s->got + used, sizeof s->got - used, "%s %s %s\n",
			 body->msgs[i].table, body->msgs[i].key, body->msgs[i].value);
	}
	status = s->status;
	pthread_mutex_unlock(&s->mu);
	if (status != 200)
		snprintf(reason, reason_len, "the store is full");
	return status;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

static void *serve(void *arg)
{
	struct server *s = arg;

	while (!atomic_load(&s->stop))
		event_base_loop(s->base, EVLOOP_ONCE);
	return NULL;
}

static void file_name(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", pki, name);
}

static void server_start(struct server *s, struct ingest_config *cfg)
{
	char cert[300], key[300], errbuf[512] = "";
	struct ingest_owner owner = {.body = owner_body, .arg = s};
	struct timeval tv = {0, 20000};

	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->status = 200;
	file_name(cert, sizeof cert, "server.crt");
	file_name(key, sizeof key, "server.key");
	cfg->who = "feed t";
	cfg->listen_host = "127.0.0.1";
	cfg->path = PATH;
	cfg->tls_cert = cert;
	cfg->tls_key = key;
	cfg->authorization = AUTH;
	if (!cfg->idle_timeout_s)
		cfg->idle_timeout_s = 5;
	s->base = event_base_new();
	ck_assert_ptr_nonnull(s->base);
	s->ig = ingest_new(s->base, cfg, &owner, errbuf, sizeof errbuf);
	ck_assert_msg(s->ig != NULL, "ingest_new: %s", errbuf);
	ck_assert_int_gt(ingest_port(s->ig), 0);
	/* The loop wakes up to see stop. */
	s->tick = event_new(s->base, -1, EV_PERSIST, tick, NULL);
	event_add(s->tick, &tv);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	ingest_get_stats(s->ig, &s->stats);
	ingest_free(s->ig);
	event_free(s->tick);
	event_base_free(s->base);
}

static int owner_calls(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->calls;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ------------------------------------------------------------------ */
/* A blocking HTTPS client                                             */

struct client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

/* Connect and shake hands (client certificate optional): 0, or -1 when
 * the handshake fails. */
static int client_open(struct client *c, int port, const char *cert_name,
		       const char *key_name)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {3, 0};
	char ca[300], cert[300], key[300];

	memset(c, 0, sizeof *c);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(c->fd, 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sin, sizeof sin), 0);
	c->ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(c->ctx);
	file_name(ca, sizeof ca, "ca.crt");
	ck_assert_int_eq(SSL_CTX_load_verify_locations(c->ctx, ca, NULL), 1);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (cert_name) {
		file_name(cert, sizeof cert, cert_name);
		file_name(key, sizeof key, key_name);
		ck_assert_int_eq(SSL_CTX_use_certificate_file(c->ctx, cert, SSL_FILETYPE_PEM), 1);
		ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM), 1);
	}
	c->ssl = SSL_new(c->ctx);
	ck_assert_ptr_nonnull(c->ssl);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	return SSL_connect(c->ssl) == 1 ? 0 : -1;
}

static void client_close(struct client *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
}

struct response {
	int status;        /* -1: no answer (connection closed or failed) */
	char head[2048];   /* status line and headers */
	char body[1024];
};

/* One request; extra is more header lines ("Name: value\r\n" each). */
static void client_request(struct client *c, const char *method, const char *path,
			   const char *extra, const char *body, size_t body_len,
			   struct response *r)
{
	char req[8192], buf[8192];
	size_t have = 0;
	int n;

	memset(r, 0, sizeof *r);
	r->status = -1;
	n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: localhost\r\n%s"
		     "Content-Length: %zu\r\n\r\n", method, path, extra, body_len);
	ck_assert_int_lt(n, (int)(sizeof req - body_len));
	/* One write: no wait for Nagle's algorithm between head and body. */
	memcpy(req + n, body, body_len);
	n += (int)body_len;
	if (SSL_write(c->ssl, req, n) != n)
		return;
	char *end = NULL;
	while (!end) {
		int got = SSL_read(c->ssl, buf + have, (int)(sizeof buf - 1 - have));
		if (got <= 0)
			return;
		have += (size_t)got;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		ck_assert_uint_lt(have, sizeof buf - 1);
	}
	size_t head_len = (size_t)(end - buf) + 4;
	ck_assert_uint_lt(head_len, sizeof r->head);
	memcpy(r->head, buf, head_len);
	const char *cl = strcasestr(r->head, "\r\nContent-Length:");
	size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
	ck_assert_uint_lt(want, sizeof r->body);
	while (have - head_len < want) {
		int got = SSL_read(c->ssl, buf + have, (int)(sizeof buf - 1 - have));
		if (got <= 0)
			return;
		have += (size_t)got;
	}
	memcpy(r->body, buf + head_len, want);
	ck_assert_int_eq(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
}

static const char json_auth[] =
	"Authorization: " AUTH "\r\nContent-Type: application/json\r\n";

/* One request on a connection of its own. */
static void post_once(struct server *s, const char *extra, const char *body,
		      size_t len, struct response *r)
{
	struct client c;

	ck_assert_int_eq(client_open(&c, ingest_port(s->ig), NULL, NULL), 0);
	client_request(&c, "POST", PATH, extra, body, len, r);
	client_close(&c);
}

/* ------------------------------------------------------------------ */

START_TEST(test_batch_and_resolved)
{
	struct ingest_config cfg = {.max_body = 0};
	struct server s;
	struct response r;
	static const char resolved[] = "{\"resolved\":\"2.0000000003\"}";

	server_start(&s, &cfg);
	post_once(&s, json_auth, batch, strlen(batch), &r);
	ck_assert_msg(r.status == 200, "%s%s", r.head, r.body);
	ck_assert_int_eq(owner_calls(&s), 1);
	ck_assert_str_eq(s.got, "t [1] {\"after\":{\"a\":1},\"updated\":\"1.0000000001\"}\n"
				"u [2] {\"after\":null,\"updated\":\"1.0000000001\"}\n");
	post_once(&s, json_auth, resolved, strlen(resolved), &r);
	ck_assert_int_eq(r.status, 200);
	server_stop(&s);
	ck_assert_int_eq(s.resolved.wall, 2);
	ck_assert_int_eq(s.resolved.logical, 3);
	ck_assert_uint_eq(s.stats.requests, 2);
	ck_assert_uint_eq(s.stats.batches, 1);
	ck_assert_uint_eq(s.stats.resolved, 1);
	ck_assert_uint_eq(s.stats.rows, 2);
	ck_assert_uint_eq(s.stats.bytes, strlen(batch) + strlen(resolved));
	ck_assert_uint_eq(s.stats.answered_4xx + s.stats.answered_5xx, 0);
}
END_TEST

/* The owner's status and reason are the answer. */
START_TEST(test_owner_503)
{
	struct ingest_config cfg = {.max_body = 0};
	struct server s;
	struct response r;

	server_start(&s, &cfg);
	s.status = 503;
	post_once(&s, json_auth, batch, strlen(batch), &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.body, "the store is full\n");
	server_stop(&s);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_uint_eq(s.stats.answered_5xx, 1);
	ck_assert_uint_eq(s.stats.batches, 0);
}
END_TEST

START_TEST(test_authorization)
{
	static const char *const wrong[] = {
		"Content-Type: application/json\r\n",
		"Authorization: Bearer s3cret-tokeN\r\nContent-Type: application/json\r\n",
		"Authorization: Bearer s3cret\r\nContent-Type: application/json\r\n",
		"Authorization: " AUTH "x\r\nContent-Type: application/json\r\n",
	};
	struct ingest_config cfg = {.max_body = 0};
	struct server s;
	struct response r;

	server_start(&s, &cfg);
	for (size_t i = 0; i < 4; i++) {
		post_once(&s, wrong[i], batch, strlen(batch), &r);
		ck_assert_int_eq(r.status, 401);
		ck_assert_ptr_nonnull(strstr(r.head, "\r\nWWW-Authenticate: Bearer\r\n"));
	}
	ck_assert_str_eq(r.body, "wrong Authorization\n");
	server_stop(&s);
	ck_assert_int_eq(s.calls, 0);
	ck_assert_uint_eq(s.stats.unauthorized, 4);
	ck_assert_uint_eq(s.stats.answered_4xx, 4);
}
END_TEST

START_TEST(test_oversize)
{
	struct ingest_config cfg = {.max_body = 1024};
	struct server s;
	struct response r;
	char big[2048];

	memset(big, ' ', sizeof big);
	memcpy(big, batch, strlen(batch));
	server_start(&s, &cfg);
	post_once(&s, json_auth, big, sizeof big, &r);
	ck_assert_int_eq(r.status, 413);
	/* Just under the bound: taken (spaces after the object are JSON's). */
	post_once(&s, json_auth, big, 1024, &r);
	ck_assert_int_eq(r.status, 200);
	server_stop(&s);
	ck_assert_int_eq(s.calls, 1);
}
END_TEST

/* A malformed body: 400 with the parser's reason, logged with the peer. */
START_TEST(test_malformed)
{
	static const char bad[] =
		"{\"payload\":[{\"after\":{\"a\":1},\"key\":\"1\",\"topic\":\"t\"}],\"length\":1}";
	struct ingest_config cfg = {.max_body = 0};
	struct server s;
	struct response r;
	char log_path[300], logged[4096] = "";

	snprintf(log_path, sizeof log_path, "%s/stderr-%d", pki, (int)getpid());
	FILE *log = freopen(log_path, "w", stderr);
	ck_assert_ptr_nonnull(log);
	server_start(&s, &cfg);
	post_once(&s, json_auth, bad, strlen(bad), &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.body, "payload[0]: \"key\" is not a JSON array\n");
	server_stop(&s);
	fflush(stderr);
	FILE *f = fopen(log_path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(logged, 1, sizeof logged - 1, f);
	logged[n] = '\0';
	fclose(f);
	unlink(log_path);
	ck_assert_msg(strstr(logged, "feed t: ingest: answered 400 to 127.0.0.1:") &&
		      strstr(logged, ": payload[0]: \"key\" is not a JSON array"),
		      "log: %s", logged);
	ck_assert_int_eq(s.calls, 0);
	ck_assert_uint_eq(s.stats.answered_4xx, 1);
}
END_TEST

/* Path, method, type and encoding, on one kept-alive connection. */
START_TEST(test_refusals_keepalive)
{
	struct ingest_config cfg = {.max_body = 0};
	struct server s;
	struct response r;
	struct client c;

	server_start(&s, &cfg);
	ck_assert_int_eq(client_open(&c, ingest_port(s.ig), NULL, NULL), 0);
	client_request(&c, "POST", "/crdbfeed/other", json_auth, batch, strlen(batch), &r);
	ck_assert_int_eq(r.status, 404);
	client_request(&c, "GET", PATH, json_auth, "", 0, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(strstr(r.head, "\r\nAllow: POST\r\n"));
	client_request(&c, "POST", PATH, "Authorization: " AUTH "\r\nContent-Type: text/plain\r\n",
		       batch, strlen(batch), &r);
	ck_assert_int_eq(r.status, 415);
	client_request(&c, "POST", PATH, "Authorization: " AUTH "\r\n"
		       "Content-Type: application/json\r\nContent-Encoding: gzip\r\n",
		       batch, strlen(batch), &r);
	ck_assert_int_eq(r.status, 415);
	ck_assert_ptr_nonnull(strstr(r.body, "Content-Encoding gzip"));
	/* The same connection still takes batches, twice. */
	client_request(&c, "POST", PATH, json_auth, batch, strlen(batch), &r);
	ck_assert_int_eq(r.status, 200);
	client_request(&c, "POST", PATH, "Authorization: " AUTH "\r\n"
		       "Content-Type: application/json; charset=utf-8\r\n",
		       batch, strlen(batch), &r);
	ck_assert_int_eq(r.status, 200);
	client_close(&c);
	server_stop(&s);
	ck_assert_int_eq(s.calls, 2);
	ck_assert_uint_eq(s.stats.requests, 6);
	ck_assert_uint_eq(s.stats.answered_4xx, 4);
	ck_assert_uint_eq(s.stats.batches, 2);
}
END_TEST

START_TEST(test_rate_limit)
{
	struct ingest_config cfg = {.max_rate = 2};
	struct server s;
	struct response r;
	struct client c;

	server_start(&s, &cfg);
	ck_assert_int_eq(client_open(&c, ingest_port(s.ig), NULL, NULL), 0);
	for (int i = 0; i < 2; i++) {
		client_request(&c, "POST", PATH, json_auth, batch, strlen(batch), &r);
		ck_assert_int_eq(r.status, 200);
	}
	client_request(&c, "POST", PATH, json_auth, batch, strlen(batch), &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_ptr_nonnull(strstr(r.head, "\r\nRetry-After: 1\r\n"));
	/* An unauthorized request spends no token and is not rate limited. */
	client_request(&c, "POST", PATH, "Content-Type: application/json\r\n", batch,
		       strlen(batch), &r);
	ck_assert_int_eq(r.status, 401);
	usleep(600 * 1000);
	client_request(&c, "POST", PATH, json_auth, batch, strlen(batch), &r);
	ck_assert_int_eq(r.status, 200);
	client_close(&c);
	server_stop(&s);
	ck_assert_int_eq(s.calls, 3);
	ck_assert_uint_eq(s.stats.rate_limited, 1);
}
END_TEST

static bool answered(struct client *c)
{
	struct response r;

	client_request(c, "POST", PATH, json_auth, batch, strlen(batch), &r);
	return r.status == 200;
}

/* The (N+1)th connection is closed; once one closes, a new one is taken. */
START_TEST(test_max_connections)
{
	struct ingest_config cfg = {.max_connections = 2};
	struct server s;
	struct client a, b, extra;
	struct ingest_stats st;

	server_start(&s, &cfg);
	ck_assert_int_eq(client_open(&a, ingest_port(s.ig), NULL, NULL), 0);
	ck_assert_int_eq(client_open(&b, ingest_port(s.ig), NULL, NULL), 0);
	ck_assert(answered(&a));
	ck_assert(answered(&b));
	ck_assert_int_eq(client_open(&extra, ingest_port(s.ig), NULL, NULL) == 0 &&
			 answered(&extra), 0);
	client_close(&extra);
	client_close(&a);
	/* The server counts a out on one of its next passes. */
	bool taken = false;
	for (int i = 0; i < 50 && !taken; i++) {
		usleep(40 * 1000);
		taken = client_open(&extra, ingest_port(s.ig), NULL, NULL) == 0 &&
			answered(&extra);
		client_close(&extra);
	}
	ck_assert_msg(taken, "no connection taken after one closed");
	ck_assert(answered(&b));
	client_close(&b);
	server_stop(&s);
	st = s.stats;
	ck_assert_uint_ge(st.connections_refused, 1);
	ck_assert_uint_eq(s.calls, 4);
}
END_TEST

/* With client_ca: no certificate, or one another CA signed, gets no
 * answer; one the CA signed does. */
START_TEST(test_client_certificates)
{
	struct ingest_config cfg = {.max_body = 0};
	char ca[300];
	struct server s;
	struct client c;

	file_name(ca, sizeof ca, "ca.crt");
	cfg.client_ca = ca;
	server_start(&s, &cfg);
	int port = ingest_port(s.ig);
	/* Under TLS 1.3 the client may finish first: the refusal then ends
	 * the first read. */
	ck_assert(!(client_open(&c, port, NULL, NULL) == 0 && answered(&c)));
	client_close(&c);
	ck_assert(!(client_open(&c, port, "other-client.crt", "other-client.key") == 0 &&
		    answered(&c)));
	client_close(&c);
	ck_assert_int_eq(client_open(&c, port, "client.crt", "client.key"), 0);
	ck_assert(answered(&c));
	client_close(&c);
	server_stop(&s);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_uint_eq(s.stats.connections_refused, 2);
}
END_TEST

/* Refused at ingest_new, with the file named. */
START_TEST(test_config_errors)
{
	struct ingest_config cfg = {.who = "feed t", .listen_host = "127.0.0.1",
				    .path = PATH, .authorization = AUTH};
	struct ingest_owner owner = {.body = owner_body};
	struct event_base *base = event_base_new();
	char errbuf[512] = "", key[300];

	cfg.tls_cert = "/nonexistent/server.crt";
	file_name(key, sizeof key, "server.key");
	cfg.tls_key = key;
	ck_assert_ptr_null(ingest_new(base, &cfg, &owner, errbuf, sizeof errbuf));
	ck_assert_msg(strncmp(errbuf, "feed t: TLS certificate /nonexistent/server.crt: ", 49) == 0,
		      "%s", errbuf);
	errbuf[0] = '\0';
	cfg.authorization = "";
	ck_assert_ptr_null(ingest_new(base, &cfg, &owner, errbuf, sizeof errbuf));
	ck_assert_ptr_nonnull(strstr(errbuf, "Authorization"));
	event_base_free(base);
}
END_TEST

/* ------------------------------------------------------------------ */

static int run(const char *cmd)
{
	char line[1024];

	snprintf(line, sizeof line, "cd '%s' && %s >>openssl.log 2>&1", pki, cmd);
	return system(line);
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

/* Two CAs; a server certificate and a client one from the first, a
 * client one from the other. */
static void make_pki(void)
{
	static const char *const steps[] = {
		"openssl req -x509 " EC " -keyout ca.key -out ca.crt -subj /CN=test-ca -days 2",
		"openssl req -x509 " EC " -keyout other-ca.key -out other-ca.crt -subj /CN=other-ca -days 2",
		"openssl req " EC " -keyout server.key -out server.csr -subj /CN=localhost",
		"printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' >server.ext && "
		"openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
		"-extfile server.ext -out server.crt -days 2",
		"openssl req " EC " -keyout client.key -out client.csr -subj /CN=job",
		"openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
		"-out client.crt -days 2",
		"openssl req " EC " -keyout other-client.key -out other-client.csr -subj /CN=job",
		"openssl x509 -req -in other-client.csr -CA other-ca.crt -CAkey other-ca.key "
		"-CAcreateserial -out other-client.crt -days 2",
	};

	if (system("command -v openssl >/dev/null 2>&1") != 0) {
		fprintf(stderr, "check_ingest: the openssl command is not installed\n");
		exit(EXIT_FAILURE);
	}
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (run(steps[i]) != 0) {
			fprintf(stderr, "check_ingest: making certificates failed: %s "
				"(see %s/openssl.log)\n", steps[i], pki);
			exit(EXIT_FAILURE);
		}
}

int main(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;
	char cmd[300];

	snprintf(pki, sizeof pki, "%s/check_ingest.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(pki)) {
		perror("check_ingest: mkdtemp");
		return EXIT_FAILURE;
	}
	make_pki();
	/* A refused connection's writes fail instead of killing the test. */
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LEVEL_INFO);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_batch_and_resolved);
	tcase_add_test(tc, test_owner_503);
	tcase_add_test(tc, test_authorization);
	tcase_add_test(tc, test_oversize);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_refusals_keepalive);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_client_certificates);
	tcase_add_test(tc, test_config_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki);
	if (system(cmd) != 0)
		fprintf(stderr, "check_ingest: could not remove %s\n", pki);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
