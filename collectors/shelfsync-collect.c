/* shelfsync-collect: one collector for one source.
 *
 * A run asks the source kind (ss_source: CSV, JSON, Koha, FOLIO) for every
 * record new since the last run's cursor, maps each onto the dataset's
 * fields, shapes it (value maps, transforms, pseudonymisation: ss_shape),
 * cuts records into batches, writes each batch durably to the outbox, and
 * sends it; the sender overlaps with the fetch. A run record goes through
 * the outbox too, before the first batch (begin) and after the last (end:
 * the outcome, counts and error), so the warehouse knows every run, those
 * that sent nothing included. The run ends when every batch is acked (or
 * refused), or when the daemon has not acked anything for
 * send.give_up_after_s (the outbox keeps the rest for the next run, which
 * sends it first). --dry-run fetches, maps and shapes, prints a sample and
 * sends nothing; --progress reports as it goes.
 *
 * The cursor (ss_state) moves only when every batch of the run was acked:
 * to the kind's final cursor after a complete fetch, else to its last
 * checkpoint (a paging kind's last whole page), so a refused, unacked,
 * empty or cut-short run never skips what the warehouse does not hold.
 * The state directory is locked for the run's lifetime.
 *
 * SIGHUP re-reads the config: between runs, the new one replaces the old
 * if it is valid (otherwise the old one keeps running and the error is
 * logged); during a run, at its end.
 *
 * Exit status: 0 everything fetched and acked (or nothing new); 1 usage,
 * config or setup error; 2 the export could not be fetched or read
 * completely (what was read was still delivered); 3 batches remain unacked
 * in the outbox; 4 the daemon refused batches (kept under
 * STATE_DIR/refused/); 5 the export has columns that were neither mapped
 * nor read (a wide file's header that is no period); 6 the export held no
 * record; 7 another run holds the state directory; 8 the source cut its
 * answer short (a row cap).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ss_buf.h"
#include "ss_config.h"
#include "ss_csv.h"
#include "ss_dataset.h"
#include "ss_discover.h"
#include "ss_err.h"
#include "ss_file.h"
#include "ss_http.h"
#include "ss_log.h"
#include "ss_mapper.h"
#include "ss_occurrence.h"
#include "ss_outbox.h"
#include "ss_proto.h"
#include "ss_rejects.h"
#include "ss_sender.h"
#include "ss_signal.h"
#include "ss_shape.h"
#include "ss_source.h"
#include "ss_state.h"
#include "ss_time.h"

/* Distinct keys numbered per export (ss_occurrence): 8 MiB at most. */
#define SS_MAX_OCCURRENCE_KEYS 250000
/* The raw text kept with a quarantined record (its mapped values as one CSV
 * line): a record past it goes to the quarantine without its text. */
#define SS_COLLECT_RAW_MAX (64 * 1024)

enum {
    EXIT_OK = 0,
    EXIT_SETUP = 1,
    EXIT_FETCH = 2,
    EXIT_UNACKED = 3,
    EXIT_REFUSED = 4,
    EXIT_UNREAD = 5,
    EXIT_EMPTY = 6,
    EXIT_LOCKED = 7,
    EXIT_TRUNCATED = 8,
    EXIT_REJECTS = 9,
};

static volatile int stop_requested;
static volatile int reload_requested;

/* What one config sets up, kept across the runs of an interval. */
struct collector {
    const char *path;
    struct ss_collector_config cfg;
    const struct ss_dataset *ds;
    const struct ss_source_kind *kind;
    void *kind_state;
    int kind_ready;
    struct ss_http *http;
    struct ss_source_env env; /* the kind keeps a pointer to it */
    struct ss_state *state;   /* NULL for a dry run */
    struct ss_outbox *outbox;
    struct ss_sender *sender;
    char identity[SS_STATE_IDENTITY_LEN + 1];
};

struct run {
    const struct ss_collector_config *cfg;
    const struct ss_dataset *ds;
    struct ss_outbox *outbox;
    struct ss_sender *sender;
    const struct ss_http *http; /* for the export's Last-Modified (a batch's as_of) */
    struct ss_shape *shape;
    struct ss_mapper mapper;
    int have_mapper;
    char run_id[SS_PROTO_NAME_MAX + 1];
    uint32_t seq;
    struct ss_buf payload; /* the batch being filled */
    struct ss_buf header;
    uint32_t nrecords; /* in the batch being filled */
    unsigned long records, rejected, batches;
    const char *vals[SS_MAPPER_MAX_FIELDS];
    size_t lens[SS_MAPPER_MAX_FIELDS];
    struct ss_buf raw;
    struct ss_occurrence *occ; /* datasets with an occurrence field */
    int occ_field;
    char occ_text[16];
    struct ss_buf checkpoint; /* the kind's last checkpoint */
    int have_checkpoint;
    int unread;       /* the export has columns neither mapped nor read */
    int dry_run;      /* print a sample, send nothing */
    int progress;     /* report as it goes */
    int progress_tty; /* ... on a live line */
    int64_t last_report;
    unsigned long long bytes;
    int fatal; /* stop the run: err says why */
    char err[2048];
    int64_t started;
    /* What the daemon quarantined of the batches acked in this run (theirs
     * or an earlier run's, left in the outbox): the reasons summed, the
     * first lines; NULL until an ack says so. */
    struct ss_rejects *rj;
    unsigned long rejects_written; /* lines written to STATE_DIR/rejects/ */
    int rejects_file_failed;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: shelfsync-collect --config FILE [--once] [--dry-run] [--full] [--progress]\n"
               "                         [--log-level LEVEL]\n"
               "       shelfsync-collect --check-config --config FILE\n"
               "       shelfsync-collect --discover URL [--dataset NAME] [--out FILE]\n"
               "       shelfsync-collect --version\n"
               "Fetches one source, maps it to a core dataset and delivers it to shelfsyncd.\n"
               "  --once       one run, then exit (otherwise every interval_s seconds)\n"
               "  --dry-run    fetch and map, print a sample of the records, send nothing\n"
               "  --full       fetch in full: do not use the saved cursor (the first run)\n"
               "  --progress   bytes, records, rejects and rate as they go\n"
               "  --check-config  check FILE (every key, the kind's own included), contact\n"
               "               nothing, exit 0 or 1\n"
               "  --discover URL  read the head of the export at URL (http(s):// or file://)\n"
               "               and print a proposed config for it (to --out FILE): encoding,\n"
               "               delimiter, header, month columns, the dataset (--dataset, else\n"
               "               guessed from the headers), the mapping, placeholders to fill;\n"
               "               a summary on stderr. Exit 0, 1 usage, 2 nothing usable\n"
               "Exit status: 0 all acked, 1 setup error, 2 fetch failed or cut short, 3 unacked\n"
               "batches remain in the outbox, 4 the daemon refused batches, 5 columns neither\n"
               "mapped nor read, 6 the export is empty, 7 another run holds the state directory,\n"
               "8 the source cut its answer short, 9 the daemon quarantined more records than\n"
               "\"reject_limit\" allows (their reasons in STATE_DIR/rejects/RUN.csv).\n");
}

