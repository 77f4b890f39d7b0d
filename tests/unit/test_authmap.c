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
#include "ss_date.h"
#include "ss_err.h"

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

/* Somerset, Cumbria and Poole as ref.authority and ref.authority_successor hold them. */
static struct ss_authmap *reorganised(void)
{
    struct ss_authmap *m = ss_authmap_new();
    assert_int_equal(ss_authmap_add(m, "E10000027", "Somerset", NULL, "2023-03-31"), 0);
    assert_int_equal(ss_authmap_add(m, "E06000066", "Somerset", "2023-04-01", NULL), 0);
    assert_int_equal(ss_authmap_add(m, "E10000006", "Cumbria", NULL, "2023-03-31"), 0);
    assert_int_equal(ss_authmap_add(m, "E06000063", "Cumberland", "2023-04-01", ""), 0);
    assert_int_equal(ss_authmap_add(m, "E06000064", "Westmorland and Furness", "2023-04-01", ""),
                     0);
    assert_int_equal(ss_authmap_add(m, "E06000029", "Poole", NULL, "2019-03-31"), 0);
    assert_int_equal(
        ss_authmap_add(m, "E06000058", "Bournemouth, Christchurch and Poole", "2019-04-01", NULL),
        0);
    assert_int_equal(ss_authmap_add_successor(m, "E10000027", "E06000066", "2023-04-01"), 0);
    assert_int_equal(ss_authmap_add_successor(m, "E10000006", "E06000063", "2023-04-01"), 0);
    assert_int_equal(ss_authmap_add_successor(m, "E10000006", "E06000064", "2023-04-01"), 0);
    assert_int_equal(ss_authmap_add_successor(m, "E06000029", "E06000058", "2019-04-01"), 0);
    assert_int_equal(ss_authmap_put(m, "somerset", "E10000027"), 0);
    assert_int_equal(ss_authmap_put(m, "somerset", "E06000066"), 0);
    assert_int_equal(ss_authmap_put(m, "somerset", "E06000066"), 0); /* again: no change */
    assert_int_equal(ss_authmap_put(m, "cumbria", "E10000006"), 0);
    assert_int_equal(ss_authmap_put(m, "poole", "E06000029"), 0);
    return m;
}

/* The days of an inclusive period given as two ISO dates. */
static struct ss_authmap_when when(int y1, int m1, int d1, int y2, int m2, int d2)
{
    struct ss_authmap_when w = {1, ss_date_to_days((struct ss_date){y1, m1, d1}),
                                ss_date_to_days((struct ss_date){y2, m2, d2})};
    return w;
}

static const char *at(const struct ss_authmap *m, const char *s, struct ss_authmap_when w,
                      enum ss_authmap_abolished a, char *why)
{
    why[0] = '\0';
    return ss_authmap_resolve_at(m, s, strlen(s), &w, a, why, 400);
}

static void test_authmap_name_resolves_to_the_authority_of_the_period(void **state)
{
    struct ss_authmap *m = reorganised();
    char why[400];
    assert_string_equal(
        at(m, "Somerset", when(2019, 4, 1, 2021, 3, 31), SS_AUTHMAP_QUARANTINE, why), "E10000027");
    assert_string_equal(
        at(m, "Somerset County Council", when(2023, 3, 1, 2023, 3, 31), SS_AUTHMAP_QUARANTINE, why),
        "E10000027");
    assert_string_equal(
        at(m, "Somerset Council", when(2024, 4, 1, 2025, 3, 31), SS_AUTHMAP_QUARANTINE, why),
        "E06000066");
    /* No date: today's authority. */
    const char *swhy = NULL;
    assert_string_equal(ss_authmap_resolve(m, "Somerset", 8, &swhy), "E06000066");
    assert_string_equal(ss_authmap_get(m, "somerset"), "E06000066");
    /* A name only an abolished authority used, with no date: that one. */
    assert_string_equal(ss_authmap_resolve(m, "Poole", 5, &swhy), "E06000029");
    assert_string_equal(
        at(m, "Borough of Poole", when(2018, 4, 1, 2019, 3, 31), SS_AUTHMAP_QUARANTINE, why),
        "E06000029");
    ss_authmap_free(m);
}

