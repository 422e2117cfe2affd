/*
 * population.h — a task's population from the rows of the draw's read
 * (ss_population_build with versions, server/plans.c).
 */
#ifndef SS_POPULATION_H
#define SS_POPULATION_H

#include <stddef.h>

#include <libpq-fe.h>

/*
 * pop holds rows (record_id, version, stratum; results in binary format,
 * version and stratum int4): versions of records, the
 * stratum NULL unless the version is eligible in it; a row of version 0
 * for each time an object was drawn this year, and rows of version -1
 * naming objects a plan rule excludes.  Keeps each record's latest
 * version, drops those with at least cap rows of version 0 (cap 0: no
 * cap) or a row of version -1, and fills ids and first (ns + 1 entries)
 * so that stratum i is ids[first[i] .. first[i + 1]), in strictly
 * increasing byte order.  ids must have room for PQntuples(pop) pointers
 * (into pop).  0, SS_ERR_NOMEM, or SS_ERR_INTERNAL for rows the query
 * cannot give (a stratum out of range, a version twice, a version below -1).
 */
int ss_population_latest(PGresult *pop, size_t ns, long cap, const char **ids, size_t *first);

#endif
