/*
 * bench_reader.c: the benchmarks' direct changefeed reader, "the limit".
 * It runs one changefeed statement with libpq in single-row mode and
 * binary results (as crdbfeedd does), counts every row and discards it.
 * With --latency-out it also writes "key receipt_ns" per data row, for the
 * latency case (the key is a one-integer array, [n]).
 *
 * usage: bench_reader --dsn DSN --sql SQL [--events N] [--timeout S]
 *                     [--latency-out FILE]
 *
 * Stops after N data rows (0: when the statement ends). Prints one JSON
 * object: rows, resolved, seconds (first to last data row), events_per_s,
 * cpu_s (its own user+system time).
 */
#include <config.h> /* autoconf's, from the build directory */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "bench_firehose.h"

struct stamp {
	uint64_t key;
	int64_t ns;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The n of a key "[n]" (binary bytea: the raw JSON text); 0 if none. */
static uint64_t key_number(const char *key, int len)
{
	uint64_t n = 0;

	for (int i = 1; i < len && key[i] >= '0' && key[i] <= '9'; i++)
		n = n * 10 + (uint64_t)(key[i] - '0');
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_reader --dsn DSN --sql SQL [--events N] "
		"[--timeout S] [--latency-out FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dsn = NULL, *sql = NULL, *latency_out = NULL;
	uint64_t events = 0, rows = 0, resolved = 0;
	unsigned timeout = 600;
	struct stamp *stamps = NULL;
	size_t nstamps = 0, cap = 0;
	int64_t first = 0, last = 0;
	PGconn *pg;
	PGresult *res;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--dsn") == 0)
			dsn = argv[++i];
		else if (strcmp(argv[i], "--sql") == 0)
			sql = argv[++i];
		else if (strcmp(argv[i], "--events") == 0)
			events = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--latency-out") == 0)
			latency_out = argv[++i];
		else
			usage();
	}
	if (!dsn || !sql)
		usage();
	/* A stalled feed must not hang the benchmark: SIGALRM ends us. */
	alarm(timeout);

	pg = firehose_start(dsn, sql, "bench_reader");
	if (!pg)
		return 1;
	while ((res = PQgetResult(pg))) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE) {
			if (PQgetisnull(res, 0, 0)) {
				resolved++;
			} else {
				int64_t t = now_ns();

				if (!rows)
					first = t;
				last = t;
				rows++;
				if (latency_out) {
					if (nstamps == cap) {
						size_t ncap = cap ? cap * 2 : 4096;
						struct stamp *grown = realloc(stamps, ncap * sizeof(*grown));

						if (!grown) {
							fprintf(stderr, "bench_reader: out of memory\n");
							return 1;
						}
						stamps = grown;
						cap = ncap;
					}
					stamps[nstamps].key = key_number(PQgetvalue(res, 0, 1),
									 PQgetlength(res, 0, 1));
					stamps[nstamps].ns = t;
					nstamps++;
				}
			}
		} else if (st == PGRES_FATAL_ERROR) {
			fprintf(stderr, "bench_reader: %s", PQresultErrorMessage(res));
			rc = 1;
		}
		PQclear(res);
		if (events && rows >= events)
			break;
	}
	if (events && rows < events) {
		fprintf(stderr, "bench_reader: only %" PRIu64 " of %" PRIu64 " rows\n",
			rows, events);
		rc = 1;
	}
	if (latency_out) {
		FILE *f = fopen(latency_out, "w");

		if (!f) {
			fprintf(stderr, "bench_reader: %s: %s\n", latency_out, strerror(errno));
			return 1;
		}
		for (size_t i = 0; i < nstamps; i++)
			fprintf(f, "%" PRIu64 " %" PRId64 "\n", stamps[i].key, stamps[i].ns);
		if (fclose(f)) {
			fprintf(stderr, "bench_reader: %s: %s\n", latency_out, strerror(errno));
			return 1;
		}
	}
	{
		double secs = rows > 1 ? (double)(last - first) / 1e9 : 0;

		printf("{\"rows\":%" PRIu64 ",\"resolved\":%" PRIu64 ",\"seconds\":%.6f,"
		       "\"events_per_s\":%.1f,\"cpu_s\":%.3f}\n", rows, resolved, secs,
		       secs > 0 ? (double)(rows - 1) / secs : 0, process_cpu_seconds());
	}
	/* Ending an endless feed: closing the connection stops it (§2). */
	PQfinish(pg);
	free(stamps);
	return rc;
}
