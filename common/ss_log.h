/*
 * ss_log.h — levelled logging to stderr.
 */
#ifndef SS_LOG_H
#define SS_LOG_H

enum ss_log_level { SS_LOG_ERROR = 0, SS_LOG_WARN, SS_LOG_INFO, SS_LOG_DEBUG };

/* Sets the most verbose level printed (default SS_LOG_INFO). */
void ss_log_set_level(enum ss_log_level level);
/* Parses "error", "warn", "info" or "debug"; returns -1 if unknown. */
int ss_log_level_parse(const char *s);
/* Writes one line: timestamp, level, message. */
void ss_log(enum ss_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs and clears the OpenSSL error queue under the given context. */
void ss_log_openssl(enum ss_log_level level, const char *context);

#define ss_error(...) ss_log(SS_LOG_ERROR, __VA_ARGS__)
#define ss_warn(...) ss_log(SS_LOG_WARN, __VA_ARGS__)
#define ss_info(...) ss_log(SS_LOG_INFO, __VA_ARGS__)
#define ss_debug(...) ss_log(SS_LOG_DEBUG, __VA_ARGS__)

#endif
