/*
 * changefeed.c: building a changefeed statement, sinkless or with a sink
 * (§1, §3, §4.6, §12, §16): the spec, its targets or CDC query, its sink
 * URI, identifier and literal quoting, and the final statement text. The
 * options, their table and the cross-option rules are in feedopt.c.
 *
 * Refusals use CockroachDB's own wording where its source has one (the
 * messages of changefeedbase/options.go and the encoders); the few rules
 * that are ours (parquet on a sinkless feed, malformed names) say so in
 * plain words. Options are written in the order they were first set;
 * setting one again replaces its value in place. A sink URI may carry a
 * private key (client_key), so no message ever quotes it.
 */
#include "config.h"

#include "crdb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* The spec                                                            */
/* ------------------------------------------------------------------ */

crdb_feed_spec *crdb_feed_spec_new(crdb_error *err)
{
	crdb_feed_spec *spec = crdb__calloc(1, sizeof *spec);
	if (!spec)
		crdb__fail(err, CRDB_ENOMEM, "out of memory");
	return spec;
}

void crdb_feed_spec_free(crdb_feed_spec *spec)
{
	if (!spec)
		return;
	for (size_t i = 0; i < spec->ntargets; i++) {
		crdb__free(spec->targets[i].name);
		crdb__free(spec->targets[i].family);
	}
	crdb__free(spec->targets);
	crdb__free(spec->query);
	crdb__free(spec->sink);
	for (size_t i = 0; i < spec->nopts; i++)
		crdb__free(spec->opts[i].value);
	crdb__free(spec);
}

void crdb_feed_spec_set_experimental(crdb_feed_spec *spec, bool experimental)
{
	if (spec)
		spec->experimental = experimental;
}

/* ------------------------------------------------------------------ */
/* A bounded string builder that remembers an allocation failure       */
/* ------------------------------------------------------------------ */

void crdb__sb_add(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->failed)
		return;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 128;
		while (cap < sb->len + n + 1) {
			if (cap > SIZE_MAX / 2) {
				sb->failed = true;
				return;
			}
			cap *= 2;
		}
		char *p = crdb__realloc(sb->p, cap);
		if (!p) {
			sb->failed = true;
			return;
		}
		sb->p = p;
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

void crdb__sb_str(struct sbuf *sb, const char *s)
{
	crdb__sb_add(sb, s, strlen(s));
}

/* A SQL string literal: single quotes, quotes inside doubled. */
static void sb_literal(struct sbuf *sb, const char *s)
{
	crdb__sb_add(sb, "'", 1);
	for (const char *q; (q = strchr(s, '\'')); s = q + 1) {
		crdb__sb_add(sb, s, (size_t)(q - s) + 1);
		crdb__sb_add(sb, "'", 1);
	}
	crdb__sb_str(sb, s);
	crdb__sb_add(sb, "'", 1);
}

/* Take the built string (NULL with ENOMEM reported when it failed). */
char *crdb__sb_finish(struct sbuf *sb, crdb_error *err)
{
	if (sb->failed || !sb->p) {
		crdb__free(sb->p);
		crdb__fail(err, CRDB_ENOMEM, "out of memory");
		return NULL;
	}
	return sb->p;
}

/* ------------------------------------------------------------------ */
/* Identifiers                                                         */
/* ------------------------------------------------------------------ */

/*
 * Words that cannot stand bare as a table or family name: CockroachDB's
 * reserved keywords and its type/function-name keywords (sql.y). Sorted
 * for bsearch. Quoting a lower-case name never changes its meaning, so
 * the list errs on the side of quoting.
 */
static const char *const reserved_words[] = {
	"all", "analyse", "analyze", "and", "any", "array", "as", "asc",
	"asymmetric", "authorization", "both", "case", "cast", "check",
	"collate", "collation", "column", "concurrently", "constraint",
	"create", "cross", "current_catalog", "current_date", "current_role",
	"current_schema", "current_time", "current_timestamp", "current_user",
	"default", "deferrable", "desc", "distinct", "do", "else", "end",
	"except", "false", "family", "fetch", "for", "foreign", "from", "full",
	"grant", "group", "having", "ilike", "in", "index", "initially",
	"inner", "intersect", "into", "is", "isnull", "join", "lateral",
	"leading", "left", "like", "limit", "localtime", "localtimestamp",
	"natural", "none", "not", "nothing", "notnull", "null", "offset", "on",
	"only", "or", "order", "outer", "overlaps", "placing", "primary",
	"references", "returning", "right", "select", "session_user",
	"similar", "some", "symmetric", "table", "then", "to", "trailing",
	"true", "union", "unique", "user", "using", "variadic", "when",
	"where", "window", "with",
};

