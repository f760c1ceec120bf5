/*
 * changefeed.c: building a sinkless changefeed statement (§1, §3, §4.6,
 * §12): targets or a CDC query, options validated against one option table,
 * the cross-option rules CockroachDB applies, identifier and literal
 * quoting, and the final statement text.
 *
 * Refusals use CockroachDB's own wording where its source has one (the
 * messages of changefeedbase/options.go and the encoders); the few rules
 * that are ours (parquet on a sinkless feed, malformed names) say so in
 * plain words. Options are written in the order they were first set;
 * setting one again replaces its value in place.
 */
#include "config.h"

#include "crdb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* The option table                                                    */
/* ------------------------------------------------------------------ */

enum opt_kind {
	OPT_FLAG,      /* no value */
	OPT_ENUM,      /* one of `values`, case-insensitive, stored lower-case */
	OPT_ENUM_LIST, /* comma-separated subset of `values` */
	OPT_DURATION,  /* Go duration ("10s", "1m30s"), never negative */
	OPT_TIMESTAMP, /* HLC decimal, timestamp, or negative interval */
	OPT_STRING     /* any non-empty text */
};

#define OPT_VALUE_OPTIONAL 0x1 /* may also be written as a bare flag */
#define OPT_ZERO_OK        0x2 /* a duration of 0 is allowed */

struct opt_def {
	const char *name;
	enum opt_kind kind;
	unsigned flags;
	const char *const *values; /* OPT_ENUM*: allowed values, NULL-ended */
	const char *since;         /* where it appeared (§4.6), for readers */
};

static const char *const envelope_values[] = {
	"row", "key_only", "wrapped", "deprecated_row", "bare", "enriched", NULL
};
static const char *const format_values[] = {
	"json", "avro", "csv", "experimental_avro", "parquet", "protobuf", NULL
};
static const char *const initial_scan_values[] = { "yes", "no", "only", NULL };
static const char *const schema_events_values[] = {
	"column_changes", "default", NULL
};
static const char *const schema_policy_values[] = {
	"backfill", "nobackfill", "stop", "ignore", NULL
};
static const char *const on_error_values[] = { "pause", "fail", NULL };
static const char *const virtual_columns_values[] = { "omitted", "null", NULL };
static const char *const enriched_values[] = { "source", "schema", NULL };

/*
 * `since` records what crdb-wire.md says about an option's history; NULL
 * means the option is in the new options.go table (§4.6) and the note
 * records no first release for it.
 */
static const struct opt_def opt_table[] = {
	{ "cursor", OPT_TIMESTAMP, 0, NULL, "all versions (§4.5)" },
	{ "end_time", OPT_TIMESTAMP, 0, NULL, NULL },
	{ "envelope", OPT_ENUM, 0, envelope_values,
	  "bare: default of CDC queries (docs v23.1); enriched: v25.2" },
	{ "format", OPT_ENUM, 0, format_values,
	  "protobuf: docs v25.4; csv needs initial_scan='only'; parquet is cloud storage only" },
	{ "full_table_name", OPT_FLAG, 0, NULL, NULL },
	{ "key_in_value", OPT_FLAG, 0, NULL, "old tests: wrapped only" },
	{ "topic_in_value", OPT_FLAG, 0, NULL, NULL },
	{ "updated", OPT_FLAG, 0, NULL, "all versions" },
	{ "mvcc_timestamp", OPT_FLAG, 0, NULL, NULL },
	{ "diff", OPT_FLAG, 0, NULL, "old tests: wrapped only" },
	{ "split_column_families", OPT_FLAG, 0, NULL, NULL },
	{ "initial_scan", OPT_ENUM, OPT_VALUE_OPTIONAL, initial_scan_values,
	  "a flag before v22.1; 'yes'/'no'/'only' documented from v22.1" },
	{ "no_initial_scan", OPT_FLAG, 0, NULL, "before v22.1 (still accepted)" },
	{ "initial_scan_only", OPT_FLAG, 0, NULL, NULL },
	{ "unordered", OPT_FLAG, 0, NULL, NULL },
	{ "encode_json_value_null_as_object", OPT_FLAG, 0, NULL, NULL },
	{ "schema_change_events", OPT_ENUM, 0, schema_events_values, NULL },
	{ "schema_change_policy", OPT_ENUM, 0, schema_policy_values, NULL },
	{ "on_error", OPT_ENUM, 0, on_error_values, "jobs only: no effect on sinkless feeds" },
	{ "virtual_columns", OPT_ENUM, 0, virtual_columns_values,
	  "v22.1 (virtual columns omitted by default since)" },
	{ "min_checkpoint_frequency", OPT_DURATION, OPT_ZERO_OK, NULL,
	  "documented from v22.1" },
	{ "resolved", OPT_DURATION, OPT_VALUE_OPTIONAL | OPT_ZERO_OK, NULL,
	  "all versions; a bare flag means 0" },
	{ "lagging_ranges_threshold", OPT_DURATION, 0, NULL, NULL },
	{ "lagging_ranges_polling_interval", OPT_DURATION, 0, NULL, NULL },
	{ "key_column", OPT_STRING, 0, NULL, "needs unordered (§12)" },
	{ "enriched_properties", OPT_ENUM_LIST, 0, enriched_values,
	  "with envelope=enriched, v25.2" },
	{ "confluent_schema_registry", OPT_STRING, 0, NULL, "format=avro" },
	{ "avro_schema_prefix", OPT_STRING, 0, NULL, "format=avro" },
};

