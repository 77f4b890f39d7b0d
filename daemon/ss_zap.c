/* ss_zap: see ss_zap.h. */
#include "ss_zap.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "ss_log.h"
#include "ss_time.h"

static void zap_reply(void *sock, const char *reqid, size_t reqid_len, const char *status,
                      const char *text, const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, reqid, reqid_len, ZMQ_SNDMORE);
    zmq_send(sock, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0); /* no metadata */
}

/* Answers one request: version, request id, domain, address, identity,
 * mechanism, credentials. Every frame is bounded; anything unexpected is
 * denied. */
static void zap_answer(struct ss_zap *z)
{
    char f[8][256];
    size_t len[8];
    int nf = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->sock, 0) < 0) {
            zmq_msg_close(&m);
            return;
        }
        more = zmq_msg_more(&m);
        if (nf < 8) {
            size_t l = zmq_msg_size(&m);
            len[nf] = l < sizeof(f[0]) - 1 ? l : sizeof(f[0]) - 1;
            memcpy(f[nf], zmq_msg_data(&m), len[nf]);
            f[nf][len[nf]] = '\0';
        }
        nf++;
        zmq_msg_close(&m);
    }
    if (nf < 2)
        return; /* cannot even name the request; libzmq never sends this */
    if (nf < 7 || strcmp(f[0], "1.0") != 0) {
        zap_reply(z->sock, f[1], len[1], "500", "malformed ZAP request", "");
        atomic_fetch_add(&z->denied, 1);
        return;
    }
    if (strcmp(f[2], SS_ZAP_DOMAIN) != 0 || strcmp(f[5], "CURVE") != 0 || len[6] != 32) {
        ss_log_limited(&z->log, "not CURVE", SS_LOG_WARN,
                       "handshake from %s refused: mechanism %s in domain \"%s\" (CURVE in "
                       "\"%s\" expected) event=handshake_refused peer=%s",
                       f[3], f[5], f[2], SS_ZAP_DOMAIN, f[3]);
        zap_reply(z->sock, f[1], len[1], "400", "CURVE required", "");
        atomic_fetch_add(&z->denied, 1);
        return;
    }
    char key[SS_ALLOW_KEY_LEN + 1];
    if (!zmq_z85_encode(key, (const uint8_t *)f[6], 32)) {
        zap_reply(z->sock, f[1], len[1], "500", "cannot encode the key", "");
        atomic_fetch_add(&z->denied, 1);
        return;
    }
    char file[512];
    pthread_mutex_lock(&z->lock);
    int known = ss_allow_find(z->allow, key) != NULL;
    snprintf(file, sizeof(file), "%s", z->allow_file ? z->allow_file : "");
    pthread_mutex_unlock(&z->lock);
    if (known) {
        atomic_fetch_add(&z->allowed, 1);
        ss_debug("handshake from %s: key %.8s... allowed", f[3], key);
        zap_reply(z->sock, f[1], len[1], "200", "OK", key);
        return;
    }
    /* A refused collector reconnects every few seconds: say it once a
     * minute per key, count every time; many keys (a hostile peer) are
     * rate-limited and summed up. */
    int64_t now = ss_now_ms();
    int same = strcmp(z->last_denied, key) == 0 && now - z->last_denied_ms < 60000;
    if (same)
        ss_debug("handshake from %s refused: key %.8s... is not in the allow file %s", f[3], key,
                 file);
    else
        ss_log_limited(&z->log, "key not allowed", SS_LOG_WARN,
                       "handshake from %s refused: key %.8s... is not in the allow file %s"
                       " event=handshake_refused peer=%s key=%.8s",
                       f[3], key, file, f[3], key);
    if (!same) {
        memcpy(z->last_denied, key, sizeof(key));
        z->last_denied_ms = now;
    }
    atomic_fetch_add(&z->denied, 1);
    zap_reply(z->sock, f[1], len[1], "400", "key not allowed", "");
}

static void *zap_main(void *arg)
{
    struct ss_zap *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t item = {z->sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, 200);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            ss_error("ZAP handler: poll failed: %s; handshakes now fail", zmq_strerror(errno));
            break;
        }
        if (rc > 0)
            zap_answer(z);
        ss_log_limit_flush(&z->log, 0);
    }
    ss_log_limit_flush(&z->log, 1);
    return NULL;
}

void ss_zap_init(struct ss_zap *z, const char *allow_file)
{
    memset(z, 0, sizeof(*z));
    pthread_mutex_init(&z->lock, NULL);
    z->allow_file = allow_file;
    ss_log_limit_init(&z->log, "refused handshakes", 5, 60);
}

int ss_zap_start(struct ss_zap *z, void *zctx)
{
    sigset_t all, old;
    z->sock = zmq_socket(zctx, ZMQ_REP);
    if (!z->sock || zmq_bind(z->sock, SS_ZAP_ENDPOINT) < 0) {
        int e = errno;
        ss_error("cannot start the ZAP handler on %s: %s", SS_ZAP_ENDPOINT, zmq_strerror(e));
        return -e;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&z->thread, NULL, zap_main, z);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        ss_error("cannot start the ZAP handler thread: %s", strerror(rc));
        return -rc;
    }
    z->running = 1;
    return 0;
}

void ss_zap_set_allow(struct ss_zap *z, struct ss_allow *fresh)
{
    pthread_mutex_lock(&z->lock);
    struct ss_allow *old = z->allow;
    z->allow = fresh;
    pthread_mutex_unlock(&z->lock);
    ss_allow_free(old);
}

void ss_zap_free(struct ss_zap *z)
{
    if (z->running) {
        atomic_store(&z->stop, 1);
        pthread_join(z->thread, NULL);
        z->running = 0;
    }
    if (z->sock)
        zmq_close(z->sock);
    z->sock = NULL;
    ss_allow_free(z->allow);
    z->allow = NULL;
    pthread_mutex_destroy(&z->lock);
}
