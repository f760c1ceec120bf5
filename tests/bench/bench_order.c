/*
 * bench_order.c: rows/s through ordered delivery's hold (daemon/order.c):
 * add then release of 1M rows, in memory and with a budget that forces
 * most of them to disk, as a changefeed gives them: updated rising in
 * groups of 10 over 8 tables, keys in no order within a group, released
 * every 10,000 rows. Also the initial scan's shape: all rows one updated,
 * released in chunks. Prints one line per case: wall-clock figures and
 * the same by the process's CPU time (steadier on a shared machine; it
 * leaves out waiting for the disk).
 *
 *   bench_order [ROWS] [SPILL_DIR] [CASE]   (CASE: 1-5, one case only)
 */
#include <config.h> /* autoconf's */

#include "daemon/order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static int seen(void *arg, const char *table, size_t tlen, const char *key,
		size_t klen, crdb_hlc u)
{
	return 0;
}

static int count(void *arg, const struct order_row *row, bool group_end)
{
	(*(long *)arg)++;
	return 0;
}

static int run(const char *name, const char *dir, size_t budget,
	       bool durable, long rows, bool one_group)
{
	char err[256];
	struct order_limits lim = { budget, dir, durable };
	struct order *o = order_new(&lim, seen, NULL, err, sizeof(err));
	if (!o) {
		fprintf(stderr, "bench_order: %s\n", err);
		return -1;
	}
	static const char *tables[] = { "accounts", "orders", "items",
					"users", "events", "audit", "stock",
					"payments" };
	char line[160];
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	/* The keys, built before the clock starts. */
	char (*keys)[24] = malloc((size_t)rows * sizeof(*keys));
	if (!keys)
		return -1;
	for (long i = 0; i < rows; i++) {
		/* Within a group of 10, keys come in a scrambled order. */
		long k = one_group ? (i * 7919) % rows
			 : i / 10 * 10 + (i * 7) % 10;
		snprintf(keys[i], sizeof(keys[i]), "[%ld]", k);
	}
	long out = 0, spilled = 0;
	double add_s = 0, rel_s = 0, t0 = now();
	double add_cpu = 0, rel_cpu = 0, c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < rows; i++) {
		long g = one_group ? 0 : i / 10;
		crdb_hlc u = { 1700000000000000000 + g * 1000, 0 };
		const char *t = tables[(i * 5) % 8];
		struct order_row r = { u, CRDB_OP_UPSERT, t, strlen(t), keys[i],
				       strlen(keys[i]), line, sizeof(line) };
		if (order_add(o, &r, err, sizeof(err)) != ORDER_HELD) {
			fprintf(stderr, "bench_order: add: %s\n", err);
			return -1;
		}
		if (durable && i % 1000 == 999 &&
		    order_sync(o, err, sizeof(err))) {
			fprintf(stderr, "bench_order: sync: %s\n", err);
			return -1;
		}
		bool last = i == rows - 1;
		if ((!one_group && i % 10000 == 9999) || last) {
			struct order_stats st;
			order_get_stats(o, &st);
			if ((long)st.spilled_rows > spilled)
				spilled = (long)st.spilled_rows;
			double t1 = now();
			double c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
			add_s += t1 - t0;
			add_cpu += c1 - c0;
			crdb_hlc res = { 1700000000000000000 + g * 1000 -
					 (last ? 0 : 1000), 0 };
			bool more;
			do {
				if (order_release(o, res, one_group ? 10000 : 0,
						  count, &out, &more, err,
						  sizeof(err)) < 0) {
					fprintf(stderr, "bench_order: "
						"release: %s\n", err);
					return -1;
				}
			} while (more);
			t0 = now();
			c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
			rel_s += t0 - t1;
			rel_cpu += c0 - c1;
		}
	}
	order_free(o);
	free(keys);
	if (out != rows) {
		fprintf(stderr, "bench_order: %ld rows out of %ld\n", out, rows);
		return -1;
	}
	printf("%-25s %7ld rows, spilled %7ld: ns/row add %5.0f (cpu %5.0f) "
	       "release %5.0f (cpu %5.0f); rows/s %8.0f (cpu %8.0f)\n",
	       name, rows, spilled, add_s * 1e9 / (double)rows,
	       add_cpu * 1e9 / (double)rows, rel_s * 1e9 / (double)rows,
	       rel_cpu * 1e9 / (double)rows, (double)rows / (add_s + rel_s),
	       (double)rows / (add_cpu + rel_cpu));
	return 0;
}

int main(int argc, char **argv)
{
	long rows = argc > 1 ? atol(argv[1]) : 1000000;
	const char *dir = argc > 2 ? argv[2] : "/tmp/bench_order.spill";
	int only = argc > 3 ? atoi(argv[3]) : 0;
	if (rows < 1)
		return 2;
	if (((!only || only == 1) &&
	     run("memory", dir, (size_t)1 << 30, false, rows, false)) ||
	    ((!only || only == 2) &&
	     run("spill (budget 4 MiB)", dir, (size_t)4 << 20, false, rows,
		 false)) ||
	    ((!only || only == 3) &&
	     run("one group, memory", dir, (size_t)1 << 30, false, rows,
		 true)) ||
	    ((!only || only == 4) &&
	     run("one group, spill", dir, (size_t)4 << 20, false, rows,
		 true)) ||
	    ((!only || only == 5) &&
	     run("durable (sync/1000 rows)", dir, 0, true, rows / 10, false)))
		return 1;
	return 0;
}
