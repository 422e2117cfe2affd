/*
 * config.c — INI configuration with libinih.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "ss_error.h"
#include "ss_log.h"

#ifndef SS_SOURCE_SQL_DIR
#define SS_SOURCE_SQL_DIR "sql"
#endif
#ifndef SS_SOURCE_DATA_DIR
#define SS_SOURCE_DATA_DIR "data"
#endif

struct ss_config *ss_config_new(void)
{
	struct ss_config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->listen = strdup("127.0.0.1");
	c->sql_dir = strdup(SS_SOURCE_SQL_DIR);
	c->data_dir = strdup(SS_SOURCE_DATA_DIR);
	c->draw_log_origin = strdup("shuangsui.local/draw-log");
	if (c->listen == NULL || c->sql_dir == NULL || c->data_dir == NULL ||
	    c->draw_log_origin == NULL) {
		ss_config_free(c);
		return NULL;
	}
	c->port = 7443;
	c->max_connections = 256;
	c->max_frame_size = SS_FRAME_DEFAULT_MAX;
	c->handshake_timeout_ms = 10000;
	c->idle_timeout_ms = 60000;
	c->max_inflight = 16;
	c->max_output_pending = 4u * 1024 * 1024;
	c->log_level = SS_LOG_INFO;
	c->drain_timeout_ms = 30000;
	c->pool_size = 4;
	c->max_imports = 4;
	c->reconnect_max_ms = 5000;
	c->db_statement_timeout_ms = 600000;
	return c;
}

void ss_config_free(struct ss_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->listen);
	free(c->tls_ca);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_crl);
	free(c->db_conninfo);
	free(c->draw_key_file);
	free(c->draw_log_origin);
	free(c->db_migrate_conninfo);
	free(c->sql_dir);
	free(c->data_dir);
	free(c);
}

static int ss_config_num(const char *value, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < lo || v > hi)
		return SS_ERR_CONFIG;
	*out = v;
	return 0;
}

/* Resolves a file path relative to the configuration file's directory. */
static char *ss_config_path(const struct ss_config *c, const char *value)
{
	const char *slash;
	char *out;
	size_t dirlen;

	if (value[0] == '/' || value[0] == '\0' || c->path == NULL ||
	    (slash = strrchr(c->path, '/')) == NULL)
		return strdup(value);
	dirlen = (size_t)(slash - c->path);
	out = malloc(dirlen + 1 + strlen(value) + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, c->path, dirlen);
	out[dirlen] = '/';
	strcpy(out + dirlen + 1, value);
	return out;
}

enum ss_config_kind { SS_CFG_STR, SS_CFG_PATH, SS_CFG_INT, SS_CFG_U32, SS_CFG_U64, SS_CFG_LOG };

struct ss_config_key {
	const char *section, *name;
	enum ss_config_kind kind;
	size_t offset;
	long long lo, hi;
};

#define SS_OFF(f) offsetof(struct ss_config, f)
static const struct ss_config_key ss_config_keys[] = {
	{"server", "listen", SS_CFG_STR, SS_OFF(listen), 0, 0},
	{"server", "port", SS_CFG_INT, SS_OFF(port), 0, 65535},
	{"server", "max_connections", SS_CFG_INT, SS_OFF(max_connections), 1, 100000},
	{"server", "max_frame_size", SS_CFG_U32, SS_OFF(max_frame_size), 1024, SS_FRAME_HARD_MAX},
	{"server", "handshake_timeout_ms", SS_CFG_U64, SS_OFF(handshake_timeout_ms), 100, 600000},
	{"server", "idle_timeout_ms", SS_CFG_U64, SS_OFF(idle_timeout_ms), 100, 86400000},
	{"server", "max_inflight", SS_CFG_INT, SS_OFF(max_inflight), 1, 1024},
	{"server", "max_output_pending", SS_CFG_U64, SS_OFF(max_output_pending), 65536,
	 1LL << 32},
	{"server", "log_level", SS_CFG_LOG, SS_OFF(log_level), 0, 0},
	{"server", "data_dir", SS_CFG_PATH, SS_OFF(data_dir), 0, 0},
	{"server", "drain_timeout_ms", SS_CFG_U64, SS_OFF(drain_timeout_ms), 100, 3600000},
	{"tls", "ca", SS_CFG_PATH, SS_OFF(tls_ca), 0, 0},
	{"tls", "cert", SS_CFG_PATH, SS_OFF(tls_cert), 0, 0},
	{"tls", "key", SS_CFG_PATH, SS_OFF(tls_key), 0, 0},
	{"tls", "crl", SS_CFG_PATH, SS_OFF(tls_crl), 0, 0},
	{"database", "conninfo", SS_CFG_STR, SS_OFF(db_conninfo), 0, 0},
	{"database", "migrate_conninfo", SS_CFG_STR, SS_OFF(db_migrate_conninfo), 0, 0},
	{"database", "sql_dir", SS_CFG_PATH, SS_OFF(sql_dir), 0, 0},
	{"database", "pool_size", SS_CFG_INT, SS_OFF(pool_size), 1, 64},
	{"database", "max_imports", SS_CFG_INT, SS_OFF(max_imports), 1, 64},
	{"database", "reconnect_max_ms", SS_CFG_U64, SS_OFF(reconnect_max_ms), 10, 600000},
	{"database", "statement_timeout_ms", SS_CFG_U64, SS_OFF(db_statement_timeout_ms), 0,
	 86400000},
	{"draw", "key_file", SS_CFG_PATH, SS_OFF(draw_key_file), 0, 0},
	{"draw", "log_origin", SS_CFG_STR, SS_OFF(draw_log_origin), 0, 0},
};

