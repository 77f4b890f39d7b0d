/* ss_normalise: see ss_normalise.h.
 *
 * Everything here is byte-oriented ASCII: letters are folded with our own
 * helpers, never <ctype.h>, so the result cannot depend on the locale. Bytes
 * >= 0x80 are never letters or digits; the few UTF-8 sequences that real
 * spreadsheets put inside values (no-break space, curly apostrophes, the en
 * dash that word processors substitute for '-') are recognised explicitly.
 */
#include "ss_normalise.h"

#include "ss_err.h"
#include "ss_text.h"

#include <limits.h>
#include <string.h>

#include "ss_postcode.h"

#define SS_NORM_MAX_INTERVALS 8
/* Longest authority name worked on; longer text is not an authority name. */
#define SS_NORM_KEY_WORK 512

static const char WHY_EMPTY[] = "empty";

/* ss_text's ASCII helpers, for unsigned bytes. */
static int ss__is_digit(unsigned char c)
{
    return ss_is_digit(c);
}

static unsigned char ss__lower(unsigned char c)
{
    return (unsigned char)ss_to_lower(c);
}

static unsigned char ss__upper(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

/* Length of a blank at s[i]: 1 for space or tab, 2 for U+00A0, else 0. */
static size_t ss__blank_at(const unsigned char *s, size_t len, size_t i)
{
    if (s[i] == ' ' || s[i] == '\t')
        return 1;
    if (s[i] == 0xC2 && i + 1 < len && s[i + 1] == 0xA0)
        return 2;
    return 0;
}

/* Length of a dash at s[i]: 1 for '-', 3 for U+2013 (en dash), else 0. */
static size_t ss__dash_at(const unsigned char *s, size_t len, size_t i)
{
    if (s[i] == '-')
        return 1;
    if (s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 && s[i + 2] == 0x93)
        return 3;
    return 0;
}

static void ss__skip_blanks(const unsigned char *s, size_t len, size_t *i)
{
    size_t n;
    while (*i < len && (n = ss__blank_at(s, len, *i)) > 0)
        *i += n;
}

/* The one trim (ss_text), on bytes. */
static void ss__trim_blanks(const unsigned char **sp, size_t *lenp)
{
    const char *s = (const char *)*sp;
    ss_trim(&s, lenp);
    *sp = (const unsigned char *)s;
}

/* Case-insensitive (ASCII) comparison of s[0..len) with the C string word. */
static int ss__eq_nocase(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (n != len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ss__lower((unsigned char)s[i]) != ss__lower((unsigned char)word[i]))
            return 0;
    return 1;
}

static int ss__in_list(const char *s, size_t len, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (ss__eq_nocase(s, len, words[i]))
            return 1;
    return 0;
}

int ss_norm_is_placeholder(const char *s, size_t len)
{
    static const char *const placeholders[] = {"[Unknown]", "Unknown", "N/A", "NA", "-", "--",
                                               "none",      "null",    "TBC", "?",  NULL};
    return ss__in_list(s, len, placeholders);
}

/* ---- postcode: the rule is ss_postcode's, strict ---- */

int ss_norm_postcode(const char *s, size_t len, char *out, const char **why)
{
    char c[SS_POSTCODE_MAX + 1];
    out[0] = '\0';
    if (len == 0) {
        *why = WHY_EMPTY;
        return SS_EINVAL;
    }
    if (ss_norm_is_placeholder(s, len))
        return SS_NORM_NO_VALUE;
    int n = ss_postcode_compact(s, len, SS_POSTCODE_STRICT, c, why);
    if (n < 0)
        return SS_EINVAL;
    ss_postcode_format(c, (size_t)n, out);
    return 0;
}

/* ---- UPRN ---- */

/* Excel's display of a long number: digits, optional fraction, E, exponent. */
static int ss__is_scientific(const unsigned char *s, size_t len)
{
    size_t i = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t d = i;
    while (i < len && ss__is_digit(s[i]))
        i++;
    if (i == d)
        return 0;
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        i++;
        while (i < len && ss__is_digit(s[i]))
            i++;
    }
    if (i >= len || (s[i] != 'E' && s[i] != 'e'))
        return 0;
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    d = i;
    while (i < len && ss__is_digit(s[i]))
        i++;
    return i > d && i == len;
}

