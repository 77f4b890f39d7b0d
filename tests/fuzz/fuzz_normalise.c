/* libFuzzer target for every rule in ss_normalise.
 *
 * Each rule runs on the whole input. Besides what the sanitizers catch, it
 * checks the contract: results stay in their ranges, every refusal carries a
 * reason, and the canonical outputs are fixed points: a normalised postcode,
 * decimal, library type, GSS code, set of hours or authority key normalises
 * to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_buf.h"
#include "ss_normalise.h"

static void check_why(int rc, const char *why)
{
    if (rc < 0 && (!why || !*why))
        __builtin_trap();
}

static void fuzz_postcode(const char *s, size_t n)
{
    char out[9], out2[9];
    const char *why = NULL;
    int rc = ss_norm_postcode(s, n, out, &why);
    check_why(rc, why);
    if (rc == 1 && !ss_norm_is_placeholder(s, n))
        __builtin_trap();
    if (rc == 0) {
        size_t l = strlen(out);
        if (l < 6 || l > 8 || ss_norm_postcode(out, l, out2, &why) != 0 || strcmp(out, out2))
            __builtin_trap();
    }
}

static void fuzz_decimal(const char *s, size_t n)
{
    char *out = malloc(n + 2), *out2 = malloc(n + 2);
    const char *why = NULL;
    if (!out || !out2)
        goto out;
    int rc = ss_norm_decimal(s, n, out, n + 2, &why);
    check_why(rc, why);
    if (rc == 0) {
        size_t l = strlen(out);
        if (l > n + 1 || ss_norm_decimal(out, l, out2, l + 2, &why) != 0 || strcmp(out, out2) != 0)
            __builtin_trap();
    }
out:
    free(out);
    free(out2);
}

static void fuzz_hours(const char *s, size_t n)
{
    struct ss_buf out, again;
    int m = -1, m2 = -1;
    const char *why = NULL;
    ss_buf_init(&out, 256);
    ss_buf_init(&again, 256);
    int rc = ss_norm_hours(s, n, &out, &m, &why);
    check_why(rc, why);
    if (rc == 0) {
        if (m < 0 || m > 1440 || (out.len == 0 && m != 0))
            __builtin_trap();
        if (out.len && (ss_norm_hours(out.data, out.len, &again, &m2, &why) != 0 || m2 != m ||
                        strcmp(out.data, again.data) != 0))
            __builtin_trap();
    }
    ss_buf_free(&out);
    ss_buf_free(&again);
}

static void fuzz_authority(const char *s, size_t n, size_t outlen)
{
    char out[128], out2[128];
    int k = ss_norm_authority_key(s, n, out, outlen);
    if (k < 0)
        return;
    if (k <= 0 || (size_t)k >= outlen || strlen(out) != (size_t)k)
        __builtin_trap();
    int k2 = ss_norm_authority_key(out, (size_t)k, out2, sizeof(out2));
    if (k2 != k || strcmp(out, out2) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const codes[] = {"Physical book", "E-book", "Under 12", "12-17", NULL};
    const char *s = (const char *)data;
    const char *why, *str;
    int64_t i64;
    long long ll;
    int v, sup;

    (void)ss_norm_is_placeholder(s, size);
    fuzz_postcode(s, size);

    why = NULL;
    v = ss_norm_uprn(s, size, &i64, &why);
    check_why(v, why);
    if (v == 0 && (i64 < 1 || i64 > 999999999999LL))
        __builtin_trap();

    why = NULL;
    if (ss_norm_yesno(s, size, &v, &why) == 0 ? (v != 0 && v != 1) : !why)
        __builtin_trap();

    why = NULL;
    if (ss_norm_library_type(s, size, &str, &why) == 0) {
        const char *again;
        if (ss_norm_library_type(str, strlen(str), &again, &why) != 0 || again != str)
            __builtin_trap();
    } else if (!why) {
        __builtin_trap();
    }

    /* A closure code is a status, and the status normalises to itself. */
    if (ss_norm_closure(s, size, &str) == 1) {
        const char *again;
        if (ss_norm_sp_status(s, size, &again, &why) != 0 || again != str)
            __builtin_trap();
    }
    why = NULL;
    if (ss_norm_sp_status(s, size, &str, &why) == 0) {
        const char *again;
        if (ss_norm_sp_status(str, strlen(str), &again, &why) != 0 || again != str)
            __builtin_trap();
    } else if (!why) {
        __builtin_trap();
    }

    why = NULL;
    if (ss_norm_year(s, size, &v, &why) == 0 ? (v < 1800 || v > 2100) : !why)
        __builtin_trap();

    why = NULL;
    if (ss_norm_time(s, size, &v, &why) == 0 ? (v < 0 || v > 1439) : !why)
        __builtin_trap();

    fuzz_decimal(s, size);

    why = NULL;
    if (ss_norm_count(s, size, &ll, &why) == 0 ? ll < 0 : !why)
        __builtin_trap();

    why = NULL;
    if (ss_norm_suppressed_count(s, size, &ll, &sup, &why) == 0
            ? (ll < 0 || (sup && ll != 0) || (sup != 0 && sup != 1))
            : !why)
        __builtin_trap();

    fuzz_hours(s, size);

    why = NULL;
    if (ss_norm_weekday(s, size, &v, &why) == 0 ? (v < 1 || v > 7) : !why)
        __builtin_trap();

    why = NULL;
    if (ss_norm_code(s, size, codes, &str, &why) == 0) {
        int found = 0;
        for (size_t k = 0; codes[k]; k++)
            found |= str == codes[k];
        if (!found)
            __builtin_trap();
    } else if (!why) {
        __builtin_trap();
    }

    fuzz_authority(s, size, 128);
    fuzz_authority(s, size, 1 + (size % 16)); /* small outputs too */

    char gss[10], gss2[10];
    if (ss_norm_gss_code(s, size, gss) == 1 &&
        (strlen(gss) != 9 || ss_norm_gss_code(gss, 9, gss2) != 1 || strcmp(gss, gss2) != 0))
        __builtin_trap();
    return 0;
}
