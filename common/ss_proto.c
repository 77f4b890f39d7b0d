/* ss_proto: see ss_proto.h and docs/protocol.md. */
#include "ss_proto.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ss_err.h"
#include "ss_rejects.h"
#include "ss_text.h"

static const char *const type_names[] = {
    [SS_MSG_BATCH] = "batch", [SS_MSG_PING] = "ping", [SS_MSG_ACK] = "ack",
    [SS_MSG_PONG] = "pong",   [SS_MSG_RUN] = "run",
};

static const char *const event_names[] = {
    [SS_RUN_BEGIN] = "begin",
    [SS_RUN_END] = "end",
};

static const char *const outcome_names[] = {
    [SS_RUN_COMPLETE] = "complete", [SS_RUN_PARTIAL] = "partial", [SS_RUN_UNCHANGED] = "unchanged",
    [SS_RUN_EMPTY] = "empty",       [SS_RUN_FAILED] = "failed",   [SS_RUN_REFUSED] = "refused",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const status_names[] = {
    [SS_ACK_APPLIED] = "applied",
    [SS_ACK_DUPLICATE] = "duplicate",
    [SS_ACK_REFUSED] = "refused",
};

const char *ss_ack_status_name(enum ss_ack_status s)
{
    return (unsigned)s < NELEM(status_names) ? status_names[s] : "?";
}

const char *ss_run_outcome_name(enum ss_run_outcome o)
{
    return (unsigned)o < NELEM(outcome_names) ? outcome_names[o] : "?";
}

void ss_proto_time(char *dst, size_t len, long long unix_seconds)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(dst, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ss_proto_valid_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
        if (n >= SS_PROTO_NAME_MAX)
            return 0;
    }
    return n > 0;
}

static int set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, json_string(v));
}

static int set_int(json_t *o, const char *k, long long v)
{
    return json_object_set_new(o, k, json_integer(v));
}

/* The members of h into the object o. 0, SS_EINVAL or SS_ENOMEM. */
static int header_members(const struct ss_header *h, json_t *o)
{
    int rc = SS_ENOMEM;

    if ((unsigned)h->type >= sizeof(type_names) / sizeof(type_names[0]))
        return SS_EINVAL;
    if (set_str(o, "type", type_names[h->type]) < 0)
        goto out;
    if (h->type != SS_MSG_PONG) {
        if (set_str(o, "source", h->source) < 0 || set_str(o, "run_id", h->run_id) < 0 ||
            set_int(o, "seq", h->seq) < 0)
            goto out;
    }
    if (h->type == SS_MSG_BATCH) {
        if (set_str(o, "dataset", h->dataset) < 0 || set_int(o, "records", h->records) < 0 ||
            set_int(o, "fields", h->fields) < 0 ||
            json_object_set_new(o, "last", json_boolean(h->last)) < 0)
            goto out;
        if (h->partial && json_object_set_new(o, "partial", json_true()) < 0)
            goto out;
        /* Optional: a daemon that predates it ignores it (unknown members are). */
        if (h->as_of[0] && (!ss_proto_valid_as_of(h->as_of) ||
                            (h->as_of_basis[0] && !ss_proto_valid_name(h->as_of_basis)))) {
            rc = SS_EINVAL;
            goto out;
        }
        if (h->as_of[0] && (set_str(o, "as_of", h->as_of) < 0 ||
                            (h->as_of_basis[0] && set_str(o, "as_of_basis", h->as_of_basis) < 0)))
            goto out;
    } else if (h->type == SS_MSG_RUN) {
        if ((unsigned)h->event >= NELEM(event_names) ||
            (unsigned)h->outcome >= NELEM(outcome_names)) {
            rc = SS_EINVAL;
            goto out;
        }
        if (set_str(o, "event", event_names[h->event]) < 0 ||
            set_str(o, "dataset", h->dataset) < 0 || set_str(o, "at", h->at) < 0)
            goto out;
        if (h->event == SS_RUN_BEGIN) {
            if ((h->kind[0] && set_str(o, "kind", h->kind) < 0) ||
                (h->config[0] && set_str(o, "config", h->config) < 0) ||
                json_object_set_new(o, "full", json_boolean(h->full)) < 0)
                goto out;
        } else {
            if (set_str(o, "outcome", outcome_names[h->outcome]) < 0 ||
                set_int(o, "exit_status", h->exit_status) < 0 ||
                set_int(o, "bytes", (long long)h->bytes) < 0 ||
                set_int(o, "records", (long long)h->nrecords) < 0 ||
                set_int(o, "rejected", (long long)h->rejected) < 0 ||
                set_int(o, "batches", h->batches) < 0 || set_int(o, "refused", h->refused) < 0)
                goto out;
            if (h->error[0] && set_str(o, "error", h->error) < 0)
                goto out;
            /* Optional: a daemon that predates it ignores it. */
            if (h->has_outbox && set_int(o, "outbox_batches", h->outbox_batches) < 0)
                goto out;
        }
    } else if (h->type == SS_MSG_ACK) {
        if (set_str(o, "status", ss_ack_status_name(h->status)) < 0 ||
            set_int(o, "accepted", h->accepted) < 0 ||
            set_int(o, "quarantined", h->quarantined) < 0)
            goto out;
        if (h->reason[0] && set_str(o, "reason", h->reason) < 0)
            goto out;
    }
    rc = 0;
out:
    return rc;
}

