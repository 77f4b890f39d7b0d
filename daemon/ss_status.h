/* ss_status: what `shelfsync status` says about each collector source, from
 * the warehouse (ingest.runs, ingest.batches, ingest.batch_coverage,
 * core.v_quarantine_counts, core.v_partial_periods): the last run and its
 * outcome, the last successful sync, rows loaded, rejects by reason, lag,
 * the collector's outbox depth and the financial year's completeness.
 * docs/operations.md ("Status") describes every fact and the exit statuses.
 *
 * ss_status_collect builds one JSON document (jansson; the caller owns it),
 * ss_status_print writes it as a table; both judge each source the same way.
 */
#ifndef SS_STATUS_H
#define SS_STATUS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>

/* Exit statuses of `shelfsync status` (positive: an outcome, not an error). */
#define SS_STATUS_OK 0       /* every source's last run succeeded, none stale */
#define SS_STATUS_FAILED 3   /* some source's last run failed (partial, refused, ...) */
#define SS_STATUS_STALE 4    /* none failed, but some source's last success is too old */
#define SS_STATUS_NOSOURCE 5 /* no run of any (or of the named) source is recorded */

#define SS_STATUS_DEFAULT_STALE_S (8L * 24 * 3600) /* without history or --stale-after */

struct ss_status_opts {
    const char *source; /* only this source; NULL: all */
    int fy_start;       /* financial year starting in April of this year; 0: the current */
    long stale_after_s; /* 0: from each source's own run history, else 8 days */
};

/* Queries the warehouse: 0 with *out the document (its "exit_status" member
 * the verdict above), or a negative code (ss_pg's) with err. */
int ss_status_collect(PGconn *conn, const struct ss_status_opts *o, json_t **out, char *err,
                      size_t errlen);

/* Writes doc as the human table (one line per source), then the details. */
void ss_status_print(const json_t *doc, FILE *f);

/* Parses a duration such as "90s", "45m", "36h", "2d", "1w" (a bare number
 * is seconds) into *seconds: 0, or SS_EINVAL. */
int ss_status_parse_duration(const char *s, long *seconds);

#endif
