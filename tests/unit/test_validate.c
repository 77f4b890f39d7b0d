/* The daemon's record checks: each rule gives the stored value or a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ss_err.h"

#include "ss_authmap.h"
#include "ss_dataset.h"
#include "ss_validate.h"

static void test_utf8_validation_rejects_bad_bytes_and_nul(void **state)
{
    assert_true(ss_utf8_valid("Caf\xC3\xA9", 5));
    assert_true(ss_utf8_valid("\xF0\x9F\x93\x9A", 4));
    assert_false(ss_utf8_valid("Caf\xE9", 4));      /* Windows-1252 e-acute */
    assert_false(ss_utf8_valid("\xC0\xAF", 2));     /* overlong */
    assert_false(ss_utf8_valid("\xED\xA0\x80", 3)); /* surrogate */
    assert_false(ss_utf8_valid("a\0b", 3));
}

static void test_sanitize_shows_invalid_bytes_as_hex(void **state)
{
    struct ss_buf b;
    ss_buf_init(&b, 100);
    assert_int_equal(ss_utf8_sanitize(&b, "Caf\xE9 \xC3\xA9", 7), 0);
    assert_string_equal(b.data, "Caf\\xE9 \xC3\xA9");
    ss_buf_free(&b);
}

static void test_copy_escape_escapes_control_characters(void **state)
{
    struct ss_buf b;
    ss_buf_init(&b, 100);
    assert_int_equal(ss_copy_escape(&b, "a\tb\nc\\d\re", 10), 0);
    assert_string_equal(b.data, "a\\tb\\nc\\\\d\\re");
    ss_buf_free(&b);
}

/* loans fields: authority, service_point, month, period, period_start, period_end, item_type, loans
 */
static int validate(const char *const *v, struct ss_buf *out, char *reason)
{
    const struct ss_dataset *ds = ss_dataset_find("loans");
    const char *vals[8];
    size_t lens[8];
    for (int i = 0; i < 8; i++) {
        vals[i] = v[i];
        lens[i] = v[i] ? strlen(v[i]) : 0;
    }
    struct ss_prec rec = {.line = 2, .flags = 0, .nfields = 8, .vals = vals, .lens = lens};
    struct ss_authmap *m = ss_authmap_new();
    ss_authmap_put(m, "barnet", "E09000003");
    ss_authmap_put(m, "E09000003", "E09000003");
    struct ss_validate_ctx ctx = {m};
    int rc = ss_validate_record(ds, &rec, &ctx, out, reason, 512);
    ss_authmap_free(m);
    return rc;
}

static void test_loans_record_becomes_copy_line_in_column_order(void **state)
{
    const char *v[] = {" Barnet ", "Burnt Oak", "2019-04", NULL, NULL, NULL, "Adult fiction", "37"};
    struct ss_buf out;
    char reason[512];
    ss_buf_init(&out, 1 << 16);
    assert_int_equal(validate(v, &out, reason), 0);
    assert_string_equal(out.data,
                        "E09000003\tBurnt Oak\tAdult fiction\t37\t2019-04-01\t2019-04-30\n");
    ss_buf_free(&out);
}

static void test_loans_old_count_start_end_form_accepted(void **state)
{
    const char *v[] = {"Barnet",     "Chipping Barnet", NULL,  NULL,
                       "2019-04-01", "2019-06-30",      "DVD", "5"};
    struct ss_buf out;
    char reason[512];
    ss_buf_init(&out, 1 << 16);
    assert_int_equal(validate(v, &out, reason), 0);
    assert_string_equal(out.data, "E09000003\tChipping Barnet\tDVD\t5\t2019-04-01\t2019-06-30\n");
    ss_buf_free(&out);
}

