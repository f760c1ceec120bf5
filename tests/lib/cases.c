/*
 * cases.c: reads the Check tests' case files, in the syntaxes described in
 * cases.h.
 */
#include "config.h"

#include "cases.h"

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

/* What tells the syntaxes apart. */
struct syntax_rule {
	const char *separator; /* between fields; NULL: runs of blanks */
	bool escapes;          /* \| \\ \t \n \xHH \N are decoded */
	bool whole;            /* the line is one field */
};

static const struct syntax_rule rules[] = {
	[CASES_CORE] = { "|", true },
	[CASES_DATA] = { " | ", false },
	[CASES_TAB] = { "\t", false },
	[CASES_WORDS] = { NULL, false },
	[CASES_LINE] = { NULL, false, true },
};

/* Split one line (modified in place) on runs of spaces and tabs. */
static void split_words(char *line, struct case_line *c, const char *name)
{
	char *save = NULL;

	c->nfields = 0;
	for (char *t = strtok_r(line, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (c->nfields == CASE_MAX_FIELDS)
			die("too many fields", name, c->lineno);
		c->field[c->nfields++] = t;
	}
}

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

void cases_load_file(const char *relpath, enum case_syntax syntax,
		     struct case_file *out)
{
	const struct syntax_rule *rule = &rules[syntax];
	const char *top = getenv("top_srcdir");
	const char *name;
	char path[4096];
	char buf[8192];
	int lineno = 0;
	size_t cap = 0;

	if (!top || !*top)
		top = ".";
	if ((size_t)snprintf(path, sizeof path, "%s/%s", top, relpath) >= sizeof path)
		die("path too long", relpath, 0);
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(1);
	}
	out->path = strdup(relpath);
	if (!out->path)
		die("out of memory", relpath, 0);
	name = strrchr(out->path, '/') ? strrchr(out->path, '/') + 1 : out->path;
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
		if (rule->whole) {
			c->field[0] = copy;
			c->nfields = 1;
		} else if (rule->escapes)
			split_line(copy, c, name);
		else if (rule->separator)
			split_plain(copy, c, name, rule->separator);
		else
			split_words(copy, c, name);
	}
	if (ferror(f))
		die("read error", name, lineno);
	fclose(f);
	if (out->count == 0)
		die("no cases", name, lineno);
}

/* A path below top_srcdir, for the two directories of the unit tests. */
static void load_under(const char *dir, const char *name,
		       enum case_syntax syntax, struct case_file *out)
{
	char relpath[1024];

	if ((size_t)snprintf(relpath, sizeof relpath, "%s/%s", dir, name) >= sizeof relpath)
		die("path too long", name, 0);
	cases_load_file(relpath, syntax, out);
}

void cases_load(const char *name, struct case_file *out)
{
	load_under("tests/unit/cases", name, CASES_CORE, out);
}

void cases_load_data(const char *name, struct case_file *out)
{
	load_under("tests/unit/cases-data", name, CASES_DATA, out);
}

void cases_free(struct case_file *cf)
{
	for (size_t i = 0; i < cf->count; i++)
		free(cf->lines[i].buf);
	free(cf->lines);
	free(cf->path);
	cf->lines = NULL;
	cf->path = NULL;
	cf->count = 0;
}

const char *case_where(const struct case_line *c)
{
	static char where[256];
	snprintf(where, sizeof where, "%s:%d", c->file, c->lineno);
	return where;
}
