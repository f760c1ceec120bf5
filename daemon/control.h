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
 *   cancel FEED       the same: a job feed's changefeed job cancelled
 *                     (CANCEL JOB), the feed failed until a reload
 *   reload            the same, after the reload finished (errors listed)
 *   replay FEED [OPTS] an ordered feed's journal (ctl_replay.h; OPTS is
 *                     the JSON object of ctl_replay_query_format): a
 *                     first line {"ok":true,"after":A,"first":F,
 *                     "last":L} (rows after A were asked for; F is the
 *                     oldest row kept, L the newest the replay ends at)
 *                     or the refusal, then the journal's lines, then
 *                     a last line {"ok":true,"lines":N} or, when the
 *                     replay failed on its way, {"ok":false,...}. The
 *                     lines are read in chunks as the client drains them.
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
struct journal;

struct control_ops {
	/* Fill *out with the current view (view.h; the taker releases it
	 * with daemon_view_release before returning to the loop). */
	void (*view)(void *arg, struct daemon_view *out);
	/* Pause (pause true, why says who) or resume the feed named feed:
	 * 0, or -1 when it is stopping (pause) or not paused (resume). The
	 * caller has found it live in a view just taken. */
	int (*pause)(void *arg, const char *feed, bool pause, const char *why);
	/* Cancel the changefeed job of the job feed named feed (why says
	 * who): 0, or -1 with errbuf set (a sinkless feed, no job yet). */
	int (*cancel)(void *arg, const char *feed, const char *why,
		      char *errbuf, size_t errlen);
	/* Reload the configuration as SIGHUP does. 0 when it was applied,
	 * -1 with errbuf holding the problems ("; "-joined) otherwise. */
	int (*reload)(void *arg, char *errbuf, size_t errlen);
	/* The open journal of the ordered feed named feed, or NULL (no such
	 * feed, stream delivery, or its journal is not open). Asked again
	 * for every chunk a replay reads, so a feed removed or restarted by
	 * a reload between two chunks ends that replay with an error rather
	 * than leaving it a stale pointer. NULL: replay is refused. */
	struct journal *(*journal)(void *arg, const char *feed);
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
