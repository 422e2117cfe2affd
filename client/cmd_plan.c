/*
 * cmd_plan.c — "department", "plan", "task", "targeted" and "stats":
 * departments, annual and joint plans through the legal office, tasks and
 * their previews, targeted inspections, and the oversight figures
 * (issue 4; the documents are specified in docs/plans.md).
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_output.h"
#include "ss_error.h"
#include "table_writer.h"

/* The options the commands of this file take; each command says which it needs. */
struct plan_opts {
	const char *reason, *key, *department, *part, *items, *name, *jurisdiction, *parent;
	const char *kind, *status, *directory, *object, *on, *from, *to, *output;
	uint64_t version, year;
	int amend, help;
	char keybuf[33];
	int argc;
	char **argv; /* the positional arguments */
};

enum {
	O_REASON = 256, O_KEY, O_VERSION, O_AMEND, O_DEPARTMENT, O_PART, O_ITEMS, O_YEAR, O_NAME,
	O_JURISDICTION, O_PARENT, O_KIND, O_STATUS, O_DIRECTORY, O_OBJECT, O_ON, O_FROM, O_TO
};

static int plan_parse(const char *cmd, int argc, char **argv, struct plan_opts *o)
{
	static const struct option longopts[] = {
		{"reason", required_argument, NULL, O_REASON},
		{"idempotency-key", required_argument, NULL, O_KEY},
		{"version", required_argument, NULL, O_VERSION},
		{"amend", no_argument, NULL, O_AMEND},
		{"department", required_argument, NULL, O_DEPARTMENT},
		{"part", required_argument, NULL, O_PART},
		{"items", required_argument, NULL, O_ITEMS},
		{"year", required_argument, NULL, O_YEAR},
		{"name", required_argument, NULL, O_NAME},
		{"jurisdiction", required_argument, NULL, O_JURISDICTION},
		{"parent", required_argument, NULL, O_PARENT},
		{"kind", required_argument, NULL, O_KIND},
		{"status", required_argument, NULL, O_STATUS},
		{"directory", required_argument, NULL, O_DIRECTORY},
		{"object", required_argument, NULL, O_OBJECT},
		{"on", required_argument, NULL, O_ON},
		{"from", required_argument, NULL, O_FROM},
		{"to", required_argument, NULL, O_TO},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		switch (c) {
		case O_REASON: o->reason = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_VERSION:
			if (cli_parse_u64(optarg, 1, 1000000, &o->version) != 0)
				return cli_usage_error(cmd, "%s", _("--version must be a version number"));
			break;
		case O_YEAR:
			if (cli_parse_u64(optarg, 2000, 2100, &o->year) != 0)
				return cli_usage_error(cmd, "%s", _("--year must be 2000..2100"));
			break;
		case O_AMEND: o->amend = 1; break;
		case O_DEPARTMENT: o->department = optarg; break;
		case O_PART: o->part = optarg; break;
		case O_ITEMS: o->items = optarg; break;
		case O_NAME: o->name = optarg; break;
		case O_JURISDICTION: o->jurisdiction = optarg; break;
		case O_PARENT: o->parent = optarg; break;
		case O_KIND: o->kind = optarg; break;
		case O_STATUS: o->status = optarg; break;
		case O_DIRECTORY: o->directory = optarg; break;
		case O_OBJECT: o->object = optarg; break;
		case O_ON: o->on = optarg; break;
		case O_FROM: o->from = optarg; break;
		case O_TO: o->to = optarg; break;
		case 'o': o->output = optarg; break;
		case 'h': o->help = 1; break;
		default: return cli_option_error(cmd, c, argv);
		}
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	if (o->key == NULL) {
		cli_new_key(o->keybuf);
		o->key = o->keybuf;
	}
	return CLI_EXIT_OK;
}

/* Reads a whole file (a plan or task document) into a NUL-terminated buffer. */
static char *plan_read_file(struct cli *cli, const char *path, int *rc)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	*rc = CLI_EXIT_OK;
	if (f == NULL) {
		*rc = cli_fail(cli, CLI_EXIT_CONFIG, "IO", _("cannot open %s: %s"), path,
			       strerror(errno));
		return NULL;
	}
	do {
		if (len + 4096 + 1 > cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (p == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0 && len < 4 * 1024 * 1024);
	if (buf == NULL || ferror(f) || len >= 4 * 1024 * 1024) {
		*rc = cli_fail(cli, CLI_EXIT_CONFIG, "IO", _("cannot read %s (or it is over 4 MiB)"),
			       path);
		free(buf);
		buf = NULL;
	} else {
		buf[len] = '\0';
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

/* Splits "A,B,C" into a malloc'ed array (the strings point into a strdup'ed copy). */
static char **plan_split(const char *list, size_t *n, char **copy)
{
	char **out, *tok, *save = NULL;
	size_t cap = 8;

	*n = 0;
	*copy = strdup(list ? list : "");
	out = malloc(cap * sizeof(*out));
	if (*copy == NULL || out == NULL) {
		free(out);
		return NULL;
	}
	for (tok = strtok_r(*copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == cap) {
			char **p = realloc(out, (cap *= 2) * sizeof(*out));

			if (p == NULL) {
				free(out);
				return NULL;
			}
			out = p;
		}
		out[(*n)++] = tok;
	}
	return out;
}

/* Prints a JSON view (PlanGet, TaskGet) pretty, or raw with --json. */
static void plan_print_document(struct cli *cli, const char *doc)
{
	json_object *j = json_tokener_parse(doc);

	if (j == NULL || cli->json) {
		printf("%s\n", doc);
	} else {
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(j);
}

/* ---- department ---- */

static int department_help(void)
{
	fputs(_("Usage: shuangsui department COMMAND\n"
		"\n"
		"  list\n"
		"  set CODE --name NAME --jurisdiction CODE [--parent CODE] [--kind KIND]\n"
		"      [--status active|retired] --reason TEXT     (administrators)\n"
		"\n"
		"KIND is housing, market_supervision or other.  A principal acts for the\n"
		"department whose name equals the office (O=) in its certificate.\n"),
	      stdout);
	return CLI_EXIT_OK;
}

int cmd_department(struct cli *cli, int argc, char **argv)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	struct plan_opts o;
	int rc;
	size_t i;

	if (argc < 2)
		return cli_usage_error("department", "%s", _("see shuangsui department --help"));
	rc = plan_parse("department", argc - 1, argv + 1, &o);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o.help || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return department_help();
	if (strcmp(argv[1], "list") == 0 && o.argc == 0) {
		Shuangsui__V1__DepartmentList l = SHUANGSUI__V1__DEPARTMENT_LIST__INIT;

		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DEPARTMENT_LIST;
		env.department_list = &l;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DEPARTMENT_LIST_REPLY, &reply);
		if (rc != CLI_EXIT_OK)
			return rc;
		if (cli->json) {
			json_object *arr = json_object_new_array();

			for (i = 0; i < reply->department_list_reply->n_departments; i++) {
				const Shuangsui__V1__Department *d =
					reply->department_list_reply->departments[i];
				json_object *j = json_object_new_object();

				json_object_object_add(j, "code", cli_json_str(d->code));
				json_object_object_add(j, "name", cli_json_str(d->name));
				json_object_object_add(j, "jurisdiction", cli_json_str(d->jurisdiction));
				json_object_object_add(j, "parent_code", cli_json_str(d->parent_code));
				json_object_object_add(j, "kind", cli_json_str(d->kind));
				json_object_object_add(j, "status", cli_json_str(d->status));
				json_object_object_add(j, "version", json_object_new_int64(d->version));
				json_object_array_add(arr, j);
			}
			cli_json_emit(arr);
		} else {
			const char *head[] = {_("code"), _("name"), _("jurisdiction"), _("parent"),
					      _("kind"), _("status")};
			struct cli_table *t = cli_table_new(6, head);

			for (i = 0; t && i < reply->department_list_reply->n_departments; i++) {
				const Shuangsui__V1__Department *d =
					reply->department_list_reply->departments[i];
				const char *cells[] = {d->code, d->name, d->jurisdiction,
						       d->parent_code, d->kind, d->status};

				cli_table_add(t, cells);
			}
			if (t)
				cli_table_print(t);
			cli_table_free(t);
		}
	} else if (strcmp(argv[1], "set") == 0 && o.argc == 1) {
		Shuangsui__V1__DepartmentPut p = SHUANGSUI__V1__DEPARTMENT_PUT__INIT;
		Shuangsui__V1__Department d = SHUANGSUI__V1__DEPARTMENT__INIT;

		if (o.name == NULL || o.jurisdiction == NULL || o.reason == NULL)
			return cli_usage_error("department set", "%s",
					       _("--name, --jurisdiction and --reason are required"));
		d.code = o.argv[0];
		d.name = (char *)o.name;
		d.jurisdiction = (char *)o.jurisdiction;
		d.parent_code = (char *)(o.parent ? o.parent : "");
		d.kind = (char *)(o.kind ? o.kind : "housing");
		d.status = (char *)(o.status ? o.status : "active");
		p.department = &d;
		p.reason = (char *)o.reason;
		env.idempotency_key = (char *)o.key;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DEPARTMENT_PUT;
		env.department_put = &p;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DEPARTMENT_PUT_REPLY, &reply);
		if (rc != CLI_EXIT_OK)
			return rc;
		if (cli->json) {
			json_object *j = json_object_new_object();

			json_object_object_add(j, "code", cli_json_str(d.code));
			json_object_object_add(j, "version",
					       json_object_new_int64(reply->department_put_reply->version));
			cli_json_emit(j);
		} else {
			printf(_("department %s: version %u\n"), d.code,
			       (unsigned)reply->department_put_reply->version);
		}
	} else {
		return cli_usage_error("department", "%s", _("see shuangsui department --help"));
	}
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
}

/* ---- plan ---- */

static int plan_help(void)
{
	fputs(_("Usage: shuangsui plan COMMAND\n"
		"\n"
		"  put PLAN FILE --reason TEXT [--amend]   create a plan or change its draft from\n"
		"                                          a JSON document (docs/plans.md); --amend\n"
		"                                          asks to change the published plan\n"
		"  confirm PLAN --version N --department CODE --part TEXT --items A,B --reason TEXT\n"
		"                                          a participant confirms its part of a joint plan\n"
		"  submit|approve|return|publish PLAN --version N --reason TEXT\n"
		"  get PLAN                                every version, its states and sign-offs\n"
		"  list [--year Y] [--department CODE]\n"
		"\n"
		"Lifecycle: draft -> submitted -> approved (legal office) -> published.\n"),
	      stdout);
	return CLI_EXIT_OK;
}

static void plan_print_state(struct cli *cli, const char *plan, uint32_t version, const char *state)
{
	if (cli->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "plan_id", cli_json_str(plan));
		json_object_object_add(j, "version", json_object_new_int64(version));
		json_object_object_add(j, "state", cli_json_str(state));
		cli_json_emit(j);
	} else {
		printf(_("plan %s version %u: %s\n"), plan, (unsigned)version, state);
	}
}

int cmd_plan(struct cli *cli, int argc, char **argv)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	const char *sub = argc > 1 ? argv[1] : "";
	struct plan_opts o;
	int rc;
	size_t i;

	if (argc < 2)
		return cli_usage_error("plan", "%s", _("see shuangsui plan --help"));
	rc = plan_parse("plan", argc - 1, argv + 1, &o);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o.help || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return plan_help();
	env.idempotency_key = (char *)o.key;
	if (strcmp(sub, "put") == 0 && o.argc == 2) {
		Shuangsui__V1__PlanPut p = SHUANGSUI__V1__PLAN_PUT__INIT;
		char *doc;

		if (o.reason == NULL)
			return cli_usage_error("plan put", "%s", _("--reason is required"));
		doc = plan_read_file(cli, o.argv[1], &rc);
		if (doc == NULL)
			return rc;
		p.plan_id = o.argv[0];
		p.document = doc;
		p.amend = o.amend;
		p.reason = (char *)o.reason;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PLAN_PUT;
		env.plan_put = &p;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_PLAN_PUT_REPLY, &reply);
		free(doc);
		if (rc != CLI_EXIT_OK)
			return rc;
		plan_print_state(cli, p.plan_id, reply->plan_put_reply->version,
				 reply->plan_put_reply->state);
	} else if ((strcmp(sub, "submit") == 0 || strcmp(sub, "approve") == 0 ||
		    strcmp(sub, "return") == 0 || strcmp(sub, "publish") == 0 ||
		    strcmp(sub, "confirm") == 0) &&
		   o.argc == 1) {
		Shuangsui__V1__PlanAct a = SHUANGSUI__V1__PLAN_ACT__INIT;
		char **items = NULL, *copy = NULL;
		size_t n = 0;

		if (o.version == 0 || o.reason == NULL)
			return cli_usage_error("plan", "%s", _("--version and --reason are required"));
		if (strcmp(sub, "confirm") == 0) {
			if (o.department == NULL || o.part == NULL || o.items == NULL)
				return cli_usage_error("plan confirm", "%s",
						       _("--department, --part and --items are required"));
			items = plan_split(o.items, &n, &copy);
			if (items == NULL) {
				free(copy);
				return cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s", _("out of memory"));
			}
		}
		a.plan_id = o.argv[0];
		a.version = (uint32_t)o.version;
		a.action = (char *)sub;
		a.reason = (char *)o.reason;
		a.department = (char *)(o.department ? o.department : "");
		a.part = (char *)(o.part ? o.part : "");
		a.n_items = n;
		a.items = items;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PLAN_ACT;
		env.plan_act = &a;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_PLAN_ACT_REPLY, &reply);
		free(items);
		free(copy);
		if (rc != CLI_EXIT_OK)
			return rc;
		plan_print_state(cli, a.plan_id, a.version, reply->plan_act_reply->state);
	} else if (strcmp(sub, "get") == 0 && o.argc == 1) {
		Shuangsui__V1__PlanGet g = SHUANGSUI__V1__PLAN_GET__INIT;

		g.plan_id = o.argv[0];
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PLAN_GET;
		env.plan_get = &g;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DOCUMENT_REPLY, &reply);
		if (rc != CLI_EXIT_OK)
			return rc;
		plan_print_document(cli, reply->document_reply->document);
	} else if (strcmp(sub, "list") == 0 && o.argc == 0) {
		Shuangsui__V1__PlanList l = SHUANGSUI__V1__PLAN_LIST__INIT;
		const Shuangsui__V1__PlanListReply *r;

		l.year = (uint32_t)o.year;
		l.department = (char *)(o.department ? o.department : "");
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PLAN_LIST;
		env.plan_list = &l;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_PLAN_LIST_REPLY, &reply);
		if (rc != CLI_EXIT_OK)
			return rc;
		r = reply->plan_list_reply;
		if (cli->json) {
			json_object *arr = json_object_new_array();

			for (i = 0; i < r->n_plans; i++) {
				json_object *j = json_object_new_object();

				json_object_object_add(j, "plan_id", cli_json_str(r->plans[i]->plan_id));
				json_object_object_add(j, "kind", cli_json_str(r->plans[i]->kind));
				json_object_object_add(j, "department",
						       cli_json_str(r->plans[i]->department));
				json_object_object_add(j, "year", json_object_new_int64(r->plans[i]->year));
				json_object_object_add(j, "name", cli_json_str(r->plans[i]->name));
				json_object_object_add(j, "latest_version",
						       json_object_new_int64(r->plans[i]->latest_version));
				json_object_object_add(j, "latest_state",
						       cli_json_str(r->plans[i]->latest_state));
				json_object_object_add(j, "in_force",
						       json_object_new_int64(r->plans[i]->in_force));
				json_object_array_add(arr, j);
			}
			cli_json_emit(arr);
		} else {
			const char *head[] = {_("plan"), _("kind"), _("department"), _("year"),
					      _("latest"), _("state"), _("in force"), _("name")};
			struct cli_table *t = cli_table_new(8, head);

			for (i = 0; t && i < r->n_plans; i++) {
				char y[16], v[16], f[16];
				const char *cells[8];

				snprintf(y, sizeof(y), "%u", (unsigned)r->plans[i]->year);
				snprintf(v, sizeof(v), "%u", (unsigned)r->plans[i]->latest_version);
				snprintf(f, sizeof(f), "%u", (unsigned)r->plans[i]->in_force);
				cells[0] = r->plans[i]->plan_id;
				cells[1] = r->plans[i]->kind;
				cells[2] = r->plans[i]->department;
				cells[3] = y;
				cells[4] = v;
				cells[5] = r->plans[i]->latest_state;
				cells[6] = r->plans[i]->in_force ? f : "-";
				cells[7] = r->plans[i]->name;
				cli_table_add(t, cells);
			}
			if (t)
				cli_table_print(t);
			cli_table_free(t);
		}
	} else {
		return cli_usage_error("plan", "%s", _("see shuangsui plan --help"));
	}
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
}

