/*
 * config.h — shuangsuid configuration: INI file (libinih) plus overrides.
 *
 * Sections and keys (defaults in brackets):
 *   [server]   listen [127.0.0.1]  port [7443]  max_connections [256]
 *              max_frame_size [1048576]  handshake_timeout_ms [10000]
 *              idle_timeout_ms [60000]  max_inflight [16]
 *              max_output_pending [4194304]  log_level [info]
 *              data_dir [<source>/data]  (division codes, holiday calendar)
 *              drain_timeout_ms [30000]  (SIGTERM: then close everything, exit 1)
 *   [tls]      ca  cert  key  crl          (PEM files; all four required)
 *   [database] conninfo  migrate_conninfo  pool_size [4]
 *              sql_dir [<source>/sql]  reconnect_max_ms [5000]
 *              max_imports [4]  (bulk imports at once: each holds a connection)
 *              statement_timeout_ms [600000]  (0: none; an options= in
 *              conninfo replaces it)
 * Relative file paths are taken relative to the configuration file.
 */
#ifndef SS_CONFIG_H
#define SS_CONFIG_H

#include <stdint.h>

struct ss_config {
	char *path; /* the file read, or NULL */
	char *listen;
	int port;
	int max_connections;
	uint32_t max_frame_size;
	uint64_t handshake_timeout_ms;
	uint64_t idle_timeout_ms;
	int max_inflight;
	uint64_t max_output_pending;
	int log_level;
	uint64_t drain_timeout_ms;
	char *tls_ca, *tls_cert, *tls_key, *tls_crl;
	char *db_conninfo, *db_migrate_conninfo, *sql_dir;
	char *data_dir;
	int pool_size;
	int max_imports;
	uint64_t reconnect_max_ms;
	uint64_t db_statement_timeout_ms;
	char *draw_key_file;   /* the randomness service's Ed25519 key (shuangsuid keygen) */
	char *draw_log_origin; /* the origin line of the log's checkpoints */
};

/* Returns a config with defaults, or NULL on allocation failure.  Free with ss_config_free(). */
struct ss_config *ss_config_new(void);
void ss_config_free(struct ss_config *c);

/*
 * Reads the INI file at path into c.  Returns 0, or SS_ERR_CONFIG with the
 * file, line and key logged.
 */
int ss_config_load(struct ss_config *c, const char *path);

/* Applies one "section.key=value" override.  Returns 0 or SS_ERR_CONFIG (logged). */
int ss_config_set(struct ss_config *c, const char *assignment);

/* Checks that the settings needed to serve are present and sane; logs what is wrong. */
int ss_config_check(const struct ss_config *c);

#endif
