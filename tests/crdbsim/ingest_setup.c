/*
 * ingest_setup.c: the engine's set-up on PostgreSQL, blocking and once at
 * start (see ingest.c for what it creates): the database, crdbsim's schema
 * with the history, meta and DDL tables, the event triggers, REPLICA
 * IDENTITY FULL on existing tables, the wal2json slot, and the engine
 * state read back from crdbsim.meta.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_int.h"

/* ---- set-up ---- */

static const char setup_sql[] =
	"SET client_min_messages = warning;"
	"CREATE SCHEMA IF NOT EXISTS crdbsim;"
	"CREATE TABLE IF NOT EXISTS crdbsim.history ("
	" lsn pg_lsn NOT NULL, pos integer NOT NULL, xid bigint NOT NULL,"
	" wall bigint NOT NULL, logical integer NOT NULL,"
	" action text NOT NULL, schema_name text, table_name text,"
	" change text NOT NULL, PRIMARY KEY (lsn, pos));"
	"CREATE INDEX IF NOT EXISTS history_hlc"
	" ON crdbsim.history (wall, logical, pos);"
	"CREATE TABLE IF NOT EXISTS crdbsim.meta ("
	" id integer PRIMARY KEY CHECK (id = 1),"
	" last_wall bigint NOT NULL DEFAULT 0,"
	" last_logical integer NOT NULL DEFAULT 0,"
	" persisted_lsn pg_lsn NOT NULL DEFAULT '0/0',"
	" gc_wall bigint NOT NULL DEFAULT 0,"
	" gc_logical integer NOT NULL DEFAULT 0);"
	"INSERT INTO crdbsim.meta (id) VALUES (1) ON CONFLICT DO NOTHING;"
	/* Protected timestamps (changefeed jobs, sim_job.c): the GC keeps
	 * history at or above the oldest record. UNLOGGED: logical decoding
	 * never sees it, and it still outlives crdbsim. */
	"CREATE UNLOGGED TABLE IF NOT EXISTS crdbsim.protected_timestamps ("
	" id bigint PRIMARY KEY, wall bigint NOT NULL,"
	" logical integer NOT NULL);"
	"CREATE TABLE IF NOT EXISTS crdbsim.ddl ("
	" id bigserial PRIMARY KEY, kind text NOT NULL,"
	" schema_name text NOT NULL, table_name text NOT NULL,"
	" columns text);"
	/* The column signature a feed compares for schema_change_policy. */
	"CREATE OR REPLACE FUNCTION crdbsim.columns_of(rel oid) RETURNS text"
	" LANGUAGE sql STABLE AS $f$"
	" SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod),"
	"  ', ' ORDER BY attnum) FROM pg_attribute"
	" WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped $f$;"
	"CREATE OR REPLACE FUNCTION crdbsim.on_ddl_end() RETURNS event_trigger"
	" LANGUAGE plpgsql AS $f$ DECLARE r record; BEGIN"
	" FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP"
	"  CONTINUE WHEN r.object_type <> 'table'"
	"   OR r.schema_name IN ('crdbsim', 'pg_temp') OR r.in_extension;"
	"  IF r.command_tag IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO') THEN"
	"   IF (SELECT relreplident FROM pg_class WHERE oid = r.objid) <> 'f' THEN"
	"    EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', r.object_identity);"
	"   END IF;"
	"  ELSIF r.command_tag = 'ALTER TABLE' THEN"
	"   INSERT INTO crdbsim.ddl (kind, schema_name, table_name, columns)"
	"    SELECT 'alter', n.nspname, c.relname, crdbsim.columns_of(c.oid)"
	"    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	"    WHERE c.oid = r.objid;"
	"  END IF;"
	" END LOOP; END $f$;"
	"CREATE OR REPLACE FUNCTION crdbsim.on_sql_drop() RETURNS event_trigger"
	" LANGUAGE plpgsql AS $f$ BEGIN"
	" INSERT INTO crdbsim.ddl (kind, schema_name, table_name)"
	"  SELECT 'drop', schema_name, object_name"
	"  FROM pg_event_trigger_dropped_objects()"
	"  WHERE object_type = 'table' AND NOT is_temporary"
	"   AND schema_name <> 'crdbsim';"
	" END $f$;"
	"DROP EVENT TRIGGER IF EXISTS crdbsim_ddl_end;"
	"CREATE EVENT TRIGGER crdbsim_ddl_end ON ddl_command_end"
	" EXECUTE FUNCTION crdbsim.on_ddl_end();"
	"DROP EVENT TRIGGER IF EXISTS crdbsim_sql_drop;"
	"CREATE EVENT TRIGGER crdbsim_sql_drop ON sql_drop"
	" EXECUTE FUNCTION crdbsim.on_sql_drop();"
	/* Tables made before crdbsim ran (or while it was down). */
	"DO $f$ DECLARE r record; BEGIN"
	" FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c"
	"  JOIN pg_namespace n ON n.oid = c.relnamespace"
	"  WHERE c.relkind IN ('r', 'p') AND c.relreplident <> 'f'"
	"   AND n.nspname NOT IN ('crdbsim', 'pg_catalog', 'information_schema')"
	"   AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
	" LOOP EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', r.rel);"
	" END LOOP; END $f$;";

