/*
 * numeric.c: numbers from the server (int2/4/8, oid, float4/8, numeric, in
 * text and binary) to jansson values by the rule in types.c's header, and
 * the number tests the JSON reader shares: RFC 8259 syntax, int64 range,
 * and "does a double hold this decimal exactly" (shortest round trip, ties
 * excluded as PostgreSQL's output excludes them).
 */
#include "config.h"

#include "crdb_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* A decimal number reduced to its significant digits: value is
 * 0.digits * 10^exp. ndigits counts all of them, only the first
 * DEC_MAXDIGITS are kept (more can never be exact as a double). */
#define DEC_MAXDIGITS 24

struct decimal {
	bool neg;
	int ndigits;
	long exp;
	char digits[DEC_MAXDIGITS];
};

/* Parse [-+]digits[.digits][(e|E)[-+]digits]; false if not that. */
static bool decimal_parse(const char *s, size_t len, struct decimal *d)
{
	size_t i = 0;
	long point = 0; /* digits before the point, leading zeros dropped */
	int total = 0;  /* significant digits seen, trailing zeros included */
	bool any = false, seen_point = false, started = false;

	memset(d, 0, sizeof *d);
	if (i < len && (s[i] == '-' || s[i] == '+'))
		d->neg = s[i++] == '-';
	for (; i < len; i++) {
		char c = s[i];
		if (c == '.' && !seen_point) {
			seen_point = true;
			continue;
		}
		if (c < '0' || c > '9')
			break;
		any = true;
		if (!started && c == '0') {
			if (seen_point)
				point--;
			continue;
		}
		started = true;
		if (total < DEC_MAXDIGITS)
			d->digits[total] = c;
		if (total < INT32_MAX)
			total++;
		if (c != '0')
			d->ndigits = total;
		if (!seen_point && point < 100000000)
			point++;
	}
	if (!any)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		bool eneg = false, edig = false;
		long e = 0;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			edig = true;
			if (e < 100000000)
				e = e * 10 + (s[i] - '0');
		}
		if (!edig)
			return false;
		point += eneg ? -e : e;
	}
	if (i != len)
		return false;
	d->exp = point;
	if (d->ndigits == 0) {
		d->neg = false;
		d->exp = 0;
	}
	return true;
}

static bool decimal_equal(const struct decimal *a, const struct decimal *b)
{
	return a->neg == b->neg && a->ndigits == b->ndigits &&
	       a->exp == b->exp && a->ndigits <= DEC_MAXDIGITS &&
	       memcmp(a->digits, b->digits, (size_t)a->ndigits) == 0;
}

/*
 * Does text (a "%.*e" form that reads back as d) reach d only by a tie,
 * exactly halfway to a neighbour? PostgreSQL's shortest output (Ryu) does
 * not use such forms. A tie is told apart by nudging the decimal by a
 * tiny amount (10^-10 of its last digit) both ways: off a midpoint both
 * nudges still read as d, on one they fall on different doubles. This
 * needs no long double (valgrind computes those as doubles) and no libm.
 */
static bool double_tie(const char *text)
{
	char up[64], down[64];
	const char *e = strchr(text, 'e');
	size_t mant = e ? (size_t)(e - text) : strlen(text);
	size_t i;

	if (mant + 12 + strlen(text + mant) >= sizeof up ||
	    strtod(text, NULL) == 0)
		return false;
	snprintf(up, sizeof up, "%.*s0000000001%s", (int)mant, text,
		 text + mant);
	memcpy(down, text, mant);
	/* The decimal minus one unit of its last digit, then 9s. */
	for (i = mant; i-- > 0;) {
		if (down[i] == '.' || down[i] == '-' || down[i] == '+')
			continue;
		if (down[i] > '0') {
			down[i]--;
			break;
		}
		down[i] = '9';
	}
	snprintf(down + mant, sizeof down - mant, "9999999999%s", text + mant);
	return strtod(up, NULL) != strtod(down, NULL);
}

/* The shortest "%.*e" form of d that reads back as d without a tie. */
static void shortest_double(double d, char *buf, size_t size)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d && !double_tie(buf))
			return;
	}
}

