/* shelfsyncd: receives batches from collectors over ZeroMQ, applies each
 * exactly once to the PostgreSQL warehouse, then acks.
 *
 * One thread, one ROUTER socket, one database connection. A message is read
 * whole (bounded in frames and bytes), checked, applied in one transaction
 * (ss_warehouse) and only then acked. While the database is unreachable the
 * daemon holds the message it has, stops reading new ones, and reconnects
 * with back-off; collectors keep their batches until acked, so nothing is
 * lost and a batch seen twice is acked as a duplicate.
 *
 * With "curve" configured the ROUTER is a CURVE server and every handshake
 * is put to the ZAP handler (ss_zap, its own thread); ZMQ_ZAP_ENFORCE_DOMAIN
 * makes libzmq refuse handshakes if the handler is ever missing: fail
 * closed. The main loop reads each message's User-Id and checks the batch's
 * source and every record's authority against that key's rights. SIGHUP
 * reads and checks the whole config again and applies what can change live
 * (reload_config; the allow file is swapped under the handler's lock).
 *
 * Metrics and /health are served by ss_httpd in a thread of its own from
 * ss_metrics, which the main loop feeds (counters under a short lock,
 * liveness as atomics). Log lines a peer controls go through a rate limit
 * (d->peerlog).
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "ss_allow.h"
#include "ss_buf.h"
#include "ss_config.h"
#include "ss_err.h"
#include "ss_httpd.h"
#include "ss_log.h"
#include "ss_metrics.h"
#include "ss_migrate.h"
#include "ss_notify.h"
#include "ss_partstats.h"
#include "ss_pg.h"
#include "ss_proto.h"
#include "ss_secret.h"
#include "ss_signal.h"
#include "ss_time.h"
#include "ss_warehouse.h"
#include "ss_zap.h"

#define SS_ROUTING_ID_MAX 256
#define SS_USER_ID_MAX 64
/* A draft option in zmq.h 4.3 (hidden without ZMQ_BUILD_DRAFT_API) that the
 * library has implemented since 4.2.3: without a ZAP handler, refuse
 * handshakes instead of letting every key in. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/* How long systemd is asked to wait, from SIGTERM, for the batch being
 * applied to finish (the unit's TimeoutStopSec covers the rest). */
#define SS_STOP_EXTEND_USEC "300000000"

/* The key=value tail of a batch's and a run's log lines (names in the
 * protocol are plain tokens: A-Z a-z 0-9 . _ : -). */
#define KV_BATCH " source=%s run=%s seq=%u dataset=%s"
#define KV_BATCH_ARGS(h) (h)->source, (h)->run_id, (h)->seq, (h)->dataset
#define KV_RUN " source=%s run=%s dataset=%s"
#define KV_RUN_ARGS(h) (h)->source, (h)->run_id, (h)->dataset

/* Messages libzmq queues per connection before it stops reading that peer
 * (the default is 1,000). One message is applied at a time, so a deep
 * queue only parks memory in the daemon: with 150 collectors each keeping
 * four batches in flight, a queue of 128 held 436 MiB (and one of 1, 93
 * MiB). Two, not one: with one, a CURVE peer's first batch was never
 * delivered (integration_curve). The rest wait in the peers' TCP buffers. */
#define SS_RCVHWM 2

static volatile int stop_requested;
static volatile int reload_requested;

struct counters {
    unsigned long messages, batches, applied, duplicates, refused, dropped, pings, runs;
    unsigned long forbidden; /* batches refused by the allow-list (source or authority) */
    unsigned long long accepted, quarantined;
};

struct daemon {
    struct ss_daemon_config cfg;
    void *zctx;
    void *router;
    struct ss_wh *wh;
    struct ss_backoff backoff;
    struct counters n;
    /* The message being handled: frames after the routing id. */
    zmq_msg_t frames[64];
    size_t nframes;
    unsigned char rid[SS_ROUTING_ID_MAX];
    size_t rid_len;
    struct ss_buf hdrbuf;
    int curve; /* CURVE server with ZAP and allow-list */
    struct ss_zap zap;
    char user[SS_USER_ID_MAX + 1]; /* User-Id of the message being handled ("" without CURVE) */
    int peer_version;              /* protocol version of the message being handled */
    unsigned long status_messages; /* d->n.messages when STATUS= was last sent */
    const char *config_path;       /* read again on SIGHUP */
    const char *cli_level;         /* --log-level, which a reload does not override */
    struct ss_metrics m;           /* counters and liveness for /metrics and /health */
    struct ss_httpd *httpd;        /* NULL: "metrics.listen" is "off" or could not bind */
    struct ss_log_limit peerlog;   /* lines a peer can cause at will */
    int64_t probe_ms;              /* when the idle loop last checked PostgreSQL */
    int64_t big_ms;                /* when a large message was last freed (malloc_trim) */
    struct ss_partstats ps;        /* rows written to the partitioned tables since their ANALYZE */
    struct ss_wh *stats_wh;        /* its own connection, for that ANALYZE (run meanwhile) */
};

/* The main loop is alive: the systemd watchdog and /health are told. */
static void alive(struct daemon *d)
{
    ss_notify_watchdog();
    ss_metrics_beat(&d->m);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: shelfsyncd --config FILE [--log-level LEVEL]\n"
               "       shelfsyncd --version\n"
               "Receives batches from shelfsync-collect over ZeroMQ and writes them to the\n"
               "PostgreSQL warehouse. See docs/protocol.md and config/shelfsyncd.json.\n");
}

static void close_frames(struct daemon *d)
{
    for (size_t i = 0; i < d->nframes; i++)
        zmq_msg_close(&d->frames[i]);
    d->nframes = 0;
}

/* Reads one whole message. Returns 1 with frames held, 0 if nothing was
 * there or the message was dropped (counted and logged), -errno (from
 * libzmq) on a socket error. Oversized or over-long messages are drained and dropped: libzmq
 * bounds one frame (ZMQ_MAXMSGSIZE), we bound the rest. */
