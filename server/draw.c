/*
 * draw.c — the randomness service (随机抽取服务), issue 5: one queue for
 * every act that appends to the draw log (open, witness, waiver, draw,
 * void, recusal), the log itself (an RFC 9162 tree kept in memory, signed
 * checkpoints stored with each leaf), receipts, and the log's read side.
 *
 * An act runs as: statements that read what it needs → a worker thread
 * (uv_queue_work) that computes, encodes and signs the record and the
 * checkpoint of the tree with it appended → one SQL function that stores
 * the leaf, the checkpoint, the state change, the audit event and the
 * idempotency record in one transaction → the leaf joins the tree in
 * memory → the reply.  Acts run one at a time, in arrival order, so each
 * knows the next leaf number; the database checks it again.
 *
 * The algorithm and formats are common/draw.h, common/record.h,
 * common/receipt.h (docs/draw-spec.md, docs/receipt.md).
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "draw.h"
#include "plandoc.h"
#include "population.h"
#include "rectext.h"
#include "merkle.h"
#include "note.h"
#include "receipt.h"
#include "record.h"
#include "server.h"
#include "signature.h"
#include "snapstore.h"
#include "ss_error.h"
#include "ss_log.h"
#include "validate.h"

enum ss_act {
	SS_ACT_OPEN,
	SS_ACT_WITNESS,
	SS_ACT_WAIVE,
	SS_ACT_RUN,
	SS_ACT_VOID,
	SS_ACT_RECUSE,
};

struct ss_job {
	struct ss_request *req;
	enum ss_act act;
	struct ss_job *next;
	const char *task; /* in req's envelope */
	char prefix[8];   /* the jurisdiction the caller may act in */
	/* Read before the worker runs (owned; PQclear'd at the end). */
	PGresult *res[4];
	/* Computed by the worker. */
	int err;
	char err_field[64], err_en[768], err_zh[768];
	uint8_t *rec;
	size_t rec_len;
	uint8_t sig[SS_SIG_LEN];
	uint8_t leaf[32], root[32];
	char *note;
	uint64_t idx;
	/* Act results for the commit and the reply. */
	uint8_t r[SS_DRAW_R_LEN];
	char **snap_names, **snap_data;
	size_t *snap_len; /* of each snap_data, NUL not counted */
	uint8_t (*snap_digests)[32];
	size_t n_snaps;
	/* open: snap_data packed (snapstore.h) and concatenated (a bytea
	 * parameter), and the frames' lengths (a binary integer[] parameter) */
	uint8_t *snap_cat, *snap_lens;
	size_t snap_cat_len, snap_lens_len;
	/* draw: the locked list, binary text[] and integer[] parameters */
	uint8_t *objects, *strata;
	size_t objects_len, strata_len;
	uint64_t drawn, shortfall;
	const char *replacement;
	char *replacement_copy;
	int task_version;
	char *witnesses;        /* open: SQL array literal of the expected witnesses */
	uv_work_t work;
	int64_t t_begin, t_work, t_worked, t_commit; /* ms, for the log line */
	int have_leaf; /* leaf holds the hash of the record the reply names */
};

struct ss_drawsvc {
	struct ss_server *srv;
	struct ss_key *key;
	char *origin;
	uint8_t (*leaves)[32]; /* the log's leaf hashes, recomputed from the stored records */
	size_t n, cap;
	char *note;   /* the signed checkpoint of size n (NULL when n is 0) */
	char *broken; /* why the stored log cannot be trusted, or NULL */
	/* A commit whose outcome is unknown (the connection failed while it ran):
	 * its leaf and checkpoint, settled by counting the stored leaves before
	 * the next act. */
	int uncertain;
	uint8_t pending_leaf[32];
	char *pending_note;
	struct ss_job *head, *tail;
	int busy;
	/* The snapshots of the last draw opened, kept for its run (which
	 * otherwise reads them back from the database). */
	char *sc_task;
	char **sc_data;
	size_t *sc_len;
	uint8_t (*sc_digests)[32];
	size_t sc_n;
	/* The last receipt built: a receipt is fetched in pieces. */
	char *rc_task;
	uint8_t *rc_data;
	size_t rc_len;
	uint8_t rc_sha[32];
};

/* ---- small helpers ---- */

static int ss_job_fail(struct ss_job *j, int err, const char *field, const char *en, const char *zh)
{
	j->err = err;
	snprintf(j->err_field, sizeof(j->err_field), "%s", field ? field : "");
	snprintf(j->err_en, sizeof(j->err_en), "%s", en ? en : "");
	snprintf(j->err_zh, sizeof(j->err_zh), "%s", zh ? zh : "");
	return err;
}

/* "\x" + hex: a bytea parameter in text format.  malloc'd. */
static char *ss_bytea_param(const uint8_t *data, size_t len)
{
	char *s = malloc(2 * len + 3);

	if (s == NULL)
		return NULL;
	s[0] = '\\';
	s[1] = 'x';
	sodium_bin2hex(s + 2, 2 * len + 1, data, len);
	return s;
}

/* The bytes of a bytea column (text format); malloc'd, or NULL. */
static uint8_t *ss_bytea_get(PGresult *res, int row, int col, size_t *len)
{
	unsigned char *u = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), len);
	uint8_t *copy;

	if (u == NULL)
		return NULL;
	copy = malloc(*len ? *len : 1);
	if (copy != NULL)
		memcpy(copy, u, *len);
	PQfreemem(u);
	return copy;
}

/* Appends s to a SQL array literal being built in b, quoted. */
static void ss_array_put(struct ss_buf *b, const char *s)
{
	ss_buf_putc(b, b->len > 0 ? ',' : '{');
	ss_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			ss_buf_putc(b, '\\');
		ss_buf_putc(b, *s);
	}
	ss_buf_putc(b, '"');
}

static char *ss_array_take(struct ss_buf *b)
{
	uint8_t *out;
	size_t len;

	if (b->len == 0)
		ss_buf_putc(b, '{');
	ss_buf_putc(b, '}');
	if (ss_buf_take(b, &out, &len) != 0)
		return NULL;
	return (char *)out;
}

/* ---- the log in memory ---- */

static int ss_log_push(struct ss_drawsvc *d, const uint8_t leaf[32])
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;
		void *p = realloc(d->leaves, cap * sizeof(*d->leaves));

		if (p == NULL)
			return SS_ERR_NOMEM;
		d->leaves = p;
		d->cap = cap;
	}
	memcpy(d->leaves[d->n++], leaf, 32);
	return 0;
}

/* Signs the checkpoint of the tree with leaf appended (worker thread). */
static int ss_log_seal(struct ss_drawsvc *d, struct ss_job *j)
{
	uint8_t (*tmp)[32];
	char *body = NULL;
	size_t body_len, note_len;
	int rc;

	ss_record_leaf_hash(j->rec, j->rec_len, j->leaf);
	rc = ss_record_sign(d->key, j->rec, j->rec_len, j->sig);
	if (rc != 0)
		return rc;
	tmp = malloc((d->n + 1) * sizeof(*tmp));
	if (tmp == NULL)
		return SS_ERR_NOMEM;
	if (d->n)
		memcpy(tmp, d->leaves, d->n * sizeof(*tmp));
	memcpy(tmp[d->n], j->leaf, 32);
	ss_merkle_root((const uint8_t(*)[32])tmp, d->n + 1, j->root);
	free(tmp);
	j->idx = d->n;
	rc = ss_checkpoint_format(d->origin, d->n + 1, j->root, &body, &body_len);
	if (rc == 0)
		rc = ss_note_sign(body, body_len, d->origin, d->key, &j->note, &note_len);
	free(body);
	return rc;
}

/*
 * Reads the stored log (before the event loop runs: blocking libpq is
 * allowed there), recomputes every leaf hash from the record bytes and
 * checks the tree against the last signed checkpoint.  A mismatch does not
 * stop the server: the log is marked broken, every act is refused, and the
 * mismatch is logged — clients' consistency checks then fail loudly.
 */
