/*
 * cmd_directory.c — the directories (一单两库) from the terminal:
 *   shuangsui entity|project|inspector|item|conflict
 *       list | get | history | set | import | export
 * One implementation serves every directory: the columns come from
 * common/dirschema.c and travel in every reply.
 */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_output.h"
#include "dirschema.h"
#include "ss_error.h"
#include "ss_lang.h"
#include "table_reader.h"
#include "table_writer.h"
#include "validate.h"

#define DIR_MAX_FILTERS 16
#define DIR_IMPORT_WINDOW 4               /* chunks in flight */
#define DIR_IMPORT_CHUNK_BYTES (512 * 1024) /* well under the 1 MiB frame */
#define DIR_IMPORT_CHUNK_ROWS 5000

/* "entity set", "inspector import", ...: the command as the user typed it, for messages. */
static char dir_cmd[64];

struct dir_opts {
	const char *as_of;
	const char *reason;
	const char *output;
	const char *key;
	const char *format;
	Shuangsui__V1__Filter filters[DIR_MAX_FILTERS];
	Shuangsui__V1__Filter *filter_ptrs[DIR_MAX_FILTERS];
	size_t nfilters;
	uint64_t limit;
	int all;
	int dry_run;
	int help;
};

/* The label of column c in the user's language. */
static const char *dir_label(const struct ss_column *c)
{
	return ss_lang_is_zh() ? c->zh : c->name;
}

static int dir_parse(const char *cmd, int argc, char **argv, struct dir_opts *o)
{
	static const struct option opts[] = {
	    {"as-of", required_argument, NULL, 'd'},   {"filter", required_argument, NULL, 'f'},
	    {"limit", required_argument, NULL, 'l'},   {"all", no_argument, NULL, 'A'},
	    {"reason", required_argument, NULL, 'r'},  {"output", required_argument, NULL, 'o'},
	    {"format", required_argument, NULL, 'F'},  {"dry-run", no_argument, NULL, 'n'},
	    {"idempotency-key", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o->as_of = optarg; break;
		case 'r': o->reason = optarg; break;
		case 'o': o->output = optarg; break;
		case 'F': o->format = optarg; break;
		case 'k': o->key = optarg; break;
		case 'A': o->all = 1; break;
		case 'n': o->dry_run = 1; break;
		case 'h': o->help = 1; return CLI_EXIT_OK;
		case 'l':
			if (cli_parse_u64(optarg, 1, 5000, &o->limit) != 0)
				return cli_usage_error(cmd, "%s", _("--limit must be 1..5000"));
			break;
		case 'f': {
			char *eq = strchr(optarg, '=');
			Shuangsui__V1__Filter *f;

			if (eq == NULL || o->nfilters == DIR_MAX_FILTERS)
				return cli_usage_error(cmd, "%s",
						       _("--filter takes COLUMN=VALUE (at most 16)"));
			f = &o->filters[o->nfilters];
			shuangsui__v1__filter__init(f);
			*eq = '\0';
			f->column = optarg;
			f->value = eq + 1;
			o->filter_ptrs[o->nfilters++] = f;
			break;
		}
		default: return cli_option_error(cmd, c, argv);
		}
	}
	return CLI_EXIT_OK;
}

/* ---- list and export: pages of DirectoryQuery ---- */

typedef int (*dir_page_fn)(void *arg, const Shuangsui__V1__DirectoryQueryReply *page);

static int dir_query_pages(struct cli *cli, const struct ss_dirschema *s, struct dir_opts *o,
			   uint32_t limit, int follow, dir_page_fn fn, void *arg)
{
	struct cli_session *sess;
	char *after = strdup("");
	int rc = cli_connect(cli, &sess);

	if (rc != CLI_EXIT_OK || after == NULL) {
		free(after);
		return rc != CLI_EXIT_OK ? rc : CLI_EXIT_CONFIG;
	}
	for (;;) {
		SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
		Shuangsui__V1__DirectoryQuery q = SHUANGSUI__V1__DIRECTORY_QUERY__INIT;
		const Shuangsui__V1__DirectoryQueryReply *page;

		q.directory = (char *)s->name;
		q.as_of = (char *)(o->as_of ? o->as_of : "");
		q.after_record_id = after;
		q.limit = limit;
		q.n_filters = o->nfilters;
		q.filters = o->filter_ptrs;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_DIRECTORY_QUERY;
		env.directory_query = &q;
		rc = cli_call(cli, sess, &env, SHUANGSUI__V1__ENVELOPE__BODY_DIRECTORY_QUERY_REPLY,
			      &reply);
		if (rc != CLI_EXIT_OK)
			break;
		page = reply->directory_query_reply;
		if (page->n_columns != s->ncols) {
			rc = cli_fail(cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
				      _("the server's columns differ from this client's; "
					"update the client"));
			shuangsui__v1__envelope__free_unpacked(reply, NULL);
			break;
		}
		rc = fn(arg, page);
		free(after);
		after = strdup(page->next_after_record_id);
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
		if (rc != CLI_EXIT_OK || after == NULL || after[0] == '\0' || !follow)
			break;
	}
	free(after);
	cli_session_free(sess);
	return rc;
}

