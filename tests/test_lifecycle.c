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
	struct th_client *c;
	char id[64], cmd[2048];

	/* A certificate of its own, so that revoking it disturbs no other test. */
	snprintf(id, sizeof(id), "reload-%d-%ld", getpid(), (long)time(NULL));
	snprintf(cmd, sizeof(cmd),
		 "%s/deploy/pki.sh --dir %s client --id %s --office 'reload test' --role operator "
		 "--jurisdiction 110101 >/dev/null && "
		 "%s --set 'database.conninfo=%s' principal-add --id %s --office 'reload test' "
		 "--role operator --jurisdiction 110101 --cert %s >/dev/null",
		 SS_TEST_SOURCE_DIR, th_env("SS_TEST_PKI"), id, SS_TEST_SHUANGSUID_PATH,
		 th_env("SS_TEST_DB_APP"), id, th_client_cert(id));
	assert_int_equal(th_run(cmd), 0);
	assert_int_equal(th_server_start(&srv, NULL), 0);
	c = th_client_session(srv.port, id);
	assert_non_null(c);
	th_client_close(c);

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
		cmocka_unit_test(sighup_reloads_the_revocation_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
