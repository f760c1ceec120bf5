/*
 * server.c: crdbsim's listeners (TCP and Unix), the TLS server context
 * (--tls-cert, --tls-key, --tls-client-ca), the registry of client
 * sessions with the lookups that cancel and SHOW STATEMENTS need, the
 * CockroachDB-style ids, and the emulated version strings.
 */
#include "config.h"

#include "session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* ---- TLS ---- */

static SSL_CTX *tls_ctx;
static bool tls_client_certs;

/* Log OpenSSL's queued errors after what failed. */
static void log_tls_errors(const char *what, const char *file)
{
	unsigned long e;
	bool any = false;
	while ((e = ERR_get_error()) != 0) {
		char buf[256];
		ERR_error_string_n(e, buf, sizeof buf);
		sim_log("TLS: %s %s: %s", what, file, buf);
		any = true;
	}
	if (!any)
		sim_log("TLS: %s %s failed", what, file);
}

int sim_tls_init(const char *cert, const char *key, const char *client_ca)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		log_tls_errors("creating the context", "");
		return -1;
	}
	/* CockroachDB (Go's crypto/tls) accepts TLS 1.2 and 1.3 only. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		log_tls_errors("setting the minimum version", "");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_tls_errors("loading the certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		log_tls_errors("loading the key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		log_tls_errors("matching the key with the certificate", key);
		goto fail;
	}
	if (client_ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
		if (!names ||
		    SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			if (names)
				sk_X509_NAME_pop_free(names, X509_NAME_free);
			log_tls_errors("loading the client CA", client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		/* Certificate authentication: a client without a
		 * certificate signed by this CA fails the handshake. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
				   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		tls_client_certs = true;
	}
	tls_ctx = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -1;
}

void sim_tls_free(void)
{
	if (tls_ctx)
		SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
}

SSL_CTX *sim_tls_ctx(bool *client_certs)
{
	if (client_certs)
		*client_certs = tls_client_certs;
	return tls_ctx;
}

/* ---- listeners ---- */

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int socklen, void *arg)
{
	struct sim_server *srv = arg;
	char peer[INET6_ADDRSTRLEN + 8] = "local";
	(void)l;
	(void)socklen;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in in; /* copied: sa may be less aligned */
		char host[INET_ADDRSTRLEN];
		memcpy(&in, sa, sizeof in);
		if (inet_ntop(AF_INET, &in.sin_addr, host, sizeof host))
			snprintf(peer, sizeof peer, "%s:%u", host,
				 ntohs(in.sin_port));
	}
	if (!sim_session_new(srv, fd, peer))
		sim_log("cannot create a session: out of memory");
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	/* EMFILE and friends: log and keep listening. */
	sim_log("accept: %s", strerror(errno));
}

int sim_server_listen_tcp(struct sim_server *srv, const char *hostport)
{
	struct sockaddr_storage ss;
	int sslen = sizeof ss;
	if (evutil_parse_sockaddr_port(hostport, (struct sockaddr *)&ss,
				       &sslen) != 0) {
		sim_log("bad --listen address: %s", hostport);
		return -1;
	}
	srv->tcp = evconnlistener_new_bind(srv->base, accept_cb, srv,
					   LEV_OPT_CLOSE_ON_FREE |
					   LEV_OPT_REUSEABLE |
					   LEV_OPT_CLOSE_ON_EXEC, 128,
					   (struct sockaddr *)&ss, sslen);
	if (!srv->tcp) {
		sim_log("cannot listen on %s: %s", hostport, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->tcp, accept_error_cb);
	return 0;
}

int sim_server_listen_unix(struct sim_server *srv, const char *path)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		sim_log("Unix socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	unlink(path);   /* a stale socket from a killed crdbsim */
	srv->unix_listener = evconnlistener_new_bind(
		srv->base, accept_cb, srv,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
		(struct sockaddr *)&sun, sizeof sun);
	if (!srv->unix_listener) {
		sim_log("cannot listen on %s: %s", path, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->unix_listener, accept_error_cb);
	return 0;
}

void sim_server_close_listeners(struct sim_server *srv)
{
	if (srv->tcp)
		evconnlistener_free(srv->tcp);
	if (srv->unix_listener)
		evconnlistener_free(srv->unix_listener);
	srv->tcp = srv->unix_listener = NULL;
}

void sim_new_id(struct sim_server *srv, char out[33])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t wall = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (wall <= srv->last_id_wall)
		wall = srv->last_id_wall + 1;
	srv->last_id_wall = wall;
	/* CockroachDB: the HLC wall time, then the node id (1). */
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)wall, 1ULL);
}

