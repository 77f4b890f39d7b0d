/* ss_occurrence: numbers records that share a natural key within one export
 * (two sessions of "Toddler Read and Rhyme" at one library on one day are
 * occurrences 1 and 2), for datasets whose source rows have no key of their
 * own. Keys are held as 64-bit hashes of their values in a table bounded at
 * creation, so memory stays flat; past the bound the export is refused
 * rather than numbered wrongly. The same export in the same order always
 * gets the same numbers, so a re-load changes nothing. */
#ifndef SS_OCCURRENCE_H
#define SS_OCCURRENCE_H

#include <stddef.h>
#include <stdint.h>

struct ss_occurrence;

struct ss_occurrence *ss_occurrence_new(size_t max_keys);
void ss_occurrence_free(struct ss_occurrence *o);
/* Forgets every key (a new run). */
void ss_occurrence_reset(struct ss_occurrence *o);

/* Returns the occurrence number (1, 2, ...) of a record with these key
 * values (NULL for absent), or 0 when the table is full. */
uint32_t ss_occurrence_next(struct ss_occurrence *o, const char *const *vals, const size_t *lens,
                            size_t n);

#endif
