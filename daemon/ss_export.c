/* ss_export: see ss_export.h. */
#include "ss_export.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_dataset.h"
#include "ss_err.h"
#include "ss_pg.h"

/* How a stored column is written. */
enum ex_kind {
    EX_AUTHORITY, /* the authority's name (ref.authority.name) */
    EX_TEXT,      /* as stored */
    EX_NUMBER,    /* integer, year, UPRN, decimal: its text as PostgreSQL writes it */
    EX_DATE,      /* YYYY-MM-DD */
    EX_MONTH,     /* YYYY-MM of a date */
    EX_TIME,      /* HH:MM */
    EX_YESNO,     /* Yes / No */
    EX_MEMBERS,   /* a count, x when withheld at the source or below 5 */
};

/* One published column: its header, Table Schema type and format, required,
 * the code list of its enum (ss_code_lists; "yesno" for Yes/No), its
 * pattern; and the stored column it is written from (checked against the
 * dataset's definitions: ss_dataset_columns). */
struct ex_col {
    const char *header;
    const char *column;
    enum ex_kind kind;
    const char *type, *format;
    int required;
    const char *codes;
    const char *pattern;
};

struct ex_dataset {
    const char *name;   /* the dataset, as ss_dataset.c names it */
    const char *schema; /* the open-data schema's file, title and version */
    const char *title;
    const char *version;
    int history;         /* service points: current versions only */
    int reg;             /* a register: no count period to select by */
    const char *lo, *hi; /* the first and last day a row covers (SQL on t) */
    const char *bad;     /* SQL on t: a row this schema cannot say; NULL: none */
    const char *bad_why, *bad_what;
    const struct ex_col *cols;
    size_t ncols;
};

#define STR(h, c, req)                                                                             \
    {                                                                                              \
        h, c, EX_TEXT, "string", "default", req, NULL, NULL                                        \
    }
#define AUTH(h)                                                                                    \
    {                                                                                              \
        h, "authority_code", EX_AUTHORITY, "string", "default", 1, NULL, NULL                      \
    }
#define INT(h, c, req)                                                                             \
    {                                                                                              \
        h, c, EX_NUMBER, "integer", "default", req, NULL, NULL                                     \
    }
#define DATE(h, c, req)                                                                            \
    {                                                                                              \
        h, c, EX_DATE, "date", "default", req, NULL, NULL                                          \
    }

static const struct ex_col loans_cols[] = {
    AUTH("Local authority"),
    STR("Library name", "service_point", 1),
    {"Month", "period_start", EX_MONTH, "date", "%Y-%m", 1, NULL, NULL},
    STR("Type", "item_type", 1),
    INT("Loans", "loans", 1),
};

static const struct ex_col events_cols[] = {
    AUTH("Local authority"),
    STR("Library name", "service_point", 1),
    DATE("Event date", "event_date", 1),
    STR("Name", "name", 1),
    {"Main outcome", "main_outcome", EX_TEXT, "string", "default", 1, "outcome", NULL},
    {"Secondary outcome", "secondary_outcome", EX_TEXT, "string", "default", 0, "outcome", NULL},
    INT("Attendees", "attendees", 1),
};

#define LIB_POSTCODE "^([A-Z][A-HJ-Y]?[0-9][A-Z0-9]? ?[0-9][A-Z]{2}|GIR ?0A{2})$"

static const struct ex_col libraries_cols[] = {
    AUTH("Local authority"),
    STR("Library name", "name", 1),
    STR("Address 1", "address_1", 0),
    STR("Address 2", "address_2", 0),
    STR("Address 3", "address_3", 0),
    {"Postcode", "postcode", EX_TEXT, "string", "default", 1, NULL, LIB_POSTCODE},
    INT("Unique property reference number", "uprn", 0),
    {"Statutory", "statutory", EX_YESNO, "string", "default", 1, "yesno", NULL},
    {"Type of library", "library_type", EX_TEXT, "string", "default", 1, "library_type", NULL},
    {"Year opened", "year_opened", EX_NUMBER, "year", "default", 0, NULL, NULL},
    {"Year closed", "year_closed", EX_NUMBER, "year", "default", 0, NULL, NULL},
    STR("Monday staffed hours", "monday_staffed", 0),
    STR("Tuesday staffed hours", "tuesday_staffed", 0),
    STR("Wednesday staffed hours", "wednesday_staffed", 0),
    STR("Thursday staffed hours", "thursday_staffed", 0),
    STR("Friday staffed hours", "friday_staffed", 0),
    STR("Saturday staffed hours", "saturday_staffed", 0),
    STR("Sunday staffed hours", "sunday_staffed", 0),
    STR("Monday unstaffed hours", "monday_unstaffed", 0),
    STR("Tuesday unstaffed hours", "tuesday_unstaffed", 0),
    STR("Wednesday unstaffed hours", "wednesday_unstaffed", 0),
    STR("Thursday unstaffed hours", "thursday_unstaffed", 0),
    STR("Friday unstaffed hours", "friday_unstaffed", 0),
    STR("Saturday unstaffed hours", "saturday_unstaffed", 0),
    STR("Sunday unstaffed hours", "sunday_unstaffed", 0),
    STR("Special hours", "special_hours", 0),
    {"Co-located", "colocated", EX_YESNO, "string", "default", 0, "yesno", NULL},
    STR("Co-located with", "colocated_with", 0),
    STR("Notes", "notes", 0),
    {"URL", "url", EX_TEXT, "string", "uri", 0, NULL, NULL},
    {"Email address", "email", EX_TEXT, "string", "email", 0, NULL, NULL},
};

