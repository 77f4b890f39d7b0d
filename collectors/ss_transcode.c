/* ss_transcode: see ss_transcode.h. */
#include "ss_transcode.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest unfinished multi-byte sequence iconv may leave at the end of a
 * chunk; more than any encoding iconv knows needs. */
#define SS_TRANSCODE_PEND 16

/* iconv's "incomplete sequence at the end of the input": the caller keeps the
 * tail for the next chunk. Not a value any callback returns to us (they are
 * passed on as they are), since it is only used inside convert(). */
#define INCOMPLETE 1

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD in UTF-8 */

struct ss_transcode {
    iconv_t cd; /* (iconv_t)-1: UTF-8, passed through */
    ss_transcode_cb cb;
    void *ud;
    int cb_rc; /* the callback's non-zero value, once it has asked to stop */
    char pend[SS_TRANSCODE_PEND];
    size_t npend;
    unsigned long long replaced;
    size_t nout;
    char out[SS_TRANSCODE_CHUNK];
};

int ss_transcode_new(struct ss_transcode **out, const char *encoding, ss_transcode_cb cb, void *ud)
{
    struct ss_transcode *t;
    const char *from = NULL;

    *out = NULL;
    if (!encoding || strcasecmp(encoding, "utf-8") == 0 || strcasecmp(encoding, "utf8") == 0)
        from = NULL;
    else if (strcasecmp(encoding, "windows-1252") == 0 || strcasecmp(encoding, "cp1252") == 0 ||
             strcasecmp(encoding, "iso-8859-1") == 0 || strcasecmp(encoding, "latin1") == 0)
        from = "WINDOWS-1252";
    else
        return -EINVAL;
    t = malloc(sizeof(*t));
    if (!t)
        return -ENOMEM;
    memset(t, 0, offsetof(struct ss_transcode, out));
    t->cd = (iconv_t)-1;
    t->cb = cb;
    t->ud = ud;
    if (from) {
        t->cd = iconv_open("UTF-8", from);
        if (t->cd == (iconv_t)-1) {
            int e = errno;
            free(t);
            return e == ENOMEM ? -ENOMEM : -EINVAL;
        }
    }
    *out = t;
    return 0;
}

void ss_transcode_free(struct ss_transcode *t)
{
    if (!t)
        return;
    if (t->cd != (iconv_t)-1)
        iconv_close(t->cd);
    free(t);
}

int ss_transcode_is_identity(const struct ss_transcode *t)
{
    return t->cd == (iconv_t)-1;
}

unsigned long long ss_transcode_replaced(const struct ss_transcode *t)
{
    return t->replaced;
}

static int flush(struct ss_transcode *t)
{
    if (t->nout == 0)
        return 0;
    size_t n = t->nout;
    t->nout = 0;
    int rc = t->cb(t->ud, t->out, n);
    if (rc)
        t->cb_rc = rc;
    return rc;
}

static int put_replacement(struct ss_transcode *t)
{
    int rc;
    if (sizeof(t->out) - t->nout < sizeof(replacement) - 1 && (rc = flush(t)) != 0)
        return rc;
    memcpy(t->out + t->nout, replacement, sizeof(replacement) - 1);
    t->nout += sizeof(replacement) - 1;
    t->replaced++;
    return 0;
}

/* Converts *in as far as it can, advancing it. Returns 0 when all of it is
 * converted, INCOMPLETE when what is left is the start of a sequence that
 * needs more input, a callback's value or -EIO. */
static int convert(struct ss_transcode *t, char **in, size_t *inlen)
{
    int rc;
    while (*inlen > 0) {
        char *op = t->out + t->nout;
        size_t ol = sizeof(t->out) - t->nout;
        size_t r = iconv(t->cd, in, inlen, &op, &ol);
        int e = errno;
        t->nout = (size_t)(op - t->out);
        if (r != (size_t)-1)
            return 0;
        if (e == E2BIG) {
            if (t->nout == 0)
                return -EIO; /* no room in an empty buffer: cannot happen */
            if ((rc = flush(t)) != 0)
                return rc;
        } else if (e == EILSEQ) {
            /* A byte the encoding does not define: say so in the text. */
            if ((rc = put_replacement(t)) != 0)
                return rc;
            (*in)++;
            (*inlen)--;
        } else if (e == EINVAL) {
            return INCOMPLETE;
        } else {
            return -EIO;
        }
    }
    return 0;
}

/* Gives up on the first pending byte (U+FFFD) and keeps the rest. */
static int drop_first_pending(struct ss_transcode *t)
{
    int rc = put_replacement(t);
    if (rc)
        return rc;
    memmove(t->pend, t->pend + 1, t->npend - 1);
    t->npend--;
    return 0;
}

int ss_transcode_feed(struct ss_transcode *t, const char *buf, size_t len)
{
    int rc;

    if (t->cb_rc)
        return t->cb_rc;
    if (t->cd == (iconv_t)-1) {
        if (len == 0)
            return 0;
        rc = t->cb(t->ud, buf, len);
        if (rc)
            t->cb_rc = rc;
        return rc;
    }
    /* The end of the last chunk began a sequence: finish it a byte at a time. */
    while (t->npend > 0 && len > 0) {
        t->pend[t->npend++] = *buf++;
        len--;
        char *p = t->pend;
        size_t pl = t->npend;
        rc = convert(t, &p, &pl);
        if (rc != 0 && rc != INCOMPLETE)
            return rc;
        memmove(t->pend, p, pl);
        t->npend = pl;
        if (rc == INCOMPLETE && t->npend == sizeof(t->pend) && (rc = drop_first_pending(t)) != 0)
            return rc;
    }
    char *in = (char *)buf; /* iconv's prototype; it does not write the input */
    while (len > 0) {
        rc = convert(t, &in, &len);
        if (rc == 0)
            break;
        if (rc != INCOMPLETE)
            return rc;
        if (len < sizeof(t->pend)) {
            memcpy(t->pend, in, len);
            t->npend = len;
            break;
        }
        /* An "unfinished" sequence longer than any real one: not text. */
        if ((rc = put_replacement(t)) != 0)
            return rc;
        in++;
        len--;
    }
    return flush(t);
}

int ss_transcode_finish(struct ss_transcode *t)
{
    int rc;

    if (t->cb_rc)
        return t->cb_rc;
    if (t->cd == (iconv_t)-1)
        return 0;
    /* Input ended inside a sequence: each byte left is one replacement, and
     * the rest is tried again after it (it may convert on its own). */
    while (t->npend > 0) {
        if ((rc = drop_first_pending(t)) != 0)
            return rc;
        char *p = t->pend;
        size_t pl = t->npend;
        rc = convert(t, &p, &pl);
        if (rc != 0 && rc != INCOMPLETE)
            return rc;
        memmove(t->pend, p, pl);
        t->npend = pl;
    }
    /* Return to the initial shift state (writes nothing for Windows-1252). */
    char *op = t->out + t->nout;
    size_t ol = sizeof(t->out) - t->nout;
    if (iconv(t->cd, NULL, NULL, &op, &ol) != (size_t)-1)
        t->nout = (size_t)(op - t->out);
    return flush(t);
}
