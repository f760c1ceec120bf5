/*
 * bench_firehose.c: the direct firehose readers' shared start (libpq
 * single-row mode, binary results: what crdbfeedd asks for) and CPU time.
 */
#include <config.h> /* autoconf's, from the build directory */

#include <stdio.h>
#include <sys/resource.h>

#include "bench_firehose.h"

PGconn *firehose_start(const char *dsn, const char *sql, const char *prog)
{
	PGconn *pg = PQconnectdb(dsn);

	if (PQstatus(pg) != CONNECTION_OK ||
	    !PQsendQueryParams(pg, sql, 0, NULL, NULL, NULL, NULL, 1) ||
	    !PQsetSingleRowMode(pg)) {
		fprintf(stderr, "%s: %s", prog, PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

double process_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}
