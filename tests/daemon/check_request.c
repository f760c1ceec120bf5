/*
 * check_request.c: the subscriber request line's parser (daemon/request.c)
 * on the replay fields: "after" (an integer >= 0) and "since" (an HLC or
 * an RFC 3339 time), which exclude each other; on "channels" (a notify
 * feed's subscribers: 1 to 64 PostgreSQL channel names, not with tables
 * or ops); each refusal says what was wrong in one line and leaves the
 * filter cleared.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "daemon/request.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *text, struct request_filter *f, char *msg,
		 size_t msglen)
{
	msg[0] = '\0';
	return request_parse(text, strlen(text), f, msg, msglen);
}

START_TEST(after_takes_an_unsigned_integer)
{
	struct request_filter f;
	char msg[256];

	ck_assert_int_eq(parse("{\"after\":0}", &f, msg, sizeof(msg)), 0);
	ck_assert(f.has_after && !f.has_since);
	ck_assert_uint_eq(f.after, 0);
	request_filter_clear(&f);
	ck_assert_int_eq(parse("{\"tables\":[\"t\"],\"after\":9223372036854775807}",
			       &f, msg, sizeof(msg)), 0);
	ck_assert(f.has_after);
	ck_assert_uint_eq(f.after, 9223372036854775807ULL);
	ck_assert_uint_eq(f.ntables, 1);
	request_filter_clear(&f);
	ck_assert(!f.has_after && f.after == 0);
	/* Without it: no starting point. */
	ck_assert_int_eq(parse("{\"resolved\":true}", &f, msg, sizeof(msg)), 0);
	ck_assert(!f.has_after && !f.has_since);
	request_filter_clear(&f);
}
END_TEST

static const struct refusal {
	const char *request;
	const char *message;   /* a part of the one-line answer */
} refusals[] = {
	{ "{\"after\":-1}", "\"after\" must be an integer >= 0" },
	{ "{\"after\":\"5\"}", "\"after\" must be an integer >= 0" },
	{ "{\"after\":1.5}", "\"after\" must be an integer >= 0" },
	{ "{\"after\":1e3}", "\"after\" must be an integer >= 0" },
	{ "{\"after\":true}", "\"after\" must be an integer >= 0" },
	{ "{\"after\":null}", "\"after\" must be an integer >= 0" },
	{ "{\"after\":18446744073709551616}", "request is not JSON: too big integer" },
	{ "{\"after\":9223372036854775808}", "request is not JSON: too big integer" },
	{ "{\"after\":1,\"since\":\"1.0000000000\"}",
	  "\"after\" and \"since\" cannot be used together" },
	{ "{\"since\":\"1.0000000000\",\"after\":1}",
	  "\"after\" and \"since\" cannot be used together" },
	{ "{\"tables\":[\"t\"],\"since\":\"yesterday\"}",
	  "\"since\" must be an HLC timestamp (wall.logical) or an RFC 3339 time, not 'yesterday'" },
	{ "{\"since\":\"2024-13-01T00:00:00Z\"}", "not '2024-13-01T00:00:00Z'" },
	{ "{\"since\":\"-1.0000000000\"}", "not '-1.0000000000'" },
	{ "{\"since\":\"\"}", "not ''" },
	{ "{\"since\":12}", "\"since\" must be a string: an HLC timestamp" },
	{ "{\"after\":1,\"after\":2}", "request is not JSON" },
	{ "{\"since\":\"20\\n24\"}", "not '20?24'" },
	{ "{\"a\\nb\":1}", "unknown request field \"a?b\"" },
	{ "{\"before\":1}", "unknown request field \"before\" (expected tables, ops, channels, resolved, after, since)" },
	{ "{\"channels\":[]}", "\"channels\" must be a non-empty array of strings" },
	{ "{\"channels\":\"a\"}", "\"channels\" must be a non-empty array of strings" },
	{ "{\"channels\":[\"a\",1]}", "\"channels\" must be a non-empty array of strings" },
	{ "{\"channels\":[\"\"]}", "\"channels\": '': the channel name is empty" },
	{ "{\"channels\":[\"a\\u0000b\"]}", "request is not JSON" },
	{ "{\"channels\":[\"0123456789012345678901234567890123456789012345678901234567890123\"]}",
	  "the channel name is 64 bytes, longer than 63" },
	{ "{\"channels\":[\"a\"],\"tables\":[\"t\"]}",
	  "\"channels\" cannot be used with \"tables\": a channel subscriber gets notifications, not rows" },
	{ "{\"ops\":[\"insert\"],\"channels\":[\"a\"]}",
	  "\"channels\" cannot be used with \"ops\"" },
	{ "{\"channels\":[\"a\"],\"channels\":[\"b\"]}", "request is not JSON" },
};

