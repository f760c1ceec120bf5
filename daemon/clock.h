/*
 * clock.h: the two clocks crdbfeedd reads, in milliseconds: the monotonic
 * one for timeouts and rates, the wall clock for what operators see.
 */
#ifndef CRDBFEEDD_CLOCK_H
#define CRDBFEEDD_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: never jumps; for deadlines, intervals and rates. */
int64_t clock_mono_ms(void);

/* CLOCK_REALTIME: milliseconds since the epoch; for status and metrics. */
int64_t clock_wall_ms(void);

#endif /* CRDBFEEDD_CLOCK_H */
