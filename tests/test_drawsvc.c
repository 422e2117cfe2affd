/*
 * test_drawsvc.c — issue 5 end to end: a witnessed draw from open to receipt,
 * checked by the real shuangsui-verify; one draw per task under 50
 * concurrent requests, every caller answered with the same draw and the
 * same receipt; recusal and void; the annual cap and the oversight figures
 * with real draws; a record changed behind the server's back is reported.
 * Everything runs in district 110105 (朝阳区), which no other test uses.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "merkle.h"
#include "note.h"
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

static int server_up(void **state)
{
	(void)state;
	return th_server_start(&srv, NULL);
}

static int server_down(void **state)
{
	(void)state;
	if (srv.pid > 0)
		th_server_stop(&srv, SIGKILL);
	return 0;
}

static void uscc(char out18[19], unsigned n)
{
	snprintf(out18, 19, "91110105D%08u", n);
	out18[17] = ss_uscc_check_char(out18);
	out18[18] = '\0';
}

static const char task_fmt[] =
	"{\"plan_id\":\"AP-CY-2026\",\"name\":\"%s\",\"directory\":\"entity\","
	"\"executing_unit\":\"cy-zjj\",\"draw_date\":\"@TODAY\","
	"\"window\":{\"start\":\"@TODAY\",\"end\":\"@END\"},\"items\":[\"IT-D1\"],"
	"\"strata\":[%s],"
	"\"inspectors\":{\"categories\":[\"建筑市场\"],\"group_size\":2,\"experts\":1},"
	"\"witnesses\":[\"discipline-supervisor\"]}";

static const char two_strata[] =
	"{\"name\":\"高风险\",\"filter\":{\"risk_level\":[\"high\"]},\"count\":3},"
	"{\"name\":\"其他\",\"ratio\":0.2}";

/* Makes task id under the published plan with the given strata. */
static void make_task(const char *id, const char *strata)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.json", id);
	write_file(name, task_fmt, id, strata);
	cli_ok("city-legal", "task put %s %s --reason 'set up %s'", id, srv_path(name), id);
}

/* Departments, an item, 30 entities (10 high risk), 10 inspectors (2 experts),
 * one declared conflict, and a published annual plan. */
static void fixture(void)
{
	static int done;
	char code[19];
	FILE *f;
	unsigned i;

	if (done)
		return;
	done = 1;
	cli_ok("city-admin", "department set city-zjj --name 市住房和城乡建设局 --jurisdiction 110000 "
			     "--reason 'set up'");
	cli_ok("city-admin", "department set cy-zjj --name 朝阳区住房和城乡建设局 --jurisdiction 110105 "
			     "--parent city-zjj --reason 'set up'");
	cli_ok("city-legal", "item set IT-D1 name='施工许可检查' legal_basis='《建筑法》第七条' "
			     "department=朝阳区住房和城乡建设局 method=onsite category=key "
			     "object_types=entity enforcement_category=建筑市场 status=active "
			     "--reason 'list'");
	f = fopen(srv_path("entities.csv"), "w");
	assert_non_null(f);
	fputs("credit_code,name,division_code,risk_level,credit_class,status\n", f);
	for (i = 1; i <= 30; i++) {
		uscc(code, i);
		fprintf(f, "%s,朝阳企业%u,110105,%s,B,active\n", code, i, i <= 10 ? "high" : "low");
	}
	fclose(f);
	cli_ok("city-admin", "entity import %s --reason 'initial list'", srv_path("entities.csv"));
	f = fopen(srv_path("inspectors.csv"), "w");
	assert_non_null(f);
	fputs("inspector_id,name,department,certificate_no,certificate_valid_from,"
	      "certificate_valid_to,categories,jurisdiction,status,is_expert\n", f);
	for (i = 1; i <= 10; i++)
		fprintf(f, "CY-INS-%02u,检查员%u,朝阳区住房和城乡建设局,ZF-CY-%02u,2024-01-01,2028-12-31,"
			   "建筑市场,110105,active,%s\n",
			i, i, i, i > 8 ? "t" : "f");
	/* Certificate expired before the window: not qualified. */
	fputs("CY-INS-11,过期员,朝阳区住房和城乡建设局,ZF-CY-11,2020-01-01,2021-06-30,建筑市场,110105,"
	      "active,f\n", f);
	fclose(f);
	cli_ok("city-admin", "inspector import %s --reason 'initial list'", srv_path("inspectors.csv"));
	uscc(code, 1);
	cli_ok("city-admin", "conflict set 'CY-INS-01|%s' division_code=110105 "
			     "relationship='亲属任法定代表人' source=declared status=active "
			     "--reason 'declared'",
	       code);
	write_file("plan.json",
		   "{\"kind\":\"annual\",\"department\":\"cy-zjj\",\"year\":@YEAR,\"name\":\"朝阳区2026年度计划\","
		   "\"basis\":\"《建筑法》\",\"signoff\":{\"section_head\":\"王五\",\"leader\":\"赵六\"},"
		   "\"rows\":[{\"task_name\":\"施工许可\",\"items\":[\"IT-D1\"],\"directory\":\"entity\","
		   "\"ratio\":0.1}]}");
	cli_ok("city-legal", "plan put AP-CY-2026 %s --reason 'annual plan'", srv_path("plan.json"));
	cli_ok("city-legal", "plan submit AP-CY-2026 --version 1 --reason filing");
	cli_ok("city-legal", "plan approve AP-CY-2026 --version 1 --reason ok");
	cli_ok("city-legal", "plan publish AP-CY-2026 --version 1 --reason publish");
}