#define STOP_POSTCODE                                                                              \
    "^$|^([A-Za-z][A-Ha-hJ-Yj-y]?[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}|[Gg][Ii][Rr] ?0[Aa]{2})$"

static const struct ex_col stops_cols[] = {
    AUTH("organisation"),
    STR("mobile", "mobile", 1),
    STR("route", "route", 1),
    STR("community", "community", 0),
    STR("stop", "stop", 1),
    STR("address", "address", 0),
    {"postcode", "postcode", EX_TEXT, "string", "default", 0, NULL, STOP_POSTCODE},
    {"geox", "longitude", EX_NUMBER, "number", "default", 0, NULL, NULL},
    {"geoy", "latitude", EX_NUMBER, "number", "default", 0, NULL, NULL},
    {"day", "day", EX_TEXT, "string", "default", 1, "weekday", NULL},
    {"type", "stop_type", EX_TEXT, "string", "default", 1, "stop_type", NULL},
    {"arrival", "arrival", EX_TIME, "time", "%H:%M", 1, NULL, NULL},
    {"departure", "departure", EX_TIME, "time", "%H:%M", 1, NULL, NULL},
    STR("frequency", "frequency", 1),
    DATE("start", "start_date", 1),
    DATE("end", "end_date", 0),
    STR("exceptions", "exceptions", 0),
    {"timetable", "timetable", EX_TEXT, "string", "uri", 0, NULL, NULL},
};

static const struct ex_col visits_cols[] = {
    AUTH("Local authority"),
    STR("Library name", "service_point", 1),
    DATE("Count start", "period_start", 1),
    DATE("Count end", "period_end", 1),
    STR("Count type", "count_type", 1),
    INT("Visits", "visits", 1),
};

static const struct ex_col membership_cols[] = {
    AUTH("Local authority"),
    DATE("Count date", "count_date", 1),
    STR("Area code", "area_code", 1),
    {"Members", "members", EX_MEMBERS, "string", "default", 1, NULL,
     "^x$|^[5-9]{1}$|^[1-9]\\d{1,}$"},
};

static const struct ex_col stock_cols[] = {
    AUTH("Local authority"),
    STR("Library name", "service_point", 1),
    DATE("Count date", "count_date", 1),
    STR("Type", "item_type", 1),
    INT("Items", "items", 1),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NO_LIBRARY "t.service_point IS NULL"
#define NO_LIBRARY_WHY                                                                             \
    "the schema has a row per library, and these are counts for the whole authority"

static const struct ex_dataset ex_datasets[] = {
    {"loans", "loans.json", "Loans", "0.3.0", 0, 0, "t.period_start", "t.period_end",
     NO_LIBRARY " OR t.period_start <> date_trunc('month', t.period_start)::date"
                " OR t.period_end <> (date_trunc('month', t.period_start) + interval '1 month'"
                " - interval '1 day')::date",
     "a row of the Loans schema is one library's calendar month (Month), and these are counts "
     "over other periods or for the whole authority",
     "coalesce(t.service_point, '(whole authority)') || ', ' || t.item_type || ', ' || "
     "t.period_start || ' to ' || t.period_end",
     loans_cols, N(loans_cols)},
    {"events", "events.json", "Events", "0.3.0", 0, 0, "t.event_date", "t.event_date", NULL, NULL,
     NULL, events_cols, N(events_cols)},
    {"service_points", "libraries.json", "Libraries", "0.4.0", 1, 1, "t.valid_from::date",
     "t.valid_from::date", NULL, NULL, NULL, libraries_cols, N(libraries_cols)},
    {"mobile_stops", "mobile-library-stops.json", "Mobile library stops", "0.3.0", 0, 1,
     "t.start_date", "coalesce(t.end_date, t.start_date)", NULL, NULL, NULL, stops_cols,
     N(stops_cols)},
    {"visits", "physical_visits.json", "Physical visits", "0.3.0", 0, 0, "t.period_start",
     "t.period_end", NO_LIBRARY, NO_LIBRARY_WHY,
     "'(whole authority), ' || t.period_start || ' to ' || t.period_end", visits_cols,
     N(visits_cols)},
    {"membership", "membership.json", "Membership", "0.3.0", 0, 0, "t.count_date", "t.count_date",
     NULL, NULL, NULL, membership_cols, N(membership_cols)},
    {"stock", "stock_summary.json", "Stock summary", "0.3.0", 0, 0, "t.count_date", "t.count_date",
     NO_LIBRARY, NO_LIBRARY_WHY, "'(whole authority), ' || t.item_type || ', ' || t.count_date",
     stock_cols, N(stock_cols)},
};

static const struct ex_dataset *find(const char *name)
{
    for (size_t i = 0; i < N(ex_datasets); i++)
        if (strcmp(ex_datasets[i].name, name) == 0)
            return &ex_datasets[i];
    return NULL;
}

int ss_export_known(const char *name)
{
    return name && find(name) != NULL;
}

const char *ss_export_names(void)
{
    /* From the table; every call writes the same bytes. */
    static char names[256];
    size_t off = 0;
    for (size_t i = 0; i < N(ex_datasets) && off < sizeof(names); i++)
        off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
                                ex_datasets[i].name);
    return names;
}

