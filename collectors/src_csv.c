/* src_csv: the "csv" source kind -- a CSV export over HTTP(S) or file://.
 *
 * The body streams through as it arrives:
 *   HTTP body -> ss_transcode (csv.encoding to UTF-8; UTF-8 passes through;
 *                a byte-order mark decides: UTF-16 LE/BE, UTF-8)
 *             -> the HTML check (ss_http_sniff_html: a login or error page
 *                where CSV was expected fails the run before anything is
 *                parsed; the first bytes are held until it can tell)
 *             -> the text check (a NUL byte: the export is not text -- a
 *                compressed file, a spreadsheet, UTF-16 without its mark;
 *                the run fails at that line, the rows before it delivered)
 *             -> delimiter detection (csv.detect_delimiter: the first line is
 *                held until it is complete, then ',' ';' tab or '|', whichever
 *                it has most of outside quotes)
 *             -> ss_csv -> ss_wide (csv.wide: one record per period cell)
 *             -> the sink.
 * The header row (or csv.columns for a headerless export) becomes the column
 * list; each row a record (or, wide, one per non-empty period cell, all with
 * the row's line); a row the parser cannot read (a field past its bound, an
 * unterminated quote) a reject with the parser's reason, and a wide row with
 * the wrong number of cells a reject with that reason.
 *
 * A wide header's columns that are no period, not left out by
 * csv.wide.ignore and that neither the mapping nor the dataset's published
 * headers claim are named through sink->unread, after sink->columns (the run
 * still loads the rest, and ends with exit status 5); a column with no
 * header only if a cell of it holds a value, at the end of the export.
 *
 * An export that has not changed since the last run (ETag / Last-Modified,
 * http.conditional) costs one request and yields nothing. The cursor is
 * "ETAG\nLAST-MODIFIED".
 *
 * Privacy: a reject carries the fields the row could be split into, and the
 * engine keeps the mapped ones -- but not the field the parser was in the
 * middle of when it gave up (an unterminated quote swallows every line after
 * it, other borrowers' names included), nor, in a row whose field count is
 * wrong, the first field that runs over a line break (a quote that closed a
 * line late took in the lines after it) or any field after that one: they
 * are out of place. Such a row is rejected here, with the lines it spans.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_csv.h"
#include "ss_err.h"
#include "ss_http.h"
#include "ss_log.h"
#include "ss_mapper.h"
#include "ss_sniff.h"
#include "ss_source.h"
#include "src_csv.h"
#include "ss_transcode.h"
#include "ss_wide.h"

/* ---- options: the "csv" object ---- */

static const char *const encodings[] = {"utf-8",    "windows-1252", "iso-8859-1", "utf-16",
                                        "utf-16le", "utf-16be",     NULL};

#define O(f) offsetof(struct ss_csv_options, f)
static const struct ss_config_option wide_options[] = {
    {.key = "value_field",
     .type = SS_CFG_STRING,
     .flags = SS_CFG_REQUIRED | SS_CFG_NONEMPTY,
     .off = O(wide_value_field),
     .help = "the dataset field the period cells fill"},
    {.key = "period_field",
     .type = SS_CFG_STRING,
     .flags = SS_CFG_NONEMPTY,
     .off = O(wide_period_field),
     .def_str = "month",
     .help = "the dataset field that gets the period"},
    {.key = "columns",
     .type = SS_CFG_MAP,
     .flags = SS_CFG_DYNAMIC,
     .off = O(wide_columns),
     .count_off = O(nwide_columns),
     .help = "header -> period, where a header does not read as one"},
    {.key = "ignore",
     .type = SS_CFG_STRARR,
     .flags = SS_CFG_DYNAMIC | SS_CFG_NONEMPTY,
     .off = O(wide_ignore),
     .count_off = O(nwide_ignore),
     .help = "columns (or glob patterns) left out without a warning"},
    {.key = "series",
     .type = SS_CFG_VALMAPS,
     .flags = SS_CFG_DYNAMIC,
     .off = O(wide_series),
     .count_off = O(nwide_series),
     .help = "column (or pattern) -> the other fields its records carry"},
    {.key = "totals",
     .type = SS_CFG_MAP,
     .flags = SS_CFG_DYNAMIC,
     .off = O(wide_totals),
     .count_off = O(nwide_totals),
     .help = "column (or pattern) -> the series field it is the total over"},
    {.key = "period_end_reports",
     .type = SS_CFG_BOOL,
     .off = O(wide_period_end),
     .help = "quarterly and annual figures entered in the period's last month"},
    {0},
};

