/*
 * tls.c: TLS server contexts from PEM files (tls.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "tls.h"

#include <stdbool.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "errbuf.h"

/* One line naming the file when OpenSSL refuses it. */
static SSL_CTX *tls_failed(SSL_CTX *ctx, const char *who, const char *what,
			   const char *file, char *errbuf, size_t errlen)
{
	char why[256];

	ERR_error_string_n(ERR_get_error(), why, sizeof why);
	ERR_clear_error();
	errbuf_add(errbuf, errlen, "%s: TLS %s %s: %s", who, what, file, why);
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_server_ctx_new(const char *who, const char *cert,
			    const char *key, const char *client_ca,
			    char *errbuf, size_t errlen)
{
	if (!key) {
		errbuf_add(errbuf, errlen, "%s: TLS certificate %s without a key", who, cert);
		return NULL;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return tls_failed(ctx, who, "context for", cert, errbuf, errlen);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return tls_failed(ctx, who, "certificate", cert, errbuf, errlen);
	/* OpenSSL 3 checks the pair already when the key loads. */
	bool loaded = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1;
	if (!loaded && ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH)
		return tls_failed(ctx, who, "key", key, errbuf, errlen);
	if (!loaded || SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		errbuf_add(errbuf, errlen, "%s: TLS key %s does not match certificate %s",
			   who, key, cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (client_ca) {
		/* The CA names go in the CertificateRequest, so that a client
		 * with several certificates picks the right one. */
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
		if (!names || SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			return tls_failed(ctx, who, "client CA", client_ca, errbuf, errlen);
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   NULL);
	}
	return ctx;
}
