/*
 * table_reader.c — the CSV half of the table reader, encoding detection,
 * and the row buffer shared with the XLSX half (xlsx_reader.c).
 *
 * The CSV pipeline is: read a 64 KiB block, decode it to UTF-8 (validate, or
 * iconv from GB18030), then feed libcsv one physical line at a time.  A line
 * holds at most one record terminator, so each csv_parse() call completes at
 * most one record: rows are handed out as they complete without a queue, and
 * the line where a record starts is known exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csv.h>

#include "ss_error.h"
#include "table_reader.h"

#define BLOCK (64 * 1024)
#define SNIFF (1024 * 1024)
#define CARRY 8 /* room for an incomplete multibyte sequence */

struct ss_table_reader {
	enum ss_table_format fmt;
	enum ss_table_encoding enc;
	int err; /* sticky error, 0 if none */
	char err_en[320], err_zh[320];
	struct ss_table_row row;
	struct ss_xlsx *xlsx;

	/* CSV only. */
	int fd;
	uint64_t size, done;
	int enc_decided; /* 0 while everything read so far was ASCII */
	iconv_t cd;
	struct csv_parser csv;
	int csv_ready;
	unsigned char raw[BLOCK + CARRY];
	size_t raw_len; /* carried bytes of an incomplete sequence */
	char dec[2 * BLOCK + 16];
	size_t dec_len, dec_pos;
	long dl_line; /* decoder: line at the end of the decoded text */
	int dl_cr;
	int pend_err; /* decoder error, reported once dec is consumed */
	char pend_en[320], pend_zh[320];
	int eof, fini_done;
	long line; /* parser: physical line of dec[dec_pos] */
	int pending_cr;
	int at_row_start;
	long rec_line;
	int row_done;
	int cb_err; /* SS_TABLE_MAX_* exceeded inside a callback */
};

/* Row buffer. */

void ss_table_row_clear(struct ss_table_row *row)
{
	row->len = 0;
	row->n = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (np == NULL)
		return SS_ERR_NOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

int ss_table_row_put(struct ss_table_row *row, size_t col, const char *s, size_t len)
{
	while (row->n <= col) {
		size_t fill = row->n == col ? len : 0;

		if (grow((void **)&row->offs, &row->ncap, row->n + 1, sizeof(*row->offs)) ||
		    grow((void **)&row->buf, &row->cap, row->len + fill + 1, 1))
			return SS_ERR_NOMEM;
		row->offs[row->n++] = row->len;
		if (fill)
			memcpy(row->buf + row->len, s, len);
		row->len += fill;
		row->buf[row->len++] = '\0';
	}
	return 0;
}

int ss_table_row_finish(struct ss_table_row *row)
{
	size_t i, pcap = row->ncap;

	/* ptrs is sized like offs; grow() keeps capacities in step. */
	if (row->n == 0)
		return 0;
	row->ptrs = realloc(row->ptrs, pcap * sizeof(*row->ptrs));
	if (row->ptrs == NULL)
		return SS_ERR_NOMEM;
	for (i = 0; i < row->n; i++)
		row->ptrs[i] = row->buf + row->offs[i];
	return 0;
}

int ss_table_row_blank(const struct ss_table_row *row)
{
	size_t i;

	for (i = 0; i < row->n; i++)
		if (row->buf[row->offs[i]] != '\0')
			return 0;
	return 1;
}

void ss_table_row_release(struct ss_table_row *row)
{
	free(row->buf);
	free(row->offs);
	free(row->ptrs);
	memset(row, 0, sizeof(*row));
}

/* Errors. */

static void msg2(char *en, size_t en_len, char *zh, size_t zh_len, const char *e, const char *z)
{
	if (en && en_len)
		snprintf(en, en_len, "%s", e);
	if (zh && zh_len)
		snprintf(zh, zh_len, "%s", z);
}

static int fail_line(struct ss_table_reader *r, int code, long line, const char *en, const char *zh)
{
	if (line > 0) {
		snprintf(r->err_en, sizeof(r->err_en), "line %ld: %s", line, en);
		snprintf(r->err_zh, sizeof(r->err_zh), "第 %ld 行：%s", line, zh);
	} else {
		msg2(r->err_en, sizeof(r->err_en), r->err_zh, sizeof(r->err_zh), en, zh);
	}
	r->err = code;
	return code;
}

/* Encoding. */

/*
 * Length of the longest prefix of s that is whole, valid UTF-8 (RFC 3629:
 * no overlongs, no surrogates, nothing past U+10FFFF).  *partial is set when
 * what follows is a valid but truncated sequence that reaches the end of s.
 */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n, int *partial)
{
	size_t i = 0;

	*partial = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k, need;
		unsigned lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3;
		else
			return i;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		for (k = 1; k <= need; k++) {
			if (i + k >= n) {
				*partial = 1;
				return i;
			}
			if (s[i + k] < (k == 1 ? lo : 0x80) || s[i + k] > (k == 1 ? hi : 0xbf))
				return i;
		}
		i += need + 1;
	}
	return i;
}

