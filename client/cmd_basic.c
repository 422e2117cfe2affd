/*
 * cmd_basic.c — the "ping", "whoami" and "version" commands.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_output.h"

struct ping_args {
	int db;
	uint64_t delay_ms;
	uint64_t count;
	uint64_t interval_ms;
};

/* Round-trip statistics over the pings sent. */
struct ping_stats {
	double min_ms;
	double max_ms;
	double sum_ms;
	uint64_t n;
};

static void ping_help(void)
{
	fputs(
	    _("Usage: shuangsui ping [--db [--delay-ms N]] [--count N] [--interval MS]\n"
	      "\n"
	      "Checks that the server answers, and measures the round trip.\n"
	      "\n"
	      "Options:\n"
	      "  --db                also pass through the database (prints \"database: ok\")\n"
	      "  --delay-ms N        with --db: hold the database query N ms (0..5000)\n"
	      "  -c, --count N       send N pings over one connection (default 1)\n"
	      "  -i, --interval MS   wait MS milliseconds between pings, 0..30000 (default 1000)\n"
	      "  -h, --help          show this help\n"),
	    stdout);
}

static int ping_parse(int argc, char **argv, struct ping_args *a, int *help)
{
	static const struct option opts[] = {
	    {"db", no_argument, NULL, 'd'},	     {"delay-ms", required_argument, NULL, 'D'},
	    {"count", required_argument, NULL, 'c'}, {"interval", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},	     {NULL, 0, NULL, 0},
	};
	int have_delay = 0;
	int c;

	memset(a, 0, sizeof(*a));
	a->count = 1;
	a->interval_ms = 1000;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->db = 1;
			break;
		case 'D':
			if (cli_parse_u64(optarg, 0, 5000, &a->delay_ms) != 0)
				return cli_usage_error("ping", _("--delay-ms must be 0..5000"));
			have_delay = 1;
			break;
		case 'c':
			if (cli_parse_u64(optarg, 1, 1000000, &a->count) != 0)
				return cli_usage_error("ping", _("--count must be 1..1000000"));
			break;
		case 'i':
			/* Above the server's idle timeout (60 s by default) the
			 * connection would be closed between pings. */
			if (cli_parse_u64(optarg, 0, 30000, &a->interval_ms) != 0)
				return cli_usage_error("ping", "%s",
						       _("--interval must be 0..30000"));
			break;
		case 'h':
			*help = 1;
			return CLI_EXIT_OK;
		default:
			return cli_option_error("ping", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("ping", _("unexpected argument \"%s\""), argv[optind]);
	/* The protocol honours delay_ms only together with db_round_trip. */
	if (have_delay && !a->db)
		return cli_usage_error("ping", "%s", _("--delay-ms needs --db"));
	return CLI_EXIT_OK;
}

static double ping_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void ping_sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void ping_show(struct cli *cli, uint64_t seq, double rtt, const Shuangsui__V1__PingReply *r,
		      const struct ping_args *a, struct json_object *replies)
{
	char when[48];
	struct json_object *o;

	cli_time_local(r->server_time_unix_ms, 1, when, sizeof(when));
	if (cli->json) {
		o = json_object_new_object();
		json_object_object_add(o, "seq", json_object_new_uint64(seq));
		json_object_object_add(o, "rtt_ms", json_object_new_double(rtt));
		json_object_object_add(o, "server_time_unix_ms",
				       json_object_new_int64(r->server_time_unix_ms));
		json_object_object_add(o, "server_time", cli_json_str(when));
		json_object_object_add(o, "database_ok", json_object_new_boolean(r->database_ok));
		json_object_array_add(replies, o);
	} else if (!a->db) {
		printf(_("reply %llu from %s:%s: time %.1f ms, server time %s\n"),
		       (unsigned long long)seq, cli->cfg.host, cli->cfg.port, rtt, when);
	} else {
		printf(
		    r->database_ok
			? _("reply %llu from %s:%s: time %.1f ms, server time %s, database: ok\n")
			: _("reply %llu from %s:%s: time %.1f ms, server time %s, database: NOT "
			    "ok\n"),
		    (unsigned long long)seq, cli->cfg.host, cli->cfg.port, rtt, when);
	}
}

static void ping_stats_add(struct ping_stats *st, double rtt)
{
	if (st->n == 0 || rtt < st->min_ms)
		st->min_ms = rtt;
	if (st->n == 0 || rtt > st->max_ms)
		st->max_ms = rtt;
	st->sum_ms += rtt;
	st->n++;
}

/* Sends one ping; returns the exit code and sets *db_ok. */
static int ping_once(struct cli *cli, struct cli_session *s, const struct ping_args *a,
		     uint64_t seq, struct ping_stats *st, struct json_object *replies, int *db_ok)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__PingRequest req = SHUANGSUI__V1__PING_REQUEST__INIT;
	SsEnvelope *reply = NULL;
	double t0;
	double rtt;
	int exit;

	req.db_round_trip = a->db;
	req.delay_ms = (uint32_t)a->delay_ms;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_PING;
	env.ping = &req;
	t0 = ping_now_ms();
	exit = cli_call(cli, s, &env, SHUANGSUI__V1__ENVELOPE__BODY_PING_REPLY, &reply);
	if (exit != CLI_EXIT_OK)
		return exit;
	rtt = ping_now_ms() - t0;
	ping_stats_add(st, rtt);
	ping_show(cli, seq, rtt, reply->ping_reply, a, replies);
	*db_ok = reply->ping_reply->database_ok;
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	fflush(stdout);
	return CLI_EXIT_OK;
}

