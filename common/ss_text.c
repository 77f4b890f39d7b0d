/* ss_text: see ss_text.h. */
#include "ss_text.h"

void ss_trim(const char **sp, size_t *lenp)
{
    const char *s = *sp;
    size_t len = *lenp, n;
    while ((n = ss_space_len(s, len)))
        s += n, len -= n;
    /* At the end: one byte, or a no-break space's two (not a space
     * followed by something else). */
    while (len && ((n = ss_space_len(s + len - 1, 1)) ||
                   (len >= 2 && (n = ss_space_len(s + len - 2, 2)) == 2)))
        len -= n;
    *sp = s;
    *lenp = len;
}

int ss_url_encode(struct ss_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int rc;
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || ss_is_digit(*p) || *p == '-' ||
            *p == '_' || *p == '.' || *p == '~') {
            rc = ss_buf_addc(out, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = ss_buf_add(out, e, 3);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

size_t ss_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}
