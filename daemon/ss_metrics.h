/* ss_metrics: what the daemon counts, and its health, for /metrics and
 * /health (ss_httpd).
 *
 * The main loop records events (a batch received, applied, refused; a
 * message dropped; the loop coming round; a batch started and finished);
 * the HTTP thread renders them in the Prometheus text exposition format
 * 0.0.4, or judges health. Counters live under one mutex, taken briefly by
 * either side (the main loop takes it a few times per batch, never while
 * it waits on PostgreSQL); the liveness marks are atomics, so /health can
 * tell a main loop stuck inside a batch.
 *
 * Label cardinality is bounded: at most max_series (source, dataset)
 * pairs get series of their own; batches of any further pair are counted
 * in the series source="_other", dataset="_other", and
 * shelfsync_metrics_series_overflow_total counts them.
 */
#ifndef SS_METRICS_H
#define SS_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_proto.h"

/* Why a message was dropped without a reply (the label "reason"). */
enum ss_drop_reason {
    SS_DROP_TOO_LARGE,  /* over limits.max_frames or limits.max_message_bytes */
    SS_DROP_TOO_SHORT,  /* fewer than two frames */
    SS_DROP_MALFORMED,  /* a header that does not decode */
    SS_DROP_UNEXPECTED, /* a type a collector does not send, or a run in protocol 1 */
    SS_DROP_NREASONS
};
const char *ss_drop_reason_name(enum ss_drop_reason r);

enum ss_batch_event {
    SS_BATCH_RECEIVED,
    SS_BATCH_APPLIED,
    SS_BATCH_DUPLICATE,
    SS_BATCH_REFUSED,
};

#define SS_METRICS_BUCKETS 12

struct ss_metrics_series {
    char source[SS_PROTO_NAME_MAX + 1];
    char dataset[SS_PROTO_NAME_MAX + 1];
    unsigned long long batches[4]; /* by enum ss_batch_event */
    unsigned long long records_received, records_applied, records_quarantined;
    double last_batch; /* Unix time of the last batch received */
};

struct ss_metrics {
    pthread_mutex_t lock;
    struct ss_metrics_series *series; /* max_series entries, then the overflow one */
    size_t nseries, max_series;
    unsigned long long overflow;
    unsigned long long messages, pings, refused_protocol, retries;
    unsigned long long dropped[SS_DROP_NREASONS];
    unsigned long long hist[SS_METRICS_BUCKETS + 1], hist_count;
    double hist_sum;
    double start_time;
    char busy_what[160]; /* the message being applied, for /health */

    /* Liveness, written by the main loop without the lock. */
    atomic_int pg_connected;
    atomic_int held;            /* a message is read and not yet answered */
    atomic_int pending;         /* ZMQ_EVENTS said more messages are waiting */
    atomic_llong beat_ms;       /* ss_now_ms() when the main loop last came round */
    atomic_llong busy_since_ms; /* when the message being applied was read; 0 none */
    atomic_long max_batch_wait_s, loop_stall_s; /* health bounds (config) */
};

/* 0, or SS_ENOMEM. */
int ss_metrics_init(struct ss_metrics *m, size_t max_series);
void ss_metrics_free(struct ss_metrics *m);

/* A batch event for (source, dataset); records: the batch's record count
 * (RECEIVED) or the records loaded (APPLIED), quarantined: APPLIED only. */
void ss_metrics_batch(struct ss_metrics *m, const char *source, const char *dataset,
                      enum ss_batch_event ev, unsigned long records, unsigned long quarantined);
void ss_metrics_drop(struct ss_metrics *m, enum ss_drop_reason r);
/* A message was read (any kind); ping, refused_protocol: what it was. */
void ss_metrics_message(struct ss_metrics *m, int ping, int refused_protocol);
/* One more try at a batch the database could not take yet. */
void ss_metrics_retry(struct ss_metrics *m);
/* The time from reading a batch to its answer, in seconds. */
void ss_metrics_latency(struct ss_metrics *m, double seconds);

/* The main loop came round (or waits, alive, for PostgreSQL). */
void ss_metrics_beat(struct ss_metrics *m);
/* A message is being applied (what: "batch SOURCE/RUN/SEQ"), or no longer. */
void ss_metrics_busy(struct ss_metrics *m, const char *what);
void ss_metrics_idle(struct ss_metrics *m);

/* The exposition (format 0.0.4) into out. 0, or -E2BIG. */
int ss_metrics_render(struct ss_metrics *m, struct ss_buf *out);
/* "ok\n", or the reasons, one a line. Returns 1 healthy, 0 not. */
int ss_metrics_health(struct ss_metrics *m, struct ss_buf *out);

#endif
