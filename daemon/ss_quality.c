/* ss_quality: see ss_quality.h. */
#include "ss_quality.h"

#include <stdlib.h>
#include <string.h>

#include "ss_date.h"
#include "ss_err.h"
#include "ss_pg.h"

const struct ss_quality_check ss_quality_checks[] = {
    {"completeness", "core.quality_completeness", "months and service points not reported"},
    {"outliers", "core.quality_outliers", "values far outside their history or peers, unconfirmed"},
    {"suppressed", "core.quality_suppressed", "counts withheld at source"},
    {"overlaps", "core.quality_overlaps", "facts of one key whose periods overlap"},
    {"quarantine", "core.quality_quarantine", "records outstanding in the quarantine"},
    {"stale_sources", "core.quality_stale_sources", "sources with no successful run in time"},
    {"partial_runs", "core.quality_partial_runs", "runs that did not complete"},
};
const size_t ss_quality_nchecks = sizeof(ss_quality_checks) / sizeof(ss_quality_checks[0]);

int ss_quality_severity_rank(const char *severity)
{
    if (!severity)
        return -1;
    return strcmp(severity, "error") == 0     ? 2
           : strcmp(severity, "warning") == 0 ? 1
           : strcmp(severity, "info") == 0    ? 0
                                              : -1;
}

int ss_quality_verdict(size_t errors, size_t warnings)
{
    return errors ? SS_QUALITY_ERRORS : warnings ? SS_QUALITY_WARNINGS : SS_QUALITY_OK;
}

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int ss_quality_check_year(const char *s)
{
    int y;
    return ss_fy_label(s, &y) == 0 && y <= 2100 ? 0 : SS_EINVAL;
}

int ss_quality_check_authority(const char *s)
{
    return s && strlen(s) == 9 && s[0] >= 'A' && s[0] <= 'Z' && digits(s + 1, 8) ? 0 : SS_EINVAL;
}

int ss_quality_judge(json_t *doc)
{
    size_t total[3] = {0, 0, 0}, i, j;
    json_t *check, *finding;
    json_array_foreach(json_object_get(doc, "checks"), i, check)
    {
        size_t n[3] = {0, 0, 0};
        json_array_foreach(json_object_get(check, "findings"), j, finding)
        {
            int r =
                ss_quality_severity_rank(json_string_value(json_object_get(finding, "severity")));
            /* An unknown severity is the views' mistake: weigh it as an
             * error rather than let it pass unseen. */
            n[r < 0 ? 2 : r]++;
        }
        json_object_set_new(check, "errors", json_integer((json_int_t)n[2]));
        json_object_set_new(check, "warnings", json_integer((json_int_t)n[1]));
        json_object_set_new(check, "info", json_integer((json_int_t)n[0]));
        for (int k = 0; k < 3; k++)
            total[k] += n[k];
    }
    int verdict = ss_quality_verdict(total[2], total[1]);
    json_object_set_new(doc, "errors", json_integer((json_int_t)total[2]));
    json_object_set_new(doc, "warnings", json_integer((json_int_t)total[1]));
    json_object_set_new(doc, "info", json_integer((json_int_t)total[0]));
    json_object_set_new(doc, "status",
                        json_string(verdict == SS_QUALITY_ERRORS     ? "errors"
                                    : verdict == SS_QUALITY_WARNINGS ? "warnings"
                                                                     : "ok"));
    json_object_set_new(doc, "exit_status", json_integer(verdict));
    return verdict;
}

/* One check's findings as a JSON array, worst first. The view name comes
 * from ss_quality_checks, never from input. */
static int query_check(PGconn *conn, const struct ss_quality_check *c,
                       const struct ss_quality_opts *o, json_t **out, char *err, size_t errlen)
{
    char sql[1024];
    PGresult *res = NULL;
    json_error_t jerr;
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(json_agg(row_to_json(v) ORDER BY"
             " CASE v.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,"
             " v.authority_code NULLS LAST, v.financial_year NULLS LAST, v.dataset, v.detail),"
             " '[]'::json)::text FROM %s v"
             " WHERE ($1::text IS NULL OR v.authority_code = $1)"
             " AND ($2::text IS NULL OR v.financial_year = $2)"
             " AND ($3::text IS NULL OR v.dataset = $3)",
             c->view);
    const char *p[] = {o->authority, o->year, o->dataset};
    int rc = ss_pg_query(conn, sql, 3, p, &res, err, errlen);
    if (rc < 0)
        return rc;
    *out = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, &jerr) : NULL;
    PQclear(res);
    if (!json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        snprintf(err, errlen, "%s: the query gave no list of findings", c->view);
        return SS_EINVAL;
    }
    return 0;
}

