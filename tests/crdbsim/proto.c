/*
 * proto.c: PostgreSQL v3 message encoding and bounded decoding for crdbsim.
 * Builders grow by doubling and remember an allocation failure so callers
 * check once, in proto_end().
 */
#include "config.h"

#include "proto.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void proto_begin(struct pmsg *m, char type)
{
	memset(m, 0, sizeof *m);
	m->type = type;
}

static void reserve(struct pmsg *m, size_t n)
{
	if (m->failed)
		return;
	if (n > SIM_MAX_MESSAGE - m->len) {
		m->failed = true;
		return;
	}
	if (m->len + n <= m->cap)
		return;
	size_t cap = m->cap ? m->cap : 64;
	while (cap < m->len + n)
		cap *= 2;
	char *p = realloc(m->data, cap);
	if (!p) {
		m->failed = true;
		return;
	}
	m->data = p;
	m->cap = cap;
}

void proto_put_bytes(struct pmsg *m, const void *p, size_t n)
{
	reserve(m, n);
	if (m->failed || n == 0)
		return;
	memcpy(m->data + m->len, p, n);
	m->len += n;
}

void proto_put_byte(struct pmsg *m, uint8_t v)
{
	proto_put_bytes(m, &v, 1);
}

void proto_put_int16(struct pmsg *m, int16_t v)
{
	uint16_t n = htons((uint16_t)v);
	proto_put_bytes(m, &n, 2);
}

void proto_put_int32(struct pmsg *m, int32_t v)
{
	uint32_t n = htonl((uint32_t)v);
	proto_put_bytes(m, &n, 4);
}

void proto_put_cstr(struct pmsg *m, const char *s)
{
	proto_put_bytes(m, s, strlen(s) + 1);
}

int proto_end(struct pmsg *m, struct evbuffer *out)
{
	int rc = -1;
	if (!m->failed) {
		uint32_t len = htonl((uint32_t)(m->len + 4));
		if (evbuffer_add(out, &m->type, 1) == 0 &&
		    evbuffer_add(out, &len, 4) == 0 &&
		    (m->len == 0 || evbuffer_add(out, m->data, m->len) == 0))
			rc = 0;
	}
	free(m->data);
	m->data = NULL;
	m->len = m->cap = 0;
	return rc;
}

static int error_or_notice(struct evbuffer *out, char type, bool v_field,
			   const char *severity, const char *sqlstate,
			   const char *message, const char *hint)
{
	struct pmsg m;
	proto_begin(&m, type);
	proto_put_byte(&m, 'S');
	proto_put_cstr(&m, severity);
	if (v_field) {
		proto_put_byte(&m, 'V');
		proto_put_cstr(&m, severity);
	}
	proto_put_byte(&m, 'C');
	proto_put_cstr(&m, sqlstate);
	proto_put_byte(&m, 'M');
	proto_put_cstr(&m, message);
	if (hint && *hint) {
		proto_put_byte(&m, 'H');
		proto_put_cstr(&m, hint);
	}
	proto_put_byte(&m, 0);
	return proto_end(&m, out);
}

int proto_error(struct evbuffer *out, bool v_field, const char *severity,
		const char *sqlstate, const char *message, const char *hint)
{
	return error_or_notice(out, 'E', v_field, severity, sqlstate, message,
			       hint);
}

int proto_notice(struct evbuffer *out, bool v_field, const char *severity,
		 const char *sqlstate, const char *message)
{
	return error_or_notice(out, 'N', v_field, severity, sqlstate, message,
			       NULL);
}

int proto_command_complete(struct evbuffer *out, const char *tag)
{
	struct pmsg m;
	proto_begin(&m, 'C');
	proto_put_cstr(&m, tag);
	return proto_end(&m, out);
}

int proto_ready(struct evbuffer *out, char status)
{
	struct pmsg m;
	proto_begin(&m, 'Z');
	proto_put_byte(&m, (uint8_t)status);
	return proto_end(&m, out);
}

int proto_parameter_status(struct evbuffer *out, const char *name,
			   const char *value)
{
	struct pmsg m;
	proto_begin(&m, 'S');
	proto_put_cstr(&m, name);
	proto_put_cstr(&m, value);
	return proto_end(&m, out);
}

int proto_simple(struct evbuffer *out, char type)
{
	struct pmsg m;
	proto_begin(&m, type);
	return proto_end(&m, out);
}

int proto_row_description(struct evbuffer *out, int ncols,
			  const char *const *names, const uint32_t *oids,
			  const int16_t *formats)
{
	struct pmsg m;
	proto_begin(&m, 'T');
	proto_put_int16(&m, (int16_t)ncols);
	for (int i = 0; i < ncols; i++) {
		proto_put_cstr(&m, names[i]);
		proto_put_int32(&m, 0);         /* table OID */
		proto_put_int16(&m, 0);         /* attnum */
		proto_put_int32(&m, (int32_t)oids[i]);
		proto_put_int16(&m, -1);        /* variable length */
		proto_put_int32(&m, -1);        /* typmod */
		proto_put_int16(&m, formats ? formats[i] : 0);
	}
	return proto_end(&m, out);
}

void preader_init(struct preader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->bad = false;
}

const void *preader_bytes(struct preader *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	const void *p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint8_t preader_byte(struct preader *r)
{
	const unsigned char *p = preader_bytes(r, 1);
	return p ? p[0] : 0;
}

int16_t preader_int16(struct preader *r)
{
	const unsigned char *p = preader_bytes(r, 2);
	return p ? (int16_t)(((unsigned)p[0] << 8) | p[1]) : 0;
}

int32_t preader_int32(struct preader *r)
{
	const unsigned char *p = preader_bytes(r, 4);
	if (!p)
		return 0;
	return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
			 ((uint32_t)p[2] << 8) | p[3]);
}

const char *preader_cstr(struct preader *r)
{
	if (r->bad)
		return "";
	const unsigned char *start = r->p + r->pos;
	const unsigned char *nul = memchr(start, 0, r->len - r->pos);
	if (!nul) {
		r->bad = true;
		return "";
	}
	r->pos += (size_t)(nul - start) + 1;
	return (const char *)start;
}

void proto_hex(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;
	*out++ = '\\';
	*out++ = 'x';
	for (size_t i = 0; i < n; i++) {
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 15];
	}
}
