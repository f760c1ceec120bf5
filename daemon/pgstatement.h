/*
 * pgstatement.h: the statements the LISTEN endpoint understands, parsed
 * from PostgreSQL query text: LISTEN, UNLISTEN (a channel or *), SET
 * (and SET TIME ZONE, SET x TO DEFAULT), RESET, SHOW, SELECT 1, BEGIN /
 * START TRANSACTION, COMMIT / END, ROLLBACK / ABORT, and the empty query.
 * Unquoted identifiers are folded to lower case, quoted ones kept as they
 * are; one longer than PGSTMT_MAX_IDENT bytes is refused (42622) where
 * PostgreSQL would cut it.
 */
#ifndef CRDBFEEDD_PGSTATEMENT_H
#define CRDBFEEDD_PGSTATEMENT_H

#include <stdbool.h>
#include <stddef.h>

/* NAMEDATALEN - 1: the longest identifier PostgreSQL keeps. */
#define PGSTMT_MAX_IDENT 63
/* The longest SET value or string literal. */
#define PGSTMT_MAX_VALUE 256

#define PGSTMT_ENDPOINT "crdbfeedd LISTEN endpoint"
#define PGSTMT_UNSUPPORTED PGSTMT_ENDPOINT \
	": only LISTEN, UNLISTEN, SET, SHOW and SELECT 1 are supported"

enum pgstmt_kind {
	PGSTMT_EMPTY, PGSTMT_LISTEN, PGSTMT_UNLISTEN, PGSTMT_UNLISTEN_ALL,
	PGSTMT_SET, PGSTMT_RESET_PARAM, PGSTMT_SHOW, PGSTMT_SELECT1,
	PGSTMT_BEGIN, PGSTMT_COMMIT, PGSTMT_ROLLBACK
};

struct pgstmt {
	enum pgstmt_kind kind;
	bool reset_keyword;               /* RESET x rather than SET x TO DEFAULT */
	char name[PGSTMT_MAX_IDENT + 1];  /* the channel, or the parameter (lower case) */
	char value[PGSTMT_MAX_VALUE];     /* SET's value, list items ", "-joined */
};

/* A parse or run error: SQLSTATE and message. */
struct pgstmt_error {
	char sqlstate[6];
	char message[300];
};

/* Fill e; returns -1. */
int pgstmt_fail(struct pgstmt_error *e, const char *sqlstate, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parse the ';'-separated statements of a query text, at most max of them
 * (more: 42601 with the message too_many), into out. Returns how many
 * (empty statements dropped, unless all are: then one PGSTMT_EMPTY), or -1
 * with e set (0A000 for any statement not listed above).
 */
int pgstmt_parse(const char *q, size_t len, struct pgstmt *out, size_t max,
		 const char *too_many, struct pgstmt_error *e);

/* ASCII letters to lower case, in place. */
void pgstmt_lower(char *s);

#endif /* CRDBFEEDD_PGSTATEMENT_H */
