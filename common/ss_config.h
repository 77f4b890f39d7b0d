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
#define SS_CONFIG_MAX_MAP 64

struct ss_config_pair {
    char *key;
    char *value;
};

/* One field's value map: source value -> core value ("BK" -> "Adult fiction"). */
#define SS_CONFIG_MAX_VALUES 4096
struct ss_config_valmap {
    char *field;
    struct ss_config_pair *pairs; /* malloc'd, npairs entries */
    size_t npairs;
};

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
    char *log_level; /* "log_level": one of error warn notice info debug; default "info" */
};

struct ss_collector_config {
    char *description;
    char *source;  /* "source": required; 1..64 of [A-Za-z0-9._-] */
    char *dataset; /* "dataset": required; must name a dataset in ss_dataset (checked by loader) */
    char *url;     /* "url": required; http://, https:// or file://. For the API kinds
                      (koha, koha_report, folio) the system's base URL. */
    char *kind;    /* "kind": csv json koha koha_report folio; default "csv" */

    /* "csv": object, optional */
    char csv_delimiter; /* "csv.delimiter": one-character string ("," ";" "\t" "|"), default ',' */
    int csv_header;     /* "csv.header": bool, default true */
    char *csv_columns[SS_CONFIG_MAX_MAP]; /* "csv.columns": array of strings, required when header
                                             is false */
    size_t ncsv_columns;
    int csv_detect_delimiter; /* "csv.detect_delimiter": bool, default false: pick , ; tab or | from
                                 the header line */
    char *csv_encoding;       /* "csv.encoding": utf-8 windows-1252 iso-8859-1; default "utf-8"
                                 (ISO-8859-1 read as Windows-1252) */
    /* "csv.wide": object, optional: one column per period (as some services publish) to one record
     * per period */
    char *wide_value_field;  /* "csv.wide.value_field": required in csv.wide: the dataset field the
                                cells fill, e.g. "visits" */
    char *wide_period_field; /* "csv.wide.period_field": dataset field that gets the period, default
                                "month" */
    struct ss_config_pair *wide_columns; /* "csv.wide.columns": header -> period ("Apr-23":
                                            "2023-04"), as many as the file gives (malloc'd);
                                            absent: every header that reads as a period */
    size_t nwide_columns;
    char **wide_ignore; /* "csv.wide.ignore": array of column names or glob patterns ("Note*") of
                           columns that are neither mapped nor periods and are to be left out
                           without a warning; as many as the file gives (malloc'd) */
    size_t nwide_ignore;

    /* "json": object, optional (kind json) */
    char *json_path; /* "json.path": dotted path to the array of records, e.g. "data.items"; absent:
                        the top level */
    int json_ndjson; /* "json.ndjson": bool, default false: one JSON object per line */

    /* "koha": object (kinds koha and koha_report) */
    char *koha_resource; /* "koha.resource": libraries checkouts checkouts_history items
                            patron_categories item_types */
    long
        koha_report_id; /* "koha.report_id": 0..100000000, default 0 (kind koha_report needs one) */
    long koha_per_page; /* "koha.per_page": 1..1000, default 100 */
    long koha_max_report_rows;     /* "koha.max_report_rows": 1..100000000, default 10: the Koha
                                      instance's SvcMaxReportRows; a report answering that many rows
                                      was cut short by Koha */
    char *koha_auth;               /* "koha.auth": oauth2 basic; default "oauth2" */
    char *koha_client_id;          /* "koha.client_id" (oauth2) */
    char *koha_client_secret_file; /* "koha.client_secret_file" (oauth2) */
    char *koha_username;           /* "koha.username" (basic) */
    char *koha_password_file;      /* "koha.password_file" (basic) */
    char *koha_query;              /* "koha.query": extra q= filter, a JSON object as text */
    char *koha_since_field;        /* "koha.since_field": field for the updated-since cursor, e.g.
                                      "updated_on" */

