/*
 * crdb.h: the whole public API of libcrdb, the C counterpart of psycopg's
 * psycopg.crdb module, on libpq and jansson.
 *
 * What it offers: CockroachDB-aware connections (blocking and non-blocking),
 * detection and version parsing, version-aware backend pid and cancel, a
 * type-adapter registry tuned to CockroachDB's data model, HLC timestamps,
 * changefeed statement building, changefeed row decoding and error
 * classification. Section numbers (§N) refer to doc/crdb-wire.md.
 *
 * Conventions, for every function below:
 *  - Every exported symbol starts with crdb_ (make check enforces it).
 *  - Errors reach the caller through a caller-supplied `crdb_error *err`
 *    (which may be NULL when the caller does not care). The library never
 *    logs, never exits, never aborts; it survives allocation failure and
 *    reports CRDB_ENOMEM.
 *  - Functions returning int return 0 on success and -1 on error; functions
 *    returning a pointer return NULL on error.
 *  - Ownership is in the names: crdb_*_new and crdb_connect* return objects the caller
 *    frees with the matching *_free; "borrowed" results live as long as the
 *    object they came from; strings documented as "caller frees" are freed
 *    with crdb_free().
 *  - Handles are opaque. Nothing here is thread-safe for one handle used by
 *    two threads at once; distinct handles are independent.
 */
#ifndef CRDB_H
#define CRDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors and allocation                                               */
/* ------------------------------------------------------------------ */

typedef enum crdb_errcode {
	CRDB_OK = 0,
	CRDB_ENOMEM,      /* an allocation failed */
	CRDB_EINVAL,      /* a bad argument or malformed input */
	CRDB_ECONNECT,    /* connection could not be established or was lost */
	CRDB_ESERVER,     /* the server answered with an error (sqlstate set) */
	CRDB_EPROTO,      /* the server sent something we cannot interpret */
	CRDB_EUNSUPPORTED /* not available on this server or type registry */
} crdb_errcode;

#define CRDB_ERROR_MSGLEN 256

/*
 * Caller-supplied error object. Fixed size so that reporting an error never
 * needs an allocation. `message` is one line, NUL-terminated, and never
 * contains a password.
 */
typedef struct crdb_error {
	crdb_errcode code;
	char sqlstate[6];                /* "" unless the server sent one */
	char message[CRDB_ERROR_MSGLEN]; /* one line, no trailing newline */
} crdb_error;

/* Reset to CRDB_OK with empty strings. */
void crdb_error_clear(crdb_error *err);

/* A static name for a code, e.g. "ENOMEM". */
const char *crdb_errcode_name(crdb_errcode code);

/*
 * Replace the allocator used by libcrdb itself (not by libpq or jansson; use
 * json_set_alloc_funcs for jansson). Pass NULLs to restore malloc/realloc/
 * free. Call before any other libcrdb function; not thread-safe.
 */
void crdb_set_allocator(void *(*malloc_fn)(size_t),
			void *(*realloc_fn)(void *, size_t),
			void (*free_fn)(void *));

/* Free memory that libcrdb documents as "caller frees". NULL is a no-op. */
void crdb_free(void *ptr);

/* ------------------------------------------------------------------ */
/* Versions (§6.1, §6.2)                                               */
/* ------------------------------------------------------------------ */

/*
 * Parse a crdb_version string by psycopg's rule: the first match of
 * \bv(\d+)\.(\d+)\.(\d+) gives major*10000 + minor*100 + patch, so
 * "CockroachDB CCL v21.2.10 (...)" is 210210. NULL or "" -> CRDB_EINVAL with
 * "'crdb_version' parameter status not set"; unparsable -> CRDB_EINVAL.
 */
int crdb_parse_version(const char *crdb_version, int *version_out,
		       crdb_error *err);

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

/* A CockroachDB-aware connection wrapping one PGconn. Also works against
 * PostgreSQL, as psycopg.connect does. */
typedef struct crdb_conn crdb_conn;

