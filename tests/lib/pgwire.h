/*
 * pgwire.h: a raw PostgreSQL protocol v3 client for the tests that speak
 * the wire by hand (crdbsim's wire, malformed-row and TLS tests): TCP to
 * 127.0.0.1, start-up, typed messages out, whole messages in, the fields
 * of an ErrorResponse. libpq cannot send what these tests send (broken
 * lengths, one message at a time) nor show what they check (every byte).
 *
 * Every failure is a Check assertion, and every read has a deadline
 * (PGW_READ_TIMEOUT_MS) and a bound on the message size given by the
 * caller: a test never hangs and never trusts a length.
 */
#ifndef TESTS_LIB_PGWIRE_H
#define TESTS_LIB_PGWIRE_H

#include <stddef.h>
#include <stdint.h>

#define PGW_PROTOCOL_3 196608u
#define PGW_SSL_REQUEST 80877103u
#define PGW_READ_TIMEOUT_MS 15000

/* One message from the server; body is NUL-terminated (len excludes it). */
struct pgw_msg {
	char type;
	unsigned char *body;
	size_t len;
};

/* Big-endian 32-bit integers, as the protocol writes them. */
void pgw_put32(unsigned char *p, uint32_t v);
uint32_t pgw_get32(const unsigned char *p);

/* A blocking TCP connection to 127.0.0.1:port. */
int pgw_connect(int port);

/* All n bytes, or the test fails. */
void pgw_send(int fd, const void *p, size_t n);
/* A typed message: type, length, body. */
void pgw_send_msg(int fd, char type, const void *body, size_t n);
/* A StartupMessage for protocol 3 with user and database. */
void pgw_send_startup(int fd, const char *user, const char *database);

/* Exactly n bytes within the deadline; the server closing first fails. */
void pgw_read_full(int fd, void *buf, size_t n);
/* The next message, its body at most max bytes (caller frees with
 * pgw_msg_free). */
void pgw_read_msg(int fd, struct pgw_msg *m, size_t max);
void pgw_msg_free(struct pgw_msg *m);
/* Messages up to and including ReadyForQuery; an ErrorResponse on the way
 * fails the test. */
void pgw_read_until_ready(int fd);
/* Connect, start up as root on defaultdb, read to ReadyForQuery. */
int pgw_session(int port);
/* Everything until the server closes (within the deadline), at most len
 * bytes; returns the count. */
size_t pgw_read_to_eof(int fd, char *buf, size_t len);

/* The value of field code in an ErrorResponse or NoticeResponse body, or
 * NULL. */
const char *pgw_error_field(const unsigned char *body, size_t len, char code);

#endif /* TESTS_LIB_PGWIRE_H */