static void make_run_id(char *dst, size_t len)
{
    unsigned char r[4] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, r, sizeof(r));
        (void)n;
        close(fd);
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(dst, len, "%s-%02x%02x%02x%02x", ts, r[0], r[1], r[2], r[3]);
}

static void report(struct run *r, int final)
{
    int64_t now = ss_now_ms();
    if (!r->progress || (!final && now - r->last_report < (r->progress_tty ? 250 : 5000)))
        return;
    r->last_report = now;
    double secs = (double)(now - r->started) / 1000.0;
    double rate = secs > 0 ? (double)r->records / secs : 0;
    if (r->progress_tty) {
        fprintf(stderr, "\r%s: %.1f MB, %lu records, %lu rejected, %.0f records/s, %lu batches%s",
                r->cfg->source, (double)r->bytes / 1e6, r->records - r->rejected, r->rejected, rate,
                r->batches, final ? "\n" : "   ");
        fflush(stderr);
    } else {
        ss_notice("progress: %.1f MB, %lu records, %lu rejected, %.0f records/s, %lu batches",
                  (double)r->bytes / 1e6, r->records - r->rejected, r->rejected, rate, r->batches);
    }
}

/* Bounds the outbox: past max_outbox_batches, wait for acks before making
 * more (the fetch waits with us). */
static int wait_for_room(struct run *r)
{
    int64_t since = ss_now_ms();
    int rc;
    while (!stop_requested && ss_sender_pending(r->sender) >= (size_t)r->cfg->max_outbox_batches) {
        if ((rc = ss_sender_pump(r->sender, 1000)) < 0)
            return rc;
        int64_t last = ss_sender_last_progress(r->sender);
        if (last > since)
            since = last;
        if (r->cfg->give_up_after_s > 0 && ss_now_ms() - since > r->cfg->give_up_after_s * 1000) {
            snprintf(r->err, sizeof(r->err),
                     "the outbox holds %zu batches and the daemon has acked none for %ld s",
                     ss_sender_pending(r->sender), r->cfg->give_up_after_s);
            return SS_ERETRY;
        }
    }
    return stop_requested ? SS_ESTOPPED : 0;
}

/* Stores a message (a batch with r->payload, or a header-only run record)
 * durably in the outbox and queues it for sending. */
static int put_message(struct run *r, struct ss_header *h, const struct ss_buf *payload)
{
    static const struct ss_buf none = {0};
    char name[SS_OUTBOX_NAME_MAX + 1];
    int rc;

    if ((rc = ss_proto_encode_header(h, &r->header)) < 0 ||
        (rc = ss_outbox_put(r->outbox, h, &r->header, payload ? payload : &none, name)) < 0) {
        snprintf(r->err, sizeof(r->err), "cannot write %s %u to the outbox %s: %s%s",
                 h->type == SS_MSG_RUN ? "run record" : "batch", h->seq, ss_outbox_dir(r->outbox),
                 strerror(-rc),
                 rc == -ENOSPC ? " (disk full: stopping; nothing already stored is lost)" : "");
        return rc;
    }
    if ((rc = ss_sender_add(r->sender, name)) < 0) {
        snprintf(r->err, sizeof(r->err), "out of memory");
        return rc;
    }
    if ((rc = ss_sender_pump(r->sender, 0)) < 0) {
        snprintf(r->err, sizeof(r->err), "the daemon refused the conversation (see above)");
        return rc;
    }
    return 0;
}

/* The batch's as_of: the config's, else the export's Last-Modified (as a
 * UTC time), else none (the daemon then uses the record's date or the load
 * time). */
static void batch_as_of(const struct run *r, struct ss_header *h)
{
    long long t;
    if (r->cfg->as_of && r->cfg->as_of[0]) {
        snprintf(h->as_of, sizeof(h->as_of), "%.10s", r->cfg->as_of);
        snprintf(h->as_of_basis, sizeof(h->as_of_basis), "config");
    } else if ((t = ss_http_data_time(r->http)) > 0) {
        ss_proto_time(h->as_of, sizeof(h->as_of), t);
        if (ss_proto_valid_as_of(h->as_of))
            snprintf(h->as_of_basis, sizeof(h->as_of_basis), "last-modified");
        else
            h->as_of[0] = '\0';
    }
}

static int flush_batch(struct run *r, int last, int partial)
{
    struct ss_header h;
    int rc;

    if (r->nrecords == 0)
        return 0;
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_BATCH;
    snprintf(h.source, sizeof(h.source), "%s", r->cfg->source);
    snprintf(h.run_id, sizeof(h.run_id), "%s", r->run_id);
    h.seq = ++r->seq;
    snprintf(h.dataset, sizeof(h.dataset), "%s", r->ds->name);
    h.records = r->nrecords;
    h.fields = (uint32_t)r->ds->nfields;
    h.last = last;
    h.partial = partial;
    batch_as_of(r, &h);
    if ((rc = put_message(r, &h, &r->payload)) < 0) {
        r->seq--; /* not stored: the number is free for the next try */
        return rc;
    }
    r->batches++;
    ss_buf_reset(&r->payload);
    r->nrecords = 0;
    return wait_for_room(r);
}

