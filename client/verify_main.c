/*
 * verify_main.c — shuangsui-verify, the offline auditor's tool.
 *
 * An auditor (审计人员) will use it to check, without trusting the server,
 * signed draw receipts (抽取结果回执), the append-only log and its
 * consistency proofs.  Those commands arrive together with the randomness
 * service that produces what they check; until then this program has only
 * "version", and it claims to verify nothing.
 *
 * Exit codes: 0 success; 1 usage error.
 */
#include <getopt.h>
#include <libintl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ss_lang.h"
#include "wire.h"

#define _(s) gettext(s)
#define N_(s) (s)

enum { VERIFY_EXIT_OK = 0, VERIFY_EXIT_USAGE = 1 };

struct verify_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* translated at use */
};

static int verify_version(int argc, char **argv);

static const struct verify_command verify_commands[] = {
    {"version", verify_version, N_("show the version of this tool")},
};

#define VERIFY_NCOMMANDS (sizeof(verify_commands) / sizeof(verify_commands[0]))

static void verify_help(void)
{
	size_t i;

	fputs(_("Usage: shuangsui-verify [options] COMMAND [options]\n"
		"\n"
		"Offline verification for auditors: works on files, never contacts the server.\n"
		"\n"
		"Commands:\n"),
	      stdout);
	for (i = 0; i < VERIFY_NCOMMANDS; i++)
		printf("  %-11s %s\n", verify_commands[i].name, _(verify_commands[i].summary));
	fputs(_("\nThe commands that verify signed draw receipts, the audit log and its\n"
		"consistency are added together with the randomness service.  This version\n"
		"verifies nothing yet.\n"
		"\n"
		"Options:\n"
		"  -h, --help     show this help\n"
		"  --version      show the version\n"
		"\n"
		"Exit codes: 0 success, 1 usage error.\n"),
	      stdout);
}

static int verify_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int verify_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("shuangsui-verify: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(_("Try \"shuangsui-verify --help\".\n"), stderr);
	return VERIFY_EXIT_USAGE;
}

static int verify_version(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(_("Usage: shuangsui-verify version\n"
			"\n"
			"Prints the version of this tool and the protocol version it reads.\n"),
		      stdout);
		return VERIFY_EXIT_OK;
	}
	if (argc > 1)
		return verify_usage_error(_("unexpected argument \"%s\""), argv[1]);
	printf(_("shuangsui-verify %s (protocol %u)\n"), SS_PROGRAM_VERSION, SS_PROTOCOL_VERSION);
	return VERIFY_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	size_t i;
	int c;

	ss_lang_init();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			verify_help();
			return VERIFY_EXIT_OK;
		}
		if (c == 'V') {
			printf("shuangsui-verify %s\n", SS_PROGRAM_VERSION);
			return VERIFY_EXIT_OK;
		}
		return verify_usage_error(_("unknown option %s"), argv[optind - 1]);
	}
	if (optind >= argc)
		return verify_usage_error("%s", _("a command is required"));
	for (i = 0; i < VERIFY_NCOMMANDS; i++)
		if (strcmp(argv[optind], verify_commands[i].name) == 0)
			return verify_commands[i].run(argc - optind, argv + optind);
	return verify_usage_error(_("unknown command \"%s\""), argv[optind]);
}
