/*
 * sim_job_sink.c: a changefeed job's webhook sink settings read from its
 * statement (see sim_job_sink.h), with CockroachDB's errors where known
 * (changefeedccl's sink.go and sink_webhook*.go); the URI redacted for
 * SHOW CHANGEFEED JOBS; the targets checked against PostgreSQL.
 */
#include "config.h"

#include "sim_job_sink.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "sbuf.h"
#include "sim.h"

#define WEBHOOK_SCHEME "webhook-https"
/* webhook_sink_config Retry.Max = "inf" */
#define RETRY_INF 1000000000

void sim_job_sink_clear(struct sim_job_sink *sink)
{
	free(sink->url);
	free(sink->ca_pem);
	free(sink->cert_pem);
	free(sink->key_pem);
	free(sink->auth);
	memset(sink, 0, sizeof *sink);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Go's url.QueryUnescape: %XX, and '+' is a space. NULL when malformed. */
static char *query_unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t o = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* Standard base64 to bytes (a NUL after them): the PEM text. */
static char *base64_pem(const char *b64)
{
	size_t n = strlen(b64);
	unsigned char *out = malloc(n / 4 * 3 + 4);
	if (!out || n % 4 != 0) {
		free(out);
		return NULL;
	}
	int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (n > 0 && b64[n - 1] == '=') {
		n--;
		len--;
	}
	out[len] = '\0';
	return (char *)out;
}

static bool parse_bool(const char *v, bool *out)
{
	/* Go's strconv.ParseBool */
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true",
					   "True", NULL };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false",
					  "False", NULL };
	for (int i = 0; yes[i]; i++)
		if (!strcmp(v, yes[i])) {
			*out = true;
			return true;
		}
	for (int i = 0; no[i]; i++)
		if (!strcmp(v, no[i])) {
			*out = false;
			return true;
		}
	return false;
}

