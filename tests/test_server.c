/*
 * test_server.c — shuangsuid over real TLS on loopback against a real
 * PostgreSQL: who gets in, what they may do, and how the server behaves
 * under slow clients, limits and SIGTERM.
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
#include <poll.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"

static struct th_server srv;

static int server_up(void **state)
{
	static const char *const extra[] = {"server.idle_timeout_ms=1500", "server.max_connections=20",
					    "server.handshake_timeout_ms=1000", NULL};

	return th_server_start(&srv, extra);
}

static int server_down(void **state)
{
	/* Only a safety net: cmocka 1.1.5 ignores a failing group teardown, so
	 * the clean stop is checked by the last test (server_stops_cleanly_on_sigterm). */
	if (srv.pid > 0)
		(void)th_server_stop(&srv, SIGKILL);
	return 0;
}

static SsEnvelope *call_whoami(struct th_client *c)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__WhoAmIRequest w = SHUANGSUI__V1__WHO_AM_IREQUEST__INIT;

	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI;
	env.whoami = &w;
	return th_call(c, &env);
}

static int send_hello(struct th_client *c, uint32_t version)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__Hello h = SHUANGSUI__V1__HELLO__INIT;

	h.protocol_version = version;
	h.program = "test";
	h.program_version = "0";
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	return th_send(c, &env);
}

/* The server is still running and a valid session is served. */
static void assert_still_serving(void)
{
	struct th_client *c;
	SsEnvelope *r;

	assert_true(th_server_alive(&srv));
	c = th_client_session(srv.port, "city-auditor");
	assert_non_null(c);
	r = call_whoami(c);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI_REPLY);
	th_free(r);
	th_client_close(c);
}

/*
 * The server must not let this certificate in: no HelloReply, ever; and the
 * refusal must not have cost the server its life.
 */
static void assert_refused(const char *cert, const char *key, int tls_max)
{
	int ok = 0;
	struct th_client *c = th_client_connect(srv.port, cert, key, tls_max, &ok);
	SsEnvelope *reply;

	assert_non_null(c);
	if (ok) {
		/* In TLS 1.3 the server judges the client certificate after the
		 * client has finished; the refusal arrives as an alert. */
		(void)send_hello(c, SS_PROTOCOL_VERSION);
		reply = th_recv(c, 3000);
		if (reply != NULL)
			fail_msg("server answered a refused client with body %d", reply->body_case);
	}
	th_client_close(c);
	assert_still_serving();
}

static void client_without_certificate_is_refused(void **state)
{
	assert_refused(NULL, NULL, 0);
	assert_true(th_server_log_contains(&srv, "TLS handshake refused"));
}

static void certificate_from_another_ca_is_refused(void **state)
{
	assert_refused(th_pki("other-ca/clients/rogue.crt"), th_pki("other-ca/clients/rogue.key"),
		       0);
	/* Refused by certificate verification, not by accident. */
	assert_true(th_server_log_contains(&srv, "peer certificate: unable to get local issuer"));
}

static void expired_certificate_is_refused(void **state)
{
	assert_refused(th_client_cert("expired-operator"), th_client_key("expired-operator"), 0);
	assert_true(th_server_log_contains(&srv, "certificate has expired"));
}

static void revoked_certificate_is_refused(void **state)
{
	assert_refused(th_client_cert("revoked-operator"), th_client_key("revoked-operator"), 0);
	assert_true(th_server_log_contains(&srv, "certificate revoked"));
}

static void tls12_only_client_is_refused(void **state)
{
	int ok = 1;
	struct th_client *c =
		th_client_connect(srv.port, th_client_cert("district-a-operator"),
				  th_client_key("district-a-operator"), TLS1_2_VERSION, &ok);

	assert_non_null(c);
	assert_false(ok);
	th_client_close(c);
	assert_still_serving();
}

static void silent_client_is_dropped_at_the_handshake_timeout(void **state)
{
	int fd = th_tcp_connect(srv.port);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char byte;

	assert_true(fd >= 0);
	/* Nothing sent: the server gives up after handshake_timeout (1 s). */
	assert_int_equal(poll(&p, 1, 4000), 1);
	assert_true(read(fd, &byte, 1) <= 0);
	close(fd);
	assert_true(th_server_log_contains(&srv, "TLS handshake timed out"));
	assert_still_serving();
}

