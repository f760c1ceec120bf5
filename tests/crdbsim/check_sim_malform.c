/*
 * check_sim_malform.c: crdbsim's malformed changefeed rows (control
 * command `malform`) as they arrive on the wire. A raw PostgreSQL v3
 * client (no libpq: libpq hides a DataRow that does not fit its
 * description) runs a feed in text or binary format, arms one kind,
 * inserts a row and reads the spoiled DataRow byte by byte; the row after
 * it must be well formed again; armed for one feed (by query id), only
 * that feed's row is spoiled. Cases: cases/malform.cases. Runs under
 * crdbsim-env (CRDB_DSN, CRDBSIM_PORT, CRDBSIM_CONTROL); the libpq and
 * control-socket helpers are the wire tests' (wire_helpers.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "malform.h"
#include "pgwire.h"
#include "wire_helpers.h"

#define MAX_CASES 64

struct mcase {
	char kind[32];
	char format[16];
	char expect[32];
};

static struct mcase cases[MAX_CASES];
static int ncases;

static void load_cases(void)
{
	struct case_file cf;

	cases_load_file("tests/crdbsim/cases/malform.cases", CASES_WORDS, &cf);
	for (size_t i = 0; i < cf.count; i++) {
		const struct case_line *l = &cf.lines[i];
		struct mcase *c = &cases[ncases];

		if (ncases == MAX_CASES || l->nfields != 3 ||
		    strlen(l->field[0]) >= sizeof c->kind ||
		    strlen(l->field[1]) >= sizeof c->format ||
		    strlen(l->field[2]) >= sizeof c->expect) {
			fprintf(stderr, "malform.cases:%d: want KIND FORMAT EXPECT\n",
				l->lineno);
			exit(1);
		}
		strcpy(c->kind, l->field[0]);
		strcpy(c->format, l->field[1]);
		strcpy(c->expect, l->field[2]);
		ncases++;
	}
	cases_free(&cf);
}

/* ---- the control socket (wire_helpers.h has the rest) ---- */

static void control_ok(const char *cmd)
{
	char *reply = control(cmd);

	ck_assert_msg(!strncmp(reply, "ok", 2), "control '%s': %s", cmd, reply);
	free(reply);
}

/* ---- through tests/lib's raw v3 client ---- */

/* The biggest message a feed sends: the oversized row, with room for its
 * columns' lengths and the other columns. */
#define MAX_MSG (SIM_MALFORM_OVERSIZE + 4096)

/* A message from a feed, which must not be an error. */
static void read_msg(int fd, struct pgw_msg *m)
{
	pgw_read_msg(fd, m, MAX_MSG);
	ck_assert_msg(m->type != 'E', "crdbsim sent an error: %s",
		      m->body + 1);
}

static int connect_raw(void)
{
	int fd = pgw_connect(atoi(env("CRDBSIM_PORT")));
	struct pgw_msg m;

	pgw_send_startup(fd, "root", "defaultdb");
	do {
		read_msg(fd, &m);
		pgw_msg_free(&m);
	} while (m.type != 'Z');
	return fd;
}

/* Start the feed: simple Query (text), or Parse/Bind(result format 1)/
 * Describe/Execute/Sync (binary). Returns once the RowDescription came. */
static void start_feed(int fd, const char *sql, bool binary)
{
	struct pgw_msg m;

	if (!binary) {
		pgw_send_msg(fd, 'Q', sql, strlen(sql) + 1);
	} else {
		size_t n = strlen(sql);
		unsigned char *p = calloc(1, n + 16);
		ck_assert_ptr_nonnull(p);
		/* Parse: "" name, sql, no parameter types. */
		memcpy(p + 1, sql, n + 1);
		pgw_send_msg(fd, 'P', p, 1 + n + 1 + 2);
		/* Bind: "" portal, "" statement, 0 formats, 0 params, one
		 * result format code for all columns: binary. */
		static const unsigned char bind[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 };
		pgw_send_msg(fd, 'B', bind, sizeof bind);
		static const unsigned char desc[] = { 'P', 0 };
		pgw_send_msg(fd, 'D', desc, sizeof desc);
		static const unsigned char exec[] = { 0, 0, 0, 0, 0 };
		pgw_send_msg(fd, 'E', exec, sizeof exec);
		pgw_send_msg(fd, 'S', NULL, 0);
		free(p);
	}
	do {
		read_msg(fd, &m);
		free(m.body);
	} while (m.type != 'T');
}

