/*
 * test_plans.c — issue 4 end to end: departments, a joint plan through the
 * legal office, amendments, tasks under published plans only, the task
 * preview with strata and exclusions, jurisdiction, and the audit trail.
 * The real client talks TLS to the real server and PostgreSQL.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void uscc(char out18[19], const char *division, unsigned n)
{
	snprintf(out18, 19, "91%sP%08u", division, n);
	out18[17] = ss_uscc_check_char(out18);
	out18[18] = '\0';
}

/* Departments, items and entities every test below relies on. */
static void fixture(void **state)
{
	static int done;
	char code[19];
	FILE *f;
	unsigned i;

	(void)state;
	if (done)
		return;
	done = 1;
	cli_ok("city-admin", "department set city-zjj --name 市住房和城乡建设局 --jurisdiction 110000 "
			     "--reason 'set up'");
	cli_ok("city-admin", "department set dc-zjj --name 东城区住房和城乡建设局 --jurisdiction 110101 "
			     "--parent city-zjj --reason 'set up'");
	cli_ok("city-admin", "department set xc-zjj --name 西城区住房和城乡建设局 --jurisdiction 110102 "
			     "--parent city-zjj --reason 'set up'");
	cli_ok("city-admin", "department set dc-scjg --name 东城区市场监督管理局 --jurisdiction 110101 "
			     "--kind market_supervision --reason 'set up'");
	cli_ok("city-admin", "department set dc-zjj-a --name 东城区建设工程质量监督站 "
			     "--jurisdiction 110101 --parent dc-zjj --reason 'set up'");
	/* A department cannot be its own ancestor. */
	assert_int_equal(cli("city-admin", "department set city-zjj --name 市住房和城乡建设局 "
					   "--jurisdiction 110000 --parent dc-zjj-a --reason loop"),
			 4);
	assert_out("cycle");
	for (i = 1; i <= 3; i++)
		cli_ok("city-legal",
		       "item set IT-%u name='检查事项%u' legal_basis='《建筑法》' "
		       "department=东城区住房和城乡建设局 method=onsite category=general "
		       "object_types=entity enforcement_category=建筑市场 status=active "
		       "--reason 'list'",
		       i, i);
	/* Twelve entities: E1-E3 high risk, E4-E5 on the abnormal list, E6-E11
	 * the rest (E11 deregistered), E12 in another district. */
	f = fopen(srv_path("entities.csv"), "w");
	assert_non_null(f);
	fprintf(f, "credit_code,name,division_code,risk_level,credit_class,status,"
		   "abnormal_operation,complaint_count,industry\n");
	for (i = 1; i <= 12; i++) {
		uscc(code, i == 12 ? "110102" : "110101", i);
		/* E3 alone has many complaints: earlier tasks below draw just it. */
		fprintf(f, "%s,企业%u,%s,%s,B,%s,%s,%d,计划测试\n", code, i,
			i == 12 ? "110102" : "110101", i <= 3 ? "high" : "low",
			i == 11 ? "deregistered" : "active", i == 4 || i == 5 ? "t" : "f",
			i == 3 ? 7 : 0);
	}
	fclose(f);
	cli_ok("city-admin", "entity import %s --reason 'initial list'", srv_path("entities.csv"));
}

static const char joint_doc[] =
	"{\"kind\":\"joint\",\"department\":\"dc-zjj\",\"year\":@YEAR,"
	"\"name\":\"2026年东城区建筑市场跨部门联合抽查\",\"lead_section\":\"建筑市场科\","
	"\"participants\":[\"xc-zjj\",\"dc-scjg\"],\"basis\":\"《建筑法》第%d条\","
	"\"signoff\":{\"section_head\":\"张三\",\"leader\":\"李四\"},"
	"\"rows\":[{\"task_name\":\"建筑市场行为检查\",\"items\":[\"IT-1\",\"IT-2\"],"
	"\"directory\":\"entity\",\"draw_date\":\"@TODAY\",\"ratio\":0.05}]}";

static void confirm_all(unsigned version)
{
	cli_ok("district-b-operator",
	       "plan confirm JP-2026 --version %u --department xc-zjj --part '西城区配合检查' "
	       "--items IT-1 --reason 'we take part'",
	       version);
	cli_ok("city-legal",
	       "plan confirm JP-2026 --version %u --department dc-scjg --part '市场监管配合' "
	       "--items IT-2 --reason 'confirmed by letter 东市监函〔2026〕12号'",
	       version);
}

