/* The reference-data parsers: the authorities JSON, the ONS population and
 * nearest-neighbour CSVs, and the curated files compiled into the binary.
 * Every bad file is refused with path:line (and the column where one applies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ss_err.h"
#include "ss_normalise.h"
#include "ss_ref.h"

#define FIXTURE(name) SS_TEST_FIXTURES "/ref/" name

static char err[1024];

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static FILE *mem(const char *text)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    return f;
}

/* ---- authorities ---- */

struct auth_seen {
    int n;
    char code[4][10];
    char nice[4][32];
    int region_null[4];
    unsigned long line[4];
};

static int auth_cb(void *ud, const struct ss_ref_authority *a, char *e, size_t elen)
{
    struct auth_seen *s = ud;
    if (s->n < 4) {
        snprintf(s->code[s->n], 10, "%s", a->code);
        snprintf(s->nice[s->n], 32, "%s", a->nice_name);
        s->region_null[s->n] = a->region == NULL;
        s->line[s->n] = a->line;
    }
    s->n++;
    return 0;
}

static void test_authorities_parsed_with_upper_case_codes_and_lines(void **state)
{
    size_t len;
    char *data = slurp(FIXTURE("authorities_small.json"), &len);
    struct auth_seen s = {0};
    assert_int_equal(ss_ref_parse_authorities("a.json", data, len, auth_cb, &s, err, sizeof(err)),
                     3);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.code[0], "E09000003");
    assert_string_equal(s.nice[0], "Barnet");
    assert_int_equal(s.line[0], 2);
    assert_string_equal(s.code[1], "W06000015");
    assert_true(s.region_null[1]);
    assert_int_equal(s.line[1], 9);
    assert_string_equal(s.code[2], "N92000002");
    assert_true(s.region_null[2]);
    assert_int_equal(s.line[2], 10);
    free(data);
}

static void expect_auth_error(const char *json, const char *want)
{
    struct auth_seen s = {0};
    assert_int_equal(
        ss_ref_parse_authorities("a.json", json, strlen(json), auth_cb, &s, err, sizeof(err)),
        SS_EINVAL);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_authorities_syntax_error_names_line_and_column(void **state)
{
    expect_auth_error("[\n {\"code\": \"E09000003\",\n  \"name\": }\n]", "a.json:3:");
}

static void test_authorities_bad_code_names_the_element_line(void **state)
{
    expect_auth_error("[\n{\"code\":\"E09000003\",\"name\":\"B\",\"nice_name\":\"B\"},\n\n"
                      "{\"code\":\"E0900000\",\"name\":\"C\",\"nice_name\":\"C\"}]",
                      "a.json:4: authority 2: \"code\" is \"E0900000\": not an ONS GSS code");
}

static void test_authorities_missing_or_empty_member_refused(void **state)
{
    expect_auth_error("[{\"code\":\"E09000003\",\"name\":\"B\"}]",
                      "a.json:1: authority 1: \"nice_name\" is missing");
    expect_auth_error("[{\"code\":\"E09000003\",\"name\":\"\",\"nice_name\":\"B\"}]",
                      "\"name\" is empty");
    expect_auth_error("[{\"code\":\"E09000003\",\"name\":\"B\",\"nice_name\":\"B\",\"region\":3}]",
                      "\"region\" is not a string");
    expect_auth_error("{\"code\":\"E09000003\"}", "expected an array");
}

static void test_authorities_code_given_twice_refused(void **state)
{
    expect_auth_error("[{\"code\":\"E09000003\",\"name\":\"B\",\"nice_name\":\"B\"},\n"
                      " {\"code\":\"e09000003\",\"name\":\"B\",\"nice_name\":\"B\"}]",
                      "a.json:2: authority 2: code E09000003 given twice (first at line 1)");
}

/* ---- populations ---- */

struct pop_seen {
    int n;
    char code[4][10];
    char name[4][32];
    long long all[4], age0[4], age90[4];
    unsigned long line[4];
};

static int pop_cb(void *ud, const struct ss_ref_population *p, char *e, size_t elen)
{
    struct pop_seen *s = ud;
    if (s->n < 4) {
        snprintf(s->code[s->n], 10, "%s", p->code);
        snprintf(s->name[s->n], 32, "%s", p->name);
        s->all[s->n] = p->all_ages;
        s->age0[s->n] = p->persons[0];
        s->age90[s->n] = p->persons[90];
        s->line[s->n] = p->line;
    }
    s->n++;
    return 0;
}

static void test_populations_parsed_with_bom_and_crlf(void **state)
{
    FILE *f = fopen(FIXTURE("mye24_small.csv"), "rb");
    struct pop_seen s = {0};
    assert_non_null(f);
    assert_int_equal(ss_ref_parse_populations("p.csv", f, pop_cb, &s, err, sizeof(err)), 3);
    fclose(f);
    assert_string_equal(s.code[1], "E09000003");
    assert_string_equal(s.name[2], "Bristol, City of");
    assert_int_equal(s.age0[1], 100);
    assert_int_equal(s.age90[1], 100 + 90 % 7);
    assert_int_equal(s.line[2], 4);
    long long sum = 0;
    for (int a = 0; a < SS_REF_AGES; a++)
        sum += 100 + a % 7;
    assert_int_equal(s.all[1], sum);
}

/* A population file: the real header, then rows; row text may say "%AGES%"
 * for 91 ones. */
static char *pop_file(const char *rows)
{
    static char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "Code,Name,Geography,All ages");
    for (int a = 0; a < 90; a++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",%d", a);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",90+\n");
    for (const char *r = rows; *r; r++) {
        if (strncmp(r, "%AGES%", 6) == 0) {
            for (int a = 0; a < 91; a++)
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, a ? ",1" : "1");
            r += 5;
        } else {
            buf[n++] = *r;
        }
    }
    buf[n] = '\0';
    return buf;
}

