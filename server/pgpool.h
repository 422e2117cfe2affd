/*
 * pgpool.h — an asynchronous PostgreSQL connection pool on the libuv loop.
 *
 * Connections are opened with PQconnectStartParams/PQconnectPoll and driven
 * by one uv_poll_t each; queries are sent with PQsendQueryParams and read
 * with PQconsumeInput/PQgetResult, so nothing ever blocks the loop.  A
 * connection that fails is closed and reopened after an exponential backoff
 * (100 ms doubling up to reconnect_max_ms).  While no connection is up, a
 * query fails at once with SS_ERR_DATABASE_UNAVAILABLE; once one is back,
 * queries succeed again without a restart.
 *
 * Each query is one statement and therefore one transaction: operations
 * that change several rows call one SQL function that does the change and
 * writes its audit event together.
 */
#ifndef SS_PGPOOL_H
#define SS_PGPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

struct ss_pgpool;

/*
 * Called exactly once per query.  err is 0 when the statement succeeded
 * (res holds its result), SS_ERR_DATABASE_UNAVAILABLE when the database
 * could not be reached or the connection broke, or SS_ERR_INTERNAL when the
 * statement failed (res then holds the error result: PQresultErrorField
 * gives the SQLSTATE and message).  res may be NULL; the pool clears it
 * after the callback returns.
 */
typedef void (*ss_pg_cb)(void *arg, int err, PGresult *res);

/*
 * Creates a pool of size connections to conninfo; they start connecting at
 * once.  Every session runs with statement_timeout = statement_timeout_ms
 * (0: none) unless conninfo sets its own options.
 */
struct ss_pgpool *ss_pgpool_new(uv_loop_t *loop, const char *conninfo, int size,
				uint64_t reconnect_max_ms, uint64_t statement_timeout_ms);

/*
 * A session: one connection of its own, for a sequence of statements that
 * share one transaction (BEGIN ... COMMIT as separate queries, run in the
 * order queued).  Queries may be queued while it connects.  If its
 * connection fails, it never reconnects: every queued and later query
 * fails with SS_ERR_DATABASE_UNAVAILABLE, and the server has rolled the
 * transaction back.  Closed and freed like a pool.
 */
struct ss_pgpool *ss_pgpool_new_session(uv_loop_t *loop, const char *conninfo,
					uint64_t statement_timeout_ms);

/*
 * Queues one statement with text parameters (params[i] may be NULL for SQL
 * NULL; the strings are copied).  Returns 0 (cb will be called later, never
 * from inside this call) or SS_ERR_DATABASE_UNAVAILABLE / SS_ERR_SHUTTING_DOWN
 * / SS_ERR_NOMEM (cb will not be called).
 */
int ss_pgpool_query(struct ss_pgpool *pool, const char *sql, int nparams,
		    const char *const *params, ss_pg_cb cb, void *arg);
/* The same where lengths[i] >= 0 marks params[i] as a binary parameter of
 * that many bytes (a bytea sent as is, not as hex text); -1: text. */
int ss_pgpool_query_lengths(struct ss_pgpool *pool, const char *sql, int nparams,
			    const char *const *params, const int *lengths, ss_pg_cb cb, void *arg);
/*
 * PostgreSQL's binary array format (array_send) of n strings (text[]) or
 * n integers (integer[]), for a binary parameter: no quoting to add and no
 * array literal for the server to parse, which matters for arrays of
 * millions of ids.  0, or SS_ERR_NOMEM / SS_ERR_BAD_REQUEST (too large).
 */
int ss_pgarray_text(const char *const *items, size_t n, uint8_t **out, size_t *out_len);
int ss_pgarray_int4(const int32_t *items, size_t n, uint8_t **out, size_t *out_len);
/* The same with results in binary format (bytea as raw bytes, bigint as 8 bytes big-endian). */
int ss_pgpool_query_binary(struct ss_pgpool *pool, const char *sql, int nparams,
			   const char *const *params, ss_pg_cb cb, void *arg);

/*
 * Queues "COPY ... FROM STDIN" (sql) with its data (COPY text format), sent
 * without blocking; takes ownership of data (freed with free()) whatever the
 * outcome.  cb as for ss_pgpool_query; res is the COPY's final result.
 */
int ss_pgpool_copy(struct ss_pgpool *pool, const char *sql, char *data, size_t len, ss_pg_cb cb,
		   void *arg);

/* Number of connections currently established. */
int ss_pgpool_connected(const struct ss_pgpool *pool);

/*
 * Called from a statement's callback: the callback keeps res (a successful
 * result) and frees it later with PQclear, instead of the pool freeing it
 * when the callback returns.  For large results handed to a worker thread.
 */
void ss_pg_keep(PGresult *res);

/*
 * Stops the pool: queued queries that have not been sent fail with
 * SS_ERR_SHUTTING_DOWN, queries on the wire finish, then every connection is
 * finished and every handle closed; done(arg) is called once all are closed.
 * A second call aborts: statements still on the wire are abandoned
 * (PQfinish) and their callbacks get SS_ERR_SHUTTING_DOWN.
 */
void ss_pgpool_close(struct ss_pgpool *pool, void (*done)(void *), void *arg);

/* Frees a pool after its close callback ran. Accepts NULL. */
void ss_pgpool_free(struct ss_pgpool *pool);

#endif
