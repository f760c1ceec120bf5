/*
 * check_metrics.c: crdbfeedd's Prometheus text exposition (daemon/metrics.c)
 * without a daemon: a daemon view (daemon/view.h) is filled from
 * metrics-cases/view.json and the rendering must equal
 * metrics-cases/render.prom byte for byte. Every rendering also passes a
 * checker of the format (HELP and TYPE before a family's samples, each
 * family once, valid names, escaped label values, parseable values, no
 * duplicate series, counters named _total). Label and HELP escaping and
 * value formatting come from their own case files.
 */
#include <config.h>

#include <check.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/metrics.h"
#include "daemon/view.h"
#include "cases.h"

/* ---- cases ------------------------------------------------------------- */

static const char *case_path(const char *name)
{
	const char *top = getenv("top_srcdir");
	static char path[4096];

	snprintf(path, sizeof(path), "%s/tests/ctl/metrics-cases/%s",
		 top ? top : ".", name);
	return path;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long size;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_ge(size, 0);
	rewind(f);
	data = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)size, f), (size_t)size);
	data[size] = '\0';
	fclose(f);
	*len = (size_t)size;
	return data;
}

static uint64_t u64_field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static crdb_hlc hlc_field(json_t *obj, const char *key)
{
	const char *text = json_string_value(json_object_get(obj, key));
	crdb_hlc hlc = { 0, 0 };
	crdb_error err;

	if (text)
		ck_assert_msg(crdb_hlc_parse(text, strlen(text), &hlc, &err) == 0,
			      "view.json: %s: %s", key, err.message);
	return hlc;
}

static char *dup_string(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	char *copy = strdup(s ? s : "");

	ck_assert_ptr_nonnull(copy);
	return copy;
}

static void feed_from_json(json_t *obj, struct feed_view *feed,
			   struct feed_config *cfg)
{
	cfg->name = dup_string(obj, "name");
	feed->name = cfg->name;
	feed->cfg = cfg;
	feed->live = true;
	feed->state = dup_string(obj, "state");
	feed->stats.rows = u64_field(obj, "rows");
	feed->stats.resolved = u64_field(obj, "resolved");
	feed->stats.bytes_in = u64_field(obj, "bytes_in");
	feed->stats.lines_out = u64_field(obj, "lines_out");
	feed->stats.bytes_out = u64_field(obj, "bytes_out");
	feed->stats.bad_rows = u64_field(obj, "bad_rows");
	feed->stats.checkpoint_writes = u64_field(obj, "checkpoint_writes");
	feed->stats.checkpoint_errors = u64_field(obj, "checkpoint_errors");
	for (int r = 0; r < RECONNECT_NREASONS; r++)
		feed->stats.reconnects[r] =
			u64_field(json_object_get(obj, "reconnects"),
				  reconnect_reason_name((enum reconnect_reason)r));
	feed->stats.last_resolved = hlc_field(obj, "last_resolved");
	feed->stats.checkpoint = hlc_field(obj, "checkpoint");
	feed->stats.state_since = (int64_t)u64_field(obj, "state_since");
	feed->stats.last_row_at = (int64_t)u64_field(obj, "last_row_at");
	feed->stats.paused = json_is_true(json_object_get(obj, "paused"));
	feed->stats.ordered = json_is_true(json_object_get(obj, "ordered"));
	feed->stats.duplicates = u64_field(obj, "duplicates");
	feed->stats.resolved_stalls = u64_field(obj, "resolved_stalls");
	feed->stats.held_rows = u64_field(obj, "held_rows");
	feed->stats.held_bytes = u64_field(obj, "held_bytes");
	feed->stats.spilled_rows = u64_field(obj, "spilled_rows");
	feed->stats.late_rows = u64_field(obj, "late_rows");
	feed->stats.released_seq = u64_field(obj, "released_seq");
	feed->stats.journal_records = u64_field(obj, "journal_records");
	feed->stats.journal_bytes = u64_field(obj, "journal_bytes");
	feed->stats.journal_file_bytes = u64_field(obj, "journal_file_bytes");
	feed->stats.journal_oldest_seq = u64_field(obj, "journal_oldest_seq");
	feed->stats.journal_newest_seq = u64_field(obj, "journal_newest_seq");
	feed->stats.journal_oldest_updated = hlc_field(obj, "journal_oldest_updated");
	feed->stats.journal_newest_updated = hlc_field(obj, "journal_newest_updated");
	feed->stats.journal_commits = u64_field(obj, "journal_commits");
	feed->stats.journal_commit_errors = u64_field(obj, "journal_commit_errors");
	feed->stats.journal_stalled = json_is_true(json_object_get(obj, "journal_stalled"));
	feed->stats.notify = json_is_true(json_object_get(obj, "notify"));
	feed->stats.notify_deletes = u64_field(obj, "notify_deletes");
	feed->stats.notify_invalid = u64_field(obj, "notify_invalid");
	feed->stats.notify_folded = u64_field(obj, "notify_folded");
	feed->stats.notify_unfolded = u64_field(obj, "notify_unfolded");
	feed->stats.nats = json_is_true(json_object_get(obj, "nats"));
	feed->stats.nats_delivered = u64_field(obj, "nats_delivered");
	feed->stats.nats_redelivered = u64_field(obj, "nats_redelivered");
	feed->stats.nats_acked = u64_field(obj, "nats_acked");
	feed->stats.nats_duplicates = u64_field(obj, "nats_duplicates");
	feed->stats.nats_ignored_resolved = u64_field(obj, "nats_ignored_resolved");
	feed->stats.nats_malformed = u64_field(obj, "nats_malformed");
	feed->stats.nats_reconnects = u64_field(obj, "nats_reconnects");
	feed->stats.nats_lag = u64_field(obj, "nats_lag");
	feed->stats.nats_last_stream_seq = u64_field(obj, "nats_last_stream_seq");
	feed->stats.nats_connected = json_is_true(json_object_get(obj, "nats_connected"));
}

