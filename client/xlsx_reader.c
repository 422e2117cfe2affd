/*
 * xlsx_reader.c — the XLSX half of the table reader (see table_reader.h).
 *
 * An XLSX file is a zip of XML parts (ECMA-376 Part 1).  The first worksheet
 * is the one named by the first <sheet> of xl/workbook.xml, found through
 * its r:id in xl/_rels/workbook.xml.rels; it need not be sheet1.xml.  The
 * shared-string table is loaded once (it must be: cells index it randomly)
 * and spills to an unlinked temporary file past a memory budget; the
 * worksheet itself is streamed, zip_fread block by block into expat, and
 * expat is suspended at each </row> so that exactly one row is built at a
 * time.  Element names are matched by local name, whatever the namespace
 * (transitional and strict OOXML alike, prefixed or not).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <expat.h>
#include <zip.h>

#include "ss_error.h"
#include "table_reader.h"

#define XBLOCK (64 * 1024)
#define PART_MAX ((uint64_t)64 * 1024 * 1024)  /* workbook.xml, rels */
#define SST_MAX ((uint64_t)1024 * 1024 * 1024) /* all shared strings */
#define NS_SEP '|'

static size_t sst_memory = SS_TABLE_SST_MEMORY;

void ss_xlsx_set_sst_memory(size_t bytes)
{
	sst_memory = bytes;
}

/* Shared strings: one byte store, in memory or spilled to a file, and their offsets. */
struct sst {
	char *mem;
	size_t mem_cap;
	FILE *spill;
	uint64_t bytes;
	uint64_t *offs; /* n + 1 entries: string i is [offs[i], offs[i+1]) */
	size_t n, cap;
	char *scratch; /* a spilled string read back */
};

struct ss_xlsx {
	zip_t *zip;
	zip_file_t *sheet;
	XML_Parser p;
	char buf[XBLOCK];
	uint64_t done, total;
	int suspended, final_done;
	struct sst sst;

	/* Parse state; which part is being parsed decides which fields are used. */
	int err; /* set by a handler, with msg_en / msg_zh */
	char msg_en[256], msg_zh[256];
	char *rid, *sheet_target, *sst_target;
	char *val; /* text of the current <v>, <t> or <si> */
	size_t val_len, val_cap;
	int in_text, in_is, rph;
	struct ss_table_row *row;
	long row_num;
	long col, last_col;
	char ctype[12];
	int row_ready;
};

/* Helpers. */

static const char *local_name(const char *name)
{
	const char *s = strrchr(name, NS_SEP);

	return s ? s + 1 : name;
}

/* The value of the attribute with this local name; with ns, only a namespaced one. */
static const char *attr(const char **atts, const char *name, int ns)
{
	size_t i;

	for (i = 0; atts[i]; i += 2)
		if (strcmp(local_name(atts[i]), name) == 0 &&
		    (!ns || strchr(atts[i], NS_SEP) != NULL))
			return atts[i + 1];
	return NULL;
}

static void set_error(struct ss_xlsx *x, int code, const char *en, const char *zh)
{
	if (x->err)
		return;
	x->err = code;
	if (x->row_num > 0) {
		snprintf(x->msg_en, sizeof(x->msg_en), "row %ld: %s", x->row_num, en);
		snprintf(x->msg_zh, sizeof(x->msg_zh), "第 %ld 行：%s", x->row_num, zh);
	} else {
		snprintf(x->msg_en, sizeof(x->msg_en), "%s", en);
		snprintf(x->msg_zh, sizeof(x->msg_zh), "%s", zh);
	}
	XML_StopParser(x->p, XML_FALSE);
}