int ss_norm_uprn(const char *s, size_t len, int64_t *out, const char **why)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0) {
        *why = WHY_EMPTY;
        return SS_EINVAL;
    }
    if (ss_norm_is_placeholder(s, len))
        return 1;
    if (ss__is_scientific(u, len)) {
        *why = "in scientific notation: the digits were lost in a spreadsheet";
        return SS_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!ss__is_digit(u[i])) {
            *why = "not a UPRN (digits only)";
            return SS_EINVAL;
        }
    }
    size_t i = 0;
    while (i < len && u[i] == '0')
        i++;
    if (i == len) {
        *why = "zero is not a UPRN";
        return SS_EINVAL;
    }
    if (len - i > 12) {
        *why = "too long for a UPRN (at most 12 digits)";
        return SS_EINVAL;
    }
    int64_t v = 0;
    for (; i < len; i++)
        v = v * 10 + (u[i] - '0');
    *out = v;
    return 0;
}

/* ---- yes/no, library type, year, weekday, code list ---- */

int ss_norm_yesno(const char *s, size_t len, int *out, const char **why)
{
    static const char *const yes[] = {"yes", "y", "true", "t", "1", NULL};
    static const char *const no[] = {"no", "n", "false", "f", "0", NULL};
    if (ss__in_list(s, len, yes)) {
        *out = 1;
        return 0;
    }
    if (ss__in_list(s, len, no)) {
        *out = 0;
        return 0;
    }
    *why = len ? "not yes or no" : WHY_EMPTY;
    return SS_EINVAL;
}

int ss_norm_library_type(const char *s, size_t len, const char **out, const char **why)
{
    static const struct {
        const char *in, *code;
    } types[] = {
        {"LAL", "LAL"}, {"LAL-", "LAL-"}, {"CL", "CL"},    {"CRL", "CRL"}, {"ICL", "ICL"},
        {"IL", "ICL"},  {"LA", "LAL"},    {"LAU", "LAL-"}, {"C", "CL"},    {"CR", "CRL"},
    };
    const unsigned char *u = (const unsigned char *)s;
    ss__trim_blanks(&u, &len);
    /* "LAL–": a word processor's en dash for the hyphen. */
    if (len == 6 && ss__eq_nocase((const char *)u, 3, "LAL") && ss__dash_at(u, len, 3) == 3) {
        *out = "LAL-";
        return 0;
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (ss__eq_nocase((const char *)u, len, types[i].in)) {
            *out = types[i].code;
            return 0;
        }
    }
    *why = "not a library type (expected LAL, LAL-, CL, CRL or ICL)";
    return SS_EINVAL;
}

int ss_norm_year(const char *s, size_t len, int *out, const char **why)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len != 4 || !ss__is_digit(u[0]) || !ss__is_digit(u[1]) || !ss__is_digit(u[2]) ||
        !ss__is_digit(u[3])) {
        *why = "not a year";
        return SS_EINVAL;
    }
    int y = (u[0] - '0') * 1000 + (u[1] - '0') * 100 + (u[2] - '0') * 10 + (u[3] - '0');
    if (y < 1800 || y > 2100) {
        *why = "year out of range (1800 to 2100)";
        return SS_EINVAL;
    }
    *out = y;
    return 0;
}

int ss_norm_weekday(const char *s, size_t len, int *out, const char **why)
{
    static const char *const days[7][4] = {
        {"monday", "mon", NULL, NULL},      {"tuesday", "tue", "tues", NULL},
        {"wednesday", "wed", "weds", NULL}, {"thursday", "thu", "thur", "thurs"},
        {"friday", "fri", NULL, NULL},      {"saturday", "sat", NULL, NULL},
        {"sunday", "sun", NULL, NULL},
    };
    for (int d = 0; d < 7; d++) {
        for (int k = 0; k < 4 && days[d][k]; k++) {
            if (ss__eq_nocase(s, len, days[d][k])) {
                *out = d + 1;
                return 0;
            }
        }
    }
    *why = "not a day of the week";
    return SS_EINVAL;
}

