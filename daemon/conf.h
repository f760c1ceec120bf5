/*
 * conf.h: crdbfeedd's configuration, as parsed from an INI-style file (or
 * quick mode's command line) into a fresh immutable struct. One key table
 * (conf_keys.c) says, per key, where its value goes, its type, default,
 * reload policy and help; loading, comparing for reload, freeing, --help,
 * the example config and the docs check all walk it.
 * Reload = parse into a new struct, validate, diff against the old one, swap.
 */
#ifndef CRDBFEEDD_CONF_H
#define CRDBFEEDD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "crdb.h"
#include "loglevel.h"

/* What a change to a key needs before it takes effect. */
enum cfg_reload {
	CFG_RELOAD_LIVE = 0,     /* applied on SIGHUP */
	CFG_RELOAD_FEED,         /* applied on SIGHUP by restarting that feed
				    (from its checkpoint) or sink */
	CFG_RELOAD_RESTART       /* needs a daemon restart; logged by name */
};

/* How a value is read, checked and stored (the C type of its field). */
enum cfg_type {
	CFG_STRING,   /* char * */
	CFG_BOOL,     /* bool: yes/no, true/false, on/off, 1/0 */
	CFG_INT,      /* int64_t, within [min, max] */
	CFG_DURATION, /* int64_t ms: "500ms", "10s", "1m30s", "2h"; [min, max] */
	CFG_SIZE,     /* size_t bytes, k/M/G suffixes (1024 based); [min, max] */
	CFG_ENUM,     /* int (a C enum in the order of enum_values) */
	CFG_MODE,     /* mode_t, octal */
	CFG_LIST,     /* comma separated; never stored by the generic loader */
	CFG_PATH,     /* char *, an absolute path */
	CFG_DSN,      /* char *, a libpq connection string ${VAR} expanded */
	CFG_TLS_FILE, /* char *, absolute path or credential:NAME resolved */
	CFG_UIDS,     /* uid_t * and a size_t count: users by name or uid */
	CFG_GIDS,     /* gid_t * and a size_t count: groups by name or gid */
	CFG_LISTEN,   /* char *, a loopback host:port */
	CFG_HLC       /* char *, an HLC or RFC 3339 time, kept as HLC text */
};

enum cfg_section { CFG_SECTION_GLOBAL, CFG_SECTION_FEED, CFG_SECTION_SINK };

/* Row flags. */
#define CFG_F_ENV       0x1u /* ${VAR} and ${VAR:-default} expanded */
#define CFG_F_PRIVATE   0x2u /* next to a secret: never quoted in a message */
#define CFG_F_OPTION    0x4u /* the changefeed option of the same name (quick
				mode's -o NAME sets it); without a field, a
				set value is passed in the feed's options */
#define CFG_F_UNIX_ONLY 0x8u /* sink key for type = unix only */
#define CFG_F_SOCKET    0x10u /* sink key for type = unix or pg (a socket
				 file and its peers) */
#define CFG_F_PG_ONLY   0x20u /* sink key for type = pg only */
#define CFG_F_JOB_ONLY  0x40u /* feed key for source = job only */
#define CFG_F_NATS_ONLY 0x80u /* sink key for type = nats only */
#define CFG_F_NATS_SRC  0x100u /* feed key for source = nats only */

/* A key without a field is read by explicit code (or is only the default
 * of the feed or sink key of the same name). */
#define CFG_NO_FIELD ((size_t)-1)

/*
 * One row of the key table. The value of a key in a section is its own,
 * else (feed and sink keys) the [crdbfeedd] key of the same name and type,
 * else default_value, parsed like the file's text; "" = unset.
 */
struct cfg_key {
	enum cfg_section section;
	const char *name;
	enum cfg_type type;
	size_t field;               /* offsetof in struct config (global),
				       feed_config or sink_config */
	size_t count;               /* CFG_UIDS/CFG_GIDS: offset of the count */
	const char *default_value;
	const char *enum_values;    /* CFG_ENUM: "a|b|c" */
	int64_t min, max;           /* CFG_INT/DURATION/SIZE; max 0 = the type's */
	enum cfg_reload reload;
	unsigned flags;             /* CFG_F_* */
	const char *help;           /* one line */
};
extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;


