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

/* "alias.a, alias.b" over the columns that are (key 1) or are not (key 0)
 * in the key, or over every stored column (key -1). */
static void column_list(struct sql *s, const char *alias, int key)
{
    const struct ss_whsql *q = s->q;
    int first = 1;
    for (size_t i = 0; i < q->ncols; i++) {
        if (key >= 0 && (q->cols[i].key != 0) != key)
            continue;
        add(s, "%s%s%s%s", first ? "" : ", ", alias ? alias : "", alias ? "." : "",
            q->cols[i].name);
        first = 0;
    }
}

/* 1 if a stored column may hold NULL (an optional field's value). */
static int nullable(const struct ss_whsql *q, size_t i)
{
    int f = q->cols[i].field;
    return f >= 0 && !(q->ds->fields[f].flags & SS_F_REQUIRED);
}

/* "t.a = s.a AND ..." over the key columns. "=" where a column cannot be
 * NULL, so the key's index is used; IS NOT DISTINCT FROM only for the
 * optional key columns (a whole-authority row's service point). */
static void keys_match(struct sql *s, const char *l, const char *r)
{
    const struct ss_whsql *q = s->q;
    int first = 1;
    for (size_t i = 0; i < q->ncols; i++) {
        if (!q->cols[i].key)
            continue;
        add(s, "%s%s.%s %s %s.%s", first ? "" : " AND ", l, q->cols[i].name,
            nullable(q, i) ? "IS NOT DISTINCT FROM" : "=", r, q->cols[i].name);
        first = 0;
    }
}

/* "jsonb_build_object('a', alias.a, ...)" over the key (key) or value
 * (!key) columns: how core.source_values holds a key and a row's values. */
static void json_of(struct sql *s, const char *alias, int key)
{
    const struct ss_whsql *q = s->q;
    int first = 1;
    add(s, "jsonb_build_object(");
    for (size_t i = 0; i < q->ncols; i++) {
        if ((q->cols[i].key != 0) != key)
            continue;
        add(s, "%s'%s', %s.%s", first ? "" : ", ", q->cols[i].name, alias, q->cols[i].name);
        first = 0;
    }
    add(s, ")");
}

/* The precedence of the source named by expr (0 for one ingest.source does
 * not list). */
static void precedence(struct sql *s, const char *expr)
{
    add(s, "coalesce((SELECT p.precedence FROM ingest.source p WHERE p.source = %s), 0)", expr);
}

/* "A source other than $1 has written the dataset": uncorrelated, so
 * PostgreSQL evaluates it once per statement, from the small
 * ingest.dataset_source. */
static void other_source(struct sql *s)
{
    add(s,
        "EXISTS (SELECT 1 FROM ingest.dataset_source d WHERE d.dataset = '%s' AND d.source <> "
        "$1::text)",
        s->q->ds->name);
}

/* Staging table: the target's own column types, plus the record order. */
static int build_stage(struct sql *s, struct ss_whsql *q, char *err, size_t errlen)
{
    sql_begin(s, q);
    add(s,
        "CREATE TEMP TABLE IF NOT EXISTS stage_%s ON COMMIT DELETE ROWS AS SELECT 0::bigint AS ord",
        q->ds->name);
    add(s, ", ");
    column_list(s, NULL, -1);
    add(s, " FROM %s WITH NO DATA", q->ds->table);
    int rc = sql_take(s, "staging table", &q->stage_sql, err, errlen);
    if (rc < 0)
        return rc;

    sql_begin(s, q);
    add(s, "COPY pg_temp.stage_%s (ord, ", q->ds->name);
    column_list(s, NULL, -1);
    add(s, ") FROM STDIN");
    return sql_take(s, "COPY", &q->copy_sql, err, errlen);
}

/* Upsert: the last record of the batch wins for a repeated key; a row whose
 * values are unchanged is left alone, so a re-load writes nothing. A row
 * another source wrote is replaced only by a source of higher precedence
 * (side_sql has kept both values): with one source the CASE never reaches
 * its precedence lookups. */
