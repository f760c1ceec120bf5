/*
 * wire_helpers.h: the client-side helpers shared by the crdbsim wire tests
 * (check_sim_wire.c, check_sim_wirefeed.c): the environment crdbsim-env
 * sets, connections to crdbsim, statements that must succeed, and the
 * control socket. Static inline, so that each test program carries only
 * what it uses and no object file is shared. Every failure is a Check
 * assertion: a missing environment fails the test, never skips it.
 * Include after config.h (asprintf needs the system extensions it turns
 * on), check.h and crdb.h.
 */
#ifndef CRDBSIM_WIRE_HELPERS_H
#define CRDBSIM_WIRE_HELPERS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

#endif /* CRDBSIM_WIRE_HELPERS_H */
