/*
 * line_fields.h: fields read back out of an encoded row line (encode.h),
 * byte for byte: the NATS sink derives a message id from the key's raw
 * JSON, and a relay turns a published line back into a row of its own
 * feed. Lines are crdbfeedd's own (crdbfeedd(8), OUTPUT FORMAT, v1), but a
 * relay reads them from the network: every function checks what it reads
 * and never reads past len.
 */
#ifndef CRDBFEEDD_LINE_FIELDS_H
#define CRDBFEEDD_LINE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdb.h"

/*
 * The layout read, and nothing else (no spaces, members in this order):
 *   {"v":1,"type":"row"[,"feed":F],"table":T|null,"key":K,"op":O
 *    [,"after":A][,"before":B][,"updated":U][,"mvcc_timestamp":M]
 *    [,"seq":N[,"late":true][,"group_end":true]]}
 * then at most one '\n'. Every value is checked as strict JSON (escapes,
 * UTF-8, number grammar, nesting at most 512 levels, libcrdb's bound).
 * Errors are one line "row line: WHAT at byte N".
 */

/* The raw bytes of the top-level "key" value of a row line (an array or
 * object, as CockroachDB sent it), sequenced or not. 0, or -1 with errbuf
 * set. */
int line_row_key(const char *line, size_t len, const char **key,
		 size_t *key_len, char *errbuf, size_t errlen);

/* A published ordered row line taken apart: what a relay needs to make it
 * a row of its own feed. */
struct line_row_parts {
	const char *body;      /* from ,"table": up to the publisher's
				  ,"seq": tail, exclusive */
	size_t body_len;
	const char *table;     /* the "table" string's raw bytes, unquoted
				  (escapes as written) */
	size_t table_len;
	const char *key;
	size_t key_len;
	const char *updated;   /* the "updated" string's contents, NULL
				  when the line has none */
	size_t updated_len;
	crdb_op op;
	uint64_t seq;          /* the publisher's "seq" */
	bool late;             /* the publisher flagged it late */
};

/* Split a published ordered row line (a v1 row line ending in
 * ,"seq":N[,"late":true][,"group_end":true]} with or without '\n'). 0, or
 * -1 with errbuf set naming what is wrong and where (byte offset). A row
 * of this feed is then {"v":1,"type":"row","feed":OWN + body + "}". A
 * table of null is refused (a relay files rows by table). */
int line_row_split(const char *line, size_t len, struct line_row_parts *out,
		   char *errbuf, size_t errlen);

#endif /* CRDBFEEDD_LINE_FIELDS_H */
