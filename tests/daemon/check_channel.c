/*
 * check_channel.c: notify channels (daemon/channel.c): PostgreSQL's rules
 * for channel names (1 to 63 bytes, no NUL) and payloads (under 8000
 * bytes), what a notify feed's row line carries (a notification, a
 * deletion, or not a notification, and why), the folding of identical
 * notifications within one updated timestamp and its bound, and the exact
 * bytes of the notify line a channel subscriber gets.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "daemon/channel.h"
#include "daemon/encode.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A row line of the notify table with channel and payload as JSON text. */
static char *row_with(const char *channel_json, const char *payload_json)
{
	size_t len = strlen(channel_json) + strlen(payload_json) + 256;
	char *row = malloc(len);

	ck_assert_ptr_nonnull(row);
	snprintf(row, len,
		 "{\"v\":1,\"type\":\"row\",\"feed\":\"n\",\"table\":\"crdbfeed_notify\","
		 "\"key\":[7],\"after\":{\"channel\":%s,\"id\":7,\"payload\":%s,"
		 "\"sent_at\":\"2024-01-02T03:04:05Z\"},\"updated\":\"1.0000000000\"}\n",
		 channel_json, payload_json);
	return row;
}

/* A JSON string of n bytes of c. */
static char *json_string_of(size_t n, char c)
{
	char *s = malloc(n + 3);

	ck_assert_ptr_nonnull(s);
	s[0] = '"';
	memset(s + 1, c, n);
	s[n + 1] = '"';
	s[n + 2] = '\0';
	return s;
}

static int note_of(const char *row, struct channel_note *note, char *errbuf,
		   size_t errlen)
{
	errbuf[0] = '\0';
	return channel_note_from_row(row, strlen(row), note, errbuf, errlen);
}

