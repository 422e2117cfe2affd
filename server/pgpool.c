/*
 * pgpool.c — asynchronous libpq pool driven by libuv.
 */
#include "pgpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_error.h"
#include "ss_log.h"

#define SS_PG_CONNECT_TIMEOUT_MS 10000
#define SS_PG_BACKOFF_MIN_MS 100

struct ss_pgjob {
	struct ss_pgjob *next;
	char *sql;
	int nparams;
	char **params;
	ss_pg_cb cb;
	void *arg;
	char *copy_data; /* COPY FROM STDIN payload, or NULL for a plain query */
	size_t copy_len;
	size_t copy_sent;
	int copy_started; /* the server answered COPY_IN: data may flow */
	int copy_ended;
	int binary;   /* results in binary format */
	int *lengths; /* binary parameters: their lengths, or NULL (all text) */
	int *formats;
	size_t size; /* bytes of the parameters */
};

enum ss_pgconn_state { SS_PG_DOWN, SS_PG_CONNECTING, SS_PG_READY, SS_PG_BUSY, SS_PG_CLOSED };

struct ss_pgconn {
	struct ss_pgpool *pool;
	int index;
	PGconn *pg;
	uv_poll_t *poll; /* one per fd; freed in its close callback */
	int poll_fd;
	uv_timer_t timer; /* connect timeout and reconnect backoff */
	enum ss_pgconn_state state;
	struct ss_pgjob *job;
	PGresult *result;
	uint64_t backoff_ms;
	int was_up; /* logged "connected" once; log the loss once */
	/* A large statement being sent by a worker thread (ss_pgconn_send). */
	uv_work_t flush_work;
	int flushing;
	int flush_rc;
	int abandoned; /* the pool was aborted meanwhile: close when it returns */
};

struct ss_pgpool {
	uv_loop_t *loop;
	char *conninfo;
	char options[96]; /* "-c statement_timeout=N -c DateStyle=ISO,YMD" for every session */
	int session;      /* one connection holding one transaction: never reconnect */
	int session_lost; /* the session's connection failed: everything fails now */
	int size;
	struct ss_pgconn *conns;
	struct ss_pgjob *head, *tail;
	uv_idle_t kick; /* dispatches queued jobs outside the caller's stack */
	uint64_t reconnect_max_ms;
	int closing;
	int open_handles;
	void (*done)(void *);
	void *done_arg;
};

static void ss_pgconn_start(struct ss_pgconn *c);
static void ss_pgconn_on_backoff(uv_timer_t *t);
static void ss_pgconn_copy(struct ss_pgconn *c);
static void ss_pgpool_dispatch(struct ss_pgpool *pool);

static void ss_pgjob_free(struct ss_pgjob *j)
{
	int i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nparams; i++)
		free(j->params[i]);
	free(j->params);
	free(j->lengths);
	free(j->formats);
	free(j->sql);
	free(j->copy_data);
	free(j);
}

static void ss_pgjob_finish(struct ss_pgjob *j, int err, PGresult *res)
{
	j->cb(j->arg, err, res);
	ss_pgjob_free(j);
}

static void ss_pgpool_handle_closed(uv_handle_t *h)
{
	struct ss_pgpool *pool = h->data;

	if (h->type == UV_POLL)
		free(h);
	pool->open_handles--;
	if (pool->closing && pool->open_handles == 0 && pool->done != NULL)
		pool->done(pool->done_arg);
}

static void ss_pgconn_poll_close(struct ss_pgconn *c)
{
	if (c->poll == NULL)
		return;
	uv_poll_stop(c->poll);
	uv_close((uv_handle_t *)c->poll, ss_pgpool_handle_closed);
	c->poll = NULL;
	c->poll_fd = -1;
}

int ss_pgpool_connected(const struct ss_pgpool *pool)
{
	int i, n = 0;

	for (i = 0; i < pool->size; i++)
		if (pool->conns[i].state == SS_PG_READY || pool->conns[i].state == SS_PG_BUSY)
			n++;
	return n;
}

static void ss_pgpool_fail_queue(struct ss_pgpool *pool, int err)
{
	struct ss_pgjob *j;

	while ((j = pool->head) != NULL) {
		pool->head = j->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		ss_pgjob_finish(j, err, NULL);
	}
}

