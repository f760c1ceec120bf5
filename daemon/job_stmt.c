/*
 * job_stmt.c: the SQL of a job feed's changefeed job (doc/crdb-wire.md
 * §16): the webhook sink URI with its certificates inline, the CREATE
 * CHANGEFEED statement (built by libcrdb), the ALTER CHANGEFEED commands
 * between two configurations, and the reading of SHOW CHANGEFEED JOB(S)
 * rows. Pure: no connection, no logging (job_int.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "job_int.h"
#include "scram.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- certificate files ----------------------------------------------------- */

int job_pem_read(const char *path, struct job_pem *out, char *errbuf,
		 size_t errlen)
{
	out->data = NULL;
	out->len = 0;
	if (!path || !*path)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(JOB_PEM_MAX + 1);
	size_t len = 0;
	if (!buf) {
		close(fd);
		snprintf(errbuf, errlen, "%s: out of memory", path);
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, JOB_PEM_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > JOB_PEM_MAX) {
			snprintf(errbuf, errlen, "%s: larger than %d bytes, not a PEM certificate or key",
				 path, JOB_PEM_MAX);
			goto fail;
		}
	}
	close(fd);
	if (len == 0) {
		snprintf(errbuf, errlen, "%s: empty file", path);
		free(buf);
		return -1;
	}
	out->data = buf;
	out->len = len;
	return 0;
fail:
	close(fd);
	explicit_bzero(buf, JOB_PEM_MAX + 1);
	free(buf);
	return -1;
}

void job_pem_free(struct job_pem *pem)
{
	if (pem->data) {
		explicit_bzero(pem->data, pem->len);
		free(pem->data);
	}
	pem->data = NULL;
	pem->len = 0;
}

/* ---- the sink URI ---------------------------------------------------------- */

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* Append "&name=" (or "?name=") and the percent-encoded base64 of pem
 * at out + *used; the caller sized out. */
static void add_param(char *out, size_t *used, const char *name,
		      const struct job_pem *pem, char *b64)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = scram_base64_encode((const unsigned char *)pem->data,
				       pem->len, b64);

	*used += (size_t)sprintf(out + *used, "%s%s=",
				 strchr(out, '?') ? "&" : "?", name);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b64[i];
		if (unreserved(c)) {
			out[(*used)++] = (char)c;
		} else {
			out[(*used)++] = '%';
			out[(*used)++] = hex[c >> 4];
			out[(*used)++] = hex[c & 15];
		}
	}
	out[*used] = '\0';
	explicit_bzero(b64, n);
}

char *job_sink_uri(const char *advertise, const char *path,
		   const struct job_pem *ca, const struct job_pem *cert,
		   const struct job_pem *key, char *errbuf, size_t errlen)
{
	const struct job_pem *pems[3] = { ca, cert, key };
	static const char *const names[3] = { "ca_cert", "client_cert",
					      "client_key" };

	if (!advertise || !*advertise || !path || path[0] != '/') {
		snprintf(errbuf, errlen,
			 "the sink needs an advertised HOST:PORT and a path starting with /");
		return NULL;
	}
	if ((cert && cert->len) != (key && key->len)) {
		snprintf(errbuf, errlen,
			 "a client certificate needs its key and a key its certificate");
		return NULL;
	}
	/* Each base64 byte becomes at most 3 URI bytes. */
	size_t size = strlen("webhook-https://") + strlen(advertise) +
		      strlen(path) + 1, b64_max = 0;
	for (int i = 0; i < 3; i++) {
		if (!pems[i] || !pems[i]->len)
			continue;
		size_t b64 = 4 * ((pems[i]->len + 2) / 3) + 1;
		size += strlen(names[i]) + 2 + 3 * b64;
		if (b64 > b64_max)
			b64_max = b64;
	}
	char *out = malloc(size), *b64 = b64_max ? malloc(b64_max) : NULL;
	if (!out || (b64_max && !b64)) {
		free(out);
		free(b64);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	size_t used = (size_t)sprintf(out, "webhook-https://%s%s", advertise, path);
	for (int i = 0; i < 3; i++)
		if (pems[i] && pems[i]->len)
			add_param(out, &used, names[i], pems[i], b64);
	free(b64);
	return out;
}

/* ---- CREATE CHANGEFEED ----------------------------------------------------- */

static void ms_text(int64_t ms, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64 "ms", ms);
}

/* The options the job always has, set (again) so that the pass-through
 * options cannot change them. */
