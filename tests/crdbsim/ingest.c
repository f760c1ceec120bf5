/*
 * ingest.c: the engine object and the ingest loop that turns logical
 * decoding into crdbsim's persistent change history (polling mode), with
 * the GC; ingest_setup.c prepares PostgreSQL, ingest_stream.c is the
 * streaming mode.
 *
 * Set-up (blocking, once at start) in the database the engine serves:
 * `defaultdb`, or the database named in --pg when it is not `postgres`
 * (the engine tests use that to run next to a crdbsim). It creates:
 *   crdbsim.history  one row per change: (commit lsn, position) is the key
 *                    (persisting twice is a no-op), (wall, logical, pos) the
 *                    HLC order feeds read in; `change` is wal2json's text
 *   crdbsim.meta     newest HLC handed out, last persisted commit LSN, GC
 *                    threshold
 *   crdbsim.ddl      written by event triggers inside the DDL's own
 *                    transaction, so a DROP or ALTER reaches the slot in
 *                    commit order like any change ('drop' / 'alter' with
 *                    the table's column signature)
 *   event triggers   CREATE TABLE sets REPLICA IDENTITY FULL (wal2json then
 *                    gives whole old rows: `before` images for diff and
 *                    keys of deletes); existing tables get it at start
 *   the slot         crdbsim_<db>, wal2json, format 2; TRUNCATE arrives as
 *                    action "T" (wal2json's default actions)
 *
 * wal2json runs with format-version 2, xids, timestamps, pk and lsn, and
 * filter-tables 'crdbsim.history,crdbsim.meta' (not crdbsim.*: the DDL log
 * must travel).
 *
 * Two ways to read the slot, same persistence:
 *  - streaming (normal): a replication connection (START_REPLICATION)
 *    pushes each transaction once; see "streaming mode" below. Changes
 *    reach feeds a few ms after commit.
 *  - polling (fallback when pg_hba has no replication line, or with
 *    CRDBSIM_POLL=1 in the environment): every 10 ms ask where WAL ends;
 *    when it moved, pg_logical_slot_peek_changes (bounded), persist, then
 *    pg_replication_slot_advance. Each peek re-decodes from the slot's
 *    restart point, so this gets slower with write volume.
 * Either way each transaction gets an HLC from its commit time (us * 1000,
 * logical counter on ties, strictly increasing) and the batch and the meta
 * row are persisted in one statement before the slot is told; a crash in
 * between only re-delivers transactions that the persisted LSN skips.
 * When the slot is known drained, the time taken
 * before that check becomes the resolved frontier, and later transactions
 * are stamped above it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_int.h"


int64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int sim_hlc_cmp(struct sim_hlc a, struct sim_hlc b)
{
	if (a.wall != b.wall)
		return a.wall < b.wall ? -1 : 1;
	if (a.logical != b.logical)
		return a.logical < b.logical ? -1 : 1;
	return 0;
}

struct sim_hlc ingest_hlc_max(struct sim_hlc a, struct sim_hlc b)
{
	return sim_hlc_cmp(a, b) >= 0 ? a : b;
}

struct sim_hlc sim_engine_gc_threshold(const struct simfeed_engine *e)
{
	struct sim_hlc ttl = { 0, 0 };

	if (e->gc_ttl_ms > 0)
		ttl.wall = sim_now_ns() - e->gc_ttl_ms * 1000000;
	return ingest_hlc_max(ttl, e->gc_threshold);
}

/* "0/1573788" -> 0x1573788; 0 on garbage (never a real commit LSN). */
uint64_t ingest_lsn_parse(const char *s)
{
	unsigned int hi, lo;

	if (!s || sscanf(s, "%X/%X", &hi, &lo) != 2)
		return 0;
	return (uint64_t)hi << 32 | lo;
}

static void lsn_format(uint64_t lsn, char *buf, size_t len)
{
	snprintf(buf, len, "%X/%X", (unsigned int)(lsn >> 32),
		 (unsigned int)lsn);
}

