/*
 * plandoc.h — plan and task documents (docs/plans.md): strict validation
 * and the canonical form that is stored and hashed.
 *
 * A plan's or a task's body travels as a JSON object in PlanPut.document /
 * TaskPut.document.  The validator refuses unknown keys, wrong types, values
 * out of range and inconsistent combinations, naming the JSON path of the
 * first fault (e.g. "plan.rows[2].ratio") in English and Chinese.  What
 * only the database knows (that departments, items and plans exist) is
 * checked by sql/003_plans.sql in the transaction that stores the document.
 *
 * The canonical form is the document rebuilt in the order of docs/plans.md,
 * defaults filled in, as compact JSON; its SHA-256 is the document digest.
 */
#ifndef SS_PLANDOC_H
#define SS_PLANDOC_H

#include <stddef.h>

struct ss_dirschema;

/* A canonical task document is at most this long: it is the parameters text
 * of the draw's records (common/rectext.h SS_TEXT_MAX). */
#define SS_TASK_DOC_MAX 60000

struct ss_doc_error {
	char field[160];
	char en[320];
	char zh[320];
};

/* One stratum filter condition, as the task preview and the draw use it. */
enum ss_cond_kind {
	SS_COND_IN,       /* column value in values[] */
	SS_COND_PREFIX,   /* division code starts with one of values[] */
	SS_COND_BOOL,     /* column is flag */
	SS_COND_MIN,      /* integer column >= min (NULL counts as 0) */
	SS_COND_MAX,      /* integer column <= max (NULL counts as 0) */
};

/*
 * Validates a plan document.  On success returns 0 and sets *canonical to a
 * malloc'ed canonical JSON string.  On a fault returns SS_ERR_BAD_REQUEST
 * and fills err.  SS_ERR_NOMEM on allocation failure.
 */
int ss_plandoc_plan(const char *json, size_t len, char **canonical, struct ss_doc_error *err);

/* The same for a task document. */
int ss_plandoc_task(const char *json, size_t len, char **canonical, struct ss_doc_error *err);

/*
 * Appends to the SQL text sql (malloc'ed, *sql may be NULL) the condition of
 * stratum filter `filter` (a canonical task document's strata[i].filter, as
 * JSON text) over the columns of directory s, with values as $N parameters
 * starting at *nparams + 1, appended to params (strdup'ed; the caller frees).
 * An empty filter is "true".  Returns 0 or SS_ERR_NOMEM / SS_ERR_BAD_REQUEST.
 */
int ss_plandoc_filter_sql(const struct ss_dirschema *s, const char *filter_json, char **sql,
			  char ***params, int *nparams);

/* Appends printf-style text to the malloc'ed string *sql (NULL to start). 0 or SS_ERR_NOMEM. */
int ss_sql_cat(char **sql, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a strdup of value to *params; returns its $ number (the new count) or SS_ERR_NOMEM. */
int ss_sql_param(char ***params, int *nparams, const char *value);

#endif
