/*
 * cmd_draw.c — "draw" and "log": the randomness service's acts (open,
 * witness, waive, run, void, recuse), receipts, and the draw log
 * (checkpoint, export) — issue 5, docs/draw-spec.md and docs/receipt.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "cli_output.h"
#include "note.h"
#include "receipt.h"
#include "record.h"
#include "ss_error.h"

struct draw_opts {
	const char *reason, *key, *entropy, *object, *inspector, *output;
	char keybuf[33];
	int help;
	int argc;
	char **argv;
};

enum { D_REASON = 256, D_KEY, D_ENTROPY, D_OBJECT, D_INSPECTOR };

static int draw_parse(const char *cmd, int argc, char **argv, struct draw_opts *o)
{
	static const struct option longopts[] = {
		{"reason", required_argument, NULL, D_REASON},
		{"idempotency-key", required_argument, NULL, D_KEY},
		{"entropy", required_argument, NULL, D_ENTROPY},
		{"object", required_argument, NULL, D_OBJECT},
		{"inspector", required_argument, NULL, D_INSPECTOR},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		switch (c) {
		case D_REASON: o->reason = optarg; break;
		case D_KEY: o->key = optarg; break;
		case D_ENTROPY: o->entropy = optarg; break;
		case D_OBJECT: o->object = optarg; break;
		case D_INSPECTOR: o->inspector = optarg; break;
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

static int draw_help(void)
{
	fputs(_("Usage: shuangsui draw COMMAND TASK\n"
		"\n"
		"  open TASK                    freeze the task's population and commit to the\n"
		"                               secret random value (a signed, logged record)\n"
		"  witness TASK [--entropy D]   a discipline supervisor adds at least 20 digits\n"
		"                               rolled on dice (asked for when not given)\n"
		"  waive TASK --reason TEXT     the legal office records why witnesses are absent\n"
		"  run TASK                     reveal, draw the objects and match the inspectors\n"
		"  status TASK\n"
		"  show TASK                    the locked list and each object's inspection group\n"
		"  receipt TASK -o FILE         the self-contained receipt an auditor verifies with\n"
		"                               shuangsui-verify receipt FILE --key PUB\n"
		"  recuse TASK --object ID --inspector ID --reason TEXT\n"
		"                               an inspector withdraws (回避); the next in order replaces\n"
		"  void TASK --reason TEXT      the legal office voids a draw (it stays visible)\n"),
	      stdout);
	return CLI_EXIT_OK;
}

static void draw_print(struct cli *cli, const Shuangsui__V1__DrawReply *r)
{
	size_t i;
	char hex[65] = "";

	if (r->leaf_hash.len == 32)
		sodium_bin2hex(hex, sizeof(hex), r->leaf_hash.data, 32);
	if (cli->json) {
		json_object *j = json_object_new_object(), *e = json_object_new_array(),
			    *d = json_object_new_array();

		json_object_object_add(j, "task_id", cli_json_str(r->task_id));
		json_object_object_add(j, "state", cli_json_str(r->state));
		json_object_object_add(j, "record_type", cli_json_str(r->record_type));
		json_object_object_add(j, "leaf_index", json_object_new_int64((int64_t)r->leaf_index));
		json_object_object_add(j, "leaf_hash", cli_json_str(hex));
		for (i = 0; i < r->n_witnesses_expected; i++)
			json_object_array_add(e, cli_json_str(r->witnesses_expected[i]));
		for (i = 0; i < r->n_witnesses_done; i++)
			json_object_array_add(d, cli_json_str(r->witnesses_done[i]));
		json_object_object_add(j, "witnesses_expected", e);
		json_object_object_add(j, "witnesses_done", d);
		json_object_object_add(j, "waived", json_object_new_boolean(r->waived));
		json_object_object_add(j, "drawn", json_object_new_int64((int64_t)r->drawn));
		json_object_object_add(j, "shortfall", json_object_new_int64((int64_t)r->shortfall));
		json_object_object_add(j, "draw_leaf_index",
				       json_object_new_int64((int64_t)r->draw_leaf_index));
		if (r->replacement[0])
			json_object_object_add(j, "replacement", cli_json_str(r->replacement));
		cli_json_emit(j);
		return;
	}
	if (r->record_type[0])
		printf(_("logged %s record at leaf %" PRIu64 " %s\n"), r->record_type, r->leaf_index,
		       hex);
	printf(_("task %s: %s\n"), r->task_id, r->state);
	if (r->n_witnesses_expected || r->waived) {
		printf(_("witnesses expected:"));
		for (i = 0; i < r->n_witnesses_expected; i++)
			printf(" %s", r->witnesses_expected[i]);
		printf(_("; contributed:"));
		for (i = 0; i < r->n_witnesses_done; i++)
			printf(" %s", r->witnesses_done[i]);
		printf("%s\n", r->waived ? _(" (absence recorded by the legal office)") : "");
	}
	if (strcmp(r->state, "drawn") == 0 || strcmp(r->state, "voided") == 0)
		printf(_("objects on the locked list: %" PRIu64 " (draw record at leaf %" PRIu64 ")\n"),
		       r->drawn, r->draw_leaf_index);
	if (r->shortfall)
		printf(_("inspector shortfall (recorded, not filled): %" PRIu64 "\n"), r->shortfall);
	if (strcmp(r->record_type, "recusal") == 0)
		printf(r->replacement[0] ? _("replaced by %s\n") : _("no replacement: shortfall%s\n"),
		       r->replacement);
}

/* Asks a witness for the digits on a terminal. */
static char *draw_ask_entropy(void)
{
	static char line[512];

	if (!isatty(0))
		return NULL;
	fputs(_("Roll the dice and type the digits (at least 20), then Enter: "), stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL;
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

/* Fetches the receipt of task into a new file path; returns the exit code. */
static int draw_fetch_receipt(struct cli *cli, struct cli_session *s, const char *task,
			      uint8_t **data, size_t *len)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	Shuangsui__V1__ReceiptGet g = SHUANGSUI__V1__RECEIPT_GET__INIT;
	uint8_t *buf = NULL, md[32], want[32];
	uint64_t total = 0;
	size_t have = 0;
	int rc = CLI_EXIT_OK;

	g.task_id = (char *)task;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_RECEIPT_GET;
	env.receipt_get = &g;
	do {
		const Shuangsui__V1__ReceiptChunk *c;

		g.offset = have;
		rc = cli_call(cli, s, &env, SHUANGSUI__V1__ENVELOPE__BODY_RECEIPT_CHUNK, &reply);
		if (rc != CLI_EXIT_OK)
			break;
		c = reply->receipt_chunk;
		if (buf == NULL) {
			/* Sizes come from the server: bounded before anything is allocated. */
			if (c->total > SS_RECEIPT_MAX || c->sha256.len != 32) {
				rc = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
					      _("the server announced an impossible receipt"));
				break;
			}
			total = c->total;
			buf = malloc(total + 1);
			memcpy(want, c->sha256.data, 32);
		}
		if (buf == NULL || c->total != total || c->offset != have ||
		    c->data.len > total - have || (c->data.len == 0 && have < total)) {
			rc = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
				      _("the receipt changed while it was being fetched"));
			break;
		}
		memcpy(buf + have, c->data.data, c->data.len);
		have += c->data.len;
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
		reply = NULL;
	} while (have < total);
	if (reply != NULL)
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	if (rc == CLI_EXIT_OK) {
		crypto_hash_sha256(md, buf, have);
		if (memcmp(md, want, 32) != 0)
			rc = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
				      _("the receipt arrived damaged (its SHA-256 differs)"));
	}
	if (rc != CLI_EXIT_OK) {
		free(buf);
		return rc;
	}
	*data = buf;
	*len = have;
	return CLI_EXIT_OK;
}

