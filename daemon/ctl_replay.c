/*
 * ctl_replay.c: an ordered feed's journal printed for an operator
 * (ctl_replay.h): the query and its JSON form, the start position, the
 * chunked, filtered read and the resolved line of a journal mark.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "ctl_replay.h"

#include "encode.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ctl_replay_query_free(struct ctl_replay_query *q)
{
	for (size_t i = 0; i < q->ntables; i++)
		free(q->tables[i]);
	memset(q, 0, sizeof(*q));
}

int ctl_replay_parse_time(const char *text, crdb_hlc *out, char *errbuf,
			  size_t errlen)
{
	crdb_error err;

	if (crdb_hlc_parse(text, strlen(text), out, &err) == 0 ||
	    crdb_hlc_from_rfc3339(text, out, &err) == 0)
		return 0;
	snprintf(errbuf, errlen, "bad time \"%.100s\": expected an HLC timestamp (wall.logical, e.g. 1701102296662969433.0000000000) or an RFC 3339 time (e.g. 2024-01-02T03:04:05Z)",
		 text);
	return -1;
}

static int set_hlc(json_t *obj, const char *key, crdb_hlc hlc)
{
	char text[CRDB_HLC_BUFSIZE];

	crdb_hlc_format(hlc, text);
	return json_object_set_new(obj, key, json_string(text));
}

char *ctl_replay_query_format(const struct ctl_replay_query *q)
{
	json_t *obj = json_object(), *tables;
	char *text = NULL;
	int rc = 0;

	if (!obj)
		return NULL;
	if (q->have_after)
		rc |= json_object_set_new(obj, "after", json_integer((json_int_t)q->after));
	if (q->have_since)
		rc |= set_hlc(obj, "since", q->since);
	if (q->have_until)
		rc |= set_hlc(obj, "until", q->until);
	if (q->ntables) {
		tables = json_array();
		for (size_t i = 0; tables && i < q->ntables; i++)
			rc |= json_array_append_new(tables, json_string(q->tables[i]));
		rc |= json_object_set_new(obj, "tables", tables);
	}
	if (rc == 0)
		text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return text;
}

static int parse_time_member(json_t *value, const char *key, crdb_hlc *out,
			     char *errbuf, size_t errlen)
{
	const char *text = json_string_value(value);

	if (!text) {
		snprintf(errbuf, errlen, "\"%s\" must be a string", key);
		return -1;
	}
	return ctl_replay_parse_time(text, out, errbuf, errlen);
}

int ctl_replay_query_parse(const char *json, struct ctl_replay_query *q,
			   char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t *obj = json_loads(json, JSON_REJECT_DUPLICATES, &jerr), *value;
	const char *key;

	memset(q, 0, sizeof(*q));
	if (!json_is_object(obj)) {
		snprintf(errbuf, errlen, "the replay options are not a JSON object%s%s",
			 obj ? "" : ": ", obj ? "" : jerr.text);
		json_decref(obj);
		return -1;
	}
	json_object_foreach(obj, key, value) {
		if (strcmp(key, "after") == 0) {
			if (!json_is_integer(value) || json_integer_value(value) < 0) {
				snprintf(errbuf, errlen, "\"after\" must be a sequence number (an integer >= 0)");
				goto fail;
			}
			q->have_after = true;
			q->after = (uint64_t)json_integer_value(value);
		} else if (strcmp(key, "since") == 0) {
			if (parse_time_member(value, key, &q->since, errbuf, errlen))
				goto fail;
			q->have_since = true;
		} else if (strcmp(key, "until") == 0) {
			if (parse_time_member(value, key, &q->until, errbuf, errlen))
				goto fail;
			q->have_until = true;
		} else if (strcmp(key, "tables") == 0) {
			size_t i;
			json_t *table;

			if (!json_is_array(value) || json_array_size(value) > CTL_REPLAY_TABLES_MAX) {
				snprintf(errbuf, errlen, "\"tables\" must be an array of at most %d names",
					 CTL_REPLAY_TABLES_MAX);
				goto fail;
			}
			json_array_foreach(value, i, table) {
				if (!json_is_string(table)) {
					snprintf(errbuf, errlen, "\"tables\" must hold strings");
					goto fail;
				}
				q->tables[q->ntables] = strdup(json_string_value(table));
				if (!q->tables[q->ntables]) {
					snprintf(errbuf, errlen, "out of memory");
					goto fail;
				}
				q->ntables++;
			}
		} else {
			snprintf(errbuf, errlen, "unknown replay option \"%.60s\" (expected after, since, until, tables)",
				 key);
			goto fail;
		}
	}
	if (q->have_after && q->have_since) {
		snprintf(errbuf, errlen, "\"after\" and \"since\" exclude each other");
		goto fail;
	}
	json_decref(obj);
	return 0;
fail:
	json_decref(obj);
	ctl_replay_query_free(q);
	return -1;
}

int ctl_replay_resolved_line(const char *feed, crdb_hlc resolved,
			     uint64_t seq, struct textbuf *out)
{
	/* The same encoder as the live resolved lines (line.c). */
	struct line *line = line_new_resolved_seq(feed, resolved, seq);

	if (!line)
		return -1;
	textbuf_append(out, line->data, line->len);
	line_unref(line);
	return out->failed ? -1 : 0;
}