struct dir_list_out {
	const struct ss_dirschema *s;
	struct cli_table *table;
	struct json_object *records;
	int json;
	char next[256];
};

static struct json_object *dir_record_json(const struct ss_dirschema *s,
					   const Shuangsui__V1__Record *r)
{
	struct json_object *o = json_object_new_object(), *v = json_object_new_object();
	char when[64];
	size_t i;

	json_object_object_add(o, "record_id", cli_json_str(r->record_id));
	json_object_object_add(o, "version", json_object_new_int64(r->version));
	json_object_object_add(o, "changed_at",
			       cli_json_str(cli_time_local(r->changed_at_unix_ms, 0, when, sizeof(when))));
	json_object_object_add(o, "changed_by", cli_json_str(r->changed_by));
	json_object_object_add(o, "reason", cli_json_str(r->reason));
	if (r->division_abolished)
		json_object_object_add(o, "division_abolished", json_object_new_boolean(1));
	for (i = 0; i < s->ncols && i < r->n_values; i++)
		json_object_object_add(v, s->cols[i].name, cli_json_str(r->values[i]));
	json_object_object_add(o, "values", v);
	return o;
}

static int dir_list_page(void *arg, const Shuangsui__V1__DirectoryQueryReply *page)
{
	struct dir_list_out *out = arg;
	const char *cells[2 + 64];
	size_t i, j;

	for (i = 0; i < page->n_records; i++) {
		const Shuangsui__V1__Record *r = page->records[i];
		char ver[16];

		if (out->json) {
			json_object_array_add(out->records, dir_record_json(out->s, r));
			continue;
		}
		snprintf(ver, sizeof(ver), "%u", r->version);
		cells[0] = r->record_id;
		cells[1] = ver;
		for (j = 0; j < out->s->ncols; j++)
			cells[2 + j] = j < r->n_values ? r->values[j] : "";
		if (cli_table_add(out->table, cells) != 0)
			return CLI_EXIT_CONFIG;
	}
	snprintf(out->next, sizeof(out->next), "%s", page->next_after_record_id);
	return CLI_EXIT_OK;
}

static int dir_list(struct cli *cli, const struct ss_dirschema *s, struct dir_opts *o)
{
	struct dir_list_out out = {s, NULL, NULL, cli->json, ""};
	const char *headings[2 + 64];
	size_t i;
	int rc;

	headings[0] = _("ID");
	headings[1] = _("VERSION");
	for (i = 0; i < s->ncols; i++)
		headings[2 + i] = dir_label(&s->cols[i]);
	out.table = cli_table_new(2 + s->ncols, headings);
	out.records = json_object_new_array();
	rc = dir_query_pages(cli, s, o, (uint32_t)o->limit, o->all, dir_list_page, &out);
	if (rc == CLI_EXIT_OK) {
		if (cli->json) {
			struct json_object *j = json_object_new_object();

			json_object_object_add(j, "records", json_object_get(out.records));
			json_object_object_add(j, "next_after_record_id", cli_json_str(out.next));
			cli_json_emit(j);
		} else {
			cli_table_print(out.table);
			if (out.next[0] != '\0')
				fprintf(stderr, _("(more: --all, or the next page is after %s)\n"),
					out.next);
		}
	}
	json_object_put(out.records);
	cli_table_free(out.table);
	return rc;
}

struct dir_export_out {
	const struct ss_dirschema *s;
	struct ss_table_writer *w;
	uint64_t rows;
};

static int dir_export_page(void *arg, const Shuangsui__V1__DirectoryQueryReply *page)
{
	struct dir_export_out *out = arg;
	size_t i;

	for (i = 0; i < page->n_records; i++) {
		if (page->records[i]->n_values != out->s->ncols ||
		    ss_table_writer_row(out->w, (const char *const *)page->records[i]->values) != 0)
			return CLI_EXIT_CONFIG;
		out->rows++;
	}
	return CLI_EXIT_OK;
}

