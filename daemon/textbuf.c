/*
 * textbuf.c: a growing text buffer with a hard limit (textbuf.h). Used for
 * every answer the control socket and the metrics endpoint build.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void textbuf_init(struct textbuf *buf, size_t limit)
{
	memset(buf, 0, sizeof(*buf));
	buf->limit = limit;
}

void textbuf_free(struct textbuf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

static bool textbuf_reserve(struct textbuf *buf, size_t more)
{
	size_t need, ncap;
	char *ndata;

	if (buf->failed)
		return false;
	if (more > buf->limit || buf->len > buf->limit - more) {
		buf->failed = true;
		return false;
	}
	need = buf->len + more + 1;
	if (need <= buf->cap)
		return true;
	ncap = buf->cap ? buf->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	ndata = realloc(buf->data, ncap);
	if (!ndata) {
		buf->failed = true;
		return false;
	}
	buf->data = ndata;
	buf->cap = ncap;
	return true;
}

void textbuf_append(struct textbuf *buf, const char *data, size_t len)
{
	if (!textbuf_reserve(buf, len))
		return;
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

void textbuf_puts(struct textbuf *buf, const char *s)
{
	textbuf_append(buf, s, strlen(s));
}

void textbuf_printf(struct textbuf *buf, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		textbuf_append(buf, small, (size_t)n);
		return;
	}
	if (!textbuf_reserve(buf, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t)n;
}
