/*
 * sim_feed.h: what the files of a running changefeed (sim_feed*.c) share
 * and nobody else sees: the feed struct with its states, its output queue
 * and duplicate window, and the steps each file gives the others. The
 * engine-wide contracts are in feedint.h and simfeed.h.
 */
#ifndef CRDBSIM_SIM_FEED_H
#define CRDBSIM_SIM_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "feedint.h"

#define FETCH_ROWS 1024         /* history rows per read */
#define FETCH_ROWS_SQL "1024"
#define SCAN_ROWS 500           /* table rows per FETCH */
#define PUMP_BURST 2048         /* rows per loop pass before yielding */
#define DUP_WINDOW 256          /* rows kept for simfeed_duplicate */
#define OUTQ_MAX (DUP_WINDOW + 8)

enum feed_state {
	FEED_VALIDATE,  /* checking targets; not started yet */
	FEED_SCAN,      /* initial scan in its snapshot */
	FEED_LIVE,      /* following crdbsim.history */
	FEED_FIREHOSE,  /* synthetic benchmark rows */
	FEED_DONE,      /* error/complete sent (or stopped): no more work */
};

struct outrow {
	char *table, *key, *value;  /* table/key NULL: resolved */
	size_t table_len, key_len, value_len;
};

struct target_info {
	json_t *pk_names;   /* scan: primary key column names */
	char **names, **types;
	unsigned int *oids;
	int ncols;
	char *sig;          /* column signature at start (schema changes) */
};

struct simfeed;

/* What a feed does with the answers to one query (feed_send_query). */
struct pg_handler {
	bool command_ok;        /* PGRES_COMMAND_OK is good too */
	/* each good result (the connection clears it afterwards) */
	void (*result)(struct simfeed *f, PGresult *res);
	/* the query finished and no result failed */
	void (*done)(struct simfeed *f);
};

struct simfeed {
	struct simfeed *next;
	struct simfeed_engine *e;
	struct simfeed_stmt *stmt;
	struct simfeed_out out;
	enum feed_state state;
	bool stopped;           /* simfeed_stop(): reap, call nothing */
	bool started;
	int step;               /* sub-step inside a state */
	struct aconn *pg;
	bool pg_busy;
	const struct pg_handler *handler; /* of the query in flight */
	struct event *wake;
	struct event *timer;
	struct sim_render_opts ropts;
	struct target_info *ti;

	/* output queue (rows made, not yet accepted by the session) */
	struct outrow q[OUTQ_MAX];
	size_t qhead, qlen;
	/* duplicate window: copies of the last data rows sent */
	struct outrow dup[DUP_WINDOW];
	size_t duphead, duplen;
	uint64_t nrows;

	/* scan */
	size_t scan_target;
	PGresult *batch;        /* scan or history rows being emitted */
	int batch_i;
	bool batch_short;       /* history read returned < FETCH_ROWS */
	bool have_snapshot;
	uint64_t snap_xmin, snap_xmax, *xip;
	size_t nxip;
	struct sim_hlc scan_ts;
	size_t scan_first, scan_end; /* targets to scan: [first, end) */
	bool backfill;          /* a schema-change backfill, not the start */
	struct sim_hlc backfill_ts;

	/* live */
	struct sim_hlc pos;     /* emitted everything <= (pos, pos_idx) */
	int32_t pos_idx;
	struct sim_hlc read_head, read_frontier; /* as of the read in flight */
	struct sim_hlc caught_up; /* everything <= this was emitted */
	char *tgt_schemas, *tgt_tables; /* text[] literals */

	/* resolved */
	struct sim_hlc start_ts;  /* statement time of a feed with neither
				   * scan nor cursor: no resolved below it */
	struct sim_hlc resolved_sent;
	int64_t resolved_at;    /* ns of the last resolved row */
	int64_t stall_until;    /* ns */

	/* CDC query */
	char *cdc_sql;
	char **cdc_names, **cdc_types;
	unsigned int *cdc_oids;
	int cdc_ncols;
	char *cdc_key;          /* key of the event being evaluated */
	size_t cdc_key_len;
	struct sim_hlc cdc_ts;
	bool cdc_ready;

	/* firehose */
	char *fh_value;
	size_t fh_value_len;
	uint64_t fh_sent;
	const char *fh_table;
};

/* sim_feed.c */
char *feed_text_array(const char *const *items, size_t n);
void feed_failf(struct simfeed *f, const char *sqlstate,
		const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void feed_complete(struct simfeed *f);
void feed_kick(struct simfeed *f);
void feed_started(struct simfeed *f);
bool feed_flush_queue(struct simfeed *f);
int feed_queue_resolved(struct simfeed *f, struct sim_hlc ts);
int feed_queue_event(struct simfeed *f, size_t target, char *key,
		     size_t key_len, char *value, size_t value_len);
int feed_find_target(const struct simfeed *f, const char *schema,
		     const char *table);
int feed_send_query(struct simfeed *f, const char *sql, int nparams,
		    const char *const *params, const struct pg_handler *h);
void feed_pump(struct simfeed *f);
void feed_target_info_free(struct target_info *ti);

/* sim_feed_validate.c */
void feed_start_streaming(struct simfeed *f);
void feed_validate(struct simfeed *f);

/* sim_feed_scan.c */
void scan_begin(struct simfeed *f);
void scan_step(struct simfeed *f);

/* sim_feed_live.c */
int live_row(struct simfeed *f, PGresult *res, int i);
void live_read(struct simfeed *f);
void live_idle(struct simfeed *f);

/* sim_feed_cdc.c */
json_t *feed_columns_from_row(PGresult *res, int row, char **names,
			      char **types, const unsigned int *oids,
			      int ncols);
json_t *feed_pk_names_of(json_t *doc);
int feed_render_and_queue(struct simfeed *f, size_t target,
			  const json_t *pk_names, const json_t *after,
			  const json_t *before, struct sim_hlc ts);
int cdc_eval(struct simfeed *f, const json_t *pk_names,
	     const json_t *after, const json_t *before,
	     struct sim_hlc ts);
int cdc_prepare(struct simfeed *f);

/* sim_feed_firehose.c */
int firehose_init(struct simfeed *f);
void firehose_pump(struct simfeed *f);

#endif /* CRDBSIM_SIM_FEED_H */
