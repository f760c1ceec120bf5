/*
 * main.c: crdbfeedd's command line and wiring: the config (or quick mode's
 * one feed) becomes feeds and sinks on one event_base; signals arrive as
 * loop events; deferred frees run after each pass of the loop; sockets
 * passed by systemd go to the sinks and the control socket named like
 * them; systemd hears READY/RELOADING/STOPPING at those points. Nothing
 * else lives here.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "activation.h"
#include "clock.h"
#include "conf.h"
#include "control.h"
#include "defer.h"
#include "encode.h"
#include "errbuf.h"
#include "feed.h"
#include "fleet.h"
#include "log.h"
#include "notify.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define SHUTDOWN_FLUSH_MS 5000  /* how long sinks may flush at exit */
#define SHUTDOWN_POLL_MS 50

struct daemon {
	struct event_base *base;
	struct fleet fleet;      /* the config in force, its feeds and sinks */
	bool quick;              /* quick mode: no state, stdout only */
	bool verbose;            /* -v: debug level whatever the config says */
	struct control *ctl;     /* control socket and metrics; NULL = none */
	struct notifier *notifier;
	bool ready;              /* READY=1 sent (see daemon_check_ready) */
	int64_t started_at;      /* CLOCK_REALTIME ms */
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *shutdown_timer;
	int64_t shutdown_deadline_ms;
	bool started;            /* the first apply and control_open are done */
	bool shutting_down;
	bool done;
	int exit_code;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: crdbfeedd -c FILE [-v]\n"
		"       crdbfeedd --check-config -c FILE\n"
		"       crdbfeedd --dsn URL [--option K[=V]]... [--ordered] [--state-dir DIR] [-v] TABLE...\n"
		"\n"
		"Stream CockroachDB changefeeds as NDJSON to Unix-socket subscribers\n"
		"and standard output, resuming from checkpoints after any fault.\n"
		"\n"
		"  -c, --config FILE    run the feeds and sinks of FILE (foreground)\n"
		"      --check-config   validate FILE, list every problem, exit 0 or 1\n"
		"      --dsn URL        quick mode: one feed of TABLE... to stdout, no state\n"
		"  -o, --option K[=V]   quick mode: a changefeed option (repeatable)\n"
		"      --ordered        quick mode: delivery = ordered (once each, in commit\n"
		"                       order, with seq); without --state-dir its journal is\n"
		"                       in a private temporary directory removed at exit\n"
		"      --state-dir DIR  quick mode: keep the checkpoint (and journal) in DIR,\n"
		"                       so that the next run resumes\n"
		"  -v, --verbose        log at debug level\n"
		"  -h, --help           show this help and the configuration keys\n"
		"  -V, --version        show the version\n"
		"\n"
		"Exit status: 0 stopped by a signal; 1 --check-config found problems;\n"
		"64 usage; 69 quick mode's feed failed permanently; 70 internal error;\n"
		"71 a socket could not be set up (or one passed by systemd is unusable);\n"
		"73 the state directory is unusable; 78 the configuration is invalid,\n"
		"or systemd passed a socket no sink, control or metrics claims.\n"
		"See crdbfeedd(8).\n");
}

/* ---- systemd readiness ----------------------------------------------------- */

/*
 * READY=1 once, at start: the config is loaded, every sink and the control
 * socket listen (daemon_apply and control_open succeeded: d->started), and
 * every feed has finished its first connection attempt. Called after the
 * start and on every feed state change.
 */
static void daemon_check_ready(struct daemon *d)
{
	if (d->ready || !d->started || d->shutting_down)
		return;
	if (!fleet_attempted(&d->fleet))
		return;
	d->ready = true;
	log_info(NULL, "ready: every sink listens, every feed made its first connection attempt");
	notifier_ready(d->notifier);
}

static void daemon_view_fill(void *arg, struct daemon_view *out)
{
	struct daemon *d = arg;

	fleet_view(&d->fleet, out);
	out->started_at = d->started_at;
	out->version = PACKAGE_VERSION;
	out->ready = d->ready;
	out->shutting_down = d->shutting_down;
}