static int cmp_word(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool is_reserved(const char *word)
{
	return bsearch(word, reserved_words,
		       sizeof reserved_words / sizeof reserved_words[0],
		       sizeof reserved_words[0], cmp_word) != NULL;
}

static bool ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ident_char(unsigned char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* True when the (already case-folded) name can be written bare. */
static bool needs_no_quotes(const char *name)
{
	if (!((*name >= 'a' && *name <= 'z') || *name == '_'))
		return false;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!ident_char(c) || (c >= 'A' && c <= 'Z'))
			return false;
	}
	return !is_reserved(name);
}

static void sb_ident(struct sbuf *sb, const char *name)
{
	if (needs_no_quotes(name)) {
		crdb__sb_str(sb, name);
		return;
	}
	crdb__sb_add(sb, "\"", 1);
	for (const char *q; (q = strchr(name, '"')); name = q + 1) {
		crdb__sb_add(sb, name, (size_t)(q - name) + 1);
		crdb__sb_add(sb, "\"", 1);
	}
	crdb__sb_str(sb, name);
	crdb__sb_add(sb, "\"", 1);
}

/*
 * Read one name part at *p: a plain identifier (folded to lower case, as
 * the SQL parser folds it) or a double-quoted one ("" inside is one "). The
 * part, unquoted, goes to out (out_size bytes, as the input is no longer
 * than that). Returns false with err set on a malformed part.
 */
