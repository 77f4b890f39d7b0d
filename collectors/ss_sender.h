/* ss_sender: delivers the outbox to the daemon, at least once.
 *
 * A DEALER socket connected to every configured daemon endpoint
 * (ZMQ_IMMEDIATE, so batches only go to a live connection, round-robin).
 * Up to max_in_flight batches, and at most SS_SENDER_WINDOW_BYTES of them
 * (always one, however big), await their ack at once: the daemon holds what
 * a collector has in flight, so this bounds what one collector makes it
 * hold (8 MiB batches x 4 by default). A batch not acked
 * within ack_timeout_ms is sent again after a capped, jittered back-off. An
 * ack (applied or duplicate) removes the batch from the outbox; a refusal
 * moves it to refused/ with its reason. Batches are read back from the
 * outbox for each send, so memory holds only what is on the wire.
 *
 * With server_public_key set the socket is a CURVE client: the secret key
 * is read from secret_key_file (a file or systemd credential, wiped after
 * use), the public key derived from it. Without it, plain TCP is allowed to
 * loopback endpoints only (ss_config_transport_check). A socket monitor
 * reports handshakes the daemon refuses (its ZAP handler does not know our
 * key), so an operator reads why nothing is acked rather than only that.
 *
 * The sender never blocks unless asked to: ss_sender_pump(timeout) does what
 * can be done and waits at most timeout milliseconds for acks.
 */
#ifndef SS_SENDER_H
#define SS_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"
#include "ss_outbox.h"
#include "ss_rejects.h"

struct ss_sender;

#define SS_SENDER_WINDOW_BYTES ((size_t)32 << 20)

struct ss_sender_opts {
    const char *const *endpoints;
    size_t nendpoints;
    long ack_timeout_ms;
    long max_in_flight;
    long backoff_initial_ms;
    long backoff_max_ms;
    size_t max_batch_bytes;        /* bound for reading a batch back */
    const char *server_public_key; /* Z85; NULL: no CURVE */
    const char *secret_key_file;   /* our Z85 secret key; required with server_public_key */
};

struct ss_sender_stats {
    unsigned long sent, resent, applied, duplicates, refused, damaged;
    unsigned long auth_failures;      /* handshakes the daemon refused */
    unsigned long runs, runs_refused; /* run records acked / refused */
    /* records of the batches acked (applied or duplicate): what the
     * warehouse holds of them, loaded or quarantined */
    unsigned long long accepted, quarantined;
};

/* 0 with *out set, or a negative code with err saying what: SS_ESETUP (an
 * endpoint the config may not use, a libzmq without CURVE), SS_EINVAL (an
 * unreadable or bad secret key), SS_ENOMEM, or libzmq's -errno. */
int ss_sender_new(struct ss_sender **out, const struct ss_sender_opts *opts,
                  struct ss_outbox *outbox, char *err, size_t errlen);
void ss_sender_free(struct ss_sender *s);

/* Queues every batch already in the outbox (left by an earlier run).
 * 0, or a negative code (ss_outbox_list's, SS_ENOMEM). */
int ss_sender_load_outbox(struct ss_sender *s);
/* Queues one batch just written to the outbox. 0, or SS_ENOMEM. */
int ss_sender_add(struct ss_sender *s, const char *name);

/* Called for each batch the daemon acks (applied or duplicate) with
 * records quarantined: the batch's source, run and sequence number, how many,
 * and the ack's reject summary (empty when the ack had none or a malformed
 * one, which is warned about: the ack itself still counts). */
typedef void (*ss_sender_rejects_cb)(void *arg, const char *source, const char *run_id,
                                     uint32_t seq, uint32_t quarantined,
                                     const struct ss_rejects *rj);
void ss_sender_on_rejects(struct ss_sender *s, ss_sender_rejects_cb cb, void *arg);

/* Sends, receives acks, resends on timeout; waits up to timeout_ms for an
 * ack when one is awaited. Returns 0, or a fatal error: SS_EPROTO (the
 * daemon refused the conversation: another protocol version), or libzmq's
 * -errno. */
int ss_sender_pump(struct ss_sender *s, long timeout_ms);

/* Batches (and run records) not yet acked or refused. */
size_t ss_sender_pending(const struct ss_sender *s);
/* The batches among them. */
size_t ss_sender_pending_batches(const struct ss_sender *s);
/* 1 when a connection to a daemon is up (something can be sent, or is awaited). */
int ss_sender_connected(struct ss_sender *s);
/* Milliseconds (monotonic) of the last ack; 0 if none yet. */
long long ss_sender_last_progress(const struct ss_sender *s);
const struct ss_sender_stats *ss_sender_stats(const struct ss_sender *s);
/* 1 once the daemon refused the conversation itself (another protocol
 * version): nothing more will be accepted until one side is upgraded. */
int ss_sender_refused(const struct ss_sender *s);

#endif
