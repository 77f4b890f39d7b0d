/* ss_ping: see ss_ping.h. */
#include "ss_ping.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "ss_buf.h"
#include "ss_config.h"
#include "ss_proto.h"
#include "ss_secret.h"

/* A monotonic clock in microseconds: a loopback round trip is well under
 * a millisecond. */
static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* What the socket monitor has seen of the connection so far. */
struct seen {
    int connected;     /* a TCP (or ipc) connection was made */
    int retried;       /* a connection attempt failed and will be retried */
    int handshake_ok;  /* the ZMTP (and CURVE) handshake completed */
    int auth_refused;  /* the daemon's ZAP handler refused our key */
    unsigned zap_code; /* its status */
    int proto_failed;  /* the handshake failed otherwise */
    unsigned proto_code;
    int disconnected; /* a connection closed before the handshake completed */
};

/* Our key pair and the daemon's public key, as ss_sender sets them; the
 * secret is wiped once libzmq has it. */
static int set_curve(void *sock, const struct ss_ping_opts *o, struct ss_ping_result *res,
                     char *err, size_t errlen)
{
    char why[1024];
    int rc = SS_EINVAL;
    if (!zmq_has("curve")) {
        snprintf(err, errlen, "this libzmq has no CURVE support (built without libsodium)");
        return SS_ESETUP;
    }
    if (!o->secret_key_file) {
        snprintf(err, errlen, "a CURVE ping needs this collector's secret key file");
        return SS_EINVAL;
    }
    if (strlen(o->server_public_key) != 40) {
        snprintf(err, errlen, "the daemon's public key must be 40 characters of Z85");
        return SS_EINVAL;
    }
    char *secret = ss_secret_read(o->secret_key_file, why, sizeof(why));
    if (!secret) {
        snprintf(err, errlen, "%s", why);
        return SS_EINVAL;
    }
    if (strlen(secret) != 40 || zmq_curve_public(res->public_key, secret) < 0) {
        res->public_key[0] = '\0';
        snprintf(err, errlen,
                 "%s: not a Z85 CURVE secret key (40 characters, as `shelfsync keygen` writes)",
                 o->secret_key_file);
        goto out;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, o->server_public_key, 40) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, res->public_key, 40) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, 40) < 0) {
        snprintf(err, errlen, "cannot set the CURVE keys: %s", zmq_strerror(errno));
        goto out;
    }
    rc = 0;
out:
    ss_secret_free(secret);
    return rc;
}

/* Reads every monitor event waiting (frame 1: u16 event, u32 value; frame
 * 2: the endpoint) into s. */
static void read_events(void *mon, struct seen *s)
{
    for (;;) {
        zmq_msg_t m;
        unsigned char ev[6];
        int have = 0, more;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        if (zmq_msg_size(&m) >= 6) {
            memcpy(ev, zmq_msg_data(&m), 6);
            have = 1;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) { /* the endpoint frame */
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, mon, 0) < 0)
                more = 0;
            else
                more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (!have)
            continue;
        uint16_t event;
        uint32_t value;
        memcpy(&event, ev, 2);
        memcpy(&value, ev + 2, 4);
        if (event == ZMQ_EVENT_CONNECTED)
            s->connected = 1;
        else if (event == ZMQ_EVENT_CONNECT_RETRIED)
            s->retried = 1;
        else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            s->handshake_ok = 1;
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            s->auth_refused = 1, s->zap_code = value;
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                 event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            s->proto_failed = 1, s->proto_code = value;
        else if (event == ZMQ_EVENT_DISCONNECTED && !s->handshake_ok)
            s->disconnected = 1;
    }
}

/* The reason a ping got no pong, from what the monitor saw: the code, the
 * message in err. */
