/*
 * main.c — shuangsuid: the city server.
 *
 *   shuangsuid [--config FILE] [--set section.key=value]... [COMMAND [ARGS]]
 *
 * Commands: run (the default) serves; migrate applies the SQL migrations and
 * exits; principal-add registers a client certificate; check-config loads
 * and checks the configuration.  Exit status: 0 success, 1 a runtime
 * failure (or the loop did not close cleanly), 2 usage or configuration.
 */
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "data.h"
#include "migrate.h"
#include "sd_notify.h"
#include "receipt.h"
#include "signature.h"
#include "server.h"
#include "ss_error.h"
#include "ss_log.h"

static void ss_usage(FILE *f)
{
	fprintf(f,
		"usage: shuangsuid [--config FILE] [--set section.key=value]... [COMMAND]\n"
		"\n"
		"Commands:\n"
		"  run            serve (default)\n"
		"  migrate        apply pending SQL migrations and exit\n"
		"  principal-add  register a client certificate as a principal (--help)\n"
		"  check-config   load and check the configuration, then exit\n"
		"  rotate-key NEW_KEY_FILE REASON\n"
		"                 with the server stopped: log a key rotation signed by the\n"
		"                 current draw key and the new one (then set draw.key_file)\n"
		"  keygen FILE    create the draw-signing key (Ed25519) in FILE, exclusively,\n"
		"                 mode 0600, and print its public key and key id\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE   INI configuration file\n"
		"  -s, --set S.K=V     override one setting, e.g. --set server.port=7444\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n"
		"\n"
		"Signals: SIGTERM/SIGINT finish requests in flight and exit; SIGHUP reloads the\n"
		"configuration, the TLS files and the certificate revocation list.\n"
		"Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n");
}

/* Loads the file (if any) and then the overrides, in order. */
static struct ss_config *ss_load_config(const char *path, char **overrides, int n)
{
	struct ss_config *cfg = ss_config_new();
	int i;

	if (cfg == NULL)
		return NULL;
	if (path != NULL && ss_config_load(cfg, path) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (ss_config_set(cfg, overrides[i]) != 0)
			goto fail;
	ss_log_set_level((enum ss_log_level)cfg->log_level);
	return cfg;
fail:
	ss_config_free(cfg);
	return NULL;
}

static SSL_CTX *ss_server_tls(const struct ss_config *cfg)
{
	return ss_tls_server_ctx_new(cfg->tls_ca, cfg->tls_cert, cfg->tls_key, cfg->tls_crl);
}

/* Bounds the graceful stop (server.drain_timeout_ms); one server per process. */
static uv_timer_t ss_drain_timer;

static void ss_on_handle_closed(uv_handle_t *h)
{
}

static void ss_on_pool_closed(void *arg)
{
	struct ss_server *srv = arg;

	uv_close((uv_handle_t *)&srv->sig_term, ss_on_handle_closed);
	uv_close((uv_handle_t *)&srv->sig_int, ss_on_handle_closed);
	uv_close((uv_handle_t *)&srv->sig_hup, ss_on_handle_closed);
	/* Closing the signal handle restored the default action, which ends the
	 * process: a late SIGHUP must not turn a clean stop into a kill. */
	signal(SIGHUP, SIG_IGN);
	if (!uv_is_closing((uv_handle_t *)&ss_drain_timer))
		uv_close((uv_handle_t *)&ss_drain_timer, ss_on_handle_closed);
}

/*
 * The drain did not finish in time (a statement that does not end, a peer
 * that does not read): close every connection, abort the statements on the
 * wire and exit with status 1.
 */
static void ss_on_drain_deadline(uv_timer_t *t)
{
	struct ss_server *srv = t->data;
	struct ss_pgpool *pool = srv->pool != NULL ? srv->pool : srv->closed_pool;
	struct ss_conn *c, *next;

	ss_error("stopping: drain timeout (%llu ms) with %d connection(s) open; closing them and "
		 "aborting the statements in flight",
		 (unsigned long long)srv->cfg->drain_timeout_ms, srv->nconns);
	srv->exit_code = 1;
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		ss_conn_close(c); /* replies still in flight are dropped */
	}
	if (pool != NULL) {
		/* The first call starts the close if the drain had not; a call on a
		 * closing pool aborts what is still on the wire.  srv->pool stays
		 * set until the last connection is freed: late queries are refused
		 * with SS_ERR_SHUTTING_DOWN by the closing pool. */
		ss_pgpool_close(pool, ss_on_pool_closed, srv);
		ss_pgpool_close(pool, ss_on_pool_closed, srv);
	}
}

