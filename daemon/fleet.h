/*
 * fleet.h: the running feeds and sinks of one configuration, and the
 * reload reconciler that makes them match a new one. main.c owns one
 * fleet; the control socket, metrics and systemd status see it only
 * through fleet_view.
 */
#ifndef CRDBFEEDD_FLEET_H
#define CRDBFEEDD_FLEET_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "conf.h"
#include "feed.h"
#include "sink.h"
#include "view.h"

struct fleet {
	struct event_base *base;
	struct config *cfg;       /* the configuration in force (owned) */
	bool quick;               /* quick mode: quick_state_dir, or none */
	const char *quick_state_dir; /* quick mode's --state-dir or private
				      temporary directory; NULL: checkpoints
				      in memory */
	struct feed **feeds;      /* parallel to cfg->feeds; NULL = not created */
	struct sink **sinks;      /* parallel to cfg->sinks; NULL = not open */
	feed_state_hook hook;     /* given to every feed */
	void *hook_arg;
	/* The socket systemd passed under a sink's name, or -1; NULL = none. */
	int (*activated_fd)(const char *name);
};

/*
 * Make the running feeds and sinks match next (the first call starts
 * them): unchanged feeds keep streaming and their unchanged sinks keep
 * their subscribers; a feed whose statement changed (or that had failed)
 * restarts from its checkpoint; removed feeds stop and write their
 * checkpoint; new ones start. A sink whose section changed, or whose feed
 * is new, is reopened. Takes next. Returns 0, or -1 when a feed or sink
 * could not be made (the rest is applied anyway; each problem is logged
 * and appended to errbuf, which may be NULL).
 */
int fleet_apply(struct fleet *fleet, struct config *next,
		char *errbuf, size_t errlen);

/* Every feed has made its first connection attempt (feed_attempted). */
bool fleet_attempted(const struct fleet *fleet);

/* Stop every feed (shutdown): the sinks keep flushing. */
void fleet_stop(struct fleet *fleet, const char *why);

/* Bytes queued for subscribers over every sink. */
size_t fleet_queued_bytes(const struct fleet *fleet);

/* Write the checkpoints, close every sink, free every feed and the
 * arrays; the configuration stays (freed by fleet_free). */
void fleet_finish(struct fleet *fleet);
void fleet_free(struct fleet *fleet);

/* Fill *out with copies of every feed's and sink's counters (view.h).
 * Out of memory: out->cfg is NULL. */
void fleet_view(const struct fleet *fleet, struct daemon_view *out);

/* Pause or resume the feed named name: 0, -1 when there is no such live
 * feed or feed_pause/feed_resume refused. */
int fleet_pause(struct fleet *fleet, const char *name, bool pause, const char *why);
/* Cancel the changefeed job of the job feed named name (feed_cancel_job). */
int fleet_cancel(struct fleet *fleet, const char *name, const char *why,
		 char *errbuf, size_t errlen);

/* The open journal of the ordered feed named name, or NULL. */
struct journal *fleet_journal(struct fleet *fleet, const char *name);

#endif /* CRDBFEEDD_FLEET_H */
