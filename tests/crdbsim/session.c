/*
 * session.c: one crdbsim client session.
 *
 * Life of a session: STARTUP (SSLRequest refused with 'N', CancelRequest
 * handled, StartupMessage read) -> PASSWORD (with --password) ->
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
#include "config.h"

#include "sim.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#include "intercept.h"
#include "proto.h"

#define CODE_SSL_REQUEST     80877103
#define CODE_GSSENC_REQUEST  80877104
#define CODE_CANCEL_REQUEST  80877102
#define CODE_PROTOCOL_3      196608
#define CANCEL_REQUEST_VERSION 220100   /* §2.5, §6.3 */
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
	struct bufferevent *client;
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
	struct local_obj *locals;
	struct relay_stmt *relayed;
	unsigned nnamed;

	/* running statement */
	bool running;
	char query_id[33];
	char *query;
	int64_t start_us;

	/* changefeed */
	struct simfeed_out feed_out;
	struct simfeed *feed;
	bool in_feed, feed_done, feed_paused, feed_extended;
	int16_t feed_formats[3];
};

static void session_process(struct sim_session *s);
static void session_close(struct sim_session *s);

/* ---- helpers ---- */

static struct evbuffer *cout(struct sim_session *s)
{
	return bufferevent_get_output(s->client);
}

static int64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void kick(struct sim_session *s)
{
	if (!s->dead)
		event_active(s->tick, EV_TIMEOUT, 1);
}

static void set_running(struct sim_session *s, const char *sql)
{
	char *q = strdup(sql);
	if (!q)
		return;
	free(s->query);
	s->query = q;
	sim_new_id(s->srv, s->query_id);
	s->start_us = now_us();
	s->running = true;
}

static void clear_running(struct sim_session *s)
{
	s->running = false;
	free(s->query);
	s->query = NULL;
	s->query_id[0] = '\0';
}

/* A fatal error to the client, then close once it is written. */
static void fatal(struct sim_session *s, const char *sqlstate,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fatal(struct sim_session *s, const char *sqlstate,
		  const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sim_log("session %s (%s): %s", s->session_id, s->peer, msg);
	if (s->in_feed && s->feed) {
		simfeed_stop(s->feed);
		s->feed = NULL;
	}
	s->in_feed = false;
	if (proto_error(cout(s), V_FIELD(s), "FATAL", sqlstate, msg, NULL) != 0) {
		session_close(s);
		return;
	}
	s->state = S_CLOSING;
	bufferevent_disable(s->client, EV_READ);
	if (s->backend)
		bufferevent_disable(s->backend, EV_READ);
	if (evbuffer_get_length(cout(s)) == 0) {
		session_close(s);
		return;
	}
	/* A client that never reads its last error is closed anyway. */
	static const struct timeval linger = {5, 0};
	if (event_add(s->tick, &linger) != 0)
		session_close(s);
}

static void ready(struct sim_session *s)
{
	if (proto_ready(cout(s), s->txn_status) != 0)
		fatal(s, "53200", "out of memory");
	if (s->expected == 0)
		clear_running(s);
}

static void send_error(struct sim_session *s, const char *sqlstate,
		       const char *message, const char *hint)
{
	if (proto_error(cout(s), V_FIELD(s), "ERROR", sqlstate, message, hint) != 0)
		fatal(s, "53200", "out of memory");
}

/* The end of a statement crdbsim answered: simple protocol gets
 * ReadyForQuery; extended protocol skips to Sync after an error. */
static void local_done(struct sim_session *s, bool extended, bool failed)
{
	if (!extended)
		ready(s);
	else if (failed)
		s->skip_until_sync = true;
}

/* Make PostgreSQL finish what was forwarded so that crdbsim may answer
 * the next message itself: returns true when that is already so. */
static bool settle_backend(struct sim_session *s)
{
	if (s->batch_forwarded) {
		if (proto_simple(bufferevent_get_output(s->backend), 'S') != 0) {
			fatal(s, "53200", "out of memory");
			return false;
		}
		s->expected++;
		s->swallow++;
		s->batch_forwarded = false;
	}
	return s->expected == 0;
}

/* ---- the session list and accessors ---- */

const char *sim_session_id(const struct sim_session *s)
{
	return s->session_id;
}

const char *sim_session_query_id(const struct sim_session *s)
{
	return s->running ? s->query_id : NULL;
}

bool sim_session_key(const struct sim_session *s, uint32_t *pid,
		     uint32_t *secret)
{
	*pid = s->key_pid;
	*secret = s->key_secret;
	return s->has_key;
}

int sim_session_version(const struct sim_session *s)
{
	return s->version;
}

struct sim_session *sim_session_next(const struct sim_session *s)
{
	return s->next;
}

bool sim_session_has_feed(const struct sim_session *s)
{
	return s->in_feed;
}

bool sim_session_running(const struct sim_session *s, struct sim_running *r)
{
	if (!s->running || !s->query)
		return false;
	r->query_id = s->query_id;
	r->query = s->query;
	r->session_id = s->session_id;
	r->user = s->user ? s->user : "";
	r->client_address = s->peer;
	r->application_name = s->application_name ? s->application_name : "";
	r->start_us = s->start_us;
	return true;
}

/* ---- teardown ---- */

static void free_local(struct local_obj *o)
{
	for (int i = 0; i < o->nparams; i++)
		free(o->params[i]);
	free(o->params);
	free(o->name);
	sim_stmt_clear(&o->st);
	free(o);
}

static void free_struct_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	free(arg);
}

static void session_close(struct sim_session *s)
{
	if (s->dead)
		return;
	s->dead = true;
	if (s->feed)
		simfeed_stop(s->feed);
	s->feed = NULL;
	s->in_feed = false;
	if (s->prev)
		s->prev->next = s->next;
	else
		s->srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->client)
		bufferevent_free(s->client);
	if (s->backend)
		bufferevent_free(s->backend);
	if (s->pg_ev)
		event_free(s->pg_ev);
	if (s->tick)
		event_free(s->tick);
	if (s->pg_cancel && s->expected > 0) {
		/* PostgreSQL would run an orphaned statement to its end. */
		char errbuf[256];
		if (!PQcancel(s->pg_cancel, errbuf, sizeof errbuf))
			sim_log("cancel to PostgreSQL failed: %s", errbuf);
	}
	if (s->pg)
		PQfinish(s->pg);
	if (s->pg_cancel)
		PQfreeCancel(s->pg_cancel);
	while (s->locals) {
		struct local_obj *o = s->locals;
		s->locals = o->next;
		free_local(o);
	}
	while (s->relayed) {
		struct relay_stmt *r = s->relayed;
		s->relayed = r->next;
		free(r->name);
		free(r->sql);
		free(r);
	}
	free(s->user);
	free(s->database);
	free(s->application_name);
	free(s->client_encoding);
	free(s->pg_options);
	free(s->query);
	/* The struct itself goes after this loop pass: callers up the stack
	 * may still look at s->dead. */
	static const struct timeval zero = {0, 0};
	if (event_base_once(s->srv->base, -1, EV_TIMEOUT, free_struct_cb, s,
			    &zero) != 0)
		sim_log("cannot schedule a session free: leaking it");
}

void sim_session_free(struct sim_session *s)
{
	session_close(s);
}

void sim_session_kill(struct sim_session *s)
{
	session_close(s);
}

