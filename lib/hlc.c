/*
 * hlc.c: HLC timestamps (§4.4, §4.5): parse, format, compare, and RFC 3339
 * to HLC for cursors.
 *
 * Decimal form. CockroachDB writes an HLC as "<wall ns>.<logical>" with the
 * logical counter in exactly 10 digits ("1.0000000002" is wall 1, logical
 * 2); that is what crdb_hlc_format() produces. On input CockroachDB reads a
 * cursor as a decimal number (DecimalToHLC): the fraction is multiplied by
 * 10^10, so "123.5" means logical 5000000000 (too large for the int32
 * counter) and "1.2" means logical 2000000000, not 2. crdb_hlc_parse()
 * follows that decimal meaning so that a value it accepts means the same to
 * us and to the server:
 *   - 1 to 10 fraction digits, right-padded with zeros to 10 digits;
 *   - more than 10 fraction digits are refused (CockroachDB would refuse
 *     any that are not zeros, and the canonical form never has them);
 *   - a logical part above INT32_MAX is refused;
 *   - a bare integer is wall nanoseconds with logical 0;
 *   - no sign, no spaces, no empty part ("1.", ".5"), no trailing bytes;
 *     leading zeros are accepted, as a decimal allows them.
 *
 * RFC 3339. "YYYY-MM-DD[Tt ]hh:mm:ss[.fraction](Z|z|+hh:mm|-hh:mm)" with 1
 * to 9 fraction digits. The date is converted with a days-from-civil
 * computation (proleptic Gregorian), never through the C library's time
 * zone machinery. Second 60 (a leap second) is refused: an HLC counts
 * Unix nanoseconds, which have no leap seconds. Times before the epoch and
 * after int64 nanoseconds (2262-04-11T23:47:16.854775807Z) are refused.
 */
#include "config.h"

#include "crdb_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define LOGICAL_DIGITS 10
#define WALL_SAFE_DIGITS 18
#define NS_PER_SEC INT64_C(1000000000)

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Bounded copy of untrusted input for an error message. */
#define QUOTE_MAX 48
#define QUOTE(s, len) (int)((len) < QUOTE_MAX ? (len) : QUOTE_MAX), (s)

int crdb_hlc_parse(const char *s, size_t len, crdb_hlc *out, crdb_error *err)
{
	size_t i = 0;
	int64_t wall = 0;
	int64_t logical = 0;

	if (!s || !out)
		return crdb__fail(err, CRDB_EINVAL, "HLC timestamp is NULL");
	if (len == 0)
		return crdb__fail(err, CRDB_EINVAL, "HLC timestamp is empty");

	for (; i < len && is_digit(s[i]); i++) {
		int d = s[i] - '0';
		/* 18 digits stay below 10^18 < INT64_MAX: only a longer
		 * number can overflow (every row carries an HLC or two). */
		if (i >= WALL_SAFE_DIGITS && wall > (INT64_MAX - d) / 10)
			return crdb__fail(err, CRDB_EINVAL,
					  "HLC wall time overflows int64 nanoseconds: '%.*s'",
					  QUOTE(s, len));
		wall = wall * 10 + d;
	}
	if (i == 0)
		return crdb__fail(err, CRDB_EINVAL,
				  "HLC timestamp must start with a digit: '%.*s'",
				  QUOTE(s, len));
	if (i < len) {
		if (s[i] != '.')
			return crdb__fail(err, CRDB_EINVAL,
					  "unexpected byte at offset %zu in HLC timestamp '%.*s'",
					  i, QUOTE(s, len));
		i++;
		size_t start = i;
		for (; i < len && is_digit(s[i]); i++) {
			if (i - start >= LOGICAL_DIGITS)
				return crdb__fail(err, CRDB_EINVAL,
						  "HLC logical part has more than %d digits: '%.*s'",
						  LOGICAL_DIGITS, QUOTE(s, len));
			logical = logical * 10 + (s[i] - '0');
		}
		if (i == start)
			return crdb__fail(err, CRDB_EINVAL,
					  "HLC logical part is empty: '%.*s'",
					  QUOTE(s, len));
		if (i < len)
			return crdb__fail(err, CRDB_EINVAL,
					  "unexpected byte at offset %zu in HLC timestamp '%.*s'",
					  i, QUOTE(s, len));
		/* A decimal fraction: pad to 10 digits (§4.5, DecimalToHLC). */
		for (size_t n = i - start; n < LOGICAL_DIGITS; n++)
			logical *= 10;
		if (logical > INT32_MAX)
			return crdb__fail(err, CRDB_EINVAL,
					  "HLC logical part too large: %" PRId64 " in '%.*s'",
					  logical, QUOTE(s, len));
	}
	out->wall = wall;
	out->logical = (int32_t)logical;
	return 0;
}

