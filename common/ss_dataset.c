/* ss_dataset: the one table of core-dataset definitions. See ss_dataset.h.
 *
 * Header names are the published ones (LibrariesHacked public library
 * open-data schemas, current and older versions), so a file in any published
 * version maps without configuration.
 */
#include "ss_dataset.h"

#include <string.h>

static const struct ss_field loans_fields[] = {
    {"authority",
     SS_FT_TEXT,
     SS_F_REQUIRED | SS_F_KEY,
     {"Local authority"},
     "Local authority responsible for the library service, as the source names it"},
    {"service_point",
     SS_FT_TEXT,
     SS_F_REQUIRED | SS_F_KEY,
     {"Library name"},
     "Library (service point) the loans were made at, as the source names it"},
    {"month", SS_FT_MONTH, 0, {"Month"}, "Month of the count, YYYY-MM (schema 0.3.0)"},
    {"period", SS_FT_PERIOD, 0, {"Period"}, "Count period as an ISO 8601 interval"},
    {"period_start",
     SS_FT_PERIOD_START,
     0,
     {"Count start"},
     "First day of the count period (schema before 0.3.0)"},
    {"period_end",
     SS_FT_PERIOD_END,
     0,
     {"Count end"},
     "Last day of the count period, inclusive (schema before 0.3.0)"},
    {"item_type",
     SS_FT_TEXT,
     SS_F_REQUIRED | SS_F_KEY,
     {"Type"},
     "Item type as the library service categorises it, e.g. Adult fiction"},
    {"loans",
     SS_FT_COUNT,
     SS_F_REQUIRED,
     {"Loans"},
     "Issues and renewals of that item type in the count period"},
};

static const struct ss_dataset loans = {
    .name = "loans",
    .table = "core.loans",
    .comment = "Loans (issues and renewals) by service point, count period and item type",
    .fields = loans_fields,
    .nfields = sizeof(loans_fields) / sizeof(loans_fields[0]),
    .flags = SS_DS_PERIOD,
    .load = SS_LOAD_UPSERT,
};

static const struct ss_dataset *const all_datasets[] = {&loans, NULL};

const struct ss_dataset *const *ss_dataset_all(void)
{
    return all_datasets;
}

const struct ss_dataset *ss_dataset_find(const char *name)
{
    for (size_t i = 0; all_datasets[i]; i++)
        if (strcmp(all_datasets[i]->name, name) == 0)
            return all_datasets[i];
    return NULL;
}

int ss_dataset_field_index(const struct ss_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->nfields; i++)
        if (strcmp(ds->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

int ss_ftype_is_period(enum ss_ftype t)
{
    return t == SS_FT_MONTH || t == SS_FT_PERIOD || t == SS_FT_PERIOD_START ||
           t == SS_FT_PERIOD_END;
}

const char *ss_ftype_name(enum ss_ftype t)
{
    switch (t) {
    case SS_FT_TEXT:
        return "text";
    case SS_FT_COUNT:
        return "count";
    case SS_FT_DATE:
        return "date";
    case SS_FT_MONTH:
        return "month";
    case SS_FT_PERIOD:
        return "period";
    case SS_FT_PERIOD_START:
        return "period start";
    case SS_FT_PERIOD_END:
        return "period end";
    }
    return "?";
}

static const char *ftype_sql(enum ss_ftype t)
{
    switch (t) {
    case SS_FT_COUNT:
        return "bigint";
    case SS_FT_DATE:
        return "date";
    default:
        return "text";
    }
}

size_t ss_dataset_columns(const struct ss_dataset *ds, struct ss_column *cols)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->nfields && n < SS_DATASET_MAX_COLUMNS - 2; i++) {
        const struct ss_field *f = &ds->fields[i];
        if (ss_ftype_is_period(f->type))
            continue;
        cols[n++] =
            (struct ss_column){f->name, ftype_sql(f->type), (f->flags & SS_F_KEY) != 0, (int)i};
    }
    if (ds->flags & SS_DS_PERIOD) {
        cols[n++] = (struct ss_column){"period_start", "date", 1, -1};
        cols[n++] = (struct ss_column){"period_end", "date", 1, -1};
    }
    return n;
}