static void ss_pgpool_close_conn(struct ss_pgconn *c)
{
	ss_pgconn_poll_close(c);
	PQfinish(c->pg);
	c->pg = NULL;
	c->state = SS_PG_CLOSED;
	if (!uv_is_closing((uv_handle_t *)&c->timer)) {
		uv_timer_stop(&c->timer);
		c->timer.data = c->pool; /* ss_pgpool_handle_closed expects the pool */
		uv_close((uv_handle_t *)&c->timer, ss_pgpool_handle_closed);
	}
}

/*
 * Whether a query may be queued now: a pool needs a live connection; a
 * session also while its one connection is still being made.
 */
static int ss_pgpool_accepting(const struct ss_pgpool *pool)
{
	if (pool->session)
		return !pool->session_lost;
	return ss_pgpool_connected(pool) > 0;
}

/* The connection broke or could not be made: fail its job, back off, retry. */
static void ss_pgconn_fail(struct ss_pgconn *c, const char *what)
{
	struct ss_pgpool *pool = c->pool;
	struct ss_pgjob *job = c->job;

	if (c->was_up || c->backoff_ms >= pool->reconnect_max_ms)
		ss_warn("database connection %d: %s: %s", c->index, what,
			c->pg ? PQerrorMessage(c->pg) : "out of memory");
	c->was_up = 0;
	c->job = NULL;
	PQclear(c->result);
	c->result = NULL;
	ss_pgconn_poll_close(c);
	PQfinish(c->pg);
	c->pg = NULL;
	c->state = SS_PG_DOWN;
	if (job != NULL)
		ss_pgjob_finish(job, SS_ERR_DATABASE_UNAVAILABLE, NULL);
	if (pool->closing) {
		ss_pgpool_close_conn(c);
		return;
	}
	/* A session's transaction died with its connection: no reconnect,
	 * since later statements would run outside that transaction. */
	if (pool->session)
		pool->session_lost = 1;
	if (!ss_pgpool_accepting(pool))
		ss_pgpool_fail_queue(pool, SS_ERR_DATABASE_UNAVAILABLE);
	/* A failed job's callback may have closed the pool (and this timer). */
	if (pool->closing) {
		ss_pgpool_close_conn(c);
		return;
	}
	if (pool->session)
		return;
	uv_timer_start(&c->timer, ss_pgconn_on_backoff, c->backoff_ms, 0);
	c->backoff_ms *= 2;
	if (c->backoff_ms > pool->reconnect_max_ms)
		c->backoff_ms = pool->reconnect_max_ms;
}

static void ss_pgconn_on_poll(uv_poll_t *h, int status, int events);

/* Watches the connection's current socket for the given events. */
static int ss_pgconn_watch(struct ss_pgconn *c, int events)
{
	int fd = PQsocket(c->pg);

	if (fd < 0)
		return -1;
	/* libpq may switch sockets while connecting: one uv_poll_t per fd. */
	if (c->poll != NULL && c->poll_fd != fd)
		ss_pgconn_poll_close(c);
	if (c->poll == NULL) {
		c->poll = malloc(sizeof(*c->poll));
		if (c->poll == NULL)
			return -1;
		if (uv_poll_init(c->pool->loop, c->poll, fd) != 0) {
			free(c->poll);
			c->poll = NULL;
			return -1;
		}
		c->poll->data = c->pool;
		c->pool->open_handles++;
		c->poll_fd = fd;
	}
	/* uv_poll_t.data is the pool for the close callback; find c by index. */
	return uv_poll_start(c->poll, events, ss_pgconn_on_poll);
}

static void ss_pgconn_connect_poll(struct ss_pgconn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		if (ss_pgconn_watch(c, UV_READABLE) != 0)
			ss_pgconn_fail(c, "connect");
		return;
	case PGRES_POLLING_WRITING:
		if (ss_pgconn_watch(c, UV_WRITABLE) != 0)
			ss_pgconn_fail(c, "connect");
		return;
	case PGRES_POLLING_OK:
		uv_timer_stop(&c->timer);
		c->state = SS_PG_READY;
		c->backoff_ms = SS_PG_BACKOFF_MIN_MS;
		c->was_up = 1;
		ss_info("database connection %d established", c->index);
		if (ss_pgconn_watch(c, UV_READABLE) != 0) {
			ss_pgconn_fail(c, "watch");
			return;
		}
		ss_pgpool_dispatch(c->pool);
		return;
	default:
		ss_pgconn_fail(c, "connect");
		return;
	}
}

