/*
 * bench_load.c: single-row commits at a fixed rate, for the latency case.
 * Row k (1..N) is INSERTed into TABLE (id int primary key) at start + k/RATE,
 * each statement its own transaction (libpq pipeline mode: INSERT, Sync),
 * so a slow acknowledgement never delays the schedule. Writes
 * "k send_ns commit_ns" per row, commit_ns being when PostgreSQL's
 * acknowledgement arrived (the commit is durable by then).
 *
 * usage: bench_load --dsn DSN --table T --rate R --count N --out FILE
 */
#include <config.h> /* autoconf's, from the build directory */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_load --dsn DSN --table T --rate R --count N --out FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dsn = NULL, *table = NULL, *out = NULL;
	double rate = 0;
	uint64_t count = 0, sent = 0, acked = 0;
	int64_t *send_ns, *ack_ns, start;
	char sql[256];
	PGconn *pg;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--dsn") == 0)
			dsn = argv[++i];
		else if (strcmp(argv[i], "--table") == 0)
			table = argv[++i];
		else if (strcmp(argv[i], "--rate") == 0)
			rate = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--count") == 0)
			count = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--out") == 0)
			out = argv[++i];
		else
			usage();
	}
	if (!dsn || !table || !out || rate <= 0 || !count)
		usage();
	send_ns = calloc(count + 1, sizeof(*send_ns));
	ack_ns = calloc(count + 1, sizeof(*ack_ns));
	if (!send_ns || !ack_ns) {
		fprintf(stderr, "bench_load: out of memory\n");
		return 1;
	}
	snprintf(sql, sizeof(sql), "INSERT INTO %s (id) VALUES ($1::int)", table);
	alarm((unsigned)(count / rate) + 60);
	pg = PQconnectdb(dsn);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "bench_load: %s", PQerrorMessage(pg));
		return 1;
	}
	if (!PQenterPipelineMode(pg) || PQsetnonblocking(pg, 1)) {
		fprintf(stderr, "bench_load: %s", PQerrorMessage(pg));
		return 1;
	}
	start = now_ns();
	while (acked < count) {
		int64_t now = now_ns(), wait_ms = 50;
		struct pollfd pfd = { .fd = PQsocket(pg), .events = POLLIN };
		int nulls = 0;

		while (sent < count &&
		       start + (int64_t)((double)(sent + 1) * 1e9 / rate) <= now) {
			char param[24];
			const char *params[1] = { param };

			sent++;
			snprintf(param, sizeof(param), "%" PRIu64, sent);
			if (!PQsendQueryParams(pg, sql, 1, NULL, params, NULL, NULL, 0) ||
			    !PQpipelineSync(pg)) {
				fprintf(stderr, "bench_load: %s", PQerrorMessage(pg));
				return 1;
			}
			send_ns[sent] = now_ns();
		}
		if (PQflush(pg) > 0)
			pfd.events |= POLLOUT;
		if (sent < count) {
			int64_t next = start + (int64_t)((double)(sent + 1) * 1e9 / rate);

			wait_ms = next > now ? (next - now) / 1000000 : 0;
		}
		if (poll(&pfd, 1, (int)wait_ms) < 0 && errno != EINTR) {
			perror("bench_load: poll");
			return 1;
		}
		if (!PQconsumeInput(pg)) {
			fprintf(stderr, "bench_load: %s", PQerrorMessage(pg));
			return 1;
		}
		while (!PQisBusy(pg)) {
			PGresult *res = PQgetResult(pg);

			if (!res) {
				if (++nulls > 1)
					break;
				continue;
			}
			nulls = 0;
			switch (PQresultStatus(res)) {
			case PGRES_PIPELINE_SYNC:
				ack_ns[++acked] = now_ns();
				break;
			case PGRES_COMMAND_OK:
				break;
			default:
				fprintf(stderr, "bench_load: %s", PQresultErrorMessage(res));
				PQclear(res);
				return 1;
			}
			PQclear(res);
		}
	}
	PQfinish(pg);
	f = fopen(out, "w");
	if (!f) {
		fprintf(stderr, "bench_load: %s: %s\n", out, strerror(errno));
		return 1;
	}
	for (uint64_t k = 1; k <= count; k++)
		fprintf(f, "%" PRIu64 " %" PRId64 " %" PRId64 "\n", k, send_ns[k], ack_ns[k]);
	if (fclose(f)) {
		fprintf(stderr, "bench_load: %s: %s\n", out, strerror(errno));
		return 1;
	}
	printf("{\"count\":%" PRIu64 ",\"seconds\":%.3f,\"rate\":%.1f}\n", count,
	       (double)(ack_ns[count] - start) / 1e9,
	       (double)count * 1e9 / (double)(ack_ns[count] - start));
	free(send_ns);
	free(ack_ns);
	return 0;
}