static const char dice[] = "31415926535897932384626433";

static void witnessed_draw(void **state)
{
	char rec[512], cmd[1024], e1[19], *v;
	FILE *f;
	long size;

	(void)state;
	fixture();
	make_task("T-CY-1", two_strata);
	assert_int_equal(cli("city-legal", "draw run T-CY-1"), 4);
	assert_out("not been opened");
	cli_ok("city-legal", "--json draw open T-CY-1");
	assert_out("\"state\":\"opened\"");
	assert_out("\"witnesses_expected\":[\"discipline-supervisor\"]");
	/* The population is frozen: the task no longer changes. */
	assert_int_equal(cli("city-legal", "task put T-CY-1 %s --reason change",
			     srv_path("T-CY-1.json")),
			 4);
	assert_out("locked");
	/* Not before the witness, and only a supervisor witnesses. */
	assert_int_equal(cli("city-legal", "draw run T-CY-1"), 4);
	assert_out("waits for its witnesses (discipline-supervisor)");
	assert_int_equal(cli("district-a-operator", "draw witness T-CY-1 --entropy %s", dice), 4);
	assert_int_equal(cli("discipline-supervisor", "draw witness T-CY-1 --entropy 123"), 4);
	assert_out("20 to 256 decimal digits");
	cli_ok("discipline-supervisor", "draw witness T-CY-1 --entropy %s", dice);
	assert_out("logged witness record");
	cli_ok("city-legal", "--json draw run T-CY-1");
	/* 3 of the 9 eligible high-risk objects (E1's only conflict does not
	 * exclude it), and ceil(0.2 x 20) = 4 others. */
	assert_out("\"state\":\"drawn\"");
	assert_out("\"drawn\":7");
	assert_db("SELECT count(*) FROM task_list WHERE task_id = 'T-CY-1'", "7");
	assert_db("SELECT state FROM tasks WHERE task_id = 'T-CY-1'", "drawn");
	/* Asked again: the same draw. */
	{
		PGconn *db = th_db(1);

		v = th_db_value(db, "SELECT draw_idx FROM draws WHERE task_id = 'T-CY-1'");
		PQfinish(db);
		assert_non_null(v);
	}
	cli_ok("city-legal", "--json draw run T-CY-1");
	snprintf(rec, sizeof(rec), "\"draw_leaf_index\":%s", v);
	assert_out(rec);
	free(v);
	assert_db("SELECT count(*) FROM log_leaves WHERE task_id = 'T-CY-1' AND kind = 'draw'", "1");
	/* The receipt, verified by the auditor's tool with the public key only. */
	cli_ok("city-auditor", "draw receipt T-CY-1 -o %s", srv_path("t1.receipt"));
	snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify receipt %s --key %s > %s 2>&1",
		 SS_TEST_BIN_DIR, srv_path("t1.receipt"), th_pki("draw.key.pub"), srv_path("v.out"));
	assert_int_equal(th_run(cmd), 0);
	/* One changed byte in the middle of the draw record is caught. */
	f = fopen(srv_path("t1.receipt"), "r+b");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size / 3, SEEK_SET);
	{
		int c = fgetc(f);

		fseek(f, size / 3, SEEK_SET);
		fputc(c ^ 0x01, f);
	}
	fclose(f);
	assert_int_not_equal(th_run(cmd), 0);
	/* The groups: two inspectors each, leader first; E1's conflicted
	 * inspector never in E1's group; one expert each. */
	cli_ok("city-auditor", "--json draw show T-CY-1");
	uscc(e1, 1);
	assert_out("\"inspectors\":[\"CY-INS-");
	assert_out("\"experts\":[\"CY-INS-");
	snprintf(rec, sizeof(rec), "{\"object\":\"%s\",\"inspectors\":[", e1);
	{
		char *g = strstr(out, rec), *end;

		if (g != NULL) { /* E1 was drawn: its group leaves out CY-INS-01 */
			end = strchr(g + strlen(rec), ']');
			assert_non_null(end);
			*end = '\0';
			assert_null(strstr(g, "CY-INS-01"));
			*end = ']';
		}
	}
	/* The expired certificate never appears. */
	assert_null(strstr(out, "CY-INS-11"));
}

/* Two witnesses who contribute in the other order than the task lists them:
 * the seed takes them in the listed order, and the receipt verifies. */