static const struct ss_config_option csv_options[] = {
    {.key = "delimiter",
     .type = SS_CFG_CHAR,
     .off = O(delimiter),
     .def = ',',
     .help = "the field separator"},
    {.key = "header",
     .type = SS_CFG_BOOL,
     .off = O(header),
     .def = 1,
     .help = "the first line names the columns"},
    {.key = "columns",
     .type = SS_CFG_STRARR,
     .flags = SS_CFG_DYNAMIC,
     .off = O(columns),
     .count_off = O(ncolumns),
     .min_items = 1,
     .help = "the column names of a file without a header line"},
    {.key = "detect_delimiter",
     .type = SS_CFG_BOOL,
     .off = O(detect_delimiter),
     .help = "pick , ; tab or | from the header line"},
    {.key = "encoding",
     .type = SS_CFG_ENUM,
     .off = O(encoding),
     .def_str = "utf-8",
     .choices = encodings,
     .help = "the export's character encoding"},
    {.key = "wide", .type = SS_CFG_OBJECT, .sub = wide_options, .help = "one column per period"},
    {0},
};
#undef O

/* csv.wide.series names dataset fields; csv.wide.totals names series
 * fields; both need csv.wide.series to make sense of a total. */
static int wide_series_check(struct ss_config_ctx *ctx, const struct ss_csv_options *o)
{
    char path[512];
    int rc;
    for (size_t i = 0; i < o->nwide_series; i++)
        for (size_t j = 0; j < o->wide_series[i].npairs; j++) {
            snprintf(path, sizeof(path), "csv.wide.series.%s.%s", o->wide_series[i].field,
                     o->wide_series[i].pairs[j].key);
            if ((rc = ss_config_check_field(ctx, path, o->wide_series[i].pairs[j].key)) < 0)
                return rc;
        }
    for (size_t i = 0; i < o->nwide_totals; i++) {
        int found = 0;
        for (size_t k = 0; k < o->nwide_series && !found; k++)
            for (size_t j = 0; j < o->wide_series[k].npairs && !found; j++)
                found = strcmp(o->wide_series[k].pairs[j].key, o->wide_totals[i].value) == 0;
        if (!found)
            return ss_config_fail(ctx, 0, "csv.wide.totals",
                                  "\"%s\": a total is over a field \"csv.wide.series\" gives, "
                                  "and no series gives \"%s\"",
                                  o->wide_totals[i].key, o->wide_totals[i].value);
    }
    return 0;
}

static int csv_check(struct ss_config_ctx *ctx, const struct ss_collector_config *cfg,
                     const void *opts)
{
    const struct ss_csv_options *o = opts;
    int rc;
    /* Without a header line the column names can only come from here. */
    if (!o->header && o->ncolumns == 0)
        return ss_config_fail(ctx, 1, "csv.columns",
                              "required key missing (\"csv.header\" is false)");
    if (o->wide_value_field) {
        if ((rc = ss_config_check_field(ctx, "csv.wide.value_field", o->wide_value_field)) < 0)
            return rc;
        if ((rc = ss_config_check_field(ctx, "csv.wide.period_field", o->wide_period_field)) < 0)
            return rc;
        if ((rc = wide_series_check(ctx, o)) < 0)
            return rc;
    }
    return 0;
}

const struct ss_config_section ss_csv_section = {"csv", csv_options, sizeof(struct ss_csv_options),
                                                 csv_check};

static const struct ss_config_kind csv_config = {"csv", &ss_csv_section, 0, NULL};