static int set_fixed_options(crdb_feed_spec *spec, const struct job_config *cfg,
			     crdb_error *err)
{
	char dur[32];

	ms_text(cfg->resolved_ms, dur, sizeof(dur));
	if (crdb_feed_spec_set_option(spec, "envelope", "wrapped", err) < 0 ||
	    crdb_feed_spec_set_option(spec, "updated", NULL, err) < 0 ||
	    crdb_feed_spec_set_option(spec, "resolved", dur, err) < 0 ||
	    crdb_feed_spec_set_option(spec, "min_checkpoint_frequency", dur,
				      err) < 0)
		return -1;
	if (cfg->diff && crdb_feed_spec_set_option(spec, "diff", NULL, err) < 0)
		return -1;
	return 0;
}

char *job_create_sql(const struct job_config *cfg, const char *sink_uri,
		     char *errbuf, size_t errlen)
{
	crdb_error err;
	char dur[32];
	char *sql = NULL;
	crdb_feed_spec *spec = crdb_feed_spec_new(&err);

	if (!spec)
		goto fail;
	for (size_t i = 0; i < cfg->ntables; i++)
		if (crdb_feed_spec_add_table(spec, cfg->tables[i],
					     cfg->families ? cfg->families[i] : NULL,
					     &err) < 0)
			goto fail;
	if (crdb_feed_spec_set_sink(spec, sink_uri, &err) < 0 ||
	    set_fixed_options(spec, cfg, &err) < 0)
		goto fail;
	for (size_t i = 0; i < cfg->noptions; i++)
		if (crdb_feed_spec_set_option(spec, cfg->options[i].name,
					      cfg->options[i].value, &err) < 0)
			goto fail;
	if (set_fixed_options(spec, cfg, &err) < 0)
		goto fail;
	if (cfg->cursor) {
		crdb_feed_spec_unset_option(spec, "no_initial_scan");
		crdb_feed_spec_unset_option(spec, "initial_scan_only");
		if (crdb_feed_spec_set_option(spec, "cursor", cfg->cursor, &err) < 0 ||
		    crdb_feed_spec_set_option(spec, "initial_scan", "no", &err) < 0)
			goto fail;
	}
	if (cfg->authorization && *cfg->authorization &&
	    crdb_feed_spec_set_option(spec, "webhook_auth_header",
				      cfg->authorization, &err) < 0)
		goto fail;
	ms_text(cfg->client_timeout_ms > 0 ? cfg->client_timeout_ms : 3000, dur,
		sizeof(dur));
	if (crdb_feed_spec_set_option(spec, "webhook_client_timeout", dur, &err) < 0)
		goto fail;
	sql = crdb_feed_spec_build(spec, false, NULL, &err);
	if (!sql)
		goto fail;
	crdb_feed_spec_free(spec);
	return sql;
fail:
	/* libcrdb's messages never quote the sink URI; an option's value
	 * (the authorization) is never quoted either. */
	snprintf(errbuf, errlen, "cannot build CREATE CHANGEFEED: %s", err.message);
	crdb_feed_spec_free(spec);
	return NULL;
}

/* ---- ALTER CHANGEFEED ------------------------------------------------------ */

/* A growing command text; failed remembers an allocation failure. */
struct text {
	char *p;
	size_t len, cap;
	bool failed;
};