static int dir_export(struct cli *cli, const struct ss_dirschema *s, struct dir_opts *o)
{
	const char *header[64];
	int text[64];
	struct dir_export_out out = {s, NULL, 0};
	enum ss_table_format fmt = SS_TABLE_CSV;
	char err[256];
	size_t i, n;
	int rc;

	if (o->output == NULL)
		return cli_usage_error(dir_cmd, "%s", _("give the output file with -o FILE"));
	n = strlen(o->output);
	if ((o->format && strcmp(o->format, "xlsx") == 0) ||
	    (!o->format && n > 5 && strcasecmp(o->output + n - 5, ".xlsx") == 0))
		fmt = SS_TABLE_XLSX;
	else if (o->format && strcmp(o->format, "csv") != 0)
		return cli_usage_error(dir_cmd, "%s", _("--format is csv or xlsx"));
	for (i = 0; i < s->ncols; i++) {
		/* Chinese headers: the import reads them back, and bureaus read them. */
		header[i] = s->cols[i].zh;
		text[i] = s->cols[i].as_text;
	}
	out.w = ss_table_writer_open(o->output, fmt, header, s->ncols, text, err, sizeof(err));
	if (out.w == NULL)
		return cli_fail(cli, CLI_EXIT_CONFIG, "IO", "%s", err);
	rc = dir_query_pages(cli, s, o, 5000, 1, dir_export_page, &out);
	if (rc != CLI_EXIT_OK) {
		ss_table_writer_abort(out.w); /* never a partial file in place */
		return rc;
	}
	if (ss_table_writer_close(out.w) != 0)
		return cli_fail(cli, CLI_EXIT_CONFIG, "IO", _("%s: could not be written"), o->output);
	if (cli->json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "file", cli_json_str(o->output));
		json_object_object_add(j, "rows", json_object_new_int64((int64_t)out.rows));
		cli_json_emit(j);
	} else {
		printf(_("%" PRIu64 " record(s) of %s written to %s\n"), out.rows,
		       ss_lang_is_zh() ? s->zh : s->name, o->output);
	}
	return CLI_EXIT_OK;
}

/* ---- get, history ---- */

static void dir_print_record(const struct ss_dirschema *s, const Shuangsui__V1__Record *r)
{
	char when[64], ver[16];
	size_t i, w = 0;

	for (i = 0; i < s->ncols; i++)
		if (cli_display_width(dir_label(&s->cols[i])) > w)
			w = cli_display_width(dir_label(&s->cols[i]));
	for (i = 0; i < s->ncols && i < r->n_values; i++) {
		const struct ss_column *c = &s->cols[i];
		const char *v = r->values[i];

		if (c->type == SS_COL_ENUM && ss_lang_is_zh())
			v = ss_dirschema_enum_zh(c, v);
		cli_print_field(dir_label(c), w + 1, v);
	}
	snprintf(ver, sizeof(ver), "%u", r->version);
	cli_print_field(_("version"), w + 1, ver);
	cli_print_field(_("changed at"), w + 1,
			cli_time_local(r->changed_at_unix_ms, 0, when, sizeof(when)));
	cli_print_field(_("changed by"), w + 1, r->changed_by);
	cli_print_field(_("reason"), w + 1, r->reason);
	if (r->division_abolished)
		cli_print_field(_("note"), w + 1, _("the division code has been abolished (GB/T 2260)"));
}

static int dir_get(struct cli *cli, const struct ss_dirschema *s, struct dir_opts *o, const char *id)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	Shuangsui__V1__RecordGet g = SHUANGSUI__V1__RECORD_GET__INIT;
	struct cli_session *sess;
	int rc = cli_connect(cli, &sess);

	if (rc != CLI_EXIT_OK)
		return rc;
	g.directory = (char *)s->name;
	g.record_id = (char *)id;
	g.as_of = (char *)(o->as_of ? o->as_of : "");
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_RECORD_GET;
	env.record_get = &g;
	rc = cli_call(cli, sess, &env, SHUANGSUI__V1__ENVELOPE__BODY_RECORD_GET_REPLY, &reply);
	if (rc == CLI_EXIT_OK) {
		if (cli->json)
			cli_json_emit(dir_record_json(s, reply->record_get_reply->record));
		else
			dir_print_record(s, reply->record_get_reply->record);
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	}
	cli_session_free(sess);
	return rc;
}

/* Prints version r and what changed from the values in prev (NULL: the first version). */
static void dir_print_version(const struct ss_dirschema *s, const Shuangsui__V1__Record *r,
			      char *const *prev)
{
	char when[64];
	size_t i;

	printf(_("version %u  %s  %s  reason: %s\n"), r->version,
	       cli_time_local(r->changed_at_unix_ms, 0, when, sizeof(when)), r->changed_by,
	       r->reason);
	for (i = 0; i < s->ncols && i < r->n_values; i++) {
		if (prev != NULL && strcmp(prev[i], r->values[i]) == 0)
			continue;
		if (prev == NULL && r->values[i][0] == '\0')
			continue;
		printf("    %s: ", dir_label(&s->cols[i]));
		if (prev != NULL) {
			cli_print_padded(stdout, prev[i], 0);
			printf(" -> ");
		}
		cli_print_padded(stdout, r->values[i], 0);
		printf("\n");
	}
}

