/* Tests for ss_discover: the encoding (byte-order marks, UTF-16 without one,
 * Windows-1252, binary), what the text is (HTML, JSON, CSV, empty), the
 * delimiter, header matching and the header guess, the dataset guess, wide
 * month columns, a headerless file mapped by position and value type, a
 * head cut mid-row, JSON records, and a proposal that the config loader
 * accepts as it is.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ss_config.h"
#include "ss_discover.h"
#include "ss_err.h"
#include "ss_source.h"

static const char *enc(const char *b, size_t n, const char **bom, int *rc)
{
    const char *e = NULL;
    char why[256];
    *rc = ss_discover_encoding((const unsigned char *)b, n, &e, bom, why, sizeof why);
    return e;
}

static void test_discover_encoding_by_bom_and_bytes(void **state)
{
    (void)state;
    const char *bom;
    int rc;
    assert_string_equal(enc("\xFF\xFE"
                            "a\0",
                            4, &bom, &rc),
                        "utf-16");
    assert_string_equal(bom, "UTF-16LE");
    assert_string_equal(enc("\xFE\xFF\0a", 4, &bom, &rc), "utf-16");
    assert_string_equal(bom, "UTF-16BE");
    assert_string_equal(enc("\xEF\xBB\xBF"
                            "a,b\n",
                            7, &bom, &rc),
                        "utf-8");
    assert_string_equal(bom, "UTF-8");
    /* UTF-16 without its mark: NULs at every other byte */
    assert_string_equal(enc("a\0,\0b\0\n\0", 8, &bom, &rc), "utf-16le");
    assert_null(bom);
    assert_string_equal(enc("\0a\0,\0b\0\n", 8, &bom, &rc), "utf-16be");
    /* valid UTF-8, and a sequence cut by the end of the head */
    assert_string_equal(enc("Caf\xC3\xA9,1\n", 8, &bom, &rc), "utf-8");
    assert_string_equal(enc("a,Caf\xC3", 6, &bom, &rc), "utf-8");
    /* é as one byte: Windows-1252 */
    assert_string_equal(enc("Caf\xE9;1\r\n", 8, &bom, &rc), "windows-1252");
    assert_int_equal(rc, 0);
}

static void test_discover_encoding_binary_refused(void **state)
{
    (void)state;
    const char *bom;
    int rc;
    enc("\x1F\x8B\x08\0\0\0", 6, &bom, &rc);
    assert_int_equal(rc, SS_EINVAL);
    enc("PK\x03\x04\x14\0", 6, &bom, &rc);
    assert_int_equal(rc, SS_EINVAL);
    char junk[200];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i % 7 == 0 ? 1 : 'a' + i % 20);
    enc(junk, sizeof junk, &bom, &rc);
    assert_int_equal(rc, SS_EINVAL);
    enc("a,b\n1,\0\n", 8, &bom, &rc);
    assert_int_equal(rc, SS_EINVAL);
    /* one stray control byte in a longer text: still text */
    char text[400];
    memset(text, 'a', sizeof text);
    text[100] = '\v';
    assert_string_equal(enc(text, sizeof text, &bom, &rc), "utf-8");
    assert_int_equal(rc, 0);
}

static void test_discover_format(void **state)
{
    (void)state;
    char why[256];
    const char *html = "\n  <!DOCTYPE html><html><body>Sign in</body></html>";
    assert_int_equal(ss_discover_format(html, strlen(html), NULL, why, sizeof why),
                     SS_DISCOVER_HTML);
    assert_non_null(strstr(why, "DOCTYPE"));
    assert_int_equal(ss_discover_format("<p>x</p>", 8, "text/html; charset=utf-8", why, sizeof why),
                     SS_DISCOVER_HTML);
    assert_int_equal(ss_discover_format(" [{\"a\":1}]", 10, NULL, why, sizeof why),
                     SS_DISCOVER_JSON);
    assert_int_equal(ss_discover_format("\xEF\xBB\xBF{\"a\":1}", 10, NULL, why, sizeof why),
                     SS_DISCOVER_JSON);
    assert_int_equal(ss_discover_format("a,b\n1,2\n", 8, "text/csv", why, sizeof why),
                     SS_DISCOVER_CSV);
    /* CSV sent as text/html by a script: data, not a page */
    assert_int_equal(ss_discover_format("a,b\n1,2\n", 8, "text/html", why, sizeof why),
                     SS_DISCOVER_CSV);
    assert_int_equal(ss_discover_format(" \r\n\t", 4, NULL, why, sizeof why), SS_DISCOVER_EMPTY);
    assert_int_equal(ss_discover_format("", 0, NULL, why, sizeof why), SS_DISCOVER_EMPTY);
}

