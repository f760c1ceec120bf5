/*
 * check_sim_webhook.c: unit tests of crdbsim's webhook sink
 * (sim_webhook.c, sim_webhook_http.c) against an HTTPS endpoint of the
 * test's own (check_sim_webhook_server.c): the request's body, headers and
 * path; batches cut by Flush; K nodes never posting two requests at once
 * that share a key; the resolved post only after every earlier batch was
 * acknowledged; retries with backoff, failure past Retry.Max; TLS
 * verification (wrong CA, wrong host name, insecure_tls_skip_verify, a
 * client certificate); the injected faults and duplicate posts; the queue
 * bound and writable.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_sim_webhook.h"
#include "sim_webhook.h"

static struct {
	struct event_base *base;
	struct test_cert cert;
	struct test_server ts;
	struct sim_webhook *wh;
	struct sim_webhook_config cfg;
	char url[128];
	char failed[256];
	int failed_calls;
	char acked[16][64];
	int nacked;
	int writable_calls;
} F;

static void on_resolved(void *arg, const char *hlc)
{
	(void)arg;
	ck_assert_int_lt(F.nacked, 16);
	snprintf(F.acked[F.nacked++], sizeof F.acked[0], "%s", hlc);
}

static void on_failed(void *arg, const char *reason)
{
	(void)arg;
	snprintf(F.failed, sizeof F.failed, "%s", reason);
	F.failed_calls++;
}

static void on_writable(void *arg)
{
	(void)arg;
	F.writable_calls++;
}

static void setup(void)
{
	memset(&F, 0, sizeof F);
	F.base = event_base_new();
	ck_assert(F.base);
	test_cert_make(&F.cert, "crdbfeedd", "IP:127.0.0.1,DNS:localhost");
	test_server_start(&F.ts, F.base, &F.cert, NULL);
	snprintf(F.url, sizeof F.url, "https://127.0.0.1:%d/crdbfeed/f?x=1",
		 F.ts.port);
	F.cfg = (struct sim_webhook_config){
		.url = F.url, .ca_pem = F.cert.cert_pem,
		.client_timeout_ms = 3000, .retry_max = 3,
		.retry_backoff_ms = 50, .nodes = 1,
	};
}

static void start_sink(void)
{
	static const struct sim_webhook_owner owner = {
		on_resolved, on_failed, on_writable, NULL
	};
	char err[256] = "";
	F.wh = sim_webhook_new(F.base, &F.cfg, &owner, err, sizeof err);
	ck_assert_msg(F.wh, "sim_webhook_new: %s", err);
}

static void teardown(void)
{
	sim_webhook_free(F.wh);
	test_server_stop(&F.ts);
	test_cert_free(&F.cert);
	event_base_free(F.base);
	sim_webhook_fault(NULL, SIM_WEBHOOK_FAULT_CLEAR, 0, 0);
}

/* Message n of key k: {"key":[k],"topic":"t","after":{"k":k,"n":n}}. */
static void send_msg(int k, int n)
{
	char key[32], msg[128];
	int kl = snprintf(key, sizeof key, "[%d]", k);
	int ml = snprintf(msg, sizeof msg,
			  "{\"key\":[%d],\"topic\":\"t\",\"after\":{\"k\":%d,\"n\":%d}}",
			  k, k, n);
	ck_assert_int_eq(sim_webhook_message(F.wh, key, (size_t)kl, msg,
					     (size_t)ml), 0);
}

static bool messages_acked(void *arg)
{
	struct sim_webhook_stats st;
	sim_webhook_get_stats(F.wh, &st);
	return st.messages >= *(uint64_t *)arg;
}

static void wait_messages(uint64_t n)
{
	ck_assert_msg(run_until(F.base, messages_acked, &n, 5000),
		      "%llu messages not acknowledged", (unsigned long long)n);
}

static bool requests_seen(void *arg)
{
	return F.ts.nreq >= *(size_t *)arg;
}

static bool failed_once(void *arg)
{
	(void)arg;
	return F.failed_calls > 0;
}

static bool resolved_acked(void *arg)
{
	return F.nacked >= *(int *)arg;
}

