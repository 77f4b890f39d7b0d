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
    struct ss_validate_ctx ctx = {.authorities = m};
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

static void test_fields_literal_keeps_positions_and_escapes(void **state)
{
    const char *vals[] = {"Barnet", NULL, "a,b", "say \"hi\" \\o/", ""};
    size_t lens[] = {6, 0, 3, 12, 0};
    struct ss_prec rec = {.nfields = 5, .vals = vals, .lens = lens};
    struct ss_buf b;
    (void)state;
    ss_buf_init(&b, 100);
    assert_int_equal(ss_validate_fields(&rec, &b), 0);
    assert_string_equal(b.data, "{\"Barnet\",NULL,\"a,b\",\"say \\\"hi\\\" \\\\o/\",\"\"}");
    ss_buf_free(&b);
}

static void test_fields_literal_refused_where_it_cannot_be_exact(void **state)
{
    const char *vals[] = {"Barnet", "caf\xe9"};
    size_t lens[] = {6, 4};
    struct ss_prec rec = {.nfields = 2, .vals = vals, .lens = lens};
    struct ss_buf b;
    (void)state;
    ss_buf_init(&b, 100);
    ss_buf_adds(&b, "x");
    assert_int_equal(ss_validate_fields(&rec, &b), 1); /* not valid UTF-8 */
    lens[1] = 3;
    vals[1] = "a\0b";
    assert_int_equal(ss_validate_fields(&rec, &b), 1); /* a NUL */
    rec.flags = SS_REC_REJECTED;
    vals[1] = "raw";
    assert_int_equal(ss_validate_fields(&rec, &b), 1); /* the collector could not read it */
    assert_string_equal(b.data, "x");
    ss_buf_free(&b);
    ss_buf_init(&b, 8); /* past the bound: nothing left behind */
    rec.flags = 0;
    vals[1] = "a long value";
    lens[1] = strlen(vals[1]);
    assert_true(ss_validate_fields(&rec, &b) < 0);
    assert_int_equal(b.len, 0);
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
    struct ss_validate_ctx ctx = {.authorities = m};
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
    struct ss_validate_ctx ctx = {.authorities = m};
    struct ss_buf out;
    char reason[512];
    ss_buf_init(&out, 4096);
    assert_int_equal(ss_validate_record(ds, &rec, &ctx, &out, reason, sizeof(reason)), SS_EINVAL);
    assert_non_null(strstr(reason, "clear patron identifiers are refused"));
    ss_buf_free(&out);
    ss_authmap_free(m);
}

/* One record of an authority-level dataset against the Somerset
 * reorganisation: 0 with out, or SS_EINVAL with reason. */
static int validate_somerset(const char *dataset, const char *const *v, size_t n,
                             enum ss_authmap_abolished abolished, struct ss_buf *out, char *reason)
{
    const struct ss_dataset *ds = ss_dataset_find(dataset);
    const char *vals[8];
    size_t lens[8];
    for (size_t i = 0; i < n; i++) {
        vals[i] = v[i];
        lens[i] = v[i] ? strlen(v[i]) : 0;
    }
    struct ss_prec rec = {.line = 2, .flags = 0, .nfields = n, .vals = vals, .lens = lens};
    struct ss_authmap *m = ss_authmap_new();
    ss_authmap_add(m, "E10000027", "Somerset", NULL, "2023-03-31");
    ss_authmap_add(m, "E06000066", "Somerset", "2023-04-01", NULL);
    ss_authmap_add_successor(m, "E10000027", "E06000066", "2023-04-01");
    ss_authmap_put(m, "somerset", "E10000027");
    ss_authmap_put(m, "somerset", "E06000066");
    struct ss_validate_ctx ctx = {.authorities = m, .abolished = abolished};
    ss_buf_reset(out);
    int rc = ss_validate_record(ds, &rec, &ctx, out, reason, 512);
    ss_authmap_free(m);
    return rc;
}

static void test_authority_resolved_as_at_the_record_period(void **state)
{
    struct ss_buf out;
    char reason[512];
    ss_buf_init(&out, 1 << 16);
    /* computer_hours: authority, period, period_start, period_end, hours; the
     * authority comes before the period it depends on. */
    const char *v2020[] = {"Somerset", "2020-21", NULL, NULL, "12"};
    assert_int_equal(
        validate_somerset("computer_hours", v2020, 5, SS_AUTHMAP_QUARANTINE, &out, reason), 0);
    assert_string_equal(out.data, "E10000027\t12\t2020-04-01\t2021-03-31\n");
    const char *v2024[] = {"Somerset", NULL, "2024-04-01", "2024-04-30", "13"};
    assert_int_equal(
        validate_somerset("computer_hours", v2024, 5, SS_AUTHMAP_QUARANTINE, &out, reason), 0);
    assert_string_equal(out.data, "E06000066\t13\t2024-04-01\t2024-04-30\n");
    /* membership has no period: its count date decides. */
    const char *m2019[] = {"Somerset", "23/10/2019", "E01029000", "7"};
    assert_int_equal(validate_somerset("membership", m2019, 4, SS_AUTHMAP_QUARANTINE, &out, reason),
                     0);
    assert_non_null(strstr(out.data, "E10000027\t2019-10-23"));
    ss_buf_free(&out);
}

