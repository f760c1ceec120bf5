/*
 * sim_job_sql.c: the changefeed job statements on the wire (§16):
 * CREATE CHANGEFEED ... INTO (one row, job_id INT8, tag "CREATE CHANGEFEED
 * 1"), PAUSE / RESUME / CANCEL JOB id (tags "PAUSE JOBS 1" and so on, as
 * ControlJobs' tag), ALTER CHANGEFEED id ADD t | DROP t | SET o = v |
 * UNSET o, ... (one row, job_id and job_description, tag "ALTER
 * CHANGEFEED 1"). The job id is an integer, a $n, or an expression
 * PostgreSQL evaluates through the helper connection. The jobs themselves
 * are sim_job.c's; SHOW CHANGEFEED JOB(S) is a rewrite (intercept.c).
 */
#include "config.h"

#include "session.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"
#include "sim_job.h"
#include "sqllex.h"

#define ALTER_MAX_CMDS 64

enum job_stmt { JS_NONE, JS_CREATE, JS_PAUSE, JS_RESUME, JS_CANCEL,
		JS_ALTER };

/* Which job statement sql is, and where its job id starts. */
static enum job_stmt job_stmt_kind(const char *sql, const char **id)
{
	const char *q;
	*id = NULL;
	if ((q = kw(sql, "CREATE")) && kw(q, "CHANGEFEED"))
		return JS_CREATE;
	if ((q = kw(sql, "ALTER")) && (q = kw(q, "CHANGEFEED"))) {
		*id = q;
		return JS_ALTER;
	}
	enum job_stmt k = (q = kw(sql, "PAUSE")) ? JS_PAUSE :
			  (q = kw(sql, "RESUME")) ? JS_RESUME :
			  (q = kw(sql, "CANCEL")) ? JS_CANCEL : JS_NONE;
	if (k != JS_NONE && (q = kw(q, "JOB"))) {
		*id = q;
		return k;
	}
	return JS_NONE;
}

/* The result columns of a job statement (0 when it has none). */
static int job_columns(enum job_stmt k, const char *names[2], uint32_t oids[2])
{
	names[0] = "job_id";
	oids[0] = 20;                   /* INT8 */
	names[1] = "job_description";
	oids[1] = 25;                   /* STRING */
	return k == JS_CREATE ? 1 : k == JS_ALTER ? 2 : 0;
}

bool jobwire_describe(struct sim_session *s, const char *sql,
		      const int16_t formats[3])
{
	const char *names[2], *id;
	uint32_t oids[2];
	int n = job_columns(job_stmt_kind(sql, &id), names, oids);
	int rc = n ? proto_row_description(sess_out(s), n, names, oids, formats) :
		     proto_simple(sess_out(s), 'n');
	return rc == 0;
}

/* ---- the job id ---- */

/* A token of the ALTER tail: a word (a name with dots and quoted parts,
 * a number, $n), a string literal, or one punctuation character. */
struct tok {
	const char *p;
	size_t n;
	bool string;
};

static const char *next_tok(const char *p, struct tok *t)
{
	p = skip_space(p);
	t->p = p;
	t->string = false;
	if (!*p || *p == ';') {
		t->n = 0;
		return p;
	}
	if (*p == '\'') {
		const char *e = skip_quoted(p, p);
		t->string = true;
		t->n = (size_t)((e ? e : p + strlen(p)) - p);
		return p + t->n;
	}
	if (*p == ',' || *p == '=' || *p == '(' || *p == ')') {
		t->n = 1;
		return p + 1;
	}
	const char *e = p;
	while (*e && (ident_char(*e) || *e == '.' || *e == '$' || *e == '"')) {
		if (*e == '"') {
			const char *q = skip_quoted(p, e);
			e = q ? q : e + strlen(e);
		} else {
			e++;
		}
	}
	if (e == p)
		e++;
	t->n = (size_t)(e - p);
	return e;
}

static bool tok_is(const struct tok *t, const char *word)
{
	return t->n == strlen(word) && strncasecmp(t->p, word, t->n) == 0;
}

/* A string literal's value or a word as written (malloc'd). */
static char *tok_value(const struct tok *t)
{
	if (!t->string)
		return strndup(t->p, t->n);
	char *v = malloc(t->n);
	size_t o = 0;
	if (!v)
		return NULL;
	for (size_t i = 1; i + 1 < t->n; i++) {
		v[o++] = t->p[i];
		if (t->p[i] == '\'' && t->p[i + 1] == '\'')
			i++;
	}
	v[o] = '\0';
	return v;
}

/* The job id from text (an integer, $n, or an expression). -1 after an
 * error sent. */
