/*
 * render.c: crdbsim's CockroachDB JSON renderer. It turns wal2json change
 * records (format 2: "columns" arrays of {name, type, value}) into the key
 * and value bytes a sinkless changefeed sends (doc/crdb-wire.md §4, §5, §12),
 * formats HLCs (§4.4) and resolved payloads (§3), and parses wal2json text
 * without losing numeric digits (sim_wal2json_loads). It also frees
 * parsed statements (sim_stmt_free), being the one file that the parser's
 * tests, the engine's tests and crdbsim all link. This file holds the
 * buffer, strings, rows, keys and envelopes; render_types.c renders each
 * column type and number, render_json.c reads wal2json's text.
 *
 * Numbers. CockroachDB renders INT/DECIMAL/FLOAT columns through apd
 * decimals (AsJSON -> jsonNumber.Format -> apd Text('G')), so the text must
 * stay exact: wal2json prints numeric 22.30 as the bare JSON number 22.30,
 * which jansson would turn into the double 22.3. sim_wal2json_loads() keeps
 * every non-integer number (and every integer outside int64) as a JSON
 * *string* holding the exact digits; the renderer reads numeric columns from
 * either a string (exact) or a jansson integer/real (real: shortest double
 * repr, which loses numeric scale). wal2json 2.5 sends NaN and +-Infinity of
 * float and numeric columns as JSON null (checked on this machine), so those
 * arrive as null; inside arrays they come as text and render quoted.
 *
 * Floats follow apd's SetFloat64 (Go's shortest 'E' repr) then Text('G'), so
 * 100 renders as 1E+2 and 1e20 as 1E+20 (tree.AsJSON -> json.FromFloat64;
 * cockroachdb/replicator PR 143 met such "4E+2" values in real changefeed
 * output). REAL columns hold float32 values in CockroachDB, rendered as the
 * float64 they widen to (0.1 -> 0.10000000149011612) [INF].
 *
 * Other types [INF where noted]: oid renders as a string (old AsJSON, §5);
 * time, timetz, interval, date, inet, uuid, bit and enums pass PostgreSQL's
 * text through (newer CockroachDB prints timetz offsets as PostgreSQL does;
 * older releases wrote "+02:00:00"); composite values stay strings
 * (wal2json gives no field labels).
 *
 * Deletes: the key comes from `after`, or from `before` when after is NULL
 * (the engine passes the old row / identity there); `before` is shown only
 * with diff. Envelope behaviour follows the newest encoder_json.go:
 * metadata (updated, mvcc_timestamp, key, topic) goes under "__crdb__" for
 * bare/row; a row-envelope delete is empty, a bare delete is null or
 * {"__crdb__": {...}}; enriched is {"after", "op", "ts_ns"[, "key"]} with an
 * object key and op deduced from before (c when before is NULL), without a
 * "source" object (enriched_properties is ignored by crdbsim).
 */
#include "config.h"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render_int.h"

/* ---- strings ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (Go's utf8.DecodeRune rules: no
 * overlongs, no surrogates, <= U+10FFFF), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0;
		if (c == 0xed && s[1] >= 0xa0)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/* A JSON string as CockroachDB's encodeJSONString writes it (§4.1). */
void render_put_json_string(struct sbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0;

	sb_putc(sb, '"');
	while (i < n) {
		unsigned char c = u[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c < 0x80) {
			sb_putn(sb, s + start, i - start);
			switch (c) {
			case '"': sb_puts(sb, "\\\""); break;
			case '\\': sb_puts(sb, "\\\\"); break;
			case '\n': sb_puts(sb, "\\n"); break;
			case '\r': sb_puts(sb, "\\r"); break;
			case '\t': sb_puts(sb, "\\t"); break;
			default: {
				char esc[7] = { '\\', 'u', '0', '0',
						hex[c >> 4], hex[c & 0xf], 0 };
				sb_puts(sb, esc);
			}
			}
			start = ++i;
			continue;
		}
		size_t len = utf8_seq(u + i, n - i);
		if (len == 0) {
			sb_putn(sb, s + start, i - start);
			sb_puts(sb, "\\ufffd");
			start = ++i;
			continue;
		}
		i += len;
	}
	sb_putn(sb, s + start, n - start);
	sb_putc(sb, '"');
}

