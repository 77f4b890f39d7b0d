/* ss_source: the table of source kinds, the one registry. See ss_source.h.
 *
 * A new kind is one line in SS_SOURCE_KINDS (its src_NAME.c defines
 * ss_source_NAME); collectors/CMakeLists.txt builds every src_*.c. The first
 * kind is the default of "kind"; the order is the order the config's
 * messages list the kinds in. */
#include "ss_source.h"

#include <string.h>

#define SS_SOURCE_KINDS(X)                                                                         \
    X(csv)                                                                                         \
    X(json)                                                                                        \
    X(koha)                                                                                        \
    X(koha_report)                                                                                 \
    X(folio)

#define SS_SOURCE_DECLARE(name) extern const struct ss_source_kind ss_source_##name;
SS_SOURCE_KINDS(SS_SOURCE_DECLARE)

#define SS_SOURCE_ENTRY(name) &ss_source_##name,
static const struct ss_source_kind *const kinds[] = {SS_SOURCE_KINDS(SS_SOURCE_ENTRY) NULL};

const struct ss_source_kind *ss_source_find(const char *name)
{
    for (size_t i = 0; kinds[i]; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

const struct ss_config_kind *ss_source_config_kind(size_t i)
{
    size_t n = sizeof kinds / sizeof kinds[0] - 1;
    return i < n ? kinds[i]->config : NULL;
}
