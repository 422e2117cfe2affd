/*
 * admin.h — shuangsuid's local administration commands (run by the
 * bureau's IT staff on the server machine, not over the network).
 */
#ifndef SS_ADMIN_H
#define SS_ADMIN_H

#include "config.h"

/*
 * principal-add: registers the certificate in --cert as principal --id with
 * --office, --role, --jurisdiction (and --reason), audited as
 * "system:<os user>".  Returns a process exit code.
 */
int ss_admin_principal_add(const struct ss_config *cfg, int argc, char **argv);

#endif
