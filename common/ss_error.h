/*
 * ss_error.h — the one error enum of shuangsui.
 *
 * Fallible functions return 0 or a negative ss_err value.  The wire error
 * code of proto ErrorCode is the same number without the sign, so
 * ss_err_wire(SS_ERR_PERMISSION_DENIED) == SHUANGSUI__V1__ERROR_CODE__PERMISSION_DENIED.
 * Codes past SS_ERR_WIRE_LAST are internal and travel as INTERNAL.
 */
#ifndef SS_ERROR_H
#define SS_ERROR_H

enum ss_err {
	SS_OK = 0,
	SS_ERR_BAD_REQUEST = -1,
	SS_ERR_UNKNOWN_MESSAGE = -2,
	SS_ERR_NOT_A_REQUEST = -3,
	SS_ERR_HELLO_REQUIRED = -4,
	SS_ERR_UNSUPPORTED_VERSION = -5,
	SS_ERR_UNKNOWN_PRINCIPAL = -6,
	SS_ERR_PERMISSION_DENIED = -7,
	SS_ERR_DATABASE_UNAVAILABLE = -8,
	SS_ERR_INTERNAL = -9,
	SS_ERR_SHUTTING_DOWN = -10,
	SS_ERR_FRAME_TOO_LARGE = -11,
	SS_ERR_TOO_MANY_REQUESTS = -12,
	SS_ERR_NOT_FOUND = -13,
	SS_ERR_IDEMPOTENCY_CONFLICT = -14,
	SS_ERR_MALFORMED_MESSAGE = -15,
	SS_ERR_WIRE_LAST = -15,
	/* Internal codes, never sent as such. */
	SS_ERR_NOMEM = -100,
	SS_ERR_IO = -101,
	SS_ERR_TLS = -102,
	SS_ERR_CONFIG = -103,
	SS_ERR_NEED_MORE = -104, /* a decoder needs more input; not a failure */
	SS_ERR_CLOSED = -105,
	SS_ERR_TIMEOUT = -106,
	SS_ERR_PROTOCOL = -107,
};

/* Short stable name, e.g. "PERMISSION_DENIED".  Never NULL. */
const char *ss_err_name(int err);
/* English sentence describing the error.  Never NULL; static storage. */
const char *ss_err_str(int err);
/* Chinese sentence describing the error.  Never NULL; static storage. */
const char *ss_err_str_zh(int err);
/* The positive wire code for err (INTERNAL for internal codes). */
int ss_err_wire(int err);
/* The negative ss_err for a positive wire code (SS_ERR_INTERNAL if unknown). */
int ss_err_from_wire(int code);

#endif