#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

/* ------------------------------------------------------------------ */
/* The spec                                                            */
/* ------------------------------------------------------------------ */

struct feed_target {
	char *name;   /* rendered, quoted as needed: a, s."B" */
	char *family; /* rendered, or NULL */
};

struct feed_option {
	const struct opt_def *def;
	char *value;  /* NULL when written as a bare flag */
};

struct crdb_feed_spec {
	struct feed_target *targets;
	size_t ntargets, targets_cap;
	char *query;
	struct feed_option opts[N_OPTS]; /* each option at most once */
	size_t nopts;
	bool experimental;
};

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

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct sbuf *sb, const char *s, size_t n)
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

static void sb_str(struct sbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

/* A SQL string literal: single quotes, quotes inside doubled. */
static void sb_literal(struct sbuf *sb, const char *s)
{
	sb_add(sb, "'", 1);
	for (const char *q; (q = strchr(s, '\'')); s = q + 1) {
		sb_add(sb, s, (size_t)(q - s) + 1);
		sb_add(sb, "'", 1);
	}
	sb_str(sb, s);
	sb_add(sb, "'", 1);
}

/* Take the built string (NULL with ENOMEM reported when it failed). */
static char *sb_finish(struct sbuf *sb, crdb_error *err)
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
		sb_str(sb, name);
		return;
	}
	sb_add(sb, "\"", 1);
	for (const char *q; (q = strchr(name, '"')); name = q + 1) {
		sb_add(sb, name, (size_t)(q - name) + 1);
		sb_add(sb, "\"", 1);
	}
	sb_str(sb, name);
	sb_add(sb, "\"", 1);
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
		sb_add(&sb, ".", 1);
		p++;
	}
	crdb__free(part);
	return sb_finish(&sb, err);
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

static bool is_space(char c)
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
	while (is_space(*select_sql))
		select_sql++;
	size_t len = strlen(select_sql);
	while (len && is_space(select_sql[len - 1]))
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
/* Option values                                                       */
/* ------------------------------------------------------------------ */

static const struct opt_def *find_def(const char *name)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strcasecmp(opt_table[i].name, name) == 0)
			return &opt_table[i];
	return NULL;
}

static struct feed_option *find_set(const crdb_feed_spec *spec,
				    const char *name)
{
	for (size_t i = 0; i < spec->nopts; i++)
		if (strcasecmp(spec->opts[i].def->name, name) == 0)
			return (struct feed_option *)&spec->opts[i];
	return NULL;
}

/* One duration unit of Go's time.ParseDuration. */
struct duration_unit {
	const char *name;
	int64_t ns;
};

static const struct duration_unit duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 }, /* U+03BC Greek mu */
	{ "ms", 1000000 },
	{ "s", 1000000000 },
	{ "m", INT64_C(60000000000) },
	{ "h", INT64_C(3600000000000) },
};

enum duration_result { DUR_OK, DUR_INVALID, DUR_MISSING_UNIT, DUR_BAD_UNIT };

/*
 * Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ or "0", the
 * sum of the parts, int64 nanoseconds. *negative is set for a leading '-'
 * (Go then negates the sum). The failing unit is reported in bad_unit.
 */
