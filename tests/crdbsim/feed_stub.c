/*
 * feed_stub.c: a placeholder changefeed engine that recognises no statement,
 * so the wire front end can be built and tested before the engine exists.
 * Replaced by the real engine (feed.mk lists what is built).
 */
#include "config.h"

#include <stdlib.h>

#include "simfeed.h"

struct simfeed_engine { bool rangefeed; };

struct simfeed_engine *simfeed_engine_new(struct event_base *base,
					  const struct simfeed_settings *s,
					  char *errbuf, size_t errlen)
{
	(void)base; (void)errbuf; (void)errlen;
	struct simfeed_engine *e = calloc(1, sizeof *e);
	if (e)
		e->rangefeed = s->rangefeed_enabled;
	return e;
}
void simfeed_engine_free(struct simfeed_engine *engine) { free(engine); }
void simfeed_engine_set_rangefeed(struct simfeed_engine *e, bool on) { e->rangefeed = on; }
bool simfeed_engine_rangefeed(const struct simfeed_engine *e) { return e->rangefeed; }
int simfeed_parse(struct simfeed_engine *engine, const char *sql,
		  const char *const *params, int nparams,
		  struct simfeed_stmt **out, struct simfeed_error *err)
{
	(void)engine; (void)sql; (void)params; (void)nparams; (void)out; (void)err;
	return 0;
}
void simfeed_stmt_free(struct simfeed_stmt *stmt) { (void)stmt; }
struct simfeed *simfeed_start(struct simfeed_engine *engine,
			      struct simfeed_stmt *stmt,
			      const struct simfeed_out *out)
{
	(void)engine; (void)stmt; (void)out;
	return NULL;
}
void simfeed_resume(struct simfeed *feed) { (void)feed; }
void simfeed_stop(struct simfeed *feed) { (void)feed; }
int simfeed_fail_all(struct simfeed_engine *e, const char *s, const char *m) { (void)e; (void)s; (void)m; return 0; }
int simfeed_duplicate(struct simfeed_engine *e, int n) { (void)e; (void)n; return 0; }
int simfeed_stall(struct simfeed_engine *e, int64_t ms) { (void)e; (void)ms; return 0; }
int simfeed_gc(struct simfeed_engine *e, int64_t age_ms) { (void)e; (void)age_ms; return 0; }
