/*
 * check_pg_tls.c: libcrdb's crdb_connect over TLS to a real PostgreSQL with
 * ssl=on, case by case from tests/security/cases/pg_tls.cases. Not run on
 * its own: tests/security/e2e-tls.sh makes a test CA, starts the server
 * and runs this with PGTLS_HOST, PGTLS_PORT and PGTLS_PKI (the directory
 * holding the certificates) set. A missing variable fails the test.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "crdb.h"

#define MAX_CASES 64
#define LINE_MAX_LEN 1024

struct tls_case {
	int lineno;
	bool expect_ok;
	char options[LINE_MAX_LEN];   /* conninfo keywords, @PKI@ expanded */
	char expect[LINE_MAX_LEN];    /* failure: substring of the message */
	char secret[128];             /* must not appear in the message */
};

static struct tls_case cases[MAX_CASES];
static int ncases;
static const char *host, *port, *pki;

static const char *env_or_die(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		fprintf(stderr, "check_pg_tls: %s is not set (run through "
			"tests/security/e2e-tls.sh)\n", name);
		exit(1);
	}
	return v;
}

/* Copy src to dst replacing every @PKI@ with the certificate directory. */
static bool expand(char *dst, size_t len, const char *src)
{
	size_t used = 0;
	while (*src) {
		const char *piece = src;
		size_t n = 1;
		if (strncmp(src, "@PKI@", 5) == 0) {
			piece = pki;
			n = strlen(pki);
			src += 5;
		} else {
			src++;
		}
		if (used + n >= len)
			return false;
		memcpy(dst + used, piece, n);
		used += n;
	}
	dst[used] = '\0';
	return true;
}

/*
 * Format, one case a line, fields separated by '|':
 *   ok|OPTIONS
 *   fail|OPTIONS|SUBSTRING OF THE ERROR MESSAGE[|SECRET]
 * '#' lines and blank lines are skipped.
 */
static void load_cases(void)
{
	const char *srcdir = env_or_die("top_srcdir");
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/security/cases/pg_tls.cases",
		 srcdir);
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(1);
	}
	char line[LINE_MAX_LEN];
	int lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (ncases == MAX_CASES) {
			fprintf(stderr, "%s: more than %d cases\n", path, MAX_CASES);
			exit(1);
		}
		struct tls_case *c = &cases[ncases++];
		char *fields[4] = {0};
		int n = 0;
		char *save = NULL;
		for (char *t = strtok_r(line, "|", &save); t && n < 4;
		     t = strtok_r(NULL, "|", &save))
			fields[n++] = t;
		c->lineno = lineno;
		c->expect_ok = n >= 2 && strcmp(fields[0], "ok") == 0;
		bool is_fail = n >= 3 && strcmp(fields[0], "fail") == 0;
		if ((!c->expect_ok && !is_fail) || (c->expect_ok && n != 2) ||
		    !expand(c->options, sizeof c->options, fields[1])) {
			fprintf(stderr, "%s:%d: bad case\n", path, lineno);
			exit(1);
		}
		if (is_fail) {
			snprintf(c->expect, sizeof c->expect, "%s", fields[2]);
			if (n == 4)
				snprintf(c->secret, sizeof c->secret, "%s",
					 fields[3]);
		}
	}
	fclose(f);
	if (ncases == 0) {
		fprintf(stderr, "%s: no cases\n", path);
		exit(1);
	}
}

/* Does the server itself see this backend's connection as TLS? */
static bool server_sees_ssl(PGconn *pg)
{
	PGresult *r = PQexec(pg, "SELECT ssl FROM pg_stat_ssl "
			     "WHERE pid = pg_backend_pid()");
	bool ssl = PQresultStatus(r) == PGRES_TUPLES_OK &&
		   PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return ssl;
}

START_TEST(test_tls_case)
{
	const struct tls_case *c = &cases[_i];
	char conninfo[2 * LINE_MAX_LEN];
	crdb_error err;

	snprintf(conninfo, sizeof conninfo,
		 "host=%s port=%s user=postgres dbname=postgres "
		 "connect_timeout=10 %s", host, port, c->options);
	crdb_error_clear(&err);
	crdb_conn *conn = crdb_connect(conninfo, &err);
	if (c->expect_ok) {
		ck_assert_msg(conn != NULL, "pg_tls.cases:%d: connect failed: %s",
			      c->lineno, err.message);
		PGconn *pg = crdb_conn_pg(conn);
		bool tls_wanted = strstr(c->options, "sslmode=disable") == NULL;
		ck_assert_msg(PQsslInUse(pg) == tls_wanted,
			      "pg_tls.cases:%d: libpq says TLS is %s",
			      c->lineno, PQsslInUse(pg) ? "on" : "off");
		ck_assert_msg(server_sees_ssl(pg) == tls_wanted,
			      "pg_tls.cases:%d: the server's pg_stat_ssl disagrees",
			      c->lineno);
		crdb_conn_free(conn);
		return;
	}
	if (conn)
		crdb_conn_free(conn);
	ck_assert_msg(conn == NULL, "pg_tls.cases:%d: connected, expected \"%s\"",
		      c->lineno, c->expect);
	ck_assert_msg(err.code != CRDB_OK, "pg_tls.cases:%d: no error code",
		      c->lineno);
	ck_assert_msg(strstr(err.message, c->expect) != NULL,
		      "pg_tls.cases:%d: message \"%s\", expected it to contain \"%s\"",
		      c->lineno, err.message, c->expect);
	ck_assert_msg(!c->secret[0] || !strstr(err.message, c->secret),
		      "pg_tls.cases:%d: the message shows the secret: %s",
		      c->lineno, err.message);
	/* The report quotes these: make them visible in the test log. */
	printf("pg_tls.cases:%d: %s -> %s: %s\n", c->lineno, c->options,
	       crdb_errcode_name(err.code), err.message);
}
END_TEST

int main(void)
{
	host = env_or_die("PGTLS_HOST");
	port = env_or_die("PGTLS_PORT");
	pki = env_or_die("PGTLS_PKI");
	load_cases();

	Suite *s = suite_create("pg_tls");
	TCase *tc = tcase_create("cases");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_tls_case, 0, ncases);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
