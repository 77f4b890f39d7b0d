/* ss_export: one authority's data of one dataset as the public library
 * open-data CSV (the LibrariesHacked schemas, current versions), and the
 * Frictionless Data Package that describes it.
 *
 * What each published column is, and which stored column it comes from, is
 * one table (ss_export.c): the published header (the schema's template, in
 * order), the Table Schema type, format and constraints, and the dataset
 * field it is written from (by name: ss_dataset.c's definitions give the
 * stored column, and the code lists give the enums). The same table writes
 * the CSV's header, each row's SQL and the datapackage's embedded schema.
 *
 * The rules (docs/publishing.md): the authority is written as its name in
 * ref.authority (the schema's "Local authority"); dates ISO 8601; yes/no as
 * Yes/No; a membership count withheld at the source (members_suppressed),
 * or below the schema's threshold of 5, is written x; only the current
 * version of a service point; rows in the order of the dataset's natural
 * key (text compared bytewise), so the same data gives the same bytes. A
 * row the current schema cannot say (a loans count over a period that is
 * not one calendar month, a count for the whole authority where the schema
 * wants a library) is never bent to fit: the export fails and says how many
 * and the first.
 *
 * Reads only core and ref: the analyst role is enough. Every function
 * returns 0, or a negative code with err.
 */
#ifndef SS_EXPORT_H
#define SS_EXPORT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"

struct ss_export_opts {
    const char *dataset;   /* the published dataset: loans, events, ... */
    const char *authority; /* GSS code */
    const char *from, *to; /* YYYY-MM-DD, inclusive, or NULL: periods inside them */
    int allow_empty;       /* an empty selection is not an error */
};

/* What an export found, before (ss_export_stat) or after writing it. */
struct ss_export_info {
    char authority_name[256];
    long long rows;
    char first[11], last[11]; /* the first and last day the rows cover; "" when none */
    int64_t last_change;      /* max(loaded_at) of the rows, Unix seconds; 0 when none */
    unsigned long long bytes; /* of the CSV written */
    char sha256[65];          /* of the CSV written, lower-case hex */
};

/* Receives the CSV's bytes in order: 0, or a negative code to stop. */
typedef int (*ss_export_sink)(void *arg, const char *p, size_t n);

/* 1 if name is a dataset that can be exported. */
int ss_export_known(const char *name);
/* The datasets that can be exported, comma separated, for messages. */
const char *ss_export_names(void);
/* The file name an export is published under: DATASET_GSS.csv. */
void ss_export_file_name(const struct ss_export_opts *o, char *out, size_t cap);

/* Checks the options (known dataset, authority in ref.authority, dates) and
 * counts what they select: info's authority_name, rows, first, last,
 * last_change. A selection with a row the schema cannot say fails here. */
int ss_export_stat(PGconn *conn, const struct ss_export_opts *o, struct ss_export_info *info,
                   char *err, size_t errlen);

/* ss_export_stat, then the CSV (header line, then the rows, LF line ends)
 * to sink; info gets bytes and sha256 too. An empty selection fails unless
 * o->allow_empty (then only the header). */
int ss_export_csv(PGconn *conn, const struct ss_export_opts *o, ss_export_sink sink, void *arg,
                  struct ss_export_info *info, char *err, size_t errlen);

/* The licences --licence takes, comma separated. */
const char *ss_export_licences(void);
/* 1 if id is one of them. */
int ss_export_licence_known(const char *id);

/* The datapackage.json of an export already written (info complete):
 * name, title, licence (id: ss_export_licences; NULL: OGL-UK-3.0), sources,
 * temporal coverage, and the one resource (path csv_path, format, encoding,
 * bytes, hash, the embedded Table Schema). */
int ss_export_datapackage(const struct ss_export_opts *o, const struct ss_export_info *info,
                          const char *licence, const char *csv_path, struct ss_buf *out, char *err,
                          size_t errlen);

/* Makes conn read-only for what follows (default_transaction_read_only,
 * application_name app) and takes the role shelfsync_analyst (read-only on
 * core and ref) when the login may: *analyst 1 then, else 0. */
int ss_export_readonly(PGconn *conn, const char *app, int *analyst, char *err, size_t errlen);

/* An index of what can be exported, as JSON: per dataset and authority, the
 * rows, the last change and the paths under prefix ("/export"). */
int ss_export_index(PGconn *conn, const char *prefix, struct ss_buf *out, char *err, size_t errlen);

/* SHA-256 of n bytes as 64 lower-case hex digits and a NUL. 0, or
 * SS_ENOMEM. */
int ss_export_sha256_hex(const void *p, size_t n, char out[65]);

/* Formats t as an HTTP date (RFC 9110 IMF-fixdate) into out[30]. */
void ss_export_http_date(int64_t t, char out[30]);
/* Reads an HTTP date (IMF-fixdate): 0 with *t, or SS_EINVAL. */
int ss_export_parse_http_date(const char *s, int64_t *t);

#endif
