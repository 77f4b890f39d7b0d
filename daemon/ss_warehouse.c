/* ss_warehouse: see ss_warehouse.h. */
#include "ss_warehouse.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_authmap.h"
#include "ss_buf.h"
#include "ss_dataset.h"
#include "ss_date.h"
#include "ss_err.h"
#include "ss_hash.h"
#include "ss_log.h"
#include "ss_pg.h"
#include "ss_secret.h"
#include "ss_validate.h"
#include "ss_whsql.h"
#include "ss_rejects.h"
#include "ss_text.h"

/* A batch is validated and COPYed a part at a time: about this much COPY
 * text (the records that fit, and the one that crosses the line), so the
 * daemon's memory does not grow with the batch. */
#define SS_WH_PART_BYTES ((size_t)1 << 20)
/* The bound on the COPY text of one part: SS_WH_PART_BYTES plus the longest
 * line one record can make (its fields, escaped). A record past it is
 * quarantined ("batch text over its limit"). */
#define SS_WH_COPY_MAX ((size_t)1 << 30)
/* The quarantine lines of one batch (every bad record's reason and raw text). */
#define SS_WH_QUAR_MAX ((size_t)2 << 30)
/* Buffers that grew past this for a big batch are given back after it. */
#define SS_WH_KEEP_BYTES ((size_t)4 << 20)

struct wh_dataset {
    struct ss_whsql sql;            /* its statements and stored columns */
    int cov_auth, cov_from, cov_to; /* columns for ingest.batch_coverage, or -1 */
};

/* The FNV-1a offset basis the key hashes have always used (one digit short
 * of SS_FNV_INIT): kept, because the hashes are stored in ingest.run_keys
 * and a run may span a daemon upgrade. */
#define SS_WH_KEY_HASH_INIT 1469598103934665603ULL
/* The bytes of a natural key a batch's key range keeps (ingest.run_key_sets). */
#define SS_WH_RANGE_KEY 256
/* A batch whose key range meets more key sets of its run than this moves
 * them into ingest.run_keys and probes them there (an export in no order). */
#define SS_WH_SET_PROBES 16
/* The (authority, month) pairs one batch may cover. */
#define SS_WH_MAX_COVERAGE ((size_t)1 << 20)

/* A natural key seen in a batch (the table's key: its 8-byte hash): where,
 * and with which values. */
struct dup {
    uint64_t values;
    uint32_t line;
};

/* An (authority, month) a batch loaded facts for. */
struct cov {
    char auth[16];
    int month; /* year * 12 + month - 1 */
};

/* A record of the part that passed validation: its COPY line in wh->copy,
 * where it starts in the payload (to quarantine it after all), its hashes. */
struct good {
    size_t copy_off, copy_len;
    size_t rec_off;
    uint32_t line;
    uint64_t key, values;
    int drop; /* an earlier batch of the run gave its key */
};

struct ss_wh {
    PGconn *conn;
    struct wh_dataset *sets; /* one per dataset of ss_dataset_all() */
    size_t nsets;
    int prepared;
    struct ss_buf copy; /* COPY text of the good records */
    struct ss_buf quar; /* COPY text of the quarantined ones */
    struct ss_buf raw;  /* scratch for one raw record */
    const char **vals;  /* scratch record arrays, max fields */
    size_t *lens;
    size_t maxf;
    struct ss_authmap *authorities; /* ref.authority and its aliases, by key */
    struct ss_hmap dups;            /* natural keys seen in the batch being applied */
    struct good *goods;             /* the good records of the part being loaded, in order */
    size_t ngoods, goods_cap;
    struct ss_buf keys[3]; /* array literals: key hashes, lines, value hashes; coverage */
    struct ss_buf direct;  /* COPY text of a part going straight into its table */
    /* The least and greatest natural key of the batch (its key columns'
     * COPY text, cut at SS_WH_RANGE_KEY bytes), for ingest.run_key_sets. */
    char kmin[SS_WH_RANGE_KEY], kmax[SS_WH_RANGE_KEY];
    size_t kminlen, kmaxlen;
    int have_range;
    struct ss_hmap cov;        /* the batch's (authority, month) pairs (struct cov), for coverage */
    char auth_generation[64];  /* the ref.meta authorities_generation it was built from */
    struct ss_rejects rejects; /* why the batch being applied quarantined what it did */
};

struct ss_wh *ss_wh_connect(const char *conninfo, const char *password_file, char *err,
                            size_t errlen)
{
    char *password = NULL;
    if (password_file) {
        password = ss_secret_read(password_file, err, errlen);
        if (!password)
            return NULL;
    }
    const char *keys[] = {"dbname", "password", "application_name", "fallback_application_name",
                          NULL};
    const char *vals[] = {conninfo, password, NULL, "shelfsyncd", NULL};
    if (!password) {
        keys[1] = "fallback_application_name";
        vals[1] = "shelfsyncd";
        keys[2] = NULL;
    } else {
        keys[2] = "fallback_application_name";
        vals[2] = "shelfsyncd";
        keys[3] = NULL;
    }
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    ss_secret_free(password);
    if (!conn) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
        err[strcspn(err, "\n")] = '\0';
        PQfinish(conn);
        return NULL;
    }
    struct ss_wh *wh = calloc(1, sizeof(*wh));
    if (!wh) {
        PQfinish(conn);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    wh->conn = conn;
    ss_hmap_init(&wh->dups, sizeof(struct dup), 0);
    ss_hmap_init(&wh->cov, sizeof(struct cov), SS_WH_MAX_COVERAGE);
    ss_buf_init(&wh->copy, SS_WH_COPY_MAX);
    ss_buf_init(&wh->quar, SS_WH_QUAR_MAX);
    ss_buf_init(&wh->raw, 1 << 20);
    ss_buf_init(&wh->direct, SS_WH_COPY_MAX);
    for (int k = 0; k < 3; k++)
        ss_buf_init(&wh->keys[k], (size_t)256 << 20);
    return wh;
}

void ss_wh_free(struct ss_wh *wh)
{
    if (!wh)
        return;
    for (size_t i = 0; i < wh->nsets; i++)
        ss_whsql_free(&wh->sets[i].sql);
    free(wh->sets);
    ss_authmap_free(wh->authorities);
    ss_hmap_free(&wh->dups);
    free(wh->goods);
    ss_hmap_free(&wh->cov);
    for (int k = 0; k < 3; k++)
        ss_buf_free(&wh->keys[k]);
    ss_buf_free(&wh->copy);
    ss_buf_free(&wh->quar);
    ss_buf_free(&wh->raw);
    ss_buf_free(&wh->direct);
    free(wh->vals);
    free(wh->lens);
    PQfinish(wh->conn);
    free(wh);
}

PGconn *ss_wh_conn(struct ss_wh *wh)
{
    return wh->conn;
}

int ss_wh_ok(struct ss_wh *wh)
{
    return wh && PQstatus(wh->conn) == CONNECTION_OK;
}

/* Coverage: the calendar months of each authority the batch loaded facts
 * for, from its count period, else its first key date, else a date every
 * record has, for
 * ingest.batch_coverage (the views' "rests on a partial run"). */
static void coverage_columns(struct wh_dataset *w)
{
    const struct ss_whsql *q = &w->sql;
    w->cov_auth = w->cov_from = w->cov_to = -1;
    for (size_t i = 0; i < q->ncols; i++) {
        int f = q->cols[i].field;
        if (f >= 0 && q->ds->fields[f].type == SS_FT_AUTHORITY && w->cov_auth < 0)
            w->cov_auth = (int)i;
        if (f < 0 && strcmp(q->cols[i].name, "period_start") == 0)
            w->cov_from = (int)i;
        if (f < 0 && strcmp(q->cols[i].name, "period_end") == 0)
            w->cov_to = (int)i;
    }
    for (size_t i = 0; w->cov_from < 0 && i < q->ncols; i++) {
        int f = q->cols[i].field;
        if (f >= 0 && q->cols[i].key && q->cols[i].part == 0 &&
            (q->ds->fields[f].type == SS_FT_DATE || q->ds->fields[f].type == SS_FT_TIMESTAMP))
            w->cov_from = w->cov_to = (int)i;
    }
    /* No date in the key (loan transactions): a date every record has (the
     * issue time), its month as written -- the library's local time, or the
     * date of the offset it was given with (a time given in UTC just after
     * midnight on the 1st, BST, counts in the month before). */
    for (size_t i = 0; w->cov_from < 0 && i < q->ncols; i++) {
        int f = q->cols[i].field;
        if (f >= 0 && (q->ds->fields[f].flags & SS_F_REQUIRED) &&
            (q->ds->fields[f].type == SS_FT_DATE || q->ds->fields[f].type == SS_FT_TIMESTAMP))
            w->cov_from = w->cov_to = (int)i;
    }
}

/* One dataset: its SQL (ss_whsql), its staging table, its coverage columns. */
static int prepare_dataset(struct ss_wh *wh, struct wh_dataset *w, const struct ss_dataset *ds,
                           char *err, size_t errlen)
{
    int rc = ss_whsql_build(&w->sql, ds, err, errlen);
    if (rc < 0 || (rc = ss_pg_exec(wh->conn, w->sql.stage_sql, err, errlen)) < 0)
        return rc;
    coverage_columns(w);
    return 0;
}

