/*
 * config.c: crdbfeedd's configuration. Owns the key table (the one list of
 * every key, its type, default, reload policy and help), the INI reader, the
 * conversion and validation of values into a fresh struct config, the
 * comparison of feeds and sinks for reload, the changefeed spec of a feed,
 * and the --help / example printers.
 *
 * Our own small parser rather than libinih: every problem must be reported
 * as "file:line: message", all of them at once, and inih does not hand the
 * line number of a key to its handler.
 *
 * File shape: `[crdbfeedd]`, `[feed NAME]`, `[sink NAME]` sections, `key =
 * value` lines, `;` or `#` comments (whole lines, or after whitespace at the
 * end of a line), values trimmed, no continuations, lines at most
 * CFG_LINE_MAX bytes. An empty value means "not set" (the default applies).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "config.h" /* daemon/config.h: this directory comes first */

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pwd.h>
#include <unistd.h>

#include <libpq-fe.h>

#define CFG_LINE_MAX 8192       /* bytes per line, without the newline */
#define CFG_NAME_MAX 64         /* feed and sink names */
#define CFG_DIAG_MAX 100        /* problems reported before giving up */
#define CFG_DIAG_LEN 1024       /* bytes per problem line */
#define CFG_DURATION_MAX_MS (INT64_C(30) * 24 * 3600 * 1000) /* 30 days */
#define CFG_SIZE_MAX ((size_t)1 << 30)                         /* 1 GiB */
#define CFG_BUFFER_MIN ((size_t)4096)

#define ENVELOPES "wrapped|bare|row|key_only|enriched"

/* ------------------------------------------------------------------ */
/* The key table                                                       */
/* ------------------------------------------------------------------ */

/*
 * A feed or sink key inherits from the [crdbfeedd] key of the same name and
 * type: unset in the section, the global value applies, then the global
 * default. Order here is the order of --help and the example config.
 */
const struct cfg_key cfg_keys[] = {
	{ CFG_SECTION_GLOBAL, "dsn", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "default connection string (URI or key=value) of every feed; ${VAR} and ${VAR:-default} take environment variables" },
	{ CFG_SECTION_GLOBAL, "password_file", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "default file (absolute path) holding the DSN password, read at each connect" },
	{ CFG_SECTION_GLOBAL, "credential", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "default systemd credential holding the password: $CREDENTIALS_DIRECTORY/NAME (LoadCredential=)" },
	{ CFG_SECTION_GLOBAL, "sslrootcert", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "default CA certificate file of feeds: absolute path, or credential:NAME for $CREDENTIALS_DIRECTORY/NAME" },
	{ CFG_SECTION_GLOBAL, "sslcert", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "default client certificate file of feeds: absolute path or credential:NAME" },
	{ CFG_SECTION_GLOBAL, "sslkey", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "default client key file of feeds: absolute path or credential:NAME" },
	{ CFG_SECTION_GLOBAL, "state_dir", CFG_STRING, "/var/lib/crdbfeedd", NULL, CFG_RELOAD_RESTART,
	  "directory (absolute path) of the feeds' checkpoints; ${VAR} and ${VAR:-default} take environment variables" },
	{ CFG_SECTION_GLOBAL, "log_level", CFG_ENUM, "info", "error|warning|notice|info|debug", CFG_RELOAD_LIVE,
	  "least important messages logged" },
	{ CFG_SECTION_GLOBAL, "control_socket", CFG_STRING, "", NULL, CFG_RELOAD_LIVE,
	  "absolute path of the control socket (status, metrics, pause, resume, reload; crdbfeedctl uses /run/crdbfeedd/control.sock); unset: none" },
	{ CFG_SECTION_GLOBAL, "control_mode", CFG_MODE, "0660", NULL, CFG_RELOAD_LIVE,
	  "file mode of the control and metrics sockets (octal)" },
	{ CFG_SECTION_GLOBAL, "control_group", CFG_STRING, "", NULL, CFG_RELOAD_LIVE,
	  "group of the control and metrics sockets (unset: the daemon's group)" },
	{ CFG_SECTION_GLOBAL, "control_allow_users", CFG_LIST, "", NULL, CFG_RELOAD_LIVE,
	  "users (names or uids) let in on the control socket; with control_allow_groups unset too: anyone who can open it" },
	{ CFG_SECTION_GLOBAL, "control_allow_groups", CFG_LIST, "", NULL, CFG_RELOAD_LIVE,
	  "groups (names or gids) whose members, by primary group, are let in on the control socket" },
	{ CFG_SECTION_GLOBAL, "metrics_socket", CFG_STRING, "", NULL, CFG_RELOAD_LIVE,
	  "absolute path of a Unix socket serving Prometheus metrics over HTTP (GET /metrics); unset: none" },
	{ CFG_SECTION_GLOBAL, "metrics_listen", CFG_STRING, "", NULL, CFG_RELOAD_LIVE,
	  "loopback TCP address serving Prometheus metrics: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT; unset: none" },
	{ CFG_SECTION_GLOBAL, "resolved", CFG_DURATION, "10s", NULL, CFG_RELOAD_FEED,
	  "default resolved timestamp interval of feeds, also sent as min_checkpoint_frequency" },
	{ CFG_SECTION_GLOBAL, "envelope", CFG_ENUM, "", ENVELOPES, CFG_RELOAD_FEED,
	  "default envelope of feeds (unset: wrapped for tables, bare for a query)" },
	{ CFG_SECTION_GLOBAL, "start", CFG_ENUM, "initial_scan", "initial_scan|now|cursor", CFG_RELOAD_FEED,
	  "default start of a feed without a checkpoint: current rows first, only new changes, or start_cursor" },
	{ CFG_SECTION_GLOBAL, "backoff_initial", CFG_DURATION, "1s", NULL, CFG_RELOAD_FEED,
	  "default first reconnect delay after a transient error (doubles, with jitter)" },
	{ CFG_SECTION_GLOBAL, "backoff_max", CFG_DURATION, "60s", NULL, CFG_RELOAD_FEED,
	  "default longest reconnect delay" },
	{ CFG_SECTION_GLOBAL, "stall_timeout", CFG_DURATION, "0", NULL, CFG_RELOAD_FEED,
	  "default silence after which a feed is cancelled and reconnected (0: max(30s, 5 x resolved))" },
	{ CFG_SECTION_GLOBAL, "buffer", CFG_SIZE, "1M", NULL, CFG_RELOAD_FEED,
	  "default output buffer of each sink subscriber (k, M, G suffixes: 1024 based)" },
	{ CFG_SECTION_GLOBAL, "allow_users", CFG_LIST, "", NULL, CFG_RELOAD_FEED,
	  "default users (names or uids) let in on unix sinks; with allow_groups unset too: anyone who can open the socket" },
	{ CFG_SECTION_GLOBAL, "allow_groups", CFG_LIST, "", NULL, CFG_RELOAD_FEED,
	  "default groups (names or gids) whose members, by primary group, are let in on unix sinks" },

	{ CFG_SECTION_FEED, "dsn", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "connection string of this feed (default: [crdbfeedd] dsn); ${VAR} and ${VAR:-default} expanded" },
	{ CFG_SECTION_FEED, "password_file", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "file (absolute path) holding the password (default: [crdbfeedd] password_file)" },
	{ CFG_SECTION_FEED, "credential", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "systemd credential holding the password (default: [crdbfeedd] credential)" },
	{ CFG_SECTION_FEED, "sslrootcert", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "CA certificate file for sslmode verify-ca/verify-full: absolute path or credential:NAME (default: [crdbfeedd] sslrootcert)" },
	{ CFG_SECTION_FEED, "sslcert", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "client certificate file: absolute path or credential:NAME (default: [crdbfeedd] sslcert)" },
	{ CFG_SECTION_FEED, "sslkey", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "client key file: absolute path or credential:NAME (default: [crdbfeedd] sslkey)" },
	{ CFG_SECTION_FEED, "tables", CFG_LIST, "", NULL, CFG_RELOAD_FEED,
	  "target tables: t, s.t or db.s.t, each optionally followed by FAMILY f (or set query)" },
	{ CFG_SECTION_FEED, "query", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "CDC query instead of tables: SELECT ... FROM t [WHERE ...]" },
	{ CFG_SECTION_FEED, "options", CFG_LIST, "", NULL, CFG_RELOAD_FEED,
	  "other changefeed options, name or name=value, checked when the file is loaded" },
	{ CFG_SECTION_FEED, "envelope", CFG_ENUM, "", ENVELOPES, CFG_RELOAD_FEED,
	  "envelope of the rows (default: [crdbfeedd] envelope)" },
	{ CFG_SECTION_FEED, "diff", CFG_BOOL, "no", NULL, CFG_RELOAD_FEED,
	  "send the row before the change too (wrapped envelope), so inserts and updates differ" },
	{ CFG_SECTION_FEED, "updated", CFG_BOOL, "no", NULL, CFG_RELOAD_FEED,
	  "send each change's commit timestamp" },
	{ CFG_SECTION_FEED, "mvcc_timestamp", CFG_BOOL, "no", NULL, CFG_RELOAD_FEED,
	  "send each row's MVCC timestamp" },
	{ CFG_SECTION_FEED, "split_column_families", CFG_BOOL, "no", NULL, CFG_RELOAD_FEED,
	  "one event per column family for tables with several families" },
	{ CFG_SECTION_FEED, "schema_change_policy", CFG_ENUM, "", "backfill|nobackfill|stop|ignore", CFG_RELOAD_FEED,
	  "what a schema change does to the feed (unset: the server's default, backfill)" },
	{ CFG_SECTION_FEED, "resolved", CFG_DURATION, "", NULL, CFG_RELOAD_FEED,
	  "resolved timestamp interval (default: [crdbfeedd] resolved)" },
	{ CFG_SECTION_FEED, "start", CFG_ENUM, "", "initial_scan|now|cursor", CFG_RELOAD_FEED,
	  "start without a checkpoint (default: [crdbfeedd] start)" },
	{ CFG_SECTION_FEED, "start_cursor", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "with start = cursor: HLC (wall.logical) or RFC 3339 time to start from" },
	{ CFG_SECTION_FEED, "backoff_initial", CFG_DURATION, "", NULL, CFG_RELOAD_FEED,
	  "first reconnect delay (default: [crdbfeedd] backoff_initial)" },
	{ CFG_SECTION_FEED, "backoff_max", CFG_DURATION, "", NULL, CFG_RELOAD_FEED,
	  "longest reconnect delay (default: [crdbfeedd] backoff_max)" },
	{ CFG_SECTION_FEED, "stall_timeout", CFG_DURATION, "", NULL, CFG_RELOAD_FEED,
	  "silence before a reconnect (default: [crdbfeedd] stall_timeout)" },

	{ CFG_SECTION_SINK, "feed", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "the feed this sink serves (required)" },
	{ CFG_SECTION_SINK, "type", CFG_ENUM, "unix", "unix|stdout", CFG_RELOAD_FEED,
	  "listen on a Unix socket, or write to standard output" },
	{ CFG_SECTION_SINK, "path", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "type = unix: absolute path of the socket (required)" },
	{ CFG_SECTION_SINK, "mode", CFG_MODE, "0660", NULL, CFG_RELOAD_FEED,
	  "type = unix: file mode of the socket (octal)" },
	{ CFG_SECTION_SINK, "group", CFG_STRING, "", NULL, CFG_RELOAD_FEED,
	  "type = unix: group of the socket (unset: the daemon's group)" },
	{ CFG_SECTION_SINK, "allow_users", CFG_LIST, "", NULL, CFG_RELOAD_FEED,
	  "type = unix: users (names or uids) let in, checked on connect (default: [crdbfeedd] allow_users)" },
	{ CFG_SECTION_SINK, "allow_groups", CFG_LIST, "", NULL, CFG_RELOAD_FEED,
	  "type = unix: groups (names or gids) whose members, by primary group, are let in (default: [crdbfeedd] allow_groups)" },
	{ CFG_SECTION_SINK, "policy", CFG_ENUM, "", "block|disconnect|drop", CFG_RELOAD_FEED,
	  "when a subscriber's buffer is full (unset: disconnect for unix, block for stdout)" },
	{ CFG_SECTION_SINK, "buffer", CFG_SIZE, "", NULL, CFG_RELOAD_FEED,
	  "output buffer of each subscriber (default: [crdbfeedd] buffer)" },
	{ CFG_SECTION_SINK, "low_watermark", CFG_SIZE, "", NULL, CFG_RELOAD_FEED,
	  "policy = block: resume reading the feed below this (unset: half the buffer)" },
	{ CFG_SECTION_SINK, "resolved", CFG_BOOL, "yes", NULL, CFG_RELOAD_FEED,
	  "send resolved timestamp lines to subscribers that do not say otherwise" },
};
const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);

