/*
 * data.c — loading the shipped reference data.
 */
#include "data.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "calendar.h"
#include "division.h"
#include "ss_error.h"
#include "ss_log.h"

static int ss_data_overrides(struct ss_calendar *cal, const char *conninfo)
{
	PGconn *pg = PQconnectdb(conninfo);
	PGresult *res;
	int i, rc = 0;

	if (PQstatus(pg) != CONNECTION_OK) {
		ss_error("calendar overrides: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return SS_ERR_DATABASE_UNAVAILABLE;
	}
	res = PQexec(pg, "SELECT DISTINCT ON (day) day::text, off_day FROM calendar_overrides "
			 "ORDER BY day, id DESC");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ss_error("calendar overrides: %s", PQresultErrorMessage(res));
		rc = SS_ERR_INTERNAL;
	}
	for (i = 0; rc == 0 && i < PQntuples(res); i++) {
		int32_t day;

		if (ss_date_parse(PQgetvalue(res, i, 0), &day) == 0)
			ss_calendar_set_override(cal, day, PQgetvalue(res, i, 1)[0] == 't');
	}
	if (rc == 0)
		ss_info("calendar: %d override(s) from the database", PQntuples(res));
	PQclear(res);
	PQfinish(pg);
	return rc;
}

int ss_data_load(struct ss_server *srv, const char *data_dir, const char *conninfo)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/areacodes/result.csv", data_dir);
	srv->divisions = ss_divisions_load(path);
	if (srv->divisions == NULL)
		return SS_ERR_CONFIG;
	snprintf(path, sizeof(path), "%s/holiday-cn", data_dir);
	srv->calendar = ss_calendar_load(path);
	if (srv->calendar == NULL)
		return SS_ERR_CONFIG;
	ss_info("reference data: %u division codes, holiday calendar from %s",
		ss_divisions_count(srv->divisions), path);
	return ss_data_overrides(srv->calendar, conninfo);
}

void ss_data_free(struct ss_server *srv)
{
	ss_divisions_free(srv->divisions);
	ss_calendar_free(srv->calendar);
	srv->divisions = NULL;
	srv->calendar = NULL;
}