unsigned sim_count_sessions(const struct sim_server *srv, unsigned *feeds)
{
	unsigned n = 0, f = 0;
	for (const struct sim_session *s = srv->sessions; s;
	     s = sim_session_next(s)) {
		n++;
		if (sim_session_has_feed(s))
			f++;
	}
	if (feeds)
		*feeds = f;
	return n;
}

struct sim_session *sim_find_by_query_id(struct sim_server *srv,
					 const char *query_id)
{
	for (struct sim_session *s = srv->sessions; s; s = sim_session_next(s)) {
		const char *q = sim_session_query_id(s);
		if (q && strcasecmp(q, query_id) == 0)
			return s;
	}
	return NULL;
}

struct sim_session *sim_find_by_session_id(struct sim_server *srv,
					   const char *session_id)
{
	for (struct sim_session *s = srv->sessions; s; s = sim_session_next(s))
		if (strcasecmp(sim_session_id(s), session_id) == 0)
			return s;
	return NULL;
}

struct sim_session *sim_find_by_cancel_key(struct sim_server *srv,
					   uint32_t pid, uint32_t secret)
{
	for (struct sim_session *s = srv->sessions; s; s = sim_session_next(s)) {
		uint32_t p, k;
		if (sim_session_key(s, &p, &k) && p == pid && k == secret)
			return s;
	}
	return NULL;
}

/* Append s as a SQL literal; returns false when out of room. */
static bool put_literal(char **buf, size_t *len, size_t *cap, const char *s,
			const char *cast)
{
	size_t need = strlen(s) * 2 + strlen(cast) + 8;
	if (*len + need >= *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		while (*len + need >= ncap)
			ncap *= 2;
		char *p = realloc(*buf, ncap);
		if (!p)
			return false;
		*buf = p;
		*cap = ncap;
	}
	char *o = *buf + *len;
	*o++ = '\'';
	for (; *s; s++) {
		if (*s == '\'')
			*o++ = '\'';
		*o++ = *s;
	}
	*o++ = '\'';
	strcpy(o, cast);
	o += strlen(cast);
	*len = (size_t)(o - *buf);
	return true;
}

static bool put_raw(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 >= *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		while (*len + n + 1 >= ncap)
			ncap *= 2;
		char *p = realloc(*buf, ncap);
		if (!p)
			return false;
		*buf = p;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return true;
}

/*
 * SHOW [CLUSTER] STATEMENTS: CockroachDB's columns, with their types, over
 * a VALUES list of the running statements. An empty list is a typed SELECT
 * with no rows. txn_id is a zero UUID: crdbsim does not track transactions.
 */