/* Advances a line counter over s: a line ends at LF, or at a CR not followed by LF. */
static void count_lines(const char *s, size_t n, long *line, int *cr)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (*cr && s[i] != '\n')
			(*line)++;
		*cr = 0;
		if (s[i] == '\n')
			(*line)++;
		else if (s[i] == '\r')
			*cr = 1;
	}
}

/* Decides UTF-8 or GB18030 from up to 1 MiB of the file at off (a non-ASCII byte). */
static int sniff_at(struct ss_table_reader *r, uint64_t off)
{
	unsigned char *buf = malloc(SNIFF);
	ssize_t n;
	int partial;
	size_t ok;

	if (buf == NULL)
		return SS_ERR_NOMEM;
	n = pread(r->fd, buf, SNIFF, (off_t)off);
	if (n < 0) {
		free(buf);
		return SS_ERR_IO;
	}
	ok = utf8_valid_prefix(buf, (size_t)n, &partial);
	/* A sequence cut by the end of the window is fine unless the file ends there. */
	if (ok == (size_t)n || (partial && off + (uint64_t)n < r->size))
		r->enc = SS_ENC_UTF8;
	else
		r->enc = SS_ENC_GB18030;
	free(buf);
	r->enc_decided = 1;
	if (r->enc == SS_ENC_GB18030) {
		r->cd = iconv_open("UTF-8", "GB18030");
		if (r->cd == (iconv_t)-1)
			return SS_ERR_INTERNAL;
	}
	return 0;
}

/* Records a decoder error at the end of the text decoded so far. */
static void decode_error(struct ss_table_reader *r, const char *en, const char *zh)
{
	long line = r->dl_line + (r->dl_cr ? 1 : 0);

	snprintf(r->pend_en, sizeof(r->pend_en), "line %ld: %s", line, en);
	snprintf(r->pend_zh, sizeof(r->pend_zh), "第 %ld 行：%s", line, zh);
	r->pend_err = SS_ERR_BAD_REQUEST;
}

static const char *const INVALID_EN[] = {"bytes that are not valid UTF-8",
					 "bytes that are not valid GB18030"};
static const char *const INVALID_ZH[] = {"含有无效的 UTF-8 字节", "含有无效的 GB18030 字节"};

/* Appends decoded UTF-8 to dec, rejecting NUL, and advances the decoder's line count. */
static int decoded(struct ss_table_reader *r, const char *s, size_t n)
{
	const char *nul = memchr(s, '\0', n);

	if (nul)
		n = (size_t)(nul - s);
	if (s != r->dec + r->dec_len)
		memmove(r->dec + r->dec_len, s, n);
	count_lines(r->dec + r->dec_len, n, &r->dl_line, &r->dl_cr);
	r->dec_len += n;
	if (nul) {
		decode_error(r, "a NUL byte (is the file UTF-16? Save it as CSV UTF-8)",
			     "含有 NUL 字节（是否为 UTF-16 文件？请另存为 CSV UTF-8）");
		return -1;
	}
	return 0;
}

