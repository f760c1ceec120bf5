/*
 * check_line_fields.c: reading row lines back (daemon/line_fields.c).
 * Lines come from the real encoders (libcrdb decodes as crdbfeedd does,
 * line_new_row / line_new_row_json / line_new_row_raw, then
 * line_new_sequenced): the key must come back byte for byte, the split
 * parts rebuilt by line_new_row_body must be the line the encoder writes
 * for another feed's name, byte for byte. Every cut of a line, every byte changed
 * into something the layout does not allow, must be refused with one line
 * naming the offset, and no read may pass len (each input is copied into
 * a buffer of exactly its size: ASan and valgrind see over-reads).
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/encode.h"
#include "daemon/line_fields.h"

struct row_case {
	const char *envelope;
	bool diff;
	const char *table, *key, *value;
	const char *want_key;    /* the key as the line carries it */
	const char *want_table;  /* the "table" string as written */
};

static const struct row_case cases[] = {
	{ "wrapped", true, "t", "[1]",
	  "{\"after\": {\"id\": 1}, \"before\": null, \"updated\": \"1.0000000002\"}",
	  "[1]", "t" },
	/* nested key values */
	{ "wrapped", false, "db.public.t", "[\"a\", {\"x\": [1, 2, {\"y\": null}]}, [[], {}]]",
	  "{\"after\": {\"j\": {\"x\": [1, 2, {\"y\": null}]}}, \"updated\": \"3.0000000000\"}",
	  "[\"a\",{\"x\":[1,2,{\"y\":null}]},[[],{}]]", "db.public.t" },
	/* escapes in the key and the row */
	{ "wrapped", false, "t", "[\"a\\\"b\\\\c\\n\\u0001/\"]",
	  "{\"after\": {\"s\": \"q\\\"\\\\\\t\"}, \"updated\": \"4.0000000000\"}",
	  "[\"a\\\"b\\\\c\\n\\u0001/\"]", "t" },
	/* unicode, escaped and not, surrogate pairs */
	{ "wrapped", false, "t\xc3\xa9", "[\"\\u00e9\xe2\x82\xac\\ud83d\\ude00\xf0\x9f\x98\x80\"]",
	  "{\"after\": {\"s\": \"\xe4\xb8\xad\"}, \"updated\": \"5.0000000000\"}",
	  "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"]", "t\xc3\xa9" },
	/* large numbers keep their digits */
	{ "wrapped", false, "t", "[123456789012345678901234567890, -1.5e-300, 0]",
	  "{\"after\": {\"d\": 1.0E+400, \"i\": 9223372036854775808}, \"updated\": \"6.0000000000\"}",
	  "[123456789012345678901234567890,-1.5e-300,0]", "t" },
	/* a table name that needs escaping */
	{ "wrapped", false, "we\"ird\\t", "[7]", "{\"after\": null, \"updated\": \"7.0000000000\"}",
	  "[7]", "we\\\"ird\\\\t" },
	/* mvcc_timestamp, no updated */
	{ "wrapped", false, "t", "[8]",
	  "{\"after\": {\"id\": 8}, \"mvcc_timestamp\": \"8.0000000001\"}", "[8]", "t" },
	/* key_only: no "after", op unknown */
	{ "key_only", false, "t", "[9]", "", "[9]", "t" },
	/* bare */
	{ "bare", false, "t", "[10]",
	  "{\"__crdb__\": {\"updated\": \"10.0000000000\"}, \"d\": 2.5e-7}", "[10]", "t" },
};

/* A copy of exactly len bytes (no terminator): over-reads show. */
static char *exact(const char *data, size_t len)
{
	char *copy = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, data, len);
	return copy;
}

static crdb_event decode_case(const struct row_case *c)
{
	crdb_decode_opts opts = { 0 };
	crdb_event ev = { 0 };
	crdb_error err;

	ck_assert_int_eq(crdb_envelope_parse(c->envelope, &opts.envelope, &err), 0);
	opts.diff = c->diff;
	opts.number_text = true; /* as crdbfeedd decodes */
	ck_assert_msg(crdb_event_decode_raw(c->table, strlen(c->table), c->key,
					    strlen(c->key), c->value,
					    strlen(c->value), 1, &opts, &ev,
					    &err) == 0,
		      "decode %s: %s", c->key, err.message);
	return ev;
}

static void assert_bytes(const char *got, size_t got_len, const char *want)
{
	ck_assert_msg(got_len == strlen(want) && memcmp(got, want, got_len) == 0,
		      "got %.*s, want %s", (int)got_len, got, want);
}