START_TEST(body_headers_path)
{
	F.cfg.auth_header = "Bearer s3cret";
	start_sink();
	send_msg(1, 1);
	send_msg(2, 1);
	send_msg(1, 2);
	wait_messages(3);
	ck_assert_uint_eq(F.ts.nreq, 3);       /* Flush all 0: one each */
	ck_assert_uint_eq(F.ts.connections, 1); /* kept alive */
	char host[64];
	snprintf(host, sizeof host, "127.0.0.1:%d", F.ts.port);
	for (size_t i = 0; i < 3; i++) {
		const struct ts_request *r = &F.ts.req[i];
		ck_assert_str_eq(r->path, "/crdbfeed/f?x=1");
		ck_assert_str_eq(r->content_type, "application/json");
		ck_assert_str_eq(r->auth, "Bearer s3cret");
		ck_assert_str_eq(r->host, host);
		ck_assert_uint_eq(r->payload_len, 1);
		ck_assert_int_eq(r->length_field, 1);
	}
	ck_assert_str_eq(F.ts.req[0].body,
			 "{\"payload\":[{\"key\":[1],\"topic\":\"t\",\"after\":"
			 "{\"k\":1,\"n\":1}}],\"length\":1}");
	struct sim_webhook_stats st;
	sim_webhook_get_stats(F.wh, &st);
	ck_assert_uint_eq(st.requests, 3);
	ck_assert_uint_eq(st.batches, 3);
	ck_assert_uint_eq(st.retries, 0);
	ck_assert_uint_eq(st.in_flight, 0);
}
END_TEST

START_TEST(no_auth_header_when_unset)
{
	start_sink();
	send_msg(1, 1);
	wait_messages(1);
	ck_assert_ptr_null(F.ts.req[0].auth);
}
END_TEST

START_TEST(flush_messages_batches)
{
	F.cfg.flush_messages = 4;
	F.cfg.flush_frequency_ms = 100;
	start_sink();
	for (int n = 1; n <= 10; n++)
		send_msg(7, n);
	wait_messages(10);
	ck_assert_uint_eq(F.ts.nreq, 3);
	ck_assert_uint_eq(F.ts.req[0].payload_len, 4);
	ck_assert_uint_eq(F.ts.req[1].payload_len, 4);
	ck_assert_uint_eq(F.ts.req[2].payload_len, 2);  /* by Frequency */
	ck_assert_int_eq(F.ts.req[2].length_field, 2);
	/* In order within the key. */
	ck_assert_ptr_nonnull(strstr(F.ts.req[2].body, "\"n\":9}"));
	ck_assert_ptr_nonnull(strstr(F.ts.req[2].body, "\"n\":10}"));
}
END_TEST

START_TEST(flush_bytes_includes_crossing_message)
{
	/* Each message is 45 bytes: the second one reaches 47. */
	F.cfg.flush_bytes = 47;
	start_sink();
	for (int n = 1; n <= 4; n++)
		send_msg(3, n);
	wait_messages(4);
	ck_assert_uint_eq(F.ts.nreq, 2);
	ck_assert_uint_eq(F.ts.req[0].payload_len, 2);
	ck_assert_uint_eq(F.ts.req[1].payload_len, 2);
}
END_TEST

START_TEST(resolved_flushes_partial_batch)
{
	F.cfg.flush_messages = 100;     /* no Frequency: only resolved flushes */
	start_sink();
	send_msg(1, 1);
	send_msg(2, 1);
	ck_assert(sim_webhook_resolved(F.wh, "5.0") == 0);
	int one = 1;
	ck_assert(run_until(F.base, resolved_acked, &one, 5000));
	ck_assert_uint_eq(F.ts.nreq, 2);
	ck_assert_uint_eq(F.ts.req[0].payload_len, 2);
	ck_assert_str_eq(F.ts.req[1].body, "{\"resolved\":\"5.0\"}");
}
END_TEST

START_TEST(keys_never_overlap_in_flight)
{
	F.cfg.nodes = 3;
	F.cfg.flush_messages = 3;
	F.cfg.flush_frequency_ms = 20;
	start_sink();
	F.ts.delay_ms = 20;
	for (int n = 1; n <= 10; n++)
		for (int k = 0; k < 10; k++)
			send_msg(k, n);
	wait_messages(100);
	ck_assert_uint_eq(F.ts.key_overlaps, 0);
	ck_assert_uint_ge(F.ts.max_in_flight, 2);      /* nodes run at once */
	ck_assert_uint_le(F.ts.max_in_flight, 3);      /* one per node */
	/* Every message once, each key's in order. */
	int last[10] = { 0 };
	unsigned seen = 0;
	for (size_t i = 0; i < F.ts.nreq; i++) {
		const char *p = F.ts.req[i].body;
		int k, n;
		while ((p = strstr(p, "\"after\":{\"k\":")) &&
		       sscanf(p, "\"after\":{\"k\":%d,\"n\":%d}", &k, &n) == 2) {
			ck_assert_int_eq(n, last[k] + 1);
			last[k] = n;
			seen++;
			p++;
		}
	}
	ck_assert_uint_eq(seen, 100);
}
END_TEST

