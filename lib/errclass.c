/*
 * errclass.c: sort a changefeed error into "reconnect and resume" or "the
 * operator must act" (§7), with a static one-line reason for the log.
 *
 * Most changefeed errors arrive as XXUUU (uncategorized) and only the
 * message tells them apart, so the rules look at the message first, then at
 * the SQLSTATE. The first matching rule wins; order matters where one text
 * contains another ("... does not exist: supplied backups do not cover
 * requested time" before plain "does not exist").
 */
#include "config.h"

#include "crdb_internal.h"

#include <string.h>

struct message_rule {
	const char *needle;   /* case-insensitive substring of the message */
	crdb_errclass class;
	const char *reason;
};

struct sqlstate_rule {
	const char *code;     /* a full SQLSTATE, or a 2-character class */
	crdb_errclass class;
	const char *reason;
};

#define PERMANENT CRDB_ERRCLASS_PERMANENT
#define TRANSIENT CRDB_ERRCLASS_TRANSIENT

static const char REASON_RANGEFEEDS[] =
	"rangefeeds are disabled: run SET CLUSTER SETTING kv.rangefeed.enabled = true";
static const char REASON_GC[] =
	"the cursor is older than the GC threshold: restart from a newer cursor or a fresh initial scan, and raise gc.ttlseconds or consume faster";
static const char REASON_NOT_AT_CURSOR[] =
	"a target did not exist at the cursor time: restart from a newer cursor or a fresh initial scan";
static const char REASON_TRUNCATED[] =
	"a watched table was truncated: restart the feed with a fresh initial scan";
static const char REASON_DROPPED[] =
	"a watched table was dropped: remove it from the feed's targets";
static const char REASON_MISSING[] =
	"a target table does not exist: create it or fix the feed's targets";
static const char REASON_TARGET[] =
	"unsupported target (system table, view, sequence, virtual or offline table): fix the feed's targets";
static const char REASON_FAMILIES[] =
	"a target has several column families: add split_column_families or FAMILY targets";
static const char REASON_SCHEMA_STOP[] =
	"the feed stopped at a schema change (schema_change_policy='stop'): restart it from the reported timestamp";
static const char REASON_OPTIONS[] =
	"the changefeed statement has invalid options: fix the feed's options";
static const char REASON_FUTURE[] =
	"the cursor is in the future: fix the cursor or the client's clock";
static const char REASON_SYNTAX[] =
	"syntax error in the changefeed statement: fix the feed's definition";
static const char REASON_DISABLED[] =
	"changefeeds are disabled: run SET CLUSTER SETTING feature.changefeed.enabled = true";
static const char REASON_PRIVILEGE[] =
	"permission denied: grant SELECT (or CHANGEFEED) on the target tables to the feed's user";
static const char REASON_LICENSE[] =
	"this changefeed needs an enterprise license: add one or drop the feature that needs it";
static const char REASON_AUTH[] =
	"authentication failed: fix the feed's credentials";
static const char REASON_DATABASE[] =
	"the database does not exist: fix the feed's connection string";
static const char REASON_UNSUPPORTED[] =
	"the server does not support this: change the feed's definition";
static const char REASON_DATA[] =
	"the server refused a value in the changefeed statement: fix the feed's definition";

static const char REASON_LOST[] = "connection lost";
static const char REASON_SHUTDOWN[] =
	"the node is shutting down: reconnect (to another node) and resume";
static const char REASON_CANCELED[] =
	"the statement was canceled: reconnect and resume";
static const char REASON_RETRY[] =
	"retryable transaction error: reconnect and resume";
static const char REASON_CONNECTION[] =
	"connection error: reconnect and resume";
static const char REASON_RESOURCES[] =
	"the server is short of resources: reconnect with backoff and resume";
static const char REASON_SYSTEM[] =
	"system error on the server: reconnect with backoff and resume";
static const char REASON_INTERNAL[] =
	"internal error on the server: reconnect with backoff and resume";
static const char REASON_UNKNOWN[] =
	"unclassified server error: reconnect with backoff and resume";

static const struct message_rule message_rules[] = {
	/* libpq's connect failures carry no SQLSTATE, only the server's text:
	 * "connection to server at ... failed: FATAL:  password authentication
	 * failed for user ...". Retrying cannot fix credentials. */
	{ "password authentication failed", PERMANENT, REASON_AUTH },
	{ "no password supplied", PERMANENT, REASON_AUTH },
	{ "failed: FATAL:  database \"", PERMANENT, REASON_DATABASE },
	{ "rangefeeds require the kv.rangefeed.enabled setting", PERMANENT, REASON_RANGEFEEDS },
	/* "must be after replica GC threshold" (KV) and "is older than
	 * the GC threshold" (newer wrapper), also mid-stream. */
	{ "GC threshold", PERMANENT, REASON_GC },
	{ "supplied backups do not cover requested time", PERMANENT, REASON_NOT_AT_CURSOR },
	{ "do the targets exist at the specified cursor time", PERMANENT, REASON_NOT_AT_CURSOR },
	{ "\" was truncated", PERMANENT, REASON_TRUNCATED },
	{ "\" was dropped", PERMANENT, REASON_DROPPED },
	{ "descriptor is being dropped", PERMANENT, REASON_DROPPED },
	{ "CHANGEFEEDs are not supported on system tables", PERMANENT, REASON_TARGET },
	{ "CHANGEFEED cannot target", PERMANENT, REASON_TARGET },
	{ "with multiple column families requires WITH split_column_families", PERMANENT, REASON_FAMILIES },
	{ "schema change occurred at", PERMANENT, REASON_SCHEMA_STOP },
	{ "does not exist", PERMANENT, REASON_MISSING },
	{ "cannot specify timestamp in the future", PERMANENT, REASON_FUTURE },
	{ "negative durations are not accepted", PERMANENT, REASON_OPTIONS },
	{ "unknown format:", PERMANENT, REASON_OPTIONS },
	{ "unknown envelope:", PERMANENT, REASON_OPTIONS },
	{ "cannot specify both", PERMANENT, REASON_OPTIONS },
	{ "is only usable with", PERMANENT, REASON_OPTIONS },
	{ "is not usable with", PERMANENT, REASON_OPTIONS },
	{ "is not supported with", PERMANENT, REASON_OPTIONS },
	{ "requires the unordered option", PERMANENT, REASON_OPTIONS },
	{ "invalid option", PERMANENT, REASON_OPTIONS },
	{ "does not take a value", PERMANENT, REASON_OPTIONS },
	{ "requires a value", PERMANENT, REASON_OPTIONS },
	{ "problem parsing option", PERMANENT, REASON_OPTIONS },
	{ "must be a duration greater than 0", PERMANENT, REASON_OPTIONS },
	{ "is required for format=", PERMANENT, REASON_OPTIONS },
	{ "AS OF SYSTEM TIME: value is neither", PERMANENT, REASON_OPTIONS },
	{ "feature CHANGEFEED was disabled", PERMANENT, REASON_DISABLED },
	{ "only users with the admin role", PERMANENT, REASON_PRIVILEGE },
	{ "requires an enterprise license", PERMANENT, REASON_LICENSE },
};

