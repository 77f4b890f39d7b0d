/* ss_validate: the daemon's checks on one wire record.
 *
 * Each value is trimmed (spaces, tabs, line breaks, no-break spaces), checked
 * as valid UTF-8 without NUL bytes (PostgreSQL would otherwise abort the
 * whole batch's COPY), and parsed by its field type. A good record becomes one
 * line of PostgreSQL COPY text in the dataset's stored column order
 * (ss_dataset_columns); a bad one yields a reason that names the field and
 * the value, for the quarantine. Pure functions: no I/O, no global state.
 */
#ifndef SS_VALIDATE_H
#define SS_VALIDATE_H

#include <stddef.h>

#include "ss_authmap.h"
#include "ss_buf.h"
#include "ss_dataset.h"
#include "ss_date.h"
#include "ss_proto.h"

int ss_utf8_valid(const char *s, size_t len);

/* What validation needs from outside the record. */
struct ss_validate_ctx {
    const struct ss_authmap *authorities; /* NULL: every authority is unknown */
    /* An authority used after it was abolished: quarantined (the default)
     * or its single successor ("authorities.abolished" in the config). */
    enum ss_authmap_abolished abolished;
    /* The date the batch says its data describes (its header's as_of), for
     * a record that gives no date of its own; have 0: none. */
    struct ss_authmap_when batch_when;
};

/* The days a record is about, for resolving its authority as it was then:
 * a period dataset's count period (month, period, or period_start and
 * period_end); otherwise the first date or timestamp field that is part of
 * the key or required (count_date, event_date, start_date, issued_at) or
 * flagged SS_F_DATES (a service point's as_of). No
 * such value, or one that does not parse: w->have is 0 (validation reports
 * the bad value itself). Allocates nothing. */
void ss_validate_when(const struct ss_dataset *ds, const struct ss_prec *rec,
                      struct ss_authmap_when *w);

/* Appends the record's COPY text line (with trailing newline), columns in
 * ss_dataset_columns() order, to out and returns 0; or returns -1, leaves
 * out as it was, and writes a reason naming the field, the value and the
 * rule. */
int ss_validate_record(const struct ss_dataset *ds, const struct ss_prec *rec,
                       const struct ss_validate_ctx *ctx, struct ss_buf *out, char *reason,
                       size_t reasonlen);

/* An ISO 8601 date and time ("2024-04-01T10:15", seconds, fraction, "Z" or
 * "+01:00" optional; a space instead of "T" accepted). Writes the canonical
 * text (with "T") to out; no offset means Europe/London local time. */
int ss_parse_timestamp(const char *s, size_t len, char *out, size_t outlen, const char **why);

/* Appends the record's present values as one CSV line (no newline), for
 * the quarantine's raw text. */
int ss_validate_raw(const struct ss_prec *rec, struct ss_buf *out);

/* Appends the record's values as a PostgreSQL array literal in field order
 * ({"a",NULL,"b"}: NULL for an absent field), for the quarantine's fields,
 * from which a replay sends the record again exactly as it came. Returns 0,
 * 1 (nothing appended) when no literal can hold the record exactly -- the
 * collector could not read it, or a value is not valid UTF-8 or holds a NUL
 * -- or a negative code from ss_buf past its bound. */
int ss_validate_fields(const struct ss_prec *rec, struct ss_buf *out);

/* Appends s as a COPY text value (escaping backslash, tab, CR, LF). */
int ss_copy_escape(struct ss_buf *out, const char *s, size_t len);

/* Appends s with every byte that is not part of valid UTF-8 (and every NUL)
 * written as the text \xNN. */
int ss_utf8_sanitize(struct ss_buf *out, const char *s, size_t len);

/* Where a record belongs, as far as it can be told: what the quarantine
 * keeps of a record it cannot load, so that counts by authority and period
 * can be given without its raw text. */
struct ss_validate_where {
    char authority_code[16]; /* GSS code, "" when not told */
    struct ss_date from, to; /* the count period (or the event, count or issue date) */
};
#define SS_LOCATED_AUTHORITY 0x1 /* where->authority_code is set */
#define SS_LOCATED_PERIOD 0x2    /* where->from and where->to are set */

/* Best effort, whatever other field made the record fail: the record's
 * authority (resolved through ctx->authorities, as ss_validate_record
 * does) and its period (month, period, or start and end; else the first
 * key date or timestamp), each read on its own. Returns the SS_LOCATED_*
 * bits of what was found (0: nothing, e.g. a record the collector could
 * not read). Never fails. */
int ss_validate_locate(const struct ss_dataset *ds, const struct ss_prec *rec,
                       const struct ss_validate_ctx *ctx, struct ss_validate_where *where);

#endif