static void expect_pop_error(const char *text, const char *want)
{
    FILE *f = mem(text);
    struct pop_seen s = {0};
    assert_int_equal(ss_ref_parse_populations("p.csv", f, pop_cb, &s, err, sizeof(err)), SS_EINVAL);
    fclose(f);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_populations_good_generated_file_accepted(void **state)
{
    FILE *f = mem(pop_file("E09000003,Barnet,London Borough,91,%AGES%\n"));
    struct pop_seen s = {0};
    assert_int_equal(ss_ref_parse_populations("p.csv", f, pop_cb, &s, err, sizeof(err)), 1);
    fclose(f);
    assert_int_equal(s.all[0], 91);
}

static void test_populations_bad_count_names_line_and_column(void **state)
{
    char rows[1024];
    size_t n = (size_t)snprintf(rows, sizeof(rows),
                                "E09000003,Barnet,London Borough,91,%%AGES%%\n"
                                "E09000004,Bexley,London Borough,91");
    for (int a = 0; a < SS_REF_AGES; a++)
        n += (size_t)snprintf(rows + n, sizeof(rows) - n, a == 11 ? ",x1" : ",1");
    snprintf(rows + n, sizeof(rows) - n, "\n");
    expect_pop_error(pop_file(rows), "p.csv:3: column 16 (\"11\") is \"x1\"");
}

static void test_populations_all_ages_must_add_up(void **state)
{
    expect_pop_error(pop_file("E09000003,Barnet,London Borough,92,%AGES%\n"),
                     "p.csv:2: column 4 (\"All ages\") is 92 but the single ages add up to 91");
}

static void test_populations_header_and_shape_checked(void **state)
{
    expect_pop_error("Code,Name,Geography,All ages,0,1\n", "p.csv:1: header: column 7 missing");
    expect_pop_error("Code,Name,Geo,All ages\n", "p.csv:1: header: column 3 is \"Geo\"");
    expect_pop_error(pop_file("E09000003,Barnet,London Borough,91\n"),
                     "p.csv:2: 4 columns, but the header has 95");
    expect_pop_error(pop_file("Barnet,Barnet,London Borough,91,%AGES%\n"),
                     "p.csv:2: column 1 (Code): \"Barnet\" is not an ONS GSS code");
    expect_pop_error(pop_file("E09000003,Barnet,London Borough,91,%AGES%\n"
                              "E09000003,Barnet,London Borough,91,%AGES%\n"),
                     "p.csv:3: code E09000003 given twice (first at line 2)");
    expect_pop_error(pop_file("E09000003,\"Barnet,London Borough,91,%AGES%\n"), "p.csv:2:");
    FILE *f = fopen("/dev/null", "rb");
    assert_non_null(f);
    assert_int_equal(ss_ref_parse_populations("p.csv", f, NULL, NULL, err, sizeof(err)), SS_EINVAL);
    fclose(f);
    assert_non_null(strstr(err, "p.csv:1: the file is empty"));
}

/* ---- neighbours ---- */

struct nn_seen {
    int n;
    char code[4][10];
    size_t count[4];
    char first[4][10];
};

static int nn_cb(void *ud, const struct ss_ref_neighbours *nb, char *e, size_t elen)
{
    struct nn_seen *s = ud;
    if (s->n < 4) {
        snprintf(s->code[s->n], 10, "%s", nb->code);
        s->count[s->n] = nb->n;
        snprintf(s->first[s->n], 10, "%s", nb->n ? nb->neighbours[0] : "");
    }
    s->n++;
    return 0;
}

static void test_neighbours_parsed_with_trailing_empties(void **state)
{
    FILE *f = fopen(FIXTURE("neighbours_small.csv"), "rb");
    struct nn_seen s = {0};
    assert_non_null(f);
    assert_int_equal(ss_ref_parse_neighbours("n.csv", f, nn_cb, &s, err, sizeof(err)), 3);
    fclose(f);
    assert_string_equal(s.code[0], "E06000001");
    assert_int_equal(s.count[0], 3);
    assert_string_equal(s.first[0], "E08000018");
    assert_int_equal(s.count[1], 2);
    assert_string_equal(s.code[2], "E09000003");
    assert_int_equal(s.count[2], 1);
}

static void expect_nn_error(const char *text, const char *want)
{
    FILE *f = mem(text);
    struct nn_seen s = {0};
    assert_int_equal(ss_ref_parse_neighbours("n.csv", f, nn_cb, &s, err, sizeof(err)), SS_EINVAL);
    fclose(f);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_neighbours_bad_files_refused(void **state)
{
    static const char hdr[] = "code,name,Neighbour 1,Neighbour 2\n";
    char buf[512];
    snprintf(buf, sizeof(buf), "%sE06000001,H,,E08000018\n", hdr);
    expect_nn_error(buf,
                    "n.csv:2: column 4 (\"Neighbour 2\") is given but \"Neighbour 1\" is empty");
    snprintf(buf, sizeof(buf), "%sE06000001,H,E0800001,\n", hdr);
    expect_nn_error(buf,
                    "n.csv:2: column 3 (\"Neighbour 1\"): \"E0800001\" is not an ONS GSS code");
    snprintf(buf, sizeof(buf), "%sE06000001,H,E06000001,\n", hdr);
    expect_nn_error(buf, "is its own neighbour");
    snprintf(buf, sizeof(buf), "%sE06000001,H,E08000018,\n\nE06000001,H,E08000018,\n", hdr);
    expect_nn_error(buf, "n.csv:4: code E06000001 given twice (first at line 2)");
    expect_nn_error("code,name,Neighbour 2\n", "n.csv:1: header: column 3 is \"Neighbour 2\"");
}

/* ---- curated files, compiled in ---- */

static int count_alias(void *ud, const struct ss_ref_alias *a, char *e, size_t elen)
{
    char gss[10];
    assert_true(ss_norm_gss_code(a->code, strlen(a->code), gss));
    (*(int *)ud)++;
    return 0;
}

static int count_successor(void *ud, const struct ss_ref_successor *s, char *e, size_t elen)
{
    (*(int *)ud)++;
    if (strcmp(s->old_code, "E10000006") == 0)
        assert_string_equal(s->changed_on, "2023-04-01");
    return 0;
}

static void test_builtin_curated_files_parse(void **state)
{
    const struct ss_ref_file *a = ss_ref_file_find("authority_aliases.csv");
    const struct ss_ref_file *s = ss_ref_file_find("authority_successors.csv");
    int na = 0, ns = 0;
    assert_non_null(a);
    assert_non_null(s);
    assert_null(ss_ref_file_find("nope.csv"));
    assert_int_equal(a->data[a->len], '\0');
    FILE *f = fmemopen((void *)a->data, a->len, "r");
    int rc = ss_ref_parse_aliases("aliases", f, count_alias, &na, err, sizeof(err));
    assert_int_equal(rc, na);
    fclose(f);
    assert_true(na > 0);
    f = fmemopen((void *)s->data, s->len, "r");
    rc = ss_ref_parse_successors("succ", f, count_successor, &ns, err, sizeof(err));
    assert_int_equal(rc, ns);
    fclose(f);
    assert_true(ns >= 12);
}

static void test_curated_bad_rows_refused(void **state)
{
    int n = 0;
    FILE *f = mem("alias,code\nSouthend,E06000033\nSouthend Council,E06000033\n");
    assert_int_equal(ss_ref_parse_aliases("al.csv", f, NULL, &n, err, sizeof(err)), SS_EINVAL);
    fclose(f);
    assert_non_null(strstr(err, "al.csv:3: alias \"Southend Council\" matches the same names as "
                                "line 2"));
    f = mem("old_code,old_name,new_code,changed_on\nE10000006,Cumbria,E06000063,2023-02-30\n");
    assert_int_equal(ss_ref_parse_successors("s.csv", f, NULL, &n, err, sizeof(err)), SS_EINVAL);
    fclose(f);
    assert_non_null(strstr(err, "s.csv:2: column 4 (changed_on): \"2023-02-30\""));
    f = mem("old_code,new_code\n");
    assert_int_equal(ss_ref_parse_successors("s.csv", f, NULL, &n, err, sizeof(err)), SS_EINVAL);
    fclose(f);
    assert_non_null(strstr(err, "s.csv:1: header: column 2 is \"new_code\""));
}

/* Found by fuzz_ref: a NUL inside a cell cut the alias short after its key was taken. */
static void test_text_cell_with_nul_byte_refused(void **state)
{
    static const char text[] = "alias,code\n\0\0Southend,E06000033\n";
    FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
    assert_non_null(f);
    assert_int_equal(ss_ref_parse_aliases("al.csv", f, NULL, NULL, err, sizeof(err)), SS_EINVAL);
    fclose(f);
    assert_non_null(strstr(err, "al.csv:2: column 1 (alias) holds a NUL byte"));
}

static void test_year_from_ons_file_name(void **state)
{
    assert_int_equal(ss_ref_year_from_name("/data/mye24tablesew.csv"), 2024);
    assert_int_equal(ss_ref_year_from_name("mye22final.csv"), 2022);
    assert_int_equal(ss_ref_year_from_name("/mye24/populations.csv"), SS_EINVAL);
    assert_int_equal(ss_ref_year_from_name("mye2024.csv"), SS_EINVAL);
    assert_int_equal(ss_ref_year_from_name("populations.csv"), SS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorities_parsed_with_upper_case_codes_and_lines),
        cmocka_unit_test(test_authorities_syntax_error_names_line_and_column),
        cmocka_unit_test(test_authorities_bad_code_names_the_element_line),
        cmocka_unit_test(test_authorities_missing_or_empty_member_refused),
        cmocka_unit_test(test_authorities_code_given_twice_refused),
        cmocka_unit_test(test_populations_parsed_with_bom_and_crlf),
        cmocka_unit_test(test_populations_good_generated_file_accepted),
        cmocka_unit_test(test_populations_bad_count_names_line_and_column),
        cmocka_unit_test(test_populations_all_ages_must_add_up),
        cmocka_unit_test(test_populations_header_and_shape_checked),
        cmocka_unit_test(test_neighbours_parsed_with_trailing_empties),
        cmocka_unit_test(test_neighbours_bad_files_refused),
        cmocka_unit_test(test_builtin_curated_files_parse),
        cmocka_unit_test(test_curated_bad_rows_refused),
        cmocka_unit_test(test_text_cell_with_nul_byte_refused),
        cmocka_unit_test(test_year_from_ons_file_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
