/*
 * check_config.c: crdbfeedd's config parser (daemon/conf_*.c), driven by the
 * case files in tests/daemon/config-cases/ (format: README there). Also the
 * shipped configs in conf/, password masking (dsn-mask.txt), and the key
 * table itself. With --print-keys / --print-example / --print-help it
 * prints the key table instead (for check-config-docs.sh).
 */
#include <config.h> /* autoconf's */

#include "daemon/conf.h"
#include "cases.h"

#include <check.h>
#include <dirent.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define MAX_CASES 256
#define LINE_MAX_LEN 8192

static char case_dir[4096];
static char *case_files[MAX_CASES];
static size_t ncases;

static const char *srcdir(void)
{
	const char *d = getenv("top_srcdir");
	return d && *d ? d : ".";
}

/* A growing text, for dumps and failure messages. */
struct text {
	char *s;
	size_t len;
};

static void text_add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	/* Plain checks: --load uses this outside any Check test. */
	char *p = n < 0 ? NULL : realloc(t->s, t->len + (size_t)n + 1);
	if (!p) {
		fprintf(stderr, "check_config: out of memory\n");
		abort();
	}
	t->s = p;
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static const char *str(const char *s)
{
	return s ? s : "(null)";
}

static const char *const envelope_names[] = { "wrapped", "bare", "row",
					      "key_only", "enriched" };
static const char *const start_names[] = { "initial_scan", "now", "cursor" };
static const char *const policy_names[] = { "block", "disconnect", "drop",
					    "journal" };
static const char *const level_names[] = { "error", "warning", "notice",
					   "info", "debug" };

/* "a, b, c" of an id array (uid_t and gid_t are both unsigned ints). */
static void dump_ids(struct text *t, const char *path, const unsigned *ids,
		     size_t n)
{
	text_add(t, "%s =", path);
	for (size_t i = 0; i < n; i++)
		text_add(t, "%s %u", i ? "," : "", ids[i]);
	text_add(t, "\n");
}

