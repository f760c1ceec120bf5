/*
 * encode.h: the output line, one NDJSON object per event, encoded once and
 * shared by reference between every subscriber that receives it; its
 * encoders are in line.c (the reference and the lines other than rows),
 * encode_fast.c and encode_direct.c.
 */
#ifndef CRDBFEEDD_ENCODE_H
#define CRDBFEEDD_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdb.h"

/* Bumped whenever a field changes meaning or disappears (crdbfeedd(8)). */
#define LINE_FORMAT_VERSION 1

enum line_kind {
	LINE_ROW,      /* a data row */
	LINE_RESOLVED, /* a resolved timestamp */
	LINE_STATE,    /* the feed's state changed */
	LINE_MISSED,   /* drop policy: lines this subscriber missed */
	LINE_ERROR,    /* a message to one subscriber before it is closed */
	LINE_SUBSCRIBED, /* the answer to a subscriber's request line */
	LINE_GAP,      /* replay: the positions asked for are no longer kept */
	LINE_NOTIFY    /* a notification, for a subscriber of channels */
};

struct line_slab;

/*
 * One encoded line and what filters need to know about it. The bytes end
 * with '\n'. Carved from a slab shared with the lines made before and after
 * it (line_arena.h: consecutive lines' bytes are adjacent), released when
 * the last reference goes.
 */
struct line {
	unsigned refs;
	enum line_kind kind;
	crdb_op op;          /* LINE_ROW */
	uint64_t seq;        /* position in its feed's stream; 0 = none
				(ordered feeds: the row's "seq"; a resolved
				line's: the last row it covers) */
	crdb_hlc updated;    /* LINE_ROW: its updated timestamp when the
				feed has it, else {0,0}; LINE_RESOLVED: the
				resolved timestamp */
	const char *table;   /* LINE_ROW: the event's table; LINE_NOTIFY:
				its channel; else NULL */
	size_t len;
	char *data;          /* len bytes */
	struct line_slab *slab; /* where it was carved; NULL: its own allocation */
};

struct line *line_ref(struct line *line);
void line_unref(struct line *line);

/* A data row. diff says whether to write "before". Numbers kept by
 * crdb_decode_opts.number_text are written with their own digits. NULL on
 * ENOMEM or when the values cannot be encoded (message in errbuf). */
struct line *line_new_row(const char *feed, const crdb_event *ev, bool diff,
			  char *errbuf, size_t errlen);
/* The same through jansson (every scalar is dumped by jansson): the
 * reference the fast encoder must match byte for byte (its fallback, and
 * the oracle of the differential tests and fuzzers). */
struct line *line_new_row_json(const char *feed, const crdb_event *ev,
			       bool diff, char *errbuf, size_t errlen);
/*
 * The direct path for the common case: a wrapped data row (binary key and
 * value, as crdbfeedd asks for) turned into its line straight from the
 * wire bytes, with no jansson values, byte-identical to crdb_event_decode()
 * + line_new_row(). NULL means "not a plain row" (a resolved row, another
 * envelope, text format, escapes, numbers other than canonical int64
 * integers unless opts->number_text, anything malformed, ENOMEM): the
 * caller then takes the general path, which also reports errors.
 */
struct line *line_new_row_direct(const char *feed, const PGresult *res,
				 const crdb_decode_opts *opts);
/*
 * What a statement's row description (one for all its rows, though
 * single-row mode gives each row its own PGresult) means for the direct
 * path. The caller keeps one per statement, ROW_DESC_UNCHECKED when the
 * statement is sent: the first row's description is checked once, later
 * rows only for their count and empty (NULL) fields.
 */
enum row_desc {
	ROW_DESC_UNCHECKED,
	ROW_DESC_DIRECT, /* table text, key and value binary bytea */
	ROW_DESC_OTHER   /* every row takes the general path */
};
/* line_new_row_direct() with the description checked once per *desc. */
struct line *line_new_row_described(const char *feed, const PGresult *res,
				    const crdb_decode_opts *opts,
				    enum row_desc *desc);
/* The same from raw column bytes (tests, benchmarks). */
struct line *line_new_row_raw(const char *feed, const char *table,
			      size_t table_len, const char *key, size_t key_len,
			      const char *value, size_t value_len,
			      const crdb_decode_opts *opts);
struct line *line_new_resolved(const char *feed, crdb_hlc resolved);
/* state: "connecting", "streaming", "reconnecting", "failed", "stopped";
 * reason may be NULL; source ("sinkless", "job") may be NULL (omitted). */
struct line *line_new_state(const char *feed, const char *state,
			    const char *reason, const char *source);
struct line *line_new_missed(const char *feed, uint64_t missed);
struct line *line_new_error(const char *feed, const char *message);
/* An ordered feed's resolved line: "seq" is the last row it covers. */
struct line *line_new_resolved_seq(const char *feed, crdb_hlc resolved,
				   uint64_t seq);
/* A line of these bytes (a journal's record, say); table may be NULL. */
struct line *line_new_bytes(enum line_kind kind, crdb_op op, const char *table,
			    size_t table_len, const char *data, size_t len);
/* An ordered feed's row: row (a row line, "}\n" last) with "seq" and, when
 * set, "late" and "group_end" appended. NULL on ENOMEM or when row does
 * not end with "}\n". */
struct line *line_new_sequenced(const char *row, size_t len, crdb_op op,
				const char *table, size_t table_len,
				crdb_hlc updated, uint64_t seq, bool late,
				bool group_end);
/* A row of feed rebuilt from another feed's row line taken apart
 * (line_fields.h's body: from ,"table": up to its tail, exclusive):
 * {"v":1,"type":"row","feed":FEED + body + "}\n", unsequenced, so that
 * ordered delivery sequences it like any row. NULL on ENOMEM or a feed
 * name that is not valid UTF-8. */
struct line *line_new_row_body(const char *feed, const char *body,
			       size_t body_len, crdb_op op, const char *table,
			       size_t table_len, crdb_hlc updated);
/* Replay: a subscriber asked for the rows after seq `after`, the oldest
 * still kept is `first`. */
struct line *line_new_gap(const char *feed, uint64_t after, uint64_t first);
/* A notification: {"type":"notify","feed","channel","payload","updated",
 * "seq"} from a notify feed's row (its seq and updated are copied; the
 * line's table is the channel). */
struct channel_note;
struct line *line_new_notify(const char *feed, const struct channel_note *note,
			     const struct line *row);
/* Encode any object as a line of the given kind (used for LINE_SUBSCRIBED). */
struct line *line_new_json(enum line_kind kind, json_t *obj);

#endif /* CRDBFEEDD_ENCODE_H */
