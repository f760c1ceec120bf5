/*
 * ingest_stream.c: the engine's streaming mode: a replication connection
 * (START_REPLICATION, COPY BOTH) pushes each decoded transaction once;
 * batches are persisted like the polling mode's (ingest.c) and confirmed
 * to the slot only afterwards.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_int.h"

/* ---- streaming mode: a replication connection pushes the changes ---- */

/*
 * START_REPLICATION on the slot: wal2json documents arrive as CopyData as
 * soon as they are decoded, without re-decoding from the slot's restart
 * point on every poll. What is persisted is confirmed to the server with a
 * standby status update (the flush position), so a crash re-sends only
 * transactions the persisted LSN skips. "Drained" (the resolved frontier):
 * take the time t0 and the server's WAL flush LSN, then ask for a
 * keepalive; when the walsender reports having decoded past that LSN and
 * everything received is persisted, nothing committed before t0 is
 * missing.
 */

static uint64_t be64(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

static void put_be64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (char)(v & 0xff);
		v >>= 8;
	}
}

static void stream_status(struct simfeed_engine *e, bool reply)
{
	char msg[34];
	/* PostgreSQL's epoch is 2000-01-01. */
	int64_t us = sim_now_ns() / 1000 - 946684800000000LL;

	if (!e->repl)
		return;
	msg[0] = 'r';
	put_be64(msg + 1, e->confirm_lsn);
	put_be64(msg + 9, e->confirm_lsn);
	put_be64(msg + 17, e->confirm_lsn);
	put_be64(msg + 25, (uint64_t)us);
	msg[33] = reply ? 1 : 0;
	if (PQputCopyData(e->repl, msg, sizeof msg) != 1 ||
	    PQflush(e->repl) < 0) {
		if (e->ingest_errors++ < 5)
			fprintf(stderr, "crdbsim: replication status: %s",
				PQerrorMessage(e->repl));
	}
}

static bool stream_idle(const struct simfeed_engine *e)
{
	return !e->persisting && json_array_size(ingest_pending.batch) == 0 &&
	       !ingest_pending.txn;
}

static void stream_maybe_persist(struct simfeed_engine *e)
{
	char errbuf[256];

	if (e->persisting || e->ingest->busy)
		return;
	if (json_array_size(ingest_pending.batch) == 0) {
		/* Only empty transactions (ours): confirm them. */
		if (!ingest_pending.txn && e->advance_to > e->confirm_lsn) {
			e->confirm_lsn = e->advance_to;
			stream_status(e, false);
		}
		return;
	}
	e->persist_json = json_dumps(ingest_pending.batch, JSON_COMPACT);
	json_array_clear(ingest_pending.batch);
	if (!e->persist_json) {
		fprintf(stderr, "crdbsim: persist: out of memory\n");
		return;
	}
	e->inflight_last = e->pending_last;
	e->inflight_head = e->pending_head;
	e->inflight_lsn = e->pending_lsn;
	e->inflight_advance = e->advance_to;
	e->persisting = true;
	if (ingest_persist_send(e, e->inflight_last, e->inflight_lsn, errbuf,
			 sizeof errbuf)) {
		e->persisting = false;
		fprintf(stderr, "crdbsim: persist: %s\n", errbuf);
		stream_close(e); /* the server re-sends what we lost */
	}
}

void stream_persisted(struct simfeed_engine *e, bool ok)
{
	free(e->persist_json);
	e->persist_json = NULL;
	e->persisting = false;
	e->ingest_step = STEP_IDLE;
	if (!ok) {
		stream_close(e);
		return;
	}
	e->ingest_errors = 0;
	e->last = ingest_hlc_max(e->last, e->inflight_last);
	e->head = ingest_hlc_max(e->head, e->inflight_head);
	if (e->inflight_lsn > e->persisted_lsn)
		e->persisted_lsn = e->inflight_lsn;
	e->frontier = ingest_hlc_max(e->frontier, e->head);
	if (e->inflight_advance > e->confirm_lsn) {
		e->confirm_lsn = e->inflight_advance;
		stream_status(e, false);
	}
	sim_feeds_wake(e);
	stream_maybe_persist(e);
}

static void stream_drained_check(struct simfeed_engine *e)
{
	if (!e->drain_lsn || e->stream_sent < e->drain_lsn || !stream_idle(e))
		return;
	e->drain_lsn = 0;
	e->frontier = ingest_hlc_max(e->frontier, e->drain_t0);
	e->last = ingest_hlc_max(e->last, e->frontier);
	e->pending_last = ingest_hlc_max(e->pending_last, e->last);
	sim_feeds_wake(e);
}

static void stream_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct simfeed_engine *e = arg;
	char *buf;
	int n;

	(void)fd;
	(void)what;
	if (!PQconsumeInput(e->repl)) {
		stream_close(e);
		return;
	}
	while ((n = PQgetCopyData(e->repl, &buf, 1)) > 0) {
		if (buf[0] == 'w' && n > 25) {
			/* XLogData: start, end, time, then the document. */
			ingest_peek_document(e, buf + 25);
		} else if (buf[0] == 'k' && n >= 18) {
			uint64_t end = be64(buf + 1);
			if (end > e->stream_sent)
				e->stream_sent = end;
			if (buf[17])
				stream_status(e, false);
		}
		PQfreemem(buf);
	}
	if (n < 0) {
		stream_close(e);
		return;
	}
	stream_maybe_persist(e);
	stream_drained_check(e);
}

