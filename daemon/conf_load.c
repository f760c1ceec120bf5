/*
 * conf_load.c: a whole configuration: the file read (conf_ini.c) into
 * [crdbfeedd] and [sink NAME] settings by the key table, each [feed NAME]
 * by conf_feed.c, then the rules between sections; freeing it, finding a
 * feed or sink by name, and comparing parts of two for reload.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf_internal.h"
#include "nats_subject.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Allow-lists are kept sorted without repeats: equal sets, equal arrays. */
static bool ids_eq(const void *a, size_t na, const void *b, size_t nb,
		   size_t size)
{
	return na == nb && (na == 0 || memcmp(a, b, na * size) == 0);
}

/* Whether [feed NAME] says delivery = ordered or kind = notify (the sink's
 * defaults follow it, wherever the sections are in the file). */
/* The [feed NAME] section, or NULL. */
static const struct raw_section *raw_feed(const struct raw_file *rf,
					  const char *name)
{
	for (size_t i = 0; i < rf->nsections; i++) {
		const struct raw_section *sec = &rf->sections[i];
		if (sec->kind == CFG_SECTION_FEED && strcmp(sec->name, name) == 0)
			return sec;
	}
	return NULL;
}

static bool feed_is_notify(const struct raw_file *rf, const char *name)
{
	const struct raw_section *sec = raw_feed(rf, name);
	return sec && strcmp(conf_setting(rf, sec, "kind").value, "notify") == 0;
}

static bool feed_is_ordered(const struct raw_file *rf, const char *name)
{
	const struct raw_section *sec = raw_feed(rf, name);
	return sec && (strcmp(conf_setting(rf, sec, "delivery").value,
			      "ordered") == 0 ||
		       strcmp(conf_setting(rf, sec, "source").value, "job") == 0 ||
		       strcmp(conf_setting(rf, sec, "source").value, "nats") == 0 ||
		       feed_is_notify(rf, name));
}

/* A pg sink listens somewhere, on TCP only with SCRAM verifiers, and
 * with TLS on TCP only, from a certificate with its key. */
static void check_pg_sink(struct loader *ld, const struct raw_file *rf,
			  const struct raw_section *sec,
			  const struct sink_config *s)
{
	struct setting auth = conf_setting(rf, sec, "pg_auth_file");
	if (!s->pg_dir && !s->pg_tcp)
		conf_diag(ld, sec->line, "sink %s: type = pg needs pg_dir or pg_tcp (or both)",
			  s->name);
	if (s->pg_tcp && !s->pg_auth_file)
		conf_diag(ld, conf_setting(rf, sec, "pg_tcp").line,
			  "pg_tcp: needs pg_auth_file (TCP clients authenticate with SCRAM-SHA-256)");
	if (auth.explicit && s->pg_auth_file && !s->pg_tcp)
		conf_diag(ld, auth.line, "pg_auth_file: only used with pg_tcp (Unix socket clients are let in by their peer credentials)");
	struct setting cert = conf_setting(rf, sec, "pg_tls_cert");
	struct setting key = conf_setting(rf, sec, "pg_tls_key");
	struct setting req = conf_setting(rf, sec, "pg_tls_require");
	if (s->pg_tls_cert && !s->pg_tls_key)
		conf_diag(ld, cert.line, "pg_tls_cert: needs pg_tls_key");
	if (s->pg_tls_key && !s->pg_tls_cert)
		conf_diag(ld, key.line, "pg_tls_key: needs pg_tls_cert");
	if (s->pg_tls_cert && !s->pg_tcp)
		conf_diag(ld, cert.line, "pg_tls_cert: only used with pg_tcp (Unix socket clients are answered without TLS, as PostgreSQL answers them)");
	if (s->pg_tls_require && !s->pg_tls_cert)
		conf_diag(ld, req.line, "pg_tls_require: needs pg_tls_cert and pg_tls_key");
	/* Rows of a table feed are not notifications: without table
	 * channels such a sink would send nothing. */
	if (s->feed && raw_feed(rf, s->feed) && !s->table_channels &&
	    !feed_is_notify(rf, s->feed))
		conf_diag(ld, sec->line, "sink %s: feed %.100s is not kind = notify; a pg sink sends a notify feed's notifications, or a table feed's rows with table_channels = yes",
			  s->name, s->feed);
}

/* Sink keys every type takes that a nats sink has no use for: it has no
 * subscribers (no queues, policies or replay requests) and publishes every
 * resolved timestamp. */
