/*
 * ss_lang.h — which language the user reads.
 *
 * Chinese when the first of LANGUAGE, LC_ALL, LC_MESSAGES, LANG that is set
 * and non-empty starts with "zh"; English otherwise.
 */
#ifndef SS_LANG_H
#define SS_LANG_H

/* Nonzero if messages should be shown in Chinese. */
int ss_lang_is_zh(void);

/*
 * Sets up gettext for domain "shuangsui": setlocale, bindtextdomain to the
 * locale directory (env SHUANGSUI_LOCALEDIR, then <exe dir>/locale, then the
 * install directory), textdomain.  If the user asks for Chinese but the
 * zh_CN locale is not generated on this machine, falls back to C.UTF-8 with
 * LANGUAGE=zh_CN so that translations still show.
 */
void ss_lang_init(void);

#endif
