/* libFuzzer target for the Koha Link header parser (ss_koha_link_next): the
 * value of an HTTP header a Koha server (or anything answering in its place)
 * writes.
 *
 * Besides what the sanitizers catch (the input is copied to a buffer of its
 * own size with no NUL after it, so a read past the value is caught), it
 * checks the contract: the result is 1 or 0; a found URL is NUL-terminated
 * within the buffer and is text that stood between '<' and '>' in the input;
 * nothing is written when nothing is found (a buffer too short for every
 * URL included).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ss_koha.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = malloc(size ? size : 1);
    char next[64], tiny[2];
    if (!v)
        return 0;
    memcpy(v, data, size);

    memset(next, 'x', sizeof(next));
    int rc = ss_koha_link_next(v, size, next, sizeof(next));
    if (rc != 0 && rc != 1)
        __builtin_trap();
    if (rc == 1) {
        size_t n = strnlen(next, sizeof(next));
        if (n == sizeof(next))
            __builtin_trap();
        /* "<" URL ">" stands in the input. */
        int seen = 0;
        for (size_t i = 0; !seen && i + n + 2 <= size; i++)
            seen = v[i] == '<' && memcmp(v + i + 1, next, n) == 0 && v[i + 1 + n] == '>';
        if (!seen)
            __builtin_trap();
    } else {
        for (size_t i = 0; i < sizeof(next); i++)
            if (next[i] != 'x')
                __builtin_trap();
    }

    /* Only a URL of one character or none fits in two bytes. */
    memset(tiny, 'x', sizeof(tiny));
    rc = ss_koha_link_next(v, size, tiny, sizeof(tiny));
    if ((rc != 0 && rc != 1) || (rc == 1 && strnlen(tiny, sizeof(tiny)) == sizeof(tiny)))
        __builtin_trap();
    free(v);
    return 0;
}