static void test_discover_delimiter(void **state)
{
    (void)state;
    const char *semi = "Branch;Count;Rate\nA;1,5;2,5\nB;2,5;3,5\n";
    assert_int_equal(ss_discover_delimiter(semi, strlen(semi)), ';');
    const char *tab = "a\tb\tc\r\n1\t2\t3\r\n";
    assert_int_equal(ss_discover_delimiter(tab, strlen(tab)), '\t');
    const char *pipe = "a|b\n1|2\n";
    assert_int_equal(ss_discover_delimiter(pipe, strlen(pipe)), '|');
    /* commas inside quotes do not count */
    const char *quoted = "\"a,b,c\";d\n\"1,2,3\";4\n";
    assert_int_equal(ss_discover_delimiter(quoted, strlen(quoted)), ';');
    assert_int_equal(ss_discover_delimiter("single", 6), ',');
    const char *comma = "Local authority,Library name\nBarnet,Central\n";
    assert_int_equal(ss_discover_delimiter(comma, strlen(comma)), ',');
}

static void test_discover_header_matches_ignoring_case_and_punctuation(void **state)
{
    (void)state;
    const struct ss_dataset *sp = ss_dataset_find("service_points");
    const struct ss_field *co = &sp->fields[ss_dataset_field_index(sp, "colocated")];
    assert_true(ss_discover_header_matches("Co-located", 10, co));
    assert_true(ss_discover_header_matches("COLOCATED", 9, co));
    assert_true(ss_discover_header_matches(" colocated ", 11, co));
    assert_true(ss_discover_header_matches("colocated", 9, co)); /* the field's own name */
    assert_false(ss_discover_header_matches("Co-located with", 15, co));
    assert_false(ss_discover_header_matches("", 0, co));
    assert_false(ss_discover_header_matches("--", 2, co));
    const struct ss_field *name = &sp->fields[ss_dataset_field_index(sp, "name")];
    assert_true(ss_discover_header_matches("LIBRARY_NAME", 12, name));
}

static void test_discover_header_guess(void **state)
{
    (void)state;
    char *h[] = {"Local authority", "Library name", "Loans"};
    char *d1[] = {"Barnet", "Central", "12"};
    char *d2[] = {"Barnet", "East", "3"};
    char *const *rows[] = {h, d1, d2};
    assert_int_equal(ss_discover_header(rows, 3, 3), 1);
    char *const *headerless[] = {d1, d2};
    assert_int_equal(ss_discover_header(headerless, 2, 3), 0);
    /* period headers over numbers: a header (a wide file) */
    char *wh[] = {"Library", "2023-1", "Apr-23"};
    char *const *wide[] = {wh, d1};
    assert_int_equal(ss_discover_header(wide, 2, 3), 1);
    /* a month value with more months below: data */
    char *m1[] = {"Central", "2023-04", "x"};
    char *m2[] = {"East", "2023-05", "y"};
    char *const *months[] = {m1, m2};
    assert_int_equal(ss_discover_header(months, 2, 3), 0);
    /* a date in the first row: data */
    char *dt[] = {"Central", "2023-04-01", "x"};
    char *const *dated[] = {dt};
    assert_int_equal(ss_discover_header(dated, 1, 3), 0);
    /* one row, all text: a header (a template) */
    char *const *tpl[] = {h};
    assert_int_equal(ss_discover_header(tpl, 1, 3), 1);
}

static void test_discover_guess_dataset(void **state)
{
    (void)state;
    size_t score;
    const char *stock[] = {"Local authority", "Library name", "Count date", "Type", "Items"};
    assert_string_equal(ss_discover_guess_dataset(stock, 5, &score)->name, "stock");
    assert_int_equal(score, 5);
    const char *loans[] = {"local authority", "LIBRARY NAME", "Month", "Type", "Loans"};
    assert_string_equal(ss_discover_guess_dataset(loans, 5, &score)->name, "loans");
    const char *members[] = {"Local authority", "Count date", "Area code", "Members"};
    assert_string_equal(ss_discover_guess_dataset(members, 4, &score)->name, "membership");
    const char *stops[] = {"organisation", "mobile", "route", "stop", "geox", "geoy"};
    assert_string_equal(ss_discover_guess_dataset(stops, 6, &score)->name, "mobile_stops");
    const char *none[] = {"foo", "bar"};
    assert_null(ss_discover_guess_dataset(none, 2, &score));
    assert_int_equal(score, 0);
}

