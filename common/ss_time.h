/* ss_time: monotonic clock and capped, jittered exponential back-off, shared
 * by every retry loop (the collector's resends, the daemon's reconnects). */
#ifndef SS_TIME_H
#define SS_TIME_H

#include <stdint.h>

/* Milliseconds on the monotonic clock. */
int64_t ss_now_ms(void);

struct ss_backoff {
    long initial_ms;
    long max_ms;
    long current_ms; /* the ceiling for the next delay */
};

void ss_backoff_init(struct ss_backoff *b, long initial_ms, long max_ms);
/* Next delay: uniformly random in [ceiling/2, ceiling], then the ceiling
 * doubles up to max_ms. Jitter keeps many collectors from retrying in step. */
long ss_backoff_next(struct ss_backoff *b);
void ss_backoff_reset(struct ss_backoff *b);

/* Sleeps up to ms, waking early when *stop becomes non-zero (checked every
 * 100 ms) or a signal arrives. */
void ss_sleep_ms(long ms, volatile int *stop);

#endif