/* Where a feed starts when it has no checkpoint. */
enum feed_start {
	FEED_START_INITIAL_SCAN, /* initial_scan='yes': emit current rows first */
	FEED_START_NOW,          /* initial_scan='no': only changes from now */
	FEED_START_CURSOR        /* from start_cursor (HLC or RFC 3339) */
};

/* What a full subscriber buffer does (per sink). */
enum slow_policy {
	SLOW_POLICY_BLOCK,      /* stop reading the feed until it drains */
	SLOW_POLICY_DISCONNECT, /* close that subscriber with an error line */
	SLOW_POLICY_DROP,       /* skip events, then say how many were missed */
	SLOW_POLICY_JOURNAL     /* ordered feeds: read from the journal until
				   caught up (their sinks' default) */
};

/* An ordered feed's resolved interval unless the file sets one: rows wait
 * for it (crdbfeedd(8), DELIVERY GUARANTEES). */
#define ORDERED_RESOLVED_DEFAULT_MS 1000

/* What a feed promises its subscribers (crdbfeedd(8), DELIVERY). */
enum feed_delivery {
	FEED_DELIVERY_STREAM,   /* as the changefeed sends: at least once,
				   ordered per key */
	FEED_DELIVERY_ORDERED   /* held until resolved: once, commit order,
				   journaled, replayable */
};

/* What a feed's rows are (crdbfeedd.conf(5), kind): a table's changes, or
 * notifications (conf/notify.sql's table, crdbfeedd(8), LISTEN/NOTIFY). */
enum feed_kind {
	FEED_KIND_TABLE,
	FEED_KIND_NOTIFY        /* ordered; rows that are not notifications
				   dropped, identical ones folded */
};

/* Where a feed's rows come from (crdbfeedd(8), PRODUCTION FEEDS): its own
 * sinkless changefeed, or a changefeed job posting to the feed's HTTPS
 * ingest endpoint. */
enum feed_source {
	FEED_SOURCE_SINKLESS,
	FEED_SOURCE_JOB,        /* ordered, durable hold; ingest_* and job_*
				   keys */
	FEED_SOURCE_NATS        /* ordered, durable hold: a JetStream
				   consumer of what a nats sink published
				   (a relay); nats_* keys */
};

/* The request path a job feed's endpoint serves: this, then the feed's
 * name. */
#define JOB_PATH_PREFIX "/crdbfeed/"

/* A notify feed's table unless the file names one (conf/notify.sql). */
#define NOTIFY_TABLE_DEFAULT "crdbfeed_notify"

enum sink_type { SINK_UNIX, SINK_STDOUT, SINK_PG, SINK_NATS };

/*
 * A NATS connection and the stream it uses: a sink of type = nats
 * publishes a feed into it, a feed with source = nats consumes from it
 * (crdbfeedd(8), BEYOND ONE MACHINE). File paths are absolute after
 * resolution ("credential:NAME" as for sslrootcert); the secrets they hold
 * are read at connect time and never logged. NULL = not set.
 */
struct nats_settings {
	char *url;             /* comma-separated nats:// or tls:// URLs */
	char *tls_ca;          /* verify the server with this PEM CA (TLS on) */
	char *tls_cert;        /* a client certificate and its key, both or */
	char *tls_key;         /* neither */
	char *creds;           /* a .creds file (user JWT and NKey seed) */
	char *nkey_seed;       /* a file holding an NKey seed ("SU...") */
	char *user;            /* with password_file */
	char *password_file;
	char *token_file;
	char *subject_prefix;  /* subjects PREFIX.FEED.TABLE, default crdbfeed */
	char *stream;          /* the JetStream stream; NULL = derived from
				  the feed's name (nats_stream_default_name) */
	int64_t connect_timeout_ms;
};

/* Does sink key k apply to a sink of this type (CFG_F_UNIX_ONLY,
 * CFG_F_SOCKET, CFG_F_PG_ONLY)? */
bool config_sink_key_applies(const struct cfg_key *k, enum sink_type type);
/* The types a sink key is for, as the messages say them: "type = unix",
 * "type = unix or pg", "type = pg"; NULL for every type. */
