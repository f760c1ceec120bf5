/*
 * check_sim_intercept.c: unit tests of crdbsim's statement classification
 * and SQL rewriting (intercept.c), driven by cases/wire_intercept.cases:
 * what crdbsim answers itself, what it rewrites for PostgreSQL, and that
 * nothing inside literals, quoted identifiers or comments is touched.
 * Needs no server.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intercept.h"

static const char *const kind_names[] = {
	[SIM_RELAY] = "relay",
	[SIM_CHANGEFEED] = "changefeed",
	[SIM_CANCEL_QUERY] = "cancel_query",
	[SIM_CANCEL_QUERIES] = "cancel_queries",
	[SIM_CANCEL_SESSION] = "cancel_session",
	[SIM_CANCEL_SESSIONS] = "cancel_sessions",
	[SIM_SET_CLUSTER_SETTING] = "set_cluster_setting",
	[SIM_LISTEN] = "listen",
	[SIM_UNLISTEN] = "unlisten",
	[SIM_ERROR] = "error",
};

static char *statements(void *arg)
{
	(void)arg;
	return strdup("(STMTS)");
}

static const struct sim_rewrite_ctx ctx = {
	.version_string = "V1",
	.session_id = "S1",
	.version = 230111,
	.rangefeed = false,
	.statements_sql = statements,
};

static void check_case(const char *sql, const char *kind, const char *want,
		       int lineno)
{
	struct sim_stmt st;
	ck_assert_int_eq(sim_classify(sql, &ctx, &st), 0);
	ck_assert_msg(strcmp(kind_names[st.kind], kind) == 0,
		      "line %d: %s: kind %s, want %s", lineno, sql,
		      kind_names[st.kind], kind);
	char got[2048];
	switch (st.kind) {
	case SIM_RELAY:
		snprintf(got, sizeof got, "%s",
			 strcmp(st.sql, sql) == 0 ? "=" : st.sql);
		break;
	case SIM_CANCEL_QUERY:
	case SIM_CANCEL_QUERIES:
	case SIM_CANCEL_SESSION:
	case SIM_CANCEL_SESSIONS:
		snprintf(got, sizeof got, "%s%s", st.if_exists ? "?" : "", st.arg);
		break;
	case SIM_SET_CLUSTER_SETTING:
		snprintf(got, sizeof got, "%s=%s", st.name, st.arg);
		break;
	case SIM_ERROR:
		snprintf(got, sizeof got, "%s", st.sqlstate);
		break;
	default:
		snprintf(got, sizeof got, "-");
		break;
	}
	ck_assert_msg(strcmp(got, want) == 0, "line %d: %s\n got: %s\nwant: %s",
		      lineno, sql, got, want);
	sim_stmt_clear(&st);
}

START_TEST(cases)
{
	const char *top = getenv("top_srcdir");
	ck_assert_msg(top, "top_srcdir is not set");
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/crdbsim/cases/wire_intercept.cases", top);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	char line[4096];
	int lineno = 0, n = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		char *kind = strchr(line, '\t');
		ck_assert_msg(kind, "line %d: no tab", lineno);
		*kind++ = '\0';
		char *want = strchr(kind, '\t');
		ck_assert_msg(want, "line %d: no second tab", lineno);
		*want++ = '\0';
		check_case(line, kind, want, lineno);
		n++;
	}
	fclose(f);
	ck_assert_int_gt(n, 40);
}
END_TEST

START_TEST(parameters_counted)
{
	struct sim_stmt st;
	ck_assert_int_eq(sim_classify("CREATE CHANGEFEED FOR t WITH cursor = $2, resolved = $1",
				      &ctx, &st), 0);
	ck_assert_int_eq(st.nparams, 2);
	sim_stmt_clear(&st);
	/* $n inside literals and dollar quotes are not parameters. */
	ck_assert_int_eq(sim_classify("SELECT '$3', $$ $4 $$, $1", &ctx, &st), 0);
	ck_assert_int_eq(st.nparams, 1);
	sim_stmt_clear(&st);
}
END_TEST

START_TEST(unterminated_input)
{
	/* Unterminated literals and comments: no crash, relayed as is. */
	static const char *const bad[] = {
		"SELECT 'abc", "SELECT \"abc", "SELECT $$abc", "SELECT /* x",
		"SELECT E'\\", "[SHOW", "[SHOW STATEMENTS", "SELECT version(",
		"CANCEL", "SET CLUSTER SETTING", "SHOW CLUSTER SETTING", "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sim_stmt st;
		ck_assert_int_eq(sim_classify(bad[i], &ctx, &st), 0);
		ck_assert_ptr_nonnull(st.sql);
		sim_stmt_clear(&st);
	}
}
END_TEST

#define UDF_INSERT "CREATE FUNCTION f() RETURNS VOID LANGUAGE SQL AS " \
	"$$ INSERT INTO t VALUES (1) $$"
