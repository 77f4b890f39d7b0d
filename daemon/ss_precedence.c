/* ss_precedence: see ss_precedence.h. */
#include "ss_precedence.h"

#include <stdlib.h>
#include <string.h>

#include "ss_dataset.h"
#include "ss_err.h"
#include "ss_pg.h"
#include "ss_whsql.h"

int ss_precedence_list(PGconn *conn, FILE *out, char *err, size_t errlen)
{
    PGresult *res;
    int rc = ss_pg_query(
        conn,
        "SELECT s.source, s.precedence, coalesce((SELECT string_agg(d.dataset, ',' ORDER BY "
        "d.dataset) FROM ingest.dataset_source d WHERE d.source = s.source), '-'), (SELECT "
        "count(*) FROM core.source_values v WHERE v.source = s.source), (SELECT count(*) FROM "
        "core.source_values v WHERE v.source = s.source AND v.winning), to_char(s.first_seen, "
        "'YYYY-MM-DD HH24:MI'), to_char(s.last_seen, 'YYYY-MM-DD HH24:MI'), coalesce(s.note, '') "
        "FROM ingest.source s ORDER BY s.precedence DESC, s.source",
        0, NULL, &res, err, errlen);
    if (rc < 0)
        return rc;
    fprintf(out, "%-24s %10s %9s %7s  %-16s  %-16s  %s  %s\n", "SOURCE", "PRECEDENCE", "CONTESTED",
            "WINNING", "FIRST BATCH", "LAST BATCH", "DATASETS", "NOTE");
    for (int i = 0; i < PQntuples(res); i++)
        fprintf(out, "%-24s %10s %9s %7s  %-16s  %-16s  %s  %s\n", PQgetvalue(res, i, 0),
                PQgetvalue(res, i, 1), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
                PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), PQgetvalue(res, i, 2),
                PQgetvalue(res, i, 7));
    if (PQntuples(res) == 0)
        fprintf(out, "(no source has sent a batch yet)\n");
    PQclear(res);
    return 0;
}

/* err for a source ingest.source does not list: the ones it does. */
static int unknown_source(PGconn *conn, const char *name, char *err, size_t errlen)
{
    PGresult *res;
    char msg[256];
    const char *known = "";
    int got = ss_pg_query(conn,
                          "SELECT coalesce(string_agg(source, ', ' ORDER BY source), '') FROM "
                          "(SELECT source FROM ingest.source ORDER BY source LIMIT 20) s",
                          0, NULL, &res, msg, sizeof(msg)) == 0;
    if (got)
        known = PQgetvalue(res, 0, 0);
    snprintf(err, errlen,
             "no source \"%s\" in ingest.source (%s%s): a source is listed once the daemon has "
             "received a batch from it; see `shelfsync source list`",
             name, known[0] ? "known: " : "no source has sent a batch yet", known);
    if (got)
        PQclear(res);
    return SS_EINVAL;
}

/* The contested keys of one dataset get their winner again, under the
 * dataset's lock. *changed: the fact rows that changed. 0 or a negative
 * code with err. */
static int resolve_dataset(PGconn *conn, const struct ss_dataset *ds, long *changed, char *err,
                           size_t errlen)
{
    struct ss_whsql q;
    PGresult *res;
    char msg[1024];
    int rc;
    memset(&q, 0, sizeof(q));
    *changed = 0;
    if ((rc = ss_whsql_build(&q, ds, err, errlen)) < 0)
        goto out;
    if (!q.resolve_sql)
        goto out; /* no values to disagree on */
    if ((rc = ss_pg_exec_params(conn, "SELECT pg_advisory_xact_lock(" SS_WHSQL_DATASET_LOCK ")", 1,
                                (const char *[]){ds->name}, msg, sizeof(msg))) < 0 ||
        (rc = ss_pg_query(conn, q.resolve_sql, 0, NULL, &res, msg, sizeof(msg))) < 0) {
        snprintf(err, errlen, "dataset \"%s\": re-resolving its contested keys: %s", ds->name, msg);
        goto out;
    }
    *changed = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
out:
    ss_whsql_free(&q);
    return rc;
}

/* Within the open transaction: every dataset the source has contested
 * values in, re-resolved; what changed said on out. */
static int resolve_all(PGconn *conn, const char *name, FILE *out, char *err, size_t errlen)
{
    PGresult *res;
    int rc = ss_pg_query(conn,
                         "SELECT DISTINCT dataset FROM core.source_values WHERE source = $1 "
                         "ORDER BY 1",
                         1, (const char *[]){name}, &res, err, errlen);
    if (rc < 0)
        return rc;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        const struct ss_dataset *ds = ss_dataset_find(PQgetvalue(res, i, 0));
        long changed;
        if (!ds || ds->load != SS_LOAD_UPSERT)
            continue; /* a dataset this build does not load so: left as it is */
        if ((rc = resolve_dataset(conn, ds, &changed, err, errlen)) == 0)
            fprintf(out, "  %s: %ld fact row%s changed to the winning source's value\n", ds->name,
                    changed, changed == 1 ? "" : "s");
    }
    if (rc == 0 && PQntuples(res) == 0)
        fprintf(out, "  no fact has a value from this source and another: nothing to re-resolve\n");
    PQclear(res);
    return rc;
}

int ss_precedence_set(PGconn *conn, const char *name, int precedence, const char *note, FILE *out,
                      char *err, size_t errlen)
{
    PGresult *res;
    char prec[16], ignored[64];
    int rc;
    snprintf(prec, sizeof(prec), "%d", precedence);
    if ((rc = ss_pg_exec(conn, "BEGIN", err, errlen)) < 0)
        return rc;
    /* The source's row first, then the datasets' locks: the order a batch
     * takes them in (ss_warehouse.c). */
    if ((rc = ss_pg_query(conn,
                          "WITH old AS (SELECT precedence FROM ingest.source WHERE source = $1 FOR "
                          "UPDATE) UPDATE ingest.source s SET precedence = $2, note = "
                          "coalesce($3, s.note), changed_at = now() FROM old WHERE s.source = $1 "
                          "RETURNING old.precedence",
                          3, (const char *[]){name, prec, note}, &res, err, errlen)) < 0)
        goto fail;
    if (PQntuples(res) != 1) {
        PQclear(res);
        rc = unknown_source(conn, name, err, errlen);
        goto fail;
    }
    fprintf(out, "source \"%s\": precedence %s -> %d\n", name, PQgetvalue(res, 0, 0), precedence);
    PQclear(res);
    if ((rc = resolve_all(conn, name, out, err, errlen)) < 0 ||
        (rc = ss_pg_exec(conn, "COMMIT", err, errlen)) < 0)
        goto fail;
    return 0;
fail:
    ss_pg_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
    return rc;
}