static void run_header(struct run *r, struct ss_header *h, enum ss_run_event ev, uint32_t seq)
{
    memset(h, 0, sizeof(*h));
    h->type = SS_MSG_RUN;
    h->event = ev;
    snprintf(h->source, sizeof(h->source), "%s", r->cfg->source);
    snprintf(h->run_id, sizeof(h->run_id), "%s", r->run_id);
    h->seq = seq;
    snprintf(h->dataset, sizeof(h->dataset), "%s", r->ds->name);
    ss_proto_time(h->at, sizeof(h->at), (long long)time(NULL));
}

static int run_begin(struct run *r, const char *identity, int full)
{
    struct ss_header h;
    run_header(r, &h, SS_RUN_BEGIN, 0);
    snprintf(h.kind, sizeof(h.kind), "%s", r->cfg->kind);
    snprintf(h.config, sizeof(h.config), "%s", identity);
    h.full = full;
    return put_message(r, &h, NULL);
}

static int run_end(struct run *r, enum ss_run_outcome outcome, int status, unsigned long refused,
                   const char *error)
{
    struct ss_header h;
    run_header(r, &h, SS_RUN_END, r->seq + 1);
    h.outcome = outcome;
    h.exit_status = (uint32_t)status;
    h.bytes = r->bytes;
    h.nrecords = r->records;
    h.rejected = r->rejected;
    h.batches = r->seq;
    h.refused = (uint32_t)refused;
    snprintf(h.error, sizeof(h.error), "%s", error ? error : "");
    /* What still waits for an ack: the daemon learns it when this record
     * arrives (perhaps with the next run, if it waits in the outbox too). */
    h.has_outbox = 1;
    h.outbox_batches = (uint32_t)ss_sender_pending_batches(r->sender);
    return put_message(r, &h, NULL);
}

/* --dry-run: the first records as they would be sent, one a line. */
static void print_sample(struct run *r, uint32_t line, unsigned flags, const char *const *vals,
                         const size_t *lens, size_t n)
{
    if (flags & SS_REC_REJECTED) {
        printf("line %u: rejected: %.*s\n", line, (int)lens[0], vals[0]);
        return;
    }
    printf("line %u:", line);
    for (size_t i = 0; i < n; i++)
        if (vals[i])
            printf(" %s=\"%.*s\"", r->ds->fields[i].name, (int)(lens[i] < 200 ? lens[i] : 200),
                   vals[i]);
    printf("\n");
}

static int add_record(struct run *r, uint32_t line, unsigned flags, const char *const *vals,
                      const size_t *lens, size_t n)
{
    if (r->dry_run) {
        if (++r->records <= 10)
            print_sample(r, line, flags, vals, lens, n);
        return 0;
    }
    int rc;
    if (r->nrecords >= (uint32_t)r->cfg->batch_records && (rc = flush_batch(r, 0, 0)) < 0)
        return rc;
    rc = ss_payload_add(&r->payload, line, flags, n, vals, lens);
    if (rc == SS_E2BIG && r->nrecords > 0) {
        if ((rc = flush_batch(r, 0, 0)) < 0)
            return rc;
        rc = ss_payload_add(&r->payload, line, flags, n, vals, lens);
    }
    if (rc == SS_E2BIG) {
        /* One record bigger than a whole batch: say so, in its place. */
        char why[160];
        const char *rv[2];
        size_t rl[2];
        snprintf(why, sizeof(why), "line %u: record larger than batch.max_bytes (%ld bytes)", line,
                 r->cfg->batch_max_bytes);
        rv[0] = why;
        rl[0] = strlen(why);
        rv[1] = "";
        rl[1] = 0;
        rc = ss_payload_add(&r->payload, line, SS_REC_REJECTED, 2, rv, rl);
        r->rejected++;
    }
    if (rc < 0) {
        snprintf(r->err, sizeof(r->err), "cannot add a record to the batch: %s", strerror(-rc));
        return rc;
    }
    r->nrecords++;
    r->records++;
    return 0;
}

/* A record the source could not read goes to the daemon's quarantine with
 * the reason, rather than vanishing. */
static int reject(struct run *r, unsigned long where, const char *why, const char *raw,
                  size_t rawlen)
{
    char reason[544]; /* "line N: " and a reason of up to 511 bytes */
    const char *v[2];
    size_t l[2];
    snprintf(reason, sizeof(reason), "line %lu: %.511s", where, why);
    ss_info("%s (record quarantined)", reason);
    v[0] = reason;
    l[0] = strlen(reason);
    v[1] = raw ? raw : "";
    l[1] = raw ? rawlen : 0;
    r->rejected++;
    return add_record(r, (uint32_t)where, SS_REC_REJECTED, v, l, 2);
}

/* Fills the occurrence field: the how-manieth record with this key. */
static int number_occurrence(struct run *r)
{
    const char *kv[SS_MAPPER_MAX_FIELDS];
    size_t kl[SS_MAPPER_MAX_FIELDS], n = 0;
    for (size_t f = 0; f < r->ds->nfields; f++) {
        if (!(r->ds->fields[f].flags & SS_F_KEY) || (int)f == r->occ_field)
            continue;
        kv[n] = r->vals[f];
        kl[n++] = r->lens[f];
    }
    uint32_t k = ss_occurrence_next(r->occ, kv, kl, n);
    if (k == 0) {
        snprintf(r->err, sizeof(r->err),
                 "more than %d distinct %s keys in one export: split the export",
                 SS_MAX_OCCURRENCE_KEYS, r->ds->name);
        return SS_E2BIG;
    }
    snprintf(r->occ_text, sizeof(r->occ_text), "%u", k);
    r->vals[r->occ_field] = r->occ_text;
    r->lens[r->occ_field] = strlen(r->occ_text);
    return 0;
}

static int sink_columns(void *ud, const char *const *names, const size_t *lens, size_t n)
{
    struct run *r = ud;
    if (ss_mapper_init(&r->mapper, r->ds, r->cfg, names, lens, n, r->err, sizeof(r->err)) < 0) {
        r->fatal = 1;
        return 1;
    }
    r->have_mapper = 1;
    return 0;
}

