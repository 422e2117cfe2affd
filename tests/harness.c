/*
 * harness.c — test server process and TLS client.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "harness.h"
#include "snapstore.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ss_error.h"

const char *th_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		fail_msg("%s is not set: run the suite with deploy/test.sh", name);
	return v;
}

const char *th_pki(const char *rel)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", th_env("SS_TEST_PKI"), rel);
	return b;
}

const char *th_client_cert(const char *id)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "clients/%s.crt", id);
	return th_pki(rel);
}

const char *th_client_key(const char *id)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "clients/%s.key", id);
	return th_pki(rel);
}

static int th_free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int th_tcp_connect(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int th_server_start(struct th_server *s, const char *const *extra)
{
	char config[512];
	FILE *f;
	int i;

	memset(s, 0, sizeof(s[0]));
	/* Named after the test program, to tell whose a stray server is. */
	snprintf(s->dir, sizeof(s->dir), "%s/server-%s-XXXXXX", th_env("SS_TEST_TMP"),
		 program_invocation_short_name);
	if (mkdtemp(s->dir) == NULL)
		return -1;
	snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
	snprintf(config, sizeof(config), "%s/shuangsuid.ini", s->dir);
	s->port = th_free_port();
	f = fopen(config, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
		"[server]\nlisten = 127.0.0.1\nport = %d\nlog_level = debug\n"
		"[tls]\nca = %s\ncert = %s\nkey = %s\ncrl = %s\n"
		"[database]\nconninfo = %s\nmigrate_conninfo = %s\npool_size = 2\n"
		"reconnect_max_ms = 500\n[draw]\nkey_file = %s\n",
		s->port, th_pki("ca/ca.crt"), th_pki("server/server.crt"),
		th_pki("server/server.key"), th_pki("ca/crl.pem"), th_env("SS_TEST_DB_APP"),
		th_env("SS_TEST_DB_OWNER"), th_pki("draw.key"));
	fclose(f);
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		const char *argv[64];
		int n = 0, fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 2);
		dup2(fd, 1);
		argv[n++] = SS_TEST_SHUANGSUID_PATH;
		argv[n++] = "--config";
		argv[n++] = config;
		for (i = 0; extra != NULL && extra[i] != NULL && n < 60; i++) {
			argv[n++] = "--set";
			argv[n++] = extra[i];
		}
		argv[n] = NULL;
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		int fd = th_tcp_connect(s->port);
		int status;

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		usleep(50 * 1000);
	}
	return -1;
}

int th_server_stop(struct th_server *s, int sig)
{
	int status = 0, i;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, sig);
	for (i = 0; i < 300; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(50 * 1000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
	return -1;
}

int th_server_alive(struct th_server *s)
{
	int status;

	if (s->pid <= 0)
		return 0;
	if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
		s->pid = 0;
		return 0;
	}
	return 1;
}

int th_server_log_contains(const struct th_server *s, const char *text)
{
	FILE *f = fopen(s->log, "r");
	char line[4096];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

static int th_wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};

	return poll(&p, 1, timeout_ms) > 0;
}

struct th_client *th_client_connect(int port, const char *cert, const char *key, int tls_max,
				    int *handshake_ok)
{
	struct th_client *c = calloc(1, sizeof(*c));

	*handshake_ok = 0;
	if (c == NULL)
		return NULL;
	/* The server closing first is an outcome under test, not a crash. */
	signal(SIGPIPE, SIG_IGN);
	c->fd = th_tcp_connect(port);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	ss_frame_reader_init(&c->reader, SS_FRAME_HARD_MAX);
	c->next_id = 100;
	c->ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(c->ctx, tls_max ? tls_max : TLS1_3_VERSION);
	SSL_CTX_load_verify_locations(c->ctx, th_pki("ca/ca.crt"), NULL);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (cert != NULL) {
		SSL_CTX_use_certificate_chain_file(c->ctx, cert);
		SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM);
	}
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	ERR_clear_error();
	*handshake_ok = SSL_connect(c->ssl) == 1;
	ERR_clear_error();
	return c;
}

struct th_client *th_client_session(int port, const char *id)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__Hello h = SHUANGSUI__V1__HELLO__INIT;
	SsEnvelope *reply;
	int ok;
	struct th_client *c = th_client_connect(port, th_client_cert(id), th_client_key(id), 0, &ok);

	if (c == NULL || !ok)
		goto fail;
	h.protocol_version = SS_PROTOCOL_VERSION;
	h.program = "test";
	h.program_version = "0";
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	reply = th_call(c, &env);
	if (reply == NULL || reply->body_case != SHUANGSUI__V1__ENVELOPE__BODY_HELLO_REPLY) {
		if (reply != NULL)
			th_free(reply);
		goto fail;
	}
	th_free(reply);
	return c;
fail:
	th_client_close(c);
	return NULL;
}

void th_client_close(struct th_client *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	ss_frame_reader_reset(&c->reader);
	free(c);
}

