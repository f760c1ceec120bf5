/*
 * conf_value.c: configuration values from text: booleans, durations,
 * sizes, file modes, enums, comma separated lists, ${VAR} expansion, user
 * and group names, loopback listen addresses; and back to text for the
 * dump. Pure functions of their input (and of the environment and the
 * user database where they say so).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf_internal.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


bool conf_buf_add(struct conf_buf *b, const char *s, size_t len)
{
	if (len > (SIZE_MAX / 4) - b->len)
		return false; /* also keeps cap's doubling from overflowing */
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p)
			return false;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
	return true;
}

int conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* "1500ms", "10s", "1m30s", "2h", "0": a sum of <digits><unit>. */
int conf_parse_duration(const char *s, int64_t *out_ms)
{
	if (strcmp(s, "0") == 0) {
		*out_ms = 0;
		return 0;
	}
	int64_t total = 0;
	const char *p = s;
	if (!*p)
		return -1;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -1;
		int64_t n = 0;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p - '0');
			if (n > CFG_DURATION_MAX_MS)
				return -1;
			p++;
		}
		int64_t unit;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60 * 1000;
			p++;
		} else if (*p == 'h') {
			unit = 3600 * 1000;
			p++;
		} else {
			return -1;
		}
		if (n > CFG_DURATION_MAX_MS / unit)
			return -1;
		total += n * unit;
		if (total > CFG_DURATION_MAX_MS)
			return -1;
	}
	*out_ms = total;
	return 0;
}

/* "65536", "64k", "1M", "1G" (1024 based). */
int conf_parse_size(const char *s, size_t *out)
{
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	uint64_t n = 0;
	while (isdigit((unsigned char)*p)) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > CFG_SIZE_MAX)
			return -1;
		p++;
	}
	uint64_t unit = 1;
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		unit = 1024;
		break;
	case 'm': case 'M':
		unit = 1024 * 1024;
		break;
	case 'g': case 'G':
		unit = 1024 * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (*p && p[1])
		return -1;
	if (n > CFG_SIZE_MAX / unit)
		return -1;
	*out = (size_t)(n * unit);
	return 0;
}

int conf_parse_mode(const char *s, mode_t *out)
{
	unsigned v = 0;
	if (!*s || strlen(s) > 4)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		v = v * 8 + (unsigned)(*p - '0');
	}
	if (v > 0777)
		return -1;
	*out = (mode_t)v;
	return 0;
}

/* Index of s among "a|b|c" (any case, as the server takes them), or -1. */
int conf_parse_enum(const char *s, const char *values)
{
	int i = 0;
	const char *p = values;
	size_t len = strlen(s);
	while (*p) {
		size_t n = strcspn(p, "|");
		if (n == len && strncasecmp(p, s, n) == 0)
			return i;
		p += n;
		if (*p == '|')
			p++;
		i++;
	}
	return -1;
}

/* The canonical spelling of enum value i. */
void conf_enum_name(const char *values, int i, char *buf, size_t size)
{
	const char *p = values;
	for (; i > 0 && *p; i--)
		p += strcspn(p, "|") + (p[strcspn(p, "|")] == '|');
	snprintf(buf, size, "%.*s", (int)strcspn(p, "|"), p);
}

/*
 * Split a comma separated list, honouring '...' and "..." (so quoted
 * identifiers and option values may hold commas). Elements are trimmed.
 * Returns the element count, or -1 with *why set.
 */
ssize_t conf_split_list(struct loader *ld, const char *s, char ***out,
			  const char **why)
{
	char **items = NULL;
	size_t n = 0;
	const char *p = s;
	*out = NULL;
	*why = NULL;
	for (;;) {
		p = conf_skip_space(p);
		const char *start = p;
		char quote = 0;
		while (*p && (quote || *p != ',')) {
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '"' || *p == '\''))
				quote = *p;
			p++;
		}
		if (quote) {
			*why = "unterminated quote";
			goto fail;
		}
		size_t len = conf_trimmed_len(start, (size_t)(p - start));
		if (len == 0) {
			*why = "empty element";
			goto fail;
		}
		char **grown = realloc(items, (n + 1) * sizeof(*items));
		if (!grown) {
			conf_diag_oom(ld);
			goto fail;
		}
		items = grown;
		if (!(items[n] = conf_strndup(ld, start, len)))
			goto fail;
		n++;
		if (!*p)
			break;
		p++; /* the comma */
	}
	*out = items;
	return (ssize_t)n;
fail:
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
	return -1;
}

void conf_free_list(char **items, size_t n)
{
	for (size_t i = 0; items && i < n; i++)
		free(items[i]);
	free(items);
}

/*
 * Expand ${NAME} and ${NAME:-default} from the environment (dsn and
 * state_dir only). A `$` not followed by `{` is kept. Returns a new string,
 * or NULL with why set ("unset": the variable named in namebuf).
 */
