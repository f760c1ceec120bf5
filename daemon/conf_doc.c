/*
 * conf_doc.c: the key table as text: `crdbfeedd --help`, the example
 * config (conf/crdbfeedd.conf is this output, checked by
 * check-config-docs.sh), the facts the docs check compares with
 * crdbfeedd.conf(5), and the dump of the values in force.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf_internal.h"

#include <stdlib.h>
#include <string.h>

/* "duration; default: 10s; reload: feed": one key's facts, as --help,
 * the man page and the example config show them. */
static void describe_key(size_t idx, char *buf, size_t size)
{
	const struct cfg_key *k = &cfg_keys[idx];
	char values[128] = "";
	if (k->type == CFG_ENUM)
		snprintf(values, sizeof(values), " (%s)", k->enum_values);
	const char *def = k->default_value;
	if (!def[0])
		def = conf_inherited_index(idx) >= 0 ? "from [crdbfeedd]" : "unset";
	snprintf(buf, size, "%s%s; default: %s; reload: %s", config_type_name(k->type),
		 values, def, config_reload_name(k->reload));
}

void config_print_help(FILE *out)
{
	enum cfg_section last = (enum cfg_section)-1;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section != last) {
			last = k->section;
			fprintf(out, "%s[%s%s]\n", i ? "\n" : "",
				config_section_name(k->section),
				k->section == CFG_SECTION_GLOBAL ? "" : " NAME");
		}
		char desc[256];
		describe_key(i, desc, sizeof(desc));
		fprintf(out, "  %-22s %s\n      %s\n", k->name, desc, k->help);
	}
}

/* What the example config sets rather than leaving at the default: the
 * control socket where crdbfeedctl looks by default (in the service's
 * RuntimeDirectory). */
static const struct {
	enum cfg_section section;
	const char *name;
	const char *value;
} example_values[] = {
	{ CFG_SECTION_GLOBAL, "control_socket", "/run/crdbfeedd/control.sock" },
};

static const char *example_value(const struct cfg_key *k)
{
	for (size_t i = 0; i < sizeof(example_values) / sizeof(example_values[0]); i++)
		if (example_values[i].section == k->section &&
		    strcmp(example_values[i].name, k->name) == 0)
			return example_values[i].value;
	return NULL;
}

void config_print_example(FILE *out)
{
	fputs("; crdbfeedd.conf: every key, commented out at its default, but\n"
	      "; control_socket, set where crdbfeedctl looks for it.\n"
	      "; Generated from crdbfeedd's key table; see crdbfeedd.conf(5).\n"
	      "; An empty value means the default. Reload (SIGHUP): 'live' keys\n"
	      "; apply at once, 'feed' keys restart that feed or sink from its\n"
	      "; checkpoint, 'restart' keys need a daemon restart.\n", out);
	enum cfg_section last = (enum cfg_section)-1;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section != last) {
			last = k->section;
			if (k->section == CFG_SECTION_GLOBAL)
				fputs("\n[crdbfeedd]\n", out);
			else
				fprintf(out, "\n; One section per %s:\n;[%s NAME]\n",
					config_section_name(k->section),
					config_section_name(k->section));
		}
		char desc[256];
		describe_key(i, desc, sizeof(desc));
		const char *set = example_value(k);
		if (set)
			fprintf(out, "\n; %s\n; %s\n%s = %s\n", k->help, desc,
				k->name, set);
		else
			fprintf(out, "\n; %s\n; %s\n;%s =%s%s\n", k->help, desc,
				k->name, k->default_value[0] ? " " : "",
				k->default_value);
	}
}

void config_print_keys(FILE *out)
{
	for (size_t i = 0; i < cfg_nkeys; i++) {
		char desc[256];
		describe_key(i, desc, sizeof(desc));
		fprintf(out, "%s\t%s\t%s\n", config_section_name(cfg_keys[i].section),
			cfg_keys[i].name, desc);
	}
}

/* Options that a CFG_F_OPTION key without a field put in the list. */
static void option_format(const struct cfg_key *k, const struct feed_config *f,
			  char *buf, size_t size)
{
	const struct feed_option *o = NULL;
	for (size_t i = 0; i < f->noptions; i++)
		if (strcmp(f->options[i].name, k->name) == 0)
			o = &f->options[i];
	if (k->type == CFG_BOOL)
		snprintf(buf, size, "%s", o ? "yes" : "no");
	else
		snprintf(buf, size, "%s", o && o->value ? o->value : "");
}

/* sink: NULL but for sinks, which lack the keys of the other types. */
static void dump_section(enum cfg_section section, const char *prefix,
			 const void *base, const struct feed_config *feed,
			 const struct sink_config *sink, FILE *out)
{
	char value[1024];
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section != section ||
		    (sink && !config_sink_key_applies(k, sink->type)))
			continue;
		if (k->type == CFG_DSN && k->field != CFG_NO_FIELD) {
			/* Never a password in the output. */
			const char *dsn = *(char *const *)conf_field_const(k, base);
			char *masked = dsn ? config_dsn_mask(dsn) : NULL;
			snprintf(value, sizeof(value), "%s", masked ? masked : "");
			free(masked);
		} else if (k->field != CFG_NO_FIELD)
			conf_field_format(k, base, value, sizeof(value));
		else if (feed && (k->flags & CFG_F_OPTION))
			option_format(k, feed, value, sizeof(value));
		else
			continue;
		fprintf(out, "%s%s = %s\n", prefix, k->name, value);
	}
}

void config_dump(const struct config *cfg, FILE *out)
{
	char prefix[160];
	dump_section(CFG_SECTION_GLOBAL, "crdbfeedd.", cfg, NULL, NULL, out);
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		const struct feed_config *f = &cfg->feeds[i];
		snprintf(prefix, sizeof(prefix), "feed.%s.", f->name);
		dump_section(CFG_SECTION_FEED, prefix, f, f, NULL, out);
	}
	for (size_t i = 0; i < cfg->nsinks; i++) {
		const struct sink_config *s = &cfg->sinks[i];
		snprintf(prefix, sizeof(prefix), "sink.%s.", s->name);
		dump_section(CFG_SECTION_SINK, prefix, s, NULL, s, out);
	}
}
