/*
 * metrics.h: the Prometheus text exposition (format 0.0.4) of crdbfeedd:
 * a bounded text buffer, the format's primitives (families, samples,
 * label escaping) and the rendering of a daemon view. Every metric is
 * documented in crdbfeedctl(1), "METRICS".
 */
#ifndef CRDBFEEDD_METRICS_H
#define CRDBFEEDD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "textbuf.h"

struct daemon_view;

/* The content type the text format is served with. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Metric types, as the # TYPE line spells them. */
enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

/* "# HELP name help" (help escaped: backslash, newline) and "# TYPE". */
void metrics_family(struct textbuf *buf, const char *name,
		    enum metric_type type, const char *help);

/*
 * One sample line: name{labels} value. labels is a NULL-terminated list of
 * name, value pairs (values escaped: backslash, double quote, newline);
 * NULL or an empty list writes no braces.
 */
void metrics_sample_u64(struct textbuf *buf, const char *name,
			const char *const *labels, uint64_t value);
void metrics_sample_double(struct textbuf *buf, const char *name,
			   const char *const *labels, double value);

/* Append value as a label value: \ -> \\, " -> \", newline -> \n. */
void metrics_escape_label(struct textbuf *buf, const char *value);

/*
 * Process figures from /proc/self (Linux): resident memory in bytes, open
 * descriptors and the descriptor limit; and the calling (event loop)
 * thread's output lines and their slabs. -1 where unknown.
 */
struct process_figures {
	int64_t resident_bytes;
	int64_t virtual_bytes;
	int64_t open_fds;
	int64_t max_fds;
	double cpu_seconds;
	int64_t line_slabs;    /* the loop thread's line slabs (line_arena.h) */
	int64_t lines_live;    /* output lines alive now, in slabs or not */
};
void metrics_process_figures(struct process_figures *out);

/*
 * The whole exposition for view at now_ms (CLOCK_REALTIME ms): process,
 * feeds, sinks. proc may be NULL (then read from /proc/self). Returns 0,
 * or -1 when the buffer failed (too big or out of memory).
 */
int metrics_render(struct textbuf *buf, const struct daemon_view *view,
		   int64_t now_ms, const struct process_figures *proc);

#endif /* CRDBFEEDD_METRICS_H */