static bool read_name_part(const char **p, char *out, const char *whole,
			   crdb_error *err)
{
	const char *s = *p;
	size_t n = 0;

	if (*s == '"') {
		s++;
		for (;;) {
			if (*s == '\0') {
				crdb__fail(err, CRDB_EINVAL,
					   "unterminated quoted identifier in \"%.64s\"",
					   whole);
				return false;
			}
			if (*s == '"') {
				if (s[1] != '"')
					break;
				s++;
			}
			out[n++] = *s++;
		}
		s++;
		if (n == 0) {
			crdb__fail(err, CRDB_EINVAL,
				   "zero-length quoted identifier in \"%.64s\"",
				   whole);
			return false;
		}
	} else {
		if (!ident_start((unsigned char)*s)) {
			if ((unsigned char)*s >= 0x80)
				crdb__fail(err, CRDB_EINVAL,
					   "quote identifiers with non-ASCII characters: \"%.64s\"",
					   whole);
			else
				crdb__fail(err, CRDB_EINVAL,
					   "malformed name \"%.64s\": expected an identifier",
					   whole);
			return false;
		}
		for (; ident_char((unsigned char)*s); s++) {
			char c = *s;
			out[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		if ((unsigned char)*s >= 0x80) {
			crdb__fail(err, CRDB_EINVAL,
				   "quote identifiers with non-ASCII characters: \"%.64s\"",
				   whole);
			return false;
		}
	}
	out[n] = '\0';
	*p = s;
	return true;
}

/* Render a possibly qualified name ("t", "s.t", "db.s.t") quoted as
 * needed; NULL with err set when it is malformed or memory runs out. */
static char *render_name(const char *name, int max_parts, crdb_error *err)
{
	struct sbuf sb = { 0 };
	size_t len = strlen(name);
	char *part = crdb__malloc(len + 1);
	const char *p = name;

	if (!part) {
		crdb__fail(err, CRDB_ENOMEM, "out of memory");
		return NULL;
	}
	for (int nparts = 1;; nparts++) {
		if (!read_name_part(&p, part, name, err))
			goto fail;
		sb_ident(&sb, part);
		if (*p == '\0')
			break;
		if (*p != '.' || nparts == max_parts) {
			crdb__fail(err, CRDB_EINVAL,
				   max_parts == 1 ?
				   "malformed name \"%.64s\": expected one identifier" :
				   "malformed name \"%.64s\": expected t, s.t or db.s.t",
				   name);
			goto fail;
		}
		crdb__sb_add(&sb, ".", 1);
		p++;
	}
	crdb__free(part);
	return crdb__sb_finish(&sb, err);
fail:
	crdb__free(part);
	crdb__free(sb.p);
	return NULL;
}

int crdb_feed_spec_add_table(crdb_feed_spec *spec, const char *name,
			     const char *family, crdb_error *err)
{
	if (!spec || !name)
		return crdb__fail(err, CRDB_EINVAL, "spec or table name is NULL");
	if (spec->query)
		return crdb__fail(err, CRDB_EINVAL,
				  "a changefeed with a CDC query cannot also have target tables");
	if (!*name)
		return crdb__fail(err, CRDB_EINVAL, "empty table name");
	if (family && !*family)
		return crdb__fail(err, CRDB_EINVAL, "empty family name");

	if (spec->ntargets == spec->targets_cap) {
		size_t cap = spec->targets_cap ? spec->targets_cap * 2 : 4;
		struct feed_target *t = crdb__realloc(spec->targets, cap * sizeof *t);
		if (!t)
			return crdb__fail(err, CRDB_ENOMEM, "out of memory");
		spec->targets = t;
		spec->targets_cap = cap;
	}
	char *rendered = render_name(name, 3, err);
	if (!rendered)
		return -1;
	char *fam = NULL;
	if (family && !(fam = render_name(family, 1, err))) {
		crdb__free(rendered);
		return -1;
	}
	spec->targets[spec->ntargets].name = rendered;
	spec->targets[spec->ntargets].family = fam;
	spec->ntargets++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* CDC query                                                           */
/* ------------------------------------------------------------------ */

bool crdb__is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool starts_with_word_ci(const char *s, const char *word)
{
	size_t n = strlen(word);
	return strncasecmp(s, word, n) == 0 &&
	       !ident_char((unsigned char)s[n]);
}

/* Whether the word occurs on its own (not inside an identifier). */
static bool has_word_ci(const char *s, const char *word)
{
	for (const char *p = s; *p; p++) {
		if (p > s && ident_char((unsigned char)p[-1]))
			continue;
		if (starts_with_word_ci(p, word))
			return true;
	}
	return false;
}

int crdb_feed_spec_set_query(crdb_feed_spec *spec, const char *select_sql,
			     crdb_error *err)
{
	if (!spec || !select_sql)
		return crdb__fail(err, CRDB_EINVAL, "spec or query is NULL");
	if (spec->ntargets)
		return crdb__fail(err, CRDB_EINVAL,
				  "a changefeed with target tables cannot also have a CDC query");
	while (crdb__is_space(*select_sql))
		select_sql++;
	size_t len = strlen(select_sql);
	while (len && crdb__is_space(select_sql[len - 1]))
		len--;
	if (!starts_with_word_ci(select_sql, "select"))
		return crdb__fail(err, CRDB_EINVAL,
				  "a CDC query must start with SELECT: \"%.64s\"",
				  select_sql);
	if (!has_word_ci(select_sql, "from"))
		return crdb__fail(err, CRDB_EINVAL,
				  "a CDC query must select FROM one table: \"%.64s\"",
				  select_sql);
	char *copy = crdb__strndup(select_sql, len);
	if (!copy)
		return crdb__fail(err, CRDB_ENOMEM, "out of memory");
	crdb__free(spec->query);
	spec->query = copy;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The sink                                                            */
/* ------------------------------------------------------------------ */

/* Longer than any sink URI with its certificates and key inline. */
#define SINK_URI_MAX (256 * 1024)

/* The length of an RFC 3986 scheme followed by "://", or 0. */
static size_t scheme_length(const char *uri)
{
	size_t n = 0;

	if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z')))
		return 0;
	while ((uri[n] >= 'a' && uri[n] <= 'z') || (uri[n] >= 'A' && uri[n] <= 'Z') ||
	       (uri[n] >= '0' && uri[n] <= '9') || uri[n] == '+' ||
	       uri[n] == '-' || uri[n] == '.')
		n++;
	return strncmp(uri + n, "://", 3) == 0 ? n : 0;
}

bool crdb__sink_is_webhook(const char *uri)
{
	size_t n = scheme_length(uri);
	return (n == 13 && strncasecmp(uri, "webhook-https", n) == 0) ||
	       (n == 12 && strncasecmp(uri, "webhook-http", n) == 0);
}

int crdb_feed_spec_set_sink(crdb_feed_spec *spec, const char *uri,
			    crdb_error *err)
{
	if (!spec || !uri)
		return crdb__fail(err, CRDB_EINVAL, "spec or sink URI is NULL");
	if (!*uri)
		return crdb__fail(err, CRDB_EINVAL, "empty sink URI");
	size_t len = strnlen(uri, SINK_URI_MAX + 1);
	if (len > SINK_URI_MAX)
		return crdb__fail(err, CRDB_EINVAL,
				  "sink URI is longer than %d bytes", SINK_URI_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)uri[i];
		if (c < 0x20 || c == 0x7f)
			return crdb__fail(err, CRDB_EINVAL,
					  "sink URI has a control character (0x%02x) at byte %zu",
					  c, i);
	}
	if (!scheme_length(uri))
		return crdb__fail(err, CRDB_EINVAL,
				  "sink URI does not start with scheme://");
	char *copy = crdb__strndup(uri, len);
	if (!copy)
		return crdb__fail(err, CRDB_ENOMEM, "out of memory");
	crdb__free(spec->sink);
	spec->sink = copy;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The statement                                                       */
/* ------------------------------------------------------------------ */

char *crdb_feed_spec_build(const crdb_feed_spec *spec, bool cursor_as_param,
			   const char **cursor_param, crdb_error *err)
{
	if (cursor_param)
		*cursor_param = NULL;
	if (!spec) {
		crdb__fail(err, CRDB_EINVAL, "spec is NULL");
		return NULL;
	}
	if (!spec->ntargets && !spec->query) {
		crdb__fail(err, CRDB_EINVAL,
			   "a changefeed needs at least one target table or a CDC query");
		return NULL;
	}
	if (spec->query && spec->experimental) {
		crdb__fail(err, CRDB_EINVAL,
			   "EXPERIMENTAL CHANGEFEED FOR does not take a CDC query");
		return NULL;
	}
	if (spec->sink && spec->experimental) {
		crdb__fail(err, CRDB_EINVAL,
			   "EXPERIMENTAL CHANGEFEED FOR does not take a sink (INTO)");
		return NULL;
	}
	if (crdb__feed_check_rules(spec, err) < 0)
		return NULL;

	struct sbuf sb = { 0 };
	if (spec->experimental)
		crdb__sb_str(&sb, "EXPERIMENTAL CHANGEFEED FOR ");
	else if (spec->query)
		crdb__sb_str(&sb, "CREATE CHANGEFEED");
	else
		crdb__sb_str(&sb, "CREATE CHANGEFEED FOR ");
	for (size_t i = 0; i < spec->ntargets; i++) {
		if (i)
			crdb__sb_str(&sb, ", ");
		/* Old grammars (before FAMILY) read "TABLE a, b", never
		 * "TABLE a, TABLE b": the old spelling goes without it. */
		if (!spec->experimental)
			crdb__sb_str(&sb, "TABLE ");
		crdb__sb_str(&sb, spec->targets[i].name);
		if (spec->targets[i].family) {
			crdb__sb_str(&sb, " FAMILY ");
			crdb__sb_str(&sb, spec->targets[i].family);
		}
	}
	if (spec->sink) {
		crdb__sb_str(&sb, " INTO ");
		sb_literal(&sb, spec->sink);
	}
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct feed_option *opt = &spec->opts[i];
		crdb__sb_str(&sb, i ? ", " : " WITH ");
		crdb__sb_str(&sb, opt->def->name);
		if (!opt->value)
			continue;
		crdb__sb_str(&sb, " = ");
		if (cursor_as_param && strcmp(opt->def->name, "cursor") == 0) {
			crdb__sb_str(&sb, "$1");
			if (cursor_param)
				*cursor_param = opt->value;
		} else {
			sb_literal(&sb, opt->value);
		}
	}
	if (spec->query) {
		crdb__sb_str(&sb, " AS ");
		crdb__sb_str(&sb, spec->query);
	}
	char *out = crdb__sb_finish(&sb, err);
	if (!out && cursor_param)
		*cursor_param = NULL;
	return out;
}

