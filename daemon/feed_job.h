/*
 * feed_job.h: a job feed's source (source = job): its HTTPS endpoint and
 * the changefeed job behind it, between feed.c (the state machine) and
 * ingest.h / job.h. Part of the feed: it changes the feed's state only
 * through feed_set_state and friends (feed_int.h).
 */
#ifndef CRDBFEEDD_FEED_JOB_H
#define CRDBFEEDD_FEED_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "job.h"
#include "stats.h"

struct feed;
struct feed_job;

/* Open the endpoint and start the job manager (the hold must be open).
 * 0, or -1 with the feed FAILED (a file, the address, the token). */
int feed_job_open(struct feed *feed);
/* Close the endpoint (requests in flight are retried by the job) and stop
 * managing the job, which keeps running in the cluster. NULL is fine. */
void feed_job_close(struct feed_job *fj);

/* Operator requests on the job: 0, or -1 with errbuf set. */
int feed_job_request(struct feed *feed, enum job_action action,
		     char *errbuf, size_t errlen);

/* Reload with a changed statement: the endpoint reopened with the new
 * settings, the job altered where it can be. 0, or -1 (the feed failed). */
int feed_job_reconfigure(struct feed *feed);

/* The endpoint's counters and the job's status into the feed's stats. */
void feed_job_get_stats(const struct feed_job *fj, struct feed_stats *out);

#endif /* CRDBFEEDD_FEED_JOB_H */
