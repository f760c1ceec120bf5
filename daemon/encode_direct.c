/*
 * encode_direct.c: the direct path, a wrapped data row straight from the
 * wire bytes to its line, without building the event's jansson values at
 * all. It takes only rows whose every part it can prove the general path
 * (crdb_event_decode() then line_new_row()) would accept and write the
 * same way:
 *   - envelope wrapped, key and value in binary format (raw JSON text);
 *   - JSON without escapes in strings (they pass through unchanged; UTF-8
 *     is validated); numbers copied with their digits when the decoder
 *     keeps them (number_text, as crdbfeedd asks), else canonical int64
 *     integers only (reals' digits then depend on the whole line); at most
 *     64 levels and 64 members per object (duplicate keys are looked for);
 *   - an ASCII table name.
 * Anything else, malformed input included, returns NULL and the caller
 * takes the general path, which decodes, refuses or falls back as before.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "encode_out.h"

#include "crdb_scan.h"

#include <string.h>

#define RAW_MAX_DEPTH 64
#define RAW_MAX_MEMBERS 64
#define RAW_MAX_BYTES ((size_t)64 << 20)

struct raw {
	const char *s;
	size_t len, pos;
	struct out *o;    /* NULL: validate only */
	bool number_text; /* numbers pass as they are (crdb_decode_opts) */
};

