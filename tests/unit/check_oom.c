/*
 * check_oom.c: allocation failure across libcrdb's API. A counting
 * allocator, installed for libcrdb (crdb_set_allocator) and for jansson
 * (json_set_alloc_funcs), fails the Nth allocation; each scenario runs for
 * N = 1, 2, 3, ... until it succeeds. Every injected failure must give -1
 * or NULL with CRDB_ENOMEM, no crash, and no allocation left behind (the
 * allocator counts live blocks; run under valgrind too).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdb.h"

static unsigned long alloc_count; /* allocations since the last reset */
static unsigned long fail_at;     /* fail this one (1-based); 0 = none */
static bool injected;             /* a failure was injected */
static long live;                 /* blocks allocated and not freed */

static bool should_fail(void)
{
	alloc_count++;
	if (fail_at && alloc_count == fail_at) {
		injected = true;
		return true;
	}
	return false;
}

static void *counting_malloc(size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = malloc(size);
	if (p)
		live++;
	return p;
}

static void *counting_realloc(void *ptr, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = realloc(ptr, size);
	if (p && !ptr)
		live++;
	return p;
}

static void counting_free(void *ptr)
{
	if (ptr)
		live--;
	free(ptr);
}

/* A scenario: 0 on success (having freed everything), -1 with err. */
typedef int (*scenario_fn)(crdb_error *err);

static void run_until_success(const char *name, scenario_fn fn)
{
	unsigned long n;

	for (n = 1; n < 100000; n++) {
		crdb_error err;
		int rc;

		crdb_error_clear(&err);
		alloc_count = 0;
		injected = false;
		fail_at = n;
		rc = fn(&err);
		fail_at = 0;
		ck_assert_msg(live == 0, "%s: %ld blocks leaked with the "
			      "allocation %lu failing", name, live, n);
		if (!injected) {
			ck_assert_msg(rc == 0, "%s: fails without injected "
				      "failure: %s", name, err.message);
			break;
		}
		ck_assert_msg(rc == -1, "%s: allocation %lu failed but the "
			      "call succeeded", name, n);
		ck_assert_msg(err.code == CRDB_ENOMEM, "%s: allocation %lu "
			      "failed and gave %s: %s", name, n,
			      crdb_errcode_name(err.code), err.message);
	}
	/* Each scenario allocates, so at least one failure was tried. */
	ck_assert_msg(n > 1, "%s: no allocation at all", name);
	printf("%s: %lu allocations, each failure gave ENOMEM\n", name,
	       n - 1);
	fflush(stdout);
}

static int decode_raw_text(crdb_error *err)
{
	/* PeerDB's live wrapped+updated+diff row, hex as on the wire. */
	static const char value[] =
		"\\x7b226166746572223a207b226964223a20322c20226e616d65223a20"
		"226361726f6c227d2c20226265666f7265223a206e756c6c2c2022757064"
		"61746564223a202231373834373538393735303731373134323737"
		"2e30303030303030303030227d";
	crdb_decode_opts opts = { CRDB_ENVELOPE_WRAPPED, true };
	crdb_event ev;

	if (crdb_event_decode_raw("defaultdb.public.users", 22, "\\x5b325d", 8,
				  value, sizeof value - 1, 0, &opts, &ev,
				  err) < 0)
		return -1;
	ck_assert_int_eq(ev.op, CRDB_OP_INSERT);
	crdb_event_clear(&ev);
	return 0;
}

/* number_text: numbers long enough to need an allocation of their own. */
static int decode_number_text(crdb_error *err)
{
	static const char value[] = "{\"after\": {\"d\": "
		"1234567890123456789012345678901234567890123456789012345678901234567890"
		"1234567890123456789012345678901234567890123456789012345678901234567890"
		".5, \"e\": 1.0E+400}}";
	crdb_decode_opts opts = { CRDB_ENVELOPE_WRAPPED, false, true };
	crdb_event ev;
	size_t n;

	if (crdb_event_decode_raw("foo", 3, "[1]", 3, value, sizeof value - 1,
				  1, &opts, &ev, err) < 0)
		return -1;
	ck_assert_ptr_nonnull(crdb_json_number_text(json_object_get(ev.after, "d"), &n));
	ck_assert_uint_eq(n, 142);
	ck_assert_ptr_nonnull(crdb_json_number_text(json_object_get(ev.after, "e"), &n));
	ck_assert_uint_eq(n, 8);
	crdb_event_clear(&ev);
	return 0;
}

