/* ss_signal: how both programs take their signals, written once.
 *
 * SIGTERM and SIGINT set *stop, SIGHUP sets *reload (the flags belong to
 * the program; the handler only sets them). The handlers are installed
 * without SA_RESTART, so a blocking call returns EINTR and the loop around
 * it sees the flag. SIGPIPE is ignored: a peer that goes away is an error
 * return, not a death.
 */
#ifndef SS_SIGNAL_H
#define SS_SIGNAL_H

/* 0, or a negative errno value from sigaction. */
int ss_signal_setup(volatile int *stop, volatile int *reload);
/* A message the stop handler sends to systemd (ss_notify_from_signal) the
 * moment SIGTERM or SIGINT arrives, e.g. "STOPPING=1\nEXTEND_TIMEOUT_USEC=..."
 * while a batch is still being applied; msg must stay valid. NULL: none. */
void ss_signal_stop_message(const char *msg);

#endif
