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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

struct line *line_new_row_json(const char *feed, const crdb_event *ev,
			       bool diff, char *errbuf, size_t errlen)
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

/*
 * The fast row encoder. It writes the same bytes as the jansson path
 * above (line_new_row_json(), the reference: compact separators, members
 * in insertion order, strings escaped as jansson does without
 * JSON_ENSURE_ASCII, integers in decimal, reals by jsonp_dtostr() with the
 * line's precision) straight into one reusable buffer, then copies them
 * into the line: one allocation per row instead of a jansson object per
 * member and two dump passes. What it cannot write (invalid UTF-8,
 * ENOMEM) falls back to the reference, which then says what was wrong.
 */
struct out {
	char *p;
	size_t len, cap;
	int precision;      /* of reals: 15, 16 or 17 (dump_flags) */
	bool precision_low; /* a real did not round-trip at this precision */
	bool failed;        /* ENOMEM or a value we leave to the reference */
};

/* Kept between rows; a buffer grown by a huge row is given back. */
static char *scratch;
static size_t scratch_cap;
#define SCRATCH_KEEP (1u << 20)

static bool out_grow(struct out *o, size_t more)
{
	size_t ncap = o->cap ? o->cap : 1024;
	char *grown;

	while (ncap - o->len < more) {
		if (ncap > SIZE_MAX / 2) {
			o->failed = true;
			return false;
		}
		ncap *= 2;
	}
	grown = realloc(o->p, ncap);
	if (!grown) {
		o->failed = true;
		return false;
	}
	o->p = grown;
	o->cap = ncap;
	return true;
}

static inline bool out_room(struct out *o, size_t more)
{
	return o->cap - o->len >= more || out_grow(o, more);
}

static inline void out_mem(struct out *o, const char *s, size_t n)
{
	if (!out_room(o, n))
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

#define out_lit(o, s) out_mem((o), (s), sizeof(s) - 1)

static inline void out_char(struct out *o, char c)
{
	if (!out_room(o, 1))
		return;
	o->p[o->len++] = c;
}

/* Bytes of the UTF-8 sequence at s (at most len), 0 when invalid: the
 * rules of jansson's utf8_check_first/utf8_check_full. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;
	return n;
}

/*
 * Does any of the eight bytes at p need a look (below 0x20, '"', '\\',
 * non-ASCII)? Word-at-a-time tests, exact as a yes/no answer.
 */
static inline uint64_t special8(const unsigned char *p)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	uint64_t x, quote, slash;

	memcpy(&x, p, sizeof(x));
	quote = x ^ (ones * '"');
	slash = x ^ (ones * '\\');
	return ((x - ones * 0x20) | ((quote - ones) & ~quote) |
		((slash - ones) & ~slash) | x) & highs;
}

/*
 * Skip the plain bytes of s from i (at most len): whole words, then the
 * lowest flagged byte of the word that stopped us, which the tests above
 * flag exactly (their false positives only sit above a true one).
 */
static inline size_t skip_plain(const unsigned char *s, size_t i, size_t len)
{
#ifdef __SSE2__
	/* Sixteen at once: as signed bytes, non-ASCII is below 0x20 too. */
	while (len - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i special = _mm_or_si128(
			_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
			_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
				     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
		int mask = _mm_movemask_epi8(special);

		if (mask)
			return i + (size_t)__builtin_ctz((unsigned)mask);
		i += 16;
	}
#endif
	while (len - i >= 8) {
		uint64_t mask = special8(s + i);

		if (mask) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)__builtin_ctzll(mask) / 8;
#else
			break;
#endif
		}
		i += 8;
	}
	while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
		i++;
	return i;
}

