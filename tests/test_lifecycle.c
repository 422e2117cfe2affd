/*
 * test_lifecycle.c — the server's life: a graceful stop with requests in
 * flight, the database going away and coming back, the connection cap.
 * Each test starts its own server.  Run serially (it stops PostgreSQL).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static int send_ping(struct th_client *c, uint64_t id, int db, uint32_t delay_ms)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PingRequest p = SHUANGSUI__V1__PING_REQUEST__INIT;

	p.db_round_trip = db;
	p.delay_ms = delay_ms;
	env.request_id = id;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PING;
	env.ping = &p;
	return th_send(c, &env);
}

static void sigterm_lets_requests_in_flight_complete(void **state)
{
	struct th_server srv;
	struct th_client *c;
	int seen[3] = {0}, i;

	assert_int_equal(th_server_start(&srv, NULL), 0);
	c = th_client_session(srv.port, "city-auditor");
	assert_non_null(c);
	for (i = 0; i < 3; i++)
		assert_int_equal(send_ping(c, 1000 + (uint64_t)i, 1, 1500), 0);
	usleep(300 * 1000);
	kill(srv.pid, SIGTERM);
	for (i = 0; i < 3; i++) {
		SsEnvelope *r = th_recv(c, 10000);

		assert_non_null(r);
		assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_PING_REPLY);
		assert_true(r->ping_reply->database_ok);
		assert_true(r->request_id >= 1000 && r->request_id < 1003);
		seen[r->request_id - 1000] = 1;
		th_free(r);
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	/* Exit status 0 means uv_loop_close() returned 0: every handle closed. */
	assert_int_equal(th_server_stop(&srv, 0), 0);
	assert_true(th_server_log_contains(&srv, "stopped"));
	th_client_close(c);
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A fresh session is served: a Ping without the database is answered. */
static void assert_serving(const struct th_server *srv)
{
	struct th_client *c = th_client_session(srv->port, "city-legal");
	SsEnvelope *r;

	assert_non_null(c);
	assert_int_equal(send_ping(c, 55, 0, 0), 0);
	r = th_recv(c, 5000);
	assert_non_null(r);
	assert_int_equal(r->request_id, 55);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_PING_REPLY);
	th_free(r);
	th_client_close(c);
}

static void client_vanishing_with_a_request_in_flight_does_not_hold_the_stop(void **state)
{
	struct th_server srv;
	struct th_client *c;
	long t0;

	assert_int_equal(th_server_start(&srv, NULL), 0);
	c = th_client_session(srv.port, "city-auditor");
	assert_non_null(c);
	assert_int_equal(send_ping(c, 1, 1, 1500), 0);
	usleep(200 * 1000); /* the server has read the request */
	th_client_vanish(c, 0);
	assert_serving(&srv);
	/* SIGTERM while the vanished client's request is still in flight: the
	 * stop waits for it, then the connection is freed and the server ends. */
	t0 = now_ms();
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
	assert_true(now_ms() - t0 < 5000);
	assert_true(th_server_log_contains(&srv, "stopped"));
}

static void vanished_clients_do_not_use_up_the_connection_limit(void **state)
{
	static const char *const extra[] = {"server.max_connections=3", NULL};
	struct th_server srv;
	int i;

	assert_int_equal(th_server_start(&srv, extra), 0);
	/* More vanishing clients than the limit, one after the other: each must
	 * give its place back once its request is done. */
	for (i = 0; i < 5; i++) {
		struct th_client *c = th_client_session(srv.port, "city-auditor");

		assert_non_null(c);
		assert_int_equal(send_ping(c, 10 + (uint64_t)i, 1, 300), 0);
		usleep(100 * 1000);
		th_client_vanish(c, i % 2); /* FIN and reset in turn */
		/* The request ends while nobody listens. */
		usleep(700 * 1000);
	}
	assert_serving(&srv);
	assert_false(th_server_log_contains(&srv, "is the maximum"));
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
	assert_true(th_server_log_contains(&srv, "stopped"));
}

static void drain_timeout_ends_a_stuck_stop_with_status_1(void **state)
{
	static const char *const extra[] = {"server.drain_timeout_ms=500", NULL};
	struct th_server srv;
	struct th_client *c;
	long t0;

	assert_int_equal(th_server_start(&srv, extra), 0);
	c = th_client_session(srv.port, "city-auditor");
	assert_non_null(c);
	assert_int_equal(send_ping(c, 1, 1, 4000), 0);
	usleep(300 * 1000);
	t0 = now_ms();
	/* The statement outlives the deadline: the server gives up on it. */
	assert_int_equal(th_server_stop(&srv, SIGTERM), 1);
	assert_true(now_ms() - t0 < 3000);
	assert_true(th_server_log_contains(&srv, "drain timeout"));
	th_client_close(c);
}