void ss_export_file_name(const struct ss_export_opts *o, char *out, size_t cap)
{
    snprintf(out, cap, "%s_%s.csv", o->dataset, o->authority);
}

/* ---- licences ---- */

struct licence {
    const char *id, *title, *path;
};
static const struct licence licences[] = {
    {"OGL-UK-3.0", "Open Government Licence v3.0",
     "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"},
    {"CC-BY-4.0", "Creative Commons Attribution 4.0",
     "https://creativecommons.org/licenses/by/4.0/"},
    {"CC0-1.0", "CC0 1.0 Universal", "https://creativecommons.org/publicdomain/zero/1.0/"},
    {"ODbL-1.0", "Open Data Commons Open Database License 1.0",
     "https://opendatacommons.org/licenses/odbl/1-0/"},
};

const char *ss_export_licences(void)
{
    return "OGL-UK-3.0, CC-BY-4.0, CC0-1.0, ODbL-1.0";
}

static const struct licence *licence_find(const char *id)
{
    for (size_t i = 0; i < N(licences); i++)
        if (strcmp(licences[i].id, id) == 0)
            return &licences[i];
    return NULL;
}

int ss_export_licence_known(const char *id)
{
    return id && licence_find(id) != NULL;
}

/* ---- the stored columns ---- */

/* The dataset's stored column named name, or NULL. */
static const struct ss_column *stored(const struct ss_column *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cols[i].name, name) == 0)
            return &cols[i];
    return NULL;
}

/* The definitions of d and their stored columns; SS_EINVAL when the
 * table above names a column the definitions no longer have. */
static int columns(const struct ex_dataset *d, const struct ss_dataset **ds, struct ss_column *cols,
                   size_t *n, char *err, size_t errlen)
{
    *ds = ss_dataset_find(d->name);
    if (!*ds) {
        snprintf(err, errlen, "export %s: no such dataset in the definitions", d->name);
        return SS_EINVAL;
    }
    *n = ss_dataset_columns(*ds, cols);
    for (size_t i = 0; i < d->ncols; i++)
        if (!stored(cols, *n, d->cols[i].column)) {
            snprintf(err, errlen, "export %s: column \"%s\" (for \"%s\") is not in %s", d->name,
                     d->cols[i].column, d->cols[i].header, (*ds)->table);
            return SS_EINVAL;
        }
    return 0;
}

/* ---- SQL ---- */

static int add_expr(struct ss_buf *b, const struct ex_col *c)
{
    switch (c->kind) {
    case EX_AUTHORITY:
        return ss_buf_adds(b, "a.name");
    case EX_TEXT:
        return ss_buf_printf(b, "t.%s", c->column);
    case EX_NUMBER:
        return ss_buf_printf(b, "t.%s::text", c->column);
    case EX_DATE:
        return ss_buf_printf(b, "to_char(t.%s, 'YYYY-MM-DD')", c->column);
    case EX_MONTH:
        return ss_buf_printf(b, "to_char(t.%s, 'YYYY-MM')", c->column);
    case EX_TIME:
        return ss_buf_printf(b, "to_char(t.%s, 'HH24:MI')", c->column);
    case EX_YESNO:
        return ss_buf_printf(b, "CASE t.%s WHEN true THEN 'Yes' WHEN false THEN 'No' END",
                             c->column);
    case EX_MEMBERS:
        return ss_buf_printf(b,
                             "CASE WHEN t.%s_suppressed OR t.%s < 5 THEN 'x' ELSE t.%s::text END",
                             c->column, c->column, c->column);
    }
    return SS_EINVAL;
}

/* FROM ... WHERE ...: $1 the authority, $2 and $3 the dates (or NULL). */
static int add_from(struct ss_buf *b, const struct ex_dataset *d, const struct ss_dataset *ds)
{
    return ss_buf_printf(b,
                         " FROM %s t JOIN ref.authority a ON a.code = t.authority_code"
                         " WHERE t.authority_code = $1%s"
                         " AND ($2::date IS NULL OR %s >= $2::date)"
                         " AND ($3::date IS NULL OR %s <= $3::date)",
                         ds->table, d->history ? " AND t.valid_to IS NULL" : "", d->lo, d->hi);
}

