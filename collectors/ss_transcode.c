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
 * tail for the next chunk. A callback may return 1 too, so convert()'s
 * callers look at t->cb_rc before they read its value as this. */
#define INCOMPLETE 1

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD in UTF-8 */

struct ss_transcode {
    iconv_t cd;       /* (iconv_t)-1: UTF-8, passed through */
    const char *from; /* what is read, as iconv names it */
    const char *bom;  /* the byte-order mark that chose it, or NULL */
    size_t unit;      /* bytes one replacement stands for: 1, or 2 in UTF-16 */
    int started;      /* the first bytes were looked at for a byte-order mark */
    char head[3];     /* ... and held until then */
    size_t nhead;
    ss_transcode_cb cb;
    void *ud;
    int cb_rc; /* the callback's non-zero value, once it has asked to stop */
    char pend[SS_TRANSCODE_PEND];
    size_t npend;
    unsigned long long replaced;
    size_t nout;
    char out[SS_TRANSCODE_CHUNK];
};

/* Reads from (an iconv name; NULL: UTF-8, passed through) from now on. */
static int use_encoding(struct ss_transcode *t, const char *from)
{
    iconv_t cd = (iconv_t)-1;
    if (from) {
        cd = iconv_open("UTF-8", from);
        if (cd == (iconv_t)-1)
            return errno == ENOMEM ? -ENOMEM : -EINVAL;
    }
    if (t->cd != (iconv_t)-1)
        iconv_close(t->cd);
    t->cd = cd;
    t->from = from ? from : "UTF-8";
    t->unit = from && strncmp(from, "UTF-16", 6) == 0 ? 2 : 1;
    return 0;
}

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
    else if (strcasecmp(encoding, "utf-16") == 0 || strcasecmp(encoding, "utf-16le") == 0)
        from = "UTF-16LE"; /* without a mark, Windows' order */
    else if (strcasecmp(encoding, "utf-16be") == 0)
        from = "UTF-16BE";
    else
        return -EINVAL;
    t = malloc(sizeof(*t));
    if (!t)
        return -ENOMEM;
    memset(t, 0, offsetof(struct ss_transcode, out));
    t->cd = (iconv_t)-1;
    t->cb = cb;
    t->ud = ud;
    int rc = use_encoding(t, from);
    if (rc < 0) {
        free(t);
        return rc;
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

const char *ss_transcode_encoding(const struct ss_transcode *t)
{
    return t->from;
}

const char *ss_transcode_bom(const struct ss_transcode *t)
{
    return t->bom;
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
            size_t skip = *inlen < t->unit ? *inlen : t->unit;
            if ((rc = put_replacement(t)) != 0)
                return rc;
            *in += skip;
            *inlen -= skip;
        } else if (e == EINVAL) {
            return INCOMPLETE;
        } else {
            return -EIO;
        }
    }
    return 0;
}

/* Converts what is pending, keeping what is left of it: 0, INCOMPLETE (the
 * rest is the start of a sequence), or convert's failure. */
static int convert_pending(struct ss_transcode *t)
{
    char *p = t->pend;
    size_t pl = t->npend;
    int rc = convert(t, &p, &pl);
    if (t->cb_rc)
        return t->cb_rc; /* the callback stopped us, whatever it returned */
    if (rc != 0 && rc != INCOMPLETE)
        return rc;
    memmove(t->pend, p, pl);
    t->npend = pl;
    return rc;
}

/* Gives up on the first pending unit (U+FFFD) and keeps the rest. */
static int drop_first_pending(struct ss_transcode *t)
{
    size_t n = t->npend < t->unit ? t->npend : t->unit;
    int rc = put_replacement(t);
    if (rc)
        return rc;
    memmove(t->pend, t->pend + n, t->npend - n);
    t->npend -= n;
    return 0;
}