static void statement_timeout_ends_a_long_statement(void **state)
{
	static const char *const extra[] = {"database.statement_timeout_ms=300", NULL};
	struct th_server srv;
	struct th_client *c;
	SsEnvelope *r;
	long t0;

	assert_int_equal(th_server_start(&srv, extra), 0);
	c = th_client_session(srv.port, "city-auditor");
	assert_non_null(c);
	t0 = now_ms();
	assert_int_equal(send_ping(c, 1, 1, 3000), 0);
	r = th_recv(c, 5000);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_true(now_ms() - t0 < 2500);
	th_free(r);
	/* The pool connection is still good for the next statement. */
	assert_int_equal(send_ping(c, 2, 1, 0), 0);
	r = th_recv(c, 5000);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_PING_REPLY);
	th_free(r);
	th_client_close(c);
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
}

static void failed_listen_exits_1_with_every_handle_closed(void **state)
{
	struct th_server a, b;
	char port[64];
	const char *extra[] = {port, NULL};

	assert_int_equal(th_server_start(&a, NULL), 0);
	snprintf(port, sizeof(port), "server.port=%d", a.port);
	/* b cannot listen on a's port: th_server_start sees it exit. */
	assert_int_equal(th_server_start(&b, extra), -1);
	assert_false(th_server_alive(&b));
	assert_true(th_server_log_contains(&b, "address already in use"));
	/* The loop closed: the listener opened before the failure was closed. */
	assert_true(th_server_log_contains(&b, "stopped"));
	assert_false(th_server_log_contains(&b, "did not close cleanly"));
	assert_int_equal(th_server_stop(&a, SIGTERM), 0);
}

static void empty_revocation_list_setting_is_refused(void **state)
{
	char cmd[4096];

	/* Revocation is mandatory: "crl =" must not silently turn it off. */
	snprintf(cmd, sizeof(cmd),
		 "%s --set tls.ca=%s --set tls.cert=%s --set tls.key=%s --set tls.crl= "
		 "--set 'database.conninfo=%s' check-config >/dev/null 2>&1",
		 SS_TEST_SHUANGSUID_PATH, th_pki("ca/ca.crt"), th_pki("server/server.crt"),
		 th_pki("server/server.key"), th_env("SS_TEST_DB_APP"));
	assert_int_equal(th_run(cmd), 2);
	snprintf(cmd, sizeof(cmd),
		 "%s --set tls.ca=%s --set tls.cert=%s --set tls.key=%s --set tls.crl=%s "
		 "--set 'database.conninfo=%s' check-config >/dev/null 2>&1",
		 SS_TEST_SHUANGSUID_PATH, th_pki("ca/ca.crt"), th_pki("server/server.crt"),
		 th_pki("server/server.key"), th_pki("ca/crl.pem"), th_env("SS_TEST_DB_APP"));
	assert_int_equal(th_run(cmd), 0);
}

static int pgctl(const char *action)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", th_env("SS_TEST_PGCTL"), action);
	return system(cmd);
}

static SsEnvelope *db_ping(struct th_client *c)
{
	if (send_ping(c, 0, 1, 0) != 0)
		return NULL;
	return th_recv(c, 10000);
}

static void database_outage_gives_a_clear_error_and_recovers_without_restart(void **state)
{
	struct th_server srv;
	struct th_client *c;
	SsEnvelope *r;
	int i, recovered = 0;

	assert_int_equal(th_server_start(&srv, NULL), 0);
	c = th_client_session(srv.port, "city-auditor");
	assert_non_null(c);
	r = db_ping(c);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_PING_REPLY);
	th_free(r);

	assert_int_equal(pgctl("stop"), 0);
	r = db_ping(c);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(r->error->code, SHUANGSUI__V1__ERROR_CODE__DATABASE_UNAVAILABLE);
	assert_non_null(strstr(r->error->message_en, "database unavailable"));
	assert_non_null(strstr(r->error->message_zh, "数据库"));
	th_free(r);
	/* The session and the server are still up. */
	assert_int_equal(send_ping(c, 77, 0, 0), 0);
	r = th_recv(c, 5000);
	assert_non_null(r);
	assert_int_equal(r->request_id, 77);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_PING_REPLY);
	th_free(r);

	assert_int_equal(pgctl("start"), 0);
	for (i = 0; i < 100 && !recovered; i++) {
		r = db_ping(c);
		assert_non_null(r);
		recovered = r->body_case == SHUANGSUI__V1__ENVELOPE__BODY_PING_REPLY;
		if (!recovered)
			assert_int_equal(r->error->code,
					 SHUANGSUI__V1__ERROR_CODE__DATABASE_UNAVAILABLE);
		th_free(r);
		if (!recovered)
			usleep(100 * 1000);
	}
	assert_true(recovered);
	th_client_close(c);
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
}

