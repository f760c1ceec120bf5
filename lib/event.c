/*
 * event.c: decoding of sinkless changefeed rows (table, key, value) into
 * crdb_event, for every envelope of §4.3 and both resolved payload shapes
 * of §3.
 *
 * Limits and choices:
 *  - key and value larger than CRDB_EVENT_MAX_BYTES (64 MiB, decoded size)
 *    are refused; JSON nested deeper than 512 levels is refused (jsonread.c).
 *  - Duplicate object keys are refused (as jansson's JSON_REJECT_DUPLICATES
 *    would): CockroachDB's encoder never writes a key twice, so a duplicate
 *    means corruption.
 *  - Numbers that jansson cannot hold exactly become strings (types.c),
 *    unless opts->number_text keeps every number's text
 *    (crdb_json_number_text()).
 *  - Text format means bytea in hex ("\x..."), as CockroachDB's default
 *    bytea_output; anything else is refused rather than guessed.
 *  - Every malformed input fails with CRDB_EPROTO and a message naming the
 *    column (table, key or value) and what was wrong.
 */
#include "config.h"

#include "crdb_internal.h"

#include <string.h>
#include <strings.h>

#define CRDB_EVENT_MAX_BYTES ((size_t)64 << 20)

#define BYTEA_OID 17
#define TEXT_OID 25
#define JSONB_OID 3802

int crdb_envelope_parse(const char *name, crdb_envelope *out,
			crdb_error *err)
{
	static const struct {
		const char *name;
		crdb_envelope envelope;
	} names[] = {
		{ "wrapped", CRDB_ENVELOPE_WRAPPED },
		{ "bare", CRDB_ENVELOPE_BARE },
		{ "row", CRDB_ENVELOPE_ROW },
		{ "deprecated_row", CRDB_ENVELOPE_ROW },
		{ "key_only", CRDB_ENVELOPE_KEY_ONLY },
		{ "enriched", CRDB_ENVELOPE_ENRICHED },
	};

	if (!name || !out)
		return crdb__fail(err, CRDB_EINVAL, "no envelope name given");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcasecmp(names[i].name, name) == 0) {
			*out = names[i].envelope;
			return 0;
		}
	}
	return crdb__fail(err, CRDB_EINVAL, "unknown envelope: %s", name);
}

const char *crdb_op_name(crdb_op op)
{
	switch (op) {
	case CRDB_OP_INSERT: return "insert";
	case CRDB_OP_UPDATE: return "update";
	case CRDB_OP_UPSERT: return "upsert";
	case CRDB_OP_DELETE: return "delete";
	case CRDB_OP_UNKNOWN: break;
	}
	return "unknown";
}

void crdb_event_clear(crdb_event *ev)
{
	if (!ev)
		return;
	crdb_free(ev->table);
	json_decref(ev->key);
	json_decref(ev->after);
	json_decref(ev->before);
	json_decref(ev->value);
	memset(ev, 0, sizeof *ev);
}

/* Prefix err's message with the column it concerns (ENOMEM stays as is). */
static int in_column(crdb_error *err, const char *column)
{
	if (err && err->code != CRDB_ENOMEM) {
		char inner[CRDB_ERROR_MSGLEN];
		memcpy(inner, err->message, sizeof inner);
		crdb__fail(err, err->code == CRDB_EUNSUPPORTED ?
			   CRDB_EUNSUPPORTED : CRDB_EPROTO, "%s column: %s",
			   column, inner);
	}
	return -1;
}

/*
 * Parse one bytea column holding JSON: hex-decode in text format, then
 * parse. *out is NULL for a zero-length column.
 */
