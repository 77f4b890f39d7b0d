/* The shared text helpers: the one trim, the one URL encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ss_text.h"

static void test_trim_removes_spaces_tabs_newlines_and_nbsp(void **state)
{
    const char *s = " \t\xC2\xA0 Barnet\xC2\xA0\r\n";
    size_t len = strlen(s);
    ss_trim(&s, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "Barnet", 6);
}


static void test_url_encode_keeps_unreserved_and_escapes_the_rest(void **state)
{
    struct ss_buf b;
    ss_buf_init(&b, 1024);
    assert_int_equal(ss_url_encode(&b, "a-Z_0.~ /&=\xC3\xA9"), 0);
    assert_string_equal(b.data, "a-Z_0.~%20%2F%26%3D%C3%A9");
    ss_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim_removes_spaces_tabs_newlines_and_nbsp),
        cmocka_unit_test(test_url_encode_keeps_unreserved_and_escapes_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
