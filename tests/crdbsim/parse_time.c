/*
 * parse_time.c: the times in crdbsim's changefeed statements: Go
 * durations (resolved, min_checkpoint_frequency and the other duration
 * options) and the cursor / end_time timestamps (TIMESTAMP text, decimal
 * HLC, or an interval relative to now).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse_int.h"

/*
 * Durations and intervals are summed exactly in 128-bit nanoseconds (no
 * floating point: valgrind runs long double at double precision, and a
 * cursor must not move by a few hundred ns).
 */
typedef __int128 ns128;
#define NS128_CAP ((ns128)1 << 120)

/* A decimal number ("12", "1.5", ".5") at *pp times unit ns, exactly (the
 * fraction truncated to whole ns, as Go does). False without digits. */
static bool scaled_number(const char **pp, int64_t unit, ns128 *out)
{
	const char *p = *pp;
	ns128 ip = 0, num = 0, den = 1;
	const ns128 ip_cap = (ns128)100000000000000000LL * 1000; /* 1e20 */
	bool digits = false;

	for (; *p >= '0' && *p <= '9'; p++, digits = true)
		if (ip < ip_cap)
			ip = ip * 10 + (*p - '0');
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true) {
			if (den < (ns128)1000000000000000000LL) {
				num = num * 10 + (*p - '0');
				den *= 10;
			}
		}
	}
	if (!digits)
		return false;
	*pp = p;
	*out = ip * unit + num * unit / den;
	return true;
}

static void add_capped(ns128 *total, ns128 v)
{
	*total += v;
	if (*total > NS128_CAP)
		*total = NS128_CAP;
	else if (*total < -NS128_CAP)
		*total = -NS128_CAP;
}

/* Go's time.ParseDuration, to nanoseconds. */
int parse_go_duration(const char *s, int64_t *out, char *msg, size_t msglen)
{
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
		{ "ms", 1000000 }, { "s", NS_PER_SEC }, { "m", 60 * NS_PER_SEC },
		{ "h", 3600 * NS_PER_SEC },
	};
	const char *p = s;
	bool neg = false;
	ns128 total = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*p)
		goto invalid;
	while (*p) {
		const char *num = p;
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			goto invalid;
		while ((*p >= '0' && *p <= '9') || *p == '.')
			p++;
		const char *u = p;
		while (*p && *p != '.' && (*p < '0' || *p > '9'))
			p++;
		if (u == p) {
			snprintf(msg, msglen, "time: missing unit in duration \"%s\"", s);
			return -1;
		}
		size_t ul = (size_t)(p - u);
		size_t k;
		for (k = 0; k < sizeof units / sizeof units[0]; k++)
			if (strlen(units[k].unit) == ul && !strncmp(units[k].unit, u, ul))
				break;
		if (k == sizeof units / sizeof units[0]) {
			snprintf(msg, msglen, "time: unknown unit \"%.*s\" in duration \"%s\"",
				 (int)ul, u, s);
			return -1;
		}
		ns128 v;
		const char *q = num;
		if (!scaled_number(&q, units[k].ns, &v) || q != u)
			goto invalid;
		add_capped(&total, v);
		if (total > INT64_MAX)
			goto invalid;
	}
	*out = (int64_t)(neg ? -total : total);
	return 0;
invalid:
	snprintf(msg, msglen, "time: invalid duration \"%s\"", s);
	return -1;
}

