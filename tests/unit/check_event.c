/*
 * check_event.c: changefeed row decoding (crdb_event_decode and
 * crdb_event_decode_raw) for every envelope and option string of §4.3 and
 * §3, in text and binary format, from tests/unit/cases-data/events.cases
 * (format at its top); plus the result-shape checks (column count, names,
 * types, row count), the size and depth limits, crdb_envelope_parse and
 * crdb_op_name.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdb.h"
#include "cases.h"

/* The options column: envelope=NAME and diff matter, the rest is prose. */
static void parse_options(const struct case_line *c, const char *s,
			  crdb_decode_opts *opts)
{
	char buf[512], *save = NULL;
	crdb_error err;

	opts->envelope = CRDB_ENVELOPE_WRAPPED;
	opts->diff = false;
	opts->number_text = false;
	snprintf(buf, sizeof buf, "%s", s);
	for (char *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "envelope=", 9) == 0)
			ck_assert_msg(crdb_envelope_parse(tok + 9,
							  &opts->envelope,
							  &err) == 0,
				      "line %d: %s", c->lineno, err.message);
		else if (strcmp(tok, "diff") == 0)
			opts->diff = true;
		else if (strcmp(tok, "number_text") == 0)
			opts->number_text = true;
	}
}

/* One column of a case in one format. */
struct column {
	char *bytes; /* NULL = SQL NULL */
	size_t len;
};

enum only { ONLY_NONE, ONLY_TEXT, ONLY_BINARY };

static enum only column_only(const char *spec)
{
	if (strncmp(spec, "text:", 5) == 0)
		return ONLY_TEXT;
	if (strncmp(spec, "hex:", 4) == 0)
		return ONLY_BINARY;
	return ONLY_NONE;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Build a column's bytes; hex-encode bytea columns in text format. */
static void make_column(const struct case_line *c, const char *spec,
			bool bytea, int format, struct column *col)
{
	static const char hex[] = "0123456789abcdef";
	const char *raw = spec;
	size_t rawlen;
	char *tmp = NULL;

	if (strcmp(spec, "NULL") == 0) {
		col->bytes = NULL;
		col->len = 0;
		return;
	}
	if (strncmp(spec, "text:", 5) == 0) {
		col->bytes = strdup(spec + 5);
		ck_assert(col->bytes != NULL);
		col->len = strlen(col->bytes);
		return;
	}
	if (strcmp(spec, "EMPTY") == 0) {
		raw = "";
	} else if (strncmp(spec, "hex:", 4) == 0) {
		size_t n = strlen(spec + 4) / 2;
		tmp = malloc(n + 1);
		ck_assert(tmp != NULL);
		for (size_t i = 0; i < n; i++) {
			int hi = hexval(spec[4 + 2 * i]);
			int lo = hexval(spec[5 + 2 * i]);
			ck_assert_msg(hi >= 0 && lo >= 0, "line %d: bad hex",
				      c->lineno);
			tmp[i] = (char)(hi << 4 | lo);
		}
		raw = tmp;
		rawlen = n;
	}
	if (raw != tmp)
		rawlen = strlen(raw);
	if (format == 0 && bytea) {
		col->bytes = malloc(2 * rawlen + 3);
		ck_assert(col->bytes != NULL);
		col->bytes[0] = '\\';
		col->bytes[1] = 'x';
		for (size_t i = 0; i < rawlen; i++) {
			col->bytes[2 + 2 * i] = hex[(unsigned char)raw[i] >> 4];
			col->bytes[3 + 2 * i] = hex[raw[i] & 15];
		}
		col->len = 2 * rawlen + 2;
		col->bytes[col->len] = '\0';
	} else {
		col->bytes = malloc(rawlen + 1);
		ck_assert(col->bytes != NULL);
		memcpy(col->bytes, raw, rawlen);
		col->bytes[rawlen] = '\0';
		col->len = rawlen;
	}
	free(tmp);
}

static void add_hlc(json_t *obj, const char *name, crdb_hlc hlc)
{
	char buf[CRDB_HLC_BUFSIZE];

	crdb_hlc_format(hlc, buf);
	ck_assert(json_object_set_new(obj, name, json_string(buf)) == 0);
}

/*
 * A copy of j in which each number kept by number_text (which jansson
 * cannot dump) is the string "number:" and its text, as the cases write
 * them.
 */
static json_t *shown(const json_t *j)
{
	size_t n;
	const char *text = j ? crdb_json_number_text(j, &n) : NULL;
	json_t *copy;

	if (text) {
		char buf[1024];

		ck_assert(n < sizeof buf - 8);
		snprintf(buf, sizeof buf, "number:%.*s", (int)n, text);
		return json_string(buf);
	}
	if (json_is_array(j)) {
		copy = json_array();
		for (size_t i = 0; i < json_array_size(j); i++)
			json_array_append_new(copy, shown(json_array_get(j, i)));
		return copy;
	}
	if (json_is_object(j)) {
		const char *key;
		json_t *member;

		copy = json_object();
		json_object_foreach((json_t *)j, key, member)
			json_object_set_new(copy, key, shown(member));
		return copy;
	}
	return json_incref((json_t *)j);
}

/* The event as the JSON summary the cases expect. */
static json_t *summary(const crdb_event *ev)
{
	json_t *s = json_object();

	ck_assert(s != NULL);
	if (ev->kind == CRDB_EVENT_RESOLVED) {
		json_object_set_new(s, "kind", json_string("resolved"));
		add_hlc(s, "resolved", ev->resolved);
		ck_assert(ev->table == NULL && ev->key == NULL);
		ck_assert(ev->value != NULL);
		return s;
	}
	json_object_set_new(s, "kind", json_string("row"));
	ck_assert(ev->table != NULL && ev->key != NULL);
	json_object_set_new(s, "table", json_string(ev->table));
	json_object_set_new(s, "key", shown(ev->key));
	json_object_set_new(s, "op", json_string(crdb_op_name(ev->op)));
	if (ev->after)
		json_object_set_new(s, "after", shown(ev->after));
	if (ev->before)
		json_object_set_new(s, "before", shown(ev->before));
	if (ev->has_updated)
		add_hlc(s, "updated", ev->updated);
	if (ev->has_mvcc)
		add_hlc(s, "mvcc", ev->mvcc_timestamp);
	if (ev->value_empty)
		json_object_set_new(s, "empty", json_true());
	/* value is the parsed value exactly when it was not empty */
	ck_assert(ev->value_empty == (ev->value == NULL));
	return s;
}

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
			     JSON_ENCODE_ANY);
	ck_assert(s != NULL);
	return s;
}

