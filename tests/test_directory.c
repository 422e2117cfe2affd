/*
 * test_directory.c — the directories (一单两库) end to end: the real client
 * imports and exports files through the real server into PostgreSQL.
 */
#include <iconv.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "uscc.h"

static struct th_server srv;
static char out[1 << 23];

static int server_up(void **state)
{
	/* One import at a time, so that the limit is tested too. */
	static const char *const extra[] = {"database.max_imports=1", NULL};

	return th_server_start(&srv, extra);
}

static int server_down(void **state)
{
	if (srv.pid > 0)
		th_server_stop(&srv, SIGKILL);
	return 0;
}

/* A valid credit code for district 110101/110102 etc.: series letter + number. */
static void uscc(char out18[19], const char *division, char series, unsigned n)
{
	snprintf(out18, 19, "91%s%c%08u", division, series, n);
	out18[17] = ss_uscc_check_char(out18);
	out18[18] = '\0';
}

static const char *path_in_srv(const char *name)
{
	static char p[4][512];
	static int i;
	char *b = p[i++ % 4];

	snprintf(b, sizeof(p[0]), "%s/%s", srv.dir, name);
	return b;
}

static const char header_en[] =
	"credit_code,name,division_code,risk_level,credit_class,status,complaint_count\n";

/* Writes n entity rows of a series; bad_line (1-based data row, 0 = none) gets a wrong check character. */
static void write_entities(const char *path, const char *division, char series, unsigned n,
			   unsigned bad_row, const char *risk)
{
	FILE *f = fopen(path, "w");
	unsigned i;

	assert_non_null(f);
	fputs(header_en, f);
	for (i = 1; i <= n; i++) {
		char code[19];

		uscc(code, division, series, i);
		if (i == bad_row)
			code[17] = code[17] == 'A' ? 'B' : 'A';
		fprintf(f, "%s,测试企业%c%u,%s,%s,B,active,%u\n", code, series, i, division, risk,
			i % 7);
	}
	fclose(f);
}

static long db_count(const char *sql)
{
	PGconn *db = th_db(0);
	char *v = th_db_value(db, sql);
	long n = v ? atol(v) : -1;

	free(v);
	PQfinish(db);
	return n;
}

static void import_applies_and_reimport_changes_nothing(void **state)
{
	const char *file = path_in_srv("a.csv");
	char args[1024];

	write_entities(file, "110101", 'A', 1000, 0, "low");
	snprintf(args, sizeof(args), "--json entity import %s", file);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"new\":1000"));
	assert_non_null(strstr(out, "\"applied\":true"));
	/* The same file again: nothing new, nothing changed. */
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"new\":0"));
	assert_non_null(strstr(out, "\"changed\":0"));
	assert_non_null(strstr(out, "\"unchanged\":1000"));
	/* One changed field in every row: a new version each, not a duplicate. */
	write_entities(file, "110101", 'A', 1000, 0, "medium");
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"changed\":1000"));
	assert_int_equal(db_count("SELECT count(DISTINCT record_id) FROM entity_versions "
				  "WHERE record_id LIKE '91110101A%'"),
			 1000);
	assert_int_equal(db_count("SELECT count(*) FROM entity_versions "
				  "WHERE record_id LIKE '91110101A%'"),
			 2000);
}

static void million_rows_with_one_bad_row_apply_nothing(void **state)
{
	const char *file = path_in_srv("million.csv");
	char args[1024];

	write_entities(file, "110101", 'M', 1000000, 654321, "low");
	snprintf(args, sizeof(args), "entity import %s", file);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 4);
	/* The bad row is reported by its line (header is line 1) and column. */
	assert_non_null(strstr(out, "line 654322, column credit_code"));
	assert_non_null(strstr(out, "NOT applied"));
	assert_int_equal(db_count("SELECT count(*) FROM entity_versions "
				  "WHERE record_id LIKE '91110101M%'"),
			 0);
	/* The refused import itself is on record, and audited with its outcome. */
	assert_int_equal(db_count("SELECT count(*) FROM imports WHERE file_name = 'million.csv' "
				  "AND status = 'failed' AND rows_total = 1000000 AND error_count = 1"),
			 1);
	assert_int_equal(db_count("SELECT count(*) FROM audit_events WHERE operation = "
				  "'import.entity' AND outcome = 'failed' AND "
				  "detail->>'file_name' = 'million.csv'"),
			 1);
	unlink(file);
}

