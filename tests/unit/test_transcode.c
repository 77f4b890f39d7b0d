/* Tests for ss_transcode: Windows-1252 (and ISO-8859-1, read as Windows-1252)
 * to UTF-8 for every byte, any chunking, undefined bytes as U+FFFD, UTF-8
 * passed through, a callback that stops.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ss_transcode.h"

struct sink {
    char out[1 << 16];
    size_t len;
    size_t calls;
    size_t max_piece;
    int stop_after; /* return 7 on this call, if non-zero */
};

static int collect(void *ud, const char *data, size_t len)
{
    struct sink *k = ud;
    assert_true(k->len + len <= sizeof(k->out));
    memcpy(k->out + k->len, data, len);
    k->len += len;
    if (len > k->max_piece)
        k->max_piece = len;
    if (++k->calls == (size_t)k->stop_after)
        return 7;
    return 0;
}

/* Converts in, fed in pieces of at most step bytes (0: whole). */
static void convert(const char *enc, const char *in, size_t inlen, size_t step, struct sink *k)
{
    struct ss_transcode *t;
    memset(k, 0, sizeof(*k));
    assert_int_equal(ss_transcode_new(&t, enc, collect, k), 0);
    size_t at = 0;
    while (at < inlen) {
        size_t n = step && inlen - at > step ? step : inlen - at;
        assert_int_equal(ss_transcode_feed(t, in + at, n), 0);
        at += n;
    }
    assert_int_equal(ss_transcode_finish(t), 0);
    ss_transcode_free(t);
}