size_t crdb_hlc_format(crdb_hlc hlc, char buf[CRDB_HLC_BUFSIZE])
{
	int n = snprintf(buf, CRDB_HLC_BUFSIZE, "%" PRId64 ".%010" PRId32,
			 hlc.wall, hlc.logical);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	/* Only an HLC with both fields negative and extreme is truncated;
	 * such a value is not a timestamp anyway. */
	return (size_t)n < CRDB_HLC_BUFSIZE ? (size_t)n : CRDB_HLC_BUFSIZE - 1;
}

int crdb_hlc_compare(crdb_hlc a, crdb_hlc b)
{
	if (a.wall != b.wall)
		return a.wall < b.wall ? -1 : 1;
	if (a.logical != b.logical)
		return a.logical < b.logical ? -1 : 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* RFC 3339                                                            */
/* ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). m is 1..12, d is 1..31. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Read exactly n digits at s[*i]; false when one is missing. */
static int read_fixed(const char *s, size_t *i, int n, int *out)
{
	int v = 0;
	for (int k = 0; k < n; k++) {
		char c = s[*i];
		if (!is_digit(c))
			return 0;
		v = v * 10 + (c - '0');
		(*i)++;
	}
	*out = v;
	return 1;
}

static int expect(const char *s, size_t *i, char c)
{
	if (s[*i] != c)
		return 0;
	(*i)++;
	return 1;
}

#define RFC_FAIL(what) \
	crdb__fail(err, CRDB_EINVAL, "bad RFC 3339 time (%s): '%.*s'", what, \
		   QUOTE(s, strlen(s)))

int crdb_hlc_from_rfc3339(const char *s, crdb_hlc *out, crdb_error *err)
{
	size_t i = 0;
	int year, month, day, hour, minute, second;
	int64_t frac_ns = 0;
	int offset_sec = 0;

	if (!s || !out)
		return crdb__fail(err, CRDB_EINVAL, "RFC 3339 time is NULL");

	if (!read_fixed(s, &i, 4, &year) || !expect(s, &i, '-') ||
	    !read_fixed(s, &i, 2, &month) || !expect(s, &i, '-') ||
	    !read_fixed(s, &i, 2, &day))
		return RFC_FAIL("expected YYYY-MM-DD");
	if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
		return RFC_FAIL("expected 'T' or a space after the date");
	i++;
	if (!read_fixed(s, &i, 2, &hour) || !expect(s, &i, ':') ||
	    !read_fixed(s, &i, 2, &minute) || !expect(s, &i, ':') ||
	    !read_fixed(s, &i, 2, &second))
		return RFC_FAIL("expected hh:mm:ss");
	if (s[i] == '.') {
		int digits = 0;
		i++;
		for (; is_digit(s[i]); i++, digits++) {
			if (digits == 9)
				return RFC_FAIL("more than 9 fraction digits");
			frac_ns = frac_ns * 10 + (s[i] - '0');
		}
		if (digits == 0)
			return RFC_FAIL("empty fraction");
		for (; digits < 9; digits++)
			frac_ns *= 10;
	}
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		int sign = s[i] == '-' ? -1 : 1;
		int oh, om;
		i++;
		if (!read_fixed(s, &i, 2, &oh) || !expect(s, &i, ':') ||
		    !read_fixed(s, &i, 2, &om))
			return RFC_FAIL("expected an offset +hh:mm");
		if (oh > 23 || om > 59)
			return RFC_FAIL("offset out of range");
		offset_sec = sign * (oh * 3600 + om * 60);
	} else {
		return RFC_FAIL("expected 'Z' or an offset");
	}
	if (s[i] != '\0')
		return RFC_FAIL("trailing characters");

	if (month < 1 || month > 12)
		return RFC_FAIL("month out of range");
	if (day < 1 || day > days_in_month(year, month))
		return RFC_FAIL("day out of range");
	if (hour > 23)
		return RFC_FAIL("hour out of range");
	if (minute > 59)
		return RFC_FAIL("minute out of range");
	if (second > 59)
		return RFC_FAIL("second out of range");

	/* Years are 0..9999, so seconds stay far inside int64. */
	int64_t secs = days_from_civil(year, month, day) * 86400 +
		       hour * 3600 + minute * 60 + second - offset_sec;
	if (secs < 0)
		return RFC_FAIL("before 1970-01-01T00:00:00Z");
	if (secs > (INT64_MAX - frac_ns) / NS_PER_SEC)
		return RFC_FAIL("after the int64 nanosecond range");
	out->wall = secs * NS_PER_SEC + frac_ns;
	out->logical = 0;
	return 0;
}