void th_client_vanish(struct th_client *c, int rst)
{
	if (c == NULL)
		return;
	if (rst) {
		struct linger l = {.l_onoff = 1, .l_linger = 0};

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(c->fd); /* SSL_free below sends nothing: no close_notify */
	c->fd = -1;
	th_client_close(c);
}

int th_send_raw(struct th_client *c, const void *data, size_t len)
{
	size_t n = 0;

	ERR_clear_error();
	return SSL_write_ex(c->ssl, data, len, &n) == 1 && n == len ? 0 : -1;
}

int th_send(struct th_client *c, SsEnvelope *env)
{
	uint8_t *frame;
	size_t len;
	int rc;

	if (env->request_id == 0)
		env->request_id = c->next_id++;
	if (ss_wire_pack(env, SS_FRAME_HARD_MAX, &frame, &len) != 0)
		return -1;
	rc = th_send_raw(c, frame, len);
	free(frame);
	return rc;
}

/* Takes one frame out of the bytes already received; NULL if none is whole. */
static SsEnvelope *th_take_frame(struct th_client *c, int *failed)
{
	while (c->rest_off < c->rest_len) {
		uint8_t *frame;
		size_t used, flen;
		int rc = ss_frame_reader_feed(&c->reader, c->rest + c->rest_off,
					      c->rest_len - c->rest_off, &used, &frame, &flen);

		c->rest_off += used;
		if (rc == 0) {
			SsEnvelope *env = ss_wire_unpack(frame, flen);

			free(frame);
			*failed = env == NULL;
			return env;
		}
		if (rc != SS_ERR_NEED_MORE) {
			*failed = 1;
			return NULL;
		}
	}
	return NULL;
}

SsEnvelope *th_recv(struct th_client *c, int timeout_ms)
{
	for (;;) {
		int failed = 0;
		SsEnvelope *env = th_take_frame(c, &failed);
		size_t got = 0;

		if (env != NULL || failed)
			return env;
		if (SSL_pending(c->ssl) == 0 && !th_wait_fd(c->fd, POLLIN, timeout_ms))
			return NULL;
		ERR_clear_error();
		if (SSL_read_ex(c->ssl, c->rest, sizeof(c->rest), &got) != 1)
			return NULL;
		c->rest_len = got;
		c->rest_off = 0;
	}
}

SsEnvelope *th_call(struct th_client *c, SsEnvelope *env)
{
	if (th_send(c, env) != 0)
		return NULL;
	return th_recv(c, 10000);
}

int th_closed_within(struct th_client *c, int timeout_ms)
{
	struct timespec t0, t;
	uint8_t buf[4096];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		size_t got;
		long elapsed;

		clock_gettime(CLOCK_MONOTONIC, &t);
		elapsed = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (elapsed >= timeout_ms)
			return 0;
		if (!th_wait_fd(c->fd, POLLIN, (int)(timeout_ms - elapsed)))
			return 0;
		ERR_clear_error();
		if (SSL_read_ex(c->ssl, buf, sizeof(buf), &got) != 1) {
			int e = SSL_get_error(c->ssl, 0);

			ERR_clear_error();
			if (e != SSL_ERROR_WANT_READ)
				return 1;
		}
	}
}

PGconn *th_db(int owner)
{
	PGconn *db = PQconnectdb(th_env(owner == 2   ? "SS_TEST_DB_SUPER"
					: owner ? "SS_TEST_DB_OWNER"
						: "SS_TEST_DB_APP"));

	if (PQstatus(db) != CONNECTION_OK)
		fail_msg("test database: %s", PQerrorMessage(db));
	return db;
}

char *th_db_value(PGconn *db, const char *sql)
{
	PGresult *res = PQexec(db, sql);
	char *v = NULL;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

char *th_snapshot(const char *task, const char *part, int ordinal)
{
	PGconn *db = th_db(1);
	char ord[16];
	const char *params[3] = {task, part, ord};
	PGresult *res;
	uint8_t *file = NULL;
	size_t len;

	snprintf(ord, sizeof(ord), "%d", ordinal);
	res = PQexecParams(db,
			   "SELECT packed, digest FROM draw_snapshots WHERE task_id = $1 "
			   "AND part = $2 AND ordinal = $3::integer",
			   3, NULL, params, NULL, NULL, 1);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(res), 1);
	assert_false(PQgetisnull(res, 0, 0));
	assert_int_equal(PQgetlength(res, 0, 1), 32);
	assert_int_equal(ss_snapshot_unpack((const uint8_t *)PQgetvalue(res, 0, 0),
					    (size_t)PQgetlength(res, 0, 0),
					    (const uint8_t *)PQgetvalue(res, 0, 1), &file, &len),
			 0);
	PQclear(res);
	PQfinish(db);
	return (char *)file;
}

