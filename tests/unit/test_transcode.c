/* Tests for ss_transcode: Windows-1252 (and ISO-8859-1, read as Windows-1252)
 * to UTF-8 for every byte, any chunking, undefined bytes as U+FFFD, UTF-8
 * passed through, a callback that stops; UTF-16 chosen by a byte-order mark
 * whatever the config says (Excel's "Unicode text"), or by the config without
 * one, surrogate pairs, unpaired surrogates and an odd last byte as U+FFFD
 * without losing step; a UTF-8 mark that overrides Windows-1252.
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
    int stop_after; /* return stop_value (or 7) on this call, if non-zero */
    int stop_value;
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
        return k->stop_value ? k->stop_value : 7;
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

/* A callback that stops with 1 mid-chunk: 1 comes back, the rest is not
 * taken for an unfinished sequence (a bug the internal INCOMPLETE invited). */
static void test_transcode_callback_stop_of_1_is_returned(void **state)
{
    (void)state;
    static char in[40000];
    static struct sink k;
    struct ss_transcode *t;
    memset(in, 'x', sizeof(in));
    memset(&k, 0, sizeof(k));
    k.stop_after = 1;
    k.stop_value = 1;
    assert_int_equal(ss_transcode_new(&t, "windows-1252", collect, &k), 0);
    assert_int_equal(ss_transcode_feed(t, in, sizeof(in)), 1);
    assert_int_equal(k.calls, 1);
    assert_int_equal(ss_transcode_replaced(t), 0);
    assert_int_equal(ss_transcode_finish(t), 1);
    assert_int_equal(k.calls, 1);
    ss_transcode_free(t);
}

/* UTF-16 of the UTF-8 text s (BMP and 4-byte sequences), with a mark first
 * if bom. Returns the length. */
static size_t utf16(const char *s, int be, int bom, char *dst)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    uint32_t units[2];
    if (bom) {
        dst[n++] = (char)(be ? 0xFE : 0xFF);
        dst[n++] = (char)(be ? 0xFF : 0xFE);
    }
    while (*p) {
        uint32_t cp;
        if (*p < 0x80)
            cp = *p++;
        else if (*p < 0xE0)
            cp = (uint32_t)(*p & 0x1F) << 6 | (p[1] & 0x3F), p += 2;
        else if (*p < 0xF0)
            cp = (uint32_t)(*p & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F), p += 3;
        else
            cp = (uint32_t)(*p & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
                 (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F),
            p += 4;
        size_t nu = 1;
        units[0] = cp;
        if (cp >= 0x10000) {
            units[0] = 0xD800 + ((cp - 0x10000) >> 10);
            units[1] = 0xDC00 + ((cp - 0x10000) & 0x3FF);
            nu = 2;
        }
        for (size_t u = 0; u < nu; u++) {
            dst[n + (be ? 0 : 1)] = (char)(units[u] >> 8);
            dst[n + (be ? 1 : 0)] = (char)(units[u] & 0xFF);
            n += 2;
        }
    }
    return n;
}

static const char unicode_text[] = "Library\tMonth\tLoans\r\n"
                                   "Caf\xC3\xA9 Library\t2024-04\t12\r\n"
                                   "Bod\xC3\xB8\t2024-04\t7\r\n"
                                   "\xE2\x80\x9CQuay\xE2\x80\x9D \xF0\x9F\x93\x9A\t2024-05\t1\r\n";

/* Converts in with every chunking from one byte up; checks the text and
 * which mark decided. */
static void expect_text(const char *enc, const char *in, size_t inlen, const char *want,
                        size_t wantlen, const char *bom, unsigned long long replaced)
{
    for (size_t step = 0; step <= 9; step++) {
        static struct sink k;
        struct ss_transcode *t;
        memset(&k, 0, sizeof(k));
        assert_int_equal(ss_transcode_new(&t, enc, collect, &k), 0);
        size_t at = 0;
        while (at < inlen) {
            size_t n = step && inlen - at > step ? step : inlen - at;
            assert_int_equal(ss_transcode_feed(t, in + at, n), 0);
            at += n;
        }
        assert_int_equal(ss_transcode_finish(t), 0);
        if (bom)
            assert_string_equal(ss_transcode_bom(t), bom);
        else
            assert_null(ss_transcode_bom(t));
        assert_int_equal(ss_transcode_replaced(t), replaced);
        ss_transcode_free(t);
        assert_int_equal(k.len, wantlen);
        assert_memory_equal(k.out, want, wantlen);
    }
}

/* Excel's "Unicode text": a UTF-16LE mark decides, whatever csv.encoding
 * says; the mark itself is not text. */
