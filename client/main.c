/*
 * main.c — shuangsui, the terminal client of the 双随机、一公开 (random
 * inspection) platform.
 *
 *   shuangsui [global options] COMMAND [options]
 *
 * It connects to shuangsuid over mutual TLS 1.3, says Hello, sends one
 * request per step and prints the reply as text or, with --json, as one
 * JSON object on stdout.
 *
 * Exit codes (also listed by "shuangsui --help"):
 *   0  success
 *   1  usage error: bad options or arguments
 *   2  configuration or local file error (missing setting, unreadable
 *      certificate or key, out of memory)
 *   3  cannot connect or TLS failure: name resolution, refused or timed-out
 *      connection, certificate rejected by either side, connection lost
 *   4  the server answered with an error (permission denied, bad request, ...)
 *   5  the server answered DATABASE_UNAVAILABLE: nothing was changed; retry later
 *   6  protocol error: unexpected reply or malformed frame
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ss_lang.h"

static const struct cli_command cli_commands[] = {
    {"ping", cmd_ping, N_("check that the server (and its database) answers")},
    {"whoami", cmd_whoami, N_("show the principal your certificate is registered to")},
    {"audit", cmd_audit, N_("read the audit log (audit list)")},
    {"principal", cmd_principal, N_("list principals, enable or disable one")},
    {"entity", cmd_entity, N_("the market-entity directory (市场主体名录)")},
    {"project", cmd_project, N_("the construction-project directory (工程项目名录)")},
    {"inspector", cmd_inspector, N_("the inspector directory and expert pool (执法检查人员名录)")},
    {"item", cmd_item, N_("the random-inspection item list (随机抽查事项清单)")},
    {"conflict", cmd_conflict, N_("declared conflicts of interest (利害关系)")},
    {"calendar", cmd_calendar, N_("working days: add, between, override")},
    {"department", cmd_department, N_("departments (部门): list, set")},
    {"plan", cmd_plan, N_("annual and joint inspection plans (抽查工作计划)")},
    {"task", cmd_task, N_("inspection tasks (抽查任务): put, get, preview")},
    {"targeted", cmd_targeted, N_("record a targeted, non-random inspection (定向检查)")},
    {"stats", cmd_stats, N_("oversight figures (监督指标) per department and period")},
    {"draw", cmd_draw, N_("the witnessed, signed draw of a task (摇号) and its receipt")},
    {"log", cmd_log, N_("the draw log: checkpoint, export for auditors")},
    {"version", cmd_version, N_("show the client's and the server's version")},
};

#define CLI_NCOMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

static void cli_help(void)
{
	size_t i;

	fputs(_("Usage: shuangsui [global options] COMMAND [options]\n"
		"\n"
		"Terminal client of the shuangsui random inspection platform.\n"
		"\n"
		"Commands:\n"),
	      stdout);
	for (i = 0; i < CLI_NCOMMANDS; i++)
		printf("  %-11s %s\n", cli_commands[i].name, _(cli_commands[i].summary));
	printf(_("\nGlobal options:\n"
		 "  --config FILE         configuration file (default: $SHUANGSUI_CONFIG,\n"
		 "                        else $XDG_CONFIG_HOME/shuangsui/client.ini,\n"
		 "                        else ~/.config/shuangsui/client.ini)\n"
		 "  --server HOST[:PORT]  server to connect to (default localhost:7443)\n"
		 "  --ca FILE             CA certificate that signed the server's certificate\n"
		 "  --cert FILE           your client certificate\n"
		 "  --key FILE            your private key\n"
		 "  --json                print one JSON object on stdout, errors included\n"
		 "  --timeout SECONDS     connect and read timeout (default %d)\n"
		 "  -v, --verbose         show connection details and idempotency keys\n"
		 "  -h, --help            show this help\n"
		 "  --version             show the client's version\n"),
	       CLI_DEFAULT_TIMEOUT_S);
	fputs(_("\nConfiguration file (INI):\n"
		"  [server]    host, port, ca\n"
		"  [identity]  cert, key\n"
		"  Relative paths are relative to the file's directory; options override it.\n"),
	      stdout);
	fputs(_("\nExit codes:\n"
		"  0  success\n"
		"  1  usage error (bad options or arguments)\n"
		"  2  configuration or local file error\n"
		"  3  cannot connect, TLS failure or connection lost\n"
		"  4  the server answered with an error (permission denied, bad request, ...)\n"
		"  5  the database is unavailable; nothing was changed, retry later\n"
		"  6  protocol error (unexpected reply, malformed frame)\n"
		"\n"
		"Run \"shuangsui COMMAND --help\" for the options of a command.\n"),
	      stdout);
}

enum {
	OPT_CONFIG = 256,
	OPT_SERVER,
	OPT_CA,
	OPT_CERT,
	OPT_KEY,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_VERSION
};

/* Applies one global option; returns CLI_EXIT_OK or CLI_EXIT_USAGE. */
static int cli_global_option(struct cli *cli, int c)
{
	uint64_t t;

	switch (c) {
	case OPT_CONFIG:
		cli->ov.config = optarg;
		break;
	case OPT_SERVER:
		cli->ov.server = optarg;
		break;
	case OPT_CA:
		cli->ov.ca = optarg;
		break;
	case OPT_CERT:
		cli->ov.cert = optarg;
		break;
	case OPT_KEY:
		cli->ov.key = optarg;
		break;
	case OPT_JSON:
		cli->json = 1;
		break;
	case 'v':
		cli->verbose = 1;
		break;
	case OPT_TIMEOUT:
		if (cli_parse_u64(optarg, 1, 3600, &t) != 0)
			return cli_usage_error(NULL, "%s", _("--timeout must be 1..3600 seconds"));
		cli->timeout_s = (int)t;
		break;
	default:
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/*
 * Parses the global options, stopping at the command name ("+").  Returns
 * CLI_EXIT_OK, CLI_EXIT_USAGE, or -1 when --help or --version was handled.
 */
static int cli_parse_global(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, OPT_CONFIG},
	    {"server", required_argument, NULL, OPT_SERVER},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hv", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_help();
			return -1;
		}
		if (c == OPT_VERSION) {
			printf("shuangsui %s\n", SS_PROGRAM_VERSION);
			return -1;
		}
		if (c == ':' || c == '?')
			return cli_option_error(NULL, c, argv);
		if (cli_global_option(cli, c) != CLI_EXIT_OK)
			return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/* Runs argv[0] as a command; "help CMD" is "CMD --help". */
static int cli_run(struct cli *cli, int argc, char **argv)
{
	char help_opt[] = "--help";
	char *help_argv[3];
	size_t i;

	if (strcmp(argv[0], "help") == 0) {
		if (argc < 2) {
			cli_help();
			return CLI_EXIT_OK;
		}
		help_argv[0] = argv[1];
		help_argv[1] = help_opt;
		help_argv[2] = NULL;
		return cli_run(cli, 2, help_argv);
	}
	for (i = 0; i < CLI_NCOMMANDS; i++)
		if (strcmp(argv[0], cli_commands[i].name) == 0)
			return cli_commands[i].run(cli, argc, argv);
	return cli_usage_error(NULL, _("unknown command \"%s\""), argv[0]);
}

int main(int argc, char **argv)
{
	struct cli cli;
	int exit;

	ss_lang_init();
	/* A server that hangs up mid-write must give an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	memset(&cli, 0, sizeof(cli));
	cli.timeout_s = CLI_DEFAULT_TIMEOUT_S;
	exit = cli_parse_global(&cli, argc, argv);
	if (exit < 0)
		return CLI_EXIT_OK;
	if (exit != CLI_EXIT_OK)
		return exit;
	if (optind >= argc)
		return cli_usage_error(NULL, "%s", _("a command is required"));
	exit = cli_run(&cli, argc - optind, argv + optind);
	cli_config_free(&cli.cfg);
	return exit;
}