/* Decodes raw[0..len) into dec; keeps an incomplete trailing sequence in raw. */
static int decode_block(struct ss_table_reader *r, size_t len, uint64_t block_off)
{
	unsigned char *in = r->raw;
	size_t left = len;

	r->dec_len = r->dec_pos = 0;
	if (!r->enc_decided) {
		size_t j = 0;
		int rc;

		while (j < left && in[j] < 0x80)
			j++;
		if (decoded(r, (const char *)in, j))
			return 0;
		in += j;
		left -= j;
		if (left == 0)
			return 0;
		if ((rc = sniff_at(r, block_off + j)) < 0)
			return fail_line(r, rc, 0, "cannot detect the encoding",
					 "无法识别文件编码");
	}
	if (r->enc != SS_ENC_GB18030) {
		int partial;
		size_t ok = utf8_valid_prefix(in, left, &partial);

		if (decoded(r, (const char *)in, ok))
			return 0;
		in += ok;
		left -= ok;
		if (left && !partial) {
			decode_error(r, INVALID_EN[0], INVALID_ZH[0]);
			return 0;
		}
	} else {
		char *ip = (char *)in, *op = r->dec + r->dec_len;
		size_t oleft = sizeof(r->dec) - r->dec_len, rc;
		char *start = op;

		int e;

		rc = iconv(r->cd, &ip, &left, &op, &oleft);
		e = rc == (size_t)-1 ? errno : 0;
		in = (unsigned char *)ip;
		if (decoded(r, start, (size_t)(op - start)))
			return 0;
		/* EINVAL: an incomplete sequence at the end, kept for the next block. */
		if (e != 0 && e != EINVAL) {
			decode_error(r, INVALID_EN[1], INVALID_ZH[1]);
			return 0;
		}
	}
	/* What is left is the start of a sequence the next block completes. */
	memmove(r->raw, in, left);
	r->raw_len = left;
	return 0;
}

/* Reads and decodes the next block.  0, or a negative ss_err. */
static int csv_fill(struct ss_table_reader *r)
{
	ssize_t n;
	uint64_t off;

	if (r->pend_err) {
		snprintf(r->err_en, sizeof(r->err_en), "%s", r->pend_en);
		snprintf(r->err_zh, sizeof(r->err_zh), "%s", r->pend_zh);
		return r->err = r->pend_err;
	}
	do
		n = read(r->fd, r->raw + r->raw_len, BLOCK - r->raw_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail_line(r, SS_ERR_IO, 0, "cannot read the file", "无法读取文件");
	if (n == 0) {
		r->eof = 1;
		r->dec_len = r->dec_pos = 0;
		if (r->raw_len) {
			decode_error(r, "an incomplete character at the end of the file",
				     "文件末尾的字符不完整");
			return csv_fill(r);
		}
		return 0;
	}
	off = r->done - r->raw_len;
	r->done += (uint64_t)n;
	n += (ssize_t)r->raw_len;
	r->raw_len = 0;
	return decode_block(r, (size_t)n, off);
}

/* libcsv callbacks. */

/* Keeps spaces: trimming is the server's decision, not ours. */
static int no_space(unsigned char c)
{
	return 0;
}

/* ="..." (Excel's text-formula convention) back to its inner text; else the cell as is. */
static int excel_text_unwrap(struct ss_table_row *row, const char *s, size_t len)
{
	size_t i, o = 0;
	char *tmp;
	int rc;

	if (len < 3 || s[0] != '=' || s[1] != '"' || s[len - 1] != '"')
		return ss_table_row_put(row, row->n, s, len);
	for (i = 2; i < len - 1; i++)
		if (s[i] == '"' && (i + 1 >= len - 1 || s[++i] != '"'))
			return ss_table_row_put(row, row->n, s, len); /* e.g. ="a"&"b" */
	tmp = malloc(len);
	if (tmp == NULL)
		return SS_ERR_NOMEM;
	for (i = 2; i < len - 1; i++) {
		tmp[o++] = s[i];
		if (s[i] == '"')
			i++;
	}
	rc = ss_table_row_put(row, row->n, tmp, o);
	free(tmp);
	return rc;
}

static void on_field(void *s, size_t len, void *data)
{
	struct ss_table_reader *r = data;

	if (r->cb_err)
		return;
	if (r->row.n >= SS_TABLE_MAX_CELLS)
		r->cb_err = 1;
	else if (len > SS_TABLE_MAX_CELL)
		r->cb_err = 2;
	else if (excel_text_unwrap(&r->row, s ? s : "", s ? len : 0))
		r->cb_err = 3;
}

static void on_record(int c, void *data)
{
	struct ss_table_reader *r = data;

	r->row_done = 1;
}

static int limit_error(struct ss_table_reader *r, int what, long line)
{
	if (what == 1)
		return fail_line(r, SS_ERR_BAD_REQUEST, line, "more than 1000 cells in one row",
				 "一行超过 1000 个单元格");
	if (what == 2)
		return fail_line(r, SS_ERR_BAD_REQUEST, line, "a cell longer than 64 KiB",
				 "单元格内容超过 64 KiB");
	return fail_line(r, SS_ERR_NOMEM, line, "out of memory", "内存不足");
}

/* One row from the CSV stream: 1, 0 at the end, or a negative ss_err. */
static int csv_next(struct ss_table_reader *r, long *line)
{
	for (;;) {
		const char *p;
		size_t avail, seg;
		const char *nl;
		int rc;

		if (r->row_done) {
			r->row_done = 0;
			r->at_row_start = 1;
			if (r->cb_err)
				return limit_error(r, r->cb_err, r->rec_line);
			if (!ss_table_row_blank(&r->row)) {
				if (ss_table_row_finish(&r->row))
					return limit_error(r, 3, r->rec_line);
				*line = r->rec_line;
				return 1;
			}
			ss_table_row_clear(&r->row);
		}
		if (r->dec_pos == r->dec_len) {
			if (r->eof) {
				if (r->fini_done)
					return 0;
				r->fini_done = 1;
				if (csv_fini(&r->csv, on_field, on_record, r) != 0)
					return fail_line(r, SS_ERR_BAD_REQUEST, r->rec_line,
							 "a quoted cell is never closed",
							 "引号内的单元格没有结束引号");
				continue;
			}
			if ((rc = csv_fill(r)) < 0)
				return rc;
			continue;
		}
		p = r->dec + r->dec_pos;
		avail = r->dec_len - r->dec_pos;
		for (nl = p; nl < p + avail && *nl != '\n' && *nl != '\r'; nl++)
			;
		seg = nl < p + avail ? (size_t)(nl - p) + 1 : avail;
		if (r->pending_cr && p[0] != '\n')
			r->line++;
		r->pending_cr = 0;
		if (r->at_row_start && (seg > 1 || (p[0] != '\n' && p[0] != '\r'))) {
			r->at_row_start = 0;
			r->rec_line = r->line;
		}
		if (csv_parse(&r->csv, p, seg, on_field, on_record, r) != seg)
			return fail_line(r, SS_ERR_BAD_REQUEST, r->line,
					 csv_error(&r->csv) == CSV_EPARSE
					     ? "a quote in the wrong place (a quoted cell must be "
					       "followed by a comma or the end of the line, and a "
					       "quote inside a cell must be doubled)"
					     : "out of memory",
					 csv_error(&r->csv) == CSV_EPARSE
					     ? "引号位置不正确（带引号的单元格后须紧跟逗号或行尾，"
					       "单元格内的引号须写成两个）"
					     : "内存不足");
		if (r->cb_err && !r->row_done)
			return limit_error(r, r->cb_err, r->rec_line);
		if (r->csv.entry_pos > SS_TABLE_MAX_CELL)
			return limit_error(r, 2, r->rec_line);
		r->dec_pos += seg;
		if (p[seg - 1] == '\n')
			r->line++;
		else if (p[seg - 1] == '\r')
			r->pending_cr = 1;
	}
}

/* Opening. */

static int has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), e = strlen(ext);

	return n > e && strcasecmp(path + n - e, ext) == 0;
}

