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
 * socket (the PQconsumeInput() call that brought the row in), and writes
 * "key ns" lines to that file at exit: the start of the latency that
 * crdbfeedd adds, measured on the very event the subscriber receives.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	int64_t ns;
};

static struct stamp *stamps;
static size_t nstamps, stamps_cap;
static int64_t last_read_ns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
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
	last_read_ns = now_ns();
	return real(conn);
}

PGresult *PQgetResult(PGconn *conn)
{
	static PGresult *(*real)(PGconn *);
	static int enabled = -1;
	PGresult *res;

	if (!real) {
		real = (PGresult *(*)(PGconn *))dlsym(RTLD_NEXT, "PQgetResult");
		if (!real)
			return NULL;
	}
	if (enabled < 0)
		enabled = getenv("BENCH_STAMP_OUT") != NULL;
	res = real(conn);
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
		nstamps++;
	}
	return res;
}

__attribute__((destructor)) static void write_stamps(void)
{
	const char *path = getenv("BENCH_STAMP_OUT");
	FILE *f;

	if (!path || !(f = fopen(path, "w")))
		return;
	for (size_t i = 0; i < nstamps; i++)
		fprintf(f, "%" PRIu64 " %" PRId64 "\n", stamps[i].key, stamps[i].ns);
	fclose(f);
	free(stamps);
}