static void ss_pgconn_connect_timeout(uv_timer_t *t)
{
	struct ss_pgconn *c = t->data;

	if (c->state == SS_PG_CONNECTING)
		ss_pgconn_fail(c, "connect timed out");
}

static void ss_pgconn_notice(void *arg, const char *message)
{
	ss_debug("database: %.*s", (int)strcspn(message, "\n"), message);
}

/*
 * Keywords are applied in order and the last value wins; the conninfo is
 * expanded in place of "dbname" (expand_dbname), so the defaults before it
 * can be overridden by database.conninfo.  The keepalives and
 * tcp_user_timeout detect a database host that vanished without a reset in
 * about a minute instead of the kernel's two hours; statement_timeout comes
 * from PGOPTIONS (main.c).
 */
static void ss_pgconn_start(struct ss_pgconn *c)
{
	/* Our defaults come before "dbname": the configured conninfo, expanded
	 * in its place, overrides them. */
	static const char *const keys[] = {
		"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
		"tcp_user_timeout", "options", "dbname", "fallback_application_name", NULL};
	const char *values[] = {"1", "30", "10", "3", "30000", c->pool->options, c->pool->conninfo,
				"shuangsuid", NULL};

	if (c->pool->closing)
		return;
	c->pg = PQconnectStartParams(keys, values, 1);
	c->state = SS_PG_CONNECTING;
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD ||
	    PQsetnonblocking(c->pg, 1) != 0) {
		ss_pgconn_fail(c, "connect");
		return;
	}
	PQsetNoticeProcessor(c->pg, ss_pgconn_notice, NULL);
	/* PQconnectPoll ignores connect_timeout: the timer enforces it. */
	uv_timer_start(&c->timer, ss_pgconn_connect_timeout, SS_PG_CONNECT_TIMEOUT_MS, 0);
	if (ss_pgconn_watch(c, UV_WRITABLE) != 0)
		ss_pgconn_fail(c, "connect");
}

static void ss_pgconn_on_backoff(uv_timer_t *t)
{
	ss_pgconn_start(t->data);
}

/* A result a callback asked to keep (ss_pg_keep); the loop is single-threaded. */
static PGresult *ss_pg_kept;

void ss_pg_keep(PGresult *res)
{
	ss_pg_kept = res;
}

/* A finished statement: hand its result to the job, then take the next job. */
static void ss_pgconn_complete(struct ss_pgconn *c)
{
	struct ss_pgjob *job = c->job;
	PGresult *res = c->result;
	int err = 0;

	c->job = NULL;
	c->result = NULL;
	c->state = SS_PG_READY;
	if (res == NULL) {
		err = SS_ERR_INTERNAL;
	} else if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		   PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		/* Class 08 (connection) and 57 (operator intervention, including a
		 * statement timeout while waiting for a lock) mean "not now", not
		 * that the statement was wrong: the caller may retry later. */
		if (PQstatus(c->pg) == CONNECTION_BAD || state == NULL ||
		    strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0)
			err = SS_ERR_DATABASE_UNAVAILABLE;
		else
			err = SS_ERR_INTERNAL;
	}
	job->cb(job->arg, err, res);
	ss_pgjob_free(job);
	if (ss_pg_kept == res && res != NULL)
		ss_pg_kept = NULL; /* the callback owns it now */
	else
		PQclear(res);
	if (c->state == SS_PG_CLOSED) /* the callback closed the pool */
		return;
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		ss_pgconn_fail(c, "connection lost");
		return;
	}
	if (c->pool->closing) {
		ss_pgpool_close_conn(c);
		return;
	}
	ss_pgpool_dispatch(c->pool);
}

