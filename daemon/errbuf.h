/*
 * errbuf.h: collecting several problems into one caller's buffer, as a
 * reload reports them ("; "-joined, cut at the buffer's end).
 */
#ifndef CRDBFEEDD_ERRBUF_H
#define CRDBFEEDD_ERRBUF_H

#include <stddef.h>

/* Append one problem to errbuf (NULL or errlen 0: nothing). */
void errbuf_add(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* CRDBFEEDD_ERRBUF_H */
