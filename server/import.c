/*
 * import.c — bulk import into a directory: begin, chunks, commit.
 *
 * Each import runs in one database transaction of its own (a pgpool
 * session).  Begin maps the file's header to directory columns, opens the
 * transaction and takes the directory's lock.  Each chunk is validated here,
 * row by row (check characters, division codes, enumerations, repeated
 * record ids, the operator's jurisdiction); the current versions of its
 * records are looked up with one indexed query (not at all when the
 * directory was empty when its lock was taken); new and changed rows are
 * then COPYed straight into <directory>_versions, identical rows are
 * skipped.  Bad cells go back to the client with the chunk's reply.
 * Commit COMMITs the transaction together with the import's record and its
 * audit event — or, if anything at all was wrong (one bad row in a million)
 * or it was a dry run, ROLLs BACK and records why.  Server memory is bounded
 * by one chunk plus the set of record ids seen.
 */
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirschema.h"
#include "import_idset.h"
#include "import_packed.h"
#include "rowcheck.h"
#include "server.h"
#include "ss_error.h"
#include "ss_log.h"
#include "validate.h"

#define SS_IMPORT_MAX_ROWS_PER_CHUNK 20000
#define SS_IMPORT_MAX_HEADER 200
#define SS_IMPORT_MAX_ERRORS_PER_CHUNK 10000
#define SS_IMPORT_VALUE_SHOWN 120 /* bytes of a bad value echoed back */
#define SS_IMPORT_REPLY_BUDGET (768u * 1024) /* bytes of errors in one reply (frames are 1 MiB) */
#define SS_IMPORT_MAX_ROWS (8u << 20) /* rows per import: bounds the id set (~180 MB) */

struct ss_import {
	uint64_t id;
	char id_text[24]; /* id in decimal, for each COPY row */
	const struct ss_dirschema *schema;
	struct ss_server *srv;
	struct ss_pgpool *session; /* the import's own transaction */
	char *actor;               /* principal id, to record an abandoned import */
	size_t actor_len, reason_len, id_text_len; /* for each COPY row */
	int counted;               /* counted in srv->imports (database.max_imports) */
	int src[64];               /* src[column] = index of the header cell, or -1 */
	size_t nheader;
	char scope[7];
	int dry_run;
	char *reason;
	char *lookup_sql;
	char *copy_sql;
	struct ss_idset seen; /* record ids of the rows accepted so far */
	uint64_t rows;      /* data rows received */
	uint64_t errors;    /* bad cells and rows found so far */
	uint64_t new_records, changed, unchanged;
	uint32_t next_seq;  /* chunks must arrive numbered 0, 1, 2, ... */
	int keeps_columns;  /* the file leaves columns out: existing records keep them */
	int was_empty;      /* the directory held no versions when its lock was taken */
	int chunks_in_flight;
	/* Chunks are validated one at a time, in order, by a libuv worker
	 * thread (the set of record ids seen is shared between them); the
	 * loop thread meanwhile keeps the database and the peer busy. */
	struct ss_import_chunk *waiting, *waiting_tail;
	int validating;
	int committing;
	int applying; /* committing with COMMIT (else ROLLBACK and a recorded refusal) */
	uint64_t began_ms, commit_ms;
};

static void ss_import_session_closed(void *arg)
{
	ss_pgpool_free(arg);
}

static void ss_import_abandon_recorded(void *arg, int err, PGresult *res)
{
	if (err != 0)
		ss_warn("an abandoned import could not be recorded: %s",
			res ? PQresultErrorMessage(res) : ss_err_str(err));
}

void ss_import_free(struct ss_import *imp)
{
	if (imp == NULL)
		return;
	/* Its client went away before commit: record the failure now (the
	 * transaction rolls back with its session). */
	if (imp->id != 0 && !imp->committing && imp->srv->pool != NULL) {
		char id[24], rows[24], errs[24];
		const char *params[7] = {id, imp->actor, "", rows, "0", "0", errs};

		snprintf(id, sizeof(id), "%llu", (unsigned long long)imp->id);
		snprintf(rows, sizeof(rows), "%llu", (unsigned long long)imp->rows);
		snprintf(errs, sizeof(errs), "%llu", (unsigned long long)imp->errors + 1);
		(void)ss_pgpool_query(imp->srv->pool,
				      "SELECT import_fail($1::bigint, $2, $3, $4::bigint, $5::bigint, "
				      "$6::bigint, $7::bigint)",
				      7, params, ss_import_abandon_recorded, NULL);
	}
	free(imp->actor);
	if (imp->counted)
		imp->srv->imports--;
	if (imp->session != NULL) {
		/* Closing rolls the transaction back; a second close abandons a
		 * statement still running (the connection's end aborts it). */
		ss_pgpool_close(imp->session, ss_import_session_closed, imp->session);
		ss_pgpool_close(imp->session, NULL, NULL);
	}
	ss_idset_clear(&imp->seen);
	free(imp->reason);
	free(imp->lookup_sql);
	free(imp->copy_sql);
	free(imp);
}

