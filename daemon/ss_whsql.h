/* ss_whsql: the SQL the warehouse runs for a dataset, generated from its
 * definition (ss_dataset) and nothing else. Pure functions: no connection,
 * no I/O. Every statement is built in an ss_buf of SS_WHSQL_MAX bytes with
 * every append checked; a statement that would not fit is an error with a
 * message, never a truncated statement.
 *
 * A dataset's staging table is pg_temp.stage_<name>: the target's columns
 * plus "ord" (the record's place in the batch, so the last record wins for
 * a repeated key). The upsert and history statements take $1 the source and
 * $2 the batch id; the history one also $3 the batch's as_of (the date the
 * collector says the data describes: its config's as_of or the export's
 * Last-Modified), NULL if none, and $4 where that came from.
 *
 * A dataset with history is loaded by its table's load function,
 * <table>_load (migration 011 defines core.service_points_load): it matches
 * the staged rows to stable ids and places each version by its data date,
 * which generated SQL could not say clearly.
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
    char *upsert_sql;  /* INSERT INTO table ... SELECT DISTINCT ON ... ON CONFLICT ... */
    char *close_sql;   /* unused since history moved to the table's load function: NULL */
    char *succeed_sql; /* unused since history moved to the table's load function: NULL */
    char *history_sql; /* history: SELECT ... FROM <table>_load($1 source, $2 batch id, $3 the
                          batch's as_of or NULL, $4 its basis or NULL); else NULL */
    char *keys;        /* the key columns ("authority, month"), for messages */
};

/* Builds every statement for ds into q (which the caller zeroed). 0, or a
 * negative code (SS_E2BIG, SS_ENOMEM) with a message in err; ss_whsql_free
 * frees what was built either way. */
int ss_whsql_build(struct ss_whsql *q, const struct ss_dataset *ds, char *err, size_t errlen);
void ss_whsql_free(struct ss_whsql *q);

#endif