static int build_rows_sql(const struct ex_dataset *d, const struct ss_dataset *ds,
                          const struct ss_column *cols, size_t ncols, struct ss_buf *b)
{
    int rc = ss_buf_adds(b, "SELECT ");
    for (size_t i = 0; i < d->ncols && rc == 0; i++) {
        if (i)
            rc = ss_buf_adds(b, ", ");
        if (rc == 0)
            rc = add_expr(b, &d->cols[i]);
    }
    if (rc == 0)
        rc = add_from(b, d, ds);
    if (rc == 0)
        rc = ss_buf_adds(b, " ORDER BY ");
    int first = 1;
    for (size_t i = 0; i < ncols && rc == 0; i++) {
        if (!cols[i].key)
            continue;
        rc = ss_buf_printf(b, "%st.%s%s", first ? "" : ", ", cols[i].name,
                           strcmp(cols[i].sqltype, "text") == 0 ? " COLLATE \"C\"" : "");
        first = 0;
    }
    if (rc == 0 && d->history)
        rc = ss_buf_adds(b, ", t.service_point_id");
    return rc;
}

/* ---- dates ---- */

static int check_date(const char *what, const char *s, char *err, size_t errlen)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, day, ok = s && strlen(s) == 10 && s[4] == '-' && s[7] == '-';
    for (int i = 0; ok && i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            ok = 0;
    if (ok && sscanf(s, "%4d-%2d-%2d", &y, &m, &day) == 3 && m >= 1 && m <= 12 && day >= 1 &&
        day <= mdays[m - 1] &&
        (m != 2 || day < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
        return 0;
    snprintf(err, errlen, "%s \"%s\": expected a date YYYY-MM-DD", what, s ? s : "");
    return SS_EINVAL;
}

void ss_export_http_date(int64_t t, char out[30])
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday % 7], tm.tm_mday,
             mon[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int ss_export_parse_http_date(const char *s, int64_t *t)
{
    static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char wd[4], mon[4];
    int d, y, hh, mm, ss, n = 0;
    if (!s || strlen(s) != 29 ||
        sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wd, &d, mon, &y, &hh, &mm,
               &ss, &n) != 7 ||
        n != 29)
        return SS_EINVAL;
    const char *p = strstr(mons, mon);
    if (!p || (p - mons) % 3 != 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 || y < 1970)
        return SS_EINVAL;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = (int)(p - mons) / 3,
                    .tm_mday = d,
                    .tm_hour = hh,
                    .tm_min = mm,
                    .tm_sec = ss};
    *t = (int64_t)timegm(&tm);
    return 0;
}

/* ---- stat ---- */

/* The parameters of a selection: authority, from, to. */
static void params(const struct ss_export_opts *o, const char *p[3])
{
    p[0] = o->authority;
    p[1] = o->from;
    p[2] = o->to;
}

static int check_opts(const struct ss_export_opts *o, const struct ex_dataset **d, char *err,
                      size_t errlen)
{
    *d = o->dataset ? find(o->dataset) : NULL;
    if (!*d) {
        snprintf(err, errlen, "unknown dataset \"%s\": the datasets that can be exported are %s",
                 o->dataset ? o->dataset : "", ss_export_names());
        return SS_EINVAL;
    }
    if (!o->authority || !*o->authority) {
        snprintf(err, errlen, "--authority GSS is required (the ONS GSS code, e.g. E09000003)");
        return SS_EINVAL;
    }
    if ((o->from || o->to) && (*d)->reg) {
        snprintf(err, errlen,
                 "%s is a register (each row as it stands now): --from and --to select count "
                 "periods and do not apply",
                 o->dataset);
        return SS_EINVAL;
    }
    if ((o->from && check_date("--from", o->from, err, errlen) < 0) ||
        (o->to && check_date("--to", o->to, err, errlen) < 0))
        return SS_EINVAL;
    if (o->from && o->to && strcmp(o->from, o->to) > 0) {
        snprintf(err, errlen, "--from %s is after --to %s", o->from, o->to);
        return SS_EINVAL;
    }
    return 0;
}

