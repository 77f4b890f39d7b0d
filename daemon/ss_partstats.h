/* ss_partstats: statistics for the tables partitioned by financial year.
 *
 * autovacuum ANALYZEs the partitions of core.loans and core.visits
 * (migration 017) but never the partitioned tables themselves, and a
 * query over a whole partitioned table (not pruned to one partition) is
 * planned with the table's own statistics. Without them every column is
 * taken to have 200 distinct values, and a batch joined to the table on
 * its natural key (the several-sources side_sql) can be planned as a merge
 * join on authority_code alone, the rest of the key a join filter: every
 * staged row against every row of its authority (150,000,000 comparisons,
 * 25 s, for a 5,000-record batch against 30,000 rows of one authority).
 *
 * So the daemon does for these tables what autovacuum does for a plain
 * one: once the batches it applied have written more than 50 rows plus
 * 10 % of the rows the table had at its last ANALYZE (autovacuum's
 * default analyze threshold and scale factor; before its first, the rows
 * its partitions had at theirs, which a TRUNCATE resets), it calls
 * core.analyze_partitioned (migration 017; SECURITY DEFINER, since the
 * daemon's role does not own the table), after the batch's ack -- on a
 * connection of its own and without waiting for it: an ANALYZE of a table
 * of a million rows takes a second, which a load of that table would
 * otherwise wait for some ten times over. One runs at a time; the daemon
 * collects its answer (ss_partstats_poll) as its loop comes round. */
#ifndef SS_PARTSTATS_H
#define SS_PARTSTATS_H

#include <libpq-fe.h>
#include <stddef.h>

#define SS_PARTSTATS_BASE 50.0
#define SS_PARTSTATS_SCALE 0.1
#define SS_PARTSTATS_MAX 8

struct ss_partstats {
    struct {
        const char *table;
        double pending;   /* rows written since the last ANALYZE */
        double reltuples; /* the table's rows at its last ANALYZE; < 0: not read yet */
    } t[SS_PARTSTATS_MAX];
    size_t n;
    size_t busy; /* the entry whose ANALYZE is under way, or SS_PARTSTATS_MAX */
};

void ss_partstats_init(struct ss_partstats *ps);

/* 1 when rows written since an ANALYZE that counted reltuples rows
 * (negative or 0: none yet) call for another. */
int ss_partstats_due(double pending, double reltuples);

/* A batch of dataset was applied, writing up to rows rows. For a
 * partitioned dataset whose table is due, starts its ANALYZE on conn (the
 * statistics' own connection, outside a transaction) unless one is under
 * way. 1 when it started one, 0 when nothing was due, or a negative code
 * with err (the count is kept: a later batch tries again). */
int ss_partstats_note(struct ss_partstats *ps, PGconn *conn, const char *dataset, unsigned rows,
                      char *err, size_t errlen);

/* Whether the ANALYZE under way on conn has finished: 1 when it just did
 * (its table's row count taken), 0 when none is under way or it still
 * runs, or a negative code with err (it failed, or the connection did:
 * the caller may drop the connection; the table is due again). */
int ss_partstats_poll(struct ss_partstats *ps, PGconn *conn, char *err, size_t errlen);

#endif