static void witnesses_in_any_order(void **state)
{
	char cmd[1024];

	(void)state;
	fixture();
	write_file("T-CY-7.json",
		   "{\"plan_id\":\"AP-CY-2026\",\"name\":\"两名见证人\",\"directory\":\"entity\","
		   "\"executing_unit\":\"cy-zjj\",\"draw_date\":\"@TODAY\","
		   "\"window\":{\"start\":\"@TODAY\",\"end\":\"@END\"},"
		   "\"items\":[\"IT-D1\"],\"strata\":[{\"name\":\"低风险\",\"filter\":{\"risk_level\":[\"low\"]},\"count\":2}],"
		   "\"inspectors\":{\"categories\":[\"建筑市场\"]},"
		   "\"witnesses\":[\"discipline-supervisor\",\"district-supervisor\"]}");
	cli_ok("city-legal", "task put T-CY-7 %s --reason two", srv_path("T-CY-7.json"));
	cli_ok("city-legal", "draw open T-CY-7");
	cli_ok("district-supervisor", "draw witness T-CY-7 --entropy 66666666666666666666");
	assert_int_equal(cli("city-legal", "draw run T-CY-7"), 4);
	assert_out("waits for its witnesses (discipline-supervisor)");
	cli_ok("discipline-supervisor", "draw witness T-CY-7 --entropy %s", dice);
	cli_ok("city-legal", "draw run T-CY-7");
	cli_ok("city-auditor", "draw receipt T-CY-7 -o %s", srv_path("t7.receipt"));
	snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify receipt %s --key %s > %s 2>&1",
		 SS_TEST_BIN_DIR, srv_path("t7.receipt"), th_pki("draw.key.pub"), srv_path("v7.out"));
	assert_int_equal(th_run(cmd), 0);
}

static void recusal_and_void(void **state)
{
	char obj[64], ins[64], *p;

	(void)state;
	fixture();
	cli_ok("city-auditor", "--json draw show T-CY-1");
	p = strstr(out, "{\"object\":\"");
	assert_non_null(p);
	sscanf(p, "{\"object\":\"%63[^\"]\",\"inspectors\":[\"%63[^\"]", obj, ins);
	cli_ok("city-legal", "--json draw recuse T-CY-1 --object %s --inspector %s "
			     "--reason '与该企业负责人系同学关系'",
	       obj, ins);
	assert_out("\"record_type\":\"recusal\"");
	assert_out("\"replacement\":\"CY-INS-");
	assert_db("SELECT count(*) FROM draw_recusals WHERE task_id = 'T-CY-1'", "1");
	/* Voiding is the legal office's, with a reason; the draw stays visible. */
	assert_int_equal(cli("district-a-operator", "draw void T-CY-1 --reason mine"), 4);
	cli_ok("city-legal", "--json draw void T-CY-1 --reason '执行单位申请：名单录入有误'");
	assert_out("\"state\":\"voided\"");
	cli_ok("city-auditor", "draw receipt T-CY-1 -o %s", srv_path("t1-after-void.receipt"));
	assert_db("SELECT count(*) FROM audit_events WHERE operation = 'draw.void' AND outcome = 'ok' "
		  "AND actor = 'city-legal' AND reason = '执行单位申请：名单录入有误'",
		  "1");
}

/* 50 clients ask for the draw of one task at once. */
static void fifty_concurrent(void **state)
{
	struct th_client *c[50];
	uint64_t leaf[50];
	char sha[2][65];
	int i, n;

	(void)state;
	fixture();
	make_task("T-CY-2", two_strata);
	cli_ok("city-legal", "draw open T-CY-2");
	cli_ok("city-legal", "draw waive T-CY-2 --reason '纪检监察室人员外出培训，经分管领导同意'");
	for (i = 0; i < 50; i++) {
		c[i] = th_client_session(srv.port, "city-legal");
		assert_non_null(c[i]);
	}
	for (i = 0; i < 50; i++) {
		SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
		Shuangsui__V1__DrawRun r = SHUANGSUI__V1__DRAW_RUN__INIT;
		char key[32];

		snprintf(key, sizeof(key), "fifty-%d", i);
		r.task_id = "T-CY-2";
		env.request_id = 7;
		env.idempotency_key = key;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_RUN;
		env.draw_run = &r;
		assert_int_equal(th_send(c[i], &env), 0);
	}
	for (i = 0, n = 0; i < 50; i++) {
		SsEnvelope *rep = th_recv(c[i], 60000);

		assert_non_null(rep);
		if (rep->body_case != SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY)
			fprintf(stderr, "client %d: %s\n", i,
				rep->body_case == SHUANGSUI__V1__ENVELOPE__BODY_ERROR
					? rep->error->message_en
					: "?");
		assert_int_equal(rep->body_case, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY);
		assert_string_equal(rep->draw_reply->state, "drawn");
		leaf[i] = rep->draw_reply->draw_leaf_index;
		n += leaf[i] == leaf[0];
		th_free(rep);
		th_client_close(c[i]);
	}
	assert_int_equal(n, 50);
	assert_db("SELECT count(*) FROM draws WHERE task_id = 'T-CY-2'", "1");
	assert_db("SELECT count(*) FROM log_leaves WHERE task_id = 'T-CY-2' AND kind = 'draw'", "1");
	/* Every caller gets the same receipt, byte for byte. */
	for (i = 0; i < 2; i++) {
		char name[32], cmd[512];
		FILE *p;

		snprintf(name, sizeof(name), "t2-%d.receipt", i);
		cli_ok(i ? "district-a-operator" : "city-auditor", "draw receipt T-CY-2 -o %s",
		       srv_path(name));
		snprintf(cmd, sizeof(cmd), "sha256sum < %s", srv_path(name));
		p = popen(cmd, "r");
		assert_non_null(p);
		assert_non_null(fgets(sha[i], sizeof(sha[i]), p));
		pclose(p);
	}
	assert_string_equal(sha[0], sha[1]);
}

/* A request retried under its idempotency key gets the leaf it got the
 * first time; another request under the same key is refused. */