static void test_loans_bad_values_give_reasons_and_leave_output_alone(void **state)
{
    struct ss_buf out;
    char reason[512];
    ss_buf_init(&out, 1 << 16);
    ss_buf_adds(&out, "kept");
    const char *bad_count[] = {"Barnet", "Burnt Oak", "2019-04", NULL, NULL, NULL, "DVD", "Fifty"};
    assert_int_equal(validate(bad_count, &out, reason), SS_EINVAL);
    assert_string_equal(reason, "\"loans\" is \"Fifty\": not a whole number");
    assert_string_equal(out.data, "kept");
    const char *no_auth[] = {"  ", "Burnt Oak", "2019-04", NULL, NULL, NULL, "DVD", "1"};
    assert_int_equal(validate(no_auth, &out, reason), SS_EINVAL);
    assert_string_equal(reason, "\"authority\": required value missing");
    const char *no_period[] = {"Barnet", "Burnt Oak", NULL, NULL, "2019-04-01", NULL, "DVD", "1"};
    assert_int_equal(validate(no_period, &out, reason), SS_EINVAL);
    assert_non_null(strstr(reason, "no count period"));
    const char *bad_month[] = {"Barnet", "Burnt Oak", "July", NULL, NULL, NULL, "DVD", "1"};
    assert_int_equal(validate(bad_month, &out, reason), SS_EINVAL);
    assert_string_equal(reason, "\"month\" is \"July\": not a month (expected YYYY-MM)");
    const char *bad_utf8[] = {"Barnet", "Caf\xE9", "2019-04", NULL, NULL, NULL, "DVD", "1"};
    assert_int_equal(validate(bad_utf8, &out, reason), SS_EINVAL);
    assert_string_equal(reason, "\"service_point\": is not valid UTF-8 text");
    assert_string_equal(out.data, "kept");
    ss_buf_free(&out);
}

static void test_raw_text_is_csv_of_the_values(void **state)
{
    const char *vals[] = {"Barnet", NULL, "a,b", "say \"hi\""};
    size_t lens[] = {6, 0, 3, 8};
    struct ss_prec rec = {.nfields = 4, .vals = vals, .lens = lens};
    struct ss_buf b;
    ss_buf_init(&b, 100);
    assert_int_equal(ss_validate_raw(&rec, &b), 0);
    assert_string_equal(b.data, "Barnet,\"a,b\",\"say \"\"hi\"\"\"");
    ss_buf_free(&b);
}

static void test_code_list_value_that_looks_like_a_placeholder_kept(void **state)
{
    /* activity_loans: authority, format, content_age_group, period, period_start, period_end, loans
     */
    const struct ss_dataset *ds = ss_dataset_find("activity_loans");
    const char *vals[] = {"E09000003", "Ebook", "Unknown", "2023-04-01/P1M", NULL, NULL, "3347"};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = vals[i] ? strlen(vals[i]) : 0;
    struct ss_prec rec = {.line = 471, .nfields = 7, .vals = vals, .lens = lens};
    struct ss_authmap *m = ss_authmap_new();
    ss_authmap_put(m, "E09000003", "E09000003");
    struct ss_validate_ctx ctx = {m};
    struct ss_buf out;
    char reason[512];
    ss_buf_init(&out, 4096);
    assert_int_equal(ss_validate_record(ds, &rec, &ctx, &out, reason, sizeof(reason)), 0);
    assert_string_equal(out.data, "E09000003\tEbook\tUnknown\t3347\t2023-04-01\t2023-04-30\n");
    /* A placeholder where a code is required is missing, not a code. */
    vals[2] = "N/A";
    lens[2] = 3;
    assert_int_equal(ss_validate_record(ds, &rec, &ctx, &out, reason, sizeof(reason)), SS_EINVAL);
    assert_string_equal(reason, "\"content_age_group\": required value missing");
    ss_buf_free(&out);
    ss_authmap_free(m);
}

