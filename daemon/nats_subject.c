/*
 * nats_subject.c: NATS subjects for a feed's rows and resolved timestamps,
 * the reversible escaping of names into subject tokens, and content-derived
 * Nats-Msg-Ids (the rules are in nats_subject.h).
 */
#include <config.h> /* autoconf's, from the build directory */
#include "nats_subject.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

static void fail(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (errbuf == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static const char hex_upper[] = "0123456789ABCDEF";

/* Whether escaping writes byte c as itself at position pos of a token. */
static bool kept_as_is(unsigned char c, size_t pos)
{
	if (c < 0x21 || c > 0x7e)
		return false;
	if (c == '.' || c == '*' || c == '>' || c == '%')
		return false;
	return !(c == '_' && pos == 0);
}

int nats_subject_token(char *out, size_t cap, size_t *out_len,
		       const char *name, size_t name_len, char *errbuf,
		       size_t errlen)
{
	if (name_len == 0) {
		fail(errbuf, errlen, "nats subject: empty name");
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < name_len; i++) {
		unsigned char c = (unsigned char)name[i];
		size_t need = kept_as_is(c, i) ? 1 : 3;
		if (cap == 0 || n + need > cap - 1) {
			fail(errbuf, errlen,
			     "nats subject: escaped name longer than %zu bytes",
			     cap == 0 ? 0 : cap - 1);
			return -1;
		}
		if (need == 1) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex_upper[c >> 4];
			out[n++] = hex_upper[c & 0xf];
		}
	}
	out[n] = '\0';
	*out_len = n;
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int nats_subject_untoken(char *out, size_t cap, size_t *out_len,
			 const char *token, size_t token_len, char *errbuf,
			 size_t errlen)
{
	if (token_len == 0) {
		fail(errbuf, errlen, "nats subject: empty token");
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < token_len; i++) {
		if (cap == 0 || n + 1 > cap - 1) {
			fail(errbuf, errlen,
			     "nats subject: name longer than %zu bytes",
			     cap == 0 ? 0 : cap - 1);
			return -1;
		}
		unsigned char c = (unsigned char)token[i];
		if (c != '%') {
			if (!kept_as_is(c, n)) {
				fail(errbuf, errlen,
				     "nats subject: byte 0x%02X at %zu of a "
				     "token is never left unescaped", c, i);
				return -1;
			}
			out[n++] = (char)c;
			continue;
		}
		int hi = i + 2 < token_len ? hex_value(token[i + 1]) : -1;
		int lo = hi >= 0 ? hex_value(token[i + 2]) : -1;
		if (lo < 0) {
			fail(errbuf, errlen,
			     "nats subject: bad escape at %zu of a token "
			     "(want %%XX, upper-case hex)", i);
			return -1;
		}
		unsigned char decoded = (unsigned char)(hi << 4 | lo);
		if (kept_as_is(decoded, n)) {
			fail(errbuf, errlen,
			     "nats subject: escape at %zu of a token stands "
			     "for a byte that is never escaped", i);
			return -1;
		}
		out[n++] = (char)decoded;
		i += 2;
	}
	out[n] = '\0';
	*out_len = n;
	return 0;
}

int nats_subject_prefix_check(const char *prefix, char *errbuf,
			      size_t errlen)
{
	size_t len = strlen(prefix);
	if (len == 0) {
		fail(errbuf, errlen, "nats subject prefix: empty");
		return -1;
	}
	if (len > NATS_SUBJECT_MAX / 2) {
		fail(errbuf, errlen,
		     "nats subject prefix: longer than %d bytes",
		     NATS_SUBJECT_MAX / 2);
		return -1;
	}
	size_t token_start = 0;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)prefix[i];
		if (c == '.' || c == '\0') {
			if (i == token_start) {
				fail(errbuf, errlen,
				     "nats subject prefix \"%s\": empty token "
				     "at %zu", prefix, i);
				return -1;
			}
			token_start = i + 1;
			continue;
		}
		if (c < 0x21 || c > 0x7e || c == '*' || c == '>') {
			fail(errbuf, errlen,
			     "nats subject prefix: byte 0x%02X at %zu is not "
			     "allowed (printable ASCII, no '*' or '>')", c, i);
			return -1;
		}
	}
	return 0;
}

/* PREFIX.FEED. into out; returns its length, or 0 with errbuf set. */
static size_t subject_head(char *out, size_t cap, const char *prefix,
			   const char *feed, char *errbuf, size_t errlen)
{
	if (nats_subject_prefix_check(prefix, errbuf, errlen) != 0)
		return 0;
	size_t limit = cap < NATS_SUBJECT_MAX ? cap : NATS_SUBJECT_MAX;
	size_t plen = strlen(prefix);
	if (plen + 2 >= limit) {
		fail(errbuf, errlen, "nats subject: longer than %zu bytes",
		     limit == 0 ? 0 : limit - 1);
		return 0;
	}
	memcpy(out, prefix, plen);
	out[plen] = '.';
	size_t feed_len;
	if (nats_subject_token(out + plen + 1, limit - plen - 1, &feed_len,
			       feed, strlen(feed), errbuf, errlen) != 0)
		return 0;
	size_t n = plen + 1 + feed_len;
	if (n + 2 >= limit) {
		fail(errbuf, errlen, "nats subject: longer than %zu bytes",
		     limit - 1);
		return 0;
	}
	out[n++] = '.';
	out[n] = '\0';
	return n;
}

