/*
 * check_webhook_body.c: the webhook body parser (daemon/webhook_body.c) on
 * batches as CockroachDB's webhook sink writes them (wrapped envelope with
 * key and topic in the value, diff, deletes, nested values, numbers past
 * double's range, escapes), on resolved bodies, and on every refusal with
 * its message; each parsed message must decode with libcrdb as the same
 * row a sinkless feed would have sent, and give the same line.
 */
#include <config.h> /* autoconf's, from the build directory */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/encode.h"
#include "daemon/webhook_body.h"

static struct webhook_body parse_ok(const char *body,
				    const struct webhook_body_limits *lim)
{
	struct webhook_body b;
	char errbuf[256] = "unset";

	ck_assert_msg(webhook_body_parse(body, strlen(body), lim, &b, errbuf,
					 sizeof errbuf) == 0,
		      "refused %s: %s", body, errbuf);
	ck_assert_str_eq(errbuf, "");
	return b;
}

static void assert_msg(const struct webhook_msg *m, const char *table,
		       const char *key, const char *value)
{
	ck_assert_uint_eq(m->table_len, strlen(table));
	ck_assert_mem_eq(m->table, table, m->table_len);
	ck_assert_uint_eq(m->key_len, strlen(key));
	ck_assert_mem_eq(m->key, key, m->key_len);
	ck_assert_msg(m->value_len == strlen(value) &&
		      memcmp(m->value, value, m->value_len) == 0,
		      "value\n got      %.*s\n expected %s", (int)m->value_len,
		      m->value, value);
	/* Each part is also a C string. */
	ck_assert_int_eq(m->table[m->table_len], '\0');
	ck_assert_int_eq(m->key[m->key_len], '\0');
	ck_assert_int_eq(m->value[m->value_len], '\0');
}

/*
 * What a sinkless feed would have sent for this message (its table, key
 * and value columns) must decode, and give the same line through the
 * general path (line_new_row of the decoded event) and, when it takes it,
 * the direct one (line_new_row_raw).
 */
static void assert_decodes(const struct webhook_msg *m, bool diff,
			   crdb_op op)
{
	crdb_decode_opts opts = {.envelope = CRDB_ENVELOPE_WRAPPED, .diff = diff,
				 .number_text = true};
	crdb_event ev;
	crdb_error err;
	char errbuf[128];

	ck_assert_msg(crdb_event_decode_raw(m->table, m->table_len, m->key,
					    m->key_len, m->value, m->value_len, 1,
					    &opts, &ev, &err) == 0,
		      "decode %s: %s", m->value, err.message);
	ck_assert_int_eq(ev.kind, CRDB_EVENT_ROW);
	ck_assert_int_eq(ev.op, op);
	ck_assert_str_eq(ev.table, m->table);
	struct line *general = line_new_row("f", &ev, diff, errbuf, sizeof errbuf);
	ck_assert_msg(general != NULL, "line_new_row: %s", errbuf);
	struct line *direct = line_new_row_raw("f", m->table, m->table_len, m->key,
					       m->key_len, m->value, m->value_len,
					       &opts);
	if (direct) {
		ck_assert_msg(direct->len == general->len &&
			      memcmp(direct->data, general->data, general->len) == 0,
			      "direct %.*s\ngeneral %.*s", (int)direct->len,
			      direct->data, (int)general->len, general->data);
		line_unref(direct);
	}
	line_unref(general);
	crdb_event_clear(&ev);
}

START_TEST(test_batch)
{
	/* As the sink writes it (Go compacts, so no spaces), two tables. */
	static const char body[] =
		"{\"payload\":["
		"{\"after\":{\"a\":1,\"b\":\"bar\"},\"key\":[1],\"topic\":\"t\","
		"\"updated\":\"1700000000000000000.0000000001\"},"
		"{\"after\":{\"id\":\"x\"},\"key\":[\"x\"],\"topic\":\"db.public.u\","
		"\"updated\":\"1700000000000000001.0000000000\"}"
		"],\"length\":2}";
	struct webhook_body b = parse_ok(body, NULL);

	ck_assert_int_eq(b.kind, WEBHOOK_BODY_ROWS);
	ck_assert_uint_eq(b.nmsgs, 2);
	assert_msg(&b.msgs[0], "t", "[1]",
		   "{\"after\":{\"a\":1,\"b\":\"bar\"},"
		   "\"updated\":\"1700000000000000000.0000000001\"}");
	assert_msg(&b.msgs[1], "db.public.u", "[\"x\"]",
		   "{\"after\":{\"id\":\"x\"},"
		   "\"updated\":\"1700000000000000001.0000000000\"}");
	assert_decodes(&b.msgs[0], false, CRDB_OP_UPSERT);
	assert_decodes(&b.msgs[1], false, CRDB_OP_UPSERT);
	webhook_body_clear(&b);
	ck_assert_ptr_null(b.msgs);
	ck_assert_ptr_null(b.storage);
}
END_TEST