char *sim_statements_sql(struct sim_server *srv)
{
	static const char *const empty =
		"(SELECT NULL::text AS query_id, NULL::uuid AS txn_id, "
		"NULL::int8 AS node_id, NULL::text AS session_id, "
		"NULL::text AS user_name, NULL::timestamptz AS start, "
		"NULL::text AS query, NULL::text AS client_address, "
		"NULL::text AS application_name, NULL::bool AS distributed, "
		"NULL::text AS phase LIMIT 0)";
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rows = 0;
	bool ok = true;

	for (struct sim_session *s = srv->sessions; s && ok;
	     s = sim_session_next(s)) {
		struct sim_running r;
		if (!sim_session_running(s, &r))
			continue;
		char start[64];
		snprintf(start, sizeof start, "%lld",
			 (long long)r.start_us);
		ok = put_raw(&buf, &len, &cap, rows ? ", (" :
			     "(SELECT * FROM (VALUES (") &&
		     put_literal(&buf, &len, &cap, r.query_id, "::text") &&
		     put_raw(&buf, &len, &cap,
			     ", '00000000-0000-0000-0000-000000000000'::uuid, 1::int8, ") &&
		     put_literal(&buf, &len, &cap, r.session_id, "::text") &&
		     put_raw(&buf, &len, &cap, ", ") &&
		     put_literal(&buf, &len, &cap, r.user, "::text") &&
		     put_raw(&buf, &len, &cap, ", to_timestamp(") &&
		     put_raw(&buf, &len, &cap, start) &&
		     put_raw(&buf, &len, &cap, " / 1000000.0)::timestamptz, ") &&
		     put_literal(&buf, &len, &cap, r.query, "::text") &&
		     put_raw(&buf, &len, &cap, ", ") &&
		     put_literal(&buf, &len, &cap, r.client_address, "::text") &&
		     put_raw(&buf, &len, &cap, ", ") &&
		     put_literal(&buf, &len, &cap, r.application_name, "::text") &&
		     put_raw(&buf, &len, &cap, ", false, 'executing'::text)");
		rows++;
	}
	if (!ok) {
		free(buf);
		return NULL;
	}
	if (rows == 0)
		return strdup(empty);
	if (!put_raw(&buf, &len, &cap,
		     ") AS v(query_id, txn_id, node_id, session_id, user_name, "
		     "start, query, client_address, application_name, "
		     "distributed, phase))")) {
		free(buf);
		return NULL;
	}
	return buf;
}

void sim_version_string(int version, char *buf, size_t len)
{
	/* §6.1: build.GetInfo().Short(). Build time and Go version are
	 * placeholders in the real format; 23.1.11's are plausible [INF]. */
	int major = version / 10000, minor = version / 100 % 100,
	    patch = version % 100;
	snprintf(buf, len,
		 "CockroachDB CCL v%d.%d.%d (x86_64-pc-linux-gnu, built "
		 "2023/09/27 01:53:43, go1.19.10)", major, minor, patch);
}

int sim_parse_version_arg(const char *s)
{
	unsigned major, minor, patch;
	char tail;
	if (*s == 'v')
		s++;
	if (sscanf(s, "%u.%u.%u%c", &major, &minor, &patch, &tail) != 3 ||
	    major > 999 || minor > 99 || patch > 99)
		return -1;
	return (int)(major * 10000 + minor * 100 + patch);
}

bool sim_pg_exec(PGconn *conn, const char *who, const char *sql, int n,
		 const char *const *params, PGresult **out)
{
	if (PQstatus(conn) != CONNECTION_OK)
		PQreset(conn);
	PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		sim_log("%s: %s", who, PQerrorMessage(conn));
		PQclear(r);
		return false;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return true;
}

static bool admin_exec(struct sim_server *srv, const char *sql, int n,
		       const char *const *params, PGresult **out)
{
	return sim_pg_exec(srv->admin, "settings", sql, n, params, out);
}

