/*
 * fleet.c: the feeds and sinks one configuration asks for, kept in step
 * with it across reloads (fleet.h), and the plain view of them that the
 * control socket, metrics and systemd status read.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "fleet.h"

#include "errbuf.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static ssize_t feed_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->nfeeds; i++)
		if (strcmp(cfg->feeds[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Open sink i of cfg for feeds[fi], on the socket systemd passed under
 * its name when there is one (kept by activation.c for later reloads). */
static struct sink *open_sink(struct fleet *fleet, const struct sink_config *cfg,
			      struct feed *feed, char *errbuf, size_t errlen)
{
	struct sink_owner owner = { 0 }; /* callbacks feed_sink_owner leaves out stay NULL */
	int passed = -1;

	feed_sink_owner(feed, &owner);
	if (cfg->type == SINK_UNIX && fleet->activated_fd)
		passed = fleet->activated_fd(cfg->name);
	if (passed >= 0) {
		log_info(NULL, "sink %s: using the socket passed by systemd", cfg->name);
		return sink_open_fd(fleet->base, cfg, &owner, passed, errbuf, errlen);
	}
	return sink_open(fleet->base, cfg, &owner, errbuf, errlen);
}

/* 1. Sinks: keep the equal ones whose feed survives, close the rest
 * (before the old config they point into goes away). */
static void reconcile_sinks(struct fleet *fleet, const struct config *next,
			    struct sink **sinks)
{
	const struct config *old = fleet->cfg;

	for (size_t i = 0; old && i < old->nsinks; i++) {
		struct sink *sink = fleet->sinks[i];
		const struct sink_config *ns;
		ssize_t fi, ofi;

		if (!sink)
			continue;
		ns = config_sink(next, old->sinks[i].name);
		fi = ns ? feed_index(next, ns->feed) : -1;
		ofi = ns ? feed_index(old, ns->feed) : -1;
		/* A feed that changes delivery or kind changes what its
		 * sinks offer (replay, channels): they open again. */
		if (ns && fi >= 0 && ofi >= 0 && config_sink_equal(&old->sinks[i], ns) &&
		    old->feeds[ofi].delivery == next->feeds[fi].delivery &&
		    old->feeds[ofi].kind == next->feeds[fi].kind) {
			sinks[ns - next->sinks] = sink;
			sink_set_config(sink, ns);
			continue;
		}
		ofi = feed_index(old, old->sinks[i].feed);
		if (ofi >= 0 && fleet->feeds[ofi])
			feed_remove_sink(fleet->feeds[ofi], sink);
		log_info(NULL, "sink %s %s", old->sinks[i].name,
			 ns ? "changed: reopening" : "removed");
		sink_close(sink, ns ? "the sink changed in a reload: connect again"
				    : "the sink was removed in a reload");
	}
}

/* 2. Feeds: keep, restart or stop. */
static void reconcile_feeds(struct fleet *fleet, const struct config *next,
			    struct feed **feeds)
{
	const struct config *old = fleet->cfg;

	for (size_t i = 0; old && i < old->nfeeds; i++) {
		struct feed *feed = fleet->feeds[i];
		ssize_t ni = feed_index(next, old->feeds[i].name);

		if (!feed)
			continue;
		if (ni < 0) {
			feed_stop(feed, "removed from the configuration");
			feed_finish(feed);
			feed_free(feed);
			continue;
		}
		feeds[ni] = feed;
		if (config_feed_equal(&old->feeds[i], &next->feeds[ni])) {
			feed_set_config(feed, &next->feeds[ni]);
			if (feed_get_state(feed) == FEED_FAILED)
				feed_restart(feed, &next->feeds[ni]);
		} else {
			feed_restart(feed, &next->feeds[ni]);
		}
	}
}

/* 3. What is new: feeds before their sinks, so that a subscriber's first
 * line is the feed's state. */
static int create_missing(struct fleet *fleet, char *errbuf, size_t errlen)
{
	const struct config *cfg = fleet->cfg;
	int rc = 0;

	for (size_t i = 0; i < cfg->nfeeds; i++) {
		if (fleet->feeds[i])
			continue;
		fleet->feeds[i] = feed_new(fleet->base, &cfg->feeds[i],
					   fleet->quick ? fleet->quick_state_dir : cfg->state_dir,
					   fleet->hook, fleet->hook_arg);
		if (!fleet->feeds[i]) {
			log_error(NULL, "out of memory creating feed %s", cfg->feeds[i].name);
			errbuf_add(errbuf, errlen, "out of memory creating feed %s",
				   cfg->feeds[i].name);
			rc = -1;
		}
	}
	for (size_t i = 0; i < cfg->nsinks; i++) {
		const struct sink_config *scfg = &cfg->sinks[i];
		ssize_t fi = feed_index(cfg, scfg->feed);
		char sink_err[512];

		if (fleet->sinks[i] || fi < 0 || !fleet->feeds[fi])
			continue;
		fleet->sinks[i] = open_sink(fleet, scfg, fleet->feeds[fi],
					    sink_err, sizeof(sink_err));
		if (!fleet->sinks[i]) {
			log_error(NULL, "sink %s: %s", scfg->name, sink_err);
			errbuf_add(errbuf, errlen, "sink %s: %s", scfg->name, sink_err);
			rc = -1;
			continue;
		}
		if (feed_add_sink(fleet->feeds[fi], fleet->sinks[i])) {
			log_error(NULL, "out of memory attaching sink %s", scfg->name);
			errbuf_add(errbuf, errlen, "out of memory attaching sink %s",
				   scfg->name);
			sink_close(fleet->sinks[i], NULL);
			fleet->sinks[i] = NULL;
			rc = -1;
		}
	}
	return rc;
}

