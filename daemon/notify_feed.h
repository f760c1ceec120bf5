/*
 * notify_feed.h: what a notify feed (crdbfeedd.conf(5), kind = notify)
 * lets through of the rows its ordered delivery releases, before they get
 * their seq: a deletion of the table's rows is skipped, a row that is not
 * a notification is dropped (logged with the feed, table and key), and a
 * notification identical to an earlier one of its transaction is folded.
 * So the journal holds only notifications and their seqs are contiguous.
 */
#ifndef CRDBFEEDD_NOTIFY_FEED_H
#define CRDBFEEDD_NOTIFY_FEED_H

#include <stdbool.h>

#include "stats.h"

struct order_row;
struct notify_feed;

/* NULL on ENOMEM. who: the feed's log prefix. */
struct notify_feed *notify_feed_new(const char *who);
void notify_feed_free(struct notify_feed *nf);

/* true: the released row goes on (gets a seq); false: skipped, dropped or
 * folded, and counted. */
bool notify_feed_admit(struct notify_feed *nf, const struct order_row *row);

/* Its counters into the feed's stats (notify_* members). */
void notify_feed_get_stats(const struct notify_feed *nf,
			   struct feed_stats *out);

#endif /* CRDBFEEDD_NOTIFY_FEED_H */
