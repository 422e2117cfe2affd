/*
 * ss_error.c — names and bilingual messages for the ss_err codes.
 */
#include "ss_error.h"

#include <stddef.h>

struct ss_err_entry {
	int code;
	const char *name;
	const char *en;
	const char *zh;
};

static const struct ss_err_entry ss_err_table[] = {
	{SS_OK, "OK", "success", "成功"},
	{SS_ERR_BAD_REQUEST, "BAD_REQUEST", "the request is invalid", "请求内容无效"},
	{SS_ERR_UNKNOWN_MESSAGE, "UNKNOWN_MESSAGE", "unknown message type",
	 "未知的消息类型"},
	{SS_ERR_NOT_A_REQUEST, "NOT_A_REQUEST", "this message type is a reply, not a request",
	 "该消息类型是应答，不是请求"},
	{SS_ERR_HELLO_REQUIRED, "HELLO_REQUIRED", "the session must begin with Hello",
	 "会话必须以 Hello 开始"},
	{SS_ERR_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION", "unsupported protocol version",
	 "不支持的协议版本"},
	{SS_ERR_UNKNOWN_PRINCIPAL, "UNKNOWN_PRINCIPAL",
	 "this certificate is not registered to an active principal",
	 "该证书未登记为有效用户（或用户已停用）"},
	{SS_ERR_PERMISSION_DENIED, "PERMISSION_DENIED", "permission denied", "无权执行此操作"},
	{SS_ERR_DATABASE_UNAVAILABLE, "DATABASE_UNAVAILABLE",
	 "database unavailable; nothing was changed, try again later",
	 "数据库暂时不可用，未做任何更改，请稍后重试"},
	{SS_ERR_INTERNAL, "INTERNAL", "internal server error; nothing was changed",
	 "服务器内部错误，未做任何更改"},
	{SS_ERR_SHUTTING_DOWN, "SHUTTING_DOWN", "the server is shutting down",
	 "服务器正在停止"},
	{SS_ERR_FRAME_TOO_LARGE, "FRAME_TOO_LARGE", "frame exceeds the maximum size",
	 "数据帧超过最大长度"},
	{SS_ERR_TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", "too many requests in flight",
	 "同时进行的请求过多"},
	{SS_ERR_NOT_FOUND, "NOT_FOUND", "not found", "未找到"},
	{SS_ERR_IDEMPOTENCY_CONFLICT, "IDEMPOTENCY_CONFLICT",
	 "the idempotency key was already used for a different request",
	 "该幂等键已用于另一个不同的请求"},
	{SS_ERR_MALFORMED_MESSAGE, "MALFORMED_MESSAGE", "the frame is not a valid message",
	 "数据帧不是有效的消息"},
	{SS_ERR_NOMEM, "NOMEM", "out of memory", "内存不足"},
	{SS_ERR_IO, "IO", "input/output error", "输入输出错误"},
	{SS_ERR_TLS, "TLS", "TLS error", "TLS 错误"},
	{SS_ERR_CONFIG, "CONFIG", "configuration error", "配置错误"},
	{SS_ERR_NEED_MORE, "NEED_MORE", "more input needed", "需要更多输入"},
	{SS_ERR_CLOSED, "CLOSED", "connection closed", "连接已关闭"},
	{SS_ERR_TIMEOUT, "TIMEOUT", "timed out", "超时"},
	{SS_ERR_PROTOCOL, "PROTOCOL", "protocol violation", "协议错误"},
};

static const struct ss_err_entry *ss_err_find(int err)
{
	size_t i;

	for (i = 0; i < sizeof(ss_err_table) / sizeof(ss_err_table[0]); i++)
		if (ss_err_table[i].code == err)
			return &ss_err_table[i];
	return &ss_err_table[(size_t)(-SS_ERR_INTERNAL)];
}

const char *ss_err_name(int err) { return ss_err_find(err)->name; }

const char *ss_err_str(int err) { return ss_err_find(err)->en; }

const char *ss_err_str_zh(int err) { return ss_err_find(err)->zh; }

int ss_err_wire(int err)
{
	if (err < 0 && err >= SS_ERR_WIRE_LAST)
		return -err;
	return -SS_ERR_INTERNAL;
}

int ss_err_from_wire(int code)
{
	if (code > 0 && code <= -SS_ERR_WIRE_LAST)
		return -code;
	return SS_ERR_INTERNAL;
}
