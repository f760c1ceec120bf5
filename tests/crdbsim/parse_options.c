/*
 * parse_options.c: the WITH options of crdbsim's changefeed statements
 * (doc/crdb-wire.md §4.6): reading the option list, applying each option
 * to the statement, and the cross-option checks, with CockroachDB's error
 * texts. The accepted options and their errors are listed at the top of
 * parse.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse_int.h"

void parse_optlist_free(struct optlist *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].name);
		free(o->v[i].value);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

int parse_options(struct lexer *lx, const char *const *params,
		  int nparams, struct optlist *o, struct simfeed_error *err)
{
	/* WITH [OPTIONS (] ... [)] : the parenthesised form exists in newer
	 * grammars; accept both */
	bool paren = false;
	if (parse_is_kw(lx, "options")) {
		parse_next(lx);
		if (!parse_is_punct(lx, '('))
			return parse_syntax_error(lx, err);
		paren = true;
		parse_next(lx);
	} else if (parse_is_punct(lx, '(')) {
		paren = true;
		parse_next(lx);
	}
	for (;;) {
		struct opt op = { 0 };
		if (lx->cur.kind == TK_IDENT || lx->cur.kind == TK_QIDENT ||
		    lx->cur.kind == TK_STRING) {
			op.name = lx->cur.text;
			lx->cur.text = NULL;
		} else {
			return parse_syntax_error(lx, err);
		}
		if (lx->cur.kind == TK_STRING || lx->cur.kind == TK_QIDENT) {
			/* option names are case-insensitive everywhere */
			for (char *p = op.name; p && *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
		parse_next(lx);
		if (parse_is_punct(lx, '=')) {
			parse_next(lx);
			/* string_or_placeholder: a string, a placeholder, or a
			 * bare word (WITH format=json, envelope=row) */
			if (lx->cur.kind == TK_STRING || lx->cur.kind == TK_IDENT ||
			    lx->cur.kind == TK_QIDENT) {
				op.value = lx->cur.text;
				lx->cur.text = NULL;
			} else if (lx->cur.kind == TK_PARAM) {
				int k = lx->cur.param;
				if (k < 1 || k > nparams) {
					free(op.name);
					return parse_fail(err, SQLSTATE_PROTOCOL,
							  "no value provided for placeholder: $%d", k);
				}
				/* SQL NULL: as no value */
				op.value = params[k - 1] ? strdup(params[k - 1]) : NULL;
				if (params[k - 1] && !op.value) {
					free(op.name);
					return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
				}
			} else {
				free(op.name);
				return parse_syntax_error(lx, err);
			}
			parse_next(lx);
		}
		struct opt *v = realloc(o->v, (o->n + 1) * sizeof *v);
		if (!v || !op.name) {
			free(v ? NULL : op.name);
			free(op.value);
			if (v)
				o->v = v;
			return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
		}
		o->v = v;
		v[o->n++] = op;
		if (!parse_is_punct(lx, ','))
			break;
		parse_next(lx);
	}
	if (paren) {
		if (!parse_is_punct(lx, ')'))
			return parse_syntax_error(lx, err);
		parse_next(lx);
	}
	return 0;
}

/* A duration option: value required unless allow_bare; negative refused. */
static int duration_opt(const struct opt *op, bool allow_bare, int64_t *ms,
			struct simfeed_error *err)
{
	char msg[256];
	int64_t ns;

	if (!op->value || !op->value[0]) {
		if (!allow_bare && !op->value)
			return parse_fail(err, SQLSTATE_INVALID_PARAM,
					  "option \"%s\" requires a value", op->name);
		*ms = 0;
		return 0;
	}
	if (parse_go_duration(op->value, &ns, msg, sizeof msg) < 0)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED, "%s", msg);
	if (ns < 0)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "negative durations are not accepted: %s='%s'",
				  op->name, op->value);
	*ms = ns / 1000000;
	return 0;
}

static bool one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (strcasecmp(v, *set) == 0)
			return true;
	return false;
}

static int require_value(const struct opt *op, struct simfeed_error *err)
{
	if (!op->value)
		return parse_fail(err, SQLSTATE_INVALID_PARAM, "option \"%s\" requires a value",
				  op->name);
	return 0;
}

static int require_no_value(const struct opt *op, struct simfeed_error *err)
{
	if (op->value)
		return parse_fail(err, SQLSTATE_INVALID_PARAM,
				  "option \"%s\" does not take a value", op->name);
	return 0;
}