static int parse_json_column(const char *column, const char *bytes,
			     size_t len, int format, bool number_text,
			     json_t **out, crdb_error *err)
{
	char *raw = NULL;
	size_t rawlen = len;
	const char *data = bytes;

	*out = NULL;
	if (format == 0) {
		if (len < 2 || bytes[0] != '\\' || bytes[1] != 'x')
			return crdb__fail(err, CRDB_EPROTO,
				"%s column: bytea is not in hex format "
				"(\\x...); is bytea_output hex?", column);
		if ((len - 2) % 2)
			return crdb__fail(err, CRDB_EPROTO,
				"%s column: odd number of hex digits", column);
		rawlen = (len - 2) / 2;
		if (rawlen > CRDB_EVENT_MAX_BYTES)
			goto too_big;
		raw = crdb__malloc(rawlen);
		if (!raw)
			return crdb__fail(err, CRDB_ENOMEM, "out of memory");
		for (size_t i = 0; i < rawlen; i++) {
			int v = 0;
			for (int k = 0; k < 2; k++) {
				char c = bytes[2 + 2 * i + k];
				int d;
				if (c >= '0' && c <= '9')
					d = c - '0';
				else if (c >= 'a' && c <= 'f')
					d = c - 'a' + 10;
				else if (c >= 'A' && c <= 'F')
					d = c - 'A' + 10;
				else {
					crdb_free(raw);
					return crdb__fail(err, CRDB_EPROTO,
						"%s column: invalid hex digit "
						"at byte %zu", column,
						2 + 2 * i + (size_t)k);
				}
				v = v << 4 | d;
			}
			raw[i] = (char)v;
		}
		data = raw;
	}
	if (rawlen > CRDB_EVENT_MAX_BYTES) {
		crdb_free(raw);
		goto too_big;
	}
	if (rawlen == 0) {
		crdb_free(raw);
		return 0;
	}
	/* A changefeed's JSON is jsonb text: no version byte on the wire.
	 * This is crdb_value_to_json(crdb_types_crdb(), JSONB_OID, ..., 0)
	 * without its registry lookups. */
	*out = crdb__jsonb_from_text(data, rawlen, number_text, err);
	crdb_free(raw);
	if (!*out)
		return in_column(err, column);
	return 0;

too_big:
	return crdb__fail(err, CRDB_EPROTO,
			  "%s column: %zu bytes exceed the limit of %zu",
			  column, rawlen, CRDB_EVENT_MAX_BYTES);
}

/* An optional HLC string member of obj ("updated", ...). */
static int get_hlc(json_t *obj, const char *member, const char *where,
		   bool *has, crdb_hlc *out, crdb_error *err)
{
	json_t *v = json_object_get(obj, member);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: %s%s is not a string", where,
				  member);
	if (crdb_hlc_parse(json_string_value(v), json_string_length(v), out,
			   err) < 0) {
		if (err && err->code != CRDB_ENOMEM) {
			char inner[CRDB_ERROR_MSGLEN];
			memcpy(inner, err->message, sizeof inner);
			crdb__fail(err, CRDB_EPROTO,
				   "value column: bad %s%s: %s", where, member,
				   inner);
		}
		return -1;
	}
	if (has)
		*has = true;
	return 0;
}

static int decode_resolved(json_t *value, crdb_event *ev, crdb_error *err)
{
	json_t *holder = value, *meta;
	const char *where = "";
	bool has = false;

	if (!value)
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: empty resolved payload");
	if (!json_is_object(value))
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: resolved payload is not an "
				  "object");
	meta = json_object_get(value, "__crdb__");
	if (!json_object_get(value, "resolved") && meta) {
		if (!json_is_object(meta))
			return crdb__fail(err, CRDB_EPROTO,
					  "value column: __crdb__ is not an "
					  "object");
		holder = meta;
		where = "__crdb__.";
	}
	if (get_hlc(holder, "resolved", where, &has, &ev->resolved, err) < 0)
		return -1;
	if (!has)
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: resolved row without a "
				  "\"resolved\" timestamp");
	ev->kind = CRDB_EVENT_RESOLVED;
	return 0;
}

/* after/before members: must be an object or null when present. */
static int get_row(json_t *obj, const char *member, bool required,
		   json_t **out, crdb_error *err)
{
	json_t *v = json_object_get(obj, member);

	if (!v) {
		if (required)
			return crdb__fail(err, CRDB_EPROTO,
					  "value column: no \"%s\" member",
					  member);
		return 0;
	}
	if (!json_is_object(v) && !json_is_null(v))
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: \"%s\" is neither an object "
				  "nor null", member);
	*out = json_incref(v);
	return 0;
}