static SsEnvelope *act(struct th_client *c, const char *key, int run, const char *task)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__DrawOpen o = SHUANGSUI__V1__DRAW_OPEN__INIT;
	Shuangsui__V1__DrawRun r = SHUANGSUI__V1__DRAW_RUN__INIT;

	o.task_id = r.task_id = (char *)task;
	env.idempotency_key = (char *)key;
	if (run) {
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_RUN;
		env.draw_run = &r;
	} else {
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_OPEN;
		env.draw_open = &o;
	}
	return th_call(c, &env);
}

static void retries_get_the_same_leaf(void **state)
{
	struct th_client *c;
	SsEnvelope *a, *b;

	(void)state;
	fixture();
	make_task("T-CY-8", two_strata);
	c = th_client_session(srv.port, "city-legal");
	assert_non_null(c);
	a = act(c, "open-T-CY-8", 0, "T-CY-8");
	b = act(c, "open-T-CY-8", 0, "T-CY-8");
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->body_case, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY);
	assert_int_equal(b->body_case, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY);
	assert_int_equal(a->draw_reply->leaf_index, b->draw_reply->leaf_index);
	assert_int_equal(b->draw_reply->leaf_hash.len, 32);
	assert_memory_equal(a->draw_reply->leaf_hash.data, b->draw_reply->leaf_hash.data, 32);
	th_free(a);
	th_free(b);
	/* The same key for another request: refused, nothing done. */
	a = act(c, "open-T-CY-8", 1, "T-CY-8");
	assert_non_null(a);
	assert_int_equal(a->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(a->error->code, SHUANGSUI__V1__ERROR_CODE__IDEMPOTENCY_CONFLICT);
	th_free(a);
	assert_db("SELECT count(*) FROM log_leaves WHERE task_id = 'T-CY-8'", "1");
	th_client_close(c);
	/* The operator of another district may not run or re-put this task. */
	assert_int_equal(cli("district-b-operator", "draw run T-CY-8"), 4);
	assert_int_equal(cli("district-b-operator", "task put T-CY-8 %s --reason takeover",
			     srv_path("T-CY-8.json")),
			 4);
}

/* The annual cap with real draws, then the oversight figures. */
static void cap_and_figures(void **state)
{
	static const char all_high[] = "{\"name\":\"高风险\",\"filter\":{\"risk_level\":[\"high\"]},"
				       "\"count\":10}";

	(void)state;
	fixture();
	/* T-CY-2 drew 3 high-risk objects.  T-CY-3 draws all 10: those 3 are
	 * then at 2 draws this year, and T-CY-4 gets only the other 7. */
	make_task("T-CY-3", all_high);
	cli_ok("city-legal", "draw open T-CY-3");
	cli_ok("discipline-supervisor", "draw witness T-CY-3 --entropy %s", dice);
	cli_ok("city-legal", "draw run T-CY-3");
	make_task("T-CY-4", all_high);
	cli_ok("city-legal", "--json task preview T-CY-4");
	assert_out("\"matched\":10,\"excluded_inactive\":0,\"excluded_cap\":3,\"excluded_plan\":0,"
		   "\"eligible\":7,\"to_draw\":7,\"shortfall\":3");
	cli_ok("city-legal", "draw open T-CY-4");
	cli_ok("discipline-supervisor", "draw witness T-CY-4 --entropy %s", dice);
	cli_ok("city-legal", "--json draw run T-CY-4");
	assert_out("\"drawn\":7");
	make_task("T-CY-5", all_high);
	cli_ok("city-legal", "--json task preview T-CY-5");
	assert_out("\"matched\":10,\"excluded_inactive\":0,\"excluded_cap\":10,\"excluded_plan\":0,"
		   "\"eligible\":0,\"to_draw\":0,\"shortfall\":10");
	/* One inspection not made by draw. */
	cli_ok("city-legal", "targeted record TI-CY-1 --department cy-zjj --directory entity "
			     "--object 91110105MA0000000X --kind complaint --on @TODAY "
			     "--items IT-D1 --reason '群众投诉转办'");
	/* By hand: random inspections in force are T-CY-2 (7), T-CY-3 (10),
	 * T-CY-4 (7) = 24 (T-CY-1 was voided); with 1 targeted: 24/25 = 0.96.
	 * IT-D1, the department's one item, was checked: 1/1.  Entity draws in
	 * November: 3.  No object was drawn more than twice. */
	cli_ok("city-auditor", "--json stats --department cy-zjj --from @START --to @END");
	assert_out("{\"department\":\"cy-zjj\",\"name\":\"random_share\",\"period\":\"@START..@END\","
		   "\"value\":0.96,\"numerator\":24,\"denominator\":25,\"target\":0.1,\"at_least\":true,"
		   "\"met\":true}");
	assert_out("{\"department\":\"cy-zjj\",\"name\":\"item_coverage\",\"period\":\"@START..@END\","
		   "\"value\":1,\"numerator\":1,\"denominator\":1,\"target\":0.5,\"at_least\":true,"
		   "\"met\":true}");
	assert_out("{\"department\":\"cy-zjj\",\"name\":\"draws_per_month\",\"period\":\"entity @MONTH\","
		   "\"value\":3,\"numerator\":3,\"denominator\":1,\"target\":2,\"at_least\":true,"
		   "\"met\":true}");
	assert_out("{\"department\":\"cy-zjj\",\"name\":\"draws_per_month\",\"period\":\"entity @OTHERMONTH\","
		   "\"value\":0,\"numerator\":0,\"denominator\":1,\"target\":2,\"at_least\":true,"
		   "\"met\":false}");
	assert_out("{\"department\":\"cy-zjj\",\"name\":\"over_cap\",\"period\":\"@START..@END\","
		   "\"value\":0,\"numerator\":0,\"denominator\":1,\"target\":0,\"at_least\":false,"
		   "\"met\":true}");
	assert_out("\"name\":\"tasks_drawn\",\"period\":\"@START..@END\",\"value\":3,"
		   "\"numerator\":3");
	assert_out("\"name\":\"tasks_voided\",\"period\":\"@START..@END\",\"value\":1");
	/* The same figures as a spreadsheet. */
	cli_ok("city-auditor", "stats --department cy-zjj --from @START --to @END -o %s",
	       srv_path("stats.xlsx"));
}

