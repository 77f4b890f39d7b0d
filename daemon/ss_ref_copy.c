/* ss_ref_copy: see ss_ref_copy.h. */
#include "ss_ref_copy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_err.h"
#include "ss_pg.h"
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

PGresult *ss_ref__query(PGconn *conn, const char *sql, int n, const char *const *params, char *err,
                        size_t errlen)
{
    PGresult *res;
    return ss_pg_query(conn, sql, n, params, &res, err, errlen) < 0 ? NULL : res;
}

long ss_ref__count(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res;
    long v = ss_pg_query(conn, sql, 0, NULL, &res, err, errlen);
    if (v == 0)
        v = PQntuples(res) == 1 ? atol(PQgetvalue(res, 0, 0)) : SS_EINVAL;
    PQclear(res);
    return v;
}

void ss_ref__rollback(PGconn *conn)
{
    char ignored[256];
    ss_pg_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
}

int ss_ref__begin(PGconn *conn, char *err, size_t errlen)
{
    char msg[1024];
    int rc;
    if ((rc = ss_pg_exec(conn, "BEGIN", msg, sizeof(msg))) < 0 ||
        (rc = ss_pg_exec(conn, "SET LOCAL client_min_messages = warning", msg, sizeof(msg))) <
            0 ||
        (rc = ss_pg_exec(conn, "SELECT pg_advisory_xact_lock(" SS_REF_LOCK ")", msg,
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
    int rc = ss_pg_exec(conn, "COMMIT", msg, sizeof(msg));
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
    int rc = ss_pg_copy_begin(conn, sql, err, errlen);
    if (rc < 0)
        return rc;
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
    return c->failed ? ss_pg_fail(c->conn, NULL, NULL, 0) : 0;
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
    int rc = 0;
    while ((res = PQgetResult(c->conn)) != NULL) {
        if (ok && PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = ss_pg_fail(c->conn, res, err, errlen);
            ok = 0, said = 1;
        }
        PQclear(res);
    }
    if (!ok && !abort && !said) {
        rc = ss_pg_fail(c->conn, NULL, err, errlen);
        size_t n = strlen(err);
        if (n + 13 < errlen) {
            memmove(err + 13, err, n + 1);
            memcpy(err, "COPY failed: ", 13);
        }
    }
    ss_buf_free(&c->buf);
    return ok ? 0 : abort ? SS_ESTOPPED : rc;
}
