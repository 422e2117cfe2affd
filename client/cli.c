/*
 * cli.c — connection, error reporting and sub-command dispatch shared by
 * the commands of the shuangsui client.
 */
#define _GNU_SOURCE /* asprintf */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cli_output.h"
#include "note.h"
#include "receipt.h"
#include "record.h"
#include "signature.h"
#include "ss_error.h"
#include "ss_lang.h"

static void cli_json_error(const char *code, const char *message, const char *field,
			   const Shuangsui__V1__Error *server)
{
	struct json_object *o = json_object_new_object();
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "code", cli_json_str(code));
	json_object_object_add(e, "message", cli_json_str(message));
	if (field != NULL && field[0] != '\0')
		json_object_object_add(e, "field", cli_json_str(field));
	if (server != NULL) {
		json_object_object_add(e, "message_en", cli_json_str(server->message_en));
		json_object_object_add(e, "message_zh", cli_json_str(server->message_zh));
	}
	json_object_object_add(o, "error", e);
	cli_json_emit(o);
}

int cli_fail(struct cli *cli, int exit, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(cli->last_error, sizeof(cli->last_error), "%s", msg);
	cli->last_code = code;
	if (cli->quiet)
		return exit;
	fprintf(stderr, "shuangsui: %s\n", msg);
	if (cli->json)
		cli_json_error(code, msg, NULL, NULL);
	return exit;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shuangsui%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fprintf(stderr, _("Try \"shuangsui%s%s --help\".\n"), cmd ? " " : "", cmd ? cmd : "");
	return CLI_EXIT_USAGE;
}

int cli_report_server_error(struct cli *cli, const Shuangsui__V1__Error *e)
{
	int err = ss_err_from_wire((int)e->code);
	const char *msg = ss_lang_is_zh() ? e->message_zh : e->message_en;

	/* Fall back to the other language, then to our own sentence for the code. */
	if (msg == NULL || msg[0] == '\0')
		msg = ss_lang_is_zh() ? e->message_en : e->message_zh;
	if (msg == NULL || msg[0] == '\0')
		msg = ss_lang_is_zh() ? ss_err_str_zh(err) : ss_err_str(err);
	snprintf(cli->last_error, sizeof(cli->last_error), "%s", msg);
	cli->last_code = ss_err_name(err);
	if (cli->quiet)
		goto out;
	if (e->field != NULL && e->field[0] != '\0')
		fprintf(stderr, _("shuangsui: server: %s (field: %s)\n"), msg, e->field);
	else
		fprintf(stderr, _("shuangsui: server: %s\n"), msg);
	if (cli->json)
		cli_json_error(ss_err_name(err), msg, e->field, e);
out:
	return err == SS_ERR_DATABASE_UNAVAILABLE ? CLI_EXIT_DATABASE : CLI_EXIT_SERVER;
}

int cli_report_session(struct cli *cli, const struct cli_session *s, int rc)
{
	const char *why = s != NULL && s->why[0] != '\0' ? s->why : _("out of memory");
	int exit;

	switch (rc) {
	case SS_ERR_CONFIG:
	case SS_ERR_NOMEM:
		exit = CLI_EXIT_CONFIG;
		break;
	case SS_ERR_PROTOCOL:
	case SS_ERR_MALFORMED_MESSAGE:
	case SS_ERR_FRAME_TOO_LARGE:
		exit = CLI_EXIT_PROTOCOL;
		break;
	default: /* IO, TLS, TIMEOUT, CLOSED */
		exit = CLI_EXIT_CONNECT;
		break;
	}
	return cli_fail(cli, exit, ss_err_name(rc), "%s", why);
}

static int cli_load_config(struct cli *cli)
{
	char why[1024];
	int rc;

	if (cli->cfg_loaded)
		return CLI_EXIT_OK;
	rc = cli_config_load(&cli->cfg, &cli->ov, why, sizeof(why));
	if (rc == 0)
		rc = cli_config_require_tls(&cli->cfg, why, sizeof(why));
	if (rc != 0) {
		cli_config_free(&cli->cfg);
		return cli_fail(cli, CLI_EXIT_CONFIG, ss_err_name(rc), "%s", why);
	}
	cli->cfg_loaded = 1;
	return CLI_EXIT_OK;
}