/* diff: before and after (update), after null (delete), before null
 * (insert); key and topic anywhere among the members. */
START_TEST(test_diff_and_delete)
{
	static const char body[] =
		"{\"payload\":["
		"{\"key\":[2],\"after\":{\"a\":2},\"before\":{\"a\":1},\"topic\":\"t\"},"
		"{\"topic\":\"t\",\"after\":null,\"before\":{\"a\":2},\"key\":[2]},"
		"{\"after\":{\"a\":3},\"before\":null,\"topic\":\"t\",\"key\":[3]}"
		"],\"length\":3}";
	struct webhook_body b = parse_ok(body, NULL);

	ck_assert_uint_eq(b.nmsgs, 3);
	assert_msg(&b.msgs[0], "t", "[2]", "{\"after\":{\"a\":2},\"before\":{\"a\":1}}");
	assert_msg(&b.msgs[1], "t", "[2]", "{\"after\":null,\"before\":{\"a\":2}}");
	assert_msg(&b.msgs[2], "t", "[3]", "{\"after\":{\"a\":3},\"before\":null}");
	assert_decodes(&b.msgs[0], true, CRDB_OP_UPDATE);
	assert_decodes(&b.msgs[1], true, CRDB_OP_DELETE);
	assert_decodes(&b.msgs[2], true, CRDB_OP_INSERT);
	webhook_body_clear(&b);
}
END_TEST

/*
 * The bytes of every member's value are kept: numbers with their digits
 * (past double's range and precision), escapes as written (Go writes <
 * as \u003c), whitespace inside a nested value; the whitespace between the
 * message's own tokens is dropped. Escaped member names are recognised,
 * and the topic's escapes are resolved.
 */
START_TEST(test_bytes_kept)
{
	static const char body[] =
		" {\n \"payload\" : [ { \"after\" : {\"n\": 1e400, \"d\": "
		"12345678901234567890.000, \"s\": \"a\\u003cb\\\"\\n\\ud83d\\ude00\", "
		"\"j\": {\"x\": [1, {\"y\": [true, false, null]}]}},\n"
		" \"k\\u0065y\" : [12345678901234567890, \"\\u00e9\"] , "
		"\"topic\" : \"caf\\u00e9\\/t\" ,\"updated\":\"1.0000000002\" } ] ,"
		" \"length\" : 1 }\r\n";
	struct webhook_body b = parse_ok(body, NULL);

	ck_assert_uint_eq(b.nmsgs, 1);
	assert_msg(&b.msgs[0], "caf\xc3\xa9/t",
		   "[12345678901234567890, \"\\u00e9\"]",
		   "{\"after\":{\"n\": 1e400, \"d\": 12345678901234567890.000, "
		   "\"s\": \"a\\u003cb\\\"\\n\\ud83d\\ude00\", "
		   "\"j\": {\"x\": [1, {\"y\": [true, false, null]}]}},"
		   "\"updated\":\"1.0000000002\"}");
	assert_decodes(&b.msgs[0], false, CRDB_OP_UPSERT);
	webhook_body_clear(&b);
}
END_TEST

/* The line a webhook message becomes carries the numbers' own digits. */
START_TEST(test_numbers_line)
{
	static const char body[] =
		"{\"payload\":[{\"after\":{\"n\":1e400,\"d\":12345678901234567890.000},"
		"\"key\":[1],\"topic\":\"t\"}],\"length\":1}";
	static const char want[] =
		"{\"v\":1,\"type\":\"row\",\"feed\":\"f\",\"table\":\"t\",\"key\":[1],"
		"\"op\":\"upsert\",\"after\":{\"n\":1e400,\"d\":12345678901234567890.000}}\n";
	crdb_decode_opts opts = {.envelope = CRDB_ENVELOPE_WRAPPED, .number_text = true};
	struct webhook_body b = parse_ok(body, NULL);
	const struct webhook_msg *m = &b.msgs[0];
	struct line *line = line_new_row_raw("f", m->table, m->table_len, m->key,
					     m->key_len, m->value, m->value_len,
					     &opts);

	ck_assert_ptr_nonnull(line);
	ck_assert_uint_eq(line->len, strlen(want));
	ck_assert_mem_eq(line->data, want, line->len);
	line_unref(line);
	assert_decodes(m, false, CRDB_OP_UPSERT);
	webhook_body_clear(&b);
}
END_TEST

