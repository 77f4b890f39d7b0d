/* ss_wide: a wide export (one column per period, as Newcastle publishes its
 * visits: "Library name,Count type,Apr-23,May-23,...") to long records (one
 * per period), between the CSV parser and the record sink.
 *
 * Given the header, the period columns are the configured ones (csv.wide
 * columns: header -> period text, e.g. "Apr-23" -> "2023-04" or "Q1" ->
 * "2023-04-01/P3M"), or, when none are configured, every column whose header
 * reads as a month (ss_wide_parse_month). The records it makes have the
 * columns: every other column of the export, in order, then the period field
 * and the value field (csv.wide period_field and value_field, which are
 * dataset field names, so the mapper finds them by name). Each input row
 * gives one record per period column whose cell is not empty (blank or only
 * spaces), with the period (YYYY-MM for a month header, else the configured
 * text) and the cell; a row whose cells are all empty gives none.
 *
 * Memory is allocated for the header once (ss_wide_header) and is bounded by
 * its size; rows allocate nothing. The caller owns the converter
 * (ss_wide_new / ss_wide_free) and keeps the strings in opts alive while it
 * lives.
 */
#ifndef SS_WIDE_H
#define SS_WIDE_H

#include <stddef.h>

#include "ss_config.h"

struct ss_wide;

struct ss_wide_opts {
    const char *value_field;              /* required: the field the cells fill, e.g. "visits" */
    const char *period_field;             /* NULL: "month" */
    const struct ss_config_pair *columns; /* header -> period text; ncolumns 0: month headers */
    size_t ncolumns;
};

/* One long record: n values, valid only during the call. Return 0 to go on,
 * non-zero to stop. */
typedef int (*ss_wide_record_cb)(void *ud, const char *const *vals, const size_t *lens, size_t n);

/* Returns 0 with *out set, -EINVAL when value_field is missing, -ENOMEM. */
int ss_wide_new(struct ss_wide **out, const struct ss_wide_opts *opts);
void ss_wide_free(struct ss_wide *w);

/* Reads the export's header (again for every run). Returns 0, -1 with a
 * message in err (no period column; a configured column the export does not
 * have; a column named like the period or value field, which the mapper could
 * not tell from the made one), or -ENOMEM. */
int ss_wide_header(struct ss_wide *w, const char *const *names, const size_t *lens, size_t n,
                   char *err, size_t errlen);

/* The column list of the records (after ss_wide_header), valid until the next
 * ss_wide_header or ss_wide_free. */
void ss_wide_columns(const struct ss_wide *w, const char *const **names, const size_t **lens,
                     size_t *n);
/* How many period columns the header has. */
size_t ss_wide_periods(const struct ss_wide *w);

/* Turns one row into records for cb. Returns 0; 1 when cb asked to stop; -1
 * with the reason in why when the row's cell count differs from the header's
 * (no record is made from it: the caller rejects it). */
int ss_wide_row(struct ss_wide *w, const char *const *fields, const size_t *lens, size_t n,
                ss_wide_record_cb cb, void *ud, char *why, size_t whylen);

/* A row the caller rejects, projected onto the records' columns without the
 * period cells: its other columns' values, in record column order, into
 * vals/vlens (room for the record column count); returns how many. The
 * quarantine keeps those (as the engine maps them), not the cells. */
size_t ss_wide_project(const struct ss_wide *w, const char *const *fields, const size_t *lens,
                       size_t n, const char **vals, size_t *vlens);

/* Reads a header as a month: "2023-04", "04/2023" (or "4/2023"), and a month
 * name, in full or in three letters (also "Sept"), any case, then "-" or
 * spaces, then a year of four digits or two ("Apr-23", "Apr 2023",
 * "April 2023", "Apr-2023"; two-digit years are 2000-2069 for 00-69, else
 * 19xx). Spaces around are ignored. Returns 1 and sets *year and *month
 * (1-12), or 0. */
int ss_wide_parse_month(const char *s, size_t len, int *year, int *month);

#endif
