/* ss_quality: what `shelfsync quality` finds in the warehouse, read from the
 * core.quality_* views (migration 015), one view per check, so that the
 * command prints exactly what an analyst sees in SQL. Every view row is a
 * finding with its severity (error, warning, info) and a sentence (detail);
 * docs/warehouse.md ("Data quality") gives each view's rule.
 *
 * ss_quality_collect builds one JSON document (jansson; the caller owns it),
 * ss_quality_print writes it as a table per check. The pure parts (the
 * verdict, the selection's syntax) are apart for the unit tests.
 */
#ifndef SS_QUALITY_H
#define SS_QUALITY_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses of `shelfsync quality` (positive: an outcome, not an error). */
#define SS_QUALITY_OK 0       /* no finding of severity error or warning (info only, or none) */
#define SS_QUALITY_FAILED 1   /* the checks could not run (config, database) */
#define SS_QUALITY_USAGE 2    /* bad options */
#define SS_QUALITY_ERRORS 3   /* at least one finding of severity error */
#define SS_QUALITY_WARNINGS 4 /* findings of severity warning, none of error */

/* One check: its name (the views' check_name) and view. */
struct ss_quality_check {
    const char *name;
    const char *view;
    const char *title; /* what it looks for, for the table's heading */
};

extern const struct ss_quality_check ss_quality_checks[];
extern const size_t ss_quality_nchecks;

/* The selection; NULL (or 0) members select everything. A row is kept only
 * when it has the value asked for: with --authority, rows without an
 * authority (a stale source of several, a record whose authority did not
 * resolve) are left out; with --year, rows without a financial year (stale
 * sources) are. */
struct ss_quality_opts {
    const char *authority; /* GSS code */
    const char *year;      /* financial year, 2023-24 */
    const char *dataset;
    long stale_after_s; /* 0: each source's own bound */
};

/* Severities by weight: 2 error, 1 warning, 0 info, -1 anything else. */
int ss_quality_severity_rank(const char *severity);

/* The exit status for these counts of findings (SS_QUALITY_OK, _ERRORS,
 * _WARNINGS). */
int ss_quality_verdict(size_t errors, size_t warnings);

/* 0 when s is a financial year as written in returns (2023-24: YYYY-YY, the
 * second year the first plus one), else SS_EINVAL. */
int ss_quality_check_year(const char *s);

/* 0 when s looks like an ONS GSS code (a capital letter and 8 digits), else
 * SS_EINVAL. */
int ss_quality_check_authority(const char *s);

/* Counts the findings of doc's checks by severity, sets each check's and
 * the document's counts, "status" and "exit_status"; returns the exit
 * status. Used by ss_quality_collect; pure. */
int ss_quality_judge(json_t *doc);

/* Runs every check against the warehouse: 0 with *out the document, or a
 * negative code (ss_pg's) with err. */
int ss_quality_collect(PGconn *conn, const struct ss_quality_opts *o, json_t **out, char *err,
                       size_t errlen);

/* Writes doc as a table per check (SEVERITY, AUTHORITY, YEAR, DATASET,
 * DETAIL), then the totals and the verdict. */
void ss_quality_print(const json_t *doc, FILE *f);

#endif
