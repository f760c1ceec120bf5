/*
 * idhash.h: a seeded 64-bit hash of a row's identity (updated, table, key
 * bytes), for the hash tables of held rows (order.c) and of rows delivered
 * (recent.c). Two different seeds give two hashes that behave as
 * independent (each word is mixed with the seed through a multiply and the
 * splitmix64 finaliser, a bijection), so the pair is a 128-bit fingerprint.
 * Not keyed against an adversary: the bytes come from the cluster.
 */
#ifndef CRDBFEEDD_IDHASH_H
#define CRDBFEEDD_IDHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crdb.h"

#define IDHASH_SEED_A UINT64_C(0x243f6a8885a308d3)
#define IDHASH_SEED_B UINT64_C(0x13198a2e03707344)

static inline uint64_t idhash_fmix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t idhash_step(uint64_t h, uint64_t w)
{
	h ^= idhash_fmix(w + h);
	return (h << 29 | h >> 35) * UINT64_C(0x9e3779b97f4a7c15);
}

/* Bytes into h, 8 at a time; the length goes in too, so "ab"+"c" and
 * "a"+"bc" differ when the caller hashes two fields. */
static inline uint64_t idhash_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t n = len;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = idhash_step(h, w);
		b += 8;
		n -= 8;
	}
	uint64_t last = 0;
	if (n)
		memcpy(&last, b, n);
	return idhash_step(h, last ^ ((uint64_t)len << 56) ^ len);
}

/* The identity (table, key, updated) under one seed. */
static inline uint64_t idhash_row(uint64_t seed, const char *table,
				  size_t table_len, const char *key,
				  size_t key_len, crdb_hlc updated)
{
	uint64_t h = idhash_step(seed, (uint64_t)updated.wall);
	h = idhash_step(h, (uint64_t)(uint32_t)updated.logical);
	h = idhash_bytes(h, table, table_len);
	h = idhash_bytes(h, key, key_len);
	return idhash_fmix(h);
}

#endif /* CRDBFEEDD_IDHASH_H */
