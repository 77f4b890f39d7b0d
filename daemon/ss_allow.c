/* ss_allow: see ss_allow.h. */
#include "ss_allow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_err.h"
#include "ss_text.h"

static const char z85_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";

int ss_allow_key_valid(const char *s)
{
    size_t n = strlen(s);
    if (n != SS_ALLOW_KEY_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr(z85_alphabet, s[i]))
            return 0;
    return 1;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

void ss_allow_free(struct ss_allow *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free_list(a->entries[i].authorities, a->entries[i].nauthorities);
        free_list(a->entries[i].sources, a->entries[i].nsources);
        free(a->entries[i].comment);
    }
    free(a->entries);
    free(a);
}

struct parse {
    const char *path;
    unsigned line;
    char *err;
    size_t errlen;
};

/* Writes "path:line:col: what" to err; returns SS_EINVAL. */
static int perr(struct parse *p, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct parse *p, size_t col, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* What came from the file may hold control characters: keep one line. */
    for (char *c = what; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    snprintf(p->err, p->errlen, "%s:%u:%zu: %s", p->path, p->line, col, what);
    return SS_EINVAL;
}

/* The same for a failed allocation: SS_ENOMEM. */
static int perr_nomem(struct parse *p, size_t col)
{
    perr(p, col, "out of memory");
    return SS_ENOMEM;
}

static int is_code(const char *s, size_t n)
{
    char c0 = (char)ss_to_lower(s[0]);
    if (n != 9 || c0 < 'a' || c0 > 'z')
        return 0;
    for (size_t i = 1; i < 9; i++)
        if (!ss_is_digit(s[i]))
            return 0;
    return 1;
}

static int is_source(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        return 1;
    if (n > 0 && s[n - 1] == '*')
        n--; /* a trailing wildcard */
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Splits a comma-separated field (tok, n bytes, at column col) into a list. */
static int split_list(struct parse *p, const char *tok, size_t n, size_t col, int codes,
                      char ***out, size_t *count)
{
    const char *what = codes ? "authority" : "source";
    size_t items = 1;
    for (size_t i = 0; i < n; i++)
        items += tok[i] == ',';
    if (items > SS_ALLOW_MAX_ITEMS) {
        perr(p, col, "more than %d %s entries", SS_ALLOW_MAX_ITEMS, what);
        return SS_E2BIG;
    }
    char **list = calloc(items, sizeof(*list));
    if (!list)
        return perr_nomem(p, col);
    *out = list;
    *count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && tok[i] != ',')
            continue;
        const char *s = tok + start;
        size_t len = i - start;
        int any = len == 1 && s[0] == '*';
        if (len == 0)
            return perr(p, col + start, "empty %s entry (stray comma?)", what);
        if (codes && !any && !is_code(s, len))
            return perr(p, col + start,
                        "\"%.*s\" is not an authority: expected an ONS GSS code such as "
                        "E09000003, or *",
                        (int)(len < 80 ? len : 80), s);
        if (!codes && !is_source(s, len))
            return perr(p, col + start,
                        "\"%.*s\" is not a source: expected 1 to 64 characters from A-Z a-z "
                        "0-9 . _ -, optionally ending in *",
                        (int)(len < 80 ? len : 80), s);
        if (any && items > 1)
            return perr(p, col + start, "* matches every %s: list it alone", what);
        char *copy = strndup(s, len);
        if (!copy)
            return perr_nomem(p, col);
        if (codes)
            for (char *c = copy; *c; c++)
                *c = *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
        list[(*count)++] = copy;
        start = i + 1;
    }
    return 0;
}

/* Parses one line (no line end) into e. Returns 1 with an entry, 0 for a
 * blank or comment line, or a negative code with p->err. */
