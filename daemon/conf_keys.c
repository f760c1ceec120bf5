/*
 * conf_keys.c: the key table, the one list of every configuration key:
 * its section, where its value goes, its type and range, its default (as
 * text, read by the same parser as the file), its reload policy and its
 * one-line help. Adding a key is one row here plus its paragraph in
 * crdbfeedd.conf(5) (and, for a key no generic type covers, the explicit
 * code in conf_feed.c or conf_load.c).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf_internal.h"

#include <string.h>

#define ENVELOPES "wrapped|bare|row|key_only|enriched"


/* The NATS connection's keys, the same for a sink of type = nats and a
 * feed with source = nats (struct nats_settings at OFF). */
#define NATS_CONN_KEYS(SECTION, OFF, FLAG, WHO) \
	{ .section = SECTION, .name = "nats_url", .type = CFG_STRING, \
	  .field = OFF + offsetof(struct nats_settings, url), .default_value = "nats://127.0.0.1:4222", .reload = CFG_RELOAD_FEED, .flags = FLAG | CFG_F_ENV, \
	  .help = WHO ": the NATS servers, comma-separated nats:// or tls:// URLs (any one will do; the client learns the others)" }, \
	{ .section = SECTION, .name = "nats_tls_ca", .type = CFG_TLS_FILE, \
	  .field = OFF + offsetof(struct nats_settings, tls_ca), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = FLAG, \
	  .help = WHO ": PEM CA the server's certificate must be signed by; turns TLS on: absolute path or credential:NAME" }, \
	{ .section = SECTION, .name = "nats_tls_cert", .type = CFG_TLS_FILE, \
	  .field = OFF + offsetof(struct nats_settings, tls_cert), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = FLAG, \
	  .help = WHO ": PEM client certificate, with nats_tls_key, for a server that asks for one" }, \
	{ .section = SECTION, .name = "nats_tls_key", .type = CFG_TLS_FILE, \
	  .field = OFF + offsetof(struct nats_settings, tls_key), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = FLAG | CFG_F_PRIVATE, \
	  .help = WHO ": the client certificate's PEM key" }, \
	{ .section = SECTION, .name = "nats_creds", .type = CFG_TLS_FILE, \
	  .field = OFF + offsetof(struct nats_settings, creds), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = FLAG | CFG_F_PRIVATE, \
	  .help = WHO ": a NATS .creds file (user JWT and NKey seed): absolute path or credential:NAME" }, \
	{ .section = SECTION, .name = "nats_nkey_seed", .type = CFG_TLS_FILE, \
	  .field = OFF + offsetof(struct nats_settings, nkey_seed), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = FLAG | CFG_F_PRIVATE, \
	  .help = WHO ": a file holding an NKey user seed (SU...): absolute path or credential:NAME" }, \
	{ .section = SECTION, .name = "nats_user", .type = CFG_STRING, \
	  .field = OFF + offsetof(struct nats_settings, user), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = FLAG, \
	  .help = WHO ": user name, with nats_password_file" }, \
	{ .section = SECTION, .name = "nats_password_file", .type = CFG_TLS_FILE, \
	  .field = OFF + offsetof(struct nats_settings, password_file), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = FLAG | CFG_F_PRIVATE, \
	  .help = WHO ": file holding nats_user's password: absolute path or credential:NAME" }, \
	{ .section = SECTION, .name = "nats_token_file", .type = CFG_TLS_FILE, \
	  .field = OFF + offsetof(struct nats_settings, token_file), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = FLAG | CFG_F_PRIVATE, \
	  .help = WHO ": file holding an authentication token: absolute path or credential:NAME" }, \
	{ .section = SECTION, .name = "nats_subject_prefix", .type = CFG_STRING, \
	  .field = OFF + offsetof(struct nats_settings, subject_prefix), .default_value = "crdbfeed", .reload = CFG_RELOAD_FEED, .flags = FLAG, \
	  .help = WHO ": subjects are PREFIX.FEED.TABLE and PREFIX.FEED._resolved (names escaped, crdbfeedd(8)); dot-separated printable ASCII without * or >" }, \
	{ .section = SECTION, .name = "nats_stream", .type = CFG_STRING, \
	  .field = OFF + offsetof(struct nats_settings, stream), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = FLAG, \
	  .help = WHO ": the JetStream stream (default: CRDBFEED_ and the feed's name, other bytes than letters, digits, - and _ as _)" }, \
	{ .section = SECTION, .name = "nats_connect_timeout", .type = CFG_DURATION, \
	  .field = OFF + offsetof(struct nats_settings, connect_timeout_ms), .default_value = "2s", .min = 100, .reload = CFG_RELOAD_FEED, .flags = FLAG, \
	  .help = WHO ": how long one connection attempt may take; failed attempts are retried with backoff" }

#define GF(member) offsetof(struct config, member)
#define FF(member) offsetof(struct feed_config, member)
#define SF(member) offsetof(struct sink_config, member)

/* CFG_ENUM fields are C enums stored as int; their values are in the order
 * of the row's enum_values. */