/* ---- task ---- */

static int task_help(void)
{
	fputs(_("Usage: shuangsui task COMMAND\n"
		"\n"
		"  put TASK FILE --reason TEXT   create or change a task (JSON, docs/plans.md)\n"
		"                                under a published plan\n"
		"  get TASK                      the task, its versions and states\n"
		"  preview TASK                  population per stratum as of the draw date, how\n"
		"                                many would be drawn, how many excluded and why\n"),
	      stdout);
	return CLI_EXIT_OK;
}

static void task_print_preview(struct cli *cli, const Shuangsui__V1__TaskPreviewReply *r)
{
	size_t i;

	if (cli->json) {
		json_object *j = json_object_new_object(), *arr = json_object_new_array();

		json_object_object_add(j, "task_id", cli_json_str(r->task_id));
		json_object_object_add(j, "as_of", cli_json_str(r->as_of));
		json_object_object_add(j, "annual_cap", json_object_new_int64(r->annual_cap));
		json_object_object_add(j, "unmatched", json_object_new_int64((int64_t)r->unmatched));
		for (i = 0; i < r->n_strata; i++) {
			const Shuangsui__V1__StratumPreview *s = r->strata[i];
			json_object *o = json_object_new_object();

			json_object_object_add(o, "index", json_object_new_int64(s->index));
			json_object_object_add(o, "name", cli_json_str(s->name));
			json_object_object_add(o, "matched", json_object_new_int64((int64_t)s->matched));
			json_object_object_add(o, "excluded_inactive",
					       json_object_new_int64((int64_t)s->excluded_inactive));
			json_object_object_add(o, "excluded_cap",
					       json_object_new_int64((int64_t)s->excluded_cap));
			json_object_object_add(o, "excluded_plan",
					       json_object_new_int64((int64_t)s->excluded_plan));
			json_object_object_add(o, "eligible", json_object_new_int64((int64_t)s->eligible));
			json_object_object_add(o, "to_draw", json_object_new_int64((int64_t)s->to_draw));
			json_object_object_add(o, "shortfall",
					       json_object_new_int64((int64_t)s->shortfall));
			json_object_array_add(arr, o);
		}
		json_object_object_add(j, "strata", arr);
		cli_json_emit(j);
		return;
	}
	printf(_("task %s, directories as of the end of %s, annual cap %u\n"), r->task_id, r->as_of,
	       (unsigned)r->annual_cap);
	{
		const char *head[] = {_("stratum"), _("matched"), _("inactive"), _("at cap"),
				      _("plan rule"), _("eligible"), _("to draw"), _("shortfall")};
		struct cli_table *t = cli_table_new(8, head);

		for (i = 0; t && i < r->n_strata; i++) {
			const Shuangsui__V1__StratumPreview *s = r->strata[i];
			char b[7][24];
			const char *cells[8];

			snprintf(b[0], 24, "%llu", (unsigned long long)s->matched);
			snprintf(b[1], 24, "%llu", (unsigned long long)s->excluded_inactive);
			snprintf(b[2], 24, "%llu", (unsigned long long)s->excluded_cap);
			snprintf(b[3], 24, "%llu", (unsigned long long)s->excluded_plan);
			snprintf(b[4], 24, "%llu", (unsigned long long)s->eligible);
			snprintf(b[5], 24, "%llu", (unsigned long long)s->to_draw);
			snprintf(b[6], 24, "%llu", (unsigned long long)s->shortfall);
			cells[0] = s->name;
			cells[1] = b[0];
			cells[2] = b[1];
			cells[3] = b[2];
			cells[4] = b[3];
			cells[5] = b[4];
			cells[6] = b[5];
			cells[7] = b[6];
			cli_table_add(t, cells);
		}
		if (t)
			cli_table_print(t);
		cli_table_free(t);
	}
	printf(_("objects of the jurisdiction in no stratum: %llu\n"),
	       (unsigned long long)r->unmatched);
}