/* A draw record changed directly in PostgreSQL is reported: by the export's
 * replay, and after a restart by the server and every client. */
static void tampering_is_reported(void **state)
{
	char cmd[1024], *saved;
	PGconn *db;
	PGresult *r;

	(void)state;
	fixture();
	cli_ok("city-auditor", "log export %s", srv_path("export-ok"));
	snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify log %s --key %s > %s 2>&1", SS_TEST_BIN_DIR,
		 srv_path("export-ok"), th_pki("draw.key.pub"), srv_path("vlog.out"));
	assert_int_equal(th_run(cmd), 0);
	db = th_db(1);
	assert_non_null(db);
	/* The owner cannot change it (append-only triggers)… */
	r = PQexec(db, "UPDATE log_leaves SET kind = kind WHERE task_id = 'T-CY-2'");
	assert_int_not_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(db);
	/* …so the attacker is a superuser who switches the triggers off. */
	db = th_db(2);
	r = PQexec(db, "SET session_replication_role = replica");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	saved = th_db_value(db, "SELECT encode(record, 'hex') FROM log_leaves "
				"WHERE task_id = 'T-CY-2' AND kind = 'draw'");
	assert_non_null(saved);
	r = PQexec(db, "UPDATE log_leaves SET record = overlay(record PLACING 'X'::bytea FROM 40 FOR 1) "
		       "WHERE task_id = 'T-CY-2' AND kind = 'draw'");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	/* The export's replay finds it at once. */
	cli_ok("city-auditor", "log export %s", srv_path("export-bad"));
	snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify log %s --key %s > %s 2>&1", SS_TEST_BIN_DIR,
		 srv_path("export-bad"), th_pki("draw.key.pub"), srv_path("vlog-bad.out"));
	assert_int_not_equal(th_run(cmd), 0);
	/* After a restart the server refuses to draw, and clients are told. */
	th_server_stop(&srv, SIGTERM);
	assert_int_equal(th_server_start(&srv, NULL), 0);
	assert_int_equal(cli("city-auditor", "whoami"), 6);
	assert_out("integrity");
	assert_true(th_server_log_contains(&srv, "DRAW LOG INTEGRITY FAILURE"));
	/* Put it back: the log checks out again. */
	{
		const char *params[1] = {saved};

		r = PQexecParams(db, "UPDATE log_leaves SET record = decode($1, 'hex') "
				     "WHERE task_id = 'T-CY-2' AND kind = 'draw'",
				 1, NULL, params, NULL, NULL, 0);
		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
	}
	free(saved);
	PQfinish(db);
	th_server_stop(&srv, SIGTERM);
	assert_int_equal(th_server_start(&srv, NULL), 0);
	cli_ok("city-auditor", "whoami");
	assert_false(th_server_log_contains(&srv, "DRAW LOG INTEGRITY FAILURE"));
}

/* Runs a statement as the superuser with the append-only triggers off (the
 * attacker of tampering_is_reported); params: $1 .. $n. */
static void tamper(PGconn *db, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);

	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
}

/* The run reads the snapshots back after a restart: one changed in the
 * database is refused, whether it no longer unpacks to its stored digest
 * or its digest was changed with it (then it is not the one the signed
 * draw-open record names).  A snapshot stored as text, as before
 * migration 006, is read as it was. */