/* The delimiters detection chooses from, in the order that breaks a tie. */
static const char detect_chars[] = {',', ';', '\t', '|'};
#define NDETECT sizeof(detect_chars)

struct csv_state {
    const struct ss_source_env *env;
    const struct ss_record_sink *sink;
    struct ss_csv_opts opts;
    struct ss_csv *csv; /* NULL while the first line is held for detection */
    struct ss_transcode *tc;
    struct ss_wide *wide;        /* NULL unless csv.wide */
    const struct ss_dataset *ds; /* csv.wide: which columns the mapping claims */
    const char **pvals;          /* a rejected wide row's other columns (ss_wide_project) */
    size_t *plens;
    /* csv.wide: record columns with no header that nothing claims. A
     * trailing delimiter makes one on every line; it is unread only when a
     * cell of it holds a value, which is known at the end of the export. */
    size_t *blank_cols;
    unsigned char *blank_used;
    size_t nblank;
    size_t ncolumns;       /* the header's (or csv.columns') fields */
    struct ss_sniff sniff; /* the HTML and text checks */
    int text_started;
    int have_header;
    int sink_stop;
    int failed; /* err_msg says why the run cannot go on */
    int setup;  /* ...and it is the config that does not fit the export's header */
    char err_msg[1024];
    unsigned long long bytes;
    /* delimiter detection */
    int detecting;
    int det_quoted;
    unsigned long det_count[NDETECT];
    struct ss_buf first; /* the bytes held until the first line ends */
};

static int cb_init(void **state, const struct ss_source_env *env, char *err, size_t errlen)
{
    const struct ss_collector_config *cfg = env->cfg;
    const struct ss_csv_options *o = cfg->options;
    struct csv_state *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    s->env = env;
    if (o->wide_value_field) {
        /* The period field's type says how the periods are written. */
        const char *pf = o->wide_period_field ? o->wide_period_field : "month";
        s->ds = ss_dataset_find(cfg->dataset);
        int f = s->ds ? ss_dataset_field_index(s->ds, pf) : -1;
        if (f < 0) {
            snprintf(err, errlen, "\"csv.wide.period_field\": dataset \"%s\" has no field \"%s\"",
                     cfg->dataset, pf);
            free(s);
            return SS_EINVAL;
        }
        enum ss_ftype pt = s->ds->fields[f].type;
        if (pt != SS_FT_MONTH && pt != SS_FT_PERIOD) {
            snprintf(err, errlen,
                     "\"csv.wide.period_field\": \"%s\" is a %s field; a wide file's periods go "
                     "into a month field (\"month\") or a period field (\"period\")",
                     pf, ss_ftype_name(pt));
            free(s);
            return SS_EINVAL;
        }
        struct ss_wide_opts wo = {
            .value_field = o->wide_value_field,
            .period_field = pf,
            .period_type = pt,
            .columns = o->wide_columns,
            .ncolumns = o->nwide_columns,
            .ignore = (const char *const *)o->wide_ignore,
            .nignore = o->nwide_ignore,
            .series = o->wide_series,
            .nseries = o->nwide_series,
            .totals = o->wide_totals,
            .ntotals = o->nwide_totals,
            .period_end = o->wide_period_end,
        };
        if (o->wide_period_end && pt == SS_FT_MONTH) {
            snprintf(err, errlen,
                     "\"csv.wide.period_end_reports\": quarters and years need "
                     "\"period_field\": \"period\", not the month field \"%s\"",
                     pf);
            free(s);
            return SS_EINVAL;
        }
        if (ss_wide_new(&s->wide, &wo) < 0) {
            snprintf(err, errlen, "out of memory");
            free(s);
            return SS_ENOMEM;
        }
    }
    /* Refuse an encoding iconv lacks now, before anything is fetched. */
    struct ss_transcode *tc;
    int rc = ss_transcode_new(&tc, o->encoding, NULL, NULL);
    if (rc < 0) {
        snprintf(err, errlen, "\"csv.encoding\": %s: %s", o->encoding,
                 rc == -EINVAL ? "this system's iconv cannot convert it" : strerror(-rc));
        ss_wide_free(s->wide);
        free(s);
        return SS_EINVAL;
    }
    ss_transcode_free(tc);
    *state = s;
    return 0;
}