static void ss_pgconn_read(struct ss_pgconn *c)
{
	PGnotify *n;

	if (PQconsumeInput(c->pg) == 0) {
		ss_pgconn_fail(c, "connection lost");
		return;
	}
	while ((n = PQnotifies(c->pg)) != NULL)
		PQfreemem(n);
	if (c->state != SS_PG_BUSY) {
		if (PQstatus(c->pg) == CONNECTION_BAD)
			ss_pgconn_fail(c, "connection lost");
		return;
	}
	while (!PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);

		if (res == NULL) {
			ss_pgconn_complete(c);
			return;
		}
		if (PQresultStatus(res) == PGRES_COPY_IN) {
			/* The server waits for the data: send it as the socket allows. */
			PQclear(res);
			c->job->copy_started = 1;
			ss_pgconn_copy(c);
			return;
		}
		/* One statement gives one result; keep the last one seen. */
		PQclear(c->result);
		c->result = res;
	}
}

static void ss_pgconn_flush(struct ss_pgconn *c);

/*
 * Sends the job's COPY data without blocking: PQputCopyData returns 0 when
 * libpq's buffer is full, and we continue when the socket is writable.
 */
static void ss_pgconn_copy(struct ss_pgconn *c)
{
	struct ss_pgjob *j = c->job;

	while (j->copy_sent < j->copy_len) {
		size_t n = j->copy_len - j->copy_sent;
		int r;

		if (n > 65536)
			n = 65536;
		r = PQputCopyData(c->pg, j->copy_data + j->copy_sent, (int)n);
		if (r < 0) {
			ss_pgconn_fail(c, "copy");
			return;
		}
		if (r == 0) {
			if (ss_pgconn_watch(c, UV_READABLE | UV_WRITABLE) != 0)
				ss_pgconn_fail(c, "watch");
			return;
		}
		j->copy_sent += n;
	}
	if (!j->copy_ended) {
		int r = PQputCopyEnd(c->pg, NULL);

		if (r < 0) {
			ss_pgconn_fail(c, "copy end");
			return;
		}
		if (r == 0) {
			if (ss_pgconn_watch(c, UV_READABLE | UV_WRITABLE) != 0)
				ss_pgconn_fail(c, "watch");
			return;
		}
		j->copy_ended = 1;
	}
	ss_pgconn_flush(c);
}

static void ss_pgconn_flush(struct ss_pgconn *c)
{
	int r = PQflush(c->pg);

	if (r < 0)
		ss_pgconn_fail(c, "send");
	else if (ss_pgconn_watch(c, r == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE) != 0)
		ss_pgconn_fail(c, "watch");
}

static void ss_pgconn_on_poll(uv_poll_t *h, int status, int events)
{
	struct ss_pgpool *pool = h->data;
	struct ss_pgconn *c = NULL;
	int i;

	for (i = 0; i < pool->size; i++)
		if (pool->conns[i].poll == h)
			c = &pool->conns[i];
	if (c == NULL)
		return;
	if (c->state == SS_PG_CONNECTING) {
		ss_pgconn_connect_poll(c);
		return;
	}
	if (status < 0) {
		ss_pgconn_fail(c, uv_strerror(status));
		return;
	}
	if (c->state == SS_PG_BUSY && (events & UV_WRITABLE)) {
		struct ss_pgjob *j = c->job;

		if (j->copy_started && !j->copy_ended)
			ss_pgconn_copy(c);
		else
			ss_pgconn_flush(c);
		if (c->state != SS_PG_BUSY)
			return;
	}
	if (events & UV_READABLE)
		ss_pgconn_read(c);
}

/*
 * A statement of megabytes (a draw's population snapshot) is sent by a worker
 * thread in blocking mode: libpq's non-blocking flush moves the unsent rest of
 * its buffer to the front after every partial write, which is quadratic in
 * the statement's size (seconds for 80 MB); the blocking flush writes it in
 * one pass.  The loop leaves the connection alone meanwhile (its poll is
 * stopped); keepalives and tcp_user_timeout bound the wait on a dead peer.
 */
#define SS_PG_BIG_STATEMENT (1u << 20)

static void ss_pgconn_flush_work(uv_work_t *w)
{
	struct ss_pgconn *c = w->data;
	struct ss_pgjob *job = c->job;

	c->flush_rc = PQsendQueryParams(c->pg, job->sql, job->nparams, NULL,
					(const char *const *)job->params, job->lengths,
					job->formats, job->binary) == 1
			      ? PQflush(c->pg)
			      : -1;
	if (PQsetnonblocking(c->pg, 1) != 0)
		c->flush_rc = -1;
}