static int ss_log_load(struct ss_drawsvc *d, const char *conninfo)
{
	PGconn *pg = PQconnectdb(conninfo);
	PGresult *res = NULL;
	char why[256] = "";
	uint8_t root[32], pk[SS_SIG_PUBLIC_KEY_LEN];
	int i, rc = 0;

	if (PQstatus(pg) != CONNECTION_OK) {
		ss_error("draw log: cannot connect: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return SS_ERR_DATABASE_UNAVAILABLE;
	}
	res = PQexecParams(pg, "SELECT idx, record, signature FROM log_leaves ORDER BY idx", 0, NULL,
			   NULL, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ss_error("draw log: %s", PQerrorMessage(pg));
		rc = SS_ERR_DATABASE_UNAVAILABLE;
		goto out;
	}
	/* The key that signed leaf 0: the old key of the first rotation, or
	 * the configured key when the log never rotated. */
	memcpy(pk, ss_key_public(d->key), sizeof(pk));
	for (i = 0; i < PQntuples(res); i++) {
		struct ss_record *r = NULL;
		const uint8_t *rec = (const uint8_t *)PQgetvalue(res, i, 1);
		size_t len = (size_t)PQgetlength(res, i, 1);

		if (ss_record_peek_type(rec, len) != SS_REC_KEY_ROTATION)
			continue;
		if (ss_record_parse(rec, len, &r) == 0)
			memcpy(pk, r->old_key, sizeof(pk));
		ss_record_free(r);
		break;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const uint8_t *rec = (const uint8_t *)PQgetvalue(res, i, 1);
		const uint8_t *sig = (const uint8_t *)PQgetvalue(res, i, 2);
		size_t len = (size_t)PQgetlength(res, i, 1), sig_len = (size_t)PQgetlength(res, i, 2);
		uint8_t leaf[32], next[SS_SIG_PUBLIC_KEY_LEN];
		uint64_t idx = 0;
		int k;

		for (k = 0; k < 8; k++)
			idx = idx << 8 | (uint8_t)PQgetvalue(res, i, 0)[k];
		if (idx != (uint64_t)i && why[0] == '\0')
			snprintf(why, sizeof(why), "leaf %d is missing", i);
		if (why[0] == '\0') {
			if (ss_record_peek_type(rec, len) == SS_REC_KEY_ROTATION) {
				if (ss_record_verify_rotation(pk, rec, len, sig, sig_len, next) != 0)
					snprintf(why, sizeof(why),
						 "leaf %d: the key rotation is not signed by the key it "
						 "replaces and the new key",
						 i);
				else
					memcpy(pk, next, sizeof(pk));
			} else if (ss_record_verify(pk, rec, len, sig, sig_len) != 0) {
				snprintf(why, sizeof(why), "leaf %d: the signature does not verify", i);
			}
		}
		ss_record_leaf_hash(rec, len, leaf);
		if (ss_log_push(d, leaf) != 0) {
			rc = SS_ERR_NOMEM;
			goto out;
		}
	}
	if (why[0] == '\0' && memcmp(pk, ss_key_public(d->key), sizeof(pk)) != 0)
		snprintf(why, sizeof(why),
			 "draw.key_file is not the log's current key (a rotation names another)");
	PQclear(res);
	res = PQexec(pg, "SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = SS_ERR_DATABASE_UNAVAILABLE;
		goto out;
	}
	if (PQntuples(res) == 1) {
		struct ss_note *note = NULL;
		struct ss_checkpoint cp;
		uint64_t size = strtoull(PQgetvalue(res, 0, 0), NULL, 10);

		d->note = strdup(PQgetvalue(res, 0, 1));
		if (d->note == NULL) {
			rc = SS_ERR_NOMEM;
			goto out;
		}
		if (ss_note_parse(d->note, strlen(d->note), &note) != 0 ||
		    ss_checkpoint_parse(note->text, note->text_len, &cp) != 0) {
			if (why[0] == '\0')
				snprintf(why, sizeof(why), "the last checkpoint cannot be read");
		} else if (why[0] == '\0') {
			if (size != d->n || cp.size != d->n)
				snprintf(why, sizeof(why),
					 "the last checkpoint is for %" PRIu64 " leaves, the log has %zu",
					 cp.size, d->n);
			struct ss_note_verifier v;

			memset(&v, 0, sizeof(v));
			snprintf(v.name, sizeof(v.name), "%.*s", (int)cp.origin_len, cp.origin);
			ss_note_key_hash(v.name, pk, v.key_hash);
			memcpy(v.public_key, pk, sizeof(pk));
			if (why[0] == '\0' && (strcmp(v.name, d->origin) != 0 || ss_note_verify(note, &v) != 0))
				snprintf(why, sizeof(why),
					 "the last checkpoint is not signed by the log's key for %s",
					 d->origin);
			ss_merkle_root((const uint8_t(*)[32])d->leaves, d->n, root);
			if (why[0] == '\0' && memcmp(root, cp.root, 32) != 0)
				snprintf(why, sizeof(why),
					 "the stored records do not give the signed root of %zu leaves: "
					 "a record was changed",
					 d->n);
		}
		ss_note_free(note);
	} else if (d->n != 0 && why[0] == '\0') {
		snprintf(why, sizeof(why), "%zu leaves but no checkpoint", d->n);
	}
	if (why[0] != '\0') {
		d->broken = strdup(why);
		ss_error("DRAW LOG INTEGRITY FAILURE: %s; the randomness service refuses every act "
			 "until this is investigated",
			 why);
	} else {
		ss_info("draw log: %zu leaves, root matches the signed checkpoint", d->n);
	}
out:
	PQclear(res);
	PQfinish(pg);
	return rc;
}

static void ss_snap_cache_drop(struct ss_drawsvc *d)
{
	size_t i;

	for (i = 0; i < d->sc_n; i++)
		free(d->sc_data[i]);
	free(d->sc_data);
	free(d->sc_len);
	free(d->sc_digests);
	free(d->sc_task);
	d->sc_data = NULL;
	d->sc_len = NULL;
	d->sc_digests = NULL;
	d->sc_task = NULL;
	d->sc_n = 0;
}

int ss_draws_start(struct ss_server *srv)
{
	struct ss_drawsvc *d = calloc(1, sizeof(*d));
	int rc;

	if (d == NULL)
		return SS_ERR_NOMEM;
	d->srv = srv;
	srv->draws = d;
	d->origin = strdup(srv->cfg->draw_log_origin);
	if (d->origin == NULL)
		return SS_ERR_NOMEM;
	if (srv->cfg->draw_key_file == NULL) {
		ss_warn("draw.key_file is not set: the randomness service is off (create a key with "
			"\"shuangsuid keygen FILE\")");
		return 0;
	}
	rc = ss_key_load(srv->cfg->draw_key_file, &d->key);
	if (rc != 0) {
		ss_error("draw.key_file %s: %s", srv->cfg->draw_key_file, ss_err_str(rc));
		return SS_ERR_CONFIG;
	}
	{
		char pub[SS_SIG_PUBLIC_KEY_STR_LEN + 1];

		ss_key_public_string(d->key, pub);
		ss_info("draw log %s, key %s", d->origin, pub);
	}
	return ss_log_load(d, srv->cfg->db_conninfo);
}

void ss_draws_free(struct ss_server *srv)
{
	struct ss_drawsvc *d = srv->draws;

	if (d == NULL)
		return;
	ss_key_free(d->key);
	free(d->origin);
	free(d->leaves);
	free(d->note);
	free(d->broken);
	ss_snap_cache_drop(d);
	free(d->pending_note);
	free(d->rc_task);
	free(d->rc_data);
	free(d);
	srv->draws = NULL;
}

/* ---- the queue ---- */

static void ss_job_free(struct ss_job *j)
{
	size_t i;

	for (i = 0; i < 4; i++)
		PQclear(j->res[i]);
	free(j->rec);
	free(j->note);
	for (i = 0; i < j->n_snaps; i++) {
		free(j->snap_names ? j->snap_names[i] : NULL);
		free(j->snap_data ? j->snap_data[i] : NULL);
	}
	free(j->snap_names);
	free(j->snap_data);
	free(j->snap_len);
	free(j->snap_digests);
	free(j->snap_cat);
	free(j->snap_lens);
	free(j->objects);
	free(j->strata);
	free(j->witnesses);
	free(j->replacement_copy);
	free(j);
}

static void ss_queue_next(struct ss_drawsvc *d);
static void ss_act_begin(struct ss_job *j);

/* The act of j is over (answered): free it and start the next. */
static void ss_act_finish(struct ss_drawsvc *d, struct ss_job *j)
{
	ss_job_free(j);
	d->busy = 0;
	ss_queue_next(d);
}

static void ss_act_fail(struct ss_drawsvc *d, struct ss_job *j, int err, const char *field,
			const char *en, const char *zh)
{
	ss_request_fail(j->req, err, field, en, zh);
	ss_act_finish(d, j);
}

static void ss_act_fail_db(struct ss_drawsvc *d, struct ss_job *j, int err, PGresult *res)
{
	ss_request_fail_db(j->req, err, res);
	ss_act_finish(d, j);
}

static void ss_settled(void *arg, int err, PGresult *res)
{
	struct ss_drawsvc *d = arg;
	uint64_t n;

	d->busy = 0;
	if (err != 0) {
		ss_queue_next(d); /* still unknown: the next act tries again */
		return;
	}
	n = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	if (n == d->n + 1) {
		/* It was stored after all. */
		if (ss_log_push(d, d->pending_leaf) == 0) {
			free(d->note);
			d->note = d->pending_note;
			d->pending_note = NULL;
		}
	} else if (n != d->n) {
		free(d->broken);
		d->broken = strdup("the stored log has leaves this server did not write (was "
				   "rotate-key run while it was up?); restart the server");
		ss_error("DRAW LOG: %zu leaves in memory, %" PRIu64 " stored: %s", d->n, n,
			 d->broken ? d->broken : "");
	}
	d->uncertain = 0;
	free(d->pending_note);
	d->pending_note = NULL;
	ss_queue_next(d);
}

static void ss_queue_next(struct ss_drawsvc *d)
{
	struct ss_job *j = d->head;

	if (d->busy || j == NULL)
		return;
	if (d->uncertain) {
		d->busy = 1;
		if (ss_pgpool_query(d->srv->pool, "SELECT count(*) FROM log_leaves", 0, NULL,
				    ss_settled, d) != 0) {
			d->busy = 0;
			/* The database is away: the act fails at its first statement. */
		} else {
			return;
		}
	}
	d->head = j->next;
	if (d->head == NULL)
		d->tail = NULL;
	d->busy = 1;
	j->t_begin = ss_now_ms();
	ss_act_begin(j);
}

static struct ss_drawsvc *ss_service(struct ss_request *req)
{
	struct ss_drawsvc *d = req->conn->srv->draws;

	if (d == NULL || d->key == NULL) {
		ss_request_fail(req, SS_ERR_INTERNAL, NULL,
				"the randomness service has no signing key (draw.key_file)",
				"随机抽取服务未配置签名密钥（draw.key_file）");
		return NULL;
	}
	if (d->broken != NULL) {
		char en[400], zh[400];

		snprintf(en, sizeof(en), "the draw log failed its integrity check (%s); no draw is made",
			 d->broken);
		snprintf(zh, sizeof(zh), "抽取日志完整性校验失败（%s），暂停一切抽取操作", d->broken);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, en, zh);
		return NULL;
	}
	return d;
}

static void ss_enqueue(struct ss_request *req, enum ss_act act, const char *task)
{
	struct ss_drawsvc *d = ss_service(req);
	struct ss_job *j;

	if (d == NULL)
		return;
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		ss_request_fail(req, SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	j->req = req;
	j->act = act;
	j->task = task;
	if (ss_authz_scope_prefix(req->conn->principal.role, req->conn->principal.jurisdiction,
				  SS_OP_DRAW_RUN, j->prefix) == NULL &&
	    (act == SS_ACT_OPEN || act == SS_ACT_RUN || act == SS_ACT_RECUSE)) {
		free(j);
		ss_request_refuse(req, SS_ERR_PERMISSION_DENIED, "draw.task_id",
				  "your certificate's jurisdiction gives no scope to run draws",
				  "您的证书辖区不允许进行抽取");
		return;
	}
	if (d->tail)
		d->tail->next = j;
	else
		d->head = j;
	d->tail = j;
	ss_queue_next(d);
}

/* ---- the worker ---- */

static void ss_work_run(uv_work_t *w);
static void ss_work_after(uv_work_t *w, int status);

static void ss_act_compute(struct ss_drawsvc *d, struct ss_job *j)
{
	int rc;

	j->work.data = j;
	j->t_work = ss_now_ms();
	rc = uv_queue_work(d->srv->loop, &j->work, ss_work_run, ss_work_after);
	if (rc != 0)
		ss_act_fail(d, j, SS_ERR_INTERNAL, NULL, NULL, NULL);
}

/* ---- reply ---- */

static void ss_reply_state(struct ss_request *req, const char *task, PGresult *st,
			   const char *type, uint64_t idx, const uint8_t *leaf, uint64_t drawn,
			   uint64_t shortfall, const char *replacement)
{
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__DrawReply r = SHUANGSUI__V1__DRAW_REPLY__INIT;
	char *exp_copy = NULL, *done_copy = NULL, *ex[64], *dn[64];
	size_t nex = 0, ndn = 0;

	r.task_id = (char *)task;
	r.record_type = (char *)(type ? type : "");
	r.leaf_index = idx;
	if (leaf) {
		r.leaf_hash.data = (uint8_t *)leaf;
		r.leaf_hash.len = 32;
	}
	r.drawn = drawn;
	r.shortfall = shortfall;
	r.replacement = (char *)(replacement ? replacement : "");
	/* st: state, expected (a,b), done (a,b), waived, draw leaf */
	if (st != NULL && PQntuples(st) == 1) {
		char *tok, *save;

		r.state = PQgetvalue(st, 0, 0);
		exp_copy = strdup(PQgetvalue(st, 0, 1));
		done_copy = strdup(PQgetvalue(st, 0, 2));
		for (tok = exp_copy ? strtok_r(exp_copy, ",", &save) : NULL; tok && nex < 64;
		     tok = strtok_r(NULL, ",", &save))
			ex[nex++] = tok;
		for (tok = done_copy ? strtok_r(done_copy, ",", &save) : NULL; tok && ndn < 64;
		     tok = strtok_r(NULL, ",", &save))
			dn[ndn++] = tok;
		r.waived = PQgetvalue(st, 0, 3)[0] == 't';
		r.draw_leaf_index = strtoull(PQgetvalue(st, 0, 4), NULL, 10);
		if (drawn == 0)
			r.drawn = strtoull(PQgetvalue(st, 0, 5), NULL, 10);
	} else {
		r.state = "";
	}
	r.n_witnesses_expected = nex;
	r.witnesses_expected = ex;
	r.n_witnesses_done = ndn;
	r.witnesses_done = dn;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY;
	reply.draw_reply = &r;
	ss_request_reply(req, &reply);
	free(exp_copy);
	free(done_copy);
}

static const char ss_state_sql[] =
	"SELECT coalesce(draw_task_state($1), ''), "
	"coalesce((SELECT array_to_string(witnesses, ',') FROM draw_opens WHERE task_id = $1), ''), "
	"coalesce((SELECT string_agg(principal_id, ',' ORDER BY idx) FROM draw_witnesses "
	"WHERE task_id = $1), ''), "
	"EXISTS (SELECT 1 FROM draw_waivers WHERE task_id = $1), "
	"coalesce((SELECT draw_idx FROM draws WHERE task_id = $1), 0), "
	"coalesce((SELECT cardinality(objects) FROM task_lists WHERE task_id = $1), 0)";

/* The type of the record an act logs. */
static const char *ss_act_record_type(enum ss_act act)
{
	static const char *const names[] = {"draw-open", "witness", "witness-waiver", "draw",
					    "void", "recusal"};

	return names[act];
}

/* The idempotency operation of an act (sql/004_draws.sql). */
static const char *ss_act_operation(enum ss_act act)
{
	static const char *const names[] = {"draw.open", "draw.witness", "draw.waive", "draw.run",
					    "draw.void", "draw.recuse"};

	return names[act];
}

static void ss_committed_state(void *arg, int err, PGresult *res)
{
	struct ss_job *j = arg;
	struct ss_drawsvc *d = j->req->conn->srv->draws;

	if (err != 0) {
		ss_act_fail_db(d, j, err, res);
		return;
	}
	ss_reply_state(j->req, j->task, res, ss_act_record_type(j->act), j->idx,
		       j->have_leaf ? j->leaf : NULL, j->drawn, j->shortfall, j->replacement);
	ss_act_finish(d, j);
}

static void ss_committed(void *arg, int err, PGresult *res)
{
	struct ss_job *j = arg;
	struct ss_drawsvc *d = j->req->conn->srv->draws;
	const char *params[1] = {j->task};
	uint64_t stored;

	if (err != 0) {
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

		/* A refusal (SS class) or a statement error stored nothing; a lost
		 * connection may have stored it: settled before the next act. */
		if (err == SS_ERR_DATABASE_UNAVAILABLE || state == NULL ||
		    strncmp(state, "08", 2) == 0) {
			d->uncertain = 1;
			memcpy(d->pending_leaf, j->leaf, 32);
			free(d->pending_note);
			d->pending_note = j->note;
			j->note = NULL;
		}
		ss_act_fail_db(d, j, err, res);
		return;
	}
	stored = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	j->have_leaf = 1;
	j->t_commit = ss_now_ms();
	ss_info("draw log: %s %s at leaf %" PRIu64 " (read %" PRId64 " ms, compute %" PRId64
		" ms, store %" PRId64 " ms)",
		j->task, ss_record_type_name(ss_record_peek_type(j->rec, j->rec_len)), stored,
		j->t_work - j->t_begin, j->t_worked - j->t_work, j->t_commit - j->t_worked);
	if (stored == j->idx) {
		if (ss_log_push(d, j->leaf) != 0) {
			ss_act_fail(d, j, SS_ERR_NOMEM, NULL, NULL, NULL);
			return;
		}
		free(d->note);
		d->note = j->note;
		j->note = NULL;
		if (j->act == SS_ACT_OPEN) {
			ss_snap_cache_drop(d);
			d->sc_task = strdup(j->task);
			if (d->sc_task != NULL) {
				d->sc_data = j->snap_data;
				d->sc_len = j->snap_len;
				d->sc_digests = j->snap_digests;
				d->sc_n = j->n_snaps;
				j->snap_data = NULL;
				j->snap_len = NULL;
				j->snap_digests = NULL;
			}
		} else if (j->act == SS_ACT_RUN && d->sc_task && strcmp(d->sc_task, j->task) == 0) {
			ss_snap_cache_drop(d);
		}
	} else {
		/* A retry that raced the first (same key): the leaf stored before. */
		j->idx = stored;
		j->have_leaf = 0;
	}
	if (ss_pgpool_query(d->srv->pool, ss_state_sql, 1, params, ss_committed_state, j) != 0)
		ss_committed_state(j, SS_ERR_DATABASE_UNAVAILABLE, NULL);
}

/* Runs the act's commit function with the common tail of parameters; the
 * record, signature, leaf hash and root travel as binary bytea parameters
 * (a draw record is tens of megabytes: hex would double it). */
static void ss_commit(struct ss_drawsvc *d, struct ss_job *j, const char *fn, const char **head,
		      const int *head_lengths, int nhead)
{
	const char *params[24];
	int lengths[24];
	char idx[24], sql[512];
	struct ss_request *req = j->req;
	int i, n = 0, rc;

	snprintf(idx, sizeof(idx), "%" PRIu64, j->idx);
	params[n++] = req->conn->principal.id;
	params[n++] = req->env->idempotency_key;
	params[n++] = req->sha256;
	for (i = 0; i < n; i++)
		lengths[i] = -1;
	for (i = 0; i < nhead; i++) {
		lengths[n] = head_lengths != NULL ? head_lengths[i] : -1;
		params[n++] = head[i];
	}
	lengths[n] = (int)j->rec_len;
	params[n++] = (const char *)j->rec;
	lengths[n] = SS_SIG_LEN;
	params[n++] = (const char *)j->sig;
	lengths[n] = 32;
	params[n++] = (const char *)j->leaf;
	lengths[n] = -1;
	params[n++] = idx;
	lengths[n] = 32;
	params[n++] = (const char *)j->root;
	lengths[n] = -1;
	params[n++] = j->note;
	snprintf(sql, sizeof(sql), "SELECT %s(", fn);
	for (i = 1; i <= n; i++)
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), "%s$%d", i > 1 ? ", " : "", i);
	strcat(sql, ")");
	rc = j->rec_len > INT32_MAX
		     ? SS_ERR_BAD_REQUEST
		     : ss_pgpool_query_lengths(d->srv->pool, sql, n, params, lengths, ss_committed, j);
	if (rc != 0)
		ss_act_fail(d, j, rc, NULL, NULL, NULL);
}

