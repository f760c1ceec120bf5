/*
 * check_encode.c: crdbfeedd's output lines (daemon/line.c,
 * encode_fast.c, encode_direct.c) and checkpoints (daemon/checkpoint.c).
 * Rows are decoded by libcrdb from the cases in encode-cases/rows.txt as
 * crdbfeedd decodes them (number_text) and encoded by the fast encoder, the
 * reference and, where it takes the row, the direct path; every line must
 * match the case byte for byte. Checkpoints: round trip, forward only, no temporary file left,
 * a corrupt file is an error (never a silent restart from scratch).
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/checkpoint.h"
#include "daemon/encode.h"

static char *case_path(const char *name)
{
	const char *top = getenv("top_srcdir");
	static char path[4096];

	snprintf(path, sizeof(path), "%s/tests/daemon/encode-cases/%s",
		 top ? top : ".", name);
	return path;
}

/* Split "a | b | c" in place into at most max fields. */
static int split_fields(char *s, char **out, int max)
{
	int n = 0;

	while (n < max) {
		char *sep = n < max - 1 ? strstr(s, " | ") : NULL;

		out[n++] = s;
		if (!sep)
			break;
		*sep = '\0';
		s = sep + 3;
	}
	return n;
}

START_TEST(test_row_cases)
{
	FILE *f = fopen(case_path("rows.txt"), "r");
	char buf[8192];
	int lineno = 0, ncases = 0;

	ck_assert_msg(f != NULL, "cannot open %s", case_path("rows.txt"));
	while (fgets(buf, sizeof(buf), f)) {
		char *field[6];
		crdb_decode_opts opts = { 0 };
		crdb_event ev = { 0 };
		crdb_error err;
		struct line *line;
		char errbuf[128];
		bool null_table;

		lineno++;
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] == '#' || buf[0] == '\0')
			continue;
		ck_assert_int_eq(split_fields(buf, field, 6), 6);
		ck_assert_int_eq(crdb_envelope_parse(field[0], &opts.envelope, &err), 0);
		opts.diff = strcmp(field[1], "yes") == 0;
		opts.number_text = true; /* as crdbfeedd decodes */
		null_table = strcmp(field[2], "NULL") == 0;
		const char *value = strcmp(field[4], "EMPTY") == 0 ? "" : field[4];
		int rc = crdb_event_decode_raw(null_table ? NULL : field[2],
					       null_table ? 0 : strlen(field[2]),
					       null_table ? NULL : field[3],
					       null_table ? 0 : strlen(field[3]),
					       value, strlen(value), 1, &opts, &ev, &err);

		ck_assert_msg(rc == 0, "rows.txt:%d: decode: %s", lineno, err.message);
		if (ev.kind == CRDB_EVENT_RESOLVED) {
			line = line_new_resolved("f", ev.resolved);
		} else {
			struct line *other[2];

			line = line_new_row("f", &ev, opts.diff, errbuf, sizeof(errbuf));
			other[0] = line_new_row_json("f", &ev, opts.diff, errbuf,
						     sizeof(errbuf));
			ck_assert_msg(other[0] != NULL, "rows.txt:%d: reference failed",
				      lineno);
			other[1] = line_new_row_raw("f", field[2], strlen(field[2]),
						    field[3], strlen(field[3]), value,
						    strlen(value), &opts);
			for (int k = 0; k < 2; k++) {
				if (!other[k])
					continue;
				ck_assert_msg(other[k]->len == strlen(field[5]) + 1 &&
					      memcmp(other[k]->data, field[5],
						     other[k]->len - 1) == 0,
					      "rows.txt:%d (%s):\n got      %.*s\n expected %s",
					      lineno, k ? "direct" : "reference",
					      (int)other[k]->len - 1, other[k]->data, field[5]);
				line_unref(other[k]);
			}
		}
		ck_assert_msg(line != NULL, "rows.txt:%d: encode failed", lineno);
		ck_assert_msg(line->len == strlen(field[5]) + 1 &&
			      memcmp(line->data, field[5], line->len - 1) == 0 &&
			      line->data[line->len - 1] == '\n',
			      "rows.txt:%d:\n got      %.*s\n expected %s", lineno,
			      (int)line->len - 1, line->data, field[5]);
		ck_assert_int_eq(line->refs, 1);
		if (ev.kind == CRDB_EVENT_ROW) {
			ck_assert_int_eq(line->kind, LINE_ROW);
			ck_assert_str_eq(line->table, field[2]);
			ck_assert_int_eq(line->op, ev.op);
		} else {
			ck_assert_int_eq(line->kind, LINE_RESOLVED);
			ck_assert_ptr_null(line->table);
		}
		crdb_event_clear(&ev);
		line_unref(line);
		ncases++;
	}
	fclose(f);
	ck_assert_int_ge(ncases, 10);
}
END_TEST

