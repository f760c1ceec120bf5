/*
 * job.h: the CockroachDB changefeed job behind a job feed (crdbfeedd(8),
 * PRODUCTION FEEDS; doc/crdb-wire.md §16), managed on its own connection:
 * found again from the job id kept in state_dir, or adopted from the
 * configuration, or created with CREATE CHANGEFEED ... INTO
 * 'webhook-https://...' pointing at the feed's ingest endpoint; then
 * watched with SHOW CHANGEFEED JOB every poll interval (status, error,
 * high-water mark); paused, resumed, cancelled on request; altered with
 * ALTER CHANGEFEED when the targets or options change.
 *
 * Everything is non-blocking on the event loop. A lost connection is
 * retried with backoff and is not a job failure. The module reaches its
 * owner only through the callbacks it was opened with.
 *
 * No second job: the id is written to id_path (temporary file, fsync,
 * rename, fsync of the directory) as soon as CREATE answers, before
 * anything else; and a start without an id (job_id = unset, no id file)
 * first looks among SHOW CHANGEFEED JOBS for an unfinished job whose
 * sink_uri is this feed's endpoint, webhook-https://ADVERTISE/PATH, and
 * takes the newest such job instead of creating one (a crash between
 * CREATE's answer and the write). A corrupt id file fails the feed. A job
 * the id file names that has ended (cancelled, failed) when the module
 * starts is replaced by a new one from cfg's cursor; an adopted job
 * (adopt_job_id) is never replaced.
 */
#ifndef CRDBFEEDD_JOB_H
#define CRDBFEEDD_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "crdb.h"

struct job;

struct job_config {
	const char *who;              /* "feed NAME": errors, logs */
	const char *conninfo;         /* libpq connection string (password,
					 TLS files already in it) */
	const char *id_path;          /* file keeping the job id
					 (state_dir/NAME.job); NULL: memory
					 only */
	int64_t adopt_job_id;         /* > 0: manage this existing job, never
					 create one */
	/* The changefeed: targets and pass-through options as for a
	 * sinkless feed (conf.h); the job always gets envelope = wrapped,
	 * updated, resolved = resolved_ms, min_checkpoint_frequency. */
	char *const *tables;
	char *const *families;        /* parallel, NULL entries = none */
	size_t ntables;
	const struct feed_option *options;
	size_t noptions;
	bool diff;
	int64_t resolved_ms;
	const char *cursor;           /* creating: start here (the feed's
					 checkpoint, canonical HLC text);
					 NULL: as the options say */
	/* The sink: webhook-https://ADVERTISE/PATH with ca_cert (base64 of
	 * the file: how the job verifies our certificate), client_cert and
	 * client_key when set; webhook_auth_header = authorization. */
	const char *advertise;        /* HOST:PORT CockroachDB's nodes reach */
	const char *path;             /* "/crdbfeed/NAME" */
	const char *ca_cert_file;     /* PEM; NULL: the nodes' system CAs */
	const char *client_cert_file; /* PEM; with client_key_file */
	const char *client_key_file;
	const char *authorization;
	int64_t client_timeout_ms;    /* webhook_client_timeout */
	int64_t poll_ms;              /* SHOW CHANGEFEED JOB interval */
	int64_t backoff_initial_ms, backoff_max_ms; /* reconnects */
};

/* What SHOW CHANGEFEED JOB said last. */
struct job_status {
	int64_t job_id;               /* 0: none yet */
	char status[32];              /* CockroachDB's: "running", "paused",
					 "failed", "canceled", ...; "" unknown */
	char error[512];              /* the job's error, "" when none */
	crdb_hlc high_water;          /* {0,0} before the first */
	int64_t polled_wall_ms;       /* when it was read; 0: never */
	bool connected;               /* the management connection is up */
	char last_problem[256];       /* the last connection or statement
					 error, "" when none */
};

struct job_owner {
	/* Any change of job_status (after job_get_status shows it). */
	void (*changed)(void *arg, const struct job_status *st);
	/* Permanent: the job failed or was cancelled (not by us), the id in
	 * the state file names no job, or CREATE was refused. reason is
	 * CockroachDB's message. The module stops polling. */
	void (*failed)(void *arg, const char *reason);
	void *arg;
};

/* Copies cfg. NULL with errbuf set (an unreadable certificate file). */
struct job *job_new(struct event_base *base, const struct job_config *cfg,
		    const struct job_owner *owner, char *errbuf, size_t errlen);
/* Connect, find or create the job, then poll. */
void job_start(struct job *job);
void job_free(struct job *job);

enum job_action { JOB_PAUSE, JOB_RESUME, JOB_CANCEL };
/* Queue PAUSE JOB / RESUME JOB / CANCEL JOB; the outcome shows in the
 * status. -1 with errbuf set when there is no job yet. */
int job_request(struct job *job, enum job_action action, char *errbuf,
		size_t errlen);

/* A reload changed the targets or options: ALTER CHANGEFEED (pause,
 * alter, resume) where CockroachDB allows it. -1 with errbuf set when the
 * change cannot be made by ALTER (the feed then fails with that reason). */
int job_reconfigure(struct job *job, const struct job_config *cfg,
		    char *errbuf, size_t errlen);

void job_get_status(const struct job *job, struct job_status *out);

#endif /* CRDBFEEDD_JOB_H */
