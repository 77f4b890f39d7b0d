/* src_koha_report: the "koha_report" source kind -- one of Koha's saved SQL
 * reports (/cgi-bin/koha/svc/report); the Koha client and the "koha" options
 * it shares with kind "koha" are ss_koha's.
 *
 * "koha_report" fetches one saved report with annotated=1 (rows are objects
 * keyed by the SQL column aliases; the first row's keys are the columns).
 * svc/report has no paging and answers at most SvcMaxReportRows rows (10 by
 * default; there is no request parameter to lift it -- the syspref must be
 * raised): a report of exactly koha.max_report_rows rows (the same default)
 * was most likely cut there, so its rows are handed over and the run ends
 * SS_SOURCE_TRUNCATED with what to do. A report that fails answers HTTP
 * 200 with a JSON object: that is an error, with the object in the message.
 * It uses the configured http.auth (a public report needs none).
 *
 *
 * The report's body is held whole (parsed with jansson) up to
 * SS_KOHA_MAX_PAGE_BYTES.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_koha.h"
#include "ss_log.h"
#include "ss_source.h"

static int check(struct ss_config_ctx *ctx, const struct ss_collector_config *cfg, const void *opts)
{
    const struct ss_koha_options *o = opts;
    if (o->report_id <= 0)
        return ss_config_fail(ctx, 1, "koha.report_id",
                              "required key missing (\"kind\" is \"koha_report\")");
    return 0;
}

static const struct ss_config_kind config = {"koha_report", &ss_koha_section, 0, check};

static void cb_exit(void *state)
{
    struct ss_koha *s = state;
    if (!s)
        return;
    ss_koha_free(s);
    free(s);
}

static int init_state(void **state, const struct ss_source_env *env, char *err, size_t errlen)
{
    struct ss_koha *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    *state = s;
    if (ss_koha_init(s, env, 1, err, errlen) < 0)
        return SS_EINVAL;
    if (ss_koha_options(env->cfg)->report_id <= 0) {
        snprintf(err, errlen,
                 "kind koha_report needs \"koha.report_id\": the id of a saved SQL report");
        return SS_EINVAL;
    }
    return 0;
}

/* A failed set-up frees what it had made: the engine calls cb_exit only
 * after a cb_init that succeeded. */
static int cb_init(void **state, const struct ss_source_env *env, char *err, size_t errlen)
{
    int rc = init_state(state, env, err, errlen);
    if (rc < 0 && *state) {
        cb_exit(*state);
        *state = NULL;
    }
    return rc;
}

/* A report of exactly koha.max_report_rows rows was most likely cut there
 * by Koha: SS_SOURCE_TRUNCATED with what to do; else SS_SOURCE_OK. */
static int cap_check(const struct ss_collector_config *cfg, const char *url, size_t nrows,
                     char *err, size_t errlen)
{
    int r = SS_SOURCE_OK;
    if ((long)nrows == ss_koha_options(cfg)->max_report_rows) {
        snprintf(err, errlen,
                 "%s: report %ld: Koha capped the report at %zu rows (its system preference "
                 "SvcMaxReportRows; koha.max_report_rows is %ld), so rows are most likely "
                 "missing. The %zu rows received were delivered. Raise SvcMaxReportRows in "
                 "Koha's system preferences (Administration > System preferences) above the "
                 "report's row count, and set koha.max_report_rows to the same value",
                 url, ss_koha_options(cfg)->report_id, nrows, ss_koha_options(cfg)->max_report_rows,
                 nrows);
        r = SS_SOURCE_TRUNCATED;
    } else if ((long)nrows > ss_koha_options(cfg)->max_report_rows) {
        ss_warn("%s: report %ld returned %zu rows, more than koha.max_report_rows (%ld): set "
                "koha.max_report_rows to Koha's SvcMaxReportRows, so that a report Koha cuts "
                "short is told from a complete one",
                url, ss_koha_options(cfg)->report_id, nrows, ss_koha_options(cfg)->max_report_rows);
    }
    return r;
}

/* Each row of doc to the sink, its values in the first row's column order;
 * a row that is not an object, or a value that is not a single one, is a
 * reject. A sink asking to stop sets s->sink_stop. */
static void hand_rows(struct ss_koha *s, json_t *doc, const char **names, const char **vals,
                      size_t *lens, struct ss_buf *texts, size_t ncol)
{
    const struct ss_collector_config *cfg = s->cfg;
    size_t nrows = json_array_size(doc);
    for (size_t i = 0; i < nrows && !s->sink_stop; i++) {
        json_t *row = json_array_get(doc, i);
        const char *why = NULL;
        char reason[512];
        if (!json_is_object(row))
            why = "the row is not a JSON object";
        for (size_t k = 0; k < ncol && !why; k++) {
            int rc = ss_koha_scalar_text(json_object_get(row, names[k]), &texts[k]);
            if (rc < 0) {
                snprintf(reason, sizeof(reason),
                         "column \"%s\": not a single value, or longer than %ld bytes", names[k],
                         cfg->max_field_bytes);
                why = reason;
            }
            vals[k] = texts[k].data ? texts[k].data : "";
            lens[k] = texts[k].len;
        }
        if (why) {
            s->where++;
            if (s->sink->reject(s->sink->ud, s->where, why, vals, lens, ncol))
                s->sink_stop = 1;
            continue;
        }
        ss_koha_hand_over(s, vals, lens, ncol);
    }
}