static const char *const nats_unused_keys[] = {
	"policy", "buffer", "low_watermark", "resolved", "replay_grace",
};

/* A NATS connection (a nats sink's, a nats source's): a valid subject
 * prefix, a stream whose name is one token, TLS client files and user
 * credentials complete. 0 or -1 (diagnosed). */
int conf_nats_settings_check(struct loader *ld, const struct raw_file *rf,
			     const struct raw_section *sec,
			     const struct nats_settings *n)
{
	char err[256];
	int rc = 0;

	if (n->subject_prefix &&
	    nats_subject_prefix_check(n->subject_prefix, err, sizeof(err)) < 0) {
		conf_diag(ld, conf_setting(rf, sec, "nats_subject_prefix").line,
			  "nats_subject_prefix: %s", err);
		rc = -1;
	}
	if (n->stream && n->stream[0] &&
	    (strpbrk(n->stream, ".*>/\\ \t") || strlen(n->stream) > 255)) {
		conf_diag(ld, conf_setting(rf, sec, "nats_stream").line,
			  "nats_stream: '%.100s' is not a stream name (at most 255 bytes, none of . * > / \\ or whitespace)",
			  n->stream);
		rc = -1;
	}
	if (!n->tls_cert != !n->tls_key) {
		conf_diag(ld, conf_setting(rf, sec, n->tls_cert ? "nats_tls_cert" : "nats_tls_key").line,
			  "%s: set nats_tls_cert and nats_tls_key together",
			  n->tls_cert ? "nats_tls_cert" : "nats_tls_key");
		rc = -1;
	}
	if (!n->user != !n->password_file) {
		conf_diag(ld, conf_setting(rf, sec, n->user ? "nats_user" : "nats_password_file").line,
			  n->user ? "nats_user: needs nats_password_file" :
				    "nats_password_file: needs nats_user");
		rc = -1;
	}
	return rc;
}

/* A nats sink publishes an ordered feed's journal over a valid
 * connection (conf_nats_settings_check), to a stream whose duplicate
 * window its max age allows. */
static void check_nats_sink(struct loader *ld, const struct raw_file *rf,
			    const struct raw_section *sec,
			    const struct sink_config *s, bool ordered)
{
	for (size_t i = 0; i < sizeof(nats_unused_keys) / sizeof(nats_unused_keys[0]); i++) {
		struct setting st = conf_setting(rf, sec, nats_unused_keys[i]);
		if (st.explicit && conf_set_here(sec, nats_unused_keys[i]))
			conf_diag(ld, st.line, "%s: not used by a nats sink (it has no subscribers and publishes every resolved timestamp)",
				  nats_unused_keys[i]);
	}
	if (s->feed && raw_feed(rf, s->feed) && !ordered)
		conf_diag(ld, sec->line, "sink %s: feed %.100s is not ordered; a nats sink publishes the journal of a feed with delivery = ordered (or source = job or nats)",
			  s->name, s->feed);
	conf_nats_settings_check(ld, rf, sec, &s->nats);
	if (s->nats_max_age_ms && s->nats_duplicate_window_ms > s->nats_max_age_ms)
		conf_diag(ld, conf_setting(rf, sec, "nats_duplicate_window").line,
			  "nats_duplicate_window: longer than nats_max_age (JetStream refuses a duplicate window longer than the stream's max age)");
}

