/*
 * bench_encode.c: crdbfeedd's per-event CPU path without any I/O: decode a
 * firehose row (crdb_event_decode_raw, binary format, as crdbfeedd gets it)
 * and encode its output line (line_new_row), N times. Run under callgrind,
 * its instruction count divided by N is the hot path's instructions per
 * event, a figure that machine noise does not move.
 *
 * usage: bench_encode [N [SIZE [direct]]]   (default 100000 events of 200
 * bytes; "direct": line_new_row_raw, the path without decoding)
 * Prints one JSON object: events, ns_per_event, line_bytes.
 *
 *        bench_encode --verify N [SEED]
 * compares the fast row encoder and the direct path with the jansson
 * reference (line_new_row_json) on N random rows (strings with escapes and
 * UTF-8, integers and reals of every size, numbers beyond a double or int64
 * with long digits, exponents and negative zero, malformed numbers,
 * nesting, duplicate keys, odd whitespace and member orders, HLCs, diff,
 * truncated values), decoded with number_text (as crdbfeedd decodes) three
 * times in four: every line must be byte-identical, every number of a
 * number_text row must leave with its own digits, and the direct path
 * must refuse what the decoder refuses. Prints the first difference and
 * exits 1 otherwise.
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

/* Separators as CockroachDB writes them (", ", ": "), compact, or odd. */
static const char *sep_comma = ", ", *sep_colon = ": ";

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

/* The numbers written while recording (the key and "after"), in order. */
static char recorded[256][64];
static size_t nrecorded;
static bool recording;

static void gen_number(struct gen *g)
{
	size_t at = g->len;

	static const char *const numbers[] = {
		"0", "-0", "1", "-1", "22.30", "0.5", "0.30000000000000004", "1e10",
		"1E-7", "-2.5e+300", "9007199254740993", "9223372036854775807",
		"-9223372036854775808", "9223372036854775808", "123456789012345678901234",
		"3.141592653589793", "0.1", "100", "1.7976931348623157e308", "5e-324",
		"2.2250738585072014e-308", "123.456", "1e21", "1e-5", "0.000001",
		"12345678901234567", "1.5", "-0.0",
		/* beyond a double or int64: kept with their digits (number_text) */
		"123456789012345678901234567890", "-99999999999999999999",
		"12345678901234567890.123456789012345678901", "1.0e400", "1.0E+400",
		"1e-30", "1E-30", "0e0", "1E+2", "-1.25e-3", "2.5E-7",
		"0.000000000000000000000000000001", "22.300000000000000000000",
		/* not JSON numbers: the decoder refuses them, so must the direct path */
		"01", "1.", "-", ".5", "1e", "+1", "1e+", "-01.5",
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
	if (recording && nrecorded < 256 && g->len - at < 64) {
		memcpy(recorded[nrecorded], g->p + at, g->len - at);
		recorded[nrecorded++][g->len - at] = '\0';
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
				gen_str(g, sep_comma);
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

			/* Sometimes a key twice: the decoder refuses that. */
			snprintf(key, sizeof(key), "\"k%u\"", rnd() % 16 ? i : 0);
			if (i)
				gen_str(g, sep_comma);
			if (rnd() % 4 == 0)
				gen_string(g);
			else
				gen_str(g, key);
			gen_str(g, sep_colon);
			gen_value(g, depth + 1);
		}
		gen_str(g, "}");
		break;
	}
	}
}