static int why_no_pong(const struct ss_ping_opts *o, const struct ss_ping_result *res,
                       const struct seen *s, char *err, size_t errlen)
{
    if (s->auth_refused) {
        snprintf(err, errlen,
                 "%s: the daemon refused this key (ZAP status %u): ask its operator to add the "
                 "public key %s to the daemon's allow file",
                 o->endpoint, s->zap_code, res->public_key[0] ? res->public_key : "(none)");
        return -EACCES;
    }
    if (s->proto_failed || (s->connected && !s->handshake_ok && s->disconnected)) {
        if (o->server_public_key)
            snprintf(err, errlen,
                     "%s: the CURVE handshake failed (the daemon closed the connection): check "
                     "that \"daemon.server_public_key\" is the daemon's public key and that the "
                     "daemon uses CURVE",
                     o->endpoint);
        else
            snprintf(err, errlen,
                     "%s: the handshake failed: the daemon wants CURVE; ping with a collector "
                     "config that has \"daemon.server_public_key\"",
                     o->endpoint);
        return SS_EPROTO;
    }
    if (!s->connected) {
        snprintf(err, errlen,
                 "%s: could not connect within %ld ms (%s): is shelfsyncd running and listening "
                 "there, and %s",
                 o->endpoint, o->timeout_ms,
                 s->retried ? "connection refused" : "no connection made",
                 strncmp(o->endpoint, "ipc://", 6) == 0 ? "may this user open the socket file?"
                                                        : "does a firewall let it through?");
        return s->retried ? -ECONNREFUSED : -ETIMEDOUT;
    }
    snprintf(err, errlen,
             "%s: connected, but no answer within %ld ms (the daemon may be busy applying a "
             "batch, or this is not shelfsyncd)",
             o->endpoint, o->timeout_ms);
    return -ETIMEDOUT;
}

