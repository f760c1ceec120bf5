/*
 * checkpoint.h: each feed's durable cursor, one small file per feed in the
 * state directory.
 */
#ifndef CRDBFEEDD_CHECKPOINT_H
#define CRDBFEEDD_CHECKPOINT_H

#include <stddef.h>

#include "crdb.h"

/*
 * Read STATE_DIR/FEED.checkpoint. Returns 1 and sets *out when there is one,
 * 0 when there is none (no file), -1 when it exists but cannot be read or
 * parsed (errbuf says why: the daemon must not silently start over).
 */
int checkpoint_read(const char *state_dir, const char *feed, crdb_hlc *out,
		    char *errbuf, size_t errlen);

/*
 * Store hlc if it is newer than what the file holds: write a temporary
 * file, fsync it, rename it over the old one, fsync the directory. Returns
 * 0 (also when nothing had to be written) or -1 with errbuf set.
 */
int checkpoint_write(const char *state_dir, const char *feed, crdb_hlc hlc,
		     char *errbuf, size_t errlen);

#endif /* CRDBFEEDD_CHECKPOINT_H */