static int decode_wrapped(json_t *value, const crdb_decode_opts *opts,
			  crdb_event *ev, crdb_error *err)
{
	if (get_row(value, "after", true, &ev->after, err) < 0 ||
	    get_row(value, "before", opts->diff, &ev->before, err) < 0 ||
	    get_hlc(value, "updated", "", &ev->has_updated, &ev->updated,
		    err) < 0 ||
	    get_hlc(value, "mvcc_timestamp", "", &ev->has_mvcc,
		    &ev->mvcc_timestamp, err) < 0)
		return -1;
	if (json_is_null(ev->after))
		ev->op = CRDB_OP_DELETE;
	else if (!opts->diff)
		ev->op = CRDB_OP_UPSERT;
	else
		ev->op = json_is_null(ev->before) ? CRDB_OP_INSERT
						  : CRDB_OP_UPDATE;
	return 0;
}

/* row and bare: columns at the top level, metadata under "__crdb__". */
static int decode_flat(json_t *value, bool bare, crdb_event *ev,
		       crdb_error *err)
{
	json_t *meta = json_object_get(value, "__crdb__");

	ev->op = bare ? CRDB_OP_UNKNOWN : CRDB_OP_UPSERT;
	if (!meta) {
		ev->after = json_incref(value);
		return 0;
	}
	if (!json_is_object(meta))
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: __crdb__ is not an object");
	if (get_hlc(meta, "updated", "__crdb__.", &ev->has_updated,
		    &ev->updated, err) < 0 ||
	    get_hlc(meta, "mvcc_timestamp", "__crdb__.", &ev->has_mvcc,
		    &ev->mvcc_timestamp, err) < 0)
		return -1;
	if (bare) {
		json_t *op = json_object_get(meta, "event_op");
		static const struct {
			const char *name;
			crdb_op op;
		} ops[] = {
			{ "insert", CRDB_OP_INSERT },
			{ "update", CRDB_OP_UPDATE },
			{ "upsert", CRDB_OP_UPSERT },
			{ "delete", CRDB_OP_DELETE },
		};
		if (op) {
			const char *s = json_string_value(op);
			ev->op = CRDB_OP_UNKNOWN;
			for (size_t i = 0; s && i < sizeof ops / sizeof ops[0];
			     i++)
				if (strcmp(s, ops[i].name) == 0)
					ev->op = ops[i].op;
			if (ev->op == CRDB_OP_UNKNOWN)
				return crdb__fail(err, CRDB_EPROTO,
					"value column: bad __crdb__.event_op");
		}
	}
	/* The row without the metadata, as a shallow copy made here:
	 * json_copy() ignores failed insertions and would drop columns. */
	ev->after = json_object();
	if (!ev->after)
		return crdb__fail(err, CRDB_ENOMEM, "out of memory");
	for (void *it = json_object_iter(value); it;
	     it = json_object_iter_next(value, it)) {
		const char *k = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);
		if (klen == 8 && memcmp(k, "__crdb__", 8) == 0)
			continue;
		if (json_object_setn_nocheck(ev->after, k, klen,
					     json_object_iter_value(it)) < 0)
			return crdb__fail(err, CRDB_ENOMEM, "out of memory");
	}
	return 0;
}

static int decode_enriched(json_t *value, crdb_event *ev, crdb_error *err)
{
	json_t *body = value, *op, *source;
	const char *s;

	/* enriched_properties=schema nests the message under "payload". */
	if (!json_object_get(value, "op") &&
	    json_is_object(json_object_get(value, "payload")))
		body = json_object_get(value, "payload");
	op = json_object_get(body, "op");
	s = json_string_value(op);
	if (!s)
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: no \"op\" string (enriched)");
	if (strcmp(s, "c") == 0)
		ev->op = CRDB_OP_INSERT;
	else if (strcmp(s, "u") == 0)
		ev->op = CRDB_OP_UPDATE;
	else if (strcmp(s, "d") == 0)
		ev->op = CRDB_OP_DELETE;
	else
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: unknown op \"%.20s\" "
				  "(enriched)", s);
	if (get_row(body, "after", true, &ev->after, err) < 0 ||
	    get_row(body, "before", false, &ev->before, err) < 0 ||
	    get_hlc(body, "mvcc_timestamp", "", &ev->has_mvcc,
		    &ev->mvcc_timestamp, err) < 0)
		return -1;
	source = json_object_get(body, "source");
	if (source) {
		if (!json_is_object(source))
			return crdb__fail(err, CRDB_EPROTO,
					  "value column: source is not an "
					  "object");
		if (get_hlc(source, "ts_hlc", "source.", &ev->has_updated,
			    &ev->updated, err) < 0)
			return -1;
	}
	return 0;
}