static int draw_receipt(struct cli *cli, const char *task, const char *path)
{
	struct cli_session *s;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = cli_connect(cli, &s);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = draw_fetch_receipt(cli, s, task, &data, &len);
	cli_session_free(s);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (ss_file_write_new(path, data, len) != 0) {
		free(data);
		return cli_fail(cli, CLI_EXIT_CONFIG, "IO",
				_("cannot create %s (it must not exist already): %s"), path,
				strerror(errno));
	}
	/* With the log's key configured, check it at once as an auditor would. */
	if (cli->cfg.log_key != NULL) {
		uint8_t pk[32];
		struct ss_check_result res;

		memset(&res, 0, sizeof(res));
		if (cli_log_current_key(cli, pk) == 0 &&
		    ss_audit_receipt(data, len, pk, cli->cfg.log_origin, &res) != SS_CHECK_OK) {
			free(data);
			return cli_fail(cli, CLI_EXIT_PROTOCOL, "RECEIPT_INVALID",
					_("the receipt written to %s does not verify: %s: %s"), path,
					ss_check_name(res.check), res.detail);
		}
	}
	free(data);
	if (cli->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "task_id", cli_json_str(task));
		json_object_object_add(j, "file", cli_json_str(path));
		json_object_object_add(j, "bytes", json_object_new_int64((int64_t)len));
		cli_json_emit(j);
	} else {
		printf(_("receipt of task %s written to %s (%zu bytes)\n"), task, path, len);
	}
	return CLI_EXIT_OK;
}

