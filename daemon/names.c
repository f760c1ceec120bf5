/*
 * names.c: a sink's type and policy, a feed's source, and a reconnect's
 * reason, as words
 * (names.h, stats.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "names.h"

#include "stats.h"

const char *slow_policy_name(enum slow_policy policy)
{
	switch (policy) {
	case SLOW_POLICY_BLOCK:
		return "block";
	case SLOW_POLICY_DROP:
		return "drop";
	case SLOW_POLICY_JOURNAL:
		return "journal";
	default:
		return "disconnect";
	}
}

const char *sink_type_name(enum sink_type type)
{
	switch (type) {
	case SINK_STDOUT: return "stdout";
	case SINK_PG: return "pg";
	case SINK_NATS: return "nats";
	case SINK_UNIX: break;
	}
	return "unix";
}

const char *feed_source_name(enum feed_source source)
{
	switch (source) {
	case FEED_SOURCE_JOB: return "job";
	case FEED_SOURCE_NATS: return "nats";
	case FEED_SOURCE_SINKLESS: break;
	}
	return "sinkless";
}

static const char *const reconnect_names[RECONNECT_NREASONS] = {
	[RECONNECT_CONNECT] = "connect", [RECONNECT_ERROR] = "error",
	[RECONNECT_LOST] = "lost", [RECONNECT_STALL] = "stall",
	[RECONNECT_BAD_ROW] = "bad_row", [RECONNECT_RELOAD] = "reload",
	[RECONNECT_RESUME] = "resume",
	[RECONNECT_RESOLVED_STALL] = "resolved_stall",
};

const char *reconnect_reason_name(enum reconnect_reason reason)
{
	return (unsigned)reason < RECONNECT_NREASONS ? reconnect_names[reason] : "unknown";
}
