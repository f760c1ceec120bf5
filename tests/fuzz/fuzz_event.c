/*
 * fuzz_event.c: libFuzzer target for the changefeed row decoder. The first
 * byte picks the format, envelope, diff and which columns are NULL; the rest
 * is split into table, key and value at the first two 0xff bytes.
 *
 * The same columns are also put in a PGresult (PQmakeEmptyPGresult, as
 * libpq would deliver the row) for crdb_event_decode, which must agree with
 * crdb_event_decode_raw: same success, same event. The last input byte
 * then picks a damaged result shape (column count, names, types, row
 * count, status), which must be refused with CRDB_EPROTO.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "crdb.h"

#define TEXT_OID 25
#define BYTEA_OID 17

/* A one-row result of table/key/value (shape 0), or a damaged one. */
static PGresult *make_result(const char *const part[3], const size_t len[3],
			     int format, unsigned shape)
{
	/* libpq copies the names; its struct wants them writable. */
	char table_name[] = "table", key_name[] = "key", value_name[] = "value",
	     extra_name[] = "extra", bad_name[] = "kee";
	PGresAttDesc attrs[4] = {
		{ table_name, 0, 0, 0, TEXT_OID, -1, -1 },
		{ key_name, 0, 0, format, BYTEA_OID, -1, -1 },
		{ value_name, 0, 0, format, BYTEA_OID, -1, -1 },
		{ extra_name, 0, 0, 0, TEXT_OID, -1, -1 },
	};
	int ncols = 3, nrows = 1;
	ExecStatusType status = PGRES_SINGLE_TUPLE;

	switch (shape) {
	case 1: ncols = 2; break;
	case 2: ncols = 4; break;
	case 3: attrs[1].name = bad_name; break;
	case 4: attrs[2].typid = TEXT_OID; break;
	case 5: nrows = 0; break;
	case 6: nrows = 2; break;
	case 7: status = PGRES_COMMAND_OK; break;
	default: break;
	}
	PGresult *res = PQmakeEmptyPGresult(NULL, status);
	if (!res)
		return NULL;
	if (!PQsetResultAttrs(res, ncols, attrs))
		goto fail;
	for (int row = 0; row < nrows; row++)
		for (int col = 0; col < ncols; col++) {
			const char *v = col < 3 ? part[col] : "x";
			int vlen = col < 3 ? (int)len[col] : 1;
			if (!PQsetvalue(res, row, col, (char *)v, v ? vlen : -1))
				goto fail;
		}
	return res;
fail:
	PQclear(res);
	return NULL;
}

static int json_same(json_t *a, json_t *b)
{
	return (!a && !b) || (a && b && json_equal(a, b));
}

static int hlc_same(crdb_hlc a, crdb_hlc b)
{
	return crdb_hlc_compare(a, b) == 0;
}

/* Both decoders saw the same bytes: the events must be the same. */
static void compare_events(const crdb_event *a, const crdb_event *b)
{
	if (a->kind != b->kind || a->op != b->op ||
	    (!a->table) != (!b->table) ||
	    (a->table && strcmp(a->table, b->table) != 0) ||
	    !json_same(a->key, b->key) || !json_same(a->after, b->after) ||
	    !json_same(a->before, b->before) ||
	    !json_same(a->value, b->value) ||
	    a->has_updated != b->has_updated ||
	    !hlc_same(a->updated, b->updated) || a->has_mvcc != b->has_mvcc ||
	    !hlc_same(a->mvcc_timestamp, b->mvcc_timestamp) ||
	    !hlc_same(a->resolved, b->resolved) ||
	    a->value_empty != b->value_empty)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[3] = { NULL, NULL, NULL };
	size_t len[3] = { 0, 0, 0 };
	crdb_decode_opts opts = { 0 };
	crdb_event ev;
	crdb_error err;
	const uint8_t *p, *end;
	uint8_t sel;
	int i;

	if (size < 1)
		return 0;
	sel = data[0];
	p = data + 1;
	end = data + size;
	for (i = 0; i < 3; i++) {
		const uint8_t *stop = i < 2 ? memchr(p, 0xff, (size_t)(end - p)) : NULL;

		part[i] = (const char *)p;
		len[i] = (size_t)((stop ? stop : end) - p);
		p = stop ? stop + 1 : end;
	}
	if (sel & 0x10)
		part[0] = NULL;
	if (sel & 0x20)
		part[1] = NULL;
	if ((sel & 0xc0) == 0xc0)
		part[2] = NULL;
	opts.envelope = (crdb_envelope)((sel >> 1) % 5);
	opts.diff = (sel & 0x40) != 0;
	/* The last byte's bit 3 (its low bits choose a malformed shape). */
	opts.number_text = size > 1 && (data[size - 1] & 0x08);
	int rc = crdb_event_decode_raw(part[0], len[0], part[1], len[1], part[2],
				       len[2], sel & 1, &opts, &ev, &err);

	/* libpq's lengths are ints: leave giant inputs to the raw path. */
	if (len[0] < INT32_MAX && len[1] < INT32_MAX && len[2] < INT32_MAX) {
		unsigned shape = size > 1 ? data[size - 1] % 8 : 0;
		PGresult *res = make_result(part, len, sel & 1, 0);
		crdb_event ev2;
		crdb_error err2;

		if (res) {
			int rc2 = crdb_event_decode(res, &opts, &ev2, &err2);
			if (rc2 != rc)
				abort();
			if (rc2 == 0) {
				compare_events(&ev, &ev2);
				crdb_event_clear(&ev2);
			}
			PQclear(res);
		}
		res = shape ? make_result(part, len, sel & 1, shape) : NULL;
		if (res) {
			if (crdb_event_decode(res, &opts, &ev2, &err2) == 0 ||
			    err2.code != CRDB_EPROTO)
				abort();
			PQclear(res);
		}
	}
	if (rc == 0)
		crdb_event_clear(&ev);
	return 0;
}