static void dir_values_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* Every version, page by page: who, when, why, and what changed from the one before. */
static int dir_history(struct cli *cli, const struct ss_dirschema *s, const char *id)
{
	struct json_object *arr = json_object_new_array();
	char **prev = NULL;
	struct cli_session *sess;
	uint32_t after = 0;
	int rc = cli_connect(cli, &sess);

	if (rc != CLI_EXIT_OK) {
		json_object_put(arr);
		return rc;
	}
	for (;;) {
		SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
		Shuangsui__V1__RecordHistory h = SHUANGSUI__V1__RECORD_HISTORY__INIT;
		const Shuangsui__V1__RecordHistoryReply *page;
		size_t v, i;

		h.directory = (char *)s->name;
		h.record_id = (char *)id;
		h.after_version = after;
		env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_RECORD_HISTORY;
		env.record_history = &h;
		rc = cli_call(cli, sess, &env, SHUANGSUI__V1__ENVELOPE__BODY_RECORD_HISTORY_REPLY,
			      &reply);
		if (rc != CLI_EXIT_OK)
			break;
		page = reply->record_history_reply;
		for (v = 0; v < page->n_versions; v++) {
			const Shuangsui__V1__Record *r = page->versions[v];

			if (r->n_values != s->ncols)
				continue;
			if (cli->json) {
				json_object_array_add(arr, dir_record_json(s, r));
				continue;
			}
			dir_print_version(s, r, prev);
			dir_values_free(prev, s->ncols);
			prev = calloc(s->ncols, sizeof(char *));
			for (i = 0; prev != NULL && i < s->ncols; i++)
				if ((prev[i] = strdup(r->values[i])) == NULL) {
					/* Out of memory: the next version prints in full. */
					dir_values_free(prev, s->ncols);
					prev = NULL;
				}
		}
		/* A cursor that does not move forward would loop: stop. */
		after = page->next_after_version > after ? page->next_after_version : 0;
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
		if (after == 0)
			break;
	}
	if (rc == CLI_EXIT_OK && cli->json)
		cli_json_emit(json_object_get(arr));
	json_object_put(arr);
	dir_values_free(prev, s->ncols);
	cli_session_free(sess);
	return rc;
}

/* ---- set ---- */

static int dir_set(struct cli *cli, const struct ss_dirschema *s, struct dir_opts *o, const char *id,
		   int nassign, char **assign)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	Shuangsui__V1__RecordPut p = SHUANGSUI__V1__RECORD_PUT__INIT;
	char *cols[66], *vals[66], key[33];
	unsigned char rnd[16];
	struct cli_session *sess;
	int i, n = 0, rc;

	if (o->reason == NULL || ss_validate_text(o->reason, 2, 500) != 0)
		return cli_usage_error(dir_cmd, "%s", _("--reason TEXT (2 to 500 characters) is required"));
	if (nassign < 1 || nassign > 64)
		return cli_usage_error(dir_cmd, "%s", _("give one or more COLUMN=VALUE"));
	if (s->key_col2 != SS_NO_COL) {
		/* conflict ids are "inspector|object" */
		const char *bar = strchr(id, '|');

		if (bar == NULL)
			return cli_usage_error(dir_cmd, "%s", _("this directory's ids are A|B"));
		cols[n] = (char *)s->cols[s->key_col].name;
		vals[n++] = strndup(id, (size_t)(bar - id));
		cols[n] = (char *)s->cols[s->key_col2].name;
		vals[n++] = strdup(bar + 1);
	} else {
		cols[n] = (char *)s->cols[s->key_col].name;
		vals[n++] = strdup(id);
	}
	for (i = 0; i < nassign; i++) {
		char *eq = strchr(assign[i], '=');

		if (eq == NULL) {
			rc = cli_usage_error(dir_cmd, _("\"%s\" is not COLUMN=VALUE"), assign[i]);
			goto out;
		}
		cols[n] = strndup(assign[i], (size_t)(eq - assign[i]));
		vals[n++] = strdup(eq + 1);
	}
	if (o->key == NULL) {
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(key, sizeof(key), rnd, sizeof(rnd));
	}
	rc = cli_connect(cli, &sess);
	if (rc != CLI_EXIT_OK)
		goto out;
	p.directory = (char *)s->name;
	p.n_columns = p.n_values = (size_t)n;
	p.columns = cols;
	p.values = vals;
	p.reason = (char *)o->reason;
	env.idempotency_key = (char *)(o->key ? o->key : key);
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_RECORD_PUT;
	env.record_put = &p;
	rc = cli_call(cli, sess, &env, SHUANGSUI__V1__ENVELOPE__BODY_RECORD_PUT_REPLY, &reply);
	if (rc == CLI_EXIT_OK) {
		const Shuangsui__V1__RecordPutReply *r = reply->record_put_reply;

		if (cli->json) {
			struct json_object *j = dir_record_json(s, r->record);

			json_object_object_add(j, "changed", json_object_new_boolean(r->changed));
			cli_json_emit(j);
		} else if (r->changed) {
			printf(_("%s is now at version %u\n"), r->record->record_id, r->record->version);
		} else {
			printf(_("%s unchanged (already so at version %u)\n"), r->record->record_id,
			       r->record->version);
		}
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	}
	cli_session_free(sess);
