/* ss_warehouse: the daemon's PostgreSQL side. One connection, and the one
 * operation that matters: apply a batch exactly once.
 *
 * ss_wh_apply() runs ONE transaction: the batch ledger row
 * (source, run_id, seq) first — if it exists the batch is a duplicate and
 * nothing else happens — then every record is validated (ss_validate), good
 * ones are COPYed into a per-connection staging table and upserted into the
 * dataset's table on its natural key (a row whose values are unchanged is
 * not rewritten), bad ones go to ingest.quarantine with their reason and raw
 * text; then COMMIT. Only after it returns SS_WH_APPLIED or SS_WH_DUPLICATE
 * may the caller ack.
 *
 * SS_WH_RETRY means the database could not be used (connection lost, server
 * shutting down, a transient error): nothing was committed; reconnect and try
 * the same batch again. SS_WH_REFUSED means the batch can never be applied
 * (unknown dataset, malformed payload, a permanent database error); the
 * reason says why.
 */
#ifndef SS_WAREHOUSE_H
#define SS_WAREHOUSE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "ss_authmap.h"
#include "ss_config.h"
#include "ss_proto.h"
#include "ss_rejects.h"

struct ss_wh;

struct ss_wh_limits {
    size_t max_records;
    size_t max_field_bytes;
    /* The authorities (GSS codes) the sender may write, "*" for any; NULL:
     * no restriction (no CURVE). A record whose authority resolves to any
     * other code refuses the WHOLE batch (nothing lands, not even to the
     * quarantine) with a reason naming the line and the authority; out->
     * forbidden is set. */
    const char *const *authorities;
    size_t nauthorities;
    /* A code (or a name of abolished authorities only) used for a period
     * after the abolition: quarantined naming the successors, or the single
     * successor's code ("authorities.abolished" in the daemon's config). */
    enum ss_authmap_abolished abolished;
};

enum ss_wh_result {
    SS_WH_APPLIED,
    SS_WH_DUPLICATE,
    SS_WH_REFUSED,
    SS_WH_RETRY,
};

struct ss_wh_outcome {
    enum ss_wh_result result;
    unsigned accepted;
    unsigned quarantined;
    unsigned direct; /* of accepted: COPYed straight into the table (no staging, no upsert) */
    int forbidden;   /* SS_WH_REFUSED because of limits->authorities */
    char reason[SS_PROTO_REASON_MAX + 1];
    /* Why the quarantined ones were (applied, and duplicate: read back from
     * the quarantine), for the ack; wh's own, valid until its next apply. */
    const struct ss_rejects *rejects;
};

/* Connects (conninfo, plus a password read from password_file if not NULL).
 * Returns NULL with a message in err. */
struct ss_wh *ss_wh_connect(const char *conninfo, const char *password_file, char *err,
                            size_t errlen);
void ss_wh_free(struct ss_wh *wh);
PGconn *ss_wh_conn(struct ss_wh *wh);
/* Creates the staging tables; call after migrations. 0, or a negative
 * code with err. */
int ss_wh_prepare(struct ss_wh *wh, char *err, size_t errlen);
/* 1 while the connection is usable. */
int ss_wh_ok(struct ss_wh *wh);

/* Applies one batch, the delivery contract of DESIGN.md step by step:
 * check the header; record the batch in the ledger (a duplicate stops
 * here); then a part of about SS_WH_PART_BYTES of COPY text at a time:
 * validate its records (each read once), take out keys an earlier batch of
 * the run gave, COPY the rest into staging; upsert the facts (and their
 * history and coverage); quarantine the bad records; COMMIT. Memory does
 * not grow with the batch beyond its key table and its quarantine lines.
 * Returns 0 when applied or a duplicate (out->result says which),
 * SS_ERETRY (out->result SS_WH_RETRY) or SS_EINVAL (SS_WH_REFUSED);
 * out->reason says why. Nothing of a batch that is not applied stays. */
int ss_wh_apply(struct ss_wh *wh, const struct ss_header *h, const void *payload, size_t len,
                const struct ss_wh_limits *limits, struct ss_wh_outcome *out);

/* What a batch of source may do under the daemon config cfg: its bounds,
 * and its "authorities.sources" (else "authorities.abolished") rule;
 * authorities NULL (the caller sets them from the allow file). */
void ss_wh_limits_init(struct ss_wh_limits *limits, const struct ss_daemon_config *cfg,
                       const char *source);

/* Code run inside a batch's transaction by ss_wh_apply_hooked: before()
 * once the ledger row is written (batch_id is known), after() once the
 * facts and the quarantine are, just before COMMIT. Either may be NULL. A
 * hook returns 0, or a negative code with a message in err: the batch is
 * then rolled back (out->result SS_WH_RETRY for SS_ERETRY, else
 * SS_WH_REFUSED; out->reason is err). `shelfsync quarantine replay`
 * (ss_quarantine.c) marks what it replayed this way, in the same
 * transaction as the facts. */
struct ss_wh_hooks {
    int (*before)(void *arg, PGconn *conn, const char *batch_id, char *err, size_t errlen);
    int (*after)(void *arg, PGconn *conn, const char *batch_id, char *err, size_t errlen);
    void *arg;
};

/* ss_wh_apply with hooks (NULL: none, which is ss_wh_apply). */
int ss_wh_apply_hooked(struct ss_wh *wh, const struct ss_header *h, const void *payload, size_t len,
                       const struct ss_wh_limits *limits, const struct ss_wh_hooks *hooks,
                       struct ss_wh_outcome *out);

/* Records a run's beginning or end (a SS_MSG_RUN header) in ingest.runs, in
 * one transaction: 0 (SS_WH_APPLIED), SS_ERETRY or SS_EINVAL, as above. */
int ss_wh_run(struct ss_wh *wh, const struct ss_header *h, struct ss_wh_outcome *out);

#endif
