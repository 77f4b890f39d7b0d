/* ss_authmap: see ss_authmap.h. */
#include "ss_authmap.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_date.h"
#include "ss_err.h"
#include "ss_hash.h"
#include "ss_normalise.h"

#define KEY_MAX 128
#define NAME_MAX_BYTES 64
#define OPEN_FROM LONG_MIN
#define OPEN_TO LONG_MAX

/* One GSS code: entry i of m->auths (insertion order, so indices last). */
struct auth {
    char code[10];
    char name[NAME_MAX_BYTES];
    long from, to; /* first and last valid day; OPEN_FROM / OPEN_TO */
};

/* The codes one name stands for: indices into m->auths. */
struct cands {
    uint32_t n;
    uint32_t idx[SS_AUTHMAP_CANDIDATES];
};

struct succ {
    uint32_t old_idx, new_idx;
    long changed_on;
};

struct ss_authmap {
    struct ss_hmap auths; /* code -> struct auth */
    struct ss_hmap keys;  /* alias key -> struct cands */
    struct succ *succ;
    size_t nsucc, succ_cap;
};

struct ss_authmap *ss_authmap_new(void)
{
    struct ss_authmap *m = calloc(1, sizeof(*m));
    if (m) {
        ss_hmap_init(&m->auths, sizeof(struct auth), SS_AUTHMAP_MAX);
        ss_hmap_init(&m->keys, sizeof(struct cands), SS_AUTHMAP_MAX);
    }
    return m;
}

void ss_authmap_free(struct ss_authmap *m)
{
    if (!m)
        return;
    ss_hmap_free(&m->auths);
    ss_hmap_free(&m->keys);
    free(m->succ);
    free(m);
}

/* A day from "YYYY-MM-DD"; empty or NULL gives open. 0 or SS_EINVAL. */
static int parse_day(const char *s, long open, long *out)
{
    struct ss_date d;
    const char *why;
    if (!s || !*s) {
        *out = open;
        return 0;
    }
    if (ss_parse_date(s, strlen(s), &d, &why) < 0)
        return SS_EINVAL;
    *out = ss_date_to_days(d);
    return 0;
}

/* The index of code in m->auths, or -1. */
static long auth_index(const struct ss_authmap *m, const char *code)
{
    const struct auth *a = ss_hmap_gets(&m->auths, code);
    if (!a)
        return -1;
    return (long)(((const char *)a - (const char *)ss_hmap_at(&m->auths, 0)) /
                  (long)sizeof(struct auth));
}

static const struct auth *auth_at(const struct ss_authmap *m, uint32_t i)
{
    return ss_hmap_at(&m->auths, i);
}

int ss_authmap_add(struct ss_authmap *m, const char *code, const char *name, const char *valid_from,
                   const char *valid_to)
{
    long from, to;
    void *v;
    if (strlen(code) != 9 || parse_day(valid_from, OPEN_FROM, &from) < 0 ||
        parse_day(valid_to, OPEN_TO, &to) < 0 || to < from)
        return SS_EINVAL;
    int rc = ss_hmap_put(&m->auths, code, 9, &v);
    if (rc < 0)
        return rc;
    struct auth *a = v;
    memcpy(a->code, code, 10);
    snprintf(a->name, sizeof(a->name), "%s", name && *name ? name : code);
    a->from = from, a->to = to;
    return 0;
}

int ss_authmap_add_successor(struct ss_authmap *m, const char *old_code, const char *new_code,
                             const char *changed_on)
{
    long o = auth_index(m, old_code), n = auth_index(m, new_code), day;
    if (o < 0 || n < 0 || parse_day(changed_on, OPEN_TO, &day) < 0 || day == OPEN_TO)
        return SS_EINVAL;
    if (m->nsucc == m->succ_cap) {
        size_t cap = m->succ_cap ? 2 * m->succ_cap : 32;
        if (cap > SS_AUTHMAP_MAX)
            return SS_E2BIG;
        struct succ *g = realloc(m->succ, cap * sizeof(*g));
        if (!g)
            return SS_ENOMEM;
        m->succ = g, m->succ_cap = cap;
    }
    m->succ[m->nsucc++] = (struct succ){(uint32_t)o, (uint32_t)n, day};
    return 0;
}