/* Every field of a config, one "path = value" line each. */
static void dump_config(const struct config *cfg, struct text *t)
{
	_Static_assert(sizeof(uid_t) == sizeof(unsigned) &&
		       sizeof(gid_t) == sizeof(unsigned), "ids are unsigned");
	char path[256];
	text_add(t, "global.state_dir = %s\n", str(cfg->state_dir));
	text_add(t, "global.log_level = %s\n", level_names[cfg->log_level]);
	text_add(t, "global.control_socket = %s\n", str(cfg->control_socket));
	text_add(t, "global.control_mode = %04o\n", (unsigned)cfg->control_mode);
	text_add(t, "global.control_group = %s\n", str(cfg->control_group));
	dump_ids(t, "global.control_allow_uids",
		 (const unsigned *)cfg->control_allow_uids,
		 cfg->ncontrol_allow_uids);
	dump_ids(t, "global.control_allow_gids",
		 (const unsigned *)cfg->control_allow_gids,
		 cfg->ncontrol_allow_gids);
	text_add(t, "global.metrics_socket = %s\n", str(cfg->metrics_socket));
	text_add(t, "global.metrics_listen = %s\n", str(cfg->metrics_listen));
	text_add(t, "global.nfeeds = %zu\n", cfg->nfeeds);
	text_add(t, "global.nsinks = %zu\n", cfg->nsinks);
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		const struct feed_config *f = &cfg->feeds[i];
		const char *n = f->name;
		text_add(t, "feed.%s.index = %zu\n", n, i);
		text_add(t, "feed.%s.line = %d\n", n, f->line);
		text_add(t, "feed.%s.dsn = %s\n", n, str(f->dsn));
		text_add(t, "feed.%s.password_file = %s\n", n, str(f->password_file));
		text_add(t, "feed.%s.sslrootcert = %s\n", n, str(f->sslrootcert));
		text_add(t, "feed.%s.sslcert = %s\n", n, str(f->sslcert));
		text_add(t, "feed.%s.sslkey = %s\n", n, str(f->sslkey));
		text_add(t, "feed.%s.tables =", n);
		for (size_t j = 0; j < f->ntables; j++) {
			text_add(t, "%s %s", j ? "," : "", f->tables[j]);
			if (f->families[j])
				text_add(t, " FAMILY %s", f->families[j]);
		}
		text_add(t, "\n");
		text_add(t, "feed.%s.query = %s\n", n, str(f->query));
		text_add(t, "feed.%s.options =", n);
		for (size_t j = 0; j < f->noptions; j++) {
			text_add(t, "%s %s", j ? "," : "", f->options[j].name);
			if (f->options[j].value)
				text_add(t, "=%s", f->options[j].value);
		}
		text_add(t, "\n");
		text_add(t, "feed.%s.envelope = %s\n", n, envelope_names[f->envelope]);
		text_add(t, "feed.%s.diff = %s\n", n, f->diff ? "yes" : "no");
		text_add(t, "feed.%s.resolved_ms = %" PRId64 "\n", n, f->resolved_ms);
		text_add(t, "feed.%s.start = %s\n", n, start_names[f->start]);
		text_add(t, "feed.%s.start_cursor = %s\n", n, str(f->start_cursor));
		text_add(t, "feed.%s.backoff_initial_ms = %" PRId64 "\n", n,
			 f->backoff_initial_ms);
		text_add(t, "feed.%s.backoff_max_ms = %" PRId64 "\n", n,
			 f->backoff_max_ms);
		text_add(t, "feed.%s.stall_timeout_ms = %" PRId64 "\n", n,
			 f->stall_timeout_ms);
		text_add(t, "feed.%s.kind = %s\n", n,
			 f->kind == FEED_KIND_NOTIFY ? "notify" : "table");
		text_add(t, "feed.%s.delivery = %s\n", n,
			 f->delivery == FEED_DELIVERY_ORDERED ? "ordered" : "stream");
		text_add(t, "feed.%s.hold_memory = %zu\n", n, f->hold_memory);
		text_add(t, "feed.%s.journal_retention_ms = %" PRId64 "\n", n,
			 f->journal_retention_ms);
		text_add(t, "feed.%s.journal_max_size = %zu\n", n, f->journal_max_size);
		text_add(t, "feed.%s.resolved_stall_ms = %" PRId64 "\n", n,
			 f->resolved_stall_ms);
		text_add(t, "feed.%s.source = %s\n", n,
			 f->source == FEED_SOURCE_JOB ? "job" :
			 f->source == FEED_SOURCE_NATS ? "nats" : "sinkless");
		text_add(t, "feed.%s.nats_url = %s\n", n, str(f->nats.url));
		text_add(t, "feed.%s.nats_subject_prefix = %s\n", n,
			 str(f->nats.subject_prefix));
		text_add(t, "feed.%s.nats_stream = %s\n", n, str(f->nats.stream));
		text_add(t, "feed.%s.nats_creds = %s\n", n, str(f->nats.creds));
		text_add(t, "feed.%s.nats_feed = %s\n", n, str(f->nats_feed));
		text_add(t, "feed.%s.nats_durable = %s\n", n, str(f->nats_durable));
		text_add(t, "feed.%s.nats_fetch_batch = %" PRId64 "\n", n,
			 f->nats_fetch_batch);
		text_add(t, "feed.%s.nats_ack_wait_ms = %" PRId64 "\n", n,
			 f->nats_ack_wait_ms);
		text_add(t, "feed.%s.nats_max_ack_pending = %" PRId64 "\n", n,
			 f->nats_max_ack_pending);
		text_add(t, "feed.%s.job_id = %" PRId64 "\n", n, f->job_id);
		text_add(t, "feed.%s.job_poll_ms = %" PRId64 "\n", n, f->job_poll_ms);
		text_add(t, "feed.%s.ingest_listen = %s\n", n, str(f->ingest_listen));
		text_add(t, "feed.%s.ingest_advertise = %s\n", n, str(f->ingest_advertise));
		text_add(t, "feed.%s.ingest_tls_cert = %s\n", n, str(f->ingest_tls_cert));
		text_add(t, "feed.%s.ingest_client_ca = %s\n", n, str(f->ingest_client_ca));
		text_add(t, "feed.%s.ingest_max_body = %zu\n", n, f->ingest_max_body);
		text_add(t, "feed.%s.ingest_max_connections = %" PRId64 "\n", n,
			 f->ingest_max_connections);
		text_add(t, "feed.%s.job_ca_cert = %s\n", n, str(f->job_ca_cert));
	}
	for (size_t i = 0; i < cfg->nsinks; i++) {
		const struct sink_config *s = &cfg->sinks[i];
		const char *n = s->name;
		text_add(t, "sink.%s.index = %zu\n", n, i);
		text_add(t, "sink.%s.line = %d\n", n, s->line);
		text_add(t, "sink.%s.feed = %s\n", n, str(s->feed));
		text_add(t, "sink.%s.type = %s\n", n,
			 s->type == SINK_UNIX ? "unix" : s->type == SINK_PG ? "pg" :
			 s->type == SINK_NATS ? "nats" : "stdout");
		text_add(t, "sink.%s.path = %s\n", n, str(s->path));
		text_add(t, "sink.%s.mode = %04o\n", n, (unsigned)s->mode);
		text_add(t, "sink.%s.group = %s\n", n, str(s->group));
		snprintf(path, sizeof(path), "sink.%s.allow_uids", n);
		dump_ids(t, path, (const unsigned *)s->allow_uids, s->nallow_uids);
		snprintf(path, sizeof(path), "sink.%s.allow_gids", n);
		dump_ids(t, path, (const unsigned *)s->allow_gids, s->nallow_gids);
		text_add(t, "sink.%s.policy = %s\n", n, policy_names[s->policy]);
		text_add(t, "sink.%s.buffer_bytes = %zu\n", n, s->buffer_bytes);
		text_add(t, "sink.%s.low_watermark = %zu\n", n, s->low_watermark);
		text_add(t, "sink.%s.resolved = %s\n", n, s->resolved ? "yes" : "no");
		text_add(t, "sink.%s.replay_grace_ms = %" PRId64 "\n", n,
			 s->replay_grace_ms);
		text_add(t, "sink.%s.pg_dir = %s\n", n, str(s->pg_dir));
		text_add(t, "sink.%s.pg_port = %" PRId64 "\n", n, s->pg_port);
		text_add(t, "sink.%s.pg_tcp = %s\n", n, str(s->pg_tcp));
		text_add(t, "sink.%s.pg_auth_file = %s\n", n, str(s->pg_auth_file));
		text_add(t, "sink.%s.pg_tls_cert = %s\n", n, str(s->pg_tls_cert));
		text_add(t, "sink.%s.pg_tls_key = %s\n", n, str(s->pg_tls_key));
		text_add(t, "sink.%s.pg_tls_require = %s\n", n,
			 s->pg_tls_require ? "yes" : "no");
		text_add(t, "sink.%s.pg_max_listeners = %" PRId64 "\n", n,
			 s->pg_max_listeners);
		text_add(t, "sink.%s.pg_max_channels = %" PRId64 "\n", n,
			 s->pg_max_channels);
		text_add(t, "sink.%s.table_channels = %s\n", n,
			 s->table_channels ? "yes" : "no");
		text_add(t, "sink.%s.nats_url = %s\n", n, str(s->nats.url));
		text_add(t, "sink.%s.nats_tls_ca = %s\n", n, str(s->nats.tls_ca));
		text_add(t, "sink.%s.nats_tls_cert = %s\n", n, str(s->nats.tls_cert));
		text_add(t, "sink.%s.nats_user = %s\n", n, str(s->nats.user));
		text_add(t, "sink.%s.nats_password_file = %s\n", n,
			 str(s->nats.password_file));
		text_add(t, "sink.%s.nats_token_file = %s\n", n, str(s->nats.token_file));
		text_add(t, "sink.%s.nats_subject_prefix = %s\n", n,
			 str(s->nats.subject_prefix));
		text_add(t, "sink.%s.nats_stream = %s\n", n, str(s->nats.stream));
		text_add(t, "sink.%s.nats_connect_timeout_ms = %" PRId64 "\n", n,
			 s->nats.connect_timeout_ms);
		text_add(t, "sink.%s.nats_identity = %s\n", n, str(s->nats_identity));
		text_add(t, "sink.%s.nats_max_pending = %" PRId64 "\n", n,
			 s->nats_max_pending);
		text_add(t, "sink.%s.nats_ack_timeout_ms = %" PRId64 "\n", n,
			 s->nats_ack_timeout_ms);
		text_add(t, "sink.%s.nats_stream_create = %s\n", n,
			 s->nats_stream_create ? "yes" : "no");
		text_add(t, "sink.%s.nats_replicas = %" PRId64 "\n", n, s->nats_replicas);
		text_add(t, "sink.%s.nats_duplicate_window_ms = %" PRId64 "\n", n,
			 s->nats_duplicate_window_ms);
		text_add(t, "sink.%s.nats_max_age_ms = %" PRId64 "\n", n,
			 s->nats_max_age_ms);
	}
}

static void diag_text(const struct config_diag *d, struct text *t)
{
	for (size_t i = 0; i < d->nlines; i++)
		text_add(t, "  | %s\n", d->lines[i]);
	if (d->nlines == 0)
		text_add(t, "  | (no problems)\n");
}

static char *case_path(const char *name)
{
	size_t len = strlen(case_dir) + 1 + strlen(name) + 1;
	char *p = malloc(len);
	ck_assert_ptr_nonnull(p);
	snprintf(p, len, "%s/%s", case_dir, name);
	return p;
}