static enum duration_result parse_duration(const char *s, int64_t *out,
					   bool *negative, char *bad_unit,
					   size_t bad_unit_size)
{
	int64_t total = 0;

	*negative = false;
	if (*s == '-' || *s == '+') {
		*negative = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return DUR_OK;
	}
	if (!*s)
		return DUR_INVALID;
	while (*s) {
		int64_t whole = 0, frac = 0, scale = 1;
		bool pre = false, post = false, frac_overflow = false;

		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return DUR_INVALID;
		for (; *s >= '0' && *s <= '9'; s++) {
			pre = true;
			if (whole > (INT64_MAX - (*s - '0')) / 10)
				return DUR_INVALID;
			whole = whole * 10 + (*s - '0');
		}
		if (*s == '.') {
			s++;
			for (; *s >= '0' && *s <= '9'; s++) {
				post = true;
				/* Go stops adding digits once the scale
				 * would overflow; so do we. */
				if (frac_overflow || scale > INT64_MAX / 10) {
					frac_overflow = true;
					continue;
				}
				frac = frac * 10 + (*s - '0');
				scale *= 10;
			}
		}
		if (!pre && !post)
			return DUR_INVALID;
		const char *u = s;
		while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
			s++;
		size_t ulen = (size_t)(s - u);
		if (ulen == 0)
			return DUR_MISSING_UNIT;
		const struct duration_unit *unit = NULL;
		for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++)
			if (strlen(duration_units[i].name) == ulen &&
			    memcmp(duration_units[i].name, u, ulen) == 0)
				unit = &duration_units[i];
		if (!unit) {
			snprintf(bad_unit, bad_unit_size, "%.*s",
				 (int)(ulen < 16 ? ulen : 16), u);
			return DUR_BAD_UNIT;
		}
		if (whole > INT64_MAX / unit->ns)
			return DUR_INVALID;
		int64_t part = whole * unit->ns;
		if (frac > 0) {
			/* frac < scale, so frac * (ns / scale) stays small;
			 * use long double to keep Go's rounding close. */
			part += (int64_t)((long double)frac *
					  ((long double)unit->ns / (long double)scale));
			if (part < 0)
				return DUR_INVALID;
		}
		if (total > INT64_MAX - part)
			return DUR_INVALID;
		total += part;
	}
	*out = total;
	return DUR_OK;
}

static int check_duration(const struct opt_def *def, const char *value,
			  crdb_error *err)
{
	int64_t ns;
	bool negative;
	char bad_unit[20] = "";

	switch (parse_duration(value, &ns, &negative, bad_unit, sizeof bad_unit)) {
	case DUR_OK:
		break;
	case DUR_MISSING_UNIT:
		return crdb__fail(err, CRDB_EINVAL,
				  "problem parsing option %s: time: missing unit in duration \"%.64s\"",
				  def->name, value);
	case DUR_BAD_UNIT:
		return crdb__fail(err, CRDB_EINVAL,
				  "problem parsing option %s: time: unknown unit \"%s\" in duration \"%.64s\"",
				  def->name, bad_unit, value);
	case DUR_INVALID:
	default:
		return crdb__fail(err, CRDB_EINVAL,
				  "problem parsing option %s: time: invalid duration \"%.64s\"",
				  def->name, value);
	}
	if (negative && ns > 0)
		return crdb__fail(err, CRDB_EINVAL,
				  "negative durations are not accepted: %s='%.64s'",
				  def->name, value);
	if (ns == 0 && !(def->flags & OPT_ZERO_OK))
		return crdb__fail(err, CRDB_EINVAL,
				  "option %s must be a duration greater than 0",
				  def->name);
	return 0;
}

/*
 * A cursor or end_time as the AS OF SYSTEM TIME parser reads it (§4.5): a
 * timestamp (RFC 3339, the same without a zone, read as UTC, or a bare
 * date), an HLC decimal, or a negative interval (Go-style here). The
 * server's parser accepts more spellings (zone names, "+0200"); we accept
 * this well-defined subset. Whether the time lies in the future or behind
 * the GC threshold only the server can tell.
 */