/* ---- timestamps (cursor, end_time) -------------------------------------- */

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* TIMESTAMP / TIMESTAMPTZ text: YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z|+-HH[:MM]] */
static bool parse_ts_text(const char *s, int64_t *wall)
{
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;
	int used = 0;
	long long frac_ns = 0;
	long zone = 0;

	if (sscanf(s, "%4u-%2u-%2u%n", &y, &mo, &d, &used) != 3 || used != 10)
		return false;
	s += used;
	if (*s == ' ' || *s == 'T' || *s == 't') {
		int u2 = 0;
		if (sscanf(s + 1, "%2u:%2u%n", &h, &mi, &u2) != 2 || u2 != 5)
			return false;
		s += 1 + u2;
		if (*s == ':') {
			if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
				return false;
			sec = (unsigned)((s[1] - '0') * 10 + (s[2] - '0'));
			s += 3;
			if (*s == '.') {
				long long scale = 100000000;
				for (s++; isdigit((unsigned char)*s); s++) {
					frac_ns += (*s - '0') * scale;
					scale /= 10;
				}
			}
		}
	}
	while (*s == ' ')
		s++;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1;
		unsigned zh = 0, zm = 0;
		int u3 = 0;
		if (sscanf(s + 1, "%2u%n", &zh, &u3) != 1)
			return false;
		s += 1 + u3;
		if (*s == ':')
			s++;
		if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1])) {
			zm = (unsigned)((s[0] - '0') * 10 + (s[1] - '0'));
			s += 2;
		}
		zone = sign * (long)(zh * 3600 + zm * 60);
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60)
		return false;
	long long secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - zone;
	/* beyond int64 nanoseconds (after 2262): saturate, which the
	 * callers then refuse as a future (or pre-1970) timestamp */
	if (secs >= INT64_MAX / NS_PER_SEC)
		*wall = INT64_MAX;
	else if (secs <= INT64_MIN / NS_PER_SEC)
		*wall = INT64_MIN;
	else
		*wall = (int64_t)(secs * NS_PER_SEC + frac_ns);
	return true;
}

/* Decimal HLC "wall[.logical]" (logical at most 10 digits). 1 ok, 0 not a
 * decimal, -1 error set. */
static int parse_decimal_hlc(const char *s, struct sim_hlc *out,
			     struct simfeed_error *err)
{
	const char *p = s;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!isdigit((unsigned char)*p))
		return 0;
	long long wall = 0;
	for (; isdigit((unsigned char)*p); p++) {
		if (wall > (INT64_MAX - 9) / 10)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED,
					  "AS OF SYSTEM TIME: value out of range: %s", s);
		wall = wall * 10 + (*p - '0');
	}
	long long logical = 0;
	if (*p == '.') {
		int nd = 0;
		for (p++; isdigit((unsigned char)*p); p++, nd++)
			if (nd < 10)
				logical = logical * 10 + (*p - '0');
		if (nd > 10)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED,
					  "AS OF SYSTEM TIME: logical part has too many digits");
		for (; nd < 10; nd++)
			logical *= 10;
	}
	if (*p)
		return 0;
	if (logical > INT32_MAX)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "AS OF SYSTEM TIME: logical part too large: %s", s);
	if (neg && (wall || logical))
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "AS OF SYSTEM TIME: timestamp before 1970-01-01T00:00:00Z is invalid");
	if (!wall && !logical)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "AS OF SYSTEM TIME: zero timestamp is invalid");
	out->wall = wall;
	out->logical = (int32_t)logical;
	return 1;
}

/*
 * An interval in CockroachDB/PostgreSQL input syntax: "-10s", "-5 minutes",
 * "-1h30m", "-00:00:10", "-1 day 02:00:00". Months count 30 days and years
 * 365.25 days (CockroachDB adds them on the calendar; a cursor months back
 * is beyond any GC TTL anyway). Returns false when it is not one.
 */
