/*
 * proto.h: PostgreSQL v3 protocol messages as crdbsim writes and reads
 * them: a bounded message builder that appends whole messages to an
 * evbuffer, the few server messages crdbsim composes itself, and a reader
 * that never runs past the end of a message.
 */
#ifndef CRDBSIM_PROTO_H
#define CRDBSIM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

/* One message under construction. */
struct pmsg {
	char type;
	char *data;
	size_t len, cap;
	bool failed;    /* an allocation failed: proto_end reports it */
};

void proto_begin(struct pmsg *m, char type);
void proto_put_byte(struct pmsg *m, uint8_t v);
void proto_put_int16(struct pmsg *m, int16_t v);
void proto_put_int32(struct pmsg *m, int32_t v);
void proto_put_bytes(struct pmsg *m, const void *p, size_t n);
void proto_put_cstr(struct pmsg *m, const char *s);
/* Append type, length and payload to out and free the builder. */
int proto_end(struct pmsg *m, struct evbuffer *out);

/* Composed messages; each returns 0 or -1 (out of memory). v_field adds
 * the non-localized severity (V), which CockroachDB sends from 22.1.3. */
int proto_error(struct evbuffer *out, bool v_field, const char *severity,
		const char *sqlstate, const char *message, const char *hint);
int proto_notice(struct evbuffer *out, bool v_field, const char *severity,
		 const char *sqlstate, const char *message);
int proto_command_complete(struct evbuffer *out, const char *tag);
int proto_ready(struct evbuffer *out, char status);
int proto_parameter_status(struct evbuffer *out, const char *name,
			   const char *value);
int proto_simple(struct evbuffer *out, char type); /* 1, 2, 3, n, I */
/* RowDescription of columns all with table OID 0, attnum 0, typmod -1. */
int proto_row_description(struct evbuffer *out, int ncols,
			  const char *const *names, const uint32_t *oids,
			  const int16_t *formats);

/* Reading one message's payload. */
struct preader {
	const unsigned char *p;
	size_t len, pos;
	bool bad;       /* a read ran past the end or a string had no NUL */
};

void preader_init(struct preader *r, const void *p, size_t len);
uint8_t preader_byte(struct preader *r);
int16_t preader_int16(struct preader *r);
int32_t preader_int32(struct preader *r);
/* A NUL-terminated string inside the message, or "" (and bad) if none. */
const char *preader_cstr(struct preader *r);
const void *preader_bytes(struct preader *r, size_t n);
static inline bool preader_done(const struct preader *r)
{
	return !r->bad && r->pos == r->len;
}

/* Lower-case hex with a "\x" prefix (bytea_output=hex). out must have room
 * for 2 + 2 * n bytes. */
void proto_hex(const void *in, size_t n, char *out);

#endif /* CRDBSIM_PROTO_H */
