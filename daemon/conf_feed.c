/*
 * conf_feed.c: a [feed NAME] section into a struct feed_config: the keys
 * the table stores generically, then what needs explicit code (tables or
 * query, the options list, the password source, changefeed options that
 * have keys of their own) and the rules between keys, ending with the
 * statement libcrdb builds from it; and the feed's changefeed spec.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Options that are set otherwise than by a key of their own name (those,
 * the CFG_F_OPTION rows of the table, are refused in options too). */
static const struct {
	const char *option;
	const char *use;
} reserved_options[] = {
	{ "min_checkpoint_frequency", "the resolved key (both are sent)" },
	{ "cursor", "start = cursor with start_cursor" },
	{ "initial_scan", "the start key" },
	{ "no_initial_scan", "the start key" },
	{ "initial_scan_only", "the start key" },
	{ "end_time", "nothing: a daemon's feed does not end" },
};

static int add_option(struct loader *ld, struct feed_config *f,
		      const char *name, size_t namelen, const char *value)
{
	struct feed_option *grown = realloc(f->options,
					    (f->noptions + 1) * sizeof(*grown));
	if (!grown) {
		conf_diag_oom(ld);
		return -1;
	}
	f->options = grown;
	struct feed_option *o = &f->options[f->noptions];
	o->name = conf_strndup(ld, name, namelen);
	o->value = value ? conf_strdup(ld, value) : NULL;
	if (!o->name || (value && !o->value)) {
		free(o->name);
		free(o->value);
		return -1;
	}
	f->noptions++;
	return 0;
}

static const char *option_value(const struct feed_config *f, const char *name)
{
	for (size_t i = 0; i < f->noptions; i++)
		if (strcmp(f->options[i].name, name) == 0)
			return f->options[i].value ? f->options[i].value : "";
	return NULL;
}

/* A spec to check values with libcrdb; NULL with the failure reported. */
static crdb_feed_spec *scratch_spec(struct loader *ld, crdb_error *err)
{
	crdb_error_clear(err);
	crdb_feed_spec *spec = crdb_feed_spec_new(err);
	if (!spec)
		conf_diag_oom(ld);
	return spec;
}

/* Check one option with libcrdb on a scratch spec. */
static int check_option(struct loader *ld, int line, const char *keyname,
			const char *name, const char *value)
{
	crdb_error err;
	crdb_feed_spec *spec = scratch_spec(ld, &err);
	if (!spec)
		return -1;
	int rc = crdb_feed_spec_set_option(spec, name, value, &err);
	crdb_feed_spec_free(spec);
	if (rc < 0) {
		conf_diag(ld, line, "%s: %s", keyname, err.message);
		return -1;
	}
	return 0;
}

/* options = name, name=value, name='value' */
static int feed_options(struct loader *ld, struct feed_config *f,
			const struct setting *st)
{
	if (!st->value[0])
		return 0;
	char **items;
	ssize_t n = conf_get_list(ld, st, &items);
	if (n < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < (size_t)n; i++) {
		char *item = items[i];
		char *eq = strchr(item, '=');
		size_t namelen = eq ? conf_trimmed_len(item, (size_t)(eq - item)) : strlen(item);
		char *value = NULL;
		if (eq) {
			value = (char *)conf_skip_space(eq + 1);
			size_t vlen = strlen(value);
			if (vlen >= 2 && value[0] == '\'' && value[vlen - 1] == '\'') {
				value[vlen - 1] = '\0';
				value++;
			}
		}
		char name[64];
		if (namelen == 0 || namelen >= sizeof(name)) {
			conf_diag(ld, st->line, "options: malformed option '%.100s'", item);
			rc = -1;
			continue;
		}
		memcpy(name, item, namelen);
		name[namelen] = '\0';
		bool reserved = false;
		ssize_t key = conf_key_index(CFG_SECTION_FEED, name);
		if (key >= 0 && (cfg_keys[key].flags & CFG_F_OPTION)) {
			conf_diag(ld, st->line, "options: %s is set by the %s key",
				  name, name);
			reserved = true;
		}
		for (size_t r = 0; r < sizeof(reserved_options) / sizeof(reserved_options[0]); r++)
			if (strcmp(name, reserved_options[r].option) == 0) {
				conf_diag(ld, st->line, "options: %s is set by %s",
				     name, reserved_options[r].use);
				reserved = true;
			}
		if (reserved) {
			rc = -1;
			continue;
		}
		if (strcmp(name, "format") == 0 && (!value || strcasecmp(value, "json") != 0)) {
			conf_diag(ld, st->line, "options: crdbfeedd decodes format=json only");
			rc = -1;
			continue;
		}
		if (option_value(f, name)) {
			conf_diag(ld, st->line, "options: %s given twice", name);
			rc = -1;
			continue;
		}
		if (check_option(ld, st->line, "options", name, value) < 0 ||
		    add_option(ld, f, name, namelen, value) < 0)
			rc = -1;
	}
	conf_free_list(items, (size_t)n);
	return rc;
}

