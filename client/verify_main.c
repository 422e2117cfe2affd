/*
 * verify_main.c — shuangsui-verify, the offline auditor's tool.
 *
 * An auditor (审计人员) checks, without trusting the server and without
 * contacting it, signed draw receipts (抽取结果回执), exported logs and
 * consistency between checkpoints.  The checks live in common/audit.c; this
 * file parses the command line, reads files and prints the outcome:
 * "OK", or "FAILED <check>: <detail>" where <check> is a stable name
 * (docs/receipt.md §4).
 *
 * Exit codes: 0 verified; 1 a file could not be read; 2 usage error;
 * 3 format; 4 signature or key; 5 log proof (inclusion, tree root,
 * consistency); 6 recomputation (commitment, digests, seed, selection,
 * matching, links, log order, recusal); 7 out of memory.
 */
#include <getopt.h>
#include <libintl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "audit.h"
#include "receipt.h"
#include "signature.h"
#include "ss_error.h"
#include "ss_lang.h"
#include "wire.h"

#define _(s) gettext(s)
#define N_(s) (s)

struct verify_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* translated at use */
};

static int verify_version(int argc, char **argv);
static int verify_receipt(int argc, char **argv);
static int verify_log(int argc, char **argv);
static int verify_consistency(int argc, char **argv);

static const struct verify_command verify_commands[] = {
    {"receipt", verify_receipt,
     N_("verify a draw receipt: signatures, log inclusion, recomputation")},
    {"log", verify_log, N_("replay an exported log from its first record")},
    {"consistency", verify_consistency, N_("check that a newer checkpoint extends an older one")},
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
	fputs(_("\n"
		"  receipt FILE --key PUB [--origin NAME]\n"
		"  log DIR --key PUB [--origin NAME]\n"
		"  consistency OLD NEW --key PUB [--new-key PUB] [--proof FILE] [--origin NAME]\n"
		"\n"
		"PUB is the log's public key string (or a file holding it).  Each command\n"
		"prints OK, or FAILED followed by the name of the check that failed.\n"
		"\n"
		"Options:\n"
		"  -h, --help     show this help\n"
		"  --version      show the version\n"
		"\n"
		"Exit codes: 0 verified, 1 a file could not be read, 2 usage error,\n"
		"3 format, 4 signature or key, 5 log proof, 6 recomputation, 7 out of memory.\n"),
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
	return SS_VERIFY_EXIT_USAGE;
}

static int verify_version(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(_("Usage: shuangsui-verify version\n"
			"\n"
			"Prints the version of this tool and the protocol version it reads.\n"),
		      stdout);
		return SS_VERIFY_EXIT_OK;
	}
	if (argc > 1)
		return verify_usage_error(_("unexpected argument \"%s\""), argv[1]);
	printf(_("shuangsui-verify %s (protocol %u)\n"), SS_PROGRAM_VERSION, SS_PROTOCOL_VERSION);
	return SS_VERIFY_EXIT_OK;
}

/* Options shared by the verifying commands. */
struct verify_opts {
	const char *args[2];
	int n_args;
	const char *key, *new_key, *origin, *proof;
};

static int verify_parse(int argc, char **argv, int want_args, int allow_consistency,
			struct verify_opts *o)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},    {"new-key", required_argument, NULL, 'n'},
	    {"origin", required_argument, NULL, 'o'}, {"proof", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0; /* GNU getopt: reinitialise after main's "+" scan */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->key = optarg;
			break;
		case 'o':
			o->origin = optarg;
			break;
		case 'n':
		case 'p':
			if (!allow_consistency)
				return verify_usage_error(_("unknown option %s"), argv[optind - 1]);
			if (c == 'n')
				o->new_key = optarg;
			else
				o->proof = optarg;
			break;
		case 'h':
			verify_help();
			return -1;
		default:
			return verify_usage_error(_("unknown option %s"), argv[optind - 1]);
		}
	}
	for (; optind < argc; optind++) {
		if (o->n_args == want_args)
			return verify_usage_error(_("unexpected argument \"%s\""), argv[optind]);
		o->args[o->n_args++] = argv[optind];
	}
	if (o->n_args != want_args)
		return verify_usage_error("%s", _("a file argument is missing"));
	if (o->key == NULL)
		return verify_usage_error("%s", _("--key PUB is required"));
	return 0;
}

/* A key is given as the public key string itself, or as a file whose first line it is. */
static int verify_load_key(const char *arg, uint8_t pk[SS_SIG_PUBLIC_KEY_LEN])
{
	uint8_t id[SS_SIG_KEY_ID_LEN], *data = NULL;
	size_t len;
	char line[SS_SIG_PUBLIC_KEY_STR_LEN + 1];
	int rc;

	if (ss_sig_public_key_parse(arg, pk, id) == 0)
		return 0;
	if (ss_file_read(arg, 4096, &data, &len) != 0)
		return verify_usage_error(_("--key: not a public key, nor a readable file: %s"),
					  arg);
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	rc = len == SS_SIG_PUBLIC_KEY_STR_LEN;
	if (rc) {
		memcpy(line, data, len);
		line[len] = '\0';
		rc = ss_sig_public_key_parse(line, pk, id) == 0;
	}
	free(data);
	if (!rc)
		return verify_usage_error(_("--key: %s does not hold a public key"), arg);
	return 0;
}

