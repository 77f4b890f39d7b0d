/* ss_hash: see ss_hash.h. */
#include "ss_hash.h"

#include "ss_err.h"

#include <stdlib.h>
#include <string.h>

struct ss_hslot {
    uint64_t hash;
    size_t idx; /* entry index + 1; 0: empty */
};

void ss_hmap_init(struct ss_hmap *m, size_t valsize, size_t max_entries)
{
    memset(m, 0, sizeof(*m));
    m->valsize = valsize ? valsize : 1;
    m->max_entries = max_entries;
}

void ss_hmap_free(struct ss_hmap *m)
{
    free(m->slots);
    free(m->vals);
    free(m->keyoff);
    free(m->keylen);
    free(m->keys);
    ss_hmap_init(m, m->valsize, m->max_entries);
}

void ss_hmap_reset(struct ss_hmap *m)
{
    if (m->slots)
        memset(m->slots, 0, m->nslots * sizeof(*m->slots));
    m->count = 0;
    m->keys_len = 0;
}

static struct ss_hslot *probe(const struct ss_hmap *m, uint64_t h, const void *key, size_t klen)
{
    size_t mask = m->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct ss_hslot *s = &m->slots[i];
        if (!s->idx)
            return s;
        size_t e = s->idx - 1;
        if (s->hash == h && m->keylen[e] == klen && memcmp(m->keys + m->keyoff[e], key, klen) == 0)
            return s;
    }
}

void *ss_hmap_get(const struct ss_hmap *m, const void *key, size_t klen)
{
    if (!m->count)
        return NULL;
    struct ss_hslot *s = probe(m, ss_fnv1a(SS_FNV_INIT, key, klen), key, klen);
    return s->idx ? ss_hmap_at(m, s->idx - 1) : NULL;
}

const char *ss_hmap_key(const struct ss_hmap *m, size_t i, size_t *klen)
{
    if (klen)
        *klen = m->keylen[i];
    return m->keys + m->keyoff[i];
}

static int rehash(struct ss_hmap *m, size_t nslots)
{
    struct ss_hslot *slots = calloc(nslots, sizeof(*slots));
    if (!slots)
        return SS_ENOMEM;
    for (size_t i = 0; i < m->nslots; i++) {
        if (!m->slots[i].idx)
            continue;
        size_t j = (size_t)m->slots[i].hash & (nslots - 1);
        while (slots[j].idx)
            j = (j + 1) & (nslots - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = nslots;
    return 0;
}

static int grow_entries(struct ss_hmap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 16;
    if (m->max_entries && cap > m->max_entries)
        cap = m->max_entries;
    char *vals = realloc(m->vals, cap * m->valsize);
    if (!vals)
        return SS_ENOMEM;
    m->vals = vals;
    size_t *off = realloc(m->keyoff, cap * sizeof(*off));
    if (!off)
        return SS_ENOMEM;
    m->keyoff = off;
    size_t *len = realloc(m->keylen, cap * sizeof(*len));
    if (!len)
        return SS_ENOMEM;
    m->keylen = len;
    m->cap = cap;
    return 0;
}

static int add_key(struct ss_hmap *m, const void *key, size_t klen)
{
    if (m->keys_len + klen + 1 > m->keys_cap) {
        size_t cap = m->keys_cap ? 2 * m->keys_cap : 256;
        while (cap < m->keys_len + klen + 1)
            cap *= 2;
        char *k = realloc(m->keys, cap);
        if (!k)
            return SS_ENOMEM;
        m->keys = k;
        m->keys_cap = cap;
    }
    m->keyoff[m->count] = m->keys_len;
    m->keylen[m->count] = klen;
    memcpy(m->keys + m->keys_len, key, klen);
    m->keys[m->keys_len + klen] = '\0';
    m->keys_len += klen + 1;
    return 0;
}

int ss_hmap_put(struct ss_hmap *m, const void *key, size_t klen, void **val)
{
    uint64_t h = ss_fnv1a(SS_FNV_INIT, key, klen);
    int rc;
    if (m->count) {
        struct ss_hslot *s = probe(m, h, key, klen);
        if (s->idx) {
            *val = ss_hmap_at(m, s->idx - 1);
            return 0;
        }
    }
    if (m->max_entries && m->count >= m->max_entries)
        return SS_E2BIG;
    if (2 * (m->count + 1) > m->nslots && (rc = rehash(m, m->nslots ? 2 * m->nslots : 32)) < 0)
        return rc;
    if (m->count == m->cap && (rc = grow_entries(m)) < 0)
        return rc;
    if ((rc = add_key(m, key, klen)) < 0)
        return rc;
    struct ss_hslot *s = probe(m, h, key, klen);
    s->hash = h;
    s->idx = m->count + 1;
    *val = ss_hmap_at(m, m->count);
    memset(*val, 0, m->valsize);
    m->count++;
    return 1;
}
