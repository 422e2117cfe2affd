/*
 * cli_session.c — socket, TLS and request/reply for the command-line client.
 */
#include "cli_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libintl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ss_error.h"
#include "tls.h"

#define _(s) gettext(s)

/* The largest Hello a server must accept (docs/protocol.md §2). */
#define CLI_SESSION_HELLO_MAX 1024

/* Frames for other request ids tolerated while waiting for a reply. */
#define CLI_SESSION_MAX_STRAY 64

static int cli_session_fail(struct cli_session *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cli_session_fail(struct cli_session *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	return rc;
}

/* Waits for a non-blocking connect to finish; returns 0 or an errno value. */
static int cli_session_connect_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(int);
	int err = 0;
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	if (n == 0)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/* Connects fd to ai within the timeout; returns 0 or an errno value. */
static int cli_session_connect_one(struct cli_session *s, const struct addrinfo *ai)
{
	struct timeval tv = {s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000};
	int flags, one = 1;
	int err = 0;

	s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (s->fd < 0)
		return errno;
	flags = fcntl(s->fd, F_GETFL);
	if (flags < 0 || fcntl(s->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		err = errno;
	else if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) < 0)
		err = errno == EINPROGRESS ? cli_session_connect_wait(s->fd, s->timeout_ms) : errno;
	/* Back to blocking; the socket timeouts bound every later read and
	 * write.  No Nagle delay: a request written right after the TLS
	 * handshake's last flight otherwise waits for its acknowledgement
	 * (about 40 ms per connection). */
	if (err == 0 && (fcntl(s->fd, F_SETFL, flags) < 0 ||
			 setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
			 setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
			 setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0))
		err = errno;
	if (err != 0) {
		close(s->fd);
		s->fd = -1;
	}
	return err;
}

static int cli_session_connect(struct cli_session *s, const struct cli_session_params *p)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	int err = ECONNREFUSED;
	int g;

	g = getaddrinfo(p->host, p->port, &hints, &res);
	if (g != 0)
		return cli_session_fail(s, SS_ERR_IO, _("cannot resolve server name %s: %s"),
					p->host,
					g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		err = cli_session_connect_one(s, ai);
		if (err == 0)
			break;
	}
	freeaddrinfo(res);
	if (err == ETIMEDOUT)
		return cli_session_fail(s, SS_ERR_TIMEOUT,
					_("cannot connect to %s port %s: no answer within %d s"),
					p->host, p->port, s->timeout_ms / 1000);
	if (err != 0)
		return cli_session_fail(s, SS_ERR_IO, _("cannot connect to %s port %s: %s"),
					p->host, p->port, strerror(err));
	return 0;
}

/*
 * Turns a failed SSL_* call into an ss_err and a sentence.  The socket has
 * SO_RCVTIMEO/SO_SNDTIMEO, so "want read/write" on it means the timeout ran out.
 */
static int cli_session_ssl_error(struct cli_session *s, int ret, const char *what)
{
	int saved = errno; /* before any other call can change it */
	int e = SSL_get_error(s->ssl, ret);
	long verify = SSL_get_verify_result(s->ssl);
	unsigned long err = ERR_peek_last_error();
	const char *reason = ERR_reason_error_string(err);

	s->broken = 1;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return cli_session_fail(s, SS_ERR_TIMEOUT,
					_("%s: no answer from the server within %d s"), what,
					s->timeout_ms / 1000);
	if (e == SSL_ERROR_ZERO_RETURN ||
	    (ERR_GET_LIB(err) == ERR_LIB_SSL &&
	     ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
	    (e == SSL_ERROR_SYSCALL && err == 0 && saved == 0)) {
		/* A refused certificate, a full or stopping server all look alike here
		 * (docs/protocol.md §1.1, §12). */
		if (s->hello == NULL)
			return cli_session_fail(
			    s, SS_ERR_CLOSED,
			    _("%s: the server closed the connection (certificate refused, or "
			      "server busy or unavailable)"),
			    what);
		return cli_session_fail(s, SS_ERR_CLOSED, _("%s: the server closed the connection"),
					what);
	}
	if (verify != X509_V_OK)
		return cli_session_fail(s, SS_ERR_TLS, _("%s: server certificate rejected: %s"),
					what, X509_verify_cert_error_string(verify));
	if (e == SSL_ERROR_SYSCALL && err == 0)
		return cli_session_fail(s, SS_ERR_IO, "%s: %s", what, strerror(saved));
	/* An alert from the server: in TLS 1.3 a refused client certificate
	 * shows only here, at the first read after the handshake. */
	if (ERR_GET_LIB(err) == ERR_LIB_SSL && ERR_GET_REASON(err) >= SSL_AD_REASON_OFFSET)
		return cli_session_fail(
		    s, SS_ERR_TLS,
		    _("%s: the server refused the TLS session (%s); check that your certificate is "
		      "issued by the right CA and not revoked"),
		    what, reason != NULL ? reason : "?");
	return cli_session_fail(s, SS_ERR_TLS, "%s: %s", what,
				reason != NULL ? reason : _("unknown TLS error"));
}

/* Names the server for certificate checking: an IP address or a DNS name. */
static int cli_session_set_peer_name(struct cli_session *s, const char *host)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
		/* RFC 6066 §3: no SNI for address literals; match the iPAddress SAN. */
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), host) == 1 ? 0 : -1;
	if (SSL_set_tlsext_host_name(s->ssl, host) != 1 || SSL_set1_host(s->ssl, host) != 1)
		return -1;
	return 0;
}

