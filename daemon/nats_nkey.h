/*
 * nats_nkey.h: the public key of an NKey seed file, which nats.c's
 * natsOptions_SetNKeyFromSeed wants next to the seed while the config
 * names only the seed file. NKey encoding: base32 (RFC 4648, no padding)
 * of prefix byte(s), the 32-byte Ed25519 key and a CRC-16/XMODEM of those,
 * little-endian; a seed "S..." has two prefix bytes carrying the key
 * type, its public key one (doc/nats.md, "NKeys").
 */
#ifndef CRDBFEEDD_NATS_NKEY_H
#define CRDBFEEDD_NATS_NKEY_H

#include <stddef.h>

/* 56 base32 characters and the NUL. */
#define NATS_NKEY_PUBLIC_BUFSIZE 57

/* The public key of the seed text seed[0..len) into out. 0, or -1 with
 * errbuf saying what is wrong with it (never its content). */
int nats_nkey_public_from_seed(const char *seed, size_t len, char *out,
			       size_t cap, char *errbuf, size_t errlen);

/* The same for the first line of a file holding a seed (other lines,
 * surrounding blanks and a .creds-style file are not read). 0, or -1 with
 * errbuf naming the file. The seed read is wiped. */
int nats_nkey_public_from_seed_file(const char *path, char *out, size_t cap,
				    char *errbuf, size_t errlen);

#endif /* CRDBFEEDD_NATS_NKEY_H */
