/*
 * check_sim_feed.h: what the files of check_sim_feed share: the sink that
 * collects a feed's rows, the engine fixture and helpers of
 * check_sim_feed.c, and the cases each other file adds to the suite.
 */
#ifndef CRDBSIM_CHECK_SIM_FEED_H
#define CRDBSIM_CHECK_SIM_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "feedint.h"

#define TEST_DB "simfeed_test"
#define MAXROWS 40000

struct row {
	char *table, *key, *value;
};

struct sink {
	bool started, failed, completed, blocked;
	struct simfeed_error err;
	uint64_t complete_rows;
	struct row rows[MAXROWS];
	size_t n;
	int64_t arrived_ns[MAXROWS];
	size_t max_accept;   /* flow control: accept at most this many */
	bool skip_resolved;  /* count resolved rows, keep only data rows */
	size_t resolved_seen;
};

extern struct simfeed_engine *engine;
extern char *test_dsn;
bool can_send(void *arg);
void sink_clear(struct sink *s);
bool run_until(bool (*pred)(void *), void *arg, int timeout_ms);
void run_for(int ms);
extern size_t want_rows;
bool has_rows(void *arg);
bool has_ended(void *arg);
bool has_started(void *arg);
void sql(const char *q);
struct simfeed_stmt *stmt_for(const char *table);
struct sim_hlc hlc_of(const char *value, const char *field);
extern struct sink sink1, sink2;
struct simfeed *start_live(struct simfeed_stmt *s, struct sink *k);
struct simfeed *start(struct simfeed_stmt *s, struct sink *k);
void *t_writer(void *arg);
void control(const char *cmd, char *reply, size_t len);

/* check_sim_feed_more.c: its engine cases, added to the engine TCase. */
void sim_feed_add_more_tests(TCase *tc);
/* check_sim_feed_wire.c: the "wire" TCase. */
void sim_feed_add_wire_tests(Suite *s);

#endif /* CRDBSIM_CHECK_SIM_FEED_H */