static void cli_describe_session(const struct cli *cli, const struct cli_session *s)
{
	const Shuangsui__V1__HelloReply *h = s->hello->hello_reply;

	fprintf(stderr, _("connected to %s:%s (%s, %s); server %s %s\n"), cli->cfg.host,
		cli->cfg.port, SSL_get_version(s->ssl), SSL_get_cipher_name(s->ssl),
		h->server_program, h->server_version);
	if (h->principal != NULL)
		fprintf(stderr, _("signed in as %s (%s)\n"), h->principal->principal_id,
			h->principal->role);
}

/* The file that keeps the last checkpoint of the draw log this client accepted. */
static char *cli_checkpoint_path(const struct cli *cli)
{
	const char *slash;

	if (cli->cfg.log_checkpoint != NULL)
		return strdup(cli->cfg.log_checkpoint);
	if (cli->cfg.path == NULL)
		return NULL;
	slash = strrchr(cli->cfg.path, '/');
	if (slash == NULL)
		return strdup("checkpoint");
	{
		char *p = NULL;

		if (asprintf(&p, "%.*s/checkpoint", (int)(slash - cli->cfg.path), cli->cfg.path) < 0)
			return NULL;
		return p;
	}
}

/* Reads the public key of the draw log: the key string, or a file whose first line it is. */
int cli_log_key(const char *arg, uint8_t pk[SS_SIG_PUBLIC_KEY_LEN])
{
	uint8_t id[SS_SIG_KEY_ID_LEN], *data = NULL;
	size_t len;
	int rc;

	if (ss_sig_public_key_parse(arg, pk, id) == 0)
		return 0;
	if (ss_file_read(arg, 4096, &data, &len) != 0)
		return SS_ERR_IO;
	data[strcspn((char *)data, "\r\n")] = '\0';
	rc = ss_sig_public_key_parse((char *)data, pk, id);
	free(data);
	return rc == 0 ? 0 : SS_ERR_CONFIG;
}

int cli_log_current_key(struct cli *cli, uint8_t pk[SS_SIG_PUBLIC_KEY_LEN])
{
	char *path = cli_checkpoint_path(cli), *kp = NULL;
	int rc = cli_log_key(cli->cfg.log_key, pk);

	/* A key adopted by following a rotation that the configured key signed. */
	if (rc == 0 && path != NULL && asprintf(&kp, "%s.key", path) >= 0 && access(kp, R_OK) == 0)
		rc = cli_log_key(kp, pk);
	free(kp);
	free(path);
	return rc;
}

/* Keeps the key adopted after a rotation beside the checkpoint file. */
static void cli_save_key(const char *checkpoint_path, const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN])
{
	uint8_t id[SS_SIG_KEY_ID_LEN], blob[2 + SS_SIG_KEY_ID_LEN + SS_SIG_PUBLIC_KEY_LEN];
	char b64[SS_SIG_PUBLIC_KEY_STR_LEN + 2], *kp = NULL;
	FILE *f;

	ss_sig_key_id(pk, id);
	memcpy(blob, SS_SIG_ALG_TAG, 2);
	memcpy(blob + 2, id, sizeof(id));
	memcpy(blob + 2 + sizeof(id), pk, SS_SIG_PUBLIC_KEY_LEN);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
	if (asprintf(&kp, "%s.key", checkpoint_path) < 0)
		return;
	f = fopen(kp, "w");
	if (f != NULL) {
		fprintf(f, "%s\n", b64);
		fclose(f);
	}
	free(kp);
}

/*
 * Walks the leaves from..to-1 for key-rotation records (small: larger leaves
 * are skipped unread), each of which must be signed by the key it replaces
 * and the new one, and be included in the tree of `to` leaves whose hash is
 * root (the checkpoint about to be accepted); *next receives the key
 * current at the end.  0, or -1 if the leaves cannot be read or a rotation
 * does not verify.
 */
