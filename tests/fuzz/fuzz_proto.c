/* libFuzzer target for ss_proto's decoders.
 *
 * The first byte chooses small bounds (so the limit paths are reached by
 * short inputs); the rest is handed to each decoder in turn: the protocol id
 * check, the header decoder and the payload reader. Besides what the
 * sanitizers catch, it checks the contract:
 *  - every refusal carries a reason;
 *  - an accepted header has names of the safe character set and known enum
 *    values, and encodes to a header that decodes to the same fields;
 *  - an ack's reject summary keeps its bounds, its texts are terminated,
 *    and one it accepted encodes within the budget and decodes the same;
 *  - every record the payload reader hands over keeps the bounds, its values
 *    lie inside the input, and re-encoding the records gives back exactly the
 *    bytes the reader consumed (the format has one encoding per record).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ss_buf.h"
#include "ss_proto.h"
#include "ss_rejects.h"

#define FUZZ_MAX_FIELDS 7

static void check_err(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);
    if (n == 0 || n == errlen)
        __builtin_trap();
}

/* A name is valid when present; absent (empty) only when optional. */
static void check_name(const char *s, int required)
{
    if (s[0] ? !ss_proto_valid_name(s) : required)
        __builtin_trap();
}

/* Compares what the encoder writes for a's type: a pong carries only its
 * type (a decoder accepts the other members, but nothing needs them). */
static int same_header(const struct ss_header *a, const struct ss_header *b)
{
    if (a->type == SS_MSG_PONG)
        return b->type == SS_MSG_PONG;
    return a->type == b->type && strcmp(a->source, b->source) == 0 &&
           strcmp(a->run_id, b->run_id) == 0 && a->seq == b->seq &&
           strcmp(a->dataset, b->dataset) == 0 && a->records == b->records &&
           a->fields == b->fields && a->last == b->last && a->status == b->status &&
           a->accepted == b->accepted && a->quarantined == b->quarantined &&
           strcmp(a->reason, b->reason) == 0 && a->partial == b->partial &&
           (a->type != SS_MSG_RUN ||
            (a->event == b->event && strcmp(a->at, b->at) == 0 &&
             (a->event == SS_RUN_BEGIN
                  ? strcmp(a->kind, b->kind) == 0 && strcmp(a->config, b->config) == 0 &&
                        a->full == b->full
                  : a->outcome == b->outcome && a->exit_status == b->exit_status &&
                        a->bytes == b->bytes && a->nrecords == b->nrecords &&
                        a->rejected == b->rejected && a->batches == b->batches &&
                        a->refused == b->refused && strcmp(a->error, b->error) == 0)));
}

