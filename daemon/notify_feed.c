/*
 * notify_feed.c: the release filter of a notify feed (notify_feed.h):
 * deletions skipped, non-notifications dropped and logged, identical
 * notifications of one transaction folded (channel.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "notify_feed.h"

#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "log.h"
#include "order.h"

/* How much of a key a log line shows. */
#define KEY_SHOWN 200

struct notify_feed {
	char *who;
	struct channel_fold *fold;
	uint64_t deletes, invalid, folded, unfolded;
};

struct notify_feed *notify_feed_new(const char *who)
{
	struct notify_feed *nf = calloc(1, sizeof(*nf));

	if (!nf)
		return NULL;
	nf->who = strdup(who);
	nf->fold = channel_fold_new(0);
	if (!nf->who || !nf->fold) {
		notify_feed_free(nf);
		return NULL;
	}
	return nf;
}

void notify_feed_free(struct notify_feed *nf)
{
	if (!nf)
		return;
	channel_fold_free(nf->fold);
	free(nf->who);
	free(nf);
}

bool notify_feed_admit(struct notify_feed *nf, const struct order_row *row)
{
	struct channel_note note;
	char errbuf[256];
	int rc = channel_note_from_row(row->line, row->line_len, &note, errbuf,
				       sizeof(errbuf));
	bool keep;

	if (rc == 1) {
		nf->deletes++;
		return false;
	}
	if (rc < 0) {
		nf->invalid++;
		log_warning(nf->who, "table %.*s, key %.*s%s: not a notification, dropped: %s",
			    (int)row->table_len, row->table,
			    (int)(row->key_len < KEY_SHOWN ? row->key_len : KEY_SHOWN),
			    row->key, row->key_len > KEY_SHOWN ? "..." : "",
			    errbuf);
		return false;
	}
	keep = channel_fold_keep(nf->fold, row->updated, &note, &nf->unfolded);
	channel_note_clear(&note);
	if (!keep)
		nf->folded++;
	return keep;
}

void notify_feed_get_stats(const struct notify_feed *nf, struct feed_stats *out)
{
	out->notify = true;
	out->notify_deletes = nf->deletes;
	out->notify_invalid = nf->invalid;
	out->notify_folded = nf->folded;
	out->notify_unfolded = nf->unfolded;
}