static void ping_summary(struct cli *cli, const struct ping_stats *st, struct json_object *replies)
{
	struct json_object *o;

	if (cli->json) {
		o = json_object_new_object();
		json_object_object_add(o, "server", cli_json_str(cli->cfg.host));
		json_object_object_add(o, "port", cli_json_str(cli->cfg.port));
		json_object_object_add(o, "replies", json_object_get(replies));
		cli_json_emit(o);
	} else if (st->n > 1) {
		printf(_("%llu replies, round trip min/avg/max = %.1f/%.1f/%.1f ms\n"),
		       (unsigned long long)st->n, st->min_ms, st->sum_ms / (double)st->n,
		       st->max_ms);
	}
}

int cmd_ping(struct cli *cli, int argc, char **argv)
{
	struct ping_args a;
	struct ping_stats st = {0, 0, 0, 0};
	struct cli_session *s = NULL;
	struct json_object *replies = NULL;
	int help = 0;
	int db_ok = 1;
	int all_db_ok = 1;
	uint64_t i;
	int exit = ping_parse(argc, argv, &a, &help);

	if (exit != CLI_EXIT_OK || help) {
		if (help)
			ping_help();
		return exit;
	}
	exit = cli_connect(cli, &s);
	if (exit != CLI_EXIT_OK)
		return exit;
	replies = json_object_new_array();
	for (i = 1; i <= a.count && exit == CLI_EXIT_OK; i++) {
		if (i > 1)
			ping_sleep_ms(a.interval_ms);
		exit = ping_once(cli, s, &a, i, &st, replies, &db_ok);
		if (exit == CLI_EXIT_OK && a.db && !db_ok)
			all_db_ok = 0;
	}
	if (exit == CLI_EXIT_OK)
		ping_summary(cli, &st, replies);
	/* A server that answers but cannot reach its database: retry later. */
	if (exit == CLI_EXIT_OK && !all_db_ok)
		exit = CLI_EXIT_DATABASE;
	json_object_put(replies);
	cli_session_free(s);
	return exit;
}