/* o as compact JSON into out (reset first). 0, SS_ENOMEM or SS_E2BIG. */
static int dump_into(json_t *o, struct ss_buf *out)
{
    char *text = json_dumps(o, JSON_COMPACT);
    if (!text)
        return SS_ENOMEM;
    ss_buf_reset(out);
    int rc = ss_buf_adds(out, text);
    free(text);
    return rc;
}

int ss_proto_encode_header(const struct ss_header *h, struct ss_buf *out)
{
    json_t *o = json_object();
    if (!o)
        return SS_ENOMEM;
    int rc = header_members(h, o);
    if (rc == 0)
        rc = dump_into(o, out);
    json_decref(o);
    return rc;
}

/* The "rejects" member of an ack (ss_rejects.h): {"total", "other",
 * "reasons": [{"reason", "field", "count"}], "lines": [{"line", "field",
 * "reason", "raw", "raw_cut"}]}. NULL when out of memory. */
static json_t *rejects_object(const struct ss_rejects *rj)
{
    json_t *o = json_object(), *reasons = json_array(), *lines = json_array();
    int bad = !o || !reasons || !lines;
    for (size_t i = 0; !bad && i < rj->nreasons; i++) {
        const struct ss_reject_reason *r = &rj->reasons[i];
        json_t *e = json_pack("{s:s, s:s, s:I}", "reason", r->reason, "field", r->field, "count",
                              (json_int_t)r->count);
        bad = !e || json_array_append_new(reasons, e) < 0;
    }
    for (size_t i = 0; !bad && i < rj->nlines; i++) {
        const struct ss_reject_line *l = &rj->lines[i];
        json_t *e = json_pack("{s:I, s:s, s:s, s:s, s:b}", "line", (json_int_t)l->line, "field",
                              l->field, "reason", l->reason, "raw", l->raw, "raw_cut", l->raw_cut);
        bad = !e || json_array_append_new(lines, e) < 0;
    }
    if (!bad &&
        (set_int(o, "total", rj->total) < 0 || set_int(o, "other", rj->other) < 0 ||
         json_object_set(o, "reasons", reasons) < 0 || json_object_set(o, "lines", lines) < 0))
        bad = 1;
    json_decref(reasons);
    json_decref(lines);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int ss_proto_encode_ack(const struct ss_header *h, const struct ss_rejects *rj, struct ss_buf *out)
{
    json_t *o = json_object(), *r = NULL;
    if (!o)
        return SS_ENOMEM;
    int rc = header_members(h, o);
    if (rc == 0 && rj && rj->total > 0) {
        rc = SS_ENOMEM;
        if (!(r = rejects_object(rj)) || json_object_set(o, "rejects", r) < 0)
            goto out;
        /* Within its budget, whatever the texts hold: the last lines go
         * first, then the last reasons (counted as "other"). */
        json_t *lines = json_object_get(r, "lines"), *reasons = json_object_get(r, "reasons");
        for (;;) {
            if ((rc = dump_into(o, out)) < 0 && rc != SS_E2BIG)
                goto out;
            if (rc == 0 && out->len <= SS_PROTO_ACK_REJECTS_MAX)
                break;
            size_t nl = json_array_size(lines), nr = json_array_size(reasons);
            if (nl > 0) {
                json_array_remove(lines, nl - 1);
            } else if (nr > 0) {
                json_t *last = json_array_get(reasons, nr - 1);
                json_int_t moved = json_integer_value(json_object_get(last, "count"));
                json_int_t other = json_integer_value(json_object_get(r, "other"));
                json_array_remove(reasons, nr - 1);
                set_int(r, "other", other + moved);
            } else {
                break; /* the header alone decides */
            }
        }
        goto out;
    }
    if (rc == 0)
        rc = dump_into(o, out);
out:
    json_decref(r);
    json_decref(o);
    return rc;
}

int ss_proto_check_id(const void *frame, size_t len, int accept_v1, char *err, size_t errlen)
{
    size_t idlen = strlen(SS_PROTO_ID);
    if (len == idlen && memcmp(frame, SS_PROTO_ID, idlen) == 0)
        return SS_PROTO_VERSION;
    if (accept_v1 && len == strlen(SS_PROTO_ID_V1) && memcmp(frame, SS_PROTO_ID_V1, len) == 0)
        return 1;
    /* Quote what the peer said, but only printable ASCII and not much of it. */
    char shown[40];
    size_t n = 0;
    const unsigned char *p = frame;
    for (size_t i = 0; i < len && n < sizeof(shown) - 4; i++)
        shown[n++] = (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"') ? (char)p[i] : '?';
    if (len > n)
        shown[n++] = '.', shown[n++] = '.', shown[n++] = '.';
    shown[n] = '\0';
    if (len > strlen(SS_PROTO_ID_PREFIX) &&
        memcmp(frame, SS_PROTO_ID_PREFIX, strlen(SS_PROTO_ID_PREFIX)) == 0)
        snprintf(err, errlen, "unsupported protocol version \"%s\"; this peer speaks %s%s", shown,
                 SS_PROTO_ID, accept_v1 ? " (and " SS_PROTO_ID_V1 ")" : "");
    else
        snprintf(err, errlen, "not a shelfsync message (first frame \"%s\", expected %s)", shown,
                 SS_PROTO_ID);
    return SS_EPROTO;
}

/* The member key in *v: 1, or 0 when it is absent and need not be there,
 * or SS_EPROTO when it must. */
static int get_member(json_t *o, const char *key, int required, json_t **v, char *err,
                      size_t errlen)
{
    *v = json_object_get(o, key);
    if (*v)
        return 1;
    if (!required)
        return 0;
    snprintf(err, errlen, "header: \"%s\" missing", key);
    return SS_EPROTO;
}

static int get_name(json_t *o, const char *key, char *dst, int required, char *err, size_t errlen)
{
    json_t *v;
    int rc = get_member(o, key, required, &v, err, errlen);
    if (rc <= 0)
        return rc;
    if (!json_is_string(v) || !ss_proto_valid_name(json_string_value(v))) {
        snprintf(err, errlen, "header: \"%s\" must be 1-%d characters of A-Z a-z 0-9 . _ : -", key,
                 SS_PROTO_NAME_MAX);
        return SS_EPROTO;
    }
    strcpy(dst, json_string_value(v));
    return 0;
}

/* An integer member from 0 to max; absent: 0 and *dst unchanged, unless
 * required. */
static int get_uint(json_t *o, const char *key, uint64_t max, uint64_t *dst, int required,
                    char *err, size_t errlen)
{
    json_t *v;
    int rc = get_member(o, key, required, &v, err, errlen);
    if (rc <= 0)
        return rc;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
        if (max == UINT32_MAX)
            snprintf(err, errlen, "header: \"%s\" must be an integer from 0 to %u", key,
                     UINT32_MAX);
        else
            snprintf(err, errlen, "header: \"%s\" must be a non-negative integer", key);
        return SS_EPROTO;
    }
    *dst = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_u32(json_t *o, const char *key, uint32_t *dst, int required, char *err,
                   size_t errlen)
{
    uint64_t v = *dst;
    int rc = get_uint(o, key, UINT32_MAX, &v, required, err, errlen);
    *dst = (uint32_t)v;
    return rc;
}

static int get_u64(json_t *o, const char *key, uint64_t *dst, char *err, size_t errlen)
{
    return get_uint(o, key, UINT64_MAX, dst, 0, err, errlen);
}

static int get_bool(json_t *o, const char *key, int *dst, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        snprintf(err, errlen, "header: \"%s\" must be true or false", key);
        return SS_EPROTO;
    }
    *dst = json_is_true(v);
    return 0;
}

/* A string of any content, cut (between characters) to fit dst. */
static int get_text(json_t *o, const char *key, char *dst, size_t dstlen, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "header: \"%s\" must be a string", key);
        return SS_EPROTO;
    }
    /* Half a UTF-8 character would make the text invalid wherever it goes
     * next (a log, refused/, a header encoded again). */
    const char *rs = json_string_value(v);
    size_t rn = ss_utf8_cut(rs, json_string_length(v), dstlen - 1);
    memcpy(dst, rs, rn);
    dst[rn] = '\0';
    return 0;
}

