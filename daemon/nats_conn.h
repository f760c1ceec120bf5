/*
 * nats_conn.h: one NATS connection with JetStream, made from a struct
 * nats_settings (crdbfeedd.conf(5), the nats_* keys), and what the sink
 * and the source ask of a stream: provisioning or validation, and its
 * high-water mark for a feed. Everything here blocks (connects, JetStream
 * API requests): it runs on the NATS thread of nats_pub.c or nats_fetch.c,
 * never on the daemon's event loop.
 *
 * The library-style contract: no logging, no exit; errors in errbuf as one
 * line that names the server, file or stream. Secrets read from files are
 * wiped after use and never appear in a message.
 */
#ifndef CRDBFEEDD_NATS_CONN_H
#define CRDBFEEDD_NATS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "conf.h"
#include "crdb.h"

/* The stream's name when nats_stream is not set: "CRDBFEED_" and the
 * feed's name with every byte other than [A-Za-z0-9_-] as '_'. -1 when it
 * does not fit. */
int nats_stream_default_name(char *out, size_t cap, const char *feed);

/* The URL list as messages and status may show it: each URL without its
 * user information ("nats://u:p@h:4222" -> "nats://h:4222"), comma-joined,
 * cut to fit cap. */
void nats_urls_shown(char *out, size_t cap, const char *urls);

/*
 * Connect to s->url (every URL; with reconnect the client reconnects by
 * itself for ever after a connection once made, buffering what is
 * published meanwhile; without it a lost connection is closed; with
 * callbacks the caller sets in opts first, or NULL) with TLS, credentials and the connect timeout of s, and
 * open a JetStream context with API timeout api_timeout_ms (js NULL: none,
 * the caller makes its own, e.g. with asynchronous-publish options). A
 * first connect is tried once over the list (no client retry): the
 * caller retries with its own backoff. 0 with *nc (and *js) set, or -1
 * with errbuf set, naming the servers without user information
 * ("nats: nats://127.0.0.1:4222: no server available (connection refused
 * or unreachable)", "nats: nats://h:4222: tls: ...", "nats: nats://h:4222:
 * authorization violation (...)", "nats: nats_creds /etc/x.creds: No such
 * file or directory").
 */
int nats_conn_open(const struct nats_settings *s, natsOptions *opts,
		   bool reconnect, int64_t api_timeout_ms, natsConnection **nc,
		   jsCtx **js, char *errbuf, size_t errlen);
void nats_conn_close(natsConnection *nc, jsCtx *js);

/* What a feed's sink wants of its stream. */
struct nats_stream_spec {
	const char *stream;        /* the stream's name */
	const char *subjects;      /* "PREFIX.FEED.>" (nats_subject.h) */
	bool create;               /* create it when missing */
	int64_t replicas;          /* for create */
	int64_t duplicate_window_ms; /* create: set; else: the least allowed */
	int64_t max_age_ms;        /* for create; 0 = none */
};

/*
 * Make sure the stream exists and fits spec: create it when missing and
 * spec->create, else refuse a missing one; refuse one whose subjects do
 * not cover spec->subjects, or whose duplicate window is shorter than
 * spec->duplicate_window_ms ("stream CRDBFEED_ORDERS: duplicate window
 * 10s is shorter than nats_duplicate_window 120s"). 0 or -1 (errbuf).
 */
int nats_stream_ensure(jsCtx *js, const struct nats_stream_spec *spec,
		       char *errbuf, size_t errlen);

/* Where the stream stands for one feed: its newest message on
 * PREFIX.FEED.> (rows and resolved timestamps). */
struct nats_high_water {
	bool any;             /* false: the stream holds none of the feed's */
	uint64_t stream_seq;  /* that message's stream sequence */
	bool resolved;        /* a resolved message (else a row) */
	crdb_hlc updated;     /* a row's Crdb-Updated, or the resolved HLC */
};

/* Read the high-water mark of subjects (PREFIX.FEED.>) in the stream.
 * 0 (out->any false when there is none) or -1 (errbuf). */
int nats_stream_high_water(jsCtx *js, const char *stream, const char *subjects,
			   struct nats_high_water *out, char *errbuf,
			   size_t errlen);

/* Header names every published message carries (besides Nats-Msg-Id). */
#define NATS_HDR_SEQ      "Crdb-Seq"      /* the publisher's own seq */
#define NATS_HDR_UPDATED  "Crdb-Updated"  /* row: updated; resolved: the HLC
					     ("wall.logical", 10 digits) */
#define NATS_HDR_TABLE    "Crdb-Table"    /* row: its table, unescaped */
#define NATS_HDR_TYPE     "Crdb-Type"     /* "row" or "resolved" */

#endif /* CRDBFEEDD_NATS_CONN_H */