static void load_sink(struct loader *ld, const struct raw_file *rf,
		      const struct raw_section *sec, struct config *cfg)
{
	struct sink_config *s = &cfg->sinks[cfg->nsinks++];
	memset(s, 0, sizeof(*s));
	s->file = cfg->path;
	s->line = sec->line;
	if (!(s->name = conf_strdup(ld, sec->name)))
		return;

	/* systemd hands sockets over by name (FileDescriptorName=). */
	if (strcmp(s->name, "control") == 0 || strcmp(s->name, "metrics") == 0)
		conf_diag(ld, sec->line, "sink %s: the name is reserved for the %s socket (socket activation matches sockets to sinks by name)",
			  s->name, s->name);

	bool sized = true;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section != CFG_SECTION_SINK)
			continue;
		struct setting st = conf_setting(rf, sec, k->name);
		/* type comes before the keys of some types in the table.
		 * Defaults from [crdbfeedd] do not count: they are meant for
		 * the sinks that have the key. */
		if (!config_sink_key_applies(k, s->type)) {
			if (st.explicit && conf_set_here(sec, k->name))
				conf_diag(ld, st.line, "%s: only for %s",
					  k->name, config_sink_key_types(k));
			continue;
		}
		size_t bytes;
		/* A size out of range is still compared below. */
		if (conf_get(ld, &st, s) < 0 && k->type == CFG_SIZE &&
		    st.value[0] && conf_parse_size(st.value, &bytes) < 0)
			sized = false;
	}

	struct setting st = conf_setting(rf, sec, "feed");
	if (!st.explicit)
		conf_diag(ld, sec->line, "sink %s: no feed (set feed = NAME)", s->name);
	else if (s->feed && !conf_raw_has_feed(rf, s->feed))
		conf_diag(ld, st.line, "feed: no [feed %.100s] section", s->feed);
	if (s->type == SINK_UNIX && !conf_setting(rf, sec, "path").explicit)
		conf_diag(ld, sec->line, "sink %s: type = unix needs path", s->name);

	if (s->type == SINK_PG)
		check_pg_sink(ld, rf, sec, s);

	bool ordered = s->feed && feed_is_ordered(rf, s->feed);
	if (s->type == SINK_NATS) {
		s->policy = SLOW_POLICY_DISCONNECT; /* never blocks its feed */
		check_nats_sink(ld, rf, sec, s, ordered);
		return;
	}
	struct setting policy = conf_setting(rf, sec, "policy");
	if (!policy.explicit)
		s->policy = s->type == SINK_STDOUT ? SLOW_POLICY_BLOCK :
			    ordered && s->type == SINK_UNIX ? SLOW_POLICY_JOURNAL :
			    SLOW_POLICY_DISCONNECT;
	else if (s->type == SINK_PG && s->policy != SLOW_POLICY_DISCONNECT)
		conf_diag(ld, policy.line, "policy: a pg sink only disconnects a slow listener (a NOTICE, then closed: a PostgreSQL client has no position to resume from), not %s",
			  policy.value);
	else if (s->policy == SLOW_POLICY_JOURNAL && !ordered)
		conf_diag(ld, policy.line, "policy: journal needs delivery = ordered on feed %.100s",
			  s->feed ? s->feed : "?");

	struct setting buffer = conf_setting(rf, sec, "buffer");
	struct setting low = conf_setting(rf, sec, "low_watermark");
	if (sized) {
		if (!low.explicit)
			s->low_watermark = s->buffer_bytes / 2;
		else if (s->low_watermark >= s->buffer_bytes)
			conf_diag(ld, low.line, "low_watermark: %s is not less than buffer (%s)",
				  low.value, buffer.value);
		if (low.explicit && s->policy != SLOW_POLICY_BLOCK)
			conf_diag(ld, low.line, "low_watermark: only used with policy = block");
	}
}

static void load_global(struct loader *ld, const struct raw_file *rf,
			struct config *cfg)
{
	/* A missing [crdbfeedd] means all defaults: use an empty section. */
	struct raw_value *empty = calloc(cfg_nkeys, sizeof(*empty));
	if (!empty) {
		conf_diag_oom(ld);
		return;
	}
	struct raw_section none = { CFG_SECTION_GLOBAL, NULL, 1, empty };
	const struct raw_section *g = rf->global ? rf->global : &none;

	/* The keys of the daemon, and a check of the defaults of feeds and
	 * sinks, so that a bad global value is reported at its line even when
	 * no feed uses it. The password source is checked below. */
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section != CFG_SECTION_GLOBAL ||
		    strcmp(k->name, "password_file") == 0 ||
		    strcmp(k->name, "credential") == 0)
			continue;
		struct setting st = conf_setting(rf, g, k->name);
		if (k->field != CFG_NO_FIELD)
			conf_get(ld, &st, cfg);
		else if (st.explicit)
			conf_check(ld, &st);
	}
	if (rf->global)
		conf_feed_password(ld, rf, rf->global, NULL);
	if (cfg->metrics_socket && cfg->control_socket &&
	    strcmp(cfg->metrics_socket, cfg->control_socket) == 0)
		conf_diag(ld, conf_setting(rf, g, "metrics_socket").line,
			  "metrics_socket: %.200s is also the control_socket",
			  cfg->metrics_socket);
	free(empty);
}

