/*
 * conn.c: the connection lifecycle of libcrdb: blocking and non-blocking
 * connect, what the server is (vendor, version, backend pid, session id,
 * §6.1-§6.4) and the two ways to cancel (§2.5, §6.4).
 *
 * A connection is known only once everything about it is known: on
 * CockroachDB that includes the session id, fetched with SHOW session_id
 * (§6.4), because servers before 22.1 ignore the protocol's CancelRequest
 * and can only be cancelled by id from a second connection. The
 * non-blocking path fetches it with PQsendQuery and never blocks; both paths
 * return the PGconn in libpq's default (blocking) mode, so an event loop
 * calls PQsetnonblocking() itself, as it would for a plain PGconn.
 *
 * Everything crdb_conn_cancel() reads is written before the handle is
 * reported ready and never changed afterwards, so cancel may run on another
 * thread while the owner is blocked in a statement (once the connect has
 * finished). The conninfo, which may hold a password, is kept only where a
 * cancel needs a second connection (CockroachDB) and is wiped when freed.
 *
 * Messages are one line and never carry the password: libpq's multi-line
 * messages are joined with "; ", and whatever looks like a password in the
 * conninfo is masked in them (libpq does not echo passwords, but it does
 * echo a malformed URI whole).
 */
#include "config.h"

#include "crdb_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Room for a session or query id: 32 hex characters in every release
 * (§6.4), with slack for a longer form and the NUL. */
#define CRDB_ID_MAX 64

/* PQcancel wants an error buffer; 256 is what its docs recommend. */
#define CANCEL_ERRBUF 256

/* CockroachDB answers the protocol's CancelRequest from 22.1 on (§2.5). */
#define CRDB_CANCEL_REQUEST_VERSION 220100

/* Where a handle is in its life. */
enum conn_state {
	CONN_STARTING,         /* PQconnectPoll has not said OK yet */
	CONN_FETCHING_SESSION, /* SHOW session_id sent, result not in yet */
	CONN_READY,            /* everything known; statements may run */
	CONN_FAILED            /* the connection is unusable */
};

struct crdb_conn {
	PGconn *pg;
	char *conninfo;          /* CockroachDB: kept for cancel's second
				    connection; NULL once ready on PostgreSQL */
	enum conn_state state;
	bool is_crdb;
	bool version_known;      /* server_version parsed */
	int server_version;
	int backend_pid;         /* 0 when the server does not give one */
	PGcancel *cancel;        /* NULL where CancelRequest is not used */
	bool have_session_id;
	char session_id[CRDB_ID_MAX + 1];
};

/* ------------------------------------------------------------------ */
/* One-line, password-free messages                                    */
/* ------------------------------------------------------------------ */

/*
 * Copy a libpq message into dst as one line: each line trimmed, empty lines
 * dropped, the rest joined with "; ". Truncates at dst's size and returns
 * whether it did.
 */
static bool join_lines(char *dst, size_t size, const char *msg)
{
	size_t out = 0;
	bool truncated = false;

	dst[0] = '\0';
	if (!msg)
		return false;
	while (*msg) {
		const char *end = strchr(msg, '\n');
		size_t len = end ? (size_t)(end - msg) : strlen(msg);
		const char *line = msg;

		msg = end ? end + 1 : msg + len;
		while (len && isspace((unsigned char)line[0])) {
			line++;
			len--;
		}
		while (len && isspace((unsigned char)line[len - 1]))
			len--;
		if (!len)
			continue;
		if (out && out + 2 < size) {
			memcpy(dst + out, "; ", 2);
			out += 2;
		}
		if (out + len >= size) {
			len = size - 1 - out;
			truncated = true;
		}
		memcpy(dst + out, line, len);
		out += len;
		dst[out] = '\0';
		if (out + 1 >= size) {
			truncated = truncated || *msg;
			break;
		}
	}
	/* A stray \r or tab inside a line would still break "one line". */
	for (char *p = dst; *p; p++)
		if (*p == '\r' || *p == '\t')
			*p = ' ';
	return truncated;
}

/*
 * Replace every occurrence of secret[0..len) in msg by as many '*'. When
 * msg was cut short, a tail that begins the secret is masked as well, so
 * that truncation cannot leave part of a password behind.
 */
static void mask(char *msg, const char *secret, size_t len, bool truncated)
{
	if (!len)
		return;
	for (char *p = msg; *p;) {
		size_t rest = strnlen(p, len);
		if (strncmp(p, secret, rest) == 0 && (rest == len || truncated)) {
			memset(p, '*', rest);
			p += rest;
		} else {
			p++;
		}
	}
}