static inline void raw_space(struct raw *r)
{
	while (r->pos < r->len && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
				   r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
		r->pos++;
}

/* A string without escapes at r->pos (on its '"'); *start and *n give its
 * contents. Copied to the output unchanged: jansson would write the same. */
static bool raw_string(struct raw *r, size_t *start, size_t *n)
{
	const unsigned char *s = (const unsigned char *)r->s;
	size_t i = r->pos + 1;

	for (;;) {
		i = crdb_scan_plain_end(s, i, r->len);
		if (i >= r->len)
			return false;
		if (s[i] == '"')
			break;
		if (s[i] < 0x20 || s[i] == '\\')
			return false;
		if (s[i] >= 0x80) {
			size_t k = crdb_scan_utf8_seq(s + i, r->len - i);

			if (!k)
				return false;
			i += k;
		} else {
			i++;
		}
	}
	*start = r->pos + 1;
	*n = i - *start;
	if (r->o)
		out_mem(r->o, r->s + r->pos, i + 1 - r->pos);
	r->pos = i + 1;
	return true;
}

/*
 * A number. With number_text (what crdbfeedd asks the decoder for) any
 * JSON number, copied with its digits, as the general path writes it.
 * Without, a canonical int64 integer only (what the decoder keeps as an
 * integer and jansson prints back as the same digits).
 */
static bool raw_number(struct raw *r)
{
	size_t start = r->pos, i = r->pos, digits;
	bool neg = false;

	if (r->s[i] == '-') {
		neg = true;
		i++;
	}
	digits = i;
	while (i < r->len && r->s[i] >= '0' && r->s[i] <= '9')
		i++;
	digits = i - digits;
	if (digits == 0 || (digits > 1 && r->s[start + neg] == '0'))
		return false;
	if (r->number_text) {
		if (i < r->len && r->s[i] == '.') {
			size_t frac = ++i;

			while (i < r->len && r->s[i] >= '0' && r->s[i] <= '9')
				i++;
			if (i == frac)
				return false;
		}
		if (i < r->len && (r->s[i] == 'e' || r->s[i] == 'E')) {
			size_t exp;

			i++;
			if (i < r->len && (r->s[i] == '+' || r->s[i] == '-'))
				i++;
			exp = i;
			while (i < r->len && r->s[i] >= '0' && r->s[i] <= '9')
				i++;
			if (i == exp)
				return false;
		}
	} else if (digits > 19 || (neg && digits == 1 && r->s[start + 1] == '0') ||
		   (digits == 19 &&
		    memcmp(r->s + start + neg,
			   neg ? "9223372036854775808" : "9223372036854775807",
			   19) > 0)) {
		return false;
	}
	/* Reals (without number_text) and anything the decoder would read as
	 * part of a number. */
	if (i < r->len && (r->s[i] == '.' || r->s[i] == 'e' || r->s[i] == 'E' ||
			   r->s[i] == '+' || r->s[i] == '-'))
		return false;
	if (r->o)
		out_mem(r->o, r->s + start, i - start);
	r->pos = i;
	return true;
}

static bool raw_value(struct raw *r, int depth);

static bool raw_container(struct raw *r, int depth, bool object)
{
	const char close = object ? '}' : ']';
	size_t keys[RAW_MAX_MEMBERS], key_lens[RAW_MAX_MEMBERS];
	size_t members = 0;

	if (depth > RAW_MAX_DEPTH)
		return false;
	if (r->o)
		out_char(r->o, r->s[r->pos]);
	r->pos++;
	raw_space(r);
	if (r->pos < r->len && r->s[r->pos] == close) {
		r->pos++;
		if (r->o)
			out_char(r->o, close);
		return true;
	}
	for (;;) {
		raw_space(r);
		if (object) {
			size_t start, n;

			if (r->pos >= r->len || r->s[r->pos] != '"' ||
			    members == RAW_MAX_MEMBERS || !raw_string(r, &start, &n))
				return false;
			for (size_t k = 0; k < members; k++)
				if (key_lens[k] == n && memcmp(r->s + keys[k], r->s + start, n) == 0)
					return false; /* the decoder refuses duplicates */
			keys[members] = start;
			key_lens[members] = n;
			members++;
			raw_space(r);
			if (r->pos >= r->len || r->s[r->pos] != ':')
				return false;
			r->pos++;
			if (r->o)
				out_char(r->o, ':');
		}
		if (!raw_value(r, depth + 1))
			return false;
		raw_space(r);
		if (r->pos >= r->len)
			return false;
		if (r->s[r->pos] == ',') {
			r->pos++;
			if (r->o)
				out_char(r->o, ',');
			continue;
		}
		if (r->s[r->pos] == close) {
			r->pos++;
			if (r->o)
				out_char(r->o, close);
			return true;
		}
		return false;
	}
}

static bool raw_value(struct raw *r, int depth)
{
	static const struct {
		const char *word;
		size_t len;
	} words[3] = { { "true", 4 }, { "false", 5 }, { "null", 4 } };
	size_t start, n;
	char c;

	raw_space(r);
	if (r->pos >= r->len || (r->o && r->o->failed))
		return false;
	c = r->s[r->pos];
	if (c == '{' || c == '[')
		return raw_container(r, depth, c == '{');
	if (c == '"')
		return raw_string(r, &start, &n);
	if (c == '-' || (c >= '0' && c <= '9'))
		return raw_number(r);
	for (int i = 0; i < 3; i++) {
		if (r->len - r->pos >= words[i].len &&
		    memcmp(r->s + r->pos, words[i].word, words[i].len) == 0) {
			if (r->o)
				out_mem(r->o, words[i].word, words[i].len);
			r->pos += words[i].len;
			return true;
		}
	}
	return false;
}

/* One whole JSON text (key or a member's span), written when o is set. */
static bool raw_json(const char *s, size_t len, bool number_text,
		     struct out *o)
{
	struct raw r = { .s = s, .len = len, .o = o, .number_text = number_text };

	if (!raw_value(&r, 0))
		return false;
	raw_space(&r);
	return r.pos == r.len && !(o && o->failed);
}

struct span {
	size_t start, len; /* len 0: absent */
};

struct wrapped {
	bool has_after, has_before, after_null, before_null;
	struct span updated, mvcc; /* the strings' contents, len + 1 */
};

/* Which of "after", "before", "updated", "mvcc_timestamp" (0 to 3) the
 * member name is, -1 for any other. The lengths differ: one compare of a
 * constant size each, which the compiler does inline. */
static int wrapped_member(const char *name, size_t n)
{
	switch (n) {
	case 5:
		return memcmp(name, "after", 5) == 0 ? 0 : -1;
	case 6:
		return memcmp(name, "before", 6) == 0 ? 1 : -1;
	case 7:
		return memcmp(name, "updated", 7) == 0 ? 2 : -1;
	case 14:
		return memcmp(name, "mvcc_timestamp", 14) == 0 ? 3 : -1;
	default:
		return -1;
	}
}

/*
 * The wrapped value's top level, in one pass: "after" (and with diff
 * "before", which must follow it, as CockroachDB writes them) go to the
 * output as they are read; every other member is validated; the HLC
 * strings are noted for the end of the line.
 */
static bool raw_wrapped(const char *s, size_t len, bool diff,
			bool number_text, struct out *o, struct wrapped *w)
{
	struct raw r = { .s = s, .len = len, .number_text = number_text };
	size_t keys[RAW_MAX_MEMBERS], key_lens[RAW_MAX_MEMBERS];
	size_t members = 0;

	raw_space(&r);
	if (r.pos >= r.len || s[r.pos] != '{')
		return false;
	r.pos++;
	raw_space(&r);
	if (r.pos < r.len && s[r.pos] == '}')
		return false; /* no "after": the decoder refuses it */
	for (;;) {
		size_t start, n, vstart;
		int which = -1;

		raw_space(&r);
		if (r.pos >= r.len || s[r.pos] != '"' || members == RAW_MAX_MEMBERS ||
		    !raw_string(&r, &start, &n))
			return false;
		for (size_t k = 0; k < members; k++)
			if (key_lens[k] == n && memcmp(s + keys[k], s + start, n) == 0)
				return false;
		keys[members] = start;
		key_lens[members] = n;
		members++;
		which = wrapped_member(s + start, n);
		raw_space(&r);
		if (r.pos >= r.len || s[r.pos] != ':')
			return false;
		r.pos++;
		raw_space(&r);
		if (r.pos >= r.len)
			return false;
		vstart = r.pos;
		/* after/before: an object or null; the HLCs: strings. */
		if (which >= 0 && (which < 2 ? s[r.pos] != '{' && s[r.pos] != 'n'
					     : s[r.pos] != '"'))
			return false;
		if (which == 0 || (which == 1 && diff)) {
			if (which == 1 && !w->has_after)
				return false; /* before ahead of after: general path */
			if (which == 0)
				out_lit(o, ",\"after\":");
			else
				out_lit(o, ",\"before\":");
			r.o = o;
		}
		if (!raw_value(&r, 1))
			return false;
		r.o = NULL;
		switch (which) {
		case 0:
			w->has_after = true;
			w->after_null = s[vstart] == 'n';
			break;
		case 1:
			w->has_before = true;
			w->before_null = s[vstart] == 'n';
			break;
		case 2:
		case 3: {
			struct span *hlc = which == 2 ? &w->updated : &w->mvcc;

			hlc->start = vstart + 1;
			hlc->len = r.pos - vstart - 1;
			break;
		}
		default:
			break;
		}
		raw_space(&r);
		if (r.pos >= r.len)
			return false;
		if (s[r.pos] == ',') {
			r.pos++;
			continue;
		}
		if (s[r.pos] != '}')
			return false;
		r.pos++;
		raw_space(&r);
		return r.pos == r.len && !o->failed;
	}
}

/*
 * The value of n (at most 19) decimal digits at s, or -1 when one is not
 * a digit. Eight at a time where the byte order allows: all eight bytes
 * are digits when none is below '0' nor, plus 0x46, past 0x7f; then the
 * pairs, quads and the eight are combined by multiplies.
 */
static int64_t digits_value(const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t zeros = UINT64_C(0x3030303030303030);
	const uint64_t highs = UINT64_C(0x8080808080808080);

	for (; n - i >= 8; i += 8) {
		uint64_t x;

		memcpy(&x, s + i, 8);
		if (((x - zeros) | (x + UINT64_C(0x4646464646464646))) & highs)
			return -1;
		x -= zeros;
		/* The first byte is the most significant digit. */
		x = x * 10 + (x >> 8);
		x = ((x & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32)) +
		     ((x >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32))) >> 32;
		v = v * 100000000 + x;
	}
#endif
	for (; i < n; i++) {
		unsigned d = (unsigned char)s[i] - (unsigned)'0';

		if (d > 9)
			return -1;
		v = v * 10 + d;
	}
	/* 19 digits stay below 2^64; above INT64_MAX is not a wall time. */
	return v > (uint64_t)INT64_MAX ? -1 : (int64_t)v;
}