/* ---- rows, keys, envelopes ---------------------------------------------- */

static const char *col_name(const json_t *col)
{
	const json_t *n = json_is_string(col) ? col : json_object_get(col, "name");
	return json_is_string(n) ? json_string_value(n) : NULL;
}

static const json_t *find_column(const json_t *cols, const char *name)
{
	size_t i;
	const json_t *c;
	if (!json_is_array(cols))
		return NULL;
	json_array_foreach(cols, i, c) {
		const char *cn = col_name(c);
		if (cn && strcmp(cn, name) == 0)
			return c;
	}
	return NULL;
}

static int col_render(struct sbuf *sb, const json_t *col, char *errbuf, size_t errlen)
{
	const json_t *type = json_object_get(col, "type");
	const char *ts = json_is_string(type) ? json_string_value(type) : "text";
	if (render_put_column(sb, ts, json_object_get(col, "value")) < 0) {
		snprintf(errbuf, errlen, "cannot render column %s of type %s",
			 col_name(col) ? col_name(col) : "?", ts);
		return -1;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = col_name(*(const json_t *const *)a);
	const char *y = col_name(*(const json_t *const *)b);
	return render_keycmp(x, strlen(x), y, strlen(y));
}

/*
 * The row object: columns sorted bytewise; meta (already rendered, without
 * braces) is added under "__crdb__" when given.
 */
static int put_row(struct sbuf *sb, const json_t *cols, const char *meta,
		   char *errbuf, size_t errlen)
{
	size_t n = json_array_size(cols), k = 0;
	const json_t **sorted = calloc(n ? n : 1, sizeof *sorted);
	int rc = -1;

	if (!sorted) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(cols, i);
		if (!col_name(c)) {
			snprintf(errbuf, errlen, "column without a name");
			goto out;
		}
		sorted[k++] = c;
	}
	qsort(sorted, k, sizeof *sorted, cmp_names);
	sb_putc(sb, '{');
	bool first = true;
	bool meta_done = meta == NULL;
	for (size_t i = 0; i <= k; i++) {
		const char *name = i < k ? col_name(sorted[i]) : NULL;
		if (!meta_done && (!name || strcmp("__crdb__", name) < 0)) {
			sb_puts(sb, first ? "\"__crdb__\": {" : ", \"__crdb__\": {");
			sb_puts(sb, meta);
			sb_putc(sb, '}');
			first = false;
			meta_done = true;
		}
		if (!name)
			break;
		if (!first)
			sb_puts(sb, ", ");
		first = false;
		render_put_json_string(sb, name, strlen(name));
		sb_puts(sb, ": ");
		if (col_render(sb, sorted[i], errbuf, errlen) < 0)
			goto out;
	}
	sb_putc(sb, '}');
	rc = 0;
out:
	free(sorted);
	return rc;
}

/* The key: [v1, v2] in pk order, or {"pk": v} for enriched (§12). */
static int put_key(struct sbuf *sb, const json_t *pk_names, const json_t *row,
		   bool as_object, char *errbuf, size_t errlen)
{
	size_t i;
	const json_t *pk;

	if (!json_is_array(pk_names) || json_array_size(pk_names) == 0) {
		snprintf(errbuf, errlen, "no primary key columns");
		return -1;
	}
	sb_putc(sb, as_object ? '{' : '[');
	/* pk names in key order; for the object form they must be sorted, but
	 * render order = sorted order only matters there */
	size_t n = json_array_size(pk_names);
	const json_t **order = calloc(n, sizeof *order);
	if (!order) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(pk_names, i, pk) {
		if (!col_name(pk)) {
			free(order);
			snprintf(errbuf, errlen, "bad primary key name");
			return -1;
		}
		order[i] = pk;
	}
	if (as_object)
		qsort(order, n, sizeof *order, cmp_names);
	for (i = 0; i < n; i++) {
		const char *name = col_name(order[i]);
		const json_t *c = find_column(row, name);
		if (!c) {
			free(order);
			snprintf(errbuf, errlen, "primary key column %s missing", name);
			return -1;
		}
		if (i)
			sb_puts(sb, ", ");
		if (as_object) {
			render_put_json_string(sb, name, strlen(name));
			sb_puts(sb, ": ");
		}
		if (col_render(sb, c, errbuf, errlen) < 0) {
			free(order);
			return -1;
		}
	}
	free(order);
	sb_putc(sb, as_object ? '}' : ']');
	return 0;
}

