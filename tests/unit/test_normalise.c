/* The daemon's normalisation rules, each on the quirks real library files have
 * (core-dataset.md §6): every test asserts the normalised value or the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ss_err.h"

#include "ss_buf.h"
#include "ss_normalise.h"

#define S(lit) lit, (sizeof(lit) - 1)

/* ---- placeholders ---- */

static void test_placeholders_recognised_in_any_case(void **state)
{
    (void)state;
    assert_true(ss_norm_is_placeholder(S("[Unknown]")));
    assert_true(ss_norm_is_placeholder(S("[unknown]")));
    assert_true(ss_norm_is_placeholder(S("UNKNOWN")));
    assert_true(ss_norm_is_placeholder(S("N/A")));
    assert_true(ss_norm_is_placeholder(S("n/a")));
    assert_true(ss_norm_is_placeholder(S("NA")));
    assert_true(ss_norm_is_placeholder(S("-")));
    assert_true(ss_norm_is_placeholder(S("--")));
    assert_true(ss_norm_is_placeholder(S("None")));
    assert_true(ss_norm_is_placeholder(S("NULL")));
    assert_true(ss_norm_is_placeholder(S("tbc")));
    assert_true(ss_norm_is_placeholder(S("?")));
    assert_false(ss_norm_is_placeholder(S("N/A Closed")));
    assert_false(ss_norm_is_placeholder(S("0")));
    assert_false(ss_norm_is_placeholder(S("Barnet")));
}

/* ---- postcodes ---- */

static void assert_postcode(const char *in, const char *want)
{
    char out[9];
    const char *why = NULL;
    assert_int_equal(ss_norm_postcode(in, strlen(in), out, &why), 0);
    assert_string_equal(out, want);
}

static void assert_postcode_refused(const char *in)
{
    char out[9];
    const char *why = NULL;
    assert_int_equal(ss_norm_postcode(in, strlen(in), out, &why), SS_EINVAL);
    assert_string_equal(why, "not a UK postcode");
}

static void test_postcode_lower_case_and_missing_space_fixed(void **state)
{
    (void)state;
    assert_postcode("pl6 5an", "PL6 5AN");
    assert_postcode("PL65AN", "PL6 5AN");
    assert_postcode("pl65an", "PL6 5AN");
}

static void test_postcode_double_space_and_trailing_full_stop_fixed(void **state)
{
    (void)state;
    assert_postcode("PL6  5AN", "PL6 5AN");
    assert_postcode("PL6 5AN.", "PL6 5AN");
    assert_postcode("PL6  5AN.", "PL6 5AN");
    assert_postcode("PL6\xC2\xA0"
                    "5AN",
                    "PL6 5AN");
}

static void test_postcode_all_outward_shapes_accepted(void **state)
{
    (void)state;
    assert_postcode("EC1A 1BB", "EC1A 1BB");
    assert_postcode("W1A 0AX", "W1A 0AX");
    assert_postcode("M1 1AE", "M1 1AE");
    assert_postcode("B33 8TH", "B33 8TH");
    assert_postcode("CR2 6XH", "CR2 6XH");
    assert_postcode("DN55 1PT", "DN55 1PT");
    assert_postcode("GIR 0AA", "GIR 0AA");
    assert_postcode("gir0aa", "GIR 0AA");
}

static void test_postcode_placeholders_are_missing(void **state)
{
    (void)state;
    char out[9];
    const char *why = NULL;
    assert_int_equal(ss_norm_postcode(S("[Unknown]"), out, &why), 1);
    assert_int_equal(ss_norm_postcode(S("N/A"), out, &why), 1);
}

static void test_postcode_non_postcodes_refused(void **state)
{
    (void)state;
    assert_postcode_refused("12345");
    assert_postcode_refused("PL6");
    assert_postcode_refused("PL6 5A");
    assert_postcode_refused("PL6 55N");
    assert_postcode_refused("PLYMOUTH");
    assert_postcode_refused("PI6 5AN");   /* I is never the second letter */
    assert_postcode_refused("1L6 5AN");   /* must start with a letter */
    assert_postcode_refused("SW1AA 1AA"); /* outward too long */
    assert_postcode_refused("PL6-5AN");
    assert_postcode_refused("PL6 5\xC3\x81N");
    assert_postcode_refused(".");
}

/* ---- UPRN ---- */

static void test_uprn_leading_zeros_dropped(void **state)
{
    (void)state;
    int64_t v = 0;
    const char *why = NULL;
    assert_int_equal(ss_norm_uprn(S("000000199356"), &v, &why), 0);
    assert_int_equal(v, 199356);
    assert_int_equal(ss_norm_uprn(S("199356"), &v, &why), 0);
    assert_int_equal(v, 199356);
    /* the schema docs' sample: 13 characters, 12 digits once unpadded */
    assert_int_equal(ss_norm_uprn(S("0100041062012"), &v, &why), 0);
    assert_int_equal(v, 100041062012LL);
    assert_int_equal(ss_norm_uprn(S("999999999999"), &v, &why), 0);
    assert_int_equal(v, 999999999999LL);
}

