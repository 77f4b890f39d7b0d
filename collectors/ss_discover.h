/* ss_discover: `shelfsync-collect --discover URL`, a collector config
 * proposed from the head of an export (Airbyte's "discover").
 *
 * The head (at most SS_DISCOVER_MAX_BYTES, through ss_http: http(s):// and
 * file://) is looked at in this order, each step a function of its own so
 * it can be tested and fuzzed on bytes:
 *   - the encoding (ss_discover_encoding): a byte-order mark (UTF-8,
 *     UTF-16LE/BE), UTF-16 without one (NUL bytes at every other offset),
 *     valid UTF-8, else Windows-1252; NUL or control bytes otherwise, or a
 *     gzip/zip signature, are binary: nothing usable;
 *   - the text (converted to UTF-8 by ss_transcode): empty, HTML
 *     (ss_http_sniff_html: a login or error page; nothing usable), JSON (its
 *     first character '[' or '{'), else CSV (ss_discover_format);
 *   - CSV: the delimiter (ss_discover_delimiter: , ; tab or |, the one whose
 *     count per line is the most consistent), then the rows
 *     (ss_csv), whether the first is a header (ss_discover_header), period
 *     columns (ss_wide_parse_period, two or more make a wide file);
 *     JSON: the array of records (top level, or the first member holding an
 *     array of objects, dotted) and the keys of its records;
 *   - the dataset: the one given, else the one whose published headers
 *     (ss_dataset) match the most columns (ss_discover_guess_dataset);
 *   - each column to a field (ss_discover_header_matches: published header
 *     or field name, ignoring case, spaces and punctuation); a file with no
 *     header is mapped by position and value type, in the dataset's field
 *     order (the published column order), and says so.
 * The proposal (ss_discover_config_json) is a complete collector config
 * that check-config accepts: what is detected, the mapping, the columns
 * nothing maps (in "description" members, or csv.wide.ignore for a wide
 * file), placeholders for the required fields no column gives (constants)
 * and for source, state_dir and daemon -- each placeholder a valid value,
 * each named in a description and in the summary (ss_discover_summary).
 *
 * The caller owns struct ss_discover (ss_discover_analyse fills it,
 * ss_discover_free frees what it holds).
 */
#ifndef SS_DISCOVER_H
#define SS_DISCOVER_H

#include <stddef.h>
#include <stdio.h>

#include "ss_dataset.h"

#define SS_DISCOVER_MAX_BYTES (1024 * 1024) /* the head fetched */
#define SS_DISCOVER_MAX_ROWS 1000           /* rows sampled */
#define SS_DISCOVER_MAX_COLUMNS 1024

enum ss_discover_format {
    SS_DISCOVER_EMPTY = 0,
    SS_DISCOVER_CSV,
    SS_DISCOVER_JSON,
    SS_DISCOVER_HTML,
};

struct ss_discover {
    /* what was read */
    size_t nbytes;
    int truncated; /* the export goes on past the head */
    /* the encoding: the csv.encoding value ("utf-8", "utf-16", "utf-16le",
     * "windows-1252"), the byte-order mark that says so (or NULL) */
    const char *encoding;
    const char *bom;
    enum ss_discover_format format;
    /* CSV */
    char delimiter;
    int header;
    /* JSON: the dotted path of the array of records, "" for the top level;
     * ndjson: one object a line */
    char json_path[256];
    int ndjson;
    /* the columns: header names (or, without a header, the names given to
     * them), and what each is */
    size_t ncols;
    char **cols;
    int *field;      /* dataset field index, or -1 */
    int *period;     /* 1: a period column of a wide file */
    unsigned *kinds; /* what the sampled values look like (numbers, dates, ...: a bit each) */
    size_t nperiod;  /* period columns (a wide file: 2 or more) */
    int all_months;  /* every period column is one calendar month */
    size_t rows;     /* data rows sampled */
    /* the dataset and how it was chosen */
    const struct ss_dataset *ds;
    int ds_given;
    size_t ds_score; /* columns it matched by name */
    /* wide: the fields the cells and the periods fill, or NULL */
    const char *value_field;
    const char *period_field;
};

/* The encoding of raw bytes, from the head of the export: sets *encoding
 * (the csv.encoding value) and *bom (NULL when none). Returns 0, or
 * SS_EINVAL with why set when the bytes are binary (why: what they may be). */
int ss_discover_encoding(const unsigned char *b, size_t n, const char **encoding, const char **bom,
                         char *why, size_t whylen);

/* What UTF-8 text is: SS_DISCOVER_EMPTY (only blanks), _HTML (why: how it
 * shows), _JSON or _CSV. content_type may be NULL or "". */
enum ss_discover_format ss_discover_format(const char *text, size_t n, const char *content_type,
                                           char *why, size_t whylen);

/* The delimiter of CSV text (, ; tab |): the candidate that appears in the
 * first line and most often the same number of times in the lines after it
 * (quoted text not counted); ',' when none does. */
char ss_discover_delimiter(const char *text, size_t n);

/* 1 when header (a cell of the first row) names field f: its published
 * headers or its name, ignoring ASCII case and everything but letters and
 * digits ("Co-located" and "colocated", "Library name" and "LIBRARY_NAME"). */
int ss_discover_header_matches(const char *header, size_t len, const struct ss_field *f);

/* Whether the first row is a header, from up to nrows rows of ncols cells
 * (rows[r][c], NUL-terminated): 0 when a cell of it is a number or a date,
 * or when it holds a period and a cell in the same column below holds one
 * too; else 1. */
int ss_discover_header(char *const *const *rows, size_t nrows, size_t ncols);

/* The dataset whose fields' published headers or names match the most of
 * the n names (each field counted once; a tie goes to the dataset with the
 * larger share of its fields matched); *score the count. NULL when none
 * matches any. */
const struct ss_dataset *ss_discover_guess_dataset(const char *const *names, size_t n,
                                                   size_t *score);

/* The whole detection on the head of an export (raw bytes; truncated: the
 * export goes on). dataset: the --dataset name or NULL. Returns 0 with d
 * filled (free with ss_discover_free), or a negative code with err saying
 * why nothing usable was found (url, redacted, names it): SS_EINVAL (HTML,
 * empty, binary, no columns, an unknown dataset, no dataset matched, JSON
 * not understood), SS_ENOMEM. */
int ss_discover_analyse(const char *raw, size_t n, int truncated, const char *content_type,
                        const char *url, const char *dataset, struct ss_discover *d, char *err,
                        size_t errlen);
void ss_discover_free(struct ss_discover *d);

/* The proposed config as JSON text (malloc'd, the caller frees), NULL when
 * out of memory. */
char *ss_discover_config_json(const struct ss_discover *d, const char *url);

/* The human summary: what was detected, what needs the user's attention. */
void ss_discover_summary(const struct ss_discover *d, const char *url, FILE *f);

/* `--discover URL [--dataset NAME] [--out FILE]`: fetch, analyse, print
 * the config to stdout (or FILE) and the summary to stderr. Returns the
 * exit status: 0 a config was written; 1 a usage or setup error (an unknown
 * dataset, FILE not writable); 2 nothing usable (not fetched, HTML, empty,
 * binary, no columns, no dataset matched). */
int ss_discover_main(const char *url, const char *dataset, const char *out);

/* 1 when the command line asks for --discover (then ss_discover_cli
 * parses it: --discover URL, --dataset NAME, --out FILE and nothing else,
 * and returns ss_discover_main's exit status, or 1 for a usage error). */
int ss_discover_wanted(int argc, char **argv);
int ss_discover_cli(int argc, char **argv);

#endif
