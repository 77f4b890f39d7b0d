/* Unit tests for ss_export and ss_serve's pure parts: HTTP dates, the
 * paths served, If-None-Match lists, and the datapackage.json of every
 * exportable dataset (built from the definitions, no database). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ss_err.h"
#include "ss_export.h"
#include "ss_httpd.h"
#include "ss_serve.h"

static void test_http_date_round_trip(void **state)
{
    (void)state;
    char s[30];
    int64_t t;
    ss_export_http_date(0, s);
    assert_string_equal("Thu, 01 Jan 1970 00:00:00 GMT", s);
    ss_export_http_date(1733338629, s);
    assert_string_equal("Wed, 04 Dec 2024 18:57:09 GMT", s);
    assert_int_equal(0, ss_export_parse_http_date(s, &t));
    assert_int_equal(1733338629, t);
}

static void test_http_date_rejects_other_forms(void **state)
{
    (void)state;
    int64_t t;
    assert_true(ss_export_parse_http_date("", &t) < 0);
    assert_true(ss_export_parse_http_date("Wednesday, 04-Dec-24 18:57:09 GMT", &t) < 0);
    assert_true(ss_export_parse_http_date("Wed, 04 Dec 2024 18:57:09 UTC", &t) < 0);
    assert_true(ss_export_parse_http_date("Wed, 04 Xyz 2024 18:57:09 GMT", &t) < 0);
    assert_true(ss_export_parse_http_date("Wed, 32 Dec 2024 18:57:09 GMT", &t) < 0);
    assert_true(ss_export_parse_http_date("Wed, 04 Dec 2024 25:57:09 GMT", &t) < 0);
    assert_true(ss_export_parse_http_date("Wed, 04 Dec 2024 18:57:09 GMTx", &t) < 0);
}

static void test_route_names_csv_and_package(void **state)
{
    (void)state;
    char d[64], g[64];
    assert_int_equal(0, ss_serve_route("/export/events/E09000003.csv", d, g, sizeof d));
    assert_string_equal("events", d);
    assert_string_equal("E09000003", g);
    assert_int_equal(1, ss_serve_route("/export/stock/E09000003/datapackage.json", d, g, sizeof d));
    assert_string_equal("stock", d);
    assert_int_equal(0,
                     ss_serve_route("/export/service_points/E06000026/service_points_E06000026.csv",
                                    d, g, sizeof d));
    assert_string_equal("service_points", d);
}

static void test_route_refuses_anything_else(void **state)
{
    (void)state;
    char d[64], g[64];
    static const char *const bad[] = {
        "/export/events/E09000003/other.csv",
        "/export/events/../E09000003.csv",
        "/export/events/.csv",
        "/export/events/",
        "/export/events",
        "/export//E09000003.csv",
        "/export/Events/E09000003.csv",
        "/export/events/E09000003.csv/x",
        "/other/events/E1.csv",
        "/export/events/E0900%2e.csv",
        "/export/events/E09000003/datapackage.json/x",
        "/export/events/E09000003.csvx",
        "/export/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/E1.csv"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(-1, ss_serve_route(bad[i], d, g, sizeof d));
}

static void test_etag_list_matching(void **state)
{
    (void)state;
    assert_true(ss_serve_etag_listed("\"abc\"", "\"abc\""));
    assert_true(ss_serve_etag_listed("\"x\", W/\"abc\"", "\"abc\""));
    assert_true(ss_serve_etag_listed("*", "\"abc\""));
    assert_false(ss_serve_etag_listed("\"abcd\"", "\"abc\""));
    assert_false(ss_serve_etag_listed("abc", "\"abc\""));
    assert_false(ss_serve_etag_listed("", "\"abc\""));
}

static void test_httpd_reads_conditional_headers(void **state)
{
    (void)state;
    static const char req[] = "GET /export/x HTTP/1.1\r\nHost: a\r\nif-none-match:  \"e1\", \"e2\" "
                              "\r\nIf-Modified-Since: Wed, 04 Dec 2024 18:57:09 GMT\r\n\r\n";
    struct ss_http_request r;
    const char *why;
    assert_int_equal(1, ss_httpd_parse(req, sizeof req - 1, &r, &why));
    assert_string_equal("\"e1\", \"e2\"", r.if_none_match);
    assert_string_equal("Wed, 04 Dec 2024 18:57:09 GMT", r.if_modified_since);
}

static void test_httpd_ignores_conditional_header_too_long(void **state)
{
    (void)state;
    char req[1024];
    char tag[400];
    memset(tag, 'a', sizeof tag - 1);
    tag[sizeof tag - 1] = '\0';
    snprintf(req, sizeof req, "GET / HTTP/1.0\nIf-None-Match: \"%s\"\n\n", tag);
    struct ss_http_request r;
    const char *why;
    assert_int_equal(1, ss_httpd_parse(req, strlen(req), &r, &why));
    assert_string_equal("", r.if_none_match);
}

/* Every exportable dataset's package: built from the definitions, its
 * embedded schema names the published columns, its members are there. */
