/*
 * import.c — bulk import into a directory: begin, chunks, commit.
 *
 * Begin maps the file's header to directory columns.  Each chunk is
 * validated here, row by row (check characters, division codes,
 * enumerations, the operator's jurisdiction); its valid rows go to an
 * unlogged staging table with one COPY, and its bad cells go back to the
 * client at once.  Commit runs import_commit() (sql/002): duplicates in the
 * file and rows touching another jurisdiction's records are found there,
 * and the import is applied only if nothing at all was wrong — one bad row
 * in a million applies nothing.  Server memory is bounded by one chunk.
 */
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirschema.h"
#include "rowcheck.h"
#include "server.h"
#include "ss_error.h"
#include "ss_log.h"
#include "validate.h"

#define SS_IMPORT_MAX_ROWS_PER_CHUNK 20000
#define SS_IMPORT_MAX_HEADER 200
#define SS_IMPORT_MAX_ERRORS_PER_CHUNK 10000
#define SS_IMPORT_VALUE_SHOWN 120 /* bytes of a bad value echoed back */

struct ss_import {
	uint64_t id;
	const struct ss_dirschema *schema;
	int src[64]; /* src[column] = index of the header cell, or -1 */
	size_t nheader;
	uint64_t rows;
	uint64_t errors;
	int chunks_in_flight;
	int committing;
	char scope[7];
	char *copy_sql;
};

void ss_import_free(struct ss_import *imp)
{
	if (imp == NULL)
		return;
	free(imp->copy_sql);
	free(imp);
}

static void ss_import_refuse_no_import(struct ss_request *req, const char *field)
{
	ss_request_fail(req, SS_ERR_BAD_REQUEST, field,
			"no such import is open on this connection (begin one first)",
			"本连接上没有这个进行中的导入（请先开始导入）");
}

/* ---- begin ---- */

struct ss_import_begin {
	struct ss_import *imp;
};

static void ss_import_begin_free(void *p)
{
	struct ss_import_begin *b = p;

	if (b != NULL)
		ss_import_free(b->imp);
	free(b);
}

static void ss_import_begun(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import_begin *b = req->work;
	struct ss_import *imp = b->imp;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__ImportBeginReply br = SHUANGSUI__V1__IMPORT_BEGIN_REPLY__INIT;
	char *cols[SS_IMPORT_MAX_HEADER];
	size_t i, c;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	if (req->conn->import != NULL) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin",
				"an import is already open on this connection",
				"本连接上已有进行中的导入");
		return;
	}
	imp->id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	for (i = 0; i < imp->nheader; i++) {
		cols[i] = "";
		for (c = 0; c < imp->schema->ncols; c++)
			if (imp->src[c] == (int)i)
				cols[i] = (char *)imp->schema->cols[c].name;
	}
	req->conn->import = imp;
	b->imp = NULL;
	br.import_id = imp->id;
	br.n_columns = imp->nheader;
	br.columns = cols;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN_REPLY;
	reply.import_begin_reply = &br;
	ss_request_reply(req, &reply);
}

/* Maps header cells to columns; answers req and returns nonzero if the header is unusable. */
static int ss_import_map_header(struct ss_request *req, struct ss_import *imp, char **header,
				size_t n)
{
	const struct ss_dirschema *s = imp->schema;
	char en[512], zh[512];
	size_t i, c;

	for (c = 0; c < s->ncols; c++)
		imp->src[c] = -1;
	for (i = 0; i < n; i++) {
		int col = ss_dirschema_column(s, header[i]);

		if (col < 0) {
			snprintf(en, sizeof(en),
				 "header cell %zu \"%.60s\" is not a column of the %s directory "
				 "(docs/directories.md lists them)",
				 i + 1, header[i], s->name);
			snprintf(zh, sizeof(zh), "表头第 %zu 列“%.60s”不是%s的列（列名见 docs/directories.md）",
				 i + 1, header[i], s->zh);
			ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin.header", en, zh);
			return -1;
		}
		if (imp->src[col] >= 0) {
			snprintf(en, sizeof(en), "column %s appears twice in the header (cells %d and %zu)",
				 s->cols[col].name, imp->src[col] + 1, i + 1);
			snprintf(zh, sizeof(zh), "表头中“%s”出现了两次（第 %d 列和第 %zu 列）",
				 s->cols[col].zh, imp->src[col] + 1, i + 1);
			ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin.header", en, zh);
			return -1;
		}
		imp->src[col] = (int)i;
	}
	for (c = 0; c < s->ncols; c++)
		if (s->cols[c].required && imp->src[c] < 0) {
			snprintf(en, sizeof(en), "the header lacks the required column %s (%s)",
				 s->cols[c].name, s->cols[c].zh);
			snprintf(zh, sizeof(zh), "表头缺少必填列“%s”（%s）", s->cols[c].zh,
				 s->cols[c].name);
			ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin.header", en, zh);
			return -1;
		}
	imp->nheader = n;
	return 0;
}

