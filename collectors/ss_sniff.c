/* ss_sniff: see ss_sniff.h. */
#include "ss_sniff.h"

#include <string.h>

void ss_sniff_begin(struct ss_sniff *s, const struct ss_http_resp *resp)
{
    s->resp = resp;
    s->sniffing = 1;
    s->nhead = 0;
    s->nmagic = 0;
    s->binary = 0;
    s->bin_line = 0;
    ss_http_binary_reset(&s->bin);
}

void ss_sniff_raw(struct ss_sniff *s, const char *data, size_t len)
{
    for (size_t i = 0; i < len && s->nmagic < sizeof(s->magic); i++)
        s->magic[s->nmagic++] = (unsigned char)data[i];
}

static int not_text(struct ss_sniff *s)
{
    char msg[1024];
    ss_http_binary_error(&s->bin, msg, sizeof(msg), s->url, s->bin_line, s->what);
    return s->fail(s->ud, msg);
}

/* Text past the HTML check: the text check, then the kind's feed. */
static int text_feed(struct ss_sniff *s, const char *data, size_t len)
{
    if (s->binary)
        return ss_http_binary_count(&s->bin, data, len) ? not_text(s) : 0;
    const char *nul = memchr(data, '\0', len);
    size_t n = nul ? (size_t)(nul - data) : len;
    int rc = n > 0 ? s->feed(s->ud, data, n) : 0;
    ss_http_binary_text(&s->bin, data, n);
    if (rc || !nul)
        return rc;
    s->binary = 1;
    s->bin_line = s->line(s->ud);
    ss_http_binary_begin(&s->bin, s->magic, s->nmagic);
    return text_feed(s, nul, len - n);
}

/* The HTML check has seen enough (or all there is): HTML fails the run;
 * anything else goes on, the held bytes first. */
static int decide(struct ss_sniff *s, int html, const char *why)
{
    if (html) {
        char msg[1024];
        ss_http_html_error(msg, sizeof(msg), s->url, why, s->what);
        return s->fail(s->ud, msg);
    }
    s->sniffing = 0;
    size_t n = s->nhead;
    s->nhead = 0;
    return n ? text_feed(s, s->head, n) : 0;
}

int ss_sniff_feed(struct ss_sniff *s, const char *data, size_t len)
{
    char why[256];
    if (!s->sniffing)
        return text_feed(s, data, len);
    size_t take = len < sizeof(s->head) - s->nhead ? len : sizeof(s->head) - s->nhead;
    memcpy(s->head + s->nhead, data, take);
    s->nhead += take;
    int html = ss_http_sniff_html(s->resp->content_type, s->head, s->nhead, 0, why, sizeof(why));
    if (html == SS_HTTP_SNIFF_MORE)
        return 0; /* take == len: the buffer is not full, or it would have decided */
    int rc = decide(s, html, why);
    return rc ? rc : take < len ? text_feed(s, data + take, len - take) : 0;
}

int ss_sniff_finish(struct ss_sniff *s)
{
    int rc = 0;
    if (s->sniffing) {
        char why[256];
        int html =
            ss_http_sniff_html(s->resp->content_type, s->head, s->nhead, 1, why, sizeof(why));
        rc = decide(s, html, why);
    }
    if (rc == 0 && s->binary)
        rc = not_text(s);
    return rc;
}
