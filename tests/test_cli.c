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
	return th_server_stop(&srv, SIGTERM) == 0 ? 0 : -1;
}

/*
 * Runs "shuangsui ARGS" as principal id with the given LANG, capturing
 * stdout and stderr together into out.  Returns the exit status.
 */
static int cli(const char *id, const char *lang, const char *args, char *out, size_t cap)
{
	char ini[512], cmd[2048];
	FILE *f, *p;
	size_t n;
	int status;

	snprintf(ini, sizeof(ini), "%s/client-%s.ini", srv.dir, id);
	f = fopen(ini, "w");
	assert_non_null(f);
	fprintf(f, "[server]\nhost = localhost\nport = %d\nca = %s\n[identity]\ncert = %s\nkey = %s\n",
		srv.port, th_pki("ca/ca.crt"), th_client_cert(id), th_client_key(id));
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "env -u LANGUAGE -u LC_ALL -u LC_MESSAGES LANG=%s SHUANGSUI_CONFIG=%s %s %s 2>&1",
		 lang, ini, SS_TEST_SHUANGSUI_PATH, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whoami_prints_the_office_and_exits_zero),
		cmocka_unit_test(refusal_is_exit_4_in_english),
		cmocka_unit_test(refusal_is_explained_in_chinese_under_zh_cn),
		cmocka_unit_test(usage_error_is_exit_1_and_bad_reason_never_reaches_the_server),
		cmocka_unit_test(json_output_is_machine_readable),
		cmocka_unit_test(unreachable_server_is_exit_3),
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
