/*
 * server.h — the shuangsuid server: listener, connections, requests.
 *
 * Ownership: the server owns its connections; a connection owns its TCP and
 * timer handles (embedded, freed in the close callback) and is freed only
 * when both are closed and no request of it is still in flight.  A request
 * holds a pointer to its connection; when the connection has gone, the
 * reply is dropped.
 */
#ifndef SS_SERVER_H
#define SS_SERVER_H

#include <openssl/ssl.h>
#include <stdint.h>
#include <uv.h>

#include "authz.h"
#include "config.h"
#include "frame.h"
#include "pgpool.h"
#include "tls.h"
#include "wire.h"

struct ss_divisions;
struct ss_calendar;
struct ss_import;

struct ss_principal {
	char *id, *office, *role_name, *jurisdiction;
	enum ss_role role;
};

struct ss_conn {
	struct ss_server *srv;
	struct ss_conn *prev, *next;
	uv_tcp_t tcp;
	uv_timer_t timer;  /* handshake, then idle, then the close guard */
	uv_shutdown_t shutdown_req;
	struct ss_tls_pump tls;
	struct ss_frame_reader reader;
	char fingerprint[65];
	char peer[64];
	struct ss_principal principal; /* set by Hello */
	int hello_done;
	int hello_pending;
	struct ss_import *import; /* the bulk import open on this connection, or NULL */
	int inflight;          /* requests being answered */
	uint64_t out_pending;  /* bytes handed to uv_write and not yet written */
	int reading;
	int read_paused;       /* back-pressure: output above the cap */
	int closing;           /* no more input; replies still in flight are dropped */
	int handles_open;
};

struct ss_server {
	uv_loop_t *loop;
	struct ss_config *cfg;
	char *config_path;
	char **overrides;
	int noverrides;
	SSL_CTX *tls;
	uv_tcp_t listener;
	uv_signal_t sig_term, sig_int, sig_hup;
	struct ss_pgpool *pool;        /* NULL once its close has begun */
	struct ss_pgpool *closed_pool; /* freed after the loop ends */
	struct ss_conn *conns;
	int nconns;
	int draining;
	int exit_code;
	int imports;                    /* bulk imports holding a session now */
	struct ss_divisions *divisions; /* GB/T 2260 table (data/areacodes) */
	struct ss_calendar *calendar;   /* official holidays (data/holiday-cn) + overrides */
	struct ss_drawsvc *draws;       /* the randomness service and its log (draw.c) */
};

struct ss_request {
	struct ss_conn *conn;
	uint64_t request_id;
	enum ss_op op;
	SsEnvelope *env;
	char sha256[65]; /* of the Envelope re-encoded with request_id = 0 */
	int close_after; /* close the connection once the reply is queued */
	void *work;      /* a handler's state across its statements */
	void (*work_free)(void *); /* releases work with the request */
	int err;         /* used while the refusal is being audited */
	char *err_field;
	char *err_en;
	char *err_zh;
};

/* Starts listening; returns 0 or a negative uv error (logged). */
int ss_server_listen(struct ss_server *srv);

/* Begins the graceful stop (SIGTERM): see docs/protocol.md §7. */
void ss_server_drain(struct ss_server *srv);

/* After a reload: closes the sessions whose certificates the new trust store or CRL refuses. */
void ss_server_recheck_certificates(struct ss_server *srv);

/* Closes every session of principal_id (after their queued replies). */
void ss_server_end_sessions(struct ss_server *srv, const char *principal_id);

/* Queues one packed frame for the peer (takes ownership of frame). */
void ss_conn_send(struct ss_conn *c, uint8_t *frame, size_t len);

/* Starts closing: TLS close_notify, pending output flushed, handles closed.
 * A no-op if already closing; replies still in flight are dropped. */
void ss_conn_close(struct ss_conn *c);

/*
 * Dispatches one request frame (implemented in handlers.c).  Returns 0, or
 * an error after which the connection must close (SS_ERR_MALFORMED_MESSAGE).
 */
int ss_request_dispatch(struct ss_conn *c, const uint8_t *payload, size_t len);

/* Sends the reply envelope for req and frees req. */
void ss_request_reply(struct ss_request *req, SsEnvelope *reply);

/* Sends an Error for req and frees req; field and details may be NULL. */
void ss_request_fail(struct ss_request *req, int err, const char *field, const char *detail_en,
		     const char *detail_zh);

/* Answers req with the error a failed statement carries (SQLSTATE class SS mapped to codes). */
void ss_request_fail_db(struct ss_request *req, int err, PGresult *res);

/* Runs one statement for req; on a queueing failure answers req and returns the error. */
int ss_request_query(struct ss_request *req, const char *sql, int n, const char *const *params,
		     ss_pg_cb cb);