static void ss_pgconn_flush_done(uv_work_t *w, int status)
{
	struct ss_pgconn *c = w->data;
	struct ss_pgpool *pool = c->pool;

	c->flushing = 0;
	if (c->abandoned) {
		c->abandoned = 0;
		ss_pgpool_close_conn(c);
	} else if (status != 0 || c->flush_rc != 0) {
		ss_pgconn_fail(c, "send");
	} else if (ss_pgconn_watch(c, UV_READABLE) != 0) {
		ss_pgconn_fail(c, "watch");
	}
	/* The pending work counted as an open handle of the pool. */
	pool->open_handles--;
	if (pool->closing && pool->open_handles == 0 && pool->done != NULL)
		pool->done(pool->done_arg);
}

static void ss_pgconn_send(struct ss_pgconn *c, struct ss_pgjob *job)
{
	c->job = job;
	c->state = SS_PG_BUSY;
	/* Blocking mode can only be entered with nothing unsent: before the
	 * statement is put into libpq's buffer. */
	if (job->size >= SS_PG_BIG_STATEMENT && PQsetnonblocking(c->pg, 0) == 0) {
		if (c->poll != NULL)
			uv_poll_stop(c->poll);
		c->flush_work.data = c;
		c->flushing = 1;
		c->pool->open_handles++;
		if (uv_queue_work(c->pool->loop, &c->flush_work, ss_pgconn_flush_work,
				  ss_pgconn_flush_done) == 0)
			return;
		c->flushing = 0;
		c->pool->open_handles--;
		if (PQsetnonblocking(c->pg, 1) != 0) {
			ss_pgconn_fail(c, "send");
			return;
		}
	}
	if (PQsendQueryParams(c->pg, job->sql, job->nparams, NULL,
			      (const char *const *)job->params, job->lengths, job->formats,
			      job->binary) != 1) {
		ss_pgconn_fail(c, "send");
		return;
	}
	ss_pgconn_flush(c);
}

static void ss_pgpool_dispatch(struct ss_pgpool *pool)
{
	int i;

	for (i = 0; i < pool->size && pool->head != NULL; i++) {
		struct ss_pgconn *c = &pool->conns[i];
		struct ss_pgjob *job;

		if (c->state != SS_PG_READY)
			continue;
		job = pool->head;
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		job->next = NULL;
		ss_pgconn_send(c, job);
	}
	if (pool->head == NULL)
		uv_idle_stop(&pool->kick);
}

static void ss_pgpool_on_kick(uv_idle_t *h)
{
	struct ss_pgpool *pool = h->data;

	uv_idle_stop(h);
	if (!ss_pgpool_accepting(pool))
		ss_pgpool_fail_queue(pool, SS_ERR_DATABASE_UNAVAILABLE);
	else
		ss_pgpool_dispatch(pool); /* a session still connecting dispatches once up */
}

struct ss_pgpool *ss_pgpool_new(uv_loop_t *loop, const char *conninfo, int size,
				uint64_t reconnect_max_ms, uint64_t statement_timeout_ms)
{
	struct ss_pgpool *pool = calloc(1, sizeof(*pool));
	int i;

	if (pool == NULL)
		return NULL;
	/* ISO dates: date::text must read back as the normalized YYYY-MM-DD. */
	snprintf(pool->options, sizeof(pool->options),
		 "-c statement_timeout=%llu -c DateStyle=ISO,YMD",
		 (unsigned long long)statement_timeout_ms);
	pool->loop = loop;
	pool->size = size;
	pool->reconnect_max_ms = reconnect_max_ms;
	pool->conninfo = strdup(conninfo);
	pool->conns = calloc((size_t)size, sizeof(*pool->conns));
	if (pool->conninfo == NULL || pool->conns == NULL) {
		free(pool->conninfo);
		free(pool->conns);
		free(pool);
		return NULL;
	}
	uv_idle_init(loop, &pool->kick);
	pool->kick.data = pool;
	pool->open_handles = 1;
	for (i = 0; i < size; i++) {
		struct ss_pgconn *c = &pool->conns[i];

		c->pool = pool;
		c->index = i;
		c->poll_fd = -1;
		c->backoff_ms = SS_PG_BACKOFF_MIN_MS;
		uv_timer_init(loop, &c->timer);
		c->timer.data = c;
		pool->open_handles++;
		ss_pgconn_start(c);
	}
	return pool;
}