/* A wrapped value: members in a random order, some optional or odd. */
static void gen_wrapped(struct gen *val, bool diff)
{
	char hlc[80];
	int order[5] = { 0, 1, 2, 3, 4 };
	bool first = true;

	for (int i = 4; i > 0; i--) {
		int j = (int)(rnd() % (uint64_t)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	if (rnd() % 3)	/* CockroachDB's order most of the time */
		for (int i = 0; i < 5; i++)
			order[i] = i;
	gen_str(val, rnd() % 8 ? "{" : " {\n");
	for (int i = 0; i < 5; i++) {
		size_t mark = val->len;

		if (!first)
			gen_str(val, sep_comma);
		switch (order[i]) {
		case 0: /* after: an object, null, rarely something else */
			gen_str(val, "\"after\"");
			gen_str(val, sep_colon);
			if (rnd() % 5 == 0)
				gen_str(val, "null");
			else if (rnd() % 30 == 0)
				gen_value(val, 3);
			else {
				size_t at = val->len, kept = nrecorded;

				recording = true;
				gen_value(val, 0);
				recording = false;
				if (val->p[at] != '{') {
					nrecorded = kept;
					val->len = at;
					gen_str(val, "{\"id\": 1}");
				}
			}
			break;
		case 1: /* before: with diff nearly always */
			if (rnd() % (diff ? 20 : 2) == 0) {
				val->len = mark;
				continue;
			}
			gen_str(val, "\"before\"");
			gen_str(val, sep_colon);
			gen_str(val, rnd() % 2 ? "null" : "{\"id\": 2, \"v\": \"b\"}");
			break;
		case 2:
		case 3: /* updated, mvcc_timestamp */
			if (rnd() % 2) {
				val->len = mark;
				continue;
			}
			snprintf(hlc, sizeof(hlc), "\"%s\"%s\"%llu.%0*u\"",
				 order[i] == 2 ? "updated" : "mvcc_timestamp", sep_colon,
				 (unsigned long long)(rnd() >> (rnd() % 64)),
				 rnd() % 10 ? 10 : (int)(rnd() % 12),
				 (unsigned)(rnd() % 2147483648u));
			gen_str(val, hlc);
			break;
		default: /* key_in_value, topic_in_value and the like */
			if (rnd() % 3) {
				val->len = mark;
				continue;
			}
			gen_str(val, rnd() % 2 ? "\"key\"" : "\"topic\"");
			gen_str(val, sep_colon);
			gen_value(val, 1);
			break;
		}
		first = false;
	}
	gen_str(val, rnd() % 8 ? "}" : "}\n ");
}

/*
 * Number tokens of s outside strings, one after the other: *at is where to
 * look from; false when there are no more.
 */
static bool next_number(const char *s, size_t len, size_t *at, size_t *start,
			size_t *n)
{
	size_t i = *at;

	while (i < len) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
			*start = i;
			while (i < len && strchr("0123456789+-.eE", s[i]))
				i++;
			*n = i - *start;
			*at = i;
			return true;
		}
		i++;
	}
	return false;
}

/*
 * Every number generated into the key and the value's "after" (recorded by
 * gen_number()) appears in the line with the same bytes, in the same
 * order, from the line's "key" on.
 */
static bool numbers_kept(const struct line *line)
{
	const char *from = strstr(line->data, ",\"key\":");
	size_t at = from ? (size_t)(from - line->data) : line->len;

	for (size_t k = 0; k < nrecorded; k++) {
		size_t start, n;
		bool found = false;

		while (next_number(line->data, line->len, &at, &start, &n))
			if (n == strlen(recorded[k]) &&
			    memcmp(line->data + start, recorded[k], n) == 0) {
				found = true;
				break;
			}
		if (!found)
			return false;
	}
	return true;
}

/* Does the value hold a number no double or int64 holds? */
static bool big_number(const struct gen *val)
{
	return strstr(val->p, "123456789012345678901234567890") ||
	       strstr(val->p, "1.0e400") || strstr(val->p, "1.0E+400") ||
	       strstr(val->p, "0.000000000000000000000000000001");
}

static bool same_line(const struct line *a, const struct line *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0 &&
	       strcmp(a->table, b->table) == 0 && a->op == b->op && a->kind == b->kind;
}

/*
 * Random rows through three paths: decode + line_new_row (fast encoder),
 * decode + line_new_row_json (jansson, the reference), and
 * line_new_row_raw (no decode). The first two must agree on every row
 * the decoder accepts; the raw path must agree whenever it takes a row and
 * must never take one the decoder refuses.
 */