int ss_authmap_put(struct ss_authmap *m, const char *key, const char *code)
{
    size_t klen = strlen(key);
    void *v;
    int rc;
    if (strlen(code) != 9 || !klen || klen >= KEY_MAX)
        return SS_EINVAL;
    long i = auth_index(m, code);
    if (i < 0) {
        if ((rc = ss_authmap_add(m, code, NULL, NULL, NULL)) < 0)
            return rc;
        i = auth_index(m, code);
    }
    if (strcmp(key, code) == 0)
        return 0; /* a code is known by itself */
    if ((rc = ss_hmap_put(&m->keys, key, klen, &v)) < 0)
        return rc;
    struct cands *c = v;
    for (uint32_t k = 0; k < c->n; k++)
        if (c->idx[k] == (uint32_t)i)
            return 0;
    if (c->n == SS_AUTHMAP_CANDIDATES)
        return SS_E2BIG;
    c->idx[c->n++] = (uint32_t)i;
    return 0;
}

/* Of a name's codes, the current one, else the one that ended last. */
static const struct auth *latest(const struct ss_authmap *m, const struct cands *c)
{
    const struct auth *best = NULL;
    for (uint32_t k = 0; k < c->n; k++) {
        const struct auth *a = auth_at(m, c->idx[k]);
        if (!best || a->to > best->to)
            best = a;
    }
    return best;
}

const char *ss_authmap_get(const struct ss_authmap *m, const char *key)
{
    const struct auth *a = ss_hmap_gets(&m->auths, key);
    if (a)
        return a->code;
    const struct cands *c = ss_hmap_gets(&m->keys, key);
    return c && c->n ? latest(m, c)->code : NULL;
}

size_t ss_authmap_count(const struct ss_authmap *m)
{
    return ss_hmap_count(&m->auths) + ss_hmap_count(&m->keys);
}

/* ---- resolving at a period ---- */

static int covers(const struct auth *a, const struct ss_authmap_when *w)
{
    return a->from <= w->start && w->end <= a->to;
}

static void day_text(long day, char out[16])
{
    struct ss_date d = ss_days_to_date(day);
    snprintf(out, 16, "%04d-%02d-%02d", d.y, d.m, d.d);
}

/* "E06000066 Somerset, E06000067 X" into out: the successors of a. The
 * number of successors, and in *only the single one. */
static int successors(const struct ss_authmap *m, const struct auth *a, char *out, size_t outlen,
                      const struct auth **only)
{
    size_t o = 0;
    int n = 0;
    out[0] = '\0';
    *only = NULL;
    for (size_t i = 0; i < m->nsucc; i++) {
        const struct auth *old = auth_at(m, m->succ[i].old_idx);
        if (old != a)
            continue;
        const struct auth *s = auth_at(m, m->succ[i].new_idx);
        int w = snprintf(out + o, outlen - o, "%s%s %s", n ? " and " : "", s->code, s->name);
        o = w < 0 || (size_t)w >= outlen - o ? outlen - 1 : o + (size_t)w;
        *only = s;
        n++;
    }
    if (n != 1)
        *only = NULL;
    return n;
}

/* The predecessors of a (as successors() does), for a period before it began. */
static int predecessors(const struct ss_authmap *m, const struct auth *a, char *out, size_t outlen)
{
    size_t o = 0;
    int n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->nsucc; i++) {
        if (auth_at(m, m->succ[i].new_idx) != a)
            continue;
        const struct auth *p = auth_at(m, m->succ[i].old_idx);
        int w = snprintf(out + o, outlen - o, "%s%s %s", n ? " and " : "", p->code, p->name);
        o = w < 0 || (size_t)w >= outlen - o ? outlen - 1 : o + (size_t)w;
        n++;
    }
    return n;
}

/* Why authority a cannot stand for period w (a does not cover it); with
 * SS_AUTHMAP_SUCCESSOR the single successor that does, if there is one. */
static const char *refuse(const struct ss_authmap *m, const struct auth *a,
                          const struct ss_authmap_when *w, enum ss_authmap_abolished abolished,
                          char *why, size_t whylen)
{
    char list[256], from[16], to[16], day[16];
    const struct auth *only;
    day_text(w->start, from);
    day_text(w->end, to);
    if (a->to < w->start) {
        int n = successors(m, a, list, sizeof(list), &only);
        day_text(a->to + 1, day);
        if (abolished == SS_AUTHMAP_SUCCESSOR && only && covers(only, w))
            return only->code;
        if (n == 0)
            snprintf(why, whylen,
                     "%s %s ended on %s, before the record's period %s..%s, and has no recorded "
                     "successor: give the code of the authority of the time",
                     a->code, a->name, day, from, to);
        else if (n == 1)
            snprintf(why, whylen,
                     "%s %s was abolished on %s, before the record's period %s..%s; its successor "
                     "is %s: give its code, or set \"authorities.abolished\": \"successor\"",
                     a->code, a->name, day, from, to, list);
        else
            snprintf(why, whylen,
                     "%s %s was abolished on %s, before the record's period %s..%s; it was split "
                     "between %s: give the code of the one the record is about",
                     a->code, a->name, day, from, to, list);
    } else if (a->from > w->end) {
        day_text(a->from, day);
        int n = predecessors(m, a, list, sizeof(list));
        snprintf(why, whylen,
                 "%s %s began on %s, after the record's period %s..%s%s%s: give the code of the "
                 "authority of the time",
                 a->code, a->name, day, from, to, n ? "; before it: " : "", n ? list : "");
    } else {
        day_text(a->from > w->start ? a->from : a->to + 1, day);
        snprintf(why, whylen,
                 "the record's period %s..%s runs across %s, when %s %s %s: split the record at "
                 "that day",
                 from, to, day, a->code, a->name, a->from > w->start ? "began" : "ended");
    }
    return NULL;
}