static bool parse_interval(const char *s, ns128 *ns)
{
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "microseconds", 1000 }, { "microsecond", 1000 }, { "usecs", 1000 },
		{ "usec", 1000 }, { "us", 1000 },
		{ "milliseconds", 1000000 }, { "millisecond", 1000000 },
		{ "msecs", 1000000 }, { "msec", 1000000 }, { "ms", 1000000 },
		{ "seconds", NS_PER_SEC }, { "second", NS_PER_SEC },
		{ "secs", NS_PER_SEC }, { "sec", NS_PER_SEC }, { "s", NS_PER_SEC },
		{ "minutes", 60 * NS_PER_SEC }, { "minute", 60 * NS_PER_SEC },
		{ "mins", 60 * NS_PER_SEC }, { "min", 60 * NS_PER_SEC },
		{ "m", 60 * NS_PER_SEC },
		{ "hours", 3600 * NS_PER_SEC }, { "hour", 3600 * NS_PER_SEC },
		{ "hrs", 3600 * NS_PER_SEC }, { "hr", 3600 * NS_PER_SEC },
		{ "h", 3600 * NS_PER_SEC },
		{ "days", 86400 * NS_PER_SEC }, { "day", 86400 * NS_PER_SEC },
		{ "d", 86400 * NS_PER_SEC },
		{ "weeks", 604800 * NS_PER_SEC }, { "week", 604800 * NS_PER_SEC },
		{ "w", 604800 * NS_PER_SEC },
		{ "months", 2592000 * NS_PER_SEC }, { "month", 2592000 * NS_PER_SEC },
		{ "mons", 2592000 * NS_PER_SEC }, { "mon", 2592000 * NS_PER_SEC },
		{ "years", 31557600 * NS_PER_SEC }, { "year", 31557600 * NS_PER_SEC },
		{ "yrs", 31557600 * NS_PER_SEC }, { "yr", 31557600 * NS_PER_SEC },
		{ "y", 31557600 * NS_PER_SEC },
	};
	const char *p = s;
	ns128 total = 0;
	bool any = false;

	/* each field carries its own sign, as in PostgreSQL */
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		int sign = 1;
		if (*p == '-' || *p == '+') {
			sign = *p == '-' ? -1 : 1;
			p++;
		}
		/* hh:mm[:ss[.f]] */
		const char *q = p;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == ':' && q > p) {
			ns128 hh, mm, ss = 0;
			if (!scaled_number(&p, 3600 * NS_PER_SEC, &hh) || *p != ':')
				return false;
			p++;
			q = p;
			while (isdigit((unsigned char)*q))
				q++;
			if (q == p || *q == '.' || !scaled_number(&p, 60 * NS_PER_SEC, &mm))
				return false;
			if (*p == ':') {
				p++;
				if (!scaled_number(&p, NS_PER_SEC, &ss))
					return false;
			}
			add_capped(&total, sign * (hh + mm + ss));
			any = true;
			continue;
		}
		const char *num = p;
		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
		if (p == num)
			return false;
		const char *num_end = p;
		while (*p == ' ')
			p++;
		const char *u = p;
		while (isalpha((unsigned char)*p))
			p++;
		size_t ul = (size_t)(p - u);
		if (ul == 0)
			return false; /* a bare number is a decimal, not here */
		size_t k;
		for (k = 0; k < sizeof units / sizeof units[0]; k++)
			if (strlen(units[k].unit) == ul && !strncasecmp(units[k].unit, u, ul))
				break;
		if (k == sizeof units / sizeof units[0])
			return false;
		ns128 v;
		if (!scaled_number(&num, units[k].ns, &v) || num != num_end)
			return false;
		add_capped(&total, sign * v);
		any = true;
	}
	if (!any)
		return false;
	*ns = total;
	return true;
}

int sim_parse_timestamp(const char *text, int64_t now_ns, struct sim_hlc *out,
			struct simfeed_error *err)
{
	int64_t wall;
	ns128 iv;

	if (!text)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED,
				  "AS OF SYSTEM TIME: value is neither timestamp, decimal, nor interval");
	while (*text == ' ')
		text++;
	/* 1. TIMESTAMP / TIMESTAMPTZ text */
	if (parse_ts_text(text, &wall)) {
		if (wall < 0)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED,
					  "AS OF SYSTEM TIME: timestamp before 1970-01-01T00:00:00Z is invalid");
		if (wall == 0)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED,
					  "AS OF SYSTEM TIME: zero timestamp is invalid");
		out->wall = wall;
		out->logical = 0;
		return 0;
	}
	/* 2. decimal: wall.logical, or bare integer nanoseconds */
	int r = parse_decimal_hlc(text, out, err);
	if (r < 0)
		return -1;
	if (r > 0)
		return 0;
	/* 3. interval, relative to now */
	if (parse_interval(text, &iv)) {
		if (iv == 0)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED,
					  "AS OF SYSTEM TIME: interval value '%s' too small, must be <= -1\xc2\xb5s",
					  text);
		ns128 w = (ns128)now_ns + iv;
		out->wall = w >= INT64_MAX ? INT64_MAX : w <= INT64_MIN ? INT64_MIN :
			    (int64_t)w;
		out->logical = 0;
		if (out->wall <= 0)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED,
					  "AS OF SYSTEM TIME: timestamp before 1970-01-01T00:00:00Z is invalid");
		return 0;
	}
	return parse_fail(err, SQLSTATE_UNCATEGORIZED,
			  "AS OF SYSTEM TIME: value is neither timestamp, decimal, nor interval");
}

