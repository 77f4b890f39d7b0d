/* The daemon's allow-list file: which collector key may write which
 * authorities and sources, and every malformed line named by file:line:col. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ss_allow.h"
#include "ss_err.h"

/* Two syntactically valid Z85 keys; KEY_HASH starts with '#', a Z85 character. */
#define KEY_A "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define KEY_B "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_HASH "#ne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"

static char err[1024];

static struct ss_allow *parse_ok(const char *text)
{
    struct ss_allow *a = NULL;
    int rc = ss_allow_parse("allow.txt", text, strlen(text), &a, err, sizeof(err));
    if (rc != 0)
        fail_msg("unexpected error: %s", err);
    assert_non_null(a);
    return a;
}

static void parse_fails(const char *text, const char *want)
{
    struct ss_allow *a = (struct ss_allow *)1;
    assert_int_equal(ss_allow_parse("allow.txt", text, strlen(text), &a, err, sizeof(err)),
                     SS_EINVAL);
    assert_null(a);
    assert_string_equal(err, want);
}

static void test_lines_give_key_authorities_sources_and_comment(void **state)
{
    (void)state;
    struct ss_allow *a = parse_ok("# the collectors of the Exampleshire service\n"
                                  "\n" KEY_A "  E99999901,e09000003  a-*,exact  # Riverside box\n"
                                  "   " KEY_B "\t*\t*\r\n");
    assert_int_equal(a->n, 2);
    const struct ss_allow_entry *e = ss_allow_find(a, KEY_A);
    assert_non_null(e);
    assert_int_equal(e->line, 3);
    assert_int_equal(e->nauthorities, 2);
    assert_string_equal(e->authorities[0], "E99999901");
    assert_string_equal(e->authorities[1], "E09000003"); /* upper-cased */
    assert_int_equal(e->nsources, 2);
    assert_string_equal(e->sources[0], "a-*");
    assert_string_equal(e->comment, "Riverside box");
    e = ss_allow_find(a, KEY_B);
    assert_non_null(e);
    assert_int_equal(e->line, 4);
    assert_string_equal(e->comment, "");
    assert_null(ss_allow_find(a, KEY_HASH));
    ss_allow_free(a);
}

static void test_source_patterns_match_prefix_only_with_trailing_star(void **state)
{
    (void)state;
    struct ss_allow *a = parse_ok(KEY_A " E99999901 barnet-*,leeds\n" KEY_B " * *\n");
    const struct ss_allow_entry *e = ss_allow_find(a, KEY_A);
    assert_true(ss_allow_source_ok(e, "barnet-loans"));
    assert_true(ss_allow_source_ok(e, "barnet-"));
    assert_true(ss_allow_source_ok(e, "leeds"));
    assert_false(ss_allow_source_ok(e, "leeds-loans"));
    assert_false(ss_allow_source_ok(e, "barnet"));
    assert_false(ss_allow_source_ok(e, "xbarnet-loans"));
    assert_true(ss_allow_authority_ok(e, "E99999901"));
    assert_false(ss_allow_authority_ok(e, "E09000003"));
    e = ss_allow_find(a, KEY_B);
    assert_true(ss_allow_source_ok(e, "anything"));
    assert_true(ss_allow_authority_ok(e, "E09000003"));
    ss_allow_free(a);
}

static void test_hash_in_a_key_is_not_a_comment(void **state)
{
    (void)state;
    struct ss_allow *a = parse_ok(KEY_HASH " E99999901 a  # key starts with a hash\n"
                                           "#" KEY_A " E99999901 a\n");
    assert_int_equal(a->n, 1); /* the second line is commented out */
    const struct ss_allow_entry *e = ss_allow_find(a, KEY_HASH);
    assert_non_null(e);
    assert_string_equal(e->comment, "key starts with a hash");
    ss_allow_free(a);
}

static void test_empty_file_allows_nobody(void **state)
{
    (void)state;
    struct ss_allow *a = parse_ok("");
    assert_int_equal(a->n, 0);
    assert_null(ss_allow_find(a, KEY_A));
    ss_allow_free(a);
    a = parse_ok("# nobody yet\n\n   \n");
    assert_int_equal(a->n, 0);
    ss_allow_free(a);
}