static void stored_snapshots_are_checked(void **state)
{
	const char *params[2];
	char *file, *digest;
	PGconn *db;

	(void)state;
	fixture();
	make_task("T-CY-10", two_strata);
	cli_ok("city-legal", "draw open T-CY-10");
	cli_ok("city-legal", "draw waive T-CY-10 --reason 'no witness in this test'");
	/* The open kept its snapshots in memory for the run; not after a restart. */
	th_server_stop(&srv, SIGTERM);
	assert_int_equal(th_server_start(&srv, NULL), 0);
	file = th_snapshot("T-CY-10", "stratum", 1);
	db = th_db(2);
	assert_non_null(db);
	tamper(db, "SET session_replication_role = replica", 0, NULL);
	digest = th_db_value(db, "SELECT encode(digest, 'hex') FROM draw_snapshots "
				 "WHERE task_id = 'T-CY-10' AND part = 'stratum' AND ordinal = 1");
	assert_non_null(digest);
	/* Stratum 1 replaced by stratum 0's packed file: a sound frame. */
	tamper(db, "UPDATE draw_snapshots SET packed = (SELECT packed FROM draw_snapshots "
		   "WHERE task_id = 'T-CY-10' AND part = 'stratum' AND ordinal = 0) "
		   "WHERE task_id = 'T-CY-10' AND part = 'stratum' AND ordinal = 1",
	       0, NULL);
	assert_int_not_equal(cli("city-legal", "draw run T-CY-10"), 0);
	assert_out("not those its signed record names");
	/* …and its digest too. */
	tamper(db, "UPDATE draw_snapshots SET digest = (SELECT digest FROM draw_snapshots "
		   "WHERE task_id = 'T-CY-10' AND part = 'stratum' AND ordinal = 0) "
		   "WHERE task_id = 'T-CY-10' AND part = 'stratum' AND ordinal = 1",
	       0, NULL);
	assert_int_not_equal(cli("city-legal", "draw run T-CY-10"), 0);
	assert_out("not those its signed record names");
	assert_db("SELECT count(*) FROM draws WHERE task_id = 'T-CY-10'", "0");
	/* Put back as text, the form of a snapshot stored before 006. */
	params[0] = file;
	params[1] = digest;
	tamper(db, "UPDATE draw_snapshots SET data = $1, packed = NULL, digest = decode($2, 'hex') "
		   "WHERE task_id = 'T-CY-10' AND part = 'stratum' AND ordinal = 1",
	       2, params);
	PQfinish(db);
	cli_ok("city-legal", "draw run T-CY-10");
	cli_ok("city-auditor", "draw receipt T-CY-10 -o %s", srv_path("cy10.receipt"));
	{
		char cmd[1024];

		snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify receipt %s --key %s > %s 2>&1",
			 SS_TEST_BIN_DIR, srv_path("cy10.receipt"), th_pki("draw.key.pub"),
			 srv_path("vcy10.out"));
		assert_int_equal(th_run(cmd), 0);
	}
	free(file);
	free(digest);
}

/* A population of megabytes, read as versions and reduced to each record's
 * latest as of the draw date in the server: a record moved out of the
 * district, one moved in and one closed since the import are where they
 * now are.  Its snapshot is stored packed; the draw's record of 12,000
 * picks is over 1 MiB, sent to PostgreSQL by a worker thread in one pass.
 * District 110109 (门头沟区), which no other test uses. */
static void large_population_as_of_the_draw(void **state)
{
	char moved_out[19], closed[19], moved_in[19], cmd[1024], q[512], *snap, *p;
	FILE *f;
	unsigned i, lines;

	(void)state;
	fixture();
	cli_ok("city-admin", "department set mtg-zjj --name 门头沟区住房和城乡建设局 --jurisdiction 110109 "
			     "--parent city-zjj --reason 'set up'");
	f = fopen(srv_path("mtg.csv"), "w");
	assert_non_null(f);
	fputs("credit_code,name,division_code,risk_level,credit_class,status\n", f);
	for (i = 1; i <= 60000; i++) {
		char code[19];

		snprintf(code, sizeof(code), "91110109G%08u", i);
		code[17] = ss_uscc_check_char(code);
		code[18] = '\0';
		fprintf(f, "%s,门头沟企业%u,110109,low,B,active\n", code, i);
	}
	snprintf(moved_in, sizeof(moved_in), "91110111G%08u", 1u);
	moved_in[17] = ss_uscc_check_char(moved_in);
	moved_in[18] = '\0';
	fprintf(f, "%s,房山企业,110111,low,B,active\n", moved_in);
	fclose(f);
	cli_ok("city-admin", "entity import %s --reason 'Mentougou list'", srv_path("mtg.csv"));
	snprintf(moved_out, sizeof(moved_out), "91110109G%08u", 7u);
	moved_out[17] = ss_uscc_check_char(moved_out);
	moved_out[18] = '\0';
	snprintf(closed, sizeof(closed), "91110109G%08u", 30000u);
	closed[17] = ss_uscc_check_char(closed);
	closed[18] = '\0';
	cli_ok("city-admin", "entity set %s division_code=110111 --reason moved", moved_out);
	cli_ok("city-admin", "entity set %s status=deregistered --reason closed", closed);
	cli_ok("city-admin", "entity set %s division_code=110109 --reason moved", moved_in);
	write_file("mtg-plan.json",
		   "{\"kind\":\"annual\",\"department\":\"mtg-zjj\",\"year\":@YEAR,\"name\":\"门头沟区年度计划\","
		   "\"basis\":\"《建筑法》\",\"signoff\":{\"section_head\":\"甲\",\"leader\":\"乙\"},"
		   "\"rows\":[{\"task_name\":\"施工许可\",\"items\":[\"IT-D1\"],\"directory\":\"entity\","
		   "\"ratio\":0.1}]}");
	cli_ok("city-legal", "plan put AP-MTG-2026 %s --reason 'annual plan'", srv_path("mtg-plan.json"));
	cli_ok("city-legal", "plan submit AP-MTG-2026 --version 1 --reason filing");
	cli_ok("city-legal", "plan approve AP-MTG-2026 --version 1 --reason ok");
	cli_ok("city-legal", "plan publish AP-MTG-2026 --version 1 --reason publish");
	write_file("T-MTG-1.json",
		   "{\"plan_id\":\"AP-MTG-2026\",\"name\":\"全区\",\"directory\":\"entity\","
		   "\"executing_unit\":\"mtg-zjj\",\"draw_date\":\"@TODAY\","
		   "\"window\":{\"start\":\"@TODAY\",\"end\":\"@END\"},\"items\":[\"IT-D1\"],"
		   "\"strata\":[{\"name\":\"全部\",\"count\":12000}],"
		   "\"inspectors\":{\"categories\":[\"建筑市场\"]}}");
	cli_ok("city-legal", "task put T-MTG-1 %s --reason 'set up'", srv_path("T-MTG-1.json"));
	cli_ok("city-legal", "draw open T-MTG-1");
	cli_ok("city-legal", "draw waive T-MTG-1 --reason 'no witness in this test'");
	cli_ok("city-legal", "--json draw run T-MTG-1");
	assert_out("\"drawn\":12000");
	/* A record of over 1 MiB: its commit is sent by a worker thread. */
	assert_db("SELECT length(record) > 1048576 FROM log_leaves WHERE task_id = 'T-MTG-1' "
		  "AND kind = 'draw'",
		  "t");
	/* 60,000 - the one moved out - the one closed + the one moved in;
	 * stored packed, it unpacks to its digest (th_snapshot). */
	snap = th_snapshot("T-MTG-1", "stratum", 0);
	for (p = snap, lines = 0; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines - 1, 59999);
	assert_true(strlen(snap) > 1048576);
	snprintf(q, sizeof(q), "\n%s\n", moved_in);
	assert_non_null(strstr(snap, q));
	snprintf(q, sizeof(q), "\n%s\n", moved_out);
	assert_null(strstr(snap, q));
	snprintf(q, sizeof(q), "\n%s\n", closed);
	assert_null(strstr(snap, q));
	free(snap);
	/* The auditor recomputes the draw from that snapshot. */
	cli_ok("city-auditor", "draw receipt T-MTG-1 -o %s", srv_path("mtg.receipt"));
	snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify receipt %s --key %s > %s 2>&1",
		 SS_TEST_BIN_DIR, srv_path("mtg.receipt"), th_pki("draw.key.pub"), srv_path("vmtg.out"));
	assert_int_equal(th_run(cmd), 0);
}

