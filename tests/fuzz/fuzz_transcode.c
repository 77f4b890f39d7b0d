/* libFuzzer target for ss_transcode.
 *
 * The first byte chooses the configured encoding (utf-8, windows-1252,
 * utf-16, utf-16be) and the second where to cut the rest into two chunks.
 * Besides what the sanitizers catch, it checks the contract: the output
 * comes in pieces of at most SS_TRANSCODE_CHUNK bytes; what iconv converted
 * (anything but UTF-8 passed through) is valid UTF-8 with no byte lost
 * silently (each replacement counted); UTF-8 input comes out byte for byte;
 * and feeding the input whole, in two chunks or one byte at a time gives
 * the same text, the same count of replacements and the same byte-order
 * mark decision.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_transcode.h"

struct fuzz_out {
    uint8_t *buf;
    size_t len, cap;
};

static int fuzz_collect(void *ud, const char *data, size_t len)
{
    struct fuzz_out *o = ud;
    if (len == 0 || len > SS_TRANSCODE_CHUNK)
        abort();
    if (o->len + len > o->cap) {
        size_t cap = (o->len + len) * 2;
        uint8_t *b = realloc(o->buf, cap);
        if (!b)
            abort();
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, data, len);
    o->len += len;
    return 0;
}

/* 1 when p[0..n) is well-formed UTF-8 (RFC 3629). */
static int fuzz_utf8_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t k = c < 0x80                 ? 0
                   : c >= 0xC2 && c <= 0xDF ? 1
                   : c >= 0xE0 && c <= 0xEF ? 2
                   : c >= 0xF0 && c <= 0xF4 ? 3
                                            : 4;
        if (k == 4 || i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
        if (k == 2 && ((c == 0xE0 && p[i + 1] < 0xA0) || (c == 0xED && p[i + 1] >= 0xA0)))
            return 0;
        if (k == 3 && ((c == 0xF0 && p[i + 1] < 0x90) || (c == 0xF4 && p[i + 1] >= 0x90)))
            return 0;
        i += k + 1;
    }
    return 1;
}

struct fuzz_result {
    struct fuzz_out out;
    unsigned long long replaced;
    const char *bom;
    int identity;
};

/* step 0: in two chunks at cut; otherwise step bytes at a time. */
static void fuzz_run(const char *enc, const uint8_t *d, size_t n, size_t cut, size_t step,
                     struct fuzz_result *r)
{
    struct ss_transcode *t;
    memset(r, 0, sizeof(*r));
    if (ss_transcode_new(&t, enc, fuzz_collect, &r->out) != 0)
        abort();
    if (step == 0) {
        if (ss_transcode_feed(t, (const char *)d, cut) != 0 ||
            ss_transcode_feed(t, (const char *)d + cut, n - cut) != 0)
            abort();
    } else {
        for (size_t at = 0; at < n; at += step)
            if (ss_transcode_feed(t, (const char *)d + at, n - at < step ? n - at : step) != 0)
                abort();
    }
    if (ss_transcode_finish(t) != 0)
        abort();
    r->replaced = ss_transcode_replaced(t);
    r->bom = ss_transcode_bom(t);
    r->identity = ss_transcode_is_identity(t);
    ss_transcode_free(t);
}

static int fuzz_same(const struct fuzz_result *a, const struct fuzz_result *b)
{
    return a->out.len == b->out.len &&
           (a->out.len == 0 || !memcmp(a->out.buf, b->out.buf, a->out.len)) &&
           a->replaced == b->replaced && a->bom == b->bom && a->identity == b->identity;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const encs[] = {"utf-8", "windows-1252", "utf-16", "utf-16be"};
    if (size < 2)
        return 0;
    const char *enc = encs[data[0] % 4];
    const uint8_t *d = data + 2;
    size_t n = size - 2;
    size_t cut = n ? data[1] % (n + 1) : 0;
    struct fuzz_result whole, two, bytes;

    fuzz_run(enc, d, n, n, 0, &whole);
    fuzz_run(enc, d, n, cut, 0, &two);
    fuzz_run(enc, d, n, 0, 1, &bytes);
    if (!fuzz_same(&whole, &two) || !fuzz_same(&whole, &bytes))
        abort(); /* where the input is cut must not matter */
    if (whole.identity) {
        if (whole.out.len != n || (n && memcmp(whole.out.buf, d, n)) || whole.replaced)
            abort(); /* UTF-8 passes through whole */
    } else if (!fuzz_utf8_ok(whole.out.buf, whole.out.len)) {
        abort(); /* converted text is UTF-8 */
    }
    if (!whole.identity && n > 0 && whole.out.len == 0 && whole.replaced == 0 &&
        !(whole.bom && n == 2))
        abort(); /* bytes went in and vanished */
    free(whole.out.buf);
    free(two.out.buf);
    free(bytes.out.buf);
    return 0;
}
