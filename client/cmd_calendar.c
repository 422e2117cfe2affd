/*
 * cmd_calendar.c — "calendar": working-day arithmetic on the official
 * holiday calendar (deadlines such as the 3-working-day report, Z10, and
 * the 20-working-day publication, G28), and administrators' overrides.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_output.h"
#include "ss_error.h"

static void calendar_help(void)
{
	fputs(_("Usage: shuangsui calendar COMMAND\n"
		"\n"
		"  add DATE N            the date N working days after DATE\n"
		"  between FROM TO       working days d with FROM < d <= TO\n"
		"  override DATE off|work --reason TEXT   (administrators)\n"
		"\n"
		"Answers that involve a year for which no official holiday notice has been\n"
		"published are computed with weekdays only and marked provisional.\n"),
	      stdout);
}

static void calendar_print(struct cli *cli, const Shuangsui__V1__CalendarReply *r, int is_add)
{
	if (cli->json) {
		struct json_object *j = json_object_new_object();

		if (is_add)
			json_object_object_add(j, "date", cli_json_str(r->date));
		else
			json_object_object_add(j, "workdays", json_object_new_int(r->workdays));
		json_object_object_add(j, "provisional", json_object_new_boolean(r->provisional));
		cli_json_emit(j);
		return;
	}
	if (is_add)
		printf("%s", r->date);
	else
		printf("%d", r->workdays);
	if (r->provisional)
		printf(" %s", _("(provisional: no official holiday notice for that year yet)"));
	printf("\n");
}

int cmd_calendar(struct cli *cli, int argc, char **argv)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		calendar_help();
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "add") == 0 && argc == 4) {
		Shuangsui__V1__CalendarAddWorkdays a = SHUANGSUI__V1__CALENDAR_ADD_WORKDAYS__INIT;
		uint64_t n;

		if (cli_parse_u64(argv[3], 0, 3650, &n) != 0)
			return cli_usage_error("calendar add", "%s", _("N must be 0..3650"));
		a.date = argv[2];
		a.days = (int32_t)n;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_ADD_WORKDAYS;
		env.calendar_add_workdays = &a;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_REPLY, &reply);
		if (rc == CLI_EXIT_OK)
			calendar_print(cli, reply->calendar_reply, 1);
	} else if (strcmp(argv[1], "between") == 0 && argc == 4) {
		Shuangsui__V1__CalendarBetween b = SHUANGSUI__V1__CALENDAR_BETWEEN__INIT;

		b.from = argv[2];
		b.to = argv[3];
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_BETWEEN;
		env.calendar_between = &b;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_REPLY, &reply);
		if (rc == CLI_EXIT_OK)
			calendar_print(cli, reply->calendar_reply, 0);
	} else if (strcmp(argv[1], "override") == 0 && argc == 6 &&
		   strcmp(argv[4], "--reason") == 0 &&
		   (strcmp(argv[3], "off") == 0 || strcmp(argv[3], "work") == 0)) {
		Shuangsui__V1__CalendarOverride o = SHUANGSUI__V1__CALENDAR_OVERRIDE__INIT;
		char key[33];

		cli_new_key(key);
		o.date = argv[2];
		o.off_day = strcmp(argv[3], "off") == 0;
		o.reason = argv[5];
		env.idempotency_key = key;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_OVERRIDE;
		env.calendar_override = &o;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_OVERRIDE_REPLY,
				   &reply);
		if (rc == CLI_EXIT_OK && !cli->json)
			printf(_("%s is now %s\n"), o.date,
			       o.off_day ? _("a day off") : _("a working day"));
	} else {
		return cli_usage_error("calendar", "%s", _("see shuangsui calendar --help"));
	}
	if (reply != NULL)
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return rc;
}
