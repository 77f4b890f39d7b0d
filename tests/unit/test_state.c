/* The collector's state directory: one run at a time holds it, and the
 * cursor is used only under the config identity that saved it -- an
 * identity that changes with what shapes records and not with delivery
 * settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ss_state.h"

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/ss_state_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void identity_of(const char *text, char *out)
{
    char path[512], err[512];
    write_file("c.json", text);
    snprintf(path, sizeof(path), "%s/c.json", dir);
    assert_int_equal(ss_state_identity(path, out, err, sizeof(err)), 0);
    assert_int_equal(strlen(out), SS_STATE_IDENTITY_LEN);
}

static void test_state_identity_follows_what_shapes_records_only(void **state)
{
    char a[65], b[65], c[65], d[65], e[65];
    identity_of(
        "{\"source\":\"s\",\"dataset\":\"loans\",\"url\":\"http://x/a.csv\",\"state_dir\":\"/a\","
        "\"daemon\":{\"endpoints\":[\"tcp://127.0.0.1:1\"]},\"mapping\":{\"loans\":\"Issues\"}}",
        a);
    /* Delivery settings, the state directory, a description, key order, the
     * default kind spelt out: the same identity. */
    identity_of(
        "{\"description\":\"x\",\"mapping\":{\"loans\":\"Issues\"},\"kind\":\"csv\","
        "\"url\":\"http://x/a.csv\",\"dataset\":\"loans\",\"source\":\"s\","
        "\"state_dir\":\"/b\",\"batch\":{\"records\":7},\"send\":{\"max_in_flight\":2},"
        "\"http\":{\"timeout_s\":9,\"retries\":1},\"interval_s\":60,\"log_level\":\"debug\","
        "\"daemon\":{\"endpoints\":[\"tcp://127.0.0.1:2\"]}}",
        b);
    assert_string_equal(a, b);
    /* The mapping, a value map, the url: another identity each. */
    identity_of(
        "{\"source\":\"s\",\"dataset\":\"loans\",\"url\":\"http://x/a.csv\",\"state_dir\":\"/a\","
        "\"daemon\":{\"endpoints\":[\"tcp://127.0.0.1:1\"]},\"mapping\":{\"loans\":\"Renewals\"}}",
        c);
    identity_of(
        "{\"source\":\"s\",\"dataset\":\"loans\",\"url\":\"http://x/a.csv\",\"state_dir\":\"/a\","
        "\"daemon\":{\"endpoints\":[\"tcp://127.0.0.1:1\"]},\"mapping\":{\"loans\":\"Issues\"},"
        "\"value_maps\":{\"item_type\":{\"BK\":\"Adult fiction\"}}}",
        d);
    identity_of(
        "{\"source\":\"s\",\"dataset\":\"loans\",\"url\":\"http://x/b.csv\",\"state_dir\":\"/a\","
        "\"daemon\":{\"endpoints\":[\"tcp://127.0.0.1:1\"]},\"mapping\":{\"loans\":\"Issues\"}}",
        e);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_string_not_equal(a, e);
    assert_string_not_equal(c, d);
}

static void test_state_cursor_used_only_under_its_identity(void **state)
{
    struct ss_state *st;
    struct ss_buf cur;
    char err[512], why[512];
    const char *id1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *id2 = "2222222222222222222222222222222222222222222222222222222222222222";

    assert_int_equal(ss_state_open(&st, dir, err, sizeof(err)), 0);
    ss_buf_init(&cur, SS_CURSOR_MAX);
    assert_int_equal(ss_state_cursor_read(st, id1, &cur, why, sizeof(why)), 0);
    assert_string_equal(why, ""); /* simply none yet */
    assert_int_equal(ss_state_cursor_write(st, id1, "\"etag-1\"\nMon, 01 Jan 2024", 25), 0);
    assert_int_equal(ss_state_cursor_read(st, id1, &cur, why, sizeof(why)), 1);
    assert_int_equal(cur.len, 25);
    assert_memory_equal(cur.data, "\"etag-1\"\nMon, 01 Jan 2024", 25);
    /* Another config: not used, and the log says why. */
    assert_int_equal(ss_state_cursor_read(st, id2, &cur, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "the config changed since the cursor was saved"));
    assert_int_equal(ss_state_cursor_clear(st), 0);
    assert_int_equal(ss_state_cursor_read(st, id1, &cur, why, sizeof(why)), 0);
    ss_state_close(st);
    ss_buf_free(&cur);
}

static void test_state_old_plain_cursor_is_not_used(void **state)
{
    struct ss_state *st;
    struct ss_buf cur;
    char err[512], why[512];
    assert_int_equal(ss_state_open(&st, dir, err, sizeof(err)), 0);
    write_file("cursor", "\"etag\"\nMon, 01 Jan 2024 00:00:00 GMT");
    ss_buf_init(&cur, SS_CURSOR_MAX);
    assert_int_equal(ss_state_cursor_read(st, "ab", &cur, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "older shelfsync-collect"));
    ss_state_close(st);
    ss_buf_free(&cur);
}

static void test_state_second_holder_refused_with_pid(void **state)
{
    struct ss_state *st, *again;
    char err[512];
    assert_int_equal(ss_state_open(&st, dir, err, sizeof(err)), 0);
    /* Another process (flock is per open file: a child with its own open). */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc = ss_state_open(&again, dir, err, sizeof(err));
        char want[64];
        snprintf(want, sizeof(want), "(pid %ld)", (long)getppid());
        _exit(rc == -EWOULDBLOCK && strstr(err, want) && strstr(err, "in use by another") ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ss_state_close(st);
    /* Released: the next one gets it. */
    assert_int_equal(ss_state_open(&again, dir, err, sizeof(err)), 0);
    ss_state_close(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_identity_follows_what_shapes_records_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_cursor_used_only_under_its_identity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_old_plain_cursor_is_not_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_second_holder_refused_with_pid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
