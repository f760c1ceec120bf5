/*
 * sqllex.h: SQL lexing for crdbsim (intercept.c): walks SQL text the way
 * PostgreSQL does (quoted strings, E'' strings, quoted identifiers, dollar
 * quoting, both comment styles) so that nothing inside a literal is taken
 * for a keyword.
 */
#ifndef CRDBSIM_SQLLEX_H
#define CRDBSIM_SQLLEX_H

#include <stdbool.h>
#include <stddef.h>

#include "sbuf.h"

bool ident_char(char c);
bool ident_start(char c);
/* Skip whitespace and comments. */
const char *skip_space(const char *p);
/* If p starts a quoted region or comment, its end (just past it);
 * otherwise NULL. start is the beginning of the text (for E''). */
const char *skip_quoted(const char *start, const char *p);
/* Case-insensitive keyword at p (after spaces): the end of it, or NULL. */
const char *kw(const char *p, const char *word);
/* The character c at p (after spaces): just past it, or NULL. */
const char *punct(const char *p, char c);
/* An identifier (plain, lower-cased, or "quoted") into out; NULL if none. */
const char *ident(const char *p, char *out, size_t outlen);
/* A dotted name such as kv.rangefeed.enabled, lower-cased. */
const char *dotted_name(const char *p, char *out, size_t outlen);
/* Only spaces, comments and ';' are left. */
bool at_end(const char *p);
/* The rest of the statement after p, trimmed of spaces and ';'
 * (malloc'd, NULL when out of memory). */
char *rest(const char *p);

#endif /* CRDBSIM_SQLLEX_H */