/*
 * The same for a float4, as PostgreSQL prints it: a form that reaches f
 * only by a tie (exactly halfway to a neighbour, rounded to even) does
 * not count, so -123587024 is "-1.23587024e+08", not "-1.2358702e+08"
 * (which, read as a double for JSON, would be a different number).
 */
static float float_step(float f, int step)
{
	union { float f; uint32_t u; } v = { .f = f };

	v.u += (uint32_t)step; /* the next magnitude up or down (f != 0) */
	return v.f;
}

static void shortest_float(float f, char *buf, size_t size)
{
	double up, down;

	if (f == 0) {
		snprintf(buf, size, "%.1g", (double)f);
		return;
	}
	/* Midpoints to the neighbours, exact in a double (no libm needed). */
	up = ((double)f + (double)float_step(f, 1)) / 2;
	down = ((double)f + (double)float_step(f, -1)) / 2;
	for (int prec = 1; prec <= 9; prec++) {
		double c;

		snprintf(buf, size, "%.*g", prec, (double)f);
		if (strtof(buf, NULL) != f)
			continue;
		c = strtod(buf, NULL);
		if (c != up && c != down)
			return;
	}
}

/* Does the decimal text s have a double that holds it exactly? */
bool crdb__decimal_exact_double(const char *s, size_t len, double *out)
{
	struct decimal in, back;
	char buf[48], canon[64];
	double d;

	if (!decimal_parse(s, len, &in) || in.ndigits > 17)
		return false;
	if (in.ndigits == 0) { /* zero, keeping the sign of -0 */
		*out = len && s[0] == '-' ? -0.0 : 0.0;
		return true;
	}
	/* strtod wants a bounded NUL-terminated string: 0.<digits>e<exp> */
	snprintf(canon, sizeof canon, "%s0.%.*se%ld", in.neg ? "-" : "",
		 in.ndigits, in.digits, in.exp);
	d = strtod(canon, NULL);
	if (!isfinite(d))
		return false;
	/*
	 * The shortest form of d equals the input exactly when d printed
	 * with the input's digit count gives the input back and one digit
	 * fewer no longer reads back as d, or only by a tie (shorter forms
	 * exist only then). The input itself may be a tie form: Go's
	 * shortest output, which CockroachDB uses, allows them.
	 */
	snprintf(buf, sizeof buf, "%.*e", in.ndigits - 1, d);
	if (!decimal_parse(buf, strlen(buf), &back) ||
	    !decimal_equal(&in, &back))
		return false;
	if (in.ndigits > 1) {
		snprintf(buf, sizeof buf, "%.*e", in.ndigits - 2, d);
		if (strtod(buf, NULL) == d && !double_tie(buf))
			return false;
	}
	*out = d;
	return true;
}

