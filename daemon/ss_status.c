/* ss_status: see ss_status.h. */
#include "ss_status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_err.h"
#include "ss_pg.h"

#define TS(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* One statement builds the facts of every source as JSON; C only judges
 * them (judge()). $1 the source or NULL, $2 the financial year's first
 * calendar year or NULL for the current one. The last run is the one that
 * began last; a successful sync is a complete or unchanged run; the
 * cadence is the median gap between the starts of the source's last ten
 * runs. */
static const char status_sql[] =
    "WITH fy AS ("
    "  SELECT y, make_date(y, 4, 1) AS fy_start, make_date(y + 1, 4, 1) AS fy_next,"
    "         y || '-' || lpad(((y + 1) % 100)::text, 2, '0') AS label,"
    "         least(12, greatest(0, (extract(year FROM now())::int * 12"
    "             + extract(month FROM now())::int) - (y * 12 + 4)))::int AS months_elapsed"
    "  FROM (SELECT coalesce($2::int, (extract(year FROM now())"
    "            - (extract(month FROM now()) < 4)::int)::int) AS y) p"
    "), runs AS ("
    "  SELECT r.*, coalesce(r.started_at, r.first_seen) AS began FROM ingest.runs r"
    "  WHERE ($1::text IS NULL OR r.source = $1) AND r.outcome <> 'replay'"
    "), per_run AS ("
    "  SELECT run_ref, sum(accepted)::bigint AS accepted, sum(quarantined)::bigint AS quarantined"
    "  FROM ingest.batches WHERE run_ref IN (SELECT run_ref FROM runs) GROUP BY run_ref"
    "), last AS ("
    "  SELECT DISTINCT ON (source) * FROM runs ORDER BY source, began DESC, run_ref DESC"
    "), ok AS ("
    "  SELECT DISTINCT ON (source) source, run_id, coalesce(ended_at, began) AS at FROM runs"
    "  WHERE outcome IN ('complete', 'unchanged')"
    "  ORDER BY source, coalesce(ended_at, began) DESC, run_ref DESC"
    "), totals AS ("
    "  SELECT source, sum(accepted)::bigint AS accepted, sum(quarantined)::bigint AS quarantined"
    "  FROM ingest.batches WHERE source IN (SELECT source FROM last) GROUP BY source"
    "), newest AS ("
    "  SELECT b.source, max(c.month) AS month FROM ingest.batch_coverage c"
    "  JOIN ingest.batches b ON b.batch_id = c.batch_id"
    "  WHERE b.source IN (SELECT source FROM last) GROUP BY b.source"
    "), gaps AS ("
    "  SELECT source, extract(epoch FROM started_at - lag(started_at) OVER w) AS gap,"
    "         row_number() OVER (PARTITION BY source ORDER BY started_at DESC) AS rn"
    "  FROM runs WHERE started_at IS NOT NULL WINDOW w AS (PARTITION BY source ORDER BY started_at)"
    "), cadence AS ("
    "  SELECT source, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap,"
    "         count(*) AS n FROM gaps WHERE gap IS NOT NULL AND rn <= 10 GROUP BY source"
    "), rejects AS ("
    "  SELECT source, json_agg(json_build_object('reason', reason, 'records', records,"
    "         'outstanding', outstanding) ORDER BY records DESC, reason) AS list"
    "  FROM (SELECT source, reason, sum(records)::bigint AS records,"
    "               sum(outstanding_records)::bigint AS outstanding,"
    "               row_number() OVER (PARTITION BY source ORDER BY sum(records) DESC, reason) AS "
    "rn"
    "        FROM core.v_quarantine_counts WHERE source IN (SELECT source FROM last)"
    "        GROUP BY source, reason) q"
    "  WHERE rn <= 20 GROUP BY source"
    "), coverage AS ("
    "  SELECT b.source, c.dataset, c.authority_code, count(DISTINCT c.month)::int AS months"
    "  FROM ingest.batch_coverage c JOIN ingest.batches b ON b.batch_id = c.batch_id, fy"
    "  WHERE c.month >= fy.fy_start AND c.month < fy.fy_next"
    "    AND b.source IN (SELECT source FROM last) GROUP BY 1, 2, 3"
    "), partial AS ("
    "  SELECT p.source, p.dataset, p.authority_code, count(DISTINCT p.month)::int AS months"
    "  FROM core.v_partial_periods p, fy"
    "  WHERE p.month >= fy.fy_start AND p.month < fy.fy_next GROUP BY 1, 2, 3"
    "), year AS ("
    "  SELECT c.source, json_agg(json_build_object('dataset', c.dataset, 'authority_code',"
    "         c.authority_code, 'authority_name', a.nice_name, 'months_reported', c.months,"
    "         'partial_months', coalesce(p.months, 0)) ORDER BY c.dataset, c.authority_code) AS "
    "list"
    "  FROM coverage c LEFT JOIN partial p USING (source, dataset, authority_code)"
    "  LEFT JOIN ref.authority a ON a.code = c.authority_code GROUP BY c.source"
    ")"
    "SELECT json_build_object("
    "  'generated_at', " TS(
        "now()") ","
                 "  'financial_year', fy.label, 'months_elapsed', fy.months_elapsed,"
                 "  'sources', coalesce(json_agg(json_build_object("
                 "    'source', l.source, 'dataset', l.dataset, 'kind', l.kind,"
                 "    'last_run', json_build_object('run_id', l.run_id, 'outcome', l.outcome,"
                 "      'exit_status', l.exit_status, 'started_at', " TS(
                     "l.started_at") ","
                                     "      'ended_at', " TS(
                                         "l.ended_at") ", 'error', l.error,"
                                                       "      'rows_loaded', coalesce(pr.accepted, "
                                                       "0), 'quarantined', "
                                                       "coalesce(pr.quarantined, 0),"
                                                       "      'records_sent', l.records_sent, "
                                                       "'rejected_by_collector', "
                                                       "l.rejected_by_collector,"
                                                       "      'batches_sent', l.batches_sent, "
                                                       "'batches_received', l.batches_received,"
                                                       "      'batches_refused', "
                                                       "l.batches_refused, 'outbox_batches', "
                                                       "l.outbox_batches),"
                                                       "    'last_success', CASE WHEN ok.source IS "
                                                       "NOT NULL THEN json_build_object('run_id',"
                                                       "      ok.run_id, 'at', " TS(
                                                           "ok.at") ") END,"
                                                                    "    'lag_s', "
                                                                    "floor(extract(epoch FROM "
                                                                    "now() - ok.at))::bigint,"
                                                                    "    'rows_loaded_total', "
                                                                    "coalesce(t.accepted, 0),"
                                                                    "    'quarantined_total', "
                                                                    "coalesce(t.quarantined, 0),"
                                                                    "    'newest_period', "
                                                                    "to_char(n.month, 'YYYY-MM'),"
                                                                    "    'period_lag_months', "
                                                                    "(extract(year FROM "
                                                                    "now())::int * 12 + "
                                                                    "extract(month FROM now())::int"
                                                                    "      - extract(year FROM "
                                                                    "n.month)::int * 12 - "
                                                                    "extract(month FROM "
                                                                    "n.month)::int),"
                                                                    "    'run_interval_s', CASE "
                                                                    "WHEN cd.n >= 2 THEN "
                                                                    "round(cd.median_gap)::bigint "
                                                                    "END,"
                                                                    "    'rejects', "
                                                                    "coalesce(rj.list, '[]'::json),"
                                                                    "    'year_coverage', "
                                                                    "coalesce(y.list, '[]'::json)"
                                                                    "  ) ORDER BY l.source) FILTER "
                                                                    "(WHERE l.source IS NOT NULL), "
                                                                    "'[]'::json))::text "
                                                                    "FROM fy LEFT JOIN last l ON "
                                                                    "true"
                                                                    " LEFT JOIN per_run pr ON "
                                                                    "pr.run_ref = l.run_ref"
                                                                    " LEFT JOIN ok ON ok.source = "
                                                                    "l.source"
                                                                    " LEFT JOIN totals t ON "
                                                                    "t.source = l.source"
                                                                    " LEFT JOIN newest n ON "
                                                                    "n.source = l.source"
                                                                    " LEFT JOIN cadence cd ON "
                                                                    "cd.source = l.source"
                                                                    " LEFT JOIN rejects rj ON "
                                                                    "rj.source = l.source"
                                                                    " LEFT JOIN year y ON y.source "
                                                                    "= l.source "
                                                                    "GROUP BY fy.label, "
                                                                    "fy.months_elapsed";

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(const json_t *o, const char *k, long long dflt)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v)
           : json_is_real(v)  ? (long long)json_real_value(v)
                              : dflt;
}

