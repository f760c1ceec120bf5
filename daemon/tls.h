/*
 * tls.h: a TLS server context from PEM files, shared by crdbfeedd's TLS
 * endpoints (the LISTEN endpoint, the job ingest endpoint): TLS 1.2 or
 * later, the certificate chain and its key checked as a pair, and
 * optionally client certificates required and verified against a CA.
 */
#ifndef CRDBFEEDD_TLS_H
#define CRDBFEEDD_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/*
 * cert: PEM certificate chain; key: its PEM private key (NULL: refused
 * with "TLS certificate CERT without a key"); client_ca: NULL, or a PEM
 * file of the CAs whose certificates clients must present (the handshake
 * fails without one). NULL with one line in errbuf, "WHO: TLS ...", naming
 * the file OpenSSL refused and why.
 */
SSL_CTX *tls_server_ctx_new(const char *who, const char *cert,
			    const char *key, const char *client_ca,
			    char *errbuf, size_t errlen);

#endif /* CRDBFEEDD_TLS_H */
