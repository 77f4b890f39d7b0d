/* The authority map (daemon): names and GSS codes to GSS codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ss_authmap.h"

static void test_authmap_resolves_codes_and_names(void **state)
{
    struct ss_authmap *m = ss_authmap_new();
    const char *why = NULL;
    char key[16];
    for (int i = 0; i < 5000; i++) { /* past several resizes */
        snprintf(key, sizeof(key), "name %d", i);
        assert_int_equal(ss_authmap_put(m, key, "E99000001"), 0);
    }
    assert_int_equal(ss_authmap_put(m, "barnet", "E09000003"), 0);
    assert_int_equal(ss_authmap_put(m, "E09000003", "E09000003"), 0);
    assert_int_equal(ss_authmap_put(m, "bad", "E0900"), -EINVAL);
    assert_string_equal(ss_authmap_resolve(m, "London Borough of Barnet", 24, &why), "E09000003");
    assert_string_equal(ss_authmap_resolve(m, "e09000003", 9, &why), "E09000003");
    assert_null(ss_authmap_resolve(m, "E09000099", 9, &why));
    assert_non_null(strstr(why, "not the GSS code of a known library authority"));
    assert_null(ss_authmap_resolve(m, "Atlantis", 8, &why));
    assert_non_null(strstr(why, "not a known authority name"));
    assert_int_equal(ss_authmap_count(m), 5003); /* 5001 names, 2 codes */
    ss_authmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authmap_resolves_codes_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
