/*
 * feedwire.c: a changefeed on the wire (§2): the simfeed_out callbacks
 * that turn the engine's rows into RowDescription (`table` text, `key` and
 * `value` bytea) and DataRows in the client's formats, notices, errors,
 * the completion tag, and flow control against the client's queue.
 */
#include "config.h"

#include "session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* ---- the changefeed glue (struct simfeed_out) ---- */

static void feed_started(void *arg)
{
	struct sim_session *s = arg;
	static const char *const names[3] = {"table", "key", "value"};
	static const uint32_t oids[3] = {25, 17, 17};
	if (s->dead || !s->in_feed || s->feed_extended)
		return;  /* extended: Describe sent the columns already */
	if (proto_row_description(sess_out(s), 3, names, oids, s->feed_formats) != 0)
		sess_fatal(s, "53200", "out of memory");
}

static void feed_notice(void *arg, const char *message)
{
	struct sim_session *s = arg;
	if (s->dead || !s->in_feed)
		return;
	if (proto_notice(sess_out(s), V_FIELD(s), "NOTICE", "00000", message) != 0)
		sess_fatal(s, "53200", "out of memory");
}

static void put_column(struct pmsg *m, const char *p, size_t n, int16_t fmt,
		       bool bytea)
{
	if (!p) {
		proto_put_int32(m, -1);
		return;
	}
	if (fmt == 1 || !bytea) {
		proto_put_int32(m, (int32_t)n);
		proto_put_bytes(m, p, n);
		return;
	}
	/* Text format: bytea_output=hex (§2.3). */
	size_t hexlen = 2 + 2 * n;
	char *hex = malloc(hexlen);
	if (!hex) {
		m->failed = true;
		return;
	}
	proto_hex(p, n, hex);
	proto_put_int32(m, (int32_t)hexlen);
	proto_put_bytes(m, hex, hexlen);
	free(hex);
}

static void feed_row(void *arg, const char *table, size_t table_len,
		     const char *key, size_t key_len, const char *value,
		     size_t value_len)
{
	struct sim_session *s = arg;
	if (s->dead || !s->in_feed)
		return;
	if (value_len > SIM_MAX_MESSAGE / 4 || key_len > SIM_MAX_MESSAGE / 4) {
		sess_fatal(s, "54000", "changefeed row too large");
		return;
	}
	struct pmsg m;
	proto_begin(&m, 'D');
	proto_put_int16(&m, 3);
	put_column(&m, table, table_len, s->feed_formats[0], false);
	put_column(&m, key, key_len, s->feed_formats[1], true);
	/* A value is never NULL: empty means empty bytea (§2.2). */
	put_column(&m, value ? value : "", value_len, s->feed_formats[2], true);
	if (proto_end(&m, sess_out(s)) != 0) {
		sess_fatal(s, "53200", "out of memory");
		return;
	}
	s->srv->rows_sent++;
}

void feedwire_end(struct sim_session *s, bool failed)
{
	s->in_feed = false;
	s->feed_done = true;
	s->feed_paused = false;
	s->state = S_READY;
	bufferevent_setwatermark(s->client, EV_READ, 0, 0);
	bufferevent_enable(s->client, EV_READ);
	sess_local_done(s, s->feed_extended, failed);
	sess_kick(s);
}

static void feed_error(void *arg, const struct simfeed_error *err)
{
	struct sim_session *s = arg;
	if (s->dead || !s->in_feed)
		return;
	sess_error(s, err->sqlstate, err->message, err->hint);
	if (!s->dead)
		feedwire_end(s, true);
}

static void feed_complete(void *arg, uint64_t nrows)
{
	struct sim_session *s = arg;
	char tag[64];
	if (s->dead || !s->in_feed)
		return;
	/* §2.4: the statement tag of a sinkless feed, with the row count. */
	snprintf(tag, sizeof tag, "EXPERIMENTAL CHANGEFEED %llu",
		 (unsigned long long)nrows);
	if (proto_command_complete(sess_out(s), tag) != 0) {
		sess_fatal(s, "53200", "out of memory");
		return;
	}
	feedwire_end(s, false);
}

static bool feed_can_send(void *arg)
{
	struct sim_session *s = arg;
	if (s->dead || !s->in_feed)
		return false;
	if (evbuffer_get_length(sess_out(s)) < SIM_FEED_HIGH_WATER)
		return true;
	s->feed_paused = true;
	return false;
}

/* Run a parsed changefeed on this session. */
static void start_feed(struct sim_session *s, struct simfeed_stmt *stmt,
		       bool extended, const int16_t formats[3])
{
	s->feed_out = (struct simfeed_out){
		.arg = s,
		.started = feed_started,
		.notice = feed_notice,
		.row = feed_row,
		.error = feed_error,
		.complete = feed_complete,
		.can_send = feed_can_send,
	};
	s->feed_extended = extended;
	memcpy(s->feed_formats, formats, sizeof s->feed_formats);
	s->state = S_FEED;
	s->in_feed = true;
	s->feed_done = false;
	/* While the feed runs, client input only waits; bound it. */
	bufferevent_setwatermark(s->client, EV_READ, 0, SIM_RELAY_HIGH_WATER);
	struct simfeed *feed = simfeed_start(s->srv->engine, stmt, &s->feed_out);
	if (s->dead) {
		if (feed)
			simfeed_stop(feed);
		return;
	}
	s->feed = feed;
	if (!feed && s->in_feed) {
		sess_error(s, "XX000", "crdbsim: the changefeed engine could not start the feed", NULL);
		if (!s->dead)
			feedwire_end(s, true);
	}
}

/* A changefeed statement: 1 started, 0 not a sinkless feed, -1 error sent. */
int feedwire_run(struct sim_session *s, const char *sql,
		 char *const *params, int nparams, bool extended,
		 const int16_t formats[3])
{
	if (s->txn_status == 'E') {
		answer_txn_allows(s, &(struct sim_stmt){.kind = SIM_CHANGEFEED});
		return -1;
	}
	size_t n = strlen(sql);
	while (n > 0 && (isspace((unsigned char)sql[n - 1]) || sql[n - 1] == ';'))
		n--;
	char *trimmed = strndup(sql, n);
	if (!trimmed) {
		sess_error(s, "53200", "out of memory", NULL);
		return -1;
	}
	struct simfeed_stmt *stmt = NULL;
	struct simfeed_error err;
	memset(&err, 0, sizeof err);
	int r = simfeed_parse(s->srv->engine, trimmed,
			      (const char *const *)params, nparams, &stmt, &err);
	free(trimmed);
	if (r < 0) {
		sess_error(s, err.sqlstate[0] ? err.sqlstate : "XXUUU",
			   err.message, err.hint);
		return -1;
	}
	if (r == 0)
		return 0;
	start_feed(s, stmt, extended, formats);
	return 1;
}