static int eval_job_id(struct sim_session *s, const char *expr,
		       char *const *params, int nparams, int64_t *id)
{
	char *end;
	errno = 0;
	long long v = strtoll(expr, &end, 10);
	if (!errno && end != expr && *skip_space(end) == '\0') {
		*id = v;
		return 0;
	}
	char *sql = NULL;
	if (asprintf(&sql, "SELECT (%s)::int8", expr) < 0) {
		sess_error(s, "53200", "out of memory", NULL);
		return -1;
	}
	PGconn *admin = s->srv->admin;
	if (PQstatus(admin) != CONNECTION_OK)
		PQreset(admin);
	PGresult *r = PQexecParams(admin, sql, nparams, NULL,
				   (const char *const *)params, NULL, NULL, 0);
	free(sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
	    PQgetisnull(r, 0, 0)) {
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		/* alter_changefeed_stmt.go wraps it so, with 42804 */
		char text[512];
		snprintf(text, sizeof text, "changefeed ID must be an INT value%s%s",
			 msg ? ": " : "", msg ? msg : "");
		sess_error(s, "42804", text, NULL);
		PQclear(r);
		return -1;
	}
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

/* ---- answers ---- */

static bool send_error(struct sim_session *s, const struct simfeed_error *e)
{
	sess_error(s, e->sqlstate[0] ? e->sqlstate : "XXUUU", e->message,
		   e->hint[0] ? e->hint : NULL);
	return false;
}

/* One row (job_id[, text]) in the client's formats, then the tag. */
static bool send_row(struct sim_session *s, enum job_stmt k, bool extended,
		     const int16_t formats[3], int64_t id, const char *text,
		     const char *tag)
{
	const char *names[2];
	uint32_t oids[2];
	int n = job_columns(k, names, oids);
	struct evbuffer *out = sess_out(s);
	int rc = 0;
	if (!extended)
		rc |= proto_row_description(out, n, names, oids, formats);
	struct pmsg m;
	proto_begin(&m, 'D');
	proto_put_int16(&m, (int16_t)n);
	if (formats[0] == 1) {
		uint64_t u = (uint64_t)id;
		unsigned char be[8];
		for (int i = 0; i < 8; i++)
			be[i] = (unsigned char)(u >> (56 - 8 * i));
		proto_put_int32(&m, 8);
		proto_put_bytes(&m, be, 8);
	} else {
		char num[24];
		int len = snprintf(num, sizeof num, "%" PRId64, id);
		proto_put_int32(&m, len);
		proto_put_bytes(&m, num, (size_t)len);
	}
	if (n == 2) {
		proto_put_int32(&m, (int32_t)strlen(text));
		proto_put_bytes(&m, text, strlen(text));
	}
	rc |= proto_end(&m, out);
	rc |= proto_command_complete(out, tag);
	if (rc)
		sess_fatal(s, "53200", "out of memory");
	return rc == 0;
}

static void free_cmds(struct sim_job_alter_cmd *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(cmds[i].arg);
		free(cmds[i].value);
	}
}

/*
 * The commands after ALTER CHANGEFEED id:
 *   ADD [TABLE] t [WITH initial_scan [= v] | no_initial_scan] [, ...] |
 *   DROP [TABLE] t [, ...] |
 *   SET o [= v] [, o [= v]]... | UNSET o [, o]...
 * p is just past the id. Returns how many, or -1 with *err.
 */
static int parse_alter(const char *p, struct sim_job_alter_cmd *cmds,
		       struct simfeed_error *err)
{
	struct tok t;
	size_t n = 0;
	enum sim_job_alter what = SIM_ALTER_ADD;
	bool have_mode = false;
	p = next_tok(p, &t);
	while (t.n) {
		if (tok_is(&t, "ADD") || tok_is(&t, "DROP") ||
		    tok_is(&t, "SET") || tok_is(&t, "UNSET")) {
			what = tok_is(&t, "ADD") ? SIM_ALTER_ADD :
			       tok_is(&t, "DROP") ? SIM_ALTER_DROP :
			       tok_is(&t, "SET") ? SIM_ALTER_SET : SIM_ALTER_UNSET;
			have_mode = true;
			p = next_tok(p, &t);
		} else if (tok_is(&t, ",") && n > 0) {
			p = next_tok(p, &t);
		}
		if (!have_mode || !t.n || t.string || n >= ALTER_MAX_CMDS ||
		    (t.n == 1 && strchr(",=()", *t.p))) {
			snprintf(err->message, sizeof err->message,
				 "at or near \"%.*s\": syntax error",
				 t.n ? (int)t.n : 3, t.n ? t.p : "EOF");
			snprintf(err->sqlstate, sizeof err->sqlstate, "42601");
			free_cmds(cmds, n);
			return -1;
		}
		if ((what == SIM_ALTER_ADD || what == SIM_ALTER_DROP) &&
		    tok_is(&t, "TABLE"))
			p = next_tok(p, &t);
		struct sim_job_alter_cmd *c = &cmds[n];
		memset(c, 0, sizeof *c);
		c->what = what;
		c->arg = strndup(t.p, t.n);
		if (c->arg && what != SIM_ALTER_ADD && what != SIM_ALTER_DROP)
			for (char *q = c->arg; *q; q++)
				*q = (char)tolower((unsigned char)*q);
		n++;
		p = next_tok(p, &t);
		if (what == SIM_ALTER_ADD && tok_is(&t, "WITH")) {
			/* ADD t WITH initial_scan [= 'yes'|'no'] | no_initial_scan */
			p = next_tok(p, &t);
			bool no = tok_is(&t, "no_initial_scan");
			if (!no && !tok_is(&t, "initial_scan"))
				continue;       /* a syntax error next round */
			p = next_tok(p, &t);
			if (tok_is(&t, "=")) {
				p = next_tok(p, &t);
				char *v = tok_value(&t);
				no = v && !strcasecmp(v, "no");
				free(v);
				p = next_tok(p, &t);
			}
			c->scan = !no;
		}
		if (what == SIM_ALTER_SET && tok_is(&t, "=")) {
			p = next_tok(p, &t);
			c->value = tok_value(&t);
			p = next_tok(p, &t);
		}
		if (!c->arg) {
			free_cmds(cmds, n);
			snprintf(err->sqlstate, sizeof err->sqlstate, "53200");
			snprintf(err->message, sizeof err->message, "out of memory");
			return -1;
		}
	}
	if (n == 0) {
		snprintf(err->sqlstate, sizeof err->sqlstate, "42601");
		snprintf(err->message, sizeof err->message,
			 "at or near \"EOF\": syntax error");
		return -1;
	}
	return (int)n;
}

