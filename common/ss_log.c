/* ss_log: see ss_log.h. */
#include "ss_log.h"

#include "ss_err.h"
#include "ss_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *log_prog = "shelfsync";
static enum ss_log_level log_level = SS_LOG_INFO;
static int log_journal = -1; /* -1: not decided yet */

static const char *const level_names[] = {
    [SS_LOG_ERROR] = "error", [SS_LOG_WARN] = "warning", [SS_LOG_NOTICE] = "notice",
    [SS_LOG_INFO] = "info",   [SS_LOG_DEBUG] = "debug",
};

void ss_log_init(const char *progname, enum ss_log_level level)
{
    if (progname) {
        const char *slash = strrchr(progname, '/');
        log_prog = slash ? slash + 1 : progname;
    }
    log_level = level;
    log_journal = getenv("JOURNAL_STREAM") != NULL || !isatty(STDERR_FILENO);
}

void ss_log_set_level(enum ss_log_level level)
{
    log_level = level;
}

int ss_log_parse_level(const char *name, enum ss_log_level *out)
{
    static const struct {
        const char *name;
        enum ss_log_level level;
    } map[] = {{"error", SS_LOG_ERROR},   {"warn", SS_LOG_WARN}, {"warning", SS_LOG_WARN},
               {"notice", SS_LOG_NOTICE}, {"info", SS_LOG_INFO}, {"debug", SS_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcasecmp(name, map[i].name) == 0) {
            *out = map[i].level;
            return 0;
        }
    }
    return SS_EINVAL;
}

void ss_logv(enum ss_log_level level, const char *fmt, va_list ap)
{
    char line[4096];
    int n;

    if (level > log_level)
        return;
    if (log_journal < 0)
        log_journal = getenv("JOURNAL_STREAM") != NULL || !isatty(STDERR_FILENO);
    if (log_journal)
        n = snprintf(line, sizeof(line), "<%d>%s: ", (int)level, log_prog);
    else
        n = snprintf(line, sizeof(line), "%s: %s: ", log_prog, level_names[level]);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(line)) {
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n >= sizeof(line) - 1) {
        n = (int)sizeof(line) - 2;
        memcpy(line + n - 3, "...", 3);
    }
    /* Keep one record one line: a newline inside the message would split it. */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void ss_log(enum ss_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ss_logv(level, fmt, ap);
    va_end(ap);
}

void ss_log_limit_init(struct ss_log_limit *l, const char *what, long burst, long window_s)
{
    memset(l, 0, sizeof(*l));
    l->what = what;
    ss_log_limit_set(l, burst, window_s);
}

void ss_log_limit_set(struct ss_log_limit *l, long burst, long window_s)
{
    l->burst = burst;
    l->window_ms = window_s * 1000;
}

/* The entry for reason: pointer equality first, then by text; a full table
 * shares its last entry. */
static size_t limit_slot(struct ss_log_limit *l, const char *reason)
{
    for (size_t i = 0; i < l->nreasons; i++)
        if (l->r[i].reason == reason || strcmp(l->r[i].reason, reason) == 0)
            return i;
    if (l->nreasons < SS_LOG_LIMIT_REASONS) {
        l->r[l->nreasons].reason = reason;
        l->r[l->nreasons].logged = l->r[l->nreasons].suppressed = 0;
        return l->nreasons++;
    }
    return SS_LOG_LIMIT_REASONS - 1;
}

int ss_log_limited(struct ss_log_limit *l, const char *reason, enum ss_log_level level,
                   const char *fmt, ...)
{
    ss_log_limit_flush(l, 0);
    size_t i = limit_slot(l, reason);
    if ((long)l->r[i].logged >= l->burst) {
        l->r[i].suppressed++;
        return 0;
    }
    l->r[i].logged++;
    va_list ap;
    va_start(ap, fmt);
    ss_logv(level, fmt, ap);
    va_end(ap);
    return 1;
}

void ss_log_limit_flush(struct ss_log_limit *l, int force)
{
    long long now = ss_now_ms();
    if (!l->window_start)
        l->window_start = now;
    if (!force && now - l->window_start < l->window_ms)
        return;
    unsigned long total = 0;
    char list[1024];
    size_t off = 0;
    list[0] = '\0';
    for (size_t i = 0; i < l->nreasons; i++) {
        if (!l->r[i].suppressed)
            continue;
        total += l->r[i].suppressed;
        int n = snprintf(list + off, sizeof(list) - off, "%s%lu %s", off ? ", " : "",
                         l->r[i].suppressed, l->r[i].reason);
        if (n > 0 && (size_t)n < sizeof(list) - off)
            off += (size_t)n;
    }
    if (total)
        ss_log(SS_LOG_WARN, "%s: %lu more in the last %lld s not logged one by one: %s", l->what,
               total, (now - l->window_start + 999) / 1000, list);
    l->nreasons = 0;
    l->window_start = now;
}

const char *ss_kv_str(char *buf, size_t n, const char *v)
{
    if (!v)
        v = "";
    int plain = v[0] != '\0';
    for (const char *p = v; *p && plain; p++)
        plain = (unsigned char)*p > ' ' && *p != '"' && *p != '=' && *p != '\\' && *p != 0x7f;
    if (plain)
        return v;
    size_t o = 0;
    buf[o++] = '"';
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        int esc = c == '"' || c == '\\';
        if (o + (size_t)esc + 1 + 2 > n) /* the byte(s), the closing quote, the NUL */
            break;
        if (esc)
            buf[o++] = '\\';
        buf[o++] = c < ' ' || c == 0x7f ? ' ' : (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
