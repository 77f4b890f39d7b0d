/* The one hash table: keys copied, values zeroed, insertion order kept, a
 * hard maximum of entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ss_err.h"
#include "ss_hash.h"

static void test_fnv1a_matches_the_published_vectors(void **state)
{
    assert_true(ss_fnv1a(SS_FNV_INIT, "", 0) == 0xcbf29ce484222325ULL);
    assert_true(ss_fnv1a(SS_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(ss_fnv1a(SS_FNV_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
    /* continuing is the same as hashing the whole */
    assert_true(ss_fnv1a(ss_fnv1a(SS_FNV_INIT, "foo", 3), "bar", 3) ==
                ss_fnv1a(SS_FNV_INIT, "foobar", 6));
}

static void test_put_adds_once_and_get_finds_it(void **state)
{
    struct ss_hmap m;
    long *v;
    ss_hmap_init(&m, sizeof(long), 0);
    assert_null(ss_hmap_gets(&m, "Barnet"));
    assert_int_equal(ss_hmap_put(&m, "Barnet", 6, (void **)&v), 1);
    assert_int_equal(*v, 0);
    *v = 42;
    assert_int_equal(ss_hmap_put(&m, "Barnet", 6, (void **)&v), 0);
    assert_int_equal(*v, 42);
    /* a key with a NUL inside is a different key */
    assert_int_equal(ss_hmap_put(&m, "Barnet\0x", 8, (void **)&v), 1);
    assert_int_equal(ss_hmap_count(&m), 2);
    assert_int_equal(*(long *)ss_hmap_gets(&m, "Barnet"), 42);
    ss_hmap_free(&m);
}

static void test_many_keys_kept_in_insertion_order(void **state)
{
    struct ss_hmap m;
    ss_hmap_init(&m, sizeof(int), 0);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        int *v;
        snprintf(k, sizeof(k), "key%d", i);
        assert_int_equal(ss_hmap_put(&m, k, strlen(k), (void **)&v), 1);
        *v = i;
    }
    for (int i = 0; i < 5000; i++) {
        size_t kl;
        snprintf(k, sizeof(k), "key%d", i);
        assert_int_equal(*(int *)ss_hmap_at(&m, (size_t)i), i);
        assert_string_equal(ss_hmap_key(&m, (size_t)i, &kl), k);
        assert_int_equal(kl, strlen(k));
        assert_int_equal(*(int *)ss_hmap_gets(&m, k), i);
    }
    ss_hmap_free(&m);
}

static void test_put_past_the_maximum_fails_loudly(void **state)
{
    struct ss_hmap m;
    void *v;
    ss_hmap_init(&m, 8, 3);
    assert_int_equal(ss_hmap_put(&m, "a", 1, &v), 1);
    assert_int_equal(ss_hmap_put(&m, "b", 1, &v), 1);
    assert_int_equal(ss_hmap_put(&m, "c", 1, &v), 1);
    assert_int_equal(ss_hmap_put(&m, "d", 1, &v), SS_E2BIG);
    assert_int_equal(ss_hmap_put(&m, "a", 1, &v), 0); /* still found */
    assert_int_equal(ss_hmap_count(&m), 3);
    ss_hmap_reset(&m);
    assert_int_equal(ss_hmap_count(&m), 0);
    assert_null(ss_hmap_get(&m, "a", 1)); /* the memory is kept, the entries are not */
    assert_int_equal(ss_hmap_put(&m, "d", 1, &v), 1);
    assert_int_equal(ss_hmap_put(&m, "a", 1, &v), 1);
    size_t klen;
    assert_string_equal(ss_hmap_key(&m, 1, &klen), "a");
    ss_hmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a_matches_the_published_vectors),
        cmocka_unit_test(test_put_adds_once_and_get_finds_it),
        cmocka_unit_test(test_many_keys_kept_in_insertion_order),
        cmocka_unit_test(test_put_past_the_maximum_fails_loudly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
