/*
 * pgserver.h: the server side of PostgreSQL's protocol 3.0 for the LISTEN
 * endpoint, as a pure state machine: bytes from the client in, bytes for
 * the client out (no sockets, no event loop). It does the start-up
 * (SSLRequest answered 'S' when the caller offers TLS, else 'N' as is
 * GSSENCRequest; CancelRequest handed to the caller), trust or SCRAM-SHA-256 authentication, and the statements the
 * endpoint accepts, in the simple and the extended query protocol:
 * LISTEN, UNLISTEN, SET, SHOW, SELECT 1, BEGIN/COMMIT/ROLLBACK and the
 * empty query. Everything else gets SQLSTATE 0A000.
 *
 * Transactions: LISTEN and UNLISTEN inside a transaction block take
 * effect at COMMIT and are forgotten at ROLLBACK, as in PostgreSQL.
 * Notifications, unlike PostgreSQL's, are not held back while a session
 * is inside a transaction block: the caller sends them at once.
 */
#ifndef CRDBFEEDD_PGSERVER_H
#define CRDBFEEDD_PGSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgstatement.h"
#include "scram.h"
#include "textbuf.h"

#define PGS_MAX_IDENT PGSTMT_MAX_IDENT
/* PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
#define PGS_MAX_STARTUP 10000
#define PGS_DEFAULT_MAX_MESSAGE (64 * 1024)
#define PGS_DEFAULT_MAX_CHANNELS 64
/* The longest NOTIFY payload PostgreSQL accepts, less its NUL. */
#define PGS_MAX_PAYLOAD 7999
/* Named prepared statements and portals a session may keep. */
#define PGS_MAX_PREPARED 16
/* Parameters a session may SET (beyond the reported ones). */
#define PGS_MAX_PARAMS 32
/*
 * What CockroachDB reports (doc/crdb-wire.md 6.1), so that code moved from
 * a CockroachDB connection sees the same; libpq reads it as 130000, and
 * psycopg and psql work with any server from 10 on. crdb_version is not
 * reported: psycopg would then take the endpoint for CockroachDB.
 */
#define PGS_SERVER_VERSION "13.0.0"

enum pgs_auth {
	PGS_AUTH_TRUST, /* the caller vouches for the client (peer credentials) */
	PGS_AUTH_SCRAM, /* SCRAM-SHA-256 against users */
	PGS_AUTH_REFUSE /* the caller refuses the client: FATAL 28000 after start-up */
};

enum pgs_state {
	PGS_STARTUP,     /* waiting for the start-up packet */
	PGS_SASL_INITIAL,/* waiting for SASLInitialResponse */
	PGS_SASL_FINAL,  /* waiting for the SCRAM client-final message */
	PGS_READY,       /* authenticated: queries */
	PGS_TLS_ACCEPT,  /* 'S' answered: the caller starts TLS, then pgs_tls_started */
	PGS_CANCEL,      /* a CancelRequest came: see pgs_cancel_key */
	PGS_CLOSED       /* write out what is queued, then close */
};

struct pgs_config {
	enum pgs_auth auth;
	const struct scram_users *users;  /* PGS_AUTH_SCRAM */
	size_t max_message;               /* 0: PGS_DEFAULT_MAX_MESSAGE */
	size_t max_channels;              /* 0: PGS_DEFAULT_MAX_CHANNELS */
	int32_t pid;                      /* BackendKeyData's process id */
	uint32_t secret;                  /* BackendKeyData's secret key */
	const char *timezone;             /* NULL: "UTC" */
	const char *refuse_reason;        /* PGS_AUTH_REFUSE's message */
	const char *refuse_sqlstate;      /* and SQLSTATE; NULL: 28000 */
	const char *test_server_nonce;    /* NULL: random SCRAM nonces */
	bool tls_offered;                 /* SSLRequest answered 'S' */
	bool tls_required;                /* a start-up packet not over TLS: FATAL 28000 */
};

struct pgs_session;

/* NULL when out of memory. cfg's strings and users must outlive it. */
struct pgs_session *pgs_new(const struct pgs_config *cfg);
void pgs_free(struct pgs_session *s);

/*
 * Take bytes from the client: whole messages are consumed, a partial one
 * is left for the next call with more bytes (the return value is how many
 * were used). Answers accumulate in pgs_out. After PGS_CLOSED or
 * PGS_CANCEL nothing more is consumed.
 */
size_t pgs_input(struct pgs_session *s, const unsigned char *data, size_t len);

enum pgs_state pgs_state(const struct pgs_session *s);
/* After PGS_TLS_ACCEPT: TLS is on, the start-up goes on over it. */
void pgs_tls_started(struct pgs_session *s);
/* What to send; the caller takes bytes out and calls pgs_out_clear. */
struct textbuf *pgs_out(struct pgs_session *s);
void pgs_out_clear(struct pgs_session *s);

/* For PGS_CANCEL: the pid and key asked for. */
void pgs_cancel_key(const struct pgs_session *s, int32_t *pid, uint32_t *key);
/* Whether a cancel key is this session's (the key compared in constant time). */
bool pgs_cancel_matches(const struct pgs_session *s, int32_t pid, uint32_t key);

/* Whether the session listens on channel (exact, case-sensitive). */
bool pgs_listening(const struct pgs_session *s, const char *channel);
size_t pgs_channel_count(const struct pgs_session *s);
const char *pgs_user(const struct pgs_session *s);
/* Why the session closed ("" while open): one line, for the log. */
const char *pgs_close_reason(const struct pgs_session *s);
/* Whether the client ended with Terminate. */
bool pgs_terminated(const struct pgs_session *s);

/*
 * Message builders, appending one whole message to out. A payload longer
 * than PGS_MAX_PAYLOAD or holding NUL, or a channel longer than
 * PGS_MAX_IDENT, is refused (-1), as PostgreSQL refuses to send them.
 */
int pgs_build_notification(struct textbuf *out, int32_t pid,
			   const char *channel, const char *payload,
			   size_t payload_len);
/* A NoticeResponse (severity NOTICE) with sqlstate and message. */
void pgs_build_notice(struct textbuf *out, const char *sqlstate,
		      const char *message);
/* An ErrorResponse; severity "ERROR" or "FATAL". */
void pgs_build_error(struct textbuf *out, const char *severity,
		     const char *sqlstate, const char *message);

#endif /* CRDBFEEDD_PGSERVER_H */
