/*
 * textbuf.h: a bounded, growing text buffer for answers built in memory
 * (control replies, HTTP responses, the metrics exposition).
 */
#ifndef CRDBFEEDD_TEXTBUF_H
#define CRDBFEEDD_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A growing text buffer that never holds more than `limit` bytes: once an
 * append would pass the limit (or malloc fails) the buffer is marked
 * failed, keeps what it had, and ignores every further append.
 */
struct textbuf {
	char *data;     /* NUL-terminated when not NULL */
	size_t len;
	size_t cap;
	size_t limit;
	bool failed;
};

void textbuf_init(struct textbuf *buf, size_t limit);
void textbuf_free(struct textbuf *buf);
void textbuf_append(struct textbuf *buf, const char *data, size_t len);
void textbuf_puts(struct textbuf *buf, const char *s);
void textbuf_printf(struct textbuf *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* CRDBFEEDD_TEXTBUF_H */
