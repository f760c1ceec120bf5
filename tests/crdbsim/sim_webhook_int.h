/*
 * sim_webhook_int.h: what the webhook sink's two halves share:
 * sim_webhook.c (nodes, their queues and batches, the resolved
 * coordinator, the owner's callbacks) and sim_webhook_http.c (a sender:
 * one request at a time over a kept-alive TLS connection, retried with
 * backoff, with the injected faults applied).
 */
#ifndef CRDBSIM_SIM_WEBHOOK_INT_H
#define CRDBSIM_SIM_WEBHOOK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "sim_webhook.h"

struct evhttp_connection;
struct evhttp_uri;

/* How one attempt ended, as evhttp's callback saw it. */
enum wh_outcome {
	WH_ACKED,               /* a 2xx answer */
	WH_STATUS,              /* any other answer */
	WH_TIMEOUT,             /* no answer within client_timeout_ms */
	WH_CONNECT_ERROR        /* refused, reset, TLS failure */
};

struct wh_sender;
/* The sender is idle again: its body was acknowledged. */
typedef void (*wh_done_fn)(struct wh_sender *s);

/* One emulated node's, or the coordinator's, HTTPS client: its body is
 * posted until acknowledged or its retries are exhausted (then the sink
 * fails through sim_webhook_fail). */
struct wh_sender {
	struct sim_webhook *wh;
	wh_done_fn done;
	struct evhttp_connection *conn;
	SSL *ssl;                    /* conn's, for the verification result */
	bool conn_closed;            /* evhttp saw it close: make a new one */
	char *body;                  /* the request body; NULL when idle */
	size_t body_len;
	bool duplicate;              /* posting body the second time */
	bool in_flight;
	int64_t retries;             /* retries of body so far */
	struct event *retry_timer, *timeout_timer, *outcome_event;
	/* The attempt's outcome, stored by evhttp's callback and handled by
	 * outcome_event, outside evhttp's callbacks, so that a connection
	 * can be freed there. */
	enum wh_outcome outcome;
	char reason[160];
	enum sim_webhook_fault fault;   /* injected into this attempt */
	int fault_code;
};

/* The parsed URL and TLS setup, shared by every sender of a sink. */
struct wh_endpoint {
	char *host, *path_query, *host_header;
	int port;
	bool host_is_ip;
	bool verify;                 /* not insecure_tls_skip_verify */
	SSL_CTX *tls;
	char *auth_header;
	int64_t client_timeout_ms;
	int64_t retry_max, retry_backoff_ms;
};

/* sim_webhook_http.c */
int wh_endpoint_init(struct wh_endpoint *ep, const struct sim_webhook_config *cfg,
		     char *errbuf, size_t errlen);
void wh_endpoint_release(struct wh_endpoint *ep);
int wh_sender_init(struct wh_sender *s, struct sim_webhook *wh,
		   wh_done_fn done);
/* Post body (malloc'd; the sender owns it from here) until acknowledged;
 * the sender must be idle. */
void wh_sender_post(struct wh_sender *s, char *body, size_t len);
bool wh_sender_busy(const struct wh_sender *s);
/* Abandon whatever is in flight and stay idle; no callback after. */
void wh_sender_stop(struct wh_sender *s);
/* Abandon whatever is in flight and free everything; no callback after. */
void wh_sender_release(struct wh_sender *s);

/* sim_webhook.c, for the senders */
struct event_base *sim_webhook_base(const struct sim_webhook *wh);
const struct wh_endpoint *sim_webhook_endpoint(const struct sim_webhook *wh);
bool sim_webhook_duplicating(const struct sim_webhook *wh);
struct sim_webhook_stats *sim_webhook_stats_of(struct sim_webhook *wh);
/* A request failed past its retries: stop every sender, tell the owner. */
void sim_webhook_fail(struct sim_webhook *wh, const char *reason);

#endif /* CRDBSIM_SIM_WEBHOOK_INT_H */