int sim_settings_load(struct sim_server *srv)
{
	/* Two crdbsims (or crdbsim and its engine) may race on the schema:
	 * IF NOT EXISTS still fails with 23505 then, so try twice. */
	bool ok = false;
	for (int i = 0; i < 2 && !ok; i++)
		ok = admin_exec(srv, "CREATE SCHEMA IF NOT EXISTS crdbsim", 0,
				NULL, NULL) &&
		     /* UNLOGGED: logical decoding, thus the changefeed
		      * history, never sees it; it still outlives crdbsim. */
		     admin_exec(srv, "CREATE UNLOGGED TABLE IF NOT EXISTS "
				"crdbsim.cluster_settings (name text PRIMARY KEY, "
				"value text NOT NULL)", 0, NULL, NULL);
	if (!ok)
		return -1;
	PGresult *r;
	if (!admin_exec(srv, "SELECT value FROM crdbsim.cluster_settings "
			"WHERE name = 'kv.rangefeed.enabled'", 0, NULL, &r))
		return -1;
	if (PQntuples(r) == 1) {
		bool on = strcmp(PQgetvalue(r, 0, 0), "true") == 0;
		simfeed_engine_set_rangefeed(srv->engine, on);
		sim_log("kv.rangefeed.enabled = %s (stored)", on ? "true" : "false");
	}
	PQclear(r);
	if (!admin_exec(srv, "SELECT value FROM crdbsim.cluster_settings "
			"WHERE name = 'kv.closed_timestamp.target_duration'", 0,
			NULL, &r))
		return -1;
	if (PQntuples(r) == 1) {
		int64_t ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		simfeed_engine_set_closed_ts_target(srv->engine, ms);
		sim_log("kv.closed_timestamp.target_duration = %lldms (stored)",
			(long long)ms);
	}
	PQclear(r);
	return 0;
}

/*
 * A duration setting's value as SET CLUSTER SETTING gives it: quoted or
 * not, Go's form ("3s", "1m30s", "250ms", "1.5s", "0") or HH:MM:SS[.f].
 * -1 when it is none of these or negative.
 */
int sim_parse_setting_duration(const char *v, int64_t *ms)
{
	char buf[64];
	size_t n = strlen(v);
	double total = 0;
	const char *p;

	if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
		v++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	unsigned int h, m;
	double sec;
	int used = 0;
	if (sscanf(buf, "%u:%u:%lf%n", &h, &m, &sec, &used) == 3 &&
	    (size_t)used == n && sec >= 0) {
		*ms = (int64_t)h * 3600000 + (int64_t)m * 60000 +
		      (int64_t)(sec * 1000 + 0.5);
		return 0;
	}
	if (!strcmp(buf, "0")) {
		*ms = 0;
		return 0;
	}
	for (p = buf; *p;) {
		char *end;
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return -1;
		double x = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
		static const struct { const char *u; double ms; } units[] = {
			{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3},
			{"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6},
		};
		size_t k, best = 0, bestlen = 0;
		for (k = 0; k < sizeof units / sizeof units[0]; k++) {
			size_t ul = strlen(units[k].u);
			if (!strncmp(p, units[k].u, ul) && ul > bestlen) {
				best = k;
				bestlen = ul;
			}
		}
		if (!bestlen)
			return -1;
		p += bestlen;
		total += x * units[best].ms;
		if (total > 9.2e15)
			return -1;
	}
	*ms = (int64_t)(total + 0.5);
	return 0;
}

void sim_settings_set_closed_ts(struct sim_server *srv, int64_t ms,
				bool is_default)
{
	char value[32];
	const char *params[1] = {value};

	snprintf(value, sizeof value, "%lld", (long long)ms);
	simfeed_engine_set_closed_ts_target(srv->engine, ms);
	/* DEFAULT forgets the stored value, as CockroachDB's RESET does. */
	admin_exec(srv, is_default ?
		   "DELETE FROM crdbsim.cluster_settings WHERE name = "
		   "'kv.closed_timestamp.target_duration'" :
		   "INSERT INTO crdbsim.cluster_settings VALUES "
		   "('kv.closed_timestamp.target_duration', $1) ON CONFLICT "
		   "(name) DO UPDATE SET value = excluded.value",
		   is_default ? 0 : 1, is_default ? NULL : params, NULL);
}

void sim_settings_set_rangefeed(struct sim_server *srv, bool on)
{
	const char *params[1] = {on ? "true" : "false"};
	simfeed_engine_set_rangefeed(srv->engine, on);
	/* Blocking, on the local PostgreSQL: a millisecond. */
	admin_exec(srv, "INSERT INTO crdbsim.cluster_settings VALUES "
		   "('kv.rangefeed.enabled', $1) ON CONFLICT (name) DO UPDATE "
		   "SET value = excluded.value", 1, params, NULL);
}