static void sink_from_json(json_t *obj, struct sink_view *sink,
			   struct sink_config *cfg)
{
	const char *type = json_string_value(json_object_get(obj, "type"));
	const char *policy = json_string_value(json_object_get(obj, "policy"));

	ck_assert(type && policy);
	cfg->name = dup_string(obj, "name");
	cfg->feed = dup_string(obj, "feed");
	cfg->type = strcmp(type, "stdout") == 0 ? SINK_STDOUT :
		    strcmp(type, "pg") == 0 ? SINK_PG :
		    strcmp(type, "nats") == 0 ? SINK_NATS : SINK_UNIX;
	cfg->policy = strcmp(policy, "block") == 0 ? SLOW_POLICY_BLOCK :
		      strcmp(policy, "drop") == 0 ? SLOW_POLICY_DROP :
		      SLOW_POLICY_DISCONNECT;
	sink->name = cfg->name;
	sink->cfg = cfg;
	sink->live = true;
	sink->stats.subscribers = u64_field(obj, "subscribers");
	sink->stats.accepted = u64_field(obj, "accepted");
	sink->stats.refused = u64_field(obj, "refused");
	sink->stats.accept_errors = u64_field(obj, "accept_errors");
	sink->stats.lines_out = u64_field(obj, "lines_out");
	sink->stats.bytes_out = u64_field(obj, "bytes_out");
	sink->stats.dropped = u64_field(obj, "dropped");
	sink->stats.blocked = u64_field(obj, "blocked");
	sink->stats.disconnected_slow = u64_field(obj, "disconnected_slow");
	sink->stats.disconnected_other = u64_field(obj, "disconnected_other");
	sink->stats.buffer_bytes = u64_field(obj, "buffer_bytes");
	sink->stats.queued_bytes = u64_field(obj, "queued_bytes");
	sink->stats.max_queued_bytes = u64_field(obj, "max_queued_bytes");
	sink->stats.journaled = json_is_true(json_object_get(obj, "journaled"));
	sink->stats.replaying = u64_field(obj, "replaying");
	sink->stats.max_seq_lag = u64_field(obj, "max_seq_lag");
	sink->stats.replayed_lines = u64_field(obj, "replayed_lines");
	sink->stats.pg = json_is_true(json_object_get(obj, "pg"));
	sink->stats.pg_listeners = u64_field(obj, "pg_listeners");
	sink->stats.pg_channels = u64_field(obj, "pg_channels");
	sink->stats.pg_notifications = u64_field(obj, "pg_notifications");
	sink->stats.pg_refused_full = u64_field(obj, "pg_refused_full");
	sink->stats.pg_refused_peer = u64_field(obj, "pg_refused_peer");
	sink->stats.pg_auth_failed = u64_field(obj, "pg_auth_failed");
	sink->stats.pg_dropped_slow = u64_field(obj, "pg_dropped_slow");
	sink->stats.pg_too_large = u64_field(obj, "pg_too_large");
	sink->stats.pg_not_sent = u64_field(obj, "pg_not_sent");
	sink->stats.nats = json_is_true(json_object_get(obj, "nats"));
	sink->stats.nats_published = u64_field(obj, "nats_published");
	sink->stats.nats_acked = u64_field(obj, "nats_acked");
	sink->stats.nats_pending = u64_field(obj, "nats_pending");
	sink->stats.nats_duplicates = u64_field(obj, "nats_duplicates");
	sink->stats.nats_too_large = u64_field(obj, "nats_too_large");
	sink->stats.nats_errors = u64_field(obj, "nats_errors");
	sink->stats.nats_skipped = u64_field(obj, "nats_skipped");
	sink->stats.nats_gaps = u64_field(obj, "nats_gaps");
	sink->stats.nats_acked_seq = u64_field(obj, "nats_acked_seq");
	sink->stats.nats_stream_seq = u64_field(obj, "nats_stream_seq");
	sink->stats.nats_connected = u64_field(obj, "nats_connected");
	sink->stats.nats_reconnects = u64_field(obj, "nats_reconnects");
}

