/*
 * test_crash.c — the server killed with SIGKILL at random points while it
 * opens and runs draws (issue 5): after every restart each act is wholly
 * present (record, log leaf, checkpoint, state, locked list) or wholly
 * absent, the log has no gap, the server's own integrity check passes, and
 * at the end the exported log replays clean in shuangsui-verify.
 * District 110106 (丰台区), which no other test uses.
 *
 * A first round, not killed, times the acts; kills then fall uniformly
 * within that time, round after round, until SS_CRASH_KILLS (default 20)
 * of them have landed between the first act and the last (at most four
 * times as many rounds).  The seed of the kill times is printed, and
 * SS_CRASH_SEED replays it.
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
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "uscc.h"

static struct th_server srv;

/* The flow helpers of the harness, on this file's server. */
#define out th_out
#define srv_path(name) th_path(&srv, name)
#define write_file(...) th_write(&srv, __VA_ARGS__)
#define cli(...) th_clif(&srv, __VA_ARGS__)
#define cli_ok(...) th_cli_ok(&srv, __VA_ARGS__)
#define assert_out th_assert_out
#define assert_db th_assert_db

static void write_task(const char *id)
{
	char name[64], doc[1024];
	FILE *f;

	snprintf(name, sizeof(name), "%s.json", id);
	f = fopen(srv_path(name), "w");
	assert_non_null(f);
	snprintf(doc, sizeof(doc),
		 "{\"plan_id\":\"AP-FT-2026\",\"name\":\"%s\",\"directory\":\"entity\","
		 "\"executing_unit\":\"ft-zjj\",\"draw_date\":\"@TODAY\","
		 "\"window\":{\"start\":\"@TODAY\",\"end\":\"@END\"},\"items\":[\"IT-F1\"],"
		 "\"strata\":[{\"name\":\"全部\",\"ratio\":0.05}],"
		 "\"inspectors\":{\"categories\":[\"建筑市场\"],\"group_size\":2}}",
		 id);
	fputs(th_dates(doc), f);
	fclose(f);
	cli_ok("city-legal", "task put %s %s --reason 'crash test'", id, srv_path(name));
}

static void fixture(void)
{
	char code[19];
	FILE *f;
	unsigned i;

	cli_ok("city-admin", "department set city-zjj --name 市住房和城乡建设局 --jurisdiction 110000 "
			     "--reason 'set up'");
	cli_ok("city-admin", "department set ft-zjj --name 丰台区住房和城乡建设局 --jurisdiction 110106 "
			     "--parent city-zjj --reason 'set up'");
	cli_ok("city-legal", "item set IT-F1 name='质量安全检查' legal_basis='《建设工程质量管理条例》' "
			     "department=丰台区住房和城乡建设局 method=onsite category=general "
			     "object_types=entity enforcement_category=建筑市场 status=active "
			     "--reason 'list'");
	f = fopen(srv_path("entities.csv"), "w");
	assert_non_null(f);
	fputs("credit_code,name,division_code,risk_level,credit_class,status\n", f);
	for (i = 1; i <= 6000; i++) {
		snprintf(code, sizeof(code), "91110106F%08u", i);
		code[17] = ss_uscc_check_char(code);
		code[18] = '\0';
		fprintf(f, "%s,丰台企业%u,110106,low,B,active\n", code, i);
	}
	fclose(f);
	cli_ok("city-admin", "entity import %s --reason 'initial list'", srv_path("entities.csv"));
	f = fopen(srv_path("inspectors.csv"), "w");
	assert_non_null(f);
	fputs("inspector_id,name,department,certificate_no,certificate_valid_from,"
	      "certificate_valid_to,categories,jurisdiction,status\n", f);
	for (i = 1; i <= 12; i++)
		fprintf(f, "FT-INS-%02u,检查员%u,丰台区住房和城乡建设局,ZF-FT-%02u,2024-01-01,2028-12-31,"
			   "建筑市场,110106,active\n",
			i, i, i);
	fclose(f);
	cli_ok("city-admin", "inspector import %s --reason 'initial list'", srv_path("inspectors.csv"));
	f = fopen(srv_path("plan.json"), "w");
	assert_non_null(f);
	fputs(th_dates("{\"kind\":\"annual\",\"department\":\"ft-zjj\",\"year\":@YEAR,\"name\":\"丰台区计划\","
	      "\"basis\":\"条例\",\"signoff\":{\"section_head\":\"甲\",\"leader\":\"乙\"},"
	      "\"rows\":[{\"task_name\":\"质量\",\"items\":[\"IT-F1\"],\"directory\":\"entity\","
	      "\"ratio\":0.05}]}"),
	      f);
	fclose(f);
	cli_ok("city-legal", "plan put AP-FT-2026 %s --reason plan", srv_path("plan.json"));
	cli_ok("city-legal", "plan submit AP-FT-2026 --version 1 --reason filing");
	cli_ok("city-legal", "plan approve AP-FT-2026 --version 1 --reason ok");
	cli_ok("city-legal", "plan publish AP-FT-2026 --version 1 --reason publish");
}

