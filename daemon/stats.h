/*
 * stats.h: the counters and gauges a feed and a sink expose to the status
 * command, the metrics endpoint and the systemd STATUS line. Each is copied
 * out by feed_get_stats()/sink_get_stats(): readers never hold pointers
 * into a live feed or sink.
 *
 * Counters only grow for the life of the process (a reload that keeps a
 * feed or sink keeps its counters; a restarted feed keeps them too; a
 * removed one takes them with it). Times are CLOCK_REALTIME milliseconds
 * since the epoch, 0 = never.
 */
#ifndef CRDBFEEDD_STATS_H
#define CRDBFEEDD_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdb.h"

/* Why a feed left a connection behind and scheduled a reconnect. */
enum reconnect_reason {
	RECONNECT_CONNECT,   /* the connection attempt failed */
	RECONNECT_ERROR,     /* the server sent a retryable error */
	RECONNECT_LOST,      /* the connection broke or closed */
	RECONNECT_STALL,     /* nothing arrived within the stall timeout */
	RECONNECT_BAD_ROW,   /* a row could not be decoded or encoded */
	RECONNECT_RELOAD,    /* a reload changed the feed's statement */
	RECONNECT_RESUME,    /* an operator resumed a paused feed */
	RECONNECT_RESOLVED_STALL, /* rows came, resolved did not advance */
	RECONNECT_NREASONS
};

/* "connect", "error", "lost", "stall", "bad_row", "reload", "resume",
 * "resolved_stall". */
const char *reconnect_reason_name(enum reconnect_reason reason);

struct feed_stats {
	uint64_t rows;            /* data rows received and published */
	uint64_t resolved;        /* resolved rows received */
	uint64_t bytes_in;        /* payload bytes received (key + value) */
	uint64_t lines_out;       /* lines published to the sinks */
	uint64_t bytes_out;       /* bytes of those lines (encoded once) */
	uint64_t bad_rows;        /* rows that failed to decode or encode */
	uint64_t reconnects[RECONNECT_NREASONS];
	uint64_t checkpoint_writes;        /* successful writes */
	uint64_t checkpoint_errors;        /* failed writes (old file kept) */
	crdb_hlc last_resolved;   /* newest resolved timestamp received */
	int64_t last_resolved_at; /* when it arrived */
	crdb_hlc checkpoint;      /* the resume cursor (durable unless quick) */
	int64_t checkpoint_at;    /* when the checkpoint last advanced */
	int64_t state_since;      /* when the current state began */
	int64_t last_row_at;      /* when the last data row arrived */
	bool paused;              /* paused by an operator (feed_pause) */
	/* ordered delivery (zero for stream feeds) */
	bool ordered;
	uint64_t held_rows, held_bytes, spilled_rows;
	uint64_t duplicates;      /* rows dropped as already delivered (both
				     deliveries: stream drops re-sent rows
				     it delivered in this run) */
	uint64_t late_rows;       /* delivered flagged late */
	uint64_t released_seq;    /* last seq released to subscribers */
	uint64_t journal_records, journal_bytes, journal_file_bytes;
	uint64_t journal_oldest_seq, journal_newest_seq;
	crdb_hlc journal_oldest_updated, journal_newest_updated;
	uint64_t journal_commits, journal_commit_errors;
	bool journal_stalled;     /* a commit failed (full): not reading */
	/* kind = notify (zero for table feeds): released rows that got no seq */
	bool notify;
	uint64_t notify_deletes;  /* deletions of the notify table's rows */
	uint64_t notify_invalid;  /* rows that are not notifications */
	uint64_t notify_folded;   /* identical to one earlier in their
				     transaction */
	uint64_t notify_unfolded; /* past the fold's bound: delivered unfolded */
	uint64_t resolved_stalls; /* restarts because resolved stopped */
	/* source = job (zero for sinkless feeds): the HTTPS endpoint
	 * (ingest.h's counters) and the changefeed job as last polled */
	bool job;
	uint64_t ingest_requests, ingest_batches, ingest_resolved;
	uint64_t ingest_rows, ingest_bytes, ingest_retried;
	uint64_t ingest_4xx, ingest_5xx, ingest_unauthorized;
	uint64_t ingest_rate_limited;
	uint64_t ingest_connections, ingest_connections_refused;
	int64_t job_id;           /* 0: none yet */
	char job_status[32];      /* CockroachDB's word; "" unknown */
	char job_error[512];
	crdb_hlc job_high_water;
	int64_t job_polled_at;    /* when SHOW CHANGEFEED JOB answered last */
	bool job_connected;       /* the management connection is up */
	/* source = nats (zero for the others): the JetStream consumer */
	bool nats;
	uint64_t nats_delivered;       /* messages taken from the consumer */
	uint64_t nats_redelivered;     /* ... of which JetStream sent again */
	uint64_t nats_acked;           /* acknowledged (durable here) */
	uint64_t nats_duplicates;      /* rows the hold or journal had already */
	uint64_t nats_ignored_resolved; /* not above the highest seen */
	uint64_t nats_malformed;       /* neither a row nor a resolved line:
					  acknowledged and skipped */
	uint64_t nats_lag;             /* messages after the newest taken */
	uint64_t nats_last_stream_seq; /* the newest taken */
	uint64_t nats_reconnects;      /* the consumer's thread reconnected */
	bool nats_connected;
	char nats_state[16];           /* "connecting", "ready", "down",
					  "failed", "closed" */
	char nats_stream[256];
	char nats_durable[256];
	char last_error[256];     /* last error or reason, "" = none; never
				     holds a password (libpq never echoes
				     one and DSNs are masked) */
};

