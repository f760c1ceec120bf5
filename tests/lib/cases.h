/*
 * cases.h: the one case-file reader of the Check tests, in five syntaxes.
 *
 * Core cases (check_version, check_hlc, check_spec, check_errclass; files
 * in tests/unit/cases/, read with cases_load): one case per line, fields
 * separated by '|'. Fields are taken as written (no trimming); inside a
 * field \| is a '|', \\ a backslash, \t a tab, \n a newline, \xHH a byte,
 * and a field that is exactly \N stands for NULL.
 *
 * Data cases (check_types, check_event; files in tests/unit/cases-data/,
 * read with cases_load_data): fields separated by " | " and taken as
 * written, with no escapes, since they hold JSON and hex with backslashes
 * of their own; no field is NULL.
 *
 * Tab cases (CASES_TAB): fields separated by one tab each, as written.
 * Word cases (CASES_WORDS): fields separated by runs of spaces and tabs.
 * Line cases (CASES_LINE): the whole line is the one field, as written,
 * for lines with a syntax of their own (a JSON text, say).
 *
 * In all, blank lines and lines starting with '#' are skipped, a line is
 * at most 8 KiB, and a file without a single case is an error.
 */
#ifndef TESTS_LIB_CASES_H
#define TESTS_LIB_CASES_H

#include <stdbool.h>
#include <stddef.h>

#define CASE_MAX_FIELDS 40

struct case_line {
	const char *file;  /* base name, for failure messages */
	int lineno;
	int nfields;
	char *field[CASE_MAX_FIELDS]; /* NULL for \N */
	char *buf;         /* owns the field texts */
};

struct case_file {
	struct case_line *lines;
	size_t count;
	char *path;        /* owns the name the lines point to */
};

enum case_syntax { CASES_CORE, CASES_DATA, CASES_TAB, CASES_WORDS, CASES_LINE };

/* Load $top_srcdir/<relpath> in that syntax. Exits the test program with a
 * message naming the file and line on any error: a missing or empty case
 * file is a failed test. */
void cases_load_file(const char *relpath, enum case_syntax syntax,
		     struct case_file *out);

/* Core cases: $top_srcdir/tests/unit/cases/<name>. */
void cases_load(const char *name, struct case_file *out);

/* The same for $top_srcdir/tests/unit/cases-data/<name>. */
void cases_load_data(const char *name, struct case_file *out);
void cases_free(struct case_file *cf);

/* "file:line" for messages (static buffer). */
const char *case_where(const struct case_line *c);

#endif /* TESTS_LIB_CASES_H */