static void test_bad_lines_named_by_file_line_and_column(void **state)
{
    (void)state;
    parse_fails("\n" KEY_A " E99999901\n",
                "allow.txt:2:51: expected PUBLICKEY AUTHORITIES SOURCES, found 2 fields");
    parse_fails("short E99999901 a\n",
                "allow.txt:1:1: not a public key: 5 characters, a Z85 key has 40");
    parse_fails("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\" E99999901 a\n",
                "allow.txt:1:1: not a public key: characters outside the Z85 alphabet");
    parse_fails(KEY_A " E99999901,Barnet a\n",
                "allow.txt:1:52: \"Barnet\" is not an authority: expected an ONS GSS code such "
                "as E09000003, or *");
    parse_fails(KEY_A " E99999901,,E09000003 a\n",
                "allow.txt:1:52: empty authority entry (stray comma?)");
    parse_fails(KEY_A " E99999901 a/b\n",
                "allow.txt:1:52: \"a/b\" is not a source: expected 1 to 64 characters from A-Z "
                "a-z 0-9 . _ -, optionally ending in *");
    parse_fails(KEY_A " E99999901 a*b\n",
                "allow.txt:1:52: \"a*b\" is not a source: expected 1 to 64 characters from A-Z "
                "a-z 0-9 . _ -, optionally ending in *");
    parse_fails(KEY_A " *,E99999901 a\n",
                "allow.txt:1:42: * matches every authority: list it alone");
    parse_fails(KEY_A " E99999901 a extra\n",
                "allow.txt:1:54: unexpected \"extra\": a line is PUBLICKEY AUTHORITIES SOURCES "
                "[# comment]");
    parse_fails(KEY_A " E99999901 a\n# again:\n" KEY_A " * *\n",
                "allow.txt:3:1: key rq:rM>}U... is already listed on line 1");
}

static void test_control_characters_in_messages_are_masked(void **state)
{
    (void)state;
    parse_fails(KEY_A " E99999901 a\x1b[31m\n",
                "allow.txt:1:52: \"a?[31m\" is not a source: expected 1 to 64 characters from "
                "A-Z a-z 0-9 . _ -, optionally ending in *");
    char text[] = KEY_A " E99999901 a\0b\n";
    struct ss_allow *a = NULL;
    assert_int_equal(ss_allow_parse("allow.txt", text, sizeof(text) - 1, &a, err, sizeof(err)),
                     SS_EINVAL);
    assert_string_equal(err, "allow.txt:1:1: NUL byte: not a text file");
}

static void collect(void *arg, const char *what)
{
    char *buf = arg;
    strcat(buf, what);
    strcat(buf, "\n");
}

static void test_diff_names_added_changed_and_removed_keys(void **state)
{
    (void)state;
    char out[4096] = "";
    struct ss_allow *old = parse_ok(KEY_A " E99999901 a-*  # A\n" KEY_HASH " * *  # H\n");
    struct ss_allow *new = parse_ok(KEY_A " E99999901,E09000003 a-*  # A\n" KEY_B " E09000003 "
                                          "b\n");
    assert_int_equal(ss_allow_diff(old, new, collect, out), 3);
    assert_string_equal(out, "key rq:rM>}U... (A) changed: authorities E99999901,E09000003; "
                             "sources a-*\n"
                             "key Yne@$w-v... (no comment) added: authorities E09000003; "
                             "sources b\n"
                             "key #ne@$w-v... (H) removed\n");
    out[0] = '\0';
    assert_int_equal(ss_allow_diff(new, new, collect, out), 0);
    assert_string_equal(out, "");
    assert_int_equal(ss_allow_diff(NULL, old, collect, out), 2);
    ss_allow_free(old);
    ss_allow_free(new);
}

static void test_load_reads_file_and_names_missing_one(void **state)
{
    (void)state;
    char path[] = "/tmp/ss_allow_test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = KEY_A " E99999901 a\n" KEY_B " E99999902 b";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct ss_allow *a = NULL;
    assert_int_equal(ss_allow_load(path, &a, err, sizeof(err)), 0);
    assert_int_equal(a->n, 2); /* no newline at the end is fine */
    ss_allow_free(a);
    unlink(path);
    assert_int_equal(ss_allow_load(path, &a, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "cannot open the allow file: No such file or directory"));
}

static void test_key_validity(void **state)
{
    (void)state;
    assert_true(ss_allow_key_valid(KEY_A));
    assert_true(ss_allow_key_valid(KEY_HASH));
    assert_false(ss_allow_key_valid(""));
    assert_false(ss_allow_key_valid(KEY_A "x"));
    assert_false(ss_allow_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\\"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_give_key_authorities_sources_and_comment),
        cmocka_unit_test(test_source_patterns_match_prefix_only_with_trailing_star),
        cmocka_unit_test(test_hash_in_a_key_is_not_a_comment),
        cmocka_unit_test(test_empty_file_allows_nobody),
        cmocka_unit_test(test_bad_lines_named_by_file_line_and_column),
        cmocka_unit_test(test_control_characters_in_messages_are_masked),
        cmocka_unit_test(test_diff_names_added_changed_and_removed_keys),
        cmocka_unit_test(test_load_reads_file_and_names_missing_one),
        cmocka_unit_test(test_key_validity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