int ss_wh_prepare(struct ss_wh *wh, char *err, size_t errlen)
{
    int rc;
    const struct ss_dataset *const *all = ss_dataset_all();

    if ((rc = ss_pg_exec(
             wh->conn,
             "SET client_min_messages = warning;"
             "SET synchronous_commit = on;"
             /* A timestamp without an offset is a library's local time. */
             "SET TimeZone = 'Europe/London';"
             /* Small statements on one batch: compiling them costs more than it saves. */
             "SET jit = off;"
             "CREATE TEMP TABLE IF NOT EXISTS stage_quarantine ON COMMIT DELETE ROWS AS "
             "SELECT line, authority_code, period_start, period_end, reason, raw, fields "
             "FROM ingest.quarantine WITH NO DATA",
             err, errlen)) < 0)
        return rc;
    size_t n = 0;
    while (all[n])
        n++;
    if (!wh->sets && !(wh->sets = calloc(n ? n : 1, sizeof(*wh->sets)))) {
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    wh->maxf = 2;
    for (size_t i = wh->nsets; i < n; i++) {
        struct wh_dataset *w = &wh->sets[wh->nsets++];
        if ((rc = prepare_dataset(wh, w, all[i], err, errlen)) < 0)
            return rc;
        if (all[i]->nfields > wh->maxf)
            wh->maxf = all[i]->nfields;
    }
    wh->vals = calloc(wh->maxf, sizeof(*wh->vals));
    wh->lens = calloc(wh->maxf, sizeof(*wh->lens));
    if (!wh->vals || !wh->lens) {
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    wh->prepared = 1;
    return 0;
}

/* A database failure (rc from ss_pg, msg its text) during what: out says
 * retry (SS_ERETRY) or refused, and the transaction is rolled back.
 * Returns rc. */
static int db_fail(struct ss_wh *wh, int rc, const char *msg, const char *what,
                   struct ss_wh_outcome *out)
{
    char ignored[SS_PROTO_REASON_MAX + 1];
    out->result = rc == SS_ERETRY ? SS_WH_RETRY : SS_WH_REFUSED;
    snprintf(out->reason, sizeof(out->reason), "database error during %s: %.400s", what, msg);
    if (PQstatus(wh->conn) == CONNECTION_OK)
        ss_pg_exec(wh->conn, "ROLLBACK", ignored, sizeof(ignored));
    return rc;
}

/* Runs sql (a COPY ... FROM STDIN) with data, fed to libpq in chunks of
 * SS_WH_COPY_CHUNK. 0, or a negative code (ss_pg) with err, and the error's
 * SQLSTATE in state (6 bytes) unless state is NULL. */
#define SS_WH_COPY_CHUNK ((size_t)256 << 10)
static int run_copy(struct ss_wh *wh, const char *sql, const struct ss_buf *data, char *state,
                    char *err, size_t errlen)
{
    if (state)
        state[0] = '\0';
    int rc = ss_pg_copy_begin(wh->conn, sql, err, errlen);
    if (rc < 0)
        return rc;
    int ok = 1;
    size_t off = 0;
    while (ok && off < data->len) {
        size_t n = data->len - off;
        if (n > SS_WH_COPY_CHUNK)
            n = SS_WH_COPY_CHUNK;
        ok = PQputCopyData(wh->conn, data->data + off, (int)n) == 1;
        off += n;
    }
    if (PQputCopyEnd(wh->conn, ok ? NULL : "client error") != 1)
        ok = 0;
    PGresult *res = PQgetResult(wh->conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = ss_pg_fail(wh->conn, res, err, errlen);
        const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && st)
            snprintf(state, 6, "%s", st);
    } else if (!ok)
        rc = ss_pg_fail(wh->conn, NULL, err, errlen);
    PQclear(res);
    /* Drain, so the connection is usable for ROLLBACK. */
    while (rc < 0 && (res = PQgetResult(wh->conn)))
        PQclear(res);
    return rc;
}

/* Rebuilds the authority map when ref.meta says the reference data changed
 * (one small query per batch). Returns 0, or SS_ERETRY with out filled when
 * the database cannot be asked. A warehouse without reference data yet
 * resolves no authority, and says so in each reject. */
static int refresh_authorities(struct ss_wh *wh, struct ss_wh_outcome *out)
{
    char msg[SS_PROTO_REASON_MAX + 1];
    PGresult *res;
    int rc = ss_pg_query(wh->conn,
                         "SELECT coalesce((SELECT value FROM ref.meta WHERE key = "
                         "'authorities_generation'), '0')",
                         0, NULL, &res, msg, sizeof(msg));
    if (rc < 0) /* no ref schema: nothing resolves */
        return rc == SS_ERETRY ? db_fail(wh, rc, msg, "reading ref.meta", out) : 0;
    const char *gen = PQgetvalue(res, 0, 0);
    if (wh->authorities && strcmp(gen, wh->auth_generation) == 0) {
        PQclear(res);
        return 0;
    }
    snprintf(wh->auth_generation, sizeof(wh->auth_generation), "%s", gen);
    PQclear(res);
    /* Codes first (with their validity), then names and successors, which refer to them. */
    rc = ss_pg_query(wh->conn,
                     "SELECT 'a', code, nice_name, valid_from::text, valid_to::text "
                     "FROM ref.authority "
                     "UNION ALL SELECT 'k', alias_key, code, NULL, NULL FROM ref.authority_alias "
                     "UNION ALL SELECT 's', old_code, new_code, changed_on::text, NULL "
                     "FROM ref.authority_successor ORDER BY 1, 2, 3",
                     0, NULL, &res, msg, sizeof(msg));
    if (rc < 0)
        return rc == SS_ERETRY ? db_fail(wh, rc, msg, "reading ref.authority_alias", out) : 0;
    struct ss_authmap *m = ss_authmap_new();
    int skipped = 0;
    for (int i = 0; m && i < PQntuples(res); i++) {
        const char *kind = PQgetvalue(res, i, 0), *a = PQgetvalue(res, i, 1),
                   *b = PQgetvalue(res, i, 2), *c = PQgetvalue(res, i, 3),
                   *d = PQgetvalue(res, i, 4);
        if (kind[0] == 'a')
            rc = ss_authmap_add(m, a, b, c, d);
        else if (kind[0] == 'k')
            rc = ss_authmap_put(m, a, b);
        else
            rc = ss_authmap_add_successor(m, a, b, c);
        if (rc < 0 && skipped++ == 0)
            ss_warn("authority map: %s \"%.100s\" -> \"%.20s\" left out: %s",
                    kind[0] == 'a'   ? "code"
                    : kind[0] == 'k' ? "name"
                                     : "successor",
                    a, b, ss_strerror(rc));
    }
    PQclear(res);
    if (!m)
        return 0;
    if (skipped > 1)
        ss_warn("authority map: %d names or codes left out in all", skipped);
    ss_authmap_free(wh->authorities);
    wh->authorities = m;
    ss_info("authority map: %zu names and codes (reference data generation %s)",
            ss_authmap_count(m), wh->auth_generation);
    return 0;
}

/* Appends a quarantine COPY line for rec (of dataset ds): line, the
 * authority and period where they can be told (ss_validate_locate, NULL
 * where not), reason, raw text (valid UTF-8, COPY-escaped), and the values
 * by field for a replay (ss_validate_fields, NULL where it cannot hold
 * them). Returns 0 or -1 past the buffer's limit. */
static int quarantine_record(struct ss_wh *wh, const struct ss_dataset *ds,
                             const struct ss_validate_ctx *ctx, const struct ss_prec *rec,
                             const char *reason)
{
    struct ss_buf clean;
    struct ss_validate_where where;
    int located = ss_validate_locate(ds, rec, ctx, &where);
    ss_buf_reset(&wh->raw);
    if (rec->flags & SS_REC_REJECTED) {
        if (rec->nfields > 1 && rec->vals[1])
            ss_buf_add(&wh->raw, rec->vals[1],
                       rec->lens[1] < (1u << 19) ? rec->lens[1] : (1u << 19));
    } else {
        ss_validate_raw(rec, &wh->raw);
    }
    ss_buf_init(&clean, (size_t)4 << 20);
    ss_buf_printf(&wh->quar, "%u\t", rec->line);
    if (located & SS_LOCATED_AUTHORITY)
        ss_buf_printf(&wh->quar, "%s\t", where.authority_code);
    else
        ss_buf_adds(&wh->quar, "\\N\t");
    if (located & SS_LOCATED_PERIOD)
        ss_buf_printf(&wh->quar, "%04d-%02d-%02d\t%04d-%02d-%02d\t", where.from.y, where.from.m,
                      where.from.d, where.to.y, where.to.m, where.to.d);
    else
        ss_buf_adds(&wh->quar, "\\N\t\\N\t");
    ss_utf8_sanitize(&clean, reason, strlen(reason));
    ss_copy_escape(&wh->quar, clean.data ? clean.data : "", clean.len);
    ss_buf_addc(&wh->quar, '\t');
    char why[SS_PROTO_REASON_MAX + 1];
    size_t wl = clean.data ? ss_utf8_cut(clean.data, clean.len, sizeof(why) - 1) : 0;
    memcpy(why, clean.data ? clean.data : "", wl);
    why[wl] = '\0';
    ss_buf_reset(&clean);
    ss_utf8_sanitize(&clean, wh->raw.data ? wh->raw.data : "", wh->raw.len);
    ss_copy_escape(&wh->quar, clean.data ? clean.data : "", clean.len);
    ss_rejects_add(&wh->rejects, rec->line, why, clean.data, clean.len);
    ss_buf_reset(&clean);
    if (ss_validate_fields(rec, &clean) == 0) {
        ss_buf_addc(&wh->quar, '\t');
        ss_copy_escape(&wh->quar, clean.data ? clean.data : "", clean.len);
    } else {
        ss_buf_adds(&wh->quar, "\t\\N");
    }
    ss_buf_free(&clean);
    return ss_buf_addc(&wh->quar, '\n') < 0 ? -1 : 0;
}

/* Empties the key and coverage tables for a batch of n records. */
static void dups_reset(struct ss_wh *wh, size_t n)
{
    ss_hmap_reset(&wh->dups);
    wh->dups.max_entries = n ? n : 1; /* a key per record the header announced */
    ss_hmap_reset(&wh->cov);
    wh->ngoods = 0;
    wh->have_range = 0;
}

/* Room for one more good record. 0 or SS_ENOMEM. */
static int goods_room(struct ss_wh *wh)
{
    if (wh->ngoods < wh->goods_cap)
        return 0;
    size_t n = wh->goods_cap ? wh->goods_cap * 2 : 1024;
    struct good *g = realloc(wh->goods, n * sizeof(*g));
    if (!g)
        return SS_ENOMEM;
    wh->goods = g;
    wh->goods_cap = n;
    return 0;
}

/* After a big batch: give its buffers back, so one big batch does not keep
 * the daemon big. */
static void shrink_buffers(struct ss_wh *wh)
{
    struct ss_buf *bufs[] = {&wh->copy,    &wh->quar,    &wh->keys[0],
                             &wh->keys[1], &wh->keys[2], &wh->direct};
    int freed = 0;
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        if (bufs[i]->cap > SS_WH_KEEP_BYTES) {
            size_t max = bufs[i]->max;
            ss_buf_free(bufs[i]);
            ss_buf_init(bufs[i], max);
            freed = 1;
        }
    if (wh->goods_cap * sizeof(*wh->goods) > SS_WH_KEEP_BYTES) {
        free(wh->goods);
        wh->goods = NULL;
        wh->goods_cap = wh->ngoods = 0;
        freed = 1;
    }
    /* The batch's key tables are kept for the next batch unless a big one
     * grew them (some 64 bytes a key). */
    if (wh->dups.cap * 64 > SS_WH_KEEP_BYTES) {
        ss_hmap_free(&wh->dups);
        freed = 1;
    }
    if (wh->cov.cap * 64 > SS_WH_KEEP_BYTES)
        ss_hmap_free(&wh->cov);
#ifdef __GLIBC__
    /* glibc keeps freed heap memory for the next allocation; after a big
     * batch, hand it back to the system. */
    if (freed)
        malloc_trim(0);
#endif
}

/* The natural-key and other-values hashes of a validated COPY line
 * ("ord\tcol\tcol...\n"): the same key means the same fact. */
static void line_hashes(const struct wh_dataset *w, const char *text, size_t len, uint64_t *key,
                        uint64_t *values, char *rk, size_t *rklen)
{
    uint64_t k = SS_WH_KEY_HASH_INIT, v = k;
    size_t r = 0;
    const char *p = memchr(text, '\t', len), *end = text + len - 1; /* skip ord and '\n' */
    for (size_t c = 0; p && p < end && c < w->sql.ncols; c++) {
        const char *start = p + 1, *tab = memchr(start, '\t', (size_t)(end - start));
        const char *stop = tab ? tab : end;
        if (w->sql.cols[c].key) {
            size_t n = (size_t)(stop - start);
            k = ss_fnv1a(ss_fnv1a(k, start, n), "\t", 1);
            if (r + n + 1 > SS_WH_RANGE_KEY)
                n = r < SS_WH_RANGE_KEY - 1 ? SS_WH_RANGE_KEY - 1 - r : 0;
            memcpy(rk + r, start, n);
            r += n;
            if (r < SS_WH_RANGE_KEY)
                rk[r++] = '\t';
        } else
            v = ss_fnv1a(ss_fnv1a(v, start, (size_t)(stop - start)), "\t", 1);
        p = tab;
    }
    /* Stored as a signed bigint; never 0, as it always was. */
    *key = k ? k : 1;
    *values = v;
    *rklen = r;
}

/* Byte order, then length: how PostgreSQL orders bytea. */
static int range_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* Widens the batch's key range to take in rk. */
static void range_note(struct ss_wh *wh, const char *rk, size_t n)
{
    if (!wh->have_range || range_cmp(rk, n, wh->kmin, wh->kminlen) < 0) {
        memcpy(wh->kmin, rk, n);
        wh->kminlen = n;
    }
    if (!wh->have_range || range_cmp(rk, n, wh->kmax, wh->kmaxlen) > 0) {
        memcpy(wh->kmax, rk, n);
        wh->kmaxlen = n;
    }
    wh->have_range = 1;
}

/* A range key as a bytea literal ("\\x" and hex) in out (2 * n + 3 bytes). */
static void range_hex(char *out, const char *k, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    *out++ = '\\';
    *out++ = 'x';
    for (size_t i = 0; i < n; i++) {
        *out++ = hex[(unsigned char)k[i] >> 4];
        *out++ = hex[(unsigned char)k[i] & 15];
    }
    *out = '\0';
}

/* The reason a record repeating a key of an earlier one (in this batch or
 * an earlier batch of the run) is quarantined: the same fact twice, or two
 * different values for one fact, are both for the source to sort out. The
 * text names only lines, so it is the same whatever the batch boundaries. */
static void repeat_reason(char *reason, size_t len, const struct wh_dataset *w, uint32_t line,
                          uint32_t first, int same)
{
    if (same)
        snprintf(reason, len, "line %u repeats line %u exactly (same %.300s): not loaded twice",
                 line, first, w->sql.keys);
    else
        snprintf(reason, len,
                 "line %u has the same %.300s as line %u but different values: kept line %u, "
                 "which is right is for the source to say",
                 line, w->sql.keys, first, first);
}

/* Looks the record's key up among the batch's earlier records. Returns 0
 * for a new key (remembered), 1 with a reason for a repeat, or a negative
 * code from ss_hmap_put. */
static int batch_duplicate(struct ss_wh *wh, const struct wh_dataset *w, uint64_t key,
                           uint64_t values, uint32_t line, char *reason, size_t reasonlen)
{
    void *v;
    int rc = ss_hmap_put(&wh->dups, &key, sizeof(key), &v);
    if (rc < 0)
        return rc;
    struct dup *d = v;
    if (rc == 1) {
        *d = (struct dup){values, line};
        return 0;
    }
    repeat_reason(reason, reasonlen, w, line, d->line, d->values == values);
    return 1;
}

static int authority_allowed(const struct ss_wh_limits *limits, const char *code)
{
    for (size_t i = 0; i < limits->nauthorities; i++)
        if (strcmp(limits->authorities[i], "*") == 0 || strcmp(limits->authorities[i], code) == 0)
            return 1;
    return 0;
}

/* The sender's key may write only some authorities: every record whose
 * authority resolves must name one of them. Checked on the raw record, so
 * a record that fails validation for another reason cannot slip a foreign
 * authority into the quarantine either; a name that does not resolve is
 * left to validation (quarantined as unknown). 0, or SS_EINVAL with out
 * filled (refused, forbidden). */
static int check_authority(struct ss_wh *wh, const struct ss_dataset *ds, const struct ss_prec *rec,
                           const struct ss_wh_limits *limits, struct ss_wh_outcome *out)
{
    int have_field = 0;
    if (!limits->authorities || (rec->flags & SS_REC_REJECTED))
        return 0;
    for (size_t i = 0; i < ds->nfields; i++) {
        if (ds->fields[i].type != SS_FT_AUTHORITY)
            continue;
        have_field = 1;
        if (i >= rec->nfields)
            continue; /* validation quarantines it */
        const char *s = rec->vals[i], *code;
        char why[320];
        size_t len = rec->lens[i];
        if (!s)
            continue;
        ss_trim(&s, &len);
        /* The code the record will get: the authority as at its dates. */
        struct ss_authmap_when when = {0};
        struct ss_authmap_hit hit;
        code = NULL;
        if (wh->authorities &&
            ss_authmap_lookup(wh->authorities, s, len, &hit, why, sizeof(why)) == 0) {
            if (ss_authmap_dated(wh->authorities, &hit))
                ss_validate_when(ds, rec, &when);
            code =
                ss_authmap_pick(wh->authorities, &hit, &when, limits->abolished, why, sizeof(why));
        }
        if (!code || authority_allowed(limits, code))
            continue;
        out->result = SS_WH_REFUSED;
        out->forbidden = 1;
        snprintf(out->reason, sizeof(out->reason),
                 "line %u: authority \"%.*s\" (%s) is not one this collector's key may write: "
                 "nothing of the batch was loaded",
                 rec->line, (int)(len < 100 ? len : 100), s, code);
        return SS_EINVAL;
    }
    if (!have_field && !authority_allowed(limits, "*")) {
        /* Nothing to check against: a restricted key may not write it. */
        out->result = SS_WH_REFUSED;
        out->forbidden = 1;
        snprintf(out->reason, sizeof(out->reason),
                 "dataset \"%s\" has no authority field: only a key allowed every authority "
                 "(*) may write it",
                 ds->name);
        return SS_EINVAL;
    }
    return 0;
}

/* Column col (0-based, in stored column order) of a COPY line
 * ("ord\tc0\tc1...\n"): sets *v and *n and returns 0, or SS_EINVAL if the
 * line has no such column. */
static int copy_column(const char *text, size_t len, int col, const char **v, size_t *n)
{
    const char *end = text + len - 1, *p = memchr(text, '\t', len);
    for (int c = 0; p && c < col; c++)
        p = memchr(p + 1, '\t', (size_t)(end - p - 1));
    if (!p)
        return SS_EINVAL;
    const char *stop = memchr(p + 1, '\t', (size_t)(end - p - 1));
    *v = p + 1;
    *n = (size_t)((stop ? stop : end) - *v);
    return 0;
}

/* "YYYY-MM..." (a COPY date or timestamp) as year * 12 + month - 1, or -1
 * if none (not such a date). */
static int month_index(const char *v, size_t n)
{
    int y, m;
    if (n < 7 || v[4] != '-' || ss_digits(v, 4, &y) < 0 || ss_digits(v + 5, 2, &m) < 0 || m < 1 ||
        m > 12)
        return -1;
    return y * 12 + m - 1;
}

/* 0, or a negative code from ss_hmap_put (SS_E2BIG past SS_WH_MAX_COVERAGE). */
static int cov_add(struct ss_wh *wh, const char *auth, size_t alen, int month)
{
    char key[sizeof(((struct cov *)0)->auth) + sizeof(int)];
    void *v;
    memcpy(key, auth, alen);
    memcpy(key + alen, &month, sizeof(month));
    int rc = ss_hmap_put(&wh->cov, key, alen + sizeof(month), &v);
    if (rc == 1) {
        struct cov *c = v;
        memcpy(c->auth, auth, alen);
        c->auth[alen] = '\0';
        c->month = month;
    }
    return rc < 0 ? rc : 0;
}

/* Notes the calendar months of the record's authority its period (or
 * date) falls in. A GSS code is 9 characters; anything else is not noted. */
static int note_coverage(struct ss_wh *wh, const struct wh_dataset *w, const char *text, size_t len)
{
    const char *a, *f, *t;
    size_t an, fn, tn;
    if (w->cov_auth < 0 || w->cov_from < 0 || copy_column(text, len, w->cov_auth, &a, &an) < 0 ||
        copy_column(text, len, w->cov_from, &f, &fn) < 0 ||
        copy_column(text, len, w->cov_to, &t, &tn) < 0 || an == 0 || an >= 16 ||
        memchr(a, '\\', an))
        return 0;
    int from = month_index(f, fn), to = month_index(t, tn);
    if (from < 0 || to < from)
        return 0;
    if (to - from > 1200)
        to = from + 1200;
    for (int m = from; m <= to; m++) {
        int rc = cov_add(wh, a, an, m);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One batch on its way in: what the steps of ss_wh_apply share. */
struct apply {
    struct ss_wh *wh;
    const struct ss_header *h;
    const struct wh_dataset *w;
    const void *payload;
    size_t len;
    const struct ss_wh_limits *limits;
    struct ss_wh_outcome *out;
    uint32_t good, bad;
    struct ss_payload_reader rd; /* where the batch has been read to */
    struct ss_validate_ctx vctx;
    uint32_t n;       /* records read */
    int keys_stored;  /* this batch's keys went to ingest.run_key_sets */
    int keys_indexed; /* some keys of the run are in ingest.run_keys */
    int direct;       /* its parts go straight into the table: 0 not known yet, 1 yes, -1 no */
    size_t probed;    /* its (authority, month) pairs the direct forecast has asked about */
    int claimed;      /* claim_dataset has run */
    int staged;       /* a part went to staging (the upsert has rows) */
    uint32_t copied;  /* good records COPYed straight into the table */
    int run_done;     /* every batch of an ended run is in */
    char run_ref[24], batch_id[24];
    const char *what; /* the step under way, named in a database error */
    char msg[SS_PROTO_REASON_MAX + 1];
    const struct ss_wh_hooks *hooks; /* NULL: none */
};

/* A refusal or a retry decided here, not by the database: rc (SS_EINVAL:
 * refused, SS_ERETRY: retry) with the reason in out. Returns rc. */
static int apply_stop(struct apply *a, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int apply_stop(struct apply *a, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->out->reason, sizeof(a->out->reason), fmt, ap);
    va_end(ap);
    a->out->result = rc == SS_ERETRY ? SS_WH_RETRY : SS_WH_REFUSED;
    return rc;
}

/* A statement of the batch's transaction; on failure the transaction is
 * rolled back and out says why. 0 or a negative code. */
static int tx_exec(struct apply *a, const char *sql, int n, const char *const *params)
{
    int rc = ss_pg_exec_params(a->wh->conn, sql, n, params, a->msg, sizeof(a->msg));
    return rc < 0 ? db_fail(a->wh, rc, a->msg, a->what, a->out) : 0;
}

/* As tx_exec, for a statement whose rows are wanted (exactly nrows if
 * nrows >= 0): *res to PQclear. */
static int tx_query(struct apply *a, const char *sql, int n, const char *const *params, int nrows,
                    PGresult **res)
{
    int rc = ss_pg_query(a->wh->conn, sql, n, params, res, a->msg, sizeof(a->msg));
    if (rc == 0 && nrows >= 0 && PQntuples(*res) != nrows) {
        snprintf(a->msg, sizeof(a->msg), "%d rows, not %d", PQntuples(*res), nrows);
        PQclear(*res);
        *res = NULL;
        rc = SS_EINVAL;
    }
    return rc < 0 ? db_fail(a->wh, rc, a->msg, a->what, a->out) : 0;
}

/* The batch's (authority, month) pairs from the from'th on, as two array
 * literals in wh->keys[0] (text[]) and wh->keys[1] (date[]). 0, or
 * SS_E2BIG / SS_ENOMEM. */
static int cov_arrays(struct ss_wh *wh, size_t from)
{
    struct ss_buf *auths = &wh->keys[0], *months = &wh->keys[1];
    int rc = 0;
    ss_buf_reset(auths);
    ss_buf_reset(months);
    ss_buf_addc(auths, '{');
    ss_buf_addc(months, '{');
    int first = 1;
    for (size_t i = from; rc == 0 && i < ss_hmap_count(&wh->cov); i++) {
        const struct cov *c = ss_hmap_at(&wh->cov, i);
        int y = c->month / 12, m = c->month % 12 + 1;
        if ((rc = ss_buf_printf(auths, "%s\"%s\"", first ? "" : ",", c->auth)) == 0)
            rc = ss_buf_printf(months, "%s%04d-%02d-01", first ? "" : ",", y, m);
        first = 0;
    }
    if (rc == 0 && (rc = ss_buf_addc(auths, '}')) == 0)
        rc = ss_buf_addc(months, '}');
    return rc;
}

/* Step 5b: the months per authority the batch's facts fall in. */
static int write_coverage(struct apply *a)
{
    struct ss_wh *wh = a->wh;
    int rc = cov_arrays(wh, 0);
    if (rc < 0)
        return db_fail(wh, rc, "the coverage arrays are over their limit", a->what, a->out);
    return tx_exec(
        a,
        "INSERT INTO ingest.batch_coverage (batch_id, dataset, authority_code, "
        "month) SELECT $1::bigint, $2, a, m FROM unnest($3::text[], $4::date[]) "
        "AS u(a, m) ON CONFLICT DO NOTHING",
        4, (const char *[]){a->batch_id, a->w->sql.ds->name, wh->keys[0].data, wh->keys[1].data});
}

/* The part's good keys, lines and value hashes (of the records still kept)
 * as three array literals (wh->keys[0..2]). 0, or SS_E2BIG / SS_ENOMEM. */
static int key_arrays(struct ss_wh *wh)
{
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        ss_buf_reset(&wh->keys[k]);
        ss_buf_addc(&wh->keys[k], '{');
    }
    int first = 1;
    for (size_t i = 0; rc == 0 && i < wh->ngoods; i++) {
        if (wh->goods[i].drop)
            continue;
        const char *sep = first ? "" : ",";
        first = 0;
        if ((rc = ss_buf_printf(&wh->keys[0], "%s%lld", sep, (long long)wh->goods[i].key)) < 0 ||
            (rc = ss_buf_printf(&wh->keys[1], "%s%u", sep, wh->goods[i].line)) < 0)
            break;
        rc = ss_buf_printf(&wh->keys[2], "%s%lld", sep, (long long)wh->goods[i].values);
    }
    for (int k = 0; rc == 0 && k < 3; k++)
        rc = ss_buf_addc(&wh->keys[k], '}');
    return rc;
}

/* A good record that repeats a key an earlier batch of the run gave (at
 * line first, with the same values or not): quarantined instead. Its
 * record is read again from the payload at its offset -- only these few
 * records, for their raw text. 0, or a negative code. */
static int take_repeat(struct apply *a, struct good *g, uint32_t first, int same)
{
    struct ss_wh *wh = a->wh;
    struct ss_prec rec = {.vals = wh->vals, .lens = wh->lens};
    struct ss_payload_reader rd;
    char reason[SS_PROTO_REASON_MAX + 1];
    ss_payload_reader_init(&rd, (const char *)a->payload + g->rec_off, a->len - g->rec_off,
                           wh->maxf, a->limits->max_field_bytes);
    if (ss_payload_next(&rd, &rec, reason, sizeof(reason)) != 1)
        return 0; /* read once already: cannot happen */
    repeat_reason(reason, sizeof(reason), a->w, g->line, first, same);
    if (quarantine_record(wh, a->w->sql.ds, &a->vctx, &rec, reason) < 0)
        return apply_stop(a, SS_EINVAL, "quarantine text over its limit");
    g->drop = 1;
    a->good--;
    a->bad++;
    return 0;
}

/* Closes the gaps the dropped records leave in the COPY text. */
static void compact_copy(struct ss_wh *wh)
{
    size_t at = 0;
    for (size_t i = 0; i < wh->ngoods; i++) {
        struct good *g = &wh->goods[i];
        if (g->drop)
            continue;
        memmove(wh->copy.data + at, wh->copy.data + g->copy_off, g->copy_len);
        at += g->copy_len;
    }
    wh->copy.len = at;
    wh->copy.data[at] = '\0';
}

/* Step 4: a key an earlier batch of the same run loaded. The run's keys are
 * in ingest.run_keys (with the line that gave each); a later record with
 * one of them is quarantined, never applied over it -- so the outcome of
 * loading an export does not depend on where its batches end, nor on how
 * often it is loaded. Then this batch's keys join them, unless no batch of
 * the run can follow (its last, or a run of one batch). 0, or a negative
 * code with out filled. */
static int run_duplicates(struct apply *a)
{
    struct ss_wh *wh = a->wh;
    const struct ss_header *h = a->h;
    char lo[2 * SS_WH_RANGE_KEY + 3], hi[2 * SS_WH_RANGE_KEY + 3];
    PGresult *res;
    uint32_t before = a->good;
    int rc;

    if (wh->ngoods == 0 || h->seq == 1)
        return 0;
    a->what = "the run's duplicate check";
    range_hex(lo, wh->kmin, wh->kminlen);
    range_hex(hi, wh->kmax, wh->kmaxlen);
    const char *sets[] = {a->run_ref, a->batch_id, lo, hi};
    /* An export in no order meets many of its run's key sets: those go
     * into ingest.run_keys, to be probed by its index from now on. */
    if ((rc = tx_query(a,
                       "SELECT count(*) FROM ingest.run_key_sets WHERE run_ref = $1::bigint AND "
                       "batch_id <> $2::bigint AND min_key <= $4::bytea AND max_key >= $3::bytea",
                       4, sets, 1, &res)) < 0)
        return rc;
    long meets = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (meets > SS_WH_SET_PROBES) {
        if ((rc = tx_exec(a,
                          "WITH m AS (DELETE FROM ingest.run_key_sets WHERE run_ref = $1::bigint "
                          "AND batch_id <> $2::bigint AND min_key <= $4::bytea AND max_key >= "
                          "$3::bytea RETURNING key_hash, line, values_hash), i AS (INSERT INTO "
                          "ingest.run_keys (run_ref, key_hash, line, values_hash) SELECT "
                          "$1::bigint, k, l, v FROM m, unnest(m.key_hash, m.line, m.values_hash) "
                          "AS u(k, l, v) ON CONFLICT (run_ref, key_hash) DO NOTHING) UPDATE "
                          "ingest.runs SET keys_indexed = true WHERE run_ref = $1::bigint AND NOT "
                          "keys_indexed",
                          4, sets)) < 0)
            return rc;
        if (!a->keys_indexed)
            ss_info("%s batch %s (%s %u): its keys meet %ld key sets of its run (an export in "
                    "no order): the run's keys are probed in ingest.run_keys from now on",
                    a->w->sql.ds->name, a->batch_id, h->source, h->seq, meets);
        a->keys_indexed = 1;
    }
    if ((rc = key_arrays(wh)) < 0)
        return db_fail(wh, rc, "the key arrays are over their limit", a->what, a->out);
    /* One statement: the part's keys (as arrays) against the key sets of
     * the run whose range meets the batch's (read whole: a few batches of
     * an export in order), and -- once some went there -- against
     * ingest.run_keys. That probe is a LATERAL subquery with LIMIT 1 so
     * that it stays a probe of the primary key per key: without the LIMIT
     * the planner flattens it into a hash join that reads every key of the
     * run for every batch. */
    const char *params[] = {a->run_ref,
                            a->batch_id,
                            lo,
                            hi,
                            wh->keys[0].data,
                            wh->keys[1].data,
                            wh->keys[2].data,
                            a->keys_indexed ? "t" : "f"};
    if ((rc = tx_query(a,
                       "WITH s AS (SELECT * FROM unnest($5::bigint[], $6::bigint[], "
                       "$7::bigint[]) WITH ORDINALITY AS u(key_hash, line, values_hash, ord)), "
                       "e AS (SELECT x.k, x.l, x.v FROM ingest.run_key_sets r CROSS JOIN LATERAL "
                       "unnest(r.key_hash, r.line, r.values_hash) AS x(k, l, v) WHERE r.run_ref = "
                       "$1::bigint AND r.batch_id <> $2::bigint AND r.min_key <= $4::bytea AND "
                       "r.max_key >= $3::bytea) "
                       "SELECT s.ord - 1, e.l, e.v = s.values_hash FROM s JOIN e ON e.k = "
                       "s.key_hash UNION ALL SELECT s.ord - 1, k.line, k.values_hash = "
                       "s.values_hash FROM s CROSS JOIN LATERAL (SELECT line, values_hash FROM "
                       "ingest.run_keys WHERE run_ref = $1::bigint AND key_hash = s.key_hash "
                       "LIMIT 1) AS k WHERE $8::boolean",
                       8, params, -1, &res)) < 0)
        return rc;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        size_t ord = (size_t)strtoull(PQgetvalue(res, i, 0), NULL, 10);
        if (ord >= wh->ngoods || wh->goods[ord].drop)
            continue;
        rc = take_repeat(a, &wh->goods[ord], (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10),
                         PQgetvalue(res, i, 2)[0] == 't');
    }
    PQclear(res);
    if (rc < 0) {
        ss_pg_exec(wh->conn, "ROLLBACK", a->msg, sizeof(a->msg));
        return rc;
    }
    if (a->good != before)
        compact_copy(wh);
    return 0;
}

/* The part's kept keys for the run's later batches, unless none can
 * follow: one ingest.run_key_sets row for the batch (each later part adds
 * its keys to it) with the batch's key range. 0 or a negative code. */
static int store_key_set(struct apply *a)
{
    struct ss_wh *wh = a->wh;
    char lo[2 * SS_WH_RANGE_KEY + 3], hi[2 * SS_WH_RANGE_KEY + 3];
    int rc;
    if (a->h->last || !wh->ngoods || !wh->have_range)
        return 0;
    a->what = "the run's keys";
    if ((rc = key_arrays(wh)) < 0)
        return db_fail(wh, rc, "the key arrays are over their limit", a->what, a->out);
    range_hex(lo, wh->kmin, wh->kminlen);
    range_hex(hi, wh->kmax, wh->kmaxlen);
    const char *params[] = {
        a->run_ref, a->batch_id, wh->keys[0].data, wh->keys[1].data, wh->keys[2].data, lo, hi};
    if ((rc = tx_exec(a,
                      "INSERT INTO ingest.run_key_sets AS s (run_ref, batch_id, key_hash, line, "
                      "values_hash, min_key, max_key) VALUES ($1, $2, $3, $4, $5, $6, $7) ON "
                      "CONFLICT (run_ref, batch_id) DO UPDATE SET key_hash = s.key_hash || "
                      "EXCLUDED.key_hash, line = s.line || EXCLUDED.line, values_hash = "
                      "s.values_hash || EXCLUDED.values_hash, min_key = least(s.min_key, "
                      "EXCLUDED.min_key), max_key = greatest(s.max_key, EXCLUDED.max_key)",
                      7, params)) < 0)
        return rc;
    a->keys_stored = 1;
    return 0;
}

/* Step 1: what the header says is checked against the limits and the
 * dataset before anything else. 0, or SS_EINVAL with out refused. */
static int check_header(struct apply *a)
{
    const struct ss_header *h = a->h;
    struct ss_wh *wh = a->wh;
    for (size_t i = 0; i < wh->nsets; i++)
        if (strcmp(wh->sets[i].sql.ds->name, h->dataset) == 0)
            a->w = &wh->sets[i];
    if (!a->w)
        return apply_stop(a, SS_EINVAL, "unknown dataset \"%s\"", h->dataset);
    if (h->records > a->limits->max_records)
        return apply_stop(a, SS_EINVAL, "%u records, more than the %zu allowed", h->records,
                          a->limits->max_records);
    const struct ss_dataset *ds = a->w->sql.ds;
    /* An older collector may not send the fields added since (SS_F_ADDED). */
    if (h->fields > ds->nfields || h->fields < ss_dataset_min_fields(ds))
        return apply_stop(a, SS_EINVAL,
                          "records of %u fields, dataset \"%s\" has %zu (collector and daemon "
                          "disagree on the dataset definition)",
                          h->fields, ds->name, ds->nfields);
    return 0;
}

/* Step 2's verdict on one record that passed ss_validate_record (its COPY
 * line at mark in wh->copy): kept as a good record, or -- repeating a key
 * earlier in the batch -- 1 with a reason. 0, 1, or a negative code
 * (SS_ENOMEM; SS_E2BIG past a table's bound). */
static int keep_good(struct apply *a, const struct ss_prec *rec, size_t mark, size_t rec_off,
                     char *reason, size_t reasonlen)
{
    struct ss_wh *wh = a->wh;
    const char *line = wh->copy.data + mark;
    size_t n = wh->copy.len - mark;
    uint64_t key, values;
    char rk[SS_WH_RANGE_KEY];
    size_t rklen;
    line_hashes(a->w, line, n, &key, &values, rk, &rklen);
    int rc = batch_duplicate(wh, a->w, key, values, rec->line, reason, reasonlen);
    if (rc != 0 || (rc = goods_room(wh)) < 0)
        return rc;
    wh->goods[wh->ngoods++] = (struct good){mark, n, rec_off, rec->line, key, values, 0};
    range_note(wh, rk, rklen);
    return note_coverage(wh, a->w, line, n);
}

/* Step 2, before the transaction opens: the reference data is current, the
 * batch's tables are empty, its reading starts. 0, or SS_ERETRY with out
 * filled. */
static int start_batch(struct apply *a)
{
    struct ss_wh *wh = a->wh;
    int rc = refresh_authorities(wh, a->out);
    if (rc < 0)
        return rc;
    a->vctx.authorities = wh->authorities;
    a->vctx.abolished = a->limits->abolished;
    /* A batch's as_of ("YYYY-MM-DD", maybe with a time) dates the records
     * that give no date of their own, for their authority. */
    struct ss_date d;
    const char *why;
    a->vctx.batch_when.have = 0;
    if (strlen(a->h->as_of) >= 10 && ss_parse_date(a->h->as_of, 10, &d, &why) == 0)
        a->vctx.batch_when = (struct ss_authmap_when){1, ss_date_to_days(d), ss_date_to_days(d)};
    ss_buf_reset(&wh->quar);
    dups_reset(wh, a->h->records);
    ss_payload_reader_init(&a->rd, a->payload, a->len, wh->maxf, a->limits->max_field_bytes);
    return 0;
}

/* Step 2 on one record: a good one becomes a COPY line (wh->copy) and a
 * struct good; a bad one, or one repeating a key earlier in the batch, a
 * quarantine line (wh->quar). 0, or a negative code with out filled: a
 * record for an authority the sender may not write refuses the batch. */
static int validate_one(struct apply *a, const struct ss_prec *rec, size_t rec_off)
{
    struct ss_wh *wh = a->wh;
    char reason[SS_PROTO_REASON_MAX + 1];
    size_t mark = wh->copy.len;
    int rc;

    if (check_authority(wh, a->w->sql.ds, rec, a->limits, a->out) < 0)
        return SS_EINVAL;
    if (ss_buf_printf(&wh->copy, "%u\t", a->n) < 0) {
        snprintf(reason, sizeof(reason), "batch text over its limit");
    } else if (ss_validate_record(a->w->sql.ds, rec, &a->vctx, &wh->copy, reason, sizeof(reason)) ==
               0) {
        rc = keep_good(a, rec, mark, rec_off, reason, sizeof(reason));
        if (rc == SS_E2BIG)
            return apply_stop(a, SS_EINVAL,
                              "line %u: the batch covers more than %zu (authority, month) "
                              "pairs: send smaller batches",
                              rec->line, (size_t)SS_WH_MAX_COVERAGE);
        if (rc < 0)
            return apply_stop(a, SS_ERETRY, "out of memory");
        if (rc == 0)
            return 0;
    }
    wh->copy.len = mark;
    if (wh->copy.data)
        wh->copy.data[mark] = '\0';
    if (quarantine_record(wh, a->w->sql.ds, &a->vctx, rec, reason) < 0)
        return apply_stop(a, SS_EINVAL, "quarantine text over its limit");
    a->bad++;
    return 0;
}

/* A record from an older collector, without the fields added to the
 * dataset since (SS_F_ADDED, all at the end): those are absent. rec's
 * arrays have room for every field of the widest dataset. */
static void pad_record(const struct ss_dataset *ds, struct ss_prec *rec)
{
    if ((rec->flags & SS_REC_REJECTED) || rec->nfields >= ds->nfields ||
        rec->nfields < ss_dataset_min_fields(ds))
        return;
    for (size_t i = rec->nfields; i < ds->nfields; i++) {
        rec->vals[i] = NULL;
        rec->lens[i] = 0;
    }
    rec->nfields = ds->nfields;
}

/* Step 2 for the next part of the batch: records are read (each once),
 * checked and converted until their COPY text passes SS_WH_PART_BYTES.
 * Returns 0 with a part to load and more to read, 1 with the last part (the
 * payload read to its end and its count checked), or a negative code with
 * out filled: a malformed payload refuses the whole batch. */
static int validate_part(struct apply *a)
{
    struct ss_wh *wh = a->wh;
    const struct ss_header *h = a->h;
    struct ss_prec rec = {.vals = wh->vals, .lens = wh->lens};
    char reason[SS_PROTO_REASON_MAX + 1];
    int r, rc;

    ss_buf_reset(&wh->copy);
    wh->ngoods = 0;
    for (;;) {
        size_t rec_off = (size_t)(a->rd.p - (const unsigned char *)a->payload);
        if ((r = ss_payload_next(&a->rd, &rec, reason, sizeof(reason))) != 1)
            break;
        if (++a->n > h->records)
            break;
        pad_record(a->w->sql.ds, &rec);
        if ((rc = validate_one(a, &rec, rec_off)) < 0)
            return rc;
        if (wh->copy.len >= SS_WH_PART_BYTES)
            return 0;
    }
    if (r < 0)
        return apply_stop(a, SS_EINVAL, "malformed payload: %.480s", reason);
    if (a->n != h->records || a->rd.p != a->rd.end)
        return apply_stop(a, SS_EINVAL, "header says %u records, payload holds %s%u", h->records,
                          a->n > h->records ? "more than " : "",
                          a->n > h->records ? h->records : a->n);
    return 1;
}

/* A duplicate's reject summary, as the quarantine holds it now (its ack
 * may have been lost with the summary): the records the batch last carried.
 * Best effort: without it the ack still carries the counts. */
static void rejects_again(struct apply *a, const char *batch_id)
{
    PGresult *res;
    char msg[256];
    if (ss_pg_query(a->wh->conn,
                    "SELECT line, reason, raw FROM ingest.quarantine WHERE batch_id = $1 AND "
                    "resolution IS NULL "
                    "ORDER BY line, quarantine_id LIMIT 100000",
                    1, (const char *[]){batch_id}, &res, msg, sizeof(msg)) < 0) {
        ss_warn("batch %s: cannot read its quarantine again for the ack: %s", batch_id, msg);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++)
        ss_rejects_add(&a->wh->rejects, (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10),
                       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                       (size_t)PQgetlength(res, i, 2));
    PQclear(res);
}

/* Step 3: the run's row first -- locked until COMMIT, so the batches of one
 * run are applied one after another, whichever daemon has them -- then the
 * batch ledger, where a batch seen before is a duplicate. Opens the
 * transaction. 0, 1 for a duplicate (rolled back, out filled), or a
 * negative code. */
static int record_batch(struct apply *a)
{
    const struct ss_header *h = a->h;
    char seqs[16], recs[16];
    PGresult *res;
    int rc;

    a->what = "BEGIN";
    if ((rc = tx_exec(a, "BEGIN", 0, NULL)) < 0)
        return rc;
    a->what = "the batch ledger";
    /* Whether this batch's keys are kept for the run's later batches is
     * known once it is read: commit_batch says. */
    const char *hold = "f";
    if ((rc = tx_query(
             a,
             "INSERT INTO ingest.runs AS r (source, run_id, dataset, batches_received, "
             "keys_held) VALUES ($1, $2, $3, 1, $4) ON CONFLICT (source, run_id) DO "
             "UPDATE SET batches_received = r.batches_received + 1, keys_held = "
             "r.keys_held OR EXCLUDED.keys_held RETURNING run_ref, keys_indexed, (ended_at IS NOT "
             "NULL AND batches_received + coalesce(batches_refused, 0) >= "
             "coalesce(batches_sent, 0))",
             4, (const char *[]){h->source, h->run_id, h->dataset, hold}, 1, &res)) < 0)
        return rc;
    snprintf(a->run_ref, sizeof(a->run_ref), "%s", PQgetvalue(res, 0, 0));
    a->keys_indexed = PQgetvalue(res, 0, 1)[0] == 't';
    a->run_done = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    snprintf(seqs, sizeof(seqs), "%u", h->seq);
    snprintf(recs, sizeof(recs), "%u", h->records);
    const char *ledger[] = {h->source,
                            h->run_id,
                            seqs,
                            h->dataset,
                            recs,
                            a->run_ref,
                            h->last ? "t" : "f",
                            h->partial ? "t" : "f"};
    if ((rc = tx_query(a,
                       "INSERT INTO ingest.batches (source, run_id, seq, dataset, records, "
                       "run_ref, last, partial) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON "
                       "CONFLICT (source, run_id, seq) DO NOTHING RETURNING batch_id",
                       8, ledger, -1, &res)) < 0)
        return rc;
    if (PQntuples(res) == 1) {
        snprintf(a->batch_id, sizeof(a->batch_id), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
    }
    PQclear(res);
    /* Seen before: say what it gave then, and change nothing. */
    if (ss_pg_query(a->wh->conn,
                    "SELECT accepted, quarantined, batch_id FROM ingest.batches "
                    "WHERE source = $1 AND run_id = $2 AND seq = $3",
                    3, ledger, &res, a->msg, sizeof(a->msg)) == 0) {
        if (PQntuples(res) == 1) {
            a->out->accepted = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
            a->out->quarantined = (unsigned)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
            if (a->out->quarantined > 0)
                rejects_again(a, PQgetvalue(res, 0, 2));
        }
        PQclear(res);
    }
    ss_pg_exec(a->wh->conn, "ROLLBACK", a->msg, sizeof(a->msg));
    a->out->result = SS_WH_DUPLICATE;
    return 1;
}

/* Step 5a: the part's good records (what the run's duplicate check left)
 * COPYed into staging. 0 or a negative code. */
static int copy_part(struct apply *a)
{
    int rc;
    if (!a->wh->ngoods || !a->wh->copy.len)
        return 0;
    a->what = "COPY";
    if ((rc = run_copy(a->wh, a->w->sql.copy_sql, &a->wh->copy, NULL, a->msg, sizeof(a->msg))) < 0)
        return db_fail(a->wh, rc, a->msg, a->what, a->out);
    return 0;
}

/* Before an upsert: the sender joins the dataset's writers
 * (ingest.dataset_source), and the batch takes the dataset's lock --
 * shared while the sender is its only writer, so such batches run side by
 * side as before; exclusive when it has (or the sender makes) several, so
 * that side_sql and the upsert see every other source's committed rows and
 * no other source writes the dataset meanwhile. A batch that took the
 * shared lock before a new writer committed finds it after the lock (its
 * statements' snapshots are later) and takes the several-sources path;
 * only batches of the one old writer can be in that state at once, and
 * they are as two runs of one source are today. 0 or a negative code. */
static int claim_dataset(struct apply *a)
{
    a->claimed = 1;
    a->what = "the dataset's writers";
    return tx_exec(a,
                   "WITH pair AS (INSERT INTO ingest.dataset_source (dataset, source) VALUES ($1, "
                   "$2) ON CONFLICT DO NOTHING RETURNING 1), m AS (SELECT EXISTS (SELECT 1 FROM "
                   "pair) OR EXISTS (SELECT 1 FROM ingest.dataset_source d WHERE d.dataset = $1 "
                   "AND d.source <> $2) AS several) SELECT CASE WHEN several THEN "
                   "pg_advisory_xact_lock(" SS_WHSQL_DATASET_LOCK ")::text ELSE "
                   "pg_advisory_xact_lock_shared(" SS_WHSQL_DATASET_LOCK ")::text END FROM m",
                   2, (const char *[]){a->w->sql.ds->name, a->h->source});
}

/* The part's good records as COPY text for the dataset's table
 * (wh->direct): the staging lines without their ord, with the source and
 * the batch id after. 0, or SS_E2BIG / SS_ENOMEM. */
static int direct_text(struct apply *a)
{
    struct ss_wh *wh = a->wh;
    struct ss_buf *tail = &wh->keys[2];
    int rc;
    ss_buf_reset(&wh->direct);
    ss_buf_reset(tail);
    if ((rc = ss_buf_addc(tail, '\t')) < 0 ||
        (rc = ss_copy_escape(tail, a->h->source, strlen(a->h->source))) < 0 ||
        (rc = ss_buf_printf(tail, "\t%s\n", a->batch_id)) < 0)
        return rc;
    for (size_t i = 0; i < wh->ngoods; i++) {
        const struct good *g = &wh->goods[i];
        const char *line = wh->copy.data + g->copy_off;
        const char *tab = memchr(line, '\t', g->copy_len);
        size_t skip = tab ? (size_t)(tab - line) + 1 : g->copy_len;
        if (skip >= g->copy_len)
            return SS_EINVAL; /* not a COPY line of ours: cannot happen */
        if ((rc = ss_buf_add(&wh->direct, line + skip, g->copy_len - skip - 1)) < 0 ||
            (rc = ss_buf_add(&wh->direct, tail->data, tail->len)) < 0)
            return rc;
    }
    return 0;
}

/* Whether the part can go straight into the table: no committed batch of
 * another run (of any source) covered one of the (authority, month) pairs
 * the batch has met since the last time this was asked
 * (ingest.batch_coverage), and no key of the dataset is contested -- no
 * other source writes it, or none of the keys two sources sent is kept in
 * core.source_values -- so that a new row is all the upsert would write
 * (side_sql would record nothing). The dataset's lock (claim_dataset) is
 * taken first, so the answer holds until COMMIT. 1, 0, or a negative code
 * with out filled. */
static int direct_forecast(struct apply *a)
{
    struct ss_wh *wh = a->wh;
    PGresult *res;
    int rc;
    if (a->w->sql.side_sql && !a->claimed && (rc = claim_dataset(a)) < 0)
        return rc;
    a->what = "the direct load's forecast";
    if ((rc = cov_arrays(wh, a->probed)) < 0)
        return db_fail(wh, rc, "the coverage arrays are over their limit", a->what, a->out);
    const char *params[] = {a->w->sql.ds->name, a->h->source, wh->keys[0].data, wh->keys[1].data,
                            a->run_ref};
    if ((rc = tx_query(a,
                       "SELECT (NOT EXISTS (SELECT 1 FROM ingest.dataset_source d WHERE "
                       "d.dataset = $1 AND d.source <> $2) OR NOT EXISTS (SELECT 1 FROM "
                       "core.source_values v WHERE v.dataset = $1)) AND NOT EXISTS (SELECT 1 FROM "
                       "unnest($3::text[], "
                       "$4::date[]) AS u(a, m) JOIN ingest.batch_coverage c ON c.dataset = $1 AND "
                       "c.authority_code = u.a AND c.month = u.m JOIN ingest.batches b ON "
                       "b.batch_id = c.batch_id AND b.run_ref <> $5::bigint)",
                       5, params, 1, &res)) < 0)
        return rc;
    int clear = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    a->probed = ss_hmap_count(&wh->cov);
    return clear;
}

/* Steps 4 and 5a for a part that cannot meet a row already there: its
 * records COPYed straight into the dataset's table -- no staging, no
 * upsert, no probe of the run's keys -- and its keys into
 * ingest.run_key_sets for the run's later batches. The forecast (direct_forecast) is no
 * guarantee: the table's natural-key unique index is. A key there after
 * all -- a repeat of a key an earlier batch of the run gave (it wrote the
 * row, or found it there), a row loaded before the daemon kept coverage,
 * another run of the source at the same time -- ends the COPY with a
 * unique violation; the part is rolled back to its savepoint and staged,
 * so the run's duplicate check (run_duplicates) and the upsert see it, and
 * so is the rest of the batch. 1 when done, 0 to stage it, or a negative
 * code with out filled. */
static int try_direct(struct apply *a)
{
    struct ss_wh *wh = a->wh;
    const struct ss_whsql *q = &a->w->sql;
    int rc;
    char state[6];

    if (a->direct < 0 || !q->direct_sql || a->w->cov_auth < 0 || a->w->cov_from < 0 || !wh->ngoods)
        return 0;
    if ((rc = direct_forecast(a)) <= 0) {
        if (rc == 0)
            a->direct = -1;
        return rc;
    }
    if ((rc = direct_text(a)) < 0)
        return apply_stop(a, rc == SS_ENOMEM ? SS_ERETRY : SS_EINVAL, "the direct COPY text: %s",
                          rc == SS_ENOMEM ? "out of memory" : "over its limit");
    a->what = "the direct load's savepoint";
    if ((rc = tx_exec(a, "SAVEPOINT shelfsync_direct", 0, NULL)) < 0)
        return rc;
    a->what = "the direct COPY";
    rc = run_copy(wh, q->direct_sql, &wh->direct, state, a->msg, sizeof(a->msg));
    if (rc == 0) {
        if ((rc = store_key_set(a)) < 0)
            return rc; /* rolled back, out filled */
        a->direct = 1;
        a->copied += (uint32_t)wh->ngoods;
        a->what = "the direct load's savepoint";
        rc = tx_exec(a, "RELEASE SAVEPOINT shelfsync_direct", 0, NULL);
        return rc < 0 ? rc : 1;
    }
    if (PQstatus(wh->conn) != CONNECTION_OK || strcmp(state, "23505") != 0)
        return db_fail(wh, rc, a->msg, a->what, a->out);
    ss_info("%s batch %s (%s %u): %s; staged instead of COPYed straight in", q->ds->name,
            a->batch_id, a->h->source, a->h->seq, a->msg);
    a->direct = -1;
    a->what = "the direct load's savepoint";
    return tx_exec(a, "ROLLBACK TO SAVEPOINT shelfsync_direct", 0, NULL);
}

/* Steps 2, 4 and 5a, a part at a time: validate; then straight into the
 * table (try_direct), or take out keys an earlier batch of the run gave and
 * COPY into staging. 0 or a negative code. */
static int load_parts(struct apply *a)
{
    int rc, last;
    do {
        if ((last = validate_part(a)) < 0)
            return last;
        a->good += (uint32_t)a->wh->ngoods;
        if ((rc = try_direct(a)) < 0)
            return rc;
        if (rc == 0 && ((rc = run_duplicates(a)) < 0 || (rc = copy_part(a)) < 0 ||
                        (rc = store_key_set(a)) < 0))
            return rc;
        a->staged |= rc == 0 && a->wh->ngoods > 0;
    } while (!last);
    return 0;
}

/* Step 3b: the sender is in ingest.source (precedence 0 when new); its
 * last_seen moves at most once a minute, so batches do not queue on its row. */
static int note_source(struct apply *a)
{
    a->what = "the source register";
    return tx_exec(a,
                   "WITH new AS (INSERT INTO ingest.source (source) VALUES ($1) ON CONFLICT "
                   "(source) DO NOTHING) UPDATE ingest.source SET last_seen = now() WHERE source "
                   "= $1 AND last_seen < now() - interval '1 minute'",
                   1, (const char *[]){a->h->source});
}

/* Step 5b for a dataset with history: the table's load function matches
 * the staged rows to their stable ids and places each version by its data
 * date (the record's, else the batch's as_of, else now); what it did is
 * logged (and kept in ingest.batch_history). 0 or a negative code. */
static int load_history(struct apply *a)
{
    const struct ss_header *h = a->h;
    char as_of[SS_PROTO_AS_OF_MAX + 16];
    /* A date is midnight UTC: its ::date is that date in a UK or UTC session. */
    snprintf(as_of, sizeof(as_of), "%s%s", h->as_of, strlen(h->as_of) == 10 ? "T00:00:00Z" : "");
    const char *const params[] = {h->source, a->batch_id, h->as_of[0] ? as_of : NULL,
                                  h->as_of[0] && h->as_of_basis[0] ? h->as_of_basis : NULL};
    PGresult *res;
    int rc;

    a->what = "the history load";
    if ((rc = tx_query(a, a->w->sql.history_sql, 4, params, 1, &res)) < 0)
        return rc;
    ss_info("%s batch %s (%s %u): %s new versions, %s placed in history, %s unchanged, %s "
            "superseded (an older or same-dated snapshot), %s new service points; as of %s",
            a->w->sql.ds->name, a->batch_id, h->source, h->seq, PQgetvalue(res, 0, 0),
            PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
            PQgetvalue(res, 0, 4), h->as_of[0] ? h->as_of : "the load time");
    PQclear(res);
    return 0;
}

/* Step 5b: the staged facts upserted (or, for a dataset with history,
 * placed by load_history); then which months of which authorities they
 * cover. For a dataset several sources write, the values of contested keys
 * go to core.source_values first (side_sql) and the upsert keeps the
 * winner. 0 or a negative code. */
static int load_facts(struct apply *a)
{
    const struct ss_whsql *q = &a->w->sql;
    const char *const params[] = {a->h->source, a->batch_id};
    int rc;

    if (a->good && q->ds->load == SS_LOAD_HISTORY)
        return load_history(a);
    if (!a->good)
        return 0;
    if (q->side_sql && a->staged) {
        if (!a->claimed && (rc = claim_dataset(a)) < 0)
            return rc;
        a->what = "the source values";
        if ((rc = tx_exec(a, q->side_sql, 2, params)) < 0)
            return rc;
    }
    a->what = "the upsert";
    if (a->staged && (rc = tx_exec(a, q->upsert_sql, 2, params)) < 0)
        return rc;
    if (!ss_hmap_count(&a->wh->cov))
        return 0;
    a->what = "the batch coverage";
    return write_coverage(a);
}

/* Step 6: the quarantine; a bad record sent again is counted. */
static int load_quarantine(struct apply *a)
{
    int rc;
    if (!a->bad)
        return 0;
    a->what = "COPY";
    if ((rc = run_copy(a->wh,
                       "COPY pg_temp.stage_quarantine (line, authority_code, period_start, "
                       "period_end, reason, raw, fields) FROM STDIN",
                       &a->wh->quar, NULL, a->msg, sizeof(a->msg))) < 0)
        return db_fail(a->wh, rc, a->msg, a->what, a->out);
    a->what = "the quarantine insert";
    return tx_exec(
        a,
        "INSERT INTO ingest.quarantine AS q (source, dataset, batch_id, line, authority_code, "
        "period_start, period_end, reason, raw, fields) "
        "SELECT DISTINCT ON (line, md5(reason), md5(raw)) $1, $2, $3::bigint, line, "
        "authority_code, period_start, period_end, reason, raw, fields "
        "FROM pg_temp.stage_quarantine ORDER BY line, md5(reason), md5(raw) "
        "ON CONFLICT (source, dataset, line, md5(reason), md5(raw)) DO UPDATE SET "
        "batch_id = EXCLUDED.batch_id, last_seen = now(), seen_count = q.seen_count + 1, "
        "authority_code = coalesce(EXCLUDED.authority_code, q.authority_code), "
        "period_start = coalesce(EXCLUDED.period_start, q.period_start), "
        "period_end = coalesce(EXCLUDED.period_end, q.period_end), "
        "fields = coalesce(EXCLUDED.fields, q.fields)",
        3, (const char *[]){a->h->source, a->h->dataset, a->batch_id});
}

/* Step 7: the counts; the run's keys are needed no more after its last
 * batch (or once every batch of an ended run is in); COMMIT. Only then may
 * the caller ack. */
static int commit_batch(struct apply *a)
{
    char accepted[16], quarantined[16];
    int rc;

    a->what = "the batch ledger";
    snprintf(accepted, sizeof(accepted), "%u", a->good);
    snprintf(quarantined, sizeof(quarantined), "%u", a->bad);
    if ((rc = tx_exec(a,
                      "UPDATE ingest.batches SET accepted = $1, quarantined = $2 "
                      "WHERE batch_id = $3",
                      3, (const char *[]){accepted, quarantined, a->batch_id})) < 0)
        return rc;
    /* The run's later batches will need this one's keys (run_duplicates
     * stored them). */
    if (a->keys_stored &&
        (rc = tx_exec(
             a, "UPDATE ingest.runs SET keys_held = true WHERE run_ref = $1 AND NOT keys_held", 1,
             (const char *[]){a->run_ref})) < 0)
        return rc;
    if ((a->run_done || a->h->last) &&
        (rc =
             tx_exec(a,
                     "WITH gone AS (UPDATE ingest.runs SET keys_held = false, keys_indexed = false "
                     "WHERE run_ref = "
                     "$1 AND keys_held RETURNING run_ref), sets AS (DELETE FROM "
                     "ingest.run_key_sets WHERE run_ref IN (SELECT run_ref FROM gone)) DELETE "
                     "FROM ingest.run_keys WHERE run_ref IN (SELECT run_ref FROM gone)",
                     1, (const char *[]){a->run_ref})) < 0)
        return rc;
    a->what = "COMMIT";
    if ((rc = tx_exec(a, "COMMIT", 0, NULL)) < 0)
        return rc;
    a->out->result = SS_WH_APPLIED;
    a->out->accepted = a->good;
    a->out->quarantined = a->bad;
    a->out->direct = a->copied;
    return 0;
}

/* A caller's hook (ss_wh_hooks) inside the batch's transaction: 0, or its
 * negative code with out filled. */
static int run_hook(struct apply *a, int after)
{
    int (*fn)(void *, PGconn *, const char *, char *, size_t) = !a->hooks ? NULL
                                                                : after   ? a->hooks->after
                                                                          : a->hooks->before;
    char err[SS_PROTO_REASON_MAX + 1] = "";
    int rc = fn ? fn(a->hooks->arg, a->wh->conn, a->batch_id, err, sizeof(err)) : 0;
    return rc < 0 ? apply_stop(a, rc, "%s", err) : 0;
}

int ss_wh_apply(struct ss_wh *wh, const struct ss_header *h, const void *payload, size_t len,
                const struct ss_wh_limits *limits, struct ss_wh_outcome *out)
{
    return ss_wh_apply_hooked(wh, h, payload, len, limits, NULL, out);
}

int ss_wh_apply_hooked(struct ss_wh *wh, const struct ss_header *h, const void *payload, size_t len,
                       const struct ss_wh_limits *limits, const struct ss_wh_hooks *hooks,
                       struct ss_wh_outcome *out)
{
    struct apply a = {.wh = wh,
                      .h = h,
                      .payload = payload,
                      .len = len,
                      .limits = limits,
                      .out = out,
                      .what = "BEGIN",
                      .hooks = hooks};
    int rc;

    memset(out, 0, sizeof(*out));
    ss_rejects_reset(&wh->rejects);
    out->rejects = &wh->rejects;
    if ((rc = check_header(&a)) < 0 || (rc = start_batch(&a)) < 0 || (rc = record_batch(&a)) != 0)
        goto out; /* refused, retry, or a duplicate */
    if ((rc = note_source(&a)) < 0 || (rc = run_hook(&a, 0)) < 0 || (rc = load_parts(&a)) < 0 ||
        (rc = load_facts(&a)) < 0 || (rc = load_quarantine(&a)) < 0 || (rc = run_hook(&a, 1)) < 0 ||
        (rc = commit_batch(&a)) < 0)
        goto out;
out:
    /* A refusal found while reading (a malformed payload, a forbidden
     * authority) comes with the transaction open: nothing of it stays. */
    if (rc < 0 && PQstatus(wh->conn) == CONNECTION_OK &&
        PQtransactionStatus(wh->conn) != PQTRANS_IDLE)
        ss_pg_exec(wh->conn, "ROLLBACK", a.msg, sizeof(a.msg));
    shrink_buffers(wh);
    return rc < 0 ? rc : 0;
}

void ss_wh_limits_init(struct ss_wh_limits *limits, const struct ss_daemon_config *cfg,
                       const char *source)
{
    const char *mode = cfg->authorities_abolished;
    for (size_t i = 0; i < cfg->nauthorities_sources; i++)
        if (strcmp(cfg->authorities_sources[i].key, source) == 0)
            mode = cfg->authorities_sources[i].value;
    *limits = (struct ss_wh_limits){.max_records = (size_t)cfg->max_records,
                                    .max_field_bytes = (size_t)cfg->max_field_bytes,
                                    .abolished = mode && strcmp(mode, "successor") == 0
                                                     ? SS_AUTHMAP_SUCCESSOR
                                                     : SS_AUTHMAP_QUARANTINE};
}

/* Run begins: its row; an older run of the source still "running" was
 * killed, or its end is lost: abandoned, and its duplicate keys let go. */
static int run_begins(struct apply *a)
{
    const struct ss_header *h = a->h;
    const char *p[] = {h->source,
                       h->run_id,
                       h->dataset,
                       h->kind[0] ? h->kind : NULL,
                       h->config[0] ? h->config : NULL,
                       h->full ? "t" : "f",
                       h->at[0] ? h->at : NULL};
    int rc = tx_exec(
        a,
        "INSERT INTO ingest.runs (source, run_id, dataset, kind, config, full_fetch, "
        "started_at) VALUES ($1, $2, $3, $4, $5, $6, coalesce($7::timestamptz, now())) "
        "ON CONFLICT (source, run_id) DO UPDATE SET kind = EXCLUDED.kind, config = "
        "EXCLUDED.config, full_fetch = EXCLUDED.full_fetch, started_at = EXCLUDED.started_at",
        7, p);
    if (rc < 0)
        return rc;
    return tx_exec(
        a,
        "WITH gone AS (UPDATE ingest.runs SET outcome = 'abandoned', keys_held "
        "= false, keys_indexed = false WHERE source = $1 AND run_id <> $2 AND outcome = 'running' "
        "AND ended_at IS NULL AND started_at IS NOT NULL AND started_at <= "
        "coalesce($3::timestamptz, now()) RETURNING run_ref), sets AS (DELETE FROM "
        "ingest.run_key_sets WHERE run_ref IN (SELECT run_ref FROM gone)) DELETE "
        "FROM ingest.run_keys WHERE run_ref IN (SELECT run_ref FROM gone)",
        3, (const char *[]){h->source, h->run_id, p[6]});
}

/* Run ends: its outcome and counts; a partial run marks its batches. */
static int run_ends(struct apply *a)
{
    const struct ss_header *h = a->h;
    char u[7][24];
    PGresult *res;
    int rc;

    snprintf(u[0], sizeof(u[0]), "%u", h->exit_status);
    snprintf(u[1], sizeof(u[1]), "%llu", (unsigned long long)h->bytes);
    snprintf(u[2], sizeof(u[2]), "%llu", (unsigned long long)h->nrecords);
    snprintf(u[3], sizeof(u[3]), "%llu", (unsigned long long)h->rejected);
    snprintf(u[4], sizeof(u[4]), "%u", h->batches);
    snprintf(u[5], sizeof(u[5]), "%u", h->refused);
    snprintf(u[6], sizeof(u[6]), "%u", h->outbox_batches);
    const char *p[] = {h->source,
                       h->run_id,
                       h->dataset,
                       h->at[0] ? h->at : NULL,
                       ss_run_outcome_name(h->outcome),
                       u[0],
                       u[1],
                       u[2],
                       u[3],
                       u[4],
                       u[5],
                       h->error[0] ? h->error : NULL,
                       h->has_outbox ? u[6] : NULL};
    if ((rc = tx_query(
             a,
             "INSERT INTO ingest.runs AS r (source, run_id, dataset, ended_at, outcome, "
             "exit_status, bytes, records_sent, rejected_by_collector, batches_sent, "
             "batches_refused, error, outbox_batches) VALUES ($1, $2, $3, "
             "coalesce($4::timestamptz, now()), $5, $6, $7, $8, $9, $10, $11, $12, $13) ON "
             "CONFLICT (source, run_id) DO UPDATE SET "
             "ended_at = EXCLUDED.ended_at, outcome = EXCLUDED.outcome, exit_status = "
             "EXCLUDED.exit_status, bytes = EXCLUDED.bytes, records_sent = EXCLUDED.records_sent, "
             "rejected_by_collector = EXCLUDED.rejected_by_collector, batches_sent = "
             "EXCLUDED.batches_sent, batches_refused = EXCLUDED.batches_refused, error = "
             "EXCLUDED.error, outbox_batches = EXCLUDED.outbox_batches RETURNING run_ref, outcome, "
             "batches_received + batches_refused >= batches_sent",
             13, p, 1, &res)) < 0)
        return rc;
    char ref[24];
    snprintf(ref, sizeof(ref), "%s", PQgetvalue(res, 0, 0));
    int partial = strcmp(PQgetvalue(res, 0, 1), "partial") == 0;
    int all_in = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    if (partial &&
        (rc = tx_exec(a,
                      "UPDATE ingest.batches SET partial = true WHERE run_ref = $1 AND NOT partial",
                      1, (const char *[]){ref})) < 0)
        return rc;
    /* The run's keys are needed only while batches of it may come; and
     * runs that ended a day ago, or never ended, let theirs go too. */
    return tx_exec(
        a,
        "WITH gone AS (UPDATE ingest.runs SET keys_held = false, keys_indexed = false WHERE "
        "keys_held AND "
        "((run_ref = $1::bigint AND $2::boolean) OR ended_at < now() - interval '1 day' OR "
        "(ended_at IS NULL AND first_seen < now() - interval '7 days')) RETURNING run_ref), "
        "sets AS (DELETE FROM ingest.run_key_sets WHERE run_ref IN (SELECT run_ref FROM gone)) "
        "DELETE FROM ingest.run_keys WHERE run_ref IN (SELECT run_ref FROM gone)",
        2, (const char *[]){ref, all_in ? "t" : "f"});
}

/* A run record: the run begins (a row in ingest.runs; an older run of the
 * source still "running" was abandoned) or ends (its outcome and counts; a
 * partial run marks its batches; its duplicate keys are let go once every
 * batch is in). One transaction; idempotent, so a record sent twice does
 * no harm. */
int ss_wh_run(struct ss_wh *wh, const struct ss_header *h, struct ss_wh_outcome *out)
{
    struct apply a = {.wh = wh, .h = h, .out = out};
    int rc;

    memset(out, 0, sizeof(*out));
    a.what = h->event == SS_RUN_BEGIN ? "the run record (begin)" : "the run record (end)";
    if ((rc = tx_exec(&a, "BEGIN", 0, NULL)) < 0 ||
        (rc = h->event == SS_RUN_BEGIN ? run_begins(&a) : run_ends(&a)) < 0 ||
        (rc = tx_exec(&a, "COMMIT", 0, NULL)) < 0)
        return rc;
    out->result = SS_WH_APPLIED;
    return 0;
}
