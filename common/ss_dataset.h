/* ss_dataset: the core-dataset definitions, in ONE table (ss_dataset.c).
 *
 * A dataset is a list of wire fields. The collector maps source columns onto
 * them (by default through each field's published header names), the wire
 * carries them in this order, the daemon validates and normalises each by its
 * type, and the warehouse table, its COPY column list, its natural key, its
 * load semantics and its documentation (COMMENTs) are all derived from the
 * same entries. Adding a dataset is adding an entry here plus its table in a
 * migration (`shelfsync dataset-sql` prints the DDL the entry implies); no
 * other code path changes.
 *
 * Fields of the period types are not stored as such: a dataset with
 * SS_DS_PERIOD stores period_start and period_end (dates, inclusive), derived
 * from whichever of month / period / period_start+period_end the record has.
 */
#ifndef SS_DATASET_H
#define SS_DATASET_H

#include <stddef.h>

enum ss_ftype {
    SS_FT_TEXT,         /* trimmed text */
    SS_FT_COUNT,        /* non-negative integer ("1,234" accepted), bigint */
    SS_FT_DATE,         /* a calendar date: 2019-04-01, 01/04/2019 */
    SS_FT_MONTH,        /* a month: 2019-04 (period type) */
    SS_FT_PERIOD,       /* 2023-04-01/P1M, 2023-04-01/2023-04-30, 2023-24 (period type) */
    SS_FT_PERIOD_START, /* first day of a count period (period type) */
    SS_FT_PERIOD_END,   /* last day of a count period, inclusive (period type) */
    SS_FT_AUTHORITY,    /* authority name or GSS code -> GSS code through ref.authority_alias */
    SS_FT_POSTCODE,     /* UK postcode, upper case with one space; placeholders are missing */
    SS_FT_UPRN,         /* unique property reference number, bigint */
    SS_FT_YESNO,        /* yes/no variants -> boolean */
    SS_FT_LIBTYPE,      /* library type code list LAL LAL- CL CRL ICL (+ IL, LA, LAU, C, CR) */
    SS_FT_YEAR,         /* four-digit year, integer */
    SS_FT_TIME,         /* time of day HH:MM */
    SS_FT_DECIMAL,      /* decimal number, numeric */
    SS_FT_SUPPRESSED, /* count that may be "x" (1-4, withheld): columns NAME and NAME_suppressed */
    SS_FT_HOURS, /* a day's opening hours 09:00-12:00,13:00-17:00: columns NAME and NAME_minutes */
    SS_FT_WEEKDAY,   /* day of the week, stored as its English name */
    SS_FT_CODE,      /* one value of the field's code list, stored in its canonical spelling */
    SS_FT_TIMESTAMP, /* ISO 8601 date and time; no offset means Europe/London */
    SS_FT_PSEUDONYM, /* a pseudonymous key: 64 lower-case hex digits (HMAC-SHA256), never clear text
                      */
    SS_FT_OCCURRENCE, /* filled by the collector: the nth record with the same key in the export */
    SS_FT_STATUS,     /* a service point's status: Open, Closed, Temporarily closed (from the
                         value, else from the record's SS_F_CLOSURE fields, else Open) */
};

#define SS_F_REQUIRED 0x1u /* must be present and non-empty */
#define SS_F_KEY 0x2u      /* part of the natural key */
/* The value may say the service point is closed: a year (year closed) always
 * does; a library type or yes/no that is a closure code ("XL", "Closed",
 * "Temporary Closure") says so instead of being a value (stored NULL). The
 * record's SS_FT_STATUS field, when the source gives none, is derived from
 * them. */
#define SS_F_CLOSURE 0x4u
/* Added to the wire after the dataset's first version, at the end of its
 * fields: a batch from an older collector may leave it (and every field
 * after it) off, and the daemon takes them as absent. Only optional fields. */
#define SS_F_ADDED 0x8u
/* The date the record describes (a service point's as_of): its authority
 * resolves as at that day, as a count period's does. */
#define SS_F_DATES 0x10u

#define SS_DS_PERIOD 0x1u /* has period_start/period_end, part of the natural key */
/* SS_DS_PERIOD only: the table is partitioned by financial year of
 * period_start (migration 017; core.add_financial_year_partition). */
#define SS_DS_PARTITIONED 0x2u

#define SS_FIELD_MAX_HEADERS 4

struct ss_field {
    const char *name; /* wire name and (unless column says otherwise) column name */
    enum ss_ftype type;
    unsigned flags;
    const char *headers[SS_FIELD_MAX_HEADERS]; /* published column headers mapped here by default */
    const char *comment;
    const char *column;       /* stored column name when it differs from name */
    const char *const *codes; /* SS_FT_CODE: the list, NULL-terminated */
    const char *code_list;    /* SS_FT_CODE: the list's name in ref.code_list */
};

enum ss_load {
    SS_LOAD_UPSERT,  /* insert, or update the row with the same natural key when values differ */
    SS_LOAD_HISTORY, /* keep versions, each valid from the date the source says it describes:
                        the table's load function (<table>_load in a migration) matches the
                        staged rows to their stable ids and places each version in time;
                        nothing is deleted */
};

struct ss_dataset {
    const char *name;  /* "loans" */
    const char *table; /* "core.loans" */
    const char *comment;
    const struct ss_field *fields;
    size_t nfields;
    unsigned flags;
    enum ss_load load;
    const char *id_column; /* SS_LOAD_HISTORY: the stable id shared by a row's versions */
};

/* NULL if no dataset has that name. */
const struct ss_dataset *ss_dataset_find(const char *name);
/* All datasets, NULL-terminated. */
const struct ss_dataset *const *ss_dataset_all(void);
/* Index of a wire field by name, or -1 if none. */
int ss_dataset_field_index(const struct ss_dataset *ds, const char *name);
/* 1 if the field's type is one of the period types. */
int ss_ftype_is_period(enum ss_ftype t);
/* The type as a message names it ("month", "count or x"). */
const char *ss_ftype_name(enum ss_ftype t);
/* The fewest fields a record of the dataset may carry: nfields less the
 * trailing SS_F_ADDED fields an older collector does not know. */
size_t ss_dataset_min_fields(const struct ss_dataset *ds);
/* 1 if the dataset has a field the collector fills (SS_FT_OCCURRENCE). */
int ss_dataset_has_occurrence(const struct ss_dataset *ds);

/* The stored columns of a dataset, in table order: every non-period field in
 * definition order (types that store two values give two columns), then
 * period_start and period_end for SS_DS_PERIOD. These (and only these) are
 * what the daemon COPYs. */
struct ss_column {
    char name[64];
    const char *sqltype; /* "text", "bigint", "date", ... */
    int key;             /* part of the natural key */
    int field;           /* index of the wire field, or -1 for a derived period column */
    int part;            /* 0: the field's value; 1: its second column (_suppressed, _minutes) */
    const char *comment;
};
#define SS_DATASET_MAX_COLUMNS 64
/* Fills cols (room for SS_DATASET_MAX_COLUMNS); returns the count. */
size_t ss_dataset_columns(const struct ss_dataset *ds, struct ss_column *cols);

/* The code lists the definitions use, for ref.code_list. */
struct ss_code_list {
    const char *name;
    const char *const *codes;
};
/* NULL-terminated (name NULL). */
const struct ss_code_list *ss_code_lists(void);

#endif
