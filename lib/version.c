/*
 * version.c: crdb_version parsing (§6.1, §6.2).
 *
 * psycopg reads the server version from the crdb_version parameter status
 * with the first match of the regex \bv(\d+)\.(\d+)\.(\d+) and computes
 * major*10000 + minor*100 + patch. This file does the same by hand: the
 * 'v' must start a word (the previous byte is not a word character), each
 * number is greedy and a failed candidate lets the scan go on to the next
 * 'v'. Digits are ASCII only; bytes >= 0x80 count as word characters, since
 * in a UTF-8 version string they are letters far more often than not.
 * Arithmetic is checked: a version that does not fit an int is an error,
 * where Python would simply produce a big integer.
 */
#include "config.h"

#include "crdb_internal.h"

#include <limits.h>
#include <stdbool.h>

/* How much of an unparsable input the error message quotes. */
#define VERSION_QUOTE_MAX 64

static bool is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Read a run of ASCII digits at *p into *out, advancing *p. Returns false
 * when there is no digit; sets *overflow when the value passes INT_MAX (the
 * run is still consumed, so the regex match itself is unaffected).
 */
static bool read_number(const char **p, long long *out, bool *overflow)
{
	const char *s = *p;
	long long v = 0;

	if (!is_digit((unsigned char)*s))
		return false;
	for (; is_digit((unsigned char)*s); s++) {
		if (v <= INT_MAX)
			v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			*overflow = true;
	}
	*p = s;
	*out = v;
	return true;
}

/* Try the regex at s (which points at a 'v' that starts a word). */
static bool match_at(const char *s, long long parts[3], bool *overflow)
{
	const char *p = s + 1;

	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			if (*p != '.')
				return false;
			p++;
		}
		if (!read_number(&p, &parts[i], overflow))
			return false;
	}
	return true;
}

int crdb_parse_version(const char *crdb_version, int *version_out,
		       crdb_error *err)
{
	if (!crdb_version || !*crdb_version)
		return crdb__fail(err, CRDB_EINVAL,
				  "'crdb_version' parameter status not set");
	if (!version_out)
		return crdb__fail(err, CRDB_EINVAL, "version_out is NULL");

	for (const char *s = crdb_version; *s; s++) {
		long long parts[3];
		bool overflow = false;

		if (*s != 'v')
			continue;
		if (s > crdb_version && is_word_byte((unsigned char)s[-1]))
			continue;
		if (!match_at(s, parts, &overflow))
			continue;
		/* The first match decides, as re.search does: an overflow
		 * there is an error, not a reason to look further. */
		long long v = overflow ? (long long)INT_MAX + 1 :
			      parts[0] * 10000 + parts[1] * 100 + parts[2];
		if (v > INT_MAX)
			return crdb__fail(err, CRDB_EINVAL,
					  "CockroachDB version out of range in: '%.*s'",
					  VERSION_QUOTE_MAX, crdb_version);
		*version_out = (int)v;
		return 0;
	}
	return crdb__fail(err, CRDB_EINVAL,
			  "couldn't parse CockroachDB version from: '%.*s'",
			  VERSION_QUOTE_MAX, crdb_version);
}
