/*
 * plans.c — departments, plans, tasks, task previews, targeted inspections
 * and the oversight figures (issue 4; docs/plans.md).
 *
 * The handlers validate what a request says (server/plandoc.c for the
 * documents), ask the authorization table, and call one function of
 * sql/003_plans.sql, which checks what only the data knows and writes the
 * change, its audit event and its idempotency record in one transaction.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "dirschema.h"
#include "plandoc.h"
#include "server.h"
#include "ss_error.h"
#include "ss_log.h"
#include "validate.h"

static int ss_is_id(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n < 2 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int ss_need_id(struct ss_request *req, const char *v, const char *field)
{
	if (ss_is_id(v))
		return 0;
	ss_request_fail(req, SS_ERR_BAD_REQUEST, field,
			"an id is 2 to 64 letters, digits or . _ -", "编号为 2 至 64 个字母、数字或 . _ -");
	return -1;
}

static int ss_need_one_of(struct ss_request *req, const char *v, const char *const *values,
			  const char *field)
{
	char en[200], zh[200], list[120] = "";
	size_t i;

	for (i = 0; values[i] != NULL; i++) {
		if (v != NULL && strcmp(v, values[i]) == 0)
			return 0;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 values[i]);
	}
	snprintf(en, sizeof(en), "%s must be one of: %s", field, list);
	snprintf(zh, sizeof(zh), "%s 应为以下之一：%s", field, list);
	ss_request_fail(req, SS_ERR_BAD_REQUEST, field, en, zh);
	return -1;
}

static int ss_need_date(struct ss_request *req, const char *v, const char *field)
{
	int32_t day;

	if (v != NULL && strlen(v) == 10 && ss_date_parse(v, &day) == 0)
		return 0;
	ss_request_fail(req, SS_ERR_BAD_REQUEST, field, "a date is YYYY-MM-DD", "日期格式为 YYYY-MM-DD");
	return -1;
}

/* Answers a refused document with the field and both messages. */
static void ss_doc_fail(struct ss_request *req, int rc, const struct ss_doc_error *e)
{
	if (rc == SS_ERR_BAD_REQUEST)
		ss_request_fail(req, rc, e->field, e->en, e->zh);
	else
		ss_request_fail(req, rc, NULL, NULL, NULL);
}

/* Lowercase hex SHA-256 of a NUL-terminated string. */
static void ss_sha256_text(const char *s, char hex[65])
{
	unsigned char md[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(md, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(hex, 65, md, sizeof(md));
}

/* The jurisdiction prefix of a 6-digit code: "11" for 110000, "1101" for 110100. */
static void ss_jurisdiction_prefix(const char *code, char out[8])
{
	size_t n = 6;

	snprintf(out, 7, "%s", code);
	while (n > 2 && out[n - 1] == '0' && out[n - 2] == '0')
		n -= 2;
	out[n] = '\0';
}

/* ---- departments ---- */

static void ss_department_stored(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__DepartmentPutReply r = SHUANGSUI__V1__DEPARTMENT_PUT_REPLY__INIT;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	r.code = req->env->department_put->department->code;
	r.version = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DEPARTMENT_PUT_REPLY;
	reply.department_put_reply = &r;
	ss_request_reply(req, &reply);
}

void ss_handle_department_put(struct ss_request *req)
{
	static const char *const kinds[] = {"housing", "market_supervision", "other", NULL};
	static const char *const statuses[] = {"active", "retired", NULL};
	const Shuangsui__V1__DepartmentPut *p = req->env->department_put;
	const Shuangsui__V1__Department *d = p->department;
	const char *params[10];

	if (ss_request_need_key(req) != 0)
		return;
	if (d == NULL) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "department_put.department",
				"the department is missing", "缺少部门信息");
		return;
	}
	if (ss_need_id(req, d->code, "department.code") != 0)
		return;
	if (ss_validate_text(d->name, 1, 200) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "department.name",
				"the name is 1 to 200 characters", "名称为 1 至 200 个字符");
		return;
	}
	if (ss_validate_division_code(d->jurisdiction) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "department.jurisdiction",
				"the jurisdiction is a 6-digit division code",
				"辖区应为 6 位行政区划代码");
		return;
	}
	if ((d->parent_code[0] != '\0' && ss_need_id(req, d->parent_code, "department.parent_code") != 0) ||
	    ss_need_one_of(req, d->kind, kinds, "department.kind") != 0 ||
	    ss_need_one_of(req, d->status, statuses, "department.status") != 0 ||
	    ss_request_need_reason(req, p->reason, "department_put.reason") != 0)
		return;
	params[0] = req->conn->principal.id;
	params[1] = req->env->idempotency_key;
	params[2] = req->sha256;
	params[3] = d->code;
	params[4] = d->name;
	params[5] = d->jurisdiction;
	params[6] = d->parent_code[0] ? d->parent_code : NULL;
	params[7] = d->kind;
	params[8] = d->status;
	params[9] = p->reason;
	ss_request_query(req,
			 "SELECT department_put($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10,
			 params, ss_department_stored);
}

