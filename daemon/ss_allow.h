/* ss_allow: the daemon's allow-list of collector CURVE keys, and what each
 * key may write.
 *
 * The file has one line per collector:
 *
 *     PUBLICKEY  AUTHORITIES  SOURCES  # comment
 *
 * PUBLICKEY is the collector's Z85 public key (40 characters, as
 * `shelfsync keygen` writes it to PATH.pub). AUTHORITIES is a comma-separated
 * list of ONS GSS codes (E09000003) or `*` for any authority. SOURCES is a
 * comma-separated list of source names; an entry ending in `*` matches every
 * source that starts with what comes before it (`barnet-*`), and `*` alone
 * matches every source. Blank lines and everything from `#` to the end of a
 * line are ignored (a comment is kept, trimmed by ss_trim). A key listed
 * twice, a malformed key, code or source is an error that names file:line
 * (and the column of the offending field).
 *
 * Pure parsing and lookup: no I/O except ss_allow_load reading the file, no
 * libzmq (keys are checked against the Z85 alphabet here). The caller owns
 * what ss_allow_load/ss_allow_parse return and frees it with ss_allow_free.
 */
#ifndef SS_ALLOW_H
#define SS_ALLOW_H

#include <stddef.h>

#define SS_ALLOW_KEY_LEN 40         /* Z85 text of a 32-byte key */
#define SS_ALLOW_MAX_ENTRIES 10000  /* keys per file */
#define SS_ALLOW_MAX_ITEMS 256      /* authorities or sources per key */
#define SS_ALLOW_MAX_LINE 16384     /* bytes per line */
#define SS_ALLOW_MAX_FILE (4 << 20) /* bytes per file */

struct ss_allow_entry {
    char key[SS_ALLOW_KEY_LEN + 1];
    char **authorities; /* GSS codes (upper case), or one "*" */
    size_t nauthorities;
    char **sources; /* names, "prefix*" patterns, or "*" */
    size_t nsources;
    char *comment; /* text after '#', trimmed; "" when none */
    unsigned line;
};

struct ss_allow {
    struct ss_allow_entry *entries;
    size_t n;
};

/* Parses text (len bytes) read from path (used in messages only). Returns 0
 * with *out set, or a negative code with "path:line:col: what" in err:
 * SS_EINVAL for a bad line, SS_E2BIG past a bound above, SS_ENOMEM. */
int ss_allow_parse(const char *path, const char *text, size_t len, struct ss_allow **out, char *err,
                   size_t errlen);
/* Reads and parses the file at path: as ss_allow_parse, or -errno when it
 * cannot be read, SS_E2BIG when larger than SS_ALLOW_MAX_FILE. */
int ss_allow_load(const char *path, struct ss_allow **out, char *err, size_t errlen);
void ss_allow_free(struct ss_allow *a);

/* 1 if s is 40 characters of the Z85 alphabet. */
int ss_allow_key_valid(const char *s);

/* The entry for a Z85 public key, or NULL. */
const struct ss_allow_entry *ss_allow_find(const struct ss_allow *a, const char *key);
/* 1 if the entry may write source / authority code. */
int ss_allow_source_ok(const struct ss_allow_entry *e, const char *source);
int ss_allow_authority_ok(const struct ss_allow_entry *e, const char *code);

/* Writes "authorities E1,E2; sources a-*" (truncated to fit) for log lines. */
void ss_allow_describe(const struct ss_allow_entry *e, char *buf, size_t buflen);

/* Calls fn once per difference between old and new (a key added, removed or
 * with other rights), with a one-line description; old may be NULL. Returns
 * the number of differences. */
size_t ss_allow_diff(const struct ss_allow *old, const struct ss_allow *new,
                     void (*fn)(void *arg, const char *what), void *arg);

#endif