#define SS__CODE_SEP 256

/* The next unit of a code for comparison: a lower-cased byte, SS__CODE_SEP
 * for a run of blanks, '-' and '_', or -1 if none (at the end). */
static int ss__code_next(const unsigned char *s, size_t len, size_t *i)
{
    if (*i >= len)
        return -1;
    size_t n;
    int sep = 0;
    for (;;) {
        if (*i >= len)
            break;
        if ((n = ss__blank_at(s, len, *i)) > 0 || s[*i] == '-' || s[*i] == '_') {
            *i += n ? n : 1;
            sep = 1;
            continue;
        }
        break;
    }
    if (sep)
        return SS__CODE_SEP;
    return ss__lower(s[(*i)++]);
}

static int ss__code_equal(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    size_t i = 0, j = 0;
    for (;;) {
        int x = ss__code_next(a, alen, &i);
        int y = ss__code_next(b, blen, &j);
        if (x != y)
            return 0;
        if (x < 0)
            return 1;
    }
}

int ss_norm_code(const char *s, size_t len, const char *const *codes, const char **out,
                 const char **why)
{
    const unsigned char *u = (const unsigned char *)s;
    ss__trim_blanks(&u, &len);
    if (len == 0) {
        *why = WHY_EMPTY;
        return SS_EINVAL;
    }
    for (size_t k = 0; codes[k]; k++) {
        const unsigned char *c = (const unsigned char *)codes[k];
        size_t clen = strlen(codes[k]);
        ss__trim_blanks(&c, &clen);
        if (ss__code_equal(u, len, c, clen)) {
            *out = codes[k];
            return 0;
        }
    }
    *why = "not in the code list";
    return SS_EINVAL;
}

/* ---- service point status ---- */

/* Closure codes, as the registers write them: the 2016 register's library
 * types XL (closed), XLR (replaced), XLT (temporarily closed); the Arts
 * Council basic dataset's operation_NN and statutory_NN "Closed",
 * "Temporary Closure". Compared as ss_norm_code does. */
static const struct {
    const char *in, *status;
} closures[] = {
    {"XL", "Closed"},
    {"XLR", "Closed"},
    {"Closed", "Closed"},
    {"Permanently closed", "Closed"},
    {"Closed and replaced", "Closed"},
    {"XLT", "Temporarily closed"},
    {"Temporary Closure", "Temporarily closed"},
    {"Temporarily closed", "Temporarily closed"},
    {"Temp closed", "Temporarily closed"},
};

int ss_norm_closure(const char *s, size_t len, const char **status)
{
    const unsigned char *u = (const unsigned char *)s;
    ss__trim_blanks(&u, &len);
    for (size_t i = 0; len && i < sizeof(closures) / sizeof(closures[0]); i++) {
        const unsigned char *c = (const unsigned char *)closures[i].in;
        if (ss__code_equal(u, len, c, strlen(closures[i].in))) {
            *status = closures[i].status;
            return 1;
        }
    }
    return 0;
}

int ss_norm_sp_status(const char *s, size_t len, const char **out, const char **why)
{
    const unsigned char *u = (const unsigned char *)s;
    ss__trim_blanks(&u, &len);
    if (ss_norm_closure((const char *)u, len, out))
        return 0;
    if (ss__code_equal(u, len, (const unsigned char *)"Open", 4)) {
        *out = "Open";
        return 0;
    }
    *why = "not a service point status (expected Open, Closed or Temporarily closed; XL, XLR, "
           "XLT, Temporary Closure)";
    return SS_EINVAL;
}

/* ---- times and opening hours ---- */

static const char WHY_TIME_FORM[] = "not a time of day (expected HH:MM)";
static const char WHY_TIME_RANGE[] = "not a time of day (00:00 to 23:59)";