START_TEST(resolved_waits_for_acks)
{
	F.cfg.nodes = 2;
	start_sink();
	F.ts.hold_next_payload = true;
	for (int k = 0; k < 4; k++)
		send_msg(k, 1);
	ck_assert(sim_webhook_resolved(F.wh, "1700000000000000000.1") == 0);
	run_until(F.base, NULL, NULL, 300);
	ck_assert(F.ts.holding);
	for (size_t i = 0; i < F.ts.nreq; i++)
		ck_assert_msg(!F.ts.req[i].resolved, "resolved posted early");
	ck_assert_int_eq(F.nacked, 0);
	test_server_release(&F.ts);
	int one = 1;
	ck_assert(run_until(F.base, resolved_acked, &one, 5000));
	ck_assert_str_eq(F.nacked ? F.acked[0] : "", "1700000000000000000.1");
	/* The resolved post is the last, after every batch. */
	ck_assert(F.ts.req[F.ts.nreq - 1].resolved);
	ck_assert_uint_eq(F.ts.nreq, 5);
	ck_assert_str_eq(F.ts.req[4].body,
			 "{\"resolved\":\"1700000000000000000.1\"}");
}
END_TEST

START_TEST(retry_after_503_with_backoff)
{
	start_sink();
	F.ts.statuses[0] = 503;
	F.ts.statuses[1] = 503;
	F.ts.nstatuses = 2;
	send_msg(1, 1);
	wait_messages(1);
	ck_assert_uint_eq(F.ts.nreq, 3);
	ck_assert_str_eq(F.ts.req[0].body, F.ts.req[2].body);
	/* Backoff 50 ms, then 100 ms: timers never fire early. */
	ck_assert_double_ge(F.ts.req[1].at_ms - F.ts.req[0].at_ms, 45);
	ck_assert_double_ge(F.ts.req[2].at_ms - F.ts.req[1].at_ms, 95);
	struct sim_webhook_stats st;
	sim_webhook_get_stats(F.wh, &st);
	ck_assert_uint_eq(st.retries, 2);
	ck_assert_uint_eq(st.non_2xx, 2);
	ck_assert_uint_eq(st.batches, 1);
	ck_assert_int_eq(F.failed_calls, 0);
}
END_TEST

START_TEST(fails_past_retry_max)
{
	F.cfg.retry_max = 2;
	F.cfg.retry_backoff_ms = 20;
	start_sink();
	for (size_t i = 0; i < 16; i++)
		F.ts.statuses[i] = 500;
	F.ts.nstatuses = 16;
	send_msg(1, 1);
	ck_assert(run_until(F.base, failed_once, NULL, 5000));
	run_until(F.base, NULL, NULL, 200);     /* nothing more comes */
	ck_assert_int_eq(F.failed_calls, 1);
	ck_assert_uint_eq(F.ts.nreq, 3);        /* the try and 2 retries */
	ck_assert_msg(strncmp(F.failed, "500", 3) == 0, "reason: %s", F.failed);
	ck_assert_int_eq(sim_webhook_message(F.wh, "[1]", 3, "{}", 2), -1);
	ck_assert(!sim_webhook_can_send(F.wh));
	struct sim_webhook_stats st;
	sim_webhook_get_stats(F.wh, &st);
	ck_assert_uint_eq(st.failures, 1);
	ck_assert_uint_eq(st.in_flight, 0);
}
END_TEST

static void expect_tls_failure(const char *why)
{
	F.cfg.retry_max = 0;
	start_sink();
	send_msg(1, 1);
	ck_assert(run_until(F.base, failed_once, NULL, 5000));
	ck_assert_msg(strstr(F.failed, why), "reason: %s", F.failed);
	ck_assert_uint_eq(F.ts.nreq, 0);
	struct sim_webhook_stats st;
	sim_webhook_get_stats(F.wh, &st);
	ck_assert_uint_eq(st.connect_errors, 1);
}

START_TEST(wrong_ca_fails_verification)
{
	struct test_cert other;
	test_cert_make(&other, "someone else", "IP:127.0.0.1");
	F.cfg.ca_pem = other.cert_pem;
	expect_tls_failure("certificate verification failed");
	test_cert_free(&other);
}
END_TEST