/* The value after "password" "=" in a keyword/value string or a URI
 * query ("...&password=x"); quoted values without their quotes. */
static void mask_keyword_passwords(char *msg, const char *conninfo,
				   bool truncated)
{
	const char *p = conninfo;

	while ((p = strstr(p, "password")) != NULL) {
		p += strlen("password");
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *start = p;
		if (*p == '\'') {
			start = ++p;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		} else {
			while (*p && !isspace((unsigned char)*p) && *p != '&')
				p++;
		}
		mask(msg, start, (size_t)(p - start), truncated);
	}
}

/* The password of a URI's userinfo, "scheme://user:password@host/...". */
static void mask_uri_password(char *msg, const char *conninfo,
			      bool truncated)
{
	const char *p = strstr(conninfo, "://");

	if (!p)
		return;
	p += 3;
	const char *at = p;
	while (*at && *at != '@' && *at != '/')
		at++;
	if (*at != '@')
		return;
	const char *colon = memchr(p, ':', (size_t)(at - p));
	if (colon)
		mask(msg, colon + 1, (size_t)(at - colon - 1), truncated);
}

/* Mask whatever in conninfo is a password, raw and as libpq decoded it. */
static void mask_passwords(char *msg, const char *conninfo, bool truncated)
{
	if (!conninfo)
		return;
	mask_keyword_passwords(msg, conninfo, truncated);
	mask_uri_password(msg, conninfo, truncated);

	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	if (!opts)
		return;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val)
			mask(msg, o->val, strlen(o->val), truncated);
	PQconninfoFree(opts);
}

/*
 * Fail with a libpq message, made one line and password-free, after a
 * prefix of ours. Returns -1.
 */
static int fail_pq(crdb_error *err, crdb_errcode code, const char *sqlstate,
		   const char *conninfo, const char *prefix, const char *pqmsg)
{
	char msg[CRDB_ERROR_MSGLEN];

	if (!err)
		return -1;
	/* The whole message is built here and masked as it will be shown, so
	 * that no later truncation can expose part of a password. */
	int plen = snprintf(msg, sizeof msg, "%s: ", prefix);
	if (plen < 0 || (size_t)plen >= sizeof msg - 1)
		plen = 0;
	bool truncated = join_lines(msg + plen, sizeof msg - (size_t)plen,
				    pqmsg);
	if (!msg[plen])
		snprintf(msg + plen, sizeof msg - (size_t)plen,
			 "no details from libpq");
	mask_passwords(msg, conninfo, truncated);
	if (sqlstate)
		return crdb__fail_sqlstate(err, code, sqlstate, "%s", msg);
	return crdb__fail(err, code, "%s", msg);
}

/* Fail with the error of a result (server error: code and SQLSTATE). */
static int fail_result(crdb_error *err, const PGresult *res, PGconn *pg,
		       const char *conninfo, const char *what)
{
	if (!res || PQstatus(pg) == CONNECTION_BAD)
		return fail_pq(err, CRDB_ECONNECT, NULL, conninfo, what,
			       PQerrorMessage(pg));
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return fail_pq(err, CRDB_ESERVER, sqlstate ? sqlstate : "", conninfo,
		       what, PQresultErrorMessage(res));
}

/* ------------------------------------------------------------------ */
/* Server facts                                                        */
/* ------------------------------------------------------------------ */

/* True for a non-empty string of [0-9a-fA-F] that fits an id buffer. */
static bool is_hex_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= CRDB_ID_MAX || !isxdigit((unsigned char)s[n]))
			return false;
	return n > 0;
}

bool crdb_pg_is_crdb(const PGconn *pg)
{
	const char *v = pg ? PQparameterStatus(pg, "crdb_version") : NULL;

	return v && v[0];
}

int crdb_pg_server_version(const PGconn *pg, int *version_out,
			   crdb_error *err)
{
	if (!pg || !version_out)
		return crdb__fail(err, CRDB_EINVAL,
				  "server version: no connection given");
	if (crdb_pg_is_crdb(pg))
		return crdb_parse_version(PQparameterStatus(pg, "crdb_version"),
					  version_out, err);
	int v = PQserverVersion(pg);
	if (v <= 0)
		return crdb__fail(err, CRDB_ECONNECT,
				  "server version unknown: not connected");
	*version_out = v;
	return 0;
}

/*
 * The connection is up: learn what the server is. The version may fail to
 * parse on CockroachDB; the connection is still usable then (server_version
 * reports the error, the pid is unknown, cancel uses SQL).
 */
