/* ss_csv: see ss_csv.h.
 *
 * A byte-at-a-time state machine would cost a switch per byte; instead each
 * state scans a run of ordinary bytes with a 256-entry table and copies the
 * run with one memcpy, so the per-byte cost is one load and one test. Fields
 * are copied into one record buffer (an ss_buf, reused from record to record)
 * with a NUL after each; their start offsets are kept rather than pointers
 * because the buffer may move when it grows, and pointers are made only when
 * the record is handed over.
 *
 * After an error the same state machine keeps running with `discard` set, so
 * skipping to the end of a bad record honours quotes exactly as parsing does.
 */
#include "ss_csv.h"

#include "ss_buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SS_CSV_DEF_MAX_FIELD ((size_t)65536)
#define SS_CSV_DEF_MAX_RECORD ((size_t)1 << 20)
#define SS_CSV_DEF_MAX_FIELDS ((size_t)16384)
#define SS_CSV_FIELDS_INIT 16

/* Where the BOM check stands: bytes of EF BB BF matched so far, or done. */
#define SS_CSV_BOM_DONE 4

enum ss_csv_state {
    SS_CSV_REC_START,   /* nothing of this record read yet: a line end is a blank line */
    SS_CSV_FIELD_START, /* after a delimiter: a quote here opens a quoted field */
    SS_CSV_UNQUOTED,
    SS_CSV_QUOTED,
    SS_CSV_QUOTE, /* a quote inside a quoted field: closes it, or is the first of a pair */
};

struct ss_csv {
    ss_csv_record_cb cb;
    void *ud;
    unsigned char delim;
    size_t max_field;
    size_t max_record;
    size_t max_fields;

    /* Non-zero marks the bytes that end a run: unq for unquoted fields
     * (delimiter, CR, LF), q inside quotes (quote, CR, LF; CR and LF only
     * so that lines are counted). */
    unsigned char unq[256];
    unsigned char q[256];

    enum ss_csv_state state;
    int bom;
    int stopped; /* sticky: a callback's non-zero return or -ENOMEM */

    struct ss_buf rec;  /* field bytes, each field followed by a NUL */
    size_t field_start; /* offset in rec of the field being read */
    size_t nfields;     /* fields complete in rec */
    size_t fields_cap;  /* allocated entries of offs, lens, ptrs */
    size_t *offs;       /* start offset of each complete field */
    size_t *lens;       /* length of each complete field */
    const char **ptrs;  /* made from offs when a record is delivered */
    int discard;        /* the record is bad: read to its end, keep nothing */
    char errmsg[128];

    unsigned long line;        /* current physical line */
    unsigned long rec_line;    /* line where the record being read started */
    unsigned long quote_line;  /* line of the opening quote of the current field */
    unsigned long long cr_end; /* offset of the byte after the last CR; ~0 if none */
    unsigned long records;
    unsigned long long bytes;
};

static const unsigned char ss_csv_bom[3] = {0xEF, 0xBB, 0xBF};

struct ss_csv *ss_csv_new(const struct ss_csv_opts *opts, ss_csv_record_cb cb, void *ud)
{
    struct ss_csv *csv = calloc(1, sizeof(*csv));
    if (!csv)
        return NULL;
    csv->cb = cb;
    csv->ud = ud;
    csv->delim = ',';
    csv->max_field = SS_CSV_DEF_MAX_FIELD;
    csv->max_record = SS_CSV_DEF_MAX_RECORD;
    csv->max_fields = SS_CSV_DEF_MAX_FIELDS;
    if (opts) {
        if (opts->delimiter)
            csv->delim = (unsigned char)opts->delimiter;
        if (opts->max_field)
            csv->max_field = opts->max_field;
        if (opts->max_record)
            csv->max_record = opts->max_record;
        if (opts->max_fields)
            csv->max_fields = opts->max_fields;
    }
    /* A quote or line end as delimiter would make the grammar ambiguous. */
    if (csv->delim == '"' || csv->delim == '\r' || csv->delim == '\n') {
        free(csv);
        errno = EINVAL;
        return NULL;
    }
    csv->unq[csv->delim] = 1;
    csv->unq['\r'] = 1;
    csv->unq['\n'] = 1;
    csv->q['"'] = 1;
    csv->q['\r'] = 1;
    csv->q['\n'] = 1;

    /* The buffer holds at most max_record field bytes plus one NUL per
     * field; saturate so huge bounds cannot wrap. */
    size_t max = csv->max_record + csv->max_fields;
    if (max < csv->max_record)
        max = SIZE_MAX - 1;
    ss_buf_init(&csv->rec, max);