static int cli_follow_rotations(struct cli *cli, struct cli_session *s, uint64_t from, uint64_t to,
				const uint8_t root[32], const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN],
				uint8_t next[SS_SIG_PUBLIC_KEY_LEN])
{
	uint8_t cur[SS_SIG_PUBLIC_KEY_LEN];

	(void)cli;
	memcpy(cur, pk, sizeof(cur));
	while (from < to) {
		SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
		Shuangsui__V1__LogLeavesGet g = SHUANGSUI__V1__LOG_LEAVES_GET__INIT;
		const Shuangsui__V1__LogLeavesReply *r;
		size_t i;

		g.from = from;
		g.proof_size = to;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_GET;
		env.log_leaves_get = &g;
		if (cli_session_call(s, &env, &reply) != 0 ||
		    reply->body_case != SHUANGSUI__V1__ENVELOPE__BODY_LOG_LEAVES_REPLY ||
		    reply->log_leaves_reply->n_leaves == 0) {
			if (reply != NULL)
				shuangsui__v1__envelope__free_unpacked(reply, NULL);
			return -1;
		}
		r = reply->log_leaves_reply;
		for (i = 0; i < r->n_leaves && from < to; i++) {
			const Shuangsui__V1__LogLeaf *l = r->leaves[i];

			if (l->index != from) {
				shuangsui__v1__envelope__free_unpacked(reply, NULL);
				return -1;
			}
			if (l->record_offset == 0 && l->record.len == l->record_total &&
			    ss_record_peek_type(l->record.data, l->record.len) == SS_REC_KEY_ROTATION) {
				uint8_t nk[SS_SIG_PUBLIC_KEY_LEN], leaf[32];
				uint8_t proof[SS_MERKLE_MAX_PROOF][SS_MERKLE_HASH_LEN];
				size_t k, np = l->n_inclusion;

				for (k = 0; k < np && k < SS_MERKLE_MAX_PROOF; k++) {
					if (l->inclusion[k].len != SS_MERKLE_HASH_LEN)
						break;
					memcpy(proof[k], l->inclusion[k].data, SS_MERKLE_HASH_LEN);
				}
				ss_merkle_leaf_hash(l->record.data, l->record.len, leaf);
				if (k != np ||
				    ss_merkle_verify_inclusion(l->index, to, leaf,
							       (const uint8_t(*)[SS_MERKLE_HASH_LEN])proof,
							       np, root) != 0 ||
				    ss_record_verify_rotation(cur, l->record.data, l->record.len,
							      l->signature.data, l->signature.len,
							      nk) != 0) {
					shuangsui__v1__envelope__free_unpacked(reply, NULL);
					return -1;
				}
				memcpy(cur, nk, sizeof(cur));
			}
			from++;
		}
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	}
	memcpy(next, cur, SS_SIG_PUBLIC_KEY_LEN);
	return 0;
}

/*
 * The draw log's consistency check, on every connection when [log] key is
 * set: the server's latest signed checkpoint must extend the one this
 * client accepted before (RFC 9162 consistency proof); then it is kept.  A
 * log that forked, shrank or was rewritten is refused, loudly.
 */
