/*
 * render_types.c: one column value as CockroachDB's JSON renders it, by
 * PostgreSQL type name: numbers through apd-like decimals (exact digits,
 * Go's float formatting), timestamps, bytes, arrays, jsonb and the types
 * that pass PostgreSQL's text through (see render.c for the sources).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render_int.h"

/* ---- numbers as apd decimals -------------------------------------------- */

/*
 * Write a decimal given as sign, coefficient digits and exponent the way
 * apd's Decimal.Text('G') does (plain unless exponent > 0 or the adjusted
 * exponent is below -6; then d.ddddE+n).
 */
static void put_apd(struct sbuf *sb, bool neg, const char *digits,
		    size_t ndigits, long exponent)
{
	/* strip leading zeros of the coefficient, keep at least one digit */
	while (ndigits > 1 && digits[0] == '0') {
		digits++;
		ndigits--;
	}
	if (neg)
		sb_putc(sb, '-');
	long adj = exponent + (long)ndigits - 1;
	if (exponent <= 0 && adj >= -6) {
		if (exponent < 0) {
			long left = -exponent - (long)ndigits;
			if (left >= 0) {
				sb_puts(sb, "0.");
				for (long i = 0; i < left; i++)
					sb_putc(sb, '0');
				sb_putn(sb, digits, ndigits);
			} else {
				size_t off = (size_t)-left;
				sb_putn(sb, digits, off);
				sb_putc(sb, '.');
				sb_putn(sb, digits + off, ndigits - off);
			}
		} else {
			sb_putn(sb, digits, ndigits);
		}
		return;
	}
	char e[32];
	sb_putc(sb, digits[0]);
	if (ndigits > 1) {
		sb_putc(sb, '.');
		sb_putn(sb, digits + 1, ndigits - 1);
	}
	snprintf(e, sizeof e, "E%c%ld", adj < 0 ? '-' : '+', adj < 0 ? -adj : adj);
	sb_puts(sb, e);
}

/* A non-finite number: CockroachDB quotes it. */
static bool put_nonfinite(struct sbuf *sb, const char *s, size_t n)
{
	static const struct { const char *in, *out; } names[] = {
		{ "NaN", "\"NaN\"" }, { "Infinity", "\"Infinity\"" },
		{ "+Infinity", "\"Infinity\"" }, { "-Infinity", "\"-Infinity\"" },
		{ "inf", "\"Infinity\"" }, { "-inf", "\"-Infinity\"" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strlen(names[i].in) == n && strncasecmp(names[i].in, s, n) == 0) {
			sb_puts(sb, names[i].out);
			return true;
		}
	}
	return false;
}

/* Decimal text (PostgreSQL numeric or JSON number) -> apd rendering.
 * Returns false when the text is not a number. */
bool render_put_decimal_text(struct sbuf *sb, const char *s, size_t n)
{
	char digits[1024];
	size_t nd = 0, i = 0;
	bool neg = false, any = false;
	long exponent = 0;

	if (put_nonfinite(sb, s, n))
		return true;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = true)
		if (nd < sizeof digits)
			digits[nd++] = s[i];
		else
			exponent++;
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = true)
			if (nd < sizeof digits) {
				digits[nd++] = s[i];
				exponent--;
			}
	}
	if (!any)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		char *end;
		char ebuf[32];
		size_t el = n - i - 1;
		if (el == 0 || el >= sizeof ebuf)
			return false;
		memcpy(ebuf, s + i + 1, el);
		ebuf[el] = '\0';
		errno = 0;
		long e = strtol(ebuf, &end, 10);
		if (*end || errno)
			return false;
		exponent += e;
		i = n;
	}
	if (i != n)
		return false;
	put_apd(sb, neg, digits, nd, exponent);
	return true;
}

