/*
 * cmd_principal.c — "principal list" and "principal set-status": the
 * accounts (用户) that certificates are registered to.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_output.h"
#include "ss_error.h"
#include "validate.h"

/* 16 random bytes as 32 hex digits, as the brief for idempotency keys asks. */
#define PRINCIPAL_KEY_BYTES 16
#define PRINCIPAL_KEY_MAX 128

/* Table: the fingerprint is shortened; --json carries all 64 digits. */
#define PRINCIPAL_FP_SHOWN 16

static struct json_object *principal_record_json(const Shuangsui__V1__PrincipalRecord *r)
{
	struct json_object *o = json_object_new_object();
	const Shuangsui__V1__Principal *p = r->principal;

	json_object_object_add(o, "principal_id", cli_json_str(p ? p->principal_id : NULL));
	json_object_object_add(o, "office", cli_json_str(p ? p->office : NULL));
	json_object_object_add(o, "role", cli_json_str(p ? p->role : NULL));
	json_object_object_add(o, "jurisdiction", cli_json_str(p ? p->jurisdiction : NULL));
	json_object_object_add(o, "fingerprint", cli_json_str(p ? p->fingerprint : NULL));
	json_object_object_add(o, "status", cli_json_str(r->status));
	json_object_object_add(o, "version", json_object_new_int64(r->version));
	return o;
}

static int principal_table_add(struct cli_table *t, const Shuangsui__V1__PrincipalRecord *r)
{
	static const Shuangsui__V1__Principal none = SHUANGSUI__V1__PRINCIPAL__INIT;
	const Shuangsui__V1__Principal *p = r->principal ? r->principal : &none;
	char version[16];
	char fp[PRINCIPAL_FP_SHOWN + 1];
	const char *row[] = {p->principal_id, p->role, p->jurisdiction, r->status,
			     version,	      fp,      p->office};

	snprintf(version, sizeof(version), "%u", r->version);
	snprintf(fp, sizeof(fp), "%s", p->fingerprint ? p->fingerprint : "");
	return cli_table_add(t, row);
}

static int principal_list_show(struct cli *cli, const Shuangsui__V1__PrincipalListReply *r)
{
	const char *headings[] = {_("PRINCIPAL"), _("ROLE"),	    _("JURISDICTION"), _("STATUS"),
				  _("VERSION"),	  _("FINGERPRINT"), _("OFFICE")};
	struct json_object *o;
	struct json_object *arr;
	struct cli_table *t;
	size_t i;

	if (cli->json) {
		o = json_object_new_object();
		arr = json_object_new_array();
		for (i = 0; i < r->n_principals; i++)
			json_object_array_add(arr, principal_record_json(r->principals[i]));
		json_object_object_add(o, "principals", arr);
		cli_json_emit(o);
		return CLI_EXIT_OK;
	}
	t = cli_table_new(7, headings);
	for (i = 0; t != NULL && i < r->n_principals; i++) {
		if (principal_table_add(t, r->principals[i]) != 0) {
			cli_table_free(t);
			t = NULL;
		}
	}
	if (t == NULL)
		return cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s", _("out of memory"));
	cli_table_print(t);
	cli_table_free(t);
	return CLI_EXIT_OK;
}

static int principal_list(struct cli *cli, int argc, char **argv)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PrincipalListRequest req = SHUANGSUI__V1__PRINCIPAL_LIST_REQUEST__INIT;
	struct cli_session *s = NULL;
	SsEnvelope *reply = NULL;
	int help = 0;
	int exit = cli_parse_no_options("principal list", argc, argv, &help);

	if (exit != CLI_EXIT_OK || help) {
		if (help)
			fputs(_("Usage: shuangsui principal list\n"
				"\n"
				"Lists the principals (accounts that certificates are registered "
				"to)\n"
				"with role, jurisdiction, status and version.\n"),
			      stdout);
		return exit;
	}
	exit = cli_connect(cli, &s);
	if (exit != CLI_EXIT_OK)
		return exit;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_LIST;
	env.principal_list = &req;
	exit = cli_call(cli, s, &env, SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_LIST_REPLY, &reply);
	if (exit == CLI_EXIT_OK)
		exit = principal_list_show(cli, reply->principal_list_reply);
	if (reply != NULL)
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	cli_session_free(s);
	return exit;
}

struct set_status_args {
	const char *principal_id;
	const char *status;
	const char *reason;
	char key[PRINCIPAL_KEY_MAX + 1];
};

static void set_status_help(void)
{
	fputs(_("Usage: shuangsui principal set-status PRINCIPAL_ID active|disabled --reason TEXT\n"
		"                                      [--idempotency-key KEY]\n"
		"\n"
		"Enables or disables a principal (administrators only).  The change is\n"
		"audited with the reason given.\n"
		"\n"
		"Options:\n"
		"  --reason TEXT            why (required, 2..500 characters)\n"
		"  --idempotency-key KEY    retry key; a request repeated with the same key\n"
		"                           is carried out at most once (default: a new\n"
		"                           random key, shown with --verbose and --json)\n"
		"  -h, --help               show this help\n"),
	      stdout);
}

