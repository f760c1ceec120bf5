/*
 * check_sim_render.c: unit tests of crdbsim's CockroachDB JSON renderer
 * (render.c) against doc/crdb-wire.md §3, §4.1-§4.4, §5 and §12. The cases are
 * data under tests/crdbsim/cases/ (formats documented in each file):
 *   render_envelopes.txt  every §4.3 envelope/option string, a=1 b='bar'
 *   render_strings.txt    Go-style string escaping (§4.1)
 *   render_types.txt      every §5 type, inputs from real wal2json output
 *   wal2json_capture.jsonl whole captured records (render_rows.txt)
 *   resolved.txt          resolved payloads (§3) and HLC strings (§4.4)
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "simstmt.h"

/* One case file of tests/crdbsim/cases/, read by tests/lib's reader, and
 * the line a loop is at. */
struct casefile {
	struct case_file cases;
	size_t next;
	const char *path;
	int lineno;
	char **field;
	int nfields;
};

static void case_load(struct casefile *cf, const char *name,
		      enum case_syntax syntax)
{
	char relpath[1024];

	memset(cf, 0, sizeof *cf);
	snprintf(relpath, sizeof relpath, "tests/crdbsim/cases/%s", name);
	cases_load_file(relpath, syntax, &cf->cases);
	cf->path = cf->cases.path;
}

/* Tab-separated cases (CASES_TAB). */
static void case_open(struct casefile *cf, const char *name)
{
	case_load(cf, name, CASES_TAB);
}

/* Next case line; false at the end. */
static bool case_next(struct casefile *cf)
{
	if (cf->next == cf->cases.count)
		return false;
	struct case_line *l = &cf->cases.lines[cf->next++];
	cf->lineno = l->lineno;
	cf->field = l->field;
	cf->nfields = l->nfields;
	return true;
}

static void case_close(struct casefile *cf)
{
	cases_free(&cf->cases);
}

/* ---- §4.3 envelopes --------------------------------------------------- */

static json_t *row_ab(const char *b)
{
	json_t *r = json_pack("[{s:s, s:s, s:i}, {s:s, s:s, s:s}]",
			      "name", "a", "type", "integer", "value", 1,
			      "name", "b", "type", "text", "value", b);
	ck_assert_ptr_nonnull(r);
	return r;
}

static void parse_render_opts(const char *s, struct sim_render_opts *o)
{
	char buf[256];
	memset(o, 0, sizeof *o);
	snprintf(buf, sizeof buf, "%s", s);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "wrapped")) o->envelope = SIM_ENV_WRAPPED;
		else if (!strcmp(t, "bare")) o->envelope = SIM_ENV_BARE;
		else if (!strcmp(t, "row")) o->envelope = SIM_ENV_ROW;
		else if (!strcmp(t, "key_only")) o->envelope = SIM_ENV_KEY_ONLY;
		else if (!strcmp(t, "enriched")) o->envelope = SIM_ENV_ENRICHED;
		else if (!strcmp(t, "updated")) o->updated = true;
		else if (!strcmp(t, "diff")) o->diff = true;
		else if (!strcmp(t, "mvcc_timestamp")) o->mvcc_timestamp = true;
		else if (!strcmp(t, "key_in_value")) o->key_in_value = true;
		else if (!strcmp(t, "topic_in_value")) o->topic_in_value = true;
		else ck_abort_msg("unknown option %s in case file", t);
	}
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Replace the digits after "ts_ns": by NS; check they lie in [lo, hi]. */
static void mask_ts_ns(char *v, int64_t lo, int64_t hi, const char *where)
{
	char *p = strstr(v, "\"ts_ns\": ");
	ck_assert_msg(p != NULL, "%s: no ts_ns in %s", where, v);
	p += 9;
	char *end;
	long long ns = strtoll(p, &end, 10);
	ck_assert_msg(end > p && ns >= lo && ns <= hi,
		      "%s: ts_ns %lld not the encoding time", where, ns);
	memcpy(p, "NS", 2);
	memmove(p + 2, end, strlen(end) + 1);
}

