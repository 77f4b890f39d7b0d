/* ss_validate: see ss_validate.h. */
#include "ss_validate.h"

#include "ss_csv.h"
#include "ss_date.h"
#include "ss_err.h"
#include "ss_text.h"

#include "ss_authmap.h"
#include "ss_normalise.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ss_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return 0;
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF)
            n = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3, cp = c & 0x07;
        else
            return 0;
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF. */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

int ss_copy_escape(struct ss_buf *out, const char *s, size_t len)
{
    size_t run = 0;
    int rc = ss_buf_reserve(out, len);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < len; i++) {
        char esc;
        switch (s[i]) {
        case '\\':
            esc = '\\';
            break;
        case '\t':
            esc = 't';
            break;
        case '\n':
            esc = 'n';
            break;
        case '\r':
            esc = 'r';
            break;
        default:
            continue;
        }
        if ((rc = ss_buf_add(out, s + run, i - run)) < 0 || (rc = ss_buf_addc(out, '\\')) < 0 ||
            (rc = ss_buf_addc(out, esc)) < 0)
            return rc;
        run = i + 1;
    }
    return ss_buf_add(out, s + run, len - run);
}

static void shown_value(char *dst, size_t dstlen, const char *s, size_t len)
{
    /* Enough of the value to recognise it, without flooding a log line. */
    size_t n = len < 60 ? len : 60;
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < dstlen; i++)
        dst[j++] = (s[i] == '"' || (unsigned char)s[i] < 0x20) ? '?' : s[i];
    if (n < len && j + 3 < dstlen)
        dst[j++] = '.', dst[j++] = '.', dst[j++] = '.';
    dst[j] = '\0';
}

static int fail(char *reason, size_t reasonlen, const struct ss_field *f, const char *s, size_t len,
                const char *why)
{
    char shown[80];
    if (!s) {
        snprintf(reason, reasonlen, "\"%s\": %s", f->name, why);
    } else {
        shown_value(shown, sizeof(shown), s, len);
        snprintf(reason, reasonlen, "\"%s\" is \"%s\": %s", f->name, shown, why);
    }
    return SS_EINVAL;
}

static int add_date(struct ss_buf *out, struct ss_date d)
{
    return ss_buf_printf(out, "%04d-%02d-%02d", d.y, d.m, d.d);
}

int ss_parse_timestamp(const char *s, size_t len, char *out, size_t outlen, const char **why)
{
    struct ss_date d;
    int h, mi, sec = 0;
    size_t i = 16;
    *why = "not a date and time (expected ISO 8601, e.g. 2024-04-01T10:15:00Z)";
    if (len < 16 || len >= outlen || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        ss_parse_date(s, 10, &d, why) < 0 || ss_digits(s + 11, 2, &h) < 0 ||
        ss_digits(s + 14, 2, &mi) < 0 || h > 23 || mi > 59) {
        if (len >= 10 && ss_parse_date(s, 10, &d, why) < 0)
            return SS_EINVAL;
        *why = "not a date and time (expected ISO 8601, e.g. 2024-04-01T10:15:00Z)";
        return SS_EINVAL;
    }
    if (i < len && s[i] == ':') {
        if (len < i + 3 || ss_digits(s + i + 1, 2, &sec) < 0 || sec > 60)
            return SS_EINVAL;
        i += 3;
        if (i < len && s[i] == '.') {
            size_t j = i + 1;
            while (j < len && s[j] >= '0' && s[j] <= '9' && j - i <= 9)
                j++;
            if (j == i + 1)
                return SS_EINVAL;
            i = j;
        }
    }
    if (i < len) {
        int oh, om;
        if (s[i] == 'Z' && i + 1 == len) {
            i++;
        } else if ((s[i] == '+' || s[i] == '-') && len == i + 6 && s[i + 3] == ':' &&
                   ss_digits(s + i + 1, 2, &oh) == 0 && ss_digits(s + i + 4, 2, &om) == 0 &&
                   oh <= 14 && om <= 59) {
            i += 6;
        } else {
            return SS_EINVAL;
        }
    }
    /* The date in ISO form (a UK dd/mm/yyyy date is turned round), then the rest. */
    snprintf(out, outlen, "%04d-%02d-%02dT%.*s", d.y, d.m, d.d, (int)(len - 11), s + 11);
    return 0;
}