/* The view of view.json, everything allocated (fixture_free frees). A
 * null entry is a feed or sink that could not be made (not live). */
struct fixture {
	json_t *json;
	struct config cfg;
	struct daemon_view view;
	struct process_figures proc;
	int64_t now_ms;
};

static void fixture_load(struct fixture *fx)
{
	json_error_t jerr;
	json_t *feeds, *sinks, *proc, *item;
	size_t i;

	memset(fx, 0, sizeof(*fx));
	fx->json = json_load_file(case_path("view.json"), 0, &jerr);
	ck_assert_msg(fx->json != NULL, "view.json:%d: %s", jerr.line, jerr.text);
	feeds = json_object_get(fx->json, "feeds");
	sinks = json_object_get(fx->json, "sinks");
	proc = json_object_get(fx->json, "process");
	fx->cfg.nfeeds = json_array_size(feeds);
	fx->cfg.nsinks = json_array_size(sinks);
	fx->cfg.feeds = calloc(fx->cfg.nfeeds, sizeof(*fx->cfg.feeds));
	fx->cfg.sinks = calloc(fx->cfg.nsinks, sizeof(*fx->cfg.sinks));
	fx->view.feeds = calloc(fx->cfg.nfeeds, sizeof(*fx->view.feeds));
	fx->view.sinks = calloc(fx->cfg.nsinks, sizeof(*fx->view.sinks));
	ck_assert(fx->cfg.feeds && fx->cfg.sinks && fx->view.feeds && fx->view.sinks);
	json_array_foreach(feeds, i, item)
		if (!json_is_null(item))
			feed_from_json(item, &fx->view.feeds[i], &fx->cfg.feeds[i]);
	json_array_foreach(sinks, i, item)
		if (!json_is_null(item))
			sink_from_json(item, &fx->view.sinks[i], &fx->cfg.sinks[i]);
	fx->view.cfg = &fx->cfg;
	fx->view.nfeeds = fx->cfg.nfeeds;
	fx->view.nsinks = fx->cfg.nsinks;
	fx->view.started_at = (int64_t)u64_field(fx->json, "started_at");
	fx->view.version = json_string_value(json_object_get(fx->json, "version"));
	fx->view.ready = json_is_true(json_object_get(fx->json, "ready"));
	fx->view.shutting_down = json_is_true(json_object_get(fx->json, "shutting_down"));
	fx->now_ms = (int64_t)u64_field(fx->json, "now_ms");
	fx->proc.resident_bytes = (int64_t)u64_field(proc, "resident_bytes");
	fx->proc.virtual_bytes = (int64_t)u64_field(proc, "virtual_bytes");
	fx->proc.open_fds = (int64_t)u64_field(proc, "open_fds");
	fx->proc.max_fds = (int64_t)u64_field(proc, "max_fds");
	fx->proc.cpu_seconds = json_number_value(json_object_get(proc, "cpu_seconds"));
	fx->proc.line_slabs = (int64_t)u64_field(proc, "line_slabs");
	fx->proc.lines_live = (int64_t)u64_field(proc, "lines_live");
}

