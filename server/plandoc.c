/*
 * plandoc.c — validation and canonical form of plan and task documents
 * (docs/plans.md is the specification; keep the two in step).
 *
 * A document is checked against a table of fields (struct ss_field): the
 * walker refuses unknown keys and wrong types, fills in defaults, and
 * rebuilds the object in table order — that rebuilt object, printed
 * compactly, is the canonical form.  Rules that tie fields together follow
 * the walk.
 */
#include "plandoc.h"

#include <json-c/json.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "dirschema.h"
#include "rectext.h"
#include "ss_error.h"
#include "validate.h"

enum ss_ftype {
	F_TEXT,    /* string of min..max code points */
	F_ID,      /* [A-Za-z0-9._-]{2,64} */
	F_INT,     /* integer in min..max */
	F_RATIO,   /* number in (0, 1] */
	F_DATE,    /* YYYY-MM-DD */
	F_ENUM,    /* one of values */
	F_IDS,     /* array (min..max items) of distinct F_ID */
	F_TEXTS,   /* array (min..max items) of F_TEXT (1..100) */
	F_DIVS,    /* array (min..max items) of distinct 6-digit division codes */
	F_OBJECT,  /* object of sub fields */
	F_OBJECTS, /* array (min..max items) of objects of sub fields */
	F_ANY_OBJECT, /* an object checked later (a stratum filter) */
};

struct ss_field {
	const char *name;
	enum ss_ftype type;
	int required; /* 1 required; 0 optional, default filled in; -1 optional, no default */
	long min, max;
	const char *const *values; /* F_ENUM, NULL-terminated */
	const struct ss_field *sub; /* F_OBJECT(S), terminated by a NULL name */
	const char *zh;             /* how the field is named in Chinese messages */
	long dflt;                  /* F_INT: the default when absent (required == 0) */
};

struct ss_walk {
	struct ss_doc_error *err;
};

