/*
 * fuzz_config.c: libFuzzer target for crdbfeedd's config parser
 * (daemon/conf_*.c). The input is the file: it goes into a memfd that
 * config_load reads through /proc/self/fd. A config that loads is then
 * used the way the daemon uses one: each feed's changefeed spec built and
 * its DSN masked, each feed and sink compared with itself. Problems must
 * come with a "file:line: " or "file: " prefix; leaks are found by ASan.
 */
#include <config.h>

#include "daemon/conf.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int input_fd = -1;
static char input_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	input_fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (input_fd < 0) {
		perror("fuzz_config: memfd_create");
		abort();
	}
	snprintf(input_path, sizeof(input_path), "/proc/self/fd/%d", input_fd);
	/* Let credential:NAME, credential = NAME and ${VAR} resolve, so the
	 * fuzzer gets past them to what follows. */
	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/fuzz", 1);
	setenv("FUZZ", "postgresql://u:pw@h/db", 1);
	return 0;
}

static void check_prefixes(const struct config_diag *diag)
{
	size_t plen = strlen(input_path);
	for (size_t i = 0; i < diag->nlines; i++) {
		const char *line = diag->lines[i];
		if (strncmp(line, input_path, plen) != 0 || line[plen] != ':')
			abort();
	}
}

static void use_config(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		const struct feed_config *f = &cfg->feeds[i];
		if (!config_feed_equal(f, f) || config_feed(cfg, f->name) != f)
			abort();
		crdb_error err;
		crdb_feed_spec *spec = config_feed_spec(f, &err);
		/* config_load built it once already: it must build again. */
		if (!spec)
			abort();
		char *stmt = crdb_feed_spec_build(spec, true, NULL, &err);
		if (!stmt)
			abort();
		crdb_free(stmt);
		crdb_feed_spec_free(spec);
		char *masked = config_dsn_mask(f->dsn);
		free(masked);
	}
	for (size_t i = 0; i < cfg->nsinks; i++) {
		const struct sink_config *s = &cfg->sinks[i];
		if (!config_sink_equal(s, s) || config_sink(cfg, s->name) != s ||
		    !config_feed(cfg, s->feed))
			abort();
	}
	if (!config_control_equal(cfg, cfg) || !config_metrics_equal(cfg, cfg))
		abort();
	if (cfg->metrics_listen &&
	    config_parse_listen(cfg->metrics_listen, NULL, 0, NULL) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(input_fd, 0) != 0 ||
	    (size > 0 && pwrite(input_fd, data, size, 0) != (ssize_t)size))
		abort();
	struct config_diag diag = { 0 };
	struct config *cfg = config_load(input_path, &diag);
	check_prefixes(&diag);
	/* A config loads exactly when there was no problem. */
	if ((cfg != NULL) != (diag.nlines == 0))
		abort();
	if (cfg)
		use_config(cfg);
	config_free(cfg);
	config_diag_free(&diag);
	return 0;
}
