/*
 * bench_firehose.h: what the direct firehose readers (bench_reader, the
 * limit; bench_fanout, the fan-out limit) share: starting the changefeed
 * statement as crdbfeedd does, and their own CPU time.
 */
#ifndef CRDBFEED_BENCH_FIREHOSE_H
#define CRDBFEED_BENCH_FIREHOSE_H

#include <libpq-fe.h>

/* Connects to dsn and sends sql with binary results in single-row mode;
 * NULL after one line on stderr starting with prog. */
PGconn *firehose_start(const char *dsn, const char *sql, const char *prog);

/* This process's user + system CPU time, in seconds (0 if unknown). */
double process_cpu_seconds(void);

#endif
