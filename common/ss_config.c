/* ss_config: see ss_config.h.
 *
 * Each file kind is described by tables of key descriptors (struct
 * ss_cfg_key), one table per JSON object, walked by one generic function.
 * Adding a key is adding a table row.
 *
 * jansson gives positions only for syntax errors, so for everything else the
 * position comes from a small scanner over the same text (cfg_locate): once
 * jansson has accepted the text it is known to be valid JSON without
 * duplicate keys, so the scanner can skip values without checking them and
 * the first matching key is the only one.
 */
#include "ss_config.h"
#include "ss_dataset.h"
#include "ss_err.h"
#include "ss_proto.h"
#include "ss_text.h"

#include <jansson.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SS_CFG_MAX_FILE_BYTES (1024 * 1024)
/* The deepest path the tables describe is object.object.array-element (3). */
#define SS_CFG_MAX_DEPTH 8

/* ---- the tables ---- */

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};
static const char *const http_auths[] = {"none", "basic", "bearer", NULL};
static const char *const abolished_modes[] = {"quarantine", "successor", NULL};

static int check_source(const char *s, char *why, size_t whylen);
static int check_url(const char *s, char *why, size_t whylen);
static int check_as_of(const char *s, char *why, size_t whylen);
static int check_dataset(const char *s, char *why, size_t whylen);
static int check_z85_key(const char *s, char *why, size_t whylen);
static int check_metrics_listen(const char *s, char *why, size_t whylen);

#define D(f) offsetof(struct ss_daemon_config, f)
#define C(f) offsetof(struct ss_collector_config, f)
/* clang-format off */
#define INT(k, o, lo, hi, d) {.key = k, .type = SS_CFG_INT, .off = o, .min = lo, .max = hi, .def = d}
#define BOOL(k, o, d) {.key = k, .type = SS_CFG_BOOL, .off = o, .def = d}
#define STR(k, o, fl) {.key = k, .type = SS_CFG_STRING, .flags = fl, .off = o}
#define OBJ(k, fl, s) {.key = k, .type = SS_CFG_OBJECT, .flags = fl, .sub = s}
#define LEVEL(o) \
    {.key = "log_level", .type = SS_CFG_ENUM, .off = o, .def_str = "info", .choices = log_levels}
/* clang-format on */

static const struct ss_config_option daemon_database[] = {
    STR("conninfo", D(db_conninfo), SS_CFG_REQUIRED),
    STR("password_file", D(db_password_file), SS_CFG_NONEMPTY),
    BOOL("migrate_on_start", D(migrate_on_start), 1),
    INT("reconnect_initial_ms", D(reconnect_initial_ms), 10, 60000, 250),
    INT("reconnect_max_ms", D(reconnect_max_ms), 100, 600000, 10000),
    {0},
};

static const struct ss_config_option daemon_limits[] = {
    INT("max_message_bytes", D(max_message_bytes), 1024, 1073741824, 67108864),
    INT("max_frames", D(max_frames), 2, 64, 8),
    INT("max_records", D(max_records), 1, 10000000, 100000),
    INT("max_field_bytes", D(max_field_bytes), 16, 16777216, 65536),
    INT("max_header_bytes", D(max_header_bytes), 256, 65536, 4096),
    INT("handshake_ms", D(handshake_ms), 100, 600000, 5000),
    INT("log_burst", D(log_burst), 0, 1000, 5),
    INT("log_summary_s", D(log_summary_s), 1, 3600, 60),
    {0},
};

static const struct ss_config_option daemon_metrics[] = {
    {.key = "listen",
     .type = SS_CFG_STRING,
     .flags = SS_CFG_NONEMPTY,
     .off = D(metrics_listen),
     .def_str = "127.0.0.1:9464",
     .check = check_metrics_listen},
    INT("max_series", D(metrics_max_series), 1, 100000, 1000),
    {0},
};

static const struct ss_config_option daemon_health[] = {
    INT("max_batch_wait_s", D(health_max_batch_wait_s), 1, 86400, 300),
    INT("loop_stall_s", D(health_loop_stall_s), 1, 3600, 60),
    {0},
};

static const struct ss_config_option daemon_curve[] = {
    STR("secret_key_file", D(curve_secret_key_file), SS_CFG_REQUIRED | SS_CFG_NONEMPTY),
    STR("allow_file", D(curve_allow_file), SS_CFG_REQUIRED | SS_CFG_NONEMPTY),
    {0},
};

static const struct ss_config_option daemon_authorities[] = {
    {.key = "abolished",
     .type = SS_CFG_ENUM,
     .off = D(authorities_abolished),
     .def_str = "quarantine",
     .choices = abolished_modes},
    {.key = "sources",
     .type = SS_CFG_MAP,
     .flags = SS_CFG_DYNAMIC,
     .off = D(authorities_sources),
     .count_off = D(nauthorities_sources)},
    {0},
};

static const struct ss_config_option daemon_top[] = {
    STR("description", D(description), 0),
    {.key = "listen",
     .type = SS_CFG_STRLIST,
     .flags = SS_CFG_REQUIRED | SS_CFG_NONEMPTY,
     .off = D(listen),
     .count_off = D(nlisten),
     .min_items = 1,
     .max_items = SS_CONFIG_MAX_ENDPOINTS},
    BOOL("insecure", D(insecure), 0),
    OBJ("curve", 0, daemon_curve),
    OBJ("database", SS_CFG_REQUIRED, daemon_database),
    OBJ("limits", 0, daemon_limits),
    OBJ("authorities", 0, daemon_authorities),
    OBJ("metrics", 0, daemon_metrics),
    OBJ("health", 0, daemon_health),
    LEVEL(D(log_level)),
    {0},
};

static const struct ss_config_option collector_daemon[] = {
    {.key = "endpoints",
     .type = SS_CFG_STRARR,
     .flags = SS_CFG_REQUIRED | SS_CFG_NONEMPTY,
     .off = C(endpoints),
     .count_off = C(nendpoints),
     .min_items = 1,
     .max_items = SS_CONFIG_MAX_ENDPOINTS},
    {.key = "server_public_key",
     .type = SS_CFG_STRING,
     .off = C(server_public_key),
     .check = check_z85_key},
    STR("secret_key_file", C(secret_key_file), SS_CFG_NONEMPTY),
    {0},
};

static const struct ss_config_option collector_batch[] = {
    INT("records", C(batch_records), 1, 100000, 5000),
    INT("max_bytes", C(batch_max_bytes), 4096, 268435456, 8388608),
    {0},
};

static const struct ss_config_option collector_send[] = {
    INT("ack_timeout_ms", C(ack_timeout_ms), 100, 3600000, 15000),
    INT("max_in_flight", C(max_in_flight), 1, 64, 4),
    INT("backoff_initial_ms", C(backoff_initial_ms), 10, 60000, 250),
    INT("backoff_max_ms", C(backoff_max_ms), 100, 3600000, 30000),
    INT("give_up_after_s", C(give_up_after_s), 0, 31536000, 3600),
    INT("max_outbox_batches", C(max_outbox_batches), 1, 1000000, 10000),
    {0},
};

static const struct ss_config_option collector_http[] = {
    INT("connect_timeout_s", C(connect_timeout_s), 1, 600, 30),
    INT("timeout_s", C(timeout_s), 0, 604800, 0),
    STR("ca_file", C(ca_file), SS_CFG_NONEMPTY),
    INT("retries", C(http_retries), 0, 20, 5),
    INT("retry_max_s", C(http_retry_max_s), 1, 3600, 60),
    INT("low_speed_s", C(low_speed_s), 0, 3600, 120),
    BOOL("conditional", C(http_conditional), 1),
    {.key = "auth",
     .type = SS_CFG_ENUM,
     .off = C(http_auth),
     .def_str = "none",
     .choices = http_auths},
    STR("username", C(http_username), SS_CFG_NONEMPTY),
    STR("password_file", C(http_password_file), SS_CFG_NONEMPTY),
    STR("token_file", C(http_token_file), SS_CFG_NONEMPTY),
    {.key = "headers",
     .type = SS_CFG_MAP,
     .flags = SS_CFG_DYNAMIC,
     .off = C(http_headers),
     .count_off = C(nhttp_headers)},
    {0},
};

static const struct ss_config_option collector_privacy[] = {
    STR("hmac_key_file", C(hmac_key_file), SS_CFG_NONEMPTY),
    STR("lsoa_lookup_file", C(lsoa_lookup_file), SS_CFG_NONEMPTY),
    {0},
};

static const struct ss_config_option collector_limits[] = {
    INT("max_field_bytes", C(max_field_bytes), 16, 16777216, 65536),
    INT("max_record_bytes", C(max_record_bytes), 256, 268435456, 1048576),
    INT("max_fields", C(max_fields), 1, 100000, 16384),
    {0},
};

/* A field's value map in its object form (ss_config.h). The plain form, an
 * object of strings, fills the same struct with these defaults. */
