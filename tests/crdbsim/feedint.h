/*
 * feedint.h: what the engine's own files (aconn.c, ingest*.c, sim_feed*.c)
 * share and nobody else sees: the asynchronous libpq connection helper, the
 * engine object with its ingest state, and the feed list.
 *
 * Design (see ingest.c for the details):
 *   PostgreSQL (wal2json slot) --peek--> ingest.c --persist--> crdbsim.history
 *   crdbsim.history --per-feed query--> sim_feed*.c --render--> simfeed_out
 * The history table is the only source of live changes for feeds, so a
 * cursor works across crdbsim restarts and the ingest loop only has to
 * wake the feeds.
 */
#ifndef CRDBSIM_FEEDINT_H
#define CRDBSIM_FEEDINT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "simfeed.h"
#include "simstmt.h"

/* ---- aconn.c: one non-blocking PGconn driven by the event loop ---- */

/*
 * Called once per PGresult of the query in flight (the helper clears it
 * after the call), then once with res == NULL when the query is done. A
 * broken connection reports a PGRES_FATAL_ERROR result and then NULL.
 */
typedef void (*aconn_cb)(void *arg, PGresult *res);

struct aconn {
	PGconn *conn;
	struct event *ev;
	aconn_cb cb;
	void *arg;
	bool busy;      /* a query is in flight */
	bool writing;   /* waiting for the socket to take our query */
	bool *gone;     /* set when freed inside a callback */
};

/* Connect (blocking: local and short), then switch to non-blocking. */
struct aconn *aconn_open(struct event_base *base, const char *dsn,
			 char *errbuf, size_t errlen);
void aconn_free(struct aconn *c);
/* Send one statement (no params when nparams == 0). -1 on failure, with
 * the reason in errbuf. */
int aconn_send(struct aconn *c, const char *sql, int nparams,
	       const char *const *params, aconn_cb cb, void *arg,
	       char *errbuf, size_t errlen);
/* Blocking helper for set-up only: run sql, fail unless it succeeded. */
int aconn_exec_sync(PGconn *conn, const char *sql, char *errbuf,
		    size_t errlen);

/* ---- the engine (ingest.c) ---- */

struct simfeed_engine {
	struct event_base *base;
	char *pg_dsn;          /* the PostgreSQL as given */
	char *db_dsn;          /* the same server, database `dbname` */
	char dbname[64];       /* where user tables, history and slot live */
	char slot[96];         /* crdbsim_<dbname> */
	bool rangefeed;
	int64_t gc_ttl_ms;
	int emulated_version;
	int64_t closed_target_ms;      /* kv.closed_timestamp.target_duration */

	/* ingest state */
	struct aconn *ingest;
	struct event *ingest_timer;
	int ingest_step;                /* enum in ingest.c */
	struct sim_hlc last;            /* newest HLC handed out */
	struct sim_hlc head;            /* newest HLC persisted in history */
	struct sim_hlc frontier;        /* resolved: nothing new will be <= */
	uint64_t persisted_lsn;         /* last commit LSN persisted */
	uint64_t advance_to;            /* slot advance target of this round */
	struct sim_hlc pending_last;    /* `last` once this round commits */
	struct sim_hlc pending_head;
	struct sim_hlc pending_frontier;
	uint64_t pending_lsn;
	bool round_full;                /* the peek hit its bound: go again */
	uint64_t wal_now;               /* WAL flush LSN before this round */
	uint64_t wal_seen;              /* ... before the last drained peek */
	char *persist_json;             /* the batch being persisted */
	struct sim_hlc gc_threshold;    /* persisted GC threshold */
	int ingest_errors;              /* consecutive, for the log */

	/* streaming mode (replication connection; peek mode otherwise) */
	PGconn *repl;                   /* COPY BOTH from START_REPLICATION */
	struct event *repl_ev;
	struct event *repl_retry;       /* reopen after a break */
	struct aconn *probe;            /* asks for the WAL flush LSN */
	bool streaming;
	bool persisting;                /* a streamed batch is in flight */
	bool probing;                   /* flush LSN query in flight */
	uint64_t confirm_lsn;           /* reported as flushed to the slot */
	uint64_t inflight_advance;
	uint64_t inflight_lsn;
	struct sim_hlc inflight_last, inflight_head;
	uint64_t stream_sent;           /* walsender's position (keepalive) */
	uint64_t drain_lsn;             /* flush LSN we wait to see decoded */
	struct sim_hlc drain_t0;        /* the time it was taken */

	struct simfeed *feeds;          /* running feeds (linked) */
};

/* Wall clock in ns since the epoch. */
int64_t sim_now_ns(void);
/* HLC order. */
int sim_hlc_cmp(struct sim_hlc a, struct sim_hlc b);
/* The GC threshold a cursor is checked against right now. */
struct sim_hlc sim_engine_gc_threshold(const struct simfeed_engine *e);
/* Apply a GC now (delete history older than threshold, persist it). */
int sim_engine_apply_gc(struct simfeed_engine *e, struct sim_hlc threshold);

/* sim_feed.c: the ingest loop persisted more history (or the frontier moved). */
void sim_feeds_wake(struct simfeed_engine *e);
/* sim_feed.c: end the feeds that lost unread history to a GC. */
void sim_feeds_gc(struct simfeed_engine *e, struct sim_hlc threshold);
/* sim_feed.c: end every feed quietly (engine going away). */
void sim_feeds_free_all(struct simfeed_engine *e);

#endif /* CRDBSIM_FEEDINT_H */
