/*
 * conn.c — accepting connections and moving bytes: TCP <-> TLS pump <-> frames.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "ss_error.h"
#include "ss_log.h"

#define SS_CLOSE_GUARD_MS 5000
#define SS_READ_CHUNK 16384

struct ss_write {
	uv_write_t req;
	struct ss_conn *conn;
	uint8_t *data;
	size_t len;
};

static void ss_conn_flush(struct ss_conn *c);
static void ss_conn_start_reading(struct ss_conn *c);

void ss_principal_clear(struct ss_principal *p)
{
	free(p->id);
	free(p->office);
	free(p->role_name);
	free(p->jurisdiction);
	memset(p, 0, sizeof(*p));
}

/* Frees the connection once its handles are closed and no request needs it. */
static void ss_conn_maybe_free(struct ss_conn *c)
{
	struct ss_server *srv = c->srv;

	if (c->handles_open > 0 || c->inflight > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	ss_tls_pump_free(&c->tls);
	ss_frame_reader_reset(&c->reader);
	ss_principal_clear(&c->principal);
	ss_import_free(c->import); /* its staged rows are removed when it is next committed or reaped */
	free(c);
	if (srv->draining && srv->nconns == 0)
		ss_server_drain(srv); /* continues the stop: close the pool */
}

static void ss_conn_on_handle_closed(uv_handle_t *h)
{
	struct ss_conn *c = h->data;

	c->handles_open--;
	ss_conn_maybe_free(c);
}

/*
 * Closes both handles at once, without a TLS goodbye: the peer has gone or
 * broke the protocol.  Replies still in flight are dropped when they arrive
 * (closing is set); ss_conn_request_done frees the connection after the last.
 */
static void ss_conn_close_handles(struct ss_conn *c)
{
	c->closing = 1;
	c->reading = 0;
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, ss_conn_on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, ss_conn_on_handle_closed);
}

static void ss_conn_on_shutdown(uv_shutdown_t *req, int status)
{
	ss_conn_close_handles(req->data);
}

static void ss_conn_on_close_guard(uv_timer_t *t)
{
	struct ss_conn *c = t->data;

	ss_debug("%s: peer did not take its last bytes; closing", c->peer);
	ss_conn_close_handles(c);
}

/*
 * The server closes: close_notify, then the output is flushed before the TCP
 * shutdown.  The server only closes on its own once the replies are out (the
 * idle timeout and the drain wait for inflight == 0; close_after queues the
 * reply first); a fatal protocol error drops the replies still in flight.  A
 * close by the peer (EOF, reset, close_notify) drops them too: nobody reads.
 */
void ss_conn_close(struct ss_conn *c)
{
	if (c->closing || uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	c->closing = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = 0;
	ss_tls_pump_shutdown(&c->tls);
	ss_conn_flush(c);
	/* The flush may have failed and closed the handles already. */
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	/* uv_shutdown waits for queued writes; the guard bounds that wait for a
	 * peer that stops reading. */
	uv_timer_start(&c->timer, ss_conn_on_close_guard, SS_CLOSE_GUARD_MS, 0);
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, ss_conn_on_shutdown) != 0)
		ss_conn_close_handles(c);
}

void ss_conn_request_done(struct ss_conn *c)
{
	c->inflight--;
	/* The handles may have closed while this request was in flight (the peer
	 * vanished): the last request then frees the connection. */
	if (c->closing || uv_is_closing((uv_handle_t *)&c->tcp)) {
		ss_conn_maybe_free(c);
		return;
	}
	if (c->srv->draining && c->inflight == 0)
		ss_conn_close(c);
}

static void ss_conn_on_write(uv_write_t *req, int status)
{
	struct ss_write *w = (struct ss_write *)req;
	struct ss_conn *c = w->conn;

	c->out_pending -= w->len;
	free(w->data);
	free(w);
	if (status < 0 && !c->closing) {
		ss_debug("%s: write failed: %s", c->peer, uv_strerror(status));
		ss_conn_close(c);
		return;
	}
	/* Resume reading once the backlog is half drained. */
	if (c->read_paused && c->out_pending <= c->srv->cfg->max_output_pending / 2) {
		c->read_paused = 0;
		ss_conn_start_reading(c);
	}
}

/* Moves pending ciphertext from the TLS pump to the socket. */
static void ss_conn_flush(struct ss_conn *c)
{
	struct ss_write *w;
	uv_buf_t buf;
	uint8_t *data;
	size_t len;

	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	if (ss_tls_pump_take(&c->tls, &data, &len) != 0 || len == 0)
		return;
	w = malloc(sizeof(*w));
	if (w == NULL) {
		free(data);
		ss_conn_close_handles(c);
		return;
	}
	w->conn = c;
	w->data = data;
	w->len = len;
	buf = uv_buf_init((char *)data, (unsigned)len);
	c->out_pending += len;
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, ss_conn_on_write) != 0) {
		c->out_pending -= len;
		free(data);
		free(w);
		ss_conn_close_handles(c);
		return;
	}
	if (c->out_pending > c->srv->cfg->max_output_pending && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
		c->read_paused = 1;
	}
}

