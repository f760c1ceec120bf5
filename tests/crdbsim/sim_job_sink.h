/*
 * sim_job_sink.h: what a changefeed job's webhook sink is told, read from
 * the job's statement (doc/crdb-wire.md §13, §16): the sink URI
 * (webhook-https://HOST:PORT/PATH with ca_cert, client_cert, client_key,
 * insecure_tls_skip_verify) and the options webhook_auth_header,
 * webhook_client_timeout and webhook_sink_config, with CockroachDB's
 * errors; the URI as SHOW CHANGEFEED JOBS shows it; and the check, at
 * CREATE and ALTER, that the targets exist.
 */
#ifndef CRDBSIM_SIM_JOB_SINK_H
#define CRDBSIM_SIM_JOB_SINK_H

#include <libpq-fe.h>

#include "sim_webhook.h"
#include "simstmt.h"

/* The strings a struct sim_webhook_config points into. */
struct sim_job_sink {
	char *url, *ca_pem, *cert_pem, *key_pem, *auth;
};

/* Fill *cfg (pointing into *sink) from spec: 0, or -1 with *err. */
int sim_job_sink_parse(const struct sim_job_spec *spec, int nodes,
		       struct sim_job_sink *sink,
		       struct sim_webhook_config *cfg,
		       struct simfeed_error *err);
void sim_job_sink_clear(struct sim_job_sink *sink);

/* The sink URI with the client key's value replaced by "redacted", as
 * CockroachDB shows it (malloc'd; NULL when out of memory). */
char *sim_job_sink_redact(const char *uri);

/* Every target is an existing table: 0, or -1 with CockroachDB's error. */
int sim_job_sink_check_targets(PGconn *admin, const struct simfeed_stmt *st,
			       struct simfeed_error *err);

#endif /* CRDBSIM_SIM_JOB_SINK_H */