static void joint_plan_walk(void **state)
{
	fixture(state);
	write_file("joint.json", joint_doc, 7);
	cli_ok("district-a-operator", "plan put JP-2026 %s --reason 'propose joint plan'",
	       srv_path("joint.json"));
	assert_out("version 1: draft");
	/* Not before every participant confirmed. */
	assert_int_equal(cli("district-a-operator", "plan submit JP-2026 --version 1 --reason go"), 4);
	assert_out("have not confirmed");
	/* A participant confirms only for itself. */
	assert_int_equal(cli("district-b-operator",
			     "plan confirm JP-2026 --version 1 --department dc-scjg --part x "
			     "--items IT-1 --reason 'not mine'"),
			 4);
	assert_out("not for department dc-scjg");
	confirm_all(1);
	cli_ok("district-a-operator", "plan submit JP-2026 --version 1 --reason 'for filing'");
	assert_out("submitted");
	/* Only the legal office approves; the refusal is audited. */
	assert_int_equal(cli("district-a-operator", "plan approve JP-2026 --version 1 --reason me"), 4);
	assert_db("SELECT count(*) FROM audit_events WHERE operation = 'plan.approve' "
		  "AND outcome = 'denied' AND actor = 'district-a-operator'",
		  "1");
	cli_ok("city-legal", "plan approve JP-2026 --version 1 --reason '备案审核通过'");
	cli_ok("city-legal", "plan publish JP-2026 --version 1 --reason '公开'");
	assert_out("published");
	/* A published plan changes only by an amendment with a reason. */
	write_file("joint2.json", joint_doc, 8);
	assert_int_equal(cli("district-a-operator", "plan put JP-2026 %s --reason edit",
			     srv_path("joint2.json")),
			 4);
	assert_out("amendment");
	cli_ok("district-a-operator", "plan put JP-2026 %s --amend --reason '依据条款更正'",
	       srv_path("joint2.json"));
	assert_out("version 2: draft");
	confirm_all(2);
	cli_ok("district-a-operator", "plan submit JP-2026 --version 2 --reason 'amended'");
	cli_ok("city-legal", "plan approve JP-2026 --version 2 --reason 'ok'");
	/* Until v2 is published, v1 stays in force. */
	assert_db("SELECT version FROM plan_in_force WHERE plan_id = 'JP-2026'", "1");
	cli_ok("city-legal", "plan publish JP-2026 --version 2 --reason '变更公开'");
	assert_db("SELECT version FROM plan_in_force WHERE plan_id = 'JP-2026'", "2");
	/* Both versions stay readable, each with its own states. */
	cli_ok("city-auditor", "--json plan get JP-2026");
	assert_out("\"basis\": \"《建筑法》第7条\"");
	assert_out("\"basis\": \"《建筑法》第8条\"");
	assert_out("\"state\": \"superseded\"");
	assert_out("\"in_force\": 2");
	assert_out("依据条款更正");
	/* Every state change is audited with who, when and why. */
	assert_db("SELECT string_agg(operation || ':' || actor || ':' || reason, ',' "
		  "ORDER BY id) FROM audit_events WHERE outcome = 'ok' "
		  "AND operation IN ('plan.submit', 'plan.approve', 'plan.publish', 'plan.amend') "
		  "AND detail->>'plan_id' = 'JP-2026'",
		  "plan.submit:district-a-operator:for filing,plan.approve:city-legal:备案审核通过,"
		  "plan.publish:city-legal:公开,plan.amend:district-a-operator:依据条款更正,"
		  "plan.submit:district-a-operator:amended,plan.approve:city-legal:ok,"
		  "plan.publish:city-legal:变更公开");
	assert_db("SELECT count(*) FROM plan_events WHERE plan_id = 'JP-2026' AND at IS NOT NULL "
		  "AND actor <> '' AND reason <> ''",
		  "9"); /* v1: draft, submitted, approved, published, superseded; v2: four */
}

static void joint_plan_needs_three(void **state)
{
	char doc[2048];

	fixture(state);
	snprintf(doc, sizeof(doc), joint_doc, 9);
	/* Drop one participant: two departments in all. */
	*strstr(doc, ",\"dc-scjg\"") = '\0';
	strcat(doc, strstr(joint_doc, "],\"basis\""));
	write_file("joint-two.json", "%s", doc);
	assert_int_equal(cli("district-a-operator", "plan put JP-TWO %s --reason try",
			     srv_path("joint-two.json")),
			 4);
	assert_out("at least 3 departments");
	assert_out("plan.participants");
	assert_db("SELECT count(*) FROM plans WHERE plan_id = 'JP-TWO'", "0");
	/* The same in Chinese. */
	{
		char args[1024];

		snprintf(args, sizeof(args), "plan put JP-TWO %s --reason try",
			 srv_path("joint-two.json"));
		assert_int_equal(th_cli(&srv, "district-a-operator", "zh_CN.UTF-8", args, out,
					sizeof(out)),
				 4);
		assert_out("至少需要 3 个部门");
	}
}