/* A DataRow's columns: pointers into the body, -1 lengths for NULL. */
struct row {
	int ncols;
	const unsigned char *col[8];
	int32_t len[8];
	size_t room[8];        /* bytes left in the message at the column */
};

static void parse_row(const struct pgw_msg *m, struct row *r)
{
	size_t pos = 2;

	ck_assert_int_eq(m->type, 'D');
	ck_assert_uint_ge(m->len, 2);
	r->ncols = (m->body[0] << 8) | m->body[1];
	ck_assert_int_le(r->ncols, 8);
	for (int i = 0; i < r->ncols; i++) {
		ck_assert_uint_le(pos + 4, m->len);
		r->len[i] = (int32_t)pgw_get32(m->body + pos);
		pos += 4;
		r->col[i] = m->body + pos;
		r->room[i] = m->len - pos;
		if (r->len[i] > 0)
			pos += (size_t)r->len[i] > r->room[i] ? r->room[i]
							       : (size_t)r->len[i];
	}
}

/* The next DataRow that is a data row (want_resolved: a resolved one). */
static void next_row(int fd, bool want_resolved, struct pgw_msg *m, struct row *r)
{
	for (;;) {
		read_msg(fd, m);
		if (m->type == 'D') {
			parse_row(m, r);
			if ((r->len[0] < 0) == want_resolved)
				return;
		}
		free(m->body);
	}
}

/* A bytea column's bytes as raw JSON: hex-decoded under text format. */
static char *bytea_text(const struct row *r, int i, bool binary, size_t *n)
{
	char *out;

	ck_assert_int_ge(r->len[i], 0);
	if (binary) {
		out = malloc((size_t)r->len[i] + 1);
		ck_assert_ptr_nonnull(out);
		memcpy(out, r->col[i], (size_t)r->len[i]);
		*n = (size_t)r->len[i];
		out[*n] = '\0';
		return out;
	}
	ck_assert_int_ge(r->len[i], 2);
	ck_assert_msg(!memcmp(r->col[i], "\\x", 2), "text bytea without \\x");
	*n = ((size_t)r->len[i] - 2) / 2;
	out = malloc(*n + 1);
	ck_assert_ptr_nonnull(out);
	for (size_t k = 0; k < *n; k++) {
		unsigned v;
		ck_assert_int_eq(sscanf((const char *)r->col[i] + 2 + 2 * k,
					"%2x", &v), 1);
		out[k] = (char)v;
	}
	out[*n] = '\0';
	return out;
}

static bool is_json(const char *p, size_t n)
{
	json_t *j = json_loadb(p, n, JSON_DECODE_ANY, NULL);

	json_decref(j);
	return j != NULL;
}

/* The well-formed row for id: table, key [id], a JSON value naming it. */
static void assert_intact(const struct row *r, bool binary, int id,
			  bool check_key, bool check_value)
{
	char want_key[32];
	size_t n;

	ck_assert_int_ge(r->ncols, 3);
	ck_assert_int_eq(r->len[0], (int32_t)strlen("mf"));
	ck_assert(!memcmp(r->col[0], "mf", 2));
	snprintf(want_key, sizeof want_key, "[%d]", id);
	if (check_key) {
		char *key = bytea_text(r, 1, binary, &n);
		ck_assert_str_eq(key, want_key);
		free(key);
	}
	if (check_value) {
		char *value = bytea_text(r, 2, binary, &n);
		json_t *j = json_loadb(value, n, 0, NULL);
		ck_assert_msg(j, "value is not JSON: %s", value);
		ck_assert_int_eq(json_integer_value(json_object_get(
			json_object_get(j, "after"), "id")), id);
		json_decref(j);
		free(value);
	}
}

