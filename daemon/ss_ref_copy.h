/* ss_ref_copy: how the reference loaders (ss_ref_load.c, ss_ref_alias.c)
 * talk to PostgreSQL; internal to ss_ref_*.c, hence the ss_ref__ prefix.
 *
 * A load is one transaction under the ref-load advisory lock
 * (ss_ref__begin .. ss_ref__commit, or ss_ref__rollback), so two
 * `shelfsync ref load` runs never interleave their alias merges. Rows go in
 * through COPY ... FROM STDIN in text format, buffered and flushed every
 * SS_REF_COPY_FLUSH bytes.
 *
 * Every int function returns 0 or a negative code: SS_ERETRY when the
 * connection is gone, SS_EINVAL when the server refused the statement or
 * the data (its message in err), SS_ENOMEM / SS_E2BIG when a row did not fit
 * the COPY buffer.
 */
#ifndef SS_REF_COPY_H
#define SS_REF_COPY_H

#include <libpq-fe.h>
#include <stddef.h>

#include "ss_buf.h"
#include "ss_log.h"

/* Bytes of COPY data sent at once. */
#define SS_REF_COPY_FLUSH ((size_t)64 << 10)
/* The most one COPY buffers before a row ends (a row is far smaller). */
#define SS_REF_COPY_MAX ((size_t)16 << 20)

void ss_ref__set_err(char *err, size_t errlen, const char *fmt, ...) SS_PRINTF(3, 4);
/* Sets err to "what: message", without libpq's trailing newline. */
void ss_ref__db_err(char *err, size_t errlen, const char *what, const char *msg);

/* A query with n text parameters: the result (the caller PQclears it), or
 * NULL with err when the server refused it. */
PGresult *ss_ref__query(PGconn *conn, const char *sql, int n, const char *const *params, char *err,
                        size_t errlen);
/* A query giving one number (count(*)): the number, or a negative code. */
long ss_ref__count(PGconn *conn, const char *sql, char *err, size_t errlen);

/* BEGIN and the ref-load lock; COMMIT (rolling back if that fails); ROLLBACK.
 * err gets "cannot start the load: ..." / "commit failed: ...". */
int ss_ref__begin(PGconn *conn, char *err, size_t errlen);
int ss_ref__commit(PGconn *conn, char *err, size_t errlen);
void ss_ref__rollback(PGconn *conn);

/* One COPY ... FROM STDIN in text format. After ss_ref__copy_begin
 * succeeds, ss_ref__copy_end must be called (it frees the buffer). */
struct ss_ref_copy {
    PGconn *conn;
    struct ss_buf buf;
    int field; /* fields so far in the current row */
    int failed;
};

int ss_ref__copy_begin(struct ss_ref_copy *c, PGconn *conn, const char *sql, char *err,
                       size_t errlen);
/* A field: text (NULL for SQL NULL), escaped for COPY's text format. A
 * failure is remembered and reported by ss_ref__copy_row_end. */
void ss_ref__copy_text(struct ss_ref_copy *c, const char *s);
void ss_ref__copy_int(struct ss_ref_copy *c, long long v);
/* Ends the row, sending the buffer when it is large enough. */
int ss_ref__copy_row_end(struct ss_ref_copy *c);
/* Ends the COPY; with abort set (or after a failure) the server discards
 * it. With abort set, err is left alone. */
int ss_ref__copy_end(struct ss_ref_copy *c, int abort, char *err, size_t errlen);

#endif
