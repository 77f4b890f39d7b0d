/* ss_hash: the one hash function and the one hash table.
 *
 * FNV-1a (64-bit) is fast on the short keys shelfsync hashes (authority
 * names, reference codes, group keys, key tuples) and needs no seed: none
 * of these tables is keyed by a peer that could aim collisions at it
 * without also being bounded by max_entries.
 *
 * struct ss_hmap maps byte-string keys (copied in) to fixed-size values,
 * kept in insertion order: entry i is ss_hmap_at(m, i), so a table is also
 * a list to walk. Values are zeroed when added and may move when the table
 * grows: a pointer from ss_hmap_get/put is good until the next put. Every
 * table has a maximum number of entries, set at creation; past it a put
 * fails with SS_E2BIG instead of growing without bound.
 */
#ifndef SS_HASH_H
#define SS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SS_FNV_INIT 14695981039346656037ULL

/* FNV-1a over n bytes, continuing from h (SS_FNV_INIT to start). */
static inline uint64_t ss_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

struct ss_hslot;

struct ss_hmap {
    struct ss_hslot *slots; /* open addressing, linear probing */
    size_t nslots;          /* a power of two, at least twice count */
    char *vals;             /* count values of valsize bytes, in insertion order */
    size_t *keyoff;         /* entry i's key: keys + keyoff[i], keylen[i] bytes */
    size_t *keylen;
    char *keys; /* every key, each followed by a NUL */
    size_t keys_len, keys_cap;
    size_t count, cap;
    size_t valsize;
    size_t max_entries;
};

void ss_hmap_init(struct ss_hmap *m, size_t valsize, size_t max_entries);
void ss_hmap_free(struct ss_hmap *m);
/* Empties the table, keeping its memory for the next fill (a table reused
 * for each batch grows once); ss_hmap_free gives the memory back. */
void ss_hmap_reset(struct ss_hmap *m);

/* The value for key, or NULL. */
void *ss_hmap_get(const struct ss_hmap *m, const void *key, size_t klen);
/* The value for key, added (zeroed) if absent: returns 1 when added, 0 when
 * it was there, or SS_ENOMEM / SS_E2BIG (max_entries reached). */
int ss_hmap_put(struct ss_hmap *m, const void *key, size_t klen, void **val);

static inline size_t ss_hmap_count(const struct ss_hmap *m)
{
    return m->count;
}
/* Entry i (0 <= i < count), in the order added. */
static inline void *ss_hmap_at(const struct ss_hmap *m, size_t i)
{
    return m->vals + i * m->valsize;
}
/* Entry i's key (NUL-terminated; its length in *klen if not NULL). */
const char *ss_hmap_key(const struct ss_hmap *m, size_t i, size_t *klen);

/* Convenience for NUL-terminated keys. */
static inline void *ss_hmap_gets(const struct ss_hmap *m, const char *key)
{
    size_t n = 0;
    while (key[n])
        n++;
    return ss_hmap_get(m, key, n);
}

#endif
