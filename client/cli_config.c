/*
 * cli_config.c — reading client.ini and merging the command line over it.
 */
#define _GNU_SOURCE /* asprintf */
#include "cli_config.h"

#include <errno.h>
#include <ini.h>
#include <libintl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_error.h"

#define _(s) gettext(s)

/* What the inih callback needs: the settings and where the file lives. */
struct cli_config_parse {
	struct cli_config *cfg;
	char *dir;     /* directory of the file, for relative paths */
	char *bad_key; /* first unknown setting, "section.key" */
	int nomem;
};

static char *cli_config_path_default(void)
{
	const char *env = getenv("SHUANGSUI_CONFIG");
	const char *base = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *path = NULL;

	if (env != NULL && env[0] != '\0')
		return strdup(env);
	/* XDG Base Directory: a relative XDG_CONFIG_HOME is invalid and ignored. */
	if (base != NULL && base[0] == '/') {
		if (asprintf(&path, "%s/shuangsui/client.ini", base) < 0)
			return NULL;
		return path;
	}
	if (home == NULL || home[0] == '\0')
		return NULL;
	if (asprintf(&path, "%s/.config/shuangsui/client.ini", home) < 0)
		return NULL;
	return path;
}

/* Resolves a path from the file against the file's directory. */
static char *cli_config_resolve(const char *dir, const char *value)
{
	char *out = NULL;

	if (value[0] == '/' || dir == NULL)
		return strdup(value);
	if (asprintf(&out, "%s/%s", dir, value) < 0)
		return NULL;
	return out;
}

static int cli_config_set(char **slot, char *value, struct cli_config_parse *p)
{
	if (value == NULL) {
		p->nomem = 1;
		return 0;
	}
	free(*slot);
	*slot = value;
	return 1;
}

static int cli_config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cli_config_parse *p = user;
	struct cli_config *cfg = p->cfg;

	if (strcmp(section, "server") == 0) {
		if (strcmp(name, "host") == 0)
			return cli_config_set(&cfg->host, strdup(value), p);
		if (strcmp(name, "port") == 0)
			return cli_config_set(&cfg->port, strdup(value), p);
		if (strcmp(name, "ca") == 0)
			return cli_config_set(&cfg->ca, cli_config_resolve(p->dir, value), p);
	} else if (strcmp(section, "identity") == 0) {
		if (strcmp(name, "cert") == 0)
			return cli_config_set(&cfg->cert, cli_config_resolve(p->dir, value), p);
		if (strcmp(name, "key") == 0)
			return cli_config_set(&cfg->key, cli_config_resolve(p->dir, value), p);
	} else if (strcmp(section, "log") == 0) {
		if (strcmp(name, "key") == 0)
			return cli_config_set(&cfg->log_key, cli_config_resolve(p->dir, value), p);
		if (strcmp(name, "origin") == 0)
			return cli_config_set(&cfg->log_origin, strdup(value), p);
		if (strcmp(name, "checkpoint") == 0)
			return cli_config_set(&cfg->log_checkpoint, cli_config_resolve(p->dir, value), p);
	}
	/* A misspelt setting would otherwise be silently ignored; it is
	 * reported after the parse so that a syntax error's line stays exact. */
	if (p->bad_key == NULL && asprintf(&p->bad_key, "[%s] %s", section, name) < 0) {
		p->bad_key = NULL;
		p->nomem = 1;
	}
	return 1;
}

static char *cli_config_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return NULL; /* relative to the working directory */
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int cli_config_read_file(struct cli_config *cfg, char *why, size_t why_len)
{
	struct cli_config_parse p = {cfg, NULL, NULL, 0};
	FILE *f = fopen(cfg->path, "r");
	int line;
	int rc = SS_ERR_CONFIG;

	if (f == NULL) {
		/* Only a file the user named is required to exist. */
		if (errno == ENOENT && !cfg->explicit_path)
			return 0;
		snprintf(why, why_len, _("cannot read configuration file %s: %s"), cfg->path,
			 strerror(errno));
		return SS_ERR_CONFIG;
	}
	p.dir = cli_config_dirname(cfg->path);
	line = ini_parse_file(f, cli_config_handler, &p);
	if (p.nomem || line == -2) {
		rc = SS_ERR_NOMEM;
	} else if (line != 0) {
		snprintf(why, why_len, _("%s:%d: syntax error"), cfg->path, line);
	} else if (p.bad_key != NULL) {
		snprintf(why, why_len, _("%s: unknown setting %s"), cfg->path, p.bad_key);
	} else {
		cfg->file_found = 1;
		rc = 0;
	}
	fclose(f);
	free(p.dir);
	free(p.bad_key);
	return rc;
}

