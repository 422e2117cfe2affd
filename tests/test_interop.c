/*
 * test_interop.c — the independent client (tests/interop/interop_client.py,
 * written from docs/protocol.md alone, with its own protobuf encoder) runs
 * its conformance scenario against a real shuangsuid.  If the spec and the
 * server drift apart, this fails.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

static void independent_client_written_from_the_spec_interoperates(void **state)
{
	struct th_server srv;
	char cmd[2048];
	int status;

	assert_int_equal(th_server_start(&srv, NULL), 0);
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/tests/interop/interop_client.py --host 127.0.0.1 --port %d "
		 "--ca %s --cert-dir %s",
		 SS_TEST_SOURCE_DIR, srv.port, th_pki("ca/ca.crt"), th_pki("clients"));
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(th_server_stop(&srv, SIGTERM), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(independent_client_written_from_the_spec_interoperates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