/* The quarantine's raw text of a record that cannot be taken: its mapped
 * values only (r->vals), as one CSV line, and never a patron identifier in
 * clear. Unmapped columns never leave the collector, not even here. */
static void build_raw(struct run *r)
{
    const char *v[SS_MAPPER_MAX_FIELDS];
    ss_buf_reset(&r->raw);
    for (size_t f = 0; f < r->ds->nfields; f++)
        v[f] = r->ds->fields[f].type == SS_FT_PSEUDONYM ? NULL : r->vals[f];
    if (ss_csv_join(&r->raw, v, r->lens, r->ds->nfields) < 0)
        ss_buf_reset(&r->raw); /* past SS_COLLECT_RAW_MAX: no text rather than a cut one */
}

/* A sink's answer after rejecting a record with r->raw as its text: 0 to go
 * on, 1 (stop) when the batch could not take it. */
static int quarantine(struct run *r, unsigned long where, const char *why)
{
    if (reject(r, where, why, r->raw.data ? r->raw.data : "", r->raw.len) < 0) {
        r->fatal = 1;
        return 1;
    }
    report(r, 0);
    return 0;
}

static int sink_reject(void *ud, unsigned long where, const char *reason, const char *const *fields,
                       const size_t *lens, size_t n)
{
    struct run *r = ud;
    char why[16];
    if (stop_requested)
        return 1;
    ss_buf_reset(&r->raw);
    if (r->have_mapper && n > 0) {
        ss_mapper_apply(&r->mapper, fields, lens, n, r->vals, r->lens, why, sizeof(why));
        build_raw(r);
    }
    return quarantine(r, where, reason);
}

static int sink_record(void *ud, const char *const *fields, const size_t *lens, size_t n,
                       unsigned long where)
{
    struct run *r = ud;
    char why[512];

    if (stop_requested)
        return 1;
    if (!r->have_mapper) {
        snprintf(r->err, sizeof(r->err), "the source gave records before naming its columns");
        r->fatal = 1;
        return 1;
    }
    if (ss_mapper_apply(&r->mapper, fields, lens, n, r->vals, r->lens, why, sizeof(why)) < 0 ||
        ss_shape_apply(r->shape, r->vals, r->lens, why, sizeof(why)) < 0) {
        build_raw(r);
        return quarantine(r, where, why);
    }
    if (r->occ && number_occurrence(r) < 0) {
        r->fatal = 1;
        return 1;
    }
    if (add_record(r, (uint32_t)where, 0, r->vals, r->lens, r->ds->nfields) < 0) {
        r->fatal = 1;
        return 1;
    }
    report(r, 0);
    return 0;
}

static int sink_checkpoint(void *ud, const char *cursor, size_t len)
{
    struct run *r = ud;
    ss_buf_reset(&r->checkpoint);
    if (ss_buf_add(&r->checkpoint, cursor, len) < 0) {
        ss_warn("a checkpoint of %zu bytes is longer than %d: not kept", len, SS_CURSOR_MAX);
        r->have_checkpoint = 0;
        return 0;
    }
    r->have_checkpoint = 1;
    return stop_requested;
}

static int sink_unread(void *ud, const char *const *names, const size_t *lens, size_t n)
{
    struct run *r = ud;
    char cols[1024];
    ss_mapper_list_columns(cols, sizeof(cols), names, lens, n);
    ss_warn("%zu column%s of the export %s neither mapped nor read, so %s cells are not loaded: "
            "%s; map %s, or list %s in \"csv.wide.ignore\" to leave %s out on purpose",
            n, n == 1 ? "" : "s", n == 1 ? "is" : "are", n == 1 ? "its" : "their", cols,
            n == 1 ? "it" : "them", n == 1 ? "it" : "them", n == 1 ? "it" : "them");
    r->unread = 1;
    return 0;
}

static void sink_progress(void *ud, unsigned long long bytes)
{
    struct run *r = ud;
    r->bytes = bytes;
    report(r, 0);
}

/* Waits until no batch is left in the outbox (runs records too, with
 * everything), or no ack has come for give_up_after_s (at most limit_s
 * seconds when limit_s > 0). */
static void drain(struct run *r, int everything, long limit_s)
{
    int64_t since = ss_now_ms(), start = since;
    int64_t last_log = since;
    long give_up = r->cfg->give_up_after_s;
    if (limit_s > 0 && (give_up == 0 || give_up > limit_s))
        give_up = limit_s;
    while (!stop_requested &&
           (everything ? ss_sender_pending(r->sender) : ss_sender_pending_batches(r->sender)) > 0) {
        if (ss_sender_pump(r->sender, 1000) < 0)
            return;
        int64_t now = ss_now_ms();
        int64_t last = ss_sender_last_progress(r->sender);
        if (last > since)
            since = last;
        if (limit_s > 0 && now - start > limit_s * 1000)
            return;
        if (give_up > 0 && now - since > give_up * 1000) {
            if (!everything)
                ss_warn("no ack from the daemon for %ld s: giving up for now; %zu batches stay "
                        "in the outbox for the next run",
                        give_up, ss_sender_pending_batches(r->sender));
            return;
        }
        if (now - last_log > 10000) {
            ss_notice("waiting for the daemon: %zu batches to deliver",
                      ss_sender_pending_batches(r->sender));
            last_log = now;
        }
    }
}

static enum ss_run_outcome outcome_of(int status, int sr, unsigned long records)
{
    switch (status) {
    case EXIT_OK:
    case EXIT_UNACKED:
    case EXIT_REJECTS: /* everything fetched and delivered; too much of it refused */
        return sr == SS_SOURCE_UNCHANGED ? SS_RUN_UNCHANGED
               : records == 0            ? SS_RUN_EMPTY
                                         : SS_RUN_COMPLETE;
    case EXIT_EMPTY:
        return SS_RUN_EMPTY;
    case EXIT_REFUSED:
        return SS_RUN_REFUSED;
    case EXIT_UNREAD:
    case EXIT_TRUNCATED:
        return SS_RUN_PARTIAL;
    default:
        return records > 0 ? SS_RUN_PARTIAL : SS_RUN_FAILED;
    }
}

