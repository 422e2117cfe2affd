/*
 * directory.c — reading and changing the directories (一单两库), and the
 * working-day calendar.
 *
 * Queries are built from the column descriptors (common/dirschema.c); only
 * column names from those descriptors ever reach the SQL text, values are
 * always parameters.  "As of" a date means the end of that day, China time.
 * Operators are confined to their jurisdiction: lists are filtered, and
 * reading or changing another district's record is refused and audited.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "dirschema.h"
#include "division.h"
#include "rowcheck.h"
#include "server.h"
#include "ss_error.h"
#include "ss_log.h"
#include "validate.h"

#define SS_QUERY_PAGE_DEFAULT 500
#define SS_QUERY_PAGE_MAX 5000

/* A growable SQL text. */
struct ss_sql {
	char *s;
	size_t len, cap;
	int failed;
};

static void ss_sql_add(struct ss_sql *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ss_sql_add(struct ss_sql *q, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (q->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(q->s ? q->s + q->len : NULL, q->s ? q->cap - q->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			q->failed = 1;
			return;
		}
		if (q->s != NULL && q->len + (size_t)n < q->cap) {
			q->len += (size_t)n;
			return;
		}
		q->cap = (q->cap + (size_t)n + 256) * 2;
		q->s = realloc(q->s, q->cap);
		if (q->s == NULL) {
			q->failed = 1;
			return;
		}
	}
}

/* The directory named in a request, checked; answers req and returns NULL when unknown. */
static const struct ss_dirschema *ss_dir_lookup(struct ss_request *req, const char *name,
						const char *field)
{
	const struct ss_dirschema *s = ss_dirschema_find(name ? name : "");

	if (s == NULL)
		ss_request_fail(req, SS_ERR_BAD_REQUEST, field,
				"unknown directory (entity, project, inspector, item, conflict)",
				"未知的名录（entity、project、inspector、item、conflict）");
	return s;
}

/*
 * The division prefix the principal may use with op on s ("" = all), or
 * NULL after answering req with an audited refusal.
 */
static const char *ss_dir_scope(struct ss_request *req, const struct ss_dirschema *s, int write,
				char prefix[7])
{
	struct ss_conn *c = req->conn;
	int op = ss_op_parse(write ? s->write_op : s->read_op);
	const char *p;

	req->op = (enum ss_op)op;
	p = ss_authz_scope_prefix(c->principal.role, c->principal.jurisdiction, (enum ss_op)op,
				  prefix);
	if (p == NULL) {
		char en[160], zh[160];

		snprintf(en, sizeof(en), "role %s may not perform %s", c->principal.role_name,
			 ss_op_name((enum ss_op)op));
		snprintf(zh, sizeof(zh), "角色 %s 无权执行 %s", c->principal.role_name,
			 ss_op_name((enum ss_op)op));
		ss_request_refuse(req, SS_ERR_PERMISSION_DENIED, NULL, en, zh);
	}
	return p;
}

/* "as of" parameter: the end of the given day in China time, or infinity. */
static int ss_dir_as_of(struct ss_request *req, const char *as_of, const char *field, char out[64])
{
	int32_t day;

	if (as_of == NULL || as_of[0] == '\0') {
		snprintf(out, 64, "infinity");
		return 0;
	}
	if (ss_date_parse(as_of, &day) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, field, "as_of must be a date YYYY-MM-DD",
				"as_of 须为日期（YYYY-MM-DD）");
		return -1;
	}
	ss_date_format(day + 1, out);
	strcat(out, " 00:00:00+08");
	return 0;
}

/* SELECT list shared by all reads: id, version, time, who, why, columns as text. */
static void ss_dir_select(struct ss_sql *q, const struct ss_dirschema *s)
{
	size_t i;

	ss_sql_add(q, "SELECT v.record_id, v.version, "
		      "(extract(epoch FROM v.changed_at) * 1000)::bigint, v.changed_by, v.reason");
	/* Values leave in their normalized form (t/f, not true/false), the form
	 * that record digests are computed over. */
	for (i = 0; i < s->ncols; i++)
		if (s->cols[i].type == SS_COL_BOOL)
			ss_sql_add(q, ", CASE WHEN v.%s THEN 't' ELSE 'f' END", s->cols[i].name);
		else
			ss_sql_add(q, ", v.%s::text", s->cols[i].name);
}