static void test_abolished_authority_quarantined_or_mapped_to_successor(void **state)
{
    struct ss_buf out;
    char reason[512];
    ss_buf_init(&out, 1 << 16);
    const char *v[] = {"E10000027", "2024-25", NULL, NULL, "12"};
    assert_int_equal(validate_somerset("computer_hours", v, 5, SS_AUTHMAP_QUARANTINE, &out, reason),
                     SS_EINVAL);
    assert_string_equal(reason, "\"authority\" is \"E10000027\": E10000027 Somerset was "
                                "abolished on 2023-04-01, before the record's period "
                                "2024-04-01..2025-03-31; its successor is E06000066 Somerset: "
                                "give its code, or set \"authorities.abolished\": \"successor\"");
    assert_int_equal(out.len, 0);
    assert_int_equal(validate_somerset("computer_hours", v, 5, SS_AUTHMAP_SUCCESSOR, &out, reason),
                     0);
    assert_string_equal(out.data, "E06000066\t12\t2024-04-01\t2025-03-31\n");
    /* A successor's code for a period before it existed. */
    const char *early[] = {"E06000066", NULL, "2019-04-01", "2019-04-30", "12"};
    assert_int_equal(
        validate_somerset("computer_hours", early, 5, SS_AUTHMAP_SUCCESSOR, &out, reason),
        SS_EINVAL);
    assert_non_null(strstr(reason, "E06000066 Somerset began on 2023-04-01, after the record's "
                                   "period 2019-04-01..2019-04-30"));
    ss_buf_free(&out);
}

/* Runs ss_validate_locate on a record of dataset name (values v, n of them),
 * with Barnet's names resolving. */
static int locate(const char *name, const char *const *v, size_t n, struct ss_validate_where *w)
{
    const struct ss_dataset *ds = ss_dataset_find(name);
    const char *vals[16];
    size_t lens[16];
    for (size_t i = 0; i < n; i++) {
        vals[i] = v[i];
        lens[i] = v[i] ? strlen(v[i]) : 0;
    }
    struct ss_prec rec = {.line = 2, .flags = 0, .nfields = n, .vals = vals, .lens = lens};
    struct ss_authmap *m = ss_authmap_new();
    ss_authmap_put(m, "barnet", "E09000003");
    ss_authmap_put(m, "E09000003", "E09000003");
    struct ss_validate_ctx ctx = {.authorities = m};
    int found = ss_validate_locate(ds, &rec, &ctx, w);
    ss_authmap_free(m);
    return found;
}

static void test_locate_tells_authority_and_period_whatever_failed(void **state)
{
    struct ss_validate_where w;
    const char *bad_count[] = {"Barnet", "Burnt Oak", "2019-04", NULL, NULL, NULL, "DVD", "twelve"};
    assert_int_equal(locate("loans", bad_count, 8, &w), SS_LOCATED_AUTHORITY | SS_LOCATED_PERIOD);
    assert_string_equal(w.authority_code, "E09000003");
    assert_int_equal(w.from.y * 10000 + w.from.m * 100 + w.from.d, 20190401);
    assert_int_equal(w.to.y * 10000 + w.to.m * 100 + w.to.d, 20190430);

    const char *unknown[] = {"Nowhere",    "Burnt Oak",  NULL,  NULL,
                             "2019-04-01", "2019-06-30", "DVD", "5"};
    assert_int_equal(locate("loans", unknown, 8, &w), SS_LOCATED_PERIOD);
    assert_string_equal(w.authority_code, "");
    assert_int_equal(w.to.y * 10000 + w.to.m * 100 + w.to.d, 20190630);

    const char *bad_month[] = {"Barnet", "Burnt Oak", "2019-13", NULL, NULL, NULL, "DVD", "5"};
    assert_int_equal(locate("loans", bad_month, 8, &w), SS_LOCATED_AUTHORITY);

    /* events: the event date is the period */
    const char *event[] = {"Barnet", "Outreach",        "2019-05-04", "Rhyme time",
                           "1",      "no such outcome", NULL,         "12"};
    assert_int_equal(locate("events", event, 8, &w), SS_LOCATED_AUTHORITY | SS_LOCATED_PERIOD);
    assert_int_equal(w.from.y * 10000 + w.from.m * 100 + w.from.d, 20190504);
    assert_int_equal(w.to.y * 10000 + w.to.m * 100 + w.to.d, 20190504);

    assert_int_equal(locate("loans", bad_count, 7, &w), 0); /* wrong field count */
}