START_TEST(test_envelopes)
{
	struct casefile cf;
	int ncases = 0;
	struct sim_hlc ts = { 1, 2 };

	case_open(&cf, "render_envelopes.txt");
	while (case_next(&cf)) {
		char where[1200], errbuf[256] = "";
		struct sim_render_opts o;
		json_t *after = NULL, *before = NULL;
		json_t *pk = json_pack("[s]", "a");
		char *key, *value;
		size_t klen, vlen;

		snprintf(where, sizeof where, "%s:%d", cf.path, cf.lineno);
		ck_assert_msg(cf.nfields == 4, "%s: want 4 fields", where);
		parse_render_opts(cf.field[0], &o);
		const char *op = cf.field[1];
		if (!strcmp(op, "insert")) {
			after = row_ab("bar");
		} else if (!strcmp(op, "delete")) {
			before = row_ab("bar");
		} else if (!strcmp(op, "update")) {
			after = row_ab("bar");
			before = row_ab("foo");
		} else if (!strcmp(op, "insert-ba")) {
			after = row_ab("bar");
			json_decref(pk);
			pk = json_pack("[s, s]", "b", "a");
		} else {
			ck_abort_msg("%s: unknown op %s", where, op);
		}
		int64_t lo = wall_ns();
		int rc = sim_render_event(&o, pk, after, before, ts, "foo", &key, &klen,
					  &value, &vlen, errbuf, sizeof errbuf);
		int64_t hi = wall_ns();
		ck_assert_msg(rc == 0, "%s: render failed: %s", where, errbuf);
		ck_assert_uint_eq(klen, strlen(key));
		ck_assert_uint_eq(vlen, strlen(value));
		if (o.envelope == SIM_ENV_ENRICHED)
			mask_ts_ns(value, lo, hi, where);
		ck_assert_msg(!strcmp(key, cf.field[2]), "%s: key\n got  %s\n want %s",
			      where, key, cf.field[2]);
		const char *want = strcmp(cf.field[3], "(empty)") ? cf.field[3] : "";
		ck_assert_msg(!strcmp(value, want), "%s: value\n got  %s\n want %s",
			      where, value, want);
		free(key);
		free(value);
		json_decref(after);
		json_decref(before);
		json_decref(pk);
		ncases++;
	}
	case_close(&cf);
	ck_assert_int_ge(ncases, 30);
}
END_TEST

/* ---- §4.1 string escaping ---------------------------------------------- */

static size_t c_unescape(const char *s, char *out, size_t outlen)
{
	size_t n = 0;
	while (*s && n < outlen) {
		if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
			char hex[3] = { s[2], s[3], 0 };
			out[n++] = (char)strtoul(hex, NULL, 16);
			s += 4;
		} else if (s[0] == '\\' && s[1]) {
			char c = s[1];
			out[n++] = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
			s += 2;
		} else {
			out[n++] = *s++;
		}
	}
	return n;
}

START_TEST(test_strings)
{
	struct casefile cf;
	int ncases = 0;
	struct sim_render_opts o = { .envelope = SIM_ENV_ROW };
	struct sim_hlc ts = { 1, 2 };

	case_open(&cf, "render_strings.txt");
	while (case_next(&cf)) {
		char where[1200], errbuf[256] = "", raw[512];
		char *key, *value, want[1024];
		size_t klen, vlen;

		snprintf(where, sizeof where, "%s:%d", cf.path, cf.lineno);
		ck_assert_msg(cf.nfields == 2, "%s: want 2 fields", where);
		size_t n = c_unescape(cf.field[0], raw, sizeof raw);
		/* invalid UTF-8 on purpose: bypass jansson's check */
		json_t *val = json_stringn_nocheck(raw, n);
		json_t *row = json_pack("[{s:s, s:s, s:o}]", "name", "s", "type", "text",
					"value", val);
		json_t *pk = json_pack("[s]", "s");
		ck_assert_ptr_nonnull(row);
		int rc = sim_render_event(&o, pk, row, NULL, ts, "t", &key, &klen,
					  &value, &vlen, errbuf, sizeof errbuf);
		ck_assert_msg(rc == 0, "%s: %s", where, errbuf);
		snprintf(want, sizeof want, "[%s]", cf.field[1]);
		ck_assert_msg(klen == strlen(want) && !memcmp(key, want, klen),
			      "%s:\n got  %.*s\n want %s", where, (int)klen, key, want);
		snprintf(want, sizeof want, "{\"s\": %s}", cf.field[1]);
		ck_assert_msg(vlen == strlen(want) && !memcmp(value, want, vlen),
			      "%s:\n got  %.*s\n want %s", where, (int)vlen, value, want);
		free(key);
		free(value);
		json_decref(row);
		json_decref(pk);
		ncases++;
	}
	case_close(&cf);
	ck_assert_int_ge(ncases, 15);
}
END_TEST

/* ---- §5 types from real wal2json output -------------------------------- */