/* tables = t, s.t, db.s.t, t FAMILY f, "Quoted ""T""" */
static int feed_tables(struct loader *ld, struct feed_config *f,
		       const struct setting *st)
{
	char **items;
	ssize_t n = conf_get_list(ld, st, &items);
	if (n < 0)
		return -1;
	f->tables = calloc((size_t)n, sizeof(char *));
	f->families = calloc((size_t)n, sizeof(char *));
	if (!f->tables || !f->families) {
		conf_free_list(items, (size_t)n);
		conf_diag_oom(ld);
		return -1;
	}
	f->ntables = (size_t)n;
	int rc = 0;
	for (size_t i = 0; i < (size_t)n; i++) {
		/* Split "name [FAMILY fam]" on blanks outside double quotes. */
		char shown[128];
		snprintf(shown, sizeof(shown), "%.100s", items[i]);
		char *words[4] = { 0 };
		size_t nwords = 0;
		char *p = items[i];
		while (*p && nwords < 4) {
			p = (char *)conf_skip_space(p);
			if (!*p)
				break;
			words[nwords++] = p;
			bool quoted = false;
			while (*p && (quoted || (*p != ' ' && *p != '\t'))) {
				if (*p == '"')
					quoted = !quoted;
				p++;
			}
			if (*p)
				*p++ = '\0';
		}
		p = (char *)conf_skip_space(p);
		if (*p || (nwords != 1 && nwords != 3) ||
		    (nwords == 3 && strcasecmp(words[1], "FAMILY") != 0)) {
			conf_diag(ld, st->line, "tables: expected 'table' or 'table FAMILY family', not '%s'",
			     shown);
			rc = -1;
			continue;
		}
		const char *family = nwords == 3 ? words[2] : NULL;
		crdb_error err;
		crdb_error_clear(&err);
		crdb_feed_spec *spec = crdb_feed_spec_new(&err);
		if (!spec) {
			conf_diag_oom(ld);
			rc = -1;
			break;
		}
		if (crdb_feed_spec_add_table(spec, words[0], family, &err) < 0) {
			conf_diag(ld, st->line, "tables: %s", err.message);
			rc = -1;
		}
		crdb_feed_spec_free(spec);
		for (size_t j = 0; j < i; j++)
			if (f->tables[j] && strcmp(f->tables[j], words[0]) == 0 &&
			    ((!family && !f->families[j]) ||
			     (family && f->families[j] &&
			      strcmp(family, f->families[j]) == 0))) {
				conf_diag(ld, st->line, "tables: '%s' listed twice",
				     shown);
				rc = -1;
			}
		f->tables[i] = conf_strdup(ld, words[0]);
		if (family)
			f->families[i] = conf_strdup(ld, family);
		if (!f->tables[i] || (family && !f->families[i]))
			rc = -1;
	}
	conf_free_list(items, (size_t)n);
	return rc;
}

