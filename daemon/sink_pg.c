/*
 * sink_pg.c: a sink of type pg: its feed's rows pushed to a PostgreSQL-
 * protocol LISTEN endpoint (listen_pg.h) as notifications. A notify feed's
 * row carries its channel and payload (channel.h); with table_channels,
 * each row goes to channel "table:NAME" with its JSON line as payload.
 *
 * A row that cannot be sent (a line over PostgreSQL's payload limit, a
 * row that is no notification) is counted and logged at most once a
 * minute, with how many went since: one bad table must not flood the log.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "sink_int.h"

#include "channel.h"
#include "clock.h"
#include "listen_pg.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SINK_PG_LOG_INTERVAL_MS (60 * 1000)

struct sink_pg {
	struct listen_pg *ep;
	char tcp_host[64];
	uint64_t too_large;     /* table_channels: lines of 8000 bytes or more */
	uint64_t not_sent;      /* rows that are no notification, channels
				   too long, payloads listen_pg refused */
	uint64_t unlogged;      /* refused since the last log line */
	int64_t logged_at;      /* clock_mono_ms of the last log line, 0 never */
	char payload[CHANNEL_PAYLOAD_MAX + 1];
};

int sink_pg_open(struct sink *sink, char *errbuf, size_t errlen)
{
	const struct sink_config *cfg = sink->cfg;
	struct sink_pg *pg = calloc(1, sizeof(*pg));
	struct listen_pg_config lc = {
		.unix_dir = cfg->pg_dir,
		.port = (int)cfg->pg_port,
		.unix_mode = cfg->mode,
		.unix_group = cfg->group,
		.uids = cfg->allow_uids,
		.nuids = cfg->nallow_uids,
		.gids = cfg->allow_gids,
		.ngids = cfg->nallow_gids,
		.auth_file = cfg->pg_auth_file,
		.tls_cert = cfg->pg_tls_cert,
		.tls_key = cfg->pg_tls_key,
		.tls_required = cfg->pg_tls_require,
		.max_listeners = (size_t)cfg->pg_max_listeners,
		.max_channels = (size_t)cfg->pg_max_channels,
		.max_queued_bytes = sink_high_watermark(sink),
	};
	uint16_t port = 0;

	if (!pg) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (cfg->pg_tcp) {
		if (config_parse_listen(cfg->pg_tcp, pg->tcp_host,
					sizeof(pg->tcp_host), &port) < 0) {
			snprintf(errbuf, errlen, "pg_tcp %s is not a loopback address with a port",
				 cfg->pg_tcp);
			free(pg);
			return -1;
		}
		/* listen_pg takes numeric hosts only. */
		if (strcmp(pg->tcp_host, "localhost") == 0)
			snprintf(pg->tcp_host, sizeof(pg->tcp_host), "127.0.0.1");
		lc.tcp_host = pg->tcp_host;
		lc.tcp_port = port;
	}
	pg->ep = listen_pg_new(sink->base, &lc, errbuf, errlen);
	if (!pg->ep) {
		free(pg);
		return -1;
	}
	sink->pg = pg;
	char where[600] = "";
	if (cfg->pg_dir)
		snprintf(where, sizeof(where), " on %.400s/.s.PGSQL.%d%s", cfg->pg_dir,
			 (int)cfg->pg_port, cfg->pg_tcp ? " and" : "");
	if (cfg->pg_tcp)
		snprintf(where + strlen(where), sizeof(where) - strlen(where),
			 " on TCP %.100s%s", cfg->pg_tcp,
			 !cfg->pg_tls_cert ? "" : cfg->pg_tls_require ? " (TLS required)" : " (TLS offered)");
	log_info(sink->who, "PostgreSQL LISTEN endpoint%s (%s, at most %zu listeners)",
		 where,
		 cfg->table_channels ? "rows to table:NAME channels" : "rows are notifications",
		 (size_t)cfg->pg_max_listeners);
	return 0;
}

