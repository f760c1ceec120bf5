/*
 * simstmt.h: a parsed sinkless changefeed statement inside crdbsim
 * (parse.c fills it; feed*.c runs it), and the CockroachDB JSON renderer
 * (render.c) that turns wal2json change records into key/value bytes.
 */
#ifndef CRDBSIM_SIMSTMT_H
#define CRDBSIM_SIMSTMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "simfeed.h"

/* An HLC as crdbsim handles it (same layout as libcrdb's crdb_hlc). */
struct sim_hlc {
	int64_t wall;     /* ns since the epoch */
	int32_t logical;
};

enum sim_envelope { SIM_ENV_WRAPPED, SIM_ENV_BARE, SIM_ENV_ROW,
		    SIM_ENV_KEY_ONLY, SIM_ENV_ENRICHED };
enum sim_initial_scan { SIM_SCAN_DEFAULT, SIM_SCAN_YES, SIM_SCAN_NO,
			SIM_SCAN_ONLY };
enum sim_schema_policy { SIM_SCHEMA_BACKFILL, SIM_SCHEMA_NOBACKFILL,
			 SIM_SCHEMA_STOP, SIM_SCHEMA_IGNORE };

struct sim_target {
	char *schema;     /* "public" unless given */
	char *table;      /* as stored in PostgreSQL */
	char *family;     /* FAMILY f, or NULL */
	char *display;    /* what goes in the `table` column: "t", "t.f",
			     or db.schema.t with full_table_name */
};

struct simfeed_stmt {
	bool experimental;         /* EXPERIMENTAL CHANGEFEED FOR */
	struct sim_target *targets;
	size_t ntargets;
	char *query;               /* CDC query: the SELECT text, or NULL */
	char *query_where;         /* its WHERE clause, or NULL */
	char **query_columns;      /* its projection (NULL = *) */
	size_t nquery_columns;
	enum sim_envelope envelope;
	enum sim_initial_scan initial_scan;
	enum sim_schema_policy schema_change_policy;
	bool updated, diff, mvcc_timestamp, key_in_value, topic_in_value,
	     full_table_name, split_column_families;
	bool has_cursor;
	struct sim_hlc cursor;     /* resolved from any accepted form */
	bool has_end_time;
	struct sim_hlc end_time;
	bool has_resolved;
	int64_t resolved_ms;       /* 0 = every advance */
	int64_t min_checkpoint_ms; /* default 30000, as CockroachDB */
	/* A changefeed job's restart from its high-water mark, which its
	 * protected timestamp record keeps from the GC: the cursor is not
	 * checked against the GC threshold, and a GC does not end it. */
	bool gc_protected;
	/* firehose (benchmarks): see README.md */
	bool firehose;
	uint64_t firehose_events;
	size_t firehose_size;
	uint64_t firehose_resolved_every;
};

/* How one rendered event is to be built. */
struct sim_render_opts {
	enum sim_envelope envelope;
	bool updated, diff, mvcc_timestamp, key_in_value, topic_in_value;
};

/*
 * Render one change as CockroachDB would (§4, §5 of doc/crdb-wire.md): keys
 * sorted bytewise, ": " and ", " separators, Go string escaping, per-type
 * rendering from the wal2json type names and values.
 *   pk_names: the primary-key column names in key order
 *   after:    wal2json "columns" array of the new row, or NULL for a delete
 *   before:   the old row's columns (diff), or NULL
 *   topic:    the table column's text (topic_in_value)
 * Fills *key and *value with malloc'd bytes (value may be empty: row
 * envelope deletes, key_only). Returns 0, or -1 with errbuf set.
 */
int sim_render_event(const struct sim_render_opts *opts,
		     const json_t *pk_names, const json_t *after,
		     const json_t *before, struct sim_hlc updated,
		     const char *topic,
		     char **key, size_t *key_len,
		     char **value, size_t *value_len,
		     char *errbuf, size_t errlen);

/* The resolved payload for an envelope (§3): {"resolved":"..."} or
 * {"__crdb__":{"resolved":"..."}}. Writes at most buflen bytes; returns the
 * length. */
size_t sim_render_resolved(enum sim_envelope envelope, struct sim_hlc ts,
			   char *buf, size_t buflen);

/* "<wall>.<10-digit logical>" into buf (at least 32 bytes). */
size_t sim_hlc_format(struct sim_hlc ts, char *buf, size_t buflen);

/* Parse a cursor or end_time value in every form CockroachDB accepts
 * (§4.5): timestamp text, decimal HLC, bare integer ns, negative interval
 * (relative to now_ns). -1 with CockroachDB's error text in err. */
int sim_parse_timestamp(const char *text, int64_t now_ns, struct sim_hlc *out,
			struct simfeed_error *err);

/*
 * Parse one wal2json document (or any JSON text) into a jansson tree without
 * losing digits: integers that fit int64 become integers, every other number
 * (numeric 22.30, floats, huge values) becomes a JSON string holding its
 * exact text, which sim_render_event renders by the column's type. Plain
 * json_loads() turns numeric 22.30 into the double 22.3 and refuses integers
 * beyond int64. Returns NULL on malformed input or out of memory.
 */
json_t *sim_wal2json_loads(const char *text, size_t len);

/* Fill *err (when not NULL) with sqlstate and the message, and return
 * -1 (parse.c). */
int sim_error(struct simfeed_error *err, const char *sqlstate,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Free a statement from sim_parse_changefeed (NULL is fine). */
void sim_stmt_free(struct simfeed_stmt *stmt);

/* A changefeed job's statement, CREATE CHANGEFEED FOR ... INTO 'URI' WITH
 * ...: the sink URI and every option as given ($n replaced; a NULL value
 * is an option given without one). */
struct sim_job_spec {
	char *sink_uri;
	char **opt_names, **opt_values;
	size_t nopts;
};
/* Whether sql is CREATE CHANGEFEED ... INTO (a sink). */
bool sim_changefeed_has_sink(const char *sql);
/* Parse a statement with INTO: the feed to run (webhook_* options not
 * applied to it) and the spec; same return convention as below. */
int sim_parse_changefeed_job(const char *sql, const char *const *params,
			     int nparams, int64_t now_ns,
			     struct simfeed_stmt **out, struct sim_job_spec *spec,
			     struct simfeed_error *err);
void sim_job_spec_clear(struct sim_job_spec *spec);

/* Parse the statement (see simfeed_parse for the return convention). */
int sim_parse_changefeed(const char *sql, const char *const *params,
			 int nparams, int64_t now_ns,
			 struct simfeed_stmt **out, struct simfeed_error *err);

#endif /* CRDBSIM_SIMSTMT_H */
