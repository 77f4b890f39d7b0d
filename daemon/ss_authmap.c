/* ss_authmap: see ss_authmap.h. */
#include "ss_authmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_normalise.h"

#define KEY_MAX 128

struct slot {
    char *key; /* NULL: empty */
    char code[10];
};

struct ss_authmap {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct ss_authmap *ss_authmap_new(void)
{
    struct ss_authmap *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->cap = 1024;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void ss_authmap_free(struct ss_authmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static struct slot *find(const struct ss_authmap *m, const char *key)
{
    size_t i = (size_t)hash(key) & (m->cap - 1);
    while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

static int grow(struct ss_authmap *m)
{
    struct ss_authmap bigger = {calloc(m->cap * 2, sizeof(struct slot)), m->cap * 2, 0};
    if (!bigger.slots)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        struct slot *s = find(&bigger, m->slots[i].key);
        *s = m->slots[i];
        bigger.count++;
    }
    free(m->slots);
    *m = bigger;
    return 0;
}

int ss_authmap_put(struct ss_authmap *m, const char *key, const char *code)
{
    if (strlen(code) != 9 || !key[0] || strlen(key) >= KEY_MAX)
        return -EINVAL;
    if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
        return -ENOMEM;
    struct slot *s = find(m, key);
    if (!s->key) {
        s->key = strdup(key);
        if (!s->key)
            return -ENOMEM;
        m->count++;
    }
    memcpy(s->code, code, 10);
    return 0;
}

const char *ss_authmap_get(const struct ss_authmap *m, const char *key)
{
    const struct slot *s = find(m, key);
    return s->key ? s->code : NULL;
}

size_t ss_authmap_count(const struct ss_authmap *m)
{
    return m->count;
}

const char *ss_authmap_resolve(const struct ss_authmap *m, const char *s, size_t len,
                               const char **why)
{
    char key[KEY_MAX];
    const char *code;
    if (ss_norm_gss_code(s, len, key)) {
        code = ss_authmap_get(m, key);
        if (!code)
            *why = "is not the GSS code of a known library authority (see ref.authority)";
        return code;
    }
    if (ss_norm_authority_key(s, len, key, sizeof(key)) < 0) {
        *why = "is not an authority name";
        return NULL;
    }
    code = ss_authmap_get(m, key);
    if (!code)
        *why = "is not a known authority name: add it to ref.authority_alias, or give the GSS "
               "code";
    return code;
}