struct ss_pgpool *ss_pgpool_new_session(uv_loop_t *loop, const char *conninfo,
					uint64_t statement_timeout_ms)
{
	struct ss_pgpool *pool = ss_pgpool_new(loop, conninfo, 1, 1000, statement_timeout_ms);

	/* Set before the loop runs again, so before any connection callback. */
	if (pool != NULL)
		pool->session = 1;
	return pool;
}

static int ss_pgpool_enqueue(struct ss_pgpool *pool, const char *sql, int nparams,
			     const char *const *params, const int *lengths, ss_pg_cb cb, void *arg,
			     int binary)
{
	struct ss_pgjob *j;
	int i;

	if (pool->closing)
		return SS_ERR_SHUTTING_DOWN;
	if (!ss_pgpool_accepting(pool))
		return SS_ERR_DATABASE_UNAVAILABLE;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return SS_ERR_NOMEM;
	j->sql = strdup(sql);
	j->params = calloc((size_t)(nparams > 0 ? nparams : 1), sizeof(char *));
	if (j->sql == NULL || j->params == NULL)
		goto nomem;
	if (lengths != NULL) {
		j->lengths = calloc((size_t)(nparams > 0 ? nparams : 1), sizeof(int));
		j->formats = calloc((size_t)(nparams > 0 ? nparams : 1), sizeof(int));
		if (j->lengths == NULL || j->formats == NULL)
			goto nomem;
	}
	for (i = 0; i < nparams; i++) {
		j->nparams = i + 1;
		if (params[i] == NULL)
			continue;
		if (lengths != NULL && lengths[i] >= 0) {
			/* A binary parameter: lengths[i] bytes (bytea). */
			j->params[i] = malloc((size_t)lengths[i] + 1);
			if (j->params[i] == NULL)
				goto nomem;
			memcpy(j->params[i], params[i], (size_t)lengths[i]);
			j->lengths[i] = lengths[i];
			j->formats[i] = 1;
			j->size += (size_t)lengths[i];
		} else if ((j->params[i] = strdup(params[i])) == NULL) {
			goto nomem;
		} else {
			j->size += strlen(j->params[i]);
		}
	}
	j->nparams = nparams;
	j->cb = cb;
	j->arg = arg;
	j->binary = binary;
	if (pool->tail != NULL)
		pool->tail->next = j;
	else
		pool->head = j;
	pool->tail = j;
	uv_idle_start(&pool->kick, ss_pgpool_on_kick);
	return 0;
nomem:
	ss_pgjob_free(j);
	return SS_ERR_NOMEM;
}

int ss_pgpool_query(struct ss_pgpool *pool, const char *sql, int nparams,
		    const char *const *params, ss_pg_cb cb, void *arg)
{
	return ss_pgpool_enqueue(pool, sql, nparams, params, NULL, cb, arg, 0);
}

int ss_pgpool_query_lengths(struct ss_pgpool *pool, const char *sql, int nparams,
			    const char *const *params, const int *lengths, ss_pg_cb cb, void *arg)
{
	return ss_pgpool_enqueue(pool, sql, nparams, params, lengths, cb, arg, 0);
}

int ss_pgpool_query_binary(struct ss_pgpool *pool, const char *sql, int nparams,
			   const char *const *params, ss_pg_cb cb, void *arg)
{
	return ss_pgpool_enqueue(pool, sql, nparams, params, NULL, cb, arg, 1);
}

int ss_pgpool_copy(struct ss_pgpool *pool, const char *sql, char *data, size_t len, ss_pg_cb cb,
		   void *arg)
{
	int rc = ss_pgpool_query(pool, sql, 0, NULL, cb, arg);

	if (rc != 0) {
		free(data);
		return rc;
	}
	/* ss_pgpool_query appended the job at the tail; it has not been sent. */
	pool->tail->copy_data = data;
	pool->tail->copy_len = len;
	return 0;
}