static void val_append(struct ss_xlsx *x, const char *s, size_t n)
{
	if (x->val_len + n > SS_TABLE_MAX_CELL) {
		set_error(x, SS_ERR_BAD_REQUEST, "a cell longer than 64 KiB",
			  "单元格内容超过 64 KiB");
		return;
	}
	if (x->val_len + n + 1 > x->val_cap) {
		size_t cap = x->val_cap ? x->val_cap : 256;
		char *nv;

		while (cap < x->val_len + n + 1)
			cap *= 2;
		nv = realloc(x->val, cap);
		if (nv == NULL) {
			set_error(x, SS_ERR_NOMEM, "out of memory", "内存不足");
			return;
		}
		x->val = nv;
		x->val_cap = cap;
	}
	memcpy(x->val + x->val_len, s, n);
	x->val_len += n;
	x->val[x->val_len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes the OOXML escape _xHHHH_ (ECMA-376 Part 1, 22.9.2.19: how Excel
 * stores characters XML cannot carry, e.g. _x000D_ for CR) in place.
 */
static void unescape_x(char *s, size_t *len)
{
	size_t i = 0, o = 0, n = *len;

	while (i < n) {
		unsigned cp = 0;
		int k, ok = i + 7 <= n && s[i] == '_' && s[i + 1] == 'x' && s[i + 6] == '_';

		for (k = 2; ok && k < 6; k++) {
			int h = hexval(s[i + k]);

			ok = h >= 0;
			cp = cp * 16 + (unsigned)h;
		}
		if (!ok || cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
			s[o++] = s[i++];
			continue;
		}
		if (cp < 0x80) {
			s[o++] = (char)cp;
		} else if (cp < 0x800) {
			s[o++] = (char)(0xc0 | (cp >> 6));
			s[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			s[o++] = (char)(0xe0 | (cp >> 12));
			s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[o++] = (char)(0x80 | (cp & 0x3f));
		}
		i += 7;
	}
	*len = o;
	s[o] = '\0';
}

/* Refuses a DTD: OOXML has none, and entity definitions are how XML bombs start. */
static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *sys,
			       const XML_Char *pub, int internal)
{
	set_error(data, SS_ERR_BAD_REQUEST, "the file contains a DTD, which XLSX never does",
		  "文件含有 DTD，不是正常的 XLSX 文件");
}

static XML_Parser new_parser(struct ss_xlsx *x, XML_StartElementHandler start,
			     XML_EndElementHandler end, XML_CharacterDataHandler text)
{
	XML_Parser p = XML_ParserCreateNS(NULL, NS_SEP);

	if (p == NULL)
		return NULL;
	XML_SetUserData(p, x);
	XML_SetElementHandler(p, start, end);
	XML_SetCharacterDataHandler(p, text);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	return p;
}

/* Resolves a relationship target against xl/ (the workbook's folder). */
static char *resolve_target(const char *target)
{
	size_t n = strlen(target);
	char *out = malloc(n + 4), *seg;
	size_t o = 0;
	char *copy, *save = NULL;

	if (out == NULL)
		return NULL;
	copy = strdup(target[0] == '/' ? target + 1 : target);
	if (copy == NULL) {
		free(out);
		return NULL;
	}
	if (target[0] != '/') {
		memcpy(out, "xl/", 3);
		o = 3;
	}
	for (seg = strtok_r(copy, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (o > 0 && out[o - 1] == '/')
				o--;
			while (o > 0 && out[o - 1] != '/')
				o--;
			continue;
		}
		memcpy(out + o, seg, strlen(seg));
		o += strlen(seg);
		out[o++] = '/';
	}
	if (o > 0)
		o--; /* the last '/' */
	out[o] = '\0';
	free(copy);
	return out;
}

/* Streams one zip member through p.  0, or a negative ss_err with x->msg_* set. */
static int parse_part(struct ss_xlsx *x, const char *name, uint64_t max)
{
	zip_int64_t idx = zip_name_locate(x->zip, name, ZIP_FL_NOCASE);
	zip_file_t *f;
	uint64_t total = 0;
	int rc = 0;

	if (idx < 0) {
		snprintf(x->msg_en, sizeof(x->msg_en), "the part %s is missing: not a valid .xlsx",
			 name);
		snprintf(x->msg_zh, sizeof(x->msg_zh), "缺少 %s：不是有效的 .xlsx 文件", name);
		return SS_ERR_BAD_REQUEST;
	}
	f = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
	if (f == NULL) {
		set_error(x, SS_ERR_BAD_REQUEST, "a part of the .xlsx cannot be unpacked",
			  "无法解压 .xlsx 文件的内容");
		return x->err;
	}
	for (;;) {
		zip_int64_t n = zip_fread(f, x->buf, sizeof(x->buf));

		if (n < 0) {
			set_error(x, SS_ERR_BAD_REQUEST, "a part of the .xlsx cannot be unpacked",
				  "无法解压 .xlsx 文件的内容");
			break;
		}
		total += (uint64_t)n;
		if (total > max) {
			set_error(x, SS_ERR_BAD_REQUEST, "a part of the .xlsx is too large",
				  "文件内容过大");
			break;
		}
		if (XML_Parse(x->p, x->buf, (int)n, n == 0) == XML_STATUS_ERROR) {
			/* ABORTED without an error: a handler stopped early on purpose. */
			if (!x->err && XML_GetErrorCode(x->p) != XML_ERROR_ABORTED)
				set_error(x, SS_ERR_BAD_REQUEST, "the .xlsx contains malformed XML",
					  ".xlsx 文件中的 XML 格式错误");
			break;
		}
		if (n == 0)
			break;
	}
	if (x->err)
		rc = x->err;
	zip_fclose(f);
	return rc;
}

/* Workbook and relationships. */

static void XMLCALL wb_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct ss_xlsx *x = data;
	const char *id;

	if (x->rid || strcmp(local_name(name), "sheet") != 0)
		return;
	id = attr(atts, "id", 1);
	if (id == NULL) {
		set_error(x, SS_ERR_BAD_REQUEST, "the first sheet has no relationship id",
			  "第一个工作表缺少关系 ID");
		return;
	}
	x->rid = strdup(id);
	if (x->rid == NULL)
		set_error(x, SS_ERR_NOMEM, "out of memory", "内存不足");
	XML_StopParser(x->p, XML_FALSE); /* the first sheet is all we need */
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void XMLCALL rels_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct ss_xlsx *x = data;
	const char *id = attr(atts, "Id", 0), *target = attr(atts, "Target", 0);
	const char *type = attr(atts, "Type", 0);
	char **slot = NULL;

	if (strcmp(local_name(name), "Relationship") != 0 || target == NULL)
		return;
	if (id && x->rid && strcmp(id, x->rid) == 0 && !x->sheet_target)
		slot = &x->sheet_target;
	else if (type && ends_with(type, "/sharedStrings") && !x->sst_target)
		slot = &x->sst_target;
	if (slot && (*slot = resolve_target(target)) == NULL)
		set_error(x, SS_ERR_NOMEM, "out of memory", "内存不足");
}

static void XMLCALL no_end(void *data, const XML_Char *name) {}

static void XMLCALL no_text(void *data, const XML_Char *s, int len) {}

/* Shared strings. */

static int sst_push(struct sst *t, const char *s, size_t len)
{
	if (t->n + 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		uint64_t *no = realloc(t->offs, cap * sizeof(*no));

		if (no == NULL)
			return SS_ERR_NOMEM;
		t->offs = no;
		t->cap = cap;
	}
	if (t->n == 0)
		t->offs[0] = 0;
	if (t->spill == NULL && t->bytes + len > sst_memory) {
		/* Past the budget: move everything to an unlinked temporary file. */
		t->spill = tmpfile();
		if (t->spill == NULL || fwrite(t->mem, 1, t->bytes, t->spill) != t->bytes)
			return SS_ERR_IO;
		free(t->mem);
		t->mem = NULL;
		t->mem_cap = 0;
	}
	if (t->spill) {
		if (fwrite(s, 1, len, t->spill) != len)
			return SS_ERR_IO;
	} else {
		if (t->bytes + len > t->mem_cap) {
			size_t cap = t->mem_cap ? t->mem_cap : 4096;
			char *nm;

			while (cap < t->bytes + len)
				cap *= 2;
			nm = realloc(t->mem, cap);
			if (nm == NULL)
				return SS_ERR_NOMEM;
			t->mem = nm;
			t->mem_cap = cap;
		}
		memcpy(t->mem + t->bytes, s, len);
	}
	t->bytes += len;
	t->offs[++t->n] = t->bytes;
	return 0;
}

/* String i of the table, or NULL (I/O error).  Valid until the next call. */
static const char *sst_get(struct sst *t, size_t i, size_t *len)
{
	uint64_t off = t->offs[i];

	*len = (size_t)(t->offs[i + 1] - off);
	if (t->spill == NULL)
		return t->mem ? t->mem + off : "";
	if (t->scratch == NULL && (t->scratch = malloc(SS_TABLE_MAX_CELL + 1)) == NULL)
		return NULL;
	if (*len && pread(fileno(t->spill), t->scratch, *len, (off_t)off) != (ssize_t)*len)
		return NULL;
	return t->scratch;
}

static void XMLCALL sst_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct ss_xlsx *x = data;
	const char *l = local_name(name);

	if (strcmp(l, "si") == 0) {
		x->val_len = 0;
		x->in_is = 1;
	} else if (strcmp(l, "rPh") == 0) {
		x->rph++; /* phonetic guide: not part of the text */
	} else if (strcmp(l, "t") == 0 && x->in_is && !x->rph) {
		x->in_text = 1;
	}
}

