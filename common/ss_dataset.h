/* ss_dataset: the core-dataset definitions, in ONE table (ss_dataset.c).
 *
 * A dataset is a list of wire fields. The collector maps source columns onto
 * them (by default through each field's published header names), the wire
 * carries them in this order, the daemon validates each by its type, and the
 * warehouse table, its COPY column list and its natural key are all derived
 * from the same entries. Adding a dataset is adding an entry here plus its
 * table in a migration; no other code path changes.
 *
 * Fields of the period types are not stored as such: a dataset with
 * SS_DS_PERIOD stores period_start and period_end (dates, inclusive), derived
 * from whichever of month / period / period_start+period_end the record has.
 */
#ifndef SS_DATASET_H
#define SS_DATASET_H

#include <stddef.h>

enum ss_ftype {
    SS_FT_TEXT,   /* trimmed text */
    SS_FT_COUNT,  /* non-negative integer, stored as bigint */
    SS_FT_DATE,   /* a calendar date: 2019-04-01, 01/04/2019 */
    SS_FT_MONTH,  /* a month: 2019-04 (period type) */
    SS_FT_PERIOD, /* ISO 8601 interval 2023-04-01/P1M or 2023-04-01/2023-04-30 (period type) */
    SS_FT_PERIOD_START, /* first day of a count period (period type) */
    SS_FT_PERIOD_END,   /* last day of a count period, inclusive (period type) */
};

#define SS_F_REQUIRED 0x1u /* must be present and non-empty */
#define SS_F_KEY 0x2u      /* part of the natural key */

#define SS_DS_PERIOD 0x1u /* has period_start/period_end, part of the natural key */

#define SS_FIELD_MAX_HEADERS 4

struct ss_field {
    const char *name; /* wire name and (unless a period type) column name */
    enum ss_ftype type;
    unsigned flags;
    const char *headers[SS_FIELD_MAX_HEADERS]; /* published column headers mapped here by default */
    const char *comment;
};

enum ss_load {
    SS_LOAD_UPSERT, /* insert, or update the row with the same natural key when values differ */
};

struct ss_dataset {
    const char *name;  /* "loans" */
    const char *table; /* "core.loans" */
    const char *comment;
    const struct ss_field *fields;
    size_t nfields;
    unsigned flags;
    enum ss_load load;
};

/* NULL if no dataset has that name. */
const struct ss_dataset *ss_dataset_find(const char *name);
/* All datasets, NULL-terminated. */
const struct ss_dataset *const *ss_dataset_all(void);
/* Index of a wire field by name, or -1. */
int ss_dataset_field_index(const struct ss_dataset *ds, const char *name);
/* 1 if the field's type is one of the period types. */
int ss_ftype_is_period(enum ss_ftype t);
const char *ss_ftype_name(enum ss_ftype t);

/* The stored columns of a dataset, in table order: every non-period field in
 * definition order, then period_start and period_end for SS_DS_PERIOD.
 * These (and only these) are what the daemon COPYs. */
struct ss_column {
    const char *name;
    const char *sqltype; /* "text", "bigint", "date" */
    int key;             /* part of the natural key */
    int field;           /* index of the wire field, or -1 for a derived period column */
};
#define SS_DATASET_MAX_COLUMNS 64
/* Fills cols (room for SS_DATASET_MAX_COLUMNS); returns the count. */
size_t ss_dataset_columns(const struct ss_dataset *ds, struct ss_column *cols);

#endif
