/* ss_quarantine: see ss_quarantine.h. */
#include "ss_quarantine.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ss_allow.h"
#include "ss_buf.h"
#include "ss_dataset.h"
#include "ss_err.h"
#include "ss_pg.h"
#include "ss_proto.h"
#include "ss_whsql.h"

#define SS_QUAR_SHOW_DEFAULT 100
/* Distinct records one replay sends: more wait for the next replay. */
#define SS_QUAR_REPLAY_MAX 1000000L
/* The wire payload of one replay batch. */
#define SS_QUAR_PAYLOAD_MAX ((size_t)256 << 20)
/* Reasons the summary names; the rest are counted together. */
#define SS_QUAR_REASONS 20

/* The filter as $1..$4 (struct ss_quar_filter: source, dataset, reason, since). */
#define FILTER_SQL                                                                                 \
    "($1::text IS NULL OR q.source = $1) AND ($2::text IS NULL OR q.dataset = $2) AND "            \
    "($3::text IS NULL OR strpos(lower(q.reason), lower($3)) > 0) AND "                            \
    "($4::date IS NULL OR q.last_seen >= $4::date)"

static void filter_params(const struct ss_quar_filter *f, const char *p[4])
{
    p[0] = f->source, p[1] = f->dataset, p[2] = f->reason, p[3] = f->since;
}

/* Runs sql, whose one row and column is a JSON document: 0 with *doc (the
 * caller's to json_decref), or a negative code with err. */