static void whoami_names_office_role_and_jurisdiction(void **state)
{
	struct th_client *c = th_client_session(srv.port, "district-a-operator");
	SsEnvelope *r;

	assert_non_null(c);
	r = call_whoami(c);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI_REPLY);
	assert_string_equal(r->whoami_reply->principal->principal_id, "district-a-operator");
	assert_string_equal(r->whoami_reply->principal->office, "东城区住房和城乡建设局");
	assert_string_equal(r->whoami_reply->principal->role, "operator");
	assert_string_equal(r->whoami_reply->principal->jurisdiction, "110101");
	assert_int_equal(strlen(r->whoami_reply->principal->fingerprint), 64);
	th_free(r);
	th_client_close(c);
}

static void request_before_hello_is_refused_and_session_survives(void **state)
{
	int ok;
	struct th_client *c =
		th_client_connect(srv.port, th_client_cert("city-auditor"),
				  th_client_key("city-auditor"), 0, &ok);
	SsEnvelope *r;

	assert_true(ok);
	r = call_whoami(c);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(r->error->code, SHUANGSUI__V1__ERROR_CODE__HELLO_REQUIRED);
	th_free(r);
	assert_int_equal(send_hello(c, SS_PROTOCOL_VERSION), 0);
	r = th_recv(c, 5000);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_HELLO_REPLY);
	th_free(r);
	th_client_close(c);
}

static void wrong_protocol_version_is_refused_and_closed(void **state)
{
	int ok;
	struct th_client *c =
		th_client_connect(srv.port, th_client_cert("city-auditor"),
				  th_client_key("city-auditor"), 0, &ok);
	SsEnvelope *r;

	assert_true(ok);
	assert_int_equal(send_hello(c, 99), 0);
	r = th_recv(c, 5000);
	assert_non_null(r);
	assert_int_equal(r->error->code, SHUANGSUI__V1__ERROR_CODE__UNSUPPORTED_VERSION);
	assert_string_equal(r->error->field, "hello.protocol_version");
	th_free(r);
	assert_true(th_closed_within(c, 3000));
	th_client_close(c);
}

static void unknown_message_type_gets_an_error_not_a_disconnect(void **state)
{
	struct th_client *c = th_client_session(srv.port, "city-auditor");
	/* Envelope{request_id=5, field 99 (length-delimited, empty)}. */
	static const uint8_t frame[] = {0, 0, 0, 5, 0x08, 0x05, 0x9a, 0x06, 0x00};
	SsEnvelope *r;

	assert_non_null(c);
	assert_int_equal(th_send_raw(c, frame, sizeof(frame)), 0);
	r = th_recv(c, 5000);
	assert_non_null(r);
	assert_int_equal(r->request_id, 5);
	assert_int_equal(r->error->code, SHUANGSUI__V1__ERROR_CODE__UNKNOWN_MESSAGE);
	assert_true(strlen(r->error->message_zh) > 0);
	assert_true(strlen(r->error->message_en) > 0);
	th_free(r);
	r = call_whoami(c);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI_REPLY);
	th_free(r);
	th_client_close(c);
}

static void oversized_frame_is_refused_before_allocation_and_closed(void **state)
{
	struct th_client *c = th_client_session(srv.port, "city-auditor");
	static const uint8_t hdr[] = {0xff, 0xff, 0xff, 0xff};
	SsEnvelope *r;

	assert_non_null(c);
	assert_int_equal(th_send_raw(c, hdr, sizeof(hdr)), 0);
	r = th_recv(c, 5000);
	assert_non_null(r);
	assert_int_equal(r->error->code, SHUANGSUI__V1__ERROR_CODE__FRAME_TOO_LARGE);
	th_free(r);
	assert_true(th_closed_within(c, 3000));
	th_client_close(c);
}