static int parse_line(struct parse *p, const char *s, size_t n, struct ss_allow_entry *e)
{
    const char *tok[4];
    size_t len[4], col[4], ntok = 0, i = 0;
    const char *comment = NULL;
    size_t comment_len = 0;

    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= n)
            break;
        size_t start = i;
        while (i < n && s[i] != ' ' && s[i] != '\t')
            i++;
        /* '#' is a Z85 character: it starts a comment everywhere except in
         * a first token that is a whole key. */
        if (s[start] == '#' && !(ntok == 0 && i - start == SS_ALLOW_KEY_LEN && i < n)) {
            comment = s + start + 1;
            comment_len = n - start - 1;
            break;
        }
        if (ntok == 3)
            return perr(p, start + 1,
                        "unexpected \"%.*s\": a line is PUBLICKEY AUTHORITIES SOURCES "
                        "[# comment]",
                        (int)((i - start) < 60 ? (i - start) : 60), s + start);
        tok[ntok] = s + start;
        len[ntok] = i - start;
        col[ntok] = start + 1;
        ntok++;
    }
    if (ntok == 0)
        return 0;
    if (ntok < 3)
        return perr(p, col[ntok - 1] + len[ntok - 1],
                    "expected PUBLICKEY AUTHORITIES SOURCES, found %zu field%s", ntok,
                    ntok == 1 ? "" : "s");
    memset(e, 0, sizeof(*e));
    e->line = p->line;
    if (len[0] != SS_ALLOW_KEY_LEN)
        return perr(p, col[0], "not a public key: %zu characters, a Z85 key has 40", len[0]);
    memcpy(e->key, tok[0], SS_ALLOW_KEY_LEN);
    e->key[SS_ALLOW_KEY_LEN] = '\0';
    if (!ss_allow_key_valid(e->key))
        return perr(p, col[0], "not a public key: characters outside the Z85 alphabet");
    int rc;
    if ((rc = split_list(p, tok[1], len[1], col[1], 1, &e->authorities, &e->nauthorities)) < 0 ||
        (rc = split_list(p, tok[2], len[2], col[2], 0, &e->sources, &e->nsources)) < 0)
        return rc;
    if (!comment)
        comment = "";
    ss_trim(&comment, &comment_len);
    e->comment = strndup(comment, comment_len);
    if (!e->comment)
        return perr_nomem(p, 1);
    return 1;
}

static void entry_free(struct ss_allow_entry *e)
{
    free_list(e->authorities, e->nauthorities);
    free_list(e->sources, e->nsources);
    free(e->comment);
    memset(e, 0, sizeof(*e));
}

/* Adds e (a parsed line) to a, taking what it holds; on failure e is the
 * caller's to free. */
static int add_entry(struct parse *p, struct ss_allow *a, size_t *cap,
                     const struct ss_allow_entry *e)
{
    const struct ss_allow_entry *dup = ss_allow_find(a, e->key);
    if (dup)
        return perr(p, 1, "key %.8s... is already listed on line %u", e->key, dup->line);
    if (a->n == SS_ALLOW_MAX_ENTRIES) {
        perr(p, 1, "more than %d keys", SS_ALLOW_MAX_ENTRIES);
        return SS_E2BIG;
    }
    if (a->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct ss_allow_entry *ne = realloc(a->entries, ncap * sizeof(*ne));
        if (!ne)
            return perr_nomem(p, 1);
        a->entries = ne;
        *cap = ncap;
    }
    a->entries[a->n++] = *e;
    return 0;
}

