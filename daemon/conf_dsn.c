/*
 * conf_dsn.c: connection strings: masking their passwords for logs,
 * status and messages (textually, so it also works on strings libpq
 * refuses), checking them without quoting a password, and building the
 * conninfo a feed connects with (its DSN plus the password file and TLS
 * files of its section).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static bool dsn_is_uri(const char *dsn)
{
	return strncmp(dsn, "postgresql://", 13) == 0 ||
	       strncmp(dsn, "postgres://", 11) == 0;
}

/*
 * After a key=value password: words that are no "key =" (a password with
 * blanks, unquoted) belong to it, so they are masked too. Returns where
 * the next keyword starts (or the end).
 */
static const char *skip_stray_words(const char *p)
{
	for (;;) {
		const char *q = p;
		while (isspace((unsigned char)*q))
			q++;
		const char *word = q;
		while (*q && *q != '=' && !isspace((unsigned char)*q))
			q++;
		if (q == word)
			return p;
		const char *after = q;
		while (isspace((unsigned char)*after))
			after++;
		if (*after == '=')
			return p;
		p = q;
	}
}

/*
 * Copy dsn with every password written in it replaced by ***: the
 * user:password@ of a URI, its password= query parameter, or the password
 * keyword of a key=value string. Textual, so it also works on strings libpq
 * refuses. *found (may be NULL) receives the first password as written.
 */
char *conf_mask_dsn(const char *dsn, char **found)
{
	struct conf_buf b = { 0 };
	bool ok = true;
	if (found)
		*found = NULL;
	if (dsn_is_uri(dsn)) {
		/* dsn_is_uri: the scheme ends at the first "://" */
		size_t scheme_len = strncmp(dsn, "postgres://", 11) == 0 ? 11 : 13;
		const char *p = dsn + scheme_len;
		/* Indexes from p: the userinfo's last '@' and its first ':'. */
		size_t auth_len = strcspn(p, "/?"), at = SIZE_MAX, colon = SIZE_MAX;
		for (size_t i = 0; i < auth_len; i++)
			if (p[i] == '@')
				at = i;
		for (size_t i = 0; at != SIZE_MAX && i < at; i++)
			if (p[i] == ':') {
				colon = i;
				break;
			}
		if (colon != SIZE_MAX) {
			ok = conf_buf_add(&b, dsn, scheme_len + colon + 1) &&
			     conf_buf_add(&b, CFG_MASK, strlen(CFG_MASK));
			if (found && !*found)
				*found = strndup(p + colon + 1, at - colon - 1);
			p += at;
		} else {
			ok = conf_buf_add(&b, dsn, scheme_len);
		}
		/* The rest, masking ?password=... and &password=... */
		while (ok && *p) {
			const char *sep = p + strcspn(p, "?&");
			ok = conf_buf_add(&b, p, (size_t)(sep - p));
			if (!ok || !*sep)
				break;
			ok = conf_buf_add(&b, sep, 1);
			p = sep + 1;
			if (strncmp(p, "password=", 9) == 0) {
				size_t vlen = strcspn(p + 9, "&");
				if (found && !*found)
					*found = strndup(p + 9, vlen);
				ok = conf_buf_add(&b, p, 9) &&
				     conf_buf_add(&b, CFG_MASK, strlen(CFG_MASK));
				p += 9 + vlen;
			}
		}
	} else {
		/* key = value pairs; values bare or '...' with \ escapes */
		const char *p = dsn;
		while (ok && *p) {
			const char *start = p;
			while (isspace((unsigned char)*p))
				p++;
			const char *kw = p;
			while (*p && *p != '=' && !isspace((unsigned char)*p))
				p++;
			size_t kwlen = (size_t)(p - kw);
			while (isspace((unsigned char)*p))
				p++;
			if (*p != '=') {
				ok = conf_buf_add(&b, start, strlen(start));
				break;
			}
			p++;
			while (isspace((unsigned char)*p))
				p++;
			const char *val = p;
			if (*p == '\'') {
				p++;
				while (*p && *p != '\'') {
					if (*p == '\\' && p[1])
						p++;
					p++;
				}
				if (*p == '\'')
					p++;
			} else {
				while (*p && !isspace((unsigned char)*p))
					p++;
			}
			if (kwlen == 8 && strncmp(kw, "password", 8) == 0) {
				if (found && !*found) {
					const char *v = val, *e = p;
					if (*v == '\'') {
						v++;
						if (e > v && e[-1] == '\'')
							e--;
					}
					*found = strndup(v, (size_t)(e - v));
				}
				ok = conf_buf_add(&b, start, (size_t)(val - start)) &&
				     conf_buf_add(&b, CFG_MASK, strlen(CFG_MASK));
				p = skip_stray_words(p);
			} else {
				ok = conf_buf_add(&b, start, (size_t)(p - start));
			}
		}
	}
	if (ok && !b.s)
		ok = conf_buf_add(&b, "", 0);
	if (!ok) {
		free(b.s);
		if (found) {
			free(*found);
			*found = NULL;
		}
		return NULL;
	}
	return b.s;
}