/* The sink URI: scheme, then host/path, then query parameters. */
static int parse_uri(const char *uri, struct sim_job_sink *sink,
		     struct sim_webhook_config *cfg, struct simfeed_error *err)
{
	static const char *const other_sinks[] = { "kafka", "gs", "s3",
		"azure", "azure-storage", "azure-event-hub", "nodelocal",
		"userfile", "http", "https", "gcpubsub", "pulsar", "external",
		"null", "experimental-s3", "experimental-gs",
		"experimental-http", "experimental-https", "experimental-sql",
		"experimental-nodelocal", "experimental-azure", NULL };
	const char *sep = strstr(uri, "://");
	if (!sep || sep == uri)
		return sim_error(err, "XXUUU", "no scheme found for sink URL \"%s\"",
			    uri);
	size_t slen = (size_t)(sep - uri);
	char scheme[64];
	snprintf(scheme, sizeof scheme, "%.*s", (int)(slen < 63 ? slen : 63), uri);
	for (char *p = scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!strcmp(scheme, "webhook-http"))
		return sim_error(err, "XXUUU", "this sink requires %s", WEBHOOK_SCHEME);
	if (strcmp(scheme, WEBHOOK_SCHEME) != 0) {
		for (int i = 0; other_sinks[i]; i++)
			if (!strcmp(scheme, other_sinks[i]))
				return sim_error(err, "0A000",
					    "crdbsim emulates only webhook-https sinks, not %s",
					    scheme);
		return sim_error(err, "XXUUU", "unsupported sink: %s", scheme);
	}
	const char *rest = sep + 3;
	const char *q = strchr(rest, '?');
	size_t base_len = q ? (size_t)(q - rest) : strlen(rest);
	/* The endpoint sees the path and every query parameter but the
	 * sink's own four (§16.1). */
	struct sbuf url = {0};
	sb_puts(&url, "https://");
	sb_putn(&url, rest, base_len);
	char *cert_b64 = NULL, *key_b64 = NULL, *ca_b64 = NULL;
	int rc = 0;
	bool first_param = true;
	for (const char *p = q ? q + 1 : NULL; p && *p && rc == 0;) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		char *name = query_unescape(p, eq ? (size_t)(eq - p) : n);
		char *value = eq ? query_unescape(eq + 1, n - (size_t)(eq + 1 - p)) :
				   strdup("");
		if (!name || !value) {
			rc = sim_error(err, "XXUUU", "invalid URL escape in sink URI");
		} else if (!strcmp(name, "ca_cert")) {
			free(ca_b64);
			ca_b64 = value;
			value = NULL;
		} else if (!strcmp(name, "client_cert")) {
			free(cert_b64);
			cert_b64 = value;
			value = NULL;
		} else if (!strcmp(name, "client_key")) {
			free(key_b64);
			key_b64 = value;
			value = NULL;
		} else if (!strcmp(name, "insecure_tls_skip_verify")) {
			if (!parse_bool(value, &cfg->insecure_skip_verify))
				rc = sim_error(err, "XXUUU",
					  "param insecure_tls_skip_verify must be a bool");
		} else if (*name) {
			sb_puts(&url, first_param ? "?" : "&");
			sb_putn(&url, p, n);
			first_param = false;
		}
		free(name);
		free(value);
		p = amp ? amp + 1 : NULL;
	}
	if (rc == 0 && !cert_b64 != !key_b64)
		rc = sim_error(err, "XXUUU", "%s requires %s to be set",
			  cert_b64 ? "client_cert" : "client_key",
			  cert_b64 ? "client_key" : "client_cert");
	struct { char *b64; char **pem; const char *name; } certs[3] = {
		{ ca_b64, &sink->ca_pem, "ca_cert" },
		{ cert_b64, &sink->cert_pem, "client_cert" },
		{ key_b64, &sink->key_pem, "client_key" },
	};
	for (int i = 0; i < 3; i++) {
		if (rc == 0 && certs[i].b64 &&
		    !(*certs[i].pem = base64_pem(certs[i].b64)))
			rc = sim_error(err, "XXUUU", "param %s must be base 64 encoded",
				  certs[i].name);
		free(certs[i].b64);
	}
	sink->url = sb_take(&url);
	if (rc == 0 && !sink->url)
		rc = sim_error(err, "53200", "out of memory");
	cfg->url = sink->url;
	cfg->ca_pem = sink->ca_pem;
	cfg->client_cert_pem = sink->cert_pem;
	cfg->client_key_pem = sink->key_pem;
	return rc;
}

static json_t *get_ci(json_t *obj, const char *key)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
		if (!strcasecmp(k, key))
			return v;
	return NULL;
}

/* A Go duration in a JSON string ("1s", "500ms"). */
static int json_duration(json_t *v, int64_t *ms)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    sim_parse_setting_duration(json_string_value(v), ms) != 0)
		return -1;
	return 0;
}

static int json_count(json_t *v, int64_t *out)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int parse_sink_config(const char *text, struct sim_webhook_config *cfg,
			     struct simfeed_error *err)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	int rc = 0;
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		return sim_error(err, "XXUUU", "failed to parse webhook sink config: %s",
			    doc ? "not an object" : jerr.text);
	}
	json_t *flush = get_ci(doc, "Flush");
	json_t *retry = get_ci(doc, "Retry");
	int64_t max = cfg->retry_max;
	if (flush && (json_count(get_ci(flush, "Messages"), &cfg->flush_messages) ||
		      json_count(get_ci(flush, "Bytes"), &cfg->flush_bytes) ||
		      json_duration(get_ci(flush, "Frequency"),
				    &cfg->flush_frequency_ms)))
		rc = sim_error(err, "XXUUU", "invalid sink config, all values must be non-negative");
	json_t *jmax = retry ? get_ci(retry, "Max") : NULL;
	if (rc == 0 && jmax && json_is_string(jmax) &&
	    !strcasecmp(json_string_value(jmax), "inf"))
		max = RETRY_INF;
	else if (rc == 0 && jmax && !json_is_null(jmax) &&
		 (!json_is_integer(jmax) || (max = json_integer_value(jmax)) <= 0))
		rc = sim_error(err, "XXUUU", "Retry.Max must be a positive integer. use 'inf' for infinite retries.");
	cfg->retry_max = max;
	if (rc == 0 && retry &&
	    json_duration(get_ci(retry, "Backoff"), &cfg->retry_backoff_ms))
		rc = sim_error(err, "XXUUU", "invalid sink config, all values must be non-negative");
	if (rc == 0 && (cfg->flush_messages || cfg->flush_bytes) &&
	    !cfg->flush_frequency_ms)
		rc = sim_error(err, "XXUUU", "invalid sink config, Flush.Frequency is not set, messages may never be sent");
	json_decref(doc);
	return rc;
}

