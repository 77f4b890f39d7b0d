/* ss_jsonsplit: cuts a JSON export into its records as the bytes arrive.
 *
 * Fed an export in chunks split anywhere, it hands over each element of the
 * array of records as one complete JSON text, without ever holding more
 * than one element: in bounded memory whatever the export's size. It finds
 * the array in one of three ways (struct ss_jsonsplit_opts):
 *   - the document is the array:        [ {...}, {...} ]
 *   - the array is at a dotted path:    {"data": {"total": 3, "items": [ ... ]}}
 *     with path "data.items" (object keys only; keys before and after are
 *     skipped without being held; escaped keys compare by what they mean;
 *     the first array found at the path is used, later ones are checked for
 *     syntax and ignored);
 *   - NDJSON: one value a line, blank lines skipped, CRLF accepted.
 *
 * It keeps only the nesting (one byte a level, at most SS_JSONSPLIT_MAX_DEPTH
 * levels), the string and escape state, the number or literal being read,
 * and how far the current keys match the path -- no DOM. It checks the JSON
 * grammar of every byte (so what it hands over is one well-formed JSON
 * value), but not what the record parser checks anyway: that strings are
 * valid UTF-8, that \u escapes pair their surrogates, that numbers fit,
 * that a string holds no \u0000. Those make a bad record, not a broken
 * stream; the caller's parser (jansson) rejects them one by one.
 *
 * Messages say what and where (byte, line, column), never quote the input:
 * a letter or digit it did not expect is "a letter", "a digit" (a record's
 * content may be personal); punctuation and control bytes are named.
 *
 * Elements are numbered from 1 in document order. An element longer than
 * max_element bytes is handed over as an error element (its first bytes,
 * and why) and skipped; splitting goes on after it. In NDJSON a line that is
 * not one JSON value (a syntax error, two values, a value that goes on to
 * the next line) is an error element too: the next line starts afresh.
 * In the array modes a syntax error (unbalanced brackets, garbage between
 * elements, anything after the document) has no safe place to resume, so
 * it stops the split: ss_jsonsplit_feed() returns SS_EINVAL and
 * ss_jsonsplit_error() says what and where (byte offset from 0, line and
 * column from 1). So does an input that ends early (ss_jsonsplit_finish()):
 * inside a value, before the document, or without the array at the path.
 * Every element handed over before the error is complete and good.
 *
 * The caller owns the splitter (ss_jsonsplit_new / ss_jsonsplit_free); an
 * element's text is valid only during the callback.
 */
#ifndef SS_JSONSPLIT_H
#define SS_JSONSPLIT_H

#include <stddef.h>

#include "ss_err.h"

#define SS_JSONSPLIT_MAX_DEPTH 512 /* nesting levels, path included (jansson allows 2048) */
#define SS_JSONSPLIT_KEEP 256      /* bytes kept of an element that is skipped */

struct ss_jsonsplit_opts {
    const char *path;   /* dotted path of the array ("data.items"); NULL or "": the top level */
    int ndjson;         /* one value a line (path is then ignored) */
    size_t max_element; /* bytes an element may have; 0: SIZE_MAX */
};

struct ss_jsonsplit_elem {
    const char *text; /* the element, NUL-terminated; for an error element its first bytes */
    size_t len;
    unsigned long index;       /* 1, 2, ... in document order, error elements included */
    unsigned long line;        /* the line it starts on, from 1 */
    unsigned long long offset; /* the byte it starts at, from 0 */
    const char *error;         /* NULL, or why the element is skipped */
};

/* Return 0 to go on, non-zero to stop. */
typedef int (*ss_jsonsplit_cb)(void *ud, const struct ss_jsonsplit_elem *e);

struct ss_jsonsplit;

/* NULL when out of memory or the path has an empty component ("a..b"). */
struct ss_jsonsplit *ss_jsonsplit_new(const struct ss_jsonsplit_opts *opts, ss_jsonsplit_cb cb,
                                      void *ud);
void ss_jsonsplit_free(struct ss_jsonsplit *s);

/* 0; SS_ESTOPPED when the callback returned non-zero; SS_EINVAL on
 * malformed input, SS_ENOMEM out of memory (ss_jsonsplit_error() says what
 * and where). After a failure or SS_ESTOPPED every later call returns the
 * same. */
int ss_jsonsplit_feed(struct ss_jsonsplit *s, const char *data, size_t len);
/* The input is complete: hands over a last NDJSON line without a newline,
 * and fails when the document or its array is not finished or not found. */
int ss_jsonsplit_finish(struct ss_jsonsplit *s);

/* Why the split failed, e.g. "byte 1042 (line 7, column 3): expected ',' or
 * ']' after a record, found 'x'"; "" when it has not. */
const char *ss_jsonsplit_error(const struct ss_jsonsplit *s);

/* Elements handed over so far, error elements included. */
unsigned long ss_jsonsplit_count(const struct ss_jsonsplit *s);
/* The line (from 1) the next byte fed lands on. */
unsigned long ss_jsonsplit_line(const struct ss_jsonsplit *s);

#endif