static const char annual_doc[] =
	"{\"kind\":\"annual\",\"department\":\"dc-zjj\",\"year\":@YEAR,\"name\":\"2026年度抽查计划\","
	"\"basis\":\"《住房和城乡建设部门随机抽查工作办法》\",\"annual_cap\":2,"
	"\"exclusions\":[{\"id\":\"%s\",\"reason\":\"新设立未满六个月\"}],"
	"\"signoff\":{\"section_head\":\"张三\",\"leader\":\"李四\"},"
	"\"rows\":[{\"task_name\":\"建筑市场\",\"items\":[\"IT-1\",\"IT-3\"],\"directory\":\"entity\","
	"\"count\":10}]}";

static const char task_doc[] =
	"{\"plan_id\":\"AP-2026\",\"name\":\"12月建筑市场抽查\",\"directory\":\"entity\","
	"\"executing_unit\":\"%s\",\"draw_date\":\"@TODAY\","
	"\"window\":{\"start\":\"@TODAY\",\"end\":\"@END\"},\"items\":[\"IT-1\"],"
	"\"strata\":[{\"name\":\"高风险\",\"filter\":{\"risk_level\":[\"high\"],"
	"\"industry\":[\"计划测试\"]},\"count\":2},"
	"{\"name\":\"异常名录\",\"filter\":{\"abnormal_operation\":true,"
	"\"industry\":[\"计划测试\"]},\"count\":1},"
	"{\"name\":\"其他\",\"filter\":{\"industry\":[\"计划测试\"]},\"ratio\":0.5}],"
	"\"inspectors\":{\"categories\":[\"建筑市场\"],\"group_size\":2}}";

static void task_needs_published_plan(void **state)
{
	char e10[19];

	fixture(state);
	uscc(e10, "110101", 10);
	write_file("annual.json", annual_doc, e10);
	cli_ok("district-a-operator", "plan put AP-2026 %s --reason 'annual plan'",
	       srv_path("annual.json"));
	write_file("task-dc.json", task_doc, "dc-zjj");
	assert_int_equal(cli("district-a-operator", "task put T-DC-1 %s --reason 'December'",
			     srv_path("task-dc.json")),
			 4);
	assert_out("not published");
	assert_db("SELECT count(*) FROM task_versions WHERE task_id = 'T-DC-1'", "0");
	cli_ok("district-a-operator", "plan submit AP-2026 --version 1 --reason filing");
	cli_ok("city-legal", "plan approve AP-2026 --version 1 --reason ok");
	cli_ok("district-a-operator", "plan publish AP-2026 --version 1 --reason publish");
	cli_ok("district-a-operator", "task put T-DC-1 %s --reason 'December'",
	       srv_path("task-dc.json"));
	assert_out("task T-DC-1 version 1 under plan version 1");
	/* A subordinate unit executes by delegation (G15). */
	write_file("task-sub.json", task_doc, "dc-zjj-a");
	cli_ok("district-a-operator", "task put T-DC-2 %s --reason 'delegated to the station'",
	       srv_path("task-sub.json"));
	assert_out("(delegated)");
	/* A task document with a bad field names it. */
	write_file("task-bad.json", "{\"plan_id\":\"AP-2026\"}");
	assert_int_equal(cli("district-a-operator", "task put T-BAD %s --reason 'bad document'",
			     srv_path("task-bad.json")),
			 4);
	assert_out("task.name is required");
}

static void other_district_cannot_task(void **state)
{
	static const char denied[] = "SELECT count(*) FROM audit_events WHERE operation = 'task.write' "
				     "AND outcome = 'denied' AND actor = 'district-b-operator' "
				     "AND reason LIKE '%outside yours%'";
	PGconn *db = th_db(1);
	char *before = th_db_value(db, denied), after[32];

	PQfinish(db);
	assert_non_null(before);
	fixture(state);
	/* District B names district A's unit as the executing unit. */
	write_file("task-dc.json", task_doc, "dc-zjj");
	assert_int_equal(cli("district-b-operator", "task put T-XC-1 %s --reason 'not ours'",
			     srv_path("task-dc.json")),
			 4);
	assert_out("outside yours");
	/* The refusal is audited: one more denial, with the reason. */
	snprintf(after, sizeof(after), "%d", atoi(before) + 1);
	free(before);
	assert_db(denied, after);
	assert_db("SELECT count(*) FROM task_versions WHERE task_id = 'T-XC-1'", "0");
}

