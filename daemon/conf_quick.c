/*
 * conf_quick.c: quick mode's configuration (`crdbfeedd --dsn DSN [-o
 * K[=V]]... TABLE...`). The command line becomes the raw sections a file
 * would give, [feed quick] and [sink stdout], and goes through the same
 * loader, key table and defaults as a config file.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf_internal.h"

#include <stdlib.h>
#include <string.h>

#define QUICK_FILE "(command line)"

/* Set key in sec from the command line (never ${VAR} expanded). */
static int quick_set(struct loader *ld, struct raw_section *sec,
		     const char *key, const char *value, const char *option)
{
	ssize_t idx = conf_key_index(sec->kind, key);
	if (idx >= 0 && sec->values[idx].value) {
		conf_diag(ld, 0, "--option %s: %s is already set by another option",
			  option, key);
		return -1;
	}
	if (conf_raw_set(ld, sec, key, value, strlen(value), 0) < 0)
		return -1;
	sec->values[idx].literal = true;
	return 0;
}

/* One -o K[=V] into the feed section, or into the options list. */
static int quick_option(struct loader *ld, struct raw_section *feed,
			struct conf_buf *list, const char *option)
{
	const char *eq = strchr(option, '=');
	char name[64];
	size_t nlen = eq ? (size_t)(eq - option) : strlen(option);
	const char *value = eq ? eq + 1 : NULL;
	if (nlen == 0 || nlen >= sizeof(name)) {
		conf_diag(ld, 0, "--option '%.100s': malformed option", option);
		return -1;
	}
	memcpy(name, option, nlen);
	name[nlen] = '\0';

	/* Where to start is the feed's start key; min_checkpoint_frequency
	 * follows resolved. */
	if (strcmp(name, "min_checkpoint_frequency") == 0)
		return 0;
	if (strcmp(name, "cursor") == 0) {
		if (!value || !*value) {
			conf_diag(ld, 0, "--option cursor: needs a cursor, cursor=HLC");
			return -1;
		}
		if (quick_set(ld, feed, "start", "cursor", name) < 0)
			return -1;
		return quick_set(ld, feed, "start_cursor", value, name);
	}
	if (strcmp(name, "no_initial_scan") == 0 && !value)
		return quick_set(ld, feed, "start", "now", name);
	if (strcmp(name, "initial_scan") == 0) {
		bool scan = true;
		if (value && conf_parse_bool(value, &scan) < 0) {
			conf_diag(ld, 0, "--option initial_scan: expected yes or no, not '%.100s'",
				  value);
			return -1;
		}
		return quick_set(ld, feed, "start", scan ? "initial_scan" : "now",
				 name);
	}

	/* Changefeed options that are feed keys: the key, as in a file. */
	ssize_t idx = conf_key_index(CFG_SECTION_FEED, name);
	if (idx >= 0 && (cfg_keys[idx].flags & CFG_F_OPTION)) {
		if (!value && cfg_keys[idx].type != CFG_BOOL) {
			conf_diag(ld, 0, "--option %s: needs a value, %s=VALUE",
				  name, name);
			return -1;
		}
		return quick_set(ld, feed, name, value ? value : "yes", name);
	}

	/* The others: the options list, each value quoted (a comma is no
	 * separator inside '...'; the list has no escape for a quote). */
	if (value && strchr(value, '\'')) {
		conf_diag(ld, 0, "--option %s: a value with a single quote is not supported",
			  name);
		return -1;
	}
	bool ok = (list->len == 0 || conf_buf_add(list, ", ", 2)) &&
		  conf_buf_add(list, name, nlen);
	if (ok && value)
		ok = conf_buf_add(list, "='", 2) &&
		     conf_buf_add(list, value, strlen(value)) &&
		     conf_buf_add(list, "'", 1);
	if (!ok) {
		conf_diag_oom(ld);
		return -1;
	}
	return 0;
}

struct config *config_quick(const char *dsn, char *const *tables,
			    size_t ntables, char *const *options,
			    size_t noptions, bool ordered,
			    struct config_diag *diag)
{
	struct loader ld = { QUICK_FILE, diag, NULL, false, false };
	struct raw_file rf = { 0 };
	struct conf_buf list = { 0 }, targets = { 0 };
	struct config *cfg = NULL;
	diag->lines = NULL;
	diag->nlines = 0;

	struct raw_section *feed = conf_raw_add(&ld, &rf, CFG_SECTION_FEED,
						"quick", 0);
	if (!feed || quick_set(&ld, feed, "dsn", dsn, "--dsn") < 0)
		goto out;
	for (size_t i = 0; i < ntables; i++)
		if ((i > 0 && !conf_buf_add(&targets, ", ", 2)) ||
		    !conf_buf_add(&targets, tables[i], strlen(tables[i]))) {
			conf_diag_oom(&ld);
			goto out;
		}
	if (quick_set(&ld, feed, "tables", targets.s ? targets.s : "",
		      "tables") < 0)
		goto out;
	for (size_t i = 0; i < noptions; i++)
		quick_option(&ld, feed, &list, options[i]);
	if (list.s && quick_set(&ld, feed, "options", list.s, "options") < 0)
		goto out;
	if (ordered && quick_set(&ld, feed, "delivery", "ordered", "--ordered") < 0)
		goto out;
	/* rf->sections may move: feed is not used after this. */
	struct raw_section *sink = conf_raw_add(&ld, &rf, CFG_SECTION_SINK,
						"stdout", 0);
	if (!sink || quick_set(&ld, sink, "feed", "quick", "feed") < 0 ||
	    quick_set(&ld, sink, "type", "stdout", "type") < 0)
		goto out;
	/* Bad options are reported with whatever else is wrong. */
	if (!ld.oom)
		cfg = conf_load_raw(&ld, &rf, QUICK_FILE);
out:
	free(list.s);
	free(targets.s);
	return conf_load_finish(&ld, &rf, cfg);
}
