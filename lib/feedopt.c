/*
 * feedopt.c: the options of a changefeed statement: one table of every
 * option CockroachDB accepts on a sinkless feed (§4.6) and of those about
 * a sink or a job (§13, §16), the checks of each value against it (enums,
 * Go durations, timestamps, JSON), and the cross-option rules CockroachDB
 * applies when the statement is built.
 *
 * Refusals use CockroachDB's own wording where its source has one (the
 * messages of changefeedbase/options.go, sink.go and the encoders); the few
 * rules that are ours (parquet on a sinkless feed, a sink's option without
 * a sink) say so in plain words.
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
static const char *const compression_values[] = { "gzip", "zstd", NULL };

/*
 * `since` records what doc/crdb-wire.md says about an option's history; NULL
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
	/* With a sink only (§13, §16): WebhookValidOptions of options.go,
	 * and the job's own options, which a sinkless feed has no use for. */
	{ "webhook_auth_header", OPT_STRING, OPT_NEEDS_SINK | OPT_WEBHOOK, NULL,
	  "webhook sink: the Authorization header" },
	{ "webhook_client_timeout", OPT_DURATION, OPT_NEEDS_SINK | OPT_WEBHOOK,
	  NULL, "webhook sink, default 3s" },
	{ "webhook_sink_config", OPT_JSON, OPT_NEEDS_SINK | OPT_WEBHOOK, NULL,
	  "webhook sink: {\"Flush\":{...},\"Retry\":{...}}" },
	{ "compression", OPT_ENUM, OPT_NEEDS_SINK, compression_values,
	  "webhook and cloud storage sinks" },
	{ "gc_protect_expires_after", OPT_DURATION, OPT_NEEDS_SINK | OPT_ZERO_OK,
	  NULL, "jobs only: bounds a paused job's protected timestamp" },
	{ "protect_data_from_gc_on_pause", OPT_FLAG, OPT_NEEDS_SINK, NULL,
	  "jobs only; retired in new versions (\"no longer needed\")" },
	{ "metrics_label", OPT_STRING, OPT_NEEDS_SINK, NULL,
	  "jobs only: the job's metrics scope" },
};

_Static_assert(sizeof opt_table / sizeof opt_table[0] == CRDB__N_FEED_OPTS,
	       "CRDB__N_FEED_OPTS (crdb_internal.h) is the size of opt_table");
#define N_OPTS CRDB__N_FEED_OPTS

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

/* A sink's JSON configuration: CockroachDB's sink parses it into a
 * struct, so anything but one JSON object is refused there too. Read with
 * libcrdb's own reader (jsonread.c), which stays correct when memory runs
 * out. */
static int check_json_object(const struct opt_def *def, const char *value,
			     crdb_error *err)
{
	crdb_error jerr;
	crdb_error_clear(&jerr);
	json_t *doc = crdb__jsonb_from_text(value, strlen(value), false, &jerr);

	if (!doc) {
		if (jerr.code == CRDB_ENOMEM)
			return crdb__fail(err, CRDB_ENOMEM, "out of memory");
		return crdb__fail(err, CRDB_EINVAL, "option %s is not valid JSON: %s",
				  def->name, jerr.message);
	}
	bool object = json_is_object(doc);
	json_decref(doc);
	if (!object)
		return crdb__fail(err, CRDB_EINVAL,
				  "option %s must be a JSON object", def->name);
	return 0;
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
			while (len && crdb__is_space(*item))
				item++, len--;
			while (len && crdb__is_space(item[len - 1]))
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
				crdb__sb_add(&sb, ",", 1);
			crdb__sb_str(&sb, v);
			if (!end)
				break;
			p = end + 1;
		}
		return crdb__sb_finish(&sb, err);
	}
	case OPT_DURATION:
		if (check_duration(def, value, err) < 0)
			return NULL;
		break;
	case OPT_TIMESTAMP:
		if (check_timestamp(value, err) < 0)
			return NULL;
		break;
	case OPT_JSON:
		if (check_json_object(def, value, err) < 0)
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

int crdb__feed_check_rules(const crdb_feed_spec *spec, crdb_error *err)
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
	bool webhook = spec->sink && crdb__sink_is_webhook(spec->sink);
	if (strcmp(format, "parquet") == 0 && (!spec->sink || webhook))
		return crdb__fail(err, CRDB_EINVAL,
				  spec->sink ?
				  "format=parquet is only usable with a cloud storage sink, not a webhook sink" :
				  "format=parquet is only usable with a cloud storage sink, not a sinkless changefeed");
	/* Options about a sink or a job: ours without a sink (CockroachDB
	 * would take some and ignore them); sink.go validateSinkOptions'
	 * wording for a webhook option on another sink (§16). */
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct opt_def *def = spec->opts[i].def;
		if ((def->flags & OPT_NEEDS_SINK) && !spec->sink)
			return crdb__fail(err, CRDB_EINVAL,
					  "option %s needs a sink: it is only usable with CREATE CHANGEFEED ... INTO",
					  def->name);
		if ((def->flags & OPT_WEBHOOK) && !webhook)
			return crdb__fail(err, CRDB_EINVAL,
					  "this sink is incompatible with option %s",
					  def->name);
	}
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

