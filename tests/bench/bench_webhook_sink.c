/*
 * bench_webhook_sink.c: the least an HTTPS endpoint for a changefeed job's
 * webhook sink can do, the ingest benchmark's limit on this machine. One
 * thread, one event loop (as crdbfeedd): libevent's evhttp over OpenSSL
 * (bufferevent_openssl), HTTP/1.1 keep-alive; each request must be a POST
 * (evhttp answers 405 to others) with the expected "Authorization: Bearer
 * TOKEN" (401 without it), to --path when given (404 elsewhere); its body is parsed with
 * jansson (json_loadb) and must be an object; the answer is 200 with an
 * empty body. Nothing else: no rows are kept.
 *
 * --fsync FILE also appends each body to FILE and fdatasync()s it before
 * answering: the limit for an endpoint that answers only once a batch is
 * durable (what crdbfeedd's job feed promises).
 *
 * usage: bench_webhook_sink --cert PEM --key PEM --token-file F
 *            [--listen HOST] [--port P] [--port-file F] [--path PATH]
 *            [--fsync FILE] [--max-body BYTES]
 *
 * --port 0 (the default) binds any free port and writes it to --port-file.
 * On SIGTERM or SIGINT it prints one JSON line (requests, batches, rows,
 * resolved, bytes, answers by status) and exits 0.
 */
#include <config.h> /* autoconf's, from the build directory */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define TOKEN_MAX 4096
#define IDLE_TIMEOUT_S 120

struct sink {
	SSL_CTX *tls;
	char authorization[TOKEN_MAX + 16];
	size_t authorization_len;
	const char *path;     /* NULL: any path */
	int fsync_fd;         /* -1: no durability */
	uint64_t requests, batches, rows, resolved, bytes;
	uint64_t ok, bad_request, unauthorized, not_found, failed;
};

static void answer(struct evhttp_request *req, int status, const char *reason,
		   uint64_t *count)
{
	(*count)++;
	if (status == 200) {
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	struct evbuffer *body = evbuffer_new();
	if (body)
		evbuffer_add_printf(body, "%s\n", reason);
	evhttp_send_reply(req, status, reason, body);
	if (body)
		evbuffer_free(body);
}

static bool write_durably(int fd, const unsigned char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		data += w;
		len -= (size_t)w;
	}
	return fdatasync(fd) == 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct sink *s = arg;
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
					      "Authorization");

	s->requests++;
	if (s->path && strcmp(evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)) ?
			      evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)) : "",
			      s->path) != 0) {
		answer(req, 404, "no such path", &s->not_found);
		return;
	}
	if (!auth || strlen(auth) != s->authorization_len ||
	    CRYPTO_memcmp(auth, s->authorization, s->authorization_len) != 0) {
		answer(req, 401, "wrong or missing Authorization", &s->unauthorized);
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const unsigned char *body = evbuffer_pullup(in, -1);
	json_error_t err;
	json_t *doc = body ? json_loadb((const char *)body, len, 0, &err) : NULL;
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		answer(req, 400, "the body is not a JSON object", &s->bad_request);
		return;
	}
	json_t *payload = json_object_get(doc, "payload");
	if (json_is_array(payload)) {
		s->batches++;
		s->rows += json_array_size(payload);
	} else {
		s->resolved++;
	}
	json_decref(doc);
	if (s->fsync_fd >= 0 && !write_durably(s->fsync_fd, body, len)) {
		answer(req, 503, "cannot make the body durable", &s->failed);
		return;
	}
	s->bytes += len;
	answer(req, 200, NULL, &s->ok);
}

static struct bufferevent *new_tls_bev(struct event_base *base, void *arg)
{
	struct sink *s = arg;
	SSL *ssl = SSL_new(s->tls);