static int ss_config_apply(struct ss_config *c, const char *section, const char *name,
			   const char *value)
{
	size_t i;

	for (i = 0; i < sizeof(ss_config_keys) / sizeof(ss_config_keys[0]); i++) {
		const struct ss_config_key *k = &ss_config_keys[i];
		char *field = (char *)c + k->offset;
		long long v;

		if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
			continue;
		switch (k->kind) {
		case SS_CFG_STR:
		case SS_CFG_PATH: {
			char *s = k->kind == SS_CFG_PATH ? ss_config_path(c, value) : strdup(value);

			if (s == NULL)
				return SS_ERR_NOMEM;
			free(*(char **)field);
			*(char **)field = s;
			return 0;
		}
		case SS_CFG_LOG:
			v = ss_log_level_parse(value);
			if (v < 0) {
				ss_error("%s.%s: expected error, warn, info or debug, not \"%s\"",
					 section, name, value);
				return SS_ERR_CONFIG;
			}
			*(int *)field = (int)v;
			return 0;
		default:
			if (ss_config_num(value, k->lo, k->hi, &v) != 0) {
				ss_error("%s.%s: expected a whole number from %lld to %lld, not \"%s\"",
					 section, name, k->lo, k->hi, value);
				return SS_ERR_CONFIG;
			}
			if (k->kind == SS_CFG_INT)
				*(int *)field = (int)v;
			else if (k->kind == SS_CFG_U32)
				*(uint32_t *)field = (uint32_t)v;
			else
				*(uint64_t *)field = (uint64_t)v;
			return 0;
		}
	}
	ss_error("unknown setting %s.%s", section, name);
	return SS_ERR_CONFIG;
}

static int ss_config_ini_handler(void *user, const char *section, const char *name,
				 const char *value)
{
	/* inih: nonzero means success. */
	return ss_config_apply(user, section, name, value) == 0;
}

int ss_config_load(struct ss_config *c, const char *path)
{
	int rc;

	free(c->path);
	c->path = strdup(path);
	if (c->path == NULL)
		return SS_ERR_NOMEM;
	rc = ini_parse(path, ss_config_ini_handler, c);
	if (rc < 0) {
		ss_error("%s: cannot read the configuration file", path);
		return SS_ERR_CONFIG;
	}
	if (rc > 0) {
		ss_error("%s:%d: invalid line", path, rc);
		return SS_ERR_CONFIG;
	}
	return 0;
}

int ss_config_set(struct ss_config *c, const char *assignment)
{
	const char *dot = strchr(assignment, '.');
	const char *eq = strchr(assignment, '=');
	char section[64], name[64];

	if (dot == NULL || eq == NULL || dot > eq || (size_t)(dot - assignment) >= sizeof(section) ||
	    (size_t)(eq - dot - 1) >= sizeof(name)) {
		ss_error("--set expects section.key=value, not \"%s\"", assignment);
		return SS_ERR_CONFIG;
	}
	memcpy(section, assignment, (size_t)(dot - assignment));
	section[dot - assignment] = '\0';
	memcpy(name, dot + 1, (size_t)(eq - dot - 1));
	name[eq - dot - 1] = '\0';
	return ss_config_apply(c, section, name, eq + 1);
}

int ss_config_check(const struct ss_config *c)
{
	int rc = 0;

	/* A revocation list is not optional: a lost office certificate must be
	 * refusable without re-keying the city. */
	if (c->tls_ca == NULL || c->tls_cert == NULL || c->tls_key == NULL || c->tls_crl == NULL ||
	    c->tls_ca[0] == '\0' || c->tls_cert[0] == '\0' || c->tls_key[0] == '\0' ||
	    c->tls_crl[0] == '\0') {
		ss_error("configuration: tls.ca, tls.cert, tls.key and tls.crl are required "
			 "(a revocation list may be empty of entries, but not absent)");
		rc = SS_ERR_CONFIG;
	}
	if (c->db_conninfo == NULL) {
		ss_error("configuration: database.conninfo is required");
		rc = SS_ERR_CONFIG;
	}
	return rc;
}