static void fixture_free(struct fixture *fx)
{
	for (size_t i = 0; i < fx->view.nfeeds; i++) {
		free(fx->cfg.feeds[i].name);
		free((char *)fx->view.feeds[i].state);
	}
	for (size_t i = 0; i < fx->view.nsinks; i++) {
		free(fx->cfg.sinks[i].name);
		free(fx->cfg.sinks[i].feed);
	}
	daemon_view_release(&fx->view);
	free(fx->cfg.feeds);
	free(fx->cfg.sinks);
	json_decref(fx->json);
}

/* ---- a checker of the text format ------------------------------------- */

static bool name_ok(const char *s, size_t len, bool colon)
{
	if (!len || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && !(colon && s[i] == ':'))
			return false;
	return true;
}

struct seen {
	char **items;
	size_t n;
};

static bool seen_add(struct seen *seen, const char *s, size_t len)
{
	char *copy;

	for (size_t i = 0; i < seen->n; i++)
		if (strlen(seen->items[i]) == len && memcmp(seen->items[i], s, len) == 0)
			return false;
	seen->items = realloc(seen->items, (seen->n + 1) * sizeof(*seen->items));
	copy = strndup(s, len);
	ck_assert(seen->items && copy);
	seen->items[seen->n++] = copy;
	return true;
}

static void seen_free(struct seen *seen)
{
	for (size_t i = 0; i < seen->n; i++)
		free(seen->items[i]);
	free(seen->items);
}