/* Of a name's codes, the one to explain a refusal by: one that ended before
 * the period (the latest), else one that began after it, else any. */
static const struct auth *closest(const struct ss_authmap *m, const struct cands *c,
                                  const struct ss_authmap_when *w)
{
    const struct auth *ended = NULL, *later = NULL;
    for (uint32_t k = 0; k < c->n; k++) {
        const struct auth *a = auth_at(m, c->idx[k]);
        if (a->to < w->start && (!ended || a->to > ended->to))
            ended = a;
        else if (a->from > w->end && (!later || a->from < later->from))
            later = a;
    }
    return ended ? ended : later ? later : auth_at(m, c->idx[0]);
}

int ss_authmap_lookup(const struct ss_authmap *m, const char *s, size_t len,
                      struct ss_authmap_hit *hit, char *why, size_t whylen)
{
    char key[KEY_MAX];
    if (ss_norm_gss_code(s, len, key)) {
        hit->entry = ss_hmap_gets(&m->auths, key);
        hit->code = 1;
        if (!hit->entry) {
            snprintf(why, whylen,
                     "is not the GSS code of a known library authority (see ref.authority)");
            return SS_EINVAL;
        }
        return 0;
    }
    if (ss_norm_authority_key(s, len, key, sizeof(key)) < 0) {
        snprintf(why, whylen, "is not an authority name");
        return SS_EINVAL;
    }
    const struct cands *c = ss_hmap_gets(&m->keys, key);
    hit->entry = c;
    hit->code = 0;
    if (!c || c->n == 0) {
        snprintf(why, whylen,
                 "is not a known authority name: add it to ref.authority_alias, or give the GSS "
                 "code");
        return SS_EINVAL;
    }
    return 0;
}

int ss_authmap_dated(const struct ss_authmap *m, const struct ss_authmap_hit *hit)
{
    const struct auth *a = hit->entry;
    if (!hit->code) {
        const struct cands *c = hit->entry;
        if (c->n != 1)
            return 1;
        a = auth_at(m, c->idx[0]);
    }
    return a->from != OPEN_FROM || a->to != OPEN_TO;
}

const char *ss_authmap_pick(const struct ss_authmap *m, const struct ss_authmap_hit *hit,
                            const struct ss_authmap_when *when, enum ss_authmap_abolished abolished,
                            char *why, size_t whylen)
{
    int dated = when && when->have;
    if (hit->code) {
        const struct auth *a = hit->entry;
        return !dated || covers(a, when) ? a->code : refuse(m, a, when, abolished, why, whylen);
    }
    const struct cands *c = hit->entry;
    if (!dated)
        return latest(m, c)->code;
    for (uint32_t k = 0; k < c->n; k++)
        if (covers(auth_at(m, c->idx[k]), when))
            return auth_at(m, c->idx[k])->code;
    return refuse(m, closest(m, c, when), when, abolished, why, whylen);
}

const char *ss_authmap_resolve_at(const struct ss_authmap *m, const char *s, size_t len,
                                  const struct ss_authmap_when *when,
                                  enum ss_authmap_abolished abolished, char *why, size_t whylen)
{
    struct ss_authmap_hit hit;
    if (ss_authmap_lookup(m, s, len, &hit, why, whylen) < 0)
        return NULL;
    return ss_authmap_pick(m, &hit, when, abolished, why, whylen);
}

const char *ss_authmap_resolve(const struct ss_authmap *m, const char *s, size_t len,
                               const char **why)
{
    char buf[8];
    const char *code =
        ss_authmap_resolve_at(m, s, len, NULL, SS_AUTHMAP_QUARANTINE, buf, sizeof(buf));
    if (!code) {
        char key[KEY_MAX];
        if (ss_norm_gss_code(s, len, key))
            *why = "is not the GSS code of a known library authority (see ref.authority)";
        else if (ss_norm_authority_key(s, len, key, sizeof(key)) < 0)
            *why = "is not an authority name";
        else
            *why = "is not a known authority name: add it to ref.authority_alias, or give the "
                   "GSS code";
    }
    return code;
}
