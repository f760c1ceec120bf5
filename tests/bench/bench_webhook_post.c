/*
 * bench_webhook_post.c: the ingest benchmark's load generator. It plays K
 * CockroachDB nodes of a changefeed job's webhook sink (doc/crdb-wire.md
 * §16): K threads, each with its own kept-alive HTTPS connection (blocking
 * OpenSSL, the server's certificate verified against --ca), POST batches
 * of B wrapped messages {"payload":[...],"length":B} with
 * "Authorization: Bearer TOKEN". Node n's keys are [n * 1e9 + i], so no two
 * requests in flight share a key; every batch takes the next tick of one
 * shared clock as its rows' "updated" (so each node's timestamps increase).
 *
 * Node 1 is also the coordinator: after an acknowledgement of its own,
 * once R more rows were acknowledged (all nodes together), it posts
 * {"resolved":"T"} with T just below the oldest batch still unacknowledged
 * on any node: a resolved timestamp only ever covers acknowledged rows.
 * When every node is done it posts the resolved timestamp covering all.
 *
 * A batch answered other than 2xx, or lost with its connection, is sent
 * again on a new connection after a backoff (100 ms doubling to 2 s), up
 * to --retries times; then the run fails. Each message is about --size
 * bytes without its key and topic, as a crdbsim firehose row.
 *
 * usage: bench_webhook_post --port P --path PATH --token-file F --ca FILE
 *            --rows N [--host H] [--nodes K] [--batch B]
 *            [--resolved-every R] [--topic T] [--size S] [--ahead S]
 *            [--retries N]
 *
 * N rows in all, split across the nodes. Prints one JSON line: rows,
 * requests, resolved posts, seconds (first request sent to last answer),
 * rows_per_s, requests_per_s, batch latency p50/p99 (ms), answers by
 * status, transport errors. Exits 1 when a batch could not be delivered.
 */
#include <config.h> /* autoconf's, from the build directory */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define KEY_STRIDE UINT64_C(1000000000) /* node n's keys: n * KEY_STRIDE + i */
#define MAX_NODES 64
#define HEAD_MAX 16384           /* an answer's status line and headers */
#define TOKEN_MAX 4096
#define REASON_MAX 200           /* the first refusal's body, kept for the report */
#define STATUS_MAX 600
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000

struct options {
	const char *host, *path, *ca, *topic;
	int port;
	char authorization[TOKEN_MAX + 16];
	unsigned nodes, batch, retries;
	uint64_t rows, resolved_every;
	size_t size;
	int64_t ahead_s;
};

/* What every node shares: the clock, what is in flight, the counts. */
struct shared {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	uint64_t clock;                /* the next batch's tick */
	uint64_t inflight[MAX_NODES];  /* each node's unacknowledged tick, 0: none */
	uint64_t acked_rows, requests, resolved_posts, transport_errors, retries;
	uint64_t answers[STATUS_MAX];  /* by HTTP status (others: [0]) */
	unsigned nodes_done;
	bool failed;
	char reason[REASON_MAX];
	int64_t first_ns, last_ns;
	int64_t wall_base;             /* "updated" = wall_base + tick (ns) */
};

struct conn {
	SSL *ssl;
	int fd;
	char in[HEAD_MAX];
	size_t have;                   /* bytes in `in` not yet consumed */
};

struct node {
	unsigned id;                   /* 1..K */
	uint64_t rows;                 /* this node's share */
	const struct options *opt;
	struct shared *sh;
	SSL_CTX *tls;
	struct conn conn;
	double *latency_ms;            /* one per batch */
	size_t nlatency;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- the connection ----------------------------------------------------- */

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->have = 0;
}

