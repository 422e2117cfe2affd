/*
 * tls.c — OpenSSL contexts and the memory-BIO TLS pump.
 */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "ss_error.h"
#include "ss_log.h"

static SSL_CTX *ss_tls_ctx_common(const SSL_METHOD *method, const char *ca, const char *cert,
				  const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		ss_log_openssl(SS_LOG_ERROR, "SSL_CTX_new");
		return NULL;
	}
	/* The protocol is TLS 1.3 only (docs/protocol.md §1). */
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
		ss_log_openssl(SS_LOG_ERROR, "TLS 1.3");
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ss_log_openssl(SS_LOG_ERROR, ca);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ss_log_openssl(SS_LOG_ERROR, cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ss_log_openssl(SS_LOG_ERROR, key);
		goto fail;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Nonzero if the only error queued is PEM's "no start line" at the end of the file. */
static int ss_tls_pem_at_end(BIO *bio)
{
	unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();

	return first != 0 && ERR_GET_LIB(first) == ERR_LIB_PEM &&
	       ERR_GET_REASON(first) == PEM_R_NO_START_LINE && first == last && BIO_eof(bio);
}

static int ss_tls_load_crl(SSL_CTX *ctx, const char *crl_path)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_CRL *crl;
	BIO *bio = BIO_new_file(crl_path, "r");
	int n = 0;

	if (bio == NULL) {
		ss_log_openssl(SS_LOG_ERROR, crl_path);
		return SS_ERR_CONFIG;
	}
	ERR_clear_error();
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			BIO_free(bio);
			ss_log_openssl(SS_LOG_ERROR, crl_path);
			return SS_ERR_CONFIG;
		}
		X509_CRL_free(crl);
		n++;
	}
	/* The normal end is "no start line" once the whole file is read; any
	 * other error (bad base64, a truncated or malformed list) would leave
	 * revocations unenforced, so it is a configuration error. */
	if (!ss_tls_pem_at_end(bio)) {
		ss_log_openssl(SS_LOG_ERROR, crl_path);
		BIO_free(bio);
		return SS_ERR_CONFIG;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (n == 0) {
		ss_error("%s: no certificate revocation list found", crl_path);
		return SS_ERR_CONFIG;
	}
	/* Check the leaf against the CRL; a missing CRL for the CA is an error. */
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return 0;
}