static void cb_exit(void *state)
{
    struct csv_state *s = state;
    if (!s)
        return;
    ss_csv_free(s->csv);
    ss_transcode_free(s->tc);
    ss_wide_free(s->wide);
    free(s->pvals);
    free(s->plens);
    free(s->blank_cols);
    free(s->blank_used);
    ss_buf_free(&s->first);
    free(s);
}

struct wide_emit {
    const struct ss_record_sink *sink;
    unsigned long line;
};

static int wide_record(void *ud, const char *const *vals, const size_t *lens, size_t n)
{
    struct wide_emit *e = ud;
    return e->sink->record(e->sink->ud, vals, lens, n, e->line);
}

static int fail(struct csv_state *s, const char *msg)
{
    snprintf(s->err_msg, sizeof(s->err_msg), "%s", msg);
    s->failed = 1;
    return 1;
}

/* The config does not fit the header: exit status 1, not a fetch failure. */
static int fail_setup(struct csv_state *s, const char *msg)
{
    s->setup = 1;
    return fail(s, msg);
}

/* How many of a rejected row's fields go with it (see the top): those
 * before the field the parser was reading when it gave up, and before the
 * first field that runs over a line break in a row whose field count is
 * wrong (the quote that did not close took in the lines after it, and
 * every field after that one is out of place). */
static size_t reject_fields(const struct csv_state *s, const struct ss_csv_record *rec)
{
    size_t nf = rec->nfields;
    if (rec->error && nf > 0)
        nf--;
    if (rec->end_line > rec->line && (rec->error || rec->nfields != s->ncolumns))
        for (size_t i = 0; i < nf; i++)
            if (memchr(rec->fields[i], '\n', rec->lens[i]) ||
                memchr(rec->fields[i], '\r', rec->lens[i]))
                return i;
    return nf;
}

static int on_header(struct csv_state *s, const struct ss_csv_record *rec)
{
    const struct ss_record_sink *k = s->sink;
    char why[1024];

    if (rec->error) {
        snprintf(why, sizeof(why), "cannot read the header row: %s", rec->error);
        if (s->wide) /* without a header there are no period columns to read */
            return fail(s, why);
        return k->reject(k->ud, rec->line, why, NULL, NULL, 0);
    }
    s->ncolumns = rec->nfields;
    if (!s->wide)
        return k->columns(k->ud, rec->fields, rec->lens, rec->nfields);
    return 0;
}

/* A column csv.wide.ignore leaves out is not there for the mapping either:
 * say so now rather than "no such column" from the mapper. */
static int ignored_but_mapped(struct csv_state *s, const char *const *names, const size_t *lens,
                              size_t n)
{
    const struct ss_collector_config *cfg = s->env->cfg;
    char msg[512];
    for (size_t i = 0; i < n; i++) {
        if (!ss_wide_ignores(s->wide, names[i], lens[i]) ||
            ss_mapper_claims(s->ds, cfg, names[i], lens[i]) != SS_MAPPER_BY_MAPPING)
            continue;
        snprintf(msg, sizeof(msg),
                 "\"csv.wide.ignore\" leaves out the column \"%.*s\", which \"mapping\" names; "
                 "take it out of one of them",
                 (int)(lens[i] < 60 ? lens[i] : 60), names[i]);
        return fail_setup(s, msg);
    }
    return 0;
}

static int blank_name(const char *s, size_t len)
{
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    return len == 0;
}

/* The record columns nothing claims (not the period and value fields at the
 * end): named once through sink->unread. One with no header is only noted
 * here (see blank_cols). */
