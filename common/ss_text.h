/* ss_text: small text jobs both programs share, written once.
 *
 * ss_trim is the one trim: every value, header, cell and HTTP header value
 * is trimmed by it, so a space, a tab, a line break or a no-break space
 * (U+00A0, common in spreadsheets) at either end never makes two values
 * differ. Pure functions on (pointer, length) text; nothing needs a NUL.
 */
#ifndef SS_TEXT_H
#define SS_TEXT_H

#include <stddef.h>

#include "ss_buf.h"

/* The length of the whitespace at s (len bytes): 1 for a space, tab, CR
 * or LF, 2 for a no-break space (UTF-8 C2 A0), 0 for anything else. The
 * one definition of what ss_trim trims. */
static inline size_t ss_space_len(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len && (u[0] == ' ' || u[0] == '\t' || u[0] == '\r' || u[0] == '\n'))
        return 1;
    return len >= 2 && u[0] == 0xC2 && u[1] == 0xA0 ? 2 : 0;
}

/* Trims spaces, tabs, CR, LF and no-break spaces at both ends, in place
 * (moves *s, shrinks *len). */
void ss_trim(const char **s, size_t *len);

/* Appends s (NUL-terminated) percent-encoded for a URL's query string:
 * everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~).
 * 0, or a negative code from ss_buf_add. */
int ss_url_encode(struct ss_buf *out, const char *s);

/* The length of s (len bytes of UTF-8) cut to at most max bytes, never
 * in the middle of a character: len when it fits. */
size_t ss_utf8_cut(const char *s, size_t len, size_t max);

/* ASCII only, whatever the locale. */
static inline int ss_is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static inline int ss_to_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}
/* The value of a hex digit, or -1. */
static inline int ss_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
