/* ss_warehouse: see ss_warehouse.h. */
#include "ss_warehouse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_authmap.h"
#include "ss_buf.h"
#include "ss_dataset.h"
#include "ss_err.h"
#include "ss_log.h"
#include "ss_pg.h"
#include "ss_secret.h"
#include "ss_validate.h"
#include "ss_text.h"

#define SS_WH_MAX_DATASETS 32
/* COPY text of one batch; bounded by the message size limit times escaping. */
#define SS_WH_COPY_MAX ((size_t)2 << 30)

struct wh_dataset {
    const struct ss_dataset *ds;
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t ncols;
    char *copy_sql;    /* COPY pg_temp.stage_x (ord, cols) FROM STDIN */
    char *upsert_sql;  /* INSERT INTO table ... SELECT DISTINCT ON ... ON CONFLICT ...; or, for
                          history, the INSERT of new versions */
    char *close_sql;   /* history: UPDATE ... SET valid_to that ends changed versions */
    char *succeed_sql; /* history: ends the open version a closing (NULL -> value) replaces */
    int cov_auth, cov_from, cov_to; /* columns for ingest.batch_coverage, or -1 */
    char keys[512];                 /* the key columns, for messages */
};

/* One natural key seen in a batch: where, and with which values. */
struct dup_slot {
    uint64_t key; /* hash of the key columns' text; 0: empty */
    uint64_t values;
    uint32_t line;
};

/* An (authority, month) a batch loaded facts for. */
struct cov_slot {
    uint64_t hash; /* 0: empty */
    char auth[16];
    int month; /* year * 12 + month - 1 */
};

/* A record of the batch that passed validation: its COPY line in wh->copy,
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
    struct wh_dataset sets[SS_WH_MAX_DATASETS];
    size_t nsets;
    int prepared;
    struct ss_buf copy; /* COPY text of the good records */
    struct ss_buf quar; /* COPY text of the quarantined ones */
    struct ss_buf raw;  /* scratch for one raw record */
    const char **vals;  /* scratch record arrays, max fields */
    size_t *lens;
    size_t maxf;
    struct ss_authmap *authorities; /* ref.authority and its aliases, by key */
    struct dup_slot *dups;          /* natural keys seen in the batch being applied */
    size_t ndups;                   /* slots allocated, a power of two */
    struct good *goods;             /* the batch's good records, in order */
    size_t ngoods, goods_cap;
    struct ss_buf keys[3]; /* array literals: key hashes, lines, value hashes; coverage */
    struct cov_slot *cov;  /* the batch's (authority, month) pairs, for coverage */
    size_t ncov, ncov_used;
    char auth_generation[64]; /* the ref.meta authorities_generation it was built from */
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
    ss_buf_init(&wh->copy, SS_WH_COPY_MAX);
    ss_buf_init(&wh->quar, SS_WH_COPY_MAX);
    ss_buf_init(&wh->raw, 1 << 20);
    for (int k = 0; k < 3; k++)
        ss_buf_init(&wh->keys[k], (size_t)256 << 20);
    return wh;
}

