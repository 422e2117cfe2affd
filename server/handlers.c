/*
 * handlers.c — request dispatch: validation, authorization, the operations.
 *
 * Every request passes here: it is decoded, checked against the session
 * state and the authorization table (server/authz.c), and answered exactly
 * once by ss_request_reply() or ss_request_fail().  Refusals are audited.
 */
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "server.h"
#include "ss_error.h"
#include "ss_log.h"
#include "validate.h"

#define SS_PING_MAX_DELAY_MS 5000
#define SS_AUDIT_PAGE_DEFAULT 100
#define SS_AUDIT_PAGE_MAX 1000

typedef Shuangsui__V1__Principal SsPrincipal;

static void ss_request_free(struct ss_request *req)
{
	if (req->work_free != NULL)
		req->work_free(req->work);
	if (req->env != NULL)
		shuangsui__v1__envelope__free_unpacked(req->env, NULL);
	free(req->err_field);
	free(req->err_en);
	free(req->err_zh);
	free(req);
}

static void ss_request_send(struct ss_request *req, uint8_t *frame, size_t len)
{
	struct ss_conn *c = req->conn;
	int close_after = req->close_after;

	if (!c->closing)
		ss_conn_send(c, frame, len);
	else
		free(frame);
	ss_request_free(req);
	if (close_after)
		ss_conn_close(c); /* after the reply, so that the peer reads why */
	ss_conn_request_done(c);
}

