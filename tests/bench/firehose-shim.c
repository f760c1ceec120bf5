/*
 * firehose-shim.c: an LD_PRELOAD shim for the benchmarks only. crdbfeedd
 * builds its changefeed statement with libcrdb, which (rightly) refuses
 * options it does not know, such as crdbsim's firehose options. This shim
 * wraps libpq's PQsendQueryParams and, for a statement on crdbsim.firehose,
 * adds the options in $BENCH_FIREHOSE_OPTS (e.g.
 * "crdbsim_events='2000000', crdbsim_size='200'") to its WITH clause. The
 * statement is rewritten once per feed start: it costs nothing per event.
 *
 * With $BENCH_STAMP_OUT set it also notes, for every data row crdbfeedd
 * takes from libpq, the row's key ([n]) and when crdbfeedd last read its
 * socket (the PQconsumeInput() call that brought the row in), with the
 * thread's CPU time then, and writes "key ns cpu_ns" lines to that file at
 * exit: the start of the latency that crdbfeedd adds, measured on the very
 * event the subscriber receives. Resolved rows are noted as "resolved
 * WALL.LOGICAL ns": ordered delivery releases rows when their resolved row
 * comes in.
 *
 * It also wraps writev(2), the call with which crdbfeedd sends lines to
 * its Unix-socket subscribers (daemon/subscriber.c), and notes for every
 * row line in the written bytes its key, when that writev was called and
 * when it returned, the thread's CPU time across the call and at the call;
 * "key return_ns call_ns cpu_ns call_cpu_ns" lines go to
 * $BENCH_STAMP_OUT.write at exit. With the read stamp and the subscriber's
 * receipt this splits what crdbfeedd adds into its own work (read ->
 * write) and delivery (write -> receipt: the kernel and the subscriber
 * being scheduled). Both ends of the call are noted because waking the
 * subscriber can preempt crdbfeedd inside writev: its return may come
 * after the subscriber read the line; the CPU times tell such waits from
 * work. They are the calling thread's: crdbfeedd reads libpq and writes
 * subscribers on its event loop thread (libnats' threads use send(), not
 * writev()), so the stamp arrays need no lock.
 *
 * A row is noted at the write that holds its key member ("key":[n], near
 * the line's start): a line cut by a partial write after its key is
 * stamped a little early, one cut inside the key's digits not at all
 * (bench.py then fails the run); policy = block at the benchmark's rates
 * hardly ever cuts a line. Every wall-clock stamp is CLOCK_REALTIME, as
 * bench_sub's and bench_load's: stamps of different processes are
 * compared.
 *
 * With $BENCH_FIREHOSE_GROUP=G it gives the firehose's rows distinct
 * commit timestamps, as a real table's would have: crdbsim stamps every
 * firehose row with one `updated` (its start), so ordered delivery would
 * find every row after the first resolved row below it (late). The shim
 * rewrites each row's `updated` in place to (W, 1 + i / G): W the newest
 * of the row's own wall time and the last resolved row's, i the rows
 * since W changed. G consecutive rows then share a timestamp (one
 * "transaction"), every row lies above the resolved row before it and
 * below the next one (crdbsim's clock advances between them).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include <libpq-fe.h>

typedef int (*send_query_params_fn)(PGconn *, const char *, int, const Oid *,
				    const char *const *, const int *,
				    const int *, int);

int PQsendQueryParams(PGconn *conn, const char *command, int nParams,
		      const Oid *paramTypes, const char *const *paramValues,
		      const int *paramLengths, const int *paramFormats,
		      int resultFormat)
{
	static send_query_params_fn real;
	const char *opts = getenv("BENCH_FIREHOSE_OPTS");
	const char *with;
	char *rewritten = NULL;
	int rc;

	if (!real) {
		real = (send_query_params_fn)dlsym(RTLD_NEXT, "PQsendQueryParams");
		if (!real)
			return 0;
	}
	if (opts && *opts && command && strstr(command, "crdbsim.firehose")) {
		size_t need = strlen(command) + strlen(opts) + 16;

		rewritten = malloc(need);
		if (rewritten) {
			with = strstr(command, " WITH ");
			if (with)
				snprintf(rewritten, need, "%.*s WITH %s, %s",
					 (int)(with - command), command, opts,
					 with + strlen(" WITH "));
			else
				snprintf(rewritten, need, "%s WITH %s", command,
					 opts);
			command = rewritten;
		}
	}
	rc = real(conn, command, nParams, paramTypes, paramValues,
		  paramLengths, paramFormats, resultFormat);
	free(rewritten);
	return rc;
}

struct stamp {
	uint64_t key;
	int64_t ns, cpu_ns;
};

struct write_stamp {
	uint64_t key;
	int64_t return_ns, call_ns, cpu_ns, call_cpu_ns;
};

static struct stamp *stamps;
static size_t nstamps, stamps_cap;
static int64_t last_read_ns, last_read_cpu_ns;

#define RESOLVED_MAX 65536 /* resolved rows noted (one per 1000 rows or per second) */
static struct {
	int64_t wall, ns;
	int32_t logical;
} resolved_stamps[RESOLVED_MAX];
static size_t nresolved;