/* The latest version as of $1 (timestamptz text) of every record, in record_id order. */
static void ss_dir_latest(struct ss_sql *q, const struct ss_dirschema *s)
{
	ss_sql_add(q,
		   " FROM %s_versions v WHERE v.changed_at < $1::timestamptz AND NOT EXISTS ("
		   "SELECT 1 FROM %s_versions n WHERE n.record_id = v.record_id AND "
		   "n.version > v.version AND n.changed_at < $1::timestamptz)",
		   s->table, s->table);
}

static char **ss_dir_columns(const struct ss_dirschema *s)
{
	char **cols = calloc(s->ncols + 1, sizeof(char *));
	size_t i;

	if (cols != NULL)
		for (i = 0; i < s->ncols; i++)
			cols[i] = (char *)s->cols[i].name;
	return cols;
}

/* Fills rec from a row of ss_dir_select (values point into res). */
static int ss_dir_record(const struct ss_dirschema *s, PGresult *res, int row,
			 Shuangsui__V1__Record *rec, struct ss_divisions *divs)
{
	size_t i;

	shuangsui__v1__record__init(rec);
	rec->values = calloc(s->ncols, sizeof(char *));
	if (rec->values == NULL)
		return SS_ERR_NOMEM;
	rec->record_id = PQgetvalue(res, row, 0);
	rec->version = (uint32_t)strtoul(PQgetvalue(res, row, 1), NULL, 10);
	rec->changed_at_unix_ms = strtoll(PQgetvalue(res, row, 2), NULL, 10);
	rec->changed_by = PQgetvalue(res, row, 3);
	rec->reason = PQgetvalue(res, row, 4);
	rec->n_values = s->ncols;
	for (i = 0; i < s->ncols; i++)
		rec->values[i] = PQgetvalue(res, row, 5 + (int)i); /* "" for NULL */
	if (s->division_col != SS_NO_COL) {
		int abolished = 0;

		(void)ss_division_check(divs, rec->values[s->division_col], &abolished);
		rec->division_abolished = abolished;
	}
	return 0;
}

static void ss_dir_records_free(Shuangsui__V1__Record *recs, Shuangsui__V1__Record **ptrs, size_t n)
{
	size_t i;

	for (i = 0; recs != NULL && i < n; i++)
		free(recs[i].values);
	free(recs);
	free(ptrs);
}

/* Builds n records from res rows into freshly allocated arrays. */
static int ss_dir_records(struct ss_request *req, const struct ss_dirschema *s, PGresult *res,
			  size_t n, Shuangsui__V1__Record **recs_out, Shuangsui__V1__Record ***ptrs_out)
{
	Shuangsui__V1__Record *recs = calloc(n + 1, sizeof(*recs));
	Shuangsui__V1__Record **ptrs = calloc(n + 1, sizeof(*ptrs));
	size_t i;

	if (recs == NULL || ptrs == NULL) {
		ss_dir_records_free(recs, ptrs, 0);
		return SS_ERR_NOMEM;
	}
	for (i = 0; i < n; i++) {
		if (ss_dir_record(s, res, (int)i, &recs[i], req->conn->srv->divisions) != 0) {
			ss_dir_records_free(recs, ptrs, i);
			return SS_ERR_NOMEM;
		}
		ptrs[i] = &recs[i];
	}
	*recs_out = recs;
	*ptrs_out = ptrs;
	return 0;
}

/* ---- list / export ---- */

