/* ss_postcode: the one set of postcode rules, strict (the daemon's) and lax
 * (the collector's), and where they differ on purpose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ss_err.h"
#include "ss_postcode.h"

static void assert_compact(const char *in, unsigned flags, const char *want)
{
    char out[SS_POSTCODE_MAX + 1];
    const char *why = NULL;
    int n = ss_postcode_compact(in, strlen(in), flags, out, &why);
    if (n < 0)
        fail_msg("\"%s\" refused (%s), expected \"%s\"", in, why, want);
    assert_int_equal(n, strlen(want));
    assert_string_equal(out, want);
}

static void assert_refused(const char *in, unsigned flags)
{
    char out[SS_POSTCODE_MAX + 1];
    const char *why = NULL;
    int n = ss_postcode_compact(in, strlen(in), flags, out, &why);
    if (n >= 0)
        fail_msg("\"%s\" taken as \"%s\", expected a refusal", in, out);
    assert_int_equal(n, SS_EINVAL);
    assert_string_equal(why, "not a UK postcode");
    assert_string_equal(out, "");
}

static void test_strict_fixes_case_spaces_and_trailing_full_stop(void **state)
{
    (void)state;
    assert_compact("pl6 5an", SS_POSTCODE_STRICT, "PL65AN");
    assert_compact("PL6  5AN.", SS_POSTCODE_STRICT, "PL65AN");
    assert_compact("PL6 5AN, ", SS_POSTCODE_STRICT, "PL65AN");
    assert_compact("PL6\xC2\xA0"
                   "5AN\xC2\xA0",
                   SS_POSTCODE_STRICT, "PL65AN");
    assert_compact("\tEC1A 1BB", SS_POSTCODE_STRICT, "EC1A1BB");
    assert_compact("gir0aa", SS_POSTCODE_STRICT, "GIR0AA");
}

static void test_strict_checks_the_pattern(void **state)
{
    (void)state;
    static const char *const ok[] = {"EC1A 1BB", "W1A 0AX", "M1 1AE",
                                     "B33 8TH",  "CR2 6XH", "DN55 1PT"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char out[SS_POSTCODE_MAX + 1];
        const char *why;
        assert_true(ss_postcode_compact(ok[i], strlen(ok[i]), SS_POSTCODE_STRICT, out, &why) >= 5);
    }
    assert_refused("12345", SS_POSTCODE_STRICT);
    assert_refused("PL6 55N", SS_POSTCODE_STRICT);
    assert_refused("PI6 5AN", SS_POSTCODE_STRICT); /* I is never the second letter */
    assert_refused("1L6 5AN", SS_POSTCODE_STRICT);
    assert_refused("SW1AA 1AA", SS_POSTCODE_STRICT); /* too long */
    assert_refused("PL6-5AN", SS_POSTCODE_STRICT);
    assert_refused("\"PL6 5AN\"", SS_POSTCODE_STRICT); /* quotes are not blanks here */
    assert_refused("PL6\n5AN", SS_POSTCODE_STRICT);
    assert_refused("PL6 5\xC3\x81N", SS_POSTCODE_STRICT);
    assert_refused(".", SS_POSTCODE_STRICT);
    assert_refused("", SS_POSTCODE_STRICT);
}

static void test_lax_squeezes_without_checking_the_pattern(void **state)
{
    (void)state;
    assert_compact("pl6 5an", 0, "PL65AN");
    assert_compact("\"PL6 5AN\"", 0, "PL65AN"); /* a quoted lookup-file cell */
    assert_compact("BS1\t5TL\r\n", 0, "BS15TL");
    assert_compact("12345", 0, "12345"); /* a lookup: simply not found */
    assert_compact("PL6-5AN", 0, "PL6-5AN");
    assert_compact("PL6 5AN.", 0, "PL65AN."); /* lax keeps the full stop: not found */
    assert_refused("12 Acacia Avenue", 0);
    assert_refused("PL6", 0);
    assert_refused("", 0);
}

static void test_format_puts_one_space_before_the_inward_code(void **state)
{
    (void)state;
    char out[SS_POSTCODE_TEXT];
    ss_postcode_format("PL65AN", 6, out);
    assert_string_equal(out, "PL6 5AN");
    ss_postcode_format("EC1A1BB", 7, out);
    assert_string_equal(out, "EC1A 1BB");
    ss_postcode_format("M11AE", 5, out);
    assert_string_equal(out, "M1 1AE");
    assert_int_equal(ss_postcode_outward_len(7), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strict_fixes_case_spaces_and_trailing_full_stop),
        cmocka_unit_test(test_strict_checks_the_pattern),
        cmocka_unit_test(test_lax_squeezes_without_checking_the_pattern),
        cmocka_unit_test(test_format_puts_one_space_before_the_inward_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
