/*
 * channel.c: notify channels: a notify row's channel and payload,
 * PostgreSQL's rules for them, a table's channel name, and the folding of
 * identical notifications within one transaction (channel.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "channel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "idhash.h"

int channel_name_check(const char *name, size_t len, char *errbuf,
		       size_t errlen)
{
	if (len == 0) {
		snprintf(errbuf, errlen, "the channel name is empty");
		return -1;
	}
	if (len > CHANNEL_NAME_MAX) {
		snprintf(errbuf, errlen,
			 "the channel name is %zu bytes, longer than %d", len,
			 CHANNEL_NAME_MAX);
		return -1;
	}
	if (memchr(name, '\0', len)) {
		snprintf(errbuf, errlen, "the channel name contains a NUL byte");
		return -1;
	}
	return 0;
}

void channel_note_clear(struct channel_note *note)
{
	free(note->channel);
	free(note->payload);
	memset(note, 0, sizeof(*note));
}

/* A copy of a jansson string member, or NULL with errbuf set. */
static char *string_member(json_t *after, const char *name, size_t *len,
			   char *errbuf, size_t errlen)
{
	json_t *v = json_object_get(after, name);
	char *copy;

	if (!json_is_string(v)) {
		snprintf(errbuf, errlen, "the row's \"after\" has no string \"%s\"",
			 name);
		return NULL;
	}
	*len = json_string_length(v);
	copy = malloc(*len + 1);
	if (!copy) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	memcpy(copy, json_string_value(v), *len + 1);
	return copy;
}

int channel_note_from_row(const char *data, size_t len,
			  struct channel_note *note, char *errbuf,
			  size_t errlen)
{
	json_error_t jerr;
	json_t *row, *after;
	int rc = -1;

	memset(note, 0, sizeof(*note));
	/* Without JSON_ALLOW_NUL, a \u0000 in a string is a parse error. */
	row = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!row) {
		snprintf(errbuf, errlen, "the row is not JSON: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(row)) {
		snprintf(errbuf, errlen, "the row is not a JSON object");
		goto out;
	}
	after = json_object_get(row, "after");
	if (!after || json_is_null(after)) {
		rc = 1;
		goto out;
	}
	if (!json_is_object(after)) {
		snprintf(errbuf, errlen, "the row's \"after\" is not an object");
		goto out;
	}
	note->channel = string_member(after, "channel", &note->channel_len,
				      errbuf, errlen);
	if (!note->channel)
		goto out;
	if (channel_name_check(note->channel, note->channel_len, errbuf, errlen))
		goto out;
	note->payload = string_member(after, "payload", &note->payload_len,
				      errbuf, errlen);
	if (!note->payload)
		goto out;
	if (note->payload_len > CHANNEL_PAYLOAD_MAX) {
		snprintf(errbuf, errlen,
			 "the payload is %zu bytes, PostgreSQL's limit is %d",
			 note->payload_len, CHANNEL_PAYLOAD_MAX);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		channel_note_clear(note);
	json_decref(row);
	return rc;
}

int channel_for_table(const char *table, char *out, size_t outlen)
{
	size_t plen = strlen(CHANNEL_TABLE_PREFIX), tlen = strlen(table);

	if (plen + tlen > CHANNEL_NAME_MAX || plen + tlen + 1 > outlen)
		return -1;
	memcpy(out, CHANNEL_TABLE_PREFIX, plen);
	memcpy(out + plen, table, tlen + 1);
	return 0;
}

/*
 * The set of one timestamp's notifications: open addressing over 128-bit
 * fingerprints of (channel, payload) (idhash.h's two seeds), so that a
 * transaction of many large payloads costs 16 bytes each. Two different
 * notifications fold only if both 64-bit hashes collide.
 */
struct fold_slot {
	uint64_t a, b; /* a == 0 && b == 0: empty */
};

struct channel_fold {
	crdb_hlc updated;
	bool started;
	size_t max, count, cap; /* cap: a power of two, at most 2 * max */
	struct fold_slot *slots;
};

struct channel_fold *channel_fold_new(size_t max)
{
	struct channel_fold *fold = calloc(1, sizeof(*fold));

	if (!fold)
		return NULL;
	fold->max = max ? max : CHANNEL_FOLD_MAX;
	return fold;
}

void channel_fold_free(struct channel_fold *fold)
{
	if (!fold)
		return;
	free(fold->slots);
	free(fold);
}

static uint64_t note_hash(uint64_t seed, const struct channel_note *note)
{
	uint64_t h = idhash_bytes(seed, note->channel, note->channel_len);

	return idhash_bytes(h, note->payload, note->payload_len);
}

/* Insert (a, b); 1 when it was new, 0 when present, -1 on ENOMEM. */
static int fold_insert(struct channel_fold *fold, uint64_t a, uint64_t b);

static int fold_grow(struct channel_fold *fold)
{
	size_t ncap = fold->cap ? fold->cap * 2 : 64, i;
	struct fold_slot *old = fold->slots;
	size_t ocap = fold->cap;

	fold->slots = calloc(ncap, sizeof(*fold->slots));
	if (!fold->slots) {
		fold->slots = old;
		return -1;
	}
	fold->cap = ncap;
	fold->count = 0;
	for (i = 0; i < ocap; i++)
		if (old[i].a || old[i].b)
			(void)fold_insert(fold, old[i].a, old[i].b);
	free(old);
	return 0;
}

static int fold_insert(struct channel_fold *fold, uint64_t a, uint64_t b)
{
	size_t i;

	if ((fold->count + 1) * 2 > fold->cap && fold_grow(fold))
		return -1;
	for (i = (size_t)a & (fold->cap - 1);; i = (i + 1) & (fold->cap - 1)) {
		struct fold_slot *s = &fold->slots[i];

		if (!s->a && !s->b) {
			s->a = a;
			s->b = b;
			fold->count++;
			return 1;
		}
		if (s->a == a && s->b == b)
			return 0;
	}
}

bool channel_fold_keep(struct channel_fold *fold, crdb_hlc updated,
		       const struct channel_note *note, uint64_t *unfolded)
{
	uint64_t a = note_hash(IDHASH_SEED_A, note);
	uint64_t b = note_hash(IDHASH_SEED_B, note);
	int rc;

	if (!fold->started || crdb_hlc_compare(updated, fold->updated) != 0) {
		fold->started = true;
		fold->updated = updated;
		fold->count = 0;
		if (fold->slots)
			memset(fold->slots, 0, fold->cap * sizeof(*fold->slots));
	}
	if (!a && !b)
		b = 1; /* (0, 0) marks an empty slot */
	if (fold->count >= fold->max) {
		/* Still fold what is already known; only new ones go unrecorded. */
		size_t i;

		for (i = (size_t)a & (fold->cap - 1);; i = (i + 1) & (fold->cap - 1)) {
			struct fold_slot *s = &fold->slots[i];

			if (!s->a && !s->b)
				break;
			if (s->a == a && s->b == b)
				return false;
		}
		if (unfolded)
			(*unfolded)++;
		return true;
	}
	rc = fold_insert(fold, a, b);
	if (rc < 0 && unfolded)
		(*unfolded)++;
	return rc != 0;
}
