/*
 * check_sim_feed_wire.c: check_sim_feed's "wire" cases: the engine through
 * crdbsim itself (CRDB_DSN, CRDBSIM_CONTROL, crdbsim-restart) with libpq
 * in single-row mode, text and binary result formats, and libcrdb's
 * crdb_event_decode; envelope cases are data in
 * cases/sim_feed_envelopes.txt.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "crdb.h"
#include "feedint.h"
#include "check_sim_feed.h"

/* ================================================================== */
/* Through crdbsim's wire: libpq + libcrdb against CRDB_DSN            */
/* ================================================================== */

static const char *env_or_fail(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v && *v, "%s is not set (run under crdbsim-env with "
		      "crdbsim)", name);
	return v;
}

static PGconn *crdb(void)
{
	PGconn *c = PQconnectdb(env_or_fail("CRDB_DSN"));

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	return c;
}

static void crdb_sql(PGconn *c, const char *q)
{
	PGresult *res = PQexec(c, q);
	ExecStatusType st = PQresultStatus(res);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK,
		      "%s: %s", q, PQresultErrorMessage(res));
	PQclear(res);
}

/* One command on crdbsim's control socket; its reply line. */
void control(const char *cmd, char *reply, size_t len)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s",
		 env_or_fail("CRDBSIM_CONTROL"));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	char line[256];
	snprintf(line, sizeof line, "%s\n", cmd);
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	size_t n = 0;
	while (n + 1 < len && read(fd, reply + n, 1) == 1 && reply[n] != '\n')
		n++;
	reply[n] = '\0';
	close(fd);
}

struct wev {
	enum { WEV_ROW, WEV_ERROR, WEV_DONE, WEV_TIMEOUT } kind;
	bool null_table, null_key;
	char table[256];
	char *key, *value;         /* raw bytes (text format decoded) */
	size_t key_len, value_len;
	char text_value[4096];     /* the value column as sent (text fmt) */
	char sqlstate[6], message[512];
	crdb_event ev;
	int64_t at_ns;
};

static void wev_clear(struct wev *w)
{
	free(w->key);
	free(w->value);
	crdb_event_clear(&w->ev);
	memset(w, 0, sizeof *w);
}

static void feed_send(PGconn *c, const char *q, int format)
{
	ck_assert_msg(PQsendQueryParams(c, q, 0, NULL, NULL, NULL, NULL,
					format), "%s", PQerrorMessage(c));
	ck_assert(PQsetSingleRowMode(c));
}

static char *col_bytes(PGresult *res, int col, int format, size_t *len)
{
	if (PQgetisnull(res, 0, col)) {
		*len = 0;
		return NULL;
	}
	const char *v = PQgetvalue(res, 0, col);
	if (format == 1) {
		*len = (size_t)PQgetlength(res, 0, col);
		char *p = malloc(*len + 1);
		memcpy(p, v, *len);
		p[*len] = '\0';
		return p;
	}
	ck_assert_msg(v[0] == '\\' && v[1] == 'x', "text bytea: %s", v);
	size_t n = strlen(v + 2) / 2;
	char *p = malloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		ck_assert(sscanf(v + 2 + 2 * i, "%2x", &b) == 1);
		ck_assert_msg(!isupper((unsigned char)v[2 + 2 * i]) &&
			      !isupper((unsigned char)v[3 + 2 * i]),
			      "hex must be lower case: %s", v);
		p[i] = (char)b;
	}
	p[n] = '\0';
	*len = n;
	return p;
}

