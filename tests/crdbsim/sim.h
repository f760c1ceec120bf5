/*
 * sim.h: crdbsim's wire front end, shared between its files: the process
 * (struct sim_server: settings, listeners, the session list, counters) and
 * one client session (struct sim_session: client socket, its backend
 * PostgreSQL connection, protocol state, running statement, feed).
 *
 * Who owns what: sim_main.c (arguments, start-up, signals, files), server.c
 * (listeners, session registry, cancel lookups, ids, stored settings),
 * one session in session.c, startup.c, statements.c, answer.c and
 * feedwire.c (see session.h), intercept.c (which statements crdbsim
 * answers itself, and SQL rewrites), proto.c (v3 message encoding),
 * sim_control.c (the fault-injection control socket), sim_job*.c
 * (changefeed jobs with a webhook sink).
 */
#ifndef CRDBSIM_SIM_H
#define CRDBSIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <libpq-fe.h>

#include "simfeed.h"

/* Bounds. A message longer than this is a protocol violation (PostgreSQL's
 * own limit is 1 GiB as well). */
#define SIM_MAX_MESSAGE       (1u << 30)
/* Startup packets are small; PostgreSQL allows 10000 bytes. */
#define SIM_MAX_STARTUP       10000u
/* Changefeed rows stop being produced above this much queued output. */
#define SIM_FEED_HIGH_WATER   (256u * 1024u)
/* Relayed output: stop reading the producer above this, resume below half. */
#define SIM_RELAY_HIGH_WATER  (1024u * 1024u)
/* Prepared statements and portals remembered per session. */
#define SIM_MAX_NAMED         4096

struct sim_session;

struct sim_server {
	struct event_base *base;
	struct simfeed_engine *engine;
	struct sim_jobs *jobs;          /* changefeed jobs (sim_job.h) */
	/* libpq conninfo of PostgreSQL's database "defaultdb" (sessions use
	 * it with their own dbname), and a blocking helper connection to it
	 * for evaluating CANCEL QUERIES subqueries. */
	char *pg_dsn;
	PGconn *admin;
	const char *password;           /* NULL: trust */
	int default_version;            /* for new connections, 230111 */
	bool draining;                  /* refuse new sessions (57P01) */
	struct evconnlistener *tcp;
	struct evconnlistener *unix_listener;
	struct sim_session *sessions;   /* doubly linked */
	/* Counters for `stats`. */
	uint64_t sessions_total;
	uint64_t rows_sent;
	/* Monotonic wall clock for session and query ids (ns). */
	uint64_t last_id_wall;
};

/* ---- server.c ---- */
int sim_server_listen_tcp(struct sim_server *srv, const char *hostport);
int sim_server_listen_unix(struct sim_server *srv, const char *path);
void sim_server_close_listeners(struct sim_server *srv);
/* A fresh 32-hex-character id (§6.4): wall ns then node id 1. */
void sim_new_id(struct sim_server *srv, char out[33]);
unsigned sim_count_sessions(const struct sim_server *srv, unsigned *feeds);
struct sim_session *sim_find_by_query_id(struct sim_server *srv,
					 const char *query_id);
struct sim_session *sim_find_by_session_id(struct sim_server *srv,
					   const char *session_id);
struct sim_session *sim_find_by_cancel_key(struct sim_server *srv,
					   uint32_t pid, uint32_t secret);
/* The VALUES subquery of every running statement (SHOW STATEMENTS), as a
 * parenthesised SELECT, in a malloc'd string. */
char *sim_statements_sql(struct sim_server *srv);
/* "CockroachDB CCL v23.1.11 (...)" for a numeric version. */
void sim_version_string(int version, char *buf, size_t len);
/* "23.1.11" -> 230111; -1 when malformed. */
int sim_parse_version_arg(const char *s);

/* Run a statement on a blocking helper connection (reset when broken);
 * false, logged under who, on error. *out (when given) gets the result. */
bool sim_pg_exec(PGconn *conn, const char *who, const char *sql, int n,
		 const char *const *params, PGresult **out);
/* Cluster settings survive a restart, as on CockroachDB: kept in
 * crdbsim.cluster_settings of defaultdb. Load applies what is stored. */
int sim_settings_load(struct sim_server *srv);
void sim_settings_set_rangefeed(struct sim_server *srv, bool on);
/* kv.closed_timestamp.target_duration; DEFAULT drops the stored value. */
void sim_settings_set_closed_ts(struct sim_server *srv, int64_t ms,
				bool is_default);
/* "3s", "'250ms'", "1m30s", "00:00:03" -> ms; -1 when malformed. */
int sim_parse_setting_duration(const char *v, int64_t *ms);
/* CockroachDB's default target duration (closedts.TargetDuration). */
#define SIM_CLOSED_TS_DEFAULT_MS 3000

/* ---- session.c, answer.c (see session.h) ---- */
struct sim_session *sim_session_new(struct sim_server *srv, int fd,
				    const char *peer);
void sim_session_free(struct sim_session *s);
/* Cancel what the session runs (CancelRequest or CANCEL QUERY): its feed
 * ends with 57014, a relayed query gets a cancel sent to PostgreSQL.
 * Returns false when nothing runs. */
bool sim_session_cancel(struct sim_session *s);
/* CANCEL SESSION / close-all: close the client connection now. */
void sim_session_kill(struct sim_session *s);
/* shutdown-feeds: 57P01 then close. */
void sim_session_shutdown(struct sim_session *s);
bool sim_session_has_feed(const struct sim_session *s);
/* Accessors for server.c. */
const char *sim_session_id(const struct sim_session *s);
const char *sim_session_query_id(const struct sim_session *s);
bool sim_session_key(const struct sim_session *s, uint32_t *pid,
		     uint32_t *secret);
int sim_session_version(const struct sim_session *s);
struct sim_session *sim_session_next(const struct sim_session *s);
/* A running statement's fields for SHOW STATEMENTS, NULL when idle. */
struct sim_running {
	const char *query_id;
	const char *query;
	const char *session_id;
	const char *user;
	const char *client_address;
	const char *application_name;
	int64_t start_us;              /* Unix time, microseconds */
};
bool sim_session_running(const struct sim_session *s, struct sim_running *r);

/* ---- sim_control.c ---- */
int sim_control_listen(struct sim_server *srv, const char *path);
void sim_control_close(void);

/* ---- logging (sim_main.c) ---- */
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* CRDBSIM_SIM_H */
