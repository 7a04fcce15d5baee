/*
 * sdnotify.h - telling systemd how the node is doing (Type=notify).
 *
 * systemd passes the address of an AF_UNIX datagram socket in
 * $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@');
 * each notification is one datagram of "KEY=VALUE" lines: READY=1 once the
 * store and the sockets are up, RELOADING=1 / READY=1 around a reload,
 * STOPPING=1, STATUS=free text for `systemctl status`, WATCHDOG=1 at least
 * every $WATCHDOG_USEC microseconds when the unit sets WatchdogSec=.  The
 * protocol is small enough to speak directly, without libsystemd: one
 * sendto(2), nothing kept open.  Without $NOTIFY_SOCKET every call does
 * nothing, so the node runs the same under a terminal.
 */
#ifndef LINLI_SDNOTIFY_H
#define LINLI_SDNOTIFY_H

#include <stdint.h>

/* Sends `msg` to $NOTIFY_SOCKET.  0 when sent or when there is no socket
 * to send to; -1 (errno set) when the send failed. */
int sdnotify(const char *msg);

/* The interval, in milliseconds, at which WATCHDOG=1 is due: half of
 * $WATCHDOG_USEC, as systemd recommends; 0 when no watchdog is asked for
 * (or $WATCHDOG_PID names another process). */
uint64_t sdnotify_watchdog_ms(void);

#endif
