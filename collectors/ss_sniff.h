/* ss_sniff: "is this export really what the config says?" -- the checks the
 * text source kinds (csv, json) run on a body before their parser sees it.
 *
 * Two checks, in this order, on the text (after any encoding conversion):
 *   - the HTML check (ss_http_sniff_html): a login or error page where CSV
 *     or JSON was expected fails the run before anything is parsed; the first
 *     bytes (up to SS_HTTP_SNIFF_MAX) are held until it can tell;
 *   - the text check: from the first NUL byte on the body is not text (a
 *     compressed file, a spreadsheet, UTF-16 without its mark): nothing more
 *     is parsed, the rest is only looked at for the message (ss_http_binary),
 *     and the run fails at that line, what came before it delivered.
 * Text past both goes to the kind's feed. A failure goes to the kind's fail
 * with the message (the URL redacted), whose return value is passed back.
 */
#ifndef SS_SNIFF_H
#define SS_SNIFF_H

#include <stddef.h>

#include "ss_http.h"

struct ss_sniff {
    /* set by the kind before ss_sniff_begin */
    const char *what; /* "CSV", "JSON": what was expected, for messages */
    const char *url;
    /* text past both checks; non-zero stops the body */
    int (*feed)(void *ud, const char *data, size_t len);
    /* the line the kind's parser is at, for the not-text message */
    unsigned long (*line)(void *ud);
    /* a failure with its message; the return value is passed back (non-zero) */
    int (*fail)(void *ud, const char *msg);
    void *ud;

    /* the checks' state, reset by ss_sniff_begin */
    const struct ss_http_resp *resp; /* its Content-Type */
    int sniffing;
    size_t nhead;
    char head[SS_HTTP_SNIFF_MAX];
    unsigned char magic[4]; /* the body's first bytes, for the not-text message */
    size_t nmagic;
    int binary;
    unsigned long bin_line;
    struct ss_http_binary bin;
};

/* Starts a body, whose response (resp: its Content-Type) is being read. */
void ss_sniff_begin(struct ss_sniff *s, const struct ss_http_resp *resp);
/* The raw body bytes as they come (before any conversion), for the message. */
void ss_sniff_raw(struct ss_sniff *s, const char *data, size_t len);
/* Text: 0, or non-zero (feed's or fail's) to stop the body. */
int ss_sniff_feed(struct ss_sniff *s, const char *data, size_t len);
/* The body ended: the checks still pending decide. 0, or fail's value. */
int ss_sniff_finish(struct ss_sniff *s);

#endif