/*
 * Is s exactly crdb_hlc_format()'s output: a wall time without leading
 * zeros that fits int64, '.', ten digits of a logical that fits int32?
 * Then parsing and formatting again would give the same bytes; *hlc is
 * the value crdb_hlc_parse() would give.
 */
static bool hlc_canonical(const char *s, size_t len, crdb_hlc *hlc)
{
	size_t wall = len - 11;
	int64_t wall_ns, logical;

	if (len < 12 || len > 30 || s[wall] != '.' ||
	    (wall > 1 && s[0] == '0'))
		return false;
	wall_ns = digits_value(s, wall);
	logical = digits_value(s + wall + 1, 10);
	if (wall_ns < 0 || logical < 0 || logical > INT32_MAX)
		return false;
	*hlc = (crdb_hlc){ wall_ns, (int32_t)logical };
	return true;
}

/* An HLC member: parsed as the decoder does into *hlc, written
 * canonically. */
static bool raw_hlc(struct out *o, const char *name, size_t name_len,
		    const char *s, const struct span *span, crdb_hlc *hlc)
{
	/* span->len is the contents' length plus one, so that an empty
	 * string still counts as present. */
	if (hlc_canonical(s + span->start, span->len - 1, hlc)) {
		out_mem(o, name, name_len);
		out_mem(o, s + span->start - 1, span->len + 1);
		return true;
	}
	if (crdb_hlc_parse(s + span->start, span->len - 1, hlc, NULL) < 0)
		return false;
	out_hlc(o, name, name_len, *hlc);
	return true;
}