static int build_upsert(struct sql *s, struct ss_whsql *q, char *err, size_t errlen)
{
    int has_values = 0;
    for (size_t i = 0; i < q->ncols; i++)
        has_values |= !q->cols[i].key;
    sql_begin(s, q);
    add(s, "INSERT INTO %s AS t (", q->ds->table);
    column_list(s, NULL, -1);
    add(s, ", source, batch_id) SELECT DISTINCT ON (");
    column_list(s, NULL, 1);
    add(s, ") ");
    column_list(s, NULL, -1);
    add(s, ", $1::text, $2::bigint FROM pg_temp.stage_%s ORDER BY ", q->ds->name);
    column_list(s, NULL, 1);
    add(s, ", ord DESC ON CONFLICT (");
    column_list(s, NULL, 1);
    add(s, ") DO ");
    if (has_values) {
        add(s, "UPDATE SET ");
        for (size_t i = 0; i < q->ncols; i++)
            if (!q->cols[i].key)
                add(s, "%s = EXCLUDED.%s, ", q->cols[i].name, q->cols[i].name);
        add(s, "source = EXCLUDED.source, batch_id = EXCLUDED.batch_id, loaded_at = now() WHERE "
               "CASE WHEN t.source = EXCLUDED.source THEN (");
        column_list(s, "t", 0);
        add(s, ") IS DISTINCT FROM (");
        column_list(s, "EXCLUDED", 0);
        add(s, ") ELSE ");
        precedence(s, "EXCLUDED.source");
        add(s, " > ");
        precedence(s, "t.source");
        add(s, " END");
    } else {
        add(s, "NOTHING");
    }
    int rc = sql_take(s, "upsert", &q->upsert_sql, err, errlen);
    if (rc < 0 || q->ds->load != SS_LOAD_UPSERT)
        return rc;

    sql_begin(s, q);
    add(s, "COPY %s (", q->ds->table);
    column_list(s, NULL, -1);
    add(s, ", source, batch_id) FROM STDIN");
    return sql_take(s, "direct COPY", &q->direct_sql, err, errlen);
}

/* Several sources (see ss_whsql.h). side_sql: the staged rows joined to the
 * fact rows they meet; a key is contested when the fact row is another
 * source's, or core.source_values has it already. For a contested key the
 * fact row's value (if another source's: kept once, from before this
 * batch) and this source's go to core.source_values, each with whether it
 * wins -- as upsert_sql will decide. */
static int build_side(struct sql *s, struct ss_whsql *q, char *err, size_t errlen)
{
    const char *ds = q->ds->name;
    sql_begin(s, q);
    add(s, "WITH s AS (SELECT DISTINCT ON (");
    column_list(s, NULL, 1);
    add(s, ") * FROM pg_temp.stage_%s WHERE ", ds);
    other_source(s);
    add(s, " ORDER BY ");
    column_list(s, NULL, 1);
    add(s, ", ord DESC), c AS (SELECT s.*, ");
    json_of(s, "s", 1);
    add(s, " AS sv_key, concat_ws(' / ', ");
    column_list(s, "s", 1);
    add(s, ") AS sv_key_text, t.source AS sv_source, ");
    json_of(s, "t", 0);
    add(s, " AS sv_value, t.batch_id AS sv_batch, t.loaded_at AS sv_loaded, (t.source IS NULL OR "
           "t.source = $1::text OR ");
    precedence(s, "$1::text");
    add(s, " > ");
    precedence(s, "t.source");
    add(s, ") AS sv_wins FROM s LEFT JOIN %s t ON ", q->ds->table);
    keys_match(s, "t", "s");
    add(s,
        "), seed AS (INSERT INTO core.source_values AS v (dataset, key, key_text, source, value, "
        "winning, batch_id, loaded_at) SELECT '%s', sv_key, sv_key_text, sv_source, sv_value, "
        "NOT sv_wins, sv_batch, sv_loaded FROM c WHERE sv_source <> $1::text ON CONFLICT "
        "(dataset, key, source) DO UPDATE SET winning = EXCLUDED.winning WHERE v.winning IS "
        "DISTINCT FROM EXCLUDED.winning) ",
        ds);
    add(s,
        "INSERT INTO core.source_values AS v (dataset, key, key_text, source, value, winning, "
        "batch_id, loaded_at) SELECT '%s', c.sv_key, c.sv_key_text, $1::text, ",
        ds);
    json_of(s, "c", 0);
    add(s,
        ", c.sv_wins, $2::bigint, now() FROM c WHERE c.sv_source <> $1::text OR EXISTS (SELECT "
        "1 FROM core.source_values e WHERE e.dataset = '%s' AND e.key = c.sv_key) ON CONFLICT "
        "(dataset, key, source) DO UPDATE SET value = EXCLUDED.value, winning = "
        "EXCLUDED.winning, batch_id = EXCLUDED.batch_id, loaded_at = EXCLUDED.loaded_at WHERE "
        "(v.value, v.winning) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.winning)",
        ds);
    return sql_take(s, "source values", &q->side_sql, err, errlen);
}

