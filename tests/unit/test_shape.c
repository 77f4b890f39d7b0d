/* What the collector does to a record before it leaves: value maps,
 * transforms, and pseudonymisation of patron identifiers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "ss_shape.h"

static void test_hmac_sha256_matches_rfc4231_case_2(void **state)
{
    char out[65];
    ss_hmac_sha256_hex((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28, out);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* loan_transactions: authority, transaction_id, service_point, issued_at, item_type, patron_key,
 * renewal */
static void shape(struct ss_shape *s, const char **vals, size_t *lens)
{
    char why[256];
    for (int i = 0; i < 7; i++)
        lens[i] = vals[i] ? strlen(vals[i]) : 0;
    assert_int_equal(ss_shape_apply(s, vals, lens, why, sizeof(why)), 0);
}

static void test_patron_id_pseudonymised_with_key_dropped_without(void **state)
{
    struct ss_collector_config cfg;
    char path[] = "/tmp/ss_shape_keyXXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789abcdef0123\n", 21), 21);
    close(fd);

    memset(&cfg, 0, sizeof(cfg));
    cfg.hmac_key_file = path;
    const struct ss_dataset *ds = ss_dataset_find("loan_transactions");
    struct ss_shape *s = ss_shape_new(&cfg, ds, err, sizeof(err));
    assert_non_null(s);
    const char *vals[7] = {"E09000003", "T1", "Abbey", "2024-04-01", "DVD", "23456789", NULL};
    size_t lens[7];
    shape(s, vals, lens);
    char want[65];
    ss_hmac_sha256_hex((const unsigned char *)"0123456789abcdef0123", 20, "23456789", 8, want);
    assert_int_equal(lens[5], 64);
    assert_memory_equal(vals[5], want, 64);
    assert_string_equal(vals[0], "E09000003"); /* others untouched */
    /* An empty identifier is no identifier, not the pseudonym of "". */
    const char *empty[7] = {"E09000003", "T2", "Abbey", "2024-04-01", "DVD", "  ", NULL};
    shape(s, empty, lens);
    assert_null(empty[5]);
    ss_shape_free(s);

    cfg.hmac_key_file = NULL;
    s = ss_shape_new(&cfg, ds, err, sizeof(err));
    const char *clear[7] = {"E09000003", "T1", "Abbey", "2024-04-01", "DVD", "23456789", NULL};
    shape(s, clear, lens);
    assert_null(clear[5]);
    ss_shape_free(s);

    /* A short key is refused: it would be guessable. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "short\n", 6), 6);
    close(fd);
    cfg.hmac_key_file = path;
    assert_null(ss_shape_new(&cfg, ds, err, sizeof(err)));
    assert_non_null(strstr(err, "shorter than 16"));
    unlink(path);
}

static void test_value_maps_and_transforms(void **state)
{
    struct ss_collector_config cfg;
    char err[256], why[256];
    struct ss_config_pair branch[] = {{"CPL", "Centerville"}, {"MPL", "Midway"}};
    memset(&cfg, 0, sizeof(cfg));
    cfg.value_maps =
        (struct ss_config_valmap[]){{.field = "service_point", .pairs = branch, .npairs = 2}};
    cfg.nvalue_maps = 1;
    cfg.transforms = (struct ss_config_pair[]){{"item_type", "upper"}};
    cfg.ntransforms = 1;
    struct ss_shape *s = ss_shape_new(&cfg, ss_dataset_find("loan_transactions"), err, sizeof(err));
    assert_non_null(s);
    const char *vals[7] = {"E09000003", "T1", "MPL", "2024-04-01", "dvd", NULL, NULL};
    size_t lens[7];
    shape(s, vals, lens);
    assert_memory_equal(vals[2], "Midway", 6);
    assert_memory_equal(vals[4], "DVD", 3);
    const char *other[7] = {"E09000003", "T1", "XPL", "2024-04-01", "dvd", NULL, NULL};
    shape(s, other, lens);
    assert_memory_equal(other[2], "XPL", 3); /* unmapped passes unchanged */
    ss_shape_free(s);

    /* active_users: authority, period, period_start, period_end, age_group, users */
    memset(&cfg, 0, sizeof(cfg));
    cfg.transforms = (struct ss_config_pair[]){{"age_group", "age_band"}};
    cfg.ntransforms = 1;
    s = ss_shape_new(&cfg, ss_dataset_find("active_users"), err, sizeof(err));
    const char *u[6] = {"E09000003", "2023-24", NULL, NULL, "1990-05-01", "1"};
    size_t ul[6] = {9, 7, 0, 0, 10, 1};
    assert_int_equal(ss_shape_apply(s, u, ul, why, sizeof(why)), 0);
    assert_memory_equal(u[4], "Adult", 5);
    const char *kid[6] = {"E09000003", "2023-24", NULL, NULL, "01/01/2020", "1"};
    size_t kl[6] = {9, 7, 0, 0, 10, 1};
    assert_int_equal(ss_shape_apply(s, kid, kl, why, sizeof(why)), 0);
    assert_memory_equal(kid[4], "Under 12", 8);
    const char *bad[6] = {"E09000003", "2023-24", NULL, NULL, "soon", "1"};
    size_t bl[6] = {9, 7, 0, 0, 4, 1};
    assert_int_equal(ss_shape_apply(s, bad, bl, why, sizeof(why)), SS_EINVAL);
    assert_non_null(strstr(why, "not a date"));
    ss_shape_free(s);

    /* membership: authority, count_date, area_code, members */
    memset(&cfg, 0, sizeof(cfg));
    cfg.transforms = (struct ss_config_pair[]){{"area_code", "postcode_district"}};
    cfg.ntransforms = 1;
    s = ss_shape_new(&cfg, ss_dataset_find("membership"), err, sizeof(err));
    const char *m[4] = {"E09000003", "2024-01-01", "pl6 5an", "7"};
    size_t ml[4] = {9, 10, 7, 1};
    assert_int_equal(ss_shape_apply(s, m, ml, why, sizeof(why)), 0);
    assert_int_equal(ml[2], 3);
    assert_memory_equal(m[2], "PL6", 3);
    const char *notpc[4] = {"E09000003", "2024-01-01", "12 Acacia Avenue", "7"};
    size_t nl[4] = {9, 10, 16, 1};
    assert_int_equal(ss_shape_apply(s, notpc, nl, why, sizeof(why)), 0);
    assert_null(notpc[2]); /* not a postcode: none of it leaves */
    ss_shape_free(s);

    /* postcode -> LSOA through a lookup file (an ONS postcode directory extract). */
    char lookup[] = "/tmp/ss_lsoaXXXXXX";
    int fd = mkstemp(lookup);
    const char *rows = "pcds,lsoa21cd\n\"PL6 5AN\",\"E01015077\"\nBS1 5TL,E01014540,extra\n";
    assert_int_equal(write(fd, rows, strlen(rows)), (ssize_t)strlen(rows));
    close(fd);
    memset(&cfg, 0, sizeof(cfg));
    cfg.transforms = (struct ss_config_pair[]){{"area_code", "postcode_lsoa"}};
    cfg.ntransforms = 1;
    cfg.lsoa_lookup_file = lookup;
    s = ss_shape_new(&cfg, ss_dataset_find("membership"), err, sizeof(err));
    assert_non_null(s);
    const char *l1[4] = {"E09000003", "2024-01-01", "pl65an", "7"};
    size_t ll1[4] = {9, 10, 6, 1};
    assert_int_equal(ss_shape_apply(s, l1, ll1, why, sizeof(why)), 0);
    assert_memory_equal(l1[2], "E01015077", 9);
    const char *l2[4] = {"E09000003", "2024-01-01", "EX1 1AA", "7"};
    size_t ll2[4] = {9, 10, 7, 1};
    assert_int_equal(ss_shape_apply(s, l2, ll2, why, sizeof(why)), 0);
    assert_null(l2[2]); /* not in the lookup: nothing leaves */
    ss_shape_free(s);
    unlink(lookup);
}

