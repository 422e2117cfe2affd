/*
 * test_tables.c — CSV / XLSX import and export (client/table_reader,
 * client/table_writer).  Fixtures are made at test time in a temporary
 * directory, except tests/data/first_sheet_not_sheet1.xlsx (see
 * tests/data/make_xlsx_fixture.py), an XLSX shaped like Excel's own output.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "ss_error.h"
#include "table_reader.h"
#include "table_writer.h"

static char tmpdir[64];

/* A path inside the test's temporary directory; static storage, four at a time. */
static const char *tmp_path(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

static const char *write_file(const char *name, const void *bytes, size_t len)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static struct ss_table_reader *open_ok(const char *path)
{
	char en[256], zh[256];
	struct ss_table_reader *r = ss_table_reader_open(path, en, sizeof(en), zh, sizeof(zh));

	if (r == NULL)
		fail_msg("open %s: %s", path, en);
	return r;
}

/* Reads the next row and checks it is exactly the n cells given, at line. */
static void expect_row(struct ss_table_reader *r, long line, size_t n, ...)
{
	char **cells;
	size_t ncells, i;
	long got_line;
	va_list ap;
	int rc = ss_table_reader_next(r, &cells, &ncells, &got_line);

	if (rc != 1)
		fail_msg("expected a row at line %ld, got %d: %s", line, rc,
			 ss_table_reader_error(r, 0));
	assert_int_equal(got_line, line);
	assert_int_equal(ncells, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(cells[i], va_arg(ap, const char *));
	va_end(ap);
}

static void expect_end(struct ss_table_reader *r)
{
	char **cells;
	size_t n;
	long line;

	assert_int_equal(ss_table_reader_next(r, &cells, &n, &line), 0);
}

static int expect_error(struct ss_table_reader *r, const char *en_part, const char *zh_part)
{
	char **cells;
	size_t n;
	long line;
	int rc = ss_table_reader_next(r, &cells, &n, &line);

	assert_true(rc < 0);
	if (strstr(ss_table_reader_error(r, 0), en_part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", ss_table_reader_error(r, 0), en_part);
	if (strstr(ss_table_reader_error(r, 1), zh_part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", ss_table_reader_error(r, 1), zh_part);
	/* Errors are sticky. */
	assert_int_equal(ss_table_reader_next(r, &cells, &n, &line), rc);
	return rc;
}

/* UTF-8 to GB18030 with iconv, as a bureau's Excel on Chinese Windows would save it. */
static size_t to_gb18030(const char *utf8, char *out, size_t outlen)
{
	iconv_t cd = iconv_open("GB18030", "UTF-8");
	char *in = (char *)utf8, *o = out;
	size_t inleft = strlen(utf8), oleft = outlen;

	assert_true(cd != (iconv_t)-1);
	assert_int_not_equal(iconv(cd, &in, &inleft, &o, &oleft), (size_t)-1);
	iconv_close(cd);
	return outlen - oleft;
}

/* CSV. */

static void csv_with_and_without_bom_give_identical_cells(void **state)
{
	static const char body[] =
	    "统一社会信用代码,名称, 地址 \r\n91110000MA01ABCD2X,某某公司,北京\r\n";
	char bom[sizeof(body) + 3] = "\xef\xbb\xbf";
	const char *plain = write_file("plain.csv", body, strlen(body));
	struct ss_table_reader *a, *b;
	int i;

	memcpy(bom + 3, body, sizeof(body));
	b = open_ok(write_file("bom.csv", bom, strlen(bom)));
	a = open_ok(plain);
	assert_int_equal(ss_table_reader_format(a), SS_TABLE_CSV);
	assert_int_equal(ss_table_reader_encoding(a), SS_ENC_UTF8);
	assert_int_equal(ss_table_reader_encoding(b), SS_ENC_UTF8_BOM);
	for (i = 0; i < 2; i++) {
		struct ss_table_reader *r = i ? b : a;

		/* No BOM in the first cell, and spaces kept as they are. */
		expect_row(r, 1, 3, "统一社会信用代码", "名称", " 地址 ");
		expect_row(r, 2, 3, "91110000MA01ABCD2X", "某某公司", "北京");
		expect_end(r);
	}
	ss_table_reader_free(a);
	ss_table_reader_free(b);
}

static void quoted_cells_keep_commas_quotes_and_newlines(void **state)
{
	static const char body[] =
	    "名称,备注\n\"甲, 乙\",\"他说\"\"好\"\"\"\n\"第一行\r\n第二行\",\"\"\n";
	struct ss_table_reader *r = open_ok(write_file("quoted.csv", body, strlen(body)));

	expect_row(r, 1, 2, "名称", "备注");
	expect_row(r, 2, 2, "甲, 乙", "他说\"好\"");
	expect_row(r, 3, 2, "第一行\r\n第二行", "");
	expect_end(r);
	ss_table_reader_free(r);
}

static void line_numbers_count_multiline_cells_and_blank_lines(void **state)
{
	static const char body[] = "h1,h2\r\n\"a\nb\nc\",x\r\n\r\nnext,y\r\n,\r\nlast,z";
	struct ss_table_reader *r = open_ok(write_file("lines.csv", body, strlen(body)));

	expect_row(r, 1, 2, "h1", "h2");
	expect_row(r, 2, 2, "a\nb\nc", "x");
	/* Line 5 is blank and line 7 has only empty cells: both skipped. */
	expect_row(r, 6, 2, "next", "y");
	expect_row(r, 8, 2, "last", "z"); /* no newline at the end of the file */
	expect_end(r);
	ss_table_reader_free(r);
}

static void gb18030_outside_gbk_is_detected_and_converted_exactly(void **state)
{
	/* 𠮷 (U+20BB7), 䶶 (U+4DB6) and € are four-byte or non-GBK in GB18030. */
	static const char utf8[] = "名称,备注\r\n𠮷野家,䶶€\r\n";
	char gb[256];
	size_t n = to_gb18030(utf8, gb, sizeof(gb));
	struct ss_table_reader *r;

	assert_non_null(memmem(gb, n, "\x95\x34\xb2\x35", 4)); /* 𠮷 as four bytes */
	r = open_ok(write_file("gb.csv", gb, n));
	expect_row(r, 1, 2, "名称", "备注");
	expect_row(r, 2, 2, "𠮷野家", "䶶€");
	expect_end(r);
	assert_int_equal(ss_table_reader_encoding(r), SS_ENC_GB18030);
	ss_table_reader_free(r);
}

static void gb18030_sequences_cut_by_blocks_convert_exactly(void **state)
{
	/* Rows of growing length put 2- and 4-byte sequences at every offset of a 64 KiB block. */
	const char *path = tmp_path("gbblocks.csv");
	FILE *f = fopen(path, "wb");
	char utf8[128], gb[128], **cells;
	struct ss_table_reader *r;
	size_t n;
	long i, line;

	assert_non_null(f);
	for (i = 0; i < 20000; i++) {
		snprintf(utf8, sizeof(utf8), "%ld,%.*s𠮷名\r\n", i, (int)(i % 7), "xxxxxxx");
		n = to_gb18030(utf8, gb, sizeof(gb));
		assert_int_equal(fwrite(gb, 1, n, f), n);
	}
	assert_int_equal(fclose(f), 0);
	r = open_ok(path);
	for (i = 0; i < 20000; i++) {
		assert_int_equal(ss_table_reader_next(r, &cells, &n, &line), 1);
		snprintf(utf8, sizeof(utf8), "%.*s𠮷名", (int)(i % 7), "xxxxxxx");
		assert_int_equal(line, i + 1);
		assert_int_equal(strtol(cells[0], NULL, 10), i);
		assert_string_equal(cells[1], utf8);
	}
	expect_end(r);
	assert_int_equal(ss_table_reader_encoding(r), SS_ENC_GB18030);
	ss_table_reader_free(r);
}

static void old_mac_line_ends_are_lines(void **state)
{
	static const char body[] = "a,b\r\"c\rd\",e\rf,g\r";
	struct ss_table_reader *r = open_ok(write_file("mac.csv", body, strlen(body)));

	expect_row(r, 1, 2, "a", "b");
	expect_row(r, 2, 2, "c\rd", "e");
	expect_row(r, 4, 2, "f", "g");
	expect_end(r);
	ss_table_reader_free(r);
}

static void bytes_invalid_in_both_encodings_name_the_line(void **state)
{
	char gb[256];
	size_t n = to_gb18030("名称,备注\r\n某某,正常\r\n", gb, sizeof(gb));
	struct ss_table_reader *r;

	memcpy(gb + n, "\xb2\xe2,\xff\xfe\r\n", 7); /* 测 then bytes no encoding allows */
	r = open_ok(write_file("bad.csv", gb, n + 7));
	expect_row(r, 1, 2, "名称", "备注");
	expect_row(r, 2, 2, "某某", "正常");
	assert_int_equal(expect_error(r, "line 3", "第 3 行"), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_table_reader_encoding(r), SS_ENC_GB18030);
	ss_table_reader_free(r);
}

static void utf8_file_with_a_late_bad_byte_names_the_line(void **state)
{
	/* 1 MiB of valid UTF-8 decides the encoding; the bad byte comes after it. */
	const char *path = tmp_path("late.csv");
	FILE *f = fopen(path, "wb");
	struct ss_table_reader *r;
	char **cells;
	size_t nc;
	long line, i, rows = 0;
	int rc;

	assert_non_null(f);
	for (i = 0; i < 60000; i++) /* about 1.5 MiB */
		fprintf(f, "%ld,某某有限公司\n", i);
	fputs("oops,\xe6\x9f\n", f);
	fclose(f);
	r = open_ok(path);
	while ((rc = ss_table_reader_next(r, &cells, &nc, &line)) == 1)
		rows++;
	assert_int_equal(rows, 60000);
	assert_int_equal(rc, SS_ERR_BAD_REQUEST);
	assert_non_null(strstr(ss_table_reader_error(r, 0), "line 60001"));
	assert_non_null(strstr(ss_table_reader_error(r, 0), "UTF-8"));
	ss_table_reader_free(r);
}

static void excel_text_formulas_are_unwrapped(void **state)
{
	static const char body[] =
	    "\"=\"\"0012\"\"\",\"=\"\"a\"\"\"\"b\"\"\",\"=\"\"a\"\"&\"\"b\"\"\",=1+2\r\n";
	struct ss_table_reader *r = open_ok(write_file("formula.csv", body, strlen(body)));

	expect_row(r, 1, 4, "0012", "a\"b", "=\"a\"&\"b\"", "=1+2");
	expect_end(r);
	ss_table_reader_free(r);
}

static void malformed_csv_is_refused_with_its_line(void **state)
{
	static const char stray[] = "a,b\r\nc,\"d\"x\r\n";
	static const char open_quote[] = "a,b\r\nc,\"never closed\r\nmore\r\n";
	struct ss_table_reader *r = open_ok(write_file("stray.csv", stray, strlen(stray)));

	expect_row(r, 1, 2, "a", "b");
	expect_error(r, "line 2", "第 2 行");
	ss_table_reader_free(r);
	r = open_ok(write_file("open.csv", open_quote, strlen(open_quote)));
	expect_row(r, 1, 2, "a", "b");
	expect_error(r, "line 2", "第 2 行");
	ss_table_reader_free(r);
}

static void oversized_cells_and_rows_are_refused(void **state)
{
	size_t big = SS_TABLE_MAX_CELL + 10, i;
	char *buf = malloc(big + 16);
	struct ss_table_reader *r;

	assert_non_null(buf);
	memcpy(buf, "a\n\"", 3);
	memset(buf + 3, 'x', big);
	memcpy(buf + 3 + big, "\"\n", 2);
	r = open_ok(write_file("bigcell.csv", buf, big + 5));
	expect_row(r, 1, 1, "a");
	expect_error(r, "64 KiB", "64 KiB");
	ss_table_reader_free(r);

	for (i = 0; i < 1001; i++)
		memcpy(buf + 2 * i, "x,", 2);
	buf[2 * 1001 - 1] = '\n';
	r = open_ok(write_file("wide.csv", buf, 2 * 1001));
	expect_error(r, "line 1", "1000");
	ss_table_reader_free(r);
	free(buf);
}

static void unreadable_inputs_are_refused_at_open(void **state)
{
	char en[256], zh[256];

	assert_null(ss_table_reader_open(tmp_path("missing.csv"), en, sizeof(en), zh, sizeof(zh)));
	assert_true(en[0] != '\0' && zh[0] != '\0');
	write_file("utf16.csv",
		   "\xff\xfe"
		   "a\0,\0b\0",
		   8);
	assert_null(ss_table_reader_open(tmp_path("utf16.csv"), en, sizeof(en), zh, sizeof(zh)));
	assert_non_null(strstr(en, "UTF-16"));
	write_file("fake.xlsx", "a,b\n", 4);
	assert_null(ss_table_reader_open(tmp_path("fake.xlsx"), en, sizeof(en), zh, sizeof(zh)));
	assert_non_null(strstr(en, ".xlsx"));
}

static long maxrss_kib(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

static void large_csv_is_read_in_bounded_memory(void **state)
{
	const char *path = tmp_path("large.csv");
	FILE *f = fopen(path, "wb");
	struct ss_table_reader *r;
	char **cells;
	size_t n;
	long i, line = 0, last_line = 0, rows = 0, before;
	uint64_t done, total;
	int rc;

	assert_non_null(f);
	fputs("\xef\xbb\xbf统一社会信用代码,名称,地址,联系人\r\n", f);
	for (i = 0; i < 200000; i++)
		fprintf(f,
			"9111%014ld,某某市第%ld有限责任公司,\"某区某路%ld号, 某某大厦\",张三\r\n",
			i, i, i);
	assert_int_equal(fclose(f), 0);
	before = maxrss_kib();
	r = open_ok(path);
	expect_row(r, 1, 4, "统一社会信用代码", "名称", "地址", "联系人");
	while ((rc = ss_table_reader_next(r, &cells, &n, &line)) == 1) {
		assert_int_equal(n, 4);
		last_line = line;
		rows++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(rows, 200000);
	assert_int_equal(last_line, 200001);
	ss_table_reader_progress(r, &done, &total);
	assert_true(total > 10 * 1024 * 1024); /* big enough to mean something */
	assert_int_equal(done, total);
	ss_table_reader_free(r);
	assert_true(maxrss_kib() - before < 50 * 1024);
}

/* Writer round trips. */

static const char *const HEADER[] = {"统一社会信用代码", "名称", "备注", "数量"};
static const int TEXT_COLS[] = {1, 0, 0, 0};
static const char *const ROWS[][4] = {
    {"911010000000000000", "北京某某有限公司", "", "42"},
    {"0012", "他说\"好\", 对", "第一行\r\n第二行", "-5"},
    {"91110000MA01ABCD2X", "=HYPERLINK(\"http://x\")", "@SUM(A1)", NULL},
};

static void write_sample(const char *path, enum ss_table_format fmt)
{
	char err[256];
	struct ss_table_writer *w =
	    ss_table_writer_open(path, fmt, HEADER, 4, TEXT_COLS, err, sizeof(err));
	size_t i;

	if (w == NULL)
		fail_msg("writer: %s", err);
	for (i = 0; i < 3; i++)
		assert_int_equal(ss_table_writer_row(w, ROWS[i]), 0);
	assert_int_equal(ss_table_writer_close(w), 0);
}

static void expect_sample(struct ss_table_reader *r)
{
	expect_row(r, 1, 4, HEADER[0], HEADER[1], HEADER[2], HEADER[3]);
	expect_row(r, 2, 4, ROWS[0][0], ROWS[0][1], "", ROWS[0][3]);
	expect_row(r, 3, 4, ROWS[1][0], ROWS[1][1], ROWS[1][2], ROWS[1][3]);
	if (ss_table_reader_format(r) == SS_TABLE_CSV)
		expect_row(r, 5, 4, ROWS[2][0], ROWS[2][1], ROWS[2][2],
			   ""); /* after a 2-line cell */
	else			/* an XLSX row ends at its last non-empty cell */
		expect_row(r, 4, 3, ROWS[2][0], ROWS[2][1], ROWS[2][2]);
	expect_end(r);
}

static void csv_written_is_read_back_identically(void **state)
{
	const char *path = tmp_path("out.csv");
	struct ss_table_reader *r;
	char buf[1024];
	size_t n;
	FILE *f;

	write_sample(path, SS_TABLE_CSV);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_memory_equal(buf, "\xef\xbb\xbf", 3);
	/* Codes as ="..." text formulas, CRLF line ends, formulas neutralised. */
	assert_non_null(
	    strstr(buf, "\r\n\"=\"\"911010000000000000\"\"\",北京某某有限公司,,42\r\n"));
	assert_non_null(strstr(buf, "\"=\"\"=HYPERLINK(\"\"\"\"http://x\"\"\"\")\"\"\""));
	assert_null(strstr(buf, ",=HYPERLINK"));
	r = open_ok(path);
	assert_int_equal(ss_table_reader_encoding(r), SS_ENC_UTF8_BOM);
	expect_sample(r);
	ss_table_reader_free(r);
}

static void xlsx_written_is_read_back_cell_for_cell(void **state)
{
	const char *path = tmp_path("out.xlsx");
	struct ss_table_reader *r;

	write_sample(path, SS_TABLE_XLSX);
	r = open_ok(path);
	assert_int_equal(ss_table_reader_format(r), SS_TABLE_XLSX);
	expect_sample(r);
	ss_table_reader_free(r);
}

static void failed_export_leaves_no_file(void **state)
{
	char err[256];
	const char *path = tmp_path("nodir/out.csv");

	assert_null(ss_table_writer_open(path, SS_TABLE_CSV, HEADER, 4, NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_int_equal(access(path, F_OK), -1);
}

/* XLSX cell types, through libxlsxwriter's normal (shared-string) mode. */

static void write_typed_workbook(const char *path)
{
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "名录");
	lxw_worksheet *other = workbook_add_worksheet(wb, "其他");
	lxw_format *bold = workbook_add_format(wb);
	lxw_rich_string_tuple a = {.format = NULL, .string = "北京"};
	lxw_rich_string_tuple b = {.format = bold, .string = "某某公司"};
	lxw_rich_string_tuple *rich[] = {&a, &b, NULL};

	format_set_bold(bold);
	worksheet_write_string(ws, 0, 0, "代码", NULL);
	worksheet_write_string(ws, 0, 2, "名称", NULL); /* B1 missing */
	worksheet_write_number(ws, 1, 0, 911010000000000000.0, NULL);
	worksheet_write_rich_string(ws, 1, 2, rich, NULL);
	worksheet_write_boolean(ws, 2, 0, 1, NULL);
	worksheet_write_formula_str(ws, 2, 1, "=\"0\"&\"12\"", NULL, "012");
	worksheet_write_number(ws, 2, 2, 45292, NULL); /* a date, as Excel stores it */
	worksheet_write_blank(ws, 3, 0, bold);	       /* formatting only */
	worksheet_write_string(ws, 4, 1, "末行", NULL);
	worksheet_write_string(other, 0, 0, "不该读到", NULL);
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
}

static void expect_typed(struct ss_table_reader *r)
{
	expect_row(r, 1, 3, "代码", "", "名称");
	expect_row(r, 2, 3, "9.1101E+17", "", "北京某某公司"); /* raw, not reformatted */
	expect_row(r, 3, 3, "TRUE", "012", "45292");
	expect_row(r, 5, 2, "", "末行");
	expect_end(r);
}

static void xlsx_cell_types_come_back_raw(void **state)
{
	const char *path = tmp_path("typed.xlsx");
	struct ss_table_reader *r;

	write_typed_workbook(path);
	r = open_ok(path);
	expect_typed(r);
	ss_table_reader_free(r);
	/* The same with the shared strings spilled to a temporary file. */
	ss_xlsx_set_sst_memory(8);
	r = open_ok(path);
	expect_typed(r);
	ss_table_reader_free(r);
	ss_xlsx_set_sst_memory(SS_TABLE_SST_MEMORY);
}

static void xlsx_first_sheet_is_found_through_the_workbook(void **state)
{
	struct ss_table_reader *r = open_ok(SS_TEST_DATA_DIR "/first_sheet_not_sheet1.xlsx");

	expect_row(r, 1, 4, "统一社会信用代码", "名称", "", "日期");
	expect_row(r, 2, 5, "91110000MA01ABCD2X", "北京某某 公司", "", "45292", "#N/A");
	expect_row(r, 5, 4, "9.1101000000000006E+17", "第一行\r\n第二行", "911010000000000000",
		   "FALSE");
	expect_end(r);
	ss_table_reader_free(r);
}

static void xlsx_is_recognised_by_content_whatever_its_name(void **state)
{
	const char *xlsx = tmp_path("renamed.xlsx"), *csv = tmp_path("renamed.csv");
	struct ss_table_reader *r;

	write_sample(xlsx, SS_TABLE_XLSX);
	assert_int_equal(rename(xlsx, csv), 0);
	r = open_ok(csv);
	assert_int_equal(ss_table_reader_format(r), SS_TABLE_XLSX);
	expect_sample(r);
	ss_table_reader_free(r);
}

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ss_tables_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(csv_with_and_without_bom_give_identical_cells),
	    cmocka_unit_test(quoted_cells_keep_commas_quotes_and_newlines),
	    cmocka_unit_test(line_numbers_count_multiline_cells_and_blank_lines),
	    cmocka_unit_test(gb18030_outside_gbk_is_detected_and_converted_exactly),
	    cmocka_unit_test(gb18030_sequences_cut_by_blocks_convert_exactly),
	    cmocka_unit_test(old_mac_line_ends_are_lines),
	    cmocka_unit_test(bytes_invalid_in_both_encodings_name_the_line),
	    cmocka_unit_test(utf8_file_with_a_late_bad_byte_names_the_line),
	    cmocka_unit_test(excel_text_formulas_are_unwrapped),
	    cmocka_unit_test(malformed_csv_is_refused_with_its_line),
	    cmocka_unit_test(oversized_cells_and_rows_are_refused),
	    cmocka_unit_test(unreadable_inputs_are_refused_at_open),
	    cmocka_unit_test(large_csv_is_read_in_bounded_memory),
	    cmocka_unit_test(csv_written_is_read_back_identically),
	    cmocka_unit_test(xlsx_written_is_read_back_cell_for_cell),
	    cmocka_unit_test(failed_export_leaves_no_file),
	    cmocka_unit_test(xlsx_cell_types_come_back_raw),
	    cmocka_unit_test(xlsx_first_sheet_is_found_through_the_workbook),
	    cmocka_unit_test(xlsx_is_recognised_by_content_whatever_its_name),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
