/*
 * config_text.c: a test configuration from a string (config_text.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "config_text.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

struct config *config_text(const char *dir, const char *text)
{
	char path[256], body[4096];
	struct config_diag diag = { 0 };
	struct config *cfg;
	size_t n = 0, dir_len = strlen(dir);
	FILE *f;

	for (const char *p = text; *p; p++) {
		const char *piece = *p == '@' ? dir : p;
		size_t piece_len = *p == '@' ? dir_len : 1;

		ck_assert_msg(n + piece_len < sizeof(body),
			      "the test configuration is longer than %zu bytes",
			      sizeof(body) - 1);
		memcpy(body + n, piece, piece_len);
		n += piece_len;
	}
	body[n] = '\0';
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/crdbfeedd.conf", dir),
			 (int)sizeof(path));
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(body, f);
	ck_assert_int_eq(fclose(f), 0);
	cfg = config_load(path, &diag);
	if (!cfg)
		config_diag_print(&diag, stderr);
	config_diag_free(&diag);
	ck_assert_msg(cfg != NULL, "the test configuration did not load");
	return cfg;
}
