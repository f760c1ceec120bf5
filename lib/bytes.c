/*
 * bytes.c: the helpers every value converter uses to make a JSON string or
 * report a malformed value, and the byte-like types: bytea (text hex or
 * escape format, binary) and binary uuid.
 */
#include "config.h"

#include "crdb_internal.h"

#include "crdb_scan.h"

#include <stdio.h>
#include <string.h>
json_t *crdb__new_string(const char *s, size_t len, crdb_error *err)
{
	json_t *j;

	if (!crdb_scan_utf8_valid((const unsigned char *)s, len)) {
		crdb__fail(err, CRDB_EPROTO, "value is not valid UTF-8");
		return NULL;
	}
	j = json_stringn_nocheck(s, len);
	if (!j)
		crdb__fail(err, CRDB_ENOMEM, "out of memory");
	return j;
}

json_t *crdb__new_cstring(const char *s, crdb_error *err)
{
	return crdb__new_string(s, strlen(s), err);
}

json_t *crdb__oom(crdb_error *err)
{
	crdb__fail(err, CRDB_ENOMEM, "out of memory");
	return NULL;
}

json_t *crdb__proto(crdb_error *err, const crdb_type_info *ti,
		     const char *what)
{
	crdb__fail(err, CRDB_EPROTO, "malformed %s value: %s", ti->name, what);
	return NULL;
}

static const char hexdigits[] = "0123456789abcdef";

json_t *crdb__hex_string(const unsigned char *p, size_t len,
			  crdb_error *err)
{
	char *buf;
	json_t *j;

	if (len > (SIZE_MAX - 3) / 2)
		return crdb__oom(err);
	buf = crdb__malloc(2 * len + 3);
	if (!buf)
		return crdb__oom(err);
	buf[0] = '\\';
	buf[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		buf[2 + 2 * i] = hexdigits[p[i] >> 4];
		buf[3 + 2 * i] = hexdigits[p[i] & 15];
	}
	j = json_stringn_nocheck(buf, 2 * len + 2);
	crdb__free(buf);
	return j ? j : crdb__oom(err);
}

int crdb__hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Text bytea: hex ("\x0a0b") or the old escape format ("a\\\001"). */
json_t *crdb__bytea_from_text(const crdb_type_info *ti, const char *s,
			       size_t len, crdb_error *err)
{
	unsigned char *buf;
	size_t n = 0;
	json_t *j;

	buf = crdb__malloc(len);
	if (!buf)
		return crdb__oom(err);
	if (len >= 2 && s[0] == '\\' && s[1] == 'x') {
		if ((len - 2) % 2) {
			crdb__free(buf);
			return crdb__proto(err, ti, "odd number of hex digits");
		}
		for (size_t i = 2; i < len; i += 2) {
			int hi = crdb__hexval(s[i]), lo = crdb__hexval(s[i + 1]);
			if (hi < 0 || lo < 0) {
				crdb__free(buf);
				return crdb__proto(err, ti, "invalid hex digit");
			}
			buf[n++] = (unsigned char)(hi << 4 | lo);
		}
	} else {
		for (size_t i = 0; i < len; i++) {
			if (s[i] != '\\') {
				buf[n++] = (unsigned char)s[i];
			} else if (i + 1 < len && s[i + 1] == '\\') {
				buf[n++] = '\\';
				i++;
			} else if (i + 3 < len && s[i + 1] >= '0' &&
				   s[i + 1] <= '3' && s[i + 2] >= '0' &&
				   s[i + 2] <= '7' && s[i + 3] >= '0' &&
				   s[i + 3] <= '7') {
				buf[n++] = (unsigned char)((s[i + 1] - '0') * 64 +
					(s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
				i += 3;
			} else {
				crdb__free(buf);
				return crdb__proto(err, ti, "invalid escape");
			}
		}
	}
	j = crdb__hex_string(buf, n, err);
	crdb__free(buf);
	return j;
}

json_t *crdb__uuid_from_binary(const crdb_type_info *ti,
				const unsigned char *p, size_t len,
				crdb_error *err)
{
	char buf[37], *o = buf;

	if (len != 16)
		return crdb__proto(err, ti, "binary uuid is not 16 bytes");
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hexdigits[p[i] >> 4];
		*o++ = hexdigits[p[i] & 15];
	}
	*o = '\0';
	return crdb__new_cstring(buf, err);
}

