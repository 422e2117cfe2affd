/*
 * harness.h — what the integration tests share: a real shuangsuid process
 * on a loopback port, and a blocking TLS client speaking the real protocol.
 *
 * The environment comes from deploy/test.sh (see there):
 *   SS_TEST_PKI       the test PKI directory (deploy/pki.sh demo + test-extras)
 *   SS_TEST_DB_APP    conninfo of the application role
 *   SS_TEST_DB_OWNER  conninfo of the owner role (migrations)
 *   SS_TEST_PGCTL     command prefix that takes "stop" or "start" for the test cluster
 *   SS_TEST_TMP       a directory for the servers' configuration and logs
 * A missing variable fails the test: these tests never skip.
 */
#ifndef SS_HARNESS_H
#define SS_HARNESS_H

#include <libpq-fe.h>
#include <openssl/ssl.h>
#include <sys/types.h>

#include "frame.h"
#include "wire.h"

/* Reads a required environment variable; aborts the test with a message if unset. */
const char *th_env(const char *name);

/* Paths in the test PKI: th_pki("clients/city-admin.crt") etc.  Static buffer, rotating. */
const char *th_pki(const char *rel);
const char *th_client_cert(const char *id);
const char *th_client_key(const char *id);

struct th_server {
	pid_t pid;
	int port;
	char dir[256];
	char log[300];
};

/*
 * Starts shuangsuid with the test configuration plus extra "section.key=value"
 * settings (NULL-terminated list, may be NULL) and waits until it accepts
 * connections.  Returns 0 or -1.
 */
int th_server_start(struct th_server *s, const char *const *extra);
/* Sends sig and waits for the exit; returns the exit status, or -1 if killed by a signal. */
int th_server_stop(struct th_server *s, int sig);
/* Nonzero if the server process is still running (it has not exited or crashed). */
int th_server_alive(struct th_server *s);
/* Nonzero if the server log contains text. */
int th_server_log_contains(const struct th_server *s, const char *text);

struct th_client {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	struct ss_frame_reader reader;
	uint64_t next_id;
	uint8_t rest[16384]; /* decrypted bytes not yet framed */
	size_t rest_len, rest_off;
};

/*
 * Connects to 127.0.0.1:port and runs the TLS handshake presenting cert/key
 * (both NULL for no certificate).  tls_max is 0 for TLS 1.3, or e.g.
 * TLS1_2_VERSION to offer only TLS 1.2.  Returns NULL if TCP fails; sets
 * *handshake_ok.  Free with th_client_close().
 */
struct th_client *th_client_connect(int port, const char *cert, const char *key, int tls_max,
				    int *handshake_ok);
/* Connects with the given principal's certificate and says Hello; NULL if anything fails. */
struct th_client *th_client_session(int port, const char *id);
void th_client_close(struct th_client *c);
/*
 * Vanishes without a TLS goodbye: the socket is closed with a FIN, or with
 * a reset if rst is nonzero, and no close_notify is sent.  Frees c.
 */
void th_client_vanish(struct th_client *c, int rst);

/* Sends env (request_id assigned if 0); returns 0 or -1. */
int th_send(struct th_client *c, SsEnvelope *env);
/* Sends raw bytes inside TLS. */
int th_send_raw(struct th_client *c, const void *data, size_t len);
/* Receives one envelope within timeout_ms; NULL on timeout, close or error. */
SsEnvelope *th_recv(struct th_client *c, int timeout_ms);
/* Sends env and receives its reply (any order-matched reply); NULL on failure. */
SsEnvelope *th_call(struct th_client *c, SsEnvelope *env);
/* Nonzero if the peer closed (EOF or alert) within timeout_ms. */
int th_closed_within(struct th_client *c, int timeout_ms);

/*
 * Runs the real client, "shuangsui ARGS", as principal id against server s
 * with the given LANG (a client.ini is written into s->dir), capturing
 * stdout and stderr together into out.  Returns the exit status.
 */
int th_cli(const struct th_server *s, const char *id, const char *lang, const char *args,
	   char *out, size_t cap);

/* A plain TCP connection to 127.0.0.1:port (no TLS); -1 on failure. */
int th_tcp_connect(int port);

/* Runs a shell command; returns its exit status (or -1). */
int th_run(const char *cmd);

/* A connection to the test database as the application role (0), the owner
 * (1), or the cluster's superuser (2: a test playing an attacker). */
PGconn *th_db(int owner);
/* Runs a query returning one value as a malloc'd string (NULL on error). */
char *th_db_value(PGconn *db, const char *sql);
/*
 * The snapshot file a draw stored for task (part "stratum" with its
 * ordinal, "pool" or "conflicts"), read as the owner and unpacked by the
 * server's own code, which checks it against its stored digest; asserts
 * that there is one.  malloc'd, NUL-terminated.
 */
char *th_snapshot(const char *task, const char *part, int ordinal);

/*
 * in with date tokens replaced by today's dates (China time): @TODAY
 * (YYYY-MM-DD), @YEAR, @MONTH (YYYY-MM), @OTHERMONTH (another month of this
 * year), @START and @END (January 1 and December 31 of this year), so that
 * fixtures stay valid whatever day the suite runs.  A static buffer (four in
 * rotation).
 */
const char *th_dates(const char *in);

/*
 * For tests that drive the real client through whole flows: th_out holds
 * the last client output; th_path names a file in the server's directory;
 * th_write writes one (date tokens expanded, see th_dates); th_clif runs
 * "shuangsui ARGS" (printf-style, English, date tokens expanded) and
 * returns its exit status; th_cli_ok also asserts it is 0 and shows the
 * output if not; th_assert_out asserts that th_out contains a text (date
 * tokens expanded); th_assert_db that a query as the owner gives a value.
 */
extern char th_out[1 << 22];
const char *th_path(const struct th_server *s, const char *name);
void th_write(const struct th_server *s, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int th_clif(const struct th_server *s, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void th_cli_ok(const struct th_server *s, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void th_assert_out(const char *want);
void th_assert_db(const char *sql, const char *expect);

#define th_free(env) shuangsui__v1__envelope__free_unpacked((env), NULL)

#endif
