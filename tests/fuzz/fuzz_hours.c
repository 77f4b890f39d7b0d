/* libFuzzer target for ss_norm_hours.
 *
 * Besides what the sanitizers catch, it checks the contract: an accepted
 * value gives 0..1440 minutes and a canonical form that parses again to the
 * same form and the same minutes (so normalising is idempotent); a refused
 * value gives a reason and leaves the output empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ss_buf.h"
#include "ss_normalise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ss_buf out, again;
    int minutes = -1, minutes2 = -1;
    const char *why = NULL;

    ss_buf_init(&out, 256);
    ss_buf_init(&again, 256);
    int rc = ss_norm_hours((const char *)data, size, &out, &minutes, &why);
    if (rc == 0) {
        if (minutes < 0 || minutes > 24 * 60 || !out.data || strlen(out.data) != out.len)
            __builtin_trap();
        if (out.len == 0) {
            if (minutes != 0)
                __builtin_trap();
        } else {
            if (ss_norm_hours(out.data, out.len, &again, &minutes2, &why) != 0)
                __builtin_trap();
            if (again.len != out.len || memcmp(again.data, out.data, out.len) != 0 ||
                minutes2 != minutes)
                __builtin_trap();
        }
    } else {
        if (rc >= 0 || !why || !*why || out.len != 0)
            __builtin_trap();
    }
    ss_buf_free(&out);
    ss_buf_free(&again);
    return 0;
}
