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
#include <stddef.h>

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

/* A rate limit for lines a peer can cause at will (bad messages, refused
 * keys): per reason (a static string, such as "too large"), the first
 * burst lines of each window are written; the rest are counted, and at the
 * end of the window one summary line says how many were not written, by
 * reason: "bad messages: 997 more in the last 60 s not logged one by one:
 * 990 too large, 7 malformed". One limiter belongs to one thread. */
#define SS_LOG_LIMIT_REASONS 12
struct ss_log_limit {
    const char *what; /* names the lines in the summary: "bad messages" */
    long burst;
    long window_ms;
    long long window_start; /* ss_now_ms(); 0: not started */
    size_t nreasons;
    struct {
        const char *reason;
        unsigned long logged, suppressed;
    } r[SS_LOG_LIMIT_REASONS];
};

void ss_log_limit_init(struct ss_log_limit *l, const char *what, long burst, long window_s);
/* Changes the burst and window (a reload); the counts are kept. */
void ss_log_limit_set(struct ss_log_limit *l, long burst, long window_s);
/* Writes the line, or counts it under reason. Returns 1 written, 0 counted. */
int ss_log_limited(struct ss_log_limit *l, const char *reason, enum ss_log_level level,
                   const char *fmt, ...) SS_PRINTF(4, 5);
/* At the end of the window (or at once, with force): writes the summary if
 * anything was counted, and starts a new window. */
void ss_log_limit_flush(struct ss_log_limit *l, int force);

/* Event lines end in key=value fields for the journal and log tools
 * ("event=batch source=a-loans seq=1 loaded=4"). ss_kv_str returns v as
 * one value: as it is when it is a plain token, else in double quotes
 * with " and \ escaped and control bytes as spaces, cut to fit buf
 * (at least 4 bytes). NULL is written "". */
const char *ss_kv_str(char *buf, size_t n, const char *v);

#define ss_error(...) ss_log(SS_LOG_ERROR, __VA_ARGS__)
#define ss_warn(...) ss_log(SS_LOG_WARN, __VA_ARGS__)
#define ss_notice(...) ss_log(SS_LOG_NOTICE, __VA_ARGS__)
#define ss_info(...) ss_log(SS_LOG_INFO, __VA_ARGS__)
#define ss_debug(...) ss_log(SS_LOG_DEBUG, __VA_ARGS__)

#endif
