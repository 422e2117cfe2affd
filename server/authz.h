/*
 * authz.h — the one authorization table: role x operation x jurisdiction.
 *
 * Every request passes ss_authz_check() in server/handlers.c before it
 * touches anything; nothing else decides who may do what.
 */
#ifndef SS_AUTHZ_H
#define SS_AUTHZ_H

enum ss_role {
	SS_ROLE_OPERATOR = 0, /* 执法科室、单位 district bureau operator */
	SS_ROLE_LEGAL,        /* 法规科 city legal office */
	SS_ROLE_SUPERVISOR,   /* 纪检监督 discipline supervisor */
	SS_ROLE_AUDITOR,      /* 审计 auditor */
	SS_ROLE_ADMIN,        /* 系统管理员 administrator */
	SS_ROLE_COUNT
};

enum ss_op {
	SS_OP_HELLO = 0,
	SS_OP_PING,
	SS_OP_WHOAMI,
	SS_OP_AUDIT_LIST,
	SS_OP_PRINCIPAL_LIST,
	SS_OP_PRINCIPAL_SET_STATUS,
	SS_OP_OBJECT_READ,     /* entity and project directories */
	SS_OP_OBJECT_WRITE,
	SS_OP_INSPECTOR_READ,  /* inspectors, experts, conflicts of interest */
	SS_OP_INSPECTOR_WRITE,
	SS_OP_ITEM_READ,       /* the public item list */
	SS_OP_ITEM_WRITE,
	SS_OP_CALENDAR_READ,
	SS_OP_CALENDAR_WRITE,
	SS_OP_DEPARTMENT_READ, /* departments (data: names, jurisdictions, hierarchy) */
	SS_OP_DEPARTMENT_WRITE,
	SS_OP_PLAN_READ,       /* plans: published and pending versions */
	SS_OP_PLAN_WRITE,      /* propose, edit, amend, confirm, submit, publish */
	SS_OP_PLAN_APPROVE,    /* file/approve or return a submitted plan */
	SS_OP_TASK_READ,       /* tasks and their previews */
	SS_OP_TASK_WRITE,
	SS_OP_TARGETED_READ,   /* targeted (non-random) inspections */
	SS_OP_TARGETED_WRITE,
	SS_OP_STATS_READ,      /* oversight figures */
	SS_OP_DRAW_READ,       /* a draw's state, its receipt, the log */
	SS_OP_DRAW_RUN,        /* open, run a draw; record a recusal */
	SS_OP_DRAW_WITNESS,    /* contribute a witness's entropy */
	SS_OP_DRAW_WAIVE,      /* record why witnesses are absent */
	SS_OP_DRAW_VOID,       /* void a draw */
	SS_OP_COUNT
};

/* Parses a role name ("operator", ...); returns -1 if unknown. */
int ss_role_parse(const char *name);
const char *ss_role_name(enum ss_role role);
/* Dotted operation name as written to the audit log, e.g. "audit.list". */
const char *ss_op_name(enum ss_op op);
/* The operation of a dotted name, or -1. */
int ss_op_parse(const char *name);

/*
 * The division-code prefix within which role may perform op: "" when
 * everywhere, the principal's area ("11" for 110000, "1101" for 110100,
 * "110101" for a county) when only its own, NULL when not at all.
 * Writes into out (at least 7 bytes) and returns out or NULL.
 */
const char *ss_authz_scope_prefix(enum ss_role role, const char *jurisdiction, enum ss_op op,
				  char out[7]);

/*
 * Nonzero if the GB/T 2260 code outer covers inner: 110000 (a province)
 * covers 11xxxx, 110100 (a city) covers 1101xx, a county only itself.
 */
int ss_jurisdiction_covers(const char *outer, const char *inner);

/*
 * Decides whether role, acting for jurisdiction, may perform op on an
 * object in target_jurisdiction (NULL when the operation has no single
 * target).  Returns 0 or SS_ERR_PERMISSION_DENIED.
 */
int ss_authz_check(enum ss_role role, const char *jurisdiction, enum ss_op op,
		   const char *target_jurisdiction);

#endif
