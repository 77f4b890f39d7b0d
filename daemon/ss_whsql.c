/* ss_whsql: see ss_whsql.h. */
#include "ss_whsql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_buf.h"
#include "ss_err.h"

/* A statement being built. Every append is checked: the first failure is
 * kept in rc and the appends after it do nothing, so a builder checks once,
 * at the end (sql_take). */
struct sql {
    struct ss_buf b;
    int rc;
    const struct ss_whsql *q;
};

static void add(struct sql *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void add(struct sql *s, const char *fmt, ...)
{
    if (s->rc < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->rc = SS_EINVAL;
        return;
    }
    if ((s->rc = ss_buf_reserve(&s->b, (size_t)n + 1)) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(s->b.data + s->b.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->b.len += (size_t)n;
}

static void sql_begin(struct sql *s, const struct ss_whsql *q)
{
    s->rc = 0;
    s->q = q;
    ss_buf_reset(&s->b);
}

/* The statement built, as a new string in *out; 0 or a negative code with
 * err naming the statement. */
static int sql_take(struct sql *s, const char *what, char **out, char *err, size_t errlen)
{
    if (s->rc == 0 && !(*out = strdup(s->b.data ? s->b.data : "")))
        s->rc = SS_ENOMEM;
    if (s->rc < 0)
        snprintf(err, errlen, "dataset \"%s\": cannot build its %s statement: %s%s", s->q->ds->name,
                 what, ss_strerror(s->rc), s->rc == SS_E2BIG ? " (longer than SS_WHSQL_MAX)" : "");
    return s->rc;
}

/* "alias.a, alias.b" over the columns that are (key) or are not (!key) in the key. */
static void column_list(struct sql *s, const char *alias, int key)
{
    const struct ss_whsql *q = s->q;
    int first = 1;
    for (size_t i = 0; i < q->ncols; i++) {
        if ((q->cols[i].key != 0) != key)
            continue;
        add(s, "%s%s%s%s", first ? "" : ", ", alias ? alias : "", alias ? "." : "",
            q->cols[i].name);
        first = 0;
    }
}

/* Staging table: the target's own column types, plus the record order. */
static int build_stage(struct sql *s, struct ss_whsql *q, char *err, size_t errlen)
{
    sql_begin(s, q);
    add(s,
        "CREATE TEMP TABLE IF NOT EXISTS stage_%s ON COMMIT DELETE ROWS AS SELECT 0::bigint AS ord",
        q->ds->name);
    for (size_t i = 0; i < q->ncols; i++)
        add(s, ", %s", q->cols[i].name);
    add(s, " FROM %s WITH NO DATA", q->ds->table);
    int rc = sql_take(s, "staging table", &q->stage_sql, err, errlen);
    if (rc < 0)
        return rc;

    sql_begin(s, q);
    add(s, "COPY pg_temp.stage_%s (ord", q->ds->name);
    for (size_t i = 0; i < q->ncols; i++)
        add(s, ", %s", q->cols[i].name);
    add(s, ") FROM STDIN");
    return sql_take(s, "COPY", &q->copy_sql, err, errlen);
}

/* Upsert: the last record of the batch wins for a repeated key; a row whose
 * values are unchanged is left alone, so a re-load writes nothing. */
static int build_upsert(struct sql *s, struct ss_whsql *q, char *err, size_t errlen)
{
    int has_values = 0;
    for (size_t i = 0; i < q->ncols; i++)
        has_values |= !q->cols[i].key;
    sql_begin(s, q);
    add(s, "INSERT INTO %s AS t (", q->ds->table);
    for (size_t i = 0; i < q->ncols; i++)
        add(s, "%s, ", q->cols[i].name);
    add(s, "source, batch_id) SELECT DISTINCT ON (");
    column_list(s, NULL, 1);
    add(s, ") ");
    for (size_t i = 0; i < q->ncols; i++)
        add(s, "%s, ", q->cols[i].name);
    add(s, "$1::text, $2::bigint FROM pg_temp.stage_%s ORDER BY ", q->ds->name);
    column_list(s, NULL, 1);
    add(s, ", ord DESC ON CONFLICT (");
    column_list(s, NULL, 1);
    add(s, ") DO ");
    if (has_values) {
        add(s, "UPDATE SET ");
        for (size_t i = 0; i < q->ncols; i++)
            if (!q->cols[i].key)
                add(s, "%s = EXCLUDED.%s, ", q->cols[i].name, q->cols[i].name);
        add(s, "source = EXCLUDED.source, batch_id = EXCLUDED.batch_id, loaded_at = now() WHERE (");
        column_list(s, "t", 0);
        add(s, ") IS DISTINCT FROM (");
        column_list(s, "EXCLUDED", 0);
        add(s, ")");
    } else {
        add(s, "NOTHING");
    }
    return sql_take(s, "upsert", &q->upsert_sql, err, errlen);
}

/* History: one call of the table's load function, which reads the staging
 * table (see ss_whsql.h). Its row: versions inserted as current, versions
 * placed in the past, rows unchanged, rows superseded, new stable ids. */
static int build_history(struct sql *s, struct ss_whsql *q, char *err, size_t errlen)
{
    sql_begin(s, q);
    add(s,
        "SELECT inserted, filled, unchanged, superseded, new_points FROM %s_load($1::text, "
        "$2::bigint, $3::timestamptz, $4::text)",
        q->ds->table);
    return sql_take(s, "history (load function)", &q->history_sql, err, errlen);
}

int ss_whsql_build(struct ss_whsql *q, const struct ss_dataset *ds, char *err, size_t errlen)
{
    struct sql s;
    int rc;

    q->ds = ds;
    q->ncols = ss_dataset_columns(ds, q->cols);
    ss_buf_init(&s.b, SS_WHSQL_MAX);
    if ((rc = build_stage(&s, q, err, errlen)) < 0 || (rc = build_upsert(&s, q, err, errlen)) < 0 ||
        (ds->load == SS_LOAD_HISTORY && (rc = build_history(&s, q, err, errlen)) < 0))
        goto out;
    sql_begin(&s, q);
    column_list(&s, NULL, 1);
    rc = sql_take(&s, "key list", &q->keys, err, errlen);
out:
    ss_buf_free(&s.b);
    return rc;
}

void ss_whsql_free(struct ss_whsql *q)
{
    free(q->stage_sql);
    free(q->copy_sql);
    free(q->upsert_sql);
    free(q->close_sql);
    free(q->succeed_sql);
    free(q->history_sql);
    free(q->keys);
    memset(q, 0, sizeof(*q));
}
