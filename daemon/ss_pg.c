/* ss_pg: see ss_pg.h. */
#include "ss_pg.h"

#include <stdio.h>
#include <string.h>

#include "ss_err.h"

/* Connection trouble, shutdown, serialization failure, out of resources:
 * worth trying again later. */
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

int ss_pg_fail(PGconn *conn, const PGresult *res, char *err, size_t errlen)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg[0])
        msg = PQerrorMessage(conn);
    if (errlen) {
        snprintf(err, errlen, "%s", msg[0] ? msg : "no answer from the server");
        err[strcspn(err, "\n")] = '\0';
    }
    return transient(conn, res) ? SS_ERETRY : SS_EINVAL;
}

int ss_pg_query(PGconn *conn, const char *sql, int n, const char *const *params, PGresult **res,
                char *err, size_t errlen)
{
    PGresult *r = n ? PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0) : PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    *res = NULL;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = ss_pg_fail(conn, r, err, errlen);
        PQclear(r);
        return rc;
    }
    *res = r;
    return 0;
}

int ss_pg_exec_params(PGconn *conn, const char *sql, int n, const char *const *params, char *err,
                      size_t errlen)
{
    PGresult *res;
    int rc = ss_pg_query(conn, sql, n, params, &res, err, errlen);
    PQclear(res);
    return rc;
}

int ss_pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    return ss_pg_exec_params(conn, sql, 0, NULL, err, errlen);
}

int ss_pg_copy_begin(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    int rc = PQresultStatus(res) == PGRES_COPY_IN ? 0 : ss_pg_fail(conn, res, err, errlen);
    PQclear(res);
    return rc;
}