    /* "folio": object (kind folio) */
    char *folio_tenant;        /* "folio.tenant": X-Okapi-Tenant */
    char *folio_username;      /* "folio.username" */
    char *folio_password_file; /* "folio.password_file" */
    char *folio_resource;      /* "folio.resource": loans service_points items users */
    long folio_limit;          /* "folio.limit": 1..10000, default 1000 */
    char *folio_query;         /* "folio.query": extra CQL, ANDed with the paging clause */

    /* "privacy": object, optional */
    char *hmac_key_file;    /* "privacy.hmac_key_file": patron identifiers become HMAC-SHA256 under
                               this key; absent: they are dropped */
    char *lsoa_lookup_file; /* "privacy.lsoa_lookup_file": CSV "postcode,lsoa" (an extract of the
                               ONS postcode directory) for the postcode_lsoa transform */

    /* "value_maps": object of field -> {source value -> core value}, optional */
    struct ss_config_valmap value_maps[SS_CONFIG_MAX_MAP];
    size_t nvalue_maps;
    /* "transforms": object of field -> "age_band" | "postcode_district" | "upper" | "lower",
     * optional */
    struct ss_config_pair transforms[SS_CONFIG_MAX_MAP];
    size_t ntransforms;

    /* "mapping": object of dataset field -> source column name, optional.
     * "constants": object of dataset field -> fixed string value, optional.
     * Keys are checked against the dataset's fields by the loader. */
    struct ss_config_pair mapping[SS_CONFIG_MAX_MAP];
    size_t nmapping;
    struct ss_config_pair constants[SS_CONFIG_MAX_MAP];
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
    long batch_max_bytes;    /* "batch.max_bytes": 4096..268435456, default 16777216 */
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
    struct ss_config_pair
        http_headers[SS_CONFIG_MAX_MAP]; /* "http.headers": extra request headers */
    size_t nhttp_headers;

    long max_field_bytes;  /* "limits.max_field_bytes": 16..16777216, default 65536 */
    long max_record_bytes; /* "limits.max_record_bytes": 256..268435456, default 1048576 */
    long max_fields;       /* "limits.max_fields": 1..100000, default 16384 */

    long interval_s; /* "interval_s": 0..31536000, default 0 (run once then exit even without
                        --once) */
    int allow_empty; /* "allow_empty": bool, default false: an export with no records (an empty
                        body, or a header and no rows) is a normal outcome, not exit status 6 */
    char *log_level; /* "log_level": as for the daemon */
};

/* Both return 0, or -1 with a message in err ("file:line:col: \"path\": what"). */
int ss_daemon_config_load(const char *path, struct ss_daemon_config *cfg, char *err, size_t errlen);
void ss_daemon_config_free(struct ss_daemon_config *cfg);
int ss_collector_config_load(const char *path, struct ss_collector_config *cfg, char *err,
                             size_t errlen);
void ss_collector_config_free(struct ss_collector_config *cfg);

/* The transport rule both programs apply before they bind or connect: an
 * ipc:// endpoint is always allowed (file permissions protect it); a tcp://
 * endpoint needs CURVE (curve != 0) unless insecure is set and its host is
 * loopback (127.0.0.0/8, ::1, localhost); for a collector (daemon == 0)
 * plain TCP is allowed to loopback without insecure. Other transports are
 * refused. Returns 0, or -1 with what to do in err. */
int ss_config_transport_check(const char *endpoint, int daemon, int curve, int insecure, char *err,
                              size_t errlen);
/* 1 if a tcp:// endpoint's host is a loopback address or "localhost". */
int ss_config_endpoint_loopback(const char *endpoint);

/* Guesses which kind a file is (by its keys: "listen" => daemon, "source" =>
 * collector) and validates it; for `shelfsync check-config`. Returns 0 or -1
 * with the message in err; *kind is set to "daemon" or "collector" when known. */
int ss_config_check(const char *path, const char **kind, char *err, size_t errlen);

#endif
