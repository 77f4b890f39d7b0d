/* ss_sender: see ss_sender.h. */
#include "ss_sender.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "ss_config.h"
#include "ss_log.h"
#include "ss_secret.h"
#include "ss_time.h"

struct entry {
    char name[SS_OUTBOX_NAME_MAX + 1];
    char source[SS_PROTO_NAME_MAX + 1];
    char run_id[SS_PROTO_NAME_MAX + 1];
    uint32_t seq;
    int run; /* a run record, not a batch */
    int in_flight;
    int known;        /* header read (source, run_id, seq known) */
    size_t bytes;     /* on the wire, once read back (0: not yet) */
    int64_t deadline; /* in flight: when to give up waiting; queued: not before */
    unsigned attempts;
};

struct ss_sender {
    struct ss_sender_opts opts;
    struct ss_outbox *outbox;
    void *ctx, *sock;
    void *monitor; /* PAIR receiving the DEALER's handshake events */
    char public_key[41];
    int64_t last_auth_log;
    struct entry *q; /* FIFO of pending batches: q[head .. head+n) in a growable array */
    size_t head, n, cap;
    size_t in_flight;
    size_t
        bytes_in_flight; /* of the entries in flight, at most SS_SENDER_WINDOW_BYTES but for one */
    size_t batches;      /* entries that are batches, not run records */
    struct ss_backoff backoff;
    int64_t last_progress;
    struct ss_sender_stats st;
    struct ss_buf header, payload, reply;
    int refused_conversation;
    ss_sender_rejects_cb on_rejects;
    void *on_rejects_arg;
    struct ss_rejects *rejects; /* the last ack's, for on_rejects */
};

/* The failure libzmq just had, as a negative code. */
static int zmq_rc(void)
{
    int e = zmq_errno();
    return e > 0 ? -e : SS_EINVAL;
}

/* Our key pair and the daemon's public key; the secret is wiped once
 * libzmq has it. */
static int setup_curve(struct ss_sender *s, char *err, size_t errlen)
{
    char why[1024];
    int rc = SS_EINVAL;
    if (!zmq_has("curve")) {
        snprintf(err, errlen, "this libzmq has no CURVE support (built without libsodium)");
        return SS_ESETUP;
    }
    char *secret = ss_secret_read(s->opts.secret_key_file, why, sizeof(why));
    if (!secret) {
        snprintf(err, errlen, "%s", why);
        return SS_EINVAL;
    }
    if (strlen(secret) != 40 || zmq_curve_public(s->public_key, secret) < 0) {
        snprintf(err, errlen,
                 "%s: not a Z85 CURVE secret key (40 characters, as `shelfsync keygen` writes)",
                 s->opts.secret_key_file);
        goto out;
    }
    if (zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY, s->opts.server_public_key, 40) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, s->public_key, 40) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, secret, 40) < 0) {
        snprintf(err, errlen, "cannot set the CURVE keys: %s", zmq_strerror(errno));
        goto out;
    }
    ss_info("CURVE on: this collector's public key is %s", s->public_key);
    rc = 0;
out:
    ss_secret_free(secret);
    return rc;
}

