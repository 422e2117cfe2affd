/*
 * migrate.h — numbered SQL migrations (sql/NNN_name.sql), applied in order.
 *
 * Run before the loop starts (blocking libpq is fine there).  An advisory
 * lock makes concurrent starts safe; each file runs in one transaction and
 * is recorded in schema_migrations with its SHA-256.  A file that changed
 * after it was applied stops the start: history is not rewritten.
 */
#ifndef SS_MIGRATE_H
#define SS_MIGRATE_H

/* Applies pending migrations from sql_dir.  Returns 0 or SS_ERR_* (logged). */
int ss_migrate(const char *conninfo, const char *sql_dir);

#endif