int fleet_apply(struct fleet *fleet, struct config *next, char *errbuf, size_t errlen)
{
	struct feed **feeds = calloc(next->nfeeds ? next->nfeeds : 1, sizeof(*feeds));
	struct sink **sinks = calloc(next->nsinks ? next->nsinks : 1, sizeof(*sinks));
	int rc;

	if (!feeds || !sinks) {
		free(feeds);
		free(sinks);
		log_error(NULL, "out of memory applying the configuration");
		errbuf_add(errbuf, errlen, "out of memory applying the configuration");
		config_free(next);
		return -1;
	}
	reconcile_sinks(fleet, next, sinks);
	reconcile_feeds(fleet, next, feeds);
	free(fleet->feeds);
	free(fleet->sinks);
	fleet->feeds = feeds;
	fleet->sinks = sinks;
	config_free(fleet->cfg);
	fleet->cfg = next;
	rc = create_missing(fleet, errbuf, errlen);
	/* 4. Start what is new (after its sinks, so nothing is missed). */
	for (size_t i = 0; i < next->nfeeds; i++)
		if (feeds[i] && feed_get_state(feeds[i]) == FEED_STOPPED)
			feed_start(feeds[i]);
	return rc;
}

bool fleet_attempted(const struct fleet *fleet)
{
	for (size_t i = 0; fleet->cfg && i < fleet->cfg->nfeeds; i++)
		if (fleet->feeds[i] && !feed_attempted(fleet->feeds[i]))
			return false;
	return true;
}

void fleet_stop(struct fleet *fleet, const char *why)
{
	for (size_t i = 0; fleet->cfg && i < fleet->cfg->nfeeds; i++)
		if (fleet->feeds[i])
			feed_stop(fleet->feeds[i], why);
}

size_t fleet_queued_bytes(const struct fleet *fleet)
{
	size_t total = 0;

	for (size_t i = 0; fleet->cfg && i < fleet->cfg->nsinks; i++)
		if (fleet->sinks[i])
			total += sink_queued_bytes(fleet->sinks[i]);
	return total;
}

void fleet_finish(struct fleet *fleet)
{
	const struct config *cfg = fleet->cfg;

	for (size_t i = 0; cfg && i < cfg->nfeeds; i++)
		if (fleet->feeds[i])
			feed_finish(fleet->feeds[i]);
	for (size_t i = 0; cfg && i < cfg->nsinks; i++) {
		ssize_t fi;

		if (!fleet->sinks[i])
			continue;
		fi = feed_index(cfg, cfg->sinks[i].feed);
		if (fi >= 0 && fleet->feeds[fi])
			feed_remove_sink(fleet->feeds[fi], fleet->sinks[i]);
		sink_close(fleet->sinks[i], NULL);
		fleet->sinks[i] = NULL;
	}
	for (size_t i = 0; cfg && i < cfg->nfeeds; i++) {
		if (fleet->feeds[i])
			feed_free(fleet->feeds[i]);
		fleet->feeds[i] = NULL;
	}
}

void fleet_free(struct fleet *fleet)
{
	free(fleet->feeds);
	free(fleet->sinks);
	fleet->feeds = NULL;
	fleet->sinks = NULL;
	config_free(fleet->cfg);
	fleet->cfg = NULL;
}

void fleet_view(const struct fleet *fleet, struct daemon_view *out)
{
	const struct config *cfg = fleet->cfg;

	out->cfg = NULL;
	out->feeds = NULL;
	out->sinks = NULL;
	out->nfeeds = out->nsinks = 0;
	if (!cfg)
		return;
	out->feeds = calloc(cfg->nfeeds ? cfg->nfeeds : 1, sizeof(*out->feeds));
	out->sinks = calloc(cfg->nsinks ? cfg->nsinks : 1, sizeof(*out->sinks));
	if (!out->feeds || !out->sinks) {
		daemon_view_release(out);
		return;
	}
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		struct feed_view *fv = &out->feeds[i];

		fv->name = cfg->feeds[i].name;
		fv->cfg = &cfg->feeds[i];
		if (!fleet->feeds[i])
			continue;
		fv->live = true;
		fv->state = feed_public_state(fleet->feeds[i]);
		feed_get_stats(fleet->feeds[i], &fv->stats);
	}
	for (size_t i = 0; i < cfg->nsinks; i++) {
		struct sink_view *sv = &out->sinks[i];

		sv->name = cfg->sinks[i].name;
		sv->cfg = &cfg->sinks[i];
		if (!fleet->sinks[i])
			continue;
		sv->live = true;
		sink_get_stats(fleet->sinks[i], &sv->stats);
	}
	out->nfeeds = cfg->nfeeds;
	out->nsinks = cfg->nsinks;
	out->cfg = cfg;
}

int fleet_pause(struct fleet *fleet, const char *name, bool pause, const char *why)
{
	ssize_t i = feed_index(fleet->cfg, name);

	if (i < 0 || !fleet->feeds[i])
		return -1;
	return pause ? feed_pause(fleet->feeds[i], why) : feed_resume(fleet->feeds[i]);
}

int fleet_cancel(struct fleet *fleet, const char *name, const char *why,
		 char *errbuf, size_t errlen)
{
	ssize_t i = feed_index(fleet->cfg, name);

	if (i < 0 || !fleet->feeds[i]) {
		snprintf(errbuf, errlen, "feed %s is not running", name);
		return -1;
	}
	return feed_cancel_job(fleet->feeds[i], why, errbuf, errlen);
}

struct journal *fleet_journal(struct fleet *fleet, const char *name)
{
	ssize_t i = fleet->cfg ? feed_index(fleet->cfg, name) : -1;

	return i < 0 || !fleet->feeds[i] ? NULL : feed_journal(fleet->feeds[i]);
}