static void ss_dir_queried(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	const struct ss_dirschema *s = ss_dirschema_find(req->env->directory_query->directory);
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__DirectoryQueryReply qr = SHUANGSUI__V1__DIRECTORY_QUERY_REPLY__INIT;
	Shuangsui__V1__Record *recs = NULL, **ptrs = NULL;
	uint32_t limit = req->env->directory_query->limit ? req->env->directory_query->limit
							  : SS_QUERY_PAGE_DEFAULT;
	size_t n;
	char **cols;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	n = (size_t)ss_rows_that_fit(res, 5 + (int)s->ncols, req->conn->srv->cfg->max_frame_size);
	cols = ss_dir_columns(s);
	if (cols == NULL || ss_dir_records(req, s, res, n, &recs, &ptrs) != 0) {
		free(cols);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	qr.n_columns = s->ncols;
	qr.columns = cols;
	qr.n_records = n;
	qr.records = ptrs;
	/* A page cut short to fit a frame, or a full page: there may be more. */
	qr.next_after_record_id =
		(n > 0 && (n == limit || n < (size_t)PQntuples(res))) ? recs[n - 1].record_id : "";
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DIRECTORY_QUERY_REPLY;
	reply.directory_query_reply = &qr;
	ss_request_reply(req, &reply);
	ss_dir_records_free(recs, ptrs, n);
	free(cols);
}

/*
 * A filter's value in normalized form (yes/no and enumeration labels become
 * codes); a division column takes a prefix of digits.  Answers req and
 * returns -1 when the value cannot match anything.
 */
static int ss_dir_filter_value(struct ss_request *req, const struct ss_column *c, const char *in,
			       char **out)
{
	struct ss_cell_error e;
	int abolished;
	size_t i, n = strlen(in);

	if (c->type == SS_COL_DIVISION) {
		for (i = 0; i < n; i++)
			if (in[i] < '0' || in[i] > '9')
				break;
		if (n >= 1 && n <= 6 && i == n && (*out = strdup(in)) != NULL)
			return 0;
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "directory_query.filters",
				"a division filter is 1 to 6 digits (a code or its prefix)",
				"行政区划筛选须为 1 至 6 位数字（代码或其前缀）");
		return -1;
	}
	if (c->type != SS_COL_BOOL && c->type != SS_COL_ENUM) {
		*out = strdup(in);
		if (*out != NULL)
			return 0;
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return -1;
	}
	int rc = ss_cell_normalize(c, req->conn->srv->divisions, in, out, &abolished, &e);

	if (rc == 0 && *out != NULL)
		return 0;
	free(*out);
	*out = NULL;
	if (rc == 0) /* an empty value of an optional column: matches nothing */
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "directory_query.filters",
				"a filter needs a value", "筛选条件须有值");
	else
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "directory_query.filters", e.en, e.zh);
	return -1;
}

void ss_handle_directory_query(struct ss_request *req)
{
	const Shuangsui__V1__DirectoryQuery *dq = req->env->directory_query;
	const struct ss_dirschema *s = ss_dir_lookup(req, dq->directory, "directory_query.directory");
	const char *params[3 + 32];
	char *filter_values[16] = {0};
	char prefix[7], as_of[64], limit[16];
	const char *scope;
	struct ss_sql q = {0};
	size_t i;
	int np = 3;

	if (s == NULL)
		return;
	if (dq->limit > SS_QUERY_PAGE_MAX) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "directory_query.limit",
				"limit must be at most 5000", "limit 不得超过 5000");
		return;
	}
	if (dq->n_filters > 16) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "directory_query.filters",
				"at most 16 filters", "筛选条件最多 16 个");
		return;
	}
	if (ss_dir_as_of(req, dq->as_of, "directory_query.as_of", as_of) != 0)
		return;
	if ((scope = ss_dir_scope(req, s, 0, prefix)) == NULL)
		return;
	snprintf(limit, sizeof(limit), "%u", dq->limit ? dq->limit : SS_QUERY_PAGE_DEFAULT);
	params[0] = as_of;
	params[1] = dq->after_record_id ? dq->after_record_id : "";
	params[2] = limit;
	ss_dir_select(&q, s);
	ss_dir_latest(&q, s);
	ss_sql_add(&q, " AND v.record_id > $2");
	if (scope[0] != '\0' && s->division_col != SS_NO_COL) {
		params[np++] = scope;
		ss_sql_add(&q, " AND v.%s LIKE $%d || '%%'", s->cols[s->division_col].name, np);
	}
	for (i = 0; i < dq->n_filters; i++) {
		const Shuangsui__V1__Filter *f = dq->filters[i];
		int col = ss_dirschema_column(s, f->column ? f->column : "");

		if (col < 0) {
			free(q.s);
			ss_request_fail(req, SS_ERR_BAD_REQUEST, "directory_query.filters",
					"unknown filter column", "未知的筛选列");
			return;
		}
		if (ss_dir_filter_value(req, &s->cols[col], f->value ? f->value : "",
					&filter_values[i]) != 0) {
			free(q.s);
			return;
		}
		params[np++] = filter_values[i];
		if (s->cols[col].type == SS_COL_DIVISION)
			ss_sql_add(&q, " AND v.%s LIKE $%d || '%%'", s->cols[col].name, np);
		else if (s->cols[col].type == SS_COL_BOOL)
			ss_sql_add(&q, " AND v.%s = $%d::boolean", s->cols[col].name, np);
		else
			ss_sql_add(&q, " AND v.%s::text = $%d", s->cols[col].name, np);
	}
	ss_sql_add(&q, " ORDER BY v.record_id LIMIT $3::integer");
	if (q.failed)
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
	else
		ss_request_query(req, q.s, np, params, ss_dir_queried);
	free(q.s);
	for (i = 0; i < dq->n_filters; i++)
		free(filter_values[i]);
}

