/* ss_export_activity: see ss_export_activity.h. */
#include "ss_export_activity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ss_buf.h"
#include "ss_csv.h"
#include "ss_err.h"
#include "ss_file.h"
#include "ss_pg.h"

/* One measure of the return: its published file and header, and where the
 * warehouse holds it. breakdown and age are the table's columns for the
 * file's second and age columns (NULL: the file has none); users.csv puts
 * its Period before its Age group, as published. */
struct measure {
    const char *name;   /* the file's stem: Measure in the combined file */
    const char *file;   /* as the published long form names it */
    const char *header; /* the published header */
    const char *table, *breakdown, *age, *value;
    int period_before_age;
    const char *year_measure; /* its measure in core.v_authority_year */
};

static const struct measure measures[SS_EXPORT_ACTIVITY_MEASURES] = {
    {"loans", "loans.csv", "Authority,Format,Content age group,Period,Count", "core.activity_loans",
     "format", "content_age_group", "loans", 0, "loans"},
    {"users", "users.csv", "Authority,Period,Age group,Count", "core.active_users", NULL,
     "age_group", "users", 1, "active_users"},
    {"events", "events.csv", "Authority,Event type,Age group,Period,Count", "core.activity_events",
     "event_type", "age_group", "events", 0, "events"},
    {"event_attendance", "event_attendance.csv", "Authority,Event type,Age group,Period,Count",
     "core.activity_event_attendance", "event_type", "age_group", "attendees", 0,
     "event_attendance"},
    {"visits", "visits.csv", "Authority,Location,Period,Count", "core.activity_visits", "location",
     NULL, "visits", 0, "visits"},
    {"computers", "computers.csv", "Authority,Period,Count", "core.computer_hours", NULL, NULL,
     "hours", 0, "computer_hours"},
    {"wifi", "wifi.csv", "Authority,Period,Count", "core.wifi_sessions", NULL, NULL, "sessions", 0,
     "wifi_sessions"},
    {"click_and_collect", "click_and_collect.csv", "Authority,Period,Count",
     "core.click_and_collect", NULL, NULL, "interactions", 0, "click_and_collect"},
};

#define COMBINED_HEADER "Measure,Authority,Breakdown,Age group,Period,Count"

const char *ss_export_activity_file(size_t i)
{
    return i < SS_EXPORT_ACTIVITY_MEASURES ? measures[i].file : NULL;
}

int ss_export_activity_period(struct ss_date start, struct ss_date end, char *out, size_t len)
{
    long s = ss_date_to_days(start), e = ss_date_to_days(end);
    int n;
    if (e < s)
        return SS_EINVAL;
    int months = (end.y - start.y) * 12 + (end.m - start.m) + 1;
    if (start.d == 1 && end.d == ss_days_in_month(end.y, end.m)) {
        if (months % 12 == 0)
            n = snprintf(out, len, "%04d-%02d-01/P%dY", start.y, start.m, months / 12);
        else
            n = snprintf(out, len, "%04d-%02d-01/P%dM", start.y, start.m, months);
    } else {
        n = snprintf(out, len, "%04d-%02d-%02d/P%ldD", start.y, start.m, start.d, e - s + 1);
    }
    return n < 0 || (size_t)n >= len ? SS_E2BIG : 0;
}

int ss_export_activity_year(const char *label, int *fy_start)
{
    return ss_fy_label(label, fy_start);
}

