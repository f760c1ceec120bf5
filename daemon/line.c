/*
 * line.c: the output line (crdbfeedd(8), "OUTPUT FORMAT"), its reference
 * count, the lines other than rows, and the reference row encoder that
 * the fast paths (encode_fast.c, encode_direct.c) must match byte for
 * byte. Every line is a compact JSON object with a fixed key order:
 *
 *   {"v":1,"type":"row","feed":F,"table":T,"key":K,"op":O,"after":A,
 *    "before":B,"updated":U,"mvcc_timestamp":M}     ("after" absent under
 *                                                    key_only)
 *   {"v":1,"type":"resolved","feed":F,"resolved":R}
 *   {"v":1,"type":"state","feed":F,"state":S,"reason":W}
 *   {"v":1,"type":"missed","feed":F,"missed":N}
 *   {"v":1,"type":"error","feed":F,"error":E}
 *   {"v":1,"type":"gap","feed":F,"after":N,"first":FIRST}
 *
 * Values from the changefeed stay JSON values (never JSON inside a string),
 * numbers with the digits CockroachDB wrote when the event was decoded
 * with number_text (crdbfeedd's feeds are); HLC timestamps are strings in
 * CockroachDB's decimal form (§4.4).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "encode.h"

#include "channel.h"
#include "encode_out.h"
#include "line_arena.h"

#include <stdint.h>
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
		line_arena_free(line);
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
	struct line *line = NULL;
	size_t need, flags;

	if (!obj)
		return NULL;
	flags = dump_flags(obj);
	need = json_dumpb(obj, NULL, 0, flags);
	if (need == 0)
		goto out;
	line = line_arena_new(kind, CRDB_OP_UNKNOWN, table,
			      table ? strlen(table) : 0, need + 1);
	if (!line)
		goto out;
	if (json_dumpb(obj, line->data, need, flags) != need) {
		line_unref(line);
		line = NULL;
		goto out;
	}
	line->data[need] = '\n';
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

/*
 * The reference writer of a row's JSON values: jansson dumps every leaf
 * (so strings, integers and reals are exactly jansson's), this only adds
 * the punctuation, and numbers kept by number_text (which jansson cannot
 * hold) are written with their own digits.
 */
struct ref {
	char *p;
	size_t len, cap;
	size_t flags;
	bool failed;
};

static void ref_mem(struct ref *r, const char *s, size_t n)
{
	if (r->failed)
		return;
	if (r->cap - r->len < n) {
		size_t ncap = r->cap ? r->cap : 256;
		char *grown;

		while (ncap - r->len < n) {
			if (ncap > SIZE_MAX / 2) {
				r->failed = true;
				return;
			}
			ncap *= 2;
		}
		grown = realloc(r->p, ncap);
		if (!grown) {
			r->failed = true;
			return;
		}
		r->p = grown;
		r->cap = ncap;
	}
	memcpy(r->p + r->len, s, n);
	r->len += n;
}

#define ref_lit(r, s) ref_mem((r), (s), sizeof(s) - 1)

/* One scalar (or a string made for the purpose) through jansson. */
static void ref_leaf(struct ref *r, const json_t *leaf)
{
	size_t flags = r->flags | JSON_ENCODE_ANY;
	size_t need = leaf ? json_dumpb(leaf, NULL, 0, flags) : 0;
	char small[64], *buf;

	if (need == 0) {
		r->failed = true;
		return;
	}
	buf = need <= sizeof small ? small : malloc(need);
	if (!buf || json_dumpb(leaf, buf, need, flags) != need)
		r->failed = true;
	else
		ref_mem(r, buf, need);
	if (buf != small)
		free(buf);
}

static void ref_string(struct ref *r, const char *s, size_t len)
{
	json_t *str = json_stringn(s, len);

	ref_leaf(r, str);
	json_decref(str);
}

static void ref_value(struct ref *r, const json_t *json)
{
	const char *number;
	size_t i, n;

	if (r->failed)
		return;
	if ((number = crdb_json_number_text(json, &n))) {
		ref_mem(r, number, n);
	} else if (json_is_array(json)) {
		ref_lit(r, "[");
		for (i = 0; i < json_array_size(json); i++) {
			if (i)
				ref_lit(r, ",");
			ref_value(r, json_array_get(json, i));
		}
		ref_lit(r, "]");
	} else if (json_is_object(json)) {
		ref_lit(r, "{");
		i = 0;
		for (void *it = json_object_iter((json_t *)json); it;
		     it = json_object_iter_next((json_t *)json, it)) {
			if (i++)
				ref_lit(r, ",");
			ref_string(r, json_object_iter_key(it),
				   json_object_iter_key_len(it));
			ref_lit(r, ":");
			ref_value(r, json_object_iter_value(it));
		}
		ref_lit(r, "}");
	} else {
		ref_leaf(r, json);
	}
}