static int setup_monitor(struct ss_sender *s, char *err, size_t errlen)
{
    char ep[64];
    snprintf(ep, sizeof(ep), "inproc://ss-sender-monitor-%p", (void *)s);
    if (zmq_socket_monitor(s->sock, ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0 ||
        !(s->monitor = zmq_socket(s->ctx, ZMQ_PAIR)) || zmq_connect(s->monitor, ep) < 0) {
        snprintf(err, errlen, "cannot monitor the ZeroMQ socket: %s", zmq_strerror(errno));
        return zmq_rc();
    }
    int linger = 0;
    zmq_setsockopt(s->monitor, ZMQ_LINGER, &linger, sizeof(linger));
    return 0;
}

/* Reads the monitor's events: frame 1 is u16 event + u32 value, frame 2 the
 * endpoint. A refused handshake is logged at error (once a minute: libzmq
 * reconnects and is refused again every few seconds) and counted. */
static void read_monitor(struct ss_sender *s)
{
    for (;;) {
        zmq_msg_t m;
        unsigned char ev[6] = {0};
        char endpoint[256] = "";
        int more, k = 0, have_event = 0;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        do {
            if (k == 0 && zmq_msg_size(&m) >= 6) {
                memcpy(ev, zmq_msg_data(&m), 6);
                have_event = 1;
            } else if (k == 1)
                snprintf(endpoint, sizeof(endpoint), "%.*s", (int)zmq_msg_size(&m),
                         (const char *)zmq_msg_data(&m));
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
            k++;
            if (more) {
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, s->monitor, 0) < 0) {
                    zmq_msg_close(&m);
                    return;
                }
            }
        } while (more);
        if (!have_event)
            continue; /* not a monitor event as libzmq writes them */
        uint16_t event;
        uint32_t value;
        memcpy(&event, ev, 2);
        memcpy(&value, ev + 2, 4);
        int64_t now = ss_now_ms();
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            ss_debug("%s: handshake succeeded", endpoint);
            s->last_auth_log = 0;
            continue;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            s->st.auth_failures++;
        if (s->last_auth_log && now - s->last_auth_log < 60000)
            continue;
        s->last_auth_log = now;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            ss_error("%s: the daemon refused our key (ZAP status %u): ask its operator to add "
                     "this collector's public key %s to the daemon's allow file; batches stay "
                     "in the outbox",
                     endpoint, value, s->public_key[0] ? s->public_key : "(none: no CURVE)");
        else
            ss_error("%s: the handshake with the daemon failed (%s): check "
                     "\"daemon.server_public_key\" and whether the daemon uses CURVE",
                     endpoint,
                     event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error"
                                                                  : zmq_strerror((int)value));
    }
}