/*
 * Blocking connect. conninfo is a libpq keyword/value string or URI. On
 * CockroachDB the session id is fetched (SHOW session_id) so that cancel can
 * work on servers older than 22.1. Returns NULL on failure with err set;
 * err->message never contains the password.
 */
crdb_conn *crdb_connect(const char *conninfo, crdb_error *err);

/* What a non-blocking connect wants next. */
typedef enum crdb_poll {
	CRDB_POLL_FAILED = 0, /* see err; free the handle */
	CRDB_POLL_READING,    /* wait until crdb_conn_socket() is readable */
	CRDB_POLL_WRITING,    /* wait until crdb_conn_socket() is writable */
	CRDB_POLL_OK          /* connected and ready for statements */
} crdb_poll;

/*
 * Non-blocking connect for an event loop: PQconnectStart, then call
 * crdb_connect_poll() each time the socket is ready in the wanted direction
 * (the first call may be made at once). The socket may change between calls:
 * always re-read crdb_conn_socket(). Returns NULL only when the handle
 * cannot even be created (bad conninfo, ENOMEM).
 */
crdb_conn *crdb_connect_start(const char *conninfo, crdb_error *err);
crdb_poll crdb_connect_poll(crdb_conn *conn, crdb_error *err);

/* The socket to watch, or -1. */
int crdb_conn_socket(const crdb_conn *conn);

/* The wrapped PGconn, borrowed: valid until crdb_conn_free(). Use it for
 * plain libpq calls; do not PQfinish it. */
PGconn *crdb_conn_pg(crdb_conn *conn);

/* Close the connection (PQfinish) and free the handle. NULL is a no-op. */
void crdb_conn_free(crdb_conn *conn);

/* True exactly when the server reported a non-empty crdb_version (§6.2). */
bool crdb_conn_is_crdb(const crdb_conn *conn);
bool crdb_pg_is_crdb(const PGconn *pg);

/* "CockroachDB" or "PostgreSQL" (static strings). */
const char *crdb_conn_vendor(const crdb_conn *conn);

/*
 * Server version in PostgreSQL's numeric format: from crdb_version on
 * CockroachDB (21.2.10 -> 210210), PQserverVersion() on PostgreSQL.
 */
int crdb_conn_server_version(const crdb_conn *conn, int *version_out,
			     crdb_error *err);
int crdb_pg_server_version(const PGconn *pg, int *version_out,
			   crdb_error *err);

/*
 * Backend pid, only where the server populates it: PostgreSQL, and
 * CockroachDB 22.1 and later (upper 32 bits of the 64-bit cancel key, §6.3;
 * not an OS pid). 0 means unknown (CockroachDB before 22.1).
 */
int crdb_conn_backend_pid(const crdb_conn *conn);

/* The CockroachDB session id (32 hex chars), or NULL on PostgreSQL or when
 * it could not be fetched. Borrowed. */
const char *crdb_conn_session_id(const crdb_conn *conn);

/*
 * Cancel the statement running on conn, from any thread or callback (it does
 * not use conn's socket). PostgreSQL and CockroachDB 22.1+: the libpq cancel
 * request. Older CockroachDB: a second, short-lived connection runs
 * SHOW CLUSTER STATEMENTS for this session and CANCEL QUERY for its
 * statement (§2.5). The running statement then fails with 57014. Blocking.
 */
int crdb_conn_cancel(crdb_conn *conn, crdb_error *err);

/*
 * End conn's whole session the CockroachDB way, from a second connection:
 * CANCEL SESSION '<session id>' (§6.4). The server closes conn. CockroachDB
 * only (CRDB_EUNSUPPORTED on PostgreSQL). Blocking.
 */
int crdb_conn_cancel_session(crdb_conn *conn, crdb_error *err);

/*
 * What the server of a connection can do, from its vendor and version
 * (§14.7). PostgreSQL has every feature but the three changefeed ones
 * (two-phase commit there also needs max_prepared_transactions > 0, which
 * is not checked). CockroachDB thresholds are in libcrdb(3).
 */