static void text_addn(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *p = realloc(t->p, cap);
		if (!p) {
			t->failed = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_add(struct text *t, const char *s)
{
	text_addn(t, s, strlen(s));
}

/* A SQL string literal, quotes doubled. */
static void text_literal(struct text *t, const char *s)
{
	text_add(t, "'");
	for (const char *q; (q = strchr(s, '\'')); s = q + 1) {
		text_addn(t, s, (size_t)(q - s) + 1);
		text_add(t, "'");
	}
	text_add(t, s);
	text_add(t, "'");
}

/* "TABLE name [FAMILY f]" quoted as libcrdb quotes it in CREATE. */
static char *render_target(const char *table, const char *family,
			   char *errbuf, size_t errlen)
{
	static const char prefix[] = "CREATE CHANGEFEED FOR ";
	crdb_error err;
	crdb_feed_spec *spec = crdb_feed_spec_new(&err);
	char *sql = NULL, *out = NULL;

	if (spec && crdb_feed_spec_add_table(spec, table, family, &err) == 0)
		sql = crdb_feed_spec_build(spec, false, NULL, &err);
	crdb_feed_spec_free(spec);
	if (!sql) {
		snprintf(errbuf, errlen, "target %s: %s", table, err.message);
		return NULL;
	}
	if (strncmp(sql, prefix, sizeof(prefix) - 1) == 0)
		out = strdup(sql + sizeof(prefix) - 1);
	crdb_free(sql);
	if (!out)
		snprintf(errbuf, errlen, "out of memory");
	return out;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool has_target(const struct job_config *cfg, const char *table,
		       const char *family)
{
	for (size_t i = 0; i < cfg->ntables; i++)
		if (strcmp(cfg->tables[i], table) == 0 &&
		    same_str(cfg->families ? cfg->families[i] : NULL, family))
			return true;
	return false;
}

/* One option of a job as it would be written: name, value (NULL for a
 * flag). */
struct named_value {
	const char *name;
	const char *value;
};

#define JOB_MAX_OPTIONS 64

/* The options a job of cfg has, except envelope and updated (fixed) and
 * the sink; false when there are more than JOB_MAX_OPTIONS. */
static bool job_options(const struct job_config *cfg, struct named_value *out,
			size_t *n, char *resolved, char *timeout)
{
	static const char *const fixed[] = {
		"envelope", "updated", "resolved", "min_checkpoint_frequency",
		"diff", "webhook_auth_header", "webhook_client_timeout",
	};

	*n = 0;
	ms_text(cfg->resolved_ms, resolved, 32);
	ms_text(cfg->client_timeout_ms > 0 ? cfg->client_timeout_ms : 3000,
		timeout, 32);
	out[(*n)++] = (struct named_value){ "resolved", resolved };
	out[(*n)++] = (struct named_value){ "min_checkpoint_frequency", resolved };
	if (cfg->diff)
		out[(*n)++] = (struct named_value){ "diff", NULL };
	if (cfg->authorization && *cfg->authorization)
		out[(*n)++] = (struct named_value){ "webhook_auth_header",
						    cfg->authorization };
	out[(*n)++] = (struct named_value){ "webhook_client_timeout", timeout };
	for (size_t i = 0; i < cfg->noptions; i++) {
		bool skip = false;
		for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
			skip = skip || strcasecmp(cfg->options[i].name, fixed[k]) == 0;
		if (skip)
			continue;
		if (*n == JOB_MAX_OPTIONS)
			return false;
		out[(*n)++] = (struct named_value){ cfg->options[i].name,
						    cfg->options[i].value };
	}
	return true;
}

static const struct named_value *find_value(const struct named_value *v,
					    size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* ALTER CHANGEFEED refuses these (AlterChangefeedUnsupportedOptions). */
static bool unalterable(const char *name)
{
	static const char *const names[] = {
		"cursor", "initial_scan", "no_initial_scan",
		"initial_scan_only", "end_time",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

static int option_cmds(struct text *t, const struct job_config *old,
		       const struct job_config *new, char *errbuf, size_t errlen)
{
	struct named_value ov[JOB_MAX_OPTIONS], nv[JOB_MAX_OPTIONS];
	char ores[32], oto[32], nres[32], nto[32];
	size_t on, nn;

	if (!job_options(old, ov, &on, ores, oto) ||
	    !job_options(new, nv, &nn, nres, nto)) {
		snprintf(errbuf, errlen, "more than %d options", JOB_MAX_OPTIONS);
		return -1;
	}
	for (size_t i = 0; i < nn; i++) {
		const struct named_value *o = find_value(ov, on, nv[i].name);
		if (o && same_str(o->value, nv[i].value))
			continue;
		if (unalterable(nv[i].name))
			goto refuse_new;
		text_add(t, t->len ? " SET " : "SET ");
		text_add(t, nv[i].name);
		if (nv[i].value) {
			text_add(t, " = ");
			text_literal(t, nv[i].value);
		}
		continue;
refuse_new:
		snprintf(errbuf, errlen,
			 "cannot alter option \"%s\" of a changefeed job (ALTER CHANGEFEED refuses it): a new job is needed",
			 nv[i].name);
		return -1;
	}
	for (size_t i = 0; i < on; i++) {
		if (find_value(nv, nn, ov[i].name))
			continue;
		if (unalterable(ov[i].name)) {
			snprintf(errbuf, errlen,
				 "cannot alter option \"%s\" of a changefeed job (ALTER CHANGEFEED refuses it): a new job is needed",
				 ov[i].name);
			return -1;
		}
		text_add(t, t->len ? " UNSET " : "UNSET ");
		text_add(t, ov[i].name);
	}
	return 0;
}

static int target_cmds(struct text *t, const struct job_config *from,
		       const struct job_config *to, const char *verb,
		       char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < from->ntables; i++) {
		const char *family = from->families ? from->families[i] : NULL;
		if (has_target(to, from->tables[i], family))
			continue;
		char *target = render_target(from->tables[i], family, errbuf,
					     errlen);
		if (!target)
			return -1;
		text_add(t, t->len ? " " : "");
		text_add(t, verb);
		text_add(t, target);
		free(target);
	}
	return 0;
}

int job_alter_cmds(const struct job_config *old, const char *old_uri,
		   const struct job_config *new, const char *new_uri,
		   char **cmds, char *errbuf, size_t errlen)
{
	struct text t = { 0 };

	*cmds = NULL;
	if (new->ntables == 0) {
		snprintf(errbuf, errlen, "a changefeed job needs at least one target table");
		return -1;
	}
	if (target_cmds(&t, new, old, "ADD ", errbuf, errlen) < 0 ||
	    target_cmds(&t, old, new, "DROP ", errbuf, errlen) < 0 ||
	    option_cmds(&t, old, new, errbuf, errlen) < 0) {
		free(t.p);
		return -1;
	}
	if (!same_str(old_uri, new_uri) && new_uri) {
		text_add(&t, t.len ? " SET sink = " : "SET sink = ");
		text_literal(&t, new_uri);
	}
	if (t.failed) {
		free(t.p);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (!t.len) {
		free(t.p);
		return 0;
	}
	*cmds = t.p;
	return 1;
}

/* ---- answers --------------------------------------------------------------- */

int job_parse_high_water(const char *text, crdb_hlc *out, char *errbuf,
			 size_t errlen)
{
	crdb_error err;

	if (!text || !*text) {
		*out = (crdb_hlc){ 0, 0 };
		return 0;
	}
	if (crdb_hlc_parse(text, strlen(text), out, &err) < 0) {
		snprintf(errbuf, errlen, "high_water_timestamp \"%.40s\": %s", text,
			 err.message);
		return -1;
	}
	return 0;
}

/* A column's text, NULL when the value is NULL or the column missing. */
static const char *column(const PGresult *res, int row, const char *name)
{
	int col = PQfnumber(res, name);

	if (col < 0 || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

static int parse_id(const char *text, int64_t *id)
{
	char *end;

	if (!text || !*text)
		return -1;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || *end || v <= 0)
		return -1;
	*id = (int64_t)v;
	return 0;
}

int job_read_row(const PGresult *res, int row, struct job_status *st,
		 char *errbuf, size_t errlen)
{
	static const char *const needed[] = { "job_id", "status",
					      "high_water_timestamp", "error" };
	const char *status, *error;

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (PQfnumber(res, needed[i]) < 0) {
			snprintf(errbuf, errlen,
				 "SHOW CHANGEFEED JOB answered without a %s column",
				 needed[i]);
			return -1;
		}
	if (parse_id(column(res, row, "job_id"), &st->job_id) < 0) {
		snprintf(errbuf, errlen, "SHOW CHANGEFEED JOB: job_id is not a job id");
		return -1;
	}
	if (job_parse_high_water(column(res, row, "high_water_timestamp"),
				 &st->high_water, errbuf, errlen) < 0)
		return -1;
	status = column(res, row, "status");
	error = column(res, row, "error");
	snprintf(st->status, sizeof(st->status), "%s", status ? status : "");
	snprintf(st->error, sizeof(st->error), "%s", error ? error : "");
	st->error[strcspn(st->error, "\n")] = '\0';
	return 0;
}

bool job_status_final(const char *status)
{
	return strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0 ||
	       strcmp(status, "succeeded") == 0 ||
	       strcmp(status, "revert-failed") == 0;
}

int64_t job_find_by_sink(const PGresult *res, const char *advertise,
			 const char *path, int *others)
{
	static const char scheme[] = "webhook-https://";
	size_t alen = strlen(advertise), plen = strlen(path);
	int64_t best = 0;

	*others = 0;
	for (int row = 0; row < PQntuples(res); row++) {
		const char *uri = column(res, row, "sink_uri");
		const char *status = column(res, row, "status");
		int64_t id;

		if (!uri || !status || job_status_final(status) ||
		    parse_id(column(res, row, "job_id"), &id) < 0)
			continue;
		if (strncasecmp(uri, scheme, sizeof(scheme) - 1) != 0)
			continue;
		uri += sizeof(scheme) - 1;
		/* the endpoint exactly: then the end, a query or a fragment */
		if (strncmp(uri, advertise, alen) != 0 ||
		    strncmp(uri + alen, path, plen) != 0 ||
		    (uri[alen + plen] && !strchr("?#", uri[alen + plen])))
			continue;
		if (best)
			(*others)++;
		if (id > best)
			best = id;
	}
	return best;
}

void job_redact(char *msg, size_t size, const char *secret)
{
	static const char word[] = "redacted";
	size_t slen = secret ? strlen(secret) : 0, wlen = sizeof(word) - 1;
	char *p = msg;

	if (!slen)
		return;
	while ((p = strstr(p, secret))) {
		size_t tail = strlen(p + slen) + 1;
		size_t room = size - (size_t)(p - msg);
		if (wlen + tail > room)
			tail = room > wlen ? room - wlen : 0;
		if (room < wlen + 1) {
			*p = '\0';
			return;
		}
		memmove(p + wlen, p + slen, tail);
		memcpy(p, word, wlen);
		msg[size - 1] = '\0';
		p += wlen;
	}
}
