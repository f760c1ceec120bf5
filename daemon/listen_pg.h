/*
 * listen_pg.h: the PostgreSQL-protocol LISTEN endpoint on the event loop:
 * a Unix socket named as PostgreSQL names its own (DIR/.s.PGSQL.PORT),
 * clients allowed by peer credentials, and/or a TCP address with
 * SCRAM-SHA-256 against a verifier file (scram.h). The daemon pushes
 * notifications with listen_pg_notify; each session listening on the
 * channel gets a NotificationResponse.
 *
 * TCP clients may use TLS (1.2 or later) when a certificate and key are
 * configured: SSLRequest is answered 'S' and the start-up goes on over
 * TLS; with tls_required, a TCP client that does not ask is refused.
 * Unix socket clients are answered 'N', as PostgreSQL answers them.
 *
 * A session whose unsent output passes max_queued_bytes is told with a
 * NOTICE ("crdbfeedd: listener too slow, closing") and closed. A cancel
 * request is matched against the sessions (key compared in constant time)
 * and its connection closed: a session only ever waits, there is nothing
 * to cancel.
 */
#ifndef CRDBFEEDD_LISTEN_PG_H
#define CRDBFEEDD_LISTEN_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#define LISTEN_PG_DEFAULT_PORT 5432
#define LISTEN_PG_DEFAULT_MAX_LISTENERS 100
#define LISTEN_PG_DEFAULT_MAX_QUEUED (1024 * 1024)
#define LISTEN_PG_DEFAULT_STARTUP_MS 10000
/* How long a closing session may take to read its last messages. */
#define LISTEN_PG_LINGER_MS 2000

struct listen_pg_config {
	const char *unix_dir;    /* NULL: no Unix socket */
	int port;                /* the socket file's PORT; 0: 5432 */
	mode_t unix_mode;        /* 0: 0660 */
	const char *unix_group;  /* NULL: ours */
	const uid_t *uids;       /* peers allowed (both lists empty: all) */
	size_t nuids;
	const gid_t *gids;
	size_t ngids;
	const char *tcp_host;    /* NULL: no TCP; e.g. "127.0.0.1" */
	int tcp_port;            /* 0: an ephemeral port (listen_pg_tcp_port) */
	const char *auth_file;   /* SCRAM verifiers; needed with tcp_host */
	const char *tls_cert;    /* PEM certificate chain; NULL: no TLS */
	const char *tls_key;     /* PEM private key; with tls_cert */
	bool tls_required;       /* TCP clients must ask for TLS */
	size_t max_listeners;    /* sessions; 0: default */
	size_t max_channels;     /* per session; 0: default */
	size_t max_queued_bytes; /* unsent output per session; 0: default */
	size_t max_message;      /* 0: PGS_DEFAULT_MAX_MESSAGE */
	int startup_timeout_ms;  /* start-up and authentication; 0: default */
};

struct listen_pg_stats {
	uint64_t accepted;
	uint64_t refused_full;     /* over max_listeners */
	uint64_t refused_peer;     /* peer credentials not allowed */
	uint64_t auth_failed;      /* wrong password or unknown user */
	uint64_t protocol_errors;  /* closed for a malformed or oversized message */
	uint64_t dropped_slow;     /* closed for max_queued_bytes */
	uint64_t cancel_requests;
	uint64_t notifications;    /* NotificationResponse messages queued */
	size_t sessions;           /* connections open now */
	size_t channels;           /* sum of every session's channels */
};

struct listen_pg;

/* NULL with errbuf set when a socket or the verifier file fails. */
struct listen_pg *listen_pg_new(struct event_base *base,
				const struct listen_pg_config *cfg,
				char *errbuf, size_t errlen);

/*
 * Send a notification to every session listening on channel (matched
 * exactly: names were folded at LISTEN time). Returns how many got it, or
 * -1 when the channel or payload cannot be sent (too long, NUL inside).
 */
int listen_pg_notify(struct listen_pg *ep, const char *channel,
		     const char *payload, int32_t sender_pid);

void listen_pg_stats(const struct listen_pg *ep, struct listen_pg_stats *out);
/* The TCP port bound (for tcp_port 0), or 0. */
int listen_pg_tcp_port(const struct listen_pg *ep);
/* Close every session and socket; the socket file is removed. */
void listen_pg_close(struct listen_pg *ep);

#endif /* CRDBFEEDD_LISTEN_PG_H */