void ss_request_reply(struct ss_request *req, SsEnvelope *reply)
{
	uint8_t *frame;
	size_t len;
	int rc;

	reply->request_id = req->request_id;
	rc = ss_wire_pack(reply, req->conn->srv->cfg->max_frame_size, &frame, &len);
	if (rc != 0) {
		ss_error("reply to %s: %s", ss_op_name(req->op), ss_err_str(rc));
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	ss_request_send(req, frame, len);
}

void ss_request_fail(struct ss_request *req, int err, const char *field, const char *detail_en,
		     const char *detail_zh)
{
	uint8_t *frame;
	size_t len;

	if (ss_wire_error(req->request_id, err, field, detail_en, detail_zh, &frame, &len) != 0) {
		frame = NULL;
		len = 0;
	}
	if (frame == NULL) {
		struct ss_conn *c = req->conn;

		ss_request_free(req);
		ss_conn_request_done(c);
		return;
	}
	ss_request_send(req, frame, len);
}

/* Answers with the error a failed statement carries (SQLSTATE class SS). */
void ss_request_fail_db(struct ss_request *req, int err, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (err == SS_ERR_INTERNAL && state != NULL && strncmp(state, "SS", 2) == 0) {
		int code = strcmp(state, "SS013") == 0	 ? SS_ERR_NOT_FOUND
			   : strcmp(state, "SS014") == 0 ? SS_ERR_IDEMPOTENCY_CONFLICT
			   : strcmp(state, "SS007") == 0 ? SS_ERR_PERMISSION_DENIED
							 : SS_ERR_BAD_REQUEST;

		if (code == SS_ERR_PERMISSION_DENIED) {
			ss_request_refuse(req, code, PQresultErrorField(res, PG_DIAG_MESSAGE_HINT),
					  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
					  PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
			return;
		}
		ss_request_fail(req, code, PQresultErrorField(res, PG_DIAG_MESSAGE_HINT),
				PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
				PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
		return;
	}
	if (err == SS_ERR_INTERNAL)
		ss_error("%s: database: %s", ss_op_name(req->op),
			 res ? PQresultErrorMessage(res) : "no result");
	ss_request_fail(req, err, NULL, NULL, NULL);
}

int ss_request_query(struct ss_request *req, const char *sql, int n, const char *const *params,
		     ss_pg_cb cb)
{
	int rc = ss_pgpool_query(req->conn->srv->pool, sql, n, params, cb, req);

	if (rc != 0)
		ss_request_fail(req, rc, NULL, NULL, NULL);
	return rc;
}

int ss_request_need_key(struct ss_request *req)
{
	if (ss_validate_idempotency_key(req->env->idempotency_key) == 0)
		return 0;
	ss_request_fail(req, SS_ERR_BAD_REQUEST, "idempotency_key",
			"a mutating request needs an idempotency key of 1 to 128 printable ASCII "
			"characters",
			"修改类请求需要 1 至 128 个可打印 ASCII 字符的幂等键");
	return -1;
}

int ss_request_need_reason(struct ss_request *req, const char *reason, const char *field)
{
	if (ss_validate_text(reason, 2, 500) == 0)
		return 0;
	ss_request_fail(req, SS_ERR_BAD_REQUEST, field,
			"a reason of 2 to 500 characters (valid UTF-8) is required",
			"必须填写 2 至 500 个字符的理由（UTF-8）");
	return -1;
}

int64_t ss_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- refusals, audited ---- */

static void ss_refusal_audited(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;

	/* No refusal goes unrecorded: if the audit event cannot be written, the
	 * answer is that the database is unavailable (docs/protocol.md §8). */
	if (err != 0) {
		ss_warn("refusal of %s by %s could not be audited: %s", ss_op_name(req->op),
			req->conn->principal.id ? req->conn->principal.id : req->conn->fingerprint,
			res ? PQresultErrorMessage(res) : ss_err_str(err));
		ss_request_fail(req, err == SS_ERR_INTERNAL ? err : SS_ERR_DATABASE_UNAVAILABLE,
				NULL, NULL, NULL);
		return;
	}
	ss_request_fail(req, req->err, req->err_field, req->err_en, req->err_zh);
}

/* Writes a "denied" audit event for req, then answers it with err. */
void ss_request_refuse(struct ss_request *req, int err, const char *field, const char *detail_en,
		       const char *detail_zh)
{
	char actor[80];
	const char *params[5];
	int rc;

	req->err = err;
	req->err_field = field ? strdup(field) : NULL;
	req->err_en = detail_en ? strdup(detail_en) : NULL;
	req->err_zh = detail_zh ? strdup(detail_zh) : NULL;
	if (req->conn->principal.id != NULL)
		snprintf(actor, sizeof(actor), "%s", req->conn->principal.id);
	else
		snprintf(actor, sizeof(actor), "cert:%s", req->conn->fingerprint);
	params[0] = actor;
	params[1] = ss_op_name(req->op);
	params[2] = detail_en ? detail_en : ss_err_str(err);
	params[3] = req->sha256;
	params[4] = req->conn->peer;
	rc = ss_pgpool_query(req->conn->srv->pool,
			     "SELECT audit_append($1, $2, 'denied', $3, $4, "
			     "jsonb_build_object('peer', $5::text))",
			     5, params, ss_refusal_audited, req);
	if (rc != 0)
		ss_refusal_audited(req, rc, NULL);
}

/* ---- session ---- */

static void ss_principal_to_wire(const struct ss_conn *c, SsPrincipal *p)
{
	p->principal_id = c->principal.id;
	p->office = c->principal.office;
	p->role = c->principal.role_name;
	p->jurisdiction = c->principal.jurisdiction;
	p->fingerprint = (char *)c->fingerprint;
}

static void ss_hello_found(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_conn *c = req->conn;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__HelloReply hr = SHUANGSUI__V1__HELLO_REPLY__INIT;
	SsPrincipal p = SHUANGSUI__V1__PRINCIPAL__INIT;
	struct ss_principal *pr = &c->principal;
	int role;

	c->hello_pending = 0;
	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	role = PQntuples(res) == 1 ? ss_role_parse(PQgetvalue(res, 0, 2)) : -1;
	if (role < 0) {
		ss_info("%s: certificate %s is not registered to an active principal", c->peer,
			c->fingerprint);
		req->close_after = 1;
		ss_request_refuse(req, SS_ERR_UNKNOWN_PRINCIPAL, NULL, NULL, NULL);
		return;
	}
	pr->id = strdup(PQgetvalue(res, 0, 0));
	pr->office = strdup(PQgetvalue(res, 0, 1));
	pr->role_name = strdup(PQgetvalue(res, 0, 2));
	pr->jurisdiction = strdup(PQgetvalue(res, 0, 3));
	pr->role = (enum ss_role)role;
	if (!pr->id || !pr->office || !pr->role_name || !pr->jurisdiction) {
		ss_principal_clear(pr);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	c->hello_done = 1;
	ss_info("%s: session of %s (%s, %s)", c->peer, pr->id, pr->role_name, pr->jurisdiction);
	ss_principal_to_wire(c, &p);
	hr.protocol_version = SS_PROTOCOL_VERSION;
	hr.server_program = "shuangsuid";
	hr.server_version = SS_PROGRAM_VERSION;
	hr.principal = &p;
	hr.max_frame_size = c->srv->cfg->max_frame_size;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_HELLO_REPLY;
	reply.hello_reply = &hr;
	ss_request_reply(req, &reply);
}

static void ss_handle_hello(struct ss_request *req)
{
	struct ss_conn *c = req->conn;
	const Shuangsui__V1__Hello *h = req->env->hello;
	const char *params[1] = {c->fingerprint};

	if (c->hello_done || c->hello_pending) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "hello", "the session is already open",
				"会话已经建立");
		return;
	}
	if (h->protocol_version != SS_PROTOCOL_VERSION) {
		char en[96], zh[96];

		snprintf(en, sizeof(en), "this server speaks protocol version %u, not %u",
			 SS_PROTOCOL_VERSION, h->protocol_version);
		snprintf(zh, sizeof(zh), "本服务器使用协议版本 %u，不支持 %u", SS_PROTOCOL_VERSION,
			 h->protocol_version);
		req->close_after = 1;
		ss_request_fail(req, SS_ERR_UNSUPPORTED_VERSION, "hello.protocol_version", en, zh);
		return;
	}
	c->hello_pending = 1;
	if (ss_request_query(req,
			     "SELECT principal_id, office, role, jurisdiction FROM principals "
			     "WHERE fingerprint = $1 AND status = 'active'",
			     1, params, ss_hello_found) != 0)
		c->hello_pending = 0;
}

static void ss_ping_reply(struct ss_request *req, int db)
{
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PingReply pr = SHUANGSUI__V1__PING_REPLY__INIT;

	pr.server_time_unix_ms = ss_now_ms();
	pr.database_ok = db;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PING_REPLY;
	reply.ping_reply = &pr;
	ss_request_reply(req, &reply);
}

static void ss_ping_done(void *arg, int err, PGresult *res)
{
	if (err != 0)
		ss_request_fail_db(arg, err, res);
	else
		ss_ping_reply(arg, 1);
}

static void ss_handle_ping(struct ss_request *req)
{
	const Shuangsui__V1__PingRequest *p = req->env->ping;
	char delay[16];
	const char *params[1] = {delay};

	if (p->delay_ms > SS_PING_MAX_DELAY_MS) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "ping.delay_ms",
				"delay_ms must be at most 5000", "delay_ms 不得超过 5000");
		return;
	}
	if (!p->db_round_trip) {
		ss_ping_reply(req, 0);
		return;
	}
	snprintf(delay, sizeof(delay), "%u", p->delay_ms);
	ss_request_query(req, "SELECT pg_sleep($1::double precision / 1000)", 1, params,
			 ss_ping_done);
}

