/* ss_jsonsplit: see ss_jsonsplit.h.
 *
 * One state machine over every byte. Element bytes are not copied one by
 * one: the splitter remembers where the current element starts in the chunk
 * (span) and copies the run when the element ends or the chunk does.
 */
#include "ss_jsonsplit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_buf.h"
#include "ss_text.h"

enum st {
    ST_START,          /* before the document (NDJSON: before the line's value) */
    ST_BOM1,           /* read 0xEF at byte 0 */
    ST_BOM2,           /* read 0xEF 0xBB */
    ST_VALUE,          /* a value is required (after ':' or an array's ',') */
    ST_VALUE_OR_CLOSE, /* after '[' */
    ST_KEY_OR_CLOSE,   /* after '{' */
    ST_KEY,            /* after an object's ',' */
    ST_COLON,          /* after a key */
    ST_NEXT,           /* after a value in a container: ',' or the close */
    ST_STR,            /* in a string (in_key says whether it is a key) */
    ST_ESC,            /* after a backslash */
    ST_UHEX,           /* in the four digits of \u */
    ST_NUM_MINUS,      /* number states, after RFC 8259's grammar */
    ST_NUM_ZERO,
    ST_NUM_INT,
    ST_NUM_DOT,
    ST_NUM_FRAC,
    ST_NUM_E,
    ST_NUM_ESIGN,
    ST_NUM_EXP,
    ST_LIT,      /* in true, false or null */
    ST_END,      /* after the document (NDJSON: after the line's value) */
    ST_SKIPLINE, /* NDJSON: the rest of a line that is not one value */
};

struct ss_jsonsplit {
    ss_jsonsplit_cb cb;
    void *ud;
    int ndjson;
    size_t max;

    /* the path, split at the dots */
    char *path;
    const char *comp[SS_JSONSPLIT_MAX_DEPTH];
    size_t complen[SS_JSONSPLIT_MAX_DEPTH];
    unsigned ncomp;

    /* grammar */
    enum st st;
    char stack[SS_JSONSPLIT_MAX_DEPTH]; /* '{' or '[' for each open container */
    unsigned depth;
    int in_key;
    const char *lit;
    unsigned litpos;
    unsigned nhex;
    uint32_t cp, hi; /* \u value; a high surrogate waiting for its pair (keys only) */

    /* the path: objects at depths 1..path_depth lie on it */
    unsigned path_depth;
    int kcheck, kmatch; /* comparing this key with comp[depth - 1]; still equal */
    size_t kpos;
    int value_match; /* components the next value sits under, or -1: off the path */
    int target_active, target_done;
    unsigned elem_depth;
    char found_other; /* first byte of a non-array value found at the path, or 0 */

    /* the element being read */
    int in_elem, appending, oversize, pending;
    size_t span; /* where its unsaved bytes start in the current chunk */
    struct ss_buf buf;
    unsigned long long elem_off;
    unsigned long elem_line;
    unsigned long count;

    /* where we are */
    unsigned long long off;
    unsigned long line, col;

    int result; /* 0, or what every later call returns (ss_jsonsplit.h) */
    char err[512];
    char why[512]; /* an error element's reason */
};

struct ss_jsonsplit *ss_jsonsplit_new(const struct ss_jsonsplit_opts *opts, ss_jsonsplit_cb cb,
                                      void *ud)
{
    struct ss_jsonsplit *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cb = cb;
    s->ud = ud;
    s->ndjson = opts->ndjson;
    s->max = opts->max_element ? opts->max_element : SIZE_MAX - 1;
    ss_buf_init(&s->buf, s->max);
    s->line = s->col = 1;
    s->value_match = s->ndjson ? -1 : 0;
    if (!s->ndjson && opts->path && opts->path[0]) {
        s->path = strdup(opts->path);
        if (!s->path)
            goto fail;
        /* the path's objects and the array's elements need levels of their own */
        for (char *p = s->path;;) {
            char *dot = strchr(p, '.');
            size_t n = dot ? (size_t)(dot - p) : strlen(p);
            if (n == 0 || s->ncomp >= SS_JSONSPLIT_MAX_DEPTH - 2)
                goto fail;
            s->comp[s->ncomp] = p;
            s->complen[s->ncomp++] = n;
            if (!dot)
                break;
            p = dot + 1;
        }
    }
    return s;
fail:
    free(s->path);
    free(s);
    return NULL;
}