static int learn_server(crdb_conn *conn, crdb_error *err)
{
	conn->is_crdb = crdb_pg_is_crdb(conn->pg);
	conn->version_known = crdb_pg_server_version(conn->pg,
						     &conn->server_version,
						     NULL) == 0;
	bool use_cancel_request = !conn->is_crdb ||
		(conn->version_known &&
		 conn->server_version >= CRDB_CANCEL_REQUEST_VERSION);

	conn->backend_pid = use_cancel_request ? PQbackendPID(conn->pg) : 0;
	if (use_cancel_request) {
		conn->cancel = PQgetCancel(conn->pg);
		if (!conn->cancel)
			return crdb__fail(err, CRDB_ENOMEM,
					  "connect: cannot create the cancel object");
	}
	return 0;
}

/*
 * Take the session id from the result of SHOW session_id. An error result
 * or an odd value leaves it unknown: the connection itself is fine.
 */
static void take_session_id(crdb_conn *conn, const PGresult *res)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) < 1 || PQgetisnull(res, 0, 0))
		return;
	const char *id = PQgetvalue(res, 0, 0);
	if (!is_hex_id(id))
		return;
	snprintf(conn->session_id, sizeof conn->session_id, "%s", id);
	conn->have_session_id = true;
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */
/* ------------------------------------------------------------------ */

/* Wipe and drop the conninfo copy: it may hold a password. */
static void forget_conninfo(crdb_conn *conn)
{
	if (!conn->conninfo)
		return;
	explicit_bzero(conn->conninfo, strlen(conn->conninfo));
	crdb__free(conn->conninfo);
	conn->conninfo = NULL;
}

/* Everything is known. Only CockroachDB's cancels open a second
 * connection, so only there is the conninfo (and its password) kept. */
static void become_ready(crdb_conn *conn)
{
	if (!conn->is_crdb)
		forget_conninfo(conn);
	conn->state = CONN_READY;
}

static crdb_conn *conn_new(const char *conninfo, crdb_error *err)
{
	if (!conninfo) {
		crdb__fail(err, CRDB_EINVAL, "connect: no conninfo given");
		return NULL;
	}

	/* Reject a malformed string before libpq: the handle could not
	 * connect anyway, and the message needs masking. */
	char *pqerr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &pqerr);
	if (!opts) {
		if (pqerr)
			fail_pq(err, CRDB_EINVAL, NULL, conninfo,
				"connect: invalid conninfo", pqerr);
		else
			crdb__fail(err, CRDB_ENOMEM, "connect: out of memory");
		PQfreemem(pqerr);
		return NULL;
	}
	PQconninfoFree(opts);

	crdb_conn *conn = crdb__calloc(1, sizeof *conn);
	if (!conn || !(conn->conninfo = crdb__strdup(conninfo))) {
		crdb__free(conn);
		crdb__fail(err, CRDB_ENOMEM, "connect: out of memory");
		return NULL;
	}
	conn->state = CONN_STARTING;
	return conn;
}

crdb_conn *crdb_connect(const char *conninfo, crdb_error *err)
{
	crdb_conn *conn = conn_new(conninfo, err);

	if (!conn)
		return NULL;
	conn->pg = PQconnectdb(conninfo);
	if (!conn->pg) {
		crdb__fail(err, CRDB_ENOMEM, "connect: out of memory");
		goto failed;
	}
	if (PQstatus(conn->pg) != CONNECTION_OK) {
		fail_pq(err, CRDB_ECONNECT, NULL, conninfo, "connect failed",
			PQerrorMessage(conn->pg));
		goto failed;
	}
	if (learn_server(conn, err) < 0)
		goto failed;
	if (conn->is_crdb) {
		PGresult *res = PQexec(conn->pg, "SHOW session_id");
		if (!res || PQstatus(conn->pg) != CONNECTION_OK) {
			fail_result(err, res, conn->pg, conninfo,
				    "connect: SHOW session_id");
			PQclear(res);
			goto failed;
		}
		take_session_id(conn, res);
		PQclear(res);
	}
	become_ready(conn);
	return conn;

failed:
	crdb_conn_free(conn);
	return NULL;
}

crdb_conn *crdb_connect_start(const char *conninfo, crdb_error *err)
{
	crdb_conn *conn = conn_new(conninfo, err);

	if (!conn)
		return NULL;
	conn->pg = PQconnectStart(conninfo);
	if (!conn->pg) {
		crdb_conn_free(conn);
		crdb__fail(err, CRDB_ENOMEM, "connect: out of memory");
		return NULL;
	}
	/* A host that refused at once leaves CONNECTION_BAD here already;
	 * the first crdb_connect_poll() reports it. */
	return conn;
}