static int ss_fail(struct ss_doc_error *err, const char *field, const char *zh_fmt,
		   const char *en_fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fills err: the path, the English message, and the Chinese message
 * (zh_fmt takes the same arguments as en_fmt, in the same order). */
static int ss_fail(struct ss_doc_error *err, const char *field, const char *zh_fmt,
		   const char *en_fmt, ...)
{
	va_list ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, en_fmt);
	vsnprintf(err->en, sizeof(err->en), en_fmt, ap);
	va_end(ap);
	va_start(ap, en_fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(err->zh, sizeof(err->zh), zh_fmt, ap);
#pragma GCC diagnostic pop
	va_end(ap);
	return SS_ERR_BAD_REQUEST;
}


static int ss_is_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 2 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int ss_is_division(const char *s)
{
	return ss_validate_division_code(s) == 0;
}

static int ss_walk_object(struct ss_walk *w, json_object *in, const struct ss_field *fields,
			  const char *path, json_object **out);

static int ss_text_value(struct ss_walk *w, json_object *v, const char *path, long min, long max,
			 json_object **out)
{
	long n;

	if (!json_object_is_type(v, json_type_string))
		return ss_fail(w->err, path, "%s 应为文本", "%s must be a string", path);
	n = ss_utf8_length(json_object_get_string(v));
	if (n < 0)
		return ss_fail(w->err, path, "%s 不是有效的 UTF-8 文本", "%s is not valid UTF-8", path);
	if (n < min || n > max)
		return ss_fail(w->err, path, "%s 应为 %ld 至 %ld 个字符，现为 %ld 个",
			       "%s must be %ld to %ld characters long, not %ld", path, min, max, n);
	*out = json_object_new_string(json_object_get_string(v));
	return *out ? 0 : SS_ERR_NOMEM;
}

/* Checks one field's value and writes its canonical copy to *out. */
static int ss_walk_value(struct ss_walk *w, json_object *v, const struct ss_field *f,
			 const char *path, json_object **out)
{
	char sub[200];
	size_t i, j, n;
	int rc;

	switch (f->type) {
	case F_TEXT:
		return ss_text_value(w, v, path, f->min, f->max, out);
	case F_ID:
		if (!json_object_is_type(v, json_type_string) || !ss_is_id(json_object_get_string(v)))
			return ss_fail(w->err, path, "%s 应为 2 至 64 个字母、数字或 ._- 组成的编号",
				       "%s must be an id of 2 to 64 letters, digits or ._-", path);
		*out = json_object_new_string(json_object_get_string(v));
		return *out ? 0 : SS_ERR_NOMEM;
	case F_INT: {
		int64_t x;

		if (!json_object_is_type(v, json_type_int))
			return ss_fail(w->err, path, "%s 应为整数", "%s must be a whole number", path);
		x = json_object_get_int64(v);
		if (x < f->min || x > f->max)
			return ss_fail(w->err, path, "%s 应在 %ld 至 %ld 之间",
				       "%s must be between %ld and %ld", path, f->min, f->max);
		*out = json_object_new_int64(x);
		return *out ? 0 : SS_ERR_NOMEM;
	}
	case F_RATIO: {
		double x;

		if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			return ss_fail(w->err, path, "%s 应为数字", "%s must be a number", path);
		x = json_object_get_double(v);
		if (!(x > 0.0 && x <= 1.0) || !isfinite(x))
			return ss_fail(w->err, path, "%s 应为大于 0、不超过 1 的比例（如 0.05 表示 5%%）",
				       "%s must be a ratio above 0 and at most 1 (0.05 means 5%%)",
				       path);
		/* Ratios are kept to 6 decimals, printed the same way everywhere. */
		x = round(x * 1e6) / 1e6;
		if (x <= 0.0)
			return ss_fail(w->err, path, "%s 过小（至少 0.000001）",
				       "%s is too small (at least 0.000001)", path);
		snprintf(sub, sizeof(sub), "%.6f", x);
		*out = json_object_new_double_s(x, sub);
		return *out ? 0 : SS_ERR_NOMEM;
	}
	case F_DATE: {
		int32_t day;
		char iso[16];

		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) != 10 ||
		    ss_date_parse(json_object_get_string(v), &day) != 0)
			return ss_fail(w->err, path, "%s 应为 YYYY-MM-DD 格式的日期",
				       "%s must be a date YYYY-MM-DD", path);
		ss_date_format(day, iso);
		*out = json_object_new_string(iso);
		return *out ? 0 : SS_ERR_NOMEM;
	}
	case F_ENUM: {
		char list[200] = "";

		if (json_object_is_type(v, json_type_string))
			for (i = 0; f->values[i] != NULL; i++)
				if (strcmp(json_object_get_string(v), f->values[i]) == 0) {
					*out = json_object_new_string(f->values[i]);
					return *out ? 0 : SS_ERR_NOMEM;
				}
		for (i = 0; f->values[i] != NULL; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", f->values[i]);
		return ss_fail(w->err, path, "%s 应为以下之一：%s", "%s must be one of: %s", path,
			       list);
	}
	case F_IDS:
	case F_TEXTS:
	case F_DIVS:
	case F_OBJECTS:
		if (!json_object_is_type(v, json_type_array))
			return ss_fail(w->err, path, "%s 应为数组", "%s must be an array", path);
		n = json_object_array_length(v);
		if ((long)n < f->min || (long)n > f->max)
			return ss_fail(w->err, path, "%s 应有 %ld 至 %ld 项，现有 %zu 项",
				       "%s must have %ld to %ld entries, not %zu", path, f->min,
				       f->max, n);
		*out = json_object_new_array_ext((int)n);
		if (*out == NULL)
			return SS_ERR_NOMEM;
		for (i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i), *c = NULL;

			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (f->type == F_OBJECTS) {
				rc = ss_walk_object(w, e, f->sub, sub, &c);
			} else if (f->type == F_TEXTS) {
				rc = ss_text_value(w, e, sub, 1, 100, &c);
			} else if (!json_object_is_type(e, json_type_string) ||
				   !(f->type == F_IDS ? ss_is_id(json_object_get_string(e))
						      : ss_is_division(json_object_get_string(e)))) {
				rc = f->type == F_IDS
					     ? ss_fail(w->err, sub,
						       "%s 应为 2 至 64 个字母、数字或 ._- 组成的编号",
						       "%s must be an id of 2 to 64 letters, digits or ._-",
						       sub)
					     : ss_fail(w->err, sub, "%s 应为 6 位行政区划代码",
						       "%s must be a 6-digit division code", sub);
			} else {
				for (j = 0; j < i; j++)
					if (strcmp(json_object_get_string(e),
						   json_object_get_string(
							   json_object_array_get_idx(v, j))) == 0)
						break;
				rc = j < i ? ss_fail(w->err, sub, "%s 与第 %zu 项重复",
						     "%s repeats entry %zu", sub, j)
					   : (c = json_object_new_string(json_object_get_string(e)))
						     ? 0
						     : SS_ERR_NOMEM;
			}
			if (rc == 0 && json_object_array_add(*out, c) != 0) {
				json_object_put(c);
				rc = SS_ERR_NOMEM;
			}
			if (rc != 0) {
				json_object_put(*out);
				*out = NULL;
				return rc;
			}
		}
		return 0;
	case F_OBJECT:
		return ss_walk_object(w, v, f->sub, path, out);
	case F_ANY_OBJECT:
		if (!json_object_is_type(v, json_type_object))
			return ss_fail(w->err, path, "%s 应为对象", "%s must be an object", path);
		*out = json_object_get(v); /* checked against the directory later */
		return 0;
	}
	return SS_ERR_INTERNAL;
}