/* Lines are byte counts, not C strings. */
static void assert_line(const struct line *line, const char *expected)
{
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(line->len == strlen(expected) &&
		      memcmp(line->data, expected, line->len) == 0,
		      "got %.*s expected %s", (int)line->len, line->data, expected);
}

/*
 * The direct path takes wrapped rows whatever their numbers (with
 * number_text) and writes each number's bytes; without number_text it
 * leaves every number it cannot prove jansson prints the same way to the
 * general path.
 */
START_TEST(test_numbers_direct)
{
	static const char key[] = "[123456789012345678901234567890]";
	static const char value[] =
		"{\"after\": {\"d\": 12345678901234567890.123456789012, "
		"\"e\": 1.0e400, \"f\": 1e-30, \"z\": -0, \"x\": [0.1, 2E+3]}}";
	static const char want[] =
		"{\"v\":1,\"type\":\"row\",\"feed\":\"f\",\"table\":\"t\","
		"\"key\":[123456789012345678901234567890],\"op\":\"upsert\","
		"\"after\":{\"d\":12345678901234567890.123456789012,\"e\":1.0e400,"
		"\"f\":1e-30,\"z\":-0,\"x\":[0.1,2E+3]}}\n";
	static const char *const bad[] = { "01", "1.", ".5", "1e", "-", "1e+", "+1", "0x1" };
	crdb_decode_opts opts = { .envelope = CRDB_ENVELOPE_WRAPPED, .number_text = true };
	struct line *line;
	char buf[128];

	line = line_new_row_raw("f", "t", 1, key, strlen(key), value, strlen(value),
				&opts);
	assert_line(line, want);
	line_unref(line);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"after\": {\"n\": %s}}", bad[i]);
		ck_assert_msg(line_new_row_raw("f", "t", 1, "[1]", 3, buf, strlen(buf),
					       &opts) == NULL, "direct took %s", bad[i]);
	}
	opts.number_text = false;
	ck_assert_ptr_null(line_new_row_raw("f", "t", 1, key, strlen(key), value,
					    strlen(value), &opts));
}
END_TEST

/*
 * The direct path reads an HLC's digits eight at a time: each timestamp
 * must give the line the decoder gives (same bytes, same line->updated),
 * or be refused by both. Bytes just outside '0'..'9' sit at every digit
 * position, and the int64 and int32 limits on either side.
 */
