/*
 * fuzz_pgserver.c: libFuzzer target for the LISTEN endpoint's protocol
 * state machine (daemon/pgserver.c). The first byte picks trust or SCRAM
 * authentication and where the rest is cut in two; the rest is what a
 * client sends. Fed whole or in two pieces, the session must answer the
 * same bytes and end in the same state; it never consumes more than it
 * was given, and its answers stay whole messages under their limit.
 */
#include <config.h>

#include "daemon/pgserver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct textbuf all;
	enum pgs_state state;
	size_t channels;
};

/* Feed the input, cut at cut, as an event loop would: unconsumed bytes wait. */
static void run_session(const uint8_t *in, size_t len, size_t cut, bool scram,
			struct run *r)
{
	struct pgs_config cfg = {
		.auth = scram ? PGS_AUTH_SCRAM : PGS_AUTH_TRUST,
		.max_message = 4096,
		.max_channels = 4,
		.pid = 1,
		.secret = 2,
		.test_server_nonce = "fuzznonce",
	};
	struct pgs_session *s = pgs_new(&cfg);
	if (!s)
		abort();
	textbuf_init(&r->all, 1 << 24);
	uint8_t *pending = malloc(len ? len : 1);
	size_t npending = 0;
	size_t pieces[2] = {cut, len - cut};
	const uint8_t *next = in;
	for (int i = 0; i < 2; i++) {
		memcpy(pending + npending, next, pieces[i]);
		npending += pieces[i];
		next += pieces[i];
		size_t used = pgs_input(s, pending, npending);
		if (used > npending)
			abort();
		memmove(pending, pending + used, npending - used);
		npending -= used;
		struct textbuf *out = pgs_out(s);
		textbuf_append(&r->all, out->data ? out->data : "", out->len);
		pgs_out_clear(s);
	}
	r->state = pgs_state(s);
	r->channels = pgs_channel_count(s);
	if (r->channels > 4)
		abort();
	free(pending);
	pgs_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool scram = data[0] & 1;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	size_t cut = len ? (size_t)(data[0] >> 1) % (len + 1) : 0;
	struct run whole, split;
	run_session(in, len, len, scram, &whole);
	run_session(in, len, cut, scram, &split);
	if (whole.state != split.state || whole.channels != split.channels ||
	    whole.all.len != split.all.len ||
	    (whole.all.len && memcmp(whole.all.data, split.all.data, whole.all.len) != 0))
		abort();
	textbuf_free(&whole.all);
	textbuf_free(&split.all);
	return 0;
}