int ss_quality_collect(PGconn *conn, const struct ss_quality_opts *o, json_t **out, char *err,
                       size_t errlen)
{
    char bound[32];
    int rc;
    /* The stale bound is a session setting the view reads, so that the
     * view stays the one statement of the rule; '' = each source's own. */
    if (o->stale_after_s > 0)
        snprintf(bound, sizeof(bound), "%ld", o->stale_after_s);
    else
        bound[0] = '\0';
    const char *p[] = {bound};
    rc = ss_pg_exec_params(conn, "SELECT set_config('shelfsync.stale_after_s', $1, false)", 1, p,
                           err, errlen);
    if (rc < 0)
        return rc;
    json_t *doc = json_object(), *checks = json_array(), *sel = json_object();
    if (!doc || !checks || !sel) {
        json_decref(doc);
        json_decref(checks);
        json_decref(sel);
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    json_object_set_new(sel, "authority_code",
                        o->authority ? json_string(o->authority) : json_null());
    json_object_set_new(sel, "financial_year", o->year ? json_string(o->year) : json_null());
    json_object_set_new(sel, "dataset", o->dataset ? json_string(o->dataset) : json_null());
    json_object_set_new(sel, "stale_after_s",
                        o->stale_after_s > 0 ? json_integer(o->stale_after_s) : json_null());
    json_object_set_new(doc, "selection", sel);
    json_object_set_new(doc, "checks", checks);
    for (size_t i = 0; i < ss_quality_nchecks; i++) {
        const struct ss_quality_check *c = &ss_quality_checks[i];
        json_t *findings = NULL, *check = json_object(), *f;
        size_t j;
        rc = query_check(conn, c, o, &findings, err, errlen);
        if (rc < 0 || !check) {
            json_decref(check);
            json_decref(doc);
            if (rc >= 0)
                snprintf(err, errlen, "out of memory");
            return rc < 0 ? rc : SS_ENOMEM;
        }
        json_array_foreach(findings, j, f) json_object_set_new(f, "view", json_string(c->view));
        json_object_set_new(check, "check", json_string(c->name));
        json_object_set_new(check, "view", json_string(c->view));
        json_object_set_new(check, "title", json_string(c->title));
        json_object_set_new(check, "findings", findings);
        json_array_append_new(checks, check);
    }
    ss_quality_judge(doc);
    *out = doc;
    return 0;
}

static const char *str(const json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : dflt;
}

static long long num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

#define NCOL 5
static const char *const headings[NCOL] = {"SEVERITY", "AUTHORITY", "YEAR", "DATASET", "DETAIL"};

/* The cells of one finding; the detail (last) is printed unpadded. */
static void cells_of(const json_t *f, const char *cells[NCOL])
{
    cells[0] = str(f, "severity", "?");
    cells[1] = str(f, "authority_code", "-");
    cells[2] = str(f, "financial_year", "-");
    cells[3] = str(f, "dataset", "-");
    cells[4] = str(f, "detail", "");
}

/* The detail as one line: a run's error may hold line breaks or tabs. */
static void put_line(const char *s, FILE *f)
{
    for (; *s; s++)
        fputc(*s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s, f);
    fputc('\n', f);
}

static void print_check(const json_t *check, FILE *f)
{
    const json_t *findings = json_object_get(check, "findings"), *x;
    size_t n = json_array_size(findings), i, width[NCOL];
    const char *cells[NCOL];
    fprintf(f, "%s (%s): %s\n", str(check, "check", "?"), str(check, "view", "?"),
            str(check, "title", ""));
    if (!n) {
        fprintf(f, "  nothing found\n\n");
        return;
    }
    for (int c = 0; c < NCOL; c++)
        width[c] = strlen(headings[c]);
    json_array_foreach(findings, i, x)
    {
        cells_of(x, cells);
        for (int c = 0; c + 1 < NCOL; c++)
            if (strlen(cells[c]) > width[c])
                width[c] = strlen(cells[c]);
    }
    fprintf(f, "  ");
    for (int c = 0; c + 1 < NCOL; c++)
        fprintf(f, "%-*s  ", (int)width[c], headings[c]);
    fprintf(f, "%s\n", headings[NCOL - 1]);
    json_array_foreach(findings, i, x)
    {
        cells_of(x, cells);
        fprintf(f, "  ");
        for (int c = 0; c + 1 < NCOL; c++)
            fprintf(f, "%-*s  ", (int)width[c], cells[c]);
        put_line(cells[NCOL - 1], f);
    }
    fprintf(f, "  %lld error%s, %lld warning%s, %lld info\n\n", num(check, "errors"),
            num(check, "errors") == 1 ? "" : "s", num(check, "warnings"),
            num(check, "warnings") == 1 ? "" : "s", num(check, "info"));
}

void ss_quality_print(const json_t *doc, FILE *f)
{
    const json_t *sel = json_object_get(doc, "selection"), *check;
    size_t i;
    fprintf(f, "selection: authority %s, financial year %s, dataset %s\n\n",
            str(sel, "authority_code", "all"), str(sel, "financial_year", "all"),
            str(sel, "dataset", "all"));
    json_array_foreach(json_object_get(doc, "checks"), i, check) print_check(check, f);
    fprintf(f, "quality: %s (%lld error%s, %lld warning%s, %lld info)\n", str(doc, "status", "?"),
            num(doc, "errors"), num(doc, "errors") == 1 ? "" : "s", num(doc, "warnings"),
            num(doc, "warnings") == 1 ? "" : "s", num(doc, "info"));
}
