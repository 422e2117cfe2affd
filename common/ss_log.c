/*
 * ss_log.c — levelled logging to stderr.
 */
#include "ss_log.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum ss_log_level ss_log_max = SS_LOG_INFO;
static const char *const ss_log_names[] = {"error", "warn", "info", "debug"};

void ss_log_set_level(enum ss_log_level level) { ss_log_max = level; }

int ss_log_level_parse(const char *s)
{
	int i;

	for (i = 0; i <= (int)SS_LOG_DEBUG; i++)
		if (strcmp(s, ss_log_names[i]) == 0)
			return i;
	return -1;
}

void ss_log(enum ss_log_level level, const char *fmt, ...)
{
	char stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (level > ss_log_max)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03dZ %s: ", stamp, (int)(tv.tv_usec / 1000), ss_log_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ss_log_openssl(enum ss_log_level level, const char *context)
{
	unsigned long e;
	char buf[256];
	int any = 0;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		ss_log(level, "%s: %s", context, buf);
		any = 1;
	}
	if (!any)
		ss_log(level, "%s", context);
}
