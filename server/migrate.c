/*
 * migrate.c — numbered SQL migrations.
 */
#include "migrate.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_error.h"
#include "ss_log.h"

#define SS_MIGRATE_LOCK "4925060119" /* arbitrary, fixed advisory lock key (a bigint) */

static int ss_migrate_name_ok(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 8 && d->d_name[0] >= '0' && d->d_name[0] <= '9' && d->d_name[1] >= '0' &&
	       d->d_name[1] <= '9' && d->d_name[2] >= '0' && d->d_name[2] <= '9' &&
	       d->d_name[3] == '_' && strcmp(d->d_name + n - 4, ".sql") == 0;
}

static char *ss_migrate_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static int ss_migrate_exec(PGconn *pg, const char *sql, int n, const char *const *params,
			   PGresult **out)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		ss_error("migration: %s", PQresultErrorMessage(res));
		PQclear(res);
		return SS_ERR_INTERNAL;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

static int ss_migrate_one(PGconn *pg, const char *dir, const char *name)
{
	char path[4096], version[4], hex[65];
	unsigned char md[crypto_hash_sha256_BYTES];
	const char *params[3] = {version, name, hex};
	PGresult *res = NULL;
	size_t len = 0;
	char *sql;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memcpy(version, name, 3);
	version[3] = '\0';
	sql = ss_migrate_read(path, &len);
	if (sql == NULL) {
		ss_error("migration: cannot read %s", path);
		return SS_ERR_IO;
	}
	crypto_hash_sha256(md, (const unsigned char *)sql, len);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	rc = ss_migrate_exec(pg, "SELECT sha256 FROM schema_migrations WHERE version = $1::int",
			     1, params, &res);
	if (rc != 0)
		goto out;
	if (PQntuples(res) == 1) {
		if (strcmp(PQgetvalue(res, 0, 0), hex) != 0) {
			ss_error("migration %s was changed after it was applied; "
				 "add a new migration instead",
				 name);
			rc = SS_ERR_CONFIG;
		}
		goto out;
	}
	ss_info("applying migration %s", name);
	if ((rc = ss_migrate_exec(pg, "BEGIN", 0, NULL, NULL)) != 0)
		goto out;
	res = (PQclear(res), PQexec(pg, sql));
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		ss_error("migration %s: %s", name, PQresultErrorMessage(res));
		rc = SS_ERR_INTERNAL;
	} else {
		rc = ss_migrate_exec(pg,
				     "INSERT INTO schema_migrations (version, name, sha256) "
				     "VALUES ($1::int, $2, $3)",
				     3, params, NULL);
	}
	if (ss_migrate_exec(pg, rc == 0 ? "COMMIT" : "ROLLBACK", 0, NULL, NULL) != 0)
		rc = SS_ERR_INTERNAL;
out:
	PQclear(res);
	free(sql);
	return rc;
}

/* Server notices ("already exists, skipping") belong in the debug log. */
static void ss_migrate_notice(void *arg, const char *message)
{
	ss_debug("database: %.*s", (int)strcspn(message, "\n"), message);
}

int ss_migrate(const char *conninfo, const char *sql_dir)
{
	struct dirent **names = NULL;
	PGconn *pg = PQconnectdb(conninfo);
	int i, n = 0, rc;

	if (PQstatus(pg) != CONNECTION_OK) {
		ss_error("migration: cannot connect to the database: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return SS_ERR_DATABASE_UNAVAILABLE;
	}
	PQsetNoticeProcessor(pg, ss_migrate_notice, NULL);
	rc = ss_migrate_exec(pg, "SELECT pg_advisory_lock(" SS_MIGRATE_LOCK ")", 0, NULL, NULL);
	if (rc == 0)
		rc = ss_migrate_exec(pg,
				     "CREATE TABLE IF NOT EXISTS schema_migrations ("
				     "version integer PRIMARY KEY, name text NOT NULL, "
				     "sha256 text NOT NULL, "
				     "applied_at timestamptz NOT NULL DEFAULT now())",
				     0, NULL, NULL);
	if (rc == 0) {
		n = scandir(sql_dir, &names, ss_migrate_name_ok, alphasort);
		if (n < 0) {
			ss_error("migration: cannot list %s", sql_dir);
			rc = SS_ERR_IO;
		}
	}
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = ss_migrate_one(pg, sql_dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	(void)ss_migrate_exec(pg, "SELECT pg_advisory_unlock(" SS_MIGRATE_LOCK ")", 0, NULL, NULL);
	PQfinish(pg);
	return rc;
}
