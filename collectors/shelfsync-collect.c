/* shelfsync-collect: one collector for one source.
 *
 * A run fetches the export (streaming), parses it, maps each record onto the
 * dataset's fields, cuts records into batches, writes each batch durably to
 * the outbox, and sends it; the sender overlaps with the fetch. The run ends
 * when every batch is acked (or refused), or when the daemon has not acked
 * anything for send.give_up_after_s (the outbox keeps the rest for the next
 * run, which sends it first).
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
#include <unistd.h>

#include "ss_buf.h"
#include "ss_config.h"
#include "ss_csv.h"
#include "ss_dataset.h"
#include "ss_fetch.h"
#include "ss_log.h"
#include "ss_mapper.h"
#include "ss_occurrence.h"
#include "ss_outbox.h"
#include "ss_proto.h"
#include "ss_sender.h"
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
    struct ss_csv *csv;
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
    int fatal; /* stop the run: err says why */
    char err[2048];
    int64_t started;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: shelfsync-collect --config FILE [--once] [--log-level LEVEL]\n"
               "       shelfsync-collect --version\n"
               "Fetches one export, maps it to a core dataset and delivers it to shelfsyncd.\n"
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

static int add_record(struct run *r, uint32_t line, unsigned flags, const char *const *vals,
                      const size_t *lens, size_t n)
{
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

/* A record this collector cannot read goes to the daemon's quarantine with
 * the reason, rather than vanishing. */
static int reject(struct run *r, const struct ss_csv_record *rec, const char *why)
{
    char reason[512];
    const char *v[2];
    size_t l[2];
    ss_buf_reset(&r->raw);
    for (size_t i = 0; i < rec->nfields; i++) {
        if (i && ss_buf_addc(&r->raw, ',') < 0)
            break;
        if (ss_buf_add(&r->raw, rec->fields[i], rec->lens[i]) < 0)
            break;
    }
    snprintf(reason, sizeof(reason), "line %lu: %s", rec->line, why);
    ss_info("%s (record quarantined)", reason);
    v[0] = reason;
    l[0] = strlen(reason);
    v[1] = r->raw.data ? r->raw.data : "";
    l[1] = r->raw.len;
    r->rejected++;
    return add_record(r, (uint32_t)rec->line, SS_REC_REJECTED, v, l, 2);
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

static int on_record(void *ud, const struct ss_csv_record *rec)
{
    struct run *r = ud;
    char why[512];

    if (stop_requested)
        return 1;
    if (!r->have_mapper) {
        if (rec->error) {
            snprintf(r->err, sizeof(r->err), "%s line %lu: cannot read the header row: %s",
                     r->cfg->url, rec->line, rec->error);
            r->fatal = 1;
            return 1;
        }
        if (ss_mapper_init(&r->mapper, r->ds, r->cfg, rec->fields, rec->lens, rec->nfields, r->err,
                           sizeof(r->err)) < 0) {
            r->fatal = 1;
            return 1;
        }
        r->have_mapper = 1;
        return 0;
    }
    if (rec->error)
        return reject(r, rec, rec->error) < 0 ? 1 : 0;
    if (ss_mapper_apply(&r->mapper, rec->fields, rec->lens, rec->nfields, r->vals, r->lens, why,
                        sizeof(why)) < 0)
        return reject(r, rec, why) < 0 ? 1 : 0;
    if (r->occ && number_occurrence(r) < 0) {
        r->fatal = 1;
        return 1;
    }
    if (add_record(r, (uint32_t)rec->line, 0, r->vals, r->lens, r->ds->nfields) < 0) {
        r->fatal = 1;
        return 1;
    }
    return 0;
}

static int on_body(void *ud, const char *data, size_t len)
{
    struct run *r = ud;
    int rc = ss_csv_feed(r->csv, data, len);
    if (rc != 0 && !r->err[0])
        snprintf(r->err, sizeof(r->err), "%s", rc == -ENOMEM ? "out of memory" : "stopped");
    return rc != 0;
}

/* The header row comes from the config when the export has none. */
static int mapper_from_config(struct run *r)
{
    size_t lens[SS_CONFIG_MAX_MAP];
    for (size_t i = 0; i < r->cfg->ncsv_columns; i++)
        lens[i] = strlen(r->cfg->csv_columns[i]);
    if (ss_mapper_init(&r->mapper, r->ds, r->cfg, (const char *const *)r->cfg->csv_columns, lens,
                       r->cfg->ncsv_columns, r->err, sizeof(r->err)) < 0)
        return -1;
    r->have_mapper = 1;
    return 0;
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

static int run_once(const struct ss_collector_config *cfg, const struct ss_dataset *ds,
                    struct ss_outbox *outbox, struct ss_sender *sender)
{
    struct run r;
    struct ss_csv_opts copts;
    struct ss_fetch_opts fopts = {cfg->connect_timeout_s, cfg->timeout_s, cfg->ca_file};
    char shown[1024];
    unsigned long long bytes = 0;
    int status = EXIT_OK;

    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.ds = ds;
    r.outbox = outbox;
    r.sender = sender;
    r.started = ss_now_ms();
    make_run_id(r.run_id, sizeof(r.run_id));
    if (ss_dataset_has_occurrence(ds)) {
        for (size_t f = 0; f < ds->nfields; f++)
            if (ds->fields[f].type == SS_FT_OCCURRENCE)
                r.occ_field = (int)f;
        r.occ = ss_occurrence_new(SS_MAX_OCCURRENCE_KEYS);
    }
    ss_buf_init(&r.payload, (size_t)cfg->batch_max_bytes);
    ss_buf_init(&r.header, 64 * 1024);
    ss_buf_init(&r.raw, 64 * 1024);
    memset(&copts, 0, sizeof(copts));
    copts.delimiter = cfg->csv_delimiter;
    copts.max_field = (size_t)cfg->max_field_bytes;
    copts.max_record = (size_t)cfg->max_record_bytes;
    copts.max_fields = (size_t)cfg->max_fields;
    r.csv = ss_csv_new(&copts, on_record, &r);
    if (!r.csv) {
        ss_error("out of memory");
        status = EXIT_SETUP;
        goto out;
    }
    if (!cfg->csv_header && mapper_from_config(&r) < 0) {
        ss_error("%s", r.err);
        status = EXIT_SETUP;
        goto out;
    }
    ss_fetch_redact(cfg->url, shown, sizeof(shown));
    ss_info("run %s: fetching %s", r.run_id, shown);

    enum ss_fetch_result fr = ss_fetch(cfg->url, &fopts, on_body, &r, &bytes, r.err, sizeof(r.err));
    if (fr == SS_FETCH_OK) {
        /* Only a complete body may end its last record; a cut one is dropped. */
        if (ss_csv_finish(r.csv) != 0 && !r.err[0])
            snprintf(r.err, sizeof(r.err), "stopped");
        if (!r.have_mapper && !r.fatal && !r.err[0])
            ss_warn("%s: the export is empty (no header row)", shown);
    }
    if (r.fatal || fr != SS_FETCH_OK || r.err[0]) {
        if (stop_requested)
            ss_warn("stopping on a signal; the outbox keeps what is stored");
        else
            ss_error("%s", r.err[0] ? r.err : "fetch failed");
        status = r.fatal && !r.have_mapper ? EXIT_SETUP : EXIT_FETCH;
    }
    /* Deliver every record read, even when the fetch failed later on. */
    if (!stop_requested && flush_batch(&r, status == EXIT_OK) < 0) {
        ss_error("%s", r.err);
        if (status == EXIT_OK)
            status = EXIT_FETCH;
    }
    drain(&r);
    const struct ss_sender_stats *st = ss_sender_stats(sender);
    ss_notice("run %s: %llu bytes, %lu records (%lu rejected here) in %lu batches; daemon: "
              "%llu loaded, %llu quarantined, %lu duplicate acks, %lu refused; %zu unacked; "
              "%.1f s",
              r.run_id, bytes, r.records - r.rejected, r.rejected, r.batches, st->accepted,
              st->quarantined, st->duplicates, st->refused, ss_sender_pending(sender),
              (double)(ss_now_ms() - r.started) / 1000.0);
    if (ss_sender_refused(sender))
        status = EXIT_REFUSED;
    if (status == EXIT_OK && ss_sender_pending(sender) > 0)
        status = EXIT_UNACKED;
    if (status == EXIT_OK && (st->refused > 0 || st->damaged > 0))
        status = EXIT_REFUSED;
out:
    ss_occurrence_free(r.occ);
    ss_csv_free(r.csv);
    ss_buf_free(&r.payload);
    ss_buf_free(&r.header);
    ss_buf_free(&r.raw);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"once", no_argument, NULL, '1'},
                                         {"log-level", required_argument, NULL, 'l'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *level = NULL;
    int once = 0, c, status = EXIT_SETUP;
    char err[2048];
    struct ss_collector_config cfg;
    struct ss_outbox *outbox = NULL;
    struct ss_sender *sender = NULL;

    memset(&cfg, 0, sizeof(cfg));
    ss_log_init(argv[0], SS_LOG_INFO);
    while ((c = getopt_long(argc, argv, "c:1l:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case '1':
            once = 1;
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
    if (!ds) {
        ss_error("%s: unknown dataset \"%s\"", config, cfg.dataset);
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (ss_fetch_global_init() < 0) {
        ss_error("cannot initialise libcurl");
        goto out;
    }
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
    };
    if (ss_sender_new(&sender, &so, outbox, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        goto out_curl;
    }
    if (ss_sender_load_outbox(sender) < 0) {
        ss_error("%s: cannot read the outbox", ss_outbox_dir(outbox));
        goto out_curl;
    }
    for (;;) {
        status = run_once(&cfg, ds, outbox, sender);
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
    ss_sender_free(sender);
    ss_outbox_close(outbox);
    ss_fetch_global_cleanup();
out:
    ss_collector_config_free(&cfg);
    return status;
}