/* ---- one record, and its history ---- */

/*
 * Refuses (audited) when the record's division lies outside scope.
 * Returns nonzero when it answered req.
 */
static int ss_dir_refuse_foreign(struct ss_request *req, const struct ss_dirschema *s,
				 const char *scope, const char *division)
{
	char en[200], zh[200];

	if (scope[0] == '\0' || s->division_col == SS_NO_COL ||
	    strncmp(division, scope, strlen(scope)) == 0)
		return 0;
	snprintf(en, sizeof(en), "the record belongs to division %s, outside your jurisdiction",
		 division);
	snprintf(zh, sizeof(zh), "该记录属于行政区划 %s，不在您的管辖范围内", division);
	ss_request_refuse(req, SS_ERR_PERMISSION_DENIED, "record_id", en, zh);
	return 1;
}

static void ss_dir_got(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	const struct ss_dirschema *s = ss_dirschema_find(req->env->record_get->directory);
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__RecordGetReply gr = SHUANGSUI__V1__RECORD_GET_REPLY__INIT;
	Shuangsui__V1__Record *recs = NULL, **ptrs = NULL;
	char prefix[7];
	const char *scope;
	char **cols;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	if (PQntuples(res) == 0) {
		ss_request_fail(req, SS_ERR_NOT_FOUND, "record_get.record_id",
				"no such record at that date", "该日期下没有此记录");
		return;
	}
	scope = ss_authz_scope_prefix(req->conn->principal.role, req->conn->principal.jurisdiction,
				      req->op, prefix);
	if (s->division_col != SS_NO_COL &&
	    ss_dir_refuse_foreign(req, s, scope ? scope : "-",
				  PQgetvalue(res, 0, 5 + (int)s->division_col)))
		return;
	cols = ss_dir_columns(s);
	if (cols == NULL || ss_dir_records(req, s, res, 1, &recs, &ptrs) != 0) {
		free(cols);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	gr.n_columns = s->ncols;
	gr.columns = cols;
	gr.record = &recs[0];
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_RECORD_GET_REPLY;
	reply.record_get_reply = &gr;
	ss_request_reply(req, &reply);
	ss_dir_records_free(recs, ptrs, 1);
	free(cols);
}

void ss_handle_record_get(struct ss_request *req)
{
	const Shuangsui__V1__RecordGet *g = req->env->record_get;
	const struct ss_dirschema *s = ss_dir_lookup(req, g->directory, "record_get.directory");
	char prefix[7], as_of[64];
	const char *params[2];
	struct ss_sql q = {0};

	if (s == NULL || ss_dir_as_of(req, g->as_of, "record_get.as_of", as_of) != 0 ||
	    ss_dir_scope(req, s, 0, prefix) == NULL)
		return;
	params[0] = as_of;
	params[1] = g->record_id ? g->record_id : "";
	ss_dir_select(&q, s);
	ss_dir_latest(&q, s);
	ss_sql_add(&q, " AND v.record_id = $2");
	if (q.failed) {
		free(q.s);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	ss_request_query(req, q.s, 2, params, ss_dir_got);
	free(q.s);
}

static void ss_dir_history_got(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	const struct ss_dirschema *s = ss_dirschema_find(req->env->record_history->directory);
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__RecordHistoryReply hr = SHUANGSUI__V1__RECORD_HISTORY_REPLY__INIT;
	Shuangsui__V1__Record *recs = NULL, **ptrs = NULL;
	size_t n;
	char prefix[7];
	const char *scope;
	char **cols;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	/* The rows are the versions after the cursor and, always, the latest
	 * one (last): where the record belongs now decides who may read it. */
	if (PQntuples(res) == 0) {
		ss_request_fail(req, SS_ERR_NOT_FOUND, "record_history.record_id", "no such record",
				"没有此记录");
		return;
	}
	scope = ss_authz_scope_prefix(req->conn->principal.role, req->conn->principal.jurisdiction,
				      req->op, prefix);
	if (s->division_col != SS_NO_COL &&
	    ss_dir_refuse_foreign(req, s, scope ? scope : "-",
				  PQgetvalue(res, PQntuples(res) - 1, 5 + (int)s->division_col)))
		return;
	/* If even the latest is not after the cursor, the page is empty. */
	n = strtoul(PQgetvalue(res, 0, 1), NULL, 10) > req->env->record_history->after_version
		    ? (size_t)ss_rows_that_fit(res, 5 + (int)s->ncols,
					       req->conn->srv->cfg->max_frame_size)
		    : 0;
	cols = ss_dir_columns(s);
	if (cols == NULL || ss_dir_records(req, s, res, n, &recs, &ptrs) != 0) {
		free(cols);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	hr.n_columns = s->ncols;
	hr.columns = cols;
	hr.n_versions = n;
	hr.versions = ptrs;
	hr.next_after_version = (n > 0 && n < (size_t)PQntuples(res)) ? recs[n - 1].version : 0;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_RECORD_HISTORY_REPLY;
	reply.record_history_reply = &hr;
	ss_request_reply(req, &reply);
	ss_dir_records_free(recs, ptrs, n);
	free(cols);
}

void ss_handle_record_history(struct ss_request *req)
{
	const Shuangsui__V1__RecordHistory *h = req->env->record_history;
	const struct ss_dirschema *s = ss_dir_lookup(req, h->directory, "record_history.directory");
	char prefix[7];
	const char *params[2];
	char after[16];
	struct ss_sql q = {0};

	if (s == NULL || ss_dir_scope(req, s, 0, prefix) == NULL)
		return;
	snprintf(after, sizeof(after), "%u", h->after_version);
	params[0] = h->record_id ? h->record_id : "";
	params[1] = after;
	ss_dir_select(&q, s);
	ss_sql_add(&q,
		   " FROM %s_versions v WHERE v.record_id = $1 AND (v.version > $2::integer OR "
		   "v.version = (SELECT max(x.version) FROM %s_versions x WHERE x.record_id = $1)) "
		   "ORDER BY v.version",
		   s->table, s->table);
	if (q.failed) {
		free(q.s);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	ss_request_query(req, q.s, 2, params, ss_dir_history_got);
	free(q.s);
}

/* ---- changing one record ---- */

struct ss_put {
	const struct ss_dirschema *schema;
	char **values; /* normalized, schema order; NULL = SQL NULL */
	char *record_id;
	char scope[7];
	char based_on[16]; /* the version merged into ("0": a new record) */
};

static void ss_put_free(struct ss_put *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; p->values != NULL && i < p->schema->ncols; i++)
		free(p->values[i]);
	free(p->values);
	free(p->record_id);
	free(p);
}

static void ss_put_done(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_put *p = req->work;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__RecordPutReply pr = SHUANGSUI__V1__RECORD_PUT_REPLY__INIT;
	Shuangsui__V1__Record rec = SHUANGSUI__V1__RECORD__INIT;
	size_t i;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	rec.record_id = p->record_id;
	rec.version = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	rec.n_values = p->schema->ncols;
	rec.values = p->values;
	for (i = 0; i < p->schema->ncols; i++)
		if (p->values[i] == NULL && (p->values[i] = strdup("")) == NULL) {
			ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
			return;
		}
	rec.changed_by = req->conn->principal.id;
	rec.reason = req->env->record_put->reason;
	pr.record = &rec;
	pr.changed = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_RECORD_PUT_REPLY;
	reply.record_put_reply = &pr;
	ss_request_reply(req, &reply);
}

/* The merged, normalized record is complete: store it through record_put(). */
static void ss_put_store(struct ss_request *req)
{
	struct ss_put *p = req->work;
	const struct ss_dirschema *s = p->schema;
	unsigned char md[32];
	char hex[65];
	struct json_object *fields = json_object_new_object();
	const char *params[11];
	size_t i;

	if (fields == NULL) {
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	for (i = 0; i < s->ncols; i++)
		json_object_object_add(fields, s->cols[i].name,
				       p->values[i] ? json_object_new_string(p->values[i]) : NULL);
	ss_record_digest(s, p->values, md);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	params[0] = s->table;
	params[1] = req->conn->principal.id;
	params[2] = req->env->idempotency_key;
	params[3] = req->sha256;
	params[4] = p->record_id;
	params[5] = json_object_to_json_string_ext(fields, JSON_C_TO_STRING_PLAIN);
	params[6] = hex;
	params[7] = req->env->record_put->reason;
	params[8] = p->scope;
	params[9] = s->division_col != SS_NO_COL ? s->cols[s->division_col].name : NULL;
	params[10] = p->based_on;
	ss_request_query(req,
			 "SELECT version, changed FROM record_put($1, $2, $3, $4, $5, $6::jsonb, $7, "
			 "$8, $9, $10, $11::integer)",
			 11, params, ss_put_done);
	json_object_put(fields);
}

/* Normalizes the given columns into p->values; answers req and returns nonzero on error. */
static int ss_put_merge(struct ss_request *req, struct ss_put *p, int have_current)
{
	const Shuangsui__V1__RecordPut *r = req->env->record_put;
	const struct ss_dirschema *s = p->schema;
	size_t i;

	for (i = 0; i < r->n_columns; i++) {
		int col = ss_dirschema_column(s, r->columns[i]);
		struct ss_cell_error e;
		char *v = NULL;
		int abolished = 0;

		if (col < 0) {
			ss_request_fail(req, SS_ERR_BAD_REQUEST, "record_put.columns",
					"unknown column", "未知的列");
			return -1;
		}
		if (ss_cell_normalize(&s->cols[col], req->conn->srv->divisions, r->values[i], &v,
				      &abolished, &e) != 0) {
			ss_request_fail(req, SS_ERR_BAD_REQUEST, "record_put.values", e.en, e.zh);
			return -1;
		}
		/* Compared normalized: " INS-0001 " names the same record as "INS-0001". */
		if (have_current && ((size_t)col == s->key_col || (size_t)col == s->key_col2) &&
		    p->values[col] != NULL && (v == NULL || strcmp(p->values[col], v) != 0)) {
			free(v);
			ss_request_fail(req, SS_ERR_BAD_REQUEST, "record_put.columns",
					"the identifying column of a record cannot change",
					"记录的标识列不能修改");
			return -1;
		}
		free(p->values[col]);
		p->values[col] = v;
	}
	for (i = 0; i < s->ncols; i++) {
		struct ss_cell_error e;
		int abolished = 0;

		/* An optional column left out is stored as an empty cell of an
		 * import would be (free text: ""), not as NULL. */
		if (!s->cols[i].required && p->values[i] == NULL &&
		    ss_cell_normalize(&s->cols[i], req->conn->srv->divisions, "", &p->values[i],
				      &abolished, &e) != 0)
			p->values[i] = NULL;
	}
	for (i = 0; i < s->ncols; i++)
		if (s->cols[i].required && p->values[i] == NULL) {
			char en[160], zh[160];

			snprintf(en, sizeof(en), "%s is required for a new record", s->cols[i].name);
			snprintf(zh, sizeof(zh), "新记录必须填写%s", s->cols[i].zh);
			ss_request_fail(req, SS_ERR_BAD_REQUEST, "record_put.columns", en, zh);
			return -1;
		}
	return 0;
}

static void ss_put_current(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_put *p = req->work;
	const struct ss_dirschema *s = p->schema;
	size_t i;
	int have = 0;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	snprintf(p->based_on, sizeof(p->based_on), "%s",
		 PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "0");
	if (PQntuples(res) == 1) {
		have = 1;
		for (i = 0; i < s->ncols; i++)
			if (!PQgetisnull(res, 0, 5 + (int)i) &&
			    (p->values[i] = strdup(PQgetvalue(res, 0, 5 + (int)i))) == NULL) {
				ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
				return;
			}
		/* The record as it is now must lie in the actor's jurisdiction... */
		if (s->division_col != SS_NO_COL &&
		    ss_dir_refuse_foreign(req, s, p->scope, p->values[s->division_col]))
			return;
	}
	if (ss_put_merge(req, p, have) != 0)
		return;
	/* ...and so must the record as it will be. */
	if (s->division_col != SS_NO_COL &&
	    ss_dir_refuse_foreign(req, s, p->scope, p->values[s->division_col]))
		return;
	ss_put_store(req);
}

void ss_handle_record_put(struct ss_request *req)
{
	const Shuangsui__V1__RecordPut *r = req->env->record_put;
	const struct ss_dirschema *s = ss_dir_lookup(req, r->directory, "record_put.directory");
	struct ss_put *p;
	const char *params[2];
	struct ss_sql q = {0};
	size_t i;

	if (s == NULL)
		return;
	if (ss_request_need_key(req) != 0)
		return;
	if (r->n_columns != r->n_values || r->n_columns == 0 || r->n_columns > s->ncols) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "record_put.values",
				"columns and values must pair up", "列与值的数量必须一致");
		return;
	}
	if (ss_request_need_reason(req, r->reason, "record_put.reason") != 0)
		return;
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->values = calloc(s->ncols, sizeof(char *))) == NULL) {
		free(p);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	p->schema = s;
	req->work = p;
	req->work_free = (void (*)(void *))ss_put_free;
	if (ss_dir_scope(req, s, 1, p->scope) == NULL)
		return;
	/* The record id comes from the key column(s) given. */
	for (i = 0; i < r->n_columns; i++) {
		int col = ss_dirschema_column(s, r->columns[i]);

		if (col >= 0 && ((size_t)col == s->key_col || (size_t)col == s->key_col2)) {
			struct ss_cell_error e;
			int abolished;

			free(p->values[col]);
			p->values[col] = NULL;
			if (ss_cell_normalize(&s->cols[col], req->conn->srv->divisions, r->values[i],
					      &p->values[col], &abolished, &e) != 0) {
				ss_request_fail(req, SS_ERR_BAD_REQUEST, "record_put.values", e.en, e.zh);
				return;
			}
		}
	}
	p->record_id = ss_record_id(s, p->values);
	for (i = 0; i < s->ncols; i++) {
		free(p->values[i]);
		p->values[i] = NULL;
	}
	if (p->record_id == NULL) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "record_put.columns",
				"the identifying column(s) must be given", "必须给出记录的标识列");
		return;
	}
	params[0] = "infinity";
	params[1] = p->record_id;
	ss_dir_select(&q, s);
	ss_dir_latest(&q, s);
	ss_sql_add(&q, " AND v.record_id = $2");
	if (q.failed) {
		free(q.s);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	ss_request_query(req, q.s, 2, params, ss_put_current);
	free(q.s);
}

