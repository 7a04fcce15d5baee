/*
 * log.c - log lines on stderr; see log.h.
 *
 * The line is assembled in a stack buffer and written once.  A message that
 * does not fit is cut and ends in "..."; the log never allocates, so it
 * still works when memory ran out, which is often what it must report.
 */
#include "node/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_LINE_MAX 1024

static char s_name[128] = "linli-node";
static int s_level = LLOG_INFO;
static bool s_journal; /* stderr is systemd's journal stream */

static const char *const s_level_names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
/* syslog priorities: err, warning, info, debug. */
static const char s_prio[] = {'3', '4', '6', '7'};

/* systemd sets $JOURNAL_STREAM to "DEVICE:INODE" of the stream it connects
 * to stderr; it only counts when stderr is still that stream (and not, say,
 * a file a shell redirected it to in a unit's child). */
static bool
s_under_journal(void)
{
  const char *v = getenv("JOURNAL_STREAM");
  if (v == NULL || v[0] == '\0')
    return false;
  unsigned long long dev, ino;
  char tail;
  if (sscanf(v, "%llu:%llu%c", &dev, &ino, &tail) != 2)
    return false;
  struct stat st;
  if (fstat(STDERR_FILENO, &st) != 0)
    return false;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *name, int level)
{
  if (name) {
    size_t n = strlen(name);
    if (n >= sizeof s_name)
      n = sizeof s_name - 1;
    memcpy(s_name, name, n);
    s_name[n] = '\0';
  } else {
    s_name[0] = '\0';
  }
  s_level = level;
  s_journal = s_under_journal();
}

bool
log_enabled(int level)
{
  return level <= s_level;
}

int
log_level_parse(const char *s)
{
  static const char *const names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0)
      return i;
  return -1;
}

void
log_msg(int level, const char *fmt, ...)
{
  if (level > s_level || level < LLOG_ERROR)
    return;
  char line[S_LINE_MAX];
  int n;
  if (s_journal) {
    /* The journal stamps the line itself and reads the priority from the
     * "<N>" prefix, so that `journalctl -p warning` filters. */
    n = snprintf(line, sizeof line, "<%c>[%s] ", s_prio[level], s_name);
  } else {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000L, s_level_names[level], s_name);
  }
  if (n < 0 || (size_t)n >= sizeof line)
    n = 0; /* a name too long for the line: leave the prefix out */
  size_t head = (size_t)n;
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + head, sizeof line - head - 1, fmt, ap);
  va_end(ap);
  size_t len;
  if (m < 0) {
    len = head;
  } else if ((size_t)m >= sizeof line - head - 1) {
    /* Cut at the start of a character, so that the line stays UTF-8. */
    size_t q = sizeof line - 5;
    while (q > head && ((unsigned char)line[q] & 0xc0) == 0x80)
      q--;
    memcpy(line + q, "...", 3);
    len = q + 3;
  } else {
    len = head + (size_t)m;
  }
  /* Bytes below 0x20 and DEL never reach the log: a peer's text could
   * otherwise start a line of its own. */
  for (size_t i = head; i < len; i++) {
    unsigned char c = (unsigned char)line[i];
    if (c < 0x20 || c == 0x7f)
      line[i] = '?';
  }
  line[len++] = '\n';
  int saved = errno;
  const char *p = line;
  while (len > 0) {
    ssize_t w = write(STDERR_FILENO, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break; /* nowhere left to report a failing log */
    p += w;
    len -= (size_t)w;
  }
  errno = saved;
}