static void probe_on_result(void *arg, PGresult *res)
{
	struct simfeed_engine *e = arg;

	if (res) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1)
			e->drain_lsn = ingest_lsn_parse(PQgetvalue(res, 0, 0));
		return;
	}
	e->probing = false;
	/* The walsender answers with its position (a keepalive). */
	stream_status(e, true);
}

void stream_on_timer(struct simfeed_engine *e)
{
	char errbuf[256];

	if (!e->streaming)
		return;
	if (e->drain_lsn) {
		stream_status(e, true); /* still waiting: ask again */
	} else if (!e->probing) {
		e->drain_t0.wall = sim_now_ns();
		e->drain_t0.logical = 0;
		e->probing = true;
		if (aconn_send(e->probe, "SELECT pg_current_wal_flush_lsn()::text",
			       0, NULL, probe_on_result, e, errbuf,
			       sizeof errbuf)) {
			e->probing = false;
			if (e->ingest_errors++ < 5)
				fprintf(stderr, "crdbsim: probe: %s\n", errbuf);
		}
	}
	ingest_schedule(e, INGEST_IDLE_US);
}

void stream_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct simfeed_engine *e = arg;
	char errbuf[256];

	(void)fd;
	(void)what;
	if (e->repl)
		return;
	if (stream_open(e, errbuf, sizeof errbuf)) {
		struct timeval tv = { 0, INGEST_RETRY_US };
		if (e->ingest_errors++ < 5)
			fprintf(stderr, "crdbsim: replication: %s\n", errbuf);
		evtimer_add(e->repl_retry, &tv);
	}
}

void stream_close(struct simfeed_engine *e)
{
	if (e->repl_ev) {
		event_free(e->repl_ev);
		e->repl_ev = NULL;
	}
	if (e->repl) {
		if (e->streaming)
			fprintf(stderr, "crdbsim: replication connection "
				"lost (%s); reconnecting\n",
				*PQerrorMessage(e->repl) ?
				PQerrorMessage(e->repl) : "closed");
		PQfinish(e->repl);
		e->repl = NULL;
	}
	/* Unconfirmed work comes again from the server. */
	json_array_clear(ingest_pending.batch);
	json_decref(ingest_pending.txn);
	ingest_pending.txn = NULL;
	e->pending_last = e->last;
	e->pending_head = e->head;
	e->pending_lsn = e->persisted_lsn;
	e->advance_to = e->confirm_lsn;
	e->drain_lsn = 0;
	if (e->repl_retry && e->streaming) {
		struct timeval tv = { 0, INGEST_RETRY_US };
		evtimer_add(e->repl_retry, &tv);
	}
}

int stream_open(struct simfeed_engine *e, char *errbuf, size_t errlen)
{
	size_t n = strlen(e->db_dsn) + 32;
	char *dsn = malloc(n), sql[512];
	PGresult *res = NULL;

	if (!dsn) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	snprintf(dsn, n, "%s replication='database'", e->db_dsn);
	/* A walsender of a killed crdbsim may hold the slot for a moment. */
	for (int attempt = 0; attempt < 20; attempt++) {
		e->repl = PQconnectdb(dsn);
		if (PQstatus(e->repl) != CONNECTION_OK) {
			snprintf(errbuf, errlen, "%s", PQerrorMessage(e->repl));
			break;
		}
		snprintf(sql, sizeof sql, "START_REPLICATION SLOT %s LOGICAL 0/0"
			 " (\"format-version\" '2', \"include-xids\" '1',"
			 " \"include-timestamp\" '1', \"include-pk\" '1',"
			 " \"include-lsn\" '1',"
			 " \"filter-tables\" 'crdbsim.history,crdbsim.meta')",
			 e->slot);
		res = PQexec(e->repl, sql);
		if (PQresultStatus(res) == PGRES_COPY_BOTH)
			break;
		snprintf(errbuf, errlen, "%s", PQresultErrorMessage(res));
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		bool busy = st && !strcmp(st, "55006");
		PQclear(res);
		res = NULL;
		PQfinish(e->repl);
		e->repl = NULL;
		if (!busy)
			break;
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
	}
	free(dsn);
	if (!res) {
		if (e->repl) {
			PQfinish(e->repl);
			e->repl = NULL;
		}
		return -1;
	}
	PQclear(res);
	if (PQsetnonblocking(e->repl, 1) != 0) {
		snprintf(errbuf, errlen, "PQsetnonblocking failed");
		PQfinish(e->repl);
		e->repl = NULL;
		return -1;
	}
	e->repl_ev = event_new(e->base, PQsocket(e->repl), EV_READ | EV_PERSIST,
			       stream_on_read, e);
	if (!e->repl_ev || event_add(e->repl_ev, NULL) != 0) {
		snprintf(errbuf, errlen, "cannot watch the replication socket");
		stream_close(e);
		return -1;
	}
	if (!ingest_pending.batch)
		ingest_pending.batch = json_array();
	/* confirm_lsn stays 0 (ignored by the server) until we have
	 * something to confirm: never move the slot backwards. */
	return 0;
}