static int decode_row_envelope(crdb_error *err)
{
	static const char value[] = "{\"__crdb__\": {\"updated\": "
		"\"1.0000000002\"}, \"a\": 1, \"b\": \"bar\", \"big\": "
		"123456789012345678901234567890}";
	crdb_decode_opts opts = { CRDB_ENVELOPE_ROW, false };
	crdb_event ev;

	if (crdb_event_decode_raw("foo", 3, "[1]", 3, value, sizeof value - 1,
				  1, &opts, &ev, err) < 0)
		return -1;
	ck_assert_int_eq(json_object_size(ev.after), 3);
	crdb_event_clear(&ev);
	return 0;
}

static int decode_enriched(crdb_error *err)
{
	static const char value[] = "{\"after\": {\"id\": 1}, \"before\": "
		"null, \"op\": \"c\", \"source\": {\"ts_hlc\": "
		"\"1745525261013511000.0000000000\"}, \"ts_ns\": 1}";
	crdb_decode_opts opts = { CRDB_ENVELOPE_ENRICHED, false };
	crdb_event ev;

	if (crdb_event_decode_raw("foo", 3, "{\"id\": 1}", 9, value,
				  sizeof value - 1, 1, &opts, &ev, err) < 0)
		return -1;
	crdb_event_clear(&ev);
	return 0;
}

static int decode_resolved_result(crdb_error *err)
{
	static const char value[] = "{\"__crdb__\":{\"resolved\":"
		"\"1.0000000002\"}}";
	PGresAttDesc attrs[3] = {
		{ .name = (char *)"table", .typid = 25, .format = 1 },
		{ .name = (char *)"key", .typid = 17, .format = 1 },
		{ .name = (char *)"value", .typid = 17, .format = 1 },
	};
	crdb_decode_opts opts = { CRDB_ENVELOPE_BARE, false };
	crdb_event ev;
	PGresult *res;
	int rc;

	/* libpq allocates with malloc(), outside the counting hooks. */
	res = PQmakeEmptyPGresult(NULL, PGRES_SINGLE_TUPLE);
	ck_assert(res && PQsetResultAttrs(res, 3, attrs));
	ck_assert(PQsetvalue(res, 0, 0, NULL, -1) &&
		  PQsetvalue(res, 0, 1, NULL, -1) &&
		  PQsetvalue(res, 0, 2, (char *)value, sizeof value - 1));
	rc = crdb_event_decode(res, &opts, &ev, err);
	if (rc == 0)
		crdb_event_clear(&ev);
	PQclear(res);
	return rc;
}

/* Key and string longer than the JSON reader's stack buffers. */
#define LONG_JSON "{\"a_key_longer_than_sixty_four_bytes_so_that_the_" \
	"reader_allocates_it\": \"\\u00e9 and a value longer than one " \
	"hundred and twenty-eight bytes, so that it also goes through the " \
	"allocation path of the reader, with \\\"escapes\\\"\"}"