/* Two pg sinks cannot listen on the same socket file or TCP address. */
static void check_pg_pair(struct loader *ld, const struct sink_config *a,
			  const struct sink_config *b)
{
	if (a->pg_dir && b->pg_dir && strcmp(a->pg_dir, b->pg_dir) == 0 &&
	    a->pg_port == b->pg_port)
		conf_diag(ld, a->line, "sink %s: pg_dir %.200s and pg_port %lld are also those of sink %s (line %d)",
			  a->name, a->pg_dir, (long long)a->pg_port, b->name, b->line);
	if (a->pg_tcp && b->pg_tcp && strcmp(a->pg_tcp, b->pg_tcp) == 0)
		conf_diag(ld, a->line, "sink %s: pg_tcp %.100s is also that of sink %s (line %d)",
			  a->name, a->pg_tcp, b->name, b->line);
}

/* Per-feed and per-file rules that need every section. */
static void check_references(struct loader *ld, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		const struct feed_config *f = &cfg->feeds[i];
		bool has_sink = false;
		for (size_t j = 0; j < cfg->nsinks; j++)
			if (cfg->sinks[j].feed &&
			    strcmp(cfg->sinks[j].feed, f->name) == 0)
				has_sink = true;
		if (!has_sink)
			conf_diag(ld, f->line, "feed %s: no sink serves it (add a [sink NAME] with feed = %s)",
			     f->name, f->name);
	}
	for (size_t i = 0; i < cfg->nsinks; i++) {
		const struct sink_config *a = &cfg->sinks[i];
		bool stdout_told = false;
		if (a->path && cfg->control_socket &&
		    strcmp(a->path, cfg->control_socket) == 0)
			conf_diag(ld, a->line, "sink %s: path %.200s is also the control_socket",
			     a->name, a->path);
		if (a->path && cfg->metrics_socket &&
		    strcmp(a->path, cfg->metrics_socket) == 0)
			conf_diag(ld, a->line, "sink %s: path %.200s is also the metrics_socket",
			     a->name, a->path);
		for (size_t j = 0; j < i; j++) {
			const struct sink_config *b = &cfg->sinks[j];
			if (a->type == SINK_PG && b->type == SINK_PG)
				check_pg_pair(ld, a, b);
			if (a->path && b->path && strcmp(a->path, b->path) == 0)
				conf_diag(ld, a->line, "sink %s: path %.200s is also the path of sink %s (line %d)",
				     a->name, a->path, b->name, b->line);
			/* Two would write every line of the feed twice. */
			if (!stdout_told && a->type == SINK_STDOUT &&
			    b->type == SINK_STDOUT && a->feed && b->feed &&
			    strcmp(a->feed, b->feed) == 0) {
				conf_diag(ld, a->line, "sink %s: feed %s already has a stdout sink, %s (line %d)",
				     a->name, a->feed, b->name, b->line);
				stdout_told = true;
			}
		}
	}
}

struct config *conf_load_raw(struct loader *ld, struct raw_file *rf,
			     const char *path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		conf_diag_oom(ld);
		return NULL;
	}
	if (!(cfg->path = conf_strdup(ld, path)))
		goto out;
	ld->file = cfg->path;

	size_t nfeeds = 0, nsinks = 0;
	for (size_t i = 0; i < rf->nsections; i++) {
		nfeeds += rf->sections[i].kind == CFG_SECTION_FEED;
		nsinks += rf->sections[i].kind == CFG_SECTION_SINK;
	}
	cfg->feeds = calloc(nfeeds ? nfeeds : 1, sizeof(*cfg->feeds));
	cfg->sinks = calloc(nsinks ? nsinks : 1, sizeof(*cfg->sinks));
	if (!cfg->feeds || !cfg->sinks) {
		conf_diag_oom(ld);
		goto out;
	}
	load_global(ld, rf, cfg);
	for (size_t i = 0; i < rf->nsections && !ld->oom; i++) {
		const struct raw_section *s = &rf->sections[i];
		if (s->kind == CFG_SECTION_FEED)
			conf_load_feed(ld, rf, s, cfg);
		else if (s->kind == CFG_SECTION_SINK)
			load_sink(ld, rf, s, cfg);
	}
	if (!ld->oom)
		check_references(ld, cfg);