static int stat_in(PGconn *conn, const struct ss_export_opts *o, const struct ex_dataset *d,
                   const struct ss_dataset *ds, struct ss_export_info *info, char *err,
                   size_t errlen)
{
    const char *p[3];
    PGresult *res = NULL;
    struct ss_buf sql;
    int rc;
    memset(info, 0, sizeof(*info));
    params(o, p);
    ss_buf_init(&sql, 8192);

    rc = ss_pg_query(conn, "SELECT name FROM ref.authority WHERE code = $1", 1, p, &res, err,
                     errlen);
    if (rc < 0)
        goto out;
    if (PQntuples(res) != 1) {
        snprintf(err, errlen,
                 "unknown authority \"%s\": not a GSS code in ref.authority (shelfsync ref "
                 "resolve NAME gives an authority's code)",
                 o->authority);
        rc = SS_EINVAL;
        goto out;
    }
    snprintf(info->authority_name, sizeof(info->authority_name), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;

    rc = ss_buf_printf(&sql,
                       "SELECT count(*), count(*) FILTER (WHERE %s), to_char(min(%s), "
                       "'YYYY-MM-DD'), to_char(max(%s), 'YYYY-MM-DD'), "
                       "coalesce(floor(extract(epoch FROM max(t.loaded_at)))::bigint, 0)",
                       d->bad ? d->bad : "false", d->lo, d->hi);
    if (rc == 0)
        rc = add_from(&sql, d, ds);
    if (rc < 0)
        goto out;
    rc = ss_pg_query(conn, sql.data, 3, p, &res, err, errlen);
    if (rc < 0)
        goto out;
    info->rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    long long bad = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    snprintf(info->first, sizeof(info->first), "%s", PQgetvalue(res, 0, 2));
    snprintf(info->last, sizeof(info->last), "%s", PQgetvalue(res, 0, 3));
    info->last_change = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    PQclear(res);
    res = NULL;

    if (bad > 0) {
        ss_buf_reset(&sql);
        rc = ss_buf_printf(&sql, "SELECT %s", d->bad_what);
        if (rc == 0)
            rc = add_from(&sql, d, ds);
        if (rc == 0)
            rc = ss_buf_printf(&sql, " AND (%s) ORDER BY (%s) COLLATE \"C\" LIMIT 1", d->bad,
                               d->bad_what);
        if (rc == 0)
            rc = ss_pg_query(conn, sql.data, 3, p, &res, err, errlen);
        if (rc < 0)
            goto out;
        snprintf(err, errlen,
                 "%s of %s: %lld of %lld rows cannot be written in the %s schema %s: %s (the "
                 "first: %s); nothing written. Select whole months with --from and --to, or "
                 "publish these counts another way",
                 o->dataset, o->authority, bad, info->rows, d->title, d->version, d->bad_why,
                 PQntuples(res) ? PQgetvalue(res, 0, 0) : "?");
        rc = SS_EINVAL;
        goto out;
    }
    if (info->rows == 0 && !o->allow_empty) {
        snprintf(err, errlen,
                 "%s of %s (%s)%s%s%s%s: no rows in the warehouse; nothing written (--allow-empty "
                 "writes the header alone)",
                 o->dataset, o->authority, info->authority_name, o->from ? " from " : "",
                 o->from ? o->from : "", o->to ? " to " : "", o->to ? o->to : "");
        rc = SS_EINVAL;
        goto out;
    }
out:
    PQclear(res);
    ss_buf_free(&sql);
    return rc;
}

int ss_export_stat(PGconn *conn, const struct ss_export_opts *o, struct ss_export_info *info,
                   char *err, size_t errlen)
{
    const struct ex_dataset *d;
    const struct ss_dataset *ds;
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t ncols;
    if (check_opts(o, &d, err, errlen) < 0 || columns(d, &ds, cols, &ncols, err, errlen) < 0)
        return SS_EINVAL;
    return stat_in(conn, o, d, ds, info, err, errlen);
}

/* ---- the CSV ---- */

/* A SHA-256 digest as 64 lower-case hex digits and a NUL. */
static void hexify(const unsigned char md[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

#define OUT_FLUSH (32u << 10)

struct out {
    struct ss_buf buf;
    EVP_MD_CTX *md;
    ss_export_sink sink;
    void *arg;
    unsigned long long bytes;
};

static int out_flush(struct out *w)
{
    if (!w->buf.len)
        return 0;
    if (EVP_DigestUpdate(w->md, w->buf.data, w->buf.len) != 1)
        return SS_ENOMEM;
    w->bytes += w->buf.len;
    int rc = w->sink(w->arg, w->buf.data, w->buf.len);
    ss_buf_reset(&w->buf);
    return rc;
}

/* One cell, quoted when it holds a comma, a quote or a line end. */
static int out_cell(struct out *w, const char *s, size_t n)
{
    int rc = 0;
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n))
        return ss_buf_add(&w->buf, s, n);
    rc = ss_buf_addc(&w->buf, '"');
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = s[i] == '"' ? ss_buf_add(&w->buf, "\"\"", 2) : ss_buf_addc(&w->buf, s[i]);
    return rc == 0 ? ss_buf_addc(&w->buf, '"') : rc;
}

static int out_end_line(struct out *w)
{
    int rc = ss_buf_addc(&w->buf, '\n');
    if (rc == 0 && w->buf.len >= OUT_FLUSH)
        rc = out_flush(w);
    return rc;
}

/* The rows of the query in single-row mode, each written as it comes. */
static int write_rows(PGconn *conn, const char *sql, const char *const p[3], struct out *w,
                      long long *rows, char *err, size_t errlen)
{
    int rc = 0;
    PGresult *res;
    if (!PQsendQueryParams(conn, sql, 3, NULL, p, NULL, NULL, 0) || !PQsetSingleRowMode(conn))
        return ss_pg_fail(conn, NULL, err, errlen);
    while ((res = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && rc == 0) {
            int nf = PQnfields(res);
            for (int f = 0; f < nf && rc == 0; f++) {
                if (f)
                    rc = ss_buf_addc(&w->buf, ',');
                if (rc == 0 && !PQgetisnull(res, 0, f))
                    rc = out_cell(w, PQgetvalue(res, 0, f), (size_t)PQgetlength(res, 0, f));
            }
            if (rc == 0)
                rc = out_end_line(w);
            if (rc < 0)
                snprintf(err, errlen, "writing the CSV failed (%s)", ss_strerror(rc));
            (*rows)++;
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == 0) {
            rc = ss_pg_fail(conn, res, err, errlen);
        }
        PQclear(res);
    }
    return rc;
}

int ss_export_csv(PGconn *conn, const struct ss_export_opts *o, ss_export_sink sink, void *arg,
                  struct ss_export_info *info, char *err, size_t errlen)
{
    const struct ex_dataset *d;
    const struct ss_dataset *ds;
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t ncols;
    struct ss_buf sql;
    struct out w = {.sink = sink, .arg = arg};
    const char *p[3];
    int rc, began = 0;
    long long rows = 0;

    if (check_opts(o, &d, err, errlen) < 0 || columns(d, &ds, cols, &ncols, err, errlen) < 0)
        return SS_EINVAL;
    ss_buf_init(&sql, 16384);
    ss_buf_init(&w.buf, 4u << 20);
    w.md = EVP_MD_CTX_new();
    if (!w.md || EVP_DigestInit_ex(w.md, EVP_sha256(), NULL) != 1) {
        snprintf(err, errlen, "out of memory");
        rc = SS_ENOMEM;
        goto out;
    }
    /* One snapshot: the counts, the coverage and the rows agree. */
    rc = ss_pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen);
    if (rc < 0)
        goto out;
    began = 1;
    rc = stat_in(conn, o, d, ds, info, err, errlen);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < d->ncols && rc == 0; i++) {
        if (i)
            rc = ss_buf_addc(&w.buf, ',');
        if (rc == 0)
            rc = out_cell(&w, d->cols[i].header, strlen(d->cols[i].header));
    }
    if (rc == 0)
        rc = out_end_line(&w);
    if (rc == 0)
        rc = build_rows_sql(d, ds, cols, ncols, &sql);
    if (rc < 0) {
        snprintf(err, errlen, "export %s: building the query failed (%s)", d->name,
                 ss_strerror(rc));
        goto out;
    }
    params(o, p);
    rc = write_rows(conn, sql.data, p, &w, &rows, err, errlen);
    if (rc == 0)
        rc = out_flush(&w);
    if (rc < 0) {
        if (!*err)
            snprintf(err, errlen, "writing the CSV failed (%s)", ss_strerror(rc));
        goto out;
    }
    if (rows != info->rows) {
        snprintf(err, errlen, "export %s: %lld rows counted but %lld written", d->name, info->rows,
                 rows);
        rc = SS_EINVAL;
        goto out;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_DigestFinal_ex(w.md, md, &mdlen) != 1 || mdlen != 32) {
        snprintf(err, errlen, "SHA-256 failed");
        rc = SS_EINVAL;
        goto out;
    }
    hexify(md, info->sha256);
    info->bytes = w.bytes;
