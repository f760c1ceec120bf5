/*
 * metrics.c: crdbfeedd's Prometheus text exposition (format 0.0.4).
 *
 * Families are written whole (# HELP, # TYPE, then one sample per feed or
 * sink), in a fixed order, from the counters of a daemon view (view.h).
 * Gauges that have no value yet (no resolved
 * timestamp received, no checkpoint) are left out for that feed rather
 * than reported as 0, which a dashboard would read as 1970. Every name
 * here is documented in crdbfeedctl(1), "METRICS": keep the two in step.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "metrics.h"

#include "line_arena.h"

#include "names.h"
#include "view.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- the format's primitives ------------------------------------------- */

static void escape(struct textbuf *buf, const char *value, bool quotes)
{
	const char *run = value;

	for (const char *p = value; *p; p++) {
		const char *rep = NULL;

		if (*p == '\\')
			rep = "\\\\";
		else if (*p == '\n')
			rep = "\\n";
		else if (*p == '"' && quotes)
			rep = "\\\"";
		if (!rep)
			continue;
		textbuf_append(buf, run, (size_t)(p - run));
		textbuf_puts(buf, rep);
		run = p + 1;
	}
	textbuf_puts(buf, run);
}

void metrics_escape_label(struct textbuf *buf, const char *value)
{
	escape(buf, value, true);
}

void metrics_family(struct textbuf *buf, const char *name,
		    enum metric_type type, const char *help)
{
	textbuf_printf(buf, "# HELP %s ", name);
	escape(buf, help, false);
	textbuf_printf(buf, "\n# TYPE %s %s\n", name,
		       type == METRIC_COUNTER ? "counter" : "gauge");
}

static void sample_head(struct textbuf *buf, const char *name,
			const char *const *labels)
{
	textbuf_puts(buf, name);
	if (!labels || !labels[0])
		return;
	textbuf_puts(buf, "{");
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		textbuf_printf(buf, "%s%s=\"", i ? "," : "", labels[i]);
		metrics_escape_label(buf, labels[i + 1]);
		textbuf_puts(buf, "\"");
	}
	textbuf_puts(buf, "}");
}

void metrics_sample_u64(struct textbuf *buf, const char *name,
			const char *const *labels, uint64_t value)
{
	sample_head(buf, name, labels);
	textbuf_printf(buf, " %llu\n", (unsigned long long)value);
}

/* The shortest form that reads back as the same double, in plain
 * decimals where that is short (so that 0.1 prints as 0.1, 10 as 10 and a
 * timestamp keeps its milliseconds), else in exponent form. */
static void format_double(char *out, size_t outlen, double value)
{
	double magnitude = value < 0 ? -value : value;

	if (isnan(value)) {
		snprintf(out, outlen, "NaN");
		return;
	}
	if (isinf(value)) {
		snprintf(out, outlen, value > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e15)) {
		for (int decimals = 0; decimals <= 9; decimals++) {
			snprintf(out, outlen, "%.*f", decimals, value);
			if (strtod(out, NULL) == value)
				return;
		}
	}
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(out, outlen, "%.*g", precision, value);
		if (strtod(out, NULL) == value)
			return;
	}
}

void metrics_sample_double(struct textbuf *buf, const char *name,
			   const char *const *labels, double value)
{
	char text[64];

	format_double(text, sizeof(text), value);
	sample_head(buf, name, labels);
	textbuf_printf(buf, " %s\n", text);
}

/* ---- the process ------------------------------------------------------- */