static int64_t firehose_base, last_resolved_wall;
static uint64_t firehose_index;

/* "W.L" at p (W: decimal digits, L: 10 digits): 0, or -1 if not one. */
static int parse_hlc(const char *p, const char *end, int64_t *wall,
		     int32_t *logical, size_t *wall_digits)
{
	const char *q = p;
	int64_t w = 0;
	int32_t l = 0;

	for (; q < end && *q >= '0' && *q <= '9'; q++)
		w = w * 10 + (*q - '0');
	*wall_digits = (size_t)(q - p);
	if (q == p || q + 11 > end || *q != '.')
		return -1;
	for (q++; q < end && *q >= '0' && *q <= '9'; q++)
		l = l * 10 + (*q - '0');
	*wall = w;
	*logical = l;
	return 0;
}

static void note_resolved(const char *value, int len)
{
	static const char member[] = "\"resolved\":\"";
	const char *end = value + len;
	const char *p = memmem(value, (size_t)len, member, sizeof(member) - 1);
	int64_t wall;
	int32_t logical;
	size_t digits;

	if (!p || parse_hlc(p + sizeof(member) - 1, end, &wall, &logical,
			    &digits) < 0)
		return;
	last_resolved_wall = wall;
	if (nresolved < RESOLVED_MAX) {
		resolved_stamps[nresolved].wall = wall;
		resolved_stamps[nresolved].logical = logical;
		resolved_stamps[nresolved].ns = last_read_ns;
		nresolved++;
	}
}

