/*
 * check_core_cases.h: the case-file reader shared by the libcrdb core tests
 * (check_version, check_hlc, check_spec, check_errclass).
 *
 * A case file lives in tests/unit/cases/ and holds one case per line:
 * fields separated by '|'. Blank lines and lines starting with '#' are
 * skipped. Fields are taken as written (no trimming); inside a field
 * \| is a '|', \\ a backslash, \t a tab, \n a newline, \xHH a byte, and a
 * field that is exactly \N stands for NULL.
 */
#ifndef CHECK_CORE_CASES_H
#define CHECK_CORE_CASES_H

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
};

/* Load $top_srcdir/tests/unit/cases/<name>. Exits the test program with a
 * message on any error: a missing case file is a failed test. */
void cases_load(const char *name, struct case_file *out);
void cases_free(struct case_file *cf);

/* "file:line" for messages (static buffer). */
const char *case_where(const struct case_line *c);

#endif /* CHECK_CORE_CASES_H */