/* A GSS code: one upper-case letter and eight digits (E09000001). */
static int gss_code(const char *s)
{
    if (strlen(s) != 9 || s[0] < 'A' || s[0] > 'Z')
        return 0;
    for (size_t i = 1; i < 9; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The export's parameters as text: $1 the codes as a text[] literal (NULL:
 * every authority), $2 and $3 the year's first and last days, $4 its label. */
struct params {
    struct ss_buf codes;
    char first[32], last[32], label[32];
    const char *p[4];
};

static int params_init(struct params *pp, const struct ss_export_activity_opts *o, char *err,
                       size_t errlen)
{
    int rc = 0;
    ss_buf_init(&pp->codes, (size_t)SS_EXPORT_ACTIVITY_MAX_AUTHORITIES * 12 + 4);
    if (o->n_authorities > SS_EXPORT_ACTIVITY_MAX_AUTHORITIES) {
        snprintf(err, errlen, "%zu authorities: at most %d in one export", o->n_authorities,
                 SS_EXPORT_ACTIVITY_MAX_AUTHORITIES);
        return SS_E2BIG;
    }
    for (size_t i = 0; i < o->n_authorities; i++) {
        if (!gss_code(o->authorities[i])) {
            snprintf(err, errlen,
                     "--authority \"%s\": not a GSS code (one capital letter and eight digits, "
                     "e.g. E09000001)",
                     o->authorities[i]);
            return SS_EINVAL;
        }
        if ((rc = ss_buf_adds(&pp->codes, i ? "," : "{")) < 0 ||
            (rc = ss_buf_adds(&pp->codes, o->authorities[i])) < 0)
            return rc;
    }
    if (o->n_authorities && (rc = ss_buf_addc(&pp->codes, '}')) < 0)
        return rc;
    snprintf(pp->first, sizeof(pp->first), "%04d-04-01", o->fy_start);
    snprintf(pp->last, sizeof(pp->last), "%04d-03-31", o->fy_start + 1);
    snprintf(pp->label, sizeof(pp->label), "%04d-%02d", o->fy_start, (o->fy_start + 1) % 100);
    pp->p[0] = o->n_authorities ? pp->codes.data : NULL;
    pp->p[1] = pp->first;
    pp->p[2] = pp->last;
    pp->p[3] = pp->label;
    return 0;
}

/* Every code asked for is in ref.authority: 0, or SS_EINVAL naming those
 * that are not (nothing is written then). */
static int check_authorities(PGconn *conn, const struct params *pp, char *err, size_t errlen)
{
    static const char sql[] = "SELECT string_agg(c, ', ' ORDER BY c) FROM unnest($1::text[]) c"
                              " WHERE NOT EXISTS (SELECT 1 FROM ref.authority a WHERE a.code = c)";
    PGresult *res;
    if (!pp->p[0])
        return 0;
    int rc = ss_pg_query(conn, sql, 1, pp->p, &res, err, errlen);
    if (rc < 0)
        return rc;
    if (!PQgetisnull(res, 0, 0)) {
        snprintf(err, errlen,
                 "no authority %s in ref.authority (load the authorities with `shelfsync ref load "
                 "authorities FILE`, or check the code): nothing exported",
                 PQgetvalue(res, 0, 0));
        rc = SS_EINVAL;
    }
    PQclear(res);
    return rc;
}

/* Appends one CSV line of the n values (NULL: no such column), ended by
 * CRLF as RFC 4180 and the published files have it. */
static int add_line(struct ss_buf *b, const char *const *vals, size_t n)
{
    size_t lens[8];
    for (size_t i = 0; i < n; i++)
        lens[i] = vals[i] ? strlen(vals[i]) : 0;
    int rc = ss_csv_join(b, vals, lens, n);
    return rc < 0 ? rc : ss_buf_adds(b, "\r\n");
}

/* Appends measure m's rows for the year to b: in its published columns
 * (combined 0) or as lines of the combined file. *rows gets their number,
 * *straddling the number of facts left out for running across an end of
 * the year. */
static int add_measure(PGconn *conn, const struct measure *m, const struct params *pp, int combined,
                       struct ss_buf *b, long *rows, long *straddling, char *err, size_t errlen)
{
    char sql[1024];
    PGresult *res = NULL;
    int rc;
    snprintf(sql, sizeof(sql),
             "SELECT authority_code, %s::text, %s::text, period_start::text, period_end::text, "
             "%s::text, count(*) FILTER (WHERE NOT inside) OVER () FROM ("
             "  SELECT *, period_start >= $2::date AND period_end <= $3::date AS inside FROM %s"
             "  WHERE ($1::text[] IS NULL OR authority_code = ANY ($1::text[]))"
             "    AND period_start <= $3::date AND period_end >= $2::date) f"
             " ORDER BY inside DESC, 1, 2, 3, 4, 5",
             m->breakdown ? m->breakdown : "NULL", m->age ? m->age : "NULL", m->value, m->table);
    if ((rc = ss_pg_query(conn, sql, 3, pp->p, &res, err, errlen)) < 0)
        return rc;
    int n = PQntuples(res);
    *straddling = n ? atol(PQgetvalue(res, 0, 6)) : 0;
    *rows = n - *straddling;
    for (int i = 0; i < *rows; i++) {
        const char *v[6];
        char period[40];
        const char *why;
        struct ss_date s, e;
        const char *ps = PQgetvalue(res, i, 3), *pe = PQgetvalue(res, i, 4);
        if (ss_parse_date(ps, strlen(ps), &s, &why) < 0 ||
            ss_parse_date(pe, strlen(pe), &e, &why) < 0 ||
            ss_export_activity_period(s, e, period, sizeof(period)) < 0) {
            snprintf(err, errlen, "%s: %s row of %s has the period %s..%s: cannot write it",
                     m->table, PQgetvalue(res, i, 0), pp->label, ps, pe);
            rc = SS_EINVAL;
            goto out;
        }
        const char *auth = PQgetvalue(res, i, 0);
        const char *bd = m->breakdown ? PQgetvalue(res, i, 1) : NULL;
        const char *age = m->age ? PQgetvalue(res, i, 2) : NULL;
        const char *count = PQgetvalue(res, i, 5);
        size_t k = 0;
        if (combined) {
            v[k++] = m->name;
            v[k++] = auth;
            v[k++] = bd ? bd : "";
            v[k++] = age ? age : "";
            v[k++] = period;
            v[k++] = count;
        } else if (m->period_before_age) {
            v[k++] = auth;
            v[k++] = period;
            v[k++] = age;
            v[k++] = count;
        } else {
            v[k++] = auth;
            v[k++] = bd;
            v[k++] = age;
            v[k++] = period;
            v[k++] = count;
        }
        if ((rc = add_line(b, v, k)) < 0) {
            snprintf(err, errlen, "%s: %s", m->file,
                     rc == SS_E2BIG ? "the export is larger than its bound" : ss_strerror(rc));
            goto out;
        }
    }
out:
    PQclear(res);
    return rc;
}

/* Says on msg, per authority and measure, what the year rests on: the
 * months reported and why a year is not complete (core.v_authority_year's
 * flags), or that the measure has no rows. */
static int summarise(PGconn *conn, const struct params *pp, FILE *msg, char *err, size_t errlen)
{
    static const char sql[] =
        "WITH m(measure, ord) AS (VALUES ('loans', 1), ('active_users', 2), ('events', 3),"
        "    ('event_attendance', 4), ('visits', 5), ('computer_hours', 6), ('wifi_sessions', 7),"
        "    ('click_and_collect', 8)),"
        " y AS (SELECT authority_code, measure, months_reported, complete, partial_months,"
        "              quarantined_records, outliers"
        "       FROM core.v_authority_year"
        "       WHERE financial_year = $2 AND age_group = 'All ages'"
        "         AND measure IN (SELECT measure FROM m)"
        "         AND ($1::text[] IS NULL OR authority_code = ANY ($1::text[]))),"
        " a AS (SELECT code, nice_name FROM ref.authority"
        "       WHERE CASE WHEN $1::text[] IS NULL THEN code IN (SELECT authority_code FROM y)"
        "                  ELSE code = ANY ($1::text[]) END)"
        " SELECT a.code, a.nice_name, m.measure, y.months_reported, y.complete,"
        "        y.partial_months, y.quarantined_records, y.outliers"
        " FROM a CROSS JOIN m LEFT JOIN y ON y.authority_code = a.code AND y.measure = m.measure"
        " ORDER BY a.code, m.ord";
    const char *p[2] = {pp->p[0], pp->label};
    PGresult *res;
    int rc = ss_pg_query(conn, sql, 2, p, &res, err, errlen);
    if (rc < 0)
        return rc;
    const char *prev = "";
    for (int i = 0; i < PQntuples(res); i++) {
        const char *code = PQgetvalue(res, i, 0), *measure = PQgetvalue(res, i, 2);
        if (strcmp(code, prev) != 0)
            fprintf(msg, "shelfsync export: %s %s, %s:\n", code, PQgetvalue(res, i, 1), pp->label);
        prev = code;
        if (PQgetisnull(res, i, 3)) {
            fprintf(msg, "  %-18s not reported (no rows)\n", measure);
            continue;
        }
        long months = atol(PQgetvalue(res, i, 3)), partial = atol(PQgetvalue(res, i, 5)),
             quarantined = atol(PQgetvalue(res, i, 6)), outliers = atol(PQgetvalue(res, i, 7));
        const char *sep = ", NOT complete: ";
        fprintf(msg, "  %-18s %2ld of 12 months reported", measure, months);
        if (strcmp(PQgetvalue(res, i, 4), "t") == 0)
            fprintf(msg, ", complete");
        if (months < 12) {
            fprintf(msg, "%s%ld months not reported (no rows)", sep, 12 - months);
            sep = "; ";
        }
        if (partial) {
            fprintf(msg,
                    "%s%ld months rest on a run that did not complete (core.v_partial_periods)",
                    sep, partial);
            sep = "; ";
        }
        if (quarantined)
            fprintf(msg, "%s%ld records outstanding in the quarantine (core.v_quarantine_counts)",
                    sep, quarantined);
        if (outliers)
            fprintf(msg, "; %ld unconfirmed outliers (core.v_outliers)", outliers);
        fputc('\n', msg);
    }
    PQclear(res);
    return 0;
}

/* Writes b as dir/name durably. */
static int write_file(const char *dir, const char *name, const struct ss_buf *b, char *err,
                      size_t errlen)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", dir, strerror(e));
        return -e;
    }
    struct ss_file_piece piece = {b->data ? b->data : "", b->len};
    int rc = ss_file_write_durable(dfd, name, &piece, 1, 0644);
    close(dfd);
    if (rc < 0)
        snprintf(err, errlen, "%s/%s: %s (nothing written there)", dir, name, strerror(-rc));
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int ss_export_activity(PGconn *conn, const struct ss_export_activity_opts *o, FILE *out, FILE *msg,
                       char *err, size_t errlen)
{
    struct params pp;
    struct ss_buf b;
    char dir[4096];
    const char *name = NULL;
    long total = 0;
    int combined = !o->out_path || ends_with(o->out_path, ".csv");
    int rc;

    if (errlen)
        err[0] = '\0';
    ss_buf_init(&b, SS_EXPORT_ACTIVITY_MAX_BYTES);
    if ((rc = params_init(&pp, o, err, errlen)) < 0 ||
        (rc = check_authorities(conn, &pp, err, errlen)) < 0)
        goto out;
    if (o->out_path) {
        if (strlen(o->out_path) >= sizeof(dir)) {
            snprintf(err, errlen, "--out: path too long");
            rc = SS_EINVAL;
            goto out;
        }
        strcpy(dir, o->out_path);
        if (combined) {
            /* FILE.csv: its directory, and its name there. */
            char *slash = strrchr(dir, '/');
            name = slash ? o->out_path + (slash - dir) + 1 : o->out_path;
            if (!slash)
                strcpy(dir, ".");
            else if (slash == dir)
                dir[1] = '\0';
            else
                *slash = '\0';
        }
        if ((rc = ss_mkdir_p(dir, 0755)) < 0) {
            snprintf(err, errlen, "--out %s: cannot create %s: %s", o->out_path, dir,
                     strerror(-rc));
            goto out;
        }
    }
    if (combined && (rc = ss_buf_adds(&b, COMBINED_HEADER "\r\n")) < 0)
        goto out;
    for (size_t i = 0; i < SS_EXPORT_ACTIVITY_MEASURES; i++) {
        const struct measure *m = &measures[i];
        long rows, straddling;
        if (!combined) {
            ss_buf_reset(&b);
            if ((rc = ss_buf_adds(&b, m->header)) < 0 || (rc = ss_buf_adds(&b, "\r\n")) < 0)
                goto out;
        }
        if ((rc = add_measure(conn, m, &pp, combined, &b, &rows, &straddling, err, errlen)) < 0)
            goto out;
        if (!combined && (rc = write_file(dir, m->file, &b, err, errlen)) < 0)
            goto out;
        if (straddling)
            fprintf(msg,
                    "shelfsync export: %s: %ld facts run across an end of %s (%s..%s) and are "
                    "left out: they belong to no one financial year\n",
                    m->table, straddling, pp.label, pp.first, pp.last);
        total += rows;
        if (!combined)
            fprintf(msg, "shelfsync export: wrote %s/%s (%ld rows)\n", dir, m->file, rows);
    }
    if (combined && o->out_path) {
        if ((rc = write_file(dir, name, &b, err, errlen)) < 0)
            goto out;
        fprintf(msg, "shelfsync export: wrote %s (%ld rows)\n", o->out_path, total);
    } else if (combined) {
        if (fwrite(b.data, 1, b.len, out) != b.len || fflush(out) != 0) {
            rc = errno ? -errno : -EIO;
            snprintf(err, errlen, "writing the export: %s", strerror(-rc));
            goto out;
        }
    }
    rc = summarise(conn, &pp, msg, err, errlen);
out:
    if (rc == SS_E2BIG && !*err)
        snprintf(err, errlen, "the export is larger than %zu bytes: export fewer authorities",
                 (size_t)SS_EXPORT_ACTIVITY_MAX_BYTES);
    else if (rc < 0 && !*err)
        snprintf(err, errlen, "%s", ss_strerror(rc));
    ss_buf_free(&pp.codes);
    ss_buf_free(&b);
    return rc;
}