int th_run(const char *cmd)
{
	int status = system(cmd);

	return (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
}

int th_cli(const struct th_server *s, const char *id, const char *lang, const char *args,
	   char *out, size_t cap)
{
	char ini[512], cmd[4096];
	FILE *f, *p;
	size_t n = 0, got;
	int status;

	snprintf(ini, sizeof(ini), "%s/client-%s.ini", s->dir, id);
	f = fopen(ini, "w");
	assert_non_null(f);
	/* Each principal keeps its own last checkpoint of the draw log. */
	fprintf(f,
		"[server]\nhost = localhost\nport = %d\nca = %s\n[identity]\ncert = %s\nkey = %s\n"
		"[log]\nkey = %s\ncheckpoint = %s/checkpoint-%s\n",
		s->port, th_pki("ca/ca.crt"), th_client_cert(id), th_client_key(id),
		th_pki("draw.key.pub"), th_env("SS_TEST_TMP"), id);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "env -u LANGUAGE -u LC_ALL -u LC_MESSAGES LANG=%s SHUANGSUI_CONFIG=%s %s %s 2>&1",
		 lang, ini, SS_TEST_SHUANGSUI_PATH, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	/* Read to the end even past cap, so the client never blocks on a full pipe. */
	while ((got = fread(out + n, 1, cap - 1 - n, p)) > 0) {
		n += got;
		if (n == cap - 1) {
			char sink[4096];

			while (fread(sink, 1, sizeof(sink), p) > 0)
				;
			break;
		}
	}
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Today's date fields in China time (UTC+8), computed once. */
static void th_today(char today[32], char year[32], char month[32], char other[32])
{
	time_t now = time(NULL) + 8 * 3600;
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(today, 32, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	snprintf(year, 32, "%04d", tm.tm_year + 1900);
	snprintf(month, 32, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
	/* Another month of the same year, one in which the tests draw nothing. */
	snprintf(other, 32, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon == 0 ? 2 : tm.tm_mon);
}

const char *th_dates(const char *in)
{
	static char bufs[4][1 << 16];
	static int next;
	char *b = bufs[next++ % 4], today[32], year[32], month[32], other[32], start[48], end[48];
	const struct {
		const char *token;
		const char *value;
	} map[] = {{"@TODAY", today}, {"@YEAR", year}, {"@MONTH", month}, {"@OTHERMONTH", other},
		   {"@START", start}, {"@END", end}};
	size_t o = 0, i;

	th_today(today, year, month, other);
	snprintf(start, sizeof(start), "%s-01-01", year);
	snprintf(end, sizeof(end), "%s-12-31", year);
	while (*in != '\0' && o + 16 < sizeof(bufs[0])) {
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strncmp(in, map[i].token, strlen(map[i].token)) == 0)
				break;
		if (i < sizeof(map) / sizeof(map[0])) {
			o += (size_t)snprintf(b + o, sizeof(bufs[0]) - o, "%s", map[i].value);
			in += strlen(map[i].token);
		} else {
			b[o++] = *in++;
		}
	}
	b[o] = '\0';
	return b;
}

/* ---- helpers of the tests that drive the real client through whole flows ---- */

char th_out[1 << 22];

const char *th_path(const struct th_server *s, const char *name)
{
	static char p[8][512];
	static int i;
	char *b = p[i++ % 8];

	snprintf(b, sizeof(p[0]), "%s/%s", s->dir, name);
	return b;
}

void th_write(const struct th_server *s, const char *name, const char *fmt, ...)
{
	static char text[1 << 16];
	FILE *f = fopen(th_path(s, name), "w");
	va_list ap;

	assert_non_null(f);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fputs(th_dates(text), f);
	fclose(f);
}

static int th_clivf(const struct th_server *s, const char *id, int must, const char *fmt,
		    va_list ap)
{
	char args[4096];
	int rc;

	vsnprintf(args, sizeof(args), fmt, ap);
	rc = th_cli(s, id, "C.UTF-8", th_dates(args), th_out, sizeof(th_out));
	if (must && rc != 0)
		fprintf(stderr, "shuangsui %s\n-> %d: %.4000s\n", args, rc, th_out);
	return rc;
}

int th_clif(const struct th_server *s, const char *id, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = th_clivf(s, id, 0, fmt, ap);
	va_end(ap);
	return rc;
}

void th_cli_ok(const struct th_server *s, const char *id, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = th_clivf(s, id, 1, fmt, ap);
	va_end(ap);
	assert_int_equal(rc, 0);
}

void th_assert_out(const char *want)
{
	const char *text = th_dates(want);

	if (strstr(th_out, text) == NULL)
		fprintf(stderr, "output lacks \"%s\":\n%.4000s\n", text, th_out);
	assert_non_null(strstr(th_out, text));
}

void th_assert_db(const char *sql, const char *expect)
{
	PGconn *db = th_db(1);
	char *v = th_db_value(db, sql);

	PQfinish(db);
	if (v == NULL || strcmp(v, expect) != 0)
		fprintf(stderr, "%s\n-> %s, expected %s\n", sql, v ? v : "(null)", expect);
	assert_non_null(v);
	assert_string_equal(v, expect);
	free(v);
}
