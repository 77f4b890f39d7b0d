/* ss_config: the daemon's and the collectors' JSON configuration files.
 *
 * Files are read with jansson. Every key is checked against a table that
 * describes the file (ss_config.c): an unknown key, a value of the wrong type
 * or out of range, or a missing required key is an error that names the file,
 * the line and column of the offending key (or of the enclosing object, for a
 * missing key) and the key's path, e.g.
 *   config/leeds.json:14:9: "send.ack_timeout_ms": expected an integer from 100 to 3600000
 * A JSON syntax error is reported at jansson's position the same way.
 *
 * The loaders fill a struct that owns its strings; the matching _free()
 * releases them. Defaults are applied for absent optional keys.
 * "description" is allowed (and ignored) in every object, since JSON has no
 * comments.
 */
#ifndef SS_CONFIG_H
#define SS_CONFIG_H

#include <stddef.h>

#define SS_CONFIG_MAX_ENDPOINTS 8

struct ss_config_pair {
    char *key;
    char *value; /* NULL for a "mapping" pair whose value is a sum (struct ss_config_sum) */
};

/* A "mapping" value {"sum": ["Issues", "Renewals"]}: the field is the sum of
 * these columns (two or more). */
struct ss_config_sum {
    char **columns;
    size_t ncolumns; /* 0: the pair's value is one column */
};

/* One field's value map: source value -> core value ("BK" -> "Adult fiction").
 * In "value_maps" a field's map is either an object of strings (the pairs,
 * matched exactly, before the field's transform) or the object form
 * {"values": {...}, "match": "exact" | "loose", "transform_first": bool}. */
#define SS_CONFIG_MAX_VALUES 4096
struct ss_config_valmap {
    char *field;
    struct ss_config_pair *pairs; /* malloc'd, npairs entries */
    size_t npairs;
    char *match;         /* "exact" or "loose" (ss_config_valmap_key); NULL: exact */
    int transform_first; /* the field's transform runs before the map (the loader checks that
                            the field has one) */
};

/* The loose key of a value (len bytes), by which a "match": "loose" map
 * compares: ASCII letters in lower case, whitespace (what ss_trim trims:
 * space, tab, CR, LF, no-break space) at either end dropped and each run of
 * it inside one space; every
 * other byte, UTF-8 included, as it is. Writes at most outlen bytes of it
 * to out (no NUL) and returns its whole length, which is never more than
 * len: a result above outlen means out holds only the start. The one
 * definition, for the loader's check that no two keys of a loose map are
 * one key and for the collector's lookup. */
size_t ss_config_valmap_key(const char *s, size_t len, char *out, size_t outlen);
/* 1 if vm matches by loose key, 0 if exactly. */
int ss_config_valmap_loose(const struct ss_config_valmap *vm);

/* A limit given as a count or as a share: "reject_limit": 10 or "5%". */
enum ss_config_limit_kind { SS_LIMIT_NONE, SS_LIMIT_COUNT, SS_LIMIT_SHARE };
struct ss_config_limit {
    enum ss_config_limit_kind kind;
    unsigned long count; /* SS_LIMIT_COUNT */
    double share;        /* SS_LIMIT_SHARE: 0..1 */
};

/* 1 when bad of all exceeds l (never with SS_LIMIT_NONE). */
int ss_config_limit_exceeded(const struct ss_config_limit *l, unsigned long long bad,
                             unsigned long long all);

/* ---- option tables ----
 *
 * Every JSON object of a config file is described by a table of options,
 * walked by the one loader: the daemon's and the collector's own keys here
 * (ss_config.c), and each source kind's options in the kind's own file (its
 * section: src_koha.c declares "koha"), after Fluent Bit's config_map. A
 * table is terminated by an entry with a NULL key. Offsets are into the
 * struct the table fills: the config struct for the loader's tables, the
 * kind's own options struct for a section.
 */
enum ss_cfg_type {
    SS_CFG_STRING,  /* char * */
    SS_CFG_ENUM,    /* char *, one of choices */
    SS_CFG_BOOL,    /* int */
    SS_CFG_INT,     /* long, min..max */
    SS_CFG_CHAR,    /* char, from a one-character string */
    SS_CFG_STRLIST, /* char *[max_items] + size_t count: string or array of strings */
    SS_CFG_STRARR,  /* char *[max_items] + size_t count: array of strings */
    SS_CFG_MAP,     /* struct ss_config_pair[max_items] + size_t count: object of strings */
    SS_CFG_OBJECT,  /* nested object described by sub; its fields live in the same struct */
    SS_CFG_VALMAPS, /* struct ss_config_valmap[max_items] + size_t count: object of objects of
                       strings (each field's values allocated, up to SS_CONFIG_MAX_VALUES) */
    SS_CFG_LIMIT,   /* struct ss_config_limit: an integer from 0, or a string "N%" (0-100) */
    SS_CFG_SECTION, /* the loader's own: a source kind's section (sub; off is its index) */
};