    csv->fields_cap = csv->max_fields < SS_CSV_FIELDS_INIT ? csv->max_fields : SS_CSV_FIELDS_INIT;
    csv->offs = malloc(csv->fields_cap * sizeof(*csv->offs));
    csv->lens = malloc(csv->fields_cap * sizeof(*csv->lens));
    csv->ptrs = malloc(csv->fields_cap * sizeof(*csv->ptrs));
    if (!csv->offs || !csv->lens || !csv->ptrs) {
        ss_csv_free(csv);
        return NULL;
    }
    csv->state = SS_CSV_REC_START;
    csv->line = 1;
    csv->cr_end = ~0ULL;
    return csv;
}

void ss_csv_free(struct ss_csv *csv)
{
    if (!csv)
        return;
    ss_buf_free(&csv->rec);
    free(csv->offs);
    free(csv->lens);
    free(csv->ptrs);
    free(csv);
}

unsigned long ss_csv_records(const struct ss_csv *csv)
{
    return csv->records;
}

unsigned long ss_csv_line(const struct ss_csv *csv)
{
    return csv->line;
}

unsigned long long ss_csv_bytes(const struct ss_csv *csv)
{
    return csv->bytes;
}

/* Counts a line end. off is the byte's offset in the stream, so an LF right
 * after a CR (CRLF, one line end) is recognised across chunk boundaries. */
static void ss_csv_count_line(struct ss_csv *csv, unsigned char c, unsigned long long off)
{
    if (c == '\r') {
        csv->line++;
        csv->cr_end = off + 1;
    } else if (csv->cr_end != off) {
        csv->line++;
    }
}

static int ss_csv_grow_fields(struct ss_csv *csv)
{
    size_t cap = csv->fields_cap * 2;
    if (cap > csv->max_fields || cap < csv->fields_cap)
        cap = csv->max_fields;
    size_t *offs = realloc(csv->offs, cap * sizeof(*offs));
    if (!offs)
        return -ENOMEM;
    csv->offs = offs;
    size_t *lens = realloc(csv->lens, cap * sizeof(*lens));
    if (!lens)
        return -ENOMEM;
    csv->lens = lens;
    const char **ptrs = realloc(csv->ptrs, cap * sizeof(*ptrs));
    if (!ptrs)
        return -ENOMEM;
    csv->ptrs = ptrs;
    csv->fields_cap = cap;
    return 0;
}

/* Ends the current field: NUL-terminates it and records where it is. The
 * caller makes sure fewer than max_fields fields are complete. */
static int ss_csv_push_field(struct ss_csv *csv)
{
    int rc;
    if (csv->discard)
        return 0;
    if (csv->nfields == csv->fields_cap) {
        rc = ss_csv_grow_fields(csv);
        if (rc < 0)
            return rc;
    }
    size_t len = csv->rec.len - csv->field_start;
    if (csv->rec.len + 1 < csv->rec.cap) {
        csv->rec.data[csv->rec.len++] = '\0';
    } else {
        rc = ss_buf_addc(&csv->rec, '\0');
        if (rc < 0)
            return rc == -E2BIG ? -ENOMEM : rc; /* cannot happen: max counts the NULs */
    }
    csv->offs[csv->nfields] = csv->field_start;
    csv->lens[csv->nfields] = len;
    csv->nfields++;
    csv->field_start = csv->rec.len;
    return 0;
}

/* Marks the record bad (the caller has written errmsg; callers check discard
 * first so the first error wins) and keeps the field being read, as far as
 * it was read, if there is room for it. */
static int ss_csv_fail(struct ss_csv *csv, int keep_field)
{
    int rc = 0;
    if (keep_field && csv->nfields < csv->max_fields)
        rc = ss_csv_push_field(csv);
    csv->discard = 1;
    return rc;
}

/* Appends a run of field bytes, stopping at the field and record bounds. */
static int ss_csv_append(struct ss_csv *csv, const unsigned char *s, size_t n)
{
    if (csv->discard)
        return 0;
    size_t room_f = csv->max_field - (csv->rec.len - csv->field_start);
    size_t room_r = csv->max_record - (csv->rec.len - csv->nfields);
    size_t room = room_f < room_r ? room_f : room_r;
    if (n <= room) {
        /* The hot path: room in the buffer already (the NUL ss_buf keeps
         * after the data is not needed here; push_field writes one). */
        if (csv->rec.len + n < csv->rec.cap) {
            memcpy(csv->rec.data + csv->rec.len, s, n);
            csv->rec.len += n;
            return 0;
        }
        int rc = ss_buf_add(&csv->rec, s, n);
        return rc == -E2BIG ? -ENOMEM : rc; /* E2BIG cannot happen: bounds checked above */
    }
    int rc = ss_buf_add(&csv->rec, s, room);
    if (rc < 0)
        return rc == -E2BIG ? -ENOMEM : rc;
    if (room_f <= room_r)
        snprintf(csv->errmsg, sizeof(csv->errmsg), "field %zu longer than %zu bytes",
                 csv->nfields + 1, csv->max_field);
    else
        snprintf(csv->errmsg, sizeof(csv->errmsg), "record longer than %zu bytes at field %zu",
                 csv->max_record, csv->nfields + 1);
    return ss_csv_fail(csv, 1);
}

