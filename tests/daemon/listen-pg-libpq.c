/*
 * listen-pg-libpq.c: a libpq listener for the LISTEN endpoint's
 * end-to-end test: connects with CONNINFO, sends LISTEN CHANNEL through
 * the extended protocol (PQexecParams), prints "listening", then prints
 * "notify CHANNEL PAYLOAD PID" for each notification PQnotifies returns
 * after PQconsumeInput, and exits 0 after COUNT of them (1 after 20 s).
 *
 *   listen-pg-libpq CONNINFO CHANNEL COUNT
 */
#include <config.h> /* autoconf's, from the build directory */

#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>

#include <libpq-fe.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: listen-pg-libpq CONNINFO CHANNEL COUNT\n");
		return 2;
	}
	PGconn *conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "listen-pg-libpq: %s", PQerrorMessage(conn));
		return 1;
	}
	char sql[200];
	snprintf(sql, sizeof sql, "LISTEN %s", argv[2]);
	PGresult *res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "listen-pg-libpq: LISTEN: %s", PQerrorMessage(conn));
		return 1;
	}
	PQclear(res);
	printf("listening\n");
	fflush(stdout);
	int want = atoi(argv[3]), got = 0;
	int waited_ms = 0;
	while (got < want && waited_ms < 20000) {
		int sock = PQsocket(conn);
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(sock, &rd);
		struct timeval tv = {0, 100000};
		if (select(sock + 1, &rd, NULL, NULL, &tv) == 0) {
			waited_ms += 100;
			continue;
		}
		if (!PQconsumeInput(conn)) {
			fprintf(stderr, "listen-pg-libpq: %s", PQerrorMessage(conn));
			return 1;
		}
		PGnotify *n;
		while ((n = PQnotifies(conn)) != NULL) {
			printf("notify %s %s %d\n", n->relname, n->extra, n->be_pid);
			fflush(stdout);
			PQfreemem(n);
			got++;
		}
	}
	PQfinish(conn);
	return got == want ? 0 : 1;
}