int nats_subject_row(char *out, size_t cap, const char *prefix,
		     const char *feed, const char *table, size_t table_len,
		     char *errbuf, size_t errlen)
{
	size_t n = subject_head(out, cap, prefix, feed, errbuf, errlen);
	if (n == 0)
		return -1;
	size_t limit = cap < NATS_SUBJECT_MAX ? cap : NATS_SUBJECT_MAX;
	size_t table_token_len;
	return nats_subject_token(out + n, limit - n, &table_token_len, table,
				  table_len, errbuf, errlen);
}

int nats_subject_resolved(char *out, size_t cap, const char *prefix,
			  const char *feed, char *errbuf, size_t errlen)
{
	size_t n = subject_head(out, cap, prefix, feed, errbuf, errlen);
	if (n == 0)
		return -1;
	size_t limit = cap < NATS_SUBJECT_MAX ? cap : NATS_SUBJECT_MAX;
	if (n + sizeof NATS_SUBJECT_RESOLVED > limit) {
		fail(errbuf, errlen, "nats subject: longer than %zu bytes",
		     limit - 1);
		return -1;
	}
	memcpy(out + n, NATS_SUBJECT_RESOLVED, sizeof NATS_SUBJECT_RESOLVED);
	return 0;
}

/* The hashed fields, serialised the same way on every host: lengths and
 * numbers as 8 big-endian bytes. Returns 0, or -1 when OpenSSL fails. */
static int hash_u64(EVP_MD_CTX *ctx, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (56 - 8 * i));
	return EVP_DigestUpdate(ctx, b, sizeof b) == 1 ? 0 : -1;
}

static int hash_field(EVP_MD_CTX *ctx, const void *p, size_t len)
{
	if (hash_u64(ctx, (uint64_t)len) != 0)
		return -1;
	return len == 0 || EVP_DigestUpdate(ctx, p, len) == 1 ? 0 : -1;
}

static int hash_hlc(EVP_MD_CTX *ctx, crdb_hlc hlc)
{
	if (hash_u64(ctx, (uint64_t)hlc.wall) != 0)
		return -1;
	return hash_u64(ctx, (uint64_t)(uint32_t)hlc.logical);
}

/* One id: the tag, the identity, the HLC, then (for rows) table and key. */
static int msg_id(char out[NATS_MSG_ID_BUFSIZE], const char *tag,
		  const char *feed_identity, size_t identity_len, crdb_hlc hlc,
		  const char *table, size_t table_len, const char *key,
		  size_t key_len, char *errbuf, size_t errlen)
{
	static const char hex_lower[] = "0123456789abcdef";
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL &&
		 EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		 hash_field(ctx, tag, strlen(tag)) == 0 &&
		 hash_field(ctx, feed_identity, identity_len) == 0 &&
		 hash_hlc(ctx, hlc) == 0 &&
		 (table == NULL ||
		  (hash_field(ctx, table, table_len) == 0 &&
		   hash_field(ctx, key, key_len) == 0)) &&
		 EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1 &&
		 digest_len >= 16;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		fail(errbuf, errlen, "nats msg-id: SHA-256 failed (OpenSSL)");
		return -1;
	}
	out[0] = '1';
	out[1] = '-';
	for (int i = 0; i < 16; i++) {
		out[2 + 2 * i] = hex_lower[digest[i] >> 4];
		out[3 + 2 * i] = hex_lower[digest[i] & 0xf];
	}
	out[NATS_MSG_ID_BUFSIZE - 1] = '\0';
	return 0;
}

int nats_msg_id_row(char out[NATS_MSG_ID_BUFSIZE], const char *feed_identity,
		    size_t identity_len, crdb_hlc updated, const char *table,
		    size_t table_len, const char *key, size_t key_len,
		    char *errbuf, size_t errlen)
{
	return msg_id(out, "crdbfeed nats msg-id v1 row", feed_identity,
		      identity_len, updated, table == NULL ? "" : table,
		      table_len, key, key_len, errbuf, errlen);
}

int nats_msg_id_resolved(char out[NATS_MSG_ID_BUFSIZE],
			 const char *feed_identity, size_t identity_len,
			 crdb_hlc resolved, char *errbuf, size_t errlen)
{
	return msg_id(out, "crdbfeed nats msg-id v1 resolved", feed_identity,
		      identity_len, resolved, NULL, 0, NULL, 0, errbuf,
		      errlen);
}
