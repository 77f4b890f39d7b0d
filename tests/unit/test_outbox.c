/* The collector's outbox: batches written durably survive a restart, come
 * back in order, and leave only when acked or refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ss_err.h"
#include "ss_mapper.h"
#include "ss_outbox.h"

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/ss_outbox_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(struct ss_outbox *ob, const char *run, uint32_t seq, const char *body, char *name)
{
    struct ss_header h;
    struct ss_buf hb, pb;
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_BATCH;
    strcpy(h.source, "src");
    snprintf(h.run_id, sizeof(h.run_id), "%s", run);
    h.seq = seq;
    strcpy(h.dataset, "loans");
    h.records = 1;
    h.fields = 8;
    ss_buf_init(&hb, 4096);
    ss_buf_init(&pb, 4096);
    assert_int_equal(ss_proto_encode_header(&h, &hb), 0);
    ss_buf_adds(&pb, body);
    assert_int_equal(ss_outbox_put(ob, &h, &hb, &pb, name), 0);
    ss_buf_free(&hb);
    ss_buf_free(&pb);
}

static void test_outbox_batches_survive_reopen_in_order(void **state)
{
    struct ss_outbox *ob;
    char err[512], name[SS_OUTBOX_NAME_MAX + 1];
    assert_int_equal(ss_outbox_open(&ob, dir, err, sizeof(err)), 0);
    put(ob, "20260101T000000Z-aaaaaaaa", 10, "ten", name);
    assert_string_equal(name, "20260101T000000Z-aaaaaaaa-0000000010.batch");
    put(ob, "20260101T000000Z-aaaaaaaa", 2, "two", name);
    put(ob, "20250101T000000Z-bbbbbbbb", 1, "old", name);
    ss_outbox_close(ob);

    assert_int_equal(ss_outbox_open(&ob, dir, err, sizeof(err)), 0);
    char(*names)[SS_OUTBOX_NAME_MAX + 1];
    size_t n;
    assert_int_equal(ss_outbox_list(ob, &names, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "20250101T000000Z-bbbbbbbb-0000000001.batch");
    assert_string_equal(names[1], "20260101T000000Z-aaaaaaaa-0000000002.batch");
    assert_string_equal(names[2], "20260101T000000Z-aaaaaaaa-0000000010.batch");

    struct ss_header h;
    struct ss_buf hb, pb;
    ss_buf_init(&hb, 1 << 16);
    ss_buf_init(&pb, 1 << 16);
    assert_int_equal(ss_outbox_load(ob, names[2], &h, &hb, &pb, err, sizeof(err)), 0);
    assert_int_equal(h.seq, 10);
    assert_string_equal(h.run_id, "20260101T000000Z-aaaaaaaa");
    assert_string_equal(pb.data, "ten");
    ss_buf_free(&hb);
    ss_buf_free(&pb);
    ss_outbox_names_free(names);
    ss_outbox_close(ob);
}

static void test_outbox_remove_and_refuse_take_batches_out(void **state)
{
    struct ss_outbox *ob;
    char err[512], a[SS_OUTBOX_NAME_MAX + 1], b[SS_OUTBOX_NAME_MAX + 1], path[512];
    assert_int_equal(ss_outbox_open(&ob, dir, err, sizeof(err)), 0);
    put(ob, "r1", 1, "one", a);
    put(ob, "r1", 2, "two", b);
    assert_int_equal(ss_outbox_remove(ob, a), 0);
    assert_int_equal(ss_outbox_refuse(ob, b, "unknown dataset"), 0);
    char(*names)[SS_OUTBOX_NAME_MAX + 1];
    size_t n;
    assert_int_equal(ss_outbox_list(ob, &names, &n), 0);
    assert_int_equal(n, 0);
    ss_outbox_names_free(names);
    snprintf(path, sizeof(path), "%s/refused/%s", dir, b);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/refused/%s.reason", dir, b);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[128] = "";
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "unknown dataset\n");
    ss_outbox_close(ob);
}

static void test_outbox_unfinished_tmp_deleted_and_damaged_file_detected(void **state)
{
    struct ss_outbox *ob;
    char err[512], name[SS_OUTBOX_NAME_MAX + 1], path[512];
    assert_int_equal(ss_outbox_open(&ob, dir, err, sizeof(err)), 0);
    put(ob, "r1", 1, "payload bytes", name);
    ss_outbox_close(ob);
    /* A crash mid-write leaves a .tmp; a damaged file is cut short. */
    snprintf(path, sizeof(path), "%s/outbox/r1-0000000002.batch.tmp", dir);
    FILE *f = fopen(path, "w");
    fputs("half", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/outbox/%s", dir, name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 3), 0);

    assert_int_equal(ss_outbox_open(&ob, dir, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/outbox/r1-0000000002.batch.tmp", dir);
    assert_int_equal(access(path, F_OK), -1);
    struct ss_header h;
    struct ss_buf hb, pb;
    ss_buf_init(&hb, 1 << 16);
    ss_buf_init(&pb, 1 << 16);
    assert_int_equal(ss_outbox_load(ob, name, &h, &hb, &pb, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "truncated"));
    ss_buf_free(&hb);
    ss_buf_free(&pb);
    ss_outbox_close(ob);
}

static void test_outbox_unwritable_state_dir_reported(void **state)
{
    struct ss_outbox *ob;
    char err[512];
    assert_int_not_equal(ss_outbox_open(&ob, "/proc/self/no/such", err, sizeof(err)), 0);
    assert_non_null(strstr(err, "cannot create the outbox"));
}

/* The mapper, which the collector uses right before batching. */
static void test_mapper_published_headers_map_without_config(void **state)
{
    struct ss_collector_config cfg;
    struct ss_mapper m;
    char err[1024];
    const char *hdr[] = {
        "\xC2\xA0Local authority", "Library name", "Count start", "Count end", "Type", "LOANS "};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(hdr[i]);
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(
        ss_mapper_init(&m, ss_dataset_find("loans"), &cfg, hdr, lens, 6, err, sizeof(err)), 0);
    /* authority, service_point, month, period, period_start, period_end, item_type, loans */
    const int want[] = {0, 1, -1, -1, 2, 3, 4, 5};
    for (int f = 0; f < 8; f++)
        assert_int_equal(m.column[f], want[f]);

    const char *rec[] = {"Barnet", "Burnt Oak", "2019-04-01", "2019-06-30", "DVD"};
    size_t rl[] = {6, 9, 10, 10, 3};
    const char *vals[8];
    size_t vl[8];
    assert_int_equal(ss_mapper_apply(&m, rec, rl, 5, vals, vl, err, sizeof(err)), SS_EINVAL);
    assert_string_equal(err, "5 fields where the header has 6");
}

static void test_mapper_config_mapping_and_constants_and_errors(void **state)
{
    struct ss_collector_config cfg;
    struct ss_mapper m;
    char err[1024];
    const char *hdr[] = {"Branch", "Period", "Collection", "Issues"};
    size_t lens[4] = {6, 6, 10, 6};
    memset(&cfg, 0, sizeof(cfg));
    cfg.mapping = (struct ss_config_pair[4]){
        {"service_point", "branch"}, {"item_type", "Collection"}, {"loans", "Issues"}};
    cfg.nmapping = 3;
    cfg.constants = (struct ss_config_pair[]){{"authority", "E09000003"}};
    cfg.nconstants = 1;
    assert_int_equal(
        ss_mapper_init(&m, ss_dataset_find("loans"), &cfg, hdr, lens, 4, err, sizeof(err)), 0);
    const char *rec[] = {"Hendon", "2023-04-01/P1M", "Adult fiction", "12"};
    size_t rl[] = {6, 14, 13, 2};
    const char *vals[8];
    size_t vl[8];
    assert_int_equal(ss_mapper_apply(&m, rec, rl, 4, vals, vl, err, sizeof(err)), 0);
    assert_string_equal(vals[0], "E09000003");
    assert_string_equal(vals[1], "Hendon");
    assert_null(vals[2]);
    assert_string_equal(vals[3], "2023-04-01/P1M");
    assert_string_equal(vals[7], "12");

    cfg.mapping[2] = (struct ss_config_pair){"loans", "Count"};
    assert_int_equal(
        ss_mapper_init(&m, ss_dataset_find("loans"), &cfg, hdr, lens, 4, err, sizeof(err)),
        SS_ESETUP);
    assert_string_equal(err, "\"mapping.loans\": the export has no column \"Count\" (its columns: "
                             "\"Branch\", \"Period\", \"Collection\", \"Issues\")");
    cfg.mapping[2] = (struct ss_config_pair){"issues", "Issues"};
    assert_int_equal(
        ss_mapper_init(&m, ss_dataset_find("loans"), &cfg, hdr, lens, 4, err, sizeof(err)),
        SS_EINVAL);
    assert_string_equal(err, "\"mapping.issues\": dataset \"loans\" has no field \"issues\"");
    cfg.nmapping = 2;
    assert_int_equal(
        ss_mapper_init(&m, ss_dataset_find("loans"), &cfg, hdr, lens, 4, err, sizeof(err)),
        SS_ESETUP);
    assert_non_null(strstr(err, "dataset \"loans\" needs fields the export and the config do not "
                                "give: \"loans\" (a column named \"Loans\""));

    /* A column mapped to one field is not also read into another by its
     * published name ("Period" is the published header of "period"). */
    cfg.mapping[2] = (struct ss_config_pair){"loans", "Issues"};
    cfg.mapping[3] = (struct ss_config_pair){"month", "Period"};
    cfg.nmapping = 4;
    assert_int_equal(
        ss_mapper_init(&m, ss_dataset_find("loans"), &cfg, hdr, lens, 4, err, sizeof(err)), 0);
    assert_int_equal(m.column[2], 1);  /* month */
    assert_int_equal(m.column[3], -1); /* period: not the same column again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outbox_batches_survive_reopen_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outbox_remove_and_refuse_take_batches_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_outbox_unfinished_tmp_deleted_and_damaged_file_detected, setup, teardown),
        cmocka_unit_test(test_outbox_unwritable_state_dir_reported),
        cmocka_unit_test(test_mapper_published_headers_map_without_config),
        cmocka_unit_test(test_mapper_config_mapping_and_constants_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
