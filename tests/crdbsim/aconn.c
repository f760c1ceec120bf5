/*
 * aconn.c: a libpq connection driven by crdbsim's event loop. One query at
 * a time; its results are handed to a callback as they arrive, so neither
 * the ingest loop nor a feed ever blocks the loop on PostgreSQL (only the
 * connect itself is blocking: a local server answers in milliseconds).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedint.h"

static void aconn_on_io(evutil_socket_t fd, short what, void *arg);

static void aconn_arm(struct aconn *c)
{
	short what = EV_READ | EV_PERSIST | (c->writing ? EV_WRITE : 0);

	event_del(c->ev);
	event_assign(c->ev, event_get_base(c->ev), PQsocket(c->conn), what,
		     aconn_on_io, c);
	event_add(c->ev, NULL);
}

static void aconn_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct aconn *c = arg;
	bool gone = false;

	(void)fd;
	if (c->writing) {
		int r = PQflush(c->conn);

		if (r == 0) {
			c->writing = false;
			aconn_arm(c);
		} else if (r < 0) {
			c->writing = false;
			aconn_arm(c);
		}
	}
	if (!(what & EV_READ) && c->busy)
		return;
	if (!PQconsumeInput(c->conn) && !c->busy)
		return; /* broken while idle: the next send reports it */
	c->gone = &gone;
	while (c->busy && !PQisBusy(c->conn)) {
		PGresult *res = PQgetResult(c->conn);

		if (!res)
			c->busy = false;
		c->cb(c->arg, res);
		PQclear(res);
		if (gone)
			return;
		if (PQstatus(c->conn) == CONNECTION_BAD && c->busy) {
			/* libpq reports a broken connection once; finish. */
			PQconsumeInput(c->conn);
			if (PQisBusy(c->conn)) {
				c->busy = false;
				c->cb(c->arg, NULL);
				if (gone)
					return;
			}
		}
	}
	c->gone = NULL;
}

struct aconn *aconn_open(struct event_base *base, const char *dsn,
			 char *errbuf, size_t errlen)
{
	struct aconn *c = calloc(1, sizeof *c);

	if (!c) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	c->conn = PQconnectdb(dsn);
	if (PQstatus(c->conn) != CONNECTION_OK) {
		snprintf(errbuf, errlen, "connecting to PostgreSQL: %s",
			 PQerrorMessage(c->conn));
		PQfinish(c->conn);
		free(c);
		return NULL;
	}
	if (PQsetnonblocking(c->conn, 1) != 0) {
		snprintf(errbuf, errlen, "PQsetnonblocking failed");
		PQfinish(c->conn);
		free(c);
		return NULL;
	}
	c->ev = event_new(base, PQsocket(c->conn), EV_READ | EV_PERSIST,
			  aconn_on_io, c);
	if (!c->ev || event_add(c->ev, NULL) != 0) {
		snprintf(errbuf, errlen, "cannot watch the PostgreSQL socket");
		if (c->ev)
			event_free(c->ev);
		PQfinish(c->conn);
		free(c);
		return NULL;
	}
	return c;
}

void aconn_free(struct aconn *c)
{
	if (!c)
		return;
	if (c->gone)
		*c->gone = true;
	event_free(c->ev);
	PQfinish(c->conn);
	free(c);
}

int aconn_send(struct aconn *c, const char *sql, int nparams,
	       const char *const *params, aconn_cb cb, void *arg,
	       char *errbuf, size_t errlen)
{
	int ok;

	if (c->busy) {
		snprintf(errbuf, errlen, "internal: query already in flight");
		return -1;
	}
	if (nparams > 0)
		ok = PQsendQueryParams(c->conn, sql, nparams, NULL, params,
				       NULL, NULL, 0);
	else
		ok = PQsendQuery(c->conn, sql);
	if (!ok) {
		snprintf(errbuf, errlen, "%s", PQerrorMessage(c->conn));
		return -1;
	}
	c->cb = cb;
	c->arg = arg;
	c->busy = true;
	int r = PQflush(c->conn);
	if (r < 0) {
		c->busy = false;
		snprintf(errbuf, errlen, "%s", PQerrorMessage(c->conn));
		return -1;
	}
	c->writing = r == 1;
	aconn_arm(c);
	return 0;
}

int aconn_exec_sync(PGconn *conn, const char *sql, char *errbuf,
		    size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(errbuf, errlen, "%s", PQresultErrorMessage(res));
		rc = -1;
	}
	PQclear(res);
	return rc;
}
