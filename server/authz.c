/*
 * authz.c — the authorization table.
 */
#include "authz.h"

#include <string.h>

#include "ss_error.h"

enum ss_scope {
	SS_NO = 0,  /* refused */
	SS_OWN,     /* allowed within the principal's jurisdiction */
	SS_ALL      /* allowed everywhere */
};

static const char *const ss_role_names[SS_ROLE_COUNT] = {"operator", "legal", "supervisor",
							  "auditor", "admin"};
static const char *const ss_op_names[SS_OP_COUNT] = {
	"hello",          "ping",           "whoami",
	"audit.list",     "principal.list", "principal.set_status",
	"object.read",    "object.write",   "inspector.read",
	"inspector.write", "item.read",     "item.write",
	"calendar.read",  "calendar.write", "department.read",
	"department.write", "plan.read",    "plan.write",
	"plan.approve",   "task.read",      "task.write",
	"targeted.read",  "targeted.write", "stats.read",
	"draw.read",      "draw.run",       "draw.witness",
	"draw.waive",     "draw.void",
};

/* Rows: operations; columns: operator, legal, supervisor, auditor, admin. */
static const unsigned char ss_authz_table[SS_OP_COUNT][SS_ROLE_COUNT] = {
	[SS_OP_HELLO] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_PING] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_WHOAMI] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	/* The audit trail is read by those who supervise, not by operators. */
	[SS_OP_AUDIT_LIST] = {SS_NO, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_PRINCIPAL_LIST] = {SS_NO, SS_NO, SS_NO, SS_ALL, SS_ALL},
	[SS_OP_PRINCIPAL_SET_STATUS] = {SS_NO, SS_NO, SS_NO, SS_NO, SS_ALL},
	/* A district keeps its own part of the directories; the city sections,
	 * the legal office and auditors see all (issue 3, Y5-Y6). */
	[SS_OP_OBJECT_READ] = {SS_OWN, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_OBJECT_WRITE] = {SS_OWN, SS_NO, SS_NO, SS_NO, SS_ALL},
	[SS_OP_INSPECTOR_READ] = {SS_OWN, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_INSPECTOR_WRITE] = {SS_OWN, SS_NO, SS_NO, SS_NO, SS_ALL},
	/* The item list is public and owned by the legal office (Y4, G8). */
	[SS_OP_ITEM_READ] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_ITEM_WRITE] = {SS_NO, SS_ALL, SS_NO, SS_NO, SS_NO},
	[SS_OP_CALENDAR_READ] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_CALENDAR_WRITE] = {SS_NO, SS_NO, SS_NO, SS_NO, SS_ALL},
	[SS_OP_DEPARTMENT_READ] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_DEPARTMENT_WRITE] = {SS_NO, SS_NO, SS_NO, SS_NO, SS_ALL},
	/* Plans are public once published (Y12); districts propose and the
	 * legal office files, approves and coordinates (G12, W-四-一).  Which
	 * department a principal acts for is checked with the data
	 * (sql/003_plans.sql: plan_may_act). */
	[SS_OP_PLAN_READ] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_PLAN_WRITE] = {SS_OWN, SS_ALL, SS_NO, SS_NO, SS_NO},
	[SS_OP_PLAN_APPROVE] = {SS_NO, SS_ALL, SS_NO, SS_NO, SS_NO},
	/* A district sets up tasks only for executing units in its jurisdiction. */
	[SS_OP_TASK_READ] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_TASK_WRITE] = {SS_OWN, SS_ALL, SS_NO, SS_NO, SS_NO},
	[SS_OP_TARGETED_READ] = {SS_OWN, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_TARGETED_WRITE] = {SS_OWN, SS_ALL, SS_NO, SS_NO, SS_NO},
	[SS_OP_STATS_READ] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	/* Draws are public records (一公开); each executing unit runs its own,
	 * discipline supervisors witness (W-五-二), and only the legal office
	 * excuses absent witnesses or voids a draw. */
	[SS_OP_DRAW_READ] = {SS_ALL, SS_ALL, SS_ALL, SS_ALL, SS_ALL},
	[SS_OP_DRAW_RUN] = {SS_OWN, SS_ALL, SS_NO, SS_NO, SS_NO},
	[SS_OP_DRAW_WITNESS] = {SS_NO, SS_NO, SS_ALL, SS_NO, SS_NO},
	[SS_OP_DRAW_WAIVE] = {SS_NO, SS_ALL, SS_NO, SS_NO, SS_NO},
	[SS_OP_DRAW_VOID] = {SS_NO, SS_ALL, SS_NO, SS_NO, SS_NO},
};

int ss_role_parse(const char *name)
{
	int i;

	for (i = 0; i < SS_ROLE_COUNT; i++)
		if (strcmp(name, ss_role_names[i]) == 0)
			return i;
	return -1;
}

const char *ss_role_name(enum ss_role role)
{
	return (unsigned)role < SS_ROLE_COUNT ? ss_role_names[role] : "unknown";
}

const char *ss_op_name(enum ss_op op)
{
	return (unsigned)op < SS_OP_COUNT ? ss_op_names[op] : "unknown";
}

int ss_op_parse(const char *name)
{
	int i;

	for (i = 0; i < SS_OP_COUNT; i++)
		if (strcmp(name, ss_op_names[i]) == 0)
			return i;
	return -1;
}

/* Length of the significant prefix of a GB/T 2260 code: 2, 4 or 6. */
static size_t ss_jurisdiction_width(const char *code)
{
	if (strcmp(code + 2, "0000") == 0)
		return 2;
	if (strcmp(code + 4, "00") == 0)
		return 4;
	return 6;
}

const char *ss_authz_scope_prefix(enum ss_role role, const char *jurisdiction, enum ss_op op,
				  char out[7])
{
	size_t n;

	if ((unsigned)role >= SS_ROLE_COUNT || (unsigned)op >= SS_OP_COUNT)
		return NULL;
	switch (ss_authz_table[op][role]) {
	case SS_ALL:
		out[0] = '\0';
		return out;
	case SS_OWN:
		if (jurisdiction == NULL || strlen(jurisdiction) != 6)
			return NULL;
		n = ss_jurisdiction_width(jurisdiction);
		memcpy(out, jurisdiction, n);
		out[n] = '\0';
		return out;
	default:
		return NULL;
	}
}

int ss_jurisdiction_covers(const char *outer, const char *inner)
{
	if (strlen(outer) != 6 || strlen(inner) != 6)
		return 0;
	/* Trailing "00" pairs widen the area: province, then city. */
	return strncmp(outer, inner, ss_jurisdiction_width(outer)) == 0;
}

int ss_authz_check(enum ss_role role, const char *jurisdiction, enum ss_op op,
		   const char *target_jurisdiction)
{
	if ((unsigned)role >= SS_ROLE_COUNT || (unsigned)op >= SS_OP_COUNT)
		return SS_ERR_PERMISSION_DENIED;
	switch (ss_authz_table[op][role]) {
	case SS_ALL:
		return 0;
	case SS_OWN:
		if (target_jurisdiction == NULL ||
		    ss_jurisdiction_covers(jurisdiction, target_jurisdiction))
			return 0;
		return SS_ERR_PERMISSION_DENIED;
	default:
		return SS_ERR_PERMISSION_DENIED;
	}
}