static int values(crdb_error *err)
{
	static const struct {
		uint32_t oid;
		int format;
		const char *value;
		size_t len;
	} cases[] = {
		{ 3802, 0, "{\"a\": [1, 2.5, 1e400, \"x\"], \"b\": {}}", 36 },
		{ 1009, 0, "{\"a,b\",NULL,c}", 14 },
		{ 1700, 1, "\0\2\0\0\0\0\0\2\0\26\13\270", 12 },
		{ 1700, 0, "123456789012345678901234567890", 30 },
		{ 17, 0, "\\x0001ff", 8 },
		{ 17, 1, "\1\2", 2 },
		{ 1016, 1, "\0\0\0\1\0\0\0\1\0\0\0\24\0\0\0\2\0\0\0\1"
			   "\0\0\0\10\0\0\0\0\0\0\0\1\377\377\377\377", 36 },
		{ 1184, 1, "\0\2\260\352\327\366\114\140", 8 },
		{ 1186, 1, "\0\0\0\2\222\125\123\100\0\0\0\2\0\0\0\14", 16 },
		{ 25, 0, "h\303\251llo", 6 },
		{ 3802, 0, LONG_JSON, sizeof LONG_JSON - 1 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *j = crdb_value_to_json(crdb_types_crdb(), cases[i].oid,
					       cases[i].value, cases[i].len,
					       cases[i].format, err);
		if (!j)
			return -1;
		json_decref(j);
	}
	return 0;
}

static int row_to_json(crdb_error *err)
{
	PGresAttDesc attrs[3] = {
		{ .name = (char *)"id", .typid = 20, .format = 0 },
		{ .name = (char *)"doc", .typid = 3802, .format = 0 },
		{ .name = (char *)"tags", .typid = 1009, .format = 0 },
	};
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	json_t *row;

	ck_assert(res && PQsetResultAttrs(res, 3, attrs));
	ck_assert(PQsetvalue(res, 0, 0, (char *)"7", 1) &&
		  PQsetvalue(res, 0, 1, (char *)"{\"k\": [1]}", 10) &&
		  PQsetvalue(res, 0, 2, (char *)"{x,y}", 5));
	row = crdb_row_to_json(crdb_types_crdb(), res, 0, err);
	PQclear(res);
	if (!row)
		return -1;
	json_decref(row);
	return 0;
}

static int spec_build(crdb_error *err)
{
	crdb_feed_spec *spec = crdb_feed_spec_new(err);
	const char *cursor = NULL;
	char *sql = NULL;

	if (!spec)
		return -1;
	if (crdb_feed_spec_add_table(spec, "public.users", NULL, err) < 0 ||
	    crdb_feed_spec_add_table(spec, "\"My T\"", "f1", err) < 0 ||
	    crdb_feed_spec_set_option(spec, "updated", NULL, err) < 0 ||
	    crdb_feed_spec_set_option(spec, "diff", NULL, err) < 0 ||
	    crdb_feed_spec_set_option(spec, "resolved", "5000ms", err) < 0 ||
	    crdb_feed_spec_set_option(spec, "cursor",
				      "1784759045000000000.0000000000",
				      err) < 0 ||
	    crdb_feed_spec_set_option(spec, "envelope", "wrapped", err) < 0) {
		crdb_feed_spec_free(spec);
		return -1;
	}
	sql = crdb_feed_spec_build(spec, true, &cursor, err);
	crdb_feed_spec_free(spec);
	if (!sql)
		return -1;
	crdb_free(sql);
	return 0;
}

/* A job's statement: a sink and a JSON option, which libcrdb reads. */
static int spec_build_sink(crdb_error *err)
{
	crdb_feed_spec *spec = crdb_feed_spec_new(err);
	char *sql = NULL;

	if (!spec)
		return -1;
	if (crdb_feed_spec_add_table(spec, "orders", NULL, err) < 0 ||
	    crdb_feed_spec_set_sink(spec, "webhook-https://h:8443/crdbfeed/o?ca_cert=LS0t",
				    err) < 0 ||
	    crdb_feed_spec_set_option(spec, "webhook_sink_config",
				      "{\"Flush\":{\"Messages\":100},\"Retry\":{\"Max\":3,\"Backoff\":\"500ms\"}}",
				      err) < 0 ||
	    crdb_feed_spec_set_option(spec, "webhook_auth_header",
				      "Bearer t'k", err) < 0) {
		crdb_feed_spec_free(spec);
		return -1;
	}
	sql = crdb_feed_spec_build(spec, false, NULL, err);
	crdb_feed_spec_free(spec);
	if (!sql)
		return -1;
	crdb_free(sql);
	return 0;
}

static int hlc_parse(crdb_error *err)
{
	crdb_hlc hlc;
	char buf[CRDB_HLC_BUFSIZE];
	/* Allocation-free by design; one json value keeps the scenario
	 * honest about reaching the allocator at all. */
	json_t *j = json_string("1784759045000000000.0000000001");

	if (!j) {
		crdb_error_clear(err);
		err->code = CRDB_ENOMEM;
		return -1;
	}
	if (crdb_hlc_parse(json_string_value(j), json_string_length(j), &hlc,
			   err) < 0) {
		json_decref(j);
		return -1;
	}
	json_decref(j);
	crdb_hlc_format(hlc, buf);
	ck_assert_str_eq(buf, "1784759045000000000.0000000001");
	return 0;
}

START_TEST(test_event_decode)
{
	run_until_success("decode raw text wrapped", decode_raw_text);
	run_until_success("decode number_text", decode_number_text);
	run_until_success("decode row envelope", decode_row_envelope);
	run_until_success("decode enriched", decode_enriched);
	run_until_success("decode resolved PGresult", decode_resolved_result);
}
END_TEST

START_TEST(test_values)
{
	run_until_success("value_to_json", values);
	run_until_success("row_to_json", row_to_json);
}
END_TEST

START_TEST(test_spec_build)
{
	run_until_success("feed spec build", spec_build);
	run_until_success("feed spec build with a sink", spec_build_sink);
}
END_TEST

START_TEST(test_hlc)
{
	run_until_success("hlc parse", hlc_parse);
}
END_TEST

static Suite *oom_suite(void)
{
	Suite *s = suite_create("oom");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_event_decode);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_spec_build);
	tcase_add_test(tc, test_hlc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* Before anything allocates through either library. */
	crdb_set_allocator(counting_malloc, counting_realloc, counting_free);
	json_set_alloc_funcs(counting_malloc, counting_free);

	sr = srunner_create(oom_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