static struct config *load_ok(const char *path)
{
	struct config_diag d = { 0 };
	struct config *cfg = config_load(path, &d);
	if (!cfg) {
		struct text t = { 0 };
		diag_text(&d, &t);
		ck_abort_msg("%s should load, but:\n%s", path, t.s);
	}
	ck_assert_uint_eq(d.nlines, 0);
	config_diag_free(&d);
	return cfg;
}

/* ";! equal-feed NAME OTHER.conf OTHERNAME yes|no" (or equal-sink). */
static void check_equal(const char *path, int dline, const struct config *cfg,
			const char *args, bool sinks)
{
	char name[128], other[256], oname[128], want[8];
	ck_assert_msg(sscanf(args, "%127s %255s %127s %7s", name, other, oname,
			     want) == 4,
		      "%s:%d: malformed equal directive", path, dline);
	char *opath = case_path(other);
	struct config *ocfg = load_ok(opath);
	bool eq;
	if (sinks) {
		const struct sink_config *a = config_sink(cfg, name);
		const struct sink_config *b = config_sink(ocfg, oname);
		ck_assert_msg(a && b, "%s:%d: no such sink", path, dline);
		eq = config_sink_equal(a, b);
		ck_assert_msg(config_sink_equal(b, a) == eq, "not symmetric");
	} else {
		const struct feed_config *a = config_feed(cfg, name);
		const struct feed_config *b = config_feed(ocfg, oname);
		ck_assert_msg(a && b, "%s:%d: no such feed", path, dline);
		eq = config_feed_equal(a, b);
		ck_assert_msg(config_feed_equal(b, a) == eq, "not symmetric");
	}
	ck_assert_msg(eq == (strcmp(want, "yes") == 0),
		      "%s:%d: %s %s vs %s %s: equal is %s, expected %s", path,
		      dline, name, sinks ? "sink" : "feed", other, oname,
		      eq ? "yes" : "no", want);
	config_free(ocfg);
	free(opath);
}

/* ";! equal-control OTHER.conf yes|no" (or equal-metrics): the daemon-wide
 * listeners' settings compared with OTHER.conf's. */
static void check_equal_global(const char *path, int dline,
			       const struct config *cfg, const char *args,
			       bool metrics)
{
	char other[256], want[8];
	ck_assert_msg(sscanf(args, "%255s %7s", other, want) == 2,
		      "%s:%d: malformed equal directive", path, dline);
	char *opath = case_path(other);
	struct config *ocfg = load_ok(opath);
	bool eq = metrics ? config_metrics_equal(cfg, ocfg) :
			    config_control_equal(cfg, ocfg);
	bool back = metrics ? config_metrics_equal(ocfg, cfg) :
			      config_control_equal(ocfg, cfg);
	ck_assert_msg(eq == back, "not symmetric");
	ck_assert_msg(eq == (strcmp(want, "yes") == 0),
		      "%s:%d: %s vs %s: equal is %s, expected %s", path, dline,
		      metrics ? "metrics" : "control", other, eq ? "yes" : "no",
		      want);
	config_free(ocfg);
	free(opath);
}

/* ";! spec FEED = STATEMENT": the statement libcrdb builds from the spec. */
static void check_spec(const char *path, int dline, const struct config *cfg,
		       const char *args)
{
	const char *eq = strstr(args, " = ");
	ck_assert_msg(eq, "%s:%d: malformed spec directive", path, dline);
	char name[128];
	snprintf(name, sizeof(name), "%.*s", (int)(eq - args), args);
	const struct feed_config *f = config_feed(cfg, name);
	ck_assert_msg(f, "%s:%d: no feed %s", path, dline, name);
	crdb_error err;
	crdb_error_clear(&err);
	crdb_feed_spec *spec = config_feed_spec(f, &err);
	ck_assert_msg(spec, "%s:%d: config_feed_spec: %s", path, dline,
		      err.message);
	ck_assert_ptr_null(crdb_feed_spec_option(spec, "cursor"));
	const char *param = "unset";
	char *stmt = crdb_feed_spec_build(spec, true, &param, &err);
	ck_assert_msg(stmt, "%s:%d: build: %s", path, dline, err.message);
	ck_assert_msg(param == NULL, "a cursor parameter without a cursor");
	ck_assert_msg(strcmp(stmt, eq + 3) == 0,
		      "%s:%d: feed %s builds\n  %s\nexpected\n  %s", path, dline,
		      name, stmt, eq + 3);
	crdb_free(stmt);
	crdb_feed_spec_free(spec);
}

/*
 * Replace {uid:NAME} and {gid:NAME} in an expect line by that user's or
 * group's id on this machine (so that cases do not assume /etc/passwd).
 */
static void expand_ids(const char *in, char *out, size_t size)
{
	size_t n = 0;
	while (*in && n + 1 < size) {
		bool user = strncmp(in, "{uid:", 5) == 0;
		if ((user || strncmp(in, "{gid:", 5) == 0) && strchr(in, '}')) {
			char name[128];
			size_t len = (size_t)(strchr(in, '}') - (in + 5));
			ck_assert_uint_lt(len, sizeof(name));
			memcpy(name, in + 5, len);
			name[len] = '\0';
			unsigned id;
			if (user) {
				struct passwd *pw = getpwnam(name);
				ck_assert_msg(pw, "no user %s here", name);
				id = (unsigned)pw->pw_uid;
			} else {
				struct group *gr = getgrnam(name);
				ck_assert_msg(gr, "no group %s here", name);
				id = (unsigned)gr->gr_gid;
			}
			int w = snprintf(out + n, size - n, "%u", id);
			ck_assert(w > 0 && (size_t)w < size - n);
			n += (size_t)w;
			in += 5 + len + 1;
		} else {
			out[n++] = *in++;
		}
	}
	out[n] = '\0';
}