/* The default of an optional field that is absent, or NULL for none. */
static json_object *ss_default(const struct ss_field *f)
{
	switch (f->type) {
	case F_TEXT:
		return json_object_new_string("");
	case F_INT:
		return json_object_new_int64(f->dflt);
	case F_IDS:
	case F_TEXTS:
	case F_DIVS:
	case F_OBJECTS:
		return json_object_new_array();
	case F_ANY_OBJECT:
		return json_object_new_object();
	default:
		return NULL;
	}
}

static int ss_walk_object(struct ss_walk *w, json_object *in, const struct ss_field *fields,
			  const char *path, json_object **out)
{
	const struct ss_field *f;
	char sub[200];
	int rc;

	*out = NULL;
	if (!json_object_is_type(in, json_type_object))
		return ss_fail(w->err, path, "%s 应为对象", "%s must be an object", path);
	json_object_object_foreach(in, key, val)
	{
		(void)val;
		for (f = fields; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL) {
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			return ss_fail(w->err, sub, "%s 不是可用的字段（见 docs/plans.md）",
				       "%s is not a known field (see docs/plans.md)", sub);
		}
	}
	*out = json_object_new_object();
	if (*out == NULL)
		return SS_ERR_NOMEM;
	for (f = fields; f->name != NULL; f++) {
		json_object *v, *c = NULL;

		snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
		if (!json_object_object_get_ex(in, f->name, &v) || json_object_is_type(v, json_type_null)) {
			if (f->required > 0) {
				rc = ss_fail(w->err, sub, "缺少必填字段 %s（%s）",
					     "%s is required (%s)", sub, f->zh);
				goto fail;
			}
			if (f->required < 0)
				continue;
			if (f->type == F_OBJECT) {
				json_object *empty = json_object_new_object();

				rc = empty ? ss_walk_object(w, empty, f->sub, sub, &c) : SS_ERR_NOMEM;
				json_object_put(empty);
				if (rc != 0)
					goto fail;
			} else {
				c = ss_default(f);
				if (c == NULL && f->type != F_RATIO && f->type != F_DATE &&
				    f->type != F_ENUM && f->type != F_ID) {
					rc = SS_ERR_NOMEM;
					goto fail;
				}
			}
		} else if ((rc = ss_walk_value(w, v, f, sub, &c)) != 0) {
			goto fail;
		}
		if (c != NULL && json_object_object_add(*out, f->name, c) != 0) {
			json_object_put(c);
			rc = SS_ERR_NOMEM;
			goto fail;
		}
	}
	return 0;
fail:
	json_object_put(*out);
	*out = NULL;
	return rc;
}

