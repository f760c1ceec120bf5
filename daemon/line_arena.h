/*
 * line_arena.h: where lines live. Lines are carved one after another from
 * shared slabs, so that consecutive lines' bytes are adjacent in memory and
 * a subscriber's writev(2) covers many lines with one iovec; a slab goes
 * back to the allocator when its last line is released.
 */
#ifndef CRDBFEEDD_LINE_ARENA_H
#define CRDBFEEDD_LINE_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "encode.h"

/* One slab, its header included. */
#define LINE_SLAB_BYTES (64 * 1024)

/*
 * A line of len bytes for the caller to fill, refs 1, seq 0, updated
 * {0,0}, and table a NUL-terminated copy of table_len bytes (NULL: none).
 * NULL on ENOMEM or when the sizes overflow.
 */
struct line *line_arena_new(enum line_kind kind, crdb_op op, const char *table,
			    size_t table_len, size_t len);
/* Give back a line whose last reference went (line_unref). */
void line_arena_free(struct line *line);

/* The calling thread's arena, counted. */
struct line_arena_stats {
	uint64_t slabs_live;   /* slabs allocated now, the current one included */
	uint64_t slab_lines;   /* live lines carved from slabs */
	uint64_t own_live;     /* live lines too big for a slab (own allocation) */
	uint64_t slabs_made;   /* slabs ever allocated */
};
void line_arena_get_stats(struct line_arena_stats *out);

/*
 * Add len bytes at base as the next iovec of iov[0..niov), or extend the
 * last one when the bytes directly follow it. Returns the new count; iov
 * has room for niov + 1.
 */
static inline size_t line_iov_add(struct iovec *iov, size_t niov,
				  const char *base, size_t len)
{
	if (niov && (const char *)iov[niov - 1].iov_base + iov[niov - 1].iov_len == base) {
		iov[niov - 1].iov_len += len;
		return niov;
	}
	iov[niov].iov_base = (void *)base;
	iov[niov].iov_len = len;
	return niov + 1;
}

#endif
