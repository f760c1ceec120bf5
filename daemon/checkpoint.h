/*
 * checkpoint.h: each feed's durable cursor, one small file per feed in the
 * state directory.
 *
 * Guarantees (what the fault tests rely on):
 * - The file STATE_DIR/FEED.checkpoint is only ever replaced by rename(2)
 *   of a complete, fsync()ed temporary file FEED.checkpoint.tmp, and the
 *   directory is fsync()ed after the rename. A crash (or SIGKILL, or power
 *   loss on a file system that honours fsync) at any point leaves either
 *   the old file or the new one, never a torn or empty one.
 * - A failed write (ENOSPC, EIO, EROFS, EDQUOT, ...) changes nothing the
 *   reader sees: the old file stays as it was and the temporary file is
 *   removed. The caller keeps streaming and tries again at the next
 *   resolved timestamp (feed.c logs once per outage and once when writes
 *   work again, and counts every failure).
 * - A temporary file left by a crash is never read; checkpoint_remove_stale
 *   deletes it when the feed starts, and the next write would truncate it
 *   anyway.
 * - The cursor only moves forward: a write of an older HLC than the file
 *   holds is a successful no-op.
 */
#ifndef CRDBFEEDD_CHECKPOINT_H
#define CRDBFEEDD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "crdb.h"

/*
 * Read STATE_DIR/FEED.checkpoint. Returns 1 and sets *out when there is one,
 * 0 when there is none (no file), -1 when it exists but cannot be read or
 * parsed (errbuf says why: the daemon must not silently start over).
 */
int checkpoint_read(const char *state_dir, const char *feed, crdb_hlc *out,
		    char *errbuf, size_t errlen);

/* The same, also giving the file's modification time (CLOCK_REALTIME ms)
 * in *mtime_ms when it returns 1. */
int checkpoint_read_at(const char *state_dir, const char *feed, crdb_hlc *out,
		       int64_t *mtime_ms, char *errbuf, size_t errlen);

/*
 * Store hlc if it is newer than what the file holds: write a temporary
 * file, fsync it, rename it over the old one, fsync the directory. Returns
 * 0 (also when nothing had to be written) or -1 with errbuf set (the old
 * file is then untouched, except when only the directory fsync failed:
 * errbuf says so, and the new file is in place but may not be durable).
 */
int checkpoint_write(const char *state_dir, const char *feed, crdb_hlc hlc,
		     char *errbuf, size_t errlen);

/* Remove a temporary file a crash left behind. 0, or -1 with errbuf set
 * (harmless: the file is never read). */
int checkpoint_remove_stale(const char *state_dir, const char *feed,
			    char *errbuf, size_t errlen);

#endif /* CRDBFEEDD_CHECKPOINT_H */