/* wal2json's commit time "2026-11-24 16:51:57.934189+00" -> us. */
static int pg_ts_to_us(const char *s, int64_t *us)
{
	struct tm tm;
	int n = 0, frac = 0, digits = 0;

	memset(&tm, 0, sizeof tm);
	if (!s || sscanf(s, "%d-%d-%d %d:%d:%d%n", &tm.tm_year, &tm.tm_mon,
			 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
			 &n) != 6)
		return -1;
	s += n;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (digits < 6)
				frac = frac * 10 + (*s - '0');
		for (; digits < 6; digits++)
			frac *= 10;
	}
	int off = 0;
	if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1, h = 0, m = 0, sec = 0;
		if (sscanf(s + 1, "%d:%d:%d", &h, &m, &sec) < 1)
			return -1;
		off = sign * (h * 3600 + m * 60 + sec);
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	*us = ((int64_t)t - off) * 1000000 + frac;
	return 0;
}

/* ---- the loop ---- */

void ingest_schedule(struct simfeed_engine *e, long us)
{
	struct timeval tv = { us / 1000000, us % 1000000 };

	e->ingest_step = STEP_IDLE;
	evtimer_add(e->ingest_timer, &tv);
}

static void ingest_fail(struct simfeed_engine *e, const char *what,
			const char *msg)
{
	if (e->ingest_errors++ < 5)
		fprintf(stderr, "crdbsim: ingest %s: %s\n", what, msg);
	free(e->persist_json);
	e->persist_json = NULL;
	ingest_schedule(e, INGEST_RETRY_US);
}

static void ingest_on_advance(void *arg, PGresult *res)
{
	struct simfeed_engine *e = arg;

	if (res) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		    e->ingest_errors++ < 5)
			fprintf(stderr, "crdbsim: slot advance: %s",
				PQresultErrorMessage(res));
		return;
	}
	ingest_schedule(e, e->round_full ? 0 : INGEST_IDLE_US);
}

static void ingest_advance(struct simfeed_engine *e)
{
	char lsn[32], errbuf[256];
	const char *params[2] = { e->slot, lsn };

	if (!e->advance_to) {
		ingest_schedule(e, e->round_full ? 0 : INGEST_IDLE_US);
		return;
	}
	lsn_format(e->advance_to, lsn, sizeof lsn);
	e->ingest_step = STEP_ADVANCE;
	if (aconn_send(e->ingest,
		       "SELECT pg_replication_slot_advance($1, $2::pg_lsn)"
		       " FROM pg_replication_slots WHERE slot_name = $1"
		       "  AND confirmed_flush_lsn < $2::pg_lsn",
		       2, params, ingest_on_advance, e, errbuf, sizeof errbuf))
		ingest_fail(e, "advance", errbuf);
}

/* The round's changes are in history (or there were none). */
static void ingest_committed(struct simfeed_engine *e)
{
	e->ingest_errors = 0;
	e->last = ingest_hlc_max(e->last, e->pending_last);
	e->head = ingest_hlc_max(e->head, e->pending_head);
	if (e->pending_lsn > e->persisted_lsn)
		e->persisted_lsn = e->pending_lsn;
	e->frontier = ingest_hlc_max(e->frontier, e->head);
	if (!e->round_full) {
		/* Drained: nothing committed before the peek is missing, and
		 * later commits are stamped above `last`. */
		e->frontier = ingest_hlc_max(e->frontier, e->pending_frontier);
		e->last = ingest_hlc_max(e->last, e->frontier);
	}
	sim_feeds_wake(e);
	ingest_advance(e);
}


static void ingest_on_persist(void *arg, PGresult *res)
{
	struct simfeed_engine *e = arg;

	if (res) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK) {
			free(e->persist_json);
			e->persist_json = NULL;
			e->pending_last = e->last; /* discard the round */
			if (e->ingest_errors++ < 5)
				fprintf(stderr, "crdbsim: persist: %s",
					PQresultErrorMessage(res));
		}
		return;
	}
	if (e->streaming) {
		stream_persisted(e, e->persist_json != NULL);
		return;
	}
	if (!e->persist_json) {
		ingest_schedule(e, INGEST_RETRY_US);
		return;
	}
	free(e->persist_json);
	e->persist_json = NULL;
	ingest_committed(e);
}

