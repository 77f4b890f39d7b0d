/* ss_precedence: the collector sources the warehouse knows (ingest.source) and
 * their precedence, for `shelfsync source`. A fact two sources sent holds
 * the value of the source of higher precedence (ss_whsql.h); setting a
 * precedence puts every contested key's winner in the fact tables again,
 * in the same transaction, so the views never show a state between the two.
 * Reports go to the caller's FILE; errors into err, as ss_pg.
 */
#ifndef SS_PRECEDENCE_H
#define SS_PRECEDENCE_H

#include <libpq-fe.h>
#include <stdio.h>

/* Prints every source: precedence, datasets written, contested values and
 * how many of them win, first and last batch, note. 0, or a negative code
 * (ss_pg) with err. */
int ss_precedence_list(PGconn *conn, FILE *out, char *err, size_t errlen);

/* Sets the precedence of source name (and its note, unless note is NULL),
 * then re-resolves the contested keys of every dataset the source has
 * values in: all in one transaction, each dataset under the lock its
 * batches take. Says on out what changed. 0; SS_EINVAL with err for a
 * source ingest.source does not list (the known ones named); or a negative
 * code (ss_pg, SS_ENOMEM) with err, nothing changed. */
int ss_precedence_set(PGconn *conn, const char *name, int precedence, const char *note, FILE *out,
                      char *err, size_t errlen);

#endif