/* password_file / credential, feed level first, then [crdbfeedd]. */
int conf_feed_password(struct loader *ld, const struct raw_file *rf,
		       const struct raw_section *sec, char **out)
{
	const struct raw_section *levels[2] = { sec, rf->global };
	for (size_t l = 0; l < 2; l++) {
		const struct raw_section *s = levels[l];
		if (!s)
			continue;
		ssize_t fi = conf_key_index(s->kind, "password_file");
		ssize_t ci = conf_key_index(s->kind, "credential");
		const struct raw_value *file = &s->values[fi];
		const struct raw_value *cred = &s->values[ci];
		bool has_file = file->value && file->value[0];
		bool has_cred = cred->value && cred->value[0];
		if (has_file && has_cred) {
			conf_diag(ld, cred->line, "credential: password_file is also set (line %d); use one of them",
			     file->line);
			return -1;
		}
		if (has_file) {
			struct setting st = { &cfg_keys[fi], file->value,
					      file->line, true, false };
			char *path = NULL;
			int rc = conf_get_absolute_path(ld, &st, &path);
			if (out)
				*out = path;
			else
				free(path);
			return rc;
		}
		if (has_cred) {
			const char *name = cred->value;
			if (strchr(name, '/') || strcmp(name, ".") == 0 ||
			    strcmp(name, "..") == 0) {
				conf_diag(ld, cred->line, "credential: must be a file name, not a path %s",
				     CFG_NOT_SHOWN);
				return -1;
			}
			const char *dir = getenv("CREDENTIALS_DIRECTORY");
			if (!dir || !dir[0]) {
				conf_diag(ld, cred->line, "credential: CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the systemd unit, or password_file)");
				return -1;
			}
			if (!out)
				return 0;
			size_t len = strlen(dir) + 1 + strlen(name) + 1;
			*out = malloc(len);
			if (!*out) {
				conf_diag_oom(ld);
				return -1;
			}
			snprintf(*out, len, "%s/%s", dir, name);
			return 0;
		}
	}
	return 0;
}


/* A CFG_F_OPTION key without a field: its value goes into the options. */
static int option_key(struct loader *ld, struct feed_config *f,
		      const struct setting *st)
{
	const struct cfg_key *k = st->key;
	if (k->type == CFG_BOOL) {
		bool on;
		if (conf_parse_bool(st->value[0] ? st->value : "no", &on) < 0) {
			conf_diag(ld, st->line, "%s: expected yes or no, not '%.100s'",
				  k->name, st->value);
			return -1;
		}
		return on ? add_option(ld, f, k->name, strlen(k->name), NULL) : 0;
	}
	int e;
	if (conf_get_enum(ld, st, &e) < 0)
		return -1;
	if (e < 0)
		return 0;
	char value[64];
	conf_enum_name(k->enum_values, e, value, sizeof(value));
	if (check_option(ld, st->line, k->name, k->name, value) < 0)
		return -1;
	return add_option(ld, f, k->name, strlen(k->name), value);
}

/*
 * Ordered delivery sorts and dedupes rows by their commit timestamp, so the
 * rows must carry it (updated) and a row (key_only has none); resolved
 * timestamps release them, so their interval sets the latency: 1 s unless
 * the file says otherwise (crdbfeedd(8), DELIVERY GUARANTEES).
 */
static int ordered_rules(struct loader *ld, const struct raw_file *rf,
			 const struct raw_section *sec, struct feed_config *f)
{
	struct setting updated = conf_setting(rf, sec, "updated");
	bool on = true;

	if (updated.explicit && conf_parse_bool(updated.value, &on) == 0 && !on) {
		conf_diag(ld, updated.line, "updated: delivery = ordered needs the commit timestamp (updated = yes)");
		return -1;
	}
	if (f->envelope == CRDB_ENVELOPE_KEY_ONLY) {
		conf_diag(ld, conf_setting(rf, sec, "envelope").line,
			  "envelope: delivery = ordered needs the row's updated timestamp, which key_only does not carry");
		return -1;
	}
	if (!updated.explicit && add_option(ld, f, "updated", strlen("updated"), NULL) < 0)
		return -1;
	if (!conf_setting(rf, sec, "resolved").explicit)
		f->resolved_ms = ORDERED_RESOLVED_DEFAULT_MS;
	return 0;
}

/*
 * kind = notify: the rows are notifications (conf/notify.sql), released in
 * commit order so that a transaction's notifications arrive together, in
 * the order they were sent; its rows must keep the shape channel.c reads
 * ("after" with channel and payload, and updated). Run before the tables
 * are read: an unset tables becomes the notify table.
 */