static int analyse(const char *text, int truncated, const char *dataset, struct ss_discover *d,
                   char *err, size_t errlen)
{
    return ss_discover_analyse(text, strlen(text), truncated, NULL, "file:///x/export.csv", dataset,
                               d, err, errlen);
}

static void test_discover_wide_months(void **state)
{
    (void)state;
    struct ss_discover d;
    char err[1024];
    const char *t = "Local authority,Library name,Count type,2023-1,2023-2,Apr-23,Notes\n"
                    "Barnet,Central,Automatic counter,1,2,3,\n";
    assert_int_equal(analyse(t, 0, "visits", &d, err, sizeof err), 0);
    assert_int_equal(d.nperiod, 3);
    assert_true(d.all_months);
    assert_string_equal(d.value_field, "visits");
    assert_string_equal(d.period_field, "month");
    assert_int_equal(d.field[6], -1); /* Notes */
    assert_int_equal(d.period[3], 1);
    assert_int_equal(d.period[6], 0);
    char *json = ss_discover_config_json(&d, "file:///x/export.csv");
    json_t *root = json_loads(json, 0, NULL);
    json_t *ign = json_object_get(json_object_get(json_object_get(root, "csv"), "wide"), "ignore");
    assert_int_equal(json_array_size(ign), 1);
    assert_string_equal(json_string_value(json_array_get(ign, 0)), "Notes");
    json_decref(root);
    free(json);
    ss_discover_free(&d);

    /* financial years: into period */
    t = "Local authority,Library name,Count type,2021-22,2022-23\nBarnet,Central,Manual,1,2\n";
    assert_int_equal(analyse(t, 0, "visits", &d, err, sizeof err), 0);
    assert_string_equal(d.period_field, "period");
    ss_discover_free(&d);
}

static void test_discover_headerless_by_position(void **state)
{
    (void)state;
    struct ss_discover d;
    char err[1024];
    const char *t = "Barnet,Central,2019-04,Adult fiction,37\nBarnet,East,2019-05,Children,2\n";
    assert_int_equal(analyse(t, 0, NULL, &d, err, sizeof err), SS_EINVAL);
    assert_non_null(strstr(err, "--dataset"));
    assert_int_equal(analyse(t, 0, "loans", &d, err, sizeof err), 0);
    assert_false(d.header);
    assert_int_equal(d.rows, 2);
    const char *want[] = {"authority", "service_point", "month", "item_type", "loans"};
    for (size_t c = 0; c < 5; c++) {
        assert_true(d.field[c] >= 0);
        assert_string_equal(d.ds->fields[d.field[c]].name, want[c]);
    }
    assert_string_equal(d.cols[4], "Loans");
    ss_discover_free(&d);
}

static void test_discover_truncated_head_drops_the_cut_row(void **state)
{
    (void)state;
    struct ss_discover d;
    char err[1024];
    const char *t = "Local authority,Library name,Month,Type,Loans\nBarnet,A,2019-04,X,1\nBarn";
    assert_int_equal(analyse(t, 1, NULL, &d, err, sizeof err), 0);
    assert_int_equal(d.rows, 1);
    assert_string_equal(d.ds->name, "loans");
    ss_discover_free(&d);
    assert_int_equal(analyse(t, 0, NULL, &d, err, sizeof err), 0);
    assert_int_equal(d.rows, 2);
    ss_discover_free(&d);
}

static void test_discover_nothing_usable(void **state)
{
    (void)state;
    struct ss_discover d;
    char err[1024];
    assert_int_equal(analyse("<html><body>Login</body></html>", 0, NULL, &d, err, sizeof err),
                     SS_EINVAL);
    assert_non_null(strstr(err, "HTML"));
    assert_int_equal(analyse("  \n", 0, NULL, &d, err, sizeof err), SS_EINVAL);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(analyse("foo,bar\n1,2\n", 0, NULL, &d, err, sizeof err), SS_EINVAL);
    assert_non_null(strstr(err, "--dataset"));
    assert_int_equal(analyse("a,b\n", 0, "no_such", &d, err, sizeof err), SS_EINVAL);
    assert_int_equal(analyse("{\"a\": [1, 2]}", 0, NULL, &d, err, sizeof err), SS_EINVAL);
    assert_non_null(strstr(err, "no array of objects"));
    assert_int_equal(analyse("[{}]", 0, "loans", &d, err, sizeof err), SS_EINVAL);
    assert_non_null(strstr(err, "no fields"));
}