static int is_hex64(const char *s, size_t len)
{
    if (len != 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* The record's dates, for its authority, worked out only when its code
 * depends on them, and room for why it does not resolve (on the caller's
 * stack: nothing allocated per record). */
struct auth_at {
    const struct ss_dataset *ds;
    const struct ss_prec *rec;
    int known; /* when is filled */
    struct ss_authmap_when when;
    char why[320];
};

/* Normalises one present value of field f and appends its column(s).
 * Longer than most functions here for a reason: it is the table of field
 * types, one short case each, and reads best in one place. */
static int emit(struct ss_buf *out, const struct ss_field *f, const char *s, size_t len,
                const struct ss_validate_ctx *ctx, struct auth_at *at, const char **why)
{
    char text[128];
    long long n;
    int v;
    switch (f->type) {
    case SS_FT_COUNT:
    case SS_FT_OCCURRENCE:
        if (ss_norm_count(s, len, &n, why) < 0)
            return SS_EINVAL;
        return ss_buf_printf(out, "%lld", n);
    case SS_FT_DATE: {
        struct ss_date d;
        if (ss_parse_date(s, len, &d, why) < 0)
            return SS_EINVAL;
        return add_date(out, d);
    }
    case SS_FT_AUTHORITY: {
        if (!ctx || !ctx->authorities) {
            *why = "cannot be resolved: no reference data loaded (shelfsync ref load "
                   "authorities)";
            return SS_EINVAL;
        }
        /* The authority comes before the period in a record: its dates are
         * read here, from the record, when the code depends on them. */
        struct ss_authmap_hit hit;
        const char *code = NULL;
        if (ss_authmap_lookup(ctx->authorities, s, len, &hit, at->why, sizeof(at->why)) == 0) {
            if (!at->known && ss_authmap_dated(ctx->authorities, &hit)) {
                ss_validate_when(at->ds, at->rec, &at->when);
                if (!at->when.have)
                    at->when = ctx->batch_when; /* the date the whole batch describes */
                at->known = 1;
            }
            code = ss_authmap_pick(ctx->authorities, &hit, &at->when, ctx->abolished, at->why,
                                   sizeof(at->why));
        }
        if (!code) {
            *why = at->why;
            return SS_EINVAL;
        }
        return ss_buf_adds(out, code);
    }
    case SS_FT_POSTCODE:
        if ((v = ss_norm_postcode(s, len, text, why)) < 0)
            return SS_EINVAL;
        return v == SS_NORM_NO_VALUE ? ss_buf_add(out, "\\N", 2) : ss_buf_adds(out, text);
    case SS_FT_UPRN: {
        int64_t u;
        if ((v = ss_norm_uprn(s, len, &u, why)) < 0)
            return SS_EINVAL;
        return v == SS_NORM_NO_VALUE ? ss_buf_add(out, "\\N", 2)
                                     : ss_buf_printf(out, "%lld", (long long)u);
    }
    case SS_FT_YESNO:
        if (ss_norm_yesno(s, len, &v, why) < 0)
            return SS_EINVAL;
        return ss_buf_adds(out, v ? "t" : "f");
    case SS_FT_LIBTYPE: {
        const char *code;
        if (ss_norm_library_type(s, len, &code, why) < 0)
            return SS_EINVAL;
        return ss_buf_adds(out, code);
    }
    case SS_FT_YEAR:
        if (ss_norm_year(s, len, &v, why) < 0)
            return SS_EINVAL;
        return ss_buf_printf(out, "%d", v);
    case SS_FT_TIME:
        if (ss_norm_time(s, len, &v, why) < 0)
            return SS_EINVAL;
        return ss_buf_printf(out, "%02d:%02d", v / 60, v % 60);
    case SS_FT_DECIMAL:
        if (ss_norm_decimal(s, len, text, sizeof(text), why) < 0)
            return SS_EINVAL;
        return ss_buf_adds(out, text);
    case SS_FT_SUPPRESSED: {
        int suppressed;
        if (ss_norm_suppressed_count(s, len, &n, &suppressed, why) < 0)
            return SS_EINVAL;
        return suppressed ? ss_buf_adds(out, "\\N\tt") : ss_buf_printf(out, "%lld\tf", n);
    }
    case SS_FT_HOURS: {
        struct ss_buf hours;
        int minutes, rc;
        ss_buf_init(&hours, 256);
        if (ss_norm_hours(s, len, &hours, &minutes, why) < 0) {
            ss_buf_free(&hours);
            return SS_EINVAL;
        }
        rc = ss_buf_printf(out, "%s\t%d", hours.data ? hours.data : "", minutes);
        ss_buf_free(&hours);
        return rc;
    }
    case SS_FT_WEEKDAY: {
        static const char *const names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                            "Friday", "Saturday", "Sunday"};
        if (ss_norm_weekday(s, len, &v, why) < 0)
            return SS_EINVAL;
        return ss_buf_adds(out, names[v - 1]);
    }
    case SS_FT_CODE: {
        const char *code;
        if (ss_norm_code(s, len, f->codes, &code, why) < 0)
            return SS_EINVAL;
        return ss_buf_adds(out, code);
    }
    case SS_FT_TIMESTAMP:
        if (ss_parse_timestamp(s, len, text, sizeof(text), why) < 0)
            return SS_EINVAL;
        return ss_buf_adds(out, text);
    case SS_FT_STATUS: {
        const char *status;
        if (ss_norm_sp_status(s, len, &status, why) < 0)
            return SS_EINVAL;
        return ss_buf_adds(out, status);
    }
    case SS_FT_PSEUDONYM:
        if (!is_hex64(s, len)) {
            *why = "is not a pseudonymous key (64 lower-case hex digits); clear patron "
                   "identifiers are refused";
            return SS_EINVAL;
        }
        return ss_buf_add(out, s, len);
    default:
        return ss_copy_escape(out, s, len);
    }
}

/* The absent value of field f: its column(s) as NULL. */
static int emit_null(struct ss_buf *out, const struct ss_field *f)
{
    if (f->type == SS_FT_HOURS)
        return ss_buf_add(out, "\\N\t\\N", 5);
    if (f->type == SS_FT_SUPPRESSED)
        return ss_buf_add(out, "\\N\tf", 4);
    return ss_buf_add(out, "\\N", 2);
}

/* A field flagged SS_F_CLOSURE with value s: notes in *closure the status it
 * says (Closed outranks Temporarily closed). Returns 1 when the value was a
 * closure code and nothing else (the field itself is then unknown), 0 when
 * it is the field's value (a year closed is both). */
static int note_closure(const struct ss_field *f, const char *s, size_t len, const char **closure)
{
    const char *status = NULL;
    int code = 0;
    if (f->type == SS_FT_YEAR)
        status = "Closed";
    else
        code = ss_norm_closure(s, len, &status);
    if (status && (!*closure || strcmp(status, "Closed") == 0))
        *closure = status;
    return code;
}

/* The count period a record's month, period or start and end give. */
struct period {
    struct ss_date month_s, month_e, per_s, per_e, start, end;
    int have_month, have_period, have_start, have_end;
};

/* Field i's value, trimmed, or NULL when absent, empty or a placeholder
 * ("[Unknown]", "N/A": a missing value, except in free text where it may be
 * what the source means to say, and in a code list that has it -- the Arts
 * Council's age group "Unknown"). 0, or SS_EINVAL with a reason: not UTF-8,
 * or required and missing. */
static int field_value(const struct ss_field *f, const struct ss_prec *rec, size_t i,
                       const char **sp, size_t *lenp, char *reason, size_t reasonlen)
{
    const char *s = rec->vals[i];
    size_t len = rec->lens[i];
    if (s) {
        ss_trim(&s, &len);
        if (!ss_utf8_valid(s, len))
            return fail(reason, reasonlen, f, NULL, 0, "is not valid UTF-8 text");
        if (len == 0)
            s = NULL;
    }
    if (s && f->type != SS_FT_TEXT && ss_norm_is_placeholder(s, len)) {
        const char *code, *ignored;
        if (!(f->type == SS_FT_CODE && ss_norm_code(s, len, f->codes, &code, &ignored) == 0))
            s = NULL;
    }
    if (!s && (f->flags & SS_F_REQUIRED))
        return fail(reason, reasonlen, f, NULL, 0, "required value missing");
    *sp = s;
    *lenp = len;
    return 0;
}

/* The period fields are not columns of their own: noted in p, for the
 * period columns at the end. 1 if f is one (0 if not), SS_EINVAL with *why. */
static int note_period(const struct ss_field *f, const char *s, size_t len, struct period *p,
                       const char **why)
{
    int rc;
    switch (f->type) {
    case SS_FT_MONTH:
        rc = s ? ss_parse_month(s, len, &p->month_s, &p->month_e, why) : 0;
        p->have_month |= s && rc == 0;
        break;
    case SS_FT_PERIOD:
        rc = s ? ss_parse_period(s, len, &p->per_s, &p->per_e, why) : 0;
        p->have_period |= s && rc == 0;
        break;
    case SS_FT_PERIOD_START:
        rc = s ? ss_parse_date(s, len, &p->start, why) : 0;
        p->have_start |= s && rc == 0;
        break;
    case SS_FT_PERIOD_END:
        rc = s ? ss_parse_date(s, len, &p->end, why) : 0;
        p->have_end |= s && rc == 0;
        break;
    default:
        return 0;
    }
    return rc < 0 ? SS_EINVAL : 1;
}

/* The period_start and period_end columns from what p noted: 0, SS_EINVAL
 * with a reason, or a negative code from ss_buf (the buffer is full). */
static int add_period(struct ss_buf *out, struct period *p, int first, char *reason,
                      size_t reasonlen)
{
    int rc;
    if (p->have_month) {
        p->start = p->month_s, p->end = p->month_e;
    } else if (p->have_period) {
        p->start = p->per_s, p->end = p->per_e;
    } else if (p->have_start && p->have_end) {
        if (ss_date_to_days(p->end) < ss_date_to_days(p->start)) {
            snprintf(reason, reasonlen, "count period ends before it starts");
            return SS_EINVAL;
        }
    } else {
        snprintf(reason, reasonlen,
                 "no count period: give \"month\", \"period\", or both \"period_start\" and "
                 "\"period_end\"");
        return SS_EINVAL;
    }
    if ((!first && (rc = ss_buf_addc(out, '\t')) < 0) || (rc = add_date(out, p->start)) < 0 ||
        (rc = ss_buf_addc(out, '\t')) < 0 || (rc = add_date(out, p->end)) < 0)
        return rc == SS_EINVAL ? SS_ENOMEM : rc;
    return 0;
}

/* The days the noted period covers: 0, or SS_EINVAL if it has none. */
static int period_days(const struct period *p, struct ss_authmap_when *w)
{
    struct ss_date s, e;
    if (p->have_month)
        s = p->month_s, e = p->month_e;
    else if (p->have_period)
        s = p->per_s, e = p->per_e;
    else if (p->have_start && p->have_end)
        s = p->start, e = p->end;
    else
        return SS_EINVAL;
    w->start = ss_date_to_days(s);
    w->end = ss_date_to_days(e);
    w->have = w->end >= w->start;
    return 0;
}

void ss_validate_when(const struct ss_dataset *ds, const struct ss_prec *rec,
                      struct ss_authmap_when *w)
{
    int period = (ds->flags & SS_DS_PERIOD) != 0;
    struct period p = {0};
    const char *why;
    w->have = 0;
    if ((rec->flags & SS_REC_REJECTED) || rec->nfields != ds->nfields)
        return;
    for (size_t i = 0; i < ds->nfields; i++) {
        const struct ss_field *f = &ds->fields[i];
        const char *s = rec->vals[i];
        size_t len = rec->lens[i];
        /* Only the date fields are looked at (and trimmed): the hot path. */
        if (period ? !ss_ftype_is_period(f->type)
                   : (f->type != SS_FT_DATE && f->type != SS_FT_TIMESTAMP) ||
                         !(f->flags & (SS_F_KEY | SS_F_REQUIRED | SS_F_DATES)))
            continue;
        if (!s)
            continue;
        ss_trim(&s, &len);
        if (period) {
            if (len)
                note_period(f, s, len, &p, &why);
            continue;
        }
        struct ss_date d;
        /* A timestamp's date is its first ten characters (ISO or UK order). */
        if (ss_parse_date(s, f->type == SS_FT_TIMESTAMP && len > 10 ? 10 : len, &d, &why) == 0) {
            w->start = w->end = ss_date_to_days(d);
            w->have = 1;
        }
        return;
    }
    if (period)
        period_days(&p, w);
}

int ss_validate_record(const struct ss_dataset *ds, const struct ss_prec *rec,
                       const struct ss_validate_ctx *ctx, struct ss_buf *out, char *reason,
                       size_t reasonlen)
{
    size_t mark = out->len;
    struct period p = {0};
    struct auth_at at;
    int first = 1, rc = 0;
    const char *why = NULL, *closure = NULL;

    if (rec->flags & SS_REC_REJECTED) {
        /* The collector could not read it; its first field says why. */
        const char *r = rec->nfields > 0 && rec->vals[0] ? rec->vals[0] : "unreadable record";
        size_t rl = rec->nfields > 0 && rec->vals[0] ? rec->lens[0] : strlen(r);
        snprintf(reason, reasonlen, "%.*s", (int)(rl < 400 ? rl : 400), r);
        return SS_EINVAL;
    }
    if (rec->nfields != ds->nfields) {
        snprintf(reason, reasonlen, "%zu fields, dataset \"%s\" has %zu", rec->nfields, ds->name,
                 ds->nfields);
        return SS_EINVAL;
    }
    at.ds = ds, at.rec = rec, at.known = 0, at.when.have = 0;
    for (size_t i = 0; i < ds->nfields; i++) {
        const struct ss_field *f = &ds->fields[i];
        const char *s = NULL;
        size_t len = 0;
        if (field_value(f, rec, i, &s, &len, reason, reasonlen) < 0)
            goto bad;
        if (s && (f->flags & SS_F_CLOSURE) && note_closure(f, s, len, &closure))
            s = NULL;
        if ((rc = note_period(f, s, len, &p, &why)) < 0)
            goto bad_value;
        if (rc == 1)
            continue;
        if (!first && (rc = ss_buf_addc(out, '\t')) < 0)
            goto nomem;
        first = 0;
        size_t before = out->len;
        why = NULL;
        if (s)
            rc = emit(out, f, s, len, ctx, &at, &why);
        else if (f->type == SS_FT_STATUS) /* not given: what the record's other fields say */
            rc = ss_buf_adds(out, closure ? closure : "Open");
        else
            rc = emit_null(out, f);
        if (rc < 0 && why) { /* a rule's verdict, not a full buffer */
            out->len = before;
            goto bad_value;
        }
        if (rc < 0)
            goto nomem;
        /* A required value that normalised to "missing" (a postcode placeholder). */
        if ((f->flags & SS_F_REQUIRED) && out->len - before == 2 &&
            memcmp(out->data + before, "\\N", 2) == 0) {
            fail(reason, reasonlen, f, s, len, "is a placeholder, and a value is required");
            goto bad;
        }
        continue;
    bad_value:
        fail(reason, reasonlen, f, s, len, why);
        goto bad;
    }
    if ((ds->flags & SS_DS_PERIOD) && (rc = add_period(out, &p, first, reason, reasonlen)) < 0) {
        if (rc == SS_EINVAL)
            goto bad;
        goto nomem;
    }
    if ((rc = ss_buf_addc(out, '\n')) < 0)
        goto nomem;
    return 0;
nomem:
    snprintf(reason, reasonlen, "record too large for the batch buffer (%s)",
             rc == SS_E2BIG ? "over its limit" : "out of memory");
bad:
    out->len = mark;
    if (out->data)
        out->data[mark] = '\0';
    return SS_EINVAL;
}

int ss_validate_raw(const struct ss_prec *rec, struct ss_buf *out)
{
    /* Absent fields (nothing mapped) are left out, so the text reads like
     * the source's own line. */
    return ss_csv_join(out, rec->vals, rec->lens, rec->nfields);
}

int ss_validate_fields(const struct ss_prec *rec, struct ss_buf *out)
{
    size_t mark = out->len;
    int rc = 0;
    if (rec->flags & SS_REC_REJECTED)
        return 1;
    for (size_t i = 0; i < rec->nfields; i++)
        if (rec->vals[i] && !ss_utf8_valid(rec->vals[i], rec->lens[i])) /* a NUL included */
            return 1;
    rc = ss_buf_addc(out, '{');
    for (size_t i = 0; rc == 0 && i < rec->nfields; i++) {
        const char *s = rec->vals[i];
        if (i && (rc = ss_buf_addc(out, ',')) < 0)
            break;
        if (!s) {
            rc = ss_buf_adds(out, "NULL");
            continue;
        }
        rc = ss_buf_addc(out, '"');
        for (size_t k = 0; rc == 0 && k < rec->lens[i]; k++) {
            if (s[k] == '"' || s[k] == '\\')
                rc = ss_buf_addc(out, '\\');
            if (rc == 0)
                rc = ss_buf_addc(out, s[k]);
        }
        if (rc == 0)
            rc = ss_buf_addc(out, '"');
    }
    if (rc == 0)
        rc = ss_buf_addc(out, '}');
    if (rc < 0) {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
    }
    return rc;
}

int ss_utf8_sanitize(struct ss_buf *out, const char *s, size_t len)
{
    /* Valid runs are copied; each byte of an invalid sequence becomes \xNN
     * text, so a quarantined record keeps every byte visibly. */
    size_t i = 0;
    int rc;
    while (i < len) {
        size_t j = i;
        while (j < len && (unsigned char)s[j] < 0x80 && s[j] != 0)
            j++;
        if ((rc = ss_buf_add(out, s + i, j - i)) < 0)
            return rc;
        i = j;
        if (i >= len)
            break;
        size_t n = 1;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0xC2 && c <= 0xDF)
            n = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4;
        if (c != 0 && n > 1 && i + n <= len && ss_utf8_valid(s + i, n)) {
            if ((rc = ss_buf_add(out, s + i, n)) < 0)
                return rc;
            i += n;
        } else {
            if ((rc = ss_buf_printf(out, "\\x%02X", c)) < 0)
                return rc;
            i++;
        }
    }
    return 0;
}