static void XMLCALL sst_end(void *data, const XML_Char *name)
{
	struct ss_xlsx *x = data;
	const char *l = local_name(name);

	if (strcmp(l, "t") == 0) {
		x->in_text = 0;
	} else if (strcmp(l, "rPh") == 0) {
		x->rph--;
	} else if (strcmp(l, "si") == 0) {
		x->in_is = 0;
		if (x->val_len)
			unescape_x(x->val, &x->val_len);
		if (x->sst.bytes + x->val_len > SST_MAX)
			set_error(x, SS_ERR_BAD_REQUEST, "the shared strings are too large",
				  "共享字符串过大");
		else if (sst_push(&x->sst, x->val ? x->val : "", x->val_len))
			set_error(x, SS_ERR_IO, "cannot store the shared strings",
				  "无法保存共享字符串");
	}
}

static void XMLCALL text(void *data, const XML_Char *s, int len)
{
	struct ss_xlsx *x = data;

	if (x->in_text)
		val_append(x, s, (size_t)len);
}

/* Worksheet. */

/* Column of a reference such as "C5" (0-based), or -1. */
static long ref_col(const char *ref)
{
	long col = 0;
	int k = 0;

	for (; (*ref >= 'A' && *ref <= 'Z') || (*ref >= 'a' && *ref <= 'z'); ref++, k++) {
		if (k == 3)
			return -1; /* past XFD */
		col = col * 26 + ((*ref | 0x20) - 'a' + 1);
	}
	return k ? col - 1 : -1;
}

