/*
 * encode_out.h: the output buffer the fast row encoder (encode_fast.c) and
 * the direct path (encode_direct.c) write a line into, and the writers
 * they share: JSON strings as jansson escapes them, digits, HLCs.
 */
#ifndef CRDBFEEDD_ENCODE_OUT_H
#define CRDBFEEDD_ENCODE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "encode.h"

struct out {
	char *p;
	size_t len, cap;
	int precision;      /* of reals: 15, 16 or 17 (dump_flags) */
	bool precision_low; /* a real did not round-trip at this precision */
	bool failed;        /* ENOMEM or a value we leave to the reference */
};

/* Start with the buffer kept from the last row; give it back when done
 * (one grown by a huge row is freed). */
void out_begin(struct out *o);
void out_end(struct out *o);

/* Make room for more bytes; false (and o->failed) on ENOMEM. */
bool out_grow(struct out *o, size_t more);

static inline bool out_room(struct out *o, size_t more)
{
	return o->cap - o->len >= more || out_grow(o, more);
}

static inline void out_mem(struct out *o, const char *s, size_t n)
{
	if (!out_room(o, n))
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

#define out_lit(o, s) out_mem((o), (s), sizeof(s) - 1)

static inline void out_char(struct out *o, char c)
{
	if (!out_room(o, 1))
		return;
	o->p[o->len++] = c;
}

/* A JSON string as jansson's dump_string() writes it (no flags); invalid
 * UTF-8 sets o->failed. */
void out_string(struct out *o, const char *str, size_t len);
/* Decimal digits of v ending at end, two at a time; returns the start. */
char *u64_digits(uint64_t v, char *end);
/* name, then "wall.logical" as crdb_hlc_format() writes it, quoted. */
void out_hlc(struct out *o, const char *name, size_t name_len, crdb_hlc hlc);
/* The finished row line of o's bytes (NULL on ENOMEM). */
struct line *out_line(const struct out *o, crdb_op op, const char *table,
		      size_t table_len);

#endif /* CRDBFEEDD_ENCODE_OUT_H */