/* Checked in order: full codes before the classes that contain them. */
static const struct sqlstate_rule sqlstate_rules[] = {
	{ "42P01", PERMANENT, REASON_MISSING },
	{ "42501", PERMANENT, REASON_PRIVILEGE },
	{ "42601", PERMANENT, REASON_SYNTAX },
	{ "55C01", PERMANENT, REASON_SCHEMA_STOP },
	{ "22023", PERMANENT, REASON_OPTIONS },
	{ "0A000", PERMANENT, REASON_UNSUPPORTED },
	{ "57P01", TRANSIENT, REASON_SHUTDOWN },
	{ "57P02", TRANSIENT, REASON_SHUTDOWN },
	{ "57P03", TRANSIENT, REASON_SHUTDOWN },
	/* A cancel we did not ask for (another session's CANCEL QUERY, a
	 * statement_timeout) still means "reconnect": the caller knows when
	 * it asked for one and does not classify that. */
	{ "57014", TRANSIENT, REASON_CANCELED },
	{ "XX000", TRANSIENT, REASON_INTERNAL },
	{ "XXUUU", TRANSIENT, REASON_UNKNOWN },
	{ "40", TRANSIENT, REASON_RETRY },
	{ "08", TRANSIENT, REASON_CONNECTION },
	{ "53", TRANSIENT, REASON_RESOURCES },
	{ "58", TRANSIENT, REASON_SYSTEM },
	{ "XX", TRANSIENT, REASON_INTERNAL },
	{ "42", PERMANENT, REASON_SYNTAX },
	{ "22", PERMANENT, REASON_DATA },
	{ "0A", PERMANENT, REASON_UNSUPPORTED },
};

static int lower_ascii(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive (ASCII) substring test; strcasestr is not in C11. */
static int contains_ci(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	for (; *haystack; haystack++) {
		size_t i = 0;
		while (i < n && haystack[i] &&
		       lower_ascii((unsigned char)haystack[i]) ==
		       lower_ascii((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

static crdb_errclass found(crdb_errclass class, const char *why,
			   const char **reason)
{
	if (reason)
		*reason = why;
	return class;
}

/* SQLSTATEs that decide before the message: their texts ("database
 * \"x\" does not exist") would match a changefeed rule wrongly. */
static const struct sqlstate_rule decisive_rules[] = {
	{ "3D000", PERMANENT, REASON_DATABASE },
	{ "28", PERMANENT, REASON_AUTH },
};

static const struct sqlstate_rule *match_sqlstate(const char *sqlstate,
						  const struct sqlstate_rule *rules,
						  size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(sqlstate, rules[i].code, strlen(rules[i].code)) == 0)
			return &rules[i];
	return NULL;
}

crdb_errclass crdb_classify_error(const char *sqlstate, const char *message,
				  const char **reason)
{
	const struct sqlstate_rule *rule;

	if (sqlstate && *sqlstate &&
	    (rule = match_sqlstate(sqlstate, decisive_rules,
				   sizeof decisive_rules / sizeof decisive_rules[0])))
		return found(rule->class, rule->reason, reason);
	if (message) {
		for (size_t i = 0; i < sizeof message_rules / sizeof message_rules[0]; i++)
			if (contains_ci(message, message_rules[i].needle))
				return found(message_rules[i].class,
					     message_rules[i].reason, reason);
	}
	if (!sqlstate || !*sqlstate)
		return found(TRANSIENT, REASON_LOST, reason);
	rule = match_sqlstate(sqlstate, sqlstate_rules,
			      sizeof sqlstate_rules / sizeof sqlstate_rules[0]);
	if (rule)
		return found(rule->class, rule->reason, reason);
	/* Anything else: a retry costs little, and a permanent error that
	 * slips through here shows up again on every attempt. */
	return found(TRANSIENT, REASON_UNKNOWN, reason);
}

crdb_errclass crdb_classify_result(const PGresult *res, const char **reason)
{
	if (!res)
		return found(TRANSIENT, REASON_LOST, reason);
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!message)
		message = PQresultErrorMessage(res);
	return crdb_classify_error(sqlstate, message, reason);
}
