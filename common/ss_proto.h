/* ss_proto: wire protocol v2 between shelfsync-collect and shelfsyncd
 * (docs/protocol.md is the specification; this module is its only code).
 *
 * A message is a ZeroMQ multipart message:
 *   frame 0  protocol id, the ASCII bytes "shelfsync/2" (a daemon also
 *            accepts "shelfsync/1": batches without run records)
 *   frame 1  header, a JSON object (at most max_header bytes, never more
 *            than SS_PROTO_HEADER_MAX)
 *   frame 2  payload, only for "batch": the records, binary (below)
 * A "run" message (header only) records the beginning and the end of a
 * collector run, so the warehouse knows every run, the ones that sent
 * nothing included, and which were cut short.
 * The ROUTER side sees the peer's routing id in front of these.
 *
 * Payload: records back to back, each
 *   u32 line      source line (or record number) the record came from
 *   u8  flags     SS_REC_REJECTED: the collector could not read the record;
 *                 its two fields are the reason and the raw text
 *   u16 nfields
 *   nfields × ( u32 length, 0xFFFFFFFF for "absent"; then length bytes )
 * all integers little-endian. Field values are raw bytes (UTF-8 text); the
 * daemon validates them.
 *
 * Everything here works on plain buffers, so it can be tested and fuzzed
 * without sockets. Decoders never trust a length before checking it against
 * the bytes that remain and the configured bounds.
 */
#ifndef SS_PROTO_H
#define SS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_err.h"

#define SS_PROTO_ID "shelfsync/2"
#define SS_PROTO_ID_V1 "shelfsync/1"
#define SS_PROTO_ID_PREFIX "shelfsync/"
#define SS_PROTO_VERSION 2

/* The most a header frame holds, either way: what the collector allocates
 * for encoding, reading back and acks, and the ceiling of the daemon's
 * limits.max_header_bytes. A header is small (names, counts, a reason of
 * SS_PROTO_REASON_MAX): this is a bound, not a size. */
#define SS_PROTO_HEADER_MAX (64 * 1024)
#define SS_PROTO_NAME_MAX 64 /* source, run_id, dataset */
#define SS_PROTO_REASON_MAX 512
/* An ack's reject summary is cut to fit this (well under the header bound). */
#define SS_PROTO_ACK_REJECTS_MAX (48 * 1024)
#define SS_PROTO_AS_OF_MAX 20 /* "2024-05-01T10:00:00Z" */
#define SS_FIELD_ABSENT 0xFFFFFFFFu
#define SS_REC_REJECTED 0x01u

enum ss_msg_type {
    SS_MSG_BATCH, /* collector -> daemon */
    SS_MSG_PING,  /* collector -> daemon: are you there? */
    SS_MSG_ACK,   /* daemon -> collector: the outcome of one batch or run record */
    SS_MSG_PONG,  /* daemon -> collector */
    SS_MSG_RUN,   /* collector -> daemon (v2): a run began or ended */
};

enum ss_run_event {
    SS_RUN_BEGIN, /* seq 0, before any batch of the run */
    SS_RUN_END,   /* seq = batches + 1, after the last */
};

/* How a run ended, as the collector saw it (docs/protocol.md). */
enum ss_run_outcome {
    SS_RUN_COMPLETE,  /* everything fetched (delivered, or waiting in the outbox) */
    SS_RUN_PARTIAL,   /* some records read, not all: cut short, capped, columns unread */
    SS_RUN_UNCHANGED, /* nothing new since the cursor; nothing sent */
    SS_RUN_EMPTY,     /* the export held no record */
    SS_RUN_FAILED,    /* nothing could be read */
    SS_RUN_REFUSED,   /* the daemon refused batches of the run */
};

enum ss_ack_status {
    SS_ACK_APPLIED,   /* committed to the warehouse */
    SS_ACK_DUPLICATE, /* this (source, run_id, seq) was committed before; not applied again */
    SS_ACK_REFUSED,   /* permanent: will never be applied (reason says why) */
};

