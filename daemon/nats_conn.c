/*
 * nats_conn.c: opening a NATS connection with JetStream from a struct
 * nats_settings, and the stream checks the sink and the source share:
 * provisioning or validation, and a feed's high-water mark (nats_conn.h).
 * Blocking calls only: this runs on a NATS thread, never on the loop.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "nats_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nats_nkey.h"

/* The servers one URL list may name, and the bytes of a secret (password
 * or token) read from a file. */
#define NATS_URLS_MAX 32
#define NATS_SECRET_MAX 4096

int nats_stream_default_name(char *out, size_t cap, const char *feed)
{
	static const char prefix[] = "CRDBFEED_";
	size_t n = strlen(feed), i;

	if (cap < sizeof(prefix) + n || !n)
		return -1;
	memcpy(out, prefix, sizeof(prefix) - 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)feed[i];
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '_' || c == '-';

		out[sizeof(prefix) - 1 + i] = keep ? (char)c : '_';
	}
	out[sizeof(prefix) - 1 + n] = '\0';
	return 0;
}

void nats_urls_shown(char *out, size_t cap, const char *urls)
{
	size_t used = 0;
	const char *p = urls;

	out[0] = '\0';
	while (*p && used + 1 < cap) {
		size_t len = strcspn(p, ",");
		const char *scheme, *host, *at;
		int n;

		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		scheme = memchr(p, ':', len);
		host = p;
		if (scheme && (size_t)(scheme - p) + 3 <= len &&
		    scheme[1] == '/' && scheme[2] == '/')
			host = scheme + 3;
		at = memchr(host, '@', len - (size_t)(host - p));
		if (at)
			n = snprintf(out + used, cap - used, "%s%.*s%.*s",
				     used ? "," : "", (int)(host - p), p,
				     (int)(len - (size_t)(at + 1 - p)), at + 1);
		else
			n = snprintf(out + used, cap - used, "%s%.*s",
				     used ? "," : "", (int)len, p);
		used += (size_t)n;
		if (used >= cap)
			return; /* cut; snprintf wrote the NUL */
		if (!p[len])
			break;
		p += len + 1;
	}
}

/* Split the comma-separated list into urls[] (pointers into buf, a copy
 * the caller frees). Returns the count, or -1 with errbuf set. */
static int split_urls(const char *list, char **buf, const char **urls,
		      char *errbuf, size_t errlen)
{
	char *p, *save = NULL, *tok;
	int n = 0;

	*buf = strdup(list);
	if (!*buf) {
		snprintf(errbuf, errlen, "nats: out of memory");
		return -1;
	}
	for (p = *buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		char *end;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*tok)
			continue;
		if (n == NATS_URLS_MAX) {
			snprintf(errbuf, errlen,
				 "nats: nats_url names more than %d servers",
				 NATS_URLS_MAX);
			return -1;
		}
		urls[n++] = tok;
	}
	if (!n) {
		snprintf(errbuf, errlen, "nats: nats_url names no server");
		return -1;
	}
	return n;
}

/* Read a secret from path into buf (cap bytes, NUL-terminated), one
 * trailing newline removed. 0, or -1 with errbuf naming the file (never
 * what it holds). The caller wipes buf. */
static int read_secret(const char *path, const char *what, char *buf,
		       size_t cap, char *errbuf, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t used = 0;
	ssize_t n;

	if (fd < 0) {
		snprintf(errbuf, errlen, "nats: %s %s: %s", what, path,
			 strerror(errno));
		return -1;
	}
	for (;;) {
		n = read(fd, buf + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == cap - 1) {
			char extra;

			if (read(fd, &extra, 1) > 0) {
				close(fd);
				explicit_bzero(buf, cap);
				snprintf(errbuf, errlen,
					 "nats: %s %s: longer than %zu bytes",
					 what, path, cap - 1);
				return -1;
			}
			break;
		}
	}
	if (n < 0) {
		int saved = errno;

		close(fd);
		explicit_bzero(buf, cap);
		snprintf(errbuf, errlen, "nats: %s %s: %s", what, path,
			 strerror(saved));
		return -1;
	}
	close(fd);
	if (used && buf[used - 1] == '\n')
		used--;
	if (used && buf[used - 1] == '\r')
		used--;
	buf[used] = '\0';
	if (!used || memchr(buf, '\0', used)) {
		explicit_bzero(buf, cap);
		snprintf(errbuf, errlen, "nats: %s %s: %s", what, path,
			 used ? "holds a NUL byte" : "is empty");
		return -1;
	}
	return 0;
}

