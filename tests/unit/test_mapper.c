/* ss_mapper: every missing required field named at once, and "mapping"
 * sums ({"sum": ["Issues", "Renewals"]}). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ss_config.h"
#include "ss_dataset.h"
#include "ss_err.h"
#include "ss_mapper.h"

/* Splits "A,B,C" (no quoting) into names/lens; returns how many. */
static size_t split(char *line, const char **names, size_t *lens, size_t max)
{
    size_t n = 0;
    for (char *p = line; n < max;) {
        char *c = strchr(p, ',');
        names[n] = p;
        lens[n] = c ? (size_t)(c - p) : strlen(p);
        n++;
        if (!c)
            break;
        p = c + 1;
    }
    return n;
}

static void test_every_missing_required_field_at_once(void **state)
{
    (void)state;
    const struct ss_dataset *ds = ss_dataset_find("loans");
    assert_non_null(ds);
    struct ss_collector_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char hdr[] = "Library name,Month,Count";
    const char *names[8];
    size_t lens[8];
    size_t n = split(hdr, names, lens, 8);
    struct ss_mapper m;
    char err[4096];
    assert_int_equal(ss_mapper_init(&m, ds, &cfg, names, lens, n, err, sizeof err), SS_ESETUP);
    /* authority, item_type and loans are all missing: one message names them
     * all, each with its published header and the two keys. */
    assert_non_null(strstr(err, "\"authority\" (a column named \"Local authority\" or "
                                "\"authority\", or \"mapping\": {\"authority\": \"COLUMN\"}, or "
                                "\"constants\": {\"authority\": \"VALUE\"})"));
    assert_non_null(strstr(err, "\"item_type\" (a column named \"Type\" or \"item_type\""));
    assert_non_null(strstr(err, "\"loans\" (a column named"));
    assert_null(strstr(err, "\"service_point\" (")); /* "Library name" is its published header */
    assert_null(strstr(err, "count period"));
    assert_non_null(strstr(err, "(the export's columns: \"Library name\", \"Month\", \"Count\")"));

    /* With no period either, that is said in the same message. */
    char hdr2[] = "Library name,Type,Loans";
    n = split(hdr2, names, lens, 8);
    struct ss_config_pair c = {"authority", "Exampleshire"};
    cfg.constants = &c;
    cfg.nconstants = 1;
    assert_int_equal(ss_mapper_init(&m, ds, &cfg, names, lens, n, err, sizeof err), SS_ESETUP);
    assert_null(strstr(err, "\"authority\" ("));
    assert_non_null(strstr(err, "needs a count period"));
}

/* A mapper for loans with "loans" summing Issues and Renewals. */
static void sum_mapper(struct ss_mapper *m, struct ss_collector_config *cfg,
                       struct ss_config_pair *pairs, struct ss_config_sum *sums, char *hdr)
{
    static char *cols[] = {"Issues", "Renewals"};
    const char *names[8];
    size_t lens[8];
    memset(cfg, 0, sizeof *cfg);
    pairs[0] = (struct ss_config_pair){"loans", NULL};
    sums[0] = (struct ss_config_sum){cols, 2};
    cfg->mapping = pairs;
    cfg->mapping_sums = sums;
    cfg->nmapping = 1;
    size_t n = split(hdr, names, lens, 8);
    char err[2048];
    int rc = ss_mapper_init(m, ss_dataset_find("loans"), cfg, names, lens, n, err, sizeof err);
    if (rc < 0)
        fail_msg("%s", err);
}

/* Applies the mapper to one "a,b,c" row; returns the rc and the loans value. */
static int row(struct ss_mapper *m, const char *text, char *loans, size_t loanslen, char *why,
               size_t whylen)
{
    char line[256];
    const char *f[8], *vals[SS_MAPPER_MAX_FIELDS];
    size_t l[8], vl[SS_MAPPER_MAX_FIELDS];
    snprintf(line, sizeof line, "%s", text);
    size_t n = split(line, f, l, 8);
    why[0] = '\0';
    int rc = ss_mapper_apply(m, f, l, n, vals, vl, why, whylen);
    int li = ss_dataset_field_index(m->ds, "loans");
    snprintf(loans, loanslen, "%.*s", (int)vl[li], vals[li] ? vals[li] : "");
    return rc;
}

