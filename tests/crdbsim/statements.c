/*
 * statements.c: client messages of the READY state. A simple Query or an
 * extended-protocol Parse is classified (intercept.c): ordinary SQL goes
 * to PostgreSQL as it came (or rewritten), message by message; what
 * crdbsim answers itself lives here as local prepared statements and
 * portals, answered by answer.c and feedwire.c in protocol order.
 */
#include "config.h"

#include "session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "simstmt.h"

/* ---- forwarding and bookkeeping ---- */

/* Forward n bytes (one whole message) from the client's input. */
static int forward_raw(struct sim_session *s, size_t n)
{
	if (evbuffer_remove_buffer(bufferevent_get_input(s->client),
				   sess_backend_out(s), n) != (int)n) {
		sess_fatal(s, "53200", "out of memory");
		return -1;
	}
	return 0;
}

/* The message answered here is dropped once its handler has returned:
 * until then its name, SQL and parameters are read in place. */
static void drop_input(struct sim_session *s, size_t n)
{
	s->drain_pending = n;
}

static void rewrite_ctx(struct sim_session *s, struct sim_rewrite_ctx *ctx)
{
	ctx->version_string = s->version_string;
	ctx->session_id = s->session_id;
	ctx->version = s->version;
	ctx->rangefeed = simfeed_engine_rangefeed(s->srv->engine);
	ctx->closed_ts_target_ms =
		simfeed_engine_closed_ts_target(s->srv->engine);
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
			sess_free_local(o);
			s->nnamed--;
			return;
		}
	}
}

static void forget_relayed(struct sim_session *s, const char *name)
{
	for (struct relay_stmt **pp = &s->relayed; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			struct relay_stmt *r = *pp;
			*pp = r->next;
			free(r->name);
			free(r->sql);
			free(r);
			s->nnamed--;
			return;
		}
	}
}

