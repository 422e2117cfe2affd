/*
 * dirschema.h — the directories (一单两库) as data: one descriptor per
 * directory lists its columns, their types, Chinese labels and rules.
 *
 * Everything generic about a directory is driven from here: the import
 * header mapping and row validation (server), the SQL column lists, the
 * export header (client), and docs/directories.md.  Values travel and are
 * stored in a normalized text form (enumerations by code, booleans "t"/"f",
 * dates YYYY-MM-DD, lists joined by ";").
 */
#ifndef SS_DIRSCHEMA_H
#define SS_DIRSCHEMA_H

#include <stddef.h>

enum ss_col_type {
	SS_COL_TEXT,     /* free text, 0..max_len code points */
	SS_COL_ID,       /* [A-Za-z0-9._-], 2..max_len characters */
	SS_COL_USCC,     /* unified social credit code, GB 32100-2015 */
	SS_COL_DIVISION, /* GB/T 2260 code, checked against the shipped table */
	SS_COL_ENUM,     /* one code of values[]; the Chinese label is accepted too */
	SS_COL_BOOL,     /* t/f; also true/false, 1/0, 是/否, Y/N */
	SS_COL_INT,      /* whole number in [min, max] */
	SS_COL_DATE,     /* YYYY-MM-DD (also YYYY/MM/DD, YYYY.MM.DD) */
	SS_COL_LIST,     /* texts separated by ; or 、 or ，, stored joined by ";" */
};

struct ss_enum_value {
	const char *code; /* stored and sent */
	const char *zh;   /* shown, and accepted on import */
};

struct ss_column {
	const char *name; /* snake_case, the SQL column and the English header */
	const char *zh;   /* the Chinese header */
	enum ss_col_type type;
	int required;
	int max_len; /* TEXT/ID/LIST: code points; INT: max */
	int min;     /* INT: min */
	const struct ss_enum_value *values; /* ENUM: NULL-terminated */
	int as_text; /* a code that spreadsheets must keep as text on export */
};

struct ss_dirschema {
	const char *name;     /* "entity", "project", "inspector", "item", "conflict" */
	const char *zh;       /* 市场主体名录 ... */
	const char *table;    /* SQL prefix: <table>_versions, <table>_heads, import_rows_<table> */
	const struct ss_column *cols;
	size_t ncols;
	size_t key_col;       /* the column that identifies a record */
	size_t key_col2;      /* second key column (record id = key|key2), or SIZE_MAX */
	size_t division_col;  /* the column that decides jurisdiction, or SIZE_MAX */
	const char *read_op;  /* the operations of the authorization table (server/authz.c) */
	const char *write_op; /* that govern reading and changing it */
};

#define SS_NO_COL ((size_t)-1)

/* The directory named name, or NULL. */
const struct ss_dirschema *ss_dirschema_find(const char *name);
/* All directories, NULL-terminated. */
const struct ss_dirschema *const *ss_dirschema_all(void);
/* Index of the column whose name or Chinese label equals label (trimmed, case-insensitive for ASCII), or -1. */
int ss_dirschema_column(const struct ss_dirschema *s, const char *label);
/* The Chinese label of an enumeration code in column c, or the code itself. */
const char *ss_dirschema_enum_zh(const struct ss_column *c, const char *code);

#endif