static int verify_report(const struct ss_check_result *res)
{
	if (res->check == SS_CHECK_OK) {
		puts("OK");
		return SS_VERIFY_EXIT_OK;
	}
	/* stdout stays English and stable for scripts; stderr says it in the user's language. */
	printf("FAILED %s: %s\n", ss_check_name(res->check), res->detail);
	fprintf(stderr, _("shuangsui-verify: verification failed at the check \"%s\"\n"),
		ss_check_name(res->check));
	return ss_check_class(res->check);
}

static int verify_read(const char *path, uint8_t **data, size_t *len)
{
	if (ss_file_read(path, SS_RECEIPT_MAX, data, len) != 0) {
		fprintf(stderr, _("shuangsui-verify: cannot read %s\n"), path);
		return SS_VERIFY_EXIT_IO;
	}
	return 0;
}

static int verify_receipt(int argc, char **argv)
{
	struct verify_opts o;
	struct ss_check_result res;
	uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], *data;
	size_t len;
	int rc;

	rc = verify_parse(argc, argv, 1, 0, &o);
	if (rc != 0)
		return rc < 0 ? SS_VERIFY_EXIT_OK : rc;
	rc = verify_load_key(o.key, pk);
	if (rc == 0)
		rc = verify_read(o.args[0], &data, &len);
	if (rc != 0)
		return rc;
	ss_audit_receipt(data, len, pk, o.origin, &res);
	free(data);
	return verify_report(&res);
}

static int verify_log(int argc, char **argv)
{
	struct verify_opts o;
	struct ss_check_result res;
	struct ss_log_export *log = NULL;
	uint8_t pk[SS_SIG_PUBLIC_KEY_LEN];
	int rc;

	rc = verify_parse(argc, argv, 1, 0, &o);
	if (rc != 0)
		return rc < 0 ? SS_VERIFY_EXIT_OK : rc;
	rc = verify_load_key(o.key, pk);
	if (rc != 0)
		return rc;
	rc = ss_log_export_read(o.args[0], &log);
	if (rc == SS_ERR_IO) {
		fprintf(stderr, _("shuangsui-verify: cannot read the log export %s\n"), o.args[0]);
		return SS_VERIFY_EXIT_IO;
	}
	if (rc != 0) {
		memset(&res, 0, sizeof(res));
		res.check = rc == SS_ERR_NOMEM ? SS_CHECK_RESOURCES : SS_CHECK_FORMAT;
		snprintf(res.detail, sizeof(res.detail), "%s",
			 "not a log export in the documented format");
		return verify_report(&res);
	}
	ss_audit_log(log, pk, o.origin, &res);
	ss_log_export_free(log);
	return verify_report(&res);
}

static int verify_consistency(int argc, char **argv)
{
	struct verify_opts o;
	struct ss_check_result res;
	struct ss_log_export *log = NULL;
	struct ss_blob old_cp, new_cp, proof;
	uint8_t pk[SS_SIG_PUBLIC_KEY_LEN], npk[SS_SIG_PUBLIC_KEY_LEN];
	uint8_t *old_data = NULL, *new_data = NULL, *proof_data = NULL;
	size_t old_len, new_len, proof_len;
	struct stat st;
	int rc;

	rc = verify_parse(argc, argv, 2, 1, &o);
	if (rc != 0)
		return rc < 0 ? SS_VERIFY_EXIT_OK : rc;
	rc = verify_load_key(o.key, pk);
	if (rc == 0 && o.new_key != NULL)
		rc = verify_load_key(o.new_key, npk);
	if (rc != 0)
		return rc;
	if (stat(o.args[1], &st) == 0 && S_ISDIR(st.st_mode)) {
		if (o.proof != NULL)
			return verify_usage_error("%s", _("--proof is for two checkpoint files"));
		rc = ss_log_export_read(o.args[1], &log);
		if (rc != 0) {
			fprintf(stderr, _("shuangsui-verify: cannot read the log export %s\n"),
				o.args[1]);
			return rc == SS_ERR_IO ? SS_VERIFY_EXIT_IO : SS_VERIFY_EXIT_FORMAT;
		}
		new_cp = log->checkpoint;
	} else {
		if (o.proof == NULL)
			return verify_usage_error(
			    "%s", _("NEW is a checkpoint file: --proof FILE is required"));
		rc = verify_read(o.args[1], &new_data, &new_len);
		if (rc == 0)
			rc = verify_read(o.proof, &proof_data, &proof_len);
		if (rc != 0) {
			free(new_data);
			return rc;
		}
		new_cp.data = new_data;
		new_cp.len = new_len;
		proof.data = proof_data;
		proof.len = proof_len;
	}
	rc = verify_read(o.args[0], &old_data, &old_len);
	if (rc == 0) {
		old_cp.data = old_data;
		old_cp.len = old_len;
		ss_audit_consistency(&old_cp, &new_cp, pk, o.new_key != NULL ? npk : NULL, o.origin,
				     log == NULL ? &proof : NULL, log, &res);
		rc = verify_report(&res);
	}
	free(old_data);
	free(new_data);
	free(proof_data);
	ss_log_export_free(log);
	return rc;
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
	if (sodium_init() < 0) {
		fputs("shuangsui-verify: libsodium failed to initialise\n", stderr);
		return SS_VERIFY_EXIT_RESOURCES;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			verify_help();
			return SS_VERIFY_EXIT_OK;
		}
		if (c == 'V') {
			printf("shuangsui-verify %s\n", SS_PROGRAM_VERSION);
			return SS_VERIFY_EXIT_OK;
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
