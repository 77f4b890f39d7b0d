/* src_csv: the "csv" source kind's options -- the "csv" object of a
 * collector config, declared by src_csv.c's table and filled by the config
 * loader (ss_config). Public so that the tests can read what was loaded.
 */
#ifndef SS_SRC_CSV_H
#define SS_SRC_CSV_H

#include <stddef.h>

#include "ss_config.h"

struct ss_csv_options {
    char delimiter; /* "csv.delimiter": one-character string ("," ";" "\t" "|"), default ',' */
    int header;     /* "csv.header": bool, default true */
    char **columns; /* "csv.columns": array of strings, required when header is false;
                       as many as the file gives (malloc'd) */
    size_t ncolumns;
    int detect_delimiter; /* "csv.detect_delimiter": bool, default false: pick , ; tab or | from
                             the header line */
    char *encoding;       /* "csv.encoding": utf-8 windows-1252 iso-8859-1 utf-16 utf-16le utf-16be;
                             default "utf-8" (ISO-8859-1 read as Windows-1252) */
    /* "csv.wide": object, optional: one column per period (as some services publish) to one
     * record per period */
    char *wide_value_field;  /* "csv.wide.value_field": required in csv.wide: the dataset field the
                                cells fill, e.g. "visits" */
    char *wide_period_field; /* "csv.wide.period_field": dataset field that gets the period,
                                default "month" */
    struct ss_config_pair *wide_columns; /* "csv.wide.columns": header -> period ("Apr-23":
                                            "2023-04"), as many as the file gives (malloc'd);
                                            absent: every header that reads as a period */
    size_t nwide_columns;
    char **wide_ignore; /* "csv.wide.ignore": column names or glob patterns ("Note*") of columns
                           that are neither mapped nor periods and are to be left out without a
                           warning; as many as the file gives (malloc'd) */
    size_t nwide_ignore;
    /* "csv.wide.series": column name or pattern -> {field: value}: the fields a period column's
     * records also carry ("loans_adult_*": {"format": "Physical book", "content_age_group":
     * "Adult"}); with it every period column must match one (malloc'd) */
    struct ss_config_valmap *wide_series;
    size_t nwide_series;
    /* "csv.wide.totals": column name or pattern -> the series field it totals over
     * ("total_physical_book_issues_*": "content_age_group"): its cell loads only when the
     * columns it totals are all empty in that row (malloc'd) */
    struct ss_config_pair *wide_totals;
    size_t nwide_totals;
    int wide_period_end; /* "csv.wide.period_end_reports": bool, default false: a series whose
                            only cells are quarter-end months (or one March or April cell) holds
                            quarters (or the financial year) */
};

/* The "csv" section (its table and rules). */
extern const struct ss_config_section ss_csv_section;

#endif
