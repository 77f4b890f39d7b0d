/* ss_authmap: see ss_authmap.h. */
#include "ss_authmap.h"

#include <stdlib.h>
#include <string.h>

#include "ss_err.h"
#include "ss_hash.h"
#include "ss_normalise.h"

#define KEY_MAX 128
/* ref.authority and its aliases: a few thousand rows; far more is a mistake. */
#define SS_AUTHMAP_MAX 1000000

struct ss_authmap {
    struct ss_hmap codes; /* key -> code (9 characters and a NUL) */
};

struct ss_authmap *ss_authmap_new(void)
{
    struct ss_authmap *m = calloc(1, sizeof(*m));
    if (m)
        ss_hmap_init(&m->codes, 10, SS_AUTHMAP_MAX);
    return m;
}

void ss_authmap_free(struct ss_authmap *m)
{
    if (!m)
        return;
    ss_hmap_free(&m->codes);
    free(m);
}

int ss_authmap_put(struct ss_authmap *m, const char *key, const char *code)
{
    size_t klen = strlen(key);
    void *v;
    if (strlen(code) != 9 || !klen || klen >= KEY_MAX)
        return SS_EINVAL;
    int rc = ss_hmap_put(&m->codes, key, klen, &v);
    if (rc < 0)
        return rc;
    memcpy(v, code, 10);
    return 0;
}

const char *ss_authmap_get(const struct ss_authmap *m, const char *key)
{
    return ss_hmap_gets(&m->codes, key);
}

size_t ss_authmap_count(const struct ss_authmap *m)
{
    return ss_hmap_count(&m->codes);
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
