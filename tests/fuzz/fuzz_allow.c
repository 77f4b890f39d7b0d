/* libFuzzer target for ss_allow_parse: the daemon's allow file, which says
 * which collector keys may write what.
 *
 * Besides what the sanitizers catch (leaks included: a refused file must
 * release what it had built), it checks the contract of ss_allow.h. A
 * refused file returns a negative code, leaves *out NULL and says
 * "path:line:col: what" on one line (what came from the file never breaks
 * the line). An accepted file holds at most SS_ALLOW_MAX_ENTRIES distinct,
 * valid Z85 keys on increasing lines; each has 1..SS_ALLOW_MAX_ITEMS
 * authorities (upper-case GSS-shaped codes, or "*" alone) and sources
 * (names or "prefix*", or "*" alone) that its own lookups accept, and a
 * trimmed comment. ss_allow_diff sees every key added against nothing and no
 * change against itself; ss_allow_describe never overflows a small buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_allow.h"

#define FUZZ_PATH "fuzz.allow"

static void check_refusal(const char *err)
{
    const char *p = err + strlen(FUZZ_PATH);
    unsigned line;
    size_t col;
    int used = 0;
    if (strncmp(err, FUZZ_PATH ":", strlen(FUZZ_PATH) + 1) != 0)
        __builtin_trap();
    if (sscanf(p, ":%u:%zu: %n", &line, &col, &used) != 2 || used == 0 || line < 1 || col < 1 ||
        p[used] == '\0')
        __builtin_trap();
    for (const char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20)
            __builtin_trap();
}

static int code_shaped(const char *s)
{
    if (strlen(s) != 9 || !(s[0] >= 'A' && s[0] <= 'Z'))
        return 0;
    for (int i = 1; i < 9; i++)
        if (!(s[i] >= '0' && s[i] <= '9'))
            return 0;
    return 1;
}

/* A source name or "prefix*": 1..64 of A-Z a-z 0-9 . _ - before an optional '*'. */
static int source_shaped(const char *s)
{
    size_t n = strlen(s);
    if (n && s[n - 1] == '*')
        n--;
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

static void check_list(char **items, size_t n, int codes)
{
    if (n < 1 || n > SS_ALLOW_MAX_ITEMS || !items)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        const char *s = items[i];
        if (!s || !*s)
            __builtin_trap();
        if (strcmp(s, "*") == 0) {
            if (n != 1)
                __builtin_trap();
            continue;
        }
        if (codes ? !code_shaped(s) : !source_shaped(s))
            __builtin_trap();
    }
}

static void check_entry(const struct ss_allow *a, size_t i, unsigned *last_line)
{
    const struct ss_allow_entry *e = &a->entries[i];
    if (!ss_allow_key_valid(e->key) || ss_allow_find(a, e->key) != e || e->line <= *last_line)
        __builtin_trap();
    *last_line = e->line;
    check_list(e->authorities, e->nauthorities, 1);
    check_list(e->sources, e->nsources, 0);
    /* Its own rights read back through the lookups. */
    for (size_t k = 0; k < e->nauthorities; k++)
        if (!ss_allow_authority_ok(e, strcmp(e->authorities[k], "*") ? e->authorities[k]
                                                                     : "E09000003"))
            __builtin_trap();
    for (size_t k = 0; k < e->nsources; k++) {
        char name[80];
        snprintf(name, sizeof(name), "%s", e->sources[k]);
        size_t n = strlen(name);
        if (n && name[n - 1] == '*')
            snprintf(name + n - 1, sizeof(name) - (n - 1), "x");
        if (!ss_allow_source_ok(e, name))
            __builtin_trap();
    }
    size_t cl = e->comment ? strlen(e->comment) : 0;
    if (!e->comment || (cl && (e->comment[0] == ' ' || e->comment[cl - 1] == ' ' ||
                               e->comment[0] == '\t' || e->comment[cl - 1] == '\t')))
        __builtin_trap();
    char tiny[7];
    memset(tiny, 'x', sizeof(tiny));
    ss_allow_describe(e, tiny, sizeof(tiny));
    if (strnlen(tiny, sizeof(tiny)) == sizeof(tiny))
        __builtin_trap();
}

static void count_change(void *arg, const char *what)
{
    if (!what || !*what)
        __builtin_trap();
    (*(size_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ss_allow *a = (struct ss_allow *)1;
    char err[1024];
    err[0] = '\0';
    int rc = ss_allow_parse(FUZZ_PATH, (const char *)data, size, &a, err, sizeof(err));
    if (rc > 0)
        __builtin_trap();
    if (rc < 0) {
        if (a != NULL)
            __builtin_trap();
        check_refusal(err);
        return 0;
    }
    if (!a || a->n > SS_ALLOW_MAX_ENTRIES || (a->n && !a->entries))
        __builtin_trap();
    unsigned last_line = 0;
    for (size_t i = 0; i < a->n; i++)
        check_entry(a, i, &last_line);
    size_t calls = 0;
    if (ss_allow_diff(NULL, a, count_change, &calls) != a->n || calls != a->n)
        __builtin_trap();
    if (ss_allow_diff(a, a, count_change, &calls) != 0 || calls != a->n)
        __builtin_trap();
    ss_allow_free(a);
    return 0;
}