static char *rstrip(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

START_TEST(test_case_file)
{
	const char *name = case_files[_i];
	char *path = case_path(name);
	FILE *fp = fopen(path, "r");
	ck_assert_msg(fp, "cannot open %s", path);

	/* First pass: the environment and the expected problems. */
	char line[LINE_MAX_LEN];
	struct text want = { 0 };
	size_t nwant = 0;
	int lineno = 0;
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		rstrip(line);
		if (strncmp(line, ";! env ", 7) == 0) {
			char *eq = strchr(line + 7, '=');
			if (eq) {
				*eq = '\0';
				ck_assert_int_eq(setenv(line + 7, eq + 1, 1), 0);
			} else {
				ck_assert_int_eq(unsetenv(line + 7), 0);
			}
		} else if (strncmp(line, ";! error ", 9) == 0) {
			char *msg = strstr(line + 9, ": ");
			ck_assert_msg(msg, "%s:%d: malformed error directive",
				      name, lineno);
			*msg = '\0';
			if (strcmp(line + 9, "-") == 0)
				text_add(&want, "%s: %s\n", path, msg + 2);
			else
				text_add(&want, "%s:%s: %s\n", path, line + 9,
					 msg + 2);
			nwant++;
		}
	}

	struct config_diag d = { 0 };
	struct config *cfg = config_load(path, &d);
	struct text got = { 0 };
	for (size_t i = 0; i < d.nlines; i++)
		text_add(&got, "%s\n", d.lines[i]);
	if (strcmp(got.s ? got.s : "", want.s ? want.s : "") != 0) {
		/* Check truncates long messages: the details go to stderr. */
		fprintf(stderr, "%s: problems differ.\ngot:\n%sexpected:\n%s",
			name, got.s ? got.s : "(none)\n",
			want.s ? want.s : "(none)\n");
		ck_abort_msg("%s: problems differ (see above)", name);
	}
	if (nwant > 0)
		ck_assert_msg(cfg == NULL, "%s: loaded despite problems", name);
	else
		ck_assert_msg(cfg != NULL, "%s: did not load", name);

	struct text dump = { 0 };
	if (cfg)
		dump_config(cfg, &dump);

	/* Second pass: the checks on the result. */
	rewind(fp);
	lineno = 0;
	size_t nchecks = 0;
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		rstrip(line);
		if (strncmp(line, ";! expect ", 10) == 0) {
			ck_assert_msg(cfg, "%s:%d: expect needs a loaded config",
				      name, lineno);
			/* Whole lines only: "x = 1" must not match "x = 10". */
			char expected[LINE_MAX_LEN];
			expand_ids(line + 10, expected, sizeof(expected));
			char needle[LINE_MAX_LEN + 2];
			snprintf(needle, sizeof(needle), "%s\n", expected);
			bool found = strncmp(dump.s, needle, strlen(needle)) == 0;
			char nl_needle[LINE_MAX_LEN + 3];
			snprintf(nl_needle, sizeof(nl_needle), "\n%s\n", expected);
			found = found || strstr(dump.s, nl_needle);
			if (!found)
				fprintf(stderr, "%s: the config is:\n%s", name, dump.s);
			ck_assert_msg(found, "%s:%d: no line '%s' (see above)",
				      name, lineno, expected);
			nchecks++;
		} else if (strncmp(line, ";! absent ", 10) == 0) {
			for (size_t i = 0; i < d.nlines; i++)
				ck_assert_msg(!strstr(d.lines[i], line + 10),
					      "%s: '%s' leaked in '%s'", name,
					      line + 10, d.lines[i]);
			nchecks++;
		} else if (strncmp(line, ";! spec ", 8) == 0) {
			ck_assert_msg(cfg, "%s:%d: spec needs a loaded config",
				      name, lineno);
			check_spec(name, lineno, cfg, line + 8);
			nchecks++;
		} else if (strncmp(line, ";! equal-feed ", 14) == 0) {
			ck_assert_msg(cfg, "%s:%d: needs a loaded config", name, lineno);
			check_equal(name, lineno, cfg, line + 14, false);
			nchecks++;
		} else if (strncmp(line, ";! equal-sink ", 14) == 0) {
			ck_assert_msg(cfg, "%s:%d: needs a loaded config", name, lineno);
			check_equal(name, lineno, cfg, line + 14, true);
			nchecks++;
		} else if (strncmp(line, ";! equal-control ", 17) == 0) {
			ck_assert_msg(cfg, "%s:%d: needs a loaded config", name, lineno);
			check_equal_global(name, lineno, cfg, line + 17, false);
			nchecks++;
		} else if (strncmp(line, ";! equal-metrics ", 17) == 0) {
			ck_assert_msg(cfg, "%s:%d: needs a loaded config", name, lineno);
			check_equal_global(name, lineno, cfg, line + 17, true);
			nchecks++;
		}
	}
	/* A case that checks nothing proves nothing. */
	ck_assert_msg(nwant + nchecks > 0, "%s: no ;! error/expect/spec/absent/equal lines",
		      name);
	fclose(fp);
	config_free(cfg);
	config_diag_free(&d);
	free(want.s);
	free(got.s);
	free(dump.s);
	free(path);
}
END_TEST

/* The shipped configs load (the demo one with its ${CRDB_DSN}). */
START_TEST(test_shipped_configs)
{
	static const char *const files[] = { "conf/crdbfeedd.conf",
					     "conf/crdbfeedd-minimal.conf",
					     "conf/demo.conf" };
	const char *name = files[_i];
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", srcdir(), name);
	ck_assert_int_eq(setenv("CRDB_DSN", "postgresql://root@127.0.0.1:1/defaultdb?sslmode=disable", 1), 0);
	struct config *cfg = load_ok(path);
	if (strcmp(name, "conf/demo.conf") == 0) {
		const struct feed_config *f = config_feed(cfg, "demo");
		ck_assert_ptr_nonnull(f);
		ck_assert_str_eq(f->dsn, "postgresql://root@127.0.0.1:1/defaultdb?sslmode=disable");
		ck_assert_uint_eq(f->ntables, 1);
		ck_assert_str_eq(f->tables[0], "demo");
		ck_assert_int_eq(f->resolved_ms, 1000);
		ck_assert_int_eq(f->start, FEED_START_INITIAL_SCAN);
		ck_assert_uint_eq(cfg->nsinks, 1);
		ck_assert_int_eq(cfg->sinks[0].type, SINK_STDOUT);
	}
	if (strcmp(name, "conf/crdbfeedd-minimal.conf") == 0) {
		ck_assert_uint_ge(cfg->nfeeds, 1);
		ck_assert_uint_ge(cfg->nsinks, 1);
	}
	config_free(cfg);
}
END_TEST

/* dsn-mask.txt: "INPUT<TAB>EXPECTED" per line; # comments. */
START_TEST(test_dsn_mask)
{
	struct case_file cf;
	int ncases_read = 0;
	cases_load_file("tests/daemon/config-cases/dsn-mask.txt", CASES_TAB, &cf);
	for (size_t i = 0; i < cf.count; i++) {
		const struct case_line *l = &cf.lines[i];
		ck_assert_msg(l->nfields == 2, "%s: want INPUT<TAB>EXPECTED",
			      case_where(l));
		char *masked = config_dsn_mask(l->field[0]);
		ck_assert_ptr_nonnull(masked);
		ck_assert_msg(strcmp(masked, l->field[1]) == 0,
			      "%s: '%s' masks to '%s', expected '%s'",
			      case_where(l), l->field[0], masked, l->field[1]);
		free(masked);
		ncases_read++;
	}
	ck_assert_int_gt(ncases_read, 5);
	cases_free(&cf);
}
END_TEST