/* Map one wal2json change to a history row (NULL: not for history). */
static json_t *history_row(json_t *doc, const char *text, uint64_t lsn,
			   int pos, json_int_t xid, struct sim_hlc ts)
{
	const char *action = json_string_value(json_object_get(doc, "action"));
	const char *schema = json_string_value(json_object_get(doc, "schema"));
	const char *table = json_string_value(json_object_get(doc, "table"));
	char lsnbuf[32];

	if (!schema || !table || !action || !text)
		return NULL;
	if (!strcmp(schema, "crdbsim")) {
		/* Only the DDL log travels; it names the user table. */
		if (strcmp(table, "ddl") || strcmp(action, "I"))
			return NULL;
		json_t *cols = json_object_get(doc, "columns");
		size_t i;
		json_t *col;
		action = schema = table = NULL;
		json_array_foreach(cols, i, col) {
			const char *n = json_string_value(
				json_object_get(col, "name"));
			const char *v = json_string_value(
				json_object_get(col, "value"));
			if (!n)
				continue;
			if (!strcmp(n, "kind"))
				action = v;
			else if (!strcmp(n, "schema_name"))
				schema = v;
			else if (!strcmp(n, "table_name"))
				table = v;
		}
		if (!action || !schema || !table)
			return NULL;
	} else if (strcmp(action, "I") && strcmp(action, "U") &&
		   strcmp(action, "D") && strcmp(action, "T")) {
		return NULL;
	}
	lsn_format(lsn, lsnbuf, sizeof lsnbuf);
	json_t *row = json_pack("{s:s, s:i, s:I, s:I, s:i, s:s, s:s, s:s, s:s}",
				"lsn", lsnbuf, "pos", pos, "xid", xid,
				"wall", (json_int_t)ts.wall,
				"logical", (int)ts.logical, "action", action,
				"schema_name", schema, "table_name", table,
				"change", text);
	return row;
}

static void ingest_on_peek(void *arg, PGresult *res);

struct peek_state ingest_pending;

static void peek_reset(void)
{
	json_decref(ingest_pending.batch);
	json_decref(ingest_pending.txn);
	memset(&ingest_pending, 0, sizeof ingest_pending);
}


/* The key of a change as text (pk values), NULL when it has none or an
 * UPDATE moved it. */
static char *change_key(json_t *doc)
{
	const char *action = json_string_value(json_object_get(doc, "action"));
	json_t *pk = json_object_get(doc, "pk"), *name;
	json_t *cols = NULL, *vals = json_array();
	size_t i;
	char *key = NULL;

	if (!action || !vals || json_array_size(pk) == 0)
		goto out;
	if (!strcmp(action, "I") || !strcmp(action, "U"))
		cols = json_object_get(doc, "columns");
	else if (!strcmp(action, "D"))
		cols = json_object_get(doc, "identity");
	if (!cols)
		goto out;
	json_array_foreach(pk, i, name) {
		const char *n = json_string_value(json_object_get(name, "name"));
		json_t *v = NULL, *o = NULL, *col;
		size_t k;
		json_array_foreach(cols, k, col)
			if (n && !strcmp(json_string_value(json_object_get(col,
					"name")) ? json_string_value(
					json_object_get(col, "name")) : "", n))
				v = json_object_get(col, "value");
		json_array_foreach(json_object_get(doc, "identity"), k, col)
			if (n && !strcmp(json_string_value(json_object_get(col,
					"name")) ? json_string_value(
					json_object_get(col, "name")) : "", n))
				o = json_object_get(col, "value");
		if (!v)
			goto out;
		if (!strcmp(action, "U") && o && !json_equal(o, v))
			goto out; /* the key moved: keep it apart */
		json_array_append(vals, v);
	}
	char *k = json_dumps(vals, JSON_COMPACT | JSON_ENCODE_ANY);
	const char *schema = json_string_value(json_object_get(doc, "schema"));
	const char *table = json_string_value(json_object_get(doc, "table"));
	if (k && schema && table && asprintf(&key, "%s.%s %s", schema, table,
					     k) < 0)
		key = NULL;
	free(k);
out:
	json_decref(vals);
	return key;
}