const char *config_sink_key_types(const struct cfg_key *k);

/* A changefeed option passed through to the statement (validated by
 * libcrdb's crdb_feed_spec_set_option when the config is loaded). */
struct feed_option {
	char *name;
	char *value; /* NULL for a flag */
};

struct sink_config {
	char *name;            /* section name: [sink NAME] */
	char *feed;            /* the feed it serves */
	enum sink_type type;
	char *path;            /* SINK_UNIX: socket path */
	mode_t mode;           /* SINK_UNIX, SINK_PG: file mode, default 0660 */
	char *group;           /* SINK_UNIX, SINK_PG: group name or NULL */
	enum slow_policy policy;  /* default: disconnect (unix), block (stdout) */
	size_t buffer_bytes;      /* per-subscriber bound */
	size_t low_watermark;     /* block policy: resume below this */
	bool resolved;            /* send resolved lines unless the subscriber
				     asks otherwise */
	int64_t replay_grace_ms;  /* journaled: wait this long for a request
				     line before starting live */
	/* SINK_PG: the LISTEN endpoint (crdbfeedd(8), "LISTEN/NOTIFY"): a
	 * Unix socket pg_dir/.s.PGSQL.pg_port and/or a loopback TCP address
	 * with SCRAM-SHA-256 against pg_auth_file, optionally over TLS; the
	 * bounds; and whether
	 * a table feed's rows go to channel "table:NAME". */
	char *pg_dir;
	int64_t pg_port;
	char *pg_tcp;
	char *pg_auth_file;
	char *pg_tls_cert;        /* TLS on pg_tcp: PEM files, both or neither */
	char *pg_tls_key;
	bool pg_tls_require;      /* TCP clients must ask for TLS */
	int64_t pg_max_listeners;
	int64_t pg_max_channels;
	bool table_channels;
	/* SINK_UNIX, SINK_PG: who may subscribe (listen), checked with
	 * SO_PEERCRED on accept (on a pg sink's Unix socket only).
	 * Both empty = anyone who can open the socket file. Otherwise a peer
	 * is let in when its uid is in allow_uids or its primary gid is in
	 * allow_gids (resolved from names or numbers when the file is loaded;
	 * root is not special). */
	uid_t *allow_uids;
	size_t nallow_uids;
	gid_t *allow_gids;
	size_t nallow_gids;
	/* SINK_NATS: the connection and stream; the feed identity its
	 * Nats-Msg-Ids are derived from (NULL = the feed's name: two daemons
	 * publishing one feed must agree on it); unacknowledged messages at
	 * most; how long an acknowledgement may take; and, when stream_create
	 * is set, the stream to provision (else an existing one is checked:
	 * its subjects must cover the feed's, its duplicate window must be at
	 * least duplicate_window). */
	struct nats_settings nats;
	char *nats_identity;
	int64_t nats_max_pending;
	int64_t nats_ack_timeout_ms;
	bool nats_stream_create;
	int64_t nats_replicas;
	int64_t nats_duplicate_window_ms;
	int64_t nats_max_age_ms;  /* 0 = no age limit */
	const char *file;         /* where it was defined, for messages */
	int line;
};