static size_t utf8(uint32_t cp, char *dst)
{
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    dst[0] = (char)(0xE0 | (cp >> 12));
    dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Windows-1252 0x80-0x9F, from the Unicode mapping table (cp1252.txt);
 * 0xFFFD where the table has no character. 0xA0-0xFF are U+00A0-U+00FF. */
static const uint32_t c1[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static void expect_high_bytes(const char *enc)
{
    char in[128], want[128 * 3];
    size_t wl = 0;
    for (int b = 0x80; b <= 0xFF; b++) {
        in[b - 0x80] = (char)b;
        wl += utf8(b < 0xA0 ? c1[b - 0x80] : (uint32_t)b, want + wl);
    }
    size_t steps[] = {0, 1, 2, 3, 7, 64};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct sink k;
        convert(enc, in, sizeof(in), steps[i], &k);
        assert_int_equal(k.len, wl);
        assert_memory_equal(k.out, want, wl);
    }
}

static void test_transcode_every_high_byte_windows_1252(void **state)
{
    (void)state;
    expect_high_bytes("windows-1252");
}

static void test_transcode_iso_8859_1_read_as_windows_1252(void **state)
{
    (void)state;
    expect_high_bytes("ISO-8859-1");
}

static void test_transcode_ascii_unchanged(void **state)
{
    (void)state;
    char in[128];
    for (int b = 0; b < 128; b++)
        in[b] = (char)b;
    struct sink k;
    convert("windows-1252", in, sizeof(in), 5, &k);
    assert_int_equal(k.len, sizeof(in));
    assert_memory_equal(k.out, in, sizeof(in));
}

static void test_transcode_euro_quote_e_acute(void **state)
{
    (void)state;
    const char in[] = "Caf\xE9 \x80"
                      "5 \x93"
                      "Children\x92s\x94";
    const char want[] = "Café €5 “Children’s”";
    for (size_t step = 0; step <= sizeof(in); step++) {
        struct sink k;
        convert("windows-1252", in, sizeof(in) - 1, step, &k);
        assert_int_equal(k.len, strlen(want));
        assert_memory_equal(k.out, want, strlen(want));
    }
}

static void test_transcode_undefined_bytes_become_replacement(void **state)
{
    (void)state;
    struct ss_transcode *t;
    struct sink k;
    memset(&k, 0, sizeof(k));
    const char in[] = "a\x81"
                      "b\x8D\x8F\x90\x9D"
                      "c";
    const char want[] = "a\xEF\xBF\xBD"
                        "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                        "c";
    assert_int_equal(ss_transcode_new(&t, "windows-1252", collect, &k), 0);
    for (size_t i = 0; i < sizeof(in) - 1; i++) /* one byte a call */
        assert_int_equal(ss_transcode_feed(t, in + i, 1), 0);
    assert_int_equal(ss_transcode_finish(t), 0);
    assert_int_equal(ss_transcode_replaced(t), 5);
    ss_transcode_free(t);
    assert_int_equal(k.len, strlen(want));
    assert_memory_equal(k.out, want, strlen(want));
}

/* Output larger than the converter's buffer arrives in bounded pieces, all of
 * it, in order. */
static void test_transcode_large_input_bounded_pieces(void **state)
{
    (void)state;
    static char in[20000];
    static struct sink k;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (char)(i % 3 == 0 ? 0xE9 : 'x'); /* é: two bytes out */
    convert("windows-1252", in, sizeof(in), 0, &k);
    size_t want = sizeof(in) + (sizeof(in) + 2) / 3;
    assert_int_equal(k.len, want);
    assert_true(k.max_piece <= SS_TRANSCODE_CHUNK);
    assert_true(k.calls >= 2);
    assert_memory_equal(k.out, "\xC3\xA9xx\xC3\xA9", 6);
    assert_memory_equal(k.out + want - 4, "x\xC3\xA9x", 4);
}

static void test_transcode_utf8_passes_through(void **state)
{
    (void)state;
    const char in[] = "Caf\xC3\xA9 \xE2\x82\xAC\xFF raw";
    struct sink k;
    convert("utf-8", in, sizeof(in) - 1, 3, &k);
    assert_int_equal(k.len, sizeof(in) - 1);
    assert_memory_equal(k.out, in, sizeof(in) - 1);
    convert(NULL, in, sizeof(in) - 1, 0, &k);
    assert_memory_equal(k.out, in, sizeof(in) - 1);

    struct ss_transcode *t;
    assert_int_equal(ss_transcode_new(&t, "UTF-8", collect, &k), 0);
    assert_int_equal(ss_transcode_is_identity(t), 1);
    ss_transcode_free(t);
    assert_int_equal(ss_transcode_new(&t, "windows-1252", collect, &k), 0);
    assert_int_equal(ss_transcode_is_identity(t), 0);
    ss_transcode_free(t);
}

static void test_transcode_unknown_encoding_refused(void **state)
{
    (void)state;
    struct ss_transcode *t = (struct ss_transcode *)1;
    assert_int_equal(ss_transcode_new(&t, "ebcdic", collect, NULL), -EINVAL);
    assert_null(t);
}

static void test_transcode_callback_stop_is_returned(void **state)
{
    (void)state;
    static char in[40000];
    static struct sink k;
    struct ss_transcode *t;
    memset(in, 'x', sizeof(in));
    memset(&k, 0, sizeof(k));
    k.stop_after = 1;
    assert_int_equal(ss_transcode_new(&t, "windows-1252", collect, &k), 0);
    assert_int_equal(ss_transcode_feed(t, in, sizeof(in)), 7);
    assert_int_equal(k.calls, 1); /* nothing more after the stop */
    assert_int_equal(ss_transcode_feed(t, in, 10), 7);
    assert_int_equal(ss_transcode_finish(t), 7);
    assert_int_equal(k.calls, 1);
    ss_transcode_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcode_every_high_byte_windows_1252),
        cmocka_unit_test(test_transcode_iso_8859_1_read_as_windows_1252),
        cmocka_unit_test(test_transcode_ascii_unchanged),
        cmocka_unit_test(test_transcode_euro_quote_e_acute),
        cmocka_unit_test(test_transcode_undefined_bytes_become_replacement),
        cmocka_unit_test(test_transcode_large_input_bounded_pieces),
        cmocka_unit_test(test_transcode_utf8_passes_through),
        cmocka_unit_test(test_transcode_unknown_encoding_refused),
        cmocka_unit_test(test_transcode_callback_stop_is_returned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