static void XMLCALL ws_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct ss_xlsx *x = data;
	const char *l = local_name(name), *a;

	if (strcmp(l, "row") == 0) {
		a = attr(atts, "r", 0);
		x->row_num = a ? strtol(a, NULL, 10) : x->row_num + 1;
		x->last_col = -1;
		ss_table_row_clear(x->row);
	} else if (strcmp(l, "c") == 0) {
		a = attr(atts, "r", 0);
		x->col = a ? ref_col(a) : x->last_col + 1;
		if (x->col < 0)
			set_error(x, SS_ERR_BAD_REQUEST, "a cell has an invalid reference",
				  "单元格引用无效");
		x->last_col = x->col;
		a = attr(atts, "t", 0);
		snprintf(x->ctype, sizeof(x->ctype), "%s", a ? a : "n");
		x->val_len = 0;
		if (x->val)
			x->val[0] = '\0';
	} else if (strcmp(l, "v") == 0) {
		x->in_text = 1;
	} else if (strcmp(l, "is") == 0) {
		x->in_is = 1;
	} else if (strcmp(l, "rPh") == 0) {
		x->rph++;
	} else if (strcmp(l, "t") == 0 && x->in_is && !x->rph) {
		x->in_text = 1;
	}
}

static void cell_done(struct ss_xlsx *x)
{
	const char *v = x->val ? x->val : "";
	size_t len = x->val_len;

	if (strcmp(x->ctype, "s") == 0) {
		char *end;
		unsigned long i = strtoul(v, &end, 10);

		if (len == 0 || *end != '\0' || i >= x->sst.n) {
			set_error(x, SS_ERR_BAD_REQUEST, "a cell refers to a missing shared string",
				  "单元格引用了不存在的共享字符串");
			return;
		}
		v = sst_get(&x->sst, i, &len);
		if (v == NULL) {
			set_error(x, SS_ERR_IO, "cannot read the shared strings",
				  "无法读取共享字符串");
			return;
		}
	} else if (strcmp(x->ctype, "b") == 0) {
		v = strcmp(v, "1") == 0 ? "TRUE" : strcmp(v, "0") == 0 ? "FALSE" : v;
		len = strlen(v);
	} else if (strcmp(x->ctype, "inlineStr") == 0 || strcmp(x->ctype, "str") == 0) {
		if (len)
			unescape_x(x->val, &len);
	}
	if (len == 0)
		return; /* a styled but empty cell does not widen the row */
	if (x->col >= SS_TABLE_MAX_CELLS) {
		set_error(x, SS_ERR_BAD_REQUEST, "more than 1000 cells in one row",
			  "一行超过 1000 个单元格");
		return;
	}
	if ((size_t)x->col < x->row->n) {
		set_error(x, SS_ERR_BAD_REQUEST, "cells are out of order", "单元格顺序错误");
		return;
	}
	if (ss_table_row_put(x->row, (size_t)x->col, v, len))
		set_error(x, SS_ERR_NOMEM, "out of memory", "内存不足");
}

