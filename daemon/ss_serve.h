/* ss_serve: `shelfsync serve`, the published exports over HTTP, on the
 * daemon's own small server (ss_httpd: one bounded request at a time, in a
 * thread of its own, GET and HEAD only).
 *
 *   /export/  (and /export/index.json)            what can be fetched (JSON)
 *   /export/DATASET/GSS.csv                       the CSV (ss_export_csv)
 *   /export/DATASET/GSS/DATASET_GSS.csv           the same, where the package points
 *   /export/DATASET/GSS/datapackage.json          its Data Package
 *
 * Each answer carries a strong ETag (the SHA-256 of its body) and
 * Last-Modified (when that authority's rows of that dataset last changed in
 * the warehouse: max(loaded_at)); If-None-Match (first) and
 * If-Modified-Since are answered 304. The connection is read-only
 * (ss_export_readonly: as shelfsync_analyst when the login may), and
 * reopened once when it was lost. A body past SS_HTTPD_BODY_MAX is a 503
 * that says to use `shelfsync export --out`.
 */
#ifndef SS_SERVE_H
#define SS_SERVE_H

#include <stddef.h>

#include "ss_config.h"

/* Serves until SIGTERM or SIGINT: 0, or a negative code with err (the
 * listener or the database could not be opened). licence: for the
 * packages (NULL: OGL-UK-3.0). */
int ss_serve_run(const struct ss_daemon_config *cfg, const char *listen, const char *licence,
                 char *err, size_t errlen);

/* What a path under /export/ names: 1 DATASET/GSS/datapackage.json, 0 the
 * CSV (DATASET/GSS.csv or DATASET/GSS/DATASET_GSS.csv), -1 nothing (a GSS
 * part of other than letters and digits, an empty or too long part, any
 * other file, a path not under /export/). dataset and gss have cap bytes. */
int ss_serve_route(const char *path, char *dataset, char *gss, size_t cap);

/* 1 if an If-None-Match value (a list, W/ prefixes taken off, or "*")
 * names etag. */
int ss_serve_etag_listed(const char *list, const char *etag);

#endif