static void ss_work_after(uv_work_t *w, int status)
{
	struct ss_job *j = w->data;
	struct ss_drawsvc *d = j->req->conn->srv->draws;
	char ver[16];

	j->t_worked = ss_now_ms();
	if (status != 0 || j->err != 0) {
		ss_act_fail(d, j, j->err ? j->err : SS_ERR_INTERNAL, j->err_field[0] ? j->err_field : NULL,
			    j->err_en[0] ? j->err_en : NULL, j->err_zh[0] ? j->err_zh : NULL);
		return;
	}
	switch (j->act) {
	case SS_ACT_OPEN: {
		char *r = ss_bytea_param(j->r, sizeof(j->r));
		struct ss_buf names = {0}, digests = {0};
		char *an, *ad;
		size_t i;

		for (i = 0; i < j->n_snaps; i++) {
			char hex[65 + 4];

			ss_array_put(&names, j->snap_names[i]);
			snprintf(hex, sizeof(hex), "\\x");
			sodium_bin2hex(hex + 2, 65, j->snap_digests[i], 32);
			ss_array_put(&digests, hex);
		}
		an = ss_array_take(&names);
		ad = ss_array_take(&digests);
		snprintf(ver, sizeof(ver), "%d", j->task_version);
		{
			const char *head[] = {j->prefix, j->task, ver, r, j->witnesses, an, ad,
					      (const char *)j->snap_cat, (const char *)j->snap_lens};
			const int lengths[] = {-1, -1, -1, -1, -1, -1, -1, (int)j->snap_cat_len,
					       (int)j->snap_lens_len};

			if (r && an && ad)
				ss_commit(d, j, "draw_open_commit", head, lengths, 9);
			else
				ss_act_fail(d, j, SS_ERR_NOMEM, NULL, NULL, NULL);
		}
		free(r);
		free(an);
		free(ad);
		break;
	}
	case SS_ACT_WITNESS: {
		const char *head[] = {j->task};

		ss_commit(d, j, "draw_witness_commit", head, NULL, 1);
		break;
	}
	case SS_ACT_WAIVE: {
		const char *head[] = {j->task, j->req->env->draw_waive->reason};

		ss_commit(d, j, "draw_waiver_commit", head, NULL, 2);
		break;
	}
	case SS_ACT_RUN: {
		const char *head[] = {j->prefix, j->task, (const char *)j->objects,
				      (const char *)j->strata};
		const int lengths[] = {-1, -1, (int)j->objects_len, (int)j->strata_len};

		ss_commit(d, j, "draw_run_commit", head, lengths, 4);
		break;
	}
	case SS_ACT_VOID: {
		const char *head[] = {j->task, j->req->env->draw_void->reason};

		ss_commit(d, j, "draw_void_commit", head, NULL, 2);
		break;
	}
	case SS_ACT_RECUSE: {
		const Shuangsui__V1__DrawRecuse *r = j->req->env->draw_recuse;
		const char *head[] = {j->prefix, j->task, r->object_id, r->inspector_id,
				      j->replacement, r->reason};

		ss_commit(d, j, "draw_recusal_commit", head, NULL, 6);
		break;
	}
	}
}

/* ---- reading what an act needs ---- */

static void ss_read_next(void *arg, int err, PGresult *res);