static void ss_handle_whoami(struct ss_request *req)
{
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__WhoAmIReply wr = SHUANGSUI__V1__WHO_AM_IREPLY__INIT;
	SsPrincipal p = SHUANGSUI__V1__PRINCIPAL__INIT;

	ss_principal_to_wire(req->conn, &p);
	wr.principal = &p;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI_REPLY;
	reply.whoami_reply = &wr;
	ss_request_reply(req, &reply);
}

/* ---- audit log ---- */

int ss_rows_that_fit(PGresult *res, int ncols, uint32_t max)
{
	size_t budget = max > 8192 ? max - 4096 : max / 2, used = 64;
	int rows = PQntuples(res), r, c, n = 0;

	for (r = 0; r < rows; r++) {
		size_t row = 48; /* field keys, lengths and the message header */

		for (c = 0; c < ncols; c++)
			row += (size_t)PQgetlength(res, r, c) + 3;
		if (n > 0 && used + row > budget)
			break;
		used += row;
		n++;
	}
	return n;
}

static void ss_audit_listed(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__AuditListReply ar = SHUANGSUI__V1__AUDIT_LIST_REPLY__INIT;
	Shuangsui__V1__AuditEvent *events = NULL, **ptrs = NULL;
	uint32_t limit = req->env->audit_list->limit ? req->env->audit_list->limit
						     : SS_AUDIT_PAGE_DEFAULT;
	int i, n;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	n = ss_rows_that_fit(res, 8, req->conn->srv->cfg->max_frame_size);
	if (n > 0) {
		events = calloc((size_t)n, sizeof(*events));
		ptrs = calloc((size_t)n, sizeof(*ptrs));
		if (events == NULL || ptrs == NULL) {
			free(events);
			free(ptrs);
			ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		Shuangsui__V1__AuditEvent *e = &events[i];

		shuangsui__v1__audit_event__init(e);
		e->id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		e->at_unix_ms = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		e->actor = PQgetvalue(res, i, 2);
		e->operation = PQgetvalue(res, i, 3);
		e->outcome = PQgetvalue(res, i, 4);
		e->reason = PQgetvalue(res, i, 5);
		e->request_sha256 = PQgetvalue(res, i, 6);
		e->detail = PQgetvalue(res, i, 7);
		ptrs[i] = e;
	}
	ar.n_events = (size_t)n;
	ar.events = ptrs;
	/* A full page, or one cut short to fit a frame: the client asks again. */
	ar.next_after_id =
		(n > 0 && ((uint32_t)n == limit || n < PQntuples(res))) ? events[n - 1].id : 0;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_AUDIT_LIST_REPLY;
	reply.audit_list_reply = &ar;
	ss_request_reply(req, &reply);
	free(events);
	free(ptrs);
}

static void ss_handle_audit_list(struct ss_request *req)
{
	const Shuangsui__V1__AuditListRequest *a = req->env->audit_list;
	char after[24], limit[16];
	const char *params[2] = {after, limit};

	if (a->limit > SS_AUDIT_PAGE_MAX) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "audit_list.limit",
				"limit must be at most 1000", "limit 不得超过 1000");
		return;
	}
	snprintf(after, sizeof(after), "%llu", (unsigned long long)a->after_id);
	snprintf(limit, sizeof(limit), "%u", a->limit ? a->limit : SS_AUDIT_PAGE_DEFAULT);
	ss_request_query(req,
			 "SELECT id, (extract(epoch FROM at) * 1000)::bigint, actor, operation, "
			 "outcome, reason, request_sha256, detail::text FROM audit_events "
			 "WHERE id > $1::bigint ORDER BY id LIMIT $2::integer",
			 2, params, ss_audit_listed);
}

