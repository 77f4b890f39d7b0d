/* libFuzzer target for ss_jsonsplit.
 *
 * The first two bytes choose where to split the rest into two chunks and,
 * sometimes, a small element bound (so the skip path is reached by short
 * inputs). The rest is split in each mode: the top-level array, the array at
 * "data.items", and NDJSON. Besides what the sanitizers catch, it checks the
 * contract: every element handed over without an error is one JSON value
 * that jansson parses (save for what the splitter leaves to the record
 * parser: bad UTF-8, unpaired surrogates, numbers out of range), elements
 * keep the bound and are NUL-terminated at their length, and feeding the
 * input whole or in two chunks gives the same elements and the same result.
 * And no message depends on a record's content: the input with every letter
 * and digit inside strings changed (and digits 1-9 outside them, which the
 * grammar does not tell apart) gives the same errors, word for word, at the
 * same places (top level and NDJSON; a path compares keys, so it is left
 * out there).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_jsonsplit.h"

struct fuzz_state {
    size_t max;
    uint64_t hash;
    uint64_t errors; /* errors and where they are, not the elements' text */
    unsigned long n;
};

static void fuzz_mix(struct fuzz_state *st, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        st->hash ^= b[i];
        st->hash *= 0x100000001b3ULL; /* FNV-1a */
    }
}

static int fuzz_left_to_record_parser(const json_error_t *e)
{
    switch (json_error_code(e)) {
    case json_error_invalid_utf8:
    case json_error_numeric_overflow:
    case json_error_null_character:
    case json_error_null_byte_in_key: /* {"a\u0000b": 1}: well-formed, quarantined per record */
        return 1;
    default:
        return strncmp(e->text, "invalid Unicode", 15) == 0;
    }
}

static int fuzz_on_elem(void *ud, const struct ss_jsonsplit_elem *e)
{
    struct fuzz_state *st = ud;
    if (e->text[e->len] != '\0' || strlen(e->text) > e->len)
        abort();
    if (!e->error) {
        json_error_t jerr;
        if (e->len > st->max)
            abort();
        json_t *j = json_loadb(e->text, e->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!j && !fuzz_left_to_record_parser(&jerr))
            abort(); /* the splitter handed over what is not one JSON value */
        json_decref(j);
    } else if (e->len > SS_JSONSPLIT_KEEP && e->len > st->max) {
        abort();
    }
    fuzz_mix(st, &e->index, sizeof(e->index));
    fuzz_mix(st, &e->offset, sizeof(e->offset));
    fuzz_mix(st, e->text, e->len);
    fuzz_mix(st, e->error ? "E" : "-", 1);
    uint64_t h = st->hash;
    st->hash = st->errors;
    fuzz_mix(st, &e->index, sizeof(e->index));
    fuzz_mix(st, &e->offset, sizeof(e->offset));
    fuzz_mix(st, e->error ? e->error : "-", e->error ? strlen(e->error) : 1);
    st->errors = st->hash;
    st->hash = h;
    st->n++;
    return 0;
}

static int fuzz_run(const struct ss_jsonsplit_opts *o, const uint8_t *d, size_t n, size_t cut,
                    struct fuzz_state *st)
{
    struct ss_jsonsplit *s = ss_jsonsplit_new(o, fuzz_on_elem, st);
    if (!s)
        abort();
    int rc = ss_jsonsplit_feed(s, (const char *)d, cut);
    if (rc == 0)
        rc = ss_jsonsplit_feed(s, (const char *)d + cut, n - cut);
    if (rc == 0)
        rc = ss_jsonsplit_finish(s);
    fuzz_mix(st, ss_jsonsplit_error(s), strlen(ss_jsonsplit_error(s)));
    uint64_t h = st->hash;
    st->hash = st->errors;
    fuzz_mix(st, ss_jsonsplit_error(s), strlen(ss_jsonsplit_error(s)));
    st->errors = st->hash;
    st->hash = h;
    if (ss_jsonsplit_count(s) != st->n)
        abort();
    ss_jsonsplit_free(s);
    return rc;
}

/* The input with its content changed and its grammar not: letters and
 * digits inside strings (not escapes) rotate, as do digits 1-9 outside. */
static void fuzz_rotate(const uint8_t *d, size_t n, uint8_t *out, int ndjson)
{
    int in_str = 0, esc = 0, uhex = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        out[i] = c;
        if (ndjson && c == '\n') {
            in_str = esc = uhex = 0;
        } else if (in_str) {
            if (uhex > 0) {
                uhex--;
            } else if (esc) {
                esc = 0;
                uhex = c == 'u' ? 4 : 0;
            } else if (c == '\\') {
                esc = 1;
            } else if (c == '"') {
                in_str = 0;
            } else if (c >= 'a' && c <= 'z') {
                out[i] = (uint8_t)('a' + (c - 'a' + 7) % 26);
            } else if (c >= 'A' && c <= 'Z') {
                out[i] = (uint8_t)('A' + (c - 'A' + 7) % 26);
            } else if (c >= '0' && c <= '9') {
                out[i] = (uint8_t)('0' + (c - '0' + 3) % 10);
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c >= '1' && c <= '9') {
            out[i] = (uint8_t)('1' + (c - '1' + 4) % 9);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned sel = ((unsigned)data[0] << 8) | data[1];
    const uint8_t *d = data + 2;
    size_t n = size - 2;
    size_t cut = n ? sel % (n + 1) : 0;
    size_t max = (data[0] & 0x80) ? 8 + (data[1] & 63) : 0;

    uint8_t *rot = malloc(n ? n : 1);
    if (!rot)
        return 0;
    for (int mode = 0; mode < 3; mode++) {
        struct ss_jsonsplit_opts o = {mode == 1 ? "data.items" : NULL, mode == 2, max};
        struct fuzz_state whole = {max ? max : SIZE_MAX, 0xcbf29ce484222325ULL,
                                   0xcbf29ce484222325ULL, 0};
        struct fuzz_state two = whole, other = whole;
        int a = fuzz_run(&o, d, n, n, &whole);
        int b = fuzz_run(&o, d, n, cut, &two);
        if (a != b || whole.n != two.n || whole.hash != two.hash)
            abort(); /* where the input is cut must not matter */
        if (mode == 1)
            continue;
        fuzz_rotate(d, n, rot, mode == 2);
        int c = fuzz_run(&o, rot, n, cut, &other);
        if (c != a || other.n != whole.n || other.errors != whole.errors)
            abort(); /* a message depends on what a record holds */
    }
    free(rot);
    return 0;
}