static int query_json(PGconn *conn, const char *sql, int n, const char *const *params, json_t **doc,
                      char *err, size_t errlen)
{
    char msg[1024];
    PGresult *res;
    json_error_t jerr;
    int rc = ss_pg_query(conn, sql, n, params, &res, msg, sizeof(msg));
    if (rc < 0) {
        snprintf(err, errlen,
                 "cannot read the quarantine: %s (is the warehouse migrated? shelfsync migrate)",
                 msg);
        return rc;
    }
    *doc = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    PQclear(res);
    if (!*doc) {
        snprintf(err, errlen, "cannot read the quarantine: %s", jerr.text);
        return SS_EINVAL;
    }
    return 0;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static long long num(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* "2024-05-01T10:00:00..." as "2024-05-01 10:00". */
static const char *minute(const json_t *o, const char *k, char buf[17])
{
    snprintf(buf, 17, "%s", str(o, k));
    if (buf[10] == 'T')
        buf[10] = ' ';
    return buf;
}

/* Why a replay cannot send a record (ingest.v_quarantine.unreplayable). */
static const char *unreplayable_text(const char *code)
{
    if (strcmp(code, "collector") == 0)
        return "the collector could not read it: fix it at the source, the next run sends it "
               "again";
    if (strcmp(code, "repeat") == 0)
        return "the export gives its key twice: which line is right is for the source to say";
    return "its values by field were not kept (quarantined before migration 014, or not valid "
           "UTF-8): the next run of the source sends it again";
}

/* Runs sql (as query_json) and writes its rows: the JSON document, or the
 * table print makes of it. 0, or a negative code with err. */
static int report(PGconn *conn, const char *sql, int n, const char *const *params, int json,
                  void (*print)(const json_t *rows, FILE *out), FILE *out, char *err, size_t errlen)
{
    json_t *rows;
    /* Times in the document are UTC ("2024-05-01T10:00:00.123+00:00"). */
    int rc = ss_pg_exec(conn, "SET TimeZone = 'UTC'", err, errlen);
    if (rc < 0 || (rc = query_json(conn, sql, n, params, &rows, err, errlen)) < 0)
        return rc;
    if (json) {
        json_dumpf(rows, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', out);
    } else if (!json_array_size(rows)) {
        fprintf(out, "no quarantined record matches\n");
    } else {
        print(rows, out);
    }
    json_decref(rows);
    return 0;
}

static void print_list(const json_t *rows, FILE *out)
{
    const json_t *r;
    size_t i;
    int ws = 6, wd = 7;
    long long tot[4] = {0};
    char a[17], b[17];
    json_array_foreach(rows, i, r)
    {
        int ls = (int)strlen(str(r, "source")), ld = (int)strlen(str(r, "dataset"));
        ws = ls > ws ? ls : ws;
        wd = ld > wd ? ld : wd;
    }
    fprintf(out, "%-*s  %-*s  %7s  %11s  %6s  %-16s  %-16s  %s\n", ws, "SOURCE", wd, "DATASET",
            "RECORDS", "OUTSTANDING", "LOADED", "FIRST SEEN", "LAST SEEN", "REASON");
    json_array_foreach(rows, i, r)
    {
        fprintf(out, "%-*s  %-*s  %7lld  %11lld  %6lld  %-16s  %-16s  %s\n", ws, str(r, "source"),
                wd, str(r, "dataset"), num(r, "records"), num(r, "outstanding"), num(r, "loaded"),
                minute(r, "first_seen", a), minute(r, "last_seen", b), str(r, "reason"));
        tot[0] += num(r, "records");
        tot[1] += num(r, "outstanding");
        tot[2] += num(r, "replayable");
        tot[3] += num(r, "loaded");
    }
    fprintf(out,
            "%lld records, %lld outstanding (%lld of them can be replayed: shelfsync quarantine "
            "replay), %lld loaded by a replay\n",
            tot[0], tot[1], tot[2], tot[3]);
}

int ss_quarantine_list(PGconn *conn, const struct ss_quar_filter *f, int json, FILE *out, char *err,
                       size_t errlen)
{
    static const char sql[] =
        "SELECT coalesce(json_agg(r ORDER BY r.source, r.dataset, r.records DESC, r.reason), "
        "'[]')::text FROM (SELECT q.source, q.dataset, regexp_replace(q.reason, '\\mline [0-9]+', "
        "'line N', 'g') AS reason, count(*)::int AS records, "
        "(count(*) FILTER (WHERE q.state = 'outstanding'))::int AS outstanding, "
        "(count(*) FILTER (WHERE q.state = 'outstanding' AND q.unreplayable IS NULL))::int AS "
        "replayable, (count(*) FILTER (WHERE q.state = 'loaded'))::int AS loaded, "
        "(count(*) FILTER (WHERE q.state = 'replaced'))::int AS replaced, "
        "(count(*) FILTER (WHERE q.state = 'superseded'))::int AS superseded, "
        "sum(q.seen_count)::bigint AS times_received, min(q.first_seen) AS first_seen, "
        "max(q.last_seen) AS last_seen FROM ingest.v_quarantine q WHERE " FILTER_SQL
        " GROUP BY 1, 2, 3) r";
    const char *p[4];
    filter_params(f, p);
    return report(conn, sql, 4, p, json, print_list, out, err, errlen);
}

static void print_show(const json_t *rows, FILE *out)
{
    const json_t *r;
    size_t i;
    char a[17], b[17];
    json_array_foreach(rows, i, r)
    {
        const char *why = json_string_value(json_object_get(r, "unreplayable"));
        fprintf(out, "#%lld %s/%s line %lld: %s%s%s\n", num(r, "id"), str(r, "source"),
                str(r, "dataset"), num(r, "line"), str(r, "state"),
                why ? "; cannot be replayed: " : "", why ? unreplayable_text(why) : "");
        fprintf(out, "  batch %lld (run %s); received %lld time%s, first %s, last %s\n",
                num(r, "batch_id"), str(r, "run_id"), num(r, "times_received"),
                num(r, "times_received") == 1 ? "" : "s", minute(r, "first_seen", a),
                minute(r, "last_seen", b));
        if (json_is_string(json_object_get(r, "replayed_at")))
            fprintf(out, "  replayed %s by batch %lld\n", minute(r, "replayed_at", a),
                    num(r, "replay_batch_id"));
        fprintf(out, "  reason: %s\n  raw:    %s\n", str(r, "reason"), str(r, "raw"));
    }
}

int ss_quarantine_show(PGconn *conn, const struct ss_quar_filter *f, int json, FILE *out, char *err,
                       size_t errlen)
{
    static const char sql[] =
        "SELECT coalesce(json_agg(r ORDER BY r.id), '[]')::text FROM (SELECT q.quarantine_id AS "
        "id, q.source, q.dataset, q.line, q.batch_id, q.run_id, q.state, q.unreplayable, q.reason, "
        "q.raw, q.seen_count AS times_received, q.first_seen, q.last_seen, q.replayed_at, "
        "q.replay_batch_id FROM ingest.v_quarantine q WHERE " FILTER_SQL
        " AND ($5::bigint IS NULL OR q.quarantine_id = $5) ORDER BY q.quarantine_id LIMIT $6) r";
    const char *p[6];
    char id[24], limit[24];

    filter_params(f, p);
    snprintf(id, sizeof(id), "%ld", f->id);
    snprintf(limit, sizeof(limit), "%ld", f->limit > 0 ? f->limit : SS_QUAR_SHOW_DEFAULT);
    p[4] = f->id ? id : NULL;
    p[5] = limit;
    return report(conn, sql, 6, p, json, print_show, out, err, errlen);
}

/* ---- replay ---- */

struct reason_count {
    char *reason;
    long n;
};

/* One replay, and the batch under way (shared with the hooks). */
struct replay {
    const char *dataset; /* of the batch under way */
    struct ss_buf ids;   /* its quarantine ids, an array literal */
    long nrows;          /* how many */
    int dry_run;
    int dry_done;      /* the after hook ran and rolled back on purpose */
    PGresult *pending; /* the after hook's verdicts, until the batch commits */
    long rows, loaded; /* what committed batches did */
    struct reason_count reasons[SS_QUAR_REASONS];
    size_t nreasons;
    long other_reasons; /* records failing for reasons past SS_QUAR_REASONS */
};

/* Inside the batch's transaction, once its ledger row is in: the batch and
 * its run say they are a replay; the dataset's lock (exclusive) and then
 * the selected rows, the order in which a live batch takes them; the rows
 * must all be outstanding still, and are remembered as they were. */
static int replay_before(void *arg, PGconn *conn, const char *batch_id, char *err, size_t errlen)
{
    struct replay *r = arg;
    PGresult *res;
    int rc;
    if ((rc = ss_pg_exec_params(
             conn,
             "WITH b AS (UPDATE ingest.batches SET replay = true WHERE batch_id = $1::bigint "
             "RETURNING run_ref) UPDATE ingest.runs SET outcome = 'replay', kind = 'replay', "
             "started_at = coalesce(started_at, now()), ended_at = now() "
             "WHERE run_ref IN (SELECT run_ref FROM b)",
             1, (const char *[]){batch_id}, err, errlen)) < 0 ||
        (rc = ss_pg_exec_params(conn, "SELECT pg_advisory_xact_lock(" SS_WHSQL_DATASET_LOCK ")", 1,
                                (const char *[]){r->dataset}, err, errlen)) < 0 ||
        (rc = ss_pg_exec(conn,
                         "CREATE TEMP TABLE IF NOT EXISTS replay_rows (quarantine_id bigint "
                         "PRIMARY KEY, batch_id bigint, last_seen timestamptz, seen_count "
                         "integer) ON COMMIT DELETE ROWS",
                         err, errlen)) < 0 ||
        (rc = ss_pg_exec_params(conn,
                                "SELECT 1 FROM ingest.quarantine WHERE quarantine_id = "
                                "ANY($1::bigint[]) FOR UPDATE",
                                1, (const char *[]){r->ids.data}, err, errlen)) < 0)
        return rc;
    /* A statement of its own, so that it sees what committed while it waited. */
    if ((rc = ss_pg_query(conn,
                          "WITH ins AS (INSERT INTO pg_temp.replay_rows SELECT q.quarantine_id, "
                          "q.batch_id, q.last_seen, q.seen_count FROM ingest.v_quarantine q "
                          "WHERE q.quarantine_id = ANY($1::bigint[]) AND q.state = "
                          "'outstanding' RETURNING 1) SELECT count(*) FROM ins",
                          1, (const char *[]){r->ids.data}, &res, err, errlen)) < 0)
        return rc;
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (n != r->nrows) {
        snprintf(err, errlen,
                 "%ld of the %ld records of this batch are no longer outstanding (another "
                 "replay, or a run of the source, came first): nothing of it was loaded; run the "
                 "replay again",
                 r->nrows - n, r->nrows);
        return SS_EINVAL;
    }
    return 0;
}

/* Inside the transaction, after the facts and the quarantine: each
 * selected row marked. In this order: replaced (failed again for another
 * reason: a new row of this batch holds the same record), then failed
 * again for the same reason (the apply counted a receipt on the row itself:
 * undone, a replay is not one), then the rest, which loaded. Then what
 * became of each, for the summary. */
static int replay_after(void *arg, PGconn *conn, const char *batch_id, char *err, size_t errlen)
{
    static const char *const mark[] = {
        "UPDATE ingest.quarantine q SET replayed_at = now(), replay_batch_id = $1::bigint, "
        "resolution = 'replaced', replay_seen_count = q.seen_count FROM pg_temp.replay_rows s "
        "WHERE q.quarantine_id = s.quarantine_id AND q.batch_id <> $1::bigint AND EXISTS "
        "(SELECT 1 FROM ingest.quarantine n WHERE n.batch_id = $1::bigint AND n.source = "
        "q.source AND n.dataset = q.dataset AND n.raw = q.raw)",
        "UPDATE ingest.quarantine q SET batch_id = s.batch_id, last_seen = s.last_seen, "
        "seen_count = s.seen_count, replayed_at = now(), replay_batch_id = $1::bigint, "
        "resolution = NULL, replay_seen_count = NULL FROM pg_temp.replay_rows s "
        "WHERE q.quarantine_id = s.quarantine_id AND q.batch_id = $1::bigint",
        "UPDATE ingest.quarantine q SET replayed_at = now(), replay_batch_id = $1::bigint, "
        "resolution = 'loaded', replay_seen_count = q.seen_count FROM pg_temp.replay_rows s "
        "WHERE q.quarantine_id = s.quarantine_id AND q.replay_batch_id IS DISTINCT FROM "
        "$1::bigint"};
    struct replay *r = arg;
    int rc;
    for (size_t i = 0; i < sizeof(mark) / sizeof(mark[0]); i++)
        if ((rc = ss_pg_exec_params(conn, mark[i], 1, (const char *[]){batch_id}, err, errlen)) < 0)
            return rc;
    /* Per row: NULL when it loaded, else the reason that holds it now. */
    if ((rc = ss_pg_query(conn,
                          "SELECT CASE WHEN q.resolution = 'loaded' THEN NULL ELSE "
                          "coalesce(n.reason, q.reason) END, count(*) FROM pg_temp.replay_rows s "
                          "JOIN ingest.quarantine q USING (quarantine_id) LEFT JOIN LATERAL "
                          "(SELECT n.reason FROM ingest.quarantine n WHERE q.resolution = "
                          "'replaced' AND n.batch_id = $1::bigint AND n.source = q.source AND "
                          "n.dataset = q.dataset AND n.raw = q.raw ORDER BY n.quarantine_id "
                          "LIMIT 1) n ON true GROUP BY 1 ORDER BY 2 DESC, 1",
                          1, (const char *[]){batch_id}, &r->pending, err, errlen)) < 0)
        return rc;
    if (r->dry_run) {
        r->dry_done = 1;
        snprintf(err, errlen, "dry run: rolled back");
        return SS_ESTOPPED;
    }
    return 0;
}

/* A committed (or dry-run) batch's verdicts into the totals. */
static void fold_pending(struct replay *r)
{
    for (int i = 0; r->pending && i < PQntuples(r->pending); i++) {
        long n = strtol(PQgetvalue(r->pending, i, 1), NULL, 10);
        r->rows += n;
        if (PQgetisnull(r->pending, i, 0)) {
            r->loaded += n;
            continue;
        }
        const char *reason = PQgetvalue(r->pending, i, 0);
        size_t k = 0;
        while (k < r->nreasons && strcmp(r->reasons[k].reason, reason) != 0)
            k++;
        if (k == r->nreasons && k < SS_QUAR_REASONS && (r->reasons[k].reason = strdup(reason)))
            r->nreasons++;
        if (k < r->nreasons)
            r->reasons[k].n += n;
        else
            r->other_reasons += n;
    }
    PQclear(r->pending);
    r->pending = NULL;
}

/* With CURVE, a replay writes for a source only what some key allowed to
 * write the source may: *list (NULL: any authority) and *n. 0, or
 * SS_EINVAL with err when no key may write it. */
static int source_rights(const struct ss_allow *allow, const char *source, const char ***list,
                         size_t *n, char *err, size_t errlen)
{
    int found = 0;
    free(*list);
    *list = NULL;
    *n = 0;
    if (!allow)
        return 0;
    for (size_t i = 0; i < allow->n; i++) {
        const struct ss_allow_entry *e = &allow->entries[i];
        if (!ss_allow_source_ok(e, source))
            continue;
        found = 1;
        const char **g = realloc(*list, (*n + e->nauthorities) * sizeof(*g));
        if (!g) {
            snprintf(err, errlen, "out of memory");
            return SS_ENOMEM;
        }
        *list = g;
        for (size_t k = 0; k < e->nauthorities; k++)
            (*list)[(*n)++] = e->authorities[k];
    }
    if (!found) {
        snprintf(err, errlen,
                 "no collector key in the allow file may write source \"%s\": its records are "
                 "not replayed",
                 source);
        return SS_EINVAL;
    }
    return 0;
}

/* A run id for a replay of one source and dataset. */
static void replay_run_id(char *out, size_t len)
{
    uint32_t rnd = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
            rnd ^= (uint32_t)clock();
        close(fd);
    }
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, len, "replay-%s-%08x", stamp, rnd);
}

/* The outstanding records (distinct values) a replay sends, grouped into
 * runs by source, dataset and the as_of of the batch that carried them. */
static const char groups_sql[] =
    "SELECT q.source, q.dataset, coalesce(to_char(h.as_of AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), coalesce(h.as_of_basis, ''), "
    "(array_agg(q.line ORDER BY q.last_seen DESC, q.quarantine_id DESC))[1], "
    "array_to_string(array_agg(q.quarantine_id ORDER BY q.quarantine_id), ','), count(*), "
    "to_json(q.fields)::text FROM ingest.v_quarantine q "
    "LEFT JOIN ingest.batch_history h ON h.batch_id = q.batch_id "
    "WHERE q.state = 'outstanding' AND q.unreplayable IS NULL AND " FILTER_SQL
    " GROUP BY 1, 2, 3, 4, q.fields "
    "ORDER BY 1, 2, 3, 4, max(q.last_seen) DESC, max(q.quarantine_id) DESC LIMIT $5";
enum { G_SOURCE, G_DATASET, G_AS_OF, G_BASIS, G_LINE, G_IDS, G_COUNT, G_FIELDS };

/* Whether groups i and j belong to one run. */
static int same_run(const PGresult *g, int i, int j)
{
    for (int c = G_SOURCE; c <= G_BASIS; c++)
        if (strcmp(PQgetvalue(g, i, c), PQgetvalue(g, j, c)) != 0)
            return 0;
    return 1;
}

/* What one replay batch is being built from. */
struct replay_batch {
    struct ss_header h;
    struct ss_buf payload;
    const struct ss_dataset *ds;
    const char **vals;
    size_t *lens;
};

/* Adds group i's record to the batch: 0, 1 when its fields do not fit the
 * dataset any more (left out), or SS_E2BIG when the payload is full. */
static int add_group(struct replay *r, struct replay_batch *b, const PGresult *g, int i)
{
    json_error_t jerr;
    json_t *a = json_loads(PQgetvalue(g, i, G_FIELDS), 0, &jerr);
    size_t n = json_array_size(a), nf = b->ds->nfields;
    int rc = 1;
    if (a && n <= nf && n >= ss_dataset_min_fields(b->ds)) {
        for (size_t k = 0; k < nf; k++) {
            json_t *v = k < n ? json_array_get(a, k) : NULL;
            b->vals[k] = json_string_value(v);
            b->lens[k] = json_string_length(v);
        }
        uint32_t line = (uint32_t)strtoul(PQgetvalue(g, i, G_LINE), NULL, 10);
        rc = ss_payload_add(&b->payload, line, 0, nf, b->vals, b->lens);
    }
    json_decref(a);
    if (rc != 0)
        return rc;
    ss_buf_printf(&r->ids, "%s%s", b->h.records ? "," : "", PQgetvalue(g, i, G_IDS));
    r->nrows += strtol(PQgetvalue(g, i, G_COUNT), NULL, 10);
    b->h.records++;
    return 0;
}

/* Sends the batch built so far through the daemon's apply. 0, or a
 * negative code with err. */
static int send_batch(struct ss_wh *wh, struct replay *r, struct replay_batch *b,
                      const struct ss_wh_limits *limits, char *err, size_t errlen)
{
    struct ss_wh_outcome out;
    const struct ss_wh_hooks hooks = {replay_before, replay_after, r};
    if (ss_buf_addc(&r->ids, '}') < 0) {
        snprintf(err, errlen, "the batch's ids are over their limit");
        return SS_E2BIG;
    }
    r->dry_done = 0;
    int rc = ss_wh_apply_hooked(wh, &b->h, b->payload.data, b->payload.len, limits, &hooks, &out);
    if ((rc == 0 && out.result == SS_WH_APPLIED) || (rc < 0 && r->dry_done)) {
        fold_pending(r);
        rc = 0;
    } else if (rc == 0) {
        snprintf(err, errlen, "replay batch %s/%s/%u was taken for a duplicate: nothing loaded",
                 b->h.source, b->h.run_id, b->h.seq);
        rc = SS_EINVAL;
    } else {
        snprintf(err, errlen, "replay batch %s/%s/%u (%s): %s", b->h.source, b->h.run_id, b->h.seq,
                 b->h.dataset, out.reason);
    }
    PQclear(r->pending);
    r->pending = NULL;
    ss_buf_reset(&b->payload);
    ss_buf_reset(&r->ids);
    ss_buf_addc(&r->ids, '{');
    r->nrows = 0;
    b->h.records = 0;
    b->h.seq++;
    return rc;
}

/* Starts the run of groups from row i: its header and its rights. */
static int start_run(struct replay *r, struct replay_batch *b, const PGresult *g, int i,
                     const struct ss_daemon_config *cfg, const struct ss_allow *allow,
                     struct ss_wh_limits *limits, const char ***rights, char *err, size_t errlen)
{
    const char *source = PQgetvalue(g, i, G_SOURCE), *dataset = PQgetvalue(g, i, G_DATASET);
    if (!(b->ds = ss_dataset_find(dataset))) {
        snprintf(err, errlen, "source \"%s\": unknown dataset \"%s\"", source, dataset);
        return SS_EINVAL;
    }
    memset(&b->h, 0, sizeof(b->h));
    b->h.type = SS_MSG_BATCH;
    b->h.seq = 1;
    b->h.fields = (uint32_t)b->ds->nfields;
    snprintf(b->h.source, sizeof(b->h.source), "%s", source);
    snprintf(b->h.dataset, sizeof(b->h.dataset), "%s", dataset);
    snprintf(b->h.as_of, sizeof(b->h.as_of), "%s", PQgetvalue(g, i, G_AS_OF));
    snprintf(b->h.as_of_basis, sizeof(b->h.as_of_basis), "%s", PQgetvalue(g, i, G_BASIS));
    replay_run_id(b->h.run_id, sizeof(b->h.run_id));
    r->dataset = b->ds->name;
    ss_wh_limits_init(limits, cfg, source);
    int rc = source_rights(allow, source, rights, &limits->nauthorities, err, errlen);
    limits->authorities = *rights;
    return rc;
}

/* Sends every group, in runs and batches of at most limits' records. */
static int replay_groups(struct ss_wh *wh, struct replay *r, const PGresult *g,
                         const struct ss_daemon_config *cfg, const struct ss_allow *allow,
                         long *left_out, char *err, size_t errlen)
{
    struct replay_batch b = {0};
    struct ss_wh_limits limits;
    const char **rights = NULL;
    int rc = 0, n = PQntuples(g);
    size_t maxf = 1;
    for (const struct ss_dataset *const *d = ss_dataset_all(); *d; d++)
        maxf = (*d)->nfields > maxf ? (*d)->nfields : maxf;
    b.vals = calloc(maxf, sizeof(*b.vals));
    b.lens = calloc(maxf, sizeof(*b.lens));
    ss_buf_init(&b.payload, SS_QUAR_PAYLOAD_MAX);
    if (!b.vals || !b.lens) {
        snprintf(err, errlen, "out of memory");
        rc = SS_ENOMEM;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        if ((i == 0 || !same_run(g, i - 1, i)) &&
            (rc = start_run(r, &b, g, i, cfg, allow, &limits, &rights, err, errlen)) < 0)
            break;
        rc = add_group(r, &b, g, i);
        if (rc == SS_E2BIG && b.h.records &&
            (rc = send_batch(wh, r, &b, &limits, err, errlen)) == 0)
            rc = add_group(r, &b, g, i);
        if (rc == 1) {
            *left_out += strtol(PQgetvalue(g, i, G_COUNT), NULL, 10);
            rc = 0;
        } else if (rc < 0) {
            snprintf(err, errlen, "line %s of source \"%s\": cannot add it to a batch: %s",
                     PQgetvalue(g, i, G_LINE), b.h.source, ss_strerror(rc));
            break;
        }
        b.h.last = i + 1 == n || !same_run(g, i, i + 1);
        if (b.h.records && (b.h.last || b.h.records >= limits.max_records))
            rc = send_batch(wh, r, &b, &limits, err, errlen);
    }
    ss_buf_free(&b.payload);
    free(b.vals);
    free(b.lens);
    free(rights);
    return rc;
}

/* The outstanding records of the filter a replay cannot send, and why. */
static int print_unreplayable(PGconn *conn, const char *const p[4], FILE *out, char *err,
                              size_t errlen)
{
    PGresult *res;
    int rc = ss_pg_query(conn,
                         "SELECT q.unreplayable, count(*) FROM ingest.v_quarantine q WHERE "
                         "q.state = 'outstanding' AND q.unreplayable IS NOT NULL AND " FILTER_SQL
                         " GROUP BY 1 ORDER BY 2 DESC, 1",
                         4, p, &res, err, errlen);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PQntuples(res); i++)
        fprintf(out, "not replayed: %s outstanding: %s\n", PQgetvalue(res, i, 1),
                unreplayable_text(PQgetvalue(res, i, 0)));
    PQclear(res);
    return 0;
}

