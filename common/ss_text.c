/* ss_text: see ss_text.h. */
#include "ss_text.h"

void ss_trim(const char **sp, size_t *lenp)
{
    const unsigned char *s = (const unsigned char *)*sp;
    size_t len = *lenp;
    for (;;) {
        if (len && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')) {
            s++, len--;
        } else if (len >= 2 && s[0] == 0xC2 && s[1] == 0xA0) {
            s += 2, len -= 2;
        } else {
            break;
        }
    }
    for (;;) {
        if (len &&
            (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n')) {
            len--;
        } else if (len >= 2 && s[len - 2] == 0xC2 && s[len - 1] == 0xA0) {
            len -= 2;
        } else {
            break;
        }
    }
    *sp = (const char *)s;
    *lenp = len;
}

int ss_url_encode(struct ss_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int rc;
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || ss_is_digit(*p) ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
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
