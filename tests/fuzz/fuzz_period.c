/* libFuzzer target for ss_validate's date parsers: ss_parse_date,
 * ss_parse_month, ss_parse_period and ss_parse_timestamp.
 *
 * Each parser runs on the whole input. Besides what the sanitizers catch, it
 * checks the contract: every refusal carries a reason; every accepted date
 * (a period's start and end included) is a real calendar day that survives
 * the days-since-epoch round trip and parses again from its canonical
 * YYYY-MM-DD form, so what goes to PostgreSQL is always a date it takes; an
 * accepted month runs from its first to its last day; an accepted period
 * ends on or after its start and parses again, as START/END, to itself; an
 * accepted timestamp's canonical text parses again to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ss_validate.h"

static void check_why(int rc, const char *why)
{
    if (rc != 0 && (rc > 0 || !why || !*why))
        __builtin_trap();
}

static int same_date(struct ss_date a, struct ss_date b)
{
    return a.y == b.y && a.m == b.m && a.d == b.d;
}

/* d is a date the parser accepts, and its canonical form parses back to it. */
static void check_date(struct ss_date d)
{
    char text[64];
    struct ss_date again;
    const char *why = NULL;
    int n = snprintf(text, sizeof(text), "%04d-%02d-%02d", d.y, d.m, d.d);
    if (n != 10 || ss_parse_date(text, (size_t)n, &again, &why) != 0 || !same_date(d, again))
        __builtin_trap();
    if (!same_date(ss_days_to_date(ss_date_to_days(d)), d))
        __builtin_trap();
}

static void fuzz_date(const char *s, size_t n)
{
    struct ss_date d;
    const char *why = NULL;
    int rc = ss_parse_date(s, n, &d, &why);
    check_why(rc, why);
    if (rc == 0)
        check_date(d);
}

static void fuzz_month(const char *s, size_t n)
{
    struct ss_date a, b, a2, b2;
    const char *why = NULL;
    int rc = ss_parse_month(s, n, &a, &b, &why);
    check_why(rc, why);
    if (rc != 0)
        return;
    check_date(a);
    check_date(b);
    /* First to last day of one month: the next day is the 1st of another. */
    struct ss_date next = ss_days_to_date(ss_date_to_days(b) + 1);
    if (a.d != 1 || a.y != b.y || a.m != b.m || next.d != 1)
        __builtin_trap();
    char text[16];
    snprintf(text, sizeof(text), "%04d-%02d", a.y, a.m);
    if (ss_parse_month(text, 7, &a2, &b2, &why) != 0 || !same_date(a, a2) || !same_date(b, b2))
        __builtin_trap();
}

static void fuzz_period(const char *s, size_t n)
{
    struct ss_date a, b, a2, b2;
    const char *why = NULL;
    int rc = ss_parse_period(s, n, &a, &b, &why);
    check_why(rc, why);
    if (rc != 0)
        return;
    check_date(a);
    check_date(b);
    if (ss_date_to_days(b) < ss_date_to_days(a))
        __builtin_trap();
    char text[32];
    int len =
        snprintf(text, sizeof(text), "%04d-%02d-%02d/%04d-%02d-%02d", a.y, a.m, a.d, b.y, b.m, b.d);
    if (len != 21 || ss_parse_period(text, (size_t)len, &a2, &b2, &why) != 0 || !same_date(a, a2) ||
        !same_date(b, b2))
        __builtin_trap();
}

static void fuzz_timestamp(const char *s, size_t n)
{
    char out[128], again[128];
    const char *why = NULL;
    memset(out, 'x', sizeof(out));
    int rc = ss_parse_timestamp(s, n, out, sizeof(out), &why);
    check_why(rc, why);
    if (rc != 0)
        return;
    size_t l = strnlen(out, sizeof(out));
    if (l != n || out[10] != 'T')
        __builtin_trap();
    struct ss_date d;
    if (ss_parse_date(out, 10, &d, &why) != 0)
        __builtin_trap();
    check_date(d);
    if (ss_parse_timestamp(out, l, again, sizeof(again), &why) != 0 || strcmp(out, again) != 0)
        __builtin_trap();
    /* A buffer too small for the canonical text is a refusal, not an overflow. */
    char small[16];
    if (ss_parse_timestamp(s, n, small, sizeof(small), &why) == 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    fuzz_date(s, size);
    fuzz_month(s, size);
    fuzz_period(s, size);
    fuzz_timestamp(s, size);
    return 0;
}