static void ss_departments_listed(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__DepartmentListReply r = SHUANGSUI__V1__DEPARTMENT_LIST_REPLY__INIT;
	Shuangsui__V1__Department *ds, **ptrs;
	int i, n;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	n = ss_rows_that_fit(res, 7, req->conn->srv->cfg->max_frame_size);
	ds = calloc((size_t)n + 1, sizeof(*ds));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	if (ds == NULL || ptrs == NULL) {
		free(ds);
		free(ptrs);
		ss_request_fail(req, SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		shuangsui__v1__department__init(&ds[i]);
		ds[i].code = PQgetvalue(res, i, 0);
		ds[i].name = PQgetvalue(res, i, 1);
		ds[i].jurisdiction = PQgetvalue(res, i, 2);
		ds[i].parent_code = PQgetvalue(res, i, 3);
		ds[i].kind = PQgetvalue(res, i, 4);
		ds[i].status = PQgetvalue(res, i, 5);
		ds[i].version = (uint32_t)strtoul(PQgetvalue(res, i, 6), NULL, 10);
		ptrs[i] = &ds[i];
	}
	r.n_departments = (size_t)n;
	r.departments = ptrs;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DEPARTMENT_LIST_REPLY;
	reply.department_list_reply = &r;
	ss_request_reply(req, &reply);
	free(ds);
	free(ptrs);
}

void ss_handle_department_list(struct ss_request *req)
{
	ss_request_query(req,
			 "SELECT dept_code, name, jurisdiction, coalesce(parent_code, ''), kind, status, "
			 "version FROM departments ORDER BY dept_code",
			 0, NULL, ss_departments_listed);
}

/* ---- plans ---- */

static void ss_plan_stored(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PlanPutReply r = SHUANGSUI__V1__PLAN_PUT_REPLY__INIT;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	r.plan_id = req->env->plan_put->plan_id;
	r.version = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	r.state = PQgetvalue(res, 0, 1);
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PLAN_PUT_REPLY;
	reply.plan_put_reply = &r;
	ss_request_reply(req, &reply);
}

void ss_handle_plan_put(struct ss_request *req)
{
	const Shuangsui__V1__PlanPut *p = req->env->plan_put;
	struct ss_doc_error e;
	char *canon = NULL, sha[65];
	const char *params[8];
	int rc;

	if (ss_request_need_key(req) != 0 || ss_need_id(req, p->plan_id, "plan_put.plan_id") != 0 ||
	    ss_request_need_reason(req, p->reason, "plan_put.reason") != 0)
		return;
	rc = ss_plandoc_plan(p->document, strlen(p->document), &canon, &e);
	if (rc != 0) {
		ss_doc_fail(req, rc, &e);
		return;
	}
	ss_sha256_text(canon, sha);
	params[0] = req->conn->principal.id;
	params[1] = req->env->idempotency_key;
	params[2] = req->sha256;
	params[3] = p->plan_id;
	params[4] = canon;
	params[5] = sha;
	params[6] = p->amend ? "t" : "f";
	params[7] = p->reason;
	ss_request_query(req, "SELECT * FROM plan_put($1, $2, $3, $4, $5, $6, $7::boolean, $8)",
			 8, params, ss_plan_stored);
	free(canon);
}

static void ss_plan_acted(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PlanActReply r = SHUANGSUI__V1__PLAN_ACT_REPLY__INIT;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	r.plan_id = req->env->plan_act->plan_id;
	r.version = req->env->plan_act->version;
	r.state = PQgetvalue(res, 0, 0);
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PLAN_ACT_REPLY;
	reply.plan_act_reply = &r;
	ss_request_reply(req, &reply);
}

void ss_handle_plan_act(struct ss_request *req)
{
	static const char *const actions[] = {"submit", "return", "approve", "publish", "confirm",
					      NULL};
	const Shuangsui__V1__PlanAct *a = req->env->plan_act;
	const struct ss_principal *pr = &req->conn->principal;
	const char *params[9];
	char version[16], *items = NULL;
	json_object *arr;
	size_t i;

	if (ss_request_need_key(req) != 0 || ss_need_id(req, a->plan_id, "plan_act.plan_id") != 0 ||
	    ss_need_one_of(req, a->action, actions, "plan_act.action") != 0 ||
	    ss_request_need_reason(req, a->reason, "plan_act.reason") != 0)
		return;
	if (a->version == 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "plan_act.version",
				"name the version acted on (it must be the latest)",
				"须指明所操作的版本（应为最新版本）");
		return;
	}
	/* Filing and approving is the legal office's, by the one table. */
	if ((strcmp(a->action, "approve") == 0 || strcmp(a->action, "return") == 0) &&
	    ss_authz_check(pr->role, pr->jurisdiction, SS_OP_PLAN_APPROVE, NULL) != 0) {
		char en[160], zh[160];

		snprintf(en, sizeof(en), "role %s may not perform %s", pr->role_name,
			 ss_op_name(SS_OP_PLAN_APPROVE));
		snprintf(zh, sizeof(zh), "角色 %s 无权执行 %s", pr->role_name,
			 ss_op_name(SS_OP_PLAN_APPROVE));
		req->op = SS_OP_PLAN_APPROVE;
		ss_request_refuse(req, SS_ERR_PERMISSION_DENIED, "plan_act.action", en, zh);
		return;
	}
	snprintf(version, sizeof(version), "%" PRIu32, a->version);
	params[0] = pr->id;
	params[1] = req->env->idempotency_key;
	params[2] = req->sha256;
	params[3] = a->plan_id;
	params[4] = version;
	if (strcmp(a->action, "confirm") != 0) {
		params[5] = a->action;
		params[6] = a->reason;
		ss_request_query(req, "SELECT plan_act($1, $2, $3, $4, $5::integer, $6, $7)", 7,
				 params, ss_plan_acted);
		return;
	}
	if (ss_need_id(req, a->department, "plan_act.department") != 0)
		return;
	if (ss_validate_text(a->part, 1, 500) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "plan_act.part",
				"a confirmation states the participant's part (1 to 500 characters)",
				"确认时须说明本部门承担的内容（1 至 500 个字符）");
		return;
	}
	if (a->n_items == 0 || a->n_items > 200) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "plan_act.items",
				"a confirmation lists the participant's items (1 to 200)",
				"确认时须列出本部门的抽查事项（1 至 200 项）");
		return;
	}
	arr = json_object_new_array();
	for (i = 0; arr != NULL && i < a->n_items; i++) {
		char field[40];

		if (!ss_is_id(a->items[i])) {
			snprintf(field, sizeof(field), "plan_act.items[%zu]", i);
			json_object_put(arr);
			ss_need_id(req, a->items[i], field);
			return;
		}
		json_object_array_add(arr, json_object_new_string(a->items[i]));
	}
	items = arr ? strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN)) : NULL;
	json_object_put(arr);
	if (items == NULL) {
		ss_request_fail(req, SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	params[5] = a->department;
	params[6] = a->part;
	params[7] = items;
	params[8] = a->reason;
	ss_request_query(req,
			 "SELECT plan_confirm($1, $2, $3, $4, $5::integer, $6, $7, $8::jsonb, $9)", 9,
			 params, ss_plan_acted);
	free(items);
}

/* Replies with the JSON view in column 0, or NOT_FOUND when it is NULL. */
static void ss_view_got(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__DocumentReply r = SHUANGSUI__V1__DOCUMENT_REPLY__INIT;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		ss_request_fail(req, SS_ERR_NOT_FOUND, NULL, NULL, NULL);
		return;
	}
	if ((size_t)PQgetlength(res, 0, 0) + 64 > req->conn->srv->cfg->max_frame_size) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, NULL,
				"the document is larger than a frame; raise server.max_frame_size",
				"文档超过单帧上限，请调大 server.max_frame_size");
		return;
	}
	r.document = PQgetvalue(res, 0, 0);
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DOCUMENT_REPLY;
	reply.document_reply = &r;
	ss_request_reply(req, &reply);
}