/* The first day of a timestamp's date ("2024-04-01T10:15..."): its first
 * ten characters read as a date. 0, or SS_EINVAL. */
static int timestamp_date(const char *s, size_t len, struct ss_date *d)
{
    const char *why;
    return len >= 10 ? ss_parse_date(s, 10, d, &why) : SS_EINVAL;
}

int ss_validate_locate(const struct ss_dataset *ds, const struct ss_prec *rec,
                       const struct ss_validate_ctx *ctx, struct ss_validate_where *where)
{
    struct period p = {0};
    int found = 0, have_date = 0;
    char ignored[SS_PROTO_REASON_MAX + 1];
    const char *auth = NULL;
    size_t auth_len = 0;

    memset(where, 0, sizeof(*where));
    if ((rec->flags & SS_REC_REJECTED) || rec->nfields != ds->nfields)
        return 0;
    for (size_t i = 0; i < ds->nfields; i++) {
        const struct ss_field *f = &ds->fields[i];
        const char *s = NULL, *why = NULL;
        size_t len = 0;
        if (field_value(f, rec, i, &s, &len, ignored, sizeof(ignored)) < 0 || !s)
            continue;
        if (note_period(f, s, len, &p, &why) != 0)
            continue; /* a period field, read into p (or unreadable) */
        if (f->type == SS_FT_AUTHORITY && !auth) {
            auth = s, auth_len = len; /* resolved below, at the record's dates */
        } else if (!have_date && (f->flags & SS_F_KEY) &&
                   ((f->type == SS_FT_DATE && ss_parse_date(s, len, &where->from, &why) == 0) ||
                    (f->type == SS_FT_TIMESTAMP && timestamp_date(s, len, &where->from) == 0))) {
            have_date = 1; /* an event date, a count date, an issue time */
        }
    }
    if (p.have_month) {
        where->from = p.month_s, where->to = p.month_e;
    } else if (p.have_period) {
        where->from = p.per_s, where->to = p.per_e;
    } else if (p.have_start && p.have_end && ss_date_to_days(p.end) >= ss_date_to_days(p.start)) {
        where->from = p.start, where->to = p.end;
    } else if (have_date) {
        where->to = where->from;
    } else {
        memset(&where->from, 0, sizeof(where->from)); /* a date that failed to parse */
        memset(&where->to, 0, sizeof(where->to));
    }
    if (p.have_month || p.have_period || (p.have_start && p.have_end && where->to.y) || have_date)
        found |= SS_LOCATED_PERIOD;
    if (auth && ctx && ctx->authorities) {
        /* The authority as at the record's dates, as validation would give
         * it; a code that is wrong for them is still located under itself. */
        struct ss_authmap_when when = ctx->batch_when;
        if (found & SS_LOCATED_PERIOD)
            when = (struct ss_authmap_when){1, ss_date_to_days(where->from),
                                            ss_date_to_days(where->to)};
        const char *code =
            ss_authmap_resolve_at(ctx->authorities, auth, auth_len, when.have ? &when : NULL,
                                  ctx->abolished, ignored, sizeof(ignored));
        if (!code)
            code = ss_authmap_resolve(ctx->authorities, auth, auth_len, &(const char *){NULL});
        if (code && strlen(code) < sizeof(where->authority_code)) {
            snprintf(where->authority_code, sizeof(where->authority_code), "%s", code);
            found |= SS_LOCATED_AUTHORITY;
        }
    }
    return found;
}
