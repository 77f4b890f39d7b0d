/* shelfsyncd: receives batches from collectors over ZeroMQ, applies each
 * exactly once to the PostgreSQL warehouse, then acks.
 *
 * One thread, one ROUTER socket, one database connection. A message is read
 * whole (bounded in frames and bytes), checked, applied in one transaction
 * (ss_warehouse) and only then acked. While the database is unreachable the
 * daemon holds the message it has, stops reading new ones, and reconnects
 * with back-off; collectors keep their batches until acked, so nothing is
 * lost and a batch seen twice is acked as a duplicate.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "ss_buf.h"
#include "ss_config.h"
#include "ss_log.h"
#include "ss_migrate.h"
#include "ss_proto.h"
#include "ss_time.h"
#include "ss_warehouse.h"

#define SS_ROUTING_ID_MAX 256

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct counters {
    unsigned long messages, batches, applied, duplicates, refused, dropped, pings;
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
};

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
 * there or the message was dropped (counted and logged), -1 on a socket
 * error. Oversized or over-long messages are drained and dropped: libzmq
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
    do {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, d->router, count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            close_frames(d);
            if (e == EAGAIN || e == EINTR)
                return 0;
            ss_error("receive failed: %s", zmq_strerror(e));
            return -1;
        }
        more = zmq_msg_more(&part);
        size_t len = zmq_msg_size(&part);
        total += len;
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
    if (too_many || too_big) {
        d->n.dropped++;
        ss_warn("dropped a message of %zu frames and %zu bytes: over the limit of %ld frames / "
                "%ld bytes",
                count - 1, total, d->cfg.max_frames, d->cfg.max_message_bytes);
        close_frames(d);
        return 0;
    }
    return 1;
}

static int send_reply(struct daemon *d, const struct ss_header *h)
{
    if (ss_proto_encode_header(h, &d->hdrbuf) < 0)
        return -1;
    if (zmq_send(d->router, d->rid, d->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(d->router, SS_PROTO_ID, strlen(SS_PROTO_ID), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(d->router, d->hdrbuf.data, d->hdrbuf.len, ZMQ_DONTWAIT) < 0) {
        /* EHOSTUNREACH: the collector went away; it will resend and get a duplicate ack. */
        ss_info("could not send reply (%s): the collector will resend", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

static void refuse(struct daemon *d, const struct ss_header *in, const char *reason)
{
    struct ss_header ack;
    memset(&ack, 0, sizeof(ack));
    ack.type = SS_MSG_ACK;
    ack.status = SS_ACK_REFUSED;
    if (in) {
        memcpy(ack.source, in->source, sizeof(ack.source));
        memcpy(ack.run_id, in->run_id, sizeof(ack.run_id));
        ack.seq = in->seq;
    } else {
        strcpy(ack.source, "unknown");
        strcpy(ack.run_id, "unknown");
    }
    snprintf(ack.reason, sizeof(ack.reason), "%s", reason);
    d->n.refused++;
    send_reply(d, &ack);
}

static void db_disconnect(struct daemon *d)
{
    ss_wh_free(d->wh);
    d->wh = NULL;
}

/* Connects (and migrates, and prepares) with back-off until it works or a
 * stop is requested. */
static int db_connect(struct daemon *d)
{
    char err[1024];
    while (!stop_requested) {
        d->wh = ss_wh_connect(d->cfg.db_conninfo, d->cfg.db_password_file, err, sizeof(err));
        if (d->wh) {
            int rc = 0;
            if (d->cfg.migrate_on_start && ss_migrate(ss_wh_conn(d->wh), err, sizeof(err)) < 0)
                rc = -1;
            if (rc == 0 && ss_wh_prepare(d->wh, err, sizeof(err)) < 0)
                rc = -1;
            if (rc == 0) {
                ss_notice("connected to PostgreSQL (schema version %d)",
                          ss_migrate_applied(ss_wh_conn(d->wh)));
                ss_backoff_reset(&d->backoff);
                return 0;
            }
            db_disconnect(d);
        }
        long delay = ss_backoff_next(&d->backoff);
        ss_warn("%s; retrying in %ld ms", err, delay);
        ss_sleep_ms(delay, &stop_requested);
    }
    return -1;
}

static void handle_batch(struct daemon *d, const struct ss_header *h)
{
    struct ss_wh_limits limits = {(size_t)d->cfg.max_records, (size_t)d->cfg.max_field_bytes};
    struct ss_wh_outcome out;
    struct ss_header ack;

    d->n.batches++;
    if (d->nframes != 3) {
        /* We know which batch it is, so say why rather than let it be resent for ever. */
        char why[128];
        snprintf(why, sizeof(why), "a batch message has 3 frames after the routing id, not %zu",
                 d->nframes);
        ss_warn("batch %s/%s/%u refused: %s", h->source, h->run_id, h->seq, why);
        refuse(d, h, why);
        return;
    }
    for (;;) {
        if (!ss_wh_ok(d->wh)) {
            db_disconnect(d);
            if (db_connect(d) < 0)
                return; /* stopping: no ack, the collector resends */
        }
        ss_wh_apply(d->wh, h, zmq_msg_data(&d->frames[2]), zmq_msg_size(&d->frames[2]), &limits,
                    &out);
        if (out.result != SS_WH_RETRY)
            break;
        long delay = ss_backoff_next(&d->backoff);
        ss_warn("%s; batch %s/%s/%u kept, retrying in %ld ms", out.reason, h->source, h->run_id,
                h->seq, delay);
        ss_sleep_ms(delay, &stop_requested);
        if (stop_requested)
            return;
    }
    ss_backoff_reset(&d->backoff);

    memset(&ack, 0, sizeof(ack));
    ack.type = SS_MSG_ACK;
    memcpy(ack.source, h->source, sizeof(ack.source));
    memcpy(ack.run_id, h->run_id, sizeof(ack.run_id));
    ack.seq = h->seq;
    ack.accepted = out.accepted;
    ack.quarantined = out.quarantined;
    switch (out.result) {
    case SS_WH_APPLIED:
        ack.status = SS_ACK_APPLIED;
        d->n.applied++;
        d->n.accepted += out.accepted;
        d->n.quarantined += out.quarantined;
        ss_info("batch %s/%s/%u (%s): %u records, %u loaded, %u quarantined", h->source, h->run_id,
                h->seq, h->dataset, h->records, out.accepted, out.quarantined);
        break;
    case SS_WH_DUPLICATE:
        ack.status = SS_ACK_DUPLICATE;
        d->n.duplicates++;
        ss_info("batch %s/%s/%u: duplicate, applied before", h->source, h->run_id, h->seq);
        break;
    default:
        ack.status = SS_ACK_REFUSED;
        snprintf(ack.reason, sizeof(ack.reason), "%s", out.reason);
        d->n.refused++;
        ss_warn("batch %s/%s/%u refused: %s", h->source, h->run_id, h->seq, out.reason);
        break;
    }
    send_reply(d, &ack);
}

static void handle_message(struct daemon *d)
{
    char err[SS_PROTO_REASON_MAX + 1];
    struct ss_header h;

    if (d->nframes < 2) {
        d->n.dropped++;
        ss_warn("dropped a message of %zu frames: too short to be a shelfsync message", d->nframes);
        return;
    }
    if (ss_proto_check_id(zmq_msg_data(&d->frames[0]), zmq_msg_size(&d->frames[0]), err,
                          sizeof(err)) < 0) {
        ss_warn("refused a message: %s", err);
        refuse(d, NULL, err);
        return;
    }
    if (ss_proto_decode_header(zmq_msg_data(&d->frames[1]), zmq_msg_size(&d->frames[1]),
                               (size_t)d->cfg.max_header_bytes, &h, err, sizeof(err)) < 0) {
        d->n.dropped++;
        ss_warn("dropped a message: %s", err);
        return;
    }
    switch (h.type) {
    case SS_MSG_PING: {
        struct ss_header pong;
        memset(&pong, 0, sizeof(pong));
        pong.type = SS_MSG_PONG;
        d->n.pings++;
        send_reply(d, &pong);
        break;
    }
    case SS_MSG_BATCH:
        handle_batch(d, &h);
        break;
    default:
        d->n.dropped++;
        ss_warn("dropped a message of type %s from %s: collectors send batch or ping",
                h.type == SS_MSG_ACK ? "ack" : "pong", h.source);
        break;
    }
}

static int setup_socket(struct daemon *d)
{
    int one = 1, linger = 1000;
    int64_t maxmsg = d->cfg.max_message_bytes;
    int handshake = (int)d->cfg.handshake_ms;

    d->zctx = zmq_ctx_new();
    if (!d->zctx)
        return -1;
    d->router = zmq_socket(d->zctx, ZMQ_ROUTER);
    if (!d->router)
        return -1;
    if (zmq_setsockopt(d->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) < 0 ||
        zmq_setsockopt(d->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) < 0 ||
        zmq_setsockopt(d->router, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(d->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof(handshake)) < 0) {
        ss_error("cannot set socket options: %s", zmq_strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < d->cfg.nlisten; i++) {
        const char *ep = d->cfg.listen[i];
        /* ipc:// sockets: only the owner (and group) may connect. */
        int ipc = strncmp(ep, "ipc://", 6) == 0;
        mode_t old = ipc ? umask(0117) : 0;
        int rc = zmq_bind(d->router, ep);
        int e = errno;
        if (ipc)
            umask(old);
        if (rc < 0) {
            ss_error("cannot listen on %s: %s", ep, zmq_strerror(e));
            return -1;
        }
        ss_notice("listening on %s", ep);
    }
    return 0;
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
    enum ss_log_level lv;
    if (ss_log_parse_level(level ? level : d.cfg.log_level ? d.cfg.log_level : "info", &lv) < 0) {
        ss_error("unknown log level \"%s\"", level);
        goto out;
    }
    ss_log_set_level(lv);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    ss_buf_init(&d.hdrbuf, 64 * 1024);
    ss_backoff_init(&d.backoff, d.cfg.reconnect_initial_ms, d.cfg.reconnect_max_ms);
    /* The database first: there is no point taking batches we cannot apply. */
    if (db_connect(&d) < 0) {
        if (stop_requested)
            status = 0; /* asked to stop while waiting for the database */
        goto out;
    }
    if (setup_socket(&d) < 0)
        goto out;
    ss_notice("ready");

    while (!stop_requested) {
        zmq_pollitem_t item = {d.router, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, 1000);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            ss_error("poll failed: %s", zmq_strerror(errno));
            goto out;
        }
        /* Drain what is there, one message at a time. */
        while (!stop_requested && (rc = read_message(&d)) == 1) {
            handle_message(&d);
            close_frames(&d);
        }
        if (rc < 0)
            goto out;
    }
    status = 0;
out:
    ss_notice("stopping: %lu messages, %lu batches (%lu applied, %lu duplicate, %lu refused), "
              "%lu dropped, %llu records loaded, %llu quarantined",
              d.n.messages, d.n.batches, d.n.applied, d.n.duplicates, d.n.refused, d.n.dropped,
              d.n.accepted, d.n.quarantined);
    close_frames(&d);
    if (d.router)
        zmq_close(d.router);
    if (d.zctx)
        zmq_ctx_term(d.zctx);
    ss_wh_free(d.wh);
    ss_buf_free(&d.hdrbuf);
    ss_daemon_config_free(&d.cfg);
    return status;
}
