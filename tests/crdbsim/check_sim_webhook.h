/*
 * check_sim_webhook.h: the webhook sink test's HTTPS endpoint
 * (check_sim_webhook_server.c): a throwaway self-signed certificate, and an
 * evhttp server over OpenSSL that records every request and answers as the
 * test tells it (a status script, a delay, a held answer).
 */
#ifndef CHECK_SIM_WEBHOOK_H
#define CHECK_SIM_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

/* A self-signed certificate (its own CA) for the names in san, e.g.
 * "IP:127.0.0.1,DNS:localhost"; PEM strings, malloc'd. */
struct test_cert {
	char *cert_pem, *key_pem;
};
void test_cert_make(struct test_cert *c, const char *cn, const char *san);
void test_cert_free(struct test_cert *c);

#define TS_MAX_REQUESTS 4096
#define TS_MAX_KEYS 64

struct ts_request {
	char *path, *body, *auth, *content_type, *host;
	double at_ms;           /* arrival, since the server started */
	bool resolved;          /* a {"resolved":...} body */
	size_t payload_len;     /* messages in payload, and "length" */
	long length_field;
	int keys[TS_MAX_KEYS];  /* the payload's keys ([N] → N) */
	size_t nkeys;
};

struct test_server {
	struct event_base *base;
	int port;
	struct ts_request req[TS_MAX_REQUESTS];
	size_t nreq;
	/* Answers: statuses[i] for the i-th request while i < nstatuses,
	 * then 200. */
	int statuses[16];
	size_t nstatuses;
	int delay_ms;           /* answers after 1, 2, 3, 1... times this */
	bool hold_next_payload; /* hold the next payload request's answer */
	bool holding;           /* one answer is held */
	/* Requests in flight that share a key with one already in flight. */
	unsigned key_overlaps;
	unsigned in_flight, max_in_flight;
	unsigned connections;   /* TLS connections accepted */
	/* internal */
	void *priv;
};

/* Listen on 127.0.0.1 (an ephemeral port) with cert; client_ca_pem
 * non-NULL: require a client certificate it signed. */
void test_server_start(struct test_server *ts, struct event_base *base,
		       const struct test_cert *cert, const char *client_ca_pem);
/* Answer the held request (200). */
void test_server_release(struct test_server *ts);
void test_server_stop(struct test_server *ts);

/* Run base until cond(arg) or ms pass; cond's value at the end. */
bool run_until(struct event_base *base, bool (*cond)(void *), void *arg,
	       int ms);
double now_ms(void);

#endif /* CHECK_SIM_WEBHOOK_H */
