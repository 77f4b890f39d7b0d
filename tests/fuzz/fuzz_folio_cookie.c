/* libFuzzer target for the Set-Cookie reader (ss_cookie_parse) that FOLIO's
 * login and refresh answers go through: header values from the network.
 *
 * Besides what the sanitizers catch (the input is copied to a buffer of its
 * own size with no NUL after it, so a read past the value is caught), it
 * checks the contract: a refusal only when there is no '='; the name runs
 * from the start to the first '=', the value from after it to the first ';'
 * or the end, both inside the input; Max-Age is -1 when no attribute names
 * it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_cookie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *h = malloc(size ? size : 1);
    struct ss_cookie c;
    if (!h)
        return 0;
    memcpy(h, data, size);
    const char *eq = memchr(h, '=', size);
    int rc = ss_cookie_parse(h, size, &c);
    if ((rc < 0) != (eq == NULL) || (rc != 0 && rc >= 0))
        __builtin_trap();
    if (rc == 0) {
        if (c.name != h || c.name + c.name_len != eq || c.value != eq + 1 ||
            c.value + c.value_len > h + size || memchr(c.value, ';', c.value_len))
            __builtin_trap();
        int has_age = 0;
        const char *end = h + size;
        for (const char *p = c.value + c.value_len; p + 8 < end; p++)
            has_age |= strncasecmp(p, "Max-Age=", 8) == 0;
        if (!has_age && c.max_age != -1)
            __builtin_trap();
    }
    free(h);
    return 0;
}