void ss_server_drain(struct ss_server *srv)
{
	struct ss_conn *c, *next;

	if (!srv->draining) {
		srv->draining = 1;
		ss_sd_notify("STOPPING=1");
		ss_info("stopping: finishing requests in flight on %d connection(s)", srv->nconns);
		uv_timer_start(&ss_drain_timer, ss_on_drain_deadline, srv->cfg->drain_timeout_ms,
			       0);
		for (c = srv->conns; c != NULL; c = next) {
			next = c->next;
			if (c->inflight == 0)
				ss_conn_close(c);
		}
	}
	/* Only a listener that was opened, and not closed by a failed listen. */
	if (uv_handle_get_type((uv_handle_t *)&srv->listener) == UV_TCP &&
	    !uv_is_closing((uv_handle_t *)&srv->listener))
		uv_close((uv_handle_t *)&srv->listener, ss_on_handle_closed);
	if (srv->nconns == 0 && srv->pool != NULL) {
		struct ss_pgpool *pool = srv->pool;

		srv->pool = NULL;
		ss_pgpool_close(pool, ss_on_pool_closed, srv);
		srv->closed_pool = pool;
	}
}

static void ss_on_stop_signal(uv_signal_t *h, int signum)
{
	ss_server_drain(h->data);
}

static void ss_on_reload_signal(uv_signal_t *h, int signum)
{
	struct ss_server *srv = h->data;
	struct ss_config *cfg = ss_load_config(srv->config_path, srv->overrides, srv->noverrides);
	SSL_CTX *ctx;

	if (cfg == NULL || ss_config_check(cfg) != 0 || (ctx = ss_server_tls(cfg)) == NULL) {
		ss_error("reload failed; keeping the running configuration");
		ss_config_free(cfg);
		ss_log_set_level((enum ss_log_level)srv->cfg->log_level);
		return;
	}
	/* Open sessions were told the frame limit at Hello: it changes at restart. */
	if (cfg->max_frame_size != srv->cfg->max_frame_size) {
		ss_warn("server.max_frame_size changes at restart, not on reload");
		cfg->max_frame_size = srv->cfg->max_frame_size;
	}
	/* Existing SSL objects keep a reference to the old context. */
	SSL_CTX_free(srv->tls);
	srv->tls = ctx;
	ss_config_free(srv->cfg);
	srv->cfg = cfg;
	ss_info("configuration, TLS files and revocation list reloaded "
		"(listen address, frame size and database settings change at restart)");
	/* A certificate revoked now ends its open sessions too, not only new ones. */
	ss_server_recheck_certificates(srv);
}