int cli_config_split_server(const char *spec, char **host, char **port)
{
	const char *colon;
	const char *end;

	*host = NULL;
	*port = NULL;
	if (spec[0] == '[') {
		/* "[2001:db8::1]:7443": brackets keep the address's colons apart. */
		end = strchr(spec, ']');
		if (end == NULL || end == spec + 1 || (end[1] != '\0' && end[1] != ':'))
			return SS_ERR_CONFIG;
		colon = end[1] == ':' ? end + 1 : NULL;
		*host = strndup(spec + 1, (size_t)(end - spec - 1));
	} else {
		colon = strchr(spec, ':');
		/* More than one colon without brackets: a bare IPv6 address. */
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL;
		end = colon != NULL ? colon : spec + strlen(spec);
		if (end == spec)
			return SS_ERR_CONFIG;
		*host = strndup(spec, (size_t)(end - spec));
	}
	if (*host == NULL)
		return SS_ERR_NOMEM;
	if (colon != NULL) {
		if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
		    strlen(colon + 1) > 5 || atoi(colon + 1) < 1 || atoi(colon + 1) > 65535) {
			free(*host);
			*host = NULL;
			return SS_ERR_CONFIG;
		}
		*port = strdup(colon + 1);
		if (*port == NULL) {
			free(*host);
			*host = NULL;
			return SS_ERR_NOMEM;
		}
	}
	return 0;
}

/* Replaces *slot by a copy of value when value is given. */
static int cli_config_override(char **slot, const char *value)
{
	char *copy;

	if (value == NULL)
		return 0;
	copy = strdup(value);
	if (copy == NULL)
		return SS_ERR_NOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

static int cli_config_apply_server(struct cli_config *cfg, const char *spec, char *why,
				   size_t why_len)
{
	char *host = NULL;
	char *port = NULL;
	int rc = cli_config_split_server(spec, &host, &port);

	if (rc == SS_ERR_CONFIG)
		snprintf(why, why_len, _("invalid --server %s: expected HOST or HOST:PORT"), spec);
	if (rc != 0)
		return rc;
	free(cfg->host);
	cfg->host = host;
	if (port != NULL) {
		free(cfg->port);
		cfg->port = port;
	}
	return 0;
}

static int cli_config_check_port(const struct cli_config *cfg, char *why, size_t why_len)
{
	const char *p = cfg->port;
	long n = strtol(p, NULL, 10);

	if (p[0] == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5 || n < 1 ||
	    n > 65535) {
		snprintf(why, why_len, _("invalid port \"%s\" in %s: expected 1..65535"), p,
			 cfg->path ? cfg->path : "?");
		return SS_ERR_CONFIG;
	}
	if (cfg->host[0] == '\0') {
		snprintf(why, why_len, _("empty server host in %s"), cfg->path ? cfg->path : "?");
		return SS_ERR_CONFIG;
	}
	return 0;
}

int cli_config_load(struct cli_config *cfg, const struct cli_overrides *ov, char *why,
		    size_t why_len)
{
	int rc = SS_ERR_NOMEM;

	memset(cfg, 0, sizeof(*cfg));
	why[0] = '\0';
	cfg->explicit_path =
	    ov->config != NULL || (getenv("SHUANGSUI_CONFIG") && getenv("SHUANGSUI_CONFIG")[0]);
	cfg->path = ov->config != NULL ? strdup(ov->config) : cli_config_path_default();
	cfg->host = strdup(CLI_DEFAULT_HOST);
	cfg->port = strdup(CLI_DEFAULT_PORT);
	if (cfg->host == NULL || cfg->port == NULL)
		goto out;
	if (cfg->path != NULL && (rc = cli_config_read_file(cfg, why, why_len)) != 0)
		goto out;
	if (ov->server != NULL &&
	    (rc = cli_config_apply_server(cfg, ov->server, why, why_len)) != 0)
		goto out;
	if ((rc = cli_config_override(&cfg->ca, ov->ca)) != 0 ||
	    (rc = cli_config_override(&cfg->cert, ov->cert)) != 0 ||
	    (rc = cli_config_override(&cfg->key, ov->key)) != 0)
		goto out;
	rc = cli_config_check_port(cfg, why, why_len);
out:
	if (rc == SS_ERR_NOMEM)
		snprintf(why, why_len, "%s", _("out of memory"));
	return rc;
}

static const char *cli_config_where(const struct cli_config *cfg)
{
	if (cfg->path == NULL)
		return _("(no configuration file: HOME is not set)");
	return cfg->path;
}

int cli_config_require_tls(const struct cli_config *cfg, char *why, size_t why_len)
{
	static const struct {
		const char *section;
		const char *key;
		const char *option;
	} need[] = {
	    {"server", "ca", "--ca"},
	    {"identity", "cert", "--cert"},
	    {"identity", "key", "--key"},
	};
	const char *have[] = {cfg->ca, cfg->cert, cfg->key};
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (have[i] != NULL && have[i][0] != '\0')
			continue;
		if (cfg->file_found)
			snprintf(
			    why, why_len,
			    _("setting \"%s\" in section [%s] is missing from %s (or give %s)"),
			    need[i].key, need[i].section, cli_config_where(cfg), need[i].option);
		else
			snprintf(why, why_len,
				 _("setting \"%s\" in section [%s] is required, but configuration "
				   "file %s does not exist (create it or give %s)"),
				 need[i].key, need[i].section, cli_config_where(cfg),
				 need[i].option);
		return SS_ERR_CONFIG;
	}
	return 0;
}

void cli_config_free(struct cli_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->host);
	free(cfg->port);
	free(cfg->ca);
	free(cfg->cert);
	free(cfg->key);
	free(cfg->log_key);
	free(cfg->log_origin);
	free(cfg->log_checkpoint);
	memset(cfg, 0, sizeof(*cfg));
}