static void check_line(const struct row_case *c, const struct line *row,
		       const struct line *expect_relay)
{
	static const struct {
		uint64_t seq;
		bool late, group_end, newline;
	} tails[] = { { 1, false, false, true },
		      { UINT64_MAX, true, false, true },
		      { 42, false, true, false },
		      { 10, true, true, false } };
	char errbuf[160];
	const char *key;
	size_t key_len;
	char *copy;

	/* The unsequenced row: a key, but no split (no seq). */
	copy = exact(row->data, row->len);
	ck_assert_int_eq(line_row_key(copy, row->len, &key, &key_len, errbuf,
				      sizeof errbuf), 0);
	assert_bytes(key, key_len, c->want_key);
	{
		struct line_row_parts p;

		ck_assert_int_eq(line_row_split(copy, row->len, &p, errbuf,
						sizeof errbuf), -1);
		ck_assert_msg(strstr(errbuf, "no ,\"seq\"") && strstr(errbuf, "at byte"),
			      "%s", errbuf);
	}
	free(copy);

	for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
		struct line *seq = line_new_sequenced(row->data, row->len, row->op,
						      row->table, strlen(row->table),
						      row->updated, tails[t].seq,
						      tails[t].late, tails[t].group_end);
		size_t len = seq->len - (tails[t].newline ? 0 : 1);
		struct line_row_parts p;
		struct line *relay;

		ck_assert_ptr_nonnull(seq);
		copy = exact(seq->data, len);
		ck_assert_msg(line_row_split(copy, len, &p, errbuf, sizeof errbuf) == 0,
			      "%.*s: %s", (int)len, copy, errbuf);
		assert_bytes(p.key, p.key_len, c->want_key);
		assert_bytes(p.table, p.table_len, c->want_table);
		ck_assert_int_eq(p.op, row->op);
		ck_assert_uint_eq(p.seq, tails[t].seq);
		ck_assert_int_eq(p.late, tails[t].late);
		if (row->updated.wall || row->updated.logical) {
			crdb_hlc u;

			ck_assert_ptr_nonnull(p.updated);
			ck_assert_int_eq(crdb_hlc_parse(p.updated, p.updated_len,
							&u, NULL), 0);
			ck_assert_int_eq(crdb_hlc_compare(u, row->updated), 0);
		} else if (!strstr(row->data, "\"updated\"")) {
			ck_assert_ptr_null(p.updated);
		}
		relay = line_new_row_body("relay", p.body, p.body_len, p.op,
					  row->table, strlen(row->table),
					  row->updated);
		ck_assert_ptr_nonnull(relay);
		ck_assert_msg(relay->len == expect_relay->len &&
			      memcmp(relay->data, expect_relay->data, relay->len) == 0,
			      "rebuilt %.*s\nwant    %.*s", (int)relay->len,
			      relay->data, (int)expect_relay->len,
			      expect_relay->data);
		ck_assert_int_eq(relay->kind, LINE_ROW);
		ck_assert_int_eq(relay->op, expect_relay->op);
		ck_assert_uint_eq(relay->seq, 0);
		ck_assert_str_eq(relay->table, row->table);
		ck_assert_int_eq(crdb_hlc_compare(relay->updated, row->updated), 0);
		ck_assert_int_eq(line_row_key(copy, len, &key, &key_len, errbuf,
					      sizeof errbuf), 0);
		assert_bytes(key, key_len, c->want_key);
		line_unref(relay);
		free(copy);
		line_unref(seq);
	}
}

START_TEST(test_encoded_rows)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct row_case *c = &cases[i];
		crdb_event ev = decode_case(c);
		crdb_decode_opts opts = { 0 };
		crdb_error err;
		char errbuf[160];
		struct line *fast, *ref, *direct, *relay;

		ck_assert_int_eq(crdb_envelope_parse(c->envelope, &opts.envelope, &err), 0);
		opts.diff = c->diff;
		opts.number_text = true;
		fast = line_new_row("f", &ev, c->diff, errbuf, sizeof errbuf);
		ref = line_new_row_json("f", &ev, c->diff, errbuf, sizeof errbuf);
		direct = line_new_row_raw("f", c->table, strlen(c->table), c->key,
					  strlen(c->key), c->value, strlen(c->value),
					  &opts);
		relay = line_new_row("relay", &ev, c->diff, errbuf, sizeof errbuf);
		ck_assert_ptr_nonnull(fast);
		ck_assert_ptr_nonnull(ref);
		ck_assert_ptr_nonnull(relay);
		check_line(c, fast, relay);
		check_line(c, ref, relay);
		if (direct)
			check_line(c, direct, relay);
		line_unref(fast);
		line_unref(ref);
		line_unref(direct);
		line_unref(relay);
		crdb_event_clear(&ev);
	}
}
END_TEST