/* ---- principals ---- */

/* Fills rec from columns principal_id, office, role, jurisdiction, fingerprint, status, version. */
static void ss_principal_record(PGresult *res, int row, Shuangsui__V1__PrincipalRecord *rec,
				SsPrincipal *p)
{
	shuangsui__v1__principal_record__init(rec);
	shuangsui__v1__principal__init(p);
	p->principal_id = PQgetvalue(res, row, 0);
	p->office = PQgetvalue(res, row, 1);
	p->role = PQgetvalue(res, row, 2);
	p->jurisdiction = PQgetvalue(res, row, 3);
	p->fingerprint = PQgetvalue(res, row, 4);
	rec->principal = p;
	rec->status = PQgetvalue(res, row, 5);
	rec->version = (uint32_t)strtoul(PQgetvalue(res, row, 6), NULL, 10);
}

#define SS_PRINCIPAL_COLUMNS "principal_id, office, role, jurisdiction, fingerprint, status, version"

static void ss_principals_listed(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PrincipalListReply lr = SHUANGSUI__V1__PRINCIPAL_LIST_REPLY__INIT;
	Shuangsui__V1__PrincipalRecord *recs = NULL, **ptrs = NULL;
	SsPrincipal *ps = NULL;
	int i, n;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	n = PQntuples(res);
	recs = calloc((size_t)n + 1, sizeof(*recs));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	ps = calloc((size_t)n + 1, sizeof(*ps));
	if (recs == NULL || ptrs == NULL || ps == NULL) {
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		ss_principal_record(res, i, &recs[i], &ps[i]);
		ptrs[i] = &recs[i];
	}
	lr.n_principals = (size_t)n;
	lr.principals = ptrs;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_LIST_REPLY;
	reply.principal_list_reply = &lr;
	ss_request_reply(req, &reply);
out:
	free(recs);
	free(ptrs);
	free(ps);
}