START_TEST(test_hlc_direct)
{
	static const char *const hlcs[] = {
		"1764000000000000000.0000000000", "9223372036854775807.2147483647",
		"9223372036854775808.0000000000", "1700000000000000000.2147483648",
		"12345678.0000000001", "1234567812345678.9999999999", "0.0000000000",
		"5.0000000001", "01.0000000001", "1.5", "17", "99999999999999999999.0000000000",
		"1700000000000000000.000000000", "1700000000000000000.00000000000",
	};
	crdb_decode_opts opts = { .envelope = CRDB_ENVELOPE_WRAPPED, .number_text = true };
	char hlc[64], value[160], errbuf[128];
	size_t n = sizeof(hlcs) / sizeof(hlcs[0]), base_len = strlen(hlcs[0]);

	for (size_t i = 0; i < n + 2 * base_len; i++) {
		struct line *direct, *general = NULL;
		crdb_event ev;
		crdb_error err;
		int len;

		if (i < n) {
			snprintf(hlc, sizeof(hlc), "%s", hlcs[i]);
		} else {
			size_t at = (i - n) / 2;

			snprintf(hlc, sizeof(hlc), "%s", hlcs[0]);
			hlc[at] = (i - n) % 2 ? '/' : ':';
		}
		len = snprintf(value, sizeof(value),
			       "{\"after\": {\"id\": 1}, \"updated\": \"%s\"}", hlc);
		direct = line_new_row_raw("f", "t", 1, "[1]", 3, value, (size_t)len, &opts);
		if (crdb_event_decode_raw("t", 1, "[1]", 3, value, (size_t)len, 1, &opts,
					  &ev, &err) == 0) {
			general = line_new_row_json("f", &ev, false, errbuf, sizeof(errbuf));
			ck_assert_ptr_nonnull(general);
			general->updated = ev.updated;
			crdb_event_clear(&ev);
		}
		ck_assert_msg((direct != NULL) == (general != NULL),
			      "%s: direct %s, decoder %s", hlc, direct ? "took it" : "refused",
			      general ? "took it" : "refused");
		if (direct) {
			ck_assert_msg(direct->len == general->len &&
				      memcmp(direct->data, general->data, direct->len) == 0,
				      "%s: %.*s", hlc, (int)direct->len, direct->data);
			ck_assert_msg(crdb_hlc_compare(direct->updated, general->updated) == 0,
				      "%s: updated %lld.%d", hlc, (long long)direct->updated.wall,
				      (int)direct->updated.logical);
			line_unref(direct);
			line_unref(general);
		}
	}
}
END_TEST

/* One single-row result of a statement whose columns are named names and
 * typed oids (key and value binary); a NULL field where values[i] is NULL. */
static PGresult *row_result(const char *const names[3], const Oid oids[3],
			    const char *const values[3])
{
	PGresAttDesc attrs[3];
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_SINGLE_TUPLE);

	ck_assert_ptr_nonnull(res);
	memset(attrs, 0, sizeof(attrs));
	for (int i = 0; i < 3; i++) {
		attrs[i].name = (char *)names[i];
		attrs[i].typid = oids[i];
		attrs[i].format = i > 0;
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	ck_assert(PQsetResultAttrs(res, 3, attrs));
	for (int i = 0; i < 3; i++)
		ck_assert(PQsetvalue(res, 0, i, (char *)values[i],
				     values[i] ? (int)strlen(values[i]) : -1));
	return res;
}

/*
 * The row description is checked on a statement's first row only: later
 * rows of the statement go direct (a NULL field still goes to the general
 * path), and a new statement whose description differs (a key column of
 * the wrong type, a misnamed column) is refused, by the general path,
 * with an error naming the column.
 */
START_TEST(test_row_desc_once)
{
	static const char *const names[3] = { "table", "key", "value" };
	static const char *const misnamed[3] = { "table", "key", "values" };
	static const Oid oids[3] = { 25, 17, 17 }, text_key[3] = { 25, 25, 17 };
	static const char *const row[3] = { "t", "[1]", "{\"after\": {\"a\": 1}}" };
	static const char *const resolved[3] = {
		NULL, NULL, "{\"resolved\": \"1.0000000000\"}" };
	static const char want[] =
		"{\"v\":1,\"type\":\"row\",\"feed\":\"f\",\"table\":\"t\","
		"\"key\":[1],\"op\":\"upsert\",\"after\":{\"a\":1}}\n";
	const struct {
		const char *const *names;
		const Oid *oids;
		const char *column; /* the general path's error names it */
	} wrong[2] = {
		{ names, text_key, "key column has type OID 25, expected 17" },
		{ misnamed, oids, "column 3 is named \"values\", expected \"value\"" }
	};
	crdb_decode_opts opts = { .envelope = CRDB_ENVELOPE_WRAPPED, .number_text = true };
	enum row_desc desc = ROW_DESC_UNCHECKED;
	PGresult *res;
	struct line *line;

	for (int i = 0; i < 3; i++) {
		res = row_result(names, oids, i == 1 ? resolved : row);
		line = line_new_row_described("f", res, &opts, &desc);
		ck_assert_int_eq(desc, ROW_DESC_DIRECT);
		if (i == 1) {
			ck_assert_ptr_null(line);
		} else {
			assert_line(line, want);
			line_unref(line);
		}
		PQclear(res);
	}
	for (int w = 0; w < 2; w++) {
		crdb_event ev = { 0 };
		crdb_error err = { 0 };

		desc = ROW_DESC_UNCHECKED; /* a new statement */
		for (int i = 0; i < 2; i++) {
			res = row_result(wrong[w].names, wrong[w].oids, row);
			ck_assert_ptr_null(line_new_row_described("f", res, &opts, &desc));
			ck_assert_int_eq(desc, ROW_DESC_OTHER);
			ck_assert(crdb_event_decode(res, &opts, &ev, &err) < 0);
			ck_assert_msg(strstr(err.message, wrong[w].column) != NULL,
				      "description %d refused with \"%s\"", w, err.message);
			PQclear(res);
		}
	}
}
END_TEST

