/* ss_log: leveled logging to stderr in a form the systemd journal reads.
 *
 * Each line starts with a syslog priority prefix ("<3>" error ... "<7>" debug)
 * when stderr is not a terminal (JOURNAL_STREAM set or not a tty), followed by
 * the program name and the message. On a terminal the prefix is a word.
 * One call writes one whole line with a single write(2), so lines from
 * several processes sharing a pipe do not interleave.
 *
 * Secrets must never be passed to these functions; callers log key names,
 * never key values.
 */
#ifndef SS_LOG_H
#define SS_LOG_H

#include <stdarg.h>

enum ss_log_level {
    SS_LOG_ERROR = 3,
    SS_LOG_WARN = 4,
    SS_LOG_NOTICE = 5,
    SS_LOG_INFO = 6,
    SS_LOG_DEBUG = 7,
};

/* Sets the program name shown in each line and the threshold. */
void ss_log_init(const char *progname, enum ss_log_level level);
void ss_log_set_level(enum ss_log_level level);

/* Parses "error", "warn", "notice", "info", "debug". Returns 0 or SS_EINVAL. */
int ss_log_parse_level(const char *name, enum ss_log_level *out);

#if defined(__GNUC__)
#define SS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SS_PRINTF(a, b)
#endif

void ss_log(enum ss_log_level level, const char *fmt, ...) SS_PRINTF(2, 3);
void ss_logv(enum ss_log_level level, const char *fmt, va_list ap);

#define ss_error(...) ss_log(SS_LOG_ERROR, __VA_ARGS__)
#define ss_warn(...) ss_log(SS_LOG_WARN, __VA_ARGS__)
#define ss_notice(...) ss_log(SS_LOG_NOTICE, __VA_ARGS__)
#define ss_info(...) ss_log(SS_LOG_INFO, __VA_ARGS__)
#define ss_debug(...) ss_log(SS_LOG_DEBUG, __VA_ARGS__)

#endif