/* Is tok exactly a JSON number (RFC 8259 grammar)? */
bool crdb__json_number_syntax(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return false;
	if (i < len && s[i] == '.') {
		size_t start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t start;
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	return i == len;
}

/* Does the integer text s fit json_int_t? */
bool crdb__integer_text(const char *s, size_t len, json_int_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0, limit;

	if (i < len && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i == len)
		return false;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned dig = (unsigned)(s[i] - '0');
		if (v > (limit - dig) / 10)
			return false;
		v = v * 10 + dig;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return true;
}

/* A float or numeric from its text form, by the rule in the file header. */
json_t *crdb__number_from_text(const crdb_type_info *ti, const char *s,
				size_t len, crdb_error *err)
{
	struct decimal d;
	double v;
	json_t *j;

	if ((len == 3 && memcmp(s, "NaN", 3) == 0) ||
	    (len == 8 && memcmp(s, "Infinity", 8) == 0) ||
	    (len == 9 && memcmp(s, "-Infinity", 9) == 0))
		return crdb__new_string(s, len, err);
	if (!decimal_parse(s, len, &d))
		return crdb__proto(err, ti, "not a number");
	if (crdb__decimal_exact_double(s, len, &v))
		j = json_real(v);
	else
		j = json_stringn_nocheck(s, len);
	return j ? j : crdb__oom(err);
}

json_t *crdb__integer_from_text(const crdb_type_info *ti, const char *s,
				 size_t len, json_int_t min, json_int_t max,
				 crdb_error *err)
{
	json_int_t v;
	json_t *j;

	if (!crdb__integer_text(s, len, &v) || v < min || v > max)
		return crdb__proto(err, ti, "not an integer in range");
	j = json_integer(v);
	return j ? j : crdb__oom(err);
}

/*
 * Binary numeric: int16 ndigits, int16 weight, uint16 sign, int16 dscale,
 * then ndigits base-10000 digits. Rendered like PostgreSQL's
 * get_str_from_var(), then converted as text.
 */
json_t *crdb__numeric_from_binary(const crdb_type_info *ti,
				   const unsigned char *p, size_t len,
				   crdb_error *err)
{
	int ndigits, weight, dscale;
	unsigned sign;
	char *buf, *out;
	size_t size;
	json_t *j;

	if (len < 8)
		return crdb__proto(err, ti, "binary numeric shorter than its header");
	ndigits = (int16_t)crdb__rd16(p);
	weight = (int16_t)crdb__rd16(p + 2);
	sign = crdb__rd16(p + 4);
	dscale = (int16_t)crdb__rd16(p + 6);
	if (ndigits < 0 || dscale < 0 || len != 8 + 2 * (size_t)ndigits)
		return crdb__proto(err, ti, "binary numeric length mismatch");
	if (sign == 0xc000)
		return crdb__new_cstring("NaN", err);
	if (sign == 0xd000)
		return crdb__new_cstring("Infinity", err);
	if (sign == 0xf000)
		return crdb__new_cstring("-Infinity", err);
	if (sign != 0 && sign != 0x4000)
		return crdb__proto(err, ti, "bad binary numeric sign");
	for (int i = 0; i < ndigits; i++)
		if (crdb__rd16(p + 8 + 2 * i) >= 10000)
			return crdb__proto(err, ti, "binary numeric digit >= 10000");

	size = 4 * (size_t)(weight >= 0 ? weight + 1 : 1) + (size_t)dscale + 8;
	buf = crdb__malloc(size);
	if (!buf)
		return crdb__oom(err);
	out = buf;
	if (sign == 0x4000)
		*out++ = '-';
	if (weight < 0) {
		*out++ = '0';
	} else {
		for (int d = 0; d <= weight; d++) {
			unsigned dig = d < ndigits ? crdb__rd16(p + 8 + 2 * d) : 0;
			if (d == 0)
				out += sprintf(out, "%u", dig);
			else
				out += sprintf(out, "%04u", dig);
		}
	}
	if (dscale > 0) {
		int d = weight + 1, written = 0;
		*out++ = '.';
		while (written < dscale) {
			unsigned dig = d >= 0 && d < ndigits ?
				crdb__rd16(p + 8 + 2 * d) : 0;
			char four[12];
			snprintf(four, sizeof four, "%04u", dig);
			for (int k = 0; k < 4 && written < dscale; k++) {
				*out++ = four[k];
				written++;
			}
			d++;
		}
	}
	*out = '\0';
	j = crdb__number_from_text(ti, buf, (size_t)(out - buf), err);
	crdb__free(buf);
	return j;
}

json_t *crdb__float_from_binary(const crdb_type_info *ti,
				 const unsigned char *p, size_t len,
				 bool is_float4, crdb_error *err)
{
	char buf[48] = "";
	double d;

	if (is_float4) {
		union { uint32_t u; float f; } v;
		if (len != 4)
			return crdb__proto(err, ti, "binary float4 is not 4 bytes");
		v.u = crdb__rd32(p);
		d = v.f;
		if (isfinite(d))
			shortest_float(v.f, buf, sizeof buf);
	} else {
		union { uint64_t u; double f; } v;
		if (len != 8)
			return crdb__proto(err, ti, "binary float8 is not 8 bytes");
		v.u = crdb__rd64(p);
		d = v.f;
		if (isfinite(d))
			shortest_double(d, buf, sizeof buf);
	}
	if (isnan(d))
		return crdb__new_cstring("NaN", err);
	if (isinf(d))
		return crdb__new_cstring(d > 0 ? "Infinity" : "-Infinity", err);
	return crdb__number_from_text(ti, buf, strlen(buf), err);
}