/* ---- calendar ---- */

static void ss_calendar_reply(struct ss_request *req, const char *date, int workdays,
			      int provisional)
{
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__CalendarReply cr = SHUANGSUI__V1__CALENDAR_REPLY__INIT;

	cr.date = (char *)(date ? date : "");
	cr.workdays = workdays;
	cr.provisional = provisional;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_REPLY;
	reply.calendar_reply = &cr;
	ss_request_reply(req, &reply);
}

static int ss_calendar_date(struct ss_request *req, const char *iso, const char *field,
			    int32_t *day)
{
	int provisional;

	/* Parsed, and within the calendar's years (1990..2100). */
	if (iso != NULL && ss_date_parse(iso, day) == 0 &&
	    ss_calendar_is_workday(req->conn->srv->calendar, *day, &provisional) >= 0)
		return 0;
	ss_request_fail(req, SS_ERR_BAD_REQUEST, field, "a date YYYY-MM-DD between 1990 and 2100",
			"须为 1990 至 2100 年之间的日期（YYYY-MM-DD）");
	return -1;
}

void ss_handle_calendar_add_workdays(struct ss_request *req)
{
	const Shuangsui__V1__CalendarAddWorkdays *a = req->env->calendar_add_workdays;
	int32_t start, result;
	int provisional = 0;
	char out[11];

	if (ss_calendar_date(req, a->date, "calendar_add_workdays.date", &start) != 0)
		return;
	if (a->days < 0 || a->days > 3650 ||
	    ss_calendar_add_workdays(req->conn->srv->calendar, start, a->days, &result,
				     &provisional) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "calendar_add_workdays.days",
				"days must be 0..3650 and the result within 1990..2100",
				"天数须为 0 至 3650，且结果在 1990 至 2100 年之间");
		return;
	}
	ss_date_format(result, out);
	ss_calendar_reply(req, out, 0, provisional);
}