out:
	for (i = 0; i < n; i++) {
		if (i >= (s->key_col2 != SS_NO_COL ? 2 : 1))
			free(cols[i]);
		free(vals[i]);
	}
	return rc;
}

/* ---- import ---- */

struct dir_import {
	struct cli *cli;
	struct cli_session *sess;
	const struct ss_dirschema *s;
	uint64_t import_id;
	size_t nrows;
	size_t bytes; /* what the chunk's rows may take, reckoned as for an ImportRow each */
	/* The chunk's rows, packed once as ImportChunk.packed_rows (one bytes
	 * field, docs/protocol.md §7.12) in a buffer of twice a chunk's size. */
	uint8_t *packed;
	size_t packed_len;
	uint32_t seq;
	int in_flight;
	uint64_t accepted;
	uint64_t rows_sent;
	uint64_t error_count;
	struct json_object *errors; /* every error reported, for the report */
	int progress;
};

/*
 * The file's SHA-256, read before the first row is sent: OpenSSL's, which
 * uses the processor's SHA extensions where present (a large file is hashed
 * several times faster than by the portable code).
 */
static int dir_file_sha256(const char *path, char hex[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[1 << 17], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = -1;

	if (f == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (EVP_DigestUpdate(ctx, buf, n) != 1)
			goto out;
	if (ferror(f) || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	sodium_bin2hex(hex, 65, md, 32);
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static void dir_import_add_error(struct dir_import *im, const Shuangsui__V1__RowError *e)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "line", json_object_new_int64((int64_t)e->line));
	json_object_object_add(o, "column", cli_json_str(e->column));
	json_object_object_add(o, "value", cli_json_str(e->value));
	json_object_object_add(o, "message", cli_json_str(ss_lang_is_zh() ? e->message_zh
									  : e->message_en));
	json_object_array_add(im->errors, o);
}

static void dir_import_clear_rows(struct dir_import *im)
{
	im->nrows = 0;
	im->bytes = 0;
	im->packed_len = 0;
}

/* Reads one chunk reply and records its errors. */
static int dir_import_recv(struct dir_import *im)
{
	SsEnvelope *reply = NULL;
	int rc = cli_session_recv(im->sess, &reply);
	size_t i;

	if (rc != 0)
		return cli_report_session(im->cli, im->sess, rc);
	im->in_flight--;
	if (reply->body_case == SHUANGSUI__V1__ENVELOPE__BODY_ERROR) {
		rc = cli_report_server_error(im->cli, reply->error);
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
		return rc;
	}
	if (reply->body_case != SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK_REPLY) {
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
		return cli_fail(im->cli, CLI_EXIT_PROTOCOL, "PROTOCOL", "%s",
				_("unexpected reply to an import chunk"));
	}
	im->accepted += reply->import_chunk_reply->rows_accepted;
	for (i = 0; i < reply->import_chunk_reply->n_errors; i++)
		dir_import_add_error(im, reply->import_chunk_reply->errors[i]);
	im->error_count += reply->import_chunk_reply->n_errors;
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
}

static int dir_import_flush(struct dir_import *im)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__ImportChunk ch = SHUANGSUI__V1__IMPORT_CHUNK__INIT;
	int rc;

	if (im->nrows == 0)
		return CLI_EXIT_OK;
	while (im->in_flight >= DIR_IMPORT_WINDOW)
		if ((rc = dir_import_recv(im)) != CLI_EXIT_OK)
			return rc;
	ch.import_id = im->import_id;
	ch.seq = im->seq++;
	ch.packed_rows.data = im->packed;
	ch.packed_rows.len = im->packed_len;
	im->rows_sent += im->nrows;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK;
	env.import_chunk = &ch;
	rc = cli_session_send(im->sess, &env);
	dir_import_clear_rows(im);
	if (rc != 0)
		return cli_report_session(im->cli, im->sess, rc);
	im->in_flight++;
	return CLI_EXIT_OK;
}

/* Appends v as a protobuf base-128 varint. */
static void dir_import_uvarint(struct dir_import *im, uint64_t v)
{
	while (v >= 0x80) {
		im->packed[im->packed_len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	im->packed[im->packed_len++] = (uint8_t)v;
}

/*
 * Packs one row into the chunk: line, cell count, then each cell as its
 * length and bytes; len[i] is strlen(cells[i]).  The caller flushed first
 * if the row would push the chunk past DIR_IMPORT_CHUNK_BYTES, reckoned at
 * 16 bytes a row and 3 a cell (more than their varints take, a cell being
 * shorter than 2 MiB), so packed, twice that size, always has room.
 */
static void dir_import_add_row(struct dir_import *im, char **cells, const size_t *len, size_t n,
			       long line)
{
	size_t i;

	dir_import_uvarint(im, (uint64_t)line);
	dir_import_uvarint(im, n);
	for (i = 0; i < n; i++) {
		dir_import_uvarint(im, len[i]);
		memcpy(im->packed + im->packed_len, cells[i], len[i]);
		im->packed_len += len[i];
		im->bytes += len[i] + 3;
	}
	im->bytes += 16;
	im->nrows++;
}

static void dir_import_progress(struct dir_import *im, struct ss_table_reader *rd, long line)
{
	uint64_t done, total;

	if (!im->progress)
		return;
	ss_table_reader_progress(rd, &done, &total);
	fprintf(stderr, _("\rimporting: %3d%%  line %ld"),
		total ? (int)(done * 100 / total) : 0, line);
	fflush(stderr);
}

static int dir_import_begin(struct dir_import *im, const struct dir_opts *o, const char *path,
			    char **header, size_t n)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	Shuangsui__V1__ImportBegin b = SHUANGSUI__V1__IMPORT_BEGIN__INIT;
	char hex[65], reason[300];
	const char *base = strrchr(path, '/');
	int rc;

	if (dir_file_sha256(path, hex) != 0)
		return cli_fail(im->cli, CLI_EXIT_CONFIG, "IO", _("%s: cannot be read"), path);
	b.directory = (char *)im->s->name;
	b.n_header = n;
	b.header = header;
	b.file_name = (char *)(base ? base + 1 : path);
	b.file_sha256 = hex;
	/* The user's reason goes as given (up to 500 characters, any script). */
	snprintf(reason, sizeof(reason), _("bulk import of %s"), b.file_name);
	b.reason = (char *)(o->reason != NULL ? o->reason : reason);
	b.dry_run = o->dry_run;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN;
	env.import_begin = &b;
	rc = cli_call(im->cli, im->sess, &env, SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN_REPLY,
		      &reply);
	if (rc == CLI_EXIT_OK) {
		im->import_id = reply->import_begin_reply->import_id;
		shuangsui__v1__envelope__free_unpacked(reply, NULL);
	}
	return rc;
}

static int dir_import_report(struct dir_import *im, const Shuangsui__V1__ImportReport *r,
			     const char *path)
{
	size_t i, n = json_object_array_length(im->errors);

	if (im->cli->json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "import_id", json_object_new_int64((int64_t)r->import_id));
		json_object_object_add(j, "file", cli_json_str(path));
		json_object_object_add(j, "rows", json_object_new_int64((int64_t)r->rows));
		json_object_object_add(j, "new", json_object_new_int64((int64_t)r->new_records));
		json_object_object_add(j, "changed",
				       json_object_new_int64((int64_t)r->changed_records));
		json_object_object_add(j, "unchanged",
				       json_object_new_int64((int64_t)r->unchanged_records));
		json_object_object_add(j, "error_count",
				       json_object_new_int64((int64_t)r->error_count));
		json_object_object_add(j, "applied", json_object_new_boolean(r->applied));
		json_object_object_add(j, "dry_run", json_object_new_boolean(r->dry_run));
		json_object_object_add(j, "errors", json_object_get(im->errors));
		cli_json_emit(j);
	} else {
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(im->errors, i), *v;
			long long line = 0;
			const char *col = "", *val = "", *msg = "";

			if (json_object_object_get_ex(e, "line", &v))
				line = json_object_get_int64(v);
			if (json_object_object_get_ex(e, "column", &v))
				col = json_object_get_string(v);
			if (json_object_object_get_ex(e, "value", &v))
				val = json_object_get_string(v);
			if (json_object_object_get_ex(e, "message", &v))
				msg = json_object_get_string(v);
			fprintf(stderr, _("line %lld, column %s, value \"%s\": %s\n"), line, col, val,
				msg);
		}
		printf(_("%s: %" PRIu64 " rows: %" PRIu64 " new, %" PRIu64 " changed, %" PRIu64
			 " unchanged; %" PRIu64 " error(s)\n"),
		       path, r->rows, r->new_records, r->changed_records, r->unchanged_records,
		       r->error_count);
		if (r->dry_run)
			printf("%s\n", _("dry run: nothing was applied"));
		else if (r->applied && r->new_records + r->changed_records == 0)
			printf("%s\n", _("nothing to change: the directory already holds every row as given"));
		else if (r->applied)
			printf("%s\n", _("applied: every change is a new version, recorded with your reason"));
		else
			printf("%s\n", _("NOT applied: nothing was changed; correct the rows above and "
					 "import again"));
	}
	if (r->error_count > n && !im->cli->json)
		fprintf(stderr, _("(%" PRIu64 " errors in all; only the first were listed)\n"),
			r->error_count);
	return (r->applied || (r->dry_run && r->error_count == 0)) ? CLI_EXIT_OK : CLI_EXIT_SERVER;
}