/* Rewrite a firehose row's "updated": "W.L" in place (same length). */
static void restamp_row(char *value, int len, uint64_t group)
{
	static const char member[] = "\"updated\": \"";
	char *end = value + len;
	char *p = memmem(value, (size_t)len, member, sizeof(member) - 1);
	char text[40];
	int64_t wall, base;
	int32_t logical;
	size_t digits;

	if (!p || parse_hlc(p + sizeof(member) - 1, end, &wall, &logical,
			    &digits) < 0)
		return;
	p += sizeof(member) - 1;
	base = wall > last_resolved_wall ? wall : last_resolved_wall;
	if (base != firehose_base) {
		firehose_base = base;
		firehose_index = 0;
	}
	logical = (int32_t)(1 + firehose_index++ / group);
	if (snprintf(text, sizeof(text), "%" PRId64 ".%010" PRId32, base,
		     logical) == (int)(digits + 11))
		memcpy(p, text, digits + 11);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool stamping(void)
{
	static int enabled = -1;

	if (enabled < 0)
		enabled = getenv("BENCH_STAMP_OUT") != NULL;
	return enabled;
}

/* The calling thread's: only differences within crdbfeedd's loop mean much. */
static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int PQconsumeInput(PGconn *conn)
{
	static int (*real)(PGconn *);

	if (!real) {
		real = (int (*)(PGconn *))dlsym(RTLD_NEXT, "PQconsumeInput");
		if (!real)
			return 0;
	}
	if (stamping()) {
		last_read_cpu_ns = thread_cpu_ns();
		last_read_ns = now_ns();
	}
	return real(conn);
}

static struct write_stamp *write_stamps_at;
static size_t nwrite_stamps, write_stamps_cap;

static void note_written_keys(const char *data, size_t len,
			      const struct write_stamp *at)
{
	static const char member[] = "\"key\":[";
	const char *end = data + len, *p = data;

	while ((p = memmem(p, (size_t)(end - p), member, sizeof(member) - 1))) {
		uint64_t n = 0;

		for (p += sizeof(member) - 1; p < end && *p >= '0' && *p <= '9'; p++)
			n = n * 10 + (uint64_t)(*p - '0');
		if (p == end)
			return; /* the key's digits may go on in the next write */
		if (nwrite_stamps == write_stamps_cap) {
			size_t ncap = write_stamps_cap ? write_stamps_cap * 2 : 4096;
			struct write_stamp *grown = realloc(write_stamps_at,
							    ncap * sizeof(*grown));

			if (!grown)
				return;
			write_stamps_at = grown;
			write_stamps_cap = ncap;
		}
		write_stamps_at[nwrite_stamps] = *at;
		write_stamps_at[nwrite_stamps].key = n;
		nwrite_stamps++;
	}
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	struct write_stamp at;
	ssize_t n, left;
	int saved_errno;

	if (!real) {
		real = (ssize_t (*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
		if (!real) {
			errno = ENOSYS;
			return -1;
		}
	}
	if (!stamping())
		return real(fd, iov, iovcnt);
	at.call_cpu_ns = thread_cpu_ns();
	at.call_ns = now_ns();
	n = real(fd, iov, iovcnt);
	saved_errno = errno; /* crdbfeedd looks at it after a failed write */
	at.return_ns = now_ns();
	at.cpu_ns = thread_cpu_ns() - at.call_cpu_ns;
	errno = saved_errno;
	if (n <= 0)
		return n;
	/* Only the bytes that left: a partial write's rest comes again. */
	left = n;
	for (int i = 0; i < iovcnt && left > 0; i++) {
		size_t len = iov[i].iov_len < (size_t)left ? iov[i].iov_len : (size_t)left;

		note_written_keys(iov[i].iov_base, len, &at);
		left -= (ssize_t)len;
	}
	errno = saved_errno;
	return n;
}

PGresult *PQgetResult(PGconn *conn)
{
	static PGresult *(*real)(PGconn *);
	static int enabled = -1;
	static uint64_t group;
	PGresult *res;

	if (!real) {
		real = (PGresult *(*)(PGconn *))dlsym(RTLD_NEXT, "PQgetResult");
		if (!real)
			return NULL;
	}
	if (enabled < 0) {
		const char *g = getenv("BENCH_FIREHOSE_GROUP");

		enabled = getenv("BENCH_STAMP_OUT") != NULL;
		group = g ? strtoull(g, NULL, 10) : 0;
	}
	res = real(conn);
	if (res && PQresultStatus(res) == PGRES_SINGLE_TUPLE &&
	    PQnfields(res) == 3 && PQgetisnull(res, 0, 0)) {
		note_resolved(PQgetvalue(res, 0, 2), PQgetlength(res, 0, 2));
		return res;
	}
	if (group && res && PQresultStatus(res) == PGRES_SINGLE_TUPLE &&
	    PQnfields(res) == 3)
		restamp_row(PQgetvalue(res, 0, 2), PQgetlength(res, 0, 2), group);
	if (enabled && res && PQresultStatus(res) == PGRES_SINGLE_TUPLE &&
	    PQnfields(res) == 3 && !PQgetisnull(res, 0, 0)) {
		const char *key = PQgetvalue(res, 0, 1);
		int len = PQgetlength(res, 0, 1);
		uint64_t n = 0;

		for (int i = 1; i < len && key[i] >= '0' && key[i] <= '9'; i++)
			n = n * 10 + (uint64_t)(key[i] - '0');
		if (nstamps == stamps_cap) {
			size_t ncap = stamps_cap ? stamps_cap * 2 : 4096;
			struct stamp *grown = realloc(stamps, ncap * sizeof(*grown));

			if (!grown)
				return res;
			stamps = grown;
			stamps_cap = ncap;
		}
		stamps[nstamps].key = n;
		stamps[nstamps].ns = last_read_ns;
		stamps[nstamps].cpu_ns = last_read_cpu_ns;
		nstamps++;
	}
	return res;
}

/* A second file, so that the readers of the first keep working. */
static void write_write_stamps(const char *path)
{
	size_t len = strlen(path);
	char *write_path = malloc(len + sizeof(".write"));
	FILE *f;

	if (!write_path)
		return;
	memcpy(write_path, path, len);
	memcpy(write_path + len, ".write", sizeof(".write"));
	f = fopen(write_path, "w");
	free(write_path);
	if (!f)
		return;
	for (size_t i = 0; i < nwrite_stamps; i++)
		fprintf(f, "%" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
			write_stamps_at[i].key, write_stamps_at[i].return_ns,
			write_stamps_at[i].call_ns, write_stamps_at[i].cpu_ns,
			write_stamps_at[i].call_cpu_ns);
	fclose(f);
	free(write_stamps_at);
}

__attribute__((destructor)) static void write_stamps(void)
{
	const char *path = getenv("BENCH_STAMP_OUT");
	FILE *f;

	if (!path || !(f = fopen(path, "w")))
		return;
	for (size_t i = 0; i < nstamps; i++)
		fprintf(f, "%" PRIu64 " %" PRId64 " %" PRId64 "\n", stamps[i].key,
			stamps[i].ns, stamps[i].cpu_ns);
	for (size_t i = 0; i < nresolved; i++)
		fprintf(f, "resolved %" PRId64 ".%010" PRId32 " %" PRId64 "\n",
			resolved_stamps[i].wall, resolved_stamps[i].logical,
			resolved_stamps[i].ns);
	fclose(f);
	free(stamps);
	write_write_stamps(path);
}