static void dry_run_reports_and_applies_nothing(void **state)
{
	const char *file = path_in_srv("dry.csv");
	char args[1024];

	write_entities(file, "110101", 'D', 50, 0, "low");
	snprintf(args, sizeof(args), "--json entity import --dry-run %s", file);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"new\":50"));
	assert_non_null(strstr(out, "\"applied\":false"));
	assert_int_equal(db_count("SELECT count(*) FROM entity_versions "
				  "WHERE record_id LIKE '91110101D%'"),
			 0);
}

static void gb18030_file_with_characters_outside_gbk_imports_exactly(void **state)
{
	/* 𠮷 (U+20BB7) and 䶶 (U+4DB6) are four-byte sequences in GB18030, absent from GBK. */
#define GB_ROWS "统一社会信用代码,名称,行政区划代码,风险等级,信用等级,状态\n" \
	"%s,𠮷祥䶶建筑有限公司,110101,高,A,存续\n"
	const char *file = path_in_srv("gb.csv");
	char code[19], line[512], gb[1024], args[1024];
	char *in = line, *outp = gb;
	size_t inleft, outleft = sizeof(gb);
	iconv_t cd = iconv_open("GB18030", "UTF-8");
	FILE *f;

	uscc(code, "110101", 'G', 1);
	snprintf(line, sizeof(line), GB_ROWS, code);
	inleft = strlen(line);
	assert_true(cd != (iconv_t)-1);
	assert_true(iconv(cd, &in, &inleft, &outp, &outleft) != (size_t)-1);
	iconv_close(cd);
	f = fopen(file, "wb");
	assert_non_null(f);
	fwrite(gb, 1, sizeof(gb) - outleft, f);
	fclose(f);
	snprintf(args, sizeof(args), "entity import %s", file);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	snprintf(args, sizeof(args), "--json entity get %s", code);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "𠮷祥䶶建筑有限公司"));
	assert_non_null(strstr(out, "\"risk_level\":\"high\""));
}

static void excel_mangled_code_is_refused_with_an_explanation(void **state)
{
	const char *file = path_in_srv("excel.csv");
	char args[1024];
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fputs(header_en, f);
	fputs("9.11101E+17,数字化了的企业,110101,low,B,active,0\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "entity import %s", file);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "line 2"));
	assert_non_null(strstr(out, "Excel"));
	assert_int_equal(th_cli(&srv, "district-a-operator", "zh_CN.UTF-8", args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "文本"));
}

static void district_a_cannot_read_or_write_district_b_rows(void **state)
{
	const char *file = path_in_srv("b.csv");
	char code_b[19], args[1024];

	write_entities(file, "110102", 'B', 3, 0, "low");
	snprintf(args, sizeof(args), "entity import %s", file);
	assert_int_equal(th_cli(&srv, "district-b-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	uscc(code_b, "110102", 'B', 1);

	/* Read one record: refused, and the refusal is audited. */
	snprintf(args, sizeof(args), "entity get %s", code_b);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "permission denied"));
	assert_true(db_count("SELECT count(*) FROM audit_events WHERE actor = 'district-a-operator' "
			     "AND outcome = 'denied' AND operation = 'object.read'") >= 1);
	/* Lists show only one's own district. */
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8",
				"--json entity list --all --filter division_code=110102", out,
				sizeof(out)),
			 0);
	assert_null(strstr(out, "91110102"));
	/* Change B's record directly: refused. */
	snprintf(args, sizeof(args), "entity set %s risk_level=high --reason 越权测试", code_b);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 4);
	/* Import rows into B's district, or over B's records: refused, nothing applied. */
	write_entities(file, "110102", 'B', 3, 0, "high");
	snprintf(args, sizeof(args), "entity import %s", file);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "outside your jurisdiction"));
	assert_int_equal(db_count("SELECT count(*) FROM entity_versions "
				  "WHERE record_id LIKE '91110102B%' AND risk_level = 'high'"),
			 0);
	/* The city's auditor reads everything. */
	snprintf(args, sizeof(args), "entity get %s", code_b);
	assert_int_equal(th_cli(&srv, "city-auditor", "C.UTF-8", args, out, sizeof(out)), 0);
}

