/* ss_warehouse: see ss_warehouse.h. */
#include "ss_warehouse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_authmap.h"
#include "ss_buf.h"
#include "ss_dataset.h"
#include "ss_log.h"
#include "ss_secret.h"
#include "ss_validate.h"

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
    char *rerun_sql;   /* DELETE from staging what an earlier batch of the run wrote */
    char keys[512];    /* the key columns, for messages */
};

/* One natural key seen in a batch: where, and with which values. */
struct dup_slot {
    uint64_t key; /* hash of the key columns' text; 0: empty */
    uint64_t values;
    uint32_t line;
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
    char auth_generation[64];       /* the ref.meta authorities_generation it was built from */
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
        free(wh->sets[i].rerun_sql);
    }
    ss_authmap_free(wh->authorities);
    free(wh->dups);
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

static int exec_cmd(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
        err[strcspn(err, "\n")] = '\0';
    }
    PQclear(res);
    return ok ? 0 : -1;
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
    if (exec_cmd(conn, b->data, err, errlen) < 0)
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

    /* A record whose key an earlier batch of the same run already wrote is a
     * duplicate within one export: found, taken out of staging, quarantined.
     * A correlated probe per staged row, so the key's index is used whatever
     * the planner thinks of the staging table (a join scanned the whole
     * table each batch). */
    ss_buf_reset(b);
    ss_buf_printf(b,
                  "SELECT s.ord, (SELECT seq FROM ingest.batches WHERE batch_id = x.batch_id), "
                  "x.same FROM pg_temp.stage_%s AS s CROSS JOIN LATERAL (SELECT t.batch_id, (",
                  short_name);
    column_list(b, w, "t", 0);
    ss_buf_adds(b, ") IS NOT DISTINCT FROM (");
    column_list(b, w, "s", 0);
    ss_buf_printf(b, ") AS same FROM %s AS t WHERE ", w->ds->table);
    keys_match(b, w, "t", "s");
    /* The run's earlier batches, once (an InitPlan), not joined: a join let
     * the planner redo every probe for each of them. */
    ss_buf_printf(b,
                  "%s LIMIT 1) AS x WHERE x.batch_id = ANY (ARRAY(SELECT batch_id FROM "
                  "ingest.batches WHERE source = $1 AND run_id = $2 AND batch_id <> "
                  "$3::bigint))",
                  w->ds->load == SS_LOAD_HISTORY ? " AND t.valid_to IS NULL" : "");
    w->rerun_sql = strdup(b->data);
    struct ss_buf names;
    ss_buf_init(&names, sizeof(w->keys) - 1);
    for (i = 0; i < w->ncols; i++)
        if (w->cols[i].key)
            ss_buf_printf(&names, "%s%s", names.len ? ", " : "", w->cols[i].name);
    snprintf(w->keys, sizeof(w->keys), "%s", names.data ? names.data : "");
    ss_buf_free(&names);
    if (!w->rerun_sql)
        rc = -1;
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
    if (exec_cmd(wh->conn,
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

/* Connection trouble, shutdown, serialization failure, out of resources:
 * worth trying again later. Anything else is about this batch. */
static int transient(PGconn *conn, const PGresult *res)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return 1;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return 1;
    return strncmp(state, "08", 2) == 0 || strncmp(state, "40", 2) == 0 ||
           strncmp(state, "53", 2) == 0 || strncmp(state, "57", 2) == 0 ||
           strncmp(state, "58", 2) == 0;
}

static void db_fail(struct ss_wh *wh, const PGresult *res, const char *what,
                    struct ss_wh_outcome *out)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(wh->conn);
    out->result = transient(wh->conn, res) ? SS_WH_RETRY : SS_WH_REFUSED;
    snprintf(out->reason, sizeof(out->reason), "database error during %s: %s", what, msg);
    out->reason[strcspn(out->reason, "\n")] = '\0';
    if (PQstatus(wh->conn) == CONNECTION_OK) {
        PGresult *r = PQexec(wh->conn, "ROLLBACK");
        PQclear(r);
    }
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
        int gone = transient(wh->conn, res);
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
        int gone = transient(wh->conn, res);
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

/* Sizes the key table for a batch of n records. */
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
    return 0;
}

/* Looks up the natural key of a validated COPY line ("ord\tcol\tcol...\n")
 * among the batch's earlier records. Returns 0 for a new key (remembered),
 * or 1 with a reason for a repeat: the same fact twice, or two different
 * values for one fact, are both for the source to sort out. */