static int csv_open(struct ss_table_reader *r, char *en, size_t en_len, char *zh, size_t zh_len)
{
	unsigned char head[4] = {0};
	ssize_t n = pread(r->fd, head, sizeof(head), 0);

	if (n < 0) {
		msg2(en, en_len, zh, zh_len, "cannot read the file", "无法读取文件");
		return -1;
	}
	if (n >= 2 &&
	    ((head[0] == 0xff && head[1] == 0xfe) || (head[0] == 0xfe && head[1] == 0xff))) {
		msg2(en, en_len, zh, zh_len,
		     "the file is UTF-16 text; in Excel save it as \"CSV UTF-8\" or .xlsx",
		     "文件是 UTF-16 文本；请在 Excel 中另存为“CSV UTF-8”或 .xlsx");
		return -1;
	}
	if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		msg2(en, en_len, zh, zh_len, "out of memory", "内存不足");
		return -1;
	}
	r->csv_ready = 1;
	csv_set_space_func(&r->csv, no_space);
	csv_set_blk_size(&r->csv, 4096);
	r->line = 1;
	r->dl_line = 1;
	r->at_row_start = 1;
	if (n >= 3 && head[0] == 0xef && head[1] == 0xbb && head[2] == 0xbf) {
		r->enc = SS_ENC_UTF8_BOM;
		r->enc_decided = 1;
		if (lseek(r->fd, 3, SEEK_SET) != 3) {
			msg2(en, en_len, zh, zh_len, "cannot read the file", "无法读取文件");
			return -1;
		}
		r->done = 3;
		return 0;
	}
	/* Pure ASCII so far: decide at the first non-ASCII byte (in decode_block). */
	r->enc = SS_ENC_UTF8;
	return 0;
}

