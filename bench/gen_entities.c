/*
 * gen_entities.c — writes N market-entity rows as CSV (the import format),
 * with valid credit codes, for the import benchmark.
 *
 *   ss-gen-entities ROWS SERIES_LETTER DIVISION > file.csv
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uscc.h"

int main(int argc, char **argv)
{
	static const char *const risks[] = {"low", "low", "low", "medium", "high"};
	static const char *const classes[] = {"A", "B", "B", "C", "D"};
	static const char *const scales[] = {"large", "medium", "small", "micro"};
	unsigned long n, i;
	char code[19];

	if (argc != 4 || strlen(argv[2]) != 1 || strlen(argv[3]) != 6) {
		fprintf(stderr, "usage: ss-gen-entities ROWS SERIES_LETTER DIVISION\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	printf("credit_code,name,business_category,address,legal_representative,division_code,"
	       "entity_type,scale,industry,supervising_department,risk_level,credit_class,"
	       "abnormal_operation,serious_violation,complaint_count,status\n");
	for (i = 1; i <= n; i++) {
		snprintf(code, sizeof(code), "91%s%s%08lu", argv[3], argv[2], i % 100000000);
		code[17] = ss_uscc_check_char(code);
		code[18] = '\0';
		printf("%s,某某建设工程有限公司%lu,房屋建筑工程,某市某区某路%lu号,张%lu,%s,"
		       "建筑施工企业,%s,建筑业,建筑市场监管科,%s,%s,%s,%s,%lu,active\n",
		       code, i, i % 997, i % 89, argv[3], scales[i % 4], risks[i % 5],
		       classes[i % 5], i % 50 == 0 ? "是" : "否", i % 211 == 0 ? "是" : "否",
		       i % 13);
	}
	return 0;
}
