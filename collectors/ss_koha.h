/* ss_koha: what the two Koha source kinds share -- the "koha" section of a
 * collector config (its options and their table), and a small client for
 * one Koha instance: the base URL and origin, authentication (OAuth2 client
 * credentials with token renewal, or Basic, for the REST API), one GET into
 * a bounded body with the Link and X-Total-Count headers read, and handing
 * records to the sink.
 *
 * src_koha.c (kind "koha", the REST API) and src_koha_report.c (kind
 * "koha_report", saved SQL reports) each own their state and embed a
 * struct ss_koha. Functions return 0 or a negative SS_E* code unless said
 * otherwise; the fetch classifies its result as the kinds' cb_run does.
 */
#ifndef SS_KOHA_H
#define SS_KOHA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_config.h"
#include "ss_source.h"

/* A page body is held whole (jansson parses it): SS_SOURCE_MAX_PAGE_BYTES. */
#define SS_KOHA_MAX_PAGE_BYTES SS_SOURCE_MAX_PAGE_BYTES
#define SS_KOHA_MAX_URL 16384

/* The "koha" object of a collector config (kinds koha and koha_report). */
struct ss_koha_options {
    char *resource;           /* "koha.resource": libraries checkouts checkouts_history items
                                 patron_categories item_types */
    long report_id;           /* "koha.report_id": 0..100000000, default 0 (kind koha_report needs
                                 one) */
    long per_page;            /* "koha.per_page": 1..1000, default 100 */
    long max_report_rows;     /* "koha.max_report_rows": 1..100000000, default 10: the Koha
                                 instance's SvcMaxReportRows; a report answering that many rows
                                 was cut short by Koha */
    char *auth;               /* "koha.auth": oauth2 basic; default "oauth2" */
    char *client_id;          /* "koha.client_id" (oauth2) */
    char *client_secret_file; /* "koha.client_secret_file" (oauth2) */
    char *username;           /* "koha.username" (basic) */
    char *password_file;      /* "koha.password_file" (basic) */
    char *query;              /* "koha.query": extra q= filter, a JSON object as text */
    char *since_field;        /* "koha.since_field": field for the updated-since cursor, e.g.
                                 "updated_on" */
};

/* Its table; both Koha kinds name it as their section. */
extern const struct ss_config_section ss_koha_section;

static inline const struct ss_koha_options *ss_koha_options(const struct ss_collector_config *cfg)
{
    return cfg->options;
}

struct ss_koha {
    const struct ss_source_env *env;
    const struct ss_collector_config *cfg;
    int report;        /* koha_report: http.auth signs requests, not koha.auth */
    char *base;        /* the configured URL without a trailing / or /api/v1 */
    char origin[1024]; /* scheme://host[:port] of base */
    int oauth2;
    char *secret;      /* client secret or password; wiped on free */
    char *auth_header; /* "Authorization: ..."; wiped on free */
    int64_t token_renew_ms;

    /* one response */
    struct ss_buf body;
    int body_too_big;
    int have_link;
    char next[SS_KOHA_MAX_URL]; /* Link rel="next", "" when none */
    int have_total;
    long long total;

    /* one run */
    const struct ss_record_sink *sink;
    unsigned long long bytes;
    unsigned long where;
    int sink_stop;
};

/* Sets up k for env (the base URL must be http:// or https://). 0, or
 * SS_EINVAL / SS_ENOMEM with err; ss_koha_free releases it either way. */
int ss_koha_init(struct ss_koha *k, const struct ss_source_env *env, int report, char *err,
                 size_t errlen);
void ss_koha_free(struct ss_koha *k);

/* GET url into k->body, authenticated (embed: an x-koha-embed value, or
 * NULL). A 401 on an OAuth2 token gets a new token and one more try. */
int ss_koha_fetch(struct ss_koha *k, const char *url, const char *embed, long *status, char *err,
                  size_t errlen);
/* 1 if url has the same scheme, host and port as the configured URL. */
int ss_koha_same_origin(const struct ss_koha *k, const char *url);

/* An RFC 8288 Link header value (v, n bytes: "<url>; rel="next", <url>;
 * rel="first""): the URL of the last link whose rel names "next" into next
 * (if it fits nextlen with its NUL, and holds no control character).
 * Returns 1 when one was found, else 0. */
int ss_koha_link_next(const char *v, size_t n, char *next, size_t nextlen);

/* The start of a server's error body, on one line, secret masked. */
void ss_koha_shown_body(const char *body, const char *secret, char *out, size_t outlen);
/* A JSON scalar as text into b (reset first). 1: absent (null or missing),
 * 0: text, SS_EINVAL: not a scalar (or SS_E2BIG past b's bound). */
int ss_koha_scalar_text(json_t *v, struct ss_buf *b);
/* The message for a body that is not an array: Koha's {"error": ...}, or not
 * JSON (doc NULL, jerr says why). */
void ss_koha_not_an_array(const struct ss_koha *k, const char *url, json_t *doc,
                          const json_error_t *jerr, char *err, size_t errlen);

/* A record, or a record the kind could not read, to the sink (numbered in
 * k->where); a sink asking to stop sets k->sink_stop. Both return 0. */
int ss_koha_hand_over(struct ss_koha *k, const char *const *vals, const size_t *lens, size_t n);
int ss_koha_reject(struct ss_koha *k, const char *why, const char *const *vals, const size_t *lens,
                   size_t n);

/* Zeroes a NUL-terminated secret, then frees it. */
void ss_koha_wipe_free(char *p);

#endif