void sim_session_shutdown(struct sim_session *s)
{
	/* §7: node draining; 57P01 then the connection closes. */
	fatal(s, "57P01", "server is shutting down");
}

/* ---- the changefeed glue (struct simfeed_out) ---- */

static void feed_started(void *arg)
{
	struct sim_session *s = arg;
	static const char *const names[3] = {"table", "key", "value"};
	static const uint32_t oids[3] = {25, 17, 17};
	if (s->dead || !s->in_feed || s->feed_extended)
		return;  /* extended: Describe sent the columns already */
	if (proto_row_description(cout(s), 3, names, oids, s->feed_formats) != 0)
		fatal(s, "53200", "out of memory");
}

static void feed_notice(void *arg, const char *message)
{
	struct sim_session *s = arg;
	if (s->dead || !s->in_feed)
		return;
	if (proto_notice(cout(s), V_FIELD(s), "NOTICE", "00000", message) != 0)
		fatal(s, "53200", "out of memory");
}

static void put_column(struct pmsg *m, const char *p, size_t n, int16_t fmt,
		       bool bytea)
{
	if (!p) {
		proto_put_int32(m, -1);
		return;
	}
	if (fmt == 1 || !bytea) {
		proto_put_int32(m, (int32_t)n);
		proto_put_bytes(m, p, n);
		return;
	}
	/* Text format: bytea_output=hex (§2.3). */
	size_t hexlen = 2 + 2 * n;
	char *hex = malloc(hexlen);
	if (!hex) {
		m->failed = true;
		return;
	}
	proto_hex(p, n, hex);
	proto_put_int32(m, (int32_t)hexlen);
	proto_put_bytes(m, hex, hexlen);
	free(hex);
}

static void feed_row(void *arg, const char *table, size_t table_len,
		     const char *key, size_t key_len, const char *value,
		     size_t value_len)
{
	struct sim_session *s = arg;
	if (s->dead || !s->in_feed)
		return;
	if (value_len > SIM_MAX_MESSAGE / 4 || key_len > SIM_MAX_MESSAGE / 4) {
		fatal(s, "54000", "changefeed row too large");
		return;
	}
	struct pmsg m;
	proto_begin(&m, 'D');
	proto_put_int16(&m, 3);
	put_column(&m, table, table_len, s->feed_formats[0], false);
	put_column(&m, key, key_len, s->feed_formats[1], true);
	/* A value is never NULL: empty means empty bytea (§2.2). */
	put_column(&m, value ? value : "", value_len, s->feed_formats[2], true);
	if (proto_end(&m, cout(s)) != 0) {
		fatal(s, "53200", "out of memory");
		return;
	}
	s->srv->rows_sent++;
}

static void end_feed(struct sim_session *s, bool failed)
{
	s->in_feed = false;
	s->feed_done = true;
	s->feed_paused = false;
	s->state = S_READY;
	bufferevent_setwatermark(s->client, EV_READ, 0, 0);
	bufferevent_enable(s->client, EV_READ);
	local_done(s, s->feed_extended, failed);
	kick(s);
}

static void feed_error(void *arg, const struct simfeed_error *err)
{
	struct sim_session *s = arg;
	if (s->dead || !s->in_feed)
		return;
	send_error(s, err->sqlstate, err->message, err->hint);
	if (!s->dead)
		end_feed(s, true);
}

static void feed_complete(void *arg, uint64_t nrows)
{
	struct sim_session *s = arg;
	char tag[64];
	if (s->dead || !s->in_feed)
		return;
	/* §2.4: the statement tag of a sinkless feed, with the row count. */
	snprintf(tag, sizeof tag, "EXPERIMENTAL CHANGEFEED %llu",
		 (unsigned long long)nrows);
	if (proto_command_complete(cout(s), tag) != 0) {
		fatal(s, "53200", "out of memory");
		return;
	}
	end_feed(s, false);
}

static bool feed_can_send(void *arg)
{
	struct sim_session *s = arg;
	if (s->dead || !s->in_feed)
		return false;
	if (evbuffer_get_length(cout(s)) < SIM_FEED_HIGH_WATER)
		return true;
	s->feed_paused = true;
	return false;
}

/* Run a parsed changefeed on this session. */
static void start_feed(struct sim_session *s, struct simfeed_stmt *stmt,
		       bool extended, const int16_t formats[3])
{
	s->feed_out = (struct simfeed_out){
		.arg = s,
		.started = feed_started,
		.notice = feed_notice,
		.row = feed_row,
		.error = feed_error,
		.complete = feed_complete,
		.can_send = feed_can_send,
	};
	s->feed_extended = extended;
	memcpy(s->feed_formats, formats, sizeof s->feed_formats);
	s->state = S_FEED;
	s->in_feed = true;
	s->feed_done = false;
	/* While the feed runs, client input only waits; bound it. */
	bufferevent_setwatermark(s->client, EV_READ, 0, SIM_RELAY_HIGH_WATER);
	struct simfeed *feed = simfeed_start(s->srv->engine, stmt, &s->feed_out);
	if (s->dead) {
		if (feed)
			simfeed_stop(feed);
		return;
	}
	s->feed = feed;
	if (!feed && s->in_feed) {
		send_error(s, "XX000", "crdbsim: the changefeed engine could not start the feed", NULL);
		if (!s->dead)
			end_feed(s, true);
	}
}

/* ---- cancel ---- */

bool sim_session_cancel(struct sim_session *s)
{
	if (s->dead)
		return false;
	if (s->in_feed) {
		if (s->feed)
			simfeed_stop(s->feed);
		s->feed = NULL;
		/* §2.5: 57014, then the session is idle again. */
		send_error(s, "57014", "query execution canceled", NULL);
		if (!s->dead)
			end_feed(s, true);
		s->feed_done = false;
		return true;
	}
	if (s->running && s->expected > 0 && s->pg_cancel) {
		char errbuf[256];
		/* Blocking, but to the local PostgreSQL: a millisecond. */
		if (!PQcancel(s->pg_cancel, errbuf, sizeof errbuf))
			sim_log("cancel to PostgreSQL failed: %s", errbuf);
		return true;
	}
	return false;
}

/* ---- statements crdbsim answers ---- */

static void rewrite_ctx(struct sim_session *s, struct sim_rewrite_ctx *ctx);

/* Evaluate the argument of CANCEL QUERY/QUERIES/SESSION/SESSIONS to a list
 * of ids through the helper connection. Returns the result or NULL after
 * sending an error. */
