/*
 * feedwire.c: a changefeed on the wire (§2): the simfeed_out callbacks
 * that turn the engine's rows into RowDescription (`table` text, `key` and
 * `value` bytea) and DataRows in the client's formats, notices, errors,
 * the completion tag, and flow control against the client's queue; and
 * the malformed rows the control command `malform` arms (malform.h).
 */
#include "config.h"

#include "session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malform.h"
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

/* ---- malformed rows on demand (control `malform`) ---- */

enum malform_kind {
	MAL_JSON,       /* value is not JSON */
	MAL_KEY,        /* key is not JSON */
	MAL_COLUMNS,    /* a DataRow of 4 columns under a 3-column description */
	MAL_NULL_KEY,   /* SQL NULL key in a data row */
	MAL_NULL_VALUE, /* SQL NULL value */
	MAL_FORMAT,     /* value in the other format than Bind asked for */
	MAL_TRUNCATE,   /* value JSON cut in half */
	MAL_SHORT,      /* value's length runs past the end of the DataRow */
	MAL_OVERSIZE,   /* valid JSON value over the 64 MiB limit */
	MAL_RESOLVED,   /* a resolved row whose timestamp is not an HLC */
	MAL_NKINDS
};

static const char *const malform_names[MAL_NKINDS] = {
	"json", "key", "columns", "null-key", "null-value", "format",
	"truncate", "short", "oversize", "resolved",
};

static struct {
	enum malform_kind kind;
	unsigned left;
	char query_id[33];      /* "": any feed */
} armed;

int sim_malform_arm(const char *query_id, const char *kind, unsigned count)
{
	for (int k = 0; k < MAL_NKINDS; k++)
		if (!strcmp(kind, malform_names[k])) {
			armed.kind = (enum malform_kind)k;
			armed.left = count;
			snprintf(armed.query_id, sizeof armed.query_id, "%s",
				 query_id ? query_id : "");
			return 0;
		}
	return -1;
}

unsigned sim_malform_pending(void)
{
	return armed.left;
}

const char *sim_malform_kinds(void)
{
	return "json key columns null-key null-value format truncate short "
	       "oversize resolved";
}

/* One DataRow as it goes out: columns (NULL pointer: SQL NULL), and how
 * the value column is spoiled, if it is. */
struct wire_row {
	const char *col[4];
	size_t len[4];
	int ncols;
	bool flip_value_format;
	bool short_value;
	char *owned;    /* a spoiled copy that col[] points into */
};

static char *oversized_value(size_t *len)
{
	static const char head[] = "{\"after\": {\"pad\": \"";
	static const char tail[] = "\"}}";
	char *v = malloc(SIM_MALFORM_OVERSIZE);

	if (!v)
		return NULL;
	memcpy(v, head, sizeof head - 1);
	memset(v + sizeof head - 1, 'x',
	       SIM_MALFORM_OVERSIZE - (sizeof head - 1) - (sizeof tail - 1));
	memcpy(v + SIM_MALFORM_OVERSIZE - (sizeof tail - 1), tail,
	       sizeof tail - 1);
	*len = SIM_MALFORM_OVERSIZE;
	return v;
}

/* A copy of n bytes whose first `from` byte becomes `to` (or that is
 * replaced whole by fallback when it has none). */
static char *spoiled_copy(const char *p, size_t n, char from, char to,
			  const char *fallback, size_t *len)
{
	const char *at = p ? memchr(p, from, n) : NULL;
	char *c;

	if (!at) {
		*len = strlen(fallback);
		return strdup(fallback);
	}
	c = malloc(n);
	if (!c)
		return NULL;
	memcpy(c, p, n);
	c[at - p] = to;
	*len = n;
	return c;
}

/* Spoil the row if a malformation is armed for its kind of row. -1: out
 * of memory. */
static int malform_apply(struct sim_session *s, struct wire_row *r)
{
	bool resolved = r->col[0] == NULL;

	if (!armed.left || (armed.kind == MAL_RESOLVED) != resolved ||
	    (armed.query_id[0] && strcmp(armed.query_id, s->query_id)))
		return 0;
	armed.left--;
	switch (armed.kind) {
	case MAL_JSON:
		r->owned = spoiled_copy(r->col[2], r->len[2], ':', '=', "{=}",
					&r->len[2]);
		r->col[2] = r->owned;
		break;
	case MAL_KEY:
		r->owned = spoiled_copy(r->col[1], r->len[1], '[', '{', "{1]",
					&r->len[1]);
		r->col[1] = r->owned;
		break;
	case MAL_COLUMNS:
		r->col[3] = "crdbsim";
		r->len[3] = strlen("crdbsim");
		r->ncols = 4;
		break;
	case MAL_NULL_KEY:
		r->col[1] = NULL;
		r->len[1] = 0;
		break;
	case MAL_NULL_VALUE:
		r->col[2] = NULL;
		r->len[2] = 0;
		break;
	case MAL_FORMAT:
		r->flip_value_format = true;
		break;
	case MAL_TRUNCATE:
		r->len[2] /= 2;
		break;
	case MAL_SHORT:
		r->short_value = true;
		break;
	case MAL_OVERSIZE:
		r->owned = oversized_value(&r->len[2]);
		r->col[2] = r->owned;
		break;
	case MAL_RESOLVED:
		r->col[2] = "{\"resolved\": \"not-an-hlc\"}";
		r->len[2] = strlen(r->col[2]);
		break;
	case MAL_NKINDS:
		break;
	}
	if ((armed.kind == MAL_JSON || armed.kind == MAL_KEY ||
	     armed.kind == MAL_OVERSIZE) && !r->owned)
		return -1;
	sim_log("session %s: malformed row (%s) sent, %u more armed",
		s->session_id, malform_names[armed.kind], armed.left);
	return 0;
}

/*
 * One column of a DataRow in format fmt (bytea columns in text format are
 * hex, §2.3). extra_len is added to the length word without the bytes:
 * a message that claims more than it holds.
 */
static void put_column(struct pmsg *m, const char *p, size_t n, int16_t fmt,
		       bool bytea, int32_t extra_len)
{
	if (!p) {
		proto_put_int32(m, -1);
		return;
	}
	if (fmt == 1 || !bytea) {
		proto_put_int32(m, (int32_t)n + extra_len);
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
	proto_put_int32(m, (int32_t)hexlen + extra_len);
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
	/* A value is never NULL: empty means empty bytea (§2.2). */
	struct wire_row r = {
		.col = { table, key, value ? value : "", NULL },
		.len = { table_len, key_len, value_len, 0 },
		.ncols = 3,
	};
	if (malform_apply(s, &r) != 0) {
		sess_fatal(s, "53200", "out of memory");
		return;
	}
	int16_t value_fmt = s->feed_formats[2];
	if (r.flip_value_format)
		value_fmt = value_fmt == 1 ? 0 : 1;
	struct pmsg m;
	proto_begin(&m, 'D');
	proto_put_int16(&m, (int16_t)r.ncols);
	put_column(&m, r.col[0], r.len[0], s->feed_formats[0], false, 0);
	put_column(&m, r.col[1], r.len[1], s->feed_formats[1], true, 0);
	put_column(&m, r.col[2], r.len[2], value_fmt, true,
		   r.short_value ? 4 : 0);
	if (r.ncols == 4)
		put_column(&m, r.col[3], r.len[3], 0, false, 0);
	free(r.owned);
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