/* "draw show": the locked list and the inspection groups, read from the receipt. */
static int draw_show(struct cli *cli, const char *task)
{
	struct cli_session *s;
	struct ss_receipt *rcp = NULL;
	struct ss_record *d = NULL;
	uint8_t *data = NULL;
	size_t len = 0, i, k;
	int rc = cli_connect(cli, &s);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = draw_fetch_receipt(cli, s, task, &data, &len);
	cli_session_free(s);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (ss_receipt_parse(data, len, &rcp) != 0 ||
	    ss_record_parse(rcp->draw.record.data, rcp->draw.record.len, &d) != 0) {
		ss_receipt_free(rcp);
		free(data);
		return cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
				_("the server's receipt cannot be read"));
	}
	if (cli->json) {
		json_object *j = json_object_new_object(), *st = json_object_new_array(),
			    *ms = json_object_new_array();

		json_object_object_add(j, "task_id", cli_json_str(task));
		json_object_object_add(j, "seed", cli_json_str(d->seed));
		json_object_object_add(j, "waived", json_object_new_boolean(d->waived));
		for (i = 0; i < d->n_strata; i++) {
			json_object *o = json_object_new_object(), *p = json_object_new_array();

			json_object_object_add(o, "name", cli_json_str(d->strata[i].name));
			json_object_object_add(o, "k", json_object_new_int64((int64_t)d->strata[i].k));
			json_object_object_add(o, "size", json_object_new_int64((int64_t)d->strata[i].size));
			for (k = 0; k < d->strata[i].n_picks; k++) {
				json_object *x = json_object_new_object();

				json_object_object_add(x, "id", cli_json_str(d->strata[i].picks[k].id));
				json_object_object_add(x, "ticket",
						       cli_json_str(d->strata[i].picks[k].ticket));
				json_object_array_add(p, x);
			}
			json_object_object_add(o, "picks", p);
			json_object_array_add(st, o);
		}
		for (i = 0; i < d->n_matches; i++) {
			const struct ss_rec_match *m = &d->matches[i];
			json_object *o = json_object_new_object(), *a = json_object_new_array(),
				    *e = json_object_new_array();

			json_object_object_add(o, "object", cli_json_str(m->object));
			for (k = 0; k < m->n_inspectors; k++)
				json_object_array_add(a, cli_json_str(m->inspectors[k]));
			for (k = 0; k < m->n_experts; k++)
				json_object_array_add(e, cli_json_str(m->experts[k]));
			json_object_object_add(o, "inspectors", a);
			json_object_object_add(o, "experts", e);
			json_object_object_add(o, "inspector_shortfall",
					       json_object_new_int64((int64_t)m->inspector_shortfall));
			json_object_object_add(o, "expert_shortfall",
					       json_object_new_int64((int64_t)m->expert_shortfall));
			json_object_array_add(ms, o);
		}
		json_object_object_add(j, "strata", st);
		json_object_object_add(j, "matches", ms);
		cli_json_emit(j);
	} else {
		printf(_("task %s, seed %s%s\n"), task, d->seed,
		       d->waived ? _(" (witness absence recorded by the legal office)") : "");
		for (i = 0; i < d->n_matches; i++) {
			const struct ss_rec_match *m = &d->matches[i];

			printf("%-20s", m->object);
			for (k = 0; k < m->n_inspectors; k++)
				printf(k == 0 ? _(" leader %s") : " %s", m->inspectors[k]);
			for (k = 0; k < m->n_experts; k++)
				printf(_(" expert %s"), m->experts[k]);
			if (m->inspector_shortfall || m->expert_shortfall)
				printf(_("  SHORTFALL %" PRIu64 "+%" PRIu64), m->inspector_shortfall,
				       m->expert_shortfall);
			printf("\n");
		}
		printf(_("(recusals after the draw: shuangsui audit list; the draw log)\n"));
	}
	ss_record_free(d);
	ss_receipt_free(rcp);
	free(data);
	return CLI_EXIT_OK;
}