/* A float64 as apd.SetFloat64 (Go's shortest 'E' form) then Text('G'). */
static void put_float(struct sbuf *sb, double d)
{
	char buf[64];
	if (isnan(d)) {
		sb_puts(sb, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		sb_puts(sb, d < 0 ? "\"-Infinity\"" : "\"Infinity\"");
		return;
	}
	for (int prec = 0; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* buf is [-]d[.ddd]e[+-]xx: gather the digits and the exponent. */
	char digits[32];
	size_t nd = 0;
	const char *p = buf;
	bool neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	long e10 = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
	/* trailing zeros: Go's shortest form never has them (except "0") */
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	put_apd(sb, neg, digits, nd, e10 - (long)(nd - 1));
}

/* ---- per-type rendering -------------------------------------------------- */

enum coltype {
	T_TEXT, T_BOOL, T_INT, T_FLOAT4, T_FLOAT8, T_NUMERIC, T_BYTEA, T_TIMESTAMP,
	T_TIMESTAMPTZ, T_JSONB,
};

/* The base type of a wal2json type name: "numeric(10,2)" -> numeric,
 * "character varying(10)" -> text. Unknown names (enums, uuid, inet, date,
 * time, interval, bit, ...) render as strings of their text form. */
static enum coltype classify(const char *name, size_t n)
{
	static const struct { const char *name; enum coltype t; } map[] = {
		{ "boolean", T_BOOL }, { "bool", T_BOOL },
		{ "smallint", T_INT }, { "integer", T_INT }, { "bigint", T_INT },
		{ "int2", T_INT }, { "int4", T_INT }, { "int8", T_INT },
		{ "real", T_FLOAT4 }, { "float4", T_FLOAT4 },
		{ "double precision", T_FLOAT8 }, { "float8", T_FLOAT8 },
		{ "numeric", T_NUMERIC }, { "decimal", T_NUMERIC },
		{ "bytea", T_BYTEA },
		{ "timestamp without time zone", T_TIMESTAMP },
		{ "timestamp", T_TIMESTAMP },
		{ "timestamp with time zone", T_TIMESTAMPTZ },
		{ "timestamptz", T_TIMESTAMPTZ },
		{ "jsonb", T_JSONB }, { "json", T_JSONB },
	};
	char base[128];
	size_t bl = 0;
	/* drop a "(...)" modifier wherever it is ("timestamp(3) with time zone") */
	for (size_t i = 0; i < n && bl < sizeof base - 1; i++) {
		if (name[i] == '(') {
			while (i < n && name[i] != ')')
				i++;
			continue;
		}
		base[bl++] = name[i];
	}
	while (bl && base[bl - 1] == ' ')
		bl--;
	base[bl] = '\0';
	/* "timestamp with time zone" comes with the modifier in the middle */
	char *dbl = strstr(base, "  ");
	if (dbl)
		memmove(dbl, dbl + 1, strlen(dbl));
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(base, map[i].name) == 0)
			return map[i].t;
	return T_TEXT;
}

/* Days from 0000-03-01 based civil date (proleptic Gregorian, astronomical
 * years): Howard Hinnant's days_from_civil. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long yy = (long long)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

struct pgts {
	long long year;       /* astronomical */
	unsigned mon, day, hour, min, sec;
	char frac[16];        /* digits after the point, no trailing zeros */
	bool has_zone;
	long zone_sec;        /* offset east of UTC */
};

/* PostgreSQL ISO output: "YYYY-MM-DD HH:MM:SS[.f][+-HH[:MM[:SS]]][ BC]". */
static bool parse_pgts(const char *s, size_t n, struct pgts *t)
{
	char buf[80];
	if (n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(t, 0, sizeof *t);
	bool bc = n > 3 && strcmp(buf + n - 3, " BC") == 0;
	if (bc)
		buf[n - 3] = '\0';
	char *p = buf, *end;
	t->year = strtoll(p, &end, 10);
	if (end == p || *end != '-')
		return false;
	p = end + 1;
	if (sscanf(p, "%2u-%2u %2u:%2u:%2u", &t->mon, &t->day, &t->hour,
		   &t->min, &t->sec) != 5)
		return false;
	p += 14;
	if (*p == '.') {
		size_t k = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (k < sizeof t->frac - 1)
				t->frac[k++] = *p;
		while (k && t->frac[k - 1] == '0')
			k--;
		t->frac[k] = '\0';
	}
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		unsigned hh = 0, mm = 0, ss = 0;
		int got = sscanf(p + 1, "%2u:%2u:%2u", &hh, &mm, &ss);
		if (got < 1)
			return false;
		t->has_zone = true;
		t->zone_sec = sign * (long)(hh * 3600 + mm * 60 + ss);
		p += 1 + (got >= 1 ? 2 : 0) + (got >= 2 ? 3 : 0) + (got >= 3 ? 3 : 0);
	}
	if (*p)
		return false;
	if (bc)
		t->year = 1 - t->year;
	return true;
}

