/*
 * session.h: the inside of one crdbsim client session, shared by the
 * files that handle it (not by the rest of crdbsim, which uses sim.h):
 *
 *   session.c     life cycle, the input loop, relay of PostgreSQL's answers
 *   startup.c     start-up packet, SSL/cancel requests, password or
 *                 client certificate, the session's PostgreSQL
 *                 connection, the start-up answer
 *   statements.c  client messages of the READY state: simple Query and the
 *                 extended protocol, relayed or answered here
 *   answer.c      statements crdbsim answers (CANCEL ..., cluster
 *                 settings, LISTEN) and cancelling what a session runs
 *   feedwire.c    a changefeed on the wire (struct simfeed_out)
 *
 * Life of a session: STARTUP (SSLRequest refused with 'N', or with
 * --tls-cert answered 'S' and the session goes on through a TLS filter;
 * CancelRequest handled, StartupMessage read) -> PASSWORD (with
 * --password, unless a client certificate authenticated the user) ->
 * CONNECTING (its own PostgreSQL connection, opened with libpq
 * non-blocking; crdbsim then speaks raw protocol on libpq's socket) ->
 * READY (statements relayed message by message, or answered here) <->
 * FEED (a changefeed streams; client input waits) -> CLOSING (an error is
 * flushed, then the socket closes).
 *
 * Ordering rule: replies crdbsim writes itself must not overtake replies
 * PostgreSQL still owes, so a message crdbsim answers waits until
 * PostgreSQL has answered everything forwarded (expected == 0 and no
 * forwarded extended-protocol message without its Sync).
 */
#ifndef CRDBSIM_SESSION_H
#define CRDBSIM_SESSION_H

#include "sim.h"
#include "intercept.h"

#include <openssl/ssl.h>

/* ErrorResponse's V field arrived in 22.1.3 (§6.5). */
#define V_FIELD(s) ((s)->version >= 220103)

enum sess_state {
	S_STARTUP,      /* waiting for the start-up packet */
	S_PASSWORD,     /* cleartext password requested */
	S_CONNECTING,   /* PostgreSQL connection being opened */
	S_READY,        /* statements flow */
	S_FEED,         /* a changefeed runs; client input waits */
	S_CLOSING,      /* flushing a last error, then close */
};

/* A prepared statement or portal crdbsim answers itself. */
struct local_obj {
	struct local_obj *next;
	bool portal;
	char *name;
	struct sim_stmt st;     /* classification (statements and portals) */
	char **params;          /* portal: $1..$n as text, NULL for SQL NULL */
	int nparams;
	int16_t formats[3];     /* portal: result formats of the 3 columns */
};

/* The SQL text of a relayed named statement, for SHOW STATEMENTS. */
struct relay_stmt {
	struct relay_stmt *next;
	char *name;
	char *sql;
};

struct sim_session {
	struct sim_session *prev, *next;
	struct sim_server *srv;
	enum sess_state state;
	bool dead;
	struct bufferevent *client;  /* the socket, or the TLS filter over it */
	bool tls;               /* client is a TLS filter (after 'S') */
	int64_t close_by_us;    /* S_CLOSING: give up flushing at this time */
	struct event *tick;     /* deferred work: stop a feed, resume input */
	char peer[64];

	/* start-up */
	char *user, *database, *application_name, *client_encoding;
	char *pg_options;       /* -c settings forwarded to PostgreSQL */
	int version;
	char version_string[160];
	char session_id[33];
	uint32_t key_pid, key_secret;
	bool has_key;

	/* backend */
	PGconn *pg;
	struct event *pg_ev;
	struct bufferevent *backend;
	PGcancel *pg_cancel;
	int expected;           /* ReadyForQuery messages PostgreSQL owes */
	int swallow;            /* of which injected by crdbsim */
	char txn_status;
	bool relay_paused;

	/* extended protocol */
	bool batch_forwarded, batch_local, skip_until_sync;
	size_t drain_pending;   /* bytes of the message being handled */
	struct local_obj *locals;
	struct relay_stmt *relayed;
	unsigned nnamed;

	/* running statement */
	bool running;
	char query_id[33];
	/* A cancel relayed to PostgreSQL is lost when it lands before the
	 * backend has read the statement (it is idle then); CockroachDB
	 * cancels a listed query for sure, so crdbsim repeats it. */
	struct event *cancel_retry;
	char cancel_qid[33];    /* the statement being cancelled */
	int cancel_tries;
	char *query;
	int64_t start_us;

