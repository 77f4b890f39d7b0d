/* ss_source: a source kind -- how records come out of one kind of system
 * (a CSV export, a JSON file, Koha's REST API, FOLIO's Okapi API).
 *
 * A kind is a struct of callbacks, after Fluent Bit's plugins: the engine
 * (shelfsync-collect.c) owns everything else -- mapping, privacy, batching,
 * the outbox, delivery, the incremental cursor's safe keeping -- and a kind
 * only fetches and hands over records. Adding a kind is adding one file and
 * one line in ss_source.c; it touches no other kind.
 *
 * A kind first declares the names of the values its records carry
 * (sink->columns: a CSV header, or the dataset field names an API adapter
 * fills), then hands over records in that order (sink->record), or records
 * it could not read (sink->reject: quarantined with the reason, never
 * dropped). Values are valid only during the call. A sink callback that
 * returns non-zero asks the kind to stop: it returns SS_SOURCE_STOPPED.
 *
 * Incremental fetch: the engine passes the cursor the last successful run
 * left (NULL on the first run) and the kind writes the next one into
 * next_cursor (opaque text: an ETag and Last-Modified, an updated-since
 * timestamp, a last id). The engine stores it only once every batch of the
 * run is safe in the outbox, so a crash repeats work, never skips it.
 */
#ifndef SS_SOURCE_H
#define SS_SOURCE_H

#include <stddef.h>

#include "ss_buf.h"
#include "ss_config.h"

struct ss_http;

struct ss_record_sink {
    int (*columns)(void *ud, const char *const *names, const size_t *lens, size_t n);
    /* where: the line (CSV) or record number (APIs) the record came from */
    int (*record)(void *ud, const char *const *vals, const size_t *lens, size_t n,
                  unsigned long where);
    int (*reject)(void *ud, unsigned long where, const char *reason, const char *raw,
                  size_t rawlen);
    /* Bytes received so far, for --progress (may be called often). */
    void (*progress)(void *ud, unsigned long long bytes);
    void *ud;
};

enum ss_source_result {
    SS_SOURCE_OK,        /* everything new was handed over; next_cursor is set */
    SS_SOURCE_UNCHANGED, /* nothing new since the cursor (HTTP 304): no records */
    SS_SOURCE_FAILED,    /* err says why; records already handed over are still good */
    SS_SOURCE_STOPPED,   /* a sink callback asked to stop */
};

struct ss_source_env {
    const struct ss_collector_config *cfg;
    struct ss_http *http; /* the configured HTTP client (timeouts, retries, TLS, auth) */
    volatile int *stop;   /* set on SIGTERM: finish quickly */
};

struct ss_source_kind {
    const char *name; /* the config's "kind" */
    /* Checks the config for this kind and prepares. 0, or -1 with err. */
    int (*cb_init)(void **state, const struct ss_source_env *env, char *err, size_t errlen);
    enum ss_source_result (*cb_run)(void *state, const char *cursor, struct ss_buf *next_cursor,
                                    const struct ss_record_sink *sink, char *err, size_t errlen);
    void (*cb_exit)(void *state);
};

/* The kind named name, or NULL. */
const struct ss_source_kind *ss_source_find(const char *name);

#endif