/* Leaves come with inclusion proofs in the tree of a signed checkpoint (the
 * client checks a key rotation's leaf that way), and a proof for a tree
 * larger than the log is refused with the field named. */
static void leaves_carry_inclusion_proofs(void **state)
{
	struct th_client *c;
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *r;
	Shuangsui__V1__LogCheckpointGet cg = SHUANGSUI__V1__LOG_CHECKPOINT_GET__INIT;
	Shuangsui__V1__LogLeavesGet lg = SHUANGSUI__V1__LOG_LEAVES_GET__INIT;
	struct ss_note *note = NULL;
	struct ss_checkpoint cp;
	uint8_t root[32];
	uint64_t size, checked = 0;
	size_t i, k;

	(void)state;
	fixture();
	make_task("T-CY-9", two_strata);
	cli_ok("city-legal", "draw open T-CY-9");
	cli_ok("city-legal", "draw waive T-CY-9 --reason 'no witness in this test'");
	cli_ok("city-legal", "draw run T-CY-9");
	c = th_client_session(srv.port, "city-auditor");
	assert_non_null(c);
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_GET;
	env.log_checkpoint_get = &cg;
	r = th_call(c, &env);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_REPLY);
	assert_int_equal(ss_note_parse(r->log_checkpoint_reply->checkpoint,
				       strlen(r->log_checkpoint_reply->checkpoint), &note),
			 0);
	assert_int_equal(ss_checkpoint_parse(note->text, note->text_len, &cp), 0);
	size = cp.size;
	memcpy(root, cp.root, 32);
	ss_note_free(note);
	th_free(r);
	assert_true(size >= 3);
	/* A tree larger than the log. */
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_GET;
	env.log_leaves_get = &lg;
	lg.proof_size = size + 1000;
	r = th_call(c, &env);
	assert_non_null(r);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(r->error->code, SHUANGSUI__V1__ERROR_CODE__BAD_REQUEST);
	assert_string_equal(r->error->field, "log_leaves_get.proof_size");
	th_free(r);
	/* Every whole leaf of the checkpoint's tree is included in its root. */
	for (lg.from = 0; lg.from < size;) {
		lg.proof_size = size;
		r = th_call(c, &env);
		assert_non_null(r);
		assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_REPLY);
		assert_true(r->log_leaves_reply->n_leaves > 0);
		for (i = 0; i < r->log_leaves_reply->n_leaves && lg.from < size; i++, lg.from++) {
			const Shuangsui__V1__LogLeaf *l = r->log_leaves_reply->leaves[i];
			uint8_t leaf[32], proof[SS_MERKLE_MAX_PROOF][32];

			assert_int_equal(l->index, lg.from);
			if (l->record_offset != 0 || l->record.len != l->record_total)
				break; /* a piece of a large record: asked again from there */
			assert_true(l->n_inclusion <= SS_MERKLE_MAX_PROOF);
			for (k = 0; k < l->n_inclusion; k++) {
				assert_int_equal(l->inclusion[k].len, 32);
				memcpy(proof[k], l->inclusion[k].data, 32);
			}
			ss_merkle_leaf_hash(l->record.data, l->record.len, leaf);
			assert_int_equal(ss_merkle_verify_inclusion(l->index, size, leaf,
								    (const uint8_t(*)[32])proof,
								    l->n_inclusion, root),
					 0);
			/* The same proof does not fit another leaf. */
			leaf[0] ^= 1;
			assert_int_not_equal(ss_merkle_verify_inclusion(l->index, size, leaf,
									(const uint8_t(*)[32])proof,
									l->n_inclusion, root),
					     0);
			checked++;
		}
		th_free(r);
		if (i == 0)
			break; /* a large leaf first: not needed for this check */
	}
	assert_true(checked >= 3);
	th_client_close(c);
}