static void ss_handle_principal_list(struct ss_request *req)
{
	ss_request_query(req,
			 "SELECT " SS_PRINCIPAL_COLUMNS " FROM principals ORDER BY principal_id", 0,
			 NULL, ss_principals_listed);
}

static void ss_principal_status_set(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PrincipalSetStatusReply sr = SHUANGSUI__V1__PRINCIPAL_SET_STATUS_REPLY__INIT;
	Shuangsui__V1__PrincipalRecord rec;
	SsPrincipal p;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	if (PQntuples(res) != 1) {
		ss_error("principal.set_status: expected one row, got %d", PQntuples(res));
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	ss_principal_record(res, 0, &rec, &p);
	sr.principal = &rec;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS_REPLY;
	reply.principal_set_status_reply = &sr;
	{
		struct ss_server *srv = req->conn->srv;
		char target[80];
		int disabled = strcmp(rec.status, "disabled") == 0;

		snprintf(target, sizeof(target), "%s", p.principal_id);
		ss_request_reply(req, &reply);
		/* A disabled principal keeps no open session: its role was read at
		 * Hello, so its sessions end now rather than at its next Hello. */
		if (disabled)
			ss_server_end_sessions(srv, target);
	}
}

static void ss_handle_principal_set_status(struct ss_request *req)
{
	const Shuangsui__V1__PrincipalSetStatusRequest *r = req->env->principal_set_status;
	const char *params[6];

	if (ss_request_need_key(req) != 0)
		return;
	if (ss_validate_principal_id(r->principal_id) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "principal_set_status.principal_id",
				"a principal id is 2 to 64 characters: a-z, 0-9, '.', '_', '-'",
				"用户编号为 2 至 64 个字符：小写字母、数字、“.”“_”“-”");
		return;
	}
	if (strcmp(r->status, "active") != 0 && strcmp(r->status, "disabled") != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "principal_set_status.status",
				"status must be \"active\" or \"disabled\"",
				"状态必须是 active（启用）或 disabled（停用）");
		return;
	}
	if (ss_request_need_reason(req, r->reason, "principal_set_status.reason") != 0)
		return;
	params[0] = req->conn->principal.id;
	params[1] = req->env->idempotency_key;
	params[2] = req->sha256;
	params[3] = r->principal_id;
	params[4] = r->status;
	params[5] = r->reason;
	ss_request_query(req,
			 "SELECT " SS_PRINCIPAL_COLUMNS
			 " FROM principal_set_status($1, $2, $3, $4, $5, $6)",
			 6, params, ss_principal_status_set);
}

/* ---- dispatch ---- */

struct ss_handler {
	Shuangsui__V1__Envelope__BodyCase body;
	enum ss_op op;
	void (*fn)(struct ss_request *req);
};

