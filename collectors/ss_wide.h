/* ss_wide: a wide export (one column per period, as Newcastle publishes its
 * visits: "Library name,Count type,Apr-23,May-23,...") to long records (one
 * per period), between the CSV parser and the record sink.
 *
 * Given the header, each column is one of three things:
 *   - a period column: a configured one (csv.wide.columns: header -> period,
 *     e.g. "Q1" -> "2023-04-01/P3M", or a pattern of headers, "*_april" ->
 *     "2023-04"), or, when none are configured, one whose header reads as a
 *     period (ss_wide_parse_period);
 *   - ignored: csv.wide.ignore names it or a pattern of it matches it
 *     (ss_wide_glob), and it is no configured period column. It is left out
 *     altogether: no period, no record column, not in a reject's values;
 *   - any other column: a record column, for the mapper to take or not.
 * The records have the columns: every other column of the export, in order,
 * then the series fields (below), then the period field and the value field (csv.wide period_field
 * and value_field, which are dataset field names, so the mapper finds them by name). Each input row
 * gives one record per period column whose cell is not empty (blank or only spaces), with the
 * column's canonical period text and the cell; a row whose cells are all empty gives none.
 *
 * Series (for a return with many measures in one row, as the Arts Council
 * publishes its activity data: "loans_adult_april", "loans_11_under_april",
 * ...): csv.wide.series gives, per column name or pattern, the values of
 * the other key fields its records carry ({"format": "Physical book",
 * "content_age_group": "Adult"}); the records get those fields as columns.
 * A series is the period columns with the same values. Of several entries
 * (columns, series, totals) that match one column, an exact name wins, then
 * the pattern with the most characters that are no wildcard; two equally
 * specific ones with different meanings are a setup error. Patterns in
 * csv.wide.columns yield to csv.wide.ignore (an exact name does not).
 *
 * Totals: csv.wide.totals marks columns as the total of a series field
 * (a "total_physical_book_issues_april" over content_age_group): in a row,
 * such a cell loads only when every column it totals (same period, same
 * series values but that field) is empty there; else it is left out as
 * the derived total it is, counted by ss_wide_totals_dropped (and by
 * ss_wide_totals_differing when it is not the sum of those cells), so a
 * total is never added to its bands.
 *
 * Period-end reports (period_end): services that report per quarter or per
 * year enter the figure in the period's last month. In a row, a series
 * whose cells are all in March, June, September or December, two or more
 * of them -- or one, when another series of the row is such a quarterly
 * one -- holds quarters: each cell is the three months ending in its month
 * (June -> 2023-04-01/P3M). A series whose one cell is in March or April
 * holds the financial year (1 April to 31 March) of that month. Any other
 * series holds months. A monthly total whose bands hold the quarter or the
 * year around its month is left out as well (counted by
 * ss_wide_totals_covered): those bands count it already. The file cannot tell a monthly figure that
 * happens to fall only in quarter-end months from a quarterly one; the rule reads it as quarters,
 * whose sum is the same.
 *
 * Canonical period text, which the daemon reads: when the period field is a
 * month field (period_type SS_FT_MONTH) "YYYY-MM", and a header that names
 * anything but one calendar month is a setup error; else an ISO 8601
 * interval, START/PnM for whole months (START/PnY for whole years), else
 * START/END -- "2023-04-01/P1M", "2023-04-01/P3M", "2023-04-01/P1Y",
 * "2023-04-03/2023-04-09". Two period columns with the same period are a
 * setup error (their records would collide).
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
#include "ss_dataset.h"
#include "ss_err.h"

struct ss_wide;

struct ss_wide_opts {
    const char *value_field;  /* required: the field the cells fill, e.g. "visits" */
    const char *period_field; /* NULL: "month" */
    /* The period field's type: SS_FT_MONTH gives "YYYY-MM" and refuses other
     * periods; any other type gives intervals (the dataset's "period"). */
    enum ss_ftype period_type;
    const struct ss_config_pair *columns; /* header -> period; ncolumns 0: headers that read so */
    size_t ncolumns;
    const char *const *ignore; /* column names or glob patterns to leave out */
    size_t nignore;
    /* Series: a column name or pattern -> the values of other fields its records carry
     * (format, age group). With any, every period column must match one, and the records get
     * one column per field the series name, between the export's other columns and the
     * period field. */
    const struct ss_config_valmap *series;
    size_t nseries;
    /* Totals: a column name or pattern -> the series field it totals over. */
    const struct ss_config_pair *totals;
    size_t ntotals;
    int period_end; /* quarters and years entered in their last month (see above) */
};