char *config_dsn_mask(const char *dsn)
{
	if (!dsn)
		return NULL;
	char *found = NULL;
	char *masked = conf_mask_dsn(dsn, &found);
	if (!masked)
		return NULL;
	/* Belt and braces: if libpq sees a password our scan missed, and it
	 * is still in the text, show nothing of the DSN. */
	PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
	if (opts) {
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, "password") == 0 && o->val &&
			    o->val[0] && strstr(masked, o->val)) {
				free(masked);
				masked = strdup("(connection string hidden: it holds a password)");
				break;
			}
		PQconninfoFree(opts);
	}
	free(found);
	return masked;
}

/* Replace every occurrence of secret in text (of size bytes) by ***,
 * truncating if the result would not fit. */
static void mask_secret(char *text, size_t size, const char *secret)
{
	if (!secret || !*secret)
		return;
	char out[CFG_DIAG_LEN];
	size_t n = 0, slen = strlen(secret);
	const char *p = text;
	while (*p && n + 1 < sizeof(out)) {
		if (strncmp(p, secret, slen) == 0) {
			for (const char *m = CFG_MASK; *m && n + 1 < sizeof(out); m++)
				out[n++] = *m;
			p += slen;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	snprintf(text, size, "%s", out);
}

/*
 * libpq quotes the parts of a connection string it trips on, and these may
 * hold a password we could not find (a second one, one with blanks, the
 * whole URI). A "quoted" part of text is kept only when it is also in the
 * masked DSN (NULL: none is kept); otherwise it becomes "***".
 */
static void mask_quoted(char *text, size_t size, const char *masked)
{
	char out[CFG_DIAG_LEN];
	size_t n = 0;
	const char *p = text;
	while (*p && n + 1 < sizeof(out)) {
		const char *close = *p == '"' ? strchr(p + 1, '"') : NULL;
		if (!close) {
			out[n++] = *p++;
			continue;
		}
		size_t len = (size_t)(close - (p + 1));
		/* One punctuation character ("]", "=") is no secret. */
		bool keep = len == 1 && ispunct((unsigned char)p[1]);
		if (masked && len > 0 && !keep) {
			for (const char *m = masked; (m = strchr(m, p[1])); m++)
				if (strncmp(m, p + 1, len) == 0) {
					keep = true;
					break;
				}
		}
		const char *src = keep || len == 0 ? p : "\"" CFG_MASK "\"";
		size_t slen = keep || len == 0 ? len + 2 : strlen(CFG_MASK) + 2;
		for (size_t i = 0; i < slen && n + 1 < sizeof(out); i++)
			out[n++] = src[i];
		p = close + 1;
	}
	out[n] = '\0';
	snprintf(text, size, "%s", out);
}

int conf_dsn_check(const char *dsn, char *why, size_t size)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn, &errmsg);
	if (opts) {
		PQconninfoFree(opts);
		return 0;
	}
	char text[CFG_DIAG_LEN];
	snprintf(text, sizeof(text), "%s", errmsg ? errmsg : "out of memory");
	PQfreemem(errmsg);
	text[strcspn(text, "\n")] = '\0';
	char *found = NULL;
	char *masked = conf_mask_dsn(dsn, &found);
	mask_secret(text, sizeof(text), found);
	mask_quoted(text, sizeof(text), masked);
	free(found);
	free(masked);
	snprintf(why, size, "%s", text);
	return -1;
}