static int dir_import_commit(struct dir_import *im, const char *path)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT, *reply = NULL;
	Shuangsui__V1__ImportCommit c = SHUANGSUI__V1__IMPORT_COMMIT__INIT;
	int rc;

	c.import_id = im->import_id;
	c.chunks = im->seq;
	c.rows = im->rows_sent;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_COMMIT;
	env.import_commit = &c;
	rc = cli_call(im->cli, im->sess, &env, SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_REPORT, &reply);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = dir_import_report(im, reply->import_report, path);
	shuangsui__v1__envelope__free_unpacked(reply, NULL);
	return rc;
}

static int dir_import(struct cli *cli, const struct ss_dirschema *s, struct dir_opts *o,
		      const char *path)
{
	struct dir_import im = {0};
	struct ss_table_reader *rd;
	char err_en[512], err_zh[512];
	char **cells, **header = NULL;
	size_t ncells, nheader = 0, i, *cell_len = NULL;
	long line;
	int rc, r;

	if (o->reason != NULL && ss_validate_text(o->reason, 2, 500) != 0)
		return cli_usage_error(dir_cmd, "%s", _("--reason must be 2 to 500 characters"));
	rd = ss_table_reader_open(path, err_en, sizeof(err_en), err_zh, sizeof(err_zh));
	if (rd == NULL)
		return cli_fail(cli, CLI_EXIT_CONFIG, "IO", "%s", ss_lang_is_zh() ? err_zh : err_en);
	r = ss_table_reader_next(rd, &cells, &ncells, &line);
	if (r != 1) {
		rc = cli_fail(cli, CLI_EXIT_CONFIG, "IO", "%s: %s", path,
			      r == 0 ? _("the file is empty: a header row is needed")
				     : ss_table_reader_error(rd, ss_lang_is_zh()));
		ss_table_reader_free(rd);
		return rc;
	}
	header = calloc(ncells + 1, sizeof(char *));
	for (i = 0; header != NULL && i < ncells; i++)
		header[nheader++] = strdup(cells[i]);
	im.cli = cli;
	im.s = s;
	im.errors = json_object_new_array();
	im.packed = malloc(2 * DIR_IMPORT_CHUNK_BYTES);
	cell_len = calloc(SS_TABLE_MAX_CELLS + 1, sizeof(*cell_len));
	im.progress = !cli->json && isatty(2);
	if (header == NULL || im.packed == NULL || cell_len == NULL) {
		rc = cli_fail(cli, CLI_EXIT_CONFIG, "NOMEM", "%s", _("out of memory"));
		goto out;
	}
	rc = cli_connect(cli, &im.sess);
	if (rc != CLI_EXIT_OK)
		goto out;
	rc = dir_import_begin(&im, o, path, header, nheader);
	while (rc == CLI_EXIT_OK && (r = ss_table_reader_next(rd, &cells, &ncells, &line)) == 1) {
		size_t row_bytes = 16;

		if (ncells > SS_TABLE_MAX_CELLS) {
			rc = cli_fail(cli, CLI_EXIT_CONFIG, "TOO_LARGE",
				      _("line %ld: the row is larger than an import chunk allows"), line);
			break;
		}
		for (i = 0; i < ncells; i++) {
			cell_len[i] = strlen(cells[i]);
			row_bytes += cell_len[i] + 3;
		}
		if (row_bytes > DIR_IMPORT_CHUNK_BYTES) {
			rc = cli_fail(cli, CLI_EXIT_CONFIG, "TOO_LARGE",
				      _("line %ld: the row is larger than an import chunk allows"), line);
			break;
		}
		/* Flush first when this row would push the chunk past its size. */
		if (im.nrows > 0 && im.bytes + row_bytes > DIR_IMPORT_CHUNK_BYTES &&
		    (rc = dir_import_flush(&im)) != CLI_EXIT_OK)
			break;
		dir_import_add_row(&im, cells, cell_len, ncells, line);
		if (im.nrows == DIR_IMPORT_CHUNK_ROWS || im.bytes >= DIR_IMPORT_CHUNK_BYTES) {
			rc = dir_import_flush(&im);
			dir_import_progress(&im, rd, line);
		}
	}
	if (rc == CLI_EXIT_OK && r < 0)
		rc = cli_fail(cli, CLI_EXIT_CONFIG, "IO", "%s: %s", path,
			      ss_table_reader_error(rd, ss_lang_is_zh()));
	if (rc == CLI_EXIT_OK)
		rc = dir_import_flush(&im);
	while (rc == CLI_EXIT_OK && im.in_flight > 0)
		rc = dir_import_recv(&im);
	if (im.progress)
		fputc('\n', stderr);
	if (rc != CLI_EXIT_OK && !cli->json) {
		/* Stopped early: what was already found is still worth showing. */
		size_t e, ne = json_object_array_length(im.errors);

		for (e = 0; e < ne; e++) {
			struct json_object *err = json_object_array_get_idx(im.errors, e), *v;

			if (json_object_object_get_ex(err, "message", &v))
				fprintf(stderr, "%s\n", json_object_get_string(v));
		}
	}
	/* A file that could not be read to the end is never committed. */
	if (rc == CLI_EXIT_OK)
		rc = dir_import_commit(&im, path);
out:
	dir_import_clear_rows(&im);
	free(im.packed);
	free(cell_len);
	json_object_put(im.errors);
	cli_session_free(im.sess);
	for (i = 0; i < nheader; i++)
		free(header[i]);
	free(header);
	ss_table_reader_free(rd);
	return rc;
}

