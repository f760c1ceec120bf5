/*
 * channel.h: notify channels (crdbfeedd(8), "LISTEN/NOTIFY"): what a row
 * of a notify feed says (its channel and payload, conf/notify.sql), the
 * rules PostgreSQL sets for channel names and payloads, the channel a
 * table's changes go to, and the folding of identical notifications
 * within one transaction, as PostgreSQL folds them.
 *
 * Pure functions and a bounded set: no event loop, no sockets.
 */
#ifndef CRDBFEEDD_CHANNEL_H
#define CRDBFEEDD_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdb.h"

struct line;

/* PostgreSQL: a channel is an identifier (NAMEDATALEN - 1 bytes); a
 * payload "must be shorter than 8000 bytes" (async.c). */
#define CHANNEL_NAME_MAX 63
#define CHANNEL_PAYLOAD_MAX 7999
/* The channel of a table's changes: "table:" and the table's name. */
#define CHANNEL_TABLE_PREFIX "table:"
/* Distinct notifications remembered per transaction for folding; past
 * this many, further ones are delivered unfolded (and counted). */
#define CHANNEL_FOLD_MAX 65536

/* A notification: both strings NUL-terminated and owned. */
struct channel_note {
	char *channel;
	size_t channel_len;
	char *payload;
	size_t payload_len;
};

/*
 * 0 when name (len bytes) is a channel PostgreSQL could listen on: 1 to
 * CHANNEL_NAME_MAX bytes, no NUL. -1 with errbuf set otherwise.
 */
int channel_name_check(const char *name, size_t len, char *errbuf,
		       size_t errlen);

/*
 * The notification a notify feed's row line carries ("after": {"channel":
 * ..., "payload": ..., ...}). Returns 0 with *note filled (free with
 * channel_note_clear); 1 when the row carries none (a delete: no "after");
 * -1 with errbuf set when it is not a notification (not JSON, no string
 * channel or payload, a bad channel name, a payload of CHANNEL_PAYLOAD_MAX
 * bytes or more, a NUL inside). *note is cleared unless 0 is returned.
 */
int channel_note_from_row(const char *data, size_t len,
			  struct channel_note *note, char *errbuf,
			  size_t errlen);
void channel_note_clear(struct channel_note *note);

/*
 * The channel of a table's row changes, "table:NAME", into out (outlen
 * bytes). 0, or -1 when it would be longer than CHANNEL_NAME_MAX.
 */
int channel_for_table(const char *table, char *out, size_t outlen);

/*
 * Folding: within one transaction (rows of one updated timestamp, given
 * in release order), a notification equal to an earlier one (same channel
 * and payload) is dropped. A new timestamp starts afresh.
 */
struct channel_fold;

/* NULL on ENOMEM. max: distinct notifications kept per timestamp (0:
 * CHANNEL_FOLD_MAX). */
struct channel_fold *channel_fold_new(size_t max);
/*
 * true: deliver it; false: fold it into an earlier one. A notification
 * past max (or on ENOMEM) is delivered and *unfolded is incremented when
 * given.
 */
bool channel_fold_keep(struct channel_fold *fold, crdb_hlc updated,
		       const struct channel_note *note, uint64_t *unfolded);
void channel_fold_free(struct channel_fold *fold);

#endif /* CRDBFEEDD_CHANNEL_H */