SSL_CTX *ss_tls_server_ctx_new(const char *ca, const char *cert, const char *key,
			       const char *crl)
{
	SSL_CTX *ctx = ss_tls_ctx_common(TLS_server_method(), ca, cert, key);
	STACK_OF(X509_NAME) *names;

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	names = SSL_load_client_CA_file(ca);
	if (names != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	/* No session tickets: every connection proves its certificate afresh. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* Revocation is mandatory: a lost office certificate must be refusable. */
	if (crl == NULL || crl[0] == '\0') {
		ss_error("TLS: a certificate revocation list (tls.crl) is required");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (ss_tls_load_crl(ctx, crl) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *ss_tls_client_ctx_new(const char *ca, const char *cert, const char *key)
{
	SSL_CTX *ctx = ss_tls_ctx_common(TLS_client_method(), ca, cert, key);

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

int ss_tls_cert_fingerprint(X509 *cert, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	unsigned int i;
	static const char digits[] = "0123456789abcdef";

	hex[0] = '\0';
	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
		return SS_ERR_TLS;
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	return 0;
}

int ss_tls_pump_init_server(struct ss_tls_pump *p, SSL_CTX *ctx)
{
	p->handshake_done = 0;
	p->failed = 0;
	p->ssl = SSL_new(ctx);
	p->rbio = BIO_new(BIO_s_mem());
	p->wbio = BIO_new(BIO_s_mem());
	if (p->ssl == NULL || p->rbio == NULL || p->wbio == NULL) {
		SSL_free(p->ssl);
		BIO_free(p->rbio);
		BIO_free(p->wbio);
		p->ssl = NULL;
		p->rbio = p->wbio = NULL;
		return SS_ERR_NOMEM;
	}
	/* An empty memory BIO reports "retry", not EOF. */
	BIO_set_mem_eof_return(p->rbio, -1);
	BIO_set_mem_eof_return(p->wbio, -1);
	SSL_set_bio(p->ssl, p->rbio, p->wbio); /* the SSL owns both BIOs now */
	SSL_set_accept_state(p->ssl);
	return 0;
}

void ss_tls_pump_free(struct ss_tls_pump *p)
{
	if (p == NULL)
		return;
	SSL_free(p->ssl);
	p->ssl = NULL;
	p->rbio = p->wbio = NULL;
}

int ss_tls_pump_feed(struct ss_tls_pump *p, const uint8_t *data, size_t len)
{
	while (len > 0) {
		int chunk = len > 65536 ? 65536 : (int)len;
		int n = BIO_write(p->rbio, data, chunk);

		if (n <= 0)
			return SS_ERR_NOMEM;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int ss_tls_pump_handshake(struct ss_tls_pump *p)
{
	int rc;

	if (p->handshake_done)
		return 0;
	ERR_clear_error();
	rc = SSL_do_handshake(p->ssl);
	if (rc == 1) {
		p->handshake_done = 1;
		return 0;
	}
	switch (SSL_get_error(p->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return SS_ERR_NEED_MORE;
	default: {
		long v = SSL_get_verify_result(p->ssl);

		/* SSL_ERROR_SSL or SSL_ERROR_SYSCALL: SSL_shutdown must not follow. */
		p->failed = 1;
		if (v != X509_V_OK)
			ss_info("TLS handshake refused: peer certificate: %s",
				X509_verify_cert_error_string(v));
		ss_log_openssl(SS_LOG_INFO, "TLS handshake refused");
		return SS_ERR_TLS;
	}
	}
}

int ss_tls_pump_read(struct ss_tls_pump *p, uint8_t *buf, size_t cap, size_t *got)
{
	size_t n = 0;
	int rc;

	*got = 0;
	ERR_clear_error();
	rc = SSL_read_ex(p->ssl, buf, cap, &n);
	if (rc == 1) {
		*got = n;
		return 0;
	}
	switch (SSL_get_error(p->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return SS_ERR_NEED_MORE;
	case SSL_ERROR_ZERO_RETURN:
		return SS_ERR_CLOSED;
	default:
		p->failed = 1;
		ss_log_openssl(SS_LOG_INFO, "TLS read");
		return SS_ERR_TLS;
	}
}

int ss_tls_pump_write(struct ss_tls_pump *p, const uint8_t *data, size_t len)
{
	while (len > 0) {
		size_t n = 0;

		ERR_clear_error();
		if (SSL_write_ex(p->ssl, data, len, &n) != 1) {
			int e = SSL_get_error(p->ssl, 0);

			if (e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL)
				p->failed = 1;
			ss_log_openssl(SS_LOG_INFO, "TLS write");
			return SS_ERR_TLS;
		}
		data += n;
		len -= n;
	}
	return 0;
}

void ss_tls_pump_shutdown(struct ss_tls_pump *p)
{
	/* OpenSSL: SSL_shutdown must not be called after SSL_ERROR_SSL or
	 * SSL_ERROR_SYSCALL. */
	if (p->ssl == NULL || !p->handshake_done || p->failed)
		return;
	ERR_clear_error();
	(void)SSL_shutdown(p->ssl);
	ERR_clear_error();
}

int ss_tls_pump_take(struct ss_tls_pump *p, uint8_t **out, size_t *len)
{
	size_t pending = BIO_ctrl_pending(p->wbio);
	uint8_t *buf;
	int n;

	*out = NULL;
	*len = 0;
	if (pending == 0)
		return 0;
	buf = malloc(pending);
	if (buf == NULL)
		return SS_ERR_NOMEM;
	n = BIO_read(p->wbio, buf, (int)pending);
	if (n <= 0) {
		free(buf);
		return 0;
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int ss_tls_peer_still_valid(SSL_CTX *ctx, SSL *ssl)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509_STORE_CTX *vctx;
	int ok;

	if (peer == NULL)
		return SS_ERR_TLS;
	vctx = X509_STORE_CTX_new();
	if (vctx == NULL)
		return SS_ERR_NOMEM;
	/* The same checks as a new handshake: chain, dates, the (new) CRL. */
	ok = X509_STORE_CTX_init(vctx, SSL_CTX_get_cert_store(ctx), peer, chain) == 1 &&
	     X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_SSL_CLIENT) == 1 &&
	     X509_verify_cert(vctx) == 1;
	if (!ok)
		ss_info("peer certificate no longer valid: %s",
			X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
	X509_STORE_CTX_free(vctx);
	ERR_clear_error();
	return ok ? 0 : SS_ERR_TLS;
}