static int verify(unsigned long n)
{
	static char keybuf[8192], valbuf[65536];
	unsigned long compared = 0, refused = 0, direct = 0, numbers_direct = 0;
	static const char *const commas[] = { ", ", ",", " , ", ",\n" };
	static const char *const colons[] = { ": ", ":", " :\t" };

	for (unsigned long i = 0; i < n; i++) {
		struct gen key = { keybuf, 0, sizeof(keybuf) };
		struct gen val = { valbuf, 0, sizeof(valbuf) };
		bool diff = rnd() % 2;
		crdb_decode_opts opts = { .envelope = CRDB_ENVELOPE_WRAPPED, .diff = diff,
					  .number_text = rnd() % 4 != 0 };
		crdb_event ev;
		crdb_error err;
		char e1[256], e2[256];
		const char *feed = rnd() % 4 ? "feed" : "f\"\xc3\xa9";
		const char *table = rnd() % 8 ? "t" : rnd() % 2 ? "s.t\xc3\xa9" : "a\"b";
		size_t table_len = strlen(table);
		struct line *fast, *ref, *raw;
		int rc;

		sep_comma = rnd() % 2 ? ", " : commas[rnd() % 4];
		sep_colon = rnd() % 2 ? ": " : colons[rnd() % 3];
		nrecorded = 0;
		recording = true;
		gen_str(&key, "[");
		gen_value(&key, 1);
		gen_str(&key, "]");
		recording = false;
		gen_wrapped(&val, diff);
		if (rnd() % 50 == 0 && val.len > 1)
			val.len = (size_t)(rnd() % val.len); /* truncated: malformed */
		rc = crdb_event_decode_raw(table, table_len, key.p, key.len, val.p, val.len,
					   1, &opts, &ev, &err);
		raw = line_new_row_raw(feed, table, table_len, key.p, key.len, val.p, val.len,
				       &opts);
		if (rc) {
			refused++;
			if (raw) {
				fprintf(stderr, "bench_encode: the raw path took a row the decoder "
					"refuses (%s): key %.*s value %.*s\n", err.message,
					(int)key.len, key.p, (int)val.len, val.p);
				return 1;
			}
			continue;
		}
		fast = line_new_row(feed, &ev, diff, e1, sizeof(e1));
		ref = line_new_row_json(feed, &ev, diff, e2, sizeof(e2));
		if (!fast || !ref || !same_line(fast, ref) || (raw && !same_line(raw, ref))) {
			fprintf(stderr, "bench_encode: mismatch on key %.*s value %.*s\n fast %.*s\n"
				" ref  %.*s\n raw  %.*s\n", (int)key.len, key.p, (int)val.len, val.p,
				fast ? (int)fast->len : 4, fast ? fast->data : "NULL",
				ref ? (int)ref->len : 4, ref ? ref->data : "NULL",
				raw ? (int)raw->len : 4, raw ? raw->data : "NULL");
			return 1;
		}
		if (opts.number_text && !numbers_kept(ref)) {
			fprintf(stderr, "bench_encode: a number lost its digits: key %.*s "
				"value %.*s\n line %.*s", (int)key.len, key.p, (int)val.len,
				val.p, (int)ref->len, ref->data);
			return 1;
		}
		compared++;
		direct += raw != NULL;
		numbers_direct += raw != NULL && opts.number_text && big_number(&val);
		line_unref(fast);
		line_unref(ref);
		line_unref(raw);
		crdb_event_clear(&ev);
	}
	printf("{\"verified\":%lu,\"direct_path\":%lu,\"direct_big_numbers\":%lu,"
	       "\"refused_by_decoder\":%lu}\n", compared, direct, numbers_direct, refused);
	return compared && direct && numbers_direct ? 0 : 1;
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
	crdb_decode_opts opts = { .envelope = CRDB_ENVELOPE_WRAPPED, .number_text = true };
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
	if (argc > 3 && strcmp(argv[3], "direct") == 0) {
		for (unsigned long i = 1; i <= n; i++) {
			size_t key_len = key_text(key, sizeof(key), i);
			struct line *line = line_new_row_raw("fh", "firehose", 8, key, key_len,
							     value, (size_t)value_len, &opts);

			if (!line) {
				fprintf(stderr, "bench_encode: the direct path refused the row\n");
				return 1;
			}
			line_bytes = line->len;
			line_unref(line);
		}
		n = n ? n : 1;
		end = now_ns();
		printf("{\"events\":%lu,\"ns_per_event\":%.1f,\"line_bytes\":%zu,"
		       "\"path\":\"direct\"}\n", n, (double)(end - start) / (double)n,
		       line_bytes);
		return 0;
	}
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
