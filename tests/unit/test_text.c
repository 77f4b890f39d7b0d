/* The shared text helpers: the one trim, the one URL encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ss_log.h"
#include "ss_text.h"

static void test_trim_removes_spaces_tabs_newlines_and_nbsp(void **state)
{
    const char *s = " \t\xC2\xA0 Barnet\xC2\xA0\r\n";
    size_t len = strlen(s);
    ss_trim(&s, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "Barnet", 6);
    /* At the end a space is one byte: " x" keeps its x, a lone A0 is no space. */
    s = "a \xC2\xA0 x";
    len = strlen(s);
    ss_trim(&s, &len);
    assert_int_equal(len, strlen("a \xC2\xA0 x"));
    s = "x\xA0";
    len = 2;
    ss_trim(&s, &len);
    assert_int_equal(len, 2);
    s = "\xC2\xA0\xC2\xA0";
    len = 4;
    ss_trim(&s, &len);
    assert_int_equal(len, 0);
}

static void test_url_encode_keeps_unreserved_and_escapes_the_rest(void **state)
{
    struct ss_buf b;
    ss_buf_init(&b, 1024);
    assert_int_equal(ss_url_encode(&b, "a-Z_0.~ /&=\xC3\xA9"), 0);
    assert_string_equal(b.data, "a-Z_0.~%20%2F%26%3D%C3%A9");
    ss_buf_free(&b);
}

/* A log value: a plain token as it is; anything else quoted, escaped, cut. */
static void test_kv_str_quotes_what_is_not_a_token(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(ss_kv_str(b, sizeof b, "a-loans"), "a-loans");
    assert_string_equal(ss_kv_str(b, sizeof b, ""), "\"\"");
    assert_string_equal(ss_kv_str(b, sizeof b, NULL), "\"\"");
    assert_string_equal(ss_kv_str(b, sizeof b, "a b=\"c\"\n"), "\"a b=\\\"c\\\" \"");
    char small[8];
    assert_string_equal(ss_kv_str(small, sizeof small, "x y z w v"), "\"x y z\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim_removes_spaces_tabs_newlines_and_nbsp),
        cmocka_unit_test(test_url_encode_keeps_unreserved_and_escapes_the_rest),
        cmocka_unit_test(test_kv_str_quotes_what_is_not_a_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