static int notify_rules(struct loader *ld, const struct raw_file *rf,
			const struct raw_section *sec, struct feed_config *f)
{
	struct setting delivery = conf_setting(rf, sec, "delivery");
	struct setting envelope = conf_setting(rf, sec, "envelope");
	struct setting diff = conf_setting(rf, sec, "diff");
	struct setting query = conf_setting(rf, sec, "query");
	int rc = 0;

	if (delivery.explicit && f->delivery != FEED_DELIVERY_ORDERED) {
		conf_diag(ld, delivery.line, "delivery: kind = notify is always delivered ordered (a transaction's notifications together, in commit order)");
		rc = -1;
	}
	f->delivery = FEED_DELIVERY_ORDERED;
	if (query.explicit) {
		conf_diag(ld, query.line, "query: kind = notify reads a notify table (tables), not a query");
		rc = -1;
	}
	/* key_only: ordered_rules names it. */
	if (envelope.explicit && f->envelope != CRDB_ENVELOPE_WRAPPED &&
	    f->envelope != CRDB_ENVELOPE_KEY_ONLY) {
		conf_diag(ld, envelope.line, "envelope: kind = notify reads the wrapped envelope's \"after\"");
		rc = -1;
	}
	if (f->diff) {
		conf_diag(ld, diff.line, "diff: kind = notify has no use for the row before the change");
		rc = -1;
	}
	return rc;
}

/* A numeric HOST:PORT or [V6]:PORT (host_ok: any host name). */
static bool address_ok(const char *value, bool any_host)
{
	const char *colon = strrchr(value, ':');
	if (!colon || colon == value || !colon[1])
		return false;
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (*end || errno || port < 1 || port > 65535)
		return false;
	char host[256];
	size_t hlen = (size_t)(colon - value);
	if (hlen >= sizeof(host))
		return false;
	memcpy(host, value, hlen);
	host[hlen] = '\0';
	if (host[0] == '[') {
		if (hlen < 3 || host[hlen - 1] != ']')
			return false;
		host[hlen - 1] = '\0';
		struct in6_addr a6;
		return inet_pton(AF_INET6, host + 1, &a6) == 1;
	}
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return true;
	if (!any_host)
		return false;
	for (const char *c = host; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			return false;
	return true;
}

/*
 * source = job: a changefeed job posts to the feed's HTTPS endpoint; its
 * rows are held durably and released in commit order (the endpoint
 * acknowledges a batch only once it is on disk), so delivery is ordered.
 * The endpoint needs its address, certificate, key and token; the job's
 * client certificate comes with ingest_client_ca, and only then.
 */
static int job_rules(struct loader *ld, const struct raw_file *rf,
		     const struct raw_section *sec, struct feed_config *f)
{
	struct setting delivery = conf_setting(rf, sec, "delivery");
	struct setting query = conf_setting(rf, sec, "query");
	int rc = 0;

	if (delivery.explicit && f->delivery != FEED_DELIVERY_ORDERED) {
		conf_diag(ld, delivery.line, "delivery: source = job is always delivered ordered (the endpoint answers a batch once it is held on disk, before subscribers see it)");
		rc = -1;
	}
	f->delivery = FEED_DELIVERY_ORDERED;
	if (query.explicit) {
		conf_diag(ld, query.line, "query: source = job takes tables (a CDC query's rows carry no key and topic for the webhook sink)");
		rc = -1;
	}
	if (f->kind == FEED_KIND_NOTIFY) {
		conf_diag(ld, conf_setting(rf, sec, "kind").line, "kind: notify feeds run sinkless (source = sinkless)");
		rc = -1;
	}
	struct setting envelope = conf_setting(rf, sec, "envelope");
	if (envelope.explicit && f->envelope != CRDB_ENVELOPE_WRAPPED) {
		conf_diag(ld, envelope.line, "envelope: source = job uses the wrapped envelope (the webhook sink puts key and topic in it)");
		rc = -1;
	}
	f->envelope = CRDB_ENVELOPE_WRAPPED;
	static const char *const required[] = {
		"ingest_listen", "ingest_tls_cert", "ingest_tls_key", "ingest_auth_file"
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!conf_setting(rf, sec, required[i]).explicit) {
			conf_diag(ld, sec->line, "feed %s: source = job needs %s",
				  f->name, required[i]);
			rc = -1;
		}
	struct setting listen = conf_setting(rf, sec, "ingest_listen");
	if (f->ingest_listen && !address_ok(f->ingest_listen, false)) {
		conf_diag(ld, listen.line, "ingest_listen: '%.100s' is not a numeric address with a port (HOST:PORT or [V6]:PORT, PORT 1 to 65535)",
			  f->ingest_listen);
		rc = -1;
	}
	struct setting adv = conf_setting(rf, sec, "ingest_advertise");
	if (f->ingest_advertise && !address_ok(f->ingest_advertise, true)) {
		conf_diag(ld, adv.line, "ingest_advertise: '%.100s' is not HOST:PORT (a name or numeric address, PORT 1 to 65535)",
			  f->ingest_advertise);
		rc = -1;
	}
	bool client_ca = f->ingest_client_ca != NULL;
	bool ccert = f->job_client_cert != NULL, ckey = f->job_client_key != NULL;
	if (ccert != ckey) {
		conf_diag(ld, conf_setting(rf, sec, ccert ? "job_client_cert" : "job_client_key").line,
			  "%s: set job_client_cert and job_client_key together",
			  ccert ? "job_client_cert" : "job_client_key");
		rc = -1;
	} else if (client_ca != ccert) {
		conf_diag(ld, conf_setting(rf, sec, client_ca ? "ingest_client_ca" : "job_client_cert").line,
			  client_ca ? "ingest_client_ca: the job needs job_client_cert and job_client_key to pass it"
				    : "job_client_cert: only used with ingest_client_ca (the endpoint asks for no client certificate without it)");
		rc = -1;
	}
	return rc;
}

/* Keys of one source (flag: CFG_F_JOB_ONLY, CFG_F_NATS_SRC) set on a
 * feed of another. */
static int source_keys_unused(struct loader *ld, const struct raw_file *rf,
			      const struct raw_section *sec, unsigned flag,
			      const char *source)
{
	int rc = 0;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section != CFG_SECTION_FEED || !(k->flags & flag))
			continue;
		struct setting st = conf_setting(rf, sec, k->name);
		if (st.explicit) {
			conf_diag(ld, st.line, "%s: only used with source = %s", k->name,
				  source);
			rc = -1;
		}
	}
	return rc;
}

