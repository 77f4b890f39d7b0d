/* ss_postcode: UK postcodes, the one set of rules both programs use.
 *
 * A postcode is worked on in its compact form: upper case, no spaces
 * ("PL65AN", 5 to 7 characters); ss_postcode_format puts back the one space
 * before the 3-character inward code ("PL6 5AN"), and the outward code (the
 * district, "PL6") is the first n - 3 characters.
 *
 * Two strengths, each the rule one side has always applied and tests:
 *   strict (SS_POSTCODE_STRICT), the daemon's rule for a value stored as a
 *     postcode: full stops, commas and blanks (space, tab, no-break space)
 *     at the end are dropped, blanks anywhere are dropped, anything else but
 *     ASCII letters and digits is refused, and what is left must match
 *     [A-Z][A-HJ-Y]?[0-9][A-Z0-9]?[0-9][A-Z]{2} or be GIR0AA;
 *   lax (0), the collector's rule for matching a postcode directory extract
 *     and keeping a district: spaces, tabs, CR, LF and double quotes
 *     anywhere are dropped, ASCII letters upper-cased, and any 5 to 7
 *     characters left are taken (a lookup, not a check: a wrong postcode is
 *     simply not found).
 * Pure functions, no allocation.
 */
#ifndef SS_POSTCODE_H
#define SS_POSTCODE_H

#include <stddef.h>

/* Characters of a compact postcode, at most. */
#define SS_POSTCODE_MAX 7
/* Bytes of the formatted form with its NUL ("EC1A 1BB"). */
#define SS_POSTCODE_TEXT (SS_POSTCODE_MAX + 2)

#define SS_POSTCODE_STRICT 1u

/* The compact form of s into out (SS_POSTCODE_MAX + 1 bytes, NUL-terminated).
 * Returns its length (5 to 7), or SS_EINVAL with *why = "not a UK postcode"
 * (out is then ""). */
int ss_postcode_compact(const char *s, size_t len, unsigned flags, char *out, const char **why);

/* The compact postcode c (n characters, from ss_postcode_compact) with one
 * space before the inward code, into out (SS_POSTCODE_TEXT bytes). */
void ss_postcode_format(const char *c, size_t n, char *out);

/* Characters of the outward code (the district) of a compact postcode of n characters. */
static inline size_t ss_postcode_outward_len(size_t n)
{
    return n - 3;
}

#endif