static void connections_beyond_the_maximum_are_closed(void **state)
{
	static const char *const extra[] = {"server.max_connections=2", NULL};
	struct th_server srv;
	struct th_client *a, *b, *c;
	int ok = 1;

	assert_int_equal(th_server_start(&srv, extra), 0);
	a = th_client_session(srv.port, "city-auditor");
	b = th_client_session(srv.port, "city-legal");
	assert_non_null(a);
	assert_non_null(b);
	c = th_client_connect(srv.port, th_client_cert("city-admin"), th_client_key("city-admin"),
			      0, &ok);
	assert_non_null(c);
	assert_false(ok);
	assert_true(th_server_log_contains(&srv, "is the maximum"));
	th_client_close(c);
	th_client_close(a);
	th_client_close(b);
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
}

static void sighup_reloads_the_revocation_list(void **state)
{
	struct th_server srv;
	struct th_client *c, *held;
	char id[64], cmd[2048];

	/* A certificate of its own, so that revoking it disturbs no other test. */
	snprintf(id, sizeof(id), "reload-%d-%ld", getpid(), (long)time(NULL));
	snprintf(cmd, sizeof(cmd),
		 "%s/deploy/pki.sh --dir %s client --id %s --office 'reload test' --role operator "
		 "--jurisdiction 110101 >/dev/null && "
		 "%s --set 'database.conninfo=%s' --set 'database.migrate_conninfo=%s' "
		 "principal-add --id %s --office 'reload test' "
		 "--role operator --jurisdiction 110101 --cert %s >/dev/null",
		 SS_TEST_SOURCE_DIR, th_env("SS_TEST_PKI"), id, SS_TEST_SHUANGSUID_PATH,
		 th_env("SS_TEST_DB_APP"), th_env("SS_TEST_DB_OWNER"), id, th_client_cert(id));
	assert_int_equal(th_run(cmd), 0);
	assert_int_equal(th_server_start(&srv, NULL), 0);
	c = th_client_session(srv.port, id);
	assert_non_null(c);
	th_client_close(c);

	held = th_client_session(srv.port, id); /* open across the revocation */
	assert_non_null(held);
	snprintf(cmd, sizeof(cmd), "%s/deploy/pki.sh --dir %s revoke %s >/dev/null",
		 SS_TEST_SOURCE_DIR, th_env("SS_TEST_PKI"), id);
	assert_int_equal(th_run(cmd), 0);
	/* Until the reload the server still uses the old list... */
	c = th_client_session(srv.port, id);
	assert_non_null(c);
	th_client_close(c);
	kill(srv.pid, SIGHUP);
	for (int i = 0; i < 50 && !th_server_log_contains(&srv, "reloaded"); i++)
		usleep(100 * 1000);
	assert_true(th_server_log_contains(&srv, "reloaded"));
	/* The session opened before the revocation ends with the reload. */
	assert_true(th_closed_within(held, 3000));
	th_client_close(held);
	/* ...and after it the certificate is refused at the handshake. */
	c = th_client_session(srv.port, id);
	assert_null(c);
	assert_true(th_server_log_contains(&srv, "certificate revoked"));
	/* Others are unaffected. */
	c = th_client_session(srv.port, "city-auditor");
	assert_non_null(c);
	th_client_close(c);
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sigterm_lets_requests_in_flight_complete),
		cmocka_unit_test(database_outage_gives_a_clear_error_and_recovers_without_restart),
		cmocka_unit_test(connections_beyond_the_maximum_are_closed),
		cmocka_unit_test(client_vanishing_with_a_request_in_flight_does_not_hold_the_stop),
		cmocka_unit_test(vanished_clients_do_not_use_up_the_connection_limit),
		cmocka_unit_test(drain_timeout_ends_a_stuck_stop_with_status_1),
		cmocka_unit_test(statement_timeout_ends_a_long_statement),
		cmocka_unit_test(failed_listen_exits_1_with_every_handle_closed),
		cmocka_unit_test(empty_revocation_list_setting_is_refused),
		cmocka_unit_test(sighup_reloads_the_revocation_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
