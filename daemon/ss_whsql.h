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
 *
 * Several sources for one fact (SS_LOAD_UPSERT datasets with values): the
 * fact row holds the winning source's value (the higher precedence in
 * ingest.source; at equal precedence the value already there stays), and
 * every source's value of a contested key -- a key two sources sent -- is
 * kept in core.source_values. side_sql records them before upsert_sql runs;
 * both cost one check of ingest.dataset_source and nothing more while only
 * one source has ever written the dataset. resolve_sql puts every contested
 * key's winner in the fact table again after a precedence changed.
 */
#ifndef SS_WHSQL_H
#define SS_WHSQL_H

#include <stddef.h>

#include "ss_dataset.h"

/* The key of the advisory lock a dataset's writers take (the daemon's
 * batches, `shelfsync source precedence`), as SQL of the dataset name $1. */
#define SS_WHSQL_DATASET_LOCK "hashtextextended('shelfsync facts ' || $1, 0)"

/* The longest statement generated; a dataset needing more is refused. */
#define SS_WHSQL_MAX ((size_t)1 << 20)

struct ss_whsql {
    const struct ss_dataset *ds;
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t ncols;
    char *stage_sql;   /* CREATE TEMP TABLE IF NOT EXISTS stage_x ... */
    char *copy_sql;    /* COPY pg_temp.stage_x (ord, cols) FROM STDIN */
    char *upsert_sql;  /* INSERT INTO table ... SELECT DISTINCT ON ... ON CONFLICT ... */
    char *direct_sql;  /* upsert: COPY table (cols, source, batch_id) FROM STDIN, for a batch
                          that meets no row already there (its lines are the staging ones
                          without ord, with the source and batch id after); else NULL */
    char *side_sql;    /* upsert with values: the staged rows' contested keys' values (this
                          source's, and the fact row's other source's) into core.source_values,
                          unless no other source has written the dataset; else NULL */
    char *resolve_sql; /* upsert with values: every contested key's winner into the fact table
                          (no parameters; the rows it changed are the facts re-resolved); else
                          NULL */
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