struct line *line_new_row_raw(const char *feed, const char *table,
			      size_t table_len, const char *key, size_t key_len,
			      const char *value, size_t value_len,
			      const crdb_decode_opts *opts)
{
	struct wrapped w = { 0 };
	crdb_hlc updated = { 0, 0 }, mvcc;
	struct line *line = NULL;
	struct out o;
	size_t op_at = 0, i = 0;
	const char *op_name;
	crdb_op op = CRDB_OP_UNKNOWN;

	if (!table || !key || !value || opts->envelope != CRDB_ENVELOPE_WRAPPED ||
	    table_len == 0 || key_len > RAW_MAX_BYTES || value_len > RAW_MAX_BYTES ||
	    key_len == 0 || value_len == 0)
		return NULL;
	for (size_t k = 0; k < table_len; k++)
		if (table[k] == '\0' || (unsigned char)table[k] >= 0x80)
			return NULL;
	out_begin(&o);
	out_lit(&o, "{\"v\":1,\"type\":\"row\"");
	if (feed) {
		out_lit(&o, ",\"feed\":");
		out_string(&o, feed, strlen(feed));
	}
	out_lit(&o, ",\"table\":");
	out_string(&o, table, table_len);
	out_lit(&o, ",\"key\":");
	/* Under wrapped the key must be an array. */
	while (i < key_len && (key[i] == ' ' || key[i] == '\t' ||
			       key[i] == '\n' || key[i] == '\r'))
		i++;
	if (i == key_len || key[i] != '[' || !raw_json(key, key_len, opts->number_text, &o))
		o.failed = true;
	/* Every op of a wrapped row has six letters: written once known. */
	out_lit(&o, ",\"op\":\"");
	op_at = o.len;
	out_lit(&o, "??????\"");
	if (!o.failed && (!raw_wrapped(value, value_len, opts->diff,
					  opts->number_text, &o, &w) ||
			  !w.has_after || (opts->diff && !w.has_before)))
		o.failed = true;
	if (!o.failed) {
		if (w.after_null)
			op = CRDB_OP_DELETE;
		else if (!opts->diff)
			op = CRDB_OP_UPSERT;
		else
			op = w.before_null ? CRDB_OP_INSERT : CRDB_OP_UPDATE;
		op_name = crdb_op_name(op);
		if (strlen(op_name) == 6)
			memcpy(o.p + op_at, op_name, 6);
		else
			o.failed = true;
	}
	if (!o.failed && w.updated.len &&
	    !raw_hlc(&o, ",\"updated\":", sizeof(",\"updated\":") - 1, value,
		     &w.updated, &updated))
		o.failed = true;
	if (!o.failed && w.mvcc.len &&
	    !raw_hlc(&o, ",\"mvcc_timestamp\":", sizeof(",\"mvcc_timestamp\":") - 1,
		     value, &w.mvcc, &mvcc))
		o.failed = true;
	if (!o.failed)
		out_lit(&o, "}\n");
	line = out_line(&o, op, table, table_len);
	out_end(&o);
	/* Ordered delivery sorts by it. */
	if (line)
		line->updated = updated;
	return line;
}

/* Is res's row description the one the direct path reads: "table" text,
 * "key" and "value" bytea in binary format? */
static bool row_desc_direct(const PGresult *res)
{
	static const char *const names[3] = { "table", "key", "value" };
	static const Oid oids[3] = { 25, 17, 17 };

	if (PQnfields(res) != 3)
		return false;
	for (int i = 0; i < 3; i++) {
		const char *name = PQfname(res, i);

		if (!name || strcmp(name, names[i]) != 0 || PQftype(res, i) != oids[i] ||
		    (i > 0 && PQfformat(res, i) != 1))
			return false;
	}
	return true;
}

struct line *line_new_row_described(const char *feed, const PGresult *res,
				    const crdb_decode_opts *opts,
				    enum row_desc *desc)
{
	ExecStatusType st = PQresultStatus(res);

	if ((st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) || PQntuples(res) != 1)
		return NULL;
	if (*desc == ROW_DESC_UNCHECKED)
		*desc = row_desc_direct(res) ? ROW_DESC_DIRECT : ROW_DESC_OTHER;
	if (*desc != ROW_DESC_DIRECT)
		return NULL;
	/* A NULL field reads as "" of length 0, which line_new_row_raw()
	 * refuses (resolved rows have a NULL table): no PQgetisnull. */
	return line_new_row_raw(feed, PQgetvalue(res, 0, 0),
				(size_t)PQgetlength(res, 0, 0), PQgetvalue(res, 0, 1),
				(size_t)PQgetlength(res, 0, 1), PQgetvalue(res, 0, 2),
				(size_t)PQgetlength(res, 0, 2), opts);
}

struct line *line_new_row_direct(const char *feed, const PGresult *res,
				 const crdb_decode_opts *opts)
{
	enum row_desc desc = ROW_DESC_UNCHECKED;

	return line_new_row_described(feed, res, opts, &desc);
}