static bool event_is_zero(const crdb_event *ev)
{
	static const crdb_event zero;
	return memcmp(ev, &zero, sizeof zero) == 0;
}

static void check_outcome(const struct case_line *c, const char *how,
			  int rc, crdb_event *ev, const crdb_error *err)
{
	const char *expected = c->field[4];

	if (expected[0] == '!') {
		char code[32];
		const char *words = strchr(expected, ' ');

		snprintf(code, sizeof code, "%.*s",
			 (int)(words ? (size_t)(words - expected - 1)
				     : strlen(expected + 1)), expected + 1);
		ck_assert_msg(rc == -1, "line %d (%s): no error", c->lineno,
			      how);
		ck_assert_msg(event_is_zero(ev), "line %d (%s): event not "
			      "cleared after an error", c->lineno, how);
		ck_assert_msg(strcmp(crdb_errcode_name(err->code), code) == 0,
			      "line %d (%s): expected %s, got %s (%s)",
			      c->lineno, how, code,
			      crdb_errcode_name(err->code), err->message);
		if (words)
			ck_assert_msg(strstr(err->message, words + 1) != NULL,
				      "line %d (%s): message \"%s\" lacks "
				      "\"%s\"", c->lineno, how, err->message,
				      words + 1);
		return;
	}
	ck_assert_msg(rc == 0, "line %d (%s): %s: %s", c->lineno, how,
		      crdb_errcode_name(err->code), err->message);
	json_error_t jerr;
	json_t *want = json_loads(expected, 0, &jerr);
	ck_assert_msg(want != NULL, "line %d: bad expected JSON: %s",
		      c->lineno, jerr.text);
	json_t *got = summary(ev);
	char *a = dump(got), *b = dump(want);
	ck_assert_msg(strcmp(a, b) == 0, "line %d (%s):\n got %s\nwant %s",
		      c->lineno, how, a, b);
	free(a);
	free(b);
	json_decref(got);
	json_decref(want);
	crdb_event_clear(ev);
	ck_assert(event_is_zero(ev));
}

