/*
 * wire.h — Envelope packing and error replies (protobuf-c over frames).
 */
#ifndef SS_WIRE_H
#define SS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "shuangsui.pb-c.h"

#define SS_PROTOCOL_VERSION 1u
#define SS_PROGRAM_VERSION "0.1.0"

typedef Shuangsui__V1__Envelope SsEnvelope;

/*
 * Packs env into one frame (4-byte length + payload) in a malloc'd buffer
 * that the caller frees.  Returns 0, SS_ERR_FRAME_TOO_LARGE if the payload
 * exceeds max, or SS_ERR_NOMEM.
 */
int ss_wire_pack(const SsEnvelope *env, uint32_t max, uint8_t **out, size_t *out_len);

/*
 * Unpacks a frame payload.  Returns NULL if the bytes are not a valid
 * Envelope.  The caller frees with shuangsui__v1__envelope__free_unpacked(e, NULL).
 */
SsEnvelope *ss_wire_unpack(const uint8_t *payload, size_t len);

/*
 * Packs an Error reply to request_id: code from err, the generic sentence
 * for err in both languages, followed by ": detail" when detail_en/zh are
 * given, and the offending field (may be NULL).  Output as ss_wire_pack.
 */
int ss_wire_error(uint64_t request_id, int err, const char *field, const char *detail_en,
		  const char *detail_zh, uint8_t **out, size_t *out_len);

/* Nonzero if the envelope's body is a request type (a client may send it). */
int ss_wire_is_request(const SsEnvelope *env);

/* Name of the body, e.g. "ping", "whoami"; "unknown" if not set. */
const char *ss_wire_body_name(const SsEnvelope *env);

#endif
