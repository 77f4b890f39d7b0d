/* ss_peer: a raw ZeroMQ DEALER for tests. Sends one multipart message built
 * from its arguments to a daemon and prints the reply's frames, so tests can
 * speak the protocol wrongly on purpose.
 *
 *   ss_peer ENDPOINT [--timeout MS] FRAME...
 *
 * FRAME is one of: TEXT (sent as is), hex:HEX (bytes), size:N (N bytes of
 * 'x'), many:N (N empty frames), file:PATH (a file's bytes).
 * Prints each reply frame after the first on its own line. Exit 0 when a
 * reply came, 3 when none came within the timeout, 2 on usage errors.
 *
 *   ss_peer ENDPOINT [--timeout MS] --flood N FRAME...
 *
 * sends the message N times, each over a connection of its own (a hostile
 * peer reconnecting), waits for no reply and exits 0 once all are sent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct frame {
    char *data;
    size_t len;
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int add(struct frame **v, size_t *n, char *data, size_t len)
{
    struct frame *p = realloc(*v, (*n + 1) * sizeof(**v));
    if (!p)
        return -1;
    *v = p;
    p[*n].data = data;
    p[*n].len = len;
    (*n)++;
    return 0;
}

static int parse(const char *arg, struct frame **v, size_t *n)
{
    if (strncmp(arg, "hex:", 4) == 0) {
        size_t l = strlen(arg + 4) / 2;
        char *d = malloc(l + 1);
        for (size_t i = 0; i < l; i++) {
            int hi = hexval(arg[4 + 2 * i]), lo = hexval(arg[5 + 2 * i]);
            if (hi < 0 || lo < 0)
                return -1;
            d[i] = (char)(hi << 4 | lo);
        }
        return add(v, n, d, l);
    }
    if (strncmp(arg, "size:", 5) == 0) {
        size_t l = strtoull(arg + 5, NULL, 10);
        char *d = malloc(l + 1);
        memset(d, 'x', l);
        return add(v, n, d, l);
    }
    if (strncmp(arg, "many:", 5) == 0) {
        long k = strtol(arg + 5, NULL, 10);
        for (long i = 0; i < k; i++)
            if (add(v, n, NULL, 0) < 0)
                return -1;
        return 0;
    }
    if (strncmp(arg, "file:", 5) == 0) {
        FILE *f = fopen(arg + 5, "rb");
        if (!f)
            return -1;
        fseek(f, 0, SEEK_END);
        long l = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *d = malloc((size_t)l + 1);
        size_t got = fread(d, 1, (size_t)l, f);
        fclose(f);
        return add(v, n, d, got);
    }
    return add(v, n, strdup(arg), strlen(arg));
}

/* --flood: n connections, one message each, no reply awaited; each socket
 * lingers up to linger_ms so its message goes out. */
static int send_flood(void *ctx, const char *ep, const struct frame *frames, size_t nframes, long n,
                      int linger_ms)
{
    for (long k = 0; k < n; k++) {
        void *s = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(s, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
        if (!s || zmq_connect(s, ep) < 0) {
            fprintf(stderr, "ss_peer: connect: %s\n", zmq_strerror(errno));
            return 2;
        }
        for (size_t i = 0; i < nframes; i++)
            zmq_send(s, frames[i].data ? frames[i].data : "", frames[i].len,
                     i + 1 < nframes ? ZMQ_SNDMORE : 0);
        zmq_close(s);
    }
    zmq_ctx_term(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    int timeout = 3000, argi = 2, rc = 3;
    struct frame *frames = NULL;
    size_t nframes = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: ss_peer ENDPOINT [--timeout MS] FRAME...\n");
        return 2;
    }
    if (strcmp(argv[2], "--timeout") == 0 && argc > 4) {
        timeout = atoi(argv[3]);
        argi = 4;
    }
    long flood = 0;
    if (argc > argi + 2 && strcmp(argv[argi], "--flood") == 0) {
        flood = atol(argv[argi + 1]);
        argi += 2;
    }
    for (int i = argi; i < argc; i++)
        if (parse(argv[i], &frames, &nframes) < 0) {
            fprintf(stderr, "ss_peer: bad frame argument %s\n", argv[i]);
            return 2;
        }
    void *ctx = zmq_ctx_new();
    if (flood > 0) {
        rc = send_flood(ctx, argv[1], frames, nframes, flood, timeout);
        for (size_t i = 0; i < nframes; i++)
            free(frames[i].data);
        free(frames);
        return rc;
    }
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(s, argv[1]) < 0) {
        fprintf(stderr, "ss_peer: connect: %s\n", zmq_strerror(errno));
        return 2;
    }
    for (size_t i = 0; i < nframes; i++)
        zmq_send(s, frames[i].data ? frames[i].data : "", frames[i].len,
                 i + 1 < nframes ? ZMQ_SNDMORE : 0);
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout) > 0) {
        int more, k = 0;
        do {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s, 0) < 0)
                break;
            more = zmq_msg_more(&m);
            if (k++ > 0)
                printf("%.*s\n", (int)zmq_msg_size(&m), (char *)zmq_msg_data(&m));
            zmq_msg_close(&m);
        } while (more);
        rc = 0;
    }
    for (size_t i = 0; i < nframes; i++)
        free(frames[i].data);
    free(frames);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}
