/*
 * bench_fanout.c: the benchmarks' fan-out limit. The least a program can
 * do to hand one changefeed to K local subscribers: it reads the firehose
 * as bench_reader does (libpq single-row mode, binary results, the same
 * statement) and writes every row as one line to K Unix-socket clients.
 *
 * Lines carry the prefix and key member bench_sub checks, around the row's
 * own bytes: {"v":1,"type":"row","key":KEY,"value":VALUE} for a data row,
 * {"v":1,"type":"resolved","value":VALUE} for a resolved row. Nothing is
 * decoded or validated. Rows are copied into one contiguous buffer, which
 * goes to every client when it holds FLUSH_BYTES or when libpq has no
 * complete row buffered (the next PQgetResult would wait for the network).
 * One buffer per flush means one write per client; a partial write is
 * finished under poll, nothing is ever dropped.
 *
 * usage: bench_fanout --dsn DSN --sql SQL --socket PATH --clients K
 *                     [--events N] [--timeout S]
 *
 * Listens on PATH, waits for K clients, then runs the statement. Stops
 * after N data rows (0: when the statement ends). Prints one JSON object:
 * rows, resolved, bytes (per client), flushes, cpu_s (its own user+system
 * time). Exits 1 on any error, naming it on stderr.
 */
#include <config.h> /* autoconf's, from the build directory */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "bench_firehose.h"

#define FLUSH_BYTES (64 * 1024)
#define LINE_MAX_BYTES (192 * 1024)
#define BUF_BYTES (FLUSH_BYTES + LINE_MAX_BYTES)
#define MAX_CLIENTS 1024

#define ROW_OPEN "{\"v\":1,\"type\":\"row\",\"key\":"
#define ROW_VALUE ",\"value\":"
#define RESOLVED_OPEN "{\"v\":1,\"type\":\"resolved\",\"value\":"
#define LINE_CLOSE "}\n"

struct fanout {
	int clients[MAX_CLIENTS];
	size_t written[MAX_CLIENTS]; /* of the current buffer, per client */
	int nclients;
	char buf[BUF_BYTES];
	size_t used;
	uint64_t bytes, flushes;
};

static int listen_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bench_fanout: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, MAX_CLIENTS)) {
		fprintf(stderr, "bench_fanout: listening on %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int accept_clients(struct fanout *f, int lfd)
{
	for (int i = 0; i < f->nclients; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			fprintf(stderr, "bench_fanout: accept: %s\n", strerror(errno));
			return -1;
		}
		f->clients[i] = fd;
	}
	return 0;
}

/* The buffer to every client, whole: a full socket is waited on. */
static int flush_clients(struct fanout *f)
{
	int pending = f->nclients;
	struct pollfd pfds[MAX_CLIENTS];

	if (!f->used)
		return 0;
	memset(f->written, 0, sizeof(f->written[0]) * (size_t)f->nclients);
	while (pending) {
		int npfds = 0;

		for (int i = 0; i < f->nclients; i++) {
			while (f->written[i] < f->used) {
				ssize_t n = write(f->clients[i], f->buf + f->written[i],
						  f->used - f->written[i]);

				if (n > 0) {
					f->written[i] += (size_t)n;
					if (f->written[i] == f->used)
						pending--;
					continue;
				}
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && errno == EAGAIN) {
					pfds[npfds++] = (struct pollfd){ .fd = f->clients[i],
									 .events = POLLOUT };
					break;
				}
				fprintf(stderr, "bench_fanout: writing to client %d: %s\n", i + 1,
					n < 0 ? strerror(errno) : "nothing written");
				return -1;
			}
		}
		if (npfds && poll(pfds, (nfds_t)npfds, -1) < 0 && errno != EINTR) {
			fprintf(stderr, "bench_fanout: poll: %s\n", strerror(errno));
			return -1;
		}
	}
	f->bytes += f->used;
	f->flushes++;
	f->used = 0;
	return 0;
}

static void append(struct fanout *f, const char *bytes, size_t len)
{
	memcpy(f->buf + f->used, bytes, len);
	f->used += len;
}

