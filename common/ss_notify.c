/* ss_notify: see ss_notify.h. */
#include "ss_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ss_err.h"

static struct {
    struct sockaddr_un addr;
    socklen_t addrlen; /* 0: not under systemd */
    uint64_t watchdog_usec;
    uint64_t last_ping; /* monotonic microseconds of the last WATCHDOG=1 */
    int fd;             /* kept open for ss_notify_from_signal, or -1 */
} notify = {.fd = -1};

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int ss_notify_init(char *err, unsigned long errlen)
{
    const char *path = getenv("NOTIFY_SOCKET");
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");

    if (notify.fd >= 0)
        close(notify.fd);
    memset(&notify, 0, sizeof(notify));
    notify.fd = -1;
    if (usec && *usec && (!pid || !*pid || strtol(pid, NULL, 10) == (long)getpid())) {
        char *end;
        unsigned long long v = strtoull(usec, &end, 10);
        if (*end == '\0')
            notify.watchdog_usec = v;
    }
    if (!path || !*path)
        return 0;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(notify.addr.sun_path)) {
        snprintf(err, errlen,
                 "NOTIFY_SOCKET \"%.100s\" is neither an absolute path nor an "
                 "abstract socket name that fits",
                 path);
        return SS_EINVAL;
    }
    notify.addr.sun_family = AF_UNIX;
    memcpy(notify.addr.sun_path, path, len);
    if (path[0] == '@')
        notify.addr.sun_path[0] = '\0'; /* the abstract namespace */
    notify.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    notify.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return 0;
}

void ss_notify_from_signal(const char *msg, size_t len)
{
    if (notify.addrlen && notify.fd >= 0) {
        int saved = errno; /* a handler must not change errno */
        (void)sendto(notify.fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT,
                     (const struct sockaddr *)&notify.addr, notify.addrlen);
        errno = saved;
    }
}

int ss_notify_enabled(void)
{
    return notify.addrlen != 0;
}

int ss_notify(const char *msg)
{
    if (!notify.addrlen)
        return 0;
    /* A socket per message: notifications are rare, and a fresh socket
     * never holds a stale error. */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ssize_t n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&notify.addr,
                       notify.addrlen);
    int e = n < 0 ? errno : 0;
    close(fd);
    return -e;
}

int ss_notifyf(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!notify.addrlen)
        return 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ss_notify(msg);
}

uint64_t ss_notify_watchdog_usec(void)
{
    return notify.watchdog_usec;
}

int ss_notify_watchdog(void)
{
    if (!notify.addrlen || !notify.watchdog_usec)
        return 0;
    uint64_t t = now_usec();
    if (notify.last_ping && t - notify.last_ping < notify.watchdog_usec / 2)
        return 0;
    notify.last_ping = t;
    return ss_notify("WATCHDOG=1");
}