static const char *const valmap_matches[] = {"exact", "loose", NULL};
#define V(f) offsetof(struct ss_config_valmap, f)
static const struct ss_config_option valmap_form[] = {
    {.key = "values",
     .type = SS_CFG_MAP,
     .flags = SS_CFG_REQUIRED | SS_CFG_DYNAMIC,
     .off = V(pairs),
     .count_off = V(npairs)},
    {.key = "match",
     .type = SS_CFG_ENUM,
     .off = V(match),
     .def_str = "exact",
     .choices = valmap_matches},
    BOOL("transform_first", V(transform_first), 0),
    {0},
};
#undef V

/* The collector's top level is built at load time (collector_top_build):
 * these keys, then "kind" and one entry per kind's section, then the tail. */
static const struct ss_config_option collector_head[] = {
    STR("description", C(description), 0),
    {.key = "source",
     .type = SS_CFG_STRING,
     .flags = SS_CFG_REQUIRED,
     .off = C(source),
     .check = check_source},
    {.key = "dataset",
     .type = SS_CFG_STRING,
     .flags = SS_CFG_REQUIRED,
     .off = C(dataset),
     .check = check_dataset},
    {.key = "url",
     .type = SS_CFG_STRING,
     .flags = SS_CFG_REQUIRED,
     .off = C(url),
     .check = check_url},
    {0},
};

static const struct ss_config_option collector_tail[] = {
    OBJ("privacy", 0, collector_privacy),
    {.key = "value_maps",
     .type = SS_CFG_VALMAPS,
     .flags = SS_CFG_DYNAMIC | SS_CFG_VALMAP_FORM,
     .off = C(value_maps),
     .count_off = C(nvalue_maps)},
    {.key = "transforms",
     .type = SS_CFG_MAP,
     .flags = SS_CFG_DYNAMIC,
     .off = C(transforms),
     .count_off = C(ntransforms)},
    {.key = "mapping",
     .type = SS_CFG_MAP,
     .flags = SS_CFG_DYNAMIC | SS_CFG_SUMS,
     .off = C(mapping),
     .count_off = C(nmapping),
     .sums_off = C(mapping_sums)},
    {.key = "constants",
     .type = SS_CFG_MAP,
     .flags = SS_CFG_DYNAMIC,
     .off = C(constants),
     .count_off = C(nconstants)},
    STR("state_dir", C(state_dir), SS_CFG_REQUIRED | SS_CFG_NONEMPTY),
    OBJ("daemon", SS_CFG_REQUIRED, collector_daemon),
    OBJ("batch", 0, collector_batch),
    OBJ("send", 0, collector_send),
    OBJ("http", 0, collector_http),
    OBJ("limits", 0, collector_limits),
    INT("interval_s", C(interval_s), 0, 31536000, 0),
    BOOL("allow_empty", C(allow_empty), 0),
    {.key = "as_of",
     .type = SS_CFG_STRING,
     .flags = SS_CFG_NONEMPTY,
     .off = C(as_of),
     .check = check_as_of},
    {.key = "reject_limit", .type = SS_CFG_LIMIT, .off = C(reject_limit)},
    LEVEL(C(log_level)),
    {0},
};

#undef D
#undef C
#undef INT
#undef BOOL
#undef STR
#undef OBJ
#undef LEVEL

/* ---- value checks ---- */

static int check_source(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    int ok = n >= 1 && n <= 64;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (ok)
        return 0;
    snprintf(why, whylen, "expected 1 to 64 characters from A-Z a-z 0-9 . _ -");
    return SS_EINVAL;
}

static int check_as_of(const char *s, char *why, size_t whylen)
{
    if (strlen(s) == 10 && ss_proto_valid_as_of(s))
        return 0;
    snprintf(why, whylen, "expected the date the data describes, YYYY-MM-DD (e.g. 2016-07-01)");
    return SS_EINVAL;
}

static int check_url(const char *s, char *why, size_t whylen)
{
    static const char *const schemes[] = {"http://", "https://", "file://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(s, schemes[i], strlen(schemes[i])) == 0 && s[strlen(schemes[i])] != '\0')
            return 0;
    snprintf(why, whylen, "expected a URL starting with http://, https:// or file://");
    return SS_EINVAL;
}

static int check_dataset(const char *s, char *why, size_t whylen)
{
    if (ss_dataset_find(s))
        return 0;
    /* List the known names so the message says what to write instead. */
    size_t used = 0;
    int n = snprintf(why, whylen, "unknown dataset \"%.64s\" (known:", s);
    if (n > 0)
        used = (size_t)n;
    for (const struct ss_dataset *const *ds = ss_dataset_all(); *ds && used < whylen; ds++) {
        n = snprintf(why + used, whylen - used, "%s%s", ds == ss_dataset_all() ? " " : ", ",
                     (*ds)->name);
        if (n > 0)
            used += (size_t)n;
    }
    if (used < whylen)
        snprintf(why + used, whylen - used, ")");
    return SS_EINVAL;
}

static int check_z85_key(const char *s, char *why, size_t whylen)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    int ok = strlen(s) == 40;
    for (size_t i = 0; ok && s[i]; i++)
        ok = strchr(z85, s[i]) != NULL;
    if (ok)
        return 0;
    snprintf(why, whylen,
             "expected a Z85 public key of 40 characters (the .pub file "
             "`shelfsync keygen` wrote for the daemon)");
    return SS_EINVAL;
}

/* "metrics.listen": "off", or HOST:PORT with HOST a numeric IPv4 address
 * or [IPv6] address (no names: nothing to resolve at start) and PORT
 * 1..65535. */
static int check_metrics_listen(const char *s, char *why, size_t whylen)
{
    char host[64];
    unsigned char addr[16];
    const char *colon = strrchr(s, ':');
    if (strcmp(s, "off") == 0)
        return 0;
    size_t hlen = colon ? (size_t)(colon - s) : 0;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    int ok = colon && hlen > 0 && hlen < sizeof(host) && colon[1] && end && *end == '\0' &&
             port >= 1 && port <= 65535;
    if (ok) {
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
            host[hlen - 1] = '\0';
            ok = inet_pton(AF_INET6, host + 1, addr) == 1;
        } else {
            ok = inet_pton(AF_INET, host, addr) == 1;
        }
    }
    if (ok)
        return 0;
    snprintf(why, whylen,
             "expected \"off\" or ADDRESS:PORT with a numeric address, such as "
             "\"127.0.0.1:9464\" or \"[::1]:9464\"");
    return SS_EINVAL;
}

/* ---- position finder ---- */

struct ss_cfg_seg {
    const char *key; /* NULL for an array element */
    size_t index;
};

struct ss_cfg_scan {
    const char *p, *end;
    int line, col;
};

static int sc_peek(const struct ss_cfg_scan *sc)
{
    return sc->p < sc->end ? (unsigned char)*sc->p : -1;
}

static void sc_adv(struct ss_cfg_scan *sc)
{
    if (sc->p >= sc->end)
        return;
    unsigned char c = (unsigned char)*sc->p++;
    if (c == '\n') {
        sc->line++;
        sc->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        /* Columns count characters, not bytes, as jansson's do. */
        sc->col++;
    }
}

static void sc_ws(struct ss_cfg_scan *sc)
{
    int c;
    while ((c = sc_peek(sc)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        sc_adv(sc);
}

static unsigned sc_hex4(struct ss_cfg_scan *sc)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = ss_hex_value(sc_peek(sc));
        v = v * 16 + (unsigned)(h < 0 ? 0 : h);
        sc_adv(sc);
    }
    return v;
}

/* Compares the next decoded byte of a string with the wanted one. */
static void match_byte(const char *want, size_t *pos, int *match, unsigned char b)
{
    if (*match && want[*pos] != '\0' && (unsigned char)want[*pos] == b)
        (*pos)++;
    else
        *match = 0;
}

/* Skips a string at sc->p (on its opening quote). When want is not NULL,
 * *match says whether its decoded value equals want: keys may be written
 * with escapes ("li\u0073ten"). */