static PGresult *eval_ids(struct sim_session *s, const struct sim_stmt *st,
			  char *const *params, int nparams)
{
	PGconn *admin = s->srv->admin;
	char *sql;
	bool plural = st->kind == SIM_CANCEL_QUERIES ||
		      st->kind == SIM_CANCEL_SESSIONS;
	if (plural) {
		sql = strdup(st->arg);
	} else {
		size_t n = strlen(st->arg) + 32;
		sql = malloc(n);
		if (sql)
			snprintf(sql, n, "SELECT (%s)::text", st->arg);
	}
	if (!sql) {
		send_error(s, "53200", "out of memory", NULL);
		return NULL;
	}
	if (PQstatus(admin) != CONNECTION_OK)
		PQreset(admin);
	PGresult *res = PQexecParams(admin, sql, nparams, NULL,
				     (const char *const *)params, NULL, NULL, 0);
	free(sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		send_error(s, state ? state : "XXUUU",
			   msg ? msg : PQerrorMessage(admin), NULL);
		PQclear(res);
		return NULL;
	}
	if (!plural && PQntuples(res) != 1) {
		send_error(s, "21000", "more than one row returned by a subquery used as an expression", NULL);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* CANCEL QUERY/QUERIES/SESSION/SESSIONS: returns false after an error. */
static bool run_cancel(struct sim_session *s, const struct sim_stmt *st,
		       char *const *params, int nparams)
{
	bool sessions = st->kind == SIM_CANCEL_SESSION ||
			st->kind == SIM_CANCEL_SESSIONS;
	PGresult *res = eval_ids(s, st, params, nparams);
	if (!res)
		return false;
	int done = 0;
	bool kill_self = false;
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, 0))
			continue;
		const char *id = PQgetvalue(res, i, 0);
		char msg[300];
		if (sessions) {
			struct sim_session *v = sim_find_by_session_id(s->srv, id);
			if (v == s) {
				kill_self = true;
				done++;
			} else if (v) {
				sim_session_kill(v);
				done++;
			} else if (!st->if_exists) {
				/* [INF] CockroachDB's wording. */
				snprintf(msg, sizeof msg,
					 "could not cancel session %s: session ID %s not found",
					 id, id);
				send_error(s, "XXUUU", msg, NULL);
				PQclear(res);
				return false;
			}
		} else {
			struct sim_session *v = sim_find_by_query_id(s->srv, id);
			if (v && v != s && sim_session_cancel(v)) {
				done++;
			} else if (!st->if_exists) {
				snprintf(msg, sizeof msg,
					 "could not cancel query %s: query ID %s not found",
					 id, id);
				send_error(s, "XXUUU", msg, NULL);
				PQclear(res);
				return false;
			}
		}
	}
	PQclear(res);
	char tag[64];
	/* §2.5, §6.4: cookTag gives "CANCEL QUERIES 1". */
	snprintf(tag, sizeof tag, "%s %d",
		 sessions ? "CANCEL SESSIONS" : "CANCEL QUERIES", done);
	if (proto_command_complete(cout(s), tag) != 0)
		fatal(s, "53200", "out of memory");
	if (kill_self && !s->dead)
		session_close(s);
	return true;
}

static bool parse_bool_setting(const char *v, bool *out)
{
	char buf[16];
	size_t n = strlen(v);
	if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
		v++;
		n -= 2;
	}
	if (n >= sizeof buf)
		return false;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)v[i]);
	buf[n] = '\0';
	if (!strcmp(buf, "true") || !strcmp(buf, "on") || !strcmp(buf, "1") ||
	    !strcmp(buf, "yes") || !strcmp(buf, "t")) {
		*out = true;
		return true;
	}
	if (!strcmp(buf, "false") || !strcmp(buf, "off") || !strcmp(buf, "0") ||
	    !strcmp(buf, "no") || !strcmp(buf, "f") || !strcmp(buf, "default")) {
		*out = false;
		return true;
	}
	return false;
}

/* Run a statement crdbsim answers itself (not changefeeds). Returns false
 * after an error. */
/* Statements crdbsim answers obey the transaction state too. */
static bool txn_allows(struct sim_session *s, const struct sim_stmt *st)
{
	if (s->txn_status == 'E' && st->kind != SIM_ERROR) {
		send_error(s, "25P02", "current transaction is aborted, commands "
			   "ignored until end of transaction block", NULL);
		return false;
	}
	if (s->txn_status == 'T' && st->kind == SIM_SET_CLUSTER_SETTING) {
		/* [INF] CockroachDB's wording and code (ActiveSQLTransaction). */
		send_error(s, "25001", "SET CLUSTER SETTING cannot be used inside "
			   "a multi-statement transaction", NULL);
		return false;
	}
	return true;
}

static bool run_local(struct sim_session *s, const struct sim_stmt *st,
		      char *const *params, int nparams)
{
	if (!txn_allows(s, st))
		return false;
	switch (st->kind) {
	case SIM_CANCEL_QUERY:
	case SIM_CANCEL_QUERIES:
	case SIM_CANCEL_SESSION:
	case SIM_CANCEL_SESSIONS:
		return run_cancel(s, st, params, nparams);
	case SIM_SET_CLUSTER_SETTING:
		if (strcmp(st->name, "kv.rangefeed.enabled") == 0) {
			bool on;
			const char *value = st->arg;
			/* SET CLUSTER SETTING ... = $n (extended protocol). */
			if (value[0] == '$' && isdigit((unsigned char)value[1])) {
				int i = atoi(value + 1) - 1;
				value = i >= 0 && i < nparams && params[i] ?
					params[i] : "";
			}
			if (!parse_bool_setting(value, &on)) {
				send_error(s, "22023", "could not parse value for setting kv.rangefeed.enabled", NULL);
				return false;
			}
			sim_settings_set_rangefeed(s->srv, on);
		}
		/* Other settings are accepted and ignored [documented]. */
		return proto_command_complete(cout(s), "SET CLUSTER SETTING") == 0;
	case SIM_LISTEN:
		/* §6.4: a severity-ERROR notice, not an error. */
		return proto_notice(cout(s), V_FIELD(s), "ERROR", "0A000",
				    "CRDB does not support LISTEN") == 0 &&
		       proto_command_complete(cout(s), "LISTEN") == 0;
	case SIM_UNLISTEN:
		return proto_notice(cout(s), V_FIELD(s), "NOTICE", "00000",
				    "CRDB does not support LISTEN, making UNLISTEN a no-op") == 0 &&
		       proto_command_complete(cout(s), "UNLISTEN") == 0;
	case SIM_ERROR:
		send_error(s, st->sqlstate, st->message, NULL);
		return false;
	case SIM_RELAY:
	case SIM_CHANGEFEED:
		break;
	}
	return false;
}

/* A changefeed statement: 1 started, 0 not a sinkless feed, -1 error sent. */
static int run_changefeed(struct sim_session *s, const char *sql,
			  char *const *params, int nparams, bool extended,
			  const int16_t formats[3])
{
	if (s->txn_status == 'E') {
		txn_allows(s, &(struct sim_stmt){.kind = SIM_CHANGEFEED});
		return -1;
	}
	size_t n = strlen(sql);
	while (n > 0 && (isspace((unsigned char)sql[n - 1]) || sql[n - 1] == ';'))
		n--;
	char *trimmed = strndup(sql, n);
	if (!trimmed) {
		send_error(s, "53200", "out of memory", NULL);
		return -1;
	}
	struct simfeed_stmt *stmt = NULL;
	struct simfeed_error err;
	memset(&err, 0, sizeof err);
	int r = simfeed_parse(s->srv->engine, trimmed,
			      (const char *const *)params, nparams, &stmt, &err);
	free(trimmed);
	if (r < 0) {
		send_error(s, err.sqlstate[0] ? err.sqlstate : "XXUUU",
			   err.message, err.hint);
		return -1;
	}
	if (r == 0)
		return 0;
	start_feed(s, stmt, extended, formats);
	return 1;
}

/* ---- relay ---- */

static struct evbuffer *bout(struct sim_session *s)
{
	return bufferevent_get_output(s->backend);
}

/* Forward n bytes (one whole message) from the client's input. */
static int forward_raw(struct sim_session *s, size_t n)
{
	if (evbuffer_remove_buffer(bufferevent_get_input(s->client), bout(s),
				   n) != (int)n) {
		fatal(s, "53200", "out of memory");
		return -1;
	}
	return 0;
}

