/* ss_report: see ss_report.h. */
#include "ss_report.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ss_date.h"
#include "ss_err.h"
#include "ss_log.h"
#include "ss_pg.h"
#include "ss_svg.h"

/* What each characteristic of core.v_bucking_characteristics is, in words. */
static const struct {
    const char *key, *label;
} characteristics[] = {
    {"opening_hours_per_1000", "Opening hours a week per 1,000 residents"},
    {"service_points_per_100000", "Service points per 100,000 residents"},
    {"stock_per_capita", "Stock (items) per resident"},
    {"events_per_1000", "Events per 1,000 residents"},
    {"event_attendance_per_1000", "Event attendance per 1,000 residents"},
    {"computer_hours_per_1000", "Public computer hours per 1,000 residents"},
    {"wifi_sessions_per_1000", "Wi-Fi sessions per 1,000 residents"},
    {"workforce_per_1000", "Paid staff per 1,000 residents"},
};

/* The report's headline measures (core.v_authority_per_1000 measure names). */
static const struct {
    const char *key, *label;
} headline[] = {
    {"loans", "Loans"},
    {"visits", "Visits"},
    {"active_users", "Active users"},
    {"event_attendance", "Event attendance"},
    {"computer_hours", "Public computer hours"},
    {"wifi_sessions", "Wi-Fi sessions"},
};

static const char *characteristic_label(const char *key)
{
    for (size_t i = 0; i < sizeof(characteristics) / sizeof(characteristics[0]); i++)
        if (key && strcmp(key, characteristics[i].key) == 0)
            return characteristics[i].label;
    return key ? key : "";
}

static const char *measure_label(const char *key)
{
    for (size_t i = 0; i < sizeof(headline) / sizeof(headline[0]); i++)
        if (key && strcmp(key, headline[i].key) == 0)
            return headline[i].label;
    return key ? key : "";
}

/* "2023-24" (or any period ss_parse_period reads as one financial year) into
 * label "2023-24": 0, or SS_EINVAL. */
static int parse_year(const char *s, char *label, size_t n)
{
    struct ss_date a, b;
    const char *why;
    if (ss_parse_period(s, strlen(s), &a, &b, &why) < 0 || a.m != 4 || a.d != 1 || b.m != 3 ||
        b.d != 31 || b.y != a.y + 1)
        return SS_EINVAL;
    snprintf(label, n, "%04d-%02d", a.y, (a.y + 1) % 100);
    return 0;
}

/* Runs sql (one row, one column: a JSON document) into *doc. */
static int query_doc(PGconn *conn, const char *sql, int n, const char *const *p, json_t **doc,
                     char *err, size_t errlen)
{
    PGresult *res = NULL;
    json_error_t jerr;
    int rc = ss_pg_query(conn, sql, n, p, &res, err, errlen);
    if (rc < 0)
        return rc;
    *doc = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)
               ? json_loads(PQgetvalue(res, 0, 0), 0, &jerr)
               : NULL;
    PQclear(res);
    if (!*doc) {
        snprintf(err, errlen, "the query gave no document");
        return SS_EINVAL;
    }
    return 0;
}

/* ---- trends ---- */

/* $1 measure, $2 financial year or NULL (every year), $3 age group. */
static const char trends_sql[] =
    "WITH c AS ("
    "  SELECT * FROM core.v_bucking_characteristics"
    "  WHERE measure = $1 AND age_group = $3 AND ($2::text IS NULL OR financial_year = $2)"
    "), s AS ("
    "  SELECT authority_code, authority_name, financial_year, change_pct, england_change_pct,"
    "         consecutive_years,"
    "         json_agg(json_build_object('characteristic', characteristic, 'source_view', "
    "source_view,"
    "                  'value', value, 'value_complete', value_complete,"
    "                  'peers_with_figure', peers_with_figure, 'peer_median', peer_median,"
    "                  'ratio_to_peer_median', ratio_to_peer_median, 'too_thin', too_thin,"
    "                  'note', note) ORDER BY characteristic_order) AS characteristics"
    "  FROM c GROUP BY 1, 2, 3, 4, 5, 6"
    ")"
    "SELECT json_build_object("
    "  'measure', $1::text, 'age_group', $3::text, 'financial_year', $2::text,"
    "  'rule', 'too thin: the service''s own figure missing or resting on incomplete data,"
    " fewer than 5 of its 15 nearest neighbours with a complete figure, or a median of 0;"
    " the summary is too thin when fewer than 5 services have a ratio',"
    "  'services', coalesce((SELECT json_agg(json_build_object('authority_code', authority_code,"
    "      'authority_name', authority_name, 'financial_year', financial_year,"
    "      'change_pct', change_pct, 'england_change_pct', england_change_pct,"
    "      'consecutive_years', consecutive_years, 'characteristics', characteristics)"
    "      ORDER BY financial_year, change_pct DESC, authority_code) FROM s), '[]'),"
    "  'summary', coalesce((SELECT json_agg(json_build_object('financial_year', financial_year,"
    "      'characteristic', characteristic, 'bucking_services', bucking_services,"
    "      'services_compared', services_compared, 'median_ratio', median_ratio,"
    "      'services_above_peers', services_above_peers,"
    "      'services_below_peers', services_below_peers, 'too_thin', too_thin)"
    "      ORDER BY financial_year, characteristic_order)"
    "    FROM core.v_bucking_characteristics_summary"
    "    WHERE measure = $1 AND age_group = $3 AND ($2::text IS NULL OR financial_year = $2)),"
    "    '[]'))";

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* A number member as text ("-" when null): numbers come from SQL numerics,
 * which jansson reads as reals or integers. */