struct sink_stats {
	uint64_t accepted;        /* subscribers accepted, ever */
	uint64_t refused;         /* connections refused by the allow-list */
	uint64_t accept_errors;   /* accept(2) failures (EMFILE, ...) */
	uint64_t lines_out;       /* lines written to subscribers */
	uint64_t bytes_out;       /* bytes written to subscribers */
	uint64_t dropped;         /* lines skipped by the drop policy */
	uint64_t disconnected_slow;   /* closed by the disconnect policy */
	uint64_t disconnected_other;  /* closed by error, EOF or a bad request */
	uint64_t blocked;         /* times a block subscriber paused its feed */
	size_t subscribers;       /* connected now */
	size_t queued_bytes;      /* queued over all subscribers now */
	size_t max_queued_bytes;  /* the fullest subscriber's queue now */
	size_t buffer_bytes;      /* the per-subscriber bound (config) */
	bool activated;           /* the listener came from systemd */
	bool journaled;           /* its feed is ordered: replay available */
	size_t replaying;         /* subscribers reading from the journal now */
	uint64_t max_seq_lag;     /* the furthest subscriber's seq lag now */
	uint64_t replayed_lines;  /* lines sent from the journal, ever */
	/* type = pg (zero for the others); subscribers, accepted, refused
	 * and disconnected_slow then count its PostgreSQL sessions */
	bool pg;
	size_t pg_listeners;      /* sessions connected now */
	size_t pg_channels;       /* channels listened on, over the sessions */
	uint64_t pg_notifications;  /* NotificationResponse messages queued */
	uint64_t pg_refused_full;   /* over pg_max_listeners */
	uint64_t pg_refused_peer;   /* peer credentials not allowed */
	uint64_t pg_auth_failed;    /* SCRAM: wrong password or unknown user */
	uint64_t pg_dropped_slow;   /* closed over the buffer, after a NOTICE */
	uint64_t pg_too_large;    /* table_channels: lines of 8000 bytes or more */
	uint64_t pg_not_sent;     /* other rows not sent (no notification, ...) */
	/* type = nats (zero for the others) */
	bool nats;
	uint64_t nats_published;  /* messages handed to the client */
	uint64_t nats_acked;      /* acknowledged: stored or duplicate */
	size_t nats_pending;      /* submitted, not yet acknowledged, now */
	uint64_t nats_duplicates; /* acknowledged as duplicates by JetStream */
	uint64_t nats_too_large;  /* over the server's max_payload: passed over */
	uint64_t nats_errors;     /* not acknowledged (published again), or
				     lines that cannot be published */
	uint64_t nats_backoffs;   /* waits before publishing again after an
				     acknowledgement error */
	uint64_t nats_skipped;    /* in the stream already (high-water mark) */
	uint64_t nats_gaps;       /* rows gone from the journal unpublished */
	uint64_t nats_acked_seq;  /* the acknowledged position (journal seq) */
	uint64_t nats_stream_seq; /* the newest stream seq acknowledged */
	uint64_t nats_connected;  /* 1 while publishing, else 0 */
	uint64_t nats_reconnects; /* connections made ready after the first */
	char nats_state[16];      /* connecting, ready, backoff (waiting to
				     publish again after an ack error), down,
				     failed */
	char nats_error[160];     /* why it is not ready, "" = none */
};

#endif /* CRDBFEEDD_STATS_H */
