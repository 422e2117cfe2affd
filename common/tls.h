/*
 * tls.h — OpenSSL contexts for shuangsui and a sans-I/O TLS pump.
 *
 * Both sides speak TLS 1.3 only.  The server requires a client certificate
 * issued by the city CA and checks it against the revocation list; the
 * client checks the server certificate against the same CA and host name.
 *
 * The pump keeps an SSL object between two memory BIOs: ciphertext from the
 * peer goes in with ss_tls_pump_feed(), ciphertext for the peer comes out of
 * ss_tls_pump_take(); no sockets are involved, so the loop glue stays thin
 * and the pump can be tested alone.
 */
#ifndef SS_TLS_H
#define SS_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Server context: certificate chain and key, clients verified against ca,
 * revocation checked against crl (PEM, one list or more; required: NULL or
 * "" is an error, as is any malformed list in the file).  Returns NULL and
 * logs the reason on failure.  Free with SSL_CTX_free().
 */
SSL_CTX *ss_tls_server_ctx_new(const char *ca, const char *cert, const char *key,
			       const char *crl);

/* Client context: presents cert/key, verifies the server against ca. */
SSL_CTX *ss_tls_client_ctx_new(const char *ca, const char *cert, const char *key);

/* Writes the lowercase hex SHA-256 of the certificate's DER into hex. Returns 0 or SS_ERR_TLS. */
int ss_tls_cert_fingerprint(X509 *cert, char hex[65]);

/*
 * Verifies the peer certificate of an established session again, against
 * ctx's trust store and revocation list (after a reload).  Returns 0 if it
 * is still valid, SS_ERR_TLS if not (reason logged at info).
 */
int ss_tls_peer_still_valid(SSL_CTX *ctx, SSL *ssl);

struct ss_tls_pump {
	SSL *ssl;
	BIO *rbio; /* ciphertext from the peer, read by OpenSSL */
	BIO *wbio; /* ciphertext for the peer, written by OpenSSL */
	int handshake_done;
	int failed; /* a fatal TLS error: no close_notify may follow */
};

/* Creates the SSL object in server mode; returns 0 or SS_ERR_NOMEM/SS_ERR_TLS. */
int ss_tls_pump_init_server(struct ss_tls_pump *p, SSL_CTX *ctx);
/* Releases the SSL object (and both BIOs); p may be zeroed or already freed. */
void ss_tls_pump_free(struct ss_tls_pump *p);

/* Hands len bytes of ciphertext from the peer to OpenSSL.  Returns 0 or SS_ERR_NOMEM. */
int ss_tls_pump_feed(struct ss_tls_pump *p, const uint8_t *data, size_t len);

/*
 * Advances the handshake.  Returns 0 once it is complete, SS_ERR_NEED_MORE
 * while it needs more peer bytes, or SS_ERR_TLS if it failed (peer
 * certificate refused, wrong version, ...), with the reason logged at info.
 */
int ss_tls_pump_handshake(struct ss_tls_pump *p);

/*
 * Reads decrypted bytes into buf.  Returns 0 with *got > 0, SS_ERR_NEED_MORE
 * when nothing is available, SS_ERR_CLOSED on close_notify, SS_ERR_TLS on error.
 */
int ss_tls_pump_read(struct ss_tls_pump *p, uint8_t *buf, size_t cap, size_t *got);

/* Encrypts len bytes for the peer (the output BIO grows as needed). Returns 0 or SS_ERR_TLS. */
int ss_tls_pump_write(struct ss_tls_pump *p, const uint8_t *data, size_t len);

/* Sends close_notify, unless the handshake never finished or the session failed. */
void ss_tls_pump_shutdown(struct ss_tls_pump *p);

/*
 * Takes all pending ciphertext for the peer into a malloc'd buffer (caller
 * frees).  Returns 0 with *out NULL and *len 0 when nothing is pending.
 */
int ss_tls_pump_take(struct ss_tls_pump *p, uint8_t **out, size_t *len);

#endif
