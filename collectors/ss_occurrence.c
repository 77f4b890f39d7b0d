/* ss_occurrence: see ss_occurrence.h.
 *
 * The key tuple is hashed with ss_fnv1a, but the table is not a struct
 * ss_hmap, on purpose: it holds no keys, only their 64-bit hashes and a
 * count (12 bytes a slot), so 250,000 keys fit in a few MiB of the
 * collector's 32 MiB; an ss_hmap would copy every key and keep two size_t
 * per entry besides. */
#include "ss_occurrence.h"

#include <stdlib.h>
#include <string.h>

#include "ss_hash.h"

struct slot {
    uint64_t hash; /* 0: empty (a real 0 hash is stored as 1) */
    uint32_t count;
};

struct ss_occurrence {
    struct slot *slots;
    size_t cap; /* power of two, at least twice max_keys */
    size_t max_keys;
    size_t used;
    size_t size; /* slots allocated */
};

struct ss_occurrence *ss_occurrence_new(size_t max_keys)
{
    struct ss_occurrence *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->max_keys = max_keys ? max_keys : 1;
    o->cap = 16;
    while (o->cap < o->max_keys * 2)
        o->cap *= 2;
    /* Allocated lazily, growing to cap: most exports have few keys. */
    return o;
}

void ss_occurrence_free(struct ss_occurrence *o)
{
    if (!o)
        return;
    free(o->slots);
    free(o);
}

void ss_occurrence_reset(struct ss_occurrence *o)
{
    free(o->slots);
    o->slots = NULL;
    o->used = 0;
    o->size = 0;
}

static size_t table_size(const struct ss_occurrence *o)
{
    size_t n = 1024;
    while (n < o->cap && n < (o->used + 1) * 2)
        n *= 2;
    return n;
}

static struct slot *find(struct slot *slots, size_t n, uint64_t h)
{
    size_t i = (size_t)h & (n - 1);
    while (slots[i].hash && slots[i].hash != h)
        i = (i + 1) & (n - 1);
    return &slots[i];
}

uint32_t ss_occurrence_next(struct ss_occurrence *o, const char *const *vals, const size_t *lens,
                            size_t n)
{
    /* The values, each preceded by its length (8 bytes, little-endian) so
     * "ab","c" and "a","bc" differ, absent values marked apart from empty
     * ones. */
    uint64_t h = SS_FNV_INIT;
    for (size_t i = 0; i < n; i++) {
        uint64_t l = vals[i] ? (uint64_t)lens[i] : UINT64_MAX;
        unsigned char lb[8];
        for (int b = 0; b < 8; b++)
            lb[b] = (unsigned char)(l >> (8 * b));
        h = ss_fnv1a(h, lb, sizeof(lb));
        if (vals[i])
            h = ss_fnv1a(h, vals[i], lens[i]);
    }
    if (h == 0)
        h = 1;

    size_t want = table_size(o);
    if (!o->slots || want > o->size) {
        struct slot *bigger = calloc(want, sizeof(*bigger));
        if (!bigger)
            return 0;
        for (size_t i = 0; o->slots && i < o->size; i++)
            if (o->slots[i].hash)
                *find(bigger, want, o->slots[i].hash) = o->slots[i];
        free(o->slots);
        o->slots = bigger;
        o->size = want;
    }
    struct slot *s = find(o->slots, o->size, h);
    if (!s->hash) {
        if (o->used >= o->max_keys)
            return 0;
        s->hash = h;
        o->used++;
    }
    return ++s->count;
}
