/* ss_state: a collector's state directory -- who may use it, and the
 * incremental cursor kept in it.
 *
 * ss_state_open() creates STATE_DIR (mode 0750) and takes an exclusive
 * lock on STATE_DIR/lock (flock, released by the kernel when the process
 * ends, however it ends), writing our pid into the file. Two runs on one
 * state directory would both fetch and send everything and race on the
 * cursor: the second gets -EWOULDBLOCK with the holder's pid in the message.
 *
 * The cursor (STATE_DIR/cursor, replaced atomically: tmp + fsync + rename +
 * directory fsync) is stored with the identity of the config that made it:
 * a SHA-256 over every part of the config that shapes records (dataset,
 * url, kind and its options, mapping, constants, value maps, transforms,
 * csv options, privacy, limits, allow_empty) -- everything but the delivery
 * keys (daemon, send, batch, state_dir, interval_s, log_level, description)
 * and the HTTP client's timeouts and retries. A cursor saved under another
 * identity is not used: the next run fetches in full, so a fixed value map
 * reaches every record instead of only the ones changed since.
 *
 * File format: a JSON object {"version":2,"config":"<64 hex>","cursor":"..."}.
 * A cursor file of an older version (plain text) is treated as made by
 * another config.
 */
#ifndef SS_STATE_H
#define SS_STATE_H

#include <stddef.h>

#include "ss_buf.h"

/* Longest cursor kept (an ETag and Last-Modified; Koha's ids at the last
 * timestamp; FOLIO's last updatedDate and ids). */
#define SS_CURSOR_MAX (64 * 1024)
#define SS_STATE_IDENTITY_LEN 64 /* hex digits of SHA-256 */

struct ss_state;

/* 0; -EWOULDBLOCK when another process holds the lock (err names its pid);
 * another negative errno with err on failure. */
int ss_state_open(struct ss_state **out, const char *state_dir, char *err, size_t errlen);
/* Releases the lock. NULL is fine. */
void ss_state_close(struct ss_state *st);

/* The identity of the collector config file at path (see above), as 64 hex
 * digits and a NUL. 0, or with err SS_EINVAL (the file cannot be read as
 * JSON) or SS_ENOMEM. */
int ss_state_identity(const char *config_path, char *out, char *err, size_t errlen);

/* Reads the cursor saved under identity. Returns 1 with it in cursor; 0 when
 * there is none to use, with why set to a reason worth logging when one was
 * there but is not used ("" when there simply is none); negative errno on a
 * read error. */
int ss_state_cursor_read(struct ss_state *st, const char *identity, struct ss_buf *cursor,
                         char *why, size_t whylen);
/* Saves cursor under identity, durably. 0, -E2BIG past SS_CURSOR_MAX (what
 * ss_state_cursor_read takes back), or another negative errno. */
int ss_state_cursor_write(struct ss_state *st, const char *identity, const char *cursor,
                          size_t len);
/* Removes the saved cursor (the next run fetches in full). 0 or negative errno. */
int ss_state_cursor_clear(struct ss_state *st);

const char *ss_state_dir(const struct ss_state *st);

#endif
