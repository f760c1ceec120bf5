/*
 * sim_job.h: crdbsim's changefeed jobs with a webhook sink
 * (doc/crdb-wire.md §16). A job runs a simfeed (the sinkless engine, with
 * the wrapped envelope's key and topic in every message) into a
 * sim_webhook, keeps its high-water mark (the last resolved timestamp the
 * endpoint acknowledged) and a protected timestamp record at it, and is
 * kept in PostgreSQL (crdbsim.changefeed_jobs of defaultdb), so a crdbsim
 * restart resumes running jobs from their high-water mark.
 *
 * A changefeed that stops (the sink failed past its retries, a retryable
 * feed error) restarts from the high-water mark after a backoff (1 s
 * doubling to 10 min), for ever, with running_status "transient error:
 * ..."; a terminal feed error fails the job. A protected timestamp older
 * than gc_protect_expires_after (default 96 h, as
 * changefeed.protect_timestamp.max_age) cancels the job, running or
 * paused. Cancel and failure release the record (§16.5).
 *
 * sim_job_sql.c answers the statements (CREATE CHANGEFEED ... INTO, PAUSE /
 * RESUME / CANCEL JOB, ALTER CHANGEFEED) on the wire through these calls.
 * All on crdbsim's one event_base; PostgreSQL is written through the
 * blocking helper connection (local: a millisecond).
 */
#ifndef CRDBSIM_SIM_JOB_H
#define CRDBSIM_SIM_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "simfeed.h"

struct sim_jobs;

/* Create the table if needed and resume the jobs stored as running.
 * NULL with errbuf set. admin stays the caller's. */
struct sim_jobs *sim_jobs_new(struct event_base *base,
			      struct simfeed_engine *engine, PGconn *admin,
			      int webhook_nodes, char *errbuf, size_t errlen);
void sim_jobs_free(struct sim_jobs *jobs);

/* CREATE CHANGEFEED ... INTO 'webhook-https://...': 0 with *job_id, or -1
 * with *err in CockroachDB's words. */
int sim_jobs_create(struct sim_jobs *jobs, const char *sql,
		    const char *const *params, int nparams, const char *user,
		    int64_t *job_id, struct simfeed_error *err);

enum sim_job_control { SIM_JOB_PAUSE, SIM_JOB_RESUME, SIM_JOB_CANCEL };
/* PAUSE / RESUME / CANCEL JOB id: 0, or -1 with *err. */
int sim_jobs_control(struct sim_jobs *jobs, int64_t job_id,
		     enum sim_job_control what, struct simfeed_error *err);

/* One ALTER CHANGEFEED command. */
enum sim_job_alter { SIM_ALTER_ADD, SIM_ALTER_DROP, SIM_ALTER_SET,
		     SIM_ALTER_UNSET };
struct sim_job_alter_cmd {
	enum sim_job_alter what;
	char *arg;      /* ADD/DROP: the target as written; SET/UNSET: the
			   option name */
	char *value;    /* SET: the value, NULL when none */
	bool scan;      /* ADD ... WITH initial_scan: scan it at resume */
};
/* ALTER CHANGEFEED id cmds...: 0 with the new description (malloc'd) in
 * *description, or -1 with *err. */
int sim_jobs_alter(struct sim_jobs *jobs, int64_t job_id,
		   const struct sim_job_alter_cmd *cmds, size_t ncmds,
		   char **description, struct simfeed_error *err);

/* Control socket `license on|off`: whether the emulated cluster has an
 * enterprise licence (on at start). Without one, CREATE CHANGEFEED ...
 * INTO fails before v24.3 (§16.8). */
void sim_jobs_set_licensed(struct sim_jobs *jobs, bool on);
bool sim_jobs_licensed(const struct sim_jobs *jobs);

/* Control socket `jobs`: one line per job, "ID STATUS HIGH_WATER ERROR",
 * joined by "; ", into buf. Returns how many jobs. */
int sim_jobs_list(const struct sim_jobs *jobs, char *buf, size_t len);
/* Control socket `webhook-dup on|off`, for running and later sinks. */
void sim_jobs_set_duplicate_posts(struct sim_jobs *jobs, bool on);

#endif /* CRDBSIM_SIM_JOB_H */