/* Check one exposition; returns the number of samples. */
static int check_exposition(const char *text)
{
	struct seen families = { 0 }, series = { 0 };
	char family[128] = "", type[16] = "";
	bool have_help = false;
	const char *p = text;
	int lineno = 0, samples = 0;

	ck_assert_msg(*text && text[strlen(text) - 1] == '\n', "must end with a newline");
	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = (size_t)(end - p);
		char line[4096];

		lineno++;
		ck_assert_msg(len < sizeof(line), "line %d too long", lineno);
		memcpy(line, p, len);
		line[len] = '\0';
		p = end + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			const char *name = line + 7;
			size_t nlen = strcspn(name, " ");

			ck_assert_msg(name_ok(name, nlen, true), "line %d: bad name", lineno);
			ck_assert_msg(nlen < sizeof(family), "line %d", lineno);
			ck_assert_msg(seen_add(&families, name, nlen),
				      "line %d: family %.*s twice", lineno, (int)nlen, name);
			memcpy(family, name, nlen);
			family[nlen] = '\0';
			/* Only \\ and \n escapes in HELP text. */
			for (const char *h = name + nlen; *h; h++)
				if (*h == '\\') {
					ck_assert_msg(h[1] == '\\' || h[1] == 'n',
						      "line %d: bad escape in HELP", lineno);
					h++;
				}
			have_help = true;
			type[0] = '\0';
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_msg(have_help, "line %d: TYPE without HELP", lineno);
			ck_assert_msg(strncmp(line + 7, family, strlen(family)) == 0 &&
				      line[7 + strlen(family)] == ' ',
				      "line %d: TYPE of another family", lineno);
			snprintf(type, sizeof(type), "%s", line + 8 + strlen(family));
			ck_assert_msg(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0,
				      "line %d: type %s", lineno, type);
			if (strcmp(type, "counter") == 0) {
				size_t flen = strlen(family);

				ck_assert_msg(flen > 6 && strcmp(family + flen - 6, "_total") == 0,
					      "line %d: counter %s not named _total", lineno, family);
			}
			continue;
		}
		ck_assert_msg(line[0] != '#', "line %d: unknown comment", lineno);
		ck_assert_msg(type[0], "line %d: sample before its TYPE", lineno);
		/* name{label="value",...} value */
		size_t nlen = strcspn(line, "{ ");
		const char *q = line + nlen;

		ck_assert_msg(nlen == strlen(family) && strncmp(line, family, nlen) == 0,
			      "line %d: sample of %.*s under family %s", lineno,
			      (int)nlen, line, family);
		if (*q == '{') {
			q++;
			while (*q != '}') {
				size_t llen = strcspn(q, "=");

				ck_assert_msg(name_ok(q, llen, false), "line %d: label name", lineno);
				q += llen;
				ck_assert_msg(q[0] == '=' && q[1] == '"', "line %d: label syntax", lineno);
				q += 2;
				while (*q != '"') {
					ck_assert_msg(*q, "line %d: unterminated label value", lineno);
					if (*q == '\\') {
						ck_assert_msg(q[1] == '\\' || q[1] == '"' || q[1] == 'n',
							      "line %d: bad escape", lineno);
						q++;
					}
					q++;
				}
				q++;
				ck_assert_msg(*q == ',' || *q == '}', "line %d: after a label", lineno);
				if (*q == ',')
					q++;
			}
			q++;
		}
		ck_assert_msg(seen_add(&series, line, (size_t)(q - line)),
			      "line %d: series twice", lineno);
		ck_assert_msg(*q == ' ', "line %d: no value", lineno);
		q++;
		if (strcmp(q, "NaN") && strcmp(q, "+Inf") && strcmp(q, "-Inf")) {
			char *vend;

			strtod(q, &vend);
			ck_assert_msg(vend != q && *vend == '\0', "line %d: value %s", lineno, q);
		}
		samples++;
	}
	seen_free(&families);
	seen_free(&series);
	return samples;
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(test_render_golden)
{
	struct fixture fx;
	struct textbuf buf;
	size_t want_len;
	char *want = read_file(case_path("render.prom"), &want_len);

	fixture_load(&fx);
	textbuf_init(&buf, 1 << 20);
	ck_assert_int_eq(metrics_render(&buf, &fx.view, fx.now_ms, &fx.proc), 0);
	if (buf.len != want_len || memcmp(buf.data, want, want_len) != 0) {
		FILE *out = fopen("check_metrics.got.prom", "w");

		if (out) {
			fwrite(buf.data, 1, buf.len, out);
			fclose(out);
		}
		ck_abort_msg("the rendering differs from render.prom (written to check_metrics.got.prom)");
	}
	/* 14 process samples... whatever the count, the format must hold. */
	ck_assert_int_gt(check_exposition(buf.data), 0);
	textbuf_free(&buf);
	free(want);
	fixture_free(&fx);
}
END_TEST

/* The figures the golden file holds follow from view.json: recompute the
 * derived ones here rather than trusting the file. */