void metrics_process_figures(struct process_figures *out)
{
	long page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	struct rusage ru;
	struct line_arena_stats lines;
	FILE *statm;
	DIR *dir;

	out->resident_bytes = out->virtual_bytes = -1;
	out->open_fds = out->max_fds = -1;
	out->cpu_seconds = -1;
	statm = fopen("/proc/self/statm", "re");
	if (statm) {
		unsigned long size, resident;

		if (page > 0 && fscanf(statm, "%lu %lu", &size, &resident) == 2) {
			out->virtual_bytes = (int64_t)size * page;
			out->resident_bytes = (int64_t)resident * page;
		}
		fclose(statm);
	}
	dir = opendir("/proc/self/fd");
	if (dir) {
		struct dirent *ent;
		int64_t n = 0;
		int self = dirfd(dir);

		while ((ent = readdir(dir)) != NULL) {
			/* Not ".", "..", nor the descriptor reading it. */
			if (ent->d_name[0] == '.' || atoi(ent->d_name) == self)
				continue;
			n++;
		}
		closedir(dir);
		out->open_fds = n;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		out->max_fds = (int64_t)rl.rlim_cur;
	line_arena_get_stats(&lines);
	out->line_slabs = (int64_t)lines.slabs_live;
	out->lines_live = (int64_t)(lines.slab_lines + lines.own_live);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		out->cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
			((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static void render_process(struct textbuf *buf, const struct daemon_view *view,
			   int64_t now_ms, const struct process_figures *proc)
{
	const char *build[] = { "version", view->version ? view->version : "", NULL };

	metrics_family(buf, "crdbfeedd_build_info", METRIC_GAUGE,
		       "Always 1; the version crdbfeedd was built from is the label.");
	metrics_sample_u64(buf, "crdbfeedd_build_info", build, 1);
	metrics_family(buf, "crdbfeedd_ready", METRIC_GAUGE,
		       "1 once start-up finished (READY=1 was sent), 0 before and while stopping.");
	metrics_sample_u64(buf, "crdbfeedd_ready", NULL,
			   view->ready && !view->shutting_down);
	metrics_family(buf, "crdbfeedd_uptime_seconds", METRIC_GAUGE,
		       "Seconds since the process started.");
	metrics_sample_double(buf, "crdbfeedd_uptime_seconds", NULL,
			      now_ms > view->started_at ?
			      (double)(now_ms - view->started_at) / 1e3 : 0.0);
	metrics_family(buf, "process_start_time_seconds", METRIC_GAUGE,
		       "Start time of the process since the Unix epoch in seconds.");
	metrics_sample_double(buf, "process_start_time_seconds", NULL,
			      (double)view->started_at / 1e3);
	if (proc->cpu_seconds >= 0) {
		metrics_family(buf, "process_cpu_seconds_total", METRIC_COUNTER,
			       "Total user and system CPU time spent in seconds.");
		metrics_sample_double(buf, "process_cpu_seconds_total", NULL,
				      proc->cpu_seconds);
	}
	if (proc->resident_bytes >= 0) {
		metrics_family(buf, "process_resident_memory_bytes", METRIC_GAUGE,
			       "Resident memory size in bytes.");
		metrics_sample_u64(buf, "process_resident_memory_bytes", NULL,
				   (uint64_t)proc->resident_bytes);
	}
	if (proc->virtual_bytes >= 0) {
		metrics_family(buf, "process_virtual_memory_bytes", METRIC_GAUGE,
			       "Virtual memory size in bytes.");
		metrics_sample_u64(buf, "process_virtual_memory_bytes", NULL,
				   (uint64_t)proc->virtual_bytes);
	}
	if (proc->open_fds >= 0) {
		metrics_family(buf, "process_open_fds", METRIC_GAUGE,
			       "Number of open file descriptors.");
		metrics_sample_u64(buf, "process_open_fds", NULL,
				   (uint64_t)proc->open_fds);
	}
	if (proc->max_fds >= 0) {
		metrics_family(buf, "process_max_fds", METRIC_GAUGE,
			       "Maximum number of open file descriptors.");
		metrics_sample_u64(buf, "process_max_fds", NULL,
				   (uint64_t)proc->max_fds);
	}
	if (proc->line_slabs >= 0) {
		metrics_family(buf, "crdbfeedd_line_slabs", METRIC_GAUGE,
			       "64 KiB slabs holding output lines; a line still queued keeps its whole slab.");
		metrics_sample_u64(buf, "crdbfeedd_line_slabs", NULL,
				   (uint64_t)proc->line_slabs);
	}
	if (proc->lines_live >= 0) {
		metrics_family(buf, "crdbfeedd_lines_live", METRIC_GAUGE,
			       "Output lines alive now (queued for subscribers or sinks, held, or being written).");
		metrics_sample_u64(buf, "crdbfeedd_lines_live", NULL,
				   (uint64_t)proc->lines_live);
	}
}

/* ---- feeds ------------------------------------------------------------- */

/* The public states, one crdbfeedd_feed_state sample each. */
static const char *const public_states[] = {
	"connecting", "streaming", "reconnecting", "failed", "paused", "stopped",
};

/* Counters copied straight out of struct feed_stats. */
static const struct {
	const char *name;
	size_t offset;
	const char *help;
} feed_counters[] = {
	{ "crdbfeedd_feed_rows_total", offsetof(struct feed_stats, rows),
	  "Data rows received from CockroachDB and published." },
	{ "crdbfeedd_feed_resolved_total", offsetof(struct feed_stats, resolved),
	  "Resolved timestamps received." },
	{ "crdbfeedd_feed_received_bytes_total", offsetof(struct feed_stats, bytes_in),
	  "Payload bytes received (keys and values)." },
	{ "crdbfeedd_feed_lines_total", offsetof(struct feed_stats, lines_out),
	  "Lines published to the feed's sinks." },
	{ "crdbfeedd_feed_published_bytes_total", offsetof(struct feed_stats, bytes_out),
	  "Bytes of the lines published (each line counted once)." },
	{ "crdbfeedd_feed_bad_rows_total", offsetof(struct feed_stats, bad_rows),
	  "Rows that could not be decoded or encoded." },
	{ "crdbfeedd_feed_checkpoint_writes_total", offsetof(struct feed_stats, checkpoint_writes),
	  "Checkpoint files written." },
	{ "crdbfeedd_feed_checkpoint_errors_total", offsetof(struct feed_stats, checkpoint_errors),
	  "Checkpoint writes that failed (the previous checkpoint was kept)." },
	{ "crdbfeedd_feed_duplicates_total", offsetof(struct feed_stats, duplicates),
	  "Rows dropped as already delivered: re-sent after a reconnect (stream: in this run; ordered: within the journal's retention)." },
	{ "crdbfeedd_feed_resolved_stalls_total", offsetof(struct feed_stats, resolved_stalls),
	  "Restarts from the checkpoint because the resolved timestamp stopped advancing while rows arrived." },
};

/* Ordered delivery's values (stats.h), for ordered feeds only: a stream
 * feed holds nothing and has no journal. */
enum feed_value_kind { FV_U64, FV_BOOL };

static const struct {
	const char *name;
	enum metric_type type;
	enum feed_value_kind kind;
	size_t offset;
	bool skip_zero;           /* no value yet (an empty journal) */
	const char *help;
} ordered_values[] = {
	{ "crdbfeedd_feed_held_rows", METRIC_GAUGE, FV_U64,
	  offsetof(struct feed_stats, held_rows), false,
	  "Rows held until a resolved timestamp covers them (memory and disk)." },
	{ "crdbfeedd_feed_held_bytes", METRIC_GAUGE, FV_U64,
	  offsetof(struct feed_stats, held_bytes), false,
	  "Bytes of the rows held (memory and disk)." },
	{ "crdbfeedd_feed_spilled_rows", METRIC_GAUGE, FV_U64,
	  offsetof(struct feed_stats, spilled_rows), false,
	  "Held rows spilled to disk beyond the memory budget." },
	{ "crdbfeedd_feed_late_rows_total", METRIC_COUNTER, FV_U64,
	  offsetof(struct feed_stats, late_rows), false,
	  "Rows that arrived below a resolved timestamp already released, delivered flagged late." },
	{ "crdbfeedd_feed_released_seq", METRIC_GAUGE, FV_U64,
	  offsetof(struct feed_stats, released_seq), false,
	  "The last sequence number released to subscribers." },
	{ "crdbfeedd_feed_journal_records", METRIC_GAUGE, FV_U64,
	  offsetof(struct feed_stats, journal_records), false,
	  "Rows kept in the journal." },
	{ "crdbfeedd_feed_journal_bytes", METRIC_GAUGE, FV_U64,
	  offsetof(struct feed_stats, journal_bytes), false,
	  "Bytes of the rows kept in the journal (what journal_max_size bounds)." },
	{ "crdbfeedd_feed_journal_file_bytes", METRIC_GAUGE, FV_U64,
	  offsetof(struct feed_stats, journal_file_bytes), false,
	  "Size of the journal's data file on disk." },
	{ "crdbfeedd_feed_journal_oldest_seq", METRIC_GAUGE, FV_U64,
	  offsetof(struct feed_stats, journal_oldest_seq), true,
	  "Sequence number of the oldest row kept in the journal." },
	{ "crdbfeedd_feed_journal_newest_seq", METRIC_GAUGE, FV_U64,
	  offsetof(struct feed_stats, journal_newest_seq), true,
	  "Sequence number of the newest row in the journal." },
	{ "crdbfeedd_feed_journal_commits_total", METRIC_COUNTER, FV_U64,
	  offsetof(struct feed_stats, journal_commits), false,
	  "Journal commits (released rows with the checkpoint)." },
	{ "crdbfeedd_feed_journal_commit_errors_total", METRIC_COUNTER, FV_U64,
	  offsetof(struct feed_stats, journal_commit_errors), false,
	  "Journal commits that failed (disk or map full, or an error): nothing was lost, the rows were kept and committed again." },
	{ "crdbfeedd_feed_journal_stalled", METRIC_GAUGE, FV_BOOL,
	  offsetof(struct feed_stats, journal_stalled), false,
	  "1 while the feed is stalled because its journal cannot commit (full)." },
};

/* The journal's oldest and newest rows' updated timestamps. */
static const struct {
	const char *name;
	size_t offset;
	const char *help;
} ordered_times[] = {
	{ "crdbfeedd_feed_journal_oldest_timestamp_seconds",
	  offsetof(struct feed_stats, journal_oldest_updated),
	  "Updated timestamp of the oldest row kept in the journal (seconds since the epoch)." },
	{ "crdbfeedd_feed_journal_newest_timestamp_seconds",
	  offsetof(struct feed_stats, journal_newest_updated),
	  "Updated timestamp of the newest row in the journal (seconds since the epoch)." },
};

/* A number of struct feed_stats shown for the feeds of one source. */
struct feed_u64_metric {
	const char *name;
	enum metric_type type;
	size_t offset;
	const char *help;
};

/* One family per value, a sample per live feed whose stats say flag. */
static void render_feed_values(struct textbuf *buf, const struct daemon_view *view,
			       const struct feed_u64_metric *values, size_t n,
			       size_t flag_offset)
{
	for (size_t m = 0; m < n; m++) {
		metrics_family(buf, values[m].name, values[m].type, values[m].help);
		for (size_t i = 0; i < view->nfeeds; i++) {
			const char *labels[] = { "feed", view->feeds[i].name, NULL };
			const char *stats = (const char *)&view->feeds[i].stats;
			uint64_t value;
			bool flag;

			memcpy(&flag, stats + flag_offset, sizeof(flag));
			if (!view->feeds[i].live || !flag)
				continue;
			memcpy(&value, stats + values[m].offset, sizeof(value));
			metrics_sample_u64(buf, values[m].name, labels, value);
		}
	}
}

/* A notify feed's released rows that got no seq (stats.h notify_*). */
static const struct feed_u64_metric notify_values[] = {
	{ "crdbfeedd_feed_notify_deletes_total", METRIC_COUNTER, offsetof(struct feed_stats, notify_deletes),
	  "kind = notify: deletions of the notify table's rows, skipped." },
	{ "crdbfeedd_feed_notify_invalid_total", METRIC_COUNTER, offsetof(struct feed_stats, notify_invalid),
	  "kind = notify: rows that are not notifications (logged), dropped." },
	{ "crdbfeedd_feed_notify_folded_total", METRIC_COUNTER, offsetof(struct feed_stats, notify_folded),
	  "kind = notify: notifications identical to an earlier one of their transaction, folded into it." },
	{ "crdbfeedd_feed_notify_unfolded_total", METRIC_COUNTER, offsetof(struct feed_stats, notify_unfolded),
	  "kind = notify: notifications past the fold's bound per transaction, delivered without folding." },
};

static void render_notify(struct textbuf *buf, const struct daemon_view *view)
{
	render_feed_values(buf, view, notify_values,
			   sizeof(notify_values) / sizeof(notify_values[0]),
			   offsetof(struct feed_stats, notify));
}

/* A job feed's endpoint (stats.h ingest_*): counters, then gauges. */
static const struct feed_u64_metric job_values[] = {
	{ "crdbfeedd_feed_ingest_requests_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_requests),
	  "source = job: HTTPS requests that reached the endpoint's handler." },
	{ "crdbfeedd_feed_ingest_batches_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_batches),
	  "source = job: batches of rows acknowledged (200, durable)." },
	{ "crdbfeedd_feed_ingest_resolved_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_resolved),
	  "source = job: resolved timestamps acknowledged." },
	{ "crdbfeedd_feed_ingest_rows_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_rows),
	  "source = job: rows in acknowledged batches (duplicates included)." },
	{ "crdbfeedd_feed_ingest_bytes_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_bytes),
	  "source = job: body bytes of acknowledged requests." },
	{ "crdbfeedd_feed_ingest_retried_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_retried),
	  "source = job: acknowledged batches whose every row was a duplicate (a retry)." },
	{ "crdbfeedd_feed_ingest_4xx_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_4xx),
	  "source = job: requests refused with a 4xx status (bad body, authorization, size, rate)." },
	{ "crdbfeedd_feed_ingest_5xx_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_5xx),
	  "source = job: requests answered 5xx (the hold or the journal could not take them now)." },
	{ "crdbfeedd_feed_ingest_unauthorized_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_unauthorized),
	  "source = job: requests with a missing or wrong Authorization header." },
	{ "crdbfeedd_feed_ingest_rate_limited_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_rate_limited),
	  "source = job: requests refused over ingest_max_rate (429)." },
	{ "crdbfeedd_feed_ingest_connections_refused_total", METRIC_COUNTER, offsetof(struct feed_stats, ingest_connections_refused),
	  "source = job: connections closed at accept (over ingest_max_connections, or a failed TLS handshake)." },
	{ "crdbfeedd_feed_ingest_connections", METRIC_GAUGE, offsetof(struct feed_stats, ingest_connections),
	  "source = job: connections open now." },
};

/* A relay's JetStream consumer (stats.h nats_*): counters, then gauges. */
static const struct feed_u64_metric nats_source_values[] = {
	{ "crdbfeedd_feed_nats_delivered_total", METRIC_COUNTER, offsetof(struct feed_stats, nats_delivered),
	  "source = nats: messages taken from the durable consumer." },
	{ "crdbfeedd_feed_nats_redelivered_total", METRIC_COUNTER, offsetof(struct feed_stats, nats_redelivered),
	  "source = nats: messages JetStream delivered more than once (not acknowledged in time, or after a restart)." },
	{ "crdbfeedd_feed_nats_acked_total", METRIC_COUNTER, offsetof(struct feed_stats, nats_acked),
	  "source = nats: messages acknowledged once held on disk." },
	{ "crdbfeedd_feed_nats_duplicates_total", METRIC_COUNTER, offsetof(struct feed_stats, nats_duplicates),
	  "source = nats: rows the hold or the journal had already (redelivered, or published twice): dropped." },
	{ "crdbfeedd_feed_nats_resolved_ignored_total", METRIC_COUNTER, offsetof(struct feed_stats, nats_ignored_resolved),
	  "source = nats: resolved messages not above the highest seen (another publisher's, or redelivered): ignored." },
	{ "crdbfeedd_feed_nats_malformed_total", METRIC_COUNTER, offsetof(struct feed_stats, nats_malformed),
	  "source = nats: messages that are neither a row nor a resolved line: logged, acknowledged, skipped." },
	{ "crdbfeedd_feed_nats_reconnects_total", METRIC_COUNTER, offsetof(struct feed_stats, nats_reconnects),
	  "source = nats: times the consumer's connection was made again." },
	{ "crdbfeedd_feed_nats_lag_messages", METRIC_GAUGE, offsetof(struct feed_stats, nats_lag),
	  "source = nats: messages in the stream after the newest taken." },
	{ "crdbfeedd_feed_nats_stream_seq", METRIC_GAUGE, offsetof(struct feed_stats, nats_last_stream_seq),
	  "source = nats: the stream sequence of the newest message taken." },
};

static void render_nats_source(struct textbuf *buf, const struct daemon_view *view)
{
	render_feed_values(buf, view, nats_source_values,
			   sizeof(nats_source_values) / sizeof(nats_source_values[0]),
			   offsetof(struct feed_stats, nats));
	metrics_family(buf, "crdbfeedd_feed_nats_connected", METRIC_GAUGE,
		       "source = nats: 1 while the consumer is connected and fetching, else 0.");
	for (size_t i = 0; i < view->nfeeds; i++) {
		const char *labels[] = { "feed", view->feeds[i].name, NULL };
		if (view->feeds[i].live && view->feeds[i].stats.nats)
			metrics_sample_u64(buf, "crdbfeedd_feed_nats_connected", labels,
					   view->feeds[i].stats.nats_connected);
	}
}

static void render_job(struct textbuf *buf, const struct daemon_view *view)
{
	render_feed_values(buf, view, job_values,
			   sizeof(job_values) / sizeof(job_values[0]),
			   offsetof(struct feed_stats, job));
	metrics_family(buf, "crdbfeedd_feed_job_running", METRIC_GAUGE,
		       "source = job: 1 while SHOW CHANGEFEED JOB says running, else 0.");
	for (size_t i = 0; i < view->nfeeds; i++) {
		const char *labels[] = { "feed", view->feeds[i].name, NULL };
		if (view->feeds[i].live && view->feeds[i].stats.job)
			metrics_sample_u64(buf, "crdbfeedd_feed_job_running", labels,
					   strcmp(view->feeds[i].stats.job_status, "running") == 0);
	}
	metrics_family(buf, "crdbfeedd_feed_job_high_water_seconds", METRIC_GAUGE,
		       "source = job: the job's high-water mark (seconds since the epoch); lag is time() minus it.");
	for (size_t i = 0; i < view->nfeeds; i++) {
		const char *labels[] = { "feed", view->feeds[i].name, NULL };
		const struct feed_stats *st = &view->feeds[i].stats;
		if (view->feeds[i].live && st->job && !crdb_hlc_is_zero(st->job_high_water))
			metrics_sample_double(buf, "crdbfeedd_feed_job_high_water_seconds", labels,
					      (double)st->job_high_water.wall / 1e9);
	}
}

static void render_ordered(struct textbuf *buf, const struct daemon_view *view)
{
	const struct feed_view *feeds = view->feeds;

	metrics_family(buf, "crdbfeedd_feed_ordered", METRIC_GAUGE,
		       "1 for a feed with ordered delivery (held until resolved, journaled), 0 for stream delivery.");
	for (size_t i = 0; i < view->nfeeds; i++) {
		const char *labels[] = { "feed", feeds[i].name, NULL };

		if (feeds[i].live)
			metrics_sample_u64(buf, "crdbfeedd_feed_ordered", labels,
					   feeds[i].stats.ordered);
	}
	for (size_t m = 0; m < sizeof(ordered_values) / sizeof(ordered_values[0]); m++) {
		metrics_family(buf, ordered_values[m].name, ordered_values[m].type,
			       ordered_values[m].help);
		for (size_t i = 0; i < view->nfeeds; i++) {
			const char *labels[] = { "feed", feeds[i].name, NULL };
			const char *field = (const char *)&feeds[i].stats + ordered_values[m].offset;
			uint64_t value;

			if (!feeds[i].live || !feeds[i].stats.ordered)
				continue;
			if (ordered_values[m].kind == FV_BOOL) {
				bool flag;

				memcpy(&flag, field, sizeof(flag));
				value = flag;
			} else {
				memcpy(&value, field, sizeof(value));
			}
			if (ordered_values[m].skip_zero && !value)
				continue;
			metrics_sample_u64(buf, ordered_values[m].name, labels, value);
		}
	}
	for (size_t m = 0; m < sizeof(ordered_times) / sizeof(ordered_times[0]); m++) {
		metrics_family(buf, ordered_times[m].name, METRIC_GAUGE, ordered_times[m].help);
		for (size_t i = 0; i < view->nfeeds; i++) {
			const char *labels[] = { "feed", feeds[i].name, NULL };
			crdb_hlc hlc;

			if (!feeds[i].live || !feeds[i].stats.ordered)
				continue;
			memcpy(&hlc, (const char *)&feeds[i].stats + ordered_times[m].offset,
			       sizeof(hlc));
			if (crdb_hlc_is_zero(hlc))
				continue;
			metrics_sample_double(buf, ordered_times[m].name, labels,
					      (double)hlc.wall / 1e9);
		}
	}
}

/* Seconds from an HLC's wall time (ns) or a ms time to now, never < 0. */
static double age_seconds(int64_t now_ms, int64_t then_ns)
{
	double age = (double)now_ms / 1e3 - (double)then_ns / 1e9;

	return age > 0 ? age : 0.0;
}

static void render_feeds(struct textbuf *buf, const struct daemon_view *view,
			 int64_t now_ms)
{
	const struct feed_view *feeds = view->feeds;
	size_t nfeeds = view->nfeeds;

	for (size_t m = 0; m < sizeof(feed_counters) / sizeof(feed_counters[0]); m++) {
		metrics_family(buf, feed_counters[m].name, METRIC_COUNTER,
			       feed_counters[m].help);
		for (size_t i = 0; i < nfeeds; i++) {
			const char *labels[] = { "feed", NULL, NULL };
			uint64_t value;

			if (!feeds[i].live)
				continue;
			labels[1] = feeds[i].name;
			memcpy(&value, (const char *)&feeds[i].stats + feed_counters[m].offset,
			       sizeof(value));
			metrics_sample_u64(buf, feed_counters[m].name, labels, value);
		}
	}

	metrics_family(buf, "crdbfeedd_feed_reconnects_total", METRIC_COUNTER,
		       "Connections the feed left behind and reconnected, by reason.");
	for (size_t i = 0; i < nfeeds; i++) {
		if (!feeds[i].live)
			continue;
		for (int r = 0; r < RECONNECT_NREASONS; r++) {
			const char *labels[] = {
				"feed", feeds[i].name,
				"reason", reconnect_reason_name((enum reconnect_reason)r),
				NULL
			};

			metrics_sample_u64(buf, "crdbfeedd_feed_reconnects_total",
					   labels, feeds[i].stats.reconnects[r]);
		}
	}

	metrics_family(buf, "crdbfeedd_feed_state", METRIC_GAUGE,
		       "1 for the feed's current state, 0 for the others.");
	for (size_t i = 0; i < nfeeds; i++) {
		const char *current;

		if (!feeds[i].live)
			continue;
		current = feeds[i].state;
		for (size_t s = 0; s < sizeof(public_states) / sizeof(public_states[0]); s++) {
			const char *labels[] = {
				"feed", feeds[i].name,
				"state", public_states[s], NULL
			};

			metrics_sample_u64(buf, "crdbfeedd_feed_state", labels,
					   strcmp(current, public_states[s]) == 0);
		}
	}

	metrics_family(buf, "crdbfeedd_feed_state_seconds", METRIC_GAUGE,
		       "Seconds the feed has been in its current state.");
	for (size_t i = 0; i < nfeeds; i++) {
		const char *labels[] = { "feed", NULL, NULL };

		if (!feeds[i].live || !feeds[i].stats.state_since)
			continue;
		labels[1] = feeds[i].name;
		metrics_sample_double(buf, "crdbfeedd_feed_state_seconds", labels,
				      age_seconds(now_ms, feeds[i].stats.state_since * 1000000));
	}

	metrics_family(buf, "crdbfeedd_feed_paused", METRIC_GAUGE,
		       "1 while an operator has the feed paused.");
	for (size_t i = 0; i < nfeeds; i++) {
		const char *labels[] = { "feed", NULL, NULL };

		if (!feeds[i].live)
			continue;
		labels[1] = feeds[i].name;
		metrics_sample_u64(buf, "crdbfeedd_feed_paused", labels,
				   feeds[i].stats.paused);
	}

	metrics_family(buf, "crdbfeedd_feed_resolved_timestamp_seconds", METRIC_GAUGE,
		       "Newest resolved timestamp received (its wall time, seconds since the epoch).");
	for (size_t i = 0; i < nfeeds; i++) {
		const char *labels[] = { "feed", NULL, NULL };

		if (!feeds[i].live || crdb_hlc_is_zero(feeds[i].stats.last_resolved))
			continue;
		labels[1] = feeds[i].name;
		metrics_sample_double(buf, "crdbfeedd_feed_resolved_timestamp_seconds",
				      labels, (double)feeds[i].stats.last_resolved.wall / 1e9);
	}

	metrics_family(buf, "crdbfeedd_feed_lag_seconds", METRIC_GAUGE,
		       "Now minus the newest resolved timestamp: how far behind the feed is.");
	for (size_t i = 0; i < nfeeds; i++) {
		const char *labels[] = { "feed", NULL, NULL };

		if (!feeds[i].live || crdb_hlc_is_zero(feeds[i].stats.last_resolved))
			continue;
		labels[1] = feeds[i].name;
		metrics_sample_double(buf, "crdbfeedd_feed_lag_seconds", labels,
				      age_seconds(now_ms, feeds[i].stats.last_resolved.wall));
	}

	metrics_family(buf, "crdbfeedd_feed_checkpoint_timestamp_seconds", METRIC_GAUGE,
		       "The resume cursor (checkpoint) as seconds since the epoch.");
	for (size_t i = 0; i < nfeeds; i++) {
		const char *labels[] = { "feed", NULL, NULL };

		if (!feeds[i].live || crdb_hlc_is_zero(feeds[i].stats.checkpoint))
			continue;
		labels[1] = feeds[i].name;
		metrics_sample_double(buf, "crdbfeedd_feed_checkpoint_timestamp_seconds",
				      labels, (double)feeds[i].stats.checkpoint.wall / 1e9);
	}

	metrics_family(buf, "crdbfeedd_feed_checkpoint_age_seconds", METRIC_GAUGE,
		       "Now minus the checkpoint: what a restart would replay.");
	for (size_t i = 0; i < nfeeds; i++) {
		const char *labels[] = { "feed", NULL, NULL };

		if (!feeds[i].live || crdb_hlc_is_zero(feeds[i].stats.checkpoint))
			continue;
		labels[1] = feeds[i].name;
		metrics_sample_double(buf, "crdbfeedd_feed_checkpoint_age_seconds",
				      labels, age_seconds(now_ms, feeds[i].stats.checkpoint.wall));
	}

	metrics_family(buf, "crdbfeedd_feed_last_row_timestamp_seconds", METRIC_GAUGE,
		       "When the last data row arrived (seconds since the epoch).");
	for (size_t i = 0; i < nfeeds; i++) {
		const char *labels[] = { "feed", NULL, NULL };

		if (!feeds[i].live || !feeds[i].stats.last_row_at)
			continue;
		labels[1] = feeds[i].name;
		metrics_sample_double(buf, "crdbfeedd_feed_last_row_timestamp_seconds",
				      labels, (double)feeds[i].stats.last_row_at / 1e3);
	}
}

/* ---- sinks ------------------------------------------------------------- */

enum sink_value_kind { SV_U64, SV_SIZE };

struct sink_metric {
	const char *name;
	enum metric_type type;
	enum sink_value_kind kind;
	size_t offset;
	const char *help;
};

static const struct sink_metric sink_values[] = {
	{ "crdbfeedd_sink_subscribers", METRIC_GAUGE, SV_SIZE,
	  offsetof(struct sink_stats, subscribers), "Subscribers connected now." },
	{ "crdbfeedd_sink_accepted_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, accepted), "Subscribers accepted." },
	{ "crdbfeedd_sink_refused_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, refused),
	  "Connections refused by the sink's allow-list." },
	{ "crdbfeedd_sink_accept_errors_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, accept_errors),
	  "accept(2) failures (out of descriptors, ...)." },
	{ "crdbfeedd_sink_lines_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, lines_out), "Lines written to subscribers." },
	{ "crdbfeedd_sink_sent_bytes_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, bytes_out), "Bytes written to subscribers." },
	{ "crdbfeedd_sink_dropped_lines_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, dropped),
	  "Lines skipped for slow subscribers (drop policy)." },
	{ "crdbfeedd_sink_blocked_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, blocked),
	  "Times a slow subscriber paused its feed (block policy)." },
	{ "crdbfeedd_sink_buffer_bytes", METRIC_GAUGE, SV_SIZE,
	  offsetof(struct sink_stats, buffer_bytes),
	  "The per-subscriber queue bound (the sink's buffer setting)." },
	{ "crdbfeedd_sink_queued_bytes", METRIC_GAUGE, SV_SIZE,
	  offsetof(struct sink_stats, queued_bytes),
	  "Bytes queued now, over all subscribers." },
	{ "crdbfeedd_sink_max_queued_bytes", METRIC_GAUGE, SV_SIZE,
	  offsetof(struct sink_stats, max_queued_bytes),
	  "Bytes queued now for the fullest subscriber." },
};

/* Journaled sinks only (their feed is ordered): replay from the journal. */
static const struct sink_metric journaled_values[] = {
	{ "crdbfeedd_sink_replaying", METRIC_GAUGE, SV_SIZE,
	  offsetof(struct sink_stats, replaying),
	  "Subscribers reading from the journal now (replaying, or moved there when they fell behind)." },
	{ "crdbfeedd_sink_max_seq_lag", METRIC_GAUGE, SV_U64,
	  offsetof(struct sink_stats, max_seq_lag),
	  "The furthest subscriber's lag now, in sequence numbers behind the last released." },
	{ "crdbfeedd_sink_replayed_lines_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, replayed_lines),
	  "Lines sent to subscribers from the journal." },
};

/* pg sinks only: the PostgreSQL LISTEN endpoint. */
static const struct sink_metric pg_values[] = {
	{ "crdbfeedd_sink_pg_listeners", METRIC_GAUGE, SV_SIZE,
	  offsetof(struct sink_stats, pg_listeners),
	  "PostgreSQL-protocol sessions connected now." },
	{ "crdbfeedd_sink_pg_channels", METRIC_GAUGE, SV_SIZE,
	  offsetof(struct sink_stats, pg_channels),
	  "Channels listened on now, summed over the sessions." },
	{ "crdbfeedd_sink_pg_notifications_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, pg_notifications),
	  "NotificationResponse messages queued to sessions." },
	{ "crdbfeedd_sink_pg_refused_full_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, pg_refused_full),
	  "Connections refused over pg_max_listeners." },
	{ "crdbfeedd_sink_pg_refused_peer_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, pg_refused_peer),
	  "Unix socket connections refused by allow_users/allow_groups." },
	{ "crdbfeedd_sink_pg_auth_failed_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, pg_auth_failed),
	  "TCP connections refused by SCRAM-SHA-256 (wrong password, unknown user)." },
	{ "crdbfeedd_sink_pg_dropped_slow_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, pg_dropped_slow),
	  "Sessions closed (after a NOTICE) with more than the buffer unsent." },
	{ "crdbfeedd_sink_pg_too_large_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, pg_too_large),
	  "table_channels: rows not sent, their line 8000 bytes or more." },
	{ "crdbfeedd_sink_pg_not_sent_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, pg_not_sent),
	  "Other rows not sent: not a notification, or a channel name too long." },
};

/* nats sinks only: the JetStream publisher. */
static const struct sink_metric nats_values[] = {
	{ "crdbfeedd_sink_nats_published_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, nats_published),
	  "Messages handed to the NATS client (republished ones again)." },
	{ "crdbfeedd_sink_nats_acked_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, nats_acked),
	  "Messages JetStream acknowledged (stored, or duplicates)." },
	{ "crdbfeedd_sink_nats_pending", METRIC_GAUGE, SV_SIZE,
	  offsetof(struct sink_stats, nats_pending),
	  "Messages published and not yet acknowledged now." },
	{ "crdbfeedd_sink_nats_duplicates_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, nats_duplicates),
	  "Acknowledgements flagged duplicate: the stream had the message id already." },
	{ "crdbfeedd_sink_nats_too_large_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, nats_too_large),
	  "Messages over the server's max_payload, passed over (never stored)." },
	{ "crdbfeedd_sink_nats_errors_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, nats_errors),
	  "Messages not acknowledged (published again from the acknowledged position) or not publishable." },
	{ "crdbfeedd_sink_nats_backoffs_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, nats_backoffs),
	  "Waits (100 ms doubling to 5 s) before publishing again after an acknowledgement error." },
	{ "crdbfeedd_sink_nats_skipped_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, nats_skipped),
	  "Journal lines passed over as in the stream already (its high-water mark)." },
	{ "crdbfeedd_sink_nats_gaps_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, nats_gaps),
	  "Times rows were gone from the journal before they were published." },
	{ "crdbfeedd_sink_nats_acked_seq", METRIC_GAUGE, SV_U64,
	  offsetof(struct sink_stats, nats_acked_seq),
	  "The feed's seq up to which every row was acknowledged." },
	{ "crdbfeedd_sink_nats_stream_seq", METRIC_GAUGE, SV_U64,
	  offsetof(struct sink_stats, nats_stream_seq),
	  "The newest stream sequence acknowledged." },
	{ "crdbfeedd_sink_nats_connected", METRIC_GAUGE, SV_U64,
	  offsetof(struct sink_stats, nats_connected),
	  "1 while connected and publishing, else 0." },
	{ "crdbfeedd_sink_nats_reconnects_total", METRIC_COUNTER, SV_U64,
	  offsetof(struct sink_stats, nats_reconnects),
	  "Connections made ready again after the first." },
};

static uint64_t sink_value(const struct sink_view *sink, enum sink_value_kind kind,
			   size_t offset)
{
	const char *field = (const char *)&sink->stats + offset;
	uint64_t value;

	if (kind == SV_SIZE) {
		size_t size;

		memcpy(&size, field, sizeof(size));
		return size;
	}
	memcpy(&value, field, sizeof(value));
	return value;
}

static bool sink_journaled_stats(const struct sink_stats *stats)
{
	return stats->journaled;
}

static bool sink_pg_stats_of(const struct sink_stats *stats)
{
	return stats->pg;
}

static bool sink_nats_stats_of(const struct sink_stats *stats)
{
	return stats->nats;
}

/* One family per row of values, a sample per live sink that applies
 * (applies NULL: every sink). */
static void render_sink_values(struct textbuf *buf, const struct daemon_view *view,
			       const struct sink_metric *values, size_t count,
			       bool (*applies)(const struct sink_stats *stats))
{
	const struct sink_view *sinks = view->sinks;

	for (size_t m = 0; m < count; m++) {
		metrics_family(buf, values[m].name, values[m].type, values[m].help);
		for (size_t i = 0; i < view->nsinks; i++) {
			const char *labels[] = { "sink", NULL, "feed", NULL, NULL };

			if (!sinks[i].live || (applies && !applies(&sinks[i].stats)))
				continue;
			labels[1] = sinks[i].name;
			labels[3] = sinks[i].cfg->feed;
			metrics_sample_u64(buf, values[m].name, labels,
					   sink_value(&sinks[i], values[m].kind,
						      values[m].offset));
		}
	}
}

static void render_sinks(struct textbuf *buf, const struct daemon_view *view)
{
	const struct sink_view *sinks = view->sinks;
	size_t n = view->nsinks;

	metrics_family(buf, "crdbfeedd_sink_info", METRIC_GAUGE,
		       "Always 1; the sink's feed, type and slow-subscriber policy are labels.");
	for (size_t i = 0; i < n; i++) {
		const struct sink_config *cfg = sinks[i].cfg;

		if (!sinks[i].live)
			continue;
		const char *labels[] = {
			"sink", sinks[i].name, "feed", cfg->feed,
			"type", sink_type_name(cfg->type),
			"policy", slow_policy_name(cfg->policy), NULL
		};

		metrics_sample_u64(buf, "crdbfeedd_sink_info", labels, 1);
	}

	render_sink_values(buf, view, sink_values,
			   sizeof(sink_values) / sizeof(sink_values[0]), NULL);

	render_sink_values(buf, view, journaled_values,
			   sizeof(journaled_values) / sizeof(journaled_values[0]), sink_journaled_stats);

	render_sink_values(buf, view, pg_values,
			   sizeof(pg_values) / sizeof(pg_values[0]), sink_pg_stats_of);

	render_sink_values(buf, view, nats_values,
			   sizeof(nats_values) / sizeof(nats_values[0]), sink_nats_stats_of);

	metrics_family(buf, "crdbfeedd_sink_disconnects_total", METRIC_COUNTER,
		       "Subscribers closed by the daemon or gone, by reason: slow (the disconnect policy) or other (error, end of file, bad request).");
	for (size_t i = 0; i < n; i++) {
		const char *feed;

		if (!sinks[i].live)
			continue;
		feed = sinks[i].cfg->feed;
		const char *slow[] = { "sink", sinks[i].name, "feed", feed,
				       "reason", "slow", NULL };
		const char *other[] = { "sink", sinks[i].name, "feed", feed,
					"reason", "other", NULL };

		metrics_sample_u64(buf, "crdbfeedd_sink_disconnects_total", slow,
				   sinks[i].stats.disconnected_slow);
		metrics_sample_u64(buf, "crdbfeedd_sink_disconnects_total", other,
				   sinks[i].stats.disconnected_other);
	}
}

int metrics_render(struct textbuf *buf, const struct daemon_view *view,
		   int64_t now_ms, const struct process_figures *proc)
{
	struct process_figures own;

	if (!proc) {
		metrics_process_figures(&own);
		proc = &own;
	}
	render_process(buf, view, now_ms, proc);
	render_feeds(buf, view, now_ms);
	render_ordered(buf, view);
	render_notify(buf, view);
	render_job(buf, view);
	render_nats_source(buf, view);
	render_sinks(buf, view);
	return buf->failed ? -1 : 0;
}
