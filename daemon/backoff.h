/*
 * backoff.h: a feed's reconnect delays: from backoff_initial, doubling up
 * to backoff_max, each one jittered over the upper half of its step so
 * that feeds do not reconnect in lock step after a server restart.
 */
#ifndef CRDBFEEDD_BACKOFF_H
#define CRDBFEEDD_BACKOFF_H

#include <stdint.h>

/*
 * The next delay in ms, in [step / 2, step] where step is *step_ms raised
 * to initial_ms and capped at max_ms (0 < initial_ms <= max_ms); then
 * *step_ms doubles (at most max_ms). *step_ms starts at 0 and goes back to
 * 0 when a connection works. rnd: a random number (random()), so that a
 * test can pass its own.
 */
int64_t backoff_next(int64_t *step_ms, int64_t initial_ms, int64_t max_ms,
		     uint64_t rnd);

#endif /* CRDBFEEDD_BACKOFF_H */