static int read_message(struct daemon *d)
{
    zmq_msg_t part;
    int more;
    size_t total = 0, count = 0;
    int too_many = 0, too_big = 0;
    size_t max_frames = (size_t)d->cfg.max_frames;
    if (max_frames > sizeof(d->frames) / sizeof(d->frames[0]))
        max_frames = sizeof(d->frames) / sizeof(d->frames[0]);

    d->nframes = 0;
    d->rid_len = 0;
    d->user[0] = '\0';
    do {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, d->router, count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            close_frames(d);
            if (e == EAGAIN || e == EINTR)
                return 0;
            ss_error("receive failed: %s", zmq_strerror(e));
            return -e;
        }
        more = zmq_msg_more(&part);
        size_t len = zmq_msg_size(&part);
        total += len;
        if (count <= 1 && !d->user[0]) {
            /* The ZAP handler's user id (the key), carried by every frame. */
            const char *uid = zmq_msg_gets(&part, "User-Id");
            if (uid)
                snprintf(d->user, sizeof(d->user), "%s", uid);
        }
        if (count == 0) {
            /* Routing id, assigned by libzmq: at most 255 bytes. */
            d->rid_len = len < SS_ROUTING_ID_MAX ? len : SS_ROUTING_ID_MAX;
            memcpy(d->rid, zmq_msg_data(&part), d->rid_len);
            zmq_msg_close(&part);
        } else if (too_many || too_big || d->nframes >= max_frames) {
            too_many = too_many || d->nframes >= max_frames;
            zmq_msg_close(&part);
        } else if (total > (size_t)d->cfg.max_message_bytes + 4096) {
            too_big = 1;
            zmq_msg_close(&part);
        } else {
            d->frames[d->nframes++] = part; /* ownership moves */
        }
        count++;
    } while (more);
    d->n.messages++;
    if (total > 1048576)
        d->big_ms = ss_now_ms();
    if (too_many || too_big) {
        d->n.dropped++;
        ss_metrics_message(&d->m, 0, 0);
        ss_metrics_drop(&d->m, SS_DROP_TOO_LARGE);
        ss_log_limited(&d->peerlog, "too large", SS_LOG_WARN,
                       "dropped a message of %zu frames and %zu bytes: over the limit of %ld "
                       "frames / %ld bytes",
                       count - 1, total, d->cfg.max_frames, d->cfg.max_message_bytes);
        close_frames(d);
        return 0;
    }
    return 1;
}

/* Sends h to the peer of the current message, an ack with rj's reject
 * summary when rj is not NULL. 0, a negative code from the encoder, or
 * -errno (from libzmq) when the peer is gone. */
