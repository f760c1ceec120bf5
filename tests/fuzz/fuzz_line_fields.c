/*
 * fuzz_line_fields.c: libFuzzer target for the row line reader
 * (daemon/line_fields.c). The input is a line. A refusal must say why in
 * one bounded line naming a byte offset within the input. When the split
 * takes a line, line_row_key must give the same key, the parts must lie
 * inside the input in their order, and the line rebuilt for another feed
 * with another seq must split again into the same parts.
 */
#include <config.h>

#include "daemon/line_fields.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_part(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void check_refused(const char *msg, size_t msglen, size_t size)
{
	size_t len = strnlen(msg, msglen);
	const char *at = strstr(msg, "byte ");

	if (len == 0 || len == msglen || memchr(msg, '\n', len) ||
	    strncmp(msg, "row line: ", 10) != 0 || !at ||
	    strtoull(at + 5, NULL, 10) > size)
		abort();
}

static bool inside(const char *part, size_t len, const char *line, size_t size)
{
	return part >= line && len <= size && (size_t)(part - line) <= size - len;
}

static void check_rebuilt(const struct line_row_parts *p)
{
	size_t cap = p->body_len + 128, n;
	char *line = malloc(cap), *copy;
	struct line_row_parts again;
	char errbuf[256];

	if (!line)
		return;
	n = (size_t)sprintf(line, "{\"v\":1,\"type\":\"row\",\"feed\":\"relay\"");
	memcpy(line + n, p->body, p->body_len);
	n += p->body_len;
	n += (size_t)sprintf(line + n, ",\"seq\":%" PRIu64 "%s}\n", p->seq + 1,
			     p->late ? "" : ",\"late\":true");
	copy = malloc(n);
	if (copy) {
		memcpy(copy, line, n);
		if (line_row_split(copy, n, &again, errbuf, sizeof errbuf) != 0 ||
		    !same_part(again.body, again.body_len, p->body, p->body_len) ||
		    !same_part(again.key, again.key_len, p->key, p->key_len) ||
		    !same_part(again.table, again.table_len, p->table, p->table_len) ||
		    !same_part(again.updated, again.updated_len, p->updated,
			       p->updated_len) ||
		    again.op != p->op || again.seq != p->seq + 1 ||
		    again.late == p->late)
			abort();
		free(copy);
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: reads past the end show in ASan. */
	char *line = malloc(size ? size : 1);
	struct line_row_parts p;
	char msg_split[256], msg_key[256];
	const char *key;
	size_t key_len;
	int rc_split, rc_key;

	if (!line)
		return 0;
	memcpy(line, data, size);
	rc_split = line_row_split(line, size, &p, msg_split, sizeof msg_split);
	rc_key = line_row_key(line, size, &key, &key_len, msg_key, sizeof msg_key);
	if ((rc_split != 0 && rc_split != -1) || (rc_key != 0 && rc_key != -1))
		abort();
	if (rc_key != 0) {
		/* The key reader is no stricter than the split. */
		if (rc_split == 0)
			abort();
		check_refused(msg_key, sizeof msg_key, size);
	} else if (!inside(key, key_len, line, size) || key_len < 2 ||
		   (key[0] != '[' && key[0] != '{')) {
		abort();
	}
	if (rc_split != 0) {
		check_refused(msg_split, sizeof msg_split, size);
	} else {
		if (!same_part(key, key_len, p.key, p.key_len) ||
		    !inside(p.body, p.body_len, line, size) ||
		    !inside(p.table, p.table_len, line, size) ||
		    (p.updated && !inside(p.updated, p.updated_len, line, size)) ||
		    p.table < p.body || p.key < p.table || p.body_len < 9 ||
		    memcmp(p.body, ",\"table\":", 9) != 0)
			abort();
		check_rebuilt(&p);
	}
	free(line);
	return 0;
}