int ss_allow_parse(const char *path, const char *text, size_t len, struct ss_allow **out, char *err,
                   size_t errlen)
{
    struct parse p = {path, 0, err, errlen};
    struct ss_allow *a = calloc(1, sizeof(*a));
    size_t cap = 0, pos = 0;
    int rc = 0;

    *out = NULL;
    if (!a)
        return perr_nomem(&p, 1);
    while (rc >= 0 && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        p.line++;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        if (n > SS_ALLOW_MAX_LINE) {
            perr(&p, 1, "line longer than %d bytes", SS_ALLOW_MAX_LINE);
            rc = SS_E2BIG;
            break;
        }
        if (memchr(text + pos, '\0', n)) {
            rc = perr(&p, 1, "NUL byte: not a text file");
            break;
        }
        struct ss_allow_entry e;
        memset(&e, 0, sizeof(e));
        rc = parse_line(&p, text + pos, n, &e);
        if (rc > 0)
            rc = add_entry(&p, a, &cap, &e);
        if (rc < 0)
            entry_free(&e);
        pos = end + 1;
    }
    if (rc < 0) {
        ss_allow_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int ss_allow_load(const char *path, struct ss_allow **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    int rc;
    *out = NULL;
    if (!f) {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot open the allow file: %s", path, strerror(errno));
        return rc;
    }
    char *text = malloc(SS_ALLOW_MAX_FILE + 1);
    if (!text) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return SS_ENOMEM;
    }
    size_t len = fread(text, 1, SS_ALLOW_MAX_FILE + 1, f);
    int bad = ferror(f) ? (errno ? -errno : SS_EINVAL) : 0;
    fclose(f);
    if (bad || len > SS_ALLOW_MAX_FILE) {
        snprintf(err, errlen, "%s: %s", path,
                 bad ? "read error" : "larger than 4 MiB: not an allow file");
        free(text);
        return bad ? bad : SS_E2BIG;
    }
    rc = ss_allow_parse(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

const struct ss_allow_entry *ss_allow_find(const struct ss_allow *a, const char *key)
{
    /* Linear: lists are short, and looked up once per batch or handshake. */
    for (size_t i = 0; a && i < a->n; i++)
        if (strcmp(a->entries[i].key, key) == 0)
            return &a->entries[i];
    return NULL;
}

int ss_allow_source_ok(const struct ss_allow_entry *e, const char *source)
{
    for (size_t i = 0; i < e->nsources; i++) {
        const char *pat = e->sources[i];
        size_t n = strlen(pat);
        if (n > 0 && pat[n - 1] == '*') {
            if (strncmp(source, pat, n - 1) == 0)
                return 1;
        } else if (strcmp(source, pat) == 0) {
            return 1;
        }
    }
    return 0;
}

int ss_allow_authority_ok(const struct ss_allow_entry *e, const char *code)
{
    for (size_t i = 0; i < e->nauthorities; i++)
        if (strcmp(e->authorities[i], "*") == 0 || strcasecmp(e->authorities[i], code) == 0)
            return 1;
    return 0;
}

/* Appends s to buf (NUL-terminated, buflen > 0), cutting it short when
 * full; the new length. */
static size_t put(char *buf, size_t buflen, size_t used, const char *s)
{
    size_t n = strlen(s), room = buflen - 1 - used;
    if (n > room)
        n = room;
    memcpy(buf + used, s, n);
    buf[used + n] = '\0';
    return used + n;
}

static size_t join(char *buf, size_t buflen, size_t used, char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        used = put(buf, buflen, i ? put(buf, buflen, used, ",") : used, items[i]);
    return used;
}

void ss_allow_describe(const struct ss_allow_entry *e, char *buf, size_t buflen)
{
    if (buflen == 0)
        return;
    size_t used = put(buf, buflen, 0, "authorities ");
    used = join(buf, buflen, used, e->authorities, e->nauthorities);
    used = put(buf, buflen, used, "; sources ");
    join(buf, buflen, used, e->sources, e->nsources);
}

static int same_rights(const struct ss_allow_entry *a, const struct ss_allow_entry *b)
{
    if (a->nauthorities != b->nauthorities || a->nsources != b->nsources)
        return 0;
    for (size_t i = 0; i < a->nauthorities; i++)
        if (strcmp(a->authorities[i], b->authorities[i]) != 0)
            return 0;
    for (size_t i = 0; i < a->nsources; i++)
        if (strcmp(a->sources[i], b->sources[i]) != 0)
            return 0;
    return 1;
}

size_t ss_allow_diff(const struct ss_allow *old, const struct ss_allow *new,
                     void (*fn)(void *arg, const char *what), void *arg)
{
    char what[1024], rights[768];
    size_t count = 0;
    for (size_t i = 0; new &&i < new->n; i++) {
        const struct ss_allow_entry *e = &new->entries[i];
        const struct ss_allow_entry *was = ss_allow_find(old, e->key);
        if (was && same_rights(was, e))
            continue;
        ss_allow_describe(e, rights, sizeof(rights));
        snprintf(what, sizeof(what), "key %.8s... (%s) %s: %s", e->key,
                 e->comment[0] ? e->comment : "no comment", was ? "changed" : "added", rights);
        fn(arg, what);
        count++;
    }
    for (size_t i = 0; old && i < old->n; i++) {
        const struct ss_allow_entry *e = &old->entries[i];
        if (ss_allow_find(new, e->key))
            continue;
        snprintf(what, sizeof(what), "key %.8s... (%s) removed", e->key,
                 e->comment[0] ? e->comment : "no comment");
        fn(arg, what);
        count++;
    }
    return count;
}