static void preview_strata_and_cap(void **state)
{
	static const char old_task[] =
		"{\"plan_id\":\"AP-2026\",\"name\":\"投诉较多企业专项\",\"directory\":\"entity\","
		"\"executing_unit\":\"dc-zjj\",\"draw_date\":\"@TODAY\","
		"\"window\":{\"start\":\"@TODAY\",\"end\":\"@END\"},\"items\":[\"IT-1\"],"
		"\"strata\":[{\"name\":\"投诉多\",\"filter\":{\"complaint_count\":{\"min\":7},"
		"\"industry\":[\"计划测试\"]},\"count\":1}],"
		"\"inspectors\":{\"categories\":[\"建筑市场\"]}}";
	char e3[19], e10[19], q[512];
	size_t i;
	int k;

	fixture(state);
	/* E3 (high risk, many complaints) is drawn twice this year by two
	 * earlier tasks, real draws, the absent witness excused by the legal office. */
	write_file("old.json", old_task);
	for (k = 1; k <= 2; k++) {
		cli_ok("district-a-operator", "task put T-OLD-%d %s --reason 'complaints'", k,
		       srv_path("old.json"));
		cli_ok("district-a-operator", "draw open T-OLD-%d", k);
		cli_ok("city-legal", "draw waive T-OLD-%d --reason '专项检查，纪检人员另有任务'", k);
		cli_ok("district-a-operator", "--json draw run T-OLD-%d", k);
		assert_out("\"drawn\":1");
	}
	cli_ok("district-a-operator", "--json task preview T-DC-1");
	/* 高风险: E1-E3 match, E3 at the cap: 2 eligible, draw 2. */
	assert_out("{\"index\":0,\"name\":\"高风险\",\"matched\":3,"
				    "\"excluded_inactive\":0,\"excluded_cap\":1,\"excluded_plan\":0,"
				    "\"eligible\":2,\"to_draw\":2,\"shortfall\":0}");
	/* 异常名录: E4, E5; draw 1.  (Other tests' entities share the district:
	 * every stratum takes only this fixture's industry.) */
	assert_out("{\"index\":1,\"name\":\"异常名录\",\"matched\":2,"
				    "\"excluded_inactive\":0,\"excluded_cap\":0,\"excluded_plan\":0,"
				    "\"eligible\":2,\"to_draw\":1,\"shortfall\":0}");
	/* 其他: E6-E11; E11 deregistered, E10 excluded by the plan: 4 eligible,
	 * half of them is 2.  E12 is in another district: not in the population. */
	assert_out("{\"index\":2,\"name\":\"其他\",\"matched\":6,"
				    "\"excluded_inactive\":1,\"excluded_cap\":0,\"excluded_plan\":1,"
				    "\"eligible\":4,\"to_draw\":2,\"shortfall\":0}");
	/* The draw freezes the same populations: 2, 2 and 4 ids, neither E3
	 * (at the cap) nor E10 (the plan's exclusion) among them. */
	uscc(e3, "110101", 3);
	uscc(e10, "110101", 10);
	cli_ok("district-a-operator", "draw open T-DC-1");
	assert_db("SELECT count(*) FROM draw_snapshots WHERE task_id = 'T-DC-1' AND part = 'stratum'",
		  "3");
	for (i = 0; i < 3; i++) {
		char *snap = th_snapshot("T-DC-1", "stratum", (int)i), *p;
		size_t lines = 0;

		for (p = snap; (p = strchr(p, '\n')) != NULL; p++)
			lines++;
		assert_int_equal(lines - 1, i < 2 ? 2 : 4);
		snprintf(q, sizeof(q), "\n%s\n", e3);
		assert_null(strstr(snap, q));
		snprintf(q, sizeof(q), "\n%s\n", e10);
		assert_null(strstr(snap, q));
		free(snap);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(joint_plan_walk),
		cmocka_unit_test(joint_plan_needs_three),
		cmocka_unit_test(task_needs_published_plan),
		cmocka_unit_test(other_district_cannot_task),
		cmocka_unit_test(preview_strata_and_cap),
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
