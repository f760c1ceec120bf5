/*
 * check_sim_tls.c: crdbsim in CockroachDB's secure mode (--tls-cert,
 * --tls-key, --tls-client-ca), seen through raw sockets, libpq and libcrdb:
 * SSLRequest answered 'S', plain text refused with 08P01, the client
 * certificate's CN must be the user (28000), a TLS session is detected as
 * CockroachDB with its version, statements and a changefeed stream over
 * TLS, and cancel works both ways (a plain-text CancelRequest from 22.1,
 * SHOW/CANCEL QUERY over a second TLS connection before it, §2.5).
 *
 * Not run on its own: tests/security/e2e-tls.sh runs it inside a
 * crdbsim-env started with CRDBSIM_ENV_TLS (CRDB_DSN then carries
 * sslmode=verify-full and the client certificate; CRDBSIM_PORT is the
 * port). A missing variable fails the test.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "crdb.h"
#include "pgwire.h"

static const char *crdb_dsn;
static int sim_port;

static const char *env_or_die(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		fprintf(stderr, "check_sim_tls: %s is not set (run through "
			"tests/security/e2e-tls.sh)\n", name);
		exit(1);
	}
	return v;
}

/* The SSLRequest gets 'S' (and then a TLS handshake would follow). */
START_TEST(test_ssl_request_accepted)
{
	int fd = pgw_connect(sim_port);
	unsigned char req[8];
	char reply;
	pgw_put32(req, 8);
	pgw_put32(req + 4, PGW_SSL_REQUEST);
	pgw_send(fd, req, sizeof req);
	pgw_read_full(fd, &reply, 1);
	ck_assert_msg(reply == 'S', "SSLRequest answered '%c', expected 'S'", reply);
	close(fd);
}
END_TEST

/* A plain-text StartupMessage: FATAL 08P01, as a secure CockroachDB node. */
START_TEST(test_plain_startup_refused)
{
	int fd = pgw_connect(sim_port);
	struct pgw_msg m;
	char rest[256];
	pgw_send_startup(fd, "root", "defaultdb");
	pgw_read_msg(fd, &m, 1024);
	ck_assert_msg(m.type == 'E', "no ErrorResponse: '%c'", m.type);
	const char *code = pgw_error_field(m.body, m.len, 'C');
	const char *sev = pgw_error_field(m.body, m.len, 'S');
	const char *text = pgw_error_field(m.body, m.len, 'M');
	ck_assert_msg(code && strcmp(code, "08P01") == 0, "SQLSTATE %s",
		      code ? code : "(none)");
	ck_assert_msg(sev && strcmp(sev, "FATAL") == 0, "severity %s",
		      sev ? sev : "(none)");
	ck_assert_msg(text && strstr(text, "SSL connection required"),
		      "message %s", text ? text : "(none)");
	pgw_msg_free(&m);
	/* Then the node closes. */
	ck_assert_uint_eq(pgw_read_to_eof(fd, rest, sizeof rest), 0);
	close(fd);
}
END_TEST

/* Over TLS: CockroachDB detected, its version, the server sees TLS. */
START_TEST(test_connect_over_tls)
{
	crdb_error err;
	crdb_conn *conn = crdb_connect(crdb_dsn, &err);
	ck_assert_msg(conn != NULL, "connect: %s", err.message);
	ck_assert(crdb_conn_is_crdb(conn));
	int version = 0;
	ck_assert_int_eq(crdb_conn_server_version(conn, &version, &err), 0);
	ck_assert_int_eq(version, 230111);
	ck_assert_int_eq(PQsslInUse(crdb_conn_pg(conn)), 1);
	ck_assert_ptr_nonnull(crdb_conn_session_id(conn));
	PGresult *r = PQexec(crdb_conn_pg(conn), "SELECT 40 + 2");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "42");
	PQclear(r);
	crdb_conn_free(conn);
}
END_TEST

/* The certificate says root: asking for another user is refused. */
START_TEST(test_certificate_user_mismatch)
{
	char dsn[2048];
	crdb_error err;
	const char *at = strstr(crdb_dsn, "root@");
	ck_assert_ptr_nonnull(at);
	snprintf(dsn, sizeof dsn, "%.*sbob@%s", (int)(at - crdb_dsn), crdb_dsn,
		 at + 5);
	crdb_conn *conn = crdb_connect(dsn, &err);
	if (conn)
		crdb_conn_free(conn);
	ck_assert_msg(conn == NULL, "connected as bob with root's certificate");
	ck_assert_msg(strstr(err.message, "requested user is bob, but certificate is for root"),
		      "message: %s", err.message);
}
END_TEST