size_t sim_hlc_format(struct sim_hlc ts, char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, "%lld.%010d", (long long)ts.wall,
			 (int)ts.logical);
	if (n < 0)
		return 0;
	return (size_t)n < buflen ? (size_t)n : (buflen ? buflen - 1 : 0);
}

size_t sim_render_resolved(enum sim_envelope envelope, struct sim_hlc ts,
			   char *buf, size_t buflen)
{
	char hlc[48];
	sim_hlc_format(ts, hlc, sizeof hlc);
	int n;
	if (envelope == SIM_ENV_WRAPPED || envelope == SIM_ENV_ENRICHED)
		n = snprintf(buf, buflen, "{\"resolved\":\"%s\"}", hlc);
	else
		n = snprintf(buf, buflen, "{\"__crdb__\":{\"resolved\":\"%s\"}}", hlc);
	if (n < 0)
		return 0;
	return (size_t)n < buflen ? (size_t)n : (buflen ? buflen - 1 : 0);
}

static void put_hlc_string(struct sbuf *sb, struct sim_hlc ts)
{
	char hlc[48];
	sb_putc(sb, '"');
	sim_hlc_format(ts, hlc, sizeof hlc);
	sb_puts(sb, hlc);
	sb_putc(sb, '"');
}

/* Finish *out from a buffer: malloc'd bytes (an empty value is a 1-byte
 * allocation holding NUL, length 0). */
