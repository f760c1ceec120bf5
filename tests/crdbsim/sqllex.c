/*
 * sqllex.c: the SQL lexing that crdbsim's statement classification and
 * rewrites share (see sqllex.h).
 */
#include "config.h"

#include "sqllex.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lexing ---- */

bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' ||
	       (unsigned char)c >= 0x80;
}

bool ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Skip whitespace and comments. */
const char *skip_space(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			int depth = 0;
			do {
				if (p[0] == '/' && p[1] == '*') {
					depth++;
					p += 2;
				} else if (p[0] == '*' && p[1] == '/') {
					depth--;
					p += 2;
				} else if (*p) {
					p++;
				} else {
					break;
				}
			} while (depth > 0);
		} else {
			return p;
		}
	}
}

/*
 * If p starts a quoted region or comment, return its end (just past it);
 * otherwise NULL. prev is the character before p (for E'' strings).
 */
const char *skip_quoted(const char *start, const char *p)
{
	if (*p == '\'') {
		bool backslash = p > start && (p[-1] == 'E' || p[-1] == 'e') &&
				 (p - 1 == start || !ident_char(p[-2]));
		p++;
		while (*p) {
			if (backslash && *p == '\\' && p[1]) {
				p += 2;
			} else if (*p == '\'') {
				if (p[1] == '\'')
					p += 2;
				else
					return p + 1;
			} else {
				p++;
			}
		}
		return p;
	}
	if (*p == '"') {
		p++;
		while (*p) {
			if (*p == '"') {
				if (p[1] == '"')
					p += 2;
				else
					return p + 1;
			} else {
				p++;
			}
		}
		return p;
	}
	if (*p == '$' && (p == start || !ident_char(p[-1]))) {
		/* $tag$ ... $tag$ (tag may be empty); $1 is a parameter. */
		const char *q = p + 1;
		while (*q && (isalnum((unsigned char)*q) || *q == '_'))
			q++;
		if (*q != '$' || isdigit((unsigned char)p[1]))
			return NULL;
		size_t taglen = (size_t)(q - p) + 1;
		const char *body = q + 1;
		for (const char *e = body; *e; e++)
			if (*e == '$' && strncmp(e, p, taglen) == 0)
				return e + taglen;
		return body + strlen(body);
	}
	if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*'))
		return skip_space(p);
	return NULL;
}

/* Case-insensitive keyword at p (after spaces): the end of it, or NULL. */
const char *kw(const char *p, const char *word)
{
	p = skip_space(p);
	size_t n = strlen(word);
	if (strncasecmp(p, word, n) != 0 || ident_char(p[n]))
		return NULL;
	return p + n;
}

const char *punct(const char *p, char c)
{
	p = skip_space(p);
	return *p == c ? p + 1 : NULL;
}

/* An identifier (plain, lower-cased, or "quoted") into out. */
const char *ident(const char *p, char *out, size_t outlen)
{
	p = skip_space(p);
	size_t n = 0;
	if (*p == '"') {
		p++;
		while (*p && !(*p == '"' && p[1] != '"')) {
			if (*p == '"')
				p++;
			if (n + 1 < outlen)
				out[n++] = *p;
			p++;
		}
		if (*p != '"')
			return NULL;
		p++;
	} else {
		if (!ident_start(*p))
			return NULL;
		while (ident_char(*p)) {
			if (n + 1 < outlen)
				out[n++] = (char)tolower((unsigned char)*p);
			p++;
		}
	}
	out[n] = '\0';
	return p;
}

/* A dotted name such as kv.rangefeed.enabled, lower-cased. */
const char *dotted_name(const char *p, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (;;) {
		char part[128];
		p = ident(p, part, sizeof part);
		if (!p)
			return NULL;
		int w = snprintf(out + used, outlen - used, "%s%s",
				 used ? "." : "", part);
		if (w < 0 || (size_t)w >= outlen - used)
			return NULL;
		used += (size_t)w;
		const char *q = skip_space(p);
		if (*q != '.')
			return p;
		p = q + 1;
	}
}

bool at_end(const char *p)
{
	p = skip_space(p);
	while (*p == ';')
		p = skip_space(p + 1);
	return *p == '\0';
}

/* The rest of the statement after p, trimmed of spaces and ';'. */
char *rest(const char *p)
{
	p = skip_space(p);
	size_t n = strlen(p);
	while (n > 0 && (isspace((unsigned char)p[n - 1]) || p[n - 1] == ';'))
		n--;
	return strndup(p, n);
}

