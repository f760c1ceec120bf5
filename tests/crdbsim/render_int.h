/*
 * render_int.h: what the renderer's files (render.c, render_types.c,
 * render_json.c) share and nobody else sees: the steps each gives the
 * others (they build into the sbuf of sbuf.h). Its contract with the rest of crdbsim is
 * in simstmt.h.
 */
#ifndef CRDBSIM_RENDER_INT_H
#define CRDBSIM_RENDER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sbuf.h"
#include "simstmt.h"

/* A parsed JSON value with its numbers' digits (render_json.c). */
struct jnode;

/* render.c */
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