static void ref_member(struct ref *r, const char *name, const json_t *value)
{
	ref_lit(r, ",");
	ref_string(r, name, strlen(name));
	ref_lit(r, ":");
	if (value)
		ref_value(r, value);
	else
		ref_lit(r, "null");
}

static void ref_hlc(struct ref *r, const char *name, crdb_hlc hlc)
{
	char buf[CRDB_HLC_BUFSIZE];

	crdb_hlc_format(hlc, buf);
	ref_lit(r, ",");
	ref_string(r, name, strlen(name));
	ref_lit(r, ":");
	ref_string(r, buf, strlen(buf));
}

/* The precision flags of the row's reals, as dump_flags() finds them. */
static size_t row_flags(const crdb_event *ev, bool diff)
{
	int precision = 15;
	const json_t *parts[3] = { ev->key, ev->after, diff ? ev->before : NULL };

	for (int i = 0; i < 3; i++)
		while (parts[i] && precision < 17 &&
		       !reals_round_trip(parts[i], precision))
			precision++;
	return JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(precision);
}

struct line *line_new_row_json(const char *feed, const crdb_event *ev,
			       bool diff, char *errbuf, size_t errlen)
{
	const char *table = ev->table ? ev->table : "";
	struct ref r = { .flags = row_flags(ev, diff) };
	struct line *line = NULL;

	/* json_string refuses invalid UTF-8; the table name came from the
	 * server, so say so rather than "out of memory". */
	if (ev->table) {
		json_t *name = json_string(ev->table);

		if (!name) {
			snprintf(errbuf, errlen, "table name is not valid UTF-8");
			return NULL;
		}
		json_decref(name);
	}
	ref_lit(&r, "{\"v\":1,\"type\":\"row\"");
	if (feed) {
		ref_lit(&r, ",\"feed\":");
		ref_string(&r, feed, strlen(feed));
	}
	ref_lit(&r, ",\"table\":");
	if (ev->table)
		ref_string(&r, ev->table, strlen(ev->table));
	else
		ref_lit(&r, "null");
	ref_member(&r, "key", ev->key);
	ref_lit(&r, ",\"op\":");
	ref_string(&r, crdb_op_name(ev->op), strlen(crdb_op_name(ev->op)));
	/* A delete's "after" is null; envelopes without a row image
	 * (key_only) have no "after" at all. */
	if (ev->after || ev->op == CRDB_OP_DELETE)
		ref_member(&r, "after", ev->after);
	if (diff)
		ref_member(&r, "before", ev->before);
	if (ev->has_updated)
		ref_hlc(&r, "updated", ev->updated);
	if (ev->has_mvcc)
		ref_hlc(&r, "mvcc_timestamp", ev->mvcc_timestamp);
	ref_lit(&r, "}\n");
	if (!r.failed)
		line = line_arena_new(LINE_ROW, ev->op, table, strlen(table), r.len);
	if (line)
		memcpy(line->data, r.p, r.len);
	free(r.p);
	if (!line)
		snprintf(errbuf, errlen, "out of memory encoding a row");
	return line;
}


struct line *line_new_resolved(const char *feed, crdb_hlc resolved)
{
	json_t *obj = line_header("resolved", feed);

	struct line *line;

	if (obj && set_hlc(obj, "resolved", resolved)) {
		json_decref(obj);
		return NULL;
	}
	line = line_from_json(LINE_RESOLVED, obj, NULL);
	if (line)
		line->updated = resolved;
	return line;
}