/* Append "key='value'" to buf, quoted as libpq's conninfo wants. */
static int conninfo_append(char **buf, size_t *len, size_t *cap,
			   const char *key, const char *value)
{
	size_t need = strlen(key) + 2 * strlen(value) + 8;
	char *p;

	if (*len + need >= *cap) {
		size_t ncap = (*cap + need) * 2;
		char *grown = realloc(*buf, ncap);

		if (!grown)
			return -1;
		*buf = grown;
		*cap = ncap;
	}
	p = *buf + *len;
	p += sprintf(p, "%s%s='", *len ? " " : "", key);
	for (const char *v = value; *v; v++) {
		if (*v == '\'' || *v == '\\')
			*p++ = '\\';
		*p++ = *v;
	}
	*p++ = '\'';
	*p = '\0';
	*len = (size_t)(p - *buf);
	return 0;
}

/* Read the first line of a password file (at most 1023 bytes). */
static int read_password(const char *path, char *buf, size_t len,
			 char *msg, size_t msglen)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(msg, msglen, "password file %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, len - 1, f);
	if (ferror(f)) {
		snprintf(msg, msglen, "password file %s: read error", path);
		fclose(f);
		explicit_bzero(buf, len);
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/*
 * The DSN as a keyword/value conninfo with what the feed section overrides
 * (see conf.h).
 */
int config_dsn_conninfo(const struct feed_config *cfg, char **out,
			char *msg, size_t msglen)
{
	const char *const override_keys[] = { "sslrootcert", "sslcert", "sslkey" };
	const char *override_values[] = { cfg->sslrootcert, cfg->sslcert, cfg->sslkey };
	const size_t noverrides = sizeof(override_keys) / sizeof(override_keys[0]);
	bool has_password = cfg->password_file && *cfg->password_file;
	bool any = has_password;
	char password[1024], *errmsg = NULL, *buf = NULL;
	size_t len = 0, cap = 0;
	PQconninfoOption *opts;

	*out = NULL;
	for (size_t i = 0; i < noverrides; i++)
		if (override_values[i] && *override_values[i])
			any = true;
	if (!any)
		return 0;
	password[0] = '\0';
	if (has_password &&
	    read_password(cfg->password_file, password, sizeof(password), msg, msglen))
		return -1;
	opts = PQconninfoParse(cfg->dsn, &errmsg);
	if (!opts) {
		/* libpq's parse errors quote keywords, never values. */
		snprintf(msg, msglen, "bad dsn: %s", errmsg ? errmsg : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		PQfreemem(errmsg);
		explicit_bzero(password, sizeof(password));
		return -1;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		bool overridden = has_password && strcmp(o->keyword, "password") == 0;

		for (size_t i = 0; i < noverrides; i++)
			if (override_values[i] && *override_values[i] &&
			    strcmp(o->keyword, override_keys[i]) == 0)
				overridden = true;
		if (!o->val || overridden)
			continue;
		if (conninfo_append(&buf, &len, &cap, o->keyword, o->val))
			goto nomem;
	}
	for (size_t i = 0; i < noverrides; i++)
		if (override_values[i] && *override_values[i] &&
		    conninfo_append(&buf, &len, &cap, override_keys[i], override_values[i]))
			goto nomem;
	if (has_password && conninfo_append(&buf, &len, &cap, "password", password))
		goto nomem;
	PQconninfoFree(opts);
	explicit_bzero(password, sizeof(password));
	*out = buf;
	return 0;
nomem:
	PQconninfoFree(opts);
	explicit_bzero(password, sizeof(password));
	if (buf)
		explicit_bzero(buf, cap);
	free(buf);
	snprintf(msg, msglen, "out of memory");
	return -1;
}