int cmd_task(struct cli *cli, int argc, char **argv)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	const char *sub = argc > 1 ? argv[1] : "";
	struct plan_opts o;
	int rc;

	if (argc < 2)
		return cli_usage_error("task", "%s", _("see shuangsui task --help"));
	rc = plan_parse("task", argc - 1, argv + 1, &o);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o.help || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return task_help();
	env.idempotency_key = (char *)o.key;
	if (strcmp(sub, "put") == 0 && o.argc == 2) {
		Shuangsui__V1__TaskPut p = SHUANGSUI__V1__TASK_PUT__INIT;
		char *doc;

		if (o.reason == NULL)
			return cli_usage_error("task put", "%s", _("--reason is required"));
		doc = plan_read_file(cli, o.argv[1], &rc);
		if (doc == NULL)
			return rc;
		p.task_id = o.argv[0];
		p.document = doc;
		p.reason = (char *)o.reason;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_TASK_PUT;
		env.task_put = &p;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_TASK_PUT_REPLY, &reply);
		free(doc);
		if (rc != CLI_EXIT_OK)
			return rc;
		if (cli->json) {
			json_object *j = json_object_new_object();

			json_object_object_add(j, "task_id", cli_json_str(p.task_id));
			json_object_object_add(j, "version",
					       json_object_new_int64(reply->task_put_reply->version));
			json_object_object_add(j, "plan_version",
					       json_object_new_int64(reply->task_put_reply->plan_version));
			json_object_object_add(j, "delegated",
					       json_object_new_boolean(reply->task_put_reply->delegated));
			cli_json_emit(j);
		} else {
			printf(_("task %s version %u under plan version %u%s\n"), p.task_id,
			       (unsigned)reply->task_put_reply->version,
			       (unsigned)reply->task_put_reply->plan_version,
			       reply->task_put_reply->delegated ? _(" (delegated)") : "");
		}
	} else if (strcmp(sub, "get") == 0 && o.argc == 1) {
		Shuangsui__V1__TaskGet g = SHUANGSUI__V1__TASK_GET__INIT;

		g.task_id = o.argv[0];
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_TASK_GET;
		env.task_get = &g;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DOCUMENT_REPLY, &reply);
		if (rc != CLI_EXIT_OK)
			return rc;
		plan_print_document(cli, reply->document_reply->document);
	} else if (strcmp(sub, "preview") == 0 && o.argc == 1) {
		Shuangsui__V1__TaskPreview p = SHUANGSUI__V1__TASK_PREVIEW__INIT;

		p.task_id = o.argv[0];
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_TASK_PREVIEW;
		env.task_preview = &p;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_TASK_PREVIEW_REPLY, &reply);
		if (rc != CLI_EXIT_OK)
			return rc;
		task_print_preview(cli, reply->task_preview_reply);
	} else {
		return cli_usage_error("task", "%s", _("see shuangsui task --help"));
	}
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
}

