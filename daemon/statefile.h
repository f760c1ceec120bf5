/*
 * statefile.h: replacing a small file of the state directory atomically
 * and durably (a feed's checkpoint, a job feed's job id): a crash at any
 * point leaves either the old file or the new one, never a torn or empty
 * one.
 */
#ifndef CRDBFEEDD_STATEFILE_H
#define CRDBFEEDD_STATEFILE_H

#include <stddef.h>

/*
 * Write buf to PATH.tmp (O_NOFOLLOW), fsync it, rename it over path and
 * fsync dir (the directory holding path). 0, or -1 with errbuf set: then
 * the old file is untouched and PATH.tmp removed, except when only the
 * directory fsync failed (errbuf says so: the new file is in place but
 * may not be durable).
 */
int statefile_write(const char *path, const char *dir, const char *buf,
		    size_t len, int mode, char *errbuf, size_t errlen);

#endif /* CRDBFEEDD_STATEFILE_H */