void ss_conn_send(struct ss_conn *c, uint8_t *frame, size_t len)
{
	if (c->closing && uv_is_closing((uv_handle_t *)&c->tcp)) {
		free(frame);
		return;
	}
	if (ss_tls_pump_write(&c->tls, frame, len) != 0) {
		free(frame);
		ss_conn_close(c);
		return;
	}
	free(frame);
	ss_conn_flush(c);
}

static void ss_conn_on_timeout(uv_timer_t *t)
{
	struct ss_conn *c = t->data;

	if (!c->tls.handshake_done) {
		ss_info("%s: TLS handshake timed out", c->peer);
		ss_conn_close_handles(c);
		return;
	}
	if (c->inflight > 0) {
		uv_timer_again(t);
		return;
	}
	ss_info("%s: idle timeout, closing", c->peer);
	ss_conn_close(c);
}

static void ss_conn_arm_idle(struct ss_conn *c)
{
	uint64_t ms = c->srv->cfg->idle_timeout_ms;

	uv_timer_start(&c->timer, ss_conn_on_timeout, ms, ms);
}

/* Sends a connection-level error (request_id 0) and closes. */
static void ss_conn_fatal(struct ss_conn *c, int err)
{
	uint8_t *frame;
	size_t len;

	ss_info("%s: %s; closing", c->peer, ss_err_str(err));
	if (ss_wire_error(0, err, NULL, NULL, NULL, &frame, &len) == 0)
		ss_conn_send(c, frame, len);
	ss_conn_close(c);
}

static void ss_conn_read_frames(struct ss_conn *c)
{
	uint8_t buf[SS_READ_CHUNK];

	while (!c->closing) {
		size_t got = 0, off = 0;
		int rc = ss_tls_pump_read(&c->tls, buf, sizeof(buf), &got);

		if (rc == SS_ERR_NEED_MORE)
			return;
		if (rc != 0) {
			/* close_notify or a TLS error: the peer has gone, so replies
			 * still in flight are dropped; answer close_notify with ours. */
			if (rc == SS_ERR_CLOSED && ss_frame_reader_partial(&c->reader))
				ss_info("%s: closed in the middle of a frame", c->peer);
			ss_conn_close(c);
			return;
		}
		while (off < got && !c->closing) {
			uint8_t *frame;
			size_t used, flen;

			rc = ss_frame_reader_feed(&c->reader, buf + off, got - off, &used, &frame,
						  &flen);
			off += used;
			if (rc == SS_ERR_NEED_MORE)
				break;
			if (rc != 0) {
				ss_conn_fatal(c, rc);
				return;
			}
			/* Only a whole frame counts as activity: trickled bytes do not. */
			if (!c->srv->draining)
				uv_timer_again(&c->timer);
			rc = ss_request_dispatch(c, frame, flen);
			free(frame);
			if (rc != 0) {
				ss_conn_fatal(c, rc);
				return;
			}
		}
	}
}

static void ss_conn_on_handshake(struct ss_conn *c)
{
	X509 *peer = SSL_get1_peer_certificate(c->tls.ssl);

	if (peer == NULL || ss_tls_cert_fingerprint(peer, c->fingerprint) != 0) {
		X509_free(peer);
		ss_conn_close_handles(c);
		return;
	}
	X509_free(peer);
	ss_debug("%s: TLS established, certificate %s", c->peer, c->fingerprint);
	ss_conn_arm_idle(c);
}

static void ss_conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536]; /* one loop thread; consumed before the next read */

	buf->base = slab;
	buf->len = sizeof(slab);
}

static void ss_conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ss_conn *c = s->data;
	int rc;

	if (nread == 0)
		return;
	if (nread < 0) {
		ss_conn_close_handles(c);
		return;
	}
	if (ss_tls_pump_feed(&c->tls, (const uint8_t *)buf->base, (size_t)nread) != 0) {
		ss_conn_close_handles(c);
		return;
	}
	if (!c->tls.handshake_done) {
		rc = ss_tls_pump_handshake(&c->tls);
		ss_conn_flush(c); /* the alert or the server's flight */
		if (rc == SS_ERR_NEED_MORE || uv_is_closing((uv_handle_t *)&c->tcp))
			return;
		if (rc != 0) {
			ss_info("%s: TLS handshake refused", c->peer);
			ss_conn_close(c);
			return;
		}
		ss_conn_on_handshake(c);
		if (uv_is_closing((uv_handle_t *)&c->tcp))
			return;
	}
	ss_conn_read_frames(c);
	ss_conn_flush(c);
}

static void ss_conn_start_reading(struct ss_conn *c)
{
	if (c->reading || c->closing)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, ss_conn_on_alloc, ss_conn_on_read) == 0)
		c->reading = 1;
}

static void ss_conn_peer_name(struct ss_conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[48] = "?";

	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
		else
			uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%d", host,
			 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	} else {
		snprintf(c->peer, sizeof(c->peer), "?");
	}
}