/* A delimiter ends the current field and starts another. */
static int ss_csv_delimiter(struct ss_csv *csv)
{
    int rc = ss_csv_push_field(csv);
    if (rc < 0)
        return rc;
    csv->state = SS_CSV_FIELD_START;
    if (!csv->discard && csv->nfields == csv->max_fields) {
        snprintf(csv->errmsg, sizeof(csv->errmsg), "more than %zu fields", csv->max_fields);
        return ss_csv_fail(csv, 0);
    }
    return 0;
}

/* Hands the record over and resets for the next. Returns the callback's
 * value, or -ENOMEM. */
static int ss_csv_deliver(struct ss_csv *csv, unsigned long end_line)
{
    int rc = ss_csv_push_field(csv);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < csv->nfields; i++)
        csv->ptrs[i] = csv->rec.data + csv->offs[i];
    struct ss_csv_record r = {
        .nfields = csv->nfields,
        .fields = csv->ptrs,
        .lens = csv->lens,
        .line = csv->rec_line,
        .end_line = end_line,
        .number = ++csv->records,
        .error = csv->discard ? csv->errmsg : NULL,
    };
    rc = csv->cb ? csv->cb(csv->ud, &r) : 0;
    ss_buf_reset(&csv->rec);
    csv->field_start = 0;
    csv->nfields = 0;
    csv->discard = 0;
    csv->state = SS_CSV_REC_START;
    return rc;
}

/* A line end outside quotes ends the record. */
static int ss_csv_line_end(struct ss_csv *csv, unsigned char c, unsigned long long off)
{
    int rc = ss_csv_deliver(csv, csv->line);
    ss_csv_count_line(csv, c, off);
    return rc;
}

/* Says what sort of character it is, not which: a reason must not quote the
 * record (its unmapped columns may hold a borrower's name). Punctuation and
 * control bytes are no one's data and say more. */
static void ss_csv_unexpected(struct ss_csv *csv, unsigned char c)
{
    const char *what = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? "letter"
                       : c >= '0' && c <= '9'                           ? "digit"
                       : c == ' '                                       ? "space"
                       : c >= 0x80                                      ? "non-ASCII character"
                                                                        : NULL;
    if (what)
        snprintf(csv->errmsg, sizeof(csv->errmsg), "unexpected %s after closing quote in field %zu",
                 what, csv->nfields + 1);
    else if (c >= 0x20 && c < 0x7f)
        snprintf(csv->errmsg, sizeof(csv->errmsg),
                 "unexpected character '%c' after closing quote in field %zu", c, csv->nfields + 1);
    else
        snprintf(csv->errmsg, sizeof(csv->errmsg),
                 "unexpected byte 0x%02x after closing quote in field %zu", c, csv->nfields + 1);
}

/* Appends the run of bytes at *p up to the first that stop marks (or end)
 * to the field, moving *p past it. */
static int ss_csv_append_run(struct ss_csv *csv, const unsigned char **p, const unsigned char *end,
                             const unsigned char *stop)
{
    const unsigned char *s = *p, *e = s;
    while (e < end && !stop[*e])
        e++;
    *p = e;
    return e > s ? ss_csv_append(csv, s, (size_t)(e - s)) : 0;
}