#define TTL_TABLE(params) "CREATE TABLE t (b TIMESTAMPTZ) WITH (" params ")"
#define TTL_NO_CDC "ttl_disable_changefeed_replication = true"

/* What older versions refuse (§14.4, §14.6, §15). */
START_TEST(version_gates)
{
	static const struct {
		int version;
		const char *sql;
		enum sim_kind kind;
		const char *sqlstate;
	} gates[] = {
		{ 210210, "DECLARE c CURSOR FOR SELECT 1", SIM_ERROR, "0A000" },
		{ 210210, "CLOSE c", SIM_ERROR, "0A000" },
		{ 210210, "CLOSE ALL", SIM_RELAY, "" },
		{ 220100, "DECLARE c CURSOR FOR SELECT 1", SIM_RELAY, "" },
		{ 220100, "LISTEN x", SIM_ERROR, "0A000" },
		{ 220100, "UNLISTEN x", SIM_ERROR, "0A000" },
		{ 220200, "LISTEN x", SIM_LISTEN, "" },
		{ 220200, "UNLISTEN x", SIM_UNLISTEN, "" },
		{ 240300, "PREPARE TRANSACTION 'x'", SIM_ERROR, "42601" },
		{ 250100, "PREPARE TRANSACTION 'x'", SIM_RELAY, "" },
		{ 250100, "COMMIT PREPARED 'x'", SIM_RELAY, "" },
		{ 250100, "NOTIFY x", SIM_ERROR, "0A000" },
		/* §15: data-modifying SQL functions from 23.2; crdbsim
		 * emulates no refusal before functions existed (22.2). */
		{ 220100, UDF_INSERT, SIM_RELAY, "" },
		{ 220200, UDF_INSERT, SIM_ERROR, "0A000" },
		{ 230111, UDF_INSERT, SIM_ERROR, "0A000" },
		{ 230200, UDF_INSERT, SIM_RELAY, "" },
		{ 210210, TTL_TABLE("ttl_expire_after = '1h'"), SIM_ERROR, "22023" },
		{ 220100, TTL_TABLE("ttl_expire_after = '1h'"), SIM_RELAY, "" },
		{ 220100, TTL_TABLE("ttl_expiration_expression = 'b'"), SIM_ERROR, "22023" },
		{ 220200, TTL_TABLE("ttl_expiration_expression = 'b'"), SIM_RELAY, "" },
		{ 230200, TTL_TABLE(TTL_NO_CDC), SIM_ERROR, "22023" },
		{ 240100, TTL_TABLE(TTL_NO_CDC), SIM_RELAY, "" },
	};
	for (size_t i = 0; i < sizeof gates / sizeof gates[0]; i++) {
		struct sim_rewrite_ctx c = ctx;
		struct sim_stmt st;
		c.version = gates[i].version;
		ck_assert_int_eq(sim_classify(gates[i].sql, &c, &st), 0);
		ck_assert_msg(st.kind == gates[i].kind, "%d %s: kind %d",
			      gates[i].version, gates[i].sql, (int)st.kind);
		ck_assert_str_eq(st.sqlstate, gates[i].sqlstate);
		sim_stmt_clear(&st);
	}
	/* The unimplemented hint names the issue and the release. */
	struct sim_rewrite_ctx c = ctx;
	struct sim_stmt st;
	c.version = 210210;
	ck_assert_int_eq(sim_classify("declare c cursor for select 1", &c, &st), 0);
	ck_assert_str_eq(st.message, "at or near \"declare\": syntax error: "
			 "unimplemented: this syntax");
	ck_assert_str_eq(st.hint, "You have attempted to use a feature that is "
			 "not yet implemented.\nSee: https://go.crdb.dev/issue-v/41412/v21.2");
	sim_stmt_clear(&st);
	/* CockroachDB's texts for a function that modifies data (§15.1)
	 * and for a storage parameter it does not have (§15.2). */
	c.version = 230111;
	ck_assert_int_eq(sim_classify("create function f() returns void language sql "
				      "as 'upsert into t (a) values (1)'", &c, &st), 0);
	ck_assert_str_eq(st.message, "unimplemented: INSERT usage inside a "
			 "function definition");
	ck_assert_str_eq(st.hint, "You have attempted to use a feature that is "
			 "not yet implemented.\nSee: https://go.crdb.dev/issue-v/87289/v23.1");
	sim_stmt_clear(&st);
	ck_assert_int_eq(sim_classify(TTL_TABLE(TTL_NO_CDC), &c, &st), 0);
	ck_assert_str_eq(st.message, "invalid storage parameter "
			 "\"ttl_disable_changefeed_replication\"");
	ck_assert_str_eq(st.hint, "");
	sim_stmt_clear(&st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crdbsim intercept");
	TCase *t = tcase_create("classify");
	tcase_add_test(t, cases);
	tcase_add_test(t, parameters_counted);
	tcase_add_test(t, unterminated_input);
	tcase_add_test(t, version_gates);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