/* The index of s in names, or -1 if none. */
static int lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

/* A member that names one of names: its index in *dst, or SS_EPROTO saying
 * which words it may be (choices). */
static int get_enum(json_t *o, const char *key, const char *const *names, size_t n,
                    const char *choices, int *dst, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    int i = (v && json_is_string(v)) ? lookup(names, n, json_string_value(v)) : -1;
    if (i < 0) {
        snprintf(err, errlen, "header: \"%s\" must be one of %s", key, choices);
        return SS_EPROTO;
    }
    *dst = i;
    return 0;
}

/* digits of s[0..n-1] as a number from lo to hi, or -1. */
static int two_digits(const char *s, size_t n, int lo, int hi)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

int ss_proto_valid_as_of(const char *s)
{
    size_t n = strlen(s);
    if ((n != 10 && n != 20) || s[4] != '-' || s[7] != '-' || two_digits(s, 4, 1000, 9999) < 0 ||
        two_digits(s + 5, 2, 1, 12) < 0 || two_digits(s + 8, 2, 1, 31) < 0)
        return 0;
    return n == 10 || (s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z' &&
                       two_digits(s + 11, 2, 0, 23) >= 0 && two_digits(s + 14, 2, 0, 59) >= 0 &&
                       two_digits(s + 17, 2, 0, 60) >= 0);
}