/* Mark the handle failed and say why. */
static crdb_poll poll_failed(crdb_conn *conn, crdb_error *err,
			     const char *prefix)
{
	conn->state = CONN_FAILED;
	fail_pq(err, CRDB_ECONNECT, NULL, conn->conninfo, prefix,
		PQerrorMessage(conn->pg));
	return CRDB_POLL_FAILED;
}

/* The connection is up on CockroachDB: send SHOW session_id without
 * waiting for the socket. */
static crdb_poll start_session_fetch(crdb_conn *conn, crdb_error *err)
{
	if (PQsetnonblocking(conn->pg, 1) != 0 ||
	    !PQsendQuery(conn->pg, "SHOW session_id"))
		return poll_failed(conn, err, "connect: SHOW session_id");
	conn->state = CONN_FETCHING_SESSION;
	return CRDB_POLL_WRITING;
}

/* Push the query out and read its result as far as the socket allows. */
static crdb_poll continue_session_fetch(crdb_conn *conn, crdb_error *err)
{
	int flushed = PQflush(conn->pg);

	if (flushed < 0)
		return poll_failed(conn, err, "connect: SHOW session_id");
	if (flushed > 0) {
		return CRDB_POLL_WRITING;
	}
	if (!PQconsumeInput(conn->pg))
		return poll_failed(conn, err, "connect: SHOW session_id");
	while (!PQisBusy(conn->pg)) {
		PGresult *res = PQgetResult(conn->pg);
		if (!res) {
			if (PQstatus(conn->pg) != CONNECTION_OK)
				return poll_failed(conn, err,
						   "connect: SHOW session_id");
			if (PQsetnonblocking(conn->pg, 0) != 0)
				return poll_failed(conn, err, "connect");
			become_ready(conn);
			return CRDB_POLL_OK;
		}
		take_session_id(conn, res);
		PQclear(res);
	}
	return CRDB_POLL_READING;
}

crdb_poll crdb_connect_poll(crdb_conn *conn, crdb_error *err)
{
	if (!conn) {
		crdb__fail(err, CRDB_EINVAL, "connect poll: no handle given");
		return CRDB_POLL_FAILED;
	}
	switch (conn->state) {
	case CONN_READY:
		return CRDB_POLL_OK;
	case CONN_FAILED:
		fail_pq(err, CRDB_ECONNECT, NULL, conn->conninfo,
			"connect failed", PQerrorMessage(conn->pg));
		return CRDB_POLL_FAILED;
	case CONN_FETCHING_SESSION:
		return continue_session_fetch(conn, err);
	case CONN_STARTING:
		break;
	}

	switch (PQconnectPoll(conn->pg)) {
	case PGRES_POLLING_READING:
		return CRDB_POLL_READING;
	case PGRES_POLLING_WRITING:
	case PGRES_POLLING_ACTIVE: /* unused by libpq; "call again" */
		return CRDB_POLL_WRITING;
	case PGRES_POLLING_FAILED:
		return poll_failed(conn, err, "connect failed");
	case PGRES_POLLING_OK:
		break;
	}
	if (learn_server(conn, err) < 0) {
		conn->state = CONN_FAILED;
		return CRDB_POLL_FAILED;
	}
	if (conn->is_crdb)
		return start_session_fetch(conn, err);
	become_ready(conn);
	return CRDB_POLL_OK;
}

int crdb_conn_socket(const crdb_conn *conn)
{
	return conn && conn->pg ? PQsocket(conn->pg) : -1;
}

PGconn *crdb_conn_pg(crdb_conn *conn)
{
	return conn ? conn->pg : NULL;
}

void crdb_conn_free(crdb_conn *conn)
{
	if (!conn)
		return;
	if (conn->cancel)
		PQfreeCancel(conn->cancel);
	if (conn->pg)
		PQfinish(conn->pg);
	forget_conninfo(conn);
	crdb__free(conn);
}

/* ------------------------------------------------------------------ */
/* What the server is                                                  */
/* ------------------------------------------------------------------ */

bool crdb_conn_is_crdb(const crdb_conn *conn)
{
	return conn && conn->state == CONN_READY && conn->is_crdb;
}

const char *crdb_conn_vendor(const crdb_conn *conn)
{
	return crdb_conn_is_crdb(conn) ? "CockroachDB" : "PostgreSQL";
}

int crdb_conn_server_version(const crdb_conn *conn, int *version_out,
			     crdb_error *err)
{
	if (!conn || conn->state != CONN_READY)
		return crdb__fail(err, CRDB_EINVAL,
				  "server version: connection not ready");
	return crdb_pg_server_version(conn->pg, version_out, err);
}

