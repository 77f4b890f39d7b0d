/* ss_authmap: the daemon's in-memory copy of ref.authority (codes with the
 * days they were valid), ref.authority_successor (reorganisations) and
 * ref.authority_alias (names), for resolving the authority each record names
 * to the ONS GSS code valid AT THE RECORD'S PERIOD, without a query per
 * record. Built from one query; rebuilt when ref.meta's
 * authorities_generation changes. At most SS_AUTHMAP_MAX codes, names and
 * successors each.
 *
 * A name (an alias key, ss_norm_authority_key: lower case) may stand for up
 * to SS_AUTHMAP_CANDIDATES codes, one for each authority that used it
 * ("somerset": E10000027 until 2023-03-31, E06000066 from 2023-04-01). A
 * record gets the code whose validity covers its whole period; with no date
 * the current one (else the one that ended last). A code (or a name whose
 * authorities all ended before the period) used for a period after the
 * authority was abolished is refused with a reason naming its successors, or,
 * with SS_AUTHMAP_SUCCESSOR, becomes its single successor (never for a split
 * into several); a period that starts before the authority existed, or that
 * runs across its first or last day, is refused too.
 *
 * Lookups allocate nothing; a reason is written into the caller's buffer. */
#ifndef SS_AUTHMAP_H
#define SS_AUTHMAP_H

#include <stddef.h>

#define SS_AUTHMAP_MAX 1000000
/* Codes one name may stand for (the real data has at most 2). */
#define SS_AUTHMAP_CANDIDATES 6

struct ss_authmap;

/* The days (ss_date_to_days) a record is about, inclusive; have == 0: no
 * date at all. */
struct ss_authmap_when {
    int have;
    long start, end;
};

/* What to do with a code used after its authority was abolished. */
enum ss_authmap_abolished {
    SS_AUTHMAP_QUARANTINE, /* refuse it, naming the successor(s) */
    SS_AUTHMAP_SUCCESSOR,  /* the single successor's code (a split is still refused) */
};

struct ss_authmap *ss_authmap_new(void);
void ss_authmap_free(struct ss_authmap *m);

/* Adds (or updates) an authority: code (9 characters), a short name for
 * messages (may be NULL), its first and last valid day as "YYYY-MM-DD" (NULL
 * or "" when open). 0, SS_EINVAL (bad code or date, or valid_to before
 * valid_from), SS_ENOMEM or SS_E2BIG. */
int ss_authmap_add(struct ss_authmap *m, const char *code, const char *name, const char *valid_from,
                   const char *valid_to);
/* Records that new_code took over (all or part of) old_code's area on
 * changed_on ("YYYY-MM-DD"). Both codes must have been added: 0, SS_EINVAL,
 * SS_ENOMEM or SS_E2BIG. */
int ss_authmap_add_successor(struct ss_authmap *m, const char *old_code, const char *new_code,
                             const char *changed_on);
/* Adds key -> code (one more code for the key; the same pair again changes
 * nothing). A code not added yet is added as always valid. A key that is a
 * GSS code (upper case) only adds the code. Returns 0, SS_EINVAL (code not 9
 * characters, key empty or too long), SS_ENOMEM or SS_E2BIG (the table is
 * full, or the key already has SS_AUTHMAP_CANDIDATES codes). */
int ss_authmap_put(struct ss_authmap *m, const char *key, const char *code);
/* The code key stands for today (a GSS code: itself, if known), or NULL. */
const char *ss_authmap_get(const struct ss_authmap *m, const char *key);
/* Names plus codes held. */
size_t ss_authmap_count(const struct ss_authmap *m);

/* Resolves a value as a record gives it (a GSS code or a name) to the code
 * valid at when (NULL: no date). Returns the code, or NULL with the reason
 * (without the value itself) in why. */
const char *ss_authmap_resolve_at(const struct ss_authmap *m, const char *s, size_t len,
                                  const struct ss_authmap_when *when,
                                  enum ss_authmap_abolished abolished, char *why, size_t whylen);

/* ss_authmap_resolve_at in two steps, so that a caller computes the
 * record's dates only when they matter (a name or code of one authority that
 * was never reorganised needs none: the hot path):
 * ss_authmap_lookup finds what the value names (0, or SS_EINVAL with the
 * reason in why); ss_authmap_dated says whether the code depends on the
 * date; ss_authmap_pick gives the code at when, as ss_authmap_resolve_at.
 * A hit is valid until the map changes. */
struct ss_authmap_hit {
    const void *entry; /* opaque */
    int code;          /* 1: the value is a GSS code; 0: a name */
};
int ss_authmap_lookup(const struct ss_authmap *m, const char *s, size_t len,
                      struct ss_authmap_hit *hit, char *why, size_t whylen);
int ss_authmap_dated(const struct ss_authmap *m, const struct ss_authmap_hit *hit);
const char *ss_authmap_pick(const struct ss_authmap *m, const struct ss_authmap_hit *hit,
                            const struct ss_authmap_when *when, enum ss_authmap_abolished abolished,
                            char *why, size_t whylen);

/* ss_authmap_resolve_at with no date: returns the code, or NULL with *why
 * set to a static reason. */
const char *ss_authmap_resolve(const struct ss_authmap *m, const char *s, size_t len,
                               const char **why);

#endif
