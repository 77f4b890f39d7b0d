/* ss_source: a source kind -- how records come out of one kind of system
 * (a CSV export, a JSON file, Koha's REST API, FOLIO's Okapi API).
 *
 * A kind is a struct of callbacks, after Fluent Bit's plugins: the engine
 * (shelfsync-collect.c) owns everything else -- mapping, privacy, batching,
 * the outbox, delivery, the incremental cursor's safe keeping -- and a kind
 * only fetches and hands over records. Adding a kind is adding one file and
 * one line in ss_source.c; it touches no other kind, and no common code.
 *
 * Options: a kind declares its own (struct ss_config_kind: its section of the
 * config file -- "koha": {...} -- as a table of names, types, bounds and
 * defaults into a struct of its own, plus rules across them), and the one
 * config loader validates a file against them, with the same file:line:col
 * messages as for every other key. The loaded section is env->cfg->options.
 *
 * A kind first declares the names of the values its records carry
 * (sink->columns: a CSV header, or the dataset field names an API adapter
 * fills), then hands over records in that order (sink->record), or records
 * it could not read (sink->reject: quarantined with the reason, never
 * dropped). Values are valid only during the call. A sink callback that
 * returns non-zero asks the kind to stop: it returns SS_SOURCE_STOPPED.
 *
 * Privacy: only the values the mapping takes leave the collector, for a
 * rejected record too. So a reject carries the values the kind could split
 * the record into, in column order (none when it could split nothing), and
 * the engine keeps only the mapped ones; its reason must not quote the
 * record's content (an unmapped column may hold a borrower's name).
 *
 * Incremental fetch: the engine passes the cursor the last successful run
 * left (NULL on the first run, after a config change, or with --full) and
 * the kind writes the next one into next_cursor (opaque text: an ETag and
 * Last-Modified, an updated-since timestamp, a last id). A paging kind also
 * calls sink->checkpoint after each page it handed over whole, with the
 * cursor to resume from after that page. The engine stores a cursor only
 * when every batch of the run was acked (applied or quarantined): the final
 * one after a complete fetch, else the last checkpoint -- so a run that
 * fails half-way resumes where it stopped, and a refused, unacked, empty or
 * cut-short run never moves the cursor past what the warehouse holds.
 *
 * A kind whose cursor runs incrementally returns SS_SOURCE_UNCHANGED when a
 * run with a cursor finds nothing new; SS_SOURCE_OK with no record at all is
 * an empty export, which the engine reports (exit status 6 unless the
 * config says "allow_empty").
 */
#ifndef SS_SOURCE_H
#define SS_SOURCE_H

#include <stddef.h>

#include "ss_buf.h"
#include "ss_config.h"
#include "ss_err.h"

struct ss_http;

struct ss_record_sink {
    int (*columns)(void *ud, const char *const *names, const size_t *lens, size_t n);
    /* where: the line (CSV) or record number (APIs) the record came from */
    int (*record)(void *ud, const char *const *vals, const size_t *lens, size_t n,
                  unsigned long where);
    /* A record the kind could not read: reason (no record content in it) and
     * the values it could split the record into, in column order; fields
     * NULL and n 0 when none. */
    int (*reject)(void *ud, unsigned long where, const char *reason, const char *const *fields,
                  const size_t *lens, size_t n);
    /* Every record of the pages so far is handed over: cursor (len bytes) is
     * where to resume after them. */
    int (*checkpoint)(void *ud, const char *cursor, size_t len);
    /* Columns of the export that are neither mapped nor read (a wide file's
     * header that is no period): named in a warning, and the run ends with
     * exit status 5. Called after columns, at most twice: for the named
     * columns at once, and at the end for columns with no header that held
     * a value (a trailing delimiter alone makes none). */
    int (*unread)(void *ud, const char *const *names, const size_t *lens, size_t n);
    /* Bytes received so far, for --progress (may be called often). */
    void (*progress)(void *ud, unsigned long long bytes);
    void *ud;
};

/* What cb_run returns, after the one convention (ss_err.h): 0, the one
 * documented positive value, or a negative code.
 *   SS_SOURCE_OK (0): everything new was handed over; next_cursor is set.
 *   SS_SOURCE_UNCHANGED (1): nothing new since the cursor (HTTP 304, no new
 *     loans): no records.
 *   SS_SOURCE_STOPPED (SS_ESTOPPED): a sink callback asked to stop.
 *   SS_SOURCE_TRUNCATED (SS_ETRUNCATED): all the source gave was handed
 *     over, but it cut its answer short (a row cap such as Koha's
 *     SvcMaxReportRows): err says what; exit 8.
 *   SS_SOURCE_SETUP (SS_ESETUP): the config does not fit what the source
 *     gave (a wide header whose periods the period field cannot hold): err
 *     says why; exit 1.
 *   SS_SOURCE_FAILED (SS_ERETRY), or any other negative code: the run
 *     failed, err says why, and the next run tries again; records already
 *     handed over are still good. */
#define SS_SOURCE_OK 0
#define SS_SOURCE_UNCHANGED 1
#define SS_SOURCE_FAILED SS_ERETRY
#define SS_SOURCE_STOPPED SS_ESTOPPED
#define SS_SOURCE_TRUNCATED SS_ETRUNCATED
#define SS_SOURCE_SETUP SS_ESETUP

/* A page a kind holds whole to parse it (jansson): the text and the tree
 * built from it must stay within the collector's memory target (32 MiB),
 * so a page is at most 16 MiB; past it the run fails, saying to ask for
 * smaller pages. */
#define SS_SOURCE_MAX_PAGE_BYTES ((size_t)16 << 20)

struct ss_source_env {
    const struct ss_collector_config *cfg;
    struct ss_http *http; /* the configured HTTP client (timeouts, retries, TLS, auth) */
    volatile int *stop;   /* set on SIGTERM: finish quickly */
};

struct ss_source_kind {
    const char *name;                    /* the config's "kind" */
    const struct ss_config_kind *config; /* its options; config->name is name */
    /* Checks the config for this kind and prepares: 0, or a negative code
     * (SS_EINVAL: the config or the system does not fit; SS_ENOMEM) with err. */
    int (*cb_init)(void **state, const struct ss_source_env *env, char *err, size_t errlen);
    /* One run: SS_SOURCE_OK, SS_SOURCE_UNCHANGED or a negative code (above). */
    int (*cb_run)(void *state, const char *cursor, struct ss_buf *next_cursor,
                  const struct ss_record_sink *sink, char *err, size_t errlen);
    void (*cb_exit)(void *state);
};

/* The kind named name, or NULL. */
const struct ss_source_kind *ss_source_find(const char *name);
/* Kind i's options, NULL after the last: the registry as the config loader
 * takes it (ss_collector_config_load's kinds). */
const struct ss_config_kind *ss_source_config_kind(size_t i);

#endif