static const char *const section_names[] = {
	[CFG_SECTION_GLOBAL] = "crdbfeedd",
	[CFG_SECTION_FEED] = "feed",
	[CFG_SECTION_SINK] = "sink",
};

static const char *const type_names[] = {
	[CFG_STRING] = "string", [CFG_BOOL] = "boolean", [CFG_INT] = "integer",
	[CFG_DURATION] = "duration", [CFG_SIZE] = "size", [CFG_ENUM] = "enum",
	[CFG_MODE] = "octal mode", [CFG_LIST] = "list",
};

static const char *const reload_names[] = {
	[CFG_RELOAD_LIVE] = "live", [CFG_RELOAD_FEED] = "feed",
	[CFG_RELOAD_RESTART] = "restart",
};

const char *config_section_name(enum cfg_section section)
{
	return section_names[section];
}

const char *config_type_name(enum cfg_type type)
{
	return type_names[type];
}

const char *config_reload_name(enum cfg_reload reload)
{
	return reload_names[reload];
}

static ssize_t key_index(enum cfg_section section, const char *name)
{
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].section == section &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* The [crdbfeedd] key a feed or sink key falls back to, or -1. */
static ssize_t inherited_index(size_t idx)
{
	const struct cfg_key *k = &cfg_keys[idx];
	if (k->section == CFG_SECTION_GLOBAL)
		return -1;
	ssize_t g = key_index(CFG_SECTION_GLOBAL, k->name);
	if (g < 0 || cfg_keys[g].type != k->type)
		return -1;
	return g;
}

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */
/* ------------------------------------------------------------------ */

void config_diag_free(struct config_diag *diag)
{
	if (!diag)
		return;
	for (size_t i = 0; i < diag->nlines; i++)
		free(diag->lines[i]);
	free(diag->lines);
	diag->lines = NULL;
	diag->nlines = 0;
}

void config_diag_print(const struct config_diag *diag, FILE *out)
{
	for (size_t i = 0; diag && i < diag->nlines; i++)
		fprintf(out, "%s\n", diag->lines[i]);
}

/* Everything one load needs; problems go to diag, `failed` remembers any. */
struct loader {
	const char *file;
	struct config_diag *diag;
	int *diag_line;  /* the line of each diag line, for sorting */
	bool failed;
	bool oom;
};

static void diag_add_line(struct loader *ld, int line, const char *text)
{
	ld->failed = true;
	if (ld->oom || ld->diag->nlines > CFG_DIAG_MAX)
		return;
	/* A bad global value reached through several feeds: say it once. */
	for (size_t i = 0; i < ld->diag->nlines; i++)
		if (strcmp(ld->diag->lines[i], text) == 0)
			return;
	char last[CFG_DIAG_LEN];
	if (ld->diag->nlines == CFG_DIAG_MAX) {
		snprintf(last, sizeof(last), "%.*s: too many problems; stopped listing them",
			 CFG_DIAG_LEN - 64, ld->file);
		text = last;
	}
	char **lines = realloc(ld->diag->lines,
			       (ld->diag->nlines + 1) * sizeof(*lines));
	if (!lines) {
		ld->oom = true;
		return;
	}
	ld->diag->lines = lines;
	int *nums = realloc(ld->diag_line,
			    (ld->diag->nlines + 1) * sizeof(*nums));
	if (!nums) {
		ld->oom = true;
		return;
	}
	ld->diag_line = nums;
	/* Whole-file lines (0) and the final "too many" go last. */
	nums[ld->diag->nlines] = line > 0 && ld->diag->nlines < CFG_DIAG_MAX ?
				 line : INT_MAX;
	char *copy = strdup(text);
	if (!copy) {
		ld->oom = true;
		return;
	}
	lines[ld->diag->nlines++] = copy;
}

/* Report "file:line: message" (line 0: "file: message"). */
static void diag(struct loader *ld, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void diag(struct loader *ld, int line, const char *fmt, ...)
{
	char text[CFG_DIAG_LEN];
	int n;
	if (line > 0)
		n = snprintf(text, sizeof(text), "%s:%d: ", ld->file, line);
	else
		n = snprintf(text, sizeof(text), "%s: ", ld->file);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	diag_add_line(ld, line, text);
}

/* Problems are found section by section; people read them by line. */
static void diag_sort(struct loader *ld)
{
	char **lines = ld->diag->lines;
	int *nums = ld->diag_line;
	for (size_t i = 1; nums && i < ld->diag->nlines; i++) {
		char *l = lines[i];
		int n = nums[i];
		size_t j = i;
		for (; j > 0 && nums[j - 1] > n; j--) {
			lines[j] = lines[j - 1];
			nums[j] = nums[j - 1];
		}
		lines[j] = l;
		nums[j] = n;
	}
}

static void diag_oom(struct loader *ld)
{
	if (!ld->oom)
		diag(ld, 0, "out of memory");
	ld->oom = true;
	ld->failed = true;
}

/* ------------------------------------------------------------------ */
/* Small string helpers                                                */
/* ------------------------------------------------------------------ */

static char *xstrndup(struct loader *ld, const char *s, size_t len)
{
	char *p = malloc(len + 1);
	if (!p) {
		diag_oom(ld);
		return NULL;
	}
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static char *xstrdup(struct loader *ld, const char *s)
{
	return s ? xstrndup(ld, s, strlen(s)) : NULL;
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Length of s without trailing blanks. */
static size_t trimmed_len(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

static bool name_is_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > CFG_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Password masking                                                    */
/* ------------------------------------------------------------------ */

#define MASK "***"

/* Append to a bounded growing string; false on ENOMEM. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static bool sbuf_add(struct sbuf *b, const char *s, size_t len)
{
	if (len > (SIZE_MAX / 4) - b->len)
		return false; /* also keeps cap's doubling from overflowing */
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p)
			return false;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
	return true;
}

static bool dsn_is_uri(const char *dsn)
{
	return strncmp(dsn, "postgresql://", 13) == 0 ||
	       strncmp(dsn, "postgres://", 11) == 0;
}

/*
 * After a key=value password: words that are no "key =" (a password with
 * blanks, unquoted) belong to it, so they are masked too. Returns where
 * the next keyword starts (or the end).
 */
static const char *skip_stray_words(const char *p)
{
	for (;;) {
		const char *q = p;
		while (isspace((unsigned char)*q))
			q++;
		const char *word = q;
		while (*q && *q != '=' && !isspace((unsigned char)*q))
			q++;
		if (q == word)
			return p;
		const char *after = q;
		while (isspace((unsigned char)*after))
			after++;
		if (*after == '=')
			return p;
		p = q;
	}
}

/*
 * Copy dsn with every password written in it replaced by ***: the
 * user:password@ of a URI, its password= query parameter, or the password
 * keyword of a key=value string. Textual, so it also works on strings libpq
 * refuses. *found (may be NULL) receives the first password as written.
 */
static char *mask_dsn(const char *dsn, char **found)
{
	struct sbuf b = { 0 };
	bool ok = true;
	if (found)
		*found = NULL;
	if (dsn_is_uri(dsn)) {
		/* dsn_is_uri: the scheme ends at the first "://" */
		size_t scheme_len = strncmp(dsn, "postgres://", 11) == 0 ? 11 : 13;
		const char *p = dsn + scheme_len;
		/* Indexes from p: the userinfo's last '@' and its first ':'. */
		size_t auth_len = strcspn(p, "/?"), at = SIZE_MAX, colon = SIZE_MAX;
		for (size_t i = 0; i < auth_len; i++)
			if (p[i] == '@')
				at = i;
		for (size_t i = 0; at != SIZE_MAX && i < at; i++)
			if (p[i] == ':') {
				colon = i;
				break;
			}
		if (colon != SIZE_MAX) {
			ok = sbuf_add(&b, dsn, scheme_len + colon + 1) &&
			     sbuf_add(&b, MASK, strlen(MASK));
			if (found && !*found)
				*found = strndup(p + colon + 1, at - colon - 1);
			p += at;
		} else {
			ok = sbuf_add(&b, dsn, scheme_len);
		}
		/* The rest, masking ?password=... and &password=... */
		while (ok && *p) {
			const char *sep = p + strcspn(p, "?&");
			ok = sbuf_add(&b, p, (size_t)(sep - p));
			if (!ok || !*sep)
				break;
			ok = sbuf_add(&b, sep, 1);
			p = sep + 1;
			if (strncmp(p, "password=", 9) == 0) {
				size_t vlen = strcspn(p + 9, "&");
				if (found && !*found)
					*found = strndup(p + 9, vlen);
				ok = sbuf_add(&b, p, 9) &&
				     sbuf_add(&b, MASK, strlen(MASK));
				p += 9 + vlen;
			}
		}
	} else {
		/* key = value pairs; values bare or '...' with \ escapes */
		const char *p = dsn;
		while (ok && *p) {
			const char *start = p;
			while (isspace((unsigned char)*p))
				p++;
			const char *kw = p;
			while (*p && *p != '=' && !isspace((unsigned char)*p))
				p++;
			size_t kwlen = (size_t)(p - kw);
			while (isspace((unsigned char)*p))
				p++;
			if (*p != '=') {
				ok = sbuf_add(&b, start, strlen(start));
				break;
			}
			p++;
			while (isspace((unsigned char)*p))
				p++;
			const char *val = p;
			if (*p == '\'') {
				p++;
				while (*p && *p != '\'') {
					if (*p == '\\' && p[1])
						p++;
					p++;
				}
				if (*p == '\'')
					p++;
			} else {
				while (*p && !isspace((unsigned char)*p))
					p++;
			}
			if (kwlen == 8 && strncmp(kw, "password", 8) == 0) {
				if (found && !*found) {
					const char *v = val, *e = p;
					if (*v == '\'') {
						v++;
						if (e > v && e[-1] == '\'')
							e--;
					}
					*found = strndup(v, (size_t)(e - v));
				}
				ok = sbuf_add(&b, start, (size_t)(val - start)) &&
				     sbuf_add(&b, MASK, strlen(MASK));
				p = skip_stray_words(p);
			} else {
				ok = sbuf_add(&b, start, (size_t)(p - start));
			}
		}
	}
	if (ok && !b.s)
		ok = sbuf_add(&b, "", 0);
	if (!ok) {
		free(b.s);
		if (found) {
			free(*found);
			*found = NULL;
		}
		return NULL;
	}
	return b.s;
}

char *config_dsn_mask(const char *dsn)
{
	if (!dsn)
		return NULL;
	char *found = NULL;
	char *masked = mask_dsn(dsn, &found);
	if (!masked)
		return NULL;
	/* Belt and braces: if libpq sees a password our scan missed, and it
	 * is still in the text, show nothing of the DSN. */
	PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
	if (opts) {
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, "password") == 0 && o->val &&
			    o->val[0] && strstr(masked, o->val)) {
				free(masked);
				masked = strdup("(connection string hidden: it holds a password)");
				break;
			}
		PQconninfoFree(opts);
	}
	free(found);
	return masked;
}