typedef enum crdb_feature {
	CRDB_FEATURE_CANCEL = 0,          /* pgwire CancelRequest: 22.1 */
	CRDB_FEATURE_BACKEND_PID,         /* BackendKeyData PID: 22.1 */
	CRDB_FEATURE_SERVER_CURSORS,      /* DECLARE ... CURSOR: 22.1.3 */
	CRDB_FEATURE_TWO_PHASE_COMMIT,    /* PREPARE TRANSACTION: 25.1 to 26.1 */
	CRDB_FEATURE_LISTEN_NOTIFY,       /* never on CockroachDB */
	CRDB_FEATURE_CHANGEFEED,          /* sinkless changefeeds: 19.1 */
	CRDB_FEATURE_CDC_QUERIES,         /* CREATE CHANGEFEED AS SELECT: 23.1 */
	CRDB_FEATURE_ENRICHED_ENVELOPE    /* envelope=enriched: 25.2 */
} crdb_feature;

/* True when the server has the feature; false for an unknown feature or a
 * connection that is not ready. */
bool crdb_conn_supports(const crdb_conn *conn, crdb_feature feature);

/*
 * 0 when the server has the feature; otherwise -1 with CRDB_EUNSUPPORTED
 * and a message naming the feature, the version that has it and the
 * server's version (for LISTEN/NOTIFY: the changefeed alternative). Call it
 * before a statement the server might lack.
 */
int crdb_conn_require(const crdb_conn *conn, crdb_feature feature,
		      crdb_error *err);

/* A feature's name for messages ("server-side cursors"), NULL if unknown. */
const char *crdb_feature_name(crdb_feature feature);

/* ------------------------------------------------------------------ */
/* Type adapters (§5, §8)                                              */
/* ------------------------------------------------------------------ */

typedef struct crdb_type_info {
	const char *name;   /* canonical name, e.g. "int8", "jsonb" */
	uint32_t oid;
	uint32_t array_oid; /* 0 when the registry has no array of it */
} crdb_type_info;

/* An immutable registry of types; static, never freed. */
typedef struct crdb_types crdb_types;

/* CockroachDB's registry (int = int8, json = jsonb, no composite/range/...),
 * and PostgreSQL's, like psycopg's crdb.adapters and adapters. */
const crdb_types *crdb_types_crdb(void);
const crdb_types *crdb_types_postgres(void);

/*
 * Look up a type by name (aliases accepted: "int", "integer", "json",
 * "string", "bool", ... as the server accepts them; "_int8" or "int8[]" for
 * arrays) or by OID (element or array). A type the registry lacks (on
 * CockroachDB: composite, range, multirange, hstore, geometric types, nested
 * arrays, arrays of jsonb, cidr) gives NULL with CRDB_EUNSUPPORTED and a
 * message naming the type and why. Borrowed static result.
 */
const crdb_type_info *crdb_types_by_name(const crdb_types *types,
					 const char *name, crdb_error *err);
const crdb_type_info *crdb_types_by_oid(const crdb_types *types, uint32_t oid,
					crdb_error *err);

/*
 * Convert one result value of a known type to a new jansson value with the
 * right JSON type: bool -> true/false, integers -> integer (exact), floats
 * and numeric -> real or, when not representable exactly, a string,
 * non-finite -> "NaN"/"Infinity"/"-Infinity", json/jsonb -> the embedded
 * value, arrays -> arrays, bytea -> "\\x..." hex string, everything else ->
 * its text. format is 0 (text) or 1 (binary, as PQfformat). NULL (isnull)
 * gives json null. Returns a new reference, or NULL with err set.
 * "Exactly" means the double's shortest decimal form is the same number
 * as the server's text (22.30 -> 22.3; 9007199254740993 -> a string); the
 * same rule holds for numbers inside json/jsonb. Binary date/time values
 * are rendered as PostgreSQL's text output with DateStyle ISO and TimeZone
 * UTC ("2024-01-02 03:04:05.5+00"). Malformed values give CRDB_EPROTO;
 * binary formats of text-only types (inet, bit, ...) CRDB_EUNSUPPORTED.
 */
