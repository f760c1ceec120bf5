/*
 * check_feed_job.c: a job feed's handling of the bodies its endpoint
 * passes on (daemon/feed_job.c), on a real feed with its ordered delivery
 * in a temporary state directory, without the endpoint or a job: the test
 * hands parsed bodies to feed_job_take_body as the endpoint would and
 * reads the answers and what the feed released. A resolved timestamp
 * whose release failed (503) must release the held rows when the job
 * retries it, not be taken for a repeat.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "config_text.h"
#include "daemon/conf.h"
#include "daemon/defer.h"
#include "daemon/feed_int.h"
#include "daemon/log.h"
#include "daemon/order.h"
#include "daemon/webhook_body.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

/* Never dialled: the job manager is not started. */
#define REFUSED_DSN "postgresql://root@127.0.0.1:1/defaultdb?sslmode=disable"

static const char batch[] =
	"{\"payload\":[{\"after\":{\"a\":1},\"key\":[1],\"topic\":\"t\","
	"\"updated\":\"10.0000000000\"},{\"after\":{\"a\":2},\"key\":[2],"
	"\"topic\":\"t\",\"updated\":\"11.0000000000\"}],\"length\":2}";
static const char resolved[] = "{\"resolved\":\"20.0000000000\"}";

static char dir[64];
static struct event_base *base;
static struct config *cfg;
static struct feed *feed;

/* A job feed as feed_job_open leaves it, less the endpoint and the job
 * (their files are never read); the sink is only configured (a feed
 * needs one): what the feed publishes is counted in lines_out. */
static void setup(void)
{
	order_set_release_fault(false);
	snprintf(dir, sizeof(dir), "/tmp/check_feed_job.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	cfg = config_text(dir,
		"[crdbfeedd]\ndsn = " REFUSED_DSN "\nstate_dir = @\n"
		"[feed j]\nsource = job\ntables = t\n"
		"ingest_listen = 127.0.0.1:1\n"
		"ingest_tls_cert = @/ingest.crt\ningest_tls_key = @/ingest.key\n"
		"ingest_auth_file = @/ingest.token\n"
		"[sink s]\nfeed = j\ntype = stdout\n");
	feed = feed_new(base, &cfg->feeds[0], dir, NULL, NULL);
	ck_assert_ptr_nonnull(feed);
	ck_assert_int_eq(feed_open_ordered(feed, false), 0);
	feed->dopts.envelope = feed->cfg->envelope;
	feed->dopts.diff = feed->cfg->diff;
	feed->dopts.number_text = true;
	feed_set_state(feed, FEED_CONNECTING, NULL);
}

static void teardown(void)
{
	char cmd[128];

	order_set_release_fault(false);
	feed_free(feed);
	defer_run();
	config_free(cfg);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The body's text through the parser and the feed: the HTTP status. */
static int post(const char *text, char *reason, size_t rlen)
{
	struct webhook_body body;
	char errbuf[256];
	int status;

	ck_assert_msg(webhook_body_parse(text, strlen(text), NULL, &body, errbuf,
					 sizeof(errbuf)) == 0, "%s", errbuf);
	reason[0] = '\0';
	status = feed_job_take_body(feed, NULL, &body, reason, rlen);
	webhook_body_clear(&body);
	return status;
}

START_TEST(refused_resolved_releases_on_retry)
{
	char reason[512];
	struct feed_stats st;
	uint64_t lines_before;

	ck_assert_int_eq(post(batch, reason, sizeof(reason)), 200);
	feed_get_stats(feed, &st);
	ck_assert_uint_eq(st.held_rows, 2);
	ck_assert_uint_eq(st.released_seq, 0);

	/* The release fails: 503 with why, the rows still held. */
	order_set_release_fault(true);
	ck_assert_int_eq(post(resolved, reason, sizeof(reason)), 503);
	ck_assert_msg(strstr(reason, "releasing held rows") != NULL, "%s", reason);
	feed_get_stats(feed, &st);
	ck_assert_uint_eq(st.held_rows, 2);
	ck_assert_uint_eq(st.released_seq, 0);
	ck_assert_uint_eq(st.resolved, 0);
	lines_before = st.lines_out;

	/* The job retries the same resolved timestamp: the rows go out. */
	order_set_release_fault(false);
	ck_assert_int_eq(post(resolved, reason, sizeof(reason)), 200);
	feed_get_stats(feed, &st);
	ck_assert_uint_eq(st.held_rows, 0);
	ck_assert_uint_eq(st.released_seq, 2);
	ck_assert_uint_ge(st.lines_out, lines_before + 2);
	ck_assert_uint_eq(st.resolved, 1);
	ck_assert_int_eq(st.last_resolved.wall, 20);

	/* Now a repeat says nothing new. */
	ck_assert_int_eq(post(resolved, reason, sizeof(reason)), 200);
	feed_get_stats(feed, &st);
	ck_assert_uint_eq(st.released_seq, 2);
}
END_TEST

static Suite *feed_job_suite(void)
{
	Suite *s = suite_create("feed_job");
	TCase *tc = tcase_create("bodies");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, refused_resolved_releases_on_retry);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(feed_job_suite());
	int failed;

	log_init(LOG_LEVEL_ERROR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
