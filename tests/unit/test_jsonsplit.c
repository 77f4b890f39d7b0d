/* Unit tests for ss_jsonsplit: the three modes, whole and one byte at a
 * time, strings that look like structure, the bound, and broken input;
 * messages that say where, never quote the record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ss_jsonsplit.h"

#define MAX_ELEMS 16

struct got {
    char *text[MAX_ELEMS];
    char *error[MAX_ELEMS];
    unsigned long index[MAX_ELEMS], line[MAX_ELEMS];
    unsigned long long offset[MAX_ELEMS];
    size_t n;
    size_t stop_after; /* 0: never */
    int rc;
    char err[512];
};

static int on_elem(void *ud, const struct ss_jsonsplit_elem *e)
{
    struct got *g = ud;
    assert_true(g->n < MAX_ELEMS);
    assert_int_equal(strlen(e->text), e->len);
    g->text[g->n] = strdup(e->text);
    g->error[g->n] = e->error ? strdup(e->error) : NULL;
    g->index[g->n] = e->index;
    g->line[g->n] = e->line;
    g->offset[g->n] = e->offset;
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->text[i]);
        free(g->error[i]);
    }
    memset(g, 0, sizeof(*g));
}

/* Splits text fed in chunks of step bytes (0: whole), then finishes. */
static void split(struct got *g, const char *text, const char *path, int ndjson, size_t max,
                  size_t step)
{
    struct ss_jsonsplit_opts o = {path, ndjson, max};
    size_t stop_after = g->stop_after;
    memset(g, 0, sizeof(*g));
    g->stop_after = stop_after;
    struct ss_jsonsplit *s = ss_jsonsplit_new(&o, on_elem, g);
    assert_non_null(s);
    size_t len = strlen(text), pos = 0;
    int rc = 0;
    while (rc == 0 && pos < len) {
        size_t n = step && len - pos > step ? step : len - pos;
        rc = ss_jsonsplit_feed(s, text + pos, n);
        pos += n;
    }
    if (rc == 0)
        rc = ss_jsonsplit_finish(s);
    g->rc = rc;
    snprintf(g->err, sizeof(g->err), "%s", ss_jsonsplit_error(s));
    assert_int_equal(ss_jsonsplit_count(s), g->n);
    ss_jsonsplit_free(s);
}

/* Splits whole and one byte at a time, checks both give the same, leaves
 * the whole run in *g. */
static void split_both(struct got *g, const char *text, const char *path, int ndjson, size_t max)
{
    struct got b;
    memset(&b, 0, sizeof(b));
    split(&b, text, path, ndjson, max, 1);
    split(g, text, path, ndjson, max, 0);
    assert_int_equal(g->rc, b.rc);
    assert_string_equal(g->err, b.err);
    assert_int_equal(g->n, b.n);
    for (size_t i = 0; i < g->n; i++) {
        assert_string_equal(g->text[i], b.text[i]);
        assert_int_equal(!!g->error[i], !!b.error[i]);
        if (g->error[i])
            assert_string_equal(g->error[i], b.error[i]);
        assert_int_equal(g->index[i], b.index[i]);
        assert_int_equal(g->offset[i], b.offset[i]);
    }
    got_free(&b);
}

static void test_jsonsplit_top_level_array_gives_each_element(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, " [ {\"a\": 1},\n{\"b\": [1, 2, {\"c\": null}]} , 3, \"x\", true ]\n", NULL, 0,
               0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 5);
    assert_string_equal(g.text[0], "{\"a\": 1}");
    assert_string_equal(g.text[1], "{\"b\": [1, 2, {\"c\": null}]}");
    assert_string_equal(g.text[2], "3");
    assert_string_equal(g.text[3], "\"x\"");
    assert_string_equal(g.text[4], "true");
    assert_int_equal(g.index[0], 1);
    assert_int_equal(g.index[4], 5);
    assert_int_equal(g.offset[0], 3);
    assert_int_equal(g.line[1], 2);
    assert_null(g.error[0]);
    got_free(&g);
}

static void test_jsonsplit_empty_array_gives_nothing(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, "[]", NULL, 0, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 0);
    got_free(&g);
}

static void test_jsonsplit_strings_with_brackets_quotes_and_escapes_stay_whole(void **state)
{
    (void)state;
    struct got g;
    const char *e1 =
        "{\"t\": \"a ] } [ { , \\\" still \\\\\", \"u\": \"\\u00e9\\ud83d\\ude00\\n\"}";
    const char *e2 = "{\"k]\\\"\": \"\\\\\"}";
    char doc[256];
    snprintf(doc, sizeof(doc), "[%s,%s]", e1, e2);
    split_both(&g, doc, NULL, 0, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[0], e1);
    assert_string_equal(g.text[1], e2);
    got_free(&g);
}