static void fuzz_id(const uint8_t *data, size_t size)
{
    char err[256];
    err[0] = '\0';
    int rc = ss_proto_check_id(data, size, 1, err, sizeof(err));
    int v2 = size == strlen(SS_PROTO_ID) && memcmp(data, SS_PROTO_ID, size) == 0;
    int v1 = size == strlen(SS_PROTO_ID_V1) && memcmp(data, SS_PROTO_ID_V1, size) == 0;
    if (rc == 2 ? !v2 : rc == 1 ? !v1 : (rc >= 0 || v1 || v2))
        __builtin_trap();
    if (rc < 0) {
        check_err(err, sizeof(err));
        /* The peer's bytes are quoted, but only printable ones. */
        for (const char *p = err; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                __builtin_trap();
    }
    /* A short error buffer truncates, never overflows. */
    char tiny[8];
    if (rc < 0 && (ss_proto_check_id(data, size, 1, tiny, sizeof(tiny)) >= 0 ||
                   strnlen(tiny, sizeof(tiny)) != sizeof(tiny) - 1))
        __builtin_trap();
}

static void fuzz_header(const uint8_t *data, size_t size, size_t max_len)
{
    struct ss_header h, again;
    char err[256];
    struct ss_buf enc;

    err[0] = '\0';
    int rc = ss_proto_decode_header(data, size, max_len, &h, err, sizeof(err));
    if (rc != 0) {
        if (rc >= 0)
            __builtin_trap();
        check_err(err, sizeof(err));
        return;
    }
    if (size > max_len)
        __builtin_trap();
    if ((unsigned)h.type > SS_MSG_PONG || (unsigned)h.status > SS_ACK_REFUSED)
        __builtin_trap();
    int named = h.type != SS_MSG_PONG;
    check_name(h.source, named);
    check_name(h.run_id, named);
    if (h.type == SS_MSG_BATCH)
        check_name(h.dataset, 1);
    else if (h.dataset[0])
        __builtin_trap();
    if (h.last != 0 && h.last != 1)
        __builtin_trap();
    if (strnlen(h.reason, sizeof(h.reason)) == sizeof(h.reason))
        __builtin_trap();

    /* Round trip: what was accepted encodes to a header that decodes the same. */
    ss_buf_init(&enc, 1 << 16);
    if (ss_proto_encode_header(&h, &enc) != 0)
        __builtin_trap();
    if (ss_proto_decode_header(enc.data, enc.len, enc.len, &again, err, sizeof(err)) != 0 ||
        !same_header(&h, &again))
        __builtin_trap();
    ss_buf_free(&enc);
}

static void check_text(const char *s, size_t size)
{
    if (strnlen(s, size) == size)
        __builtin_trap();
}

static void check_rejects(const struct ss_rejects *rj)
{
    if (rj->nreasons > SS_REJECTS_REASONS || rj->nlines > SS_REJECTS_LINES)
        __builtin_trap();
    for (size_t i = 0; i < rj->nreasons; i++) {
        check_text(rj->reasons[i].reason, sizeof(rj->reasons[i].reason));
        check_text(rj->reasons[i].field, sizeof(rj->reasons[i].field));
    }
    for (size_t i = 0; i < rj->nlines; i++) {
        check_text(rj->lines[i].reason, sizeof(rj->lines[i].reason));
        check_text(rj->lines[i].field, sizeof(rj->lines[i].field));
        check_text(rj->lines[i].raw, sizeof(rj->lines[i].raw));
    }
}

static struct ss_rejects fz_rj, fz_again;

static void fuzz_rejects(const uint8_t *data, size_t size)
{
    char err[256];
    struct ss_header h;
    struct ss_buf enc;

    err[0] = '\0';
    int rc = ss_proto_decode_rejects(data, size, &fz_rj, err, sizeof(err));
    if (rc < 0) {
        check_err(err, sizeof(err));
        return;
    }
    if (rc > 1)
        __builtin_trap();
    check_rejects(&fz_rj);
    if (rc == 0 || fz_rj.total == 0)
        return;
    /* What was accepted goes out again within the budget. */
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_ACK;
    strcpy(h.source, "s");
    strcpy(h.run_id, "r");
    ss_buf_init(&enc, SS_PROTO_HEADER_MAX);
    if (ss_proto_encode_ack(&h, &fz_rj, &enc) != 0 || enc.len > SS_PROTO_ACK_REJECTS_MAX)
        __builtin_trap();
    if (ss_proto_decode_rejects(enc.data, enc.len, &fz_again, err, sizeof(err)) != 1)
        __builtin_trap();
    check_rejects(&fz_again);
    ss_buf_free(&enc);
}

static void fuzz_payload(const uint8_t *data, size_t size, size_t max_fields,
                         size_t max_field_bytes)
{
    struct ss_payload_reader r;
    const char *vals[FUZZ_MAX_FIELDS];
    size_t lens[FUZZ_MAX_FIELDS];
    struct ss_prec rec = {.vals = vals, .lens = lens};
    struct ss_buf enc;
    char err[256];
    int rc;

    ss_buf_init(&enc, size + 1);
    ss_payload_reader_init(&r, data, size, max_fields, max_field_bytes);
    const unsigned char *start = data, *end = data + size;
    for (;;) {
        const unsigned char *before = r.p;
        uint32_t index = r.index;
        err[0] = '\0';
        rc = ss_payload_next(&r, &rec, err, sizeof(err));
        if (rc != 1) {
            /* At the end or refused: the reader has not moved. */
            if (r.p != before || r.index != index)
                __builtin_trap();
            break;
        }
        if (r.p <= before || r.p > end || r.index != index + 1)
            __builtin_trap();
        if (rec.flags & ~SS_REC_REJECTED || rec.nfields > max_fields)
            __builtin_trap();
        for (size_t i = 0; i < rec.nfields; i++) {
            if (!vals[i]) {
                if (lens[i] != 0)
                    __builtin_trap();
                continue;
            }
            const unsigned char *v = (const unsigned char *)vals[i];
            if (lens[i] > max_field_bytes || v < before || v > r.p || lens[i] > (size_t)(r.p - v))
                __builtin_trap();
        }
        if (ss_payload_add(&enc, rec.line, rec.flags, rec.nfields, vals, lens) != 0)
            __builtin_trap();
    }
    if (rc == 0) {
        if (r.p != end)
            __builtin_trap();
    } else {
        if (rc >= 0)
            __builtin_trap();
        check_err(err, sizeof(err));
    }
    /* The records read re-encode to exactly the bytes consumed. */
    size_t consumed = (size_t)(r.p - start);
    if (enc.len != consumed || (consumed && memcmp(enc.data, start, consumed) != 0))
        __builtin_trap();
    ss_buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned ctl = data[0];
    data++;
    size--;

    fuzz_id(data, size);
    /* 64..256 bytes, or (7) room for reasons over SS_PROTO_REASON_MAX */
    fuzz_header(data, size, (ctl & 7) == 7 ? 65536 : 64 + (ctl & 7) * 32);
    fuzz_rejects(data, size);
    fuzz_payload(data, size, ctl & 7, /* 0..7 fields */
                 (ctl >> 3) * 2);     /* 0..62 bytes a field */
    return 0;
}