/*
 * §9: several writes to one row in one transaction give one event, the
 * last version, with the row as it was before the transaction as
 * `before`. Merged changes are rewritten (their text re-encoded); the
 * earlier ones are marked "skip". An insert deleted again in the same
 * transaction leaves nothing.
 */
static void coalesce_txn(json_t *txn)
{
	size_t n = json_array_size(txn);

	if (n < 2)
		return;
	char **keys = calloc(n, sizeof *keys);
	json_t *seen = json_object(); /* key -> [first, last] */
	if (!keys || !seen) {
		free(keys);
		json_decref(seen);
		return;
	}
	bool dup = false;
	for (size_t i = 0; i < n; i++) {
		keys[i] = change_key(json_object_get(json_array_get(txn, i),
						     "doc"));
		if (!keys[i])
			continue;
		json_t *fl = json_object_get(seen, keys[i]);
		if (fl) {
			json_array_set_new(fl, 1, json_integer((json_int_t)i));
			dup = true;
		} else {
			json_object_set_new(seen, keys[i],
					    json_pack("[I, I]", (json_int_t)i,
						      (json_int_t)i));
		}
	}
	for (size_t i = 0; dup && i < n; i++) {
		if (!keys[i])
			continue;
		json_t *fl = json_object_get(seen, keys[i]);
		size_t first = (size_t)json_integer_value(json_array_get(fl, 0));
		size_t last = (size_t)json_integer_value(json_array_get(fl, 1));
		json_t *ch = json_array_get(txn, i);
		if (first == last)
			continue;
		if (i != last) {
			json_object_set_new(ch, "skip", json_true());
			continue;
		}
		json_t *fdoc = json_object_get(json_array_get(txn, first), "doc");
		json_t *ldoc = json_deep_copy(json_object_get(ch, "doc"));
		const char *fa = json_string_value(json_object_get(fdoc, "action"));
		const char *la = json_string_value(json_object_get(ldoc, "action"));
		if (!ldoc || !fa || !la) {
			json_decref(ldoc);
			continue;
		}
		if (!strcmp(fa, "I")) {
			if (!strcmp(la, "D")) {
				json_object_set_new(ch, "skip", json_true());
				json_decref(ldoc);
				continue;
			}
			json_object_set_new(ldoc, "action", json_string("I"));
			json_object_del(ldoc, "identity");
		} else {
			json_t *id = json_object_get(fdoc, "identity");
			if (id)
				json_object_set(ldoc, "identity", id);
			if (!strcmp(la, "I"))
				json_object_set_new(ldoc, "action",
						    json_string("U"));
		}
		char *text = json_dumps(ldoc, JSON_COMPACT);
		if (text) {
			json_object_set_new(ch, "doc", ldoc);
			json_object_set_new(ch, "text", json_string(text));
			free(text);
		} else {
			json_decref(ldoc);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	json_decref(seen);
}

void ingest_peek_document(struct simfeed_engine *e, const char *data)
{
	json_t *doc = sim_wal2json_loads(data, strlen(data));
	const char *action;

	ingest_pending.rows++;
	if (!doc)
		return;
	action = json_string_value(json_object_get(doc, "action"));
	if (!action) {
		json_decref(doc);
		return;
	}
	if (!strcmp(action, "B")) {
		json_decref(ingest_pending.txn);
		ingest_pending.txn = json_array();
		ingest_pending.xid = json_integer_value(json_object_get(doc, "xid"));
	} else if (!strcmp(action, "C")) {
		uint64_t lsn = ingest_lsn_parse(json_string_value(
			json_object_get(doc, "lsn")));
		uint64_t next = ingest_lsn_parse(json_string_value(
			json_object_get(doc, "nextlsn")));
		int64_t us;

		if (next > e->advance_to)
			e->advance_to = next;
		if (lsn > e->persisted_lsn && ingest_pending.txn &&
		    json_array_size(ingest_pending.txn) > 0 &&
		    pg_ts_to_us(json_string_value(json_object_get(doc,
					"timestamp")), &us) == 0) {
			struct sim_hlc ts = { us * 1000, 0 };
			/* Above every HLC handed out and above the resolved
			 * frontier (e->last includes it). */
			struct sim_hlc floor = ingest_hlc_max(e->pending_last, e->last);
			if (sim_hlc_cmp(ts, floor) <= 0) {
				ts = floor;
				ts.logical++;
			}
			e->pending_last = ts;
			e->pending_head = ts;
			e->pending_lsn = lsn;
			size_t i;
			json_t *ch;
			int pos = 0;
			coalesce_txn(ingest_pending.txn);
			json_array_foreach(ingest_pending.txn, i, ch) {
				if (json_is_true(json_object_get(ch, "skip")))
					continue;
				json_t *row = history_row(
					json_object_get(ch, "doc"),
					json_string_value(json_object_get(ch,
							"text")),
					lsn, pos, ingest_pending.xid, ts);
				if (row) {
					json_array_append_new(ingest_pending.batch, row);
					pos++;
				}
			}
		}
		json_decref(ingest_pending.txn);
		ingest_pending.txn = NULL;
	} else if (ingest_pending.txn) {
		/* Keep wal2json's text: it is what history stores. */
		json_array_append_new(ingest_pending.txn, json_pack("{s:O, s:s}", "doc",
							  doc, "text", data));
	}
	json_decref(doc);
}

static void ingest_on_peek(void *arg, PGresult *res)
{
	struct simfeed_engine *e = arg;

	if (res) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			if (!ingest_pending.failed && e->ingest_errors++ < 5)
				fprintf(stderr, "crdbsim: peek: %s",
					PQresultErrorMessage(res));
			ingest_pending.failed = true;
			return;
		}
		for (int i = 0; i < PQntuples(res); i++)
			ingest_peek_document(e, PQgetvalue(res, i, 0));
		return;
	}
	if (ingest_pending.failed) {
		peek_reset();
		ingest_schedule(e, INGEST_RETRY_US);
		return;
	}
	e->round_full = ingest_pending.rows >= INGEST_PEEK_ROWS_N;
	if (!e->round_full)
		e->wal_seen = e->wal_now;
	if (json_array_size(ingest_pending.batch) == 0) {
		peek_reset();
		e->pending_head = e->head;
		ingest_committed(e);
		return;
	}
	e->persist_json = json_dumps(ingest_pending.batch, JSON_COMPACT);
	peek_reset();
	if (!e->persist_json) {
		ingest_fail(e, "persist", "out of memory");
		return;
	}
	char errbuf[256];
	if (ingest_persist_send(e, e->pending_last, e->pending_lsn, errbuf,
			 sizeof errbuf))
		ingest_fail(e, "persist", errbuf);
}