static void check_spoiled(const struct mcase *c, const struct row *r,
			  bool binary)
{
	const char *e = c->expect;
	size_t n;
	char *v;

	if (!strcmp(e, "value-not-json")) {
		ck_assert_int_eq(r->ncols, 3);
		assert_intact(r, binary, 1, true, false);
		v = bytea_text(r, 2, binary, &n);
		ck_assert_msg(!is_json(v, n), "value is JSON: %s", v);
		free(v);
	} else if (!strcmp(e, "key-not-json")) {
		ck_assert_int_eq(r->ncols, 3);
		assert_intact(r, binary, 1, false, true);
		v = bytea_text(r, 1, binary, &n);
		ck_assert_msg(!is_json(v, n), "key is JSON: %s", v);
		free(v);
	} else if (!strcmp(e, "ncols=4")) {
		ck_assert_int_eq(r->ncols, 4);
		assert_intact(r, binary, 1, true, true);
	} else if (!strcmp(e, "key-null")) {
		ck_assert_int_eq(r->ncols, 3);
		ck_assert_int_eq(r->len[1], -1);
		assert_intact(r, binary, 1, false, true);
	} else if (!strcmp(e, "value-null")) {
		ck_assert_int_eq(r->ncols, 3);
		ck_assert_int_eq(r->len[2], -1);
		assert_intact(r, binary, 1, true, false);
	} else if (!strcmp(e, "value-other-format")) {
		ck_assert_int_eq(r->ncols, 3);
		assert_intact(r, binary, 1, true, false);
		/* Read it as the other format would: then it is intact. */
		v = bytea_text(r, 2, !binary, &n);
		ck_assert_msg(is_json(v, n), "value in the other format is not JSON: %s", v);
		free(v);
	} else if (!strcmp(e, "value-truncated")) {
		ck_assert_int_eq(r->ncols, 3);
		assert_intact(r, binary, 1, true, false);
		v = bytea_text(r, 2, binary, &n);
		ck_assert_uint_gt(n, 0);
		ck_assert_msg(!is_json(v, n), "truncated value is JSON: %s", v);
		ck_assert_msg(!strncmp(v, "{\"after\": {", n < 11 ? n : 11),
			      "not a prefix of the row's JSON: %s", v);
		free(v);
	} else if (!strcmp(e, "value-short")) {
		ck_assert_int_eq(r->ncols, 3);
		assert_intact(r, binary, 1, true, false);
		ck_assert_int_eq((size_t)r->len[2], r->room[2] + 4);
	} else if (!strcmp(e, "value-oversize")) {
		ck_assert_int_eq(r->ncols, 3);
		assert_intact(r, binary, 1, true, false);
		ck_assert_uint_eq((size_t)r->len[2], SIM_MALFORM_OVERSIZE);
		ck_assert(!memcmp(r->col[2], "{\"after\": {\"pad\": \"xxx", 22));
		ck_assert(!memcmp(r->col[2] + SIM_MALFORM_OVERSIZE - 4, "x\"}}", 4));
	} else if (!strcmp(e, "resolved-bogus")) {
		ck_assert_int_eq(r->ncols, 3);
		ck_assert_int_eq(r->len[0], -1);
		ck_assert_int_eq(r->len[1], -1);
		v = bytea_text(r, 2, binary, &n);
		ck_assert_str_eq(v, "{\"resolved\": \"not-an-hlc\"}");
		free(v);
	} else {
		ck_abort_msg("unknown expectation %s", e);
	}
}

