/*
 * check_types.c: the type registries (crdb_types_by_name/by_oid), value
 * conversion in text and binary (crdb_value_to_json) and crdb_row_to_json.
 * The cases are data: tests/unit/cases-data/types.cases and values.cases
 * (formats documented at their top).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdb.h"
#include "cases.h"

static const crdb_types *registry(const struct case_line *c, const char *s)
{
	if (strcmp(s, "crdb") == 0)
		return crdb_types_crdb();
	ck_assert_msg(strcmp(s, "pg") == 0, "line %d: bad registry %s",
		      c->lineno, s);
	return crdb_types_postgres();
}

/* "!CODE words": check err against it. */
static void check_error(const struct case_line *c, const char *expected,
			const crdb_error *err)
{
	char code[32];
	const char *words;

	words = strchr(expected, ' ');
	snprintf(code, sizeof code, "%.*s",
		 (int)(words ? (size_t)(words - expected - 1)
			     : strlen(expected + 1)), expected + 1);
	ck_assert_msg(strcmp(crdb_errcode_name(err->code), code) == 0,
		      "line %d: expected %s, got %s (%s)", c->lineno, code,
		      crdb_errcode_name(err->code), err->message);
	if (words)
		ck_assert_msg(strstr(err->message, words + 1) != NULL,
			      "line %d: message \"%s\" lacks \"%s\"",
			      c->lineno, err->message, words + 1);
	ck_assert_msg(strchr(err->message, '\n') == NULL,
		      "line %d: multi-line message", c->lineno);
}

START_TEST(test_lookups)
{
	struct case_file cf;
	int n = 0;

	cases_load_data("types.cases", &cf);
	for (size_t ci = 0; ci < cf.count; ci++) {
		const struct case_line *c = &cf.lines[ci];
		const crdb_types *t;
		const crdb_type_info *ti;
		crdb_error err;

		ck_assert_msg(c->nfields == 4, "line %d: %d fields", c->lineno,
			      c->nfields);
		t = registry(c, c->field[0]);
		crdb_error_clear(&err);
		if (strcmp(c->field[1], "name") == 0) {
			ti = crdb_types_by_name(t, c->field[2], &err);
		} else {
			char *end;
			unsigned long oid = strtoul(c->field[2], &end, 10);
			ck_assert_msg(strcmp(c->field[1], "oid") == 0 && !*end,
				      "line %d: bad case", c->lineno);
			ti = crdb_types_by_oid(t, (uint32_t)oid, &err);
		}
		if (c->field[3][0] == '!') {
			ck_assert_msg(ti == NULL, "line %d: %s found",
				      c->lineno, c->field[2]);
			check_error(c, c->field[3], &err);
		} else {
			char got[128];
			ck_assert_msg(ti != NULL, "line %d: %s: %s", c->lineno,
				      c->field[2], err.message);
			snprintf(got, sizeof got, "%s %u %u", ti->name,
				 (unsigned)ti->oid, (unsigned)ti->array_oid);
			ck_assert_msg(strcmp(got, c->field[3]) == 0,
				      "line %d: %s gave %s, expected %s",
				      c->lineno, c->field[2], got, c->field[3]);
			ck_assert_int_eq(err.code, CRDB_OK);
		}
		n++;
	}
	cases_free(&cf);
	ck_assert_int_gt(n, 150);
}
END_TEST

/* Hex digits (spaces ignored, "-" = none) into buf; returns the length. */
static size_t unhex(const struct case_line *c, const char *s, char *buf,
		    size_t size)
{
	size_t n = 0;
	int half = -1;

	if (strcmp(s, "-") == 0)
		return 0;
	for (; *s; s++) {
		int v;
		if (*s == ' ')
			continue;
		ck_assert_msg(sscanf((char[]){ *s, 0 }, "%x", &v) == 1,
			      "line %d: bad hex", c->lineno);
		if (half < 0) {
			half = v;
		} else {
			ck_assert(n < size);
			buf[n++] = (char)(half << 4 | v);
			half = -1;
		}
	}
	ck_assert_msg(half < 0, "line %d: odd hex", c->lineno);
	return n;
}

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
			     JSON_ENCODE_ANY);
	ck_assert(s != NULL);
	return s;
}