START_TEST(wrong_host_fails_verification)
{
	snprintf(F.url, sizeof F.url, "https://127.0.0.1:%d/x", F.ts.port);
	test_server_stop(&F.ts);
	test_cert_free(&F.cert);
	test_cert_make(&F.cert, "crdbfeedd", "DNS:elsewhere.test");
	test_server_start(&F.ts, F.base, &F.cert, NULL);
	snprintf(F.url, sizeof F.url, "https://127.0.0.1:%d/x", F.ts.port);
	F.cfg.ca_pem = F.cert.cert_pem;
	expect_tls_failure("certificate verification failed");
}
END_TEST

START_TEST(insecure_skip_verify_accepted)
{
	struct test_cert other;
	test_cert_make(&other, "someone else", "IP:127.0.0.1");
	F.cfg.ca_pem = other.cert_pem;
	F.cfg.insecure_skip_verify = true;
	start_sink();
	send_msg(1, 1);
	wait_messages(1);
	ck_assert_int_eq(F.failed_calls, 0);
	test_cert_free(&other);
}
END_TEST

START_TEST(closed_port_refused)
{
	int port = F.ts.port;
	test_server_stop(&F.ts);
	test_server_start(&F.ts, F.base, &F.cert, NULL);
	snprintf(F.url, sizeof F.url, "https://127.0.0.1:%d/x", port);
	F.cfg.retry_max = 1;
	F.cfg.retry_backoff_ms = 10;
	start_sink();
	send_msg(1, 1);
	ck_assert(run_until(F.base, failed_once, NULL, 5000));
	ck_assert_msg(strstr(F.failed, "cannot connect"), "reason: %s", F.failed);
	struct sim_webhook_stats st;
	sim_webhook_get_stats(F.wh, &st);
	ck_assert_uint_eq(st.connect_errors, 2);
	ck_assert_uint_eq(st.retries, 1);
}
END_TEST

START_TEST(client_certificate_presented)
{
	struct test_cert client;
	test_cert_make(&client, "job", "DNS:job");
	test_server_stop(&F.ts);
	test_server_start(&F.ts, F.base, &F.cert, client.cert_pem);
	snprintf(F.url, sizeof F.url, "https://127.0.0.1:%d/x", F.ts.port);
	F.cfg.client_cert_pem = client.cert_pem;
	F.cfg.client_key_pem = client.key_pem;
	start_sink();
	send_msg(1, 1);
	wait_messages(1);
	sim_webhook_free(F.wh);
	F.wh = NULL;
	/* Without it the server refuses the handshake. */
	F.cfg.client_cert_pem = F.cfg.client_key_pem = NULL;
	F.cfg.retry_max = 0;
	start_sink();
	send_msg(1, 1);
	ck_assert(run_until(F.base, failed_once, NULL, 5000));
	ck_assert_uint_eq(F.ts.nreq, 1);
	test_cert_free(&client);
}
END_TEST

START_TEST(bad_config_refused)
{
	static const struct sim_webhook_owner owner = { 0 };
	char err[256];
	struct sim_webhook_config c = F.cfg;
	c.url = "http://127.0.0.1:1/x";
	ck_assert_ptr_null(sim_webhook_new(F.base, &c, &owner, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "https://"));
	c = F.cfg;
	c.ca_pem = "not a PEM";
	ck_assert_ptr_null(sim_webhook_new(F.base, &c, &owner, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "ca_cert"));
	c = F.cfg;
	c.client_cert_pem = F.cert.cert_pem;
	ck_assert_ptr_null(sim_webhook_new(F.base, &c, &owner, err, sizeof err));
	c.client_key_pem = "junk";
	ck_assert_ptr_null(sim_webhook_new(F.base, &c, &owner, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "client_key"));
}
END_TEST