/* Persist e->persist_json and the meta row in one statement. */
int ingest_persist_send(struct simfeed_engine *e, struct sim_hlc last,
			uint64_t lsn_v, char *errbuf, size_t errlen)
{
	char wall[32], logical[16], lsn[32];
	snprintf(wall, sizeof wall, "%" PRId64, last.wall);
	snprintf(logical, sizeof logical, "%" PRId32, last.logical);
	lsn_format(lsn_v, lsn, sizeof lsn);
	const char *params[4] = { e->persist_json, wall, logical, lsn };
	e->ingest_step = STEP_PERSIST;
	return aconn_send(e->ingest,
		"WITH ins AS (INSERT INTO crdbsim.history"
		" SELECT x.lsn::pg_lsn, x.pos, x.xid, x.wall, x.logical,"
		"  x.action, x.schema_name, x.table_name, x.change"
		" FROM json_to_recordset($1::json) AS x(lsn text, pos integer,"
		"  xid bigint, wall bigint, logical integer, action text,"
		"  schema_name text, table_name text, change text)"
		" ON CONFLICT DO NOTHING RETURNING 1)"
		" UPDATE crdbsim.meta SET last_wall = $2, last_logical = $3,"
		"  persisted_lsn = greatest(persisted_lsn, $4::pg_lsn)"
		" WHERE id = 1",
		4, params, ingest_on_persist, e, errbuf, errlen);
}

