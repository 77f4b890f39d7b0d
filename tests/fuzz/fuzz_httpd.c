/* libFuzzer target for ss_httpd_parse: the request parser of the daemon's
 * metrics and health server, which anyone who can reach the listener can
 * feed.
 *
 * Checks the contract of ss_httpd.h: the result is 0, 1 or negative; a
 * negative result has a reason; 1 gives a method of GET or HEAD and a path
 * that starts with "/", is NUL-terminated within its buffer and holds no
 * space, control byte or "?"; 0 (not complete yet) is only given below
 * SS_HTTPD_REQUEST_MAX bytes; and the parser reads only the len bytes it is
 * given (the input is copied into a buffer of exactly that size, so ASan
 * sees any read past it); the conditional headers it copies are
 * NUL-terminated within their fields. Feeding the input in two pieces never turns an
 * answer into another: a prefix that is complete gives the same answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_httpd.h"

static void check(const char *buf, size_t len)
{
    struct ss_http_request req;
    const char *why = NULL;
    int rc = ss_httpd_parse(buf, len, &req, &why);
    if (rc < 0) {
        if (!why || !why[0])
            abort();
        return;
    }
    if (rc == 0) {
        if (len >= SS_HTTPD_REQUEST_MAX)
            abort();
        return;
    }
    if (rc != 1)
        abort();
    if (strcmp(req.method, "GET") != 0 && strcmp(req.method, "HEAD") != 0)
        abort();
    if (req.head != (req.method[0] == 'H'))
        abort();
    if (!memchr(req.path, '\0', sizeof(req.path)) || req.path[0] != '/')
        abort();
    for (const char *p = req.path; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '?')
            abort();
    /* The conditional headers: NUL-terminated within their fields. */
    if (!memchr(req.if_none_match, '\0', sizeof(req.if_none_match)) ||
        !memchr(req.if_modified_since, '\0', sizeof(req.if_modified_since)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    check(buf, size);
    /* A prefix, as the server sees the bytes arrive. */
    if (size > 1)
        check(buf, size / 2);
    free(buf);
    return 0;
}