/* listen-cases.txt: "INPUT<TAB>HOST PORT" or "INPUT<TAB>error". */
START_TEST(test_listen)
{
	struct case_file cf;
	int good = 0, bad = 0;
	cases_load_file("tests/daemon/config-cases/listen-cases.txt", CASES_TAB, &cf);
	for (size_t i = 0; i < cf.count; i++) {
		const struct case_line *l = &cf.lines[i];
		ck_assert_msg(l->nfields == 2, "%s: want INPUT<TAB>EXPECTED",
			      case_where(l));
		const char *line = l->field[0];
		const char *want = l->field[1];
		char host[64] = "unchanged";
		uint16_t port = 0;
		int rc = config_parse_listen(line, host, sizeof(host), &port);
		char got[128];
		if (rc == 0)
			snprintf(got, sizeof(got), "%s %u", host, (unsigned)port);
		else
			snprintf(got, sizeof(got), "error");
		ck_assert_msg(strcmp(got, want) == 0,
			      "%s: '%s' gives '%s', expected '%s'",
			      case_where(l), line, got, want);
		if (rc == 0) {
			/* Too small a host buffer is refused, not cut. */
			char tiny[2];
			ck_assert_int_eq(config_parse_listen(line, tiny, sizeof(tiny),
							     &port), -1);
			ck_assert_int_eq(config_parse_listen(line, NULL, 0, NULL), 0);
			good++;
		} else {
			bad++;
		}
	}
	ck_assert_int_ge(good, 5);
	ck_assert_int_ge(bad, 10);
	ck_assert_int_eq(config_parse_listen(NULL, NULL, 0, NULL), -1);
	cases_free(&cf);
}
END_TEST

/* The key table is consistent: enum defaults are among their values,
 * no key twice in a section, every key has help. */
START_TEST(test_key_table)
{
	ck_assert_uint_gt(cfg_nkeys, 30);
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		ck_assert_msg(k->help && strlen(k->help) > 10, "%s: no help", k->name);
		ck_assert_msg(!strchr(k->help, '\n'), "%s: help not one line", k->name);
		ck_assert_msg((k->type == CFG_ENUM) == (k->enum_values != NULL),
			      "%s: enum values", k->name);
		if (k->type == CFG_ENUM && k->default_value[0]) {
			char vals[256];
			snprintf(vals, sizeof(vals), "|%s|", k->enum_values);
			char needle[64];
			snprintf(needle, sizeof(needle), "|%s|", k->default_value);
			ck_assert_msg(strstr(vals, needle), "%s: default %s not in %s",
				      k->name, k->default_value, k->enum_values);
		}
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(cfg_keys[j].section != k->section ||
				      strcmp(cfg_keys[j].name, k->name) != 0,
				      "%s twice", k->name);
	}
}
END_TEST

/* Write bytes to a fresh temporary file; returns its path (caller frees
 * and unlinks). For inputs a text case file cannot hold. */
