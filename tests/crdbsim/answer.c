/*
 * answer.c: statements crdbsim answers itself (§6.4): CANCEL QUERY /
 * QUERIES / SESSION / SESSIONS (ids evaluated by PostgreSQL through the
 * helper connection, so subqueries work), SET CLUSTER SETTING, LISTEN and
 * UNLISTEN; and cancelling what a session runs (its changefeed, or its
 * relayed statement through PostgreSQL's own cancel key).
 */
#include "config.h"

#include "session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

/* ---- cancel ---- */

#define CANCEL_RETRY_MS 100
#define CANCEL_RETRY_MAX 50     /* 5 s of a statement that ignores it */

/* Blocking, but to the local PostgreSQL: a millisecond. */
static void relay_cancel(struct sim_session *s)
{
	char errbuf[256];

	if (!PQcancel(s->pg_cancel, errbuf, sizeof errbuf))
		sim_log("cancel to PostgreSQL failed: %s", errbuf);
}

bool sim_session_cancel(struct sim_session *s)
{
	if (s->dead)
		return false;
	if (s->in_feed) {
		if (s->feed)
			simfeed_stop(s->feed);
		s->feed = NULL;
		/* §2.5: 57014, then the session is idle again. */
		sess_error(s, "57014", "query execution canceled", NULL);
		if (!s->dead)
			feedwire_end(s, true);
		s->feed_done = false;
		return true;
	}
	if (s->running && s->expected > 0 && s->pg_cancel) {
		static const struct timeval retry = { 0, CANCEL_RETRY_MS * 1000 };

		relay_cancel(s);
		/* Again while the same statement runs: see cancel_retry. */
		snprintf(s->cancel_qid, sizeof s->cancel_qid, "%s", s->query_id);
		s->cancel_tries = 1;
		event_add(s->cancel_retry, &retry);
		return true;
	}
	return false;
}

void sess_cancel_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval retry = { 0, CANCEL_RETRY_MS * 1000 };
	struct sim_session *s = arg;

	(void)fd;
	(void)what;
	if (s->dead || !s->running || s->expected <= 0 || !s->pg_cancel ||
	    strcmp(s->query_id, s->cancel_qid) != 0 ||
	    s->cancel_tries >= CANCEL_RETRY_MAX)
		return;
	s->cancel_tries++;
	relay_cancel(s);
	event_add(s->cancel_retry, &retry);
}

/* ---- statements crdbsim answers ---- */

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
		sess_error(s, "53200", "out of memory", NULL);
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
		sess_error(s, state ? state : "XXUUU",
			   msg ? msg : PQerrorMessage(admin), NULL);
		PQclear(res);
		return NULL;
	}
	if (!plural && PQntuples(res) != 1) {
		sess_error(s, "21000", "more than one row returned by a subquery used as an expression", NULL);
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
				sess_error(s, "XXUUU", msg, NULL);
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
				sess_error(s, "XXUUU", msg, NULL);
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
	if (proto_command_complete(sess_out(s), tag) != 0)
		sess_fatal(s, "53200", "out of memory");
	if (kill_self && !s->dead)
		sess_close(s);
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
bool answer_txn_allows(struct sim_session *s, const struct sim_stmt *st)
{
	if (s->txn_status == 'E' && st->kind != SIM_ERROR) {
		sess_error(s, "25P02", "current transaction is aborted, commands "
			   "ignored until end of transaction block", NULL);
		return false;
	}
	if (s->txn_status == 'T' && st->kind == SIM_SET_CLUSTER_SETTING) {
		/* [INF] CockroachDB's wording and code (ActiveSQLTransaction). */
		sess_error(s, "25001", "SET CLUSTER SETTING cannot be used inside "
			   "a multi-statement transaction", NULL);
		return false;
	}
	return true;
}

bool answer_run(struct sim_session *s, const struct sim_stmt *st,
		char *const *params, int nparams)
{
	if (!answer_txn_allows(s, st))
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
				sess_error(s, "22023", "could not parse value for setting kv.rangefeed.enabled", NULL);
				return false;
			}
			sim_settings_set_rangefeed(s->srv, on);
		} else if (strcmp(st->name,
				  "kv.closed_timestamp.target_duration") == 0) {
			const char *value = st->arg;
			int64_t ms = SIM_CLOSED_TS_DEFAULT_MS;
			if (value[0] == '$' && isdigit((unsigned char)value[1])) {
				int i = atoi(value + 1) - 1;
				value = i >= 0 && i < nparams && params[i] ?
					params[i] : "";
			}
			bool dflt = strcasecmp(value, "default") == 0;
			if (!dflt && sim_parse_setting_duration(value, &ms)) {
				sess_error(s, "22023", "could not parse value for setting kv.closed_timestamp.target_duration", NULL);
				return false;
			}
			sim_settings_set_closed_ts(s->srv, ms, dflt);
		}
		/* Other settings are accepted and ignored [documented]. */
		return proto_command_complete(sess_out(s), "SET CLUSTER SETTING") == 0;
	case SIM_LISTEN:
		/* §6.4: a severity-ERROR notice, not an error. */
		return proto_notice(sess_out(s), V_FIELD(s), "ERROR", "0A000",
				    "CRDB does not support LISTEN") == 0 &&
		       proto_command_complete(sess_out(s), "LISTEN") == 0;
	case SIM_UNLISTEN:
		return proto_notice(sess_out(s), V_FIELD(s), "NOTICE", "00000",
				    "CRDB does not support LISTEN, making UNLISTEN a no-op") == 0 &&
		       proto_command_complete(sess_out(s), "UNLISTEN") == 0;
	case SIM_ERROR:
		sess_error(s, st->sqlstate, st->message,
			   st->hint[0] ? st->hint : NULL);
		return false;
	case SIM_RELAY:
	case SIM_CHANGEFEED:
	case SIM_JOB:           /* statements.c runs these (sim_job_sql.c) */
		break;
	}
	return false;
}