/* An enumerated option: value required, one of set (case-insensitive). */
static int enum_opt(const struct opt *op, const char *const *set,
		    struct simfeed_error *err)
{
	if (require_value(op, err) < 0)
		return -1;
	if (!one_of(op->value, set))
		return parse_fail(err, SQLSTATE_UNCATEGORIZED, "unknown %s: %s", op->name,
				  op->value);
	return 0;
}

static int uint_opt(const struct opt *op, uint64_t *out, struct simfeed_error *err)
{
	char *end;
	if (require_value(op, err) < 0)
		return -1;
	errno = 0;
	unsigned long long v = strtoull(op->value, &end, 10);
	if (errno || end == op->value || *end || op->value[0] == '-')
		return parse_fail(err, SQLSTATE_INVALID_PARAM,
				  "option \"%s\": not an unsigned integer: %s", op->name,
				  op->value);
	*out = v;
	return 0;
}

int parse_apply_option(struct simfeed_stmt *st, const struct opt *op,
		       int64_t now_ns, struct seen *seen,
		       struct simfeed_error *err)
{
	static const char *const envelopes[] = { "wrapped", "bare", "row",
		"deprecated_row", "key_only", "enriched", NULL };
	static const char *const policies[] = { "backfill", "nobackfill", "stop",
		"ignore", NULL };
	static const char *const events[] = { "column_changes", "default", NULL };
	static const char *const on_error[] = { "pause", "fail", NULL };
	static const char *const virtual_cols[] = { "omitted", "null", NULL };
	static const char *const formats[] = { "json", "avro", "experimental_avro",
		"csv", "parquet", "protobuf", NULL };
	/* accepted without effect, any value or none */
	static const char *const ignored_any[] = {
		"protect_data_from_gc_on_pause", "gc_protect_expires_after",
		"metrics_label", "execution_locality",
		"avro_schema_prefix", "confluent_schema_registry",
		"ignore_disable_changefeed_replication",
		"encode_json_value_null_as_object",
		"headers_json_column_name", "extra_headers", NULL };
	/* options of other sinks: CockroachDB refuses them on a sinkless feed */
	static const char *const other_sinks[] = { "kafka_sink_config",
		"webhook_sink_config", "webhook_auth_header",
		"webhook_client_timeout", "pubsub_sink_config", "compression", NULL };
	const char *n = op->name;
	int64_t ms;