/* One CSV field: quoted when it holds a comma, a quote, a line break or
 * space at an end (a quote doubled). */
static void csv_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    if (strpbrk(s, ",\"\r\n") == NULL && (n == 0 || (s[0] != ' ' && s[n - 1] != ' '))) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Appends rj's lines to STATE_DIR/rejects/RUN.csv (line, field, reason,
 * raw; the header when the file is new), RUN being the batch's run.
 * Returns 0 or -errno. */
static int rejects_write(const struct run *r, const char *run_id, const struct ss_rejects *rj)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/rejects", r->cfg->state_dir);
    if (ss_mkdir_p(path, 0700) < 0)
        return -errno;
    snprintf(path, sizeof(path), "%s/rejects/%s.csv", r->cfg->state_dir, run_id);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "a");
    if (!f) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size == 0)
        fputs("line,field,reason,raw\n", f);
    for (size_t i = 0; i < rj->nlines; i++) {
        const struct ss_reject_line *l = &rj->lines[i];
        fprintf(f, "%u,", l->line);
        csv_field(f, l->field);
        fputc(',', f);
        csv_field(f, l->reason);
        fputc(',', f);
        csv_field(f, l->raw);
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return errno ? -errno : -EIO;
    return 0;
}

/* ss_sender's on_rejects: the daemon quarantined records of a batch. */
static void run_rejects(void *arg, const char *source, const char *run_id, uint32_t seq,
                        uint32_t quarantined, const struct ss_rejects *rj)
{
    struct run *r = arg;
    (void)source;
    if (!r->rj) {
        if (!(r->rj = malloc(sizeof(*r->rj)))) {
            ss_warn("batch %s/%u: %u quarantined (out of memory for their reasons)", run_id, seq,
                    quarantined);
            return;
        }
        ss_rejects_reset(r->rj);
    }
    ss_rejects_merge(r->rj, rj, quarantined);
    if (rj->nlines == 0)
        return;
    int rc = rejects_write(r, run_id, rj);
    if (rc < 0 && !r->rejects_file_failed) {
        r->rejects_file_failed = 1;
        ss_warn("%s/rejects/%s.csv: cannot write the reject file: %s (the quarantine keeps "
                "every record: shelfsync quarantine show --source %s)",
                r->cfg->state_dir, run_id, strerror(-rc), r->cfg->source);
    } else if (rc == 0) {
        r->rejects_written += rj->nlines;
    }
}

/* The run's rejects, said where the person running it reads: each reason
 * with its count, the first lines, and where the rest are. */
static void rejects_report(const struct run *r, unsigned long long quarantined)
{
    const struct ss_rejects *rj = r->rj;
    if (quarantined == 0)
        return;
    ss_warn("%llu record%s quarantined by the daemon (event=rejects run=%s quarantined=%llu)",
            quarantined, quarantined == 1 ? "" : "s", r->run_id, quarantined);
    if (!rj)
        return;
    for (size_t i = 0; i < rj->nreasons; i++)
        ss_warn("  %u x %s", rj->reasons[i].count, rj->reasons[i].reason);
    if (rj->other)
        ss_warn("  %u x other reasons", rj->other);
    for (size_t i = 0; i < rj->nlines && i < 3; i++)
        ss_warn("  line %u: %s", rj->lines[i].line, rj->lines[i].reason);
    if (r->rejects_written)
        ss_warn("  %lu of them listed with their text in %s/rejects/ (the first %d of each "
                "batch); every one: shelfsync quarantine show --source %s",
                r->rejects_written, r->cfg->state_dir, SS_REJECTS_LINES, r->cfg->source);
}

/* A run's state and buffers, before anything is fetched. 0, or EXIT_SETUP
 * with r->err. */
static int run_init(struct run *r, struct collector *c, int dry_run, int progress)
{
    const struct ss_collector_config *cfg = &c->cfg;
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    r->ds = c->ds;
    r->outbox = c->outbox;
    r->sender = c->sender;
    r->http = c->http;
    r->dry_run = dry_run;
    r->progress = progress;
    r->progress_tty = progress && isatty(STDERR_FILENO);
    r->started = ss_now_ms();
    make_run_id(r->run_id, sizeof(r->run_id));
    ss_buf_init(&r->payload, (size_t)cfg->batch_max_bytes);
    ss_buf_init(&r->header, SS_PROTO_HEADER_MAX);
    ss_buf_init(&r->raw, SS_COLLECT_RAW_MAX);
    ss_buf_init(&r->checkpoint, SS_CURSOR_MAX);
    if (ss_dataset_has_occurrence(c->ds)) {
        for (size_t f = 0; f < c->ds->nfields; f++)
            if (c->ds->fields[f].type == SS_FT_OCCURRENCE)
                r->occ_field = (int)f;
        r->occ = ss_occurrence_new(SS_MAX_OCCURRENCE_KEYS);
    }
    if (r->sender)
        ss_sender_on_rejects(r->sender, run_rejects, r);
    r->shape = ss_shape_new(cfg, c->ds, r->err, sizeof(r->err));
    return r->shape ? 0 : EXIT_SETUP;
}

static void run_free(struct run *r)
{
    if (r->sender)
        ss_sender_on_rejects(r->sender, NULL, NULL);
    free(r->rj);
    ss_shape_free(r->shape);
    ss_occurrence_free(r->occ);
    ss_buf_free(&r->payload);
    ss_buf_free(&r->header);
    ss_buf_free(&r->raw);
    ss_buf_free(&r->checkpoint);
}

/* The saved cursor into cursor, unless the run fetches in full. 1 when
 * there is one to use, else 0. */