out:
    if (began) {
        char e2[256];
        ss_pg_exec(conn, "COMMIT", e2, sizeof(e2));
    }
    EVP_MD_CTX_free(w.md);
    ss_buf_free(&w.buf);
    ss_buf_free(&sql);
    return rc;
}

/* ---- the data package ---- */

static const char *const yesno[] = {"Yes", "No", NULL};

static const char *const *code_list(const char *name)
{
    if (strcmp(name, "yesno") == 0)
        return yesno;
    for (const struct ss_code_list *l = ss_code_lists(); l->name; l++)
        if (strcmp(l->name, name) == 0)
            return l->codes;
    return NULL;
}

static json_t *table_schema(const struct ex_dataset *d, const struct ss_column *cols, size_t n)
{
    json_t *fields = json_array();
    for (size_t i = 0; i < d->ncols; i++) {
        const struct ex_col *c = &d->cols[i];
        const struct ss_column *sc = stored(cols, n, c->column);
        json_t *f = json_object(), *cons = json_object();
        json_object_set_new(f, "name", json_string(c->header));
        if (c->kind == EX_AUTHORITY)
            json_object_set_new(f, "description",
                                json_string("Local authority responsible for the library "
                                            "service: its name as ref.authority gives it"));
        else if (sc && sc->comment && *sc->comment)
            json_object_set_new(f, "description", json_string(sc->comment));
        json_object_set_new(f, "type", json_string(c->type));
        json_object_set_new(f, "format", json_string(c->format));
        json_object_set_new(cons, "required", json_boolean(c->required));
        if (c->codes) {
            json_t *e = json_array();
            const char *const *codes = code_list(c->codes);
            for (size_t k = 0; codes && codes[k]; k++)
                json_array_append_new(e, json_string(codes[k]));
            json_object_set_new(cons, "enum", e);
        }
        if (c->pattern)
            json_object_set_new(cons, "pattern", json_string(c->pattern));
        json_object_set_new(f, "constraints", cons);
        json_array_append_new(fields, f);
    }
    json_t *schema = json_object();
    json_object_set_new(schema, "fields", fields);
    json_t *mv = json_array();
    json_array_append_new(mv, json_string(""));
    json_object_set_new(schema, "missingValues", mv);
    return schema;
}

