/*
 * dirschema.c — the directory descriptors.
 *
 * Field lists follow the sources: objects (Y5, Z-三-二, W-三-二; risk and
 * credit levels and flags L-二-2, G14, Z15), inspectors and experts (Y6,
 * Z-三-三, G20-G21), the item list (Y4, G8, W-三-一), conflicts of
 * interest (Y7, G22).
 */
#include "dirschema.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static const struct ss_enum_value ss_enum_scale[] = {
	{"large", "大型"}, {"medium", "中型"}, {"small", "小型"}, {"micro", "微型"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_risk[] = {
	{"low", "低"}, {"medium", "中"}, {"high", "高"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_credit[] = {
	{"A", "A"}, {"B", "B"}, {"C", "C"}, {"D", "D"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_entity_status[] = {
	{"active", "存续"}, {"deregistered", "注销"}, {"revoked", "吊销"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_project_status[] = {
	{"under_construction", "在建"}, {"suspended", "停工"}, {"completed", "竣工"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_gender[] = {{"male", "男"}, {"female", "女"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_inspector_status[] = {
	{"active", "在岗"}, {"suspended", "暂停"}, {"transferred", "调离"}, {"retired", "退休"},
	{NULL, NULL}};
static const struct ss_enum_value ss_enum_method[] = {
	{"onsite", "实地检查"}, {"written", "书面检查"}, {"online", "网络监测"},
	{"entrusted", "委托专业机构"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_item_category[] = {
	{"general", "一般"}, {"key", "重点"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_item_status[] = {
	{"active", "有效"}, {"retired", "已取消"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_conflict_source[] = {
	{"declared", "本人申报"}, {"found", "核查发现"}, {"reported", "举报"}, {NULL, NULL}};
static const struct ss_enum_value ss_enum_conflict_status[] = {
	{"active", "有效"}, {"withdrawn", "已撤销"}, {NULL, NULL}};

#define COL(n, z, t, r, len) {n, z, t, r, len, 0, NULL, 0}
#define CODE(n, z, t, r, len) {n, z, t, r, len, 0, NULL, 1}
#define ENUM(n, z, r, v) {n, z, SS_COL_ENUM, r, 0, 0, v, 0}
#define INT(n, z, r, lo, hi) {n, z, SS_COL_INT, r, hi, lo, NULL, 0}

static const struct ss_column ss_entity_cols[] = {
	CODE("credit_code", "统一社会信用代码", SS_COL_USCC, 1, 18),
	COL("name", "名称", SS_COL_TEXT, 1, 200),
	COL("business_category", "经营类别", SS_COL_TEXT, 0, 100),
	COL("address", "住所", SS_COL_TEXT, 0, 300),
	COL("legal_representative", "法定代表人", SS_COL_TEXT, 0, 100),
	CODE("division_code", "行政区划代码", SS_COL_DIVISION, 1, 6),
	COL("entity_type", "主体类型", SS_COL_TEXT, 0, 100),
	ENUM("scale", "规模", 0, ss_enum_scale),
	COL("industry", "行业", SS_COL_TEXT, 0, 100),
	COL("supervising_department", "监管部门", SS_COL_TEXT, 0, 100),
	ENUM("risk_level", "风险等级", 1, ss_enum_risk),
	ENUM("credit_class", "信用等级", 1, ss_enum_credit),
	COL("abnormal_operation", "列入经营异常名录", SS_COL_BOOL, 0, 0),
	COL("serious_violation", "严重违法失信", SS_COL_BOOL, 0, 0),
	INT("complaint_count", "投诉次数", 0, 0, 1000000),
	ENUM("status", "状态", 1, ss_enum_entity_status),
};

static const struct ss_column ss_project_cols[] = {
	CODE("project_code", "项目编号", SS_COL_ID, 1, 40),
	COL("name", "项目名称", SS_COL_TEXT, 1, 200),
	CODE("builder_credit_code", "建设单位统一社会信用代码", SS_COL_USCC, 0, 18),
	COL("builder_name", "建设单位", SS_COL_TEXT, 0, 200),
	COL("address", "项目地址", SS_COL_TEXT, 0, 300),
	CODE("division_code", "行政区划代码", SS_COL_DIVISION, 1, 6),
	COL("project_type", "项目类型", SS_COL_TEXT, 0, 100),
	ENUM("scale", "规模", 0, ss_enum_scale),
	COL("supervising_department", "监管部门", SS_COL_TEXT, 0, 100),
	ENUM("risk_level", "风险等级", 1, ss_enum_risk),
	ENUM("credit_class", "信用等级", 1, ss_enum_credit),
	COL("serious_violation", "严重违法失信", SS_COL_BOOL, 0, 0),
	INT("complaint_count", "投诉次数", 0, 0, 1000000),
	ENUM("status", "状态", 1, ss_enum_project_status),
	COL("started_on", "开工日期", SS_COL_DATE, 0, 0),
	COL("completed_on", "竣工日期", SS_COL_DATE, 0, 0),
};

static const struct ss_column ss_inspector_cols[] = {
	CODE("inspector_id", "人员编号", SS_COL_ID, 1, 40),
	COL("name", "姓名", SS_COL_TEXT, 1, 50),
	ENUM("gender", "性别", 0, ss_enum_gender),
	INT("birth_year", "出生年份", 0, 1930, 2015),
	COL("department", "所属部门", SS_COL_TEXT, 1, 100),
	COL("position", "职务", SS_COL_TEXT, 0, 100),
	CODE("certificate_no", "执法证号", SS_COL_ID, 1, 40),
	COL("certificate_issuer", "发证机关", SS_COL_TEXT, 0, 100),
	COL("certificate_valid_from", "执法证有效期起", SS_COL_DATE, 1, 0),
	COL("certificate_valid_to", "执法证有效期止", SS_COL_DATE, 1, 0),
	COL("categories", "执法类别", SS_COL_LIST, 1, 500),
	COL("specialties", "专业特长", SS_COL_LIST, 0, 500),
	CODE("jurisdiction", "管辖区域", SS_COL_DIVISION, 1, 6),
	ENUM("status", "状态", 1, ss_enum_inspector_status),
	COL("is_expert", "专家库成员", SS_COL_BOOL, 0, 0),
	COL("expert_organisation", "专家所在单位", SS_COL_TEXT, 0, 200),
	COL("expert_field", "专家领域", SS_COL_TEXT, 0, 100),
};

static const struct ss_column ss_item_cols[] = {
	CODE("item_code", "事项编号", SS_COL_ID, 1, 40),
	COL("name", "事项名称", SS_COL_TEXT, 1, 200),
	COL("legal_basis", "检查依据", SS_COL_TEXT, 1, 2000),
	COL("department", "检查主体", SS_COL_TEXT, 1, 100),
	COL("content", "检查内容", SS_COL_TEXT, 0, 2000),
	ENUM("method", "检查方式", 1, ss_enum_method),
	COL("frequency", "检查频次", SS_COL_TEXT, 0, 100),
	ENUM("category", "事项类别", 1, ss_enum_item_category),
	COL("object_types", "检查对象", SS_COL_LIST, 1, 500),
	COL("enforcement_category", "执法类别", SS_COL_TEXT, 1, 100),
	COL("level", "实施层级", SS_COL_TEXT, 0, 50),
	ENUM("status", "状态", 1, ss_enum_item_status),
};

static const struct ss_column ss_conflict_cols[] = {
	CODE("inspector_id", "人员编号", SS_COL_ID, 1, 40),
	CODE("object_id", "检查对象编号", SS_COL_ID, 1, 40),
	CODE("division_code", "行政区划代码", SS_COL_DIVISION, 1, 6),
	COL("relationship", "利害关系说明", SS_COL_TEXT, 1, 500),
	ENUM("source", "来源", 1, ss_enum_conflict_source),
	ENUM("status", "状态", 1, ss_enum_conflict_status),
};

#define N(a) (sizeof(a) / sizeof(a[0]))

static const struct ss_dirschema ss_entity = {
	"entity", "市场主体名录", "entity", ss_entity_cols, N(ss_entity_cols), 0, SS_NO_COL, 5,
	"object.read", "object.write"};
static const struct ss_dirschema ss_project = {
	"project", "工程项目名录", "project", ss_project_cols, N(ss_project_cols), 0, SS_NO_COL, 5,
	"object.read", "object.write"};
static const struct ss_dirschema ss_inspector = {
	"inspector", "执法检查人员名录", "inspector", ss_inspector_cols, N(ss_inspector_cols), 0,
	SS_NO_COL, 12, "inspector.read", "inspector.write"};
static const struct ss_dirschema ss_item = {
	"item", "随机抽查事项清单", "item", ss_item_cols, N(ss_item_cols), 0, SS_NO_COL, SS_NO_COL,
	"item.read", "item.write"};
static const struct ss_dirschema ss_conflict = {
	"conflict", "利害关系", "conflict", ss_conflict_cols, N(ss_conflict_cols), 0, 1, 2,
	"inspector.read", "inspector.write"};

static const struct ss_dirschema *const ss_dirschemas[] = {&ss_entity, &ss_project, &ss_inspector,
							   &ss_item, &ss_conflict, NULL};

const struct ss_dirschema *ss_dirschema_find(const char *name)
{
	size_t i;

	for (i = 0; ss_dirschemas[i] != NULL; i++)
		if (strcmp(ss_dirschemas[i]->name, name) == 0)
			return ss_dirschemas[i];
	return NULL;
}

const struct ss_dirschema *const *ss_dirschema_all(void)
{
	return ss_dirschemas;
}

int ss_dirschema_column(const struct ss_dirschema *s, const char *label)
{
	size_t i, n;

	while (*label == ' ' || *label == '\t')
		label++;
	n = strlen(label);
	while (n > 0 && (label[n - 1] == ' ' || label[n - 1] == '\t' || label[n - 1] == '\r'))
		n--;
	for (i = 0; i < s->ncols; i++) {
		const struct ss_column *c = &s->cols[i];

		if ((strlen(c->name) == n && strncasecmp(c->name, label, n) == 0) ||
		    (strlen(c->zh) == n && strncmp(c->zh, label, n) == 0))
			return (int)i;
	}
	return -1;
}

const char *ss_dirschema_enum_zh(const struct ss_column *c, const char *code)
{
	const struct ss_enum_value *v;

	for (v = c->values; v != NULL && v->code != NULL; v++)
		if (strcmp(v->code, code) == 0)
			return v->zh;
	return code;
}
