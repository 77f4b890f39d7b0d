/* ss_export_activity: `shelfsync export --activity-return`, the Arts Council
 * England libraries activity return of some authorities for one financial
 * year, written from the warehouse's activity tables (core.activity_loans,
 * core.active_users, core.activity_events, core.activity_event_attendance,
 * core.activity_visits, core.computer_hours, core.wifi_sessions,
 * core.click_and_collect) in the long form the Arts Council data is published
 * in (LibrariesHacked's public-libraries-activity-dataset): one CSV per
 * measure, loans.csv, users.csv, events.csv, event_attendance.csv,
 * visits.csv, computers.csv, wifi.csv, click_and_collect.csv, each with the
 * published header, the GSS code in Authority and the period as an ISO 8601
 * interval (2023-04-01/P1M, 2023-04-01/P3M, 2023-04-01/P1Y).
 *
 * What a row says is what the warehouse holds, row for row: a fact whose
 * whole period lies in the year gives one row; a period not reported has no
 * row (as in the published files), never a 0; nothing is summed, spread or
 * pro-rated. Facts straddling the year's ends are left out and counted.
 * docs/warehouse.md ("The activity return") describes the layout.
 *
 * What the export rests on is said on the caller's msg stream: per
 * authority and measure, the months reported and whether the year is
 * complete (core.v_authority_year: partial runs, outstanding quarantined
 * records, unconfirmed outliers).
 */
#ifndef SS_EXPORT_ACTIVITY_H
#define SS_EXPORT_ACTIVITY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "ss_date.h"

/* How many measures (files) the return has. */
#define SS_EXPORT_ACTIVITY_MEASURES 8
/* The most bytes one export may build in memory (a whole return for every
 * English authority is about 1.3 MB). */
#define SS_EXPORT_ACTIVITY_MAX_BYTES ((size_t)256 << 20)
/* The most --authority codes one export takes. */
#define SS_EXPORT_ACTIVITY_MAX_AUTHORITIES 512

struct ss_export_activity_opts {
    const char *const *authorities; /* GSS codes; n_authorities 0: every authority */
    size_t n_authorities;
    int fy_start; /* the financial year starting in April of this year */
    /* NULL: the combined long file on out; a name ending ".csv": the
     * combined long file there; anything else: a directory (created when
     * missing) to write the eight files into. */
    const char *out_path;
};

/* Writes the return as o says (files durably: each complete or not there).
 * out is where the combined file goes without out_path; msg gets the
 * summary of what the export rests on. 0; SS_EINVAL with err for an
 * authority code ref.authority does not know (nothing written); or a
 * negative code (ss_pg's, an errno of a write) with err. */
int ss_export_activity(PGconn *conn, const struct ss_export_activity_opts *o, FILE *out, FILE *msg,
                       char *err, size_t errlen);

/* The file names, in the order written ("loans.csv", ...): i below
 * SS_EXPORT_ACTIVITY_MEASURES, else NULL. */
const char *ss_export_activity_file(size_t i);

/* The period start..end (both inclusive) as an ISO 8601 interval: whole
 * calendar months from the first of a month as START/PnM (12 months:
 * START/P1Y, 24: START/P2Y), anything else as START/PnD. 0, or SS_EINVAL
 * (end before start) / SS_E2BIG (len too small). */
int ss_export_activity_period(struct ss_date start, struct ss_date end, char *out, size_t len);

/* Reads a financial year label "2023-24" into its first calendar year:
 * 0, or SS_EINVAL. */
int ss_export_activity_year(const char *label, int *fy_start);

#endif