static const char *jnum(const json_t *o, const char *k, char *buf, size_t n, const char *fmt)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        return "-";
    snprintf(buf, n, fmt, json_number_value(v));
    return buf;
}

static void trends_print(const json_t *doc, FILE *f)
{
    const json_t *svc, *ch, *row;
    size_t i, j;
    char a[64], b[64], c[64], e[64];
    const json_t *services = json_object_get(doc, "services");
    fprintf(f, "Services bucking England's trend in %s (%s)%s%s: %zu\n", jstr(doc, "measure"),
            jstr(doc, "age_group"),
            json_is_string(json_object_get(doc, "financial_year")) ? ", " : "",
            jstr(doc, "financial_year"), json_array_size(services));
    json_array_foreach(services, i, svc)
    {
        fprintf(f, "\n%s %s %s: %s%% against England's %s%% (%s year(s) in a row)\n",
                jstr(svc, "financial_year"), jstr(svc, "authority_code"),
                jstr(svc, "authority_name"), jnum(svc, "change_pct", a, sizeof(a), "%+.1f"),
                jnum(svc, "england_change_pct", b, sizeof(b), "%+.1f"),
                jnum(svc, "consecutive_years", c, sizeof(c), "%.0f"));
        fprintf(f, "  %-44s %12s %12s %6s %7s  %s\n", "characteristic", "service", "peer median",
                "peers", "ratio", "note");
        json_array_foreach(json_object_get(svc, "characteristics"), j, ch)
        {
            fprintf(f, "  %-44s %12s %12s %6s %7s  %s\n",
                    characteristic_label(jstr(ch, "characteristic")),
                    jnum(ch, "value", a, sizeof(a), "%.2f"),
                    jnum(ch, "peer_median", b, sizeof(b), "%.2f"),
                    jnum(ch, "peers_with_figure", c, sizeof(c), "%.0f"),
                    jnum(ch, "ratio_to_peer_median", e, sizeof(e), "%.2f"), jstr(ch, "note"));
        }
    }
    const json_t *summary = json_object_get(doc, "summary");
    if (json_array_size(summary)) {
        fprintf(f, "\nWhat they have in common (median ratio to their neighbours' median):\n");
        fprintf(f, "  %-8s %-44s %8s %8s %6s %6s  %s\n", "year", "characteristic", "services",
                "compared", "above", "below", "median ratio");
    }
    json_array_foreach(summary, i, row)
    {
        char d[64];
        fprintf(f, "  %-8s %-44s %8s %8s %6s %6s  %s\n", jstr(row, "financial_year"),
                characteristic_label(jstr(row, "characteristic")),
                jnum(row, "bucking_services", a, sizeof(a), "%.0f"),
                jnum(row, "services_compared", b, sizeof(b), "%.0f"),
                jnum(row, "services_above_peers", c, sizeof(c), "%.0f"),
                jnum(row, "services_below_peers", d, sizeof(d), "%.0f"),
                json_is_true(json_object_get(row, "too_thin"))
                    ? "too thin (fewer than 5 services with a ratio)"
                    : jnum(row, "median_ratio", e, sizeof(e), "%.2f"));
    }
    fprintf(f, "\nRule: %s\n", jstr(doc, "rule"));
}

static void trends_usage(FILE *f)
{
    fprintf(f,
            "usage: shelfsync trends --measure MEASURE [--year YYYY-YY] [--age-group GROUP]\n"
            "                        [--json] --config DAEMON-CONFIG\n"
            "  The services bucking England's trend in MEASURE (loans, visits, active_users,\n"
            "  events, event_attendance, computer_hours, wifi_sessions, ...) and how they differ\n"
            "  from their nearest neighbours (core.v_bucking_characteristics). GROUP: All ages\n"
            "  (default), Under 12, 12-17, Adult. Exit status: 0 done, 1 error, 2 usage.\n");
}

int ss_report_trends_cmd(int argc, char **argv, ss_report_open_fn open_wh)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"measure", required_argument, NULL, 'm'},
                                         {"year", required_argument, NULL, 'y'},
                                         {"age-group", required_argument, NULL, 'a'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *measure = NULL, *age = "All ages";
    char year[16] = "", err[2048];
    int c, json = 0, status = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:m:y:a:jh", opts, NULL)) != -1) {
        if (c == 'c') {
            config = optarg;
        } else if (c == 'm') {
            measure = optarg;
        } else if (c == 'a') {
            age = optarg;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'y') {
            if (parse_year(optarg, year, sizeof(year)) < 0) {
                fprintf(stderr,
                        "shelfsync trends: --year \"%s\": expected a financial year such as "
                        "2023-24\n",
                        optarg);
                return 2;
            }
        } else if (c == 'h') {
            trends_usage(stdout);
            return 0;
        } else {
            trends_usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !config || !measure) {
        fprintf(stderr, "shelfsync trends: %s\n",
                optind < argc ? "unexpected operand"
                : !config     ? "--config DAEMON-CONFIG is required"
                              : "--measure MEASURE is required");
        trends_usage(stderr);
        return 2;
    }
    struct ss_daemon_config cfg;
    struct ss_wh *wh = open_wh(config, &cfg);
    json_t *doc = NULL;
    const char *p[] = {measure, year[0] ? year : NULL, age};
    if (!wh)
        goto out;
    if (query_doc(ss_wh_conn(wh), trends_sql, 3, p, &doc, err, sizeof(err)) < 0) {
        ss_error("shelfsync trends: %s", err);
        goto out;
    }
    if (json) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        trends_print(doc, stdout);
    }
    status = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
