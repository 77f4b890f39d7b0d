/* libFuzzer target for ss_csv.
 *
 * The first two bytes choose the delimiter, small bounds (so the bound and
 * skip paths are reached by short inputs) and where to split the rest into
 * two chunks. Besides what the sanitizers catch, it checks the contract:
 * every record keeps the bounds, every field is NUL-terminated at its length,
 * and feeding the input whole, in two chunks or one byte at a time gives the
 * same records (compared by a hash of everything the callback sees).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ss_csv.h"

struct fuzz_state {
    struct ss_csv_opts opts;
    uint64_t hash;
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

static int fuzz_cb(void *ud, const struct ss_csv_record *rec)
{
    struct fuzz_state *st = ud;
    size_t total = 0;

    st->n++;
    if (rec->number != st->n || rec->end_line < rec->line || rec->line == 0)
        __builtin_trap();
    if (rec->nfields > st->opts.max_fields)
        __builtin_trap();
    for (size_t i = 0; i < rec->nfields; i++) {
        if (rec->lens[i] > st->opts.max_field || rec->fields[i][rec->lens[i]] != '\0')
            __builtin_trap();
        total += rec->lens[i];
        fuzz_mix(st, &rec->lens[i], sizeof(rec->lens[i]));
        fuzz_mix(st, rec->fields[i], rec->lens[i]);
    }
    if (total > st->opts.max_record)
        __builtin_trap();
    fuzz_mix(st, &rec->nfields, sizeof(rec->nfields));
    fuzz_mix(st, &rec->line, sizeof(rec->line));
    fuzz_mix(st, &rec->end_line, sizeof(rec->end_line));
    if (rec->error)
        fuzz_mix(st, rec->error, strlen(rec->error) + 1);
    return 0;
}

/* Feeds data in chunks: at split if step is 0, else step bytes at a time. */
static uint64_t fuzz_run(const struct ss_csv_opts *opts, const uint8_t *data, size_t size,
                         size_t split, size_t step, unsigned long *nrec)
{
    struct fuzz_state st = {.opts = *opts, .hash = 0xcbf29ce484222325ULL};
    struct ss_csv *csv = ss_csv_new(opts, fuzz_cb, &st);
    if (!csv)
        __builtin_trap();
    if (step == 0) {
        if (ss_csv_feed(csv, (const char *)data, split) != 0 ||
            ss_csv_feed(csv, (const char *)data + split, size - split) != 0)
            __builtin_trap();
    } else {
        for (size_t off = 0; off < size; off += step)
            if (ss_csv_feed(csv, (const char *)data + off, size - off < step ? size - off : step))
                __builtin_trap();
    }
    if (ss_csv_finish(csv) != 0 || ss_csv_bytes(csv) != size || ss_csv_records(csv) != st.n)
        __builtin_trap();
    ss_csv_free(csv);
    *nrec = st.n;
    return st.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[4] = {',', ';', '\t', '|'};
    if (size < 2)
        return 0;
    struct ss_csv_opts opts = {
        .delimiter = delims[data[0] & 3],
        .max_field = 1 + ((data[0] >> 2) & 7),  /* 1..8 */
        .max_record = 4 + ((data[0] >> 5) * 3), /* 4..25 */
        .max_fields = 1 + (data[1] & 7),        /* 1..8 */
    };
    size_t split_seed = data[1] >> 3;
    data += 2;
    size -= 2;
    size_t split = size ? (split_seed * 131) % (size + 1) : 0;

    unsigned long n_whole, n_split, n_bytes;
    uint64_t whole = fuzz_run(&opts, data, size, size, 0, &n_whole);
    uint64_t two = fuzz_run(&opts, data, size, split, 0, &n_split);
    if (whole != two || n_whole != n_split)
        __builtin_trap();
    if (size <= 512) {
        uint64_t bytes = fuzz_run(&opts, data, size, 0, 1, &n_bytes);
        if (whole != bytes || n_whole != n_bytes)
            __builtin_trap();
    }
    return 0;
}
