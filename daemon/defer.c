/*
 * defer.c: the deferred-free list run by main after each loop pass. The
 * list is a growable array with a fixed reserve behind it for when growing
 * fails; only when both are full is the object leaked rather than freed
 * early (a leak is survivable, a use after free is not).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "defer.h"
#include "log.h"

#include <stdlib.h>

#define DEFER_RESERVE 64

struct deferred {
	void (*fn)(void *);
	void *ptr;
};

static struct deferred *pending;
static size_t npending, cap;
static struct deferred reserve[DEFER_RESERVE];
static size_t nreserve;

void defer_free(void (*fn)(void *), void *ptr)
{
	if (npending == cap) {
		size_t ncap = cap ? cap * 2 : 32;
		struct deferred *grown = realloc(pending, ncap * sizeof(*grown));

		if (!grown) {
			if (nreserve < DEFER_RESERVE) {
				reserve[nreserve].fn = fn;
				reserve[nreserve].ptr = ptr;
				nreserve++;
				return;
			}
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
	size_t done = 0, done_reserve = 0;

	/* fn may queue more (in either list); run until both are empty. */
	while (done < npending || done_reserve < nreserve) {
		if (done < npending) {
			done++;
			pending[done - 1].fn(pending[done - 1].ptr);
		} else {
			done_reserve++;
			reserve[done_reserve - 1].fn(reserve[done_reserve - 1].ptr);
		}
	}
	/* Deferring is rare (closes, reloads): keep nothing between passes. */
	free(pending);
	pending = NULL;
	npending = cap = nreserve = 0;
}
