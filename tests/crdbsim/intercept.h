/*
 * intercept.h: which statements crdbsim answers itself instead of relaying
 * to PostgreSQL, and the rewrites that make PostgreSQL answer the rest the
 * way CockroachDB would (SELECT version(), SHOW session_id, SHOW
 * STATEMENTS and their [bracketed] forms, SHOW CLUSTER SETTING), and
 * CockroachDB's SQL dialect translated for PostgreSQL (§14).
 */
#ifndef CRDBSIM_INTERCEPT_H
#define CRDBSIM_INTERCEPT_H

#include <stdbool.h>
#include <stdint.h>

enum sim_kind {
	SIM_RELAY = 0,          /* PostgreSQL runs it (rewritten or not) */
	SIM_CHANGEFEED,         /* simfeed_parse decides */
	SIM_CANCEL_QUERY,       /* arg: expression giving one query id */
	SIM_CANCEL_QUERIES,     /* arg: SELECT giving query ids */
	SIM_CANCEL_SESSION,
	SIM_CANCEL_SESSIONS,
	SIM_SET_CLUSTER_SETTING, /* name, arg = value */
	SIM_LISTEN,
	SIM_UNLISTEN,
	SIM_JOB,                /* PAUSE / RESUME / CANCEL JOB, ALTER
				   CHANGEFEED, CREATE CHANGEFEED ... INTO
				   (sim_job_sql.c) */
	SIM_ERROR,              /* answered with sqlstate/message */
};

/* What the rewrites need to know about the session and the process. */
struct sim_rewrite_ctx {
	const char *version_string;     /* crdb_version */
	const char *session_id;
	int version;            /* emulated, major*10000+minor*100+patch */
	bool rangefeed;
	int64_t closed_ts_target_ms;  /* kv.closed_timestamp.target_duration */
	/* SHOW STATEMENTS as a parenthesised SELECT (malloc'd) or NULL. */
	char *(*statements_sql)(void *arg);
	void *arg;
};

struct sim_stmt {
	enum sim_kind kind;
	char *sql;              /* what to send (SIM_RELAY) or the original */
	char *arg;              /* see enum */
	char *name;             /* setting name */
	bool if_exists;
	int nparams;            /* highest $n in the statement */
	char sqlstate[6];
	char message[256];
	char hint[160];         /* SIM_ERROR: "" when none */
};

/* Classify and rewrite sql. Returns 0, or -1 when out of memory. */
int sim_classify(const char *sql, const struct sim_rewrite_ctx *ctx,
		 struct sim_stmt *out);
void sim_stmt_clear(struct sim_stmt *st);

/* Rewrite only (brackets and version()), for CANCEL QUERIES subqueries.
 * Returns a malloc'd string or NULL when out of memory. */
char *sim_rewrite(const char *sql, const struct sim_rewrite_ctx *ctx,
		  int *nparams);

#endif /* CRDBSIM_INTERCEPT_H */