static void test_jsonsplit_path_finds_nested_array_and_skips_other_keys(void **state)
{
    (void)state;
    struct got g;
    const char *doc = "{\"meta\": {\"items\": [\"not these\"], \"s\": \"data.items ]\"},\n"
                      " \"data\": {\"total\": 3, \"items\": [{\"id\": 1}, {\"id\": 2}, {\"id\": "
                      "3}], \"next\": null},\n"
                      " \"items\": [\"nor these\"], \"data2\": {\"items\": [9]}}";
    split_both(&g, doc, "data.items", 0, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text[0], "{\"id\": 1}");
    assert_string_equal(g.text[2], "{\"id\": 3}");
    got_free(&g);
}

static void test_jsonsplit_path_key_with_escapes_matches(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, "{\"d\\u0061ta\": {\"caf\\u00e9\": [1, 2]}}", "data.caf\xc3\xa9", 0, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[1], "2");
    got_free(&g);
}

static void test_jsonsplit_path_first_array_is_used(void **state)
{
    (void)state;
    struct got g;
    split_both(&g,
               "{\"data\": {\"items\": 5}, \"data\": {\"items\": [1]}, \"data\": {\"items\": [2]}}",
               "data.items", 0, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "1");
    got_free(&g);
}

static void test_jsonsplit_path_not_found_is_an_error(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, "{\"data\": {\"records\": [1, 2]}}", "data.items", 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_int_equal(g.n, 0);
    assert_non_null(strstr(g.err, "no array at \"data.items\""));
    got_free(&g);

    split_both(&g, "{\"data\": {\"items\": {\"a\": 1}}}", "data.items", 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_non_null(strstr(g.err, "it holds an object"));
    got_free(&g);

    split_both(&g, "[{\"data\": {\"items\": [1]}}]", "data.items", 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_non_null(strstr(g.err, "the document is an array"));
    got_free(&g);
}

static void test_jsonsplit_top_level_object_without_path_is_an_error(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, "{\"data\": []}", NULL, 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_string_equal(g.err,
                        "byte 0 (line 1, column 1): the document is an object, not an array of "
                        "records (set \"json.path\" to the array inside it, or \"json.ndjson\" "
                        "for one record a line)");
    got_free(&g);
}

static void test_jsonsplit_ndjson_lines_blank_lines_and_crlf(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, "{\"a\": 1}\r\n\r\n  \n{\"b\": \"x\\ny\"}  \r\n42\n[1,2]", NULL, 1, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.text[0], "{\"a\": 1}");
    assert_string_equal(g.text[1], "{\"b\": \"x\\ny\"}");
    assert_string_equal(g.text[2], "42");
    assert_string_equal(g.text[3], "[1,2]");
    assert_int_equal(g.line[1], 4);
    assert_int_equal(g.line[3], 6);
    got_free(&g);
}

static void test_jsonsplit_ndjson_bad_line_is_an_error_element_and_next_line_reads(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, "{\"a\": 1}\n{\"a\": 2} {\"a\": 3}\n{\"a\": x}\n{\"a\":\n4}\n{\"a\": 5}\n", NULL,
               1, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 6);
    assert_null(g.error[0]);
    assert_non_null(g.error[1]);
    assert_non_null(strstr(g.error[1], "a second value on the line"));
    assert_non_null(strstr(g.error[2], "line 3, column 7"));
    assert_non_null(strstr(g.error[2], "expected a value, found a letter"));
    assert_string_equal(g.text[2], "{\"a\": x}");
    assert_non_null(strstr(g.error[3], "does not end on its line"));
    assert_non_null(g.error[4]); /* "4}" */
    assert_null(g.error[5]);
    assert_string_equal(g.text[5], "{\"a\": 5}");
    assert_int_equal(g.index[5], 6);
    got_free(&g);
}

