/*
 * webhook_body.h: a CockroachDB webhook sink's request body taken apart
 * without changing a byte of what it carries (doc/crdb-wire.md §16).
 *
 * A body is either a batch {"payload":[MSG,...],"length":N} or a resolved
 * timestamp {"resolved":"WALL.LOGICAL"}. Each MSG is a wrapped-envelope
 * message with its key and topic inside it ("key", "topic" members, forced
 * on by the webhook sink). A message is returned as the three byte strings
 * a sinkless changefeed sends as its columns: the topic (table), the raw
 * key JSON, and the value: the message object without its "key" and
 * "topic" members, every other member's bytes as received, in their order.
 *
 * Validation is strict and all or nothing: a body with any malformed
 * message, a "length" that differs from the payload's count, a missing or
 * non-string topic, a key that is not a JSON array, or bytes after the
 * object is refused whole, with one line saying where ("payload[3]: ...").
 * The body must be strict JSON throughout (RFC 8259: escapes, UTF-8,
 * number grammar), nested at most max_depth levels counting the body's own
 * object, the payload array and the message. Its only top-level members
 * are "payload" and "length" (a non-negative integer), or "resolved"
 * alone; any other is refused by name. An empty payload ("length":0) is a
 * well-formed batch of no messages.
 *
 * The value keeps every byte of each member it holds (name, and value with
 * its digits, escapes and inner whitespace as received); the whitespace
 * between the message's own tokens is dropped, and the members are joined
 * by "," inside "{...}". The topic's escapes are resolved; a topic that
 * is empty or holds a NUL is refused. "key" and "topic" are recognised
 * when their names are escaped too, and may each appear once. Every part
 * is also NUL-terminated in the storage.
 *
 * Pure: no logging, no event loop.
 */
#ifndef CRDBFEEDD_WEBHOOK_BODY_H
#define CRDBFEEDD_WEBHOOK_BODY_H

#include <stddef.h>

#include "crdb.h"

enum webhook_body_kind {
	WEBHOOK_BODY_ROWS,
	WEBHOOK_BODY_RESOLVED
};

/* One message of a batch; every pointer is into the body's own storage. */
struct webhook_msg {
	const char *table;   /* the topic's text, unescaped */
	size_t table_len;
	const char *key;     /* the "key" member's raw JSON (an array) */
	size_t key_len;
	const char *value;   /* the message without "key" and "topic" */
	size_t value_len;
};

struct webhook_body {
	enum webhook_body_kind kind;
	crdb_hlc resolved;           /* WEBHOOK_BODY_RESOLVED */
	struct webhook_msg *msgs;    /* WEBHOOK_BODY_ROWS */
	size_t nmsgs;
	char *storage;               /* owned: what the pointers point into */
};

/* Limits a caller sets; 0 = the default named. */
struct webhook_body_limits {
	size_t max_messages;         /* per body; default 100000 */
	size_t max_depth;            /* JSON nesting; default 64, at most 512 */
};

/*
 * Parse body (len bytes, not NUL-terminated) into *out (cleared first).
 * 0, or -1 with errbuf set and *out empty. ENOMEM is reported as
 * "out of memory".
 */
int webhook_body_parse(const char *body, size_t len,
		       const struct webhook_body_limits *lim,
		       struct webhook_body *out, char *errbuf, size_t errlen);
void webhook_body_clear(struct webhook_body *b);

#endif /* CRDBFEEDD_WEBHOOK_BODY_H */