/* A durable consumer's name as written by hand: letters, digits, '-' and
 * '_' (the server refuses '.', '*', '>' and whitespace; the rest keeps
 * names portable across file stores). */
static bool nats_name_ok(const char *name)
{
	if (!name[0] || strlen(name) > 200)
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return false;
	return true;
}

/*
 * source = nats: a relay of what another daemon's nats sink published.
 * Its rows are held durably and released in commit order (a batch is
 * acknowledged to JetStream once held on disk), so delivery is ordered;
 * there is no changefeed, so no dsn, tables, query or changefeed option.
 * nats_feed defaults to this feed's name, nats_durable to crdbfeed_ and
 * this feed's name with bytes other than [A-Za-z0-9_-] as '_'.
 */
static int nats_rules(struct loader *ld, const struct raw_file *rf,
		      const struct raw_section *sec, struct feed_config *f)
{
	static const char *const changefeed_keys[] = {
		"dsn", "tables", "query", "options", "start", "start_cursor",
		"password_file", "sslrootcert", "sslcert", "sslkey",
	};
	struct setting delivery = conf_setting(rf, sec, "delivery");
	int rc = 0;

	if (delivery.explicit && f->delivery != FEED_DELIVERY_ORDERED) {
		conf_diag(ld, delivery.line, "delivery: source = nats is always delivered ordered (a batch is acknowledged to JetStream once it is held on disk)");
		rc = -1;
	}
	f->delivery = FEED_DELIVERY_ORDERED;
	if (f->kind == FEED_KIND_NOTIFY) {
		conf_diag(ld, conf_setting(rf, sec, "kind").line, "kind: notify feeds run sinkless (source = sinkless)");
		rc = -1;
	}
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		bool changefeed = k->flags & CFG_F_OPTION;
		if (k->section != CFG_SECTION_FEED)
			continue;
		for (size_t j = 0; j < sizeof(changefeed_keys) / sizeof(changefeed_keys[0]); j++)
			if (strcmp(k->name, changefeed_keys[j]) == 0)
				changefeed = true;
		if (changefeed && conf_set_here(sec, k->name)) {
			conf_diag(ld, conf_setting(rf, sec, k->name).line,
				  "%s: source = nats relays another feed's rows and runs no changefeed (set it on the publishing feed)",
				  k->name);
			rc = -1;
		}
	}
	if (conf_nats_settings_check(ld, rf, sec, &f->nats) < 0)
		rc = -1;
	if (f->nats_durable && !nats_name_ok(f->nats_durable)) {
		conf_diag(ld, conf_setting(rf, sec, "nats_durable").line,
			  "nats_durable: '%.100s' must be 1 to 200 letters, digits, - or _",
			  f->nats_durable);
		rc = -1;
	}
	if (!f->nats_feed && !(f->nats_feed = conf_strdup(ld, f->name)))
		return -1;
	if (!f->nats_durable) {
		size_t len = strlen("crdbfeed_") + strlen(f->name) + 1;
		if (!(f->nats_durable = malloc(len))) {
			conf_diag_oom(ld);
			return -1;
		}
		int n = snprintf(f->nats_durable, len, "crdbfeed_");
		for (const char *c = f->name; *c; c++)
			f->nats_durable[n++] = isalnum((unsigned char)*c) || *c == '-' ||
					       *c == '_' ? *c : '_';
		f->nats_durable[n] = '\0';
	}
	return rc;
}