static int report_unread(struct csv_state *s, const char *const *on, const size_t *ol, size_t nout)
{
    const struct ss_record_sink *k = s->sink;
    size_t n = 0;
    const char **names = malloc(nout * sizeof(*names));
    size_t *lens = malloc(nout * sizeof(*lens));
    free(s->blank_cols);
    free(s->blank_used);
    s->blank_cols = malloc(nout * sizeof(*s->blank_cols));
    s->blank_used = calloc(nout, 1);
    s->nblank = 0;
    if (!names || !lens || !s->blank_cols || !s->blank_used) {
        free(names);
        free(lens);
        return fail(s, "out of memory");
    }
    for (size_t i = 0; i + 2 < nout; i++) {
        if (ss_mapper_claims(s->ds, s->env->cfg, on[i], ol[i]))
            continue;
        if (blank_name(on[i], ol[i])) {
            s->blank_cols[s->nblank++] = i;
            continue;
        }
        names[n] = on[i];
        lens[n++] = ol[i];
    }
    int rc = n && k->unread ? k->unread(k->ud, names, lens, n) : 0;
    free(names);
    free(lens);
    return rc;
}

/* A wide row: does a column with no header hold a value in it? */
static void note_blank_cells(struct csv_state *s, const struct ss_csv_record *rec)
{
    if (!s->nblank)
        return;
    size_t np = ss_wide_project(s->wide, rec->fields, rec->lens, rec->nfields, s->pvals, s->plens);
    for (size_t b = 0; b < s->nblank; b++) {
        size_t c = s->blank_cols[b];
        if (c < np && !blank_name(s->pvals[c], s->plens[c]))
            s->blank_used[b] = 1;
    }
}

/* At the end of the export: the columns with no header that held a value. */
static int report_blank_unread(struct csv_state *s)
{
    char text[32][40];
    const char *names[32];
    size_t lens[32], n = 0;
    for (size_t b = 0; b < s->nblank && n < 32; b++) {
        if (!s->blank_used[b])
            continue;
        snprintf(text[n], sizeof(text[n]), "(column %zu, no header)",
                 ss_wide_source_column(s->wide, s->blank_cols[b]) + 1);
        names[n] = text[n];
        lens[n] = strlen(text[n]);
        n++;
    }
    return n && s->sink->unread ? s->sink->unread(s->sink->ud, names, lens, n) : 0;
}

/* At the end of a wide export: what csv.wide.totals left out and what
 * period_end_reports read as quarters and years, so no cell goes unsaid. */
static void wide_summary(const struct ss_wide *w)
{
    unsigned long dropped = ss_wide_totals_dropped(w), differ = ss_wide_totals_differing(w);
    if (dropped)
        ss_notice("csv.wide: %lu total cells left out, their breakdown being given (never added "
                  "to it); %lu of them are not the sum of their breakdown's cells, and those "
                  "above it hold %llu more than their breakdown",
                  dropped, differ, ss_wide_totals_excess(w));
    if (ss_wide_totals_covered(w))
        ss_notice("csv.wide: %lu of those are monthly totals whose breakdown is given for the "
                  "quarter or the year around the month (csv.wide.period_end_reports)",
                  ss_wide_totals_covered(w));
    if (ss_wide_quarters(w) || ss_wide_years(w))
        ss_notice("csv.wide: %lu cells entered in a quarter's last month loaded as quarters, %lu "
                  "as financial years (csv.wide.period_end_reports)",
                  ss_wide_quarters(w), ss_wide_years(w));
}

/* The header for the wide transform: the export's, or csv.columns. */
static int wide_header(struct csv_state *s, const char *const *names, const size_t *lens, size_t n)
{
    const char *const *on;
    const size_t *ol;
    size_t nout;
    char err[1024];
    int rc;

    rc = ss_wide_header(s->wide, names, lens, n, err, sizeof(err));
    if (rc != 0)
        return rc == -ENOMEM ? fail(s, err) : fail_setup(s, err);
    if (ignored_but_mapped(s, names, lens, n) != 0)
        return 1;
    ss_wide_columns(s->wide, &on, &ol, &nout);
    free(s->pvals);
    free(s->plens);
    s->pvals = calloc(nout, sizeof(*s->pvals));
    s->plens = calloc(nout, sizeof(*s->plens));
    if (!s->pvals || !s->plens)
        return fail(s, "out of memory");
    ss_info("csv.wide: %zu period columns become \"%s\" with the cell as \"%s\"; %zu other "
            "columns, %zu left out by \"csv.wide.ignore\"",
            ss_wide_periods(s->wide), on[nout - 2], on[nout - 1], nout - 2,
            ss_wide_ignored(s->wide));
    if ((rc = s->sink->columns(s->sink->ud, on, ol, nout)) != 0)
        return rc;
    return report_unread(s, on, ol, nout);
}

