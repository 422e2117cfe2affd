/*
 * division.h — GB/T 2260 administrative division codes (行政区划代码) from
 * the shipped table data/areacodes/result.csv.
 *
 * The table lists every code used since 1981 with its status: 在用 (in
 * use), 弃用 (abolished) or 变更 (an earlier record of a code that was
 * later renamed or reassigned).  A code listed several times keeps only
 * its most recent record: the one that took effect last.
 *
 * Loading reads the file; lookups are pure and allocate nothing.
 */
#ifndef SS_DIVISION_H
#define SS_DIVISION_H

/* The largest table accepted; the 2024 table is about 0.5 MB. */
#define SS_DIVISIONS_MAX_BYTES (32u * 1024 * 1024)

struct ss_divisions;

struct ss_division {
	char code[7];	  /* six digits */
	const char *name; /* e.g. "东城区"; never NULL */
	int abolished;	  /* 1 if the most recent record is 弃用 */
	/*
	 * The 新代码 column as shipped: "" or NULL when there is none,
	 * otherwise one or more codes separated by ';', each optionally
	 * followed by the year the territory moved in brackets, e.g.
	 * "110101" or "130102[2001];130108[2001]".  Codes still in use may
	 * carry it too, naming where parts of their territory went.
	 */
	const char *successor;
};

/*
 * Reads the CSV at csv_path (UTF-8, optional BOM, a header row naming the
 * columns 代码, 名称, 状态, 启用时间 and 新代码).  Returns the table, to be
 * released with ss_divisions_free(), or NULL after logging the reason
 * (unreadable or oversized file, missing column, malformed row).
 */
struct ss_divisions *ss_divisions_load(const char *csv_path);

/* Releases the table and every string in it.  Accepts NULL. */
void ss_divisions_free(struct ss_divisions *divisions);

/* Number of distinct codes in the table. */
unsigned ss_divisions_count(const struct ss_divisions *divisions);

/*
 * The most recent record of code, or NULL if code is not six digits or
 * not in the table.  The record belongs to the table.
 */
const struct ss_division *ss_division_find(const struct ss_divisions *divisions, const char *code);

/*
 * Returns 0 if code is in the table, setting *abolished (if not NULL) to 1
 * for an abolished code and 0 otherwise; SS_ERR_BAD_REQUEST if code is not
 * six ASCII digits or not in the table.
 */
int ss_division_check(const struct ss_divisions *divisions, const char *code, int *abolished);

#endif
