/*
 * check_sim_parse.c: unit tests of crdbsim's changefeed statement parser
 * (parse.c) against doc/crdb-wire.md §1, §3, §4.5, §4.6: every statement form,
 * every option kind, every refusal text, every cursor form and placeholders.
 * The cases are in tests/crdbsim/cases/parse.txt (format documented there);
 * each is parsed and the resulting statement printed canonically and
 * compared, so every field of struct simfeed_stmt is checked.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simstmt.h"

#define NOW_NS 1700000000000000000LL

static const char *env_name(enum sim_envelope e)
{
	switch (e) {
	case SIM_ENV_WRAPPED: return "wrapped";
	case SIM_ENV_BARE: return "bare";
	case SIM_ENV_ROW: return "row";
	case SIM_ENV_KEY_ONLY: return "key_only";
	case SIM_ENV_ENRICHED: return "enriched";
	}
	return "?";
}

static void cat(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);
	snprintf(buf + n, len - n, "%s", s);
}

static void cat_hlc(char *buf, size_t len, bool has, struct sim_hlc ts)
{
	char h[48];
	if (!has) {
		cat(buf, len, "-");
		return;
	}
	sim_hlc_format(ts, h, sizeof h);
	cat(buf, len, h);
}

/* The canonical description parse.txt states expectations in. */
static void describe(const struct simfeed_stmt *st, char *buf, size_t len)
{
	static const char *const scans[] = { "default", "yes", "no", "only" };
	static const char *const policies[] = { "backfill", "nobackfill", "stop",
						"ignore" };
	char tmp[256];

	buf[0] = '\0';
	cat(buf, len, "targets=");
	for (size_t i = 0; i < st->ntargets; i++) {
		const struct sim_target *t = &st->targets[i];
		snprintf(tmp, sizeof tmp, "%s%s.%s%s%s:%s", i ? "," : "", t->schema,
			 t->table, t->family ? "/" : "", t->family ? t->family : "",
			 t->display ? t->display : "(null)");
		cat(buf, len, tmp);
	}
	snprintf(tmp, sizeof tmp, " env=%s scan=%s policy=%s flags=",
		 env_name(st->envelope), scans[st->initial_scan],
		 policies[st->schema_change_policy]);
	cat(buf, len, tmp);
	const struct { bool on; const char *name; } flags[] = {
		{ st->updated, "updated" }, { st->diff, "diff" },
		{ st->mvcc_timestamp, "mvcc_timestamp" },
		{ st->key_in_value, "key_in_value" },
		{ st->topic_in_value, "topic_in_value" },
		{ st->full_table_name, "full_table_name" },
		{ st->split_column_families, "split_column_families" },
	};
	bool any = false;
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		if (!flags[i].on)
			continue;
		if (any)
			cat(buf, len, ",");
		cat(buf, len, flags[i].name);
		any = true;
	}
	if (!any)
		cat(buf, len, "-");
	cat(buf, len, " cursor=");
	cat_hlc(buf, len, st->has_cursor, st->cursor);
	cat(buf, len, " end=");
	cat_hlc(buf, len, st->has_end_time, st->end_time);
	if (st->has_resolved)
		snprintf(tmp, sizeof tmp, " resolved=%lld", (long long)st->resolved_ms);
	else
		snprintf(tmp, sizeof tmp, " resolved=-");
	cat(buf, len, tmp);
	snprintf(tmp, sizeof tmp, " ckpt=%lld", (long long)st->min_checkpoint_ms);
	cat(buf, len, tmp);
	if (st->query) {
		cat(buf, len, " query=");
		cat(buf, len, st->query);
	}
	if (st->query_where) {
		cat(buf, len, " where=");
		cat(buf, len, st->query_where);
	}
	if (st->nquery_columns) {
		cat(buf, len, " cols=");
		for (size_t i = 0; i < st->nquery_columns; i++) {
			if (i)
				cat(buf, len, "|");
			cat(buf, len, st->query_columns[i]);
		}
	}
	if (st->firehose) {
		snprintf(tmp, sizeof tmp, " firehose=%llu/%zu/%llu",
			 (unsigned long long)st->firehose_events, st->firehose_size,
			 (unsigned long long)st->firehose_resolved_every);
		cat(buf, len, tmp);
	}
	if (st->experimental)
		cat(buf, len, " experimental");
}