static int take(struct sbuf *sb, char **out, size_t *len, char *errbuf, size_t errlen)
{
	if (sb->oom) {
		free(sb->p);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (!sb->p) {
		sb->p = malloc(1);
		if (!sb->p) {
			snprintf(errbuf, errlen, "out of memory");
			return -1;
		}
		sb->p[0] = '\0';
	}
	*out = sb->p;
	*len = sb->len;
	return 0;
}

int sim_render_event(const struct sim_render_opts *opts,
		     const json_t *pk_names, const json_t *after,
		     const json_t *before, struct sim_hlc updated,
		     const char *topic,
		     char **key, size_t *key_len,
		     char **value, size_t *value_len,
		     char *errbuf, size_t errlen)
{
	struct sbuf k = { 0 }, v = { 0 }, key_in = { 0 }, meta = { 0 };
	const json_t *keyrow = after ? after : before;
	bool enriched = opts->envelope == SIM_ENV_ENRICHED;
	int rc = -1;

	*key = *value = NULL;
	*key_len = *value_len = 0;
	if (!keyrow) {
		snprintf(errbuf, errlen, "an event needs a row (after or before)");
		return -1;
	}
	if (put_key(&k, pk_names, keyrow, enriched, errbuf, errlen) < 0)
		goto out;
	if (opts->key_in_value && put_key(&key_in, pk_names, keyrow, false,
					  errbuf, errlen) < 0)
		goto out;

	switch (opts->envelope) {
	case SIM_ENV_KEY_ONLY:
		break;
	case SIM_ENV_WRAPPED:
		/* after < before < key < mvcc_timestamp < topic < updated */
		sb_puts(&v, "{\"after\": ");
		if (after) {
			if (put_row(&v, after, NULL, errbuf, errlen) < 0)
				goto out;
		} else {
			sb_puts(&v, "null");
		}
		if (opts->diff) {
			sb_puts(&v, ", \"before\": ");
			if (before) {
				if (put_row(&v, before, NULL, errbuf, errlen) < 0)
					goto out;
			} else {
				sb_puts(&v, "null");
			}
		}
		if (opts->key_in_value) {
			sb_puts(&v, ", \"key\": ");
			sb_putn(&v, key_in.p, key_in.len);
		}
		if (opts->mvcc_timestamp) {
			sb_puts(&v, ", \"mvcc_timestamp\": ");
			put_hlc_string(&v, updated);
		}
		if (opts->topic_in_value) {
			sb_puts(&v, ", \"topic\": ");
			render_put_json_string(&v, topic ? topic : "", topic ? strlen(topic) : 0);
		}
		if (opts->updated) {
			sb_puts(&v, ", \"updated\": ");
			put_hlc_string(&v, updated);
		}
		sb_putc(&v, '}');
		break;
	case SIM_ENV_ROW:
	case SIM_ENV_BARE: {
		/* metadata under __crdb__: key < mvcc_timestamp < topic < updated */
		const char *sep = "";
		if (opts->key_in_value) {
			sb_puts(&meta, "\"key\": ");
			sb_putn(&meta, key_in.p, key_in.len);
			sep = ", ";
		}
		if (opts->mvcc_timestamp) {
			sb_puts(&meta, sep);
			sb_puts(&meta, "\"mvcc_timestamp\": ");
			put_hlc_string(&meta, updated);
			sep = ", ";
		}
		if (opts->topic_in_value) {
			sb_puts(&meta, sep);
			sb_puts(&meta, "\"topic\": ");
			render_put_json_string(&meta, topic ? topic : "", topic ? strlen(topic) : 0);
			sep = ", ";
		}
		if (opts->updated) {
			sb_puts(&meta, sep);
			sb_puts(&meta, "\"updated\": ");
			put_hlc_string(&meta, updated);
		}
		if (meta.oom)
			goto oom;
		if (!after) {
			if (opts->envelope == SIM_ENV_ROW)
				break; /* empty value */
			if (meta.p) {
				sb_puts(&v, "{\"__crdb__\": {");
				sb_puts(&v, meta.p);
				sb_puts(&v, "}}");
			} else {
				sb_puts(&v, "null");
			}
			break;
		}
		if (put_row(&v, after, meta.p, errbuf, errlen) < 0)
			goto out;
		break;
	}
	case SIM_ENV_ENRICHED: {
		struct timespec now;
		char buf[64];
		clock_gettime(CLOCK_REALTIME, &now);
		sb_puts(&v, "{\"after\": ");
		if (after) {
			if (put_row(&v, after, NULL, errbuf, errlen) < 0)
				goto out;
		} else {
			sb_puts(&v, "null");
		}
		if (opts->key_in_value) {
			sb_puts(&v, ", \"key\": ");
			sb_putn(&v, key_in.p, key_in.len);
		}
		snprintf(buf, sizeof buf, ", \"op\": \"%s\", \"ts_ns\": %lld}",
			 !after ? "d" : before ? "u" : "c",
			 (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
		sb_puts(&v, buf);
		break;
	}
	}
	if (k.oom || v.oom || key_in.oom)
		goto oom;
	if (take(&k, key, key_len, errbuf, errlen) < 0) {
		k.p = NULL;
		goto out;
	}
	k.p = NULL;
	if (take(&v, value, value_len, errbuf, errlen) < 0) {
		v.p = NULL;
		free(*key);
		*key = NULL;
		*key_len = 0;
		goto out;
	}
	v.p = NULL;
	rc = 0;
	goto out;
oom:
	snprintf(errbuf, errlen, "out of memory");
out:
	free(k.p);
	free(v.p);
	free(key_in.p);
	free(meta.p);
	return rc;
}

/* ---- statements (simstmt.h): made by parse.c, run by the engine ---- */

void sim_stmt_free(struct simfeed_stmt *stmt)
{
	if (!stmt)
		return;
	for (size_t i = 0; stmt->targets && i < stmt->ntargets; i++) {
		free(stmt->targets[i].schema);
		free(stmt->targets[i].table);
		free(stmt->targets[i].family);
		free(stmt->targets[i].display);
	}
	free(stmt->targets);
	free(stmt->query);
	free(stmt->query_where);
	for (size_t i = 0; stmt->query_columns && i < stmt->nquery_columns; i++)
		free(stmt->query_columns[i]);
	free(stmt->query_columns);
	free(stmt);
}