static bool conn_open(struct node *n)
{
	const struct options *o = n->opt;
	struct conn *c = &n->conn;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char port[16];
	int one = 1;

	snprintf(port, sizeof(port), "%d", o->port);
	if (getaddrinfo(o->host, port, &hints, &ai) != 0)
		return false;
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		freeaddrinfo(ai);
		conn_close(c);
		return false;
	}
	freeaddrinfo(ai);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ssl = SSL_new(n->tls);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		conn_close(c);
		return false;
	}
	/* The certificate must name the host: an address or a DNS name. */
	X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
	struct in6_addr a6;
	struct in_addr a4;
	bool numeric = inet_pton(AF_INET, o->host, &a4) == 1 ||
		       inet_pton(AF_INET6, o->host, &a6) == 1;
	if (numeric ? X509_VERIFY_PARAM_set1_ip_asc(param, o->host) != 1 :
		      X509_VERIFY_PARAM_set1_host(param, o->host, 0) != 1 ||
			      SSL_set_tlsext_host_name(c->ssl, o->host) != 1) {
		conn_close(c);
		return false;
	}
	if (SSL_connect(c->ssl) != 1) {
		unsigned long e = ERR_get_error();
		char why[256];

		ERR_error_string_n(e, why, sizeof(why));
		fprintf(stderr, "bench_webhook_post: node %u: TLS to %s:%d: %s\n",
			n->id, o->host, o->port, e ? why : "connection closed");
		ERR_clear_error();
		conn_close(c);
		return false;
	}
	return true;
}

static bool conn_write(struct conn *c, const char *buf, size_t len)
{
	while (len > 0) {
		int w = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);

		if (w <= 0)
			return false;
		buf += w;
		len -= (size_t)w;
	}
	return true;
}

/* More bytes into c->in; false at end of stream or on an error. */
static bool conn_fill(struct conn *c)
{
	if (c->have == sizeof(c->in))
		return false;
	int r = SSL_read(c->ssl, c->in + c->have, (int)(sizeof(c->in) - c->have));

	if (r <= 0)
		return false;
	c->have += (size_t)r;
	return true;
}

static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->have - n);
	c->have -= n;
}

/* Discard (or keep up to keep_len bytes of) len bytes of body. */
static bool conn_skip(struct conn *c, uint64_t len, char *keep, size_t keep_len,
		      size_t *kept)
{
	while (len > 0) {
		if (c->have == 0 && !conn_fill(c))
			return false;
		size_t n = c->have < len ? c->have : (size_t)len;
		if (keep && *kept < keep_len) {
			size_t k = keep_len - *kept < n ? keep_len - *kept : n;
			memcpy(keep + *kept, c->in, k);
			*kept += k;
		}
		conn_consume(c, n);
		len -= n;
	}
	return true;
}

/* One CRLF-terminated line (without the CRLF) at the start of c->in. */
static bool conn_line(struct conn *c, char *line, size_t cap)
{
	for (;;) {
		char *eol = memmem(c->in, c->have, "\r\n", 2);

		if (eol) {
			size_t n = (size_t)(eol - c->in);
			if (n >= cap)
				return false;
			memcpy(line, c->in, n);
			line[n] = '\0';
			conn_consume(c, n + 2);
			return true;
		}
		if (!conn_fill(c))
			return false;
	}
}

/*
 * One answer: its status, or -1 when the connection broke. *keep_alive
 * false when the server closes the connection after it. The body is
 * discarded (its first bytes kept in reason when not 2xx).
 */