int ss_export_datapackage(const struct ss_export_opts *o, const struct ss_export_info *info,
                          const char *licence, const char *csv_path, struct ss_buf *out, char *err,
                          size_t errlen)
{
    const struct ex_dataset *d;
    const struct ss_dataset *ds;
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t ncols;
    char buf[1024], when[32];
    if (check_opts(o, &d, err, errlen) < 0 || columns(d, &ds, cols, &ncols, err, errlen) < 0)
        return SS_EINVAL;
    const struct licence *l = licence_find(licence ? licence : "OGL-UK-3.0");
    if (!l) {
        snprintf(err, errlen, "unknown licence \"%s\": expected one of %s", licence,
                 ss_export_licences());
        return SS_EINVAL;
    }
    json_t *pkg = json_object();
    json_object_set_new(pkg, "profile", json_string("tabular-data-package"));
    snprintf(buf, sizeof(buf), "%s-%s", o->authority, d->name);
    for (char *c = buf; *c; c++)
        *c = *c == '_' ? '-' : (char)tolower((unsigned char)*c);
    json_object_set_new(pkg, "name", json_string(buf));
    snprintf(buf, sizeof(buf), "%s: %s", d->title, info->authority_name);
    json_object_set_new(pkg, "title", json_string(buf));
    snprintf(buf, sizeof(buf),
             "%s of %s (ONS GSS code %s), in the public library open data schema \"%s\" "
             "version %s, written from the shelfsync warehouse (%s).",
             d->title, info->authority_name, o->authority, d->title, d->version, ds->table);
    json_object_set_new(pkg, "description", json_string(buf));
    struct tm tm;
    time_t t = (time_t)info->last_change;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (info->last_change)
        json_object_set_new(pkg, "created", json_string(when));
    json_t *lic = json_object();
    json_object_set_new(lic, "name", json_string(l->id));
    json_object_set_new(lic, "title", json_string(l->title));
    json_object_set_new(lic, "path", json_string(l->path));
    json_t *lics = json_array();
    json_array_append_new(lics, lic);
    json_object_set_new(pkg, "licenses", lics);

    json_t *sources = json_array();
    json_t *s1 = json_object();
    snprintf(buf, sizeof(buf), "%s library service, through the shelfsync warehouse (%s)",
             info->authority_name, ds->table);
    json_object_set_new(s1, "title", json_string(buf));
    json_array_append_new(sources, s1);
    json_t *s2 = json_object();
    snprintf(buf, sizeof(buf), "Public library open data schema: %s %s (%s)", d->title, d->version,
             d->schema);
    json_object_set_new(s2, "title", json_string(buf));
    json_object_set_new(s2, "path",
                        json_string("https://github.com/LibrariesHacked/schema-librarydata"));
    json_array_append_new(sources, s2);
    json_object_set_new(pkg, "sources", sources);

    json_t *area = json_object();
    json_object_set_new(area, "code", json_string(o->authority));
    json_object_set_new(area, "name", json_string(info->authority_name));
    json_object_set_new(pkg, "spatialCoverage", area);
    json_t *tc = json_object();
    json_object_set_new(tc, "start", info->first[0] ? json_string(info->first) : json_null());
    json_object_set_new(tc, "end", info->last[0] ? json_string(info->last) : json_null());
    json_object_set_new(pkg, "temporalCoverage", tc);

    json_t *r = json_object();
    json_object_set_new(r, "profile", json_string("tabular-data-resource"));
    snprintf(buf, sizeof(buf), "%s", d->name);
    for (char *c = buf; *c; c++)
        *c = *c == '_' ? '-' : *c;
    json_object_set_new(r, "name", json_string(buf));
    json_object_set_new(r, "path", json_string(csv_path));
    json_object_set_new(r, "format", json_string("csv"));
    json_object_set_new(r, "mediatype", json_string("text/csv"));
    json_object_set_new(r, "encoding", json_string("utf-8"));
    json_object_set_new(r, "bytes", json_integer((json_int_t)info->bytes));
    snprintf(buf, sizeof(buf), "sha256:%s", info->sha256);
    json_object_set_new(r, "hash", json_string(buf));
    json_t *dialect = json_object();
    json_object_set_new(dialect, "delimiter", json_string(","));
    json_object_set_new(dialect, "lineTerminator", json_string("\n"));
    json_object_set_new(dialect, "quoteChar", json_string("\""));
    json_object_set_new(dialect, "doubleQuote", json_true());
    json_object_set_new(dialect, "header", json_true());
    json_object_set_new(r, "dialect", dialect);
    json_object_set_new(r, "rows", json_integer((json_int_t)info->rows));
    json_object_set_new(r, "schema", table_schema(d, cols, ncols));
    json_t *res = json_array();
    json_array_append_new(res, r);
    json_object_set_new(pkg, "resources", res);

    char *text = json_dumps(pkg, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    json_decref(pkg);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    int rc = ss_buf_adds(out, text);
    if (rc == 0)
        rc = ss_buf_addc(out, '\n');
    free(text);
    if (rc < 0)
        snprintf(err, errlen, "datapackage.json too large (%s)", ss_strerror(rc));
    return rc;
}

/* ---- serving helpers ---- */

int ss_export_readonly(PGconn *conn, const char *app, int *analyst, char *err, size_t errlen)
{
    const char *p[1] = {app};
    PGresult *res = NULL;
    *analyst = 0;
    int rc = ss_pg_exec_params(conn, "SELECT set_config('application_name', $1, false)", 1, p, err,
                               errlen);
    if (rc == 0)
        rc = ss_pg_exec(conn, "SET default_transaction_read_only = on", err, errlen);
    if (rc == 0)
        rc = ss_pg_query(conn,
                         "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_analyst')"
                         " AND pg_has_role(session_user, 'shelfsync_analyst', 'MEMBER')",
                         0, NULL, &res, err, errlen);
    if (rc < 0)
        return rc;
    int member = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (member) {
        rc = ss_pg_exec(conn, "SET ROLE shelfsync_analyst", err, errlen);
        if (rc == 0)
            *analyst = 1;
    }
    return rc;
}

int ss_export_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return SS_ENOMEM;
    hexify(md, out);
    return 0;
}