static char *ss_import_copy_sql(const struct ss_dirschema *s)
{
	size_t i, n = 128 + strlen(s->table);
	char *sql;

	for (i = 0; i < s->ncols; i++)
		n += strlen(s->cols[i].name) + 2;
	sql = malloc(n);
	if (sql == NULL)
		return NULL;
	snprintf(sql, n, "COPY import_rows_%s (import_id, line, record_id", s->table);
	for (i = 0; i < s->ncols; i++) {
		strcat(sql, ", ");
		strcat(sql, s->cols[i].name);
	}
	strcat(sql, ", content_sha256) FROM STDIN");
	return sql;
}

void ss_handle_import_begin(struct ss_request *req)
{
	const Shuangsui__V1__ImportBegin *ib = req->env->import_begin;
	const struct ss_dirschema *s = ss_dirschema_find(ib->directory ? ib->directory : "");
	struct ss_import_begin *b;
	const char *params[4];
	int op;

	if (s == NULL) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin.directory",
				"unknown directory (entity, project, inspector, item, conflict)",
				"未知的名录（entity、project、inspector、item、conflict）");
		return;
	}
	if (ib->n_header == 0 || ib->n_header > SS_IMPORT_MAX_HEADER ||
	    ss_validate_text(ib->file_name, 0, 255) != 0 ||
	    (ib->file_sha256[0] != '\0' && strlen(ib->file_sha256) != 64)) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin",
				"a header of 1..200 cells, a file name of at most 255 characters and "
				"an optional 64-hex SHA-256 are required",
				"须提供 1 至 200 列的表头、不超过 255 个字符的文件名及可选的 SHA-256");
		return;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL || (b->imp = calloc(1, sizeof(*b->imp))) == NULL) {
		free(b);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	req->work = b;
	req->work_free = ss_import_begin_free;
	b->imp->schema = s;
	op = ss_op_parse(s->write_op);
	req->op = (enum ss_op)op;
	if (ss_authz_scope_prefix(req->conn->principal.role, req->conn->principal.jurisdiction,
				  (enum ss_op)op, b->imp->scope) == NULL) {
		char en[160], zh[160];

		snprintf(en, sizeof(en), "role %s may not perform %s", req->conn->principal.role_name,
			 s->write_op);
		snprintf(zh, sizeof(zh), "角色 %s 无权执行 %s", req->conn->principal.role_name,
			 s->write_op);
		ss_request_refuse(req, SS_ERR_PERMISSION_DENIED, NULL, en, zh);
		return;
	}
	if (req->conn->import != NULL) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin",
				"an import is already open on this connection",
				"本连接上已有进行中的导入");
		return;
	}
	if (ss_import_map_header(req, b->imp, ib->header, ib->n_header) != 0)
		return;
	b->imp->copy_sql = ss_import_copy_sql(s);
	if (b->imp->copy_sql == NULL) {
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	params[0] = s->name;
	params[1] = req->conn->principal.id;
	params[2] = ib->file_name;
	params[3] = ib->file_sha256;
	ss_request_query(req,
			 "INSERT INTO imports (directory, principal_id, file_name, file_sha256) "
			 "VALUES ($1, $2, $3, $4) RETURNING id",
			 4, params, ss_import_begun);
}

/* ---- chunks ---- */

struct ss_import_chunk {
	struct ss_import *imp;
	Shuangsui__V1__RowError *errors;
	Shuangsui__V1__RowError **ptrs;
	size_t nerrors;
	uint32_t accepted;
	uint64_t chunk_errors; /* commit: bad cells already reported by the chunks */
};

