/*
 * notify.c: sd_notify messages for systemd (READY, STATUS, WATCHDOG,
 * RELOADING, STOPPING) and the two loop timers behind STATUS= and
 * WATCHDOG=1. Without libsystemd: no-ops and one warning.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "notify.h"

#include "clock.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define STATUS_MAX 256

struct notifier {
	struct event_base *base;
	void (*view)(void *arg, struct daemon_view *out);
	void *arg;
	bool active;            /* NOTIFY_SOCKET set and libsystemd in */
	bool stopping;
	struct event *status_timer;
	struct event *watchdog_timer;
	struct timeval watchdog_interval;
	char last_status[STATUS_MAX];
	/* events per second: rows seen at the previous tick */
	uint64_t last_rows;
	int64_t last_rows_at;   /* CLOCK_MONOTONIC ms, 0 = no sample yet */
	double events_per_s;
};

/* Send one message; failures are logged at debug level only (the manager
 * may be gone during shutdown, and nothing can be done about it). */
static void send_state(struct notifier *n, const char *state)
{
#ifdef HAVE_SYSTEMD
	int rc;

	if (!n || !n->active)
		return;
	rc = sd_notify(0, state);
	if (rc < 0)
		log_debug(NULL, "sd_notify: %s", strerror(-rc));
#else
	(void)n;
	(void)state;
#endif
}

void notify_format_status(const struct daemon_view *view, double events_per_s,
			  int64_t now_ms, char *buf, size_t len)
{
	size_t streaming = 0, connecting = 0, reconnecting = 0, failed = 0,
	       paused = 0, subscribers = 0;
	int64_t worst_lag = -1;
	const char *worst_feed = NULL;
	char lag[96];
	int n;

	if (!len)
		return;
	for (size_t i = 0; i < view->nfeeds; i++) {
		const struct feed_view *feed = &view->feeds[i];
		const char *state = feed->state;

		if (!feed->live)
			continue;
		if (strcmp(state, "streaming") == 0)
			streaming++;
		else if (strcmp(state, "connecting") == 0)
			connecting++;
		else if (strcmp(state, "reconnecting") == 0)
			reconnecting++;
		else if (strcmp(state, "failed") == 0)
			failed++;
		else if (strcmp(state, "paused") == 0)
			paused++;
		if (feed->stats.last_resolved.wall > 0) {
			int64_t lag_ms = now_ms - feed->stats.last_resolved.wall / 1000000;

			if (lag_ms < 0)
				lag_ms = 0;
			if (lag_ms > worst_lag) {
				worst_lag = lag_ms;
				worst_feed = feed->name;
			}
		}
	}
	for (size_t i = 0; i < view->nsinks; i++)
		if (view->sinks[i].live)
			subscribers += view->sinks[i].stats.subscribers;
	if (worst_feed)
		snprintf(lag, sizeof(lag), "worst lag %" PRId64 ".%01" PRId64 "s (%.40s)",
			 worst_lag / 1000, (worst_lag % 1000) / 100, worst_feed);
	else
		snprintf(lag, sizeof(lag), "worst lag -");
	n = snprintf(buf, len, "feeds: ");
	if (n < 0 || (size_t)n >= len)
		return;
	if (connecting) {
		int m = snprintf(buf + n, len - (size_t)n, "%zu connecting, ", connecting);

		if (m < 0 || (size_t)m >= len - (size_t)n)
			return;
		n += m;
	}
	snprintf(buf + n, len - (size_t)n,
		 "%zu streaming, %zu reconnecting, %zu failed, %zu paused; "
		 "%.1f events/s; %s; %zu subscribers",
		 streaming, reconnecting, failed, paused, events_per_s, lag,
		 subscribers);
}

/* Rows over every feed now; the rate is over the last tick. */
static void sample_rate(struct notifier *n, const struct daemon_view *view)
{
	uint64_t rows = 0;
	int64_t now = clock_mono_ms();

	for (size_t i = 0; i < view->nfeeds; i++)
		if (view->feeds[i].live)
			rows += view->feeds[i].stats.rows;
	/* A feed removed by a reload takes its rows along: no negative rate. */
	if (n->last_rows_at && now > n->last_rows_at && rows >= n->last_rows)
		n->events_per_s = (double)(rows - n->last_rows) * 1000.0 /
				  (double)(now - n->last_rows_at);
	else if (n->last_rows_at)
		n->events_per_s = 0;
	n->last_rows = rows;
	n->last_rows_at = now;
}

