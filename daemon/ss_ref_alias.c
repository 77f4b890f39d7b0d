/* ss_ref_alias: see ss_ref_alias.h. */
#include "ss_ref_alias.h"

#include <stdlib.h>
#include <string.h>

#include "ss_err.h"
#include "ss_normalise.h"
#include "ss_ref.h"

/* What the merge knows of an alias key. */
struct ss_ref_merge_key {
    char code[10];
    char *alias; /* the alias that gave the key, for the warning; may be NULL */
};

int ss_ref__names_add(struct ss_ref_names *l, const char *alias, const char *code, char *err,
                      size_t errlen)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        char **ga = realloc(l->alias, cap * sizeof(char *));
        if (ga)
            l->alias = ga;
        char **gc = ga ? realloc(l->code, cap * sizeof(char *)) : NULL;
        if (!gc) {
            ss_ref__set_err(err, errlen, "out of memory");
            return SS_ENOMEM;
        }
        l->code = gc, l->cap = cap;
    }
    l->alias[l->n] = strdup(alias);
    l->code[l->n] = strdup(code);
    l->n++;
    if (!l->alias[l->n - 1] || !l->code[l->n - 1]) {
        ss_ref__set_err(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    return 0;
}

void ss_ref__names_free(struct ss_ref_names *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->alias[i]);
        free(l->code[i]);
    }
    free(l->alias);
    free(l->code);
    memset(l, 0, sizeof(*l));
}

static void keys_free(struct ss_hmap *keys)
{
    for (size_t i = 0; i < ss_hmap_count(keys); i++)
        free(((struct ss_ref_merge_key *)ss_hmap_at(keys, i))->alias);
    ss_hmap_free(keys);
}

/* Remembers key -> (code, alias); 0 (also when key was there), or a negative code. */
static int keys_put(struct ss_hmap *keys, const char *key, const char *code, const char *alias)
{
    void *v;
    int rc = ss_hmap_put(keys, key, strlen(key), &v);
    if (rc <= 0)
        return rc;
    struct ss_ref_merge_key *k = v;
    snprintf(k->code, sizeof(k->code), "%s", code);
    k->alias = alias ? strdup(alias) : NULL;
    return alias && !k->alias ? SS_ENOMEM : 0;
}

int ss_ref__merge_has_code(const struct ss_ref_merge *m, const char *code)
{
    return ss_hmap_gets(&m->codes, code) != NULL;
}

int ss_ref__merge_open(struct ss_ref_merge *m, PGconn *conn, char *err, size_t errlen)
{
    char msg[1024];
    PGresult *res;
    int rc = 0;
    void *v;
    memset(m, 0, sizeof(*m));
    ss_hmap_init(&m->keys, sizeof(struct ss_ref_merge_key), SS_REF_MAX_ROWS);
    ss_hmap_init(&m->codes, 0, SS_REF_MAX_ROWS);
    res = ss_ref__query(conn, "SELECT alias_key, code, alias FROM ref.authority_alias", 0, NULL,
                        msg, sizeof(msg));
    if (!res)
        goto fail;
    for (int i = 0; rc >= 0 && i < PQntuples(res); i++)
        rc =
            keys_put(&m->keys, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
    PQclear(res);
    if (rc < 0)
        goto nomem;
    res = ss_ref__query(conn, "SELECT code FROM ref.authority", 0, NULL, msg, sizeof(msg));
    if (!res)
        goto fail;
    for (int i = 0; rc >= 0 && i < PQntuples(res); i++)
        rc = ss_hmap_put(&m->codes, PQgetvalue(res, i, 0), strlen(PQgetvalue(res, i, 0)), &v);
    PQclear(res);
    if (rc < 0)
        goto nomem;
    return 0;
nomem:
    snprintf(msg, sizeof(msg), "%s", rc == SS_E2BIG ? "too many rows" : "out of memory");
fail:
    ss_ref__db_err(err, errlen, "cannot read the aliases", msg);
    keys_free(&m->keys);
    ss_hmap_free(&m->codes);
    return rc < 0 ? rc : SS_EINVAL;
}

/* Writes one new alias row, starting the COPY on the first. */
static int merge_write(struct ss_ref_merge *m, PGconn *conn, const char *key, const char *alias,
                       const char *code, const char *origin, char *err, size_t errlen)
{
    int rc;
    if (!m->copying) {
        char msg[1024];
        rc = ss_ref__copy_begin(&m->copy, conn,
                                "COPY ref.authority_alias (alias_key, code, alias, origin) FROM "
                                "STDIN",
                                msg, sizeof(msg));
        if (rc < 0) {
            ss_ref__db_err(err, errlen, "cannot write aliases", msg);
            return rc;
        }
        m->copying = 1;
    }
    ss_ref__copy_text(&m->copy, key);
    ss_ref__copy_text(&m->copy, code);
    ss_ref__copy_text(&m->copy, alias);
    ss_ref__copy_text(&m->copy, origin);
    if ((rc = ss_ref__copy_row_end(&m->copy)) < 0) {
        ss_ref__set_err(err, errlen, "cannot write aliases: %s", PQerrorMessage(conn));
        return rc;
    }
    m->added++;
    return 0;
}

int ss_ref__merge_add(struct ss_ref_merge *m, PGconn *conn, const char *alias, const char *code,
                      const char *origin, char *err, size_t errlen)
{
    char key[SS_REF_KEY_MAX];
    if (ss_norm_authority_key(alias, strlen(alias), key, sizeof(key)) < 0)
        return 0;
    if (!ss_ref__merge_has_code(m, code)) {
        ss_warn("authority alias \"%s\" (%s): %s is not in ref.authority; alias skipped", alias,
                origin, code);
        m->unknown_code++;
        return 0;
    }
    const struct ss_ref_merge_key *e = ss_hmap_gets(&m->keys, key);
    if (e) {
        if (strcmp(e->code, code) != 0) {
            ss_warn("ambiguous authority name: \"%s\" (%s) would stand for %s, but \"%s\" "
                    "already stands for %s (both give the key \"%s\"); keeping %s — fix by hand "
                    "in ref.authority_alias if that is wrong",
                    alias, origin, code, e->alias ? e->alias : "?", e->code, key, e->code);
            m->ambiguous++;
        }
        return 0;
    }
    int rc = keys_put(&m->keys, key, code, alias);
    if (rc < 0) {
        ss_ref__set_err(err, errlen, "%s",
                        rc == SS_E2BIG ? "more aliases than a load may hold" : "out of memory");
        return rc;
    }
    return merge_write(m, conn, key, alias, code, origin, err, errlen);
}

int ss_ref__merge_names(struct ss_ref_merge *m, PGconn *conn, const struct ss_ref_names *l,
                        const char *origin, char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++) {
        int rc = ss_ref__merge_add(m, conn, l->alias[i], l->code[i], origin, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int ss_ref__merge_close(struct ss_ref_merge *m, int abort, char *err, size_t errlen)
{
    int rc = 0;
    if (m->copying) {
        char msg[1024] = "";
        rc = ss_ref__copy_end(&m->copy, abort, msg, sizeof(msg));
        if (rc < 0 && !abort)
            ss_ref__db_err(err, errlen, "cannot write aliases", msg);
        if (abort)
            rc = 0;
        m->copying = 0;
    }
    keys_free(&m->keys);
    ss_hmap_free(&m->codes);
    return rc;
}
