/* ss_partstats: see ss_partstats.h. */
#include "ss_partstats.h"

#include <stdlib.h>
#include <string.h>

#include "ss_dataset.h"
#include "ss_pg.h"

void ss_partstats_init(struct ss_partstats *ps)
{
    memset(ps, 0, sizeof(*ps));
    ps->busy = SS_PARTSTATS_MAX;
}

int ss_partstats_due(double pending, double reltuples)
{
    return pending > SS_PARTSTATS_BASE + SS_PARTSTATS_SCALE * (reltuples > 0 ? reltuples : 0);
}

/* The index of table's entry, made (reltuples not read yet) if new;
 * SS_PARTSTATS_MAX when the table is full. */
static size_t entry(struct ss_partstats *ps, const char *table)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->t[i].table, table) == 0)
            return i;
    if (ps->n == SS_PARTSTATS_MAX)
        return SS_PARTSTATS_MAX;
    ps->t[ps->n].table = table;
    ps->t[ps->n].pending = 0;
    ps->t[ps->n].reltuples = -1;
    return ps->n++;
}

/* A one-row, one-column float answer of sql with the table as $1. */
static int query_real(PGconn *conn, const char *sql, const char *table, double *out, char *err,
                      size_t errlen)
{
    PGresult *res;
    int rc = ss_pg_query(conn, sql, 1, (const char *const[]){table}, &res, err, errlen);
    if (rc < 0)
        return rc;
    *out = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? strtod(PQgetvalue(res, 0, 0), NULL) : 0;
    PQclear(res);
    return 0;
}

int ss_partstats_note(struct ss_partstats *ps, PGconn *conn, const char *dataset, unsigned rows,
                      char *err, size_t errlen)
{
    const struct ss_dataset *ds = ss_dataset_find(dataset);
    if (!ds || !(ds->flags & SS_DS_PARTITIONED) || !rows || !conn)
        return 0;
    size_t i = entry(ps, ds->table);
    if (i == SS_PARTSTATS_MAX)
        return 0;
    ps->t[i].pending += rows;
    if (ps->busy != SS_PARTSTATS_MAX)
        return 0; /* one at a time: this table's rows wait for the next */
    int rc;
    if (ps->t[i].reltuples < 0 &&
        (rc = query_real(conn,
                         "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM pg_inherits i "
                         "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = "
                         "to_regclass($1)",
                         ds->table, &ps->t[i].reltuples, err, errlen)) < 0)
        return rc;
    if (!ss_partstats_due(ps->t[i].pending, ps->t[i].reltuples))
        return 0;
    if (!PQsendQueryParams(conn, "SELECT core.analyze_partitioned($1::regclass)", 1, NULL,
                           (const char *const[]){ds->table}, NULL, NULL, 0))
        return ss_pg_fail(conn, NULL, err, errlen);
    /* Rows written from now on count towards the next one. */
    ps->t[i].pending = 0;
    ps->busy = i;
    return 1;
}

int ss_partstats_poll(struct ss_partstats *ps, PGconn *conn, char *err, size_t errlen)
{
    if (ps->busy == SS_PARTSTATS_MAX || !conn)
        return 0;
    size_t i = ps->busy;
    if (!PQconsumeInput(conn)) {
        ps->busy = SS_PARTSTATS_MAX;
        ps->t[i].pending += SS_PARTSTATS_BASE + 1; /* due again */
        return ss_pg_fail(conn, NULL, err, errlen);
    }
    if (PQisBusy(conn))
        return 0;
    int rc = 1;
    PGresult *res;
    while ((res = PQgetResult(conn))) {
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && rc == 1)
            ps->t[i].reltuples = PQgetisnull(res, 0, 0) ? 0 : strtod(PQgetvalue(res, 0, 0), NULL);
        else if (rc == 1)
            rc = ss_pg_fail(conn, res, err, errlen);
        PQclear(res);
    }
    ps->busy = SS_PARTSTATS_MAX;
    if (rc < 0)
        ps->t[i].pending += SS_PARTSTATS_BASE + 1;
    return rc;
}
