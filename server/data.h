/*
 * data.h — the reference data the server ships with and loads at start:
 * GB/T 2260 division codes (data/areacodes) and the official working-day
 * calendar (data/holiday-cn) with the administrators' overrides from the
 * database.  Loaded before the loop starts (blocking is fine there).
 */
#ifndef SS_DATA_H
#define SS_DATA_H

#include "server.h"

/* Loads srv->divisions and srv->calendar from data_dir and the overrides
 * through conninfo.  Returns 0 or SS_ERR_* (logged). */
int ss_data_load(struct ss_server *srv, const char *data_dir, const char *conninfo);

/* Frees what ss_data_load loaded. */
void ss_data_free(struct ss_server *srv);

#endif