/* Writes a "denied" audit event for req, then answers it with err (see docs/protocol.md §8). */
void ss_request_refuse(struct ss_request *req, int err, const char *field, const char *detail_en,
		       const char *detail_zh);

/* Checks a mutating request's idempotency key / a reason (2..500 characters);
 * on failure answers req (BAD_REQUEST naming the field) and returns -1. */
int ss_request_need_key(struct ss_request *req);
int ss_request_need_reason(struct ss_request *req, const char *reason, const char *field);

/*
 * How many of res's rows (ncols columns each) fit in one reply frame of max
 * bytes — at least one.  Pages are cut short to fit, and the client asks for
 * the rest with the cursor.
 */
int ss_rows_that_fit(PGresult *res, int ncols, uint32_t max);

/* Milliseconds since the epoch. */
int64_t ss_now_ms(void);

/* A request finished (reply sent or dropped): drops it from its connection. */
void ss_conn_request_done(struct ss_conn *c);

void ss_principal_clear(struct ss_principal *p);

/* Directory, import and calendar handlers (directory.c, import.c). */
void ss_handle_directory_query(struct ss_request *req);
void ss_handle_record_get(struct ss_request *req);
void ss_handle_record_history(struct ss_request *req);
void ss_handle_record_put(struct ss_request *req);
void ss_handle_import_begin(struct ss_request *req);
void ss_handle_import_chunk(struct ss_request *req);
void ss_handle_import_commit(struct ss_request *req);
void ss_handle_calendar_add_workdays(struct ss_request *req);
void ss_handle_calendar_between(struct ss_request *req);
void ss_handle_calendar_override(struct ss_request *req);
void ss_handle_department_put(struct ss_request *req);
void ss_handle_department_list(struct ss_request *req);
void ss_handle_plan_put(struct ss_request *req);
void ss_handle_plan_act(struct ss_request *req);
void ss_handle_plan_get(struct ss_request *req);
void ss_handle_plan_list(struct ss_request *req);
void ss_handle_task_put(struct ss_request *req);
void ss_handle_task_get(struct ss_request *req);
void ss_handle_task_preview(struct ss_request *req);
void ss_handle_targeted_record(struct ss_request *req);
void ss_handle_stats_query(struct ss_request *req);

/*
 * The eligible population of a task (docs/plans.md §5), as one SELECT with
 * its parameters: columns stratum (0-based; NULL in none), record_id,
 * excluded (NULL, 'inactive', 'annual_cap' or 'plan_rule').  Built from the
 * row of ss_task_population_sql (parameter $1: the task id).  With
 * `versions`, the rows are instead versions, unordered: record_id, version,
 * stratum (NULL unless active in the jurisdiction and in a stratum); each
 * record's latest version among them is its state as of the draw date,
 * a row of version 0 stands for each time an object was drawn in the draw
 * date's year by a draw in force (none without an annual cap), and a row
 * of version -1 names an object a plan rule excludes (population.h).
 */
struct ss_population {
	char *sql;
	char **params;
	int nparams;
};
extern const char *const ss_task_population_sql;
struct ss_population *ss_population_build(const char *directory, const char *jurisdiction,
					  const char *draw_date, const char *strata_json,
					  const char *annual_cap, const char *exclusions_json,
					  int versions);
void ss_population_free(struct ss_population *p);
/* How many to draw from a stratum (a task document's strata[i]) of `eligible`
 * objects, docs/plans.md §5; *shortfall: a count above the population. */
struct json_object;
uint64_t ss_stratum_k(struct json_object *stratum, uint64_t eligible, uint64_t *shortfall);

/* The randomness service (draw.c). */
struct ss_drawsvc;
int ss_draws_start(struct ss_server *srv);
void ss_draws_free(struct ss_server *srv);
/* shuangsuid rotate-key NEW_KEY_FILE REASON: appends the key-rotation record
 * (signed by the current and the new key) and a checkpoint signed by the new
 * key.  Blocking; run with the server stopped.  0 or an ss_err. */
struct ss_config;
int ss_draws_rotate(const struct ss_config *cfg, const char *new_key_file, const char *reason);
void ss_handle_draw_open(struct ss_request *req);
void ss_handle_draw_witness(struct ss_request *req);
void ss_handle_draw_waive(struct ss_request *req);
void ss_handle_draw_run(struct ss_request *req);
void ss_handle_draw_void(struct ss_request *req);
void ss_handle_draw_recuse(struct ss_request *req);
void ss_handle_draw_status(struct ss_request *req);
void ss_handle_receipt_get(struct ss_request *req);
void ss_handle_log_checkpoint_get(struct ss_request *req);
void ss_handle_log_leaves_get(struct ss_request *req);
/* Releases a connection's import state (the staging rows stay until the import is reused or cleaned). */
void ss_import_free(struct ss_import *imp);

#endif
