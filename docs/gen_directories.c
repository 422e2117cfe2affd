/*
 * gen_directories.c — writes docs/directories.md from the directory
 * descriptors (common/dirschema.c), so that the document cannot drift from
 * the code: the test "docs" regenerates it and compares.
 */
#include <stdio.h>

#include "dirschema.h"

static const char *type_name(enum ss_col_type t)
{
	static const char *const names[] = {"text", "id", "credit code (GB 32100)",
					    "division code (GB/T 2260)", "enumeration", "yes/no",
					    "whole number", "date", "list"};

	return names[t];
}

int main(void)
{
	const struct ss_dirschema *const *all = ss_dirschema_all();
	size_t d, i;

	printf("# Directories (一单两库): columns and rules\n\n"
	       "Generated from `common/dirschema.c` by `docs/gen_directories.c`; do not edit by hand.\n\n"
	       "Every directory keeps every version of every record (who, when, why); any query can\n"
	       "be asked as of a date (the end of that day, China time). Import files (CSV in UTF-8\n"
	       "with or without BOM, or GB18030; or XLSX) have a header row naming the columns by\n"
	       "their English or Chinese name, in any order; optional columns may be left out\n"
	       "(a new record then has them empty; an existing record keeps its current values).\n"
	       "Values are normalized: enumerations by code (the Chinese label is accepted too),\n"
	       "yes/no as `t`/`f` (是/否, true/false, 1/0 accepted), dates as YYYY-MM-DD (also\n"
	       "YYYY/MM/DD), lists joined by `;` (；、，, accepted). A record is identified by its key\n"
	       "column (two key columns are joined by `|`). The jurisdiction column decides which\n"
	       "district may read and change the record.\n");
	for (d = 0; all[d] != NULL; d++) {
		const struct ss_dirschema *s = all[d];

		printf("\n## %s — %s\n\n", s->name, s->zh);
		printf("Read: `%s`; change: `%s` (see docs/protocol.md §8).\n\n", s->read_op,
		       s->write_op);
		printf("| column | 中文 | type | required | rule |\n|---|---|---|---|---|\n");
		for (i = 0; i < s->ncols; i++) {
			const struct ss_column *c = &s->cols[i];
			const struct ss_enum_value *v;

			printf("| `%s` | %s | %s | %s | ", c->name, c->zh, type_name(c->type),
			       c->required ? "yes" : "no");
			if (i == s->key_col || i == s->key_col2)
				printf("key; ");
			if (i == s->division_col)
				printf("jurisdiction; ");
			switch (c->type) {
			case SS_COL_ENUM:
				for (v = c->values; v->code != NULL; v++)
					printf("%s`%s` %s", v == c->values ? "" : ", ", v->code, v->zh);
				break;
			case SS_COL_INT:
				printf("%d..%d", c->min, c->max_len);
				break;
			case SS_COL_TEXT:
			case SS_COL_LIST:
			case SS_COL_ID:
				printf("at most %d characters", c->max_len);
				break;
			default:
				break;
			}
			printf(" |\n");
		}
	}
	return 0;
}