	/* changefeed */
	struct simfeed_out feed_out;
	struct simfeed *feed;
	bool in_feed, feed_done, feed_paused, feed_extended;
	int16_t feed_formats[3];
};


/* What the message handlers return. */
enum { H_DONE = 1, H_WAIT = 0, H_GONE = -1 };

/* ---- answer.c ---- */
/* cancel_retry's callback: repeat a relayed cancel while the same
 * statement still runs (at most 5 s). */
void sess_cancel_retry_cb(evutil_socket_t fd, short what, void *arg);

/* ---- session.c ---- */
struct evbuffer *sess_out(struct sim_session *s);          /* to the client */
struct evbuffer *sess_backend_out(struct sim_session *s);  /* to PostgreSQL */
int64_t sess_now_us(void);
/* Run the session's deferred work (tick) on the next loop pass. */
void sess_kick(struct sim_session *s);
/* The statement SHOW STATEMENTS lists for this session (new query id). */
void sess_set_running(struct sim_session *s, const char *sql);
void sess_clear_running(struct sim_session *s);
/* A FATAL error to the client, then close once it is written. */
void sess_fatal(struct sim_session *s, const char *sqlstate,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* ReadyForQuery with PostgreSQL's last transaction status. */
void sess_ready(struct sim_session *s);
void sess_error(struct sim_session *s, const char *sqlstate,
		const char *message, const char *hint);
/* End of a statement answered here: simple protocol gets ReadyForQuery,
 * extended protocol skips to Sync after an error. */
void sess_local_done(struct sim_session *s, bool extended, bool failed);
/* True when PostgreSQL owes nothing, so crdbsim may answer the next
 * message itself; otherwise makes it so (a Sync) and returns false. */
bool sess_settle_backend(struct sim_session *s);
void sess_close(struct sim_session *s);
void sess_process(struct sim_session *s);
void sess_free_local(struct local_obj *o);
void sess_backend_read_cb(struct bufferevent *bev, void *arg);
void sess_backend_write_cb(struct bufferevent *bev, void *arg);
void sess_backend_event_cb(struct bufferevent *bev, short what, void *arg);

/* Switch the client connection to TLS (after 'S' was queued in plain
 * text): the TLS filter takes over the socket bufferevent. 0 or -1. */
int sess_start_tls(struct sim_session *s, SSL_CTX *ctx);

/* ---- server.c: the TLS server context ---- */
/* Load the certificate chain and key; with client_ca, client certificates
 * signed by it are required. 0, or -1 after logging why. */
int sim_tls_init(const char *cert, const char *key, const char *client_ca);
void sim_tls_free(void);
/* NULL when crdbsim runs without TLS (SSLRequest then gets 'N'). */
SSL_CTX *sim_tls_ctx(bool *client_certs);

/* ---- startup.c ---- */
int startup_handle(struct sim_session *s);
int startup_password(struct sim_session *s, char type, size_t total);

/* ---- statements.c ---- */
/* One complete client message of the READY state (total bytes). */
int stmt_handle_message(struct sim_session *s, char type, size_t total);

/* ---- answer.c ---- */
/* A statement crdbsim answers (not a changefeed): false after an error. */
bool answer_run(struct sim_session *s, const struct sim_stmt *st,
		char *const *params, int nparams);
bool answer_txn_allows(struct sim_session *s, const struct sim_stmt *st);

/* ---- feedwire.c ---- */
/* A changefeed statement: 1 started, 0 not a sinkless feed, -1 error sent. */
int feedwire_run(struct sim_session *s, const char *sql, char *const *params,
		 int nparams, bool extended, const int16_t formats[3]);
/* The feed ended (error, completion or cancel): back to READY. */
void feedwire_end(struct sim_session *s, bool failed);

/* ---- sim_job_sql.c ---- */
/* Changefeed job statements (SIM_JOB): the columns for Describe (or
 * NoData), and running one (RowDescription too unless extended); false
 * after an error sent. */
bool jobwire_describe(struct sim_session *s, const char *sql,
		      const int16_t formats[3]);
bool jobwire_run(struct sim_session *s, const char *sql, char *const *params,
		 int nparams, bool extended, const int16_t formats[3]);

#endif /* CRDBSIM_SESSION_H */
