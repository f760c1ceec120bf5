/*
 * sim_main.c: crdbsim, a CockroachDB wire emulator over a real
 * PostgreSQL, for tests and the demo. This file owns the command line,
 * start-up (the `defaultdb` database, the changefeed engine, listeners,
 * the pid and command files), signals and the one event loop; nothing
 * else.
 *
 *   crdbsim --pg PG_DSN --listen HOST:PORT [--unix PATH] [--control PATH]
 *           [--pid-file PATH] [--emulate-version 23.1.11] [--rangefeed]
 *           [--gc-ttl 25h] [--closed-ts-target 3s] [--password PW]
 *           [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]
 *           [--webhook-nodes K]
 */
#include "config.h"

#include "sim.h"
#include "session.h"    /* sim_tls_init */
#include "sim_job.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_VERSION 230111
#define CRDB_DATABASE "defaultdb"

void sim_log(const char *fmt, ...)
{
	struct timeval tv;
	struct tm tm;
	char stamp[32];
	va_list ap;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
	fprintf(stderr, "crdbsim %s.%03ld ", stamp, (long)(tv.tv_usec / 1000));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crdbsim --pg PG_DSN --listen HOST:PORT [--unix PATH]\n"
		"               [--control PATH] [--pid-file PATH]\n"
		"               [--emulate-version X.Y.Z] [--rangefeed]\n"
		"               [--gc-ttl DURATION] [--closed-ts-target DURATION]\n"
		"               [--password PW]\n"
		"               [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
		"               [--webhook-nodes K]\n"
		"See tests/crdbsim/README.md.\n");
}