#define SS_CFG_REQUIRED 0x1u
#define SS_CFG_NONEMPTY 0x2u /* strings (and list entries) must not be "" */
/* STRARR, MAP, VALMAPS: the struct holds a pointer (char ** / struct
 * ss_config_pair * / struct ss_config_valmap *) allocated to the size the file
 * gives, with no cap (max_items is ignored). */
#define SS_CFG_DYNAMIC 0x4u
/* MAP (DYNAMIC): a value may also be {"sum": [two or more column names]}:
 * the pair's value is then NULL and the struct ss_config_sum at the same
 * index of the array at sums_off holds the columns. */
#define SS_CFG_SUMS 0x8u
/* VALMAPS: a field's map may also be the object form {"values": {...},
 * "match": ..., "transform_first": ...} ("value_maps"; not csv.wide.series,
 * whose inner keys are fields). */
#define SS_CFG_VALMAP_FORM 0x10u

struct ss_config_option {
    const char *key;
    enum ss_cfg_type type;
    unsigned flags;
    size_t off;                 /* of the value (or of the first list entry / pair) */
    size_t count_off;           /* STRLIST, STRARR, MAP: of the size_t count */
    size_t min_items;           /* STRLIST, STRARR */
    size_t max_items;           /* STRLIST, STRARR, MAP: capacity of the array in the struct */
    long min, max;              /* INT */
    long def;                   /* INT, BOOL, CHAR default */
    const char *def_str;        /* STRING, ENUM default (copied) */
    const char *const *choices; /* ENUM, NULL-terminated */
    const struct ss_config_option *sub; /* OBJECT, terminated by a NULL key */
    size_t sums_off; /* MAP with SS_CFG_SUMS: of the struct ss_config_sum * (one per pair) */
    /* STRING: a check beyond the type; 0, or SS_EINVAL with the reason in why */
    int (*check)(const char *s, char *why, size_t whylen);
    const char *help; /* one line for a reader of the table (docs/configuration.md says more) */
};

struct ss_collector_config;
/* The loader's place in the file being read, for a section's or a kind's
 * rules to report at (ss_config_fail). Valid only during the call. */
struct ss_config_ctx;

/* A source kind's options: the top-level object "name" of a collector
 * config, filling a struct of size bytes by the table. check, when set, runs
 * after the whole file is read (whatever the kind: the section's own rules,
 * such as one key implying another): 0, or the result of ss_config_fail. */
struct ss_config_section {
    const char *name;
    const struct ss_config_option *options;
    size_t size;
    int (*check)(struct ss_config_ctx *ctx, const struct ss_collector_config *cfg,
                 const void *opts);
};

/* What the loader knows of a source kind: its name (the config's "kind"),
 * its section (NULL: none; kinds may share one), whether a file of this kind
 * must have the section object, and rules for a file of this kind (check:
 * 0, or the result of ss_config_fail; opts is the section's struct). */
struct ss_config_kind {
    const char *name;
    const struct ss_config_section *section;
    int section_required;
    int (*check)(struct ss_config_ctx *ctx, const struct ss_collector_config *cfg,
                 const void *opts);
};

/* The kind registry as the loader sees it: kind i (0, 1, ...), NULL after
 * the last. collectors/ supplies it (ss_source_config_kind); common/ knows
 * no kind. */
typedef const struct ss_config_kind *(*ss_config_kinds_fn)(size_t i);

/* Reports a rule broken at path (dotted keys, "koha.resource"): at the key,
 * or, with at_parent, at the object that should hold it (for a missing key),
 * as "file:line:col: \"path\": what". Returns SS_EINVAL, for the check to
 * return. */
