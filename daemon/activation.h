/*
 * activation.h: listening sockets passed by systemd (socket activation:
 * LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES), handed out by name. A sink uses
 * the socket named like its [sink NAME] section; the control socket and the
 * metrics endpoint use "control" and "metrics". Every socket must be
 * claimed by someone: one that nobody asked for is a configuration error.
 */
#ifndef CRDBFEEDD_ACTIVATION_H
#define CRDBFEEDD_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

/* Most sockets taken over (more is an error). */
#define ACTIVATION_MAX_FDS 64

/*
 * Take over the passed sockets, once, before anything else opens a file
 * descriptor: check each is a listening stream socket (AF_UNIX, or any
 * family for "metrics"), mark it close-on-exec, and unset the LISTEN_*
 * variables. No sockets passed is fine. -1 with errbuf set when a socket is
 * unusable, a name is repeated or missing, or there are too many.
 */
int activation_init(char *errbuf, size_t errlen);

/* The socket passed under name (and remember it was claimed), or -1.
 * The fd stays owned here (users dup it) for later reloads. Fits
 * control_open()'s activated_fd callback. */
int activation_fd(const char *name);

/* How many sockets were passed. */
size_t activation_count(void);

/* The first passed socket no activation_fd() call claimed, or NULL. */
const char *activation_unclaimed(void);

/* Close every passed socket (at exit). */
void activation_close(void);

#endif /* CRDBFEEDD_ACTIVATION_H */