struct feed_config {
	char *name;            /* section name: [feed NAME] */
	char *dsn;             /* own or the global default; may hold no
				  password (see password_file) */
	char *password_file;   /* read at connect time; NULL = none */
	char **tables;         /* targets "db.schema.table" or "t" */
	char **families;       /* parallel to tables, NULL entries = none */
	size_t ntables;
	char *query;           /* CDC query (AS SELECT ...) or NULL */
	struct feed_option *options;
	size_t noptions;
	crdb_envelope envelope;
	bool diff;
	int64_t resolved_ms;   /* resolved interval, also sent as
				  min_checkpoint_frequency */
	enum feed_start start;
	char *start_cursor;    /* FEED_START_CURSOR: canonical HLC text
				  ("wall.logical"), RFC 3339 converted */
	int64_t backoff_initial_ms;
	int64_t backoff_max_ms;
	int64_t stall_timeout_ms; /* 0 = max(30 s, 5 x resolved) */
	int64_t checkpoint_interval_ms; /* stream: least time between two
					   checkpoint file writes; 0 = each */
	enum feed_kind kind;
	enum feed_delivery delivery;
	size_t hold_memory;       /* ordered: held rows kept in memory */
	int64_t journal_retention_ms; /* ordered: 0 = no age limit */
	size_t journal_max_size;      /* ordered: bytes of rows kept */
	int64_t resolved_stall_ms; /* restart when resolved stops advancing
				      this long while rows arrive; 0 = max(60 s,
				      10 x resolved) */
	/* TLS files for libpq (sslrootcert, sslcert, sslkey), absolute paths
	 * after resolution: a value "credential:NAME" in the file becomes
	 * $CREDENTIALS_DIRECTORY/NAME. NULL = not set (the DSN may still set
	 * them itself; these override it). Added to the conninfo at connect. */
	char *sslrootcert;
	char *sslcert;
	char *sslkey;
	/* source = job: the endpoint (numeric HOST:PORT to bind; the
	 * HOST:PORT CockroachDB's nodes reach, default ingest_listen), its
	 * TLS files, the file of the bearer token every request must carry,
	 * its bounds; the job's side of TLS (the CA it verifies us with,
	 * default ingest_tls_cert; its client certificate when
	 * ingest_client_ca asks for one); the job to adopt (0: create or
	 * find our own) and how often it is polled. Paths are absolute
	 * after resolution ("credential:NAME" as for sslrootcert). */
	enum feed_source source;
	char *ingest_listen;
	char *ingest_advertise;
	char *ingest_tls_cert;
	char *ingest_tls_key;
	char *ingest_client_ca;
	char *ingest_auth_file;
	size_t ingest_max_body;
	int64_t ingest_max_connections;
	int64_t ingest_max_rate;
	char *job_ca_cert;
	char *job_client_cert;
	char *job_client_key;
	int64_t job_id;
	int64_t job_poll_ms;
	int64_t job_client_timeout_ms;
	/* source = nats: the connection and stream; the feed whose messages
	 * it relays (NULL = this feed's name); its durable consumer (NULL =
	 * "crdbfeed_" and this feed's name, escaped); messages per fetch;
	 * how long JetStream waits for an acknowledgement before it delivers
	 * again, and how many may be unacknowledged (a resolved interval's
	 * rows must fit). */
	struct nats_settings nats;
	char *nats_feed;
	char *nats_durable;
	int64_t nats_fetch_batch;
	int64_t nats_ack_wait_ms;
	int64_t nats_max_ack_pending;
	const char *file;
	int line;
};

struct config {
	char *path;
	/* global section [crdbfeedd] */
	char *state_dir;
	enum log_level log_level;
	/* control socket (status, metrics, pause, resume, reload): NULL = none */
	char *control_socket;
	mode_t control_mode;       /* default 0660 */
	char *control_group;       /* NULL = the daemon's group */
	uid_t *control_allow_uids; /* SO_PEERCRED allow-list, as for sinks */
	size_t ncontrol_allow_uids;
	gid_t *control_allow_gids;
	size_t ncontrol_allow_gids;
	/* Prometheus metrics over HTTP: a Unix socket path and/or a loopback
	 * TCP address "127.0.0.1:9187" / "[::1]:9187" (validated: loopback
	 * only). NULL = off. */
	char *metrics_socket;
	char *metrics_listen;
	/* feeds and sinks, in file order */
	struct feed_config *feeds;
	size_t nfeeds;
	struct sink_config *sinks;
	size_t nsinks;
};

/* Collected problems: every error found, each "file:line: message". */
struct config_diag {
	char **lines;
	size_t nlines;
};
void config_diag_free(struct config_diag *diag);
void config_diag_print(const struct config_diag *diag, FILE *out);

/*
 * Parse and validate a file into a fresh config. Returns NULL when there was
 * any problem; diag then lists all of them, in line order (diag is
 * overwritten: free a previous one first). Never touches a running config.
 * The format and every key are in crdbfeedd.conf(5).
 */
struct config *config_load(const char *path, struct config_diag *diag);
void config_free(struct config *cfg);

