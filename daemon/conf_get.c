/*
 * conf_get.c: a key's value in a section (its own, inherited from
 * [crdbfeedd], or the table's default), read by the type of its table row
 * into the field the row names; and the generic handling of those fields:
 * freeing, comparing for reload, formatting for the dump.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct setting conf_setting(const struct raw_file *rf,
			    const struct raw_section *sec, const char *name)
{
	ssize_t idx = conf_key_index(sec->kind, name);
	struct setting st = { &cfg_keys[idx], cfg_keys[idx].default_value,
			      sec->line, false, false };
	const struct raw_value *v = &sec->values[idx];
	if (v->value && v->value[0]) {
		st.value = v->value;
		st.line = v->line;
		st.explicit = true;
		st.literal = v->literal;
		return st;
	}
	ssize_t g = conf_inherited_index((size_t)idx);
	if (g < 0)
		return st;
	if (rf->global) {
		const struct raw_value *gv = &rf->global->values[g];
		if (gv->value && gv->value[0]) {
			st.value = gv->value;
			st.line = gv->line;
			st.explicit = true;
			return st;
		}
	}
	if (!st.value[0])
		st.value = cfg_keys[g].default_value;
	return st;
}

/* Whether a key is written (non-empty) in this very section. */
bool conf_set_here(const struct raw_section *sec, const char *name)
{
	ssize_t idx = conf_key_index(sec->kind, name);
	return idx >= 0 && sec->values[idx].value && sec->values[idx].value[0];
}

static void format_number(const struct cfg_key *k, int64_t v, char *buf,
			  size_t size)
{
	if (k->type == CFG_DURATION)
		conf_format_duration(v, buf, size);
	else if (k->type == CFG_SIZE)
		conf_format_size((size_t)v, buf, size);
	else
		snprintf(buf, size, "%" PRId64, v);
}

/* The row's [min, max] (max 0: what the type's parser allows). */
static int check_range(struct loader *ld, const struct setting *st,
		       int64_t v)
{
	const struct cfg_key *k = st->key;
	char limit[32];
	if (v < k->min) {
		if (k->min == 1) {
			conf_diag(ld, st->line, "%s: must be more than 0", k->name);
			return -1;
		}
		format_number(k, k->min, limit, sizeof(limit));
		conf_diag(ld, st->line, "%s: %.100s is less than the smallest %s, %s",
			  k->name, st->value, k->name, limit);
		return -1;
	}
	if (k->max != 0 && v > k->max) {
		format_number(k, k->max, limit, sizeof(limit));
		conf_diag(ld, st->line, "%s: %.100s is more than the largest %s, %s",
			  k->name, st->value, k->name, limit);
		return -1;
	}
	return 0;
}

/* The typed getters report "file:line: key: problem" and return -1. */

static int get_int(struct loader *ld, const struct setting *st, int64_t *out)
{
	*out = 0;
	if (!st->value[0])
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(st->value, &end, 10);
	if (errno || end == st->value || *end) {
		conf_diag(ld, st->line, "%s: expected an integer, not '%.100s'",
			  st->key->name, st->value);
		return -1;
	}
	*out = (int64_t)v;
	return check_range(ld, st, *out);
}

static int get_bool(struct loader *ld, const struct setting *st, bool *out)
{
	if (!st->value[0]) {
		*out = false;
		return 0;
	}
	if (conf_parse_bool(st->value, out) == 0)
		return 0;
	conf_diag(ld, st->line, "%s: expected yes or no, not '%.100s'", st->key->name,
	     st->value);
	return -1;
}

static int get_duration(struct loader *ld, const struct setting *st,
			int64_t *out)
{
	if (!st->value[0]) {
		*out = 0;
		return 0;
	}
	if (conf_parse_duration(st->value, out) == 0)
		return check_range(ld, st, *out);
	conf_diag(ld, st->line, "%s: expected a duration such as 500ms, 10s, 1m30s or 2h (at most 30 days), not '%.100s'",
	     st->key->name, st->value);
	return -1;
}

static int get_size(struct loader *ld, const struct setting *st, size_t *out)
{
	if (!st->value[0]) {
		*out = 0;
		return 0;
	}
	if (conf_parse_size(st->value, out) == 0)
		return check_range(ld, st, (int64_t)*out);
	conf_diag(ld, st->line, "%s: expected a size such as 65536, 64k or 1M (at most 1G), not '%.100s'",
	     st->key->name, st->value);
	return -1;
}

