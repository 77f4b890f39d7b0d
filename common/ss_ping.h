/* ss_ping: the protocol's ping, from a collector host to a daemon
 * (docs/protocol.md, "Ping"), for `shelfsync ping`.
 *
 * One DEALER socket, set up as the collector's sender sets its own (the same
 * transport rule, CURVE client keys from a file, ZMQ_IMMEDIATE), connects
 * to one endpoint, sends one `ping` once the connection is up and waits for
 * the `pong`. A socket monitor watches the handshake, so a failure says why:
 * nothing listening, the daemon refused our key, the handshake failed (a
 * wrong server key, or CURVE on one side only), or no answer in time.
 *
 * Lives in common/ (its own library, ssping, which links libzmq) because
 * the admin tool in daemon/ may not depend on collectors/ (docs/hacking.md).
 */
#ifndef SS_PING_H
#define SS_PING_H

#include <stddef.h>

#include "ss_err.h"

struct ss_ping_opts {
    const char *endpoint;          /* tcp://HOST:PORT or ipc://PATH */
    const char *server_public_key; /* the daemon's Z85 public key; NULL: no CURVE */
    const char *secret_key_file;   /* our Z85 secret key; required with server_public_key */
    const char *source;            /* the ping header's "source"; NULL: "shelfsync-ping" */
    long timeout_ms;               /* for the whole ping, connection included */
};

struct ss_ping_result {
    double rtt_ms;       /* ping sent to pong read, once the connection was up */
    double connect_ms;   /* start to the connection ready (handshake done) */
    int version;         /* the protocol version the reply's first frame named */
    int curve;           /* 1: the CURVE handshake succeeded (the daemon admitted our key) */
    char public_key[41]; /* ours, with CURVE ("" without) */
};

/* Pings o->endpoint. Returns 0 with *res filled when the daemon answered
 * with a pong; otherwise a negative code with the reason in err:
 *   -ETIMEDOUT     connected, no pong within the timeout (or never connected
 *                  and no other reason known)
 *   -ECONNREFUSED  could not connect: nothing listening, or host unreachable
 *   -EACCES        the daemon refused our key (not in its allow file)
 *   SS_EPROTO      the handshake failed (a wrong daemon.server_public_key, or
 *                  CURVE on one side only), or the reply was not a pong
 *   SS_ESETUP      an endpoint the transport rule forbids; a libzmq without CURVE
 *   SS_EINVAL      an unreadable or bad secret key
 * res->public_key is set as soon as the key was read, for the messages. */
int ss_ping(const struct ss_ping_opts *o, struct ss_ping_result *res, char *err, size_t errlen);

#endif
