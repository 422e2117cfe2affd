/*
 * test_cli.c — the terminal client as an office uses it: real binary, real
 * server, the documented exit codes, and errors in the user's language.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

static struct th_server srv;

static int server_up(void **state)
{
	return th_server_start(&srv, NULL);
}

static int server_down(void **state)
{
	/* Only a safety net: cmocka 1.1.5 ignores a failing group teardown, so
	 * the clean stop is checked by the last test. */
	if (srv.pid > 0)
		(void)th_server_stop(&srv, SIGKILL);
	return 0;
}

static int cli(const char *id, const char *lang, const char *args, char *out, size_t cap)
{
	return th_cli(&srv, id, lang, args, out, cap);
}

static void whoami_prints_the_office_and_exits_zero(void **state)
{
	char out[8192];

	assert_int_equal(cli("district-a-operator", "C.UTF-8", "whoami", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "东城区住房和城乡建设局"));
	assert_non_null(strstr(out, "110101"));
}

static void refusal_is_exit_4_in_english(void **state)
{
	char out[8192];

	assert_int_equal(cli("district-a-operator", "en_US.UTF-8", "audit list", out, sizeof(out)),
			 4);
	assert_non_null(strstr(out, "permission denied"));
}

static void refusal_is_explained_in_chinese_under_zh_cn(void **state)
{
	char out[8192];

	assert_int_equal(cli("district-a-operator", "zh_CN.UTF-8", "audit list", out, sizeof(out)),
			 4);
	assert_non_null(strstr(out, "无权执行此操作"));
	assert_null(strstr(out, "permission denied"));
}

static void usage_error_is_exit_1_and_bad_reason_never_reaches_the_server(void **state)
{
	char out[8192];

	assert_int_equal(cli("city-admin", "C.UTF-8", "no-such-command", out, sizeof(out)), 1);
	assert_int_equal(cli("city-admin", "C.UTF-8",
			     "principal set-status district-a-operator disabled", out, sizeof(out)),
			 1);
}

static void json_output_is_machine_readable(void **state)
{
	char out[8192];

	assert_int_equal(cli("city-auditor", "C.UTF-8", "--json whoami", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"principal_id\""));
	assert_non_null(strstr(out, "\"city-auditor\""));
}

static void unreachable_server_is_exit_3(void **state)
{
	char out[8192], args[128];

	snprintf(args, sizeof(args), "--server localhost:%d --timeout 2 ping", 1);
	assert_int_equal(cli("city-auditor", "C.UTF-8", args, out, sizeof(out)), 3);
}

/* Last in the group: exit 0 means the server's loop closed with every handle closed. */
static void server_stops_cleanly_on_sigterm(void **state)
{
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
	assert_true(th_server_log_contains(&srv, "stopped"));
}

static void keygen_creates_the_signing_key_exclusively_with_mode_0600(void **state)
{
	char key[512], cmd[1200];
	struct stat st;

	snprintf(key, sizeof(key), "%s/draw-signing.key", srv.dir);
	snprintf(cmd, sizeof(cmd), "%s keygen %s >/dev/null 2>&1", SS_TEST_SHUANGSUID_PATH, key);
	assert_int_equal(th_run(cmd), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* An existing key is never replaced. */
	assert_int_equal(th_run(cmd), 1);
	assert_int_equal(stat(key, &st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whoami_prints_the_office_and_exits_zero),
		cmocka_unit_test(refusal_is_exit_4_in_english),
		cmocka_unit_test(refusal_is_explained_in_chinese_under_zh_cn),
		cmocka_unit_test(usage_error_is_exit_1_and_bad_reason_never_reaches_the_server),
		cmocka_unit_test(json_output_is_machine_readable),
		cmocka_unit_test(unreachable_server_is_exit_3),
		cmocka_unit_test(keygen_creates_the_signing_key_exclusively_with_mode_0600),
		cmocka_unit_test(server_stops_cleanly_on_sigterm), /* keep last */
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