static int send_reply(struct daemon *d, const struct ss_header *h, const struct ss_rejects *rj)
{
    int rc = rj ? ss_proto_encode_ack(h, rj, &d->hdrbuf) : ss_proto_encode_header(h, &d->hdrbuf);
    if (rc < 0)
        return rc;
    /* Answer in the version the peer spoke. */
    const char *id = d->peer_version == 1 ? SS_PROTO_ID_V1 : SS_PROTO_ID;
    if (zmq_send(d->router, d->rid, d->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(d->router, id, strlen(id), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(d->router, d->hdrbuf.data, d->hdrbuf.len, ZMQ_DONTWAIT) < 0) {
        /* EHOSTUNREACH: the collector went away; it will resend and get a duplicate ack. */
        int e = errno;
        ss_info("could not send reply (%s): the collector will resend", zmq_strerror(e));
        return -e;
    }
    return 0;
}

/* An ack naming the message it answers (in), status still to set. */
static void ack_for(struct ss_header *ack, const struct ss_header *in)
{
    memset(ack, 0, sizeof(*ack));
    ack->type = SS_MSG_ACK;
    memcpy(ack->source, in->source, sizeof(ack->source));
    memcpy(ack->run_id, in->run_id, sizeof(ack->run_id));
    ack->seq = in->seq;
}

static void refuse(struct daemon *d, const struct ss_header *in, const char *reason)
{
    struct ss_header ack;
    if (in) {
        ack_for(&ack, in);
    } else {
        memset(&ack, 0, sizeof(ack));
        ack.type = SS_MSG_ACK;
        strcpy(ack.source, "unknown");
        strcpy(ack.run_id, "unknown");
    }
    ack.status = SS_ACK_REFUSED;
    snprintf(ack.reason, sizeof(ack.reason), "%s", reason);
    d->n.refused++;
    if (in && in->type == SS_MSG_BATCH)
        ss_metrics_batch(&d->m, in->source, in->dataset, SS_BATCH_REFUSED, 0, 0);
    send_reply(d, &ack, NULL);
}

static void db_disconnect(struct daemon *d)
{
    ss_wh_free(d->wh);
    d->wh = NULL;
    atomic_store(&d->m.pg_connected, 0);
}

/* Sleeps ms (or until a stop is asked for) in steps short enough to keep
 * the systemd watchdog fed: waiting for PostgreSQL is the daemon doing its
 * job, not the daemon stuck. */
static void wait_alive(struct daemon *d, long ms)
{
    uint64_t wd = ss_notify_watchdog_usec();
    long step = wd ? (long)(wd / 4000) : ms;
    if (step < 10)
        step = 10;
    while (ms > 0 && !stop_requested) {
        long n = ms < step ? ms : step;
        alive(d);
        ss_sleep_ms(n, &stop_requested);
        ms -= n;
    }
    alive(d);
}

/* One try at connecting (and migrating, and preparing). 0, or a negative
 * code with err. */
static int db_try_connect(struct daemon *d, char *err, size_t errlen)
{
    d->wh = ss_wh_connect(d->cfg.db_conninfo, d->cfg.db_password_file, err, errlen);
    if (!d->wh)
        return SS_ERETRY;
    int rc = 0;
    if (d->cfg.migrate_on_start)
        rc = ss_migrate(ss_wh_conn(d->wh), err, errlen);
    if (rc >= 0)
        rc = ss_wh_prepare(d->wh, err, errlen);
    if (rc < 0) {
        db_disconnect(d);
        return rc;
    }
    ss_notice("connected to PostgreSQL (schema version %d)", ss_migrate_applied(ss_wh_conn(d->wh)));
    atomic_store(&d->m.pg_connected, 1);
    ss_backoff_reset(&d->backoff);
    return 0;
}

/* Connects with back-off until it works or a stop is requested. 0, or
 * SS_ESTOPPED. */
static int db_connect(struct daemon *d)
{
    char err[1024];
    while (!stop_requested) {
        if (db_try_connect(d, err, sizeof(err)) == 0)
            return 0;
        long delay = ss_backoff_next(&d->backoff);
        ss_warn("%s; retrying in %ld ms", err, delay);
        ss_notifyf("STATUS=waiting for PostgreSQL: %.400s", err);
        wait_alive(d, delay);
    }
    return SS_ESTOPPED;
}

/* The rights of the key that sent the current message, or NULL with why
 * set. Only the main thread replaces d->zap.allow, so reading it here needs
 * no lock. */
static const struct ss_allow_entry *key_rights(struct daemon *d, const struct ss_header *h,
                                               char *why, size_t whylen)
{
    char rights[256];
    const struct ss_allow_entry *e = d->user[0] ? ss_allow_find(d->zap.allow, d->user) : NULL;
    if (!e) {
        snprintf(why, whylen,
                 "this connection's key %.8s... is not in the allow file (any more): reconnect "
                 "with a listed key",
                 d->user[0] ? d->user : "(none)");
        return NULL;
    }
    if (!ss_allow_source_ok(e, h->source)) {
        ss_allow_describe(e, rights, sizeof(rights));
        snprintf(why, whylen,
                 "source \"%s\" is not one this collector's key may write (%.200s): nothing of "
                 "the %s was loaded",
                 h->source, rights, h->type == SS_MSG_RUN ? "run record" : "batch");
        return NULL;
    }
    return e;
}

/* As key_rights, for a batch: a refusal is sent, logged and counted. */
static const struct ss_allow_entry *batch_rights(struct daemon *d, const struct ss_header *h)
{
    char why[SS_PROTO_REASON_MAX + 1];
    const struct ss_allow_entry *e = key_rights(d, h, why, sizeof(why));
    if (e)
        return e;
    d->n.forbidden++;
    ss_log_limited(&d->peerlog, "outside the key's rights", SS_LOG_WARN,
                   "batch %s/%s/%u from key %.8s... refused: %s" KV_BATCH " event=batch_refused",
                   h->source, h->run_id, h->seq, d->user[0] ? d->user : "(none)", why,
                   KV_BATCH_ARGS(h));
    refuse(d, h, why);
    return NULL;
}

/* Applies the message being handled (a batch with limits, or a run record)
 * until the warehouse gives an answer: while PostgreSQL is away or the
 * error is transient, the message is kept and retried with back-off, and
 * no other message is read. 0 with out filled, or SS_ESTOPPED when stopping. */
static int apply_until_done(struct daemon *d, const struct ss_header *h,
                            const struct ss_wh_limits *limits, struct ss_wh_outcome *out)
{
    for (;;) {
        if (!ss_wh_ok(d->wh)) {
            db_disconnect(d);
            int rc = db_connect(d);
            if (rc < 0)
                return rc;
        }
        int rc = h->type == SS_MSG_RUN ? ss_wh_run(d->wh, h, out)
                                       : ss_wh_apply(d->wh, h, zmq_msg_data(&d->frames[2]),
                                                     zmq_msg_size(&d->frames[2]), limits, out);
        if (rc != SS_ERETRY)
            break;
        ss_metrics_retry(&d->m);
        if (!ss_wh_ok(d->wh))
            atomic_store(&d->m.pg_connected, 0);
        long delay = ss_backoff_next(&d->backoff);
        if (h->type == SS_MSG_RUN)
            ss_warn("%s; run record %s/%s kept, retrying in %ld ms", out->reason, h->source,
                    h->run_id, delay);
        else
            ss_warn("%s; batch %s/%s/%u kept, retrying in %ld ms", out->reason, h->source,
                    h->run_id, h->seq, delay);
        ss_notifyf("STATUS=%s %s/%s kept, retrying: %.300s",
                   h->type == SS_MSG_RUN ? "run record" : "batch", h->source, h->run_id,
                   out->reason);
        wait_alive(d, delay);
        if (stop_requested)
            return SS_ESTOPPED;
    }
    ss_backoff_reset(&d->backoff);
    return 0;
}

/* The partitioned tables' statistics (ss_partstats.h): rows written by an
 * applied batch, and an ANALYZE started on the statistics' own connection
 * (made when first needed) when one is due. */
static void note_stats(struct daemon *d, const char *dataset, unsigned rows)
{
    char err[256];
    if (!d->stats_wh && !(d->stats_wh = ss_wh_connect(d->cfg.db_conninfo, d->cfg.db_password_file,
                                                      err, sizeof(err)))) {
        ss_warn("dataset %s: no connection for its partitioned table's statistics: %s", dataset,
                err);
        return;
    }
    if (ss_partstats_note(&d->ps, ss_wh_conn(d->stats_wh), dataset, rows, err, sizeof(err)) < 0) {
        ss_warn("dataset %s: its partitioned table was not analyzed: %s", dataset, err);
        ss_wh_free(d->stats_wh);
        d->stats_wh = NULL;
    }
}

/* An ANALYZE under way has finished (or failed): its answer taken. */
static void poll_stats(struct daemon *d)
{
    char err[256];
    if (d->stats_wh && ss_partstats_poll(&d->ps, ss_wh_conn(d->stats_wh), err, sizeof(err)) < 0) {
        ss_warn("a partitioned table was not analyzed: %s", err);
        ss_wh_free(d->stats_wh);
        d->stats_wh = NULL;
    }
}

/* The metrics of a batch the warehouse answered, read at t0 (ss_now_ms). */
static void note_batch(struct daemon *d, const struct ss_header *h, const struct ss_wh_outcome *out,
                       int64_t t0)
{
    enum ss_batch_event ev = out->result == SS_WH_APPLIED     ? SS_BATCH_APPLIED
                             : out->result == SS_WH_DUPLICATE ? SS_BATCH_DUPLICATE
                                                              : SS_BATCH_REFUSED;
    ss_metrics_batch(&d->m, h->source, h->dataset, ev, out->accepted, out->quarantined);
    ss_metrics_latency(&d->m, (double)(ss_now_ms() - t0) / 1000.0);
}

static void handle_batch(struct daemon *d, const struct ss_header *h)
{
    int64_t t0 = ss_now_ms();
    struct ss_wh_limits limits;
    struct ss_wh_outcome out;
    struct ss_header ack;

    d->n.batches++;
    ss_metrics_batch(&d->m, h->source, h->dataset, SS_BATCH_RECEIVED, h->records, 0);
    if (d->nframes != 3) {
        /* We know which batch it is, so say why rather than let it be resent for ever. */
        char why[128];
        snprintf(why, sizeof(why), "a batch message has 3 frames after the routing id, not %zu",
                 d->nframes);
        ss_log_limited(&d->peerlog, "refused", SS_LOG_WARN,
                       "batch %s/%s/%u refused: %s" KV_BATCH " event=batch_refused", h->source,
                       h->run_id, h->seq, why, KV_BATCH_ARGS(h));
        refuse(d, h, why);
        return;
    }
    ss_wh_limits_init(&limits, &d->cfg, h->source);
    if (d->curve) {
        const struct ss_allow_entry *e = batch_rights(d, h);
        if (!e)
            return;
        limits.authorities = (const char *const *)e->authorities;
        limits.nauthorities = e->nauthorities;
    }
    if (apply_until_done(d, h, &limits, &out) < 0)
        return; /* stopping: no ack, the collector resends */

    ack_for(&ack, h);
    ack.accepted = out.accepted;
    ack.quarantined = out.quarantined;
    switch (out.result) {
    case SS_WH_APPLIED:
        ack.status = SS_ACK_APPLIED;
        d->n.applied++;
        d->n.accepted += out.accepted;
        d->n.quarantined += out.quarantined;
        ss_info("batch %s/%s/%u (%s): %u records, %u loaded, %u quarantined" KV_BATCH
                " event=batch_applied records=%u loaded=%u quarantined=%u direct=%u ms=%lld",
                h->source, h->run_id, h->seq, h->dataset, h->records, out.accepted, out.quarantined,
                KV_BATCH_ARGS(h), h->records, out.accepted, out.quarantined, out.direct,
                (long long)(ss_now_ms() - t0));
        break;
    case SS_WH_DUPLICATE:
        ack.status = SS_ACK_DUPLICATE;
        d->n.duplicates++;
        ss_info("batch %s/%s/%u: duplicate, applied before" KV_BATCH " event=batch_duplicate",
                h->source, h->run_id, h->seq, KV_BATCH_ARGS(h));
        break;
    default:
        ack.status = SS_ACK_REFUSED;
        snprintf(ack.reason, sizeof(ack.reason), "%s", out.reason);
        d->n.refused++;
        if (out.forbidden) {
            d->n.forbidden++;
            ss_log_limited(&d->peerlog, "outside the key's rights", SS_LOG_WARN,
                           "batch %s/%s/%u from key %.8s... refused: %s" KV_BATCH
                           " event=batch_refused",
                           h->source, h->run_id, h->seq, d->user, out.reason, KV_BATCH_ARGS(h));
        } else {
            ss_log_limited(&d->peerlog, "refused", SS_LOG_WARN,
                           "batch %s/%s/%u refused: %s" KV_BATCH " event=batch_refused", h->source,
                           h->run_id, h->seq, out.reason, KV_BATCH_ARGS(h));
        }
        break;
    }
    note_batch(d, h, &out, t0);
    send_reply(d, &ack, out.result == SS_WH_REFUSED ? NULL : out.rejects);
    /* After the ack: the partitioned tables' statistics (ss_partstats.h). */
    if (out.result == SS_WH_APPLIED)
        note_stats(d, h->dataset, out.accepted);
}

/* A run record: the beginning or end of a collector run, into ingest.runs. */
static void handle_run(struct daemon *d, const struct ss_header *h)
{
    struct ss_wh_outcome out;
    struct ss_header ack;

    d->n.runs++;
    if (d->nframes != 2) {
        char why[128];
        snprintf(why, sizeof(why), "a run message has 2 frames after the routing id, not %zu",
                 d->nframes);
        ss_warn("run record %s/%s refused: %s", h->source, h->run_id, why);
        refuse(d, h, why);
        return;
    }
    if (d->curve) {
        char why[SS_PROTO_REASON_MAX + 1];
        if (!key_rights(d, h, why, sizeof(why))) {
            ss_warn("run record %s/%s from key %.8s... refused: %s", h->source, h->run_id,
                    d->user[0] ? d->user : "(none)", why);
            refuse(d, h, why);
            return;
        }
    }
    if (apply_until_done(d, h, NULL, &out) < 0)
        return; /* stopping: no ack, the collector resends */
    ack_for(&ack, h);
    if (out.result == SS_WH_APPLIED) {
        char kv[SS_PROTO_REASON_MAX + 8];
        ack.status = SS_ACK_APPLIED;
        if (h->event == SS_RUN_BEGIN)
            ss_info("run %s/%s began (%s)" KV_RUN " event=run_began", h->source, h->run_id,
                    h->dataset, KV_RUN_ARGS(h));
        else
            ss_info("run %s/%s ended: %s, exit status %u, %llu records in %u batches%s%s" KV_RUN
                    " event=run_ended outcome=%s exit_status=%u records=%llu batches=%u error=%s",
                    h->source, h->run_id, ss_run_outcome_name(h->outcome), h->exit_status,
                    (unsigned long long)h->nrecords, h->batches, h->error[0] ? ": " : "", h->error,
                    KV_RUN_ARGS(h), ss_run_outcome_name(h->outcome), h->exit_status,
                    (unsigned long long)h->nrecords, h->batches,
                    ss_kv_str(kv, sizeof(kv), h->error));
    } else {
        ack.status = SS_ACK_REFUSED;
        snprintf(ack.reason, sizeof(ack.reason), "%s", out.reason);
        d->n.refused++;
        ss_warn("run record %s/%s refused: %s", h->source, h->run_id, out.reason);
    }
    send_reply(d, &ack, NULL);
}

/* A message dropped without a reply: counted (by reason) and logged,
 * within the peer log's rate limit. */
static void drop(struct daemon *d, enum ss_drop_reason r, const char *reason, const char *fmt,
                 const char *arg)
{
    d->n.dropped++;
    ss_metrics_drop(&d->m, r);
    ss_log_limited(&d->peerlog, reason, SS_LOG_WARN, fmt, arg);
}

static void handle_message(struct daemon *d)
{
    char err[SS_PROTO_REASON_MAX + 1], what[160];
    struct ss_header h;

    if (d->nframes < 2) {
        ss_metrics_message(&d->m, 0, 0);
        snprintf(err, sizeof(err), "%zu", d->nframes);
        drop(d, SS_DROP_TOO_SHORT, "too short",
             "dropped a message of %s frames: too short to be a shelfsync message", err);
        return;
    }
    d->peer_version = ss_proto_check_id(zmq_msg_data(&d->frames[0]), zmq_msg_size(&d->frames[0]), 1,
                                        err, sizeof(err));
    if (d->peer_version < 0) {
        ss_metrics_message(&d->m, 0, 1);
        ss_log_limited(&d->peerlog, "another protocol", SS_LOG_WARN, "refused a message: %s", err);
        refuse(d, NULL, err);
        return;
    }
    if (ss_proto_decode_header(zmq_msg_data(&d->frames[1]), zmq_msg_size(&d->frames[1]),
                               (size_t)d->cfg.max_header_bytes, &h, err, sizeof(err)) < 0) {
        ss_metrics_message(&d->m, 0, 0);
        drop(d, SS_DROP_MALFORMED, "malformed", "dropped a message: %s", err);
        return;
    }
    ss_metrics_message(&d->m, h.type == SS_MSG_PING, 0);
    switch (h.type) {
    case SS_MSG_PING: {
        struct ss_header pong;
        memset(&pong, 0, sizeof(pong));
        pong.type = SS_MSG_PONG;
        d->n.pings++;
        send_reply(d, &pong, NULL);
        break;
    }
    case SS_MSG_BATCH:
        snprintf(what, sizeof(what), "batch %s/%s/%u", h.source, h.run_id, h.seq);
        ss_metrics_busy(&d->m, what);
        handle_batch(d, &h);
        break;
    case SS_MSG_RUN:
        if (d->peer_version < 2) {
            drop(d, SS_DROP_UNEXPECTED, "unexpected type",
                 "dropped a run message from %s: protocol 1 has none", h.source);
            break;
        }
        snprintf(what, sizeof(what), "run record %s/%s", h.source, h.run_id);
        ss_metrics_busy(&d->m, what);
        handle_run(d, &h);
        break;
    default:
        drop(d, SS_DROP_UNEXPECTED, "unexpected type",
             h.type == SS_MSG_ACK ? "dropped an ack from %s: collectors send batch, run or ping"
                                  : "dropped a pong from %s: collectors send batch, run or ping",
             h.source);
        break;
    }
    ss_metrics_idle(&d->m);
}

static void log_change(void *arg, const char *what)
{
    (void)arg;
    ss_notice("allow file: %s", what);
}

/* The HTTP thread's answer: /metrics, /health (and /ready, the same). */
static int http_answer(void *arg, const struct ss_http_request *req, struct ss_buf *body,
                       const char **ctype, struct ss_buf *headers)
{
    struct ss_metrics *m = arg;
    (void)headers;
    if (strcmp(req->path, "/metrics") == 0) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        return ss_metrics_render(m, body) < 0 ? 503 : 200;
    }
    if (strcmp(req->path, "/health") == 0 || strcmp(req->path, "/ready") == 0)
        return ss_metrics_health(m, body) ? 200 : 503;
    ss_buf_adds(body, "not found: try /metrics or /health\n");
    return 404;
}

/* The metrics listener as cfg says ("off": none). A listener that cannot
 * bind is an error in the log, not a reason to stop taking batches. */
static void metrics_start(struct daemon *d)
{
    char err[512];
    ss_httpd_stop(d->httpd);
    d->httpd = NULL;
    if (strcmp(d->cfg.metrics_listen, "off") == 0) {
        ss_notice("metrics: off");
        return;
    }
    d->httpd = ss_httpd_start(d->cfg.metrics_listen, http_answer, &d->m, err, sizeof(err));
    if (d->httpd)
        ss_notice("metrics and health on http://%s/metrics and /health", d->cfg.metrics_listen);
    else
        ss_error("%s: no metrics or health until this is fixed (SIGHUP retries)", err);
}

/* What the daemon reads from its config besides the socket and the
 * database: log level (unless --log-level), peer log limits, health
 * bounds. */
static void apply_settings(struct daemon *d, const char *cli_level)
{
    enum ss_log_level lv;
    if (!cli_level && ss_log_parse_level(d->cfg.log_level, &lv) == 0)
        ss_log_set_level(lv);
    ss_log_limit_set(&d->peerlog, d->cfg.log_burst, d->cfg.log_summary_s);
    uint64_t wd = ss_notify_watchdog_usec();
    atomic_store(&d->m.max_batch_wait_s, d->cfg.health_max_batch_wait_s);
    atomic_store(&d->m.loop_stall_s,
                 wd ? (long)((wd + 999999) / 1000000) : d->cfg.health_loop_stall_s);
    ss_backoff_init(&d->backoff, d->cfg.reconnect_initial_ms, d->cfg.reconnect_max_ms);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* SIGHUP, what cannot change while running ("listen", "insecure", the
 * CURVE secret key, CURVE on or off): said as "needs a restart" and kept as
 * it is, by moving the running values into fresh. */
static void keep_restart_only(struct daemon *d, struct ss_daemon_config *fresh)
{
    int listen_same = d->cfg.nlisten == fresh->nlisten;
    for (size_t i = 0; listen_same && i < fresh->nlisten; i++)
        listen_same = strcmp(d->cfg.listen[i], fresh->listen[i]) == 0;
    if (!listen_same)
        ss_warn("SIGHUP: \"listen\" changed: needs a restart; still listening as before");
    if (d->cfg.insecure != fresh->insecure)
        ss_warn("SIGHUP: \"insecure\" changed: needs a restart; left as it was");
    if (!same_str(d->cfg.curve_secret_key_file, fresh->curve_secret_key_file))
        ss_warn("SIGHUP: \"curve.secret_key_file\" changed: needs a restart; the running key "
                "stays");
    for (size_t i = 0; i < SS_CONFIG_MAX_ENDPOINTS; i++) {
        char *t = fresh->listen[i];
        fresh->listen[i] = d->cfg.listen[i];
        d->cfg.listen[i] = t;
    }
    size_t n = fresh->nlisten;
    fresh->nlisten = d->cfg.nlisten;
    d->cfg.nlisten = n;
    fresh->insecure = d->cfg.insecure;
    char *t = fresh->curve_secret_key_file;
    fresh->curve_secret_key_file = d->cfg.curve_secret_key_file;
    d->cfg.curve_secret_key_file = t;
    if (!d->curve && fresh->curve_allow_file) {
        free(fresh->curve_allow_file); /* no CURVE running: an allow file would mean nothing */
        fresh->curve_allow_file = NULL;
    }
}

/* SIGHUP: the whole configuration file read and checked again. An invalid
 * one (or an allow file that does not load) is refused with the reason and
 * the running one stays in force; otherwise what can change live does
 * (log level, limits, allow file, authorities, metrics listener, health
 * bounds, database: reconnected if its conninfo or password file changed)
 * and the rest is kept and said to need a restart. */
static void reload_config(struct daemon *d, const char *cli_level)
{
    char err[1024];
    struct ss_daemon_config fresh, old;
    struct ss_allow *allow = NULL;
    memset(&fresh, 0, sizeof(fresh));
    if (ss_daemon_config_load(d->config_path, &fresh, err, sizeof(err)) < 0) {
        ss_error("SIGHUP: %s; the configuration in force is kept", err);
        return;
    }
    if (d->curve && fresh.curve_allow_file &&
        ss_allow_load(fresh.curve_allow_file, &allow, err, sizeof(err)) < 0) {
        ss_error("SIGHUP: %s; the configuration in force is kept", err);
        ss_daemon_config_free(&fresh);
        return;
    }
    if (d->curve && !fresh.curve_allow_file)
        ss_warn("SIGHUP: \"curve\" removed: needs a restart; CURVE stays on");
    keep_restart_only(d, &fresh);
    int db_changed = !same_str(d->cfg.db_conninfo, fresh.db_conninfo) ||
                     !same_str(d->cfg.db_password_file, fresh.db_password_file);
    int metrics_changed = strcmp(d->cfg.metrics_listen, fresh.metrics_listen) != 0 || !d->httpd;
    if (d->curve && !allow) {
        /* CURVE on and the new file has no "curve": keep the running allow file. */
        fresh.curve_allow_file = d->cfg.curve_allow_file;
        d->cfg.curve_allow_file = NULL;
    }
    old = d->cfg;
    d->cfg = fresh;
    if (allow) {
        size_t changes = ss_allow_diff(d->zap.allow, allow, log_change, NULL);
        pthread_mutex_lock(&d->zap.lock);
        d->zap.allow_file = d->cfg.curve_allow_file;
        pthread_mutex_unlock(&d->zap.lock);
        ss_zap_set_allow(&d->zap, allow);
        ss_notice("SIGHUP: allow file %s: %zu key%s, %zu change%s", d->cfg.curve_allow_file,
                  allow->n, allow->n == 1 ? "" : "s", changes, changes == 1 ? "" : "s");
    }
    ss_daemon_config_free(&old);
    apply_settings(d, cli_level);
    if (metrics_changed)
        metrics_start(d);
    /* New connections get the new bounds; those up keep theirs. */
    int64_t maxmsg = d->cfg.max_message_bytes;
    int handshake = (int)d->cfg.handshake_ms;
    zmq_setsockopt(d->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
    zmq_setsockopt(d->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof(handshake));
    if (db_changed) {
        ss_notice("SIGHUP: the database settings changed: reconnecting");
        db_disconnect(d);
        if (db_try_connect(d, err, sizeof(err)) < 0)
            ss_warn("SIGHUP: %s; retrying with the next batch", err);
    }
    ss_notice("SIGHUP: reloaded %s", d->config_path);
}

/* Before anything listens: the transport rule for every endpoint, and the
 * allow file. 0, or the negative code of the check that failed (SS_ESETUP
 * for a libzmq without CURVE), said in the log. */
static int check_security(struct daemon *d)
{
    char err[1024];
    int rc;
    d->curve = d->cfg.curve_secret_key_file != NULL;
    for (size_t i = 0; i < d->cfg.nlisten; i++) {
        if ((rc = ss_config_transport_check(d->cfg.listen[i], 1, d->curve, d->cfg.insecure, err,
                                            sizeof(err))) < 0) {
            ss_error("refusing to start: %s", err);
            return rc;
        }
        if (!d->curve && strncmp(d->cfg.listen[i], "tcp://", 6) == 0)
            ss_warn("%s: plain TCP without CURVE (\"insecure\": true): any local process can "
                    "write any source",
                    d->cfg.listen[i]);
    }
    if (!d->curve)
        return 0;
    if (!zmq_has("curve")) {
        ss_error("refusing to start: this libzmq has no CURVE support (built without libsodium)");
        return SS_ESETUP;
    }
    d->zap.allow_file = d->cfg.curve_allow_file;
    if ((rc = ss_allow_load(d->cfg.curve_allow_file, &d->zap.allow, err, sizeof(err))) < 0) {
        ss_error("refusing to start: %s", err);
        return rc;
    }
    ss_allow_diff(NULL, d->zap.allow, log_change, NULL);
    ss_notice("allow file %s: %zu key%s", d->cfg.curve_allow_file, d->zap.allow->n,
              d->zap.allow->n == 1 ? "" : "s");
    return 0;
}

/* CURVE server options; the secret is read, given to libzmq and wiped. 0,
 * or SS_EINVAL (no secret key in the file) or -errno (from libzmq), said in
 * the log. */
static int setup_curve(struct daemon *d)
{
    char err[1024], pub[SS_ALLOW_KEY_LEN + 1];
    int one = 1, rc = SS_EINVAL;
    char *secret = ss_secret_read(d->cfg.curve_secret_key_file, err, sizeof(err));
    if (!secret) {
        ss_error("%s", err);
        return SS_EINVAL;
    }
    if (strlen(secret) != SS_ALLOW_KEY_LEN || zmq_curve_public(pub, secret) < 0) {
        ss_error("%s: not a Z85 CURVE secret key (40 characters, as `shelfsync keygen` writes)",
                 d->cfg.curve_secret_key_file);
        goto out;
    }
    if (zmq_setsockopt(d->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
        zmq_setsockopt(d->router, ZMQ_CURVE_SECRETKEY, secret, SS_ALLOW_KEY_LEN) < 0 ||
        zmq_setsockopt(d->router, ZMQ_ZAP_DOMAIN, SS_ZAP_DOMAIN, strlen(SS_ZAP_DOMAIN)) < 0 ||
        zmq_setsockopt(d->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one)) < 0) {
        rc = -errno;
        ss_error("cannot set the CURVE options: %s", zmq_strerror(-rc));
        goto out;
    }
    ss_notice("CURVE on; the daemon's public key (collectors' \"daemon.server_public_key\") is %s",
              pub);
    rc = 0;
out:
    ss_secret_free(secret);
    return rc;
}

/* The umask made an ipc:// socket file 0660; make sure of it. 0, or -errno
 * (said in the log). */
static int check_ipc_mode(const char *ep)
{
    const char *path = ep + 6;
    struct stat st;
    if (path[0] == '@')
        return 0; /* Linux abstract namespace: no file, no mode */
    if (stat(path, &st) < 0) {
        int e = errno;
        ss_error("%s: cannot check the socket file: %s", ep, strerror(e));
        return -e;
    }
    if ((st.st_mode & 0117) != 0 && chmod(path, 0660) < 0) {
        int e = errno;
        ss_error("%s: socket file mode %03o and cannot make it 0660: %s", ep,
                 (unsigned)(st.st_mode & 0777), strerror(e));
        return -e;
    }
    return 0;
}

/* The ROUTER socket, its options, CURVE, and every endpoint bound. 0, or a
 * negative code (-errno from libzmq, or from setup_curve), said in the log
 * where the cause has a message. */
static int setup_socket(struct daemon *d)
{
    int one = 1, linger = 1000, hwm = SS_RCVHWM;
    int64_t maxmsg = d->cfg.max_message_bytes;
    int handshake = (int)d->cfg.handshake_ms;

    d->zctx = zmq_ctx_new();
    if (!d->zctx)
        return -errno;
    d->router = zmq_socket(d->zctx, ZMQ_ROUTER);
    if (!d->router)
        return -errno;
    if (zmq_setsockopt(d->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) < 0 ||
        zmq_setsockopt(d->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) < 0 ||
        zmq_setsockopt(d->router, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(d->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof(handshake)) < 0 ||
        zmq_setsockopt(d->router, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0) {
        int e = errno;
        ss_error("cannot set socket options: %s", zmq_strerror(e));
        return -e;
    }
    /* The ZAP handler must answer before the first handshake can start. */
    int rc;
    if (d->curve && ((rc = ss_zap_start(&d->zap, d->zctx)) < 0 || (rc = setup_curve(d)) < 0))
        return rc;
    for (size_t i = 0; i < d->cfg.nlisten; i++) {
        const char *ep = d->cfg.listen[i];
        /* ipc:// sockets: only the owner (and group) may connect. */
        int ipc = strncmp(ep, "ipc://", 6) == 0;
        mode_t old = ipc ? umask(0117) : 0;
        rc = zmq_bind(d->router, ep);
        int e = errno;
        if (ipc)
            umask(old);
        if (rc < 0) {
            ss_error("cannot listen on %s: %s", ep, zmq_strerror(e));
            return -e;
        }
        if (ipc && (rc = check_ipc_mode(ep)) < 0)
            return rc;
        ss_notice("listening on %s%s", ep, d->curve ? " (CURVE)" : "");
    }
    return 0;
}

/* While idle, every few seconds: is PostgreSQL still there (for /health
 * and the gauge)? A lost connection is dropped, and tried again once a
 * round, never in a loop: the next batch waits for it with back-off.
 * Also hands memory back after a large message (glibc keeps freed
 * arenas), so a burst does not leave the daemon at its peak. */
static void idle_round(struct daemon *d)
{
    char err[512];
    int64_t now = ss_now_ms();
    if (d->big_ms && now - d->big_ms > 1000) {
        d->big_ms = 0;
        malloc_trim(0);
    }
    if (now - d->probe_ms < 5000)
        return;
    d->probe_ms = now;
    if (d->wh && ss_pg_exec(ss_wh_conn(d->wh), "SELECT 1", err, sizeof(err)) < 0) {
        ss_warn("PostgreSQL connection lost (%s); reconnecting when a batch comes", err);
        db_disconnect(d);
    }
    if (!d->wh && db_try_connect(d, err, sizeof(err)) < 0)
        ss_debug("PostgreSQL still unreachable: %s", err);
}

/* Whether libzmq holds more messages for us now (ZMQ_EVENTS), for the
 * queue gauge: the daemon cannot count them, only tell some are there. */
static void note_pending(struct daemon *d)
{
    int events = 0;
    size_t len = sizeof(events);
    if (zmq_getsockopt(d->router, ZMQ_EVENTS, &events, &len) == 0)
        atomic_store(&d->m.pending, (events & ZMQ_POLLIN) != 0);
}

/* The main loop: a message at a time, until a stop is asked for. 0, or
 * -errno (from libzmq) when the socket fails. */
static int serve(struct daemon *d)
{
    while (!stop_requested) {
        if (reload_requested) {
            reload_requested = 0;
            reload_config(d, d->cli_level);
        }
        /* The loop came round: the daemon is not stuck on a batch. */
        alive(d);
        ss_log_limit_flush(&d->peerlog, 0);
        zmq_pollitem_t item = {d->router, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, 1000);
        if (rc < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            ss_error("poll failed: %s", zmq_strerror(e));
            return -e;
        }
        if (rc == 0)
            idle_round(d);
        poll_stats(d);
        /* Drain what is there, one message at a time. */
        while (!stop_requested && (rc = read_message(d)) == 1) {
            handle_message(d);
            close_frames(d);
            note_pending(d);
            poll_stats(d);
            alive(d);
        }
        atomic_store(&d->m.pending, 0);
        if (d->n.messages != d->status_messages) {
            d->status_messages = d->n.messages;
            ss_notifyf("STATUS=ready: %lu batches (%lu applied, %lu duplicate, %lu refused), "
                       "%llu records loaded, %llu quarantined",
                       d->n.batches, d->n.applied, d->n.duplicates, d->n.refused, d->n.accepted,
                       d->n.quarantined);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void log_totals(const struct daemon *d)
{
    ss_notice("stopping: %lu messages, %lu batches (%lu applied, %lu duplicate, %lu refused), "
              "%lu dropped, %llu records loaded, %llu quarantined",
              d->n.messages, d->n.batches, d->n.applied, d->n.duplicates, d->n.refused,
              d->n.dropped, d->n.accepted, d->n.quarantined);
    if (d->curve)
        ss_notice("security: %lu handshakes allowed, %lu refused by the allow file; %lu batches "
                  "refused for a source or authority outside their key's rights",
                  (unsigned long)atomic_load(&d->zap.allowed),
                  (unsigned long)atomic_load(&d->zap.denied), d->n.forbidden);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"log-level", required_argument, NULL, 'l'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *level = NULL;
    char err[1024];
    struct daemon d;
    int c, status = 1;

    memset(&d, 0, sizeof(d));
    ss_partstats_init(&d.ps);
    ss_zap_init(&d.zap, NULL);
    ss_log_limit_init(&d.peerlog, "bad messages", 5, 60);
    ss_log_init(argv[0], SS_LOG_INFO);
    while ((c = getopt_long(argc, argv, "c:l:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'l':
            level = optarg;
            break;
        case 'V':
            printf("shelfsyncd %s (protocol %s, schema %d)\n", SS_VERSION, SS_PROTO_ID,
                   ss_migrate_latest());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!config || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (ss_daemon_config_load(config, &d.cfg, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        return 1;
    }
    d.config_path = config;
    d.cli_level = level;
    if (ss_metrics_init(&d.m, (size_t)d.cfg.metrics_max_series) < 0) {
        ss_error("out of memory");
        goto out;
    }
    enum ss_log_level lv;
    if (ss_log_parse_level(level ? level : d.cfg.log_level ? d.cfg.log_level : "info", &lv) < 0) {
        ss_error("unknown log level \"%s\"", level);
        goto out;
    }
    ss_log_set_level(lv);

    ss_signal_setup(&stop_requested, &reload_requested);
    if (ss_notify_init(err, sizeof(err)) < 0) {
        ss_error("%s", err);
        goto out;
    }
    /* SIGTERM during a batch: the batch is finished (and acked) before the
     * daemon stops; systemd is told to wait that long. */
    ss_signal_stop_message("STOPPING=1\nSTATUS=stopping: finishing the batch being "
                           "applied\nEXTEND_TIMEOUT_USEC=" SS_STOP_EXTEND_USEC);
    ss_notify("STATUS=connecting to PostgreSQL");

    if (check_security(&d) < 0)
        goto out;
    apply_settings(&d, level);
    ss_log_limit_set(&d.zap.log, d.cfg.log_burst, d.cfg.log_summary_s);
    /* Health answers from the start: "PostgreSQL unreachable" while we wait. */
    metrics_start(&d);

    ss_buf_init(&d.hdrbuf, SS_PROTO_HEADER_MAX);
    /* The database first: there is no point taking batches we cannot apply. */
    if (db_connect(&d) < 0) {
        if (stop_requested)
            status = 0; /* asked to stop while waiting for the database */
        goto out;
    }
    if (setup_socket(&d) < 0)
        goto out;
    ss_notice("ready");
    ss_notify("READY=1\nSTATUS=ready: waiting for batches");

    if (serve(&d) < 0)
        goto out;
    status = 0;
out:
    ss_notify("STOPPING=1\nSTATUS=stopped");
    ss_log_limit_flush(&d.peerlog, 1);
    log_totals(&d);
    ss_httpd_stop(d.httpd);
    close_frames(&d);
    if (d.router)
        zmq_close(d.router);
    ss_zap_free(&d.zap);
    if (d.zctx)
        zmq_ctx_term(d.zctx);
    ss_wh_free(d.wh);
    ss_wh_free(d.stats_wh);
    ss_buf_free(&d.hdrbuf);
    ss_daemon_config_free(&d.cfg);
    ss_metrics_free(&d.m);
    return status;
}