struct ss_table_reader *ss_table_reader_open(const char *path, char *err_en, size_t en_len,
					     char *err_zh, size_t zh_len)
{
	struct ss_table_reader *r;
	unsigned char head[8] = {0};
	struct stat st;
	int is_zip, is_ole;

	msg2(err_en, en_len, err_zh, zh_len, "", "");
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		msg2(err_en, en_len, err_zh, zh_len, "out of memory", "内存不足");
		return NULL;
	}
	r->cd = (iconv_t)-1;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		msg2(err_en, en_len, err_zh, zh_len,
		     "cannot open the file (missing, or not a file)",
		     "无法打开文件（不存在或不是普通文件）");
		goto fail;
	}
	r->size = (uint64_t)st.st_size;
	if (pread(r->fd, head, sizeof(head), 0) < 0) {
		msg2(err_en, en_len, err_zh, zh_len, "cannot read the file", "无法读取文件");
		goto fail;
	}
	is_zip = memcmp(head, "PK\x03\x04", 4) == 0;
	is_ole = memcmp(head, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) == 0;
	if (is_ole) {
		msg2(err_en, en_len, err_zh, zh_len,
		     "Excel 97-2003 (.xls) files are not supported; save as .xlsx or CSV UTF-8",
		     "不支持 Excel 97-2003（.xls）文件；请另存为 .xlsx 或 CSV UTF-8");
		goto fail;
	}
	/* A zip is an XLSX whatever its name says: a CSV never starts with PK\3\4. */
	r->fmt = is_zip || has_ext(path, ".xlsx") ? SS_TABLE_XLSX : SS_TABLE_CSV;
	if (r->fmt == SS_TABLE_XLSX) {
		close(r->fd);
		r->fd = -1;
		r->enc = SS_ENC_UTF8;
		r->xlsx = ss_xlsx_open(path, err_en, en_len, err_zh, zh_len);
		if (r->xlsx == NULL)
			goto fail;
		return r;
	}
	if (csv_open(r, err_en, en_len, err_zh, zh_len) != 0)
		goto fail;
	return r;
fail:
	ss_table_reader_free(r);
	return NULL;
}

int ss_table_reader_next(struct ss_table_reader *r, char ***cells, size_t *ncells, long *line)
{
	long l = 0;
	int rc;

	*cells = NULL;
	*ncells = 0;
	*line = 0;
	if (r->err)
		return r->err;
	ss_table_row_clear(&r->row);
	if (r->fmt == SS_TABLE_XLSX) {
		rc = ss_xlsx_next(r->xlsx, &r->row, &l, r->err_en, sizeof(r->err_en), r->err_zh,
				  sizeof(r->err_zh));
		if (rc < 0)
			r->err = rc;
		else if (rc == 1 && ss_table_row_finish(&r->row))
			rc = fail_line(r, SS_ERR_NOMEM, l, "out of memory", "内存不足");
	} else {
		rc = csv_next(r, &l);
	}
	if (rc == 1) {
		*cells = r->row.ptrs;
		*ncells = r->row.n;
		*line = l;
	}
	return rc;
}

enum ss_table_encoding ss_table_reader_encoding(const struct ss_table_reader *r)
{
	return r->enc;
}

enum ss_table_format ss_table_reader_format(const struct ss_table_reader *r)
{
	return r->fmt;
}

void ss_table_reader_progress(const struct ss_table_reader *r, uint64_t *done, uint64_t *total)
{
	if (r->fmt == SS_TABLE_XLSX) {
		ss_xlsx_progress(r->xlsx, done, total);
		return;
	}
	*done = r->done;
	*total = r->size;
}

const char *ss_table_reader_error(const struct ss_table_reader *r, int zh)
{
	return zh ? r->err_zh : r->err_en;
}

void ss_table_reader_free(struct ss_table_reader *r)
{
	if (r == NULL)
		return;
	if (r->csv_ready)
		csv_free(&r->csv);
	if (r->cd != (iconv_t)-1)
		iconv_close(r->cd);
	if (r->fd >= 0)
		close(r->fd);
	ss_xlsx_free(r->xlsx);
	ss_table_row_release(&r->row);
	free(r);
}
