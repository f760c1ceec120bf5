/*
 * render_int.h: what the renderer's files (render.c, render_types.c,
 * render_json.c) share and nobody else sees: the growable buffer and the
 * steps each gives the others. Its contract with the rest of crdbsim is
 * in simstmt.h.
 */
#ifndef CRDBSIM_RENDER_INT_H
#define CRDBSIM_RENDER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "simstmt.h"

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* A parsed JSON value with its numbers' digits (render_json.c). */
struct jnode;

/* render.c */
void sb_putn(struct sbuf *sb, const char *s, size_t n);
void sb_puts(struct sbuf *sb, const char *s);
void sb_putc(struct sbuf *sb, char c);
void render_put_json_string(struct sbuf *sb, const char *s, size_t n);

/* render_types.c */
bool render_put_decimal_text(struct sbuf *sb, const char *s, size_t n);
int render_put_column(struct sbuf *sb, const char *type, const json_t *value);

/* render_json.c */
void render_jnode_free(struct jnode *j);
struct jnode *render_jparse(const char *s, size_t n);
void render_put_jnode(struct sbuf *sb, const struct jnode *j);
int render_keycmp(const char *a, size_t al, const char *b, size_t bl);

#endif /* CRDBSIM_RENDER_INT_H */
