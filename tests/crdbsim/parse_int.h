/*
 * parse_int.h: what crdbsim's changefeed statement parser shares between
 * its files: SQLSTATEs, the error setter, the lexer (parse.c), the WITH
 * options and their checks (parse_options.c) and Go durations
 * (parse_time.c). Not for use outside the parser.
 */
#ifndef CRDBSIM_PARSE_INT_H
#define CRDBSIM_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simstmt.h"

#define SQLSTATE_UNCATEGORIZED "XXUUU"
#define SQLSTATE_INVALID_PARAM "22023"
#define SQLSTATE_SYNTAX        "42601"
#define SQLSTATE_UNDEF_TABLE   "42P01"
#define SQLSTATE_UNSUPPORTED   "0A000"
#define SQLSTATE_PROTOCOL      "08P01"

#define NS_PER_SEC 1000000000LL

/* Fill *err (when not NULL) and return -1 (simstmt.h's sim_error). */
#define parse_fail sim_error

/* ---- lexer (parse.c) ---------------------------------------------------- */

enum tok_kind { TK_END, TK_IDENT, TK_QIDENT, TK_STRING, TK_PARAM, TK_NUMBER,
		TK_PUNCT, TK_OTHER };

struct tok {
	enum tok_kind kind;
	size_t start, end;  /* source span */
	char *text;         /* ident (lowered unless quoted) / string value */
	int param;          /* TK_PARAM: n of $n */
};

struct lexer {
	const char *s;
	size_t n, i;
	struct tok cur;
	bool bad;           /* unterminated quote or comment */
};

void parse_next(struct lexer *lx);
bool parse_is_kw(const struct lexer *lx, const char *kw);
bool parse_is_punct(const struct lexer *lx, char c);
int parse_syntax_error(struct lexer *lx, struct simfeed_error *err);

/* ---- options (parse_options.c) ------------------------------------------ */

struct opt {
	char *name;
	char *value;      /* NULL: given without a value */
};

struct optlist {
	struct opt *v;
	size_t n;
};

/* What options were seen, for cross-option checks. */
struct seen {
	bool initial_scan, no_initial_scan, initial_scan_only, resolved,
	     diff, updated, mvcc, end_time, unordered, envelope, key_in_value,
	     topic_in_value, firehose_opt, key_column, csv;
	const char *initial_scan_value; /* NULL: given without a value */
};

void parse_optlist_free(struct optlist *o);
/* WITH's option list, lexer on the token after WITH. */
int parse_options(struct lexer *lx, const char *const *params,
		  int nparams, struct optlist *o, struct simfeed_error *err);
int parse_apply_option(struct simfeed_stmt *st, const struct opt *op,
		       int64_t now_ns, struct seen *seen,
		       struct simfeed_error *err);
int parse_check_options(struct simfeed_stmt *st, const struct seen *seen,
			int64_t now_ns, struct simfeed_error *err);

/* ---- durations (parse_time.c) ------------------------------------------- */

/* Go's time.ParseDuration, to nanoseconds; -1 with msg set when invalid. */
int parse_go_duration(const char *s, int64_t *out, char *msg, size_t msglen);

#endif