static void ss_import_refuse_no_import(struct ss_request *req, const char *field)
{
	ss_request_fail(req, SS_ERR_BAD_REQUEST, field,
			"no such import is open on this connection (begin one first)",
			"本连接上没有这个进行中的导入（请先开始导入）");
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
			char shown[64];

			ss_utf8_clip(header[i], 60, shown, sizeof(shown));
			snprintf(en, sizeof(en),
				 "header cell %zu \"%s\" is not a column of the %s directory "
				 "(docs/directories.md lists them)",
				 i + 1, shown, s->name);
			snprintf(zh, sizeof(zh), "表头第 %zu 列“%s”不是%s的列（列名见 docs/directories.md）",
				 i + 1, shown, s->zh);
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

/*
 * The statements of an import, built once from the descriptor.  The lookup
 * also returns, for existing records, the current values of the columns the
 * file leaves out, so that an update keeps them (as record_put does) rather
 * than blanking them.
 */
static int ss_import_sql(struct ss_import *imp)
{
	const struct ss_dirschema *s = imp->schema;
	const char *div = s->division_col != SS_NO_COL ? s->cols[s->division_col].name : NULL;
	size_t i, n = 512 + 2 * strlen(s->table);
	char *kept, *inner;

	for (i = 0; i < s->ncols; i++)
		n += 3 * strlen(s->cols[i].name) + 48;
	imp->lookup_sql = malloc(n);
	imp->copy_sql = malloc(n);
	kept = malloc(n);
	inner = malloc(n);
	if (imp->lookup_sql == NULL || imp->copy_sql == NULL || kept == NULL || inner == NULL) {
		free(kept);
		free(inner);
		return SS_ERR_NOMEM;
	}
	kept[0] = inner[0] = '\0';
	for (i = 0; i < s->ncols; i++) {
		if (imp->src[i] >= 0)
			continue;
		/* Booleans in their normalized form (t/f), like every read. */
		if (s->cols[i].type == SS_COL_BOOL)
			sprintf(kept + strlen(kept), ", CASE WHEN c.%s THEN 't' ELSE 'f' END",
				s->cols[i].name);
		else
			sprintf(kept + strlen(kept), ", c.%s::text", s->cols[i].name);
		sprintf(inner + strlen(inner), ", v.%s", s->cols[i].name);
	}
	/* The current version of each record of a chunk: one primary-key probe
	 * each, whatever the planner thinks of a table growing inside the
	 * import's own transaction (its statistics do not see those rows). */
	snprintf(imp->lookup_sql, n,
		 "SELECT i.id, c.version, encode(c.content_sha256, 'hex'), c.div%s "
		 "FROM unnest($1::text[]) AS i(id) JOIN LATERAL (SELECT v.version, "
		 "v.content_sha256, %s%s AS div%s FROM %s_versions v WHERE v.record_id = i.id "
		 "ORDER BY v.version DESC LIMIT 1) c ON true ORDER BY i.id COLLATE \"C\"",
		 kept, div ? "v." : "NULL::text", div ? div : "", inner, s->table);
	free(kept);
	free(inner);
	snprintf(imp->copy_sql, n, "COPY %s_versions (record_id, version", s->table);
	for (i = 0; i < s->ncols; i++) {
		strcat(imp->copy_sql, ", ");
		strcat(imp->copy_sql, s->cols[i].name);
	}
	strcat(imp->copy_sql, ", content_sha256, changed_by, reason, import_id) FROM STDIN");
	return 0;
}

/* ---- begin ---- */

static void ss_import_begin_free(void *p)
{
	ss_import_free(p);
}

/*
 * The directory's emptiness, seen after its lock was granted: a statement
 * started after the lock sees every version committed before it, and no
 * other writer can add one until this transaction ends (record_put() needs
 * the lock shared).  An empty directory has no current versions to look
 * up: every row of the import is then new, at version 1.
 */
static void ss_import_probed(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import *imp = req->work;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__ImportBeginReply br = SHUANGSUI__V1__IMPORT_BEGIN_REPLY__INIT;
	char *cols[SS_IMPORT_MAX_HEADER];
	size_t i, c;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	imp->was_empty = PQntuples(res) == 0;
	if (req->conn->import != NULL) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin",
				"an import is already open on this connection",
				"本连接上已有进行中的导入");
		return;
	}
	for (i = 0; i < imp->nheader; i++) {
		cols[i] = "";
		for (c = 0; c < imp->schema->ncols; c++)
			if (imp->src[c] == (int)i)
				cols[i] = (char *)imp->schema->cols[c].name;
	}
	imp->began_ms = uv_now(imp->srv->loop);
	req->conn->import = imp;
	req->work = NULL;
	br.import_id = imp->id;
	br.n_columns = imp->nheader;
	br.columns = cols;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN_REPLY;
	reply.import_begin_reply = &br;
	ss_request_reply(req, &reply);
}