/* Refused, with the offset named. */
static void assert_refused(const char *line, size_t len, const char *what,
			   size_t at)
{
	char errbuf[160], want[64];
	char *copy = exact(line, len);
	struct line_row_parts p;
	const char *key;
	size_t key_len;

	ck_assert_msg(line_row_split(copy, len, &p, errbuf, sizeof errbuf) == -1,
		      "split took %.*s", (int)len, line);
	ck_assert_msg(strstr(errbuf, what) != NULL, "%.*s: %s (want %s)",
		      (int)len, line, errbuf, what);
	snprintf(want, sizeof want, "byte %zu", at);
	ck_assert_msg(strstr(errbuf, want) != NULL, "%.*s: %s (want %s)",
		      (int)len, line, errbuf, want);
	ck_assert_ptr_null(memchr(errbuf, '\n', strlen(errbuf)));
	if (!strstr(what, "seq") && !strstr(what, "null"))
		ck_assert_int_eq(line_row_key(copy, len, &key, &key_len, errbuf,
					      sizeof errbuf), -1);
	free(copy);
}

#define REFUSED(line, what, at) assert_refused(line, sizeof(line) - 1, what, at)

#define GOOD_HEAD "{\"v\":1,\"type\":\"row\",\"feed\":\"f\",\"table\":\"t\",\"key\":"

START_TEST(test_refused)
{
	static const char good[] = GOOD_HEAD "[1],\"op\":\"upsert\",\"after\":{\"a\":1},"
				   "\"updated\":\"1.0000000000\",\"seq\":7}\n";
	char errbuf[160];
	struct line_row_parts p;

	ck_assert_int_eq(line_row_split(good, sizeof good - 1, &p, errbuf, sizeof errbuf), 0);
	/* Every cut short of the whole line (the '\n' is optional). */
	for (size_t n = 0; n + 1 < sizeof good - 1; n++) {
		char *copy = exact(good, n);

		ck_assert_msg(line_row_split(copy, n, &p, errbuf, sizeof errbuf) == -1,
			      "took %zu bytes", n);
		ck_assert_msg(strstr(errbuf, "byte"), "%s", errbuf);
		free(copy);
	}
	REFUSED("", "ends at byte 0", 0);
	REFUSED("{\"v\":1,\"type\":\"resolved\",\"feed\":\"f\",\"resolved\":\"1.0000000000\"}",
		"not a v1 row line", 0);
	REFUSED("{\"v\":2,\"type\":\"row\"", "not a v1 row line", 0);
	REFUSED("{\"v\":1, \"type\":\"row\"", "not a v1 row line", 0);
	REFUSED(GOOD_HEAD "[1],\"op\":\"merge\",\"seq\":1}", "unknown \"op\"", 58);
	REFUSED(GOOD_HEAD "[1],\"op\":\"upsert\",\"x\":1,\"seq\":1}", "expected '}'", 66);
	REFUSED(GOOD_HEAD "[1],\"op\":\"upsert\",\"seq\":1}\n\n", "bytes after the line", 76);
	REFUSED(GOOD_HEAD "[1],\"op\":\"upsert\",\"seq\":1} ", "bytes after the line", 75);
	REFUSED(GOOD_HEAD "[1] ,\"op\":\"upsert\",\"seq\":1}", "expected ,\"op\"", 52);
	REFUSED(GOOD_HEAD "1,\"op\":\"upsert\",\"seq\":1}", "not an array or object", 49);
	REFUSED(GOOD_HEAD "[\"\\x\"],\"op\":\"upsert\",\"seq\":1}", "bad escape", 51);
	REFUSED(GOOD_HEAD "[\"\\ud800\"],\"op\":\"upsert\",\"seq\":1}", "bad \\u escape", 51);
	REFUSED(GOOD_HEAD "[\"\\udc00\"],\"op\":\"upsert\",\"seq\":1}", "bad \\u escape", 51);
	REFUSED(GOOD_HEAD "[\"\\ud800\\u0041\"],\"op\":\"upsert\",\"seq\":1}", "bad \\u escape", 51);
	REFUSED(GOOD_HEAD "[\"\\u12g4\"],\"op\":\"upsert\",\"seq\":1}", "bad \\u escape", 51);
	REFUSED(GOOD_HEAD "[\"\xff\"],\"op\":\"upsert\",\"seq\":1}", "invalid UTF-8", 51);
	REFUSED(GOOD_HEAD "[\"\xc0\xaf\"],\"op\":\"upsert\",\"seq\":1}", "invalid UTF-8", 51);
	REFUSED(GOOD_HEAD "[\"a\tb\"],\"op\":\"upsert\",\"seq\":1}", "control byte", 52);
	REFUSED(GOOD_HEAD "[01],\"op\":\"upsert\",\"seq\":1}", "bad number", 50);
	REFUSED(GOOD_HEAD "[1.],\"op\":\"upsert\",\"seq\":1}", "bad number", 52);
	REFUSED(GOOD_HEAD "[1e+],\"op\":\"upsert\",\"seq\":1}", "bad number", 53);
	REFUSED(GOOD_HEAD "[-],\"op\":\"upsert\",\"seq\":1}", "bad number", 51);
	REFUSED(GOOD_HEAD "[1,],\"op\":\"upsert\",\"seq\":1}", "expected a JSON value", 52);
	REFUSED(GOOD_HEAD "[1}],\"op\":\"upsert\",\"seq\":1}", "expected ',' or ']'", 51);
	REFUSED(GOOD_HEAD "[{\"a\" :1}],\"op\":\"upsert\",\"seq\":1}", "expected ':'", 54);
	REFUSED(GOOD_HEAD "[{1:1}],\"op\":\"upsert\",\"seq\":1}", "expected a string", 51);
	REFUSED(GOOD_HEAD "[tru],\"op\":\"upsert\",\"seq\":1}", "expected a JSON value", 50);
	REFUSED(GOOD_HEAD "[1],\"op\":\"upsert\",\"seq\":01}", "bad \"seq\"", 73);
	REFUSED(GOOD_HEAD "[1],\"op\":\"upsert\",\"seq\":18446744073709551616}",
		"\"seq\" out of range", 73);
	REFUSED(GOOD_HEAD "[1],\"op\":\"upsert\",\"seq\":1,\"group_end\":true,\"late\":true}",
		"expected '}'", 91);
	REFUSED(GOOD_HEAD "[1],\"op\":\"upsert\"}", "no ,\"seq\"", 66);
	REFUSED("{\"v\":1,\"type\":\"row\",\"feed\":\"f\",\"table\":null,\"key\":[1],"
		"\"op\":\"upsert\",\"seq\":1}", "the table is null", 39);
	/* The seq's largest value is taken. */
	{
		static const char max[] = GOOD_HEAD "[1],\"op\":\"upsert\",\"seq\":18446744073709551615}";

		ck_assert_int_eq(line_row_split(max, sizeof max - 1, &p, errbuf, sizeof errbuf), 0);
		ck_assert_uint_eq(p.seq, UINT64_MAX);
	}
}
END_TEST