void ss_jsonsplit_free(struct ss_jsonsplit *s)
{
    if (!s)
        return;
    ss_buf_free(&s->buf);
    free(s->path);
    free(s);
}

const char *ss_jsonsplit_error(const struct ss_jsonsplit *s)
{
    return s->err;
}

unsigned long ss_jsonsplit_count(const struct ss_jsonsplit *s)
{
    return s->count;
}

unsigned long ss_jsonsplit_line(const struct ss_jsonsplit *s)
{
    return s->line;
}

/* What sort of byte c is, for a message: the grammar's punctuation by name,
 * a record's letters and digits by sort only (see the header). */
static const char *shown(unsigned char c, char *tmp, size_t n)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        snprintf(tmp, n, "a letter");
    else if (c >= '0' && c <= '9')
        snprintf(tmp, n, "a digit");
    else if (c >= 0x80)
        snprintf(tmp, n, "a non-ASCII character");
    else if (c >= 0x20 && c < 0x7f)
        snprintf(tmp, n, "'%c'", c);
    else if (c == '\n')
        snprintf(tmp, n, "a line break");
    else
        snprintf(tmp, n, "byte 0x%02x", c);
    return tmp;
}

static const char *what_state(const struct ss_jsonsplit *s)
{
    switch (s->st) {
    case ST_STR:
    case ST_ESC:
    case ST_UHEX:
        return s->in_key ? "a key" : "a string";
    case ST_NUM_MINUS:
    case ST_NUM_ZERO:
    case ST_NUM_INT:
    case ST_NUM_DOT:
    case ST_NUM_FRAC:
    case ST_NUM_E:
    case ST_NUM_ESIGN:
    case ST_NUM_EXP:
        return "a number";
    case ST_LIT:
        return "a literal";
    default:
        return s->depth && s->stack[s->depth - 1] == '{' ? "an object" : "an array";
    }
}

/* A fatal error at the current byte: sets s->result to SS_EINVAL and
 * returns it. The steps below return 0 to go on, or s->result (a negative
 * code, set where the failure is) to stop. */