struct line *line_new_state(const char *feed, const char *state,
			    const char *reason, const char *source)
{
	json_t *obj = line_header("state", feed);

	if (obj && (json_object_set_new(obj, "state", json_string(state)) ||
		    (reason && json_object_set_new(obj, "reason",
						   json_string(reason))) ||
		    (source && json_object_set_new(obj, "source",
						   json_string(source))))) {
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


struct line *line_new_resolved_seq(const char *feed, crdb_hlc resolved,
				   uint64_t seq)
{
	json_t *obj = line_header("resolved", feed);
	struct line *line;

	if (obj && (set_hlc(obj, "resolved", resolved) ||
		    json_object_set_new(obj, "seq", json_integer((json_int_t)seq)))) {
		json_decref(obj);
		return NULL;
	}
	line = line_from_json(LINE_RESOLVED, obj, NULL);
	if (line) {
		line->seq = seq;
		line->updated = resolved;
	}
	return line;
}

struct line *line_new_bytes(enum line_kind kind, crdb_op op, const char *table,
			    size_t table_len, const char *data, size_t len)
{
	struct line *line = line_arena_new(kind, op, table, table_len, len);

	if (line)
		memcpy(line->data, data, len);
	return line;
}

struct line *line_new_row_body(const char *feed, const char *body,
			       size_t body_len, crdb_op op, const char *table,
			       size_t table_len, crdb_hlc updated)
{
	static const char head[] = "{\"v\":1,\"type\":\"row\",\"feed\":";
	json_t *name = json_string(feed);
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	size_t name_len = name ? json_dumpb(name, NULL, 0, flags) : 0;
	size_t head_len = sizeof(head) - 1;
	struct line *line = NULL;

	if (name_len && body_len <= SIZE_MAX - head_len - name_len - 2)
		line = line_arena_new(LINE_ROW, op, table, table_len,
				  head_len + name_len + body_len + 2);
	if (line) {
		char *p = line->data;

		memcpy(p, head, head_len);
		p += head_len;
		json_dumpb(name, p, name_len, flags);
		p += name_len;
		memcpy(p, body, body_len);
		p += body_len;
		memcpy(p, "}\n", 2);
		line->updated = updated;
	}
	json_decref(name);
	return line;
}

/* ",\"seq\":N" and the flags, then "}\n": the tail of an ordered row. */
/* The tail of an ordered row line: ,"seq":N then the flags, "}\n".
 * Written by hand (snprintf cost more than the rest of the line). The
 * buffer holds the longest: 20 digits and both flags. */
#define SEQ_TAIL_MAX 80

static size_t seq_tail(char *tail, uint64_t seq, bool late, bool group_end)
{
	static const char seq_key[] = ",\"seq\":", late_flag[] = ",\"late\":true",
			  group_flag[] = ",\"group_end\":true";
	char digits[20], *end = digits + sizeof(digits), *start = u64_digits(seq, end);
	size_t n = sizeof(seq_key) - 1;

	memcpy(tail, seq_key, n);
	memcpy(tail + n, start, (size_t)(end - start));
	n += (size_t)(end - start);
	if (late) {
		memcpy(tail + n, late_flag, sizeof(late_flag) - 1);
		n += sizeof(late_flag) - 1;
	}
	if (group_end) {
		memcpy(tail + n, group_flag, sizeof(group_flag) - 1);
		n += sizeof(group_flag) - 1;
	}
	memcpy(tail + n, "}\n", 2);
	return n + 2;
}

struct line *line_new_sequenced(const char *row, size_t len, crdb_op op,
				const char *table, size_t table_len,
				crdb_hlc updated, uint64_t seq, bool late,
				bool group_end)
{
	char tail[SEQ_TAIL_MAX];
	size_t n;
	struct line *line;

	if (len < 2 || row[len - 2] != '}' || row[len - 1] != '\n')
		return NULL;
	n = seq_tail(tail, seq, late, group_end);
	line = line_arena_new(LINE_ROW, op, table, table_len, len - 2 + n);
	if (!line)
		return NULL;
	memcpy(line->data, row, len - 2);
	memcpy(line->data + len - 2, tail, n);
	line->seq = seq;
	line->updated = updated;
	return line;
}

struct line *line_new_gap(const char *feed, uint64_t after, uint64_t first)
{
	json_t *obj = line_header("gap", feed);

	if (obj && (json_object_set_new(obj, "after", json_integer((json_int_t)after)) ||
		    json_object_set_new(obj, "first", json_integer((json_int_t)first)))) {
		json_decref(obj);
		return NULL;
	}
	return line_from_json(LINE_GAP, obj, NULL);
}

struct line *line_new_notify(const char *feed, const struct channel_note *note,
			     const struct line *row)
{
	json_t *obj = line_header("notify", feed);
	struct line *line;

	if (obj && (json_object_set_new(obj, "channel",
					json_stringn(note->channel, note->channel_len)) ||
		    json_object_set_new(obj, "payload",
					json_stringn(note->payload, note->payload_len)) ||
		    set_hlc(obj, "updated", row->updated) ||
		    json_object_set_new(obj, "seq", json_integer((json_int_t)row->seq)))) {
		json_decref(obj);
		return NULL;
	}
	/* The channel rides where a row's table does: the filter's key. */
	line = line_from_json(LINE_NOTIFY, obj, note->channel);
	if (line) {
		line->seq = row->seq;
		line->updated = row->updated;
	}
	return line;
}