static void whoami_show(struct cli *cli, const Shuangsui__V1__Principal *p)
{
	const char *labels[] = {_("principal"), _("office"), _("role"), _("jurisdiction"),
				_("certificate fingerprint")};
	const char *values[] = {p->principal_id, p->office, p->role, p->jurisdiction,
				p->fingerprint};
	struct json_object *o;
	size_t width = 0;
	size_t i;

	if (cli->json) {
		o = json_object_new_object();
		json_object_object_add(o, "principal_id", cli_json_str(p->principal_id));
		json_object_object_add(o, "office", cli_json_str(p->office));
		json_object_object_add(o, "role", cli_json_str(p->role));
		json_object_object_add(o, "jurisdiction", cli_json_str(p->jurisdiction));
		json_object_object_add(o, "fingerprint", cli_json_str(p->fingerprint));
		cli_json_emit(o);
		return;
	}
	for (i = 0; i < 5; i++)
		if (cli_display_width(labels[i]) > width)
			width = cli_display_width(labels[i]);
	for (i = 0; i < 5; i++)
		cli_print_field(labels[i], width, values[i]);
}

int cmd_whoami(struct cli *cli, int argc, char **argv)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__WhoAmIRequest req = SHUANGSUI__V1__WHO_AM_IREQUEST__INIT;
	struct cli_session *s = NULL;
	SsEnvelope *reply = NULL;
	int help = 0;
	int exit = cli_parse_no_options("whoami", argc, argv, &help);

	if (exit != CLI_EXIT_OK || help) {
		if (help)
			fputs(_("Usage: shuangsui whoami\n"
				"\n"
				"Shows who the server takes you for: the principal registered to\n"
				"your certificate, its office, role and jurisdiction.\n"),
			      stdout);
		return exit;
	}
	exit = cli_connect(cli, &s);
	if (exit != CLI_EXIT_OK)
		return exit;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI;
	env.whoami = &req;
	exit = cli_call(cli, s, &env, SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI_REPLY, &reply);
	if (exit != CLI_EXIT_OK)
		goto out;
	if (reply->whoami_reply->principal == NULL) {
		exit = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
				_("the server's reply names no principal"));
		goto out;
	}
	whoami_show(cli, reply->whoami_reply->principal);
out:
	if (reply != NULL)
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	cli_session_free(s);
	return exit;
}

static void version_show(struct cli *cli, const struct cli_session *s)
{
	const Shuangsui__V1__HelloReply *h = s != NULL ? s->hello->hello_reply : NULL;
	struct json_object *o;
	struct json_object *srv;

	if (!cli->json) {
		printf(_("client: shuangsui %s (protocol %u)\n"), SS_PROGRAM_VERSION,
		       SS_PROTOCOL_VERSION);
		if (h != NULL)
			printf(_("server: %s %s (protocol %u)\n"), h->server_program,
			       h->server_version, h->protocol_version);
		else
			printf(_("server: unknown (%s)\n"), cli->last_error);
		return;
	}
	o = json_object_new_object();
	srv = json_object_new_object();
	json_object_object_add(o, "client_version", cli_json_str(SS_PROGRAM_VERSION));
	json_object_object_add(o, "protocol_version", json_object_new_int(SS_PROTOCOL_VERSION));
	if (h != NULL) {
		json_object_object_add(srv, "program", cli_json_str(h->server_program));
		json_object_object_add(srv, "version", cli_json_str(h->server_version));
		json_object_object_add(srv, "protocol_version",
				       json_object_new_int64(h->protocol_version));
	} else {
		json_object_object_add(srv, "error_code", cli_json_str(cli->last_code));
		json_object_object_add(srv, "error", cli_json_str(cli->last_error));
	}
	json_object_object_add(o, "server", srv);
	cli_json_emit(o);
}

/*
 * "version" prints the client's version and, when the server can be
 * reached, the server's.  Not reaching the server is not a failure here:
 * the command exists to be run when something is wrong.
 */
int cmd_version(struct cli *cli, int argc, char **argv)
{
	struct cli_session *s = NULL;
	int help = 0;
	int exit = cli_parse_no_options("version", argc, argv, &help);

	if (exit != CLI_EXIT_OK || help) {
		if (help)
			fputs(_("Usage: shuangsui version\n"
				"\n"
				"Prints the client's version and, if the server can be reached,\n"
				"the server's.  Exits 0 even when the server cannot be reached.\n"),
			      stdout);
		return exit;
	}
	cli->quiet = 1;
	cli_connect(cli, &s);
	cli->quiet = 0;
	version_show(cli, s);
	cli_session_free(s);
	return CLI_EXIT_OK;
}