/* H:MM, HH:MM, H.MM or HH.MM at s[*i]. Gives minutes, 0..1440 (24:00 is
 * returned as 1440 so an interval may end at midnight; callers decide).
 * Returns 0, SS_EINVAL for the wrong form (*i unchanged) or SS_E2BIG out
 * of range (the callers tell the two apart for their reason). */
static int ss__clock(const unsigned char *s, size_t len, size_t *i, int *minutes)
{
    size_t p = *i;
    int h = 0, nd = 0;
    while (p < len && ss__is_digit(s[p]) && nd < 3)
        h = h * 10 + (s[p++] - '0'), nd++;
    if (nd < 1 || nd > 2 || p >= len || (s[p] != ':' && s[p] != '.'))
        return SS_EINVAL;
    p++;
    if (p + 2 > len)
        return SS_EINVAL;
    if (!ss__is_digit(s[p]) || !ss__is_digit(s[p + 1]))
        return SS_EINVAL;
    int m = (s[p] - '0') * 10 + (s[p + 1] - '0');
    p += 2;
    if (p < len && ss__is_digit(s[p]))
        return SS_EINVAL;
    *i = p;
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return SS_E2BIG;
    *minutes = h * 60 + m;
    return 0;
}

int ss_norm_time(const char *s, size_t len, int *minutes, const char **why)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int m = 0;
    int rc = ss__clock(u, len, &i, &m);
    if (rc == SS_EINVAL || (rc == 0 && i != len)) {
        *why = len ? WHY_TIME_FORM : WHY_EMPTY;
        return SS_EINVAL;
    }
    if (rc == SS_E2BIG || m >= 24 * 60) {
        *why = WHY_TIME_RANGE;
        return SS_EINVAL;
    }
    *minutes = m;
    return 0;
}

static int ss__add_clock(struct ss_buf *out, int m)
{
    char t[5] = {(char)('0' + m / 600), (char)('0' + m / 60 % 10), ':', (char)('0' + m % 60 / 10),
                 (char)('0' + m % 10)};
    return ss_buf_add(out, t, sizeof(t));
}

static const char WHY_HOURS_FORM[] = "not opening hours (expected HH:MM-HH:MM, comma-separated)";

/* One interval "HH:MM-HH:MM" at u[*i] (blanks around it and its dash
 * allowed): its two clock times in minutes (24:00 is 1440). 0, or
 * SS_EINVAL with *why. */
static int ss__interval(const unsigned char *u, size_t len, size_t *i, int *a, int *b,
                        const char **why)
{
    size_t d;
    ss__skip_blanks(u, len, i);
    int rc = ss__clock(u, len, i, a);
    if (rc == SS_EINVAL) {
        *why = WHY_HOURS_FORM;
        return SS_EINVAL;
    }
    ss__skip_blanks(u, len, i);
    if (*i >= len || (d = ss__dash_at(u, len, *i)) == 0) {
        *why = WHY_HOURS_FORM;
        return SS_EINVAL;
    }
    *i += d;
    ss__skip_blanks(u, len, i);
    int rc2 = ss__clock(u, len, i, b);
    if (rc2 == SS_EINVAL) {
        *why = WHY_HOURS_FORM;
        return SS_EINVAL;
    }
    if (rc == SS_E2BIG || rc2 == SS_E2BIG) {
        *why = WHY_TIME_RANGE;
        return SS_EINVAL;
    }
    return 0;
}