START_TEST(bad_after_or_since_is_refused)
{
	const struct refusal *r = &refusals[_i];
	struct request_filter f;
	char msg[256];

	ck_assert_int_eq(parse(r->request, &f, msg, sizeof(msg)), -1);
	ck_assert_msg(strstr(msg, r->message) != NULL, "%s: got \"%s\", wanted \"%s\"",
		      r->request, msg, r->message);
	ck_assert_ptr_null(strchr(msg, '\n'));
	ck_assert(!f.has_after && !f.has_since && !f.tables && !f.channels);
	ck_assert_uint_eq(f.after, 0);
}
END_TEST

START_TEST(since_takes_an_hlc_or_an_rfc3339_time)
{
	static const struct {
		const char *request;
		int64_t wall;
		int32_t logical;
	} cases[] = {
		{ "{\"since\":\"1704164645000000000.0000000002\"}", 1704164645000000000LL, 2 },
		{ "{\"since\":\"1704164645000000000\"}", 1704164645000000000LL, 0 },
		{ "{\"since\":\"2024-01-02T03:04:05Z\"}", 1704164645000000000LL, 0 },
		{ "{\"since\":\"2024-01-02T05:04:05.5+02:00\"}", 1704164645500000000LL, 0 },
	};
	struct request_filter f;
	char msg[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].request, &f, msg, sizeof(msg)) == 0,
			      "%s: %s", cases[i].request, msg);
		ck_assert(f.has_since && !f.has_after);
		ck_assert_int_eq(f.since.wall, cases[i].wall);
		ck_assert_int_eq(f.since.logical, cases[i].logical);
		request_filter_clear(&f);
		ck_assert(!f.has_since && f.since.wall == 0);
	}
}
END_TEST

START_TEST(channels_are_taken)
{
	static const char long_name[] =
		"012345678901234567890123456789012345678901234567890123456789012";
	struct request_filter f;
	char msg[256], req[REQUEST_MAX];

	ck_assert_int_eq(parse("{\"channels\":[\"orders\",\"Stock\"],\"after\":3,\"resolved\":false}",
			       &f, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(f.nchannels, 2);
	ck_assert_str_eq(f.channels[0], "orders");
	ck_assert_str_eq(f.channels[1], "Stock");
	ck_assert(f.has_after && f.after == 3 && f.has_resolved && !f.resolved);
	ck_assert_ptr_null(f.tables);
	ck_assert_uint_eq(f.ops, REQUEST_OPS_ALL);
	request_filter_clear(&f);
	ck_assert(!f.channels && f.nchannels == 0);

	/* 63 bytes is PostgreSQL's longest name. */
	snprintf(req, sizeof(req), "{\"channels\":[\"%s\"]}", long_name);
	ck_assert_msg(parse(req, &f, msg, sizeof(msg)) == 0, "%s", msg);
	ck_assert_uint_eq(strlen(f.channels[0]), 63);
	request_filter_clear(&f);
}
END_TEST

/* At most REQUEST_CHANNELS_MAX names: 64 are taken, 65 refused. */
START_TEST(channels_are_bounded)
{
	struct request_filter f;
	char msg[256], req[REQUEST_MAX];
	size_t len;

	for (int n = REQUEST_CHANNELS_MAX; n <= REQUEST_CHANNELS_MAX + 1; n++) {
		len = (size_t)snprintf(req, sizeof(req), "{\"channels\":[");
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(req + len, sizeof(req) - len,
						"%s\"c%d\"", i ? "," : "", i);
		snprintf(req + len, sizeof(req) - len, "]}");
		if (n == REQUEST_CHANNELS_MAX) {
			ck_assert_msg(parse(req, &f, msg, sizeof(msg)) == 0, "%s", msg);
			ck_assert_uint_eq(f.nchannels, REQUEST_CHANNELS_MAX);
			ck_assert_str_eq(f.channels[63], "c63");
			request_filter_clear(&f);
		} else {
			ck_assert_int_eq(parse(req, &f, msg, sizeof(msg)), -1);
			ck_assert_str_eq(msg, "\"channels\" lists 65 names, at most 64 are taken");
			ck_assert_ptr_null(f.channels);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("after and since");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, after_takes_an_unsigned_integer);
	tcase_add_loop_test(tc, bad_after_or_since_is_refused, 0,
			    (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, since_takes_an_hlc_or_an_rfc3339_time);
	tcase_add_test(tc, channels_are_taken);
	tcase_add_test(tc, channels_are_bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