static int on_row(void *ud, const struct ss_csv_record *rec)
{
    struct csv_state *s = ud;
    const struct ss_record_sink *k = s->sink;
    int rc;

    if (!s->have_header) {
        s->have_header = 1;
        rc = on_header(s, rec);
        if (rc == 0 && s->wide && !rec->error)
            rc = wide_header(s, rec->fields, rec->lens, rec->nfields);
        return s->sink_stop = rc != 0;
    }
    if (s->wide) {
        char why[256];
        const char *why_p = rec->error;
        struct wide_emit e = {k, rec->line};
        if (!rec->error)
            note_blank_cells(s, rec);
        rc = rec->error ? -1
                        : ss_wide_row(s->wide, rec->fields, rec->lens, rec->nfields, wide_record,
                                      &e, why, sizeof(why));
        if (rc < 0) {
            /* Only the row's other columns go with it, as the records would have them. */
            size_t np = ss_wide_project(s->wide, rec->fields, rec->lens, reject_fields(s, rec),
                                        s->pvals, s->plens);
            rc = k->reject(k->ud, rec->line, why_p ? why_p : why, s->pvals, s->plens, np);
        }
    } else if (rec->error || (rec->nfields != s->ncolumns && rec->end_line > rec->line)) {
        char why[256];
        if (!rec->error)
            snprintf(why, sizeof(why),
                     "%zu fields where the header has %zu, over lines %lu-%lu (a quote that does "
                     "not close where it should?)",
                     rec->nfields, s->ncolumns, rec->line, rec->end_line);
        rc = k->reject(k->ud, rec->line, rec->error ? rec->error : why, rec->fields, rec->lens,
                       reject_fields(s, rec));
    } else {
        rc = k->record(k->ud, rec->fields, rec->lens, rec->nfields, rec->line);
    }
    return s->sink_stop = rc != 0;
}

static const char *delimiter_name(char c)
{
    switch (c) {
    case '\t':
        return "tab";
    case ',':
        return "','";
    case ';':
        return "';'";
    case '|':
        return "'|'";
    default:
        return "?";
    }
}

/* The first line is in (or ended without a line end): choose, start the
 * parser, give it what was held. */
static int detect_done(struct csv_state *s, const char *why)
{
    size_t best = NDETECT;
    for (size_t i = 0; i < NDETECT; i++)
        if (s->det_count[i] > 0 && (best == NDETECT || s->det_count[i] > s->det_count[best]))
            best = i;
    if (best < NDETECT) {
        s->opts.delimiter = detect_chars[best];
        ss_info("csv: detected delimiter %s from %s (',' %lu, ';' %lu, tab %lu, '|' %lu)",
                delimiter_name(s->opts.delimiter), why, s->det_count[0], s->det_count[1],
                s->det_count[2], s->det_count[3]);
    } else {
        ss_info("csv: no delimiter in %s (one column); using the configured %s", why,
                delimiter_name(s->opts.delimiter ? s->opts.delimiter : ','));
    }
    s->detecting = 0;
    s->csv = ss_csv_new(&s->opts, on_row, s);
    if (!s->csv)
        return fail(s, "out of memory");
    int rc = s->first.len ? ss_csv_feed(s->csv, s->first.data, s->first.len) : 0;
    ss_buf_free(&s->first);
    return rc;
}

/* Counts delimiters outside quotes until the first line ends; holds the
 * bytes (at most max_record of them) meanwhile. */