out:
	if (ld->failed) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct config *conf_load_finish(struct loader *ld, struct raw_file *rf,
				struct config *cfg)
{
	conf_raw_free(rf);
	conf_diag_sort(ld);
	free(ld->diag_line);
	ld->diag_line = NULL;
	if (ld->failed) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct config *config_load(const char *path, struct config_diag *diag_out)
{
	struct loader ld = { path, diag_out, NULL, false, false };
	diag_out->lines = NULL;
	diag_out->nlines = 0;

	FILE *fp = fopen(path, "r");
	if (!fp) {
		conf_diag(&ld, 0, "cannot open: %s", strerror(errno));
		free(ld.diag_line);
		return NULL;
	}
	struct raw_file rf = { 0 };
	int rc = conf_read_file(&ld, fp, &rf);
	fclose(fp);
	struct config *cfg = NULL;
	if (rc == 0 && !ld.oom)
		cfg = conf_load_raw(&ld, &rf, path);
	return conf_load_finish(&ld, &rf, cfg);
}

static void sink_free_members(struct sink_config *s)
{
	free(s->name);
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].section == CFG_SECTION_SINK)
			conf_field_free(&cfg_keys[i], s);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nfeeds; i++)
		conf_feed_free_members(&cfg->feeds[i]);
	free(cfg->feeds);
	for (size_t i = 0; i < cfg->nsinks; i++)
		sink_free_members(&cfg->sinks[i]);
	free(cfg->sinks);
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].section == CFG_SECTION_GLOBAL)
			conf_field_free(&cfg_keys[i], cfg);
	free(cfg->path);
	free(cfg);
}

const struct feed_config *config_feed(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->nfeeds; i++)
		if (strcmp(cfg->feeds[i].name, name) == 0)
			return &cfg->feeds[i];
	return NULL;
}

const struct sink_config *config_sink(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->nsinks; i++)
		if (strcmp(cfg->sinks[i].name, name) == 0)
			return &cfg->sinks[i];
	return NULL;
}

size_t config_keep_restart_keys(struct config *next,
				const struct config *running, char *changed,
				size_t size)
{
	size_t n = 0, len = 0;
	if (size)
		changed[0] = '\0';
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section != CFG_SECTION_GLOBAL ||
		    k->reload != CFG_RELOAD_RESTART ||
		    conf_field_equal(k, running, next))
			continue;
		/* Out of memory: next keeps its own value. */
		conf_field_copy(k, running, next);
		int w = len < size ? snprintf(changed + len, size - len, "%s%s",
					      n ? ", " : "", k->name) : 0;
		if (w > 0)
			len += (size_t)w;
		n++;
	}
	return n;
}

/* The table's fields of one section, equal in a and b. */
static bool fields_equal(enum cfg_section section, const void *a,
			 const void *b)
{
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].section == section &&
		    !conf_field_equal(&cfg_keys[i], a, b))
			return false;
	return true;
}

bool config_feed_equal(const struct feed_config *a, const struct feed_config *b)
{
	/* What the table does not store by itself: name, the password
	 * source, targets and the options list. */
	if (!str_eq(a->name, b->name) ||
	    !str_eq(a->password_file, b->password_file) ||
	    !str_eq(a->query, b->query) || a->ntables != b->ntables ||
	    a->noptions != b->noptions ||
	    !fields_equal(CFG_SECTION_FEED, a, b))
		return false;
	for (size_t i = 0; i < a->ntables; i++)
		if (!str_eq(a->tables[i], b->tables[i]) ||
		    !str_eq(a->families[i], b->families[i]))
			return false;
	for (size_t i = 0; i < a->noptions; i++)
		if (!str_eq(a->options[i].name, b->options[i].name) ||
		    !str_eq(a->options[i].value, b->options[i].value))
			return false;
	return true;
}

bool config_sink_equal(const struct sink_config *a, const struct sink_config *b)
{
	return str_eq(a->name, b->name) && fields_equal(CFG_SECTION_SINK, a, b);
}

bool config_control_equal(const struct config *a, const struct config *b)
{
	return str_eq(a->control_socket, b->control_socket) &&
	       a->control_mode == b->control_mode &&
	       str_eq(a->control_group, b->control_group) &&
	       ids_eq(a->control_allow_uids, a->ncontrol_allow_uids,
		      b->control_allow_uids, b->ncontrol_allow_uids,
		      sizeof(uid_t)) &&
	       ids_eq(a->control_allow_gids, a->ncontrol_allow_gids,
		      b->control_allow_gids, b->ncontrol_allow_gids,
		      sizeof(gid_t));
}

bool config_metrics_equal(const struct config *a, const struct config *b)
{
	return str_eq(a->metrics_socket, b->metrics_socket) &&
	       str_eq(a->metrics_listen, b->metrics_listen) &&
	       (!a->metrics_socket ||
		(a->control_mode == b->control_mode &&
		 str_eq(a->control_group, b->control_group)));
}