/* Whether path can be opened for reading; else errbuf names it. The
 * client reads credential files only when it connects, with a vaguer
 * message. */
static int check_readable(const char *path, const char *what, char *errbuf,
			  size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(errbuf, errlen, "nats: %s %s: %s", what, path,
			 strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* The client's last error on this thread, or its status's text, without
 * the "(conn.c:733): " of the client's own source it may start with. */
static const char *last_error(natsStatus s)
{
	const char *text = nats_GetLastError(NULL);
	const char *end;

	if (!text || !*text)
		return natsStatus_GetText(s);
	if (text[0] == '(' && (end = strstr(text, "): ")) != NULL &&
	    !memchr(text, ' ', (size_t)(end - text)))
		return end + 3;
	return text;
}

/* Set TLS and credentials on opts. 0, or -1 with errbuf set. */
static int set_security(const struct nats_settings *s, natsOptions *opts,
			bool any_tls_url, char *errbuf, size_t errlen)
{
	natsStatus st;

	if (s->tls_ca || s->tls_cert || any_tls_url) {
		st = natsOptions_SetSecure(opts, true);
		if (st != NATS_OK) {
			snprintf(errbuf, errlen, "nats: tls: %s", last_error(st));
			return -1;
		}
	}
	if (s->tls_ca) {
		if (check_readable(s->tls_ca, "nats_tls_ca", errbuf, errlen))
			return -1;
		st = natsOptions_LoadCATrustedCertificates(opts, s->tls_ca);
		if (st != NATS_OK) {
			snprintf(errbuf, errlen, "nats: nats_tls_ca %s: %s",
				 s->tls_ca, last_error(st));
			return -1;
		}
	}
	if (s->tls_cert || s->tls_key) {
		if (!s->tls_cert || !s->tls_key) {
			snprintf(errbuf, errlen,
				 "nats: nats_tls_cert and nats_tls_key go together");
			return -1;
		}
		if (check_readable(s->tls_cert, "nats_tls_cert", errbuf, errlen) ||
		    check_readable(s->tls_key, "nats_tls_key", errbuf, errlen))
			return -1;
		st = natsOptions_LoadCertificatesChain(opts, s->tls_cert,
						       s->tls_key);
		if (st != NATS_OK) {
			snprintf(errbuf, errlen, "nats: nats_tls_cert %s: %s",
				 s->tls_cert, last_error(st));
			return -1;
		}
	}
	if (s->creds) {
		if (check_readable(s->creds, "nats_creds", errbuf, errlen))
			return -1;
		st = natsOptions_SetUserCredentialsFromFiles(opts, s->creds, NULL);
		if (st != NATS_OK) {
			snprintf(errbuf, errlen, "nats: nats_creds %s: %s", s->creds,
				 last_error(st));
			return -1;
		}
	}
	if (s->nkey_seed) {
		char pub[NATS_NKEY_PUBLIC_BUFSIZE];

		if (nats_nkey_public_from_seed_file(s->nkey_seed, pub, sizeof(pub),
						    errbuf, errlen))
			return -1;
		st = natsOptions_SetNKeyFromSeed(opts, pub, s->nkey_seed);
		if (st != NATS_OK) {
			snprintf(errbuf, errlen, "nats: nats_nkey_seed %s: %s",
				 s->nkey_seed, last_error(st));
			return -1;
		}
	}
	if (s->password_file || s->user) {
		char secret[NATS_SECRET_MAX];

		if (!s->password_file || !s->user) {
			snprintf(errbuf, errlen,
				 "nats: nats_user and nats_password_file go together");
			return -1;
		}
		if (read_secret(s->password_file, "nats_password_file", secret,
				sizeof(secret), errbuf, errlen))
			return -1;
		st = natsOptions_SetUserInfo(opts, s->user, secret);
		explicit_bzero(secret, sizeof(secret));
		if (st != NATS_OK) {
			snprintf(errbuf, errlen, "nats: nats_password_file %s: %s",
				 s->password_file, natsStatus_GetText(st));
			return -1;
		}
	}
	if (s->token_file) {
		char secret[NATS_SECRET_MAX];

		if (read_secret(s->token_file, "nats_token_file", secret,
				sizeof(secret), errbuf, errlen))
			return -1;
		st = natsOptions_SetToken(opts, secret);
		explicit_bzero(secret, sizeof(secret));
		if (st != NATS_OK) {
			snprintf(errbuf, errlen, "nats: nats_token_file %s: %s",
				 s->token_file, natsStatus_GetText(st));
			return -1;
		}
	}
	return 0;
}

/* One line for a failed connect: the servers, then what went wrong in the
 * words an operator searches for. */
static void connect_error(natsStatus st, const char *shown, bool tls,
			  char *errbuf, size_t errlen)
{
	const char *text = last_error(st);

	switch (st) {
	case NATS_CONNECTION_AUTH_FAILED:
	case NATS_NOT_PERMITTED:
		if (!strcasecmp(text, "authorization violation"))
			snprintf(errbuf, errlen, "nats: %s: authorization violation",
				 shown);
		else
			snprintf(errbuf, errlen,
				 "nats: %s: authorization violation (%s)", shown, text);
		break;
	case NATS_NO_SERVER:
		snprintf(errbuf, errlen,
			 "nats: %s: no server available (connection refused or unreachable)",
			 shown);
		break;
	case NATS_SSL_ERROR:
		snprintf(errbuf, errlen, "nats: %s: tls: %s", shown, text);
		break;
	case NATS_TIMEOUT:
		snprintf(errbuf, errlen, "nats: %s: connect timed out (%s)",
			 shown, text);
		break;
	default:
		/* A TLS server that wants a client certificate closes the
		 * connection after the handshake; the client only sees no
		 * answer to its first PING. */
		if (tls && strstr(text, "PONG"))
			snprintf(errbuf, errlen,
				 "nats: %s: tls: the server closed the connection after the handshake (a client certificate required? nats_tls_cert, nats_tls_key)",
				 shown);
		else
			snprintf(errbuf, errlen, "nats: %s: %s", shown, text);
		break;
	}
}

int nats_conn_open(const struct nats_settings *s, natsOptions *opts,
		   bool reconnect, int64_t api_timeout_ms, natsConnection **nc,
		   jsCtx **js, char *errbuf, size_t errlen)
{
	const char *urls[NATS_URLS_MAX];
	char shown[512];
	char *url_buf = NULL;
	bool own_opts = false, any_tls = false;
	natsStatus st;
	int n, i, rc = -1;

	*nc = NULL;
	if (js)
		*js = NULL;
	if (!s->url || !*s->url) {
		snprintf(errbuf, errlen, "nats: nats_url is not set");
		return -1;
	}
	nats_urls_shown(shown, sizeof(shown), s->url);
	n = split_urls(s->url, &url_buf, urls, errbuf, errlen);
	if (n < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (!strncmp(urls[i], "tls://", 6))
			any_tls = true;
	if (!opts) {
		if (natsOptions_Create(&opts) != NATS_OK) {
			snprintf(errbuf, errlen, "nats: out of memory");
			goto out;
		}
		own_opts = true;
	}
	st = natsOptions_SetServers(opts, urls, n);
	if (st == NATS_OK && s->connect_timeout_ms > 0)
		st = natsOptions_SetTimeout(opts, s->connect_timeout_ms);
	/* With reconnect, after a connection once made, the client
	 * reconnects for ever. Without it a lost connection is closed: the
	 * client's reconnect buffer (8 MB, no way to turn it off) would send
	 * what was published before the loss after it. A first connect fails
	 * at once either way and the thread retries with its own backoff,
	 * reporting why in between. */
	if (st == NATS_OK)
		st = natsOptions_SetAllowReconnect(opts, reconnect);
	if (st == NATS_OK && reconnect)
		st = natsOptions_SetMaxReconnect(opts, -1);
	if (st == NATS_OK && reconnect)
		st = natsOptions_SetReconnectWait(opts, 500);
	if (st == NATS_OK)
		st = natsOptions_SetRetryOnFailedConnect(opts, false, NULL, NULL);
	if (st != NATS_OK) {
		snprintf(errbuf, errlen, "nats: %s: %s", shown, last_error(st));
		goto out;
	}
	if (set_security(s, opts, any_tls, errbuf, errlen))
		goto out;
	st = natsConnection_Connect(nc, opts);
	if (st != NATS_OK) {
		connect_error(st, shown, any_tls || s->tls_ca || s->tls_cert,
			      errbuf, errlen);
		*nc = NULL;
		goto out;
	}
	if (js) {
		jsOptions jo;

		jsOptions_Init(&jo);
		if (api_timeout_ms > 0)
			jo.Wait = api_timeout_ms;
		st = natsConnection_JetStream(js, *nc, &jo);
		if (st != NATS_OK) {
			snprintf(errbuf, errlen, "nats: %s: jetstream: %s", shown,
				 last_error(st));
			*js = NULL;
			natsConnection_Destroy(*nc);
			*nc = NULL;
			goto out;
		}
	}
	rc = 0;
out:
	if (own_opts)
		natsOptions_Destroy(opts);
	free(url_buf);
	return rc;
}

void nats_conn_close(natsConnection *nc, jsCtx *js)
{
	if (js)
		jsCtx_Destroy(js);
	if (nc) {
		natsConnection_Close(nc);
		natsConnection_Destroy(nc);
	}
}

/* "120s" or "150ms" for a duration in ns. */
static void format_duration(char *out, size_t cap, int64_t ns)
{
	int64_t ms = ns / 1000000;

	if (ms % 1000 == 0)
		snprintf(out, cap, "%" PRId64 "s", ms / 1000);
	else
		snprintf(out, cap, "%" PRId64 "ms", ms);
}

/* Whether the stream subject pattern covers every subject of want (both
 * may hold wildcards): token by token, '>' covers the rest, '*' covers
 * one token that is not '>'. */
static bool subject_covers(const char *pattern, const char *want)
{
	const char *p = pattern, *w = want;

	for (;;) {
		size_t pl = strcspn(p, "."), wl = strcspn(w, ".");

		if (pl == 1 && *p == '>')
			return true;
		if (pl == 1 && *p == '*') {
			if (wl == 1 && *w == '>')
				return false;
		} else if (pl != wl || memcmp(p, w, pl) ||
			   (wl == 1 && (*w == '*' || *w == '>'))) {
			return false;
		}
		p += pl;
		w += wl;
		if (!*p || !*w)
			return !*p && !*w;
		p++;
		w++;
	}
}

static int stream_create(jsCtx *js, const struct nats_stream_spec *spec,
			 char *errbuf, size_t errlen)
{
	jsStreamConfig cfg;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	const char *subjects[1] = { spec->subjects };
	natsStatus st;

	jsStreamConfig_Init(&cfg);
	cfg.Name = spec->stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	if (spec->replicas > 0)
		cfg.Replicas = spec->replicas;
	cfg.Duplicates = spec->duplicate_window_ms * 1000000;
	cfg.MaxAge = spec->max_age_ms * 1000000;
	st = js_AddStream(&si, js, &cfg, NULL, &jerr);
	if (st != NATS_OK) {
		snprintf(errbuf, errlen, "stream %s: create: %s (%d)", spec->stream,
			 last_error(st), (int)jerr);
		return -1;
	}
	jsStreamInfo_Destroy(si);
	return 0;
}

int nats_stream_ensure(jsCtx *js, const struct nats_stream_spec *spec,
		       char *errbuf, size_t errlen)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus st;
	bool covered = false;
	int i, rc = -1;

	st = js_GetStreamInfo(&si, js, spec->stream, NULL, &jerr);
	if (st == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
		if (spec->create)
			return stream_create(js, spec, errbuf, errlen);
		snprintf(errbuf, errlen,
			 "stream %s: not found, and nats_stream_create is off",
			 spec->stream);
		return -1;
	}
	if (st != NATS_OK) {
		snprintf(errbuf, errlen, "stream %s: %s", spec->stream,
			 last_error(st));
		return -1;
	}
	for (i = 0; i < si->Config->SubjectsLen; i++)
		if (subject_covers(si->Config->Subjects[i], spec->subjects))
			covered = true;
	if (!covered) {
		snprintf(errbuf, errlen,
			 "stream %s: its subjects do not cover %s (%s%s)",
			 spec->stream, spec->subjects,
			 si->Config->SubjectsLen ? si->Config->Subjects[0] : "none",
			 si->Config->SubjectsLen > 1 ? ", ..." : "");
		goto out;
	}
	if (si->Config->Duplicates < spec->duplicate_window_ms * 1000000) {
		char have[32], want[32];

		format_duration(have, sizeof(have), si->Config->Duplicates);
		format_duration(want, sizeof(want),
				spec->duplicate_window_ms * 1000000);
		snprintf(errbuf, errlen,
			 "stream %s: duplicate window %s is shorter than nats_duplicate_window %s",
			 spec->stream, have, want);
		goto out;
	}
	rc = 0;
out:
	jsStreamInfo_Destroy(si);
	return rc;
}

/* Fill out from a stored message of the feed: its Crdb-Type and
 * Crdb-Updated headers. */
static int high_water_from(natsMsg *msg, const char *stream,
			   struct nats_high_water *out, char *errbuf,
			   size_t errlen)
{
	const char *type = NULL, *updated = NULL;
	crdb_error err;

	out->any = true;
	out->stream_seq = natsMsg_GetSequence(msg);
	if (natsMsgHeader_Get(msg, NATS_HDR_TYPE, &type) != NATS_OK ||
	    natsMsgHeader_Get(msg, NATS_HDR_UPDATED, &updated) != NATS_OK) {
		snprintf(errbuf, errlen,
			 "stream %s: message %" PRIu64 " on %s has no %s or %s header",
			 stream, out->stream_seq, natsMsg_GetSubject(msg),
			 NATS_HDR_TYPE, NATS_HDR_UPDATED);
		return -1;
	}
	out->resolved = !strcmp(type, "resolved");
	if (!out->resolved && strcmp(type, "row")) {
		snprintf(errbuf, errlen,
			 "stream %s: message %" PRIu64 ": %s is neither row nor resolved",
			 stream, out->stream_seq, NATS_HDR_TYPE);
		return -1;
	}
	if (crdb_hlc_parse(updated, strlen(updated), &out->updated, &err)) {
		snprintf(errbuf, errlen, "stream %s: message %" PRIu64 ": %s: %s",
			 stream, out->stream_seq, NATS_HDR_UPDATED, err.message);
		return -1;
	}
	return 0;
}

int nats_stream_high_water(jsCtx *js, const char *stream, const char *subjects,
			   struct nats_high_water *out, char *errbuf,
			   size_t errlen)
{
	natsMsg *msg = NULL;
	jsErrCode jerr = 0;
	natsStatus st;
	int rc;

	memset(out, 0, sizeof(*out));
	/* nats-server 2.9.10 answers a last-by-subject request for a
	 * wildcard subject with the newest message matching it
	 * (doc/nats.md, "The newest message of a feed"). */
	st = js_GetLastMsg(&msg, js, stream, subjects, NULL, &jerr);
	if (st == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
		return 0;
	if (st != NATS_OK) {
		snprintf(errbuf, errlen, "stream %s: last message on %s: %s",
			 stream, subjects, last_error(st));
		return -1;
	}
	rc = high_water_from(msg, stream, out, errbuf, errlen);
	natsMsg_Destroy(msg);
	return rc;
}
