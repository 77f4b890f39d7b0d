/* ss_serve: see ss_serve.h. */
#include "ss_serve.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ss_err.h"
#include "ss_export.h"
#include "ss_httpd.h"
#include "ss_log.h"
#include "ss_signal.h"
#include "ss_text.h"
#include "ss_warehouse.h"

#define SERVE_APP "shelfsync serve"
#define PREFIX "/export"

struct serve {
    const struct ss_daemon_config *cfg;
    const char *licence;
    struct ss_wh *wh;
    struct ss_buf tmp; /* the CSV, when the package is what was asked */
};

static int reconnect(struct serve *s, char *err, size_t errlen)
{
    int analyst;
    ss_wh_free(s->wh);
    s->wh = ss_wh_connect(s->cfg->db_conninfo, s->cfg->db_password_file, err, errlen);
    if (!s->wh)
        return SS_ERETRY;
    int rc = ss_export_readonly(ss_wh_conn(s->wh), SERVE_APP, &analyst, err, errlen);
    if (rc < 0) {
        ss_wh_free(s->wh);
        s->wh = NULL;
    }
    return rc < 0 ? rc : analyst;
}

int ss_serve_etag_listed(const char *list, const char *etag)
{
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *v = p;
        ss_trim(&v, &n);
        if (n >= 2 && strncmp(v, "W/", 2) == 0) {
            v += 2;
            n -= 2;
        }
        if ((n == 1 && *v == '*') || (n == strlen(etag) && memcmp(v, etag, n) == 0))
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static int not_modified(const struct ss_http_request *req, const char *etag, int64_t changed)
{
    int64_t since;
    if (req->if_none_match[0])
        return ss_serve_etag_listed(req->if_none_match, etag);
    if (req->if_modified_since[0] && ss_export_parse_http_date(req->if_modified_since, &since) == 0)
        return changed <= since;
    return 0;
}

static int to_buf(void *arg, const char *p, size_t n)
{
    return ss_buf_add(arg, p, n);
}

int ss_serve_route(const char *path, char *dataset, char *gss, size_t cap)
{
    char rest[SS_HTTPD_PATH_MAX], file[SS_HTTPD_PATH_MAX], expect[SS_HTTPD_PATH_MAX * 2];
    if (strncmp(path, PREFIX "/", strlen(PREFIX) + 1) != 0)
        return -1;
    const char *p = path + strlen(PREFIX) + 1;
    const char *slash = strchr(p, '/');
    if (!slash || slash == p || (size_t)(slash - p) >= cap)
        return -1;
    for (const char *c = p; c < slash; c++)
        if (!islower((unsigned char)*c) && *c != '_')
            return -1;
    memcpy(dataset, p, (size_t)(slash - p));
    dataset[slash - p] = '\0';
    snprintf(rest, sizeof(rest), "%s", slash + 1);
    char *dot = strstr(rest, ".csv");
    char *sl = strchr(rest, '/');
    if (!sl && dot && dot[4] == '\0') {
        *dot = '\0';
    } else if (sl) {
        *sl = '\0';
        snprintf(file, sizeof(file), "%s", sl + 1);
    } else {
        return -1;
    }
    if (strlen(rest) == 0 || strlen(rest) >= cap)
        return -1;
    for (const char *c = rest; *c; c++)
        if (!isalnum((unsigned char)*c))
            return -1;
    snprintf(gss, cap, "%s", rest);
    if (!sl)
        return 0;
    if (strcmp(file, "datapackage.json") == 0)
        return 1;
    snprintf(expect, sizeof(expect), "%s_%s.csv", dataset, gss);
    return strcmp(file, expect) == 0 ? 0 : -1;
}

static int answer(struct serve *s, const struct ss_http_request *req, struct ss_buf *body,
                  const char **ctype, struct ss_buf *headers, char *err, size_t errlen)
{
    char dataset[64], gss[64], etag[80], date[30], hash[65], name[128];
    struct ss_export_info info;
    int rc;
    if (strcmp(req->path, PREFIX) == 0 || strcmp(req->path, PREFIX "/") == 0 ||
        strcmp(req->path, PREFIX "/index.json") == 0) {
        *ctype = "application/json";
        rc = ss_export_index(ss_wh_conn(s->wh), PREFIX, body, err, errlen);
        return rc < 0 ? rc : 200;
    }
    int kind = ss_serve_route(req->path, dataset, gss, sizeof(dataset));
    if (kind < 0) {
        ss_buf_adds(body, "not found: try " PREFIX "/ (the index), " PREFIX
                          "/DATASET/GSS.csv or " PREFIX "/DATASET/GSS/datapackage.json\n");
        return 404;
    }
    struct ss_export_opts o = {.dataset = dataset, .authority = gss};
    struct ss_buf *csv = kind ? &s->tmp : body;
    ss_buf_reset(&s->tmp);
    rc = ss_export_csv(ss_wh_conn(s->wh), &o, to_buf, csv, &info, err, errlen);
    if (rc == SS_E2BIG) {
        snprintf(err, errlen,
                 "%s of %s is larger than this server sends (%u MiB): use shelfsync export "
                 "--out FILE",
                 dataset, gss, SS_HTTPD_BODY_MAX >> 20);
        return SS_E2BIG;
    }
    if (rc < 0)
        return rc;
    if (kind) {
        ss_export_file_name(&o, name, sizeof(name));
        rc = ss_export_datapackage(&o, &info, s->licence, name, body, err, errlen);
        if (rc < 0)
            return rc;
        *ctype = "application/json";
    } else {
        *ctype = "text/csv; charset=utf-8";
    }
    if (ss_export_sha256_hex(body->data, body->len, hash) < 0)
        return SS_ENOMEM;
    snprintf(etag, sizeof(etag), "\"%.64s\"", hash);
    ss_export_http_date(info.last_change, date);
    ss_buf_printf(headers, "ETag: %s\r\nLast-Modified: %s\r\nCache-Control: no-cache\r\n", etag,
                  date);
    if (!kind) {
        ss_export_file_name(&o, name, sizeof(name));
        ss_buf_printf(headers, "Content-Disposition: inline; filename=\"%s\"\r\n", name);
    }
    return not_modified(req, etag, info.last_change) ? 304 : 200;
}

static int handler(void *arg, const struct ss_http_request *req, struct ss_buf *body,
                   const char **ctype, struct ss_buf *headers)
{
    struct serve *s = arg;
    char err[2048] = "";
    int rc = SS_ERETRY;
    for (int attempt = 0; attempt < 2 && rc == SS_ERETRY; attempt++) {
        if ((!s->wh || !ss_wh_ok(s->wh)) && (rc = reconnect(s, err, sizeof(err))) < 0)
            continue;
        ss_buf_reset(body);
        ss_buf_reset(headers);
        err[0] = '\0';
        rc = answer(s, req, body, ctype, headers, err, sizeof(err));
        if (rc == SS_ERETRY) {
            ss_wh_free(s->wh);
            s->wh = NULL;
        }
    }
    if (rc >= 0)
        return rc;
    ss_buf_reset(body);
    ss_buf_reset(headers);
    *ctype = "text/plain; charset=utf-8";
    ss_buf_printf(body, "%s\n", err);
    if (rc == SS_ERETRY || rc == SS_E2BIG) {
        ss_warn("GET %s: %s", req->path, err);
        return 503;
    }
    return rc == SS_EINVAL ? 404 : 500;
}

int ss_serve_run(const struct ss_daemon_config *cfg, const char *listen, const char *licence,
                 char *err, size_t errlen)
{
    static volatile int stop, reload;
    struct serve s = {.cfg = cfg, .licence = licence};
    int rc = 0;
    if (licence && !ss_export_licence_known(licence)) {
        snprintf(err, errlen, "unknown licence \"%s\": expected one of %s", licence,
                 ss_export_licences());
        return SS_EINVAL;
    }
    ss_buf_init(&s.tmp, SS_HTTPD_BODY_MAX);
    int analyst = reconnect(&s, err, errlen);
    if (analyst < 0) {
        rc = analyst;
        goto out;
    }
    ss_signal_setup(&stop, &reload);
    struct ss_httpd *h = ss_httpd_start(listen, handler, &s, err, errlen);
    if (!h) {
        rc = SS_EINVAL;
        goto out;
    }
    ss_notice("serving exports on http://%s%s/ (read-only%s)", listen, PREFIX,
              analyst ? ", as shelfsync_analyst" : "");
    while (!stop)
        usleep(200 * 1000);
    ss_httpd_stop(h);
    ss_notice("stopped");
out:
    ss_wh_free(s.wh);
    ss_buf_free(&s.tmp);
    return rc;
}
