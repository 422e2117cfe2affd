/*
 * wire.c — Envelope packing and error replies.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "ss_error.h"

int ss_wire_pack(const SsEnvelope *env, uint32_t max, uint8_t **out, size_t *out_len)
{
	size_t n = shuangsui__v1__envelope__get_packed_size(env);
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (n > max || n > SS_FRAME_HARD_MAX)
		return SS_ERR_FRAME_TOO_LARGE;
	buf = malloc(SS_FRAME_HEADER + n + 1);
	if (buf == NULL)
		return SS_ERR_NOMEM;
	ss_frame_header_put(buf, (uint32_t)n);
	shuangsui__v1__envelope__pack(env, buf + SS_FRAME_HEADER);
	*out = buf;
	*out_len = SS_FRAME_HEADER + n;
	return 0;
}

SsEnvelope *ss_wire_unpack(const uint8_t *payload, size_t len)
{
	return shuangsui__v1__envelope__unpack(NULL, len, payload);
}

static char *ss_wire_join(const char *head, const char *detail)
{
	size_t n = strlen(head) + (detail ? strlen(detail) + 2 : 0) + 1;
	char *s = malloc(n);

	if (s == NULL)
		return NULL;
	if (detail != NULL && detail[0] != '\0')
		snprintf(s, n, "%s: %s", head, detail);
	else
		snprintf(s, n, "%s", head);
	return s;
}

int ss_wire_error(uint64_t request_id, int err, const char *field, const char *detail_en,
		  const char *detail_zh, uint8_t **out, size_t *out_len)
{
	SsEnvelope env = SHUANGSUI__V1__ENVELOPE__INIT;
	Shuangsui__V1__Error e = SHUANGSUI__V1__ERROR__INIT;
	char *en = ss_wire_join(ss_err_str(err), detail_en);
	char *zh = ss_wire_join(ss_err_str_zh(err), detail_zh ? detail_zh : detail_en);
	int rc = SS_ERR_NOMEM;

	*out = NULL;
	*out_len = 0;
	if (en == NULL || zh == NULL)
		goto out;
	e.code = (Shuangsui__V1__ErrorCode)ss_err_wire(err);
	e.message_en = en;
	e.message_zh = zh;
	e.field = (char *)(field ? field : "");
	env.request_id = request_id;
	env.body_case = SHUANGSUI__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	rc = ss_wire_pack(&env, SS_FRAME_HARD_MAX, out, out_len);
out:
	free(en);
	free(zh);
	return rc;
}

int ss_wire_is_request(const SsEnvelope *env)
{
	switch (env->body_case) {
	case SHUANGSUI__V1__ENVELOPE__BODY_HELLO:
	case SHUANGSUI__V1__ENVELOPE__BODY_PING:
	case SHUANGSUI__V1__ENVELOPE__BODY_WHOAMI:
	case SHUANGSUI__V1__ENVELOPE__BODY_AUDIT_LIST:
	case SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_LIST:
	case SHUANGSUI__V1__ENVELOPE__BODY_PRINCIPAL_SET_STATUS:
	case SHUANGSUI__V1__ENVELOPE__BODY_DIRECTORY_QUERY:
	case SHUANGSUI__V1__ENVELOPE__BODY_RECORD_GET:
	case SHUANGSUI__V1__ENVELOPE__BODY_RECORD_HISTORY:
	case SHUANGSUI__V1__ENVELOPE__BODY_RECORD_PUT:
	case SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_BEGIN:
	case SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_CHUNK:
	case SHUANGSUI__V1__ENVELOPE__BODY_IMPORT_COMMIT:
	case SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_ADD_WORKDAYS:
	case SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_BETWEEN:
	case SHUANGSUI__V1__ENVELOPE__BODY_CALENDAR_OVERRIDE:
		return 1;
	default:
		return 0;
	}
}

const char *ss_wire_body_name(const SsEnvelope *env)
{
	const ProtobufCFieldDescriptor *f;

	if (env->body_case == SHUANGSUI__V1__ENVELOPE__BODY__NOT_SET)
		return "unknown";
	f = protobuf_c_message_descriptor_get_field(&shuangsui__v1__envelope__descriptor,
						    (unsigned)env->body_case);
	return f ? f->name : "unknown";
}