/* "25h", "90m", "30s", "500ms", or a bare number of seconds -> ms. */
static bool parse_duration_ms(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return false;
	double mult;
	if (!*end || !strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else if (!strcmp(end, "d"))
		mult = 86400000;
	else
		return false;
	if (v * mult > 9.2e18)
		return false;
	*out = (int64_t)(v * mult);
	return true;
}

/* Append s to buf in single quotes for sh (and for libpq's conninfo the
 * same quoting with backslashes: see conninfo_quote). */
static bool sh_quote(FILE *f, const char *s)
{
	if (fputc('\'', f) == EOF)
		return false;
	for (; *s; s++) {
		if (*s == '\'') {
			if (fputs("'\\''", f) == EOF)
				return false;
		} else if (fputc(*s, f) == EOF) {
			return false;
		}
	}
	return fputc('\'', f) != EOF;
}

/* $CRDBSIM_ENV_DIR/crdbsim.cmd: the exact command line, for
 * crdbsim-restart. */
static void write_cmd_file(int argc, char **argv)
{
	const char *dir = getenv("CRDBSIM_ENV_DIR");
	if (!dir || !*dir)
		return;
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/crdbsim.cmd", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		sim_log("cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	bool ok = true;
	for (int i = 0; i < argc && ok; i++)
		ok = (i == 0 || fputc(' ', f) != EOF) && sh_quote(f, argv[i]);
	ok = ok && fputc('\n', f) != EOF;
	if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
		sim_log("cannot write %s", path);
}

static int write_pid_file(const char *path)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0) {
		if (f)
			fclose(f);
		sim_log("cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		sim_log("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The conninfo of pg_dsn with its database replaced. */
static char *dsn_with_db(const char *pg_dsn, const char *db)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(pg_dsn, &err);
	if (!opts) {
		sim_log("bad --pg conninfo: %s", err ? err : "out of memory");
		PQfreemem(err);
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		PQconninfoFree(opts);
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		const char *v = strcmp(o->keyword, "dbname") == 0 ? db : o->val;
		if (!v)
			continue;
		fprintf(f, "%s='", o->keyword);
		for (const char *p = v; *p; p++) {
			if (*p == '\'' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputs("' ", f);
	}
	PQconninfoFree(opts);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static bool is_sqlstate(const PGresult *r, const char *code)
{
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	return s && strcmp(s, code) == 0;
}

/* CockroachDB's defaultdb maps to a PostgreSQL database of that name. */
static int ensure_database(const char *pg_dsn)
{
	PGconn *c = PQconnectdb(pg_dsn);
	if (PQstatus(c) != CONNECTION_OK) {
		sim_log("cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	const char *params[1] = {CRDB_DATABASE};
	PGresult *r = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1",
				   1, NULL, params, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		sim_log("cannot list databases: %s", PQerrorMessage(c));
		rc = -1;
	} else if (PQntuples(r) == 0) {
		PQclear(r);
		r = PQexec(c, "CREATE DATABASE " CRDB_DATABASE);
		/* A concurrent crdbsim may have created it meanwhile. */
		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    !is_sqlstate(r, "42P04")) {
			sim_log("cannot create database %s: %s", CRDB_DATABASE,
				PQerrorMessage(c));
			rc = -1;
		}
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* "schema crdbsim already exists, skipping" and the like. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	sim_log("signal %d: exiting", (int)sig);
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pg", required_argument, NULL, 'p'},
		{"listen", required_argument, NULL, 'l'},
		{"unix", required_argument, NULL, 'u'},
		{"control", required_argument, NULL, 'c'},
		{"pid-file", required_argument, NULL, 'P'},
		{"emulate-version", required_argument, NULL, 'v'},
		{"version", required_argument, NULL, 'v'},
		{"rangefeed", no_argument, NULL, 'r'},
		{"gc-ttl", required_argument, NULL, 'g'},
		{"closed-ts-target", required_argument, NULL, 'T'},
		{"password", required_argument, NULL, 'w'},
		{"tls-cert", required_argument, NULL, 'C'},
		{"tls-key", required_argument, NULL, 'K'},
		{"tls-client-ca", required_argument, NULL, 'A'},
		{"webhook-nodes", required_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pg = NULL, *listen = NULL, *unix_path = NULL,
		   *control = NULL, *pid_file = NULL;
	const char *tls_cert = NULL, *tls_key = NULL, *tls_client_ca = NULL;
	struct sim_server srv;
	struct simfeed_settings settings;
	int64_t gc_ttl_ms = 25LL * 3600 * 1000;  /* CockroachDB's default */
	/* kv.closed_timestamp.target_duration: CockroachDB's default unless
	 * told (crdbsim-env passes a short one to keep tests fast). */
	int64_t closed_ts_ms = SIM_CLOSED_TS_DEFAULT_MS;
	bool rangefeed = false;
	/* Emulated nodes posting a job's webhook batches at once. */
	int webhook_nodes = 3;
	int opt;

	memset(&srv, 0, sizeof srv);
	srv.default_version = DEFAULT_VERSION;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': pg = optarg; break;
		case 'l': listen = optarg; break;
		case 'u': unix_path = optarg; break;
		case 'c': control = optarg; break;
		case 'P': pid_file = optarg; break;
		case 'r': rangefeed = true; break;
		case 'w': srv.password = optarg; break;
		case 'C': tls_cert = optarg; break;
		case 'K': tls_key = optarg; break;
		case 'A': tls_client_ca = optarg; break;
		case 'v':
			srv.default_version = sim_parse_version_arg(optarg);
			if (srv.default_version < 0) {
				fprintf(stderr, "crdbsim: bad version %s (want X.Y.Z)\n", optarg);
				return 64;
			}
			break;
		case 'g':
			if (!parse_duration_ms(optarg, &gc_ttl_ms)) {
				fprintf(stderr, "crdbsim: bad --gc-ttl %s\n", optarg);
				return 64;
			}
			break;
		case 'T':
			if (!parse_duration_ms(optarg, &closed_ts_ms)) {
				fprintf(stderr, "crdbsim: bad --closed-ts-target %s\n", optarg);
				return 64;
			}
			break;
		case 'N': {
			char *end;
			long k = strtol(optarg, &end, 10);
			if (*end || k < 1 || k > 64) {
				fprintf(stderr, "crdbsim: bad --webhook-nodes %s (1..64)\n", optarg);
				return 64;
			}
			webhook_nodes = (int)k;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (!pg || !listen || optind != argc) {
		usage(stderr);
		return 64;
	}
	if (!tls_cert != !tls_key || (tls_client_ca && !tls_cert)) {
		fprintf(stderr, "crdbsim: --tls-cert and --tls-key go together "
			"(--tls-client-ca needs both)\n");
		return 64;
	}
	if (tls_cert && sim_tls_init(tls_cert, tls_key, tls_client_ca) != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	write_cmd_file(argc, argv);

	if (ensure_database(pg) != 0)
		return 1;
	srv.pg_dsn = dsn_with_db(pg, CRDB_DATABASE);
	if (!srv.pg_dsn)
		return 1;
	srv.admin = PQconnectdb(srv.pg_dsn);
	if (PQstatus(srv.admin) != CONNECTION_OK) {
		sim_log("cannot connect to PostgreSQL: %s", PQerrorMessage(srv.admin));
		return 1;
	}
	PQsetNoticeProcessor(srv.admin, ignore_notice, NULL);
	srv.base = event_base_new();
	if (!srv.base) {
		sim_log("cannot create the event loop");
		return 1;
	}
	settings = (struct simfeed_settings){
		.pg_dsn = srv.pg_dsn,
		.rangefeed_enabled = rangefeed,
		.gc_ttl_ms = gc_ttl_ms,
		.emulated_version = srv.default_version,
		.closed_ts_target_ms = closed_ts_ms,
	};
	char errbuf[512] = "";
	srv.engine = simfeed_engine_new(srv.base, &settings, errbuf, sizeof errbuf);
	if (!srv.engine) {
		sim_log("changefeed engine: %s", errbuf[0] ? errbuf : "failed");
		return 1;
	}
	/* A setting stored by an earlier run wins over --rangefeed and
	 * --closed-ts-target. */
	if (sim_settings_load(&srv) != 0)
		return 1;
	/* Jobs stored as running start again from their high-water mark. */
	srv.jobs = sim_jobs_new(srv.base, srv.engine, srv.admin, webhook_nodes,
				errbuf, sizeof errbuf);
	if (!srv.jobs) {
		sim_log("%s", errbuf);
		return 1;
	}
	struct event *sigs[3];
	const int signums[3] = {SIGINT, SIGTERM, SIGHUP};
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(srv.base, signums[i], signal_cb, srv.base);
		if (!sigs[i] || event_add(sigs[i], NULL) != 0) {
			sim_log("cannot install signal handlers");
			return 1;
		}
	}
	if (sim_server_listen_tcp(&srv, listen) != 0 ||
	    (unix_path && sim_server_listen_unix(&srv, unix_path) != 0) ||
	    (control && sim_control_listen(&srv, control) != 0))
		return 1;
	if (pid_file && write_pid_file(pid_file) != 0)
		return 1;
	sim_log("listening on %s, PostgreSQL %s, emulating v%d.%d.%d, rangefeed %s, closed timestamp target %lldms, %s",
		listen, pg, srv.default_version / 10000,
		srv.default_version / 100 % 100, srv.default_version % 100,
		simfeed_engine_rangefeed(srv.engine) ? "on" : "off",
		(long long)simfeed_engine_closed_ts_target(srv.engine),
		!tls_cert ? "no TLS" : tls_client_ca ?
		"TLS with client certificates" : "TLS");

	event_base_dispatch(srv.base);

	sim_server_close_listeners(&srv);
	sim_control_close();
	while (srv.sessions)
		sim_session_free(srv.sessions);
	/* Let deferred frees run. */
	event_base_loop(srv.base, EVLOOP_NONBLOCK);
	sim_jobs_free(srv.jobs);
	event_base_loop(srv.base, EVLOOP_NONBLOCK);
	simfeed_engine_free(srv.engine);
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(srv.base);
	PQfinish(srv.admin);
	free(srv.pg_dsn);
	sim_tls_free();
	if (pid_file)
		unlink(pid_file);
	return 0;
}
