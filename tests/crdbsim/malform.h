/*
 * malform.h: malformed changefeed rows on demand (control command
 * `malform`, README.md). The control socket arms a kind and a count; the
 * wire front end (feedwire.c) spoils that many of the rows it sends next,
 * on whichever feed sends them (or on the one feed named), and disarms
 * itself. The engine never knows.
 */
#ifndef CRDBSIM_MALFORM_H
#define CRDBSIM_MALFORM_H

#include <stddef.h>

/* The oversized value: over libcrdb's 64 MiB row limit (lib/event.c). */
#define SIM_MALFORM_OVERSIZE ((size_t)(64u << 20) + 1024u)

/* Arm count rows of this kind (a name from sim_malform_kinds) for the
 * feed running as query_id (32 hex characters, SHOW STATEMENTS), or for
 * every feed when query_id is NULL; replaces what was armed. -1 for an
 * unknown kind. */
int sim_malform_arm(const char *query_id, const char *kind, unsigned count);
/* How many rows are still armed (0: none). */
unsigned sim_malform_pending(void);
/* The kind names, space-separated (for usage messages). */
const char *sim_malform_kinds(void);

#endif /* CRDBSIM_MALFORM_H */