int cmd_draw(struct cli *cli, int argc, char **argv)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	const char *sub = argc > 1 ? argv[1] : "";
	struct draw_opts o;
	const char *task;
	int rc;

	if (argc < 2)
		return cli_usage_error("draw", "%s", _("see shuangsui draw --help"));
	rc = draw_parse("draw", argc - 1, argv + 1, &o);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o.help || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return draw_help();
	if (o.argc != 1)
		return cli_usage_error("draw", "%s", _("name one task (see shuangsui draw --help)"));
	task = o.argv[0];
	env.idempotency_key = (char *)o.key;
	if (strcmp(sub, "open") == 0) {
		Shuangsui__V1__DrawOpen m = SHUANGSUI__V1__DRAW_OPEN__INIT;

		m.task_id = (char *)task;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_OPEN;
		env.draw_open = &m;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY, &reply);
	} else if (strcmp(sub, "witness") == 0) {
		Shuangsui__V1__DrawWitness m = SHUANGSUI__V1__DRAW_WITNESS__INIT;

		m.task_id = (char *)task;
		m.entropy = (char *)(o.entropy ? o.entropy : draw_ask_entropy());
		if (m.entropy == NULL)
			return cli_usage_error("draw witness", "%s",
					       _("--entropy DIGITS is required (or run it on a terminal)"));
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_WITNESS;
		env.draw_witness = &m;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY, &reply);
	} else if (strcmp(sub, "waive") == 0 || strcmp(sub, "void") == 0) {
		Shuangsui__V1__DrawWaive w = SHUANGSUI__V1__DRAW_WAIVE__INIT;
		Shuangsui__V1__DrawVoid v = SHUANGSUI__V1__DRAW_VOID__INIT;

		if (o.reason == NULL)
			return cli_usage_error("draw", "%s", _("--reason is required"));
		if (sub[1] == 'a') {
			w.task_id = (char *)task;
			w.reason = (char *)o.reason;
			env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_WAIVE;
			env.draw_waive = &w;
		} else {
			v.task_id = (char *)task;
			v.reason = (char *)o.reason;
			env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_VOID;
			env.draw_void = &v;
		}
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY, &reply);
	} else if (strcmp(sub, "run") == 0) {
		Shuangsui__V1__DrawRun m = SHUANGSUI__V1__DRAW_RUN__INIT;

		m.task_id = (char *)task;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_RUN;
		env.draw_run = &m;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY, &reply);
	} else if (strcmp(sub, "recuse") == 0) {
		Shuangsui__V1__DrawRecuse m = SHUANGSUI__V1__DRAW_RECUSE__INIT;

		if (o.object == NULL || o.inspector == NULL || o.reason == NULL)
			return cli_usage_error("draw recuse", "%s",
					       _("--object, --inspector and --reason are required"));
		m.task_id = (char *)task;
		m.object_id = (char *)o.object;
		m.inspector_id = (char *)o.inspector;
		m.reason = (char *)o.reason;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_RECUSE;
		env.draw_recuse = &m;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY, &reply);
	} else if (strcmp(sub, "status") == 0) {
		Shuangsui__V1__DrawStatus m = SHUANGSUI__V1__DRAW_STATUS__INIT;

		m.task_id = (char *)task;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DRAW_STATUS;
		env.draw_status = &m;
		rc = cli_call_once(cli, &env, SHUANGSUI__V1__ENVELOPE__BODY_DRAW_REPLY, &reply);
	} else if (strcmp(sub, "show") == 0) {
		return draw_show(cli, task);
	} else if (strcmp(sub, "receipt") == 0) {
		if (o.output == NULL)
			return cli_usage_error("draw receipt", "%s", _("-o FILE is required"));
		return draw_receipt(cli, task, o.output);
	} else {
		return cli_usage_error("draw", "%s", _("see shuangsui draw --help"));
	}
	if (rc != CLI_EXIT_OK)
		return rc;
	draw_print(cli, reply->draw_reply);
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
}