json_t *crdb_value_to_json(const crdb_types *types, uint32_t oid,
			   const char *value, size_t len, int format,
			   crdb_error *err);

/* One row of a result as a JSON object keyed by column name. New ref. */
json_t *crdb_row_to_json(const crdb_types *types, const PGresult *res,
			 int row, crdb_error *err);

/* ------------------------------------------------------------------ */
/* HLC timestamps (§4.4, §4.5)                                         */
/* ------------------------------------------------------------------ */

/* A hybrid logical clock timestamp: wall time in ns since the Unix epoch
 * and a logical counter. {0,0} is "no timestamp". */
typedef struct crdb_hlc {
	int64_t wall;
	int32_t logical;
} crdb_hlc;

/* Room for any formatted HLC, with its NUL. */
#define CRDB_HLC_BUFSIZE 32

/*
 * Parse "<wall ns>.<logical, 10 digits>" (CockroachDB's decimal form). A
 * bare integer is wall nanoseconds with logical 0 (as a cursor accepts).
 * A shorter fraction is read as the decimal it is, the way CockroachDB
 * reads a cursor: "1.2" is logical 2000000000, and "123.5" (logical
 * 5000000000) is refused as too large; more than 10 digits are refused.
 * Rejects signs, spaces, empty parts, overflow and trailing bytes, with a
 * message that says what was wrong. len is the byte count (no NUL needed).
 */
int crdb_hlc_parse(const char *s, size_t len, crdb_hlc *out, crdb_error *err);

/* Write the canonical form ("1.0000000002") into buf; returns its length. */
size_t crdb_hlc_format(crdb_hlc hlc, char buf[CRDB_HLC_BUFSIZE]);

/* -1, 0 or 1 comparing (wall, logical). */
int crdb_hlc_compare(crdb_hlc a, crdb_hlc b);

static inline bool crdb_hlc_is_zero(crdb_hlc hlc)
{
	return hlc.wall == 0 && hlc.logical == 0;
}

/*
 * Convert an RFC 3339 time ("2024-01-02T03:04:05.123456789Z", offsets
 * "+02:00", lower-case t/z, and a space instead of T accepted) to an HLC
 * with logical 0, for use as a cursor. Up to 9 fraction digits; times
 * before 1970, after 2262-04-11T23:47:16.854775807Z (int64 ns) and leap
 * seconds (:60) are refused.
 */
int crdb_hlc_from_rfc3339(const char *s, crdb_hlc *out, crdb_error *err);

/* ------------------------------------------------------------------ */
/* Changefeed statements (§1, §3, §4.6)                                */
/* ------------------------------------------------------------------ */

/* A changefeed definition being built; becomes a statement string. */
typedef struct crdb_feed_spec crdb_feed_spec;

crdb_feed_spec *crdb_feed_spec_new(crdb_error *err);
void crdb_feed_spec_free(crdb_feed_spec *spec);

/*
 * Add a target table. name is a possibly qualified name, "t", "s.t" or
 * "db.s.t", each part either a plain identifier or a double-quoted one
 * ("My ""T"""); family (may be NULL) adds FAMILY f. Parts are quoted in the
 * statement as needed. Fails for an empty or malformed name, or when a CDC
 * query is set.
 */
int crdb_feed_spec_add_table(crdb_feed_spec *spec, const char *name,
			     const char *family, crdb_error *err);

/*
 * Use a CDC query instead of targets: the text after "AS", which must start
 * with SELECT (case-insensitive) and name one table (§1.3). Fails when
 * targets were added.
 */
int crdb_feed_spec_set_query(crdb_feed_spec *spec, const char *select_sql,
			     crdb_error *err);

/*
 * Set an option of §4.6, validated by type (enum values, durations such as
 * "10s"/"1500ms"/"1m30s" never negative, HLC/timestamp cursors, flags that
 * take no value). value is NULL for a flag. Setting an option twice replaces
 * it. Unknown options and bad values fail with CockroachDB's own wording
 * where §3/§4 record it (e.g. "negative durations are not accepted:
 * resolved='-1s'", "unknown envelope: nope").
 */
