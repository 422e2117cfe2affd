/*
 * cmd_audit.c — "audit list": reading the audit log (操作留痕), page by page.
 */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_output.h"
#include "ss_error.h"

struct audit_list_args {
	uint64_t after;
	uint64_t limit; /* 0: the server's default page size */
	int all;
};

/* What is collected over the pages: a table for people, an array for --json. */
struct audit_list_out {
	struct cli_table *table;
	struct json_object *events;
	uint64_t next_after_id;
	uint64_t count;
};

static void audit_list_help(void)
{
	fputs(_("Usage: shuangsui audit list [--after ID] [--limit N] [--all]\n"
		"\n"
		"Lists audit log events in ascending id: who did what, when, with\n"
		"what outcome and for what reason.\n"
		"\n"
		"Options:\n"
		"  --after ID    start after event ID (default 0: from the beginning)\n"
		"  --limit N     events per page, 1..1000 (default: the server's, 100)\n"
		"  --all         follow the pages to the end of the log\n"
		"  -h, --help    show this help\n"),
	      stdout);
}

static int audit_list_parse(int argc, char **argv, struct audit_list_args *a, int *help)
{
	static const struct option opts[] = {
	    {"after", required_argument, NULL, 'a'},
	    {"limit", required_argument, NULL, 'l'},
	    {"all", no_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (cli_parse_u64(optarg, 0, UINT64_MAX, &a->after) != 0)
				return cli_usage_error("audit list", "%s",
						       _("--after needs an event id (a number)"));
			break;
		case 'l':
			if (cli_parse_u64(optarg, 1, 1000, &a->limit) != 0)
				return cli_usage_error("audit list", "%s",
						       _("--limit must be 1..1000"));
			break;
		case 'A':
			a->all = 1;
			break;
		case 'h':
			*help = 1;
			return CLI_EXIT_OK;
		default:
			return cli_option_error("audit list", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("audit list", _("unexpected argument \"%s\""), argv[optind]);
	return CLI_EXIT_OK;
}

static struct json_object *audit_event_json(const Shuangsui__V1__AuditEvent *e, const char *when)
{
	struct json_object *o = json_object_new_object();
	struct json_object *detail = NULL;

	json_object_object_add(o, "id", json_object_new_uint64(e->id));
	json_object_object_add(o, "at_unix_ms", json_object_new_int64(e->at_unix_ms));
	json_object_object_add(o, "at", cli_json_str(when));
	json_object_object_add(o, "actor", cli_json_str(e->actor));
	json_object_object_add(o, "operation", cli_json_str(e->operation));
	json_object_object_add(o, "outcome", cli_json_str(e->outcome));
	json_object_object_add(o, "reason", cli_json_str(e->reason));
	json_object_object_add(o, "request_sha256", cli_json_str(e->request_sha256));
	/* detail is JSON text; embed it as JSON when it parses, else as a string. */
	if (e->detail != NULL && e->detail[0] != '\0')
		detail = json_tokener_parse(e->detail);
	json_object_object_add(o, "detail", detail != NULL ? detail : cli_json_str(e->detail));
	return o;
}

static int audit_list_add(struct cli *cli, struct audit_list_out *out,
			  const Shuangsui__V1__AuditListReply *r)
{
	char id[24];
	char when[48];
	size_t i;

	for (i = 0; i < r->n_events; i++) {
		const Shuangsui__V1__AuditEvent *e = r->events[i];
		const char *row[] = {id, when, e->actor, e->operation, e->outcome, e->reason};

		snprintf(id, sizeof(id), "%" PRIu64, e->id);
		cli_time_local(e->at_unix_ms, 0, when, sizeof(when));
		if (cli->json)
			json_object_array_add(out->events, audit_event_json(e, when));
		else if (cli_table_add(out->table, row) != 0)
			return SS_ERR_NOMEM;
		out->count++;
	}
	return 0;
}

/* Fetches one page after *after; advances *after, or sets it to 0 at the end. */
static int audit_list_page(struct cli *cli, struct cli_session *s, uint64_t *after, uint32_t limit,
			   struct audit_list_out *out)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__AuditListRequest req = SHUANGSUI__V1__AUDIT_LIST_REQUEST__INIT;
	SsEnvelope *reply = NULL;
	const Shuangsui__V1__AuditListReply *r;
	int exit;

	req.after_id = *after;
	req.limit = limit;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_AUDIT_LIST;
	env.audit_list = &req;
	exit = cli_call(cli, s, &env, SHUANGSUI__V1__ENVELOPE__BODY_AUDIT_LIST_REPLY, &reply);
	if (exit != CLI_EXIT_OK)
		return exit;
	r = reply->audit_list_reply;
	/* The next page must start further on, or --all would never end. */
	if (r->next_after_id != 0 && r->next_after_id <= *after) {
		exit = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL",
				_("the server's next page (after %llu) does not advance past %llu"),
				(unsigned long long)r->next_after_id, (unsigned long long)*after);
	} else if (audit_list_add(cli, out, r) != 0) {
		exit = cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s", _("out of memory"));
	} else {
		out->next_after_id = r->next_after_id;
		*after = r->next_after_id;
	}
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return exit;
}

static void audit_list_show(struct cli *cli, const struct audit_list_out *out, int all)
{
	struct json_object *o;

	if (cli->json) {
		o = json_object_new_object();
		json_object_object_add(o, "events", json_object_get(out->events));
		json_object_object_add(o, "next_after_id",
				       json_object_new_uint64(out->next_after_id));
		cli_json_emit(o);
		return;
	}
	if (out->count == 0)
		printf("%s\n", _("no audit events"));
	else
		cli_table_print(out->table);
	if (!all && out->next_after_id != 0)
		fprintf(stderr, _("more events follow: use --after %llu or --all\n"),
			(unsigned long long)out->next_after_id);
}

static int audit_list(struct cli *cli, int argc, char **argv)
{
	const char *headings[] = {_("ID"),	  _("TIME"),	_("ACTOR"),
				  _("OPERATION"), _("OUTCOME"), _("REASON")};
	struct audit_list_args a;
	struct audit_list_out out = {NULL, NULL, 0, 0};
	struct cli_session *s = NULL;
	uint64_t after;
	int help = 0;
	int exit = audit_list_parse(argc, argv, &a, &help);

	if (exit != CLI_EXIT_OK || help) {
		if (help)
			audit_list_help();
		return exit;
	}
	out.table = cli_table_new(6, headings);
	out.events = json_object_new_array();
	if (out.table == NULL || out.events == NULL) {
		exit = cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s", _("out of memory"));
		goto out;
	}
	exit = cli_connect(cli, &s);
	after = a.after;
	do {
		if (exit == CLI_EXIT_OK)
			exit = audit_list_page(cli, s, &after, (uint32_t)a.limit, &out);
	} while (exit == CLI_EXIT_OK && a.all && after != 0);
	if (exit == CLI_EXIT_OK)
		audit_list_show(cli, &out, a.all);
out:
	cli_table_free(out.table);
	json_object_put(out.events);
	cli_session_free(s);
	return exit;
}

static const struct cli_command audit_commands[] = {
    {"list", audit_list, N_("list audit log events")},
};

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "audit", audit_commands,
			    sizeof(audit_commands) / sizeof(audit_commands[0]), argc, argv);
}