/* ---- log ---- */

/* One leaf of the log, whole (records larger than a frame come in pieces). */
static int log_fetch_leaf(struct cli *cli, struct cli_session *s, uint64_t idx,
			  Shuangsui__V1__LogLeavesReply **first, SsEnvelope **holder)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__LogLeavesGet g = SHUANGSUI__V1__LOG_LEAVES_GET__INIT;
	int rc;

	g.from = idx;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_GET;
	env.log_leaves_get = &g;
	rc = cli_call(cli, s, &env, SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_REPLY, holder);
	if (rc == CLI_EXIT_OK)
		*first = (*holder)->log_leaves_reply;
	return rc;
}

struct log_buf {
	struct ss_log_entry *e;
	size_t n, cap;
	uint8_t **owned; /* every buffer the entries point into */
	size_t nowned, capowned;
};

static int log_own(struct log_buf *b, uint8_t *p)
{
	if (b->nowned == b->capowned) {
		size_t cap = b->capowned ? b->capowned * 2 : 64;
		uint8_t **q = realloc(b->owned, cap * sizeof(*q));

		if (q == NULL)
			return -1;
		b->owned = q;
		b->capowned = cap;
	}
	b->owned[b->nowned++] = p;
	return 0;
}

/* A copy of blob in, owned by b. */
static int log_copy(struct log_buf *b, const struct ss_blob *in, struct ss_blob *out)
{
	uint8_t *p = malloc(in->len + 1);

	if (p == NULL || log_own(b, p) != 0) {
		free(p);
		return -1;
	}
	memcpy(p, in->data, in->len);
	out->data = p;
	out->len = in->len;
	return 0;
}