static int detect_feed(struct csv_state *s, const char *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        char c = data[i];
        if (c == '"') {
            s->det_quoted = !s->det_quoted;
        } else if (!s->det_quoted && (c == '\n' || c == '\r')) {
            break;
        } else if (!s->det_quoted) {
            for (size_t d = 0; d < NDETECT; d++)
                if (c == detect_chars[d])
                    s->det_count[d]++;
        }
    }
    if (i == len) {
        if (ss_buf_add(&s->first, data, len) == 0)
            return 0;
        /* A first line longer than any record may be: decide on what is here
         * and let the parser report the line. */
        int rc = detect_done(s, "the first line's first bytes");
        return rc ? rc : ss_csv_feed(s->csv, data, len);
    }
    int rc = detect_done(s, "the first line");
    return rc ? rc : ss_csv_feed(s->csv, data, len);
}

/* UTF-8 text past the HTML and text checks: to the parser. */
static int text_feed(void *ud, const char *data, size_t len)
{
    struct csv_state *s = ud;
    return s->detecting ? detect_feed(s, data, len) : ss_csv_feed(s->csv, data, len);
}

static unsigned long text_line(void *ud)
{
    struct csv_state *s = ud;
    return s->csv ? ss_csv_line(s->csv) : 1;
}

static int sniff_fail(void *ud, const char *msg)
{
    return fail(ud, msg);
}

/* UTF-8 text, after the encoding conversion. */
static int on_text(void *ud, const char *data, size_t len)
{
    struct csv_state *s = ud;

    if (!s->text_started) {
        const char *bom = ss_transcode_bom(s->tc);
        const char *enc = ((const struct ss_csv_options *)s->env->cfg->options)->encoding;
        s->text_started = 1;
        if (bom && (strncmp(bom, "UTF-16", 6) == 0 || strcasecmp(enc, "utf-8") != 0))
            ss_notice("csv: the export starts with a %s byte-order mark, so it is read as %s "
                      "(\"csv.encoding\" says %s)",
                      bom, bom, enc);
    }
    return ss_sniff_feed(&s->sniff, data, len);
}

static int on_body(void *ud, const char *data, size_t len)
{
    struct csv_state *s = ud;
    ss_sniff_raw(&s->sniff, data, len);
    s->bytes += len;
    if (s->sink->progress)
        s->sink->progress(s->sink->ud, s->bytes);
    int rc = ss_transcode_feed(s->tc, data, len);
    if (rc < 0 && !s->failed) {
        char msg[256];
        snprintf(msg, sizeof(msg), "cannot read the export as %s: %s", ss_transcode_encoding(s->tc),
                 strerror(-rc));
        fail(s, msg);
    }
    return rc != 0;
}

/* A headerless export: csv.columns play the header's part. */
static int config_header(struct csv_state *s, const struct ss_csv_options *o, char *err,
                         size_t errlen)
{
    int rc;
    size_t *lens = malloc(o->ncolumns * sizeof(*lens));
    if (!lens) {
        snprintf(err, errlen, "out of memory");
        return SS_SOURCE_FAILED;
    }
    for (size_t i = 0; i < o->ncolumns; i++)
        lens[i] = strlen(o->columns[i]);
    if (s->wide)
        rc = wide_header(s, (const char *const *)o->columns, lens, o->ncolumns);
    else
        rc = s->sink->columns(s->sink->ud, (const char *const *)o->columns, lens, o->ncolumns);
    free(lens);
    if (s->failed) {
        snprintf(err, errlen, "%s", s->err_msg);
        return s->setup ? SS_SOURCE_SETUP : SS_SOURCE_FAILED;
    }
    if (rc != 0)
        return SS_SOURCE_STOPPED;
    s->have_header = 1;
    return SS_SOURCE_OK;
}