/* One long record: n values, valid only during the call. Return 0 to go on,
 * non-zero to stop. */
typedef int (*ss_wide_record_cb)(void *ud, const char *const *vals, const size_t *lens, size_t n);

/* Returns 0 with *out set, SS_EINVAL when value_field is missing, SS_ENOMEM. */
int ss_wide_new(struct ss_wide **out, const struct ss_wide_opts *opts);
void ss_wide_free(struct ss_wide *w);

/* Reads the export's header (again for every run). Returns 0; SS_ESETUP
 * (the config does not fit the export) with a message in err naming the
 * column (no period column; a configured column the export does not have,
 * or whose period does not read; a period the month field cannot hold; a
 * header that reads both as a month and as a financial year with nothing
 * else in the header to tell which; two columns of one period (with
 * series: of one series and period); a column named like the period or
 * value field or a series field, which the mapper could not tell from the
 * made one; a csv.wide.columns pattern that matches no column, or two as
 * specific with different periods; with series, a period column in none,
 * or in two as specific with different values); or SS_ENOMEM. */
int ss_wide_header(struct ss_wide *w, const char *const *names, const size_t *lens, size_t n,
                   char *err, size_t errlen);

/* The column list of the records (after ss_wide_header), valid until the next
 * ss_wide_header or ss_wide_free: the export's other columns, then the
 * period field and the value field. */
void ss_wide_columns(const struct ss_wide *w, const char *const **names, const size_t **lens,
                     size_t *n);
/* How many period columns the header has. */
size_t ss_wide_periods(const struct ss_wide *w);
/* How many of its columns csv.wide.ignore left out. */
size_t ss_wide_ignored(const struct ss_wide *w);
/* Since ss_wide_new: total cells left out because their bands had cells,
 * and of those, the ones that are not the sum of the band cells (or are no
 * whole number). */
unsigned long ss_wide_totals_dropped(const struct ss_wide *w);
/* Of those, (period_end) monthly totals left out because their bands hold
 * the quarter or the year around the month. */
unsigned long ss_wide_totals_covered(const struct ss_wide *w);
unsigned long ss_wide_totals_differing(const struct ss_wide *w);
/* Since ss_wide_new: by how much those totals exceed the sum of their band
 * cells, added up over the totals that do (what the bands leave unsaid). */
unsigned long long ss_wide_totals_excess(const struct ss_wide *w);
/* Since ss_wide_new: cells read as quarters, and as years (period_end). */
unsigned long ss_wide_quarters(const struct ss_wide *w);
unsigned long ss_wide_years(const struct ss_wide *w);

/* Turns one row into records for cb. Returns 0; 1 (not a failure) when cb
 * asked to stop; SS_EINVAL with the reason in why when the row's cell count
 * differs from the header's (no record is made from it: the caller rejects
 * it). */
int ss_wide_row(struct ss_wide *w, const char *const *fields, const size_t *lens, size_t n,
                ss_wide_record_cb cb, void *ud, char *why, size_t whylen);

/* A row the caller rejects, projected onto the records' columns without the
 * period cells (and without the ignored ones): its other columns' values, in
 * record column order, into vals/vlens (room for the record column count);
 * returns how many. The quarantine keeps those (as the engine maps them). */
