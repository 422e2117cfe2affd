/*
 * cli_config.h — the client's settings: configuration file and command line.
 *
 * The file is INI (parsed with inih): section [server] with host, port and
 * ca; section [identity] with cert and key; section [log] with key, origin
 * and checkpoint (the draw log's consistency check, cli.c).  Relative paths in the file are
 * taken relative to the file's own directory, so a configuration directory
 * can be copied whole.  Its path is, first that is given: --config,
 * $SHUANGSUI_CONFIG, $XDG_CONFIG_HOME/shuangsui/client.ini,
 * ~/.config/shuangsui/client.ini.  Command-line options override the file.
 */
#ifndef CLI_CONFIG_H
#define CLI_CONFIG_H

#include <stddef.h>

#define CLI_DEFAULT_HOST "localhost"
#define CLI_DEFAULT_PORT "7443"

struct cli_config {
	char *path;	   /* the file consulted; NULL if none could be named */
	int explicit_path; /* the path came from --config or SHUANGSUI_CONFIG */
	int file_found;	   /* the file existed and was read */
	char *host;	   /* never NULL after cli_config_load */
	char *port;	   /* never NULL after cli_config_load */
	char *ca;
	char *cert;
	char *key;
	/* [log]: the draw log's public key (a file with the key string), its
	 * checkpoint origin, and the file keeping the last checkpoint accepted
	 * (default: checkpoint beside the configuration file). */
	char *log_key;
	char *log_origin;
	char *log_checkpoint;
};

/* Settings given on the command line; NULL where not given. */
struct cli_overrides {
	const char *config; /* --config */
	const char *server; /* --server HOST[:PORT] */
	const char *ca;
	const char *cert;
	const char *key;
};

/*
 * Fills cfg from the file and the overrides.  Returns 0, or SS_ERR_CONFIG
 * with a translated sentence in why (naming the file and, for a parse
 * error, the line), or SS_ERR_NOMEM.  cfg is cleared on entry; the caller
 * frees it with cli_config_free() whatever the result.
 */
int cli_config_load(struct cli_config *cfg, const struct cli_overrides *ov, char *why,
		    size_t why_len);

/*
 * Checks that ca, cert and key are all set.  Returns 0, or SS_ERR_CONFIG
 * with a sentence in why that names the missing setting and the file.
 */
int cli_config_require_tls(const struct cli_config *cfg, char *why, size_t why_len);

/*
 * Splits "HOST", "HOST:PORT" or "[V6ADDR]:PORT".  *host and *port are
 * malloc'd (the caller frees); *port is NULL when no port was given.
 * Returns 0, SS_ERR_CONFIG for an empty host or bad port, or SS_ERR_NOMEM.
 */
int cli_config_split_server(const char *spec, char **host, char **port);

/* Releases everything in cfg; cfg may be zeroed or NULL. */
void cli_config_free(struct cli_config *cfg);

#endif