int ss_norm_hours(const char *s, size_t len, struct ss_buf *out, int *minutes, const char **why)
{
    static const char *const closed[] = {"closed", "x", NULL};
    const unsigned char *u = (const unsigned char *)s;
    int start[SS_NORM_MAX_INTERVALS], end[SS_NORM_MAX_INTERVALS];
    int n = 0, total = 0;
    size_t i = 0;

    ss_buf_reset(out);
    if (ss_buf_add(out, "", 0) < 0) { /* so out->data is "" on every path */
        *why = "no room for the hours";
        return SS_EINVAL;
    }
    if (len == 0) {
        *why = WHY_EMPTY;
        return SS_EINVAL;
    }
    if (ss__in_list(s, len, closed)) {
        *minutes = 0;
        return 0;
    }
    for (;;) {
        int a = 0, b = 0, rc;
        if (n == SS_NORM_MAX_INTERVALS) {
            *why = "more than 8 intervals in a day";
            return SS_EINVAL;
        }
        if ((rc = ss__interval(u, len, &i, &a, &b, why)) < 0)
            return rc;
        /* librarydata-db's 2016 loader wrote "00:00-00:00" for a day with
         * no hours: read alone, it means closed. */
        if (n == 0 && a == 0 && b == 0) {
            ss__skip_blanks(u, len, &i);
            if (i == len) {
                *minutes = 0;
                return 0;
            }
        }
        if (a == 24 * 60) {
            *why = "24:00 is only a closing time";
            return SS_EINVAL;
        }
        /* Closing at "00:00" after opening means closing at midnight, as
         * real registers write it ("10:00-00:00"); it is stored as 24:00. */
        if (b == 0 && a > 0)
            b = 24 * 60;
        if (a > b) {
            *why = "opening time after closing time";
            return SS_EINVAL;
        }
        if (a == b) {
            *why = "opening time same as closing time";
            return SS_EINVAL;
        }
        if (n > 0 && a < start[n - 1]) {
            *why = "intervals out of order";
            return SS_EINVAL;
        }
        if (n > 0 && a < end[n - 1]) {
            *why = "intervals overlap";
            return SS_EINVAL;
        }
        start[n] = a;
        end[n] = b;
        n++;
        total += b - a;
        ss__skip_blanks(u, len, &i);
        if (i == len)
            break;
        if (u[i] != ',') {
            *why = WHY_HOURS_FORM;
            return SS_EINVAL;
        }
        i++;
    }
    for (int k = 0; k < n; k++) {
        if ((k > 0 && ss_buf_add(out, ",", 1) < 0) || ss__add_clock(out, start[k]) < 0 ||
            ss_buf_add(out, "-", 1) < 0 || ss__add_clock(out, end[k]) < 0) {
            ss_buf_reset(out);
            *why = "no room for the hours";
            return SS_EINVAL;
        }
    }
    *minutes = total;
    return 0;
}

/* ---- numbers ---- */

int ss_norm_decimal(const char *s, size_t len, char *out, size_t outlen, const char **why)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int neg = 0;

    if (outlen)
        out[0] = '\0';
    if (len == 0) {
        *why = WHY_EMPTY;
        return SS_EINVAL;
    }
    if (u[i] == '+' || u[i] == '-')
        neg = u[i++] == '-';
    size_t ib = i;
    while (i < len && ss__is_digit(u[i]))
        i++;
    size_t ie = i, fb = i, fe = i;
    if (i < len && u[i] == '.') {
        fb = ++i;
        while (i < len && ss__is_digit(u[i]))
            i++;
        fe = i;
    }
    if (i != len || (ie == ib && fe == fb)) {
        const char *r = "not a decimal number";
        int numeric = 1, comma = 0;
        for (size_t k = 0; k < len; k++) {
            comma |= u[k] == ',';
            numeric &=
                ss__is_digit(u[k]) || u[k] == ',' || u[k] == '.' || u[k] == '-' || u[k] == '+';
        }
        if (ss__is_scientific(u, len))
            r = "not a decimal number (scientific notation)";
        else if (numeric && comma)
            r = "not a decimal number (',' is not allowed: use '.' for the decimal point, no "
                "thousands separators)";
        *why = r;
        return SS_EINVAL;
    }
    if (fe - fb > 18) {
        *why = "too many decimal places (at most 18)";
        return SS_EINVAL;
    }
    while (ib < ie && u[ib] == '0')
        ib++;
    int zero = ie == ib;
    for (size_t k = fb; k < fe; k++)
        if (u[k] != '0')
            zero = 0;
    size_t need = (neg && !zero) + (ie > ib ? ie - ib : 1) + (fe > fb ? 1 + fe - fb : 0) + 1;
    if (need > outlen) {
        *why = "too long for a decimal number";
        return SS_EINVAL;
    }
    size_t o = 0;
    if (neg && !zero)
        out[o++] = '-';
    if (ie > ib) {
        memcpy(out + o, u + ib, ie - ib);
        o += ie - ib;
    } else {
        out[o++] = '0';
    }
    if (fe > fb) {
        out[o++] = '.';
        memcpy(out + o, u + fb, fe - fb);
        o += fe - fb;
    }
    out[o] = '\0';
    return 0;
}

