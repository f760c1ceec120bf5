/*
 * encode_fast.c: the fast row encoder, crdb_event to its line. It writes
 * the same bytes as the reference (line_new_row_json() in line.c: compact
 * separators, members in insertion order, strings escaped as jansson does
 * without JSON_ENSURE_ASCII, integers in decimal, reals by jsonp_dtostr()
 * with the line's precision, numbers kept by number_text with their own
 * digits) straight into one reusable buffer, then copies them into the
 * line: one allocation per row instead of a jansson object per member and
 * two dump passes. What it cannot write (invalid UTF-8, ENOMEM) falls back
 * to the reference, which then says what was wrong.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "encode_out.h"

#include "crdb_scan.h"
#include "line_arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kept between rows; a buffer grown by a huge row is given back. */
static char *scratch;
static size_t scratch_cap;
#define SCRATCH_KEEP (1u << 20)

void out_begin(struct out *o)
{
	o->p = scratch;
	o->cap = scratch_cap;
	o->len = 0;
	o->precision = 15;
	o->precision_low = false;
	o->failed = false;
}

void out_end(struct out *o)
{
	if (o->cap > SCRATCH_KEEP) {
		free(o->p);
		o->p = NULL;
		o->cap = 0;
	}
	scratch = o->p;
	scratch_cap = o->cap;
}

bool out_grow(struct out *o, size_t more)
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

struct line *out_line(const struct out *o, crdb_op op, const char *table,
		      size_t table_len)
{
	struct line *line;

	if (o->failed)
		return NULL;
	line = line_arena_new(LINE_ROW, op, table, table_len, o->len);
	if (line)
		memcpy(line->data, o->p, o->len);
	return line;
}

/* A JSON string as jansson's dump_string() writes it (no flags). */
void out_string(struct out *o, const char *str, size_t len)
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
			size_t plain = crdb_scan_plain_end(s, i, len);

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
			size_t n = crdb_scan_utf8_seq(s + i, len - i);

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
char *u64_digits(uint64_t v, char *end)
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
	case JSON_STRING: {
		size_t digits;
		const char *number = crdb_json_number_text(json, &digits);

		/* A number kept with its digits (crdb_decode_opts.number_text). */
		if (number)
			out_mem(o, number, digits);
		else
			out_string(o, json_string_value(json),
				   json_string_length(json));
		break;
	}
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
void out_hlc(struct out *o, const char *name, size_t name_len,
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
	const char *table = ev->table ? ev->table : "";
	struct line *line = NULL;
	struct out o;

	out_begin(&o);
	/* dump_flags(): the fewest digits with which every real reads back. */
	do {
		out_row(&o, feed, ev, diff);
	} while (!o.failed && o.precision_low && ++o.precision <= 17);
	line = out_line(&o, ev->op, table, strlen(table));
	out_end(&o);
	/* The reference encoder names the problem (or fails the same way). */
	if (!line)
		line = line_new_row_json(feed, ev, diff, errbuf, errlen);
	if (line && ev->has_updated)
		line->updated = ev->updated;
	return line;
}
