/*
 * control.h: the operator's side doors: the control socket (status,
 * metrics, pause, resume, reload; crdbfeedctl(1) speaks it) and the
 * Prometheus metrics endpoint (HTTP on a Unix socket and/or a loopback TCP
 * port). Both read the daemon through a view it hands out on demand, so
 * they never keep pointers across loop passes.
 *
 * Protocol of the control socket (one command per connection): the client
 * sends one line, the daemon answers and closes.
 *   status            one JSON object (crdbfeedctl(1), "STATUS")
 *   metrics           the Prometheus text exposition
 *   pause FEED        {"ok":true} or {"ok":false,"error":"..."}
 *   resume FEED       the same
 *   reload            the same, after the reload finished (errors listed)
 * An unknown command or a line over 1 KiB gets {"ok":false,"error":...}.
 */
#ifndef CRDBFEEDD_CONTROL_H
#define CRDBFEEDD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "view.h"

struct control;

struct control_ops {
	/* Fill *out with the current view (view.h; the taker releases it
	 * with daemon_view_release before returning to the loop). */
	void (*view)(void *arg, struct daemon_view *out);
	/* Pause (pause true, why says who) or resume the feed named feed:
	 * 0, or -1 when it is stopping (pause) or not paused (resume). The
	 * caller has found it live in a view just taken. */
	int (*pause)(void *arg, const char *feed, bool pause, const char *why);
	/* Reload the configuration as SIGHUP does. 0 when it was applied,
	 * -1 with errbuf holding the problems ("; "-joined) otherwise. */
	int (*reload)(void *arg, char *errbuf, size_t errlen);
};

/*
 * Open the control socket and metrics listeners cfg asks for (any may be
 * off). activated_fd(name) gives a socket passed by systemd for "control"
 * or "metrics" (-1: bind it ourselves); may be NULL. NULL with errbuf set
 * when a listener cannot be opened.
 */
struct control *control_open(struct event_base *base, const struct config *cfg,
			     const struct control_ops *ops, void *arg,
			     int (*activated_fd)(const char *name),
			     char *errbuf, size_t errlen);

/* Reload: reopen listeners whose settings changed (0, or -1 with errbuf:
 * the old listener is kept). cfg replaces the borrowed config. */
int control_reconfigure(struct control *ctl, const struct config *cfg,
			char *errbuf, size_t errlen);

/* Close every listener and connection, unlink the socket files it made. */
void control_close(struct control *ctl);

#endif /* CRDBFEEDD_CONTROL_H */
