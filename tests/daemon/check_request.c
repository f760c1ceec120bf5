/*
 * check_request.c: the subscriber request line's parser (daemon/request.c)
 * on the replay fields: "after" (an integer >= 0) and "since" (an HLC or
 * an RFC 3339 time), which exclude each other; each refusal says what was
 * wrong in one line and leaves the filter cleared.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "daemon/request.h"

#include <check.h>
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
	{ "{\"before\":1}", "unknown request field \"before\" (expected tables, ops, resolved, after, since)" },
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
	ck_assert(!f.has_after && !f.has_since && !f.tables);
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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
