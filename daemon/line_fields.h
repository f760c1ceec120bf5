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

#include "crdb.h"

/* The raw bytes of the top-level "key" value of a row line (an array or
 * object, as CockroachDB sent it). 0, or -1 with errbuf set. */
int line_row_key(const char *line, size_t len, const char **key,
		 size_t *key_len, char *errbuf, size_t errlen);

/* A published ordered row line taken apart: what a relay needs to make it
 * a row of its own feed. */
struct line_row_parts {
	const char *body;      /* from the byte after "feed":"NAME" up to
				  the publisher's ,"seq": tail, exclusive */
	size_t body_len;
	const char *table;     /* the "table" string's raw bytes, unquoted
				  (escapes as written) */
	size_t table_len;
	const char *key;
	size_t key_len;
	crdb_op op;
	bool late;             /* the publisher flagged it late */
};

/* Split a published ordered row line (a v1 row line ending in
 * ,"seq":N[,"late":true][,"group_end":true]} with or without '\n'). 0, or
 * -1 with errbuf set naming what is wrong and where (byte offset). */
int line_row_split(const char *line, size_t len, struct line_row_parts *out,
		   char *errbuf, size_t errlen);

#endif /* CRDBFEEDD_LINE_FIELDS_H */
