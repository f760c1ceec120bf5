/*
 * simfeed.h: the boundary inside crdbsim between the wire front end
 * (session.c and friends: PostgreSQL v3 protocol, relay, intercepted
 * statements, cancel, control socket) and the changefeed engine (feed*.c:
 * statement parsing, logical decoding into the history, initial scan,
 * CockroachDB JSON rendering, resolved timestamps, feed faults).
 *
 * The engine never touches a client socket: it hands rows to the session
 * through struct simfeed_out, and the session encodes them as DataRows in
 * the client's chosen format. All calls happen on crdbsim's one event_base.
 */
#ifndef CRDBSIM_SIMFEED_H
#define CRDBSIM_SIMFEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct simfeed_engine;  /* one per crdbsim process */
struct simfeed_stmt;    /* a parsed changefeed statement */
struct simfeed;         /* one running feed (one client session) */

/* Process-wide engine settings, from crdbsim's command line. */
struct simfeed_settings {
	const char *pg_dsn;        /* the real PostgreSQL */
	bool rangefeed_enabled;    /* kv.rangefeed.enabled at start */
	int64_t gc_ttl_ms;         /* history retention = GC threshold age */
	int emulated_version;      /* e.g. 230111 for v23.1.11 */
	/* kv.closed_timestamp.target_duration at start: resolved timestamps
	 * trail the present by at least this much (CockroachDB: 3 s). */
	int64_t closed_ts_target_ms;
};

struct simfeed_engine *simfeed_engine_new(struct event_base *base,
					  const struct simfeed_settings *s,
					  char *errbuf, size_t errlen);
void simfeed_engine_free(struct simfeed_engine *engine);

/* SET / SHOW CLUSTER SETTING kv.rangefeed.enabled go through these. */
void simfeed_engine_set_rangefeed(struct simfeed_engine *engine, bool on);
bool simfeed_engine_rangefeed(const struct simfeed_engine *engine);
/* ... and kv.closed_timestamp.target_duration (milliseconds, >= 0). */
void simfeed_engine_set_closed_ts_target(struct simfeed_engine *engine,
					 int64_t ms);
int64_t simfeed_engine_closed_ts_target(const struct simfeed_engine *engine);

/* An error to send to the client: SQLSTATE, message, optional hint. */
struct simfeed_error {
	char sqlstate[6];
	char message[512];
	char hint[256];
};

/*
 * Is sql a sinkless changefeed statement (CREATE CHANGEFEED FOR ... without
 * INTO, EXPERIMENTAL CHANGEFEED FOR ..., CREATE CHANGEFEED ... AS SELECT)?
 * Returns 0 when it is not (relay it), 1 when it is and *out was set, -1 when
 * it is one but is malformed or has bad options (*err says what, in
 * CockroachDB's words). params are the text values of $1..$n (extended
 * protocol), NULL entries for SQL NULL.
 */
int simfeed_parse(struct simfeed_engine *engine, const char *sql,
		  const char *const *params, int nparams,
		  struct simfeed_stmt **out, struct simfeed_error *err);
/* A statement is freed with sim_stmt_free() (simstmt.h). */

/* What the engine tells the session. Every callback gets `arg`. */
struct simfeed_out {
	void *arg;
	/* Validation passed (tables exist, cursor ok): send the RowDescription
	 * now (simple protocol) and then rows. Called at most once. */
	void (*started)(void *arg);
	/* A NoticeResponse (severity NOTICE) to send before data. */
	void (*notice)(void *arg, const char *message);
	/* One row. table and key are NULL for resolved rows; lengths are byte
	 * counts of raw JSON (the session hex-encodes for text format). A
	 * zero-length value is an empty bytea, not NULL. */
	void (*row)(void *arg, const char *table, size_t table_len,
		    const char *key, size_t key_len,
		    const char *value, size_t value_len);
	/* The feed ended with an error (the feed is finished; free it). */
	void (*error)(void *arg, const struct simfeed_error *err);
	/* The feed completed (end_time or initial_scan='only'): send
	 * CommandComplete "EXPERIMENTAL CHANGEFEED <nrows>". */
	void (*complete)(void *arg, uint64_t nrows);
	/* Flow control: the engine produces only while this returns true,
	 * and waits for simfeed_resume() after it returned false. */
	bool (*can_send)(void *arg);
};

/* Start a parsed statement for one session. Takes ownership of stmt. */
struct simfeed *simfeed_start(struct simfeed_engine *engine,
			      struct simfeed_stmt *stmt,
			      const struct simfeed_out *out);

/* The client drained its buffer: produce again. */
void simfeed_resume(struct simfeed *feed);

/* Stop at once (cancel, client gone). No callback runs after this. */
void simfeed_stop(struct simfeed *feed);

/* ---- fault injection (driven by the control interface) ---- */

/* End every running feed with this error. Returns how many. */
int simfeed_fail_all(struct simfeed_engine *engine, const char *sqlstate,
		     const char *message);
/* Re-emit, on every running feed, the last n data rows it sent (a duplicate
 * window, as after a CockroachDB retry). */
int simfeed_duplicate(struct simfeed_engine *engine, int n);
/* Stall every running feed for ms milliseconds: no rows, no resolved. */
int simfeed_stall(struct simfeed_engine *engine, int64_t ms);
/* Move the GC threshold to now - age_ms (history before it is deleted):
 * older cursors fail with CockroachDB's GC message (§7). */
int simfeed_gc(struct simfeed_engine *engine, int64_t age_ms);

#endif /* CRDBSIM_SIMFEED_H */