static int cli_log_check(struct cli *cli, struct cli_session *s)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	Shuangsui__V1__LogCheckpointGet g = SHUANGSUI__V1__LOG_CHECKPOINT_GET__INIT;
	uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], *old = NULL, *proof = NULL;
	uint8_t hashes[SS_MERKLE_MAX_PROOF][SS_MERKLE_HASH_LEN];
	struct ss_check_result res;
	struct ss_note *note = NULL;
	struct ss_checkpoint cp;
	struct ss_blob oldb, newb, proofb;
	uint8_t new_root[32];
	char *path = cli_checkpoint_path(cli), *tmp = NULL;
	size_t old_len = 0, proof_len = 0, i;
	const Shuangsui__V1__LogCheckpointReply *r;
	enum ss_check check;
	uint64_t new_size = 0;
	int rc, exit = CLI_EXIT_OK;
	FILE *f;

	if (cli_log_current_key(cli, pk) != 0) {
		exit = cli_fail(cli, CLI_EXIT_CONFIG, "CONFIG", _("[log] key %s holds no public key"),
				cli->cfg.log_key);
		goto out;
	}
	if (path != NULL && ss_file_read(path, SS_NOTE_MAX_LEN, &old, &old_len) == 0 &&
	    ss_note_parse((const char *)old, old_len, &note) == 0 &&
	    ss_checkpoint_parse(note->text, note->text_len, &cp) == 0)
		g.known_size = cp.size;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_GET;
	env.log_checkpoint_get = &g;
	rc = cli_session_call(s, &env, &reply);
	if (rc != 0) {
		exit = cli_report_session(cli, s, rc);
		goto out;
	}
	if (reply->body_case == SHUANGSUI__V1__ENVELOPE__BODY_ERROR &&
	    reply->error->code == SHUANGSUI__V1__ERROR_CODE__NOT_FOUND && g.known_size == 0)
		goto out; /* an empty log, and nothing held: nothing to check yet */
	if (reply->body_case != SHUANGSUI__V1__ENVELOPE__BODY_LOG_CHECKPOINT_REPLY) {
		exit = cli_fail(cli, CLI_EXIT_PROTOCOL, "LOG_INCONSISTENT",
				_("THE DRAW LOG DOES NOT EXTEND THE CHECKPOINT YOU HOLD (%" PRIu64
				  " leaves, kept in %s): the server answered %s.  Its log was "
				  "truncated or replaced; do not rely on its draws and report this "
				  "to the legal office and the auditors."),
				g.known_size, path ? path : "-",
				reply->body_case == SHUANGSUI__V1__ENVELOPE__BODY_ERROR
					? reply->error->message_en
					: "an unexpected reply");
		goto out;
	}
	r = reply->log_checkpoint_reply;
	for (i = 0; i < r->n_consistency && i < SS_MERKLE_MAX_PROOF; i++) {
		if (r->consistency[i].len != SS_MERKLE_HASH_LEN)
			break;
		memcpy(hashes[i], r->consistency[i].data, SS_MERKLE_HASH_LEN);
	}
	newb.data = (const uint8_t *)r->checkpoint;
	newb.len = strlen(r->checkpoint);
	{
		struct ss_note *nn = NULL;
		struct ss_checkpoint ncp;

		if (ss_note_parse(r->checkpoint, newb.len, &nn) != 0 ||
		    ss_checkpoint_parse(nn->text, nn->text_len, &ncp) != 0) {
			ss_note_free(nn);
			exit = cli_fail(cli, CLI_EXIT_PROTOCOL, "LOG_INCONSISTENT", "%s",
					_("the server's draw-log checkpoint cannot be read"));
			goto out;
		}
		/* Nothing held yet: the checkpoint against itself checks its signature. */
		new_size = ncp.size;
		memcpy(new_root, ncp.root, sizeof(new_root));
		rc = i == r->n_consistency
			     ? ss_consistency_encode(note != NULL ? g.known_size : ncp.size, ncp.size,
						     (const uint8_t(*)[32])hashes, i, &proof, &proof_len)
			     : SS_ERR_MALFORMED_MESSAGE;
		ss_note_free(nn);
	}
	if (note != NULL) {
		oldb.data = old;
		oldb.len = old_len;
	} else {
		oldb = newb;
	}
	proofb.data = proof;
	proofb.len = proof_len;
	memset(&res, 0, sizeof(res));
	check = rc != 0 ? SS_CHECK_FORMAT
			: ss_audit_consistency(&oldb, &newb, pk, NULL, cli->cfg.log_origin, &proofb,
					       NULL, &res);
	if (check == SS_CHECK_CHECKPOINT_SIGNATURE || check == SS_CHECK_KEY) {
		/* Signed by another key: follow the key rotations logged since,
		 * each signed by the key it replaces. */
		uint8_t next[SS_SIG_PUBLIC_KEY_LEN];

		if (cli_follow_rotations(cli, s, g.known_size, new_size, new_root, pk, next) == 0 &&
		    memcmp(next, pk, sizeof(next)) != 0) {
			memset(&res, 0, sizeof(res));
			check = note != NULL ? ss_audit_consistency(&oldb, &newb, pk, next,
								    cli->cfg.log_origin, &proofb,
								    NULL, &res)
					     : ss_audit_consistency(&newb, &newb, next, NULL,
								    cli->cfg.log_origin, &proofb,
								    NULL, &res);
			if (check == SS_CHECK_OK && path != NULL)
				cli_save_key(path, next);
		}
	}
	if (check != SS_CHECK_OK) {
		exit = cli_fail(cli, CLI_EXIT_PROTOCOL, "LOG_INCONSISTENT",
				_("THE DRAW LOG WAS FORKED OR REWRITTEN: the server's checkpoint does not "
				  "extend the one you hold (%" PRIu64 " leaves, kept in %s): %s: %s.  Do "
				  "not rely on its draws; report this to the legal office and the "
				  "auditors."),
				g.known_size, path ? path : "-", ss_check_name(res.check), res.detail);
		goto out;
	}
	if (path != NULL && asprintf(&tmp, "%s.tmp", path) >= 0 && (f = fopen(tmp, "w")) != NULL) {
		int ok = fputs(r->checkpoint, f) >= 0;

		if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
			remove(tmp);
	}
out:
	if (reply != NULL)
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	ss_note_free(note);
	free(old);
	free(proof);
	free(path);
	free(tmp);
	return exit;
}