/*
 * libuv stops watching the listener when the connection callback leaves a
 * connection unaccepted, and starts again only at the next uv_accept: so a
 * connection we cannot serve must still be accepted and closed.  When memory
 * runs out, a preallocated spare handle (one loop, one listener) takes it;
 * if the spare is still closing, the connection waits until its close
 * callback accepts it.
 */
static uv_tcp_t ss_spare;
static int ss_spare_busy;
static uv_stream_t *ss_spare_waiting; /* a listener with a connection left unaccepted */

static void ss_server_discard(uv_stream_t *listener);

static void ss_server_spare_closed(uv_handle_t *h)
{
	uv_stream_t *listener = ss_spare_waiting;

	ss_spare_busy = 0;
	ss_spare_waiting = NULL;
	if (listener != NULL && !uv_is_closing((uv_handle_t *)listener))
		ss_server_discard(listener);
}

static void ss_server_discard(uv_stream_t *listener)
{
	if (ss_spare_busy) {
		ss_spare_waiting = listener;
		return;
	}
	ss_spare_busy = 1;
	uv_tcp_init(listener->loop, &ss_spare);
	(void)uv_accept(listener, (uv_stream_t *)&ss_spare);
	uv_close((uv_handle_t *)&ss_spare, ss_server_spare_closed);
}

static void ss_server_reject_closed(uv_handle_t *h)
{
	free(h);
}

/* Accepts a connection and closes it at once. */
static void ss_server_reject(struct ss_server *srv, uv_stream_t *listener)
{
	uv_tcp_t *t = malloc(sizeof(*t));

	if (t == NULL) {
		ss_server_discard(listener);
		return;
	}
	uv_tcp_init(srv->loop, t);
	(void)uv_accept(listener, (uv_stream_t *)t);
	uv_close((uv_handle_t *)t, ss_server_reject_closed);
}

static void ss_server_on_connection(uv_stream_t *listener, int status)
{
	struct ss_server *srv = listener->data;
	struct ss_conn *c;

	if (status < 0) {
		ss_warn("accept: %s", uv_strerror(status));
		return;
	}
	if (srv->nconns >= srv->cfg->max_connections || srv->draining) {
		if (!srv->draining)
			ss_warn("connection refused: %d connections is the maximum",
				srv->cfg->max_connections);
		ss_server_reject(srv, listener);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		ss_error("connection refused: out of memory");
		ss_server_reject(srv, listener);
		return;
	}
	c->srv = srv;
	ss_frame_reader_init(&c->reader, srv->cfg->max_frame_size);
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles_open = 2;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
	    ss_tls_pump_init_server(&c->tls, srv->tls) != 0) {
		ss_conn_close_handles(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	ss_conn_peer_name(c);
	ss_debug("%s: connected", c->peer);
	uv_timer_start(&c->timer, ss_conn_on_timeout, srv->cfg->handshake_timeout_ms, 0);
	ss_conn_start_reading(c);
}

int ss_server_listen(struct ss_server *srv)
{
	struct sockaddr_storage addr;
	int rc;

	if (strchr(srv->cfg->listen, ':') != NULL)
		rc = uv_ip6_addr(srv->cfg->listen, srv->cfg->port, (struct sockaddr_in6 *)&addr);
	else
		rc = uv_ip4_addr(srv->cfg->listen, srv->cfg->port, (struct sockaddr_in *)&addr);
	if (rc != 0) {
		ss_error("server.listen: \"%s\" is not an IP address", srv->cfg->listen);
		return rc;
	}
	uv_tcp_init(srv->loop, &srv->listener);
	srv->listener.data = srv;
	rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->listener, 128, ss_server_on_connection);
	if (rc != 0) {
		ss_error("listen on %s port %d: %s", srv->cfg->listen, srv->cfg->port,
			 uv_strerror(rc));
		/* Closed here, so that the loop can close; the drain skips it. */
		uv_close((uv_handle_t *)&srv->listener, NULL);
		return rc;
	}
	ss_info("listening on %s port %d", srv->cfg->listen, srv->cfg->port);
	return 0;
}

void ss_server_end_sessions(struct ss_server *srv, const char *principal_id)
{
	struct ss_conn *c;

	for (c = srv->conns; c != NULL; c = c->next)
		if (c->hello_done && !c->closing && c->principal.id != NULL &&
		    strcmp(c->principal.id, principal_id) == 0) {
			ss_info("%s: %s was disabled; ending its session", c->peer, principal_id);
			ss_conn_close(c);
		}
}

void ss_server_recheck_certificates(struct ss_server *srv)
{
	struct ss_conn *c;

	for (c = srv->conns; c != NULL; c = c->next)
		if (c->tls.handshake_done && !c->closing &&
		    ss_tls_peer_still_valid(srv->tls, c->tls.ssl) != 0) {
			ss_info("%s: certificate of %s is no longer valid; ending its session", c->peer,
				c->principal.id ? c->principal.id : c->fingerprint);
			ss_conn_close(c);
		}
}
