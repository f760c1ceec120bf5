/*
 * encode.c: the output format (crdbfeedd(8), "OUTPUT FORMAT"). Every line
 * is a compact JSON object with a fixed key order:
 *
 *   {"v":1,"type":"row","feed":F,"table":T,"key":K,"op":O,"after":A,
 *    "before":B,"updated":U,"mvcc_timestamp":M}     ("after" absent under
 *                                                    key_only)
 *   {"v":1,"type":"resolved","feed":F,"resolved":R}
 *   {"v":1,"type":"state","feed":F,"state":S,"reason":W}
 *   {"v":1,"type":"missed","feed":F,"missed":N}
 *   {"v":1,"type":"error","feed":F,"error":E}
 *
 * Values from the changefeed stay JSON values (never JSON inside a string);
 * HLC timestamps are strings in CockroachDB's decimal form (§4.4).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line *line_ref(struct line *line)
{
	line->refs++;
	return line;
}

void line_unref(struct line *line)
{
	if (line && --line->refs == 0)
		free(line);
}

/*
 * jansson prints reals with 17 significant digits, so CockroachDB's 22.30
 * (a double 22.3) would come out as 22.300000000000001. Use the fewest
 * digits (15, 16 or 17) with which every real of the line reads back as the
 * same double: the shortest exact form for the usual values.
 */
static bool reals_round_trip(const json_t *json, int precision)
{
	char buf[40];
	size_t i;
	const char *key;
	json_t *member;

	switch (json_typeof(json)) {
	case JSON_REAL:
		snprintf(buf, sizeof buf, "%.*g", precision, json_real_value(json));
		return strtod(buf, NULL) == json_real_value(json);
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(json); i++)
			if (!reals_round_trip(json_array_get(json, i), precision))
				return false;
		return true;
	case JSON_OBJECT:
		json_object_foreach((json_t *)json, key, member)
			if (!reals_round_trip(member, precision))
				return false;
		return true;
	default:
		return true;
	}
}

static size_t dump_flags(const json_t *obj)
{
	int precision = 15;

	while (precision < 17 && !reals_round_trip(obj, precision))
		precision++;
	return JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(precision);
}

/* The one place that turns an object into a line. Steals obj. */
static struct line *line_from_json(enum line_kind kind, json_t *obj,
				   const char *table)
{
	size_t table_len = table ? strlen(table) + 1 : 0;
	struct line *line = NULL;
	size_t need, flags;

	if (!obj)
		return NULL;
	flags = dump_flags(obj);
	need = json_dumpb(obj, NULL, 0, flags);
	if (need == 0)
		goto out;
	line = malloc(sizeof(*line) + need + 1 + table_len);
	if (!line)
		goto out;
	if (json_dumpb(obj, line->data, need, flags) != need) {
		free(line);
		line = NULL;
		goto out;
	}
	line->data[need] = '\n';
	line->len = need + 1;
	line->refs = 1;
	line->kind = kind;
	line->op = CRDB_OP_UNKNOWN;
	line->seq = 0;
	line->table = NULL;
	if (table) {
		char *copy = line->data + line->len;

		memcpy(copy, table, table_len);
		line->table = copy;
	}
out:
	json_decref(obj);
	return line;
}

struct line *line_new_json(enum line_kind kind, json_t *obj)
{
	return line_from_json(kind, json_incref(obj), NULL);
}

/* {"v":1,"type":type,"feed":feed}; NULL on ENOMEM. */
static json_t *line_header(const char *type, const char *feed)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	if (json_object_set_new(obj, "v", json_integer(LINE_FORMAT_VERSION)) ||
	    json_object_set_new(obj, "type", json_string(type)) ||
	    (feed && json_object_set_new(obj, "feed", json_string(feed)))) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int set_hlc(json_t *obj, const char *name, crdb_hlc hlc)
{
	char buf[CRDB_HLC_BUFSIZE];

	crdb_hlc_format(hlc, buf);
	return json_object_set_new(obj, name, json_string(buf));
}

/* Borrowed value, or json null when absent. */
static json_t *or_null(json_t *value)
{
	return value ? json_incref(value) : json_null();
}

struct line *line_new_row(const char *feed, const crdb_event *ev, bool diff,
			  char *errbuf, size_t errlen)
{
	json_t *obj = line_header("row", feed);
	struct line *line;

	if (!obj)
		goto nomem;
	/* json_string refuses invalid UTF-8; the table name came from the
	 * server, so say so rather than "out of memory". */
	if (json_object_set_new(obj, "table",
				ev->table ? json_string(ev->table) : json_null())) {
		snprintf(errbuf, errlen, "table name is not valid UTF-8");
		json_decref(obj);
		return NULL;
	}
	if (json_object_set_new(obj, "key", or_null(ev->key)) ||
	    json_object_set_new(obj, "op", json_string(crdb_op_name(ev->op))) ||
	    /* A delete's "after" is null; envelopes without a row image
	     * (key_only) have no "after" at all. */
	    ((ev->after || ev->op == CRDB_OP_DELETE) &&
	     json_object_set_new(obj, "after", or_null(ev->after))) ||
	    (diff && json_object_set_new(obj, "before", or_null(ev->before))) ||
	    (ev->has_updated && set_hlc(obj, "updated", ev->updated)) ||
	    (ev->has_mvcc && set_hlc(obj, "mvcc_timestamp", ev->mvcc_timestamp))) {
		json_decref(obj);
		goto nomem;
	}
	line = line_from_json(LINE_ROW, obj, ev->table ? ev->table : "");
	if (!line)
		goto nomem;
	line->op = ev->op;
	return line;
nomem:
	snprintf(errbuf, errlen, "out of memory encoding a row");
	return NULL;
}

struct line *line_new_resolved(const char *feed, crdb_hlc resolved)
{
	json_t *obj = line_header("resolved", feed);

	if (obj && set_hlc(obj, "resolved", resolved)) {
		json_decref(obj);
		return NULL;
	}
	return line_from_json(LINE_RESOLVED, obj, NULL);
}

struct line *line_new_state(const char *feed, const char *state,
			    const char *reason)
{
	json_t *obj = line_header("state", feed);

	if (obj && (json_object_set_new(obj, "state", json_string(state)) ||
		    (reason && json_object_set_new(obj, "reason",
						   json_string(reason))))) {
		json_decref(obj);
		return NULL;
	}
	return line_from_json(LINE_STATE, obj, NULL);
}

struct line *line_new_missed(const char *feed, uint64_t missed)
{
	json_t *obj = line_header("missed", feed);

	if (obj && json_object_set_new(obj, "missed",
				       json_integer((json_int_t)missed))) {
		json_decref(obj);
		return NULL;
	}
	return line_from_json(LINE_MISSED, obj, NULL);
}

struct line *line_new_error(const char *feed, const char *message)
{
	json_t *obj = line_header("error", feed);

	if (obj && json_object_set_new(obj, "error", json_string(message))) {
		json_decref(obj);
		return NULL;
	}
	return line_from_json(LINE_ERROR, obj, NULL);
}
