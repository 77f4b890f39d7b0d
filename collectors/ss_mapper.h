/* ss_mapper: maps a source's columns onto a dataset's wire fields.
 *
 * Built once per run from the export's header row (or the configured column
 * list): a field takes, in this order, the column named for it in the
 * config's "mapping" (or the columns it sums: {"sum": ["Issues",
 * "Renewals"]}); else the config's "constants" value (a constant the
 * config gives wins over a column the export happens to have: the
 * authority's GSS code over its name, say); else the column whose header is
 * one of the field's published names (ss_dataset) or the field's own name,
 * unless "mapping" already gave that column to another field; else it is
 * absent. Header names match case-insensitively, ignoring surrounding
 * spaces. Then each record maps by index with no allocation.
 */
#ifndef SS_MAPPER_H
#define SS_MAPPER_H

#include <stddef.h>

#include "ss_config.h"
#include "ss_dataset.h"

#define SS_MAPPER_MAX_FIELDS 64
#define SS_MAPPER_MAX_SUM 16 /* columns one {"sum": [...]} may add */

struct ss_mapper {
    const struct ss_dataset *ds;
    int column[SS_MAPPER_MAX_FIELDS];           /* source column index, or -1 */
    const char *constant[SS_MAPPER_MAX_FIELDS]; /* fixed value, or NULL */
    size_t ncolumns;                            /* columns in the header */
    /* "mapping": {"loans": {"sum": ["Issues", "Renewals"]}}: the columns a
     * field adds up (nsum 0: none), their names for reasons, and the text
     * of the last record's sum (what vals points at). */
    size_t nsum[SS_MAPPER_MAX_FIELDS];
    int sum[SS_MAPPER_MAX_FIELDS][SS_MAPPER_MAX_SUM];
    const struct ss_config_sum *sum_cfg[SS_MAPPER_MAX_FIELDS];
    const char *sum_field[SS_MAPPER_MAX_FIELDS];
    char sum_text[SS_MAPPER_MAX_FIELDS][64];
};

/* Returns 0, or a negative code with a message naming what is wrong and
 * what the header has: SS_EINVAL (an unknown field in "mapping" or
 * "constants"), SS_ESETUP (a mapped or summed column not in the header, a
 * sum of more than SS_MAPPER_MAX_SUM columns; the required fields that
 * nothing provides, all of them in one message with the columns each could
 * come from, and a count period that nothing provides), SS_E2BIG (a
 * dataset of more than SS_MAPPER_MAX_FIELDS fields). */
int ss_mapper_init(struct ss_mapper *m, const struct ss_dataset *ds,
                   const struct ss_collector_config *cfg, const char *const *names,
                   const size_t *lens, size_t nnames, char *err, size_t errlen);

/* Fills vals/lens (ds->nfields entries) for one record. A field that sums
 * columns gets the sum as text (held in m until the next call); empty when
 * all of its cells are empty (as one empty cell would be). Returns 0, or
 * SS_EINVAL with a reason when the record's column count differs from the
 * header's, or a summed cell is empty while another is not, or is no whole
 * number (the reason names the column); vals/lens are filled even then,
 * from the columns the record has (for the quarantine's raw text, which
 * holds mapped values only: a failed sum's cells joined by "+"). */
int ss_mapper_apply(struct ss_mapper *m, const char *const *fields, const size_t *lens,
                    size_t nfields, const char **vals, size_t *vlens, char *why, size_t whylen);

/* Whether the config or the dataset claims the export's column named name
 * (any case, spaces around ignored): SS_MAPPER_BY_MAPPING when "mapping"
 * names it, SS_MAPPER_BY_NAME when it is a field's published header or name,
 * else 0 -- a column nothing claims is not loaded. Claimed means named: a
 * constant may still give the field its value instead. */
#define SS_MAPPER_BY_NAME 1
#define SS_MAPPER_BY_MAPPING 2
int ss_mapper_claims(const struct ss_dataset *ds, const struct ss_collector_config *cfg,
                     const char *name, size_t len);

/* For check-config, which sees no export: writes into dst the required
 * fields that neither "mapping" nor "constants" provides, each with the
 * column names the export must then have ("authority" (\"Local
 * authority\" or \"authority\"), ...); returns how many (0: dst ""). */
size_t ss_mapper_unconfigured(const struct ss_dataset *ds, const struct ss_collector_config *cfg,
                              char *dst, size_t dstlen);

/* Writes the column names as "A", "B", ... for messages (each cut at 60 bytes). */
void ss_mapper_list_columns(char *dst, size_t dstlen, const char *const *names, const size_t *lens,
                            size_t n);

#endif