/* Replace every occurrence of secret in text (of size bytes) by ***,
 * truncating if the result would not fit. */
static void mask_secret(char *text, size_t size, const char *secret)
{
	if (!secret || !*secret)
		return;
	char out[CFG_DIAG_LEN];
	size_t n = 0, slen = strlen(secret);
	const char *p = text;
	while (*p && n + 1 < sizeof(out)) {
		if (strncmp(p, secret, slen) == 0) {
			for (const char *m = MASK; *m && n + 1 < sizeof(out); m++)
				out[n++] = *m;
			p += slen;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	snprintf(text, size, "%s", out);
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* "1500ms", "10s", "1m30s", "2h", "0": a sum of <digits><unit>. */
static int parse_duration(const char *s, int64_t *out_ms)
{
	if (strcmp(s, "0") == 0) {
		*out_ms = 0;
		return 0;
	}
	int64_t total = 0;
	const char *p = s;
	if (!*p)
		return -1;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -1;
		int64_t n = 0;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p - '0');
			if (n > CFG_DURATION_MAX_MS)
				return -1;
			p++;
		}
		int64_t unit;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60 * 1000;
			p++;
		} else if (*p == 'h') {
			unit = 3600 * 1000;
			p++;
		} else {
			return -1;
		}
		if (n > CFG_DURATION_MAX_MS / unit)
			return -1;
		total += n * unit;
		if (total > CFG_DURATION_MAX_MS)
			return -1;
	}
	*out_ms = total;
	return 0;
}

/* "65536", "64k", "1M", "1G" (1024 based). */
static int parse_size(const char *s, size_t *out)
{
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	uint64_t n = 0;
	while (isdigit((unsigned char)*p)) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > CFG_SIZE_MAX)
			return -1;
		p++;
	}
	uint64_t unit = 1;
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		unit = 1024;
		break;
	case 'm': case 'M':
		unit = 1024 * 1024;
		break;
	case 'g': case 'G':
		unit = 1024 * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (*p && p[1])
		return -1;
	if (n > CFG_SIZE_MAX / unit)
		return -1;
	*out = (size_t)(n * unit);
	return 0;
}

static int parse_mode(const char *s, mode_t *out)
{
	unsigned v = 0;
	if (!*s || strlen(s) > 4)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		v = v * 8 + (unsigned)(*p - '0');
	}
	if (v > 0777)
		return -1;
	*out = (mode_t)v;
	return 0;
}

/* Index of s among "a|b|c" (any case, as the server takes them), or -1. */
static int parse_enum(const char *s, const char *values)
{
	int i = 0;
	const char *p = values;
	size_t len = strlen(s);
	while (*p) {
		size_t n = strcspn(p, "|");
		if (n == len && strncasecmp(p, s, n) == 0)
			return i;
		p += n;
		if (*p == '|')
			p++;
		i++;
	}
	return -1;
}

/* The canonical spelling of enum value i. */
static void enum_name(const char *values, int i, char *buf, size_t size)
{
	const char *p = values;
	for (; i > 0 && *p; i--)
		p += strcspn(p, "|") + (p[strcspn(p, "|")] == '|');
	snprintf(buf, size, "%.*s", (int)strcspn(p, "|"), p);
}

/*
 * Split a comma separated list, honouring '...' and "..." (so quoted
 * identifiers and option values may hold commas). Elements are trimmed.
 * Returns the element count, or -1 with *why set.
 */
static ssize_t split_list(struct loader *ld, const char *s, char ***out,
			  const char **why)
{
	char **items = NULL;
	size_t n = 0;
	const char *p = s;
	*out = NULL;
	*why = NULL;
	for (;;) {
		p = skip_space(p);
		const char *start = p;
		char quote = 0;
		while (*p && (quote || *p != ',')) {
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '"' || *p == '\''))
				quote = *p;
			p++;
		}
		if (quote) {
			*why = "unterminated quote";
			goto fail;
		}
		size_t len = trimmed_len(start, (size_t)(p - start));
		if (len == 0) {
			*why = "empty element";
			goto fail;
		}
		char **grown = realloc(items, (n + 1) * sizeof(*items));
		if (!grown) {
			diag_oom(ld);
			goto fail;
		}
		items = grown;
		if (!(items[n] = xstrndup(ld, start, len)))
			goto fail;
		n++;
		if (!*p)
			break;
		p++; /* the comma */
	}
	*out = items;
	return (ssize_t)n;
fail:
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
	return -1;
}

static void free_list(char **items, size_t n)
{
	for (size_t i = 0; items && i < n; i++)
		free(items[i]);
	free(items);
}

/*
 * Expand ${NAME} and ${NAME:-default} from the environment (dsn and
 * state_dir only). A `$` not followed by `{` is kept. Returns a new string,
 * or NULL with why set ("unset": the variable named in namebuf).
 */