static void risk_changed_today_reads_old_value_as_of_yesterday(void **state)
{
	PGconn *owner = th_db(1);
	char code[19], sql[1024], args[1024], yesterday[16];
	PGresult *res;
	time_t t = time(NULL) - 86400;
	struct tm tm;

	/* Recorded three days ago (fixture written by the owner role). */
	uscc(code, "110101", 'H', 1);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO entity_versions (record_id, version, credit_code, name, division_code, "
		 "risk_level, credit_class, abnormal_operation, serious_violation, status, "
		 "content_sha256, changed_at, changed_by, reason) VALUES ('%s', 1, '%s', '历史企业', "
		 "'110101', 'low', 'B', false, false, 'active', '\\x00', now() - interval '3 days', "
		 "'fixture', 'fixture')",
		 code, code);
	res = PQexec(owner, sql);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(owner);
	snprintf(args, sizeof(args), "entity set %s risk_level=high --reason 投诉增多", code);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);

	localtime_r(&t, &tm);
	strftime(yesterday, sizeof(yesterday), "%Y-%m-%d", &tm);
	snprintf(args, sizeof(args), "--json entity get %s --as-of %s", code, yesterday);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"risk_level\":\"low\""));
	snprintf(args, sizeof(args), "--json entity get %s", code);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"risk_level\":\"high\""));
	/* History shows both, with who and why. */
	snprintf(args, sizeof(args), "entity history %s", code);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "risk_level: low -> high"));
	assert_non_null(strstr(out, "投诉增多"));
}

static void export_and_reimport_change_nothing(void **state)
{
	char args[1024];
	const char *formats[] = {"csv", "xlsx"};
	int i;

	for (i = 0; i < 2; i++) {
		char name[64];

		snprintf(name, sizeof(name), "export.%s", formats[i]);
		snprintf(args, sizeof(args), "entity export -o %s --filter division_code=110101",
			 path_in_srv(name));
		assert_int_equal(
			th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
		snprintf(args, sizeof(args), "--json entity import %s", path_in_srv(name));
		assert_int_equal(
			th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "\"new\":0"));
		assert_non_null(strstr(out, "\"changed\":0"));
	}
}

static void wide_records_are_paged_to_fit_frames(void **state)
{
	const char *file = path_in_srv("wide.csv");
	char args[1024], name[700];
	FILE *f = fopen(file, "w");
	unsigned i;

	/* 6000 records of about 700 bytes: a 5000-record page would be ~3 MB. */
	assert_non_null(f);
	memset(name, 0, sizeof(name));
	for (i = 0; i < 39; i++) /* 195 characters + a number: just under the 200 allowed */
		strcat(name, "宽记录名称");
	fputs("credit_code,name,division_code,risk_level,credit_class,status\n", f);
	for (i = 1; i <= 6000; i++) {
		char code[19];

		uscc(code, "110101", 'W', i);
		fprintf(f, "%s,%s%u,110101,low,B,active\n", code, name, i);
	}
	fclose(f);
	snprintf(args, sizeof(args), "entity import %s", file);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	snprintf(args, sizeof(args), "--json entity export -o %s", path_in_srv("wide-out.csv"));
	assert_int_equal(th_cli(&srv, "city-auditor", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_true(db_count("SELECT count(*) FROM entity_current") >= 6000);
	assert_non_null(strstr(out, "\"rows\":"));
	{
		long rows = atol(strstr(out, "\"rows\":") + 7);

		assert_int_equal(rows, db_count("SELECT count(*) FROM entity_current"));
	}
}

static void inspectors_items_and_conflicts_import_with_their_rules(void **state)
{
	const char *insp = path_in_srv("inspectors.csv");
	const char *items = path_in_srv("items.csv");
	const char *conf = path_in_srv("conflicts.csv");
	char args[1024];
	FILE *f = fopen(insp, "w");

	/* Inspectors: Chinese headers, dates in two spellings, lists with 、, experts. */
	assert_non_null(f);
	fputs("人员编号,姓名,性别,所属部门,执法证号,执法证有效期起,执法证有效期止,执法类别,管辖区域,状态,专家库成员\n",
	      f);
	fputs("INS-0001,王一,男,东城区住建局,ZF11010100001,2024-01-01,2028-12-31,建筑市场、工程质量,110101,在岗,否\n", f);
	fputs("INS-0002,李二,女,东城区住建局,ZF11010100002,2024/01/01,2028/12/31,房地产,110101,在岗,是\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "--json inspector import %s", insp);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"new\":2"));
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8",
				"--json inspector get INS-0002", out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "\"certificate_valid_to\":\"2028-12-31\""));
	assert_non_null(strstr(out, "\"is_expert\":\"t\""));
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8",
				"--json inspector get INS-0001", out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "\"categories\":\"建筑市场;工程质量\""));

	/* The item list belongs to the legal office: a district may not change it. */
	f = fopen(items, "w");
	assert_non_null(f);
	fputs("item_code,name,legal_basis,department,method,category,object_types,enforcement_category,status\n", f);
	fputs("SX-001,建筑施工企业资质检查,《建筑业企业资质管理规定》,市住建局,实地检查,重点,建筑施工企业,建筑市场,有效\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "item import %s", items);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "permission denied"));
	assert_int_equal(th_cli(&srv, "city-legal", "C.UTF-8", args, out, sizeof(out)), 0);
	/* Everyone reads it. */
	assert_int_equal(th_cli(&srv, "district-b-operator", "C.UTF-8", "--json item get SX-001",
				out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "\"category\":\"key\""));

	/* A declared conflict of interest, keyed by inspector and object. */
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("inspector_id,object_id,division_code,relationship,source,status\n", f);
	fputs("INS-0001,91110101A00000001N,110101,配偶任该企业股东,本人申报,有效\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "conflict import %s", conf);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8",
				"--json conflict get 'INS-0001|91110101A00000001N'", out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "\"source\":\"declared\""));
}

