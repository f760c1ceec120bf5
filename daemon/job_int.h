/*
 * job_int.h: the parts of the job manager (job.h) that need no connection,
 * shared by job.c and its tests: the statements and the reading of their
 * answers (job_stmt.c), and the job id file (job_idfile.c).
 */
#ifndef CRDBFEEDD_JOB_INT_H
#define CRDBFEEDD_JOB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "job.h"

/* A certificate or key file as read (PEM text, not NUL-terminated). */
struct job_pem {
	char *data;
	size_t len;
};

/* The largest certificate or key file read (a PEM chain of a few
 * certificates is some KiB). */
#define JOB_PEM_MAX (64 * 1024)

/* ---- job_stmt.c: statements ---------------------------------------------- */

/* Read a PEM file (bounded by JOB_PEM_MAX). NULL path: out stays empty.
 * 0, or -1 with errbuf naming the file. */
int job_pem_read(const char *path, struct job_pem *out, char *errbuf,
		 size_t errlen);
/* Wipe (a key) and free. */
void job_pem_free(struct job_pem *pem);

/*
 * The sink URI: webhook-https://ADVERTISE/PATH, then ca_cert, client_cert
 * and client_key for those given (non-empty), each the standard base64 of
 * the file's bytes, percent-encoded (everything but A-Z a-z 0-9 - . _ ~).
 * malloc'd; NULL with errbuf set. Holds the key: never log it.
 */
char *job_sink_uri(const char *advertise, const char *path,
		   const struct job_pem *ca, const struct job_pem *cert,
		   const struct job_pem *key, char *errbuf, size_t errlen);

/*
 * CREATE CHANGEFEED FOR the targets INTO 'sink_uri' WITH envelope =
 * 'wrapped', updated, resolved and min_checkpoint_frequency = resolved_ms,
 * diff when set, the pass-through options, then webhook_auth_header,
 * webhook_client_timeout (3s when client_timeout_ms <= 0: released
 * CockroachDB had no timeout when unset, §16.3), and with cfg->cursor,
 * cursor = it and initial_scan = 'no' (the options' own cursor and
 * initial scan replaced). Built by libcrdb (quoting, option rules).
 * crdb_free()d by the caller; NULL with errbuf set. Holds secrets.
 */
char *job_create_sql(const struct job_config *cfg, const char *sink_uri,
		     char *errbuf, size_t errlen);

/*
 * The ALTER CHANGEFEED commands (after "ALTER CHANGEFEED id") that take a
 * job created from old to new: ADD and DROP of targets (ADDs first, so
 * that replacing every target is not "cannot drop all targets"), SET and
 * UNSET of options, SET sink when the URI changed. Returns 1 with *cmds
 * (malloc'd), 0 when nothing changes, -1 with errbuf set when ALTER cannot
 * make the change (cursor, initial_scan, no_initial_scan,
 * initial_scan_only, end_time: "cannot alter option", §16.7).
 */
int job_alter_cmds(const struct job_config *old, const char *old_uri,
		   const struct job_config *new, const char *new_uri,
		   char **cmds, char *errbuf, size_t errlen);

/* ---- job_stmt.c: answers ------------------------------------------------- */

/*
 * SHOW CHANGEFEED JOB's high_water_timestamp, a DECIMAL: the integer part
 * is the wall time in ns, the 10 fraction digits the logical counter
 * (CockroachDB's TimestampToDecimal). NULL (no checkpoint yet) is {0,0}.
 * 0, or -1 with errbuf set.
 */
int job_parse_high_water(const char *text, crdb_hlc *out, char *errbuf,
			 size_t errlen);

/*
 * One row of SHOW CHANGEFEED JOB(S) into st (job_id, status, error,
 * high_water; the columns found by name). 0, or -1 with errbuf set.
 */
int job_read_row(const PGresult *res, int row, struct job_status *st,
		 char *errbuf, size_t errlen);

/* Whether a status is final: the job will never deliver again. */
bool job_status_final(const char *status);

/*
 * In SHOW CHANGEFEED JOBS: the newest job (highest id) that is not final
 * and whose sink_uri is webhook-https://ADVERTISE/PATH (query ignored).
 * Returns its id, 0 when none; *others counts the further matches.
 */
int64_t job_find_by_sink(const PGresult *res, const char *advertise,
			 const char *path, int *others);

/* Replace every occurrence of secret (when non-empty) in msg by
 * "redacted", within msg's size. */
void job_redact(char *msg, size_t size, const char *secret);

/* ---- job_idfile.c --------------------------------------------------------- */

/*
 * Read the job id file: 1 with *id, 0 when there is none (ENOENT), -1
 * with errbuf set when it cannot be read or is not one positive decimal
 * id (optionally followed by a newline): a corrupt file is never taken
 * for "no job", which would create a second one.
 */
int job_idfile_read(const char *path, int64_t *id, char *errbuf,
		    size_t errlen);
/* Store id atomically and durably (statefile.h). 0, or -1 with errbuf. */
int job_idfile_write(const char *path, int64_t id, char *errbuf,
		     size_t errlen);

#endif /* CRDBFEEDD_JOB_INT_H */