static int fail(struct ss_jsonsplit *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int fail(struct ss_jsonsplit *s, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(s->err, sizeof(s->err), "byte %llu (line %lu, column %lu): %s", s->off, s->line,
             s->col, msg);
    s->result = SS_EINVAL;
    return s->result;
}

/* Copies the element's bytes data[span, end) into the buffer, bounded. */
static int elem_flush(struct ss_jsonsplit *s, const char *data, size_t end)
{
    if (!s->appending || !data || end <= s->span)
        return 0;
    size_t n = end - s->span;
    int rc = ss_buf_add(&s->buf, data + s->span, n);
    if (rc == SS_E2BIG) {
        /* keep the start for the message; read on to the element's end */
        size_t keep = SS_JSONSPLIT_KEEP < s->max ? SS_JSONSPLIT_KEEP : s->max;
        s->oversize = 1;
        s->appending = 0;
        rc = 0;
        if (s->buf.len > keep)
            s->buf.len = keep;
        else
            rc = ss_buf_add(&s->buf, data + s->span, n < keep - s->buf.len ? n : keep - s->buf.len);
        if (s->buf.data)
            s->buf.data[s->buf.len] = '\0';
    }
    if (rc < 0) {
        fail(s, "out of memory");
        s->result = SS_ENOMEM;
        return s->result;
    }
    s->span = end;
    return 0;
}

static void elem_begin(struct ss_jsonsplit *s, size_t i)
{
    s->in_elem = s->appending = 1;
    s->oversize = s->pending = 0;
    s->span = i;
    s->elem_off = s->off;
    s->elem_line = s->line;
    ss_buf_reset(&s->buf);
}

/* Hands the element over (why: NULL, or an NDJSON line's fault). */
static int emit(struct ss_jsonsplit *s, const char *why)
{
    struct ss_jsonsplit_elem e;
    char reason[600];

    s->in_elem = s->appending = s->pending = 0;
    memset(&e, 0, sizeof(e));
    e.text = s->buf.data ? s->buf.data : "";
    e.len = s->buf.len;
    e.index = ++s->count;
    e.line = s->elem_line;
    e.offset = s->elem_off;
    if (why) {
        e.error = why;
    } else if (s->oversize) {
        snprintf(reason, sizeof(reason),
                 "longer than %zu bytes (it starts at byte %llu, line %lu): not read", s->max,
                 s->elem_off, s->elem_line);
        e.error = reason;
    }
    if (s->cb(s->ud, &e) != 0) {
        s->result = SS_ESTOPPED;
        return 1;
    }
    return 0;
}

/* NDJSON: the line at byte i is not one value; skip to its end. */
static int line_error(struct ss_jsonsplit *s, size_t i, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int line_error(struct ss_jsonsplit *s, size_t i, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(s->why, sizeof(s->why), "not one JSON value: line %lu, column %lu (byte %llu): %s",
             s->line, s->col, s->off, msg);
    if (!s->in_elem) {
        elem_begin(s, i);
    } else if (!s->appending && !s->oversize) {
        s->appending = 1; /* a finished value and then more: keep what follows too */
        s->span = i;
    }
    s->pending = 0;
    s->depth = 0;
    s->st = ST_SKIPLINE;
    return 0;
}

/* A syntax error: fatal in an array, the line's fault in NDJSON. */
#define SYNTAX(s, i, ...) ((s)->ndjson ? line_error((s), (i), __VA_ARGS__) : fail((s), __VA_ARGS__))

/* A value ended just before data[end]. */
static int value_done(struct ss_jsonsplit *s, const char *data, size_t end)
{
    int elem = s->in_elem && (s->ndjson ? s->depth == 0 : s->depth == s->elem_depth);
    s->st = s->depth == 0 ? ST_END : ST_NEXT;
    if (!elem)
        return 0;
    if (elem_flush(s, data, end) < 0)
        return s->result;
    if (s->ndjson) {
        s->appending = 0;
        s->pending = 1; /* handed over at the end of its line, if nothing follows */
        return 0;
    }
    return emit(s, NULL);
}

static void key_byte(struct ss_jsonsplit *s, unsigned char b)
{
    if (s->hi || s->kpos >= s->complen[s->depth - 1] ||
        (unsigned char)s->comp[s->depth - 1][s->kpos] != b)
        s->kmatch = 0;
    else
        s->kpos++;
}

static void key_codepoint(struct ss_jsonsplit *s, uint32_t c)
{
    if (c < 0x80) {
        key_byte(s, (unsigned char)c);
    } else if (c < 0x800) {
        key_byte(s, (unsigned char)(0xC0 | (c >> 6)));
        key_byte(s, (unsigned char)(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        key_byte(s, (unsigned char)(0xE0 | (c >> 12)));
        key_byte(s, (unsigned char)(0x80 | ((c >> 6) & 0x3F)));
        key_byte(s, (unsigned char)(0x80 | (c & 0x3F)));
    } else {
        key_byte(s, (unsigned char)(0xF0 | (c >> 18)));
        key_byte(s, (unsigned char)(0x80 | ((c >> 12) & 0x3F)));
        key_byte(s, (unsigned char)(0x80 | ((c >> 6) & 0x3F)));
        key_byte(s, (unsigned char)(0x80 | (c & 0x3F)));
    }
}

/* A \u escape in a key, decoded so "da\u0074a" matches "data". */
static void key_escape(struct ss_jsonsplit *s, uint32_t cp)
{
    if (s->hi) {
        uint32_t hi = s->hi;
        s->hi = 0;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            key_codepoint(s, 0x10000 + ((hi - 0xD800) << 10) + (cp - 0xDC00));
            return;
        }
        s->kmatch = 0; /* a lone surrogate matches no path */
    }
    if (cp >= 0xD800 && cp <= 0xDBFF)
        s->hi = cp;
    else if (cp >= 0xDC00 && cp <= 0xDFFF)
        s->kmatch = 0;
    else
        key_codepoint(s, cp);
}

static int push(struct ss_jsonsplit *s, size_t i, char c)
{
    if (s->depth >= SS_JSONSPLIT_MAX_DEPTH)
        return SYNTAX(s, i, "nested deeper than %d levels", SS_JSONSPLIT_MAX_DEPTH);
    s->stack[s->depth++] = c;
    return 0;
}

static int value_start(struct ss_jsonsplit *s, const char *data, size_t i, unsigned char c)
{
    char tmp[24];
    int match = s->value_match;

    if (s->depth == 0 && !s->ndjson) {
        if (s->ncomp == 0 && c != '[')
            return fail(s,
                        "the document is %s, not an array of records (set \"json.path\" to the "
                        "array inside it, or \"json.ndjson\" for one record a line)",
                        c == '{' ? "an object" : "a single value");
        if (s->ncomp > 0 && c != '{')
            return fail(s, "the document is %s: it has no member \"%s\"",
                        c == '[' ? "an array" : "a single value", s->path);
    }
    if (s->ndjson ? s->depth == 0 : (s->target_active && s->depth == s->elem_depth))
        elem_begin(s, i);
    if (match >= 0 && (unsigned)match == s->ncomp && !s->target_done && !s->target_active &&
        c != '[' && !s->found_other)
        s->found_other = (char)c;
    s->value_match = -1;
    switch (c) {
    case '{':
        if (push(s, i, '{') < 0)
            return s->result;
        if (s->st == ST_SKIPLINE)
            return 0;
        if (match >= 0 && (unsigned)match < s->ncomp && (unsigned)match == s->path_depth &&
            !s->target_done)
            s->path_depth = s->depth;
        s->st = ST_KEY_OR_CLOSE;
        return 0;
    case '[':
        if (push(s, i, '[') < 0)
            return s->result;
        if (s->st == ST_SKIPLINE)
            return 0;
        if (!s->ndjson && match >= 0 && (unsigned)match == s->ncomp && !s->target_done &&
            !s->target_active) {
            s->target_active = 1;
            s->elem_depth = s->depth;
        }
        s->st = ST_VALUE_OR_CLOSE;
        return 0;
    case '"':
        s->st = ST_STR;
        s->in_key = 0;
        return 0;
    case '-':
        s->st = ST_NUM_MINUS;
        return 0;
    case '0':
        s->st = ST_NUM_ZERO;
        return 0;
    case 't':
    case 'f':
    case 'n':
        s->lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
        s->litpos = 1;
        s->st = ST_LIT;
        return 0;
    default:
        if (c >= '1' && c <= '9') {
            s->st = ST_NUM_INT;
            return 0;
        }
        return SYNTAX(s, i, "expected a value, found %s", shown(c, tmp, sizeof(tmp)));
    }
}

static int close_container(struct ss_jsonsplit *s, const char *data, size_t i, unsigned char c)
{
    char tmp[24];
    char open = s->stack[s->depth - 1];
    if ((c == '}' && open != '{') || (c == ']' && open != '['))
        return SYNTAX(s, i, "%s closes %s", shown(c, tmp, sizeof(tmp)),
                      open == '{' ? "an object ('{')" : "an array ('[')");
    if (s->target_active && s->depth == s->elem_depth) {
        s->target_active = 0;
        s->target_done = 1;
    }
    if (open == '{' && s->depth == s->path_depth)
        s->path_depth--;
    s->depth--;
    return value_done(s, data, i + 1);
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* 1: c continues the number; 0: the number ended before c; -1: error. */
static int num_step(struct ss_jsonsplit *s, size_t i, unsigned char c)
{
    char tmp[24];
    int digit = c >= '0' && c <= '9';
    switch (s->st) {
    case ST_NUM_MINUS:
        if (digit) {
            s->st = c == '0' ? ST_NUM_ZERO : ST_NUM_INT;
            return 1;
        }
        break;
    case ST_NUM_ZERO:
    case ST_NUM_INT:
        if (digit && s->st == ST_NUM_ZERO)
            return SYNTAX(s, i, "a number with a leading zero");
        if (digit)
            return 1;
        if (c == '.') {
            s->st = ST_NUM_DOT;
            return 1;
        }
        if (c == 'e' || c == 'E') {
            s->st = ST_NUM_E;
            return 1;
        }
        return 0;
    case ST_NUM_DOT:
        if (digit) {
            s->st = ST_NUM_FRAC;
            return 1;
        }
        break;
    case ST_NUM_FRAC:
        if (digit)
            return 1;
        if (c == 'e' || c == 'E') {
            s->st = ST_NUM_E;
            return 1;
        }
        return 0;
    case ST_NUM_E:
        if (c == '+' || c == '-') {
            s->st = ST_NUM_ESIGN;
            return 1;
        }
        /* fall through */
    case ST_NUM_ESIGN:
        if (digit) {
            s->st = ST_NUM_EXP;
            return 1;
        }
        break;
    case ST_NUM_EXP:
        return digit ? 1 : 0;
    default:
        break;
    }
    return SYNTAX(s, i, "a number cut short by %s", shown(c, tmp, sizeof(tmp)));
}

static int is_num(enum st st)
{
    return st >= ST_NUM_MINUS && st <= ST_NUM_EXP;
}

static int num_complete(enum st st)
{
    return st == ST_NUM_ZERO || st == ST_NUM_INT || st == ST_NUM_FRAC || st == ST_NUM_EXP;
}

/* NDJSON: a line break. */
static int ndjson_eol(struct ss_jsonsplit *s, const char *data, size_t i)
{
    switch (s->st) {
    case ST_START:
        return 0; /* a blank line */
    case ST_END:
        s->st = ST_START;
        return emit(s, NULL);
    default:
        line_error(s, i, "%s does not end on its line (\"json.ndjson\": one value a line)",
                   what_state(s));
        /* fall through */
    case ST_SKIPLINE:
        if (elem_flush(s, data, i) < 0)
            return s->result;
        if (s->buf.len && s->buf.data[s->buf.len - 1] == '\r')
            s->buf.data[--s->buf.len] = '\0';
        s->st = ST_START;
        return emit(s, s->why);
    }
}

/* In a string or a key (ST_STR, ST_ESC, ST_UHEX); returns as step does. */
static int string_step(struct ss_jsonsplit *s, const char *data, size_t i, unsigned char c)
{
    char tmp[24];
    switch (s->st) {
    case ST_STR:
        if (c == '"') {
            if (!s->in_key)
                return value_done(s, data, i + 1) != 0;
            s->value_match = s->kcheck && s->kmatch && !s->hi && s->kpos == s->complen[s->depth - 1]
                                 ? (int)s->depth
                                 : -1;
            s->st = ST_COLON;
            return 0;
        }
        if (c == '\\') {
            s->st = ST_ESC;
            return 0;
        }
        if (c < 0x20)
            return SYNTAX(s, i, "%s in %s (control characters must be escaped)",
                          shown(c, tmp, sizeof(tmp)), s->in_key ? "a key" : "a string") < 0;
        if (s->in_key && s->kmatch)
            key_byte(s, c);
        return 0;
    case ST_ESC: {
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *p = c ? strchr(from, c) : NULL;
        if (c == 'u') {
            s->st = ST_UHEX;
            s->nhex = 0;
            s->cp = 0;
            return 0;
        }
        if (!p)
            return SYNTAX(s, i, "invalid escape in a string: '\\' then %s",
                          shown(c, tmp, sizeof(tmp))) < 0;
        if (s->in_key && s->kmatch)
            key_byte(s, (unsigned char)to[p - from]);
        s->st = ST_STR;
        return 0;
    }
    case ST_UHEX: {
        int v = ss_hex_value(c);
        if (v < 0)
            return SYNTAX(s, i, "a \\u escape needs four hex digits, found %s",
                          shown(c, tmp, sizeof(tmp))) < 0;
        s->cp = s->cp * 16 + (uint32_t)v;
        if (++s->nhex == 4) {
            if (s->in_key && s->kmatch)
                key_escape(s, s->cp);
            s->st = ST_STR;
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* Where a key, or the end of the object, comes; returns as step does. */
static int key_step(struct ss_jsonsplit *s, const char *data, size_t i, unsigned char c)
{
    char tmp[24];
    if (s->st == ST_KEY_OR_CLOSE && c == '}')
        return close_container(s, data, i, c) != 0;
    if (is_ws(c))
        return 0;
    if (c != '"')
        return SYNTAX(s, i, "expected a key (a string) in an object, found %s",
                      shown(c, tmp, sizeof(tmp))) < 0;
    s->st = ST_STR;
    s->in_key = 1;
    s->kcheck = s->kmatch =
        s->depth == s->path_depth && s->depth >= 1 && s->depth <= s->ncomp && !s->target_done;
    s->kpos = 0;
    s->hi = 0;
    return 0;
}

/* After a member or an element (ST_NEXT); returns as step does. */
static int next_step(struct ss_jsonsplit *s, const char *data, size_t i, unsigned char c)
{
    char tmp[24];
    if (is_ws(c))
        return 0;
    if (c == ',') {
        s->st = s->stack[s->depth - 1] == '{' ? ST_KEY : ST_VALUE;
        s->value_match = -1;
        return 0;
    }
    if (c == '}' || c == ']')
        return close_container(s, data, i, c) != 0;
    if (s->stack[s->depth - 1] == '{')
        return SYNTAX(s, i, "expected ',' or '}' after a member of an object, found %s",
                      shown(c, tmp, sizeof(tmp))) < 0;
    return SYNTAX(s, i, "expected ',' or ']' after %s, found %s",
                  s->target_active && s->depth == s->elem_depth ? "a record"
                                                                : "an element of an array",
                  shown(c, tmp, sizeof(tmp))) < 0;
}

/* One byte: data[i]. 0 to go on; non-zero: stop (s->result says why). */
static int step(struct ss_jsonsplit *s, const char *data, size_t i)
{
    unsigned char c = (unsigned char)data[i];
    char tmp[24];
    int rc;

    if (is_num(s->st)) {
        rc = num_step(s, i, c);
        if (rc != 0)
            return rc < 0 ? s->result : 0;
        if (s->st != ST_SKIPLINE && value_done(s, data, i) != 0)
            return s->result;
    }
    if (s->ndjson && c == '\n')
        return ndjson_eol(s, data, i) != 0;

    switch (s->st) {
    case ST_START:
        if (is_ws(c))
            return 0;
        if (c == 0xEF && s->off == 0) {
            s->st = ST_BOM1;
            return 0;
        }
        return value_start(s, data, i, c) < 0;
    case ST_BOM1:
    case ST_BOM2:
        if (c != (s->st == ST_BOM1 ? 0xBB : 0xBF))
            return SYNTAX(s, i, "not JSON: it starts with byte 0xef") < 0;
        s->st = s->st == ST_BOM1 ? ST_BOM2 : ST_START;
        return 0;
    case ST_VALUE_OR_CLOSE:
        if (c == ']')
            return close_container(s, data, i, c) != 0;
        /* fall through */
    case ST_VALUE:
        if (is_ws(c))
            return 0;
        return value_start(s, data, i, c) < 0;
    case ST_KEY_OR_CLOSE:
    case ST_KEY:
        return key_step(s, data, i, c);
    case ST_COLON:
        if (is_ws(c))
            return 0;
        if (c != ':')
            return SYNTAX(s, i, "expected ':' after a key, found %s", shown(c, tmp, sizeof(tmp))) <
                   0;
        s->st = ST_VALUE;
        return 0;
    case ST_NEXT:
        return next_step(s, data, i, c);
    case ST_STR:
    case ST_ESC:
    case ST_UHEX:
        return string_step(s, data, i, c);
    case ST_LIT:
        if (c != (unsigned char)s->lit[s->litpos])
            return SYNTAX(s, i, "expected \"%s\", found %s", s->lit, shown(c, tmp, sizeof(tmp))) <
                   0;
        if (s->lit[++s->litpos] == '\0')
            return value_done(s, data, i + 1) != 0;
        return 0;
    case ST_END:
        if (is_ws(c))
            return 0;
        if (s->ndjson)
            return line_error(s, i,
                              "a second value on the line (\"json.ndjson\": one value a line)");
        return fail(s, "%s after the end of the document", shown(c, tmp, sizeof(tmp))) < 0;
    case ST_SKIPLINE:
        return 0;
    default:
        break;
    }
    return 0;
}

int ss_jsonsplit_feed(struct ss_jsonsplit *s, const char *data, size_t len)
{
    if (s->result != 0)
        return s->result;
    s->span = 0;
    for (size_t i = 0; i < len; i++) {
        if (step(s, data, i) != 0)
            return s->result;
        s->off++;
        if (data[i] == '\n')
            s->line++, s->col = 1;
        else
            s->col++;
    }
    if (elem_flush(s, data, len) < 0)
        return s->result;
    s->span = 0;
    return s->result;
}

int ss_jsonsplit_finish(struct ss_jsonsplit *s)
{
    if (s->result != 0)
        return s->result;
    /* In an array a number at the end may have been cut; on a line it is whole. */
    if (s->ndjson && is_num(s->st) && num_complete(s->st) && value_done(s, NULL, 0) != 0)
        return s->result;
    if (s->ndjson) {
        if (s->st == ST_END || s->st == ST_SKIPLINE)
            ndjson_eol(s, NULL, 0);
        else if (s->st != ST_START)
            fail(s, "the input ends inside %s on its last line: it looks cut short", what_state(s));
        return s->result;
    }
    switch (s->st) {
    case ST_END:
        break;
    case ST_START:
        fail(s, "the input is empty: no JSON document");
        return s->result;
    default:
        fail(s, "the input ends inside %s (%u levels open, %lu records read): it looks cut short",
             what_state(s), s->depth, s->count);
        return s->result;
    }
    if (s->ncomp && !s->target_done) {
        const char *other = "";
        switch (s->found_other) {
        case 0:
            break;
        case '{':
            other = " (it holds an object)";
            break;
        case '"':
            other = " (it holds a string)";
            break;
        case 't':
        case 'f':
            other = " (it holds true or false)";
            break;
        case 'n':
            other = " (it holds null)";
            break;
        default:
            other = " (it holds a number)";
            break;
        }
        fail(s, "no array at \"%s\" in the document%s: set \"json.path\" to the array of records",
             s->path, other);
    }
    return s->result;
}