static int ss_run(struct ss_server *srv)
{
	uv_loop_t loop;
	int rc;

	if (ss_config_check(srv->cfg) != 0)
		return 2;
	if (srv->cfg->db_migrate_conninfo != NULL &&
	    ss_migrate(srv->cfg->db_migrate_conninfo, srv->cfg->sql_dir) != 0)
		return 1;
	srv->tls = ss_server_tls(srv->cfg);
	if (srv->tls == NULL)
		return 2;
	if (ss_data_load(srv, srv->cfg->data_dir, srv->cfg->db_conninfo) != 0 ||
	    ss_draws_start(srv) != 0) {
		ss_draws_free(srv);
		ss_data_free(srv);
		SSL_CTX_free(srv->tls);
		return 1;
	}
	uv_loop_init(&loop);
	srv->loop = &loop;
	srv->pool = ss_pgpool_new(&loop, srv->cfg->db_conninfo, srv->cfg->pool_size,
				  srv->cfg->reconnect_max_ms, srv->cfg->db_statement_timeout_ms);
	uv_signal_init(&loop, &srv->sig_term);
	uv_signal_init(&loop, &srv->sig_int);
	uv_signal_init(&loop, &srv->sig_hup);
	uv_timer_init(&loop, &ss_drain_timer);
	ss_drain_timer.data = srv;
	srv->sig_term.data = srv->sig_int.data = srv->sig_hup.data = srv;
	uv_signal_start(&srv->sig_term, ss_on_stop_signal, SIGTERM);
	uv_signal_start(&srv->sig_int, ss_on_stop_signal, SIGINT);
	uv_signal_start(&srv->sig_hup, ss_on_reload_signal, SIGHUP);
	if (srv->pool == NULL || ss_server_listen(srv) != 0) {
		srv->exit_code = 1;
		if (srv->pool == NULL)
			ss_on_pool_closed(srv);
		srv->draining = 1;
		ss_server_drain(srv);
	} else {
		ss_sd_notify("READY=1");
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	ss_pgpool_free(srv->closed_pool);
	rc = uv_loop_close(&loop);
	if (rc != 0) {
		ss_error("event loop did not close cleanly: %s", uv_strerror(rc));
		srv->exit_code = 1;
	} else {
		ss_info("stopped");
	}
	SSL_CTX_free(srv->tls);
	ss_draws_free(srv);
	ss_data_free(srv);
	return srv->exit_code;
}

/*
 * keygen FILE: the randomness service's signing key.  The file is created
 * exclusively (an existing key is never replaced) with mode 0600; the key is
 * loaded back, which re-derives and compares its public key, before the
 * public key is printed for auditors.
 */
static int ss_keygen(int argc, char **argv)
{
	struct ss_key *key = NULL;
	char pub[SS_SIG_PUBLIC_KEY_STR_LEN + 2];
	char id[2 * SS_SIG_KEY_ID_LEN + 1], pubfile[4096];
	int rc;

	if (argc != 2) {
		ss_error("usage: shuangsuid keygen FILE");
		return 2;
	}
	rc = ss_key_generate(argv[1], NULL);
	if (rc == 0)
		rc = ss_key_load(argv[1], &key);
	if (rc != 0) {
		ss_error("keygen %s: %s", argv[1], ss_err_str(rc));
		return 1;
	}
	ss_key_public_string(key, pub);
	sodium_bin2hex(id, sizeof(id), ss_key_id(key), SS_SIG_KEY_ID_LEN);
	ss_key_free(key);
	/* The public key beside it, for auditors and clients (shuangsui-verify --key). */
	snprintf(pubfile, sizeof(pubfile), "%s.pub", argv[1]);
	strcat(pub, "\n");
	if (ss_file_write_new(pubfile, (const uint8_t *)pub, strlen(pub)) != 0) {
		ss_error("keygen: cannot create %s (it must not exist)", pubfile);
		return 1;
	}
	pub[strlen(pub) - 1] = '\0';
	printf("public key: %s\nkey id: %s\nkey file: %s (mode 0600)\npublic key file: %s\n", pub,
	       id, argv[1], pubfile);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"set", required_argument, NULL, 's'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {NULL, 0, NULL, 0}};
	struct ss_server srv;
	const char *cmd = "run";
	int ch, rc;

	/* A SIGHUP (reload) before the loop's handler is installed - during
	 * the migrations, say - must not end the process. */
	signal(SIGHUP, SIG_IGN);
	memset(&srv, 0, sizeof(srv));
	srv.overrides = calloc((size_t)argc + 1, sizeof(char *));
	if (srv.overrides == NULL)
		return 1;
	/* "+": stop at the command so that its own options are left to it. */
	while ((ch = getopt_long(argc, argv, "+c:s:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': srv.config_path = optarg; break;
		case 's': srv.overrides[srv.noverrides++] = optarg; break;
		case 'h': ss_usage(stdout); free(srv.overrides); return 0;
		case 'V': printf("shuangsuid %s\n", SS_PROGRAM_VERSION); free(srv.overrides); return 0;
		default: ss_usage(stderr); free(srv.overrides); return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind];
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		ss_error("libsodium could not be initialised");
		free(srv.overrides);
		return 1;
	}
	srv.cfg = ss_load_config(srv.config_path, srv.overrides, srv.noverrides);
	if (srv.cfg == NULL) {
		free(srv.overrides);
		return 2;
	}
	if (strcmp(cmd, "run") == 0) {
		rc = ss_run(&srv);
	} else if (strcmp(cmd, "migrate") == 0) {
		const char *ci = srv.cfg->db_migrate_conninfo ? srv.cfg->db_migrate_conninfo
							      : srv.cfg->db_conninfo;
		rc = ci == NULL ? 2 : (ss_migrate(ci, srv.cfg->sql_dir) == 0 ? 0 : 1);
		if (ci == NULL)
			ss_error("database.migrate_conninfo (or conninfo) is required");
	} else if (strcmp(cmd, "principal-add") == 0) {
		rc = srv.cfg->db_conninfo == NULL
			     ? (ss_error("database.conninfo is required"), 2)
			     : ss_admin_principal_add(srv.cfg, argc - optind, argv + optind);
	} else if (strcmp(cmd, "rotate-key") == 0) {
		if (argc - optind != 3) {
			ss_error("usage: shuangsuid --config FILE rotate-key NEW_KEY_FILE REASON");
			rc = 2;
		} else {
			rc = ss_draws_rotate(srv.cfg, argv[optind + 1], argv[optind + 2]) == 0 ? 0 : 1;
		}
	} else if (strcmp(cmd, "keygen") == 0) {
		rc = ss_keygen(argc - optind, argv + optind);
	} else if (strcmp(cmd, "check-config") == 0) {
		rc = ss_config_check(srv.cfg) == 0 ? 0 : 2;
	} else {
		ss_error("unknown command \"%s\" (see shuangsuid --help)", cmd);
		rc = 2;
	}
	ss_config_free(srv.cfg);
	free(srv.overrides);
	return rc;
}