static PGresult *make_result(int nfields, const char *const *names,
			     const Oid *types, int format)
{
	PGresAttDesc attrs[4];
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_SINGLE_TUPLE);

	ck_assert(res != NULL && nfields <= 4);
	memset(attrs, 0, sizeof attrs);
	for (int i = 0; i < nfields; i++) {
		attrs[i].name = (char *)names[i];
		attrs[i].typid = types[i];
		attrs[i].format = format;
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	ck_assert(PQsetResultAttrs(res, nfields, attrs));
	return res;
}

static const char *const feed_names[3] = { "table", "key", "value" };
static const Oid feed_types[3] = { 25, 17, 17 };

static void run_case(const struct case_line *c, int format)
{
	struct column cols[3];
	crdb_decode_opts opts = { 0 };
	crdb_event ev;
	crdb_error err;
	PGresult *res;
	int rc;

	parse_options(c, c->field[0], &opts);
	for (int i = 0; i < 3; i++)
		make_column(c, c->field[1 + i], i > 0, format, &cols[i]);

	memset(&ev, 0x5a, sizeof ev); /* decode must not read it */
	crdb_error_clear(&err);
	rc = crdb_event_decode_raw(cols[0].bytes, cols[0].len, cols[1].bytes,
				   cols[1].len, cols[2].bytes, cols[2].len,
				   format, &opts, &ev, &err);
	check_outcome(c, format ? "raw binary" : "raw text", rc, &ev, &err);
	if (rc == 0)
		crdb_event_clear(&ev);

	res = make_result(3, feed_names, feed_types, format);
	for (int i = 0; i < 3; i++)
		ck_assert(PQsetvalue(res, 0, i, cols[i].bytes,
				     cols[i].bytes ? (int)cols[i].len : -1));
	memset(&ev, 0x5a, sizeof ev);
	crdb_error_clear(&err);
	rc = crdb_event_decode(res, &opts, &ev, &err);
	check_outcome(c, format ? "PGresult binary" : "PGresult text", rc,
		      &ev, &err);
	if (rc == 0)
		crdb_event_clear(&ev);
	PQclear(res);
	for (int i = 0; i < 3; i++)
		free(cols[i].bytes);
}

START_TEST(test_cases)
{
	struct case_file cf;
	int n = 0, runs = 0;

	cases_load_data("events.cases", &cf);
	for (size_t ci = 0; ci < cf.count; ci++) {
		const struct case_line *c = &cf.lines[ci];
		enum only only = ONLY_NONE;

		ck_assert_msg(c->nfields == 5, "line %d: %d fields", c->lineno,
			      c->nfields);
		for (int i = 1; i <= 3; i++) {
			enum only o = column_only(c->field[i]);
			if (o != ONLY_NONE) {
				ck_assert_msg(only == ONLY_NONE || only == o,
					      "line %d: text: and hex: mixed",
					      c->lineno);
				only = o;
			}
		}
		if (only != ONLY_BINARY) {
			run_case(c, 0);
			runs++;
		}
		if (only != ONLY_TEXT) {
			run_case(c, 1);
			runs++;
		}
		n++;
	}
	cases_free(&cf);
	ck_assert_int_gt(n, 80);
	ck_assert_int_gt(runs, 150);
}
END_TEST

/*
 * Built a second time with -DCHECK_EVENT_POSTGRES as check_event_pg, which
 * runs only this test case, so that check_event itself needs no server (CI runs
 * the unit tests under valgrind without crdbsim-env).
 *
 * The same cases through a real PostgreSQL (PG_DSN from crdbsim-env): the
 * raw column bytes go in as binary parameters and come back from
 * SELECT $1::text AS "table", $2::bytea AS key, $3::bytea AS value in text
 * (bytea as PostgreSQL's own \x hex) and in binary format, in single-row
 * mode as a changefeed is read. text: cases are skipped (their bytes are
 * the text form itself), and so are hex: table names.
 */
