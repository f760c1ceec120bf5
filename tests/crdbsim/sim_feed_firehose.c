/*
 * sim_feed_firehose.c: the benchmark firehose, synthetic rows as fast as
 * the client reads them, with no PostgreSQL behind them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_feed.h"

/* ---- firehose ---- */

/*
 * The benchmark firehose: a statement the parser marks stmt->firehose
 * (see render.c/parse.c for its syntax) gets firehose_events rows (0:
 * endless) of about firehose_size bytes of wrapped JSON with `updated`,
 * encoded once, table "firehose", key [n], and a resolved row every
 * firehose_resolved_every rows; it needs no PostgreSQL at all.
 */
int firehose_init(struct simfeed *f)
{
	struct simfeed_stmt *s = f->stmt;
	char hlc[48];
	size_t size = s->firehose_size ? s->firehose_size : 100;
	struct sim_hlc now = { sim_now_ns(), 0 };

	sim_hlc_format(now, hlc, sizeof hlc);
	/* {"after": {"id": 1, "payload": "xxx"}, "updated": "<hlc>"} */
	size_t fixed = strlen("{\"after\": {\"id\": 1, \"payload\": \"\"}, "
			      "\"updated\": \"\"}") + strlen(hlc);
	size_t pad = size > fixed ? size - fixed : 0;
	f->fh_value = malloc(fixed + pad + 1);
	if (!f->fh_value)
		return -1;
	int n = snprintf(f->fh_value, fixed + pad + 1,
			 "{\"after\": {\"id\": 1, \"payload\": \"%*s\"}, "
			 "\"updated\": \"%s\"}", (int)pad, "", hlc);
	for (char *p = f->fh_value + strlen("{\"after\": {\"id\": 1, \"payload\": \"");
	     *p == ' '; p++)
		*p = 'x';
	f->fh_value_len = (size_t)n;
	f->fh_table = s->ntargets && s->targets[0].display ?
		      s->targets[0].display : "firehose";
	f->state = FEED_FIREHOSE;
	return 0;
}

void firehose_pump(struct simfeed *f)
{
	struct simfeed_stmt *s = f->stmt;
	int burst = 0;

	feed_started(f);
	while (!f->stopped && f->state == FEED_FIREHOSE) {
		if (s->firehose_events && f->fh_sent >= s->firehose_events) {
			feed_complete(f);
			return;
		}
		if (f->out.can_send && !f->out.can_send(f->out.arg))
			return;
		if (++burst > PUMP_BURST) {
			feed_kick(f);
			return;
		}
		f->fh_sent++;
		f->nrows++;
		char key[32];
		int kl = snprintf(key, sizeof key, "[%" PRIu64 "]", f->fh_sent);
		f->out.row(f->out.arg, f->fh_table, strlen(f->fh_table), key,
			   (size_t)kl,
			   f->fh_value, f->fh_value_len);
		if (s->firehose_resolved_every &&
		    f->fh_sent % s->firehose_resolved_every == 0 &&
		    !f->stopped) {
			char buf[96];
			struct sim_hlc now = { sim_now_ns(), 0 };
			size_t n = sim_render_resolved(SIM_ENV_WRAPPED, now,
						       buf, sizeof buf);
			f->nrows++;
			f->out.row(f->out.arg, NULL, 0, NULL, 0, buf, n);
		}
	}
}
