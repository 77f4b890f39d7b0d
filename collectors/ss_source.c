/* ss_source: the table of source kinds, the one registry. See ss_source.h.
 * A new kind is one line here (and its extern); the first is the default. */
#include "ss_source.h"

#include <string.h>

extern const struct ss_source_kind ss_source_csv;
extern const struct ss_source_kind ss_source_json;
extern const struct ss_source_kind ss_source_koha;
extern const struct ss_source_kind ss_source_koha_report;
extern const struct ss_source_kind ss_source_folio;

static const struct ss_source_kind *const kinds[] = {
    &ss_source_csv,         &ss_source_json,  &ss_source_koha,
    &ss_source_koha_report, &ss_source_folio, NULL,
};

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