/* A run outcome that means the last run did not succeed. An empty export
 * is a failure unless the collector said it was fine (exit status 0,
 * allow_empty). */
static int run_failed(const json_t *run)
{
    const char *o = str(run, "outcome");
    if (strcmp(o, "empty") == 0)
        return num(run, "exit_status", 0) != 0;
    return strcmp(o, "failed") == 0 || strcmp(o, "refused") == 0 || strcmp(o, "partial") == 0 ||
           strcmp(o, "abandoned") == 0;
}

/* Sets the source's "state" (ok, running, failed, stale) and its stale
 * bound; returns the source's verdict (SS_STATUS_*). */
static int judge(json_t *src, long stale_after_s)
{
    const json_t *run = json_object_get(src, "last_run");
    long long cadence = num(src, "run_interval_s", -1), lag = num(src, "lag_s", -1);
    long long bound = stale_after_s;
    const char *basis = "option", *state = "ok";
    int verdict = SS_STATUS_OK;
    if (bound <= 0 && cadence >= 0) {
        /* Twice the usual gap between runs, but never under an hour: a
         * timer's RandomizedDelaySec should not page anyone. */
        bound = 2 * cadence < 3600 ? 3600 : 2 * cadence;
        basis = "history";
    } else if (bound <= 0) {
        bound = SS_STATUS_DEFAULT_STALE_S;
        basis = "default";
    }
    json_object_set_new(src, "stale_after_s", json_integer(bound));
    json_object_set_new(src, "stale_after_basis", json_string(basis));
    if (run_failed(run)) {
        state = "failed";
        verdict = SS_STATUS_FAILED;
    } else if (lag < 0 || lag > bound) {
        state = "stale";
        verdict = SS_STATUS_STALE;
    } else if (strcmp(str(run, "outcome"), "running") == 0) {
        state = "running";
    }
    json_object_set_new(src, "state", json_string(state));
    return verdict;
}