static void test_uprn_scientific_notation_refused(void **state)
{
    (void)state;
    int64_t v = 0;
    const char *why = NULL;
    assert_int_equal(ss_norm_uprn(S("1.00041E+11"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "in scientific notation: the digits were lost in a spreadsheet");
    assert_int_equal(ss_norm_uprn(S("1.23e10"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "in scientific notation: the digits were lost in a spreadsheet");
}

static void test_uprn_letters_zero_and_13_digits_refused(void **state)
{
    (void)state;
    int64_t v = 0;
    const char *why = NULL;
    assert_int_equal(ss_norm_uprn(S("N3472345020"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "not a UPRN (digits only)");
    assert_int_equal(ss_norm_uprn(S("M0007"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "not a UPRN (digits only)");
    assert_int_equal(ss_norm_uprn(S("0"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "zero is not a UPRN");
    assert_int_equal(ss_norm_uprn(S("000000000000"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "zero is not a UPRN");
    assert_int_equal(ss_norm_uprn(S("1234567890123"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "too long for a UPRN (at most 12 digits)");
}

static void test_uprn_placeholders_are_missing(void **state)
{
    (void)state;
    int64_t v = 0;
    const char *why = NULL;
    assert_int_equal(ss_norm_uprn(S("N/A"), &v, &why), 1);
    assert_int_equal(ss_norm_uprn(S("[Unknown]"), &v, &why), 1);
}

/* ---- yes/no ---- */

static void test_yesno_variants_in_any_case(void **state)
{
    (void)state;
    int v = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_yesno(S("YES"), &v, &why), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ss_norm_yesno(S("yes"), &v, &why), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ss_norm_yesno(S("Y"), &v, &why), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ss_norm_yesno(S("True"), &v, &why), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ss_norm_yesno(S("1"), &v, &why), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ss_norm_yesno(S("No"), &v, &why), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ss_norm_yesno(S("n"), &v, &why), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ss_norm_yesno(S("FALSE"), &v, &why), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ss_norm_yesno(S("0"), &v, &why), 0);
    assert_int_equal(v, 0);
}

static void test_yesno_other_words_refused(void **state)
{
    (void)state;
    int v = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_yesno(S("maybe"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "not yes or no");
    assert_int_equal(ss_norm_yesno(S("yess"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "not yes or no");
}

/* ---- library types ---- */

static void assert_libtype(const char *in, const char *want)
{
    const char *out = NULL, *why = NULL;
    assert_int_equal(ss_norm_library_type(in, strlen(in), &out, &why), 0);
    assert_string_equal(out, want);
}

static void test_library_type_schema_codes_in_any_case(void **state)
{
    (void)state;
    assert_libtype("LAL", "LAL");
    assert_libtype("lal", "LAL");
    assert_libtype("LAL-", "LAL-");
    assert_libtype("lal-", "LAL-");
    assert_libtype("CL", "CL");
    assert_libtype("CRL", "CRL");
    assert_libtype("ICL", "ICL");
    assert_libtype(" LAL ", "LAL");
}

static void test_library_type_docs_and_arts_council_codes_mapped(void **state)
{
    (void)state;
    assert_libtype("IL", "ICL");
    assert_libtype("LA", "LAL");
    assert_libtype("La", "LAL");
    assert_libtype("LAU", "LAL-");
    assert_libtype("C", "CL");
    assert_libtype("c", "CL");
    assert_libtype("CR", "CRL");
    assert_libtype("LAL\xE2\x80\x93", "LAL-"); /* en dash from a word processor */
}

static void test_library_type_descriptions_refused(void **state)
{
    (void)state;
    const char *out = NULL, *why = NULL;
    assert_int_equal(ss_norm_library_type(S("Static library"), &out, &why), SS_EINVAL);
    assert_string_equal(why, "not a library type (expected LAL, LAL-, CL, CRL or ICL)");
    assert_int_equal(ss_norm_library_type(S("LAL--"), &out, &why), SS_EINVAL);
    assert_int_equal(ss_norm_library_type(S("L"), &out, &why), SS_EINVAL);
}

/* ---- service point status and closure codes ---- */

static void assert_closure(const char *in, const char *want)
{
    const char *status = NULL, *out = NULL, *why = NULL;
    assert_int_equal(ss_norm_closure(in, strlen(in), &status), 1);
    assert_string_equal(status, want);
    /* Idempotent: the status normalises to itself. */
    assert_int_equal(ss_norm_sp_status(status, strlen(status), &out, &why), 0);
    assert_string_equal(out, want);
}

static void test_closure_codes_of_the_registers_read_as_status(void **state)
{
    (void)state;
    assert_closure("XL", "Closed");
    assert_closure("xlr", "Closed");
    assert_closure(" Closed ", "Closed");
    assert_closure("XLT", "Temporarily closed");
    assert_closure("Temporary Closure", "Temporarily closed");
    assert_closure("temporary  closure", "Temporarily closed");
    assert_closure("Temporarily-closed", "Temporarily closed");
}

static void test_closure_not_claimed_for_types_or_yes_no(void **state)
{
    (void)state;
    const char *status = NULL;
    const char *not_closures[] = {"LAL", "CRL", "Yes", "No", "X", "XLL", "Close", "", "Open"};
    for (size_t i = 0; i < sizeof(not_closures) / sizeof(not_closures[0]); i++)
        assert_int_equal(ss_norm_closure(not_closures[i], strlen(not_closures[i]), &status), 0);
}

static void test_sp_status_open_closed_and_refusals(void **state)
{
    (void)state;
    const char *out = NULL, *why = NULL;
    assert_int_equal(ss_norm_sp_status(S("open"), &out, &why), 0);
    assert_string_equal(out, "Open");
    assert_int_equal(ss_norm_sp_status(S("OPEN"), &out, &why), 0);
    assert_string_equal(out, "Open");
    assert_int_equal(ss_norm_sp_status(S("XLT"), &out, &why), 0);
    assert_string_equal(out, "Temporarily closed");
    assert_int_equal(ss_norm_sp_status(S("LAL"), &out, &why), SS_EINVAL);
    assert_non_null(strstr(why, "not a service point status"));
    assert_int_equal(ss_norm_sp_status(S("Opening soon"), &out, &why), SS_EINVAL);
}

/* ---- years ---- */

static void test_year_four_digits_in_range(void **state)
{
    (void)state;
    int y = 0;
    const char *why = NULL;
    assert_int_equal(ss_norm_year(S("1991"), &y, &why), 0);
    assert_int_equal(y, 1991);
    assert_int_equal(ss_norm_year(S("1800"), &y, &why), 0);
    assert_int_equal(ss_norm_year(S("2100"), &y, &why), 0);
    assert_int_equal(ss_norm_year(S("1799"), &y, &why), SS_EINVAL);
    assert_string_equal(why, "year out of range (1800 to 2100)");
    assert_int_equal(ss_norm_year(S("2101"), &y, &why), SS_EINVAL);
}

static void test_year_decades_guesses_and_dates_refused(void **state)
{
    (void)state;
    int y = 0;
    const char *why = NULL;
    assert_int_equal(ss_norm_year(S("1960s"), &y, &why), SS_EINVAL);
    assert_string_equal(why, "not a year");
    assert_int_equal(ss_norm_year(S("1985c"), &y, &why), SS_EINVAL);
    assert_string_equal(why, "not a year");
    assert_int_equal(ss_norm_year(S("Sept 2010"), &y, &why), SS_EINVAL);
    assert_string_equal(why, "not a year");
    assert_int_equal(ss_norm_year(S("Oct-10"), &y, &why), SS_EINVAL);
    assert_int_equal(ss_norm_year(S("yes"), &y, &why), SS_EINVAL);
    assert_int_equal(ss_norm_year(S("91"), &y, &why), SS_EINVAL);
}

/* ---- times ---- */

static void test_time_colon_and_dot_forms_accepted(void **state)
{
    (void)state;
    int m = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_time(S("09:00"), &m, &why), 0);
    assert_int_equal(m, 540);
    assert_int_equal(ss_norm_time(S("9:05"), &m, &why), 0);
    assert_int_equal(m, 545);
    assert_int_equal(ss_norm_time(S("10.30"), &m, &why), 0);
    assert_int_equal(m, 630);
    assert_int_equal(ss_norm_time(S("00:00"), &m, &why), 0);
    assert_int_equal(m, 0);
    assert_int_equal(ss_norm_time(S("23:59"), &m, &why), 0);
    assert_int_equal(m, 1439);
}

static void test_time_out_of_range_and_malformed_refused(void **state)
{
    (void)state;
    int m = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_time(S("24:00"), &m, &why), SS_EINVAL);
    assert_string_equal(why, "not a time of day (00:00 to 23:59)");
    assert_int_equal(ss_norm_time(S("12:60"), &m, &why), SS_EINVAL);
    assert_string_equal(why, "not a time of day (00:00 to 23:59)");
    assert_int_equal(ss_norm_time(S("9am"), &m, &why), SS_EINVAL);
    assert_string_equal(why, "not a time of day (expected HH:MM)");
    assert_int_equal(ss_norm_time(S("9:5"), &m, &why), SS_EINVAL);
    assert_int_equal(ss_norm_time(S("0900"), &m, &why), SS_EINVAL);
    assert_int_equal(ss_norm_time(S("100:00"), &m, &why), SS_EINVAL);
    assert_int_equal(ss_norm_time(S("09:000"), &m, &why), SS_EINVAL);
}

/* ---- decimals ---- */

static void assert_decimal(const char *in, const char *want)
{
    char out[64];
    const char *why = NULL;
    assert_int_equal(ss_norm_decimal(in, strlen(in), out, sizeof(out), &why), 0);
    assert_string_equal(out, want);
}

static void test_decimal_plain_numbers_kept(void **state)
{
    (void)state;
    assert_decimal("18.5", "18.5");
    assert_decimal("-3.47537", "-3.47537");
    assert_decimal("51.064823", "51.064823");
    assert_decimal("0", "0");
    assert_decimal("42", "42");
    assert_decimal("0.123456789", "0.123456789");
}

static void test_decimal_canonical_form_drops_plus_and_leading_zeros(void **state)
{
    (void)state;
    assert_decimal("+18.5", "18.5");
    assert_decimal("007.50", "7.50");
    assert_decimal(".5", "0.5");
    assert_decimal("-.5", "-0.5");
    assert_decimal("5.", "5");
    assert_decimal("-0.0", "0.0");
}

static void test_decimal_output_fits_in_len_plus_two(void **state)
{
    (void)state;
    char out[5]; /* strlen("-.5") + 2 */
    const char *why = NULL;
    assert_int_equal(ss_norm_decimal(S("-.5"), out, 5, &why), 0);
    assert_string_equal(out, "-0.5");
    assert_int_equal(ss_norm_decimal(S(".5"), out, 4, &why), 0);
    assert_string_equal(out, "0.5");
    assert_int_equal(ss_norm_decimal(S("123456"), out, sizeof(out), &why), SS_EINVAL);
    assert_string_equal(why, "too long for a decimal number");
}

static void test_decimal_exponent_comma_and_words_refused(void **state)
{
    (void)state;
    char out[32];
    const char *why = NULL;
    assert_int_equal(ss_norm_decimal(S("1e5"), out, sizeof(out), &why), SS_EINVAL);
    assert_string_equal(why, "not a decimal number (scientific notation)");
    assert_int_equal(ss_norm_decimal(S("1,5"), out, sizeof(out), &why), SS_EINVAL);
    assert_string_equal(why, "not a decimal number (',' is not allowed: use '.' for the decimal "
                             "point, no thousands separators)");
    assert_int_equal(ss_norm_decimal(S("closed"), out, sizeof(out), &why), SS_EINVAL);
    assert_string_equal(why, "not a decimal number");
    assert_int_equal(ss_norm_decimal(S("45%"), out, sizeof(out), &why), SS_EINVAL);
    assert_int_equal(ss_norm_decimal(S("."), out, sizeof(out), &why), SS_EINVAL);
    assert_int_equal(ss_norm_decimal(S("-"), out, sizeof(out), &why), SS_EINVAL);
    assert_int_equal(ss_norm_decimal(S("1.2.3"), out, sizeof(out), &why), SS_EINVAL);
    assert_int_equal(ss_norm_decimal(S("0.1234567890123456789"), out, sizeof(out), &why),
                     SS_EINVAL);
    assert_string_equal(why, "too many decimal places (at most 18)");
    /* Coordinates come with 16 decimals (Aberdeenshire's mobile stops). */
    assert_int_equal(ss_norm_decimal(S("-2.0238940999999997"), out, sizeof(out), &why), 0);
    assert_string_equal(out, "-2.0238940999999997");
}

/* ---- counts ---- */

static void test_count_digits_and_thousands_separators(void **state)
{
    (void)state;
    long long v = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_count(S("1,234"), &v, &why), 0);
    assert_int_equal(v, 1234);
    assert_int_equal(ss_norm_count(S("1,234,567"), &v, &why), 0);
    assert_int_equal(v, 1234567);
    assert_int_equal(ss_norm_count(S("007"), &v, &why), 0);
    assert_int_equal(v, 7);
    assert_int_equal(ss_norm_count(S("0"), &v, &why), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ss_norm_count(S("9223372036854775807"), &v, &why), 0);
    assert_int_equal(v, 9223372036854775807LL);
}

static void test_count_misplaced_separators_refused(void **state)
{
    (void)state;
    long long v = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_count(S("12,34"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "thousands separators out of place");
    assert_int_equal(ss_norm_count(S("1234,567"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "thousands separators out of place");
    assert_int_equal(ss_norm_count(S("1,5"), &v, &why), SS_EINVAL);
    assert_int_equal(ss_norm_count(S(",123"), &v, &why), SS_EINVAL);
    assert_int_equal(ss_norm_count(S("1,"), &v, &why), SS_EINVAL);
    assert_int_equal(ss_norm_count(S("1,,234"), &v, &why), SS_EINVAL);
    assert_int_equal(ss_norm_count(S("0,123"), &v, &why), SS_EINVAL);
}

static void test_count_negative_words_and_overflow_refused(void **state)
{
    (void)state;
    long long v = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_count(S("-3"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "negative");
    assert_int_equal(ss_norm_count(S("Fifty"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "not a whole number");
    assert_int_equal(ss_norm_count(S("1.5"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "not a whole number");
    assert_int_equal(ss_norm_count(S("9223372036854775808"), &v, &why), SS_EINVAL);
    assert_string_equal(why, "too large");
}

static void test_suppressed_count_x_withheld_otherwise_a_count(void **state)
{
    (void)state;
    long long v = -1;
    int sup = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_suppressed_count(S("x"), &v, &sup, &why), 0);
    assert_int_equal(sup, 1);
    assert_int_equal(v, 0);
    assert_int_equal(ss_norm_suppressed_count(S("X"), &v, &sup, &why), 0);
    assert_int_equal(sup, 1);
    assert_int_equal(v, 0);
    assert_int_equal(ss_norm_suppressed_count(S("5"), &v, &sup, &why), 0);
    assert_int_equal(sup, 0);
    assert_int_equal(v, 5);
    assert_int_equal(ss_norm_suppressed_count(S("1,234"), &v, &sup, &why), 0);
    assert_int_equal(v, 1234);
    assert_int_equal(ss_norm_suppressed_count(S("xx"), &v, &sup, &why), SS_EINVAL);
    assert_string_equal(why, "not a whole number");
}

/* ---- opening hours ---- */

struct hours_fixture {
    struct ss_buf out;
};

static int hours_setup(void **state)
{
    static struct hours_fixture f;
    ss_buf_init(&f.out, 256);
    *state = &f;
    return 0;
}

static int hours_teardown(void **state)
{
    struct hours_fixture *f = *state;
    ss_buf_free(&f->out);
    return 0;
}

static void assert_hours(void **state, const char *in, const char *want, int want_minutes)
{
    struct hours_fixture *f = *state;
    int m = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_hours(in, strlen(in), &f->out, &m, &why), 0);
    assert_string_equal(f->out.data, want);
    assert_int_equal(f->out.len, strlen(want));
    assert_int_equal(m, want_minutes);
}

static void assert_hours_refused(void **state, const char *in, const char *want_why)
{
    struct hours_fixture *f = *state;
    int m = -1;
    const char *why = NULL;
    assert_int_equal(ss_norm_hours(in, strlen(in), &f->out, &m, &why), SS_EINVAL);
    assert_string_equal(why, want_why);
    assert_int_equal(f->out.len, 0);
}

static void test_hours_two_intervals_total_minutes(void **state)
{
    assert_hours(state, "09:00-12:00,13:00-17:00", "09:00-12:00,13:00-17:00", 420);
    assert_hours(state, "08:30-18:00", "08:30-18:00", 570);
}

static void test_hours_single_digit_hour_dot_and_spaces_canonicalised(void **state)
{
    assert_hours(state, "9:00-17:00", "09:00-17:00", 480);
    assert_hours(state, "09:00 - 12:00 , 13:00-17:00", "09:00-12:00,13:00-17:00", 420);
    assert_hours(state, "08.30-20:00", "08:30-20:00", 690); /* the schema docs' typo */
    assert_hours(state,
                 "09:00\xC2\xA0-\xC2\xA0"
                 "17:00",
                 "09:00-17:00", 480);
    assert_hours(state,
                 "09:00\xE2\x80\x93"
                 "17:00",
                 "09:00-17:00", 480); /* en dash */
}

static void test_hours_closed_day_has_no_intervals(void **state)
{
    assert_hours(state, "closed", "", 0);
    assert_hours(state, "Closed", "", 0);
    assert_hours(state, "X", "", 0);
    assert_hours(state, "00:00-00:00", "", 0); /* librarydata-db's 2016 filler */
}

static void test_hours_whole_day_ends_at_24(void **state)
{
    assert_hours(state, "00:00-24:00", "00:00-24:00", 1440);
    assert_hours(state, "22:00-24:00", "22:00-24:00", 120);
    assert_hours(state, "07:00-10:00,17:00-22:00", "07:00-10:00,17:00-22:00", 480);
    assert_hours(state, "09:00-12:00,12:00-17:00", "09:00-12:00,12:00-17:00", 480);
}

static void test_hours_closing_before_opening_refused(void **state)
{
    assert_hours_refused(state, "13:00-12:00", "opening time after closing time");
    assert_hours_refused(state, "09:00-09:00", "opening time same as closing time");
    assert_hours_refused(state, "24:00-24:00", "24:00 is only a closing time");
}

static void test_hours_overlapping_or_unordered_intervals_refused(void **state)
{
    assert_hours_refused(state, "09:00-12:00,11:00-13:00", "intervals overlap");
    assert_hours_refused(state, "13:00-17:00,09:00-12:00", "intervals out of order");
}

static void test_hours_malformed_refused(void **state)
{
    const char *form = "not opening hours (expected HH:MM-HH:MM, comma-separated)";
    assert_hours_refused(state, "9am-5pm", form);
    assert_hours_refused(state, "09:00", form);
    assert_hours_refused(state, "09:00-12:00,", form);
    assert_hours_refused(state, "09:00-12:00;13:00-17:00", form);
    assert_hours_refused(state, "09:00-12:00 13:00-17:00", form);
    assert_hours_refused(state, "AM only", form);
    assert_hours_refused(state, "09:00-25:00", "not a time of day (00:00 to 23:59)");
    assert_hours_refused(state, "09:60-12:00", "not a time of day (00:00 to 23:59)");
}

static void test_hours_more_than_eight_intervals_refused(void **state)
{
    assert_hours(state,
                 "01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00,11:00-12:00,"
                 "13:00-14:00,15:00-16:00",
                 "01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00,11:00-12:00,"
                 "13:00-14:00,15:00-16:00",
                 480);
    assert_hours_refused(state,
                         "01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00,"
                         "11:00-12:00,13:00-14:00,15:00-16:00,17:00-18:00",
                         "more than 8 intervals in a day");
}

static void test_hours_output_buffer_bound_respected(void **state)
{
    (void)state;
    struct ss_buf small;
    int m = -1;
    const char *why = NULL;
    ss_buf_init(&small, 10);
    assert_int_equal(ss_norm_hours(S("09:00-17:00"), &small, &m, &why), SS_EINVAL);
    assert_string_equal(why, "no room for the hours");
    assert_int_equal(small.len, 0);
    ss_buf_free(&small);
}

/* ---- weekdays ---- */

static void test_weekday_full_and_short_names_any_case(void **state)
{
    (void)state;
    int d = 0;
    const char *why = NULL;
    assert_int_equal(ss_norm_weekday(S("Tuesday"), &d, &why), 0);
    assert_int_equal(d, 2);
    assert_int_equal(ss_norm_weekday(S("tue"), &d, &why), 0);
    assert_int_equal(d, 2);
    assert_int_equal(ss_norm_weekday(S("TUESDAY"), &d, &why), 0);
    assert_int_equal(d, 2);
    assert_int_equal(ss_norm_weekday(S("Monday"), &d, &why), 0);
    assert_int_equal(d, 1);
    assert_int_equal(ss_norm_weekday(S("sun"), &d, &why), 0);
    assert_int_equal(d, 7);
    assert_int_equal(ss_norm_weekday(S("Thurs"), &d, &why), 0);
    assert_int_equal(d, 4);
}

static void test_weekday_other_words_refused(void **state)
{
    (void)state;
    int d = 0;
    const char *why = NULL;
    assert_int_equal(ss_norm_weekday(S("Funday"), &d, &why), SS_EINVAL);
    assert_string_equal(why, "not a day of the week");
    assert_int_equal(ss_norm_weekday(S("Tu"), &d, &why), SS_EINVAL);
    assert_int_equal(ss_norm_weekday(S("Tuesdays"), &d, &why), SS_EINVAL);
}

/* ---- code lists ---- */

static const char *const formats[] = {"Physical book", "E-book", "Audio book", NULL};
static const char *const ages[] = {"Under 12", "12-17", "Adult", NULL};

static void assert_code(const char *in, const char *const *codes, const char *want)
{
    const char *out = NULL, *why = NULL;
    assert_int_equal(ss_norm_code(in, strlen(in), codes, &out, &why), 0);
    assert_string_equal(out, want);
}

static void test_code_case_and_separators_ignored(void **state)
{
    (void)state;
    assert_code("physical book", formats, "Physical book");
    assert_code("Physical book", formats, "Physical book");
    assert_code("PHYSICAL_BOOK", formats, "Physical book");
    assert_code("Physical  book", formats, "Physical book");
    assert_code(" audio book ", formats, "Audio book");
}

static void test_code_hyphen_and_space_are_alike(void **state)
{
    (void)state;
    assert_code("Under-12", ages, "Under 12");
    assert_code("Under 12", ages, "Under 12");
    assert_code("under_12", ages, "Under 12");
    assert_code("under - 12", ages, "Under 12");
    assert_code("12 17", ages, "12-17");
    assert_code("e book", formats, "E-book");
    assert_code("\xC2\xA0"
                "Adult",
                ages, "Adult");
}

static void test_code_not_in_list_refused(void **state)
{
    (void)state;
    const char *out = NULL, *why = NULL;
    assert_int_equal(ss_norm_code(S("Under12"), ages, &out, &why), SS_EINVAL);
    assert_string_equal(why, "not in the code list");
    assert_int_equal(ss_norm_code(S("Children"), ages, &out, &why), SS_EINVAL);
    assert_string_equal(why, "not in the code list");
    assert_int_equal(ss_norm_code(S("Adult-"), ages, &out, &why), SS_EINVAL);
}

/* ---- authority keys ---- */

static void assert_key(const char *in, const char *want)
{
    char out[64];
    int n = ss_norm_authority_key(in, strlen(in), out, sizeof(out));
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
}

static void test_authority_key_borough_forms_agree(void **state)
{
    (void)state;
    assert_key("London Borough of Barnet", "barnet");
    assert_key("Barnet", "barnet");
    assert_key("Barnet Council", "barnet");
    assert_key("Barnet\xC2\xA0"
               "Council",
               "barnet");
    assert_key("Royal Borough of Kingston upon Thames", "kingston upon thames");
    assert_key("Kingston Upon Thames", "kingston upon thames");
    assert_key("The Royal Borough of Kensington and Chelsea", "kensington and chelsea");
    assert_key("Barnsley Metropolitan Borough Council", "barnsley");
}

static void test_authority_key_city_forms_agree(void **state)
{
    (void)state;
    assert_key("Bristol City Council", "bristol");
    assert_key("City of Bristol", "bristol");
    assert_key("Bristol, City of", "bristol");
    assert_key("Newcastle City Council", "newcastle");
    /* a different key from "Newcastle": ref.authority_alias maps both */
    assert_key("Newcastle upon Tyne", "newcastle upon tyne");
    assert_key("Kingston upon Hull, City of", "kingston upon hull");
    assert_key("City of York Council", "york");
}

static void test_authority_key_county_and_plain_council_suffixes(void **state)
{
    (void)state;
    assert_key("Kent County Council", "kent");
    assert_key("Somerset Council", "somerset");
    assert_key("Herefordshire, County of", "herefordshire");
    assert_key("Bath and North East Somerset Council", "bath and north east somerset");
    assert_key("Kent Libraries", "kent");
    assert_key("Kent County Council Library Service", "kent");
}

static void test_authority_key_ampersand_and_punctuation(void **state)
{
    (void)state;
    assert_key("Brighton & Hove City Council", "brighton and hove");
    assert_key("Brighton and Hove", "brighton and hove");
    assert_key("St. Helens", "st helens");
    assert_key("St Helens", "st helens");
    assert_key("Stoke-on-Trent City Council", "stoke on trent");
    assert_key("King\xE2\x80\x99s Lynn", "king s lynn");
    assert_key("King's Lynn", "king s lynn");
    assert_key("Richmond (Upon Thames)", "richmond upon thames");
}

static void test_authority_key_city_of_london_kept_apart_from_london(void **state)
{
    (void)state;
    assert_key("City of London", "city of london");
    assert_key("City of London Corporation", "city of london");
    assert_key("London, City of", "city of london");
    assert_key("city of london", "city of london");
    assert_key("London", "london"); /* Westminster in some files: an alias decides */
    assert_key("Council of the Isles of Scilly", "isles of scilly");
}

static void test_authority_key_never_strips_to_nothing(void **state)
{
    (void)state;
    char out[64];
    assert_key("Council", "council");
    assert_key("City", "city");
    assert_key("The", "the");
    assert_int_equal(ss_norm_authority_key(S("..."), out, sizeof(out)), SS_EINVAL);
    assert_int_equal(ss_norm_authority_key(S(""), out, sizeof(out)), SS_EINVAL);
}

static void test_authority_key_control_bytes_are_blanks(void **state)
{
    (void)state;
    char out[64];
    /* found by fuzz_normalise: a NUL inside the value ended up in the key */
    assert_int_equal(ss_norm_authority_key("Bar\0net", 7, out, sizeof(out)), 7);
    assert_string_equal(out, "bar net");
    assert_key("Barnet\r\nCouncil", "barnet");
    assert_key("Barnet\x01", "barnet");
}

static void test_authority_key_too_long_for_out_refused(void **state)
{
    (void)state;
    char out[7];
    assert_int_equal(ss_norm_authority_key(S("Barnet Council"), out, sizeof(out)), 6);
    assert_string_equal(out, "barnet");
    assert_int_equal(ss_norm_authority_key(S("Westminster"), out, sizeof(out)), SS_EINVAL);
}

static void test_authority_key_is_idempotent(void **state)
{
    (void)state;
    static const char *const names[] = {"City of London Corporation",
                                        "Council of the Isles of Scilly",
                                        "Bristol, City of",
                                        "Barnsley Metropolitan Borough Council",
                                        "Brighton & Hove City Council",
                                        NULL};
    for (size_t i = 0; names[i]; i++) {
        char a[64], b[64];
        int n = ss_norm_authority_key(names[i], strlen(names[i]), a, sizeof(a));
        assert_true(n > 0);
        assert_int_equal(ss_norm_authority_key(a, (size_t)n, b, sizeof(b)), n);
        assert_string_equal(a, b);
    }
}

/* ---- GSS codes ---- */

static void test_gss_code_accepted_and_upper_cased(void **state)
{
    (void)state;
    char out[10];
    assert_int_equal(ss_norm_gss_code(S("E06000023"), out), 1);
    assert_string_equal(out, "E06000023");
    assert_int_equal(ss_norm_gss_code(S("e06000023"), out), 1);
    assert_string_equal(out, "E06000023");
    assert_int_equal(ss_norm_gss_code(S("K04000001"), out), 1);
    assert_string_equal(out, "K04000001");
    assert_int_equal(ss_norm_gss_code(S("W06000015"), out), 1);
    assert_int_equal(ss_norm_gss_code(S("N92000002"), out), 1);
}

static void test_gss_code_wrong_length_or_letter_refused(void **state)
{
    (void)state;
    char out[10];
    assert_int_equal(ss_norm_gss_code(S("E0600002"), out), 0);
    assert_int_equal(ss_norm_gss_code(S("E060000231"), out), 0);
    assert_int_equal(ss_norm_gss_code(S("X06000023"), out), 0);
    assert_int_equal(ss_norm_gss_code(S("L99999999"), out), 0);
    assert_int_equal(ss_norm_gss_code(S("E0600002A"), out), 0);
    assert_int_equal(ss_norm_gss_code(S("Barnet"), out), 0);
}

static void test_hours_closing_at_00_00_means_midnight(void **state)
{
    (void)state;
    struct ss_buf out;
    int minutes = -1;
    const char *why = NULL;
    ss_buf_init(&out, 256);
    assert_int_equal(ss_norm_hours("10:00-00:00", 11, &out, &minutes, &why), 0);
    assert_string_equal(out.data, "10:00-24:00");
    assert_int_equal(minutes, 840);
    ss_buf_reset(&out);
    /* Past midnight is not a closing time of that day: refused. */
    assert_int_equal(ss_norm_hours("07:00-02:00", 11, &out, &minutes, &why), SS_EINVAL);
    assert_string_equal(why, "opening time after closing time");
    ss_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hours_closing_at_00_00_means_midnight),
        cmocka_unit_test(test_placeholders_recognised_in_any_case),
        cmocka_unit_test(test_postcode_lower_case_and_missing_space_fixed),
        cmocka_unit_test(test_postcode_double_space_and_trailing_full_stop_fixed),
        cmocka_unit_test(test_postcode_all_outward_shapes_accepted),
        cmocka_unit_test(test_postcode_placeholders_are_missing),
        cmocka_unit_test(test_postcode_non_postcodes_refused),
        cmocka_unit_test(test_uprn_leading_zeros_dropped),
        cmocka_unit_test(test_uprn_scientific_notation_refused),
        cmocka_unit_test(test_uprn_letters_zero_and_13_digits_refused),
        cmocka_unit_test(test_uprn_placeholders_are_missing),
        cmocka_unit_test(test_yesno_variants_in_any_case),
        cmocka_unit_test(test_yesno_other_words_refused),
        cmocka_unit_test(test_library_type_schema_codes_in_any_case),
        cmocka_unit_test(test_library_type_docs_and_arts_council_codes_mapped),
        cmocka_unit_test(test_library_type_descriptions_refused),
        cmocka_unit_test(test_closure_codes_of_the_registers_read_as_status),
        cmocka_unit_test(test_closure_not_claimed_for_types_or_yes_no),
        cmocka_unit_test(test_sp_status_open_closed_and_refusals),
        cmocka_unit_test(test_year_four_digits_in_range),
        cmocka_unit_test(test_year_decades_guesses_and_dates_refused),
        cmocka_unit_test(test_time_colon_and_dot_forms_accepted),
        cmocka_unit_test(test_time_out_of_range_and_malformed_refused),
        cmocka_unit_test(test_decimal_plain_numbers_kept),
        cmocka_unit_test(test_decimal_canonical_form_drops_plus_and_leading_zeros),
        cmocka_unit_test(test_decimal_output_fits_in_len_plus_two),
        cmocka_unit_test(test_decimal_exponent_comma_and_words_refused),
        cmocka_unit_test(test_count_digits_and_thousands_separators),
        cmocka_unit_test(test_count_misplaced_separators_refused),
        cmocka_unit_test(test_count_negative_words_and_overflow_refused),
        cmocka_unit_test(test_suppressed_count_x_withheld_otherwise_a_count),
        cmocka_unit_test_setup_teardown(test_hours_two_intervals_total_minutes, hours_setup,
                                        hours_teardown),
        cmocka_unit_test_setup_teardown(test_hours_single_digit_hour_dot_and_spaces_canonicalised,
                                        hours_setup, hours_teardown),
        cmocka_unit_test_setup_teardown(test_hours_closed_day_has_no_intervals, hours_setup,
                                        hours_teardown),
        cmocka_unit_test_setup_teardown(test_hours_whole_day_ends_at_24, hours_setup,
                                        hours_teardown),
        cmocka_unit_test_setup_teardown(test_hours_closing_before_opening_refused, hours_setup,
                                        hours_teardown),
        cmocka_unit_test_setup_teardown(test_hours_overlapping_or_unordered_intervals_refused,
                                        hours_setup, hours_teardown),
        cmocka_unit_test_setup_teardown(test_hours_malformed_refused, hours_setup, hours_teardown),
        cmocka_unit_test_setup_teardown(test_hours_more_than_eight_intervals_refused, hours_setup,
                                        hours_teardown),
        cmocka_unit_test(test_hours_output_buffer_bound_respected),
        cmocka_unit_test(test_weekday_full_and_short_names_any_case),
        cmocka_unit_test(test_weekday_other_words_refused),
        cmocka_unit_test(test_code_case_and_separators_ignored),
        cmocka_unit_test(test_code_hyphen_and_space_are_alike),
        cmocka_unit_test(test_code_not_in_list_refused),
        cmocka_unit_test(test_authority_key_borough_forms_agree),
        cmocka_unit_test(test_authority_key_city_forms_agree),
        cmocka_unit_test(test_authority_key_county_and_plain_council_suffixes),
        cmocka_unit_test(test_authority_key_ampersand_and_punctuation),
        cmocka_unit_test(test_authority_key_city_of_london_kept_apart_from_london),
        cmocka_unit_test(test_authority_key_never_strips_to_nothing),
        cmocka_unit_test(test_authority_key_control_bytes_are_blanks),
        cmocka_unit_test(test_authority_key_too_long_for_out_refused),
        cmocka_unit_test(test_authority_key_is_idempotent),
        cmocka_unit_test(test_gss_code_accepted_and_upper_cased),
        cmocka_unit_test(test_gss_code_wrong_length_or_letter_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