static int load_cursor(struct collector *c, int dry_run, int full, struct ss_buf *cursor)
{
    char why[1024];
    if (dry_run)
        return 0;
    if (full) {
        ss_notice("--full: fetching in full; the saved cursor is not used");
        return 0;
    }
    int rc = ss_state_cursor_read(c->state, c->identity, cursor, why, sizeof(why));
    if (rc < 0)
        ss_warn("%s/cursor: cannot read: %s: this run fetches in full", c->cfg.state_dir,
                strerror(-rc));
    else if (why[0])
        ss_notice("%s", why);
    return rc == 1;
}

/* The exit status the fetch gives (before delivery), said in the log. */
static int fetch_status(struct run *r, int sr, const char *shown)
{
    if (r->fatal || (sr < 0 && sr != SS_SOURCE_STOPPED && sr != SS_SOURCE_TRUNCATED) ||
        (sr == SS_SOURCE_STOPPED && !stop_requested)) {
        ss_error("%s", r->err[0] ? r->err : "the source failed");
        return (r->fatal && !r->have_mapper) || sr == SS_SOURCE_SETUP ? EXIT_SETUP : EXIT_FETCH;
    }
    if (stop_requested) {
        ss_warn("stopping on a signal; the outbox keeps what is stored");
        return EXIT_FETCH;
    }
    if (sr == SS_SOURCE_TRUNCATED) {
        ss_error("%s", r->err[0] ? r->err : "the source cut its answer short");
        return EXIT_TRUNCATED;
    }
    if (sr == SS_SOURCE_UNCHANGED) {
        ss_notice("%s: unchanged since the last run: nothing to send", shown);
        return EXIT_OK;
    }
    if (r->records == 0) {
        snprintf(r->err, sizeof(r->err), "%s: the export is empty (%s)", shown,
                 r->have_mapper ? "a header and no rows" : "no header, no rows");
        if (r->cfg->allow_empty) {
            ss_notice("%s; \"allow_empty\" says that is fine", r->err);
            r->err[0] = '\0';
            return EXIT_OK;
        }
        ss_warn("%s: nothing was loaded and the cursor stays where it was; set "
                "\"allow_empty\": true if an empty export is normal for this source",
                r->err);
        return EXIT_EMPTY;
    }
    if (r->unread) {
        snprintf(r->err, sizeof(r->err), "the export has columns neither mapped nor read");
        return EXIT_UNREAD;
    }
    return EXIT_OK;
}

/* After the drain: the status the daemon's answers give, and in *all_acked
 * whether every batch of the run is in the warehouse. *refused: batches
 * refused or unreadable in this run. */
static int delivery_status(struct run *r, const struct ss_sender_stats *before, int status,
                           int stored, unsigned long *refused, int *all_acked)
{
    struct ss_sender *sender = r->sender;
    const struct ss_sender_stats *st = ss_sender_stats(sender);
    unsigned long bad = st->refused - before->refused + st->damaged - before->damaged;
    *refused = bad;
    *all_acked = stored && ss_sender_pending_batches(sender) == 0 && bad == 0 &&
                 !ss_sender_refused(sender) && !stop_requested;
    if (ss_sender_refused(sender) || bad > 0) {
        if (!r->err[0])
            snprintf(r->err, sizeof(r->err), "the daemon refused %lu batch%s (kept in %s/refused)",
                     bad, bad == 1 ? "" : "es", r->cfg->state_dir);
        return status != EXIT_SETUP ? EXIT_REFUSED : status;
    }
    if (status == EXIT_OK && ss_sender_pending_batches(sender) > 0)
        return EXIT_UNACKED;
    return status;
}

/* After delivery: over "reject_limit", a run that was fine fails with
 * exit status 9, and its cursor stays (the next run sends these records
 * again, so a fixed mapping or a new alias takes effect). */
static int reject_status(struct run *r, const struct ss_sender_stats *before, int status,
                         int all_acked)
{
    const struct ss_sender_stats *st = ss_sender_stats(r->sender);
    unsigned long long q = st->quarantined - before->quarantined;
    rejects_report(r, q);
    if (status != EXIT_OK || !all_acked ||
        !ss_config_limit_exceeded(&r->cfg->reject_limit, q, r->records))
        return status;
    const struct ss_config_limit *l = &r->cfg->reject_limit;
    char limit[32];
    if (l->kind == SS_LIMIT_COUNT)
        snprintf(limit, sizeof(limit), "%lu", l->count);
    else
        snprintf(limit, sizeof(limit), "%g%%", l->share * 100.0);
    snprintf(r->err, sizeof(r->err),
             "%llu of %lu records quarantined (%.1f%%), over \"reject_limit\" %s: see %s/rejects/ "
             "and shelfsync quarantine list --source %s",
             q, r->records, r->records ? 100.0 * (double)q / (double)r->records : 0.0, limit,
             r->cfg->state_dir, r->cfg->source);
    ss_error("%s", r->err);
    return EXIT_REJECTS;
}

/* The cursor moves only over what the warehouse holds: to the kind's final
 * cursor after a complete fetch, else to its last checkpoint. */
static void save_cursor(struct collector *c, const struct run *r, int all_acked, int status, int sr,
                        const struct ss_buf *next_cursor)
{
    const struct ss_buf *save = NULL;
    if (all_acked && status == EXIT_OK && sr == SS_SOURCE_OK && next_cursor->len)
        save = next_cursor;
    else if (all_acked && status == EXIT_FETCH && r->have_checkpoint && r->have_mapper)
        save = &r->checkpoint;
    if (save) {
        int rc = ss_state_cursor_write(c->state, c->identity, save->data, save->len);
        if (rc < 0)
            ss_warn("%s/cursor: cannot save the cursor (%s): the next run fetches everything "
                    "again",
                    c->cfg.state_dir, strerror(-rc));
        else if (save == &r->checkpoint)
            ss_notice("progress saved: the next run resumes after the last page read whole");
    } else if (status != EXIT_OK && sr != SS_SOURCE_UNCHANGED) {
        ss_notice("the cursor stays where it was: the next run fetches these records again");
    }
}

/* The run record follows the batches; when they could not be delivered it
 * waits in the outbox with them, else it gets a few seconds. Then the
 * run's summary. */