static void test_jsonsplit_element_over_bound_is_skipped_and_split_resumes(void **state)
{
    (void)state;
    struct got g;
    char doc[2048];
    char big[1200];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(doc, sizeof(doc), "[{\"a\": 1}, {\"s\": \"%s\", \"n\": [\"]\"]}, {\"a\": 3}]", big);
    split_both(&g, doc, NULL, 0, 1000);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 3);
    assert_null(g.error[0]);
    assert_non_null(g.error[1]);
    assert_non_null(strstr(g.error[1], "longer than 1000 bytes"));
    assert_true(strlen(g.text[1]) <= SS_JSONSPLIT_KEEP);
    assert_memory_equal(g.text[1], "{\"s\": \"zzz", 10);
    assert_null(g.error[2]);
    assert_string_equal(g.text[2], "{\"a\": 3}");
    assert_int_equal(g.index[2], 3);
    got_free(&g);

    /* exactly at the bound is fine */
    split_both(&g, "[\"0123456789\"]", NULL, 0, 12);
    assert_int_equal(g.n, 1);
    assert_null(g.error[0]);
    got_free(&g);
    split_both(&g, "[\"0123456789\"]\n", NULL, 0, 11);
    assert_int_equal(g.n, 1);
    assert_non_null(g.error[0]);
    got_free(&g);

    split_both(&g, "{\"a\":\"0123456789\"}\n{}\n", NULL, 1, 8);
    assert_int_equal(g.n, 2);
    assert_non_null(g.error[0]);
    assert_null(g.error[1]);
    got_free(&g);
}