START_TEST(malformed_row_arrives_as_specified)
{
	const struct mcase *c = &cases[_i];
	bool binary = !strcmp(c->format, "binary");
	bool resolved = !strcmp(c->kind, "resolved");
	PGconn *pg = PQconnectdb(env("CRDB_DSN"));
	char arm[96];
	struct pgw_msg m;
	struct row r;
	int fd;

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
	exec_ok(pg, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	control_ok("malform json 0");   /* nothing left from a failed case */
	exec_ok(pg, "DROP TABLE IF EXISTS mf");
	exec_ok(pg, "CREATE TABLE mf (id INT8 PRIMARY KEY, v TEXT)");
	fd = connect_raw();
	start_feed(fd, "CREATE CHANGEFEED FOR mf WITH resolved = '100ms', min_checkpoint_frequency = '100ms'",
		   binary);
	/* A first resolved row: the feed is live before anything is armed. */
	next_row(fd, true, &m, &r);
	free(m.body);
	snprintf(arm, sizeof arm, "malform all %s 1", c->kind);
control_ok(arm);
	exec_ok(pg, "INSERT INTO mf VALUES (1, 'one')");
	next_row(fd, resolved, &m, &r);
check_spoiled(c, &r, binary);
	free(m.body);
	/* Armed once: the next rows are well formed. */
	exec_ok(pg, "INSERT INTO mf VALUES (2, 'two')");
	next_row(fd, false, &m, &r);
	if (!resolved) {
		ck_assert_int_eq(r.ncols, 3);
		assert_intact(&r, binary, 2, true, true);
	}
	free(m.body);
	next_row(fd, true, &m, &r);
	{
		size_t n;
		char *v = bytea_text(&r, 2, binary, &n);
		ck_assert_msg(is_json(v, n), "a resolved row after it is bad: %s", v);
		free(v);
	}
	free(m.body);
	close(fd);
	PQfinish(pg);
}
END_TEST

/* Armed for one feed by its query id (SHOW STATEMENTS): only that feed's
 * row is spoiled; another feed on the same table gets it intact. */
START_TEST(malform_one_feed_by_query_id)
{
	static const struct mcase spoiled = { "json", "text", "value-not-json" };
	PGconn *pg = PQconnectdb(env("CRDB_DSN"));
	struct pgw_msg m;
	struct row r;
	char arm[96];
	int plain, target;

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
	control_ok("malform json 0");
	exec_ok(pg, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	exec_ok(pg, "DROP TABLE IF EXISTS mf");
	exec_ok(pg, "CREATE TABLE mf (id INT8 PRIMARY KEY, v TEXT)");
	plain = connect_raw();
	target = connect_raw();
	start_feed(plain, "CREATE CHANGEFEED FOR mf WITH resolved = '100ms', "
		   "min_checkpoint_frequency = '100ms'", false);
	start_feed(target, "CREATE CHANGEFEED FOR mf WITH resolved = '100ms', "
		   "min_checkpoint_frequency = '100ms', mvcc_timestamp", false);
	next_row(plain, true, &m, &r);
	free(m.body);
	next_row(target, true, &m, &r);
	free(m.body);
	PGresult *res = PQexec(pg, "SELECT query_id FROM [SHOW STATEMENTS]"
			       " WHERE query LIKE '%, mvcc_timestamp'");
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
		      PQerrorMessage(pg));
	ck_assert_int_eq(PQntuples(res), 1);
	snprintf(arm, sizeof arm, "malform %s json 1", PQgetvalue(res, 0, 0));
	PQclear(res);
	control_ok(arm);
	exec_ok(pg, "INSERT INTO mf VALUES (1, 'one')");
	next_row(plain, false, &m, &r);
	ck_assert_int_eq(r.ncols, 3);
	assert_intact(&r, false, 1, true, true);
	free(m.body);
	next_row(target, false, &m, &r);
	check_spoiled(&spoiled, &r, false);
	free(m.body);
	close(plain);
	close(target);
	PQfinish(pg);
}
END_TEST

/* The command's own answers: unknown kinds and bad counts are refused,
 * COUNT 0 disarms. */
START_TEST(malform_command_usage)
{
	static const char *const bad[] = {
		"malform", "malform all", "malform nosuchkind",
		"malform json -1", "malform json x", "malform json 1 2",
		"malform 0123456789abcdef0123456789ABCDEF json",
	};
	char *reply;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		reply = control(bad[i]);
		ck_assert_msg(!strncmp(reply, "error ", 6), "'%s' answered '%s'",
			      bad[i], reply);
		free(reply);
	}
	reply = control("malform json 3");
	ck_assert_str_eq(reply, "ok 3");
	free(reply);
	reply = control("malform all truncate 0");
	ck_assert_str_eq(reply, "ok 0");
	free(reply);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crdbsim malform");
	TCase *tc = tcase_create("malform");
	SRunner *sr;
	int failed;

	load_cases();
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, malformed_row_arrives_as_specified, 0, ncases);
	tcase_add_test(tc, malform_one_feed_by_query_id);
	tcase_add_test(tc, malform_command_usage);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