/* Go's year formatting for "2006": at least 4 digits, '-' for negative. */
static void put_go_date_time(struct sbuf *sb, const struct pgts *t)
{
	char b[96];
	long long y = t->year;
	snprintf(b, sizeof b, "%s%04lld-%02u-%02uT%02u:%02u:%02u%s%s",
		 y < 0 ? "-" : "", y < 0 ? -y : y, t->mon, t->day, t->hour,
		 t->min, t->sec, t->frac[0] ? "." : "", t->frac);
	sb_puts(sb, b);
}

static void put_timestamp(struct sbuf *sb, const char *s, size_t n, bool tz)
{
	struct pgts t;
	if (!parse_pgts(s, n, &t) || t.has_zone != tz) {
		render_put_json_string(sb, s, n); /* infinity and the like */
		return;
	}
	if (tz && t.zone_sec) {
		long long days = days_from_civil(t.year, t.mon, t.day);
		long long secs = days * 86400 + t.hour * 3600 + t.min * 60 + t.sec -
				 t.zone_sec;
		long long d = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
		long long rem = secs - d * 86400;
		civil_from_days(d, &t.year, &t.mon, &t.day);
		t.hour = (unsigned)(rem / 3600);
		t.min = (unsigned)(rem / 60 % 60);
		t.sec = (unsigned)(rem % 60);
	}
	sb_putc(sb, '"');
	put_go_date_time(sb, &t);
	if (tz)
		sb_putc(sb, 'Z');
	sb_putc(sb, '"');
}

static void put_bytea(struct sbuf *sb, const char *s, size_t n)
{
	/* wal2json drops the \x of bytea's hex output; array elements keep it */
	struct sbuf tmp = { 0 };
	if (!(n >= 2 && s[0] == '\\' && s[1] == 'x'))
		sb_puts(&tmp, "\\x");
	sb_putn(&tmp, s, n);
	if (tmp.oom) {
		sb->oom = true;
	} else {
		render_put_json_string(sb, tmp.p ? tmp.p : "", tmp.len);
	}
	free(tmp.p);
}

static int put_array(struct sbuf *sb, enum coltype elem, const char *s, size_t n);

/* One value given as PostgreSQL text. */
static int put_text_value(struct sbuf *sb, enum coltype t, const char *s, size_t n)
{
	switch (t) {
	case T_BOOL:
		sb_puts(sb, n && (s[0] == 't' || s[0] == 'T') ? "true" : "false");
		return 0;
	case T_INT:
	case T_NUMERIC:
		if (!render_put_decimal_text(sb, s, n))
			return -1;
		return 0;
	case T_FLOAT4:
	case T_FLOAT8: {
		char buf[64];
		if (put_nonfinite(sb, s, n))
			return 0;
		if (n >= sizeof buf)
			return -1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		char *end;
		double d = t == T_FLOAT4 ? (double)strtof(buf, &end) : strtod(buf, &end);
		if (end == buf || *end)
			return -1;
		put_float(sb, d);
		return 0;
	}
	case T_BYTEA:
		put_bytea(sb, s, n);
		return 0;
	case T_TIMESTAMP:
	case T_TIMESTAMPTZ:
		put_timestamp(sb, s, n, t == T_TIMESTAMPTZ);
		return 0;
	case T_JSONB: {
		struct jnode *j = render_jparse(s, n);
		if (!j)
			return -1;
		render_put_jnode(sb, j);
		render_jnode_free(j);
		return 0;
	}
	case T_TEXT:
		render_put_json_string(sb, s, n);
		return 0;
	}
	return -1;
}