static void ss_import_chunk_free(void *p)
{
	struct ss_import_chunk *k = p;
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->nerrors; i++) {
		free(k->errors[i].value);
		free(k->errors[i].message_en);
		free(k->errors[i].message_zh);
	}
	free(k->errors);
	free(k->ptrs);
	free(k);
}

static void ss_import_chunk_reply(struct ss_request *req)
{
	struct ss_import_chunk *k = req->work;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__ImportChunkReply cr = SHUANGSUI__V1__IMPORT_CHUNK_REPLY__INIT;
	size_t i;

	for (i = 0; i < k->nerrors; i++)
		k->ptrs[i] = &k->errors[i];
	cr.seq = req->env->import_chunk->seq;
	cr.rows_accepted = k->accepted;
	cr.n_errors = k->nerrors;
	cr.errors = k->ptrs;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK_REPLY;
	reply.import_chunk_reply = &cr;
	ss_request_reply(req, &reply);
}

static void ss_import_chunk_stored(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import_chunk *k = req->work;

	k->imp->chunks_in_flight--;
	if (err != 0) {
		/* The rows were not staged: the import can no longer be complete. */
		k->imp->errors++;
		ss_request_fail_db(req, err, res);
		return;
	}
	ss_import_chunk_reply(req);
}

static int ss_import_error(struct ss_import_chunk *k, uint64_t line, const char *column,
			   const char *value, const char *en, const char *zh)
{
	Shuangsui__V1__RowError *e;

	if (k->nerrors >= SS_IMPORT_MAX_ERRORS_PER_CHUNK)
		return 0; /* counted, not echoed */
	e = &k->errors[k->nerrors];
	shuangsui__v1__row_error__init(e);
	e->line = line;
	e->column = (char *)column;
	e->value = strndup(value ? value : "", SS_IMPORT_VALUE_SHOWN);
	e->message_en = strdup(en);
	e->message_zh = strdup(zh);
	k->nerrors++;
	if (e->value == NULL || e->message_en == NULL || e->message_zh == NULL)
		return SS_ERR_NOMEM;
	return 0;
}

/*
 * Validates one row into values (normalized); returns the number of bad
 * cells (each reported through k), or a negative error.
 */
static int ss_import_row(struct ss_request *req, struct ss_import_chunk *k,
			 const Shuangsui__V1__ImportRow *row, char **values)
{
	struct ss_import *imp = k->imp;
	const struct ss_dirschema *s = imp->schema;
	int bad = 0;
	size_t c;

	if (row->n_cells > imp->nheader) {
		size_t i;

		for (i = imp->nheader; i < row->n_cells; i++)
			if (row->cells[i][0] != '\0') {
				if (ss_import_error(k, row->line, "", row->cells[i],
						    "more cells than header columns",
						    "单元格数多于表头列数") != 0)
					return SS_ERR_NOMEM;
				bad++;
				break;
			}
	}
	for (c = 0; c < s->ncols; c++) {
		const char *in = "";
		struct ss_cell_error e;
		int abolished = 0, rc;

		if (imp->src[c] >= 0 && (size_t)imp->src[c] < row->n_cells)
			in = row->cells[imp->src[c]];
		rc = ss_cell_normalize(&s->cols[c], req->conn->srv->divisions, in, &values[c],
				       &abolished, &e);
		if (rc == SS_ERR_NOMEM)
			return rc;
		if (rc != 0) {
			if (ss_import_error(k, row->line, s->cols[c].name, in, e.en, e.zh) != 0)
				return SS_ERR_NOMEM;
			bad++;
		}
	}
	if (bad == 0 && s->division_col != SS_NO_COL && imp->scope[0] != '\0' &&
	    strncmp(values[s->division_col], imp->scope, strlen(imp->scope)) != 0) {
		char en[200], zh[200];

		snprintf(en, sizeof(en), "division %s is outside your jurisdiction (%s)",
			 values[s->division_col], req->conn->principal.jurisdiction);
		snprintf(zh, sizeof(zh), "行政区划 %s 不在您的管辖范围（%s）内",
			 values[s->division_col], req->conn->principal.jurisdiction);
		if (ss_import_error(k, row->line, s->cols[s->division_col].name,
				    values[s->division_col], en, zh) != 0)
			return SS_ERR_NOMEM;
		bad++;
	}
	return bad;
}

