/*
 * firehose-shim.c: an LD_PRELOAD shim for the benchmarks only. crdbfeedd
 * builds its changefeed statement with libcrdb, which (rightly) refuses
 * options it does not know, such as crdbsim's firehose options. This shim
 * wraps libpq's PQsendQueryParams and, for a statement on crdbsim.firehose,
 * adds the options in $BENCH_FIREHOSE_OPTS (e.g.
 * "crdbsim_events='2000000', crdbsim_size='200'") to its WITH clause. The
 * statement is rewritten once per feed start: it costs nothing per event.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