static void finish_run(struct run *r, const struct ss_sender_stats *before, int status, int sr,
                       unsigned long refused)
{
    struct ss_sender *sender = r->sender;
    int delivered = ss_sender_pending_batches(sender) == 0;
    if (run_end(r, outcome_of(status, sr, r->records), status, refused, r->err) < 0)
        ss_warn("%s (the run record is lost; the batches are not)", r->err);
    else if (delivered)
        drain(r, 1, ss_sender_connected(sender) ? 10 : 2);
    const struct ss_sender_stats *st = ss_sender_stats(sender);
    ss_notice("run %s: %llu bytes, %lu records (%lu rejected here) in %lu batches; daemon: "
              "%llu loaded, %llu quarantined, %lu duplicate acks, %lu refused; %zu unacked; "
              "%.1f s event=run_summary run=%s bytes=%llu records=%lu rejected=%lu batches=%lu "
              "loaded=%llu quarantined=%llu duplicate_acks=%lu refused=%lu unacked=%zu",
              r->run_id, r->bytes, r->records - r->rejected, r->rejected, r->batches,
              st->accepted - before->accepted, st->quarantined - before->quarantined,
              st->duplicates - before->duplicates, refused, ss_sender_pending_batches(sender),
              (double)(ss_now_ms() - r->started) / 1000.0, r->run_id, r->bytes,
              r->records - r->rejected, r->rejected, r->batches, st->accepted - before->accepted,
              st->quarantined - before->quarantined, st->duplicates - before->duplicates, refused,
              ss_sender_pending_batches(sender));
}

static int run_once(struct collector *c, int dry_run, int progress, int full)
{
    const struct ss_collector_config *cfg = &c->cfg;
    struct ss_sender *sender = c->sender;
    struct run r;
    char shown[1024];
    int status, have_cursor = 0, all_acked = 0;
    unsigned long refused = 0;
    struct ss_buf next_cursor, cursor;
    struct ss_sender_stats before;
    int sr = SS_SOURCE_FAILED;

    ss_buf_init(&next_cursor, SS_CURSOR_MAX);
    ss_buf_init(&cursor, SS_CURSOR_MAX);
    memset(&before, 0, sizeof(before));
    if (sender)
        before = *ss_sender_stats(sender);
    if ((status = run_init(&r, c, dry_run, progress)) != 0) {
        ss_error("%s", r.err);
        goto out;
    }
    have_cursor = load_cursor(c, dry_run, full, &cursor);
    ss_http_redact(cfg->url, shown, sizeof(shown));
    ss_info("run %s: %s source %s%s", r.run_id, cfg->kind, shown,
            have_cursor ? " (incremental)" : "");
    if (!dry_run && run_begin(&r, c->identity, !have_cursor) < 0) {
        ss_error("%s", r.err);
        status = ss_sender_refused(sender) ? EXIT_REFUSED : EXIT_FETCH;
        goto out;
    }

    struct ss_record_sink sink = {sink_columns, sink_record,   sink_reject, sink_checkpoint,
                                  sink_unread,  sink_progress, &r};
    sr = c->kind->cb_run(c->kind_state, have_cursor ? cursor.data : NULL, &next_cursor, &sink,
                         r.err, sizeof(r.err));
    report(&r, 1);
    status = fetch_status(&r, sr, shown);
    /* Deliver every record read, even when the fetch failed later on; the
     * last batch says whether the run was cut short. */
    int cut = status == EXIT_FETCH || status == EXIT_TRUNCATED || status == EXIT_UNREAD;
    if (!stop_requested && flush_batch(&r, 1, cut) < 0) {
        ss_error("%s", r.err);
        if (status == EXIT_OK)
            status = EXIT_FETCH;
    }
    int stored = r.nrecords == 0; /* every record read is in the outbox */
    if (dry_run) {
        printf("dry run: %lu records (%lu rejected), nothing sent\n", r.records - r.rejected,
               r.rejected);
        goto out;
    }
    drain(&r, 0, 0);
    status = delivery_status(&r, &before, status, stored, &refused, &all_acked);
    status = reject_status(&r, &before, status, all_acked);
    save_cursor(c, &r, all_acked, status, sr, &next_cursor);
    finish_run(&r, &before, status, sr, refused);
out:
    run_free(&r);
    ss_buf_free(&next_cursor);
    ss_buf_free(&cursor);
    return status;
}

static void collector_close(struct collector *c)
{
    if (c->kind_ready)
        c->kind->cb_exit(c->kind_state);
    ss_sender_free(c->sender);
    ss_outbox_close(c->outbox);
    ss_state_close(c->state);
    ss_http_free(c->http);
    ss_collector_config_free(&c->cfg);
    memset(c, 0, sizeof(*c));
}

/* Loads the config at path and sets up everything a run needs. Returns 0,
 * or an exit status (EXIT_SETUP, EXIT_LOCKED) after logging why; c is
 * then closed. */