_Static_assert(sizeof(enum log_level) == sizeof(int) &&
	       sizeof(crdb_envelope) == sizeof(int) &&
	       sizeof(enum feed_start) == sizeof(int) &&
	       sizeof(enum sink_type) == sizeof(int) &&
	       sizeof(enum slow_policy) == sizeof(int) &&
	       sizeof(enum feed_delivery) == sizeof(int) &&
	       sizeof(enum feed_kind) == sizeof(int) &&
	       sizeof(enum feed_source) == sizeof(int), "enums are ints");
_Static_assert(CRDB_ENVELOPE_WRAPPED == 0 && CRDB_ENVELOPE_BARE == 1 &&
	       CRDB_ENVELOPE_ROW == 2 && CRDB_ENVELOPE_KEY_ONLY == 3 &&
	       CRDB_ENVELOPE_ENRICHED == 4, "envelopes in ENVELOPES order");
_Static_assert(LOG_LEVEL_ERROR == 0 && LOG_LEVEL_DEBUG == 4 &&
	       FEED_START_INITIAL_SCAN == 0 && FEED_START_NOW == 1 &&
	       FEED_START_CURSOR == 2 && SINK_UNIX == 0 && SINK_STDOUT == 1 &&
	       SINK_PG == 2 && SINK_NATS == 3 &&
	       SLOW_POLICY_BLOCK == 0 && SLOW_POLICY_DISCONNECT == 1 &&
	       SLOW_POLICY_DROP == 2 && SLOW_POLICY_JOURNAL == 3 &&
	       FEED_DELIVERY_STREAM == 0 && FEED_DELIVERY_ORDERED == 1 &&
	       FEED_KIND_TABLE == 0 && FEED_KIND_NOTIFY == 1 &&
	       FEED_SOURCE_SINKLESS == 0 && FEED_SOURCE_JOB == 1 &&
	       FEED_SOURCE_NATS == 2,
	       "enums in enum_values order");

/*
 * A feed or sink key inherits from the [crdbfeedd] key of the same name and
 * type: unset in the section, the global value applies, then the global
 * default. Order here is the order of --help and the example config.
 */
