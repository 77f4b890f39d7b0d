/* ss_fetch: streams one export over HTTP(S) (or file://) with libcurl.
 *
 * The body is handed to the sink as it arrives, chunk by chunk; it is never
 * held whole. A response that is not 2xx is not handed to the sink at all
 * (an error page is not data). Redirects are followed (http/https only, at
 * most 5). Compressed transfer encodings are accepted. TLS peers are
 * verified (ca_file overrides the system store). Proxies come from the
 * environment, as libcurl reads them.
 */
#ifndef SS_FETCH_H
#define SS_FETCH_H

#include <stddef.h>

/* Return 0 to go on, non-zero to stop the transfer. */
typedef int (*ss_fetch_sink)(void *ud, const char *data, size_t len);

struct ss_fetch_opts {
    long connect_timeout_s;
    long timeout_s; /* 0: none */
    const char *ca_file;
};

enum ss_fetch_result {
    SS_FETCH_OK,
    SS_FETCH_FAILED,  /* network or HTTP error: err says what */
    SS_FETCH_STOPPED, /* the sink asked to stop */
};

int ss_fetch_global_init(void);
void ss_fetch_global_cleanup(void);

/* bytes receives the body bytes passed to the sink. */
enum ss_fetch_result ss_fetch(const char *url, const struct ss_fetch_opts *opts, ss_fetch_sink sink,
                              void *ud, unsigned long long *bytes, char *err, size_t errlen);

/* Copies url into dst with any user:password@ removed, for logging. */
void ss_fetch_redact(const char *url, char *dst, size_t dstlen);

#endif
