/* libFuzzer target for the reference-data parsers of ss_ref.h: the
 * authorities JSON and the four CSVs (ONS populations and nearest
 * neighbours, the curated aliases and successors). Each input goes through
 * all five.
 *
 * Besides what the sanitizers catch (leaks included), it checks the
 * contract. A parser returns the number of rows it handed to the callback,
 * or a negative code with a message that starts with the path it was given.
 * Every row handed over is checked: codes are GSS codes as ss_norm_gss_code
 * writes them and unique within the file; text fields are non-empty (and
 * trimmed, in a CSV); a population's single ages add up to All ages; a neighbour list
 * is within bounds, codes only, never the area itself; an alias leaves a
 * key to match, each key once; a successor's date is a real YYYY-MM-DD and
 * its codes differ; every row has a line number. When the input's first
 * byte is odd the callbacks stop the parse at the second row, which must
 * then fail with the callback's own message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_date.h"
#include "ss_hash.h"
#include "ss_normalise.h"
#include "ss_ref.h"

#define STOP_MSG "stopped by the fuzzer"

struct seen {
    struct ss_hmap keys; /* codes or alias keys so far */
    int rows;
    int stop_at; /* 0: never */
};

static void check_code(const char *code)
{
    char again[10];
    if (!code || strlen(code) != 9 || !ss_norm_gss_code(code, 9, again) || strcmp(again, code))
        __builtin_trap();
}

/* Non-empty (the JSON's strings are taken as they are); trimmed too for a CSV cell. */
static void check_nonempty(const char *s)
{
    if (!s || !*s)
        __builtin_trap();
}

static void check_text(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
        __builtin_trap();
}

/* Counts the row, checks key is new, and says whether to stop. */
static int row_seen(struct seen *s, const char *key, unsigned long line, char *err, size_t errlen)
{
    void *v;
    if (line < 1 || ss_hmap_put(&s->keys, key, strlen(key), &v) != 1)
        __builtin_trap();
    if (++s->rows == s->stop_at) {
        snprintf(err, errlen, STOP_MSG);
        return 1;
    }
    return 0;
}

static int on_authority(void *ud, const struct ss_ref_authority *a, char *err, size_t errlen)
{
    check_code(a->code);
    check_nonempty(a->name);
    check_nonempty(a->nice_name);
    return row_seen(ud, a->code, a->line, err, errlen);
}

static int on_population(void *ud, const struct ss_ref_population *p, char *err, size_t errlen)
{
    long long sum = 0;
    check_code(p->code);
    check_text(p->name);
    check_text(p->geography);
    for (int i = 0; i < SS_REF_AGES; i++) {
        if (p->persons[i] < 0)
            __builtin_trap();
        sum += p->persons[i];
    }
    if (sum != p->all_ages)
        __builtin_trap();
    return row_seen(ud, p->code, p->line, err, errlen);
}

static int on_neighbours(void *ud, const struct ss_ref_neighbours *nb, char *err, size_t errlen)
{
    check_code(nb->code);
    check_text(nb->name);
    if (nb->n > SS_REF_MAX_NEIGHBOURS || (nb->n && !nb->neighbours))
        __builtin_trap();
    for (size_t i = 0; i < nb->n; i++) {
        check_code(nb->neighbours[i]);
        if (strcmp(nb->neighbours[i], nb->code) == 0)
            __builtin_trap();
    }
    return row_seen(ud, nb->code, nb->line, err, errlen);
}

static int on_alias(void *ud, const struct ss_ref_alias *a, char *err, size_t errlen)
{
    char key[SS_REF_KEY_MAX];
    check_code(a->code);
    check_text(a->alias);
    if (ss_norm_authority_key(a->alias, strlen(a->alias), key, sizeof(key)) < 0)
        __builtin_trap();
    return row_seen(ud, key, a->line, err, errlen);
}

static int on_successor(void *ud, const struct ss_ref_successor *s, char *err, size_t errlen)
{
    struct ss_date d;
    const char *why;
    char key[64];
    check_code(s->old_code);
    check_code(s->new_code);
    check_text(s->old_name);
    if (strcmp(s->old_code, s->new_code) == 0 || strlen(s->changed_on) != 10 ||
        s->changed_on[4] != '-' || ss_parse_date(s->changed_on, 10, &d, &why) != 0)
        __builtin_trap();
    /* A code may be succeeded twice (a split); the row itself is unique by line. */
    snprintf(key, sizeof(key), "%lu", s->line);
    return row_seen(ud, key, s->line, err, errlen);
}

/* A parser's result against what its callback saw. */
static void check_result(int rc, const char *path, const char *err, struct seen *s)
{
    if (rc >= 0) {
        if (rc != s->rows || (s->stop_at && s->rows >= s->stop_at))
            __builtin_trap();
    } else if (s->stop_at && s->rows == s->stop_at) {
        if (strcmp(err, STOP_MSG) != 0)
            __builtin_trap();
    } else if (strncmp(err, path, strlen(path)) != 0 || err[strlen(path)] != ':') {
        __builtin_trap();
    }
    ss_hmap_free(&s->keys);
    s->rows = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen s = {.stop_at = size && (data[0] & 1) ? 2 : 0};
    char err[1024];
    int rc;

    ss_hmap_init(&s.keys, 0, 0);
    err[0] = '\0';
    rc = ss_ref_parse_authorities("a.json", (const char *)data, size, on_authority, &s, err,
                                  sizeof(err));
    check_result(rc, "a.json", err, &s);

#define RUN_CSV(parse, cb, path)                                                                   \
    do {                                                                                           \
        FILE *f = fmemopen((void *)(size ? data : (const uint8_t *)""), size ? size : 1, "r");     \
        if (!f)                                                                                    \
            __builtin_trap();                                                                      \
        if (!size)                                                                                 \
            fgetc(f); /* an empty stream */                                                        \
        ss_hmap_init(&s.keys, 0, 0);                                                               \
        err[0] = '\0';                                                                             \
        rc = parse(path, f, cb, &s, err, sizeof(err));                                             \
        fclose(f);                                                                                 \
        check_result(rc, path, err, &s);                                                           \
    } while (0)

    RUN_CSV(ss_ref_parse_populations, on_population, "p.csv");
    RUN_CSV(ss_ref_parse_neighbours, on_neighbours, "n.csv");
    RUN_CSV(ss_ref_parse_aliases, on_alias, "al.csv");
    RUN_CSV(ss_ref_parse_successors, on_successor, "s.csv");
    return 0;
}