/* ---- targeted inspections ---- */

int cmd_targeted(struct cli *cli, int argc, char **argv)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	Shuangsui__V1__TargetedRecord t = SHUANGSUI__V1__TARGETED_RECORD__INIT;
	struct plan_opts o;
	char **items = NULL, *copy = NULL;
	size_t n = 0;
	int rc;

	if (argc < 2 || strcmp(argv[1], "record") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
			goto help;
		return cli_usage_error("targeted", "%s", _("see shuangsui targeted --help"));
	}
	rc = plan_parse("targeted record", argc - 1, argv + 1, &o);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o.help)
		goto help;
	if (o.argc != 1 || !o.department || !o.directory || !o.object || !o.kind || !o.on ||
	    !o.reason)
		return cli_usage_error("targeted record", "%s",
				       _("ID, --department, --directory, --object, --kind, --on and "
					 "--reason are required"));
	if (o.items) {
		items = plan_split(o.items, &n, &copy);
		if (items == NULL) {
			free(copy);
			return cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s", _("out of memory"));
		}
	}
	t.inspection_id = o.argv[0];
	t.department = (char *)o.department;
	t.directory = (char *)o.directory;
	t.object_id = (char *)o.object;
	t.kind = (char *)o.kind;
	t.inspected_on = (char *)o.on;
	t.n_items = n;
	t.items = items;
	t.reason = (char *)o.reason;
	env.idempotency_key = (char *)o.key;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_TARGETED_RECORD;
	env.targeted_record = &t;
	rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_TARGETED_RECORD_REPLY, &reply);
	free(items);
	free(copy);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "inspection_id", cli_json_str(t.inspection_id));
		cli_json_emit(j);
	} else {
		printf(_("targeted inspection %s recorded\n"), t.inspection_id);
	}
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
help:
	fputs(_("Usage: shuangsui targeted record ID --department CODE --directory entity|project\n"
		"       --object ID --kind mandated|complaint|referral|emergency|other\n"
		"       --on YYYY-MM-DD [--items A,B] --reason TEXT\n"
		"\n"
		"Records an inspection that was not made by random draw, so that the share of\n"
		"random inspections (shuangsui stats) has the right denominator.\n"),
	      stdout);
	return CLI_EXIT_OK;
}