/* An empty batch is well formed (and carries nothing to apply). */
START_TEST(test_empty_payload)
{
	struct webhook_body b = parse_ok("{\"payload\":[],\"length\":0}", NULL);

	ck_assert_int_eq(b.kind, WEBHOOK_BODY_ROWS);
	ck_assert_uint_eq(b.nmsgs, 0);
	webhook_body_clear(&b);
}
END_TEST

START_TEST(test_resolved)
{
	struct webhook_body b = parse_ok("{\"resolved\":\"1700000000000000000.0000000002\"}",
					 NULL);

	ck_assert_int_eq(b.kind, WEBHOOK_BODY_RESOLVED);
	ck_assert_int_eq(b.resolved.wall, 1700000000000000000);
	ck_assert_int_eq(b.resolved.logical, 2);
	ck_assert_uint_eq(b.nmsgs, 0);
	ck_assert_ptr_null(b.msgs);
	webhook_body_clear(&b);
}
END_TEST

struct refusal {
	const char *body;
	const char *message; /* the whole errbuf */
};

static const struct refusal refusals[] = {
	{"", "body: empty"},
	{"  \n", "body: empty"},
	{"[]", "body: not a JSON object"},
	/* truncated */
	{"{\"payload\":[{\"after\":{\"a\":1},\"key\":[1],\"topic\":\"t\"",
	 "payload[0]: the body ends at byte 50 inside the JSON (truncated)"},
	{"{\"payload\":[{\"after\":{\"a\":1},\"key\":[1],\"topic\":\"t",
	 "payload[0]: the body ends at byte 49 inside the JSON (truncated)"},
	{"{\"payload\":[],\"length\":0",
	 "body: the body ends at byte 24 inside the JSON (truncated)"},
	/* length */
	{"{\"payload\":[{\"key\":[1],\"topic\":\"t\"}],\"length\":2}",
	 "body: \"length\" is 2 but the payload holds 1 messages"},
	{"{\"payload\":[{\"key\":[1],\"topic\":\"t\"}]}", "body: no \"length\" member"},
	{"{\"payload\":[],\"length\":\"0\"}",
	 "body: \"length\" is not a non-negative integer"},
	{"{\"payload\":[],\"length\":0.0}",
	 "body: \"length\" is not a non-negative integer"},
	{"{\"payload\":[],\"length\":-1}",
	 "body: \"length\" is not a non-negative integer"},
	{"{\"payload\":[],\"length\":99999999999999999999999}",
	 "body: \"length\" is not a non-negative integer"},
	{"{\"length\":0}", "body: neither \"payload\" nor \"resolved\""},
	/* key and topic */
	{"{\"payload\":[{\"after\":{},\"topic\":\"t\"}],\"length\":1}",
	 "payload[0]: no \"key\" member"},
	{"{\"payload\":[{\"key\":[1],\"topic\":\"t\"},{\"key\":{\"a\":1},\"topic\":\"t\"}],"
	 "\"length\":2}",
	 "payload[1]: \"key\" is not a JSON array"},
	{"{\"payload\":[{\"key\":\"[1]\",\"topic\":\"t\"}],\"length\":1}",
	 "payload[0]: \"key\" is not a JSON array"},
	{"{\"payload\":[{\"key\":[1]}],\"length\":1}", "payload[0]: no \"topic\" member"},
	{"{\"payload\":[{\"key\":[1],\"topic\":7}],\"length\":1}",
	 "payload[0]: \"topic\" is not a JSON string"},
	{"{\"payload\":[{\"key\":[1],\"topic\":\"\"}],\"length\":1}",
	 "payload[0]: \"topic\" is empty"},
	{"{\"payload\":[{\"key\":[1],\"topic\":\"a\\u0000b\"}],\"length\":1}",
	 "payload[0]: \"topic\" holds a NUL character"},
	{"{\"payload\":[{\"key\":[1],\"topic\":\"a\xff\"}],\"length\":1}",
	 "payload[0]: invalid UTF-8 in a string at byte 33"},
	{"{\"payload\":[{\"key\":[1],\"topic\":\"t\",\"key\":[2]}],\"length\":1}",
	 "payload[0]: two \"key\" members"},
	{"{\"payload\":[{\"key\":[1],\"topic\":\"t\",\"t\\u006fpic\":\"u\"}],\"length\":1}",
	 "payload[0]: two \"topic\" members"},
	{"{\"payload\":[[1]],\"length\":1}", "payload[0]: not a JSON object"},
	{"{\"payload\":{},\"length\":0}", "body: \"payload\" is not a JSON array"},
	/* trailing bytes */
	{"{\"payload\":[],\"length\":0} x", "body: trailing bytes after the JSON object, from byte 26"},
	{"{\"payload\":[],\"length\":0}{}", "body: trailing bytes after the JSON object, from byte 25"},
	/* malformed JSON inside a message */
	{"{\"payload\":[{\"key\":[01],\"topic\":\"t\"}],\"length\":1}",
	 "payload[0]: expected ',' or ']' at byte 21"},
	{"{\"payload\":[{\"key\":[1.],\"topic\":\"t\"}],\"length\":1}",
	 "payload[0]: bad number at byte 22"},
	{"{\"payload\":[{\"key\":[tru],\"topic\":\"t\"}],\"length\":1}",
	 "payload[0]: invalid JSON value at byte 20"},
	{"{\"payload\":[{\"key\":[\"\\x\"],\"topic\":\"t\"}],\"length\":1}",
	 "payload[0]: bad escape in a string at byte 21"},
	{"{\"payload\":[{\"key\":[\"\\ud800\"],\"topic\":\"t\"}],\"length\":1}",
	 "payload[0]: bad \\u escape in a string at byte 21"},
	{"{\"payload\":[{\"key\":[\"a\tb\"],\"topic\":\"t\"}],\"length\":1}",
	 "payload[0]: control character in a string at byte 22"},
	{"{\"payload\":[{\"key\":[1],\"topic\":\"t\",}],\"length\":1}",
	 "payload[0]: expected a member name at byte 35"},
	{"{\"payload\":[{\"key\":[1] \"topic\":\"t\"}],\"length\":1}",
	 "payload[0]: expected ',' or '}' at byte 23"},
	/* the top level */
	{"{\"payload\":[],\"length\":0,\"extra\":1}",
	 "body: unknown member \"extra\" (a webhook body holds \"payload\" and "
	 "\"length\", or \"resolved\")"},
	{"{\"payload\":[],\"payload\":[],\"length\":0}", "body: two \"payload\" members"},
	{"{\"resolved\":\"1.0000000002\",\"length\":0}",
	 "body: \"resolved\" with \"length\" (a resolved timestamp comes alone)"},
	{"{\"resolved\":1}", "body: \"resolved\" is not a JSON string"},
	{"{}", "body: neither \"payload\" nor \"resolved\""},
};