/* A JSON string as jansson's dump_string() writes it (no flags). */
static void out_string(struct out *o, const char *str, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	/* Worst case 6 output bytes per input byte, plus the quotes. */
	if (len > (SIZE_MAX - 2) / 6 || !out_room(o, len * 6 + 2))
		return;
	o->p[o->len++] = '"';
	while (i < len) {
		unsigned char c;
		char *w;

		{
			size_t plain = skip_plain(s, i, len);

			run += plain - i;
			i = plain;
		}
		if (i == len)
			break;
		c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_seq(s + i, len - i);

			if (!n) {
				o->failed = true;
				return;
			}
			i += n;
			run += n;
			continue;
		}
		memcpy(o->p + o->len, s + i - run, run);
		o->len += run;
		run = 0;
		w = o->p + o->len;
		w[0] = '\\';
		switch (c) {
		case '"': w[1] = '"'; o->len += 2; break;
		case '\\': w[1] = '\\'; o->len += 2; break;
		case '\b': w[1] = 'b'; o->len += 2; break;
		case '\f': w[1] = 'f'; o->len += 2; break;
		case '\n': w[1] = 'n'; o->len += 2; break;
		case '\r': w[1] = 'r'; o->len += 2; break;
		case '\t': w[1] = 't'; o->len += 2; break;
		default:
			w[1] = 'u';
			w[2] = '0';
			w[3] = '0';
			w[4] = hex[c >> 4];
			w[5] = hex[c & 15];
			o->len += 6;
			break;
		}
		i++;
	}
	memcpy(o->p + o->len, s + i - run, run);
	o->len += run;
	o->p[o->len++] = '"';
}

/* Decimal digits of v ending at end, two at a time; returns the start. */
static char *u64_digits(uint64_t v, char *end)
{
	static const char pairs[201] =
		"00010203040506070809101112131415161718192021222324"
		"25262728293031323334353637383940414243444546474849"
		"50515253545556575859606162636465666768697071727374"
		"75767778798081828384858687888990919293949596979899";

	while (v >= 100) {
		unsigned k = (unsigned)(v % 100) * 2;

		v /= 100;
		*--end = pairs[k + 1];
		*--end = pairs[k];
	}
	if (v >= 10) {
		*--end = pairs[v * 2 + 1];
		*--end = pairs[v * 2];
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

static void out_integer(struct out *o, json_int_t v)
{
	char buf[24], *end = buf + sizeof(buf), *p;
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	p = u64_digits(mag, end);
	if (v < 0)
		*--p = '-';
	out_mem(o, p, (size_t)(end - p));
}

/* jansson's jsonp_dtostr(): "%.*g", ".0" when it looks like an integer,
 * no '+' and no leading zeros in the exponent. */
static void out_real(struct out *o, double v)
{
	char buf[64];
	char *start, *end;
	int n;
	size_t len;

	n = snprintf(buf, sizeof(buf) - 3, "%.*g", o->precision, v);
	if (n < 0 || (size_t)n >= sizeof(buf) - 3) {
		o->failed = true;
		return;
	}
	if (!o->precision_low && o->precision < 17 && strtod(buf, NULL) != v)
		o->precision_low = true;
	len = (size_t)n;
	if (!strchr(buf, '.') && !strchr(buf, 'e')) {
		buf[len++] = '.';
		buf[len++] = '0';
		buf[len] = '\0';
	}
	start = strchr(buf, 'e');
	if (start) {
		start++;
		end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - buf) + 1);
			len -= (size_t)(end - start);
		}
	}
	out_mem(o, buf, len);
}

