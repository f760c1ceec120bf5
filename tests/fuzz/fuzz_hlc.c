/*
 * fuzz_hlc.c: libFuzzer target for the HLC and cursor parsers, the version
 * parser and the option validator: whatever parses must format back to a
 * form that parses to the same value. The whole input is also tried as one
 * option "name=value", and, split into lines, as a spec: the first line a
 * table (or a query when it starts with SELECT), each further line an
 * option, so that the cross-option rules of crdb_feed_spec_build run.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[CRDB_HLC_BUFSIZE];
	crdb_hlc hlc, again;
	crdb_error err;
	char *text;
	int version;

	if (crdb_hlc_parse((const char *)data, size, &hlc, &err) == 0) {
		size_t n = crdb_hlc_format(hlc, buf);

		if (crdb_hlc_parse(buf, n, &again, &err) != 0 ||
		    crdb_hlc_compare(hlc, again) != 0)
			abort();
	}
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)crdb_hlc_from_rfc3339(text, &hlc, &err);
	(void)crdb_parse_version(text, &version, &err);
	{
		crdb_feed_spec *spec = crdb_feed_spec_new(&err);
		char *eq = strchr(text, '=');

		if (spec) {
			if (eq)
				*eq = '\0';
			(void)crdb_feed_spec_set_option(spec, text, eq ? eq + 1 : NULL, &err);
			(void)crdb_feed_spec_add_table(spec, eq ? eq + 1 : text, NULL, &err);
			char *sql = crdb_feed_spec_build(spec, true, NULL, &err);
			crdb_free(sql);
			crdb_feed_spec_free(spec);
		}
	}
	{
		/* Lines: target, then options. */
		crdb_feed_spec *spec = crdb_feed_spec_new(&err);
		char *line = text, *next;
		int nline = 0;

		memcpy(text, data, size); /* undo the cut at '=' above */
		text[size] = '\0';
		for (; spec && line; line = next, nline++) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (nline == 0) {
				if (strncasecmp(line, "select", 6) == 0)
					(void)crdb_feed_spec_set_query(spec, line, &err);
				else
					(void)crdb_feed_spec_add_table(spec, line, NULL, &err);
				continue;
			}
			char *eq = strchr(line, '=');
			if (eq)
				*eq = '\0';
			(void)crdb_feed_spec_set_option(spec, line, eq ? eq + 1 : NULL, &err);
		}
		if (spec) {
			const char *param = NULL;
			char *sql = crdb_feed_spec_build(spec, nline % 2 == 0, &param, &err);
			crdb_free(sql);
			crdb_feed_spec_free(spec);
		}
	}
	free(text);
	return 0;
}
