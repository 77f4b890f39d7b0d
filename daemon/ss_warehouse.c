/* ss_warehouse: see ss_warehouse.h. */
#include "ss_warehouse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char *copy_sql;   /* COPY pg_temp.stage_x (ord, cols) FROM STDIN */
    char *upsert_sql; /* INSERT INTO table ... SELECT DISTINCT ON ... ON CONFLICT ... */
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
    }
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
    struct ss_buf keys, vals, excl, sets;
    ss_buf_init(&keys, 4096);
    ss_buf_init(&vals, 4096);
    ss_buf_init(&excl, 4096);
    ss_buf_init(&sets, 4096);
    for (i = 0; i < w->ncols; i++) {
        const char *c = w->cols[i].name;
        if (w->cols[i].key) {
            ss_buf_printf(&keys, "%s%s", keys.len ? ", " : "", c);
        } else {
            ss_buf_printf(&vals, "%s%s", vals.len ? ", " : "", c);
            ss_buf_printf(&excl, "%sEXCLUDED.%s", excl.len ? ", " : "", c);
            ss_buf_printf(&sets, "%s = EXCLUDED.%s, ", c, c);
        }
    }
    ss_buf_reset(b);
    ss_buf_printf(b, "INSERT INTO %s AS t (", w->ds->table);
    for (i = 0; i < w->ncols; i++)
        ss_buf_printf(b, "%s, ", w->cols[i].name);
    ss_buf_printf(b, "source, batch_id) SELECT DISTINCT ON (%s) ", keys.data);
    for (i = 0; i < w->ncols; i++)
        ss_buf_printf(b, "%s, ", w->cols[i].name);
    ss_buf_printf(b,
                  "$1::text, $2::bigint FROM pg_temp.stage_%s ORDER BY %s, ord DESC "
                  "ON CONFLICT (%s) DO ",
                  short_name, keys.data, keys.data);
    if (vals.len)
        ss_buf_printf(b,
                      "UPDATE SET %ssource = EXCLUDED.source, batch_id = EXCLUDED.batch_id, "
                      "loaded_at = now() WHERE (t.%s) IS DISTINCT FROM (%s)",
                      sets.data, vals.len ? vals.data : "", excl.data);
    else
        ss_buf_adds(b, "NOTHING");
    /* "(t.a, b)" needs every column qualified; rewrite the plain list. */
    if (vals.len && strchr(vals.data, ',')) {
        struct ss_buf q;
        ss_buf_init(&q, 4096);
        for (i = 0; i < w->ncols; i++)
            if (!w->cols[i].key)
                ss_buf_printf(&q, "%st.%s", q.len ? ", " : "", w->cols[i].name);
        char *where = strstr(b->data, "WHERE (t.");
        if (where) {
            b->len = (size_t)(where - b->data);
            b->data[b->len] = '\0';
            ss_buf_printf(b, "WHERE (%s) IS DISTINCT FROM (%s)", q.data, excl.data);
        }
        ss_buf_free(&q);
    }
    w->upsert_sql = strdup(b->data);
    if (!w->copy_sql || !w->upsert_sql) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    ss_buf_free(&keys);
    ss_buf_free(&vals);
    ss_buf_free(&excl);
    ss_buf_free(&sets);
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

void ss_wh_apply(struct ss_wh *wh, const struct ss_header *h, const void *payload, size_t len,
                 const struct ss_wh_limits *limits, struct ss_wh_outcome *out)
{
    struct wh_dataset *w = NULL;
    PGresult *res = NULL;
    char seqs[16], recs[16], batch_id[24], accepted[16], quarantined[16];
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
    ss_buf_reset(&wh->copy);
    ss_buf_reset(&wh->quar);
    ss_payload_reader_init(&rd, payload, len, wh->maxf, limits->max_field_bytes);
    while ((r = ss_payload_next(&rd, &rec, reason, sizeof(reason))) == 1) {
        size_t mark = wh->copy.len;
        n++;
        if (n > h->records)
            break;
        if (ss_buf_printf(&wh->copy, "%u\t", n) < 0)
            snprintf(reason, sizeof(reason), "batch text over its limit");
        else if (ss_validate_record(w->ds, &rec, &wh->copy, reason, sizeof(reason)) == 0) {
            good++;
            continue;
        }
        wh->copy.len = mark;
        /* Quarantine line: line, reason, raw (all COPY-escaped, valid UTF-8). */
        ss_buf_reset(&wh->raw);
        if (rec.flags & SS_REC_REJECTED) {
            if (rec.nfields > 1 && rec.vals[1])
                ss_buf_add(&wh->raw, rec.vals[1],
                           rec.lens[1] < (1u << 19) ? rec.lens[1] : (1u << 19));
        } else {
            ss_validate_raw(&rec, &wh->raw);
        }
        struct ss_buf clean;
        ss_buf_init(&clean, (size_t)4 << 20);
        ss_buf_printf(&wh->quar, "%u\t", rec.line);
        ss_utf8_sanitize(&clean, reason, strlen(reason));
        ss_copy_escape(&wh->quar, clean.data ? clean.data : "", clean.len);
        ss_buf_addc(&wh->quar, '\t');
        ss_buf_reset(&clean);
        ss_utf8_sanitize(&clean, wh->raw.data ? wh->raw.data : "", wh->raw.len);
        ss_copy_escape(&wh->quar, clean.data ? clean.data : "", clean.len);
        ss_buf_free(&clean);
        if (ss_buf_addc(&wh->quar, '\n') < 0) {
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

    const char *ledger_params[] = {h->source, h->run_id, seqs, h->dataset, recs};
    res = PQexecParams(wh->conn,
                       "INSERT INTO ingest.batches (source, run_id, seq, dataset, records) "
                       "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, run_id, seq) DO NOTHING "
                       "RETURNING batch_id",
                       5, NULL, ledger_params, NULL, NULL, 0);
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
        const char *up_params[] = {h->source, batch_id};
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
            "SELECT DISTINCT ON (md5(reason), md5(raw)) $1, $2, $3::bigint, line, reason, raw "
            "FROM pg_temp.stage_quarantine ORDER BY md5(reason), md5(raw), line "
            "ON CONFLICT (source, dataset, md5(reason), md5(raw)) DO UPDATE SET "
            "batch_id = EXCLUDED.batch_id, line = EXCLUDED.line, last_seen = now(), "
            "seen_count = q.seen_count + 1",
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
