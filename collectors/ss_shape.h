/* ss_shape: what the collector does to each mapped record before it leaves
 * the library's network, field by field in this order (map_value,
 * transform_value, pseudonymise; a field whose map has "transform_first"
 * swaps the first two):
 *   1. value maps ("value_maps": branch code -> service point, item type
 *      code -> type; the whole value, exactly or for a "match": "loose" map
 *      by ss_config_valmap_key; a value with no entry passes unchanged);
 *   2. transforms ("transforms": age_band turns a date of birth into the
 *      age group it falls in on the run's date -- "Under 12", "12-17",
 *      "Adult"; postcode_district keeps a postcode's outward code only
 *      ("PL6 5AN" -> "PL6"); postcode_lsoa gives the postcode's LSOA from
 *      privacy.lsoa_lookup_file, or nothing when the postcode is not in it;
 *      upper; lower);
 *   3. privacy: every field of type SS_FT_PSEUDONYM (a patron identifier)
 *      becomes the lower-case hex HMAC-SHA256 of its value under the
 *      library service's key ("privacy.hmac_key_file"), or is dropped
 *      (absent) when no key is configured. A clear identifier never
 *      reaches the outbox, the wire or the warehouse.
 * Values the shaper produces live in its own bounded buffer until the next
 * record. */
#ifndef SS_SHAPE_H
#define SS_SHAPE_H

#include <stddef.h>

#include "ss_config.h"
#include "ss_dataset.h"
#include "ss_err.h"

struct ss_shape;

/* NULL with err (an unreadable key file, a value map for a field the
 * dataset lacks). */
struct ss_shape *ss_shape_new(const struct ss_collector_config *cfg, const struct ss_dataset *ds,
                              char *err, size_t errlen);
void ss_shape_free(struct ss_shape *s);

/* Rewrites vals/lens (ds->nfields entries) in place. Returns 0, or with a
 * reason in why -- the record is rejected -- SS_EINVAL (a date of birth
 * that is not a date), SS_E2BIG (its shaped values past the shaper's
 * bound) or SS_ENOMEM. */
int ss_shape_apply(struct ss_shape *s, const char **vals, size_t *lens, char *why, size_t whylen);

/* HMAC-SHA256 of data under key, as 64 lower-case hex digits and a NUL. */
void ss_hmac_sha256_hex(const unsigned char *key, size_t keylen, const char *data, size_t len,
                        char out[65]);

#endif
