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

int ss_jurisdiction_covers(const char *outer, const char *inner)
{
	size_t n;

	if (strlen(outer) != 6 || strlen(inner) != 6)
		return 0;
	/* Trailing "00" pairs widen the area: province, then city. */
	if (strcmp(outer + 2, "0000") == 0)
		n = 2;
	else if (strcmp(outer + 4, "00") == 0)
		n = 4;
	else
		n = 6;
	return strncmp(outer, inner, n) == 0;
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
