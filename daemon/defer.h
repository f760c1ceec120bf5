/*
 * defer.h: frees deferred to the end of the current loop pass, so that an
 * object closed inside one of its own callbacks (or a sibling's) is never
 * freed while a caller up the stack still holds it (as pgbouncer does).
 */
#ifndef CRDBFEEDD_DEFER_H
#define CRDBFEEDD_DEFER_H

/* Queue fn(ptr). Never fails: when the list cannot grow, a fixed reserve
 * (64 entries) takes it; past that the object is leaked (logged), never
 * freed early. See defer.c. */
void defer_free(void (*fn)(void *), void *ptr);

/* Run everything queued (also what gets queued meanwhile). */
void defer_run(void);

#endif /* CRDBFEEDD_DEFER_H */