/* Count a row not sent; log it unless a line went out within a minute. */
static void row_not_sent(struct sink *sink, const struct line *line,
			 const char *why)
{
	struct sink_pg *pg = sink->pg;
	int64_t now = clock_mono_ms();
	const char *feed = sink_owner_name(sink);

	pg->unlogged++;
	if (pg->logged_at && now - pg->logged_at < SINK_PG_LOG_INTERVAL_MS)
		return;
	log_warning(sink->who, "feed %s table %s: %s: not sent (%llu rows not sent since the last such line; %llu too large, %llu others in all)",
		    feed ? feed : "?", line->table ? line->table : "?", why,
		    (unsigned long long)pg->unlogged,
		    (unsigned long long)pg->too_large,
		    (unsigned long long)pg->not_sent);
	pg->unlogged = 0;
	pg->logged_at = now ? now : 1;
}

static void offer_table_row(struct sink *sink, const struct line *line,
			    size_t len)
{
	struct sink_pg *pg = sink->pg;
	char channel[CHANNEL_NAME_MAX + 1];
	char why[160];

	if (!line->table ||
	    channel_for_table(line->table, channel, sizeof(channel)) < 0) {
		pg->not_sent++;
		row_not_sent(sink, line, "the channel table:NAME would be longer than 63 bytes");
		return;
	}
	if (len > CHANNEL_PAYLOAD_MAX) {
		pg->too_large++;
		snprintf(why, sizeof(why), "a line of %zu bytes (PostgreSQL's payloads are shorter than %d bytes)",
			 len, CHANNEL_PAYLOAD_MAX + 1);
		row_not_sent(sink, line, why);
		return;
	}
	memcpy(pg->payload, line->data, len);
	pg->payload[len] = '\0';
	if (listen_pg_notify(pg->ep, channel, pg->payload, 0) < 0) {
		pg->not_sent++;
		row_not_sent(sink, line, "the endpoint refused the notification");
	}
}

static void offer_notify_row(struct sink *sink, const struct line *line,
			     size_t len)
{
	struct sink_pg *pg = sink->pg;
	struct channel_note note;
	char err[256];
	int rc = channel_note_from_row(line->data, len, &note, err, sizeof(err));

	if (rc == 1)
		return; /* a delete: the notification expired */
	if (rc < 0) {
		pg->not_sent++;
		row_not_sent(sink, line, err);
		return;
	}
	if (listen_pg_notify(pg->ep, note.channel, note.payload, 0) < 0) {
		pg->not_sent++;
		row_not_sent(sink, line, "the endpoint refused the notification");
	}
	channel_note_clear(&note);
}

void sink_pg_offer(struct sink *sink, const struct line *line)
{
	size_t len = line->len;

	if (line->kind != LINE_ROW || !sink->pg)
		return;
	if (len && line->data[len - 1] == '\n')
		len--;
	if (sink->cfg->table_channels)
		offer_table_row(sink, line, len);
	else
		offer_notify_row(sink, line, len);
}

void sink_pg_stats(const struct sink *sink, struct sink_stats *out)
{
	struct listen_pg_stats ls;

	if (!sink->pg)
		return;
	listen_pg_stats(sink->pg->ep, &ls);
	out->pg = true;
	out->journaled = false; /* a PostgreSQL listener cannot replay */
	out->subscribers = ls.sessions;
	out->accepted = ls.accepted;
	out->pg_listeners = ls.sessions;
	out->pg_channels = ls.channels;
	out->pg_notifications = ls.notifications;
	out->pg_refused_full = ls.refused_full;
	out->pg_refused_peer = ls.refused_peer;
	out->pg_auth_failed = ls.auth_failed;
	out->pg_dropped_slow = ls.dropped_slow;
	out->pg_too_large = sink->pg->too_large;
	out->pg_not_sent = sink->pg->not_sent;
	out->refused = ls.refused_full + ls.refused_peer + ls.auth_failed;
	out->disconnected_slow = ls.dropped_slow;
}

void sink_pg_close(struct sink *sink)
{
	if (!sink->pg)
		return;
	listen_pg_close(sink->pg->ep);
	free(sink->pg);
	sink->pg = NULL;
}