/* Sends open, waiver and draw of task, pipelined, on c; does not wait. */
static void send_acts(struct th_client *c, const char *task, int round)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__DrawOpen o = SHUANGSUI__V1__DRAW_OPEN__INIT;
	Shuangsui__V1__DrawWaive w = SHUANGSUI__V1__DRAW_WAIVE__INIT;
	Shuangsui__V1__DrawRun r = SHUANGSUI__V1__DRAW_RUN__INIT;
	char key[64];

	o.task_id = w.task_id = r.task_id = (char *)task;
	w.reason = "演练：见证人缺席由法规科记录";
	snprintf(key, sizeof(key), "crash-%d-%s-open", round, task);
	env.idempotency_key = key;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_OPEN;
	env.draw_open = &o;
	th_send(c, &env);
	snprintf(key, sizeof(key), "crash-%d-%s-waive", round, task);
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_WAIVE;
	env.draw_waive = &w;
	th_send(c, &env);
	snprintf(key, sizeof(key), "crash-%d-%s-run", round, task);
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_RUN;
	env.draw_run = &r;
	th_send(c, &env);
}

/* Every act wholly there or wholly absent; the log without a gap. */
static void check_invariants(void)
{
	/* Leaves 0..n-1, one checkpoint per size, nothing else. */
	assert_db("SELECT count(*) = coalesce(max(idx) + 1, 0) FROM log_leaves", "t");
	assert_db("SELECT (SELECT count(*) FROM log_checkpoints) = (SELECT count(*) FROM log_leaves) "
		  "AND NOT EXISTS (SELECT 1 FROM log_checkpoints c WHERE c.size > "
		  "(SELECT count(*) FROM log_leaves))",
		  "t");
	/* An opened draw: its leaf, its snapshots, the task frozen — and back. */
	assert_db("SELECT count(*) FROM draw_opens o WHERE NOT EXISTS (SELECT 1 FROM log_leaves l "
		  "WHERE l.idx = o.open_idx AND l.kind = 'draw-open' AND l.task_id = o.task_id) "
		  "OR NOT EXISTS (SELECT 1 FROM draw_snapshots s WHERE s.task_id = o.task_id "
		  "AND s.part = 'pool') OR NOT EXISTS (SELECT 1 FROM task_events e "
		  "WHERE e.task_id = o.task_id AND e.state = 'frozen')",
		  "0");
	assert_db("SELECT count(*) FROM log_leaves l WHERE l.kind = 'draw-open' "
		  "AND NOT EXISTS (SELECT 1 FROM draw_opens o WHERE o.open_idx = l.idx)",
		  "0");
	assert_db("SELECT count(*) FROM log_leaves l WHERE l.kind = 'witness-waiver' "
		  "AND NOT EXISTS (SELECT 1 FROM draw_waivers w WHERE w.idx = l.idx)",
		  "0");
	/* A draw: its leaf, the locked list, the task drawn — and back. */
	assert_db("SELECT count(*) FROM draws d WHERE NOT EXISTS (SELECT 1 FROM log_leaves l "
		  "WHERE l.idx = d.draw_idx AND l.kind = 'draw' AND l.task_id = d.task_id) "
		  "OR NOT EXISTS (SELECT 1 FROM task_list t WHERE t.task_id = d.task_id) "
		  "OR (SELECT state FROM tasks t WHERE t.task_id = d.task_id) NOT IN ('drawn', 'voided')",
		  "0");
	assert_db("SELECT count(*) FROM log_leaves l WHERE l.kind = 'draw' "
		  "AND NOT EXISTS (SELECT 1 FROM draws d WHERE d.draw_idx = l.idx)",
		  "0");
	assert_db("SELECT count(*) FROM tasks t WHERE t.task_id LIKE 'T-FT-%' AND (t.state = 'drawn') "
		  "<> EXISTS (SELECT 1 FROM draws d WHERE d.task_id = t.task_id)",
		  "0");
	assert_db("SELECT count(*) FROM task_list l WHERE NOT EXISTS (SELECT 1 FROM draws d "
		  "WHERE d.task_id = l.task_id)",
		  "0");
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void killed_during_draws(void **state)
{
	const char *env_kills = getenv("SS_CRASH_KILLS"), *env_seed = getenv("SS_CRASH_SEED");
	int want = env_kills ? atoi(env_kills) : 20, rounds = 0, i, k;
	unsigned seed = env_seed ? (unsigned)strtoul(env_seed, NULL, 10) : (unsigned)time(NULL);
	char task[2][32], cmd[1024];
	int before, killed_mid = 0, span;

	(void)state;
	fprintf(stderr, "SS_CRASH_SEED=%u\n", seed);
	srand(seed);
	assert_int_equal(th_server_start(&srv, NULL), 0);
	fixture();
	/* Round 0: how long the six acts take when nothing stops them. */
	{
		struct th_client *c[2];
		int64_t t0;

		for (k = 0; k < 2; k++) {
			snprintf(task[k], sizeof(task[k]), "T-FT-%02d-%c", rounds, 'a' + k);
			write_task(task[k]);
			c[k] = th_client_session(srv.port, "city-legal");
			assert_non_null(c[k]);
		}
		t0 = now_ms();
		for (k = 0; k < 2; k++)
			send_acts(c[k], task[k], rounds);
		for (k = 0; k < 6; k++) {
			SsEnvelope *rep = th_recv(c[k % 2], 60000);

			assert_non_null(rep);
			assert_int_equal(rep->body_case, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY);
			th_free(rep);
		}
		span = (int)(now_ms() - t0) + 1;
		for (k = 0; k < 2; k++)
			th_client_close(c[k]);
		rounds++;
		fprintf(stderr, "six acts take %d ms\n", span);
	}
	while (killed_mid < want && rounds <= 4 * want) {
		struct th_client *c[2];
		char *v;
		PGconn *db;
		int delay = rand() % span;

		for (k = 0; k < 2; k++) {
			snprintf(task[k], sizeof(task[k]), "T-FT-%02d-%c", rounds, 'a' + k);
			write_task(task[k]);
		}
		db = th_db(1);
		v = th_db_value(db, "SELECT count(*) FROM log_leaves");
		before = v ? atoi(v) : -1;
		free(v);
		for (k = 0; k < 2; k++) {
			c[k] = th_client_session(srv.port, "city-legal");
			assert_non_null(c[k]);
		}
		for (k = 0; k < 2; k++)
			send_acts(c[k], task[k], rounds);
		usleep((useconds_t)delay * 1000);
		th_server_stop(&srv, SIGKILL);
		for (k = 0; k < 2; k++)
			th_client_close(c[k]);
		v = th_db_value(db, "SELECT count(*) FROM log_leaves");
		/* Some of the six acts were logged, not all: killed in the middle. */
		if (v != NULL && atoi(v) > before && atoi(v) < before + 6)
			killed_mid++;
		fprintf(stderr, "round %d: killed after %d ms, %d of 6 acts logged\n", rounds, delay,
			v ? atoi(v) - before : -1);
		free(v);
		PQfinish(db);
		rounds++;
		assert_int_equal(th_server_start(&srv, NULL), 0);
		check_invariants();
		/* The restarted server re-read the log and found it whole. */
		cli_ok("city-auditor", "whoami");
		assert_false(th_server_log_contains(&srv, "INTEGRITY FAILURE"));
	}
	fprintf(stderr, "%d of %d kills fell between the first and the last act\n", killed_mid,
		rounds - 1);
	assert_true(killed_mid >= want);
	/* Unfinished draws are finished now; nothing was lost or duplicated. */
	for (i = 0; i < rounds; i++)
		for (k = 0; k < 2; k++) {
			char t[32];
			PGconn *db = th_db(1);
			char sql[256], *st;

			snprintf(t, sizeof(t), "T-FT-%02d-%c", i, 'a' + k);
			snprintf(sql, sizeof(sql), "SELECT draw_task_state('%s')", t);
			st = th_db_value(db, sql);
			PQfinish(db);
			assert_non_null(st);
			if (strcmp(st, "open") == 0)
				cli_ok("city-legal", "draw open %s", t);
			if (strcmp(st, "open") == 0 || strcmp(st, "opened") == 0) {
				snprintf(sql, sizeof(sql),
					 "SELECT count(*) FROM draw_waivers WHERE task_id = '%s'", t);
				db = th_db(1);
				free(st);
				st = th_db_value(db, sql);
				PQfinish(db);
				if (strcmp(st, "0") == 0)
					cli_ok("city-legal", "draw waive %s --reason '演练补记'", t);
				cli_ok("city-legal", "draw run %s", t);
			}
			free(st);
		}
	check_invariants();
	snprintf(cmd, sizeof(cmd), "%d", rounds * 2);
	assert_db("SELECT count(*) FROM draws WHERE task_id LIKE 'T-FT-%'", cmd);
	cli_ok("city-auditor", "log export %s", srv_path("crash-export"));
	snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify log %s --key %s > %s 2>&1", SS_TEST_BIN_DIR,
		 srv_path("crash-export"), th_pki("draw.key.pub"), srv_path("verify.out"));
	assert_int_equal(th_run(cmd), 0);
	th_server_stop(&srv, SIGTERM);
}

/* A test that fails half-way leaves no server running behind it. */
static int server_left_behind(void **state)
{
	(void)state;
	if (srv.pid > 0)
		th_server_stop(&srv, SIGKILL);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(killed_during_draws),
	};

	return cmocka_run_group_tests(tests, NULL, server_left_behind);
}