START_TEST(channel_names_follow_postgresql)
{
	char name[80], errbuf[128];

	memset(name, 'c', sizeof(name));
	ck_assert_int_eq(channel_name_check("orders", 6, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(channel_name_check(name, 63, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(channel_name_check(name, 64, errbuf, sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "the channel name is 64 bytes, longer than 63");
	ck_assert_int_eq(channel_name_check("", 0, errbuf, sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "the channel name is empty");
	ck_assert_int_eq(channel_name_check("a\0b", 3, errbuf, sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "the channel name contains a NUL byte");
}
END_TEST

START_TEST(a_row_carries_its_notification)
{
	struct channel_note note;
	char errbuf[256];
	char *row = row_with("\"Orders\"", "\"id \\\"7\\\" \\u00e9\"");

	ck_assert_int_eq(note_of(row, &note, errbuf, sizeof(errbuf)), 0);
	ck_assert_str_eq(note.channel, "Orders");
	ck_assert_uint_eq(note.channel_len, 6);
	ck_assert_str_eq(note.payload, "id \"7\" \xc3\xa9");
	ck_assert_uint_eq(note.payload_len, 9);
	channel_note_clear(&note);
	ck_assert_ptr_null(note.channel);
	free(row);

	/* An empty payload is a notification (NULL is sent as ''). */
	row = row_with("\"a\"", "\"\"");
	ck_assert_int_eq(note_of(row, &note, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(note.payload_len, 0);
	channel_note_clear(&note);
	free(row);
}
END_TEST

START_TEST(a_deletion_carries_none)
{
	struct channel_note note;
	char errbuf[256];

	ck_assert_int_eq(note_of("{\"key\":[7],\"after\":null,\"updated\":\"1.0000000000\"}\n",
				 &note, errbuf, sizeof(errbuf)), 1);
	ck_assert_ptr_null(note.channel);
	ck_assert_int_eq(note_of("{\"key\":[7]}", &note, errbuf, sizeof(errbuf)), 1);
	ck_assert_ptr_null(note.payload);
}
END_TEST

static const struct refusal {
	const char *channel, *payload; /* JSON text; NULL: the row as is */
	const char *row;
	const char *message;
} refusals[] = {
	{ NULL, NULL, "{\"after\":{\"channel\":\"a\",", "the row is not JSON: " },
	{ NULL, NULL, "[1]", "the row is not a JSON object" },
	{ NULL, NULL, "\"after\"", "the row is not JSON: " },
	{ NULL, NULL, "{\"after\":[]}", "the row's \"after\" is not an object" },
	{ NULL, NULL, "{\"after\":{\"payload\":\"x\"}}", "the row's \"after\" has no string \"channel\"" },
	{ NULL, NULL, "{\"after\":{\"channel\":\"a\"}}", "the row's \"after\" has no string \"payload\"" },
	{ "12", "\"x\"", NULL, "the row's \"after\" has no string \"channel\"" },
	{ "null", "\"x\"", NULL, "the row's \"after\" has no string \"channel\"" },
	{ "\"a\"", "{\"x\":1}", NULL, "the row's \"after\" has no string \"payload\"" },
	{ "\"a\"", "null", NULL, "the row's \"after\" has no string \"payload\"" },
	{ "\"\"", "\"x\"", NULL, "the channel name is empty" },
	{ "\"a\"", "\"x\\u0000y\"", NULL, "the row is not JSON: " },
	{ "\"a\\u0000\"", "\"x\"", NULL, "the row is not JSON: " },
	{ NULL, NULL, "{\"after\":{\"channel\":\"a\",\"channel\":\"b\",\"payload\":\"\"}}",
	  "the row is not JSON: " },
};

START_TEST(what_is_not_a_notification)
{
	const struct refusal *r = &refusals[_i];
	struct channel_note note;
	char errbuf[256];
	char *row = r->row ? strdup(r->row) : row_with(r->channel, r->payload);

	ck_assert_int_eq(note_of(row, &note, errbuf, sizeof(errbuf)), -1);
	ck_assert_msg(strncmp(errbuf, r->message, strlen(r->message)) == 0,
		      "%s: got \"%s\", wanted \"%s\"", row, errbuf, r->message);
	ck_assert_ptr_null(note.channel);
	ck_assert_ptr_null(note.payload);
	free(row);
}
END_TEST

/* PostgreSQL: a payload "must be shorter than 8000 bytes"; a channel is at
 * most 63 bytes. */
START_TEST(the_limits_are_postgresqls)
{
	struct channel_note note;
	char errbuf[256];
	char *p7999 = json_string_of(7999, 'p'), *p8000 = json_string_of(8000, 'p');
	char *c63 = json_string_of(63, 'c'), *c64 = json_string_of(64, 'c');
	char *row;

	row = row_with("\"a\"", p7999);
	ck_assert_int_eq(note_of(row, &note, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(note.payload_len, 7999);
	channel_note_clear(&note);
	free(row);
	row = row_with("\"a\"", p8000);
	ck_assert_int_eq(note_of(row, &note, errbuf, sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "the payload is 8000 bytes, PostgreSQL's limit is 7999");
	free(row);
	row = row_with(c63, "\"x\"");
	ck_assert_int_eq(note_of(row, &note, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(note.channel_len, 63);
	channel_note_clear(&note);
	free(row);
	row = row_with(c64, "\"x\"");
	ck_assert_int_eq(note_of(row, &note, errbuf, sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "the channel name is 64 bytes, longer than 63");
	free(row);
	free(p7999);
	free(p8000);
	free(c63);
	free(c64);
}
END_TEST

static struct channel_note note_make(const char *channel, const char *payload)
{
	struct channel_note n = {
		.channel = (char *)channel, .channel_len = strlen(channel),
		.payload = (char *)payload, .payload_len = strlen(payload),
	};
	return n;
}

START_TEST(identical_notifications_fold_per_timestamp)
{
	struct channel_fold *fold = channel_fold_new(0);
	crdb_hlc t1 = { 100, 0 }, t1b = { 100, 1 }, t2 = { 200, 0 };
	struct channel_note a = note_make("a", "x"), a2 = note_make("a", "y");
	struct channel_note b = note_make("b", "x"), ab = note_make("ax", "");
	uint64_t unfolded = 0;

	ck_assert_ptr_nonnull(fold);
	ck_assert(channel_fold_keep(fold, t1, &a, &unfolded));
	ck_assert(!channel_fold_keep(fold, t1, &a, &unfolded));
	ck_assert(channel_fold_keep(fold, t1, &a2, &unfolded));
	ck_assert(channel_fold_keep(fold, t1, &b, &unfolded));
	/* ("a", "x") and ("ax", "") are different notifications. */
	ck_assert(channel_fold_keep(fold, t1, &ab, &unfolded));
	ck_assert(!channel_fold_keep(fold, t1, &b, &unfolded));
	/* Another logical tick is another transaction. */
	ck_assert(channel_fold_keep(fold, t1b, &a, &unfolded));
	ck_assert(!channel_fold_keep(fold, t1b, &a, &unfolded));
	/* A new timestamp starts afresh, and an old one seen again too. */
	ck_assert(channel_fold_keep(fold, t2, &a, &unfolded));
	ck_assert(channel_fold_keep(fold, t2, &b, &unfolded));
	ck_assert(channel_fold_keep(fold, t1, &b, &unfolded));
	ck_assert_uint_eq(unfolded, 0);
	channel_fold_free(fold);
}
END_TEST

START_TEST(the_fold_is_bounded)
{
	struct channel_fold *fold = channel_fold_new(2);
	crdb_hlc t1 = { 100, 0 }, t2 = { 200, 0 };
	struct channel_note a = note_make("a", ""), b = note_make("b", "");
	struct channel_note c = note_make("c", "");
	uint64_t unfolded = 0;

	ck_assert(channel_fold_keep(fold, t1, &a, &unfolded));
	ck_assert(channel_fold_keep(fold, t1, &b, &unfolded));
	ck_assert_uint_eq(unfolded, 0);
	/* Past the bound: delivered, counted, not remembered... */
	ck_assert(channel_fold_keep(fold, t1, &c, &unfolded));
	ck_assert_uint_eq(unfolded, 1);
	ck_assert(channel_fold_keep(fold, t1, &c, &unfolded));
	ck_assert_uint_eq(unfolded, 2);
	/* ... while those remembered still fold. */
	ck_assert(!channel_fold_keep(fold, t1, &a, &unfolded));
	ck_assert(!channel_fold_keep(fold, t1, &b, NULL));
	ck_assert_uint_eq(unfolded, 2);
	/* A new timestamp has room again. */
	ck_assert(channel_fold_keep(fold, t2, &c, &unfolded));
	ck_assert(!channel_fold_keep(fold, t2, &c, &unfolded));
	ck_assert_uint_eq(unfolded, 2);
	channel_fold_free(fold);

	/* The default bound takes CHANNEL_FOLD_MAX distinct ones. */
	fold = channel_fold_new(0);
	unfolded = 0;
	for (unsigned i = 0; i <= CHANNEL_FOLD_MAX; i++) {
		char payload[16];
		struct channel_note n;

		snprintf(payload, sizeof(payload), "%u", i);
		n = note_make("a", payload);
		ck_assert(channel_fold_keep(fold, t1, &n, &unfolded));
	}
	ck_assert_uint_eq(unfolded, 1);
	channel_fold_free(fold);
}
END_TEST

START_TEST(channel_of_a_table)
{
	char out[CHANNEL_NAME_MAX + 1];
	char table[80];

	ck_assert_int_eq(channel_for_table("orders", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "table:orders");
	memset(table, 't', sizeof(table));
	table[57] = '\0'; /* "table:" + 57 = 63 */
	ck_assert_int_eq(channel_for_table(table, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), 63);
	table[57] = 't';
	table[58] = '\0';
	ck_assert_int_eq(channel_for_table(table, out, sizeof(out)), -1);
}
END_TEST

START_TEST(the_notify_line)
{
	static const char want[] =
		"{\"v\":1,\"type\":\"notify\",\"feed\":\"n\",\"channel\":\"orders\","
		"\"payload\":\"id \\\"7\\\"\\n\xc3\xa9\",\"updated\":\"1704164645000000000.0000000002\","
		"\"seq\":42}\n";
	struct channel_note note = note_make("orders", "id \"7\"\n\xc3\xa9");
	struct line row = { .refs = 1, .kind = LINE_ROW, .seq = 42,
			    .updated = { 1704164645000000000LL, 2 } };
	struct line *line = line_new_notify("n", &note, &row);

	ck_assert_ptr_nonnull(line);
	ck_assert_uint_eq(line->len, strlen(want));
	ck_assert_msg(memcmp(line->data, want, line->len) == 0, "got %.*s",
		      (int)line->len, line->data);
	ck_assert_int_eq(line->kind, LINE_NOTIFY);
	ck_assert_uint_eq(line->seq, 42);
	ck_assert_int_eq(line->updated.wall, 1704164645000000000LL);
	ck_assert_int_eq(line->updated.logical, 2);
	/* Filters match the channel where they match a row's table. */
	ck_assert_str_eq(line->table, "orders");
	line_unref(line);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("channel");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, channel_names_follow_postgresql);
	tcase_add_test(tc, a_row_carries_its_notification);
	tcase_add_test(tc, a_deletion_carries_none);
	tcase_add_loop_test(tc, what_is_not_a_notification, 0,
			    (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, the_limits_are_postgresqls);
	tcase_add_test(tc, identical_notifications_fold_per_timestamp);
	tcase_add_test(tc, the_fold_is_bounded);
	tcase_add_test(tc, channel_of_a_table);
	tcase_add_test(tc, the_notify_line);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