START_TEST(test_types)
{
	struct casefile cf;
	int ncases = 0;
	struct sim_render_opts o = { .envelope = SIM_ENV_KEY_ONLY };
	struct sim_hlc ts = { 1, 2 };

	case_open(&cf, "render_types.txt");
	while (case_next(&cf)) {
		char where[1200], errbuf[256] = "";
		char *doc = NULL, *key, *value, *want = NULL;
		size_t klen, vlen;

		snprintf(where, sizeof where, "%s:%d", cf.path, cf.lineno);
		ck_assert_msg(cf.nfields == 3, "%s: want 3 fields", where);
		/* the column exactly as wal2json's "columns" array holds it */
		ck_assert_int_ge(asprintf(&doc, "[{\"name\":\"c\",\"type\":\"%s\",\"value\":%s}]",
					  cf.field[0], cf.field[1]), 0);
		json_t *row = sim_wal2json_loads(doc, strlen(doc));
		ck_assert_msg(row != NULL, "%s: sim_wal2json_loads failed on %s", where, doc);
		json_t *pk = json_pack("[s]", "c");
		int rc = sim_render_event(&o, pk, row, NULL, ts, "t", &key, &klen,
					  &value, &vlen, errbuf, sizeof errbuf);
		ck_assert_msg(rc == 0, "%s: %s", where, errbuf);
		ck_assert_uint_eq(vlen, 0);
		ck_assert_int_ge(asprintf(&want, "[%s]", cf.field[2]), 0);
		ck_assert_msg(klen == strlen(want) && !memcmp(key, want, klen),
			      "%s: %s %s\n got  %.*s\n want %s", where, cf.field[0],
			      cf.field[1], (int)klen, key, want);
		free(want);
		free(doc);
		free(key);
		free(value);
		json_decref(row);
		json_decref(pk);
		ncases++;
	}
	case_close(&cf);
	ck_assert_int_ge(ncases, 60);
}
END_TEST

/* Whole captured wal2json records, rendered (render_rows.txt). */
START_TEST(test_rows)
{
	struct casefile cf, rows;
	char *records[64] = { 0 };
	int nrec = 0, ncases = 0;

	/* one record a line (the file has no comments or blank lines) */
	case_load(&rows, "wal2json_capture.jsonl", CASES_LINE);
	while (nrec < 64 && case_next(&rows))
		records[nrec++] = strdup(rows.field[0]);
	case_close(&rows);
	ck_assert_int_ge(nrec, 8);

	case_open(&cf, "render_rows.txt");
	while (case_next(&cf)) {
		char where[1200], errbuf[256] = "";
		struct sim_render_opts o;
		struct sim_hlc ts = { 1700000000000000000LL, 3 };
		char *key, *value;
		size_t klen, vlen;

		snprintf(where, sizeof where, "%s:%d", cf.path, cf.lineno);
		ck_assert_msg(cf.nfields == 4, "%s: want 4 fields", where);
		int idx = atoi(cf.field[0]);
		ck_assert_msg(idx >= 1 && idx <= nrec, "%s: no record %d", where, idx);
		parse_render_opts(cf.field[1], &o);
		json_t *rec = sim_wal2json_loads(records[idx - 1], strlen(records[idx - 1]));
		ck_assert_msg(rec != NULL, "%s: record does not parse", where);
		json_t *cols = json_object_get(rec, "columns");
		json_t *ident = json_object_get(rec, "identity");
		json_t *pk = json_object_get(rec, "pk");
		int rc = sim_render_event(&o, pk, cols, ident, ts, "t", &key, &klen,
					  &value, &vlen, errbuf, sizeof errbuf);
		ck_assert_msg(rc == 0, "%s: %s", where, errbuf);
		ck_assert_msg(!strcmp(key, cf.field[2]), "%s: key\n got  %s\n want %s",
			      where, key, cf.field[2]);
		const char *want = strcmp(cf.field[3], "(empty)") ? cf.field[3] : "";
		ck_assert_msg(!strcmp(value, want), "%s: value\n got  %s\n want %s",
			      where, value, want);
		free(key);
		free(value);
		json_decref(rec);
		ncases++;
	}
	case_close(&cf);
	for (int i = 0; i < nrec; i++)
		free(records[i]);
	ck_assert_int_ge(ncases, 3);
}
END_TEST

/* ---- §3 resolved, §4.4 HLC ------------------------------------------------ */

