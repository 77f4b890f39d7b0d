/* ss_time: see ss_time.h. */
#include "ss_time.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int64_t ss_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned long rnd(void)
{
    static unsigned long state;
    if (!state) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        state = ((unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16)) | 1;
    }
    /* xorshift: plenty for spreading retries, not for secrets. */
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

void ss_backoff_init(struct ss_backoff *b, long initial_ms, long max_ms)
{
    b->initial_ms = initial_ms > 0 ? initial_ms : 1;
    b->max_ms = max_ms >= b->initial_ms ? max_ms : b->initial_ms;
    b->current_ms = b->initial_ms;
}

void ss_backoff_reset(struct ss_backoff *b)
{
    b->current_ms = b->initial_ms;
}

long ss_backoff_next(struct ss_backoff *b)
{
    long ceiling = b->current_ms;
    long half = ceiling / 2;
    long delay = half + (long)(rnd() % (unsigned long)(ceiling - half + 1));
    b->current_ms = ceiling > b->max_ms / 2 ? b->max_ms : ceiling * 2;
    return delay;
}

void ss_sleep_ms(long ms, volatile int *stop)
{
    while (ms > 0 && !(stop && *stop)) {
        long step = ms > 100 ? 100 : ms;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
        if (nanosleep(&ts, NULL) < 0 && errno == EINTR && stop && *stop)
            return;
        ms -= step;
    }
}
