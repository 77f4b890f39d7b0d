/* ss_source: the table of source kinds. See ss_source.h. */
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
