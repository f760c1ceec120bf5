/*
 * features.c: what the server of a connection can do (§14.7), from its
 * vendor and version alone, so that a caller learns it before sending a
 * statement the server would refuse. Each CockroachDB threshold below cites
 * its source; PostgreSQL (the versions libpq speaks to) has every feature
 * but changefeeds.
 */
#include "config.h"

#include "crdb_internal.h"

#include <stdio.h>

/* CockroachDB versions in crdb_parse_version()'s numbering. */
struct feature_info {
	const char *name;       /* for messages */
	const char *verb;       /* "need" or "needs", agreeing with name */
	int since;              /* first CockroachDB version with it; 0: none */
	int until;              /* first version without it again; 0: none */
	bool postgres;          /* PostgreSQL has it */
};

static const struct feature_info features[] = {
	/* §6.3, §6.4: CancelRequest and a BackendKeyData PID from 22.1
	 * (psycopg's tests: "cancel" and "backend pid" skip < 22). */
	[CRDB_FEATURE_CANCEL] = { "pgwire cancel", "needs", 220100, 0, true },
	[CRDB_FEATURE_BACKEND_PID] = { "backend pid", "needs", 220100, 0, true },
	/* DECLARE arrived in 22.1.0 (cockroach#74006); psycopg relies on
	 * server-side cursors from 22.1.3 ("server-side cursor": skip <
	 * 22.1.3, psycopg tests/fix_crdb.py). §14.4. */
	[CRDB_FEATURE_SERVER_CURSORS] = { "server-side cursors", "need", 220103, 0, true },
	/* PREPARE TRANSACTION / COMMIT PREPARED: cockroach#129298 and
	 * #129448 (merged December 2024, first in 25.1); from 26.2 refused
	 * unless the cluster setting sql.prepared_transactions.enabled is on
	 * (cockroach#166773, default off). §14.4. */
	[CRDB_FEATURE_TWO_PHASE_COMMIT] = { "two-phase commit", "needs", 250100, 260200, true },
	/* Never on CockroachDB (cockroach#41522, open). §6.4, §14.6. */
	[CRDB_FEATURE_LISTEN_NOTIFY] = { "LISTEN/NOTIFY", "needs", 0, 0, true },
	/* EXPERIMENTAL CHANGEFEED FOR is "New in v19.1" (docs
	 * v19.1/changefeed-for.md; §1). */
	[CRDB_FEATURE_CHANGEFEED] = { "sinkless changefeeds", "need", 190100, 0, false },
	/* CREATE CHANGEFEED ... AS SELECT, documented from v23.1 (§1.3). */
	[CRDB_FEATURE_CDC_QUERIES] = { "CDC queries", "need", 230100, 0, false },
	/* envelope=enriched, v25.2 and later (§4). */
	[CRDB_FEATURE_ENRICHED_ENVELOPE] = { "the enriched envelope", "needs", 250200, 0, false },
};

#define NFEATURES (sizeof features / sizeof features[0])

static const struct feature_info *info_of(crdb_feature feature)
{
	if ((unsigned)feature >= NFEATURES)
		return NULL;
	return &features[feature];
}

const char *crdb_feature_name(crdb_feature feature)
{
	const struct feature_info *f = info_of(feature);
	return f ? f->name : NULL;
}

/* version as vX.Y.Z */
static void format_version(char *buf, size_t size, int version)
{
	snprintf(buf, size, "v%d.%d.%d", version / 10000, version / 100 % 100,
		 version % 100);
}

bool crdb_conn_supports(const crdb_conn *conn, crdb_feature feature)
{
	const struct feature_info *f = info_of(feature);
	int version;
	if (!f || !conn || crdb_conn_server_version(conn, &version, NULL) != 0)
		return false;
	if (!crdb_conn_is_crdb(conn))
		return f->postgres;
	return f->since != 0 && version >= f->since &&
	       (f->until == 0 || version < f->until);
}

int crdb_conn_require(const crdb_conn *conn, crdb_feature feature,
		      crdb_error *err)
{
	const struct feature_info *f = info_of(feature);
	if (!f)
		return crdb__fail(err, CRDB_EINVAL, "unknown feature %d",
				  (int)feature);
	int version;
	if (!conn || crdb_conn_server_version(conn, &version, err) != 0)
		return conn ? -1 : crdb__fail(err, CRDB_EINVAL, "conn is NULL");
	if (crdb_conn_supports(conn, feature))
		return 0;
	char have[40];
	if (!crdb_conn_is_crdb(conn)) {
		/* Only changefeeds are missing on PostgreSQL. */
		char since[40];
		format_version(since, sizeof since, f->since);
		return crdb__fail(err, CRDB_EUNSUPPORTED,
				  "%s %s CockroachDB %s or later (the server is "
				  "PostgreSQL %d)", f->name, f->verb, since,
				  version / 10000);
	}
	format_version(have, sizeof have, version);
	if (feature == CRDB_FEATURE_LISTEN_NOTIFY)
		return crdb__fail(err, CRDB_EUNSUPPORTED,
				  "LISTEN/NOTIFY is not supported by CockroachDB (any "
				  "version; the server is %s): watch a table with a "
				  "changefeed instead (CREATE CHANGEFEED FOR table)",
				  have);
	char since[40], until[40];
	format_version(since, sizeof since, f->since);
	if (f->until != 0 && version >= f->until) {
		format_version(until, sizeof until, f->until);
		return crdb__fail(err, CRDB_EUNSUPPORTED,
				  "%s is off by default from CockroachDB %s (the "
				  "server is %s): it needs the cluster setting "
				  "sql.prepared_transactions.enabled, or %s up to %s",
				  f->name, until, have, since, until);
	}
	return crdb__fail(err, CRDB_EUNSUPPORTED,
			  "%s %s CockroachDB %s or later (the server is %s)",
			  f->name, f->verb, since, have);
}
