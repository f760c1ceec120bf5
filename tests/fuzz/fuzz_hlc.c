/*
 * fuzz_hlc.c: libFuzzer target for the HLC and cursor parsers, the version
 * parser and the option validator: whatever parses must format back to a
 * form that parses to the same value.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	free(text);
	return 0;
}