static const struct ss_handler ss_handlers[] = {
	{SHUANGSUI__V1__ENVELOPE__BODY_HELLO, SS_OP_HELLO, ss_handle_hello},
	{SHUANGSUI__V1__ENVELOPE__BODY_PING, SS_OP_PING, ss_handle_ping},
	{SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI, SS_OP_WHOAMI, ss_handle_whoami},
	{SHUANGSUI__V1__ENVELOPE__BODY_AUDIT_LIST, SS_OP_AUDIT_LIST, ss_handle_audit_list},
	{SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_LIST, SS_OP_PRINCIPAL_LIST,
	 ss_handle_principal_list},
	{SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS, SS_OP_PRINCIPAL_SET_STATUS,
	 ss_handle_principal_set_status},
	/* Directory operations are authorized per directory inside the handler
	 * (the operation depends on the directory named); SS_OP_COUNT here
	 * means "the table is consulted by the handler". */
	{SHUANGSUI__V1__ENVELOPE__BODY_DIRECTORY_QUERY, SS_OP_COUNT, ss_handle_directory_query},
	{SHUANGSUI__V1__ENVELOPE__BODY_RECORD_GET, SS_OP_COUNT, ss_handle_record_get},
	{SHUANGSUI__V1__ENVELOPE__BODY_RECORD_HISTORY, SS_OP_COUNT, ss_handle_record_history},
	{SHUANGSUI__V1__ENVELOPE__BODY_RECORD_PUT, SS_OP_COUNT, ss_handle_record_put},
	{SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN, SS_OP_COUNT, ss_handle_import_begin},
	{SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK, SS_OP_COUNT, ss_handle_import_chunk},
	{SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_COMMIT, SS_OP_COUNT, ss_handle_import_commit},
	{SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_ADD_WORKDAYS, SS_OP_CALENDAR_READ,
	 ss_handle_calendar_add_workdays},
	{SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_BETWEEN, SS_OP_CALENDAR_READ,
	 ss_handle_calendar_between},
	{SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_OVERRIDE, SS_OP_CALENDAR_WRITE,
	 ss_handle_calendar_override},
	{SHUANGSUI__V1__ENVELOPE__BODY_DEPARTMENT_PUT, SS_OP_DEPARTMENT_WRITE,
	 ss_handle_department_put},
	{SHUANGSUI__V1__ENVELOPE__BODY_DEPARTMENT_LIST, SS_OP_DEPARTMENT_READ,
	 ss_handle_department_list},
	{SHUANGSUI__V1__ENVELOPE__BODY_PLAN_PUT, SS_OP_PLAN_WRITE, ss_handle_plan_put},
	/* approve/return also need plan.approve: asked by the handler. */
	{SHUANGSUI__V1__ENVELOPE__BODY_PLAN_ACT, SS_OP_PLAN_WRITE, ss_handle_plan_act},
	{SHUANGSUI__V1__ENVELOPE__BODY_PLAN_GET, SS_OP_PLAN_READ, ss_handle_plan_get},
	{SHUANGSUI__V1__ENVELOPE__BODY_PLAN_LIST, SS_OP_PLAN_READ, ss_handle_plan_list},
	{SHUANGSUI__V1__ENVELOPE__BODY_TASK_PUT, SS_OP_TASK_WRITE, ss_handle_task_put},
	{SHUANGSUI__V1__ENVELOPE__BODY_TASK_GET, SS_OP_TASK_READ, ss_handle_task_get},
	{SHUANGSUI__V1__ENVELOPE__BODY_TASK_PREVIEW, SS_OP_TASK_READ, ss_handle_task_preview},
	{SHUANGSUI__V1__ENVELOPE__BODY_TARGETED_RECORD, SS_OP_TARGETED_WRITE,
	 ss_handle_targeted_record},
	{SHUANGSUI__V1__ENVELOPE__BODY_STATS_QUERY, SS_OP_STATS_READ, ss_handle_stats_query},
	{SHUANGSUI__V1__ENVELOPE__BODY_DRAW_OPEN, SS_OP_DRAW_RUN, ss_handle_draw_open},
	{SHUANGSUI__V1__ENVELOPE__BODY_DRAW_WITNESS, SS_OP_DRAW_WITNESS, ss_handle_draw_witness},
	{SHUANGSUI__V1__ENVELOPE__BODY_DRAW_WAIVE, SS_OP_DRAW_WAIVE, ss_handle_draw_waive},
	{SHUANGSUI__V1__ENVELOPE__BODY_DRAW_RUN, SS_OP_DRAW_RUN, ss_handle_draw_run},
	{SHUANGSUI__V1__ENVELOPE__BODY_DRAW_VOID, SS_OP_DRAW_VOID, ss_handle_draw_void},
	{SHUANGSUI__V1__ENVELOPE__BODY_DRAW_RECUSE, SS_OP_DRAW_RUN, ss_handle_draw_recuse},
	{SHUANGSUI__V1__ENVELOPE__BODY_DRAW_STATUS, SS_OP_DRAW_READ, ss_handle_draw_status},
	{SHUANGSUI__V1__ENVELOPE__BODY_RECEIPT_GET, SS_OP_DRAW_READ, ss_handle_receipt_get},
	{SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_GET, SS_OP_DRAW_READ,
	 ss_handle_log_checkpoint_get},
	{SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_GET, SS_OP_DRAW_READ, ss_handle_log_leaves_get},
};