/* Runs the next read statement of j (stage `stage`), or the worker. */
static void ss_read(struct ss_job *j, int stage, const char *sql, int n, const char **params)
{
	struct ss_drawsvc *d = j->req->conn->srv->draws;

	(void)stage;
	if (ss_pgpool_query(d->srv->pool, sql, n, params, ss_read_next, j) != 0)
		ss_act_fail(d, j, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

/* Which of j->res[] the next result goes to. */
static int ss_res_count(const struct ss_job *j)
{
	int i = 0;

	while (i < 4 && j->res[i] != NULL)
		i++;
	return i;
}

static const char ss_open_task_sql[] =
	"SELECT t.version, t.state, t.document_text, t.directory, t.jurisdiction, "
	"t.draw_date::text, (t.document->'strata')::text, pv.document->>'annual_cap', "
	"(pv.document->'exclusions')::text, t.window_start::text, (t.document->'inspectors')::text, "
	"(t.document->'witnesses')::text, draw_may_run($2, $1, $3) "
	"FROM tasks t JOIN plan_versions pv ON pv.plan_id = t.plan_id AND pv.version = t.plan_version "
	"WHERE t.task_id = $1";

static const char ss_open_leaf_sql[] =
	"SELECT l.record, o.r, coalesce((SELECT draw_idx FROM draws WHERE task_id = $1), -1), "
	"draw_task_state($1) FROM draw_opens o JOIN log_leaves l ON l.idx = o.open_idx "
	"WHERE o.task_id = $1";

static const char ss_open_leaf_run_sql[] =
	"SELECT l.record, o.r, coalesce((SELECT draw_idx FROM draws WHERE task_id = $1), -1), "
	"draw_task_state($1), draw_may_run($2, $1, $3) FROM draw_opens o "
	"JOIN log_leaves l ON l.idx = o.open_idx WHERE o.task_id = $1";

static const char ss_draw_leaf_run_sql[] =
	"SELECT l.record, draw_task_state($1), draw_may_run($2, $1, $3) FROM draws d "
	"JOIN log_leaves l ON l.idx = d.draw_idx WHERE d.task_id = $1";

static const char ss_draw_leaf_sql[] =
	"SELECT l.record, draw_task_state($1) FROM draws d JOIN log_leaves l ON l.idx = d.draw_idx "
	"WHERE d.task_id = $1";

/* Read with results in binary format: data (a snapshot stored as text
 * before migration 006) or packed (snapstore.h), and the digest. */
static const char ss_snapshots_sql[] =
	"SELECT part, ordinal, data, packed, digest FROM draw_snapshots WHERE task_id = $1 "
	"ORDER BY CASE part WHEN 'stratum' THEN 0 WHEN 'pool' THEN 1 ELSE 2 END, ordinal";

/*
 * The snapshot in row `row` of a result of ss_snapshots_sql, as its
 * canonical file (NUL-terminated; the caller frees it), checked against
 * the digest stored with it: a snapshot changed in the database is not
 * drawn from or put in a receipt.  0, SS_ERR_NOMEM or SS_ERR_INTERNAL.
 */
static int ss_snapshot_row(PGresult *res, int row, uint8_t **out, size_t *len)
{
	const uint8_t *digest = (const uint8_t *)PQgetvalue(res, row, 4);
	uint8_t got[32];

	*out = NULL;
	*len = 0;
	if (PQgetlength(res, row, 4) != 32 || PQgetisnull(res, row, 2) == PQgetisnull(res, row, 3)) {
		ss_error("draw: a stored snapshot of %s has no digest or not exactly one form",
			 PQgetvalue(res, row, 0));
		return SS_ERR_INTERNAL;
	}
	if (!PQgetisnull(res, row, 3))
		return ss_snapshot_unpack((const uint8_t *)PQgetvalue(res, row, 3),
					  (size_t)PQgetlength(res, row, 3), digest, out, len);
	*len = (size_t)PQgetlength(res, row, 2);
	*out = malloc(*len + 1);
	if (*out == NULL)
		return SS_ERR_NOMEM;
	memcpy(*out, PQgetvalue(res, row, 2), *len + 1);
	if (ss_snapshot_digest(*out, *len, got) != 0 || sodium_memcmp(got, digest, 32) != 0) {
		ss_error("draw: a stored snapshot does not have the digest stored with it");
		free(*out);
		*out = NULL;
		return SS_ERR_INTERNAL;
	}
	return 0;
}

static void ss_read_snapshots(struct ss_job *j)
{
	struct ss_drawsvc *d = j->req->conn->srv->draws;
	const char *params[1] = {j->task};

	if (ss_pgpool_query_binary(d->srv->pool, ss_snapshots_sql, 1, params, ss_read_next, j) != 0)
		ss_act_fail(d, j, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

/* The first statement of an act. */
/* The first read of an act (after the idempotency lookup). */
static void ss_act_read(struct ss_job *j)
{
	struct ss_request *req = j->req;
	const char *params[3] = {j->task, req->conn->principal.id, j->prefix};

	switch (j->act) {
	case SS_ACT_OPEN:
		ss_read(j, 0, ss_open_task_sql, 3, params);
		break;
	case SS_ACT_RUN:
		/* Whoever may not run this task's draw is told before anything
		 * is computed (and learns nothing of a draw already made). */
		ss_read(j, 0, ss_open_leaf_run_sql, 3, params);
		break;
	case SS_ACT_WITNESS:
	case SS_ACT_WAIVE:
		ss_read(j, 0, ss_open_leaf_sql, 1, params);
		break;
	case SS_ACT_RECUSE:
		ss_read(j, 0, ss_draw_leaf_run_sql, 3, params);
		break;
	case SS_ACT_VOID:
		ss_read(j, 0, ss_draw_leaf_sql, 1, params);
		break;
	}
}

/* A retry under the same idempotency key gets the leaf stored the first time. */
static void ss_prior_got(void *arg, int err, PGresult *res)
{
	struct ss_job *j = arg;
	struct ss_drawsvc *d = j->req->conn->srv->draws;
	const char *params[1] = {j->task};
	json_object *prior, *v;

	if (err != 0) {
		ss_act_fail_db(d, j, err, res);
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		ss_act_read(j);
		return;
	}
	prior = json_tokener_parse(PQgetvalue(res, 0, 0));
	if (prior != NULL && json_object_object_get_ex(prior, "idx", &v))
		j->idx = (uint64_t)json_object_get_int64(v);
	if (prior != NULL && json_object_object_get_ex(prior, "leaf", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    sodium_hex2bin(j->leaf, sizeof(j->leaf), json_object_get_string(v),
			   strlen(json_object_get_string(v)), NULL, NULL, NULL) == 0)
		j->have_leaf = 1;
	if (prior != NULL && json_object_object_get_ex(prior, "replacement", &v) &&
	    json_object_is_type(v, json_type_string)) {
		j->replacement_copy = strdup(json_object_get_string(v));
		j->replacement = j->replacement_copy;
	}
	json_object_put(prior);
	if (ss_pgpool_query(d->srv->pool, ss_state_sql, 1, params, ss_committed_state, j) != 0)
		ss_act_fail(d, j, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

static void ss_act_begin(struct ss_job *j)
{
	struct ss_drawsvc *d = j->req->conn->srv->draws;
	const char *params[4] = {j->req->conn->principal.id, j->req->env->idempotency_key,
				 ss_act_operation(j->act), j->req->sha256};

	if (ss_pgpool_query(d->srv->pool, "SELECT draw_prior($1, $2, $3, $4)::text", 4, params,
			    ss_prior_got, j) != 0)
		ss_act_fail(d, j, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

/* Is it still before the draw date, China time (UTC+8)? */
static int ss_before_draw_date(const char *draw_date)
{
	time_t now = time(NULL) + 8 * 3600;
	struct tm tm;
	int32_t today, day;

	if (gmtime_r(&now, &tm) == NULL ||
	    ss_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &today) != 0 ||
	    ss_date_parse(draw_date, &day) != 0)
		return 0;
	return today < day;
}

/* The next statement after stage i's result, or the worker. */
static void ss_read_next(void *arg, int err, PGresult *res)
{
	struct ss_job *j = arg;
	struct ss_drawsvc *d = j->req->conn->srv->draws;
	int i = ss_res_count(j);
	const char *params[4] = {j->task};

	if (err != 0) {
		ss_act_fail_db(d, j, err, res);
		return;
	}
	ss_pg_keep(res);
	j->res[i] = res;
	if (i == 0 && PQntuples(res) != 1) {
		const char *what = j->act == SS_ACT_OPEN ? "no such task"
				   : j->act == SS_ACT_VOID || j->act == SS_ACT_RECUSE
					   ? "the task has not been drawn"
					   : "the task's draw has not been opened (shuangsui draw open)";
		const char *zh = j->act == SS_ACT_OPEN ? "没有此任务"
				 : j->act == SS_ACT_VOID || j->act == SS_ACT_RECUSE
					 ? "该任务尚未抽取"
					 : "该任务尚未开启抽取（shuangsui draw open）";

		ss_act_fail(d, j, j->act == SS_ACT_OPEN ? SS_ERR_NOT_FOUND : SS_ERR_BAD_REQUEST,
			    "draw.task_id", what, zh);
		return;
	}
	switch (j->act) {
	case SS_ACT_OPEN:
		if (i == 0) {
			struct ss_population *pop;

			if (strcmp(PQgetvalue(res, 0, 1), "open") != 0) {
				char en[200], zh[200];

				snprintf(en, sizeof(en),
					 "task %s is %s: its draw was opened already", j->task,
					 PQgetvalue(res, 0, 1));
				snprintf(zh, sizeof(zh), "任务 %s 状态为 %s：已开启过抽取", j->task,
					 PQgetvalue(res, 0, 1));
				ss_act_fail(d, j, SS_ERR_BAD_REQUEST, "draw.task_id", en, zh);
				return;
			}
			if (ss_before_draw_date(PQgetvalue(res, 0, 5))) {
				char en[200], zh[200];

				snprintf(en, sizeof(en),
					 "the draw date of task %s is %s: its draw opens on that day, "
					 "not before",
					 j->task, PQgetvalue(res, 0, 5));
				snprintf(zh, sizeof(zh), "任务 %s 的抽取日期为 %s，当天方可开启抽取",
					 j->task, PQgetvalue(res, 0, 5));
				ss_act_fail(d, j, SS_ERR_BAD_REQUEST, "draw.task_id", en, zh);
				return;
			}
			pop = ss_population_build(PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
						  PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6),
						  PQgetvalue(res, 0, 7), PQgetvalue(res, 0, 8), 1);
			if (pop == NULL) {
				ss_act_fail(d, j, SS_ERR_INTERNAL, NULL, NULL, NULL);
				return;
			}
			/* Binary results: versions and strata as four bytes, not text to parse. */
			if (ss_pgpool_query_binary(d->srv->pool, pop->sql, pop->nparams,
						   (const char *const *)pop->params, ss_read_next, j) != 0)
				ss_act_fail(d, j, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
			ss_population_free(pop);
			return;
		}
		if (i == 1) {
			/* The inspector pool as of the draw date: qualified on the
			 * first day of the window, active, in a category of the
			 * task, in the jurisdiction or the task's merged pool. */
			PGresult *t = j->res[0];
			json_object *ins = json_tokener_parse(PQgetvalue(t, 0, 10)), *v;
			struct ss_buf cats = {0}, pre = {0};
			char asof[40], *c = NULL, *p = NULL;
			int32_t day;
			size_t k;

			if (ins != NULL && json_object_object_get_ex(ins, "categories", &v))
				for (k = 0; k < json_object_array_length(v); k++)
					ss_array_put(&cats,
						     json_object_get_string(json_object_array_get_idx(v, k)));
			if (ins != NULL && json_object_object_get_ex(ins, "pool", &v) &&
			    json_object_array_length(v) > 0) {
				for (k = 0; k < json_object_array_length(v); k++) {
					char like[12];
					const char *code =
						json_object_get_string(json_object_array_get_idx(v, k));
					size_t n = 6;

					snprintf(like, sizeof(like), "%s", code);
					while (n > 2 && like[n - 1] == '0' && like[n - 2] == '0')
						n -= 2;
					strcpy(like + n, "%");
					ss_array_put(&pre, like);
				}
			} else {
				char like[12];
				size_t n = 6;

				snprintf(like, sizeof(like), "%s", PQgetvalue(t, 0, 4));
				while (n > 2 && like[n - 1] == '0' && like[n - 2] == '0')
					n -= 2;
				strcpy(like + n, "%");
				ss_array_put(&pre, like);
			}
			json_object_put(ins);
			c = ss_array_take(&cats);
			p = ss_array_take(&pre);
			ss_date_parse(PQgetvalue(t, 0, 5), &day);
			ss_date_format(day + 1, asof);
			strcat(asof, " 00:00:00+08");
			params[0] = asof;
			params[1] = PQgetvalue(t, 0, 9);
			params[2] = p;
			params[3] = c;
			if (c == NULL || p == NULL ||
			    ss_pgpool_query(d->srv->pool,
					    "SELECT record_id, is_expert FROM (SELECT DISTINCT ON (record_id) * "
					    "FROM inspector_versions WHERE changed_at < least($1::timestamptz, now()) "
					    "ORDER BY record_id, version DESC) i WHERE status = 'active' "
					    "AND certificate_valid_from <= $2::date "
					    "AND certificate_valid_to >= $2::date "
					    "AND jurisdiction LIKE ANY ($3::text[]) "
					    "AND string_to_array(categories, ';') && $4::text[] "
					    "ORDER BY record_id COLLATE \"C\"",
					    4, params, ss_read_next, j) != 0)
				ss_act_fail(d, j, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
			free(c);
			free(p);
			return;
		}
		if (i == 2) {
			char asof[40];
			int32_t day;

			ss_date_parse(PQgetvalue(j->res[0], 0, 5), &day);
			ss_date_format(day + 1, asof);
			strcat(asof, " 00:00:00+08");
			params[0] = asof;
			if (ss_pgpool_query(d->srv->pool,
					    "SELECT inspector_id, object_id FROM (SELECT DISTINCT ON "
					    "(record_id) * FROM conflict_versions WHERE changed_at < "
					    "least($1::timestamptz, now()) ORDER BY record_id, version DESC) c "
					    "WHERE status = 'active' "
					    "ORDER BY inspector_id COLLATE \"C\", object_id COLLATE \"C\"",
					    1, params, ss_read_next, j) != 0)
				ss_act_fail(d, j, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
			return;
		}
		break;
	case SS_ACT_RUN:
		if (i == 0) {
			if (strcmp(PQgetvalue(res, 0, 3), "opened") != 0) {
				const char *pp[1] = {j->task};

				if (strcmp(PQgetvalue(res, 0, 3), "drawn") == 0 ||
				    strcmp(PQgetvalue(res, 0, 3), "voided") == 0) {
					/* One draw per task: every later request gets that draw. */
					j->idx = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
					j->rec = NULL;
					if (ss_pgpool_query(d->srv->pool, ss_state_sql, 1, pp,
							    ss_committed_state, j) != 0)
						ss_committed_state(j, SS_ERR_DATABASE_UNAVAILABLE, NULL);
					return;
				}
				ss_act_fail(d, j, SS_ERR_BAD_REQUEST, "draw.task_id",
					    "the task's draw is not open", "该任务不在待抽取状态");
				return;
			}
			ss_read(j, 1,
				"SELECT kind, record FROM log_leaves WHERE task_id = $1 "
				"AND kind IN ('witness', 'witness-waiver') ORDER BY idx",
				1, params);
			return;
		}
		if (i == 1) {
			/* Just opened by this server: the snapshots are in memory. */
			if (d->sc_task != NULL && strcmp(d->sc_task, j->task) == 0) {
				j->snap_data = d->sc_data;
				j->snap_len = d->sc_len;
				j->snap_digests = d->sc_digests;
				j->n_snaps = d->sc_n;
				d->sc_data = NULL;
				d->sc_len = NULL;
				d->sc_digests = NULL;
				d->sc_n = 0;
				free(d->sc_task);
				d->sc_task = NULL;
				break;
			}
			ss_read_snapshots(j);
			return;
		}
		break;
	case SS_ACT_RECUSE:
		if (i == 0) {
			ss_read(j, 1,
				"SELECT record FROM log_leaves WHERE task_id = $1 AND kind = 'recusal' "
				"ORDER BY idx",
				1, params);
			return;
		}
		if (i == 1) {
			ss_read_snapshots(j);
			return;
		}
		break;
	default:
		break;
	}
	ss_act_compute(d, j);
}

/* ---- the worker: compute, encode, sign ---- */

/* The open's snapshots as its commit takes them: each packed for storage
 * (snapstore.h), the frames concatenated in one bytea, and the length of
 * each frame as an integer[]. */
static int ss_snapshots_param(struct ss_job *j)
{
	int32_t *lens = malloc((j->n_snaps + 1) * sizeof(*lens));
	uint8_t **packed = calloc(j->n_snaps + 1, sizeof(*packed));
	size_t total = 0, i, len;
	int rc = lens && packed ? 0 : SS_ERR_NOMEM;

	for (i = 0; rc == 0 && i < j->n_snaps; i++) {
		rc = ss_snapshot_pack((const uint8_t *)j->snap_data[i], j->snap_len[i], &packed[i],
				      &len);
		if (rc == 0 && len > (size_t)INT32_MAX - total)
			rc = SS_ERR_BAD_REQUEST;
		lens[i] = (int32_t)len;
		total += len;
	}
	if (rc == 0)
		j->snap_cat = malloc(total + 1);
	if (rc == 0 && j->snap_cat == NULL)
		rc = SS_ERR_NOMEM;
	for (i = 0, total = 0; rc == 0 && i < j->n_snaps; i++) {
		memcpy(j->snap_cat + total, packed[i], (size_t)lens[i]);
		total += (size_t)lens[i];
	}
	j->snap_cat_len = total;
	if (rc == 0)
		rc = ss_pgarray_int4(lens, j->n_snaps, &j->snap_lens, &j->snap_lens_len);
	for (i = 0; packed && i < j->n_snaps; i++)
		free(packed[i]);
	free(packed);
	free(lens);
	return rc;
}

static int ss_work_open(struct ss_drawsvc *d, struct ss_job *j)
{
	PGresult *t = j->res[0], *pop = j->res[1], *pool = j->res[2], *conf = j->res[3];
	json_object *strata = json_tokener_parse(PQgetvalue(t, 0, 6));
	json_object *ins = json_tokener_parse(PQgetvalue(t, 0, 10));
	json_object *wit = json_tokener_parse(PQgetvalue(t, 0, 11)), *v;
	size_t ns = strata ? json_object_array_length(strata) : 0, i;
	size_t npop = (size_t)PQntuples(pop), npool = (size_t)PQntuples(pool);
	size_t nconf = (size_t)PQntuples(conf), nw = wit ? json_object_array_length(wit) : 0;
	const char **ids = malloc((npop + 1) * sizeof(*ids));
	struct ss_inspector *pl = malloc((npool + 1) * sizeof(*pl));
	struct ss_conflict *cf = malloc((nconf + 1) * sizeof(*cf));
	struct ss_rec_stratum *rs = calloc(ns + 1, sizeof(*rs));
	struct ss_rec_witness *rw = calloc(nw + 1, sizeof(*rw));
	struct ss_record rec;
	struct ss_buf wl = {0};
	size_t *first = NULL;
	int rc = SS_ERR_NOMEM;

	memset(&rec, 0, sizeof(rec));
	j->n_snaps = ns + 2;
	j->snap_names = calloc(j->n_snaps, sizeof(char *));
	j->snap_data = calloc(j->n_snaps, sizeof(char *));
	j->snap_len = calloc(j->n_snaps, sizeof(*j->snap_len));
	j->snap_digests = calloc(j->n_snaps, sizeof(*j->snap_digests));
	if (strata == NULL || ins == NULL || wit == NULL) {
		rc = ss_job_fail(j, SS_ERR_BAD_REQUEST, "draw.task_id",
				 "the task's document lacks its strata, inspectors or witnesses",
				 "任务文档缺少分层、执法人员要求或见证人");
		goto out;
	}
	if (ids == NULL || pl == NULL || cf == NULL ||
	    rs == NULL || rw == NULL || j->snap_names == NULL || j->snap_data == NULL ||
	    j->snap_len == NULL || j->snap_digests == NULL)
		goto out;
	first = calloc(ns + 1, sizeof(*first));
	if (first == NULL)
		goto out;
	rc = ss_population_latest(pop, ns, PQgetisnull(t, 0, 7) ? 0 : atol(PQgetvalue(t, 0, 7)), ids,
				  first);
	if (rc != 0)
		goto out;
	rc = SS_ERR_NOMEM;
	for (i = 0; i < npool; i++) {
		pl[i].id = PQgetvalue(pool, (int)i, 0);
		pl[i].expert = PQgetvalue(pool, (int)i, 1)[0] == 't';
	}
	for (i = 0; i < nconf; i++) {
		cf[i].inspector = PQgetvalue(conf, (int)i, 0);
		cf[i].object = PQgetvalue(conf, (int)i, 1);
	}
	for (i = 0; i < ns; i++) {
		json_object *st = json_object_array_get_idx(strata, i), *name;
		uint64_t shortfall;
		uint8_t *enc = NULL;
		size_t enc_len = 0;

		json_object_object_get_ex(st, "name", &name);
		rs[i].name = json_object_get_string(name);
		rs[i].size = first[i + 1] - first[i];
		rs[i].k = ss_stratum_k(st, rs[i].size, &shortfall);
		rc = ss_snapshot_population_encode(ids + first[i], rs[i].size, &enc, &enc_len);
		if (rc != 0)
			goto out;
		rc = ss_snapshot_digest(enc, enc_len, rs[i].digest);
		if (rc != 0)
			goto out;
		memcpy(j->snap_digests[i], rs[i].digest, 32);
		j->snap_data[i] = (char *)enc;
		j->snap_len[i] = enc_len;
		j->snap_names[i] = strdup(rs[i].name);
		if (j->snap_names[i] == NULL) {
			rc = SS_ERR_NOMEM;
			goto out;
		}
	}
	{
		uint8_t *enc = NULL;
		size_t enc_len = 0;

		rc = ss_snapshot_pool_encode(pl, npool, &enc, &enc_len);
		if (rc != 0)
			goto out;
		rc = ss_snapshot_digest(enc, enc_len, rec.pool_digest);
		if (rc != 0)
			goto out;
		memcpy(j->snap_digests[ns], rec.pool_digest, 32);
		j->snap_data[ns] = (char *)enc;
		j->snap_len[ns] = enc_len;
		rc = ss_snapshot_conflicts_encode(cf, nconf, &enc, &enc_len);
		if (rc != 0)
			goto out;
		rc = ss_snapshot_digest(enc, enc_len, rec.conflicts_digest);
		if (rc != 0)
			goto out;
		memcpy(j->snap_digests[ns + 1], rec.conflicts_digest, 32);
		j->snap_data[ns + 1] = (char *)enc;
		j->snap_len[ns + 1] = enc_len;
		j->snap_names[ns] = strdup("pool");
		j->snap_names[ns + 1] = strdup("conflicts");
		if (j->snap_names[ns] == NULL || j->snap_names[ns + 1] == NULL) {
			rc = SS_ERR_NOMEM;
			goto out;
		}
	}
	rc = ss_snapshots_param(j);
	if (rc != 0)
		goto out;
	for (i = 0; i < nw; i++) {
		rw[i].principal = json_object_get_string(json_object_array_get_idx(wit, i));
		ss_array_put(&wl, rw[i].principal);
	}
	j->witnesses = ss_array_take(&wl);
	randombytes_buf(j->r, sizeof(j->r));
	rec.type = SS_REC_DRAW_OPEN;
	rec.task = j->task;
	rec.timestamp = (int64_t)time(NULL);
	memcpy(rec.key_id, ss_key_id(d->key), SS_SIG_KEY_ID_LEN);
	rec.params = PQgetvalue(t, 0, 2);
	rec.group_size = json_object_object_get_ex(ins, "group_size", &v) ? (uint64_t)json_object_get_int64(v) : 2;
	rec.experts_per_object =
		json_object_object_get_ex(ins, "experts", &v) ? (uint64_t)json_object_get_int64(v) : 0;
	rec.workload_cap =
		json_object_object_get_ex(ins, "workload_cap", &v) ? (uint64_t)json_object_get_int64(v) : 0;
	rec.pool_size = npool;
	rec.conflicts_size = nconf;
	rec.n_strata = ns;
	rec.strata = rs;
	ss_draw_commitment(j->r, rec.commitment);
	rec.n_witnesses = nw;
	rec.witnesses = rw;
	j->task_version = atoi(PQgetvalue(t, 0, 0));
	rc = j->witnesses ? ss_record_encode(&rec, &j->rec, &j->rec_len) : SS_ERR_NOMEM;
	if (rc == SS_ERR_BAD_REQUEST)
		ss_job_fail(j, rc, "draw.task_id",
			    "the task's population or parameters cannot be recorded (an id, stratum "
			    "name or witness that is not a token?)",
			    "任务的抽取范围或参数无法记录（编号、分层名称或见证人含空格？）");
	if (rc == 0)
		rc = ss_log_seal(d, j);
out:
	json_object_put(strata);
	json_object_put(ins);
	json_object_put(wit);
	free(first);
	free(ids);
	free(pl);
	free(cf);
	free(rs);
	free(rw);
	return rc;
}

/* Parses the snapshots of res (ss_snapshots_sql) into the draw input. */
struct ss_snaps {
	char **bufs;
	size_t nbufs;
	const char ***ids;
	size_t *nids;
	size_t nstrata;
	struct ss_inspector *pool;
	size_t npool;
	struct ss_conflict *conf;
	size_t nconf;
	/* Each snapshot's digest, strata then pool and conflicts: stored with
	 * it and checked on reading, or computed by the open that kept it. */
	uint8_t (*digests)[32];
};

static void ss_snaps_free(struct ss_snaps *s)
{
	size_t i;

	for (i = 0; i < s->nbufs; i++)
		free(s->bufs[i]);
	for (i = 0; i < s->nstrata; i++)
		free(s->ids ? s->ids[i] : NULL);
	free(s->bufs);
	free(s->ids);
	free(s->nids);
	free(s->pool);
	free(s->conf);
	free(s->digests);
}

static int ss_snaps_parse(PGresult *res, struct ss_snaps *s)
{
	int i, n = PQntuples(res), rc = 0;

	memset(s, 0, sizeof(*s));
	s->bufs = calloc((size_t)n + 1, sizeof(char *));
	s->ids = calloc((size_t)n + 1, sizeof(*s->ids));
	s->nids = calloc((size_t)n + 1, sizeof(*s->nids));
	/* Room for a pool and conflicts digest even if their rows are missing. */
	s->digests = calloc((size_t)n + 2, sizeof(*s->digests));
	if (s->bufs == NULL || s->ids == NULL || s->nids == NULL || s->digests == NULL)
		return SS_ERR_NOMEM;
	for (i = 0; i < n && rc == 0; i++) {
		const char *part = PQgetvalue(res, i, 0);
		size_t len;
		char *buf;

		rc = ss_snapshot_row(res, i, (uint8_t **)&buf, &len);
		if (rc != 0)
			return rc;
		memcpy(s->digests[i], PQgetvalue(res, i, 4), 32);
		s->bufs[s->nbufs++] = buf;
		if (strcmp(part, "stratum") == 0)
			rc = ss_snapshot_population_parse(buf, len, &s->ids[s->nstrata],
							  &s->nids[s->nstrata]),
			s->nstrata++;
		else if (strcmp(part, "pool") == 0)
			rc = ss_snapshot_pool_parse(buf, len, &s->pool, &s->npool);
		else
			rc = ss_snapshot_conflicts_parse(buf, len, &s->conf, &s->nconf);
	}
	return rc;
}

/* The same from snapshots kept in memory since the open (j->snap_data:
 * strata, pool, conflicts), parsed in place; the job keeps owning them. */
static int ss_snaps_parse_kept(struct ss_job *j, struct ss_snaps *s)
{
	size_t i;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (j->n_snaps < 2 || j->snap_digests == NULL || j->snap_len == NULL)
		return SS_ERR_INTERNAL;
	s->ids = calloc(j->n_snaps, sizeof(*s->ids));
	s->nids = calloc(j->n_snaps, sizeof(*s->nids));
	s->digests = malloc(j->n_snaps * sizeof(*s->digests));
	if (s->ids == NULL || s->nids == NULL || s->digests == NULL)
		return SS_ERR_NOMEM;
	memcpy(s->digests, j->snap_digests, j->n_snaps * sizeof(*s->digests));
	for (i = 0; rc == 0 && i < j->n_snaps; i++) {
		char *buf = j->snap_data[i];
		size_t len = j->snap_len[i];

		if (i < j->n_snaps - 2) {
			rc = ss_snapshot_population_parse(buf, len, &s->ids[i], &s->nids[i]);
			s->nstrata++;
		} else if (i == j->n_snaps - 2) {
			rc = ss_snapshot_pool_parse(buf, len, &s->pool, &s->npool);
		} else {
			rc = ss_snapshot_conflicts_parse(buf, len, &s->conf, &s->nconf);
		}
	}
	return rc;
}

/*
 * The snapshots read for a draw (rc: how reading them went) are those its
 * signed draw-open or draw record names: the same number of strata, and
 * every snapshot's digest and size.  A snapshot that does not unpack to
 * its stored digest, or that does not parse, was changed in the database
 * too.  0, or the error with the job's message set.
 */
static int ss_snaps_check(struct ss_job *j, int rc, const struct ss_snaps *s,
			  const struct ss_record *rec)
{
	size_t i;
	int ok = rc == 0 && s->nstrata == rec->n_strata;

	if (rc != 0 && rc != SS_ERR_INTERNAL)
		return rc;
	for (i = 0; ok && i < rec->n_strata; i++)
		ok = s->nids[i] == rec->strata[i].size &&
		     sodium_memcmp(s->digests[i], rec->strata[i].digest, 32) == 0;
	if (ok)
		ok = s->npool == rec->pool_size && s->nconf == rec->conflicts_size &&
		     sodium_memcmp(s->digests[s->nstrata], rec->pool_digest, 32) == 0 &&
		     sodium_memcmp(s->digests[s->nstrata + 1], rec->conflicts_digest, 32) == 0;
	if (ok)
		return 0;
	ss_error("draw: the snapshots stored for task %s are not those its signed record names",
		 j->task);
	return ss_job_fail(j, SS_ERR_INTERNAL, "draw.task_id",
			   "the snapshots stored for this draw are not those its signed record "
			   "names (changed in the database?); nothing is drawn from them",
			   "本次抽取存储的快照与其已签名记录不符（数据库被改动？），不据此抽取");
}

static int ss_work_run_draw(struct ss_drawsvc *d, struct ss_job *j)
{
	PGresult *o = j->res[0], *wr = j->res[1];
	struct ss_record *open = NULL, *out = NULL, **wrecs = NULL;
	struct ss_witness *ws = NULL;
	struct ss_draw_stratum *st = NULL;
	struct ss_draw_input in;
	struct ss_draw_digests known;
	struct ss_snaps sn;
	const char **objs = NULL;
	int32_t *nums = NULL;
	uint8_t *open_bytes, *r_bytes, open_hash[32];
	size_t open_len, r_len, i, k, n, nws = 0, nrec = (size_t)PQntuples(wr);
	const char *waiver_p = NULL, *waiver_r = NULL;
	char missing[512] = "";
	int rc;

	memset(&in, 0, sizeof(in));
	memset(&sn, 0, sizeof(sn));
	open_bytes = ss_bytea_get(o, 0, 0, &open_len);
	r_bytes = ss_bytea_get(o, 0, 1, &r_len);
	wrecs = calloc(nrec + 1, sizeof(*wrecs));
	ws = calloc(nrec + 1, sizeof(*ws));
	rc = open_bytes && r_bytes && wrecs && ws ? 0 : SS_ERR_NOMEM;
	if (rc == 0)
		rc = ss_record_parse(open_bytes, open_len, &open);
	if (rc == 0 && r_len != SS_DRAW_R_LEN)
		rc = SS_ERR_INTERNAL;
	for (i = 0; rc == 0 && i < nrec; i++) {
		size_t len;
		uint8_t *b = ss_bytea_get(wr, (int)i, 1, &len);

		rc = b ? ss_record_parse(b, len, &wrecs[i]) : SS_ERR_NOMEM;
		free(b);
		if (rc != 0)
			break;
		if (wrecs[i]->type == SS_REC_WITNESS) {
			ws[nws].principal = wrecs[i]->principal;
			ws[nws++].entropy = wrecs[i]->entropy;
		} else {
			waiver_p = wrecs[i]->principal;
			waiver_r = wrecs[i]->reason;
		}
	}
	if (rc != 0)
		goto out;
	/* Witnesses: every expected one has contributed, or the legal office
	 * recorded why not; no witness named at all also needs that record. */
	for (i = 0; i < open->n_witnesses; i++) {
		for (k = 0; k < nws; k++)
			if (strcmp(ws[k].principal, open->witnesses[i].principal) == 0)
				break;
		if (k == nws)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
				 missing[0] ? ", " : "", open->witnesses[i].principal);
	}
	if ((missing[0] != '\0' || open->n_witnesses == 0) && waiver_p == NULL) {
		char en[700], zh[700];

		snprintf(en, sizeof(en),
			 "the draw waits for its witnesses (%s), or for the legal office to record "
			 "why they are absent (shuangsui draw waive)",
			 missing[0] ? missing : "none named");
		snprintf(zh, sizeof(zh), "抽取须等待见证人（%s），或由法规科记录其缺席原因（shuangsui draw waive）",
			 missing[0] ? missing : "未指定");
		rc = ss_job_fail(j, SS_ERR_BAD_REQUEST, "draw.task_id", en, zh);
		goto out;
	}
	/* Contributions enter the seed in the order the draw-open record lists
	 * the witnesses (docs/draw-spec.md §3), whatever order they came in. */
	for (i = 0, k = 0; i < open->n_witnesses; i++) {
		size_t m;

		for (m = k; m < nws; m++)
			if (strcmp(ws[m].principal, open->witnesses[i].principal) == 0) {
				struct ss_witness t = ws[k];

				ws[k++] = ws[m];
				ws[m] = t;
				break;
			}
	}
	rc = j->res[2] != NULL ? ss_snaps_parse(j->res[2], &sn) : ss_snaps_parse_kept(j, &sn);
	rc = ss_snaps_check(j, rc, &sn, open);
	st = calloc(open->n_strata + 1, sizeof(*st));
	if (rc == 0 && st == NULL)
		rc = SS_ERR_NOMEM;
	if (rc != 0)
		goto out;
	for (i = 0; i < open->n_strata; i++) {
		st[i].name = open->strata[i].name;
		st[i].k = open->strata[i].k;
		st[i].ids = sn.ids[i];
		st[i].n = sn.nids[i];
	}
	ss_record_leaf_hash(open_bytes, open_len, open_hash);
	in.task = j->task;
	in.params = open->params;
	in.open_hash = open_hash;
	in.strata = st;
	in.n_strata = open->n_strata;
	in.pool = sn.pool;
	in.n_pool = sn.npool;
	in.conflicts = sn.conf;
	in.n_conflicts = sn.nconf;
	in.group_size = open->group_size;
	in.experts_per_object = open->experts_per_object;
	in.workload_cap = open->workload_cap;
	in.r = r_bytes;
	in.witnesses = ws;
	in.n_witnesses = nws;
	in.waiver_principal = waiver_p;
	in.waiver_reason = waiver_r;
	in.timestamp = (int64_t)time(NULL);
	in.key_id = ss_key_id(d->key);
	/* The snapshots' digests are known (ss_snaps_check): not re-encoded
	 * and re-hashed here. */
	known.population = (const uint8_t(*)[32])sn.digests;
	known.pool = sn.digests[sn.nstrata];
	known.conflicts = sn.digests[sn.nstrata + 1];
	rc = ss_draw_compute_known(&in, &known, &out);
	if (rc == 0)
		rc = ss_record_encode(out, &j->rec, &j->rec_len);
	if (rc != 0)
		goto out;
	for (i = 0; i < out->n_strata; i++)
		j->drawn += out->strata[i].n_picks;
	objs = malloc((j->drawn + 1) * sizeof(*objs));
	nums = malloc((j->drawn + 1) * sizeof(*nums));
	if (objs == NULL || nums == NULL) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	for (i = 0, n = 0; i < out->n_strata; i++)
		for (k = 0; k < out->strata[i].n_picks; k++, n++) {
			objs[n] = out->strata[i].picks[k].id;
			nums[n] = (int32_t)i;
		}
	for (i = 0; i < out->n_matches; i++)
		j->shortfall += out->matches[i].inspector_shortfall + out->matches[i].expert_shortfall;
	rc = ss_pgarray_text(objs, n, &j->objects, &j->objects_len);
	if (rc == 0)
		rc = ss_pgarray_int4(nums, n, &j->strata, &j->strata_len);
	if (rc == 0)
		rc = ss_log_seal(d, j);
out:
	for (i = 0; wrecs && i < nrec; i++)
		ss_record_free(wrecs[i]);
	free(wrecs);
	free(ws);
	free(objs);
	free(nums);
	ss_record_free(open);
	ss_record_free(out);
	ss_snaps_free(&sn);
	free(st);
	free(open_bytes);
	free(r_bytes);
	return rc;
}

static int ss_work_recuse(struct ss_drawsvc *d, struct ss_job *j)
{
	const Shuangsui__V1__DrawRecuse *q = j->req->env->draw_recuse;
	struct ss_record *draw = NULL, **prior = NULL, rec;
	struct ss_snaps sn;
	uint8_t *bytes;
	size_t len, i, np = (size_t)PQntuples(j->res[1]);
	const char *replacement = NULL;
	int rc;

	memset(&sn, 0, sizeof(sn));
	memset(&rec, 0, sizeof(rec));
	bytes = ss_bytea_get(j->res[0], 0, 0, &len);
	prior = calloc(np + 1, sizeof(*prior));
	rc = bytes && prior ? ss_record_parse(bytes, len, &draw) : SS_ERR_NOMEM;
	if (rc == 0)
		ss_record_leaf_hash(bytes, len, rec.draw_hash);
	for (i = 0; rc == 0 && i < np; i++) {
		size_t l;
		uint8_t *b = ss_bytea_get(j->res[1], (int)i, 0, &l);

		rc = b ? ss_record_parse(b, l, &prior[i]) : SS_ERR_NOMEM;
		free(b);
	}
	if (rc == 0)
		rc = ss_snaps_check(j, ss_snaps_parse(j->res[2], &sn), &sn, draw);
	if (rc == 0) {
		rc = ss_draw_recusal(draw, sn.pool, sn.npool, sn.conf, sn.nconf,
				     (const struct ss_record *const *)prior, np, q->object_id,
				     q->inspector_id, &replacement);
		if (rc == SS_ERR_NOT_FOUND)
			ss_job_fail(j, rc, "draw_recuse.inspector_id",
				    "that inspector is not in that object's group (or the object was not drawn)",
				    "该检查人员不在该对象的检查组中（或该对象未被抽中）");
		else if (rc != 0)
			ss_job_fail(j, rc, "draw_recuse", NULL, NULL);
	}
	if (rc == 0) {
		for (i = 0; i < sn.npool; i++)
			if (strcmp(sn.pool[i].id, q->inspector_id) == 0)
				rec.expert_role = sn.pool[i].expert;
		if (replacement != NULL) {
			j->replacement_copy = strdup(replacement);
			if (j->replacement_copy == NULL)
				rc = SS_ERR_NOMEM;
		}
		j->replacement = j->replacement_copy;
	}
	if (rc == 0) {
		rec.type = SS_REC_RECUSAL;
		rec.task = j->task;
		rec.timestamp = (int64_t)time(NULL);
		memcpy(rec.key_id, ss_key_id(d->key), SS_SIG_KEY_ID_LEN);
		rec.object = q->object_id;
		rec.inspector = q->inspector_id;
		rec.reason = q->reason;
		rec.replacement = j->replacement;
		rc = ss_record_encode(&rec, &j->rec, &j->rec_len);
		if (rc == 0)
			rc = ss_log_seal(d, j);
	}
	for (i = 0; prior && i < np; i++)
		ss_record_free(prior[i]);
	free(prior);
	ss_record_free(draw);
	ss_snaps_free(&sn);
	free(bytes);
	return rc;
}

/* witness, waiver, void: a small record naming the open or draw leaf. */
static int ss_work_small(struct ss_drawsvc *d, struct ss_job *j)
{
	struct ss_request *req = j->req;
	struct ss_record rec;
	uint8_t *bytes;
	size_t len;
	int rc;

	memset(&rec, 0, sizeof(rec));
	bytes = ss_bytea_get(j->res[0], 0, 0, &len);
	if (bytes == NULL)
		return SS_ERR_NOMEM;
	rec.task = j->task;
	rec.timestamp = (int64_t)time(NULL);
	memcpy(rec.key_id, ss_key_id(d->key), SS_SIG_KEY_ID_LEN);
	rec.principal = req->conn->principal.id;
	switch (j->act) {
	case SS_ACT_WITNESS:
		rec.type = SS_REC_WITNESS;
		ss_record_leaf_hash(bytes, len, rec.open_hash);
		rec.entropy = req->env->draw_witness->entropy;
		break;
	case SS_ACT_WAIVE:
		rec.type = SS_REC_WITNESS_WAIVER;
		ss_record_leaf_hash(bytes, len, rec.open_hash);
		rec.reason = req->env->draw_waive->reason;
		break;
	default:
		rec.type = SS_REC_VOID;
		ss_record_leaf_hash(bytes, len, rec.draw_hash);
		rec.reason = req->env->draw_void->reason;
		break;
	}
	free(bytes);
	rc = ss_record_encode(&rec, &j->rec, &j->rec_len);
	if (rc == SS_ERR_BAD_REQUEST)
		return ss_job_fail(j, rc, "draw", "the record cannot be written (a value with spaces?)",
				   "记录无法写入（取值含空格？）");
	return rc == 0 ? ss_log_seal(d, j) : rc;
}

static void ss_work_run(uv_work_t *w)
{
	struct ss_job *j = w->data;
	struct ss_drawsvc *d = j->req->conn->srv->draws;
	int rc;

	switch (j->act) {
	case SS_ACT_OPEN:
		rc = ss_work_open(d, j);
		break;
	case SS_ACT_RUN:
		rc = ss_work_run_draw(d, j);
		break;
	case SS_ACT_RECUSE:
		rc = ss_work_recuse(d, j);
		break;
	default:
		rc = ss_work_small(d, j);
		break;
	}
	if (rc != 0 && j->err == 0)
		j->err = rc;
}

/* ---- handlers ---- */

static int ss_need_task(struct ss_request *req, const char *task)
{
	size_t i, n = task ? strlen(task) : 0;

	for (i = 0; i < n; i++)
		if (!((task[i] >= 'A' && task[i] <= 'Z') || (task[i] >= 'a' && task[i] <= 'z') ||
		      (task[i] >= '0' && task[i] <= '9') || task[i] == '.' || task[i] == '_' ||
		      task[i] == '-'))
			break;
	if (n >= 2 && n <= 64 && i == n)
		return 0;
	ss_request_fail(req, SS_ERR_BAD_REQUEST, "draw.task_id",
			"a task id is 2 to 64 letters, digits or . _ -", "任务编号为 2 至 64 个字母、数字或 . _ -");
	return -1;
}

void ss_handle_draw_open(struct ss_request *req)
{
	const char *task = req->env->draw_open->task_id;

	if (ss_request_need_key(req) == 0 && ss_need_task(req, task) == 0)
		ss_enqueue(req, SS_ACT_OPEN, task);
}

void ss_handle_draw_witness(struct ss_request *req)
{
	const Shuangsui__V1__DrawWitness *w = req->env->draw_witness;
	size_t i, n = strlen(w->entropy);

	if (ss_request_need_key(req) != 0 || ss_need_task(req, w->task_id) != 0)
		return;
	for (i = 0; i < n; i++)
		if (w->entropy[i] < '0' || w->entropy[i] > '9')
			break;
	if (i < n || n < SS_ENTROPY_MIN || n > SS_ENTROPY_MAX) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "draw_witness.entropy",
				"the witness's entropy is 20 to 256 decimal digits (e.g. dice rolls)",
				"见证人输入应为 20 至 256 位十进制数字（如掷骰子所得）");
		return;
	}
	ss_enqueue(req, SS_ACT_WITNESS, w->task_id);
}

void ss_handle_draw_waive(struct ss_request *req)
{
	const Shuangsui__V1__DrawWaive *w = req->env->draw_waive;

	if (ss_request_need_key(req) == 0 && ss_need_task(req, w->task_id) == 0 &&
	    ss_request_need_reason(req, w->reason, "draw_waive.reason") == 0)
		ss_enqueue(req, SS_ACT_WAIVE, w->task_id);
}

void ss_handle_draw_run(struct ss_request *req)
{
	const char *task = req->env->draw_run->task_id;

	if (ss_request_need_key(req) == 0 && ss_need_task(req, task) == 0)
		ss_enqueue(req, SS_ACT_RUN, task);
}

void ss_handle_draw_void(struct ss_request *req)
{
	const Shuangsui__V1__DrawVoid *v = req->env->draw_void;

	if (ss_request_need_key(req) == 0 && ss_need_task(req, v->task_id) == 0 &&
	    ss_request_need_reason(req, v->reason, "draw_void.reason") == 0)
		ss_enqueue(req, SS_ACT_VOID, v->task_id);
}

void ss_handle_draw_recuse(struct ss_request *req)
{
	const Shuangsui__V1__DrawRecuse *r = req->env->draw_recuse;

	if (ss_request_need_key(req) != 0 || ss_need_task(req, r->task_id) != 0 ||
	    ss_request_need_reason(req, r->reason, "draw_recuse.reason") != 0)
		return;
	if (ss_validate_text(r->object_id, 1, 64) != 0 || ss_validate_text(r->inspector_id, 1, 64) != 0) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "draw_recuse.object_id",
				"name the drawn object and the inspector who withdraws",
				"须指明被抽中的对象和回避的检查人员");
		return;
	}
	ss_enqueue(req, SS_ACT_RECUSE, r->task_id);
}

static void ss_status_got(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	if (PQgetvalue(res, 0, 0)[0] == '\0') {
		ss_request_fail(req, SS_ERR_NOT_FOUND, "draw_status.task_id", NULL, NULL);
		return;
	}
	ss_reply_state(req, req->env->draw_status->task_id, res, NULL, 0, NULL, 0, 0, NULL);
}

void ss_handle_draw_status(struct ss_request *req)
{
	const char *params[1] = {req->env->draw_status->task_id};

	if (ss_need_task(req, params[0]) == 0)
		ss_request_query(req, ss_state_sql, 1, params, ss_status_got);
}

/* ---- receipts ---- */

static void ss_receipt_send(struct ss_request *req, struct ss_drawsvc *d)
{
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__ReceiptChunk c = SHUANGSUI__V1__RECEIPT_CHUNK__INIT;
	uint64_t off = req->env->receipt_get->offset;
	size_t room = req->conn->srv->cfg->max_frame_size - 256;

	if (off > d->rc_len) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "receipt_get.offset",
				"the offset is past the end of the receipt", "偏移量超出回执长度");
		return;
	}
	c.task_id = req->env->receipt_get->task_id;
	c.total = d->rc_len;
	c.offset = off;
	c.data.data = d->rc_data + off;
	c.data.len = d->rc_len - off < room ? d->rc_len - off : room;
	c.sha256.data = d->rc_sha;
	c.sha256.len = 32;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_RECEIPT_CHUNK;
	reply.receipt_chunk = &c;
	ss_request_reply(req, &reply);
}

/* Rows: kind, record, signature (binary) of the task's open, witness,
 * waiver and draw leaves in leaf order, with the draw's checkpoint. */
static void ss_receipt_got(void *arg, int err, PGresult *res);

/* A receipt being encoded on a worker thread: a receipt of a large draw
 * is over 100 MB, about a second of work the loop must not wait for. */
struct ss_receipt_job {
	uv_work_t work;
	struct ss_request *req;
	PGresult *snaps; /* the leaves stay in req->work */
	struct ss_receipt r;
	struct ss_signed *wit;
	struct ss_blob *pops;
	uint8_t **files; /* the snapshots unpacked, one per row of snaps */
	uint8_t (*proof)[32];
	uint8_t *out;
	size_t out_len;
	uint8_t sha[32];
	int rc;
};

static void ss_receipt_job_free(struct ss_receipt_job *rj)
{
	int i;

	for (i = 0; rj->files != NULL && i < PQntuples(rj->snaps); i++)
		free(rj->files[i]);
	free(rj->files);
	PQclear(rj->snaps);
	free(rj->wit);
	free(rj->pops);
	free(rj->proof);
	free(rj->out);
	free(rj);
}

static void ss_receipt_work(uv_work_t *w)
{
	struct ss_receipt_job *rj = w->data;
	unsigned int n = 0;
	int i;

	/* The snapshots, unpacked and checked against their digests. */
	rj->files = calloc((size_t)PQntuples(rj->snaps) + 1, sizeof(*rj->files));
	rj->rc = rj->files != NULL ? 0 : SS_ERR_NOMEM;
	for (i = 0; rj->rc == 0 && i < PQntuples(rj->snaps); i++) {
		const char *part = PQgetvalue(rj->snaps, i, 0);
		struct ss_blob b;

		rj->rc = ss_snapshot_row(rj->snaps, i, &rj->files[i], &b.len);
		b.data = rj->files[i];
		if (strcmp(part, "stratum") == 0)
			rj->pops[rj->r.n_populations++] = b;
		else if (strcmp(part, "pool") == 0)
			rj->r.inspectors = b;
		else
			rj->r.conflicts = b;
	}
	if (rj->rc == 0)
		rj->rc = ss_receipt_encode(&rj->r, &rj->out, &rj->out_len);
	if (rj->rc == 0 &&
	    (EVP_Digest(rj->out, rj->out_len, rj->sha, &n, EVP_sha256(), NULL) != 1 || n != 32))
		rj->rc = SS_ERR_INTERNAL;
}

/* Keeps the receipt built as the one served (in pieces) and sends the first. */
static void ss_receipt_worked(uv_work_t *w, int status)
{
	struct ss_receipt_job *rj = w->data;
	struct ss_request *req = rj->req;
	struct ss_drawsvc *d = req->conn->srv->draws;
	char *task = strdup(req->env->receipt_get->task_id);

	if (status != 0 || rj->rc != 0 || task == NULL) {
		free(task);
		ss_request_fail(req, status != 0 ? SS_ERR_INTERNAL : rj->rc != 0 ? rj->rc : SS_ERR_NOMEM,
				NULL, NULL, NULL);
		ss_receipt_job_free(rj);
		return;
	}
	free(d->rc_task);
	free(d->rc_data);
	d->rc_task = task;
	d->rc_data = rj->out;
	d->rc_len = rj->out_len;
	memcpy(d->rc_sha, rj->sha, 32);
	rj->out = NULL;
	ss_receipt_job_free(rj);
	ss_receipt_send(req, d);
}

static void ss_receipt_snaps(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_drawsvc *d = req->conn->srv->draws;
	PGresult *leaves = req->work;
	struct ss_receipt_job *rj;
	struct ss_receipt r;
	struct ss_signed *wit = NULL;
	struct ss_blob *pops = NULL;
	uint8_t (*proof)[32] = NULL;
	size_t i, nl = (size_t)PQntuples(leaves), proof_len = 0;
	int rc = 0;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	memset(&r, 0, sizeof(r));
	wit = calloc(nl + 1, sizeof(*wit));
	pops = calloc((size_t)PQntuples(res) + 1, sizeof(*pops));
	proof = malloc(SS_MERKLE_MAX_PROOF * sizeof(*proof));
	if (wit == NULL || pops == NULL || proof == NULL)
		rc = SS_ERR_NOMEM;
	for (i = 0; rc == 0 && i < nl; i++) {
		const char *kind = PQgetvalue(leaves, (int)i, 0);
		struct ss_signed s;

		s.record.data = (const uint8_t *)PQgetvalue(leaves, (int)i, 1);
		s.record.len = (size_t)PQgetlength(leaves, (int)i, 1);
		s.sig.data = (const uint8_t *)PQgetvalue(leaves, (int)i, 2);
		s.sig.len = (size_t)PQgetlength(leaves, (int)i, 2);
		if (strcmp(kind, "draw-open") == 0) {
			r.open = s;
		} else if (strcmp(kind, "witness") == 0) {
			wit[r.n_witnesses++] = s;
		} else if (strcmp(kind, "witness-waiver") == 0) {
			r.has_waiver = 1;
			r.waiver = s;
		} else if (strcmp(kind, "draw") == 0) {
			uint64_t idx = 0;
			int k;

			for (k = 0; k < 8; k++)
				idx = idx << 8 | (uint8_t)PQgetvalue(leaves, (int)i, 3)[k];
			r.draw = s;
			r.leaf_index = idx;
			r.tree_size = idx + 1;
			r.checkpoint.data = (const uint8_t *)PQgetvalue(leaves, (int)i, 4);
			r.checkpoint.len = (size_t)PQgetlength(leaves, (int)i, 4);
			if (idx + 1 > d->n ||
			    ss_merkle_inclusion_proof((const uint8_t(*)[32])d->leaves, idx + 1, idx,
						      proof, &proof_len) != 0)
				rc = SS_ERR_INTERNAL;
		}
	}
	/* Witness records in the order of the draw-open record, as in the draw. */
	if (rc == 0 && r.open.record.data != NULL && r.n_witnesses > 1) {
		struct ss_record *o = NULL;
		size_t a, b, k = 0;

		if (ss_record_parse(r.open.record.data, r.open.record.len, &o) == 0) {
			for (a = 0; a < o->n_witnesses; a++)
				for (b = k; b < r.n_witnesses; b++) {
					struct ss_record *w = NULL;
					int match = ss_record_parse(wit[b].record.data, wit[b].record.len,
								    &w) == 0 &&
						    strcmp(w->principal, o->witnesses[a].principal) == 0;

					ss_record_free(w);
					if (match) {
						struct ss_signed t = wit[k];

						wit[k++] = wit[b];
						wit[b] = t;
						break;
					}
				}
		}
		ss_record_free(o);
	}
	r.witnesses = wit;
	r.populations = pops;
	r.proof = (const uint8_t(*)[32])proof;
	r.proof_len = proof_len;
	if (rc == 0 && r.draw.record.data == NULL) {
		free(wit);
		free(pops);
		free(proof);
		ss_request_fail(req, SS_ERR_NOT_FOUND, "receipt_get.task_id",
				"the task has not been drawn", "该任务尚未抽取");
		return;
	}
	rj = rc == 0 ? calloc(1, sizeof(*rj)) : NULL;
	if (rj == NULL) {
		free(wit);
		free(pops);
		free(proof);
		ss_request_fail(req, rc != 0 ? rc : SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	/* The records and checkpoint point into the two results, which live
	 * until the receipt is built; the worker unpacks the snapshots. */
	ss_pg_keep(res);
	rj->snaps = res;
	rj->req = req;
	rj->r = r;
	rj->wit = wit;
	rj->pops = pops;
	rj->proof = proof;
	rj->work.data = rj;
	if (uv_queue_work(req->conn->srv->loop, &rj->work, ss_receipt_work, ss_receipt_worked) != 0) {
		ss_receipt_job_free(rj);
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
	}
}

static void ss_receipt_free_work(void *p)
{
	PQclear(p);
}

static void ss_receipt_got(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	const char *params[1] = {req->env->receipt_get->task_id};

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	if (PQntuples(res) == 0) {
		ss_request_fail(req, SS_ERR_NOT_FOUND, "receipt_get.task_id",
				"the task has not been drawn", "该任务尚未抽取");
		return;
	}
	ss_pg_keep(res);
	req->work = res;
	req->work_free = ss_receipt_free_work;
	if (ss_pgpool_query_binary(req->conn->srv->pool, ss_snapshots_sql, 1, params,
				   ss_receipt_snaps, req) != 0)
		ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

void ss_handle_receipt_get(struct ss_request *req)
{
	struct ss_drawsvc *d = req->conn->srv->draws;
	const char *params[1] = {req->env->receipt_get->task_id};

	if (ss_need_task(req, params[0]) != 0)
		return;
	if (d == NULL || d->key == NULL) {
		ss_service(req);
		return;
	}
	/* A receipt never changes (its checkpoint is the one signed with the
	 * draw): the one built last is served again. */
	if (d->rc_task != NULL && strcmp(d->rc_task, params[0]) == 0) {
		ss_receipt_send(req, d);
		return;
	}
	/* Another receipt was built meanwhile: this one is built again (it is
	 * the same bytes) and served from the offset asked. */
	if (ss_pgpool_query_binary(req->conn->srv->pool,
				   "SELECT l.kind, l.record, l.signature, l.idx, c.note FROM log_leaves l "
				   "LEFT JOIN log_checkpoints c ON c.size = l.idx + 1 "
				   "WHERE l.task_id = $1 AND l.kind IN ('draw-open', 'witness', "
				   "'witness-waiver', 'draw') ORDER BY l.idx",
				   1, params, ss_receipt_got, req) != 0)
		ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

/* ---- the log's read side ---- */

void ss_handle_log_checkpoint_get(struct ss_request *req)
{
	struct ss_drawsvc *d = req->conn->srv->draws;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__LogCheckpointReply r = SHUANGSUI__V1__LOG_CHECKPOINT_REPLY__INIT;
	uint64_t known = req->env->log_checkpoint_get->known_size;
	uint8_t proof[SS_MERKLE_MAX_PROOF][32];
	ProtobufCBinaryData hashes[SS_MERKLE_MAX_PROOF];
	size_t n = 0, i;

	if (d == NULL || d->key == NULL || d->broken != NULL) {
		ss_service(req); /* says why, loudly when the log is broken */
		return;
	}
	if (d->n == 0 || d->note == NULL) {
		ss_request_fail(req, SS_ERR_NOT_FOUND, NULL, "the draw log is empty", "抽取日志为空");
		return;
	}
	if (known > d->n) {
		char en[200], zh[200];

		snprintf(en, sizeof(en),
			 "you hold a checkpoint of %" PRIu64 " leaves, but this log has only %zu", known,
			 d->n);
		snprintf(zh, sizeof(zh), "您持有 %" PRIu64 " 个叶子的检查点，而本日志只有 %zu 个", known,
			 d->n);
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "log_checkpoint_get.known_size", en, zh);
		return;
	}
	if (known > 0 && known < d->n &&
	    ss_merkle_consistency_proof((const uint8_t(*)[32])d->leaves, d->n, known, proof, &n) != 0) {
		ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		hashes[i].data = proof[i];
		hashes[i].len = 32;
	}
	r.checkpoint = d->note;
	r.known_size = known;
	r.n_consistency = n;
	r.consistency = hashes;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_REPLY;
	reply.log_checkpoint_reply = &r;
	ss_request_reply(req, &reply);
}

static void ss_leaves_got(void *arg, int err, PGresult *res)
{
	struct ss_request *req = arg;
	struct ss_drawsvc *d = req->conn->srv->draws;
	SsEnvelope reply = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__LogLeavesReply r = SHUANGSUI__V1__LOG_LEAVES_REPLY__INIT;
	Shuangsui__V1__LogLeaf *ls, **ptrs;
	size_t room = req->conn->srv->cfg->max_frame_size - 512, used = 0;
	uint64_t proof_size = req->env->log_leaves_get->proof_size;
	ProtobufCBinaryData *bins = NULL;
	uint8_t (*hashes)[32] = NULL;
	int i, n = err == 0 ? PQntuples(res) : 0;

	if (err != 0) {
		ss_request_fail_db(req, err, res);
		return;
	}
	ls = calloc((size_t)n + 1, sizeof(*ls));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	/* Room for a proof with every leaf (at most 64 hashes, 34 bytes each on the wire). */
	if (proof_size > 0)
		room -= SS_MERKLE_MAX_PROOF * 34;
	if (proof_size > 0) {
		bins = calloc(((size_t)n + 1) * SS_MERKLE_MAX_PROOF, sizeof(*bins));
		hashes = malloc(((size_t)n + 1) * SS_MERKLE_MAX_PROOF * sizeof(*hashes));
	}
	if (ls == NULL || ptrs == NULL || (proof_size > 0 && (bins == NULL || hashes == NULL))) {
		free(ls);
		free(ptrs);
		free(bins);
		free(hashes);
		ss_request_fail(req, SS_ERR_NOMEM, NULL, NULL, NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		size_t len = (size_t)PQgetlength(res, i, 1), off = 0;
		uint64_t idx = 0;
		int k;

		for (k = 0; k < 8; k++)
			idx = idx << 8 | (uint8_t)PQgetvalue(res, i, 0)[k];
		/* A record larger than a frame travels in pieces: from the offset asked. */
		if (i == 0)
			off = req->env->log_leaves_get->offset < len ? req->env->log_leaves_get->offset : len;
		if (i > 0 && used + (len - off) + 128 + (proof_size > 0 ? SS_MERKLE_MAX_PROOF * 34 : 0) >
				     room)
			break;
		shuangsui__v1__log_leaf__init(&ls[i]);
		ls[i].index = idx;
		ls[i].record_offset = off;
		ls[i].record_total = len;
		ls[i].record.data = (uint8_t *)PQgetvalue(res, i, 1) + off;
		ls[i].record.len = len - off < room - used ? len - off : room - used;
		ls[i].signature.data = (uint8_t *)PQgetvalue(res, i, 2);
		ls[i].signature.len = (size_t)PQgetlength(res, i, 2);
		used += ls[i].record.len + ls[i].signature.len + 32;
		if (idx < proof_size) {
			ProtobufCBinaryData *b = bins + (size_t)i * SS_MERKLE_MAX_PROOF;
			uint8_t (*h)[32] = hashes + (size_t)i * SS_MERKLE_MAX_PROOF;
			size_t np = 0, k2;

			/* proof_size <= d->n was checked; the tree in memory is the log's. */
			if (ss_merkle_inclusion_proof((const uint8_t(*)[32])d->leaves, proof_size, idx, h,
						      &np) != 0) {
				free(ls);
				free(ptrs);
				free(bins);
				free(hashes);
				ss_request_fail(req, SS_ERR_INTERNAL, NULL, NULL, NULL);
				return;
			}
			for (k2 = 0; k2 < np; k2++) {
				b[k2].data = h[k2];
				b[k2].len = 32;
			}
			ls[i].n_inclusion = np;
			ls[i].inclusion = b;
			used += np * 34;
		}
		ptrs[i] = &ls[i];
	}
	r.n_leaves = (size_t)i;
	r.leaves = ptrs;
	r.tree_size = d ? d->n : 0;
	reply.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_REPLY;
	reply.log_leaves_reply = &r;
	ss_request_reply(req, &reply);
	free(ls);
	free(ptrs);
	free(bins);
	free(hashes);
}

void ss_handle_log_leaves_get(struct ss_request *req)
{
	const Shuangsui__V1__LogLeavesGet *g = req->env->log_leaves_get;
	char from[24], max[16];
	const char *params[2] = {from, max};

	struct ss_drawsvc *d = req->conn->srv->draws;

	if (g->proof_size > 0 && (d == NULL || d->key == NULL || g->proof_size > d->n)) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "log_leaves_get.proof_size",
				"an inclusion proof is given for a tree no larger than the log",
				"包含证明所依据的树不能大于日志");
		return;
	}
	/* A frame must hold a leaf's proof besides a piece of its record. */
	if (g->proof_size > 0 && req->conn->srv->cfg->max_frame_size < 4096 + SS_MERKLE_MAX_PROOF * 34) {
		ss_request_fail(req, SS_ERR_BAD_REQUEST, "log_leaves_get.proof_size",
				"this server's frames are too small to carry inclusion proofs",
				"本服务器的帧太小，无法携带包含证明");
		return;
	}
	snprintf(from, sizeof(from), "%" PRIu64, g->from);
	snprintf(max, sizeof(max), "%u", g->max == 0 || g->max > 1000 ? 1000u : g->max);
	if (ss_pgpool_query_binary(req->conn->srv->pool,
				   "SELECT idx, record, signature FROM log_leaves WHERE idx >= $1::bigint "
				   "ORDER BY idx LIMIT $2::integer",
				   2, params, ss_leaves_got, req) != 0)
		ss_request_fail(req, SS_ERR_DATABASE_UNAVAILABLE, NULL, NULL, NULL);
}

/* ---- key rotation (shuangsuid rotate-key, with the server stopped) ---- */

int ss_draws_rotate(const struct ss_config *cfg, const char *new_key_file, const char *reason)
{
	struct ss_drawsvc d;
	struct ss_key *next = NULL;
	struct ss_record rec;
	uint8_t *bytes = NULL, sig[SS_ROTATION_SIG_LEN], leaf[32], root[32], (*tmp)[32] = NULL;
	char *body = NULL, *note = NULL, *p_rec = NULL, *p_sig = NULL, *p_leaf = NULL, *p_root = NULL;
	char idx[24];
	size_t len = 0, body_len, note_len;
	PGconn *pg = NULL;
	PGresult *res = NULL;
	int rc;

	memset(&d, 0, sizeof(d));
	if (cfg->draw_key_file == NULL) {
		ss_error("rotate-key: draw.key_file (the current key) is not set");
		return SS_ERR_CONFIG;
	}
	if (ss_validate_text(reason, 2, 500) != 0) {
		ss_error("rotate-key: give the reason (2 to 500 characters)");
		return SS_ERR_BAD_REQUEST;
	}
	d.origin = cfg->draw_log_origin;
	rc = ss_key_load(cfg->draw_key_file, &d.key);
	if (rc == 0)
		rc = ss_key_load(new_key_file, &next);
	if (rc != 0) {
		ss_error("rotate-key: %s", ss_err_str(rc));
		goto out;
	}
	/* The log as it stands must check out under the current key. */
	rc = ss_log_load(&d, cfg->db_conninfo);
	if (rc == 0 && d.broken != NULL) {
		ss_error("rotate-key: the log does not check out (%s); nothing rotated", d.broken);
		rc = SS_ERR_INTERNAL;
	}
	if (rc == 0 && memcmp(ss_key_public(d.key), ss_key_public(next), SS_SIG_PUBLIC_KEY_LEN) == 0) {
		ss_error("rotate-key: the new key is the current key");
		rc = SS_ERR_BAD_REQUEST;
	}
	if (rc != 0)
		goto out;
	memset(&rec, 0, sizeof(rec));
	rec.type = SS_REC_KEY_ROTATION;
	rec.timestamp = (int64_t)time(NULL);
	memcpy(rec.old_key, ss_key_public(d.key), SS_SIG_PUBLIC_KEY_LEN);
	memcpy(rec.new_key, ss_key_public(next), SS_SIG_PUBLIC_KEY_LEN);
	rc = ss_record_encode(&rec, &bytes, &len);
	if (rc == 0)
		rc = ss_record_sign_rotation(d.key, next, bytes, len, sig);
	if (rc != 0)
		goto out;
	ss_record_leaf_hash(bytes, len, leaf);
	tmp = malloc((d.n + 1) * sizeof(*tmp));
	if (tmp == NULL) {
		rc = SS_ERR_NOMEM;
		goto out;
	}
	if (d.n)
		memcpy(tmp, d.leaves, d.n * sizeof(*tmp));
	memcpy(tmp[d.n], leaf, 32);
	ss_merkle_root((const uint8_t(*)[32])tmp, d.n + 1, root);
	/* From this leaf on, checkpoints are signed by the new key. */
	rc = ss_checkpoint_format(d.origin, d.n + 1, root, &body, &body_len);
	if (rc == 0)
		rc = ss_note_sign(body, body_len, d.origin, next, &note, &note_len);
	if (rc != 0)
		goto out;
	p_rec = ss_bytea_param(bytes, len);
	p_sig = ss_bytea_param(sig, sizeof(sig));
	p_leaf = ss_bytea_param(leaf, 32);
	p_root = ss_bytea_param(root, 32);
	snprintf(idx, sizeof(idx), "%zu", d.n);
	pg = PQconnectdb(cfg->db_conninfo);
	if (p_rec == NULL || p_sig == NULL || p_leaf == NULL || p_root == NULL ||
	    PQstatus(pg) != CONNECTION_OK) {
		ss_error("rotate-key: %s", pg ? PQerrorMessage(pg) : "out of memory");
		rc = SS_ERR_DATABASE_UNAVAILABLE;
		goto out;
	}
	{
		const char *params[8] = {"shuangsuid rotate-key", reason, p_rec, p_sig, p_leaf, idx,
					 p_root, note};

		res = PQexecParams(pg,
				   "SELECT draw_key_rotation_commit($1, $2, $3, $4, $5, $6::bigint, $7, $8)",
				   8, NULL, params, NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ss_error("rotate-key: %s (a server still running? stop it first)", PQerrorMessage(pg));
		rc = SS_ERR_INTERNAL;
		goto out;
	}
	{
		char pub[SS_SIG_PUBLIC_KEY_STR_LEN + 1];

		ss_key_public_string(next, pub);
		printf("key rotation logged at leaf %zu, signed by the old and the new key.\n"
		       "New public key: %s\n"
		       "Now set [draw] key_file = %s and start the server.  Clients that hold the old\n"
		       "key follow the rotation record; give auditors the new public key too.\n",
		       d.n, pub, new_key_file);
	}
out:
	PQclear(res);
	PQfinish(pg);
	free(p_rec);
	free(p_sig);
	free(p_leaf);
	free(p_root);
	free(body);
	free(note);
	free(tmp);
	free(bytes);
	free(d.leaves);
	free(d.note);
	free(d.broken);
	ss_key_free(d.key);
	ss_key_free(next);
	return rc;
}