int cli_connect(struct cli *cli, struct cli_session **out)
{
	struct cli_session_params p;
	struct cli_session *s = NULL;
	int exit;
	int rc;

	*out = NULL;
	exit = cli_load_config(cli);
	if (exit != CLI_EXIT_OK)
		return exit;
	p.host = cli->cfg.host;
	p.port = cli->cfg.port;
	p.ca = cli->cfg.ca;
	p.cert = cli->cfg.cert;
	p.key = cli->cfg.key;
	p.timeout_ms = cli->timeout_s * 1000;
	rc = cli_session_open(&p, &s);
	if (rc != 0) {
		exit = cli_report_session(cli, s, rc);
	} else if (s->hello_error != NULL) {
		exit = cli_report_server_error(cli, s->hello_error->error);
	} else {
		if (cli->verbose)
			cli_describe_session(cli, s);
		exit = cli->cfg.log_key != NULL ? cli_log_check(cli, s) : CLI_EXIT_OK;
		if (exit == CLI_EXIT_OK) {
			*out = s;
			return CLI_EXIT_OK;
		}
	}
	cli_session_free(s);
	return exit;
}

int cli_call(struct cli *cli, struct cli_session *s, SsEnvelope *req,
	     Shuangsui__V1__Envelope__BodyCase expect, SsEnvelope **reply)
{
	SsEnvelope *r = NULL;
	int exit;
	int rc;

	*reply = NULL;
	rc = cli_session_call(s, req, &r);
	if (rc != 0)
		return cli_report_session(cli, s, rc);
	if (r->body_case == expect) {
		*reply = r;
		return CLI_EXIT_OK;
	}
	if (r->body_case == SHUANGSUI__V1__ENVELOPE__BODY_ERROR)
		exit = cli_report_server_error(cli, r->error);
	else
		exit = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL",
				_("unexpected reply \"%s\" from the server"), ss_wire_body_name(r));
	shuangsui__v1__envelope__free_unpacked(r, NULL);
	return exit;
}

int cli_option_error(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	/* For a short option the offending letter is in optopt; a long one is the word. */
	if (c == ':') {
		if (strncmp(arg, "--", 2) == 0 || optopt == 0)
			return cli_usage_error(cmd, _("option %s requires an argument"), arg);
		return cli_usage_error(cmd, _("option -%c requires an argument"), optopt);
	}
	if (strncmp(arg, "--", 2) == 0 || optopt == 0)
		return cli_usage_error(cmd, _("unknown option %s"), arg);
	return cli_usage_error(cmd, _("unknown option -%c"), optopt);
}

int cli_parse_no_options(const char *cmd, int argc, char **argv, int *help)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_option_error(cmd, c, argv);
		*help = 1;
		return CLI_EXIT_OK;
	}
	if (optind < argc)
		return cli_usage_error(cmd, _("unexpected argument \"%s\""), argv[optind]);
	return CLI_EXIT_OK;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end = NULL;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void cli_group_help(const char *group, const struct cli_command *table, size_t n)
{
	size_t i;

	printf(_("Usage: shuangsui [global options] %s COMMAND [options]\n\n"), group);
	printf("%s\n", _("Commands:"));
	for (i = 0; i < n; i++) {
		fputs("  ", stdout);
		cli_print_padded(stdout, table[i].name, 12);
		printf("%s\n", _(table[i].summary));
	}
	printf(_("\nRun \"shuangsui %s COMMAND --help\" for the options of a command.\n"), group);
}

int cli_dispatch(struct cli *cli, const char *group, const struct cli_command *table, size_t n,
		 int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return cli_usage_error(group, "%s", _("a command is required"));
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cli_group_help(group, table, n);
		return CLI_EXIT_OK;
	}
	for (i = 0; i < n; i++)
		if (strcmp(argv[1], table[i].name) == 0)
			return table[i].run(cli, argc - 1, argv + 1);
	return cli_usage_error(group, _("unknown command \"%s\""), argv[1]);
}

int cli_call_once(struct cli *cli, SsEnvelope *req, Shuangsui__V1__Envelope__BodyCase expect,
		  SsEnvelope **reply)
{
	struct cli_session *s;
	int rc = cli_connect(cli, &s);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = cli_call(cli, s, req, expect, reply);
	cli_session_free(s);
	return rc;
}

void cli_new_key(char key[33])
{
	unsigned char rnd[16];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(key, 33, rnd, sizeof(rnd));
}