/* One loan_transactions record through s: its shaped service_point and
 * item_type must be want_sp and want_type (NULL: not checked). */
static void expect(struct ss_shape *s, const char *sp, const char *type, const char *want_sp,
                   const char *want_type)
{
    const char *vals[7] = {"E09000003", "T1", sp, "2024-04-01", type, NULL, NULL};
    size_t lens[7];
    shape(s, vals, lens);
    if (want_sp) {
        assert_int_equal(lens[2], strlen(want_sp));
        assert_memory_equal(vals[2], want_sp, lens[2]);
    }
    if (want_type) {
        assert_int_equal(lens[4], strlen(want_type));
        assert_memory_equal(vals[4], want_type, lens[4]);
    }
}

static void test_loose_value_map_ignores_case_and_spacing(void **state)
{
    struct ss_collector_config cfg;
    char err[256];
    struct ss_config_pair branch[] = {{"Central Library", "SP001"}, {"Kirkgate  Branch", "SP002"}};
    struct ss_config_pair types[] = {{"BK", "Book"}};
    memset(&cfg, 0, sizeof(cfg));
    cfg.value_maps = (struct ss_config_valmap[]){
        {.field = "service_point", .pairs = branch, .npairs = 2, .match = "loose"},
        {.field = "item_type", .pairs = types, .npairs = 1, .match = "exact"}};
    cfg.nvalue_maps = 2;
    struct ss_shape *s = ss_shape_new(&cfg, ss_dataset_find("loan_transactions"), err, sizeof(err));
    assert_non_null(s);
    static const char *const central[] = {"CENTRAL LIBRARY",
                                          "Central  library",
                                          " central library",
                                          "central library\t",
                                          "Central\t \r\nLibrary",
                                          "\xC2\xA0"
                                          "Central\xC2\xA0"
                                          "library"};
    for (size_t i = 0; i < sizeof(central) / sizeof(central[0]); i++)
        expect(s, central[i], "BK", "SP001", "Book");
    /* The map's own key's spacing does not matter either. */
    expect(s, "kirkgate branch", "BK", "SP002", NULL);
    /* Loose is not fuzzy: other words, a letter more, pass unchanged. */
    expect(s, "Central Libraries", "BK", "Central Libraries", NULL);
    expect(s, "CentralLibrary", "BK", "CentralLibrary", NULL);
    /* An exact map stays exact. */
    expect(s, "Central Library", "bk", "SP001", "bk");
    expect(s, "Central Library", "BK ", NULL, "BK ");
    ss_shape_free(s);

    /* Only ASCII letters fold: UTF-8 bytes stay as they are. */
    struct ss_config_pair cafe[] = {{"Caf\xC3\xA9", "SP003"}};
    cfg.value_maps = (struct ss_config_valmap[]){
        {.field = "service_point", .pairs = cafe, .npairs = 1, .match = "loose"}};
    cfg.nvalue_maps = 1;
    s = ss_shape_new(&cfg, ss_dataset_find("loan_transactions"), err, sizeof(err));
    assert_non_null(s);
    expect(s, "CAF\xC3\xA9", "BK", "SP003", NULL);
    expect(s, "CAF\xC3\x89", "BK", "CAF\xC3\x89", NULL);
    ss_shape_free(s);
}