START_TEST(test_control_lines)
{
	struct line *line = line_new_state("f", "reconnecting", "lost \"it\"\n", NULL);

	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(line->kind, LINE_STATE);
	assert_line(line,
		"{\"v\":1,\"type\":\"state\",\"feed\":\"f\",\"state\":\"reconnecting\",\"reason\":\"lost \\\"it\\\"\\n\"}\n");
	/* Shared by reference: the last unref frees it (valgrind/ASan see). */
	ck_assert_ptr_eq(line_ref(line), line);
	ck_assert_int_eq(line->refs, 2);
	line_unref(line);
	line_unref(line);

	line = line_new_state("f", "streaming", NULL, NULL);
	assert_line(line, "{\"v\":1,\"type\":\"state\",\"feed\":\"f\",\"state\":\"streaming\"}\n");
	line_unref(line);
	line = line_new_missed("f", 1234);
	assert_line(line, "{\"v\":1,\"type\":\"missed\",\"feed\":\"f\",\"missed\":1234}\n");
	line_unref(line);
	line = line_new_error("f", "too slow");
	assert_line(line, "{\"v\":1,\"type\":\"error\",\"feed\":\"f\",\"error\":\"too slow\"}\n");
	line_unref(line);
}
END_TEST

static char state_dir[64];

static void make_state_dir(void)
{
	snprintf(state_dir, sizeof(state_dir), "/tmp/check_encode.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(state_dir));
}

static void remove_state_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_checkpoint)
{
	char errbuf[256], path[256];
	crdb_hlc a = { 1700000000000000000, 2 }, b = { 1700000000000000000, 3 }, got;
	struct stat st;

	make_state_dir();
	ck_assert_int_eq(checkpoint_read(state_dir, "f", &got, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(checkpoint_write(state_dir, "f", b, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(checkpoint_read(state_dir, "f", &got, errbuf, sizeof(errbuf)), 1);
	ck_assert_int_eq(crdb_hlc_compare(got, b), 0);
	/* Only forward: an older timestamp leaves the file alone. */
	ck_assert_int_eq(checkpoint_write(state_dir, "f", a, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(checkpoint_read(state_dir, "f", &got, errbuf, sizeof(errbuf)), 1);
	ck_assert_int_eq(crdb_hlc_compare(got, b), 0);
	snprintf(path, sizeof(path), "%s/f.checkpoint.tmp", state_dir);
	ck_assert_int_ne(stat(path, &st), 0);
	/* The file is one line: the HLC. */
	snprintf(path, sizeof(path), "%s/f.checkpoint", state_dir);
	FILE *f = fopen(path, "r");
	char text[64] = "";
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(text, sizeof(text), f));
	fclose(f);
	ck_assert_str_eq(text, "1700000000000000000.0000000003\n");
	/* A corrupt file is an error, not "no checkpoint". */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("garbage\n", f);
	fclose(f);
	ck_assert_int_eq(checkpoint_read(state_dir, "f", &got, errbuf, sizeof(errbuf)), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "f.checkpoint"));
	remove_state_dir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("encode");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_row_cases);
	tcase_add_test(tc, test_numbers_direct);
	tcase_add_test(tc, test_hlc_direct);
	tcase_add_test(tc, test_row_desc_once);
	tcase_add_test(tc, test_control_lines);
	tcase_add_test(tc, test_checkpoint);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
