/*
 * sdnotify.c - the sd_notify datagram protocol; see sdnotify.h.
 */
#include "node/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
sdnotify(const char *msg)
{
  const char *path = getenv("NOTIFY_SOCKET");
  if (path == NULL || path[0] == '\0')
    return 0;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t n = strlen(path);
  if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path) {
    errno = EINVAL;
    return -1;
  }
  memcpy(sa.sun_path, path, n);
  if (path[0] == '@')
    sa.sun_path[0] = '\0'; /* an abstract socket */
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  ssize_t w;
  do
    w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
  while (w < 0 && errno == EINTR);
  int saved = errno;
  close(fd);
  errno = saved;
  return w < 0 ? -1 : 0;
}

uint64_t
sdnotify_watchdog_ms(void)
{
  const char *us = getenv("WATCHDOG_USEC");
  if (us == NULL || us[0] == '\0')
    return 0;
  const char *pid = getenv("WATCHDOG_PID");
  if (pid && pid[0] && strtoll(pid, NULL, 10) != (long long)getpid())
    return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(us, &end, 10);
  if (errno || *end != '\0' || v == 0)
    return 0;
  uint64_t ms = v / 2000u;
  return ms ? ms : 1;
}