/* A notify feed's tables: exactly one, the default when unset. */
static int notify_tables(struct loader *ld, const struct raw_file *rf,
			 const struct raw_section *sec, struct feed_config *f)
{
	struct setting tables = conf_setting(rf, sec, "tables");

	if (!tables.explicit) {
		f->tables = calloc(1, sizeof(char *));
		f->families = calloc(1, sizeof(char *));
		if (!f->tables || !f->families) {
			conf_diag_oom(ld);
			return -1;
		}
		f->ntables = 1;
		f->tables[0] = conf_strdup(ld, NOTIFY_TABLE_DEFAULT);
		return f->tables[0] ? 0 : -1;
	}
	if (f->ntables != 1) {
		conf_diag(ld, tables.line, "tables: kind = notify reads exactly one table, not %zu",
			  f->ntables);
		return -1;
	}
	return 0;
}

static int feed_query(struct loader *ld, struct feed_config *f,
		      const struct setting *query)
{
	int bad = 0;
	crdb_error err;
	crdb_feed_spec *spec = scratch_spec(ld, &err);
	if (!spec)
		return -1;
	if (crdb_feed_spec_set_query(spec, query->value, &err) < 0) {
		conf_diag(ld, query->line, "query: %s", err.message);
		bad = 1;
	}
	crdb_feed_spec_free(spec);
	if (conf_get_string(ld, query, &f->query) < 0)
		bad = 1;
	return bad ? -1 : 0;
}

/* The statement as the server would get it, for the rules between options
 * that libcrdb applies as the server does. */
static void feed_statement_check(struct loader *ld, const struct feed_config *f)
{
	crdb_error err;
	crdb_error_clear(&err);
	crdb_feed_spec *spec = config_feed_spec(f, &err);
	char *stmt = NULL;
	/* A job's statement has a sink, and the options only a sink takes
	 * (webhook_sink_config, ...) are accepted then (job.c builds it). */
	char sink[600];
	snprintf(sink, sizeof(sink), "webhook-https://%.200s%s%.200s",
		 f->ingest_advertise ? f->ingest_advertise :
		 f->ingest_listen ? f->ingest_listen : "localhost", JOB_PATH_PREFIX, f->name);
	if (spec && f->source == FEED_SOURCE_JOB &&
	    crdb_feed_spec_set_sink(spec, sink, &err) < 0) {
		crdb_feed_spec_free(spec);
		spec = NULL;
	}
	if (spec) {
		if (f->start == FEED_START_CURSOR)
			crdb_feed_spec_set_option(spec, "cursor", f->start_cursor,
						  &err);
		else
			crdb_feed_spec_set_option(spec, "initial_scan",
				f->start == FEED_START_NOW ? "no" : "yes", &err);
		stmt = crdb_feed_spec_build(spec, true, NULL, &err);
	}
	if (!stmt)
		conf_diag(ld, f->line, "feed %s: %s", f->name, err.message);
	crdb_free(stmt);
	crdb_feed_spec_free(spec);
}