/* Appends a valid row's COPY line: import id, line, record id, values, digest. */
static int ss_import_stage(struct ss_import *imp, uint64_t line, char **values, char **buf,
			   size_t *len, size_t *cap)
{
	const struct ss_dirschema *s = imp->schema;
	const char *fields[3 + 64 + 1];
	char idbuf[24], linebuf[24], digest[2 + 65];
	unsigned char md[32];
	char *rid = ss_record_id(s, values);
	size_t i;
	int rc;

	if (rid == NULL)
		return SS_ERR_NOMEM;
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)imp->id);
	snprintf(linebuf, sizeof(linebuf), "%llu", (unsigned long long)line);
	ss_record_digest(s, values, md);
	digest[0] = '\\';
	digest[1] = 'x';
	sodium_bin2hex(digest + 2, 65, md, sizeof(md));
	fields[0] = idbuf;
	fields[1] = linebuf;
	fields[2] = rid;
	for (i = 0; i < s->ncols; i++)
		fields[3 + i] = values[i];
	fields[3 + s->ncols] = digest;
	rc = ss_copy_append(buf, len, cap, fields, 4 + s->ncols);
	free(rid);
	return rc;
}

void ss_handle_import_chunk(struct ss_request *req)
{
	const Shuangsui__V1__ImportChunk *ch = req->env->import_chunk;
	struct ss_import *imp = req->conn->import;
	struct ss_import_chunk *k;
	char *values[64] = {0};
	char *buf = NULL;
	size_t len = 0, cap = 0, r, c;
	int rc = 0;

	if (imp == NULL || imp->id != ch->import_id || imp->committing) {
		ss_import_refuse_no_import(req, "import_chunk.import_id");
		return;
	}
	if (ch->n_rows > SS_IMPORT_MAX_ROWS_PER_CHUNK) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_chunk.rows",
				"at most 20000 rows per chunk", "每块最多 20000 行");
		return;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	k->imp = imp;
	req->work = k;
	req->work_free = ss_import_chunk_free;
	k->errors = calloc(SS_IMPORT_MAX_ERRORS_PER_CHUNK, sizeof(*k->errors));
	k->ptrs = calloc(SS_IMPORT_MAX_ERRORS_PER_CHUNK, sizeof(*k->ptrs));
	if (k->errors == NULL || k->ptrs == NULL) {
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	for (r = 0; r < ch->n_rows && rc >= 0; r++) {
		rc = ss_import_row(req, k, ch->rows[r], values);
		if (rc == 0) {
			rc = ss_import_stage(imp, ch->rows[r]->line, values, &buf, &len, &cap);
			k->accepted++;
		} else if (rc > 0) {
			imp->errors += (uint64_t)rc;
		}
		for (c = 0; c < imp->schema->ncols; c++) {
			free(values[c]);
			values[c] = NULL;
		}
	}
	if (rc < 0) {
		free(buf);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	imp->rows += ch->n_rows;
	if (len == 0) {
		free(buf);
		ss_import_chunk_reply(req);
		return;
	}
	imp->chunks_in_flight++;
	if (ss_pgpool_copy(req->conn->srv->pool, imp->copy_sql, buf, len, ss_import_chunk_stored,
			   req) != 0) {
		imp->chunks_in_flight--;
		ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
	}
}

/* ---- commit ---- */

static void ss_import_report_errors(Shuangsui__V1__ImportReport *rep, struct json_object *errs,
				    struct ss_import_chunk *k)
{
	size_t i, n = errs ? json_object_array_length(errs) : 0;

	for (i = 0; i < n && i < SS_IMPORT_MAX_ERRORS_PER_CHUNK; i++) {
		struct json_object *e = json_object_array_get_idx(errs, i), *v;
		const char *code = "", *value = "";
		long long line = 0, other = 0;
		char en[256], zh[256];

		if (json_object_object_get_ex(e, "code", &v))
			code = json_object_get_string(v);
		if (json_object_object_get_ex(e, "value", &v))
			value = json_object_get_string(v);
		if (json_object_object_get_ex(e, "line", &v))
			line = json_object_get_int64(v);
		if (json_object_object_get_ex(e, "other_line", &v))
			other = json_object_get_int64(v);
		if (strcmp(code, "duplicate") == 0) {
			snprintf(en, sizeof(en), "record %s appears again (first on line %lld)", value,
				 other);
			snprintf(zh, sizeof(zh), "记录 %s 重复出现（首次出现在第 %lld 行）", value,
				 other);
		} else {
			snprintf(en, sizeof(en),
				 "the existing record belongs to division %s, outside your jurisdiction",
				 value);
			snprintf(zh, sizeof(zh), "名录中已有的该记录属于行政区划 %s，不在您的管辖范围内",
				 value);
		}
		if (ss_import_error(k, (uint64_t)line, "", value, en, zh) != 0)
			break;
	}
	for (i = 0; i < k->nerrors; i++)
		k->ptrs[i] = &k->errors[i];
	rep->n_errors = k->nerrors;
	rep->errors = k->ptrs;
}

static uint64_t ss_json_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

static void ss_import_committed(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import_chunk *k = req->work;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__ImportReport rep = SHUANGSUI__V1__IMPORT_REPORT__INIT;
	struct json_object *o, *errs = NULL, *v;

	/* Committed, failed or refused: the import has ended either way. */
	if (req->conn->import == k->imp)
		req->conn->import = NULL;
	ss_import_free(k->imp);
	k->imp = NULL;
	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	o = json_tokener_parse(PQgetvalue(res, 0, 0));
	if (o == NULL) {
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	rep.import_id = req->env->import_commit->import_id;
	rep.rows = ss_json_u64(o, "rows");
	rep.new_records = ss_json_u64(o, "new");
	rep.changed_records = ss_json_u64(o, "changed");
	rep.unchanged_records = ss_json_u64(o, "unchanged");
	rep.error_count = ss_json_u64(o, "error_count") + k->chunk_errors;
	rep.applied = json_object_object_get_ex(o, "applied", &v) && json_object_get_boolean(v);
	rep.dry_run = req->env->import_commit->dry_run;
	json_object_object_get_ex(o, "errors", &errs);
	ss_import_report_errors(&rep, errs, k);
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_REPORT;
	reply.import_report = &rep;
	ss_request_reply(req, &reply);
	json_object_put(o);
}

void ss_handle_import_commit(struct ss_request *req)
{
	const Shuangsui__V1__ImportCommit *ic = req->env->import_commit;
	struct ss_import *imp = req->conn->import;
	struct ss_import_chunk *k;
	const struct ss_dirschema *s;
	char id[24], chunk_errors[24];
	const char *params[8];

	if (imp == NULL || imp->id != ic->import_id || imp->committing) {
		ss_import_refuse_no_import(req, "import_commit.import_id");
		return;
	}
	if (imp->chunks_in_flight > 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_commit",
				"wait for every chunk's reply before committing",
				"请等所有数据块都得到应答后再提交");
		return;
	}
	if (ss_validate_text(ic->reason, 2, 500) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_commit.reason",
				"a reason of 2 to 500 characters is required",
				"必须填写 2 至 500 个字符的理由");
		return;
	}
	k = calloc(1, sizeof(*k));
	if (k != NULL) {
		k->errors = calloc(SS_IMPORT_MAX_ERRORS_PER_CHUNK, sizeof(*k->errors));
		k->ptrs = calloc(SS_IMPORT_MAX_ERRORS_PER_CHUNK, sizeof(*k->ptrs));
	}
	if (k == NULL || k->errors == NULL || k->ptrs == NULL) {
		ss_import_chunk_free(k);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	req->work = k;
	req->work_free = ss_import_chunk_free;
	req->op = (enum ss_op)ss_op_parse(imp->schema->write_op);
	imp->committing = 1;
	k->imp = imp;
	k->chunk_errors = imp->errors;
	s = imp->schema;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)imp->id);
	snprintf(chunk_errors, sizeof(chunk_errors), "%llu", (unsigned long long)imp->errors);
	params[0] = id;
	params[1] = req->conn->principal.id;
	params[2] = imp->scope;
	params[3] = s->division_col != SS_NO_COL ? s->cols[s->division_col].name : NULL;
	params[4] = ic->dry_run ? "t" : "f";
	params[5] = ic->reason;
	params[6] = req->sha256;
	params[7] = chunk_errors;
	ss_request_query(req,
			 "SELECT import_commit($1::bigint, $2, $3, $4, $5::boolean, $6, $7, "
			 "$8::bigint)::text",
			 8, params, ss_import_committed);
}