int ss_status_collect(PGconn *conn, const struct ss_status_opts *o, json_t **out, char *err,
                      size_t errlen)
{
    char year[16];
    PGresult *res = NULL;
    json_error_t jerr;
    snprintf(year, sizeof(year), "%d", o->fy_start);
    const char *p[] = {o->source, o->fy_start ? year : NULL};
    int rc = ss_pg_query(conn, status_sql, 2, p, &res, err, errlen);
    if (rc < 0)
        return rc;
    json_t *doc = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, &jerr) : NULL;
    PQclear(res);
    if (!doc) {
        snprintf(err, errlen, "the status query gave no document");
        return SS_EINVAL;
    }
    json_t *sources = json_object_get(doc, "sources");
    size_t i;
    json_t *src;
    int worst = SS_STATUS_OK;
    json_array_foreach(sources, i, src)
    {
        int v = judge(src, o->stale_after_s);
        if (v == SS_STATUS_FAILED || (v == SS_STATUS_STALE && worst == SS_STATUS_OK))
            worst = v;
    }
    if (json_array_size(sources) == 0)
        worst = SS_STATUS_NOSOURCE;
    json_object_set_new(doc, "exit_status", json_integer(worst));
    json_object_set_new(doc, "status",
                        json_string(worst == SS_STATUS_OK       ? "ok"
                                    : worst == SS_STATUS_FAILED ? "failed"
                                    : worst == SS_STATUS_STALE  ? "stale"
                                                                : "no sources"));
    *out = doc;
    return 0;
}