/* The lookup compares whole values: a long value that starts with a key is
 * not that key (a lookup once cut values to 511 bytes). */
static void test_value_map_compares_whole_value(void **state)
{
    struct ss_collector_config cfg;
    char err[256], longer[600];
    memset(longer, 'A', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    char key[512];
    memcpy(key, longer, 511);
    key[511] = '\0';
    struct ss_config_pair branch[] = {{key, "SP001"}, {"CPL", "Centerville"}};
    memset(&cfg, 0, sizeof(cfg));
    cfg.value_maps =
        (struct ss_config_valmap[]){{.field = "service_point", .pairs = branch, .npairs = 2}};
    cfg.nvalue_maps = 1;
    struct ss_shape *s = ss_shape_new(&cfg, ss_dataset_find("loan_transactions"), err, sizeof(err));
    assert_non_null(s);
    expect(s, longer, "BK", longer, NULL);
    expect(s, key, "BK", "SP001", NULL);
    expect(s, "CPLX", "BK", "CPLX", NULL);
    expect(s, "CP", "BK", "CP", NULL);
    ss_shape_free(s);
}

/* value map then transform by default; transform then value map with
 * transform_first. */
static void test_transform_first_runs_transform_before_map(void **state)
{
    struct ss_collector_config cfg;
    char err[256];
    struct ss_config_pair types[] = {{"DVD", "Audio-visual"}, {"BK", "Adult Fiction"}};
    struct ss_config_pair lower_types[] = {{"bk", "Book"}};
    const struct ss_dataset *ds = ss_dataset_find("loan_transactions");

    /* upper first: "dvd" becomes "DVD", which the map knows. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.value_maps = (struct ss_config_valmap[]){
        {.field = "item_type", .pairs = types, .npairs = 2, .transform_first = 1}};
    cfg.nvalue_maps = 1;
    cfg.transforms = (struct ss_config_pair[]){{"item_type", "upper"}};
    cfg.ntransforms = 1;
    struct ss_shape *s = ss_shape_new(&cfg, ds, err, sizeof(err));
    assert_non_null(s);
    expect(s, "CPL", "dvd", NULL, "Audio-visual"); /* the map's value is not upper-cased */
    expect(s, "CPL", "cd", NULL, "CD");            /* unmapped: transformed */
    ss_shape_free(s);

    /* The default order: the map misses "dvd", then upper. */
    cfg.value_maps[0].transform_first = 0;
    s = ss_shape_new(&cfg, ds, err, sizeof(err));
    assert_non_null(s);
    expect(s, "CPL", "dvd", NULL, "DVD");
    expect(s, "CPL", "DVD", NULL, "AUDIO-VISUAL"); /* mapped, then upper-cased */
    ss_shape_free(s);

    /* lower first. */
    cfg.value_maps = (struct ss_config_valmap[]){
        {.field = "item_type", .pairs = lower_types, .npairs = 1, .transform_first = 1}};
    cfg.transforms = (struct ss_config_pair[]){{"item_type", "lower"}};
    s = ss_shape_new(&cfg, ds, err, sizeof(err));
    assert_non_null(s);
    expect(s, "CPL", "BK", NULL, "Book");
    ss_shape_free(s);

    /* postcode_district first, then a loose map of districts. */
    struct ss_config_pair districts[] = {{"pl6", "Plymouth north"}};
    memset(&cfg, 0, sizeof(cfg));
    cfg.value_maps = (struct ss_config_valmap[]){{.field = "area_code",
                                                  .pairs = districts,
                                                  .npairs = 1,
                                                  .match = "loose",
                                                  .transform_first = 1}};
    cfg.nvalue_maps = 1;
    cfg.transforms = (struct ss_config_pair[]){{"area_code", "postcode_district"}};
    cfg.ntransforms = 1;
    s = ss_shape_new(&cfg, ss_dataset_find("membership"), err, sizeof(err));
    assert_non_null(s);
    char why[256];
    const char *m[4] = {"E09000003", "2024-01-01", "pl6 5an", "7"};
    size_t ml[4] = {9, 10, 7, 1};
    assert_int_equal(ss_shape_apply(s, m, ml, why, sizeof(why)), 0);
    assert_int_equal(ml[2], strlen("Plymouth north"));
    assert_memory_equal(m[2], "Plymouth north", ml[2]);
    const char *notpc[4] = {"E09000003", "2024-01-01", "pl6", "7"};
    size_t nl[4] = {9, 10, 3, 1};
    assert_int_equal(ss_shape_apply(s, notpc, nl, why, sizeof(why)), 0);
    assert_null(notpc[2]); /* not a postcode: nothing left to map */
    ss_shape_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_sha256_matches_rfc4231_case_2),
        cmocka_unit_test(test_patron_id_pseudonymised_with_key_dropped_without),
        cmocka_unit_test(test_value_maps_and_transforms),
        cmocka_unit_test(test_loose_value_map_ignores_case_and_spacing),
        cmocka_unit_test(test_value_map_compares_whole_value),
        cmocka_unit_test(test_transform_first_runs_transform_before_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