static SsEnvelope *import_call(struct th_client *c, SsEnvelope *env)
{
	SsEnvelope *r = th_call(c, env);

	assert_non_null(r);
	return r;
}

/*
 * The server, not the client, guarantees "all or none": a gap in the chunks
 * (a chunk the client lost or ignored) means the import cannot apply; and a
 * single change to a directory being imported is refused at once, not
 * left waiting behind the import.
 */
static void a_file_without_some_columns_keeps_them_on_existing_records(void **state)
{
	const char *full = path_in_srv("full.csv");
	const char *part = path_in_srv("partial.csv");
	char code[19], args[1024];
	FILE *f;

	uscc(code, "110101", 'K', 1);
	f = fopen(full, "w");
	assert_non_null(f);
	fputs("credit_code,name,business_category,division_code,risk_level,credit_class,status,"
	      "complaint_count,abnormal_operation\n", f);
	fprintf(f, "%s,保留测试企业,房屋建筑工程,110101,low,B,active,7,是\n", code);
	fclose(f);
	snprintf(args, sizeof(args), "entity import %s", full);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);

	/* The same record from a file without three of those columns: nothing changes. */
	f = fopen(part, "w");
	assert_non_null(f);
	fputs("credit_code,name,division_code,risk_level,credit_class,status\n", f);
	fprintf(f, "%s,保留测试企业,110101,low,B,active\n", code);
	fclose(f);
	snprintf(args, sizeof(args), "--json entity import %s", part);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"unchanged\":1"));

	/* A change to a column the file has keeps the ones it lacks. */
	f = fopen(part, "w");
	assert_non_null(f);
	fputs("credit_code,name,division_code,risk_level,credit_class,status\n", f);
	fprintf(f, "%s,保留测试企业,110101,high,B,active\n", code);
	fclose(f);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"changed\":1"));
	snprintf(args, sizeof(args), "--json entity get %s", code);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"risk_level\":\"high\""));
	assert_non_null(strstr(out, "\"complaint_count\":\"7\""));
	assert_non_null(strstr(out, "\"abnormal_operation\":\"t\""));
	assert_non_null(strstr(out, "\"business_category\":\"房屋建筑工程\""));
}