static void test_discover_json_records(void **state)
{
    (void)state;
    struct ss_discover d;
    char err[1024];
    const char *t = "{\"meta\": {}, \"data\": {\"items\": [{\"Library name\": \"A\", \"Loans\": 1, "
                    "\"Month\": \"2024-01\"}, {\"Local authority\": \"Barnet\"}]}}";
    assert_int_equal(analyse(t, 0, NULL, &d, err, sizeof err), 0);
    assert_int_equal(d.format, SS_DISCOVER_JSON);
    assert_string_equal(d.json_path, "data.items");
    assert_int_equal(d.ncols, 4);
    assert_string_equal(d.cols[3], "Local authority");
    assert_string_equal(d.ds->name, "loans");
    ss_discover_free(&d);
    const char *nd = "{\"Library name\": \"A\", \"Loans\": 1}\n{\"Library name\": \"B\"}\n";
    assert_int_equal(analyse(nd, 0, "loans", &d, err, sizeof err), 0);
    assert_true(d.ndjson);
    ss_discover_free(&d);
}

/* The proposal, with its placeholders, loads as a config; constants name
 * the required fields no column gives. */
static void test_discover_config_loads(void **state)
{
    (void)state;
    struct ss_discover d;
    char err[2048], path[] = "/tmp/test_discover_XXXXXX";
    const char *t = "Library name;Month;Issues\xE9\r\nCentral;2024-01;3\r\n";
    assert_int_equal(analyse(t, 0, "loans", &d, err, sizeof err), 0);
    assert_string_equal(d.encoding, "windows-1252");
    assert_int_equal(d.delimiter, ';');
    char *json = ss_discover_config_json(&d, "https://example.org/exports/loans 2024.csv?x=1");
    assert_non_null(json);
    assert_non_null(strstr(json, "\"source\": \"loans-2024\""));
    assert_non_null(strstr(json, "\"state_dir\": \"/var/lib/shelfsync-collect/loans-2024\""));
    assert_non_null(strstr(json, "\"authority\": \"FILL IN"));
    assert_non_null(strstr(json, "\"item_type\": \"FILL IN"));
    assert_non_null(strstr(json, "\"loans\": \"FILL IN"));
    /* unmapped, named in mapping.description */
    json_t *root = json_loads(json, 0, NULL);
    const char *desc =
        json_string_value(json_object_get(json_object_get(root, "mapping"), "description"));
    assert_non_null(strstr(desc, "\"Issues\xC3\xA9\""));
    /* its values are counts: suggested for the count field no column gives */
    desc = json_string_value(json_object_get(json_object_get(root, "constants"), "description"));
    assert_non_null(strstr(desc, "maybe a column: \"Issues\xC3\xA9\" for loans"));
    json_decref(root);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, json, strlen(json)) == (ssize_t)strlen(json));
    close(fd);
    struct ss_collector_config cfg;
    int rc = ss_collector_config_load(path, ss_source_config_kind, &cfg, err, sizeof err);
    if (rc < 0)
        fail_msg("%s", err);
    assert_string_equal(cfg.dataset, "loans");
    ss_collector_config_free(&cfg);
    unlink(path);
    free(json);
    ss_discover_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover_encoding_by_bom_and_bytes),
        cmocka_unit_test(test_discover_encoding_binary_refused),
        cmocka_unit_test(test_discover_format),
        cmocka_unit_test(test_discover_delimiter),
        cmocka_unit_test(test_discover_header_matches_ignoring_case_and_punctuation),
        cmocka_unit_test(test_discover_header_guess),
        cmocka_unit_test(test_discover_guess_dataset),
        cmocka_unit_test(test_discover_wide_months),
        cmocka_unit_test(test_discover_headerless_by_position),
        cmocka_unit_test(test_discover_truncated_head_drops_the_cut_row),
        cmocka_unit_test(test_discover_nothing_usable),
        cmocka_unit_test(test_discover_json_records),
        cmocka_unit_test(test_discover_config_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