/* Rebuild dsn as a keyword=value string with dbname replaced. */
char *ingest_dsn_with_db(const char *dsn, const char *db, char *dbout,
			 size_t dboutlen, char *errbuf, size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn, &perr);

	if (!opts) {
		snprintf(errbuf, errlen, "bad --pg DSN: %s",
			 perr ? perr : "out of memory");
		PQfreemem(perr);
		return NULL;
	}
	size_t cap = strlen(dsn) * 2 + 256, len = 0;
	char *out = malloc(cap);
	const char *given = NULL;

	if (!out) {
		PQconninfoFree(opts);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	out[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "dbname") && o->val && o->val[0])
			given = o->val;
	if (!db)
		db = given && strcmp(given, "postgres") ? given : "defaultdb";
	snprintf(dbout, dboutlen, "%s", db);
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		const char *v = !strcmp(o->keyword, "dbname") ? dbout : o->val;

		if (!v || !v[0])
			continue;
		if (len + strlen(o->keyword) + 2 * strlen(v) + 8 >= cap) {
			cap = cap * 2 + 2 * strlen(v) + 64;
			char *n = realloc(out, cap);
			if (!n) {
				free(out);
				PQconninfoFree(opts);
				snprintf(errbuf, errlen, "out of memory");
				return NULL;
			}
			out = n;
		}
		len += (size_t)sprintf(out + len, "%s='", o->keyword);
		for (const char *p = v; *p; p++) {
			if (*p == '\'' || *p == '\\')
				out[len++] = '\\';
			out[len++] = *p;
		}
		out[len++] = '\'';
		out[len++] = ' ';
		out[len] = '\0';
	}
	PQconninfoFree(opts);
	return out;
}

/* Create the served database through the server's own database. */
int ingest_ensure_database(const char *pg_dsn, const char *db, char *errbuf,
			   size_t errlen)
{
	char maint[64];
	char *dsn = ingest_dsn_with_db(pg_dsn, "postgres", maint, sizeof maint,
				errbuf, errlen);
	if (!dsn)
		return -1;
	PGconn *c = PQconnectdb(dsn);
	int rc = -1;

	free(dsn);

	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(errbuf, errlen, "connecting to PostgreSQL: %s",
			 PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	const char *params[1] = { db };
	PGresult *res = PQexecParams(c,
		"SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL,
		params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		rc = 0;
	} else if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		char *id = PQescapeIdentifier(c, db, strlen(db));
		char sql[256];

		snprintf(sql, sizeof sql, "CREATE DATABASE %s", id ? id : "x");
		PQfreemem(id);
		PQclear(res);
		res = PQexec(c, sql);
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* Lost a race with the front end creating it: fine. */
		if (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    (st && (!strcmp(st, "42P04") || !strcmp(st, "23505"))))
			rc = 0;
		else
			snprintf(errbuf, errlen, "CREATE DATABASE %s: %s", db,
				 PQresultErrorMessage(res));
	} else {
		snprintf(errbuf, errlen, "%s", PQresultErrorMessage(res));
	}
	PQclear(res);
	PQfinish(c);
	return rc;
}

int ingest_setup_database(struct simfeed_engine *e, char *errbuf,
			  size_t errlen)
{
	PGconn *c = PQconnectdb(e->db_dsn);
	int rc = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(errbuf, errlen, "connecting to %s: %s", e->dbname,
			 PQerrorMessage(c));
		goto out;
	}
	/* Two engines (crdbsim and a test) on one server must not race. */
	if (aconn_exec_sync(c, "SELECT pg_advisory_lock(7283451)", errbuf,
			    errlen) ||
	    aconn_exec_sync(c, setup_sql, errbuf, errlen))
		goto out;

	const char *params[1] = { e->slot };
	PGresult *res = PQexecParams(c,
		"SELECT pg_create_logical_replication_slot($1, 'wal2json')"
		" WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots"
		"  WHERE slot_name = $1)", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(errbuf, errlen, "creating slot %s: %s", e->slot,
			 PQresultErrorMessage(res));
		PQclear(res);
		goto out;
	}
	PQclear(res);
	res = PQexec(c, "SELECT last_wall, last_logical, persisted_lsn,"
		     " gc_wall, gc_logical FROM crdbsim.meta WHERE id = 1");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		snprintf(errbuf, errlen, "reading crdbsim.meta: %s",
			 PQresultErrorMessage(res));
		PQclear(res);
		goto out;
	}
	e->last.wall = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	e->last.logical = (int32_t)strtol(PQgetvalue(res, 0, 1), NULL, 10);
	e->persisted_lsn = ingest_lsn_parse(PQgetvalue(res, 0, 2));
	e->gc_threshold.wall = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	e->gc_threshold.logical = (int32_t)strtol(PQgetvalue(res, 0, 4),
						  NULL, 10);
	PQclear(res);
	res = PQexec(c, "SELECT wall, logical FROM crdbsim.history"
		     " ORDER BY wall DESC, logical DESC LIMIT 1");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		e->head.wall = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		e->head.logical = (int32_t)strtol(PQgetvalue(res, 0, 1),
						  NULL, 10);
	}
	PQclear(res);
	e->frontier = e->head;
	rc = 0;
out:
	PQfinish(c);
	return rc;
}