static void check_json(const struct case_line *c, const json_t *got,
		       const char *expected)
{
	json_error_t jerr;
	json_t *want = json_loads(expected, JSON_DECODE_ANY | JSON_ALLOW_NUL,
				  &jerr);
	char *a, *b;

	ck_assert_msg(want != NULL, "line %d: bad expected JSON: %s",
		      c->lineno, jerr.text);
	a = dump(got);
	b = dump(want);
	ck_assert_msg(strcmp(a, b) == 0, "line %d: got %s, expected %s",
		      c->lineno, a, b);
	free(a);
	free(b);
	json_decref(want);
}

START_TEST(test_values)
{
	struct case_file cf;
	static char bytes[4096];
	int n = 0;

	cases_load_data("values.cases", &cf);
	for (size_t ci = 0; ci < cf.count; ci++) {
		const struct case_line *c = &cf.lines[ci];
		const crdb_types *t;
		const char *input;
		json_t *instr = NULL, *got;
		size_t len;
		int format;
		crdb_error err;

		ck_assert_msg(c->nfields == 5, "line %d: %d fields", c->lineno,
			      c->nfields);
		t = registry(c, c->field[0]);
		if (strcmp(c->field[2], "t") == 0) {
			json_error_t jerr;
			format = 0;
			instr = json_loads(c->field[3], JSON_DECODE_ANY |
					   JSON_ALLOW_NUL, &jerr);
			ck_assert_msg(json_is_string(instr),
				      "line %d: input is not a JSON string",
				      c->lineno);
			input = json_string_value(instr);
			len = json_string_length(instr);
		} else {
			ck_assert_msg(strcmp(c->field[2], "b") == 0,
				      "line %d: bad format", c->lineno);
			format = 1;
			len = unhex(c, c->field[3], bytes, sizeof bytes);
			input = bytes;
		}
		crdb_error_clear(&err);
		got = crdb_value_to_json(t, (uint32_t)atol(c->field[1]), input,
					 len, format, &err);
		if (c->field[4][0] == '!') {
			ck_assert_msg(got == NULL, "line %d: no error",
				      c->lineno);
			check_error(c, c->field[4], &err);
		} else {
			ck_assert_msg(got != NULL, "line %d: %s: %s", c->lineno,
				      crdb_errcode_name(err.code),
				      err.message);
			check_json(c, got, c->field[4]);
			json_decref(got);
		}
		json_decref(instr);
		n++;
	}
	cases_free(&cf);
	ck_assert_int_gt(n, 150);
}
END_TEST

/* Values the cases cannot hold conveniently. */
START_TEST(test_value_edges)
{
	const crdb_types *t = crdb_types_crdb();
	crdb_error err;
	json_t *j;
	char *deep;
	size_t n = 0;

	/* NULL is json null whatever the type. */
	j = crdb_value_to_json(t, 20, NULL, 0, 1, &err);
	ck_assert(json_is_null(j));
	json_decref(j);

	/* Nesting beyond the bound (512) is refused before jansson. */
	deep = malloc(2000);
	ck_assert(deep != NULL);
	for (int i = 0; i < 600; i++)
		deep[n++] = '[';
	for (int i = 0; i < 600; i++)
		deep[n++] = ']';
	j = crdb_value_to_json(t, 3802, deep, n, 0, &err);
	ck_assert(j == NULL);
	ck_assert_int_eq(err.code, CRDB_EPROTO);
	ck_assert_msg(strstr(err.message, "deeper than 512") != NULL, "%s",
		      err.message);
	/* ... and the bound itself is accepted. */
	n = 0;
	for (int i = 0; i < 512; i++)
		deep[n++] = '[';
	for (int i = 0; i < 512; i++)
		deep[n++] = ']';
	j = crdb_value_to_json(t, 3802, deep, n, 0, &err);
	ck_assert_msg(json_is_array(j), "%s", err.message);
	json_decref(j);
	free(deep);

	/* Bad arguments. */
	ck_assert(crdb_value_to_json(t, 20, "1", 1, 2, &err) == NULL);
	ck_assert_int_eq(err.code, CRDB_EINVAL);
	ck_assert(crdb_value_to_json(NULL, 20, "1", 1, 0, &err) == NULL);
	ck_assert_int_eq(err.code, CRDB_EINVAL);
	/* err may be NULL. */
	ck_assert(crdb_value_to_json(t, 20, "x", 1, 0, NULL) == NULL);
	ck_assert(crdb_types_by_name(t, "int4range", NULL) == NULL);
}
END_TEST