static char *temp_config(const char *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char *path = NULL;
	ck_assert_int_gt(asprintf(&path, "%s/check_config.XXXXXX",
				  dir && *dir ? dir : "/tmp"), 0);
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

/* Load generated bytes; the problems must be exactly want[] (each
 * prefixed with "<path>:"), or none. */
static void check_generated(const char *data, size_t len,
			    const char *const *want, size_t nwant)
{
	char *path = temp_config(data, len);
	struct config_diag d = { 0 };
	struct config *cfg = config_load(path, &d);
	if (d.nlines != nwant)
		for (size_t i = 0; i < d.nlines; i++)
			fprintf(stderr, "  | %s\n", d.lines[i]);
	ck_assert_uint_eq(d.nlines, nwant);
	for (size_t i = 0; i < nwant; i++) {
		char expect[512];
		snprintf(expect, sizeof(expect), "%s:%s", path, want[i]);
		ck_assert_str_eq(d.lines[i], expect);
	}
	ck_assert(nwant ? cfg == NULL : cfg != NULL);
	config_free(cfg);
	config_diag_free(&d);
	unlink(path);
	free(path);
}

/*
 * Reload: a change to any feed or sink key of the table, and to nothing
 * else, makes that feed or sink differ (config_feed_equal and
 * config_sink_equal walk the table, so a new key is covered without new
 * code). For each key, a value is tried by its type until one loads.
 */
struct kv {
	const char *key, *value;
};

static void section_text(struct text *t, const char *header,
			 const struct kv *kvs, size_t n, const char *key,
			 const char *value)
{
	bool done = false;
	text_add(t, "%s\n", header);
	for (size_t i = 0; i < n; i++) {
		if (key && strcmp(kvs[i].key, key) == 0) {
			text_add(t, "%s = %s\n", key, value);
			done = true;
		} else {
			text_add(t, "%s = %s\n", kvs[i].key, kvs[i].value);
		}
	}
	if (key && !done)
		text_add(t, "%s = %s\n", key, value);
}

/* eq_config: feed f is a job feed (source = job and the keys it needs),
 * or a relay (source = nats, with the keys that go in pairs). */
static bool eq_job, eq_nats;

/* The base config, with key = value in the section of kind (or none);
 * a sink key goes to sink "u" (unix), "o" (stdout), "q" (pg) or "s"
 * (nats, on the ordered feed h), by sink. */
static char *eq_config(enum cfg_section kind, char sink, const char *key,
		       const char *value, bool cursor)
{
	static const struct kv global[] = {
		{ "dsn", "postgresql://127.0.0.1:1/db" } };
	static const struct kv feed_plain[] = { { "tables", "t" } };
	static const struct kv feed_cursor[] = { { "tables", "t" },
		{ "start", "cursor" },
		{ "start_cursor", "1700000000000000000.0000000000" } };
	static const struct kv feed_job[] = { { "tables", "t" },
		{ "source", "job" }, { "ingest_listen", "127.0.0.1:8443" },
		{ "ingest_tls_cert", "/tmp/check-config-eq.crt" },
		{ "ingest_tls_key", "/tmp/check-config-eq.key" },
		{ "ingest_auth_file", "/tmp/check-config-eq.token" },
		{ "ingest_client_ca", "/tmp/check-config-eq-ca.crt" },
		{ "job_client_cert", "/tmp/check-config-eq-job.crt" },
		{ "job_client_key", "/tmp/check-config-eq-job.key" } };
	static const struct kv feed_nats[] = { { "source", "nats" },
		{ "nats_tls_cert", "/tmp/check-config-eq-nats.crt" },
		{ "nats_tls_key", "/tmp/check-config-eq-nats.key" },
		{ "nats_user", "u" },
		{ "nats_password_file", "/tmp/check-config-eq-nats.pw" } };
	static const struct kv other[] = { { "tables", "u" } };
	static const struct kv sink_u[] = { { "feed", "f" },
		{ "path", "/tmp/check-config-eq.sock" } };
	static const struct kv sink_o[] = { { "feed", "f" }, { "type", "stdout" } };
	static const struct kv sink_p[] = { { "feed", "g" },
		{ "path", "/tmp/check-config-eq-p.sock" } };
	static const struct kv notify[] = { { "kind", "notify" } };
	static const struct kv sink_q[] = { { "feed", "n" }, { "type", "pg" },
		{ "pg_dir", "/tmp" }, { "pg_tcp", "127.0.0.1:5999" },
		{ "pg_auth_file", "/tmp/check-config-eq.scram" },
		{ "pg_tls_cert", "/tmp/check-config-eq-pg.crt" },
		{ "pg_tls_key", "/tmp/check-config-eq-pg.key" } };
	static const struct kv ordered[] = { { "tables", "h" },
		{ "delivery", "ordered" } };
	static const struct kv sink_s[] = { { "feed", "h" }, { "type", "nats" },
		{ "nats_tls_cert", "/tmp/check-config-eq-nats.crt" },
		{ "nats_tls_key", "/tmp/check-config-eq-nats.key" },
		{ "nats_user", "u" },
		{ "nats_password_file", "/tmp/check-config-eq-nats.pw" },
		{ "nats_duplicate_window", "1s" } };
	struct text t = { 0 };
	bool f = kind == CFG_SECTION_FEED, u = kind == CFG_SECTION_SINK && sink == 'u',
	     o = kind == CFG_SECTION_SINK && sink == 'o',
	     q = kind == CFG_SECTION_SINK && sink == 'q',
	     s = kind == CFG_SECTION_SINK && sink == 's';
	section_text(&t, "[crdbfeedd]", global, 1, NULL, NULL);
	if (eq_job)
		section_text(&t, "[feed f]", feed_job, 9, f ? key : NULL, value);
	else if (eq_nats)
		section_text(&t, "[feed f]", feed_nats, 5, f ? key : NULL, value);
	else if (cursor)
		section_text(&t, "[feed f]", feed_cursor, 3, f ? key : NULL, value);
	else
		section_text(&t, "[feed f]", feed_plain, 1, f ? key : NULL, value);
	section_text(&t, "[feed g]", other, 1, NULL, NULL);
	section_text(&t, "[feed n]", notify, 1, NULL, NULL);
	section_text(&t, "[feed h]", ordered, 2, NULL, NULL);
	section_text(&t, "[sink u]", sink_u, 2, u ? key : NULL, value);
	section_text(&t, "[sink o]", sink_o, 2, o ? key : NULL, value);
	section_text(&t, "[sink p]", sink_p, 2, NULL, NULL);
	section_text(&t, "[sink q]", sink_q, 7, q ? key : NULL, value);
	section_text(&t, "[sink s]", sink_s, 7, s ? key : NULL, value);
	char *path = temp_config(t.s, t.len);
	free(t.s);
	return path;
}

static struct config *eq_load(enum cfg_section kind, char sink,
			      const char *key, const char *value, bool cursor)
{
	char *path = eq_config(kind, sink, key, value, cursor);
	struct config_diag d = { 0 };
	struct config *cfg = config_load(path, &d);
	config_diag_free(&d);
	unlink(path);
	free(path);
	return cfg;
}

START_TEST(test_reload_every_key)
{
	static const char *const candidates[][4] = {
		[CFG_STRING] = { "g", "wheel", NULL },
		[CFG_BOOL] = { "yes", "no", NULL },
		[CFG_INT] = { "7", "8", NULL },
		[CFG_DURATION] = { "7s", "90s", NULL },
		[CFG_SIZE] = { "2M", "100k", NULL },
		[CFG_MODE] = { "0600", "0640", NULL },
		[CFG_PATH] = { "/tmp/check-config-eq2.sock", NULL },
		[CFG_DSN] = { "postgresql://127.0.0.1:2/other", NULL },
		[CFG_TLS_FILE] = { "/tmp/check-config-eq.pem", NULL },
		[CFG_UIDS] = { "0", "1", NULL },
		[CFG_GIDS] = { "0", "1", NULL },
		[CFG_LISTEN] = { "127.0.0.1:9", NULL },
		[CFG_HLC] = { "1700000000000000001.0000000000", NULL },
	};
	struct config *base = eq_load(CFG_SECTION_GLOBAL, 'o', NULL, NULL, false);
	struct config *cbase = eq_load(CFG_SECTION_GLOBAL, 'o', NULL, NULL, true);
	eq_job = true;
	struct config *jbase = eq_load(CFG_SECTION_GLOBAL, 'o', NULL, NULL, false);
	eq_job = false;
	eq_nats = true;
	struct config *nbase = eq_load(CFG_SECTION_GLOBAL, 'o', NULL, NULL, false);
	eq_nats = false;
	ck_assert_msg(base && cbase && jbase && nbase, "the base configs do not load");
	size_t covered = 0;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section == CFG_SECTION_GLOBAL ||
		    (k->field == CFG_NO_FIELD && !(k->flags & CFG_F_OPTION)))
			continue;
		char sink = config_sink_key_applies(k, SINK_STDOUT) ? 'o' :
			    config_sink_key_applies(k, SINK_UNIX) ? 'u' :
			    config_sink_key_applies(k, SINK_PG) ? 'q' : 's';
		bool cursor = k->type == CFG_HLC;
		/* Keys of job feeds change a job feed (jbase). */
		eq_job = (k->flags & CFG_F_JOB_ONLY) != 0;
		eq_nats = k->section == CFG_SECTION_FEED && (k->flags & CFG_F_NATS_SRC);
		struct config *old = cursor ? cbase : eq_job ? jbase :
				     eq_nats ? nbase : base;
		/* Values to try: the enum's, or by type; the sink type with
		 * the path a unix sink needs is below. */
		const char *values[16];
		size_t nvalues = 0;
		char enumbuf[256];
		if (k->type == CFG_ENUM) {
			snprintf(enumbuf, sizeof(enumbuf), "%s", k->enum_values);
			for (char *v = strtok(enumbuf, "|"); v && nvalues < 16;
			     v = strtok(NULL, "|"))
				values[nvalues++] = v;
		} else if (strcmp(k->name, "nats_replicas") == 0) {
			values[nvalues++] = "3";
		} else if (strncmp(k->name, "ingest_listen", 13) == 0 ||
			   strcmp(k->name, "ingest_advertise") == 0) {
			values[nvalues++] = "127.0.0.1:9443";
		} else {
			for (size_t c = 0; c < 4 && candidates[k->type][c]; c++)
				values[nvalues++] = candidates[k->type][c];
		}
		bool differs = false;
		for (size_t v = 0; v < nvalues && !differs; v++) {
			struct config *cfg = eq_load(k->section, sink, k->name,
						     values[v], cursor);
			if (!cfg)
				continue;
			const char *name = k->section == CFG_SECTION_FEED ? "f" :
					   sink == 'u' ? "u" : sink == 'q' ? "q" :
					   sink == 's' ? "s" : "o";
			bool eq;
			if (k->section == CFG_SECTION_FEED) {
				eq = config_feed_equal(config_feed(old, name),
						       config_feed(cfg, name));
				/* The other feed and the sinks are untouched. */
				ck_assert(config_feed_equal(config_feed(old, "g"),
							    config_feed(cfg, "g")));
			} else {
				eq = config_sink_equal(config_sink(old, name),
						       config_sink(cfg, name));
				ck_assert(config_sink_equal(config_sink(old, "p"),
							    config_sink(cfg, "p")));
			}
			differs = !eq;
			config_free(cfg);
		}
		/* A job feed is the sinkless one with source = job and the
		 * keys that needs. */
		if (!differs && strcmp(k->name, "source") == 0)
			differs = !config_feed_equal(config_feed(base, "f"),
						     config_feed(jbase, "f"));
		eq_job = eq_nats = false;
		if (!differs && strcmp(k->name, "type") == 0 &&
		    k->section == CFG_SECTION_SINK) {
			char *path = eq_config(CFG_SECTION_SINK, 'o', "type",
					       "unix\npath = /tmp/check-config-eq3.sock",
					       false);
			struct config_diag d = { 0 };
			struct config *cfg = config_load(path, &d);
			ck_assert_msg(cfg, "type = unix does not load");
			differs = !config_sink_equal(config_sink(base, "o"),
						     config_sink(cfg, "o"));
			config_free(cfg);
			config_diag_free(&d);
			unlink(path);
			free(path);
		}
		ck_assert_msg(differs, "[%s] %s: no change to it makes a reload see a difference",
			      config_section_name(k->section), k->name);
		covered++;
	}
	ck_assert_uint_gt(covered, 25);
	/* And the same file twice is equal everywhere. */
	struct config *again = eq_load(CFG_SECTION_GLOBAL, 'o', NULL, NULL, false);
	ck_assert_ptr_nonnull(again);
	for (size_t i = 0; i < base->nfeeds; i++)
		ck_assert(config_feed_equal(&base->feeds[i], &again->feeds[i]));
	for (size_t i = 0; i < base->nsinks; i++)
		ck_assert(config_sink_equal(&base->sinks[i], &again->sinks[i]));
	config_free(again);
	config_free(base);
	config_free(cbase);
	config_free(jbase);
	config_free(nbase);
}
END_TEST