START_TEST(test_resolved)
{
	struct casefile cf;
	int ncases = 0;

	case_open(&cf, "resolved.txt");
	while (case_next(&cf)) {
		char where[1200], buf[128], hlc[48], small[8];
		enum sim_envelope env;

		snprintf(where, sizeof where, "%s:%d", cf.path, cf.lineno);
		ck_assert_msg(cf.nfields == 4, "%s: want 4 fields", where);
		const char *e = cf.field[0];
		env = !strcmp(e, "wrapped") ? SIM_ENV_WRAPPED :
		      !strcmp(e, "bare") ? SIM_ENV_BARE :
		      !strcmp(e, "row") ? SIM_ENV_ROW :
		      !strcmp(e, "key_only") ? SIM_ENV_KEY_ONLY : SIM_ENV_ENRICHED;
		struct sim_hlc ts = { strtoll(cf.field[1], NULL, 10),
				      (int32_t)strtol(cf.field[2], NULL, 10) };
		size_t n = sim_render_resolved(env, ts, buf, sizeof buf);
		ck_assert_msg(n == strlen(cf.field[3]) && !strcmp(buf, cf.field[3]),
			      "%s:\n got  %s\n want %s", where, buf, cf.field[3]);
		/* bounded: a short buffer truncates and says how much it wrote */
		n = sim_render_resolved(env, ts, small, sizeof small);
		ck_assert_uint_eq(n, sizeof small - 1);
		ck_assert_int_eq(strncmp(small, cf.field[3], sizeof small - 1), 0);
		/* the HLC string is the quoted part of the payload */
		n = sim_hlc_format(ts, hlc, sizeof hlc);
		char *q = strstr(cf.field[3], ":\"");
		ck_assert_ptr_nonnull(q);
		ck_assert_msg(n == strlen(hlc) && !strncmp(q + 2, hlc, n) && q[2 + n] == '"',
			      "%s: hlc %s", where, hlc);
		ncases++;
	}
	case_close(&cf);
	ck_assert_int_ge(ncases, 7);
}
END_TEST

/* sim_wal2json_loads keeps digits that json_loads would lose. */
START_TEST(test_wal2json_loads)
{
	const char *doc = "{\"n\":22.30,\"i\":9007199254740993,\"big\":123456789012345678901234,"
			  "\"f\":1e+20,\"s\":\"\\u00e9\\ud83d\\ude00\",\"a\":[true,false,null]}";
	json_t *v = sim_wal2json_loads(doc, strlen(doc));
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(json_string_value(json_object_get(v, "n")), "22.30");
	ck_assert(json_integer_value(json_object_get(v, "i")) == 9007199254740993LL);
	ck_assert_str_eq(json_string_value(json_object_get(v, "big")),
			 "123456789012345678901234");
	ck_assert_str_eq(json_string_value(json_object_get(v, "f")), "1e+20");
	ck_assert_str_eq(json_string_value(json_object_get(v, "s")), "\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert(json_is_true(json_array_get(json_object_get(v, "a"), 0)));
	ck_assert(json_is_null(json_array_get(json_object_get(v, "a"), 2)));
	json_decref(v);
	ck_assert_ptr_null(sim_wal2json_loads("{\"a\":", 5));
	ck_assert_ptr_null(sim_wal2json_loads("[1,]", 4));
	ck_assert_ptr_null(sim_wal2json_loads("01", 2));
	ck_assert_ptr_null(sim_wal2json_loads("{} x", 4));
}
END_TEST

/* Refusals: a row without the key column, an unparsable value. */
START_TEST(test_render_errors)
{
	struct sim_render_opts o = { .envelope = SIM_ENV_WRAPPED };
	struct sim_hlc ts = { 1, 2 };
	char errbuf[256], *key, *value;
	size_t klen, vlen;
	json_t *row = row_ab("bar");
	json_t *pk = json_pack("[s]", "nope");

	ck_assert_int_eq(sim_render_event(&o, pk, row, NULL, ts, "t", &key, &klen,
					  &value, &vlen, errbuf, sizeof errbuf), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "nope"));
	ck_assert_int_eq(sim_render_event(&o, pk, NULL, NULL, ts, "t", &key, &klen,
					  &value, &vlen, errbuf, sizeof errbuf), -1);
	json_decref(pk);
	json_decref(row);
	row = json_pack("[{s:s, s:s, s:s}]", "name", "a", "type", "integer", "value", "x1");
	pk = json_pack("[s]", "a");
	ck_assert_int_eq(sim_render_event(&o, pk, row, NULL, ts, "t", &key, &klen,
					  &value, &vlen, errbuf, sizeof errbuf), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "integer"));
	json_decref(pk);
	json_decref(row);
}
END_TEST

static Suite *render_suite(void)
{
	Suite *s = suite_create("sim_render");
	TCase *tc = tcase_create("render");
	tcase_add_test(tc, test_envelopes);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_types);
	tcase_add_test(tc, test_rows);
	tcase_add_test(tc, test_resolved);
	tcase_add_test(tc, test_wal2json_loads);
	tcase_add_test(tc, test_render_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(render_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