int sim_job_sink_parse(const struct sim_job_spec *spec, int nodes,
		       struct sim_job_sink *sink,
		       struct sim_webhook_config *cfg,
		       struct simfeed_error *err)
{
	memset(sink, 0, sizeof *sink);
	*cfg = (struct sim_webhook_config){
		.client_timeout_ms = 3000,
		.retry_max = 3,
		.retry_backoff_ms = 500,
		.nodes = nodes,
	};
	if (parse_uri(spec->sink_uri, sink, cfg, err) < 0)
		goto fail;
	for (size_t i = 0; i < spec->nopts; i++) {
		const char *n = spec->opt_names[i], *v = spec->opt_values[i];
		if (!strcmp(n, "envelope") && v && strcasecmp(v, "wrapped") &&
		    strcasecmp(v, "bare") && strcasecmp(v, "enriched")) {
			sim_error(err, "XXUUU", "this sink is incompatible with envelope=%s", v);
			goto fail;
		}
		if (!strcmp(n, "webhook_auth_header")) {
			free(sink->auth);
			sink->auth = strdup(v ? v : "");
			cfg->auth_header = sink->auth;
		} else if (!strcmp(n, "webhook_client_timeout")) {
			int64_t ms;
			if (!v || sim_parse_setting_duration(v, &ms) != 0 || ms <= 0) {
				sim_error(err, "XXUUU", "option %s must be a duration greater than 0", n);
				goto fail;
			}
			cfg->client_timeout_ms = ms;
		} else if (!strcmp(n, "webhook_sink_config")) {
			if (parse_sink_config(v ? v : "", cfg, err) < 0)
				goto fail;
		}
	}
	return 0;
fail:
	sim_job_sink_clear(sink);
	return -1;
}

char *sim_job_sink_redact(const char *uri)
{
	const char *k = strstr(uri, "client_key=");
	if (!k || (k[-1] != '?' && k[-1] != '&'))
		return strdup(uri);
	const char *end = strchr(k, '&');
	char *out = NULL;
	if (asprintf(&out, "%.*sclient_key=redacted%s", (int)(k - uri), uri,
		     end ? end : "") < 0)
		return NULL;
	return out;
}

int sim_job_sink_check_targets(PGconn *admin, const struct simfeed_stmt *st,
			       struct simfeed_error *err)
{
	for (size_t i = 0; i < st->ntargets; i++) {
		const struct sim_target *t = &st->targets[i];
		const char *params[2] = { t->schema ? t->schema : "public",
					  t->table };
		if (PQstatus(admin) != CONNECTION_OK)
			PQreset(admin);
		PGresult *r = PQexecParams(admin,
			"SELECT c.relkind FROM pg_class c JOIN pg_namespace n"
			" ON n.oid = c.relnamespace WHERE n.nspname = $1"
			" AND c.relname = $2", 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			sim_error(err, "XXUUU", "crdbsim: %s", PQerrorMessage(admin));
			PQclear(r);
			return -1;
		}
		const char *kind = PQntuples(r) ? PQgetvalue(r, 0, 0) : "";
		int rc = 0;
		if (!*kind)
			rc = sim_error(err, "42P01", "failed to resolve targets in the "
				  "CHANGEFEED stmt: table \"%s\" does not exist",
				  t->display ? t->display : t->table);
		else if (!strcmp(kind, "v") || !strcmp(kind, "m"))
			rc = sim_error(err, "XXUUU", "CHANGEFEED cannot target views: %s",
				  t->display ? t->display : t->table);
		PQclear(r);
		if (rc)
			return rc;
	}
	return 0;
}