static void trickling_client_is_dropped_while_others_are_served(void **state)
{
	struct th_client *slow = th_client_session(srv.port, "district-b-operator");
	struct th_client *fast = th_client_session(srv.port, "city-auditor");
	static const uint8_t frame[] = {0, 0, 0, 4, 0x08, 0x02, 0x7a, 0x00};
	size_t i;
	int dropped = 0;

	assert_non_null(slow);
	assert_non_null(fast);
	/* One byte a second: the idle timeout (1.5 s) counts whole frames only. */
	for (i = 0; i < sizeof(frame) && !dropped; i++) {
		SsEnvelope *r;

		if (th_send_raw(slow, frame + i, 1) != 0) {
			dropped = 1;
			break;
		}
		r = call_whoami(fast);
		assert_non_null(r);
		assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI_REPLY);
		th_free(r);
		dropped = th_closed_within(slow, 1000);
	}
	assert_true(dropped);
	assert_true(th_server_log_contains(&srv, "idle timeout"));
	th_client_close(slow);
	th_client_close(fast);
}

static void permission_denied_is_answered_and_audited(void **state)
{
	struct th_client *c = th_client_session(srv.port, "district-a-operator");
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__AuditListRequest a = SHUANGSUI__V1__AUDIT_LIST_REQUEST__INIT;
	PGconn *db = th_db(0);
	char *before, *after;
	SsEnvelope *r;

	assert_non_null(c);
	before = th_db_value(db, "SELECT count(*) FROM audit_events WHERE actor = "
				 "'district-a-operator' AND operation = 'audit.list' "
				 "AND outcome = 'denied'");
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_AUDIT_LIST;
	env.audit_list = &a;
	r = th_call(c, &env);
	assert_non_null(r);
	assert_int_equal(r->error->code, SHUANGSUI__V1__ERROR_CODE__PERMISSION_DENIED);
	assert_non_null(strstr(r->error->message_en, "operator"));
	th_free(r);
	after = th_db_value(db, "SELECT count(*) FROM audit_events WHERE actor = "
				"'district-a-operator' AND operation = 'audit.list' "
				"AND outcome = 'denied'");
	assert_int_equal(atoi(after), atoi(before) + 1);
	free(before);
	free(after);
	PQfinish(db);
	th_client_close(c);
}

static void audit_rows_cannot_be_changed_by_the_application(void **state)
{
	PGconn *db = th_db(0);
	PGresult *res = PQexec(db, "UPDATE audit_events SET reason = 'x'");

	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42501");
	PQclear(res);
	res = PQexec(db, "DELETE FROM audit_events");
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	PQclear(res);
	PQfinish(db);
	/* Not even the owner may rewrite history. */
	db = th_db(1);
	res = PQexec(db, "UPDATE audit_events SET reason = 'x'");
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	PQclear(res);
	PQfinish(db);
}

static SsEnvelope *set_status(struct th_client *c, const char *key, const char *status,
			      const char *reason)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PrincipalSetStatusRequest p = SHUANGSUI__V1__PRINCIPAL_SET_STATUS_REQUEST__INIT;

	p.principal_id = "expired-operator";
	p.status = (char *)status;
	p.reason = (char *)reason;
	env.idempotency_key = (char *)key;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS;
	env.principal_set_status = &p;
	return th_call(c, &env);
}