START_TEST(test_refusals)
{
	const struct refusal *r = &refusals[_i];
	struct webhook_body b;
	char errbuf[256];

	memset(&b, 0xa5, sizeof b);
	ck_assert_int_eq(webhook_body_parse(r->body, strlen(r->body), NULL, &b,
					    errbuf, sizeof errbuf), -1);
	ck_assert_msg(strcmp(errbuf, r->message) == 0,
		      "%s\n got      %s\n expected %s", r->body, errbuf, r->message);
	/* Nothing half-made is left. */
	ck_assert_ptr_null(b.msgs);
	ck_assert_ptr_null(b.storage);
	ck_assert_uint_eq(b.nmsgs, 0);
}
END_TEST

/* A resolved timestamp that is not one: libcrdb's reason follows. */
START_TEST(test_bad_resolved)
{
	struct webhook_body b;
	char errbuf[256];
	static const char body[] = "{\"resolved\":\"1.2.3\"}";

	ck_assert_int_eq(webhook_body_parse(body, strlen(body), NULL, &b, errbuf,
					    sizeof errbuf), -1);
	ck_assert_msg(strncmp(errbuf, "body: \"resolved\": ", 18) == 0 &&
		      strlen(errbuf) > 18, "%s", errbuf);
}
END_TEST

/* Depth counts the body's object, the payload array and the message: a
 * limit of 6 leaves three levels inside a message. */
