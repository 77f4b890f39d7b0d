/* libFuzzer target for ss_config's loaders.
 *
 * The loaders read a path, so each input is written to one memfd created at
 * start-up and loaded through /proc/self/fd/N: no file system traffic, no
 * file left behind. Each input goes through the daemon loader, the collector
 * loader (with the real source kinds) and ss_config_check (with none). Besides what the sanitizers
 * catch (leaks included: a refused file must release what it had filled), it checks the contract:
 * every failure has a message that starts with the file name and a colon; an accepted file has its
 * required keys and its integers in their documented ranges; a message too long for the caller's
 * buffer is cut short and terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ss_config.h"
#include "ss_source.h"
#include "src_csv.h"

static int fuzz_fd = -1;
static char fuzz_path[64];

static void check_err(int rc, const char *err, size_t errlen)
{
    size_t plen = strlen(fuzz_path);
    if (rc == 0)
        return;
    if (rc >= 0 || strnlen(err, errlen) == errlen || strncmp(err, fuzz_path, plen) != 0 ||
        err[plen] != ':' || err[plen + 1] == '\0')
        __builtin_trap();
}

static void in_range(long v, long lo, long hi)
{
    if (v < lo || v > hi)
        __builtin_trap();
}

static void check_daemon(const struct ss_daemon_config *c)
{
    if (c->nlisten < 1 || c->nlisten > SS_CONFIG_MAX_ENDPOINTS || !c->db_conninfo || !c->log_level)
        __builtin_trap();
    for (size_t i = 0; i < c->nlisten; i++)
        if (!c->listen[i])
            __builtin_trap();
    in_range(c->reconnect_initial_ms, 10, 60000);
    in_range(c->reconnect_max_ms, 100, 600000);
    in_range(c->max_message_bytes, 1024, 1073741824);
    in_range(c->max_frames, 2, 64);
    in_range(c->max_records, 1, 10000000);
    in_range(c->max_field_bytes, 16, 16777216);
    in_range(c->max_header_bytes, 256, 65536);
    in_range(c->handshake_ms, 100, 600000);
}

static void check_collector(const struct ss_collector_config *c)
{
    if (!c->source || !c->dataset || !c->url || !c->kind || !c->state_dir || !c->log_level ||
        c->nendpoints < 1 || c->nendpoints > SS_CONFIG_MAX_ENDPOINTS)
        __builtin_trap();
    for (size_t i = 0; i < c->nendpoints; i++)
        if (!c->endpoints[i])
            __builtin_trap();
    if ((c->nvalue_maps && !c->value_maps) || (c->ntransforms && !c->transforms) ||
        (c->nmapping && !c->mapping) || (c->nconstants && !c->constants) ||
        (c->nhttp_headers && !c->http_headers))
        __builtin_trap();
    /* The kind's own options: its section's struct, every integer in its bounds. */
    const struct ss_config_kind *kd = NULL;
    for (size_t i = 0; (kd = ss_source_config_kind(i)) && strcmp(kd->name, c->kind) != 0; i++)
        ;
    if (!kd || (kd->section != NULL) != (c->options != NULL) ||
        (kd->section && c->options_section != kd->section))
        __builtin_trap();
    for (const struct ss_config_option *o = kd->section ? kd->section->options : NULL; o && o->key;
         o++)
        if (o->type == SS_CFG_INT)
            in_range(*(const long *)((const char *)c->options + o->off), o->min, o->max);
    if (c->options_section == &ss_csv_section) {
        const struct ss_csv_options *csv = c->options;
        if ((csv->ncolumns && !csv->columns) || (!csv->header && csv->ncolumns == 0) ||
            (csv->nwide_columns && !csv->wide_columns) || (csv->nwide_ignore && !csv->wide_ignore))
            __builtin_trap();
        for (size_t i = 0; i < csv->nwide_columns; i++)
            if (!csv->wide_columns[i].key || !csv->wide_columns[i].value)
                __builtin_trap();
        for (size_t i = 0; i < csv->nwide_ignore; i++)
            if (!csv->wide_ignore[i] || !csv->wide_ignore[i][0])
                __builtin_trap();
    }
    for (size_t i = 0; i < c->nmapping; i++)
        if (!c->mapping[i].key || !c->mapping[i].value)
            __builtin_trap();
    for (size_t i = 0; i < c->nvalue_maps; i++) {
        const struct ss_config_valmap *vm = &c->value_maps[i];
        if (!vm->field || vm->npairs > SS_CONFIG_MAX_VALUES || !vm->match)
            __builtin_trap();
        if (vm->transform_first) {
            size_t t = 0;
            while (t < c->ntransforms && strcmp(c->transforms[t].key, vm->field) != 0)
                t++;
            if (t == c->ntransforms)
                __builtin_trap();
        }
        /* A loose map's keys are distinct loose keys; folding is idempotent
         * and never lengthens. Pairwise only for small maps: inputs are small. */
        for (size_t a = 0; ss_config_valmap_loose(vm) && vm->npairs <= 64 && a < vm->npairs; a++) {
            char ka[256], kb[256], again[256];
            const char *x = vm->pairs[a].key;
            size_t na = ss_config_valmap_key(x, strlen(x), ka, sizeof ka);
            if (na > strlen(x))
                __builtin_trap();
            if (na <= sizeof ka && (ss_config_valmap_key(ka, na, again, sizeof again) != na ||
                                    memcmp(again, ka, na) != 0))
                __builtin_trap();
            for (size_t b = a + 1; b < vm->npairs && na <= sizeof ka; b++) {
                const char *y = vm->pairs[b].key;
                size_t nb = ss_config_valmap_key(y, strlen(y), kb, sizeof kb);
                if (nb == na && memcmp(ka, kb, na) == 0)
                    __builtin_trap();
            }
        }
    }
    in_range(c->batch_records, 1, 100000);
    in_range(c->batch_max_bytes, 4096, 268435456);
    in_range(c->ack_timeout_ms, 100, 3600000);
    in_range(c->max_in_flight, 1, 64);
    in_range(c->backoff_initial_ms, 10, 60000);
    in_range(c->backoff_max_ms, 100, 3600000);
    in_range(c->give_up_after_s, 0, 31536000);
    in_range(c->max_outbox_batches, 1, 1000000);
    in_range(c->connect_timeout_s, 1, 600);
    in_range(c->timeout_s, 0, 604800);
    in_range(c->http_retries, 0, 20);
    in_range(c->http_retry_max_s, 1, 3600);
    in_range(c->low_speed_s, 0, 3600);
    in_range(c->max_field_bytes, 16, 16777216);
    in_range(c->max_record_bytes, 256, 268435456);
    in_range(c->max_fields, 1, 100000);
    in_range(c->interval_s, 0, 31536000);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fd = memfd_create("fuzz_config.json", MFD_CLOEXEC);
    if (fuzz_fd < 0) {
        perror("fuzz_config: memfd_create");
        _exit(1);
    }
    snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ss_daemon_config d;
    struct ss_collector_config c;
    char err[1024], tiny[16];
    const char *kind;
    int rc;

    if (ftruncate(fuzz_fd, 0) != 0 || (size && pwrite(fuzz_fd, data, size, 0) != (ssize_t)size))
        __builtin_trap();

    err[0] = '\0';
    rc = ss_daemon_config_load(fuzz_path, &d, err, sizeof(err));
    check_err(rc, err, sizeof(err));
    if (rc == 0) {
        check_daemon(&d);
        ss_daemon_config_free(&d);
    }

    err[0] = '\0';
    rc = ss_collector_config_load(fuzz_path, ss_source_config_kind, &c, err, sizeof(err));
    check_err(rc, err, sizeof(err));
    if (rc == 0) {
        check_collector(&c);
        ss_collector_config_free(&c);
    }

    /* ss_config_check with a full buffer, or (odd sizes; one load fewer, as
     * each costs the loader a 1 MiB allocation) with one too short for any
     * message: cut short and terminated, never overflowed. */
    int short_err = size & 1;
    memset(tiny, 'x', sizeof(tiny));
    err[0] = '\0';
    kind = NULL;
    rc = short_err ? ss_config_check(fuzz_path, &kind, tiny, sizeof(tiny))
                   : ss_config_check(fuzz_path, &kind, err, sizeof(err));
    if (short_err) {
        if (rc != 0 && (rc > 0 || strnlen(tiny, sizeof(tiny)) != sizeof(tiny) - 1))
            __builtin_trap();
    } else {
        check_err(rc, err, sizeof(err));
    }
    if (rc == 0 && (!kind || (strcmp(kind, "daemon") != 0 && strcmp(kind, "collector") != 0)))
        __builtin_trap();
    return 0;
}
