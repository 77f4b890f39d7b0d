/* src_folio: the "folio" source kind. (Being written: see ss_source.h.) */
#include <stdio.h>

#include "ss_source.h"

static int cb_init(void **state, const struct ss_source_env *env, char *err, size_t errlen)
{
    (void)state;
    (void)env;
    snprintf(err, errlen, "the \"folio\" source kind is not available in this build");
    return -1;
}

static enum ss_source_result cb_run(void *state, const char *cursor, struct ss_buf *next_cursor,
                                    const struct ss_record_sink *sink, char *err, size_t errlen)
{
    (void)state, (void)cursor, (void)next_cursor, (void)sink;
    snprintf(err, errlen, "not available");
    return SS_SOURCE_FAILED;
}

static void cb_exit(void *state)
{
    (void)state;
}

const struct ss_source_kind ss_source_folio = {"folio", cb_init, cb_run, cb_exit};