static void run_case_pg(PGconn *conn, const struct case_line *c, int format)
{
	struct column cols[3];
	crdb_decode_opts opts = { 0 };
	const char *values[3];
	int lengths[3], formats[3] = { 1, 1, 1 };
	crdb_event ev;
	crdb_error err;
	PGresult *res, *end;
	int rc;

	parse_options(c, c->field[0], &opts);
	for (int i = 0; i < 3; i++) {
		make_column(c, c->field[1 + i], false, 1, &cols[i]);
		values[i] = cols[i].bytes;
		lengths[i] = (int)cols[i].len;
	}
	ck_assert(PQsendQueryParams(conn, "SELECT $1::text AS \"table\", "
				    "$2::bytea AS key, $3::bytea AS value", 3,
				    NULL, values, lengths, formats, format));
	ck_assert(PQsetSingleRowMode(conn));
	res = PQgetResult(conn);
	ck_assert_msg(PQresultStatus(res) == PGRES_SINGLE_TUPLE, "line %d: %s",
		      c->lineno, PQresultErrorMessage(res));
	memset(&ev, 0x5a, sizeof ev);
	crdb_error_clear(&err);
	rc = crdb_event_decode(res, &opts, &ev, &err);
	check_outcome(c, format ? "PostgreSQL binary" : "PostgreSQL text", rc,
		      &ev, &err);
	if (rc == 0)
		crdb_event_clear(&ev);
	PQclear(res);
	end = PQgetResult(conn);
	ck_assert(PQresultStatus(end) == PGRES_TUPLES_OK);
	PQclear(end);
	ck_assert(PQgetResult(conn) == NULL);
	for (int i = 0; i < 3; i++)
		free(cols[i].bytes);
}

START_TEST(test_cases_postgres)
{
	const char *dsn = getenv("PG_DSN");
	struct case_file cf;
	PGconn *conn;
	int runs = 0;

	/* Every test runs inside crdbsim-env: a missing server is a failure. */
	ck_assert_msg(dsn && *dsn, "PG_DSN is not set (run under crdbsim-env)");
	conn = PQconnectdb(dsn);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s",
		      PQerrorMessage(conn));
	cases_load_data("events.cases", &cf);
	for (size_t ci = 0; ci < cf.count; ci++) {
		const struct case_line *c = &cf.lines[ci];
		bool text_only = false;

		for (int i = 1; i <= 3; i++)
			text_only |= column_only(c->field[i]) == ONLY_TEXT;
		/* PostgreSQL refuses invalid UTF-8 in a text parameter. */
		if (text_only || column_only(c->field[1]) == ONLY_BINARY)
			continue;
		run_case_pg(conn, c, 0);
		run_case_pg(conn, c, 1);
		runs += 2;
	}
	cases_free(&cf);
	PQfinish(conn);
	ck_assert_int_gt(runs, 150);
}
END_TEST

static int decode_shape(int nfields, const char *const *names,
			const Oid *types, ExecStatusType status, int nrows,
			crdb_error *err)
{
	crdb_decode_opts opts = { CRDB_ENVELOPE_WRAPPED, false };
	PGresAttDesc attrs[4];
	PGresult *res = PQmakeEmptyPGresult(NULL, status);
	crdb_event ev;
	int rc;

	memset(attrs, 0, sizeof attrs);
	for (int i = 0; i < nfields; i++) {
		attrs[i].name = (char *)names[i];
		attrs[i].typid = types[i];
		attrs[i].format = 1;
	}
	ck_assert(PQsetResultAttrs(res, nfields, attrs));
	for (int r = 0; r < nrows; r++) {
		for (int i = 0; i < nfields; i++) {
			const char *v = i == 0 ? "t" : i == 1 ? "[1]"
				      : "{\"after\": null}";
			ck_assert(PQsetvalue(res, r, i, (char *)v,
					     (int)strlen(v)));
		}
	}
	rc = crdb_event_decode(res, &opts, &ev, err);
	if (rc == 0)
		crdb_event_clear(&ev);
	else
		ck_assert(event_is_zero(&ev));
	PQclear(res);
	return rc;
}

