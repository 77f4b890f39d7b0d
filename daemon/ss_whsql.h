/* ss_whsql: the SQL the warehouse runs for a dataset, generated from its
 * definition (ss_dataset) and nothing else. Pure functions: no connection,
 * no I/O. Every statement is built in an ss_buf of SS_WHSQL_MAX bytes with
 * every append checked; a statement that would not fit is an error with a
 * message, never a truncated statement.
 *
 * A dataset's staging table is pg_temp.stage_<name>: the target's columns
 * plus "ord" (the record's place in the batch, so the last record wins for
 * a repeated key). The upsert and history statements take $1 the source and
 * $2 the batch id.
 */
#ifndef SS_WHSQL_H
#define SS_WHSQL_H

#include <stddef.h>

#include "ss_dataset.h"

/* The longest statement generated; a dataset needing more is refused. */
#define SS_WHSQL_MAX ((size_t)1 << 20)

struct ss_whsql {
    const struct ss_dataset *ds;
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t ncols;
    char *stage_sql;   /* CREATE TEMP TABLE IF NOT EXISTS stage_x ... */
    char *copy_sql;    /* COPY pg_temp.stage_x (ord, cols) FROM STDIN */
    char *upsert_sql;  /* INSERT INTO table ... SELECT DISTINCT ON ... ON CONFLICT ...; or, for
                          history, the INSERT of new versions */
    char *close_sql;   /* history: UPDATE ... SET valid_to that ends changed versions; else NULL */
    char *succeed_sql; /* history: ends the open version a closing (NULL -> value) replaces, if
                          the dataset has an optional key column; else NULL */
    char *keys;        /* the key columns ("authority, month"), for messages */
};

/* Builds every statement for ds into q (which the caller zeroed). 0, or a
 * negative code (SS_E2BIG, SS_ENOMEM) with a message in err; ss_whsql_free
 * frees what was built either way. */
int ss_whsql_build(struct ss_whsql *q, const struct ss_dataset *ds, char *err, size_t errlen);
void ss_whsql_free(struct ss_whsql *q);

#endif