out:
    json_decref(doc);
    ss_wh_free(wh);
    ss_daemon_config_free(&cfg);
    return status;
}

/* ---- report ---- */

/* $1 authority code, $2 financial year. One document: the authority, the
 * years held, each headline measure (its figure, its neighbours, England,
 * its years, its bucking row), the bucking characteristics and the quality
 * notes. England per 1,000 = the sum of the values over the sum of the
 * populations of English authorities with a complete year, no unconfirmed
 * outlier and a population (as v_peer_benchmark ranks and v_bucking_trend
 * counts). */
static const char report_sql[] =
    "WITH m(measure, ord) AS ("
    "  VALUES ('loans', 1), ('visits', 2), ('active_users', 3), ('event_attendance', 4),"
    "         ('computer_hours', 5), ('wifi_sessions', 6)"
    "), p AS MATERIALIZED ("
    "  SELECT * FROM core.v_authority_per_1000 WHERE age_group = 'All ages'"
    "    AND measure IN (SELECT measure FROM m)"
    "), b AS MATERIALIZED ("
    "  SELECT * FROM core.v_peer_benchmark WHERE authority_code = $1 AND age_group = 'All ages'"
    "), nb AS ("
    "  SELECT neighbour_code, rank FROM ref.nearest_neighbour WHERE code = $1 AND rank <= 15"
    "), eng AS ("
    "  SELECT financial_year, measure, count(*)::integer AS authorities,"
    "         round(1000.0 * sum(value) / sum(population), 6) AS per_1000"
    "  FROM p WHERE authority_code LIKE 'E%' AND complete AND outliers = 0 AND population > 0"
    "  GROUP BY financial_year, measure"
    "), bt AS ("
    "  SELECT * FROM core.v_bucking_trend WHERE authority_code = $1 AND age_group = 'All ages'"
    "), years AS ("
    "  SELECT DISTINCT financial_year FROM p WHERE authority_code = $1"
    "  UNION SELECT $2::text"
    ")"
    "SELECT json_build_object("
    " 'authority_code', a.code, 'authority_name', a.nice_name, 'financial_year', $2::text,"
    " 'years', (SELECT json_agg(financial_year ORDER BY financial_year) FROM years),"
    " 'neighbours', (SELECT count(*) FROM nb),"
    " 'measures', (SELECT json_agg(json_build_object("
    "    'measure', m.measure,"
    "    'value', me.value, 'population', me.population, 'per_1000', me.per_1000,"
    "    'months_reported', me.months_reported, 'complete', me.complete, 'outliers', me.outliers,"
    "    'peers_reporting', b.peers_reporting, 'peer_median', b.peer_median,"
    "    'peer_lower_quartile', b.peer_lower_quartile, 'peer_upper_quartile', "
    "b.peer_upper_quartile,"
    "    'rank', b.rank, 'ranked_of', b.ranked_of,"
    "    'england_per_1000', e.per_1000, 'england_authorities', e.authorities,"
    "    'peers', (SELECT json_agg(json_build_object('code', q.authority_code,"
    "                 'name', q.authority_name, 'per_1000', q.per_1000) ORDER BY nb.rank)"
    "              FROM nb JOIN p q ON q.authority_code = nb.neighbour_code"
    "              WHERE q.financial_year = $2 AND q.measure = m.measure AND q.complete"
    "                AND q.outliers = 0 AND q.per_1000 IS NOT NULL),"
    "    'trend', (SELECT json_agg(json_build_object('financial_year', y.financial_year,"
    "                 'per_1000', t.per_1000, 'complete', t.complete, 'outliers', t.outliers,"
    "                 'peer_median', tb.peer_median, 'england_per_1000', te.per_1000)"
    "                 ORDER BY y.financial_year)"
    "              FROM years y"
    "              LEFT JOIN p t ON t.authority_code = $1 AND t.financial_year = y.financial_year"
    "                           AND t.measure = m.measure"
    "              LEFT JOIN b tb ON tb.financial_year = y.financial_year AND tb.measure = "
    "m.measure"
    "              LEFT JOIN eng te ON te.financial_year = y.financial_year"
    "                              AND te.measure = m.measure),"
    "    'trend_row', (SELECT json_build_object('change_pct', change_pct,"
    "                 'england_change_pct', england_change_pct, 'bucking', bucking,"
    "                 'consecutive_years', consecutive_years, 'previous_value', previous_value)"
    "              FROM bt WHERE bt.financial_year = $2 AND bt.measure = m.measure)"
    "  ) ORDER BY m.ord)"
    "  FROM m"
    "  LEFT JOIN p me ON me.authority_code = $1 AND me.financial_year = $2 AND me.measure = "
    "m.measure"
    "  LEFT JOIN b ON b.financial_year = $2 AND b.measure = m.measure"
    "  LEFT JOIN eng e ON e.financial_year = $2 AND e.measure = m.measure),"
    " 'bucking', (SELECT json_agg(json_build_object('measure', measure, 'change_pct', change_pct,"
    "    'england_change_pct', england_change_pct, 'consecutive_years', consecutive_years)"
    "    ORDER BY measure) FROM bt WHERE financial_year = $2 AND bucking),"
    " 'characteristics', (SELECT json_agg(json_build_object('measure', measure,"
    "    'characteristic', characteristic, 'source_view', source_view, 'value', value,"
    "    'value_complete', value_complete, 'peers_with_figure', peers_with_figure,"
    "    'peer_median', peer_median, 'ratio_to_peer_median', ratio_to_peer_median,"
    "    'too_thin', too_thin, 'note', note) ORDER BY measure, characteristic_order)"
    "    FROM core.v_bucking_characteristics"
    "    WHERE authority_code = $1 AND financial_year = $2 AND age_group = 'All ages'),"
    " 'partial_periods', (SELECT json_agg(json_build_object('dataset', dataset,"
    "    'month', to_char(month, 'YYYY-MM'), 'source', source, 'run_outcome', run_outcome)"
    "    ORDER BY dataset, month) FROM core.v_partial_periods"
    "    WHERE authority_code = $1 AND financial_year = $2),"
    " 'quarantine', (SELECT json_agg(json_build_object('dataset', dataset, 'field', field,"
    "    'reason', reason, 'outstanding_records', outstanding_records) ORDER BY dataset, reason)"
    "    FROM (SELECT dataset, field, reason, sum(outstanding_records)::bigint AS "
    "outstanding_records"
    "          FROM core.v_quarantine_counts"
    "          WHERE authority_code = $1 AND outstanding_records > 0 AND NOT exact_repeat"
    "            AND (financial_year = $2 OR financial_year IS NULL)"
    "          GROUP BY dataset, field, reason) qq),"
    " 'outliers', (SELECT json_agg(json_build_object('measure', measure, 'breakdown', breakdown,"
    "    'age_group', age_group, 'period_start', period_start, 'period_end', period_end,"
    "    'value', value, 'rule', rule, 'times_median', times_median, 'confirmed', confirmed)"
    "    ORDER BY measure, period_start) FROM core.v_outliers"
    "    WHERE authority_code = $1 AND financial_year = $2)"
    ") FROM ref.authority a WHERE a.code = $1";

