/* ss_ddl: see ss_ddl.h. */
#include "ss_ddl.h"

#include <string.h>

/* A comment as an SQL string literal. */
static void lit(struct ss_buf *out, const char *s)
{
    ss_buf_addc(out, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            ss_buf_addc(out, '\'');
        ss_buf_addc(out, *s);
    }
    ss_buf_addc(out, '\'');
}

int ss_ddl_dataset(const struct ss_dataset *ds, struct ss_buf *out)
{
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t n = ss_dataset_columns(ds, cols);
    const char *table = ds->table;
    const char *bare = strchr(table, '.') ? strchr(table, '.') + 1 : table;
    int history = ds->load == SS_LOAD_HISTORY;

    ss_buf_printf(out, "CREATE TABLE %s (\n", table);
    if (history)
        ss_buf_printf(out, "    %s bigint NOT NULL,\n", ds->id_column);
    for (size_t i = 0; i < n; i++) {
        const struct ss_column *c = &cols[i];
        int not_null = c->field < 0;
        if (c->field >= 0 && c->part == 0) {
            const struct ss_field *f = &ds->fields[c->field];
            not_null = (f->flags & SS_F_REQUIRED) && f->type != SS_FT_SUPPRESSED;
        }
        if (c->part == 1 && ds->fields[c->field].type == SS_FT_SUPPRESSED)
            not_null = 1;
        ss_buf_printf(out, "    %s %s%s,\n", c->name, c->sqltype, not_null ? " NOT NULL" : "");
    }
    if (history)
        ss_buf_adds(out, "    valid_from timestamptz NOT NULL DEFAULT now(),\n"
                         "    valid_to timestamptz,\n"
                         "    valid_from_basis text NOT NULL DEFAULT 'load time',\n");
    ss_buf_adds(out, "    source text NOT NULL,\n"
                     "    batch_id bigint NOT NULL,\n"
                     "    loaded_at timestamptz NOT NULL DEFAULT now()");
    if (ds->flags & SS_DS_PERIOD)
        ss_buf_adds(out, ",\n    CHECK (period_end >= period_start)");
    ss_buf_adds(out, "\n)");
    /* Its partitions (a year each and DEFAULT) are the migrations' own. */
    if ((ds->flags & SS_DS_PERIOD) && (ds->flags & SS_DS_PARTITIONED))
        ss_buf_adds(out, " PARTITION BY RANGE (period_start)");
    ss_buf_adds(out, ";\n");

    /* The natural key: one row per key (per current version for history). */
    ss_buf_printf(out, "CREATE UNIQUE INDEX %s_key ON %s (", bare, table);
    int first = 1;
    for (size_t i = 0; i < n; i++)
        if (cols[i].key) {
            ss_buf_printf(out, "%s%s", first ? "" : ", ", cols[i].name);
            first = 0;
        }
    ss_buf_printf(out, ") NULLS NOT DISTINCT%s;\n", history ? " WHERE valid_to IS NULL" : "");
    if (history) {
        ss_buf_printf(out, "CREATE INDEX %s_versions ON %s (%s, valid_from);\n", bare, table,
                      ds->id_column);
        ss_buf_printf(out, "CREATE SEQUENCE %s_id_seq OWNED BY %s.%s;\n", table, table,
                      ds->id_column);
    }

    ss_buf_printf(out, "COMMENT ON TABLE %s IS ", table);
    lit(out, ds->comment);
    ss_buf_adds(out, ";\n");
    if (history) {
        ss_buf_printf(out, "COMMENT ON COLUMN %s.%s IS ", table, ds->id_column);
        lit(out, "Stable id shared by every version of the same row");
        ss_buf_adds(out, ";\n");
    }
    for (size_t i = 0; i < n; i++) {
        ss_buf_printf(out, "COMMENT ON COLUMN %s.%s IS ", table, cols[i].name);
        lit(out, cols[i].comment ? cols[i].comment : "");
        ss_buf_adds(out, ";\n");
    }
    if (history) {
        ss_buf_printf(out, "COMMENT ON COLUMN %s.valid_from IS ", table);
        lit(out, "When this version begins: the date its data describes (the record's as_of, else "
                 "the collector's as_of or the export's Last-Modified, else the load time; see "
                 "valid_from_basis)");
        ss_buf_printf(out, ";\nCOMMENT ON COLUMN %s.valid_to IS ", table);
        lit(out, "When the next version (by data date) begins; NULL for the current version");
        ss_buf_printf(out, ";\nCOMMENT ON COLUMN %s.valid_from_basis IS ", table);
        lit(out, "Where valid_from came from: record (its as_of column), config (the collector's "
                 "as_of), last-modified (the export's Last-Modified), load time (none of these)");
        ss_buf_adds(out, ";\n");
    }
    ss_buf_printf(out, "COMMENT ON COLUMN %s.source IS ", table);
    lit(out, "Collector source that last wrote the row");
    ss_buf_printf(out, ";\nCOMMENT ON COLUMN %s.batch_id IS ", table);
    lit(out, "Batch that last wrote the row (ingest.batches.batch_id)");
    ss_buf_printf(out, ";\nCOMMENT ON COLUMN %s.loaded_at IS ", table);
    lit(out,
        history ? "When this version was loaded" : "When the row was last inserted or changed");
    return ss_buf_adds(out, ";\n\n");
}