static void out_json(struct out *o, const json_t *json, int depth)
{
	size_t i, n;

	if (o->failed)
		return;
	/* The decoder bounds nesting (512); this only guards the stack. */
	if (depth > 2048) {
		o->failed = true;
		return;
	}
	switch (json_typeof(json)) {
	case JSON_NULL:
		out_lit(o, "null");
		break;
	case JSON_TRUE:
		out_lit(o, "true");
		break;
	case JSON_FALSE:
		out_lit(o, "false");
		break;
	case JSON_INTEGER:
		out_integer(o, json_integer_value(json));
		break;
	case JSON_REAL:
		out_real(o, json_real_value(json));
		break;
	case JSON_STRING:
		out_string(o, json_string_value(json), json_string_length(json));
		break;
	case JSON_ARRAY:
		out_char(o, '[');
		n = json_array_size(json);
		for (i = 0; i < n && !o->failed; i++) {
			if (i)
				out_char(o, ',');
			out_json(o, json_array_get(json, i), depth + 1);
		}
		out_char(o, ']');
		break;
	case JSON_OBJECT: {
		bool first = true;

		out_char(o, '{');
		for (void *it = json_object_iter((json_t *)json); it && !o->failed;
		     it = json_object_iter_next((json_t *)json, it)) {
			if (!first)
				out_char(o, ',');
			first = false;
			out_string(o, json_object_iter_key(it),
				   json_object_iter_key_len(it));
			out_char(o, ':');
			out_json(o, json_object_iter_value(it), depth + 1);
		}
		out_char(o, '}');
		break;
	}
	default:
		o->failed = true;
		break;
	}
}

/* "wall.logical" as crdb_hlc_format() writes it, as a JSON string. */
static void out_hlc(struct out *o, const char *name, size_t name_len,
		    crdb_hlc hlc)
{
	char buf[CRDB_HLC_BUFSIZE + 2], *end, *p;

	out_mem(o, name, name_len);
	if (hlc.wall < 0 || hlc.logical < 0) {
		/* Not a timestamp; keep the library's exact form. */
		size_t n = crdb_hlc_format(hlc, buf);

		out_string(o, buf, n);
		return;
	}
	end = buf + sizeof(buf);
	end[-1] = '"';
	p = u64_digits((uint64_t)hlc.logical, end - 1);
	while (end - 1 - p < 10)
		*--p = '0';
	*--p = '.';
	p = u64_digits((uint64_t)hlc.wall, p);
	*--p = '"';
	out_mem(o, p, (size_t)(end - p));
}

static void out_row(struct out *o, const char *feed, const crdb_event *ev,
		    bool diff)
{
	const char *op = crdb_op_name(ev->op);

	o->len = 0;
	o->failed = false;
	o->precision_low = false;
	out_lit(o, "{\"v\":1,\"type\":\"row\"");
	if (feed) {
		out_lit(o, ",\"feed\":");
		out_string(o, feed, strlen(feed));
	}
	out_lit(o, ",\"table\":");
	if (ev->table)
		out_string(o, ev->table, strlen(ev->table));
	else
		out_lit(o, "null");
	out_lit(o, ",\"key\":");
	if (ev->key)
		out_json(o, ev->key, 0);
	else
		out_lit(o, "null");
	out_lit(o, ",\"op\":");
	out_string(o, op, strlen(op));
	if (ev->after || ev->op == CRDB_OP_DELETE) {
		out_lit(o, ",\"after\":");
		if (ev->after)
			out_json(o, ev->after, 0);
		else
			out_lit(o, "null");
	}
	if (diff) {
		out_lit(o, ",\"before\":");
		if (ev->before)
			out_json(o, ev->before, 0);
		else
			out_lit(o, "null");
	}
	if (ev->has_updated)
		out_hlc(o, ",\"updated\":", sizeof(",\"updated\":") - 1, ev->updated);
	if (ev->has_mvcc)
		out_hlc(o, ",\"mvcc_timestamp\":",
			sizeof(",\"mvcc_timestamp\":") - 1, ev->mvcc_timestamp);
	out_lit(o, "}\n");
}

struct line *line_new_row(const char *feed, const crdb_event *ev, bool diff,
			  char *errbuf, size_t errlen)
{
	struct out o = { .p = scratch, .cap = scratch_cap, .precision = 15 };
	const char *table = ev->table ? ev->table : "";
	size_t table_len = strlen(table) + 1;
	struct line *line = NULL;

	/* dump_flags(): the fewest digits with which every real reads back. */
	do {
		out_row(&o, feed, ev, diff);
	} while (!o.failed && o.precision_low && ++o.precision <= 17);
	if (!o.failed && sizeof(*line) + o.len + table_len > o.len) {
		line = malloc(sizeof(*line) + o.len + table_len);
		if (line) {
			memcpy(line->data, o.p, o.len);
			line->len = o.len;
			line->refs = 1;
			line->kind = LINE_ROW;
			line->op = ev->op;
			line->seq = 0;
			memcpy(line->data + o.len, table, table_len);
			line->table = line->data + o.len;
		}
	}
	if (o.cap > SCRATCH_KEEP) {
		free(o.p);
		o.p = NULL;
		o.cap = 0;
	}
	scratch = o.p;
	scratch_cap = o.cap;
	if (line)
		return line;
	/* The reference encoder names the problem (or fails the same way). */
	return line_new_row_json(feed, ev, diff, errbuf, errlen);
}