static void ingest_peek(struct simfeed_engine *e)
{
	char errbuf[256];
	const char *params[1] = { e->slot };

	peek_reset();
	ingest_pending.batch = json_array();
	e->advance_to = 0;
	e->pending_last = e->last;
	e->pending_head = e->head;
	e->pending_lsn = e->persisted_lsn;
	e->ingest_step = STEP_PEEK;
	if (aconn_send(e->ingest,
		"SELECT data FROM pg_logical_slot_peek_changes($1, NULL, "
		INGEST_PEEK_ROWS ", 'format-version', '2',"
		" 'include-xids', '1', 'include-timestamp', '1',"
		" 'include-pk', '1', 'include-lsn', '1',"
		" 'filter-tables', 'crdbsim.history,crdbsim.meta')",
		1, params, ingest_on_peek, e, errbuf, sizeof errbuf))
		ingest_fail(e, "peek", errbuf);
}

/*
 * Decoding costs far more than asking where WAL ends: peek only when WAL
 * was flushed since the last drained peek (our own persist counts, once).
 */
static void ingest_on_check(void *arg, PGresult *res)
{
	struct simfeed_engine *e = arg;

	if (res) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1)
			e->wal_now = ingest_lsn_parse(PQgetvalue(res, 0, 0));
		else
			e->wal_now = 0;
		return;
	}
	if (e->wal_now && e->wal_now == e->wal_seen && !e->round_full) {
		/* Nothing committed since: drained as of the check. */
		e->round_full = false;
		e->pending_last = e->last;
		e->pending_head = e->head;
		e->pending_lsn = e->persisted_lsn;
		e->advance_to = 0;
		ingest_committed(e);
		return;
	}
	ingest_peek(e);
}


static void ingest_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct simfeed_engine *e = arg;
	char errbuf[256];

	(void)fd;
	(void)what;
	if (e->streaming) {
		stream_on_timer(e);
		return;
	}
	e->pending_frontier.wall = sim_now_ns();
	e->pending_frontier.logical = 0;
	e->ingest_step = STEP_CHECK;
	if (aconn_send(e->ingest, "SELECT pg_current_wal_flush_lsn()::text",
		       0, NULL, ingest_on_check, e, errbuf, sizeof errbuf))
		ingest_fail(e, "check", errbuf);
}


/* ---- GC ---- */

int sim_engine_apply_gc(struct simfeed_engine *e, struct sim_hlc threshold)
{
	PGconn *c = PQconnectdb(e->db_dsn);
	char wall[32], logical[16];
	const char *params[2] = { wall, logical };
	int rc = -1;

	if (sim_hlc_cmp(threshold, e->gc_threshold) > 0)
		e->gc_threshold = threshold;
	snprintf(wall, sizeof wall, "%" PRId64, e->gc_threshold.wall);
	snprintf(logical, sizeof logical, "%" PRId32, e->gc_threshold.logical);
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *res = PQexecParams(c,
			/* History a protected timestamp still needs stays:
			 * the deletion stops at the oldest record. */
			"WITH del AS (DELETE FROM crdbsim.history h"
			" WHERE (h.wall, h.logical) < ($1::bigint, $2::integer)"
			" AND NOT EXISTS (SELECT 1 FROM"
			"  crdbsim.protected_timestamps p"
			"  WHERE (p.wall, p.logical) <= (h.wall, h.logical))"
			" RETURNING 1)"
			" UPDATE crdbsim.meta SET gc_wall = $1, gc_logical = $2"
			" WHERE id = 1", 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			rc = 0;
		else
			fprintf(stderr, "crdbsim: gc: %s",
				PQresultErrorMessage(res));
		PQclear(res);
	}
	PQfinish(c);
	return rc;
}

/* ---- the engine object ---- */

