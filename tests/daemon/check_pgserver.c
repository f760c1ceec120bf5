/*
 * check_pgserver.c: the LISTEN endpoint's protocol state machine and its
 * SCRAM-SHA-256, driven with hand-made client messages: start-up
 * variants, TLS negotiation, bad and oversized packets, RFC 7677's SCRAM
 * example, the simple and extended query protocols, folding and quoting,
 * limits.
 */
#include <config.h> /* autoconf's, from the build directory */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/pgserver.h"
#include "daemon/scram.h"

struct msg {
	unsigned char data[70000];
	size_t len;
};

static void add(struct msg *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->len + n, sizeof m->data);
	if (n == 0)
		return;
	memcpy(m->data + m->len, p, n);
	m->len += n;
}

static void add32(struct msg *m, uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
	add(m, b, 4);
}

static void add16(struct msg *m, unsigned v)
{
	unsigned char b[2] = {v >> 8, v};
	add(m, b, 2);
}

static void adds(struct msg *m, const char *s)
{
	add(m, s, strlen(s) + 1);
}

/* Append a typed message whose body is body/len. */
static void typed(struct msg *m, char type, const void *body, size_t len)
{
	add(m, &type, 1);
	add32(m, (uint32_t)len + 4);
	add(m, body, len);
}

static void startup(struct msg *m, const char *user, const char *app)
{
	struct msg b = {.len = 0};
	add32(&b, 196608);
	adds(&b, "user");
	adds(&b, user);
	adds(&b, "database");
	adds(&b, "x");
	if (app) {
		adds(&b, "application_name");
		adds(&b, app);
	}
	add(&b, "", 1);
	add32(m, (uint32_t)b.len + 4);
	add(m, b.data, b.len);
}

static void query(struct msg *m, const char *q)
{
	typed(m, 'Q', q, strlen(q) + 1);
}

