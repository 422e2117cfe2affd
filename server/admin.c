/*
 * admin.c — principal registration from the command line.
 */
#include "admin.h"

#include <getopt.h>
#include <libpq-fe.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "authz.h"
#include "ss_log.h"
#include "tls.h"
#include "validate.h"

static void ss_admin_principal_usage(FILE *f)
{
	fprintf(f, "usage: shuangsuid [--config FILE] principal-add --id ID --office OFFICE\n"
		   "           --role operator|legal|supervisor|auditor|admin --jurisdiction CODE\n"
		   "           --cert FILE [--reason TEXT]\n"
		   "Registers a client certificate (by its SHA-256 fingerprint) as a principal.\n"
		   "Re-running with the same data changes nothing; changed data makes a new version.\n");
}

static int ss_admin_fingerprint(const char *path, char hex[65])
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int rc;

	if (f == NULL) {
		ss_error("%s: cannot open the certificate", path);
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		ss_error("%s: not a PEM certificate", path);
		return -1;
	}
	rc = ss_tls_cert_fingerprint(x, hex);
	X509_free(x);
	return rc;
}

int ss_admin_principal_add(const struct ss_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{"id", required_argument, NULL, 'i'},	  {"office", required_argument, NULL, 'o'},
		{"role", required_argument, NULL, 'r'},	  {"jurisdiction", required_argument, NULL, 'j'},
		{"cert", required_argument, NULL, 'c'},	  {"reason", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0}};
	const char *id = NULL, *office = NULL, *role = NULL, *jur = NULL, *cert = NULL;
	const char *reason = "registered by the administrator";
	char fp[65], actor[96];
	struct passwd *pw = getpwuid(getuid());
	const char *params[7];
	PGconn *pg;
	PGresult *res;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i': id = optarg; break;
		case 'o': office = optarg; break;
		case 'r': role = optarg; break;
		case 'j': jur = optarg; break;
		case 'c': cert = optarg; break;
		case 'R': reason = optarg; break;
		case 'h': ss_admin_principal_usage(stdout); return 0;
		default: ss_admin_principal_usage(stderr); return 2;
		}
	}
	if (!id || !office || !role || !jur || !cert) {
		ss_admin_principal_usage(stderr);
		return 2;
	}
	if (ss_validate_principal_id(id) != 0 || ss_role_parse(role) < 0 ||
	    ss_validate_division_code(jur) != 0 || ss_validate_text(office, 1, 200) != 0 ||
	    ss_validate_text(reason, 2, 500) != 0) {
		ss_error("principal-add: invalid --id, --role, --jurisdiction, --office or --reason");
		return 2;
	}
	if (ss_admin_fingerprint(cert, fp) != 0)
		return 2;
	snprintf(actor, sizeof(actor), "system:%s", pw ? pw->pw_name : "unknown");
	params[0] = actor;
	params[1] = id;
	params[2] = office;
	params[3] = role;
	params[4] = jur;
	params[5] = fp;
	params[6] = reason;
	/* Registration is the owner's: the application role may not mint principals. */
	pg = PQconnectdb(cfg->db_migrate_conninfo ? cfg->db_migrate_conninfo : cfg->db_conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		ss_error("database: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return 3;
	}
	res = PQexecParams(pg, "SELECT principal_register($1, $2, $3, $4, $5, $6, $7)", 7, NULL,
			   params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		printf("%s\t%s\t%s\t%s\tversion %s\n", id, role, jur, fp, PQgetvalue(res, 0, 0));
		rc = 0;
	} else {
		ss_error("principal-add %s: %s", id, PQresultErrorMessage(res));
	}
	PQclear(res);
	PQfinish(pg);
	return rc;
}