static int cli_session_handshake(struct cli_session *s, const char *host)
{
	int ret;

	s->ssl = SSL_new(s->ctx);
	if (s->ssl == NULL)
		return cli_session_fail(s, SS_ERR_NOMEM, "%s", _("out of memory"));
	if (SSL_set_fd(s->ssl, s->fd) != 1 || cli_session_set_peer_name(s, host) != 0)
		return cli_session_fail(s, SS_ERR_TLS, _("cannot set up TLS for %s"), host);
	ERR_clear_error();
	ret = SSL_connect(s->ssl);
	if (ret != 1)
		return cli_session_ssl_error(s, ret, _("TLS handshake"));
	s->established = 1;
	return 0;
}

static int cli_session_write_all(struct cli_session *s, const uint8_t *data, size_t len)
{
	size_t off = 0;
	int n;

	/* The context allows partial writes; loop until the frame is out. */
	while (off < len) {
		ERR_clear_error();
		n = SSL_write(s->ssl, data + off, (int)(len - off));
		if (n <= 0)
			return cli_session_ssl_error(s, n, _("sending the request"));
		off += (size_t)n;
	}
	return 0;
}

static int cli_session_fill(struct cli_session *s)
{
	int n;

	ERR_clear_error();
	n = SSL_read(s->ssl, s->buf, (int)sizeof(s->buf));
	if (n <= 0)
		return cli_session_ssl_error(s, n, _("waiting for the reply"));
	s->buf_off = 0;
	s->buf_len = (size_t)n;
	return 0;
}

static int cli_session_frame_error(struct cli_session *s, int rc)
{
	s->broken = 1;
	if (rc == SS_ERR_FRAME_TOO_LARGE)
		return cli_session_fail(s, rc, _("the server sent a frame larger than %u bytes"),
					(unsigned)s->reader.max);
	if (rc == SS_ERR_MALFORMED_MESSAGE)
		return cli_session_fail(s, rc, "%s", _("the server sent an empty frame"));
	return cli_session_fail(s, rc, "%s", _("out of memory"));
}

/* Reads the next whole frame and unpacks it; *env is freed by the caller. */
static int cli_session_next(struct cli_session *s, SsEnvelope **env)
{
	uint8_t *frame = NULL;
	size_t frame_len = 0;
	size_t used;
	int rc;

	*env = NULL;
	for (;;) {
		if (s->buf_off < s->buf_len) {
			rc = ss_frame_reader_feed(&s->reader, s->buf + s->buf_off,
						  s->buf_len - s->buf_off, &used, &frame,
						  &frame_len);
			s->buf_off += used;
			if (rc == 0)
				break;
			if (rc != SS_ERR_NEED_MORE)
				return cli_session_frame_error(s, rc);
		}
		rc = cli_session_fill(s);
		if (rc == SS_ERR_CLOSED && ss_frame_reader_partial(&s->reader))
			return cli_session_fail(
			    s, SS_ERR_PROTOCOL, "%s",
			    _("the server closed the connection in the middle of a frame"));
		if (rc != 0)
			return rc;
	}
	*env = ss_wire_unpack(frame, frame_len);
	free(frame);
	if (*env == NULL) {
		s->broken = 1;
		return cli_session_fail(s, SS_ERR_MALFORMED_MESSAGE, "%s",
					_("the server sent a frame that is not a valid message"));
	}
	return 0;
}

int cli_session_send(struct cli_session *s, SsEnvelope *req)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	int rc;

	req->request_id = s->next_request_id++;
	rc = ss_wire_pack(req, s->max_frame, &out, &out_len);
	if (rc == SS_ERR_FRAME_TOO_LARGE)
		return cli_session_fail(
		    s, rc, _("the request is larger than the server accepts (%u bytes)"),
		    (unsigned)s->max_frame);
	if (rc != 0)
		return cli_session_fail(s, rc, "%s", _("out of memory"));
	rc = cli_session_write_all(s, out, out_len);
	free(out);
	return rc;
}

int cli_session_recv(struct cli_session *s, SsEnvelope **reply)
{
	*reply = NULL;
	return cli_session_next(s, reply);
}