/* resolve_sql: per contested key the winner -- the highest precedence; at
 * equal precedence the fact row's source, then the earliest loaded -- its
 * flag in core.source_values, and its value in the fact row (rebuilt from
 * the stored key and value with jsonb_populate_record). */
static int build_resolve(struct sql *s, struct ss_whsql *q, char *err, size_t errlen)
{
    const char *ds = q->ds->name, *table = q->ds->table;
    sql_begin(s, q);
    add(s,
        "WITH w AS (SELECT DISTINCT ON (v.key) v.key, v.source, v.value, v.batch_id FROM "
        "core.source_values v CROSS JOIN LATERAL jsonb_populate_record(NULL::%s, v.key) AS kk "
        "LEFT JOIN %s cur ON ",
        table, table);
    keys_match(s, "cur", "kk");
    add(s, " WHERE v.dataset = '%s' ORDER BY v.key, ", ds);
    precedence(s, "v.source");
    add(s,
        " DESC, coalesce(cur.source = v.source, false) DESC, v.loaded_at, v.source), flags AS "
        "(UPDATE core.source_values f SET winning = (f.source = w.source) FROM w WHERE "
        "f.dataset = '%s' AND f.key = w.key AND f.winning IS DISTINCT FROM (f.source = "
        "w.source)) UPDATE %s AS t SET ",
        ds, table);
    for (size_t i = 0; i < q->ncols; i++)
        if (!q->cols[i].key)
            add(s, "%s = r.%s, ", q->cols[i].name, q->cols[i].name);
    add(s,
        "source = w.source, batch_id = w.batch_id, loaded_at = now() FROM w CROSS JOIN LATERAL "
        "jsonb_populate_record(NULL::%s, w.key || w.value) AS r WHERE ",
        table);
    keys_match(s, "t", "r");
    add(s, " AND (t.source IS DISTINCT FROM w.source OR (");
    column_list(s, "t", 0);
    add(s, ") IS DISTINCT FROM (");
    column_list(s, "r", 0);
    add(s, "))");
    return sql_take(s, "re-resolve", &q->resolve_sql, err, errlen);
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
    int has_values = 0;
    for (size_t i = 0; i < q->ncols; i++)
        has_values |= !q->cols[i].key;
    if (ds->load == SS_LOAD_UPSERT && has_values &&
        ((rc = build_side(&s, q, err, errlen)) < 0 || (rc = build_resolve(&s, q, err, errlen)) < 0))
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
    free(q->direct_sql);
    free(q->side_sql);
    free(q->resolve_sql);
    free(q->history_sql);
    free(q->keys);
    memset(q, 0, sizeof(*q));
}