	if (strcmp(n, "envelope") == 0) {
		if (require_value(op, err) < 0)
			return -1;
		if (!one_of(op->value, envelopes))
			return parse_fail(err, SQLSTATE_UNCATEGORIZED, "unknown envelope: %s",
					  op->value);
		const char *v = op->value;
		st->envelope = !strcasecmp(v, "wrapped") ? SIM_ENV_WRAPPED :
			       !strcasecmp(v, "bare") ? SIM_ENV_BARE :
			       !strcasecmp(v, "key_only") ? SIM_ENV_KEY_ONLY :
			       !strcasecmp(v, "enriched") ? SIM_ENV_ENRICHED :
			       SIM_ENV_ROW;
		seen->envelope = true;
	} else if (strcmp(n, "format") == 0) {
		if (require_value(op, err) < 0)
			return -1;
		if (!one_of(op->value, formats))
			return parse_fail(err, SQLSTATE_UNCATEGORIZED, "unknown format: %s",
					  op->value);
		/* csv has a rule of its own, checked with initial_scan */
		if (!strcasecmp(op->value, "csv"))
			seen->csv = true;
		else if (strcasecmp(op->value, "json") != 0)
			return parse_fail(err, SQLSTATE_UNSUPPORTED,
					  "crdbsim emulates only format=json, not format=%s",
					  op->value);
	} else if (strcmp(n, "cursor") == 0 || strcmp(n, "end_time") == 0) {
		struct sim_hlc ts;
		bool cursor = n[0] == 'c';
		if (require_value(op, err) < 0 ||
		    sim_parse_timestamp(op->value, now_ns, &ts, err) < 0)
			return -1;
		/* the text of doc/crdb-wire.md §4.5 [TEST old]; newer releases
		 * say "timestamp '...' is in the future" */
		if (cursor && ts.wall > now_ns)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED,
					  "cannot specify timestamp in the future");
		if (cursor) {
			st->has_cursor = true;
			st->cursor = ts;
		} else {
			st->has_end_time = true;
			st->end_time = ts;
			seen->end_time = true;
		}
	} else if (strcmp(n, "resolved") == 0) {
		if (duration_opt(op, true, &ms, err) < 0)
			return -1;
		st->has_resolved = true;
		st->resolved_ms = ms;
		seen->resolved = true;
	} else if (strcmp(n, "min_checkpoint_frequency") == 0) {
		if (duration_opt(op, false, &ms, err) < 0)
			return -1;
		st->min_checkpoint_ms = ms;
	} else if (strcmp(n, "lagging_ranges_threshold") == 0 ||
		   strcmp(n, "lagging_ranges_polling_interval") == 0) {
		if (duration_opt(op, false, &ms, err) < 0)
			return -1;
	} else if (strcmp(n, "initial_scan") == 0) {
		/* resolved with the other two in parse_check_options, in
		 * GetInitialScanType's order */
		seen->initial_scan = true;
		seen->initial_scan_value = op->value;
	} else if (strcmp(n, "no_initial_scan") == 0) {
		if (require_no_value(op, err) < 0)
			return -1;
		seen->no_initial_scan = true;
	} else if (strcmp(n, "initial_scan_only") == 0) {
		if (require_no_value(op, err) < 0)
			return -1;
		seen->initial_scan_only = true;
	} else if (strcmp(n, "schema_change_policy") == 0) {
		if (enum_opt(op, policies, err) < 0)
			return -1;
		const char *v = op->value;
		st->schema_change_policy =
			!strcasecmp(v, "backfill") ? SIM_SCHEMA_BACKFILL :
			!strcasecmp(v, "nobackfill") ? SIM_SCHEMA_NOBACKFILL :
			!strcasecmp(v, "stop") ? SIM_SCHEMA_STOP : SIM_SCHEMA_IGNORE;
	} else if (strcmp(n, "schema_change_events") == 0) {
		return enum_opt(op, events, err);
	} else if (strcmp(n, "on_error") == 0) {
		return enum_opt(op, on_error, err);
	} else if (strcmp(n, "virtual_columns") == 0) {
		return enum_opt(op, virtual_cols, err);
	} else if (strcmp(n, "updated") == 0 || strcmp(n, "diff") == 0 ||
		   strcmp(n, "mvcc_timestamp") == 0 ||
		   strcmp(n, "key_in_value") == 0 ||
		   strcmp(n, "topic_in_value") == 0 ||
		   strcmp(n, "full_table_name") == 0 ||
		   strcmp(n, "split_column_families") == 0 ||
		   strcmp(n, "unordered") == 0) {
		if (require_no_value(op, err) < 0)
			return -1;
		switch (n[0]) {
		case 'u':
			if (n[1] == 'p') {
				st->updated = seen->updated = true;
			} else {
				seen->unordered = true;
			}
			break;
		case 'd': st->diff = seen->diff = true; break;
		case 'm': st->mvcc_timestamp = seen->mvcc = true; break;
		case 'k': st->key_in_value = seen->key_in_value = true; break;
		case 't': st->topic_in_value = seen->topic_in_value = true; break;
		case 'f': st->full_table_name = true; break;
		case 's': st->split_column_families = true; break;
		}
	} else if (strcmp(n, "key_column") == 0) {
		if (require_value(op, err) < 0)
			return -1;
		seen->key_column = true;
	} else if (strcmp(n, "crdbsim_events") == 0) {
		seen->firehose_opt = true;
		return uint_opt(op, &st->firehose_events, err);
	} else if (strcmp(n, "crdbsim_size") == 0) {
		uint64_t v;
		seen->firehose_opt = true;
		if (uint_opt(op, &v, err) < 0)
			return -1;
		st->firehose_size = (size_t)v;
	} else if (strcmp(n, "crdbsim_resolved_every") == 0) {
		seen->firehose_opt = true;
		return uint_opt(op, &st->firehose_resolved_every, err);
	} else if (strcmp(n, "enriched_properties") == 0) {
		/* a comma list of source, schema; no effect in crdbsim */
		char buf[256], *save;
		if (require_value(op, err) < 0)
			return -1;
		snprintf(buf, sizeof buf, "%s", op->value);
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			size_t tl = strlen(t);
			while (tl && t[tl - 1] == ' ')
				t[--tl] = '\0';
			if (strcasecmp(t, "source") && strcasecmp(t, "schema"))
				return parse_fail(err, SQLSTATE_UNCATEGORIZED,
						  "unknown enriched_properties: %s", t);
		}
	} else if (one_of(n, other_sinks)) {
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "this sink is incompatible with option %s", n);
	} else if (one_of(n, ignored_any)) {
		return 0;
	} else {
		return parse_fail(err, SQLSTATE_INVALID_PARAM, "invalid option \"%s\"", n);
	}
	return 0;
}