char *conf_expand_env(struct loader *ld, const char *s, char *namebuf,
			size_t namesize, const char **why)
{
	struct conf_buf b = { 0 };
	const char *p = s;
	*why = NULL;
	while (*p) {
		const char *dollar = strstr(p, "${");
		if (!dollar) {
			if (!conf_buf_add(&b, p, strlen(p)))
				goto oom;
			break;
		}
		if (!conf_buf_add(&b, p, (size_t)(dollar - p)))
			goto oom;
		const char *name = dollar + 2;
		const char *close = strchr(name, '}');
		size_t len = 0;
		while (close && name + len < close &&
		       (isalnum((unsigned char)name[len]) || name[len] == '_'))
			len++;
		const char *fallback = NULL;
		if (close && name + len < close) {
			if (strncmp(name + len, ":-", 2) == 0)
				fallback = name + len + 2;
			else
				len = 0;
		}
		if (!close || len == 0 || len >= namesize ||
		    isdigit((unsigned char)name[0])) {
			*why = "malformed ${NAME} or ${NAME:-default}";
			goto fail;
		}
		memcpy(namebuf, name, len);
		namebuf[len] = '\0';
		const char *val = getenv(namebuf);
		size_t vlen = val ? strlen(val) : 0;
		if ((!val || !*val) && fallback) {
			val = fallback;
			vlen = (size_t)(close - fallback);
		}
		if (!val) {
			*why = "unset";
			goto fail;
		}
		if (!conf_buf_add(&b, val, vlen))
			goto oom;
		p = close + 1;
	}
	if (!b.s && !conf_buf_add(&b, "", 0))
		goto oom;
	return b.s;
oom:
	conf_diag_oom(ld);
fail:
	free(b.s);
	return NULL;
}

/* A user or group name in /etc/passwd or /etc/group (or NSS). 0 found,
 * 1 unknown, -1 lookup error (*err: its errno). */
int conf_lookup_id(const char *name, bool group, id_t *out, int *err)
{
	long hint = sysconf(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
	size_t size = hint > 0 && hint < 65536 ? (size_t)hint : 4096;
	for (;;) {
		char *buf = malloc(size);
		if (!buf) {
			*err = ENOMEM;
			return -1;
		}
		int rc;
		bool found;
		if (group) {
			struct group gr, *res = NULL;
			rc = getgrnam_r(name, &gr, buf, size, &res);
			found = rc == 0 && res;
			if (found)
				*out = (id_t)gr.gr_gid;
		} else {
			struct passwd pw, *res = NULL;
			rc = getpwnam_r(name, &pw, buf, size, &res);
			found = rc == 0 && res;
			if (found)
				*out = (id_t)pw.pw_uid;
		}
		free(buf);
		/* Bounded: no sane entry needs more than 1 MiB. */
		if (rc == ERANGE && size < ((size_t)1 << 20)) {
			size *= 2;
			continue;
		}
		if (found)
			return 0;
		/* Some NSS modules say "not found" with these. */
		if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF ||
		    rc == EPERM)
			return 1;
		*err = rc;
		return -1;
	}
}

int config_parse_listen(const char *text, char *host, size_t hostlen,
			uint16_t *port)
{
	static const struct {
		const char *prefix; /* up to and with the ':' before the port */
		const char *host;
	} loopback[] = {
		{ "127.0.0.1:", "127.0.0.1" },
		{ "[::1]:", "::1" },
		{ "localhost:", "localhost" },
	};
	if (!text)
		return -1;
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		size_t plen = strlen(loopback[i].prefix);
		if (strncmp(text, loopback[i].prefix, plen) != 0)
			continue;
		const char *digits = text + plen;
		size_t ndigits = strspn(digits, "0123456789");
		if (ndigits == 0 || ndigits > 5 || digits[ndigits] != '\0')
			return -1;
		unsigned long v = strtoul(digits, NULL, 10);
		if (v == 0 || v > 65535)
			return -1;
		if (host) {
			if (hostlen <= strlen(loopback[i].host))
				return -1;
			snprintf(host, hostlen, "%s", loopback[i].host);
		}
		if (port)
			*port = (uint16_t)v;
		return 0;
	}
	return -1;
}

void conf_format_duration(int64_t ms, char *buf, size_t size)
{
	if (ms == 0)
		snprintf(buf, size, "0");
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%" PRId64 "s", ms / 1000);
	else
		snprintf(buf, size, "%" PRId64 "ms", ms);
}


void conf_format_size(size_t bytes, char *buf, size_t size)
{
	static const char units[] = "GMk";
	for (int i = 0; i < 3; i++) {
		size_t unit = (size_t)1 << (10 * (3 - i));
		if (bytes >= unit && bytes % unit == 0) {
			snprintf(buf, size, "%zu%c", bytes / unit, units[i]);
			return;
		}
	}
	snprintf(buf, size, "%zu", bytes);
}