void ss_handle_plan_get(struct ss_request *req)
{
	const char *params[1] = {req->env->plan_get->plan_id};

	if (ss_need_id(req, params[0], "plan_get.plan_id") != 0)
		return;
	ss_request_query(req, "SELECT plan_view($1)::text", 1, params, ss_view_got);
}

static void ss_plans_listed(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PlanListReply r = SHUANGSUI__V1__PLAN_LIST_REPLY__INIT;
	Shuangsui__V1__PlanSummary *ps, **ptrs;
	int i, n;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	n = ss_rows_that_fit(res, 8, req->conn->srv->cfg->max_frame_size);
	ps = calloc((size_t)n + 1, sizeof(*ps));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	if (ps == NULL || ptrs == NULL) {
		free(ps);
		free(ptrs);
		ss_request_fail(req, SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		shuangsui__v1__plan_summary__init(&ps[i]);
		ps[i].plan_id = PQgetvalue(res, i, 0);
		ps[i].kind = PQgetvalue(res, i, 1);
		ps[i].department = PQgetvalue(res, i, 2);
		ps[i].year = (uint32_t)strtoul(PQgetvalue(res, i, 3), NULL, 10);
		ps[i].name = PQgetvalue(res, i, 4);
		ps[i].latest_version = (uint32_t)strtoul(PQgetvalue(res, i, 5), NULL, 10);
		ps[i].latest_state = PQgetvalue(res, i, 6);
		ps[i].in_force = (uint32_t)strtoul(PQgetvalue(res, i, 7), NULL, 10);
		ptrs[i] = &ps[i];
	}
	r.n_plans = (size_t)n;
	r.plans = ptrs;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PLAN_LIST_REPLY;
	reply.plan_list_reply = &r;
	ss_request_reply(req, &reply);
	free(ps);
	free(ptrs);
}

void ss_handle_plan_list(struct ss_request *req)
{
	const Shuangsui__V1__PlanList *l = req->env->plan_list;
	char year[16];
	const char *params[2];

	snprintf(year, sizeof(year), "%" PRIu32, l->year);
	params[0] = year;
	params[1] = l->department;
	ss_request_query(req,
			 "SELECT s.plan_id, s.kind, s.dept_code, s.year, v.document->>'name', s.version, "
			 "s.state, coalesce((SELECT f.version FROM plan_in_force f "
			 "WHERE f.plan_id = s.plan_id), 0) "
			 "FROM (SELECT DISTINCT ON (plan_id) * FROM plan_version_states "
			 "ORDER BY plan_id, version DESC) s "
			 "JOIN plan_versions v USING (plan_id, version) "
			 "WHERE ($1::integer = 0 OR s.year = $1::integer) AND ($2 = '' OR s.dept_code = $2) "
			 "ORDER BY s.year DESC, s.plan_id LIMIT 5000",
			 2, params, ss_plans_listed);
}

/* ---- tasks ---- */

static void ss_task_stored(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__TaskPutReply r = SHUANGSUI__V1__TASK_PUT_REPLY__INIT;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	r.task_id = req->env->task_put->task_id;
	r.version = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	r.plan_version = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	r.delegated = PQgetvalue(res, 0, 2)[0] == 't';
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_TASK_PUT_REPLY;
	reply.task_put_reply = &r;
	ss_request_reply(req, &reply);
}

void ss_handle_task_put(struct ss_request *req)
{
	const Shuangsui__V1__TaskPut *t = req->env->task_put;
	const struct ss_principal *pr = &req->conn->principal;
	struct ss_doc_error e;
	char *canon = NULL, sha[65], prefix[7];
	const char *params[8];
	int rc;

	if (ss_request_need_key(req) != 0 || ss_need_id(req, t->task_id, "task_put.task_id") != 0 ||
	    ss_request_need_reason(req, t->reason, "task_put.reason") != 0)
		return;
	rc = ss_plandoc_task(t->document, strlen(t->document), &canon, &e);
	if (rc != 0) {
		ss_doc_fail(req, rc, &e);
		return;
	}
	if (ss_authz_scope_prefix(pr->role, pr->jurisdiction, SS_OP_TASK_WRITE, prefix) == NULL) {
		free(canon);
		ss_request_refuse(req, SS_ERR_PERMISSION_DENIED, NULL, NULL, NULL);
		return;
	}
	ss_sha256_text(canon, sha);
	params[0] = pr->id;
	params[1] = req->env->idempotency_key;
	params[2] = req->sha256;
	params[3] = t->task_id;
	params[4] = canon;
	params[5] = sha;
	params[6] = prefix;
	params[7] = t->reason;
	ss_request_query(req, "SELECT * FROM task_put($1, $2, $3, $4, $5, $6, $7, $8)", 8,
			 params, ss_task_stored);
	free(canon);
}

void ss_handle_task_get(struct ss_request *req)
{
	const char *params[1] = {req->env->task_get->task_id};

	if (ss_need_id(req, params[0], "task_get.task_id") != 0)
		return;
	ss_request_query(req, "SELECT task_view($1)::text", 1, params, ss_view_got);
}

/* ---- the eligible population of a task (preview here; the draw in issue 5) ---- */

void ss_population_free(struct ss_population *p)
{
	int i;

	if (p == NULL)
		return;
	free(p->sql);
	for (i = 0; i < p->nparams; i++)
		free(p->params[i]);
	free(p->params);
	free(p);
}

/*
 * Builds the classification of docs/plans.md §5 for a task: each object of
 * the directory as of the end of the draw date (China time) inside the
 * executing unit's jurisdiction, the first stratum whose filter it matches,
 * and why it is excluded (inactive, annual cap, plan rule) or NULL.
 * Columns: stratum (0-based, NULL when in none), object id, exclusion.
 * task: directory, jurisdiction, draw_date, strata (JSON), annual_cap,
 * exclusions (JSON array of {id, reason}).
 */
struct ss_population *ss_population_build(const char *directory, const char *jurisdiction,
					  const char *draw_date, const char *strata_json,
					  const char *annual_cap, const char *exclusions_json,
					  int versions)
{
	const struct ss_dirschema *s = ss_dirschema_find(directory);
	struct ss_population *p;
	json_object *strata = json_tokener_parse(strata_json);
	json_object *excl = json_tokener_parse(exclusions_json);
	json_object *ids = json_object_new_array();
	char prefix[8], asof[40], year[8], *cols = NULL, *stratum = NULL;
	const char *active = strcmp(directory, "project") == 0 ? "under_construction" : "active";
	int32_t day;
	size_t i;
	int rc = 0;

	p = calloc(1, sizeof(*p));
	if (p == NULL || s == NULL || strata == NULL || excl == NULL || ids == NULL ||
	    !json_object_is_type(strata, json_type_array) ||
	    !json_object_is_type(excl, json_type_array) || ss_date_parse(draw_date, &day) != 0) {
		rc = SS_ERR_INTERNAL;
		goto out;
	}
	ss_date_format(day + 1, asof);
	strcat(asof, " 00:00:00+08");
	snprintf(year, sizeof(year), "%.4s", draw_date);
	ss_jurisdiction_prefix(jurisdiction, prefix);
	strcat(prefix, "%");
	for (i = 0; i < json_object_array_length(excl); i++) {
		json_object *id;

		if (json_object_object_get_ex(json_object_array_get_idx(excl, i), "id", &id))
			json_object_array_add(ids, json_object_get(id));
	}
	/* $1 as of, $2 jurisdiction, $3 year, $4 cap, $5 exclusions (jsonb array). */
	{
		const char *fixed[5] = {asof, prefix, year, annual_cap,
					json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN)};

		for (i = 0; i < 5 && rc == 0; i++)
			if (ss_sql_param(&p->params, &p->nparams, fixed[i]) < 0)
				rc = SS_ERR_NOMEM;
	}
	/* Only the columns the strata filter on travel through the as-of sort
	 * (the preview's form): whole rows make it several times slower on
	 * millions of records. */
	for (i = 0; rc == 0 && !versions && i < s->ncols; i++) {
		const char *name = s->cols[i].name;
		size_t k;

		if (strcmp(name, "status") == 0 || strcmp(name, "division_code") == 0)
			continue;
		for (k = 0; k < json_object_array_length(strata); k++) {
			json_object *f;

			if (json_object_object_get_ex(json_object_array_get_idx(strata, k), "filter", &f) &&
			    json_object_object_get_ex(f, name, NULL)) {
				rc = ss_sql_cat(&cols, ", \"%s\"", name);
				break;
			}
		}
	}
	/* The first stratum whose filter the row matches. */
	rc = rc != 0 ? rc : ss_sql_cat(&stratum, "CASE");
	for (i = 0; rc == 0 && i < json_object_array_length(strata); i++) {
		json_object *filter;

		if (!json_object_object_get_ex(json_object_array_get_idx(strata, i), "filter", &filter)) {
			rc = SS_ERR_INTERNAL;
			break;
		}
		rc = ss_sql_cat(&stratum, " WHEN ");
		if (rc == 0)
			rc = ss_plandoc_filter_sql(s, json_object_to_json_string(filter), &stratum,
						   &p->params, &p->nparams);
		if (rc == 0)
			rc = ss_sql_cat(&stratum, " THEN %zu", i);
	}
	if (rc == 0)
		rc = ss_sql_cat(&stratum, " END");
	if (rc == 0 && !versions)
		/* The objects at the cap, as a hashed subplan tested per row: a join
		 * is at the mercy of the planner's estimate for a task_list that
		 * grows with every draw (a nested loop over it costs minutes). */
		rc = ss_sql_cat(&p->sql,
				"WITH capped AS MATERIALIZED (SELECT l.object_id FROM task_list l "
				"WHERE l.directory = '%s' AND l.draw_year = $3::integer "
				"AND NOT EXISTS (SELECT 1 FROM task_voids v WHERE v.task_id = l.task_id) "
				"GROUP BY l.object_id HAVING count(*) >= $4::integer) ",
				s->name);
	if (rc == 0 && versions)
		/* Every version that may be a record's latest as of the date and
		 * matter: those inside the jurisdiction, and any later than the
		 * first (it may have moved the record out); then a row of version
		 * 0 for each time an object was drawn in the year by a draw in
		 * force (the caller counts them against the annual cap), and a
		 * row of version -1 for each object a plan rule excludes.  The
		 * caller keeps each record's latest version and drops the
		 * excluded: sorting millions of rows here, grouping the year's
		 * lists (a sort of every list entry), or testing each row against
		 * the excluded set costs more than the scan. */
		rc = ss_sql_cat(&p->sql,
				"SELECT record_id, version, CASE WHEN division_code LIKE $2 "
				"AND status = '%s' THEN %s END AS stratum FROM %s_versions "
				"WHERE changed_at < least($1::timestamptz, now()) "
				"AND (division_code LIKE $2 OR version > 1) "
				"UNION ALL SELECT l.object_id, 0, NULL FROM task_list l "
				"WHERE $4::integer IS NOT NULL AND l.directory = '%s' "
				"AND l.draw_year = $3::integer "
				"AND NOT EXISTS (SELECT 1 FROM task_voids v WHERE v.task_id = l.task_id) "
				"UNION ALL SELECT jsonb_array_elements_text($5::jsonb), -1, NULL",
				active, stratum, s->table, s->name);
	else if (rc == 0)
		rc = ss_sql_cat(
			&p->sql,
			", base AS (SELECT DISTINCT ON (record_id COLLATE \"C\") record_id, status, "
			"division_code%s FROM %s_versions "
			"WHERE changed_at < least($1::timestamptz, now()) "
			"ORDER BY record_id COLLATE \"C\", version DESC) "
			"SELECT %s AS stratum, b.record_id, CASE "
			"WHEN b.status <> '%s' THEN 'inactive' "
			"WHEN b.record_id IN (SELECT object_id FROM capped) THEN 'annual_cap' "
			"WHEN $5::jsonb ? b.record_id THEN 'plan_rule' END AS excluded "
			"FROM base b WHERE b.division_code LIKE $2",
			cols ? cols : "", s->table, stratum, active);
out:
	free(cols);
	free(stratum);
	json_object_put(strata);
	json_object_put(excl);
	json_object_put(ids);
	if (rc != 0) {
		ss_population_free(p);
		return NULL;
	}
	return p;
}