void ss_wh_free(struct ss_wh *wh)
{
    if (!wh)
        return;
    for (size_t i = 0; i < wh->nsets; i++) {
        free(wh->sets[i].copy_sql);
        free(wh->sets[i].upsert_sql);
        free(wh->sets[i].close_sql);
        free(wh->sets[i].succeed_sql);
    }
    ss_authmap_free(wh->authorities);
    free(wh->dups);
    free(wh->goods);
    free(wh->cov);
    for (int k = 0; k < 3; k++)
        ss_buf_free(&wh->keys[k]);
    ss_buf_free(&wh->copy);
    ss_buf_free(&wh->quar);
    ss_buf_free(&wh->raw);
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

/* 1 if a stored column may hold NULL (an optional field's value). */
static int nullable(const struct wh_dataset *w, size_t i)
{
    int f = w->cols[i].field;
    return f >= 0 && !(w->ds->fields[f].flags & SS_F_REQUIRED);
}

/* "t.a = s.a AND ..." over the key columns. "=" where a column cannot be
 * NULL, so the key's index is used; IS NOT DISTINCT FROM only for the few
 * optional key columns (a library's year closed). */
static void keys_match(struct ss_buf *b, const struct wh_dataset *w, const char *l, const char *r)
{
    int first = 1;
    for (size_t i = 0; i < w->ncols; i++) {
        if (!w->cols[i].key)
            continue;
        ss_buf_printf(b, "%s%s.%s %s %s.%s", first ? "" : " AND ", l, w->cols[i].name,
                      nullable(w, i) ? "IS NOT DISTINCT FROM" : "=", r, w->cols[i].name);
        first = 0;
    }
}

/* "alias.a, alias.b" over the columns that are (key) or are not (!key) in the key. */
static void column_list(struct ss_buf *b, const struct wh_dataset *w, const char *alias, int key)
{
    int first = 1;
    for (size_t i = 0; i < w->ncols; i++) {
        if ((w->cols[i].key != 0) != key)
            continue;
        ss_buf_printf(b, "%s%s%s%s", first ? "" : ", ", alias ? alias : "", alias ? "." : "",
                      w->cols[i].name);
        first = 0;
    }
}

/* "the required keys equal, and every optional key empty in l but given in
 * r": the row r describes is l, after a value arrived (a library closed). */
static int keys_succeed(struct ss_buf *b, const struct wh_dataset *w, const char *l, const char *r)
{
    int first = 1, any = 0;
    for (size_t i = 0; i < w->ncols; i++) {
        if (!w->cols[i].key)
            continue;
        if (nullable(w, i)) {
            ss_buf_printf(b, "%s%s.%s IS NULL AND %s.%s IS NOT NULL", first ? "" : " AND ", l,
                          w->cols[i].name, r, w->cols[i].name);
            any = 1;
        } else {
            ss_buf_printf(b, "%s%s.%s = %s.%s", first ? "" : " AND ", l, w->cols[i].name, r,
                          w->cols[i].name);
        }
        first = 0;
    }
    return any;
}

/* History: the batch's rows, last one wins per key. */
static void staged(struct ss_buf *b, const struct wh_dataset *w)
{
    ss_buf_adds(b, "(SELECT DISTINCT ON (");
    column_list(b, w, NULL, 1);
    ss_buf_adds(b, ") * FROM pg_temp.stage_");
    ss_buf_adds(b, w->ds->name);
    ss_buf_adds(b, " ORDER BY ");
    column_list(b, w, NULL, 1);
    ss_buf_adds(b, ", ord DESC) AS s");
}

/* A changed row ends its current version; then every row without a current
 * version gets one, with the id its earlier versions had. Two statements,
 * so the unique index on current versions never sees two at once. */
static int build_history_sql(struct wh_dataset *w, struct ss_buf *b)
{
    const char *table = w->ds->table;
    const char *id = w->ds->id_column;

    ss_buf_reset(b);
    ss_buf_printf(b, "UPDATE %s AS t SET valid_to = now() FROM ", table);
    staged(b, w);
    ss_buf_adds(b, " WHERE t.valid_to IS NULL AND ");
    keys_match(b, w, "t", "s");
    ss_buf_adds(b, " AND (");
    column_list(b, w, "t", 0);
    ss_buf_adds(b, ") IS DISTINCT FROM (");
    column_list(b, w, "s", 0);
    ss_buf_adds(b, ")");
    w->close_sql = strdup(b->data);

    /* A library that closes keeps its id: its open version ends, and the
     * closed one (a new key, year_closed given) continues it. */
    ss_buf_reset(b);
    ss_buf_printf(b, "UPDATE %s AS t SET valid_to = now() FROM ", table);
    staged(b, w);
    ss_buf_adds(b, " WHERE t.valid_to IS NULL AND ");
    int succession = keys_succeed(b, w, "t", "s");
    ss_buf_printf(b, " AND NOT EXISTS (SELECT 1 FROM %s c WHERE c.valid_to IS NULL AND ", table);
    keys_match(b, w, "c", "s");
    ss_buf_adds(b, ")");
    w->succeed_sql = succession ? strdup(b->data) : NULL;

    ss_buf_reset(b);
    ss_buf_printf(b, "INSERT INTO %s (%s", table, id);
    for (size_t i = 0; i < w->ncols; i++)
        ss_buf_printf(b, ", %s", w->cols[i].name);
    ss_buf_printf(b,
                  ", valid_from, source, batch_id) SELECT coalesce((SELECT p.%s FROM %s p "
                  "WHERE ",
                  id, table);
    keys_match(b, w, "p", "s");
    ss_buf_printf(b, " ORDER BY p.valid_from DESC LIMIT 1), ");
    if (succession) {
        ss_buf_printf(b, "(SELECT p.%s FROM %s p WHERE ", id, table);
        keys_succeed(b, w, "p", "s");
        ss_buf_adds(b, " ORDER BY p.valid_from DESC LIMIT 1), ");
    }
    ss_buf_printf(b, "nextval('%s_id_seq'))", table);
    for (size_t i = 0; i < w->ncols; i++)
        ss_buf_printf(b, ", s.%s", w->cols[i].name);
    ss_buf_adds(b, ", now(), $1::text, $2::bigint FROM ");
    staged(b, w);
    ss_buf_printf(b, " WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE t.valid_to IS NULL AND ", table);
    keys_match(b, w, "t", "s");
    ss_buf_adds(b, ")");
    free(w->upsert_sql);
    w->upsert_sql = strdup(b->data);
    return w->close_sql && w->upsert_sql ? 0 : -1;
}

/* Builds the SQL for one dataset from its definition: nothing here is
 * specific to a dataset. */
static int build_sql(struct wh_dataset *w, struct ss_buf *b, PGconn *conn, char *err, size_t errlen)
{
    const char *short_name = w->ds->name;
    size_t i;
    int rc = 0;

    w->ncols = ss_dataset_columns(w->ds, w->cols);

    /* Staging table: the target's own column types, plus the record order. */
    ss_buf_reset(b);
    ss_buf_printf(b,
                  "CREATE TEMP TABLE IF NOT EXISTS stage_%s ON COMMIT DELETE ROWS AS SELECT "
                  "0::bigint AS ord",
                  short_name);
    for (i = 0; i < w->ncols; i++)
        ss_buf_printf(b, ", %s", w->cols[i].name);
    ss_buf_printf(b, " FROM %s WITH NO DATA", w->ds->table);
    if (ss_pg_exec(conn, b->data, err, errlen) < 0)
        return -1;

    ss_buf_reset(b);
    ss_buf_printf(b, "COPY pg_temp.stage_%s (ord", short_name);
    for (i = 0; i < w->ncols; i++)
        ss_buf_printf(b, ", %s", w->cols[i].name);
    ss_buf_adds(b, ") FROM STDIN");
    w->copy_sql = strdup(b->data);

    /* Upsert: the last record of the batch wins for a repeated key; a row
     * whose values are unchanged is left alone, so a re-load writes nothing. */
    int has_values = 0;
    for (i = 0; i < w->ncols; i++)
        has_values |= !w->cols[i].key;
    ss_buf_reset(b);
    ss_buf_printf(b, "INSERT INTO %s AS t (", w->ds->table);
    for (i = 0; i < w->ncols; i++)
        ss_buf_printf(b, "%s, ", w->cols[i].name);
    ss_buf_adds(b, "source, batch_id) SELECT DISTINCT ON (");
    column_list(b, w, NULL, 1);
    ss_buf_adds(b, ") ");
    for (i = 0; i < w->ncols; i++)
        ss_buf_printf(b, "%s, ", w->cols[i].name);
    ss_buf_printf(b, "$1::text, $2::bigint FROM pg_temp.stage_%s ORDER BY ", short_name);
    column_list(b, w, NULL, 1);
    ss_buf_adds(b, ", ord DESC ON CONFLICT (");
    column_list(b, w, NULL, 1);
    ss_buf_adds(b, ") DO ");
    if (has_values) {
        ss_buf_adds(b, "UPDATE SET ");
        for (i = 0; i < w->ncols; i++)
            if (!w->cols[i].key)
                ss_buf_printf(b, "%s = EXCLUDED.%s, ", w->cols[i].name, w->cols[i].name);
        ss_buf_adds(b, "source = EXCLUDED.source, batch_id = EXCLUDED.batch_id, loaded_at = "
                       "now() WHERE (");
        column_list(b, w, "t", 0);
        ss_buf_adds(b, ") IS DISTINCT FROM (");
        column_list(b, w, "EXCLUDED", 0);
        ss_buf_adds(b, ")");
    } else {
        ss_buf_adds(b, "NOTHING");
    }
    w->upsert_sql = strdup(b->data);
    if (w->ds->load == SS_LOAD_HISTORY && build_history_sql(w, b) < 0)
        rc = -1;

    /* Coverage: the calendar months of each authority the batch loaded
     * facts for, from its count period or else its first key date, for
     * ingest.batch_coverage (the views' "rests on a partial run"). */
    w->cov_auth = w->cov_from = w->cov_to = -1;
    for (i = 0; i < w->ncols; i++) {
        int f = w->cols[i].field;
        if (f >= 0 && w->ds->fields[f].type == SS_FT_AUTHORITY && w->cov_auth < 0)
            w->cov_auth = (int)i;
        if (f < 0 && strcmp(w->cols[i].name, "period_start") == 0)
            w->cov_from = (int)i;
        if (f < 0 && strcmp(w->cols[i].name, "period_end") == 0)
            w->cov_to = (int)i;
    }
    for (i = 0; w->cov_from < 0 && i < w->ncols; i++) {
        int f = w->cols[i].field;
        if (f >= 0 && w->cols[i].key && w->cols[i].part == 0 &&
            (w->ds->fields[f].type == SS_FT_DATE || w->ds->fields[f].type == SS_FT_TIMESTAMP))
            w->cov_from = w->cov_to = (int)i;
    }
    struct ss_buf names;
    ss_buf_init(&names, sizeof(w->keys) - 1);
    for (i = 0; i < w->ncols; i++)
        if (w->cols[i].key)
            ss_buf_printf(&names, "%s%s", names.len ? ", " : "", w->cols[i].name);
    snprintf(w->keys, sizeof(w->keys), "%s", names.data ? names.data : "");
    ss_buf_free(&names);
    if (!w->copy_sql || !w->upsert_sql) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    return rc;
}

int ss_wh_prepare(struct ss_wh *wh, char *err, size_t errlen)
{
    struct ss_buf b;
    int rc = -1;
    const struct ss_dataset *const *all = ss_dataset_all();

    ss_buf_init(&b, 1 << 16);
    if (ss_pg_exec(wh->conn,
                   "SET client_min_messages = warning;"
                   "SET synchronous_commit = on;"
                   /* A timestamp without an offset is a library's local time. */
                   "SET TimeZone = 'Europe/London';"
                   /* Small statements on one batch: compiling them costs more than it saves. */
                   "SET jit = off;"
                   "CREATE TEMP TABLE IF NOT EXISTS stage_quarantine ON COMMIT DELETE ROWS AS "
                   "SELECT line, reason, raw FROM ingest.quarantine WITH NO DATA",
                   err, errlen) < 0)
        goto out;
    wh->maxf = 2;
    for (size_t i = 0; all[i] && wh->nsets < SS_WH_MAX_DATASETS; i++) {
        struct wh_dataset *w = &wh->sets[wh->nsets++];
        w->ds = all[i];
        if (build_sql(w, &b, wh->conn, err, errlen) < 0)
            goto out;
        if (w->ds->nfields > wh->maxf)
            wh->maxf = w->ds->nfields;
    }
    wh->vals = calloc(wh->maxf, sizeof(*wh->vals));
    wh->lens = calloc(wh->maxf, sizeof(*wh->lens));
    if (!wh->vals || !wh->lens) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    wh->prepared = 1;
    rc = 0;
out:
    ss_buf_free(&b);
    return rc;
}

static void db_fail(struct ss_wh *wh, const PGresult *res, const char *what,
                    struct ss_wh_outcome *out)
{
    char msg[SS_PROTO_REASON_MAX + 1];
    int rc = ss_pg_fail(wh->conn, res, msg, sizeof(msg));
    out->result = rc == SS_ERETRY ? SS_WH_RETRY : SS_WH_REFUSED;
    snprintf(out->reason, sizeof(out->reason), "database error during %s: %.400s", what, msg);
    if (PQstatus(wh->conn) == CONNECTION_OK)
        ss_pg_exec(wh->conn, "ROLLBACK", msg, sizeof(msg));
}

static int run_copy(struct ss_wh *wh, const char *sql, const struct ss_buf *data, PGresult **failed)
{
    PGresult *res = PQexec(wh->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        *failed = res;
        return -1;
    }
    PQclear(res);
    int ok = 1;
    size_t off = 0;
    while (ok && off < data->len) {
        size_t n = data->len - off;
        if (n > (1u << 20))
            n = 1u << 20;
        ok = PQputCopyData(wh->conn, data->data + off, (int)n) == 1;
        off += n;
    }
    if (PQputCopyEnd(wh->conn, ok ? NULL : "client error") != 1)
        ok = 0;
    res = PQgetResult(wh->conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *failed = res;
        /* Drain, so the connection is usable for ROLLBACK. */
        PGresult *more;
        while ((more = PQgetResult(wh->conn)))
            PQclear(more);
        return -1;
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* Rebuilds the authority map when ref.meta says the reference data changed
 * (one small query per batch). Returns 0, or -1 when the database cannot be
 * asked (the batch is retried). A warehouse without reference data yet
 * resolves no authority, and says so in each reject. */
static int refresh_authorities(struct ss_wh *wh, struct ss_wh_outcome *out)
{
    PGresult *res = PQexec(wh->conn, "SELECT coalesce((SELECT value FROM ref.meta WHERE key = "
                                     "'authorities_generation'), '0')");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int gone = ss_pg_fail(wh->conn, res, NULL, 0) == SS_ERETRY;
        PQclear(res);
        if (gone) {
            db_fail(wh, NULL, "reading ref.meta", out);
            return -1;
        }
        return 0; /* no ref schema: nothing resolves */
    }
    const char *gen = PQgetvalue(res, 0, 0);
    if (wh->authorities && strcmp(gen, wh->auth_generation) == 0) {
        PQclear(res);
        return 0;
    }
    snprintf(wh->auth_generation, sizeof(wh->auth_generation), "%s", gen);
    PQclear(res);
    res = PQexec(wh->conn, "SELECT alias_key, code FROM ref.authority_alias "
                           "UNION ALL SELECT code, code FROM ref.authority");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int gone = ss_pg_fail(wh->conn, res, NULL, 0) == SS_ERETRY;
        PQclear(res);
        if (gone) {
            db_fail(wh, NULL, "reading ref.authority_alias", out);
            return -1;
        }
        return 0;
    }
    struct ss_authmap *m = ss_authmap_new();
    for (int i = 0; m && i < PQntuples(res); i++)
        ss_authmap_put(m, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    if (!m)
        return 0;
    ss_authmap_free(wh->authorities);
    wh->authorities = m;
    ss_info("authority map: %zu names and codes (reference data generation %s)",
            ss_authmap_count(m), wh->auth_generation);
    return 0;
}

/* Appends a quarantine COPY line for rec: line, reason, raw text (valid
 * UTF-8, COPY-escaped). Returns 0 or -1 past the buffer's limit. */
static int quarantine_record(struct ss_wh *wh, const struct ss_prec *rec, const char *reason)
{
    struct ss_buf clean;
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
    ss_utf8_sanitize(&clean, reason, strlen(reason));
    ss_copy_escape(&wh->quar, clean.data ? clean.data : "", clean.len);
    ss_buf_addc(&wh->quar, '\t');
    ss_buf_reset(&clean);
    ss_utf8_sanitize(&clean, wh->raw.data ? wh->raw.data : "", wh->raw.len);
    ss_copy_escape(&wh->quar, clean.data ? clean.data : "", clean.len);
    ss_buf_free(&clean);
    return ss_buf_addc(&wh->quar, '\n') < 0 ? -1 : 0;
}

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

/* Sizes the key table and the good-record list for a batch of n records. */
static int dups_reset(struct ss_wh *wh, size_t n)
{
    size_t want = 64;
    while (want < n * 2)
        want *= 2;
    if (want > wh->ndups) {
        struct dup_slot *d = realloc(wh->dups, want * sizeof(*d));
        if (!d)
            return -1;
        wh->dups = d;
        wh->ndups = want;
    }
    memset(wh->dups, 0, wh->ndups * sizeof(*wh->dups));
    if (n > wh->goods_cap) {
        struct good *g = realloc(wh->goods, n * sizeof(*g));
        if (!g)
            return -1;
        wh->goods = g;
        wh->goods_cap = n;
    }
    wh->ngoods = 0;
    if (wh->cov)
        memset(wh->cov, 0, wh->ncov * sizeof(*wh->cov));
    wh->ncov_used = 0;
    return 0;
}

/* The natural-key and other-values hashes of a validated COPY line
 * ("ord\tcol\tcol...\n"): the same key means the same fact. */
static void line_hashes(const struct wh_dataset *w, const char *text, size_t len, uint64_t *key,
                        uint64_t *values)
{
    uint64_t k = 1469598103934665603ULL, v = k;
    const char *p = memchr(text, '\t', len), *end = text + len - 1; /* skip ord and '\n' */
    for (size_t c = 0; p && p < end && c < w->ncols; c++) {
        const char *start = p + 1, *tab = memchr(start, '\t', (size_t)(end - start));
        const char *stop = tab ? tab : end;
        if (w->cols[c].key)
            k = fnv(fnv(k, start, (size_t)(stop - start)), "\t", 1);
        else
            v = fnv(fnv(v, start, (size_t)(stop - start)), "\t", 1);
        p = tab;
    }
    /* Stored as a signed bigint; 0 marks an empty slot here. */
    *key = k ? k : 1;
    *values = v;
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
                 line, first, w->keys);
    else
        snprintf(reason, len,
                 "line %u has the same %.300s as line %u but different values: kept line %u, "
                 "which is right is for the source to say",
                 line, w->keys, first, first);
}

/* Looks the record's key up among the batch's earlier records. Returns 0
 * for a new key (remembered), or 1 with a reason for a repeat. */
static int batch_duplicate(struct ss_wh *wh, const struct wh_dataset *w, uint64_t key,
                           uint64_t values, uint32_t line, char *reason, size_t reasonlen)
{
    size_t i = (size_t)key & (wh->ndups - 1);
    while (wh->dups[i].key && wh->dups[i].key != key)
        i = (i + 1) & (wh->ndups - 1);
    if (!wh->dups[i].key) {
        wh->dups[i] = (struct dup_slot){key, values, line};
        return 0;
    }
    repeat_reason(reason, reasonlen, w, line, wh->dups[i].line, wh->dups[i].values == values);
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
 * left to validation (quarantined as unknown). 0, or -1 with out filled. */
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
        const char *s = rec->vals[i], *why = NULL, *code;
        size_t len = rec->lens[i];
        if (!s)
            continue;
        ss_trim(&s, &len);
        code = wh->authorities ? ss_authmap_resolve(wh->authorities, s, len, &why) : NULL;
        if (!code || authority_allowed(limits, code))
            continue;
        out->result = SS_WH_REFUSED;
        out->forbidden = 1;
        snprintf(out->reason, sizeof(out->reason),
                 "line %u: authority \"%.*s\" (%s) is not one this collector's key may write: "
                 "nothing of the batch was loaded",
                 rec->line, (int)(len < 100 ? len : 100), s, code);
        return -1;
    }
    if (!have_field && !authority_allowed(limits, "*")) {
        /* Nothing to check against: a restricted key may not write it. */
        out->result = SS_WH_REFUSED;
        out->forbidden = 1;
        snprintf(out->reason, sizeof(out->reason),
                 "dataset \"%s\" has no authority field: only a key allowed every authority "
                 "(*) may write it",
                 ds->name);
        return -1;
    }
    return 0;
}

