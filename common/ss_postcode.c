/* ss_postcode: see ss_postcode.h. */
#include "ss_postcode.h"

#include <string.h>

#include "ss_err.h"
#include "ss_text.h"

static const char not_pc[] = "not a UK postcode";

static int is_upper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}

static unsigned char to_upper(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

static int is_alnum(unsigned char c)
{
    return is_upper(c) || ss_is_digit(c);
}

/* A letter that may come second in an outward code (never I or Z). */
static int second_letter(unsigned char c)
{
    return is_upper(c) && c != 'I' && c != 'Z';
}

/* Outward code: [A-Z][A-HJ-Y]?[0-9][A-Z0-9]? */
static int outward_ok(const unsigned char *o, size_t n)
{
    if (n < 2 || n > 4 || !is_upper(o[0]))
        return 0;
    switch (n) {
    case 2:
        return ss_is_digit(o[1]);
    case 3:
        return (second_letter(o[1]) && ss_is_digit(o[2])) || (ss_is_digit(o[1]) && is_alnum(o[2]));
    default:
        return second_letter(o[1]) && ss_is_digit(o[2]) && is_alnum(o[3]);
    }
}

/* Bytes of what the rule drops at u[i] (0: none). Strict: space, tab,
 * no-break space; lax: space, tab, CR, LF, double quote. */
static size_t skip_at(const unsigned char *u, size_t len, size_t i, unsigned flags)
{
    if (u[i] == ' ' || u[i] == '\t')
        return 1;
    if (flags & SS_POSTCODE_STRICT)
        return u[i] == 0xC2 && i + 1 < len && u[i + 1] == 0xA0 ? 2 : 0;
    return u[i] == '\r' || u[i] == '\n' || u[i] == '"';
}

/* Strict only: a full stop or comma typed after the postcode, as on an
 * address line, and blanks after it. Returns the length without them. */
static size_t strip_tail(const unsigned char *u, size_t len)
{
    for (;;) {
        if (len &&
            (u[len - 1] == '.' || u[len - 1] == ',' || u[len - 1] == ' ' || u[len - 1] == '\t'))
            len--;
        else if (len >= 2 && u[len - 2] == 0xC2 && u[len - 1] == 0xA0)
            len -= 2;
        else
            return len;
    }
}

int ss_postcode_compact(const char *s, size_t len, unsigned flags, char *out, const char **why)
{
    const unsigned char *u = (const unsigned char *)s;
    int strict = (flags & SS_POSTCODE_STRICT) != 0;
    size_t n = 0;

    out[0] = '\0';
    if (strict)
        len = strip_tail(u, len);
    /* Spaces anywhere are dropped (and put back in the one right place by
     * ss_postcode_format), as the postcode directory is matched. */
    for (size_t i = 0; i < len;) {
        size_t b = skip_at(u, len, i, flags);
        if (b) {
            i += b;
            continue;
        }
        unsigned char ch = to_upper(u[i++]);
        if ((strict && !is_alnum(ch)) || n == SS_POSTCODE_MAX)
            goto refused;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    if (n < 5)
        goto refused;
    if (strict) {
        const unsigned char *c = (const unsigned char *)out, *in = c + n - 3;
        int ok =
            (ss_is_digit(in[0]) && is_upper(in[1]) && is_upper(in[2]) && outward_ok(c, n - 3)) ||
            (n == 6 && memcmp(c, "GIR0AA", 6) == 0);
        if (!ok)
            goto refused;
    }
    return (int)n;
refused:
    out[0] = '\0';
    *why = not_pc;
    return SS_EINVAL;
}

void ss_postcode_format(const char *c, size_t n, char *out)
{
    size_t outward = ss_postcode_outward_len(n);
    memcpy(out, c, outward);
    out[outward] = ' ';
    memcpy(out + outward + 1, c + outward, 3);
    out[n + 1] = '\0';
}