	if (!ssl)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static bool read_token(const char *path, struct sink *s)
{
	FILE *f = fopen(path, "re");
	char buf[TOKEN_MAX + 2];

	if (!f) {
		fprintf(stderr, "bench_webhook_sink: %s: %s\n", path, strerror(errno));
		return false;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *start = buf, *end = buf + n;
	while (start < end && strchr(" \t\r\n", *start))
		start++;
	while (end > start && strchr(" \t\r\n", end[-1]))
		end--;
	*end = '\0';
	if (start == end || n == sizeof(buf) - 1) {
		fprintf(stderr, "bench_webhook_sink: %s: no token, or longer than %d bytes\n",
			path, TOKEN_MAX);
		return false;
	}
	snprintf(s->authorization, sizeof(s->authorization), "Bearer %s", start);
	s->authorization_len = strlen(s->authorization);
	return true;
}

static bool load_tls(struct sink *s, const char *cert, const char *key)
{
	s->tls = SSL_CTX_new(TLS_server_method());
	if (s->tls && SSL_CTX_set_min_proto_version(s->tls, TLS1_2_VERSION) == 1 &&
	    SSL_CTX_use_certificate_chain_file(s->tls, cert) == 1 &&
	    SSL_CTX_use_PrivateKey_file(s->tls, key, SSL_FILETYPE_PEM) == 1 &&
	    SSL_CTX_check_private_key(s->tls) == 1)
		return true;
	char why[256];
	ERR_error_string_n(ERR_get_error(), why, sizeof(why));
	fprintf(stderr, "bench_webhook_sink: TLS certificate %s, key %s: %s\n", cert, key, why);
	return false;
}

static int bound_port(struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_webhook_sink --cert PEM --key PEM --token-file F "
		"[--listen HOST] [--port P] [--port-file F] [--path PATH] [--fsync FILE] "
		"[--max-body BYTES]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *token_file = NULL, *host = "127.0.0.1";
	const char *port_file = NULL, *fsync_file = NULL;
	int port = 0;
	size_t max_body = 8 << 20;
	struct sink s = { .fsync_fd = -1 };

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		const char *a = argv[i], *v = argv[++i];
		if (strcmp(a, "--cert") == 0)
			cert = v;
		else if (strcmp(a, "--key") == 0)
			key = v;
		else if (strcmp(a, "--token-file") == 0)
			token_file = v;
		else if (strcmp(a, "--listen") == 0)
			host = v;
		else if (strcmp(a, "--port") == 0)
			port = atoi(v);
		else if (strcmp(a, "--port-file") == 0)
			port_file = v;
		else if (strcmp(a, "--path") == 0)
			s.path = v;
		else if (strcmp(a, "--fsync") == 0)
			fsync_file = v;
		else if (strcmp(a, "--max-body") == 0)
			max_body = strtoull(v, NULL, 10);
		else
			usage();
	}
	if (!cert || !key || !token_file || port < 0 || port > 65535)
		usage();
	if (!read_token(token_file, &s) || !load_tls(&s, cert, key))
		return 1;
	if (fsync_file) {
		s.fsync_fd = open(fsync_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (s.fsync_fd < 0) {
			fprintf(stderr, "bench_webhook_sink: %s: %s\n", fsync_file, strerror(errno));
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct evhttp *http = base ? evhttp_new(base) : NULL;
	if (!http) {
		fprintf(stderr, "bench_webhook_sink: out of memory\n");
		return 1;
	}
	evhttp_set_bevcb(http, new_tls_bev, &s);
	evhttp_set_gencb(http, on_request, &s);
	evhttp_set_max_body_size(http, (ev_ssize_t)max_body);
	evhttp_set_timeout(http, IDLE_TIMEOUT_S);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_POST);
	struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(http, host,
									   (ev_uint16_t)port);
	if (!bound) {
		fprintf(stderr, "bench_webhook_sink: cannot listen on %s port %d\n", host, port);
		return 1;
	}
	port = bound_port(bound);
	if (port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		FILE *f = fopen(tmp, "we");
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
		    rename(tmp, port_file) != 0) {
			fprintf(stderr, "bench_webhook_sink: %s: %s\n", port_file, strerror(errno));
			return 1;
		}
	}
	struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
	struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
	if (!term || !intr || event_add(term, NULL) != 0 || event_add(intr, NULL) != 0) {
		fprintf(stderr, "bench_webhook_sink: cannot watch signals\n");
		return 1;
	}
	event_base_dispatch(base);
	printf("{\"requests\":%" PRIu64 ",\"batches\":%" PRIu64 ",\"rows\":%" PRIu64
	       ",\"resolved\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"fsync\":%s,\"answers\":{"
	       "\"200\":%" PRIu64 ",\"400\":%" PRIu64 ",\"401\":%" PRIu64 ",\"404\":%" PRIu64
	       ",\"503\":%" PRIu64 "}}\n",
	       s.requests, s.batches, s.rows, s.resolved, s.bytes,
	       s.fsync_fd >= 0 ? "true" : "false", s.ok, s.bad_request, s.unauthorized,
	       s.not_found, s.failed);
	fflush(stdout);
	event_free(term);
	event_free(intr);
	evhttp_free(http);
	event_base_free(base);
	SSL_CTX_free(s.tls);
	if (s.fsync_fd >= 0)
		close(s.fsync_fd);
	return 0;
}