START_TEST(test_render_derived_values)
{
	struct fixture fx;
	struct textbuf buf;
	char want[256];

	fixture_load(&fx);
	textbuf_init(&buf, 1 << 20);
	ck_assert_int_eq(metrics_render(&buf, &fx.view, fx.now_ms, &fx.proc), 0);
	/* lag = now - last_resolved wall */
	snprintf(want, sizeof(want), "crdbfeedd_feed_lag_seconds{feed=\"orders\"} %g\n",
		 (double)fx.now_ms / 1e3 -
		 (double)fx.view.feeds[0].stats.last_resolved.wall / 1e9);
	ck_assert_msg(strstr(buf.data, want), "missing: %s", want);
	/* uptime = now - started_at */
	snprintf(want, sizeof(want), "crdbfeedd_uptime_seconds %g\n",
		 (double)(fx.now_ms - fx.view.started_at) / 1e3);
	ck_assert_msg(strstr(buf.data, want), "missing: %s", want);
	/* exactly one state is 1 per feed */
	ck_assert_ptr_nonnull(strstr(buf.data,
		"crdbfeedd_feed_state{feed=\"orders\",state=\"streaming\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf.data,
		"crdbfeedd_feed_state{feed=\"orders\",state=\"paused\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(buf.data,
		"crdbfeedd_feed_state{feed=\"we\\\"ird\\\\feed\\nname\",state=\"paused\"} 1\n"));
	/* a feed without a resolved timestamp has no lag sample */
	ck_assert_ptr_null(strstr(buf.data, "crdbfeedd_feed_lag_seconds{feed=\"we"));
	/* every reconnect reason is there, zero or not */
	for (int r = 0; r < RECONNECT_NREASONS; r++) {
		snprintf(want, sizeof(want),
			 "crdbfeedd_feed_reconnects_total{feed=\"orders\",reason=\"%s\"} %llu\n",
			 reconnect_reason_name((enum reconnect_reason)r),
			 (unsigned long long)fx.view.feeds[0].stats.reconnects[r]);
		ck_assert_msg(strstr(buf.data, want), "missing: %s", want);
	}
	textbuf_free(&buf);
	fixture_free(&fx);
}
END_TEST

/* Ordered delivery's samples: for the ordered feed and its journaled sink
 * only, except the ordered flag, duplicates and resolved stalls, which
 * every feed has; an empty journal's seqs and times are left out. */
