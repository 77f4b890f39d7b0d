/* ss_metrics: see ss_metrics.h. */
#include "ss_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_err.h"
#include "ss_time.h"

static const char *const drop_names[SS_DROP_NREASONS] = {
    [SS_DROP_TOO_LARGE] = "too_large",
    [SS_DROP_TOO_SHORT] = "too_short",
    [SS_DROP_MALFORMED] = "malformed",
    [SS_DROP_UNEXPECTED] = "unexpected_type",
};

/* Upper bounds of the apply latency buckets, seconds (then +Inf). */
static const double buckets[SS_METRICS_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,   1,    2.5,   5,    10,  60};

const char *ss_drop_reason_name(enum ss_drop_reason r)
{
    return (unsigned)r < SS_DROP_NREASONS ? drop_names[r] : "other";
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ss_metrics_init(struct ss_metrics *m, size_t max_series)
{
    memset(m, 0, sizeof(*m));
    m->series = calloc(max_series + 1, sizeof(*m->series));
    if (!m->series)
        return SS_ENOMEM;
    m->max_series = max_series;
    strcpy(m->series[max_series].source, "_other");
    strcpy(m->series[max_series].dataset, "_other");
    pthread_mutex_init(&m->lock, NULL);
    m->start_time = unix_now();
    atomic_init(&m->beat_ms, ss_now_ms());
    atomic_init(&m->max_batch_wait_s, 300);
    atomic_init(&m->loop_stall_s, 60);
    return 0;
}

void ss_metrics_free(struct ss_metrics *m)
{
    if (!m->series)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->series);
    m->series = NULL;
}

/* The series for (source, dataset), created while there is room, else the
 * overflow one. Under the lock. */
static struct ss_metrics_series *series_for(struct ss_metrics *m, const char *source,
                                            const char *dataset, int create)
{
    for (size_t i = 0; i < m->nseries; i++)
        if (strcmp(m->series[i].source, source) == 0 && strcmp(m->series[i].dataset, dataset) == 0)
            return &m->series[i];
    if (create && m->nseries < m->max_series) {
        struct ss_metrics_series *s = &m->series[m->nseries++];
        snprintf(s->source, sizeof(s->source), "%s", source);
        snprintf(s->dataset, sizeof(s->dataset), "%s", dataset);
        return s;
    }
    return &m->series[m->max_series];
}

void ss_metrics_batch(struct ss_metrics *m, const char *source, const char *dataset,
                      enum ss_batch_event ev, unsigned long records, unsigned long quarantined)
{
    pthread_mutex_lock(&m->lock);
    struct ss_metrics_series *s = series_for(m, source, dataset, ev == SS_BATCH_RECEIVED);
    if (s == &m->series[m->max_series] && ev == SS_BATCH_RECEIVED)
        m->overflow++;
    s->batches[ev]++;
    if (ev == SS_BATCH_RECEIVED) {
        s->records_received += records;
        s->last_batch = unix_now();
    } else if (ev == SS_BATCH_APPLIED) {
        s->records_applied += records;
        s->records_quarantined += quarantined;
    }
    pthread_mutex_unlock(&m->lock);
}

void ss_metrics_drop(struct ss_metrics *m, enum ss_drop_reason r)
{
    pthread_mutex_lock(&m->lock);
    if ((unsigned)r < SS_DROP_NREASONS)
        m->dropped[r]++;
    pthread_mutex_unlock(&m->lock);
}

void ss_metrics_message(struct ss_metrics *m, int ping, int refused_protocol)
{
    pthread_mutex_lock(&m->lock);
    m->messages++;
    m->pings += ping != 0;
    m->refused_protocol += refused_protocol != 0;
    pthread_mutex_unlock(&m->lock);
}

void ss_metrics_retry(struct ss_metrics *m)
{
    pthread_mutex_lock(&m->lock);
    m->retries++;
    pthread_mutex_unlock(&m->lock);
}

void ss_metrics_latency(struct ss_metrics *m, double seconds)
{
    pthread_mutex_lock(&m->lock);
    size_t i = 0;
    while (i < SS_METRICS_BUCKETS && seconds > buckets[i])
        i++;
    m->hist[i]++;
    m->hist_count++;
    m->hist_sum += seconds;
    pthread_mutex_unlock(&m->lock);
}

void ss_metrics_beat(struct ss_metrics *m)
{
    atomic_store(&m->beat_ms, ss_now_ms());
}

void ss_metrics_busy(struct ss_metrics *m, const char *what)
{
    pthread_mutex_lock(&m->lock);
    snprintf(m->busy_what, sizeof(m->busy_what), "%s", what);
    pthread_mutex_unlock(&m->lock);
    atomic_store(&m->held, 1);
    atomic_store(&m->busy_since_ms, ss_now_ms());
}

void ss_metrics_idle(struct ss_metrics *m)
{
    atomic_store(&m->busy_since_ms, 0);
    atomic_store(&m->held, 0);
}