static void test_jsonsplit_truncated_input_is_an_error_after_complete_elements(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, "[{\"a\": 1}, {\"a\": 2}, {\"a\": \"thr", NULL, 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.err, "byte 31 (line 1, column 32): the input ends inside a string (2 "
                               "levels open, 2 records read): it looks cut short");
    got_free(&g);

    split_both(&g, "[1, 2", NULL, 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_int_equal(g.n, 1); /* "2" may yet go on */
    got_free(&g);

    split_both(&g, "{\"a\": 1}\n{\"a\": ", NULL, 1, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_int_equal(g.n, 1);
    assert_non_null(strstr(g.err, "cut short"));
    got_free(&g);

    split_both(&g, "  \n", NULL, 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_non_null(strstr(g.err, "empty"));
    got_free(&g);
}

static void test_jsonsplit_garbage_and_unbalanced_brackets_are_errors_with_offset(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, "[{\"a\": 1} x {\"a\": 2}]", NULL, 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_int_equal(g.n, 1);
    assert_string_equal(
        g.err, "byte 10 (line 1, column 11): expected ',' or ']' after a record, found a letter");
    got_free(&g);

    split_both(&g, "[{\"a\": [1, 2}]", NULL, 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_non_null(strstr(g.err, "byte 12"));
    assert_non_null(strstr(g.err, "'}' closes an array"));
    got_free(&g);

    split_both(&g, "[1]]", NULL, 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_non_null(strstr(g.err, "after the end of the document"));
    got_free(&g);

    const char *bad[] = {"[1,]",    "[01]",        "[1.]",      "[-]",
                         "[tru]",   "[\"a\nb\"]",  "[\"\\x\"]", "[\"\\u12g4\"]",
                         "[{1:2}]", "[{\"a\" 1}]", "[,1]",      "[1 2]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        split_both(&g, bad[i], NULL, 0, 0);
        if (g.rc != SS_EINVAL)
            fail_msg("%s: not an error", bad[i]);
        assert_int_equal(strncmp(g.err, "byte ", 5), 0);
        got_free(&g);
    }
}

static void test_jsonsplit_nesting_is_bounded(void **state)
{
    (void)state;
    struct got g;
    char doc[SS_JSONSPLIT_MAX_DEPTH * 2 + 8];
    memset(doc, '[', SS_JSONSPLIT_MAX_DEPTH + 1);
    doc[SS_JSONSPLIT_MAX_DEPTH + 1] = '\0';
    split(&g, doc, NULL, 0, 0, 0);
    assert_int_equal(g.rc, SS_EINVAL);
    assert_non_null(strstr(g.err, "nested deeper than"));
    got_free(&g);
}

static void test_jsonsplit_callback_stop_stops(void **state)
{
    (void)state;
    struct got g;
    memset(&g, 0, sizeof(g));
    g.stop_after = 2;
    split(&g, "[1, 2, 3, 4]", NULL, 0, 0, 1);
    assert_int_equal(g.rc, SS_ESTOPPED);
    assert_int_equal(g.n, 2);
    got_free(&g);
}

static void test_jsonsplit_utf8_bom_is_skipped(void **state)
{
    (void)state;
    struct got g;
    split_both(&g, "\xef\xbb\xbf[{\"a\": \"\xc3\xa9\"}]", NULL, 0, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "{\"a\": \"\xc3\xa9\"}");
    got_free(&g);
}

/* A record's letters and digits may be a borrower's name or card number:
 * no message quotes them, in an array or in NDJSON, whichever byte the
 * splitter trips on; punctuation is still named. */
static void test_jsonsplit_messages_do_not_quote_the_record(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"name\": Alice}",             /* a bare word */
        "{\"card\": 21234x}",            /* a number cut short */
        "{\"card\": 0123}",              /* a leading zero */
        "{\"name\": \"Al\\ice\"}",       /* an invalid escape */
        "{\"name\": \"\\uZZZZ\"}",       /* a bad \\u escape */
        "{\"name\" \"Alice\"}",          /* no colon */
        "{\"name\": \"Alice\" \"Bob\"}", /* no comma */
        "{Alice: 1}",                    /* a key that is no string */
        "{\"n\": tru}",                  /* a literal cut short */
        "{\"n\": \"B\xc3\xb8"
        "d\x01\"}",          /* a control byte in a string */
        "{\"n\": \xc3\xb8}", /* non-ASCII where a value goes */
    };
    static const char *const secrets[] = {"Alice", "21234", "0123",    "ice",
                                          "ZZZZ",  "Bob",   "\xc3\xb8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        struct got g;
        snprintf(text, sizeof(text), "%s\n{\"ok\": 1}\n", bad[i]);
        split_both(&g, text, NULL, 1, 0);
        assert_int_equal(g.rc, 0);
        assert_int_equal(g.n, 2);
        assert_non_null(g.error[0]);
        assert_null(g.error[1]);
        for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
            if (strstr(g.error[0], secrets[k]))
                fail_msg("NDJSON line %zu: \"%s\" quotes \"%s\"", i + 1, g.error[0], secrets[k]);
        got_free(&g);

        snprintf(text, sizeof(text), "[%s]", bad[i]);
        split_both(&g, text, NULL, 0, 0);
        assert_int_equal(g.rc, SS_EINVAL);
        for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
            if (strstr(g.err, secrets[k]))
                fail_msg("array %zu: \"%s\" quotes \"%s\"", i + 1, g.err, secrets[k]);
        got_free(&g);
    }
    struct got g;
    split_both(&g, "[{\"a\": 1};]", NULL, 0, 0);
    assert_non_null(strstr(g.err, "found ';'"));
    got_free(&g);
    split_both(&g, "[{\"a\": \"\\x\"}]", NULL, 0, 0);
    assert_non_null(strstr(g.err, "invalid escape in a string: '\\' then a letter"));
    got_free(&g);
}

static int count_only(void *ud, const struct ss_jsonsplit_elem *e)
{
    (void)e;
    ++*(int *)ud;
    return 0;
}

/* The line the next byte lands on, for a caller's message. */
static void test_jsonsplit_line_follows_the_input(void **state)
{
    (void)state;
    int n = 0;
    struct ss_jsonsplit_opts o = {NULL, 1, 0};
    struct ss_jsonsplit *s = ss_jsonsplit_new(&o, count_only, &n);
    assert_non_null(s);
    assert_int_equal(ss_jsonsplit_line(s), 1);
    assert_int_equal(ss_jsonsplit_feed(s, "{\"a\": 1}\n\n{\"a\"", 15), 0);
    assert_int_equal(ss_jsonsplit_line(s), 3);
    assert_int_equal(ss_jsonsplit_feed(s, ": 2}\r\n", 6), 0);
    assert_int_equal(ss_jsonsplit_line(s), 4);
    assert_int_equal(n, 2);
    ss_jsonsplit_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonsplit_top_level_array_gives_each_element),
        cmocka_unit_test(test_jsonsplit_empty_array_gives_nothing),
        cmocka_unit_test(test_jsonsplit_strings_with_brackets_quotes_and_escapes_stay_whole),
        cmocka_unit_test(test_jsonsplit_path_finds_nested_array_and_skips_other_keys),
        cmocka_unit_test(test_jsonsplit_path_key_with_escapes_matches),
        cmocka_unit_test(test_jsonsplit_path_first_array_is_used),
        cmocka_unit_test(test_jsonsplit_path_not_found_is_an_error),
        cmocka_unit_test(test_jsonsplit_top_level_object_without_path_is_an_error),
        cmocka_unit_test(test_jsonsplit_ndjson_lines_blank_lines_and_crlf),
        cmocka_unit_test(test_jsonsplit_ndjson_bad_line_is_an_error_element_and_next_line_reads),
        cmocka_unit_test(test_jsonsplit_element_over_bound_is_skipped_and_split_resumes),
        cmocka_unit_test(test_jsonsplit_truncated_input_is_an_error_after_complete_elements),
        cmocka_unit_test(test_jsonsplit_garbage_and_unbalanced_brackets_are_errors_with_offset),
        cmocka_unit_test(test_jsonsplit_nesting_is_bounded),
        cmocka_unit_test(test_jsonsplit_callback_stop_stops),
        cmocka_unit_test(test_jsonsplit_utf8_bom_is_skipped),
        cmocka_unit_test(test_jsonsplit_messages_do_not_quote_the_record),
        cmocka_unit_test(test_jsonsplit_line_follows_the_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