/* ---- shutdown ------------------------------------------------------------- */

/* Checkpoints written, sinks closed: leave the loop. */
static void daemon_finish(struct daemon *d)
{
	fleet_finish(&d->fleet);
	d->done = true;
	event_base_loopbreak(d->base);
}

static void on_shutdown_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	size_t queued = fleet_queued_bytes(&d->fleet);

	if (queued && clock_mono_ms() < d->shutdown_deadline_ms) {
		struct timeval tv = { 0, SHUTDOWN_POLL_MS * 1000 };

		evtimer_add(d->shutdown_timer, &tv);
		return;
	}
	if (queued)
		log_warning(NULL, "%zu bytes still queued for subscribers after %d ms; closing anyway",
			    queued, SHUTDOWN_FLUSH_MS);
	daemon_finish(d);
}

/* Stop the feeds, let the sinks flush for a bounded time, then finish. */
static void daemon_shutdown(struct daemon *d, const char *why)
{
	struct timeval now = { 0, 0 };

	if (d->shutting_down)
		return;
	d->shutting_down = true;
	notifier_stopping(d->notifier);
	log_notice(NULL, "shutting down: %s", why);
	fleet_stop(&d->fleet, why);
	d->shutdown_deadline_ms = clock_mono_ms() + SHUTDOWN_FLUSH_MS;
	evtimer_add(d->shutdown_timer, &now);
}

static void on_feed_state(struct feed *feed, enum feed_state state,
			  const char *reason, void *arg)
{
	struct daemon *d = arg;

	if (state != FEED_CONNECTING && state != FEED_STARTING)
		daemon_check_ready(d);
	if (!d->quick || d->shutting_down)
		return;
	if (state == FEED_FAILED) {
		fprintf(stderr, "crdbfeedd: %s: %s\n", feed_name(feed),
			reason ? reason : "failed");
		d->exit_code = EX_UNAVAILABLE;
		daemon_shutdown(d, "the feed failed");
	} else if (state == FEED_STOPPED) {
		daemon_shutdown(d, "the changefeed completed");
	}
}

static void on_stdout_closed(void *arg)
{
	struct daemon *d = arg;

	if (d->quick)
		daemon_shutdown(d, "standard output closed");
}

/* libevent's own warnings (e.g. epoll refusing a regular file, which the
 * stdout sink handles) become debug lines. */
static void on_libevent_log(int severity, const char *msg)
{
	log_msg(severity >= EVENT_LOG_ERR ? LOG_LEVEL_ERROR : LOG_LEVEL_DEBUG,
		"libevent", "%s", msg);
}