static int cb_run(void *state, const char *cursor, struct ss_buf *next_cursor,
                  const struct ss_record_sink *sink, char *err, size_t errlen)
{
    struct ss_koha *s = state;
    const struct ss_collector_config *cfg = s->cfg;
    int r;
    long status;
    json_error_t jerr;
    char url[SS_KOHA_MAX_URL];
    const char *key;
    json_t *v;
    const char **names = NULL, **vals = NULL;
    size_t *lens = NULL, ncol = 0;
    struct ss_buf *texts = NULL;
    json_t *doc = NULL;

    s->sink = sink;
    s->bytes = 0;
    s->where = 0;
    s->sink_stop = 0;
    ss_buf_reset(next_cursor);
    snprintf(url, sizeof(url), "%s/cgi-bin/koha/svc/report?id=%ld&annotated=1", s->base,
             ss_koha_options(cfg)->report_id);
    r = ss_koha_fetch(s, url, NULL, &status, err, errlen);
    if (r != SS_SOURCE_OK)
        return r;
    doc = json_loadb(s->body.data ? s->body.data : "", s->body.len, 0, &jerr);
    if (!json_is_array(doc)) {
        if (json_is_object(doc)) {
            char *text = json_dumps(doc, JSON_COMPACT);
            char shown[512];
            ss_koha_shown_body(text ? text : "", NULL, shown, sizeof(shown));
            free(text);
            snprintf(err, errlen,
                     "%s: report %ld failed: Koha answered HTTP %ld with an error instead of "
                     "rows: %s (check the report id, that the report runs in Koha, and that it "
                     "is public when fetched from the OPAC)",
                     url, ss_koha_options(cfg)->report_id, status, shown);
        } else {
            ss_koha_not_an_array(s, url, doc, &jerr, err, errlen);
        }
        json_decref(doc);
        return SS_SOURCE_FAILED;
    }
    size_t nrows = json_array_size(doc);
    if (nrows == 0) {
        ss_warn("%s: report %ld returned no rows", url, ss_koha_options(cfg)->report_id);
        json_decref(doc);
        return SS_SOURCE_OK;
    }
    json_t *first = json_array_get(doc, 0);
    if (!json_is_object(first)) {
        snprintf(err, errlen,
                 "%s: the report's rows are not objects keyed by column name (annotated=1 "
                 "was not honoured)",
                 url);
        json_decref(doc);
        return SS_SOURCE_FAILED;
    }
    ncol = json_object_size(first);
    if (ncol == 0 || ncol > (size_t)cfg->max_fields) {
        snprintf(err, errlen, "%s: the report's first row has %zu columns (1 to %ld allowed)", url,
                 ncol, cfg->max_fields);
        json_decref(doc);
        return SS_SOURCE_FAILED;
    }
    names = calloc(ncol, sizeof(*names));
    vals = calloc(ncol, sizeof(*vals));
    lens = calloc(ncol, sizeof(*lens));
    texts = calloc(ncol, sizeof(*texts));
    if (!names || !vals || !lens || !texts) {
        snprintf(err, errlen, "out of memory");
        r = SS_SOURCE_FAILED;
        goto out;
    }
    size_t c = 0;
    json_object_foreach(first, key, v)
    {
        names[c] = key;
        lens[c] = strlen(key);
        ss_buf_init(&texts[c], (size_t)cfg->max_field_bytes);
        c++;
    }
    if (s->sink->columns(s->sink->ud, names, lens, ncol) != 0) {
        r = SS_SOURCE_STOPPED;
        goto out;
    }
    hand_rows(s, doc, names, vals, lens, texts, ncol);
    if (s->sink_stop) {
        r = SS_SOURCE_STOPPED;
        goto out;
    }
    ss_info("koha: report %ld: %zu rows", ss_koha_options(cfg)->report_id, nrows);
    r = cap_check(cfg, url, nrows, err, errlen);
out:
    for (size_t k = 0; texts && k < ncol; k++)
        ss_buf_free(&texts[k]);
    free(texts);
    free(names);
    free(vals);
    free(lens);
    json_decref(doc);
    return r;
}

const struct ss_source_kind ss_source_koha_report = {"koha_report", &config, cb_init, cb_run,
                                                     cb_exit};