static PGresult *exec_params(struct ss_wh *wh, const char *sql, int n, const char *const *params)
{
    return PQexecParams(wh->conn, sql, n, NULL, params, NULL, NULL, 0);
}

static int command_ok(PGresult *res)
{
    return PQresultStatus(res) == PGRES_COMMAND_OK;
}

/* Column col (0-based, in stored column order) of a COPY line
 * ("ord\tc0\tc1...\n"): sets *v and *n, or returns -1. */
static int copy_column(const char *text, size_t len, int col, const char **v, size_t *n)
{
    const char *end = text + len - 1, *p = memchr(text, '\t', len);
    for (int c = 0; p && c < col; c++)
        p = memchr(p + 1, '\t', (size_t)(end - p - 1));
    if (!p)
        return -1;
    const char *stop = memchr(p + 1, '\t', (size_t)(end - p - 1));
    *v = p + 1;
    *n = (size_t)((stop ? stop : end) - *v);
    return 0;
}

/* "YYYY-MM..." (a COPY date or timestamp) as year * 12 + month - 1. */
static int month_index(const char *v, size_t n)
{
    if (n < 7 || v[4] != '-')
        return -1;
    int y = 0, m = 0;
    for (int i = 0; i < 4; i++)
        y = y * 10 + (v[i] - '0');
    m = (v[5] - '0') * 10 + (v[6] - '0');
    return m >= 1 && m <= 12 ? y * 12 + m - 1 : -1;
}