START_TEST(test_result_shape)
{
	static const char *const two[2] = { "table", "key" };
	static const char *const four[4] = { "table", "key", "value", "x" };
	static const Oid four_types[4] = { 25, 17, 17, 25 };
	static const char *const renamed[3] = { "topic", "key", "value" };
	static const Oid text_value[3] = { 25, 17, 25 };
	static const Oid int_key[3] = { 25, 20, 17 };
	crdb_error err;

	/* The good shape, as a sanity check of the helper. */
	ck_assert_int_eq(decode_shape(3, feed_names, feed_types,
				      PGRES_SINGLE_TUPLE, 1, &err), 0);
	ck_assert_int_eq(decode_shape(3, feed_names, feed_types,
				      PGRES_TUPLES_OK, 1, &err), 0);

	ck_assert_int_eq(decode_shape(2, two, feed_types, PGRES_SINGLE_TUPLE,
				      1, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EPROTO);
	ck_assert_msg(strstr(err.message, "2 columns, expected 3"), "%s",
		      err.message);
	ck_assert_int_eq(decode_shape(4, four, four_types, PGRES_SINGLE_TUPLE,
				      1, &err), -1);
	ck_assert_msg(strstr(err.message, "4 columns"), "%s", err.message);
	ck_assert_int_eq(decode_shape(3, renamed, feed_types,
				      PGRES_SINGLE_TUPLE, 1, &err), -1);
	ck_assert_msg(strstr(err.message, "\"topic\", expected \"table\""),
		      "%s", err.message);
	ck_assert_int_eq(decode_shape(3, feed_names, text_value,
				      PGRES_SINGLE_TUPLE, 1, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EPROTO);
	ck_assert_msg(strstr(err.message, "value column has type OID 25, "
			     "expected 17"), "%s", err.message);
	ck_assert_int_eq(decode_shape(3, feed_names, int_key,
				      PGRES_SINGLE_TUPLE, 1, &err), -1);
	ck_assert_msg(strstr(err.message, "key column has type OID 20"), "%s",
		      err.message);
	ck_assert_int_eq(decode_shape(3, feed_names, feed_types,
				      PGRES_TUPLES_OK, 2, &err), -1);
	ck_assert_msg(strstr(err.message, "2 rows"), "%s", err.message);
	ck_assert_int_eq(decode_shape(3, feed_names, feed_types,
				      PGRES_TUPLES_OK, 0, &err), -1);
	ck_assert_msg(strstr(err.message, "0 rows"), "%s", err.message);
	ck_assert_int_eq(decode_shape(3, feed_names, feed_types,
				      PGRES_FATAL_ERROR, 0, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EPROTO);
	ck_assert_msg(strstr(err.message, "PGRES_FATAL_ERROR"), "%s",
		      err.message);
}
END_TEST

START_TEST(test_limits)
{
	crdb_decode_opts opts = { CRDB_ENVELOPE_WRAPPED, false };
	const size_t max = (size_t)64 << 20;
	crdb_event ev;
	crdb_error err;
	char *big, *deep;
	size_t n = 0;
	int rc;

	/* One byte over 64 MiB is refused before any parsing. */
	big = malloc(max + 1);
	ck_assert(big != NULL);
	memset(big, ' ', max + 1);
	rc = crdb_event_decode_raw("t", 1, "[1]", 3, big, max + 1, 1, &opts,
				   &ev, &err);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(err.code, CRDB_EPROTO);
	ck_assert_msg(strstr(err.message, "value column: 67108865 bytes "
			     "exceed the limit of 67108864"), "%s",
		      err.message);
	/* Exactly 64 MiB gets as far as the JSON parser. */
	memcpy(big, "{\"after\": null}", 15);
	rc = crdb_event_decode_raw("t", 1, "[1]", 3, big, max, 1, &opts, &ev,
				   &err);
	ck_assert_msg(rc == 0, "%s", err.message);
	crdb_event_clear(&ev);
	free(big);

	/* JSON nested deeper than 512 levels inside a row. */
	deep = malloc(2000);
	ck_assert(deep != NULL);
	n += (size_t)sprintf(deep, "{\"after\": {\"j\": ");
	for (int i = 0; i < 520; i++)
		deep[n++] = '[';
	for (int i = 0; i < 520; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n++] = '}';
	rc = crdb_event_decode_raw("t", 1, "[1]", 3, deep, n, 1, &opts, &ev,
				   &err);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(err.code, CRDB_EPROTO);
	ck_assert_msg(strstr(err.message, "value column") &&
		      strstr(err.message, "deeper than 512"), "%s",
		      err.message);
	free(deep);

	/* Bad arguments. */
	ck_assert_int_eq(crdb_event_decode_raw("t", 1, "[1]", 3, "{}", 2, 2,
					       &opts, &ev, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EINVAL);
	ck_assert_int_eq(crdb_event_decode_raw("t", 1, "[1]", 3, "{}", 2, 1,
					       NULL, &ev, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EINVAL);
	ck_assert_int_eq(crdb_event_decode(NULL, &opts, &ev, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EINVAL);
	/* err may be NULL */
	ck_assert_int_eq(crdb_event_decode_raw("t", 1, NULL, 0, "{}", 2, 1,
					       &opts, &ev, NULL), -1);
}
END_TEST

START_TEST(test_envelope_names)
{
	static const struct {
		const char *name;
		crdb_envelope envelope;
	} good[] = {
		{ "wrapped", CRDB_ENVELOPE_WRAPPED },
		{ "WRAPPED", CRDB_ENVELOPE_WRAPPED },
		{ "bare", CRDB_ENVELOPE_BARE },
		{ "row", CRDB_ENVELOPE_ROW },
		{ "deprecated_row", CRDB_ENVELOPE_ROW },
		{ "Key_Only", CRDB_ENVELOPE_KEY_ONLY },
		{ "enriched", CRDB_ENVELOPE_ENRICHED },
	};
	crdb_envelope e;
	crdb_error err;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		e = (crdb_envelope)-1;
		ck_assert_int_eq(crdb_envelope_parse(good[i].name, &e, &err),
				 0);
		ck_assert_int_eq(e, good[i].envelope);
	}
	ck_assert_int_eq(crdb_envelope_parse("nope", &e, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EINVAL);
	ck_assert_str_eq(err.message, "unknown envelope: nope");
	ck_assert_int_eq(crdb_envelope_parse("", &e, &err), -1);
	ck_assert_int_eq(crdb_envelope_parse(NULL, &e, &err), -1);

	ck_assert_str_eq(crdb_op_name(CRDB_OP_INSERT), "insert");
	ck_assert_str_eq(crdb_op_name(CRDB_OP_UPDATE), "update");
	ck_assert_str_eq(crdb_op_name(CRDB_OP_UPSERT), "upsert");
	ck_assert_str_eq(crdb_op_name(CRDB_OP_DELETE), "delete");
	ck_assert_str_eq(crdb_op_name(CRDB_OP_UNKNOWN), "unknown");
	ck_assert_str_eq(crdb_op_name((crdb_op)99), "unknown");
}
END_TEST

START_TEST(test_clear)
{
	crdb_event ev;

	memset(&ev, 0, sizeof ev);
	crdb_event_clear(&ev);
	crdb_event_clear(&ev);
	crdb_event_clear(NULL);
	ck_assert(event_is_zero(&ev));
}
END_TEST

static Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("core");
	TCase *pg = tcase_create("postgres");

	tcase_add_test(tc, test_cases);
	tcase_add_test(tc, test_result_shape);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_envelope_names);
	tcase_add_test(tc, test_clear);
	suite_add_tcase(s, tc);
	tcase_add_test(pg, test_cases_postgres);
	suite_add_tcase(s, pg);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(event_suite());
	int failed;

	/* check_event_pg runs the "postgres" case, check_event the rest. */
#ifdef CHECK_EVENT_POSTGRES
	srunner_run(sr, NULL, "postgres", CK_NORMAL);
#else
	srunner_run(sr, NULL, "core", CK_NORMAL);
#endif
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