/* The id's text: up to the first ALTER command word or the end. */
static char *id_text(const char *p, enum job_stmt k, const char **after)
{
	struct tok t;
	const char *start = skip_space(p), *end = start;
	for (const char *q = next_tok(p, &t); t.n; q = next_tok(q, &t)) {
		if (k == JS_ALTER && (tok_is(&t, "ADD") || tok_is(&t, "DROP") ||
				      tok_is(&t, "SET") || tok_is(&t, "UNSET")))
			break;
		end = t.p + t.n;
	}
	*after = end;
	return strndup(start, (size_t)(end - start));
}

bool jobwire_run(struct sim_session *s, const char *sql, char *const *params,
		 int nparams, bool extended, const int16_t formats[3])
{
	struct sim_jobs *jobs = s->srv->jobs;
	struct simfeed_error err;
	const char *idp, *after;
	enum job_stmt k = job_stmt_kind(sql, &idp);
	memset(&err, 0, sizeof err);
	if (k == JS_NONE || !jobs) {
		sess_error(s, "0A000", "crdbsim: changefeed jobs are not available", NULL);
		return false;
	}
	if (k == JS_CREATE && !sim_jobs_licensed(jobs) && s->version < 240300) {
		/* §16.8: INTO needed an enterprise licence before 24.3 */
		sess_error(s, "XXC02", "use of CHANGEFEED requires an enterprise "
			   "license. see https://cockroachlabs.com/pricing?cluster="
			   "00000000-0000-0000-0000-000000000001 for details on how "
			   "to enable enterprise features", NULL);
		return false;
	}
	if (k == JS_CREATE) {
		int64_t id;
		if (sim_jobs_create(jobs, sql, (const char *const *)params,
				    nparams, s->user, &id, &err) < 0)
			return send_error(s, &err);
		/* [INF] CreateChangefeed's tag with a sink, Rows: count added */
		return send_row(s, k, extended, formats, id, NULL,
				"CREATE CHANGEFEED 1");
	}
	char *idtext = id_text(idp, k, &after);
	int64_t id;
	if (!idtext) {
		sess_error(s, "53200", "out of memory", NULL);
		return false;
	}
	if (!*idtext) {
		free(idtext);
		sess_error(s, "42601", "at or near \"EOF\": syntax error", NULL);
		return false;
	}
	int rc = eval_job_id(s, idtext, params, nparams, &id);
	free(idtext);
	if (rc < 0)
		return false;
	if (k == JS_ALTER) {
		struct sim_job_alter_cmd cmds[ALTER_MAX_CMDS];
		int n = parse_alter(after, cmds, &err);
		char *description = NULL;
		if (n < 0)
			return send_error(s, &err);
		rc = sim_jobs_alter(jobs, id, cmds, (size_t)n, &description, &err);
		free_cmds(cmds, (size_t)n);
		if (rc < 0)
			return send_error(s, &err);
		bool ok = send_row(s, k, extended, formats, id, description,
				   "ALTER CHANGEFEED 1");
		free(description);
		return ok;
	}
	enum sim_job_control what = k == JS_PAUSE ? SIM_JOB_PAUSE :
				    k == JS_RESUME ? SIM_JOB_RESUME : SIM_JOB_CANCEL;
	if (sim_jobs_control(jobs, id, what, &err) < 0)
		return send_error(s, &err);
	/* ControlJobs: "%s JOBS", RowsAffected with the count */
	const char *tag = k == JS_PAUSE ? "PAUSE JOBS 1" :
			  k == JS_RESUME ? "RESUME JOBS 1" : "CANCEL JOBS 1";
	if (proto_command_complete(sess_out(s), tag) != 0) {
		sess_fatal(s, "53200", "out of memory");
		return false;
	}
	return true;
}