static int cb_run(void *state, const char *cursor, struct ss_buf *next_cursor,
                  const struct ss_record_sink *sink, char *err, size_t errlen)
{
    struct csv_state *s = state;
    const struct ss_collector_config *cfg = s->env->cfg;
    const struct ss_csv_options *o = cfg->options;
    struct ss_http_resp resp;
    char etag[256], lm[128];
    int rc;

    memset(&s->opts, 0, sizeof(s->opts));
    s->opts.delimiter = o->delimiter;
    s->opts.max_field = (size_t)cfg->max_field_bytes;
    s->opts.max_record = (size_t)cfg->max_record_bytes;
    s->opts.max_fields = (size_t)cfg->max_fields;
    s->sink = sink;
    s->bytes = 0;
    s->sink_stop = 0;
    s->failed = 0;
    s->setup = 0;
    s->err_msg[0] = '\0';
    ss_csv_free(s->csv);
    s->csv = NULL;
    ss_transcode_free(s->tc);
    s->tc = NULL;
    ss_buf_free(&s->first);
    s->text_started = 0;
    s->sniff = (struct ss_sniff){.what = "CSV",
                                 .url = cfg->url,
                                 .feed = text_feed,
                                 .line = text_line,
                                 .fail = sniff_fail,
                                 .ud = s};
    ss_sniff_begin(&s->sniff, &resp);
    s->detecting = o->detect_delimiter;
    s->det_quoted = 0;
    memset(s->det_count, 0, sizeof(s->det_count));
    if (s->detecting)
        ss_buf_init(&s->first, s->opts.max_record ? s->opts.max_record : 1024 * 1024);
    else if (!(s->csv = ss_csv_new(&s->opts, on_row, s))) {
        snprintf(err, errlen, "out of memory");
        return SS_SOURCE_FAILED;
    }
    rc = ss_transcode_new(&s->tc, o->encoding, on_text, s);
    if (rc < 0) {
        snprintf(err, errlen, "\"csv.encoding\": %s: %s", o->encoding, strerror(-rc));
        return SS_SOURCE_FAILED;
    }
    s->have_header = 0;
    s->ncolumns = o->ncolumns;
    if (!o->header && (rc = config_header(s, o, err, errlen)) != SS_SOURCE_OK)
        return rc;

    ss_http_cursor_split(cfg->http_conditional ? cursor : NULL, etag, sizeof(etag), lm, sizeof(lm));
    struct ss_http_req req = {.url = cfg->url, .etag = etag, .last_modified = lm};
    int r = ss_http_request(s->env->http, &req, NULL, on_body, s, &resp, err, errlen);
    if (r == SS_HTTP_NOT_MODIFIED)
        return SS_SOURCE_UNCHANGED;
    if (s->failed) {
        snprintf(err, errlen, "%s", s->err_msg);
        return s->setup ? SS_SOURCE_SETUP : SS_SOURCE_FAILED;
    }
    if (r == SS_ESTOPPED || s->sink_stop)
        return SS_SOURCE_STOPPED;
    if (r != 0)
        return SS_SOURCE_FAILED; /* a cut body's last row is not finished: it is dropped */
    /* The end of the input, through each stage in turn. */
    rc = ss_transcode_finish(s->tc);
    if (rc < 0 && !s->failed) {
        char msg[256];
        snprintf(msg, sizeof(msg), "cannot read the export: %s", strerror(-rc));
        fail(s, msg);
    }
    if (rc == 0)
        rc = ss_sniff_finish(&s->sniff);
    if (rc == 0 && s->detecting)
        rc = detect_done(s, "the whole export (no line end)");
    if (rc == 0)
        rc = ss_csv_finish(s->csv);
    if (s->failed) {
        snprintf(err, errlen, "%s", s->err_msg);
        return s->setup ? SS_SOURCE_SETUP : SS_SOURCE_FAILED;
    }
    if (rc == 0 && s->wide)
        rc = report_blank_unread(s);
    if (rc != 0)
        return SS_SOURCE_STOPPED;
    if (s->wide)
        wide_summary(s->wide);
    if (ss_transcode_replaced(s->tc) > 0)
        ss_warn("csv: %llu bytes are not %s text; each became U+FFFD (the replacement "
                "character)",
                ss_transcode_replaced(s->tc), ss_transcode_encoding(s->tc));
    ss_buf_reset(next_cursor);
    ss_buf_printf(next_cursor, "%s\n%s", resp.etag, resp.last_modified);
    return SS_SOURCE_OK;
}

const struct ss_source_kind ss_source_csv = {"csv", &csv_config, cb_init, cb_run, cb_exit};