static void test_loans_for_the_whole_authority_have_no_service_point(void **state)
{
    const char *v[] = {"Barnet", NULL, "2019-04", NULL, NULL, NULL, "Adult fiction", "37"};
    struct ss_buf out;
    char reason[512];
    ss_buf_init(&out, 1 << 16);
    assert_int_equal(validate(v, &out, reason), 0);
    assert_string_equal(out.data, "E09000003\t\\N\tAdult fiction\t37\t2019-04-01\t2019-04-30\n");
    ss_buf_free(&out);
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
    struct ss_validate_ctx ctx = {.authorities = m};
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

/* A service point's authority as at the date the record (as_of) or its
 * batch says it describes; with neither, today's. */
static void test_service_point_authority_as_at_its_data_date(void **state)
{
    (void)state;
    const struct ss_dataset *ds = ss_dataset_find("service_points");
    const char *vals[64] = {0};
    size_t lens[64] = {0};
    int fa = ss_dataset_field_index(ds, "authority"), fn = ss_dataset_field_index(ds, "name"),
        fp = ss_dataset_field_index(ds, "postcode"), fd = ss_dataset_field_index(ds, "as_of");
    vals[fa] = "Somerset", vals[fn] = "Taunton Library", vals[fp] = "TA1 3XZ";
    for (int f = 0; f < 64; f++)
        lens[f] = vals[f] ? strlen(vals[f]) : 0;
    struct ss_prec rec = {.line = 2, .nfields = ds->nfields, .vals = vals, .lens = lens};
    struct ss_authmap *m = ss_authmap_new();
    ss_authmap_add(m, "E10000027", "Somerset", NULL, "2023-03-31");
    ss_authmap_add(m, "E06000066", "Somerset", "2023-04-01", NULL);
    ss_authmap_add_successor(m, "E10000027", "E06000066", "2023-04-01");
    ss_authmap_put(m, "somerset", "E10000027");
    ss_authmap_put(m, "somerset", "E06000066");
    struct ss_validate_ctx ctx = {.authorities = m};
    struct ss_buf out;
    char reason[512] = "";
    ss_buf_init(&out, 1 << 16);

    assert_int_equal(ss_validate_record(ds, &rec, &ctx, &out, reason, sizeof(reason)), 0);
    assert_sp_column(out.data, "authority_code", "E06000066"); /* no date: today */

    struct ss_date d = {2019, 6, 1};
    ctx.batch_when = (struct ss_authmap_when){1, ss_date_to_days(d), ss_date_to_days(d)};
    ss_buf_reset(&out);
    assert_int_equal(ss_validate_record(ds, &rec, &ctx, &out, reason, sizeof(reason)), 0);
    assert_sp_column(out.data, "authority_code", "E10000027"); /* the batch's as_of */

    vals[fd] = "2024-05-01", lens[fd] = 10; /* the record's own date wins */
    ss_buf_reset(&out);
    assert_int_equal(ss_validate_record(ds, &rec, &ctx, &out, reason, sizeof(reason)), 0);
    assert_sp_column(out.data, "authority_code", "E06000066");
    ss_buf_free(&out);
    ss_authmap_free(m);
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
        cmocka_unit_test(test_fields_literal_keeps_positions_and_escapes),
        cmocka_unit_test(test_fields_literal_refused_where_it_cannot_be_exact),
        cmocka_unit_test(test_service_point_without_statutory_or_type_loads_as_unknown),
        cmocka_unit_test(test_closed_library_without_type_loads_as_closed),
        cmocka_unit_test(test_service_point_authority_as_at_its_data_date),
        cmocka_unit_test(test_code_list_value_that_looks_like_a_placeholder_kept),
        cmocka_unit_test(test_timestamps_iso_with_or_without_offset),
        cmocka_unit_test(test_clear_patron_identifier_refused),
        cmocka_unit_test(test_authority_resolved_as_at_the_record_period),
        cmocka_unit_test(test_abolished_authority_quarantined_or_mapped_to_successor),
        cmocka_unit_test(test_locate_tells_authority_and_period_whatever_failed),
        cmocka_unit_test(test_loans_for_the_whole_authority_have_no_service_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