int ss_export_index(PGconn *conn, const char *prefix, struct ss_buf *out, char *err, size_t errlen)
{
    struct ss_buf sql;
    int rc = 0;
    json_t *list = json_array();
    ss_buf_init(&sql, 4096);
    for (size_t i = 0; i < N(ex_datasets) && rc == 0; i++) {
        const struct ex_dataset *d = &ex_datasets[i];
        const struct ss_dataset *ds = ss_dataset_find(d->name);
        PGresult *res = NULL;
        if (!ds)
            continue;
        ss_buf_reset(&sql);
        rc = ss_buf_printf(&sql,
                           "SELECT t.authority_code, a.name, count(*), "
                           "coalesce(floor(extract(epoch FROM max(t.loaded_at)))::bigint, 0) "
                           "FROM %s t JOIN ref.authority a ON a.code = t.authority_code%s "
                           "GROUP BY 1, 2 ORDER BY t.authority_code COLLATE \"C\"",
                           ds->table, d->history ? " WHERE t.valid_to IS NULL" : "");
        if (rc == 0)
            rc = ss_pg_query(conn, sql.data, 0, NULL, &res, err, errlen);
        for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
            char path[512], when[30];
            const char *code = PQgetvalue(res, r, 0);
            json_t *e = json_object();
            json_object_set_new(e, "dataset", json_string(d->name));
            json_object_set_new(e, "schema", json_string(d->title));
            json_object_set_new(e, "authority", json_string(code));
            json_object_set_new(e, "authority_name", json_string(PQgetvalue(res, r, 1)));
            json_object_set_new(e, "rows", json_integer(strtoll(PQgetvalue(res, r, 2), NULL, 10)));
            ss_export_http_date(strtoll(PQgetvalue(res, r, 3), NULL, 10), when);
            json_object_set_new(e, "last_modified", json_string(when));
            snprintf(path, sizeof(path), "%s/%s/%s.csv", prefix, d->name, code);
            json_object_set_new(e, "csv", json_string(path));
            snprintf(path, sizeof(path), "%s/%s/%s/datapackage.json", prefix, d->name, code);
            json_object_set_new(e, "datapackage", json_string(path));
            json_array_append_new(list, e);
        }
        PQclear(res);
    }
    ss_buf_free(&sql);
    if (rc == 0) {
        char *text = json_dumps(list, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        rc = text ? ss_buf_adds(out, text) : SS_ENOMEM;
        if (rc == 0)
            rc = ss_buf_addc(out, '\n');
        if (rc < 0)
            snprintf(err, errlen, "the index is too large (%s)", ss_strerror(rc));
        free(text);
    }
    json_decref(list);
    return rc;
}
