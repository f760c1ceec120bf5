/*
 * ingest_int.h: what the ingest files (ingest.c, ingest_setup.c,
 * ingest_stream.c) share and nobody else sees: the loop's bounds and steps,
 * and the helpers each gives the others. The engine object is in feedint.h.
 */
#ifndef CRDBSIM_INGEST_INT_H
#define CRDBSIM_INGEST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "feedint.h"

#define INGEST_IDLE_US 10000    /* poll period while drained */
#define INGEST_RETRY_US 200000  /* after an error */
#define INGEST_PEEK_ROWS "4000" /* bound of one peek (whole txns) */
#define INGEST_PEEK_ROWS_N 4000

enum { STEP_IDLE, STEP_CHECK, STEP_PEEK, STEP_PERSIST, STEP_ADVANCE };

/* The decoded changes not yet persisted, in either mode (one engine per
 * process). */
struct peek_state {
	json_t *batch;       /* history rows */
	json_t *txn;         /* changes of the open transaction */
	json_int_t xid;
	int rows;
	bool failed;
};
extern struct peek_state ingest_pending;

/* ingest.c */
struct sim_hlc ingest_hlc_max(struct sim_hlc a, struct sim_hlc b);
uint64_t ingest_lsn_parse(const char *s);
void ingest_schedule(struct simfeed_engine *e, long us);
void ingest_peek_document(struct simfeed_engine *e, const char *data);
int ingest_persist_send(struct simfeed_engine *e, struct sim_hlc last,
			uint64_t lsn_v, char *errbuf, size_t errlen);

/* ingest_setup.c */
char *ingest_dsn_with_db(const char *dsn, const char *db, char *dbout,
			 size_t dboutlen, char *errbuf, size_t errlen);
int ingest_ensure_database(const char *pg_dsn, const char *db, char *errbuf,
			   size_t errlen);
int ingest_setup_database(struct simfeed_engine *e, char *errbuf,
			  size_t errlen);

/* ingest_stream.c */
void stream_persisted(struct simfeed_engine *e, bool ok);
void stream_on_timer(struct simfeed_engine *e);
void stream_on_retry(evutil_socket_t fd, short what, void *arg);
void stream_close(struct simfeed_engine *e);
int stream_open(struct simfeed_engine *e, char *errbuf, size_t errlen);

#endif /* CRDBSIM_INGEST_INT_H */