static void test_authmap_abolished_code_refused_naming_the_successor(void **state)
{
    struct ss_authmap *m = reorganised();
    char why[400];
    assert_null(at(m, "E10000027", when(2024, 4, 1, 2025, 3, 31), SS_AUTHMAP_QUARANTINE, why));
    assert_string_equal(why, "E10000027 Somerset was abolished on 2023-04-01, before the "
                             "record's period 2024-04-01..2025-03-31; its successor is E06000066 "
                             "Somerset: give its code, or set \"authorities.abolished\": "
                             "\"successor\"");
    /* A name that only the abolished authority used, after it ended. */
    assert_null(at(m, "Poole", when(2024, 4, 1, 2024, 4, 30), SS_AUTHMAP_QUARANTINE, why));
    assert_non_null(strstr(why, "E06000029 Poole was abolished on 2019-04-01"));
    assert_non_null(strstr(why, "E06000058 Bournemouth, Christchurch and Poole"));
    /* Used while it existed: loaded as itself. */
    assert_string_equal(
        at(m, "e10000027", when(2022, 4, 1, 2023, 3, 31), SS_AUTHMAP_QUARANTINE, why), "E10000027");
    ss_authmap_free(m);
}

static void test_authmap_successor_mode_maps_to_the_single_successor_only(void **state)
{
    struct ss_authmap *m = reorganised();
    char why[400];
    assert_string_equal(
        at(m, "E10000027", when(2024, 4, 1, 2025, 3, 31), SS_AUTHMAP_SUCCESSOR, why), "E06000066");
    assert_string_equal(at(m, "Poole", when(2020, 1, 1, 2020, 1, 31), SS_AUTHMAP_SUCCESSOR, why),
                        "E06000058");
    /* A split is never guessed. */
    assert_null(at(m, "Cumbria", when(2024, 4, 1, 2025, 3, 31), SS_AUTHMAP_SUCCESSOR, why));
    assert_string_equal(why, "E10000006 Cumbria was abolished on 2023-04-01, before the record's "
                             "period 2024-04-01..2025-03-31; it was split between E06000063 "
                             "Cumberland and E06000064 Westmorland and Furness: give the code of "
                             "the one the record is about");
    ss_authmap_free(m);
}

static void test_authmap_period_before_creation_or_across_the_change_refused(void **state)
{
    struct ss_authmap *m = reorganised();
    char why[400];
    assert_null(at(m, "E06000066", when(2019, 4, 1, 2020, 3, 31), SS_AUTHMAP_SUCCESSOR, why));
    assert_string_equal(why, "E06000066 Somerset began on 2023-04-01, after the record's period "
                             "2019-04-01..2020-03-31; before it: E10000027 Somerset: give the "
                             "code of the authority of the time");
    assert_null(at(m, "Somerset", when(2022, 10, 1, 2023, 9, 30), SS_AUTHMAP_QUARANTINE, why));
    assert_non_null(strstr(why, "runs across 2023-04-01"));
    assert_null(at(m, "E10000027", when(2023, 3, 1, 2023, 4, 30), SS_AUTHMAP_SUCCESSOR, why));
    assert_non_null(strstr(why, "runs across 2023-04-01, when E10000027 Somerset ended"));
    ss_authmap_free(m);
}

static void test_authmap_bad_input_refused(void **state)
{
    struct ss_authmap *m = ss_authmap_new();
    char key[16];
    assert_int_equal(ss_authmap_add(m, "E0600006", "x", NULL, NULL), SS_EINVAL);
    assert_int_equal(ss_authmap_add(m, "E06000066", "x", "2023-02-30", NULL), SS_EINVAL);
    assert_int_equal(ss_authmap_add(m, "E06000066", "x", "2023-04-01", "2023-03-31"), SS_EINVAL);
    assert_int_equal(ss_authmap_add_successor(m, "E10000027", "E06000066", "2023-04-01"),
                     SS_EINVAL); /* codes not added */
    for (int i = 0; i < SS_AUTHMAP_CANDIDATES; i++) {
        snprintf(key, sizeof(key), "E9900000%d", i);
        assert_int_equal(ss_authmap_put(m, "crowded", key), 0);
    }
    assert_int_equal(ss_authmap_put(m, "crowded", "E99000099"), SS_E2BIG);
    ss_authmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authmap_resolves_codes_and_names),
        cmocka_unit_test(test_authmap_name_resolves_to_the_authority_of_the_period),
        cmocka_unit_test(test_authmap_abolished_code_refused_naming_the_successor),
        cmocka_unit_test(test_authmap_successor_mode_maps_to_the_single_successor_only),
        cmocka_unit_test(test_authmap_period_before_creation_or_across_the_change_refused),
        cmocka_unit_test(test_authmap_bad_input_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