static int feed_text(struct ss_transcode *t, const char *buf, size_t len)
{
    int rc;

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
        rc = convert_pending(t);
        if (rc != 0 && rc != INCOMPLETE)
            return rc;
        if (rc == INCOMPLETE && t->npend == sizeof(t->pend) && (rc = drop_first_pending(t)) != 0)
            return rc;
    }
    char *in = (char *)buf; /* iconv's prototype; it does not write the input */
    while (len > 0) {
        rc = convert(t, &in, &len);
        if (t->cb_rc)
            return t->cb_rc; /* the callback stopped us, whatever it returned */
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
        size_t skip = len < t->unit ? len : t->unit;
        if ((rc = put_replacement(t)) != 0)
            return rc;
        in += skip;
        len -= skip;
    }
    return flush(t);
}

/* The held first bytes: a byte-order mark, or data. done: the input ends
 * here. Returns 1 while more bytes are needed to tell, 0 when decided, or a
 * negative errno. */
static int look_for_bom(struct ss_transcode *t, int done)
{
    const unsigned char *h = (const unsigned char *)t->head;
    const char *mark = NULL, *from = NULL;
    size_t drop = 0;
    int rc;

    if (t->nhead >= 2 && h[0] == 0xFF && h[1] == 0xFE)
        mark = from = "UTF-16LE", drop = 2;
    else if (t->nhead >= 2 && h[0] == 0xFE && h[1] == 0xFF)
        mark = from = "UTF-16BE", drop = 2;
    else if (t->nhead == 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF)
        mark = "UTF-8"; /* kept: UTF-8 input passes through whole */
    else if (!done && t->nhead < 3 && (h[0] == 0xEF || h[0] == 0xFE || h[0] == 0xFF) &&
             (t->nhead < 2 || h[0] == 0xEF) && (t->nhead < 2 || h[1] == 0xBB))
        return 1; /* the start of a mark, perhaps */
    t->started = 1;
    if (mark) {
        t->bom = mark;
        if ((from || t->cd != (iconv_t)-1) && (rc = use_encoding(t, from)) < 0)
            return rc;
        t->nhead -= drop;
        memmove(t->head, t->head + drop, t->nhead);
    }
    return 0;
}

int ss_transcode_feed(struct ss_transcode *t, const char *buf, size_t len)
{
    int rc;

    if (t->cb_rc)
        return t->cb_rc;
    if (!t->started && t->nhead == 0 && len >= sizeof(t->head)) {
        /* The usual case: the first chunk shows it all; no copy. */
        memcpy(t->head, buf, sizeof(t->head));
        t->nhead = sizeof(t->head);
        if ((rc = look_for_bom(t, 0)) < 0)
            return rc;
        size_t mark = sizeof(t->head) - t->nhead;
        t->nhead = 0;
        return feed_text(t, buf + mark, len - mark);
    }
    while (!t->started && len > 0) {
        t->head[t->nhead++] = *buf++;
        len--;
        if ((rc = look_for_bom(t, 0)) < 0)
            return rc;
        if (rc == 0 && t->nhead > 0 && (rc = feed_text(t, t->head, t->nhead)) != 0)
            return rc;
    }
    return len > 0 ? feed_text(t, buf, len) : 0;
}

int ss_transcode_finish(struct ss_transcode *t)
{
    int rc;

    if (t->cb_rc)
        return t->cb_rc;
    if (!t->started) {
        if ((rc = look_for_bom(t, 1)) < 0)
            return rc;
        if (t->nhead > 0 && (rc = feed_text(t, t->head, t->nhead)) != 0)
            return rc;
    }
    if (t->cd == (iconv_t)-1)
        return 0;
    /* Input ended inside a sequence: each byte left is one replacement, and
     * the rest is tried again after it (it may convert on its own). */
    while (t->npend > 0) {
        if ((rc = drop_first_pending(t)) != 0)
            return rc;
        rc = convert_pending(t);
        if (rc != 0 && rc != INCOMPLETE)
            return rc;
    }
    /* Return to the initial shift state (writes nothing for Windows-1252). */
    char *op = t->out + t->nout;
    size_t ol = sizeof(t->out) - t->nout;
    if (iconv(t->cd, NULL, NULL, &op, &ol) != (size_t)-1)
        t->nout = (size_t)(op - t->out);
    return flush(t);
}