static int log_export(struct cli *cli, const char *dir)
{
	struct cli_session *s;
	struct log_buf b = {0};
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	Shuangsui__V1__LogCheckpointGet cg = SHUANGSUI__V1__LOG_CHECKPOINT_GET__INIT;
	struct ss_log_export ex;
	char *checkpoint = NULL;
	uint64_t next = 0, tree = 0, draws = 0;
	size_t i;
	int rc = cli_connect(cli, &s);

	if (rc != CLI_EXIT_OK)
		return rc;
	/* The checkpoint first: the export covers exactly its tree. */
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_GET;
	env.log_checkpoint_get = &cg;
	rc = cli_call(cli, s, &env, SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_REPLY, &reply);
	if (rc != CLI_EXIT_OK)
		goto out;
	checkpoint = strdup(reply->log_checkpoint_reply->checkpoint);
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	reply = NULL;
	{
		struct ss_note *note = NULL;
		struct ss_checkpoint cp;

		if (checkpoint == NULL || ss_note_parse(checkpoint, strlen(checkpoint), &note) != 0 ||
		    ss_checkpoint_parse(note->text, note->text_len, &cp) != 0) {
			ss_note_free(note);
			rc = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
				      _("the server's checkpoint cannot be read"));
			goto out;
		}
		tree = cp.size;
		ss_note_free(note);
	}
	while (next < tree) {
		Shuangsui__V1__LogLeavesReply *r;
		size_t k;

		rc = log_fetch_leaf(cli, s, next, &r, &reply);
		if (rc != CLI_EXIT_OK)
			goto out;
		if (r->n_leaves == 0) {
			rc = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
				      _("the server sent no leaves"));
			goto out;
		}
		for (k = 0; k < r->n_leaves && next < tree; k++) {
			Shuangsui__V1__LogLeaf *l = r->leaves[k];
			int sane = l->record_total <= SS_RECORD_MAX &&
				   l->record.len <= l->record_total && l->signature.len <= 4096;
			uint8_t *rec = sane ? malloc(l->record_total + 1) : NULL;
			uint8_t *sig = sane ? malloc(l->signature.len + 1) : NULL;
			size_t have = 0;

			if (rec == NULL || sig == NULL || l->index != next || l->record_offset != 0) {
				free(rec);
				free(sig);
				rc = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
					      _("the log's leaves arrived out of order"));
				goto out;
			}
			if (log_own(&b, rec) != 0) {
				free(rec);
				free(sig);
				rc = cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s", _("out of memory"));
				goto out;
			}
			if (log_own(&b, sig) != 0) {
				free(sig);
				rc = cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s", _("out of memory"));
				goto out;
			}
			memcpy(sig, l->signature.data, l->signature.len);
			memcpy(rec, l->record.data, l->record.len);
			have = l->record.len;
			while (have < l->record_total) {
				/* The rest of a large record, piece by piece. */
				SsEnvelope e2 = SHUANGSUI__V1__ENVELOPE__INIT, *rep2 = NULL;
				Shuangsui__V1__LogLeavesGet g = SHUANGSUI__V1__LOG_LEAVES_GET__INIT;
				Shuangsui__V1__LogLeaf *p;

				g.from = next;
				g.max = 1;
				g.offset = have;
				e2.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_GET;
				e2.log_leaves_get = &g;
				rc = cli_call(cli, s, &e2, SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_REPLY,
					      &rep2);
				if (rc != CLI_EXIT_OK)
					goto out;
				p = rep2->log_leaves_reply->n_leaves ? rep2->log_leaves_reply->leaves[0]
								      : NULL;
				if (p == NULL || p->index != next || p->record_offset != have ||
				    p->record.len == 0 || p->record.len > l->record_total - have) {
					shuangsui__v1__envelope__free_unpacked(rep2, NULL);
					rc = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
						      _("a large record arrived in bad pieces"));
					goto out;
				}
				memcpy(rec + have, p->record.data, p->record.len);
				have += p->record.len;
				shuangsui__v1__envelope__free_unpacked(rep2, NULL);
			}
			if (b.n == b.cap) {
				size_t cap = b.cap ? b.cap * 2 : 64;
				struct ss_log_entry *q = realloc(b.e, cap * sizeof(*q));

				if (q == NULL) {
					rc = cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s", _("out of memory"));
					goto out;
				}
				b.e = q;
				b.cap = cap;
			}
			memset(&b.e[b.n], 0, sizeof(b.e[b.n]));
			b.e[b.n].rec.record.data = rec;
			b.e[b.n].rec.record.len = have;
			b.e[b.n].rec.sig.data = sig;
			b.e[b.n].rec.sig.len = l->signature.len;
			/* A draw travels with its snapshots (from its receipt), so
			 * that "shuangsui-verify log" recomputes it in full. */
			if (ss_record_peek_type(rec, have) == SS_REC_DRAW) {
				struct ss_record *parsed = NULL;
				struct ss_receipt *rcp = NULL;
				uint8_t *data = NULL;
				size_t len = 0;

				if (ss_record_parse(rec, have, &parsed) == 0 &&
				    draw_fetch_receipt(cli, s, parsed->task, &data, &len) == CLI_EXIT_OK &&
				    ss_receipt_parse(data, len, &rcp) == 0) {
					struct ss_blob *pops = calloc(rcp->n_populations + 1, sizeof(*pops));
					size_t q;
					int bad = pops == NULL || log_own(&b, (uint8_t *)pops) != 0;

					for (q = 0; !bad && q < rcp->n_populations; q++)
						bad = log_copy(&b, &rcp->populations[q], &pops[q]);
					if (!bad)
						bad = log_copy(&b, &rcp->inspectors, &b.e[b.n].inspectors) ||
						      log_copy(&b, &rcp->conflicts, &b.e[b.n].conflicts);
					if (!bad) {
						b.e[b.n].n_populations = rcp->n_populations;
						b.e[b.n].populations = pops;
						draws++;
					}
				}
				free(data);
				ss_receipt_free(rcp);
				ss_record_free(parsed);
			}
			b.n++;
			next++;
		}
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
		reply = NULL;
	}
	memset(&ex, 0, sizeof(ex));
	ex.n_entries = b.n;
	ex.entries = b.e;
	ex.checkpoint.data = (const uint8_t *)checkpoint;
	ex.checkpoint.len = strlen(checkpoint);
	if (ss_log_export_write(dir, &ex) != 0) {
		rc = cli_fail(cli, CLI_EXIT_CONFIG, "IO",
			      _("cannot write the export to %s (its files must not exist already)"), dir);
		goto out;
	}
	if (cli->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "directory", cli_json_str(dir));
		json_object_object_add(j, "leaves", json_object_new_int64((int64_t)b.n));
		json_object_object_add(j, "draws_with_snapshots", json_object_new_int64((int64_t)draws));
		cli_json_emit(j);
	} else {
		printf(_("exported %zu leaves (%" PRIu64 " draws with their snapshots) to %s\n"), b.n,
		       draws, dir);
	}
