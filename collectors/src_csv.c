/* src_csv: the "csv" source kind -- a CSV export over HTTP(S) or file://.
 *
 * The body streams through the CSV parser as it arrives. The header row
 * (or csv.columns for a headerless export) becomes the column list; each
 * row a record; a row the parser cannot read (a field past its bound, an
 * unterminated quote) a reject with the parser's reason. An export that has
 * not changed since the last run (ETag / Last-Modified, http.conditional)
 * costs one request and yields nothing. The cursor is "ETAG\nLAST-MODIFIED".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_csv.h"
#include "ss_http.h"
#include "ss_source.h"

struct csv_state {
    const struct ss_source_env *env;
    const struct ss_record_sink *sink;
    struct ss_csv *csv;
    int have_header;
    int sink_stop;
    unsigned long long bytes;
    struct ss_buf raw;
};

static int cb_init(void **state, const struct ss_source_env *env, char *err, size_t errlen)
{
    struct csv_state *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->env = env;
    ss_buf_init(&s->raw, 64 * 1024);
    *state = s;
    return 0;
}

static void cb_exit(void *state)
{
    struct csv_state *s = state;
    if (!s)
        return;
    ss_csv_free(s->csv);
    ss_buf_free(&s->raw);
    free(s);
}

static int on_row(void *ud, const struct ss_csv_record *rec)
{
    struct csv_state *s = ud;
    const struct ss_record_sink *k = s->sink;
    int rc;

    if (!s->have_header) {
        if (rec->error) {
            char why[512];
            snprintf(why, sizeof(why), "cannot read the header row: %s", rec->error);
            rc = k->reject(k->ud, rec->line, why, "", 0);
        } else {
            rc = k->columns(k->ud, rec->fields, rec->lens, rec->nfields);
        }
        s->have_header = 1;
        return s->sink_stop = rc != 0;
    }
    if (rec->error) {
        ss_buf_reset(&s->raw);
        for (size_t i = 0; i < rec->nfields; i++) {
            if ((i && ss_buf_addc(&s->raw, ',') < 0) ||
                ss_buf_add(&s->raw, rec->fields[i], rec->lens[i]) < 0)
                break;
        }
        rc = k->reject(k->ud, rec->line, rec->error, s->raw.data ? s->raw.data : "", s->raw.len);
    } else {
        rc = k->record(k->ud, rec->fields, rec->lens, rec->nfields, rec->line);
    }
    return s->sink_stop = rc != 0;
}

static int on_body(void *ud, const char *data, size_t len)
{
    struct csv_state *s = ud;
    s->bytes += len;
    if (s->sink->progress)
        s->sink->progress(s->sink->ud, s->bytes);
    return ss_csv_feed(s->csv, data, len) != 0;
}

/* "ETAG\nLAST-MODIFIED" */
static void split_cursor(const char *cursor, char *etag, size_t elen, char *lm, size_t lmlen)
{
    etag[0] = lm[0] = '\0';
    if (!cursor)
        return;
    const char *nl = strchr(cursor, '\n');
    size_t n = nl ? (size_t)(nl - cursor) : strlen(cursor);
    snprintf(etag, elen, "%.*s", (int)n, cursor);
    if (nl)
        snprintf(lm, lmlen, "%s", nl + 1);
}

static enum ss_source_result cb_run(void *state, const char *cursor, struct ss_buf *next_cursor,
                                    const struct ss_record_sink *sink, char *err, size_t errlen)
{
    struct csv_state *s = state;
    const struct ss_collector_config *cfg = s->env->cfg;
    struct ss_csv_opts opts;
    struct ss_http_resp resp;
    char etag[256], lm[128];

    memset(&opts, 0, sizeof(opts));
    opts.delimiter = cfg->csv_delimiter;
    opts.max_field = (size_t)cfg->max_field_bytes;
    opts.max_record = (size_t)cfg->max_record_bytes;
    opts.max_fields = (size_t)cfg->max_fields;
    s->sink = sink;
    s->bytes = 0;
    s->sink_stop = 0;
    ss_csv_free(s->csv);
    s->csv = ss_csv_new(&opts, on_row, s);
    if (!s->csv) {
        snprintf(err, errlen, "out of memory");
        return SS_SOURCE_FAILED;
    }
    s->have_header = 0;
    if (!cfg->csv_header) {
        size_t lens[SS_CONFIG_MAX_MAP];
        for (size_t i = 0; i < cfg->ncsv_columns; i++)
            lens[i] = strlen(cfg->csv_columns[i]);
        if (sink->columns(sink->ud, (const char *const *)cfg->csv_columns, lens,
                          cfg->ncsv_columns) != 0)
            return SS_SOURCE_STOPPED;
        s->have_header = 1;
    }

    split_cursor(cfg->http_conditional ? cursor : NULL, etag, sizeof(etag), lm, sizeof(lm));
    struct ss_http_req req = {.url = cfg->url, .etag = etag, .last_modified = lm};
    enum ss_http_result r =
        ss_http_request(s->env->http, &req, NULL, on_body, s, &resp, err, errlen);
    if (r == SS_HTTP_NOT_MODIFIED)
        return SS_SOURCE_UNCHANGED;
    if (r == SS_HTTP_STOPPED || s->sink_stop)
        return SS_SOURCE_STOPPED;
    if (r != SS_HTTP_OK)
        return SS_SOURCE_FAILED; /* a cut body's last row is not finished: it is dropped */
    if (ss_csv_finish(s->csv) != 0)
        return SS_SOURCE_STOPPED;
    ss_buf_reset(next_cursor);
    ss_buf_printf(next_cursor, "%s\n%s", resp.etag, resp.last_modified);
    return SS_SOURCE_OK;
}

const struct ss_source_kind ss_source_csv = {"csv", cb_init, cb_run, cb_exit};
