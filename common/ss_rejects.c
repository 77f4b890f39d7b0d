/* ss_rejects: the bounded reject summary of one batch (ss_rejects.h). */
#include "ss_rejects.h"

#include <stdio.h>
#include <string.h>

#include "ss_text.h"

static struct ss_reject_reason *reason_slot(struct ss_rejects *dst, const char *cls,
                                            const char *field);

void ss_rejects_reset(struct ss_rejects *rj)
{
    rj->total = rj->other = 0;
    rj->nreasons = rj->nlines = 0;
}

/* Copies at most dstlen - 1 bytes of s (len bytes), never half a UTF-8
 * character. 1 when s was cut. */
static int copy_cut(char *dst, size_t dstlen, const char *s, size_t len)
{
    size_t n = ss_utf8_cut(s, len, dstlen - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return n < len;
}

void ss_reject_class(const char *reason, char *cls, size_t clslen, char *field, size_t fieldlen)
{
    field[0] = '\0';
    /* The validator's forms: "F": WHY and "F" is "V": WHY (V holds no quote). */
    if (reason[0] == '"') {
        const char *fe = strchr(reason + 1, '"');
        if (fe && fe - (reason + 1) < (long)fieldlen) {
            const char *why = NULL;
            if (strncmp(fe, "\": ", 3) == 0) {
                why = fe + 3;
            } else if (strncmp(fe, "\" is \"", 6) == 0) {
                const char *ve = strchr(fe + 6, '"');
                if (ve && strncmp(ve, "\": ", 3) == 0)
                    why = ve + 3;
            }
            if (why) {
                copy_cut(field, fieldlen, reason + 1, (size_t)(fe - (reason + 1)));
                snprintf(cls, clslen, "\"%s\": %s", field, why);
                return;
            }
        }
    }
    /* Anything else: its numbers as N, so "line 12 ..." and "line 40 ..." agree. */
    size_t j = 0;
    for (const char *p = reason; *p && j + 1 < clslen; p++) {
        if (ss_is_digit((unsigned char)*p)) {
            while (ss_is_digit((unsigned char)p[1]))
                p++;
            cls[j++] = 'N';
        } else {
            cls[j++] = *p;
        }
    }
    cls[j] = '\0';
}

void ss_rejects_add(struct ss_rejects *rj, uint32_t line, const char *reason, const char *raw,
                    size_t rawlen)
{
    char cls[SS_PROTO_REASON_MAX + 1], field[SS_REJECTS_FIELD_MAX + 1];
    ss_reject_class(reason, cls, sizeof(cls), field, sizeof(field));
    rj->total++;
    if (rj->nlines < SS_REJECTS_LINES) {
        struct ss_reject_line *l = &rj->lines[rj->nlines++];
        l->line = line;
        memcpy(l->field, field, sizeof(field));
        copy_cut(l->reason, sizeof(l->reason), reason, strlen(reason));
        l->raw_cut = copy_cut(l->raw, sizeof(l->raw), raw ? raw : "", raw ? rawlen : 0);
    }
    struct ss_reject_reason *r = reason_slot(rj, cls, field);
    if (r)
        r->count++;
    else
        rj->other++;
}

/* The entry of dst for the class cls (field), made if there is room; NULL
 * when there is none. */
static struct ss_reject_reason *reason_slot(struct ss_rejects *dst, const char *cls,
                                            const char *field)
{
    for (size_t i = 0; i < dst->nreasons; i++)
        if (strcmp(dst->reasons[i].reason, cls) == 0)
            return &dst->reasons[i];
    if (dst->nreasons == SS_REJECTS_REASONS)
        return NULL;
    struct ss_reject_reason *r = &dst->reasons[dst->nreasons++];
    snprintf(r->reason, sizeof(r->reason), "%s", cls);
    snprintf(r->field, sizeof(r->field), "%s", field);
    r->count = 0;
    return r;
}

void ss_rejects_merge(struct ss_rejects *dst, const struct ss_rejects *src, uint32_t quarantined)
{
    uint32_t itemised = 0;
    for (size_t i = 0; i < src->nreasons; i++) {
        const struct ss_reject_reason *s = &src->reasons[i];
        struct ss_reject_reason *d = reason_slot(dst, s->reason, s->field);
        if (d)
            d->count += s->count;
        else
            dst->other += s->count;
        itemised += s->count;
    }
    dst->other += quarantined > itemised ? quarantined - itemised : 0;
    dst->total += quarantined > itemised ? quarantined : itemised;
    for (size_t i = 0; i < src->nlines && dst->nlines < SS_REJECTS_LINES; i++)
        dst->lines[dst->nlines++] = src->lines[i];
}