int ss_norm_count(const char *s, size_t len, long long *out, const char **why)
{
    const unsigned char *u = (const unsigned char *)s;
    long long v = 0;
    size_t group = 0; /* digits since the last separator */
    int seps = 0;

    if (len == 0) {
        *why = WHY_EMPTY;
        return SS_EINVAL;
    }
    if (u[0] == '-' && len > 1 && ss__is_digit(u[1])) {
        *why = "negative";
        return SS_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (u[i] == ',') {
            /* "1,234": 1-3 digits first, then groups of exactly three. */
            if (i == 0 || u[0] == '0' || (seps && group != 3) || (!seps && group > 3) ||
                i + 1 == len) {
                *why = "thousands separators out of place";
                return SS_EINVAL;
            }
            seps++;
            group = 0;
            continue;
        }
        if (!ss__is_digit(u[i])) {
            *why = "not a whole number";
            return SS_EINVAL;
        }
        int dgt = u[i] - '0';
        if (v > (LLONG_MAX - dgt) / 10) {
            *why = "too large";
            return SS_EINVAL;
        }
        v = v * 10 + dgt;
        group++;
    }
    if (seps && group != 3) {
        *why = "thousands separators out of place";
        return SS_EINVAL;
    }
    *out = v;
    return 0;
}

int ss_norm_suppressed_count(const char *s, size_t len, long long *out, int *suppressed,
                             const char **why)
{
    if (len == 1 && (s[0] == 'x' || s[0] == 'X')) {
        *suppressed = 1;
        *out = 0;
        return 0;
    }
    *suppressed = 0;
    return ss_norm_count(s, len, out, why);
}

/* ---- authority names ---- */

static int ss__ends_with(const char *w, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n > k && memcmp(w + n - k, suffix, k) == 0;
}

/* Folds an authority name into w (room for SS_NORM_KEY_WORK bytes): lower
 * case, '&' -> " and ", punctuation and blanks -> one space; a comma is
 * kept (as " , ") until the ", city of" form has been read, and where the
 * last one is goes to *last_comma ((size_t)-1: none). The length, or
 * SS_EINVAL when the name does not fit. */
static int key_fold(const unsigned char *u, size_t len, char *w, size_t *last_comma)
{
    size_t n = 0;
    *last_comma = (size_t)-1;
    for (size_t i = 0; i < len;) {
        const char *put;
        size_t step = 1;
        unsigned char c = u[i];
        char one[2] = {0, 0};
        if (c == '&') {
            put = " and ";
        } else if (c == ',') {
            put = " , ";
        } else if (c == '.' || c == '\'' || c == '(' || c == ')' || c == '-' || c <= ' ' ||
                   c == 0x7F) {
            put = " "; /* control bytes too: a key is text, and never holds a NUL */
        } else if (c == 0xC2 && i + 1 < len && u[i + 1] == 0xA0) {
            put = " ", step = 2;
        } else if (c == 0xE2 && i + 2 < len && u[i + 1] == 0x80 &&
                   (u[i + 2] == 0x98 || u[i + 2] == 0x99 || u[i + 2] == 0x93)) {
            put = " ", step = 3; /* ‘ ’ – */
        } else {
            one[0] = (char)ss__lower(c);
            put = one;
        }
        i += step;
        for (; *put; put++) {
            if (*put == ' ' && (n == 0 || w[n - 1] == ' '))
                continue;
            if (n + 1 >= SS_NORM_KEY_WORK)
                return SS_EINVAL;
            if (*put == ',')
                *last_comma = n;
            w[n++] = *put;
        }
    }
    while (n && w[n - 1] == ' ')
        n--;
    return (int)n;
}