static void test_timestamps_iso_with_or_without_offset(void **state)
{
    char out[64];
    const char *why;
    assert_int_equal(ss_parse_timestamp("2024-04-01 10:15", 16, out, sizeof(out), &why), 0);
    assert_string_equal(out, "2024-04-01T10:15");
    assert_int_equal(ss_parse_timestamp("2024-04-01T10:15:30.25Z", 23, out, sizeof(out), &why), 0);
    assert_int_equal(ss_parse_timestamp("2024-04-01T10:15:30+01:00", 25, out, sizeof(out), &why),
                     0);
    assert_int_equal(ss_parse_timestamp("2024-04-01T25:15", 16, out, sizeof(out), &why), SS_EINVAL);
    assert_int_equal(ss_parse_timestamp("01/04/2024 10:15", 16, out, sizeof(out), &why), 0);
    assert_string_equal(out, "2024-04-01T10:15");
    assert_int_equal(ss_parse_timestamp("2024-04-01", 10, out, sizeof(out), &why), SS_EINVAL);
}

static void test_clear_patron_identifier_refused(void **state)
{
    /* loan_transactions: authority, transaction_id, service_point, issued_at, item_type,
     * patron_key, renewal */
    const struct ss_dataset *ds = ss_dataset_find("loan_transactions");
    const char *vals[] = {"E09000003", "T7", "Brook", "2024-05-03 09:15", "DVD", "23456789", NULL};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = vals[i] ? strlen(vals[i]) : 0;
    struct ss_prec rec = {.line = 8, .nfields = 7, .vals = vals, .lens = lens};
    struct ss_authmap *m = ss_authmap_new();
    ss_authmap_put(m, "E09000003", "E09000003");
    struct ss_validate_ctx ctx = {m};
    struct ss_buf out;
    char reason[512];
    ss_buf_init(&out, 4096);
    assert_int_equal(ss_validate_record(ds, &rec, &ctx, &out, reason, sizeof(reason)), SS_EINVAL);
    assert_non_null(strstr(reason, "clear patron identifiers are refused"));
    ss_buf_free(&out);
    ss_authmap_free(m);
}

/* A service_points record from name=value pairs (the rest absent): its
 * COPY line in out, or the reason. */
static int validate_sp(const char *const *pairs, struct ss_buf *out, char *reason)
{
    const struct ss_dataset *ds = ss_dataset_find("service_points");
    const char *vals[64] = {0};
    size_t lens[64] = {0};
    for (size_t i = 0; pairs[i]; i += 2) {
        int f = ss_dataset_field_index(ds, pairs[i]);
        assert_true(f >= 0);
        vals[f] = pairs[i + 1];
        lens[f] = strlen(pairs[i + 1]);
    }
    struct ss_prec rec = {.line = 2, .nfields = ds->nfields, .vals = vals, .lens = lens};
    struct ss_authmap *m = ss_authmap_new();
    ss_authmap_put(m, "bristol", "E06000023");
    struct ss_validate_ctx ctx = {m};
    ss_buf_reset(out);
    int rc = ss_validate_record(ds, &rec, &ctx, out, reason, 512);
    ss_authmap_free(m);
    return rc;
}

/* Stored column NAME of the COPY line text (service_points). */
static void assert_sp_column(const char *text, const char *name, const char *want)
{
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t n = ss_dataset_columns(ss_dataset_find("service_points"), cols);
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(p, "\t\n");
        if (strcmp(cols[i].name, name) == 0) {
            assert_int_equal(len, strlen(want));
            assert_memory_equal(p, want, len);
            return;
        }
        p += len + 1;
    }
    fail_msg("no column %s", name);
}

static void test_service_point_without_statutory_or_type_loads_as_unknown(void **state)
{
    (void)state;
    const char *rec[] = {"authority", "Bristol", "name", "Avonmouth", "postcode", "BS11 9EN", NULL};
    struct ss_buf out;
    char reason[512] = "";
    ss_buf_init(&out, 1 << 16);
    assert_int_equal(validate_sp(rec, &out, reason), 0);
    assert_sp_column(out.data, "statutory", "\\N");
    assert_sp_column(out.data, "library_type", "\\N");
    assert_sp_column(out.data, "status", "Open");
    assert_sp_column(out.data, "as_of", "\\N");
    ss_buf_free(&out);
}

