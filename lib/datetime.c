/*
 * datetime.c: binary date, time, timetz, timestamp, timestamptz and
 * interval values (microseconds and days since 2000-01-01) rendered as
 * PostgreSQL's text output with DateStyle ISO, IntervalStyle postgres and
 * TimeZone UTC.
 */
#include "config.h"

#include "crdb_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#define POSTGRES_EPOCH_JDATE 2451545
#define USECS_PER_DAY INT64_C(86400000000)
#define USECS_PER_HOUR INT64_C(3600000000)
#define USECS_PER_MINUTE INT64_C(60000000)
#define USECS_PER_SEC INT64_C(1000000)

/* PostgreSQL's j2date(). */
static void j2date(int64_t jd, int *year, int *month, int *day)
{
	unsigned int julian, quad, extra;
	int y;

	julian = (unsigned int)jd;
	julian += 32044;
	quad = julian / 146097;
	extra = (julian - quad * 146097) * 4 + 3;
	julian += 60 + quad * 3 + extra / 146097;
	quad = julian / 1461;
	julian -= quad * 1461;
	y = (int)(julian * 4 / 1461);
	julian = ((y != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366)) +
		 123;
	y += (int)(quad * 4);
	*year = y - 4800;
	quad = julian * 2141 / 65536;
	*day = (int)(julian - 7834 * quad / 256);
	*month = (int)((quad + 10) % 12 + 1);
}

/* "YYYY-MM-DD" into buf; *bc set for years <= 0. false if out of range. */
static bool format_date(int64_t days, char *buf, size_t size, bool *bc)
{
	int64_t jd = days + POSTGRES_EPOCH_JDATE;
	int y, m, d;

	if (jd < 0 || jd > INT32_MAX)
		return false;
	j2date(jd, &y, &m, &d);
	*bc = y <= 0;
	if (*bc)
		y = -(y - 1);
	snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
	return true;
}

/* "HH:MM:SS[.ffffff]" with trailing fraction zeros cut; hours unbounded. */
static void format_clock(uint64_t usecs, char *buf, size_t size)
{
	uint64_t hours = usecs / (uint64_t)USECS_PER_HOUR;
	unsigned min = (unsigned)(usecs / (uint64_t)USECS_PER_MINUTE % 60);
	unsigned sec = (unsigned)(usecs / (uint64_t)USECS_PER_SEC % 60);
	unsigned frac = (unsigned)(usecs % (uint64_t)USECS_PER_SEC);
	int n;

	n = snprintf(buf, size, "%02" PRIu64 ":%02u:%02u", hours, min, sec);
	if (frac && n > 0 && (size_t)n < size) {
		char f[8];
		int fl = 6;
		snprintf(f, sizeof f, "%06u", frac);
		while (fl > 0 && f[fl - 1] == '0')
			fl--;
		snprintf(buf + n, size - (size_t)n, ".%.*s", fl, f);
	}
}

json_t *crdb__date_from_binary(const crdb_type_info *ti,
				const unsigned char *p, size_t len,
				crdb_error *err)
{
	char buf[40];
	int32_t days;
	bool bc;

	if (len != 4)
		return crdb__proto(err, ti, "binary date is not 4 bytes");
	days = (int32_t)crdb__rd32(p);
	if (days == INT32_MAX)
		return crdb__new_cstring("infinity", err);
	if (days == INT32_MIN)
		return crdb__new_cstring("-infinity", err);
	if (!format_date(days, buf, sizeof buf - 3, &bc))
		return crdb__proto(err, ti, "date out of range");
	if (bc)
		strcat(buf, " BC");
	return crdb__new_cstring(buf, err);
}

