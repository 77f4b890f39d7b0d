/* ss_ref_copy: see ss_ref_copy.h. */
#include "ss_ref_copy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_err.h"
#include "ss_text.h"

/* Serialises `shelfsync ref load` runs: the alias merge reads, then writes. */
#define SS_REF_LOCK "7310593858020181348"

void ss_ref__set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void ss_ref__db_err(char *err, size_t errlen, const char *what, const char *msg)
{
    size_t n = strlen(msg);
    ss_trim(&msg, &n);
    ss_ref__set_err(err, errlen, "%s: %.*s", what, (int)n, msg);
}

/* What a failed statement means: the connection is gone, or the server said no. */
static int db_rc(PGconn *conn)
{
    return PQstatus(conn) == CONNECTION_BAD ? SS_ERETRY : SS_EINVAL;
}

int ss_ref__exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        ss_ref__set_err(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : db_rc(conn);
}

PGresult *ss_ref__query(PGconn *conn, const char *sql, int n, const char *const *params, char *err,
                        size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        ss_ref__set_err(err, errlen, "%s", PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

long ss_ref__count(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = ss_ref__query(conn, sql, 0, NULL, err, errlen);
    long v = SS_EINVAL;
    if (res && PQntuples(res) == 1)
        v = atol(PQgetvalue(res, 0, 0));
    else if (!res)
        v = db_rc(conn);
    PQclear(res);
    return v;
}

void ss_ref__rollback(PGconn *conn)
{
    char ignored[256];
    ss_ref__exec(conn, "ROLLBACK", ignored, sizeof(ignored));
}

int ss_ref__begin(PGconn *conn, char *err, size_t errlen)
{
    char msg[1024];
    int rc;
    if ((rc = ss_ref__exec(conn, "BEGIN", msg, sizeof(msg))) < 0 ||
        (rc = ss_ref__exec(conn, "SET LOCAL client_min_messages = warning", msg, sizeof(msg))) <
            0 ||
        (rc = ss_ref__exec(conn, "SELECT pg_advisory_xact_lock(" SS_REF_LOCK ")", msg,
                           sizeof(msg))) < 0) {
        ss_ref__db_err(err, errlen, "cannot start the load", msg);
        ss_ref__rollback(conn);
        return rc;
    }
    return 0;
}

int ss_ref__commit(PGconn *conn, char *err, size_t errlen)
{
    char msg[1024];
    int rc = ss_ref__exec(conn, "COMMIT", msg, sizeof(msg));
    if (rc < 0) {
        ss_ref__db_err(err, errlen, "commit failed", msg);
        ss_ref__rollback(conn);
    }
    return rc;
}

int ss_ref__copy_begin(struct ss_ref_copy *c, PGconn *conn, const char *sql, char *err,
                       size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->conn = conn;
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COPY_IN;
    if (!ok)
        ss_ref__set_err(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    if (!ok)
        return db_rc(conn);
    ss_buf_init(&c->buf, SS_REF_COPY_MAX);
    return 0;
}

void ss_ref__copy_text(struct ss_ref_copy *c, const char *s)
{
    if (c->field++)
        c->failed |= ss_buf_addc(&c->buf, '\t') < 0;
    if (!s) {
        c->failed |= ss_buf_adds(&c->buf, "\\N") < 0;
        return;
    }
    for (; *s; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            break;
        }
        c->failed |= (esc ? ss_buf_adds(&c->buf, esc) : ss_buf_addc(&c->buf, *s)) < 0;
    }
}

void ss_ref__copy_int(struct ss_ref_copy *c, long long v)
{
    char num[32];
    snprintf(num, sizeof(num), "%lld", v);
    ss_ref__copy_text(c, num);
}

static int copy_flush(struct ss_ref_copy *c)
{
    if (c->buf.len && PQputCopyData(c->conn, c->buf.data, (int)c->buf.len) != 1)
        c->failed = 1;
    ss_buf_reset(&c->buf);
    return c->failed ? db_rc(c->conn) : 0;
}

int ss_ref__copy_row_end(struct ss_ref_copy *c)
{
    c->failed |= ss_buf_addc(&c->buf, '\n') < 0;
    c->field = 0;
    if (c->buf.len >= SS_REF_COPY_FLUSH)
        return copy_flush(c);
    return c->failed ? SS_E2BIG : 0;
}

int ss_ref__copy_end(struct ss_ref_copy *c, int abort, char *err, size_t errlen)
{
    int ok = !abort && copy_flush(c) == 0, said = 0;
    PQputCopyEnd(c->conn, ok ? NULL : "aborted by shelfsync");
    PGresult *res;
    while ((res = PQgetResult(c->conn)) != NULL) {
        if (ok && PQresultStatus(res) != PGRES_COMMAND_OK) {
            ss_ref__set_err(err, errlen, "%s", PQresultErrorMessage(res));
            ok = 0, said = 1;
        }
        PQclear(res);
    }
    if (!ok && !abort && !said)
        ss_ref__set_err(err, errlen, "COPY failed: %s", PQerrorMessage(c->conn));
    ss_buf_free(&c->buf);
    return ok ? 0 : abort ? SS_ESTOPPED : db_rc(c->conn);
}