static int cov_add(struct ss_wh *wh, const char *auth, size_t alen, int month)
{
    if ((wh->ncov_used + 1) * 2 > wh->ncov) {
        size_t n = wh->ncov ? wh->ncov * 2 : 256;
        struct cov_slot *c = calloc(n, sizeof(*c));
        if (!c)
            return -1;
        for (size_t i = 0; i < wh->ncov; i++) {
            if (!wh->cov[i].hash)
                continue;
            size_t j = (size_t)wh->cov[i].hash & (n - 1);
            while (c[j].hash)
                j = (j + 1) & (n - 1);
            c[j] = wh->cov[i];
        }
        free(wh->cov);
        wh->cov = c;
        wh->ncov = n;
    }
    uint64_t h = fnv(fnv(1469598103934665603ULL, auth, alen), (const char *)&month, sizeof(month));
    h = h ? h : 1;
    size_t i = (size_t)h & (wh->ncov - 1);
    while (wh->cov[i].hash) {
        if (wh->cov[i].hash == h && wh->cov[i].month == month && strlen(wh->cov[i].auth) == alen &&
            memcmp(wh->cov[i].auth, auth, alen) == 0)
            return 0;
        i = (i + 1) & (wh->ncov - 1);
    }
    wh->cov[i].hash = h;
    wh->cov[i].month = month;
    memcpy(wh->cov[i].auth, auth, alen);
    wh->cov[i].auth[alen] = '\0';
    wh->ncov_used++;
    return 0;
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
    for (int m = from; m <= to; m++)
        if (cov_add(wh, a, an, m) < 0)
            return -1;
    return 0;
}

