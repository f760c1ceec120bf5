/*
 * bench_encode.c: crdbfeedd's per-event CPU path without any I/O: decode a
 * firehose row (crdb_event_decode_raw, binary format, as crdbfeedd gets it)
 * and encode its output line (line_new_row), N times. Run under callgrind,
 * its instruction count divided by N is the hot path's instructions per
 * event, a figure that machine noise does not move.
 *
 * usage: bench_encode [N [SIZE]]   (default 100000 events of 200 bytes)
 * Prints one JSON object: events, ns_per_event, line_bytes.
 *
 *        bench_encode --verify N [SEED]
 * compares the fast row encoder with the jansson reference
 * (line_new_row_json) on N random rows (strings with escapes and UTF-8,
 * integers and reals of every size, nesting, HLCs, diff): every line must
 * be byte-identical. Prints the first difference and exits 1 otherwise.
 */
#include <config.h> /* autoconf's, from the build directory */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crdb.h"
#include "encode.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

struct gen {
	char *p;
	size_t len, cap;
};

static void gen_put(struct gen *g, const char *s, size_t n)
{
	if (g->len + n + 1 > g->cap)
		return; /* bounded: the caller's buffer is large enough */
	memcpy(g->p + g->len, s, n);
	g->len += n;
	g->p[g->len] = '\0';
}

static void gen_str(struct gen *g, const char *s)
{
	gen_put(g, s, strlen(s));
}

static void gen_string(struct gen *g)
{
	static const char *const pieces[] = {
		"a", "xyz", " ", "\\\"", "\\\\", "\\n", "\\t", "\\b", "\\f",
		"\\r", "\\/", "/", "\\u0001", "\\u001f", "\\u00e9", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\\ud83d\\ude00", "\\u0000",
		"\x7f", "__crdb__", "0",
	};
	unsigned n = (unsigned)(rnd() % 6);

	gen_str(g, "\"");
	for (unsigned i = 0; i < n; i++)
		gen_str(g, pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))]);
	gen_str(g, "\"");
}

static void gen_number(struct gen *g)
{
	static const char *const numbers[] = {
		"0", "-0", "1", "-1", "22.30", "0.5", "0.30000000000000004", "1e10",
		"1E-7", "-2.5e+300", "9007199254740993", "9223372036854775807",
		"-9223372036854775808", "9223372036854775808", "123456789012345678901234",
		"3.141592653589793", "0.1", "100", "1.7976931348623157e308", "5e-324",
		"2.2250738585072014e-308", "123.456", "1e21", "1e-5", "0.000001",
		"12345678901234567", "1.5", "-0.0",
	};
	char buf[64];

	if (rnd() % 3 == 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)(rnd() >> (rnd() % 64)) *
			 (rnd() % 2 ? 1 : -1));
		gen_str(g, buf);
	} else if (rnd() % 2) {
		snprintf(buf, sizeof(buf), "%.*g", (int)(rnd() % 17) + 1,
			 (double)(int64_t)rnd() / (double)(1ull << (rnd() % 60)));
		gen_str(g, buf);
	} else {
		gen_str(g, numbers[rnd() % (sizeof(numbers) / sizeof(numbers[0]))]);
	}
}

static void gen_value(struct gen *g, int depth)
{
	unsigned kind = (unsigned)(rnd() % (depth > 3 ? 5 : 7));

	switch (kind) {
	case 0: gen_str(g, "null"); break;
	case 1: gen_str(g, rnd() % 2 ? "true" : "false"); break;
	case 2: gen_string(g); break;
	case 3: case 4: gen_number(g); break;
	case 5: {
		unsigned n = (unsigned)(rnd() % 4);

		gen_str(g, "[");
		for (unsigned i = 0; i < n; i++) {
			if (i)
				gen_str(g, ", ");
			gen_value(g, depth + 1);
		}
		gen_str(g, "]");
		break;
	}
	default: {
		unsigned n = (unsigned)(rnd() % 4);

		gen_str(g, "{");
		for (unsigned i = 0; i < n; i++) {
			char key[16];

			snprintf(key, sizeof(key), "\"k%u\": ", i);
			if (i)
				gen_str(g, ", ");
			if (rnd() % 4 == 0) {
				gen_string(g);
				gen_str(g, ": ");
			} else {
				gen_str(g, key);
			}
			gen_value(g, depth + 1);
		}
		gen_str(g, "}");
		break;
	}
	}
}