/* The next thing the feed connection delivers, within timeout_ms. */
static void feed_next(PGconn *c, int format, int timeout_ms,
		      const crdb_decode_opts *opts, struct wev *w)
{
	int64_t end = sim_now_ns() + (int64_t)timeout_ms * 1000000;

	wev_clear(w);
	while (PQisBusy(c)) {
		int64_t left = end - sim_now_ns();
		if (left <= 0) {
			w->kind = WEV_TIMEOUT;
			return;
		}
		struct pollfd pfd = { PQsocket(c), POLLIN, 0 };
		poll(&pfd, 1, (int)(left / 1000000) + 1);
		ck_assert(PQconsumeInput(c));
	}
	w->at_ns = sim_now_ns();
	PGresult *res = PQgetResult(c);
	if (!res) {
		w->kind = WEV_DONE;
		return;
	}
	switch (PQresultStatus(res)) {
	case PGRES_SINGLE_TUPLE: {
		w->kind = WEV_ROW;
		ck_assert_int_eq(PQnfields(res), 3);
		w->null_table = PQgetisnull(res, 0, 0);
		w->null_key = PQgetisnull(res, 0, 1);
		snprintf(w->table, sizeof w->table, "%s",
			 PQgetvalue(res, 0, 0));
		w->key = col_bytes(res, 1, format, &w->key_len);
		w->value = col_bytes(res, 2, format, &w->value_len);
		snprintf(w->text_value, sizeof w->text_value, "%s",
			 PQgetvalue(res, 0, 2));
		crdb_error err;
		crdb_decode_opts o = { CRDB_ENVELOPE_WRAPPED, false };
		ck_assert_msg(crdb_event_decode(res, opts ? opts : &o, &w->ev,
						&err) == 0,
			      "crdb_event_decode: %s", err.message);
		break;
	}
	case PGRES_TUPLES_OK:
		w->kind = WEV_DONE;
		snprintf(w->message, sizeof w->message, "%s",
			 PQcmdStatus(res));
		break;
	default:
		w->kind = WEV_ERROR;
		snprintf(w->sqlstate, sizeof w->sqlstate, "%s",
			 PQresultErrorField(res, PG_DIAG_SQLSTATE) ?
			 PQresultErrorField(res, PG_DIAG_SQLSTATE) : "");
		snprintf(w->message, sizeof w->message, "%s",
			 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
			 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "");
		break;
	}
	PQclear(res);
}

/* The next data row, skipping resolved rows. */
static void feed_next_data(PGconn *c, int format, int timeout_ms,
			   struct wev *w)
{
	do
		feed_next(c, format, timeout_ms, NULL, w);
	while (w->kind == WEV_ROW && w->null_table);
}

/* Wait for a feed's first resolved row: it is live from then on. */
static void feed_wait_live(PGconn *c, int format)
{
	struct wev w;

	memset(&w, 0, sizeof w);
	feed_next(c, format, 5000, NULL, &w);
	ck_assert_msg(w.kind == WEV_ROW && w.null_table,
		      "want a resolved row first: %d %s", w.kind, w.message);
	wev_clear(&w);
}

static void feed_close(PGconn *c)
{
	PGcancel *k = PQgetCancel(c);
	char errbuf[128];

	if (k) {
		PQcancel(k, errbuf, sizeof errbuf);
		PQfreeCancel(k);
	}
	PQfinish(c);
}

