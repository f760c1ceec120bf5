/*
 * sbuf.h: crdbsim's growable string: appends that never fail loudly but
 * set a sticky oom flag, so a builder checks once at the end. Used by the
 * JSON renderer (render*.c) and the SQL rewriting (sqllex.c, intercept.c).
 */
#ifndef CRDBSIM_SBUF_H
#define CRDBSIM_SBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialise to start. p is NUL-terminated whenever it is non-NULL. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;               /* an allocation failed: sb_take gives NULL */
};

void sb_putn(struct sbuf *sb, const char *s, size_t n);
void sb_puts(struct sbuf *sb, const char *s);
void sb_putc(struct sbuf *sb, char c);
/* A SQL string literal for s ('' doubled). */
void sb_literal(struct sbuf *sb, const char *s);
/* The built string (malloc'd; "" when empty), or NULL after a failure. */
char *sb_take(struct sbuf *sb);

#endif /* CRDBSIM_SBUF_H */
