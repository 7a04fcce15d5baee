/*
 * log.c - log lines on stderr; see log.h.
 *
 * The line is assembled in a stack buffer and written once (or sent to the
 * journal as one entry).  A message that
 * does not fit is cut and ends in "..."; the log never allocates, so it
 * still works when memory ran out, which is often what it must report.
 */
#include "node/log.h"
#include "node/fsutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#define S_LINE_MAX 1024

static char s_name[128] = "linli-node";
static int s_level = LLOG_INFO;
static bool s_journal; /* stderr is systemd's journal stream */
static bool s_native;  /* and its native socket is there: entries with fields */
static char s_peer[128]; /* log_peer's */

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
  /* sd_journal_sendv drops an entry without a word when this socket is
   * missing (a container that passes a stream but runs no journald). */
  struct stat st;
  s_native = s_journal && stat("/run/systemd/journal/socket", &st) == 0 && S_ISSOCK(st.st_mode);
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

/* Control characters never reach the log: a peer's text could otherwise
 * start a line of its own. */
static void
s_clean(char *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x20 || c == 0x7f)
      p[i] = '?';
  }
}

/* The length of the first `cap` bytes or fewer of s that end at the end of
 * a UTF-8 character. */
static size_t
s_fit(const char *s, size_t n, size_t cap)
{
  if (n <= cap)
    return n;
  while (cap > 0 && ((unsigned char)s[cap] & 0xc0) == 0x80)
    cap--;
  return cap;
}

/* Appends NAME=value (cut to what is left, cleaned) to buf at *at as
 * iov[*n].  Leaves it out when not even the name fits. */
static void
s_field(struct iovec *iov, int *n, char *buf, size_t *at, const char *name, const char *v,
        size_t vn)
{
  size_t nn = strlen(name);
  if (*n >= LOG_FIELDS_MAX || LOG_FIELDS_BUF - *at < nn + 1)
    return;
  char *f = buf + *at;
  memcpy(f, name, nn);
  f[nn] = '=';
  vn = s_fit(v, vn, LOG_FIELDS_BUF - *at - nn - 1);
  memcpy(f + nn + 1, v, vn);
  s_clean(f + nn + 1, vn);
  iov[*n].iov_base = f;
  iov[*n].iov_len = nn + 1 + vn;
  (*n)++;
  *at += nn + 1 + vn;
}

int
log_journal_fields(struct iovec *iov, char *buf, int level, const char *station,
                   const llog_kv *kv, const char *msg, size_t len)
{
  int n = 0;
  size_t at = 0;
  char num[24];
  if (level < LLOG_ERROR || level > LLOG_DEBUG)
    level = LLOG_ERROR;
  s_field(iov, &n, buf, &at, "PRIORITY", &s_prio[level], 1);
  s_field(iov, &n, buf, &at, "SYSLOG_IDENTIFIER", "linli-node", 10);
  if (station && station[0])
    s_field(iov, &n, buf, &at, "LINLI_STATION", station, strlen(station));
  if (kv && kv->peer && kv->peer[0])
    s_field(iov, &n, buf, &at, "LINLI_PEER", kv->peer, strlen(kv->peer));
  if (kv && kv->author) {
    char hex[2 * LINLI_PK_BYTES + 1];
    hex_encode(hex, kv->author, LINLI_PK_BYTES);
    s_field(iov, &n, buf, &at, "LINLI_AUTHOR", hex, 2 * LINLI_PK_BYTES);
  }
  if (kv && kv->seq) {
    int k = snprintf(num, sizeof num, "%llu", (unsigned long long)kv->seq);
    s_field(iov, &n, buf, &at, "LINLI_SEQ", num, (size_t)k);
  }
  /* last, so that a long message is what gets cut */
  s_field(iov, &n, buf, &at, "MESSAGE", msg, len);
  return n;
}

void
log_peer(const char *name)
{
  if (name == NULL) {
    s_peer[0] = '\0';
    return;
  }
  size_t n = s_fit(name, strlen(name), sizeof s_peer - 1);
  memcpy(s_peer, name, n);
  s_peer[n] = '\0';
}

static void s_vlog(int level, const llog_kv *kv, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
s_vlog(int level, const llog_kv *kv, const char *fmt, va_list ap)
{
  if (level > s_level || level < LLOG_ERROR)
    return;
  /* line[0..2] is room for the "<N>" a journal stream line starts with. */
  char line[S_LINE_MAX];
  char *text = line + 3;
  size_t cap = sizeof line - 3;
  int n;
  if (s_journal) {
    /* The journal stamps the line itself. */
    n = snprintf(text, cap, "[%s] ", s_name);
  } else {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(text, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000L, s_level_names[level], s_name);
  }
  if (n < 0 || (size_t)n >= cap)
    n = 0; /* a name too long for the line: leave the prefix out */
  size_t head = (size_t)n;
  int m = vsnprintf(text + head, cap - head - 1, fmt, ap);
  size_t len;
  if (m < 0) {
    len = head;
  } else if ((size_t)m >= cap - head - 1) {
    /* Cut at the start of a character, so that the line stays UTF-8. */
    size_t q = cap - 5;
    while (q > head && ((unsigned char)text[q] & 0xc0) == 0x80)
      q--;
    memcpy(text + q, "...", 3);
    len = q + 3;
  } else {
    len = head + (size_t)m;
  }
  s_clean(text + head, len - head);
  if (s_journal) {
    llog_kv k = kv ? *kv : (llog_kv){0};
    if ((k.peer == NULL || k.peer[0] == '\0') && s_peer[0])
      k.peer = s_peer;
    struct iovec iov[LOG_FIELDS_MAX];
    char buf[LOG_FIELDS_BUF];
    int nf = log_journal_fields(iov, buf, level, s_name, &k, text, len);
    if (s_native && sd_journal_sendv(iov, nf) == 0)
      return;
    /* The journal's socket is not there: the priority goes in the line. */
    line[0] = '<';
    line[1] = s_prio[level];
    line[2] = '>';
    text = line;
    len += 3;
  }
  text[len++] = '\n';
  int saved = errno;
  (void)fs_write_all(STDERR_FILENO, text, len); /* nowhere left to report a failing log */
  errno = saved;
}

void
log_msg(int level, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  s_vlog(level, NULL, fmt, ap);
  va_end(ap);
}

void
log_kv(int level, const llog_kv *kv, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  s_vlog(level, kv, fmt, ap);
  va_end(ap);
}