static void status_change_is_versioned_audited_and_idempotent(void **state)
{
	struct th_client *c = th_client_session(srv.port, "city-admin");
	PGconn *db = th_db(0);
	char *cur = th_db_value(db, "SELECT status FROM principals "
				    "WHERE principal_id = 'expired-operator'");
	const char *to;
	char key[64];
	uint32_t version;
	SsEnvelope *r, *again;

	assert_non_null(c);
	assert_non_null(cur);
	to = strcmp(cur, "active") == 0 ? "disabled" : "active";
	snprintf(key, sizeof(key), "test-%ld-%d", (long)time(NULL), getpid());
	r = set_status(c, key, to, "离职 transferred to another bureau");
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS_REPLY);
	assert_string_equal(r->principal_set_status_reply->principal->status, to);
	version = r->principal_set_status_reply->principal->version;
	/* A retry with the same key gets the same answer and changes nothing. */
	again = set_status(c, key, to, "离职 transferred to another bureau");
	assert_non_null(again);
	assert_int_equal(again->body_case, SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS_REPLY);
	assert_int_equal(again->principal_set_status_reply->principal->version, version);
	th_free(again);
	/* The same key for another request is a conflict. */
	again = set_status(c, key, to, "a different reason");
	assert_non_null(again);
	assert_int_equal(again->error->code, SHUANGSUI__V1__ERROR_CODE__IDEMPOTENCY_CONFLICT);
	th_free(again);
	th_free(r);
	/* The old version is still there, and the change is audited once, with its reason. */
	{
		char sql[256];
		char *n;

		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM principal_versions WHERE principal_id = "
			 "'expired-operator' AND version = %u - 1 AND status = '%s'",
			 version, cur);
		n = th_db_value(db, sql);
		assert_string_equal(n, "1");
		free(n);
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM audit_events WHERE actor = 'city-admin' AND "
			 "operation = 'principal.set_status' AND detail->>'version' = '%u' AND "
			 "reason LIKE '离职%%'",
			 version);
		n = th_db_value(db, sql);
		assert_string_equal(n, "1");
		free(n);
	}
	free(cur);
	PQfinish(db);
	th_client_close(c);
}

static SsEnvelope *set_status_of(struct th_client *c, const char *id, const char *status)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PrincipalSetStatusRequest p = SHUANGSUI__V1__PRINCIPAL_SET_STATUS_REQUEST__INIT;
	char key[64];

	snprintf(key, sizeof(key), "%s-%s-%ld-%d", id, status, (long)time(NULL), getpid());
	p.principal_id = (char *)id;
	p.status = (char *)status;
	p.reason = "test: key holder changed";
	env.idempotency_key = key;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS;
	env.principal_set_status = &p;
	return th_call(c, &env);
}

static void disabled_principal_is_told_why_then_closed(void **state)
{
	struct th_client *admin = th_client_session(srv.port, "city-admin");
	struct th_client *c;
	SsEnvelope *r;
	int ok;

	struct th_client *before = th_client_session(srv.port, "district-b-operator");

	assert_non_null(admin);
	assert_non_null(before);
	r = set_status_of(admin, "district-b-operator", "disabled");
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS_REPLY);
	th_free(r);
	/* The session it already had ends too: its role was read at Hello. */
	assert_true(th_closed_within(before, 3000));
	th_client_close(before);
	c = th_client_connect(srv.port, th_client_cert("district-b-operator"),
			      th_client_key("district-b-operator"), 0, &ok);
	assert_true(ok);
	assert_int_equal(send_hello(c, SS_PROTOCOL_VERSION), 0);
	r = th_recv(c, 5000);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(r->error->code, SHUANGSUI__V1__ERROR_CODE__UNKNOWN_PRINCIPAL);
	th_free(r);
	assert_true(th_closed_within(c, 3000));
	th_client_close(c);
	r = set_status_of(admin, "district-b-operator", "active");
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS_REPLY);
	th_free(r);
	th_client_close(admin);
	/* Enabled again: the same certificate opens a session. */
	c = th_client_session(srv.port, "district-b-operator");
	assert_non_null(c);
	th_client_close(c);
}

/* Last in the group: exit 0 means uv_loop_close() returned 0, every handle closed. */
static void server_stops_cleanly_on_sigterm(void **state)
{
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
	assert_true(th_server_log_contains(&srv, "stopped"));
	assert_false(th_server_log_contains(&srv, "did not close cleanly"));
}

/*
 * Mutated and random frames — bit flips, truncations, random bodies of
 * every message type — never crash the server: each is answered or the
 * connection is closed, and the server keeps serving.  Bounded and seeded,
 * so a failure reproduces.
 */
