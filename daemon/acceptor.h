/*
 * acceptor.h: accepting connections on a listening socket from the event
 * loop, for the sinks and the control/metrics listeners. Out of
 * descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), it stops
 * accepting for ACCEPTOR_RETRY_MS instead of spinning on a socket that
 * stays readable, then tries again.
 */
#ifndef CRDBFEEDD_ACCEPTOR_H
#define CRDBFEEDD_ACCEPTOR_H

#include <stdint.h>

#include <event2/event.h>

#define ACCEPTOR_RETRY_MS 1000

struct acceptor;

/*
 * Called with each accepted descriptor (non-blocking, close-on-exec; the
 * callback owns it). Return 0 to go on accepting in this pass, -1 to stop
 * until the socket is readable again.
 */
typedef int (*acceptor_fn)(int fd, void *arg);

/*
 * Watch listen_fd (borrowed: the caller closes it after acceptor_free).
 * At most per_pass connections are taken per loop pass. who names the
 * listener in log lines ("sink x", "control: metrics socket"). errors, if
 * not NULL, counts every failed accept(2). NULL when the events cannot be
 * made.
 */
struct acceptor *acceptor_new(struct event_base *base, int listen_fd,
			      const char *who, int per_pass,
			      acceptor_fn fn, void *arg, uint64_t *errors);

void acceptor_free(struct acceptor *acc);

#endif /* CRDBFEEDD_ACCEPTOR_H */
