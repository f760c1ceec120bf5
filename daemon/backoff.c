/*
 * backoff.c: a feed's reconnect delays (see backoff.h); pure, so that the
 * growth, the jitter and the cap are unit-tested.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "backoff.h"

int64_t backoff_next(int64_t *step_ms, int64_t initial_ms, int64_t max_ms,
		     uint64_t rnd)
{
	int64_t step = *step_ms;
	if (step < initial_ms)
		step = initial_ms;
	if (step > max_ms)
		step = max_ms;
	/* Full jitter over the upper half. */
	int64_t delay = step / 2 + (int64_t)(rnd % (uint64_t)(step / 2 + 1));
	*step_ms = step > max_ms / 2 ? max_ms : step * 2;
	return delay;
}