START_TEST(test_depth)
{
	struct webhook_body_limits lim = {.max_depth = 6};
	static const char ok[] =
		"{\"payload\":[{\"key\":[1],\"topic\":\"t\",\"after\":{\"a\":[{}]}}],"
		"\"length\":1}";
	static const char deep[] =
		"{\"payload\":[{\"key\":[1],\"topic\":\"t\",\"after\":{\"a\":[{\"b\":[]}]}}],"
		"\"length\":1}";
	struct webhook_body b = parse_ok(ok, &lim);
	char errbuf[256];

	webhook_body_clear(&b);
	ck_assert_int_eq(webhook_body_parse(deep, strlen(deep), &lim, &b, errbuf,
					    sizeof errbuf), -1);
	ck_assert_str_eq(errbuf, "payload[0]: nested deeper than 6 levels at byte 54");

	/* The default (64) refuses a deep value without exhausting the stack. */
	size_t n = 100000;
	char *big = malloc(2 * n + 64);
	ck_assert_ptr_nonnull(big);
	size_t len = (size_t)sprintf(big, "{\"payload\":[{\"key\":");
	memset(big + len, '[', n);
	len += n;
	memset(big + len, ']', n);
	len += n;
	len += (size_t)sprintf(big + len, ",\"topic\":\"t\"}],\"length\":1}");
	ck_assert_int_eq(webhook_body_parse(big, len, NULL, &b, errbuf, sizeof errbuf), -1);
	ck_assert_str_eq(errbuf, "payload[0]: nested deeper than 64 levels at byte 80");
	free(big);
}
END_TEST

START_TEST(test_too_many)
{
	struct webhook_body_limits lim = {.max_messages = 2};
	static const char two[] =
		"{\"payload\":[{\"key\":[1],\"topic\":\"t\"},{\"key\":[2],\"topic\":\"t\"}],"
		"\"length\":2}";
	static const char three[] =
		"{\"payload\":[{\"key\":[1],\"topic\":\"t\"},{\"key\":[2],\"topic\":\"t\"},"
		"{\"key\":[3],\"topic\":\"t\"}],\"length\":3}";
	struct webhook_body b = parse_ok(two, &lim);
	char errbuf[256];

	ck_assert_uint_eq(b.nmsgs, 2);
	webhook_body_clear(&b);
	ck_assert_int_eq(webhook_body_parse(three, strlen(three), &lim, &b, errbuf,
					    sizeof errbuf), -1);
	ck_assert_str_eq(errbuf, "body: more than 2 messages");
}
END_TEST

/*
 * Many messages (the array grows), the smallest ones (the storage bound is
 * tightest), and the body not NUL-terminated: the parts survive the body's
 * buffer.
 */
START_TEST(test_many_small)
{
	size_t n = 5000;
	size_t cap = n * 32 + 64;
	char *body = malloc(cap);
	size_t len = (size_t)sprintf(body, "{\"payload\":[");
	struct webhook_body b;
	char errbuf[256];

	ck_assert_ptr_nonnull(body);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(body + len, "%s{\"key\":[],\"topic\":\"%c\"}",
				       i ? "," : "", (char)('a' + i % 26));
	len += (size_t)sprintf(body + len, "],\"length\":%zu}", n);
	char *exact = malloc(len);
	ck_assert_ptr_nonnull(exact);
	memcpy(exact, body, len);
	ck_assert_int_eq(webhook_body_parse(exact, len, NULL, &b, errbuf, sizeof errbuf), 0);
	memset(exact, 0, len);
	free(exact);
	free(body);
	ck_assert_uint_eq(b.nmsgs, n);
	for (size_t i = 0; i < n; i++) {
		char table[2] = {(char)('a' + i % 26), '\0'};

		assert_msg(&b.msgs[i], table, "[]", "{}");
	}
	webhook_body_clear(&b);
}
END_TEST

/* A short errbuf still gets a terminated (cut) message. */
START_TEST(test_short_errbuf)
{
	struct webhook_body b;
	char errbuf[8];

	memset(errbuf, 'x', sizeof errbuf);
	ck_assert_int_eq(webhook_body_parse("{}", 2, NULL, &b, errbuf, sizeof errbuf), -1);
	ck_assert_str_eq(errbuf, "body: n");
	ck_assert_int_eq(webhook_body_parse("{}", 2, NULL, &b, NULL, 0), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("webhook_body");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_diff_and_delete);
	tcase_add_test(tc, test_bytes_kept);
	tcase_add_test(tc, test_numbers_line);
	tcase_add_test(tc, test_empty_payload);
	tcase_add_test(tc, test_resolved);
	tcase_add_loop_test(tc, test_refusals, 0,
			    (int)(sizeof refusals / sizeof refusals[0]));
	tcase_add_test(tc, test_bad_resolved);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_many_small);
	tcase_add_test(tc, test_short_errbuf);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
