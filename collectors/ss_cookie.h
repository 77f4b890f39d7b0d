/* ss_cookie: reads one Set-Cookie header value (RFC 6265):
 * "NAME=VALUE; Attr; Max-Age=N; ...". Only what a source kind needs: the
 * name, the value and Max-Age. Pure, on (pointer, length) text that need
 * not end in a NUL; the results point into it.
 */
#ifndef SS_COOKIE_H
#define SS_COOKIE_H

#include <stddef.h>

struct ss_cookie {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    long max_age; /* -1 when absent; a value past LONG_MAX/LONG_MIN is clamped */
};

/* 0, or SS_EINVAL when the header has no "NAME=" (c is then unset). */
int ss_cookie_parse(const char *header, size_t len, struct ss_cookie *c);

#endif
