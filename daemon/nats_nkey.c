/*
 * nats_nkey.c: deriving an NKey's public key from its seed, with
 * OpenSSL's Ed25519 (nats_nkey.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "nats_nkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

/* A seed: 2 prefix bytes, 32 key bytes, 2 CRC bytes = 36 bytes, 58 base32
 * characters; a public key: 1 + 32 + 2 = 35 bytes, 56 characters. */
#define SEED_RAW 36
#define SEED_CHARS 58
#define PUBLIC_RAW 35
#define PREFIX_BYTE_SEED (18 << 3)

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static uint16_t crc16_xmodem(const unsigned char *p, size_t n)
{
	uint16_t crc = 0;
	size_t i;
	int bit;

	for (i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (bit = 0; bit < 8; bit++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021)
					     : (uint16_t)(crc << 1);
	}
	return crc;
}

/* Decode base32 text into out (exactly outlen bytes). 0 or -1. */
static int b32_decode(const char *s, size_t len, unsigned char *out,
		      size_t outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		const char *c = memchr(b32, s[i], 32);

		if (!c || !s[i])
			return -1;
		acc = (acc << 5) | (uint32_t)(c - b32);
		bits += 5;
		if (bits >= 8) {
			if (n == outlen)
				return -1;
			out[n++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return n == outlen ? 0 : -1;
}

static void b32_encode(const unsigned char *in, size_t len, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[n++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits)
		out[n++] = b32[(acc << (5 - bits)) & 31];
	out[n] = '\0';
}

int nats_nkey_public_from_seed(const char *seed, size_t len, char *out,
			       size_t cap, char *errbuf, size_t errlen)
{
	unsigned char raw[SEED_RAW], pub[PUBLIC_RAW];
	size_t pub_len = 32;
	EVP_PKEY *key = NULL;
	uint16_t crc;
	int rc = -1;

	if (cap < NATS_NKEY_PUBLIC_BUFSIZE) {
		snprintf(errbuf, errlen, "nkey: output buffer too small");
		return -1;
	}
	if (len != SEED_CHARS || b32_decode(seed, len, raw, sizeof(raw))) {
		snprintf(errbuf, errlen,
			 "not an NKey seed (%d base32 characters starting with S)",
			 SEED_CHARS);
		goto out;
	}
	crc = crc16_xmodem(raw, SEED_RAW - 2);
	if ((raw[0] & 0xf8) != PREFIX_BYTE_SEED ||
	    raw[SEED_RAW - 2] != (crc & 0xff) || raw[SEED_RAW - 1] != (crc >> 8)) {
		snprintf(errbuf, errlen,
			 "not an NKey seed (bad prefix or checksum)");
		goto out;
	}
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 2, 32);
	if (!key || EVP_PKEY_get_raw_public_key(key, pub + 1, &pub_len) != 1 ||
	    pub_len != 32) {
		snprintf(errbuf, errlen, "nkey: Ed25519 key derivation failed");
		goto out;
	}
	pub[0] = (unsigned char)(((raw[0] & 7) << 5) | ((raw[1] & 0xf8) >> 3));
	crc = crc16_xmodem(pub, PUBLIC_RAW - 2);
	pub[PUBLIC_RAW - 2] = (unsigned char)(crc & 0xff);
	pub[PUBLIC_RAW - 1] = (unsigned char)(crc >> 8);
	b32_encode(pub, PUBLIC_RAW, out);
	rc = 0;
out:
	EVP_PKEY_free(key);
	explicit_bzero(raw, sizeof(raw));
	return rc;
}

int nats_nkey_public_from_seed_file(const char *path, char *out, size_t cap,
				    char *errbuf, size_t errlen)
{
	char buf[256], why[160];
	size_t used = 0, start, end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		snprintf(errbuf, errlen, "nats: nats_nkey_seed %s: %s", path,
			 strerror(errno));
		return -1;
	}
	while (used < sizeof(buf) - 1 &&
	       (n = read(fd, buf + used, sizeof(buf) - 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			close(fd);
			explicit_bzero(buf, sizeof(buf));
			snprintf(errbuf, errlen, "nats: nats_nkey_seed %s: %s",
				 path, strerror(saved));
			return -1;
		}
		used += (size_t)n;
	}
	close(fd);
	for (start = 0; start < used && strchr(" \t\r\n", buf[start]) &&
			buf[start];
	     start++)
		;
	for (end = start; end < used && !strchr(" \t\r\n", buf[end]) && buf[end];
	     end++)
		;
	rc = nats_nkey_public_from_seed(buf + start, end - start, out, cap, why,
					sizeof(why));
	explicit_bzero(buf, sizeof(buf));
	if (rc)
		snprintf(errbuf, errlen, "nats: nats_nkey_seed %s: %s", path, why);
	return rc;
}