static void XMLCALL ws_end(void *data, const XML_Char *name)
{
	struct ss_xlsx *x = data;
	const char *l = local_name(name);

	if (strcmp(l, "v") == 0 || strcmp(l, "t") == 0) {
		x->in_text = 0;
	} else if (strcmp(l, "is") == 0) {
		x->in_is = 0;
	} else if (strcmp(l, "rPh") == 0) {
		x->rph--;
	} else if (strcmp(l, "c") == 0) {
		cell_done(x);
	} else if (strcmp(l, "row") == 0 && !x->err) {
		if (ss_table_row_blank(x->row)) {
			ss_table_row_clear(x->row);
			return;
		}
		x->row_ready = 1;
		XML_StopParser(x->p, XML_TRUE); /* suspend: one row per call */
	}
}

/* Opening. */

static int open_parts(struct ss_xlsx *x)
{
	zip_int64_t idx;
	zip_stat_t st;
	int rc;

	x->p = new_parser(x, wb_start, no_end, no_text);
	if (x->p == NULL)
		return SS_ERR_NOMEM;
	if ((rc = parse_part(x, "xl/workbook.xml", PART_MAX)) < 0)
		return rc;
	if (x->rid == NULL) {
		set_error(x, SS_ERR_BAD_REQUEST, "the workbook has no sheet", "工作簿中没有工作表");
		return x->err;
	}
	XML_ParserFree(x->p);
	x->p = new_parser(x, rels_start, no_end, no_text);
	if (x->p == NULL)
		return SS_ERR_NOMEM;
	if ((rc = parse_part(x, "xl/_rels/workbook.xml.rels", PART_MAX)) < 0)
		return rc;
	if (x->sheet_target == NULL) {
		set_error(x, SS_ERR_BAD_REQUEST, "the first sheet's part is not listed",
			  "找不到第一个工作表的内容");
		return x->err;
	}
	if (x->sst_target == NULL &&
	    zip_name_locate(x->zip, "xl/sharedStrings.xml", ZIP_FL_NOCASE) >= 0 &&
	    (x->sst_target = strdup("xl/sharedStrings.xml")) == NULL)
		return SS_ERR_NOMEM;
	if (x->sst_target) {
		XML_ParserFree(x->p);
		x->p = new_parser(x, sst_start, sst_end, text);
		if (x->p == NULL)
			return SS_ERR_NOMEM;
		if ((rc = parse_part(x, x->sst_target, SST_MAX + SST_MAX)) < 0)
			return rc;
		if (x->sst.spill && fflush(x->sst.spill) != 0) {
			set_error(x, SS_ERR_IO, "cannot store the shared strings",
				  "无法保存共享字符串");
			return x->err;
		}
	}
	XML_ParserFree(x->p);
	x->p = new_parser(x, ws_start, ws_end, text);
	if (x->p == NULL)
		return SS_ERR_NOMEM;
	x->in_text = x->in_is = x->rph = 0;
	idx = zip_name_locate(x->zip, x->sheet_target, ZIP_FL_NOCASE);
	if (idx < 0 || zip_stat_index(x->zip, (zip_uint64_t)idx, 0, &st) != 0 ||
	    (x->sheet = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0)) == NULL) {
		set_error(x, SS_ERR_BAD_REQUEST, "the first worksheet is missing",
			  "缺少第一个工作表");
		return x->err;
	}
	x->total = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
	return 0;
}

