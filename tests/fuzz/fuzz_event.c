/*
 * fuzz_event.c: libFuzzer target for the changefeed row decoder. The first
 * byte picks the format, envelope, diff and which columns are NULL; the rest
 * is split into table, key and value at the first two 0xff bytes.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "crdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[3] = { NULL, NULL, NULL };
	size_t len[3] = { 0, 0, 0 };
	crdb_decode_opts opts;
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
	if (crdb_event_decode_raw(part[0], len[0], part[1], len[1], part[2],
				  len[2], sel & 1, &opts, &ev, &err) == 0)
		crdb_event_clear(&ev);
	return 0;
}