static void a_missing_chunk_means_nothing_applies(void **state)
{
	struct th_client *c = th_client_session(srv.port, "district-a-operator");
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *r;
	Shuangsui__V1__ImportBegin b = SHUANGSUI__V1__IMPORT_BEGIN__INIT;
	Shuangsui__V1__ImportChunk ch = SHUANGSUI__V1__IMPORT_CHUNK__INIT;
	Shuangsui__V1__ImportCommit cm = SHUANGSUI__V1__IMPORT_COMMIT__INIT;
	Shuangsui__V1__ImportRow row = SHUANGSUI__V1__IMPORT_ROW__INIT, *rows[1] = {&row};
	char *header[] = {"credit_code", "name", "division_code", "risk_level", "credit_class",
			  "status"};
	char code[19], args[256];
	char *cells[6];
	uint64_t id;

	assert_non_null(c);
	b.directory = "entity";
	b.n_header = 6;
	b.header = header;
	b.file_name = "gap.csv";
	b.file_sha256 = "";
	b.reason = "测试缺块";
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN;
	env.import_begin = &b;
	r = import_call(c, &env);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN_REPLY);
	id = r->import_begin_reply->import_id;
	th_free(r);

	/* Imports are limited (here to one at a time): another one must wait its turn. */
	write_entities(path_in_srv("second.csv"), "110101", 'Y', 2, 0, "low");
	snprintf(args, sizeof(args), "entity import %s", path_in_srv("second.csv"));
	assert_int_equal(th_cli(&srv, "district-b-operator", "C.UTF-8", args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "too many imports in progress"));

	/* While the import holds the directory, a single change is refused at once. */
	snprintf(args, sizeof(args), "entity set 91110101A00000001N risk_level=low --reason 测试");
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "import into the entity directory is in progress"));

	/* Chunk 1 arrives, chunk 0 never did. */
	uscc(code, "110101", 'X', 1);
	cells[0] = code;
	cells[1] = "缺块测试企业";
	cells[2] = "110101";
	cells[3] = "low";
	cells[4] = "B";
	cells[5] = "active";
	row.line = 2;
	row.n_cells = 6;
	row.cells = cells;
	ch.import_id = id;
	ch.seq = 1;
	ch.n_rows = 1;
	ch.rows = rows;
	env.request_id = 0;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK;
	env.import_chunk = &ch;
	r = import_call(c, &env);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_string_equal(r->error->field, "import_chunk.seq");
	th_free(r);

	/* Whatever the client now claims, the import does not apply. */
	cm.import_id = id;
	cm.chunks = 2;
	cm.rows = 1;
	env.request_id = 0;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_COMMIT;
	env.import_commit = &cm;
	r = import_call(c, &env);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_REPORT);
	assert_false(r->import_report->applied);
	th_free(r);
	assert_int_equal(db_count("SELECT count(*) FROM entity_versions WHERE record_id LIKE "
				  "'91110101X%'"),
			 0);
	assert_int_equal(db_count("SELECT count(*) FROM imports WHERE file_name = 'gap.csv' "
				  "AND status = 'failed'"),
			 1);
	th_client_close(c);
}

static void a_long_history_comes_back_whole_in_pages(void **state)
{
	PGconn *owner = th_db(1);
	char code[19], sql[2048], args[256];
	PGresult *res;
	const char *p;
	long n = 0;

	/* 2000 versions of ~700 bytes (fixture by the owner role): ~1.4 MB of history. */
	uscc(code, "110101", 'V', 1);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO entity_versions (record_id, version, credit_code, name, division_code, "
		 "risk_level, credit_class, abnormal_operation, serious_violation, status, "
		 "content_sha256, changed_by, reason) SELECT '%s', g, '%s', repeat('历', 190) || g, "
		 "'110101', 'low', 'B', false, false, 'active', '\\x00', 'fixture', 'fixture' "
		 "FROM generate_series(1, 2000) g",
		 code, code);
	res = PQexec(owner, sql);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(owner);
	snprintf(args, sizeof(args), "--json entity history %s", code);
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", args, out, sizeof(out)), 0);
	for (p = out; (p = strstr(p, "\"version\":")) != NULL; p++)
		n++;
	assert_int_equal(n, 2000);
	assert_non_null(strstr(out, "\"version\":2000"));
}