static void ss_import_locked(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import *imp = req->work;
	char sql[96];

	if (err != 0 || imp->errors > 0) { /* the lock, or BEGIN before it, failed */
		ss_request_fail_db(req, err != 0 ? err : SS_ERR_INTERNAL, res);
		return;
	}
	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s_versions LIMIT 1", imp->schema->table);
	if (ss_pgpool_query(imp->session, sql, 0, NULL, ss_import_probed, req) != 0)
		ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

static void ss_import_began(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;

	/* The lock's callback answers the request.  Without BEGIN the rows
	 * would commit one COPY at a time: an import that failed to begin
	 * counts an error, so it writes nothing and can only roll back. */
	if (err != 0) {
		((struct ss_import *)req->work)->errors++;
		ss_warn("import: BEGIN failed: %s", res ? PQresultErrorMessage(res) : ss_err_str(err));
	}
}

static void ss_import_opened(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import *imp = req->work;
	char lock[80];
	const char *params[1] = {lock};

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	imp->id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(imp->id_text, sizeof(imp->id_text), "%llu", (unsigned long long)imp->id);
	imp->id_text_len = strlen(imp->id_text);
	imp->actor_len = strlen(imp->actor);
	imp->reason_len = strlen(imp->reason);
	imp->session = ss_pgpool_new_session(imp->srv->loop, imp->srv->cfg->db_conninfo,
					     imp->srv->cfg->db_statement_timeout_ms);
	if (imp->session == NULL || ss_import_sql(imp) != 0) {
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	/* One writer per directory: record_put() takes the same lock. */
	snprintf(lock, sizeof(lock), "directory:%s", imp->schema->name);
	if (ss_pgpool_query(imp->session, "BEGIN", 0, NULL, ss_import_began, req) != 0 ||
	    ss_pgpool_query(imp->session, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, params,
			    ss_import_locked, req) != 0)
		ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

void ss_handle_import_begin(struct ss_request *req)
{
	const Shuangsui__V1__ImportBegin *ib = req->env->import_begin;
	const struct ss_dirschema *s = ss_dirschema_find(ib->directory ? ib->directory : "");
	struct ss_import *imp;
	const char *params[6];
	int op;

	if (s == NULL) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin.directory",
				"unknown directory (entity, project, inspector, item, conflict)",
				"未知的名录（entity、project、inspector、item、conflict）");
		return;
	}
	if (ib->n_header == 0 || ib->n_header > SS_IMPORT_MAX_HEADER ||
	    ss_validate_text(ib->file_name, 0, 255) != 0 ||
	    (ib->file_sha256[0] != '\0' &&
	     (strlen(ib->file_sha256) != 64 ||
	      strspn(ib->file_sha256, "0123456789abcdef") != 64))) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_begin",
				"a header of 1..200 cells, a file name of at most 255 characters and "
				"an optional 64-hex SHA-256 are required",
				"须提供 1 至 200 列的表头、不超过 255 个字符的文件名及可选的 SHA-256");
		return;
	}
	if (ss_request_need_reason(req, ib->reason, "import_begin.reason") != 0)
		return;
	imp = calloc(1, sizeof(*imp));
	if (imp == NULL || (imp->reason = strdup(ib->reason)) == NULL ||
	    (imp->actor = strdup(req->conn->principal.id)) == NULL) {
		if (imp != NULL)
			free(imp->reason);
		free(imp);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	req->work = imp;
	req->work_free = ss_import_begin_free;
	imp->schema = s;
	imp->srv = req->conn->srv;
	imp->dry_run = ib->dry_run;
	op = ss_op_parse(s->write_op);
	req->op = (enum ss_op)op;
	if (ss_authz_scope_prefix(req->conn->principal.role, req->conn->principal.jurisdiction,
				  (enum ss_op)op, imp->scope) == NULL) {
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
	/* Each import holds a database connection of its own for its duration. */
	if (req->conn->srv->imports >= req->conn->srv->cfg->max_imports) {
		ss_request_fail(req, SS_ERR_TOO_MANY_REQUESTS, "import_begin",
				"too many imports in progress on the server; try again shortly",
				"服务器上同时进行的导入过多，请稍后再试");
		return;
	}
	imp->counted = 1; /* counted from here until it is freed, whatever happens */
	req->conn->srv->imports++;
	if (ss_import_map_header(req, imp, ib->header, ib->n_header) != 0)
		return;
	{
		size_t c;

		for (c = 0; c < s->ncols; c++)
			if (imp->src[c] < 0)
				imp->keeps_columns = 1;
	}
	ss_idset_init(&imp->seen);
	params[0] = s->name;
	params[1] = req->conn->principal.id;
	params[2] = ib->file_name;
	params[3] = ib->file_sha256;
	params[4] = ib->dry_run ? "t" : "f";
	params[5] = ib->reason;
	ss_request_query(req, "SELECT import_open($1, $2, $3, $4, $5::boolean, $6)", 6, params,
			 ss_import_opened);
}

/* ---- chunks ---- */

/*
 * A chunk's memory for values: blocks handed out front to back, freed all
 * at once with the chunk.  Normalized cells, record ids and kept values
 * live here instead of one malloc each.
 */
struct ss_arena_block {
	struct ss_arena_block *next;
	size_t size, used;
	char data[];
};

#define SS_ARENA_BLOCK (256u * 1024)

/* n bytes from the arena at *head (a new block of at least hint bytes if needed), or NULL. */
static char *ss_arena_alloc(struct ss_arena_block **head, size_t n, size_t hint)
{
	struct ss_arena_block *b = *head;

	if (b == NULL || b->size - b->used < n) {
		size_t size = n > hint ? n : hint;

		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = *head;
		*head = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

static void ss_arena_free(struct ss_arena_block **head)
{
	while (*head != NULL) {
		struct ss_arena_block *b = *head;

		*head = b->next;
		free(b);
	}
}

struct ss_staged {
	uint64_t line;
	const char *rid; /* in the chunk's arena, or one of values */
	size_t rid_len;
	const char **values; /* normalized, in the arena or constants; never freed alone */
	size_t *lens;
	char digest[65];
};

/* One row as received: its cells up to the header's width, in place. */
struct ss_import_line {
	uint64_t line;
	size_t n;
	const char *cell[SS_IMPORT_MAX_HEADER];
	size_t len[SS_IMPORT_MAX_HEADER];
	const char *extra; /* the first non-empty cell past the header, or NULL */
	size_t extra_len;
};

struct ss_import_chunk {
	struct ss_import *imp;
	struct ss_request *req;
	uv_work_t work;               /* validation, off the loop thread */
	struct ss_import_chunk *next; /* waiting for the worker, in sequence order */
	int rc;                       /* 0, or a negative error that stopped validation */
	size_t nin;                   /* rows received, in either form */
	struct ss_arena_block *arena; /* every row's values */
	const char **values;          /* nin rows of ncols, for k->rows[i].values */
	size_t *lens;
	uint64_t bad;                 /* bad cells and rows found by validation */
	char *copy;                   /* built by the worker when every row is new */
	size_t copy_len, copy_cap;
	struct ss_staged *rows;
	size_t nrows;
	Shuangsui__V1__RowError *errors;
	Shuangsui__V1__RowError **ptrs;
	size_t nerrors;
	size_t error_bytes;
	uint32_t accepted;
};

static void ss_import_chunk_free(void *p)
{
	struct ss_import_chunk *k = p;
	size_t i;

	if (k == NULL)
		return;
	free(k->rows);
	ss_arena_free(&k->arena);
	free(k->values);
	free(k->lens);
	for (i = 0; i < k->nerrors; i++) {
		free(k->errors[i].value);
		free(k->errors[i].message_en);
		free(k->errors[i].message_zh);
	}
	free(k->errors);
	free(k->ptrs);
	free(k->copy);
	free(k);
}

static struct ss_import_chunk *ss_import_chunk_new(struct ss_import *imp, size_t rows)
{
	struct ss_import_chunk *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->imp = imp;
	/* Each accepted row's entry is written whole by validation; the error
	 * arrays are allocated with the first error. */
	k->rows = malloc((rows + 1) * sizeof(*k->rows));
	if (k->rows == NULL) {
		ss_import_chunk_free(k);
		return NULL;
	}
	return k;
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

/* A copy of the len bytes at s for echoing: at most max bytes, whole characters, valid UTF-8. */
static char *ss_import_cut(const char *s, size_t len, size_t max)
{
	char in[SS_IMPORT_VALUE_SHOWN + 8], buf[SS_IMPORT_VALUE_SHOWN + 1];

	/* A character begun within the shown bytes ends at most 3 bytes later. */
	if (len > sizeof(in) - 1)
		len = sizeof(in) - 1;
	memcpy(in, s, len);
	in[len] = '\0';
	ss_utf8_clip(in, max < sizeof(buf) - 1 ? max : sizeof(buf) - 1, buf, sizeof(buf));
	return strdup(buf);
}

static int ss_import_error(struct ss_import_chunk *k, uint64_t line, const char *column,
			   const char *value, size_t value_len, const char *en, const char *zh)
{
	Shuangsui__V1__RowError *e;
	size_t size = 32 + strlen(column) + SS_IMPORT_VALUE_SHOWN + strlen(en) + strlen(zh);

	/* Every error is counted; those that fit in the reply are also echoed. */
	if (k->nerrors >= SS_IMPORT_MAX_ERRORS_PER_CHUNK ||
	    k->error_bytes + size > SS_IMPORT_REPLY_BUDGET)
		return 0;
	if (k->errors == NULL) {
		k->errors = calloc(SS_IMPORT_MAX_ERRORS_PER_CHUNK, sizeof(*k->errors));
		k->ptrs = calloc(SS_IMPORT_MAX_ERRORS_PER_CHUNK, sizeof(*k->ptrs));
		if (k->errors == NULL || k->ptrs == NULL)
			return SS_ERR_NOMEM;
	}
	k->error_bytes += size;
	e = &k->errors[k->nerrors];
	shuangsui__v1__row_error__init(e);
	e->line = line;
	e->column = (char *)column;
	e->value = ss_import_cut(value ? value : "", value ? value_len : 0, SS_IMPORT_VALUE_SHOWN);
	e->message_en = strdup(en);
	e->message_zh = strdup(zh);
	k->nerrors++;
	if (e->value == NULL || e->message_en == NULL || e->message_zh == NULL)
		return SS_ERR_NOMEM;
	return 0;
}

/* The record id of a row's normalized values: the key column, or "key|key2" in the arena. */
static int ss_import_record_id(struct ss_import_chunk *k, struct ss_staged *st)
{
	const struct ss_dirschema *s = k->imp->schema;
	const char *a = st->values[s->key_col];
	const char *b = s->key_col2 != SS_NO_COL ? st->values[s->key_col2] : NULL;
	size_t alen = st->lens[s->key_col], blen;
	char *id;

	if (a == NULL)
		return SS_ERR_NOMEM; /* required: cannot happen */
	if (b == NULL) {
		st->rid = a;
		st->rid_len = alen;
		return 0;
	}
	blen = st->lens[s->key_col2];
	id = ss_arena_alloc(&k->arena, alen + blen + 2, SS_ARENA_BLOCK);
	if (id == NULL)
		return SS_ERR_NOMEM;
	memcpy(id, a, alen);
	id[alen] = '|';
	memcpy(id + alen + 1, b, blen);
	id[alen + 1 + blen] = '\0';
	st->rid = id;
	st->rid_len = alen + 1 + blen;
	return 0;
}

/*
 * Validates one row into st->values (normalized, in the chunk's arena) and
 * st->rid; returns the number of bad cells (each reported through k), or
 * a negative error.
 */
static int ss_import_row(struct ss_request *req, struct ss_import_chunk *k,
			 const struct ss_import_line *row, struct ss_staged *st)
{
	struct ss_import *imp = k->imp;
	const struct ss_dirschema *s = imp->schema;
	uint64_t h = 0;
	int bad = 0;
	size_t c;

	if (row->extra != NULL) {
		if (ss_import_error(k, row->line, "", row->extra, row->extra_len,
				    "more cells than header columns", "单元格数多于表头列数") != 0)
			return SS_ERR_NOMEM;
		bad++;
	}
	for (c = 0; c < s->ncols; c++) {
		const char *in = "";
		size_t in_len = 0;
		struct ss_cell_error e;
		char *buf;
		int abolished = 0, rc;

		if (imp->src[c] >= 0 && (size_t)imp->src[c] < row->n) {
			in = row->cell[imp->src[c]];
			in_len = row->len[imp->src[c]];
		}
		buf = ss_arena_alloc(&k->arena, in_len + 1, SS_ARENA_BLOCK);
		if (buf == NULL)
			return SS_ERR_NOMEM;
		rc = ss_cell_normalize_into(&s->cols[c], req->conn->srv->divisions, in, in_len, buf,
					    &st->values[c], &st->lens[c], &abolished, &e);
		if (rc == SS_ERR_BAD_REQUEST) {
			if (ss_import_error(k, row->line, s->cols[c].name, in, in_len, e.en,
					    e.zh) != 0)
				return SS_ERR_NOMEM;
			bad++;
		} else if (rc != 0) {
			return rc;
		}
		/* A single key is known early: its slot in the set of ids seen
		 * (a cache miss, in a table of a million) is fetched while the
		 * other cells are checked. */
		if (c == s->key_col && rc == 0 && bad == 0 && s->key_col2 == SS_NO_COL &&
		    st->values[c] != NULL) {
			h = ss_idset_hash(&imp->seen, st->values[c], st->lens[c]);
			ss_idset_prefetch(&imp->seen, h);
		}
	}
	if (bad == 0) {
		uint64_t first = 0;
		int seen;

		if (ss_import_record_id(k, st) != 0)
			return SS_ERR_NOMEM;
		if (h == 0)
			h = ss_idset_hash(&imp->seen, st->rid, st->rid_len);
		seen = ss_idset_add_hash(&imp->seen, h, row->line, &first);
		if (seen < 0)
			return SS_ERR_NOMEM;
		if (seen == 1) {
			char en[200], zh[200];

			snprintf(en, sizeof(en), "record %s appears again (first on line %llu)",
				 st->rid, (unsigned long long)first);
			snprintf(zh, sizeof(zh), "记录 %s 重复出现（首次出现在第 %llu 行）", st->rid,
				 (unsigned long long)first);
			if (ss_import_error(k, row->line, s->cols[s->key_col].name, st->rid,
					    st->rid_len, en, zh) != 0)
				return SS_ERR_NOMEM;
			bad++;
		}
	}
	if (bad == 0 && s->division_col != SS_NO_COL && imp->scope[0] != '\0' &&
	    strncmp(st->values[s->division_col], imp->scope, strlen(imp->scope)) != 0) {
		const char *div = st->values[s->division_col];
		char en[200], zh[200];

		snprintf(en, sizeof(en), "division %s is outside your jurisdiction (%s)", div,
			 req->conn->principal.jurisdiction);
		snprintf(zh, sizeof(zh), "行政区划 %s 不在您的管辖范围（%s）内", div,
			 req->conn->principal.jurisdiction);
		if (ss_import_error(k, row->line, s->cols[s->division_col].name, div,
				    st->lens[s->division_col], en, zh) != 0)
			return SS_ERR_NOMEM;
		bad++;
	}
	return bad;
}

static void ss_import_chunk_stored(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import_chunk *k = req->work;

	k->imp->chunks_in_flight--;
	if (err != 0) {
		/* The transaction is lost: the import can only fail now. */
		k->imp->errors++;
		ss_request_fail_db(req, err, res);
		return;
	}
	ss_import_chunk_reply(req);
}

static int ss_staged_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ss_staged *)a)->rid, ((const struct ss_staged *)b)->rid);
}