/* A PostgreSQL array literal ({1,NULL,"a b"}) as a JSON array. */
static int put_array(struct sbuf *sb, enum coltype elem, const char *s, size_t n)
{
	size_t i = 0;
	struct sbuf item = { 0 };
	int rc = -1;

	/* optional dimension decoration "[1:2]={...}" */
	if (n && s[0] == '[') {
		const char *eq = memchr(s, '=', n);
		if (!eq)
			return -1;
		i = (size_t)(eq - s) + 1;
	}
	if (i >= n || s[i] != '{')
		return -1;
	i++;
	sb_putc(sb, '[');
	bool first = true;
	while (i < n && s[i] != '}') {
		if (!first)
			sb_puts(sb, ", ");
		first = false;
		if (s[i] == '{') {
			/* nested array: find the matching brace */
			size_t start = i, depth = 0;
			bool inq = false;
			for (; i < n; i++) {
				if (inq) {
					if (s[i] == '\\')
						i++;
					else if (s[i] == '"')
						inq = false;
				} else if (s[i] == '"') {
					inq = true;
				} else if (s[i] == '{') {
					depth++;
				} else if (s[i] == '}' && --depth == 0) {
					i++;
					break;
				}
			}
			if (put_array(sb, elem, s + start, i - start) < 0)
				goto out;
		} else if (s[i] == '"') {
			item.len = 0;
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				sb_putc(&item, s[i]);
			}
			if (i >= n)
				goto out;
			i++;
			if (put_text_value(sb, elem, item.p ? item.p : "", item.len) < 0)
				goto out;
		} else {
			size_t start = i;
			while (i < n && s[i] != ',' && s[i] != '}')
				i++;
			if (i - start == 4 && strncasecmp(s + start, "NULL", 4) == 0)
				sb_puts(sb, "null");
			else if (put_text_value(sb, elem, s + start, i - start) < 0)
				goto out;
		}
		if (i < n && s[i] == ',')
			i++;
	}
	if (i >= n)
		goto out;
	sb_putc(sb, ']');
	rc = item.oom ? -1 : 0;
out:
	free(item.p);
	return rc;
}

/* One column value as wal2json gave it. */
int render_put_column(struct sbuf *sb, const char *type, const json_t *value)
{
	size_t tl = strlen(type);
	bool is_array = tl > 2 && strcmp(type + tl - 2, "[]") == 0;
	enum coltype t;

	if (is_array)
		t = classify(type, tl - 2);
	else if (type[0] == '_')  /* raw array type names (_int4) */
		t = classify(type + 1, tl - 1), is_array = true;
	else
		t = classify(type, tl);

	if (!value || json_is_null(value)) {
		sb_puts(sb, "null");
		return 0;
	}
	if (is_array) {
		if (!json_is_string(value))
			return -1;
		return put_array(sb, t, json_string_value(value),
				 json_string_length(value));
	}
	if (json_is_true(value) || json_is_false(value)) {
		sb_puts(sb, json_is_true(value) ? "true" : "false");
		return 0;
	}
	if (json_is_integer(value)) {
		char buf[32];
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(value));
		if (t == T_TEXT || t == T_BYTEA || t == T_TIMESTAMP ||
		    t == T_TIMESTAMPTZ) /* oid and friends: a string (§5) */
			render_put_json_string(sb, buf, strlen(buf));
		else if (t == T_FLOAT4 || t == T_FLOAT8) /* 100 -> 1E+2 */
			put_float(sb, (double)json_integer_value(value));
		else
			sb_puts(sb, buf);
		return 0;
	}
	if (json_is_real(value)) {
		put_float(sb, json_real_value(value));
		return 0;
	}
	if (json_is_string(value))
		return put_text_value(sb, t, json_string_value(value),
				      json_string_length(value));
	return -1;
}
