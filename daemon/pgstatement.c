/*
 * pgstatement.c: the statements the LISTEN endpoint understands
 * (pgstatement.h): a lexer for PostgreSQL's tokens (case folding, quoted
 * identifiers and strings, comments) and a parser for LISTEN, UNLISTEN,
 * SET, RESET, SHOW, SELECT 1 and the transaction statements.
 */
#include <config.h> /* autoconf's, from the build directory */
#include "pgstatement.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Tokens of one statement: more means it is none of ours. */
#define MAX_TOKENS 32

void pgstmt_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

enum tok_kind { T_WORD, T_IDENT, T_STRING, T_NUMBER, T_PUNCT, T_PARAM };

struct token {
	enum tok_kind kind;
	char text[PGSTMT_MAX_VALUE]; /* words: lower case; idents: folded or as quoted */
};

int pgstmt_fail(struct pgstmt_error *e, const char *sqlstate, const char *fmt, ...)
{
	va_list ap;
	snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return -1;
}

static bool word_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool word_char(unsigned char c)
{
	return word_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/*
 * Read one token at *pp (end = q_end). Returns 1 with a token, 0 at the
 * end of the statement (';' or the end of the text; *pp is past the ';'),
 * -1 with e set.
 */
static int next_token(const char **pp, const char *q_end, struct token *t,
		      struct pgstmt_error *e)
{
	const char *p = *pp;
	for (;;) {
		while (p < q_end && (*p == ' ' || *p == '\t' || *p == '\n' ||
				     *p == '\r' || *p == '\f'))
			p++;
		if (q_end - p >= 2 && p[0] == '-' && p[1] == '-') {
			while (p < q_end && *p != '\n')
				p++;
			continue;
		}
		if (q_end - p >= 2 && p[0] == '/' && p[1] == '*') {
			int depth = 0;
			while (p < q_end) {
				if (q_end - p >= 2 && p[0] == '/' && p[1] == '*') {
					depth++;
					p += 2;
				} else if (q_end - p >= 2 && p[0] == '*' && p[1] == '/') {
					p += 2;
					if (--depth == 0)
						break;
				} else {
					p++;
				}
			}
			if (depth)
				return pgstmt_fail(e, "42601", "unterminated /* comment");
			continue;
		}
		break;
	}
	if (p == q_end) {
		*pp = p;
		return 0;
	}
	if (*p == ';') {
		*pp = p + 1;
		return 0;
	}
	size_t n = 0;
	unsigned char c = (unsigned char)*p;
	if (word_start(c)) {
		t->kind = T_WORD;
		while (p < q_end && word_char((unsigned char)*p)) {
			if (n >= PGSTMT_MAX_IDENT)
				return pgstmt_fail(e, "42622", PGSTMT_ENDPOINT ": identifier longer than %d bytes",
						PGSTMT_MAX_IDENT);
			char ch = *p++;
			t->text[n++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
		}
	} else if (c == '"' || c == '\'') {
		t->kind = c == '"' ? T_IDENT : T_STRING;
		size_t max = c == '"' ? PGSTMT_MAX_IDENT : PGSTMT_MAX_VALUE - 1;
		p++;
		for (;;) {
			if (p == q_end)
				return pgstmt_fail(e, "42601", c == '"' ? "unterminated quoted identifier"
								     : "unterminated quoted string");
			if ((unsigned char)*p == c) {
				if (q_end - p >= 2 && (unsigned char)p[1] == c) {
					p++;
				} else {
					p++;
					break;
				}
			}
			if (n >= max)
				return pgstmt_fail(e, c == '"' ? "42622" : "22023",
						PGSTMT_ENDPOINT ": %s longer than %zu bytes",
						c == '"' ? "identifier" : "string", max);
			t->text[n++] = *p++;
		}
		if (c == '"' && n == 0)
			return pgstmt_fail(e, "42601", "zero-length delimited identifier");
	} else if ((c >= '0' && c <= '9') || (c == '.' && q_end - p >= 2 && p[1] >= '0' && p[1] <= '9')) {
		t->kind = T_NUMBER;
		while (p < q_end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' ||
				     *p == 'E' || *p == '_')) {
			if (n >= PGSTMT_MAX_VALUE - 1)
				return pgstmt_fail(e, "22023", PGSTMT_ENDPOINT ": number too long");
			t->text[n++] = *p++;
		}
	} else if (c == '$' && q_end - p >= 2 && p[1] >= '0' && p[1] <= '9') {
		t->kind = T_PARAM;
		t->text[n++] = *p++;
	} else {
		t->kind = T_PUNCT;
		t->text[n++] = *p++;
	}
	t->text[n] = '\0';
	*pp = p;
	return 1;
}

/* Copy a name of at most PGSTMT_MAX_IDENT bytes (the lexer's bound). */
static void copy_name(char *dst, const char *src)
{
	size_t n = strnlen(src, PGSTMT_MAX_IDENT);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* "a.b" into dst (PGSTMT_MAX_IDENT + 1 bytes). 0, or -1 when too long. */
static int dotted_name(char *dst, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la + 1 + lb > PGSTMT_MAX_IDENT)
		return -1;
	memcpy(dst, a, la);
	dst[la] = '.';
	memcpy(dst + la + 1, b, lb + 1);
	return 0;
}

static bool is_word(const struct token *t, const char *w)
{
	return t->kind == T_WORD && strcmp(t->text, w) == 0;
}

static bool is_punct(const struct token *t, char c)
{
	return t->kind == T_PUNCT && t->text[0] == c;
}

/* A name: an unquoted word (folded) or a quoted identifier. */
static bool is_name(const struct token *t)
{
	return t->kind == T_WORD || t->kind == T_IDENT;
}

/* SET's value list: words, strings, numbers, signed numbers, comma-joined. */
static int set_value(const struct token *t, size_t n, char *out, size_t outlen,
		     struct pgstmt_error *e)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char part[PGSTMT_MAX_VALUE + 1];
		if (is_punct(&t[i], '-') && i + 1 < n && t[i + 1].kind == T_NUMBER) {
			snprintf(part, sizeof part, "-%s", t[i + 1].text);
			i++;
		} else if (t[i].kind == T_WORD || t[i].kind == T_IDENT ||
			   t[i].kind == T_STRING || t[i].kind == T_NUMBER) {
			snprintf(part, sizeof part, "%s", t[i].text);
		} else {
			return pgstmt_fail(e, "42601", "syntax error at or near \"%s\"", t[i].text);
		}
		int w = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", part);
		if (w < 0 || (size_t)w >= outlen - used)
			return pgstmt_fail(e, "22023", PGSTMT_ENDPOINT ": value longer than %zu bytes", outlen - 1);
		used += (size_t)w;
		if (i + 1 < n) {
			if (!is_punct(&t[i + 1], ','))
				return pgstmt_fail(e, "42601", "syntax error at or near \"%s\"", t[i + 1].text);
			i++;
			if (i + 1 == n)
				return pgstmt_fail(e, "42601", "syntax error at end of input");
		}
	}
	return 0;
}