/* One row as one line; key NULL for a resolved row. */
static int add_line(struct fanout *f, const char *key, size_t key_len,
		    const char *value, size_t value_len)
{
	size_t len = value_len + sizeof(LINE_CLOSE) - 1 +
		     (key ? sizeof(ROW_OPEN) - 1 + key_len + sizeof(ROW_VALUE) - 1
			  : sizeof(RESOLVED_OPEN) - 1);

	if (len > LINE_MAX_BYTES) {
		fprintf(stderr, "bench_fanout: a row of %zu bytes, more than %d\n", len,
			LINE_MAX_BYTES);
		return -1;
	}
	if (key) {
		append(f, ROW_OPEN, sizeof(ROW_OPEN) - 1);
		append(f, key, key_len);
		append(f, ROW_VALUE, sizeof(ROW_VALUE) - 1);
	} else {
		append(f, RESOLVED_OPEN, sizeof(RESOLVED_OPEN) - 1);
	}
	append(f, value, value_len);
	append(f, LINE_CLOSE, sizeof(LINE_CLOSE) - 1);
	return f->used >= FLUSH_BYTES ? flush_clients(f) : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_fanout --dsn DSN --sql SQL --socket PATH "
		"--clients K [--events N] [--timeout S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct fanout f;
	const char *dsn = NULL, *sql = NULL, *path = NULL;
	uint64_t events = 0, rows = 0, resolved = 0;
	unsigned timeout = 600;
	PGconn *pg;
	PGresult *res;
	int lfd, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--dsn") == 0)
			dsn = argv[++i];
		else if (strcmp(argv[i], "--sql") == 0)
			sql = argv[++i];
		else if (strcmp(argv[i], "--socket") == 0)
			path = argv[++i];
		else if (strcmp(argv[i], "--clients") == 0)
			f.nclients = atoi(argv[++i]);
		else if (strcmp(argv[i], "--events") == 0)
			events = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (!dsn || !sql || !path || f.nclients < 1 || f.nclients > MAX_CLIENTS)
		usage();
	/* A stalled feed or client must not hang the benchmark. */
	alarm(timeout);
	/* A client that went away shows as EPIPE, a failed run. */
	signal(SIGPIPE, SIG_IGN);

	lfd = listen_socket(path);
	if (lfd < 0 || accept_clients(&f, lfd))
		return 1;
	close(lfd);

	pg = firehose_start(dsn, sql, "bench_fanout");
	if (!pg)
		return 1;
	for (;;) {
		ExecStatusType st;

		/* No complete row buffered: send what we have before waiting. */
		if (PQisBusy(pg) && flush_clients(&f))
			return 1;
		res = PQgetResult(pg);
		if (!res)
			break;
		st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE) {
			bool is_resolved = PQgetisnull(res, 0, 0);

			if (add_line(&f, is_resolved ? NULL : PQgetvalue(res, 0, 1),
				     (size_t)PQgetlength(res, 0, 1), PQgetvalue(res, 0, 2),
				     (size_t)PQgetlength(res, 0, 2))) {
				PQclear(res);
				return 1;
			}
			if (is_resolved)
				resolved++;
			else
				rows++;
		} else if (st == PGRES_FATAL_ERROR) {
			fprintf(stderr, "bench_fanout: %s", PQresultErrorMessage(res));
			rc = 1;
		}
		PQclear(res);
		if (events && rows >= events)
			break;
	}
	if (flush_clients(&f))
		return 1;
	if (events && rows < events) {
		fprintf(stderr, "bench_fanout: only %" PRIu64 " of %" PRIu64 " rows\n",
			rows, events);
		rc = 1;
	}
	printf("{\"rows\":%" PRIu64 ",\"resolved\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"flushes\":%" PRIu64 ",\"cpu_s\":%.3f}\n", rows, resolved, f.bytes,
	       f.flushes, process_cpu_seconds());
	fflush(stdout);
	for (int i = 0; i < f.nclients; i++)
		close(f.clients[i]);
	/* Ending an endless feed: closing the connection stops it (§2). */
	PQfinish(pg);
	unlink(path);
	return rc;
}
