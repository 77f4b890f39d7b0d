/* ss_ref_alias: see ss_ref_alias.h. */
#include "ss_ref_alias.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_date.h"
#include "ss_err.h"
#include "ss_normalise.h"
#include "ss_ref.h"

/* Codes one alias key may stand for (authorities that used the name one
 * after another; the real data has at most 2). */
#define MERGE_CODES 6

/* What the merge knows of an alias key. */
struct ss_ref_merge_key {
    unsigned n;
    char code[MERGE_CODES][10];
    char *alias; /* the alias that gave the key, for the warning; may be NULL */
};

/* When a code in ref.authority was valid: days, inclusive. */
struct ss_ref_merge_code {
    long from, to;
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

/* Remembers key -> (one more code, alias); 0 (also when the pair was
 * there), SS_E2BIG past MERGE_CODES codes, or another negative code. */
static int keys_put(struct ss_hmap *keys, const char *key, const char *code, const char *alias)
{
    void *v;
    int rc = ss_hmap_put(keys, key, strlen(key), &v);
    if (rc < 0)
        return rc;
    struct ss_ref_merge_key *k = v;
    for (unsigned i = 0; i < k->n; i++)
        if (strcmp(k->code[i], code) == 0)
            return 0;
    if (k->n == MERGE_CODES)
        return SS_E2BIG;
    snprintf(k->code[k->n++], sizeof(k->code[0]), "%s", code);
    if (!k->alias && alias && !(k->alias = strdup(alias)))
        return SS_ENOMEM;
    return 0;
}

int ss_ref__merge_has_code(const struct ss_ref_merge *m, const char *code)
{
    return ss_hmap_gets(&m->codes, code) != NULL;
}

/* A day from PostgreSQL's date text, or open (empty: NULL). */
static long day_or(const char *s, long open)
{
    struct ss_date d;
    const char *why;
    return *s && ss_parse_date(s, strlen(s), &d, &why) == 0 ? ss_date_to_days(d) : open;
}

/* Whether codes a and b were valid on a common day (an unknown code: yes). */
static int overlap(const struct ss_ref_merge *m, const char *a, const char *b)
{
    const struct ss_ref_merge_code *x = ss_hmap_gets(&m->codes, a), *y = ss_hmap_gets(&m->codes, b);
    return !x || !y || (x->from <= y->to && y->from <= x->to);
}

int ss_ref__merge_open(struct ss_ref_merge *m, PGconn *conn, char *err, size_t errlen)
{
    char msg[1024];
    PGresult *res;
    int rc = 0;
    void *v;
    memset(m, 0, sizeof(*m));
    ss_hmap_init(&m->keys, sizeof(struct ss_ref_merge_key), SS_REF_MAX_ROWS);
    ss_hmap_init(&m->codes, sizeof(struct ss_ref_merge_code), SS_REF_MAX_ROWS);
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
    res = ss_ref__query(conn,
                        "SELECT code, coalesce(valid_from::text, ''), coalesce(valid_to::text, '')"
                        " FROM ref.authority",
                        0, NULL, msg, sizeof(msg));
    if (!res)
        goto fail;
    for (int i = 0; rc >= 0 && i < PQntuples(res); i++) {
        rc = ss_hmap_put(&m->codes, PQgetvalue(res, i, 0), strlen(PQgetvalue(res, i, 0)), &v);
        if (rc >= 0) {
            struct ss_ref_merge_code *c = v;
            c->from = day_or(PQgetvalue(res, i, 1), LONG_MIN);
            c->to = day_or(PQgetvalue(res, i, 2), LONG_MAX);
        }
    }
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

enum ss_ref_alias_verdict ss_ref__merge_check(const struct ss_ref_merge *m, const char *alias,
                                              const char *code, char key[SS_REF_KEY_MAX], char *why,
                                              size_t whylen)
{
    why[0] = '\0';
    if (ss_norm_authority_key(alias, strlen(alias), key, SS_REF_KEY_MAX) < 0) {
        snprintf(why, whylen, "\"%s\" normalises to nothing", alias);
        return SS_REF_ALIAS_NO_KEY;
    }
    if (!ss_ref__merge_has_code(m, code)) {
        snprintf(why, whylen, "%s is not in ref.authority", code);
        return SS_REF_ALIAS_UNKNOWN_CODE;
    }
    /* A name may stand for several authorities one after another (the county
     * Somerset until 2023, the unitary after), never for two at once. */
    const struct ss_ref_merge_key *e = ss_hmap_gets(&m->keys, key);
    for (unsigned i = 0; e && i < e->n; i++)
        if (strcmp(e->code[i], code) == 0)
            return SS_REF_ALIAS_KNOWN;
    for (unsigned i = 0; e && i < e->n; i++) {
        if (overlap(m, e->code[i], code) || e->n == MERGE_CODES) {
            snprintf(why, whylen,
                     "\"%s\" would stand for %s, but \"%s\" already stands for %s at the same "
                     "time (both give the key \"%s\")",
                     alias, code, e->alias ? e->alias : "?", e->code[i], key);
            return SS_REF_ALIAS_AMBIGUOUS;
        }
    }
    return SS_REF_ALIAS_NEW;
}

int ss_ref__merge_add(struct ss_ref_merge *m, PGconn *conn, const char *alias, const char *code,
                      const char *origin, char *err, size_t errlen)
{
    char key[SS_REF_KEY_MAX], why[1024];
    switch (ss_ref__merge_check(m, alias, code, key, why, sizeof(why))) {
    case SS_REF_ALIAS_NO_KEY:
    case SS_REF_ALIAS_KNOWN:
        return 0;
    case SS_REF_ALIAS_UNKNOWN_CODE:
        ss_warn("authority alias \"%s\" (%s): %s; alias skipped", alias, origin, why);
        m->unknown_code++;
        return 0;
    case SS_REF_ALIAS_AMBIGUOUS:
        ss_warn("ambiguous authority name (%s): %s; keeping the code it has — fix by hand in "
                "ref.authority_alias if that is wrong",
                origin, why);
        m->ambiguous++;
        return 0;
    case SS_REF_ALIAS_NEW:
        break;
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