static void hostile_frames_never_crash_the_server(void **state)
{
	static const uint8_t seeds[][12] = {
		/* whoami, ping db, audit_list limit 1, directory_query "entity" */
		{0x08, 0x02, 0x7a, 0x00},
		{0x08, 0x03, 0x6a, 0x04, 0x08, 0x01, 0x10, 0x05},
		{0x08, 0x04, 0x8a, 0x01, 0x02, 0x10, 0x01},
		{0x08, 0x05, 0xba, 0x01, 0x08, 0x0a, 0x06, 'e', 'n', 't', 'i', 't'},
	};
	static const size_t seed_len[] = {4, 8, 7, 12};
	unsigned rng = 12345;
	int round, sent = 0;

	for (round = 0; round < 150; round++) {
		struct th_client *c = th_client_session(srv.port, "city-auditor");
		int i;

		assert_non_null(c);
		for (i = 0; i < 50; i++) {
			uint8_t frame[4 + 64];
			size_t n, k;

			rng = rng * 1103515245u + 12345u;
			if ((rng >> 16) % 3 == 0) {
				/* Random bytes of a random length. */
				n = 1 + (rng >> 8) % 60;
				for (k = 0; k < n; k++) {
					rng = rng * 1103515245u + 12345u;
					frame[4 + k] = (uint8_t)(rng >> 16);
				}
			} else {
				/* A valid request with a few bytes flipped or cut. */
				size_t which = (rng >> 8) % 4;

				n = seed_len[which];
				memcpy(frame + 4, seeds[which], n);
				for (k = 0; k < 3; k++) {
					rng = rng * 1103515245u + 12345u;
					frame[4 + (rng >> 16) % n] ^= (uint8_t)(1u << ((rng >> 8) % 8));
				}
				if ((rng >> 20) % 4 == 0)
					n = 1 + (rng >> 4) % n;
			}
			ss_frame_header_put(frame, (uint32_t)n);
			if (th_send_raw(c, frame, 4 + n) != 0)
				break;
			sent++;
			/* Either an answer, or the server closed (malformed frames). */
			{
				SsEnvelope *r = th_recv(c, 2000);

				if (r == NULL)
					break;
				th_free(r);
			}
		}
		th_client_close(c);
	}
	assert_true(sent >= 300); /* 314 with this seed: sessions end at the first malformed frame */
	assert_true(th_server_alive(&srv));
	assert_still_serving();
}

static void invalid_reason_is_refused_with_the_field_named(void **state)
{
	struct th_client *c = th_client_session(srv.port, "city-admin");
	SsEnvelope *r;

	assert_non_null(c);
	r = set_status(c, "k-invalid-reason", "disabled", "x");
	assert_non_null(r);
	assert_int_equal(r->error->code, SHUANGSUI__V1__ERROR_CODE__BAD_REQUEST);
	assert_string_equal(r->error->field, "principal_set_status.reason");
	th_free(r);
	th_client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(client_without_certificate_is_refused),
		cmocka_unit_test(certificate_from_another_ca_is_refused),
		cmocka_unit_test(expired_certificate_is_refused),
		cmocka_unit_test(revoked_certificate_is_refused),
		cmocka_unit_test(tls12_only_client_is_refused),
		cmocka_unit_test(silent_client_is_dropped_at_the_handshake_timeout),
		cmocka_unit_test(whoami_names_office_role_and_jurisdiction),
		cmocka_unit_test(request_before_hello_is_refused_and_session_survives),
		cmocka_unit_test(wrong_protocol_version_is_refused_and_closed),
		cmocka_unit_test(unknown_message_type_gets_an_error_not_a_disconnect),
		cmocka_unit_test(oversized_frame_is_refused_before_allocation_and_closed),
		cmocka_unit_test(trickling_client_is_dropped_while_others_are_served),
		cmocka_unit_test(permission_denied_is_answered_and_audited),
		cmocka_unit_test(audit_rows_cannot_be_changed_by_the_application),
		cmocka_unit_test(status_change_is_versioned_audited_and_idempotent),
		cmocka_unit_test(invalid_reason_is_refused_with_the_field_named),
		cmocka_unit_test(hostile_frames_never_crash_the_server),
		cmocka_unit_test(disabled_principal_is_told_why_then_closed),
		cmocka_unit_test(server_stops_cleanly_on_sigterm), /* keep last */
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