static void remember_relayed(struct sim_session *s, const char *name,
			     const char *sql)
{
	forget_relayed(s, name);
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

static int handle_query(struct sim_session *s, const char *payload,
			size_t len, size_t total)
{
	struct preader r;
	preader_init(&r, payload, len);
	const char *sql = preader_cstr(&r);
	if (!preader_done(&r)) {
		sess_fatal(s, "08P01", "invalid Query message");
		return H_GONE;
	}
	if (!sess_settle_backend(s))
		return s->dead ? H_GONE : H_WAIT;
	sess_set_running(s, sql);
	struct sim_rewrite_ctx ctx;
	struct sim_stmt st;
	rewrite_ctx(s, &ctx);
	if (sim_classify(sql, &ctx, &st) != 0) {
		sess_fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	static const int16_t text[3] = {0, 0, 0};
	int rc = H_DONE;
	if (st.kind == SIM_CHANGEFEED && sim_changefeed_has_sink(sql))
		st.kind = SIM_JOB;
	if (st.kind == SIM_JOB) {
		drop_input(s, total);
		if (answer_txn_allows(s, &st))
			jobwire_run(s, sql, NULL, 0, false, text);
		if (!s->dead)
			sess_ready(s);
		sim_stmt_clear(&st);
		return s->dead ? H_GONE : H_DONE;
	}
	if (st.kind == SIM_CHANGEFEED) {
		int fr = feedwire_run(s, sql, NULL, 0, false, text);
		if (fr != 0) {
			drop_input(s, total);
			if (fr < 0 && !s->dead)
				sess_ready(s);
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
			rc = proto_end(&m, sess_backend_out(s)) == 0 ? H_DONE : H_GONE;
			if (rc == H_GONE)
				sess_fatal(s, "53200", "out of memory");
		}
		if (rc == H_DONE)
			s->expected++;
	} else {
		drop_input(s, total);
		answer_run(s, &st, NULL, 0);
		if (!s->dead)
			sess_ready(s);
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
		sess_fatal(s, "08P01", "invalid Parse message");
		return H_GONE;
	}
	struct sim_rewrite_ctx ctx;
	struct sim_stmt st;
	rewrite_ctx(s, &ctx);
	/* Classify before deciding where it goes; SHOW STATEMENTS lists the
	 * statement itself, so it runs from here. */
	sess_set_running(s, sql);
	if (sim_classify(sql, &ctx, &st) != 0) {
		sess_fatal(s, "53200", "out of memory");
		return H_GONE;
	}
	if (st.kind == SIM_CHANGEFEED && sim_changefeed_has_sink(sql))
		st.kind = SIM_JOB;
	if (st.kind != SIM_RELAY) {
		if (!sess_settle_backend(s)) {
			sim_stmt_clear(&st);
			return s->dead ? H_GONE : H_WAIT;
		}
		drop_input(s, total);
		if (st.kind == SIM_ERROR) {
			sess_error(s, st.sqlstate, st.message,
				   st.hint[0] ? st.hint : NULL);
			s->skip_until_sync = true;
			sim_stmt_clear(&st);
			return s->dead ? H_GONE : H_DONE;
		}
		drop_local(s, false, name);
		if (s->nnamed >= SIM_MAX_NAMED) {
			/* Bounded: a client cannot grow crdbsim without end. */
			sess_error(s, "53200", "crdbsim: too many prepared statements and portals", NULL);
			s->skip_until_sync = true;
			sim_stmt_clear(&st);
			return s->dead ? H_GONE : H_DONE;
		}
		struct local_obj *o = calloc(1, sizeof *o);
		if (!o || !(o->name = strdup(name))) {
			free(o);
			sim_stmt_clear(&st);
			sess_fatal(s, "53200", "out of memory");
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
		if (!o->st.sql || proto_simple(sess_out(s), '1') != 0) {
			sess_fatal(s, "53200", "out of memory");
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
		if (proto_end(&m, sess_backend_out(s)) != 0) {
			sess_fatal(s, "53200", "out of memory");
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
			sess_fatal(s, "08P01", "invalid Bind message");
			return H_GONE;
		}
		drop_local(s, true, portal);
		if (!s->running)
			sess_set_running(s, relayed_sql(s, stmt));
		s->batch_forwarded = true;
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	}
	if (!sess_settle_backend(s))
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
		sess_fatal(s, "53200", "out of memory");
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
		sess_free_local(o);
		sess_fatal(s, "08P01", "invalid Bind message");
		return H_GONE;
	}
	if (oom) {
		sess_free_local(o);
		sess_fatal(s, "53200", "out of memory");
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
	if (s->nnamed >= SIM_MAX_NAMED) {
		sess_free_local(o);
		sess_error(s, "53200", "crdbsim: too many prepared statements and portals", NULL);
		s->skip_until_sync = true;
		return s->dead ? H_GONE : H_DONE;
	}
	o->next = s->locals;
	s->locals = o;
	s->nnamed++;
	s->batch_local = true;
	if (!s->running)
		sess_set_running(s, lo->st.sql);
	if (!o->st.sql || proto_simple(sess_out(s), '2') != 0) {
		sess_fatal(s, "53200", "out of memory");
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
		sess_fatal(s, "08P01", "invalid Describe message");
		return H_GONE;
	}
	struct local_obj *o = find_local(s, what == 'P', name);
	if (!o) {
		s->batch_forwarded = true;
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	}
	if (!sess_settle_backend(s))
		return s->dead ? H_GONE : H_WAIT;
	drop_input(s, total);
	int rc = 0;
	if (what == 'S') {
		struct pmsg m;
		proto_begin(&m, 't');
		proto_put_int16(&m, (int16_t)o->st.nparams);
		for (int i = 0; i < o->st.nparams; i++)
			proto_put_int32(&m, 25);        /* text [INF] */
		rc = proto_end(&m, sess_out(s));
	}
	if (o->st.kind == SIM_JOB) {
		static const int16_t text[3] = {0, 0, 0};
		if (!jobwire_describe(s, o->st.sql,
				      what == 'P' ? o->formats : text))
			rc = -1;
	} else if (o->st.kind == SIM_CHANGEFEED) {
		/* §2.1: the three columns are known before execution. */
		static const char *const names[3] = {"table", "key", "value"};
		static const uint32_t oids[3] = {25, 17, 17};
		static const int16_t text[3] = {0, 0, 0};
		rc |= proto_row_description(sess_out(s), 3, names, oids,
					    what == 'P' ? o->formats : text);
	} else {
		rc |= proto_simple(sess_out(s), 'n');
	}
	if (rc != 0) {
		sess_fatal(s, "53200", "out of memory");
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
		sess_fatal(s, "08P01", "invalid Execute message");
		return H_GONE;
	}
	struct local_obj *o = find_local(s, true, name);
	if (!o) {
		s->batch_forwarded = true;
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	}
	if (!sess_settle_backend(s))
		return s->dead ? H_GONE : H_WAIT;
	drop_input(s, total);
	if (o->st.kind == SIM_CHANGEFEED) {
		int fr = feedwire_run(s, o->st.sql, o->params, o->nparams,
					true, o->formats);
		if (fr == 0) {
			sess_error(s, "0A000", "crdbsim: only sinkless changefeeds (without INTO) are supported", NULL);
			fr = -1;
		}
		if (fr < 0 && !s->dead)
			s->skip_until_sync = true;
		return s->dead ? H_GONE : H_DONE;
	}
	if (o->st.kind == SIM_JOB) {
		if ((!answer_txn_allows(s, &o->st) ||
		     !jobwire_run(s, o->st.sql, o->params, o->nparams, true,
				  o->formats)) && !s->dead)
			s->skip_until_sync = true;
		return s->dead ? H_GONE : H_DONE;
	}
	if (!answer_run(s, &o->st, o->params, o->nparams) && !s->dead)
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
		sess_fatal(s, "08P01", "invalid Close message");
		return H_GONE;
	}
	if (!find_local(s, what == 'P', name)) {
		if (what == 'S')
			forget_relayed(s, name);
		s->batch_forwarded = true;
		return forward_raw(s, total) == 0 ? H_DONE : H_GONE;
	}
	if (!sess_settle_backend(s))
		return s->dead ? H_GONE : H_WAIT;
	drop_input(s, total);
	drop_local(s, what == 'P', name);
	if (proto_simple(sess_out(s), '3') != 0) {
		sess_fatal(s, "53200", "out of memory");
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
	sess_ready(s);
	return s->dead ? H_GONE : H_DONE;
}

static int handle_message(struct sim_session *s, char type, size_t total);

/* One complete client message of the READY state. */
int stmt_handle_message(struct sim_session *s, char type, size_t total)
{
	s->drain_pending = 0;
	int rc = handle_message(s, type, total);
	if (!s->dead && s->drain_pending)
		evbuffer_drain(bufferevent_get_input(s->client), s->drain_pending);
	s->drain_pending = 0;
	return rc;
}

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
		sess_close(s);
		return H_GONE;
	default:
		break;
	}
	const char *msg = (const char *)evbuffer_pullup(in, (ssize_t)total);
	if (!msg) {
		sess_fatal(s, "53200", "out of memory");
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
		sess_fatal(s, "08P01", "invalid frontend message type %d",
			   (unsigned char)type);
		return H_GONE;
	}
}