static void drop_input(struct sim_session *s, size_t n)
{
	evbuffer_drain(bufferevent_get_input(s->client), n);
}

static void rewrite_ctx(struct sim_session *s, struct sim_rewrite_ctx *ctx)
{
	ctx->version_string = s->version_string;
	ctx->session_id = s->session_id;
	ctx->rangefeed = simfeed_engine_rangefeed(s->srv->engine);
	ctx->statements_sql = (char *(*)(void *))sim_statements_sql;
	ctx->arg = s->srv;
}

static struct local_obj *find_local(struct sim_session *s, bool portal,
				    const char *name)
{
	for (struct local_obj *o = s->locals; o; o = o->next)
		if (o->portal == portal && strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static void drop_local(struct sim_session *s, bool portal, const char *name)
{
	for (struct local_obj **pp = &s->locals; *pp; pp = &(*pp)->next) {
		if ((*pp)->portal == portal && strcmp((*pp)->name, name) == 0) {
			struct local_obj *o = *pp;
			*pp = o->next;
			free_local(o);
			s->nnamed--;
			return;
		}
	}
}

static void remember_relayed(struct sim_session *s, const char *name,
			     const char *sql)
{
	for (struct relay_stmt **pp = &s->relayed; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			struct relay_stmt *r = *pp;
			*pp = r->next;
			free(r->name);
			free(r->sql);
			free(r);
			s->nnamed--;
			break;
		}
	}
	if (s->nnamed >= SIM_MAX_NAMED)
		return;         /* only SHOW STATEMENTS loses the text */
	struct relay_stmt *r = calloc(1, sizeof *r);
	if (!r)
		return;
	r->name = strdup(name);
	r->sql = strdup(sql);
	if (!r->name || !r->sql) {
		free(r->name);
		free(r->sql);
		free(r);
		return;
	}
	r->next = s->relayed;
	s->relayed = r;
	s->nnamed++;
}

static const char *relayed_sql(struct sim_session *s, const char *name)
{
	for (struct relay_stmt *r = s->relayed; r; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r->sql;
	return "";
}

/* Result formats of the three changefeed columns from Bind's list. */
static void result_formats(int n, const int16_t *f, int16_t out[3])
{
	for (int i = 0; i < 3; i++)
		out[i] = n == 0 ? 0 : n == 1 ? f[0] : i < n ? f[i] : 0;
}

/* Return values of the handlers below. */
enum { H_DONE = 1, H_WAIT = 0, H_GONE = -1 };

static int handle_query(struct sim_session *s, const char *payload,
			size_t len, size_t total)
{
	struct preader r;
	preader_init(&r, payload, len);
	const char *sql = preader_cstr(&r);
	if (!preader_done(&r)) {
		fatal(s, "08P01", "invalid Query message");
		return H_GONE;
	}
	if (!settle_backend(s))
		return s->dead ? H_GONE : H_WAIT;
	set_running(s, sql);
	struct sim_rewrite_ctx ctx;
	struct sim_stmt st;
	rewrite_ctx(s, &ctx);
	if (sim_classify(sql, &ctx, &st) != 0) {
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	static const int16_t text[3] = {0, 0, 0};
	int rc = H_DONE;
	if (st.kind == SIM_CHANGEFEED) {
		int fr = run_changefeed(s, sql, NULL, 0, false, text);
		if (fr != 0) {
			drop_input(s, total);
			if (fr < 0 && !s->dead)
				ready(s);
			sim_stmt_clear(&st);
			return s->dead ? H_GONE : H_DONE;
		}
		st.kind = SIM_RELAY;    /* INTO a sink: PostgreSQL refuses it */
	}
	if (st.kind == SIM_RELAY) {
		if (strcmp(st.sql, sql) == 0) {
			rc = forward_raw(s, total) == 0 ? H_DONE : H_GONE;
		} else {
			struct pmsg m;
			proto_begin(&m, 'Q');
			proto_put_cstr(&m, st.sql);
			drop_input(s, total);
			rc = proto_end(&m, bout(s)) == 0 ? H_DONE : H_GONE;
			if (rc == H_GONE)
				fatal(s, "53200", "out of memory");
		}
		if (rc == H_DONE)
			s->expected++;
	} else {
		drop_input(s, total);
		run_local(s, &st, NULL, 0);
		if (!s->dead)
			ready(s);
	}
	sim_stmt_clear(&st);
	return s->dead ? H_GONE : rc;
}

static int handle_parse(struct sim_session *s, const char *payload,
			size_t len, size_t total)
{
	struct preader r;
	preader_init(&r, payload, len);
	const char *name = preader_cstr(&r);
	const char *sql = preader_cstr(&r);
	int ntypes = preader_int16(&r);
	if (ntypes < 0)
		r.bad = true;
	const void *types = preader_bytes(&r, (size_t)(ntypes > 0 ? ntypes : 0) * 4);
	if (!preader_done(&r)) {
		fatal(s, "08P01", "invalid Parse message");
		return H_GONE;
	}
	struct sim_rewrite_ctx ctx;
	struct sim_stmt st;
	rewrite_ctx(s, &ctx);
	/* Classify before deciding where it goes; SHOW STATEMENTS lists the
	 * statement itself, so it runs from here. */
	set_running(s, sql);
	if (sim_classify(sql, &ctx, &st) != 0) {
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	if (st.kind != SIM_RELAY) {
		if (!settle_backend(s)) {
			sim_stmt_clear(&st);
			return s->dead ? H_GONE : H_WAIT;
		}
		drop_input(s, total);
		if (st.kind == SIM_ERROR) {
			send_error(s, st.sqlstate, st.message, NULL);
			s->skip_until_sync = true;
			sim_stmt_clear(&st);
			return s->dead ? H_GONE : H_DONE;
		}
		drop_local(s, false, name);
		struct local_obj *o = calloc(1, sizeof *o);
		if (!o || !(o->name = strdup(name))) {
			free(o);
			sim_stmt_clear(&st);
			fatal(s, "53200", "out of memory");
			return H_GONE;
		}
		o->st = st;
		if (ntypes > o->st.nparams)
			o->st.nparams = ntypes;
		free(o->st.sql);
		o->st.sql = strdup(sql);  /* the engine wants the original */
		o->next = s->locals;
		s->locals = o;
		s->nnamed++;
		s->batch_local = true;
		if (!o->st.sql || proto_simple(cout(s), '1') != 0) {
			fatal(s, "53200", "out of memory");
			return H_GONE;
		}
		return H_DONE;
	}
	drop_local(s, false, name);
	remember_relayed(s, name, sql);
	int rc = H_DONE;
	if (strcmp(st.sql, sql) == 0) {
		rc = forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	} else {
		struct pmsg m;
		proto_begin(&m, 'P');
		proto_put_cstr(&m, name);
		proto_put_cstr(&m, st.sql);
		proto_put_int16(&m, (int16_t)ntypes);
		proto_put_bytes(&m, types, (size_t)ntypes * 4);
		drop_input(s, total);
		if (proto_end(&m, bout(s)) != 0) {
			fatal(s, "53200", "out of memory");
			rc = H_GONE;
		}
	}
	s->batch_forwarded = true;
	sim_stmt_clear(&st);
	return rc;
}

static int handle_bind(struct sim_session *s, const char *payload, size_t len,
		       size_t total)
{
	struct preader r;
	preader_init(&r, payload, len);
	const char *portal = preader_cstr(&r);
	const char *stmt = preader_cstr(&r);
	struct local_obj *lo = find_local(s, false, stmt);
	if (!lo) {
		if (r.bad) {
			fatal(s, "08P01", "invalid Bind message");
			return H_GONE;
		}
		drop_local(s, true, portal);
		if (!s->running)
			set_running(s, relayed_sql(s, stmt));
		s->batch_forwarded = true;
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	}
	if (!settle_backend(s))
		return s->dead ? H_GONE : H_WAIT;
	int nfmt = preader_int16(&r);
	if (nfmt < 0 || nfmt > 65535)
		r.bad = true;
	for (int i = 0; i < nfmt && !r.bad; i++)
		(void)preader_int16(&r);       /* parameter formats */
	int nparams = preader_int16(&r);
	if (nparams < 0)
		r.bad = true;
	struct local_obj *o = calloc(1, sizeof *o);
	if (!o) {
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	o->portal = true;
	o->name = strdup(portal);
	o->params = calloc((size_t)(nparams > 0 ? nparams : 1), sizeof *o->params);
	bool oom = !o->name || !o->params;
	for (int i = 0; i < nparams && !r.bad && !oom; i++) {
		int32_t plen = preader_int32(&r);
		if (plen < -1) {
			r.bad = true;
			break;
		}
		o->nparams = i + 1;
		if (plen == -1)
			continue;
		const char *p = preader_bytes(&r, (size_t)plen);
		if (p && !(o->params[i] = strndup(p, (size_t)plen)))
			oom = true;
	}
	int nres = preader_int16(&r);
	int16_t res[3] = {0, 0, 0};
	for (int i = 0; i < nres && !r.bad; i++) {
		int16_t f = preader_int16(&r);
		if (i < 3)
			res[i] = f;
	}
	if (r.bad || !preader_done(&r)) {
		free_local(o);
		fatal(s, "08P01", "invalid Bind message");
		return H_GONE;
	}
	if (oom) {
		free_local(o);
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	/* The portal keeps the statement's classification. */
	o->st.kind = lo->st.kind;
	o->st.if_exists = lo->st.if_exists;
	o->st.nparams = lo->st.nparams;
	o->st.sql = strdup(lo->st.sql);
	o->st.arg = lo->st.arg ? strdup(lo->st.arg) : NULL;
	o->st.name = lo->st.name ? strdup(lo->st.name) : NULL;
	memcpy(o->st.sqlstate, lo->st.sqlstate, sizeof o->st.sqlstate);
	memcpy(o->st.message, lo->st.message, sizeof o->st.message);
	result_formats(nres > 3 ? 3 : nres, res, o->formats);
	drop_input(s, total);
	drop_local(s, true, portal);
	o->next = s->locals;
	s->locals = o;
	s->nnamed++;
	s->batch_local = true;
	if (!s->running)
		set_running(s, lo->st.sql);
	if (!o->st.sql || proto_simple(cout(s), '2') != 0) {
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	return H_DONE;
}

static int handle_describe(struct sim_session *s, const char *payload,
			   size_t len, size_t total)
{
	struct preader r;
	preader_init(&r, payload, len);
	char what = (char)preader_byte(&r);
	const char *name = preader_cstr(&r);
	if (!preader_done(&r) || (what != 'S' && what != 'P')) {
		fatal(s, "08P01", "invalid Describe message");
		return H_GONE;
	}
	struct local_obj *o = find_local(s, what == 'P', name);
	if (!o) {
		s->batch_forwarded = true;
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	}
	if (!settle_backend(s))
		return s->dead ? H_GONE : H_WAIT;
	drop_input(s, total);
	int rc = 0;
	if (what == 'S') {
		struct pmsg m;
		proto_begin(&m, 't');
		proto_put_int16(&m, (int16_t)o->st.nparams);
		for (int i = 0; i < o->st.nparams; i++)
			proto_put_int32(&m, 25);        /* text [INF] */
		rc = proto_end(&m, cout(s));
	}
	if (o->st.kind == SIM_CHANGEFEED) {
		/* §2.1: the three columns are known before execution. */
		static const char *const names[3] = {"table", "key", "value"};
		static const uint32_t oids[3] = {25, 17, 17};
		static const int16_t text[3] = {0, 0, 0};
		rc |= proto_row_description(cout(s), 3, names, oids,
					    what == 'P' ? o->formats : text);
	} else {
		rc |= proto_simple(cout(s), 'n');
	}
	if (rc != 0) {
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	return H_DONE;
}

static int handle_execute(struct sim_session *s, const char *payload,
			  size_t len, size_t total)
{
	struct preader r;
	preader_init(&r, payload, len);
	const char *name = preader_cstr(&r);
	(void)preader_int32(&r);        /* row limit: feeds never suspend */
	if (!preader_done(&r)) {
		fatal(s, "08P01", "invalid Execute message");
		return H_GONE;
	}
	struct local_obj *o = find_local(s, true, name);
	if (!o) {
		s->batch_forwarded = true;
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	}
	if (!settle_backend(s))
		return s->dead ? H_GONE : H_WAIT;
	drop_input(s, total);
	if (o->st.kind == SIM_CHANGEFEED) {
		int fr = run_changefeed(s, o->st.sql, o->params, o->nparams,
					true, o->formats);
		if (fr == 0) {
			send_error(s, "0A000", "crdbsim: only sinkless changefeeds (without INTO) are supported", NULL);
			fr = -1;
		}
		if (fr < 0 && !s->dead)
			s->skip_until_sync = true;
		return s->dead ? H_GONE : H_DONE;
	}
	if (!run_local(s, &o->st, o->params, o->nparams) && !s->dead)
		s->skip_until_sync = true;
	return s->dead ? H_GONE : H_DONE;
}

static int handle_close(struct sim_session *s, const char *payload, size_t len,
			size_t total)
{
	struct preader r;
	preader_init(&r, payload, len);
	char what = (char)preader_byte(&r);
	const char *name = preader_cstr(&r);
	if (!preader_done(&r) || (what != 'S' && what != 'P')) {
		fatal(s, "08P01", "invalid Close message");
		return H_GONE;
	}
	if (!find_local(s, what == 'P', name)) {
		s->batch_forwarded = true;
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	}
	if (!settle_backend(s))
		return s->dead ? H_GONE : H_WAIT;
	drop_input(s, total);
	drop_local(s, what == 'P', name);
	if (proto_simple(cout(s), '3') != 0) {
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	return H_DONE;
}

static int handle_sync(struct sim_session *s, size_t total)
{
	s->skip_until_sync = false;
	if (s->batch_forwarded) {
		s->batch_forwarded = false;
		s->batch_local = false;
		s->expected++;
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	}
	if (s->expected > 0)
		return H_WAIT;  /* an earlier Sync's answer is still owed */
	drop_input(s, total);
	s->batch_local = false;
	ready(s);
	return s->dead ? H_GONE : H_DONE;
}

/* One complete client message of the READY state. */
static int handle_message(struct sim_session *s, char type, size_t total)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	if (s->skip_until_sync && type != 'S' && type != 'X') {
		drop_input(s, total);
		return H_DONE;
	}
	/* Messages that are forwarded without a look. */
	switch (type) {
	case 'd': case 'c': case 'f':   /* COPY data, done, fail */
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	case 'F':                       /* FunctionCall */
		if (forward_raw(s, total) != 0)
			return H_GONE;
		s->expected++;
		return H_DONE;
	case 'H':                       /* Flush */
		if (s->batch_forwarded)
			return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
		drop_input(s, total);
		return H_DONE;
	case 'S':
		return handle_sync(s, total);
	case 'X':
		session_close(s);
		return H_GONE;
	default:
		break;
	}
	const char *msg = (const char *)evbuffer_pullup(in, (ssize_t)total);
	if (!msg) {
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	const char *payload = msg + 5;
	size_t len = total - 5;
	switch (type) {
	case 'Q': return handle_query(s, payload, len, total);
	case 'P': return handle_parse(s, payload, len, total);
	case 'B': return handle_bind(s, payload, len, total);
	case 'D': return handle_describe(s, payload, len, total);
	case 'E': return handle_execute(s, payload, len, total);
	case 'C': return handle_close(s, payload, len, total);
	default:
		fatal(s, "08P01", "invalid frontend message type %d",
		      (unsigned char)type);
		return H_GONE;
	}
}

/* ---- start-up ---- */

static void send_startup_reply(struct sim_session *s)
{
	struct evbuffer *out = cout(s);
	struct pmsg m;
	int rc = 0;
	proto_begin(&m, 'R');
	proto_put_int32(&m, 0);                 /* AuthenticationOk */
	rc |= proto_end(&m, out);
	/* §6.1, in CockroachDB's statusReportParams set. */
	const char *params[][2] = {
		{"application_name", s->application_name ? s->application_name : ""},
		{"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"},
		{"IntervalStyle", "postgres"},
		{"integer_datetimes", "on"},
		{"is_superuser", s->user && !strcmp(s->user, "root") ? "on" : "off"},
		{"server_encoding", "UTF8"},
		{"server_version", "13.0.0"},
		{"standard_conforming_strings", "on"},
		{"TimeZone", "UTC"},
		{"crdb_version", s->version_string},
		{"session_authorization", s->user},
	};
	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
		rc |= proto_parameter_status(out, params[i][0], params[i][1]);
	/* §6.3: one 64-bit key from 22.1 (PID = its upper half), zeros
	 * before. */
	proto_begin(&m, 'K');
	proto_put_int32(&m, (int32_t)s->key_pid);
	proto_put_int32(&m, (int32_t)s->key_secret);
	rc |= proto_end(&m, out);
	rc |= proto_ready(out, 'I');
	if (rc != 0)
		fatal(s, "53200", "out of memory");
}

static void backend_read_cb(struct bufferevent *bev, void *arg);
static void backend_write_cb(struct bufferevent *bev, void *arg);
static void backend_event_cb(struct bufferevent *bev, short what, void *arg);
static void pg_poll(struct sim_session *s, PostgresPollingStatusType st);

static void pg_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct sim_session *s = arg;
	pg_poll(s, PQconnectPoll(s->pg));
}

static void backend_ready(struct sim_session *s)
{
	s->pg_cancel = PQgetCancel(s->pg);
	s->backend = bufferevent_socket_new(s->srv->base, PQsocket(s->pg), 0);
	if (!s->backend) {
		fatal(s, "53200", "out of memory");
		return;
	}
	bufferevent_setcb(s->backend, backend_read_cb, backend_write_cb,
			  backend_event_cb, s);
	bufferevent_setwatermark(s->backend, EV_WRITE,
				 SIM_RELAY_HIGH_WATER / 2, 0);
	bufferevent_enable(s->backend, EV_READ);
	s->txn_status = 'I';
	s->state = S_READY;
	send_startup_reply(s);
	if (!s->dead)
		kick(s);
}

static void pg_poll(struct sim_session *s, PostgresPollingStatusType st)
{
	short what;
	switch (st) {
	case PGRES_POLLING_OK:
		if (s->pg_ev)
			event_free(s->pg_ev);
		s->pg_ev = NULL;
		backend_ready(s);
		return;
	case PGRES_POLLING_FAILED: {
		char msg[300];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(s->pg));
		msg[strcspn(msg, "\n")] = '\0';
		/* "database ... does not exist" keeps its SQLSTATE. */
		fatal(s, strstr(msg, "does not exist") ? "3D000" : "08006",
		      "%s", msg);
		return;
	}
	case PGRES_POLLING_READING:
		what = EV_READ;
		break;
	default:
		what = EV_WRITE;
		break;
	}
	if (s->pg_ev)
		event_free(s->pg_ev);
	s->pg_ev = event_new(s->srv->base, PQsocket(s->pg), what, pg_ev_cb, s);
	if (!s->pg_ev || event_add(s->pg_ev, NULL) != 0)
		fatal(s, "53200", "out of memory");
}

static void begin_backend(struct sim_session *s)
{
	const char *kw[8], *val[8];
	int n = 0;
	kw[n] = "dbname"; val[n++] = s->srv->pg_dsn;
	kw[n] = "dbname"; val[n++] = s->database;
	kw[n] = "sslmode"; val[n++] = "disable";
	if (s->application_name) {
		kw[n] = "application_name"; val[n++] = s->application_name;
	}
	if (s->pg_options) {
		kw[n] = "options"; val[n++] = s->pg_options;
	}
	kw[n] = NULL; val[n] = NULL;
	s->state = S_CONNECTING;
	s->pg = PQconnectStartParams(kw, val, 1);
	if (!s->pg || PQstatus(s->pg) == CONNECTION_BAD) {
		fatal(s, "08006", "cannot connect to PostgreSQL: %s",
		      s->pg ? PQerrorMessage(s->pg) : "out of memory");
		return;
	}
	pg_poll(s, PGRES_POLLING_WRITING);
}

/* -c settings in the start-up `options`: crdbsim.version picks the
 * emulated version of this connection; a few harmless PostgreSQL settings
 * are passed on; CockroachDB-only ones are dropped. */
static bool take_options(struct sim_session *s, const char *options)
{
	static const char *const pass[] = {
		"statement_timeout", "timezone", "datestyle", "intervalstyle",
		"search_path", "lock_timeout", "idle_in_transaction_session_timeout",
		"application_name", NULL,
	};
	char buf[1024];
	size_t used = 0;
	const char *p = options;
	buf[0] = '\0';
	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		char tok[512];
		size_t n = 0;
		while (*p && !isspace((unsigned char)*p)) {
			if (*p == '\\' && p[1])
				p++;
			if (n + 1 < sizeof tok)
				tok[n++] = *p;
			p++;
		}
		tok[n] = '\0';
		const char *setting = tok;
		if (!strcmp(tok, "-c")) {
			while (isspace((unsigned char)*p))
				p++;
			n = 0;
			while (*p && !isspace((unsigned char)*p)) {
				if (*p == '\\' && p[1])
					p++;
				if (n + 1 < sizeof tok)
					tok[n++] = *p;
				p++;
			}
			tok[n] = '\0';
		} else if (!strncmp(tok, "-c", 2)) {
			setting = tok + 2;
		} else if (!strncmp(tok, "--", 2)) {
			setting = tok + 2;
		}
		const char *eq = strchr(setting, '=');
		if (!eq)
			continue;
		size_t namelen = (size_t)(eq - setting);
		if (namelen == 15 && !strncasecmp(setting, "crdbsim.version", 15)) {
			int v = sim_parse_version_arg(eq + 1);
			if (v < 0)
				return false;
			s->version = v;
			continue;
		}
		for (int i = 0; pass[i]; i++) {
			if (strlen(pass[i]) == namelen &&
			    !strncasecmp(setting, pass[i], namelen)) {
				int w = snprintf(buf + used, sizeof buf - used,
						 "%s-c %s", used ? " " : "", setting);
				if (w > 0 && (size_t)w < sizeof buf - used)
					used += (size_t)w;
				break;
			}
		}
	}
	if (used && !(s->pg_options = strdup(buf)))
		return false;
	return true;
}

static void handle_cancel_request(struct sim_session *s, const char *pkt)
{
	struct preader r;
	preader_init(&r, pkt, 16);
	(void)preader_int32(&r);
	(void)preader_int32(&r);
	uint32_t pid = (uint32_t)preader_int32(&r);
	uint32_t secret = (uint32_t)preader_int32(&r);
	struct sim_session *v = sim_find_by_cancel_key(s->srv, pid, secret);
	/* §2.5: CockroachDB before 22.1 ignores every CancelRequest. */
	if (v && v->version >= CANCEL_REQUEST_VERSION)
		sim_session_cancel(v);
	session_close(s);
}

static int handle_startup(struct sim_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	unsigned char hdr[4];
	if (evbuffer_get_length(in) < 4)
		return H_WAIT;
	evbuffer_copyout(in, hdr, 4);
	uint32_t len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
		       ((uint32_t)hdr[2] << 8) | hdr[3];
	if (len < 8 || len > SIM_MAX_STARTUP) {
		fatal(s, "08P01", "invalid length of startup packet");
		return H_GONE;
	}
	if (evbuffer_get_length(in) < len)
		return H_WAIT;
	const char *pkt = (const char *)evbuffer_pullup(in, len);
	if (!pkt) {
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	struct preader r;
	preader_init(&r, pkt, len);
	(void)preader_int32(&r);
	uint32_t code = (uint32_t)preader_int32(&r);
	if (code == CODE_SSL_REQUEST || code == CODE_GSSENC_REQUEST) {
		evbuffer_drain(in, len);
		/* Refused politely: the client goes on in plain text. */
		if (evbuffer_add(cout(s), "N", 1) != 0) {
			fatal(s, "53200", "out of memory");
			return H_GONE;
		}
		return H_DONE;
	}
	if (code == CODE_CANCEL_REQUEST) {
		if (len != 16) {
			fatal(s, "08P01", "invalid length of cancel request");
			return H_GONE;
		}
		handle_cancel_request(s, pkt);
		return H_GONE;
	}
	if (code != CODE_PROTOCOL_3) {
		fatal(s, "0A000", "unsupported frontend protocol %u.%u",
		      code >> 16, code & 0xffff);
		return H_GONE;
	}
	const char *options = NULL;
	for (;;) {
		const char *name = preader_cstr(&r);
		if (r.bad || !*name)
			break;
		const char *value = preader_cstr(&r);
		if (r.bad)
			break;
		char **slot = NULL;
		if (!strcmp(name, "user"))
			slot = &s->user;
		else if (!strcmp(name, "database"))
			slot = &s->database;
		else if (!strcmp(name, "application_name"))
			slot = &s->application_name;
		else if (!strcmp(name, "client_encoding"))
			slot = &s->client_encoding;
		else if (!strcmp(name, "options"))
			options = value;
		if (slot) {
			free(*slot);
			if (!(*slot = strdup(value))) {
				fatal(s, "53200", "out of memory");
				return H_GONE;
			}
		}
	}
	if (!preader_done(&r)) {
		fatal(s, "08P01", "invalid startup packet layout");
		return H_GONE;
	}
	if (!s->user || !*s->user) {
		fatal(s, "28000", "no user specified in startup packet");
		return H_GONE;
	}
	if ((!s->database || !*s->database)) {
		free(s->database);
		if (!(s->database = strdup("defaultdb"))) {
			fatal(s, "53200", "out of memory");
			return H_GONE;
		}
	}
	if (s->srv->draining) {
		/* §7: a draining node refuses new connections. */
		fatal(s, "57P01", "server is not accepting clients, try another node");
		return H_GONE;
	}
	if (options && !take_options(s, options)) {
		fatal(s, "22023", "crdbsim: bad options (crdbsim.version wants X.Y.Z)");
		return H_GONE;
	}
	evbuffer_drain(in, len);
	sim_version_string(s->version, s->version_string,
			   sizeof s->version_string);
	if (s->version >= CANCEL_REQUEST_VERSION) {
		uint32_t rnd[2];
		if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
			rnd[0] = (uint32_t)now_us();
			rnd[1] = (uint32_t)rand();
		}
		/* Node 1 in the top 12 bits of the 64-bit key. */
		s->key_pid = (1u << 20) | (rnd[0] & 0xfffffu);
		s->key_secret = rnd[1];
		s->has_key = true;
	}
	if (s->srv->password) {
		struct pmsg m;
		proto_begin(&m, 'R');
		proto_put_int32(&m, 3);         /* cleartext password */
		if (proto_end(&m, cout(s)) != 0) {
			fatal(s, "53200", "out of memory");
			return H_GONE;
		}
		s->state = S_PASSWORD;
		return H_DONE;
	}
	begin_backend(s);
	return s->dead ? H_GONE : H_DONE;
}

static int handle_password(struct sim_session *s, char type, size_t total)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	if (type != 'p') {
		fatal(s, "08P01", "expected password response, got message type %d",
		      (unsigned char)type);
		return H_GONE;
	}
	const char *msg = (const char *)evbuffer_pullup(in, (ssize_t)total);
	if (!msg) {
		fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	struct preader r;
	preader_init(&r, msg + 5, total - 5);
	const char *pw = preader_cstr(&r);
	bool ok = preader_done(&r) && strcmp(pw, s->srv->password) == 0;
	evbuffer_drain(in, total);
	if (!ok) {
		fatal(s, "28P01", "password authentication failed for user %s",
		      s->user);
		return H_GONE;
	}
	begin_backend(s);
	return s->dead ? H_GONE : H_DONE;
}

/* ---- the input loop ---- */

static void session_process_messages(struct sim_session *s);

/*
 * Handle what the client sent, then bound what waits: when a complete
 * message cannot go on (PostgreSQL busy or slow) and more than
 * SIM_RELAY_HIGH_WATER is queued, stop reading the client until it can.
 * An incomplete message is always read to its end (at most 1 GiB).
 */
static void session_process(struct sim_session *s)
{
	session_process_messages(s);
	if (s->dead || s->state != S_READY)
		return;
	struct evbuffer *in = bufferevent_get_input(s->client);
	size_t queued = evbuffer_get_length(in);
	bool blocked = false;
	if (queued > SIM_RELAY_HIGH_WATER) {
		unsigned char hdr[5];
		evbuffer_copyout(in, hdr, 5);
		uint32_t len = ((uint32_t)hdr[1] << 24) | ((uint32_t)hdr[2] << 16) |
			       ((uint32_t)hdr[3] << 8) | hdr[4];
		blocked = (size_t)len + 1 <= queued;
	}
	if (blocked)
		bufferevent_disable(s->client, EV_READ);
	else
		bufferevent_enable(s->client, EV_READ);
}

static void session_process_messages(struct sim_session *s)
{
	while (!s->dead) {
		if (s->state == S_STARTUP) {
			if (handle_startup(s) != H_DONE)
				return;
			continue;
		}
		if (s->state != S_READY && s->state != S_PASSWORD)
			return;
		if (s->backend &&
		    evbuffer_get_length(bout(s)) > SIM_RELAY_HIGH_WATER)
			return;         /* backend_write_cb resumes */
		struct evbuffer *in = bufferevent_get_input(s->client);
		unsigned char hdr[5];
		if (evbuffer_copyout(in, hdr, 5) < 5)
			return;
		uint32_t len = ((uint32_t)hdr[1] << 24) | ((uint32_t)hdr[2] << 16) |
			       ((uint32_t)hdr[3] << 8) | hdr[4];
		if (len < 4 || len > SIM_MAX_MESSAGE) {
			fatal(s, "08P01", "invalid message length %u", len);
			return;
		}
		size_t total = (size_t)len + 1;
		if (evbuffer_get_length(in) < total)
			return;
		int rc = s->state == S_PASSWORD ?
			 handle_password(s, (char)hdr[0], total) :
			 handle_message(s, (char)hdr[0], total);
		if (rc != H_DONE)
			return;
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct sim_session *s = arg;
	if (s->state == S_CLOSING) {
		session_close(s);
		return;
	}
	if (s->feed_done) {
		/* The engine ended the feed: free it outside its callback. */
		s->feed_done = false;
		if (s->feed)
			simfeed_stop(s->feed);
		s->feed = NULL;
	}
	session_process(s);
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_process(arg);
}

static void client_write_cb(struct bufferevent *bev, void *arg)
{
	struct sim_session *s = arg;
	size_t queued = evbuffer_get_length(bufferevent_get_output(bev));
	if (s->state == S_CLOSING) {
		if (queued == 0)
			session_close(s);
		return;
	}
	if (s->feed_paused && s->feed && queued < SIM_FEED_HIGH_WATER) {
		s->feed_paused = false;
		simfeed_resume(s->feed);
		if (s->dead)
			return;
	}
	if (s->relay_paused && queued < SIM_RELAY_HIGH_WATER) {
		s->relay_paused = false;
		bufferevent_enable(s->backend, EV_READ);
		backend_read_cb(s->backend, s);
	}
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct sim_session *s = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		session_close(s);
}

/* ---- PostgreSQL -> client ---- */

/* Names of ParameterStatus messages that pass through after start-up
 * (a SET of them reports the new value, as CockroachDB does). */
static bool pass_parameter(const char *name)
{
	static const char *const names[] = {
		"application_name", "DateStyle", "IntervalStyle", "TimeZone",
		"client_encoding", "standard_conforming_strings", NULL,
	};
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* PostgreSQL's 57014 errors, reworded as CockroachDB's (§2.5, §7):
 * 0 when sent reworded, 1 when msg is another error, -1 out of memory. */
static int relay_cancel_error(struct sim_session *s, const char *msg,
			      size_t total)
{
	struct preader r;
	preader_init(&r, msg + 5, total - 5);
	bool is_cancel = false, timeout = false;
	for (;;) {
		uint8_t f = preader_byte(&r);
		if (r.bad || f == 0)
			break;
		const char *v = preader_cstr(&r);
		if (f == 'C' && !strcmp(v, "57014"))
			is_cancel = true;
		if (f == 'M' && strstr(v, "statement timeout"))
			timeout = true;
	}
	if (!is_cancel)
		return 1;
	return proto_error(cout(s), V_FIELD(s), "ERROR", "57014",
			   timeout ? "query execution canceled due to statement timeout"
				   : "query execution canceled", NULL) == 0 ? 0 : -1;
}

static void backend_read_cb(struct bufferevent *bev, void *arg)
{
	struct sim_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	bool became_idle = false;
	while (!s->dead && s->state != S_CLOSING) {
		if (evbuffer_get_length(cout(s)) > SIM_RELAY_HIGH_WATER) {
			s->relay_paused = true;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		unsigned char hdr[5];
		if (evbuffer_copyout(in, hdr, 5) < 5)
			break;
		uint32_t len = ((uint32_t)hdr[1] << 24) | ((uint32_t)hdr[2] << 16) |
			       ((uint32_t)hdr[3] << 8) | hdr[4];
		if (len < 4 || len > SIM_MAX_MESSAGE) {
			fatal(s, "08006", "crdbsim: PostgreSQL sent a bad message");
			return;
		}
		size_t total = (size_t)len + 1;
		if (evbuffer_get_length(in) < total)
			break;
		char type = (char)hdr[0];
		if (type == 'Z' || type == 'S' || type == 'E') {
			const char *msg = (const char *)evbuffer_pullup(in, (ssize_t)total);
			if (!msg) {
				fatal(s, "53200", "out of memory");
				return;
			}
			if (type == 'Z') {
				if (total >= 6)
					s->txn_status = msg[5];
				bool swallow = s->swallow > 0 && s->expected == 1;
				if (s->expected > 0)
					s->expected--;
				if (swallow) {
					s->swallow--;
					evbuffer_drain(in, total);
				} else if (evbuffer_remove_buffer(in, cout(s), total) != (int)total) {
					fatal(s, "53200", "out of memory");
					return;
				}
				if (s->expected == 0) {
					if (!swallow)
						clear_running(s);
					became_idle = true;
				}
				continue;
			}
			if (type == 'S') {
				struct preader r;
				preader_init(&r, msg + 5, total - 5);
				const char *name = preader_cstr(&r);
				if (r.bad || !pass_parameter(name)) {
					evbuffer_drain(in, total);
					continue;
				}
			}
			if (type == 'E') {
				int rc = relay_cancel_error(s, msg, total);
				if (rc < 0) {
					fatal(s, "53200", "out of memory");
					return;
				}
				if (rc == 0) {
					evbuffer_drain(in, total);
					continue;
				}
			}
		} else if (type == 'K' || type == 'A') {
			/* crdbsim's own key stands; no NOTIFY on CockroachDB. */
			evbuffer_drain(in, total);
			continue;
		}
		if (evbuffer_remove_buffer(in, cout(s), total) != (int)total) {
			fatal(s, "53200", "out of memory");
			return;
		}
	}
	if (became_idle && !s->dead)
		session_process(s);
}

static void backend_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_process(arg);
}

static void backend_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct sim_session *s = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fatal(s, "57P01", "terminating connection: the PostgreSQL backend closed");
}

/* ---- creation ---- */

struct sim_session *sim_session_new(struct sim_server *srv, int fd,
				    const char *peer)
{
	struct sim_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->srv = srv;
	s->version = srv->default_version;
	s->txn_status = 'I';
	snprintf(s->peer, sizeof s->peer, "%s", peer);
	sim_new_id(srv, s->session_id);
	s->client = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->tick = evtimer_new(srv->base, tick_cb, s);
	if (!s->client || !s->tick) {
		if (s->client)
			bufferevent_free(s->client);
		else
			close(fd);
		if (s->tick)
			event_free(s->tick);
		free(s);
		return NULL;    /* the fd is closed either way */
	}
	evutil_make_socket_nonblocking(fd);
	bufferevent_setcb(s->client, client_read_cb, client_write_cb,
			  client_event_cb, s);
	bufferevent_setwatermark(s->client, EV_WRITE, SIM_FEED_HIGH_WATER / 2, 0);
	bufferevent_enable(s->client, EV_READ);
	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	srv->sessions_total++;
	return s;
}
