/* ss_err: see ss_err.h. */
#include "ss_err.h"

#include <string.h>

const char *ss_strerror(int rc)
{
    if (rc == 0)
        return "success";
    if (rc == SS_ESTOPPED)
        return "stopped";
    if (rc == SS_ERETRY)
        return "try again later";
    if (rc == SS_ETRUNCATED)
        return "the source cut its answer short";
    if (rc == SS_ESETUP)
        return "the config does not fit the source";
    return strerror(rc < 0 ? -rc : rc);
}
