/*
 * scram.c: SCRAM-SHA-256 for the LISTEN endpoint, server side, with
 * OpenSSL's primitives (scram.h): verifiers, the verifier file, one
 * exchange. Passwords are taken as their bytes (no SASLprep), which is
 * what PostgreSQL does for any password that is plain ASCII.
 */
#include <config.h> /* autoconf's, from the build directory */
#include "scram.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "errbuf.h"

#define SCRAM_SALT_LEN 16
#define SCRAM_NONCE_BYTES 18
#define SCRAM_MAX_NONCE 64

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t scram_base64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64_chars[(v >> 18) & 63];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64_chars[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_chars, c) : NULL;
	return p ? (int)(p - b64_chars) : -1;
}

long scram_base64_decode(const char *in, size_t len, unsigned char *out,
			 size_t outlen)
{
	size_t o = 0;
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return -1; /* data after '=' */
			v[k] = b64_value(in[i + k]);
			if (v[k] < 0)
				return -1;
		}
		unsigned bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 |
				(unsigned)v[2] << 6 | (unsigned)v[3];
		size_t n = 3 - (size_t)pad;
		if (o + n > outlen)
			return -1;
		out[o++] = (unsigned char)(bits >> 16);
		if (n > 1)
			out[o++] = (unsigned char)(bits >> 8);
		if (n > 2)
			out[o++] = (unsigned char)bits;
	}
	return (long)o;
}

static int hmac256(const unsigned char *key, size_t keylen,
		   const void *data, size_t len, unsigned char *out)
{
	unsigned int outlen = SCRAM_KEY_LEN;
	return HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen)
		       ? 0 : -1;
}

static int keys_from_password(const char *password, int iterations,
			      const unsigned char *salt, size_t salt_len,
			      struct scram_verifier *v)
{
	unsigned char salted[SCRAM_KEY_LEN];
	unsigned char client_key[SCRAM_KEY_LEN];
	int rc = -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
			      (int)salt_len, iterations, EVP_sha256(),
			      SCRAM_KEY_LEN, salted) == 1 &&
	    hmac256(salted, sizeof salted, "Client Key", 10, client_key) == 0 &&
	    SHA256(client_key, sizeof client_key, v->stored_key) != NULL &&
	    hmac256(salted, sizeof salted, "Server Key", 10, v->server_key) == 0)
		rc = 0;
	OPENSSL_cleanse(salted, sizeof salted);
	OPENSSL_cleanse(client_key, sizeof client_key);
	v->iterations = iterations;
	memcpy(v->salt, salt, salt_len);
	v->salt_len = salt_len;
	return rc;
}