/*
 * Reload: for each [crdbfeedd] key whose reload policy is restart (by the
 * key table) and whose value differs, put the running value back into next
 * (the daemon keeps what it started with). Their names, comma separated,
 * go to changed (of size bytes; "" when none). Returns how many differed.
 */
size_t config_keep_restart_keys(struct config *next,
				const struct config *running, char *changed,
				size_t size);

/* Find a feed or sink by name, or NULL. */
const struct feed_config *config_feed(const struct config *cfg, const char *name);
const struct sink_config *config_sink(const struct config *cfg, const char *name);

/* True when two feed sections would run the same statement on the same
 * server (a reload keeps such a feed streaming). */
bool config_feed_equal(const struct feed_config *a, const struct feed_config *b);
bool config_sink_equal(const struct sink_config *a, const struct sink_config *b);

/* Build the feed's changefeed spec (targets or query, envelope, resolved and
 * min_checkpoint_frequency, diff, then the options in file order; never a
 * cursor nor initial_scan: where to start is the caller's, from
 * feed->start / start_cursor or its checkpoint). Caller frees. */
crdb_feed_spec *config_feed_spec(const struct feed_config *feed, crdb_error *err);

/* Print the key table as --help text / as an example config. */
void config_print_help(FILE *out);
void config_print_example(FILE *out);

/* Print every key's value in force, one "SECTION.KEY = value" line each
 * ("feed.NAME.KEY" and "sink.NAME.KEY" for those sections), in the
 * notation of the file; unset values are empty. For --dump-config. */
void config_dump(const struct config *cfg, FILE *out);

/*
 * Quick mode's config: one feed "quick" of tables on dsn and one stdout
 * sink, built from the same key table and defaults as a file (the file
 * name in messages is "(command line)"). An option K[=V] whose name is a
 * feed key that is a changefeed option (resolved, envelope, diff, updated,
 * ...) sets that key; cursor=HLC, initial_scan=no and no_initial_scan set
 * where to start; min_checkpoint_frequency follows resolved; the others
 * go into the feed's options; ordered sets delivery = ordered. NULL with
 * diag set on any problem.
 */
struct config *config_quick(const char *dsn, char *const *tables,
			    size_t ntables, char *const *options,
			    size_t noptions, bool ordered,
			    struct config_diag *diag);

/* A copy of a connection string with any password replaced by "***",
 * for logs and status. Caller frees with free(); NULL on ENOMEM. */
char *config_dsn_mask(const char *dsn);

/*
 * The feed's DSN as a keyword/value conninfo with what the feed section
 * overrides: the password read from password_file (its first line), and
 * sslrootcert, sslcert, sslkey (the section wins over the DSN). *out is
 * NULL when nothing is overridden (use feed->dsn as it is); otherwise the
 * caller wipes (explicit_bzero) and frees it. -1 with msg set on failure;
 * msg never holds the password.
 */
int config_dsn_conninfo(const struct feed_config *feed, char **out,
			char *msg, size_t msglen);

/* Names for messages and docs: "crdbfeedd"/"feed"/"sink", "duration",
 * "live"/"feed"/"restart". Static strings. */
const char *config_section_name(enum cfg_section section);
const char *config_type_name(enum cfg_type type);
const char *config_reload_name(enum cfg_reload reload);

/* True when the control socket's settings (path, mode, group, allow-lists)
 * are the same in both: a reload keeps that listener and its clients. */
bool config_control_equal(const struct config *a, const struct config *b);

/* True when the metrics endpoints (metrics_socket, metrics_listen, and the
 * socket file's control_mode/control_group) are the same in both. */
bool config_metrics_equal(const struct config *a, const struct config *b);

/* metrics_listen's value (checked by config_load: loopback only) as a host
 * to resolve ("127.0.0.1", "::1" or "localhost") and a port 1-65535.
 * 0, or -1 when text is not such an address (or host does not fit). host
 * and port may be NULL. */
int config_parse_listen(const char *text, char *host, size_t hostlen,
			uint16_t *port);

/* One "SECTION<TAB>KEY<TAB>facts" line per table row (facts as --help
 * shows them: type, default, reload), for the docs check. */
void config_print_keys(FILE *out);

#endif /* CRDBFEEDD_CONF_H */
