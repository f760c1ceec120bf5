/*
 * names.h: the words status, metrics and log lines use for a sink's
 * configured type and slow-consumer policy and a feed's source (as crdbfeedd.conf(5) spells
 * them).
 */
#ifndef CRDBFEEDD_NAMES_H
#define CRDBFEEDD_NAMES_H

#include "conf.h"

/* "block", "drop" or "disconnect". */
const char *slow_policy_name(enum slow_policy policy);

/* "unix" or "stdout". */
const char *sink_type_name(enum sink_type type);

/* "sinkless" or "job" (a feed's source, as state lines and status say). */
const char *feed_source_name(enum feed_source source);

#endif /* CRDBFEEDD_NAMES_H */