static void calendar_counts_official_working_days(void **state)
{
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", "calendar add 2026-09-18 3",
				out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "2026-09-22"));
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8", "calendar add 2026-02-13 3",
				out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "2026-02-25"));
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8",
				"--json calendar add 2027-03-01 3", out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "\"provisional\":true"));
	/* An administrator's override, retried with the same key, is recorded once. */
	{
		struct th_client *c = th_client_session(srv.port, "city-admin");
		SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *r;
		Shuangsui__V1__CalendarOverride o = SHUANGSUI__V1__CALENDAR_OVERRIDE__INIT;
		int i;

		assert_non_null(c);
		o.date = "2027-03-02";
		o.off_day = 1;
		o.reason = "测试：临时停工";
		env.idempotency_key = "override-retry-test";
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_OVERRIDE;
		env.calendar_override = &o;
		for (i = 0; i < 2; i++) {
			env.request_id = 0;
			r = th_call(c, &env);
			assert_non_null(r);
			assert_int_equal(r->body_case,
					 SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_OVERRIDE_REPLY);
			th_free(r);
		}
		th_client_close(c);
		assert_int_equal(db_count("SELECT count(*) FROM calendar_overrides "
					  "WHERE day = '2027-03-02'"),
				 1);
		/* The override moves working days: 2027-03-01 + 1 skips 03-02. */
		assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8",
					"calendar add 2027-03-01 1", out, sizeof(out)),
				 0);
		assert_non_null(strstr(out, "2027-03-03"));
	}
	/* Only administrators set overrides. */
	assert_int_equal(th_cli(&srv, "district-a-operator", "C.UTF-8",
				"calendar override 2027-03-02 off --reason 测试", out, sizeof(out)),
			 4);
}

static void server_stops_cleanly(void **state)
{
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
}

static SsEnvelope *packed_chunk(struct th_client *c, uint64_t id, uint32_t seq, const void *data,
				size_t len, int with_rows)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__ImportChunk ch = SHUANGSUI__V1__IMPORT_CHUNK__INIT;
	Shuangsui__V1__ImportRow row = SHUANGSUI__V1__IMPORT_ROW__INIT, *rows[1] = {&row};

	ch.import_id = id;
	ch.seq = seq;
	ch.packed_rows.data = (uint8_t *)data;
	ch.packed_rows.len = len;
	if (with_rows) {
		ch.n_rows = 1;
		ch.rows = rows;
	}
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK;
	env.import_chunk = &ch;
	return import_call(c, &env);
}

static uint64_t packed_begin(struct th_client *c, const char *name)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *r;
	Shuangsui__V1__ImportBegin b = SHUANGSUI__V1__IMPORT_BEGIN__INIT;
	char *header[] = {"credit_code", "name", "division_code", "risk_level", "credit_class",
			  "status"};
	uint64_t id;

	b.directory = "entity";
	b.n_header = 6;
	b.header = header;
	b.file_name = (char *)name;
	b.file_sha256 = "";
	b.reason = "测试打包";
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN;
	env.import_begin = &b;
	r = import_call(c, &env);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN_REPLY);
	id = r->import_begin_reply->import_id;
	th_free(r);
	return id;
}

static int packed_commit(struct th_client *c, uint64_t id, uint32_t chunks, uint64_t rows)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *r;
	Shuangsui__V1__ImportCommit cm = SHUANGSUI__V1__IMPORT_COMMIT__INIT;
	int applied;

	cm.import_id = id;
	cm.chunks = chunks;
	cm.rows = rows;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_COMMIT;
	env.import_commit = &cm;
	r = import_call(c, &env);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_REPORT);
	applied = r->import_report->applied;
	th_free(r);
	return applied;
}

static size_t packed_row(uint8_t *p, uint64_t line, char **cells, size_t n)
{
	size_t i, k = 0;

	p[k++] = (uint8_t)line;
	p[k++] = (uint8_t)n;
	for (i = 0; i < n; i++) {
		size_t l = strlen(cells[i]);

		p[k++] = (uint8_t)l;
		memcpy(p + k, cells[i], l);
		k += l;
	}
	return k;
}

