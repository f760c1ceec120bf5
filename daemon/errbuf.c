/*
 * errbuf.c: "; "-joined problems in a bounded buffer (errbuf.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void errbuf_add(char *errbuf, size_t errlen, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (!errbuf || !errlen)
		return;
	used = strnlen(errbuf, errlen);
	if (used + 3 >= errlen)
		return;
	if (used) {
		memcpy(errbuf + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(errbuf + used, errlen - used, fmt, ap);
	va_end(ap);
}