/* ---- oversight figures ---- */

static const char *stats_name(const char *name)
{
	if (strcmp(name, "random_share") == 0)
		return _("share of inspections made by random draw");
	if (strcmp(name, "item_coverage") == 0)
		return _("share of listed items covered by random checks");
	if (strcmp(name, "draws_per_month") == 0)
		return _("draws in the month");
	if (strcmp(name, "over_cap") == 0)
		return _("objects drawn more than twice this year");
	return name;
}

/* A figure as JSON: six significant digits, as people read them (0.96, not 0.9599999…). */
static json_object *stats_number(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.6g", v);
	return json_object_new_double_s(v, buf);
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	Shuangsui__V1__StatsQuery q = SHUANGSUI__V1__STATS_QUERY__INIT;
	const Shuangsui__V1__StatsReply *r;
	struct plan_opts o;
	size_t i;
	int rc;

	rc = plan_parse("stats", argc, argv, &o);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o.help) {
		fputs(_("Usage: shuangsui stats --from YYYY-MM-DD --to YYYY-MM-DD [--department CODE]\n"
			"       [-o FILE.xlsx|FILE.csv] [--json]\n"
			"\n"
			"Oversight figures per department (docs/plans.md §6), each with its target\n"
			"and whether it is met.\n"),
		      stdout);
		return CLI_EXIT_OK;
	}
	if (o.argc != 0 || o.from == NULL || o.to == NULL)
		return cli_usage_error("stats", "%s", _("--from and --to are required"));
	q.department = (char *)(o.department ? o.department : "");
	q.from = (char *)o.from;
	q.to = (char *)o.to;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_STATS_QUERY;
	env.stats_query = &q;
	rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_STATS_REPLY, &reply);
	if (rc != CLI_EXIT_OK)
		return rc;
	r = reply->stats_reply;
	if (o.output != NULL) {
		static const char *const head[] = {"department", "figure", "period", "value", "target",
						   "met", "numerator", "denominator"};
		size_t len = strlen(o.output);
		enum ss_table_format fmt = len > 5 && strcmp(o.output + len - 5, ".xlsx") == 0
						   ? SS_TABLE_XLSX
						   : SS_TABLE_CSV;
		char err[256];
		struct ss_table_writer *w = ss_table_writer_open(o.output, fmt, head, 8, NULL, err,
								 sizeof(err));

		if (w == NULL) {
			shuangsui__v1__envelope__free_unpacked(reply, NULL);
			return cli_fail(cli, CLI_EXIT_CONFIG, "IO", "%s", err);
		}
		for (i = 0; i < r->n_figures; i++) {
			const Shuangsui__V1__Figure *f = r->figures[i];
			char v[32], t[32], nu[24], de[24];
			const char *cells[8];

			snprintf(v, sizeof(v), "%.4f", f->value);
			snprintf(t, sizeof(t), "%s%.4f", f->at_least ? ">=" : "<=", f->target);
			snprintf(nu, sizeof(nu), "%llu", (unsigned long long)f->numerator);
			snprintf(de, sizeof(de), "%llu", (unsigned long long)f->denominator);
			cells[0] = f->department;
			cells[1] = f->name;
			cells[2] = f->period;
			cells[3] = v;
			cells[4] = f->has_target ? t : "";
			cells[5] = f->has_target ? (f->met ? "yes" : "no") : "";
			cells[6] = nu;
			cells[7] = de;
			if (ss_table_writer_row(w, cells) != 0)
				break;
		}
		if (ss_table_writer_close(w) != 0) {
			shuangsui__v1__envelope__free_unpacked(reply, NULL);
			return cli_fail(cli, CLI_EXIT_CONFIG, "IO", _("cannot write %s"), o.output);
		}
	}
	if (cli->json) {
		json_object *arr = json_object_new_array();

		for (i = 0; i < r->n_figures; i++) {
			const Shuangsui__V1__Figure *f = r->figures[i];
			json_object *j = json_object_new_object();

			json_object_object_add(j, "department", cli_json_str(f->department));
			json_object_object_add(j, "name", cli_json_str(f->name));
			json_object_object_add(j, "period", cli_json_str(f->period));
			json_object_object_add(j, "value", stats_number(f->value));
			json_object_object_add(j, "numerator", json_object_new_int64((int64_t)f->numerator));
			json_object_object_add(j, "denominator",
					       json_object_new_int64((int64_t)f->denominator));
			if (f->has_target) {
				json_object_object_add(j, "target", stats_number(f->target));
				json_object_object_add(j, "at_least", json_object_new_boolean(f->at_least));
				json_object_object_add(j, "met", json_object_new_boolean(f->met));
			}
			json_object_array_add(arr, j);
		}
		cli_json_emit(arr);
	} else {
		const char *head[] = {_("department"), _("figure"), _("period"), _("value"),
				      _("target"), _("met")};
		struct cli_table *t = cli_table_new(6, head);

		for (i = 0; t && i < r->n_figures; i++) {
			const Shuangsui__V1__Figure *f = r->figures[i];
			char v[64], tg[32];
			const char *cells[6];

			if (f->denominator > 1 || strcmp(f->name, "random_share") == 0 ||
			    strcmp(f->name, "item_coverage") == 0)
				snprintf(v, sizeof(v), "%.1f%% (%llu/%llu)", f->value * 100,
					 (unsigned long long)f->numerator,
					 (unsigned long long)f->denominator);
			else
				snprintf(v, sizeof(v), "%llu", (unsigned long long)f->numerator);
			if (strcmp(f->name, "random_share") == 0 || strcmp(f->name, "item_coverage") == 0)
				snprintf(tg, sizeof(tg), "%s %.0f%%", f->at_least ? ">=" : "<=",
					 f->target * 100);
			else
				snprintf(tg, sizeof(tg), "%s %.0f", f->at_least ? ">=" : "<=", f->target);
			cells[0] = f->department;
			cells[1] = stats_name(f->name);
			cells[2] = f->period;
			cells[3] = v;
			cells[4] = f->has_target ? tg : "";
			cells[5] = f->has_target ? (f->met ? _("yes") : _("NO")) : "";
			cli_table_add(t, cells);
		}
		if (t)
			cli_table_print(t);
		cli_table_free(t);
	}
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
}
