/*
 * line_arena.c: lines carved from refcounted slabs (line_arena.h).
 *
 * A slab's data bytes grow from its start, the lines' headers and table
 * names from its end downwards, so that one line's bytes are followed
 * directly by the next line's. A slab is held by each line carved from it
 * and, while lines are carved from it, by the arena; when only the
 * arena's hold is left it is reused from its start, and a slab no longer
 * current is freed with its last line. Lines above LINE_BIG bytes (header
 * and table name included) get an allocation of their own, so the space a
 * slab leaves unused at its end is under LINE_BIG.
 *
 * Memory bound: the live lines' bytes, plus per slab still held the rest
 * of its 64 KiB. A FIFO holder (a subscriber's queue, the ordered hold)
 * of B bytes of consecutive lines pins at most B / (64 KiB - LINE_BIG) + 2
 * slabs; the worst case is a holder keeping one small line of each slab
 * while the others go: 64 KiB per line it keeps (slabs_live counts it).
 *
 * Threads: the current slab is per thread. Lines belong to the event-loop
 * thread (their reference counts are not atomic; the NATS threads pass
 * messages, never lines), so a slab is only touched by the thread that
 * carved it.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "line_arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

struct line_slab {
	unsigned holders;  /* live lines, plus one while current */
	size_t data_end;   /* data carved: mem[0..data_end) */
	size_t head_start; /* headers and tables: mem[head_start..SLAB_ROOM) */
	alignas(max_align_t) char mem[];
};

#define SLAB_ROOM (LINE_SLAB_BYTES - offsetof(struct line_slab, mem))
#define LINE_BIG (SLAB_ROOM / 8)

static _Thread_local struct line_slab *current;
static _Thread_local struct line_arena_stats stats;

static void line_init(struct line *line, enum line_kind kind, crdb_op op,
		      char *data, size_t len, char *table_copy,
		      const char *table, size_t table_len)
{
	line->refs = 1;
	line->kind = kind;
	line->op = op;
	line->seq = 0;
	line->updated = (crdb_hlc){ 0, 0 };
	line->data = data;
	line->len = len;
	line->table = NULL;
	if (table) {
		memcpy(table_copy, table, table_len);
		table_copy[table_len] = '\0';
		line->table = table_copy;
	}
}

static void slab_reset(struct line_slab *slab)
{
	slab->data_end = 0;
	slab->head_start = SLAB_ROOM;
}

/* A current slab with room for need bytes of headers and data. */
static struct line_slab *slab_with_room(size_t need)
{
	struct line_slab *slab = current;

	if (slab && slab->head_start - slab->data_end >= need)
		return slab;
	if (slab && --slab->holders == 0) {
		/* Every line of it is gone: carve it again from its start. */
		slab->holders = 1;
		slab_reset(slab);
		return slab;
	}
	if (slab)
		current = NULL;
	slab = malloc(LINE_SLAB_BYTES);
	if (!slab)
		return NULL;
	slab->holders = 1;
	slab_reset(slab);
	stats.slabs_live++;
	stats.slabs_made++;
	current = slab;
	return slab;
}

struct line *line_arena_new(enum line_kind kind, crdb_op op, const char *table,
			    size_t table_len, size_t len)
{
	size_t tbytes = table ? table_len + 1 : 0;
	size_t head = sizeof(struct line) + alignof(struct line) - 1;
	struct line_slab *slab;
	struct line *line;

	if (table_len >= SIZE_MAX - head || len > SIZE_MAX - head - tbytes)
		return NULL;
	if (head + tbytes + len > LINE_BIG) {
		line = malloc(sizeof(*line) + tbytes + len);
		if (!line)
			return NULL;
		line_init(line, kind, op, (char *)(line + 1) + tbytes, len,
			  (char *)(line + 1), table, table_len);
		line->slab = NULL;
		stats.own_live++;
		return line;
	}
	slab = slab_with_room(head + tbytes + len);
	if (!slab)
		return NULL;
	slab->head_start -= tbytes;
	{
		char *table_copy = slab->mem + slab->head_start;
		size_t at = (slab->head_start - sizeof(*line)) & ~(alignof(struct line) - 1);

		slab->head_start = at;
		line = (struct line *)(void *)(slab->mem + at);
		line_init(line, kind, op, slab->mem + slab->data_end, len,
			  table_copy, table, table_len);
	}
	line->slab = slab;
	slab->data_end += len;
	slab->holders++;
	stats.slab_lines++;
	return line;
}

void line_arena_free(struct line *line)
{
	struct line_slab *slab = line->slab;

	if (!slab) {
		stats.own_live--;
		free(line);
		return;
	}
	stats.slab_lines--;
	if (--slab->holders == 0) {
		stats.slabs_live--;
		free(slab);
	} else if (slab->holders == 1 && slab == current) {
		slab_reset(slab);
	}
}

void line_arena_get_stats(struct line_arena_stats *out)
{
	*out = stats;
}