static void print_summary(const struct replay *r, long left_out, FILE *out)
{
    fprintf(out, "%sreplayed %ld: %ld loaded, %ld still quarantined%s\n",
            r->dry_run ? "dry run (nothing changed): " : "", r->rows, r->loaded,
            r->rows - r->loaded, r->rows > r->loaded ? ":" : "");
    for (size_t i = 0; i < r->nreasons; i++)
        fprintf(out, "  %6ld  %s\n", r->reasons[i].n, r->reasons[i].reason);
    if (r->other_reasons)
        fprintf(out, "  %6ld  (other reasons)\n", r->other_reasons);
    if (left_out)
        fprintf(out,
                "not replayed: %ld outstanding: their fields no longer fit the dataset's "
                "definition\n",
                left_out);
}

int ss_quarantine_replay(struct ss_wh *wh, const struct ss_daemon_config *cfg,
                         const struct ss_quar_filter *f, int dry_run, FILE *out, char *err,
                         size_t errlen)
{
    struct replay r = {.dry_run = dry_run};
    struct ss_allow *allow = NULL;
    PGconn *conn = ss_wh_conn(wh);
    PGresult *g = NULL;
    const char *p[4];
    char msg[1024];
    long left_out = 0;
    int rc;

    filter_params(f, p);
    ss_buf_init(&r.ids, (size_t)64 << 20);
    ss_buf_addc(&r.ids, '{');
    if (cfg->curve_allow_file &&
        (rc = ss_allow_load(cfg->curve_allow_file, &allow, err, errlen)) < 0)
        goto out;
    char max[24];
    snprintf(max, sizeof(max), "%ld", SS_QUAR_REPLAY_MAX);
    const char *gp[] = {p[0], p[1], p[2], p[3], max};
    if ((rc = ss_pg_query(conn, groups_sql, 5, gp, &g, msg, sizeof(msg))) < 0) {
        snprintf(err, errlen,
                 "cannot read the quarantine: %s (is the warehouse migrated? shelfsync migrate)",
                 msg);
        goto out;
    }
    if (PQntuples(g) == SS_QUAR_REPLAY_MAX)
        fprintf(out, "more than %ld distinct records: replaying the first %ld; run it again\n",
                SS_QUAR_REPLAY_MAX, SS_QUAR_REPLAY_MAX);
    rc = replay_groups(wh, &r, g, cfg, allow, &left_out, err, errlen);
    if (PQntuples(g) == 0)
        fprintf(out, "nothing to replay: no outstanding quarantined record that can be replayed "
                     "matches\n");
    else
        print_summary(&r, left_out, out);
    if (rc == 0)
        rc = print_unreplayable(conn, p, out, err, errlen);
out:
    PQclear(g);
    ss_allow_free(allow);
    ss_buf_free(&r.ids);
    for (size_t i = 0; i < r.nreasons; i++)
        free(r.reasons[i].reason);
    return rc;
}