static int format_verifier(const struct scram_verifier *v, char *out,
			   size_t outlen)
{
	char salt[SCRAM_MAX_SALT * 4 / 3 + 5];
	char stored[SCRAM_KEY_LEN * 4 / 3 + 5];
	char server[SCRAM_KEY_LEN * 4 / 3 + 5];
	scram_base64_encode(v->salt, v->salt_len, salt);
	scram_base64_encode(v->stored_key, SCRAM_KEY_LEN, stored);
	scram_base64_encode(v->server_key, SCRAM_KEY_LEN, server);
	int n = snprintf(out, outlen, "SCRAM-SHA-256$%d:%s$%s:%s",
			 v->iterations, salt, stored, server);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int scram_make_verifier(const char *password, int iterations,
			const unsigned char *salt, size_t salt_len,
			char *out, size_t outlen, char *errbuf, size_t errlen)
{
	unsigned char fresh[SCRAM_SALT_LEN];
	struct scram_verifier v;
	if (iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
		errbuf_add(errbuf, errlen, "scram: iterations %d out of range %d..%d",
			   iterations, SCRAM_MIN_ITERATIONS, SCRAM_MAX_ITERATIONS);
		return -1;
	}
	if (salt == NULL) {
		if (RAND_bytes(fresh, sizeof fresh) != 1) {
			errbuf_add(errbuf, errlen, "scram: no random bytes for a salt");
			return -1;
		}
		salt = fresh;
		salt_len = sizeof fresh;
	}
	if (salt_len == 0 || salt_len > SCRAM_MAX_SALT) {
		errbuf_add(errbuf, errlen, "scram: salt of %zu bytes (1..%d)",
			   salt_len, SCRAM_MAX_SALT);
		return -1;
	}
	if (keys_from_password(password, iterations, salt, salt_len, &v) != 0 ||
	    format_verifier(&v, out, outlen) != 0) {
		OPENSSL_cleanse(&v, sizeof v);
		errbuf_add(errbuf, errlen, "scram: cannot make a verifier (crypto failure or output too small)");
		return -1;
	}
	OPENSSL_cleanse(&v, sizeof v);
	return 0;
}

/* Decode base64 text [start, end) into exactly want bytes (0: 1..max). */
static long decode_field(const char *start, const char *end,
			 unsigned char *out, size_t max, size_t want)
{
	long n = scram_base64_decode(start, (size_t)(end - start), out, max);
	if (n <= 0 || (want && (size_t)n != want))
		return -1;
	return n;
}

int scram_parse_verifier(const char *text, struct scram_verifier *v,
			 char *errbuf, size_t errlen)
{
	static const char prefix[] = "SCRAM-SHA-256$";
	const char *p = text;
	memset(v, 0, sizeof *v);
	if (strncmp(p, prefix, sizeof prefix - 1) != 0) {
		errbuf_add(errbuf, errlen, "scram verifier: does not start with %s", prefix);
		return -1;
	}
	p += sizeof prefix - 1;
	char *end;
	errno = 0;
	long it = strtol(p, &end, 10);
	if (end == p || *end != ':' || errno || it < SCRAM_MIN_ITERATIONS ||
	    it > SCRAM_MAX_ITERATIONS) {
		errbuf_add(errbuf, errlen, "scram verifier: iterations missing or out of range %d..%d",
			   SCRAM_MIN_ITERATIONS, SCRAM_MAX_ITERATIONS);
		return -1;
	}
	v->iterations = (int)it;
	const char *salt = end + 1;
	const char *dollar = strchr(salt, '$');
	const char *colon = dollar ? strchr(dollar + 1, ':') : NULL;
	long n;
	if (!dollar || !colon ||
	    (n = decode_field(salt, dollar, v->salt, SCRAM_MAX_SALT, 0)) < 0 ||
	    decode_field(dollar + 1, colon, v->stored_key, SCRAM_KEY_LEN, SCRAM_KEY_LEN) < 0 ||
	    decode_field(colon + 1, colon + 1 + strlen(colon + 1), v->server_key,
			 SCRAM_KEY_LEN, SCRAM_KEY_LEN) < 0) {
		errbuf_add(errbuf, errlen, "scram verifier: want <iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey> (32-byte keys)");
		memset(v, 0, sizeof *v);
		return -1;
	}
	v->salt_len = (size_t)n;
	return 0;
}

struct scram_user {
	char name[SCRAM_MAX_USER + 1];
	struct scram_verifier verifier;
};

struct scram_users {
	struct scram_user *users;
	size_t count;
};

struct scram_users *scram_users_load(const char *path, size_t max_users,
				     char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		errbuf_add(errbuf, errlen, "scram verifier file %s: %s", path, strerror(errno));
		return NULL;
	}
	struct scram_users *u = calloc(1, sizeof *u);
	char line[SCRAM_MAX_USER + SCRAM_VERIFIER_MAX + 8];
	unsigned lineno = 0;
	int bad = u == NULL;
	while (!bad && fgets(line, sizeof line, f)) {
		lineno++;
		size_t len = strlen(line);
		if (len == sizeof line - 1 && line[len - 1] != '\n') {
			errbuf_add(errbuf, errlen, "%s:%u: line too long", path, lineno);
			bad = 1;
			break;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		char *colon = strchr(line, ':');
		if (!colon || colon == line || colon - line > SCRAM_MAX_USER) {
			errbuf_add(errbuf, errlen, "%s:%u: want user:verifier (user of 1..%d bytes)",
				   path, lineno, SCRAM_MAX_USER);
			bad = 1;
			break;
		}
		*colon = '\0';
		if (scram_users_find(u, line)) {
			errbuf_add(errbuf, errlen, "%s:%u: user %s given twice", path, lineno, line);
			bad = 1;
			break;
		}
		if (u->count >= max_users) {
			errbuf_add(errbuf, errlen, "%s:%u: more than %zu users", path, lineno, max_users);
			bad = 1;
			break;
		}
		struct scram_user *grown = realloc(u->users, (u->count + 1) * sizeof *grown);
		if (!grown) {
			errbuf_add(errbuf, errlen, "%s: out of memory", path);
			bad = 1;
			break;
		}
		u->users = grown;
		struct scram_user *one = &u->users[u->count];
		/* colon - line <= SCRAM_MAX_USER, checked above */
		memcpy(one->name, line, (size_t)(colon - line) + 1);
		char why[200] = "";
		if (scram_parse_verifier(colon + 1, &one->verifier, why, sizeof why) != 0) {
			errbuf_add(errbuf, errlen, "%s:%u: %s", path, lineno, why);
			bad = 1;
			break;
		}
		u->count++;
	}
	if (!bad && ferror(f)) {
		errbuf_add(errbuf, errlen, "%s: read error", path);
		bad = 1;
	}
	fclose(f);
	OPENSSL_cleanse(line, sizeof line);
	if (bad) {
		scram_users_free(u);
		return NULL;
	}
	return u;
}

const struct scram_verifier *scram_users_find(const struct scram_users *users,
					      const char *user)
{
	for (size_t i = 0; users && i < users->count; i++)
		if (strcmp(users->users[i].name, user) == 0)
			return &users->users[i].verifier;
	return NULL;
}

size_t scram_users_count(const struct scram_users *users)
{
	return users ? users->count : 0;
}

void scram_users_free(struct scram_users *users)
{
	if (!users)
		return;
	if (users->users)
		OPENSSL_cleanse(users->users, users->count * sizeof *users->users);
	free(users->users);
	free(users);
}

/* A secret drawn once per process, from which mock salts and keys come. */
static unsigned char mock_secret[32];
static bool mock_secret_ready;

static void mock_verifier(const char *user, struct scram_verifier *v)
{
	unsigned char digest[SCRAM_KEY_LEN];
	if (!mock_secret_ready) {
		if (RAND_bytes(mock_secret, sizeof mock_secret) != 1)
			memset(mock_secret, 0x5a, sizeof mock_secret);
		mock_secret_ready = true;
	}
	memset(v, 0, sizeof *v);
	v->iterations = SCRAM_DEFAULT_ITERATIONS;
	hmac256(mock_secret, sizeof mock_secret, user, strlen(user), digest);
	memcpy(v->salt, digest, SCRAM_SALT_LEN);
	v->salt_len = SCRAM_SALT_LEN;
	hmac256(mock_secret, sizeof mock_secret, "stored", 6, v->stored_key);
	hmac256(mock_secret, sizeof mock_secret, "server", 6, v->server_key);
}

void scram_exchange_init(struct scram_exchange *ex,
			 const struct scram_verifier *verifier,
			 const char *user)
{
	memset(ex, 0, sizeof *ex);
	if (verifier) {
		ex->verifier = *verifier;
	} else {
		mock_verifier(user, &ex->verifier);
		ex->mock = true;
	}
}

/* A message as a C string: no NUL inside, bounded. */
static int message_text(const char *msg, size_t len, char *out, size_t outlen)
{
	if (len >= outlen || memchr(msg, '\0', len))
		return -1;
	memcpy(out, msg, len);
	out[len] = '\0';
	return 0;
}

static bool nonce_ok(const char *s, size_t len)
{
	if (len == 0 || len > SCRAM_MAX_NONCE)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	return true;
}

int scram_server_first(struct scram_exchange *ex, const char *msg, size_t len,
		       const char *server_nonce, char *out, size_t outlen,
		       char *errbuf, size_t errlen)
{
	char text[SCRAM_MAX_MESSAGE + 1];
	if (ex->state != 0 || message_text(msg, len, text, sizeof text) != 0) {
		errbuf_add(errbuf, errlen, "SCRAM client-first message out of order, too long or holding NUL");
		return -1;
	}
	if (text[0] == 'p') {
		errbuf_add(errbuf, errlen, "SCRAM channel binding was asked for, but only SCRAM-SHA-256 without it is offered");
		return -1;
	}
	if ((text[0] != 'n' && text[0] != 'y') || text[1] != ',' || text[2] != ',') {
		errbuf_add(errbuf, errlen, "SCRAM client-first message: want a GS2 header \"n,,\" (no authorization identity)");
		return -1;
	}
	memcpy(ex->gs2_header, text, 3);
	ex->gs2_header[3] = '\0';
	const char *bare = text + 3;
	const char *comma = strchr(bare, ',');
	if (strncmp(bare, "n=", 2) != 0 || !comma || strncmp(comma + 1, "r=", 2) != 0) {
		errbuf_add(errbuf, errlen, "SCRAM client-first message: want n=<user>,r=<nonce>");
		return -1;
	}
	const char *cnonce = comma + 3;
	size_t cnonce_len = strlen(cnonce);
	if (!nonce_ok(cnonce, cnonce_len)) {
		errbuf_add(errbuf, errlen, "SCRAM client-first message: bad client nonce (or extensions, which are not supported)");
		return -1;
	}
	char fresh[SCRAM_NONCE_BYTES * 4 / 3 + 5];
	if (server_nonce == NULL) {
		unsigned char raw[SCRAM_NONCE_BYTES];
		if (RAND_bytes(raw, sizeof raw) != 1) {
			errbuf_add(errbuf, errlen, "SCRAM: no random bytes for a nonce");
			return -1;
		}
		scram_base64_encode(raw, sizeof raw, fresh);
		server_nonce = fresh;
	}
	if (!nonce_ok(server_nonce, strlen(server_nonce))) {
		errbuf_add(errbuf, errlen, "SCRAM: bad server nonce");
		return -1;
	}
	snprintf(ex->client_first_bare, sizeof ex->client_first_bare, "%s", bare);
	snprintf(ex->nonce, sizeof ex->nonce, "%s%s", cnonce, server_nonce);
	char salt[SCRAM_MAX_SALT * 4 / 3 + 5];
	scram_base64_encode(ex->verifier.salt, ex->verifier.salt_len, salt);
	int n = snprintf(ex->server_first, sizeof ex->server_first, "r=%s,s=%s,i=%d",
			 ex->nonce, salt, ex->verifier.iterations);
	if (n < 0 || (size_t)n >= sizeof ex->server_first || (size_t)n >= outlen) {
		errbuf_add(errbuf, errlen, "SCRAM: server-first message too long");
		return -1;
	}
	memcpy(out, ex->server_first, (size_t)n + 1);
	ex->state = 1;
	return 0;
}

int scram_server_final(struct scram_exchange *ex, const char *msg, size_t len,
		       char *out, size_t outlen, char *errbuf, size_t errlen)
{
	char text[SCRAM_MAX_MESSAGE + 1];
	if (ex->state != 1 || message_text(msg, len, text, sizeof text) != 0) {
		errbuf_add(errbuf, errlen, "SCRAM client-final message out of order, too long or holding NUL");
		return -1;
	}
	ex->state = 2;
	char binding[8];
	scram_base64_encode((const unsigned char *)ex->gs2_header, 3, binding);
	char *proof_at = strstr(text, ",p=");
	char *nonce_at = strchr(text, ',');
	if (strncmp(text, "c=", 2) != 0 || !nonce_at || !proof_at ||
	    (size_t)(nonce_at - text - 2) != strlen(binding) ||
	    strncmp(text + 2, binding, strlen(binding)) != 0) {
		errbuf_add(errbuf, errlen, "SCRAM client-final message: want c=%s,r=<nonce>,p=<proof>", binding);
		return -1;
	}
	size_t nonce_len = strlen(ex->nonce);
	if (strncmp(nonce_at + 1, "r=", 2) != 0 ||
	    strncmp(nonce_at + 3, ex->nonce, nonce_len) != 0 ||
	    nonce_at + 3 + nonce_len != proof_at) {
		errbuf_add(errbuf, errlen, "SCRAM client-final message: the nonce does not match");
		return -1;
	}
	unsigned char proof[SCRAM_KEY_LEN];
	if (decode_field(proof_at + 3, proof_at + 3 + strlen(proof_at + 3), proof,
			 sizeof proof, SCRAM_KEY_LEN) < 0) {
		errbuf_add(errbuf, errlen, "SCRAM client-final message: the proof is not 32 bytes of base64");
		return -1;
	}
	*proof_at = '\0'; /* text is now client-final-without-proof */
	char auth_message[sizeof ex->client_first_bare + sizeof ex->server_first +
			  sizeof text + 2];
	int n = snprintf(auth_message, sizeof auth_message, "%s,%s,%s",
			 ex->client_first_bare, ex->server_first, text);
	if (n < 0 || (size_t)n >= sizeof auth_message) {
		errbuf_add(errbuf, errlen, "SCRAM: auth message too long");
		return -1;
	}
	unsigned char signature[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	unsigned char check[SCRAM_KEY_LEN], server_sig[SCRAM_KEY_LEN];
	if (hmac256(ex->verifier.stored_key, SCRAM_KEY_LEN, auth_message, (size_t)n, signature) != 0 ||
	    hmac256(ex->verifier.server_key, SCRAM_KEY_LEN, auth_message, (size_t)n, server_sig) != 0) {
		errbuf_add(errbuf, errlen, "SCRAM: HMAC failed");
		return -1;
	}
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
		client_key[i] = proof[i] ^ signature[i];
	SHA256(client_key, sizeof client_key, check);
	int same = CRYPTO_memcmp(check, ex->verifier.stored_key, SCRAM_KEY_LEN) == 0;
	OPENSSL_cleanse(client_key, sizeof client_key);
	if (!same || ex->mock)
		return 0;
	char sig64[SCRAM_KEY_LEN * 4 / 3 + 5];
	scram_base64_encode(server_sig, sizeof server_sig, sig64);
	n = snprintf(out, outlen, "v=%s", sig64);
	if (n < 0 || (size_t)n >= outlen) {
		errbuf_add(errbuf, errlen, "SCRAM: server-final message too long");
		return -1;
	}
	return 1;
}