/* Parse the tokens of one statement. 0, or -1 with e set. */
static int parse_statement(const struct token *t, size_t n, struct pgstmt *st,
			   struct pgstmt_error *e)
{
	memset(st, 0, sizeof *st);
	if (n == 0) {
		st->kind = PGSTMT_EMPTY;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i].kind == T_PARAM)
			return pgstmt_fail(e, "0A000", PGSTMT_ENDPOINT ": statement parameters are not supported");
	if (is_word(&t[0], "listen") || is_word(&t[0], "unlisten")) {
		bool listen = is_word(&t[0], "listen");
		if (!listen && n == 2 && is_punct(&t[1], '*')) {
			st->kind = PGSTMT_UNLISTEN_ALL;
			return 0;
		}
		if (n != 2 || !is_name(&t[1]))
			return pgstmt_fail(e, "42601", "syntax error: want %s <channel>%s",
					listen ? "LISTEN" : "UNLISTEN", listen ? "" : " or UNLISTEN *");
		st->kind = listen ? PGSTMT_LISTEN : PGSTMT_UNLISTEN;
		copy_name(st->name, t[1].text);
		return 0;
	}
	if (is_word(&t[0], "set") || is_word(&t[0], "reset")) {
		size_t i = 1;
		if (is_word(&t[0], "reset")) {
			if (n != 2 || !is_name(&t[1]) || is_word(&t[1], "all"))
				return pgstmt_fail(e, "0A000", PGSTMT_UNSUPPORTED);
			st->kind = PGSTMT_RESET_PARAM;
			st->reset_keyword = true;
			copy_name(st->name, t[1].text);
			pgstmt_lower(st->name);
			return 0;
		}
		if (i < n && (is_word(&t[i], "session") || is_word(&t[i], "local")) &&
		    i + 1 < n && !is_word(&t[i + 1], "to") && !is_punct(&t[i + 1], '='))
			i++;
		if (i + 1 < n && is_word(&t[i], "time") && is_word(&t[i + 1], "zone")) {
			snprintf(st->name, sizeof st->name, "timezone");
			i += 2;
		} else if (i < n && is_name(&t[i]) && !is_word(&t[i], "characteristics") &&
			   !is_word(&t[i], "transaction")) {
			copy_name(st->name, t[i++].text);
			/* A dotted custom parameter: a.b */
			if (i + 1 < n && is_punct(&t[i], '.') && is_name(&t[i + 1])) {
				char first[PGSTMT_MAX_IDENT + 1];
				copy_name(first, st->name);
				if (dotted_name(st->name, first, t[i + 1].text) != 0)
					return pgstmt_fail(e, "42622", PGSTMT_ENDPOINT ": parameter name too long");
				i += 2;
			}
			if (i >= n || !(is_word(&t[i], "to") || is_punct(&t[i], '=')))
				return pgstmt_fail(e, "42601", "syntax error: want SET <name> TO <value>");
			i++;
		} else {
			return pgstmt_fail(e, "0A000", PGSTMT_UNSUPPORTED);
		}
		pgstmt_lower(st->name);
		if (i >= n)
			return pgstmt_fail(e, "42601", "syntax error at end of input");
		if (n - i == 1 && is_word(&t[i], "default")) {
			st->kind = PGSTMT_RESET_PARAM;
			return 0;
		}
		if (strcmp(st->name, "timezone") == 0 && n - i == 1 && is_word(&t[i], "local")) {
			st->kind = PGSTMT_RESET_PARAM;
			return 0;
		}
		st->kind = PGSTMT_SET;
		return set_value(t + i, n - i, st->value, sizeof st->value, e);
	}
	if (is_word(&t[0], "show")) {
		if (n == 3 && is_word(&t[1], "time") && is_word(&t[2], "zone")) {
			snprintf(st->name, sizeof st->name, "timezone");
		} else if (n == 2 && is_name(&t[1]) && !is_word(&t[1], "all")) {
			copy_name(st->name, t[1].text);
		} else if (n == 4 && is_name(&t[1]) && is_punct(&t[2], '.') && is_name(&t[3]) &&
			   dotted_name(st->name, t[1].text, t[3].text) == 0) {
		} else {
			return pgstmt_fail(e, "0A000", PGSTMT_UNSUPPORTED);
		}
		pgstmt_lower(st->name);
		st->kind = PGSTMT_SHOW;
		return 0;
	}
	if (n == 2 && is_word(&t[0], "select") && t[1].kind == T_NUMBER &&
	    strcmp(t[1].text, "1") == 0) {
		st->kind = PGSTMT_SELECT1;
		return 0;
	}
	/* Transaction modes after BEGIN / START TRANSACTION change nothing here. */
	if (is_word(&t[0], "begin") ||
	    (n >= 2 && is_word(&t[0], "start") && is_word(&t[1], "transaction"))) {
		st->kind = PGSTMT_BEGIN;
		return 0;
	}
	if (is_word(&t[0], "commit") || is_word(&t[0], "end") ||
	    is_word(&t[0], "rollback") || is_word(&t[0], "abort")) {
		if (n > 2 || (n == 2 && !is_word(&t[1], "work") && !is_word(&t[1], "transaction")))
			return pgstmt_fail(e, "0A000", PGSTMT_UNSUPPORTED);
		st->kind = is_word(&t[0], "commit") || is_word(&t[0], "end") ? PGSTMT_COMMIT : PGSTMT_ROLLBACK;
		return 0;
	}
	return pgstmt_fail(e, "0A000", PGSTMT_UNSUPPORTED);
}

int pgstmt_parse(const char *q, size_t len, struct pgstmt *out, size_t max,
		       const char *too_many, struct pgstmt_error *e)
{
	const char *p = q, *end = q + len;
	size_t count = 0;
	if (memchr(q, '\0', len))
		return pgstmt_fail(e, "08P01", "query string holds a NUL byte");
	while (p < end) {
		struct token toks[MAX_TOKENS];
		size_t n = 0;
		int r;
		struct token t;
		while ((r = next_token(&p, end, &t, e)) == 1) {
			if (n >= MAX_TOKENS)
				return pgstmt_fail(e, "0A000", PGSTMT_UNSUPPORTED);
			toks[n++] = t;
		}
		if (r < 0)
			return -1;
		if (n == 0)
			continue;
		if (count >= max)
			return pgstmt_fail(e, "42601", "%s", too_many);
		if (parse_statement(toks, n, &out[count], e) != 0)
			return -1;
		count++;
	}
	if (count == 0) {
		memset(&out[0], 0, sizeof out[0]);
		out[0].kind = PGSTMT_EMPTY;
		count = 1;
	}
	return (int)count;
}