/* Reload keeps the running value of every restart key (state_dir) and
 * says which changed; live keys take the new value. */
START_TEST(test_keep_restart_keys)
{
	static const char a[] = "[crdbfeedd]\nstate_dir = /var/lib/a\nlog_level = info\n";
	static const char b[] = "[crdbfeedd]\nstate_dir = /var/lib/b\nlog_level = debug\n";
	char *pa = temp_config(a, sizeof(a) - 1), *pb = temp_config(b, sizeof(b) - 1);
	struct config *running = load_ok(pa), *next = load_ok(pb);
	char changed[64];
	ck_assert_uint_eq(config_keep_restart_keys(next, running, changed,
						   sizeof(changed)), 1);
	ck_assert_str_eq(changed, "state_dir");
	ck_assert_str_eq(next->state_dir, "/var/lib/a");
	ck_assert_int_eq(next->log_level, LOG_LEVEL_DEBUG);
	/* Nothing left to keep; a tiny buffer is cut, not overrun. */
	ck_assert_uint_eq(config_keep_restart_keys(next, running, changed, 4), 0);
	ck_assert_str_eq(changed, "");
	config_free(running);
	config_free(next);
	unlink(pa);
	unlink(pb);
	free(pa);
	free(pb);
}
END_TEST

/* Lines longer than 8192 bytes are refused by number, and reading goes
 * on with the right line numbers; 8192 bytes exactly are fine. */
START_TEST(test_long_lines)
{
	size_t cap = 3 * 8192;
	char *buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	int n = snprintf(buf, cap, "[crdbfeedd]\ndsn = ");
	memset(buf + n, 'x', 9000);
	n += 9000;
	n += snprintf(buf + n, cap - (size_t)n, "\nlog_level = loud\n;");
	memset(buf + n, 'y', 8191); /* with the ';': 8192 bytes */
	n += 8191;
	n += snprintf(buf + n, cap - (size_t)n, "\nstate_dir = rel");
	static const char *const want[] = {
		"2: line longer than 8192 bytes",
		"3: log_level: expected one of error|warning|notice|info|debug, not 'loud'",
		"5: state_dir: 'rel' is not an absolute path (relative paths would depend on the daemon's working directory)",
	};
	check_generated(buf, (size_t)n, want, 3);
	free(buf);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char data[] = "[crdbfeedd]\nlog_level = in\0fo\nlog_level = x\n";
	static const char *const want[] = {
		"2: line contains a NUL byte",
		"3: log_level: expected one of error|warning|notice|info|debug, not 'x'",
	};
	check_generated(data, sizeof(data) - 1, want, 2);
}
END_TEST

/* At most 100 problems, then one line saying the list stops. */
START_TEST(test_too_many_problems)
{
	char buf[8192];
	int n = snprintf(buf, sizeof(buf), "[crdbfeedd]\n");
	for (int i = 0; i < 150; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "bogus%d = 1\n", i);
	char *path = temp_config(buf, (size_t)n);
	struct config_diag d = { 0 };
	ck_assert_ptr_null(config_load(path, &d));
	ck_assert_uint_eq(d.nlines, 101);
	char expect[512];
	snprintf(expect, sizeof(expect), "%s:101: unknown key 'bogus99' in [crdbfeedd]",
		 path);
	ck_assert_str_eq(d.lines[99], expect);
	snprintf(expect, sizeof(expect), "%s: too many problems; stopped listing them",
		 path);
	ck_assert_str_eq(d.lines[100], expect);
	config_diag_free(&d);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_missing_file)
{
	struct config_diag d = { 0 };
	ck_assert_ptr_null(config_load("/nonexistent/crdbfeedd.conf", &d));
	ck_assert_uint_eq(d.nlines, 1);
	ck_assert_str_eq(d.lines[0], "/nonexistent/crdbfeedd.conf: cannot open: No such file or directory");
	config_diag_free(&d);
	/* A directory opens but cannot be read. */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/conf", srcdir());
	ck_assert_ptr_null(config_load(dir, &d));
	ck_assert_uint_eq(d.nlines, 1);
	char expect[4200];
	snprintf(expect, sizeof(expect), "%s: cannot read: Is a directory", dir);
	ck_assert_str_eq(d.lines[0], expect);
	config_diag_free(&d);
}
END_TEST

static const char *builddir(void)
{
	const char *d = getenv("top_builddir");
	return d && *d ? d : srcdir();
}

/* Run crdbfeedd with args (shell words, no quotes needed), return its
 * stdout and stderr together; *status: its exit status. */
