/*
 * nats_subject.h: the names a feed's rows carry on NATS JetStream: the
 * subject of a row (PREFIX.FEED.TABLE) and of a resolved timestamp
 * (PREFIX.FEED._resolved), the escaping that turns any table or feed name
 * into one valid subject token and back, and the Nats-Msg-Id derived from a
 * row's content. Pure: no NATS library, no I/O. doc/nats.md gives the
 * server's rules these follow.
 *
 * Token escaping (version 1), byte by byte:
 *   - kept as is: printable ASCII 0x21..0x7E except '.', '*', '>' and '%';
 *   - written as '%' and two upper-case hex digits: '.', '*', '>', '%',
 *     space and every other byte (controls, DEL, bytes >= 0x80, so UTF-8
 *     names are escaped byte by byte);
 *   - a leading '_' is written "%5F", so no escaped name begins with '_':
 *     tokens beginning with '_' are the daemon's own ("_resolved").
 * The result is never empty, never a wildcard, holds no '.', no whitespace
 * and only ASCII; nats_subject_untoken() reverses it exactly, and refuses
 * what escaping cannot produce (so each name has exactly one token).
 */
#ifndef CRDBFEEDD_NATS_SUBJECT_H
#define CRDBFEEDD_NATS_SUBJECT_H

#include <stddef.h>

#include "crdb.h"

/* Room for any subject this module writes, with its NUL. Our bound, far
 * below nats-server's 4 KiB protocol line that carries it. */
#define NATS_SUBJECT_MAX 1024

/* The token after PREFIX.FEED on resolved timestamps. */
#define NATS_SUBJECT_RESOLVED "_resolved"

/* "1-" and 32 hex digits (128 bits), with the NUL. */
#define NATS_MSG_ID_BUFSIZE 35

/* Escape name[0..name_len) into out (cap bytes, NUL-terminated); *out_len
 * gets the token's length. Returns 0, or -1 with one line in errbuf when
 * the name is empty or its token does not fit. */
int nats_subject_token(char *out, size_t cap, size_t *out_len,
		       const char *name, size_t name_len, char *errbuf,
		       size_t errlen);

/* Reverse nats_subject_token(): token[0..token_len) into out (cap bytes,
 * NUL-terminated; a name may hold NUL bytes, so use *out_len). Returns 0,
 * or -1 with one line in errbuf for a token escaping cannot produce
 * (a bad or lower-case escape, an escape of a byte kept as is, a leading
 * '_', a byte never kept) or one that does not fit. */
int nats_subject_untoken(char *out, size_t cap, size_t *out_len,
			 const char *token, size_t token_len, char *errbuf,
			 size_t errlen);

/* A configured subject prefix: dot-separated, non-empty tokens of
 * printable ASCII, no whitespace, no '*' or '>' anywhere (no wildcard in
 * what is published), at most NATS_SUBJECT_MAX / 2 bytes. Returns 0, or -1
 * with one line in errbuf. */
int nats_subject_prefix_check(const char *prefix, char *errbuf,
			      size_t errlen);

/* PREFIX.FEED.TABLE, the feed and table escaped. Returns 0, or -1 with one
 * line in errbuf (bad prefix, empty name, longer than cap or
 * NATS_SUBJECT_MAX). */
int nats_subject_row(char *out, size_t cap, const char *prefix,
		     const char *feed, const char *table, size_t table_len,
		     char *errbuf, size_t errlen);

/* PREFIX.FEED._resolved, the feed escaped. Same errors as
 * nats_subject_row(). */
int nats_subject_resolved(char *out, size_t cap, const char *prefix,
			  const char *feed, char *errbuf, size_t errlen);

/*
 * The Nats-Msg-Id of a row: "1-" then the first 128 bits of SHA-256, in
 * lower-case hex, over a version tag and the length-prefixed fields: the
 * feed's identity (the same string on every daemon running the feed, never
 * a host or state dir), the updated HLC, the table and the key bytes as
 * the changefeed sent them. Two daemons given the same row write the same
 * id on any host (fields are serialised big-endian); two different rows
 * share one with probability about n^2 / 2^129 for n ids inside one
 * duplicate window, and such a collision would drop the second row.
 * Returns 0, or -1 with one line in errbuf when OpenSSL fails (allocation).
 */
int nats_msg_id_row(char out[NATS_MSG_ID_BUFSIZE], const char *feed_identity,
		    size_t identity_len, crdb_hlc updated, const char *table,
		    size_t table_len, const char *key, size_t key_len,
		    char *errbuf, size_t errlen);

/* The Nats-Msg-Id of a resolved timestamp: the same hash over a different
 * version tag, the feed's identity and the resolved HLC, so it meets a
 * row's id only by a hash collision. */
int nats_msg_id_resolved(char out[NATS_MSG_ID_BUFSIZE],
			 const char *feed_identity, size_t identity_len,
			 crdb_hlc resolved, char *errbuf, size_t errlen);

#endif /* CRDBFEEDD_NATS_SUBJECT_H */