static int batch_duplicate(struct ss_wh *wh, const struct wh_dataset *w, const char *text,
                           size_t len, uint32_t line, char *reason, size_t reasonlen)
{
    uint64_t key = 1469598103934665603ULL, values = key;
    const char *p = memchr(text, '\t', len), *end = text + len - 1; /* skip ord and '\n' */
    for (size_t c = 0; p && p < end && c < w->ncols; c++) {
        const char *start = p + 1, *tab = memchr(start, '\t', (size_t)(end - start));
        const char *stop = tab ? tab : end;
        if (w->cols[c].key)
            key = fnv(fnv(key, start, (size_t)(stop - start)), "\t", 1);
        else
            values = fnv(fnv(values, start, (size_t)(stop - start)), "\t", 1);
        p = tab;
    }
    if (!key)
        key = 1;
    size_t i = (size_t)key & (wh->ndups - 1);
    while (wh->dups[i].key && wh->dups[i].key != key)
        i = (i + 1) & (wh->ndups - 1);
    if (!wh->dups[i].key) {
        wh->dups[i] = (struct dup_slot){key, values, line};
        return 0;
    }
    if (wh->dups[i].values == values)
        snprintf(reason, reasonlen,
                 "line %u repeats line %u exactly (same %.300s): not loaded twice", line,
                 wh->dups[i].line, w->keys);
    else
        snprintf(reason, reasonlen,
                 "line %u has the same %.300s as line %u but different values: kept line %u, "
                 "which is right is for the source to say",
                 line, w->keys, wh->dups[i].line, wh->dups[i].line);
    return 1;
}

struct rerun_hit {
    uint32_t ord;
    uint32_t seq;
    int same;
};