/* The export's column (0-based) that record column col (one of the columns
 * that are neither periods nor ignored) comes from; (size_t)-1 past them. */
size_t ss_wide_source_column(const struct ss_wide *w, size_t col);

size_t ss_wide_project(const struct ss_wide *w, const char *const *fields, const size_t *lens,
                       size_t n, const char **vals, size_t *vlens);

/* 1 when csv.wide.ignore names the header (any case, spaces around it
 * ignored) or one of its patterns matches it, else 0. */
int ss_wide_ignores(const struct ss_wide *w, const char *name, size_t len);

/* fnmatch-style match of the whole of s (what ss_trim trims around it
 * ignored) against pattern, ignoring ASCII case: "*" any run, "?" one
 * character (one UTF-8 sequence), "[abc]", "[a-z]", "[!a-z]" one of (or
 * none of) a set, "\x" the character x. Returns 1 or 0. */
int ss_wide_glob(const char *pattern, const char *s, size_t len);

/* A period a header names: from its first day to its last, inclusive. */
struct ss_wide_period {
    int y1, m1, d1;
    int y2, m2, d2;
    /* "2010-11", "2010/11": read as the month (November 2010), but also the
     * financial year 2010-11. ss_wide_header decides from the other columns. */
    int also_fy;
};

/* Reads a header as a period, ignoring case and the spaces (and no-break
 * spaces) around it. Years are 1900-2199; a two-digit year is 20YY for 00-69,
 * else 19YY.
 *   months:    2023-1 2023-01 2023/1 2023/01 1/2023 01/2023 01-2023; a month
 *              name in full or in three letters (or "Sept") before a year,
 *              with "-", "/" or spaces between (Jan-23, Jan 2023, January
 *              2023, Jan-2023, Jan/23), or after a four-digit year, with "-"
 *              or spaces between (2023 Jan, 2023-Jan)
 *   financial years (1 April to 31 March): 2023-24 2023/24 2023-2024
 *              2023/2024, each also after "FY" (FY2023-24, FY 2023/24)
 *   financial quarters: a financial year and Q1-Q4 with spaces or "-"
 *              between, either way round (2023-24 Q1, Q1 2023-24, FY2023-24
 *              Q3); Q1 is April-June, Q2 July-September, Q3 October-December,
 *              Q4 January-March of the year after
 *   calendar quarters: a four-digit year and Q1-Q4, either way round, with
 *              spaces, "-" or nothing between (2023 Q1, 2023-Q1, 2023Q1,
 *              Q1 2023); Q1 is January-March
 *   ISO 8601 intervals: START/DURATION or START/END, START and END a date
 *              (2023-04-01 or 01/04/2023) or a month (2023-04: from its first
 *              day, to its last), DURATION P with whole years, months, weeks,
 *              days (P1M, P3M, P1Y, P7D, P1Y6M) -- 2023-04-01/P1M,
 *              2023-04-01/2023-06-30, 2023-04/2023-06, 2023-04/P3M
 * and nothing else: "2023", "2023-04-01", "Total", "Apr-23 (provisional)"
 * are not periods. Returns 1 with *p set, or 0. */
int ss_wide_parse_period(const char *s, size_t len, struct ss_wide_period *p);

/* 1 when p is exactly one calendar month. */
int ss_wide_period_is_month(const struct ss_wide_period *p);

/* Writes p's canonical text (see above) into dst, NUL-terminated: "YYYY-MM"
 * when as_month (and p is one month), else the interval. Returns its length,
 * or 0 when as_month and p is not one month, or dst is too small (32 bytes
 * is always enough). */
size_t ss_wide_period_text(const struct ss_wide_period *p, int as_month, char *dst, size_t dstlen);

/* Reads a header as exactly one calendar month (ss_wide_parse_period, for a
 * header that also reads as a financial year, its month reading). Returns 1
 * and sets *year and *month (1-12), or 0. */
int ss_wide_parse_month(const char *s, size_t len, int *year, int *month);

#endif