static void wire_setup(void)
{
	PGconn *c = crdb();

	crdb_sql(c, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	PQfinish(c);
}

/* Replace {t} and {ts} in a case string. */
static void expand(const char *in, const char *t, const char *ts, char *out,
		   size_t len)
{
	size_t o = 0;

	while (*in && o + 1 < len) {
		if (!strncmp(in, "{ts}", 4)) {
			o += (size_t)snprintf(out + o, len - o, "%s", ts);
			in += 4;
		} else if (!strncmp(in, "{t}", 3)) {
			o += (size_t)snprintf(out + o, len - o, "%s", t);
			in += 3;
		} else {
			out[o++] = *in++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

static void event_ts(const struct wev *w, char *buf, size_t len)
{
	crdb_hlc h = w->ev.has_updated ? w->ev.updated : w->ev.mvcc_timestamp;
	struct sim_hlc s = { h.wall, h.logical };

	sim_hlc_format(s, buf, len);
}

static void check_value(const struct wev *w, const char *want_case,
			const char *t, int format)
{
	char ts[48], want[2048];

	ck_assert_int_eq(w->kind, WEV_ROW);
	event_ts(w, ts, sizeof ts);
	if (!strcmp(want_case, "(empty)"))
		want[0] = '\0';
	else
		expand(want_case, t, ts, want, sizeof want);
	ck_assert_msg(w->value_len == strlen(want) &&
		      !memcmp(w->value, want, w->value_len),
		      "format %d: got '%s', want '%s'", format, w->value, want);
	if (format == 0) {
		/* §2.3: text bytea is \x and lower-case hex. */
		char hex[4200];
		size_t o = 0;
		o += (size_t)snprintf(hex, sizeof hex, "\\x");
		for (size_t i = 0; want[i] && o + 3 < sizeof hex; i++)
			o += (size_t)snprintf(hex + o, sizeof hex - o, "%02x",
					      (unsigned char)want[i]);
		ck_assert_str_eq(w->text_value, hex);
	}
}

static int envelope_case;

static void run_envelope_case(char **f, int lineno)
{
	for (int format = 0; format <= 1; format++) {
		char t[64], q[1024];
		PGconn *w = crdb();
		snprintf(t, sizeof t, "env_%d_%d", lineno, format);
		snprintf(q, sizeof q, "CREATE TABLE %s (a integer PRIMARY KEY,"
			 " b text)", t);
		crdb_sql(w, q);
		snprintf(q, sizeof q, "INSERT INTO %s VALUES (1, 'bar')", t);
		crdb_sql(w, q);
		if (!strcmp(f[0], "-"))
			snprintf(q, sizeof q, "CREATE CHANGEFEED FOR TABLE %s", t);
		else
			snprintf(q, sizeof q, "CREATE CHANGEFEED FOR TABLE %s "
				 "WITH %s", t, f[0]);
		PGconn *c = crdb();
		feed_send(c, q, format);
		struct wev ev;
		memset(&ev, 0, sizeof ev);
		crdb_decode_opts o = { CRDB_ENVELOPE_WRAPPED, false };
		if (strstr(f[0], "'row'"))
			o.envelope = CRDB_ENVELOPE_ROW;
		if (strstr(f[0], "key_only"))
			o.envelope = CRDB_ENVELOPE_KEY_ONLY;
		if (strstr(f[0], "'bare'"))
			o.envelope = CRDB_ENVELOPE_BARE;
		o.diff = strstr(f[0], "diff") != NULL;
		feed_next(c, format, 5000, &o, &ev);
		ck_assert_msg(ev.kind == WEV_ROW, "case %d: %d %s", lineno,
			      ev.kind, ev.message);
		char table[256];
		expand(f[1], t, "", table, sizeof table);
		ck_assert_str_eq(ev.table, table);
		ck_assert_uint_eq(ev.key_len, 3);
		ck_assert(!memcmp(ev.key, "[1]", 3));
		check_value(&ev, f[2], t, format);

		snprintf(q, sizeof q, "DELETE FROM %s WHERE a = 1", t);
		crdb_sql(w, q);
		feed_next(c, format, 5000, &o, &ev);
		ck_assert_msg(ev.kind == WEV_ROW, "case %d delete: %d %s",
			      lineno, ev.kind, ev.message);
		ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[1]", 3));
		check_value(&ev, f[3], t, format);
		wev_clear(&ev);
		feed_close(c);
		PQfinish(w);
		envelope_case++;
	}
}

START_TEST(wire_envelopes)
{
	char path[4096], line[4096];
	const char *top = getenv("top_srcdir");

	wire_setup();
	snprintf(path, sizeof path, "%s/tests/crdbsim/cases/"
		 "sim_feed_envelopes.txt", top ? top : ".");
	FILE *fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s", path);
	int lineno = 0;
	while (fgets(line, sizeof line, fp)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		char *f[4];
		int n = 0;
		for (char *p = line; n < 4; n++) {
			f[n] = p;
			p = strchr(p, '\t');
			if (!p)
				break;
			*p++ = '\0';
		}
		ck_assert_msg(n == 3, "line %d: want 4 fields", lineno);
		run_envelope_case(f, lineno);
	}
	fclose(fp);
	ck_assert_int_ge(envelope_case, 2 * 14);
}
END_TEST

/* Resolved rows on the wire: NULL table and key, §3 payloads. */
START_TEST(wire_resolved)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE res (a integer PRIMARY KEY)");
	const char *cases[2][3] = {
		{ "", "{\"resolved\":\"", "\"}" },
		{ ", envelope='row'", "{\"__crdb__\":{\"resolved\":\"", "\"}}" },
	};
	for (int i = 0; i < 2; i++) {
		for (int format = 0; format <= 1; format++) {
			char q[256];
			snprintf(q, sizeof q, "CREATE CHANGEFEED FOR TABLE res "
				 "WITH resolved='100ms', "
				 "min_checkpoint_frequency='100ms'%s",
				 cases[i][0]);
			PGconn *c = crdb();
			feed_send(c, q, format);
			crdb_decode_opts o = { i ? CRDB_ENVELOPE_ROW :
					       CRDB_ENVELOPE_WRAPPED, false };
			struct wev ev;
			memset(&ev, 0, sizeof ev);
			crdb_hlc last = { 0, 0 };
			for (int k = 0; k < 3; k++) {
				feed_next(c, format, 3000, &o, &ev);
				ck_assert_int_eq(ev.kind, WEV_ROW);
				ck_assert(ev.null_table && ev.null_key);
				ck_assert_int_eq(ev.ev.kind,
						 CRDB_EVENT_RESOLVED);
				struct sim_hlc h = { ev.ev.resolved.wall,
						     ev.ev.resolved.logical };
				char hs[48], want[128];
				sim_hlc_format(h, hs, sizeof hs);
				snprintf(want, sizeof want, "%s%s%s",
					 cases[i][1], hs, cases[i][2]);
				ck_assert_str_eq(ev.value, want);
				struct sim_hlc l = { last.wall, last.logical };
				ck_assert(sim_hlc_cmp(h, l) > 0);
				last = ev.ev.resolved;
			}
			wev_clear(&ev);
			feed_close(c);
		}
	}
	PQfinish(w);
}
END_TEST

/* Missing table (42P01) and rangefeeds off (§7). */
START_TEST(wire_errors)
{
	wire_setup();
	PGconn *c = crdb();
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	feed_send(c, "CREATE CHANGEFEED FOR TABLE no_such_table", 1);
	feed_next(c, 1, 3000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ERROR);
	ck_assert_str_eq(ev.sqlstate, "42P01");
	ck_assert_str_eq(ev.message, "failed to resolve targets in the "
			 "CHANGEFEED stmt: table \"no_such_table\" does not "
			 "exist");
	while (PQgetResult(c))
		;
	crdb_sql(c, "CREATE TABLE rf (a integer PRIMARY KEY)");
	crdb_sql(c, "SET CLUSTER SETTING kv.rangefeed.enabled = false");
	feed_send(c, "CREATE CHANGEFEED FOR TABLE rf", 0);
	feed_next(c, 0, 3000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ERROR);
	ck_assert_str_eq(ev.sqlstate, "XXUUU");
	ck_assert_str_eq(ev.message, "rangefeeds require the "
			 "kv.rangefeed.enabled setting. See https://www."
			 "cockroachlabs.com/docs/v23.1/create-and-configure-"
			 "changefeeds.html#enable-rangefeeds");
	while (PQgetResult(c))
		;
	crdb_sql(c, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	wev_clear(&ev);
	PQfinish(c);
}
END_TEST

/* cursor= resumes exactly after a change, also across a crdbsim restart;
 * a cursor below the GC threshold fails with §7's text. */
START_TEST(wire_cursor_restart_gc)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE cur (a integer PRIMARY KEY)");
	PGconn *c = crdb();
	/* Live writes (no scan), so each has its own commit HLC. */
	feed_send(c, "CREATE CHANGEFEED FOR TABLE cur WITH updated, "
		  "initial_scan='no', resolved='10ms', "
		  "min_checkpoint_frequency='10ms'", 1);
	feed_wait_live(c, 1);
	crdb_sql(w, "INSERT INTO cur VALUES (1)");
	crdb_sql(w, "INSERT INTO cur VALUES (2)");
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	feed_next_data(c, 1, 5000, &ev);
	ck_assert_int_eq(ev.kind, WEV_ROW);
	ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[1]", 3));
	char cursor[48];
	struct sim_hlc h1 = { ev.ev.updated.wall, ev.ev.updated.logical };
	sim_hlc_format(h1, cursor, sizeof cursor);
	feed_close(c);
	PQfinish(w);

	char cmd[4200];
	const char *top = getenv("top_srcdir");
	snprintf(cmd, sizeof cmd, "%s/tests/crdbsim/crdbsim-restart",
		 top ? top : ".");
	ck_assert_int_eq(system(cmd), 0);
	wire_setup();
	w = crdb();
	crdb_sql(w, "INSERT INTO cur VALUES (3)");
	c = crdb();
	const char *params[1] = { cursor };
	ck_assert(PQsendQueryParams(c, "CREATE CHANGEFEED FOR TABLE cur WITH "
				    "updated, cursor=$1", 1, NULL, params,
				    NULL, NULL, 1));
	ck_assert(PQsetSingleRowMode(c));
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert_msg(ev.kind == WEV_ROW, "%d %s", ev.kind, ev.message);
	ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[2]", 3));
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ROW);
	ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[3]", 3));
	feed_next(c, 1, 300, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_TIMEOUT);
	feed_close(c);

	char reply[128];
	control("gc 0", reply, sizeof reply);
	ck_assert_str_eq(reply, "ok 0");
	c = crdb();
	ck_assert(PQsendQueryParams(c, "CREATE CHANGEFEED FOR TABLE cur WITH "
				    "cursor=$1", 1, NULL, params, NULL, NULL,
				    1));
	ck_assert(PQsetSingleRowMode(c));
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ERROR);
	ck_assert_str_eq(ev.sqlstate, "XXUUU");
	char want[128];
	snprintf(want, sizeof want, "could not create changefeed: cursor %s "
		 "is older than the GC threshold ", cursor);
	ck_assert_msg(!strncmp(ev.message, want, strlen(want)), "%s",
		      ev.message);
	ck_assert_ptr_nonnull(strstr(ev.message, ": batch timestamp "));
	ck_assert_ptr_nonnull(strstr(ev.message,
				     " must be after replica GC threshold "));
	wev_clear(&ev);
	PQfinish(c);
	PQfinish(w);
}
END_TEST

/* Feed faults from the control socket: dup, stall, fail. */
START_TEST(wire_faults)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE flt (a integer PRIMARY KEY)");
	PGconn *c = crdb();
	feed_send(c, "CREATE CHANGEFEED FOR TABLE flt", 1);
	crdb_sql(w, "INSERT INTO flt VALUES (1), (2)");
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	feed_next(c, 1, 5000, NULL, &ev);
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert(ev.kind == WEV_ROW && !memcmp(ev.key, "[2]", 3));
	char reply[128];
	control("dup 2", reply, sizeof reply);
	ck_assert_str_eq(reply, "ok 1");
	feed_next(c, 1, 2000, NULL, &ev);
	ck_assert(ev.kind == WEV_ROW && !memcmp(ev.key, "[1]", 3));
	feed_next(c, 1, 2000, NULL, &ev);
	ck_assert(ev.kind == WEV_ROW && !memcmp(ev.key, "[2]", 3));

	control("stall 500", reply, sizeof reply);
	ck_assert_str_eq(reply, "ok 1");
	int64_t t0 = sim_now_ns();
	crdb_sql(w, "INSERT INTO flt VALUES (3)");
	feed_next(c, 1, 3000, NULL, &ev);
	ck_assert(ev.kind == WEV_ROW && !memcmp(ev.key, "[3]", 3));
	ck_assert_int_ge(ev.at_ns - t0, 400000000);

	control("fail XXUUU boom: the node went away", reply, sizeof reply);
	ck_assert_str_eq(reply, "ok 1");
	feed_next(c, 1, 2000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ERROR);
	ck_assert_str_eq(ev.sqlstate, "XXUUU");
	ck_assert_str_eq(ev.message, "boom: the node went away");
	wev_clear(&ev);
	PQfinish(c);
	PQfinish(w);
}
END_TEST