static void rotate(const char *current_key, const char *new_key, const char *reason)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "%s --config %s/shuangsuid.ini --set draw.key_file=%s rotate-key %s '%s' > %s 2>&1",
		 SS_TEST_SHUANGSUID_PATH, srv.dir, current_key, new_key, reason,
		 srv_path("rotate.out"));
	assert_int_equal(th_run(cmd), 0);
}

/* A key rotation is a record signed by the old and the new key: the server
 * then signs with the new one, clients holding the old key follow it, and
 * the log replays across it.  Rotated back at the end for the other tests. */
static void key_rotation_is_followed(void **state)
{
	char newkey[512], newpub[600], cmd[2048], setting[700];
	const char *extra[2] = {setting, NULL};

	(void)state;
	fixture();
	snprintf(newkey, sizeof(newkey), "%s", srv_path("rotated.key"));
	snprintf(newpub, sizeof(newpub), "%s.pub", newkey);
	snprintf(cmd, sizeof(cmd), "%s keygen %s > /dev/null", SS_TEST_SHUANGSUID_PATH, newkey);
	assert_int_equal(th_run(cmd), 0);
	cli_ok("city-auditor", "log checkpoint"); /* holds the checkpoint before */
	th_server_stop(&srv, SIGTERM);
	rotate(th_pki("draw.key"), newkey, "演练：密钥到期轮换");
	snprintf(setting, sizeof(setting), "draw.key_file=%s", newkey);
	assert_int_equal(th_server_start(&srv, extra), 0);
	/* The auditor's client holds the old key: it follows the rotation and
	 * keeps the new key beside its checkpoint. */
	cli_ok("city-auditor", "log checkpoint");
	assert_false(th_server_log_contains(&srv, "INTEGRITY FAILURE"));
	{
		char kp[600];
		FILE *k;
		char line[128] = "", want[128] = "";

		snprintf(kp, sizeof(kp), "%s/checkpoint-city-auditor.key", getenv("SS_TEST_TMP"));
		k = fopen(kp, "r");
		assert_non_null(k);
		assert_non_null(fgets(line, sizeof(line), k));
		fclose(k);
		k = fopen(newpub, "r");
		assert_non_null(k);
		assert_non_null(fgets(want, sizeof(want), k));
		fclose(k);
		assert_string_equal(line, want);
	}
	make_task("T-CY-6", two_strata);
	cli_ok("city-legal", "draw open T-CY-6");
	cli_ok("city-legal", "draw waive T-CY-6 --reason '轮换后首次抽取，纪检人员请假'");
	cli_ok("city-legal", "draw run T-CY-6");
	cli_ok("city-auditor", "draw receipt T-CY-6 -o %s", srv_path("t6.receipt"));
	/* The receipt is signed by the new key, not by the old one. */
	snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify receipt %s --key %s > /dev/null 2>&1",
		 SS_TEST_BIN_DIR, srv_path("t6.receipt"), newpub);
	assert_int_equal(th_run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify receipt %s --key %s > /dev/null 2>&1",
		 SS_TEST_BIN_DIR, srv_path("t6.receipt"), th_pki("draw.key.pub"));
	assert_int_not_equal(th_run(cmd), 0);
	/* The whole log replays from the first key, across the rotation. */
	cli_ok("city-auditor", "log export %s", srv_path("export-rotated"));
	snprintf(cmd, sizeof(cmd), "%s/shuangsui-verify log %s --key %s > %s 2>&1", SS_TEST_BIN_DIR,
		 srv_path("export-rotated"), th_pki("draw.key.pub"), srv_path("vlog-rot.out"));
	assert_int_equal(th_run(cmd), 0);
	/* A rotation not signed by the current key is refused. */
	th_server_stop(&srv, SIGTERM);
	snprintf(cmd, sizeof(cmd),
		 "%s --config %s/shuangsuid.ini --set draw.key_file=%s rotate-key %s 'wrong' > /dev/null "
		 "2>&1",
		 SS_TEST_SHUANGSUID_PATH, srv.dir, th_pki("draw.key"), newkey);
	assert_int_not_equal(th_run(cmd), 0);
	/* Back to the test key, for the tests that follow. */
	rotate(newkey, th_pki("draw.key"), "演练结束：恢复原密钥");
	assert_int_equal(th_server_start(&srv, NULL), 0);
	cli_ok("city-auditor", "log checkpoint");
	assert_false(th_server_log_contains(&srv, "INTEGRITY FAILURE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(witnessed_draw),
		cmocka_unit_test(recusal_and_void),
		cmocka_unit_test(fifty_concurrent),
		cmocka_unit_test(cap_and_figures),
		cmocka_unit_test(witnesses_in_any_order),
		cmocka_unit_test(retries_get_the_same_leaf),
		cmocka_unit_test(tampering_is_reported),
		cmocka_unit_test(key_rotation_is_followed),
		cmocka_unit_test(stored_snapshots_are_checked),
		cmocka_unit_test(large_population_as_of_the_draw),
		cmocka_unit_test(leaves_carry_inclusion_proofs),
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