void conf_load_feed(struct loader *ld, const struct raw_file *rf,
		    const struct raw_section *sec, struct config *cfg)
{
	struct feed_config *f = &cfg->feeds[cfg->nfeeds++];
	memset(f, 0, sizeof(*f));
	f->file = cfg->path;
	f->line = sec->line;
	if (!(f->name = conf_strdup(ld, sec->name)))
		return;
	/* Per key of the table: whether its value was refused. */
	bool *kbad = calloc(cfg_nkeys, sizeof(*kbad));
	if (!kbad) {
		conf_diag_oom(ld);
		return;
	}
	int bad = 0;

	ssize_t source_index = conf_key_index(CFG_SECTION_FEED, "source");
	struct setting source = conf_setting(rf, sec, "source");
	bool nats = strcmp(source.value, "nats") == 0;

	if (!nats && !conf_setting(rf, sec, "dsn").value[0]) {
		conf_diag(ld, sec->line, "feed %s: no dsn (set dsn here or in [crdbfeedd])",
			  f->name);
		bad = 1;
	}
	if (conf_feed_password(ld, rf, sec, &f->password_file) < 0)
		bad = 1;

	/* Every key the table stores, and the option keys, in table order
	 * (the order of the options in the statement). */
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section != CFG_SECTION_FEED)
			continue;
		struct setting st = conf_setting(rf, sec, k->name);
		int rc = 0;
		if (k->field != CFG_NO_FIELD)
			rc = conf_get(ld, &st, f);
		else if (k->flags & CFG_F_OPTION)
			rc = option_key(ld, f, &st);
		if (rc < 0)
			kbad[i] = true, bad = 1;
	}

	bool notify = !kbad[conf_key_index(CFG_SECTION_FEED, "kind")] &&
		      f->kind == FEED_KIND_NOTIFY;
	if (notify && notify_rules(ld, rf, sec, f) < 0)
		bad = 1;

	struct setting tables = conf_setting(rf, sec, "tables");
	struct setting query = conf_setting(rf, sec, "query");
	if (notify) {
		if ((tables.explicit && feed_tables(ld, f, &tables) < 0) ||
		    notify_tables(ld, rf, sec, f) < 0)
			bad = 1;
	} else if (nats) {
		/* nats_rules refuses tables and query. */
	} else if (tables.explicit && query.explicit) {
		conf_diag(ld, query.line, "feed %s: set tables or query, not both",
			  f->name);
		bad = 1;
	} else if (!tables.explicit && !query.explicit) {
		conf_diag(ld, sec->line, "feed %s: no tables and no query", f->name);
		bad = 1;
	} else if (tables.explicit ? feed_tables(ld, f, &tables) < 0 :
				     feed_query(ld, f, &query) < 0) {
		bad = 1;
	}
	if (!conf_setting(rf, sec, "envelope").explicit)
		f->envelope = f->query ? CRDB_ENVELOPE_BARE : CRDB_ENVELOPE_WRAPPED;
	struct setting st = conf_setting(rf, sec, "options");
	if (feed_options(ld, f, &st) < 0)
		bad = 1;

	/* Where to start: cursor needs start_cursor, and only it does. */
	struct setting start = conf_setting(rf, sec, "start");
	struct setting cursor = conf_setting(rf, sec, "start_cursor");
	ssize_t si = conf_key_index(CFG_SECTION_FEED, "start");
	ssize_t ci = conf_key_index(CFG_SECTION_FEED, "start_cursor");
	if (!kbad[si] && !kbad[ci]) {
		if (f->start == FEED_START_CURSOR && !cursor.explicit) {
			conf_diag(ld, start.line, "feed %s: start = cursor needs start_cursor",
				  f->name);
			bad = 1;
		} else if (f->start != FEED_START_CURSOR && cursor.explicit) {
			conf_diag(ld, cursor.line, "start_cursor: only used with start = cursor (start is %s)",
				  start.value);
			bad = 1;
		}
	}

	struct setting bi = conf_setting(rf, sec, "backoff_initial");
	struct setting bm = conf_setting(rf, sec, "backoff_max");
	if (!kbad[conf_key_index(CFG_SECTION_FEED, "backoff_initial")] &&
	    !kbad[conf_key_index(CFG_SECTION_FEED, "backoff_max")] &&
	    f->backoff_max_ms < f->backoff_initial_ms) {
		conf_diag(ld, bm.line, "backoff_max: %s is less than backoff_initial (%s)",
			  bm.value, bi.value);
		bad = 1;
	}

	if (!kbad[source_index]) {
		if (f->source == FEED_SOURCE_JOB ? job_rules(ld, rf, sec, f) < 0 :
		    source_keys_unused(ld, rf, sec, CFG_F_JOB_ONLY, "job") < 0)
			bad = 1;
		if (f->source == FEED_SOURCE_NATS ? nats_rules(ld, rf, sec, f) < 0 :
		    source_keys_unused(ld, rf, sec, CFG_F_NATS_SRC, "nats") < 0)
			bad = 1;
	}
	/* A relay's rows come ordered, with their timestamps, from the
	 * publishing feed. */
	if (f->delivery == FEED_DELIVERY_ORDERED && f->source != FEED_SOURCE_NATS &&
	    ordered_rules(ld, rf, sec, f) < 0)
		bad = 1;

	/* Cross-option rules as the server applies them. */
	if (!bad && f->source != FEED_SOURCE_NATS)
		feed_statement_check(ld, f);
	free(kbad);
}