const struct cfg_key cfg_keys[] = {
	{ .section = CFG_SECTION_GLOBAL, .name = "dsn", .type = CFG_DSN,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_ENV,
	  .help = "default connection string (URI or key=value) of every feed; ${VAR} and ${VAR:-default} take environment variables" },
	{ .section = CFG_SECTION_GLOBAL, .name = "password_file", .type = CFG_PATH,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PRIVATE,
	  .help = "default file (absolute path) holding the DSN password, read at each connect" },
	{ .section = CFG_SECTION_GLOBAL, .name = "credential", .type = CFG_STRING,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PRIVATE,
	  .help = "default systemd credential holding the password: $CREDENTIALS_DIRECTORY/NAME (LoadCredential=)" },
	{ .section = CFG_SECTION_GLOBAL, .name = "sslrootcert", .type = CFG_TLS_FILE,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "default CA certificate file of feeds: absolute path, or credential:NAME for $CREDENTIALS_DIRECTORY/NAME" },
	{ .section = CFG_SECTION_GLOBAL, .name = "sslcert", .type = CFG_TLS_FILE,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "default client certificate file of feeds: absolute path or credential:NAME" },
	{ .section = CFG_SECTION_GLOBAL, .name = "sslkey", .type = CFG_TLS_FILE,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PRIVATE,
	  .help = "default client key file of feeds: absolute path or credential:NAME" },
	{ .section = CFG_SECTION_GLOBAL, .name = "state_dir", .type = CFG_PATH,
	  .field = GF(state_dir), .default_value = "/var/lib/crdbfeedd", .reload = CFG_RELOAD_RESTART, .flags = CFG_F_ENV,
	  .help = "directory (absolute path) of the feeds' checkpoints; ${VAR} and ${VAR:-default} take environment variables" },
	{ .section = CFG_SECTION_GLOBAL, .name = "log_level", .type = CFG_ENUM,
	  .field = GF(log_level), .default_value = "info", .enum_values = "error|warning|notice|info|debug", .reload = CFG_RELOAD_LIVE,
	  .help = "least important messages logged" },
	{ .section = CFG_SECTION_GLOBAL, .name = "control_socket", .type = CFG_PATH,
	  .field = GF(control_socket), .default_value = "", .reload = CFG_RELOAD_LIVE,
	  .help = "absolute path of the control socket (status, metrics, pause, resume, reload; crdbfeedctl uses /run/crdbfeedd/control.sock); unset: none" },
	{ .section = CFG_SECTION_GLOBAL, .name = "control_mode", .type = CFG_MODE,
	  .field = GF(control_mode), .default_value = "0660", .reload = CFG_RELOAD_LIVE,
	  .help = "file mode of the control and metrics sockets (octal)" },
	{ .section = CFG_SECTION_GLOBAL, .name = "control_group", .type = CFG_STRING,
	  .field = GF(control_group), .default_value = "", .reload = CFG_RELOAD_LIVE,
	  .help = "group of the control and metrics sockets (unset: the daemon's group)" },
	{ .section = CFG_SECTION_GLOBAL, .name = "control_allow_users", .type = CFG_UIDS,
	  .field = GF(control_allow_uids), .count = GF(ncontrol_allow_uids), .default_value = "", .reload = CFG_RELOAD_LIVE,
	  .help = "users (names or uids) let in on the control socket; with control_allow_groups unset too: anyone who can open it" },
	{ .section = CFG_SECTION_GLOBAL, .name = "control_allow_groups", .type = CFG_GIDS,
	  .field = GF(control_allow_gids), .count = GF(ncontrol_allow_gids), .default_value = "", .reload = CFG_RELOAD_LIVE,
	  .help = "groups (names or gids) whose members, by primary group, are let in on the control socket" },
	{ .section = CFG_SECTION_GLOBAL, .name = "metrics_socket", .type = CFG_PATH,
	  .field = GF(metrics_socket), .default_value = "", .reload = CFG_RELOAD_LIVE,
	  .help = "absolute path of a Unix socket serving Prometheus metrics over HTTP (GET /metrics); unset: none" },
	{ .section = CFG_SECTION_GLOBAL, .name = "metrics_listen", .type = CFG_LISTEN,
	  .field = GF(metrics_listen), .default_value = "", .reload = CFG_RELOAD_LIVE,
	  .help = "loopback TCP address serving Prometheus metrics: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT; unset: none" },
	{ .section = CFG_SECTION_GLOBAL, .name = "resolved", .type = CFG_DURATION,
	  .field = CFG_NO_FIELD, .default_value = "10s", .min = 1, .reload = CFG_RELOAD_FEED,
	  .help = "default resolved timestamp interval of feeds, also sent as min_checkpoint_frequency" },
	{ .section = CFG_SECTION_GLOBAL, .name = "envelope", .type = CFG_ENUM,
	  .field = CFG_NO_FIELD, .default_value = "", .enum_values = ENVELOPES, .reload = CFG_RELOAD_FEED,
	  .help = "default envelope of feeds (unset: wrapped for tables, bare for a query)" },
	{ .section = CFG_SECTION_GLOBAL, .name = "start", .type = CFG_ENUM,
	  .field = CFG_NO_FIELD, .default_value = "initial_scan", .enum_values = "initial_scan|now|cursor", .reload = CFG_RELOAD_FEED,
	  .help = "default start of a feed without a checkpoint: current rows first, only new changes, or start_cursor" },
	{ .section = CFG_SECTION_GLOBAL, .name = "backoff_initial", .type = CFG_DURATION,
	  .field = CFG_NO_FIELD, .default_value = "1s", .min = 1, .reload = CFG_RELOAD_FEED,
	  .help = "default first reconnect delay after a transient error (doubles, with jitter)" },
	{ .section = CFG_SECTION_GLOBAL, .name = "backoff_max", .type = CFG_DURATION,
	  .field = CFG_NO_FIELD, .default_value = "60s", .reload = CFG_RELOAD_FEED,
	  .help = "default longest reconnect delay" },
	{ .section = CFG_SECTION_GLOBAL, .name = "stall_timeout", .type = CFG_DURATION,
	  .field = CFG_NO_FIELD, .default_value = "0", .reload = CFG_RELOAD_FEED,
	  .help = "default silence after which a feed is cancelled and reconnected (0: max(30s, 5 x resolved))" },
	{ .section = CFG_SECTION_GLOBAL, .name = "buffer", .type = CFG_SIZE,
	  .field = CFG_NO_FIELD, .default_value = "1M", .min = 4096, .reload = CFG_RELOAD_FEED,
	  .help = "default output buffer of each sink subscriber (k, M, G suffixes: 1024 based)" },
	{ .section = CFG_SECTION_GLOBAL, .name = "allow_users", .type = CFG_UIDS,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "default users (names or uids) let in on unix sinks; with allow_groups unset too: anyone who can open the socket" },
	{ .section = CFG_SECTION_GLOBAL, .name = "allow_groups", .type = CFG_GIDS,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "default groups (names or gids) whose members, by primary group, are let in on unix sinks" },

	{ .section = CFG_SECTION_FEED, .name = "dsn", .type = CFG_DSN,
	  .field = FF(dsn), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_ENV,
	  .help = "connection string of this feed (default: [crdbfeedd] dsn); ${VAR} and ${VAR:-default} expanded" },
	{ .section = CFG_SECTION_FEED, .name = "password_file", .type = CFG_PATH,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PRIVATE,
	  .help = "file (absolute path) holding the password (default: [crdbfeedd] password_file)" },
	{ .section = CFG_SECTION_FEED, .name = "credential", .type = CFG_STRING,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PRIVATE,
	  .help = "systemd credential holding the password (default: [crdbfeedd] credential)" },
	{ .section = CFG_SECTION_FEED, .name = "sslrootcert", .type = CFG_TLS_FILE,
	  .field = FF(sslrootcert), .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "CA certificate file for sslmode verify-ca/verify-full: absolute path or credential:NAME (default: [crdbfeedd] sslrootcert)" },
	{ .section = CFG_SECTION_FEED, .name = "sslcert", .type = CFG_TLS_FILE,
	  .field = FF(sslcert), .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "client certificate file: absolute path or credential:NAME (default: [crdbfeedd] sslcert)" },
	{ .section = CFG_SECTION_FEED, .name = "sslkey", .type = CFG_TLS_FILE,
	  .field = FF(sslkey), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PRIVATE,
	  .help = "client key file: absolute path or credential:NAME (default: [crdbfeedd] sslkey)" },
	{ .section = CFG_SECTION_FEED, .name = "kind", .type = CFG_ENUM,
	  .field = FF(kind), .default_value = "table", .enum_values = "table|notify", .reload = CFG_RELOAD_FEED,
	  .help = "table: rows as changes of the tables; notify: notifications (conf/notify.sql), delivered ordered, one table (default crdbfeed_notify), identical ones in a transaction folded, channel subscribers served" },
	{ .section = CFG_SECTION_FEED, .name = "tables", .type = CFG_LIST,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "target tables: t, s.t or db.s.t, each optionally followed by FAMILY f (or set query); kind = notify: one table, default crdbfeed_notify" },
	{ .section = CFG_SECTION_FEED, .name = "query", .type = CFG_STRING,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "CDC query instead of tables: SELECT ... FROM t [WHERE ...]" },
	{ .section = CFG_SECTION_FEED, .name = "options", .type = CFG_LIST,
	  .field = CFG_NO_FIELD, .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "other changefeed options, name or name=value, checked when the file is loaded" },
	{ .section = CFG_SECTION_FEED, .name = "envelope", .type = CFG_ENUM,
	  .field = FF(envelope), .default_value = "", .enum_values = ENVELOPES, .reload = CFG_RELOAD_FEED, .flags = CFG_F_OPTION,
	  .help = "envelope of the rows (default: [crdbfeedd] envelope)" },
	{ .section = CFG_SECTION_FEED, .name = "diff", .type = CFG_BOOL,
	  .field = FF(diff), .default_value = "no", .reload = CFG_RELOAD_FEED, .flags = CFG_F_OPTION,
	  .help = "send the row before the change too (wrapped envelope), so inserts and updates differ" },
	{ .section = CFG_SECTION_FEED, .name = "updated", .type = CFG_BOOL,
	  .field = CFG_NO_FIELD, .default_value = "no", .reload = CFG_RELOAD_FEED, .flags = CFG_F_OPTION,
	  .help = "send each change's commit timestamp" },
	{ .section = CFG_SECTION_FEED, .name = "mvcc_timestamp", .type = CFG_BOOL,
	  .field = CFG_NO_FIELD, .default_value = "no", .reload = CFG_RELOAD_FEED, .flags = CFG_F_OPTION,
	  .help = "send each row's MVCC timestamp" },
	{ .section = CFG_SECTION_FEED, .name = "split_column_families", .type = CFG_BOOL,
	  .field = CFG_NO_FIELD, .default_value = "no", .reload = CFG_RELOAD_FEED, .flags = CFG_F_OPTION,
	  .help = "one event per column family for tables with several families" },
	{ .section = CFG_SECTION_FEED, .name = "schema_change_policy", .type = CFG_ENUM,
	  .field = CFG_NO_FIELD, .default_value = "", .enum_values = "backfill|nobackfill|stop|ignore", .reload = CFG_RELOAD_FEED, .flags = CFG_F_OPTION,
	  .help = "what a schema change does to the feed (unset: the server's default, backfill)" },
	{ .section = CFG_SECTION_FEED, .name = "resolved", .type = CFG_DURATION,
	  .field = FF(resolved_ms), .default_value = "", .min = 1, .reload = CFG_RELOAD_FEED, .flags = CFG_F_OPTION,
	  .help = "resolved timestamp interval (default: [crdbfeedd] resolved)" },
	{ .section = CFG_SECTION_FEED, .name = "start", .type = CFG_ENUM,
	  .field = FF(start), .default_value = "", .enum_values = "initial_scan|now|cursor", .reload = CFG_RELOAD_FEED,
	  .help = "start without a checkpoint (default: [crdbfeedd] start)" },
	{ .section = CFG_SECTION_FEED, .name = "start_cursor", .type = CFG_HLC,
	  .field = FF(start_cursor), .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "with start = cursor: HLC (wall.logical) or RFC 3339 time to start from" },
	{ .section = CFG_SECTION_FEED, .name = "backoff_initial", .type = CFG_DURATION,
	  .field = FF(backoff_initial_ms), .default_value = "", .min = 1, .reload = CFG_RELOAD_FEED,
	  .help = "first reconnect delay (default: [crdbfeedd] backoff_initial)" },
	{ .section = CFG_SECTION_FEED, .name = "backoff_max", .type = CFG_DURATION,
	  .field = FF(backoff_max_ms), .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "longest reconnect delay (default: [crdbfeedd] backoff_max)" },
	{ .section = CFG_SECTION_FEED, .name = "stall_timeout", .type = CFG_DURATION,
	  .field = FF(stall_timeout_ms), .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "silence before a reconnect (default: [crdbfeedd] stall_timeout)" },
	{ .section = CFG_SECTION_FEED, .name = "checkpoint_interval", .type = CFG_DURATION,
	  .field = FF(checkpoint_interval_ms), .default_value = "1s", .reload = CFG_RELOAD_FEED,
	  .help = "delivery = stream: the checkpoint file is written at most once per interval (and at shutdown, reload, pause); a crash resends at most this much (0: at every resolved timestamp)" },
	{ .section = CFG_SECTION_FEED, .name = "delivery", .type = CFG_ENUM,
	  .field = FF(delivery), .default_value = "stream", .enum_values = "stream|ordered", .reload = CFG_RELOAD_FEED,
	  .help = "stream: rows as the changefeed sends them (at least once, ordered per key); ordered: held until resolved, once each, in commit order, journaled for replay" },
	{ .section = CFG_SECTION_FEED, .name = "hold_memory", .type = CFG_SIZE,
	  .field = FF(hold_memory), .default_value = "64M", .min = 1024 * 1024, .reload = CFG_RELOAD_FEED,
	  .help = "delivery = ordered: memory for rows waiting for their resolved timestamp; more spill to state_dir" },
	{ .section = CFG_SECTION_FEED, .name = "journal_retention", .type = CFG_DURATION,
	  .field = FF(journal_retention_ms), .default_value = "604800s", .reload = CFG_RELOAD_FEED,
	  .help = "delivery = ordered: how long released rows stay in the journal for replay (0: no age limit)" },
	{ .section = CFG_SECTION_FEED, .name = "journal_max_size", .type = CFG_SIZE,
	  .field = FF(journal_max_size), .default_value = "1G", .min = 1024 * 1024, .reload = CFG_RELOAD_FEED,
	  .help = "delivery = ordered: bytes of rows the journal keeps; the oldest go first" },
	{ .section = CFG_SECTION_FEED, .name = "resolved_stall_timeout", .type = CFG_DURATION,
	  .field = FF(resolved_stall_ms), .default_value = "0", .reload = CFG_RELOAD_FEED,
	  .help = "restart the changefeed from its checkpoint when rows arrive but the resolved timestamp has not advanced for this long, except during a scan (0: max(60s, 10 x resolved))" },
	{ .section = CFG_SECTION_FEED, .name = "source", .type = CFG_ENUM,
	  .field = FF(source), .default_value = "sinkless", .enum_values = "sinkless|job|nats", .reload = CFG_RELOAD_FEED,
	  .help = "sinkless: the feed runs its own changefeed on one connection; job: a CockroachDB changefeed job posts to the feed's HTTPS endpoint (ingest_*), always delivered ordered (crdbfeedd(8), PRODUCTION FEEDS); nats: the feed relays what another crdbfeedd's nats sink published to a JetStream stream (nats_*), ordered (crdbfeedd(8), BEYOND ONE MACHINE)" },
	{ .section = CFG_SECTION_FEED, .name = "job_id", .type = CFG_INT,
	  .field = FF(job_id), .default_value = "0", .min = 0, .max = INT64_MAX, .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: adopt this existing changefeed job instead of creating one (0: create one, or find the one recorded in state_dir)" },
	{ .section = CFG_SECTION_FEED, .name = "job_poll", .type = CFG_DURATION,
	  .field = FF(job_poll_ms), .default_value = "5s", .min = 100, .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: how often SHOW CHANGEFEED JOB reads the job's status, error and high-water mark" },
	{ .section = CFG_SECTION_FEED, .name = "job_client_timeout", .type = CFG_DURATION,
	  .field = FF(job_client_timeout_ms), .default_value = "3s", .min = 1, .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: the job's webhook_client_timeout: how long its nodes wait for our answer before retrying" },
	{ .section = CFG_SECTION_FEED, .name = "ingest_listen", .type = CFG_STRING,
	  .field = FF(ingest_listen), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: numeric address the HTTPS endpoint binds, HOST:PORT or [V6]:PORT (required)" },
	{ .section = CFG_SECTION_FEED, .name = "ingest_advertise", .type = CFG_STRING,
	  .field = FF(ingest_advertise), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: HOST:PORT the cluster's nodes reach the endpoint at, written into the job's sink URI (default: ingest_listen)" },
	{ .section = CFG_SECTION_FEED, .name = "ingest_tls_cert", .type = CFG_TLS_FILE,
	  .field = FF(ingest_tls_cert), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: the endpoint's PEM certificate chain: absolute path or credential:NAME (required)" },
	{ .section = CFG_SECTION_FEED, .name = "ingest_tls_key", .type = CFG_TLS_FILE,
	  .field = FF(ingest_tls_key), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY | CFG_F_PRIVATE,
	  .help = "source = job: the endpoint's PEM private key: absolute path or credential:NAME (required)" },
	{ .section = CFG_SECTION_FEED, .name = "ingest_client_ca", .type = CFG_TLS_FILE,
	  .field = FF(ingest_client_ca), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: PEM CA file; when set, the job's nodes must present a client certificate it signed (job_client_cert)" },
	{ .section = CFG_SECTION_FEED, .name = "ingest_auth_file", .type = CFG_TLS_FILE,
	  .field = FF(ingest_auth_file), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY | CFG_F_PRIVATE,
	  .help = "source = job: file holding the bearer token every request must carry (Authorization: Bearer TOKEN; the job is given it as webhook_auth_header): absolute path or credential:NAME (required)" },
	{ .section = CFG_SECTION_FEED, .name = "ingest_max_body", .type = CFG_SIZE,
	  .field = FF(ingest_max_body), .default_value = "8M", .min = 1024, .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: largest request body accepted (413 beyond it)" },
	{ .section = CFG_SECTION_FEED, .name = "ingest_max_connections", .type = CFG_INT,
	  .field = FF(ingest_max_connections), .default_value = "64", .min = 1, .max = 100000, .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: connections open at once; more are closed when accepted" },
	{ .section = CFG_SECTION_FEED, .name = "ingest_max_rate", .type = CFG_INT,
	  .field = FF(ingest_max_rate), .default_value = "0", .min = 0, .max = 1000000, .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: requests per second accepted (429 beyond; 0: no limit)" },
	{ .section = CFG_SECTION_FEED, .name = "job_ca_cert", .type = CFG_TLS_FILE,
	  .field = FF(job_ca_cert), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: PEM CA the job's nodes verify the endpoint with, sent as the sink's ca_cert (default: ingest_tls_cert, for a self-signed certificate)" },
	{ .section = CFG_SECTION_FEED, .name = "job_client_cert", .type = CFG_TLS_FILE,
	  .field = FF(job_client_cert), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY,
	  .help = "source = job: PEM client certificate the job presents (sink option client_cert); with ingest_client_ca" },
	{ .section = CFG_SECTION_FEED, .name = "job_client_key", .type = CFG_TLS_FILE,
	  .field = FF(job_client_key), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_JOB_ONLY | CFG_F_PRIVATE,
	  .help = "source = job: the client certificate's PEM key (sink option client_key)" },

	NATS_CONN_KEYS(CFG_SECTION_FEED, FF(nats), CFG_F_NATS_SRC, "source = nats"),
	{ .section = CFG_SECTION_FEED, .name = "nats_feed", .type = CFG_STRING,
	  .field = FF(nats_feed), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_SRC,
	  .help = "source = nats: the publishing feed's name, its subjects' FEED token (default: this feed's name)" },
	{ .section = CFG_SECTION_FEED, .name = "nats_durable", .type = CFG_STRING,
	  .field = FF(nats_durable), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_SRC,
	  .help = "source = nats: the durable consumer that keeps this relay's position in the stream (default: crdbfeed_ and this feed's name); one per relay" },
	{ .section = CFG_SECTION_FEED, .name = "nats_fetch_batch", .type = CFG_INT,
	  .field = FF(nats_fetch_batch), .default_value = "256", .min = 1, .max = 65536, .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_SRC,
	  .help = "source = nats: messages asked for at once; each batch is made durable before it is acknowledged" },
	{ .section = CFG_SECTION_FEED, .name = "nats_ack_wait", .type = CFG_DURATION,
	  .field = FF(nats_ack_wait_ms), .default_value = "60s", .min = 1000, .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_SRC,
	  .help = "source = nats: how long JetStream waits for an acknowledgement before it delivers a message again" },
	{ .section = CFG_SECTION_FEED, .name = "nats_max_ack_pending", .type = CFG_INT,
	  .field = FF(nats_max_ack_pending), .default_value = "65536", .min = 1, .max = 10000000, .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_SRC,
	  .help = "source = nats: messages delivered and not yet acknowledged, at most" },

	{ .section = CFG_SECTION_SINK, .name = "feed", .type = CFG_STRING,
	  .field = SF(feed), .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "the feed this sink serves (required)" },
	{ .section = CFG_SECTION_SINK, .name = "type", .type = CFG_ENUM,
	  .field = SF(type), .default_value = "unix", .enum_values = "unix|stdout|pg|nats", .reload = CFG_RELOAD_FEED,
	  .help = "listen on a Unix socket, write to standard output, listen as a PostgreSQL server for LISTEN clients (crdbfeedd(8), LISTEN/NOTIFY), or publish to a NATS JetStream stream (an ordered feed; crdbfeedd(8), BEYOND ONE MACHINE)" },
	{ .section = CFG_SECTION_SINK, .name = "path", .type = CFG_PATH,
	  .field = SF(path), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_UNIX_ONLY,
	  .help = "type = unix: absolute path of the socket (required)" },
	{ .section = CFG_SECTION_SINK, .name = "mode", .type = CFG_MODE,
	  .field = SF(mode), .default_value = "0660", .reload = CFG_RELOAD_FEED, .flags = CFG_F_SOCKET,
	  .help = "type = unix or pg: file mode of the socket (octal)" },
	{ .section = CFG_SECTION_SINK, .name = "group", .type = CFG_STRING,
	  .field = SF(group), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_SOCKET,
	  .help = "type = unix or pg: group of the socket (unset: the daemon's group)" },
	{ .section = CFG_SECTION_SINK, .name = "allow_users", .type = CFG_UIDS,
	  .field = SF(allow_uids), .count = SF(nallow_uids), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_SOCKET,
	  .help = "type = unix or pg (its Unix socket): users (names or uids) let in, checked on connect (default: [crdbfeedd] allow_users)" },
	{ .section = CFG_SECTION_SINK, .name = "allow_groups", .type = CFG_GIDS,
	  .field = SF(allow_gids), .count = SF(nallow_gids), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_SOCKET,
	  .help = "type = unix or pg (its Unix socket): groups (names or gids) whose members, by primary group, are let in (default: [crdbfeedd] allow_groups)" },
	{ .section = CFG_SECTION_SINK, .name = "policy", .type = CFG_ENUM,
	  .field = SF(policy), .default_value = "", .enum_values = "block|disconnect|drop|journal", .reload = CFG_RELOAD_FEED,
	  .help = "when a subscriber's buffer is full (unset: journal for a unix sink of an ordered feed, disconnect for other unix sinks and pg sinks, block for stdout); journal needs delivery = ordered; a pg sink only disconnects (a NOTICE, then closed)" },
	{ .section = CFG_SECTION_SINK, .name = "buffer", .type = CFG_SIZE,
	  .field = SF(buffer_bytes), .default_value = "", .min = 4096, .reload = CFG_RELOAD_FEED,
	  .help = "output buffer of each subscriber, or unsent output of each pg listener (default: [crdbfeedd] buffer)" },
	{ .section = CFG_SECTION_SINK, .name = "low_watermark", .type = CFG_SIZE,
	  .field = SF(low_watermark), .default_value = "", .reload = CFG_RELOAD_FEED,
	  .help = "policy = block: resume reading the feed below this (unset: half the buffer)" },
	{ .section = CFG_SECTION_SINK, .name = "resolved", .type = CFG_BOOL,
	  .field = SF(resolved), .default_value = "yes", .reload = CFG_RELOAD_FEED,
	  .help = "send resolved timestamp lines to subscribers that do not say otherwise" },
	{ .section = CFG_SECTION_SINK, .name = "replay_grace", .type = CFG_DURATION,
	  .field = SF(replay_grace_ms), .default_value = "300ms", .reload = CFG_RELOAD_FEED,
	  .help = "delivery = ordered: how long a new subscriber's live lines wait for its request line (which may ask to replay) before it starts live from now" },
	{ .section = CFG_SECTION_SINK, .name = "pg_dir", .type = CFG_PATH,
	  .field = SF(pg_dir), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: directory of the Unix socket DIR/.s.PGSQL.PORT, as psql \"host=DIR port=PORT\" finds it (pg_dir or pg_tcp required)" },
	{ .section = CFG_SECTION_SINK, .name = "pg_port", .type = CFG_INT,
	  .field = SF(pg_port), .default_value = "5432", .min = 1, .max = 65535, .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: the PORT in the Unix socket's name" },
	{ .section = CFG_SECTION_SINK, .name = "pg_tcp", .type = CFG_LISTEN,
	  .field = SF(pg_tcp), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: a loopback TCP address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT; any other address is refused) where clients authenticate with SCRAM-SHA-256; needs pg_auth_file" },
	{ .section = CFG_SECTION_SINK, .name = "pg_auth_file", .type = CFG_PATH,
	  .field = SF(pg_auth_file), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: file of \"USER:SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY\" lines, read when the sink opens (required with pg_tcp)" },
	{ .section = CFG_SECTION_SINK, .name = "pg_tls_cert", .type = CFG_TLS_FILE,
	  .field = SF(pg_tls_cert), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: PEM certificate (chain) for TLS on pg_tcp, read when the sink opens: absolute path or credential:NAME; needs pg_tls_key (TLS 1.2 or later; Unix socket clients are answered without TLS)" },
	{ .section = CFG_SECTION_SINK, .name = "pg_tls_key", .type = CFG_TLS_FILE,
	  .field = SF(pg_tls_key), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: PEM private key of pg_tls_cert: absolute path or credential:NAME" },
	{ .section = CFG_SECTION_SINK, .name = "pg_tls_require", .type = CFG_BOOL,
	  .field = SF(pg_tls_require), .default_value = "no", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: refuse a TCP client that does not ask for TLS (FATAL 28000); needs pg_tls_cert" },
	{ .section = CFG_SECTION_SINK, .name = "pg_max_listeners", .type = CFG_INT,
	  .field = SF(pg_max_listeners), .default_value = "100", .min = 1, .max = 100000, .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: connections at once; one more is refused with PostgreSQL's too_many_connections error" },
	{ .section = CFG_SECTION_SINK, .name = "pg_max_channels", .type = CFG_INT,
	  .field = SF(pg_max_channels), .default_value = "64", .min = 1, .max = 100000, .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: channels one connection may LISTEN on at once" },
	{ .section = CFG_SECTION_SINK, .name = "table_channels", .type = CFG_BOOL,
	  .field = SF(table_channels), .default_value = "no", .reload = CFG_RELOAD_FEED, .flags = CFG_F_PG_ONLY,
	  .help = "type = pg: send each row of the feed to channel \"table:NAME\" with its JSON line as payload (a line of 8000 bytes or more is refused and counted); no: the feed's rows are notifications (channel, payload)" },
	NATS_CONN_KEYS(CFG_SECTION_SINK, SF(nats), CFG_F_NATS_ONLY, "type = nats"),
	{ .section = CFG_SECTION_SINK, .name = "nats_identity", .type = CFG_STRING,
	  .field = SF(nats_identity), .default_value = "", .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_ONLY,
	  .help = "type = nats: the feed identity Nats-Msg-Ids are derived from (default: the feed's name); daemons publishing one feed to one stream must agree on it" },
	{ .section = CFG_SECTION_SINK, .name = "nats_max_pending", .type = CFG_INT,
	  .field = SF(nats_max_pending), .default_value = "1024", .min = 1, .max = 65536, .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_ONLY,
	  .help = "type = nats: messages published and not yet acknowledged by JetStream, at most" },
	{ .section = CFG_SECTION_SINK, .name = "nats_ack_timeout", .type = CFG_DURATION,
	  .field = SF(nats_ack_timeout_ms), .default_value = "5s", .min = 100, .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_ONLY,
	  .help = "type = nats: how long an acknowledgement may take before the message is published again" },
	{ .section = CFG_SECTION_SINK, .name = "nats_stream_create", .type = CFG_BOOL,
	  .field = SF(nats_stream_create), .default_value = "no", .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_ONLY,
	  .help = "type = nats: create the stream (subjects PREFIX.FEED.>, nats_replicas, nats_duplicate_window, nats_max_age) when it does not exist; no: it must exist and fit" },
	{ .section = CFG_SECTION_SINK, .name = "nats_replicas", .type = CFG_INT,
	  .field = SF(nats_replicas), .default_value = "1", .min = 1, .max = 5, .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_ONLY,
	  .help = "type = nats: replicas of a stream nats_stream_create makes" },
	{ .section = CFG_SECTION_SINK, .name = "nats_duplicate_window", .type = CFG_DURATION,
	  .field = SF(nats_duplicate_window_ms), .default_value = "120s", .min = 100, .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_ONLY,
	  .help = "type = nats: the stream's duplicate window: what nats_stream_create sets, and the least an existing stream must have" },
	{ .section = CFG_SECTION_SINK, .name = "nats_max_age", .type = CFG_DURATION,
	  .field = SF(nats_max_age_ms), .default_value = "0", .reload = CFG_RELOAD_FEED, .flags = CFG_F_NATS_ONLY,
	  .help = "type = nats: how long a stream nats_stream_create makes keeps messages (0: no age limit)" },
};
const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);

bool config_sink_key_applies(const struct cfg_key *k, enum sink_type type)
{
	if (k->flags & CFG_F_UNIX_ONLY)
		return type == SINK_UNIX;
	if (k->flags & CFG_F_SOCKET)
		return type == SINK_UNIX || type == SINK_PG;
	if (k->flags & CFG_F_PG_ONLY)
		return type == SINK_PG;
	if (k->flags & CFG_F_NATS_ONLY)
		return type == SINK_NATS;
	return true;
}

const char *config_sink_key_types(const struct cfg_key *k)
{
	if (k->flags & CFG_F_UNIX_ONLY)
		return "type = unix";
	if (k->flags & CFG_F_SOCKET)
		return "type = unix or pg";
	if (k->flags & CFG_F_PG_ONLY)
		return "type = pg";
	if (k->flags & CFG_F_NATS_ONLY)
		return "type = nats";
	return NULL;
}

static const char *const section_names[] = {
	[CFG_SECTION_GLOBAL] = "crdbfeedd",
	[CFG_SECTION_FEED] = "feed",
	[CFG_SECTION_SINK] = "sink",
};

/* As the docs show them: the checks behind a type are in each key's help. */
static const char *const type_names[] = {
	[CFG_STRING] = "string", [CFG_BOOL] = "boolean", [CFG_INT] = "integer",
	[CFG_DURATION] = "duration", [CFG_SIZE] = "size", [CFG_ENUM] = "enum",
	[CFG_MODE] = "octal mode", [CFG_LIST] = "list", [CFG_PATH] = "string",
	[CFG_DSN] = "string", [CFG_TLS_FILE] = "string", [CFG_UIDS] = "list",
	[CFG_GIDS] = "list", [CFG_LISTEN] = "string", [CFG_HLC] = "string",
};

static const char *const reload_names[] = {
	[CFG_RELOAD_LIVE] = "live", [CFG_RELOAD_FEED] = "feed",
	[CFG_RELOAD_RESTART] = "restart",
};

const char *config_section_name(enum cfg_section section)
{
	return section_names[section];
}

const char *config_type_name(enum cfg_type type)
{
	return type_names[type];
}

const char *config_reload_name(enum cfg_reload reload)
{
	return reload_names[reload];
}

ssize_t conf_key_index(enum cfg_section section, const char *name)
{
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].section == section &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

ssize_t conf_inherited_index(size_t idx)
{
	const struct cfg_key *k = &cfg_keys[idx];
	if (k->section == CFG_SECTION_GLOBAL)
		return -1;
	ssize_t g = conf_key_index(CFG_SECTION_GLOBAL, k->name);
	if (g < 0 || cfg_keys[g].type != k->type)
		return -1;
	return g;
}

void *conf_field(const struct cfg_key *k, void *base)
{
	return (char *)base + k->field;
}

const void *conf_field_const(const struct cfg_key *k, const void *base)
{
	return (const char *)base + k->field;
}
