/* ss_pg: the one way the daemon runs a statement on PostgreSQL.
 *
 * Every call checks the result's status, and on failure writes the server's
 * message (its first line, or the connection's message when there is no
 * result) into the caller's err buffer and returns a negative code:
 * SS_ERETRY when trying again later may work (the connection is gone, or
 * SQLSTATE class 08 connection, 40 transaction rollback, 53 insufficient
 * resources, 57 operator intervention, 58 system error), SS_EINVAL for any
 * other refusal (the statement or its data is wrong). A failed call leaves
 * no result to clear.
 */
#ifndef SS_PG_H
#define SS_PG_H

#include <libpq-fe.h>
#include <stddef.h>

/* Runs sql (one or more statements, no parameters): 0 when the last gave
 * COMMAND_OK or TUPLES_OK, else a negative code with err. */
int ss_pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/* Runs sql with n text parameters (NULL: SQL NULL) and no result rows
 * wanted: 0, or a negative code with err. */
int ss_pg_exec_params(PGconn *conn, const char *sql, int n, const char *const *params, char *err,
                      size_t errlen);

/* As ss_pg_exec_params for a statement that returns rows: 0 with *res set
 * (the caller PQclears it), or a negative code with err and *res NULL. */
int ss_pg_query(PGconn *conn, const char *sql, int n, const char *const *params, PGresult **res,
                char *err, size_t errlen);

/* Starts sql, a COPY ... FROM STDIN: 0 when the server waits for the data
 * (PQputCopyData, then PQputCopyEnd), else a negative code with err. */
int ss_pg_copy_begin(PGconn *conn, const char *sql, char *err, size_t errlen);

/* The code for a failed result (res may be NULL): SS_ERETRY or SS_EINVAL,
 * as above; its message into err. Does not clear res. */
int ss_pg_fail(PGconn *conn, const PGresult *res, char *err, size_t errlen);

#endif
