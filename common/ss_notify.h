/* ss_notify: the systemd service notification protocol, spoken directly
 * (no libsystemd): datagrams of "KEY=VALUE\n" lines to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace).
 *
 * Outside systemd (no NOTIFY_SOCKET) every call does nothing and returns 0,
 * so the daemon calls them unconditionally. The watchdog interval comes from
 * $WATCHDOG_USEC (and $WATCHDOG_PID, when set, must be this process).
 *
 * Not thread-safe: the daemon's main thread is the only caller.
 */
#ifndef SS_NOTIFY_H
#define SS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Reads the environment (once; later calls re-read it). 0, or SS_EINVAL
 * with err when NOTIFY_SOCKET is set but unusable (too long a path). */
int ss_notify_init(char *err, unsigned long errlen);
/* 1 if a notification socket is configured. */
int ss_notify_enabled(void);
/* Sends one message ("READY=1\nSTATUS=ready"). 0, or a negative errno
 * value when the socket cannot take it (the daemon logs it and goes on). */
int ss_notify(const char *msg);
/* As ss_notify with a printf format. */
int ss_notifyf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Sends msg (len bytes) on the socket ss_notify_init opened: only
 * async-signal-safe calls, for a signal handler (EXTEND_TIMEOUT_USEC when a
 * stop arrives during a long batch). Errors are ignored. */
void ss_notify_from_signal(const char *msg, size_t len);
/* The watchdog interval in microseconds, or 0 when there is none. */
uint64_t ss_notify_watchdog_usec(void);
/* Sends WATCHDOG=1 if half the interval has passed since the last one
 * (call it whenever the main loop has made progress). 0 or as ss_notify. */
int ss_notify_watchdog(void);

#endif