int ss_status_parse_duration(const char *s, long *seconds)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    long unit = 1;
    if (errno || end == s || v <= 0)
        return SS_EINVAL;
    if (*end == 'm')
        unit = 60;
    else if (*end == 'h')
        unit = 3600;
    else if (*end == 'd')
        unit = 86400;
    else if (*end == 'w')
        unit = 7 * 86400;
    else if (*end != 's' && *end != '\0')
        return SS_EINVAL;
    if ((*end && end[1]) || v > 10L * 365 * 86400 / unit)
        return SS_EINVAL;
    *seconds = v * unit;
    return 0;
}

/* A duration as people read it: 45s, 12m, 5h, 3d. */
static void human_duration(char *dst, size_t len, long long s)
{
    if (s < 0)
        snprintf(dst, len, "-");
    else if (s < 120)
        snprintf(dst, len, "%llds", s);
    else if (s < 2 * 3600)
        snprintf(dst, len, "%lldm", s / 60);
    else if (s < 2 * 86400)
        snprintf(dst, len, "%lldh", s / 3600);
    else
        snprintf(dst, len, "%lldd", s / 86400);
}

/* "2024-05-01T02:00:00Z" as "2024-05-01 02:00", or "-". */
static void human_time(char *dst, size_t len, const char *iso)
{
    if (strlen(iso) < 16)
        snprintf(dst, len, "-");
    else
        snprintf(dst, len, "%.10s %.5s", iso, iso + 11);
}

#define NCOL 11
static const char *const headings[NCOL] = {"SOURCE", "STATE",  "LAST RUN", "OUTCOME",
                                           "LOADED", "TOTAL",  "REJECTS",  "LAST SUCCESS",
                                           "LAG",    "NEWEST", "OUTBOX"};

/* The table's cells for one source. */
static void row_cells(const json_t *src, char cells[NCOL][80])
{
    const json_t *run = json_object_get(src, "last_run");
    const json_t *ok = json_object_get(src, "last_success");
    const char *at = str(run, "ended_at")[0] ? str(run, "ended_at") : str(run, "started_at");
    long long outbox = num(run, "outbox_batches", -1);
    snprintf(cells[0], 80, "%s", str(src, "source"));
    snprintf(cells[1], 80, "%s", str(src, "state"));
    human_time(cells[2], 80, at);
    snprintf(cells[3], 80, "%s", str(run, "outcome"));
    snprintf(cells[4], 80, "%lld", num(run, "rows_loaded", 0));
    snprintf(cells[5], 80, "%lld", num(src, "rows_loaded_total", 0));
    snprintf(cells[6], 80, "%lld", num(src, "quarantined_total", 0));
    human_time(cells[7], 80, json_is_object(ok) ? str(ok, "at") : "");
    human_duration(cells[8], 80, num(src, "lag_s", -1));
    snprintf(cells[9], 80, "%s", str(src, "newest_period")[0] ? str(src, "newest_period") : "-");
    if (outbox >= 0)
        snprintf(cells[10], 80, "%lld", outbox);
    else
        snprintf(cells[10], 80, "-");
}

/* The lines under the table for one source: the run's counts and error,
 * rejects by reason, the year's months per dataset and authority. */
