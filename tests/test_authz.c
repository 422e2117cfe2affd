/*
 * test_authz.c — the authorization table and jurisdiction coverage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "authz.h"
#include "ss_error.h"

static void every_role_may_open_a_session(void **state)
{
	int r;

	for (r = 0; r < SS_ROLE_COUNT; r++) {
		assert_int_equal(ss_authz_check((enum ss_role)r, "110101", SS_OP_HELLO, NULL), 0);
		assert_int_equal(ss_authz_check((enum ss_role)r, "110101", SS_OP_WHOAMI, NULL), 0);
	}
}

static void operators_may_not_read_the_audit_log(void **state)
{
	assert_int_equal(ss_authz_check(SS_ROLE_OPERATOR, "110101", SS_OP_AUDIT_LIST, NULL),
			 SS_ERR_PERMISSION_DENIED);
	assert_int_equal(ss_authz_check(SS_ROLE_AUDITOR, "110000", SS_OP_AUDIT_LIST, NULL), 0);
	assert_int_equal(ss_authz_check(SS_ROLE_SUPERVISOR, "110000", SS_OP_AUDIT_LIST, NULL), 0);
}

static void only_administrators_change_principals(void **state)
{
	int r;

	for (r = 0; r < SS_ROLE_COUNT; r++)
		assert_int_equal(ss_authz_check((enum ss_role)r, "110000",
						SS_OP_PRINCIPAL_SET_STATUS, NULL),
				 r == SS_ROLE_ADMIN ? 0 : SS_ERR_PERMISSION_DENIED);
}

static void out_of_range_role_or_operation_is_denied(void **state)
{
	assert_int_equal(ss_authz_check(SS_ROLE_COUNT, "110000", SS_OP_PING, NULL),
			 SS_ERR_PERMISSION_DENIED);
	assert_int_equal(ss_authz_check(SS_ROLE_ADMIN, "110000", SS_OP_COUNT, NULL),
			 SS_ERR_PERMISSION_DENIED);
}

static void jurisdictions_cover_their_subdivisions(void **state)
{
	assert_true(ss_jurisdiction_covers("110000", "110101"));  /* province/municipality */
	assert_true(ss_jurisdiction_covers("110100", "110105"));  /* city */
	assert_true(ss_jurisdiction_covers("110101", "110101"));  /* itself */
	assert_false(ss_jurisdiction_covers("110101", "110102")); /* a neighbour */
	assert_false(ss_jurisdiction_covers("110100", "120101"));
	assert_false(ss_jurisdiction_covers("1101", "110101"));
}

static void roles_parse_by_name(void **state)
{
	assert_int_equal(ss_role_parse("legal"), SS_ROLE_LEGAL);
	assert_int_equal(ss_role_parse("root"), -1);
	assert_string_equal(ss_op_name(SS_OP_AUDIT_LIST), "audit.list");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_role_may_open_a_session),
		cmocka_unit_test(operators_may_not_read_the_audit_log),
		cmocka_unit_test(only_administrators_change_principals),
		cmocka_unit_test(out_of_range_role_or_operation_is_denied),
		cmocka_unit_test(jurisdictions_cover_their_subdivisions),
		cmocka_unit_test(roles_parse_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
