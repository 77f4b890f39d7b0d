/* ss_zap: the daemon's ZAP handler (RFC 27), deciding who may complete a
 * CURVE handshake.
 *
 * It answers on inproc://zeromq.zap.01, in a thread of its own, because the
 * main loop blocks for as long as a batch takes to apply or the database is
 * away, and handshakes would time out meanwhile. A request for domain
 * SS_ZAP_DOMAIN with mechanism CURVE and a key in the allow-list gets 200
 * with the key in Z85 as the user id; anything else gets 400 (or 500 for a
 * malformed request), and is counted. A refused key is logged once a minute
 * (on every try at debug level): refused collectors reconnect in a loop.
 *
 * allow_file is replaced under the lock too (a reload), and read under it.
 * The allow-list is the caller's: it is set with ss_zap_set_allow (under
 * the handler's lock) and read by the main thread without the lock, which
 * is safe because only the main thread replaces it. The lock, the counters
 * (atomic) and the list are the only state the two threads share.
 */
#ifndef SS_ZAP_H
#define SS_ZAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ss_allow.h"
#include "ss_log.h"

#define SS_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define SS_ZAP_DOMAIN "shelfsync"

struct ss_zap {
    void *sock;
    pthread_t thread;
    int running;
    atomic_int stop;
    atomic_ulong denied, allowed;
    pthread_mutex_t lock;
    struct ss_allow *allow;                 /* owned; replaced by ss_zap_set_allow */
    const char *allow_file;                 /* for messages */
    char last_denied[SS_ALLOW_KEY_LEN + 1]; /* for quieter logs on reconnect loops */
    int64_t last_denied_ms;
    struct ss_log_limit log; /* the thread's own; set its burst and window before ss_zap_start */
};

void ss_zap_init(struct ss_zap *z, const char *allow_file);
/* Binds the ZAP socket in zctx (so an error stops the start) and starts the
 * thread, with every signal blocked in it. 0, or a negative code (logged). */
int ss_zap_start(struct ss_zap *z, void *zctx);
/* Replaces the allow-list (under the lock) and frees the old one. */
void ss_zap_set_allow(struct ss_zap *z, struct ss_allow *fresh);
/* Stops the thread, closes the socket, frees the allow-list. */
void ss_zap_free(struct ss_zap *z);

#endif