/* Lower-case hex of a SHA-256 (a public digest: no need for constant time). */
static void ss_import_hex(const unsigned char md[32], char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

/* Appends one version row: record id, version, values, digest, who, why, import. */
static int ss_import_copy_row(struct ss_import *imp, const struct ss_staged *st, uint32_t version,
			      const char *actor, char **buf, size_t *len, size_t *cap)
{
	const struct ss_dirschema *s = imp->schema;
	const char *fields[2 + 64 + 4];
	size_t lens[2 + 64 + 4];
	char ver[16], digest[2 + 65];
	size_t i;

	if (version == 1)
		memcpy(ver, "1", 2);
	else
		snprintf(ver, sizeof(ver), "%u", version);
	digest[0] = '\\';
	digest[1] = 'x';
	memcpy(digest + 2, st->digest, 65);
	fields[0] = st->rid;
	lens[0] = st->rid_len;
	fields[1] = ver;
	lens[1] = version == 1 ? 1 : strlen(ver);
	for (i = 0; i < s->ncols; i++) {
		fields[2 + i] = st->values[i];
		lens[2 + i] = st->lens[i];
	}
	fields[2 + s->ncols] = digest;
	lens[2 + s->ncols] = 2 + 64;
	fields[3 + s->ncols] = actor;
	lens[3 + s->ncols] = actor == imp->actor ? imp->actor_len : strlen(actor);
	fields[4 + s->ncols] = imp->reason;
	lens[4 + s->ncols] = imp->reason_len;
	fields[5 + s->ncols] = imp->id_text;
	lens[5 + s->ncols] = imp->id_text_len;
	return ss_copy_append_len(buf, len, cap, fields, lens, 6 + s->ncols);
}

/*
 * Fills the columns the file left out from the record's current version
 * (row r of res), copied into the chunk's arena.
 */
static int ss_import_keep_current(struct ss_import_chunk *k, struct ss_staged *st, PGresult *res,
				  int r)
{
	struct ss_import *imp = k->imp;
	const struct ss_dirschema *s = imp->schema;
	unsigned char md[32];
	size_t i;
	int col = 4;

	for (i = 0; i < s->ncols; i++) {
		if (imp->src[i] >= 0)
			continue;
		st->values[i] = NULL;
		st->lens[i] = 0;
		if (!PQgetisnull(res, r, col)) {
			size_t n = (size_t)PQgetlength(res, r, col);
			char *v = ss_arena_alloc(&k->arena, n + 1, SS_ARENA_BLOCK);

			if (v == NULL)
				return SS_ERR_NOMEM;
			memcpy(v, PQgetvalue(res, r, col), n + 1);
			st->values[i] = v;
			st->lens[i] = n;
		}
		col++;
	}
	ss_record_digest_len(s, st->values, st->lens, md);
	ss_import_hex(md, st->digest);
	return 0;
}

static void ss_import_looked_up(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import_chunk *k = req->work;
	struct ss_import *imp = k->imp;
	char *buf = NULL;
	size_t len = 0, cap = 0, i;
	int r = 0, n, rc = 0;

	if (err != 0) {
		imp->chunks_in_flight--;
		imp->errors++;
		ss_request_fail_db(req, err, res);
		return;
	}
	n = PQntuples(res);
	/* Both sides in record-id order (the query's ORDER BY, and this sort);
	 * when none of the records exists yet there is nothing to merge. */
	if (n > 0)
		qsort(k->rows, k->nrows, sizeof(*k->rows), ss_staged_cmp);
	for (i = 0; i < k->nrows && rc == 0; i++) {
		struct ss_staged *st = &k->rows[i];
		uint32_t version = 1;

		while (r < n && strcmp(PQgetvalue(res, r, 0), st->rid) < 0)
			r++;
		if (r < n && strcmp(PQgetvalue(res, r, 0), st->rid) == 0) {
			const char *div = PQgetvalue(res, r, 3);

			if (imp->scope[0] != '\0' && !PQgetisnull(res, r, 3) &&
			    strncmp(div, imp->scope, strlen(imp->scope)) != 0) {
				char en[200], zh[200];

				snprintf(en, sizeof(en),
					 "the existing record belongs to division %s, outside your "
					 "jurisdiction",
					 div);
				snprintf(zh, sizeof(zh),
					 "名录中已有的该记录属于行政区划 %s，不在您的管辖范围内", div);
				rc = ss_import_error(k, st->line,
						     imp->schema->cols[imp->schema->key_col].name,
						     st->rid, st->rid_len, en, zh);
				imp->errors++;
				k->accepted--;
				continue;
			}
			if (imp->keeps_columns && ss_import_keep_current(k, st, res, r) != 0) {
				rc = SS_ERR_NOMEM;
				break;
			}
			if (strcmp(PQgetvalue(res, r, 2), st->digest) == 0) {
				imp->unchanged++;
				continue;
			}
			version = (uint32_t)strtoul(PQgetvalue(res, r, 1), NULL, 10) + 1;
			imp->changed++;
		} else {
			imp->new_records++;
		}
		if (!imp->dry_run && imp->errors == 0)
			rc = ss_import_copy_row(imp, st, version, imp->actor, &buf, &len,
						&cap);
	}
	if (rc != 0) {
		free(buf);
		imp->chunks_in_flight--;
		imp->errors++;
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	/* Once anything is wrong the import will roll back: nothing more to write. */
	if (len == 0 || imp->dry_run || imp->errors > 0) {
		free(buf);
		imp->chunks_in_flight--;
		ss_import_chunk_reply(req);
		return;
	}
	if (ss_pgpool_copy(imp->session, imp->copy_sql, buf, len, ss_import_chunk_stored, req) != 0) {
		imp->chunks_in_flight--;
		imp->errors++;
		ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
	}
}


/* Builds the text[] literal of the chunk's record ids (ids hold no quotes or backslashes). */
static char *ss_import_id_array(const struct ss_import_chunk *k)
{
	size_t i, n = 3;
	char *a, *p;

	for (i = 0; i < k->nrows; i++)
		n += k->rows[i].rid_len + 3;
	a = malloc(n);
	if (a == NULL)
		return NULL;
	p = a;
	*p++ = '{';
	for (i = 0; i < k->nrows; i++) {
		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		memcpy(p, k->rows[i].rid, k->rows[i].rid_len);
		p += k->rows[i].rid_len;
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return a;
}

/*
 * Reads the next packed row at *p into row: its cells point into the field
 * itself (with their lengths; error reports copy what they echo).  A NUL
 * byte inside a cell is refused, as the text could not be told from a
 * shorter one.  Returns 0 or SS_ERR_BAD_REQUEST.
 */
static int ss_import_packed_line(const struct ss_import *imp, const uint8_t **p,
				 const uint8_t *end, struct ss_import_line *row)
{
	const uint8_t *cell;
	size_t n, i, len;

	if (ss_packed_row_head(p, end, &row->line, &n) != 0)
		return SS_ERR_BAD_REQUEST;
	row->n = n < imp->nheader ? n : imp->nheader;
	row->extra = NULL;
	for (i = 0; i < n; i++) {
		if (ss_packed_cell(p, end, &cell, &len) != 0 || memchr(cell, '\0', len) != NULL)
			return SS_ERR_BAD_REQUEST;
		if (i < row->n) {
			row->cell[i] = (const char *)cell;
			row->len[i] = len;
		} else if (row->extra == NULL && len > 0) {
			row->extra = (const char *)cell;
			row->extra_len = len;
		}
	}
	return 0;
}

/* The same for a row sent as an ImportRow message. */
static void ss_import_message_line(const struct ss_import *imp, const Shuangsui__V1__ImportRow *in,
				   struct ss_import_line *row)
{
	size_t i;

	row->line = in->line;
	row->n = in->n_cells < imp->nheader ? in->n_cells : imp->nheader;
	row->extra = NULL;
	for (i = 0; i < row->n; i++) {
		row->cell[i] = in->cells[i];
		row->len[i] = strlen(in->cells[i]);
	}
	for (; i < in->n_cells && row->extra == NULL; i++)
		if (in->cells[i][0] != '\0') {
			row->extra = in->cells[i];
			row->extra_len = strlen(in->cells[i]);
		}
}

/*
 * Runs on a worker thread: validates the chunk's rows into k->rows and, if
 * the directory was empty at the start, builds their COPY data as well.
 * Touches only k, the import's set of ids seen, and read-only state.
 */
static void ss_import_chunk_validate(uv_work_t *w)
{
	struct ss_import_chunk *k = w->data;
	struct ss_request *req = k->req;
	struct ss_import *imp = k->imp;
	const Shuangsui__V1__ImportChunk *ch = req->env->import_chunk;
	const uint8_t *p = ch->packed_rows.data, *end = p + ch->packed_rows.len;
	size_t ncols = imp->schema->ncols, r, i;
	struct ss_import_line *row = malloc(sizeof(*row));
	int rc = 0;

	/* Every normalized cell is at most its input and a NUL: one block for
	 * the chunk (its cells' length prefixes pay for the NULs of all but
	 * columns missing from a row). */
	k->values = malloc((k->nin + 1) * ncols * sizeof(*k->values));
	k->lens = malloc((k->nin + 1) * ncols * sizeof(*k->lens));
	if (row == NULL || k->values == NULL || k->lens == NULL ||
	    ss_arena_alloc(&k->arena, 0, ch->packed_rows.len + k->nin * (ncols + 1) + 4096) ==
		    NULL)
		rc = SS_ERR_NOMEM;
	for (r = 0; r < k->nin && rc >= 0; r++) {
		struct ss_staged *st = &k->rows[k->nrows];
		unsigned char md[32];

		if (ch->n_rows > 0)
			ss_import_message_line(imp, ch->rows[r], row);
		else if ((rc = ss_import_packed_line(imp, &p, end, row)) != 0)
			break;
		st->values = k->values + k->nrows * ncols;
		st->lens = k->lens + k->nrows * ncols;
		rc = ss_import_row(req, k, row, st);
		if (rc == 0) {
			st->line = row->line;
			ss_record_digest_len(imp->schema, st->values, st->lens, md);
			ss_import_hex(md, st->digest);
			k->nrows++;
			k->accepted++;
			continue;
		}
		if (rc > 0)
			k->bad += (uint64_t)rc;
		st->values = NULL;
		st->lens = NULL;
		st->rid = NULL;
	}
	free(row);
	if (rc >= 0)
		rc = 0;
	/* Every row new, at version 1: the COPY data need no lookup first. */
	if (rc == 0 && imp->was_empty && !imp->dry_run && k->bad == 0) {
		/* Sized once for the whole chunk: escapes are rare. */
		k->copy_cap = ch->packed_rows.len + k->nrows * (ncols + 2 * 64 + 160) + 65536;
		k->copy = malloc(k->copy_cap);
		if (k->copy == NULL)
			k->copy_cap = 0;
		for (i = 0; i < k->nrows && rc == 0; i++)
			rc = ss_import_copy_row(imp, &k->rows[i], 1, imp->actor,
						&k->copy, &k->copy_len, &k->copy_cap);
	}
	/* Copied, and no lookup follows: the values go now, freed by the
	 * thread that allocated them (glibc frees another thread's blocks
	 * more slowly, and on the loop thread). */
	if (imp->was_empty) {
		ss_arena_free(&k->arena);
		free(k->values);
		free(k->lens);
		k->values = NULL;
		k->lens = NULL;
		for (i = 0; i < k->nrows; i++) {
			k->rows[i].values = NULL;
			k->rows[i].rid = NULL;
		}
	}
	k->rc = rc;
}

static void ss_import_chunk_validated(uv_work_t *w, int status);

/* Hands the next waiting chunk, if any, to a worker thread. */
static void ss_import_validate_next(struct ss_import *imp)
{
	struct ss_import_chunk *k = imp->waiting;

	if (imp->validating || k == NULL)
		return;
	imp->waiting = k->next;
	if (imp->waiting == NULL)
		imp->waiting_tail = NULL;
	k->next = NULL;
	k->work.data = k;
	imp->validating = 1;
	if (uv_queue_work(imp->srv->loop, &k->work, ss_import_chunk_validate,
			  ss_import_chunk_validated) != 0) {
		k->rc = SS_ERR_INTERNAL;
		ss_import_chunk_validated(&k->work, 0);
	}
}

/* Back on the loop thread: look the records up, or COPY them straight away. */
static void ss_import_chunk_validated(uv_work_t *w, int status)
{
	struct ss_import_chunk *k = w->data;
	struct ss_request *req = k->req;
	struct ss_import *imp = k->imp;
	char *ids, *copy;
	size_t len;
	int rc;

	imp->validating = 0;
	ss_import_validate_next(imp);
	imp->errors += k->bad;
	if (k->rc == SS_ERR_BAD_REQUEST) {
		imp->chunks_in_flight--;
		imp->errors++;
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_chunk.packed_rows",
				"a packed cell holds a NUL byte; this import can no longer apply",
				"packed_rows 中有单元格含 NUL 字节；本次导入已不能生效");
		return;
	}
	if (k->rc != 0 || status != 0) {
		imp->chunks_in_flight--;
		imp->errors++; /* a chunk not fully processed: the import cannot apply */
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	if (k->nrows == 0) {
		imp->chunks_in_flight--;
		ss_import_chunk_reply(req);
		return;
	}
	if (imp->was_empty) {
		imp->new_records += k->nrows;
		copy = k->copy;
		len = k->copy_len;
		k->copy = NULL;
		/* Once anything is wrong the import will roll back: nothing more to write. */
		if (len == 0 || imp->dry_run || imp->errors > 0) {
			free(copy);
			imp->chunks_in_flight--;
			ss_import_chunk_reply(req);
			return;
		}
		if (ss_pgpool_copy(imp->session, imp->copy_sql, copy, len, ss_import_chunk_stored,
				   req) != 0) {
			imp->chunks_in_flight--;
			imp->errors++;
			ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
		}
		return;
	}
	ids = ss_import_id_array(k);
	if (ids == NULL) {
		imp->chunks_in_flight--;
		imp->errors++;
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	rc = ss_pgpool_query(imp->session, imp->lookup_sql, 1, (const char *const *)&ids,
			     ss_import_looked_up, req);
	free(ids);
	if (rc != 0) {
		imp->chunks_in_flight--;
		imp->errors++;
		ss_request_fail(req, rc, NULL, NULL, NULL);
	}
}

void ss_handle_import_chunk(struct ss_request *req)
{
	const Shuangsui__V1__ImportChunk *ch = req->env->import_chunk;
	struct ss_import *imp = req->conn->import;
	struct ss_import_chunk *k;
	size_t nrows = ch->n_rows, ncells = 0;

	if (imp == NULL || imp->id != ch->import_id || imp->committing) {
		ss_import_refuse_no_import(req, "import_chunk.import_id");
		return;
	}
	/* Every chunk, in order, or the import cannot apply: a chunk refused
	 * for any reason leaves a gap that the next one reveals. */
	if (ch->seq != imp->next_seq) {
		imp->errors++;
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_chunk.seq",
				"chunks must be numbered 0, 1, 2, ... without gaps; this import can no "
				"longer apply",
				"数据块须按 0、1、2……连续编号；本次导入已不能生效");
		return;
	}
	imp->next_seq++;
	/* The rows come in one form or the other, never both. */
	if (ch->packed_rows.len > 0 &&
	    (ch->n_rows > 0 ||
	     ss_packed_count(ch->packed_rows.data, ch->packed_rows.len, &nrows, &ncells) != 0)) {
		imp->errors++;
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_chunk.packed_rows",
				"packed_rows does not hold whole rows, or rows came as well; this "
				"import can no longer apply",
				"packed_rows 行不完整或与 rows 同发；本次导入已不能生效");
		return;
	}
	if (nrows > SS_IMPORT_MAX_ROWS_PER_CHUNK || imp->rows + nrows > SS_IMPORT_MAX_ROWS) {
		imp->errors++;
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "import_chunk.rows",
				"at most 20000 rows per chunk and 8388608 rows per import (split the file)",
				"每块最多 20000 行，每次导入最多 8388608 行（请拆分文件）");
		return;
	}
	k = ss_import_chunk_new(imp, nrows);
	if (k == NULL) {
		imp->errors++;
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	req->work = k;
	req->work_free = ss_import_chunk_free;
	k->req = req;
	k->nin = nrows;
	imp->rows += nrows;
	/* In flight from here: commit waits for its reply. */
	imp->chunks_in_flight++;
	if (imp->waiting_tail != NULL)
		imp->waiting_tail->next = k;
	else
		imp->waiting = k;
	imp->waiting_tail = k;
	ss_import_validate_next(imp);
}

/* ---- commit ---- */

static void ss_import_report(struct ss_request *req, struct ss_import *imp, int applied)
{
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__ImportReport rep = SHUANGSUI__V1__IMPORT_REPORT__INIT;

	ss_info("import %llu (%s): %llu rows received in %.2f s, %s in %.2f s",
		(unsigned long long)imp->id, imp->schema->name, (unsigned long long)imp->rows,
		(double)(imp->commit_ms - imp->began_ms) / 1000.0,
		applied ? "committed" : "rolled back",
		(double)(uv_now(imp->srv->loop) - imp->commit_ms) / 1000.0);
	rep.import_id = imp->id;
	rep.rows = imp->rows;
	rep.new_records = imp->new_records;
	rep.changed_records = imp->changed;
	rep.unchanged_records = imp->unchanged;
	rep.error_count = imp->errors;
	rep.applied = applied;
	rep.dry_run = imp->dry_run;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_REPORT;
	reply.import_report = &rep;
	ss_request_reply(req, &reply);
}

/* The import has ended, one way or the other: it leaves the connection. */
static struct ss_import *ss_import_detach(struct ss_request *req)
{
	struct ss_import *imp = req->conn->import;

	req->conn->import = NULL;
	req->work = imp;
	req->work_free = ss_import_begin_free; /* frees it (and closes its session) */
	return imp;
}

/* COMMIT done, or the refusal recorded: the import's report. */
static void ss_import_ended(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import *imp = req->work;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	ss_import_report(req, imp, imp->applying);
}

static void ss_import_finished(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import *imp = req->work;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	if (ss_pgpool_query(imp->session, "COMMIT", 0, NULL, ss_import_ended, req) != 0)
		ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

static void ss_import_rolled_back(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_import *imp = req->work;
	char id[24], rows[24], nnew[24], nchanged[24], nerr[24];
	const char *params[7] = {id, req->conn->principal.id, req->sha256, rows, nnew, nchanged,
				 nerr};

	/* Even if ROLLBACK failed, the transaction is gone with its connection. */
	(void)err;
	(void)res;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)imp->id);
	snprintf(rows, sizeof(rows), "%llu", (unsigned long long)imp->rows);
	snprintf(nnew, sizeof(nnew), "%llu", (unsigned long long)imp->new_records);
	snprintf(nchanged, sizeof(nchanged), "%llu", (unsigned long long)imp->changed);
	snprintf(nerr, sizeof(nerr), "%llu", (unsigned long long)imp->errors);
	ss_request_query(req,
			 "SELECT import_fail($1::bigint, $2, $3, $4::bigint, $5::bigint, $6::bigint, "
			 "$7::bigint)",
			 7, params, ss_import_ended);
}

void ss_handle_import_commit(struct ss_request *req)
{
	const Shuangsui__V1__ImportCommit *ic = req->env->import_commit;
	struct ss_import *imp = req->conn->import;
	char id[24], rows[24], nnew[24], nchanged[24];
	const char *params[6] = {id, NULL, NULL, rows, nnew, nchanged};

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
	req->op = (enum ss_op)ss_op_parse(imp->schema->write_op);
	/* The client says what it sent; anything missing means no apply. */
	if (ic->chunks != imp->next_seq || ic->rows != imp->rows) {
		ss_warn("import %llu: client sent %u chunk(s) of %llu rows, server received %u of %llu",
			(unsigned long long)imp->id, ic->chunks, (unsigned long long)ic->rows,
			imp->next_seq, (unsigned long long)imp->rows);
		imp->errors++;
	}
	imp->committing = 1;
	imp->commit_ms = uv_now(imp->srv->loop);
	ss_import_detach(req);
	if (imp->errors > 0 || imp->dry_run) {
		if (ss_pgpool_query(imp->session, "ROLLBACK", 0, NULL, ss_import_rolled_back,
				    req) != 0)
			ss_import_rolled_back(req, SS_ERR_DATABASE_UNAVAILABLE, NULL);
		return;
	}
	imp->applying = 1;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)imp->id);
	snprintf(rows, sizeof(rows), "%llu", (unsigned long long)imp->rows);
	snprintf(nnew, sizeof(nnew), "%llu", (unsigned long long)imp->new_records);
	snprintf(nchanged, sizeof(nchanged), "%llu", (unsigned long long)imp->changed);
	params[1] = req->conn->principal.id;
	params[2] = req->sha256;
	if (ss_pgpool_query(imp->session,
			    "SELECT import_finish($1::bigint, $2, $3, $4::bigint, $5::bigint, "
			    "$6::bigint)",
			    6, params, ss_import_finished, req) != 0)
		ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}