int ss_config_fail(struct ss_config_ctx *ctx, int at_parent, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 0 if field names a field of the config's dataset; else ss_config_fail at
 * path with the dataset's fields listed. */
int ss_config_check_field(struct ss_config_ctx *ctx, const char *path, const char *field);

struct ss_daemon_config {
    char *description;
    char *listen[SS_CONFIG_MAX_ENDPOINTS]; /* "listen": string or array of strings (zmq endpoints);
                                              required */
    size_t nlisten;
    int insecure; /* "insecure": bool, default false: plain TCP without CURVE, on loopback only */
    /* "curve": object, optional; both keys required in it. Without it tcp:// needs "insecure". */
    char *curve_secret_key_file; /* "curve.secret_key_file": the daemon's Z85 secret key */
    char *curve_allow_file;    /* "curve.allow_file": collector keys and their rights (ss_allow) */
    char *db_conninfo;         /* "database.conninfo": libpq connection string; required */
    char *db_password_file;    /* "database.password_file": optional path */
    int migrate_on_start;      /* "database.migrate_on_start": bool, default true */
    long reconnect_initial_ms; /* "database.reconnect_initial_ms": 10..60000, default 250 */
    long reconnect_max_ms;     /* "database.reconnect_max_ms": 100..600000, default 10000 */
    long max_message_bytes;    /* "limits.max_message_bytes": 1024..1073741824, default 67108864 */
    long max_frames;           /* "limits.max_frames": 2..64, default 8 */
    long max_records;          /* "limits.max_records": 1..10000000, default 100000 */
    long max_field_bytes;      /* "limits.max_field_bytes": 16..16777216, default 65536 */
    long max_header_bytes;     /* "limits.max_header_bytes": 256..65536, default 4096 */
    long handshake_ms;         /* "limits.handshake_ms": 100..600000, default 5000 */
    long log_burst;       /* "limits.log_burst": 0..1000, default 5: lines per reason per window
                             for what a peer controls (bad messages, refused keys) */
    long log_summary_s;   /* "limits.log_summary_s": 1..3600, default 60: the window, and how often
                             the summary of what was not logged is written */
    char *metrics_listen; /* "metrics.listen": "ADDR:PORT" or "off"; default "127.0.0.1:9464" */
    long metrics_max_series; /* "metrics.max_series": 1..100000, default 1000 (source, dataset) */
    long health_max_batch_wait_s; /* "health.max_batch_wait_s": 1..86400, default 300 */
    long health_loop_stall_s; /* "health.loop_stall_s": 1..3600, default 60 (without a watchdog) */
    /* "authorities.abolished": "quarantine" (default) or "successor": what a
     * record gets whose authority was abolished before its period. */
    char *authorities_abolished;
    /* "authorities.sources": object of source name -> "quarantine" or
     * "successor", overriding "authorities.abolished" for that source. */
    struct ss_config_pair *authorities_sources;
    size_t nauthorities_sources;
    char *log_level; /* "log_level": one of error warn notice info debug; default "info" */
};

struct ss_collector_config {
    char *description;
    char *source;  /* "source": required; 1..64 of [A-Za-z0-9._-] */
    char *dataset; /* "dataset": required; must name a dataset in ss_dataset (checked by loader) */
    char *url;     /* "url": required; http://, https:// or file://. For the API kinds
                      (koha, koha_report, folio) the system's base URL. */
    char *kind;    /* "kind": the name of a registered source kind (collectors/ss_source.c);
                      default "csv" */

    /* The kind's own options (its section: "csv", "json", "koha", "folio"), declared by the kind
     * (struct ss_config_section) and filled by the loader from the file, with the section's
     * defaults when the file has no such object; NULL for a kind without a section. Sections of
     * other kinds present in the file are checked the same way, then released. */
    const struct ss_config_section *options_section;
    void *options;

    /* "privacy": object, optional */
    char *hmac_key_file;    /* "privacy.hmac_key_file": patron identifiers become HMAC-SHA256 under
                               this key; absent: they are dropped */
    char *lsoa_lookup_file; /* "privacy.lsoa_lookup_file": CSV "postcode,lsoa" (an extract of the
                               ONS postcode directory) for the postcode_lsoa transform */

    /* "value_maps": object of field -> {source value -> core value} or
     * {"values": {...}, "match": "exact" | "loose", "transform_first": bool}, optional */
    struct ss_config_valmap *value_maps; /* as many as the file gives (malloc'd) */
    size_t nvalue_maps;
    /* "transforms": object of field -> "age_band" | "postcode_district" | "upper" | "lower",
     * optional */
    struct ss_config_pair *transforms; /* as many as the file gives (malloc'd) */
    size_t ntransforms;

    /* "mapping": object of dataset field -> source column name, or
     * {"sum": [column, column, ...]} (the field is their sum), optional.
     * "constants": object of dataset field -> fixed string value, optional.
     * Keys are checked against the dataset's fields by the loader. */
    struct ss_config_pair *mapping; /* as many as the file gives (malloc'd); so constants */
    size_t nmapping;
    struct ss_config_sum *mapping_sums; /* nmapping entries: the columns of a {"sum": [...]} */
    struct ss_config_pair *constants;
    size_t nconstants;

    char *state_dir; /* "state_dir": required; outbox lives in state_dir/outbox */

    char *endpoints[SS_CONFIG_MAX_ENDPOINTS]; /* "daemon.endpoints": array of strings, required, >=1
                                               */
    size_t nendpoints;
    char *server_public_key; /* "daemon.server_public_key": the daemon's Z85 public key (40
                                characters); absent: plain TCP, to loopback endpoints only */
    char *secret_key_file;   /* "daemon.secret_key_file": this collector's Z85 secret key;
                                required with server_public_key */

    long batch_records;      /* "batch.records": 1..100000, default 5000 */
    long batch_max_bytes;    /* "batch.max_bytes": 4096..268435456, default 8388608 */
    long ack_timeout_ms;     /* "send.ack_timeout_ms": 100..3600000, default 15000 */
    long max_in_flight;      /* "send.max_in_flight": 1..64, default 4 */
    long backoff_initial_ms; /* "send.backoff_initial_ms": 10..60000, default 250 */
    long backoff_max_ms;     /* "send.backoff_max_ms": 100..3600000, default 30000 */
    long give_up_after_s; /* "send.give_up_after_s": 0..31536000, default 3600; 0 = wait for ever */
    long max_outbox_batches; /* "send.max_outbox_batches": 1..1000000, default 10000 */

    long connect_timeout_s; /* "http.connect_timeout_s": 1..600, default 30 */
    long timeout_s;         /* "http.timeout_s": 0..604800, default 0 (none) */
    char *ca_file;          /* "http.ca_file": optional path */
    long http_retries;      /* "http.retries": 0..20, default 5: connection errors, 5xx, 429 */
    long http_retry_max_s;  /* "http.retry_max_s": 1..3600, default 60: back-off cap (Retry-After
                               honoured up to it) */
    long low_speed_s; /* "http.low_speed_s": 0..3600, default 120: abort when under 1 byte/s that
                         long; 0 off */
    int http_conditional;     /* "http.conditional": bool, default true: ETag / Last-Modified */
    char *http_auth;          /* "http.auth": none basic bearer; default "none" */
    char *http_username;      /* "http.username" (basic) */
    char *http_password_file; /* "http.password_file" (basic) */
    char *http_token_file;    /* "http.token_file" (bearer) */
    struct ss_config_pair *http_headers; /* "http.headers": extra request headers, as many as the
                                            file gives (malloc'd) */
    size_t nhttp_headers;

    long max_field_bytes;  /* "limits.max_field_bytes": 16..16777216, default 65536 */
    long max_record_bytes; /* "limits.max_record_bytes": 256..268435456, default 1048576 */
    long max_fields;       /* "limits.max_fields": 1..100000, default 16384 */

    long interval_s; /* "interval_s": 0..31536000, default 0 (run once then exit even without
                        --once) */
    int allow_empty; /* "allow_empty": bool, default false: an export with no records (an empty
                        body, or a header and no rows) is a normal outcome, not exit status 6 */
    char *as_of;     /* "as_of": optional date YYYY-MM-DD the source's data describes (sent with
                        each batch; before the export's Last-Modified) */
    char *log_level; /* "log_level": as for the daemon */
    /* "reject_limit": records the daemon may quarantine in a run before it
     * fails with exit status 9, a count (0: none at all) or a share of the
     * records sent ("5%"); default none (no limit). */
    struct ss_config_limit reject_limit;
};

/* Both return 0, or SS_EINVAL (SS_ENOMEM) with a message in err
 * ("file:line:col: \"path\": what"). kinds is the source kind registry: the
 * "kind" must be one of it, and each kind's section is checked by its table.
 * With kinds NULL (a program without the collectors, such as `shelfsync
 * check-config`) "kind" is any non-empty string and a top-level object the
 * loader's own table does not name is taken as a kind's section, unchecked. */
int ss_daemon_config_load(const char *path, struct ss_daemon_config *cfg, char *err, size_t errlen);
void ss_daemon_config_free(struct ss_daemon_config *cfg);
int ss_collector_config_load(const char *path, ss_config_kinds_fn kinds,
                             struct ss_collector_config *cfg, char *err, size_t errlen);
void ss_collector_config_free(struct ss_collector_config *cfg);

/* The transport rule both programs apply before they bind or connect: an
 * ipc:// endpoint is always allowed (file permissions protect it); a tcp://
 * endpoint needs CURVE (curve != 0) unless insecure is set and its host is
 * loopback (127.0.0.0/8, ::1, localhost); for a collector (daemon == 0)
 * plain TCP is allowed to loopback without insecure. Other transports are
 * refused. Returns 0, or SS_EINVAL with what to do in err. */
int ss_config_transport_check(const char *endpoint, int daemon, int curve, int insecure, char *err,
                              size_t errlen);
/* 1 if a tcp:// endpoint's host is a loopback address or "localhost". */
int ss_config_endpoint_loopback(const char *endpoint);

/* Guesses which kind a file is (by its keys: "listen" => daemon, "source" =>
 * collector) and validates it; for `shelfsync check-config`, which has no
 * source kinds: a collector config is loaded with kinds NULL (see
 * ss_collector_config_load). Returns 0 or SS_EINVAL with the message in err;
 * *kind is set to "daemon" or "collector" when known. */
int ss_config_check(const char *path, const char **kind, char *err, size_t errlen);

#endif