/* Parses p[0..n); off is the stream offset of p[0]. */
static int ss_csv_parse(struct ss_csv *csv, const unsigned char *p, size_t n,
                        unsigned long long off)
{
    const unsigned char *const base = p;
    const unsigned char *const end = p + n;
    const unsigned char *const unq = csv->unq;
    const unsigned char *const q = csv->q;
    const unsigned char delim = csv->delim;
    int rc = 0;

    while (p < end) {
        unsigned char c;
        switch (csv->state) {
        case SS_CSV_REC_START:
            c = *p;
            if (c == '\r' || c == '\n') {
                /* Blank line, or the LF of a CRLF that ended a record. */
                ss_csv_count_line(csv, c, off + (unsigned long long)(p - base));
                p++;
                continue;
            }
            csv->rec_line = csv->line;
            csv->state = SS_CSV_FIELD_START;
            /* fall through */
        case SS_CSV_FIELD_START:
            if (*p == '"') {
                csv->quote_line = csv->line;
                csv->state = SS_CSV_QUOTED;
                p++;
                continue;
            }
            csv->state = SS_CSV_UNQUOTED;
            /* fall through */
        case SS_CSV_UNQUOTED: {
            if ((rc = ss_csv_append_run(csv, &p, end, unq)) < 0)
                return rc;
            if (p == end)
                return 0;
            c = *p;
            if (c == delim)
                rc = ss_csv_delimiter(csv);
            else
                rc = ss_csv_line_end(csv, c, off + (unsigned long long)(p - base));
            p++;
            if (rc)
                return rc;
            break;
        }
        case SS_CSV_QUOTED: {
            if ((rc = ss_csv_append_run(csv, &p, end, q)) < 0)
                return rc;
            if (p == end)
                return 0;
            c = *p;
            if (c == '"') {
                csv->state = SS_CSV_QUOTE;
            } else {
                /* A line end kept in the field; it still starts a new physical line. */
                ss_csv_count_line(csv, c, off + (unsigned long long)(p - base));
                rc = ss_csv_append(csv, p, 1);
                if (rc < 0)
                    return rc;
            }
            p++;
            break;
        }
        case SS_CSV_QUOTE:
            c = *p;
            if (c == '"') {
                rc = ss_csv_append(csv, p, 1);
                csv->state = SS_CSV_QUOTED;
            } else if (c == delim) {
                rc = ss_csv_delimiter(csv);
            } else if (c == '\r' || c == '\n') {
                rc = ss_csv_line_end(csv, c, off + (unsigned long long)(p - base));
            } else {
                /* "ab"c: not RFC 4180. Read the rest of the record as
                 * unquoted text, keeping nothing. */
                if (!csv->discard) {
                    ss_csv_unexpected(csv, c);
                    rc = ss_csv_fail(csv, 1);
                }
                csv->state = SS_CSV_UNQUOTED;
                if (rc < 0)
                    return rc;
                continue; /* UNQUOTED consumes c */
            }
            p++;
            if (rc)
                return rc;
            break;
        }
    }
    return 0;
}

int ss_csv_feed(struct ss_csv *csv, const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    unsigned long long off = csv->bytes;
    int rc;

    if (csv->stopped)
        return csv->stopped;
    csv->bytes += len;

    if (csv->bom != SS_CSV_BOM_DONE) {
        while (len && csv->bom < 3 && *p == ss_csv_bom[csv->bom]) {
            csv->bom++;
            p++;
            len--;
            off++;
        }
        if (csv->bom == 3) {
            csv->bom = SS_CSV_BOM_DONE;
        } else if (len) {
            /* Not a BOM after all: the bytes held back are data. They hold
             * no line end, so their offset does not matter. */
            int held = csv->bom;
            csv->bom = SS_CSV_BOM_DONE;
            rc = ss_csv_parse(csv, ss_csv_bom, (size_t)held, off);
            if (rc)
                goto out;
        }
    }
    rc = ss_csv_parse(csv, p, len, off);
out:
    if (rc)
        csv->stopped = rc;
    return rc;
}

int ss_csv_finish(struct ss_csv *csv)
{
    int rc = 0;

    if (csv->stopped)
        return csv->stopped;
    if (csv->bom != SS_CSV_BOM_DONE) {
        int held = csv->bom;
        csv->bom = SS_CSV_BOM_DONE;
        rc = ss_csv_parse(csv, ss_csv_bom, (size_t)held, csv->bytes);
        if (rc)
            goto out;
    }
    switch (csv->state) {
    case SS_CSV_REC_START:
        break;
    case SS_CSV_QUOTED:
        if (!csv->discard) {
            snprintf(csv->errmsg, sizeof(csv->errmsg),
                     "unterminated quoted field starting at line %lu", csv->quote_line);
            rc = ss_csv_fail(csv, 1);
            if (rc < 0)
                goto out;
        }
        /* fall through */
    default:
        rc = ss_csv_deliver(csv, csv->line);
        break;
    }
out:
    if (rc)
        csv->stopped = rc;
    return rc;
}

int ss_csv_join(struct ss_buf *out, const char *const *vals, const size_t *lens, size_t n)
{
    int first = 1, rc;
    for (size_t i = 0; i < n; i++) {
        const char *s = vals[i];
        size_t len = lens[i];
        if (!s)
            continue;
        if (!first && (rc = ss_buf_addc(out, ',')) < 0)
            return rc;
        first = 0;
        if (!memchr(s, ',', len) && !memchr(s, '"', len) && !memchr(s, '\n', len) &&
            !memchr(s, '\r', len)) {
            if ((rc = ss_buf_add(out, s, len)) < 0)
                return rc;
            continue;
        }
        if ((rc = ss_buf_addc(out, '"')) < 0)
            return rc;
        for (size_t k = 0; k < len; k++) {
            if (s[k] == '"' && (rc = ss_buf_addc(out, '"')) < 0)
                return rc;
            if ((rc = ss_buf_addc(out, s[k])) < 0)
                return rc;
        }
        if ((rc = ss_buf_addc(out, '"')) < 0)
            return rc;
    }
    return 0;
}