/* A number with thousands separators and d decimals ("12,345.6"). */
static void fmt_num(char *out, size_t n, double v, int d)
{
    char raw[64];
    snprintf(raw, sizeof(raw), "%.*f", d, fabs(v));
    const char *dot = strchr(raw, '.');
    size_t ilen = dot ? (size_t)(dot - raw) : strlen(raw), o = 0;
    if (v < 0 && o + 1 < n)
        out[o++] = '-';
    for (size_t i = 0; i < ilen && o + 1 < n; i++) {
        out[o++] = raw[i];
        if ((ilen - i - 1) % 3 == 0 && i + 1 < ilen && o + 1 < n)
            out[o++] = ',';
    }
    for (const char *s = dot; s && *s && o + 1 < n; s++)
        out[o++] = *s;
    out[o] = '\0';
}

static double jd(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A traced figure: <span class="fig" data-...>shown</span>, or "—" with
 * data-value="" when missing. The data-value is the view's value as JSON
 * gave it (%.17g: exact enough to compare with the view). */
static void figure(FILE *f, const char *source, const char *measure, const char *field, double v,
                   int decimals)
{
    char shown[80];
    fprintf(f, "<span class=\"fig\" data-source=\"%s\" data-measure=\"", source);
    ss_svg_escape(f, measure);
    fprintf(f, "\" data-field=\"%s\" data-value=\"", field);
    if (isfinite(v)) {
        fmt_num(shown, sizeof(shown), v, decimals);
        fprintf(f, "%.17g\">%s</span>", v, shown);
    } else {
        fputs("\">&#8212;</span>", f);
    }
}

static const char css[] =
    "body{font:14px/1.45 'DejaVu Sans',Arial,sans-serif;color:#1d2a36;margin:24px auto;"
    "max-width:1100px;padding:0 16px}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;border-bottom:2px solid #3b5b7a;"
    "padding-bottom:2px;margin-top:28px}h3{font-size:15px;margin:14px 0 4px}"
    ".sub{color:#52616f;margin:0 0 12px}"
    "table{border-collapse:collapse;width:100%;margin:6px 0 10px}"
    "th,td{border-bottom:1px solid #d5dbe1;padding:4px 6px;text-align:left;vertical-align:top}"
    "th{background:#eef2f5;font-weight:600}td.n,th.n{text-align:right;white-space:nowrap}"
    ".src{color:#6b7884;font-size:11px}.note{color:#8a4b08}.ok{color:#2d6a3e}"
    ".grid{display:flex;flex-wrap:wrap;gap:10px 24px}.grid>div{flex:1 1 480px}"
    "svg.chart{width:100%;height:auto;max-width:640px;display:block}"
    "svg .t{font:600 13px 'DejaVu Sans',Arial,sans-serif;fill:#1d2a36}"
    "svg .l,svg .v,svg .missing,svg .nodata{font:11px 'DejaVu Sans',Arial,sans-serif;"
    "fill:#3d4a56}svg .missing,svg .nodata{fill:#8a4b08}"
    "section{page-break-inside:avoid;break-inside:avoid}"
    "@media print{body{margin:0;max-width:none;font-size:11px}"
    "h2.newpage{page-break-before:always;break-before:page}"
    ".measure{page-break-inside:avoid;break-inside:avoid}a{color:inherit;text-decoration:none}}"
    "@page{size:A4;margin:14mm}";

static void text(FILE *f, const char *s)
{
    ss_svg_escape(f, s);
}

/* Where the authority sits among its neighbours, in words. */
static const char *position(const json_t *m)
{
    double v = jd(m, "per_1000"), lq = jd(m, "peer_lower_quartile"),
           uq = jd(m, "peer_upper_quartile");
    if (!isfinite(v) || !isfinite(lq) || !isfinite(uq))
        return "cannot be placed";
    if (v > uq)
        return "above its neighbours' upper quartile";
    if (v < lq)
        return "below its neighbours' lower quartile";
    return "within its neighbours' middle half";
}

static void report_headline(FILE *f, const json_t *doc)
{
    const json_t *m;
    size_t i;
    fputs("<section><h2>Headline measures per 1,000 residents</h2>"
          "<table><tr><th>measure</th><th class=\"n\">per 1,000</th>"
          "<th class=\"n\">neighbours' median</th><th class=\"n\">England</th>"
          "<th class=\"n\">rank</th><th>where it sits</th><th>year</th></tr>",
          f);
    json_array_foreach(json_object_get(doc, "measures"), i, m)
    {
        const char *key = jstr(m, "measure");
        fputs("<tr><td>", f);
        text(f, measure_label(key));
        fputs("</td><td class=\"n\">", f);
        figure(f, "core.v_authority_per_1000", key, "per_1000", jd(m, "per_1000"), 1);
        fputs("</td><td class=\"n\">", f);
        figure(f, "core.v_peer_benchmark", key, "peer_median", jd(m, "peer_median"), 1);
        fputs(" <span class=\"src\">(n=", f);
        figure(f, "core.v_peer_benchmark", key, "peers_reporting", jd(m, "peers_reporting"), 0);
        fputs(")</span></td><td class=\"n\">", f);
        figure(f, "core.v_authority_per_1000", key, "england_per_1000", jd(m, "england_per_1000"),
               1);
        fputs("</td><td class=\"n\">", f);
        if (json_is_number(json_object_get(m, "rank"))) {
            figure(f, "core.v_peer_benchmark", key, "rank", jd(m, "rank"), 0);
            fputs(" of ", f);
            figure(f, "core.v_peer_benchmark", key, "ranked_of", jd(m, "ranked_of"), 0);
        } else {
            fputs("not ranked", f);
        }
        fputs("</td><td>", f);
        text(f, position(m));
        fputs("</td><td>", f);
        if (!json_is_number(json_object_get(m, "per_1000")))
            fputs("<span class=\"note\">no figure</span>", f);
        else if (!json_is_true(json_object_get(m, "complete")))
            fprintf(f, "<span class=\"note\">incomplete: %.0f of 12 months</span>",
                    jd(m, "months_reported"));
        else if (jd(m, "outliers") > 0)
            fputs("<span class=\"note\">rests on an unconfirmed outlier</span>", f);
        else
            fputs("<span class=\"ok\">complete</span>", f);
        fputs("</td></tr>", f);
    }
    fputs("</table><p class=\"src\">Sources: core.v_authority_per_1000 (per 1,000; England ="
          " the sum over English authorities with a complete year and no unconfirmed outlier"
          " over their population), core.v_peer_benchmark (the 15 nearest ONS neighbours with"
          " a complete year: median, quartiles, rank, n). The service's bar is in red.</p>",
          f);
    /* A bar chart of the authority against its median and England, per measure. */
    fputs("<div class=\"grid\">", f);
    json_array_foreach(json_object_get(doc, "measures"), i, m)
    {
        struct ss_svg_point bars[3] = {
            {jstr(doc, "authority_name"), jd(m, "per_1000"), 1},
            {"Neighbours' median", jd(m, "peer_median"), 0},
            {"England", jd(m, "england_per_1000"), 0},
        };
        char title[128];
        snprintf(title, sizeof(title), "%s per 1,000 residents", measure_label(jstr(m, "measure")));
        fputs("<div class=\"measure\">", f);
        ss_svg_bar_chart(f, title, bars, 3);
        fputs("</div>", f);
    }
    fputs("</div></section>", f);
}

static void report_peers(FILE *f, const json_t *doc)
{
    const json_t *m, *q;
    size_t i, j;
    fputs("<section><h2 class=\"newpage\">Against the nearest neighbours</h2>"
          "<p class=\"sub\">Each dot is one of the 15 nearest ONS statistical neighbours with a"
          " complete year and no unconfirmed outlier; the large red dot is the service; the dashed"
          " line the neighbours' median. Source: core.v_authority_per_1000,"
          " ref.nearest_neighbour.</p><div class=\"grid\">",
          f);
    json_array_foreach(json_object_get(doc, "measures"), i, m)
    {
        const json_t *peers = json_object_get(m, "peers");
        size_t n = json_array_size(peers) + 1;
        struct ss_svg_point *pts = calloc(n, sizeof(*pts));
        if (!pts)
            continue;
        pts[0] = (struct ss_svg_point){jstr(doc, "authority_name"), jd(m, "per_1000"), 1};
        json_array_foreach(peers, j, q)
        {
            pts[j + 1] = (struct ss_svg_point){jstr(q, "name"), jd(q, "per_1000"), 0};
        }
        char title[128];
        snprintf(title, sizeof(title), "%s per 1,000: %zu neighbours",
                 measure_label(jstr(m, "measure")), n - 1);
        fputs("<div class=\"measure\">", f);
        ss_svg_strip_plot(f, title, pts, n, jd(m, "peer_median"));
        fputs("</div>", f);
        free(pts);
    }
    fputs("</div></section>", f);
}

static void report_trends(FILE *f, const json_t *doc)
{
    const json_t *m, *t;
    size_t i, j;
    const json_t *years = json_object_get(doc, "years");
    size_t nx = json_array_size(years);
    const char **xl = calloc(nx ? nx : 1, sizeof(*xl));
    double *own = calloc(nx ? nx : 1, sizeof(*own)), *med = calloc(nx ? nx : 1, sizeof(*med)),
           *eng = calloc(nx ? nx : 1, sizeof(*eng));
    if (!xl || !own || !med || !eng)
        goto out;
    for (j = 0; j < nx; j++)
        xl[j] = json_string_value(json_array_get(years, j));
    fputs("<section><h2>Trends over the years held</h2><p class=\"sub\">Per 1,000 residents,"
          " complete years only (a year not complete, or resting on an unconfirmed outlier, is a"
          " gap, not a zero). Source: core.v_authority_per_1000, core.v_peer_benchmark.</p>"
          "<div class=\"grid\">",
          f);
    json_array_foreach(json_object_get(doc, "measures"), i, m)
    {
        json_array_foreach(json_object_get(m, "trend"), j, t)
        {
            if (j >= nx)
                break;
            int usable = json_is_true(json_object_get(t, "complete")) && jd(t, "outliers") == 0;
            own[j] = usable ? jd(t, "per_1000") : NAN;
            med[j] = jd(t, "peer_median");
            eng[j] = jd(t, "england_per_1000");
        }
        struct ss_svg_series s[3] = {{jstr(doc, "authority_name"), own, 1},
                                     {"Neighbours' median", med, 0},
                                     {"England", eng, 0}};
        char title[128];
        snprintf(title, sizeof(title), "%s per 1,000 residents", measure_label(jstr(m, "measure")));
        fputs("<div class=\"measure\">", f);
        ss_svg_line_chart(f, title, xl, nx, s, 3);
        fputs("</div>", f);
    }
    fputs("</div>", f);
    if (nx < 2)
        fputs("<p class=\"note\">The warehouse holds one year: no trend can be drawn yet.</p>", f);
    fputs("</section>", f);
out:
    free(xl);
    free(own);
    free(med);
    free(eng);
}

static void report_bucking(FILE *f, const json_t *doc)
{
    const json_t *m, *c, *tr;
    size_t i;
    fputs("<section><h2 class=\"newpage\">Bucking the trend</h2><table><tr><th>measure</th>"
          "<th class=\"n\">change on the year before</th><th class=\"n\">England</th>"
          "<th>bucking</th></tr>",
          f);
    json_array_foreach(json_object_get(doc, "measures"), i, m)
    {
        const char *key = jstr(m, "measure");
        tr = json_object_get(m, "trend_row");
        fputs("<tr><td>", f);
        text(f, measure_label(key));
        fputs("</td><td class=\"n\">", f);
        figure(f, "core.v_bucking_trend", key, "change_pct", jd(tr, "change_pct"), 1);
        fputs(isfinite(jd(tr, "change_pct")) ? "%</td><td class=\"n\">" : "</td><td class=\"n\">",
              f);
        figure(f, "core.v_bucking_trend", key, "england_change_pct", jd(tr, "england_change_pct"),
               1);
        fputs(isfinite(jd(tr, "england_change_pct")) ? "%</td><td>" : "</td><td>", f);
        if (!json_is_object(tr))
            fputs("<span class=\"note\">no comparison: two complete years are needed</span>", f);
        else if (json_is_true(json_object_get(tr, "bucking")))
            fprintf(f, "<strong>yes</strong>, %.0f year(s) in a row", jd(tr, "consecutive_years"));
        else
            fputs("no", f);
        fputs("</td></tr>", f);
    }
    fputs("</table><p class=\"src\">Source: core.v_bucking_trend (the service rose while England"
          " fell; both years complete, no unconfirmed outlier).</p>",
          f);
    const json_t *chars = json_object_get(doc, "characteristics");
    if (json_array_size(chars)) {
        fputs("<h3>How it differs from its neighbours where it bucks the trend</h3><table><tr>"
              "<th>bucking in</th><th>characteristic</th><th class=\"n\">the service</th>"
              "<th class=\"n\">neighbours' median</th><th class=\"n\">n</th>"
              "<th class=\"n\">ratio</th><th>note</th></tr>",
              f);
        json_array_foreach(chars, i, c)
        {
            char key[160];
            snprintf(key, sizeof(key), "%s/%s", jstr(c, "measure"), jstr(c, "characteristic"));
            fputs("<tr><td>", f);
            text(f, measure_label(jstr(c, "measure")));
            fputs("</td><td>", f);
            text(f, characteristic_label(jstr(c, "characteristic")));
            fputs(" <span class=\"src\">(", f);
            text(f, jstr(c, "source_view"));
            fputs(")</span></td><td class=\"n\">", f);
            figure(f, "core.v_bucking_characteristics", key, "value", jd(c, "value"), 2);
            fputs("</td><td class=\"n\">", f);
            figure(f, "core.v_bucking_characteristics", key, "peer_median", jd(c, "peer_median"),
                   2);
            fputs("</td><td class=\"n\">", f);
            figure(f, "core.v_bucking_characteristics", key, "peers_with_figure",
                   jd(c, "peers_with_figure"), 0);
            fputs("</td><td class=\"n\">", f);
            figure(f, "core.v_bucking_characteristics", key, "ratio_to_peer_median",
                   jd(c, "ratio_to_peer_median"), 3);
            fputs("</td><td class=\"note\">", f);
            text(f, jstr(c, "note"));
            fputs("</td></tr>", f);
        }
        fputs("</table><p class=\"src\">Source: core.v_bucking_characteristics. Too thin to say"
              " anything when the service's own figure is missing or rests on incomplete data,"
              " fewer than 5 of its 15 neighbours have a complete figure, or their median is"
              " 0.</p>",
              f);
    } else {
        fputs("<p>The service does not buck England's trend in any measure this year (or the"
              " warehouse holds too few complete years to say).</p>",
              f);
    }
    fputs("</section>", f);
}

static void report_quality(FILE *f, const json_t *doc)
{
    const json_t *m, *r;
    size_t i;
    int any = 0;
    fputs("<section><h2>Completeness and quality</h2><ul>", f);
    json_array_foreach(json_object_get(doc, "measures"), i, m)
    {
        const char *key = jstr(m, "measure");
        if (!json_is_number(json_object_get(m, "per_1000"))) {
            fputs("<li>", f);
            text(f, measure_label(key));
            fputs(": no figure for the year (nothing loaded, or no population).</li>", f);
            any = 1;
        } else if (!json_is_true(json_object_get(m, "complete"))) {
            fputs("<li>", f);
            text(f, measure_label(key));
            fputs(": the year is not complete (", f);
            figure(f, "core.v_authority_per_1000", key, "months_reported", jd(m, "months_reported"),
                   0);
            fputs(" of 12 months, or a partial run or quarantined records): not ranked, not"
                  " compared.</li>",
                  f);
            any = 1;
        }
    }
    json_array_foreach(json_object_get(doc, "partial_periods"), i, r)
    {
        fputs("<li>Partial run: ", f);
        text(f, jstr(r, "dataset"));
        fputs(" ", f);
        text(f, jstr(r, "month"));
        fputs(" from source ", f);
        text(f, jstr(r, "source"));
        fputs(" (", f);
        text(f, jstr(r, "run_outcome"));
        fputs(") <span class=\"src\">core.v_partial_periods</span></li>", f);
        any = 1;
    }
    json_array_foreach(json_object_get(doc, "quarantine"), i, r)
    {
        fputs("<li>Quarantined: ", f);
        figure(f, "core.v_quarantine_counts", jstr(r, "dataset"), "outstanding_records",
               jd(r, "outstanding_records"), 0);
        fputs(" ", f);
        text(f, jstr(r, "dataset"));
        fputs(" record(s): ", f);
        text(f, jstr(r, "reason"));
        fputs(" <span class=\"src\">core.v_quarantine_counts</span></li>", f);
        any = 1;
    }
    json_array_foreach(json_object_get(doc, "outliers"), i, r)
    {
        char v[64];
        fmt_num(v, sizeof(v), jd(r, "value"), 0);
        fputs("<li>Outlier", f);
        fputs(json_is_true(json_object_get(r, "confirmed")) ? " (confirmed)" : " (unconfirmed)", f);
        fputs(": ", f);
        text(f, jstr(r, "measure"));
        fputs(" ", f);
        text(f, jstr(r, "breakdown"));
        fputs(" ", f);
        text(f, jstr(r, "age_group"));
        fputs(" ", f);
        text(f, jstr(r, "period_start"));
        fputs(" to ", f);
        text(f, jstr(r, "period_end"));
        fprintf(f, ": %s, %.1f times the %s median <span class=\"src\">core.v_outliers</span></li>",
                v, jd(r, "times_median"), jstr(r, "rule"));
        any = 1;
    }
    if (!any)
        fputs("<li class=\"ok\">Every headline measure's year is complete; no partial run, no"
              " outstanding quarantined record, no outlier.</li>",
              f);
    fputs("</ul></section>", f);
}

static int report_write(FILE *f, const json_t *doc)
{
    fputs("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
    text(f, jstr(doc, "authority_name"));
    fputs(" library service ", f);
    text(f, jstr(doc, "financial_year"));
    fprintf(f, "</title><style>%s</style></head><body><header><h1>", css);
    text(f, jstr(doc, "authority_name"));
    fputs(" library service, ", f);
    text(f, jstr(doc, "financial_year"));
    fputs("</h1><p class=\"sub\">", f);
    text(f, jstr(doc, "authority_code"));
    fprintf(f,
            " &#183; against its %.0f nearest ONS statistical neighbours and England &#183;"
            " from the shelfsync warehouse</p></header>",
            jd(doc, "neighbours"));
    report_headline(f, doc);
    report_peers(f, doc);
    report_trends(f, doc);
    report_bucking(f, doc);
    report_quality(f, doc);
    fputs("<footer><p class=\"src\">Every figure names its view (data-source) and holds the"
          " view's value (data-value); docs/warehouse.md, \"The report\", says what each"
          " is.</p></footer></body></html>\n",
          f);
    return ferror(f) ? SS_EINVAL : 0;
}

static void report_usage(FILE *f)
{
    fprintf(f, "usage: shelfsync report --authority GSS-CODE --year YYYY-YY --out FILE.html\n"
               "                        --config DAEMON-CONFIG\n"
               "  One self-contained HTML page for the library service: headline measures per\n"
               "  1,000 against its nearest neighbours and England, trends, bucking the trend,\n"
               "  completeness and quality. --out - writes to standard output.\n"
               "  Exit status: 0 written, 1 error, 2 usage.\n");
}

int ss_report_cmd(int argc, char **argv, ss_report_open_fn open_wh)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"authority", required_argument, NULL, 'a'},
        {"year", required_argument, NULL, 'y'},   {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *config = NULL, *authority = NULL, *out = NULL;
    char year[16] = "", err[2048], tmp[4200] = "";
    int c, status = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:a:y:o:h", opts, NULL)) != -1) {
        if (c == 'c') {
            config = optarg;
        } else if (c == 'a') {
            authority = optarg;
        } else if (c == 'o') {
            out = optarg;
        } else if (c == 'y') {
            if (parse_year(optarg, year, sizeof(year)) < 0) {
                fprintf(stderr,
                        "shelfsync report: --year \"%s\": expected a financial year such as "
                        "2023-24\n",
                        optarg);
                return 2;
            }
        } else if (c == 'h') {
            report_usage(stdout);
            return 0;
        } else {
            report_usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !config || !authority || !year[0] || !out) {
        fprintf(stderr, "shelfsync report: %s\n",
                optind < argc ? "unexpected operand"
                : !config     ? "--config DAEMON-CONFIG is required"
                : !authority  ? "--authority GSS-CODE is required"
                : !year[0]    ? "--year YYYY-YY is required"
                              : "--out FILE is required");
        report_usage(stderr);
        return 2;
    }
    struct ss_daemon_config cfg;
    struct ss_wh *wh = open_wh(config, &cfg);
    json_t *doc = NULL;
    FILE *f = NULL;
    const char *p[] = {authority, year};
    if (!wh)
        goto done;
    PGresult *res = NULL;
    json_error_t jerr;
    int rc = ss_pg_query(ss_wh_conn(wh), report_sql, 2, p, &res, err, sizeof(err));
    if (rc < 0) {
        ss_error("shelfsync report: %s", err);
        goto done;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        ss_error("shelfsync report: no authority \"%s\" in ref.authority (load it with"
                 " shelfsync ref load authorities)",
                 authority);
        goto done;
    }
    doc = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    PQclear(res);
    if (!doc) {
        ss_error("shelfsync report: the report query gave no document: %s", jerr.text);
        goto done;
    }
    if (strcmp(out, "-") == 0) {
        f = stdout;
    } else {
        /* Written beside the target and renamed: never a half-written report. */
        snprintf(tmp, sizeof(tmp), "%s.tmp", out);
        f = fopen(tmp, "w");
        if (!f) {
            ss_error("shelfsync report: %s: cannot write: %s", tmp, strerror(errno));
            goto done;
        }
    }
    rc = report_write(f, doc);
    if (f != stdout) {
        rc |= fclose(f) != 0 ? SS_EINVAL : 0;
        if (rc == 0 && rename(tmp, out) != 0)
            rc = SS_EINVAL;
        if (rc != 0) {
            ss_error("shelfsync report: %s: cannot write: %s", out, strerror(errno));
            remove(tmp);
            goto done;
        }
    } else if (rc != 0 || fflush(stdout) != 0) {
        goto done;
    }
    status = 0;
done:
    json_decref(doc);
    ss_wh_free(wh);
    ss_daemon_config_free(&cfg);
    return status;
}