static int decode_row(json_t *value, const crdb_decode_opts *opts,
		      crdb_event *ev, crdb_error *err)
{
	if (opts->envelope == CRDB_ENVELOPE_KEY_ONLY) {
		if (value)
			return crdb__fail(err, CRDB_EPROTO,
					  "value column: not empty under "
					  "envelope=key_only");
		return 0;
	}
	if (!value) {
		if (opts->envelope == CRDB_ENVELOPE_ROW) {
			ev->op = CRDB_OP_DELETE;
			return 0;
		}
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: empty, which only key_only "
				  "and row deletes send");
	}
	/* A bare or row value that is JSON null is a delete with no
	 * metadata: CockroachDB's JSON encoder renders a missing row as null
	 * when no __crdb__ member has to be added [INF, doc/crdb-wire.md §4.3]. */
	if (json_is_null(value) && (opts->envelope == CRDB_ENVELOPE_BARE ||
				    opts->envelope == CRDB_ENVELOPE_ROW)) {
		ev->op = CRDB_OP_DELETE;
		ev->after = json_null();
		return 0;
	}
	if (!json_is_object(value))
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: not a JSON object");
	switch (opts->envelope) {
	case CRDB_ENVELOPE_WRAPPED:
		return decode_wrapped(value, opts, ev, err);
	case CRDB_ENVELOPE_ROW:
		return decode_flat(value, false, ev, err);
	case CRDB_ENVELOPE_BARE:
		return decode_flat(value, true, ev, err);
	case CRDB_ENVELOPE_ENRICHED:
		return decode_enriched(value, ev, err);
	case CRDB_ENVELOPE_KEY_ONLY:
		break;
	}
	return crdb__fail(err, CRDB_EINVAL, "unknown envelope %d",
			  (int)opts->envelope);
}