struct simfeed_engine *simfeed_engine_new(struct event_base *base,
					  const struct simfeed_settings *s,
					  char *errbuf, size_t errlen)
{
	struct simfeed_engine *e = calloc(1, sizeof *e);

	if (!e) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	e->base = base;
	e->rangefeed = s->rangefeed_enabled;
	e->gc_ttl_ms = s->gc_ttl_ms;
	e->emulated_version = s->emulated_version;
	e->closed_target_ms = s->closed_ts_target_ms > 0 ?
			      s->closed_ts_target_ms : 0;
	e->pg_dsn = strdup(s->pg_dsn ? s->pg_dsn : "");
	if (!e->pg_dsn) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	e->db_dsn = ingest_dsn_with_db(e->pg_dsn, NULL, e->dbname, sizeof e->dbname,
				errbuf, errlen);
	if (!e->db_dsn)
		goto fail;
	snprintf(e->slot, sizeof e->slot, "crdbsim_");
	for (size_t i = 0, n = strlen(e->slot); e->dbname[i] &&
	     n + 1 < sizeof e->slot; i++) {
		char ch = e->dbname[i];
		/* Slot names allow [a-z0-9_] only. */
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		else if (!((ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9')))
			ch = '_';
		e->slot[n++] = ch;
		e->slot[n] = '\0';
	}
	if (ingest_ensure_database(e->pg_dsn, e->dbname, errbuf, errlen) ||
	    ingest_setup_database(e, errbuf, errlen))
		goto fail;
	if (e->gc_ttl_ms > 0) {
		struct sim_hlc t = { sim_now_ns() - e->gc_ttl_ms * 1000000, 0 };
		if (sim_hlc_cmp(t, e->gc_threshold) > 0 &&
		    sim_engine_apply_gc(e, t))
			fprintf(stderr, "crdbsim: start-up GC failed\n");
	}
	e->ingest = aconn_open(base, e->db_dsn, errbuf, errlen);
	if (!e->ingest)
		goto fail;
	e->ingest_timer = evtimer_new(base, ingest_on_timer, e);
	e->repl_retry = evtimer_new(base, stream_on_retry, e);
	if (!e->ingest_timer || !e->repl_retry) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	/* Streaming when pg_hba allows replication connections; polling
	 * the slot with peek/advance otherwise. */
	char serr[256];
	e->pending_last = e->last;
	e->pending_head = e->head;
	e->pending_lsn = e->persisted_lsn;
	e->probe = aconn_open(base, e->db_dsn, errbuf, errlen);
	if (!e->probe)
		goto fail;
	const char *poll = getenv("CRDBSIM_POLL");
	bool want_stream = !poll || !*poll || !strcmp(poll, "0");
	if (want_stream && stream_open(e, serr, sizeof serr) == 0)
		e->streaming = true;
	else if (want_stream)
		fprintf(stderr, "crdbsim: no replication connection (%s);"
			" polling the slot instead\n", serr);
	ingest_schedule(e, 0);
	return e;
fail:
	simfeed_engine_free(e);
	return NULL;
}

void simfeed_engine_free(struct simfeed_engine *e)
{
	if (!e)
		return;
	sim_feeds_free_all(e);
	e->streaming = false;
	stream_close(e);
	if (e->repl_retry)
		event_free(e->repl_retry);
	aconn_free(e->probe);
	if (e->ingest_timer)
		event_free(e->ingest_timer);
	aconn_free(e->ingest);
	peek_reset();
	free(e->persist_json);
	free(e->db_dsn);
	free(e->pg_dsn);
	free(e);
}

void simfeed_engine_set_rangefeed(struct simfeed_engine *e, bool on)
{
	e->rangefeed = on;
}

bool simfeed_engine_rangefeed(const struct simfeed_engine *e)
{
	return e->rangefeed;
}

void simfeed_engine_set_closed_ts_target(struct simfeed_engine *e, int64_t ms)
{
	e->closed_target_ms = ms > 0 ? ms : 0;
	/* A shorter target may let a waiting resolved row out now. */
	sim_feeds_wake(e);
}

int64_t simfeed_engine_closed_ts_target(const struct simfeed_engine *e)
{
	return e->closed_target_ms;
}

int simfeed_gc(struct simfeed_engine *e, int64_t age_ms)
{
	struct sim_hlc t = { sim_now_ns() - age_ms * 1000000, 0 };

	if (sim_hlc_cmp(t, e->gc_threshold) < 0)
		t = e->gc_threshold;
	int rc = sim_engine_apply_gc(e, t);
	sim_feeds_gc(e, e->gc_threshold);
	return rc;
}