/* ---- the command ---- */

static void dir_help(const struct ss_dirschema *s)
{
	size_t i;

	printf(_("Usage: shuangsui %s COMMAND [options]\n"
		 "\n"
		 "The %s directory.  Commands:\n"
		 "  list [--as-of DATE] [--filter COL=VALUE]... [--limit N] [--all]\n"
		 "  get ID [--as-of DATE]        one record, as it is or was on DATE\n"
		 "  history ID                   every version: who, when, why, what changed\n"
		 "  set ID COL=VALUE... --reason TEXT [--idempotency-key KEY]\n"
		 "  import FILE [--dry-run] [--reason TEXT]   CSV (UTF-8 or GB18030) or XLSX;\n"
		 "                               all rows or none\n"
		 "  export -o FILE [--format csv|xlsx] [--as-of DATE] [--filter COL=VALUE]...\n"
		 "\n"
		 "DATE is YYYY-MM-DD (the state at the end of that day).  Columns (the file\n"
		 "header may use either name):\n"),
	       s->name, ss_lang_is_zh() ? s->zh : s->name);
	for (i = 0; i < s->ncols; i++)
		printf("  %-26s %s%s\n", s->cols[i].name, s->cols[i].zh,
		       s->cols[i].required ? _(" (required)") : "");
}

