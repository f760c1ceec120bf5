/*
 * check_core_cases.c: reads the case files of the libcrdb unit tests, in
 * the two syntaxes described in check_core_cases.h.
 */
#include "config.h"

#include "check_core_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const char *name, int lineno)
{
	fprintf(stderr, "case file %s:%d: %s\n", name, lineno, what);
	exit(1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* What tells the two syntaxes apart. */
struct case_syntax {
	const char *dir;       /* below tests/unit/ */
	const char *separator; /* between fields */
	bool escapes;          /* \| \\ \t \n \xHH \N are decoded */
};

static const struct case_syntax core_syntax = { "cases", "|", true };
static const struct case_syntax data_syntax = { "cases-data", " | ", false };

/* Split one line (modified in place) on the separator, as written. */
static void split_plain(char *line, struct case_line *c, const char *name,
			const char *separator)
{
	size_t seplen = strlen(separator);
	char *p = line, *sep;

	c->nfields = 0;
	while ((sep = strstr(p, separator))) {
		if (c->nfields == CASE_MAX_FIELDS - 1)
			die("too many fields", name, c->lineno);
		*sep = '\0';
		c->field[c->nfields++] = p;
		p = sep + seplen;
	}
	c->field[c->nfields++] = p;
}

/* Split one line (modified in place) on '|' into fields, decoding
 * escapes. */
static void split_line(char *line, struct case_line *c, const char *name)
{
	char *out = line;
	char *start = line;
	bool raw_null = false;

	c->nfields = 0;
	for (char *p = line;; p++) {
		if (*p == '|' || *p == '\0') {
			bool end = *p == '\0';
			*out = '\0';
			if (c->nfields == CASE_MAX_FIELDS)
				die("too many fields", name, c->lineno);
			c->field[c->nfields++] = raw_null ? NULL : start;
			raw_null = false;
			if (end)
				return;
			out = start = p + 1;
			continue;
		}
		if (*p != '\\') {
			*out++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case '|': *out++ = '|'; break;
		case '\\': *out++ = '\\'; break;
		case 't': *out++ = '\t'; break;
		case 'n': *out++ = '\n'; break;
		case 'N':
			if (out != start || (p[1] != '|' && p[1] != '\0'))
				die("\\N must be a whole field", name, c->lineno);
			raw_null = true;
			break;
		case 'x': {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (hi < 0 || lo < 0)
				die("bad \\x escape", name, c->lineno);
			*out++ = (char)(hi * 16 + lo);
			p += 2;
			break;
		}
		default:
			die("unknown escape", name, c->lineno);
		}
	}
}

static void load(const struct case_syntax *syntax, const char *name,
		 struct case_file *out)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	char buf[8192];
	int lineno = 0;
	size_t cap = 0;

	if (!top || !*top)
		top = ".";
	if ((size_t)snprintf(path, sizeof path, "%s/tests/unit/%s/%s",
			     top, syntax->dir, name) >= sizeof path)
		die("path too long", name, 0);
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(1);
	}
	out->lines = NULL;
	out->count = 0;
	while (fgets(buf, sizeof buf, f)) {
		lineno++;
		size_t len = strlen(buf);
		if (len && buf[len - 1] != '\n' && !feof(f))
			die("line too long", name, lineno);
		if (len && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len == 0 || buf[0] == '#')
			continue;
		if (out->count == cap) {
			cap = cap ? cap * 2 : 64;
			out->lines = realloc(out->lines, cap * sizeof *out->lines);
			if (!out->lines)
				die("out of memory", name, lineno);
		}
		struct case_line *c = &out->lines[out->count++];
		memset(c, 0, sizeof *c);
		c->file = name;
		c->lineno = lineno;
		char *copy = strdup(buf);
		if (!copy)
			die("out of memory", name, lineno);
		c->buf = copy;
		if (syntax->escapes)
			split_line(copy, c, name);
		else
			split_plain(copy, c, name, syntax->separator);
	}
	if (ferror(f))
		die("read error", name, lineno);
	fclose(f);
	if (out->count == 0)
		die("no cases", name, lineno);
}

void cases_load(const char *name, struct case_file *out)
{
	load(&core_syntax, name, out);
}

void cases_load_data(const char *name, struct case_file *out)
{
	load(&data_syntax, name, out);
}

void cases_free(struct case_file *cf)
{
	for (size_t i = 0; i < cf->count; i++)
		free(cf->lines[i].buf);
	free(cf->lines);
	cf->lines = NULL;
	cf->count = 0;
}

const char *case_where(const struct case_line *c)
{
	static char where[256];
	snprintf(where, sizeof where, "%s:%d", c->file, c->lineno);
	return where;
}
