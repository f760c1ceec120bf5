/*
 * request.h: the subscriber's request line, parsed by a pure function (no
 * event loop, no sockets) so that it can be fuzzed and tested alone.
 *
 * A subscriber may send one line (at most REQUEST_MAX bytes before the
 * newline) to narrow what it receives (crdbfeedd(8), "SUBSCRIBING"):
 *   {"tables":["t",...],"ops":["insert","update","upsert","delete","unknown"],
 *    "resolved":true|false, "after":N | "since":"<HLC or RFC 3339 time>"}
 * or, on a notify feed, {"channels":["orders",...], "resolved", "after" |
 * "since"} for notify lines of those channels.
 * Every field is optional; unknown fields and duplicates are errors, and
 * so are "after" and "since" together (two starting points) and
 * "channels" with "tables" or "ops" (notifications are not rows). Whether the
 * sink can replay is the sink's question, not the parser's.
 */
#ifndef CRDBFEEDD_REQUEST_H
#define CRDBFEEDD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdb.h"

#define REQUEST_MAX 4096  /* bytes of one request line, newline excluded */
#define REQUEST_CHANNELS_MAX 64 /* channels one subscriber names */

/* Operation bits of a filter: 1u << crdb_op. */
#define REQUEST_OP_BIT(op) (1u << (unsigned)(op))
#define REQUEST_OPS_ALL (REQUEST_OP_BIT(CRDB_OP_UNKNOWN) | \
			 REQUEST_OP_BIT(CRDB_OP_INSERT) | \
			 REQUEST_OP_BIT(CRDB_OP_UPDATE) | \
			 REQUEST_OP_BIT(CRDB_OP_UPSERT) | \
			 REQUEST_OP_BIT(CRDB_OP_DELETE))

struct request_filter {
	char **tables;      /* NULL = every table; else ntables names */
	size_t ntables;
	unsigned ops;       /* REQUEST_OP_BIT set of wanted operations */
	char **channels;    /* NULL = rows; else notify lines of nchannels
			       channel names (each channel_name_check'ed) */
	size_t nchannels;
	bool has_resolved;  /* "resolved" was given (else the sink's default) */
	bool resolved;
	bool has_after;     /* "after": replay every row with seq > after */
	uint64_t after;
	bool has_since;     /* "since": replay every row with updated >= since */
	crdb_hlc since;
};

/*
 * Parse text (len bytes, need not be NUL-terminated, no newline) into
 * *out. Returns 0, or -1 with msg set (one line, quotes at most 64 bytes
 * of the input) and *out cleared. Input over REQUEST_MAX bytes is refused.
 * The caller frees a parsed filter with request_filter_clear.
 */
int request_parse(const char *text, size_t len, struct request_filter *out,
		  char *msg, size_t msglen);

/* Free the table and channel names; the filter then takes everything. */
void request_filter_clear(struct request_filter *filter);

/* "insert", "update", ...; NULL for a value out of range. */
const char *request_op_name(crdb_op op);

#endif /* CRDBFEEDD_REQUEST_H */
