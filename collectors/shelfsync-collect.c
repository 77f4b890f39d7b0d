/* shelfsync-collect: one collector for one source.
 *
 * A run asks the source kind (ss_source: CSV, JSON, Koha, FOLIO) for every
 * record new since the last run's cursor, maps each onto the dataset's
 * fields, shapes it (value maps, transforms, pseudonymisation: ss_shape),
 * cuts records into batches, writes each batch durably to the outbox, and
 * sends it; the sender overlaps with the fetch. The cursor is stored only
 * once every batch of the run is in the outbox. The run ends when every
 * batch is acked (or refused), or when the daemon has not acked anything
 * for send.give_up_after_s (the outbox keeps the rest for the next run,
 * which sends it first). --dry-run fetches, maps and shapes, prints a
 * sample and sends nothing; --progress reports as it goes.
 *
 * Exit status: 0 everything fetched and acked; 1 usage, config or setup
 * error; 2 the export could not be fetched or read completely (what was read
 * was still delivered); 3 batches remain unacked in the outbox; 4 the daemon
 * refused batches (kept under STATE_DIR/refused/).
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
#include "ss_dataset.h"
#include "ss_http.h"
#include "ss_log.h"
#include "ss_mapper.h"
#include "ss_occurrence.h"
#include "ss_outbox.h"
#include "ss_proto.h"
#include "ss_sender.h"
#include "ss_shape.h"
#include "ss_source.h"
#include "ss_time.h"

/* Distinct keys numbered per export (ss_occurrence): 8 MiB at most. */
#define SS_MAX_OCCURRENCE_KEYS 250000

enum {
    EXIT_OK = 0,
    EXIT_SETUP = 1,
    EXIT_FETCH = 2,
    EXIT_UNACKED = 3,
    EXIT_REFUSED = 4,
};

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct run {
    const struct ss_collector_config *cfg;
    const struct ss_dataset *ds;
    struct ss_outbox *outbox;
    struct ss_sender *sender;
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
    int dry_run;      /* print a sample, send nothing */
    int progress;     /* report as it goes */
    int progress_tty; /* ... on a live line */
    int64_t last_report;
    unsigned long long bytes;
    int fatal; /* stop the run: err says why */
    char err[2048];
    int64_t started;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: shelfsync-collect --config FILE [--once] [--dry-run] [--progress]\n"
               "                         [--log-level LEVEL]\n"
               "       shelfsync-collect --version\n"
               "Fetches one source, maps it to a core dataset and delivers it to shelfsyncd.\n"
               "  --once       one run, then exit (otherwise every interval_s seconds)\n"
               "  --dry-run    fetch and map, print a sample of the records, send nothing\n"
               "  --progress   bytes, records, rejects and rate as they go\n"
               "Exit status: 0 all acked, 1 setup error, 2 fetch failed, 3 unacked batches\n"
               "remain in the outbox, 4 the daemon refused batches.\n");
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
    while (!stop_requested && ss_sender_pending(r->sender) >= (size_t)r->cfg->max_outbox_batches) {
        if (ss_sender_pump(r->sender, 1000) < 0)
            return -1;
        int64_t last = ss_sender_last_progress(r->sender);
        if (last > since)
            since = last;
        if (r->cfg->give_up_after_s > 0 && ss_now_ms() - since > r->cfg->give_up_after_s * 1000) {
            snprintf(r->err, sizeof(r->err),
                     "the outbox holds %zu batches and the daemon has acked none for %ld s",
                     ss_sender_pending(r->sender), r->cfg->give_up_after_s);
            return -1;
        }
    }
    return stop_requested ? -1 : 0;
}