/* A key nested 512 levels is taken, 513 refused; no recursion either way. */
START_TEST(test_depth)
{
	size_t head = strlen(GOOD_HEAD);
	static const char tail[] = ",\"op\":\"upsert\",\"seq\":1}";
	char buf[2048], errbuf[160];
	const char *key;
	size_t key_len, len;

	for (size_t depth = 512; depth <= 513; depth++) {
		len = 0;
		memcpy(buf, GOOD_HEAD, head);
		len = head;
		for (size_t i = 0; i < depth; i++)
			buf[len++] = '[';
		for (size_t i = 0; i < depth; i++)
			buf[len++] = ']';
		memcpy(buf + len, tail, sizeof tail - 1);
		len += sizeof tail - 1;
		int rc = line_row_key(buf, len, &key, &key_len, errbuf, sizeof errbuf);
		if (depth == 512) {
			ck_assert_msg(rc == 0, "%s", errbuf);
			ck_assert_uint_eq(key_len, 1024);
		} else {
			ck_assert_int_eq(rc, -1);
			ck_assert_ptr_nonnull(strstr(errbuf, "nested deeper than 512 levels at byte"));
		}
	}
	/* Objects and arrays interleaved close in their own order. */
	static const char mixed[] = GOOD_HEAD "[{\"a\":[{\"b\":{}}]},[]],\"op\":\"upsert\"}";
	ck_assert_int_eq(line_row_key(mixed, sizeof mixed - 1, &key, &key_len, errbuf, sizeof errbuf), 0);
	assert_bytes(key, key_len, "[{\"a\":[{\"b\":{}}]},[]]");
	static const char crossed[] = GOOD_HEAD "[{\"a\":[{\"b\":{]}]},[]],\"op\":\"upsert\"}";
	ck_assert_int_eq(line_row_key(crossed, sizeof crossed - 1, &key, &key_len, errbuf, sizeof errbuf), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "expected a string at byte 62"));
}
END_TEST

/* A short error buffer still gets a terminated message. */
START_TEST(test_short_errbuf)
{
	char tiny[8];
	const char *key;
	size_t key_len;

	memset(tiny, 'x', sizeof tiny);
	ck_assert_int_eq(line_row_key("{", 1, &key, &key_len, tiny, sizeof tiny), -1);
	ck_assert_ptr_nonnull(memchr(tiny, '\0', sizeof tiny));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("line_fields");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_encoded_rows);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_short_errbuf);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