int parse_check_options(struct simfeed_stmt *st, const struct seen *seen,
			int64_t now_ns, struct simfeed_error *err)
{
	static const struct { size_t off; const char *name; } scan_only[] = {
		{ offsetof(struct seen, diff), "diff" },
		{ offsetof(struct seen, end_time), "end_time" },
		{ offsetof(struct seen, mvcc), "mvcc_timestamp" },
		{ offsetof(struct seen, resolved), "resolved" },
		{ offsetof(struct seen, updated), "updated" },
	};

	/* CockroachDB's GetInitialScanType, in its order */
	if (seen->initial_scan && seen->no_initial_scan)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "cannot specify both initial_scan and no_initial_scan");
	if (seen->initial_scan && seen->initial_scan_only)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "cannot specify both initial_scan and initial_scan_only");
	if (seen->no_initial_scan && seen->initial_scan_only)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "cannot specify both initial_scan='only' and no_initial_scan");
	if (seen->initial_scan) {
		const char *v = seen->initial_scan_value ? seen->initial_scan_value : "";
		if (!*v || !strcasecmp(v, "yes"))
			st->initial_scan = SIM_SCAN_YES;
		else if (!strcasecmp(v, "no"))
			st->initial_scan = SIM_SCAN_NO;
		else if (!strcasecmp(v, "only"))
			st->initial_scan = SIM_SCAN_ONLY;
		else
			return parse_fail(err, SQLSTATE_UNCATEGORIZED,
					  "unknown initial_scan: %s", v);
	} else if (seen->no_initial_scan) {
		st->initial_scan = SIM_SCAN_NO;
	} else if (seen->initial_scan_only) {
		st->initial_scan = SIM_SCAN_ONLY;
	}
	if (st->initial_scan == SIM_SCAN_ONLY) {
		for (size_t i = 0; i < sizeof scan_only / sizeof scan_only[0]; i++)
			if (*(const bool *)((const char *)seen + scan_only[i].off))
				return parse_fail(err, SQLSTATE_UNCATEGORIZED,
						  "cannot specify both initial_scan='only' and %s",
						  scan_only[i].name);
	}
	if (seen->unordered && seen->resolved)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "resolved timestamps cannot be guaranteed to be correct in unordered mode");
	if (seen->key_column && !seen->unordered)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "key_column requires the unordered option");
	if (seen->key_column)
		return parse_fail(err, SQLSTATE_UNSUPPORTED,
				  "crdbsim does not emulate key_column");
	if (seen->csv && st->initial_scan != SIM_SCAN_ONLY)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "format=csv is only usable with initial_scan_only");
	if (seen->csv)
		return parse_fail(err, SQLSTATE_UNSUPPORTED,
				  "crdbsim emulates only format=json, not format=csv");
	if ((seen->key_in_value || seen->topic_in_value) &&
	    st->envelope != SIM_ENV_WRAPPED && st->envelope != SIM_ENV_BARE &&
	    st->envelope != SIM_ENV_ENRICHED)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "%s is only usable with envelope=wrapped",
				  seen->key_in_value ? "key_in_value" : "topic_in_value");
	if (st->has_end_time) {
		/* the statement time is the cursor, or now */
		struct sim_hlc stmt_time = { now_ns, 0 };
		char e[48], t[48];
		if (st->has_cursor)
			stmt_time = st->cursor;
		if (st->end_time.wall < stmt_time.wall ||
		    (st->end_time.wall == stmt_time.wall &&
		     st->end_time.logical < stmt_time.logical)) {
			sim_hlc_format(st->end_time, e, sizeof e);
			sim_hlc_format(stmt_time, t, sizeof t);
			return parse_fail(err, SQLSTATE_UNCATEGORIZED,
					  "specified end time %s cannot be less than statement time %s",
					  e, t);
		}
	}
	if (seen->firehose_opt && !st->firehose)
		return parse_fail(err, SQLSTATE_INVALID_PARAM,
				  "invalid option \"crdbsim_*\": only for the target crdbsim.firehose");
	return 0;
}