static bool ascii_only(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* The decoder behind both entry points: per-column formats. */
static int decode(const char *table, size_t table_len, const char *key,
		  size_t key_len, int key_format, const char *value,
		  size_t value_len, int value_format,
		  const crdb_decode_opts *opts, crdb_event *ev,
		  crdb_error *err)
{
	json_t *parsed = NULL;

	if (!ev)
		return crdb__fail(err, CRDB_EINVAL, "no event given");
	memset(ev, 0, sizeof *ev);
	if (!opts)
		return crdb__fail(err, CRDB_EINVAL, "no decode options given");
	if ((key_format != 0 && key_format != 1) ||
	    (value_format != 0 && value_format != 1))
		return crdb__fail(err, CRDB_EINVAL,
				  "format must be 0 (text) or 1 (binary)");
	if (!value)
		return crdb__fail(err, CRDB_EPROTO,
				  "value column: NULL (changefeed values are "
				  "never NULL)");

	if (!table) {
		if (key)
			return crdb__fail(err, CRDB_EPROTO,
					  "key column: not NULL in a resolved "
					  "row (NULL table)");
		if (parse_json_column("value", value, value_len, value_format,
				      opts->number_text, &ev->value, err) < 0 ||
		    decode_resolved(ev->value, ev, err) < 0)
			goto fail;
		return 0;
	}

	if (table_len == 0 || memchr(table, '\0', table_len))
		return crdb__fail(err, CRDB_EPROTO,
				  "table column: empty or contains NUL");
	/* Callers put the name into JSON: it must be valid UTF-8. ASCII is;
	 * anything else is checked by the text type's own rules. */
	if (!ascii_only(table, table_len)) {
		json_t *name = crdb_value_to_json(crdb_types_crdb(), TEXT_OID,
						  table, table_len, 1, err);
		if (!name)
			return in_column(err, "table");
		json_decref(name);
	}
	if (!key)
		return crdb__fail(err, CRDB_EPROTO,
				  "key column: NULL in a data row (table %.*s)",
				  (int)(table_len > 64 ? 64 : table_len),
				  table);
	ev->table = crdb__strndup(table, table_len);
	if (!ev->table)
		return crdb__fail(err, CRDB_ENOMEM, "out of memory");
	if (parse_json_column("key", key, key_len, key_format,
			      opts->number_text, &ev->key, err) < 0)
		goto fail;
	if (!ev->key) {
		crdb__fail(err, CRDB_EPROTO, "key column: empty");
		goto fail;
	}
	if (!json_is_array(ev->key) &&
	    !(opts->envelope == CRDB_ENVELOPE_ENRICHED &&
	      json_is_object(ev->key))) {
		crdb__fail(err, CRDB_EPROTO, "key column: not a JSON array%s",
			   opts->envelope == CRDB_ENVELOPE_ENRICHED ?
			   " or object" : "");
		goto fail;
	}
	if (parse_json_column("value", value, value_len, value_format,
			      opts->number_text, &parsed, err) < 0)
		goto fail;
	ev->value = parsed;
	ev->value_empty = parsed == NULL;
	if (decode_row(parsed, opts, ev, err) < 0)
		goto fail;
	ev->kind = CRDB_EVENT_ROW;
	return 0;

fail:
	crdb_event_clear(ev);
	return -1;
}

int crdb_event_decode_raw(const char *table, size_t table_len,
			  const char *key, size_t key_len,
			  const char *value, size_t value_len, int format,
			  const crdb_decode_opts *opts, crdb_event *ev,
			  crdb_error *err)
{
	return decode(table, table_len, key, key_len, format, value,
		      value_len, format, opts, ev, err);
}

int crdb_event_decode(const PGresult *res, const crdb_decode_opts *opts,
		      crdb_event *ev, crdb_error *err)
{
	static const char *const names[3] = { "table", "key", "value" };
	static const Oid oids[3] = { TEXT_OID, BYTEA_OID, BYTEA_OID };
	const char *cols[3];
	size_t lens[3];
	ExecStatusType st;

	if (ev)
		memset(ev, 0, sizeof *ev);
	if (!res)
		return crdb__fail(err, CRDB_EINVAL, "no result given");
	st = PQresultStatus(res);
	if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK)
		return crdb__fail(err, CRDB_EPROTO,
				  "result status is %s, not a row",
				  PQresStatus(st));
	if (PQntuples(res) != 1)
		return crdb__fail(err, CRDB_EPROTO,
				  "result has %d rows, expected 1",
				  PQntuples(res));
	if (PQnfields(res) != 3)
		return crdb__fail(err, CRDB_EPROTO,
				  "result has %d columns, expected 3 "
				  "(table, key, value)", PQnfields(res));
	for (int i = 0; i < 3; i++) {
		const char *name = PQfname(res, i);
		if (!name || strcmp(name, names[i]) != 0)
			return crdb__fail(err, CRDB_EPROTO,
					  "column %d is named \"%.40s\", "
					  "expected \"%s\"", i + 1,
					  name ? name : "", names[i]);
		if (PQftype(res, i) != oids[i])
			return crdb__fail(err, CRDB_EPROTO,
					  "%s column has type OID %u, expected "
					  "%u", names[i], PQftype(res, i),
					  oids[i]);
		if (PQgetisnull(res, 0, i)) {
			cols[i] = NULL;
			lens[i] = 0;
		} else {
			cols[i] = PQgetvalue(res, 0, i);
			lens[i] = (size_t)PQgetlength(res, 0, i);
		}
	}
	/* table is text: its bytes are the same in both formats. */
	return decode(cols[0], lens[0], cols[1], lens[1], PQfformat(res, 1),
		      cols[2], lens[2], PQfformat(res, 2), opts, ev, err);
}