static int cmp_hit(const void *a, const void *b)
{
    const struct rerun_hit *x = a, *y = b;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* Takes out of staging the records whose key an earlier batch of this run
 * wrote, and quarantines them. Returns how many, or -1 with res set on a
 * database error. */
static int rerun_duplicates(struct ss_wh *wh, const struct wh_dataset *w, const struct ss_header *h,
                            const char *batch_id, const void *payload, size_t len,
                            const struct ss_wh_limits *limits, PGresult **failed)
{
    const char *params[] = {h->source, h->run_id, batch_id};
    PGresult *res = PQexecParams(wh->conn, w->rerun_sql, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *failed = res;
        return -1;
    }
    int n = PQntuples(res);
    if (n == 0) {
        PQclear(res);
        return 0;
    }
    struct rerun_hit *hits = calloc((size_t)n, sizeof(*hits));
    struct ss_buf ords;
    ss_buf_init(&ords, (size_t)n * 12 + 16);
    if (!hits) {
        PQclear(res);
        *failed = NULL;
        return -1;
    }
    ss_buf_addc(&ords, '{');
    for (int i = 0; i < n; i++) {
        hits[i].ord = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
        hits[i].seq = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        hits[i].same = PQgetvalue(res, i, 2)[0] == 't';
        ss_buf_printf(&ords, "%s%u", i ? "," : "", hits[i].ord);
    }
    ss_buf_addc(&ords, '}');
    PQclear(res);
    char del[160];
    snprintf(del, sizeof(del), "DELETE FROM pg_temp.stage_%s WHERE ord = ANY($1::bigint[])",
             w->ds->name);
    const char *dparams[] = {ords.data};
    res = PQexecParams(wh->conn, del, 1, NULL, dparams, NULL, NULL, 0);
    ss_buf_free(&ords);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        free(hits);
        *failed = res;
        return -1;
    }
    PQclear(res);
    qsort(hits, (size_t)n, sizeof(*hits), cmp_hit);

    struct ss_payload_reader rd;
    struct ss_prec rec = {.vals = wh->vals, .lens = wh->lens};
    char reason[SS_PROTO_REASON_MAX + 1];
    uint32_t ord = 0;
    int k = 0;
    ss_payload_reader_init(&rd, payload, len, wh->maxf, limits->max_field_bytes);
    while (k < n && ss_payload_next(&rd, &rec, reason, sizeof(reason)) == 1) {
        if (++ord != hits[k].ord)
            continue;
        if (hits[k].same)
            snprintf(reason, sizeof(reason),
                     "line %u repeats a record of batch %u of this run exactly (same %.300s): not "
                     "loaded twice",
                     rec.line, hits[k].seq, w->keys);
        else
            snprintf(reason, sizeof(reason),
                     "line %u has the same %.300s as a record of batch %u of this run but "
                     "different values: kept the earlier one, which is right is for the source "
                     "to say",
                     rec.line, w->keys, hits[k].seq);
        quarantine_record(wh, &rec, reason);
        k++;
    }
    free(hits);
    return n;
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

void ss_wh_apply(struct ss_wh *wh, const struct ss_header *h, const void *payload, size_t len,
                 const struct ss_wh_limits *limits, struct ss_wh_outcome *out)
{
    struct wh_dataset *w = NULL;
    PGresult *res = NULL;
    char seqs[16], recs[16], batch_id[24], accepted[16], quarantined[16], run_ref[24];
    char reason[SS_PROTO_REASON_MAX + 1];

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < wh->nsets; i++)
        if (strcmp(wh->sets[i].ds->name, h->dataset) == 0)
            w = &wh->sets[i];
    if (!w) {
        out->result = SS_WH_REFUSED;
        snprintf(out->reason, sizeof(out->reason), "unknown dataset \"%s\"", h->dataset);
        return;
    }
    if (h->records > limits->max_records) {
        out->result = SS_WH_REFUSED;
        snprintf(out->reason, sizeof(out->reason), "%u records, more than the %zu allowed",
                 h->records, limits->max_records);
        return;
    }
    if (h->fields != w->ds->nfields) {
        out->result = SS_WH_REFUSED;
        snprintf(out->reason, sizeof(out->reason),
                 "records of %u fields, dataset \"%s\" has %zu (collector and daemon disagree on "
                 "the dataset definition)",
                 h->fields, w->ds->name, w->ds->nfields);
        return;
    }

    /* Check and convert every record before touching the database: a
     * malformed payload is refused whole, and no transaction is held open
     * while we parse. */
    struct ss_payload_reader rd;
    struct ss_prec rec = {.vals = wh->vals, .lens = wh->lens};
    uint32_t good = 0, bad = 0, n = 0;
    int r;
    if (refresh_authorities(wh, out) < 0)
        return;
    struct ss_validate_ctx vctx = {wh->authorities};
    ss_buf_reset(&wh->copy);
    ss_buf_reset(&wh->quar);
    if (dups_reset(wh, h->records) < 0) {
        out->result = SS_WH_RETRY;
        snprintf(out->reason, sizeof(out->reason), "out of memory");
        return;
    }
    ss_payload_reader_init(&rd, payload, len, wh->maxf, limits->max_field_bytes);
    while ((r = ss_payload_next(&rd, &rec, reason, sizeof(reason))) == 1) {
        size_t mark = wh->copy.len;
        n++;
        if (n > h->records)
            break;
        if (check_authority(wh, w->ds, &rec, limits, out) < 0)
            return;
        if (ss_buf_printf(&wh->copy, "%u\t", n) < 0) {
            snprintf(reason, sizeof(reason), "batch text over its limit");
        } else if (ss_validate_record(w->ds, &rec, &vctx, &wh->copy, reason, sizeof(reason)) == 0) {
            if (!batch_duplicate(wh, w, wh->copy.data + mark, wh->copy.len - mark, rec.line, reason,
                                 sizeof(reason))) {
                good++;
                continue;
            }
        }
        wh->copy.len = mark;
        if (wh->copy.data)
            wh->copy.data[mark] = '\0';
        if (quarantine_record(wh, &rec, reason) < 0) {
            out->result = SS_WH_REFUSED;
            snprintf(out->reason, sizeof(out->reason), "quarantine text over its limit");
            return;
        }
        bad++;
    }
    if (r < 0 || n != h->records || rd.p != rd.end) {
        out->result = SS_WH_REFUSED;
        if (r < 0)
            snprintf(out->reason, sizeof(out->reason), "malformed payload: %.480s", reason);
        else
            snprintf(out->reason, sizeof(out->reason), "header says %u records, payload holds %s%u",
                     h->records, n > h->records ? "more than " : "",
                     n > h->records ? h->records : n);
        return;
    }

    snprintf(seqs, sizeof(seqs), "%u", h->seq);
    snprintf(recs, sizeof(recs), "%u", h->records);
    res = PQexec(wh->conn, "BEGIN");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto db_error_begin;
    PQclear(res);

    /* The run's row first: it is locked until COMMIT, so the batches of one
     * run are applied one after another, whichever daemon has them. */
    const char *run_params[] = {h->source, h->run_id, h->dataset};
    res = PQexecParams(wh->conn,
                       "INSERT INTO ingest.runs AS r (source, run_id, dataset, batches_received) "
                       "VALUES ($1, $2, $3, 1) ON CONFLICT (source, run_id) DO UPDATE SET "
                       "batches_received = r.batches_received + 1 RETURNING run_ref, "
                       "(ended_at IS NOT NULL AND batches_received + coalesce(batches_refused, 0) "
                       ">= coalesce(batches_sent, 0))",
                       3, NULL, run_params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        goto db_error_ledger;
    snprintf(run_ref, sizeof(run_ref), "%s", PQgetvalue(res, 0, 0));
    int run_done = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);

    const char *ledger_params[] = {h->source,
                                   h->run_id,
                                   seqs,
                                   h->dataset,
                                   recs,
                                   run_ref,
                                   h->last ? "t" : "f",
                                   h->partial ? "t" : "f"};
    res = PQexecParams(wh->conn,
                       "INSERT INTO ingest.batches (source, run_id, seq, dataset, records, "
                       "run_ref, last, partial) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                       "ON CONFLICT (source, run_id, seq) DO NOTHING RETURNING batch_id",
                       8, NULL, ledger_params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        goto db_error_ledger;
    if (PQntuples(res) == 0) {
        PQclear(res);
        res = PQexecParams(wh->conn,
                           "SELECT accepted, quarantined FROM ingest.batches "
                           "WHERE source = $1 AND run_id = $2 AND seq = $3",
                           3, NULL, ledger_params, NULL, NULL, 0);
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

    if (good) {
        if (run_copy(wh, w->copy_sql, &wh->copy, &res) < 0)
            goto db_error_copy;
        int again = rerun_duplicates(wh, w, h, batch_id, payload, len, limits, &res);
        if (again < 0)
            goto db_error_upsert;
        good -= (uint32_t)again;
        bad += (uint32_t)again;
    }
    if (good) {
        const char *up_params[] = {h->source, batch_id};
        const char *history[] = {w->close_sql, w->succeed_sql};
        for (size_t k = 0; k < 2; k++) {
            if (!history[k])
                continue;
            res = PQexecParams(wh->conn, history[k], 0, NULL, NULL, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_COMMAND_OK)
                goto db_error_upsert;
            PQclear(res);
        }
        res = PQexecParams(wh->conn, w->upsert_sql, 2, NULL, up_params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            goto db_error_upsert;
        PQclear(res);
    }
    if (bad) {
        if (run_copy(wh, "COPY pg_temp.stage_quarantine (line, reason, raw) FROM STDIN", &wh->quar,
                     &res) < 0)
            goto db_error_copy;
        const char *q_params[] = {h->source, h->dataset, batch_id};
        res = PQexecParams(
            wh->conn,
            "INSERT INTO ingest.quarantine AS q (source, dataset, batch_id, line, reason, raw) "
            "SELECT DISTINCT ON (line, md5(reason), md5(raw)) $1, $2, $3::bigint, line, reason, "
            "raw FROM pg_temp.stage_quarantine ORDER BY line, md5(reason), md5(raw) "
            "ON CONFLICT (source, dataset, line, md5(reason), md5(raw)) DO UPDATE SET "
            "batch_id = EXCLUDED.batch_id, last_seen = now(), seen_count = q.seen_count + 1",
            3, NULL, q_params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            goto db_error_quarantine;
        PQclear(res);
    }
    snprintf(accepted, sizeof(accepted), "%u", good);
    snprintf(quarantined, sizeof(quarantined), "%u", bad);
    const char *done_params[] = {accepted, quarantined, batch_id};
    res = PQexecParams(wh->conn,
                       "UPDATE ingest.batches SET accepted = $1, quarantined = $2 "
                       "WHERE batch_id = $3",
                       3, NULL, done_params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto db_error_ledger;
    PQclear(res);
    if (run_done) {
        /* The last batch of an ended run: its keys are needed no more. */
        res = PQexecParams(wh->conn, "DELETE FROM ingest.run_keys WHERE run_ref = $1", 1, NULL,
                           (const char *[]){run_ref}, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            goto db_error_ledger;
        PQclear(res);
    }
    res = PQexec(wh->conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto db_error_commit;
    PQclear(res);
    out->result = SS_WH_APPLIED;
    out->accepted = good;
    out->quarantined = bad;
    return;

db_error_begin:
    db_fail(wh, res, "BEGIN", out);
    goto done;
db_error_ledger:
    db_fail(wh, res, "the batch ledger", out);
    goto done;
db_error_copy:
    db_fail(wh, res, "COPY", out);
    goto done;
db_error_upsert:
    db_fail(wh, res, "the upsert", out);
    goto done;
db_error_quarantine:
    db_fail(wh, res, "the quarantine insert", out);
    goto done;
db_error_commit:
    db_fail(wh, res, "COMMIT", out);
done:
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
        res = PQexecParams(wh->conn,
                           "UPDATE ingest.runs SET outcome = 'abandoned' WHERE source = $1 AND "
                           "run_id <> $2 AND outcome = 'running' AND ended_at IS NULL AND "
                           "started_at IS NOT NULL AND started_at <= coalesce($3::timestamptz, "
                           "now())",
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
        /* The run's keys are needed only while batches of it may come. */
        res = PQexecParams(
            wh->conn,
            "DELETE FROM ingest.run_keys WHERE (run_ref = $1::bigint AND $2::boolean) OR "
            "run_ref IN (SELECT run_ref FROM ingest.runs WHERE ended_at < now() - "
            "interval '1 day')",
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