/* Step 5b: the months per authority the batch's facts fall in. */
static PGresult *write_coverage(struct ss_wh *wh, const struct wh_dataset *w, const char *batch_id)
{
    struct ss_buf *auths = &wh->keys[0], *months = &wh->keys[1];
    ss_buf_reset(auths);
    ss_buf_reset(months);
    ss_buf_addc(auths, '{');
    ss_buf_addc(months, '{');
    int first = 1;
    for (size_t i = 0; i < wh->ncov; i++) {
        if (!wh->cov[i].hash)
            continue;
        int y = wh->cov[i].month / 12, m = wh->cov[i].month % 12 + 1;
        ss_buf_printf(auths, "%s\"%s\"", first ? "" : ",", wh->cov[i].auth);
        ss_buf_printf(months, "%s%04d-%02d-01", first ? "" : ",", y, m);
        first = 0;
    }
    ss_buf_addc(auths, '}');
    if (ss_buf_addc(months, '}') < 0)
        return NULL;
    return exec_params(wh,
                       "INSERT INTO ingest.batch_coverage (batch_id, dataset, authority_code, "
                       "month) SELECT $1::bigint, $2, a, m FROM unnest($3::text[], $4::date[]) "
                       "AS u(a, m) ON CONFLICT DO NOTHING",
                       4, (const char *[]){batch_id, w->ds->name, auths->data, months->data});
}

/* Step 1: what the header says is checked against the limits and the
 * dataset before anything else. 0, or -1 with out refused. */
static int check_header(struct ss_wh *wh, const struct ss_header *h,
                        const struct ss_wh_limits *limits, struct wh_dataset **wp,
                        struct ss_wh_outcome *out)
{
    struct wh_dataset *w = NULL;
    for (size_t i = 0; i < wh->nsets; i++)
        if (strcmp(wh->sets[i].ds->name, h->dataset) == 0)
            w = &wh->sets[i];
    out->result = SS_WH_REFUSED;
    if (!w) {
        snprintf(out->reason, sizeof(out->reason), "unknown dataset \"%s\"", h->dataset);
        return -1;
    }
    if (h->records > limits->max_records) {
        snprintf(out->reason, sizeof(out->reason), "%u records, more than the %zu allowed",
                 h->records, limits->max_records);
        return -1;
    }
    if (h->fields != w->ds->nfields) {
        snprintf(out->reason, sizeof(out->reason),
                 "records of %u fields, dataset \"%s\" has %zu (collector and daemon disagree on "
                 "the dataset definition)",
                 h->fields, w->ds->name, w->ds->nfields);
        return -1;
    }
    *wp = w;
    return 0;
}

/* Step 2, before any transaction is open: every record is read once,
 * checked and converted. A good one becomes a COPY line (wh->copy) and a
 * struct good; a bad one, or one repeating a key earlier in the batch, a
 * quarantine line (wh->quar). A malformed payload, or a record for an
 * authority the sender may not write, refuses the whole batch. 0, or -1
 * with out filled (refused, or retry when the reference data cannot be
 * read). */