void conf_feed_free_members(struct feed_config *f)
{
	free(f->name);
	free(f->password_file);
	conf_free_list(f->tables, f->ntables);
	conf_free_list(f->families, f->ntables);
	free(f->query);
	for (size_t i = 0; i < f->noptions; i++) {
		free(f->options[i].name);
		free(f->options[i].value);
	}
	free(f->options);
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].section == CFG_SECTION_FEED)
			conf_field_free(&cfg_keys[i], f);
}


static const char *envelope_name(crdb_envelope env)
{
	switch (env) {
	case CRDB_ENVELOPE_BARE: return "bare";
	case CRDB_ENVELOPE_ROW: return "row";
	case CRDB_ENVELOPE_KEY_ONLY: return "key_only";
	case CRDB_ENVELOPE_ENRICHED: return "enriched";
	case CRDB_ENVELOPE_WRAPPED: break;
	}
	return "wrapped";
}

crdb_feed_spec *config_feed_spec(const struct feed_config *feed, crdb_error *err)
{
	crdb_feed_spec *spec = crdb_feed_spec_new(err);
	if (!spec)
		return NULL;
	char resolved[32];
	conf_format_duration(feed->resolved_ms, resolved, sizeof(resolved));
	if (feed->query) {
		if (crdb_feed_spec_set_query(spec, feed->query, err) < 0)
			goto fail;
	}
	for (size_t i = 0; i < feed->ntables; i++)
		if (crdb_feed_spec_add_table(spec, feed->tables[i],
					     feed->families[i], err) < 0)
			goto fail;
	if (crdb_feed_spec_set_option(spec, "envelope",
				      envelope_name(feed->envelope), err) < 0 ||
	    crdb_feed_spec_set_option(spec, "resolved", resolved, err) < 0 ||
	    crdb_feed_spec_set_option(spec, "min_checkpoint_frequency",
				      resolved, err) < 0)
		goto fail;
	if (feed->diff && crdb_feed_spec_set_option(spec, "diff", NULL, err) < 0)
		goto fail;
	for (size_t i = 0; i < feed->noptions; i++)
		if (crdb_feed_spec_set_option(spec, feed->options[i].name,
					      feed->options[i].value, err) < 0)
			goto fail;
	return spec;
fail:
	crdb_feed_spec_free(spec);
	return NULL;
}

