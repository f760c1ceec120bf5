/*
 * ingest.h: a job feed's HTTPS endpoint, where a CockroachDB changefeed
 * job's webhook sink posts its batches and resolved timestamps
 * (crdbfeedd(8), PRODUCTION FEEDS; doc/crdb-wire.md §16).
 *
 * evhttp over OpenSSL (TLS 1.2 or later; optional client certificates),
 * HTTP/1.1 with keep-alive. Every request must carry the configured
 * Authorization header (compared in constant time) and be a POST of
 * application/json to the configured path; its body is bounded, the
 * connections are bounded (libevent 2.1's evhttp has no cap of its own:
 * the endpoint counts them and closes new ones over the bound), and
 * requests may be rate limited (a token bucket; over it: 429).
 * The checks run in this order: path (404), method (405), Authorization
 * (401), rate (429; so an unauthorized peer spends none of it),
 * Content-Type (415), Content-Encoding other than identity (415: the job
 * must be created without compression), the body (400, the parser's
 * reason).
 *
 * The endpoint knows nothing of feeds: a parsed body goes to the owner,
 * whose answer is the HTTP status sent back. The owner answers 200 only
 * when the batch is durable (ordered.h), 503 when it cannot take it now,
 * 4xx when it refuses it. Every refusal is logged with the peer's address
 * and the reason, which is also the answer's body.
 */
#ifndef CRDBFEEDD_INGEST_H
#define CRDBFEEDD_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "webhook_body.h"

struct ingest;

struct ingest_config {
	const char *who;            /* "feed NAME": logs */
	const char *listen_host;    /* numeric address to bind */
	int listen_port;            /* 0: any free port (tests; see
				       ingest_port) */
	const char *path;           /* the request path, e.g. "/crdbfeed/NAME" */
	const char *tls_cert;       /* PEM chain file; required */
	const char *tls_key;        /* PEM key file; required */
	const char *client_ca;      /* PEM CA file: clients must present a
				       certificate it signed; NULL: none asked */
	const char *authorization;  /* the exact Authorization value expected;
				       required (not NULL, not empty) */
	size_t max_body;            /* bytes of a request body; 0: 8 MiB.
				       Over it evhttp answers 413 itself:
				       neither logged nor counted here */
	unsigned max_connections;   /* open at once; more are closed at accept
				       (on the loop's next pass); 0: 64 */
	unsigned max_rate;          /* requests per second, a second's worth
				       of burst; 0: no limit */
	int idle_timeout_s;         /* keep-alive connection idle limit;
				       0: 60 */
};

struct ingest_owner {
	/*
	 * A well-formed, authorized body. Returns the HTTP status to answer
	 * (200, or 503 / 4xx with reason set: one line). The body is valid
	 * during the call only.
	 */
	int (*body)(void *arg, const struct webhook_body *body,
		    char *reason, size_t reason_len);
	void *arg;
};

/* Bind and listen. NULL with errbuf set (a file, the address). */
struct ingest *ingest_new(struct event_base *base,
			  const struct ingest_config *cfg,
			  const struct ingest_owner *owner,
			  char *errbuf, size_t errlen);
/* Close the listener and every connection (requests in flight get no
 * answer: CockroachDB retries them). */
void ingest_free(struct ingest *ig);

/* The bound port (after ingest_new with listen_port 0). */
int ingest_port(const struct ingest *ig);

struct ingest_stats {
	uint64_t requests;          /* every request that reached a handler */
	uint64_t batches;           /* row bodies answered 2xx */
	uint64_t resolved;          /* resolved bodies answered 2xx */
	uint64_t rows;              /* messages in batches answered 2xx */
	uint64_t bytes;             /* body bytes of requests answered 2xx */
	uint64_t retried;           /* 2xx batches whose every row was a
				       duplicate: a retry of one acknowledged
				       before (counted by the owner through
				       ingest_note_retry) */
	uint64_t answered_4xx;
	uint64_t answered_5xx;
	uint64_t unauthorized;      /* of the 4xx: missing or wrong
				       Authorization */
	uint64_t rate_limited;      /* of the 4xx: 429 */
	uint64_t connections;       /* open now */
	uint64_t connections_refused; /* closed at accept: over the bound, or
					 the TLS handshake failed */
};
void ingest_get_stats(const struct ingest *ig, struct ingest_stats *out);
/* The owner saw a batch that was wholly a retry. */
void ingest_note_retry(struct ingest *ig);

#endif /* CRDBFEEDD_INGEST_H */
