/*
 * sim_feed_parse.c: simfeed_parse, the engine's door to the statement parser
 * (parse.c). Kept apart so the engine tests can link the engine without
 * the parser and build their statements by hand.
 */
#include "config.h"

#include "feedint.h"

int simfeed_parse(struct simfeed_engine *engine, const char *sql,
		  const char *const *params, int nparams,
		  struct simfeed_stmt **out, struct simfeed_error *err)
{
	(void)engine;
	return sim_parse_changefeed(sql, params, nparams, sim_now_ns(), out,
				    err);
}