/* A label value: \, " and newline escaped (format 0.0.4). */
static int add_label(struct ss_buf *out, const char *v)
{
    int rc = 0;
    for (; *v && rc >= 0; v++) {
        if (*v == '\\' || *v == '"')
            rc = ss_buf_printf(out, "\\%c", *v);
        else if (*v == '\n')
            rc = ss_buf_adds(out, "\\n");
        else
            rc = ss_buf_addc(out, *v);
    }
    return rc;
}

static int family(struct ss_buf *out, const char *name, const char *type, const char *help)
{
    return ss_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

enum series_value { V_BATCHES, V_REC_RECEIVED, V_REC_APPLIED, V_REC_QUARANTINED, V_LAST };

/* One family with a sample per (source, dataset) series. Under the lock. */
static int per_series(struct ss_metrics *m, struct ss_buf *out, const char *name, const char *type,
                      const char *help, enum series_value v, int ev)
{
    int rc = family(out, name, type, help);
    for (size_t i = 0; i <= m->max_series && rc >= 0; i++) {
        if (i == m->nseries)
            i = m->max_series; /* skip the unused entries */
        const struct ss_metrics_series *s = &m->series[i];
        if (i == m->max_series && !m->overflow)
            break;
        if (v == V_LAST && s->last_batch == 0)
            continue;
        rc = ss_buf_printf(out, "%s{source=\"", name);
        if (rc >= 0)
            rc = add_label(out, s->source);
        if (rc >= 0)
            rc = ss_buf_adds(out, "\",dataset=\"");
        if (rc >= 0)
            rc = add_label(out, s->dataset);
        if (rc < 0)
            break;
        switch (v) {
        case V_BATCHES:
            rc = ss_buf_printf(out, "\"} %llu\n", s->batches[ev]);
            break;
        case V_REC_RECEIVED:
            rc = ss_buf_printf(out, "\"} %llu\n", s->records_received);
            break;
        case V_REC_APPLIED:
            rc = ss_buf_printf(out, "\"} %llu\n", s->records_applied);
            break;
        case V_REC_QUARANTINED:
            rc = ss_buf_printf(out, "\"} %llu\n", s->records_quarantined);
            break;
        case V_LAST:
            rc = ss_buf_printf(out, "\"} %.3f\n", s->last_batch);
            break;
        }
    }
    return rc;
}

/* The families without labels per series. Under the lock. */
static int render_global(struct ss_metrics *m, struct ss_buf *out)
{
    int64_t now = ss_now_ms(), busy = atomic_load(&m->busy_since_ms);
    int rc = family(out, "shelfsync_build_info", "gauge", "The daemon's version and protocol.");
    rc = rc < 0 ? rc
                : ss_buf_printf(out, "shelfsync_build_info{version=\"%s\",protocol=\"%s\"} 1\n",
                                SS_VERSION, SS_PROTO_ID);
    rc = rc < 0 ? rc
                : family(out, "shelfsync_start_time_seconds", "gauge",
                         "When the daemon started, Unix time.");
    rc = rc < 0 ? rc : ss_buf_printf(out, "shelfsync_start_time_seconds %.3f\n", m->start_time);
    rc = rc < 0 ? rc
                : family(out, "shelfsync_messages_received_total", "counter",
                         "Messages read from collectors, of any kind.");
    rc = rc < 0 ? rc : ss_buf_printf(out, "shelfsync_messages_received_total %llu\n", m->messages);
    rc = rc < 0 ? rc : family(out, "shelfsync_pings_total", "counter", "Pings answered.");
    rc = rc < 0 ? rc : ss_buf_printf(out, "shelfsync_pings_total %llu\n", m->pings);
    rc = rc < 0 ? rc
                : family(out, "shelfsync_messages_refused_protocol_total", "counter",
                         "Messages refused for a protocol version the daemon does not speak.");
    rc = rc < 0 ? rc
                : ss_buf_printf(out, "shelfsync_messages_refused_protocol_total %llu\n",
                                m->refused_protocol);
    rc = rc < 0 ? rc
                : family(out, "shelfsync_messages_dropped_total", "counter",
                         "Messages dropped without a reply, by reason.");
    for (int r = 0; r < SS_DROP_NREASONS && rc >= 0; r++)
        rc = ss_buf_printf(out, "shelfsync_messages_dropped_total{reason=\"%s\"} %llu\n",
                           drop_names[r], m->dropped[r]);
    rc = rc < 0 ? rc
                : family(out, "shelfsync_batch_retries_total", "counter",
                         "Tries at a batch or run record the database could not take yet.");
    rc = rc < 0 ? rc : ss_buf_printf(out, "shelfsync_batch_retries_total %llu\n", m->retries);
    rc = rc < 0 ? rc
                : family(out, "shelfsync_metrics_series_overflow_total", "counter",
                         "Batches counted in the _other series: too many (source, dataset) pairs.");
    rc = rc < 0 ? rc
                : ss_buf_printf(out, "shelfsync_metrics_series_overflow_total %llu\n", m->overflow);
    rc = rc < 0 ? rc
                : family(out, "shelfsync_postgresql_connected", "gauge",
                         "1 while the daemon holds a working PostgreSQL connection.");
    rc = rc < 0 ? rc
                : ss_buf_printf(out, "shelfsync_postgresql_connected %d\n",
                                atomic_load(&m->pg_connected));
    rc = rc < 0 ? rc
                : family(out, "shelfsync_queue_held_messages", "gauge",
                         "Messages read and not yet answered (being applied or retried).");
    rc = rc < 0 ? rc
                : ss_buf_printf(out, "shelfsync_queue_held_messages %d\n", atomic_load(&m->held));
    rc = rc < 0 ? rc
                : family(out, "shelfsync_queue_pending", "gauge",
                         "1 when more messages were waiting in the socket at the last look.");
    rc = rc < 0 ? rc : ss_buf_printf(out, "shelfsync_queue_pending %d\n", atomic_load(&m->pending));
    rc = rc < 0 ? rc
                : family(out, "shelfsync_batch_waiting_seconds", "gauge",
                         "How long the message being applied has waited; 0 when none.");
    rc = rc < 0 ? rc
                : ss_buf_printf(out, "shelfsync_batch_waiting_seconds %.3f\n",
                                busy ? (double)(now - busy) / 1000.0 : 0.0);
    rc = rc < 0 ? rc
                : family(out, "shelfsync_main_loop_idle_seconds", "gauge",
                         "Seconds since the main loop last came round.");
    rc = rc < 0 ? rc
                : ss_buf_printf(out, "shelfsync_main_loop_idle_seconds %.3f\n",
                                (double)(now - atomic_load(&m->beat_ms)) / 1000.0);
    return rc;
}

/* The apply latency histogram. Under the lock. */
static int render_histogram(struct ss_metrics *m, struct ss_buf *out)
{
    const char *n = "shelfsync_apply_duration_seconds";
    unsigned long long cum = 0;
    int rc = family(out, n, "histogram",
                    "Time from reading a batch to answering it (apply, retries included).");
    for (int i = 0; i < SS_METRICS_BUCKETS && rc >= 0; i++) {
        cum += m->hist[i];
        rc = ss_buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", n, buckets[i], cum);
    }
    rc = rc < 0 ? rc : ss_buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", n, m->hist_count);
    rc = rc < 0
             ? rc
             : ss_buf_printf(out, "%s_sum %.6f\n%s_count %llu\n", n, m->hist_sum, n, m->hist_count);
    return rc;
}

int ss_metrics_render(struct ss_metrics *m, struct ss_buf *out)
{
    pthread_mutex_lock(&m->lock);
    int rc = render_global(m, out);
    rc = rc < 0 ? rc : render_histogram(m, out);
    static const struct {
        const char *name, *type, *help;
        enum series_value v;
        int ev;
    } fams[] = {
        {"shelfsync_batches_received_total", "counter", "Batches received.", V_BATCHES,
         SS_BATCH_RECEIVED},
        {"shelfsync_batches_applied_total", "counter", "Batches applied (committed, acked).",
         V_BATCHES, SS_BATCH_APPLIED},
        {"shelfsync_batches_duplicate_total", "counter",
         "Batches acked as duplicates of one already applied.", V_BATCHES, SS_BATCH_DUPLICATE},
        {"shelfsync_batches_refused_total", "counter", "Batches refused (nothing of them loaded).",
         V_BATCHES, SS_BATCH_REFUSED},
        {"shelfsync_records_received_total", "counter", "Records in the batches received.",
         V_REC_RECEIVED, 0},
        {"shelfsync_records_applied_total", "counter", "Records loaded.", V_REC_APPLIED, 0},
        {"shelfsync_records_quarantined_total", "counter",
         "Records quarantined (with their reason, in ingest.quarantine).", V_REC_QUARANTINED, 0},
        {"shelfsync_last_batch_timestamp_seconds", "gauge",
         "When the last batch of this source and dataset arrived, Unix time.", V_LAST, 0},
    };
    for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]) && rc >= 0; i++)
        rc = per_series(m, out, fams[i].name, fams[i].type, fams[i].help, fams[i].v, fams[i].ev);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int ss_metrics_health(struct ss_metrics *m, struct ss_buf *out)
{
    int64_t now = ss_now_ms(), busy = atomic_load(&m->busy_since_ms);
    int64_t idle = now - atomic_load(&m->beat_ms);
    long wait_max = atomic_load(&m->max_batch_wait_s), stall = atomic_load(&m->loop_stall_s);
    int bad = 0;
    if (!atomic_load(&m->pg_connected)) {
        ss_buf_adds(out, "PostgreSQL unreachable\n");
        bad = 1;
    }
    if (busy && now - busy > wait_max * 1000) {
        pthread_mutex_lock(&m->lock);
        ss_buf_printf(out, "%s waiting for %.1f s (bound %ld s)\n", m->busy_what,
                      (double)(now - busy) / 1000.0, wait_max);
        pthread_mutex_unlock(&m->lock);
        bad = 1;
    }
    if (idle > stall * 1000) {
        ss_buf_printf(out, "main loop stuck for %.1f s (watchdog bound %ld s)\n",
                      (double)idle / 1000.0, stall);
        bad = 1;
    }
    if (!bad)
        ss_buf_adds(out, "ok\n");
    return !bad;
}