static void packed_rows_are_checked(void **state)
{
	struct th_client *c = th_client_session(srv.port, "district-a-operator");
	char code[19], code2[19];
	char *cells[6] = {code, "打包测试企业", "110101", "low", "B", "active"};
	uint8_t buf[512];
	size_t n;
	uint64_t id;
	SsEnvelope *r;

	assert_non_null(c);
	uscc(code, "110101", 'P', 1);
	uscc(code2, "110101", 'P', 2);
	/* Good: two rows, the second with a bad cell, then fixed. */
	id = packed_begin(c, "packed-ok.csv");
	n = packed_row(buf, 2, cells, 6);
	cells[0] = code2;
	cells[3] = "bogus";
	n += packed_row(buf + n, 3, cells, 6);
	r = packed_chunk(c, id, 0, buf, n, 0);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK_REPLY);
	assert_int_equal(r->import_chunk_reply->rows_accepted, 1);
	assert_int_equal(r->import_chunk_reply->n_errors, 1);
	assert_int_equal(r->import_chunk_reply->errors[0]->line, 3);
	assert_string_equal(r->import_chunk_reply->errors[0]->column, "risk_level");
	assert_string_equal(r->import_chunk_reply->errors[0]->value, "bogus");
	th_free(r);
	assert_false(packed_commit(c, id, 1, 2));
	cells[3] = "low";
	id = packed_begin(c, "packed-ok2.csv");
	n = packed_row(buf, 2, cells, 6);
	buf[n++] = 4; /* line 4, no cells: required cells missing */
	buf[n++] = 0;
	r = packed_chunk(c, id, 0, buf, n, 0);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK_REPLY);
	assert_int_equal(r->import_chunk_reply->rows_accepted, 1);
	assert_true(r->import_chunk_reply->n_errors >= 1);
	assert_int_equal(r->import_chunk_reply->errors[0]->line, 4);
	th_free(r);
	assert_false(packed_commit(c, id, 1, 2));
	id = packed_begin(c, "packed-ok3.csv");
	n = packed_row(buf, 2, cells, 6);
	r = packed_chunk(c, id, 0, buf, n, 0);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK_REPLY);
	assert_int_equal(r->import_chunk_reply->rows_accepted, 1);
	th_free(r);
	assert_true(packed_commit(c, id, 1, 1));

	/* Truncated: the last cell is cut short. */
	id = packed_begin(c, "packed-cut.csv");
	n = packed_row(buf, 2, cells, 6);
	r = packed_chunk(c, id, 0, buf, n - 1, 0);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_string_equal(r->error->field, "import_chunk.packed_rows");
	th_free(r);
	assert_false(packed_commit(c, id, 1, 0));
	/* Hostile lengths. */
	id = packed_begin(c, "packed-hostile.csv");
	{
		uint8_t h[] = {2, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'};
		r = packed_chunk(c, id, 0, h, sizeof(h), 0);
	}
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_string_equal(r->error->field, "import_chunk.packed_rows");
	th_free(r);
	assert_false(packed_commit(c, id, 1, 0));
	id = packed_begin(c, "packed-hostile2.csv");
	{
		uint8_t h[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
		r = packed_chunk(c, id, 0, h, sizeof(h), 0);
	}
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_string_equal(r->error->field, "import_chunk.packed_rows");
	th_free(r);
	assert_false(packed_commit(c, id, 1, 0));
	/* Both forms at once. */
	id = packed_begin(c, "packed-both.csv");
	n = packed_row(buf, 2, cells, 6);
	r = packed_chunk(c, id, 0, buf, n, 1);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_string_equal(r->error->field, "import_chunk.packed_rows");
	th_free(r);
	assert_false(packed_commit(c, id, 1, 1));
	/* A NUL byte in a cell. */
	id = packed_begin(c, "packed-nul.csv");
	n = packed_row(buf, 2, cells, 6);
	buf[5] = '\0';
	r = packed_chunk(c, id, 0, buf, n, 0);
	assert_int_equal(r->body_case, SHUANGSUI__V1__ENVELOPE__BODY_ERROR);
	assert_string_equal(r->error->field, "import_chunk.packed_rows");
	th_free(r);
	assert_false(packed_commit(c, id, 1, 1));
	th_client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(import_applies_and_reimport_changes_nothing),
		cmocka_unit_test(million_rows_with_one_bad_row_apply_nothing),
		cmocka_unit_test(dry_run_reports_and_applies_nothing),
		cmocka_unit_test(gb18030_file_with_characters_outside_gbk_imports_exactly),
		cmocka_unit_test(excel_mangled_code_is_refused_with_an_explanation),
		cmocka_unit_test(district_a_cannot_read_or_write_district_b_rows),
		cmocka_unit_test(risk_changed_today_reads_old_value_as_of_yesterday),
		cmocka_unit_test(export_and_reimport_change_nothing),
		cmocka_unit_test(wide_records_are_paged_to_fit_frames),
		cmocka_unit_test(inspectors_items_and_conflicts_import_with_their_rules),
		cmocka_unit_test(a_file_without_some_columns_keeps_them_on_existing_records),
		cmocka_unit_test(a_missing_chunk_means_nothing_applies),
		cmocka_unit_test(packed_rows_are_checked),
		cmocka_unit_test(a_long_history_comes_back_whole_in_pages),
		cmocka_unit_test(calendar_counts_official_working_days),
		cmocka_unit_test(server_stops_cleanly),
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