static void test_transcode_utf16le_bom_wins_over_config(void **state)
{
    (void)state;
    static char in[1024];
    size_t n = utf16(unicode_text, 0, 1, in);
    const char *encs[] = {"utf-8", "windows-1252", "utf-16be", NULL};
    for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++)
        expect_text(encs[i], in, n, unicode_text, strlen(unicode_text), "UTF-16LE", 0);

    struct ss_transcode *t;
    struct sink k;
    memset(&k, 0, sizeof(k));
    assert_int_equal(ss_transcode_new(&t, "windows-1252", collect, &k), 0);
    assert_string_equal(ss_transcode_encoding(t), "WINDOWS-1252");
    assert_int_equal(ss_transcode_feed(t, in, n), 0);
    assert_string_equal(ss_transcode_encoding(t), "UTF-16LE");
    assert_int_equal(ss_transcode_is_identity(t), 0);
    ss_transcode_free(t);
}

static void test_transcode_utf16be_bom(void **state)
{
    (void)state;
    static char in[1024];
    size_t n = utf16(unicode_text, 1, 1, in);
    expect_text("utf-8", in, n, unicode_text, strlen(unicode_text), "UTF-16BE", 0);
    expect_text("utf-16", in, n, unicode_text, strlen(unicode_text), "UTF-16BE", 0);
}

/* "utf-16" without a mark is little-endian; "utf-16be" big-endian. */
static void test_transcode_utf16_configured_without_bom(void **state)
{
    (void)state;
    static char in[1024];
    size_t n = utf16(unicode_text, 0, 0, in);
    expect_text("utf-16", in, n, unicode_text, strlen(unicode_text), NULL, 0);
    expect_text("UTF-16LE", in, n, unicode_text, strlen(unicode_text), NULL, 0);
    n = utf16(unicode_text, 1, 0, in);
    expect_text("utf-16be", in, n, unicode_text, strlen(unicode_text), NULL, 0);
}

/* An unpaired surrogate is one replacement (two bytes), and the text after
 * it is read in step; so is a surrogate pair split across chunks (every
 * chunking above). An odd last byte is a replacement too. */
static void test_transcode_utf16_bad_units_replaced_in_step(void **state)
{
    (void)state;
    static char in[64];
    size_t n = utf16("a", 0, 1, in);
    in[n++] = 0x00; /* a lone high surrogate, D800 */
    in[n++] = (char)0xD8;
    n += utf16("bc", 0, 0, in + n);
    in[n++] = 0x00; /* a lone low surrogate, DC00 */
    in[n++] = (char)0xDC;
    n += utf16("d", 0, 0, in + n);
    in[n++] = 'e'; /* half a unit at the end */
    const char want[] = "a\xEF\xBF\xBD"
                        "bc\xEF\xBF\xBD"
                        "d\xEF\xBF\xBD";
    expect_text("utf-8", in, n, want, strlen(want), "UTF-16LE", 3);
}

/* A UTF-8 mark says UTF-8 even when the config says Windows-1252: the text
 * passes through unchanged (the CSV parser drops the mark). */
static void test_transcode_utf8_bom_overrides_windows_1252(void **state)
{
    (void)state;
    const char in[] = "\xEF\xBB\xBF"
                      "Caf\xC3\xA9,12\n";
    expect_text("windows-1252", in, sizeof(in) - 1, in, sizeof(in) - 1, "UTF-8", 0);
    expect_text("utf-8", in, sizeof(in) - 1, in, sizeof(in) - 1, "UTF-8", 0);
}

/* What only starts like a mark is text: short inputs, and bytes that are no
 * mark after all. */
static void test_transcode_mark_lookalikes_are_text(void **state)
{
    (void)state;
    expect_text("utf-8", "\xFF", 1, "\xFF", 1, NULL, 0);
    expect_text("utf-8", "\xEF\xBB", 2, "\xEF\xBB", 2, NULL, 0);
    expect_text("utf-8", "\xEF\xBBx,1\n", 5, "\xEF\xBBx,1\n", 5, NULL, 0);
    expect_text("windows-1252", "\xFF", 1, "\xC3\xBF", 2, NULL, 0);
    expect_text("windows-1252", "\xFE\xFEx", 3, "\xC3\xBE\xC3\xBEx", 5, NULL, 0);
    expect_text("windows-1252", "", 0, "", 0, NULL, 0);
    /* a mark and nothing else: no text */
    expect_text("utf-8", "\xFF\xFE", 2, "", 0, "UTF-16LE", 0);
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
        cmocka_unit_test(test_transcode_callback_stop_of_1_is_returned),
        cmocka_unit_test(test_transcode_utf16le_bom_wins_over_config),
        cmocka_unit_test(test_transcode_utf16be_bom),
        cmocka_unit_test(test_transcode_utf16_configured_without_bom),
        cmocka_unit_test(test_transcode_utf16_bad_units_replaced_in_step),
        cmocka_unit_test(test_transcode_utf8_bom_overrides_windows_1252),
        cmocka_unit_test(test_transcode_mark_lookalikes_are_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