static void test_closed_library_without_type_loads_as_closed(void **state)
{
    (void)state;
    struct ss_buf out;
    char reason[512] = "";
    ss_buf_init(&out, 1 << 16);
    /* The 2016 register's closure codes in the type column. */
    const char *xl[] = {"authority",    "Bristol", "name",  "Eastville",  "postcode", "BS5 6NW",
                        "library_type", "XL",      "as_of", "2016-07-01", NULL};
    assert_int_equal(validate_sp(xl, &out, reason), 0);
    assert_sp_column(out.data, "library_type", "\\N");
    assert_sp_column(out.data, "status", "Closed");
    assert_sp_column(out.data, "as_of", "2016-07-01");
    const char *xlt[] = {"authority", "Bristol",      "name", "Eastville", "postcode",
                         "BS5 6NW",   "library_type", "XLT",  NULL};
    assert_int_equal(validate_sp(xlt, &out, reason), 0);
    assert_sp_column(out.data, "status", "Temporarily closed");
    /* statutory "Temporary Closure": unknown statutory, temporarily closed. */
    const char *tc[] = {"authority",    "Bristol", "name",      "Eastville",
                        "postcode",     "BS5 6NW", "statutory", "Temporary Closure",
                        "library_type", "LAL",     NULL};
    assert_int_equal(validate_sp(tc, &out, reason), 0);
    assert_sp_column(out.data, "statutory", "\\N");
    assert_sp_column(out.data, "library_type", "LAL");
    assert_sp_column(out.data, "status", "Temporarily closed");
    /* A year closed is closed, whatever else is said, unless the status is given. */
    const char *yc[] = {"authority", "Bristol",      "name", "Eastville",   "postcode",
                        "BS5 6NW",   "library_type", "XLT",  "year_closed", "2015",
                        NULL};
    assert_int_equal(validate_sp(yc, &out, reason), 0);
    assert_sp_column(out.data, "year_closed", "2015");
    assert_sp_column(out.data, "status", "Closed");
    const char *given[] = {"authority", "Bristol",           "name",
                           "Eastville", "postcode",          "BS5 6NW",
                           "status",    "temporary closure", NULL};
    assert_int_equal(validate_sp(given, &out, reason), 0);
    assert_sp_column(out.data, "status", "Temporarily closed");
    const char *bad[] = {"authority", "Bristol", "name",         "Eastville", "postcode",
                         "BS5 6NW",   "status",  "Opening soon", NULL};
    assert_int_equal(validate_sp(bad, &out, reason), SS_EINVAL);
    assert_non_null(strstr(reason, "not a service point status"));
    ss_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_validation_rejects_bad_bytes_and_nul),
        cmocka_unit_test(test_sanitize_shows_invalid_bytes_as_hex),
        cmocka_unit_test(test_copy_escape_escapes_control_characters),
        cmocka_unit_test(test_loans_record_becomes_copy_line_in_column_order),
        cmocka_unit_test(test_loans_old_count_start_end_form_accepted),
        cmocka_unit_test(test_loans_bad_values_give_reasons_and_leave_output_alone),
        cmocka_unit_test(test_raw_text_is_csv_of_the_values),
        cmocka_unit_test(test_service_point_without_statutory_or_type_loads_as_unknown),
        cmocka_unit_test(test_closed_library_without_type_loads_as_closed),
        cmocka_unit_test(test_code_list_value_that_looks_like_a_placeholder_kept),
        cmocka_unit_test(test_timestamps_iso_with_or_without_offset),
        cmocka_unit_test(test_clear_patron_identifier_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