int ss_sender_new(struct ss_sender **out, const struct ss_sender_opts *opts,
                  struct ss_outbox *outbox, char *err, size_t errlen)
{
    struct ss_sender *s = calloc(1, sizeof(*s));
    int one = 1, linger = 0, ivl = 100, ivl_max = 5000, hb = 2000, hb_timeout = 10000;
    int rc;
    if (!s)
        return SS_ENOMEM;
    s->opts = *opts;
    s->outbox = outbox;
    ss_backoff_init(&s->backoff, opts->backoff_initial_ms, opts->backoff_max_ms);
    ss_buf_init(&s->header, SS_PROTO_HEADER_MAX);
    ss_buf_init(&s->payload, opts->max_batch_bytes);
    ss_buf_init(&s->reply, SS_PROTO_HEADER_MAX);
    s->ctx = zmq_ctx_new();
    s->sock = s->ctx ? zmq_socket(s->ctx, ZMQ_DEALER) : NULL;
    if (!s->sock) {
        rc = zmq_rc();
        snprintf(err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        goto fail;
    }
    /* IMMEDIATE: queue only to completed connections, so a dead daemon
     * (of several) does not swallow batches. Heartbeats drop a connection
     * whose peer vanished without closing it. Linger 0: what is unsent at
     * exit is still in the outbox. */
    if (zmq_setsockopt(s->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl)) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max)) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof(hb)) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof(hb_timeout)) < 0) {
        rc = zmq_rc();
        snprintf(err, errlen, "cannot set socket options: %s", zmq_strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < opts->nendpoints; i++)
        if (ss_config_transport_check(opts->endpoints[i], 0, opts->server_public_key != NULL, 0,
                                      err, errlen) < 0) {
            rc = SS_ESETUP;
            goto fail;
        }
    if (opts->server_public_key && (rc = setup_curve(s, err, errlen)) < 0)
        goto fail;
    if ((rc = setup_monitor(s, err, errlen)) < 0)
        goto fail;
    for (size_t i = 0; i < opts->nendpoints; i++) {
        if (zmq_connect(s->sock, opts->endpoints[i]) < 0) {
            rc = zmq_rc();
            snprintf(err, errlen, "cannot connect to %s: %s", opts->endpoints[i],
                     zmq_strerror(errno));
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    ss_sender_free(s);
    return rc;
}

void ss_sender_free(struct ss_sender *s)
{
    if (!s)
        return;
    if (s->sock) {
        if (s->monitor)
            zmq_socket_monitor(s->sock, NULL, 0);
        zmq_close(s->sock);
    }
    if (s->monitor)
        zmq_close(s->monitor);
    if (s->ctx)
        zmq_ctx_term(s->ctx);
    free(s->q);
    ss_buf_free(&s->header);
    ss_buf_free(&s->payload);
    ss_buf_free(&s->reply);
    free(s->rejects);
    free(s);
}

void ss_sender_on_rejects(struct ss_sender *s, ss_sender_rejects_cb cb, void *arg)
{
    s->on_rejects = cb;
    s->on_rejects_arg = arg;
}

/* The ack just read (s->reply) quarantined records of e's batch: its
 * summary to on_rejects. */
static void report_rejects(struct ss_sender *s, const struct entry *e, const struct ss_header *h)
{
    char err[256];
    if (!s->on_rejects)
        return;
    if (!s->rejects && !(s->rejects = malloc(sizeof(*s->rejects)))) {
        ss_warn("%s: out of memory for the ack's reject summary", e->name);
        return;
    }
    if (ss_proto_decode_rejects(s->reply.data, s->reply.len, s->rejects, err, sizeof(err)) < 0) {
        ss_warn("%s: the ack's reject summary is malformed (%s): only its counts are used", e->name,
                err);
        ss_rejects_reset(s->rejects);
    }
    s->on_rejects(s->on_rejects_arg, h->source, h->run_id, h->seq, h->quarantined, s->rejects);
}

static int push(struct ss_sender *s, const char *name)
{
    if (s->head > 0 && s->head + s->n == s->cap) {
        memmove(s->q, s->q + s->head, s->n * sizeof(*s->q));
        s->head = 0;
    }
    if (s->head + s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        struct entry *p = realloc(s->q, ncap * sizeof(*p));
        if (!p)
            return SS_ENOMEM;
        s->q = p;
        s->cap = ncap;
    }
    struct entry *e = &s->q[s->head + s->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    size_t len = strlen(name);
    e->run = len > 4 && strcmp(name + len - 4, ".run") == 0;
    if (!e->run)
        s->batches++;
    return 0;
}

int ss_sender_add(struct ss_sender *s, const char *name)
{
    return push(s, name);
}

int ss_sender_load_outbox(struct ss_sender *s)
{
    char(*names)[SS_OUTBOX_NAME_MAX + 1] = NULL;
    size_t count = 0;
    int rc = ss_outbox_list(s->outbox, &names, &count);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = push(s, names[i]);
    if (count)
        ss_notice("%zu batch%s left in the outbox by an earlier run%s: sending them first",
                  s->batches, s->batches == 1 ? "" : "es",
                  count > s->batches ? " (and run records)" : "");
    ss_outbox_names_free(names);
    return rc;
}

size_t ss_sender_pending(const struct ss_sender *s)
{
    return s->n;
}

size_t ss_sender_pending_batches(const struct ss_sender *s)
{
    return s->batches;
}

int ss_sender_connected(struct ss_sender *s)
{
    int events = 0;
    size_t elen = sizeof(events);
    return s->in_flight > 0 ||
           (zmq_getsockopt(s->sock, ZMQ_EVENTS, &events, &elen) == 0 && (events & ZMQ_POLLOUT));
}

long long ss_sender_last_progress(const struct ss_sender *s)
{
    return s->last_progress;
}

const struct ss_sender_stats *ss_sender_stats(const struct ss_sender *s)
{
    return &s->st;
}

int ss_sender_refused(const struct ss_sender *s)
{
    return s->refused_conversation;
}

/* Removes entry i (acked or refused), keeping order. */
static void drop(struct ss_sender *s, size_t i)
{
    struct entry *base = s->q + s->head;
    if (base[i].in_flight) {
        s->in_flight--;
        s->bytes_in_flight -= base[i].bytes;
    }
    if (!base[i].run)
        s->batches--;
    memmove(base + i, base + i + 1, (s->n - i - 1) * sizeof(*base));
    s->n--;
}

/* Would e overflow the byte window? One entry always fits. */
static int window_full(const struct ss_sender *s, const struct entry *e)
{
    return s->in_flight > 0 && s->bytes_in_flight + e->bytes > SS_SENDER_WINDOW_BYTES;
}

/* Tries to send entry e. Returns 1 sent, 0 not now (no live connection, or
 * the byte window is full), or SS_EINVAL: the batch was unreadable (moved
 * aside). */
static int send_entry(struct ss_sender *s, struct entry *e)
{
    struct ss_header h;
    char err[1024];
    int events = 0;
    size_t elen = sizeof(events);
    /* Not writable: no live connection (ZMQ_IMMEDIATE) or the pipe is full. */
    if (zmq_getsockopt(s->sock, ZMQ_EVENTS, &events, &elen) < 0 || !(events & ZMQ_POLLOUT))
        return 0;
    int rc = ss_outbox_load(s->outbox, e->name, &h, &s->header, &s->payload, err, sizeof(err));
    if (rc < 0) {
        ss_error("%s: moved to refused/", err);
        ss_outbox_refuse(s->outbox, e->name, err);
        s->st.damaged++;
        return SS_EINVAL;
    }
    memcpy(e->source, h.source, sizeof(e->source));
    memcpy(e->run_id, h.run_id, sizeof(e->run_id));
    e->seq = h.seq;
    e->known = 1;
    e->bytes = s->header.len + (e->run ? 0 : s->payload.len);
    if (window_full(s, e))
        return 0;
    if (zmq_send(s->sock, SS_PROTO_ID, strlen(SS_PROTO_ID), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return 0; /* EAGAIN: no daemon connected yet */
    /* The first frame is queued, so the rest go to the same peer. A run
     * record is a header alone. */
    if (zmq_send(s->sock, s->header.data, s->header.len, e->run ? 0 : ZMQ_SNDMORE) < 0 ||
        (!e->run &&
         zmq_send(s->sock, s->payload.data ? s->payload.data : "", s->payload.len, 0) < 0)) {
        ss_warn("send failed: %s", zmq_strerror(errno));
        return 0;
    }
    if (e->attempts++)
        s->st.resent++;
    else
        s->st.sent++;
    e->in_flight = 1;
    e->deadline = ss_now_ms() + s->opts.ack_timeout_ms;
    s->in_flight++;
    s->bytes_in_flight += e->bytes;
    ss_debug("sent %s (%zu bytes, attempt %u)", e->name, s->payload.len, e->attempts);
    return 1;
}

static int handle_reply(struct ss_sender *s)
{
    zmq_msg_t f;
    char err[1024];
    int nframe = 0, more;
    char id[64] = "";
    ss_buf_reset(&s->reply);
    do {
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f);
            return 0;
        }
        more = zmq_msg_more(&f);
        if (nframe == 0) {
            size_t l = zmq_msg_size(&f) < sizeof(id) - 1 ? zmq_msg_size(&f) : sizeof(id) - 1;
            memcpy(id, zmq_msg_data(&f), l);
            id[l] = '\0';
        } else if (nframe == 1) {
            ss_buf_add(&s->reply, zmq_msg_data(&f), zmq_msg_size(&f));
        }
        nframe++;
        zmq_msg_close(&f);
    } while (more);

    if (ss_proto_check_id(id, strlen(id), 0, err, sizeof(err)) < 0) {
        ss_warn("ignored a reply: %s", err);
        return 0;
    }
    struct ss_header h;
    if (nframe < 2 || ss_proto_decode_header(s->reply.data, s->reply.len, SS_PROTO_HEADER_MAX, &h,
                                             err, sizeof(err)) < 0) {
        ss_warn("ignored a malformed reply: %s", nframe < 2 ? "no header" : err);
        return 0;
    }
    if (h.type != SS_MSG_ACK)
        return 0;
    if (h.status == SS_ACK_REFUSED && strcmp(h.run_id, "unknown") == 0) {
        /* Refused before the daemon could read which batch: the whole
         * conversation is wrong (protocol version). Nothing we resend helps. */
        ss_error("the daemon refused our messages: %s", h.reason);
        s->refused_conversation = 1;
        return SS_EPROTO;
    }
    struct entry *base = s->q + s->head;
    for (size_t i = 0; i < s->n; i++) {
        struct entry *e = &base[i];
        if (!e->known || e->seq != h.seq || strcmp(e->run_id, h.run_id) != 0 ||
            strcmp(e->source, h.source) != 0)
            continue;
        s->last_progress = ss_now_ms();
        ss_backoff_reset(&s->backoff);
        switch (h.status) {
        case SS_ACK_APPLIED:
        case SS_ACK_DUPLICATE:
            if (e->run) {
                s->st.runs++;
                ss_debug("%s: run record %s", e->name, ss_ack_status_name(h.status));
                ss_outbox_remove(s->outbox, e->name);
                break;
            }
            if (h.status == SS_ACK_APPLIED)
                s->st.applied++;
            else
                s->st.duplicates++;
            s->st.accepted += h.accepted;
            s->st.quarantined += h.quarantined;
            if (h.quarantined > 0)
                report_rejects(s, e, &h);
            ss_debug("%s %s: %u accepted, %u quarantined", e->name, ss_ack_status_name(h.status),
                     h.accepted, h.quarantined);
            ss_outbox_remove(s->outbox, e->name);
            break;
        case SS_ACK_REFUSED:
            if (e->run) {
                /* The run's batches are what matters; its record is not
                 * worth stopping for. */
                s->st.runs_refused++;
                ss_warn("run record %s refused by the daemon: %s (kept in refused/)", e->name,
                        h.reason);
                ss_outbox_refuse(s->outbox, e->name, h.reason);
                break;
            }
            s->st.refused++;
            ss_error("batch %s refused by the daemon: %s (kept in refused/)", e->name, h.reason);
            ss_outbox_refuse(s->outbox, e->name, h.reason);
            break;
        }
        drop(s, i);
        return 0;
    }
    return 0; /* an ack for a batch resent and already acked */
}

int ss_sender_pump(struct ss_sender *s, long timeout_ms)
{
    int64_t start = ss_now_ms();
    if (s->refused_conversation)
        return SS_EPROTO;
    for (;;) {
        int64_t now = ss_now_ms();
        struct entry *base = s->q + s->head;

        /* Timeouts: back into the queue, not before the back-off delay. One
         * step of back-off per pass, however many batches timed out in it:
         * they timed out for the same reason. */
        long delay = -1;
        size_t timed_out = 0;
        for (size_t i = 0; i < s->n; i++) {
            struct entry *e = &base[i];
            if (e->in_flight && now >= e->deadline) {
                if (delay < 0)
                    delay = ss_backoff_next(&s->backoff);
                e->in_flight = 0;
                s->in_flight--;
                s->bytes_in_flight -= e->bytes;
                e->deadline = now + delay;
                timed_out++;
            }
        }
        if (timed_out)
            ss_warn("no ack for %zu batch%s after %ld ms; sending again in %ld ms", timed_out,
                    timed_out == 1 ? "" : "es", s->opts.ack_timeout_ms, delay);
        /* Fill the window, oldest first. */
        for (size_t i = 0; i < s->n && s->in_flight < (size_t)s->opts.max_in_flight;) {
            struct entry *e = &base[i];
            if (e->in_flight || (e->attempts && now < e->deadline)) {
                i++;
                continue;
            }
            if (e->bytes && window_full(s, e))
                break; /* oldest first: wait for acks */
            int rc = send_entry(s, e);
            if (rc < 0) {
                drop(s, i);
                continue;
            }
            if (rc == 0)
                break; /* no connection: try later */
            i++;
        }
        /* Wait for replies. */
        long wait = timeout_ms - (long)(ss_now_ms() - start);
        if (wait < 0)
            wait = 0;
        if (s->n == 0)
            return 0;
        if (s->in_flight == 0 && wait > 100)
            wait = 100; /* nothing awaited: come back soon to send */
        /* Wake for the earliest ack deadline, so a short ack_timeout_ms is kept. */
        int64_t now2 = ss_now_ms();
        for (size_t i = 0; i < s->n; i++) {
            const struct entry *e = &s->q[s->head + i];
            if (e->in_flight && e->deadline - now2 < wait)
                wait = e->deadline > now2 ? (long)(e->deadline - now2) : 0;
        }
        zmq_pollitem_t items[2] = {{s->sock, 0, ZMQ_POLLIN, 0}, {s->monitor, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, wait);
        if (rc < 0 && errno != EINTR)
            return zmq_rc();
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN))
            read_monitor(s);
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN)) {
            while (1) {
                int events = 0;
                size_t elen = sizeof(events);
                int hr = handle_reply(s);
                if (hr < 0)
                    return hr;
                if (zmq_getsockopt(s->sock, ZMQ_EVENTS, &events, &elen) < 0 ||
                    !(events & ZMQ_POLLIN))
                    break;
            }
        }
        if (rc < 0 || ss_now_ms() - start >= timeout_ms)
            return 0;
    }
}