json_t *crdb__time_from_binary(const crdb_type_info *ti,
				const unsigned char *p, size_t len, bool tz,
				crdb_error *err)
{
	char buf[64];
	int64_t usecs;

	if (len != (tz ? 12u : 8u))
		return crdb__proto(err, ti, "binary time has the wrong length");
	usecs = (int64_t)crdb__rd64(p);
	if (usecs < 0 || usecs > USECS_PER_DAY)
		return crdb__proto(err, ti, "time out of range");
	format_clock((uint64_t)usecs, buf, sizeof buf);
	if (tz) {
		/* Seconds west of UTC; printed as the offset east. */
		int32_t zone = (int32_t)crdb__rd32(p + 8), east;
		unsigned a;
		size_t n = strlen(buf);

		if (zone > 15 * 3600 + 59 * 60 + 59 ||
		    zone < -(15 * 3600 + 59 * 60 + 59))
			return crdb__proto(err, ti, "time zone out of range");
		east = -zone;
		a = (unsigned)(east < 0 ? -east : east);
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%c%02u",
				      east < 0 ? '-' : '+', a / 3600);
		if (a % 3600)
			n += (size_t)snprintf(buf + n, sizeof buf - n, ":%02u",
					      a / 60 % 60);
		if (a % 60)
			snprintf(buf + n, sizeof buf - n, ":%02u", a % 60);
	}
	return crdb__new_cstring(buf, err);
}

json_t *crdb__timestamp_from_binary(const crdb_type_info *ti,
				     const unsigned char *p, size_t len,
				     bool tz, crdb_error *err)
{
	char date[40], clock[40], buf[96];
	int64_t ts, days, rem;
	bool bc;

	if (len != 8)
		return crdb__proto(err, ti, "binary timestamp is not 8 bytes");
	ts = (int64_t)crdb__rd64(p);
	if (ts == INT64_MAX)
		return crdb__new_cstring("infinity", err);
	if (ts == INT64_MIN)
		return crdb__new_cstring("-infinity", err);
	days = ts / USECS_PER_DAY;
	rem = ts % USECS_PER_DAY;
	if (rem < 0) {
		rem += USECS_PER_DAY;
		days--;
	}
	if (!format_date(days, date, sizeof date, &bc))
		return crdb__proto(err, ti, "timestamp out of range");
	format_clock((uint64_t)rem, clock, sizeof clock);
	snprintf(buf, sizeof buf, "%s %s%s%s", date, clock, tz ? "+00" : "",
		 bc ? " BC" : "");
	return crdb__new_cstring(buf, err);
}

/* PostgreSQL's EncodeInterval() for IntervalStyle postgres. */
json_t *crdb__interval_from_binary(const crdb_type_info *ti,
				    const unsigned char *p, size_t len,
				    crdb_error *err)
{
	char buf[160];
	size_t n = 0;
	int64_t time;
	int32_t mday, months;
	bool is_zero = true, is_before = false;

	if (len != 16)
		return crdb__proto(err, ti, "binary interval is not 16 bytes");
	time = (int64_t)crdb__rd64(p);
	mday = (int32_t)crdb__rd32(p + 8);
	months = (int32_t)crdb__rd32(p + 12);
	if (time == INT64_MIN)
		return crdb__proto(err, ti, "interval out of range");

	const int32_t parts[3] = { months / 12, months % 12, mday };
	static const char *const units[3] = { "year", "mon", "day" };
	for (int i = 0; i < 3; i++) {
		if (parts[i] == 0)
			continue;
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%" PRId32
				      " %s%s", is_zero ? "" : " ",
				      is_before && parts[i] > 0 ? "+" : "",
				      parts[i], units[i],
				      parts[i] != 1 ? "s" : "");
		is_before = parts[i] < 0;
		is_zero = false;
	}
	if (is_zero || time != 0) {
		char clock[48];
		bool minus = time < 0;
		format_clock(minus ? (uint64_t)-time : (uint64_t)time, clock,
			     sizeof clock);
		snprintf(buf + n, sizeof buf - n, "%s%s%s", is_zero ? "" : " ",
			 minus ? "-" : (is_before ? "+" : ""), clock);
	}
	return crdb__new_cstring(buf, err);
}

