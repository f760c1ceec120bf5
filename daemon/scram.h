/*
 * scram.h: the server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) for the
 * PostgreSQL-protocol LISTEN endpoint: verifiers in PostgreSQL's stored
 * form, the verifier file, and one authentication exchange. Passwords are
 * never stored; only scram_make_verifier sees one.
 *
 * Verifier file: one "user:verifier" per line, as pgbouncer's auth_file
 * holds "user" "secret" pairs; blank lines and lines starting with '#' are
 * skipped; the user name is everything before the first ':' (no ':' in
 * names), the verifier is PostgreSQL's
 *   SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
 * (what pg_authid.rolpassword holds), so a verifier can be copied from a
 * PostgreSQL server. A line that does not parse fails the whole load.
 */
#ifndef CRDBFEEDD_SCRAM_H
#define CRDBFEEDD_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCRAM_KEY_LEN 32
#define SCRAM_MAX_SALT 64
#define SCRAM_DEFAULT_ITERATIONS 4096
/* Fewer than this are refused when a verifier is read or made. */
#define SCRAM_MIN_ITERATIONS 4096
#define SCRAM_MAX_ITERATIONS 10000000
/* Longest verifier text (salt and keys at their largest), with its NUL. */
#define SCRAM_VERIFIER_MAX 200
#define SCRAM_MAX_USER 63
/* Longest SASL message the exchange accepts from a client. */
#define SCRAM_MAX_MESSAGE 1024

struct scram_verifier {
	int iterations;
	unsigned char salt[SCRAM_MAX_SALT];
	size_t salt_len;
	unsigned char stored_key[SCRAM_KEY_LEN];
	unsigned char server_key[SCRAM_KEY_LEN];
};

/* Parse PostgreSQL's verifier text. 0, or -1 with errbuf set. */
int scram_parse_verifier(const char *text, struct scram_verifier *v,
			 char *errbuf, size_t errlen);

/*
 * Make a verifier for password with a fresh random 16-byte salt (salt
 * NULL) or the given one, into out (SCRAM_VERIFIER_MAX bytes are always
 * enough). 0, or -1 with errbuf set.
 */
int scram_make_verifier(const char *password, int iterations,
			const unsigned char *salt, size_t salt_len,
			char *out, size_t outlen, char *errbuf, size_t errlen);

/* Users and their verifiers, from a verifier file. */
struct scram_users;

struct scram_users *scram_users_load(const char *path, size_t max_users,
				     char *errbuf, size_t errlen);
/* The user's verifier, or NULL. */
const struct scram_verifier *scram_users_find(const struct scram_users *users,
					      const char *user);
size_t scram_users_count(const struct scram_users *users);
void scram_users_free(struct scram_users *users);

/*
 * One exchange. verifier NULL (an unknown user) runs a mock exchange with
 * a salt derived from the user name and a secret of the process, so that
 * it looks the same from outside as a real one, and fails at the end.
 */
struct scram_exchange {
	struct scram_verifier verifier;
	bool mock;
	int state; /* 0: wants client-first; 1: wants client-final; 2: done */
	char gs2_header[4]; /* "n,," or "y,," */
	char nonce[128];    /* client nonce then server nonce */
	char client_first_bare[SCRAM_MAX_MESSAGE + 1];
	char server_first[256];
};

void scram_exchange_init(struct scram_exchange *ex,
			 const struct scram_verifier *verifier,
			 const char *user);

/*
 * The client-first message (from SASLInitialResponse) in, the
 * server-first message out (NUL-terminated). server_nonce NULL draws a
 * random one (a fixed one is for tests). 0, or -1 with errbuf set when the
 * message is malformed or asks for what is not offered (channel binding).
 */
int scram_server_first(struct scram_exchange *ex, const char *msg, size_t len,
		       const char *server_nonce, char *out, size_t outlen,
		       char *errbuf, size_t errlen);

/*
 * The client-final message in. Returns 1 when the proof is right (out has
 * the server-final message), 0 when it is wrong (the same work is done
 * either way), -1 with errbuf set when the message is malformed.
 */
int scram_server_final(struct scram_exchange *ex, const char *msg, size_t len,
		       char *out, size_t outlen, char *errbuf, size_t errlen);

/* Standard base64 with padding; outlen must hold 4*ceil(len/3)+1. */
size_t scram_base64_encode(const unsigned char *in, size_t len, char *out);
/* Strict decoding (padding required). Length, or -1. */
long scram_base64_decode(const char *in, size_t len, unsigned char *out,
			 size_t outlen);

#endif /* CRDBFEEDD_SCRAM_H */