static int check_timestamp(const char *value, crdb_error *err)
{
	crdb_hlc hlc;
	int64_t ns;
	bool negative;
	char bad_unit[20];
	char buf[64];

	if (crdb_hlc_parse(value, strlen(value), &hlc, NULL) == 0)
		return 0;
	if (crdb_hlc_from_rfc3339(value, &hlc, NULL) == 0)
		return 0;
	if (strlen(value) < sizeof buf - 16) {
		/* zone-less (read as UTC, the session default), and a bare
		 * date at midnight */
		snprintf(buf, sizeof buf, "%sZ", value);
		if (crdb_hlc_from_rfc3339(buf, &hlc, NULL) == 0)
			return 0;
		snprintf(buf, sizeof buf, "%sT00:00:00Z", value);
		if (crdb_hlc_from_rfc3339(buf, &hlc, NULL) == 0)
			return 0;
	}
	if (parse_duration(value, &ns, &negative, bad_unit,
			   sizeof bad_unit) == DUR_OK && negative && ns > 0)
		return 0;
	return crdb__fail(err, CRDB_EINVAL,
			  "AS OF SYSTEM TIME: value is neither timestamp, decimal, nor interval");
}

static void describe_values(char *buf, size_t size, const char *const *values)
{
	size_t n = 0, used = 0;

	while (values[n])
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++) {
		int w = snprintf(buf + used, size - used, "%s'%s'",
				 i == 0 ? "" : i == n - 1 ? " and " : ", ",
				 values[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static const char *find_value(const char *const *values, const char *v,
			      size_t len)
{
	for (size_t i = 0; values[i]; i++)
		if (strlen(values[i]) == len && strncasecmp(values[i], v, len) == 0)
			return values[i];
	return NULL;
}

/*
 * Validate value for def and return the text to store (a new string, the
 * canonical lower-case form for enums), or NULL with err set. *flag_form is
 * set when the option is to be written bare.
 */
static char *canonical_value(const struct opt_def *def, const char *value,
			     bool *flag_form, crdb_error *err)
{
	char desc[160];

	*flag_form = false;
	if (def->kind == OPT_FLAG) {
		if (value && *value) {
			crdb__fail(err, CRDB_EINVAL,
				   "option \"%s\" does not take a value", def->name);
			return NULL;
		}
		*flag_form = true;
		return NULL;
	}
	if (!value || !*value) {
		if (def->flags & OPT_VALUE_OPTIONAL) {
			*flag_form = true;
			return NULL;
		}
		crdb__fail(err, CRDB_EINVAL, "option \"%s\" requires a value",
			   def->name);
		return NULL;
	}
	if (strlen(value) > 4096) {
		crdb__fail(err, CRDB_EINVAL, "value of option %s is too long",
			   def->name);
		return NULL;
	}

	switch (def->kind) {
	case OPT_ENUM: {
		const char *v = find_value(def->values, value, strlen(value));
		if (!v) {
			describe_values(desc, sizeof desc, def->values);
			crdb__fail(err, CRDB_EINVAL,
				   "unknown %s: %.64s, valid values are %s",
				   def->name, value, desc);
			return NULL;
		}
		value = v;
		break;
	}
	case OPT_ENUM_LIST: {
		/* Each item trimmed and checked; stored as "a,b". */
		struct sbuf sb = { 0 };
		const char *p = value;
		for (;;) {
			const char *end = strchr(p, ',');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			const char *item = p;
			while (len && is_space(*item))
				item++, len--;
			while (len && is_space(item[len - 1]))
				len--;
			const char *v = find_value(def->values, item, len);
			if (!v) {
				describe_values(desc, sizeof desc, def->values);
				crdb__fail(err, CRDB_EINVAL,
					   "unknown %s: %.*s, valid values are %s",
					   def->name, (int)(len < 64 ? len : 64),
					   item, desc);
				crdb__free(sb.p);
				return NULL;
			}
			if (sb.len)
				sb_add(&sb, ",", 1);
			sb_str(&sb, v);
			if (!end)
				break;
			p = end + 1;
		}
		return sb_finish(&sb, err);
	}
	case OPT_DURATION:
		if (check_duration(def, value, err) < 0)
			return NULL;
		break;
	case OPT_TIMESTAMP:
		if (check_timestamp(value, err) < 0)
			return NULL;
		break;
	case OPT_STRING:
	case OPT_FLAG:
		break;
	}
	char *copy = crdb__strdup(value);
	if (!copy)
		crdb__fail(err, CRDB_ENOMEM, "out of memory");
	return copy;
}

int crdb_feed_spec_set_option(crdb_feed_spec *spec, const char *name,
			      const char *value, crdb_error *err)
{
	if (!spec || !name)
		return crdb__fail(err, CRDB_EINVAL, "spec or option name is NULL");
	const struct opt_def *def = find_def(name);
	if (!def)
		return crdb__fail(err, CRDB_EINVAL, "invalid option \"%.64s\"",
				  name);
	bool flag_form;
	char *stored = canonical_value(def, value, &flag_form, err);
	if (!stored && !flag_form)
		return -1;

	struct feed_option *opt = find_set(spec, def->name);
	if (!opt) {
		opt = &spec->opts[spec->nopts++]; /* room: one slot per def */
		opt->def = def;
	} else {
		crdb__free(opt->value);
	}
	opt->value = stored;
	return 0;
}

void crdb_feed_spec_unset_option(crdb_feed_spec *spec, const char *name)
{
	if (!spec || !name)
		return;
	struct feed_option *opt = find_set(spec, name);
	if (!opt)
		return;
	crdb__free(opt->value);
	size_t i = (size_t)(opt - spec->opts);
	memmove(&spec->opts[i], &spec->opts[i + 1],
		(spec->nopts - i - 1) * sizeof spec->opts[0]);
	spec->nopts--;
}

const char *crdb_feed_spec_option(const crdb_feed_spec *spec,
				  const char *name)
{
	if (!spec || !name)
		return NULL;
	const struct feed_option *opt = find_set(spec, name);
	if (!opt)
		return NULL;
	return opt->value ? opt->value : "";
}

/* ------------------------------------------------------------------ */
/* Cross-option rules                                                  */
/* ------------------------------------------------------------------ */

static bool is_set(const crdb_feed_spec *spec, const char *name)
{
	return find_set(spec, name) != NULL;
}

static const char *value_or(const crdb_feed_spec *spec, const char *name,
			    const char *dflt)
{
	const struct feed_option *opt = find_set(spec, name);
	return opt && opt->value ? opt->value : dflt;
}

static int check_rules(const crdb_feed_spec *spec, crdb_error *err)
{
	bool scan = is_set(spec, "initial_scan");
	bool no_scan = is_set(spec, "no_initial_scan");
	bool scan_only_flag = is_set(spec, "initial_scan_only");

	/* changefeedbase.GetInitialScanType */
	if (scan && no_scan)
		return crdb__fail(err, CRDB_EINVAL,
				  "cannot specify both initial_scan and no_initial_scan");
	if (scan && scan_only_flag)
		return crdb__fail(err, CRDB_EINVAL,
				  "cannot specify both initial_scan and initial_scan_only");
	if (no_scan && scan_only_flag)
		return crdb__fail(err, CRDB_EINVAL,
				  "cannot specify both initial_scan='only' and no_initial_scan");

	bool scan_only = scan_only_flag ||
			 strcmp(value_or(spec, "initial_scan", ""), "only") == 0;
	const char *format = value_or(spec, "format", "json");
	if (strcmp(format, "experimental_avro") == 0)
		format = "avro";
	const char *envelope = value_or(spec, "envelope",
					spec->query ? "bare" : "wrapped");

	/* ValidateForCreateChangefeed; the options in the order set. */
	if (scan_only) {
		static const char *const unsupported[] = {
			"end_time", "resolved", "diff", "mvcc_timestamp",
			"updated", NULL
		};
		for (size_t i = 0; i < spec->nopts; i++)
			for (size_t k = 0; unsupported[k]; k++)
				if (strcmp(spec->opts[i].def->name, unsupported[k]) == 0)
					return crdb__fail(err, CRDB_EINVAL,
							  "cannot specify both initial_scan='only' and %s",
							  unsupported[k]);
	} else if (strcmp(format, "csv") == 0) {
		return crdb__fail(err, CRDB_EINVAL,
				  "format=csv is only usable with initial_scan_only");
	}
	/* Ours: parquet files go to cloud storage only (§4.6). */
	if (strcmp(format, "parquet") == 0)
		return crdb__fail(err, CRDB_EINVAL,
				  "format=parquet is only usable with a cloud storage sink, not a sinkless changefeed");
	if (is_set(spec, "unordered") && is_set(spec, "resolved"))
		return crdb__fail(err, CRDB_EINVAL,
				  "unordered is not usable with resolved because resolved timestamps cannot be guaranteed to be correct in unordered mode");
	if (is_set(spec, "key_column") && !is_set(spec, "unordered"))
		return crdb__fail(err, CRDB_EINVAL,
				  "key_column requires the unordered option because using a value other than the primary key as the message key means end-to-end ordering cannot be preserved");

	/* EncodingOptions.Validate */
	if (strcmp(envelope, "row") == 0 && strcmp(format, "avro") == 0)
		return crdb__fail(err, CRDB_EINVAL,
				  "envelope=row is not supported with format=avro");
	if (is_set(spec, "encode_json_value_null_as_object") &&
	    strcmp(format, "json") != 0)
		return crdb__fail(err, CRDB_EINVAL,
				  "encode_json_value_null_as_object is only usable with format=json");
	if (strcmp(envelope, "enriched") == 0) {
		if (strcmp(format, "json") != 0 && strcmp(format, "avro") != 0)
			return crdb__fail(err, CRDB_EINVAL,
					  "envelope=enriched is only usable with format=json/avro");
	} else if (is_set(spec, "enriched_properties")) {
		return crdb__fail(err, CRDB_EINVAL,
				  "enriched_properties is only usable with envelope=enriched");
	}

	/* The wrapped-only options (§4.3): key_in_value and topic_in_value
	 * need wrapped; diff is meaningful under wrapped, enriched and bare
	 * (CDC queries use it for event_op()), not under row or key_only. */
	bool wrapped = strcmp(envelope, "wrapped") == 0;
	if (is_set(spec, "key_in_value") && !wrapped)
		return crdb__fail(err, CRDB_EINVAL,
				  "key_in_value is only usable with envelope=wrapped");
	if (is_set(spec, "topic_in_value") && !wrapped)
		return crdb__fail(err, CRDB_EINVAL,
				  "topic_in_value is only usable with envelope=wrapped");
	if (is_set(spec, "diff") &&
	    (strcmp(envelope, "row") == 0 || strcmp(envelope, "deprecated_row") == 0 ||
	     strcmp(envelope, "key_only") == 0))
		return crdb__fail(err, CRDB_EINVAL,
				  "diff is only usable with envelope=wrapped");

	/* The Avro encoder (§4.3, §4.6) */
	if (strcmp(format, "avro") == 0) {
		if (is_set(spec, "key_in_value"))
			return crdb__fail(err, CRDB_EINVAL,
					  "key_in_value is not supported with format=avro");
		if (is_set(spec, "topic_in_value"))
			return crdb__fail(err, CRDB_EINVAL,
					  "topic_in_value is not supported with format=avro");
		if (!wrapped && strcmp(envelope, "enriched") != 0) {
			static const char *const need_wrap[] = {
				"updated", "mvcc_timestamp", "diff", NULL
			};
			for (size_t k = 0; need_wrap[k]; k++)
				if (is_set(spec, need_wrap[k]))
					return crdb__fail(err, CRDB_EINVAL,
							  "%s is only usable with envelope=wrapped or envelope=enriched",
							  need_wrap[k]);
		}
		if (!is_set(spec, "confluent_schema_registry"))
			return crdb__fail(err, CRDB_EINVAL,
					  "WITH option confluent_schema_registry is required for format=avro");
	}
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
	if (check_rules(spec, err) < 0)
		return NULL;

	struct sbuf sb = { 0 };
	if (spec->experimental)
		sb_str(&sb, "EXPERIMENTAL CHANGEFEED FOR ");
	else if (spec->query)
		sb_str(&sb, "CREATE CHANGEFEED");
	else
		sb_str(&sb, "CREATE CHANGEFEED FOR ");
	for (size_t i = 0; i < spec->ntargets; i++) {
		if (i)
			sb_str(&sb, ", ");
		/* Old grammars (before FAMILY) read "TABLE a, b", never
		 * "TABLE a, TABLE b": the old spelling goes without it. */
		if (!spec->experimental)
			sb_str(&sb, "TABLE ");
		sb_str(&sb, spec->targets[i].name);
		if (spec->targets[i].family) {
			sb_str(&sb, " FAMILY ");
			sb_str(&sb, spec->targets[i].family);
		}
	}
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct feed_option *opt = &spec->opts[i];
		sb_str(&sb, i ? ", " : " WITH ");
		sb_str(&sb, opt->def->name);
		if (!opt->value)
			continue;
		sb_str(&sb, " = ");
		if (cursor_as_param && strcmp(opt->def->name, "cursor") == 0) {
			sb_str(&sb, "$1");
			if (cursor_param)
				*cursor_param = opt->value;
		} else {
			sb_literal(&sb, opt->value);
		}
	}
	if (spec->query) {
		sb_str(&sb, " AS ");
		sb_str(&sb, spec->query);
	}
	char *out = sb_finish(&sb, err);
	if (!out && cursor_param)
		*cursor_param = NULL;
	return out;
}