void ss_handle_calendar_between(struct ss_request *req)
{
	const Shuangsui__V1__CalendarBetween *b = req->env->calendar_between;
	int32_t from, to;
	int count = 0, provisional = 0;

	if (ss_calendar_date(req, b->from, "calendar_between.from", &from) != 0 ||
	    ss_calendar_date(req, b->to, "calendar_between.to", &to) != 0)
		return;
	if (ss_calendar_workdays_between(req->conn->srv->calendar, from, to, &count,
					 &provisional) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "calendar_between.to",
				"the range must lie within 1990..2100",
				"日期范围须在 1990 至 2100 年之间");
		return;
	}
	ss_calendar_reply(req, NULL, count, provisional);
}

static void ss_calendar_overridden(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	const Shuangsui__V1__CalendarOverride *o = req->env->calendar_override;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__CalendarOverrideReply cr = SHUANGSUI__V1__CALENDAR_OVERRIDE_REPLY__INIT;
	int32_t day;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	/* Stored first, then applied: the database is the record of overrides. */
	if (ss_date_parse(o->date, &day) == 0)
		ss_calendar_set_override(req->conn->srv->calendar, day, o->off_day);
	cr.date = o->date;
	cr.off_day = o->off_day;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_OVERRIDE_REPLY;
	reply.calendar_override_reply = &cr;
	ss_request_reply(req, &reply);
}

void ss_handle_calendar_override(struct ss_request *req)
{
	const Shuangsui__V1__CalendarOverride *o = req->env->calendar_override;
	const char *params[6];
	int32_t day;

	if (ss_request_need_key(req) != 0 ||
	    ss_calendar_date(req, o->date, "calendar_override.date", &day) != 0 ||
	    ss_request_need_reason(req, o->reason, "calendar_override.reason") != 0)
		return;
	params[0] = req->conn->principal.id;
	params[1] = req->env->idempotency_key;
	params[2] = o->date;
	params[3] = o->off_day ? "t" : "f";
	params[4] = o->reason;
	params[5] = req->sha256;
	ss_request_query(req,
			 "SELECT calendar_override($1, $2, $3::date, $4::boolean, $5, $6)", 6,
			 params, ss_calendar_overridden);
}