int ctl_replay_start(struct ctl_replay *r, struct journal *j,
		     const struct ctl_replay_query *q, const char *feed,
		     char *errbuf, size_t errlen)
{
	struct journal_checkpoint cp;
	struct journal_stats st;

	memset(r, 0, sizeof(*r));
	r->query = q;
	r->feed = feed;
	if (journal_get_checkpoint(j, &cp, errbuf, errlen) ||
	    journal_get_stats(j, &st, errbuf, errlen))
		return -1;
	r->epoch = cp.epoch;
	r->end_seq = cp.last_seq;
	r->first_kept = st.records ? st.oldest_seq : 0;
	/* After row N is after its resolved line too, as for a subscriber's
	 * "after": N. */
	r->mark_at_pos = !q->have_after;
	if (q->have_after) {
		if (q->after > cp.last_seq) {
			snprintf(errbuf, errlen, "after %llu is beyond the journal's newest row (seq %llu)",
				 (unsigned long long)q->after,
				 (unsigned long long)cp.last_seq);
			return -1;
		}
		r->pos = q->after;
	} else if (q->have_since) {
		if (journal_seek_time(j, q->since, &r->pos, errbuf, errlen))
			return -1;
	}
	r->start_pos = r->pos;
	return 0;
}

bool ctl_replay_gap(const struct ctl_replay *r, uint64_t *first_missing,
		    uint64_t *last_missing)
{
	const struct ctl_replay_query *q = r->query;

	if (!(q->have_after || q->have_since) || !r->first_kept ||
	    r->first_kept <= r->start_pos + 1)
		return false;
	*first_missing = r->start_pos + 1;
	*last_missing = r->first_kept - 1;
	return true;
}

struct chunk {
	struct ctl_replay *r;
	struct textbuf *out;
	size_t max_bytes;
	bool full;            /* stopped: max_bytes reached */
	bool gap;             /* a row not yet read was trimmed */
	uint64_t gap_seq;
	bool failed;          /* out of memory */
};

static bool table_wanted(const struct ctl_replay_query *q, const char *table,
			 size_t len)
{
	if (!q->ntables)
		return true;
	for (size_t i = 0; i < q->ntables; i++)
		if (strlen(q->tables[i]) == len && memcmp(q->tables[i], table, len) == 0)
			return true;
	return false;
}

static int on_item(const struct journal_item *item, void *arg)
{
	struct chunk *c = arg;
	struct ctl_replay *r = c->r;
	const struct ctl_replay_query *q = r->query;

	if (item->is_mark) {
		if (item->mark_seq > r->end_seq ||
		    (q->have_until && crdb_hlc_compare(item->resolved, q->until) > 0)) {
			r->done = true;
			return 1;
		}
		r->pos = item->mark_seq;
		r->mark_at_pos = false;
		if (q->have_since && crdb_hlc_compare(item->resolved, q->since) < 0)
			return 0;
		if (ctl_replay_resolved_line(r->feed, item->resolved, item->mark_seq,
					     c->out)) {
			c->failed = true;
			return 1;
		}
	} else {
		const struct journal_row *row = item->row;

		if (row->seq > r->end_seq ||
		    (q->have_until && crdb_hlc_compare(row->updated, q->until) > 0)) {
			r->done = true;
			return 1;
		}
		/* Rows are contiguous: after the first chunk, a hole is
		 * retention trimming what this replay had yet to read. */
		if (r->started_rows && row->seq != r->pos + 1) {
			c->gap = true;
			c->gap_seq = r->pos + 1;
			return 1;
		}
		r->started_rows = true;
		r->pos = row->seq;
		r->mark_at_pos = true;
		if ((q->have_since && crdb_hlc_compare(row->updated, q->since) < 0) ||
		    !table_wanted(q, row->table, row->table_len))
			return 0;
		textbuf_append(c->out, row->line, row->line_len);
		if (!row->line_len || row->line[row->line_len - 1] != '\n')
			textbuf_puts(c->out, "\n");
		if (c->out->failed) {
			c->failed = true;
			return 1;
		}
	}
	r->lines++;
	if (c->out->len >= c->max_bytes) {
		c->full = true;
		return 1;
	}
	return 0;
}

int ctl_replay_chunk(struct ctl_replay *r, struct journal *j,
		     struct textbuf *out, size_t max_bytes,
		     char *errbuf, size_t errlen)
{
	struct journal_checkpoint cp;
	struct chunk c = { .r = r, .out = out, .max_bytes = max_bytes };
	int n;

	if (r->done)
		return 0;
	if (journal_get_checkpoint(j, &cp, errbuf, errlen))
		return -1;
	if (cp.epoch != r->epoch) {
		snprintf(errbuf, errlen, "the journal was started over while it was read (the feed's delivery changed)");
		return -1;
	}
	/* Rows are read as soon as the first chunk starts: a hole before
	 * the first row read is retention, not a loss during the replay. */
	n = journal_read(j, r->pos, r->mark_at_pos, CTL_REPLAY_CHUNK_ITEMS,
			 on_item, &c, errbuf, errlen);
	if (n < 0)
		return -1;
	if (c.failed) {
		snprintf(errbuf, errlen, "out of memory, or a line larger than the output buffer");
		return -1;
	}
	if (c.gap) {
		snprintf(errbuf, errlen, "rows from seq %llu on were removed by the journal's retention while they were read",
			 (unsigned long long)c.gap_seq);
		return -1;
	}
	if (r->done || n == 0 || (!c.full && (size_t)n < CTL_REPLAY_CHUNK_ITEMS)) {
		r->done = true;
		return 0;
	}
	return 1;
}