static int get_mode(struct loader *ld, const struct setting *st, mode_t *out)
{
	if (conf_parse_mode(st->value, out) == 0)
		return 0;
	conf_diag(ld, st->line, "%s: expected an octal file mode such as 0660, not '%.100s'",
	     st->key->name, st->value);
	return -1;
}

/* -1 when unset ("" allowed) or bad (reported). */
int conf_get_enum(struct loader *ld, const struct setting *st, int *out)
{
	*out = -1;
	if (!st->value[0])
		return 0;
	int i = conf_parse_enum(st->value, st->key->enum_values);
	if (i >= 0) {
		*out = i;
		return 0;
	}
	conf_diag(ld, st->line, "%s: expected one of %s, not '%.100s'", st->key->name,
	     st->key->enum_values, st->value);
	return -1;
}

int conf_get_string(struct loader *ld, const struct setting *st, char **out)
{
	*out = NULL;
	if (!st->value[0])
		return 0;
	*out = conf_strdup(ld, st->value);
	return *out ? 0 : -1;
}

/* *out (NULL: unset) must be an absolute path; otherwise it is freed and
 * the key reported. */
static int require_absolute(struct loader *ld, const struct setting *st,
			    char **out)
{
	if (*out && (*out)[0] != '/') {
		conf_diag(ld, st->line, "%s: '%.200s' is not an absolute path (relative paths would depend on the daemon's working directory)",
			  st->key->name, *out);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int conf_get_absolute_path(struct loader *ld, const struct setting *st,
			     char **out)
{
	if (conf_get_string(ld, st, out) < 0)
		return -1;
	if (*out && (*out)[0] != '/' && (st->key->flags & CFG_F_PRIVATE)) {
		conf_diag(ld, st->line, "%s: not an absolute path %s", st->key->name,
		     CFG_NOT_SHOWN);
		free(*out);
		*out = NULL;
		return -1;
	}
	return require_absolute(ld, st, out);
}

/* A CFG_F_ENV value, with ${VAR} expanded. */
static int get_expanded(struct loader *ld, const struct setting *st,
			char **out)
{
	char name[128];
	const char *why;
	*out = NULL;
	if (!st->value[0])
		return 0;
	if (st->literal)
		return conf_get_string(ld, st, out);
	*out = conf_expand_env(ld, st->value, name, sizeof(name), &why);
	if (*out)
		return 0;
	if (why && strcmp(why, "unset") == 0)
		conf_diag(ld, st->line, "%s: environment variable %s is not set",
		     st->key->name, name);
	else if (why)
		conf_diag(ld, st->line, "%s: %s", st->key->name, why);
	return -1;
}

ssize_t conf_get_list(struct loader *ld, const struct setting *st, char ***out)
{
	const char *why;
	ssize_t n = conf_split_list(ld, st->value, out, &why);

	if (n < 0 && why)
		conf_diag(ld, st->line, "%s: %s", st->key->name, why);
	return n;
}

static int cmp_id(const void *a, const void *b)
{
	id_t x = *(const id_t *)a, y = *(const id_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * allow_users / allow_groups: a comma list of names or numeric ids, each
 * resolved now (an all-digit item is an id, not looked up). The result is
 * sorted without repeats, so that equal sets compare equal on reload.
 */
static int get_id_list(struct loader *ld, const struct setting *st,
		       bool group, id_t **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!st->value[0])
		return 0;
	char **items;
	ssize_t n = conf_get_list(ld, st, &items);
	if (n < 0)
		return -1;
	id_t *ids = calloc((size_t)n, sizeof(*ids));
	if (!ids) {
		conf_free_list(items, (size_t)n);
		conf_diag_oom(ld);
		return -1;
	}
	const char *what = group ? "group" : "user";
	size_t nids = 0;
	int rc = 0;
	for (size_t i = 0; i < (size_t)n; i++) {
		const char *item = items[i];
		size_t digits = strspn(item, "0123456789");
		id_t id = 0;
		if (item[digits] == '\0') {
			errno = 0;
			unsigned long long v = strtoull(item, NULL, 10);
			/* (id_t)-1 means "no change" to chown and is no id. */
			if (errno || digits > 10 || v >= UINT32_MAX) {
				conf_diag(ld, st->line, "%s: '%.100s' is not a valid %s id",
				     st->key->name, item, what);
				rc = -1;
				continue;
			}
			id = (id_t)v;
		} else {
			int err = 0;
			int found = conf_lookup_id(item, group, &id, &err);
			if (found == 1) {
				conf_diag(ld, st->line, "%s: unknown %s '%.100s'",
				     st->key->name, what, item);
				rc = -1;
				continue;
			}
			if (found < 0) {
				conf_diag(ld, st->line, "%s: cannot look up %s '%.100s': %s",
				     st->key->name, what, item, strerror(err));
				rc = -1;
				continue;
			}
		}
		ids[nids++] = id;
	}
	conf_free_list(items, (size_t)n);
	if (rc < 0) {
		free(ids);
		return -1;
	}
	qsort(ids, nids, sizeof(*ids), cmp_id);
	size_t kept = 0;
	for (size_t i = 0; i < nids; i++)
		if (kept == 0 || ids[kept - 1] != ids[i])
			ids[kept++] = ids[i];
	if (kept == 0) {
		free(ids);
		ids = NULL;
	}
	*out = ids;
	*nout = kept;
	return 0;
}

/* uid_t and gid_t lists are read as id_t lists: the three are one type on
 * the systems crdbfeedd builds on, so the list is stored as it was read. */
_Static_assert(_Generic((uid_t)0, id_t: 1, default: 0) &&
	       _Generic((gid_t)0, id_t: 1, default: 0),
	       "uid_t, gid_t and id_t are the same type");

#define CFG_CREDENTIAL_PREFIX "credential:"

/*
 * sslrootcert / sslcert / sslkey: an absolute path, or credential:NAME for
 * $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=). Only the path is
 * kept: libpq reads the file at each connect.
 */
static int get_tls_file(struct loader *ld, const struct setting *st,
			char **out)
{
	*out = NULL;
	if (!st->value[0])
		return 0;
	size_t plen = strlen(CFG_CREDENTIAL_PREFIX);
	if (strncmp(st->value, CFG_CREDENTIAL_PREFIX, plen) != 0)
		return conf_get_absolute_path(ld, st, out);
	const char *name = st->value + plen;
	if (!name[0]) {
		conf_diag(ld, st->line, "%s: credential: needs the credential's NAME",
		     st->key->name);
		return -1;
	}
	if (strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		if ((st->key->flags & CFG_F_PRIVATE))
			conf_diag(ld, st->line, "%s: credential:NAME must name a credential by its file name, not a path %s",
			     st->key->name, CFG_NOT_SHOWN);
		else
			conf_diag(ld, st->line, "%s: '%.100s' must name a credential by its file name, not a path",
			     st->key->name, name);
		return -1;
	}
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (!dir || !dir[0]) {
		conf_diag(ld, st->line, "%s: CREDENTIALS_DIRECTORY is not set for credential:NAME (use LoadCredential= in the systemd unit, or an absolute path)",
		     st->key->name);
		return -1;
	}
	size_t len = strlen(dir) + 1 + strlen(name) + 1;
	if (!(*out = malloc(len))) {
		conf_diag_oom(ld);
		return -1;
	}
	snprintf(*out, len, "%s/%s", dir, name);
	return 0;
}


/* A path (CFG_PATH), ${VAR} expanded when the row says so. */
static int get_path(struct loader *ld, const struct setting *st, char **out)
{
	if (!(st->key->flags & CFG_F_ENV))
		return conf_get_absolute_path(ld, st, out);
	if (get_expanded(ld, st, out) < 0)
		return -1;
	return require_absolute(ld, st, out);
}

/* A connection string, ${VAR} expanded, checked by libpq without ever
 * quoting its password. */
static int get_dsn(struct loader *ld, const struct setting *st, char **out)
{
	if (get_expanded(ld, st, out) < 0)
		return -1;
	char why[CFG_DIAG_LEN];
	if (*out && conf_dsn_check(*out, why, sizeof(why)) < 0) {
		conf_diag(ld, st->line, "%s: not a valid connection string: %s",
			  st->key->name, why);
		return -1;
	}
	return 0;
}

static int get_listen(struct loader *ld, const struct setting *st,
		      char **out)
{
	*out = NULL;
	if (st->value[0] && config_parse_listen(st->value, NULL, 0, NULL) < 0) {
		/* Metrics are never exposed beyond the host by accident. */
		conf_diag(ld, st->line, "%s: '%.100s' is not a loopback address with a port (127.0.0.1:PORT, [::1]:PORT or localhost:PORT, PORT 1 to 65535)",
			  st->key->name, st->value);
		return -1;
	}
	return conf_get_string(ld, st, out);
}

/* An HLC ("wall.logical") or RFC 3339 time, kept as canonical HLC text. */
static int get_hlc(struct loader *ld, const struct setting *st, char **out)
{
	*out = NULL;
	if (!st->value[0])
		return 0;
	crdb_hlc hlc;
	crdb_error err1, err2;
	crdb_error_clear(&err1);
	crdb_error_clear(&err2);
	if (crdb_hlc_parse(st->value, strlen(st->value), &hlc, &err1) < 0 &&
	    crdb_hlc_from_rfc3339(st->value, &hlc, &err2) < 0) {
		conf_diag(ld, st->line, "%s: expected an HLC timestamp (wall.logical, e.g. 1701102296662969433.0000000000) or an RFC 3339 time (e.g. 2024-01-02T03:04:05Z), not '%.100s'",
			  st->key->name, st->value);
		return -1;
	}
	char buf[CRDB_HLC_BUFSIZE];
	crdb_hlc_format(hlc, buf);
	*out = conf_strdup(ld, buf);
	return *out ? 0 : -1;
}

/* Read st into p (the field's storage; count: of an id list). */
static int get_into(struct loader *ld, const struct setting *st, void *p,
		    size_t *count)
{
	const struct cfg_key *k = st->key;
	int e;
	switch (k->type) {
	case CFG_STRING:
		return conf_get_string(ld, st, p);
	case CFG_PATH:
		return get_path(ld, st, p);
	case CFG_DSN:
		return get_dsn(ld, st, p);
	case CFG_TLS_FILE:
		return get_tls_file(ld, st, p);
	case CFG_LISTEN:
		return get_listen(ld, st, p);
	case CFG_HLC:
		return get_hlc(ld, st, p);
	case CFG_BOOL:
		return get_bool(ld, st, p);
	case CFG_INT:
		return get_int(ld, st, p);
	case CFG_DURATION:
		return get_duration(ld, st, p);
	case CFG_SIZE:
		return get_size(ld, st, p);
	case CFG_MODE:
		return get_mode(ld, st, p);
	case CFG_ENUM:
		if (conf_get_enum(ld, st, &e) < 0)
			return -1;
		if (e >= 0)
			memcpy(p, &e, sizeof(e));
		return 0;
	case CFG_UIDS:
	case CFG_GIDS:
		return get_id_list(ld, st, st->key->type == CFG_GIDS, p, count);
	case CFG_LIST:
		break; /* read by explicit code */
	}
	return 0;
}

static size_t *count_field(const struct cfg_key *k, void *base)
{
	return (size_t *)(void *)((char *)base + k->count);
}

int conf_get(struct loader *ld, const struct setting *st, void *base)
{
	const struct cfg_key *k = st->key;
	if (k->field == CFG_NO_FIELD)
		return conf_check(ld, st);
	bool ids = k->type == CFG_UIDS || k->type == CFG_GIDS;
	return get_into(ld, st, conf_field(k, base),
			ids ? count_field(k, base) : NULL);
}

/* Storage for any one value. */
union conf_value {
	char *s;
	bool b;
	int64_t i;
	size_t z;
	int e;
	mode_t m;
	uid_t *uids;
	gid_t *gids;
};

static void value_free(enum cfg_type type, void *p)
{
	switch (type) {
	case CFG_STRING: case CFG_PATH: case CFG_DSN: case CFG_TLS_FILE:
	case CFG_LISTEN: case CFG_HLC:
		free(*(char **)p);
		*(char **)p = NULL;
		break;
	case CFG_UIDS:
		free(*(uid_t **)p);
		*(uid_t **)p = NULL;
		break;
	case CFG_GIDS:
		free(*(gid_t **)p);
		*(gid_t **)p = NULL;
		break;
	default:
		break;
	}
}

int conf_check(struct loader *ld, const struct setting *st)
{
	union conf_value v;
	size_t count = 0;
	memset(&v, 0, sizeof(v));
	int rc = get_into(ld, st, &v, &count);
	value_free(st->key->type, &v);
	return rc;
}

void conf_field_free(const struct cfg_key *k, void *base)
{
	if (k->field != CFG_NO_FIELD)
		value_free(k->type, conf_field(k, base));
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool conf_field_equal(const struct cfg_key *k, const void *a, const void *b)
{
	if (k->field == CFG_NO_FIELD)
		return true;
	const void *pa = conf_field_const(k, a), *pb = conf_field_const(k, b);
	size_t na, nb, size;
	switch (k->type) {
	case CFG_STRING: case CFG_PATH: case CFG_DSN: case CFG_TLS_FILE:
	case CFG_LISTEN: case CFG_HLC:
		return str_eq(*(char *const *)pa, *(char *const *)pb);
	case CFG_BOOL:
		return *(const bool *)pa == *(const bool *)pb;
	case CFG_INT: case CFG_DURATION:
		return *(const int64_t *)pa == *(const int64_t *)pb;
	case CFG_SIZE:
		return *(const size_t *)pa == *(const size_t *)pb;
	case CFG_ENUM:
		return *(const int *)pa == *(const int *)pb;
	case CFG_MODE:
		return *(const mode_t *)pa == *(const mode_t *)pb;
	case CFG_UIDS: case CFG_GIDS:
		/* Kept sorted without repeats: equal sets, equal arrays. */
		na = *(const size_t *)(const void *)((const char *)a + k->count);
		nb = *(const size_t *)(const void *)((const char *)b + k->count);
		size = k->type == CFG_UIDS ? sizeof(uid_t) : sizeof(gid_t);
		return na == nb && (na == 0 ||
			memcmp(*(void *const *)pa, *(void *const *)pb,
			       na * size) == 0);
	case CFG_LIST:
		break;
	}
	return true;
}

int conf_field_copy(const struct cfg_key *k, const void *a, void *b)
{
	if (k->field == CFG_NO_FIELD)
		return 0;
	const void *pa = conf_field_const(k, a);
	void *pb = conf_field(k, b);
	size_t n, size;
	void *ids;
	switch (k->type) {
	case CFG_STRING: case CFG_PATH: case CFG_DSN: case CFG_TLS_FILE:
	case CFG_LISTEN: case CFG_HLC: {
		const char *src = *(char *const *)pa;
		char *copy = src ? strdup(src) : NULL;
		if (src && !copy)
			return -1;
		free(*(char **)pb);
		*(char **)pb = copy;
		return 0;
	}
	case CFG_UIDS: case CFG_GIDS:
		n = *(const size_t *)(const void *)((const char *)a + k->count);
		size = k->type == CFG_UIDS ? sizeof(uid_t) : sizeof(gid_t);
		ids = NULL;
		if (n) {
			if (!(ids = malloc(n * size)))
				return -1;
			memcpy(ids, *(void *const *)pa, n * size);
		}
		free(*(void **)pb);
		*(void **)pb = ids;
		*(size_t *)(void *)((char *)b + k->count) = n;
		return 0;
	case CFG_BOOL:
		*(bool *)pb = *(const bool *)pa;
		return 0;
	case CFG_INT: case CFG_DURATION:
		*(int64_t *)pb = *(const int64_t *)pa;
		return 0;
	case CFG_SIZE:
		*(size_t *)pb = *(const size_t *)pa;
		return 0;
	case CFG_ENUM:
		*(int *)pb = *(const int *)pa;
		return 0;
	case CFG_MODE:
		*(mode_t *)pb = *(const mode_t *)pa;
		return 0;
	case CFG_LIST:
		break;
	}
	return 0;
}

void conf_field_format(const struct cfg_key *k, const void *base, char *buf,
		       size_t size)
{
	buf[0] = '\0';
	if (k->field == CFG_NO_FIELD)
		return;
	const void *p = conf_field_const(k, base);
	const char *s;
	size_t n, len = 0;
	switch (k->type) {
	case CFG_STRING: case CFG_PATH: case CFG_DSN: case CFG_TLS_FILE:
	case CFG_LISTEN: case CFG_HLC:
		s = *(char *const *)p;
		snprintf(buf, size, "%s", s ? s : "");
		break;
	case CFG_BOOL:
		snprintf(buf, size, "%s", *(const bool *)p ? "yes" : "no");
		break;
	case CFG_INT:
		snprintf(buf, size, "%" PRId64, *(const int64_t *)p);
		break;
	case CFG_DURATION:
		conf_format_duration(*(const int64_t *)p, buf, size);
		break;
	case CFG_SIZE:
		conf_format_size(*(const size_t *)p, buf, size);
		break;
	case CFG_ENUM:
		conf_enum_name(k->enum_values, *(const int *)p, buf, size);
		break;
	case CFG_MODE:
		snprintf(buf, size, "%04o", (unsigned)*(const mode_t *)p);
		break;
	case CFG_UIDS: case CFG_GIDS:
		n = *(const size_t *)(const void *)((const char *)base + k->count);
		for (size_t i = 0; i < n && len < size; i++) {
			unsigned id = k->type == CFG_UIDS ?
				(unsigned)(*(uid_t *const *)p)[i] :
				(unsigned)(*(gid_t *const *)p)[i];
			int w = snprintf(buf + len, size - len, "%s%u",
					 i ? ", " : "", id);
			if (w < 0)
				break;
			len += (size_t)w;
		}
		break;
	case CFG_LIST:
		break;
	}
}
