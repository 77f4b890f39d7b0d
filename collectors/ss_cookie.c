/* ss_cookie: see ss_cookie.h. */
#include "ss_cookie.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#include "ss_err.h"
#include "ss_text.h"

/* strtol's reading (spaces, a sign, digits; clamped), but never past end. */
static long bounded_long(const char *p, const char *end)
{
    long v = 0;
    int neg = 0;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    for (; p < end && ss_is_digit((unsigned char)*p); p++) {
        int d = *p - '0';
        if (!neg)
            v = v > (LONG_MAX - d) / 10 ? LONG_MAX : v * 10 + d;
        else
            v = v < (LONG_MIN + d) / 10 ? LONG_MIN : v * 10 - d;
    }
    return v;
}

int ss_cookie_parse(const char *header, size_t len, struct ss_cookie *c)
{
    const char *eq = memchr(header, '=', len);
    if (!eq)
        return SS_EINVAL;
    const char *stop = header + len;
    c->name = header;
    c->name_len = (size_t)(eq - header);
    c->value = eq + 1;
    const char *semi = memchr(c->value, ';', (size_t)(stop - c->value));
    c->value_len = (size_t)((semi ? semi : stop) - c->value);
    c->max_age = -1;
    for (const char *p = semi; p && p < stop;) {
        p++;
        while (p < stop && *p == ' ')
            p++;
        if ((size_t)(stop - p) > 8 && strncasecmp(p, "Max-Age=", 8) == 0)
            c->max_age = bounded_long(p + 8, stop);
        p = memchr(p, ';', (size_t)(stop - p));
    }
    return 0;
}
