/*
 * names.c: a sink's type and policy as words (names.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "names.h"

const char *slow_policy_name(enum slow_policy policy)
{
	switch (policy) {
	case SLOW_POLICY_BLOCK:
		return "block";
	case SLOW_POLICY_DROP:
		return "drop";
	default:
		return "disconnect";
	}
}

const char *sink_type_name(enum sink_type type)
{
	return type == SINK_STDOUT ? "stdout" : "unix";
}
