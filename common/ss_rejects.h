/* ss_rejects: the bounded summary of why a batch's records were
 * quarantined, which the daemon sends back in its ack (docs/protocol.md,
 * "rejects") so the person who can fix the export learns it.
 *
 * A reason is counted under its class: the reason without the value it
 * quotes ("\"authority\" is \"Barnt\": not a known authority" counts as
 * "\"authority\": not a known authority", field "authority"); a reason not
 * about one field has its numbers written N ("line 12 repeats line 3 ..."
 * counts as "line N repeats line N ..."). At most SS_REJECTS_REASONS classes
 * are kept, the records of the others counted in `other`; the first
 * SS_REJECTS_LINES records are kept whole (line, field, reason, raw text cut
 * to SS_REJECTS_RAW_MAX bytes on a character boundary).
 *
 * Plain memory, no I/O: the daemon fills one while it quarantines, the
 * collector gets one from the ack (ss_proto_decode_rejects).
 */
#ifndef SS_REJECTS_H
#define SS_REJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "ss_proto.h"

#define SS_REJECTS_REASONS 16
#define SS_REJECTS_LINES 20
#define SS_REJECTS_RAW_MAX 512
#define SS_REJECTS_FIELD_MAX SS_PROTO_NAME_MAX

struct ss_reject_reason {
    char reason[SS_PROTO_REASON_MAX + 1]; /* the class */
    char field[SS_REJECTS_FIELD_MAX + 1]; /* "" when not about one field */
    uint32_t count;
};

struct ss_reject_line {
    uint32_t line;
    char field[SS_REJECTS_FIELD_MAX + 1];
    char reason[SS_PROTO_REASON_MAX + 1]; /* the reason in full */
    char raw[SS_REJECTS_RAW_MAX + 1];
    int raw_cut; /* raw was longer */
};

struct ss_rejects {
    uint32_t total; /* records counted */
    uint32_t other; /* records whose class did not fit in reasons[] */
    size_t nreasons;
    struct ss_reject_reason reasons[SS_REJECTS_REASONS];
    size_t nlines;
    struct ss_reject_line lines[SS_REJECTS_LINES];
};

void ss_rejects_reset(struct ss_rejects *rj);

/* Counts one quarantined record: line, its reason, its raw text. Both are
 * valid UTF-8 (the daemon's sanitised text); cuts never split a character. */
void ss_rejects_add(struct ss_rejects *rj, uint32_t line, const char *reason, const char *raw,
                    size_t rawlen);

/* Adds src, the summary of one batch that quarantined `quarantined`
 * records, to dst: the reasons summed by class (what src did not itemise
 * counted as "other"), its lines while dst has room. */
void ss_rejects_merge(struct ss_rejects *dst, const struct ss_rejects *src, uint32_t quarantined);

/* The class of a reason and the field it names ("" if none), as above. */
void ss_reject_class(const char *reason, char *cls, size_t clslen, char *field, size_t fieldlen);

#endif