int crdb_conn_backend_pid(const crdb_conn *conn)
{
	return conn && conn->state == CONN_READY ? conn->backend_pid : 0;
}

const char *crdb_conn_session_id(const crdb_conn *conn)
{
	if (!conn || conn->state != CONN_READY || !conn->have_session_id)
		return NULL;
	return conn->session_id;
}

/* ------------------------------------------------------------------ */
/* Cancel                                                              */
/* ------------------------------------------------------------------ */

/* A second, short-lived connection with the same conninfo. */
static PGconn *side_connect(const crdb_conn *conn, const char *what,
			    crdb_error *err)
{
	PGconn *side = PQconnectdb(conn->conninfo);

	if (!side) {
		crdb__fail(err, CRDB_ENOMEM, "%s: out of memory", what);
		return NULL;
	}
	if (PQstatus(side) != CONNECTION_OK) {
		fail_pq(err, CRDB_ECONNECT, NULL, conn->conninfo, what,
			PQerrorMessage(side));
		PQfinish(side);
		return NULL;
	}
	return side;
}

/* Run a statement that returns no rows; fail with its error. */
static int side_command(PGconn *side, const crdb_conn *conn, const char *sql,
			const char *what, crdb_error *err)
{
	PGresult *res = PQexec(side, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = fail_result(err, res, side, conn->conninfo, what);
	PQclear(res);
	return rc;
}

/*
 * CockroachDB before 22.1 (§2.5): find this session's statements and
 * cancel each by id. No statement running is not an error: a cancel that
 * races with the statement's end is normal, and PQcancel() does not report
 * it either.
 */
static int cancel_by_query_id(const crdb_conn *conn, crdb_error *err)
{
	static const char what[] = "cancel";
	char sql[128 + CRDB_ID_MAX];

	if (!conn->have_session_id)
		return crdb__fail(err, CRDB_EUNSUPPORTED,
				  "cancel: the session id is unknown (SHOW session_id failed), "
				  "and this CockroachDB ignores CancelRequest before 22.1");
	PGconn *side = side_connect(conn, what, err);
	if (!side)
		return -1;

	snprintf(sql, sizeof sql,
		 "SELECT query_id FROM [SHOW CLUSTER STATEMENTS] WHERE session_id = '%s'",
		 conn->session_id);
	PGresult *res = PQexec(side, sql);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = fail_result(err, res, side, conn->conninfo,
				 "cancel: SHOW CLUSTER STATEMENTS");
		goto done;
	}
	for (int row = 0; row < PQntuples(res) && rc == 0; row++) {
		const char *query_id = PQgetvalue(res, row, 0);
		if (PQgetisnull(res, row, 0) || !is_hex_id(query_id)) {
			rc = crdb__fail(err, CRDB_EPROTO,
					"cancel: SHOW CLUSTER STATEMENTS gave a query id that is not hex");
			break;
		}
		snprintf(sql, sizeof sql, "CANCEL QUERY '%s'", query_id);
		rc = side_command(side, conn, sql, "cancel: CANCEL QUERY", err);
	}
done:
	PQclear(res);
	PQfinish(side);
	return rc;
}

int crdb_conn_cancel(crdb_conn *conn, crdb_error *err)
{
	if (!conn || conn->state != CONN_READY)
		return crdb__fail(err, CRDB_EINVAL,
				  "cancel: connection not ready");
	if (!conn->cancel)
		return cancel_by_query_id(conn, err);

	char errbuf[CANCEL_ERRBUF];
	if (!PQcancel(conn->cancel, errbuf, (int)sizeof errbuf))
		return fail_pq(err, CRDB_ECONNECT, NULL, conn->conninfo,
			       "cancel request failed", errbuf);
	return 0;
}

int crdb_conn_cancel_session(crdb_conn *conn, crdb_error *err)
{
	char sql[32 + CRDB_ID_MAX];

	if (!conn || conn->state != CONN_READY)
		return crdb__fail(err, CRDB_EINVAL,
				  "cancel session: connection not ready");
	if (!conn->is_crdb)
		return crdb__fail(err, CRDB_EUNSUPPORTED,
				  "cancel session: CANCEL SESSION is CockroachDB only (this is PostgreSQL)");
	if (!conn->have_session_id)
		return crdb__fail(err, CRDB_EUNSUPPORTED,
				  "cancel session: the session id is unknown (SHOW session_id failed)");

	PGconn *side = side_connect(conn, "cancel session", err);
	if (!side)
		return -1;
	snprintf(sql, sizeof sql, "CANCEL SESSION '%s'", conn->session_id);
	int rc = side_command(side, conn, sql, "cancel session", err);
	PQfinish(side);
	return rc;
}
