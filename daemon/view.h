/*
 * view.h: what the daemon is now, as plain copies: each feed's and sink's
 * name, configuration and counters (stats.h), taken at one moment. The
 * control socket, the metrics endpoint and the systemd STATUS= line read
 * only this; they never hold a feed or a sink.
 */
#ifndef CRDBFEEDD_VIEW_H
#define CRDBFEEDD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf.h"
#include "stats.h"

struct feed_view {
	const char *name;
	const struct feed_config *cfg;
	bool live;                /* false: the feed could not be created
				     (state and stats are then empty) */
	const char *state;        /* the public state: "connecting",
				     "streaming", "reconnecting", "failed",
				     "paused", "stopped" */
	struct feed_stats stats;
};

struct sink_view {
	const char *name;
	const struct sink_config *cfg;
	bool live;                /* false: the sink could not be opened */
	struct sink_stats stats;
};

/* Strings and configs are borrowed from the running configuration: a view
 * is good until its taker returns to the event loop. */
struct daemon_view {
	const struct config *cfg;  /* NULL: no configuration (yet) */
	struct feed_view *feeds;   /* one per configured feed, in order */
	size_t nfeeds;
	struct sink_view *sinks;   /* one per configured sink, in order */
	size_t nsinks;
	int64_t started_at;        /* CLOCK_REALTIME ms of the process start */
	const char *version;       /* PACKAGE_VERSION */
	bool ready;                /* READY=1 was reached (see notify.h) */
	bool shutting_down;
};

/* Free the arrays a view was filled with. */
static inline void daemon_view_release(struct daemon_view *view)
{
	free(view->feeds);
	free(view->sinks);
	view->feeds = NULL;
	view->sinks = NULL;
	view->nfeeds = view->nsinks = 0;
}

#endif /* CRDBFEEDD_VIEW_H */