int cli_session_call(struct cli_session *s, SsEnvelope *req, SsEnvelope **reply)
{
	SsEnvelope *env = NULL;
	uint64_t id;
	int stray;
	int rc;

	*reply = NULL;
	rc = cli_session_send(s, req);
	id = req->request_id;
	for (stray = 0; rc == 0; stray++) {
		rc = cli_session_next(s, &env);
		if (rc != 0)
			break;
		/* Request id 0 carries errors about the connection as a whole. */
		if (env->request_id == id ||
		    (env->request_id == 0 &&
		     env->body_case == SHUANGSUI__V1__ENVELOPE__BODY_ERROR)) {
			*reply = env;
			return 0;
		}
		shuangsui__v1__envelope__free_unpacked(env, NULL);
		if (stray >= CLI_SESSION_MAX_STRAY)
			rc = cli_session_fail(
			    s, SS_ERR_PROTOCOL, "%s",
			    _("the server keeps sending replies to other requests"));
	}
	return rc;
}

static int cli_session_hello(struct cli_session *s)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__Hello hello = SHUANGSUI__V1__HELLO__INIT;
	SsEnvelope *reply = NULL;
	int rc;

	hello.protocol_version = SS_PROTOCOL_VERSION;
	hello.program = (char *)"shuangsui";
	hello.program_version = (char *)SS_PROGRAM_VERSION;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	rc = cli_session_call(s, &env, &reply);
	if (rc != 0)
		return rc;
	if (reply->body_case == SHUANGSUI__V1__ENVELOPE__BODY_ERROR) {
		s->hello_error = reply;
		return 0;
	}
	if (reply->body_case != SHUANGSUI__V1__ENVELOPE__BODY_HELLO_REPLY) {
		rc = cli_session_fail(s, SS_ERR_PROTOCOL, _("unexpected reply \"%s\" to hello"),
				      ss_wire_body_name(reply));
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
		return rc;
	}
	s->hello = reply;
	if (reply->hello_reply->protocol_version != SS_PROTOCOL_VERSION)
		return cli_session_fail(s, SS_ERR_PROTOCOL,
					_("the server speaks protocol version %u, this client %u"),
					reply->hello_reply->protocol_version, SS_PROTOCOL_VERSION);
	if (reply->hello_reply->max_frame_size != 0)
		s->max_frame = reply->hello_reply->max_frame_size;
	return 0;
}

/* Refuses unreadable credential files before OpenSSL's less legible messages. */
static int cli_session_check_files(struct cli_session *s, const struct cli_session_params *p)
{
	const char *files[] = {p->ca, p->cert, p->key};
	const char *names[] = {_("CA certificate"), _("client certificate"), _("private key")};
	size_t i;

	for (i = 0; i < 3; i++)
		if (access(files[i], R_OK) != 0)
			return cli_session_fail(s, SS_ERR_CONFIG, _("cannot read %s %s: %s"),
						names[i], files[i], strerror(errno));
	return 0;
}

int cli_session_open(const struct cli_session_params *p, struct cli_session **out)
{
	struct cli_session *s = calloc(1, sizeof(*s));
	int rc;

	*out = s;
	if (s == NULL)
		return SS_ERR_NOMEM;
	s->fd = -1;
	s->timeout_ms = p->timeout_ms;
	s->next_request_id = 1;
	/* Until the HelloReply names the limit, it is only known to be >= 1024. */
	s->max_frame = CLI_SESSION_HELLO_MAX;
	/* Replies may be large (an audit page); accept up to the protocol's hard cap. */
	ss_frame_reader_init(&s->reader, SS_FRAME_HARD_MAX);
	if ((rc = cli_session_check_files(s, p)) != 0)
		return rc;
	s->ctx = ss_tls_client_ctx_new(p->ca, p->cert, p->key);
	if (s->ctx == NULL)
		return cli_session_fail(
		    s, SS_ERR_CONFIG,
		    _("cannot load the CA certificate, client certificate or key (%s, %s, %s)"),
		    p->ca, p->cert, p->key);
	if ((rc = cli_session_connect(s, p)) != 0 || (rc = cli_session_handshake(s, p->host)) != 0)
		return rc;
	return cli_session_hello(s);
}

void cli_session_free(struct cli_session *s)
{
	if (s == NULL)
		return;
	if (s->ssl != NULL) {
		/* close_notify tells the server the session ended on purpose. */
		if (s->established && !s->broken) {
			ERR_clear_error();
			SSL_shutdown(s->ssl);
		}
		SSL_free(s->ssl);
	}
	SSL_CTX_free(s->ctx);
	if (s->fd >= 0)
		close(s->fd);
	ss_frame_reader_reset(&s->reader);
	if (s->hello != NULL)
		shuangsui__v1__envelope__free_unpacked(s->hello, NULL);
	if (s->hello_error != NULL)
		shuangsui__v1__envelope__free_unpacked(s->hello_error, NULL);
	ERR_clear_error();
	free(s);
}
