/*
 * fuzz_encode.c: a differential libFuzzer target for crdbfeedd's row
 * encoders. Every input row goes through crdb_event_decode_raw +
 * line_new_row (the fast encoder), line_new_row_json (the reference) and
 * line_new_row_raw (the direct path without decoding): the lines must be
 * byte-identical, and the direct path must refuse every row the decoder
 * refuses. Seeds: tests/fuzz/corpus/encode (numbers beyond a double or
 * int64, long decimals, exponents, negative zero, every envelope).
 *
 * Input: one flag byte (bit 0: diff; bit 1: without number_text, which
 * crdbfeedd always sets; bits 2-4: the envelope, modulo 5, 0 = wrapped),
 * then table, key and value (binary format: raw JSON) separated by 0xff
 * bytes, which UTF-8 never holds.
 */
#include <config.h> /* autoconf's, from the build directory */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdb.h"
#include "encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const struct line *a, const struct line *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0 &&
	       strcmp(a->table, b->table) == 0 && a->op == b->op && a->kind == b->kind;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *parts[3] = { NULL, NULL, NULL };
	size_t lens[3] = { 0, 0, 0 }, n = 0, start = 1;
	crdb_decode_opts opts = { .envelope = CRDB_ENVELOPE_WRAPPED };
	crdb_event ev;
	crdb_error err;
	char e1[256], e2[256];
	struct line *fast, *ref, *raw;
	int rc;

	if (size < 1)
		return 0;
	opts.diff = data[0] & 1;
	opts.number_text = !(data[0] & 2);
	opts.envelope = (crdb_envelope)((data[0] >> 2 & 7) % 5);
	for (size_t i = 1; i <= size && n < 3; i++) {
		if (i == size || data[i] == 0xff) {
			parts[n] = (const char *)data + start;
			lens[n] = i - start;
			n++;
			start = i + 1;
		}
	}
	if (n < 3)
		return 0;
	rc = crdb_event_decode_raw(parts[0], lens[0], parts[1], lens[1], parts[2],
				   lens[2], 1, &opts, &ev, &err);
	raw = line_new_row_raw("f", parts[0], lens[0], parts[1], lens[1], parts[2],
			       lens[2], &opts);
	if (rc) {
		if (raw)
			abort(); /* the direct path took a row the decoder refuses */
		return 0;
	}
	fast = line_new_row("f", &ev, opts.diff, e1, sizeof(e1));
	ref = line_new_row_json("f", &ev, opts.diff, e2, sizeof(e2));
	if (ev.kind == CRDB_EVENT_ROW) {
		if (!fast != !ref || (fast && !same(fast, ref)) ||
		    (raw && (!ref || !same(raw, ref))))
			abort();
	}
	line_unref(fast);
	line_unref(ref);
	line_unref(raw);
	crdb_event_clear(&ev);
	return 0;
}