int crdb_feed_spec_set_option(crdb_feed_spec *spec, const char *name,
			      const char *value, crdb_error *err);

/* Remove an option; no error when it was not set. */
void crdb_feed_spec_unset_option(crdb_feed_spec *spec, const char *name);

/*
 * Give the changefeed a sink: the statement becomes CREATE CHANGEFEED ...
 * INTO 'uri' (a job, §16), the URI written as a SQL string literal (quotes
 * doubled). Setting it again replaces it. Refuses an empty URI, one without
 * "scheme://", one longer than 256 KiB and control characters; messages
 * never quote the URI (it may hold a private key). With a sink, the options
 * about sinks and jobs are accepted (webhook_auth_header,
 * webhook_client_timeout, webhook_sink_config, compression,
 * gc_protect_expires_after, protect_data_from_gc_on_pause, metrics_label;
 * the webhook_* ones only for a webhook-https:// or webhook-http:// sink);
 * without one, the build refuses them. The experimental spelling takes no
 * sink.
 */
int crdb_feed_spec_set_sink(crdb_feed_spec *spec, const char *uri,
			    crdb_error *err);

/* Use the old spelling EXPERIMENTAL CHANGEFEED FOR (servers before 23.1
 * that reject CREATE CHANGEFEED without INTO; not for CDC queries). */
void crdb_feed_spec_set_experimental(crdb_feed_spec *spec, bool experimental);

/*
 * Build the statement. Cross-option rules are checked here (e.g.
 * initial_scan='only' with resolved, both initial_scan and no_initial_scan,
 * diff/key_in_value with a non-wrapped envelope). With cursor_as_param, the
 * cursor option is written as "cursor = $1" and its value is returned in
 * *cursor_param (borrowed from spec; NULL when no cursor is set, in which
 * case no $1 appears). Caller frees the returned string with crdb_free().
 */
char *crdb_feed_spec_build(const crdb_feed_spec *spec, bool cursor_as_param,
			   const char **cursor_param, crdb_error *err);

/* The value of an option as set (NULL when unset; "" for a flag). */
const char *crdb_feed_spec_option(const crdb_feed_spec *spec,
				  const char *name);

/* ------------------------------------------------------------------ */
/* Changefeed rows (§2, §3, §4)                                        */
/* ------------------------------------------------------------------ */

typedef enum crdb_envelope {
	CRDB_ENVELOPE_WRAPPED = 0, /* the default */
	CRDB_ENVELOPE_BARE,        /* default for CDC queries */
	CRDB_ENVELOPE_ROW,
	CRDB_ENVELOPE_KEY_ONLY,
	CRDB_ENVELOPE_ENRICHED
} crdb_envelope;

/* Parse an envelope name (case-insensitive; "deprecated_row" is ROW). */
int crdb_envelope_parse(const char *name, crdb_envelope *out, crdb_error *err);

typedef enum crdb_event_kind {
	CRDB_EVENT_ROW = 0,  /* a data row */
	CRDB_EVENT_RESOLVED  /* a resolved timestamp */
} crdb_event_kind;

typedef enum crdb_op {
	CRDB_OP_UNKNOWN = 0, /* not derivable (key_only, bare without event_op) */
	CRDB_OP_INSERT,      /* derivable with diff, or enriched "c" */
	CRDB_OP_UPDATE,
	CRDB_OP_UPSERT,      /* insert or update, without diff */
	CRDB_OP_DELETE
} crdb_op;

/* "insert", "update", "upsert", "delete", or "unknown". */
const char *crdb_op_name(crdb_op op);

/* How to read a feed's rows: what its statement asked for. */
typedef struct crdb_decode_opts {
	crdb_envelope envelope;
	bool diff;      /* the statement has diff: op can be insert/update */
	bool number_text; /* keep every JSON number's text (below) */
} crdb_decode_opts;