struct ss_xlsx *ss_xlsx_open(const char *path, char *en, size_t en_len, char *zh, size_t zh_len)
{
	struct ss_xlsx *x = calloc(1, sizeof(*x));
	int zerr = 0;

	if (x == NULL) {
		snprintf(en, en_len, "out of memory");
		snprintf(zh, zh_len, "内存不足");
		return NULL;
	}
	x->zip = zip_open(path, ZIP_RDONLY, &zerr);
	if (x->zip == NULL) {
		snprintf(en, en_len,
			 "not a valid .xlsx file (it cannot be opened as a zip archive)");
		snprintf(zh, zh_len, "不是有效的 .xlsx 文件（无法作为 zip 压缩包打开）");
		ss_xlsx_free(x);
		return NULL;
	}
	if (open_parts(x) < 0) {
		if (!x->err && x->msg_en[0] == '\0') {
			snprintf(x->msg_en, sizeof(x->msg_en), "out of memory");
			snprintf(x->msg_zh, sizeof(x->msg_zh), "内存不足");
		}
		snprintf(en, en_len, "%s", x->msg_en);
		snprintf(zh, zh_len, "%s", x->msg_zh);
		ss_xlsx_free(x);
		return NULL;
	}
	return x;
}

int ss_xlsx_next(struct ss_xlsx *x, struct ss_table_row *row, long *line, char *en, size_t en_len,
		 char *zh, size_t zh_len)
{
	x->row = row;
	x->row_ready = 0;
	for (;;) {
		enum XML_Status st;

		if (x->suspended) {
			x->suspended = 0;
			st = XML_ResumeParser(x->p);
		} else if (x->final_done) {
			return 0;
		} else {
			zip_int64_t n = zip_fread(x->sheet, x->buf, sizeof(x->buf));

			if (n < 0) {
				set_error(x, SS_ERR_BAD_REQUEST, "the worksheet cannot be unpacked",
					  "无法解压工作表");
				goto error;
			}
			x->done += (uint64_t)n;
			x->final_done = n == 0;
			st = XML_Parse(x->p, x->buf, (int)n, n == 0);
		}
		if (st == XML_STATUS_ERROR) {
			if (!x->err)
				set_error(x, SS_ERR_BAD_REQUEST,
					  "the worksheet contains malformed XML",
					  "工作表的 XML 格式错误");
			goto error;
		}
		if (st == XML_STATUS_SUSPENDED)
			x->suspended = 1;
		if (x->row_ready) {
			*line = x->row_num;
			return 1;
		}
	}
error:
	snprintf(en, en_len, "%s", x->msg_en);
	snprintf(zh, zh_len, "%s", x->msg_zh);
	return x->err;
}

void ss_xlsx_progress(const struct ss_xlsx *x, uint64_t *done, uint64_t *total)
{
	*done = x->done;
	*total = x->total > x->done ? x->total : x->done;
}

void ss_xlsx_free(struct ss_xlsx *x)
{
	if (x == NULL)
		return;
	if (x->p)
		XML_ParserFree(x->p);
	if (x->sheet)
		zip_fclose(x->sheet);
	if (x->zip)
		zip_discard(x->zip);
	if (x->sst.spill)
		fclose(x->sst.spill);
	free(x->sst.mem);
	free(x->sst.offs);
	free(x->sst.scratch);
	free(x->rid);
	free(x->sheet_target);
	free(x->sst_target);
	free(x->val);
	free(x);
}
