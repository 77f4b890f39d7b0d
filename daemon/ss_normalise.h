/* ss_normalise: the daemon's normalisation rules, one pure function per rule.
 *
 * Each takes a value already trimmed by ss_trim() (spaces, tabs, line breaks,
 * no-break spaces at both ends) and non-empty, and either writes the
 * normalised value to out and returns 0, or returns SS_EINVAL (negative,
 * ss_err.h) and sets *why to a short, static reason naming the rule ("not a
 * postcode"). Test failure as `rc < 0`. The one positive return: a value a
 * rule says is "missing" (a placeholder such as "[Unknown]") returns 1
 * (SS_NORM_NO_VALUE) where the rule says so: the field is treated as
 * absent, and a required field then fails as missing. The two predicates
 * (ss_norm_is_placeholder, ss_norm_gss_code) answer 1 or 0 and cannot fail.
 * No allocation, no I/O, no global state: each is unit-tested and fuzzed.
 */
#ifndef SS_NORMALISE_H
#define SS_NORMALISE_H

#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_err.h"

/* A normaliser's positive return: a placeholder, no value. */
#define SS_NORM_NO_VALUE 1

/* Returns 1 for placeholders that mean "no value": "[Unknown]", "Unknown",
 * "N/A", "NA", "n/a", "-", "--", "none", "null", "TBC", "?" (any case). */
int ss_norm_is_placeholder(const char *s, size_t len);

/* UK postcode: upper case, one space before the 3-character inward code
 * ("pl6 5an" -> "PL6 5AN", "PL65AN" -> "PL6 5AN", "PL6  5AN." -> "PL6 5AN").
 * Pattern after normalising: ^([A-Z][A-HJ-Y]?[0-9][A-Z0-9]? [0-9][A-Z]{2}|GIR 0AA)$.
 * Placeholders return SS_NORM_NO_VALUE; a refusal SS_EINVAL. out holds 9 bytes. */
int ss_norm_postcode(const char *s, size_t len, char *out, const char **why);

/* UPRN: 1-12 digits after dropping leading zeros ("000000199356" -> 199356);
 * Excel scientific notation ("1.00041E+11") refused ("in scientific notation:
 * the digits were lost in a spreadsheet"); letters refused; zero refused;
 * placeholders return 1. */
int ss_norm_uprn(const char *s, size_t len, int64_t *out, const char **why);

/* Yes/no: yes, y, true, t, 1 -> 1; no, n, false, f, 0 -> 0 (any case). */
int ss_norm_yesno(const char *s, size_t len, int *out, const char **why);

/* Library type, to the schema code list LAL, LAL-, CL, CRL, ICL (any case,
 * surrounding spaces ignored); accepts IL (-> ICL) and the Arts Council
 * basic-dataset codes LA -> LAL, LAU -> LAL-, C -> CL, CR -> CRL. Writes a
 * static string to *out. */
int ss_norm_library_type(const char *s, size_t len, const char **out, const char **why);

/* A closure code where a library type or a yes/no is expected (fields
 * flagged SS_F_CLOSURE): XL, XLR, "Closed", "Permanently closed", "Closed
 * and replaced" -> "Closed"; XLT, "Temporary Closure", "Temporarily
 * closed", "Temp closed" -> "Temporarily closed" (any case, surrounding
 * spaces ignored, runs of spaces, '-' and '_' alike). A predicate: 1 with
 * *status set to a static string, or 0 (not a closure code). */
int ss_norm_closure(const char *s, size_t len, const char **status);

/* A service point's status, to "Open", "Closed" or "Temporarily closed":
 * those (any case), "open", or any closure code ss_norm_closure knows.
 * Writes a static string to *out. */
int ss_norm_sp_status(const char *s, size_t len, const char **out, const char **why);

/* A year, 1800..2100, exactly four digits. */
int ss_norm_year(const char *s, size_t len, int *out, const char **why);

/* A time of day HH:MM (24-hour, 00:00-23:59; also H:MM and HH.MM). Writes
 * minutes since midnight. */
int ss_norm_time(const char *s, size_t len, int *minutes, const char **why);

/* A decimal number: optional '-', digits, optional '.' and up to 18 decimals (coordinates come with
 * 16)
 * ("18.5", "-3.47537"); no exponent, no thousands separators. Writes the
 * canonical text (no leading '+', no leading zeros except "0.x") to out
 * (room for len + 2 bytes). */
int ss_norm_decimal(const char *s, size_t len, char *out, size_t outlen, const char **why);

/* A count: a non-negative whole number; "1,234" with correctly placed
 * thousands separators accepted. */
int ss_norm_count(const char *s, size_t len, long long *out, const char **why);

/* A count that may be suppressed: "x" or "X" (a count of 1 to 4 withheld
 * for privacy) sets *suppressed = 1 and *out = 0; otherwise as ss_norm_count. */
int ss_norm_suppressed_count(const char *s, size_t len, long long *out, int *suppressed,
                             const char **why);

/* Opening hours for one day: "09:00-12:00,13:00-17:00". Intervals must be
 * HH:MM-HH:MM (H:MM and '.' separators and spaces around ',' and '-'
 * tolerated), start before end (24:00 allowed as an end), in order and not
 * overlapping. "closed", "Closed", "X" -> no intervals (0 minutes, out "").
 * Writes the canonical form "09:00-12:00,13:00-17:00" to out and the total
 * minutes open to *minutes. At most 8 intervals. */
int ss_norm_hours(const char *s, size_t len, struct ss_buf *out, int *minutes, const char **why);

/* A day of the week, full English name any case, or its 3-letter form:
 * writes 1 (Monday) .. 7 (Sunday). */
int ss_norm_weekday(const char *s, size_t len, int *out, const char **why);

/* One value from a code list: matches case-insensitively, ignoring
 * surrounding spaces and treating runs of spaces, '-' and '_' alike; writes
 * the list's canonical spelling to *out. codes is NULL-terminated. */
int ss_norm_code(const char *s, size_t len, const char *const *codes, const char **out,
                 const char **why);

/* The key under which an authority name is looked up in ref.authority_alias:
 * lower case; '&' -> "and"; punctuation (.,'’()-) to spaces; spaces
 * collapsed; leading "the ", "london borough of ", "royal borough of ",
 * "city and county of ", "city of ", "county of ", "borough of " removed;
 * trailing " council", " city council", " county council", " borough
 * council", " metropolitan borough council", " district council", " city",
 * " county", " libraries", " library service" removed; and a trailing
 * ", city of" / ", county of" form ("Bristol, City of") read as its base
 * name. So "London Borough of Barnet", "Barnet" and "Barnet Council" all
 * give "barnet"; "Bristol City Council", "City of Bristol" and "Bristol,
 * City of" give "bristol". Writes at most outlen-1 bytes; returns the
 * length (positive), or SS_EINVAL if nothing is left. */
int ss_norm_authority_key(const char *s, size_t len, char *out, size_t outlen);

/* 1 if s looks like an ONS GSS code: a letter E, W, S, N or K then 8 digits,
 * or 9 characters like "E06000023" any case (out gets the upper-case form,
 * 10 bytes). */
int ss_norm_gss_code(const char *s, size_t len, char *out);

#endif
