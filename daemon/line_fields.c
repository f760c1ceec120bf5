/*
 * line_fields.c: a strict, byte-preserving reader of crdbfeedd's own v1
 * row lines (line_fields.h): the fixed member order the encoders write
 * (line.c, encode_fast.c, encode_direct.c, line_new_sequenced), every
 * value checked as compact strict JSON, never a byte read past len.
 * Anything else is refused with one line naming the byte offset.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "line_fields.h"

#include <stdio.h>
#include <string.h>

#include "crdb_scan.h"

/* libcrdb's decoder refuses deeper values (JSON_MAX_DEPTH). */
#define LINE_MAX_DEPTH 512

struct lscan {
	const unsigned char *s;
	size_t len, pos;
	char *errbuf;
	size_t errlen;
};

/* One line; at the end of the input it says the line is cut short. */
static bool fail(struct lscan *sc, const char *what)
{
	if (sc->pos >= sc->len)
		snprintf(sc->errbuf, sc->errlen,
			 "row line: %s, but the line ends at byte %zu", what,
			 sc->len);
	else
		snprintf(sc->errbuf, sc->errlen, "row line: %s at byte %zu",
			 what, sc->pos);
	return false;
}

/* The exact bytes lit at pos: taken when present. */
static bool take(struct lscan *sc, const char *lit)
{
	size_t n = strlen(lit);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, lit, n) != 0)
		return false;
	sc->pos += n;
	return true;
}