static int read_answer(struct conn *c, bool *keep_alive, char *reason, size_t rlen)
{
	char line[HEAD_MAX];
	int status;
	uint64_t length = 0;
	bool chunked = false;
	size_t kept = 0;

	*keep_alive = true;
	if (!conn_line(c, line, sizeof(line)) ||
	    sscanf(line, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	if (strncmp(line, "HTTP/1.0", 8) == 0)
		*keep_alive = false;
	for (;;) {
		if (!conn_line(c, line, sizeof(line)))
			return -1;
		if (line[0] == '\0')
			break;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			length = strtoull(line + 15, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
			 strcasestr(line + 18, "chunked"))
			chunked = true;
		else if (strncasecmp(line, "Connection:", 11) == 0 &&
			 strcasestr(line + 11, "close"))
			*keep_alive = false;
	}
	char *keep = status / 100 == 2 ? NULL : reason;
	if (!chunked) {
		if (!conn_skip(c, length, keep, rlen ? rlen - 1 : 0, &kept))
			return -1;
	} else {
		for (;;) {
			if (!conn_line(c, line, sizeof(line)))
				return -1;
			uint64_t n = strtoull(line, NULL, 16);
			if (n == 0) {
				/* Trailers, then the empty line. */
				do {
					if (!conn_line(c, line, sizeof(line)))
						return -1;
				} while (line[0] != '\0');
				break;
			}
			if (!conn_skip(c, n, keep, rlen ? rlen - 1 : 0, &kept) ||
			    !conn_line(c, line, sizeof(line)))
				return -1;
		}
	}
	if (keep && rlen) {
		while (kept > 0 && strchr(" \t\r\n", reason[kept - 1]))
			kept--;
		reason[kept] = '\0';
	}
	return status;
}

/* ---- requests ----------------------------------------------------------- */

struct request {
	char *buf;
	size_t len, cap;
};

static bool req_reserve(struct request *r, size_t more)
{
	if (r->len + more + 1 <= r->cap)
		return true;
	size_t cap = r->cap ? r->cap : 4096;
	while (cap < r->len + more + 1)
		cap *= 2;
	char *grown = realloc(r->buf, cap);
	if (!grown)
		return false;
	r->buf = grown;
	r->cap = cap;
	return true;
}

static bool req_add(struct request *r, const char *s, size_t n)
{
	if (!req_reserve(r, n))
		return false;
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return true;
}

/* The request's head for a body of body_len bytes (the body follows). */
static bool req_head(struct request *r, const struct options *o, size_t body_len)
{
	char head[TOKEN_MAX + 1024];
	int n = snprintf(head, sizeof(head),
			 "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
			 "Content-Type: application/json\r\n"
			 "Authorization: %s\r\nContent-Length: %zu\r\n\r\n",
			 o->path, o->host, o->port, o->authorization, body_len);

	r->len = 0;
	return n > 0 && (size_t)n < sizeof(head) && req_add(r, head, (size_t)n);
}

/* The body of `count` rows from key `first`, all updated at `wall`. */
static bool batch_body(struct request *body, const struct options *o,
		       const char *pad, uint64_t first, unsigned count, int64_t wall)
{
	char msg[256];

	body->len = 0;
	if (!req_add(body, "{\"payload\":[", 12))
		return false;
	for (unsigned i = 0; i < count; i++) {
		uint64_t key = first + i;
		int n = snprintf(msg, sizeof(msg), "%s{\"after\": {\"id\": %" PRIu64
				 ", \"payload\": \"", i ? ", " : "", key);
		if (n <= 0 || (size_t)n >= sizeof(msg) || !req_add(body, msg, (size_t)n) ||
		    !req_add(body, pad, strlen(pad)))
			return false;
		n = snprintf(msg, sizeof(msg), "\"}, \"key\": [%" PRIu64 "], \"topic\": \"%s\", "
			     "\"updated\": \"%" PRId64 ".0000000000\"}", key, o->topic, wall);
		if (n <= 0 || (size_t)n >= sizeof(msg) || !req_add(body, msg, (size_t)n))
			return false;
	}
	char tail[64];
	int n = snprintf(tail, sizeof(tail), "],\"length\":%u}", count);
	return n > 0 && (size_t)n < sizeof(tail) && req_add(body, tail, (size_t)n);
}

static void note_answer(struct shared *sh, int status, const char *reason)
{
	pthread_mutex_lock(&sh->lock);
	sh->requests++;
	if (status < 0)
		sh->transport_errors++;
	else
		sh->answers[status > 0 && status < STATUS_MAX ? status : 0]++;
	if (status >= 0 && status / 100 != 2 && !sh->reason[0] && reason)
		snprintf(sh->reason, sizeof(sh->reason), "%d %s", status, reason);
	sh->last_ns = now_ns();
	pthread_mutex_unlock(&sh->lock);
}

/*
 * POST the body until it is answered 2xx (reconnecting after a failure),
 * at most 1 + retries attempts. The status of the last answer, -1 when
 * the connection broke every time.
 */
static int post(struct node *n, struct request *req, const struct request *body)
{
	struct shared *sh = n->sh;
	unsigned backoff = BACKOFF_FIRST_MS;
	int status = -1;

	if (!req_head(req, n->opt, body->len) || !req_add(req, body->buf, body->len))
		return -1;
	for (unsigned attempt = 0; attempt <= n->opt->retries; attempt++) {
		char reason[REASON_MAX];
		bool keep_alive = false;

		reason[0] = '\0';
		if (attempt > 0) {
			pthread_mutex_lock(&sh->lock);
			sh->retries++;
			pthread_mutex_unlock(&sh->lock);
			sleep_ms(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		}
		if (!n->conn.ssl && !conn_open(n)) {
			note_answer(sh, -1, NULL);
			continue;
		}
		status = conn_write(&n->conn, req->buf, req->len) ?
			 read_answer(&n->conn, &keep_alive, reason, sizeof(reason)) : -1;
		note_answer(sh, status, reason);
		if (status < 0 || !keep_alive)
			conn_close(&n->conn);
		if (status / 100 == 2)
			return status;
	}
	return status;
}

/* ---- the nodes ---------------------------------------------------------- */

static void fail(struct shared *sh, const char *what, unsigned node, int status)
{
	pthread_mutex_lock(&sh->lock);
	if (!sh->failed)
		fprintf(stderr, "bench_webhook_post: node %u: %s not delivered (last answer %d%s%s)\n",
			node, what, status, sh->reason[0] ? ": " : "", sh->reason);
	sh->failed = true;
	pthread_cond_broadcast(&sh->done_cond);
	pthread_mutex_unlock(&sh->lock);
}

/* The highest tick every batch at or below which is acknowledged. */
static uint64_t frontier_locked(const struct shared *sh, unsigned nodes)
{
	uint64_t lowest = sh->clock;

	for (unsigned i = 0; i < nodes; i++)
		if (sh->inflight[i] && sh->inflight[i] < lowest)
			lowest = sh->inflight[i];
	return lowest - 1;
}

static bool post_resolved(struct node *n, struct request *req, struct request *body,
			  uint64_t tick)
{
	char text[96];
	int len = snprintf(text, sizeof(text), "{\"resolved\":\"%" PRId64 ".0000000000\"}",
			   n->sh->wall_base + (int64_t)tick);

	body->len = 0;
	if (len <= 0 || !req_add(body, text, (size_t)len))
		return false;
	int status = post(n, req, body);
	if (status / 100 != 2) {
		fail(n->sh, "a resolved timestamp", n->id, status);
		return false;
	}
	pthread_mutex_lock(&n->sh->lock);
	n->sh->resolved_posts++;
	pthread_mutex_unlock(&n->sh->lock);
	return true;
}

static void *node_run(void *arg)
{
	struct node *n = arg;
	const struct options *o = n->opt;
	struct shared *sh = n->sh;
	struct request req = { 0 }, body = { 0 };
	uint64_t sent = 0, resolved_rows = 0, resolved_tick = 0;
	char *pad = malloc(o->size + 1);
	/* The message without key and topic, as a firehose row's value. */
	int fixed = snprintf(NULL, 0, "{\"after\": {\"id\": %" PRIu64 ", \"payload\": \"\"}, "
			     "\"updated\": \"%" PRId64 ".0000000000\"}",
			     n->id * KEY_STRIDE, sh->wall_base);
	size_t padlen = fixed > 0 && o->size > (size_t)fixed ? o->size - (size_t)fixed : 0;

	if (!pad) {
		fail(sh, "memory", n->id, -1);
		return NULL;
	}
	memset(pad, 'x', padlen);
	pad[padlen] = '\0';
	while (sent < n->rows) {
		pthread_mutex_lock(&sh->lock);
		bool stop = sh->failed;
		uint64_t tick = sh->clock++;
		sh->inflight[n->id - 1] = tick;
		if (!sh->first_ns)
			sh->first_ns = now_ns();
		pthread_mutex_unlock(&sh->lock);
		if (stop)
			break;
		unsigned count = n->rows - sent < o->batch ? (unsigned)(n->rows - sent) : o->batch;
		if (!batch_body(&body, o, pad, n->id * KEY_STRIDE + sent, count,
				sh->wall_base + (int64_t)tick)) {
			fail(sh, "memory", n->id, -1);
			break;
		}
		int64_t t0 = now_ns();
		int status = post(n, &req, &body);
		if (status / 100 != 2) {
			fail(sh, "a batch", n->id, status);
			break;
		}
		n->latency_ms[n->nlatency++] = (double)(now_ns() - t0) / 1e6;
		sent += count;
		pthread_mutex_lock(&sh->lock);
		sh->inflight[n->id - 1] = 0;
		sh->acked_rows += count;
		uint64_t acked = sh->acked_rows, frontier = frontier_locked(sh, o->nodes);
		pthread_mutex_unlock(&sh->lock);
		/* The coordinator: a resolved timestamp below every batch in
		 * flight, once enough rows were acknowledged since the last. */
		if (n->id == 1 && o->resolved_every && acked - resolved_rows >= o->resolved_every &&
		    frontier > resolved_tick) {
			if (!post_resolved(n, &req, &body, frontier))
				break;
			resolved_rows = acked;
			resolved_tick = frontier;
		}
	}
	pthread_mutex_lock(&sh->lock);
	sh->nodes_done++;
	pthread_cond_broadcast(&sh->done_cond);
	if (n->id == 1) {
		/* The final resolved timestamp: after every node's last batch. */
		while (sh->nodes_done < o->nodes && !sh->failed)
			pthread_cond_wait(&sh->done_cond, &sh->lock);
	}
	bool last = n->id == 1 && !sh->failed;
	uint64_t frontier = frontier_locked(sh, o->nodes);
	pthread_mutex_unlock(&sh->lock);
	if (last && frontier > resolved_tick)
		post_resolved(n, &req, &body, frontier);
	conn_close(&n->conn);
	free(req.buf);
	free(body.buf);
	free(pad);
	return NULL;
}

/* ---- the report --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double q)
{
	if (!n)
		return 0;
	size_t i = (size_t)(q * (double)n);
	return sorted[i < n ? i : n - 1];
}

static void report(const struct options *o, const struct shared *sh,
		   const struct node *nodes)
{
	size_t total = 0;
	for (unsigned i = 0; i < o->nodes; i++)
		total += nodes[i].nlatency;
	double *lat = malloc((total ? total : 1) * sizeof(*lat));
	size_t k = 0;
	if (lat) {
		for (unsigned i = 0; i < o->nodes; i++)
			for (size_t j = 0; j < nodes[i].nlatency; j++)
				lat[k++] = nodes[i].latency_ms[j];
		qsort(lat, k, sizeof(*lat), cmp_double);
	}
	double seconds = sh->last_ns > sh->first_ns ? (double)(sh->last_ns - sh->first_ns) / 1e9 : 0;
	printf("{\"nodes\":%u,\"batch\":%u,\"rows\":%" PRIu64 ",\"requests\":%" PRIu64
	       ",\"resolved_posts\":%" PRIu64 ",\"retries\":%" PRIu64
	       ",\"transport_errors\":%" PRIu64 ",\"seconds\":%.6f,\"rows_per_s\":%.1f"
	       ",\"requests_per_s\":%.1f,\"batch_ms_p50\":%.3f,\"batch_ms_p99\":%.3f"
	       ",\"first_ns\":%" PRId64 ",\"last_ns\":%" PRId64 ",\"answers\":{",
	       o->nodes, o->batch, sh->acked_rows, sh->requests, sh->resolved_posts,
	       sh->retries, sh->transport_errors, seconds,
	       seconds > 0 ? (double)sh->acked_rows / seconds : 0,
	       seconds > 0 ? (double)sh->requests / seconds : 0,
	       lat ? percentile(lat, k, 0.5) : 0, lat ? percentile(lat, k, 0.99) : 0,
	       sh->first_ns, sh->last_ns);
	const char *sep = "";
	for (int s = 0; s < STATUS_MAX; s++)
		if (sh->answers[s]) {
			printf("%s\"%d\":%" PRIu64, sep, s, sh->answers[s]);
			sep = ",";
		}
	printf("},\"ok\":%s}\n", sh->failed ? "false" : "true");
	free(lat);
}

/* ---- options ------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: bench_webhook_post --port P --path PATH --token-file F --ca FILE "
		"--rows N [--host H] [--nodes K] [--batch B] [--resolved-every R] [--topic T] "
		"[--size S] [--ahead S] [--retries N]\n");
	exit(2);
}

static bool read_token(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");
	char buf[TOKEN_MAX + 2];
	size_t n;

	if (!f) {
		fprintf(stderr, "bench_webhook_post: %s: %s\n", path, strerror(errno));
		return false;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *start = buf, *end = buf + n;
	while (start < end && strchr(" \t\r\n", *start))
		start++;
	while (end > start && strchr(" \t\r\n", end[-1]))
		end--;
	*end = '\0';
	if (start == end || n == sizeof(buf) - 1) {
		fprintf(stderr, "bench_webhook_post: %s: no token, or longer than %d bytes\n",
			path, TOKEN_MAX);
		return false;
	}
	snprintf(out, cap, "Bearer %s", start);
	return true;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	const char *token_file = NULL;

	*o = (struct options){ .host = "127.0.0.1", .topic = "bench", .nodes = 1, .batch = 100,
			       .resolved_every = 10000, .size = 200, .retries = 10 };
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		const char *a = argv[i], *v = argv[++i];
		if (strcmp(a, "--host") == 0)
			o->host = v;
		else if (strcmp(a, "--port") == 0)
			o->port = atoi(v);
		else if (strcmp(a, "--path") == 0)
			o->path = v;
		else if (strcmp(a, "--token-file") == 0)
			token_file = v;
		else if (strcmp(a, "--ca") == 0)
			o->ca = v;
		else if (strcmp(a, "--rows") == 0)
			o->rows = strtoull(v, NULL, 10);
		else if (strcmp(a, "--nodes") == 0)
			o->nodes = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--batch") == 0)
			o->batch = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--resolved-every") == 0)
			o->resolved_every = strtoull(v, NULL, 10);
		else if (strcmp(a, "--topic") == 0)
			o->topic = v;
		else if (strcmp(a, "--size") == 0)
			o->size = strtoull(v, NULL, 10);
		else if (strcmp(a, "--ahead") == 0)
			o->ahead_s = strtoll(v, NULL, 10);
		else if (strcmp(a, "--retries") == 0)
			o->retries = (unsigned)strtoul(v, NULL, 10);
		else
			usage();
	}
	if (!o->port || !o->path || !token_file || !o->ca || !o->rows || !o->batch ||
	    o->nodes < 1 || o->nodes > MAX_NODES || o->size > 100000 || strlen(o->topic) > 100)
		usage();
	if (!read_token(token_file, o->authorization, sizeof(o->authorization)))
		exit(1);
}

int main(int argc, char **argv)
{
	struct options o;
	struct shared sh = { .lock = PTHREAD_MUTEX_INITIALIZER,
			     .done_cond = PTHREAD_COND_INITIALIZER, .clock = 1 };
	struct node nodes[MAX_NODES];
	pthread_t threads[MAX_NODES];

	parse_options(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	SSL_CTX *tls = SSL_CTX_new(TLS_client_method());
	if (!tls || SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(tls, o.ca, NULL) != 1) {
		fprintf(stderr, "bench_webhook_post: TLS: cannot load the CA file %s\n", o.ca);
		return 1;
	}
	SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
	/* Timestamps --ahead seconds in the future stay above any resolved
	 * timestamp a real job on the same feed sends meanwhile. */
	sh.wall_base = now_ns() + o.ahead_s * 1000000000;
	for (unsigned i = 0; i < o.nodes; i++) {
		uint64_t share = o.rows / o.nodes + (i < o.rows % o.nodes);
		nodes[i] = (struct node){ .id = i + 1, .rows = share, .opt = &o, .sh = &sh,
					  .tls = tls, .conn = { .fd = -1 } };
		nodes[i].latency_ms = malloc((share / o.batch + 2) * sizeof(double));
		if (!nodes[i].latency_ms) {
			fprintf(stderr, "bench_webhook_post: out of memory\n");
			return 1;
		}
	}
	for (unsigned i = 0; i < o.nodes; i++)
		if (pthread_create(&threads[i], NULL, node_run, &nodes[i]) != 0) {
			fprintf(stderr, "bench_webhook_post: cannot start node %u\n", i + 1);
			return 1;
		}
	for (unsigned i = 0; i < o.nodes; i++)
		pthread_join(threads[i], NULL);
	report(&o, &sh, nodes);
	for (unsigned i = 0; i < o.nodes; i++)
		free(nodes[i].latency_ms);
	SSL_CTX_free(tls);
	return sh.failed || sh.acked_rows != o.rows ? 1 : 0;
}