/* \n, \t and \\ in the SQL column stand for themselves. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
			*o++ = s[1] == 'n' ? '\n' : s[1] == 't' ? '\t' : '\\';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

START_TEST(test_parse_cases)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, ncases = 0, nok = 0, nerr = 0, nnone = 0;
	ssize_t n;

	snprintf(path, sizeof path, "%s/tests/crdbsim/cases/parse.txt", top ? top : ".");
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (is top_srcdir set?)", path);
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *field[3] = { 0 }, *params[8] = { 0 };
		int nparams = 0;
		char got[4096], where[1100];

		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		snprintf(where, sizeof where, "%s:%d", path, lineno);
		field[0] = line;
		field[1] = strchr(line, '\t');
		ck_assert_msg(field[1] != NULL, "%s: no expectation", where);
		*field[1]++ = '\0';
		field[2] = strchr(field[1], '\t');
		if (field[2]) {
			*field[2]++ = '\0';
			for (char *save, *p = strtok_r(field[2], ";", &save);
			     p && nparams < 8; p = strtok_r(NULL, ";", &save))
				params[nparams++] = strcmp(p, "\\N") ? p : NULL;
		}
		unescape(field[0]);

		struct simfeed_stmt *st = (struct simfeed_stmt *)&got; /* poisoned */
		struct simfeed_error err;
		memset(&err, 0x55, sizeof err);
		int rc = sim_parse_changefeed(field[0], (const char *const *)params,
					      nparams, NOW_NS, &st, &err);
		const char *want = field[1];
		if (!strcmp(want, "none")) {
			ck_assert_msg(rc == 0, "%s: %s: rc %d, want 0 (%s)", where,
				      field[0], rc, rc < 0 ? err.message : "");
			ck_assert_ptr_null(st);
			nnone++;
		} else if (!strncmp(want, "error ", 6)) {
			ck_assert_msg(rc == -1, "%s: %s: rc %d, want -1", where, field[0], rc);
			ck_assert_ptr_null(st);
			snprintf(got, sizeof got, "error %s %s", err.sqlstate, err.message);
			ck_assert_msg(!strcmp(got, want), "%s: %s\n got  %s\n want %s",
				      where, field[0], got, want);
			nerr++;
		} else {
			ck_assert_msg(!strncmp(want, "ok ", 3), "%s: bad expectation", where);
			ck_assert_msg(rc == 1, "%s: %s: rc %d (%s %s)", where, field[0], rc,
				      err.sqlstate, err.message);
			ck_assert_ptr_nonnull(st);
			describe(st, got, sizeof got);
			ck_assert_msg(!strcmp(got, want + 3), "%s: %s\n got  %s\n want %s",
				      where, field[0], got, want + 3);
			sim_stmt_free(st);
			nok++;
		}
		ncases++;
	}
	free(line);
	fclose(f);
	/* the file must really exercise all three outcomes */
	ck_assert_int_ge(nok, 60);
	ck_assert_int_ge(nerr, 50);
	ck_assert_int_ge(nnone, 5);
	ck_assert_int_eq(ncases, nok + nerr + nnone);
}
END_TEST

/* sim_parse_timestamp on its own: end_time may lie in the future. */
START_TEST(test_timestamp_future_allowed)
{
	struct sim_hlc ts;
	struct simfeed_error err;

	ck_assert_int_eq(sim_parse_timestamp("10s", NOW_NS, &ts, &err), 0);
	ck_assert(ts.wall == NOW_NS + 10000000000LL && ts.logical == 0);
	ck_assert_int_eq(sim_parse_timestamp("0s", NOW_NS, &ts, &err), -1);
	ck_assert_str_eq(err.sqlstate, "XXUUU");
	ck_assert_ptr_nonnull(strstr(err.message, "too small"));
	ck_assert_int_eq(sim_parse_timestamp(NULL, NOW_NS, &ts, &err), -1);
}
END_TEST

/* Not a changefeed: answered without allocating, even for long input. */
START_TEST(test_fast_path)
{
	size_t n = 1 << 20;
	char *sql = malloc(n + 1);
	struct simfeed_stmt *st = NULL;
	struct simfeed_error err;

	ck_assert_ptr_nonnull(sql);
	memset(sql, 'x', n);
	memcpy(sql, "SELECT ", 7);
	sql[n] = '\0';
	ck_assert_int_eq(sim_parse_changefeed(sql, NULL, 0, NOW_NS, &st, &err), 0);
	ck_assert_ptr_null(st);
	free(sql);
	sim_stmt_free(NULL);
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("sim_parse");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_cases);
	tcase_add_test(tc, test_timestamp_future_allowed);
	tcase_add_test(tc, test_fast_path);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
