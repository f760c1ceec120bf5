/*
 * notify.h: crdbfeedd's side of the systemd service protocol (sd_notify):
 * READY=1, a STATUS= summary kept current, WATCHDOG=1 pings from the event
 * loop, RELOADING=1 / READY=1 around a reload, STOPPING=1 at shutdown.
 *
 * Built without libsystemd every call is a no-op; notifier_new() then logs
 * one warning when NOTIFY_SOCKET is set (the service manager waits for a
 * READY=1 that never comes).
 */
#ifndef CRDBFEEDD_NOTIFY_H
#define CRDBFEEDD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "view.h"

/* How often STATUS= is recomputed (sent only when its text changed). */
#define NOTIFY_STATUS_INTERVAL_MS 1000

struct notifier;

/*
 * Start notifying for the loop on base: when NOTIFY_SOCKET is set, a timer
 * recomputes STATUS= from view(arg) every NOTIFY_STATUS_INTERVAL_MS, and
 * when the service manager asks for a watchdog (WATCHDOG_USEC, WATCHDOG_PID)
 * another one sends WATCHDOG=1 at half its interval. Both are loop timers:
 * a blocked loop misses its pings, which is the point. NULL only on ENOMEM
 * (logged).
 */
struct notifier *notifier_new(struct event_base *base,
			      void (*view)(void *arg, struct daemon_view *out),
			      void *arg);

/* True when a service manager listens (NOTIFY_SOCKET set, libsystemd in). */
bool notifier_active(const struct notifier *n);

/* READY=1 with the current STATUS=. Called at start once every sink
 * listens and every feed has finished its first connection attempt, and
 * after each reload. */
void notifier_ready(struct notifier *n);

/* RELOADING=1 with MONOTONIC_USEC=now, before a reload is applied. */
void notifier_reloading(struct notifier *n);

/* STOPPING=1 (once), when the shutdown begins. Stops the STATUS timer;
 * the watchdog keeps pinging while sinks flush. */
void notifier_stopping(struct notifier *n);

/* Stop the timers and free. NULL is fine. */
void notifier_free(struct notifier *n);

/*
 * The STATUS= text for a view, e.g.
 *   "feeds: 2 streaming, 1 reconnecting, 0 failed, 0 paused; 12.5 events/s;
 *    worst lag 1.3s (orders); 4 subscribers"
 * ("connecting N" follows "feeds:" while some feed is connecting; the lag
 * part reads "worst lag -" before any feed has a resolved timestamp).
 * events_per_s is computed by the caller from row counters. Exposed for
 * tests; always NUL-terminates within len.
 */
void notify_format_status(const struct daemon_view *view, double events_per_s,
			  int64_t now_ms, char *buf, size_t len);

#endif /* CRDBFEEDD_NOTIFY_H */