out:
	if (reply != NULL)
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	for (i = 0; i < b.nowned; i++)
		free(b.owned[i]);
	free(b.owned);
	free(b.e);
	free(checkpoint);
	cli_session_free(s);
	return rc;
}

int cmd_log(struct cli *cli, int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "export") == 0)
		return log_export(cli, argv[2]);
	if (argc == 2 && strcmp(argv[1], "checkpoint") == 0) {
		SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
		Shuangsui__V1__LogCheckpointGet g = SHUANGSUI__V1__LOG_CHECKPOINT_GET__INIT;
		struct cli_session *s;
		int rc = cli_connect(cli, &s);

		if (rc != CLI_EXIT_OK)
			return rc;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_GET;
		env.log_checkpoint_get = &g;
		rc = cli_call(cli, s, &env, SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_REPLY, &reply);
		cli_session_free(s);
		if (rc != CLI_EXIT_OK)
			return rc;
		fputs(reply->log_checkpoint_reply->checkpoint, stdout);
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
		return CLI_EXIT_OK;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(_("Usage: shuangsui log COMMAND\n"
			"\n"
			"  checkpoint    print the draw log's latest signed checkpoint (checked against\n"
			"                the one you hold when [log] key is configured)\n"
			"  export DIR    write every record with its signature, the draws' snapshots\n"
			"                and the checkpoint to DIR, for shuangsui-verify log DIR --key PUB\n"),
		      stdout);
		return CLI_EXIT_OK;
	}
	return cli_usage_error("log", "%s", _("see shuangsui log --help"));
}
