/*
 * wire_helpers.h: the client-side helpers shared by the crdbsim tests that
 * go through libpq (check_sim_wire.c, check_sim_conn.c,
 * check_sim_wirefeed.c, check_sim_malform.c): the environment crdbsim-env
 * sets, connections to crdbsim, statements that must succeed or be
 * waited for, the control socket and the case files of
 * tests/crdbsim/cases/ (through tests/lib's reader). Static inline, so
 * that each test program carries only what it uses. Every failure is a
 * Check assertion: a missing environment fails the test, never skips it.
 * Include after config.h (asprintf needs the system extensions it turns
 * on), check.h and libpq-fe.h (or crdb.h).
 */
#ifndef CRDBSIM_WIRE_HELPERS_H
#define CRDBSIM_WIRE_HELPERS_H

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cases.h"

/* The value of an environment variable crdbsim-env sets. */
static inline const char *env(const char *name)
{
	const char *v = getenv(name);
	/* A missing environment is a failure, never a skip. */
	ck_assert_msg(v && *v, "%s is not set: run under tests/crdbsim/crdbsim-env", name);
	return v;
}

/* Seconds on the monotonic clock, for deadlines. */
static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A conninfo for CRDB_DSN emulating version v (NULL: the default);
 * caller frees. */
static inline char *dsn_for(const char *v)
{
	char *s = NULL;
	const char *base = env("CRDB_DSN");
	int n;
	if (v)
		n = asprintf(&s, "%s%coptions=-c%%20crdbsim.version%%3D%s", base,
			     strchr(base, '?') ? '&' : '?', v);
	else
		n = asprintf(&s, "%s", base);
	ck_assert_int_ge(n, 0);
	return s;
}

/* A connection to crdbsim emulating version v (NULL: the default). */
static inline PGconn *connect_v(const char *v)
{
	char *dsn = dsn_for(v);
	PGconn *c = PQconnectdb(dsn);
	free(dsn);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s",
		      PQerrorMessage(c));
	return c;
}

static inline PGconn *connect_sim(void)
{
	return connect_v(NULL);
}

/* Run sql; it must succeed, with or without rows. */
static inline void exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
		      PQresultStatus(r) == PGRES_TUPLES_OK,
		      "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

/* The single value of a one-row, one-column query (caller frees). */
static inline char *scalar(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(c));
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_int_eq(PQnfields(r), 1);
	char *v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	ck_assert_ptr_nonnull(v);
	return v;
}

/* One command on crdbsim's control socket; the reply line (caller
 * frees). */
static inline char *control(const char *cmd)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", env("CRDBSIM_CONTROL"));
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0,
		      "control connect: %s", strerror(errno));
	char line[512];
	snprintf(line, sizeof line, "%s\n", cmd);
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	size_t n = 0;
	while (n < sizeof line - 1) {
		ssize_t r = read(fd, line + n, 1);
		ck_assert_int_eq(r, 1);
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(fd);
	return strdup(line);
}

/* 32 lower-case hex digits: a CockroachDB session or query id (§6.4). */
static inline bool is_hex32(const char *s)
{
	if (strlen(s) != 32)
		return false;
	for (int i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* A case file of tests/crdbsim/cases/ (fields separated by tabs): fn per
 * case; returns the number of cases. */
static inline int for_each_case(const char *file,
				void (*fn)(char **fields, int n, int lineno))
{
	char rel[256];
	struct case_file cf;

	snprintf(rel, sizeof rel, "tests/crdbsim/cases/%s", file);
	cases_load_file(rel, CASES_TAB, &cf);
	for (size_t i = 0; i < cf.count; i++)
		fn(cf.lines[i].field, cf.lines[i].nfields, cf.lines[i].lineno);
	int n = (int)cf.count;
	cases_free(&cf);
	return n;
}

/* Wait until `sql` on c gives at least one row (at most 5 s). */
static inline void wait_rows(PGconn *c, const char *sql)
{
	double end = now_s() + 5;
	for (;;) {
		PGresult *r = PQexec(c, sql);
		ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s",
			      sql, PQerrorMessage(c));
		int n = PQntuples(r);
		PQclear(r);
		if (n > 0)
			return;
		ck_assert_msg(now_s() < end, "timed out waiting for: %s", sql);
		usleep(20000);
	}
}

/* Send `SELECT pg_sleep(secs)` on c and wait until crdbsim lists it. */
static inline void start_sleep(PGconn *c, PGconn *observer, int secs)
{
	char sql[64];
	snprintf(sql, sizeof sql, "SELECT pg_sleep(%d)", secs);
	ck_assert(PQsendQuery(c, sql));
	wait_rows(observer, "SELECT query_id FROM [SHOW CLUSTER STATEMENTS] "
		  "WHERE query LIKE 'SELECT pg_sleep(%'");
}

/* The final result of what c runs: its status, SQLSTATE and message. */
static inline ExecStatusType finish(PGconn *c, char sqlstate[6], char *msg,
				    size_t msglen)
{
	ExecStatusType st = PGRES_EMPTY_QUERY;
	PGresult *r;
	sqlstate[0] = '\0';
	if (msg)
		msg[0] = '\0';
	while ((r = PQgetResult(c))) {
		st = PQresultStatus(r);
		if (st == PGRES_FATAL_ERROR) {
			const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
			snprintf(sqlstate, 6, "%s", s ? s : "");
			if (msg)
				snprintf(msg, msglen, "%s", m ? m : "");
		}
		PQclear(r);
	}
	return st;
}

#endif /* CRDBSIM_WIRE_HELPERS_H */