static void *wire_writer(void *arg)
{
	PGconn *c = PQconnectdb(getenv("CRDB_DSN"));
	int n = *(int *)arg;

	for (int i = 0; i < n && PQstatus(c) == CONNECTION_OK; i++) {
		char q[96];
		snprintf(q, sizeof q, "INSERT INTO bnd VALUES (%d)",
			 100000 + i);
		PQclear(PQexec(c, q));
	}
	PQfinish(c);
	return NULL;
}

/* Scan/live boundary under concurrent writes, through the wire; and
 * changes reaching the client within 50 ms of commit. */
START_TEST(wire_boundary_and_latency)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE bnd (a integer PRIMARY KEY)");
	crdb_sql(w, "INSERT INTO bnd SELECT generate_series(1, 3000)");
	int nwrites = 200;
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, wire_writer, &nwrites), 0);
	usleep(10000);
	PGconn *c = crdb();
	feed_send(c, "CREATE CHANGEFEED FOR TABLE bnd", 1);
	static unsigned char seen[200000];
	memset(seen, 0, sizeof seen);
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	for (int i = 0; i < 3000 + nwrites; i++) {
		feed_next(c, 1, 10000, NULL, &ev);
		ck_assert_msg(ev.kind == WEV_ROW, "row %d: %d", i, ev.kind);
		int id = atoi(ev.key + 1);
		ck_assert(id > 0 && id < 200000);
		ck_assert_msg(!seen[id], "row %d twice", id);
		seen[id] = 1;
	}
	pthread_join(th, NULL);
	feed_next(c, 1, 300, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_TIMEOUT);

	int64_t worst = 0;
	for (int i = 0; i < 10; i++) {
		char q[64];
		snprintf(q, sizeof q, "INSERT INTO bnd VALUES (%d)", 150000 + i);
		crdb_sql(w, q);
		int64_t committed = sim_now_ns();
		feed_next(c, 1, 2000, NULL, &ev);
		ck_assert_int_eq(ev.kind, WEV_ROW);
		if (ev.at_ns - committed > worst)
			worst = ev.at_ns - committed;
	}
	printf("%s: worst commit-to-row latency %.1f ms\n", __func__,
	       worst / 1e6);
	ck_assert_msg(worst < 50000000, "worst latency %" PRId64 " ns", worst);
	wev_clear(&ev);
	feed_close(c);
	PQfinish(w);
}
END_TEST


