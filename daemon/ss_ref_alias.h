/* ss_ref_alias: the merge into ref.authority_alias that never lets an
 * ambiguous name pick a code (internal to ss_ref_*.c).
 *
 * ss_ref__merge_open reads the aliases and the codes already in the
 * warehouse; each ss_ref__merge_add then either adds an alias (COPY, inside
 * the caller's transaction) or leaves it out: a key (ss_norm_authority_key)
 * already held by the same code changes nothing; one held by codes valid at
 * other times (ref.authority valid_from .. valid_to: "Somerset", the county
 * until 2023-03-31 and the unitary from 2023-04-01) gets the new code as
 * well; one held by a code valid at the same time keeps the first code and
 * logs a warning naming both; a code that is not in ref.authority is
 * skipped with a warning. Functions return 0 or a
 * negative code with err (ss_ref_copy.h).
 *
 * struct ss_ref_names is a growable list of (alias, code) pairs, copied in:
 * the names a loader collects before the merge.
 */
#ifndef SS_REF_ALIAS_H
#define SS_REF_ALIAS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "ss_hash.h"
#include "ss_ref.h"
#include "ss_ref_copy.h"

struct ss_ref_names {
    char **alias, **code;
    size_t n, cap;
};

/* Adds a copy of (alias, code): 0, or SS_ENOMEM with err. */
int ss_ref__names_add(struct ss_ref_names *l, const char *alias, const char *code, char *err,
                      size_t errlen);
void ss_ref__names_free(struct ss_ref_names *l);

struct ss_ref_merge {
    struct ss_hmap keys;  /* alias_key -> struct ss_ref_merge_key */
    struct ss_hmap codes; /* codes in ref.authority (no value) */
    struct ss_ref_copy copy;
    int copying;
    unsigned added, ambiguous, unknown_code;
};

/* What adding (alias, code) would do: the key (ss_norm_authority_key) in
 * key, and for the refusals a sentence in why naming the codes (and, for
 * an ambiguous name, the alias that holds the key). */
enum ss_ref_alias_verdict {
    SS_REF_ALIAS_NEW,          /* added */
    SS_REF_ALIAS_KNOWN,        /* the key already stands for the code: nothing to do */
    SS_REF_ALIAS_NO_KEY,       /* the name normalises to nothing */
    SS_REF_ALIAS_UNKNOWN_CODE, /* the code is not in ref.authority */
    SS_REF_ALIAS_AMBIGUOUS,    /* the key stands for another code valid at the same time */
};

int ss_ref__merge_open(struct ss_ref_merge *m, PGconn *conn, char *err, size_t errlen);
/* origin is what ref.authority_alias.origin records ("curated", "nice name"). */
int ss_ref__merge_add(struct ss_ref_merge *m, PGconn *conn, const char *alias, const char *code,
                      const char *origin, char *err, size_t errlen);
enum ss_ref_alias_verdict ss_ref__merge_check(const struct ss_ref_merge *m, const char *alias,
                                              const char *code, char key[SS_REF_KEY_MAX], char *why,
                                              size_t whylen);
/* Adds every pair of l with one origin. */
int ss_ref__merge_names(struct ss_ref_merge *m, PGconn *conn, const struct ss_ref_names *l,
                        const char *origin, char *err, size_t errlen);
/* Ends the COPY (discarding it when abort is set) and frees. */
int ss_ref__merge_close(struct ss_ref_merge *m, int abort, char *err, size_t errlen);
/* Whether code is in ref.authority (as read by ss_ref__merge_open). */
int ss_ref__merge_has_code(const struct ss_ref_merge *m, const char *code);

#endif