/* SHA-256 of the Envelope re-encoded with request_id = 0 (docs/protocol.md). */
static int ss_request_digest(struct ss_request *req)
{
	SsEnvelope copy = *req->env;
	unsigned char md[crypto_hash_sha256_BYTES];
	size_t n;
	uint8_t *buf;

	copy.request_id = 0;
	n = shuangsui__v1__envelope__get_packed_size(&copy);
	buf = malloc(n + 1);
	if (buf == NULL)
		return SS_ERR_NOMEM;
	shuangsui__v1__envelope__pack(&copy, buf);
	/* OpenSSL's SHA-256 (several times libsodium's here): every import
	 * chunk, hundreds of kilobytes, passes through this. */
	SHA256(buf, n, md);
	free(buf);
	sodium_bin2hex(req->sha256, sizeof(req->sha256), md, sizeof(md));
	return 0;
}

int ss_request_dispatch(struct ss_conn *c, const uint8_t *payload, size_t len)
{
	struct ss_request *req;
	const struct ss_handler *h = NULL;
	size_t i;
	int err = 0;

	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return SS_ERR_NOMEM;
	req->env = ss_wire_unpack(payload, len);
	if (req->env == NULL) {
		free(req);
		return SS_ERR_MALFORMED_MESSAGE;
	}
	req->conn = c;
	req->request_id = req->env->request_id;
	c->inflight++;
	for (i = 0; i < sizeof(ss_handlers) / sizeof(ss_handlers[0]); i++)
		if (ss_handlers[i].body == req->env->body_case)
			h = &ss_handlers[i];
	if (h == NULL)
		err = req->env->body_case == SHUANGSUI__V1__ENVELOPE__BODY__NOT_SET
			      ? SS_ERR_UNKNOWN_MESSAGE
			      : SS_ERR_NOT_A_REQUEST;
	else if (c->srv->draining)
		err = SS_ERR_SHUTTING_DOWN;
	else if (!c->hello_done && h->op != SS_OP_HELLO)
		err = SS_ERR_HELLO_REQUIRED;
	else if (c->inflight > c->srv->cfg->max_inflight)
		err = SS_ERR_TOO_MANY_REQUESTS;
	else if (ss_request_digest(req) != 0)
		err = SS_ERR_INTERNAL;
	if (err != 0) {
		ss_request_fail(req, err, NULL, NULL, NULL);
		return 0;
	}
	req->op = h->op;
	/* SS_OP_COUNT: the handler names the operation (per directory) and
	 * asks the same table through ss_authz_scope_prefix(). */
	if (h->op != SS_OP_HELLO && h->op != SS_OP_COUNT &&
	    ss_authz_check(c->principal.role, c->principal.jurisdiction, h->op, NULL) != 0) {
		char en[160], zh[160];

		snprintf(en, sizeof(en), "role %s may not perform %s", c->principal.role_name,
			 ss_op_name(h->op));
		snprintf(zh, sizeof(zh), "角色 %s 无权执行 %s", c->principal.role_name,
			 ss_op_name(h->op));
		ss_info("%s: %s denied %s", c->peer, c->principal.id, ss_op_name(h->op));
		ss_request_refuse(req, SS_ERR_PERMISSION_DENIED, NULL, en, zh);
		return 0;
	}
	h->fn(req);
	return 0;
}
