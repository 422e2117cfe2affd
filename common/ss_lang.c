/*
 * ss_lang.c — language choice and gettext set-up.
 */
#include "ss_lang.h"

#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SS_LOCALEDIR
#define SS_LOCALEDIR "/usr/local/share/locale"
#endif

int ss_lang_is_zh(void)
{
	static const char *const vars[] = {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v != NULL && v[0] != '\0')
			return strncmp(v, "zh", 2) == 0;
	}
	return 0;
}

static int ss_lang_dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void ss_lang_init(void)
{
	char exe[PATH_MAX];
	const char *dir = getenv("SHUANGSUI_LOCALEDIR");
	const char *loc = setlocale(LC_ALL, "");
	ssize_t n;

	/* GNU gettext ignores LANGUAGE only under the plain "C" locale, so
	 * C.UTF-8 lets Chinese text through where zh_CN.UTF-8 is not generated. */
	if (ss_lang_is_zh() && (loc == NULL || strncmp(loc, "zh", 2) != 0)) {
		if (setlocale(LC_ALL, "C.UTF-8") != NULL && getenv("LANGUAGE") == NULL)
			setenv("LANGUAGE", "zh_CN", 1);
	}
	if (dir == NULL) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 8);
		if (n > 0) {
			char *slash;

			exe[n] = '\0';
			slash = strrchr(exe, '/');
			if (slash != NULL) {
				strcpy(slash, "/locale");
				if (ss_lang_dir_exists(exe))
					dir = exe;
			}
		}
	}
	if (dir == NULL)
		dir = SS_LOCALEDIR;
	bindtextdomain("shuangsui", dir);
	bind_textdomain_codeset("shuangsui", "UTF-8");
	textdomain("shuangsui");
}
