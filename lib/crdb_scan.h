/*
 * crdb_scan.h: the byte scanner for JSON strings and their UTF-8, shared
 * by libcrdb's JSON reader and crdbfeedd's encoders and webhook body
 * parser. Not installed. Static inline, so that
 * the daemon (which links the shared library, whose internal crdb__
 * symbols are hidden) compiles the same code in place without a second
 * copy of it and without a new exported symbol.
 */
#ifndef CRDB_SCAN_H
#define CRDB_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * Bytes of the UTF-8 sequence at s (at most len), 0 when invalid: no
 * overlong forms, no surrogates, nothing above U+10FFFF (the rules of
 * jansson's utf8_check_first/utf8_check_full).
 */
static inline size_t crdb_scan_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;
	return n;
}

/* Write code point cp (at most U+10FFFF, no surrogate) as UTF-8 into out
 * (room for 4 bytes); returns the bytes written. */
static inline size_t crdb_scan_utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Is s (len bytes) valid UTF-8? */
static inline bool crdb_scan_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = s[i] < 0x80 ? 1 : crdb_scan_utf8_seq(s + i, len - i);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* A byte a JSON string can hold unchanged and unescaped: printable ASCII
 * other than the quote and the backslash. */
static inline bool crdb_scan_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*
 * Is any of the eight bytes at p not plain? The classic word-at-a-time
 * tests: a byte below 0x20, a byte equal to '"' or '\\' (a zero byte
 * after XOR), a byte with its top bit set. They may also flag bytes above
 * a flagged one, never below: the lowest flag is exact.
 */
static inline uint64_t crdb_scan_special8(const unsigned char *p)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	uint64_t x, quote, slash;

	memcpy(&x, p, sizeof(x));
	quote = x ^ (ones * '"');
	slash = x ^ (ones * '\\');
	return ((x - ones * 0x20) | ((quote - ones) & ~quote) |
		((slash - ones) & ~slash) | x) & highs;
}

/* The end of the plain bytes of s from pos (at most len): sixteen or
 * eight bytes at a time, then the lowest flagged byte. */
static inline size_t crdb_scan_plain_end(const unsigned char *s, size_t pos,
					 size_t len)
{
#ifdef __SSE2__
	/* As signed bytes, non-ASCII is below 0x20 too. */
	while (len - pos >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + pos));
		__m128i special = _mm_or_si128(
			_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
			_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
				     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
		int mask = _mm_movemask_epi8(special);

		if (mask)
			return pos + (size_t)__builtin_ctz((unsigned)mask);
		pos += 16;
	}
#endif
	while (len - pos >= 8) {
		uint64_t mask = crdb_scan_special8(s + pos);

		if (mask) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return pos + (size_t)__builtin_ctzll(mask) / 8;
#else
			break;
#endif
		}
		pos += 8;
	}
	while (pos < len && crdb_scan_plain(s[pos]))
		pos++;
	return pos;
}

#endif /* CRDB_SCAN_H */