/* A changefeed streams over TLS (more rows than one TLS record). */
START_TEST(test_changefeed_over_tls)
{
	crdb_error err;
	crdb_conn *conn = crdb_connect(crdb_dsn, &err);
	ck_assert_msg(conn != NULL, "connect: %s", err.message);
	PGconn *pg = crdb_conn_pg(conn);
	PGresult *r = PQexec(pg, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	r = PQexec(pg, "DROP TABLE IF EXISTS sim_tls_t; "
		   "CREATE TABLE sim_tls_t (id INT PRIMARY KEY, v TEXT); "
		   "INSERT INTO sim_tls_t SELECT i, repeat('x', 200) "
		   "FROM generate_series(1, 2000) AS i");
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
		      PQerrorMessage(pg));
	PQclear(r);
	ck_assert_int_eq(PQsendQuery(pg, "EXPERIMENTAL CHANGEFEED FOR sim_tls_t "
				     "WITH initial_scan = 'yes'"), 1);
	ck_assert_int_eq(PQsetSingleRowMode(pg), 1);
	int rows = 0;
	bool seen[2001] = { false };
	while (rows < 2000) {
		r = PQgetResult(pg);
		ck_assert_msg(r != NULL, "feed ended after %d rows: %s", rows,
			      PQerrorMessage(pg));
		ck_assert_msg(PQresultStatus(r) == PGRES_SINGLE_TUPLE,
			      "after %d rows: %s", rows, PQresultErrorMessage(r));
		/* key is BYTES (§2.1, §2.2): in text "\\x5b315d" for [1] */
		const char *hex = PQgetvalue(r, 0, 1);
		char key[64];
		size_t n = 0;
		ck_assert_msg(strncmp(hex, "\\x", 2) == 0, "key %s", hex);
		for (const char *h = hex + 2; h[0] && h[1] && n + 1 < sizeof key; h += 2) {
			unsigned byte;
			ck_assert_msg(sscanf(h, "%2x", &byte) == 1, "key %s", hex);
			key[n++] = (char)byte;
		}
		key[n] = '\0';
		int id = 0;
		ck_assert_msg(sscanf(key, "[%d]", &id) == 1 && id >= 1 && id <= 2000,
			      "key %s", key);
		if (!seen[id]) {
			seen[id] = true;
			rows++;
		}
		PQclear(r);
	}
	/* Stop the feed: cancel, then drain to its 57014. */
	ck_assert_msg(crdb_conn_cancel(conn, &err) == 0, "cancel: %s", err.message);
	while ((r = PQgetResult(pg)) != NULL)
		PQclear(r);
	crdb_conn_free(conn);
}
END_TEST

/* Cancel a running statement from 22.1 on (a plain-text CancelRequest on
 * a new connection, as libpq sends it) and before (SHOW/CANCEL QUERY over
 * a second TLS connection). */
static void cancel_sleep(const char *extra)
{
	char dsn[2048];
	crdb_error err;
	snprintf(dsn, sizeof dsn, "%s%s", crdb_dsn, extra);
	crdb_conn *conn = crdb_connect(dsn, &err);
	ck_assert_msg(conn != NULL, "connect: %s", err.message);
	PGconn *pg = crdb_conn_pg(conn);
	ck_assert_int_eq(PQsendQuery(pg, "SELECT pg_sleep(30)"), 1);
	usleep(300 * 1000);
	struct timeval t0, t1;
	gettimeofday(&t0, NULL);
	ck_assert_msg(crdb_conn_cancel(conn, &err) == 0, "cancel: %s", err.message);
	PGresult *r = PQgetResult(pg);
	gettimeofday(&t1, NULL);
	ck_assert_ptr_nonnull(r);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	ck_assert_msg(state && strcmp(state, "57014") == 0, "result: %s",
		      PQresultErrorMessage(r));
	PQclear(r);
	while ((r = PQgetResult(pg)) != NULL)
		PQclear(r);
	ck_assert_msg(t1.tv_sec - t0.tv_sec < 10, "the cancel took %ld s",
		      (long)(t1.tv_sec - t0.tv_sec));
	crdb_conn_free(conn);
}

START_TEST(test_cancel_request_over_tls)
{
	cancel_sleep("");
}
END_TEST

START_TEST(test_cancel_query_over_tls_before_22_1)
{
	cancel_sleep("&options=-c%20crdbsim.version%3D21.2.10");
}
END_TEST

int main(void)
{
	crdb_dsn = env_or_die("CRDB_DSN");
	sim_port = atoi(env_or_die("CRDBSIM_PORT"));
	if (!strstr(crdb_dsn, "sslmode=verify-full") || !strstr(crdb_dsn, "sslcert=")) {
		fprintf(stderr, "check_sim_tls: CRDB_DSN is not TLS with a client "
			"certificate (CRDBSIM_ENV_TLS): %s\n", crdb_dsn);
		return 1;
	}
	Suite *s = suite_create("sim_tls");
	TCase *tc = tcase_create("tls");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ssl_request_accepted);
	tcase_add_test(tc, test_plain_startup_refused);
	tcase_add_test(tc, test_connect_over_tls);
	tcase_add_test(tc, test_certificate_user_mismatch);
	tcase_add_test(tc, test_changefeed_over_tls);
	tcase_add_test(tc, test_cancel_request_over_tls);
	tcase_add_test(tc, test_cancel_query_over_tls_before_22_1);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