static json_object *ss_parse(const char *json, size_t len, struct ss_doc_error *err,
			     const char *what, int *rc)
{
	struct json_tokener *tok;
	json_object *obj;

	*rc = 0;
	if (len > 4 * 1024 * 1024 || len > INT32_MAX) {
		*rc = ss_fail(err, what, "%s 文档过大", "the %s document is too large", what);
		return NULL;
	}
	if (memchr(json, '\0', len) != NULL || ss_utf8_length(json) < 0) {
		*rc = ss_fail(err, what, "%s 文档不是有效的 UTF-8 文本",
			      "the %s document is not valid UTF-8 text", what);
		return NULL;
	}
	tok = json_tokener_new_ex(32);
	if (tok == NULL) {
		*rc = SS_ERR_NOMEM;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		size_t at = json_tokener_get_parse_end(tok);

		*rc = ss_fail(err, what, "%s 文档不是有效的 JSON（第 %zu 字节附近：%s）",
			      "the %s document is not valid JSON (near byte %zu: %s)", what, at,
			      json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

static int ss_finish(json_object *canon, char **canonical)
{
	const char *s = json_object_to_json_string_ext(canon, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE);

	*canonical = s ? strdup(s) : NULL;
	json_object_put(canon);
	return *canonical ? 0 : SS_ERR_NOMEM;
}

static const char *ss_get(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : "";
}

/* A plan row or a stratum says how many to draw: a count or a ratio, not both. */
static int ss_count_or_ratio(struct ss_doc_error *err, json_object *o, const char *array, size_t i)
{
	char path[64];
	int n = json_object_object_get_ex(o, "count", NULL) + json_object_object_get_ex(o, "ratio", NULL);

	if (n == 1)
		return 0;
	snprintf(path, sizeof(path), "%s[%zu]", array, i);
	return ss_fail(err, path, "%s 须给出抽取数量（count）或抽取比例（ratio）之一，且只能给出一个",
		       "%s needs either a count or a ratio, not both and not neither", path);
}

/* ---- plans ---- */

static const char *const ss_plan_kinds[] = {"annual", "joint", "ad_hoc", NULL};
static const char *const ss_object_dirs[] = {"entity", "project", NULL};

static const struct ss_field ss_exclusion_fields[] = {
	{"id", F_TEXT, 1, 1, 64, NULL, NULL, "对象标识", 0},
	{"reason", F_TEXT, 1, 2, 500, NULL, NULL, "排除理由", 0},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
};
static const struct ss_field ss_signoff_fields[] = {
	{"section_head", F_TEXT, 0, 0, 50, NULL, NULL, "科室负责人", 0},
	{"leader", F_TEXT, 0, 0, 50, NULL, NULL, "分管领导", 0},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
};
static const struct ss_field ss_row_fields[] = {
	{"task_name", F_TEXT, 1, 1, 200, NULL, NULL, "任务名称", 0},
	{"items", F_IDS, 1, 1, 200, NULL, NULL, "抽查事项", 0},
	{"directory", F_ENUM, 1, 0, 0, ss_object_dirs, NULL, "抽查对象类型", 0},
	{"object_scope", F_TEXT, 0, 0, 500, NULL, NULL, "抽查对象范围", 0},
	{"draw_date", F_DATE, 0, 0, 0, NULL, NULL, "抽取时间", 0},
	{"count", F_INT, -1, 1, 10000000, NULL, NULL, "抽取数量", 0},
	{"ratio", F_RATIO, -1, 0, 0, NULL, NULL, "抽取比例", 0},
	{"notes", F_TEXT, 0, 0, 500, NULL, NULL, "备注", 0},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
};
static const struct ss_field ss_plan_fields[] = {
	{"kind", F_ENUM, 1, 0, 0, ss_plan_kinds, NULL, "计划类型", 0},
	{"department", F_ID, 1, 0, 0, NULL, NULL, "部门", 0},
	{"year", F_INT, 1, 2000, 2100, NULL, NULL, "年度", 0},
	{"name", F_TEXT, 1, 1, 200, NULL, NULL, "计划名称", 0},
	{"lead_section", F_TEXT, 0, 0, 100, NULL, NULL, "牵头科室", 0},
	{"joint_sections", F_TEXTS, 0, 0, 20, NULL, NULL, "联合科室", 0},
	{"participants", F_IDS, 0, 0, 30, NULL, NULL, "参与部门", 0},
	{"category", F_TEXT, 0, 0, 100, NULL, NULL, "抽查类别", 0},
	{"basis", F_TEXT, 1, 1, 1000, NULL, NULL, "抽查依据", 0},
	{"inspector_scope", F_TEXT, 0, 0, 500, NULL, NULL, "执法人员范围", 0},
	{"annual_cap", F_INT, 0, 1, 12, NULL, NULL, "年度抽中上限", 2},
	{"exclusions", F_OBJECTS, 0, 0, 10000, NULL, ss_exclusion_fields, "排除对象", 0},
	{"signoff", F_OBJECT, 0, 0, 0, NULL, ss_signoff_fields, "签字", 0},
	{"rows", F_OBJECTS, 1, 1, 200, NULL, ss_row_fields, "计划明细", 0},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
};

int ss_plandoc_plan(const char *json, size_t len, char **canonical, struct ss_doc_error *err)
{
	struct ss_walk w = {err};
	json_object *in, *canon = NULL, *rows, *parts;
	size_t i;
	int rc;

	*canonical = NULL;
	in = ss_parse(json, len, err, "plan", &rc);
	if (in == NULL)
		return rc;
	rc = ss_walk_object(&w, in, ss_plan_fields, "plan", &canon);
	json_object_put(in);
	if (rc != 0)
		return rc;
	/* A joint plan names its participants; other plans have none. */
	json_object_object_get_ex(canon, "participants", &parts);
	if (strcmp(ss_get(canon, "kind"), "joint") == 0 ? json_object_array_length(parts) == 0
							: json_object_array_length(parts) > 0) {
		rc = strcmp(ss_get(canon, "kind"), "joint") == 0
			     ? ss_fail(err, "plan.participants", "联合抽查计划须列明参与部门",
				       "a joint plan names its participating departments")
			     : ss_fail(err, "plan.participants",
				       "只有联合抽查计划（kind 为 joint）才有参与部门",
				       "only a joint plan (kind \"joint\") has participants");
		goto out;
	}
	for (i = 0; i < json_object_array_length(parts); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(parts, i)),
			   ss_get(canon, "department")) == 0) {
			rc = ss_fail(err, "plan.participants", "发起部门不必列为参与部门",
				     "the initiating department is not listed among the participants");
			goto out;
		}
	json_object_object_get_ex(canon, "rows", &rows);
	for (i = 0; i < json_object_array_length(rows); i++)
		if ((rc = ss_count_or_ratio(err, json_object_array_get_idx(rows, i), "plan.rows", i)) != 0)
			goto out;
	rc = 0;
out:
	if (rc != 0) {
		json_object_put(canon);
		return rc;
	}
	return ss_finish(canon, canonical);
}

/* ---- tasks ---- */

static const struct ss_field ss_window_fields[] = {
	{"start", F_DATE, 1, 0, 0, NULL, NULL, "开始日期", 0},
	{"end", F_DATE, 1, 0, 0, NULL, NULL, "结束日期", 0},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
};
static const struct ss_field ss_stratum_fields[] = {
	{"name", F_TEXT, 1, 1, 100, NULL, NULL, "分层名称", 0},
	{"filter", F_ANY_OBJECT, 0, 0, 0, NULL, NULL, "筛选条件", 0},
	{"count", F_INT, -1, 1, 10000000, NULL, NULL, "抽取数量", 0},
	{"ratio", F_RATIO, -1, 0, 0, NULL, NULL, "抽取比例", 0},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
};
static const struct ss_field ss_inspectors_fields[] = {
	{"categories", F_TEXTS, 1, 1, 20, NULL, NULL, "执法类别", 0},
	{"group_size", F_INT, 0, 2, 10, NULL, NULL, "每组人数", 2},
	{"experts", F_INT, 0, 0, 5, NULL, NULL, "每组专家人数", 0},
	{"pool", F_DIVS, 0, 0, 50, NULL, NULL, "人员池辖区", 0},
	{"workload_cap", F_INT, 0, 0, 100000, NULL, NULL, "每人任务上限", 0},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
};
static const struct ss_field ss_task_fields[] = {
	{"plan_id", F_ID, 1, 0, 0, NULL, NULL, "所属计划", 0},
	{"name", F_TEXT, 1, 1, 200, NULL, NULL, "任务名称", 0},
	{"directory", F_ENUM, 1, 0, 0, ss_object_dirs, NULL, "抽查对象类型", 0},
	{"executing_unit", F_ID, 1, 0, 0, NULL, NULL, "执行单位", 0},
	{"draw_date", F_DATE, 1, 0, 0, NULL, NULL, "抽取日期", 0},
	{"window", F_OBJECT, 1, 0, 0, NULL, ss_window_fields, "检查期限", 0},
	{"items", F_IDS, 1, 1, 200, NULL, NULL, "抽查事项", 0},
	{"strata", F_OBJECTS, 1, 1, 20, NULL, ss_stratum_fields, "抽取分层", 0},
	{"inspectors", F_OBJECT, 1, 0, 0, NULL, ss_inspectors_fields, "执法人员要求", 0},
	{"witnesses", F_IDS, 0, 0, 5, NULL, NULL, "监督见证人", 0},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
};

/* May a stratum filter use column c?  Not the record key, not free-form
 * names and addresses, not the status (eligibility decides that). */
static int ss_filterable(const struct ss_dirschema *s, size_t i)
{
	const struct ss_column *c = &s->cols[i];

	if (i == s->key_col || strcmp(c->name, "status") == 0 || strcmp(c->name, "name") == 0 ||
	    strcmp(c->name, "address") == 0 || strcmp(c->name, "legal_representative") == 0 ||
	    strcmp(c->name, "builder_name") == 0)
		return 0;
	return c->type == SS_COL_ENUM || c->type == SS_COL_TEXT || c->type == SS_COL_DIVISION ||
	       c->type == SS_COL_BOOL || c->type == SS_COL_INT;
}

static int ss_prefix_ok(const char *p)
{
	size_t i, n = strlen(p);

	if (n != 2 && n != 4 && n != 6)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* Checks one filter condition on column c; writes its canonical value. */
static int ss_filter_value(struct ss_walk *w, const struct ss_column *c, json_object *v,
			   const char *path, json_object **out)
{
	struct ss_field f = {c->name, F_TEXTS, 1, 1, 50, NULL, NULL, c->zh, 0};
	char sub[240];
	size_t i, j;
	int rc;

	switch (c->type) {
	case SS_COL_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return ss_fail(w->err, path, "%s 应为 true 或 false",
				       "%s must be true or false", path);
		*out = json_object_new_boolean(json_object_get_boolean(v));
		return *out ? 0 : SS_ERR_NOMEM;
	case SS_COL_INT: {
		static const struct ss_field range[] = {
			{"min", F_INT, -1, 0, 1000000, NULL, NULL, "下限", 0},
			{"max", F_INT, -1, 0, 1000000, NULL, NULL, "上限", 0},
			{NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
		};
		json_object *lo, *hi;

		rc = ss_walk_object(w, v, range, path, out);
		if (rc != 0)
			return rc;
		if (!json_object_object_get_ex(*out, "min", &lo) &
		    !json_object_object_get_ex(*out, "max", &hi)) {
			json_object_put(*out);
			*out = NULL;
			return ss_fail(w->err, path, "%s 须给出 min 或 max", "%s needs a min or a max",
				       path);
		}
		if (lo && hi && json_object_get_int64(lo) > json_object_get_int64(hi)) {
			json_object_put(*out);
			*out = NULL;
			return ss_fail(w->err, path, "%s 的 min 大于 max", "%s has min above max", path);
		}
		return 0;
	}
	default:
		break;
	}
	rc = ss_walk_value(w, v, &f, path, out);
	if (rc != 0)
		return rc;
	for (i = 0; i < json_object_array_length(*out); i++) {
		const char *x = json_object_get_string(json_object_array_get_idx(*out, i));

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (c->type == SS_COL_DIVISION && !ss_prefix_ok(x))
			rc = ss_fail(w->err, sub, "%s 应为 2、4 或 6 位行政区划代码前缀",
				     "%s must be a division code prefix of 2, 4 or 6 digits", sub);
		if (c->type == SS_COL_ENUM) {
			for (j = 0; c->values[j].code != NULL; j++)
				if (strcmp(x, c->values[j].code) == 0)
					break;
			if (c->values[j].code == NULL)
				rc = ss_fail(w->err, sub, "%s 不是 %s 的可用取值",
					     "%s is not a value of %s", sub, c->name);
		}
		for (j = 0; rc == 0 && j < i; j++)
			if (strcmp(x, json_object_get_string(json_object_array_get_idx(*out, j))) == 0)
				rc = ss_fail(w->err, sub, "%s 与第 %zu 项重复", "%s repeats entry %zu",
					     sub, j);
		if (rc != 0) {
			json_object_put(*out);
			*out = NULL;
			return rc;
		}
	}
	return 0;
}

/* Replaces stratum filter *filter by its canonical form (columns in directory order). */
static int ss_filter_check(struct ss_walk *w, const struct ss_dirschema *s, json_object **filter,
			   const char *path)
{
	json_object *out;
	char sub[200];
	size_t i;
	int rc;

	json_object_object_foreach(*filter, key, val)
	{
		(void)val;
		for (i = 0; i < s->ncols; i++)
			if (strcmp(s->cols[i].name, key) == 0 && ss_filterable(s, i))
				break;
		if (i == s->ncols) {
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			return ss_fail(w->err, sub, "%s 不是%s可用于筛选的字段",
				       "%s is not a column of the %s directory a stratum can filter on",
				       sub, s->name);
		}
	}
	out = json_object_new_object();
	if (out == NULL)
		return SS_ERR_NOMEM;
	for (i = 0; i < s->ncols; i++) {
		json_object *v, *c;

		if (!json_object_object_get_ex(*filter, s->cols[i].name, &v))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", path, s->cols[i].name);
		rc = ss_filter_value(w, &s->cols[i], v, sub, &c);
		if (rc == 0 && json_object_object_add(out, s->cols[i].name, c) != 0) {
			json_object_put(c);
			rc = SS_ERR_NOMEM;
		}
		if (rc != 0) {
			json_object_put(out);
			return rc;
		}
	}
	json_object_put(*filter);
	*filter = out;
	return 0;
}

int ss_plandoc_task(const char *json, size_t len, char **canonical, struct ss_doc_error *err)
{
	struct ss_walk w = {err};
	const struct ss_dirschema *s;
	json_object *in, *canon = NULL, *strata, *win;
	size_t i, j;
	int rc;

	*canonical = NULL;
	in = ss_parse(json, len, err, "task", &rc);
	if (in == NULL)
		return rc;
	rc = ss_walk_object(&w, in, ss_task_fields, "task", &canon);
	json_object_put(in);
	if (rc != 0)
		return rc;
	s = ss_dirschema_find(ss_get(canon, "directory"));
	json_object_object_get_ex(canon, "window", &win);
	if (strcmp(ss_get(canon, "draw_date"), ss_get(win, "start")) > 0 ||
	    strcmp(ss_get(win, "start"), ss_get(win, "end")) > 0) {
		rc = ss_fail(err, "task.window",
			     "检查期限应满足 抽取日期 ≤ 开始日期 ≤ 结束日期（%s，%s，%s）",
			     "the window must satisfy draw_date <= start <= end (%s, %s, %s)",
			     ss_get(canon, "draw_date"), ss_get(win, "start"), ss_get(win, "end"));
		goto out;
	}
	json_object_object_get_ex(canon, "strata", &strata);
	for (i = 0; i < json_object_array_length(strata); i++) {
		json_object *st = json_object_array_get_idx(strata, i), *filter;
		char path[64];

		if ((rc = ss_count_or_ratio(err, st, "task.strata", i)) != 0)
			goto out;
		/* Stratum names go into the signed draw records as tokens. */
		if (!ss_token_valid(ss_get(st, "name"), strlen(ss_get(st, "name")))) {
			snprintf(path, sizeof(path), "task.strata[%zu].name", i);
			rc = ss_fail(err, path, "%s 不能含空格或控制字符",
				     "%s may not contain spaces or control characters", path);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(ss_get(st, "name"),
				   ss_get(json_object_array_get_idx(strata, j), "name")) == 0) {
				snprintf(path, sizeof(path), "task.strata[%zu].name", i);
				rc = ss_fail(err, path, "%s 与第 %zu 层同名",
					     "%s repeats the name of stratum %zu", path, j);
				goto out;
			}
		snprintf(path, sizeof(path), "task.strata[%zu].filter", i);
		json_object_object_get_ex(st, "filter", &filter);
		json_object_get(filter);
		rc = ss_filter_check(&w, s, &filter, path);
		if (rc == 0)
			rc = json_object_object_add(st, "filter", filter) == 0 ? 0 : SS_ERR_NOMEM;
		else
			json_object_put(filter);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		json_object_put(canon);
		return rc;
	}
	rc = ss_finish(canon, canonical);
	/* The canonical task is the parameters text of its draw records. */
	if (rc == 0 && strlen(*canonical) > SS_TASK_DOC_MAX) {
		free(*canonical);
		*canonical = NULL;
		return ss_fail(err, "task", "任务文档过长（规范形式最多 %d 字节）",
			       "the task document is too long (at most %d bytes in canonical form)",
			       SS_TASK_DOC_MAX);
	}
	return rc;
}

/* ---- filters as SQL ---- */

int ss_sql_cat(char **sql, const char *fmt, ...)
{
	size_t have = *sql ? strlen(*sql) : 0;
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = realloc(*sql, have + (size_t)n + 1);
	if (p == NULL)
		return SS_ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf(p + have, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*sql = p;
	return 0;
}

int ss_sql_param(char ***params, int *nparams, const char *value)
{
	char **p = realloc(*params, ((size_t)*nparams + 1) * sizeof(*p));

	if (p == NULL)
		return SS_ERR_NOMEM;
	*params = p;
	p[*nparams] = strdup(value);
	if (p[*nparams] == NULL)
		return SS_ERR_NOMEM;
	return ++*nparams;
}

int ss_plandoc_filter_sql(const struct ss_dirschema *s, const char *filter_json, char **sql,
			  char ***params, int *nparams)
{
	json_object *filter = json_tokener_parse(filter_json);
	int rc = 0;
	size_t i, j;

	if (filter == NULL || !json_object_is_type(filter, json_type_object)) {
		json_object_put(filter);
		return SS_ERR_BAD_REQUEST;
	}
	rc = ss_sql_cat(sql, "(true");
	for (i = 0; rc == 0 && i < s->ncols; i++) {
		const struct ss_column *c = &s->cols[i];
		json_object *v, *lo, *hi;

		if (!json_object_object_get_ex(filter, c->name, &v))
			continue;
		switch (c->type) {
		case SS_COL_BOOL:
			rc = ss_sql_cat(sql, " AND \"%s\" IS %s", c->name,
					json_object_get_boolean(v) ? "TRUE" : "NOT TRUE");
			break;
		case SS_COL_INT:
			if (json_object_object_get_ex(v, "min", &lo))
				rc = ss_sql_cat(sql, " AND coalesce(\"%s\", 0) >= %" PRId64, c->name,
						json_object_get_int64(lo));
			if (rc == 0 && json_object_object_get_ex(v, "max", &hi))
				rc = ss_sql_cat(sql, " AND coalesce(\"%s\", 0) <= %" PRId64, c->name,
						json_object_get_int64(hi));
			break;
		default:
			rc = ss_sql_cat(sql, " AND (false");
			for (j = 0; rc == 0 && j < json_object_array_length(v); j++) {
				const char *x = json_object_get_string(json_object_array_get_idx(v, j));
				char like[16];
				int n;

				if (c->type == SS_COL_DIVISION) {
					snprintf(like, sizeof(like), "%.6s%%", x);
					x = like;
				}
				n = ss_sql_param(params, nparams, x);
				if (n < 0) {
					rc = n;
					break;
				}
				rc = ss_sql_cat(sql, c->type == SS_COL_DIVISION ? " OR \"%s\" LIKE $%d"
										: " OR \"%s\" = $%d",
						c->name, n);
			}
			if (rc == 0)
				rc = ss_sql_cat(sql, ")");
			break;
		}
	}
	if (rc == 0)
		rc = ss_sql_cat(sql, ")");
	json_object_put(filter);
	return rc;
}