/* ---- signals -------------------------------------------------------------- */

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->shutting_down) {
		/* A second signal: the operator does not want to wait. */
		log_warning(NULL, "second signal %d: exiting at once", (int)sig);
		_exit(128 + (int)sig);
	}
	daemon_shutdown(d, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

/*
 * Reload the configuration file (SIGHUP and the control socket's reload):
 * an invalid file, or a control/metrics listener that cannot be opened,
 * changes nothing; otherwise the running feeds and sinks are made to match
 * it. systemd hears RELOADING=1 before and READY=1 after (only once the
 * daemon was ready: before that, READY=1 still waits for the feeds).
 * 0, or -1 with the problems in errbuf ("; "-joined; also logged).
 */
static int daemon_reload(struct daemon *d, const char *why, char *errbuf, size_t errlen)
{
	struct config_diag diag = { 0 };
	struct config *next;
	char changed[256];
	int rc = 0;

	if (errlen)
		errbuf[0] = '\0';
	if (d->quick || d->shutting_down) {
		errbuf_add(errbuf, errlen, d->quick ? "quick mode has no configuration file"
						    : "shutting down");
		return -1;
	}
	log_notice(NULL, "%s: reloading %s", why, d->fleet.cfg->path);
	if (d->ready)
		notifier_reloading(d->notifier);
	next = config_load(d->fleet.cfg->path, &diag);
	if (!next) {
		log_error(NULL, "reload failed; keeping the running configuration (%zu problems):",
			  diag.nlines);
		for (size_t i = 0; i < diag.nlines; i++) {
			log_error(NULL, "%s", diag.lines[i]);
			errbuf_add(errbuf, errlen, "%s", diag.lines[i]);
		}
		config_diag_free(&diag);
		rc = -1;
		goto done;
	}
	config_diag_free(&diag);
	/* Feeds keep the state_dir they started with; new feeds must use it
	 * too so that one process has one state dir. */
	if (config_keep_restart_keys(next, d->fleet.cfg, changed, sizeof(changed)))
		log_warning(NULL, "%s changed: takes effect at the next restart", changed);
	/* The control side first: when it cannot take the new file, nothing
	 * changes (it then still borrows the running config). */
	if (d->ctl) {
		char cerr[512] = "";

		if (control_reconfigure(d->ctl, next, cerr, sizeof(cerr))) {
			log_error(NULL, "reload failed; keeping the running configuration: %s", cerr);
			errbuf_add(errbuf, errlen, "%s", cerr);
			config_free(next);
			rc = -1;
			goto done;
		}
	}
	log_set_level(d->verbose ? LOG_LEVEL_DEBUG : next->log_level);
	if (fleet_apply(&d->fleet, next, errbuf, errlen))
		rc = -1;
	log_notice(NULL, "reloaded: %zu feeds, %zu sinks%s", d->fleet.cfg->nfeeds, d->fleet.cfg->nsinks,
		   rc ? " (some sinks could not be opened)" : "");
done:
	if (d->ready)
		notifier_ready(d->notifier);
	return rc;
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char errbuf[1024];

	if (d->quick || d->shutting_down)
		return;
	daemon_reload(d, "SIGHUP", errbuf, sizeof(errbuf));
}

static int control_reload(void *arg, char *errbuf, size_t errlen)
{
	return daemon_reload(arg, "control socket", errbuf, errlen);
}

static int control_pause(void *arg, const char *feed, bool pause, const char *why)
{
	struct daemon *d = arg;

	return fleet_pause(&d->fleet, feed, pause, why);
}

static int control_cancel(void *arg, const char *feed, const char *why,
			  char *errbuf, size_t errlen)
{
	struct daemon *d = arg;

	return fleet_cancel(&d->fleet, feed, why, errbuf, errlen);
}

/* ---- main ------------------------------------------------------------------ */

/*
 * Quick mode's --dsn is in argv, which ps(1) and /proc/PID/cmdline show to
 * every local user: once the config holds its own copy, overwrite the
 * argument in place with its masked form (as mysql(1) does with -p), so a
 * password written in it is visible only for the moment before this runs.
 */
static void hide_dsn_password(char *arg)
{
	char *masked = config_dsn_mask(arg);
	size_t len = strlen(arg), mlen;

	if (!masked || strcmp(masked, arg) == 0) {
		free(masked);
		return;
	}
	mlen = strlen(masked);
	if (mlen > len) {
		/* Never grow argv: hide all of it. */
		memset(arg, '*', len);
	} else {
		memcpy(arg, masked, mlen);
		memset(arg + mlen, ' ', len - mlen);
	}
	free(masked);
}

/* crdbfeedctl replay through the control socket reads the feed's own
 * journal handle (journal.h: one per process). */
static struct journal *control_journal(void *arg, const char *feed)
{
	struct daemon *d = arg;

	return fleet_journal(&d->fleet, feed);
}

/* Quick mode's private state directory for --ordered without
 * --state-dir: mode 0700 under $TMPDIR (or /tmp), removed at exit. */
static int quick_temp_dir(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if ((size_t)snprintf(buf, len, "%s/crdbfeedd-XXXXXX", tmp) >= len ||
	    !mkdtemp(buf)) {
		fprintf(stderr, "crdbfeedd: cannot create a temporary state directory in %s: %s\n",
			tmp, strerror(errno));
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	if (remove(path) < 0)
		log_warning(NULL, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}

static void remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int check_state_dir(const char *dir)
{
	struct stat st;

	if (!dir || !*dir) {
		fprintf(stderr, "crdbfeedd: state_dir is not set\n");
		return -1;
	}
	if (stat(dir, &st) != 0 && errno == ENOENT && mkdir(dir, 0750) != 0) {
		fprintf(stderr, "crdbfeedd: cannot create state_dir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		fprintf(stderr, "crdbfeedd: state_dir %s is not writable: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "dsn", required_argument, NULL, 'd' },
		{ "option", required_argument, NULL, 'o' },
		{ "ordered", no_argument, NULL, 'O' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* Not in the usage: print the values in force and exit (for
		 * the tests of the defaults). */
		{ "dump-config", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config_path = NULL, *dsn = NULL, *quick_dir = NULL;
	char temp_dir[4096] = "";
	bool ordered = false;
	char **options = NULL;
	int noptions = 0, opt;
	bool check_only = false, verbose = false, dump = false;
	struct daemon d = { 0 };
	struct config *cfg;
	struct timespec seed;
	char errbuf[1024] = "";
	static const struct control_ops ctl_ops = {
		.view = daemon_view_fill,
		.reload = control_reload,
		.pause = control_pause,
		.cancel = control_cancel,
		.journal = control_journal,
	};

	options = calloc((size_t)argc, sizeof(char *));
	if (!options)
		return EX_OSERR;
	while ((opt = getopt_long(argc, argv, "c:o:vhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'D':
			dump = true;
			break;
		case 'd':
			dsn = optarg;
			break;
		case 'o':
			options[noptions++] = optarg;
			break;
		case 'O':
			ordered = true;
			break;
		case 'S':
			quick_dir = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			printf("\nConfiguration keys (crdbfeedd.conf(5)):\n");
			config_print_help(stdout);
			free(options);
			return 0;
		case 'V':
			printf("crdbfeedd (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			free(options);
			return 0;
		default:
			usage(stderr);
			free(options);
			return EX_USAGE;
		}
	}
	if ((config_path && dsn) || (!config_path && !dsn) ||
	    (dsn && optind >= argc) || (config_path && optind < argc) ||
	    (check_only && !config_path) || (noptions && !dsn) ||
	    ((ordered || quick_dir) && !dsn)) {
		usage(stderr);
		free(options);
		return EX_USAGE;
	}
	if (config_path) {
		struct config_diag diag = { 0 };

		cfg = config_load(config_path, &diag);
		if (check_only) {
			config_diag_print(&diag, stderr);
			config_diag_free(&diag);
			config_free(cfg);
			free(options);
			return cfg ? 0 : 1;
		}
		if (!cfg) {
			config_diag_print(&diag, stderr);
			config_diag_free(&diag);
			free(options);
			return EX_CONFIG;
		}
		config_diag_free(&diag);
		if (dump) {
			config_dump(cfg, stdout);
			config_free(cfg);
			free(options);
			return 0;
		}
		if (check_state_dir(cfg->state_dir)) {
			config_free(cfg);
			free(options);
			return EX_CANTCREAT;
		}
	} else {
		struct config_diag diag = { 0 };

		cfg = config_quick(dsn, argv + optind, (size_t)(argc - optind),
				   options, (size_t)noptions, ordered, &diag);
		d.quick = true;
		for (size_t i = 0; i < diag.nlines; i++)
			fprintf(stderr, "crdbfeedd: %s\n", diag.lines[i]);
		config_diag_free(&diag);
		if (!cfg) {
			free(options);
			return EX_USAGE;
		}
		hide_dsn_password((char *)dsn);
		if (dump) {
			config_dump(cfg, stdout);
			config_free(cfg);
			free(options);
			return 0;
		}
	}
	free(options);
	log_init(verbose ? LOG_LEVEL_DEBUG : cfg->log_level);
	/* Sockets from systemd are checked before anything else runs. */
	if (activation_init(errbuf, sizeof(errbuf))) {
		log_error(NULL, "socket activation: %s", errbuf);
		config_free(cfg);
		return EX_OSERR;
	}
	clock_gettime(CLOCK_REALTIME, &seed);
	d.started_at = (int64_t)seed.tv_sec * 1000 + seed.tv_nsec / 1000000;
	srandom((unsigned)(seed.tv_nsec ^ getpid()));
	signal(SIGPIPE, SIG_IGN);

	event_set_log_callback(on_libevent_log);
	d.base = event_base_new();
	if (!d.base) {
		config_free(cfg);
		return EX_OSERR;
	}
	d.sig_term = evsignal_new(d.base, SIGTERM, on_term, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, on_term, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	d.shutdown_timer = evtimer_new(d.base, on_shutdown_timer, &d);
	if (!d.sig_term || !d.sig_int || !d.sig_hup || !d.shutdown_timer ||
	    evsignal_add(d.sig_term, NULL) || evsignal_add(d.sig_int, NULL) ||
	    evsignal_add(d.sig_hup, NULL)) {
		log_error(NULL, "cannot set up signal handling");
		config_free(cfg);
		return EX_OSERR;
	}
	d.notifier = notifier_new(d.base, daemon_view_fill, &d);
	if (!d.notifier) {
		config_free(cfg);
		return EX_OSERR;
	}
	sink_set_stdout_closed_hook(on_stdout_closed, &d);
	d.verbose = verbose;
	d.fleet.base = d.base;
	d.fleet.quick = d.quick;
	if (d.quick && (quick_dir || ordered)) {
		if (quick_dir ? check_state_dir(quick_dir) != 0 :
				quick_temp_dir(temp_dir, sizeof(temp_dir)) != 0) {
			config_free(cfg);
			return EX_CANTCREAT;
		}
		d.fleet.quick_state_dir = quick_dir ? quick_dir : temp_dir;
	}
	d.fleet.hook = on_feed_state;
	d.fleet.hook_arg = &d;
	d.fleet.activated_fd = activation_fd;
	if (fleet_apply(&d.fleet, cfg, NULL, 0)) {
		/* A sink that cannot listen at start is an operator error. */
		d.exit_code = EX_OSERR;
		daemon_shutdown(&d, "a sink could not be opened");
	} else if (!d.quick &&
		   !(d.ctl = control_open(d.base, d.fleet.cfg, &ctl_ops, &d, activation_fd,
					  errbuf, sizeof(errbuf)))) {
		log_error(NULL, "control: %s", errbuf);
		d.exit_code = EX_OSERR;
		daemon_shutdown(&d, "the control or metrics socket could not be opened");
	} else if (activation_unclaimed()) {
		/* Most likely FileDescriptorName= and a [sink NAME] disagree:
		 * refusing is better than a socket nobody serves. */
		log_error(NULL, "systemd passed a socket named \"%s\" but no [sink %s] "
			  "(type unix), control_socket (\"control\") or metrics_socket/"
			  "metrics_listen (\"metrics\") claims it", activation_unclaimed(),
			  activation_unclaimed());
		d.exit_code = EX_CONFIG;
		daemon_shutdown(&d, "an unclaimed socket was passed by systemd");
	} else {
		log_notice(NULL, "started: %zu feeds, %zu sinks%s", d.fleet.cfg->nfeeds,
			   d.fleet.cfg->nsinks, d.quick ? " (quick mode)" : "");
		d.started = true;
		daemon_check_ready(&d);
	}

	while (!d.done) {
		if (event_base_loop(d.base, EVLOOP_ONCE) < 0) {
			log_error(NULL, "event loop failed");
			d.exit_code = EX_SOFTWARE;
			break;
		}
		defer_run();
	}
	control_close(d.ctl);
	defer_run();
	log_notice(NULL, "stopped");
	notifier_free(d.notifier);
	activation_close();
	event_free(d.sig_term);
	event_free(d.sig_int);
	event_free(d.sig_hup);
	event_free(d.shutdown_timer);
	fleet_free(&d.fleet);
	event_base_free(d.base);
	if (temp_dir[0])
		remove_tree(temp_dir);
	return d.exit_code;
}