static int flush_batch(struct run *r, int last)
{
    struct ss_header h;
    char name[SS_OUTBOX_NAME_MAX + 1];
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
    if ((rc = ss_proto_encode_header(&h, &r->header)) < 0 ||
        (rc = ss_outbox_put(r->outbox, &h, &r->header, &r->payload, name)) < 0) {
        r->seq--; /* not stored: the number is free for the next try */
        snprintf(r->err, sizeof(r->err), "cannot write batch %u to the outbox %s: %s%s", h.seq,
                 ss_outbox_dir(r->outbox), strerror(-rc),
                 rc == -ENOSPC ? " (disk full: stopping; nothing already stored is lost)" : "");
        return -1;
    }
    r->batches++;
    ss_buf_reset(&r->payload);
    r->nrecords = 0;
    if (ss_sender_add(r->sender, name) < 0) {
        snprintf(r->err, sizeof(r->err), "out of memory");
        return -1;
    }
    if (ss_sender_pump(r->sender, 0) < 0) {
        snprintf(r->err, sizeof(r->err), "the daemon refused the conversation (see above)");
        return -1;
    }
    return wait_for_room(r);
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
    if (r->nrecords >= (uint32_t)r->cfg->batch_records && flush_batch(r, 0) < 0)
        return -1;
    int rc = ss_payload_add(&r->payload, line, flags, n, vals, lens);
    if (rc == -E2BIG && r->nrecords > 0) {
        if (flush_batch(r, 0) < 0)
            return -1;
        rc = ss_payload_add(&r->payload, line, flags, n, vals, lens);
    }
    if (rc == -E2BIG) {
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
        return -1;
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
    char reason[512];
    const char *v[2];
    size_t l[2];
    snprintf(reason, sizeof(reason), "line %lu: %s", where, why);
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
        return -1;
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

/* 1 if the dataset carries patron identifiers: then a record's raw text may
 * hold one in clear and must not leave the collector. */
static int has_pseudonyms(const struct ss_dataset *ds)
{
    for (size_t f = 0; f < ds->nfields; f++)
        if (ds->fields[f].type == SS_FT_PSEUDONYM)
            return 1;
    return 0;
}

#define SS_RAW_WITHHELD "[raw text withheld: the record may hold patron identifiers]"

static int sink_reject(void *ud, unsigned long where, const char *reason, const char *raw,
                       size_t rawlen)
{
    struct run *r = ud;
    if (stop_requested)
        return 1;
    if (has_pseudonyms(r->ds) && raw != r->raw.data) {
        raw = SS_RAW_WITHHELD;
        rawlen = strlen(raw);
    }
    if (reject(r, where, reason, raw, rawlen) < 0) {
        r->fatal = 1;
        return 1;
    }
    report(r, 0);
    return 0;
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
    int mapped =
        ss_mapper_apply(&r->mapper, fields, lens, n, r->vals, r->lens, why, sizeof(why)) == 0;
    if (!mapped || ss_shape_apply(r->shape, r->vals, r->lens, why, sizeof(why)) < 0) {
        /* The raw text of what could not be taken: the source's own values;
         * where patron identifiers may be among them, only the mapped
         * values of the other fields, or nothing. */
        ss_buf_reset(&r->raw);
        if (!has_pseudonyms(r->ds)) {
            for (size_t i = 0; i < n; i++)
                if ((i && ss_buf_addc(&r->raw, ',') < 0) ||
                    ss_buf_add(&r->raw, fields[i], lens[i]) < 0)
                    break;
        } else if (mapped) {
            for (size_t f = 0; f < r->ds->nfields; f++) {
                if (r->ds->fields[f].type == SS_FT_PSEUDONYM || !r->vals[f])
                    continue;
                if ((r->raw.len && ss_buf_addc(&r->raw, ',') < 0) ||
                    ss_buf_add(&r->raw, r->vals[f], r->lens[f]) < 0)
                    break;
            }
        } else {
            ss_buf_adds(&r->raw, SS_RAW_WITHHELD);
        }
        return sink_reject(ud, where, why, r->raw.data ? r->raw.data : "", r->raw.len);
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

static void sink_progress(void *ud, unsigned long long bytes)
{
    struct run *r = ud;
    r->bytes = bytes;
    report(r, 0);
}

/* Waits until the outbox is empty, or no ack has come for give_up_after_s. */
static void drain(struct run *r)
{
    int64_t since = ss_now_ms();
    int64_t last_log = since;
    while (!stop_requested && ss_sender_pending(r->sender) > 0) {
        if (ss_sender_pump(r->sender, 1000) < 0)
            return;
        int64_t now = ss_now_ms();
        int64_t last = ss_sender_last_progress(r->sender);
        if (last > since)
            since = last;
        if (r->cfg->give_up_after_s > 0 && now - since > r->cfg->give_up_after_s * 1000) {
            ss_warn("no ack from the daemon for %ld s: giving up for now; %zu batches stay in "
                    "the outbox for the next run",
                    r->cfg->give_up_after_s, ss_sender_pending(r->sender));
            return;
        }
        if (now - last_log > 10000) {
            ss_notice("waiting for the daemon: %zu batches to deliver",
                      ss_sender_pending(r->sender));
            last_log = now;
        }
    }
}

/* The incremental cursor lives in STATE_DIR/cursor, replaced atomically. */
static char *read_cursor(const char *state_dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/cursor", state_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = calloc(1, 8192);
    size_t n = text ? fread(text, 1, 8191, f) : 0;
    fclose(f);
    if (text)
        text[n] = '\0';
    return text;
}

static int write_cursor(const char *state_dir, const struct ss_buf *cursor)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/cursor", state_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, cursor->data ? cursor->data : "", cursor->len);
    int ok = w == (ssize_t)cursor->len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int run_once(const struct ss_collector_config *cfg, const struct ss_dataset *ds,
                    const struct ss_source_kind *kind, void *kind_state, struct ss_outbox *outbox,
                    struct ss_sender *sender, int dry_run, int progress)
{
    struct run r;
    char shown[1024];
    int status = EXIT_OK;
    struct ss_buf next_cursor;
    char *cursor = NULL;

    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.ds = ds;
    r.outbox = outbox;
    r.sender = sender;
    r.dry_run = dry_run;
    r.progress = progress;
    r.progress_tty = progress && isatty(STDERR_FILENO);
    r.started = ss_now_ms();
    make_run_id(r.run_id, sizeof(r.run_id));
    ss_buf_init(&r.payload, (size_t)cfg->batch_max_bytes);
    ss_buf_init(&r.header, 64 * 1024);
    ss_buf_init(&r.raw, 64 * 1024);
    ss_buf_init(&next_cursor, 64 * 1024);
    if (ss_dataset_has_occurrence(ds)) {
        for (size_t f = 0; f < ds->nfields; f++)
            if (ds->fields[f].type == SS_FT_OCCURRENCE)
                r.occ_field = (int)f;
        r.occ = ss_occurrence_new(SS_MAX_OCCURRENCE_KEYS);
    }
    r.shape = ss_shape_new(cfg, ds, r.err, sizeof(r.err));
    if (!r.shape) {
        ss_error("%s", r.err);
        status = EXIT_SETUP;
        goto out;
    }
    if (!dry_run)
        cursor = read_cursor(cfg->state_dir);
    ss_http_redact(cfg->url, shown, sizeof(shown));
    ss_info("run %s: %s source %s%s", r.run_id, cfg->kind, shown, cursor ? " (incremental)" : "");

    struct ss_record_sink sink = {sink_columns, sink_record, sink_reject, sink_progress, &r};
    enum ss_source_result sr =
        kind->cb_run(kind_state, cursor, &next_cursor, &sink, r.err, sizeof(r.err));
    report(&r, 1);
    if (sr == SS_SOURCE_UNCHANGED) {
        ss_notice("%s: unchanged since the last run: nothing to send", shown);
    } else if (sr == SS_SOURCE_OK && !r.have_mapper && !r.fatal) {
        ss_warn("%s: the source is empty", shown);
    }
    if (r.fatal || sr == SS_SOURCE_FAILED || (sr == SS_SOURCE_STOPPED && !stop_requested)) {
        ss_error("%s", r.err[0] ? r.err : "the source failed");
        status = r.fatal && !r.have_mapper ? EXIT_SETUP : EXIT_FETCH;
    } else if (stop_requested) {
        ss_warn("stopping on a signal; the outbox keeps what is stored");
    }
    /* Deliver every record read, even when the fetch failed later on. */
    if (!stop_requested && flush_batch(&r, status == EXIT_OK) < 0) {
        ss_error("%s", r.err);
        if (status == EXIT_OK)
            status = EXIT_FETCH;
    }
    if (dry_run) {
        printf("dry run: %lu records (%lu rejected), nothing sent\n", r.records - r.rejected,
               r.rejected);
        goto out;
    }
    /* Every batch is in the outbox: the cursor may move on. */
    if (status == EXIT_OK && sr == SS_SOURCE_OK && next_cursor.len &&
        write_cursor(cfg->state_dir, &next_cursor) < 0)
        ss_warn("%s/cursor: cannot save the cursor: the next run fetches everything again",
                cfg->state_dir);
    drain(&r);
    const struct ss_sender_stats *st = ss_sender_stats(sender);
    ss_notice("run %s: %llu bytes, %lu records (%lu rejected here) in %lu batches; daemon: "
              "%llu loaded, %llu quarantined, %lu duplicate acks, %lu refused; %zu unacked; "
              "%.1f s",
              r.run_id, r.bytes, r.records - r.rejected, r.rejected, r.batches, st->accepted,
              st->quarantined, st->duplicates, st->refused, ss_sender_pending(sender),
              (double)(ss_now_ms() - r.started) / 1000.0);
    if (ss_sender_refused(sender))
        status = EXIT_REFUSED;
    if (status == EXIT_OK && ss_sender_pending(sender) > 0)
        status = EXIT_UNACKED;
    if (status == EXIT_OK && (st->refused > 0 || st->damaged > 0))
        status = EXIT_REFUSED;
out:
    free(cursor);
    ss_shape_free(r.shape);
    ss_occurrence_free(r.occ);
    ss_buf_free(&r.payload);
    ss_buf_free(&r.header);
    ss_buf_free(&r.raw);
    ss_buf_free(&next_cursor);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"once", no_argument, NULL, '1'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"progress", no_argument, NULL, 'p'},
                                         {"log-level", required_argument, NULL, 'l'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *level = NULL;
    int once = 0, dry_run = 0, progress = 0, c, status = EXIT_SETUP;
    char err[2048];
    struct ss_collector_config cfg;
    struct ss_outbox *outbox = NULL;
    struct ss_sender *sender = NULL;
    struct ss_http *http = NULL;
    const struct ss_source_kind *kind = NULL;
    void *kind_state = NULL;

    memset(&cfg, 0, sizeof(cfg));
    ss_log_init(argv[0], SS_LOG_INFO);
    while ((c = getopt_long(argc, argv, "c:1npl:Vh", opts, NULL)) != -1) {
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
        case 'p':
            progress = 1;
            break;
        case 'l':
            level = optarg;
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
    if (ss_collector_config_load(config, &cfg, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        return EXIT_SETUP;
    }
    enum ss_log_level lv;
    const char *lvname = level ? level : cfg.log_level ? cfg.log_level : "info";
    if (ss_log_parse_level(lvname, &lv) < 0) {
        ss_error("unknown log level \"%s\"", lvname);
        goto out;
    }
    ss_log_set_level(lv);
    const struct ss_dataset *ds = ss_dataset_find(cfg.dataset);
    kind = ss_source_find(cfg.kind);
    if (!ds || !kind) {
        ss_error("%s: unknown %s \"%s\"", config, ds ? "kind" : "dataset",
                 ds ? cfg.kind : cfg.dataset);
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (ss_http_global_init() < 0) {
        ss_error("cannot initialise libcurl");
        goto out;
    }
    http = ss_http_new(&cfg, &stop_requested, err, sizeof(err));
    if (!http) {
        ss_error("%s", err);
        goto out_curl;
    }
    struct ss_source_env env = {&cfg, http, &stop_requested};
    if (kind->cb_init(&kind_state, &env, err, sizeof(err)) < 0) {
        ss_error("%s: %s", config, err);
        kind = NULL;
        goto out_curl;
    }
    if (!dry_run) {
        if (ss_outbox_open(&outbox, cfg.state_dir, err, sizeof(err)) < 0) {
            ss_error("%s", err);
            goto out_curl;
        }
        struct ss_sender_opts so = {
            .endpoints = (const char *const *)cfg.endpoints,
            .nendpoints = cfg.nendpoints,
            .ack_timeout_ms = cfg.ack_timeout_ms,
            .max_in_flight = cfg.max_in_flight,
            .backoff_initial_ms = cfg.backoff_initial_ms,
            .backoff_max_ms = cfg.backoff_max_ms,
            .max_batch_bytes = (size_t)cfg.batch_max_bytes + 64 * 1024,
            .server_public_key = cfg.server_public_key,
            .secret_key_file = cfg.secret_key_file,
        };
        if (ss_sender_new(&sender, &so, outbox, err, sizeof(err)) < 0) {
            ss_error("%s", err);
            goto out_curl;
        }
        if (ss_sender_load_outbox(sender) < 0) {
            ss_error("%s: cannot read the outbox", ss_outbox_dir(outbox));
            goto out_curl;
        }
    }
    for (;;) {
        status = run_once(&cfg, ds, kind, kind_state, outbox, sender, dry_run, progress);
        if (once || cfg.interval_s <= 0 || stop_requested || ss_sender_refused(sender))
            break;
        ss_info("next run in %ld s", cfg.interval_s);
        int64_t until = ss_now_ms() + cfg.interval_s * 1000;
        while (!stop_requested && ss_now_ms() < until)
            if (ss_sender_pump(sender, 1000) < 0)
                break;
        if (stop_requested)
            break;
    }
out_curl:
    if (kind)
        kind->cb_exit(kind_state);
    ss_sender_free(sender);
    ss_outbox_close(outbox);
    ss_http_free(http);
    ss_http_global_cleanup();
out:
    ss_collector_config_free(&cfg);
    return status;
}