static int cmd_directory(struct cli *cli, const char *name, int argc, char **argv)
{
	const struct ss_dirschema *s = ss_dirschema_find(name);
	struct dir_opts o;
	const char *sub;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		dir_help(s);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub = argv[1];
	snprintf(dir_cmd, sizeof(dir_cmd), "%s %s", name, sub);
	memset(&o, 0, sizeof(o));
	rc = dir_parse(dir_cmd, argc - 1, argv + 1, &o);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o.help) {
		dir_help(s);
		return CLI_EXIT_OK;
	}
	argc -= 1 + optind;
	argv += 1 + optind;
	if (strcmp(sub, "list") == 0 && argc == 0)
		return dir_list(cli, s, &o);
	if (strcmp(sub, "export") == 0 && argc == 0)
		return dir_export(cli, s, &o);
	if (strcmp(sub, "get") == 0 && argc == 1)
		return dir_get(cli, s, &o, argv[0]);
	if (strcmp(sub, "history") == 0 && argc == 1)
		return dir_history(cli, s, argv[0]);
	if (strcmp(sub, "set") == 0 && argc >= 2)
		return dir_set(cli, s, &o, argv[0], argc - 1, argv + 1);
	if (strcmp(sub, "import") == 0 && argc == 1)
		return dir_import(cli, s, &o, argv[0]);
	return cli_usage_error(name, _("unknown command or wrong arguments: %s"), sub);
}

int cmd_entity(struct cli *cli, int argc, char **argv)
{
	return cmd_directory(cli, "entity", argc, argv);
}

int cmd_project(struct cli *cli, int argc, char **argv)
{
	return cmd_directory(cli, "project", argc, argv);
}

int cmd_inspector(struct cli *cli, int argc, char **argv)
{
	return cmd_directory(cli, "inspector", argc, argv);
}

int cmd_item(struct cli *cli, int argc, char **argv)
{
	return cmd_directory(cli, "item", argc, argv);
}

int cmd_conflict(struct cli *cli, int argc, char **argv)
{
	return cmd_directory(cli, "conflict", argc, argv);
}