static void sc_string(struct ss_cfg_scan *sc, const char *want, int *match)
{
    size_t pos = 0;
    int m = want != NULL;
    sc_adv(sc); /* opening quote */
    for (;;) {
        int c = sc_peek(sc);
        if (c < 0)
            break;
        if (c == '"') {
            sc_adv(sc);
            break;
        }
        if (c != '\\') {
            match_byte(want, &pos, &m, (unsigned char)c);
            sc_adv(sc);
            continue;
        }
        sc_adv(sc);
        c = sc_peek(sc);
        sc_adv(sc);
        unsigned cp;
        static const char esc_from[] = "bfnrt", esc_to[] = "\b\f\n\r\t";
        const char *esc = c > 0 ? strchr(esc_from, c) : NULL;
        if (esc) {
            cp = (unsigned char)esc_to[esc - esc_from];
        } else if (c == 'u') {
            cp = sc_hex4(sc);
            if (cp >= 0xD800 && cp <= 0xDBFF && sc_peek(sc) == '\\') {
                sc_adv(sc); /* '\\' */
                sc_adv(sc); /* 'u' */
                unsigned lo = sc_hex4(sc);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
        } else {
            cp = (unsigned)c; /* '"' '\\' '/' */
        }
        if (!want)
            continue;
        if (cp < 0x80) {
            match_byte(want, &pos, &m, (unsigned char)cp);
        } else if (cp < 0x800) {
            match_byte(want, &pos, &m, (unsigned char)(0xC0 | (cp >> 6)));
            match_byte(want, &pos, &m, (unsigned char)(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            match_byte(want, &pos, &m, (unsigned char)(0xE0 | (cp >> 12)));
            match_byte(want, &pos, &m, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
            match_byte(want, &pos, &m, (unsigned char)(0x80 | (cp & 0x3F)));
        } else {
            match_byte(want, &pos, &m, (unsigned char)(0xF0 | (cp >> 18)));
            match_byte(want, &pos, &m, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
            match_byte(want, &pos, &m, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
            match_byte(want, &pos, &m, (unsigned char)(0x80 | (cp & 0x3F)));
        }
    }
    if (match)
        *match = m && want[pos] == '\0';
}

/* Skips one value. Iterative, so nesting depth costs no stack. */
static void sc_value(struct ss_cfg_scan *sc)
{
    size_t depth = 0;
    do {
        int c = sc_peek(sc);
        if (c < 0)
            return;
        if (c == '"') {
            sc_string(sc, NULL, NULL);
        } else if (c == '{' || c == '[') {
            depth++;
            sc_adv(sc);
        } else if (c == '}' || c == ']') {
            depth--;
            sc_adv(sc);
        } else if (depth > 0) {
            sc_adv(sc); /* , : whitespace or part of a scalar inside a container */
        } else {
            /* a bare scalar: number, true, false, null */
            while ((c = sc_peek(sc)) >= 0 && c != ',' && c != '}' && c != ']' && c != ' ' &&
                   c != '\t' && c != '\n' && c != '\r')
                sc_adv(sc);
        }
    } while (depth > 0);
}

/* Finds the line and column of the value at path (the key's opening quote
 * when at_key and the last segment is an object key). 0, or SS_EINVAL if
 * the text has no value there. */
static int cfg_locate(const char *text, size_t len, const struct ss_cfg_seg *path, size_t npath,
                      int at_key, int *line, int *col)
{
    struct ss_cfg_scan sc = {text, text + len, 1, 1};
    int kline = 0, kcol = 0;

    for (size_t i = 0; i < npath; i++) {
        sc_ws(&sc);
        if (path[i].key) {
            if (sc_peek(&sc) != '{')
                return SS_EINVAL;
            sc_adv(&sc);
            for (;;) {
                sc_ws(&sc);
                if (sc_peek(&sc) != '"')
                    return SS_EINVAL;
                kline = sc.line;
                kcol = sc.col;
                int match = 0;
                sc_string(&sc, path[i].key, &match);
                sc_ws(&sc);
                sc_adv(&sc); /* ':' */
                sc_ws(&sc);
                if (match)
                    break;
                sc_value(&sc);
                sc_ws(&sc);
                if (sc_peek(&sc) != ',')
                    return SS_EINVAL;
                sc_adv(&sc);
            }
        } else {
            if (sc_peek(&sc) != '[')
                return SS_EINVAL;
            sc_adv(&sc);
            for (size_t k = 0; k < path[i].index; k++) {
                sc_ws(&sc);
                sc_value(&sc);
                sc_ws(&sc);
                if (sc_peek(&sc) != ',')
                    return SS_EINVAL;
                sc_adv(&sc);
            }
        }
    }
    sc_ws(&sc);
    if (sc_peek(&sc) < 0)
        return SS_EINVAL;
    if (at_key && npath > 0 && path[npath - 1].key) {
        *line = kline;
        *col = kcol;
    } else {
        *line = sc.line;
        *col = sc.col;
    }
    return 0;
}

/* ---- the walker ---- */

struct ss_config_ctx {
    const char *file;
    const char *text;
    size_t len;
    struct ss_cfg_seg path[SS_CFG_MAX_DEPTH];
    size_t depth;
    char *err;
    size_t errlen;
    /* Collector files: the dataset (for ss_config_check_field), the kinds'
     * sections and the structs they fill, whether the file had each, and
     * whether a top-level object no table names is taken as an unchecked
     * section (no kind registry). */
    const char *dataset;
    const struct ss_config_section **sections;
    void **section_opts;
    int *section_present;
    size_t nsections;
    int unknown_sections;
    char failpath[256]; /* ss_config_fail's path, split into segments */
};

enum ss_cfg_at {
    SS_AT_KEY,    /* the key (or array element) named by the whole path */
    SS_AT_PARENT, /* the object that should hold the last key: for a missing key */
};

static void cfg_push_key(struct ss_config_ctx *ctx, const char *key)
{
    /* The tables nest less than SS_CFG_MAX_DEPTH deep; input cannot add depth. */
    ctx->path[ctx->depth].key = key;
    ctx->path[ctx->depth].index = 0;
    ctx->depth++;
}

static void cfg_push_index(struct ss_config_ctx *ctx, size_t index)
{
    ctx->path[ctx->depth].key = NULL;
    ctx->path[ctx->depth].index = index;
    ctx->depth++;
}

static void cfg_pop(struct ss_config_ctx *ctx)
{
    ctx->depth--;
}

/* Writes "a.b[2].c" into buf; control characters from the input become '?'. */
static void cfg_path_str(const struct ss_config_ctx *ctx, char *buf, size_t buflen)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ctx->depth && used + 1 < buflen; i++) {
        int n;
        if (ctx->path[i].key)
            n = snprintf(buf + used, buflen - used, "%s%s", i ? "." : "", ctx->path[i].key);
        else
            n = snprintf(buf + used, buflen - used, "[%zu]", ctx->path[i].index);
        if (n < 0)
            break;
        used += (size_t)n < buflen - used ? (size_t)n : buflen - used - 1;
    }
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static int cfg_verror(struct ss_config_ctx *ctx, enum ss_cfg_at at, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int cfg_verror(struct ss_config_ctx *ctx, enum ss_cfg_at at, const char *fmt, va_list ap)
{
    char what[512], path[256], where[64];
    int line, col, rc;

    if (!ctx->err || ctx->errlen == 0)
        return SS_EINVAL;
    vsnprintf(what, sizeof what, fmt, ap);

    if (at == SS_AT_PARENT)
        rc = cfg_locate(ctx->text, ctx->len, ctx->path, ctx->depth - 1, 0, &line, &col);
    else
        rc = cfg_locate(ctx->text, ctx->len, ctx->path, ctx->depth, 1, &line, &col);
    if (rc == 0)
        snprintf(where, sizeof where, ":%d:%d", line, col);
    else
        where[0] = '\0'; /* cannot happen on text jansson accepted; say what we can */

    cfg_path_str(ctx, path, sizeof path);
    if (path[0])
        snprintf(ctx->err, ctx->errlen, "%s%s: \"%s\": %s", ctx->file, where, path, what);
    else
        snprintf(ctx->err, ctx->errlen, "%s%s: %s", ctx->file, where, what);
    return SS_EINVAL;
}

static int cfg_error(struct ss_config_ctx *ctx, enum ss_cfg_at at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cfg_error(struct ss_config_ctx *ctx, enum ss_cfg_at at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cfg_verror(ctx, at, fmt, ap);
    va_end(ap);
    return rc;
}

/* Sets the path from dotted keys (a kind's option names hold no dot). */
static void cfg_set_path(struct ss_config_ctx *ctx, const char *path)
{
    ctx->depth = 0;
    snprintf(ctx->failpath, sizeof ctx->failpath, "%s", path);
    for (char *seg = ctx->failpath; seg && ctx->depth < SS_CFG_MAX_DEPTH;) {
        char *dot = strchr(seg, '.');
        if (dot)
            *dot = '\0';
        cfg_push_key(ctx, seg);
        seg = dot ? dot + 1 : NULL;
    }
}

int ss_config_fail(struct ss_config_ctx *ctx, int at_parent, const char *path, const char *fmt, ...)
{
    va_list ap;
    cfg_set_path(ctx, path);
    va_start(ap, fmt);
    int rc = cfg_verror(ctx, at_parent ? SS_AT_PARENT : SS_AT_KEY, fmt, ap);
    va_end(ap);
    return rc;
}

static int set_string(char **dst, const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        return SS_ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

static int cfg_nomem(struct ss_config_ctx *ctx)
{
    if (ctx->err && ctx->errlen)
        snprintf(ctx->err, ctx->errlen, "%s: out of memory", ctx->file);
    return SS_ENOMEM;
}

/* Fills a list of strings from a string (STRLIST only) or an array of strings. */
static int cfg_strlist(struct ss_config_ctx *ctx, const struct ss_config_option *k, json_t *v,
                       char *base)
{
    char **items = (char **)(base + k->off);
    size_t *count = (size_t *)(base + k->count_off);

    if (k->type == SS_CFG_STRLIST && json_is_string(v)) {
        if ((k->flags & SS_CFG_NONEMPTY) && json_string_length(v) == 0)
            return cfg_error(ctx, SS_AT_KEY, "expected a non-empty string");
        if (set_string(&items[0], json_string_value(v)) < 0)
            return cfg_nomem(ctx);
        *count = 1;
        return 0;
    }
    if (!json_is_array(v))
        return cfg_error(ctx, SS_AT_KEY, "expected %san array of strings",
                         k->type == SS_CFG_STRLIST ? "a string or " : "");
    size_t n = json_array_size(v);
    if (n < k->min_items)
        return cfg_error(ctx, SS_AT_KEY, "expected at least %zu entr%s", k->min_items,
                         k->min_items == 1 ? "y" : "ies");
    if (k->flags & SS_CFG_DYNAMIC) {
        char ***slot = (char ***)(base + k->off);
        *slot = calloc(n ? n : 1, sizeof(**slot));
        if (!*slot)
            return cfg_nomem(ctx);
        items = *slot;
    } else if (n > k->max_items) {
        return cfg_error(ctx, SS_AT_KEY, "expected at most %zu entries", k->max_items);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        cfg_push_index(ctx, i);
        if (!json_is_string(e) || ((k->flags & SS_CFG_NONEMPTY) && json_string_length(e) == 0))
            return cfg_error(ctx, SS_AT_KEY, "expected a %sstring",
                             k->flags & SS_CFG_NONEMPTY ? "non-empty " : "");
        cfg_pop(ctx);
        if (set_string(&items[i], json_string_value(e)) < 0)
            return cfg_nomem(ctx);
        /* Count as we go so that a failure part-way frees what was set. */
        *count = i + 1;
    }
    return 0;
}

/* A mapping value {"sum": ["Issues", "Renewals"]} into p->sum: two or
 * more non-empty column names, each once. The caller's key is pushed. */
static int cfg_sum(struct ss_config_ctx *ctx, json_t *obj, struct ss_config_sum *p)
{
    const char *ok;
    json_t *ov, *arr = NULL;
    json_object_foreach(obj, ok, ov)
    {
        if (strcmp(ok, "description") == 0)
            continue;
        if (strcmp(ok, "sum") != 0) {
            cfg_push_key(ctx, ok);
            return cfg_error(ctx, SS_AT_KEY, "unknown key (a mapping object has only \"sum\")");
        }
        arr = ov;
    }
    if (!arr)
        return cfg_error(ctx, SS_AT_KEY, "expected {\"sum\": [column, column, ...]}");
    cfg_push_key(ctx, "sum");
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (n < 2)
        return cfg_error(ctx, SS_AT_KEY, "expected an array of two or more column names");
    p->columns = calloc(n, sizeof(*p->columns));
    if (!p->columns)
        return cfg_nomem(ctx);
    for (size_t i = 0; i < n; i++) {
        const char *c = json_string_value(json_array_get(arr, i));
        if (!c || !c[0])
            return cfg_error(ctx, SS_AT_KEY, "entry %zu: expected a non-empty column name", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->columns[j], c) == 0)
                return cfg_error(ctx, SS_AT_KEY, "\"%s\" is named twice", c);
        if (set_string(&p->columns[i], c) < 0)
            return cfg_nomem(ctx);
        p->ncolumns = i + 1;
    }
    cfg_pop(ctx);
    return 0;
}

static int cfg_map(struct ss_config_ctx *ctx, const struct ss_config_option *k, json_t *v,
                   char *base)
{
    struct ss_config_pair *pairs = (struct ss_config_pair *)(base + k->off);
    size_t *count = (size_t *)(base + k->count_off);
    const char *mk;
    json_t *mv;

    if (!json_is_object(v))
        return cfg_error(ctx, SS_AT_KEY, "expected an object of strings");
    if (k->flags & SS_CFG_DYNAMIC) {
        struct ss_config_pair **slot = (struct ss_config_pair **)(base + k->off);
        *slot = calloc(json_object_size(v) + 1, sizeof(**slot));
        if (!*slot)
            return cfg_nomem(ctx);
        pairs = *slot;
        if (k->flags & SS_CFG_SUMS) {
            struct ss_config_sum **sums = (struct ss_config_sum **)(base + k->sums_off);
            *sums = calloc(json_object_size(v) + 1, sizeof(**sums));
            if (!*sums)
                return cfg_nomem(ctx);
        }
    }
    json_object_foreach(v, mk, mv)
    {
        cfg_push_key(ctx, mk);
        if ((k->flags & SS_CFG_SUMS) && json_is_object(mv) && strcmp(mk, "description") != 0) {
            if (!(k->flags & SS_CFG_DYNAMIC) && *count == k->max_items)
                return cfg_error(ctx, SS_AT_KEY, "too many entries (at most %zu)", k->max_items);
            /* Counted first: what cfg_sum fills is released even when it fails. */
            struct ss_config_pair *p = &pairs[(*count)++];
            if (set_string(&p->key, mk) < 0)
                return cfg_nomem(ctx);
            int rc =
                cfg_sum(ctx, mv, &(*(struct ss_config_sum **)(base + k->sums_off))[*count - 1]);
            if (rc < 0)
                return rc;
            cfg_pop(ctx);
            continue;
        }
        if (!json_is_string(mv))
            return cfg_error(ctx, SS_AT_KEY,
                             (k->flags & SS_CFG_SUMS) ? "expected a string (a column name) or "
                                                        "{\"sum\": [column, column, ...]}"
                                                      : "expected a string");
        /* Every object may carry a "description"; here too it is a comment,
         * not a field name. */
        if (strcmp(mk, "description") == 0) {
            cfg_pop(ctx);
            continue;
        }
        if (mk[0] == '\0')
            return cfg_error(ctx, SS_AT_KEY, "empty key");
        if (!(k->flags & SS_CFG_DYNAMIC) && *count == k->max_items)
            return cfg_error(ctx, SS_AT_KEY, "too many entries (at most %zu)", k->max_items);
        cfg_pop(ctx);
        struct ss_config_pair *p = &pairs[*count];
        if (set_string(&p->key, mk) < 0 || set_string(&p->value, json_string_value(mv)) < 0)
            return cfg_nomem(ctx);
        (*count)++;
    }
    return 0;
}

static int cfg_object(struct ss_config_ctx *ctx, const struct ss_config_option *spec, json_t *obj,
                      char *base);
static int cfg_defaults(const struct ss_config_option *spec, char *base);

size_t ss_config_valmap_key(const char *s, size_t len, char *out, size_t outlen)
{
    size_t n = 0, sp;
    ss_trim(&s, &len);
    for (size_t i = 0; i < len; n++) {
        char c;
        if (ss_space_len(s + i, len - i)) {
            /* Trimmed: a run of whitespace here has text after it. */
            while ((sp = ss_space_len(s + i, len - i)))
                i += sp;
            c = ' ';
        } else {
            c = (char)ss_to_lower((unsigned char)s[i++]);
        }
        if (n < outlen)
            out[n] = c;
    }
    return n;
}

int ss_config_valmap_loose(const struct ss_config_valmap *vm)
{
    return vm->match && strcmp(vm->match, "loose") == 0;
}

/* One key of a loose map, by its loose key (in cfg_loose_keys' arena). */
struct cfg_loose {
    const char *key;
    size_t len;
    size_t index; /* in the map's pairs: the file's order */
};

static int cmp_loose(const void *a, const void *b)
{
    const struct cfg_loose *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    if (c == 0)
        c = (x->len > y->len) - (x->len < y->len);
    if (c == 0)
        c = (x->index > y->index) - (x->index < y->index);
    return c;
}

/* No two keys of a loose map may be one loose key: which of them would win
 * must not be left to the order of the file. Reported at the later key,
 * naming the earlier and where it is. ctx's path ends with the field. */
static int cfg_loose_keys(struct ss_config_ctx *ctx, const struct ss_config_valmap *m)
{
    struct cfg_loose *l = calloc(m->npairs + 1, sizeof(*l));
    size_t total = 0, used = 0;
    char *arena = NULL;
    int rc = 0;

    for (size_t i = 0; i < m->npairs; i++)
        total += strlen(m->pairs[i].key);
    arena = malloc(total + 1);
    if (!l || !arena) {
        rc = cfg_nomem(ctx);
        goto out;
    }
    for (size_t i = 0; i < m->npairs; i++) {
        const char *key = m->pairs[i].key;
        size_t klen = strlen(key);
        l[i] = (struct cfg_loose){arena + used, ss_config_valmap_key(key, klen, arena + used, klen),
                                  i};
        used += l[i].len;
    }
    qsort(l, m->npairs, sizeof(*l), cmp_loose);
    for (size_t j = 1; j < m->npairs; j++) {
        if (l[j].len != l[j - 1].len || memcmp(l[j].key, l[j - 1].key, l[j].len) != 0)
            continue;
        const char *first = m->pairs[l[j - 1].index].key;
        int line = 0, col = 0;
        cfg_push_key(ctx, "values");
        cfg_push_key(ctx, first);
        cfg_locate(ctx->text, ctx->len, ctx->path, ctx->depth, 1, &line, &col);
        cfg_pop(ctx);
        cfg_push_key(ctx, m->pairs[l[j].index].key);
        rc = cfg_error(ctx, SS_AT_KEY,
                       "is the same loose key (\"%.*s\") as \"%s\" at line %d, column %d: "
                       "with \"match\": \"loose\" case and spacing do not tell values "
                       "apart; keep one",
                       (int)l[j].len, l[j].key, first, line, col);
        goto out;
    }
out:
    free(arena);
    free(l);
    return rc;
}

/* "value_maps": {"field": {"from": "to", ...}, ...}; each field's pairs are
 * allocated to the size the file gives, up to SS_CONFIG_MAX_VALUES. With
 * SS_CFG_VALMAP_FORM a field's map may instead be {"values": {"from":
 * "to", ...}, "match": ..., "transform_first": ...}: it is that form when
 * it has a member "values" that is an object. */
static int cfg_valmaps(struct ss_config_ctx *ctx, const struct ss_config_option *k, json_t *v,
                       char *base)
{
    struct ss_config_valmap *maps = (struct ss_config_valmap *)(base + k->off);
    size_t *count = (size_t *)(base + k->count_off);
    const int forms = (k->flags & SS_CFG_VALMAP_FORM) != 0;
    const char *field, *from;
    json_t *obj, *to;
    int rc;

    if (!json_is_object(v))
        return cfg_error(ctx, SS_AT_KEY, "expected an object of field -> {value -> value}");
    if (k->flags & SS_CFG_DYNAMIC) {
        struct ss_config_valmap **slot = (struct ss_config_valmap **)(base + k->off);
        *slot = calloc(json_object_size(v) + 1, sizeof(**slot));
        if (!*slot)
            return cfg_nomem(ctx);
        maps = *slot;
    }
    json_object_foreach(v, field, obj)
    {
        if (strcmp(field, "description") == 0)
            continue;
        cfg_push_key(ctx, field);
        if (!json_is_object(obj))
            return cfg_error(ctx, SS_AT_KEY, "expected an object of strings%s",
                             forms ? " or {\"values\": {...}, \"match\": ..., "
                                     "\"transform_first\": ...}"
                                   : "");
        if (!(k->flags & SS_CFG_DYNAMIC) && *count == k->max_items)
            return cfg_error(ctx, SS_AT_KEY, "too many fields (at most %zu)", k->max_items);
        json_t *values = forms ? json_object_get(obj, "values") : NULL;
        int form = json_is_object(values);
        if (form)
            cfg_push_key(ctx, "values");
        if (json_object_size(form ? values : obj) > SS_CONFIG_MAX_VALUES)
            return cfg_error(ctx, SS_AT_KEY, "too many values (at most %d)", SS_CONFIG_MAX_VALUES);
        if (form)
            cfg_pop(ctx);
        /* Counted first: what is filled is released even when a check fails. */
        struct ss_config_valmap *m = &maps[(*count)++];
        if (set_string(&m->field, field) < 0 || cfg_defaults(valmap_form, (char *)m) < 0)
            return cfg_nomem(ctx);
        if (form) {
            if ((rc = cfg_object(ctx, valmap_form, obj, (char *)m)) < 0)
                return rc;
            if (ss_config_valmap_loose(m) && (rc = cfg_loose_keys(ctx, m)) < 0)
                return rc;
            cfg_pop(ctx);
            continue;
        }
        m->pairs = calloc(json_object_size(obj) + 1, sizeof(*m->pairs));
        if (!m->pairs)
            return cfg_nomem(ctx);
        json_object_foreach(obj, from, to)
        {
            if (strcmp(from, "description") == 0)
                continue;
            cfg_push_key(ctx, from);
            if (!json_is_string(to))
                return cfg_error(ctx, SS_AT_KEY, "expected a string%s",
                                 forms ? " (a map with other members is {\"values\": {...}, "
                                         "\"match\": ..., \"transform_first\": ...})"
                                       : "");
            cfg_pop(ctx);
            struct ss_config_pair *p = &m->pairs[m->npairs++];
            if (set_string(&p->key, from) < 0 || set_string(&p->value, json_string_value(to)) < 0)
                return cfg_nomem(ctx);
        }
        cfg_pop(ctx);
    }
    return 0;
}

/* Checks and stores one value; ctx->path already ends with its key. */
static int cfg_value(struct ss_config_ctx *ctx, const struct ss_config_option *k, json_t *v,
                     char *base)
{
    char why[1024];

    switch (k->type) {
    case SS_CFG_STRING:
        if (!json_is_string(v) || ((k->flags & SS_CFG_NONEMPTY) && json_string_length(v) == 0))
            return cfg_error(ctx, SS_AT_KEY, "expected a %sstring",
                             k->flags & SS_CFG_NONEMPTY ? "non-empty " : "");
        if (k->check && k->check(json_string_value(v), why, sizeof why) < 0)
            return cfg_error(ctx, SS_AT_KEY, "%s", why);
        if (set_string((char **)(base + k->off), json_string_value(v)) < 0)
            return cfg_nomem(ctx);
        return 0;

    case SS_CFG_ENUM: {
        const char *s = json_string_value(v); /* NULL if not a string */
        for (const char *const *c = k->choices; s && *c; c++)
            if (strcmp(s, *c) == 0)
                return set_string((char **)(base + k->off), s) < 0 ? cfg_nomem(ctx) : 0;
        size_t used = 0;
        for (const char *const *c = k->choices; *c && used < sizeof why; c++) {
            int n = snprintf(why + used, sizeof why - used, "%s\"%s\"", c == k->choices ? "" : ", ",
                             *c);
            if (n > 0)
                used += (size_t)n;
        }
        return cfg_error(ctx, SS_AT_KEY, "expected one of %s", why);
    }

    case SS_CFG_BOOL:
        if (!json_is_boolean(v))
            return cfg_error(ctx, SS_AT_KEY, "expected true or false");
        *(int *)(base + k->off) = json_is_true(v);
        return 0;

    case SS_CFG_INT: {
        json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
        if (!json_is_integer(v) || i < k->min || i > k->max)
            return cfg_error(ctx, SS_AT_KEY, "expected an integer from %ld to %ld", k->min, k->max);
        *(long *)(base + k->off) = (long)i;
        return 0;
    }

    case SS_CFG_CHAR: {
        const char *s = json_string_value(v);
        if (!s || json_string_length(v) != 1)
            return cfg_error(ctx, SS_AT_KEY,
                             "expected a one-character string such as \",\" \";\" \"\\t\" \"|\"");
        /* A quote or line break cannot separate fields: the CSV reader owns them. */
        if (s[0] == '"' || s[0] == '\n' || s[0] == '\r')
            return cfg_error(ctx, SS_AT_KEY, "cannot be a quote or a line break");
        *(char *)(base + k->off) = s[0];
        return 0;
    }

    case SS_CFG_STRLIST:
    case SS_CFG_STRARR:
        return cfg_strlist(ctx, k, v, base);

    case SS_CFG_MAP:
        return cfg_map(ctx, k, v, base);

    case SS_CFG_LIMIT: {
        struct ss_config_limit *l = (struct ss_config_limit *)(base + k->off);
        const char *s = json_string_value(v);
        char *end = NULL;
        double share = s ? strtod(s, &end) : -1;
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
            l->kind = SS_LIMIT_COUNT;
            l->count = (unsigned long)json_integer_value(v);
        } else if (s && end != s && ss_is_digit((unsigned char)s[0]) && strcmp(end, "%") == 0 &&
                   share >= 0 && share <= 100) {
            l->kind = SS_LIMIT_SHARE;
            l->share = share / 100.0;
        } else {
            return cfg_error(ctx, SS_AT_KEY,
                             "expected a count (an integer from 0) or a share of the records "
                             "(a string such as \"5%%\", 0-100)");
        }
        return 0;
    }

    case SS_CFG_VALMAPS:
        return cfg_valmaps(ctx, k, v, base);

    case SS_CFG_OBJECT:
        if (!json_is_object(v))
            return cfg_error(ctx, SS_AT_KEY, "expected an object");
        return cfg_object(ctx, k->sub, v, base);

    case SS_CFG_SECTION:
        if (!json_is_object(v))
            return cfg_error(ctx, SS_AT_KEY, "expected an object");
        ctx->section_present[k->off] = 1;
        return cfg_object(ctx, k->sub, v, ctx->section_opts[k->off]);
    }
    return cfg_error(ctx, SS_AT_KEY, "internal error: unknown key type");
}

static const struct ss_config_option *cfg_find(const struct ss_config_option *spec, const char *key)
{
    for (const struct ss_config_option *k = spec; k->key; k++)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

static int cfg_unknown(struct ss_config_ctx *ctx, const struct ss_config_option *spec)
{
    char list[512];
    size_t used = 0;
    int n = snprintf(list, sizeof list, "description");
    if (n > 0)
        used = (size_t)n;
    for (const struct ss_config_option *k = spec; k->key && used < sizeof list; k++) {
        if (strcmp(k->key, "description") == 0)
            continue;
        n = snprintf(list + used, sizeof list - used, ", %s", k->key);
        if (n > 0)
            used += (size_t)n;
    }
    return cfg_error(ctx, SS_AT_KEY, "unknown key (expected one of: %s%s)", list,
                     ctx->unknown_sections && ctx->depth == 1 ? "; or a source kind's object" : "");
}

/* Walks one object against its table: every present key is known and valid,
 * then every required key is present. */
static int cfg_object(struct ss_config_ctx *ctx, const struct ss_config_option *spec, json_t *obj,
                      char *base)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        cfg_push_key(ctx, key);
        const struct ss_config_option *k = cfg_find(spec, key);
        int rc;
        if (!k && ctx->unknown_sections && ctx->depth == 1 && json_is_object(v)) {
            /* Without the kind registry, a kind's section cannot be told
             * from a mistake: the collector checks it. */
        } else if (!k) {
            /* "description" is a comment wherever a table does not keep it. */
            if (strcmp(key, "description") != 0)
                return cfg_unknown(ctx, spec);
            if (!json_is_string(v))
                return cfg_error(ctx, SS_AT_KEY, "expected a string");
        } else if ((rc = cfg_value(ctx, k, v, base)) < 0) {
            return rc;
        }
        cfg_pop(ctx);
    }
    for (const struct ss_config_option *k = spec; k->key; k++) {
        if ((k->flags & SS_CFG_REQUIRED) && !json_object_get(obj, k->key)) {
            cfg_push_key(ctx, k->key);
            return cfg_error(ctx, SS_AT_PARENT, "required key missing");
        }
    }
    return 0;
}

/* Sets every default first, so that absent keys and absent objects need no
 * second pass; values read from the file then replace them. */
static int cfg_defaults(const struct ss_config_option *spec, char *base)
{
    for (const struct ss_config_option *k = spec; k->key; k++) {
        switch (k->type) {
        case SS_CFG_STRING:
        case SS_CFG_ENUM:
            if (k->def_str && set_string((char **)(base + k->off), k->def_str) < 0)
                return SS_ENOMEM;
            break;
        case SS_CFG_BOOL:
            *(int *)(base + k->off) = (int)k->def;
            break;
        case SS_CFG_INT:
            *(long *)(base + k->off) = k->def;
            break;
        case SS_CFG_CHAR:
            *(char *)(base + k->off) = (char)k->def;
            break;
        case SS_CFG_OBJECT:
            if (cfg_defaults(k->sub, base) < 0)
                return SS_ENOMEM;
            break;
        case SS_CFG_SECTION: /* the loader sets a section's defaults itself */
        case SS_CFG_STRLIST:
        case SS_CFG_STRARR:
        case SS_CFG_MAP:
        case SS_CFG_VALMAPS:
        case SS_CFG_LIMIT: /* zero: none */
            break;
        }
    }
    return 0;
}

/* Frees what the table says the struct owns; safe on a zeroed struct. */
static void cfg_release(const struct ss_config_option *spec, char *base)
{
    for (const struct ss_config_option *k = spec; k->key; k++) {
        switch (k->type) {
        case SS_CFG_STRING:
        case SS_CFG_ENUM: {
            char **s = (char **)(base + k->off);
            free(*s);
            *s = NULL;
            break;
        }
        case SS_CFG_STRLIST:
        case SS_CFG_STRARR: {
            size_t *count = (size_t *)(base + k->count_off);
            char **items =
                (k->flags & SS_CFG_DYNAMIC) ? *(char ***)(base + k->off) : (char **)(base + k->off);
            size_t n = (k->flags & SS_CFG_DYNAMIC) ? *count : k->max_items;
            for (size_t i = 0; items && i < n; i++) {
                free(items[i]);
                items[i] = NULL;
            }
            if (k->flags & SS_CFG_DYNAMIC) {
                free(items);
                *(char ***)(base + k->off) = NULL;
            }
            *count = 0;
            break;
        }
        case SS_CFG_MAP: {
            size_t *count = (size_t *)(base + k->count_off);
            struct ss_config_pair *pairs = (k->flags & SS_CFG_DYNAMIC)
                                               ? *(struct ss_config_pair **)(base + k->off)
                                               : (struct ss_config_pair *)(base + k->off);
            size_t n = (k->flags & SS_CFG_DYNAMIC) ? *count : k->max_items;
            for (size_t i = 0; pairs && i < n; i++) {
                free(pairs[i].key);
                free(pairs[i].value);
                pairs[i].key = pairs[i].value = NULL;
            }
            struct ss_config_sum **sums =
                (k->flags & SS_CFG_SUMS) ? (struct ss_config_sum **)(base + k->sums_off) : NULL;
            for (size_t i = 0; sums && *sums && i < n; i++) {
                for (size_t j = 0; j < (*sums)[i].ncolumns; j++)
                    free((*sums)[i].columns[j]);
                free((*sums)[i].columns);
            }
            if (sums) {
                free(*sums);
                *sums = NULL;
            }
            if (k->flags & SS_CFG_DYNAMIC) {
                free(pairs);
                *(struct ss_config_pair **)(base + k->off) = NULL;
            }
            *count = 0;
            break;
        }
        case SS_CFG_OBJECT:
            cfg_release(k->sub, base);
            break;
        case SS_CFG_LIMIT:
            break;
        case SS_CFG_VALMAPS: {
            struct ss_config_valmap *maps = (k->flags & SS_CFG_DYNAMIC)
                                                ? *(struct ss_config_valmap **)(base + k->off)
                                                : (struct ss_config_valmap *)(base + k->off);
            size_t n =
                (k->flags & SS_CFG_DYNAMIC) ? *(size_t *)(base + k->count_off) : k->max_items;
            for (size_t i = 0; maps && i < n; i++) {
                /* Either form: the pairs as a MAP, the match word. */
                cfg_release(valmap_form, (char *)&maps[i]);
                free(maps[i].field);
                memset(&maps[i], 0, sizeof(maps[i]));
            }
            if (k->flags & SS_CFG_DYNAMIC) {
                free(maps);
                *(struct ss_config_valmap **)(base + k->off) = NULL;
            }
            *(size_t *)(base + k->count_off) = 0;
            break;
        }
        case SS_CFG_BOOL:
        case SS_CFG_INT:
        case SS_CFG_CHAR:
        case SS_CFG_SECTION: /* the loader releases a section itself */
            break;
        }
    }
}

/* ---- reading and parsing a file ---- */

struct ss_cfg_doc {
    char *text;
    size_t len;
    json_t *root;
};

static void cfg_doc_close(struct ss_cfg_doc *doc)
{
    json_decref(doc->root);
    free(doc->text);
    doc->root = NULL;
    doc->text = NULL;
    doc->len = 0;
}

static int cfg_doc_open(struct ss_cfg_doc *doc, const char *path, char *err, size_t errlen)
{
    FILE *f = NULL;
    json_error_t jerr;
    int rc = SS_EINVAL;

    memset(doc, 0, sizeof *doc);
    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    /* One byte more than the bound tells "exactly at the bound" from "over it". */
    doc->text = malloc(SS_CFG_MAX_FILE_BYTES + 1);
    if (!doc->text) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    doc->len = fread(doc->text, 1, SS_CFG_MAX_FILE_BYTES + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (doc->len > SS_CFG_MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes: not a configuration file", path,
                 SS_CFG_MAX_FILE_BYTES);
        goto out;
    }
    doc->root = json_loadb(doc->text, doc->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc->root) {
        const char *what =
            json_error_code(&jerr) == json_error_duplicate_key ? "JSON error" : "JSON syntax error";
        if (jerr.line > 0)
            snprintf(err, errlen, "%s:%d:%d: %s: %s", path, jerr.line, jerr.column, what,
                     jerr.text);
        else
            snprintf(err, errlen, "%s: %s: %s", path, what, jerr.text);
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (rc < 0)
        cfg_doc_close(doc);
    return rc;
}

static void cfg_ctx_init(struct ss_config_ctx *ctx, const char *path, const struct ss_cfg_doc *doc,
                         char *err, size_t errlen)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->file = path;
    ctx->text = doc->text;
    ctx->len = doc->len;
    ctx->err = err;
    ctx->errlen = errlen;
}

/* Fills base from the parsed document by the table. On failure base may be
 * partly filled: the caller releases it. */
static int cfg_fill(struct ss_config_ctx *ctx, const struct ss_cfg_doc *doc,
                    const struct ss_config_option *spec, char *base)
{
    if (cfg_defaults(spec, base) < 0)
        return cfg_nomem(ctx);
    if (!json_is_object(doc->root))
        return cfg_error(ctx, SS_AT_KEY, "expected a JSON object");
    return cfg_object(ctx, spec, doc->root, base);
}

/* "authorities.sources": each a source name and one of abolished_modes. */
static int daemon_check_sources(struct ss_config_ctx *ctx, const struct ss_daemon_config *cfg)
{
    char path[128], why[256];
    for (size_t i = 0; i < cfg->nauthorities_sources; i++) {
        const struct ss_config_pair *p = &cfg->authorities_sources[i];
        snprintf(path, sizeof(path), "authorities.sources.%.80s", p->key);
        if (check_source(p->key, why, sizeof(why)) < 0)
            return ss_config_fail(ctx, 0, path, "%s", why);
        if (strcmp(p->value, "quarantine") != 0 && strcmp(p->value, "successor") != 0)
            return ss_config_fail(ctx, 0, path, "expected one of \"quarantine\", \"successor\"");
    }
    return 0;
}

static int daemon_from_doc(const char *path, const struct ss_cfg_doc *doc,
                           struct ss_daemon_config *cfg, char *err, size_t errlen)
{
    struct ss_config_ctx ctx;
    cfg_ctx_init(&ctx, path, doc, err, errlen);
    int rc = cfg_fill(&ctx, doc, daemon_top, (char *)cfg);
    return rc < 0 ? rc : daemon_check_sources(&ctx, cfg);
}

/* What one collector load builds from the kind registry: the top-level table
 * (head, "kind", one entry per section, tail), the kind names, and a struct
 * for every section, filled with its defaults. */
struct ss_cfg_collector {
    struct ss_config_option *top;
    const char **kind_names;
    const struct ss_config_section **sections;
    void **opts;
    int *present;
    size_t nsections;
};

static size_t cfg_table_len(const struct ss_config_option *t)
{
    size_t n = 0;
    while (t[n].key)
        n++;
    return n;
}

static void collector_unbuild(struct ss_cfg_collector *b)
{
    for (size_t i = 0; i < b->nsections; i++) {
        if (b->opts && b->opts[i]) {
            cfg_release(b->sections[i]->options, b->opts[i]);
            free(b->opts[i]);
        }
    }
    free(b->top);
    free(b->kind_names);
    free(b->sections);
    free(b->opts);
    free(b->present);
    memset(b, 0, sizeof *b);
}

static int collector_build(struct ss_cfg_collector *b, ss_config_kinds_fn kinds)
{
    size_t nkinds = 0, nhead = cfg_table_len(collector_head), ntail = cfg_table_len(collector_tail);

    memset(b, 0, sizeof *b);
    while (kinds && kinds(nkinds))
        nkinds++;
    b->kind_names = calloc(nkinds + 1, sizeof *b->kind_names);
    b->sections = calloc(nkinds + 1, sizeof *b->sections);
    b->opts = calloc(nkinds + 1, sizeof *b->opts);
    b->present = calloc(nkinds + 1, sizeof *b->present);
    b->top = calloc(nhead + 1 + nkinds + ntail + 1, sizeof *b->top);
    if (!b->kind_names || !b->sections || !b->opts || !b->present || !b->top)
        return SS_ENOMEM;
    memcpy(b->top, collector_head, nhead * sizeof *b->top);
    struct ss_config_option *k = &b->top[nhead];
    k->key = "kind";
    k->off = offsetof(struct ss_collector_config, kind);
    if (kinds) {
        /* The first kind registered is the default. */
        k->type = SS_CFG_ENUM;
        k->choices = b->kind_names;
        k->def_str = nkinds ? kinds(0)->name : NULL;
    } else {
        k->type = SS_CFG_STRING;
        k->flags = SS_CFG_NONEMPTY;
    }
    size_t ntop = nhead + 1;
    for (size_t i = 0; i < nkinds; i++) {
        const struct ss_config_kind *kd = kinds(i);
        b->kind_names[i] = kd->name;
        size_t s = 0;
        while (kd->section && s < b->nsections && b->sections[s] != kd->section)
            s++;
        if (!kd->section || s < b->nsections)
            continue; /* no section, or one shared with an earlier kind */
        b->sections[b->nsections] = kd->section;
        b->opts[b->nsections] = calloc(1, kd->section->size ? kd->section->size : 1);
        if (!b->opts[b->nsections])
            return SS_ENOMEM;
        b->nsections++;
        if (cfg_defaults(kd->section->options, b->opts[s]) < 0)
            return SS_ENOMEM;
        b->top[ntop++] = (struct ss_config_option){.key = kd->section->name,
                                                   .type = SS_CFG_SECTION,
                                                   .off = s,
                                                   .sub = kd->section->options};
    }
    memcpy(&b->top[ntop], collector_tail, ntail * sizeof *b->top);
    return 0;
}

/* The dataset's fields, listed for a message. */
static int cfg_no_field(struct ss_config_ctx *ctx, const struct ss_dataset *ds)
{
    char names[1024] = "";
    size_t used = 0;
    for (size_t f = 0; f < ds->nfields && used < sizeof(names); f++)
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", f ? ", " : "",
                                 ds->fields[f].name);
    return cfg_error(ctx, SS_AT_KEY, "dataset \"%s\" has no such field (its fields: %s)", ds->name,
                     names);
}

int ss_config_check_field(struct ss_config_ctx *ctx, const char *path, const char *field)
{
    const struct ss_dataset *ds = ctx->dataset ? ss_dataset_find(ctx->dataset) : NULL;
    if (!ds || ss_dataset_field_index(ds, field) >= 0)
        return 0;
    cfg_set_path(ctx, path);
    return cfg_no_field(ctx, ds);
}

/* What one key implies for another, once the whole file is read: each
 * section's rules, CURVE's two halves, what the file's kind requires, the
 * transforms, and that mapping and constants name dataset fields. */
static int collector_rules(struct ss_config_ctx *ctx, const struct ss_cfg_collector *b,
                           ss_config_kinds_fn kinds, struct ss_collector_config *cfg)
{
    int rc;

    for (size_t i = 0; i < b->nsections; i++)
        if (b->sections[i]->check && (rc = b->sections[i]->check(ctx, cfg, b->opts[i])) < 0)
            return rc;
    /* CURVE needs both halves: the daemon's public key and our own secret. */
    if (!cfg->server_public_key != !cfg->secret_key_file) {
        ctx->depth = 0;
        cfg_push_key(ctx, "daemon");
        cfg_push_key(ctx, cfg->server_public_key ? "secret_key_file" : "server_public_key");
        return cfg_error(ctx, SS_AT_PARENT, "required key missing (\"daemon.%s\" is set)",
                         cfg->server_public_key ? "server_public_key" : "secret_key_file");
    }
    /* What the file's kind needs beyond the tables. */
    const struct ss_config_kind *kd = NULL;
    for (size_t i = 0; kinds && cfg->kind && (kd = kinds(i)) && strcmp(kd->name, cfg->kind); i++)
        ;
    if (kd) {
        size_t s = 0;
        while (s < b->nsections && b->sections[s] != kd->section)
            s++;
        if (kd->section_required && s < b->nsections && !b->present[s])
            return ss_config_fail(ctx, 1, kd->section->name,
                                  "required key missing (\"kind\" is \"%s\")", kd->name);
        if (kd->check && (rc = kd->check(ctx, cfg, s < b->nsections ? b->opts[s] : NULL)) < 0)
            return rc;
    }
    static const char *const transforms[] = {
        "age_band", "postcode_district", "postcode_lsoa", "upper", "lower", NULL};
    for (size_t i = 0; i < cfg->ntransforms; i++) {
        int ok = 0;
        for (size_t t = 0; transforms[t]; t++)
            ok |= strcmp(cfg->transforms[i].value, transforms[t]) == 0;
        ctx->depth = 0;
        cfg_push_key(ctx, "transforms");
        cfg_push_key(ctx, cfg->transforms[i].key);
        if (!ok)
            return cfg_error(ctx, SS_AT_KEY,
                             "expected one of age_band, postcode_district, "
                             "postcode_lsoa, upper, lower");
        if (strcmp(cfg->transforms[i].value, "postcode_lsoa") == 0 && !cfg->lsoa_lookup_file)
            return cfg_error(ctx, SS_AT_KEY, "postcode_lsoa needs \"privacy.lsoa_lookup_file\"");
    }
    /* Mapping and constants name dataset fields: a typo is caught here, by
     * check-config, not at run time. Keys are pushed whole: a field name
     * cannot hold a dot, but a wrong key may. */
    const struct ss_dataset *ds = ss_dataset_find(cfg->dataset);
    const struct {
        const char *object;
        const struct ss_config_pair *pairs;
        size_t n;
    } maps[] = {
        {"mapping", cfg->mapping, cfg->nmapping},
        {"constants", cfg->constants, cfg->nconstants},
        {"transforms", cfg->transforms, cfg->ntransforms},
    };
    for (size_t o = 0; ds && o < sizeof maps / sizeof maps[0]; o++) {
        for (size_t i = 0; i < maps[o].n; i++) {
            if (ss_dataset_field_index(ds, maps[o].pairs[i].key) >= 0)
                continue;
            ctx->depth = 0;
            cfg_push_key(ctx, maps[o].object);
            cfg_push_key(ctx, maps[o].pairs[i].key);
            return cfg_no_field(ctx, ds);
        }
    }
    for (size_t i = 0; ds && i < cfg->nvalue_maps; i++) {
        if (ss_dataset_field_index(ds, cfg->value_maps[i].field) >= 0)
            continue;
        ctx->depth = 0;
        cfg_push_key(ctx, "value_maps");
        cfg_push_key(ctx, cfg->value_maps[i].field);
        return cfg_no_field(ctx, ds);
    }
    for (size_t i = 0; i < cfg->nvalue_maps; i++) {
        const struct ss_config_valmap *vm = &cfg->value_maps[i];
        size_t t = 0;
        while (t < cfg->ntransforms && strcmp(cfg->transforms[t].key, vm->field) != 0)
            t++;
        if (!vm->transform_first || t < cfg->ntransforms)
            continue;
        ctx->depth = 0;
        cfg_push_key(ctx, "value_maps");
        cfg_push_key(ctx, vm->field);
        cfg_push_key(ctx, "transform_first");
        return cfg_error(ctx, SS_AT_KEY,
                         "there is no \"transforms.%s\" to run first (set one, or drop "
                         "\"transform_first\")",
                         vm->field);
    }
    return 0;
}

static int collector_from_doc(const char *path, const struct ss_cfg_doc *doc,
                              ss_config_kinds_fn kinds, struct ss_collector_config *cfg, char *err,
                              size_t errlen)
{
    struct ss_config_ctx ctx;
    struct ss_cfg_collector b;
    int rc;

    cfg_ctx_init(&ctx, path, doc, err, errlen);
    rc = collector_build(&b, kinds);
    if (rc < 0) {
        rc = cfg_nomem(&ctx);
        goto out;
    }
    ctx.sections = b.sections;
    ctx.section_opts = b.opts;
    ctx.section_present = b.present;
    ctx.nsections = b.nsections;
    ctx.unknown_sections = kinds == NULL;
    rc = cfg_fill(&ctx, doc, b.top, (char *)cfg);
    if (rc < 0)
        goto out;
    ctx.dataset = cfg->dataset;
    rc = collector_rules(&ctx, &b, kinds, cfg);
    if (rc < 0)
        goto out;
    /* The file's own kind keeps its section; the others were only checked. */
    const struct ss_config_kind *kd = NULL;
    for (size_t i = 0; kinds && (kd = kinds(i)) && strcmp(kd->name, cfg->kind); i++)
        ;
    for (size_t s = 0; kd && s < b.nsections; s++) {
        if (b.sections[s] == kd->section) {
            cfg->options_section = b.sections[s];
            cfg->options = b.opts[s];
            b.opts[s] = NULL;
        }
    }
out:
    collector_unbuild(&b);
    return rc;
}

/* ---- transport policy ---- */

int ss_config_endpoint_loopback(const char *endpoint)
{
    char host[256];
    const char *h, *colon;
    size_t n;

    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    h = endpoint + 6;
    /* A connect endpoint may name a source address first: "src;dst". */
    if (strchr(h, ';'))
        h = strchr(h, ';') + 1;
    colon = strrchr(h, ':');
    if (!colon)
        return 0;
    n = (size_t)(colon - h);
    if (n == 0 || n >= sizeof(host))
        return 0;
    memcpy(host, h, n);
    host[n] = '\0';
    if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0)
        return 1;
    /* 127.0.0.0/8, written as a dotted quad. */
    unsigned a, b, c, d;
    char tail;
    if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
        c < 256 && d < 256)
        return 1;
    return 0;
}

int ss_config_transport_check(const char *endpoint, int daemon, int curve, int insecure, char *err,
                              size_t errlen)
{
    if (strncmp(endpoint, "ipc://", 6) == 0)
        return 0;
    if (strncmp(endpoint, "tcp://", 6) != 0) {
        snprintf(err, errlen, "%s: only tcp:// and ipc:// endpoints are supported", endpoint);
        return SS_EINVAL;
    }
    if (curve)
        return 0;
    int loopback = ss_config_endpoint_loopback(endpoint);
    if (daemon && !insecure) {
        snprintf(err, errlen,
                 "%s: plain TCP without CURVE: set \"curve\" (secret_key_file, allow_file), "
                 "or \"insecure\": true to accept unauthenticated collectors on a loopback "
                 "address%s",
                 endpoint, loopback ? "" : " (this address is not loopback)");
        return SS_EINVAL;
    }
    if (!loopback) {
        if (daemon)
            snprintf(err, errlen,
                     "%s: \"insecure\": true allows plain TCP on loopback addresses only "
                     "(127.0.0.0/8, ::1, localhost): anyone on the network could write the "
                     "warehouse; configure \"curve\" instead",
                     endpoint);
        else
            snprintf(err, errlen,
                     "%s: plain TCP to a non-loopback address: set \"daemon.server_public_key\" "
                     "and \"daemon.secret_key_file\" to use CURVE",
                     endpoint);
        return SS_EINVAL;
    }
    return 0;
}

/* ---- public ---- */

void ss_daemon_config_free(struct ss_daemon_config *cfg)
{
    if (!cfg)
        return;
    cfg_release(daemon_top, (char *)cfg);
    memset(cfg, 0, sizeof *cfg);
}

void ss_collector_config_free(struct ss_collector_config *cfg)
{
    if (!cfg)
        return;
    cfg_release(collector_head, (char *)cfg);
    cfg_release(collector_tail, (char *)cfg);
    free(cfg->kind);
    if (cfg->options) {
        cfg_release(cfg->options_section->options, cfg->options);
        free(cfg->options);
    }
    memset(cfg, 0, sizeof *cfg);
}

/* Opens path for one of the loaders below: a caller's NULL or empty err
 * becomes a one-byte buffer, so that every message can be written. */
static int cfg_load_open(struct ss_cfg_doc *doc, const char *path, char **err, size_t *errlen,
                         char *dummy)
{
    if (!*err || *errlen == 0) {
        *err = dummy;
        *errlen = 1;
    }
    return cfg_doc_open(doc, path, *err, *errlen);
}

int ss_daemon_config_load(const char *path, struct ss_daemon_config *cfg, char *err, size_t errlen)
{
    struct ss_cfg_doc doc;
    char dummy[1];
    memset(cfg, 0, sizeof *cfg);
    int rc = cfg_load_open(&doc, path, &err, &errlen, dummy);
    if (rc < 0)
        return rc;
    rc = daemon_from_doc(path, &doc, cfg, err, errlen);
    cfg_doc_close(&doc);
    if (rc < 0)
        ss_daemon_config_free(cfg);
    return rc;
}

int ss_collector_config_load(const char *path, ss_config_kinds_fn kinds,
                             struct ss_collector_config *cfg, char *err, size_t errlen)
{
    struct ss_cfg_doc doc;
    char dummy[1];
    memset(cfg, 0, sizeof *cfg);
    int rc = cfg_load_open(&doc, path, &err, &errlen, dummy);
    if (rc < 0)
        return rc;
    rc = collector_from_doc(path, &doc, kinds, cfg, err, errlen);
    cfg_doc_close(&doc);
    if (rc < 0)
        ss_collector_config_free(cfg);
    return rc;
}

int ss_config_check(const char *path, const char **kind, char *err, size_t errlen)
{
    struct ss_cfg_doc doc;
    char dummy[1];

    if (kind)
        *kind = NULL;
    int rc = cfg_load_open(&doc, path, &err, &errlen, dummy);
    if (rc < 0)
        return rc;

    if (json_is_object(doc.root) && json_object_get(doc.root, "listen")) {
        struct ss_daemon_config d;
        memset(&d, 0, sizeof d);
        if (kind)
            *kind = "daemon";
        rc = daemon_from_doc(path, &doc, &d, err, errlen);
        ss_daemon_config_free(&d);
    } else if (json_is_object(doc.root) && json_object_get(doc.root, "source")) {
        struct ss_collector_config c;
        memset(&c, 0, sizeof c);
        if (kind)
            *kind = "collector";
        rc = collector_from_doc(path, &doc, NULL, &c, err, errlen);
        ss_collector_config_free(&c);
    } else {
        struct ss_config_ctx ctx;
        cfg_ctx_init(&ctx, path, &doc, err, errlen);
        rc = cfg_error(&ctx, SS_AT_KEY,
                       "neither \"listen\" (daemon) nor \"source\" (collector) found: "
                       "cannot tell which kind of configuration this is");
    }
    cfg_doc_close(&doc);
    return rc < 0 ? rc : 0;
}

int ss_config_limit_exceeded(const struct ss_config_limit *l, unsigned long long bad,
                             unsigned long long all)
{
    switch (l->kind) {
    case SS_LIMIT_COUNT:
        return bad > l->count;
    case SS_LIMIT_SHARE:
        return all > 0 && (double)bad > l->share * (double)all;
    default:
        return 0;
    }
}