static int validate_batch(struct ss_wh *wh, const struct wh_dataset *w, const struct ss_header *h,
                          const void *payload, size_t len, const struct ss_wh_limits *limits,
                          uint32_t *bad, struct ss_wh_outcome *out)
{
    struct ss_payload_reader rd;
    struct ss_prec rec = {.vals = wh->vals, .lens = wh->lens};
    char reason[SS_PROTO_REASON_MAX + 1];
    uint32_t n = 0;
    int r;

    if (refresh_authorities(wh, out) < 0)
        return -1;
    struct ss_validate_ctx vctx = {wh->authorities};
    ss_buf_reset(&wh->copy);
    ss_buf_reset(&wh->quar);
    if (dups_reset(wh, h->records) < 0) {
        out->result = SS_WH_RETRY;
        snprintf(out->reason, sizeof(out->reason), "out of memory");
        return -1;
    }
    *bad = 0;
    ss_payload_reader_init(&rd, payload, len, wh->maxf, limits->max_field_bytes);
    for (;;) {
        size_t rec_off = (size_t)(rd.p - (const unsigned char *)payload);
        if ((r = ss_payload_next(&rd, &rec, reason, sizeof(reason))) != 1)
            break;
        size_t mark = wh->copy.len;
        if (++n > h->records)
            break;
        if (check_authority(wh, w->ds, &rec, limits, out) < 0)
            return -1;
        if (ss_buf_printf(&wh->copy, "%u\t", n) < 0) {
            snprintf(reason, sizeof(reason), "batch text over its limit");
        } else if (ss_validate_record(w->ds, &rec, &vctx, &wh->copy, reason, sizeof(reason)) == 0) {
            uint64_t key, values;
            line_hashes(w, wh->copy.data + mark, wh->copy.len - mark, &key, &values);
            if (!batch_duplicate(wh, w, key, values, rec.line, reason, sizeof(reason))) {
                wh->goods[wh->ngoods++] =
                    (struct good){mark, wh->copy.len - mark, rec_off, rec.line, key, values, 0};
                if (note_coverage(wh, w, wh->copy.data + mark, wh->copy.len - mark) < 0) {
                    out->result = SS_WH_RETRY;
                    snprintf(out->reason, sizeof(out->reason), "out of memory");
                    return -1;
                }
                continue;
            }
        }
        wh->copy.len = mark;
        if (wh->copy.data)
            wh->copy.data[mark] = '\0';
        if (quarantine_record(wh, &rec, reason) < 0) {
            out->result = SS_WH_REFUSED;
            snprintf(out->reason, sizeof(out->reason), "quarantine text over its limit");
            return -1;
        }
        (*bad)++;
    }
    if (r < 0 || n != h->records || rd.p != rd.end) {
        out->result = SS_WH_REFUSED;
        if (r < 0)
            snprintf(out->reason, sizeof(out->reason), "malformed payload: %.480s", reason);
        else
            snprintf(out->reason, sizeof(out->reason), "header says %u records, payload holds %s%u",
                     h->records, n > h->records ? "more than " : "",
                     n > h->records ? h->records : n);
        return -1;
    }
    return 0;
}

/* Step 4: a key an earlier batch of the same run loaded. The run's keys are
 * in ingest.run_keys (with the line that gave each); a later record with
 * one of them is quarantined, never applied over it -- so the outcome of
 * loading an export does not depend on where its batches end, nor on how
 * often it is loaded. Then this batch's keys join them, unless no batch of
 * the run can follow (its last, or a run of one batch). Returns how many
 * records it took out, or -1 with *failed set. */
static int run_duplicates(struct ss_wh *wh, const struct wh_dataset *w, const struct ss_header *h,
                          const char *run_ref, const void *payload, size_t len,
                          const struct ss_wh_limits *limits, PGresult **failed)
{
    PGresult *res;
    int taken = 0;

    if (wh->ngoods == 0 || (h->seq == 1 && h->last))
        return 0;
    /* One statement: the batch's keys (as arrays) probed against the run's,
     * and added to them unless no batch can follow. The probe is a LATERAL
     * subquery with LIMIT 1 so that it stays a probe of the primary key per
     * key: without the LIMIT the planner flattens it into a hash join that
     * reads every key of the run for every batch. */
    for (int k = 0; k < 3; k++) {
        ss_buf_reset(&wh->keys[k]);
        ss_buf_addc(&wh->keys[k], '{');
    }
    for (size_t i = 0; i < wh->ngoods; i++) {
        const char *sep = i ? "," : "";
        if (ss_buf_printf(&wh->keys[0], "%s%lld", sep, (long long)wh->goods[i].key) < 0 ||
            ss_buf_printf(&wh->keys[1], "%s%u", sep, wh->goods[i].line) < 0 ||
            ss_buf_printf(&wh->keys[2], "%s%lld", sep, (long long)wh->goods[i].values) < 0) {
            *failed = NULL;
            return -1;
        }
    }
    for (int k = 0; k < 3; k++)
        if (ss_buf_addc(&wh->keys[k], '}') < 0) {
            *failed = NULL;
            return -1;
        }
    const char *params[] = {run_ref,          wh->keys[0].data,       wh->keys[1].data,
                            wh->keys[2].data, h->seq > 1 ? "t" : "f", h->last ? "f" : "t"};
    res =
        exec_params(wh,
                    "WITH s AS (SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) "
                    "WITH ORDINALITY AS u(key_hash, line, values_hash, ord)), hits AS (SELECT "
                    "s.ord, k.line, k.values_hash = s.values_hash AS same FROM s CROSS JOIN "
                    "LATERAL (SELECT line, values_hash FROM ingest.run_keys WHERE run_ref = "
                    "$1::bigint AND key_hash = s.key_hash LIMIT 1) AS k WHERE $5::boolean), ins AS "
                    "(INSERT INTO ingest.run_keys (run_ref, key_hash, line, values_hash) SELECT "
                    "$1::bigint, key_hash, line, values_hash FROM s WHERE $6::boolean ON "
                    "CONFLICT (run_ref, key_hash) DO NOTHING) SELECT ord - 1, line, same FROM "
                    "hits",
                    6, params);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *failed = res;
        return -1;
    }
    struct ss_prec rec = {.vals = wh->vals, .lens = wh->lens};
    char reason[SS_PROTO_REASON_MAX + 1];
    for (int i = 0; i < PQntuples(res); i++) {
        size_t ord = (size_t)strtoull(PQgetvalue(res, i, 0), NULL, 10);
        if (ord >= wh->ngoods || wh->goods[ord].drop)
            continue;
        struct good *g = &wh->goods[ord];
        struct ss_payload_reader rd;
        ss_payload_reader_init(&rd, (const char *)payload + g->rec_off, len - g->rec_off, wh->maxf,
                               limits->max_field_bytes);
        if (ss_payload_next(&rd, &rec, reason, sizeof(reason)) != 1)
            continue; /* read once already: cannot happen */
        repeat_reason(reason, sizeof(reason), w, g->line,
                      (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10),
                      PQgetvalue(res, i, 2)[0] == 't');
        quarantine_record(wh, &rec, reason);
        g->drop = 1;
        taken++;
    }
    PQclear(res);
    if (taken) {
        /* Close the gaps the repeats leave in the COPY text. */
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
    return taken;
}

