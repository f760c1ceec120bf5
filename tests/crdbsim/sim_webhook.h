/*
 * sim_webhook.h: a changefeed job's webhook sink as CockroachDB runs it
 * (doc/crdb-wire.md §16): messages posted over HTTPS as
 * {"payload":[...],"length":N} batches from K emulated nodes at once, never
 * two requests in flight that share a key (a key always goes to the same
 * node, and a node has one request in flight), batched by the Flush
 * config, each request retried on a non-2xx answer, a timeout or a refused
 * connection with the Retry config's backoff; a resolved timestamp posted
 * as {"resolved":"..."} by the coordinator only once every message queued
 * before it was acknowledged.
 *
 * The job (sim_job.c) owns one of these per running changefeed and feeds
 * it the rows its simfeed renders. When a request's retries are exhausted
 * the sink reports an error and stops: the job then restarts its
 * changefeed from the high-water mark, as CockroachDB does, re-sending
 * rows (duplicates at the endpoint).
 *
 * All calls on crdbsim's one event_base; nothing blocks.
 */
#ifndef CRDBSIM_SIM_WEBHOOK_H
#define CRDBSIM_SIM_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct sim_webhook;

struct sim_webhook_config {
	const char *url;             /* https://HOST:PORT/PATH[?QUERY] (the
					sink URI with webhook-https:// turned
					into https:// and the sink options
					removed) */
	const char *ca_pem;          /* PEM CA to verify the server (decoded
					ca_cert); NULL: the system's */
	bool insecure_skip_verify;   /* insecure_tls_skip_verify */
	const char *client_cert_pem; /* client_cert and client_key, decoded;
					both or neither */
	const char *client_key_pem;
	const char *auth_header;     /* webhook_auth_header: the Authorization
					value; NULL: none sent */
	int64_t client_timeout_ms;   /* webhook_client_timeout: 3000 */
	/* webhook_sink_config Flush: send when any is reached; all 0 = each
	 * message at once */
	int64_t flush_messages;
	int64_t flush_bytes;
	int64_t flush_frequency_ms;
	/* webhook_sink_config Retry: Max retries after the first try (3),
	 * Backoff the first wait (500 ms), doubling up to 30 s */
	int64_t retry_max;
	int64_t retry_backoff_ms;
	int nodes;                   /* emulated nodes posting at once (>= 1) */
};

struct sim_webhook_owner {
	/* A resolved timestamp (text "WALL.LOGICAL") was acknowledged: the
	 * job's high-water mark may advance to it. */
	void (*resolved_acked)(void *arg, const char *hlc);
	/* A request failed past its retries (reason: one line, e.g.
	 * "500 Internal Server Error" or "connection refused"); the sink
	 * has stopped and sends nothing more. */
	void (*failed)(void *arg, const char *reason);
	/* Room again after sim_webhook_can_send returned false. */
	void (*writable)(void *arg);
	void *arg;
};

/* NULL with errbuf set (a bad URL, unusable PEM). */
struct sim_webhook *sim_webhook_new(struct event_base *base,
				    const struct sim_webhook_config *cfg,
				    const struct sim_webhook_owner *owner,
				    char *errbuf, size_t errlen);
/* Stop at once: requests in flight are abandoned, no callback after. */
void sim_webhook_free(struct sim_webhook *wh);

/* One message: the rendered JSON object (wrapped envelope with "key" and
 * "topic" in it); key is its key's JSON, which picks the node. */
int sim_webhook_message(struct sim_webhook *wh, const char *key,
			size_t key_len, const char *msg, size_t msg_len);
/* A resolved timestamp, posted once everything before it was acked. */
int sim_webhook_resolved(struct sim_webhook *wh, const char *hlc);
/* Whether more messages may be queued now (a bounded queue per node). */
bool sim_webhook_can_send(const struct sim_webhook *wh);

struct sim_webhook_stats {
	uint64_t requests, batches, messages, resolved, retries, failures;
	uint64_t non_2xx, timeouts, connect_errors;
	unsigned in_flight;
};
void sim_webhook_get_stats(const struct sim_webhook *wh,
			   struct sim_webhook_stats *out);

/* Fault for the control socket: post every batch that succeeds twice
 * (the second after the first was acknowledged), as a changefeed retry
 * would. */
void sim_webhook_set_duplicate_posts(struct sim_webhook *wh, bool on);

/* Faults for the control socket's webhook-fault command. The state is
 * process-wide: every sink, including ones created after the call (a job
 * restarting its changefeed), takes the next requests from the same count,
 * so wh may be NULL. Duplicate posts never take one. */
enum sim_webhook_fault {
	SIM_WEBHOOK_FAULT_CLEAR,    /* no more injected faults */
	SIM_WEBHOOK_FAULT_STATUS,   /* sent, the answer taken as status code */
	SIM_WEBHOOK_FAULT_TIMEOUT,  /* sent, then taken as timed out */
	SIM_WEBHOOK_FAULT_REFUSE    /* not sent: taken as connection refused */
};
/* The next count requests get fault kind (code: STATUS's status). */
void sim_webhook_fault(struct sim_webhook *wh, enum sim_webhook_fault kind,
		       int code, int count);

#endif /* CRDBSIM_SIM_WEBHOOK_H */