static void test_datapackage_of_every_dataset(void **state)
{
    (void)state;
    static const char *const names[] = {"loans",  "events",     "service_points", "mobile_stops",
                                        "visits", "membership", "stock"};
    static const char *const first[] = {"Local authority", "Local authority", "Local authority",
                                        "organisation",    "Local authority", "Local authority",
                                        "Local authority"};
    static const size_t nfields[] = {5, 7, 31, 18, 6, 4, 5};
    for (size_t i = 0; i < 7; i++) {
        struct ss_export_opts o = {.dataset = names[i], .authority = "E09000003"};
        struct ss_export_info info = {.rows = 2,
                                      .first = "2019-04-01",
                                      .last = "2019-04-30",
                                      .last_change = 1733338629,
                                      .bytes = 42};
        snprintf(info.authority_name, sizeof info.authority_name, "London Borough of Barnet");
        memset(info.sha256, 'a', 64);
        struct ss_buf out;
        char err[512];
        ss_buf_init(&out, 1u << 20);
        assert_int_equal(0, ss_export_datapackage(&o, &info, NULL, "x.csv", &out, err, sizeof err));
        json_error_t je;
        json_t *d = json_loads(out.data, 0, &je);
        assert_non_null(d);
        const char *name = json_string_value(json_object_get(d, "name"));
        assert_non_null(name);
        for (const char *c = name; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-');
        assert_string_equal("OGL-UK-3.0",
                            json_string_value(json_object_get(
                                json_array_get(json_object_get(d, "licenses"), 0), "name")));
        json_t *r = json_array_get(json_object_get(d, "resources"), 0);
        assert_string_equal("x.csv", json_string_value(json_object_get(r, "path")));
        assert_int_equal(42, json_integer_value(json_object_get(r, "bytes")));
        assert_int_equal(0,
                         strncmp("sha256:aaaa", json_string_value(json_object_get(r, "hash")), 11));
        json_t *fields = json_object_get(json_object_get(r, "schema"), "fields");
        assert_int_equal(nfields[i], json_array_size(fields));
        assert_string_equal(first[i],
                            json_string_value(json_object_get(json_array_get(fields, 0), "name")));
        assert_string_equal("2019-04-01", json_string_value(json_object_get(
                                              json_object_get(d, "temporalCoverage"), "start")));
        json_decref(d);
        ss_buf_free(&out);
    }
}

static void test_datapackage_refuses_unknown_licence_and_dataset(void **state)
{
    (void)state;
    struct ss_export_opts o = {.dataset = "events", .authority = "E09000003"};
    struct ss_export_info info = {0};
    struct ss_buf out;
    char err[512];
    ss_buf_init(&out, 1u << 20);
    assert_true(ss_export_datapackage(&o, &info, "MIT", "x.csv", &out, err, sizeof err) < 0);
    assert_non_null(strstr(err, "unknown licence \"MIT\""));
    o.dataset = "finance";
    assert_true(ss_export_datapackage(&o, &info, NULL, "x.csv", &out, err, sizeof err) < 0);
    assert_non_null(strstr(err, "unknown dataset \"finance\""));
    assert_false(ss_export_known("finance"));
    assert_true(ss_export_known("membership"));
    ss_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_date_round_trip),
        cmocka_unit_test(test_http_date_rejects_other_forms),
        cmocka_unit_test(test_route_names_csv_and_package),
        cmocka_unit_test(test_route_refuses_anything_else),
        cmocka_unit_test(test_etag_list_matching),
        cmocka_unit_test(test_httpd_reads_conditional_headers),
        cmocka_unit_test(test_httpd_ignores_conditional_header_too_long),
        cmocka_unit_test(test_datapackage_of_every_dataset),
        cmocka_unit_test(test_datapackage_refuses_unknown_licence_and_dataset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
