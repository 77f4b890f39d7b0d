/* ss_outbox: the collector's durable queue of batches, one file per batch
 * under STATE_DIR/outbox/, named RUN_ID-SEQ.batch (a run record:
 * RUN_ID-SEQ.run) so names sort in the order they were made.
 *
 * A batch is written to NAME.tmp, fsynced, renamed to NAME and the directory
 * fsynced: once ss_outbox_put() returns 0 the batch survives a crash or a
 * power cut, and a file that is visible is complete. Leftover .tmp files are
 * deleted on open. A batch leaves the outbox only when the daemon acked it
 * (ss_outbox_remove) or refused it for good (ss_outbox_refuse moves it to
 * STATE_DIR/refused/ with a .reason file beside it, for a person to look at).
 *
 * File format: "SSB1", u32 header length, header (the protocol's header
 * frame, JSON), u64 payload length, payload. Little-endian.
 */
#ifndef SS_OUTBOX_H
#define SS_OUTBOX_H

#include <stddef.h>

#include "ss_buf.h"
#include "ss_proto.h"

#define SS_OUTBOX_NAME_MAX 96

struct ss_outbox;

int ss_outbox_open(struct ss_outbox **out, const char *state_dir, char *err, size_t errlen);
void ss_outbox_close(struct ss_outbox *ob);

/* Writes a batch durably. header is the encoded header frame. The name given
 * to it is written to name (SS_OUTBOX_NAME_MAX + 1 bytes). Returns 0 or
 * negative errno (-ENOSPC when the disk is full: nothing is left behind). */
int ss_outbox_put(struct ss_outbox *ob, const struct ss_header *h, const struct ss_buf *header,
                  const struct ss_buf *payload, char *name);

/* The names of the batches waiting, sorted; *names is malloc'd (free with
 * ss_outbox_names_free). Returns 0 or negative errno. */
int ss_outbox_list(struct ss_outbox *ob, char (**names)[SS_OUTBOX_NAME_MAX + 1], size_t *count);
void ss_outbox_names_free(char (*names)[SS_OUTBOX_NAME_MAX + 1]);

/* Reads a batch back. header and payload are reset and filled; h is the
 * decoded header. Returns 0, -ENOENT, or -EBADMSG for a damaged file (with
 * the reason in err). */
int ss_outbox_load(struct ss_outbox *ob, const char *name, struct ss_header *h,
                   struct ss_buf *header, struct ss_buf *payload, char *err, size_t errlen);

int ss_outbox_remove(struct ss_outbox *ob, const char *name);
int ss_outbox_refuse(struct ss_outbox *ob, const char *name, const char *reason);

const char *ss_outbox_dir(const struct ss_outbox *ob);

#endif