START_TEST(test_render_ordered)
{
	struct fixture fx;
	struct textbuf buf;
	const struct feed_view *ledger = NULL;
	char want[256];

	fixture_load(&fx);
	for (size_t i = 0; i < fx.view.nfeeds && !ledger; i++)
		if (fx.view.feeds[i].live && fx.view.feeds[i].stats.ordered)
			ledger = &fx.view.feeds[i];
	ck_assert_ptr_nonnull(ledger);
	ck_assert_str_eq(ledger->name, "ledger");
	textbuf_init(&buf, 1 << 20);
	ck_assert_int_eq(metrics_render(&buf, &fx.view, fx.now_ms, &fx.proc), 0);
	snprintf(want, sizeof(want), "crdbfeedd_feed_held_rows{feed=\"ledger\"} %llu\n",
		 (unsigned long long)ledger->stats.held_rows);
	ck_assert_msg(strstr(buf.data, want), "missing: %s", want);
	snprintf(want, sizeof(want), "crdbfeedd_feed_released_seq{feed=\"ledger\"} %llu\n",
		 (unsigned long long)ledger->stats.released_seq);
	ck_assert_msg(strstr(buf.data, want), "missing: %s", want);
	snprintf(want, sizeof(want), "crdbfeedd_feed_journal_newest_timestamp_seconds{feed=\"ledger\"} %lld\n",
		 (long long)(ledger->stats.journal_newest_updated.wall / 1000000000));
	ck_assert_msg(strstr(buf.data, want), "missing: %s", want);
	ck_assert_ptr_nonnull(strstr(buf.data, "crdbfeedd_feed_journal_stalled{feed=\"ledger\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf.data, "crdbfeedd_feed_ordered{feed=\"ledger\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf.data, "crdbfeedd_feed_ordered{feed=\"orders\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(buf.data, "crdbfeedd_feed_duplicates_total{feed=\"orders\"} 6\n"));
	/* a stream feed has no held rows nor journal */
	ck_assert_ptr_null(strstr(buf.data, "crdbfeedd_feed_held_rows{feed=\"orders\"}"));
	ck_assert_ptr_null(strstr(buf.data, "crdbfeedd_feed_journal_records{feed=\"orders\"}"));
	/* the empty journal of "fresh": records 0, no seqs, no times */
	ck_assert_ptr_nonnull(strstr(buf.data, "crdbfeedd_feed_journal_records{feed=\"fresh\"} 0\n"));
	ck_assert_ptr_null(strstr(buf.data, "crdbfeedd_feed_journal_oldest_seq{feed=\"fresh\"}"));
	ck_assert_ptr_null(strstr(buf.data, "crdbfeedd_feed_journal_oldest_timestamp_seconds{feed=\"fresh\"}"));
	/* replay figures for the journaled sink only */
	ck_assert_ptr_nonnull(strstr(buf.data, "crdbfeedd_sink_replaying{sink=\"ledger-sock\",feed=\"ledger\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(buf.data, "crdbfeedd_sink_max_seq_lag{sink=\"ledger-sock\",feed=\"ledger\"} 4500\n"));
	ck_assert_ptr_null(strstr(buf.data, "crdbfeedd_sink_replaying{sink=\"orders-sock\""));
	textbuf_free(&buf);
	fixture_free(&fx);
}
END_TEST

/* With the real /proc figures, the format still holds and the process
 * gauges are there. */
START_TEST(test_render_live_process)
{
	struct fixture fx;
	struct textbuf buf;
	struct process_figures proc;

	metrics_process_figures(&proc);
	ck_assert_int_gt(proc.resident_bytes, 0);
	ck_assert_int_gt(proc.open_fds, 2);
	fixture_load(&fx);
	textbuf_init(&buf, 1 << 20);
	ck_assert_int_eq(metrics_render(&buf, &fx.view, fx.now_ms, NULL), 0);
	ck_assert_int_gt(check_exposition(buf.data), 0);
	ck_assert_ptr_nonnull(strstr(buf.data, "\nprocess_resident_memory_bytes "));
	ck_assert_ptr_nonnull(strstr(buf.data, "\nprocess_open_fds "));
	textbuf_free(&buf);
	fixture_free(&fx);
}
END_TEST

/* A buffer over its limit fails as a whole, never a cut exposition. */
START_TEST(test_render_limit)
{
	struct fixture fx;
	struct textbuf buf;

	fixture_load(&fx);
	textbuf_init(&buf, 1000);
	ck_assert_int_eq(metrics_render(&buf, &fx.view, fx.now_ms, &fx.proc), -1);
	ck_assert(buf.failed);
	ck_assert_uint_le(buf.len, 1000);
	textbuf_printf(&buf, "%s", "more");
	ck_assert(buf.failed);
	textbuf_free(&buf);
	fixture_free(&fx);
}
END_TEST

/* tests/ctl/metrics-cases/<name>, for the reader of tests/lib. */
static void load_metrics_cases(const char *name, enum case_syntax syntax,
			       struct case_file *cf)
{
	char relpath[256];

	snprintf(relpath, sizeof(relpath), "tests/ctl/metrics-cases/%s", name);
	cases_load_file(relpath, syntax, cf);
}

/* Run each ["in","want"] line of a case file through fn. */
static void json_pair_cases(const char *file,
			    void (*fn)(struct textbuf *, const char *))
{
	struct case_file cf;
	size_t ncases = 0;

	load_metrics_cases(file, CASES_LINE, &cf);
	for (size_t i = 0; i < cf.count; i++) {
		const struct case_line *l = &cf.lines[i];
		json_error_t jerr;
		json_t *pair;
		struct textbuf buf;
		const char *in, *want;

		pair = json_loads(l->field[0], 0, &jerr);
		ck_assert_msg(json_is_array(pair) && json_array_size(pair) == 2,
			      "%s: not a pair: %s", case_where(l), jerr.text);
		in = json_string_value(json_array_get(pair, 0));
		want = json_string_value(json_array_get(pair, 1));
		ck_assert_msg(in && want, "%s: not strings", case_where(l));
		textbuf_init(&buf, 4096);
		fn(&buf, in);
		ck_assert_msg(buf.len == strlen(want) && memcmp(buf.data ? buf.data : "", want, buf.len) == 0,
			      "%s: got \"%s\", want \"%s\"", case_where(l),
			      buf.data ? buf.data : "", want);
		textbuf_free(&buf);
		json_decref(pair);
		ncases++;
	}
	cases_free(&cf);
	ck_assert_uint_gt(ncases, 3);
}

START_TEST(test_label_escaping)
{
	json_pair_cases("escape.txt", metrics_escape_label);
}
END_TEST

/* Render a family and keep just the escaped HELP text. */
static void help_text(struct textbuf *out, const char *help)
{
	struct textbuf buf;
	const char *start, *end;

	textbuf_init(&buf, 4096);
	metrics_family(&buf, "x_total", METRIC_COUNTER, help);
	ck_assert_ptr_nonnull(buf.data);
	ck_assert_int_eq(strncmp(buf.data, "# HELP x_total ", 15), 0);
	start = buf.data + 15;
	end = strstr(start, "\n# TYPE x_total counter\n");
	ck_assert_ptr_nonnull(end);
	ck_assert_str_eq(end + 24, "");
	textbuf_append(out, start, (size_t)(end - start));
	textbuf_free(&buf);
}

START_TEST(test_help_escaping)
{
	json_pair_cases("help.txt", help_text);
}
END_TEST

START_TEST(test_sample_values)
{
	struct case_file cf;
	size_t ncases = 0;

	load_metrics_cases("doubles.txt", CASES_WORDS, &cf);
	for (size_t i = 0; i < cf.count; i++) {
		const struct case_line *l = &cf.lines[i];
		char expect_line[300];
		struct textbuf buf;

		ck_assert_msg(l->nfields == 2, "%s: want INPUT EXPECTED", case_where(l));
		textbuf_init(&buf, 4096);
		metrics_sample_double(&buf, "v", NULL, strtod(l->field[0], NULL));
		snprintf(expect_line, sizeof(expect_line), "v %s\n", l->field[1]);
		ck_assert_msg(strcmp(buf.data, expect_line) == 0,
			      "%s: %s gave \"%s\"", case_where(l), l->field[0], buf.data);
		textbuf_free(&buf);
		ncases++;
	}
	cases_free(&cf);
	ck_assert_uint_gt(ncases, 5);
}
END_TEST

START_TEST(test_sample_labels)
{
	struct textbuf buf;
	const char *labels[] = { "a", "1", "b", "x\"y", NULL };
	const char *none[] = { NULL };

	textbuf_init(&buf, 4096);
	metrics_sample_u64(&buf, "m_total", labels, UINT64_MAX);
	metrics_sample_u64(&buf, "m_total", none, 0);
	metrics_sample_u64(&buf, "m_total", NULL, 7);
	ck_assert_str_eq(buf.data,
			 "m_total{a=\"1\",b=\"x\\\"y\"} 18446744073709551615\n"
			 "m_total 0\n"
			 "m_total 7\n");
	textbuf_free(&buf);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_render_golden);
	tcase_add_test(tc, test_render_derived_values);
	tcase_add_test(tc, test_render_ordered);
	tcase_add_test(tc, test_render_live_process);
	tcase_add_test(tc, test_render_limit);
	tcase_add_test(tc, test_label_escaping);
	tcase_add_test(tc, test_help_escaping);
	tcase_add_test(tc, test_sample_values);
	tcase_add_test(tc, test_sample_labels);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