static int verify(unsigned long n)
{
	static char keybuf[8192], valbuf[65536];
	unsigned long compared = 0, skipped = 0;

	for (unsigned long i = 0; i < n; i++) {
		struct gen key = { keybuf, 0, sizeof(keybuf) };
		struct gen val = { valbuf, 0, sizeof(valbuf) };
		bool diff = rnd() % 2;
		crdb_decode_opts opts = { .envelope = CRDB_ENVELOPE_WRAPPED, .diff = diff };
		crdb_event ev;
		crdb_error err;
		char e1[256], e2[256], hlc[64];
		const char *feed;
		struct line *fast, *ref;

		gen_str(&key, "[");
		gen_value(&key, 1);
		gen_str(&key, "]");
		gen_str(&val, "{\"after\": ");
		if (rnd() % 5 == 0)
			gen_str(&val, "null");
		else
			gen_value(&val, 0);
		if (val.p[strlen("{\"after\": ")] != '{' &&
		    val.p[strlen("{\"after\": ")] != 'n') {
			val.len = 0;
			gen_str(&val, "{\"after\": {}");
		}
		if (diff)
			gen_str(&val, ", \"before\": null");
		snprintf(hlc, sizeof(hlc), ", \"updated\": \"%llu.%010u\"",
			 (unsigned long long)(rnd() >> (rnd() % 64)),
			 (unsigned)(rnd() % 2147483648u));
		if (rnd() % 2)
			gen_str(&val, hlc);
		gen_str(&val, "}");
		if (crdb_event_decode_raw(rnd() % 8 ? "t" : "s.t\xc3\xa9", rnd() % 8 ? 1 : 6,
					  key.p, key.len, val.p, val.len, 1, &opts, &ev,
					  &err)) {
			skipped++; /* the generator made something the decoder refuses */
			continue;
		}
		feed = rnd() % 4 ? "feed" : "f\"\xc3\xa9";
		fast = line_new_row(feed, &ev, diff, e1, sizeof(e1));
		ref = line_new_row_json(feed, &ev, diff, e2, sizeof(e2));
		if (!fast || !ref || fast->len != ref->len ||
		    memcmp(fast->data, ref->data, fast->len) ||
		    strcmp(fast->table, ref->table) || fast->op != ref->op) {
			fprintf(stderr, "bench_encode: mismatch on value %s key %s\n fast %.*s\n ref  %.*s\n",
				val.p, key.p, fast ? (int)fast->len : 4, fast ? fast->data : "NULL",
				ref ? (int)ref->len : 4, ref ? ref->data : "NULL");
			return 1;
		}
		compared++;
		line_unref(fast);
		line_unref(ref);
		crdb_event_clear(&ev);
	}
	printf("{\"verified\":%lu,\"refused_by_decoder\":%lu}\n", compared, skipped);
	return compared ? 0 : 1;
}

/* "[i]" without printf, which would cost more than the encoder itself. */
static size_t key_text(char *buf, size_t size, unsigned long i)
{
	char digits[24];
	size_t n = 0, len = 0;

	do {
		digits[n++] = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	if (n + 3 > size)
		return 0;
	buf[len++] = '[';
	while (n)
		buf[len++] = digits[--n];
	buf[len++] = ']';
	buf[len] = '\0';
	return len;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t size = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
	const char *hlc = "1764000000000000000.0000000000";
	crdb_decode_opts opts = { .envelope = CRDB_ENVELOPE_WRAPPED };
	char value[4096], key[32], errbuf[256];
	size_t fixed, pad, line_bytes = 0;
	int value_len;
	int64_t start, end;

	if (argc > 1 && strcmp(argv[1], "--verify") == 0) {
		if (argc > 3)
			rng_state = strtoull(argv[3], NULL, 10) | 1;
		return verify(argc > 2 ? strtoul(argv[2], NULL, 10) : 100000);
	}
	/* The firehose's row (tests/crdbsim/feed.c), byte for byte. */
	fixed = strlen("{\"after\": {\"id\": 1, \"payload\": \"\"}, \"updated\": \"\"}") +
		strlen(hlc);
	pad = size > fixed ? size - fixed : 0;
	if (pad > 3000)
		pad = 3000;
	value_len = snprintf(value, sizeof(value),
			     "{\"after\": {\"id\": 1, \"payload\": \"%*s\"}, "
			     "\"updated\": \"%s\"}", (int)pad, "", hlc);
	memset(strchr(value, ' ') ? value + strlen("{\"after\": {\"id\": 1, \"payload\": \"") :
	       value, 'x', pad);

	start = now_ns();
	for (unsigned long i = 1; i <= n; i++) {
		crdb_event ev;
		crdb_error err;
		struct line *line;
		size_t key_len = key_text(key, sizeof(key), i);

		if (crdb_event_decode_raw("firehose", 8, key, key_len, value,
					  (size_t)value_len, 1, &opts, &ev, &err)) {
			fprintf(stderr, "bench_encode: %s\n", err.message);
			return 1;
		}
		line = line_new_row("fh", &ev, false, errbuf, sizeof(errbuf));
		if (!line) {
			fprintf(stderr, "bench_encode: %s\n", errbuf);
			return 1;
		}
		line_bytes = line->len;
		line_unref(line);
		crdb_event_clear(&ev);
	}
	end = now_ns();
	printf("{\"events\":%lu,\"ns_per_event\":%.1f,\"line_bytes\":%zu}\n", n,
	       n ? (double)(end - start) / (double)n : 0, line_bytes);
	return 0;
}