static PGresult *make_result(int nfields, PGresAttDesc *attrs)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

	ck_assert(res != NULL);
	ck_assert(PQsetResultAttrs(res, nfields, attrs));
	return res;
}

START_TEST(test_row_to_json)
{
	PGresAttDesc attrs[] = {
		{ .name = (char *)"id", .typid = 20, .format = 0 },
		{ .name = (char *)"name", .typid = 25, .format = 0 },
		{ .name = (char *)"price", .typid = 1700, .format = 1 },
		{ .name = (char *)"tags", .typid = 1009, .format = 0 },
		{ .name = (char *)"doc", .typid = 3802, .format = 1 },
		{ .name = (char *)"gone", .typid = 16, .format = 0 },
	};
	static const char price[] = { 0, 2, 0, 0, 0, 0, 0, 2, 0, 22,
				      0x0b, (char)0xb8 };
	static const char doc[] = "\x01{\"k\": [1, \"v\"]}";
	PGresult *res = make_result(6, attrs);
	struct case_line c = { .lineno = 0 };
	crdb_error err;
	json_t *row;

	ck_assert(PQsetvalue(res, 0, 0, (char *)"42", 2));
	ck_assert(PQsetvalue(res, 0, 1, (char *)"Petee H", 7));
	ck_assert(PQsetvalue(res, 0, 2, (char *)price, sizeof price));
	ck_assert(PQsetvalue(res, 0, 3, (char *)"{a,NULL}", 8));
	ck_assert(PQsetvalue(res, 0, 4, (char *)doc, sizeof doc - 1));
	ck_assert(PQsetvalue(res, 0, 5, NULL, -1));
	row = crdb_row_to_json(crdb_types_crdb(), res, 0, &err);
	ck_assert_msg(row != NULL, "%s", err.message);
	check_json(&c, row, "{\"doc\": {\"k\": [1, \"v\"]}, \"gone\": null, "
		   "\"id\": 42, \"name\": \"Petee H\", \"price\": 22.3, "
		   "\"tags\": [\"a\", null]}");
	json_decref(row);

	/* No such row. */
	ck_assert(crdb_row_to_json(crdb_types_crdb(), res, 1, &err) == NULL);
	ck_assert_int_eq(err.code, CRDB_EINVAL);

	/* A bad value names its column. */
	ck_assert(PQsetvalue(res, 1, 0, (char *)"4x2", 3));
	ck_assert(PQsetvalue(res, 1, 1, NULL, -1));
	ck_assert(PQsetvalue(res, 1, 2, NULL, -1));
	ck_assert(PQsetvalue(res, 1, 3, NULL, -1));
	ck_assert(PQsetvalue(res, 1, 4, NULL, -1));
	ck_assert(PQsetvalue(res, 1, 5, NULL, -1));
	ck_assert(crdb_row_to_json(crdb_types_crdb(), res, 1, &err) == NULL);
	ck_assert_int_eq(err.code, CRDB_EPROTO);
	ck_assert_msg(strstr(err.message, "column 1 (id)") != NULL, "%s",
		      err.message);
	PQclear(res);
}
END_TEST

static Suite *types_suite(void)
{
	Suite *s = suite_create("types");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_lookups);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_value_edges);
	tcase_add_test(tc, test_row_to_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(types_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