static int collector_open(struct collector *c, const char *path, const char *level, int dry_run)
{
    char err[2048];
    int rc;

    memset(c, 0, sizeof(*c));
    c->path = path;
    if (ss_collector_config_load(path, ss_source_config_kind, &c->cfg, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        goto fail;
    }
    enum ss_log_level lv;
    const char *lvname = level ? level : c->cfg.log_level ? c->cfg.log_level : "info";
    if (ss_log_parse_level(lvname, &lv) < 0) {
        ss_error("unknown log level \"%s\"", lvname);
        goto fail;
    }
    ss_log_set_level(lv);
    c->ds = ss_dataset_find(c->cfg.dataset);
    c->kind = ss_source_find(c->cfg.kind);
    if (!c->ds || !c->kind) {
        ss_error("%s: unknown %s \"%s\"", path, c->ds ? "kind" : "dataset",
                 c->ds ? c->cfg.kind : c->cfg.dataset);
        goto fail;
    }
    if (ss_state_identity(path, c->identity, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        goto fail;
    }
    c->http = ss_http_new(&c->cfg, &stop_requested, err, sizeof(err));
    if (!c->http) {
        ss_error("%s", err);
        goto fail;
    }
    c->env = (struct ss_source_env){&c->cfg, c->http, &stop_requested};
    if (c->kind->cb_init(&c->kind_state, &c->env, err, sizeof(err)) < 0) {
        ss_error("%s: %s", path, err);
        goto fail;
    }
    c->kind_ready = 1;
    if (dry_run)
        return 0;
    if ((rc = ss_state_open(&c->state, c->cfg.state_dir, err, sizeof(err))) < 0) {
        ss_error("%s", err);
        collector_close(c);
        return rc == -EWOULDBLOCK ? EXIT_LOCKED : EXIT_SETUP;
    }
    if (ss_outbox_open(&c->outbox, c->cfg.state_dir, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        goto fail;
    }
    struct ss_sender_opts so = {
        .endpoints = (const char *const *)c->cfg.endpoints,
        .nendpoints = c->cfg.nendpoints,
        .ack_timeout_ms = c->cfg.ack_timeout_ms,
        .max_in_flight = c->cfg.max_in_flight,
        .backoff_initial_ms = c->cfg.backoff_initial_ms,
        .backoff_max_ms = c->cfg.backoff_max_ms,
        .max_batch_bytes = (size_t)c->cfg.batch_max_bytes + SS_PROTO_HEADER_MAX,
        .server_public_key = c->cfg.server_public_key,
        .secret_key_file = c->cfg.secret_key_file,
    };
    if (ss_sender_new(&c->sender, &so, c->outbox, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        goto fail;
    }
    if (ss_sender_load_outbox(c->sender) < 0) {
        ss_error("%s: cannot read the outbox", ss_outbox_dir(c->outbox));
        goto fail;
    }
    return 0;
fail:
    collector_close(c);
    return EXIT_SETUP;
}

/* SIGHUP: the new config replaces the running one only when all of it is
 * valid; otherwise the old one carries on. Returns 0, or -1 when neither
 * the new nor the old config can be set up again. */
static int reload(struct collector *c, const char *level, int once)
{
    struct ss_collector_config probe;
    char err[2048];

    reload_requested = 0;
    if (once) {
        ss_notice("SIGHUP: this is a one-off run (--once): the config is read again only by the "
                  "next run");
        return 0;
    }
    memset(&probe, 0, sizeof(probe));
    if (ss_collector_config_load(c->path, ss_source_config_kind, &probe, err, sizeof(err)) < 0) {
        ss_error("SIGHUP: %s; the running config stays in force", err);
        return 0;
    }
    ss_collector_config_free(&probe);
    const char *path = c->path;
    collector_close(c);
    if (collector_open(c, path, level, 0) == 0) {
        ss_notice("SIGHUP: %s read again; the next run uses it", path);
        return 0;
    }
    ss_error("SIGHUP: %s is valid but could not be set up (see above)", path);
    return SS_ESETUP;
}

/* --check-config: the whole file against every table, the kind's own
 * included, as a run would load it; nothing is opened or contacted. */
static int check_config(const char *path)
{
    struct ss_collector_config cfg;
    char err[2048];
    if (ss_collector_config_load(path, ss_source_config_kind, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_SETUP;
    }
    printf("%s: ok (collector config, kind %s)\n", path, cfg.kind ? cfg.kind : "?");
    /* No export is read here: say which required fields it must then have. */
    const struct ss_dataset *ds = ss_dataset_find(cfg.dataset);
    char need[4096];
    size_t n = ds ? ss_mapper_unconfigured(ds, &cfg, need, sizeof(need)) : 0;
    if (n)
        printf("%s: note: the config maps no column and gives no constant for %zu required "
               "field%s of dataset \"%s\", so the export must have them: %s\n",
               path, n, n == 1 ? "" : "s", ds->name, need);
    ss_collector_config_free(&cfg);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, '1'},
        {"dry-run", no_argument, NULL, 'n'},      {"full", no_argument, NULL, 'f'},
        {"progress", no_argument, NULL, 'p'},     {"log-level", required_argument, NULL, 'l'},
        {"check-config", no_argument, NULL, 'k'}, {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *config = NULL, *level = NULL;
    int once = 0, dry_run = 0, progress = 0, full = 0, check = 0, c, status;
    struct collector col;

    ss_log_init(argv[0], SS_LOG_INFO);
    if (ss_discover_wanted(argc, argv)) /* its own options: ss_discover_cli */
        return ss_discover_cli(argc, argv);
    while ((c = getopt_long(argc, argv, "c:1nfpl:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case '1':
            once = 1;
            break;
        case 'n':
            dry_run = once = 1;
            break;
        case 'f':
            full = 1;
            break;
        case 'p':
            progress = 1;
            break;
        case 'l':
            level = optarg;
            break;
        case 'k':
            check = 1;
            break;
        case 'V':
            printf("shelfsync-collect %s (protocol %s)\n", SS_VERSION, SS_PROTO_ID);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_SETUP;
        }
    }
    if (!config || optind != argc) {
        usage(stderr);
        return EXIT_SETUP;
    }
    if (check)
        return check_config(config);

    ss_signal_setup(&stop_requested, &reload_requested);

    if (ss_http_global_init() < 0) {
        ss_error("cannot initialise libcurl");
        return EXIT_SETUP;
    }
    status = collector_open(&col, config, level, dry_run);
    if (status != 0)
        goto out;
    for (;;) {
        status = run_once(&col, dry_run, progress, full);
        full = 0;
        if (reload_requested && reload(&col, level, once || col.cfg.interval_s <= 0) < 0) {
            status = EXIT_SETUP;
            break;
        }
        if (once || col.cfg.interval_s <= 0 || stop_requested || ss_sender_refused(col.sender))
            break;
        ss_info("next run in %ld s", col.cfg.interval_s);
        int64_t until = ss_now_ms() + col.cfg.interval_s * 1000;
        while (!stop_requested && ss_now_ms() < until) {
            if (reload_requested && reload(&col, level, 0) < 0) {
                status = EXIT_SETUP;
                goto done;
            }
            if (ss_sender_pump(col.sender, 1000) < 0)
                break;
        }
        if (stop_requested)
            break;
    }
done:
    collector_close(&col);
out:
    ss_http_global_cleanup();
    return status;
}