static char *expand_env(struct loader *ld, const char *s, char *namebuf,
			size_t namesize, const char **why)
{
	struct sbuf b = { 0 };
	const char *p = s;
	*why = NULL;
	while (*p) {
		const char *dollar = strstr(p, "${");
		if (!dollar) {
			if (!sbuf_add(&b, p, strlen(p)))
				goto oom;
			break;
		}
		if (!sbuf_add(&b, p, (size_t)(dollar - p)))
			goto oom;
		const char *name = dollar + 2;
		const char *close = strchr(name, '}');
		size_t len = 0;
		while (close && name + len < close &&
		       (isalnum((unsigned char)name[len]) || name[len] == '_'))
			len++;
		const char *fallback = NULL;
		if (close && name + len < close) {
			if (strncmp(name + len, ":-", 2) == 0)
				fallback = name + len + 2;
			else
				len = 0;
		}
		if (!close || len == 0 || len >= namesize ||
		    isdigit((unsigned char)name[0])) {
			*why = "malformed ${NAME} or ${NAME:-default}";
			goto fail;
		}
		memcpy(namebuf, name, len);
		namebuf[len] = '\0';
		const char *val = getenv(namebuf);
		size_t vlen = val ? strlen(val) : 0;
		if ((!val || !*val) && fallback) {
			val = fallback;
			vlen = (size_t)(close - fallback);
		}
		if (!val) {
			*why = "unset";
			goto fail;
		}
		if (!sbuf_add(&b, val, vlen))
			goto oom;
		p = close + 1;
	}
	if (!b.s && !sbuf_add(&b, "", 0))
		goto oom;
	return b.s;
oom:
	diag_oom(ld);
fail:
	free(b.s);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Reading the file into raw sections                                  */
/* ------------------------------------------------------------------ */

struct raw_value {
	char *value;  /* NULL: not in the file */
	int line;
};

struct raw_section {
	enum cfg_section kind;
	char *name;   /* NULL for [crdbfeedd] */
	int line;
	struct raw_value *values; /* cfg_nkeys entries, by key index */
};

struct raw_file {
	struct raw_section *sections;
	size_t nsections;
	struct raw_section *global; /* may be NULL: all defaults */
};

static void raw_file_free(struct raw_file *rf)
{
	for (size_t i = 0; i < rf->nsections; i++) {
		struct raw_section *s = &rf->sections[i];
		for (size_t k = 0; s->values && k < cfg_nkeys; k++)
			free(s->values[k].value);
		free(s->values);
		free(s->name);
	}
	free(rf->sections);
	memset(rf, 0, sizeof(*rf));
}

static struct raw_section *raw_find(struct raw_file *rf,
				    enum cfg_section kind, const char *name)
{
	for (size_t i = 0; i < rf->nsections; i++) {
		struct raw_section *s = &rf->sections[i];
		if (s->kind == kind &&
		    (kind == CFG_SECTION_GLOBAL || strcmp(s->name, name) == 0))
			return s;
	}
	return NULL;
}

static bool raw_has_feed(const struct raw_file *rf, const char *name)
{
	for (size_t i = 0; i < rf->nsections; i++)
		if (rf->sections[i].kind == CFG_SECTION_FEED &&
		    strcmp(rf->sections[i].name, name) == 0)
			return true;
	return false;
}

/* "[crdbfeedd]", "[feed NAME]", "[sink NAME]"; NULL when ignored. */
static struct raw_section *read_section(struct loader *ld, struct raw_file *rf,
					const char *text, size_t len, int line)
{
	/* text starts with '[' and len is trimmed */
	if (len < 2 || text[len - 1] != ']') {
		diag(ld, line, "malformed section header (expected [crdbfeedd], [feed NAME] or [sink NAME])");
		return NULL;
	}
	char inner[CFG_LINE_MAX + 1];
	size_t ilen = len - 2;
	memcpy(inner, text + 1, ilen);
	inner[ilen] = '\0';
	char shown[128];
	snprintf(shown, sizeof(shown), "%.100s", inner);
	char *word = (char *)skip_space(inner);
	size_t wlen = strcspn(word, " \t");
	char *rest = (char *)skip_space(word + wlen);
	rest[trimmed_len(rest, strlen(rest))] = '\0';
	word[wlen] = '\0';

	enum cfg_section kind;
	if (strcmp(word, "crdbfeedd") == 0) {
		kind = CFG_SECTION_GLOBAL;
		if (*rest) {
			diag(ld, line, "[crdbfeedd] takes no name");
			return NULL;
		}
	} else if (strcmp(word, "feed") == 0 || strcmp(word, "sink") == 0) {
		kind = word[0] == 'f' ? CFG_SECTION_FEED : CFG_SECTION_SINK;
		if (!*rest) {
			diag(ld, line, "[%s] needs a name: [%s NAME]", word, word);
			return NULL;
		}
		if (!name_is_valid(rest)) {
			diag(ld, line, "invalid %s name '%.*s' (1 to %d letters, digits, '_', '-' or '.', not starting with '.' or '-')",
			     word, CFG_NAME_MAX + 8, rest, CFG_NAME_MAX);
			return NULL;
		}
	} else {
		diag(ld, line, "unknown section [%s] (expected [crdbfeedd], [feed NAME] or [sink NAME])",
		     shown);
		return NULL;
	}

	struct raw_section *prev = raw_find(rf, kind, rest);
	if (prev) {
		if (kind == CFG_SECTION_GLOBAL)
			diag(ld, line, "section [crdbfeedd] repeated (first at line %d)",
			     prev->line);
		else
			diag(ld, line, "section [%s %s] repeated (first at line %d)",
			     word, rest, prev->line);
		return NULL;
	}

	struct raw_section *grown = realloc(rf->sections,
					   (rf->nsections + 1) * sizeof(*grown));
	if (!grown) {
		diag_oom(ld);
		return NULL;
	}
	rf->sections = grown;
	if (rf->global)
		rf->global = raw_find(rf, CFG_SECTION_GLOBAL, NULL);
	struct raw_section *s = &rf->sections[rf->nsections];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->line = line;
	s->values = calloc(cfg_nkeys, sizeof(*s->values));
	if (!s->values || (kind != CFG_SECTION_GLOBAL &&
			   !(s->name = xstrdup(ld, rest)))) {
		free(s->values);
		diag_oom(ld);
		return NULL;
	}
	rf->nsections++;
	if (kind == CFG_SECTION_GLOBAL)
		rf->global = s;
	return s;
}

/* Edit distance of two short strings (at most 127 bytes each); case
 * differences cost nothing, so 'Tables' is near 'tables'. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[128], prev[128];
	if (la > 127 || lb > 127)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) ==
				      tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = prev[j - 1] + cost;
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
		}
		memcpy(prev, row, (lb + 1) * sizeof(row[0]));
	}
	return prev[lb];
}

/* The section's key closest to a misspelt one, if close enough. */
static const char *nearest_key(enum cfg_section section, const char *key)
{
	const char *best = NULL;
	size_t best_d = 3; /* at most 2 edits */
	for (size_t i = 0; i < cfg_nkeys; i++) {
		if (cfg_keys[i].section != section)
			continue;
		size_t d = edit_distance(key, cfg_keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = cfg_keys[i].name;
		}
	}
	return best;
}

static void read_key(struct loader *ld, struct raw_section *sec,
		     bool in_ignored_section, const char *text, size_t len,
		     int line)
{
	const char *eq = memchr(text, '=', len);
	if (!eq) {
		diag(ld, line, "expected 'key = value', a [section] or a comment");
		return;
	}
	size_t klen = trimmed_len(text, (size_t)(eq - text));
	if (klen == 0) {
		diag(ld, line, "missing key before '='");
		return;
	}
	if (in_ignored_section)
		return; /* its header was already reported */
	if (!sec) {
		diag(ld, line, "key '%.*s' outside any section (start with [crdbfeedd])",
		     (int)(klen > 100 ? 100 : klen), text);
		return;
	}
	char key[128];
	if (klen >= sizeof(key)) {
		diag(ld, line, "unknown key '%.100s...'", text);
		return;
	}
	/* (text is cut at klen below; the '%.100s' above stops at 100) */
	memcpy(key, text, klen);
	key[klen] = '\0';
	ssize_t idx = key_index(sec->kind, key);
	if (idx < 0) {
		const char *where = sec->kind == CFG_SECTION_GLOBAL ? "[crdbfeedd]" :
				    sec->kind == CFG_SECTION_FEED ? "a [feed] section" :
				    "a [sink] section";
		char hint[160] = "";
		const char *near;
		if (sec->kind != CFG_SECTION_FEED && key_index(CFG_SECTION_FEED, key) >= 0)
			snprintf(hint, sizeof(hint), " (it belongs in a [feed NAME] section)");
		else if (sec->kind != CFG_SECTION_SINK && key_index(CFG_SECTION_SINK, key) >= 0)
			snprintf(hint, sizeof(hint), " (it belongs in a [sink NAME] section)");
		else if ((near = nearest_key(sec->kind, key)))
			snprintf(hint, sizeof(hint), " (did you mean '%s'?)", near);
		diag(ld, line, "unknown key '%s' in %s%s", key, where, hint);
		return;
	}
	struct raw_value *v = &sec->values[idx];
	if (v->value) {
		diag(ld, line, "duplicate key '%s' (first set at line %d)", key,
		     v->line);
		return;
	}
	/* text is not cut at len (a comment may follow): stay within len */
	size_t voff = (size_t)(eq + 1 - text);
	while (voff < len && (text[voff] == ' ' || text[voff] == '\t'))
		voff++;
	const char *val = text + voff;
	size_t vlen = trimmed_len(val, len - voff);
	if (!(v->value = xstrndup(ld, val, vlen)))
		return;
	v->line = line;
}

/* Cut a trailing comment: `;` or `#` at the start or after a blank. */
static size_t strip_comment(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((s[i] == ';' || s[i] == '#') &&
		    (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t'))
			return i;
	return len;
}

static void read_line(struct loader *ld, struct raw_file *rf,
		      struct raw_section **cur, bool *ignored,
		      const char *buf, size_t len, int line)
{
	const char *text = skip_space(buf);
	len -= (size_t)(text - buf);
	len = trimmed_len(text, strip_comment(text, len));
	if (len == 0)
		return;
	if (text[0] == '[') {
		*cur = read_section(ld, rf, text, len, line);
		*ignored = *cur == NULL;
		return;
	}
	read_key(ld, *cur, *ignored, text, len, line);
}

static int read_file(struct loader *ld, FILE *fp, struct raw_file *rf)
{
	char buf[CFG_LINE_MAX + 1];
	struct raw_section *cur = NULL;
	bool ignored = false;
	int line = 0;
	bool eof = false;
	while (!eof && !ld->oom) {
		size_t len = 0;
		bool too_long = false, nul = false;
		int c;
		line++;
		while ((c = getc(fp)) != EOF && c != '\n') {
			if (c == '\0')
				nul = true;
			if (len < CFG_LINE_MAX)
				buf[len++] = (char)c;
			else
				too_long = true;
		}
		if (c == EOF) {
			if (ferror(fp)) {
				diag(ld, line > 1 ? line : 0, "cannot read: %s",
				     strerror(errno));
				return -1;
			}
			eof = true;
			if (len == 0 && !too_long)
				break;
		}
		buf[len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		/* A UTF-8 byte order mark on the first line is not text. */
		if (line == 1 && len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
			memmove(buf, buf + 3, len - 2);
			len -= 3;
		}
		if (too_long) {
			diag(ld, line, "line longer than %d bytes", CFG_LINE_MAX);
			continue;
		}
		if (nul) {
			diag(ld, line, "line contains a NUL byte");
			continue;
		}
		read_line(ld, rf, &cur, &ignored, buf, len, line);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* From raw values to typed ones                                       */
/* ------------------------------------------------------------------ */

/* One key's effective value in a section: its own, inherited, or the
 * default. value is never NULL; "" means unset. */
struct setting {
	const struct cfg_key *key;
	const char *value;
	int line;       /* where it was set; the section's line for defaults */
	bool explicit;  /* written in this section or inherited from the file */
};

static struct setting setting_get(const struct raw_file *rf,
				  const struct raw_section *sec,
				  const char *name)
{
	ssize_t idx = key_index(sec->kind, name);
	struct setting st = { &cfg_keys[idx], cfg_keys[idx].default_value,
			      sec->line, false };
	const struct raw_value *v = &sec->values[idx];
	if (v->value && v->value[0]) {
		st.value = v->value;
		st.line = v->line;
		st.explicit = true;
		return st;
	}
	ssize_t g = inherited_index((size_t)idx);
	if (g < 0)
		return st;
	if (rf->global) {
		const struct raw_value *gv = &rf->global->values[g];
		if (gv->value && gv->value[0]) {
			st.value = gv->value;
			st.line = gv->line;
			st.explicit = true;
			return st;
		}
	}
	if (!st.value[0])
		st.value = cfg_keys[g].default_value;
	return st;
}

/* Whether a key is written (non-empty) in this very section. */
static bool set_here(const struct raw_section *sec, const char *name)
{
	ssize_t idx = key_index(sec->kind, name);
	return idx >= 0 && sec->values[idx].value && sec->values[idx].value[0];
}

/* The typed getters report "file:line: key: problem" and return -1. */

static int get_bool(struct loader *ld, const struct setting *st, bool *out)
{
	if (!st->value[0]) {
		*out = false;
		return 0;
	}
	if (parse_bool(st->value, out) == 0)
		return 0;
	diag(ld, st->line, "%s: expected yes or no, not '%.100s'", st->key->name,
	     st->value);
	return -1;
}

static int get_duration(struct loader *ld, const struct setting *st,
			int64_t *out)
{
	if (!st->value[0]) {
		*out = 0;
		return 0;
	}
	if (parse_duration(st->value, out) == 0)
		return 0;
	diag(ld, st->line, "%s: expected a duration such as 500ms, 10s, 1m30s or 2h (at most 30 days), not '%.100s'",
	     st->key->name, st->value);
	return -1;
}

static int get_size(struct loader *ld, const struct setting *st, size_t *out)
{
	if (!st->value[0]) {
		*out = 0;
		return 0;
	}
	if (parse_size(st->value, out) == 0)
		return 0;
	diag(ld, st->line, "%s: expected a size such as 65536, 64k or 1M (at most 1G), not '%.100s'",
	     st->key->name, st->value);
	return -1;
}

static int get_mode(struct loader *ld, const struct setting *st, mode_t *out)
{
	if (parse_mode(st->value, out) == 0)
		return 0;
	diag(ld, st->line, "%s: expected an octal file mode such as 0660, not '%.100s'",
	     st->key->name, st->value);
	return -1;
}

/* -1 when unset ("" allowed) or bad (reported). */
static int get_enum(struct loader *ld, const struct setting *st, int *out)
{
	*out = -1;
	if (!st->value[0])
		return 0;
	int i = parse_enum(st->value, st->key->enum_values);
	if (i >= 0) {
		*out = i;
		return 0;
	}
	diag(ld, st->line, "%s: expected one of %s, not '%.100s'", st->key->name,
	     st->key->enum_values, st->value);
	return -1;
}

static int get_string(struct loader *ld, const struct setting *st, char **out)
{
	*out = NULL;
	if (!st->value[0])
		return 0;
	*out = xstrdup(ld, st->value);
	return *out ? 0 : -1;
}

/*
 * Keys next to a secret, whose values are never quoted in a message: a
 * password pasted into password_file or credential (or a key's text into
 * sslkey) must not end up in a log.
 */
static bool value_is_private(const struct cfg_key *key)
{
	return strcmp(key->name, "password_file") == 0 ||
	       strcmp(key->name, "credential") == 0 ||
	       strcmp(key->name, "sslkey") == 0;
}

#define NOT_SHOWN "(value not shown: it may be a secret)"

static int get_absolute_path(struct loader *ld, const struct setting *st,
			     char **out)
{
	if (get_string(ld, st, out) < 0)
		return -1;
	if (*out && (*out)[0] != '/' && value_is_private(st->key)) {
		diag(ld, st->line, "%s: not an absolute path %s", st->key->name,
		     NOT_SHOWN);
		free(*out);
		*out = NULL;
		return -1;
	}
	if (*out && (*out)[0] != '/') {
		diag(ld, st->line, "%s: '%.200s' is not an absolute path (relative paths would depend on the daemon's working directory)",
		     st->key->name, *out);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* dsn or state_dir, with ${VAR} expanded. */
static int get_expanded(struct loader *ld, const struct setting *st,
			char **out)
{
	char name[128];
	const char *why;
	*out = NULL;
	if (!st->value[0])
		return 0;
	*out = expand_env(ld, st->value, name, sizeof(name), &why);
	if (*out)
		return 0;
	if (why && strcmp(why, "unset") == 0)
		diag(ld, st->line, "%s: environment variable %s is not set",
		     st->key->name, name);
	else if (why)
		diag(ld, st->line, "%s: %s", st->key->name, why);
	return -1;
}

/*
 * libpq quotes the parts of a connection string it trips on, and these may
 * hold a password we could not find (a second one, one with blanks, the
 * whole URI). A "quoted" part of text is kept only when it is also in the
 * masked DSN (NULL: none is kept); otherwise it becomes "***".
 */
static void mask_quoted(char *text, size_t size, const char *masked)
{
	char out[CFG_DIAG_LEN];
	size_t n = 0;
	const char *p = text;
	while (*p && n + 1 < sizeof(out)) {
		const char *close = *p == '"' ? strchr(p + 1, '"') : NULL;
		if (!close) {
			out[n++] = *p++;
			continue;
		}
		size_t len = (size_t)(close - (p + 1));
		/* One punctuation character ("]", "=") is no secret. */
		bool keep = len == 1 && ispunct((unsigned char)p[1]);
		if (masked && len > 0 && !keep) {
			for (const char *m = masked; (m = strchr(m, p[1])); m++)
				if (strncmp(m, p + 1, len) == 0) {
					keep = true;
					break;
				}
		}
		const char *src = keep || len == 0 ? p : "\"" MASK "\"";
		size_t slen = keep || len == 0 ? len + 2 : strlen(MASK) + 2;
		for (size_t i = 0; i < slen && n + 1 < sizeof(out); i++)
			out[n++] = src[i];
		p = close + 1;
	}
	out[n] = '\0';
	snprintf(text, size, "%s", out);
}

/* Check a DSN with libpq without ever quoting its password. */
static int check_dsn(struct loader *ld, const struct setting *st,
		     const char *dsn)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn, &errmsg);
	if (opts) {
		PQconninfoFree(opts);
		return 0;
	}
	char text[CFG_DIAG_LEN];
	snprintf(text, sizeof(text), "%s", errmsg ? errmsg : "out of memory");
	PQfreemem(errmsg);
	text[strcspn(text, "\n")] = '\0';
	char *found = NULL;
	char *masked = mask_dsn(dsn, &found);
	mask_secret(text, sizeof(text), found);
	mask_quoted(text, sizeof(text), masked);
	free(found);
	free(masked);
	diag(ld, st->line, "%s: not a valid connection string: %s",
	     st->key->name, text);
	return -1;
}

/* A user or group name in /etc/passwd or /etc/group (or NSS). 0 found,
 * 1 unknown, -1 lookup error (*err: its errno). */
static int lookup_id(const char *name, bool group, id_t *out, int *err)
{
	long hint = sysconf(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
	size_t size = hint > 0 && hint < 65536 ? (size_t)hint : 4096;
	for (;;) {
		char *buf = malloc(size);
		if (!buf) {
			*err = ENOMEM;
			return -1;
		}
		int rc;
		bool found;
		if (group) {
			struct group gr, *res = NULL;
			rc = getgrnam_r(name, &gr, buf, size, &res);
			found = rc == 0 && res;
			if (found)
				*out = (id_t)gr.gr_gid;
		} else {
			struct passwd pw, *res = NULL;
			rc = getpwnam_r(name, &pw, buf, size, &res);
			found = rc == 0 && res;
			if (found)
				*out = (id_t)pw.pw_uid;
		}
		free(buf);
		/* Bounded: no sane entry needs more than 1 MiB. */
		if (rc == ERANGE && size < ((size_t)1 << 20)) {
			size *= 2;
			continue;
		}
		if (found)
			return 0;
		/* Some NSS modules say "not found" with these. */
		if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF ||
		    rc == EPERM)
			return 1;
		*err = rc;
		return -1;
	}
}

static int cmp_id(const void *a, const void *b)
{
	id_t x = *(const id_t *)a, y = *(const id_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * allow_users / allow_groups: a comma list of names or numeric ids, each
 * resolved now (an all-digit item is an id, not looked up). The result is
 * sorted without repeats, so that equal sets compare equal on reload.
 */
static int get_id_list(struct loader *ld, const struct setting *st,
		       bool group, id_t **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!st->value[0])
		return 0;
	char **items;
	const char *why;
	ssize_t n = split_list(ld, st->value, &items, &why);
	if (n < 0) {
		if (why)
			diag(ld, st->line, "%s: %s", st->key->name, why);
		return -1;
	}
	id_t *ids = calloc((size_t)n, sizeof(*ids));
	if (!ids) {
		free_list(items, (size_t)n);
		diag_oom(ld);
		return -1;
	}
	const char *what = group ? "group" : "user";
	size_t nids = 0;
	int rc = 0;
	for (size_t i = 0; i < (size_t)n; i++) {
		const char *item = items[i];
		size_t digits = strspn(item, "0123456789");
		id_t id = 0;
		if (item[digits] == '\0') {
			errno = 0;
			unsigned long long v = strtoull(item, NULL, 10);
			/* (id_t)-1 means "no change" to chown and is no id. */
			if (errno || digits > 10 || v >= UINT32_MAX) {
				diag(ld, st->line, "%s: '%.100s' is not a valid %s id",
				     st->key->name, item, what);
				rc = -1;
				continue;
			}
			id = (id_t)v;
		} else {
			int err = 0;
			int found = lookup_id(item, group, &id, &err);
			if (found == 1) {
				diag(ld, st->line, "%s: unknown %s '%.100s'",
				     st->key->name, what, item);
				rc = -1;
				continue;
			}
			if (found < 0) {
				diag(ld, st->line, "%s: cannot look up %s '%.100s': %s",
				     st->key->name, what, item, strerror(err));
				rc = -1;
				continue;
			}
		}
		ids[nids++] = id;
	}
	free_list(items, (size_t)n);
	if (rc < 0) {
		free(ids);
		return -1;
	}
	qsort(ids, nids, sizeof(*ids), cmp_id);
	size_t kept = 0;
	for (size_t i = 0; i < nids; i++)
		if (kept == 0 || ids[kept - 1] != ids[i])
			ids[kept++] = ids[i];
	*out = ids;
	*nout = kept;
	return 0;
}

static int get_uid_list(struct loader *ld, const struct setting *st,
			uid_t **out, size_t *nout)
{
	id_t *ids;
	size_t n;
	*out = NULL;
	*nout = 0;
	if (get_id_list(ld, st, false, &ids, &n) < 0)
		return -1;
	if (n == 0) {
		free(ids);
		return 0;
	}
	uid_t *uids = calloc(n, sizeof(*uids));
	if (!uids) {
		free(ids);
		diag_oom(ld);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		uids[i] = (uid_t)ids[i];
	free(ids);
	*out = uids;
	*nout = n;
	return 0;
}

static int get_gid_list(struct loader *ld, const struct setting *st,
			gid_t **out, size_t *nout)
{
	id_t *ids;
	size_t n;
	*out = NULL;
	*nout = 0;
	if (get_id_list(ld, st, true, &ids, &n) < 0)
		return -1;
	if (n == 0) {
		free(ids);
		return 0;
	}
	gid_t *gids = calloc(n, sizeof(*gids));
	if (!gids) {
		free(ids);
		diag_oom(ld);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		gids[i] = (gid_t)ids[i];
	free(ids);
	*out = gids;
	*nout = n;
	return 0;
}

#define CREDENTIAL_PREFIX "credential:"

/*
 * sslrootcert / sslcert / sslkey: an absolute path, or credential:NAME for
 * $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=). Only the path is
 * kept: libpq reads the file at each connect.
 */
static int get_tls_file(struct loader *ld, const struct setting *st,
			char **out)
{
	*out = NULL;
	if (!st->value[0])
		return 0;
	size_t plen = strlen(CREDENTIAL_PREFIX);
	if (strncmp(st->value, CREDENTIAL_PREFIX, plen) != 0)
		return get_absolute_path(ld, st, out);
	const char *name = st->value + plen;
	if (!name[0]) {
		diag(ld, st->line, "%s: credential: needs the credential's NAME",
		     st->key->name);
		return -1;
	}
	if (strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		if (value_is_private(st->key))
			diag(ld, st->line, "%s: credential:NAME must name a credential by its file name, not a path %s",
			     st->key->name, NOT_SHOWN);
		else
			diag(ld, st->line, "%s: '%.100s' must name a credential by its file name, not a path",
			     st->key->name, name);
		return -1;
	}
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (!dir || !dir[0]) {
		diag(ld, st->line, "%s: CREDENTIALS_DIRECTORY is not set for credential:NAME (use LoadCredential= in the systemd unit, or an absolute path)",
		     st->key->name);
		return -1;
	}
	size_t len = strlen(dir) + 1 + strlen(name) + 1;
	if (!(*out = malloc(len))) {
		diag_oom(ld);
		return -1;
	}
	snprintf(*out, len, "%s/%s", dir, name);
	return 0;
}

int config_parse_listen(const char *text, char *host, size_t hostlen,
			uint16_t *port)
{
	static const struct {
		const char *prefix; /* up to and with the ':' before the port */
		const char *host;
	} loopback[] = {
		{ "127.0.0.1:", "127.0.0.1" },
		{ "[::1]:", "::1" },
		{ "localhost:", "localhost" },
	};
	if (!text)
		return -1;
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		size_t plen = strlen(loopback[i].prefix);
		if (strncmp(text, loopback[i].prefix, plen) != 0)
			continue;
		const char *digits = text + plen;
		size_t ndigits = strspn(digits, "0123456789");
		if (ndigits == 0 || ndigits > 5 || digits[ndigits] != '\0')
			return -1;
		unsigned long v = strtoul(digits, NULL, 10);
		if (v == 0 || v > 65535)
			return -1;
		if (host) {
			if (hostlen <= strlen(loopback[i].host))
				return -1;
			snprintf(host, hostlen, "%s", loopback[i].host);
		}
		if (port)
			*port = (uint16_t)v;
		return 0;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Building feeds and sinks                                            */
/* ------------------------------------------------------------------ */

static void feed_free_members(struct feed_config *f)
{
	free(f->name);
	free(f->dsn);
	free(f->password_file);
	free_list(f->tables, f->ntables);
	free_list(f->families, f->ntables);
	free(f->query);
	for (size_t i = 0; i < f->noptions; i++) {
		free(f->options[i].name);
		free(f->options[i].value);
	}
	free(f->options);
	free(f->start_cursor);
	free(f->sslrootcert);
	free(f->sslcert);
	free(f->sslkey);
}

static void sink_free_members(struct sink_config *s)
{
	free(s->name);
	free(s->feed);
	free(s->path);
	free(s->group);
	free(s->allow_uids);
	free(s->allow_gids);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nfeeds; i++)
		feed_free_members(&cfg->feeds[i]);
	free(cfg->feeds);
	for (size_t i = 0; i < cfg->nsinks; i++)
		sink_free_members(&cfg->sinks[i]);
	free(cfg->sinks);
	free(cfg->state_dir);
	free(cfg->control_socket);
	free(cfg->control_group);
	free(cfg->control_allow_uids);
	free(cfg->control_allow_gids);
	free(cfg->metrics_socket);
	free(cfg->metrics_listen);
	free(cfg->path);
	free(cfg);
}

/* Options that have their own key, and why they cannot go in options. */
static const struct {
	const char *option;
	const char *use;
} reserved_options[] = {
	{ "envelope", "the envelope key" },
	{ "diff", "the diff key" },
	{ "updated", "the updated key" },
	{ "mvcc_timestamp", "the mvcc_timestamp key" },
	{ "split_column_families", "the split_column_families key" },
	{ "schema_change_policy", "the schema_change_policy key" },
	{ "resolved", "the resolved key" },
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
		diag_oom(ld);
		return -1;
	}
	f->options = grown;
	struct feed_option *o = &f->options[f->noptions];
	o->name = xstrndup(ld, name, namelen);
	o->value = value ? xstrdup(ld, value) : NULL;
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

/* Check one option with libcrdb on a scratch spec. */
static int check_option(struct loader *ld, int line, const char *keyname,
			const char *name, const char *value)
{
	crdb_error err;
	crdb_error_clear(&err);
	crdb_feed_spec *spec = crdb_feed_spec_new(&err);
	if (!spec) {
		diag_oom(ld);
		return -1;
	}
	int rc = crdb_feed_spec_set_option(spec, name, value, &err);
	crdb_feed_spec_free(spec);
	if (rc < 0) {
		diag(ld, line, "%s: %s", keyname, err.message);
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
	const char *why;
	ssize_t n = split_list(ld, st->value, &items, &why);
	if (n < 0) {
		if (why)
			diag(ld, st->line, "options: %s", why);
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < (size_t)n; i++) {
		char *item = items[i];
		char *eq = strchr(item, '=');
		size_t namelen = eq ? trimmed_len(item, (size_t)(eq - item)) : strlen(item);
		char *value = NULL;
		if (eq) {
			value = (char *)skip_space(eq + 1);
			size_t vlen = strlen(value);
			if (vlen >= 2 && value[0] == '\'' && value[vlen - 1] == '\'') {
				value[vlen - 1] = '\0';
				value++;
			}
		}
		char name[64];
		if (namelen == 0 || namelen >= sizeof(name)) {
			diag(ld, st->line, "options: malformed option '%.100s'", item);
			rc = -1;
			continue;
		}
		memcpy(name, item, namelen);
		name[namelen] = '\0';
		bool reserved = false;
		for (size_t r = 0; r < sizeof(reserved_options) / sizeof(reserved_options[0]); r++)
			if (strcmp(name, reserved_options[r].option) == 0) {
				diag(ld, st->line, "options: %s is set by %s",
				     name, reserved_options[r].use);
				reserved = true;
			}
		if (reserved) {
			rc = -1;
			continue;
		}
		if (strcmp(name, "format") == 0 && (!value || strcasecmp(value, "json") != 0)) {
			diag(ld, st->line, "options: crdbfeedd decodes format=json only");
			rc = -1;
			continue;
		}
		if (option_value(f, name)) {
			diag(ld, st->line, "options: %s given twice", name);
			rc = -1;
			continue;
		}
		if (check_option(ld, st->line, "options", name, value) < 0 ||
		    add_option(ld, f, name, namelen, value) < 0)
			rc = -1;
	}
	free_list(items, (size_t)n);
	return rc;
}

/* tables = t, s.t, db.s.t, t FAMILY f, "Quoted ""T""" */
static int feed_tables(struct loader *ld, struct feed_config *f,
		       const struct setting *st)
{
	char **items;
	const char *why;
	ssize_t n = split_list(ld, st->value, &items, &why);
	if (n < 0) {
		if (why)
			diag(ld, st->line, "tables: %s", why);
		return -1;
	}
	f->tables = calloc((size_t)n, sizeof(char *));
	f->families = calloc((size_t)n, sizeof(char *));
	if (!f->tables || !f->families) {
		free_list(items, (size_t)n);
		diag_oom(ld);
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
			p = (char *)skip_space(p);
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
		p = (char *)skip_space(p);
		if (*p || (nwords != 1 && nwords != 3) ||
		    (nwords == 3 && strcasecmp(words[1], "FAMILY") != 0)) {
			diag(ld, st->line, "tables: expected 'table' or 'table FAMILY family', not '%s'",
			     shown);
			rc = -1;
			continue;
		}
		const char *family = nwords == 3 ? words[2] : NULL;
		crdb_error err;
		crdb_error_clear(&err);
		crdb_feed_spec *spec = crdb_feed_spec_new(&err);
		if (!spec) {
			diag_oom(ld);
			rc = -1;
			break;
		}
		if (crdb_feed_spec_add_table(spec, words[0], family, &err) < 0) {
			diag(ld, st->line, "tables: %s", err.message);
			rc = -1;
		}
		crdb_feed_spec_free(spec);
		for (size_t j = 0; j < i; j++)
			if (f->tables[j] && strcmp(f->tables[j], words[0]) == 0 &&
			    ((!family && !f->families[j]) ||
			     (family && f->families[j] &&
			      strcmp(family, f->families[j]) == 0))) {
				diag(ld, st->line, "tables: '%s' listed twice",
				     shown);
				rc = -1;
			}
		f->tables[i] = xstrdup(ld, words[0]);
		if (family)
			f->families[i] = xstrdup(ld, family);
		if (!f->tables[i] || (family && !f->families[i]))
			rc = -1;
	}
	free_list(items, (size_t)n);
	return rc;
}

/* password_file / credential, feed level first, then [crdbfeedd]. */
static int feed_password(struct loader *ld, const struct raw_file *rf,
			 const struct raw_section *sec, struct feed_config *f)
{
	const struct raw_section *levels[2] = { sec, rf->global };
	for (size_t l = 0; l < 2; l++) {
		const struct raw_section *s = levels[l];
		if (!s)
			continue;
		ssize_t fi = key_index(s->kind, "password_file");
		ssize_t ci = key_index(s->kind, "credential");
		const struct raw_value *file = &s->values[fi];
		const struct raw_value *cred = &s->values[ci];
		bool has_file = file->value && file->value[0];
		bool has_cred = cred->value && cred->value[0];
		if (has_file && has_cred) {
			diag(ld, cred->line, "credential: password_file is also set (line %d); use one of them",
			     file->line);
			return -1;
		}
		if (has_file) {
			struct setting st = { &cfg_keys[fi], file->value,
					      file->line, true };
			return get_absolute_path(ld, &st, &f->password_file);
		}
		if (has_cred) {
			const char *name = cred->value;
			if (strchr(name, '/') || strcmp(name, ".") == 0 ||
			    strcmp(name, "..") == 0) {
				diag(ld, cred->line, "credential: must be a file name, not a path %s",
				     NOT_SHOWN);
				return -1;
			}
			const char *dir = getenv("CREDENTIALS_DIRECTORY");
			if (!dir || !dir[0]) {
				diag(ld, cred->line, "credential: CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the systemd unit, or password_file)");
				return -1;
			}
			size_t len = strlen(dir) + 1 + strlen(name) + 1;
			f->password_file = malloc(len);
			if (!f->password_file) {
				diag_oom(ld);
				return -1;
			}
			snprintf(f->password_file, len, "%s/%s", dir, name);
			return 0;
		}
	}
	return 0;
}

static int feed_start_cursor(struct loader *ld, const struct setting *st,
			     struct feed_config *f)
{
	if (!st->value[0])
		return 0;
	crdb_hlc hlc;
	crdb_error err1, err2;
	crdb_error_clear(&err1);
	crdb_error_clear(&err2);
	if (crdb_hlc_parse(st->value, strlen(st->value), &hlc, &err1) < 0 &&
	    crdb_hlc_from_rfc3339(st->value, &hlc, &err2) < 0) {
		diag(ld, st->line, "start_cursor: expected an HLC timestamp (wall.logical, e.g. 1701102296662969433.0000000000) or an RFC 3339 time (e.g. 2024-01-02T03:04:05Z), not '%.100s'",
		     st->value);
		return -1;
	}
	char buf[CRDB_HLC_BUFSIZE];
	crdb_hlc_format(hlc, buf);
	f->start_cursor = xstrdup(ld, buf);
	return f->start_cursor ? 0 : -1;
}

static void load_feed(struct loader *ld, const struct raw_file *rf,
		      const struct raw_section *sec, struct config *cfg)
{
	struct feed_config *f = &cfg->feeds[cfg->nfeeds++];
	memset(f, 0, sizeof(*f));
	f->file = cfg->path;
	f->line = sec->line;
	if (!(f->name = xstrdup(ld, sec->name)))
		return;
	int bad = 0;
	struct setting st;

	st = setting_get(rf, sec, "dsn");
	if (!st.value[0]) {
		diag(ld, sec->line, "feed %s: no dsn (set dsn here or in [crdbfeedd])",
		     f->name);
		bad = 1;
	} else if (get_expanded(ld, &st, &f->dsn) < 0 ||
		   check_dsn(ld, &st, f->dsn) < 0) {
		/* Reported once per file line, not once per feed. */
		bad = 1;
	}
	if (feed_password(ld, rf, sec, f) < 0)
		bad = 1;
	st = setting_get(rf, sec, "sslrootcert");
	if (get_tls_file(ld, &st, &f->sslrootcert) < 0)
		bad = 1;
	st = setting_get(rf, sec, "sslcert");
	if (get_tls_file(ld, &st, &f->sslcert) < 0)
		bad = 1;
	st = setting_get(rf, sec, "sslkey");
	if (get_tls_file(ld, &st, &f->sslkey) < 0)
		bad = 1;

	struct setting tables = setting_get(rf, sec, "tables");
	struct setting query = setting_get(rf, sec, "query");
	if (tables.explicit && query.explicit) {
		diag(ld, query.line, "feed %s: set tables or query, not both",
		     f->name);
		bad = 1;
	} else if (!tables.explicit && !query.explicit) {
		diag(ld, sec->line, "feed %s: no tables and no query", f->name);
		bad = 1;
	} else if (tables.explicit) {
		if (feed_tables(ld, f, &tables) < 0)
			bad = 1;
	} else {
		crdb_error err;
		crdb_error_clear(&err);
		crdb_feed_spec *spec = crdb_feed_spec_new(&err);
		if (!spec) {
			diag_oom(ld);
			bad = 1;
		} else {
			if (crdb_feed_spec_set_query(spec, query.value, &err) < 0) {
				diag(ld, query.line, "query: %s", err.message);
				bad = 1;
			}
			crdb_feed_spec_free(spec);
		}
		if (get_string(ld, &query, &f->query) < 0)
			bad = 1;
	}

	int e;
	st = setting_get(rf, sec, "envelope");
	if (get_enum(ld, &st, &e) < 0) {
		bad = 1;
	} else if (e < 0) {
		f->envelope = f->query ? CRDB_ENVELOPE_BARE : CRDB_ENVELOPE_WRAPPED;
	} else {
		crdb_error err;
		crdb_error_clear(&err);
		if (crdb_envelope_parse(st.value, &f->envelope, &err) < 0) {
			diag(ld, st.line, "envelope: %s", err.message);
			bad = 1;
		}
	}

	st = setting_get(rf, sec, "diff");
	if (get_bool(ld, &st, &f->diff) < 0)
		bad = 1;

	/* Flags and enums without a struct member become options. */
	static const char *const flag_keys[] = { "updated", "mvcc_timestamp",
						 "split_column_families" };
	for (size_t i = 0; i < 3; i++) {
		bool on;
		st = setting_get(rf, sec, flag_keys[i]);
		if (get_bool(ld, &st, &on) < 0)
			bad = 1;
		else if (on && add_option(ld, f, flag_keys[i],
					  strlen(flag_keys[i]), NULL) < 0)
			bad = 1;
	}
	st = setting_get(rf, sec, "schema_change_policy");
	if (get_enum(ld, &st, &e) < 0) {
		bad = 1;
	} else if (e >= 0) {
		char policy[32];
		enum_name(st.key->enum_values, e, policy, sizeof(policy));
		if (check_option(ld, st.line, st.key->name,
				 "schema_change_policy", policy) < 0 ||
		    add_option(ld, f, "schema_change_policy",
			       strlen("schema_change_policy"), policy) < 0)
			bad = 1;
	}
	st = setting_get(rf, sec, "options");
	if (feed_options(ld, f, &st) < 0)
		bad = 1;

	st = setting_get(rf, sec, "resolved");
	if (get_duration(ld, &st, &f->resolved_ms) < 0) {
		bad = 1;
	} else if (f->resolved_ms <= 0) {
		/* The checkpoint only moves with resolved timestamps, and
		 * min_checkpoint_frequency = 0 would ask for every one. */
		diag(ld, st.line, "resolved: must be more than 0");
		bad = 1;
	}

	st = setting_get(rf, sec, "start");
	if (get_enum(ld, &st, &e) < 0)
		bad = 1;
	else
		f->start = e < 0 ? FEED_START_INITIAL_SCAN : (enum feed_start)e;
	struct setting cursor = setting_get(rf, sec, "start_cursor");
	if (feed_start_cursor(ld, &cursor, f) < 0) {
		bad = 1;
	} else if (e == FEED_START_CURSOR && !cursor.explicit) {
		diag(ld, st.line, "feed %s: start = cursor needs start_cursor",
		     f->name);
		bad = 1;
	} else if (e != FEED_START_CURSOR && e >= 0 && cursor.explicit) {
		diag(ld, cursor.line, "start_cursor: only used with start = cursor (start is %s)",
		     st.value);
		bad = 1;
	}

	struct setting bi = setting_get(rf, sec, "backoff_initial");
	struct setting bm = setting_get(rf, sec, "backoff_max");
	if (get_duration(ld, &bi, &f->backoff_initial_ms) < 0 ||
	    get_duration(ld, &bm, &f->backoff_max_ms) < 0) {
		bad = 1;
	} else if (f->backoff_initial_ms <= 0) {
		diag(ld, bi.line, "backoff_initial: must be more than 0");
		bad = 1;
	} else if (f->backoff_max_ms < f->backoff_initial_ms) {
		diag(ld, bm.line, "backoff_max: %s is less than backoff_initial (%s)",
		     bm.value, bi.value);
		bad = 1;
	}
	st = setting_get(rf, sec, "stall_timeout");
	if (get_duration(ld, &st, &f->stall_timeout_ms) < 0)
		bad = 1;

	/* Cross-option rules as the server applies them. */
	if (!bad) {
		crdb_error err;
		crdb_error_clear(&err);
		crdb_feed_spec *spec = config_feed_spec(f, &err);
		char *stmt = NULL;
		if (spec) {
			if (f->start == FEED_START_CURSOR)
				crdb_feed_spec_set_option(spec, "cursor",
							  f->start_cursor, &err);
			else
				crdb_feed_spec_set_option(spec, "initial_scan",
					f->start == FEED_START_NOW ? "no" : "yes",
					&err);
			stmt = crdb_feed_spec_build(spec, true, NULL, &err);
		}
		if (!stmt)
			diag(ld, sec->line, "feed %s: %s", f->name, err.message);
		crdb_free(stmt);
		crdb_feed_spec_free(spec);
	}
}

static void load_sink(struct loader *ld, const struct raw_file *rf,
		      const struct raw_section *sec, struct config *cfg)
{
	struct sink_config *s = &cfg->sinks[cfg->nsinks++];
	memset(s, 0, sizeof(*s));
	s->file = cfg->path;
	s->line = sec->line;
	if (!(s->name = xstrdup(ld, sec->name)))
		return;
	struct setting st;
	int e;

	/* systemd hands sockets over by name (FileDescriptorName=). */
	if (strcmp(s->name, "control") == 0 || strcmp(s->name, "metrics") == 0)
		diag(ld, sec->line, "sink %s: the name is reserved for the %s socket (socket activation matches sockets to sinks by name)",
		     s->name, s->name);

	st = setting_get(rf, sec, "feed");
	if (!st.explicit)
		diag(ld, sec->line, "sink %s: no feed (set feed = NAME)", s->name);
	else if (get_string(ld, &st, &s->feed) == 0 &&
		 !raw_has_feed(rf, s->feed))
		diag(ld, st.line, "feed: no [feed %.100s] section", s->feed);

	st = setting_get(rf, sec, "type");
	if (get_enum(ld, &st, &e) == 0)
		s->type = (enum sink_type)(e < 0 ? 0 : e);

	struct setting path = setting_get(rf, sec, "path");
	struct setting mode = setting_get(rf, sec, "mode");
	struct setting group = setting_get(rf, sec, "group");
	struct setting users = setting_get(rf, sec, "allow_users");
	struct setting groups = setting_get(rf, sec, "allow_groups");
	if (s->type == SINK_UNIX) {
		if (!path.explicit)
			diag(ld, sec->line, "sink %s: type = unix needs path",
			     s->name);
		else
			get_absolute_path(ld, &path, &s->path);
		get_mode(ld, &mode, &s->mode);
		get_string(ld, &group, &s->group);
		get_uid_list(ld, &users, &s->allow_uids, &s->nallow_uids);
		get_gid_list(ld, &groups, &s->allow_gids, &s->nallow_gids);
	} else {
		/* Defaults from [crdbfeedd] do not count: they are meant for
		 * the unix sinks. */
		const struct setting *unix_only[] = { &path, &mode, &group,
						      &users, &groups };
		for (size_t i = 0; i < 5; i++)
			if (unix_only[i]->explicit &&
			    set_here(sec, unix_only[i]->key->name))
				diag(ld, unix_only[i]->line, "%s: only for type = unix",
				     unix_only[i]->key->name);
		s->mode = 0;
	}

	st = setting_get(rf, sec, "policy");
	if (get_enum(ld, &st, &e) == 0)
		s->policy = e >= 0 ? (enum slow_policy)e :
			    s->type == SINK_STDOUT ? SLOW_POLICY_BLOCK :
			    SLOW_POLICY_DISCONNECT;

	struct setting buffer = setting_get(rf, sec, "buffer");
	struct setting low = setting_get(rf, sec, "low_watermark");
	if (get_size(ld, &buffer, &s->buffer_bytes) == 0 &&
	    get_size(ld, &low, &s->low_watermark) == 0) {
		if (s->buffer_bytes < CFG_BUFFER_MIN)
			diag(ld, buffer.line, "buffer: %s is less than the smallest buffer, 4k",
			     buffer.value);
		if (!low.explicit)
			s->low_watermark = s->buffer_bytes / 2;
		else if (s->low_watermark >= s->buffer_bytes)
			diag(ld, low.line, "low_watermark: %s is not less than buffer (%s)",
			     low.value, buffer.value);
		if (low.explicit && s->policy != SLOW_POLICY_BLOCK)
			diag(ld, low.line, "low_watermark: only used with policy = block");
	}

	st = setting_get(rf, sec, "resolved");
	get_bool(ld, &st, &s->resolved);
}

static void load_global(struct loader *ld, const struct raw_file *rf,
			struct config *cfg)
{
	/* A missing [crdbfeedd] means all defaults: use an empty section. */
	struct raw_value empty[sizeof(cfg_keys) / sizeof(cfg_keys[0])];
	memset(empty, 0, sizeof(empty));
	struct raw_section none = { CFG_SECTION_GLOBAL, NULL, 1, empty };
	const struct raw_section *g = rf->global ? rf->global : &none;
	struct setting st;
	int e;

	st = setting_get(rf, g, "state_dir");
	if (get_expanded(ld, &st, &cfg->state_dir) == 0 && cfg->state_dir &&
	    cfg->state_dir[0] != '/') {
		diag(ld, st.line, "state_dir: '%.200s' is not an absolute path",
		     cfg->state_dir);
	}
	/* The global password source, even when no feed uses it. */
	if (rf->global) {
		struct feed_config scratch = { 0 };
		feed_password(ld, rf, rf->global, &scratch);
		free(scratch.password_file);
	}
	st = setting_get(rf, g, "log_level");
	if (get_enum(ld, &st, &e) == 0)
		cfg->log_level = e < 0 ? LOG_LEVEL_INFO : (enum log_level)e;

	st = setting_get(rf, g, "control_socket");
	get_absolute_path(ld, &st, &cfg->control_socket);
	st = setting_get(rf, g, "control_mode");
	get_mode(ld, &st, &cfg->control_mode);
	st = setting_get(rf, g, "control_group");
	get_string(ld, &st, &cfg->control_group);
	st = setting_get(rf, g, "control_allow_users");
	get_uid_list(ld, &st, &cfg->control_allow_uids,
		     &cfg->ncontrol_allow_uids);
	st = setting_get(rf, g, "control_allow_groups");
	get_gid_list(ld, &st, &cfg->control_allow_gids,
		     &cfg->ncontrol_allow_gids);
	st = setting_get(rf, g, "metrics_socket");
	if (get_absolute_path(ld, &st, &cfg->metrics_socket) == 0 &&
	    cfg->metrics_socket && cfg->control_socket &&
	    strcmp(cfg->metrics_socket, cfg->control_socket) == 0)
		diag(ld, st.line, "metrics_socket: %.200s is also the control_socket",
		     cfg->metrics_socket);
	st = setting_get(rf, g, "metrics_listen");
	if (st.value[0] && config_parse_listen(st.value, NULL, 0, NULL) < 0)
		/* Metrics are never exposed beyond the host by accident. */
		diag(ld, st.line, "metrics_listen: '%.100s' is not a loopback address with a port (127.0.0.1:PORT, [::1]:PORT or localhost:PORT, PORT 1 to 65535)",
		     st.value);
	else
		get_string(ld, &st, &cfg->metrics_listen);

	/* Check the feed defaults once here, so that a bad global value is
	 * reported at its line even when no feed uses it. */
	static const char *const defaults[] = { "resolved", "backoff_initial",
		"backoff_max", "stall_timeout", "buffer", "envelope", "start",
		"dsn", "sslrootcert", "sslcert", "sslkey", "allow_users",
		"allow_groups" };
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		st = setting_get(rf, g, defaults[i]);
		if (!st.explicit)
			continue;
		int64_t ms;
		size_t sz;
		char *s = NULL;
		id_t *ids = NULL;
		size_t nids;
		if (strncmp(defaults[i], "ssl", 3) == 0) {
			get_tls_file(ld, &st, &s);
			free(s);
			continue;
		}
		if (strncmp(defaults[i], "allow_", 6) == 0) {
			get_id_list(ld, &st, defaults[i][6] == 'g', &ids, &nids);
			free(ids);
			continue;
		}
		switch (st.key->type) {
		case CFG_DURATION:
			get_duration(ld, &st, &ms);
			break;
		case CFG_SIZE:
			get_size(ld, &st, &sz);
			break;
		case CFG_ENUM:
			get_enum(ld, &st, &e);
			break;
		default:
			if (get_expanded(ld, &st, &s) == 0 && s)
				check_dsn(ld, &st, s);
			free(s);
			break;
		}
	}
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
			diag(ld, f->line, "feed %s: no sink serves it (add a [sink NAME] with feed = %s)",
			     f->name, f->name);
	}
	for (size_t i = 0; i < cfg->nsinks; i++) {
		const struct sink_config *a = &cfg->sinks[i];
		bool stdout_told = false;
		if (a->path && cfg->control_socket &&
		    strcmp(a->path, cfg->control_socket) == 0)
			diag(ld, a->line, "sink %s: path %.200s is also the control_socket",
			     a->name, a->path);
		if (a->path && cfg->metrics_socket &&
		    strcmp(a->path, cfg->metrics_socket) == 0)
			diag(ld, a->line, "sink %s: path %.200s is also the metrics_socket",
			     a->name, a->path);
		for (size_t j = 0; j < i; j++) {
			const struct sink_config *b = &cfg->sinks[j];
			if (a->path && b->path && strcmp(a->path, b->path) == 0)
				diag(ld, a->line, "sink %s: path %.200s is also the path of sink %s (line %d)",
				     a->name, a->path, b->name, b->line);
			/* Two would write every line of the feed twice. */
			if (!stdout_told && a->type == SINK_STDOUT &&
			    b->type == SINK_STDOUT && a->feed && b->feed &&
			    strcmp(a->feed, b->feed) == 0) {
				diag(ld, a->line, "sink %s: feed %s already has a stdout sink, %s (line %d)",
				     a->name, a->feed, b->name, b->line);
				stdout_told = true;
			}
		}
	}
}

struct config *config_load(const char *path, struct config_diag *diag_out)
{
	struct loader ld = { path, diag_out, NULL, false, false };
	diag_out->lines = NULL;
	diag_out->nlines = 0;

	FILE *fp = fopen(path, "r");
	if (!fp) {
		diag(&ld, 0, "cannot open: %s", strerror(errno));
		free(ld.diag_line);
		return NULL;
	}
	struct raw_file rf = { 0 };
	int rc = read_file(&ld, fp, &rf);
	fclose(fp);
	struct config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		diag_oom(&ld);
		raw_file_free(&rf);
		free(ld.diag_line);
		return NULL;
	}
	if (rc < 0 || ld.oom)
		goto out;
	if (!(cfg->path = xstrdup(&ld, path)))
		goto out;
	ld.file = cfg->path;

	size_t nfeeds = 0, nsinks = 0;
	for (size_t i = 0; i < rf.nsections; i++) {
		nfeeds += rf.sections[i].kind == CFG_SECTION_FEED;
		nsinks += rf.sections[i].kind == CFG_SECTION_SINK;
	}
	cfg->feeds = calloc(nfeeds ? nfeeds : 1, sizeof(*cfg->feeds));
	cfg->sinks = calloc(nsinks ? nsinks : 1, sizeof(*cfg->sinks));
	if (!cfg->feeds || !cfg->sinks) {
		diag_oom(&ld);
		goto out;
	}
	load_global(&ld, &rf, cfg);
	for (size_t i = 0; i < rf.nsections && !ld.oom; i++) {
		const struct raw_section *s = &rf.sections[i];
		if (s->kind == CFG_SECTION_FEED)
			load_feed(&ld, &rf, s, cfg);
		else if (s->kind == CFG_SECTION_SINK)
			load_sink(&ld, &rf, s, cfg);
	}
	if (!ld.oom)
		check_references(&ld, cfg);
out:
	raw_file_free(&rf);
	diag_sort(&ld);
	free(ld.diag_line);
	if (ld.failed) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* ------------------------------------------------------------------ */
/* Lookups, comparison, spec                                           */
/* ------------------------------------------------------------------ */

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

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool config_feed_equal(const struct feed_config *a, const struct feed_config *b)
{
	if (!str_eq(a->name, b->name) || !str_eq(a->dsn, b->dsn) ||
	    !str_eq(a->password_file, b->password_file) ||
	    !str_eq(a->query, b->query) || a->ntables != b->ntables ||
	    a->noptions != b->noptions || a->envelope != b->envelope ||
	    a->diff != b->diff || a->resolved_ms != b->resolved_ms ||
	    a->start != b->start || !str_eq(a->start_cursor, b->start_cursor) ||
	    a->backoff_initial_ms != b->backoff_initial_ms ||
	    a->backoff_max_ms != b->backoff_max_ms ||
	    a->stall_timeout_ms != b->stall_timeout_ms ||
	    !str_eq(a->sslrootcert, b->sslrootcert) ||
	    !str_eq(a->sslcert, b->sslcert) || !str_eq(a->sslkey, b->sslkey))
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

/* Allow-lists are kept sorted without repeats: equal sets, equal arrays. */
static bool ids_eq(const void *a, size_t na, const void *b, size_t nb,
		   size_t size)
{
	return na == nb && (na == 0 || memcmp(a, b, na * size) == 0);
}

bool config_sink_equal(const struct sink_config *a, const struct sink_config *b)
{
	return str_eq(a->name, b->name) && str_eq(a->feed, b->feed) &&
	       a->type == b->type && str_eq(a->path, b->path) &&
	       a->mode == b->mode && str_eq(a->group, b->group) &&
	       a->policy == b->policy && a->buffer_bytes == b->buffer_bytes &&
	       a->low_watermark == b->low_watermark &&
	       a->resolved == b->resolved &&
	       ids_eq(a->allow_uids, a->nallow_uids, b->allow_uids,
		      b->nallow_uids, sizeof(uid_t)) &&
	       ids_eq(a->allow_gids, a->nallow_gids, b->allow_gids,
		      b->nallow_gids, sizeof(gid_t));
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

/* 10000 -> "10s", 1500 -> "1500ms". */
static void format_duration(int64_t ms, char *buf, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%" PRId64 "s", ms / 1000);
	else
		snprintf(buf, size, "%" PRId64 "ms", ms);
}

crdb_feed_spec *config_feed_spec(const struct feed_config *feed, crdb_error *err)
{
	crdb_feed_spec *spec = crdb_feed_spec_new(err);
	if (!spec)
		return NULL;
	char resolved[32];
	format_duration(feed->resolved_ms, resolved, sizeof(resolved));
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

/* ------------------------------------------------------------------ */
/* Help and example                                                    */
/* ------------------------------------------------------------------ */

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
		def = inherited_index(idx) >= 0 ? "from [crdbfeedd]" : "unset";
	snprintf(buf, size, "%s%s; default: %s; reload: %s", type_names[k->type],
		 values, def, reload_names[k->reload]);
}

void config_print_help(FILE *out)
{
	enum cfg_section last = (enum cfg_section)-1;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->section != last) {
			last = k->section;
			fprintf(out, "%s[%s%s]\n", i ? "\n" : "",
				section_names[k->section],
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
					section_names[k->section],
					section_names[k->section]);
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
	for (size_t i = 0; i < cfg_nkeys; i++)
	{
		char desc[256];
		describe_key(i, desc, sizeof(desc));
		fprintf(out, "%s\t%s\t%s\n", section_names[cfg_keys[i].section],
			cfg_keys[i].name, desc);
	}
}