static char *run_daemon(const char *args, int *status)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "'%s/daemon/crdbfeedd' %s 2>&1 </dev/null",
		 builddir(), args);
	FILE *fp = popen(cmd, "r");
	ck_assert_msg(fp, "cannot run %s", cmd);
	struct text out = { 0 };
	text_add(&out, "%s", "");
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf) - 1, fp)) > 0) {
		buf[n] = '\0';
		text_add(&out, "%s", buf);
	}
	int rc = pclose(fp);
	ck_assert_msg(rc != -1 && WIFEXITED(rc), "%s: did not exit", cmd);
	*status = WEXITSTATUS(rc);
	/* 127: the shell found no daemon; that must fail, not pass. */
	ck_assert_msg(*status != 127 && *status != 126, "%s: not run:\n%s",
		      cmd, out.s);
	return out.s;
}

/*
 * dsn-secrets.txt: a password never reaches a problem line, the masked DSN,
 * nor what `crdbfeedd --check-config` prints, for good and bad DSNs.
 */
START_TEST(test_dsn_secrets)
{
	struct case_file cf;
	int ngood = 0, nbad = 0;
	cases_load_file("tests/daemon/config-cases/dsn-secrets.txt", CASES_TAB, &cf);
	for (size_t k = 0; k < cf.count; k++) {
		/* DSN<TAB>SECRET[<TAB>SECRET...] */
		const struct case_line *l = &cf.lines[k];
		const char *line = l->field[0];
		int lineno = l->lineno;
		char *const *secrets = l->field + 1;
		size_t nsecrets = (size_t)l->nfields - 1;
		ck_assert_msg(nsecrets > 0, "dsn-secrets.txt:%d: no secret", lineno);
		char data[LINE_MAX_LEN + 256];
		int len = snprintf(data, sizeof(data),
				   "[crdbfeedd]\ndsn = %s\n[feed a]\ntables = t\n"
				   "[sink a]\nfeed = a\ntype = stdout\n", line);
		char *conf = temp_config(data, (size_t)len);
		struct config_diag d = { 0 };
		struct config *cfg = config_load(conf, &d);
		char *masked = config_dsn_mask(line);
		ck_assert_ptr_nonnull(masked);
		char args[4200];
		snprintf(args, sizeof(args), "--check-config -c '%s'", conf);
		int status;
		char *out = run_daemon(args, &status);
		ck_assert_msg(status == (cfg ? 0 : 1),
			      "dsn-secrets.txt:%d: --check-config exits %d:\n%s",
			      lineno, status, out);
		ck_assert_msg(cfg || strstr(out, "dsn: not a valid connection string"),
			      "dsn-secrets.txt:%d: --check-config says:\n%s", lineno, out);
		for (size_t i = 0; i < nsecrets; i++) {
			const char *sec = secrets[i];
			for (size_t j = 0; j < d.nlines; j++)
				ck_assert_msg(!strstr(d.lines[j], sec),
					      "dsn-secrets.txt:%d: '%s' in '%s'",
					      lineno, sec, d.lines[j]);
			ck_assert_msg(!strstr(masked, sec),
				      "dsn-secrets.txt:%d: '%s' in masked '%s'",
				      lineno, sec, masked);
			ck_assert_msg(!strstr(out, sec),
				      "dsn-secrets.txt:%d: '%s' in --check-config output '%s'",
				      lineno, sec, out);
		}
		if (cfg)
			ngood++;
		else
			nbad++;
		free(out);
		free(masked);
		config_free(cfg);
		config_diag_free(&d);
		unlink(conf);
		free(conf);
	}
	/* Both kinds, or the file is not testing what it says. */
	ck_assert_int_ge(ngood, 3);
	ck_assert_int_ge(nbad, 5);
	cases_free(&cf);
}
END_TEST

/* --help lists the keys, and never a value from the environment or a
 * config (it reads none): no password even when one is in CRDB_DSN. */
START_TEST(test_help_secrets)
{
	ck_assert_int_eq(setenv("CRDB_DSN", "postgresql://u:pwHELP1234@h/db", 1), 0);
	int status;
	char *out = run_daemon("--help", &status);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(strstr(out, "control_socket") && strstr(out, "sslkey"),
		      "--help lacks keys:\n%s", out);
	ck_assert_ptr_null(strstr(out, "pwHELP1234"));
	free(out);
	/* --check-config of the demo config, which takes CRDB_DSN. */
	char args[4200];
	snprintf(args, sizeof(args), "--check-config -c '%s/conf/demo.conf'",
		 srcdir());
	out = run_daemon(args, &status);
	ck_assert_msg(status == 0, "demo.conf: %s", out);
	ck_assert_ptr_null(strstr(out, "pwHELP1234"));
	free(out);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_cases(void)
{
	snprintf(case_dir, sizeof(case_dir), "%s/tests/daemon/config-cases",
		 srcdir());
	DIR *dir = opendir(case_dir);
	if (!dir) {
		fprintf(stderr, "check_config: cannot open %s (set top_srcdir)\n",
			case_dir);
		exit(1);
	}
	struct dirent *de;
	while ((de = readdir(dir)) && ncases < MAX_CASES) {
		size_t len = strlen(de->d_name);
		if (len > 5 && strcmp(de->d_name + len - 5, ".conf") == 0 &&
		    strncmp(de->d_name, "aux-", 4) != 0)
			case_files[ncases++] = strdup(de->d_name);
	}
	closedir(dir);
	qsort(case_files, ncases, sizeof(case_files[0]), cmp_str);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--print-keys") == 0) {
		config_print_keys(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--print-example") == 0) {
		config_print_example(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--print-help") == 0) {
		config_print_help(stdout);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--load") == 0) {
		/* For writing case files: the problems, or the dump. */
		struct config_diag d = { 0 };
		struct config *cfg = config_load(argv[2], &d);
		config_diag_print(&d, stdout);
		if (cfg) {
			struct text t = { 0 };
			dump_config(cfg, &t);
			fputs(t.s, stdout);
			free(t.s);
		}
		config_diag_free(&d);
		config_free(cfg);
		return cfg ? 0 : 1;
	}
	find_cases();
	if (ncases < 10) {
		fprintf(stderr, "check_config: only %zu case files in %s\n",
			ncases, case_dir);
		return 1;
	}
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("cases");
	tcase_add_loop_test(tc, test_case_file, 0, (int)ncases);
	tcase_add_loop_test(tc, test_shipped_configs, 0, 3);
	tcase_add_test(tc, test_dsn_mask);
	tcase_add_test(tc, test_listen);
	tcase_add_test(tc, test_dsn_secrets);
	tcase_add_test(tc, test_help_secrets);
	tcase_add_test(tc, test_key_table);
	tcase_add_test(tc, test_reload_every_key);
	tcase_add_test(tc, test_keep_restart_keys);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_too_many_problems);
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t i = 0; i < ncases; i++)
		free(case_files[i]);
	return failed ? 1 : 0;
}
