/* ss_signal: see ss_signal.h. */
#include "ss_signal.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "ss_notify.h"

static volatile int *stop_flag, *reload_flag;
static const char *stop_message; /* sent to systemd when a stop arrives, or NULL */

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        *reload_flag = 1;
    else {
        *stop_flag = 1;
        if (stop_message)
            ss_notify_from_signal(stop_message, strlen(stop_message));
    }
}

void ss_signal_stop_message(const char *msg)
{
    stop_message = msg;
}

int ss_signal_setup(volatile int *stop, volatile int *reload)
{
    struct sigaction sa;
    stop_flag = stop;
    reload_flag = reload;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: blocking calls return EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
        sigaction(SIGHUP, &sa, NULL) < 0)
        return -errno;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return -errno;
    return 0;
}