/*
 * With number_text, every number in the event's JSON values is kept as the
 * server wrote it, digits and exponent unchanged, as a jansson string of
 * the byte CRDB_NUMBER_TEXT_MARK followed by the text. The mark is never
 * part of a valid UTF-8 string, so such a value is never mistaken for a
 * JSON string; jansson refuses to dump it: write it yourself with
 * crdb_json_number_text(). Without number_text, numbers follow the rule of
 * crdb_value_to_json() (a number jansson cannot hold exactly is a string).
 */
#define CRDB_NUMBER_TEXT_MARK 0xff

/* The text of a number kept by number_text (not NUL-terminated: *len
 * bytes), or NULL when json is not one. */
const char *crdb_json_number_text(const json_t *json, size_t *len);

/*
 * One decoded changefeed row. The JSON members are references owned by the
 * event; crdb_event_clear() releases them. table points into the event's own
 * copy. Members not present in the row are NULL / zero.
 */
typedef struct crdb_event {
	crdb_event_kind kind;
	char *table;          /* data rows: "t", "t.family" or "db.s.t" */
	json_t *key;          /* JSON array (an object under enriched, §12) */
	json_t *after;        /* the new row, json null for deletes (wrapped) */
	json_t *before;       /* diff only: the old row or json null */
	json_t *value;        /* the whole parsed value; NULL when empty */
	crdb_op op;
	bool has_updated;
	crdb_hlc updated;
	bool has_mvcc;
	crdb_hlc mvcc_timestamp;
	crdb_hlc resolved;    /* resolved rows */
	bool value_empty;     /* value was zero-length (not NULL): key_only,
				 or a delete under envelope=row */
} crdb_event;

/*
 * Decode one PGRES_SINGLE_TUPLE result with the columns table/key/value, in
 * text (bytea as \x hex) or binary format. Resolved rows (NULL table and
 * key) accept both payload shapes of §3. Malformed rows (wrong column count
 * or types, bad hex, invalid JSON, wrong JSON shapes, a bad HLC) fail with
 * CRDB_EPROTO and a message that says what was wrong. On error *ev is left
 * cleared. Call crdb_event_clear() after use. Limits: key and value of
 * more than 64 MiB (decoded) and JSON nested deeper than 512 levels fail
 * with CRDB_EPROTO, as do duplicate keys in a JSON object.
 */
int crdb_event_decode(const PGresult *res, const crdb_decode_opts *opts,
		      crdb_event *ev, crdb_error *err);

/*
 * The same from raw column bytes, for callers that do not have a PGresult
 * (fuzzers, replays). A NULL pointer means SQL NULL. format 0 = text (bytea
 * columns in \x hex), 1 = binary (raw bytes).
 */
int crdb_event_decode_raw(const char *table, size_t table_len,
			  const char *key, size_t key_len,
			  const char *value, size_t value_len, int format,
			  const crdb_decode_opts *opts, crdb_event *ev,
			  crdb_error *err);

/* Release the event's members and zero it. Safe on a zeroed event. */
void crdb_event_clear(crdb_event *ev);

/* ------------------------------------------------------------------ */
/* Error classification (§7)                                           */
/* ------------------------------------------------------------------ */

typedef enum crdb_errclass {
	CRDB_ERRCLASS_TRANSIENT = 0, /* reconnect with backoff, resume from
					the last resolved timestamp */
	CRDB_ERRCLASS_PERMANENT      /* the operator must act */
} crdb_errclass;

/*
 * Classify a server error from its SQLSTATE (may be NULL or "" for a lost
 * connection) and message. *reason (may be NULL) receives a short static
 * one-line reason a log can carry, e.g. "rangefeeds are disabled: run SET
 * CLUSTER SETTING kv.rangefeed.enabled = true" or "connection lost".
 */
crdb_errclass crdb_classify_error(const char *sqlstate, const char *message,
				  const char **reason);

/* The same for a failed PGresult (NULL result = connection lost). */
crdb_errclass crdb_classify_result(const PGresult *res, const char **reason);

#ifdef __cplusplus
}
#endif

#endif /* CRDB_H */
