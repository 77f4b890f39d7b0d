/* ss_quarantine: `shelfsync quarantine list|show|replay`, the operator's
 * view of ingest.quarantine (through ingest.v_quarantine, migration 014)
 * and the way back out of it.
 *
 * list and show only read. replay takes the outstanding records the filter
 * selects that can be sent again (their values by field are kept: not
 * those the collector could not read, nor repeats of a key within an
 * export) and sends them through the daemon's own apply of a batch
 * (ss_wh_apply_hooked: today's validation, normalisation, reference data
 * and aliases; the natural-key upsert, source precedence, coverage), as
 * batches of a replay run (ingest.runs outcome 'replay', ingest.batches
 * replay) under the source that first sent them. In each batch's own
 * transaction the selected rows are locked and checked to be still
 * outstanding, and marked: loaded, replaced (failed again for another
 * reason: the row of that reason holds the record), or still outstanding
 * (failed again for the same reason: replayed_at set, seen_count as it
 * was). So a record loads at most once however often replay runs, a crash
 * leaves each batch applied whole or not at all, and a record that still
 * fails is never counted twice. Identical records (the same values on two
 * lines or in two runs) are sent once, the most recently received line
 * standing for them. --dry-run does all of it and rolls each batch back.
 *
 * Every function prints to out and returns 0, or a negative code with err.
 */
#ifndef SS_QUARANTINE_H
#define SS_QUARANTINE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "ss_config.h"
#include "ss_warehouse.h"

/* Which quarantined records: NULL members match all. */
struct ss_quar_filter {
    const char *source, *dataset;
    const char *reason; /* a part of the reason, in any case */
    const char *since;  /* YYYY-MM-DD: received on or after that day */
    long id;            /* show: this record only; 0: by the rest */
    long limit;         /* show: at most this many; 0: 100 */
};

/* Counts by source, dataset and reason (line numbers in it masked as N):
 * records, outstanding, loaded and replaced by a replay, superseded, how
 * many outstanding ones a replay can send; first and last received. */
int ss_quarantine_list(PGconn *conn, const struct ss_quar_filter *f, int json, FILE *out, char *err,
                       size_t errlen);

/* The records themselves: id, source, dataset, line, batch and run, state,
 * reason, raw text. */
int ss_quarantine_show(PGconn *conn, const struct ss_quar_filter *f, int json, FILE *out, char *err,
                       size_t errlen);

/* Replays as above, with the bounds and authority rules of the daemon
 * config cfg (and, with CURVE, the rights its allow file gives the keys
 * that may write each source). Prints "replayed N: M loaded, K still
 * quarantined" with the reasons, and the outstanding records it could not
 * send and why. wh must be prepared (ss_wh_prepare). */
int ss_quarantine_replay(struct ss_wh *wh, const struct ss_daemon_config *cfg,
                         const struct ss_quar_filter *f, int dry_run, FILE *out, char *err,
                         size_t errlen);

#endif