/* Sends the ping: 0, or a negative code with err. */
static int send_ping(void *sock, const struct ss_ping_opts *o, char *err, size_t errlen)
{
    struct ss_header h;
    struct ss_buf b;
    int rc;
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_PING;
    snprintf(h.source, sizeof(h.source), "%s", o->source ? o->source : "shelfsync-ping");
    snprintf(h.run_id, sizeof(h.run_id), "ping");
    ss_buf_init(&b, SS_PROTO_HEADER_MAX);
    rc = ss_proto_encode_header(&h, &b);
    if (rc == 0 &&
        (zmq_send(sock, SS_PROTO_ID, strlen(SS_PROTO_ID), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
         zmq_send(sock, b.data, b.len, ZMQ_DONTWAIT) < 0)) {
        rc = -zmq_errno();
        snprintf(err, errlen, "%s: cannot send the ping: %s", o->endpoint, zmq_strerror(-rc));
    } else if (rc < 0) {
        snprintf(err, errlen, "cannot encode the ping (source \"%s\")", h.source);
    }
    ss_buf_free(&b);
    return rc;
}

/* Reads one reply: 0 for a pong (res->version set), SS_EPROTO with err for
 * anything else (a refusal's reason quoted). */
static int read_reply(void *sock, const struct ss_ping_opts *o, struct ss_ping_result *res,
                      char *err, size_t errlen)
{
    char frames[2][SS_PROTO_HEADER_MAX];
    int len[2] = {0, 0}, n = 0, more = 1;
    char why[600];
    while (more) {
        char scratch[1];
        int got = n < 2 ? zmq_recv(sock, frames[n], sizeof(frames[n]), 0)
                        : zmq_recv(sock, scratch, sizeof(scratch), 0);
        if (got < 0) {
            snprintf(err, errlen, "%s: cannot read the reply: %s", o->endpoint,
                     zmq_strerror(errno));
            return SS_EPROTO;
        }
        if (n < 2)
            len[n] = got > (int)sizeof(frames[n]) ? (int)sizeof(frames[n]) : got;
        n++;
        int m = 0;
        size_t ml = sizeof(m);
        zmq_getsockopt(sock, ZMQ_RCVMORE, &m, &ml);
        more = m;
    }
    if (n < 2) {
        snprintf(err, errlen, "%s: a reply of %d frame%s: not shelfsyncd", o->endpoint, n,
                 n == 1 ? "" : "s");
        return SS_EPROTO;
    }
    int v = ss_proto_check_id(frames[0], (size_t)len[0], 1, why, sizeof(why));
    if (v < 0) {
        snprintf(err, errlen, "%s: the reply is not ours: %s", o->endpoint, why);
        return SS_EPROTO;
    }
    struct ss_header h;
    if (ss_proto_decode_header(frames[1], (size_t)len[1], SS_PROTO_HEADER_MAX, &h, why,
                               sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: the reply's header is invalid: %s", o->endpoint, why);
        return SS_EPROTO;
    }
    if (h.type == SS_MSG_ACK && h.status == SS_ACK_REFUSED) {
        snprintf(err, errlen, "%s: the daemon refused the ping: %s", o->endpoint, h.reason);
        return SS_EPROTO;
    }
    if (h.type != SS_MSG_PONG) {
        snprintf(err, errlen, "%s: the daemon answered the ping with something else than a pong",
                 o->endpoint);
        return SS_EPROTO;
    }
    res->version = v;
    return 0;
}

/* Polls until the pong, a decisive failure or the deadline. */
static int exchange(void *sock, void *mon, const struct ss_ping_opts *o, struct ss_ping_result *res,
                    char *err, size_t errlen)
{
    struct seen s = {0};
    int64_t start = now_us(), deadline = start + (int64_t)o->timeout_ms * 1000, sent_at = 0;
    for (;;) {
        int64_t now = now_us();
        if (now >= deadline)
            break;
        zmq_pollitem_t it[2] = {{sock, 0, (short)(sent_at ? ZMQ_POLLIN : ZMQ_POLLOUT), 0},
                                {mon, 0, ZMQ_POLLIN, 0}};
        long wait = (long)((deadline - now + 999) / 1000);
        if (zmq_poll(it, 2, wait > 100 ? 100 : wait) < 0 && zmq_errno() != EINTR) {
            snprintf(err, errlen, "cannot poll the socket: %s", zmq_strerror(errno));
            return -zmq_errno();
        }
        read_events(mon, &s);
        /* libzmq would reconnect and be refused again: the answer is known. */
        if (s.auth_refused || s.proto_failed ||
            (o->server_public_key && s.connected && s.disconnected && !s.handshake_ok))
            break;
        if (!sent_at && (it[0].revents & ZMQ_POLLOUT)) {
            int rc = send_ping(sock, o, err, errlen);
            if (rc < 0)
                return rc;
            sent_at = now_us();
            res->connect_ms = (double)(sent_at - start) / 1000.0;
        } else if (sent_at && (it[0].revents & ZMQ_POLLIN)) {
            int rc = read_reply(sock, o, res, err, errlen);
            res->rtt_ms = (double)(now_us() - sent_at) / 1000.0;
            if (rc == 0)
                res->curve = o->server_public_key != NULL;
            return rc;
        }
    }
    read_events(mon, &s);
    return why_no_pong(o, res, &s, err, errlen);
}

int ss_ping(const struct ss_ping_opts *o, struct ss_ping_result *res, char *err, size_t errlen)
{
    int one = 1, linger = 0, ivl = 100, ivl_max = 1000, rc;
    void *ctx = zmq_ctx_new(), *sock = NULL, *mon = NULL;
    char ep[64];

    memset(res, 0, sizeof(*res));
    if (!ctx || !(sock = zmq_socket(ctx, ZMQ_DEALER))) {
        snprintf(err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        rc = -zmq_errno();
        goto out;
    }
    if ((rc = ss_config_transport_check(o->endpoint, 0, o->server_public_key != NULL, 0, err,
                                        errlen)) < 0) {
        rc = SS_ESETUP;
        goto out;
    }
    zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof(one));
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
    if (o->server_public_key && (rc = set_curve(sock, o, res, err, errlen)) < 0)
        goto out;
    snprintf(ep, sizeof(ep), "inproc://ss-ping-monitor-%p", (void *)sock);
    if (zmq_socket_monitor(sock, ep, ZMQ_EVENT_ALL) < 0 || !(mon = zmq_socket(ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof(linger)) < 0 || zmq_connect(mon, ep) < 0 ||
        zmq_connect(sock, o->endpoint) < 0) {
        rc = -zmq_errno();
        snprintf(err, errlen, "%s: cannot connect: %s", o->endpoint, zmq_strerror(-rc));
        goto out;
    }
    rc = exchange(sock, mon, o, res, err, errlen);
out:
    if (sock && mon)
        zmq_socket_monitor(sock, NULL, 0);
    if (mon)
        zmq_close(mon);
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}