START_TEST(injected_faults)
{
	start_sink();
	sim_webhook_fault(NULL, SIM_WEBHOOK_FAULT_REFUSE, 0, 1);
	send_msg(1, 1);
	wait_messages(1);
	ck_assert_uint_eq(F.ts.nreq, 1);        /* the refused one never came */
	sim_webhook_fault(NULL, SIM_WEBHOOK_FAULT_STATUS, 503, 2);
	send_msg(1, 2);
	wait_messages(2);
	ck_assert_uint_eq(F.ts.nreq, 4);        /* the endpoint got all three */
	sim_webhook_fault(NULL, SIM_WEBHOOK_FAULT_TIMEOUT, 0, 1);
	send_msg(1, 3);
	wait_messages(3);
	ck_assert_uint_eq(F.ts.nreq, 6);
	sim_webhook_fault(NULL, SIM_WEBHOOK_FAULT_STATUS, 500, 5);
	sim_webhook_fault(NULL, SIM_WEBHOOK_FAULT_CLEAR, 0, 0);
	send_msg(1, 4);
	wait_messages(4);
	ck_assert_uint_eq(F.ts.nreq, 7);
	/* A refused or timed-out connection is replaced; a 503 keeps it. */
	ck_assert_uint_eq(F.ts.connections, 2);
	struct sim_webhook_stats st;
	sim_webhook_get_stats(F.wh, &st);
	ck_assert_uint_eq(st.connect_errors, 1);
	ck_assert_uint_eq(st.non_2xx, 2);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.retries, 4);
	ck_assert_int_eq(F.failed_calls, 0);
}
END_TEST

START_TEST(client_timeout_retried)
{
	F.cfg.client_timeout_ms = 100;
	start_sink();
	F.ts.delay_ms = 400;
	send_msg(1, 1);
	size_t two = 2;
	ck_assert(run_until(F.base, requests_seen, &two, 5000));
	struct sim_webhook_stats st;
	sim_webhook_get_stats(F.wh, &st);
	ck_assert_uint_ge(st.timeouts, 1);
	ck_assert_uint_eq(st.batches, 0);
	ck_assert_str_eq(F.ts.req[0].body, F.ts.req[1].body);
	F.ts.delay_ms = 0;
	wait_messages(1);
}
END_TEST

START_TEST(duplicate_posts)
{
	start_sink();
	sim_webhook_set_duplicate_posts(F.wh, true);
	send_msg(1, 1);
	send_msg(1, 2);
	wait_messages(2);
	ck_assert_uint_eq(F.ts.nreq, 4);
	ck_assert_str_eq(F.ts.req[0].body, F.ts.req[1].body);
	ck_assert_str_eq(F.ts.req[2].body, F.ts.req[3].body);
	ck_assert_str_ne(F.ts.req[0].body, F.ts.req[2].body);
}
END_TEST

static bool writable_called(void *arg)
{
	(void)arg;
	return F.writable_calls > 0;
}

START_TEST(queue_bound_and_writable)
{
	F.cfg.flush_messages = 256;
	F.cfg.flush_frequency_ms = 10;
	start_sink();
	F.ts.hold_next_payload = true;
	int n = 0;
	while (sim_webhook_can_send(F.wh)) {
		send_msg(1, ++n);
		if (n == 1) {
			size_t one = 1;     /* the first batch is held in flight */
			ck_assert(run_until(F.base, requests_seen, &one, 5000));
		}
	}
	ck_assert_int_eq(n, 1 + 1024);
	ck_assert_int_eq(F.writable_calls, 0);
	test_server_release(&F.ts);
	ck_assert(run_until(F.base, writable_called, NULL, 5000));
	ck_assert(sim_webhook_can_send(F.wh));
	wait_messages((uint64_t)n);
}
END_TEST

int main(void)
{
	/* A write to a connection the peer closed is an error, not a death
	 * (crdbsim ignores SIGPIPE the same way). */
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("crdbsim webhook sink");
	TCase *t = tcase_create("webhook");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 20);
	tcase_add_test(t, body_headers_path);
	tcase_add_test(t, no_auth_header_when_unset);
	tcase_add_test(t, flush_messages_batches);
	tcase_add_test(t, flush_bytes_includes_crossing_message);
	tcase_add_test(t, resolved_flushes_partial_batch);
	tcase_add_test(t, keys_never_overlap_in_flight);
	tcase_add_test(t, resolved_waits_for_acks);
	tcase_add_test(t, retry_after_503_with_backoff);
	tcase_add_test(t, fails_past_retry_max);
	tcase_add_test(t, wrong_ca_fails_verification);
	tcase_add_test(t, wrong_host_fails_verification);
	tcase_add_test(t, insecure_skip_verify_accepted);
	tcase_add_test(t, closed_port_refused);
	tcase_add_test(t, client_certificate_presented);
	tcase_add_test(t, bad_config_refused);
	tcase_add_test(t, injected_faults);
	tcase_add_test(t, client_timeout_retried);
	tcase_add_test(t, duplicate_posts);
	tcase_add_test(t, queue_bound_and_writable);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