static void test_sum(void **state)
{
    (void)state;
    struct ss_mapper m;
    struct ss_collector_config cfg;
    struct ss_config_pair pairs[1];
    struct ss_config_sum sums[1];
    char hdr[] = "Local authority,Library name,Month,Type,Issues,Renewals";
    sum_mapper(&m, &cfg, pairs, sums, hdr);
    char loans[64], why[256];
    assert_int_equal(row(&m, "E,B,2024-04,Fiction,120, 30", loans, sizeof loans, why, sizeof why),
                     0);
    assert_string_equal(loans, "150");
    assert_int_equal(
        row(&m, "E,B,2024-04,Fiction,\"1,200\",0", loans, sizeof loans, why, sizeof why),
        SS_EINVAL); /* no quoting in this split: the cell is "1 */
    assert_int_equal(row(&m, "E,B,2024-04,Fiction,1200,0", loans, sizeof loans, why, sizeof why),
                     0);
    assert_string_equal(loans, "1200");
    /* Both empty: the field is empty, as one empty cell would be. */
    assert_int_equal(row(&m, "E,B,2024-04,Fiction,,", loans, sizeof loans, why, sizeof why), 0);
    assert_string_equal(loans, "");
    /* One empty: never summed as 0. */
    assert_int_equal(row(&m, "E,B,2024-04,Fiction,120,", loans, sizeof loans, why, sizeof why),
                     SS_EINVAL);
    assert_string_equal(why, "\"Renewals\" is empty where \"Issues\" is not: \"mapping.loans\" "
                             "adds them up and will not take an empty cell as 0");
    assert_string_equal(loans, "120+");
    /* Not a number: the column is named. */
    assert_int_equal(row(&m, "E,B,2024-04,Fiction,n/a,3", loans, sizeof loans, why, sizeof why),
                     SS_EINVAL);
    assert_string_equal(
        why, "\"Issues\" is no whole number (\"n/a\"), and \"mapping.loans\" adds it up");
    assert_int_equal(row(&m, "E,B,2024-04,Fiction,-1,3", loans, sizeof loans, why, sizeof why),
                     SS_EINVAL);
    assert_int_equal(
        row(&m, "E,B,2024-04,Fiction,9223372036854775807,1", loans, sizeof loans, why, sizeof why),
        SS_EINVAL);
    /* The summed columns are the mapping's: ss_mapper_claims says so. */
    assert_int_equal(ss_mapper_claims(m.ds, &cfg, "renewals", 8), SS_MAPPER_BY_MAPPING);
}

static void test_sum_column_missing_is_a_setup_error(void **state)
{
    (void)state;
    static char *cols[] = {"Issues", "Renewals"};
    struct ss_config_pair pair = {"loans", NULL};
    struct ss_config_sum sum = {cols, 2};
    struct ss_collector_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mapping = &pair;
    cfg.mapping_sums = &sum;
    cfg.nmapping = 1;
    char hdr[] = "Local authority,Library name,Month,Type,Issues";
    const char *names[8];
    size_t lens[8];
    size_t n = split(hdr, names, lens, 8);
    struct ss_mapper m;
    char err[2048];
    assert_int_equal(
        ss_mapper_init(&m, ss_dataset_find("loans"), &cfg, names, lens, n, err, sizeof err),
        SS_ESETUP);
    assert_non_null(strstr(
        err, "\"mapping.loans\": the export has no column \"Renewals\", which the sum names"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_missing_required_field_at_once),
        cmocka_unit_test(test_sum),
        cmocka_unit_test(test_sum_column_missing_is_a_setup_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