static void send_status(struct notifier *n, bool force)
{
	struct daemon_view view = { 0 };
	char text[STATUS_MAX], msg[STATUS_MAX + 8];

	n->view(n->arg, &view);
	sample_rate(n, &view);
	notify_format_status(&view, n->events_per_s, clock_wall_ms(), text, sizeof(text));
	daemon_view_release(&view);
	if (!force && strcmp(text, n->last_status) == 0)
		return;
	snprintf(n->last_status, sizeof(n->last_status), "%s", text);
	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	send_state(n, msg);
}

#ifdef HAVE_SYSTEMD
static void on_status_timer(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;

	(void)fd;
	(void)what;
	if (!n->stopping)
		send_status(n, false);
}

static void on_watchdog_timer(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;

	(void)fd;
	(void)what;
	send_state(n, "WATCHDOG=1");
}
#endif

struct notifier *notifier_new(struct event_base *base,
			      void (*view)(void *arg, struct daemon_view *out),
			      void *arg)
{
	struct notifier *n = calloc(1, sizeof(*n));
	const char *socket_env = getenv("NOTIFY_SOCKET");

	if (!n) {
		log_error(NULL, "out of memory setting up sd_notify");
		return NULL;
	}
	n->base = base;
	n->view = view;
	n->arg = arg;
#ifdef HAVE_SYSTEMD
	n->active = socket_env && *socket_env;
	if (n->active) {
		struct timeval every = { NOTIFY_STATUS_INTERVAL_MS / 1000,
					 (NOTIFY_STATUS_INTERVAL_MS % 1000) * 1000 };
		uint64_t usec = 0;
		int rc;

		n->status_timer = event_new(base, -1, EV_PERSIST, on_status_timer, n);
		if (!n->status_timer || event_add(n->status_timer, &every)) {
			log_error(NULL, "cannot start the STATUS= timer");
			notifier_free(n);
			return NULL;
		}
		/* WATCHDOG_USEC applies only when WATCHDOG_PID is ours (or
		 * unset): sd_watchdog_enabled checks that. */
		rc = sd_watchdog_enabled(0, &usec);
		if (rc < 0)
			log_warning(NULL, "ignoring a bad WATCHDOG_USEC: %s", strerror(-rc));
		if (rc > 0 && usec > 0) {
			uint64_t half = usec / 2;

			n->watchdog_interval.tv_sec = (time_t)(half / 1000000);
			n->watchdog_interval.tv_usec = (suseconds_t)(half % 1000000);
			n->watchdog_timer = event_new(base, -1, EV_PERSIST,
						      on_watchdog_timer, n);
			if (!n->watchdog_timer ||
			    event_add(n->watchdog_timer, &n->watchdog_interval)) {
				log_error(NULL, "cannot start the watchdog timer");
				notifier_free(n);
				return NULL;
			}
			log_info(NULL, "systemd watchdog: a ping every %" PRIu64 " ms",
				 half / 1000);
		}
	}
#else
	if (socket_env && *socket_env)
		log_warning(NULL, "NOTIFY_SOCKET is set but crdbfeedd was built without "
			    "systemd support: no READY=1 will be sent (use Type=simple)");
#endif
	return n;
}

bool notifier_active(const struct notifier *n)
{
	return n && n->active;
}

void notifier_ready(struct notifier *n)
{
	if (!n || !n->active)
		return;
	send_state(n, "READY=1");
	send_status(n, true);
}

void notifier_reloading(struct notifier *n)
{
	char msg[64];
	struct timespec ts;

	if (!n || !n->active)
		return;
	/* systemd >= 253 matches the reload by MONOTONIC_USEC; older ones
	 * ignore it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		 (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	send_state(n, msg);
}

void notifier_stopping(struct notifier *n)
{
	if (!n || !n->active || n->stopping)
		return;
	n->stopping = true;
	if (n->status_timer)
		event_del(n->status_timer);
	send_state(n, "STOPPING=1\nSTATUS=stopping");
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	if (n->status_timer)
		event_free(n->status_timer);
	if (n->watchdog_timer)
		event_free(n->watchdog_timer);
	free(n);
}
