/*
 * sbuf.c: crdbsim's growable string with a sticky out-of-memory flag
 * (see sbuf.h).
 */
#include "config.h"

#include "sbuf.h"

#include <stdlib.h>
#include <string.h>

void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->oom)
		return;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 128;
		while (cap < sb->len + n + 1)
			cap *= 2;
		char *p = realloc(sb->p, cap);
		if (!p) {
			sb->oom = true;
			return;
		}
		sb->p = p;
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

void sb_putc(struct sbuf *sb, char c)
{
	sb_putn(sb, &c, 1);
}

void sb_literal(struct sbuf *sb, const char *s)
{
	sb_putc(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sb_putc(sb, '\'');
		sb_putc(sb, *s);
	}
	sb_putc(sb, '\'');
}

char *sb_take(struct sbuf *sb)
{
	if (sb->oom) {
		free(sb->p);
		return NULL;
	}
	if (!sb->p)
		return strdup("");
	return sb->p;
}