/*
 * The direct path: a wrapped data row straight from the wire bytes to its
 * line, without building the event's jansson values at all. It takes only
 * rows whose every part it can prove the general path (crdb_event_decode()
 * then line_new_row()) would accept and write the same way:
 *   - envelope wrapped, key and value in binary format (raw JSON text);
 *   - JSON without escapes in strings (they pass through unchanged; UTF-8
 *     is validated), integers in canonical form that fit int64 (no reals:
 *     their digits depend on the whole line), at most 64 levels and 64
 *     members per object (duplicate keys are looked for);
 *   - an ASCII table name.
 * Anything else, malformed input included, returns NULL and the caller
 * takes the general path, which decodes, refuses or falls back as before.
 */
#define RAW_MAX_DEPTH 64
#define RAW_MAX_MEMBERS 64
#define RAW_MAX_BYTES ((size_t)64 << 20)

struct raw {
	const char *s;
	size_t len, pos;
	struct out *o; /* NULL: validate only */
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
		i = skip_plain(s, i, r->len);
		if (i >= r->len)
			return false;
		if (s[i] == '"')
			break;
		if (s[i] < 0x20 || s[i] == '\\')
			return false;
		if (s[i] >= 0x80) {
			size_t k = utf8_seq(s + i, r->len - i);

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

/* A canonical int64 integer (what the decoder keeps as an integer and
 * jansson prints back as the same digits). */
static bool raw_integer(struct raw *r)
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
	if (digits == 0 || digits > 19 ||
	    (digits > 1 && r->s[start + neg] == '0') ||
	    (neg && digits == 1 && r->s[start + 1] == '0'))
		return false;
	/* Reals and anything the decoder would read as part of a number. */
	if (i < r->len && (r->s[i] == '.' || r->s[i] == 'e' || r->s[i] == 'E' ||
			   r->s[i] == '+' || r->s[i] == '-'))
		return false;
	if (digits == 19) {
		const char *max = neg ? "9223372036854775808" : "9223372036854775807";

		if (memcmp(r->s + start + neg, max, 19) > 0)
			return false;
	}
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
		return raw_integer(r);
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
static bool raw_json(const char *s, size_t len, struct out *o)
{
	struct raw r = { .s = s, .len = len, .o = o };

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

/*
 * The wrapped value's top level, in one pass: "after" (and with diff
 * "before", which must follow it, as CockroachDB writes them) go to the
 * output as they are read; every other member is validated; the HLC
 * strings are noted for the end of the line.
 */
static bool raw_wrapped(const char *s, size_t len, bool diff, struct out *o,
			struct wrapped *w)
{
	static const char *const names[4] = { "after", "before", "updated",
					       "mvcc_timestamp" };
	static const size_t name_lens[4] = { 5, 6, 7, 14 };
	struct raw r = { .s = s, .len = len };
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
		for (int i = 0; i < 4; i++)
			if (name_lens[i] == n && s[start] == names[i][0] &&
			    memcmp(names[i], s + start, n) == 0)
				which = i;
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
 * Is s exactly crdb_hlc_format()'s output: a wall time without leading
 * zeros that fits int64, '.', ten digits of a logical that fits int32?
 * Then parsing and formatting again would give the same bytes.
 */
static bool hlc_canonical(const char *s, size_t len)
{
	size_t wall = len - 11;

	if (len < 12 || len > 30 || s[wall] != '.' ||
	    (wall > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < wall; i++)
		if ((unsigned char)(s[i] - '0') > 9)
			return false;
	for (size_t i = wall + 1; i < len; i++)
		if ((unsigned char)(s[i] - '0') > 9)
			return false;
	return (wall < 19 || (wall == 19 && memcmp(s, "9223372036854775807", 19) <= 0)) &&
	       memcmp(s + wall + 1, "2147483647", 10) <= 0;
}

/* An HLC member: parsed as the decoder does, written canonically. */
static bool raw_hlc(struct out *o, const char *name, size_t name_len,
		    const char *s, const struct span *span)
{
	crdb_hlc hlc;

	/* span->len is the contents' length plus one, so that an empty
	 * string still counts as present. */
	if (hlc_canonical(s + span->start, span->len - 1)) {
		out_mem(o, name, name_len);
		out_mem(o, s + span->start - 1, span->len + 1);
		return true;
	}
	if (crdb_hlc_parse(s + span->start, span->len - 1, &hlc, NULL) < 0)
		return false;
	out_hlc(o, name, name_len, hlc);
	return true;
}

struct line *line_new_row_raw(const char *feed, const char *table,
			      size_t table_len, const char *key, size_t key_len,
			      const char *value, size_t value_len,
			      const crdb_decode_opts *opts)
{
	struct wrapped w = { 0 };
	struct out o = { .p = scratch, .cap = scratch_cap, .precision = 15 };
	struct line *line = NULL;
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
	if (i == key_len || key[i] != '[' || !raw_json(key, key_len, &o))
		o.failed = true;
	/* Every op of a wrapped row has six letters: written once known. */
	out_lit(&o, ",\"op\":\"");
	op_at = o.len;
	out_lit(&o, "??????\"");
	if (!o.failed && (!raw_wrapped(value, value_len, opts->diff, &o, &w) ||
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
	    !raw_hlc(&o, ",\"updated\":", sizeof(",\"updated\":") - 1, value, &w.updated))
		o.failed = true;
	if (!o.failed && w.mvcc.len &&
	    !raw_hlc(&o, ",\"mvcc_timestamp\":", sizeof(",\"mvcc_timestamp\":") - 1,
		     value, &w.mvcc))
		o.failed = true;
	if (!o.failed)
		out_lit(&o, "}\n");
	if (!o.failed)
		line = malloc(sizeof(*line) + o.len + table_len + 1);
	if (line) {
		memcpy(line->data, o.p, o.len);
		line->len = o.len;
		line->refs = 1;
		line->kind = LINE_ROW;
		line->op = op;
		line->seq = 0;
		memcpy(line->data + o.len, table, table_len);
		line->data[o.len + table_len] = '\0';
		line->table = line->data + o.len;
	}
	if (o.cap > SCRATCH_KEEP) {
		free(o.p);
		o.p = NULL;
		o.cap = 0;
	}
	scratch = o.p;
	scratch_cap = o.cap;
	return line;
}

struct line *line_new_row_direct(const char *feed, const PGresult *res,
				 const crdb_decode_opts *opts)
{
	static const char *const names[3] = { "table", "key", "value" };
	static const Oid oids[3] = { 25, 17, 17 };
	ExecStatusType st = PQresultStatus(res);

	if ((st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) ||
	    PQntuples(res) != 1 || PQnfields(res) != 3)
		return NULL;
	for (int i = 0; i < 3; i++) {
		const char *name = PQfname(res, i);

		if (!name || strcmp(name, names[i]) != 0 || PQftype(res, i) != oids[i] ||
		    PQgetisnull(res, 0, i) || (i > 0 && PQfformat(res, i) != 1))
			return NULL;
	}
	return line_new_row_raw(feed, PQgetvalue(res, 0, 0),
				(size_t)PQgetlength(res, 0, 0), PQgetvalue(res, 0, 1),
				(size_t)PQgetlength(res, 0, 1), PQgetvalue(res, 0, 2),
				(size_t)PQgetlength(res, 0, 2), opts);
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