static struct pgs_session *session(enum pgs_auth auth, size_t max_channels,
				   const struct scram_users *users)
{
	struct pgs_config cfg = {.auth = auth, .max_channels = max_channels,
				 .pid = 4242, .secret = 0xdeadbeef, .users = users,
				 .test_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"};
	struct pgs_session *s = pgs_new(&cfg);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void feed(struct pgs_session *s, const struct msg *m)
{
	size_t used = pgs_input(s, m->data, m->len);
	if (pgs_state(s) != PGS_CLOSED && pgs_state(s) != PGS_CANCEL)
		ck_assert_uint_eq(used, m->len);
}

/* The output's message types, as a string ("R" "S"... "Z"). */
static void types(struct pgs_session *s, char *out, size_t outlen)
{
	struct textbuf *o = pgs_out(s);
	size_t i = 0, n = 0;
	while (i + 5 <= o->len && n + 1 < outlen) {
		const unsigned char *p = (const unsigned char *)o->data + i;
		uint32_t len = (uint32_t)p[1] << 24 | p[2] << 16 | p[3] << 8 | p[4];
		out[n++] = (char)p[0];
		i += 1 + len;
	}
	out[n] = '\0';
}

/* Whether the output holds these bytes (NULs included: a literal's length). */
#define out_has(s, literal) out_has_bytes(s, literal, sizeof(literal) - 1)

static bool out_has_bytes(struct pgs_session *s, const char *bytes, size_t len)
{
	struct textbuf *o = pgs_out(s);
	return memmem(o->data, o->len, bytes, len) != NULL;
}

static struct pgs_session *ready_session(size_t max_channels)
{
	struct pgs_session *s = session(PGS_AUTH_TRUST, max_channels, NULL);
	struct msg m = {.len = 0};
	startup(&m, "alice", "myapp");
	feed(s, &m);
	ck_assert_int_eq(pgs_state(s), PGS_READY);
	pgs_out_clear(s);
	return s;
}

START_TEST(test_startup_trust)
{
	struct pgs_session *s = session(PGS_AUTH_TRUST, 0, NULL);
	struct msg m = {.len = 0};
	startup(&m, "alice", "myapp");
	/* Fed in two pieces: a partial packet waits for the rest. */
	ck_assert_uint_eq(pgs_input(s, m.data, 7), 0);
	feed(s, &m);
	char t[64];
	types(s, t, sizeof t);
	ck_assert_str_eq(t, "RSSSSSSSSSSSSSKZ");
	ck_assert(out_has(s, "server_version\0" PGS_SERVER_VERSION));
	ck_assert(out_has(s, "application_name\0myapp"));
	ck_assert(out_has(s, "session_authorization\0alice"));
	ck_assert(out_has(s, "standard_conforming_strings\0on"));
	ck_assert_int_eq(pgs_state(s), PGS_READY);
	pgs_free(s);
}
END_TEST

START_TEST(test_ssl_request_then_startup)
{
	struct pgs_session *s = session(PGS_AUTH_TRUST, 0, NULL);
	struct msg m = {.len = 0};
	add32(&m, 8);
	add32(&m, 80877103);
	feed(s, &m);
	ck_assert_uint_eq(pgs_out(s)->len, 1);
	ck_assert_int_eq(pgs_out(s)->data[0], 'N');
	pgs_out_clear(s);
	m.len = 0;
	add32(&m, 8);
	add32(&m, 80877104); /* GSSENCRequest */
	startup(&m, "bob", NULL);
	feed(s, &m);
	ck_assert_int_eq(pgs_out(s)->data[0], 'N');
	ck_assert_int_eq(pgs_state(s), PGS_READY);
	pgs_free(s);
}
END_TEST

static struct pgs_session *tls_session(bool required)
{
	struct pgs_config cfg = {.auth = PGS_AUTH_TRUST, .pid = 4242,
				 .tls_offered = true, .tls_required = required};
	struct pgs_session *s = pgs_new(&cfg);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void ssl_request(struct msg *m)
{
	add32(m, 8);
	add32(m, 80877103);
}

/* TLS offered: 'S', the caller's turn, then the start-up over TLS; a
 * second SSLRequest over TLS is an unsupported protocol. */
START_TEST(test_tls_offered)
{
	struct pgs_session *s = tls_session(true);
	struct msg m = {.len = 0};
	ssl_request(&m);
	feed(s, &m);
	ck_assert_uint_eq(pgs_out(s)->len, 1);
	ck_assert_int_eq(pgs_out(s)->data[0], 'S');
	ck_assert_int_eq(pgs_state(s), PGS_TLS_ACCEPT);
	pgs_out_clear(s);
	/* Nothing is read until the caller has started TLS. */
	m.len = 0;
	startup(&m, "alice", NULL);
	ck_assert_uint_eq(pgs_input(s, m.data, m.len), 0);
	pgs_tls_started(s);
	ck_assert_int_eq(pgs_state(s), PGS_STARTUP);
	feed(s, &m);
	ck_assert_int_eq(pgs_state(s), PGS_READY);
	pgs_free(s);

	s = tls_session(false);
	m.len = 0;
	ssl_request(&m);
	feed(s, &m);
	pgs_tls_started(s);
	pgs_out_clear(s);
	m.len = 0;
	ssl_request(&m);
	feed(s, &m);
	ck_assert_int_eq(pgs_state(s), PGS_CLOSED);
	ck_assert(out_has(s, "unsupported frontend protocol 1234.5679"));
	pgs_free(s);
}
END_TEST

/* Bytes after the SSLRequest, before 'S': refused (CVE-2021-23214). */
START_TEST(test_tls_data_before_answer)
{
	struct pgs_session *s = tls_session(false);
	struct msg m = {.len = 0};
	ssl_request(&m);
	startup(&m, "alice", NULL);
	feed(s, &m);
	ck_assert_int_eq(pgs_state(s), PGS_CLOSED);
	ck_assert(!out_has(s, "S\0"));
	ck_assert(out_has(s, "C08P01\0"));
	ck_assert(out_has(s, "received unencrypted data after SSL request"));
	pgs_free(s);
}
END_TEST

/* tls_required: a start-up in clear text gets FATAL 28000; without
 * tls_offered (a Unix socket) SSLRequest is answered 'N'. */
START_TEST(test_tls_required)
{
	struct pgs_session *s = tls_session(true);
	struct msg m = {.len = 0};
	startup(&m, "alice", NULL);
	feed(s, &m);
	ck_assert_int_eq(pgs_state(s), PGS_CLOSED);
	ck_assert(out_has(s, "SFATAL\0"));
	ck_assert(out_has(s, "C28000\0"));
	ck_assert(out_has(s, "Mcrdbfeedd LISTEN endpoint: TLS required\0"));
	pgs_free(s);

	s = session(PGS_AUTH_TRUST, 0, NULL);
	m.len = 0;
	ssl_request(&m);
	feed(s, &m);
	ck_assert_int_eq(pgs_out(s)->data[0], 'N');
	ck_assert_int_eq(pgs_state(s), PGS_STARTUP);
	pgs_free(s);
}
END_TEST

START_TEST(test_garbage_startup)
{
	struct pgs_session *s = session(PGS_AUTH_TRUST, 0, NULL);
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	pgs_input(s, (const unsigned char *)http, strlen(http));
	ck_assert_int_eq(pgs_state(s), PGS_CLOSED);
	ck_assert(out_has(s, "08P01"));
	ck_assert(out_has(s, "invalid length of start-up packet"));
	pgs_free(s);

	/* A well-sized packet that is not a list of pairs. */
	s = session(PGS_AUTH_TRUST, 0, NULL);
	struct msg m = {.len = 0};
	add32(&m, 12);
	add32(&m, 196608);
	add(&m, "abcd", 4);
	feed(s, &m);
	ck_assert_int_eq(pgs_state(s), PGS_CLOSED);
	ck_assert(out_has(s, "invalid start-up packet layout"));
	pgs_free(s);

	/* Protocol 2 is refused; so is a start-up without a user. */
	s = session(PGS_AUTH_TRUST, 0, NULL);
	m.len = 0;
	add32(&m, 9);
	add32(&m, 2 << 16);
	add(&m, "", 1);
	feed(s, &m);
	ck_assert(out_has(s, "unsupported frontend protocol 2.0"));
	pgs_free(s);
	s = session(PGS_AUTH_TRUST, 0, NULL);
	m.len = 0;
	add32(&m, 9);
	add32(&m, 196608);
	add(&m, "", 1);
	feed(s, &m);
	ck_assert(out_has(s, "28000"));
	pgs_free(s);
}
END_TEST

START_TEST(test_huge_message)
{
	struct pgs_session *s = ready_session(0);
	struct msg m = {.len = 0};
	add(&m, "Q", 1);
	add32(&m, 1u << 20);
	feed(s, &m);
	ck_assert_int_eq(pgs_state(s), PGS_CLOSED);
	ck_assert(out_has(s, "08P01"));
	ck_assert(out_has(s, "over the limit of 65536"));
	pgs_free(s);
	/* Just under the limit is read whole. */
	s = ready_session(0);
	struct msg *big = calloc(1, sizeof *big);
	char *q = malloc(65536);
	memset(q, ' ', 65535);
	memcpy(q, "SELECT 1", 8);
	q[65535] = '\0';
	typed(big, 'Q', q, 65536);
	feed(s, big);
	ck_assert_int_eq(pgs_state(s), PGS_READY);
	ck_assert(out_has(s, "SELECT 1"));
	free(q);
	free(big);
	pgs_free(s);
}
END_TEST

static void sasl_initial(struct msg *m, const char *mech, const char *data)
{
	struct msg b = {.len = 0};
	adds(&b, mech);
	add32(&b, (uint32_t)strlen(data));
	add(&b, data, strlen(data));
	typed(m, 'p', b.data, b.len);
}

static struct scram_users *rfc_users(void)
{
	/* RFC 7677's example: user "user", password "pencil". */
	unsigned char salt[16];
	const char *salt64 = "W22ZaJ0SNY7soEsUEjb6gQ==";
	ck_assert_int_eq(scram_base64_decode(salt64, strlen(salt64), salt, sizeof salt), 16);
	char verifier[SCRAM_VERIFIER_MAX], err[200] = "";
	ck_assert_int_eq(scram_make_verifier("pencil", 4096, salt, 16, verifier,
					     sizeof verifier, err, sizeof err), 0);
	char path[] = "/tmp/check_pgserver.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "# users\n\nuser:%s\n", verifier);
	fclose(f);
	struct scram_users *u = scram_users_load(path, 10, err, sizeof err);
	unlink(path);
	ck_assert_msg(u != NULL, "%s", err);
	return u;
}

static const char *rfc_final =
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

START_TEST(test_scram_rfc7677)
{
	struct scram_users *u = rfc_users();
	struct pgs_session *s = session(PGS_AUTH_SCRAM, 0, u);
	struct msg m = {.len = 0};
	startup(&m, "user", NULL);
	feed(s, &m);
	ck_assert(out_has(s, "SCRAM-SHA-256"));
	ck_assert_int_eq(pgs_state(s), PGS_SASL_INITIAL);
	pgs_out_clear(s);
	m.len = 0;
	sasl_initial(&m, "SCRAM-SHA-256", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
	feed(s, &m);
	ck_assert(out_has(s, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			     "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
	pgs_out_clear(s);
	m.len = 0;
	typed(&m, 'p', rfc_final, strlen(rfc_final));
	feed(s, &m);
	ck_assert(out_has(s, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
	ck_assert_int_eq(pgs_state(s), PGS_READY);
	pgs_free(s);
	scram_users_free(u);
}
END_TEST

/* Run the RFC exchange for user with a final message; return the session. */
static struct pgs_session *scram_try(struct scram_users *u, const char *user,
				     const char *final)
{
	struct pgs_session *s = session(PGS_AUTH_SCRAM, 0, u);
	struct msg m = {.len = 0};
	startup(&m, user, NULL);
	sasl_initial(&m, "SCRAM-SHA-256", "n,,n=,r=rOprNGfwEbeRWgbNEkqO");
	typed(&m, 'p', final, strlen(final));
	pgs_input(s, m.data, m.len);
	return s;
}

START_TEST(test_scram_wrong_password_and_unknown_user)
{
	struct scram_users *u = rfc_users();
	char wrong[200];
	snprintf(wrong, sizeof wrong, "%s", rfc_final);
	wrong[strlen(wrong) - 3] = 'A'; /* one byte of the proof changed */
	struct pgs_session *s = scram_try(u, "user", wrong);
	ck_assert_int_eq(pgs_state(s), PGS_CLOSED);
	ck_assert(out_has(s, "28P01"));
	ck_assert(out_has(s, "password authentication failed for user \"user\""));
	ck_assert(!out_has(s, "v="));
	pgs_free(s);
	/* An unknown user gets a salt and iterations too, then the same failure. */
	s = scram_try(u, "mallory", rfc_final);
	ck_assert(out_has(s, "s="));
	ck_assert(out_has(s, ",i=4096"));
	ck_assert(out_has(s, "password authentication failed for user \"mallory\""));
	pgs_free(s);
	/* Channel binding asked for: refused. */
	s = session(PGS_AUTH_SCRAM, 0, u);
	struct msg m = {.len = 0};
	startup(&m, "user", NULL);
	sasl_initial(&m, "SCRAM-SHA-256", "p=tls-server-end-point,,n=,r=abc");
	pgs_input(s, m.data, m.len);
	ck_assert_int_eq(pgs_state(s), PGS_CLOSED);
	ck_assert(out_has(s, "channel binding"));
	pgs_free(s);
	scram_users_free(u);
}
END_TEST

START_TEST(test_verifier_parse)
{
	struct scram_verifier v;
	char err[200] = "";
	char text[SCRAM_VERIFIER_MAX];
	ck_assert_int_eq(scram_make_verifier("secret", 4096, NULL, 0, text, sizeof text,
					     err, sizeof err), 0);
	ck_assert_int_eq(scram_parse_verifier(text, &v, err, sizeof err), 0);
	ck_assert_int_eq(v.iterations, 4096);
	ck_assert_uint_eq(v.salt_len, 16);
	ck_assert_int_eq(scram_parse_verifier("md5abc", &v, err, sizeof err), -1);
	ck_assert_int_eq(scram_parse_verifier("SCRAM-SHA-256$4096:AAAA$AAAA:AAAA", &v,
					      err, sizeof err), -1);
	ck_assert_int_eq(scram_make_verifier("x", 10, NULL, 0, text, sizeof text, err,
					     sizeof err), -1);
}
END_TEST

START_TEST(test_listen_folding_and_quoting)
{
	struct pgs_session *s = ready_session(0);
	struct msg m = {.len = 0};
	query(&m, "LISTEN Orders; listen \"MiXed\"\"q\"; /* c */ LISTEN \"x y\" -- end");
	feed(s, &m);
	char t[32];
	types(s, t, sizeof t);
	ck_assert_str_eq(t, "CCCZ");
	ck_assert(pgs_listening(s, "orders"));
	ck_assert(!pgs_listening(s, "Orders"));
	ck_assert(pgs_listening(s, "MiXed\"q"));
	ck_assert(pgs_listening(s, "x y"));
	ck_assert_uint_eq(pgs_channel_count(s), 3);
	pgs_out_clear(s);
	m.len = 0;
	query(&m, "UNLISTEN ORDERS");
	feed(s, &m);
	ck_assert(!pgs_listening(s, "orders"));
	m.len = 0;
	query(&m, "UNLISTEN *");
	feed(s, &m);
	ck_assert_uint_eq(pgs_channel_count(s), 0);
	/* 64 bytes is one too many. */
	pgs_out_clear(s);
	m.len = 0;
	query(&m, "LISTEN a234567890123456789012345678901234567890123456789012345678901234");
	feed(s, &m);
	ck_assert(out_has(s, "42622"));
	pgs_free(s);
}
END_TEST

START_TEST(test_unknown_statement)
{
	struct pgs_session *s = ready_session(0);
	struct msg m = {.len = 0};
	query(&m, "SELECT * FROM pg_class");
	feed(s, &m);
	char t[32];
	types(s, t, sizeof t);
	ck_assert_str_eq(t, "EZ");
	ck_assert(out_has(s, "0A000"));
	ck_assert(out_has(s, "crdbfeedd LISTEN endpoint: only LISTEN, UNLISTEN, SET, SHOW and SELECT 1 are supported"));
	ck_assert_int_eq(pgs_state(s), PGS_READY);
	pgs_free(s);
}
END_TEST

START_TEST(test_set_show_select)
{
	struct pgs_session *s = ready_session(0);
	struct msg m = {.len = 0};
	query(&m, "SET application_name = 'other'; SHOW application_name; SELECT 1; SHOW nothing;;");
	feed(s, &m);
	char t[32];
	types(s, t, sizeof t);
	ck_assert_str_eq(t, "SCTDCTDCTDCZ");
	ck_assert(out_has(s, "application_name\0other"));
	ck_assert(out_has(s, "SELECT 1"));
	pgs_out_clear(s);
	m.len = 0;
	query(&m, "");
	feed(s, &m);
	types(s, t, sizeof t);
	ck_assert_str_eq(t, "IZ");
	pgs_out_clear(s);
	m.len = 0;
	query(&m, "SET server_version = '99'");
	feed(s, &m);
	ck_assert(out_has(s, "55P02"));
	pgs_out_clear(s);
	m.len = 0;
	query(&m, "RESET application_name; SET DateStyle TO DEFAULT; SHOW application_name");
	feed(s, &m);
	ck_assert(out_has(s, "RESET\0"));
	ck_assert(out_has(s, "C\0\0\0\x08SET\0"));
	ck_assert(out_has(s, "D\0\0\0\x0f\0\x01\0\0\0\x05myapp"));
	/* At most 16 statements in one Query. */
	pgs_out_clear(s);
	m.len = 0;
	query(&m, "SELECT 1;SELECT 1;SELECT 1;SELECT 1;SELECT 1;SELECT 1;SELECT 1;SELECT 1;"
		  "SELECT 1;SELECT 1;SELECT 1;SELECT 1;SELECT 1;SELECT 1;SELECT 1;SELECT 1;SELECT 1");
	feed(s, &m);
	ck_assert(out_has(s, "at most 16 statements in one query"));
	pgs_free(s);
}
END_TEST

START_TEST(test_extended_listen)
{
	struct pgs_session *s = ready_session(0);
	struct msg m = {.len = 0};
	struct msg b = {.len = 0};
	adds(&b, "");
	adds(&b, "LISTEN \"Ext\"");
	add16(&b, 0);
	typed(&m, 'P', b.data, b.len);
	b.len = 0;
	adds(&b, "");
	adds(&b, "");
	add16(&b, 0);
	add16(&b, 0);
	add16(&b, 0);
	typed(&m, 'B', b.data, b.len);
	typed(&m, 'D', "P", 2);
	b.len = 0;
	adds(&b, "");
	add32(&b, 0);
	typed(&m, 'E', b.data, b.len);
	typed(&m, 'S', NULL, 0);
	feed(s, &m);
	char t[32];
	types(s, t, sizeof t);
	ck_assert_str_eq(t, "12nCZ");
	ck_assert(pgs_listening(s, "Ext"));
	/* An error skips to Sync. */
	pgs_out_clear(s);
	m.len = 0;
	b.len = 0;
	adds(&b, "");
	adds(&b, "DROP TABLE x");
	add16(&b, 0);
	typed(&m, 'P', b.data, b.len);
	typed(&m, 'D', "S", 2);
	typed(&m, 'S', NULL, 0);
	feed(s, &m);
	types(s, t, sizeof t);
	ck_assert_str_eq(t, "EZ");
	/* Two statements cannot be prepared as one. */
	pgs_out_clear(s);
	m.len = 0;
	b.len = 0;
	adds(&b, "");
	adds(&b, "LISTEN a; LISTEN b");
	add16(&b, 0);
	typed(&m, 'P', b.data, b.len);
	typed(&m, 'S', NULL, 0);
	feed(s, &m);
	ck_assert(out_has(s, "cannot insert multiple commands into a prepared statement"));
	pgs_free(s);
}
END_TEST

START_TEST(test_transaction_and_limits)
{
	struct pgs_session *s = ready_session(2);
	struct msg m = {.len = 0};
	query(&m, "BEGIN; LISTEN a");
	feed(s, &m);
	ck_assert(!pgs_listening(s, "a"));
	m.len = 0;
	query(&m, "COMMIT");
	feed(s, &m);
	ck_assert(pgs_listening(s, "a"));
	m.len = 0;
	query(&m, "BEGIN; LISTEN b; ROLLBACK");
	feed(s, &m);
	ck_assert(!pgs_listening(s, "b"));
	pgs_out_clear(s);
	m.len = 0;
	query(&m, "LISTEN b; LISTEN c");
	feed(s, &m);
	ck_assert(pgs_listening(s, "b"));
	ck_assert(!pgs_listening(s, "c"));
	ck_assert(out_has(s, "54000"));
	ck_assert(out_has(s, "at most 2 channels"));
	pgs_free(s);
}
END_TEST

START_TEST(test_cancel_and_terminate)
{
	struct pgs_session *s = session(PGS_AUTH_TRUST, 0, NULL);
	struct msg m = {.len = 0};
	add32(&m, 16);
	add32(&m, 80877102);
	add32(&m, 4242);
	add32(&m, 0xdeadbeef);
	feed(s, &m);
	ck_assert_int_eq(pgs_state(s), PGS_CANCEL);
	int32_t pid;
	uint32_t key;
	pgs_cancel_key(s, &pid, &key);
	ck_assert_int_eq(pid, 4242);
	ck_assert(pgs_cancel_matches(s, pid, key));
	ck_assert(!pgs_cancel_matches(s, pid, key ^ 1));
	pgs_free(s);
	s = ready_session(0);
	m.len = 0;
	typed(&m, 'X', NULL, 0);
	feed(s, &m);
	ck_assert_int_eq(pgs_state(s), PGS_CLOSED);
	ck_assert(pgs_terminated(s));
	pgs_free(s);
}
END_TEST

START_TEST(test_notification_builder)
{
	struct textbuf out;
	textbuf_init(&out, 1 << 20);
	ck_assert_int_eq(pgs_build_notification(&out, 7, "ch", "hello", 5), 0);
	ck_assert_uint_eq(out.len, 1 + 4 + 4 + 3 + 6);
	ck_assert_int_eq(memcmp(out.data, "A\0\0\0\x11\0\0\0\x07" "ch\0hello\0", out.len), 0);
	char big[8001];
	memset(big, 'x', sizeof big);
	ck_assert_int_eq(pgs_build_notification(&out, 7, "ch", big, 8000), -1);
	ck_assert_int_eq(pgs_build_notification(&out, 7, "ch", "a\0b", 3), -1);
	textbuf_free(&out);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("pgserver");
	TCase *tc = tcase_create("protocol");
	tcase_add_test(tc, test_startup_trust);
	tcase_add_test(tc, test_ssl_request_then_startup);
	tcase_add_test(tc, test_tls_offered);
	tcase_add_test(tc, test_tls_data_before_answer);
	tcase_add_test(tc, test_tls_required);
	tcase_add_test(tc, test_garbage_startup);
	tcase_add_test(tc, test_huge_message);
	tcase_add_test(tc, test_scram_rfc7677);
	tcase_add_test(tc, test_scram_wrong_password_and_unknown_user);
	tcase_add_test(tc, test_verifier_parse);
	tcase_add_test(tc, test_listen_folding_and_quoting);
	tcase_add_test(tc, test_unknown_statement);
	tcase_add_test(tc, test_set_show_select);
	tcase_add_test(tc, test_extended_listen);
	tcase_add_test(tc, test_transaction_and_limits);
	tcase_add_test(tc, test_cancel_and_terminate);
	tcase_add_test(tc, test_notification_builder);
	suite_add_tcase(suite, tc);
	SRunner *runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
