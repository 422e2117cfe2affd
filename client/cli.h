/*
 * cli.h — what the commands of the shuangsui client share: the exit codes,
 * the global options, the connection helper and error reporting.
 */
#ifndef CLI_H
#define CLI_H

#include <libintl.h>
#include <stddef.h>
#include <stdint.h>

#include "cli_config.h"
#include "cli_session.h"
#include "wire.h"

#define _(s) gettext(s)
/* Marks a string for translation where it is declared; translated at use. */
#define N_(s) (s)

/* Exit codes; main.c and "shuangsui --help" document the same list. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_USAGE = 1,    /* bad options or arguments */
	CLI_EXIT_CONFIG = 2,   /* configuration or local file error */
	CLI_EXIT_CONNECT = 3,  /* cannot connect, TLS failure, connection lost, timeout */
	CLI_EXIT_SERVER = 4,   /* the server answered with an error */
	CLI_EXIT_DATABASE = 5, /* the server answered DATABASE_UNAVAILABLE; retry later */
	CLI_EXIT_PROTOCOL = 6, /* unexpected reply or malformed frame */
};

#define CLI_DEFAULT_TIMEOUT_S 30

/* Global options and state, set up by main before a command runs. */
struct cli {
	struct cli_overrides ov;
	int json;		  /* --json: one JSON object on stdout */
	int verbose;		  /* --verbose: extra detail on stderr */
	int timeout_s;		  /* --timeout */
	const char *server_label; /* "host:port", valid while a session is open */
	struct cli_config cfg;
	int cfg_loaded;
	int quiet; /* report failures only into last_error (for "version") */
	char last_error[1024];
	const char *last_code;
};

/* A command or sub-command: name, entry point, one-line summary (untranslated). */
struct cli_command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;
};

/*
 * Loads the configuration, connects and says Hello.  Returns CLI_EXIT_OK
 * with *s set (the caller frees it with cli_session_free), or reports the
 * failure (stderr, and stdout with --json) and returns its exit code with
 * *s NULL.
 */
int cli_connect(struct cli *cli, struct cli_session **s);

/*
 * Sends req and checks that the reply's body is `expect`.  Returns
 * CLI_EXIT_OK with *reply set (free with
 * shuangsui__v1__envelope__free_unpacked), or reports the failure — a
 * server Error in the user's language, a lost connection, an unexpected
 * reply — and returns its exit code with *reply NULL.
 */
int cli_call(struct cli *cli, struct cli_session *s, SsEnvelope *req,
	     Shuangsui__V1__Envelope__BodyCase expect, SsEnvelope **reply);

/* cli_connect, one cli_call, and the session closed: for commands of one request. */
int cli_call_once(struct cli *cli, SsEnvelope *req, Shuangsui__V1__Envelope__BodyCase expect,
		  SsEnvelope **reply);

/* A fresh random idempotency key (32 hex digits). */
void cli_new_key(char key[33]);

/* Reports a session failure (rc from cli_session_*) and returns the exit code. */
int cli_report_session(struct cli *cli, const struct cli_session *s, int rc);

/* Reports an Error from the server and returns CLI_EXIT_SERVER or CLI_EXIT_DATABASE. */
int cli_report_server_error(struct cli *cli, const Shuangsui__V1__Error *e);

/*
 * Prints "shuangsui: message" on stderr and, with --json, an error object
 * with the given code on stdout; with cli->quiet only records it in
 * cli->last_error and cli->last_code.  Returns exit.
 */
int cli_fail(struct cli *cli, int exit, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prints "shuangsui CMD: message" and a hint to use --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Reports a getopt_long failure (c is ':' or '?') for command cmd and
 * returns CLI_EXIT_USAGE.  Option strings start with ':' so that a missing
 * argument is told apart from an unknown option.
 */
int cli_option_error(const char *cmd, int c, char **argv);

/*
 * Parses the options of a command that takes none but --help.  Returns
 * the exit code; *help is set when the help was asked for.
 */
int cli_parse_no_options(const char *cmd, int argc, char **argv, int *help);

/* Parses a decimal number in min..max; returns 0 or -1. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Runs the sub-command named argv[0] from table (n entries) with argc/argv
 * starting at that name.  group is the parent's name for messages and
 * help.  Returns the command's exit code.
 */
int cli_dispatch(struct cli *cli, const char *group, const struct cli_command *table, size_t n,
		 int argc, char **argv);

/* Reads the draw log's public key: the key string, or a file whose first line it is.
 * 0, SS_ERR_IO or SS_ERR_CONFIG. */
int cli_log_key(const char *arg, uint8_t pk[32]);
/* The draw log's key this client holds now: [log] key, or the key it adopted
 * by following a logged rotation (kept beside its checkpoint). */
int cli_log_current_key(struct cli *cli, uint8_t pk[32]);

/* Commands (cmd_*.c).  argv[0] is the command's name; each accepts --help. */
int cmd_ping(struct cli *cli, int argc, char **argv);
int cmd_whoami(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_principal(struct cli *cli, int argc, char **argv);
int cmd_entity(struct cli *cli, int argc, char **argv);
int cmd_project(struct cli *cli, int argc, char **argv);
int cmd_department(struct cli *cli, int argc, char **argv);
int cmd_plan(struct cli *cli, int argc, char **argv);
int cmd_task(struct cli *cli, int argc, char **argv);
int cmd_targeted(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_draw(struct cli *cli, int argc, char **argv);
int cmd_log(struct cli *cli, int argc, char **argv);
int cmd_inspector(struct cli *cli, int argc, char **argv);
int cmd_item(struct cli *cli, int argc, char **argv);
int cmd_conflict(struct cli *cli, int argc, char **argv);
int cmd_calendar(struct cli *cli, int argc, char **argv);

#endif