static int set_status_options(int argc, char **argv, struct set_status_args *a, int *help)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"idempotency-key", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *cmd = "principal set-status";
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'r') {
			a->reason = optarg;
		} else if (c == 'k') {
			if (ss_validate_idempotency_key(optarg) != 0)
				return cli_usage_error(cmd, "%s",
						       _("--idempotency-key must be 1..128 "
							 "printable ASCII characters"));
			snprintf(a->key, sizeof(a->key), "%s", optarg);
		} else if (c == 'h') {
			*help = 1;
			return CLI_EXIT_OK;
		} else {
			return cli_option_error(cmd, c, argv);
		}
	}
	return CLI_EXIT_OK;
}

static int set_status_parse(int argc, char **argv, struct set_status_args *a, int *help)
{
	const char *cmd = "principal set-status";
	int exit;

	memset(a, 0, sizeof(*a));
	exit = set_status_options(argc, argv, a, help);
	if (exit != CLI_EXIT_OK || *help)
		return exit;
	if (argc - optind != 2)
		return cli_usage_error(cmd, "%s",
				       _("expected PRINCIPAL_ID and active or disabled"));
	a->principal_id = argv[optind];
	a->status = argv[optind + 1];
	if (strcmp(a->status, "active") != 0 && strcmp(a->status, "disabled") != 0)
		return cli_usage_error(
		    cmd, _("status must be \"active\" or \"disabled\", not \"%s\""), a->status);
	/* Every change must say why (全过程留痕); the server checks the length. */
	if (a->reason == NULL || a->reason[0] == '\0')
		return cli_usage_error(cmd, "%s", _("--reason TEXT is required"));
	return CLI_EXIT_OK;
}

/* Fills a->key with 32 random hex digits unless the user gave one. */
static int set_status_new_key(struct cli *cli, struct set_status_args *a)
{
	unsigned char raw[PRINCIPAL_KEY_BYTES];

	if (a->key[0] != '\0')
		return CLI_EXIT_OK;
	if (sodium_init() < 0)
		return cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s",
				_("cannot initialise the random number generator"));
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(a->key, sizeof(a->key), raw, sizeof(raw));
	return CLI_EXIT_OK;
}

static void set_status_show(struct cli *cli, const struct set_status_args *a,
			    const Shuangsui__V1__PrincipalRecord *r)
{
	struct json_object *o;

	if (cli->json) {
		o = json_object_new_object();
		json_object_object_add(o, "principal", principal_record_json(r));
		json_object_object_add(o, "idempotency_key", cli_json_str(a->key));
		cli_json_emit(o);
		return;
	}
	printf(_("principal %s is now %s (version %u)\n"),
	       r->principal && r->principal->principal_id[0] ? r->principal->principal_id
							     : a->principal_id,
	       r->status, r->version);
}

/* Quotes key for a shell when it holds anything but [A-Za-z0-9._-]. */
static const char *set_status_quoted(const char *key, char *buf, size_t len)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789._-";

	if (strspn(key, safe) == strlen(key) || strchr(key, '\'') != NULL)
		return key;
	snprintf(buf, len, "'%s'", key);
	return buf;
}

static int set_status_send(struct cli *cli, struct cli_session *s, struct set_status_args *a)
{
	char quoted[PRINCIPAL_KEY_MAX + 3];
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PrincipalSetStatusRequest req =
	    SHUANGSUI__V1__PRINCIPAL_SET_STATUS_REQUEST__INIT;
	SsEnvelope *reply = NULL;
	int exit;

	req.principal_id = (char *)a->principal_id;
	req.status = (char *)a->status;
	req.reason = (char *)a->reason;
	env.idempotency_key = a->key;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS;
	env.principal_set_status = &req;
	exit = cli_call(cli, s, &env, SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS_REPLY,
			&reply);
	if (exit == CLI_EXIT_OK && reply->principal_set_status_reply->principal == NULL)
		exit = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
				_("the server's reply names no principal"));
	else if (exit == CLI_EXIT_OK)
		set_status_show(cli, a, reply->principal_set_status_reply->principal);
	/* The request left, the answer did not come back: it may have been applied. */
	if (exit == CLI_EXIT_CONNECT || exit == CLI_EXIT_PROTOCOL)
		fprintf(stderr,
			_("shuangsui: the change may or may not have been made; to retry safely, "
			  "repeat the command with --idempotency-key %s\n"),
			set_status_quoted(a->key, quoted, sizeof(quoted)));
	if (reply != NULL)
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return exit;
}

static int principal_set_status(struct cli *cli, int argc, char **argv)
{
	struct set_status_args a;
	struct cli_session *s = NULL;
	int help = 0;
	int exit = set_status_parse(argc, argv, &a, &help);

	if (exit != CLI_EXIT_OK || help) {
		if (help)
			set_status_help();
		return exit;
	}
	exit = set_status_new_key(cli, &a);
	if (exit != CLI_EXIT_OK)
		return exit;
	if (cli->verbose)
		fprintf(stderr, _("idempotency key: %s\n"), a.key);
	exit = cli_connect(cli, &s);
	if (exit == CLI_EXIT_OK)
		exit = set_status_send(cli, s, &a);
	cli_session_free(s);
	return exit;
}

static const struct cli_command principal_commands[] = {
    {"list", principal_list, N_("list principals")},
    {"set-status", principal_set_status, N_("enable or disable a principal")},
};

int cmd_principal(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "principal", principal_commands,
			    sizeof(principal_commands) / sizeof(principal_commands[0]), argc, argv);
}