/*
 * The forced close: statements still on the wire are abandoned (PQfinish
 * ends the session; the server cancels the statement when it notices) and
 * their callbacks get SS_ERR_SHUTTING_DOWN.
 */
static void ss_pgpool_abort(struct ss_pgpool *pool)
{
	int i;

	for (i = 0; i < pool->size; i++) {
		struct ss_pgconn *c = &pool->conns[i];
		struct ss_pgjob *job = c->job;

		if (c->state != SS_PG_BUSY)
			continue;
		ss_warn("database connection %d: abandoning a statement in flight", c->index);
		c->job = NULL;
		PQclear(c->result);
		c->result = NULL;
		/* Closed before the callback, which may call into the pool again;
		 * a worker thread still sending closes it when it returns. */
		if (c->flushing)
			c->abandoned = 1;
		else
			ss_pgpool_close_conn(c);
		if (job != NULL)
			ss_pgjob_finish(job, SS_ERR_SHUTTING_DOWN, NULL);
	}
}

/*
 * The first call closes gracefully (statements on the wire finish); a call
 * on a pool already closing aborts them (ss_pgpool_abort): the drain deadline
 * uses that.  done and arg of later calls are ignored.
 */
void ss_pgpool_close(struct ss_pgpool *pool, void (*done)(void *), void *arg)
{
	int i;

	if (pool->closing) {
		ss_pgpool_abort(pool);
		return;
	}
	pool->closing = 1;
	pool->done = done;
	pool->done_arg = arg;
	ss_pgpool_fail_queue(pool, SS_ERR_SHUTTING_DOWN);
	uv_close((uv_handle_t *)&pool->kick, ss_pgpool_handle_closed);
	for (i = 0; i < pool->size; i++) {
		struct ss_pgconn *c = &pool->conns[i];

		/* A statement on the wire finishes first (ss_pgconn_complete closes). */
		if (c->state != SS_PG_BUSY)
			ss_pgpool_close_conn(c);
	}
}

void ss_pgpool_free(struct ss_pgpool *pool)
{
	if (pool == NULL)
		return;
	free(pool->conninfo);
	free(pool->conns);
	free(pool);
}

/* ---- binary array parameters ---- */

static uint8_t *ss_pgarray_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* The header: dimensions (0 for an empty array), no NULLs, element type. */
static uint8_t *ss_pgarray_head(uint8_t *p, size_t n, uint32_t oid)
{
	p = ss_pgarray_put32(p, n > 0 ? 1 : 0);
	p = ss_pgarray_put32(p, 0);
	p = ss_pgarray_put32(p, oid);
	if (n > 0) {
		p = ss_pgarray_put32(p, (uint32_t)n);
		p = ss_pgarray_put32(p, 1);
	}
	return p;
}

int ss_pgarray_text(const char *const *items, size_t n, uint8_t **out, size_t *out_len)
{
	size_t len = 20, i;
	uint8_t *buf, *p;

	for (i = 0; i < n; i++) {
		size_t l = strlen(items[i]);

		if (l > INT32_MAX || len + 4 + l > INT32_MAX)
			return SS_ERR_BAD_REQUEST;
		len += 4 + l;
	}
	buf = malloc(len);
	if (buf == NULL)
		return SS_ERR_NOMEM;
	p = ss_pgarray_head(buf, n, 25 /* text */);
	for (i = 0; i < n; i++) {
		size_t l = strlen(items[i]);

		p = ss_pgarray_put32(p, (uint32_t)l);
		memcpy(p, items[i], l);
		p += l;
	}
	*out = buf;
	*out_len = (size_t)(p - buf);
	return 0;
}

int ss_pgarray_int4(const int32_t *items, size_t n, uint8_t **out, size_t *out_len)
{
	uint8_t *buf, *p;
	size_t i;

	if (n > (INT32_MAX - 20) / 8)
		return SS_ERR_BAD_REQUEST;
	buf = malloc(20 + 8 * n);
	if (buf == NULL)
		return SS_ERR_NOMEM;
	p = ss_pgarray_head(buf, n, 23 /* int4 */);
	for (i = 0; i < n; i++) {
		p = ss_pgarray_put32(p, 4);
		p = ss_pgarray_put32(p, (uint32_t)items[i]);
	}
	*out = buf;
	*out_len = (size_t)(p - buf);
	return 0;
}
