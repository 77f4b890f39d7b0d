/* ss_csv: a streaming (push) CSV parser per RFC 4180, for exports of any size.
 *
 * The caller feeds bytes as they arrive (ss_csv_feed) in chunks of any size,
 * split anywhere (inside a quote, between CR and LF, inside a UTF-8 BOM);
 * each complete record is handed to the callback at once and is valid only
 * during the call. Memory is bounded: one record buffer of at most
 * max_record bytes and at most max_fields fields.
 *
 * Accepted: quoted fields holding delimiters, doubled quotes and line breaks;
 * LF, CRLF and CR-only line ends (mixed in one file too); a UTF-8 byte-order
 * mark at the very start (dropped); a final record with no line end. Blank
 * lines produce no record. The delimiter is configurable (',' ';' '\t' ...).
 *
 * Bad input never stops the stream: a record that breaks a bound (field longer
 * than max_field, record longer than max_record, more than max_fields fields)
 * or that is malformed (text after a closing quote) is handed to the callback
 * with rec->error set to a message and its fields as far as they were read;
 * parsing resumes at the next record. An unterminated quote at end of input is
 * reported by ss_csv_finish() the same way (a record with error set).
 *
 * Lines and columns are 1-based and count physical lines, so a message can
 * say "line 1042".
 */
#ifndef SS_CSV_H
#define SS_CSV_H

#include <stddef.h>

#include "ss_buf.h"

struct ss_csv;

struct ss_csv_opts {
    char delimiter;    /* default ',' */
    size_t max_field;  /* bytes; default 65536 */
    size_t max_record; /* bytes of all fields; default 1 MiB */
    size_t max_fields; /* default 16384 */
};

struct ss_csv_record {
    size_t nfields;
    const char *const *fields; /* each NUL-terminated, unquoted */
    const size_t *lens;        /* byte length of each field */
    unsigned long line;        /* physical line where the record starts */
    unsigned long end_line;    /* physical line where it ends */
    unsigned long number;      /* 1-based record number, blank lines not counted */
    const char *error; /* NULL, or why this record is bad ("field 3 longer than 65536 bytes") */
};

/* Return 0 to go on; any other value stops parsing and is returned by
 * ss_csv_feed()/ss_csv_finish(). */
typedef int (*ss_csv_record_cb)(void *ud, const struct ss_csv_record *rec);

/* opts may be NULL for defaults; zero members take defaults. Returns NULL on
 * allocation failure. */
struct ss_csv *ss_csv_new(const struct ss_csv_opts *opts, ss_csv_record_cb cb, void *ud);
void ss_csv_free(struct ss_csv *csv);

/* Returns 0, a non-zero value returned by the callback, or -ENOMEM. */
int ss_csv_feed(struct ss_csv *csv, const char *buf, size_t len);
/* Ends the input: delivers a final record with no line end, reports an
 * unterminated quote. Same returns as ss_csv_feed(). */
int ss_csv_finish(struct ss_csv *csv);

/* Totals so far. */
unsigned long ss_csv_records(const struct ss_csv *csv);
/* The physical line the next byte fed lands on (1-based). */
unsigned long ss_csv_line(const struct ss_csv *csv);
/* Appends the present values (vals[i] NULL: absent, left out) as one CSV
 * line without a line end, quoting a value that holds a comma, a quote or a
 * line break: the quarantine's raw text, on both sides of the wire. 0 or a
 * negative errno from ss_buf. */
int ss_csv_join(struct ss_buf *out, const char *const *vals, const size_t *lens, size_t n);
unsigned long long ss_csv_bytes(const struct ss_csv *csv);

#endif
