/* ss_authmap: the daemon's in-memory copy of ref.authority and
 * ref.authority_alias, for resolving the authority each record names to its
 * ONS GSS code without a query per record. A table (struct ss_hmap) of
 * key -> code, at most a million entries, where keys are GSS codes (upper case) and alias keys
 * (ss_norm_authority_key: lower case), so the two never collide. Built from
 * one query; rebuilt when ref.meta's authorities_generation changes. */
#ifndef SS_AUTHMAP_H
#define SS_AUTHMAP_H

#include <stddef.h>

struct ss_authmap;

struct ss_authmap *ss_authmap_new(void);
void ss_authmap_free(struct ss_authmap *m);
/* Adds or replaces key -> code. Returns 0, SS_EINVAL (code not 9 characters,
 * key empty or too long), SS_ENOMEM or SS_E2BIG (the table is full). */
int ss_authmap_put(struct ss_authmap *m, const char *key, const char *code);
/* The code for key, or NULL. */
const char *ss_authmap_get(const struct ss_authmap *m, const char *key);
size_t ss_authmap_count(const struct ss_authmap *m);

/* Resolves a value as a record gives it (a GSS code or a name) to a known
 * GSS code. Returns the code, or NULL with *why set. */
const char *ss_authmap_resolve(const struct ss_authmap *m, const char *s, size_t len,
                               const char **why);

#endif