static void print_details(const json_t *src, const json_t *doc, FILE *f)
{
    const json_t *run = json_object_get(src, "last_run"), *v;
    char lag[32], bound[32];
    size_t i;
    human_duration(bound, sizeof(bound), num(src, "stale_after_s", -1));
    fprintf(f, "\n%s (%s, %s): %s\n", str(src, "source"), str(src, "dataset"),
            str(src, "kind")[0] ? str(src, "kind") : "kind unknown", str(src, "state"));
    fprintf(f,
            "  last run %s: %s, exit status %lld; %lld rows loaded, %lld quarantined; "
            "%lld of %lld batches applied",
            str(run, "run_id"), str(run, "outcome"), num(run, "exit_status", -1),
            num(run, "rows_loaded", 0), num(run, "quarantined", 0), num(run, "batches_received", 0),
            num(run, "batches_sent", 0));
    if (num(run, "outbox_batches", -1) >= 0)
        fprintf(f, "; %lld left in the collector's outbox", num(run, "outbox_batches", 0));
    fprintf(f, "\n");
    if (str(run, "error")[0])
        fprintf(f, "  error: %s\n", str(run, "error"));
    human_duration(lag, sizeof(lag), num(src, "lag_s", -1));
    if (json_is_object(json_object_get(src, "last_success")))
        fprintf(f, "  last success %s at %s, %s ago (stale after %s, %s)\n",
                str(json_object_get(src, "last_success"), "run_id"),
                str(json_object_get(src, "last_success"), "at"), lag, bound,
                str(src, "stale_after_basis"));
    else
        fprintf(f, "  no successful run recorded (stale after %s)\n", bound);
    if (str(src, "newest_period")[0])
        fprintf(f, "  newest period loaded %s, %lld month%s behind this month\n",
                str(src, "newest_period"), num(src, "period_lag_months", 0),
                num(src, "period_lag_months", 0) == 1 ? "" : "s");
    if (json_array_size(json_object_get(src, "rejects")))
        fprintf(f, "  rejects by reason (records, outstanding):\n");
    json_array_foreach(json_object_get(src, "rejects"), i, v)
        fprintf(f, "    %6lld %6lld  %s\n", num(v, "records", 0), num(v, "outstanding", 0),
                str(v, "reason"));
    fprintf(f, "  financial year %s (%lld month%s elapsed):%s\n", str(doc, "financial_year"),
            num(doc, "months_elapsed", 0), num(doc, "months_elapsed", 0) == 1 ? "" : "s",
            json_array_size(json_object_get(src, "year_coverage")) ? "" : " nothing loaded");
    json_array_foreach(json_object_get(src, "year_coverage"), i, v)
        fprintf(f, "    %-16s %-10s %-24s %2lld/12 months%s\n", str(v, "dataset"),
                str(v, "authority_code"), str(v, "authority_name"), num(v, "months_reported", 0),
                num(v, "partial_months", 0) ? " (some partial)" : "");
}

void ss_status_print(const json_t *doc, FILE *f)
{
    const json_t *sources = json_object_get(doc, "sources"), *src;
    size_t n = json_array_size(sources), i, width[NCOL];
    char(*cells)[NCOL][80] = calloc(n ? n : 1, sizeof(*cells));
    if (!cells) {
        fprintf(f, "out of memory\n");
        return;
    }
    for (int c = 0; c < NCOL; c++)
        width[c] = strlen(headings[c]);
    json_array_foreach(sources, i, src)
    {
        row_cells(src, cells[i]);
        for (int c = 0; c < NCOL; c++)
            if (strlen(cells[i][c]) > width[c])
                width[c] = strlen(cells[i][c]);
    }
    /* Counts right-aligned; the last column unpadded. */
    for (int c = 0; c + 1 < NCOL; c++)
        fprintf(f, "%-*s  ", (int)width[c], headings[c]);
    fprintf(f, "%s\n", headings[NCOL - 1]);
    for (i = 0; i < n; i++)
        for (int c = 0; c < NCOL; c++)
            if (c + 1 == NCOL)
                fprintf(f, "%s\n", cells[i][c]);
            else
                fprintf(f, c >= 4 && c <= 6 ? "%*s  " : "%-*s  ", (int)width[c], cells[i][c]);
    json_array_foreach(sources, i, src) print_details(src, doc, f);
    if (!n)
        fprintf(f, "(no collector run recorded)\n");
    fprintf(f, "\nstatus: %s\n", str(doc, "status"));
    free(cells);
}
