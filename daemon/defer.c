/*
 * defer.c: the deferred-free list run by main after each loop pass. The
 * list is a growable array; when growing fails the object is leaked rather
 * than freed early (a leak is survivable, a use after free is not).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "defer.h"
#include "log.h"

#include <stdlib.h>

struct deferred {
	void (*fn)(void *);
	void *ptr;
};

static struct deferred *pending;
static size_t npending, cap;

void defer_free(void (*fn)(void *), void *ptr)
{
	if (npending == cap) {
		size_t ncap = cap ? cap * 2 : 32;
		struct deferred *grown = realloc(pending, ncap * sizeof(*grown));

		if (!grown) {
			log_error(NULL, "out of memory deferring a free; leaking it");
			return;
		}
		pending = grown;
		cap = ncap;
	}
	pending[npending].fn = fn;
	pending[npending].ptr = ptr;
	npending++;
}

void defer_run(void)
{
	/* fn may queue more; take them in order until none is left. */
	for (size_t i = 0; i < npending; i++)
		pending[i].fn(pending[i].ptr);
	/* Deferring is rare (closes, reloads): keep nothing between passes. */
	free(pending);
	pending = NULL;
	npending = cap = 0;
}