/* A batch's optional "as_of" and "as_of_basis" (docs/protocol.md). */
static int get_as_of(json_t *o, struct ss_header *h, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, "as_of");
    if (!v)
        return 0;
    if (!json_is_string(v) || !ss_proto_valid_as_of(json_string_value(v))) {
        snprintf(err, errlen,
                 "header: \"as_of\" must be a date YYYY-MM-DD or a UTC time "
                 "YYYY-MM-DDTHH:MM:SSZ");
        return SS_EPROTO;
    }
    strcpy(h->as_of, json_string_value(v));
    v = json_object_get(o, "as_of_basis");
    if (!v)
        return 0;
    if (!json_is_string(v) || !ss_proto_valid_name(json_string_value(v)) ||
        strlen(json_string_value(v)) >= sizeof(h->as_of_basis)) {
        snprintf(err, errlen,
                 "header: \"as_of_basis\" must be 1-%zu characters of A-Z a-z 0-9 . _ : -",
                 sizeof(h->as_of_basis) - 1);
        return SS_EPROTO;
    }
    strcpy(h->as_of_basis, json_string_value(v));
    return 0;
}

int ss_proto_decode_header(const void *frame, size_t len, size_t max_len, struct ss_header *h,
                           char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *o = NULL;
    int rc = SS_EPROTO;

    memset(h, 0, sizeof(*h));
    if (len > max_len) {
        snprintf(err, errlen, "header of %zu bytes is over the %zu-byte limit", len, max_len);
        return SS_EPROTO;
    }
    /* JSON_REJECT_DUPLICATES: two "seq" members must not let a peer choose which one counts. */
    o = json_loadb(frame, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(err, errlen, "header is not valid JSON: %s at byte %d", jerr.text, jerr.position);
        return SS_EPROTO;
    }
    if (!json_is_object(o)) {
        snprintf(err, errlen, "header is not a JSON object");
        goto out;
    }
    int ti, ei, oi, si;
    if (get_enum(o, "type", type_names, NELEM(type_names), "batch, ping, ack, pong, run", &ti, err,
                 errlen) < 0)
        goto out;
    h->type = (enum ss_msg_type)ti;
    int named = h->type != SS_MSG_PONG;
    if (get_name(o, "source", h->source, named, err, errlen) < 0 ||
        get_name(o, "run_id", h->run_id, named, err, errlen) < 0 ||
        get_u32(o, "seq", &h->seq, named, err, errlen) < 0)
        goto out;
    if (h->type == SS_MSG_BATCH) {
        if (get_name(o, "dataset", h->dataset, 1, err, errlen) < 0 ||
            get_u32(o, "records", &h->records, 1, err, errlen) < 0 ||
            get_u32(o, "fields", &h->fields, 1, err, errlen) < 0)
            goto out;
        if (get_bool(o, "last", &h->last, err, errlen) < 0 ||
            get_bool(o, "partial", &h->partial, err, errlen) < 0 ||
            get_as_of(o, h, err, errlen) < 0)
            goto out;
    } else if (h->type == SS_MSG_RUN) {
        if (get_enum(o, "event", event_names, NELEM(event_names), "begin, end", &ei, err, errlen) <
            0)
            goto out;
        h->event = (enum ss_run_event)ei;
        if (get_name(o, "dataset", h->dataset, 1, err, errlen) < 0 ||
            get_text(o, "at", h->at, sizeof(h->at), err, errlen) < 0)
            goto out;
        if (h->event == SS_RUN_BEGIN) {
            if (get_name(o, "kind", h->kind, 0, err, errlen) < 0 ||
                get_name(o, "config", h->config, 0, err, errlen) < 0 ||
                get_bool(o, "full", &h->full, err, errlen) < 0)
                goto out;
        } else {
            if (get_enum(o, "outcome", outcome_names, NELEM(outcome_names),
                         "complete, partial, unchanged, empty, failed, refused", &oi, err,
                         errlen) < 0)
                goto out;
            h->outcome = (enum ss_run_outcome)oi;
            if (get_u32(o, "exit_status", &h->exit_status, 0, err, errlen) < 0 ||
                get_u64(o, "bytes", &h->bytes, err, errlen) < 0 ||
                get_u64(o, "records", &h->nrecords, err, errlen) < 0 ||
                get_u64(o, "rejected", &h->rejected, err, errlen) < 0 ||
                get_u32(o, "batches", &h->batches, 0, err, errlen) < 0 ||
                get_u32(o, "refused", &h->refused, 0, err, errlen) < 0 ||
                get_text(o, "error", h->error, sizeof(h->error), err, errlen) < 0)
                goto out;
            h->has_outbox = json_object_get(o, "outbox_batches") != NULL;
            if (get_u32(o, "outbox_batches", &h->outbox_batches, 0, err, errlen) < 0)
                goto out;
        }
    } else if (h->type == SS_MSG_ACK) {
        if (get_enum(o, "status", status_names, NELEM(status_names), "applied, duplicate, refused",
                     &si, err, errlen) < 0)
            goto out;
        h->status = (enum ss_ack_status)si;
        if (get_u32(o, "accepted", &h->accepted, 0, err, errlen) < 0 ||
            get_u32(o, "quarantined", &h->quarantined, 0, err, errlen) < 0)
            goto out;
        if (get_text(o, "reason", h->reason, sizeof(h->reason), err, errlen) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int ss_payload_add(struct ss_buf *payload, uint32_t line, unsigned flags, size_t nfields,
                   const char *const *vals, const size_t *lens)
{
    size_t need = 4 + 1 + 2;
    if (nfields > UINT16_MAX)
        return SS_EINVAL;
    for (size_t i = 0; i < nfields; i++) {
        if (vals[i] && lens[i] >= SS_FIELD_ABSENT)
            return SS_E2BIG;
        need += 4 + (vals[i] ? lens[i] : 0);
    }
    /* Reserve the whole record first so a record is never half-appended. */
    int rc = ss_buf_reserve(payload, need);
    if (rc < 0)
        return rc;
    ss_buf_add_u32(payload, line);
    ss_buf_addc(payload, (char)(flags & 0xff));
    ss_buf_add_u16(payload, (uint16_t)nfields);
    for (size_t i = 0; i < nfields; i++) {
        if (!vals[i]) {
            ss_buf_add_u32(payload, SS_FIELD_ABSENT);
            continue;
        }
        ss_buf_add_u32(payload, (uint32_t)lens[i]);
        ss_buf_add(payload, vals[i], lens[i]);
    }
    return 0;
}

void ss_payload_reader_init(struct ss_payload_reader *r, const void *payload, size_t len,
                            size_t max_fields, size_t max_field_bytes)
{
    r->p = payload;
    r->end = r->p + len;
    r->max_fields = max_fields;
    r->max_field_bytes = max_field_bytes;
    r->index = 0;
}

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ss_payload_next(struct ss_payload_reader *r, struct ss_prec *rec, char *err, size_t errlen)
{
    const unsigned char *p = r->p;
    if (p == r->end)
        return 0;
    uint32_t n = r->index + 1;
    if ((size_t)(r->end - p) < 7) {
        snprintf(err, errlen, "record %u: truncated record header", n);
        return SS_EPROTO;
    }
    rec->line = rd_u32(p);
    rec->flags = p[4];
    rec->nfields = (size_t)p[5] | (size_t)p[6] << 8;
    p += 7;
    if (rec->flags & ~SS_REC_REJECTED) {
        snprintf(err, errlen, "record %u: unknown flags 0x%02x", n, rec->flags);
        return SS_EPROTO;
    }
    if (rec->nfields > r->max_fields) {
        snprintf(err, errlen, "record %u: %zu fields, more than the %zu allowed", n, rec->nfields,
                 r->max_fields);
        return SS_EPROTO;
    }
    for (size_t i = 0; i < rec->nfields; i++) {
        if ((size_t)(r->end - p) < 4) {
            snprintf(err, errlen, "record %u field %zu: truncated length", n, i + 1);
            return SS_EPROTO;
        }
        uint32_t len = rd_u32(p);
        p += 4;
        if (len == SS_FIELD_ABSENT) {
            rec->vals[i] = NULL;
            rec->lens[i] = 0;
            continue;
        }
        if (len > r->max_field_bytes) {
            snprintf(err, errlen, "record %u field %zu: %u bytes, more than the %zu allowed", n,
                     i + 1, len, r->max_field_bytes);
            return SS_EPROTO;
        }
        if ((size_t)(r->end - p) < len) {
            snprintf(err, errlen, "record %u field %zu: %u bytes announced, %zu left", n, i + 1,
                     len, (size_t)(r->end - p));
            return SS_EPROTO;
        }
        rec->vals[i] = (const char *)p;
        rec->lens[i] = len;
        p += len;
    }
    r->p = p;
    r->index = n;
    return 1;
}

/* A string member of a rejects entry into dst (cut on a character
 * boundary); required ones must be there. */
static int reject_text(json_t *e, const char *key, char *dst, size_t dstlen, int required,
                       char *err, size_t errlen)
{
    if (required && !json_object_get(e, key)) {
        snprintf(err, errlen, "ack rejects: an entry without \"%s\"", key);
        return SS_EPROTO;
    }
    return get_text(e, key, dst, dstlen, err, errlen);
}

int ss_proto_decode_rejects(const void *frame, size_t len, struct ss_rejects *rj, char *err,
                            size_t errlen)
{
    json_error_t jerr;
    int rc = SS_EPROTO;
    ss_rejects_reset(rj);
    json_t *o = json_loadb(frame, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(err, errlen, "ack is not valid JSON: %s", jerr.text);
        return SS_EPROTO;
    }
    json_t *r = json_is_object(o) ? json_object_get(o, "rejects") : NULL;
    if (!r) {
        rc = 0;
        goto out;
    }
    json_t *reasons = json_object_get(r, "reasons"), *lines = json_object_get(r, "lines");
    if (!json_is_object(r) || (reasons && !json_is_array(reasons)) ||
        (lines && !json_is_array(lines))) {
        snprintf(err, errlen, "ack rejects: not an object with arrays \"reasons\" and \"lines\"");
        goto out;
    }
    if (json_array_size(reasons) > SS_REJECTS_REASONS ||
        json_array_size(lines) > SS_REJECTS_LINES) {
        snprintf(err, errlen, "ack rejects: more than %d reasons or %d lines", SS_REJECTS_REASONS,
                 SS_REJECTS_LINES);
        goto out;
    }
    if (get_u32(r, "total", &rj->total, 1, err, errlen) < 0 ||
        get_u32(r, "other", &rj->other, 0, err, errlen) < 0)
        goto out;
    size_t i;
    json_t *e;
    json_array_foreach(reasons, i, e)
    {
        struct ss_reject_reason *x = &rj->reasons[rj->nreasons];
        x->count = 0;
        x->field[0] = '\0';
        if (!json_is_object(e) ||
            reject_text(e, "reason", x->reason, sizeof(x->reason), 1, err, errlen) < 0 ||
            reject_text(e, "field", x->field, sizeof(x->field), 0, err, errlen) < 0 ||
            get_u32(e, "count", &x->count, 1, err, errlen) < 0) {
            if (!json_is_object(e))
                snprintf(err, errlen, "ack rejects: a reason that is not an object");
            goto out;
        }
        rj->nreasons++;
    }
    json_array_foreach(lines, i, e)
    {
        struct ss_reject_line *x = &rj->lines[rj->nlines];
        x->line = 0;
        x->field[0] = x->raw[0] = '\0';
        x->raw_cut = 0;
        if (!json_is_object(e) || get_u32(e, "line", &x->line, 1, err, errlen) < 0 ||
            reject_text(e, "field", x->field, sizeof(x->field), 0, err, errlen) < 0 ||
            reject_text(e, "reason", x->reason, sizeof(x->reason), 1, err, errlen) < 0 ||
            reject_text(e, "raw", x->raw, sizeof(x->raw), 0, err, errlen) < 0 ||
            get_bool(e, "raw_cut", &x->raw_cut, err, errlen) < 0) {
            if (!json_is_object(e))
                snprintf(err, errlen, "ack rejects: a line that is not an object");
            goto out;
        }
        rj->nlines++;
    }
    rc = 1;
out:
    json_decref(o);
    return rc;
}