static bool need(struct lscan *sc, const char *lit, const char *what)
{
	return take(sc, lit) || fail(sc, what);
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The four hex digits at p (len bytes left), or -1. */
static long hex4_at(const unsigned char *p, size_t left)
{
	long v = 0;

	if (left < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * The string at pos (on its '"'): escapes (a surrogate only as a whole
 * pair), no control bytes, valid UTF-8. *start and *end bound its
 * contents as written.
 */
static bool scan_string(struct lscan *sc, size_t *start, size_t *end)
{
	const unsigned char *s = sc->s;
	size_t i;

	if (sc->pos >= sc->len || s[sc->pos] != '"')
		return fail(sc, "expected a string");
	i = sc->pos + 1;
	for (;;) {
		i = crdb_scan_plain_end(s, i, sc->len);
		if (i >= sc->len) {
			sc->pos = i;
			return fail(sc, "unterminated string");
		}
		if (s[i] == '"')
			break;
		if (s[i] == '\\') {
			if (i + 1 >= sc->len) {
				sc->pos = sc->len;
				return fail(sc, "unterminated string");
			}
			if (s[i + 1] == 'u') {
				size_t at = i;
				long hi = hex4_at(s + i + 2, sc->len - i - 2), lo;

				if (hi >= 0xd800 && hi <= 0xdbff) {
					lo = sc->len - i >= 12 && s[i + 6] == '\\' &&
					     s[i + 7] == 'u' ?
					     hex4_at(s + i + 8, sc->len - i - 8) : -1;
					hi = lo >= 0xdc00 && lo <= 0xdfff ? hi : -1;
					i += 6;
				} else if (hi >= 0xdc00 && hi <= 0xdfff) {
					hi = -1;
				}
				if (hi < 0) {
					sc->pos = at;
					return fail(sc, "bad \\u escape");
				}
				i += 6;
			} else if (memchr("\"\\/bfnrt", s[i + 1], 8)) {
				i += 2;
			} else {
				sc->pos = i;
				return fail(sc, "bad escape in a string");
			}
		} else if (s[i] < 0x20) {
			sc->pos = i;
			return fail(sc, "control byte in a string");
		} else {
			size_t n = crdb_scan_utf8_seq(s + i, sc->len - i);

			if (!n) {
				sc->pos = i;
				return fail(sc, "invalid UTF-8 in a string");
			}
			i += n;
		}
	}
	*start = sc->pos + 1;
	*end = i;
	sc->pos = i + 1;
	return true;
}

static size_t digits_at(const struct lscan *sc, size_t i)
{
	size_t from = i;

	while (i < sc->len && sc->s[i] >= '0' && sc->s[i] <= '9')
		i++;
	return i - from;
}

/* A JSON number, any size (crdbfeedd copies CockroachDB's digits). */
static bool scan_number(struct lscan *sc)
{
	size_t i = sc->pos, n;

	if (i < sc->len && sc->s[i] == '-')
		i++;
	n = digits_at(sc, i);
	if (n == 0 || (n > 1 && sc->s[i] == '0')) {
		sc->pos = i;
		return fail(sc, "bad number");
	}
	i += n;
	if (i < sc->len && sc->s[i] == '.') {
		n = digits_at(sc, ++i);
		if (n == 0) {
			sc->pos = i;
			return fail(sc, "bad number");
		}
		i += n;
	}
	if (i < sc->len && (sc->s[i] == 'e' || sc->s[i] == 'E')) {
		i++;
		if (i < sc->len && (sc->s[i] == '+' || sc->s[i] == '-'))
			i++;
		n = digits_at(sc, i);
		if (n == 0) {
			sc->pos = i;
			return fail(sc, "bad number");
		}
		i += n;
	}
	sc->pos = i;
	return true;
}

/* A member name inside a value and its ':'. */
static bool scan_name(struct lscan *sc)
{
	size_t start, end;

	return scan_string(sc, &start, &end) &&
	       need(sc, ":", "expected ':'");
}

/*
 * One compact JSON value at pos, iteratively: the open containers are a
 * bit each (object or array), so depth costs no stack.
 */
static bool scan_value(struct lscan *sc)
{
	unsigned char open[LINE_MAX_DEPTH / 8] = { 0 };
	size_t depth = 0;

	for (;;) {
		unsigned char c;
		size_t start, end;

		if (sc->pos >= sc->len)
			return fail(sc, "expected a JSON value");
		c = sc->s[sc->pos];
		if (c == '{' || c == '[') {
			bool object = c == '{';

			if (depth == LINE_MAX_DEPTH)
				return fail(sc, "nested deeper than 512 levels");
			if (object)
				open[depth / 8] |= (unsigned char)(1u << depth % 8);
			else
				open[depth / 8] &= (unsigned char)~(1u << depth % 8);
			depth++;
			sc->pos++;
			if (take(sc, object ? "}" : "]")) {
				depth--;
			} else {
				if (object && !scan_name(sc))
					return false;
				continue;
			}
		} else if (c == '"') {
			if (!scan_string(sc, &start, &end))
				return false;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			if (!scan_number(sc))
				return false;
		} else if (!take(sc, "true") && !take(sc, "false") &&
			   !take(sc, "null")) {
			return fail(sc, "expected a JSON value");
		}
		/* A value ended: close what it ends, or go on to the next. */
		for (;;) {
			bool object;

			if (depth == 0)
				return true;
			object = open[(depth - 1) / 8] >> (depth - 1) % 8 & 1;
			if (take(sc, object ? "}" : "]")) {
				depth--;
				continue;
			}
			if (!take(sc, ","))
				return fail(sc, object ? "expected ',' or '}'"
						       : "expected ',' or ']'");
			if (object && !scan_name(sc))
				return false;
			break;
		}
	}
}

struct row_scan {
	size_t body;                 /* the ,"table": member */
	size_t table, table_end;     /* contents; table_end 0: null */
	size_t key, key_end;
	size_t updated, updated_end; /* updated_end 0: absent */
	size_t tail;                 /* ,"seq" or the closing '}' */
	bool has_seq, late;
	uint64_t seq;
	crdb_op op;
};

static bool scan_op(struct lscan *sc, crdb_op *op)
{
	static const crdb_op ops[] = { CRDB_OP_INSERT, CRDB_OP_UPDATE,
				       CRDB_OP_UPSERT, CRDB_OP_DELETE,
				       CRDB_OP_UNKNOWN };
	size_t at = sc->pos, start, end;

	if (!scan_string(sc, &start, &end))
		return false;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		const char *name = crdb_op_name(ops[i]);

		if (strlen(name) == end - start &&
		    memcmp(sc->s + start, name, end - start) == 0) {
			*op = ops[i];
			return true;
		}
	}
	sc->pos = at;
	return fail(sc, "unknown \"op\"");
}

/* The "seq" value: digits without a leading zero that fit 64 bits. */
static bool scan_seq(struct lscan *sc, uint64_t *seq)
{
	size_t n = digits_at(sc, sc->pos);
	uint64_t v = 0;

	if (n == 0 || (n > 1 && sc->s[sc->pos] == '0'))
		return fail(sc, "bad \"seq\"");
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(sc->s[sc->pos + i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return fail(sc, "\"seq\" out of range");
		v = v * 10 + d;
	}
	sc->pos += n;
	*seq = v;
	return true;
}

static bool scan_row(struct lscan *sc, struct row_scan *r)
{
	size_t start, end;

	memset(r, 0, sizeof(*r));
	if (!need(sc, "{\"v\":1,\"type\":\"row\"", "not a v1 row line"))
		return false;
	if (take(sc, ",\"feed\":") && !scan_string(sc, &start, &end))
		return false;
	r->body = sc->pos;
	if (!need(sc, ",\"table\":", "expected ,\"table\":"))
		return false;
	if (!take(sc, "null")) {
		if (!scan_string(sc, &r->table, &r->table_end))
			return false;
	}
	if (!need(sc, ",\"key\":", "expected ,\"key\":"))
		return false;
	if (sc->pos >= sc->len || (sc->s[sc->pos] != '[' && sc->s[sc->pos] != '{'))
		return fail(sc, "the key is not an array or object");
	r->key = sc->pos;
	if (!scan_value(sc))
		return false;
	r->key_end = sc->pos;
	if (!need(sc, ",\"op\":", "expected ,\"op\":") || !scan_op(sc, &r->op))
		return false;
	if (take(sc, ",\"after\":") && !scan_value(sc))
		return false;
	if (take(sc, ",\"before\":") && !scan_value(sc))
		return false;
	if (take(sc, ",\"updated\":") &&
	    !scan_string(sc, &r->updated, &r->updated_end))
		return false;
	if (take(sc, ",\"mvcc_timestamp\":") &&
	    !scan_string(sc, &start, &end))
		return false;
	r->tail = sc->pos;
	if (take(sc, ",\"seq\":")) {
		if (!scan_seq(sc, &r->seq))
			return false;
		r->has_seq = true;
		r->late = take(sc, ",\"late\":true");
		take(sc, ",\"group_end\":true");
	}
	if (!need(sc, "}", "expected '}' (an unknown member or a wrong order)"))
		return false;
	take(sc, "\n");
	if (sc->pos != sc->len)
		return fail(sc, "bytes after the line");
	return true;
}

int line_row_key(const char *line, size_t len, const char **key,
		 size_t *key_len, char *errbuf, size_t errlen)
{
	struct lscan sc = { (const unsigned char *)line, len, 0, errbuf, errlen };
	struct row_scan r;

	if (!scan_row(&sc, &r))
		return -1;
	*key = line + r.key;
	*key_len = r.key_end - r.key;
	return 0;
}

int line_row_split(const char *line, size_t len, struct line_row_parts *out,
		   char *errbuf, size_t errlen)
{
	struct lscan sc = { (const unsigned char *)line, len, 0, errbuf, errlen };
	struct row_scan r;

	if (!scan_row(&sc, &r))
		return -1;
	if (!r.has_seq) {
		sc.pos = r.tail;
		fail(&sc, "no ,\"seq\": (not an ordered feed's row)");
		return -1;
	}
	if (!r.table_end) {
		sc.pos = r.body + strlen(",\"table\":");
		fail(&sc, "the table is null");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->body = line + r.body;
	out->body_len = r.tail - r.body;
	out->table = line + r.table;
	out->table_len = r.table_end - r.table;
	out->key = line + r.key;
	out->key_len = r.key_end - r.key;
	if (r.updated_end) {
		out->updated = line + r.updated;
		out->updated_len = r.updated_end - r.updated;
	}
	out->op = r.op;
	out->seq = r.seq;
	out->late = r.late;
	return 0;
}
