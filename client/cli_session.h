/*
 * cli_session.h — one blocking client session with shuangsuid.
 *
 * A session is a TCP connection (getaddrinfo, connect with a timeout), a
 * TLS 1.3 handshake that presents the user's certificate and checks the
 * server's against the CA and the host name, and the Hello exchange
 * (docs/protocol.md).  Requests then go one at a time: cli_session_call()
 * sends one Envelope and reads frames until the reply with the same
 * request_id.  Blocking I/O is right for a command-line tool; every read
 * and write is bounded by the timeout.
 *
 * Functions return 0 or a negative ss_err code; on failure s->why holds a
 * translated sentence naming the reason (the OpenSSL verify error, the
 * errno text, ...).  The codes mean:
 *   SS_ERR_CONFIG   the CA, certificate or key could not be loaded;
 *   SS_ERR_IO       name resolution or connect failed, or the connection broke;
 *   SS_ERR_TLS      the handshake failed or the peer refused us;
 *   SS_ERR_TIMEOUT  nothing happened within the timeout;
 *   SS_ERR_CLOSED   the server closed the connection before replying;
 *   SS_ERR_PROTOCOL, SS_ERR_MALFORMED_MESSAGE, SS_ERR_FRAME_TOO_LARGE
 *                   the server's bytes do not follow the protocol;
 *   SS_ERR_NOMEM    out of memory.
 */
#ifndef CLI_SESSION_H
#define CLI_SESSION_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "wire.h"

struct cli_session {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int established; /* the handshake completed */
	int broken;	 /* a fatal TLS or socket error happened */
	int timeout_ms;
	uint64_t next_request_id;
	uint32_t max_frame; /* the server's limit for our frames */
	struct ss_frame_reader reader;
	uint8_t buf[16384]; /* plaintext read but not yet framed */
	size_t buf_off;
	size_t buf_len;
	SsEnvelope *hello;	 /* the HelloReply envelope, or NULL */
	SsEnvelope *hello_error; /* an Error answering Hello, or NULL */
	char why[512];
};

struct cli_session_params {
	const char *host;
	const char *port;
	const char *ca;
	const char *cert;
	const char *key;
	int timeout_ms;
};

/*
 * Creates a session: loads the credentials, connects, completes the
 * handshake and sends Hello.  On success *out is set; if the server
 * answered Hello with an Error, that is success too and (*out)->hello_error
 * holds it (the caller reports it).  On failure *out is the session anyway
 * (for s->why) unless SS_ERR_NOMEM is returned with *out NULL.  The caller
 * frees with cli_session_free().
 */
int cli_session_open(const struct cli_session_params *p, struct cli_session **out);

/*
 * Sends req (its request_id is assigned here) and waits for the reply.
 * On 0, *reply is the reply Envelope — possibly with an Error body — and
 * the caller frees it with shuangsui__v1__envelope__free_unpacked(r, NULL).
 * An Error with request_id 0 (the server's connection-level error) is taken
 * as the reply.  *reply is NULL on failure.
 */
int cli_session_call(struct cli_session *s, SsEnvelope *req, SsEnvelope **reply);

/*
 * Pipelining: cli_session_send() sends req (assigning req->request_id) and
 * returns without waiting; cli_session_recv() reads the next reply, whatever
 * request it answers (match on request_id).  Same return codes as
 * cli_session_call().
 */
int cli_session_send(struct cli_session *s, SsEnvelope *req);
int cli_session_recv(struct cli_session *s, SsEnvelope **reply);

/* Sends close_notify, closes the socket and frees s.  s may be NULL. */
void cli_session_free(struct cli_session *s);

#endif