struct ss_header {
    enum ss_msg_type type;
    char source[SS_PROTO_NAME_MAX + 1];
    char run_id[SS_PROTO_NAME_MAX + 1];
    uint32_t seq;
    /* batch */
    char dataset[SS_PROTO_NAME_MAX + 1];
    uint32_t records;
    uint32_t fields; /* fields per record */
    int last;        /* last batch of its run */
    int partial;     /* batch: the fetch was cut short (with last) */
    /* batch, optional (v2, since 011): the date the data describes, as the
     * collector knows it -- "2016-07-01" or "2024-05-01T10:00:00Z", "" when
     * it knows none -- and where it came from: "config" (the config's
     * as_of) or "last-modified" (the export's Last-Modified). */
    char as_of[SS_PROTO_AS_OF_MAX + 1];
    char as_of_basis[16];
    /* run (v2) */
    enum ss_run_event event;
    char kind[SS_PROTO_NAME_MAX + 1];    /* begin: the source kind */
    char config[SS_PROTO_NAME_MAX + 1];  /* begin: the config's identity (hex) */
    int full;                            /* begin: fetched in full, not incrementally */
    char at[40];                         /* begin: started, end: ended (ISO 8601 UTC) */
    enum ss_run_outcome outcome;         /* end */
    uint32_t exit_status;                /* end: the collector's exit status */
    uint64_t bytes, nrecords, rejected;  /* end: body bytes, records sent, rejected by it */
    uint32_t batches, refused;           /* end: batches made, batches the daemon refused */
    char error[SS_PROTO_REASON_MAX + 1]; /* end: what went wrong, "" if nothing */
    /* end, optional (since 013): batches still unacknowledged in the
     * collector's outbox when the run ended (the end record itself not
     * counted); has_outbox 0 when the peer did not say (an older one). */
    int has_outbox;
    uint32_t outbox_batches;
    /* ack */
    enum ss_ack_status status;
    uint32_t accepted;
    uint32_t quarantined;
    char reason[SS_PROTO_REASON_MAX + 1];
};

/* Encodes h as the header frame into out (reset first). 0, SS_EINVAL (a
 * name or text JSON cannot hold), SS_ENOMEM or ss_buf's SS_E2BIG. */
int ss_proto_encode_header(const struct ss_header *h, struct ss_buf *out);

struct ss_rejects; /* ss_rejects.h */

/* An ack's header frame with the optional "rejects" summary (since 014;
 * an older collector ignores it): as ss_proto_encode_header, plus rj when
 * it counts any record, kept within SS_PROTO_ACK_REJECTS_MAX bytes by
 * leaving out its last lines, then its last reasons (counted as "other"). */
int ss_proto_encode_ack(const struct ss_header *h, const struct ss_rejects *rj, struct ss_buf *out);

/* The "rejects" member of an ack header frame into rj: 1 when there is
 * one, 0 when there is none (rj emptied), SS_EPROTO with a reason in err
 * when it is malformed (the ack itself still counts: decoded apart from
 * it by ss_proto_decode_header). */
int ss_proto_decode_rejects(const void *frame, size_t len, struct ss_rejects *rj, char *err,
                            size_t errlen);

/* Checks frame 0. Returns the version (2 for SS_PROTO_ID; 1 for
 * SS_PROTO_ID_V1 when accept_v1); otherwise SS_EPROTO with a reason fit for a
 * refusal ("unsupported protocol version \"shelfsync/3\"; this peer speaks
 * shelfsync/2"). */
int ss_proto_check_id(const void *frame, size_t len, int accept_v1, char *err, size_t errlen);

/* Decodes and checks a header frame: a JSON object within max_len bytes,
 * every known member of the right type and bounds, names of the safe
 * character set. Unknown members are ignored (so v1 peers can add optional
 * ones). Returns 0, or SS_EPROTO with a reason in err. */
int ss_proto_decode_header(const void *frame, size_t len, size_t max_len, struct ss_header *h,
                           char *err, size_t errlen);

/* 1 if s is a batch's as_of: YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ (UTC),
 * with a month 01-12, a day 01-31 and a time 00:00:00-23:59:60. */
int ss_proto_valid_as_of(const char *s);

/* 1 if s is 1..SS_PROTO_NAME_MAX of [A-Za-z0-9._:-]. */
int ss_proto_valid_name(const char *s);

const char *ss_ack_status_name(enum ss_ack_status s);
const char *ss_run_outcome_name(enum ss_run_outcome o);
/* A UTC time as ISO 8601 ("2024-05-01T02:00:00Z") for the run record. */
void ss_proto_time(char *dst, size_t len, long long unix_seconds);

/* Appends one record to a payload. vals[i] NULL means absent. Returns 0,
 * SS_E2BIG when the payload buffer's maximum would be passed (nothing
 * appended) or a field is too long for the format, SS_EINVAL past 65535
 * fields, or SS_ENOMEM. */
int ss_payload_add(struct ss_buf *payload, uint32_t line, unsigned flags, size_t nfields,
                   const char *const *vals, const size_t *lens);

struct ss_payload_reader {
    const unsigned char *p;
    const unsigned char *end;
    size_t max_fields;
    size_t max_field_bytes;
    uint32_t index; /* records read so far */
};

struct ss_prec {
    uint32_t line;
    unsigned flags;
    size_t nfields;
    const char **vals; /* caller's array of max_fields; NULL for absent; NOT NUL-terminated */
    size_t *lens;
};

void ss_payload_reader_init(struct ss_payload_reader *r, const void *payload, size_t len,
                            size_t max_fields, size_t max_field_bytes);
/* Returns 1 (a count: one record) with the next record in rec, 0 at a clean
 * end, SS_EPROTO with a reason in err if the payload is malformed (the whole
 * payload must then be refused). */
int ss_payload_next(struct ss_payload_reader *r, struct ss_prec *rec, char *err, size_t errlen);

#endif