/* "Bristol, City of" and "Herefordshire, County of": the base name (1 if
 * it was a city); then the remaining commas become plain spaces. */
static int key_unfold_commas(char *w, size_t *np, size_t last_comma)
{
    size_t n = *np;
    int city_of = 0;
    if (last_comma != (size_t)-1 && last_comma > 0) {
        const char *tail = w + last_comma + 2;
        size_t tlen = last_comma + 2 <= n ? n - (last_comma + 2) : 0;
        int is_city = tlen == 7 && memcmp(tail, "city of", 7) == 0;
        int is_county = tlen == 9 && memcmp(tail, "county of", 9) == 0;
        if (is_city || is_county) {
            n = last_comma - 1; /* drop " , city of" */
            city_of = is_city;
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = w[i] == ',' ? ' ' : w[i];
        if (c == ' ' && (o == 0 || w[o - 1] == ' '))
            continue;
        w[o++] = c;
    }
    while (o && w[o - 1] == ' ')
        o--;
    *np = o;
    return city_of;
}

/* Strips the prefixes and suffixes of ss_norm_authority_key from w[*b ..
 * *n), as often as they come; 1 if a "city of " went. */
static int key_strip(const char *w, size_t *bp, size_t *np)
{
    /* Longest first, so "metropolitan borough council" goes in one piece. */
    static const char *const suffixes[] = {" metropolitan borough council",
                                           " library service",
                                           " borough council",
                                           " district council",
                                           " county council",
                                           " city council",
                                           " corporation",
                                           " libraries",
                                           " council",
                                           " county",
                                           " city",
                                           NULL};
    /* "council of " is for "Council of the Isles of Scilly". */
    static const char *const prefixes[] = {
        "the ",     "london borough of ", "royal borough of ", "city and county of ",
        "city of ", "county of ",         "borough of ",       "council of ",
        NULL};
    size_t b = *bp, n = *np;
    int city_of = 0;
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t k = 0; prefixes[k]; k++) {
            size_t pl = strlen(prefixes[k]);
            if (n - b > pl && memcmp(w + b, prefixes[k], pl) == 0) {
                if (strcmp(prefixes[k], "city of ") == 0)
                    city_of = 1;
                b += pl;
                changed = 1;
                break;
            }
        }
        for (size_t k = 0; suffixes[k]; k++) {
            if (ss__ends_with(w + b, n - b, suffixes[k])) {
                n -= strlen(suffixes[k]);
                changed = 1;
                break;
            }
        }
    }
    *bp = b;
    *np = n;
    return city_of;
}

int ss_norm_authority_key(const char *s, size_t len, char *out, size_t outlen)
{
    char w[SS_NORM_KEY_WORK];
    size_t last_comma, b = 0;

    if (outlen)
        out[0] = '\0';
    int folded = key_fold((const unsigned char *)s, len, w, &last_comma);
    if (folded < 0)
        return folded;
    size_t n = (size_t)folded;
    int city_of = key_unfold_commas(w, &n, last_comma);
    city_of |= key_strip(w, &b, &n); /* the key is w[b .. n) */

    const char *key = w + b;
    size_t klen = n - b;
    /* "City of London" is the City of London Corporation (E09000001);
     * "London" alone stands for Westminster in some files. */
    if (city_of && klen == 6 && memcmp(key, "london", 6) == 0)
        key = "city of london", klen = 14;
    if (klen == 0 || klen + 1 > outlen)
        return SS_EINVAL;
    memcpy(out, key, klen);
    out[klen] = '\0';
    return (int)klen;
}

/* ---- GSS codes ---- */

int ss_norm_gss_code(const char *s, size_t len, char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    out[0] = '\0';
    if (len != 9)
        return 0;
    unsigned char c = ss__upper(u[0]);
    if (c != 'E' && c != 'W' && c != 'S' && c != 'N' && c != 'K')
        return 0;
    for (size_t i = 1; i < 9; i++)
        if (!ss__is_digit(u[i]))
            return 0;
    out[0] = (char)c;
    memcpy(out + 1, u + 1, 8);
    out[9] = '\0';
    return 1;
}