/* How many to draw from a stratum of `eligible` objects: a count (capped by
 * the population, the rest a shortfall) or ceil(ratio x eligible), the ratio
 * in millionths so that every implementation rounds alike. */
uint64_t ss_stratum_k(json_object *stratum, uint64_t eligible, uint64_t *shortfall)
{
	json_object *v;

	*shortfall = 0;
	if (json_object_object_get_ex(stratum, "count", &v)) {
		uint64_t want = (uint64_t)json_object_get_int64(v);

		if (want > eligible)
			*shortfall = want - eligible;
		return want > eligible ? eligible : want;
	}
	if (json_object_object_get_ex(stratum, "ratio", &v)) {
		uint64_t micro = (uint64_t)llround(json_object_get_double(v) * 1e6);

		return (micro * eligible + 999999) / 1000000;
	}
	return 0;
}

struct ss_preview {
	json_object *strata;
	char *as_of;
	uint32_t cap;
};

static void ss_preview_free(void *arg)
{
	struct ss_preview *pv = arg;

	json_object_put(pv->strata);
	free(pv->as_of);
	free(pv);
}

static void ss_preview_counted(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_preview *pv = req->work;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__TaskPreviewReply r = SHUANGSUI__V1__TASK_PREVIEW_REPLY__INIT;
	Shuangsui__V1__StratumPreview *sp, **ptrs;
	size_t i, n = json_object_array_length(pv->strata);
	int row;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	sp = calloc(n + 1, sizeof(*sp));
	ptrs = calloc(n + 1, sizeof(*ptrs));
	if (sp == NULL || ptrs == NULL) {
		free(sp);
		free(ptrs);
		ss_request_fail(req, SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		json_object *name;

		shuangsui__v1__stratum_preview__init(&sp[i]);
		sp[i].index = (uint32_t)i;
		json_object_object_get_ex(json_object_array_get_idx(pv->strata, i), "name", &name);
		sp[i].name = (char *)json_object_get_string(name);
		ptrs[i] = &sp[i];
	}
	for (row = 0; row < PQntuples(res); row++) {
		uint64_t count = strtoull(PQgetvalue(res, row, 2), NULL, 10);
		const char *why = PQgetvalue(res, row, 1);
		Shuangsui__V1__StratumPreview *t;

		if (PQgetisnull(res, row, 0)) {
			r.unmatched += count;
			continue;
		}
		i = strtoul(PQgetvalue(res, row, 0), NULL, 10);
		if (i >= n)
			continue;
		t = &sp[i];
		t->matched += count;
		if (PQgetisnull(res, row, 1))
			t->eligible += count;
		else if (strcmp(why, "inactive") == 0)
			t->excluded_inactive += count;
		else if (strcmp(why, "annual_cap") == 0)
			t->excluded_cap += count;
		else
			t->excluded_plan += count;
	}
	for (i = 0; i < n; i++)
		sp[i].to_draw = ss_stratum_k(json_object_array_get_idx(pv->strata, i), sp[i].eligible,
					     &sp[i].shortfall);
	r.task_id = req->env->task_preview->task_id;
	r.as_of = pv->as_of;
	r.n_strata = n;
	r.strata = ptrs;
	r.annual_cap = pv->cap;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_TASK_PREVIEW_REPLY;
	reply.task_preview_reply = &r;
	ss_request_reply(req, &reply);
	free(sp);
	free(ptrs);
}

static void ss_preview_task_got(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_preview *pv;
	struct ss_population *pop;
	char *sql = NULL;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	if (PQntuples(res) != 1) {
		ss_request_fail(req, SS_ERR_NOT_FOUND, "task_preview.task_id", NULL, NULL);
		return;
	}
	pv = calloc(1, sizeof(*pv));
	if (pv == NULL) {
		ss_request_fail(req, SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	req->work = pv;
	req->work_free = ss_preview_free;
	pv->strata = json_tokener_parse(PQgetvalue(res, 0, 3));
	pv->as_of = strdup(PQgetvalue(res, 0, 2));
	pv->cap = (uint32_t)strtoul(PQgetvalue(res, 0, 4), NULL, 10);
	pop = ss_population_build(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
				  PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5), 0);
	if (pop == NULL || pv->strata == NULL || pv->as_of == NULL ||
	    ss_sql_cat(&sql, "SELECT stratum, excluded, count(*) FROM (%s) x GROUP BY 1, 2",
		       pop->sql) != 0) {
		ss_population_free(pop);
		free(sql);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	ss_request_query(req, sql, pop->nparams, (const char *const *)pop->params,
			 ss_preview_counted);
	ss_population_free(pop);
	free(sql);
}

/* The columns ss_population_build() needs, for one task (issue 5 reuses it). */
const char *const ss_task_population_sql =
	"SELECT t.directory, t.jurisdiction, t.draw_date::text, (t.document->'strata')::text, "
	"pv.document->>'annual_cap', (pv.document->'exclusions')::text "
	"FROM tasks t JOIN plan_versions pv ON pv.plan_id = t.plan_id AND pv.version = t.plan_version "
	"WHERE t.task_id = $1";

void ss_handle_task_preview(struct ss_request *req)
{
	const char *params[1] = {req->env->task_preview->task_id};

	if (ss_need_id(req, params[0], "task_preview.task_id") != 0)
		return;
	ss_request_query(req, ss_task_population_sql, 1, params, ss_preview_task_got);
}

/* ---- targeted inspections ---- */

static void ss_targeted_stored(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__TargetedRecordReply r = SHUANGSUI__V1__TARGETED_RECORD_REPLY__INIT;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	r.inspection_id = req->env->targeted_record->inspection_id;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_TARGETED_RECORD_REPLY;
	reply.targeted_record_reply = &r;
	ss_request_reply(req, &reply);
}

void ss_handle_targeted_record(struct ss_request *req)
{
	static const char *const dirs[] = {"entity", "project", NULL};
	static const char *const kinds[] = {"mandated", "complaint", "referral", "emergency", "other",
					    NULL};
	const Shuangsui__V1__TargetedRecord *t = req->env->targeted_record;
	const struct ss_principal *pr = &req->conn->principal;
	const char *params[12];
	char prefix[7], *items;
	json_object *arr;
	size_t i;

	if (ss_request_need_key(req) != 0 ||
	    ss_need_id(req, t->inspection_id, "targeted.inspection_id") != 0 ||
	    ss_need_id(req, t->department, "targeted.department") != 0 ||
	    ss_need_one_of(req, t->directory, dirs, "targeted.directory") != 0 ||
	    ss_need_one_of(req, t->kind, kinds, "targeted.kind") != 0 ||
	    ss_need_date(req, t->inspected_on, "targeted.inspected_on") != 0 ||
	    ss_request_need_reason(req, t->reason, "targeted.reason") != 0)
		return;
	if (ss_validate_text(t->object_id, 1, 64) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "targeted.object_id",
				"the object id is 1 to 64 characters", "检查对象标识为 1 至 64 个字符");
		return;
	}
	if (ss_authz_scope_prefix(pr->role, pr->jurisdiction, SS_OP_TARGETED_WRITE, prefix) == NULL) {
		ss_request_refuse(req, SS_ERR_PERMISSION_DENIED, NULL, NULL, NULL);
		return;
	}
	arr = json_object_new_array();
	for (i = 0; arr != NULL && i < t->n_items; i++) {
		if (!ss_is_id(t->items[i])) {
			json_object_put(arr);
			ss_need_id(req, t->items[i], "targeted.items");
			return;
		}
		json_object_array_add(arr, json_object_new_string(t->items[i]));
	}
	items = arr ? strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN)) : NULL;
	json_object_put(arr);
	if (items == NULL) {
		ss_request_fail(req, SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	params[0] = pr->id;
	params[1] = req->env->idempotency_key;
	params[2] = req->sha256;
	params[3] = t->inspection_id;
	params[4] = t->department;
	params[5] = t->directory;
	params[6] = t->object_id;
	params[7] = t->kind;
	params[8] = t->inspected_on;
	params[9] = items;
	params[10] = prefix;
	params[11] = t->reason;
	ss_request_query(req,
			 "SELECT targeted_record($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10::jsonb, "
			 "$11, $12)",
			 12, params, ss_targeted_stored);
	free(items);
}

/* ---- oversight figures ---- */

static void ss_stats_got(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__StatsReply r = SHUANGSUI__V1__STATS_REPLY__INIT;
	Shuangsui__V1__Figure *fs, **ptrs;
	int i, n;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	n = ss_rows_that_fit(res, 10, req->conn->srv->cfg->max_frame_size);
	fs = calloc((size_t)n + 1, sizeof(*fs));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	if (fs == NULL || ptrs == NULL) {
		free(fs);
		free(ptrs);
		ss_request_fail(req, SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		shuangsui__v1__figure__init(&fs[i]);
		fs[i].department = PQgetvalue(res, i, 0);
		fs[i].name = PQgetvalue(res, i, 1);
		fs[i].period = PQgetvalue(res, i, 2);
		fs[i].value = strtod(PQgetvalue(res, i, 3), NULL);
		fs[i].target = strtod(PQgetvalue(res, i, 4), NULL);
		fs[i].at_least = PQgetvalue(res, i, 5)[0] == 't';
		fs[i].met = PQgetvalue(res, i, 6)[0] == 't';
		fs[i].has_target = PQgetvalue(res, i, 7)[0] == 't';
		fs[i].numerator = strtoull(PQgetvalue(res, i, 8), NULL, 10);
		fs[i].denominator = strtoull(PQgetvalue(res, i, 9), NULL, 10);
		ptrs[i] = &fs[i];
	}
	r.n_figures = (size_t)n;
	r.figures = ptrs;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_STATS_REPLY;
	reply.stats_reply = &r;
	ss_request_reply(req, &reply);
	free(fs);
	free(ptrs);
}

void ss_handle_stats_query(struct ss_request *req)
{
	const Shuangsui__V1__StatsQuery *q = req->env->stats_query;
	const char *params[3];

	if ((q->department[0] != '\0' && ss_need_id(req, q->department, "stats.department") != 0) ||
	    ss_need_date(req, q->from, "stats.from") != 0 || ss_need_date(req, q->to, "stats.to") != 0)
		return;
	if (strcmp(q->from, q->to) > 0 || atoi(q->to) - atoi(q->from) > 10) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "stats.to",
				"the period runs from 'from' to 'to', at most ten years",
				"统计期间为 from 至 to，最长十年");
		return;
	}
	params[0] = q->department[0] ? q->department : NULL;
	params[1] = q->from;
	params[2] = q->to;
	ss_request_query(req, "SELECT * FROM stats_figures($1, $2::date, $3::date)", 3, params,
			 ss_stats_got);
}