/* CDC query (projection, WHERE, bare envelope), initial_scan='only' with
 * its CommandComplete tag, TRUNCATE, DROP and schema_change_policy='stop'
 * endings (§1.3, §2.4, §7). */
START_TEST(wire_cdc_and_endings)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE cdc (a integer PRIMARY KEY, b text)");
	crdb_sql(w, "INSERT INTO cdc VALUES (1, 'x'), (2, 'y')");
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	char want[256], ts[48];

	PGconn *c = crdb();
	feed_send(c, "CREATE CHANGEFEED WITH updated AS SELECT b, a + 1 AS c"
		  " FROM cdc WHERE a > 1", 0);
	crdb_decode_opts bare = { CRDB_ENVELOPE_BARE, false };
	feed_next(c, 0, 5000, &bare, &ev);
	ck_assert_msg(ev.kind == WEV_ROW, "%d %s", ev.kind, ev.message);
	ck_assert_str_eq(ev.table, "cdc");
	ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[2]", 3));
	event_ts(&ev, ts, sizeof ts);
	snprintf(want, sizeof want, "{\"__crdb__\": {\"updated\": \"%s\"}, "
		 "\"b\": \"y\", \"c\": 3}", ts);
	ck_assert_str_eq(ev.value, want);
	crdb_sql(w, "INSERT INTO cdc VALUES (0, 'no'), (5, 'z')");
	feed_next(c, 0, 5000, &bare, &ev);
	ck_assert(ev.kind == WEV_ROW && ev.key_len == 3 &&
		  !memcmp(ev.key, "[5]", 3));
	event_ts(&ev, ts, sizeof ts);
	snprintf(want, sizeof want, "{\"__crdb__\": {\"updated\": \"%s\"}, "
		 "\"b\": \"z\", \"c\": 6}", ts);
	ck_assert_str_eq(ev.value, want);
	feed_close(c);

	c = crdb();
	feed_send(c, "CREATE CHANGEFEED FOR TABLE cdc WITH initial_scan='only'",
		  1);
	for (int i = 0; i < 4; i++) {
		feed_next(c, 1, 5000, NULL, &ev);
		ck_assert_int_eq(ev.kind, WEV_ROW);
	}
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_DONE);
	ck_assert_str_eq(ev.message, "EXPERIMENTAL CHANGEFEED 4");
	PQfinish(c);

	const char *endings[3][3] = {
		{ "", "TRUNCATE cdc", "\"cdc\" was truncated" },
		{ ", schema_change_policy='stop'",
		  "ALTER TABLE cdc ADD COLUMN d integer", NULL },
		{ "", "DROP TABLE cdc", "\"defaultdb.public.cdc\" was dropped" },
	};
	for (int i = 0; i < 3; i++) {
		char q[256];
		c = crdb();
		snprintf(q, sizeof q, "CREATE CHANGEFEED FOR TABLE cdc WITH "
			 "initial_scan='no', resolved='10ms', "
			 "min_checkpoint_frequency='10ms'%s", endings[i][0]);
		feed_send(c, q, 1);
		feed_wait_live(c, 1);
		crdb_sql(w, endings[i][1]);
		feed_next_data(c, 1, 5000, &ev);
		ck_assert_msg(ev.kind == WEV_ERROR, "%s: %d", endings[i][1],
			      ev.kind);
		if (endings[i][2]) {
			ck_assert_str_eq(ev.sqlstate, "XXUUU");
			ck_assert_str_eq(ev.message, endings[i][2]);
		} else {
			ck_assert_str_eq(ev.sqlstate, "55C01");
			ck_assert_msg(strstr(ev.message, "schema change occurred "
					     "at ") != NULL, "%s", ev.message);
		}
		PQfinish(c);
	}
	wev_clear(&ev);
	PQfinish(w);
}
END_TEST


void sim_feed_add_wire_tests(Suite *s)
{
	TCase *tc = tcase_create("wire");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, wire_envelopes);
	tcase_add_test(tc, wire_resolved);
	tcase_add_test(tc, wire_errors);
	tcase_add_test(tc, wire_cursor_restart_gc);
	tcase_add_test(tc, wire_faults);
	tcase_add_test(tc, wire_boundary_and_latency);
	tcase_add_test(tc, wire_cdc_and_endings);
	suite_add_tcase(s, tc);
}