void ss_wh_apply(struct ss_wh *wh, const struct ss_header *h, const void *payload, size_t len,
                 const struct ss_wh_limits *limits, struct ss_wh_outcome *out)
{
    struct wh_dataset *w = NULL;
    PGresult *res = NULL;
    char seqs[16], recs[16], batch_id[24], accepted[16], quarantined[16], run_ref[24];
    const char *what = "BEGIN";
    uint32_t good, bad;

    memset(out, 0, sizeof(*out));
    if (check_header(wh, h, limits, &w, out) < 0 ||
        validate_batch(wh, w, h, payload, len, limits, &bad, out) < 0)
        return;
    good = (uint32_t)wh->ngoods;

    /* Step 3: the run's row first -- locked until COMMIT, so the batches of
     * one run are applied one after another, whichever daemon has them --
     * then the batch ledger, where a batch seen before is a duplicate. */
    snprintf(seqs, sizeof(seqs), "%u", h->seq);
    snprintf(recs, sizeof(recs), "%u", h->records);
    res = PQexec(wh->conn, "BEGIN");
    if (!command_ok(res))
        goto db_error;
    PQclear(res);
    what = "the batch ledger";
    /* Whether this batch's keys are kept for the run's later batches. */
    const char *hold = wh->ngoods && !h->last ? "t" : "f";
    res = exec_params(wh,
                      "INSERT INTO ingest.runs AS r (source, run_id, dataset, batches_received, "
                      "keys_held) VALUES ($1, $2, $3, 1, $4) ON CONFLICT (source, run_id) DO "
                      "UPDATE SET batches_received = r.batches_received + 1, keys_held = "
                      "r.keys_held OR EXCLUDED.keys_held RETURNING run_ref, (ended_at IS NOT NULL "
                      "AND batches_received + coalesce(batches_refused, 0) >= "
                      "coalesce(batches_sent, 0))",
                      4, (const char *[]){h->source, h->run_id, h->dataset, hold});
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        goto db_error;
    snprintf(run_ref, sizeof(run_ref), "%s", PQgetvalue(res, 0, 0));
    int run_done = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    const char *ledger[] = {h->source,
                            h->run_id,
                            seqs,
                            h->dataset,
                            recs,
                            run_ref,
                            h->last ? "t" : "f",
                            h->partial ? "t" : "f"};
    res = exec_params(wh,
                      "INSERT INTO ingest.batches (source, run_id, seq, dataset, records, run_ref, "
                      "last, partial) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT "
                      "(source, run_id, seq) DO NOTHING RETURNING batch_id",
                      8, ledger);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        goto db_error;
    if (PQntuples(res) == 0) {
        PQclear(res);
        res = exec_params(wh,
                          "SELECT accepted, quarantined FROM ingest.batches "
                          "WHERE source = $1 AND run_id = $2 AND seq = $3",
                          3, ledger);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            out->accepted = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
            out->quarantined = (unsigned)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
        }
        PQclear(res);
        res = PQexec(wh->conn, "ROLLBACK");
        PQclear(res);
        out->result = SS_WH_DUPLICATE;
        return;
    }
    snprintf(batch_id, sizeof(batch_id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;

    /* Step 4: keys an earlier batch of the run loaded. */
    what = "the run's duplicate check";
    int again = run_duplicates(wh, w, h, run_ref, payload, len, limits, &res);
    if (again < 0)
        goto db_error;
    good -= (uint32_t)again;
    bad += (uint32_t)again;

    /* Step 5: the facts, COPYed into staging and upserted (or, for a
     * dataset with history, versions closed and opened); then which months
     * of which authorities they cover. */
    if (good) {
        what = "COPY";
        if (run_copy(wh, w->copy_sql, &wh->copy, &res) < 0)
            goto db_error;
        what = "the upsert";
        const char *history[] = {w->close_sql, w->succeed_sql};
        for (size_t k = 0; k < 2; k++) {
            if (!history[k])
                continue;
            res = PQexec(wh->conn, history[k]);
            if (!command_ok(res))
                goto db_error;
            PQclear(res);
        }
        res = exec_params(wh, w->upsert_sql, 2, (const char *[]){h->source, batch_id});
        if (!command_ok(res))
            goto db_error;
        PQclear(res);
        if (wh->ncov_used) {
            what = "the batch coverage";
            res = write_coverage(wh, w, batch_id);
            if (!command_ok(res))
                goto db_error;
            PQclear(res);
        }
    }
    /* Step 6: the quarantine; a bad record sent again is counted. */
    if (bad) {
        what = "COPY";
        if (run_copy(wh, "COPY pg_temp.stage_quarantine (line, reason, raw) FROM STDIN", &wh->quar,
                     &res) < 0)
            goto db_error;
        what = "the quarantine insert";
        res = exec_params(
            wh,
            "INSERT INTO ingest.quarantine AS q (source, dataset, batch_id, line, reason, raw) "
            "SELECT DISTINCT ON (line, md5(reason), md5(raw)) $1, $2, $3::bigint, line, reason, "
            "raw FROM pg_temp.stage_quarantine ORDER BY line, md5(reason), md5(raw) "
            "ON CONFLICT (source, dataset, line, md5(reason), md5(raw)) DO UPDATE SET "
            "batch_id = EXCLUDED.batch_id, last_seen = now(), seen_count = q.seen_count + 1",
            3, (const char *[]){h->source, h->dataset, batch_id});
        if (!command_ok(res))
            goto db_error;
        PQclear(res);
    }
    /* Step 7: the counts; the run's keys are needed no more after its last
     * batch (or once every batch of an ended run is in); COMMIT. Only then
     * may the caller ack. */
    what = "the batch ledger";
    snprintf(accepted, sizeof(accepted), "%u", good);
    snprintf(quarantined, sizeof(quarantined), "%u", bad);
    res = exec_params(wh,
                      "UPDATE ingest.batches SET accepted = $1, quarantined = $2 "
                      "WHERE batch_id = $3",
                      3, (const char *[]){accepted, quarantined, batch_id});
    if (!command_ok(res))
        goto db_error;
    PQclear(res);
    if (run_done || h->last) {
        res = exec_params(wh,
                          "WITH gone AS (UPDATE ingest.runs SET keys_held = false WHERE run_ref = "
                          "$1 AND keys_held RETURNING run_ref) DELETE FROM ingest.run_keys WHERE "
                          "run_ref IN (SELECT run_ref FROM gone)",
                          1, (const char *[]){run_ref});
        if (!command_ok(res))
            goto db_error;
        PQclear(res);
    }
    what = "COMMIT";
    res = PQexec(wh->conn, "COMMIT");
    if (!command_ok(res))
        goto db_error;
    PQclear(res);
    out->result = SS_WH_APPLIED;
    out->accepted = good;
    out->quarantined = bad;
    return;

db_error:
    db_fail(wh, res, what, out);
    PQclear(res);
}

/* A run record: the run begins (a row in ingest.runs; an older run of the
 * source still "running" was abandoned) or ends (its outcome and counts; a
 * partial run marks its batches; its duplicate keys are let go once every
 * batch is in). One transaction; idempotent, so a record sent twice does
 * no harm. */
void ss_wh_run(struct ss_wh *wh, const struct ss_header *h, struct ss_wh_outcome *out)
{
    PGresult *res = NULL;
    char u[6][24];

    memset(out, 0, sizeof(*out));
    res = PQexec(wh->conn, "BEGIN");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto fail;
    PQclear(res);
    if (h->event == SS_RUN_BEGIN) {
        const char *p[] = {h->source,
                           h->run_id,
                           h->dataset,
                           h->kind[0] ? h->kind : NULL,
                           h->config[0] ? h->config : NULL,
                           h->full ? "t" : "f",
                           h->at[0] ? h->at : NULL};
        res = PQexecParams(
            wh->conn,
            "INSERT INTO ingest.runs (source, run_id, dataset, kind, config, full_fetch, "
            "started_at) VALUES ($1, $2, $3, $4, $5, $6, coalesce($7::timestamptz, now())) "
            "ON CONFLICT (source, run_id) DO UPDATE SET kind = EXCLUDED.kind, config = "
            "EXCLUDED.config, full_fetch = EXCLUDED.full_fetch, started_at = EXCLUDED.started_at",
            7, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            goto fail;
        PQclear(res);
        /* An older run of the source still "running" was killed, or its end
         * is lost: abandoned, and its duplicate keys let go. */
        res = PQexecParams(wh->conn,
                           "WITH gone AS (UPDATE ingest.runs SET outcome = 'abandoned', keys_held "
                           "= false WHERE source = $1 AND run_id <> $2 AND outcome = 'running' "
                           "AND ended_at IS NULL AND started_at IS NOT NULL AND started_at <= "
                           "coalesce($3::timestamptz, now()) RETURNING run_ref) DELETE FROM "
                           "ingest.run_keys WHERE run_ref IN (SELECT run_ref FROM gone)",
                           3, NULL, (const char *[]){h->source, h->run_id, p[6]}, NULL, NULL, 0);
    } else {
        snprintf(u[0], sizeof(u[0]), "%u", h->exit_status);
        snprintf(u[1], sizeof(u[1]), "%llu", (unsigned long long)h->bytes);
        snprintf(u[2], sizeof(u[2]), "%llu", (unsigned long long)h->nrecords);
        snprintf(u[3], sizeof(u[3]), "%llu", (unsigned long long)h->rejected);
        snprintf(u[4], sizeof(u[4]), "%u", h->batches);
        snprintf(u[5], sizeof(u[5]), "%u", h->refused);
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
                           h->error[0] ? h->error : NULL};
        res = PQexecParams(
            wh->conn,
            "INSERT INTO ingest.runs AS r (source, run_id, dataset, ended_at, outcome, "
            "exit_status, bytes, records_sent, rejected_by_collector, batches_sent, "
            "batches_refused, error) VALUES ($1, $2, $3, coalesce($4::timestamptz, now()), $5, "
            "$6, $7, $8, $9, $10, $11, $12) ON CONFLICT (source, run_id) DO UPDATE SET "
            "ended_at = EXCLUDED.ended_at, outcome = EXCLUDED.outcome, exit_status = "
            "EXCLUDED.exit_status, bytes = EXCLUDED.bytes, records_sent = EXCLUDED.records_sent, "
            "rejected_by_collector = EXCLUDED.rejected_by_collector, batches_sent = "
            "EXCLUDED.batches_sent, batches_refused = EXCLUDED.batches_refused, error = "
            "EXCLUDED.error RETURNING run_ref, outcome, batches_received + batches_refused >= "
            "batches_sent",
            12, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
            goto fail;
        char ref[24];
        snprintf(ref, sizeof(ref), "%s", PQgetvalue(res, 0, 0));
        int partial = strcmp(PQgetvalue(res, 0, 1), "partial") == 0;
        int all_in = PQgetvalue(res, 0, 2)[0] == 't';
        PQclear(res);
        res = NULL;
        if (partial) {
            res = PQexecParams(wh->conn,
                               "UPDATE ingest.batches SET partial = true WHERE run_ref = $1 AND "
                               "NOT partial",
                               1, NULL, (const char *[]){ref}, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_COMMAND_OK)
                goto fail;
            PQclear(res);
        }
        /* The run's keys are needed only while batches of it may come; and
         * runs that ended a day ago, or never ended, let theirs go too. */
        res = PQexecParams(
            wh->conn,
            "WITH gone AS (UPDATE ingest.runs SET keys_held = false WHERE keys_held AND "
            "((run_ref = $1::bigint AND $2::boolean) OR ended_at < now() - interval '1 day' OR "
            "(ended_at IS NULL AND first_seen < now() - interval '7 days')) RETURNING run_ref) "
            "DELETE FROM ingest.run_keys WHERE run_ref IN (SELECT run_ref FROM gone)",
            2, NULL, (const char *[]){ref, all_in ? "t" : "f"}, NULL, NULL, 0);
    }
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto fail;
    PQclear(res);
    res = PQexec(wh->conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto fail;
    PQclear(res);
    out->result = SS_WH_APPLIED;
    return;
fail:
    db_fail(wh, res, h->event == SS_RUN_BEGIN ? "the run record (begin)" : "the run record (end)",
            out);
    PQclear(res);
}
